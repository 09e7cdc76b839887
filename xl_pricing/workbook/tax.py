"""Native formulas for the card rules around consumption tax, conditional consulting rates
and price floors by IP terms (issue 16 item 2: the standard workbooks price them as the
engine does, in every target).

Each builder returns an Excel formula (or writes a few cells) mirroring one engine rule:

* consumption tax by component, included in the prices (always or before a date) —
  :func:`xl_pricing.pricing.tax.consumption_tax_line`, ``pricing.cost.taxed``;
* the consumption tax in the F&A base (``fa.base_includes = ["consumption_tax"]``) —
  ``pricing.stacked.fa_bases`` / ``pricing.cost.tax_on_parts``;
* the academic-consulting rate chosen by the project's start (and contract, location,
  direct costs, kind) among ``time_charge.consulting_cases`` — ``RateCard.for_project`` /
  ``rates.card.pick``;
* the price floor by IP terms (``floor``) of approaches X and A —
  ``pricing.stacked.floor_line``, the ``IPTerms`` input and its check.

Rates enter as basis points and money as whole yen, so each rounding is one integer
division (``Book.rnd``), exact as the engine's Decimal rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.worksheet.worksheet import Worksheet

from ..rates import RateCard
from ..vocabulary import IP_TERMS, Words, both
from .book import Book, a1, bp, col, date_literal, formula, list_validation, put
from .cases import first_case
from .checks import put_check, rule, text_literal

if TYPE_CHECKING:  # (quotes imports this module)
    from .quotes import QuoteSheet

# -- which card rules these formulas price ----------------------------------------------------

def priced_rules(card: RateCard) -> set[str]:
    """The keys of ``RateCard.rules_in_use`` (and ``floor`` of ``costing_features``) the
    formulas of this module price for ``card``.

    Every consulting case is priced (its condition on direct costs, months, kind,
    contract, location or the start: ``cases.first_case``).  A card taxing direct costs
    but not the indirect cost taxes an unbooked B total per fiscal year of the direct
    costs, as the engine does (``b_consumption_tax``).

    >>> from xl_pricing import load_card
    >>> sorted(priced_rules(load_card("yamaguchi")))
    ['consumption_tax.components', 'consumption_tax.included_before', 'consumption_tax.prices_include_tax', 'fa.base_includes', 'floor']
    """
    m = card.model
    out = {"consumption_tax.prices_include_tax", "consumption_tax.included_before",
           "consumption_tax.components", "floor"}
    if m.fa.base_includes == ["consumption_tax"]:
        out.add("fa.base_includes")
    out |= {f"time_charge.consulting_cases[{i}]"
            for i in range(len(m.time_charge.consulting_cases))}
    return out


# -- consumption tax ----------------------------------------------------------------------------

def tax_applies(card: RateCard) -> str:
    """TRUE when consumption tax is added to the price (``pricing.cost.taxed``): the
    contract carries tax (``CT_Applies``, 0 when the rate is 0) and the card's prices do
    not include it — ``prices_include_tax``, or a ``Start`` before ``included_before``.

    >>> from xl_pricing import load_card
    >>> tax_applies(load_card("otaru"))
    'AND(INDEX(CT_Applies,MATCH(Contract_Code,Ind_Contract,0))=1,Start>=DATE(2025,10,1))'
    """
    ct = card.model.consumption_tax
    if ct.prices_include_tax:
        return "FALSE"
    if ct.included_before is not None:
        return f"AND({CONTRACT_TAXED},Start>={date_literal(ct.included_before)})"
    return CONTRACT_TAXED


# The contract typed carries consumption tax (CT_Applies: 0 when the card's rate is 0).
CONTRACT_TAXED = "INDEX(CT_Applies,MATCH(Contract_Code,Ind_Contract,0))=1"


def tax_included(card: RateCard, price: str) -> str:
    """The consumption tax a price quoted including it contains (``pricing.tax.tax_included``):
    price × rate ÷ (1 + rate), rounded down, while the contract carries tax and the card's
    prices include it (``prices_include_tax``, or a ``Start`` before ``included_before``);
    else 0.  Basis points keep the product whole: 15,287,828 × 1,000 ÷ 11,000 → 1,389,802.

    >>> from xl_pricing import load_card
    >>> tax_included(load_card("otaru"), "C9")
    'IF(AND(INDEX(CT_Applies,MATCH(Contract_Code,Ind_Contract,0))=1,Start<DATE(2025,10,1)),ROUNDDOWN(C9*CTBp/(10000+CTBp),0),0)'
    """
    ct = card.model.consumption_tax
    if not ct.prices_include_tax and ct.included_before is None:
        return "0"
    when = CONTRACT_TAXED if ct.prices_include_tax else \
        f"AND({CONTRACT_TAXED},Start<{date_literal(ct.included_before)})"
    return f"IF({when},ROUNDDOWN({price}*CTBp/(10000+CTBp),0),0)"


def taxed_base(card: RateCard, comps: str, amounts: str) -> str:
    """The amount tax is charged on: the lines of ``amounts`` whose component (in the same
    rows of ``comps``) the card taxes (``consumption_tax.components``; all when it lists
    none).  Example: ``SUMIF($C$5:$C$9,"time_charge",D5:D9)``."""
    wanted = card.model.consumption_tax.components
    if not wanted:
        return f"SUM({amounts})"
    return "+".join(f"SUMIF({comps},{text_literal(c)},{amounts})" for c in wanted)


def _tax_of(book: Book, base: str) -> str:
    """The tax on ``base`` (whole yen): rate × base rounded by the card's rule."""
    factor = f"({base})" if "+" in base else base   # (one SUM: as the workbooks had it)
    return (book.rnd(f"{factor}*CTBp", 10000) if book.native else
            book.fn("XLP_APPLY_RATE", base, "CTBp/10000", "CardRef"))


