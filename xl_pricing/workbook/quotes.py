"""Quote sheets for approaches X, A, B and C, and the hidden Calc sheet they share.

Each line is a row: label, detail, component (for sums), one column per fiscal year and a
total; its total cell is named ``<approach>_<line>`` (``A_fa``, ``A_time_charge_1``...).
The formulas follow the engine's rules exactly (see ``xl_pricing.pricing``); a computed
cell is written natively or as an ``XLP_`` call, by target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.worksheet.worksheet import Worksheet

from ..pricing.fiscal import direct_by_year
from ..pricing.forms import BOX_LABELS, CURRENT_FORM_BOX
from ..pricing.quote import LABELS
from .book import Book, a1, col, formula, put
from ..vocabulary import DIRECT_CATEGORIES, OTHER_CATEGORIES, both, category_words
from .checks import guarded, text_literal
from .fees import FeeCells, calc_rows, fee_parts, fee_quote_lines, rule_base_formula
from . import cases, internal, tax
from .styles import print_setup, protect

FIRST = 4  # first fiscal-year column (D)


@dataclass
class QuoteSheet:
    """Where a quote sheet's lines are: name → total cell, and the rows for sums."""

    approach: str
    ws: Worksheet
    years: list[int]
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # component, slug, ref
    first_row: int = 0
    last_row: int = 0

    @property
    def total_col(self) -> int:
        return FIRST + len(self.years)

    def fy(self, k: int, row: int) -> str:
        return a1(row, FIRST + k)

    def col_range(self, k: int) -> str:
        return f"{a1(self.first_row, FIRST + k)}:{a1(self.last_row, FIRST + k)}"

    @property
    def comp_range(self) -> str:
        return f"{self.ws.title!r}!$C${self.first_row}:$C${self.last_row}".replace('"', "'")

    @property
    def total_range(self) -> str:
        c = col(self.total_col)
        return f"'{self.ws.title}'!${c}${self.first_row}:${c}${self.last_row}"


def slug(text: str) -> str:
    """A name part from text: ASCII letters and digits, ``_`` between, at most 40.

    >>> slug("Part-time staff"), slug("消耗品")
    ('part_time_staff', 'x')
    """
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:40].strip("_") or "x"


