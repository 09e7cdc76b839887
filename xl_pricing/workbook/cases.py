"""Native formulas for a card's conditional rates — "the first case whose ``when`` holds"
— and for rates that change inside a fiscal year, blended by days (issue 16 item 2).

One builder, :func:`first_case`, writes every conditional rate the way the engine picks it
(``rates.card.pick``): ``IF(cond₀, rate₀, IF(cond₁, rate₁, … default))``.  It serves

* ``indirect.cases`` (per fiscal year, on the Calc sheet: workbook/fees.py),
* ``strategic.cases`` (per fiscal year, the same way),
* ``options.NAME.cases`` (the option's rate at the project's start: ``Opt_Bp`` on the
  Rates sheet, as ``RateCard.for_project``),
* ``time_charge.consulting_cases`` (``ConsultingRate`` at the start: workbook/tax.py).

A condition is judged on the Project sheet's inputs exactly as ``rates.card.holds``:
direct costs (all years, ``SUM(Direct_Amount)``), calendar months (``FY_TotalMonths``),
location, contract, kind (the codes) and a date.

**Blending by days** (``rate_change.method = "blend_by_days"``, ``RateCard.rates_over`` /
``fa_rates_over``, ``pricing.cost.blended``): each fiscal year's amount is
base × Σ rate × days ÷ the project's days in that year, rounded once.  The year's part of
the project runs from ``FY_RateDate`` (max(Start, 1 April)) to min(End, 31 March); the
card's dates cut time into segments [dᵢ, dᵢ₊₁) in which every rate is constant, so each
segment's rate is one formula judged on a literal date, and its days in year k are
``MAX(0, MIN(end, dᵢ₊₁−1) − MAX(start, dᵢ) + 1)`` — the engine's inclusive day counts.
Cutting where the rate does not change adds nothing to Σ rate × days, so the formulas
cut at every date of the card (the engine only at dates where the rate changes).
Example: 30% until 2027-06-30, 35% from 2027-07-01, FY2027 whole on 1,000,000 yen:
(3000 × 91 + 3500 × 275) ÷ 366 days → ROUNDDOWN(1,000,000 × 1,235,500 ÷ 3,660,000) =
337,568 yen.  Rates enter as basis points and days as whole numbers, so the one division
is exact (DESIGN.md "Rounding, exactly").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Sequence

from openpyxl.worksheet.worksheet import Worksheet

from ..rates import RateCard
from ..rates.schema import Option, When
from .book import Book, a1, bp, date_literal, formula, put
from .checks import one_of, text_literal

# What the conditions of the Project sheet's inputs are judged on (``rates.card.Facts``).
DIRECT = "SUM(Direct_Amount)"
MONTHS = "FY_TotalMonths"


def when_formula(when: When, on: str, direct: str, months: str, has_kinds: bool) -> str:
    """TRUE when every condition of ``when`` holds (``rates.card.holds``): ``direct`` the
    project's direct costs, ``months`` its calendar months, dates judged on ``on``.
    Direct per year ≥ X is direct × 12 ≥ X × months beyond 12 months (exact).

    >>> from xl_pricing.rates.schema import When
    >>> when_formula(When(direct_at_most=1_000_000, location="off"), "S", "D", "M", False)
    'AND(D<=1000000,OR(EXACT(Location_Code,"off")))'
    """
    parts = []
    if when.direct_at_most is not None:
        parts.append(f"{direct}<={int(when.direct_at_most)}")
    if when.direct_above is not None:
        parts.append(f"{direct}>{int(when.direct_above)}")
    if when.direct_per_year_at_least is not None:
        v = int(when.direct_per_year_at_least)
        parts.append(f"IF({months}<=12,{direct}>={v},{direct}*12>={v}*{months})")
    for key, code in (("location", "Location_Code"), ("contract", "Contract_Code"),
                      ("kind", "Kind_Code")):
        values = getattr(when, key)
        if values is not None:
            parts.append(one_of(code, values) if key != "kind" or has_kinds else "FALSE")
    if when.start_from is not None:
        parts.append(f"{on}>={date_literal(when.start_from)}")
    if when.start_before is not None:
        parts.append(f"{on}<{date_literal(when.start_before)}")
    return "AND(" + ",".join(parts) + ")" if parts else "TRUE"


def first_case(cases: Sequence[Any], default: str | int, on: str, has_kinds: bool,
               direct: str = DIRECT, months: str = MONTHS,
               value: Callable[[Any], str] | None = None) -> str:
    """Excel: the first of ``cases`` whose ``when`` holds (dates judged on ``on``), else
    ``default`` — ``rates.card.pick``.  A case's value is its rate in basis points, or
    ``value(case)`` (the consulting rate's yen).

    >>> from decimal import Decimal
    >>> from xl_pricing.rates.schema import RateCase, When
    >>> first_case([RateCase(rate=Decimal("0.2"), when=When(kind="support"))], 1000, "S",
    ...            True)
    'IF(AND(OR(EXACT(Kind_Code,"support"))),2000,1000)'
    """
    out = str(default)
    for c in reversed(list(cases)):
        v = value(c) if value is not None else str(bp(c.rate))
        out = f"IF({when_formula(c.when, on, direct, months, has_kinds)},{v},{out})"
    return out


# -- which rules these formulas price ----------------------------------------------------------

def priced_rules(card: RateCard) -> set[str]:
    """The keys of ``RateCard.rules_in_use`` this module's formulas price: every indirect,
    strategic and rate-option case, and ``rate_change.method`` — ``blend_by_days``
    (indirect, strategic and F&A blended by days) and ``at_award`` (each rate as in force
    at ``Start``).

    >>> from xl_pricing import load_card
    >>> sorted(priced_rules(load_card("fukushima")))
    ['indirect.cases[0]', 'indirect.cases[1]', 'indirect.cases[2]']
    """
    m = card.model
    out = {f"indirect.cases[{i}]" for i in range(len(m.indirect.cases))}
    out |= {f"strategic.cases[{i}]" for i in range(len(m.strategic.cases))}
    for name, o in m.options.items():
        out |= {f"options.{name}.cases[{i}]" for i in range(len(o.cases))}
    if m.rate_change.method in ("at_award", "blend_by_days"):
        out.add("rate_change.method")
    return out


def blends(card: RateCard) -> bool:
    """The card blends rate changes by days (``rate_change.method = "blend_by_days"``)."""
    return card.model.rate_change.method == "blend_by_days"


# -- segments and day counts ----------------------------------------------------------------

Segment = tuple[date | None, date | None]


def segments(dates: Sequence[date]) -> list[Segment]:
    """Time cut at ``dates``: [None, d₀), [d₀, d₁) … [dₙ, None) (None: unbounded).

    >>> segments([date(2027, 7, 1)])
    [(None, datetime.date(2027, 7, 1)), (datetime.date(2027, 7, 1), None)]
    """
    bounds: list[date | None] = [None, *sorted(set(dates)), None]
    return list(zip(bounds[:-1], bounds[1:]))


def judged_on(seg: Segment) -> date | None:
    """A day inside the segment (its first, or the day before its end); ``None`` for the
    one segment of a card without dates."""
    lo, hi = seg
    return lo if lo is not None else (hi - timedelta(days=1) if hi is not None else None)


def days_in(seg: Segment, start: str, end: str) -> str:
    """Excel: the days of ``start``–``end`` (inclusive) inside the segment.

    >>> days_in((None, date(2027, 7, 1)), "S", "E")
    'MAX(0,MIN(E,DATE(2027,7,1)-1)-S+1)'
    """
    lo, hi = seg
    a = start if lo is None else f"MAX({start},{date_literal(lo)})"
    b = end if hi is None else f"MIN({end},{date_literal(hi)}-1)"
    return f"MAX(0,{b}-{a}+1)"


def year_end(fy: str) -> str:
    """Excel: the project's last day in fiscal year ``fy`` (``pricing.cost.fiscal_spans``)."""
    return f"MIN(End,DATE({fy}+1,3,31))"


def case_dates(cases: Sequence[Any]) -> list[date]:
    return [d for c in cases for d in c.when.dates()]


def fa_by_segment(card: RateCard) -> bool:
    """The F&A bp of a fiscal year is looked up by segment (keys ``…/@j``, Calc row 5):
    blending by days, at the award (the row in force at ``Start``), or a card with an F&A
    row starting on another day than 1 April (the row in force on ``FY_RateDate`` =
    max(Start, 1 April), which a template's keys by fiscal year — looked up on 1 April —
    cannot know)."""
    m = card.model
    return m.rate_change.method != "fiscal_year" or any(
        r.effective_from is not None and (r.effective_from.month, r.effective_from.day)
        != (4, 1) for r in m.fa.rates)


def fa_dates(card: RateCard) -> list[date]:
    """Where an F&A rate can change: the card's date and every row's ``effective_from``."""
    m = card.model
    return [m.card.effective_from, *(r.effective_from for r in m.fa.rates
                                     if r.effective_from is not None)]


# -- the Calc sheet rows ------------------------------------------------------------------

@dataclass
class RateRows:
    """Per fiscal year k (column C + k) the rate of a conditional rate in bp — or, blended,
    Σ bp × days — and (blended) the project's days in the year."""

    indirect: int | None = None
    strategic: int | None = None
    days: int | None = None
    # blended: the F&A segments, their bp cells and each year's (first day, last day)
    fa_segments: list[Segment] = field(default_factory=list)
    fa_refs: list[str] = field(default_factory=list)
    spans: list[tuple[str, str]] = field(default_factory=list)

    def _at(self, row: int | None, k: int) -> str | None:
        return None if row is None else f"Calc!{a1(row, 3 + k)}"

    def indirect_bp(self, k: int) -> str | None:
        return self._at(self.indirect, k)

    def strategic_bp(self, k: int) -> str | None:
        return self._at(self.strategic, k)

    def days_of(self, k: int) -> str | None:
        return self._at(self.days, k)

    def capped_fa(self, k: int, cap: str) -> str:
        """Excel (blended): Σ MIN(segment F&A bp, ``cap``) × its days in fiscal year k —
        the engine's ``applied_fa``, which caps each day-weighted rate, then blends; a
        segment without days is not read.

        Example: 55% for 91 days and 57% for 275 days under a 56% cap:
        5500 × 91 + 5600 × 275 = 2,040,500.
        """
        return _blended(self.fa_segments, [f"MIN({r},{cap})" for r in self.fa_refs],
                        *self.spans[k], guard=True)


def _segment_row(ws: Worksheet, row: int, label: str, segs: list[Segment],
                 rate: Callable[[Segment], str]) -> list[str]:
    """One cell per segment (its rate in bp); returns their references."""
    put(ws, f"A{row}", label, "xlp_label")
    refs = []
    for j, seg in enumerate(segs):
        formula(ws, a1(row, 3 + j), rate(seg), "xlp_int")
        refs.append(f"Calc!{a1(row, 3 + j, True)}")
    return refs


def _blended(segs: list[Segment], refs: list[str], start: str, end: str,
             guard: bool = False) -> str:
    """Excel: Σ segment bp × its days in start–end; with ``guard`` a segment without days
    is not read (an F&A rate missing there is no error)."""
    terms = []
    for seg, ref in zip(segs, refs):
        d = days_in(seg, start, end)
        terms.append(f"IF({d}=0,0,{ref}*{d})" if guard else f"{ref}*{d}")
    return "+".join(terms)


def rate_rows(book: Book, ws: Worksheet, row: int, years: int, direct: str,
              indirect_cases: Sequence[Any]) -> tuple[RateRows, int]:
    """Write the conditional indirect and strategic rates by fiscal year (and, blending,
    the segments' rates and the days) on the Calc sheet from ``row``; rewrite the F&A bp
    row (Calc row 5) as Σ bp × days when the card blends.  Returns the rows and the next
    free row.  ``direct`` is the cell of the project's direct costs (all years)."""
    card, m = book.card, book.card.model
    out = RateRows()
    has_kinds = bool(m.kinds)
    fy = [f"Calc!{a1(2, 3 + k, True)}" for k in range(years)]
    start = [book.cell("FY_RateDate", k + 1) for k in range(years)]
    blend = blends(card)
    if blend:
        put(ws, f"A{row}", "年度内の日数 / Days of the project in the FY", "xlp_label")
        for k in range(years):
            formula(ws, a1(row, 3 + k),
                    f'IF({fy[k]}="",1,{year_end(fy[k])}-{start[k]}+1)', "xlp_int")
        out.days = row
        row += 1
    st = m.strategic
    wanted = [("indirect", list(indirect_cases),
               "INDEX(Ind_Bp,MATCH(Contract_Code,Ind_Contract,0))",
               "間接経費率 bp（条件）/ Indirect bp (cases)")]
    if st.cases:
        wanted.append(("strategic", list(st.cases), "StrategicBp",
                       "戦略的経費率 bp（条件）/ Strategic bp (cases)"))
    for key, cases, default, label in wanted:
        if not cases and not blend:
            continue
        if blend:
            segs = segments(case_dates(cases))
            refs = _segment_row(
                ws, row, f"{label} — 区間 / by segment", segs,
                lambda s, c=cases, dflt=default: first_case(
                    c, dflt, date_literal(judged_on(s)) if judged_on(s) else "Start", has_kinds,
                    direct))
            row += 1
            put(ws, f"A{row}", f"{label} × 日数 / × days", "xlp_label")
            for k in range(years):
                body = _blended(segs, refs, start[k], year_end(fy[k]))
                formula(ws, a1(row, 3 + k), f'IF({fy[k]}="",0,{body})', "xlp_int")
        else:
            put(ws, f"A{row}", label, "xlp_label")
            for k in range(years):
                on = "Start" if m.rate_change.method == "at_award" else start[k]
                formula(ws, a1(row, 3 + k),
                        f'IF({fy[k]}="",0,{first_case(cases, default, on, has_kinds, direct)})',
                        "xlp_int")
        setattr(out, key, row)
        row += 1
    if blend:
        segs = segments(fa_dates(card))
        refs = _segment_row(ws, row, "F&A bp — 区間 / by segment", segs,
                            lambda s: fa_bp(text_literal(f"@{segs.index(s)}")))
        out.fa_segments, out.fa_refs = segs, refs
        out.spans = [(start[k], year_end(fy[k])) for k in range(years)]
        row += 1
        for k in range(years):  # Calc row 5: Σ F&A bp × days (its check reads errors)
            body = _blended(segs, refs, start[k], year_end(fy[k]), guard=True)
            formula(ws, a1(5, 3 + k), f'IF({fy[k]}="",0,{body})', "xlp_int")
    elif fa_by_segment(card):
        dates = sorted(set(fa_dates(card)))
        for k in range(years):  # Calc row 5: the bp of the segment the rate date is in
            on = "Start" if m.rate_change.method == "at_award" else start[k]
            j = "+".join(f"({on}>={date_literal(d)})" for d in dates)
            formula(ws, a1(5, 3 + k), f'IF({fy[k]}="",0,{fa_bp(f"{chr(34)}@{chr(34)}&(0+{j})")})',
                    "xlp_int")
    return out, row


def fa_bp(suffix: str) -> str:
    """Excel: the F&A bp of the typed activity × location × field for the key ``suffix``
    (a fiscal year's cell, or ``"@j"`` — segment j when blending): the row for the field
    wins over the row without one.  The field is typed text: compared with EXACT (MATCH
    would take * ? ~ as wildcards); keys are unique, so the SUMPRODUCT is the key's bp.
    """
    key = f'EXACT(FA_Key,Activity_Code&"/"&Location_Code&"/"&Field&"/"&{suffix})'
    generic = f'Activity_Code&"/"&Location_Code&"//"&{suffix}'
    return (f"IF(SUMPRODUCT({key}*1)>0,SUMPRODUCT({key}*1,FA_Bp),"
            f"INDEX(FA_Bp,MATCH({generic},FA_Key,0)))")


def fa_segment_keys(card: RateCard) -> list[list[Any]]:
    """The F&A table's keys ``act/loc/field/@j`` of segment j (from the j-th of
    :func:`fa_dates`, sorted; segment 0, before the card's first date, has none: the
    engine refuses a period there) — only for a card whose F&A rate is looked up by
    segment (:func:`fa_by_segment`)."""
    if not fa_by_segment(card):
        return []
    return fa_keys(card, [(f"@{j}", seg[0]) for j, seg in enumerate(segments(fa_dates(card)))
                          if seg[0] is not None])


def fa_keys(card: RateCard, dated: Sequence[tuple[Any, date]]) -> list[list[Any]]:
    """Rows ``[act/loc/field/<tag>, bp]`` of the F&A table: for each (tag, date) of
    ``dated``, the rate the engine resolves (``RateCard.fa_rate``: precedence, effective
    dates) for every activity × location × field the card has; none where it has no rate."""
    fields = sorted({f.field for f in card.model.fa.rates if f.field}) + [""]
    out = []
    for tag, on in dated:
        for act in ("research", "instruction", "other"):
            for loc in ("on", "off"):
                for fld in fields:
                    try:
                        rate = card.fa_rate(act, loc, fld or None, on).rate
                    except Exception:  # noqa: BLE001 - the card has no such rate: no key
                        continue
                    out.append([f"{act}/{loc}/{fld}/{tag}", bp(rate)])
    return out


# -- quote cells ------------------------------------------------------------------------------

def apply_rate(book: Book, base: str, rate: str, days: str | None, udf: str | None = None,
               *udf_args: str) -> str:
    """Excel: base × ``rate`` (bp; blended: Σ bp × days over ``days``), rounded once by
    the card's rule.  Native, or blended in any target: one exact division; else the
    ``udf`` call (``XLP_APPLY_RATE(base, bp/10000, CardRef)`` by default)."""
    if book.native or days is not None:
        return book.rnd(f"{base}*{rate}", 10000 if days is None else f"(10000*{days})")
    return book.fn(udf or "XLP_APPLY_RATE", base, f"{rate}/10000", *(udf_args or ("CardRef",)))


# -- the Rates sheet: a rate option's rate at the project's start -------------------------

def option_bp(book: Book, option: Option) -> int | None | tuple[str, str]:
    """The ``Opt_Bp`` cell of a rate option: its rate in bp, or — with ``cases`` and the
    Project sheet's inputs — the first case holding at ``Start`` (``RateCard.for_project``),
    as a table formula ``("=", text)``."""
    plain = bp(option.rate) if option.rate is not None else None
    if not option.cases or "Start" not in book.names:
        return plain
    return ("=", first_case(option.cases, plain or 0, "Start", bool(book.card.model.kinds)))

