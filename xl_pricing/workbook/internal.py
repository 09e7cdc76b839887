"""Native formulas for the university's own figures (issue 16 item 2): sponsor caps on F&A
and the under-recovery they leave, costs repaid first in the split of proceeds, and a
researcher's own monthly rate — each proven equal to the engine to the yen
(tests/test_workbook_internal.py).

Mirrors the engine exactly:

* **sponsor caps** (``pricing.stacked.sponsor_terms``, ``applied_fa``, ``under_recovery``):
  the Project-sheet inputs ``SponsorType`` (a drop-down of the card's
  ``fa.sponsor_caps``), ``SponsorCapRate``, ``AppliedFaRate`` and ``SponsorCapBase``; the
  applied rate of each fiscal year = min(institute, cap) (an applied rate as given, above
  the institute rate too), the applied base = the year's base up to what the capped base
  leaves after the earlier years (rates blended by days: each segment's rate capped,
  then blended — ``cases.RateRows.capped_fa``).  Quote A's F&A line is the applied F&A;
  the institute F&A and the under-recovery (institute − applied, each rounded once per
  year; negative when the sponsor pays more) are on the sheet **Internal（学内用）** only — never on a
  quote, a form, Compare or the Industrial sheet, which the company sees.  Example: MTDC
  1,000,000 at 54.7% with a foundation paying 15%: institute 547,000, applied 150,000,
  under-recovery 397,000.
* **costs repaid first** (``pricing.allocation.recover_costs``, card
  ``allocation.cost_recovery = {components, to}``): the project's ``proceeds.costs``
  (``Proceeds_Costs``) are taken from the listed components' income in order (a
  ``cost_recovery`` row to ``to``), the components' net amounts are split; what the
  income cannot repay is ``Alloc_Unrecovered`` (``unrecovered_costs``).
* **a researcher's own monthly rate** (``researchers[i].monthly_rate``): the Project
  sheet keeps it in ``R_RefPrice`` (read back as ``monthly_rate``); the Calc sheet prices
  months × that rate, escalated like every rate.

Whole numbers throughout (basis points, yen): each rounding is one division (DESIGN.md
"Rounding, exactly").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.worksheet.worksheet import Worksheet

from ..money import fmt_rate
from ..pricing.stacked import SPONSOR_KEYS, sponsor_words
from ..project import Project
from ..rates import PARTIES, RateCard
from ..vocabulary import both
from .book import Book, a1, bp, col, formula, list_validation, number_validation, put
from .cases import apply_rate
from .tax import NOT_LIFTED, floor_minimum, floor_text, full_cost
from .checks import guarded, not_number, put_check, rule, text_literal
from .styles import print_setup, protect

if TYPE_CHECKING:
    from .quotes import Calc, QuoteSheet

INTERNAL = "Internal"   # the sheet's name (学内用: the university's, not the company's)


# -- which rules these formulas price ------------------------------------------------------------

def has_sponsor_inputs(card: RateCard, project: Project) -> bool:
    """The workbook has the sponsor-cap inputs: the card lists sponsor caps, or the
    project gives a sponsor key."""
    return bool(card.model.fa.sponsor_caps) or any(
        getattr(project.project, k) is not None for k in SPONSOR_KEYS)


def has_cost_recovery(card: RateCard) -> bool:
    """The card repays costs first (``allocation.cost_recovery``): the Allocation sheet
    gets a cost-recovery row and the Project sheet a ``Proceeds_Costs`` input."""
    return card.model.allocation.cost_recovery is not None


def priced_features(card: RateCard, project: Project) -> set[str]:
    """The keys of ``pricing.stacked.costing_features`` these formulas price: monthly
    rates (``researchers[i].rate_source``), the sponsor keys (with rates blended by days
    too: each segment's rate capped, then blended) and ``proceeds.costs``.

    >>> from xl_pricing import load_card
    >>> from xl_pricing.workbook import template_project
    >>> sorted(priced_features(load_card("harvard"), template_project(load_card("harvard"))))
    []
    """
    out = {f"researchers[{i}].rate_source" for i, r in enumerate(project.researchers)
           if r.rate_source == "monthly"}
    out |= {f"project.{k}" for k in SPONSOR_KEYS if getattr(project.project, k) is not None}
    if has_cost_recovery(card) and project.proceeds is not None and project.proceeds.costs:
        out.add("proceeds.costs")
    return out


# -- the Project sheet's inputs --------------------------------------------------------------------

def _rate_rules(ref: str, field: str) -> list[tuple[str, str]]:
    """A fraction's checks, in the engine's words (``rates.schema.Fraction``)."""
    return [rule(not_number(ref, 0), field, "a number >= 0"),
            rule(f"AND(ISNUMBER({ref}),{ref}>5)", field,
                 "a number <= 5 (rates are fractions: 0.30 means 30%)"),
            rule(f"AND(ISNUMBER({ref}),ROUND({ref}*10000,0)<>{ref}*10000)", field,
                 "a number with at most 4 decimal places")]


def _yen_rules(ref: str, field: str) -> list[tuple[str, str]]:
    """Whole yen >= 0, in the engine's words (``rates.schema.Yen``)."""
    return [rule(not_number(ref, 0), field, "a number >= 0"),
            rule(f"AND(ISNUMBER({ref}),{ref}<>INT({ref}))", field, "a whole number of yen")]


def sponsor_rows(book: Book, ws: Worksheet, row: int) -> int:
    """The Project sheet's sponsor-cap inputs from ``row`` (each with its check, the
    engine's field): ``SponsorType`` (drop-down "財団 / foundation"; its code in the hidden
    ``SponsorType_Code``, column S), ``SponsorCapRate``, ``AppliedFaRate``,
    ``SponsorCapBase``.  Nothing for a card without caps and a project without sponsor
    keys.  Returns the next row."""
    from .inputs import code_formula

    card, info = book.card, book.project.project
    if not has_sponsor_inputs(card, book.project):
        return row
    table = sponsor_words(card)
    have = ", ".join(table) or "none"
    caps = "; ".join(f"{c}: " + ", ".join(
        ([f"{fmt_rate(cap.rate)}"] if cap.rate is not None else [])
        + ([f"base ¥{cap.base:,}"] if cap.base is not None else []))
        for c, cap in card.model.fa.sponsor_caps.items())
    put(ws, f"A{row}", "スポンサー区分（間接経費の上限）/ Sponsor type (F&A cap)"
        + (f" — {caps}" if caps else ""), "xlp_label")
    code = info.sponsor_type
    put(ws, f"B{row}", both(table[code]) if code in table else code, "xlp_input")
    book.define("SponsorType", ws, f"B{row}")
    rules = [rule('AND(TRIM(SponsorType)<>"",SponsorType_Code="")', "project.sponsor_type",
                  f"a sponsor type of card {card.id!r}: {have}")]
    put_check(book, ws, f"C{row}", "SponsorType", rules)
    if table:
        list_validation(ws, f"B{row}", [both(w) for w in table.values()])
    formula(ws, f"S{row}", code_formula("SponsorType", table), "xlp_text")
    book.define("SponsorType_Code", ws, f"S{row}")
    row += 1
    for label, name, key, value in (
            ("上限率（機関率との低い方）/ Sponsor cap rate (min with institute)",
             "SponsorCapRate", "sponsor_cap_rate", info.sponsor_cap_rate),
            ("適用率（そのまま適用）/ Applied F&A rate (as given)", "AppliedFaRate",
             "applied_fa_rate", info.applied_fa_rate)):
        put(ws, f"A{row}", label, "xlp_label")
        put(ws, f"B{row}", float(value) if value is not None else None, "xlp_input_pct")
        book.define(name, ws, f"B{row}")
        rules = _rate_rules(name, f"project.{key}")
        if name == "AppliedFaRate":
            rules.append(rule('AND(AppliedFaRate<>"",SponsorCapRate<>"")',
                              "project.applied_fa_rate",
                              "either applied_fa_rate (the rate the sponsor pays) or "
                              "sponsor_cap_rate (a cap on the institute rate), not both"))
        put_check(book, ws, f"C{row}", name, rules)
        number_validation(ws, f"B{row}", 0, maximum=5)
        row += 1
    put(ws, f"A{row}", "上限基礎（全期間、前年度から）/ Sponsor cap base (whole award, yen)",
        "xlp_label")
    base = info.sponsor_cap_base
    put(ws, f"B{row}", int(base) if base is not None else None, "xlp_input_yen")
    book.define("SponsorCapBase", ws, f"B{row}")
    put_check(book, ws, f"C{row}", "SponsorCapBase",
              _yen_rules("SponsorCapBase", "project.sponsor_cap_base"))
    number_validation(ws, f"B{row}", 0, whole=True)
    return row + 1


def costs_row(book: Book, ws: Worksheet, row: int) -> int:
    """``Proceeds_Costs``: the costs repaid before any share (``proceeds.costs``), for a
    card with ``allocation.cost_recovery`` only.  Returns the next row."""
    if not has_cost_recovery(book.card):
        return row
    pr = book.project.proceeds
    put(ws, f"A{row}", "配分前に回収する費用 / Costs repaid first (proceeds, yen)", "xlp_label")
    put(ws, f"B{row}", int(pr.costs) if pr is not None and pr.costs else None,
        "xlp_input_yen")
    book.define("Proceeds_Costs", ws, f"B{row}")
    put_check(book, ws, f"C{row}", "Proceeds_Costs",
              _yen_rules("Proceeds_Costs", "proceeds.costs"))
    number_validation(ws, f"B{row}", 0, whole=True)
    return row + 1


# -- sponsor caps: the Internal sheet ---------------------------------------------------------------

def _by_type(card: RateCard, attr: str, scale) -> str:
    """The card's cap (``rate`` in bp or ``base`` in yen) for ``SponsorType_Code``, "" for
    none."""
    out = '""'
    for code, cap in reversed(list(card.model.fa.sponsor_caps.items())):
        v = getattr(cap, attr)
        if v is not None:
            out = f"IF(SponsorType_Code={text_literal(code)},{scale(v)},{out})"
    return out


def fa_cells(book: Book, calc: "Calc", bases: list[str], institute: list[str]) -> list[str]:
    """The sheet ``Internal`` (学内用) and Quote A's F&A cells: the applied F&A of each
    fiscal year.  ``bases``: each year's F&A base (sheet-qualified formulas);
    ``institute``: each year's institute F&A formula (rounded).

    Rows: base, institute bp, applied bp, applied base (capped over the award, earlier
    years first), institute F&A, applied F&A, under-recovery.  A card blending rates by
    days (``cases.RateRows``) has Σ bp × days in the bp rows, each segment's rate capped
    before the blend (``pricing.stacked.applied_fa``), and the applied F&A = applied base ×
    Σ applied bp × days ÷ (10,000 × the year's days), one division (``cases.apply_rate``).
    Totals named
    ``Internal_InstituteFA``, ``Internal_AppliedFA``, ``Internal_UnderRecovery`` (blank
    while the project has no cap, or is not priced on approach A — as the engine's
    ``internal.fa``), the years ``Internal_UR_<FY column>``."""
    ws = book.wb.create_sheet(INTERNAL)
    card = book.card
    put(ws, "A1", "学内用 / Internal view — 大学内部の資料（企業には出さない）/ the university's "
                  "own figures, not for the company", "xlp_title")
    formula(ws, "A2", '"案件 / Project: "&ProjectId&"  "&Title', "xlp_note")
    ws.column_dimensions["A"].width = 52
    # The cap in force (Kuali Coeus: applied rate / capped base), "" without one.
    put(ws, "A4", "上限率 bp / Cap rate bp", "xlp_label")
    formula(ws, "B4", 'IF(AppliedFaRate<>"",ROUND(AppliedFaRate*10000,0),'
                      'IF(SponsorCapRate<>"",ROUND(SponsorCapRate*10000,0),'
                      f'{_by_type(card, "rate", bp)}))', "xlp_int")
    put(ws, "A5", "上限基礎 / Cap base", "xlp_label")
    formula(ws, "B5", 'IF(SponsorCapBase<>"",SponsorCapBase,'
                      f'{_by_type(card, "base", int)})', "xlp_yen")
    book.define("Internal_CapBp", ws, "B4")
    book.define("Internal_CapBase", ws, "B5")
    rows = calc.rules.rates if calc.rules is not None else None
    blend = rows is not None and rows.days is not None
    per = " × 日数 / × days" if blend else ""
    labels = ["年度 / FY", "F&A 基礎 / F&A base", f"機関率 bp / Institute rate bp{per}",
              f"適用率 bp / Applied rate bp{per}", "適用基礎 / Applied base",
              "機関の間接経費 / Institute F&A", "適用間接経費（見積の行）/ Applied F&A "
              "(the quote's line)", "回収不足（機関 − 適用）/ Under-recovery (institute − "
              "applied)"]
    top = 7
    for i, label in enumerate(labels):
        put(ws, f"A{top + i}", label, "xlp_label" if i else "xlp_header")
    fy, base, ibp, abp, abase, ifa, afa, ur = range(top, top + 8)
    y = len(bases)
    first = 2
    for k in range(y):
        c = first + k
        formula(ws, a1(fy, c), f"Calc!{a1(2, 3 + k)}", "xlp_fy")
        formula(ws, a1(base, c), bases[k], "xlp_yen")
        formula(ws, a1(ibp, c), calc.fabp(k), "xlp_int")
        if blend:
            # each segment capped, then blended (an applied rate: for every day of the year)
            assert rows is not None
            days = rows.days_of(k)
            capped = f'IF({a1(fy, c)}="",0,{rows.capped_fa(k, "$B$4")})'
            formula(ws, a1(abp, c), f'IF($B$4="",{a1(ibp, c)},IF(AppliedFaRate<>"",'
                                    f'$B$4*{days},{capped}))', "xlp_int")
        else:
            days = None
            formula(ws, a1(abp, c), f'IF($B$4="",{a1(ibp, c)},IF(AppliedFaRate<>"",$B$4,'
                                    f'MIN({a1(ibp, c)},$B$4)))', "xlp_int")
        left = "$B$5" + (f"-SUM({a1(abase, first)}:{a1(abase, c - 1)})" if k else "")
        formula(ws, a1(abase, c), f'IF($B$5="",{a1(base, c)},MIN({a1(base, c)},{left}))',
                "xlp_yen")
        formula(ws, a1(ifa, c), institute[k], "xlp_yen")
        applied = apply_rate(book, a1(abase, c), a1(abp, c), days)
        formula(ws, a1(afa, c), applied, "xlp_yen")
        formula(ws, a1(ur, c), f"{a1(ifa, c)}-{a1(afa, c)}", "xlp_yen")
    tc = first + y
    put(ws, a1(top, tc), "合計 / Total", "xlp_header")
    on_a = ('AND(OR(Approach_Code="A",AND(Approach_Code="B",B_BookAs="A")),'
            'OR($B$4<>"",$B$5<>""))')
    for r, name in ((ifa, "Internal_InstituteFA"), (afa, "Internal_AppliedFA"),
                    (ur, "Internal_UnderRecovery")):
        formula(ws, a1(r, tc), guarded(f'IF({on_a},SUM({a1(r, first)}:{a1(r, tc - 1)}),"")'),
                "xlp_total")
        book.define(name, ws, a1(r, tc))
    put(ws, a1(ur + 2, 1), "見積・申込書・企業向けの表には載りません / Not on the quotes, the "
                           "forms, Compare or the Industrial view.", "xlp_note")
    for c in range(first, tc + 1):
        ws.column_dimensions[col(c)].width = 16
    print_setup(ws, landscape=True)
    protect(ws)
    return [f"{INTERNAL}!{a1(afa, first + k)}" for k in range(y)]


# -- costs repaid first: the Allocation sheet -------------------------------------------------------

GROSS_COL, TAKE_COL = 26, 27   # hidden: each component's income, and what repays costs


def cost_recovery_rows(book: Book, ws: Worksheet, row: int, comp_rows: dict[str, int],
                       gross: dict[str, str]) -> dict[str, str]:
    """The cost-recovery row of the Allocation sheet at ``row`` and each component's net
    amount formula (income − what it repays).  Costs are taken from the card's
    ``cost_recovery.components`` in order, each up to its income (a negative income repays
    nothing): take_j = MIN(MAX(income_j, 0), costs − Σ earlier takes).  The row's amount
    goes wholly to ``cost_recovery.to``.

    Example: costs 100,000 from a royalty of 1,000,000: cost_recovery 100,000, royalty
    900,000 split."""
    from ..pricing.quote import LABELS

    rec = book.card.model.allocation.cost_recovery
    assert rec is not None
    costs = "N(Proceeds_Costs)"
    taken: list[str] = []
    for comp in rec.components:
        r = comp_rows.get(comp)
        if r is None or a1(r, TAKE_COL) in taken:
            continue   # (the engine takes nothing from a component the quote lacks)
        before = "-".join([costs, *taken])
        formula(ws, a1(r, TAKE_COL), f"MIN(MAX({a1(r, GROSS_COL)},0),{before})", "xlp_yen")
        taken.append(a1(r, TAKE_COL))
    net = {}
    for comp, r in comp_rows.items():
        formula(ws, a1(r, GROSS_COL), gross[comp], "xlp_yen")
        net[comp] = (f"{a1(r, GROSS_COL)}-{a1(r, TAKE_COL)}" if a1(r, TAKE_COL) in taken
                     else a1(r, GROSS_COL))
    put(ws, f"A{row}", both(LABELS["cost_recovery"]), "xlp_label")
    recovered = "+".join(taken) or "0"
    formula(ws, f"B{row}", guarded(recovered), "xlp_yen")
    for j, p in enumerate(PARTIES):
        formula(ws, a1(row, 3 + j), guarded(f"B{row}" if p == rec.to else "0"), "xlp_yen")
    for c in (GROSS_COL, TAKE_COL):
        ws.column_dimensions[col(c)].hidden = True
    return net


def allocation_notes(book: Book, ws: Worksheet, row: int, recovered: str | None) -> None:
    """Below the split's total: the costs the income could not repay
    (``Alloc_Unrecovered``, the engine's ``unrecovered_costs``) and the F&A under-recovery
    of a sponsor cap (``Alloc_UnderRecovery``, ``allocation.under_recovery``) — internal
    figures, never a party's share."""
    if recovered is not None:
        put(ws, f"A{row}", "未回収の費用 / Unrecovered costs", "xlp_label")
        formula(ws, f"B{row}", guarded(f"N(Proceeds_Costs)-{recovered}"), "xlp_yen")
        book.define("Alloc_Unrecovered", ws, f"B{row}")
        row += 1
    if has_sponsor_inputs(book.card, book.project):
        put(ws, f"A{row}", "間接経費の回収不足（学内）/ F&A under-recovery (internal)",
            "xlp_label")
        formula(ws, f"B{row}", "Internal_UnderRecovery", "xlp_yen")
        book.define("Alloc_UnderRecovery", ws, f"B{row}")


# -- price floors that only warn --------------------------------------------------------------------

def floor_checks(book: Book, q: "QuoteSheet", row: int) -> None:
    """The engine's price-floor warnings (``pricing.stacked.floor_line``) on quote X or A
    from ``row``, word for word, else "": ``<X|A>_FloorCheck`` — ``floor.action = "warn"``:
    the price (before tax) below the minimum = full cost × the multiple of the IP terms,
    rounded up (no floor line is added) — and ``<X|A>_FloorShare`` — ``floor.warn_below``:
    the price (after a lift) below that share of full cost, naming the ``approval``.

    Example (a card warning below 75%, Head of School): price 700,000 on full cost
    1,000,000 → "フルコストの 75% 未満 / below 75% of full cost: 700,000 yen < 0.75 ×
    1,000,000 yen; Head of School required (…: floor.warn_below)"."""
    fl = book.card.model.floor
    if fl is None:
        return
    ap = q.approach
    tc = col(q.total_col)
    cost = full_cost(book, f"$C${q.first_row}:$C${q.last_row}",
                     f"${tc}${q.first_row}:${tc}${q.last_row}")
    price = f"({ap}_Sum-{ap}_consumption_tax)"
    if fl.action == "warn":
        minimum = floor_minimum(book, cost)
        text = floor_text(book, price, cost, minimum)
        put(q.ws, f"A{row}", "最低価格 / Price floor", "xlp_label")
        formula(q.ws, f"B{row}", f'IF(AND(Input_OK,FloorBp>0,{cost}>0,{price}<{minimum}),'
                                 f'{text},"")', "xlp_warn")
        book.define(f"{ap}_FloorCheck", q.ws, f"B{row}")
    floor_share(book, q, row + 1, cost, price)


def floor_share(book: Book, q: "QuoteSheet", row: int, cost: str, price: str,
                why: str = "", when: str = "Input_OK") -> None:
    """``<approach>_FloorShare`` at ``row``: the engine's ``floor.warn_below`` warning
    (price × 10,000 < full cost × the share in bp: exact in whole numbers), else ""."""
    fl = book.card.model.floor
    if fl is None or fl.warn_below is None:
        return
    share = fmt_rate(fl.warn_below)
    who = f"; {fl.approval} required" if fl.approval else ""
    text = (f'"フルコストの {share} 未満 / below {share} of full cost: "&TEXT({price},"#,##0")'
            f'&" yen < {fl.warn_below} × "&TEXT({cost},"#,##0")&" yen{who} '
            f'({book.card.id}: floor.warn_below){why}"')
    put(q.ws, f"A{row}", "フルコスト比の下限 / Share of full cost", "xlp_label")
    formula(q.ws, f"B{row}", f'IF(AND({when},{cost}>0,{price}*10000<{cost}*{bp(fl.warn_below)}),'
                             f'{text},"")', "xlp_warn")
    book.define(f"{q.approach}_FloorShare", q.ws, f"B{row}")


def floor_share_bc(book: Book, q: "QuoteSheet", row: int) -> None:
    """Approach B's or C's ``floor.warn_below`` warning (``floor_by_approach``: on the
    approach-X full cost, the price never lifted; B booked as A has A's)."""
    fl = book.card.model.floor
    if fl is None or fl.warn_below is None:
        return
    ap = q.approach
    when = 'AND(Input_OK,B_Agreed<>"",B_BookAs<>"A")' if ap == "B" else "Input_OK"
    floor_share(book, q, row, full_cost(book, "X_Comp", "X_Tot"),
                f"({ap}_Sum-{ap}_consumption_tax)", f" — {NOT_LIFTED[ap]}", when)