def category_slugs(cats: list[str]) -> dict[str, str]:
    """Each category's part of its line's name, unique: a slug met before (``消耗品`` and
    ``備品`` both give ``x``) gets ``_2``, ``_3`` ... in the order of the categories.

    >>> category_slugs(["a b", "a-b", "*", "?"])
    {'a b': 'a_b', 'a-b': 'a_b_2', '*': 'x', '?': 'x_2'}
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for cat in cats:
        base = name = slug(cat)
        n = 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out[cat] = name
    return out


def categories(book: Book) -> list[str]:
    """Direct-cost categories with a line of their own (the project's, in its order)."""
    cats = list(direct_by_year(book.project))
    if book.is_template:
        cats += [c for c in ("consumables", "equipment", "travel", "part_time_staff", "other")
                 if c not in cats]
    return cats


def _sheet(book: Book, title: str, heading: str, years: list[int], approach: str
           ) -> QuoteSheet:
    ws = book.wb.create_sheet(title)
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 12
    ws.column_dimensions["C"].hidden = True
    put(ws, "A1", heading, "xlp_title")
    formula(ws, "A2", '"料金表 / Rate card: "&CardId&" v"&CardVersion&"  "&CardCheck', "xlp_note")
    for j, h in enumerate(("項目 / Line", "内訳 / Detail", "component")):
        put(ws, a1(4, 1 + j), h, "xlp_header")
    for k, fy in enumerate(years):
        if book.is_template:  # the years follow Start and End
            formula(ws, a1(4, FIRST + k), book.cell("FY_Year", k + 1), "xlp_fy")
        else:
            put(ws, a1(4, FIRST + k), fy, "xlp_fy")
        ws.column_dimensions[col(FIRST + k)].width = 15
    put(ws, a1(4, FIRST + len(years)), "合計 / Total", "xlp_header")
    ws.column_dimensions[col(FIRST + len(years))].width = 16
    q = QuoteSheet(approach, ws, years, first_row=5, last_row=4)
    return q


def _line(book: Book, q: QuoteSheet, component: str, detail: str, name: str,
          cells: list[str] | None, total: str | None = None) -> str:
    """Write one line: per-year formulas (or one total formula) and the named total."""
    r = q.last_row + 1
    ja, en = LABELS[component]
    put(q.ws, f"A{r}", f"{ja} / {en}", "xlp_label")
    put(q.ws, f"B{r}", detail, "xlp_text")
    put(q.ws, f"C{r}", component, "xlp_text")
    tcol = q.total_col
    if cells is not None:
        for k, text in enumerate(cells):
            if book.is_template:  # a column beyond the period prices nothing
                text = f'IF({a1(4, FIRST + k, True)}="",0,{text})'
            formula(q.ws, a1(r, FIRST + k), text, "xlp_yen")
        formula(q.ws, a1(r, tcol), f"SUM({a1(r, FIRST)}:{a1(r, tcol - 1)})", "xlp_yen")
    else:
        formula(q.ws, a1(r, tcol), total or "0", "xlp_yen")
    ref = book.define(f"{q.approach}_{name}", q.ws, a1(r, tcol))
    q.lines.append((component, name, ref))
    q.last_row = r
    return a1(r, tcol)


def _total(book: Book, q: QuoteSheet, per_year: bool) -> None:
    r = q.last_row + 1
    put(q.ws, f"A{r}", "合計 / Total", "xlp_total")
    put(q.ws, f"B{r}", None, "xlp_total")
    if per_year:
        for k in range(len(q.years)):
            formula(q.ws, a1(r, FIRST + k), guarded(f"SUM({q.col_range(k)})"), "xlp_total")
    # The sum itself sits in the hidden component column; the total shows it only while
    # every input check passes (else the first check's text).
    formula(q.ws, f"C{r}",
            f"SUM({a1(q.first_row, q.total_col)}:{a1(q.last_row, q.total_col)})", "xlp_yen")
    book.define(f"{q.approach}_Sum", q.ws, f"C{r}")
    formula(q.ws, a1(r, q.total_col), guarded(f"C{r}"), "xlp_total")
    book.define(f"{q.approach}_Total", q.ws, a1(r, q.total_col))
    book.define(f"{q.approach}_Comp", q.ws, f"C{q.first_row}:C{q.last_row}")
    book.define(f"{q.approach}_Tot", q.ws,
                f"{a1(q.first_row, q.total_col)}:{a1(q.last_row, q.total_col)}")
    # The tax a price quoted including it contains (the card says): shown under the total.
    r += 1
    put(q.ws, f"A{r}", "うち消費税 / of which consumption tax", "xlp_label")
    formula(q.ws, a1(r, q.total_col), guarded(tax.tax_included(book.card, f"C{r - 1}")),
            "xlp_yen")
    book.define(f"{q.approach}_TaxIncluded", q.ws, a1(r, q.total_col))
    # Boxes of the current application form, and the pre-tax total.
    r += 2
    put(q.ws, f"A{r}", "申込書の区分 / Application-form boxes", "xlp_header")
    for i, box in enumerate(("direct", "academic", "indirect", "strategic", "tax")):
        comps = [c for c, b in CURRENT_FORM_BOX.items() if b == box]
        rng_c = f"$C${q.first_row}:$C${q.last_row}"
        tc = col(q.total_col)
        rng_t = f"${tc}${q.first_row}:${tc}${q.last_row}"
        put(q.ws, f"A{r + 1 + i}", " / ".join(BOX_LABELS[box]), "xlp_label")
        formula(q.ws, f"B{r + 1 + i}",
                "+".join(f'SUMIF({rng_c},"{c}",{rng_t})' for c in comps), "xlp_yen")
        book.define(f"{q.approach}_Box_{box}", q.ws, f"B{r + 1 + i}")
    print_setup(q.ws, title_rows="4:4", landscape=len(q.years) > 3)
    protect(q.ws)


def _consumption_tax_cells(book: Book, q: QuoteSheet, per_year: bool) -> list[str]:
    # by component, included in the prices before a date ...: workbook/tax.py
    return tax.consumption_tax_cells(book, q, per_year)


# -- the Calc sheet: subtotals by fiscal year and the researchers' prices and hours -------

@dataclass
class Calc:
    ws: Worksheet
    years: list[int]
    direct_row: int = 3
    fabase_row: int = 4
    fabp_row: int = 5
    first_researcher_row: int = 8
    researchers: int = 0
    rules: FeeCells | None = None  # conditional indirect rate, 研究料 (workbook/fees.py)

    def d(self, k: int) -> str:
        return f"Calc!{a1(self.direct_row, 3 + k)}"

    def fabase(self, k: int) -> str:
        return f"Calc!{a1(self.fabase_row, 3 + k)}"

    def fabp(self, k: int) -> str:
        return f"Calc!{a1(self.fabp_row, 3 + k)}"

    def price(self, i: int, k: int) -> str:
        return f"Calc!{a1(self.first_researcher_row + i, 6 + len(self.years) + k)}"

    def q4(self, i: int, k: int) -> str:
        return f"Calc!{a1(self.first_researcher_row + i, 6 + k)}"


def calc_sheet(book: Book, years: list[int]) -> Calc:
    ws = book.wb.create_sheet("Calc")
    ws.sheet_state = "hidden"
    c = Calc(ws, years)
    put(ws, "A1", "計算用 / Working cells (hidden)", "xlp_title")
    put(ws, "A2", "年度 / FY", "xlp_label")
    put(ws, "A3", "直接経費 / Direct", "xlp_label")
    put(ws, "A4", "F&A 基礎の直接経費 / Direct in the F&A base", "xlp_label")
    put(ws, "A5", "F&A bp", "xlp_label")
    for k, fy in enumerate(years):
        cc = 3 + k
        formula(ws, a1(2, cc), book.cell("FY_Year", k + 1), "xlp_fy")
        formula(ws, a1(3, cc), f"SUMIFS(Direct_Amount,Direct_FY,{a1(2, cc)})", "xlp_yen")
        formula(ws, a1(4, cc), f"SUMIFS(Direct_FABase,Direct_FY,{a1(2, cc)})", "xlp_yen")
        bp_ = cases.fa_bp(a1(2, cc))  # (blending by days rewrites it: cases.rate_rows)
        formula(ws, a1(5, cc), f'IF({a1(2, cc)}="",0,{bp_})' if book.is_template else bp_,
                "xlp_int")
    put(ws, "A6", "上昇率 bp / Escalation bp", "xlp_label")
    formula(ws, "C6", 'IF(Escalation="",EscalationBp,ROUND(Escalation*10000,0))', "xlp_int")
    book.define("EscBpUsed", ws, "C6")
    if book.card.model.floor is not None:  # the multiple of the typed IP terms (tax.py)
        tax.floor_bp_cell(book, ws, "Z2")
    r0 = c.first_researcher_row
    heads = ["#", "price", "unit", "Q×10^4", "", *[f"Q4 FY{y}" for y in years],
             *[f"price FY{y}" for y in years]]
    for j, h in enumerate(heads):
        put(ws, a1(r0 - 1, 1 + j), h, "xlp_header")
    n = book.rows["researchers"]
    c.researchers = n
    for i in range(n):
        _researcher_calc(book, c, i)
    c.rules = calc_rows(book, ws, c.first_researcher_row + n + 1, len(years))
    return c


def _researcher_calc(book: Book, c: Calc, i: int) -> None:
    ws, r = c.ws, c.first_researcher_row + i
    n = i + 1

    def x(name: str) -> str:
        return book.cell(name, n)

    # The codes of the typed words (inputs.researcher_codes: "教授 / Professor" is the
    # professor's row).  A row with a rank and no rate source is priced by rank, as the
    # engine's default (Researcher.rate_source = "rank"); without a rank either, its check
    # asks for one.
    rank = x("R_RankCode")
    src = f'IF({x("R_Source")}<>"",{x("R_SourceCode")},IF({x("R_Rank")}<>"","rank",""))'
    salary = f'IF({x("R_Salary")}="",INDEX(Rank_Salary,MATCH({rank},Rank_Names,0)),' \
             f'{x("R_Salary")})'
    if book.native:
        by_rank = f"INDEX(Rank_Hourly,MATCH({rank},Rank_Names,0))"
        by_salary = book.rnd_rate(f"{salary}*100", "ROUND(AnnualHours*100,0)")
        effort_q4 = (f"100*ROUNDDOWN(ROUND(AnnualHours*100,0)*ROUND({x('R_Effort')}*10000,0)"
                     f"*ROUND({x('R_Months')}*100,0)/12000000,0)")
    else:
        by_rank = book.fn("XLP_RATE", rank, "CardRef")
        by_salary = book.fn("XLP_STANDARD_RATE", salary, "AnnualHours", "CardRef")
        effort_q4 = (f"ROUND({book.fn('XLP_EFFORT_HOURS', 'AnnualHours', x('R_Effort'), x('R_Months'))}"
                     f"*10000,0)")
    put(ws, f"A{r}", n, "xlp_int")
    # Achievement, laureate, day-rate and monthly rows (a person's new rows too) are priced
    # from the card's tables on the Rates sheet; a monthly rate the project gave stays as
    # it was built (R_RefPrice).
    ach = f'SUMPRODUCT(EXACT(Ach_Basis,{x("R_BasisCode")}&"")*(Ach_Min=E{r})*Ach_Hourly)'
    # A day rate: the reference's yen a day at its bound (Rates sheet: DR_YenMin/Max, the
    # amount × the exchange rate, rounded), per day when the row gives days, else per hour
    # (÷ hours a day, rounded to the yen: timecharge.resolve_rate).
    dr = f'{x("R_DayRate")}&""'
    per_day = (f'IF({x("R_BoundCode")}="max",SUMPRODUCT(EXACT(DR_Id,{dr})*DR_YenMax),'
               f'SUMPRODUCT(EXACT(DR_Id,{dr})*DR_YenMin))')
    day = (f'IF({x("R_Days")}<>"",{per_day},'
           f'{book.rnd_rate(f"{per_day}*100", "ROUND(HoursPerDay*100,0)")})')
    live = (f'IF({x("R_RefPrice")}<>"",{x("R_RefPrice")},IF({src}="achievement",{ach},'
            f'IF({src}="laureate",N(LaureateHourly),IF({src}="day_rate",{day},'
            f'IF({src}="monthly",INDEX(Rank_Monthly,MATCH({rank},Rank_Names,0)),0)))))')
    formula(ws, f"B{r}", f'IF({src}="",0,IF({src}="rank",{by_rank},IF({src}="salary",'
                         f'{by_salary},IF({src}="consulting",ConsultingRate,'
                         f'IF({src}="negotiated",{x("R_Hourly")},{live})))))', "xlp_yen")
    # The achievement tier of the row: the largest "from" of its basis at or below its
    # count (RateCard.achievement_rate), -1 when none; its hourly rate is the price.
    formula(ws, f"E{r}", f'IF({src}<>"achievement",-1,SUMPRODUCT(MAX(EXACT(Ach_Basis,'
                         f'{x("R_BasisCode")}&"")*(Ach_Min<=N({x("R_Count")}))*(Ach_Min+1)))-1)',
            "xlp_int")
    # The unit the engine counts the line in (timecharge.involvement): days for a day rate
    # given days, months for a monthly rate, else hours.
    formula(ws, f"C{r}", f'IF(AND({src}="day_rate",{x("R_Days")}<>""),"day",'
                         f'IF({src}="monthly","month","hour"))', "xlp_text")
    formula(ws, f"D{r}", f'IF({src}="",0,IF(C{r}="day",ROUND({x("R_Days")}*10000,0),'
                         f'IF(C{r}="month",ROUND({x("R_Months")}*10000,0),'
                         f'IF({x("R_Hours")}<>"",ROUND({x("R_Hours")}*10000,0),'
                         f'IF({x("R_Days")}<>"",ROUND({x("R_Days")}*100,0)*'
                         f'ROUND(HoursPerDay*100,0),IF({x("R_Months")}<>"",{effort_q4},0))))))',
            "xlp_int")
    y = len(c.years)
    for k in range(y):
        q = a1(r, 6 + k)
        if book.is_template:
            # Each year but the last of the period rounded down, the last takes the rest
            # (pricing.fiscal.split_by_months); years beyond the period get nothing.
            fy, m = book.cell("FY_Year", k + 1), book.cell("FY_Months", k + 1)
            share = f"ROUNDDOWN(D{r}*{m}/FY_TotalMonths,0)"
            nxt = f'{book.cell("FY_Year", k + 2)}=""' if k < y - 1 else "TRUE"
            others = "+".join(f'ROUNDDOWN(D{r}*{book.cell("FY_Months", j + 1)}/FY_TotalMonths,0)'
                              for j in range(y) if j != k)
            formula(ws, q, f'IF({fy}="",0,IF({nxt},D{r}-({others}),{share}))', "xlp_int")
        elif y == 1:
            formula(ws, q, f"D{r}", "xlp_int")
        elif k < y - 1:
            formula(ws, q, f"ROUNDDOWN(D{r}*{book.cell('FY_Months', k + 1)}/FY_TotalMonths,0)",
                    "xlp_int")
        else:
            formula(ws, q, f"D{r}-SUM({a1(r, 6)}:{a1(r, 6 + k - 1)})", "xlp_int")
        p = a1(r, 6 + y + k)
        if k == 0:
            formula(ws, p, f"B{r}", "xlp_yen")
        else:
            formula(ws, p, book.rnd_rate(f"{a1(r, 6 + y + k - 1)}*(10000+EscBpUsed)", 10000),
                    "xlp_yen")


# -- approach X -------------------------------------------------------------------------

def _direct_lines(book: Book, q: QuoteSheet, calc: Calc, per_year: bool) -> list[str]:
    """One line per category, then the items of categories added after the build.

    The category is never written into the formula: the line's detail cell holds it and
    ``EXACT`` compares each item's category with that cell — case-sensitive, with no
    wildcards (``*`` ``?`` ``~``) or operators (``<`` ``=``), as the engine compares them.
    ``SUMIFS`` would read the criterion as a pattern.
    """
    refs = []
    cats = categories(book)
    names = category_slugs(cats)
    for cat in cats:
        # A known code is shown in words and matched as its code; a project's own category
        # is shown as typed and matched through its cell (no input text inside a formula).
        same = (f"EXACT(Direct_Category,{text_literal(cat)})" if cat in DIRECT_CATEGORIES
                else f"EXACT(Direct_Category,$B{q.last_row + 1})")
        if per_year:
            cells = [f"SUMPRODUCT({same}*(Direct_FY={a1(4, FIRST + k)}),Direct_Amount)"
                     for k in range(len(q.years))]
            refs.append(_line(book, q, "direct", category_words(cat), f"direct_{names[cat]}",
                              cells))
        else:
            refs.append(_line(book, q, "direct", category_words(cat), f"direct_{names[cat]}",
                              None,
                              f"SUMPRODUCT({same}*1,Direct_Amount)"))
    # Items of categories added on the Project sheet after the build.
    listed = bool(cats)  # with no category lines yet there is nothing to subtract
    if per_year:
        cells = [f"{calc.d(k)}" + (f"-SUM({a1(q.first_row, FIRST + k)}:"
                                   f"{a1(q.last_row, FIRST + k)})" if listed else "")
                 for k in range(len(q.years))]
        refs.append(_line(book, q, "direct", both(OTHER_CATEGORIES), "direct__other", cells))
    else:
        refs.append(_line(book, q, "direct", both(OTHER_CATEGORIES), "direct__other", None,
                          "SUM(Direct_Amount)" + (
                              f"-SUM({a1(q.first_row, q.total_col)}:"
                              f"{a1(q.last_row, q.total_col)})" if listed else "")))
    return refs


def _fee_line(book: Book, q: QuoteSheet, calc: Calc) -> None:
    """The card's 研究料 and unit fees by fiscal year (Calc, workbook/fees.py), one line
    each after the direct costs as the engine's lines are; none for a card without."""
    for comp, detail, name, cells in fee_quote_lines(calc.rules) if calc.rules else []:
        _line(book, q, comp, detail, name, cells)


def _sum_rows(q: QuoteSheet, k: int, rows: tuple[int, int]) -> str:
    return f"SUM({a1(rows[0], FIRST + k)}:{a1(rows[1], FIRST + k)})"


def _strategic_cell(book: Book, rules: FeeCells, k: int, base: str) -> str:
    """Strategic expense of fiscal year k: base × StrategicBp, or × the year's
    conditional (or blended) rate on the Calc sheet (cases.py)."""
    bp_k = rules.rates.strategic_bp(k)
    if bp_k is None:
        return (book.rnd(f"({base})*StrategicBp", 10000) if book.native else
                book.fn("XLP_STRATEGIC", base, "CardRef"))
    return cases.apply_rate(book, f"({base})", bp_k, rules.rates.days_of(k))


def quote_x(book: Book, calc: Calc) -> QuoteSheet:
    years = calc.years
    q = _sheet(book, "Quote X", "方式X インプットの積み上げ / Approach X: input-cost "
                                "accumulation", years, "X")
    _direct_lines(book, q, calc, True)
    _fee_line(book, q, calc)
    ind_bp = "INDEX(Ind_Bp,MATCH(Contract_Code,Ind_Contract,0))"
    rules = calc.rules or FeeCells(len(years))
    cells = []
    for k in range(len(years)):
        # (the card's conditional rate, its base with fees or less categories: fees.py)
        bp_k = rules.rates.indirect_bp(k) or ind_bp
        d = rule_base_formula(book, "indirect", calc.d(k), k, fee_parts(calc.rules, k))
        # (blended by days: Σ bp × days over the year's days, cases.py)
        cells.append(cases.apply_rate(book, d, bp_k, rules.rates.days_of(k), "XLP_INDIRECT"))
    ind_row = q.last_row + 1
    _line(book, q, "indirect", "", "indirect", cells)
    st = book.card.model.strategic
    if st.rate > 0 or st.cases:
        cells = []
        for k in range(len(years)):
            base = rule_base_formula(book, "strategic", calc.d(k), k, {
                "indirect": a1(ind_row, FIRST + k), **fee_parts(calc.rules, k)}, paren=False)
            cells.append(_strategic_cell(book, rules, k, base))
        _line(book, q, "strategic", "", "strategic", cells)
    if tax.has_floor_line(book.card):  # the price floor by IP terms (tax.py)
        _line(book, q, "floor", "", "floor", tax.floor_cells(book, q))
    _line(book, q, "consumption_tax", "", "consumption_tax",
          _consumption_tax_cells(book, q, True))
    _total(book, q, True)
    internal.floor_checks(book, q, q.last_row + 11)   # a floor that warns (internal.py)
    return q


# -- approach A -------------------------------------------------------------------------

_CELL_RANGE = re.compile(r"\$?[A-Z]{1,3}\$?[0-9]+(:\$?[A-Z]{1,3}\$?[0-9]+)?")


def _qualified(q: QuoteSheet, expr: str) -> str:
    """``expr`` of quote sheet ``q`` with its own (unqualified) cell ranges qualified by the
    sheet, for a formula on another sheet (the Internal sheet's F&A base).

    >>> from types import SimpleNamespace as NS
    >>> _qualified(NS(ws=NS(title="Quote A")), "Calc!C3+SUM(D8:D9)+Start")
    "Calc!C3+SUM('Quote A'!D8:D9)+Start"
    """
    from openpyxl.formula import Tokenizer  # (public API)

    sheet = "'" + q.ws.title.replace("'", "''") + "'!"
    tok = Tokenizer("=" + expr)
    for t in tok.items:
        if t.type == "OPERAND" and t.subtype == "RANGE" and _CELL_RANGE.fullmatch(t.value):
            t.value = sheet + t.value
    return tok.render()[1:]


def quote_a(book: Book, calc: Calc) -> QuoteSheet:
    years = calc.years
    y = len(years)
    q = _sheet(book, "Quote A", "方式A 欧米型の積み上げ / Approach A: Western-standard stacking",
               years, "A")
    _direct_lines(book, q, calc, True)
    _fee_line(book, q, calc)
    tc_first = q.last_row + 1
    for i in range(calc.researchers):
        cells = []
        for k in range(y):
            p, q4 = calc.price(i, k), calc.q4(i, k)
            cells.append(book.rnd(f"{p}*{q4}", 10000) if book.native else
                         book.fn("XLP_TIMECHARGE", p, f"{q4}/10000", "CardRef"))
        name = f"time_charge_{i + 1}"
        _line(book, q, "time_charge", "", name, cells)
        # Who, and how much in the unit the line is counted in (h, 日/day or 月/month).
        row = calc.first_researcher_row + i
        qty = f"Calc!$D${row}"
        formula(q.ws, f"B{q.last_row}",
                f'{book.cell("R_Name", i + 1)}&IF({qty}=0,"","  "&ROUND({qty}/10000,2)&'
                f'IF(Calc!$C${row}="day"," 日/day",IF(Calc!$C${row}="month"," 月/month",'
                f'" h")))', "xlp_text")
    tc_rows = (tc_first, q.last_row)
    rules = calc.rules or FeeCells(y)
    base_kind = book.card.model.fa.base
    fa_row = q.last_row + 1
    cells, bases = [], []
    for k in range(y):
        tc = _sum_rows(q, k, tc_rows)
        base = {"direct": calc.d(k), "direct_plus_tc": f"{calc.d(k)}+{tc}",
                "mtdc": calc.fabase(k)}[base_kind]
        base += tax.fa_base_tax(book, {"direct": calc.fabase(k) if base_kind == "mtdc"
                                       else calc.d(k),
                                       **({"time_charge": tc} if base_kind == "direct_plus_tc"
                                          else {})})
        bases.append(base)
        days = rules.rates.days_of(k)  # blended by days: Σ bp × days in Calc row 5
        if days is not None:
            cells.append(cases.apply_rate(book, f"({base})", calc.fabp(k), days))
            continue
        cells.append(book.rnd(f"({base})*{calc.fabp(k)}", 10000) if book.native else
                     book.fn("XLP_FA", base, "Activity_Code", "Location_Code", "Field", "CardRef",
                             "Start" if book.card.model.rate_change.method == "at_award"
                             else book.cell("FY_RateDate", k + 1)))
    if internal.has_sponsor_inputs(book.card, book.project):
        # A sponsor cap: the line is the applied F&A; the institute F&A and the
        # under-recovery go to the Internal sheet only (internal.py).
        cells = internal.fa_cells(book, calc, [_qualified(q, c) for c in bases],
                                  [_qualified(q, c) for c in cells])
    _line(book, q, "fa", "", "fa", cells)
    st = book.card.model.strategic
    if st.rate > 0 or st.cases:
        cells = []
        for k in range(y):
            tc = _sum_rows(q, k, tc_rows)
            fa = a1(fa_row, FIRST + k)
            base = rule_base_formula(book, "strategic", calc.d(k), k, {
                "time_charge": tc, "indirect": fa, **fee_parts(calc.rules, k)}, paren=False)
            cells.append(_strategic_cell(book, rules, k, base))
        _line(book, q, "strategic", "", "strategic", cells)
    for j in range(book.rows["options"]):
        n = j + 1
        # the option's id (its code cell: the drop-down shows "データ提供 / Data provision")
        name, over = book.cell("Opt_ChoiceCode", n), book.cell("Opt_Override", n)

        def opt(field_: str) -> str:
            return f"INDEX({field_},MATCH({name},Opt_Id,0))"

        cells = []
        for k in range(y):
            tc = _sum_rows(q, k, tc_rows)
            base = f'({calc.d(k)}+IF({opt("Opt_Base")}="direct_plus_tc",{tc},0))'
            rated = (book.rnd(f"{base}*{opt('Opt_Bp')}", 10000) if book.native else
                     book.fn("XLP_APPLY_RATE", base, f"{opt('Opt_Bp')}/10000", "CardRef"))
            fixed = f'IF({over}<>"",{over},{opt("Opt_Amount")})' if k == 0 else "0"
            cells.append(f'IF({name}="",0,IF(OR({over}<>"",{opt("Opt_Method")}="fixed"),'
                         f'{fixed},{rated}))')
        _line(book, q, "option", "", f"option_{n}", cells)
        formula(q.ws, f"B{q.last_row}",
                f'IF({name}="","",IFERROR({opt("Opt_Entry")},{name}))', "xlp_text")
    # Company-contribution discount, in the first fiscal year, capped at a share of the
    # price before it (all in 1/10000 yen so the comparison and the rounding are exact).
    sub = f"SUM({a1(q.first_row, q.total_col)}:{a1(q.last_row, q.total_col)})"
    credit4 = ('ROUND(N(Contrib_Hours)*100,0)*ContribHourValue*100'
               '+N(Contrib_Equipment)*ContribEquipBp')
    disc = (f'IF(AND(Contrib_Hours="",Contrib_Equipment=""),0,'
            f'-{book.rnd(f"MIN({credit4},{sub}*ContribMaxBp)", 10000)})')
    _line(book, q, "discount", "", "discount", [disc] + ["0"] * (y - 1))
    if tax.has_floor_line(book.card):  # the price floor by IP terms (tax.py)
        _line(book, q, "floor", "", "floor", tax.floor_cells(book, q))
    _line(book, q, "consumption_tax", "", "consumption_tax",
          _consumption_tax_cells(book, q, True))
    _total(book, q, True)
    internal.floor_checks(book, q, q.last_row + 11)   # a floor that warns (internal.py)
    return q


# -- approach B -------------------------------------------------------------------------

def quote_b(book: Book, calc: Calc, x: QuoteSheet, a: QuoteSheet) -> QuoteSheet:
    q = _sheet(book, "Quote B", "方式B 総額の合意 / Approach B: total amount agreed", [], "B")
    _direct_lines(book, q, calc, False)
    direct_end = q.last_row
    d = f"SUM({a1(q.first_row, q.total_col)}:{a1(direct_end, q.total_col)})"
    plain = f'IF(OR(B_Agreed="",B_BookAs<>""),0,{"B_Agreed-" + d if book.native else book.fn("XLP_TOTAL_INDIRECT", "B_Agreed", d)})'
    _line(book, q, "indirect", "総額−直接経費 / agreed total − direct", "indirect", None, plain)
    for src, sheet in (("A", a), ("X", x)):
        for comp, name, _ref in sheet.lines:
            if comp in ("direct", "consumption_tax") or (src, comp) == ("X", "floor"):
                continue  # (booked as X: X's cost lines; its floor only warns, as in C)
            _line(book, q, comp, f"booked as {src}", f"{src.lower()}_{name}", None,
                  f'IF(B_BookAs="{src}",{src}_{name},0)')
    build = f"SUM({a1(q.first_row, q.total_col)}:{a1(q.last_row, q.total_col)})"
    _line(book, q, "value_added", "総額−積算 / agreed total − build-up", "value_added", None,
          f'IF(OR(B_Agreed="",B_BookAs=""),0,B_Agreed-{build})')
    ct = tax.b_consumption_tax(book, _consumption_tax_cells(book, q, False)[0],
                               [calc.d(k) for k in range(len(calc.years))])
    _line(book, q, "consumption_tax", "", "consumption_tax", None,
          f'IF(B_Agreed="",0,{ct})')
    _total(book, q, False)
    ws, r = q.ws, q.last_row + 10
    tax.floor_warning(book, q, r + 8)   # below B_Check (a card with a floor only)
    internal.floor_share_bc(book, q, r + 9)   # floor.warn_below (internal.py)
    rows = [("合意総額 / Agreed total", "B_AgreedShown", "N(B_Agreed)", "xlp_yen"),
            ("直接経費 / Direct", "B_Direct", d, "xlp_yen"),
            ("積算（消費税前）/ Build-up before tax", "B_Build", build, "xlp_yen"),
            ("間接経費比率 / Implied indirect ratio", "B_Ratio",
             f'IF(OR(B_Agreed="",{d}=0),"",' + (f"(B_Agreed-{d})/{d}" if book.native else
                                               book.fn("XLP_TOTAL_RATIO", "B_Agreed", d))
             + ")", "xlp_pct"),
            ("配分済み / Allocated", "B_Allocated", "SUM(Pkg_Amount)", "xlp_yen"),
            ("残額 / Remaining", "B_Remaining", "N(B_Agreed)-SUM(Pkg_Amount)", "xlp_yen"),
            ("確認 / Check", "B_Check",
             f'IF(Check_B_Agreed<>"",Check_B_Agreed,IF(B_Agreed="","no agreed total / 総額未入力",IF(B_Agreed<IF(B_BookAs="",{d},'
             f'{build}),"agreed total below the costs / 総額が積算を下回る",'
             f'IF(SUM(Pkg_Amount)>B_Agreed,"allocations exceed the total / 配分超過","ok"))))',
             "xlp_warn")]
    for i, (label, name, text, style) in enumerate(rows):
        put(ws, f"A{r + i}", label, "xlp_label")
        formula(ws, f"B{r + i}", text, style)
        book.define(name, ws, f"B{r + i}")
    return q


# -- approach C -------------------------------------------------------------------------

def quote_c(book: Book, calc: Calc, x: QuoteSheet) -> QuoteSheet:
    q = _sheet(book, "Quote C", "方式C 成果連動 / Approach C: outcome-linked", [], "C")
    _line(book, q, "floor", "合意した最低価格 / agreed floor", "floor", None, "N(C_AgreedFloor)")
    for comp, name, _ref in x.lines:
        if comp in ("consumption_tax", "floor"):  # (X's floor: only a warning in C)
            continue
        _line(book, q, comp, "floor (approach X)", f"x_{name}", None,
              f'IF(C_AgreedFloor="",X_{name},0)')
    _line(book, q, "lump_sum", "", "lump_sum", None, "N(C_LumpSum)")
    for prefix, comp, kind in (("MS", "milestone", "milestones"), ("KPI", "kpi", "kpis")):
        for i in range(book.rows[kind]):
            n = i + 1
            _line(book, q, comp, "", f"{comp}_{n}", None,
                  f'IF({book.cell(prefix + "_Achieved", n)}=TRUE,'
                  f'N({book.cell(prefix + "_Amount", n)}),0)')
            formula(q.ws, f"B{q.last_row}", f'{book.cell(prefix + "_Name", n)}&""', "xlp_text")
    # Royalty by scenario, then the expected value.
    ws, r0 = q.ws, q.last_row + 14
    put(ws, f"A{r0 - 1}", "シナリオ / Scenario", "xlp_header")
    put(ws, f"B{r0 - 1}", "売上 / Sales", "xlp_header")
    put(ws, f"C{r0 - 1}", "ロイヤリティ / Royalty", "xlp_header")
    put(ws, f"D{r0 - 1}", "重み bp / Weight bp", "xlp_header")
    contrib = 'ROUND(IF(C_Contribution="",1,C_Contribution)*10000,0)'
    rate = "ROUND(N(C_RoyaltyRate)*10000,0)"
    for i, (s, rng, wname, card_w) in enumerate((
            ("low", "Sales_Low", "C_WeightLow", "WeightLowBp"),
            ("base", "Sales_Base", "C_WeightBase", "WeightBaseBp"),
            ("high", "Sales_High", "C_WeightHigh", "WeightHighBp"))):
        r = r0 + i
        put(ws, f"A{r}", s, "xlp_label")
        formula(ws, f"B{r}", f"SUM({rng})", "xlp_yen")
        if book.native:
            attributable = book.rnd(f"B{r}*{contrib}", 10000, unit=1)
            formula(ws, f"C{r}", book.rnd(f"{attributable}*{rate}", 10000), "xlp_yen")
        else:
            formula(ws, f"C{r}", 'IF(N(C_RoyaltyRate)=0,0,' + book.fn(
                "XLP_ROYALTY", rng, "C_RoyaltyRate",
                'IF(C_Contribution="",1,C_Contribution)', "CardRef") + ")", "xlp_yen")
        formula(ws, f"D{r}", f'IF({wname}="",{card_w},ROUND({wname}*10000,0))', "xlp_int")
        book.define(f"C_Royalty_{s}", ws, f"C{r}")
    expected = book.rnd(f"D{r0}*C{r0}+D{r0 + 1}*C{r0 + 1}+D{r0 + 2}*C{r0 + 2}", 10000)
    _line(book, q, "royalty", "期待値 / expected value", "royalty", None,
          f'IF(OR(N(C_RoyaltyRate)=0,COUNT(Sales_Base)=0),0,{expected})')
    ct = _consumption_tax_cells(book, q, False)[0]
    _line(book, q, "consumption_tax", "", "consumption_tax", None, ct)
    _total(book, q, False)
    tax.floor_warning(book, q, q.last_row + 17)   # below the scenarios (a card with a floor)
    internal.floor_share_bc(book, q, q.last_row + 18)   # floor.warn_below (internal.py)
    return q
