"""Native formulas for a card's conditional indirect rates, project kinds, 研究料 and monthly
unit fees (issue 16 item 2: each rule priced by the workbook's own formulas, proven equal
to the engine).

Mirrors the engine exactly:

* **conditional indirect rate** (``indirect.cases``, ``pricing.cost.conditional_line`` and
  ``RateCard.rates_over``): each fiscal year's rate is the first case whose ``when`` holds
  on the year's rate date (``FY_RateDate`` = max(Start, 1 April); the project's Start with
  ``rate_change.method = "at_award"``; blended by days: workbook/cases.py, whose
  ``first_case`` writes every conditional rate), else the contract's rate (``Ind_Bp``).
  Fukushima, a project starting 2019-10-01 with 900,000 direct: 8% (direct ≤ 1,000,000 before
  2020-04-01).
* **project kind** (``[kinds]``, ``RateCard.kind``): the ``Kind`` input (a drop-down of
  "支援型 / support-type joint research"), its code in the hidden ``Kind_Code``.
* **研究料** (``[fees.NAME]``, ``pricing.fees.research_fee_line``): periods of N months
  counted from Start (``started_months``: the smallest m with Start + m months > End), each
  charged in the fiscal year it starts in; a last short period costs ``short_amount`` (≤
  ``short_months``), is prorated by months or charged in full; × the quantity
  (``Qty_<per>``, e.g. company researchers), each fiscal year rounded once by the card's
  rule.  KEK: 432,000 a year, 216,000 for ≤ 6 months; 2027-04-01 – 2028-09-30 with 2
  researchers → FY2027 864,000, FY2028 432,000.
* **unit fee** (``[unit_fees.NAME]``, ``pricing.fees.unit_fee_line``): Σ items' monthly
  amounts (± a step amount per started step above / full step below the included
  quantity, ``Qty_<quantity>``; blank = the included one) × the months from Start in each
  fiscal year.  NITech: 300,000 + 500,000 (200 m²) = 800,000 a month.
* **indirect base with 研究料** (``indirect.base_includes = ["research_fee"]``, Kyoto):
  indirect = rate × (direct + the year's rounded 研究料).

Everything is built from whole numbers (months, yen, basis points, quantities × 100) so
each rounding is one correctly rounded division (DESIGN.md "Rounding, exactly").  Dates use
DATE/YEAR/MONTH/DAY only (``add_months`` as ``pricing.fees.add_months``: the same day, or
the month's last day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from openpyxl.worksheet.worksheet import Worksheet

from ..project import Project
from ..rates import RateCard
from ..rates.schema import Indirect, ResearchFee, Strategic, UnitFee
from .book import Book, a1, formula, list_validation, number_validation, put
from .cases import MONTHS, RateRows, blends, fa_by_segment, rate_rows, when_formula
from .cases import priced_rules as case_rules
from .checks import rule, text_literal
from . import mtdc


# -- which rules these formulas price ----------------------------------------------------------

def research_fees(card: RateCard) -> dict[str, ResearchFee]:
    """The card's 研究料 (``[fees.NAME]``), in the card's order."""
    return dict(card.model.fees)


def priced_rules(card: RateCard) -> set[str]:
    """The keys of ``RateCard.rules_in_use`` these formulas price for ``card``: kinds, the
    indirect cases (by fiscal year or at the award), every 研究料 and unit fee (one line
    each), and the indirect and strategic bases' ``base_includes`` / ``base_excludes``
    (every part the schema allows: :func:`rule_base_formula`).

    >>> from xl_pricing import load_card
    >>> sorted(priced_rules(load_card("kyoto")))
    ['fees.research_fee', 'indirect.base_includes']
    """
    m = card.model
    out = {f"kinds.{k}" for k in m.kinds} | case_rules(card)  # conditional rates: cases.py
    out |= {f"fees.{n}" for n in m.fees} | {f"unit_fees.{n}" for n in m.unit_fees}
    for key, spec in (("indirect", m.indirect), ("strategic", m.strategic)):
        out |= {f"{key}.{k}" for k in ("base_includes", "base_excludes") if getattr(spec, k)}
    return out | mtdc.priced_rules(card)   # subaward ids and the award date (mtdc.py)


def unpriced(card: RateCard, project: Project) -> list[str]:
    """The card's (and the project's) rules this module's formulas (with cases.py and
    mtdc.py) do not price: the engine's list (``RateCard.rules_in_use`` +
    ``pricing.stacked.costing_features``) less :func:`priced_rules` — tax.py and
    internal.py price the rest (``inputs.unpriced_for``).

    >>> from xl_pricing import load_card
    >>> from xl_pricing.workbook import template_project
    >>> unpriced(load_card("cambridge"), template_project(load_card("cambridge")))
    ['floor']
    """
    from ..pricing.stacked import costing_features

    done = priced_rules(card)
    found = card.rules_in_use() + costing_features(project, card)
    return [r for r in dict.fromkeys(found) if r not in done]


# -- the Project sheet: kind and quantities -------------------------------------------------

def quantity_names(card: RateCard) -> dict[str, str]:
    """The project quantities the card's 研究料 (``per``) and unit fees (items'
    ``quantity``) are priced by, in order, each with its label (Japanese / English).

    >>> from xl_pricing import load_card
    >>> list(quantity_names(load_card("nitech")))
    ['space_m2', 'extra_staff']
    """
    out: dict[str, str] = {}
    for f in card.model.fees.values():
        if f.per != "project":
            out.setdefault(f.per, QUANTITY_LABELS.get(
                f.per, f"数量 {f.per}（{f.label_ja}）/ Quantity {f.per} ({f.label_en})"))
    for u in card.model.unit_fees.values():
        for it in u.items:
            if it.quantity is not None:
                out.setdefault(it.quantity, f"{it.label_ja}（空欄={it.included:f}）/ "
                                            f"{it.label_en} (blank = {it.included:f})")
    return out


QUANTITY_LABELS = {"company_researcher": "企業研究者の人数（研究料）/ Company researchers "
                                         "(research fee)"}


def kind_code_formula(card: RateCard, ref: str = "Kind") -> str:
    """The card's kind code ``ref`` names — the code itself (EXACT, as ``RateCard.kind``),
    or, trimmed, its Japanese, its English or the drop-down's "日本語 / English" — else "".

    >>> from xl_pricing import load_card
    >>> kind_code_formula(load_card("jaist"))[:60]
    'IF(OR(EXACT(Kind,"support"),EXACT(TRIM(Kind),"支援型"),EXACT(TR'
    """
    from ..vocabulary import both

    out = '""'
    for code, k in reversed(list(card.model.kinds.items())):
        words = [k.label_ja, k.label_en, both((k.label_ja, k.label_en))]
        test = ",".join([f"EXACT({ref},{text_literal(code)})"]
                        + [f"EXACT(TRIM({ref}),{text_literal(w)})" for w in words])
        out = f"IF(OR({test}),{text_literal(code)},{out})"
    return out


def project_inputs(book: Book, ws: Worksheet, row: int,
                   scalar: Callable[..., str]) -> None:
    """The Project-sheet inputs the card's rules need: ``Kind`` (a drop-down of the card's
    kinds in Japanese and English; its code in the hidden ``Kind_Code``, column S), one
    ``Qty_<name>`` per quantity a 研究料 is priced by, and an MTDC card's ``AwardDate``.  ``scalar`` is the sheet's writer of
    one labelled input (it advances the sheet's row); ``row`` is the row it writes next.
    Nothing for a card without kinds, fees or MTDC."""
    from ..vocabulary import both

    card, info = book.card, book.project.project
    kinds = card.model.kinds
    if kinds:
        entries = [both((k.label_ja, k.label_en)) for k in kinds.values()]
        shown = ", ".join(f"{c} ({k.label_ja} / {k.label_en})" for c, k in kinds.items())
        value = None
        if info.kind is not None:
            code = card.kind(info.kind)
            value = both((kinds[code].label_ja, kinds[code].label_en))  # type: ignore[index]
        ref = scalar("案件の種別（空欄=なし）/ Project kind (blank = none)", "Kind", value,
                     rules=[rule('AND(TRIM(Kind)<>"",Kind_Code="")', "project.kind",
                                 f"a project kind of card {card.id!r}: {shown}"[:200])])
        list_validation(ws, ref, entries)
        formula(ws, f"S{row}", kind_code_formula(card), "xlp_text")
        book.define("Kind_Code", ws, f"S{row}")
    for name, label in quantity_names(card).items():
        qn = f"Qty_{name}"
        got = book.project.quantities.get(name)
        ref = scalar(label, qn, float(got) if got is not None else None, "xlp_input_num",
                     rules=[rule(f'AND({qn}<>"",OR(NOT(ISNUMBER({qn})),{qn}<0,{qn}>1000000))',
                                 f"quantities.{name}", "a number from 0 to 1,000,000"),
                            rule(f'AND({qn}<>"",ABS({qn}*100-ROUND({qn}*100,0))>1E-9)',
                                 f"quantities.{name}", "a number with at most 2 decimal places")])
        number_validation(ws, ref, 0, maximum=1_000_000)
    mtdc.award_date_input(book, scalar)   # an MTDC card's award date (workbook/mtdc.py)


# -- the Rates sheet: the card's rules, readable ----------------------------------------------

def rules_table(book: Book, ws: Worksheet, row: int) -> int:
    """The card's rules beyond flat rates (``RateCard.rule_rows``: cases, bases, kinds,
    研究料 …) as rows of words; returns the next free row.  Nothing for a card without."""
    rows = book.card.rule_rows()
    if not rows:
        return row
    put(ws, f"A{row}", "料金表の規則 / Card's rules", "xlp_header")
    put(ws, f"B{row}", "内容 / Rule", "xlp_header")
    for i, (label, value) in enumerate(rows):
        put(ws, f"A{row + 1 + i}", label, "xlp_text")
        put(ws, f"B{row + 1 + i}", value, "xlp_text")
    return row + len(rows) + 2


# -- the Calc sheet: facts, the indirect rate and the 研究料 by fiscal year --------------------

def add_months(d: str, n: str) -> str:
    """Excel: the date ``n`` months after ``d``, the same day or the month's last day
    (``pricing.fees.add_months``; EDATE without the Analysis ToolPak)."""
    return (f"DATE(YEAR({d}),MONTH({d})+{n},MIN(DAY({d}),"
            f"DAY(DATE(YEAR({d}),MONTH({d})+{n}+1,0))))")


@dataclass
class FeeCells:
    """Where the Calc sheet holds the rules' figures: per fiscal year column k, the
    indirect rate in bp (when the card has priced cases) and each 研究料 and unit fee
    (rounded), in the card's order: ``fees`` / ``units`` are (name, fee, Calc row)."""

    years: int
    fees: list[tuple[str, ResearchFee, int]] = field(default_factory=list)
    units: list[tuple[str, UnitFee, int]] = field(default_factory=list)
    rates: RateRows = field(default_factory=RateRows)  # indirect, strategic, days (cases.py)

    def fee_cells(self, k: int) -> list[str]:
        """Year k's 研究料 cells, one per fee."""
        return [f"Calc!{a1(r, 3 + k)}" for _n, _f, r in self.fees]

    def unit_cells(self, k: int) -> list[str]:
        """Year k's unit-fee cells, one per fee."""
        return [f"Calc!{a1(r, 3 + k)}" for _n, _f, r in self.units]


