"""The words an office's workbook labels its cells with, in Japanese and English: one
table for ``map init`` (:mod:`.finder`: which label names which input or figure) and
``lint`` (:mod:`.lint`: which label names a total or a card rate).

Labels are compared normalised: NFKC (full-width letters and digits as ASCII), case
folded; the finder also drops box numbers (①, (1)) and notes (（税込）) and takes each side
of " / " apart (:func:`label_parts`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

# -- map init: labels of inputs and figures ---------------------------------------------

# output key -> the labels that name it (compared after normalising, case-insensitive)
OUTPUT_LABELS: dict[str, tuple[str, ...]] = {
    "form.direct": ("直接経費", "直接経費計", "直接経費合計", "Direct costs", "直接コスト"),
    "form.academic": ("研究料", "学術貢献費", "Academic contribution"),
    "form.indirect": ("間接経費", "Indirect costs", "間接コスト"),
    "form.strategic": ("戦略的産学連携経費", "産学連携推進経費", "Strategic expense",
                       "Strategic collaboration expense"),
    "form_new.remuneration": ("報酬", "Remuneration"),
    "form_new.expenses": ("経費の負担", "Expenses borne"),
    "lines.time_charge": ("タイムチャージ", "Time charge", "学術指導料", "Consulting fee"),
    "lines.value_added": ("知の付加価値", "Value added of knowledge"),
    "lines.consumption_tax": ("消費税", "Consumption tax"),
    "lines.direct": ("Total direct costs", "直接経費総額"),
    "fa": ("F&A", "F&A costs", "Facilities and administrative costs"),
    "mtdc": ("MTDC", "Modified total direct costs"),
    "total": ("合計", "総計", "Total", "Grand total"),
}
INPUT_LABELS: dict[str, tuple[str, ...]] = {
    "start": ("開始日", "研究開始日", "契約開始日", "Start", "Start date"),
    "end": ("終了日", "研究終了日", "契約終了日", "End", "End date"),
    "title": ("研究題目", "研究課題名", "Title", "Project title"),
    "total.agreed": ("合意した総額", "総額", "Agreed total"),
    # one adviser's sheet (学術指導): no researchers' table
    "researchers.1.name": ("指導者", "指導教員", "Adviser", "Consultant"),
    "researchers.1.hours": ("指導時間", "関与時間", "Hours", "Consulting hours"),
}
# a period label followed by two dates: start and end
PERIOD_LABELS = ("期間", "研究期間", "契約期間", "指導期間", "Period", "Project period")
# table columns: header label -> project column ("" = a computed column, skipped)
RESEARCHER_COLUMNS = {"氏名": "name", "name": "name", "職名": "rank", "職位": "rank",
                      "rank": "rank", "時間": "hours", "hours": "hours", "関与時間": "hours",
                      "単価": "", "rate": "", "金額": "", "amount": ""}
DIRECT_COLUMNS = {"費目": "category", "item": "category", "金額": "amount",
                  "amount": "amount", "摘要": "description", "description": "description"}
# rows of direct costs, when the workbook has no 費目 / 金額 table: label -> category
DIRECT_ROWS = {"salaries": "salaries", "salaries and wages": "salaries",
               "fringe benefits": "fringe", "fringe": "fringe", "equipment": "equipment",
               "travel": "travel", "materials and supplies": "materials",
               "materials": "materials", "supplies": "materials", "subaward": "subaward",
               "subcontract": "subaward", "participant support": "participant_support",
               "tuition": "tuition", "other direct costs": "other",
               "人件費": "personnel", "謝金": "honoraria", "旅費": "travel",
               "消耗品費": "consumables", "設備備品費": "equipment", "備品費": "equipment"}
BOX = re.compile(r"^\s*(?:[①-⑳]|\(\d+\)|（\d+）|\d+[.)]|[A-Z][.)])\s*")
NOTE = re.compile(r"[（(][^（）()]*[）)]")
ROW_END = ("小計", "計", "合計", "total", "subtotal")


def label_parts(text: str) -> list[str]:
    """The names a label cell gives, normalised (NFKC, box numbers and notes dropped,
    each side of " / " apart, case folded).

    >>> label_parts("② 研究料（学術貢献費） / Academic contribution")
    ['研究料', 'academic contribution']
    >>> label_parts("合計（税込） / Total incl. tax")
    ['合計', 'total incl. tax']
    """
    out = []
    for part in text.replace("／", "/").split("/"):
        # box numbers first: NFKC turns ② into a bare 2
        p = unicodedata.normalize("NFKC", BOX.sub("", part.strip()))
        p = NOTE.sub("", BOX.sub("", p.strip())).strip()
        p = re.sub(r"\s+", " ", p).casefold()
        if p:
            out.append(p)
    return out


# -- lint: totals and card rates -----------------------------------------------------------

def norm(text: str) -> str:
    """NFKC (full-width digits and letters as ASCII), lower case."""
    return unicodedata.normalize("NFKC", text).lower()


NOT_A_TOTAL = re.compile(r"最低|最高|上限|下限|\bmin|\bmax|limit|\bcap\b")  # "minimum total"
TOTAL = re.compile(r"合\s*計|小\s*計|総\s*計|計\s*$|計\s*[/（(]|\btotal\b|\bsubtotal\b")
RATE_LABELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("research_fee", re.compile(r"研究料|research fee")),
    ("strategic", re.compile(r"戦略|strategic")),
    ("tax_credit", re.compile(r"税額控除|tax credit")),
    ("consumption_tax", re.compile(r"消費税|consumption tax|sales tax|\bvat\b")),
    ("indirect", re.compile(r"間接|一般管理費|indirect|overhead|\bf\s*&\s*a\b|"
                            r"facilities and admin")),
    ("consulting", re.compile(r"学術指導|指導料|consulting (?:rate|fee)|consultancy")),
)
CONSULTING_SHEET = re.compile(r"学術指導|consult")
HOURLY = re.compile(r"時間単価|時間当たり|円/時間|hourly rate|rate per hour|per hour")
# a limit, a change or a discount beside a rate's name is not the rate itself
NOT_A_RATE = re.compile(r"上限|下限|\bcap\b|\bmax|\bmin|limit|上昇|escalat|割引|discount|"
                         r"\bbp\b|basis point")
RATE_NAMES: dict[str, tuple[str, str]] = {
    "indirect": ("間接経費率・F&A 率", "indirect / F&A rate"),
    "strategic": ("戦略的産学連携経費率", "strategic rate"),
    "consumption_tax": ("消費税率", "consumption tax rate"),
    "tax_credit": ("研究開発税制の控除率", "tax-credit rate"),
    "consulting": ("学術指導の時間単価", "consulting rate (yen/h)"),
    "research_fee": ("研究料", "research fee (yen)"),
}
YEN_KINDS = frozenset({"consulting", "research_fee"})  # amounts in yen, not fractions


@functools.lru_cache(maxsize=4096)
def is_total_label(text: str) -> bool:
    """Whether a label names a total: 合計, 小計, 総計, 直接経費計, Total, Subtotal.

    >>> is_total_label("合計（税込） / Total incl. tax"), is_total_label("計算 / Workings")
    (True, False)
    >>> is_total_label("税額控除の最低総額 / Credit: minimum total")
    False
    """
    t = norm(text)
    return bool(TOTAL.search(t)) and not NOT_A_TOTAL.search(t)


@functools.lru_cache(maxsize=4096)
def rate_label(text: str, consulting_sheet: bool = False) -> str | None:
    """The card rate a label names (``indirect``, ``strategic``, ``consumption_tax``,
    ``tax_credit``, ``consulting``) or ``None``.

    >>> rate_label("間接経費率 / Indirect rate"), rate_label("時間単価", consulting_sheet=True)
    ('indirect', 'consulting')
    """
    t = norm(text)
    if NOT_A_RATE.search(t):
        return None
    for name, pattern in RATE_LABELS:
        if pattern.search(t):
            return name
    if consulting_sheet and HOURLY.search(t):
        return "consulting"
    return None