def consumption_tax_cells(book: Book, q: "QuoteSheet", per_year: bool) -> list[str]:
    """The consumption-tax line of a quote sheet: one formula per fiscal year (X, A) or
    one on the totals (B, C), over the lines above it — each year's taxed lines × rate
    rounded once, as ``consumption_tax_line`` rounds per year when every line has years.

    Example (Yamaguchi, tax on the time charge only): time charge 100,000 + direct 50,000
    → 10% × 100,000 = 10,000.
    """
    applies = tax_applies(book.card)
    comps = f"$C${q.first_row}:$C${q.last_row}"
    out = []
    for k in (range(len(q.years)) if per_year else [None]):
        amounts = (q.col_range(k) if k is not None else
                   f"{a1(q.first_row, q.total_col)}:{a1(q.last_row, q.total_col)}")
        out.append(f"IF({applies},{_tax_of(book, taxed_base(book.card, comps, amounts))},0)")
    return out


def b_consumption_tax(book: Book, on_total: str, years: list[str]) -> str:
    """Approach B's tax: on the totals (``on_total``) — except for a card that taxes direct
    costs but not the indirect cost, whose plain (not booked) agreed total keeps the direct
    lines' fiscal years: the tax is then each year's direct costs (``years``: the Calc
    cells) × rate, rounded per year, as the engine rounds lines that all have years."""
    wanted = book.card.model.consumption_tax.components
    if not wanted or "direct" not in wanted or "indirect" in wanted:
        return on_total
    per_year = "+".join(_tax_of(book, d) for d in years)
    return f'IF(B_BookAs="",IF({tax_applies(book.card)},{per_year},0),{on_total})'


def fa_base_tax(book: Book, parts: dict[str, str]) -> str:
    """The consumption tax a card adds to the F&A base (``fa.base_includes =
    ["consumption_tax"]``): rate × the base's parts the card taxes, rounded by its rule,
    0 when the project carries no tax (``pricing.cost.tax_on_parts``); "" when the card
    adds none.  ``parts``: component (``direct``, ``time_charge``) → the year's amount.

    Example (Yamaguchi: 20% of fee + tax on the fee + expenses): direct 50,000 + 指導料
    100,000 → base 150,000 + 10,000.
    """
    if "consumption_tax" not in book.card.model.fa.base_includes:
        return ""
    wanted = book.card.model.consumption_tax.components
    chosen = [v for c, v in parts.items() if not wanted or c in wanted]
    if not chosen:
        return ""
    return f"+IF({tax_applies(book.card)},{_tax_of(book, '+'.join(chosen))},0)"


# -- the consulting rate ------------------------------------------------------------------------

def consulting_rate(card: RateCard, live: bool = True) -> str | int:
    """The academic-consulting rate (yen/h) a researcher priced by ``consulting`` gets: the
    first of ``time_charge.consulting_cases`` whose condition holds at ``Start``, else
    ``consulting_rate`` (``RateCard.for_project``).  An integer when the card has no cases
    (or ``live`` is false: a workbook without the inputs).

    >>> from xl_pricing import load_card
    >>> consulting_rate(load_card("otaru"))
    'IF(AND(Start>=DATE(2025,10,1)),20000,10000)'
    """
    tc = card.model.time_charge
    out: str | int = int(tc.consulting_rate)
    if not live or not tc.consulting_cases:
        return out
    # the first case holding at Start (direct costs, kind … too: cases.first_case)
    return first_case(tc.consulting_cases, out, "Start", bool(card.model.kinds),
                      value=lambda c: str(int(c.rate)))