def calc_rows(book: Book, ws: Worksheet, row: int, years: int) -> FeeCells:
    """Write the facts, the conditional indirect rate and the 研究料 by fiscal year on the
    Calc sheet from ``row`` (columns C… are the fiscal years, their FY in row 2)."""
    card, m = book.card, book.card.model
    out = FeeCells(years)
    cases = list(m.indirect.cases)
    fee_items, unit_items = list(m.fees.items()), list(m.unit_fees.items())
    if not cases and not fee_items and not unit_items and not m.strategic.cases \
            and not blends(card) and not fa_by_segment(card):
        return out
    has_kinds = bool(m.kinds)
    put(ws, f"A{row}", "直接経費の合計 / Direct, all years", "xlp_label")
    formula(ws, f"C{row}", "SUM(Direct_Amount)", "xlp_yen")
    direct = f"Calc!$C${row}"
    months = MONTHS
    row += 1
    fy = [f"Calc!{a1(2, 3 + k, True)}" for k in range(years)]
    # the conditional indirect and strategic rates, blending by days (cases.py)
    out.rates, row = rate_rows(book, ws, row, years, direct, cases)
    if fee_items or unit_items:
        put(ws, f"A{row}", "経過月数（開始日から）/ Months from the start date", "xlp_label")
        m0 = "MAX(0,(YEAR(End)-YEAR(Start))*12+MONTH(End)-MONTH(Start))"
        formula(ws, f"C{row}", f"{m0}+IF({add_months('Start', m0)}<=End,1,0)", "xlp_int")
        started = f"Calc!$C${row}"
        put(ws, f"D{row}", "開始月 / Start month", "xlp_label")
        formula(ws, f"E{row}", "YEAR(Start)*12+MONTH(Start)-1", "xlp_int")
        first = f"Calc!$E${row}"
        row += 1
    for name, fee in fee_items:   # each 研究料 its own rows (fees.fee_lines: card order)
        n = fee.period_months
        put(ws, f"A{row}", f"研究料の条件 / Fee applies ({name})", "xlp_label")
        applies = "TRUE" if fee.when is None else when_formula(fee.when, "Start", direct,
                                                                months, has_kinds)
        formula(ws, f"C{row}", applies, "xlp_text")
        holds = f"Calc!$C${row}"
        row += 1
        full, rest = f"INT({started}/{n})", f"MOD({started},{n})"
        # The short period's amount × n (so every amount is over the one denominator n).
        if fee.short_months is not None:
            short = (f"IF({rest}<={fee.short_months},{int(fee.short_amount) * n},"  # type: ignore[arg-type]
                     + (f"{int(fee.amount)}*{rest}" if fee.proration == "monthly"
                        else str(int(fee.amount) * n)) + ")")
        elif fee.proration == "monthly":
            short = f"{int(fee.amount)}*{rest}"
        else:
            short = str(int(fee.amount) * n)
        q100 = "100" if fee.per == "project" else f"ROUND(N(Qty_{fee.per})*100,0)"
        put(ws, f"A{row}", f"研究料 / Research fee ({name}) by FY", "xlp_label")
        for k in range(years):
            lo = f"({fy[k]}*12+3-{first})"   # the fiscal year's months, counted from Start
            hi = f"({fy[k]}*12+14-{first})"
            count = f"MAX(0,MIN({full}-1,INT({hi}/{n}))-MAX(0,-INT(-{lo}/{n}))+1)"
            in_year = f"AND({rest}>0,{lo}<={full}*{n},{full}*{n}<={hi})"
            exact = f"{q100}*({count}*{int(fee.amount) * n}+IF({in_year},{short},0))"
            formula(ws, a1(row, 3 + k),
                    f'IF(OR({fy[k]}="",NOT({holds})),0,{book.rnd(exact, n * 100)})',
                    "xlp_yen")
        out.fees.append((name, fee, row))
        row += 1
    for name, unit in unit_items:   # each unit fee its own rows, after the 研究料
        put(ws, f"A{row}", f"月額 / Monthly charge ({name})", "xlp_label")
        applies = "TRUE" if unit.when is None else when_formula(unit.when, "Start", direct,
                                                                 months, has_kinds)
        formula(ws, f"C{row}", f"IF({applies},{'+'.join(unit_item_formula(it) for it in unit.items)},0)",
                "xlp_yen")
        monthly = f"Calc!$C${row}"
        row += 1
        put(ws, f"A{row}", f"月額利用料 / Unit fee ({name}) by FY", "xlp_label")
        for k in range(years):
            lo, hi = f"({fy[k]}*12+3-{first})", f"({fy[k]}*12+14-{first})"
            count = f"MAX(0,MIN({started}-1,{hi})-MAX(0,{lo})+1)"
            formula(ws, a1(row, 3 + k), f'IF({fy[k]}="",0,{book.rnd(f"{monthly}*{count}", 1)})',
                    "xlp_yen")
        out.units.append((name, unit, row))
        row += 1
    return out


