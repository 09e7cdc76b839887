"""The Rates sheet (the card as readable tables, with named ranges the formulas use) and the
Project sheet (every input of a project, unlocked, with drop-downs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from ..pricing.fiscal import rate_date
from ..project import Project
from ..rates import PARTIES, RateCard
from ..cells import excel_serial
from .book import Book, a1, bp, col, date_literal, formula, list_validation, number_validation, put
from .checks import not_number, one_of, put_check, rule, summary, text_literal
from ..vocabulary import (ACHIEVEMENT_BASES, ACTIVITIES as ACTIVITY_WORDS,
                          APPROACHES as APPROACH_WORDS, CONTRACTS as CONTRACT_WORDS,
                          DAY_RATE_BOUNDS, LOCATIONS as LOCATION_WORDS, RANK_ALIASES,
                          RATE_SOURCES as SOURCE_WORDS, TAX_PARTNERS, Words, both)
from . import internal
from .fees import project_inputs, rules_table
from . import mtdc
from .styles import print_setup, protect
from .cases import fa_keys, fa_segment_keys, option_bp
from .tax import consulting_rate_row, ip_terms_row, priced_rules

# Every price component, in the order sheets list them.
COMPONENTS = ("direct", "floor", "time_charge", "indirect", "fa", "strategic", "option",
              "discount", "value_added", "lump_sum", "milestone", "kpi", "royalty",
              "research_fee", "unit_fee")
SOURCES = ["rank", "salary", "consulting", "achievement", "laureate", "day_rate", "negotiated",
           "monthly"]
CONTRACTS = ["joint", "sponsored", "consulting"]


@dataclass(frozen=True)
class Column:
    header: str
    name: str | None
    style: str = "xlp_text"
    width: float = 14


def table(book: Book, ws: Worksheet, top: int, left: int, columns: list[Column],
          rows: list[list[Any]], min_rows: int = 1) -> int:
    """Write a header and rows; define each named column over the data rows.

    Values that are formulas are given as ``("=", text)``.  Returns the next free row.
    """
    for j, c in enumerate(columns):
        put(ws, a1(top, left + j), c.header, "xlp_header")
        ws.column_dimensions[col(left + j)].width = max(
            ws.column_dimensions[col(left + j)].width or 0, c.width)
    n = max(len(rows), min_rows)
    for i in range(n):
        row = rows[i] if i < len(rows) else [None] * len(columns)
        for j, c in enumerate(columns):
            ref = a1(top + 1 + i, left + j)
            v = row[j] if j < len(row) else None
            if isinstance(v, tuple) and v and v[0] == "=":
                formula(ws, ref, v[1], c.style)
            else:
                put(ws, ref, v, c.style)
    for j, c in enumerate(columns):
        if c.name:
            book.define(c.name, ws, f"{a1(top + 1, left + j)}:{a1(top + n, left + j)}")
    return top + n + 2


def _scalar(book: Book, ws: Worksheet, row: int, label: str, name: str, value: Any,
            style: str, note: str = "") -> int:
    put(ws, f"A{row}", label, "xlp_label")
    put(ws, f"B{row}", value, style)
    book.define(name, ws, f"B{row}")
    if note:
        put(ws, f"C{row}", note, "xlp_note")
    return row + 1


def _subaward_cap(book: Book, ws: Worksheet, row: int) -> int:
    """``SubawardCap``: the part of each subaward counted in MTDC, the card's threshold in
    force at the project's start (the award date, as the engine's
    ``pricing.stacked.subaward_threshold`` takes by default) — 2 CFR 200.1: 25,000 USD,
    50,000 USD for awards from 2024-10-01.  Blank: subawards count in full."""
    f = book.card.model.fa
    base = int(f.subaward_included_up_to) if f.subaward_included_up_to is not None else None
    if not f.subaward_thresholds:
        return _scalar(book, ws, row, "再委託の算入上限 / Subaward included up to",
                       "SubawardCap", base, "xlp_yen")
    expr = '""' if base is None else str(base)
    on = mtdc.award_on() if mtdc.has_subawards(book.card) else "Start"   # (workbook/mtdc.py)
    for t in sorted(f.subaward_thresholds, key=lambda t: t.effective_from):
        d = t.effective_from
        expr = f"IF({on}>={date_literal(d)},{int(t.amount)},{expr})"
    put(ws, f"A{row}", "再委託の算入上限（交付決定日時点）/ Subaward included up to (at the "
        "award date)", "xlp_label")
    formula(ws, f"B{row}", expr, "xlp_yen")
    book.define("SubawardCap", ws, f"B{row}")
    return row + 1


def _rate(book: Book, ws: Worksheet, row: int, label: str, name: str, fraction: Decimal,
          note: str = "") -> int:
    """A rate shown as a percentage with its basis points beside it (the formulas use bp)."""
    put(ws, f"A{row}", label, "xlp_label")
    put(ws, f"B{row}", float(fraction), "xlp_pct")
    formula(ws, f"C{row}", f"ROUND(B{row}*10000,0)", "xlp_int")
    book.define(name, ws, f"C{row}")
    if note:
        put(ws, f"D{row}", note, "xlp_note")
    return row + 1


def rates_sheet(book: Book, fa_keys: list[list[Any]] | None = None,
                title: str = "Rates") -> Worksheet:
    """The card: identity, settings and tables; names such as ``Rank_Hourly``.

    Made of the card, the target, ``book.card_ref`` and the F&A rates of the project's
    fiscal years (``fa_keys``, see ``fa_resolution``; worked out when not given).  ``title``
    names the sheet (``attach`` adds it to an office's workbook that may have a "Rates").
    """
    card, m = book.card, book.card.model
    ws = book.wb.create_sheet(title)
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 14
    put(ws, "A1", "料金表 / Rate card", "xlp_title")
    r = 3
    r = _scalar(book, ws, r, "ID", "CardId", card.id, "xlp_text")
    r = _scalar(book, ws, r, "機関 / Institution", "CardInstitution", m.card.institution,
                "xlp_text")
    r = _scalar(book, ws, r, "版 / Version", "CardVersion", card.version, "xlp_text")
    r = _scalar(book, ws, r, "適用開始 / Effective from", "CardEffective",
                m.card.effective_from, "xlp_date")
    r = _scalar(book, ws, r, "SHA-256", "CardSha256", card.sha256, "xlp_text")
    r = _scalar(book, ws, r, "関数が使う料金表 / Card the functions use", "CardRef",
                book.card_ref, "xlp_text")
    put(ws, f"A{r}", "料金表の変更 / Card changed?", "xlp_label")
    if book.native:
        put(ws, f"B{r}", "native workbook: rates as of the build (see SHA-256)", "xlp_note")
    else:
        # XLP_CARD spills id, version and sha256 of the card on disk; compare with the build.
        ws.formula_attributes = getattr(ws, "formula_attributes", {})
        ws[f"E{r}"] = ArrayFormula(f"E{r}:F{r + 2}", "=" + book.fn("XLP_CARD", "CardRef"))
        formula(ws, f"B{r}", f'IF(F{r + 2}=CardSha256,"unchanged / 変更なし",'
                            f'"WARNING: the rate card on disk has changed since this '
                            f'workbook was built / 料金表が変更されています")', "xlp_warn")
    book.define("CardCheck", ws, f"B{r}")
    r += 4
    r = _scalar(book, ws, r, "端数処理 / Rounding rule", "RoundRule", m.rounding.rule,
                "xlp_text", card.rounding.describe())
    r = _scalar(book, ws, r, "端数単位 / Rounding unit (yen)", "RoundUnit", m.rounding.unit,
                "xlp_int")
    r += 1
    put(ws, f"A{r}", "率 / Rates (fractions shown as %, basis points beside)", "xlp_header")
    put(ws, f"B{r}", "%", "xlp_header")
    put(ws, f"C{r}", "bp", "xlp_header")
    r += 1
    r = _rate(book, ws, r, "間接経費率 / Indirect rate (approach X)", "IndirectBp",
              m.indirect.rate)
    r = _rate(book, ws, r, f"戦略的産学連携経費 / Strategic rate (of {m.strategic.base})",
              "StrategicBp", m.strategic.rate)
    r = _rate(book, ws, r, "単価の年次上昇 / Yearly escalation", "EscalationBp",
              m.time_charge.escalation)
    r = _rate(book, ws, r, "設備提供の控除率 / Equipment credit", "ContribEquipBp",
              m.contributions.equipment_credit_rate)
    r = _rate(book, ws, r, "減額の上限 / Discount cap", "ContribMaxBp",
              m.contributions.max_discount_rate)
    r = _rate(book, ws, r, "消費税率 / Consumption tax", "CTBp", m.consumption_tax.rate)
    r = _rate(book, ws, r, "税額控除の上限 / Credit cap (share of corporate tax)", "TaxCapBp",
              m.tax_credit.cap_share_of_corporate_tax or Decimal(0))
    w = m.outcome.scenario_weights
    r = _rate(book, ws, r, "シナリオ重み 低 / Weight low", "WeightLowBp", w["low"])
    r = _rate(book, ws, r, "シナリオ重み 基本 / Weight base", "WeightBaseBp", w["base"])
    r = _rate(book, ws, r, "シナリオ重み 高 / Weight high", "WeightHighBp", w["high"])
    r += 1
    tc = m.time_charge
    r = _scalar(book, ws, r, "年間総労働時間 / Annual working hours", "AnnualHours",
                float(tc.annual_hours), "xlp_num")
    r = _scalar(book, ws, r, "1日の時間 / Hours per day", "HoursPerDay",
                float(tc.hours_per_day), "xlp_num")
    r = consulting_rate_row(book, ws, r)  # by Start when the card has cases (tax.py)
    r = _scalar(book, ws, r, "受賞者単価 / Laureate rate (yen/h; blank = none)",
                "LaureateHourly", int(tc.laureate.hourly) if tc.laureate else None, "xlp_yen")
    r = _scalar(book, ws, r, "企業研究者1時間の控除 / Credit per company researcher hour",
                "ContribHourValue", int(m.contributions.researcher_hour_value), "xlp_yen")
    r = _subaward_cap(book, ws, r)
    r = _scalar(book, ws, r, "税額控除の最低総額 / Credit: minimum total", "TaxMinTotal",
                int(m.tax_credit.min_total), "xlp_yen")
    r = _scalar(book, ws, r, "F&A の基礎 / F&A base", "FABase", m.fa.base, "xlp_text")
    r = _scalar(book, ws, r, "残余の配分先 / Allocation residual to", "ResidualParty",
                m.allocation.residual_to, "xlp_text")
    r += 1
    r = table(book, ws, r, 1, [Column("契約 / Contract", "Ind_Contract", width=44),
                               Column("間接経費 bp", "Ind_Bp", "xlp_int"),
                               Column("消費税 / Consumption tax applies", "CT_Applies",
                                      "xlp_int")],
              [[c, bp(card.indirect_rate(c)),
                1 if c in m.consumption_tax.applies_to and m.consumption_tax.rate else 0]
               for c in CONTRACTS])
    partners = {"university": m.tax_credit.rate, **m.tax_credit.partner_rates}
    r = table(book, ws, r, 1, [Column("税額控除の相手 / Credit partner", "Tax_Partner"),
                               Column("控除率 bp / Credit bp", "Tax_Bp", "xlp_int")],
              [[p, bp(v)] for p, v in partners.items()])
    r = table(book, ws, r, 1, [
        Column("職階 / Rank", "Rank_Names"), Column("日本語", "Rank_LabelJA"),
        Column("English", "Rank_LabelEN"), Column("時間単価 / Hourly (yen)", "Rank_Hourly",
                                                  "xlp_yen"),
        Column("年俸 / Salary (yen)", "Rank_Salary", "xlp_yen"),
        Column("月額 / Monthly (yen)", "Rank_Monthly", "xlp_yen"),
        # the Researchers drop-down's entries ("教授 / Professor": RateCard.rank_code)
        Column("選択肢 / Entry", "Rank_Entry", width=34)],
        [[k, v.label_ja, v.label_en, int(v.hourly) if v.hourly else None,
          int(v.salary) if v.salary else None, int(v.monthly) if v.monthly else None,
          both((v.label_ja, v.label_en))]
         for k, v in tc.ranks.items()])
    r = table(book, ws, r, 1, [Column("実績区分 / Achievement basis", "Ach_Basis"),
                               Column("下限 / From", "Ach_Min", "xlp_int"),
                               Column("時間単価 / Hourly", "Ach_Hourly", "xlp_yen")],
              [[t.basis, t.min, int(t.hourly)] for t in tc.achievement])
    r = table(book, ws, r, 1, day_rate_columns(), day_rate_rows(card))
    r = table(book, ws, r, 1, [Column("F&A 活動 / Activity", None),
                               Column("場所 / Location", None),
                               Column("分野 / Field", None),
                               Column("率 / Rate", None, "xlp_pct"),
                               Column("適用開始 / From", None, "xlp_date")],
              [[f.activity, f.location, f.field, float(f.rate),
                f.effective_from or m.card.effective_from] for f in m.fa.rates])
    r = table(book, ws, r, 1, [Column("F&A 対象外 / Not in the F&A base (MTDC)",
                                      "Mtdc_Excluded")],
              [[x] for x in m.fa.mtdc_excluded])
    r = table(book, ws, r, 1, [Column("F&A 年度別キー / Key activity/location/field/FY",
                                      "FA_Key", width=44),
                               Column("bp", "FA_Bp", "xlp_int")],
              (fa_resolution(book.card, book.project) if fa_keys is None else fa_keys)
              + fa_segment_keys(card))  # each segment's rate, when looked up so (cases.py)
    r = table(book, ws, r, 1, [
        Column("オプション / Option", "Opt_Id"), Column("日本語", "Opt_LabelJA"),
        Column("English", "Opt_LabelEN"), Column("方式 / Method", "Opt_Method"),
        Column("金額 / Amount", "Opt_Amount", "xlp_yen"),
        Column("率 bp / Rate bp", "Opt_Bp", "xlp_int"), Column("基礎 / Base", "Opt_Base"),
        Column("選択肢 / Entry", "Opt_Entry", width=40)],
        [[k, o.label_ja, o.label_en, o.method, int(o.amount) if o.amount is not None else None,
          option_bp(book, o), o.base, both((o.label_ja, o.label_en))]  # (cases at Start)
         for k, o in m.options.items()])
    r = table(book, ws, r, 1, [Column("配分 / Share of", "Share_Component"),
                               *[Column(p, f"Share_{p}", "xlp_int") for p in PARTIES]],
              [[comp, *[bp(card.shares_for(comp).get(p, Decimal(0))) for p in PARTIES]]
               for comp in COMPONENTS])
    r = rules_table(book, ws, r)
    print_setup(ws)
    protect(ws)
    return ws


def day_rate_columns() -> list[Column]:
    """The day-rate references' table: the id a researcher row names (``DR_Id``), the
    range in its currency, and the yen a day at each end (``DR_YenMin``, ``DR_YenMax``)."""
    return [Column("日額の参照 / Day-rate reference", "DR_Id", width=44),
            Column("通貨 / Currency", None),
            Column("下限 / Min", None, "xlp_num"),
            Column("上限 / Max", None, "xlp_num"),
            Column("為替 / JPY per unit", None, "xlp_num"),
            Column("円/日 下限 / Yen a day (min)", "DR_YenMin", "xlp_yen", width=18),
            Column("円/日 上限 / Yen a day (max)", "DR_YenMax", "xlp_yen", width=18)]


def day_rate_rows(card: RateCard) -> list[list[Any]]:
    """Each reference of the card with its yen a day at min and max: amount × the card's
    exchange rate, rounded to the yen by the card's rule (``timecharge.resolve_rate``).
    Example: Cambridge professor £1,250 × 160 = 200,000 yen a day."""
    from ..pricing.timecharge import day_rate_in_yen

    out = []
    for d in card.model.time_charge.day_rates:
        fx = card.exchange_rate(d.currency)
        out.append([d.id, d.currency, float(d.min), float(d.max), float(fx),
                    *(int(card.rate_rounding.apply(day_rate_in_yen(a, fx)))
                      for a in (d.min, d.max))])
    return out


TEMPLATE_YEARS = 5   # fiscal-year columns of a blank template (they follow Start and End)
TEMPLATE_REACH = 12  # fiscal years from the card's first whose F&A rates a template holds


def fa_resolution(card: RateCard, project: Project, years: list[int] | None = None
                  ) -> list[list[Any]]:
    """F&A rates in force for each activity × location × field × fiscal year of the
    project (or of ``years``, looked up on each year's 1 April), resolved by the engine
    (precedence and effective dates) — "act/loc/field/FY".
    """
    return fa_keys(card, [(fy, rate_date(project, fy) if years is None else date(fy, 4, 1))
                          for fy in (years or project.fiscal_years)])


# -- the Project sheet ----------------------------------------------------------------------

SPARE_ROWS = 3
# Rows every workbook has for a person to fill in (issue 14: Excel alone does the job).
CAPACITY = {"direct": 20, "researchers": 10, "options": 5, "packages": 5, "sales": 5,
            "milestones": 10, "kpis": 10}


def rows_for(kind: str, used: int) -> int:
    """Rows of a Project-sheet table: the project's, spare rows, at least ``CAPACITY``."""
    return max(used + SPARE_ROWS, CAPACITY[kind])


def _item(kind: str, i: int) -> str:
    """A table row's field as the engine's messages name it (0-based: ``researchers[0]``)."""
    return f"{kind}[{i}]"


CHECK_COLUMN = 20  # T: the hidden column that carries the first failing check down


def unpriced_rules(book: Book) -> list[str]:
    """The card's (and the project's) rules this workbook's formulas do not price
    (``RateCard.rules_in_use``, ``pricing.stacked.costing_features``, less what fees.py,
    cases.py, mtdc.py, tax.py and internal.py price): none for every rule of today's card
    schema.  Its totals would then show a check text, never a number other than the
    engine's."""
    return unpriced_for(book.card, book.project)


def unpriced_for(card: RateCard, project: Project) -> list[str]:
    """:func:`unpriced_rules` of a workbook of ``card`` for ``project``: the card's and the
    project's rules less what workbook/fees.py (with cases.py, mtdc.py), tax.py and
    internal.py price.

    >>> from xl_pricing import load_card
    >>> from xl_pricing.workbook import template_project
    >>> unpriced_for(load_card("kyoto"), template_project(load_card("kyoto")))
    []
    """
    from .fees import unpriced   # (fees.py builds on this module)
    from .internal import priced_features

    priced = priced_rules(card) | priced_features(card, project)
    return [k for k in unpriced(card, project) if k not in priced]


def card_rules(book: Book, ws: Worksheet, ref: str) -> None:
    """A check (``Check_CardRules``) that fails while :func:`unpriced_rules` is not empty:
    the label at ``ref``, the check beside it."""
    rules = unpriced_rules(book)
    put(ws, ref, "単価表の規則 / Card's rules", "xlp_label")
    beside = a1(int(ref[1:]), ord(ref[0]) - ord("A") + 2)
    if not rules:
        put(ws, beside, "すべてこのブックで計算 / all priced in this workbook", "xlp_note")
        return
    listed = ", ".join(rules)
    if len(listed) > 80:
        listed = listed[:77] + "..."
    put_check(book, ws, beside, "CardRules", [rule(
        "TRUE", "card.rules", f"{listed}: このブックの式では未対応 / not priced by this "
        "workbook's formulas — use xl-pricing quote or XLP_QUOTE")])


def project_sheet(book: Book) -> Worksheet:
    """Every input of the project, each with its check; in a template the tables have
    empty rows to fill."""
    p, info = book.project, book.project.project
    card = book.card
    ws = book.wb.create_sheet("Project", 0)
    ws.column_dimensions["A"].width = 58  # the longest label, JA + EN, shows whole
    for c in "BCDEFGHIJKLMNOP":
        ws.column_dimensions[c].width = 15
    # Drop-down entries ("教授 / Professor") show whole: B holds the scalars' and the ranks'
    # entries, C the rate sources', I the bounds'.
    for c, words in entry_widths(card).items():
        ws.column_dimensions[c].width = words
    put(ws, "A1", "案件 / Project inputs", "xlp_title")
    period = ("開始・終了を入力すると年度が決まります / Type Start and End: the fiscal years "
              "follow them." if book.is_template else
              "期間を変えるときは再生成 / Rebuild to change the period.")
    put(ws, "A2", "黄色のセルが入力です。赤い文字は入力エラー / Yellow cells are inputs; red "
                  f"text is an input error. {period}", "xlp_note")
    card_rules(book, ws, "D3")
    r = 4

    def scalar(label: str, name: str, value: Any, style: str = "xlp_input",
               rules: list[tuple[str, str]] | None = None) -> str:
        nonlocal r
        put(ws, f"A{r}", label, "xlp_label")
        put(ws, f"B{r}", value, style)
        book.define(name, ws, f"B{r}")
        ref = f"B{r}"
        if rules:
            put_check(book, ws, f"C{r}", name, rules)
        r += 1
        return ref

    def choice(field: str, ref: str, codes: list[str], blank_ok: bool = True
               ) -> list[tuple[str, str]]:
        shown = ", ".join(f"'{c}'" for c in codes)
        bad = f"NOT({one_of(ref, codes)})"
        if blank_ok:
            bad = f'AND({ref}<>"",{bad})'
        return [rule(bad, field, f"one of {shown}")]

    def worded(label: str, name: str, code: str, table: Mapping[str, Words], field: str,
               more: list[tuple[str, str]] | None = None) -> None:
        """A drop-down of words (``受託研究 / sponsored research``) over ``table``'s codes:
        the cell holds the entry shown; the hidden cell ``<name>_Code`` beside it (column
        S) holds its code — exact matching of the code, the Japanese, the English
        (any case, as ``vocabulary.code_for``) or both — and "" for anything else, which
        the check refuses.  Formulas compare ``<name>_Code``."""
        row = r
        entries = [both(w) for w in table.values()]
        shown = ", ".join(f"'{c}'" for c in table)
        ref = scalar(label, name, both(table[code]) if code in table else code,
                     rules=[rule(f'{name}_Code=""', field,
                                 f"one of {shown} (or its name in the list)")] + (more or []))
        list_validation(ws, ref, entries)
        # (an approach letter in any case, as the engine's project.approach takes it)
        formula(ws, f"S{row}", code_formula(name, table, table is APPROACH_WORDS),
                "xlp_text")
        book.define(f"{name}_Code", ws, f"S{row}")

    scalar("案件ID / Project id", "ProjectId", info.id,
           rules=[rule('LEN(ProjectId)=0', "project.id", "non-empty text")])
    scalar("件名 / Title", "Title", info.title)
    worded("契約種別 / Contract", "Contract", info.contract, CONTRACT_WORDS, "project.contract")
    worded("方式 / Approach (X A B C)", "Approach", info.approach, APPROACH_WORDS,
           "project.approach", [rule(
        # C prices outcome terms: with none typed the engine has no [outcome] to price.
        'AND(Approach_Code="C",COUNTA(C_AgreedFloor,C_RoyaltyRate,C_Contribution,C_LumpSum,'
        'C_WeightLow,C_WeightBase,C_WeightHigh,Sales_FY,Sales_Low,Sales_Base,Sales_High,'
        'MS_Name,MS_Amount,MS_Achieved,KPI_Name,KPI_Amount,KPI_Achieved)=0)', "outcome",
        "an [outcome] table for approach C (C: terms below)")])
    worded("活動 / Activity", "Activity", info.activity, ACTIVITY_WORDS, "project.activity")
    worded("場所 / Location", "Location", info.location, LOCATION_WORDS, "project.location",
           [rule(
        f'AND(OR(Approach_Code="A",AND(Approach_Code="B",B_BookAs="A")),ISERROR(SUM(Calc!$C$5:{a1(5, 2 + len(p.fiscal_years), True)})))',
        "activity/location", f"an F&A rate of card {card.id!r} for the activity, location "
        "and field in force in each fiscal year")])
    ws.column_dimensions["S"].hidden = True
    scalar("分野 / Field", "Field", info.field)
    date_rule = "a date such as 2027-04-01"
    if book.is_template:
        # A template's period is typed: the fiscal-year columns follow Start and End.
        fy_of = "(YEAR({d})-(MONTH({d})<4))"
        scalar("開始 / Start", "Start", info.start, "xlp_input_date", rules=[
            rule("NOT(ISNUMBER(Start))", "project.start", date_rule)])
        scalar("終了 / End", "End", info.end, "xlp_input_date", rules=[
            rule("NOT(ISNUMBER(End))", "project.end", date_rule),
            rule("End<Start", "project.end", "a date on or after start"),
            rule(f"{fy_of.format(d='End')}-{fy_of.format(d='Start')}>={TEMPLATE_YEARS - 1}+1",
                 "project.end", f"a period of at most {TEMPLATE_YEARS} fiscal years "
                 "(the columns of this template)"),
            rule(f"OR({fy_of.format(d='Start')}<{min(p.fiscal_years)},"
                 f"{fy_of.format(d='End')}>{min(p.fiscal_years) + TEMPLATE_REACH - 1})",
                 "project.start", f"a period within FY{min(p.fiscal_years)}–"
                 f"FY{min(p.fiscal_years) + TEMPLATE_REACH - 1} (the card's years)")])
    else:
        # The period is the one the fiscal-year columns were built for.
        scalar("開始 / Start", "Start", info.start, "xlp_date", rules=[
            rule("NOT(ISNUMBER(Start))", "project.start", date_rule),
            rule(f"Start<>{excel_serial(info.start)}", "project.start",
                 f"{info.start} (the period the workbook was built for: rebuild to change it)")])
        scalar("終了 / End", "End", info.end, "xlp_date", rules=[
            rule("NOT(ISNUMBER(End))", "project.end", date_rule),
            rule("End<Start", "project.end", "a date on or after start"),
            rule(f"End<>{excel_serial(info.end)}", "project.end",
                 f"{info.end} (the period the workbook was built for: rebuild to change it)")])
    scalar("部局 / Department", "Department", info.department)
    scalar("企業 / Company", "Company", info.company)
    if card.model.floor is not None:  # the price floor's IP terms (tax.py)
        r = ip_terms_row(book, ws, r)
    r = internal.costs_row(book, ws, internal.sponsor_rows(book, ws, r))  # (internal.py)
    ref = scalar("年次上昇（空欄=料金表）/ Escalation (blank = card)", "Escalation",
                 float(info.escalation) if info.escalation is not None else None,
                 "xlp_input_pct", rules=[rule(not_number("Escalation", 0, 5),
                                              "project.escalation", "a number from 0 to 5")])
    number_validation(ws, ref, 0, maximum=5)
    ref = scalar("研究開発税制を使う / Company uses the R&D tax credit", "UseTaxCredit",
                 bool(p.tax.use_credit), rules=[rule(
                     'AND(UseTaxCredit<>"",NOT(ISLOGICAL(UseTaxCredit)))', "tax.use_credit",
                     "true or false")])
    list_validation(ws, ref, ["TRUE", "FALSE"])
    worded("控除の相手 / Credit partner", "TaxPartner", p.tax.partner, partner_words(card),
           "tax.partner")
    ref = scalar("法人税額（上限計算）/ Corporate tax (for the cap)", "CorporateTax",
                 int(p.tax.corporate_tax) if p.tax.corporate_tax is not None else None,
                 "xlp_input_yen", rules=[rule(not_number("CorporateTax", 0, whole=True),
                                              "tax.corporate_tax", "whole yen >= 0")])
    number_validation(ws, ref, 0, whole=True)
    list_validation(ws, scalar("新様式 [A] 報酬に経費を含む / [B] 含まない — New form choice",
                               "Form_Choice", "A", rules=choice("Form_Choice", "Form_Choice",
                                                                ["A", "B"], False)),
                    ["A", "B"])
    project_inputs(book, ws, r, scalar)  # the card's project kinds, 研究料 quantities
    r += 1
    # Fiscal years of the period (locked: they follow Start and End).
    months = p.fiscal_years
    put(ws, f"A{r}", "年度 / Fiscal year", "xlp_label")
    put(ws, f"A{r + 1}", "月数 / Months", "xlp_label")
    put(ws, f"A{r + 2}", "料率の基準日 / Rates looked up on", "xlp_label")
    if book.is_template:
        # FY = year of the start (Jan–Mar belong to the year before), then one a column
        # up to the end's; months of the period in each; blank beyond the period.
        first_month, last_month = ("(YEAR(Start)*12+MONTH(Start)-1)",
                                   "(YEAR(End)*12+MONTH(End)-1)")
        for k in range(TEMPLATE_YEARS):
            fy, m, d = a1(r, 2 + k), a1(r + 1, 2 + k), a1(r + 2, 2 + k)
            if k == 0:
                formula(ws, fy, 'IFERROR(YEAR(Start)-(MONTH(Start)<4),"")', "xlp_fy")
            else:
                prev = a1(r, 1 + k)
                formula(ws, fy, f'IFERROR(IF({prev}="","",IF({prev}<YEAR(End)-(MONTH(End)<4),'
                                f'{prev}+1,"")),"")', "xlp_fy")
            formula(ws, m, f'IF({fy}="",0,MAX(0,MIN({last_month},{fy}*12+14)-'
                           f'MAX({first_month},{fy}*12+3)+1))', "xlp_int")
            formula(ws, d, f'IF({fy}="","",MAX(Start,DATE({fy},4,1)))', "xlp_date")
        last = 1 + TEMPLATE_YEARS
        formula(ws, a1(r + 1, last + 1), f"SUM(B{r + 1}:{a1(r + 1, last)})", "xlp_int")
    else:
        for k, fy in enumerate(months):
            put(ws, a1(r, 2 + k), fy, "xlp_fy")
            put(ws, a1(r + 1, 2 + k), months[fy], "xlp_int")
            put(ws, a1(r + 2, 2 + k), rate_date(p, fy), "xlp_date")
        last = 1 + len(months)
        put(ws, a1(r + 1, last + 1), sum(months.values()), "xlp_int")
    book.define("FY_Year", ws, f"B{r}:{a1(r, last)}")
    book.define("FY_Months", ws, f"B{r + 1}:{a1(r + 1, last)}")
    book.define("FY_RateDate", ws, f"B{r + 2}:{a1(r + 2, last)}")
    book.define("FY_TotalMonths", ws, a1(r + 1, last + 1))
    r += 4
    first_fy = min(months)
    # Direct cost items (one row each); the hidden last column is the item's F&A base.
    put(ws, f"A{r}", "直接経費 / Direct cost items", "xlp_label")
    r += 1
    subawards = mtdc.has_subawards(card)   # (an MTDC card: a subaward-id column G)
    rows = [[it.category, it.description, it.fiscal_year or first_fy, int(it.amount), None,
             None, *([it.subaward] if subawards else [])] for it in p.direct]
    n = rows_for("direct", len(rows))
    book.rows["direct"] = n
    top = r
    r = table(book, ws, r, 1, [Column("区分 / Category", "Direct_Category", "xlp_input"),
                               Column("内容 / Description", "Direct_Description", "xlp_input"),
                               Column("年度 / FY", "Direct_FY", "xlp_input"),
                               Column("金額 / Amount", "Direct_Amount", "xlp_input_yen"),
                               Column("F&A 基礎 / F&A base", "Direct_FABase", "xlp_yen"),
                               Column("確認 / Check", None, "xlp_warn", width=30),
                               *([Column("再委託ID / Subaward id", "Direct_Subaward",
                                         "xlp_input")] if subawards else [])],
              rows, min_rows=n)
    if book.is_template:  # the years follow Start and End: the check cell says which
        number_validation(ws, f"C{top + 1}:C{top + n}", 1900, whole=True, maximum=2200)
    else:
        list_validation(ws, f"C{top + 1}:C{top + n}", [str(fy) for fy in months])
    period = "the project period" if book.is_template else \
        f"the project period {sorted(months)}"
    number_validation(ws, f"D{top + 1}:D{top + n}", 0, whole=True)
    for i in range(n):
        row = top + 1 + i
        formula(ws, f"E{row}", _fa_base_formula(book, row, top + 1, top + n), "xlp_yen")
        f = _item("direct", i)
        used = f'COUNTA(A{row}:D{row}{f",G{row}" if subawards else ""})>0'
        put_check(book, ws, f"F{row}", f"Direct_{i + 1}", [
            rule(f'AND({used},LEN(A{row})=0)', f"{f}.category", "non-empty text"),
            rule(f'AND({used},D{row}="")', f"{f}.amount", "a value (this key is required)"),
            rule(not_number(f"D{row}", 0, whole=True), f"{f}.amount", "whole yen >= 0"),
            rule(f'AND({used},OR(C{row}="",ISNA(MATCH(C{row},FY_Year,0))))',
                 f"{f}.fiscal_year", f"a fiscal year of {period}")]
            + (mtdc.subaward_rules(row, f) if subawards else []))
    # Researchers.
    put(ws, f"A{r}", "研究者 / Researchers", "xlp_label")
    r += 1
    rrows = [researcher_row(book, x) for x in p.researchers]
    nr = rows_for("researchers", len(rrows))
    book.rows["researchers"] = nr
    top = r
    r = table(book, ws, r, 1, [
        Column("氏名 / Name", "R_Name", "xlp_input"),
        Column("職階 / Rank", "R_Rank", "xlp_input"),
        Column("単価の根拠 / Rate source", "R_Source", "xlp_input"),
        Column("交渉単価 / Negotiated yen/h", "R_Hourly", "xlp_input_yen"),
        Column("年俸 / Salary", "R_Salary", "xlp_input_yen"),
        Column("実績区分 / Basis", "R_Basis", "xlp_input"),
        Column("実績数 / Count", "R_Count", "xlp_input"),
        Column("日額参照 / Day rate", "R_DayRate", "xlp_input"),
        Column("上下限 / Bound", "R_Bound", "xlp_input"),
        Column("時間 / Hours", "R_Hours", "xlp_input_num"),
        Column("日数 / Days", "R_Days", "xlp_input_num"),
        Column("月数 / Months", "R_Months", "xlp_input_num"),
        Column("エフォート / Effort", "R_Effort", "xlp_input_pct"),
        Column("参照単価 / Reference price", "R_RefPrice", "xlp_yen"),
        Column("確認 / Check", None, "xlp_warn", width=30)],
        rrows, min_rows=nr)
    list_validation(ws, f"B{top + 1}:B{top + nr}", "Rank_Entry")
    list_validation(ws, f"C{top + 1}:C{top + nr}", [both(SOURCE_WORDS[s]) for s in SOURCES])
    list_validation(ws, f"F{top + 1}:F{top + nr}",
                    [both(w) for w in ACHIEVEMENT_BASES.values()])
    list_validation(ws, f"I{top + 1}:I{top + nr}", [both(w) for w in DAY_RATE_BOUNDS.values()])
    if card.model.time_charge.day_rates:
        list_validation(ws, f"H{top + 1}:H{top + nr}", "DR_Id")
    researcher_codes(book, ws, top, nr)
    number_validation(ws, f"J{top + 1}:J{top + nr}", 0, maximum=100_000)
    number_validation(ws, f"K{top + 1}:K{top + nr}", 0, maximum=20_000)
    number_validation(ws, f"L{top + 1}:L{top + nr}", 0, above=True)
    number_validation(ws, f"M{top + 1}:M{top + nr}", 0, maximum=1)
    number_validation(ws, f"D{top + 1}:E{top + nr}", 0, whole=True, above=True)
    put(ws, f"N{top}", "参照単価 / Reference price (a monthly rate given in the project, "
                       "at build time)", "xlp_header")
    ranks = ", ".join(card.model.time_charge.ranks)
    rank_expected = f"a rank of card {card.id!r}: {ranks}"
    if len(rank_expected) > 150:
        rank_expected = rank_expected[:147] + "..."
    day_rates = (f"a day-rate reference of card {card.id!r}: "
                 + (", ".join(d.id for d in card.model.time_charge.day_rates) or "none"))
    for i in range(nr):
        put_check(book, ws, f"O{top + 1 + i}", f"R_{i + 1}",
                  _researcher_rules(top + 1 + i, _item("researchers", i), rank_expected,
                                    f"Calc!$E${CALC_FIRST_RESEARCHER + i}", day_rates))
    # Options and contributions.
    put(ws, f"A{r}", "オプション / Options", "xlp_label")
    r += 1
    top = r
    def option_entry(name: str) -> str:
        code = card.option_code(name)
        o = card.model.options[code] if code else None
        return both((o.label_ja, o.label_en)) if o else name

    orows = [[option_entry(o.name), int(o.amount) if o.amount is not None else None]
             for o in p.options]
    no = rows_for("options", len(orows))
    book.rows["options"] = no
    r = table(book, ws, r, 1, [Column("オプション / Option", "Opt_Choice", "xlp_input"),
                               Column("交渉金額 / Negotiated amount", "Opt_Override",
                                      "xlp_input_yen"),
                               Column("確認 / Check", None, "xlp_warn")], orows, min_rows=no)
    if card.model.options:
        list_validation(ws, f"A{top + 1}:A{top + no}", "Opt_Entry")
    number_validation(ws, f"B{top + 1}:B{top + no}", 0, whole=True)
    known = ", ".join(card.model.options) or "(none)"
    options = {k: (o.label_ja, o.label_en) for k, o in card.model.options.items()}
    for i in range(no):
        row, f = top + 1 + i, _item("options", i)
        # the option's id (RateCard.option_code: its id, label or entry), hidden
        formula(ws, f"{CODE_COLUMNS[0]}{row}", named_code_formula(f"A{row}", options),
                "xlp_text")
    book.define("Opt_ChoiceCode", ws, f"{CODE_COLUMNS[0]}{top + 1}:{CODE_COLUMNS[0]}{top + no}")
    for i in range(no):
        row, f = top + 1 + i, _item("options", i)
        put_check(book, ws, f"C{row}", f"Opt_{i + 1}", [
            rule(f'AND(B{row}<>"",LEN(A{row})=0)', f"{f}.name", "non-empty text"),
            rule(f'AND(A{row}<>"",{CODE_COLUMNS[0]}{row}="")', f,
                 f"an option of card {card.id!r}: {known}"[:200]),
            rule(not_number(f"B{row}", 0, whole=True), f"{f}.amount", "whole yen >= 0")])
    for c in CODE_COLUMNS:
        ws.column_dimensions[c].hidden = True
    hours = sum((c.hours or 0 for c in p.contributions if c.kind == "researcher_hours"),
                Decimal(0))
    equip = sum((c.value or 0 for c in p.contributions if c.kind == "equipment"), Decimal(0))
    ref = scalar("企業研究者の時間 / Company researcher hours", "Contrib_Hours",
                 float(hours) if hours else None, "xlp_input_num", rules=[rule(
                     not_number("Contrib_Hours", 0, 100_000), "contributions.hours",
                     "a number from 0 to 100,000")])
    number_validation(ws, ref, 0, maximum=100_000)
    ref = scalar("提供設備の価額 / Equipment provided (yen)", "Contrib_Equipment",
                 int(equip) if equip else None, "xlp_input_yen", rules=[rule(
                     not_number("Contrib_Equipment", 0, whole=True), "contributions.value",
                     "whole yen >= 0")])
    number_validation(ws, ref, 0, whole=True)
    r += 1
    # Approach B.
    t = p.total
    ref = scalar("B: 合意総額 / Agreed total", "B_Agreed", int(t.agreed) if t else None,
                 "xlp_input_yen", rules=[
                     rule(not_number("B_Agreed", 0, strict=True, whole=True), "total.agreed",
                          "whole yen > 0"),
                     rule('AND(Approach_Code="B",B_Agreed="")', "total",
                          "a [total] table with agreed = ... for approach B"),
                     rule('AND(Approach_Code="B",B_BookAs="",B_Agreed<B_Direct)', "total.agreed",
                          "an agreed total >= direct costs"),
                     rule('AND(Approach_Code="B",B_BookAs<>"",B_Agreed<B_Build)', "total.agreed",
                          "an agreed total >= the build-up it is booked with")])
    number_validation(ws, ref, 0, whole=True, above=True)
    list_validation(ws, scalar("B: 積算の内訳 / Book as (blank, X or A)", "B_BookAs",
                               t.book_as if t else None,
                               rules=choice("total.book_as", "B_BookAs", ["X", "A"])),
                    ["X", "A"])
    put(ws, f"A{r}", "B: パッケージの配分 / Package allocations", "xlp_label")
    r += 1
    top = r
    arows = [[a.name, int(a.amount), a.date] for a in (t.allocations if t else [])]
    na = rows_for("packages", len(arows))
    r = table(book, ws, r, 1, [Column("配分先 / Sub-project", "Pkg_Name", "xlp_input"),
                               Column("金額 / Amount", "Pkg_Amount", "xlp_input_yen"),
                               Column("日付 / Date", "Pkg_Date", "xlp_input_date"),
                               Column("確認 / Check", None, "xlp_warn")],
              arows, min_rows=na)
    number_validation(ws, f"B{top + 1}:B{top + na}", 0, whole=True)
    for i in range(na):
        row, f = top + 1 + i, _item("total.allocations", i)
        put_check(book, ws, f"D{row}", f"Pkg_{i + 1}", [
            rule(f'AND(COUNTA(B{row}:C{row})>0,LEN(A{row})=0)', f"{f}.name", "non-empty text"),
            rule(f'AND(A{row}<>"",B{row}="")', f"{f}.amount",
                 "a value (this key is required)"),
            rule(not_number(f"B{row}", 0, whole=True), f"{f}.amount", "whole yen >= 0"),
            rule(f'AND(C{row}<>"",NOT(ISNUMBER(C{row})))', f"{f}.date", date_rule)])
    # Approach C.
    o = p.outcome
    share = "a number from 0 to 1"
    ref = scalar("C: 最低価格（空欄=方式X）/ Floor (blank = approach X)", "C_AgreedFloor",
                 int(o.floor) if o and o.floor is not None else None, "xlp_input_yen",
                 rules=[rule(not_number("C_AgreedFloor", 0, whole=True), "outcome.floor",
                             "whole yen >= 0")])
    number_validation(ws, ref, 0, whole=True)
    ref = scalar("C: ロイヤリティ率 / Royalty rate", "C_RoyaltyRate",
                 float(o.royalty_rate) if o else None, "xlp_input_pct",
                 rules=[rule(not_number("C_RoyaltyRate", 0, 1), "outcome.royalty_rate",
                             share)])
    number_validation(ws, ref, 0, maximum=1)
    ref = scalar("C: 知財の寄与度 / Contribution share", "C_Contribution",
                 float(o.contribution) if o else 1.0, "xlp_input_pct",
                 rules=[rule(not_number("C_Contribution", 0, 1), "outcome.contribution",
                             share)])
    number_validation(ws, ref, 0, maximum=1)
    ref = scalar("C: 一時金 / Lump sum", "C_LumpSum", int(o.lump_sum) if o else None,
                 "xlp_input_yen", rules=[rule(not_number("C_LumpSum", 0, whole=True),
                                              "outcome.lump_sum", "whole yen >= 0")])
    number_validation(ws, ref, 0, whole=True)
    wts = (o.scenario_weights if o and o.scenario_weights else {})
    for s, nm in (("low", "C_WeightLow"), ("base", "C_WeightBase"), ("high", "C_WeightHigh")):
        ref = scalar(f"C: 重み {s}（空欄=料金表）/ Weight {s} (blank = card)", nm,
                     float(wts[s]) if s in wts else None, "xlp_input_pct",
                     rules=[rule(not_number(nm, 0, 1), "outcome.scenario_weights", share)])
        number_validation(ws, ref, 0, maximum=1)
    put(ws, f"A{r}", "C: 売上予測 / Sales forecast", "xlp_label")
    r += 1
    top = r
    srows = [[y.fiscal_year, int(y.low), int(y.base), int(y.high)]
             for y in (o.sales if o else [])]
    ns = rows_for("sales", len(srows))
    r = table(book, ws, r, 1, [Column("年度 / FY", "Sales_FY", "xlp_input"),
                               Column("低 / Low", "Sales_Low", "xlp_input_yen"),
                               Column("基本 / Base", "Sales_Base", "xlp_input_yen"),
                               Column("高 / High", "Sales_High", "xlp_input_yen"),
                               Column("確認 / Check", None, "xlp_warn")],
              srows, min_rows=ns)
    number_validation(ws, f"A{top + 1}:A{top + ns}", 1900, whole=True, maximum=2200)
    number_validation(ws, f"B{top + 1}:D{top + ns}", 0, whole=True)
    for i in range(ns):
        row, f = top + 1 + i, _item("outcome.sales", i)
        used = f"COUNTA(A{row}:D{row})>0"
        rules = [rule(f'AND({used},OR(NOT(ISNUMBER(A{row})),A{row}<1900,A{row}>2200))',
                      f"{f}.fiscal_year", "a fiscal year (1900 to 2200)"),
                 rule(f'AND({used},COUNTIF(Sales_FY,A{row})>1)', "outcome.sales",
                      "one row per fiscal year")]
        for c, key in (("B", "low"), ("C", "base"), ("D", "high")):
            rules.append(rule(f'AND({used},OR(NOT(ISNUMBER({c}{row})),{c}{row}<0,'
                              f'{c}{row}<>INT({c}{row})))', f"{f}.{key}", "whole yen >= 0"))
        # (the field the engine names: low when low > base, else high — SalesYear)
        rules += [rule(f"AND({used},B{row}>C{row})", f"{f}.low", "low <= base <= high"),
                  rule(f"AND({used},C{row}>D{row})", f"{f}.high", "low <= base <= high")]
        put_check(book, ws, f"E{row}", f"Sales_{i + 1}", rules)
    for label, prefix, kind, items in (("C: マイルストーン / Milestones", "MS", "milestones",
                                        o.milestones if o else []),
                                       ("C: KPI 成功報酬 / KPI fees", "KPI", "kpis",
                                        o.kpis if o else [])):
        put(ws, f"A{r}", label, "xlp_label")
        r += 1
        top = r
        mrows = [[m.name, int(m.amount), m.achieved] for m in items]
        nm = rows_for(kind, len(mrows))
        book.rows[kind] = nm
        r = table(book, ws, r, 1, [Column("名称 / Name", f"{prefix}_Name", "xlp_input"),
                                   Column("金額 / Amount", f"{prefix}_Amount",
                                          "xlp_input_yen"),
                                   Column("達成 / Achieved", f"{prefix}_Achieved",
                                          "xlp_input"),
                                   Column("確認 / Check", None, "xlp_warn")],
                  mrows, min_rows=nm)
        list_validation(ws, f"C{top + 1}:C{top + nm}", ["TRUE", "FALSE"])
        number_validation(ws, f"B{top + 1}:B{top + nm}", 0, whole=True)
        for i in range(nm):
            row, f = top + 1 + i, _item(f"outcome.{kind}", i)
            put_check(book, ws, f"D{row}", f"{prefix}_{i + 1}", [
                rule(f'AND(COUNTA(B{row}:C{row})>0,LEN(A{row})=0)', f"{f}.name",
                     "non-empty text"),
                rule(f'AND(A{row}<>"",B{row}="")', f"{f}.amount",
                     "a value (this key is required)"),
                rule(not_number(f"B{row}", 0, whole=True), f"{f}.amount", "whole yen >= 0"),
                rule(f'AND(C{row}<>"",NOT(ISLOGICAL(C{row})))', f"{f}.achieved",
                     "true or false")])
    summary(book, ws, CHECK_COLUMN, 4)
    print_setup(ws, landscape=True)
    protect(ws)
    return ws


CALC_FIRST_RESEARCHER = 8  # quotes.Calc.first_researcher_row

# Hidden columns of the Project sheet holding a table row's codes (after the check
# column T): the researchers' rank, rate source, achievement basis and day-rate bound; the
# options' id.
CODE_COLUMNS = ("U", "V", "W", "X")
R_CODES = (("R_RankCode", "B"), ("R_SourceCode", "C"), ("R_BasisCode", "F"),
           ("R_BoundCode", "I"))


def match_formula(ref: str, tests: list[tuple[str, list[str], list[str]]]) -> str:
    """The code of the first test the trimmed text in ``ref`` passes — ``(code, texts it
    equals exactly, texts it equals in any case)`` — else "".  No MATCH: it would take
    * ? ~ in a typed text as patterns.

    >>> match_formula("B9", [("professor", ["professor"], ["prof"])])
    'IF(OR(EXACT(TRIM(B9),"professor"),TRIM(B9)="prof"),"professor","")'
    """
    out = '""'
    t = f"TRIM({ref})"
    for code, exact, any_case in reversed(tests):
        parts = [f"EXACT({t},{text_literal(x)})" for x in exact] + \
            [f"{t}={text_literal(x)}" for x in any_case]
        test = parts[0] if len(parts) == 1 else f"OR({','.join(parts)})"
        out = f"IF({test},{text_literal(code)},{out})"
    return out


def named_code_formula(ref: str, table: Mapping[str, Words]) -> str:
    """The code ``ref`` names as the card's lookups take it (``RateCard.option_code``):
    a code exactly, then a Japanese name or the "日本語 / English" entry exactly, or the
    English name in any case."""
    return match_formula(ref, [(k, [k], []) for k in table] + [
        (k, [ja, both((ja, en))], [en]) for k, (ja, en) in table.items()])


def rank_code_formula(ref: str, card: RateCard) -> str:
    """The card's rank code for the text in ``ref``, as ``RateCard.rank_code`` finds it: a
    code, a rank's label (Japanese exactly, English in any case) or its "教授 / Professor"
    entry, else a common name (``vocabulary.RANK_ALIASES``: 教授, PROF …) of a rank the
    card has; "" for anything else."""
    ranks = card.model.time_charge.ranks
    aliases: dict[str, list[str]] = {}
    for alias, code in RANK_ALIASES.items():
        if code in ranks:
            aliases.setdefault(code, []).append(alias)
    labels = {k: (r.label_ja, r.label_en) for k, r in ranks.items()}
    return match_formula(ref, [(k, [k], []) for k in labels] + [
        (k, [ja, both((ja, en))], [en]) for k, (ja, en) in labels.items()] + [
        (k, [], v) for k, v in aliases.items()])


def researcher_codes(book: Book, ws: Worksheet, top: int, n: int) -> None:
    """Each researcher row's codes in hidden cells (``R_RankCode`` …, :data:`R_CODES`):
    the rank as the card resolves it, the rate source, basis and bound as
    ``vocabulary.code_for`` reads their words — "" when the text names none.  Every
    formula compares these, never the typed text."""
    tables = {"C": {k: SOURCE_WORDS[k] for k in SOURCES}, "F": ACHIEVEMENT_BASES,
              "I": DAY_RATE_BOUNDS}
    for (name, typed), column in zip(R_CODES, CODE_COLUMNS):
        for i in range(n):
            ref = f"{typed}{top + 1 + i}"
            formula(ws, f"{column}{top + 1 + i}",
                    rank_code_formula(ref, book.card) if typed == "B" else
                    code_formula(ref, tables[typed]), "xlp_text")
        book.define(name, ws, f"{column}{top + 1}:{column}{top + n}")


def partner_words(card: RateCard) -> dict[str, Words]:
    """The card's R&D tax-credit partners with their words (``vocabulary.TAX_PARTNERS``;
    a partner the vocabulary lacks is shown by its code)."""
    partners = dict.fromkeys(["university", *card.model.tax_credit.partner_rates])
    return {p: TAX_PARTNERS.get(p, (p, p)) for p in partners}


def shown_width(text: str) -> float:
    """Excel column width that shows ``text`` whole: East Asian wide characters take two
    widths (Calibri 11), plus a margin.

    >>> shown_width("教授 / Professor")
    18
    """
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text) + 2


def entry_widths(card: RateCard) -> dict[str, float]:
    """Project-sheet column widths that show every drop-down entry whole."""
    tc = card.model.time_charge
    b = [both(w) for t in (CONTRACT_WORDS, APPROACH_WORDS, ACTIVITY_WORDS, LOCATION_WORDS,
                           partner_words(card)) for w in t.values()]
    b += [both((r.label_ja, r.label_en)) for r in tc.ranks.values()]
    return {"B": max(map(shown_width, b)),
            "C": max(shown_width(both(SOURCE_WORDS[k])) for k in SOURCES),
            "I": max(shown_width(both(w)) for w in DAY_RATE_BOUNDS.values())}


def code_formula(ref: str, table: Mapping[str, Words], any_case: bool = False) -> str:
    """The code ``ref`` names in ``table`` — its code or Japanese (EXACT), its English
    (``=``: any case), or the drop-down's "日本語 / English" entry — else "".  No lookup
    with wildcards: MATCH would take * ? ~ in a typed text as patterns.

    >>> code_formula("Location", {"on": ("学内", "on campus")})
    'IF(OR(EXACT(TRIM(Location),"on"),EXACT(TRIM(Location),"学内"),EXACT(TRIM(Location),"学内 / on campus"),TRIM(Location)="on campus"),"on","")'
    """
    out = '""'
    t = f"TRIM({ref})"
    for code, words in reversed(list(table.items())):
        same = f"{t}={text_literal(code)}" if any_case else f"EXACT({t},{text_literal(code)})"
        test = (f"OR({same},EXACT({t},{text_literal(words[0])}),"
                f"EXACT({t},{text_literal(both(words))}),{t}={text_literal(words[1])})")
        out = f"IF({test},{text_literal(code)},{out})"
    return out


def _researcher_rules(row: int, f: str, rank_expected: str, tier: str,
                      day_rates: str = "a day-rate reference of the card"
                      ) -> list[tuple[str, str]]:
    """The engine's rules for one researcher row, first failing first in the engine's
    order: each value on its own (``project.Researcher``'s fields), then the row as a
    whole (``Researcher._complete``), then the period (``Project``), then the card
    (``RateCard.rank`` / ``rank_hourly`` / ``day_rate``).  The rank, rate source, basis
    and bound are compared by their code cells (:func:`researcher_codes`): a row typed
    "教授 / Professor" is the professor's."""
    A, B, C, D, E = (f"{c}{row}" for c in "ABCDE")
    H, I, J, K, L, M, N = (f"{c}{row}" for c in "HIJKLMN")
    RK, SC, BS, BD = (f"{c}{row}" for c in CODE_COLUMNS)
    used = f"COUNTA(A{row}:M{row})>0"
    rank_row = f"MATCH({RK},Rank_Names,0)"
    sources = ", ".join(f"'{s}'" for s in SOURCES)
    by_rank = f'OR({SC}="rank",{C}="")'  # blank: the engine's default source
    not_monthly = f'{SC}<>"monthly"'
    return [
        # each value
        rule(f'AND({used},{C}<>"",{SC}="")', f"{f}.rate_source",
             f"one of {sources} (or its name in the list)"),
        rule(not_number(D, 0, strict=True, whole=True), f"{f}.hourly", "whole yen > 0"),
        rule(not_number(E, 0, strict=True, whole=True), f"{f}.salary", "whole yen > 0"),
        rule(f'AND(F{row}<>"",{BS}="")', f"{f}.achievement_basis",
             "one of 'publications', 'citations', 'years' (or its name in the list)"),
        rule(f'AND({SC}="day_rate",{I}<>"",{BD}="")', f"{f}.day_rate_bound",
             "one of 'min', 'max' (or its name in the list)"),
        rule(not_number(J, 0, 100_000), f"{f}.hours", "a number from 0 to 100,000"),
        rule(not_number(L, 0, 600, strict=True), f"{f}.months", "a number > 0 (at most 600)"),
        rule(not_number(M, 0, 1, strict=True), f"{f}.effort", "a number > 0 and <= 1"),
        rule(not_number(K, 0, 20_000), f"{f}.days", "a number from 0 to 20,000"),
        # the row as a whole: a monthly rate prices months (effort optional) …
        rule(f'AND({SC}="monthly",OR({L}="",{J}<>"",{K}<>""))', f"{f}.months",
             "months of involvement for rate_source 'monthly' (price = monthly rate × "
             "months; not hours or days)"),
        rule(f'AND({N}<>"",{SC}<>"monthly")', f"{f}.monthly_rate",
             "only with rate_source 'monthly'"),   # (R_RefPrice: the project's own rate)
        rule(f'AND({SC}="monthly",{N}="",{B}="")', f"{f}.monthly_rate",
             "a monthly rate, or a rank whose monthly rate the card holds, for "
             "rate_source 'monthly'"),
        # … every other source hours, days, or months with effort
        rule(f'AND({not_monthly},{L}<>"",{M}="")', f"{f}.effort",
             "both months and effort (hours = annual hours × effort × months ÷ 12)"),
        rule(f'AND({not_monthly},{M}<>"",{L}="")', f"{f}.months",
             "both months and effort (hours = annual hours × effort × months ÷ 12)"),
        rule(f'AND({used},{not_monthly},({J}<>"")+({K}<>"")+OR({L}<>"",{M}<>"")<>1)',
             f"{f}.hours", "exactly one of hours, days, or months with effort"),
        rule(f'AND({used},{by_rank},{B}="")', f"{f}.rank", "a value for rate_source 'rank'"),
        rule(f'AND({SC}="negotiated",{D}="")', f"{f}.hourly",
             "a value for rate_source 'negotiated'"),
        rule(f'AND({SC}="day_rate",{H}="")', f"{f}.day_rate",
             "a value for rate_source 'day_rate'"),
        rule(f'AND({SC}="achievement",{N}="",F{row}="")', f"{f}.achievement_basis",
             "a value for rate_source 'achievement'"),
        rule(f'AND({SC}="salary",{B}="",{E}="")', f"{f}.salary",
             "a salary, or a rank whose salary the card holds, for rate_source 'salary'"),
        rule(f'AND({SC}="achievement",{N}="",NOT(ISNUMBER(G{row})))',
             f"{f}.publications/citations/years", "a count >= 0 for achievement_basis"),
        # the period: months × effort beyond it price time the project does not have
        rule(f'AND(ISNUMBER({L}),{L}>FY_TotalMonths)', f"{f}.months",
             "months within the project period (FY_TotalMonths: the months of Start – End)"),
        # the card
        rule(f'AND({B}<>"",{RK}="")', f"{f}.rank", rank_expected),
        rule(f'AND({used},{by_rank},NOT(ISNUMBER(INDEX(Rank_Hourly,{rank_row}))))',
             f"{f}.rate_source", "'salary' (the rank has only a salary in the card)"),
        rule(f'AND({SC}="salary",{E}="",NOT(ISNUMBER(INDEX(Rank_Salary,{rank_row}))))',
             f"{f}.salary", "a salary, or a rank whose salary the card holds"),
        rule(f'AND({SC}="achievement",{N}="",{tier}<0)', f"{f}.achievement_basis",
             "a basis and count with a tier in the card (Rates sheet)"),
        rule(f'AND({SC}="laureate",{N}="",LaureateHourly="")', f"{f}.rate_source",
             "a source the card has (the card has no laureate tier)"),
        rule(f'AND({SC}="monthly",{N}="",{RK}<>"",NOT(ISNUMBER(INDEX(Rank_Monthly,'
             f'{rank_row}))))', f"{f}.monthly_rate",
             "a monthly rate (the rank has none in the card: Rates sheet)"),
        # (EXACT, as the card's day_rate looks the id up)
        rule(f'AND({SC}="day_rate",{H}<>"",SUMPRODUCT(EXACT(DR_Id,{H}&"")*1)=0)',
             f"{f}.day_rate", day_rates[:200]),
    ]


def _fa_base_formula(book: Book, row: int, top: int, last: int) -> str:
    """An item's part of the F&A base: 0 when its category is left out of MTDC; a subaward
    counts up to what its id has left of the card's limit (workbook/mtdc.py)."""
    if book.card.model.fa.base != "mtdc":
        return f"D{row}"
    cap = mtdc.counted(row, top, last)
    # EXACT, as the engine compares categories: MATCH would take * ? ~ as wildcards.
    return (f'IF(SUMPRODUCT(EXACT(Mtdc_Excluded,A{row})*1)>0,0,'
            f'IF(EXACT(A{row},"subaward"),{cap},D{row}))')


def researcher_row(book: Book, r: Any) -> list[Any]:
    """A researcher's inputs as the Project sheet shows them — the words a drop-down shows
    for the rank, rate source, basis and bound — and, for a monthly rate given in the
    project (no column holds it), the engine's price at build time."""
    from ..pricing.timecharge import resolve_rate

    ref = None
    if r.rate_source == "monthly" and r.monthly_rate is not None:
        ref = int(resolve_rate(r, book.card).price)  # the sheet has no monthly_rate column
    count = {"publications": r.publications, "citations": r.citations,
             "years": r.years}.get(r.achievement_basis or "")
    rank = book.card.rank_code(r.rank) if r.rank is not None else None
    ranks = book.card.model.time_charge.ranks
    basis = r.achievement_basis
    return [r.name, both((ranks[rank].label_ja, ranks[rank].label_en)) if rank else r.rank,
            both(SOURCE_WORDS[r.rate_source]) if r.rate_source in SOURCES else r.rate_source,
            int(r.hourly) if r.hourly is not None else None,
            int(r.salary) if r.salary is not None else None,
            both(ACHIEVEMENT_BASES[basis]) if basis else None, count, r.day_rate,
            both(DAY_RATE_BOUNDS[r.day_rate_bound]) if r.rate_source == "day_rate" else None,
            float(r.hours) if r.hours is not None else None,
            float(r.days) if r.days is not None else None,
            float(r.months) if r.months is not None else None,
            float(r.effort) if r.effort is not None else None, ref]