def consulting_rate_row(book: Book, ws: Worksheet, row: int) -> int:
    """The Rates sheet's ``ConsultingRate`` (yen/h) — a formula on Start when the card has
    conditional cases — and a note naming them; returns the next row."""
    put(ws, f"A{row}", "学術指導単価 / Consulting rate (yen/h)", "xlp_label")
    value = consulting_rate(book.card, live="Start" in book.names)
    if isinstance(value, str):
        formula(ws, f"B{row}", value, "xlp_yen")
        put(ws, f"C{row}", "開始日で選ぶ / chosen by Start (time_charge.consulting_cases)",
            "xlp_note")
    else:
        put(ws, f"B{row}", value, "xlp_yen")
    book.define("ConsultingRate", ws, f"B{row}")
    return row + 1


# -- price floors by IP terms ---------------------------------------------------------------------

def ip_terms_table(card: RateCard) -> dict[str, Words]:
    """The IP terms the card's floor has a multiple for, with their words (``vocabulary``)."""
    fl = card.model.floor
    return {t: IP_TERMS[t] for t in (fl.multiples if fl is not None else {})}


def ip_terms_row(book: Book, ws: Worksheet, row: int) -> int:
    """The Project sheet's ``IPTerms`` drop-down (「大学が知財を保有（オプション権のみ） /
    university keeps the IP (option)」 …; blank: the card's ``floor.default_terms``), its
    code in the hidden column S (``IPTerms_Code``) and its check (``Check_IPTerms``, the
    engine's ``project.ip_terms``).  Written for a card with a floor only; returns the next
    row."""
    from .inputs import code_formula

    card = book.card
    table = ip_terms_table(card)
    dflt = card.model.floor.default_terms if card.model.floor is not None else None
    shown = f"（空欄 = {dflt}）/ (blank = {dflt})" if dflt else "（空欄 = なし）/ (blank = none)"
    put(ws, f"A{row}", f"知財の条件 / IP terms (price floor) {shown}", "xlp_label")
    terms = book.project.project.ip_terms
    put(ws, f"B{row}", both(IP_TERMS[terms]) if terms in IP_TERMS else terms, "xlp_input")
    book.define("IPTerms", ws, f"B{row}")
    have = ", ".join(table) or "none"
    put_check(book, ws, f"C{row}", "IPTerms", [rule(
        'AND(TRIM(IPTerms)<>"",IPTerms_Code="")', "project.ip_terms",
        f"IP terms with a price floor in card {card.id!r} ({have})")])
    list_validation(ws, f"B{row}", [both(w) for w in table.values()])
    formula(ws, f"S{row}", code_formula("IPTerms", table), "xlp_text")
    book.define("IPTerms_Code", ws, f"S{row}")
    return row + 1


def floor_terms(card: RateCard) -> str:
    """Excel: the IP terms the floor is judged on (the typed ones, blank: the card's
    default terms)."""
    fl = card.model.floor
    assert fl is not None
    return f'IF(IPTerms_Code="","{fl.default_terms or ""}",IPTerms_Code)'


def full_cost(book: Book, comps: str, totals: str) -> str:
    """Excel: the full cost the floor is measured on — Σ the quote's totals (``totals``)
    of the card's ``floor.full_cost`` components (``comps``: the hidden component column)."""
    fl = book.card.model.floor
    assert fl is not None
    return "(" + "+".join(f"SUMIF({comps},{text_literal(c)},{totals})"
                          for c in fl.full_cost) + ")"


def floor_minimum(book: Book, cost: str) -> str:
    """Excel: the minimum price = ``cost`` × ``FloorBp``, rounded UP to the card's unit
    (``pricing.stacked.minimum_price``)."""
    unit = book.card.model.rounding.unit
    return f"ROUNDUP({cost}*FloorBp/{10000 * unit},0)*{unit}"


def floor_text(book: Book, price: str, cost: str, minimum: str) -> str:
    """Excel: the engine's price-floor warning, word for word (最低価格を下回っています /
    below the price floor: … yen < … yen (card: floor.multiples.TERMS = …% of full cost …))."""
    what = (f'" ({book.card.id}: floor.multiples."&{floor_terms(book.card)}&" = "&FloorBp/100'
            f'&"% of full cost "&TEXT({cost},"#,##0")&")"')
    return (f'"最低価格を下回っています / below the price floor: "&TEXT({price},"#,##0")&" yen < "'
            f'&TEXT({minimum},"#,##0")&" yen"&{what}')