def unit_item_formula(item: Any) -> str:
    """Excel: one unit-fee item's monthly amount (``pricing.fees.unit_item_monthly``):
    amount + step_amount × steps — each started step above ``included``, each full step
    below it with ``below`` — on the quantity × 100 (quantities have 2 places); a quantity
    not given is the included one.

    >>> from xl_pricing.rates.schema import UnitFeeItem
    >>> unit_item_formula(UnitFeeItem(label_ja="a", label_en="a", amount=300_000))
    '300000'
    """
    if item.quantity is None or not item.step_amount:
        return str(int(item.amount))
    q = f"Qty_{item.quantity}"
    inc, step = int(item.included * 100), int(item.step * 100)
    diff = f'(IF({q}="",{inc},ROUND({q}*100,0))-{inc})'
    # Above: ceiling(diff ÷ step); below: −floor(−diff ÷ step) — both −INT(−diff ÷ step).
    counted = f"{diff}>0" if not item.below else "TRUE"
    steps = f"IF({counted},-INT(-{diff}/{step}),0)"
    return f"({int(item.amount)}+{int(item.step_amount)}*{steps})"


def fee_quote_lines(cells: FeeCells) -> list[tuple[str, str, str, list[str]]]:
    """The quote sheets' fee lines, in the engine's order (``pricing.fees.fee_lines``: the
    card's 研究料, then its unit fees): (component, detail, line name, per-year cells).

    The detail is the engine's: a 研究料's label when it is not 研究料, a unit fee's label.
    The first fee of each kind is named ``research_fee`` / ``unit_fee`` (``X_research_fee``
    …), the next ones by their place on the card: ``research_fee_2`` …
    """
    out = []
    for comp, items in (("research_fee", cells.fees), ("unit_fee", cells.units)):
        for i, (_name, fee, r) in enumerate(items):
            detail = ("" if fee.label_ja == "研究料" else fee.label_ja) \
                if comp == "research_fee" else fee.label_ja
            out.append((comp, detail, comp if i == 0 else f"{comp}_{i + 1}",
                        [f"Calc!{a1(r, 3 + k)}" for k in range(cells.years)]))
    return out


