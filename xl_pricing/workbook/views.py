"""Sheets that present a quote: Compare (with a bar chart), the current and the new
application form, the split of proceeds (with a chart) and the industrial view."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from ..pricing.forms import BOX_LABELS
from ..pricing.industrial import LOADED
from ..pricing.quote import LABELS
from ..vocabulary import APPROACHES, CONTRACTS, PARTIES as PARTY_WORDS, both
from ..rates import PARTIES, Multiple, Tier
from .book import Book, a1, bp, col, formula, put
from . import internal
from .checks import guarded
from .inputs import COMPONENTS
from .quotes import QuoteSheet
from .styles import YEN, print_setup, protect


def chosen(expr: str) -> str:
    """``expr`` (with ``{ap}`` for the approach letter) for the approach chosen on the
    Project sheet."""
    return (f'IF(Approach_Code="X",{expr.format(ap="X")},IF(Approach_Code="A",{expr.format(ap="A")},'
            f'IF(Approach_Code="B",{expr.format(ap="B")},IF(Approach_Code="C",{expr.format(ap="C")},'
            f'Input_Check))))')


def contract_words(book: Book, kind: str) -> str:
    """The form's title for the contract typed on the Project sheet (共同研究申込書 /
    受託研究申込書 / 学術指導申込書), Japanese and English."""
    out = None
    for code, (ja, en) in reversed(list(CONTRACTS.items())):
        text = f'"{ja}申込書（{kind[0]}）/ Application for {en} ({kind[1]})"'
        out = text if out is None else f'IF(EXACT(Contract_Code,"{code}"),{text},{out})'
    return out or '""'


def _sheet(book: Book, title: str, heading: str) -> Worksheet:
    ws = book.wb.create_sheet(title)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 18
    put(ws, "A1", heading, "xlp_title")
    formula(ws, "A2", '"案件 / Project: "&ProjectId&"  "&Title', "xlp_note")
    formula(ws, "A3", '"料金表 / Rate card: "&CardId&" v"&CardVersion&"  sha256 "&CardSha256',
            "xlp_note")
    return ws


NOT_APPLICABLE = "適用なし / does not apply: "
C_TERMS = ('OR(C_AgreedFloor<>"",C_RoyaltyRate<>"",C_LumpSum<>"",COUNTA(Sales_FY)>0,'
           'COUNTA(MS_Name)>0,COUNTA(KPI_Name)>0)')


def applies(ap: str) -> str:
    """The reason approach ``ap`` does not apply to the inputs ("" when it does), as
    ``pricing.compare.applicable`` and ``compare`` decide: B needs an agreed total (not
    below the costs), C outcome terms."""
    if ap == "B":
        # (the engine's words: pricing.total.total_lines's InputError message)
        said = (f'"{NOT_APPLICABLE}total.agreed = "&B_Agreed&": expected an agreed total >= '
                f'"&IF(B_BookAs="","direct costs ("&TEXT(B_Direct,"#,##0")&" yen)",'
                f'"the approach-"&B_BookAs&" build-up ("&TEXT(B_Build,"#,##0")&" yen) it is '
                f'booked with")')
        return (f'IF(B_Agreed="","{NOT_APPLICABLE}no agreed total ([total] table)",'
                f'IF(B_Agreed<IF(B_BookAs="",B_Direct,B_Build),{said},""))')
    if ap == "A":
        return (f'IF(ISERROR(A_Sum),"{NOT_APPLICABLE}activity/location: no F&A rate in force '
                f'for the activity, location and period","")')
    if ap == "C":
        return f'IF({C_TERMS},"","{NOT_APPLICABLE}no outcome terms ([outcome])")'
    return '""'


def compare_sheet(book: Book) -> Worksheet:
    ws = _sheet(book, "Compare", "方式の比較 / Approaches side by side")
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 30
    put(ws, "A5", "方式 / Approach", "xlp_header")
    put(ws, "B5", "合計 / Total", "xlp_header")
    for i, ap in enumerate("XABC"):
        r = 6 + i
        put(ws, f"A{r}", both(APPROACHES[ap]), "xlp_label")
        why = applies(ap)
        value = f"{ap}_Total" if why == '""' else f'IF({why}<>"",{why},{ap}_Total)'
        formula(ws, f"B{r}", guarded(value), "xlp_yen")
        book.define(f"Compare_{ap}", ws, f"B{r}")
    put(ws, "A10", "選んだ方式の合計 / Total of the chosen approach", "xlp_total")
    formula(ws, "B10", guarded(chosen("{ap}_Sum")), "xlp_total")
    book.define("Total", ws, "B10")
    put(ws, "A11", "うち消費税 / of which consumption tax", "xlp_label")
    formula(ws, "B11", guarded(chosen("{ap}_TaxIncluded")), "xlp_yen")
    book.define("TaxIncluded", ws, "B11")
    chart = BarChart()
    chart.type = "col"
    chart.title = "Total by approach / 方式別の合計"
    chart.y_axis.title = "JPY"
    chart.y_axis.numFmt = YEN
    chart.add_data(Reference(ws, min_col=2, min_row=5, max_row=9), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=6, max_row=9))
    chart.legend = None
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, "D5")
    print_setup(ws, landscape=True)
    protect(ws)
    return ws


def form_current_sheet(book: Book) -> Worksheet:
    """The current form: ① direct ② academic contribution ③ indirect ④ strategic, total.
    The same for every project (only names of cells elsewhere)."""
    ws = _sheet(book, "Form (current)", "")
    formula(ws, "A1", contract_words(book, ("現行様式", "current form")), "xlp_title")
    put(ws, "A5", "経費 / Expenses", "xlp_header")
    put(ws, "B5", "金額 / Amount", "xlp_header")
    r = 6
    for box, (ja, en) in BOX_LABELS.items():
        put(ws, f"A{r}", f"{ja} / {en}", "xlp_label")
        formula(ws, f"B{r}", guarded(chosen("{ap}_Box_" + box)), "xlp_yen")
        book.define(f"Form_{box.capitalize()}", ws, f"B{r}")
        r += 1
    put(ws, f"A{r}", "合計 / Total", "xlp_total")
    formula(ws, f"B{r}", guarded(f"SUM(B6:B{r - 1})"), "xlp_total")
    book.define("Form_Total", ws, f"B{r}")
    print_setup(ws)
    protect(ws)
    return ws


def form_new_sheet(book: Book) -> Worksheet:
    """The new form: (1) remuneration [A] incl. / [B] excl. expenses, (2) expenses borne.
    The same for every project of a target (only names of cells elsewhere)."""
    ws = _sheet(book, "Form (new)", "")
    formula(ws, "A1", contract_words(book, ("新様式・総額方式", "new form")), "xlp_title")
    pre_tax = chosen("{ap}_Sum") + "-Form_Tax"
    rows = [
        ("選択 / Choice ([A] 報酬に経費を含む / includes expenses, [B] 含まない / excludes)",
         "NewForm_Choice", "Form_Choice", "xlp_text"),
        ("(1) 報酬 / Remuneration", "NewForm_Remuneration",
         f'IF(Form_Choice="B",{pre_tax}-Form_Direct,{pre_tax})', "xlp_yen"),
        ("(2) 経費の負担 / Expenses borne ([B] only)", "NewForm_Expenses",
         'IF(Form_Choice="B",Form_Direct,"")', "xlp_yen"),
        ("消費税 / Consumption tax", "NewForm_Tax", "Form_Tax", "xlp_yen"),
        ("合計 / Total", "NewForm_Total",
         "NewForm_Remuneration+N(NewForm_Expenses)+NewForm_Tax", "xlp_total"),
        ("研究開発税制の活用 / R&D tax credit will be used  ☑", "NewForm_TaxCreditBox",
         'IF(UseTaxCredit=TRUE,"☑ はい / yes","☐ いいえ / no")', "xlp_text"),
        ("税額控除の見込み / Expected R&D tax credit", "TaxCredit",
         f'IF(UseTaxCredit=TRUE,{_tax_credit(book, pre_tax)},0)', "xlp_yen"),
    ]
    ws.column_dimensions["A"].width = 64
    ws.column_dimensions["B"].width = 20
    for i, (label, name, text, style) in enumerate(rows):
        put(ws, f"A{6 + i}", label, "xlp_label")
        formula(ws, f"B{6 + i}", guarded(text) if style != "xlp_text" else text, style)
        book.define(name, ws, f"B{6 + i}")
    print_setup(ws)
    protect(ws)
    return ws


def _tax_credit(book: Book, base: str) -> str:
    """The company's credit: rate of the partner, the institution's minimum, the cap."""
    rate = "INDEX(Tax_Bp,MATCH(TaxPartner_Code,Tax_Partner,0))"
    credit = f"IF(({base})<TaxMinTotal,0,ROUNDDOWN(({base})*{rate}/10000,0))"
    if not book.native:
        # XLP_TAX_CREDIT prices the university partner; other partners and the cap natively.
        credit = (f'IF(TaxPartner_Code="university",'
                  f'{book.fn("XLP_TAX_CREDIT", f"({base})", "CardRef")},{credit})')
    cap = 'ROUNDDOWN(CorporateTax*TaxCapBp/10000,0)'
    return f'IF(OR(CorporateTax="",TaxCapBp=0),{credit},MIN({credit},{cap}))'


def tier_part(amount: str, tiers: Sequence[Tier], party: str) -> str:
    """A party's part of ``amount`` split band by band (``pricing.allocation.split_tiers``):
    TRUNC(Σ band × share), bands MAX(MIN(amount, up_to) − low, 0), shares in basis points
    so the sums stay whole numbers; a negative amount by the first band's shares.  The card's
    tiers are written into the formula (they are fixed when the workbook is built).

    >>> from xl_pricing.rates import Tier
    >>> tier_part("B6", [Tier(up_to=100_000, shares={"researcher": "0.5", "university": "0.5"}),
    ...                  Tier(shares={"researcher": "0.25", "university": "0.75"})], "researcher")
    'IF(B6<0,TRUNC(B6*5000/10000),TRUNC((MAX(MIN(B6,100000)-0,0)*5000+MAX(B6-100000,0)*2500)/10000))'
    """
    terms, low = [], 0
    for t in tiers:
        share = bp(t.shares.get(party, Decimal(0)))  # type: ignore[call-overload]
        high = amount if t.up_to is None else f"MIN({amount},{int(t.up_to)})"
        if share:
            terms.append(f"MAX({high}-{low},0)*{share}" if t.up_to is not None
                         else f"MAX({amount}-{low},0)*{share}")
        if t.up_to is None:
            break
        low = int(t.up_to)
    first = bp(tiers[0].shares.get(party, Decimal(0)))  # type: ignore[call-overload]
    banded = f"TRUNC(({'+'.join(terms)})/10000)" if terms else "0"
    return f"IF({amount}<0,TRUNC({amount}*{first}/10000),{banded})"


def multiple_part(amount: str, rule: Multiple, party: str) -> str:
    """A party's part when ``rule.party`` gets k times ``rule.of``
    (``pricing.allocation.split_multiple``): of = TRUNC(amount ÷ (1 + k)), party =
    TRUNC(amount × k ÷ (1 + k)), k in basis points; any other party 0.

    >>> from xl_pricing.rates import Multiple
    >>> multiple_part("B6", Multiple(party="university", of="researcher", k=2), "researcher")
    'TRUNC(B6*10000/30000)'
    """
    k = bp(rule.k)
    if party == rule.of:
        return f"TRUNC({amount}*10000/{10000 + k})"
    if party == rule.party:
        return f"TRUNC({amount}*{k}/{10000 + k})"
    return "0"


def allocation_sheet(book: Book) -> Worksheet:
    """The split of the chosen approach's components among the parties (the card's
    shares; the residual party takes what truncation leaves)."""
    ws = _sheet(book, "Allocation", "収入の配分 / Split of proceeds")
    ws.column_dimensions["A"].width = 40
    heads = ["項目 / Component", "金額 / Amount", *[both(PARTY_WORDS[p]) for p in PARTIES]]
    for j, h in enumerate(heads):
        put(ws, a1(5, 1 + j), h, "xlp_header")
        if j:
            ws.column_dimensions[col(1 + j)].width = max(len(h) * 1.1, 16)
    # Costs repaid first (internal.py): a cost-recovery row on top, the components' net
    # amounts split natively in every target (XLP_ALLOCATE's rows would shift with it).
    rec = internal.has_cost_recovery(book.card)
    top = 6
    first, last = top + rec, top + rec - 1 + len(COMPONENTS)
    code_col = 10 + len(PARTIES)  # hidden: the codes the formulas (and XLP_ALLOCATE) use
    for i, comp in enumerate(COMPONENTS):
        r = first + i
        put(ws, f"A{r}", both(LABELS[comp]), "xlp_label")
        put(ws, a1(r, code_col), comp, "xlp_text")
        if not rec:
            formula(ws, f"B{r}", chosen(f'SUMIF({{ap}}_Comp,"{comp}",{{ap}}_Tot)'), "xlp_yen")
    recovered = None
    if rec:
        net = internal.cost_recovery_rows(
            book, ws, top, {c: first + i for i, c in enumerate(COMPONENTS)},
            {c: chosen(f'SUMIF({{ap}}_Comp,"{c}",{{ap}}_Tot)') for c in COMPONENTS})
        for i, comp in enumerate(COMPONENTS):
            formula(ws, f"B{first + i}", net[comp], "xlp_yen")
        recovered = f"B{top}"
    total_row = last + 1
    put(ws, f"A{total_row}", "合計 / Total", "xlp_total")
    if book.native or rec:
        al = book.card.model.allocation
        residual = al.residual_to
        for i, comp in enumerate(COMPONENTS):
            r = first + i
            for j, party in enumerate(PARTIES):
                if party != residual:
                    part = (tier_part(f"B{r}", al.tiers[comp], party) if comp in al.tiers
                            else multiple_part(f"B{r}", al.multiples[comp], party)
                            if comp in al.multiples else
                            f"TRUNC(B{r}*{book.cell(f'Share_{party}', i + 1)}/10000)")
                    formula(ws, a1(r, 3 + j), guarded(part), "xlp_yen")
            rc = 3 + PARTIES.index(residual)
            rest = "-".join(a1(r, 3 + j) for j, p in enumerate(PARTIES) if p != residual)
            formula(ws, a1(r, rc), guarded(f"B{r}-{rest}"), "xlp_yen")
        for j in range(len(PARTIES) + 1):
            c = 2 + j
            formula(ws, a1(total_row, c), guarded(f"SUM({a1(top, c)}:{a1(last, c)})"),
                    "xlp_total")
    else:
        # XLP_ALLOCATE spills header, one row per component and the total row; it reads
        # the codes and amounts from the hidden columns.
        amount_col = code_col + 1
        for i in range(len(COMPONENTS)):
            formula(ws, a1(first + i, amount_col), f"B{first + i}", "xlp_yen")
        spill = amount_col + 2
        rng = f"{a1(first - 1, spill)}:{a1(total_row, spill + len(PARTIES) + 1)}"
        ws[a1(first - 1, spill)] = ArrayFormula(rng, "=" + book.fn(
            "XLP_ALLOCATE", f"{a1(first, code_col)}:{a1(last, amount_col)}", "CardRef"))
        for i in range(len(COMPONENTS) + 1):
            r = first + i
            if i == len(COMPONENTS):
                formula(ws, f"B{r}", guarded(f"SUM(B{first}:B{last})"), "xlp_total")
            for j in range(len(PARTIES)):
                formula(ws, a1(r, 3 + j), guarded(a1(r, spill + 2 + j)),
                        "xlp_total" if i == len(COMPONENTS) else "xlp_yen")
        for c in range(amount_col, spill + len(PARTIES) + 2):
            ws.column_dimensions[col(c)].hidden = True
    ws.column_dimensions[col(code_col)].hidden = True
    for j, party in enumerate(PARTIES):
        book.define(f"Alloc_{party}", ws, a1(total_row, 3 + j))
    book.define("Alloc_Total", ws, f"B{total_row}")
    internal.allocation_notes(book, ws, total_row + 1, recovered)
    chart = BarChart()
    chart.type = "col"
    chart.title = "Proceeds by party / 配分先別"
    chart.y_axis.numFmt = YEN
    chart.add_data(Reference(ws, min_col=3, max_col=2 + len(PARTIES), min_row=total_row),
                   from_rows=True, titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=3, max_col=2 + len(PARTIES), min_row=5))
    chart.legend = None
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"A{total_row + 3}")
    print_setup(ws, landscape=True)
    protect(ws)
    return ws


def industrial_sheet(book: Book, quotes: dict[str, QuoteSheet]) -> Worksheet:
    """What the company sees for the chosen approach: one total, and fully loaded lines
    (overhead spread in proportion; the first largest line takes what rounding leaves).

    Row k shows the k-th non-zero loaded line of the chosen approach (blank when it has
    fewer), so the sheet follows ``Approach`` without a rebuild and zero lines leave no gap
    (hidden columns C–G: each slot's label, amount, loaded amount and place).
    """
    ws = _sheet(book, "Industrial", "")
    ws.column_dimensions["A"].width = 52
    ws.column_dimensions["B"].width = 20
    names = None
    for ap in "CBAX":
        text = f'"企業向け見積 / Industrial view: {both(APPROACHES[ap])}"'
        names = text if names is None else f'IF(Approach_Code="{ap}",{text},{names})'
    formula(ws, "A1", names, "xlp_title")
    taxed = 'IFERROR(INDEX(CT_Applies,MATCH(Contract_Code,Ind_Contract,0))=1,FALSE)'
    formula(ws, "A5", f'IF({taxed},"合計（税込）/ Total incl. consumption tax","合計 / Total")',
            "xlp_total")
    formula(ws, "B5", guarded(chosen("{ap}_Sum")), "xlp_total")
    book.define("Industrial_Total", ws, "B5")
    put(ws, "A7", "項目 / Line (fully loaded)", "xlp_header")
    put(ws, "B7", "金額 / Amount", "xlp_header")
    for c in "CDEFG":
        ws.column_dimensions[c].hidden = True
    # (a floor line outside C lifts a build-up: folded in like overhead, pricing.industrial)
    by_ap = {ap: [(c, n) for c, n, _ in q.lines if c in LOADED and (c != "floor" or ap == "C")]
             for ap, q in quotes.items()}
    n_rows = max(len(v) for v in by_ap.values())
    first, last = 8, 7 + n_rows
    amounts = f"$D${first}:$D${last}"
    base = f"SUM({amounts})"
    total = chosen("{ap}_Sum")
    overhead = f"({total}-{base})"

    def pick(k: int, of: dict[str, str]) -> str:
        """The chosen approach's entry ``of[ap]`` for row k ("" / 0 where it has none)."""
        out = of.get("C", "")
        for ap in "BAX":
            out = f'IF(Approach_Code="{ap}",{of.get(ap, "")},{out})'
        return out

    for i in range(n_rows):
        r = first + i
        amount, label = {}, {}
        for ap, lines in by_ap.items():
            if i < len(lines):
                comp, name = lines[i]
                ja, en = LABELS[comp]
                amount[ap] = f"{ap}_{name}"
                label[ap] = (f'"{ja} / {en} "&\'{quotes[ap].ws.title}\'!'
                             f'B{_row_of(quotes[ap], name)}')
            else:
                amount[ap], label[ap] = "0", '""'
        formula(ws, f"C{r}", pick(i, label), "xlp_text")
        formula(ws, f"D{r}", pick(i, amount), "xlp_yen")
        formula(ws, f"E{r}", f"D{r}+IF({base}=0,0,ROUNDDOWN({overhead}*D{r}/{base},0))",
                "xlp_yen")
        biggest = f"MATCH(MAX({amounts}),{amounts},0)={i + 1}"
        formula(ws, f"F{r}", f"IF({biggest},{total}-(SUM($E${first}:$E${last})-E{r}),E{r})",
                "xlp_yen")
        # G: this line's place among the non-zero lines (0 when zero), so the rows a
        # person reads close up: no blank or ¥0 row between lines (issue 14).
        formula(ws, f"G{r}", f'IF(D{r}=0,0,COUNTIF($D${first}:D{r},"<>0"))', "xlp_int")
    places = f"$G${first}:$G${last}"
    for i in range(n_rows):
        r = first + i
        at = f"MATCH({i + 1},{places},0)"
        label = f'IF(ISNA({at}),"",INDEX($C${first}:$C${last},{at}))'
        amount = f'IF(ISNA({at}),"",{guarded(f"INDEX($F${first}:$F${last},{at})")})'
        if i == 0:  # no loaded line carries an amount: one line, the total (fully_loaded)
            label = f'IF({base}=0,"合計 / Total",{label})'
            amount = f'IF({base}=0,{guarded(total)},{amount})'
        formula(ws, f"A{r}", label, "xlp_label")
        formula(ws, f"B{r}", amount, "xlp_yen")
        book.define(f"Industrial_{i + 1}", ws, f"B{r}")
    print_setup(ws)
    protect(ws)
    return ws


def _row_of(q: QuoteSheet, name: str) -> int:
    for i, (_c, n, _r) in enumerate(q.lines):
        if n == name:
            return q.first_row + i
    raise KeyError(name)