# Why B's and C's prices are never lifted (``pricing.stacked.floor_by_approach``).
NOT_LIFTED = {"B": "合意総額は変更しません / approach B: the agreed total is not lifted",
              "C": "成果連動の価格は変更しません / approach C: the outcome-linked price is not "
                   "lifted"}


def floor_bp(card: RateCard) -> str:
    """The floor multiple in basis points for the typed IP terms (blank: the card's
    default terms; 0: no floor).

    >>> from xl_pricing import load_card
    >>> floor_bp(load_card("cambridge"))
    'IF(IF(IPTerms_Code="","keeps_ip",IPTerms_Code)="keeps_ip",10000,IF(IF(IPTerms_Code="","keeps_ip",IPTerms_Code)="non_exclusive",12000,IF(IF(IPTerms_Code="","keeps_ip",IPTerms_Code)="exclusive",14000,0)))'
    """
    fl = card.model.floor
    assert fl is not None
    terms = floor_terms(card)
    out = "0"
    for t, multiple in reversed(list(fl.multiples.items())):
        out = f'IF({terms}="{t}",{bp(multiple)},{out})'
    return out


def has_floor_line(card: RateCard) -> bool:
    """Whether approaches X and A get a floor line (``floor.action = "lift"``; ``"warn"``
    only warns)."""
    return card.model.floor is not None and card.model.floor.action == "lift"


def floor_cells(book: Book, q: "QuoteSheet") -> list[str]:
    """The floor line of quote X or A (``pricing.stacked.floor_line``), in its first fiscal
    year: minimum − price when the price (the lines above, after discounts) is below the
    minimum = full cost (the card's ``floor.full_cost`` components) × the multiple of the
    IP terms, rounded UP to the card's unit; else 0.

    Example (Cambridge, exclusive ×1.40, approach X): direct 1,000,000 + indirect 300,000
    → full cost 1,300,000, minimum 1,820,000: a floor line of 520,000.
    """
    tc = col(q.total_col)
    totals = f"${tc}${q.first_row}:${tc}${q.last_row}"
    cost = full_cost(book, f"$C${q.first_row}:$C${q.last_row}", totals)
    price = f"SUM({totals})"
    minimum = floor_minimum(book, cost)
    first = f"IF(AND(FloorBp>0,{cost}>0,{price}<{minimum}),{minimum}-{price},0)"
    return [first] + ["0"] * (len(q.years) - 1)


def floor_bp_cell(book: Book, ws: Worksheet, ref: str) -> None:
    """``FloorBp``: the multiple of the typed IP terms in basis points (:func:`floor_bp`),
    on the hidden Calc sheet at ``ref`` (label beside it on the left)."""
    row, column = int(ref[1:]), ord(ref[0]) - ord("A") + 1
    put(ws, a1(row, column - 1), "最低価格の倍率 bp / Floor multiple bp", "xlp_label")
    formula(ws, ref, floor_bp(book.card), "xlp_int")
    book.define("FloorBp", ws, ref)


def floor_warning(book: Book, q: "QuoteSheet", row: int) -> None:
    """Approach B's or C's price-floor warning (``pricing.stacked.floor_by_approach``: the
    price is never lifted) at ``row`` of its sheet, named ``<B|C>_FloorCheck``: the
    engine's warning, word for word, when the price before tax is below the minimum of the approach-X full
    cost, else "".  (B booked as A has A's floor line instead.)

    Example (Cambridge, exclusive ×1.40): agreed 1,500,000 booked as X on direct
    1,000,000 + indirect 300,000 → "最低価格を下回っています / below the price floor:
    1,500,000 yen < 1,820,000 yen …".
    """
    fl = book.card.model.floor
    if fl is None:
        return
    ap = q.approach
    cost = full_cost(book, "X_Comp", "X_Tot")
    minimum = floor_minimum(book, cost)
    price = f"({ap}_Sum-{ap}_consumption_tax)"
    text = f'{floor_text(book, price, cost, minimum)}&" — {NOT_LIFTED[ap]}"'
    conditions = ["Input_OK", "FloorBp>0", f"{cost}>0", f"{price}<{minimum}"]
    if ap == "B":
        conditions = ['B_Agreed<>""', 'B_BookAs<>"A"'] + conditions
    when = f"AND({','.join(conditions)})"
    put(q.ws, f"A{row}", "最低価格 / Price floor", "xlp_label")
    formula(q.ws, f"B{row}", f'IF({when},{text},"")', "xlp_warn")
    book.define(f"{ap}_FloorCheck", q.ws, f"B{row}")