# -- the indirect and strategic bases ----------------------------------------------------------

def direct_less(spec: Indirect | Strategic, direct: str, k: int) -> str:
    """Excel: fiscal year k's direct costs ``direct`` less the spec's ``base_excludes``
    categories (``pricing.cost.rule_base``: each item's category compared exactly, EXACT as
    the quote's direct lines; the year in Calc row 2).

    >>> from xl_pricing.rates.schema import Indirect
    >>> direct_less(Indirect(rate=0.3, base_excludes=["equipment"]), "D", 0)
    '(D-SUMPRODUCT(EXACT(Direct_Category,"equipment")*(Direct_FY=Calc!$C$2),Direct_Amount))'
    """
    if not spec.base_excludes:
        return direct
    fy = f"Calc!{a1(2, 3 + k, True)}"
    out = "".join(f"-SUMPRODUCT(EXACT(Direct_Category,{text_literal(c)})*(Direct_FY={fy}),"
                  "Direct_Amount)" for c in dict.fromkeys(spec.base_excludes))
    return f"({direct}{out})"


def rule_base_formula(book: Book, key: str, direct: str, k: int, parts: dict[str, str],
                      paren: bool = True) -> str:
    """Excel: fiscal year k's indirect (``key = "indirect"``) or strategic base as
    ``pricing.cost.rule_base``: direct less ``base_excludes`` + each part of
    ``base_includes`` (and, for strategic, of its ``base``: ``STRATEGIC_PARTS``) the
    approach has (``parts``: time_charge, indirect, research_fee, unit_fee → the year's
    cells; a part the approach lacks adds nothing) + with ``consumption_tax`` the tax on
    those parts the card taxes, rounded by its rule, for a taxed contract.  In parentheses
    (``paren``) when it is more than ``direct``.

    Example (a card with strategic 10% of the subtotal on approach X): direct 1,000,000 +
    研究料 440,000 + indirect 432,000 → base 1,872,000.
    """
    from ..pricing.cost import STRATEGIC_PARTS

    from . import tax

    m = book.card.model
    spec = m.indirect if key == "indirect" else m.strategic
    wanted = set(spec.base_includes) | (STRATEGIC_PARTS[m.strategic.base]
                                        if key == "strategic" else set())
    used = {"direct": direct_less(spec, direct, k)}
    for part in ("time_charge", "indirect", "research_fee", "unit_fee"):
        if part in wanted and parts.get(part):
            used[part] = parts[part]
    out = "+".join(used.values())
    if "consumption_tax" in wanted:
        ct = m.consumption_tax.components
        chosen = [v for c, v in used.items() if not ct or c in ct]
        if chosen:
            out += (f"+IF({tax.tax_applies(book.card)},"
                    f"{tax._tax_of(book, '(' + '+'.join(chosen) + ')')},0)")
    return out if out == direct or not paren else f"({out})"


def fee_parts(cells: FeeCells | None, k: int) -> dict[str, str]:
    """Year k's research_fee and unit_fee parts of a base (Σ the fees' cells; "" without)."""
    if cells is None:
        return {}
    return {"research_fee": "+".join(cells.fee_cells(k)),
            "unit_fee": "+".join(cells.unit_cells(k))}
