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
from ..rates.schema import ResearchFee, UnitFee
from .book import Book, a1, formula, list_validation, number_validation, put
from .cases import RateRows, blends, fa_by_segment, rate_rows, when_formula
from .cases import priced_rules as case_rules
from .checks import rule, text_literal


# -- which rules these formulas price ----------------------------------------------------------

def research_fees(card: RateCard) -> dict[str, ResearchFee]:
    """The card's 研究料 (``[fees.NAME]``), in the card's order."""
    return dict(card.model.fees)


def _fees_priced(card: RateCard, part: str = "research_fee") -> bool:
    """The workbook prices the card's 研究料 (``part = "research_fee"``) or monthly unit fees
    (``"unit_fee"``): one of them at most (one line, as the engine's line names pool
    them), and no base beyond the indirect one counts it (a strategic base with fees, an
    F&A base with fees stay the engine's)."""
    m = card.model
    if len(m.fees if part == "research_fee" else m.unit_fees) > 1:
        return False
    st = m.strategic
    strategic_counts = (st.rate > 0 or st.cases) and (
        st.base == "subtotal" or part in st.base_includes)
    return not strategic_counts and part not in m.fa.base_includes


def priced_rules(card: RateCard) -> set[str]:
    """The keys of ``RateCard.rules_in_use`` these formulas price for ``card``.

    >>> from xl_pricing import load_card
    >>> sorted(priced_rules(load_card("kyoto")))
    ['fees.research_fee', 'indirect.base_includes']
    """
    m = card.model
    out = {f"kinds.{k}" for k in m.kinds} | case_rules(card)  # conditional rates: cases.py
    fees_ok, units_ok = _fees_priced(card), _fees_priced(card, "unit_fee")
    if fees_ok:
        out |= {f"fees.{n}" for n in m.fees}
    if units_ok:
        out |= {f"unit_fees.{n}" for n in m.unit_fees}
    parts = set(m.indirect.base_includes)
    if parts and parts <= {"research_fee", "unit_fee"} \
            and ("research_fee" not in parts or fees_ok or not m.fees) \
            and ("unit_fee" not in parts or units_ok or not m.unit_fees):
        out.add("indirect.base_includes")
    return out


def unpriced(card: RateCard, project: Project) -> list[str]:
    """The card's (and the project's) rules the workbook formulas do not price: the
    engine's list (``RateCard.rules_in_use`` + ``pricing.stacked.costing_features``) less
    :func:`priced_rules`.

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
    kinds in Japanese and English; its code in the hidden ``Kind_Code``, column S) and one
    ``Qty_<name>`` per quantity a 研究料 is priced by.  ``scalar`` is the sheet's writer of
    one labelled input (it advances the sheet's row); ``row`` is the row it writes next.
    Nothing for a card without kinds or fees."""
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
    indirect rate in bp (when the card has priced cases) and the 研究料 (rounded)."""

    years: int
    indirect_row: int | None = None
    fee_row: int | None = None
    fee: ResearchFee | None = None
    base_has_fee: bool = False
    unit_row: int | None = None
    unit: UnitFee | None = None
    base_has_unit: bool = False
    names: dict[str, str] = field(default_factory=dict)
    rates: RateRows = field(default_factory=RateRows)  # strategic, days (cases.py)

    def indirect_bp(self, k: int) -> str | None:
        return None if self.indirect_row is None else f"Calc!{a1(self.indirect_row, 3 + k)}"

    def fee_cell(self, k: int) -> str | None:
        return None if self.fee_row is None else f"Calc!{a1(self.fee_row, 3 + k)}"

    def unit_cell(self, k: int) -> str | None:
        return None if self.unit_row is None else f"Calc!{a1(self.unit_row, 3 + k)}"


def calc_rows(book: Book, ws: Worksheet, row: int, years: int) -> FeeCells:
    """Write the facts, the conditional indirect rate and the 研究料 by fiscal year on the
    Calc sheet from ``row`` (columns C… are the fiscal years, their FY in row 2)."""
    card, m = book.card, book.card.model
    out = FeeCells(years)
    priced = priced_rules(card)
    cases = [c for i, c in enumerate(m.indirect.cases) if f"indirect.cases[{i}]" in priced]
    fee_items = [(n, f) for n, f in m.fees.items() if f"fees.{n}" in priced]
    unit_items = [(n, f) for n, f in m.unit_fees.items() if f"unit_fees.{n}" in priced]
    if not cases and not fee_items and not unit_items and not m.strategic.cases \
            and not blends(card) and not fa_by_segment(card):
        return out
    has_kinds = bool(m.kinds)
    put(ws, f"A{row}", "直接経費の合計 / Direct, all years", "xlp_label")
    formula(ws, f"C{row}", "SUM(Direct_Amount)", "xlp_yen")
    direct = f"Calc!$C${row}"
    months = "FY_TotalMonths"
    row += 1
    fy = [f"Calc!{a1(2, 3 + k, True)}" for k in range(years)]
    # the conditional indirect and strategic rates, blending by days (cases.py)
    out.rates, row = rate_rows(book, ws, row, years, direct, cases)
    out.indirect_row = out.rates.indirect
    if fee_items or unit_items:
        put(ws, f"A{row}", "経過月数（開始日から）/ Months from the start date", "xlp_label")
        m0 = "MAX(0,(YEAR(End)-YEAR(Start))*12+MONTH(End)-MONTH(Start))"
        formula(ws, f"C{row}", f"{m0}+IF({add_months('Start', m0)}<=End,1,0)", "xlp_int")
        started = f"Calc!$C${row}"
        put(ws, f"D{row}", "開始月 / Start month", "xlp_label")
        formula(ws, f"E{row}", "YEAR(Start)*12+MONTH(Start)-1", "xlp_int")
        first = f"Calc!$E${row}"
        row += 1
    if fee_items:
        name, fee = fee_items[0]
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
        out.fee_row, out.fee = row, fee
        out.base_has_fee = "research_fee" in m.indirect.base_includes
        row += 1
    if unit_items:
        name, unit = unit_items[0]
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
        out.unit_row, out.unit = row, unit
        out.base_has_unit = "unit_fee" in m.indirect.base_includes
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


def fee_line_cells(cells: FeeCells) -> list[str] | None:
    """The 研究料 line's per-year cells on a quote sheet, or ``None`` without a fee."""
    if cells.fee_row is None:
        return None
    return [cells.fee_cell(k) for k in range(cells.years)]  # type: ignore[misc]


def unit_line_cells(cells: FeeCells) -> list[str] | None:
    """The unit fee line's per-year cells on a quote sheet, or ``None`` without one."""
    if cells.unit_row is None:
        return None
    return [cells.unit_cell(k) for k in range(cells.years)]  # type: ignore[misc]


def fee_detail(cells: FeeCells) -> str:
    """The line's detail as the engine's: the card's label when it is not 研究料."""
    fee = cells.fee
    return "" if fee is None or fee.label_ja == "研究料" else fee.label_ja
