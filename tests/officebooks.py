"""Office workbooks for the tests: an office's own forms, written with openpyxl.

Each workbook is laid out from the fields that published forms have (a Japanese 共同研究申込書
with its four boxes, the handbook's new 報酬 / 経費の負担 layout, a 学術指導 fee sheet, a
US-style budget with MTDC and F&A) — never a copy of anyone's file.  Each has a clean version
that prices exactly as the engine prices the matching project (:data:`PROJECTS`, hand
calculations in :data:`EXPECTED`), the office map that reads it (:data:`MAPS`) and planted
errors that ``check`` and ``lint`` must find (:data:`PLANTED`: the cell of each).

Usage::

    path = make_joint_current(tmp_path / "jc.xlsx", plant=("wrong_ref",))
    PLANTED["joint_current"]["wrong_ref"]      # "'積算'!F20"
    write_map("joint_current", tmp_path)       # tmp_path / "joint_current.map.toml"
    card_ref("us_budget", tmp_path)            # a card file for it (or a shipped id)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Iterable

import openpyxl
from openpyxl.styles import Font

KINDS = ("joint_current", "joint_new", "consulting_fee", "us_budget")
ERRORS = ("wrong_ref", "typed_rate", "typed_number", "pattern_break", "unused_rate",
          "empty_ref", "error_value", "old_fy", "bad_total")

START, END = dt.date(2026, 4, 1), dt.date(2027, 3, 31)  # FY2026, jp-default's first year
YEN = '"¥"#,##0'
Cells = dict[tuple[str, str], Any]  # (sheet, cell) -> value or "=formula"

# -- the joint-research cost sheet (積算), shared by both application forms ----------------
#
# Researchers (rank table on the right, the rank rates of jp-default):
#   山田 太郎 教授 100 h × 30,000 = 3,000,000
#   鈴木 花子 准教授 50 h × 22,000 = 1,100,000
#   田中 一郎 助教  40 h × 15,000 =   600,000      time charge (学術貢献費) 4,700,000
# Direct costs: 消耗品費 1,200,000 + 旅費 300,000 + 謝金 500,000 = 2,000,000
# 間接経費 = ROUNDDOWN((2,000,000 + 4,700,000) × 0.3) = 2,010,000  (jp-default F&A on
#            direct + time charge, 30% on campus)
# 戦略的産学連携経費 = ROUNDDOWN(2,000,000 × 0.1) = 200,000    (jp-default: 10% of direct)
# 合計 = 2,000,000 + 4,700,000 + 2,010,000 + 200,000 = 8,910,000
CALC = "積算"


def _calc_sheet() -> Cells:
    s = CALC
    c: Cells = {
        (s, "B2"): "積算 / Cost calculation",
        (s, "B4"): "研究者 / Researchers",
        (s, "B5"): "氏名 / Name", (s, "C5"): "職名 / Rank", (s, "D5"): "時間 / Hours",
        (s, "E5"): "単価 / Rate", (s, "F5"): "金額 / Amount",
        (s, "H5"): "職名 / Rank", (s, "I5"): "単価（円/時間） / Rate (yen/h)",
        (s, "B9"): "学術貢献費 小計 / Academic contribution", (s, "F9"): "=SUM(F6:F8)",
        (s, "B11"): "直接経費 / Direct costs",
        (s, "B12"): "費目 / Item", (s, "F12"): "金額 / Amount",
        (s, "B16"): "直接経費 小計 / Direct costs", (s, "F16"): "=SUM(F13:F15)",
        (s, "B18"): "間接経費率 / Indirect rate", (s, "F18"): 0.3,
        (s, "B19"): "戦略的産学連携経費率 / Strategic rate", (s, "F19"): 0.1,
        (s, "B20"): "間接経費 / Indirect costs", (s, "F20"): "=ROUNDDOWN((F16+F9)*F18,0)",
        (s, "B21"): "戦略的産学連携経費 / Strategic expense",
        (s, "F21"): "=ROUNDDOWN(F16*F19,0)",
    }
    people = [("山田 太郎", "教授", 100), ("鈴木 花子", "准教授", 50), ("田中 一郎", "助教", 40)]
    for row, (name, rank, hours) in enumerate(people, start=6):
        c[(s, f"B{row}")], c[(s, f"C{row}")], c[(s, f"D{row}")] = name, rank, hours
        c[(s, f"E{row}")] = f"=INDEX($I$6:$I$9,MATCH(C{row},$H$6:$H$9,0))"
        c[(s, f"F{row}")] = f"=D{row}*E{row}"
    for row, (rank, rate) in enumerate([("教授", 30000), ("准教授", 22000), ("講師", 18000),
                                        ("助教", 15000)], start=6):
        c[(s, f"H{row}")], c[(s, f"I{row}")] = rank, rate
    for row, (item, amount) in enumerate([("消耗品費", 1_200_000), ("旅費", 300_000),
                                          ("謝金", 500_000)], start=13):
        c[(s, f"B{row}")], c[(s, f"F{row}")] = item, amount
    return c


_CALC_PLANTS: dict[str, tuple[str, Cells]] = {
    # the indirect formula multiplies by the strategic rate (F19) instead of F18
    "wrong_ref": ("F20", {(CALC, "F20"): "=ROUNDDOWN((F16+F9)*F19,0)"}),
    # a rate typed into the formula, F18 no longer used
    "typed_rate": ("F20", {(CALC, "F20"): "=ROUNDDOWN((F16+F9)*0.25,0)"}),
    # the second researcher's amount typed over its formula (right today, stale tomorrow)
    "typed_number": ("F7", {(CALC, "F7"): 1_100_000}),
    # the third row multiplies its hours by the row above's rate
    "pattern_break": ("F8", {(CALC, "F8"): "=D8*E7"}),
    # a labelled rate nobody applies
    "unused_rate": ("F22", {(CALC, "B22"): "消費税率 / Consumption tax rate",
                            (CALC, "F22"): 0.1}),
    # the subtotal adds an empty cell (F10)
    "empty_ref": ("F9", {(CALC, "F9"): "=SUM(F6:F8)+F10"}),
    # a ratio divided by an empty cell: #DIV/0!
    "error_value": ("G20", {(CALC, "G20"): "=F20/F24"}),
}

# -- joint_current: the current form's four boxes --------------------------------------
FORM = "申込書"


def _joint_current() -> Cells:
    f = FORM
    c = _calc_sheet()
    c.update({
        (f, "B2"): "共同研究申込書 / Joint research application",
        (f, "B3"): "2026年度",
        (f, "B5"): "研究題目 / Title", (f, "D5"): "触媒スクリーニング / Catalyst screening",
        (f, "B6"): "開始日 / Start", (f, "D6"): START,
        (f, "B7"): "終了日 / End", (f, "D7"): END,
        (f, "B9"): "研究経費 / Research expenses", (f, "F9"): "金額（円） / Amount (yen)",
        (f, "B10"): "① 直接経費 / Direct costs", (f, "F10"): f"='{CALC}'!F16",
        (f, "B11"): "② 研究料（学術貢献費） / Academic contribution",
        (f, "F11"): f"='{CALC}'!F9",
        (f, "B12"): "③ 間接経費 / Indirect costs", (f, "F12"): f"='{CALC}'!F20",
        (f, "B13"): "④ 戦略的産学連携経費 / Strategic expense", (f, "F13"): f"='{CALC}'!F21",
        (f, "B14"): "合計 / Total", (f, "F14"): "=SUM(F10:F13)",
    })
    return c


# -- joint_new: the new layout, (1) 報酬 and (2) 経費の負担 (handbook fig. 10) -------------
# Total method (approach B) booked with the approach-A build-up of the cost sheet:
#   agreed total 12,000,000; build-up 8,910,000 (above) → 知の付加価値 3,090,000
#   [B] (1) 報酬 = タイムチャージ 4,700,000 + 間接経費 2,010,000 + 戦略的 200,000
#               + 知の付加価値 3,090,000 = 10,000,000
#       (2) 経費の負担 = 直接経費 2,000,000   (the engine's new_form: expenses = direct)
#   合計 12,000,000


def _joint_new() -> Cells:
    f = FORM
    c = _calc_sheet()
    c.update({
        (CALC, "B23"): "知の付加価値 / Value added of knowledge",
        (CALC, "F23"): f"='{FORM}'!F9-(F16+F9+F20+F21)",
        (f, "B2"): "共同研究申込書（総額方式） / Joint research application (total amount)",
        (f, "B3"): "2026年度",
        (f, "B5"): "研究題目 / Title", (f, "D5"): "電池材料の共同研究 / Battery materials",
        (f, "B6"): "開始日 / Start", (f, "D6"): START,
        (f, "B7"): "終了日 / End", (f, "D7"): END,
        (f, "B9"): "合意した総額 / Agreed total", (f, "F9"): 12_000_000,
        (f, "B11"): "(1) 報酬 / Remuneration", (f, "F11"): "=SUM(F12:F15)",
        (f, "C12"): "タイムチャージ / Time charge", (f, "F12"): f"='{CALC}'!F9",
        (f, "C13"): "間接経費 / Indirect costs", (f, "F13"): f"='{CALC}'!F20",
        (f, "C14"): "戦略的産学連携経費 / Strategic expense", (f, "F14"): f"='{CALC}'!F21",
        (f, "C15"): "知の付加価値 / Value added of knowledge", (f, "F15"): f"='{CALC}'!F23",
        (f, "B16"): "☐ 報酬に経費の負担分も含める (A) / includes expenses   "
                    "☑ 報酬に経費の負担分は含まない (B) / excludes expenses",
        (f, "B17"): "(2) 経費の負担 ※Bの場合に記入 / Expenses borne (B only)",
        (f, "F17"): f"='{CALC}'!F16",
        (f, "B19"): "合計 / Total", (f, "F19"): "=F11+F17",
    })
    return c


_FORM_PLANTS = {
    "joint_current": {
        "old_fy": ("B3", {(FORM, "B3"): "2023年度"}),
        # the total leaves out ④ the strategic expense
        "bad_total": ("F14", {(FORM, "F14"): "=SUM(F10:F12)"}),
    },
    "joint_new": {
        "old_fy": ("B3", {(FORM, "B3"): "令和5年度"}),
        # (1) 報酬 leaves out the value added of knowledge
        "bad_total": ("F11", {(FORM, "F11"): "=SUM(F12:F14)"}),
    },
}

# -- consulting_fee: 学術指導料 = hourly rate × hours (+ indirect) + consumption tax ---------
# Card office-consulting (jp-default with consulting 20,000 yen/h, indirect 15% of the fee,
# consumption tax 10% on consulting; cf. Hokkaido "about 20,000 JPY/h plus >= 10% indirect"):
#   学術指導料 20,000 × 24 h = 480,000
#   間接経費 ROUNDDOWN(480,000 × 0.15) = 72,000
#   小計 552,000; 消費税 ROUNDDOWN(552,000 × 0.1) = 55,200; 合計（税込） 607,200
FEE = "学術指導料"


def _consulting_fee() -> Cells:
    s = FEE
    return {
        (s, "B2"): "学術指導料 計算書 / Academic consulting fee",
        (s, "B3"): "2026年度",
        (s, "B5"): "指導者 / Adviser", (s, "D5"): "山田 太郎",
        (s, "B6"): "開始日 / Start", (s, "D6"): START,
        (s, "B7"): "終了日 / End", (s, "D7"): END,
        (s, "B9"): "時間単価 / Hourly rate", (s, "F9"): 20_000,
        (s, "B10"): "指導時間 / Hours", (s, "F10"): 24,
        (s, "B11"): "学術指導料 / Consulting fee", (s, "F11"): "=F9*F10",
        (s, "B12"): "間接経費率 / Indirect rate", (s, "F12"): 0.15,
        (s, "B13"): "間接経費 / Indirect costs", (s, "F13"): "=ROUNDDOWN(F11*F12,0)",
        (s, "B14"): "小計 / Subtotal", (s, "F14"): "=F11+F13",
        (s, "B15"): "消費税率 / Consumption tax rate", (s, "F15"): 0.1,
        (s, "B16"): "消費税 / Consumption tax", (s, "F16"): "=ROUNDDOWN(F14*F15,0)",
        (s, "B17"): "合計（税込） / Total incl. tax", (s, "F17"): "=F14+F16",
    }


_FEE_PLANTS: dict[str, tuple[str, Cells]] = {
    "wrong_ref": ("F16", {(FEE, "F16"): "=ROUNDDOWN(F14*F12,0)"}),  # tax at the indirect rate
    "typed_rate": ("F13", {(FEE, "F13"): "=ROUNDDOWN(F11*0.25,0)"}),
    "typed_number": ("F14", {(FEE, "F14"): 552_000}),
    "unused_rate": ("F19", {(FEE, "B19"): "割引率 / Discount rate", (FEE, "F19"): 0.05}),
    "empty_ref": ("F14", {(FEE, "F14"): "=F11+F13+F18"}),
    "error_value": ("G11", {(FEE, "G11"): "=F11/F18"}),
    "old_fy": ("B3", {(FEE, "B3"): "令和5年度"}),
    "bad_total": ("F17", {(FEE, "F17"): "=F11+F16"}),  # leaves out the indirect costs
}

# -- us_budget: salaries × effort, fringe, MTDC, F&A at a rate cell ------------------------
# In yen, as the shipped US cards hold them (US$25,000 ≈ 3,750,000 JPY at 150 JPY/USD).
# Card office-us: MIT's 54.7% on MTDC (equipment out, each subaward counted up to
# 3,750,000), no strategic expense.
#   salaries: 12,000,000 × 0.25 + 9,000,000 × 0.10 + 6,000,000 × 0.50 = 6,900,000
#   fringe ROUNDDOWN(6,900,000 × 0.28) = 1,932,000
#   equipment 2,500,000, travel 400,000, materials 600,000, subawards 5,000,000 + 2,000,000
#   total direct 19,332,000
#   MTDC = 19,332,000 − 2,500,000 − (5,000,000 − 3,750,000) − 0 = 15,582,000
#   F&A ROUNDDOWN(15,582,000 × 0.547) = 8,523,354;  total 27,855,354
BUDGET = "Budget"


def _us_budget() -> Cells:
    s = BUDGET
    c: Cells = {
        (s, "B1"): "Research budget / 研究予算 (US style)",
        (s, "B2"): "FY2026",
        (s, "B3"): "Start / 開始日", (s, "D3"): START,
        (s, "B4"): "End / 終了日", (s, "D4"): END,
        (s, "B6"): "Name", (s, "C6"): "Role", (s, "D6"): "Base salary",
        (s, "E6"): "Effort", (s, "F6"): "Requested",
        (s, "B10"): "Salaries", (s, "F10"): "=SUM(F7:F9)",
        (s, "B11"): "Fringe benefits", (s, "E11"): 0.28, (s, "F11"): "=ROUNDDOWN(F10*E11,0)",
        (s, "B12"): "Equipment", (s, "F12"): 2_500_000,
        (s, "B13"): "Travel", (s, "F13"): 400_000,
        (s, "B14"): "Materials and supplies", (s, "F14"): 600_000,
        (s, "B15"): "Subaward: University A", (s, "F15"): 5_000_000,
        (s, "B16"): "Subaward: University B", (s, "F16"): 2_000_000,
        (s, "B17"): "Total direct costs", (s, "F17"): "=SUM(F10:F16)",
        (s, "B18"): "Subaward MTDC limit (each)", (s, "E18"): 3_750_000,
        (s, "B19"): "MTDC (modified total direct costs)",
        (s, "F19"): "=F17-F12-MAX(0,F15-E18)-MAX(0,F16-E18)",
        (s, "B20"): "F&A rate", (s, "E20"): 0.547,
        (s, "B21"): "F&A", (s, "F21"): "=ROUNDDOWN(F19*E20,0)",
        (s, "B22"): "Total", (s, "F22"): "=F17+F21",
    }
    staff = [("A. Smith", "PI", 12_000_000, 0.25), ("B. Jones", "Co-I", 9_000_000, 0.1),
             ("C. Lee", "Postdoc", 6_000_000, 0.5)]
    for row, (name, role, salary, effort) in enumerate(staff, start=7):
        c[(s, f"B{row}")], c[(s, f"C{row}")] = name, role
        c[(s, f"D{row}")], c[(s, f"E{row}")] = salary, effort
        c[(s, f"F{row}")] = f"=D{row}*E{row}"
    return c


_US_PLANTS: dict[str, tuple[str, Cells]] = {
    "wrong_ref": ("F21", {(BUDGET, "F21"): "=ROUNDDOWN(F19*E11,0)"}),  # at the fringe rate
    "typed_rate": ("F21", {(BUDGET, "F21"): "=ROUNDDOWN(F19*0.25,0)"}),
    "typed_number": ("F8", {(BUDGET, "F8"): 900_000}),
    "pattern_break": ("F9", {(BUDGET, "F9"): "=D9*E8"}),
    "unused_rate": ("E23", {(BUDGET, "B23"): "Inflation rate", (BUDGET, "E23"): 0.03}),
    "empty_ref": ("F10", {(BUDGET, "F10"): "=SUM(F7:F9)+F5"}),
    "error_value": ("G21", {(BUDGET, "G21"): "=#REF!*E20"}),
    "old_fy": ("B2", {(BUDGET, "B2"): "FY2023"}),
    "bad_total": ("F17", {(BUDGET, "F17"): "=SUM(F10:F15)"}),  # leaves out subaward B
}


def _ref(sheet: str, cell: str) -> str:
    return f"'{sheet}'!{cell}"


def _plants(kind: str) -> dict[str, tuple[str, str, Cells]]:
    """error kind -> (sheet, cell, changes) for ``kind``."""
    out: dict[str, tuple[str, str, Cells]] = {}
    if kind in ("joint_current", "joint_new"):
        for err, (cell, changes) in _CALC_PLANTS.items():
            out[err] = (CALC, cell, changes)
        for err, (cell, changes) in _FORM_PLANTS[kind].items():
            out[err] = (FORM, cell, changes)
    elif kind == "consulting_fee":
        out = {e: (FEE, c, ch) for e, (c, ch) in _FEE_PLANTS.items()}
    else:
        out = {e: (BUDGET, c, ch) for e, (c, ch) in _US_PLANTS.items()}
    return out


PLANTED: dict[str, dict[str, str]] = {
    kind: {err: _ref(sheet, cell) for err, (sheet, cell, _) in _plants(kind).items()}
    for kind in KINDS}

_LAYOUTS: dict[str, Callable[[], Cells]] = {
    "joint_current": _joint_current, "joint_new": _joint_new,
    "consulting_fee": _consulting_fee, "us_budget": _us_budget}
_SHEETS = {"joint_current": (FORM, CALC), "joint_new": (FORM, CALC),
           "consulting_fee": (FEE,), "us_budget": (BUDGET,)}


def cells_of(kind: str, plant: Iterable[str] = ()) -> Cells:
    """The cells of workbook ``kind`` with the errors ``plant`` planted."""
    c = _LAYOUTS[kind]()
    plants = _plants(kind)
    for err in plant:
        if err not in plants:
            raise ValueError(f"no planted error {err!r} for {kind}: {sorted(plants)}")
        c.update(plants[err][2])
    return c


def make(kind: str, path: str | Path, plant: Iterable[str] = ()) -> Path:
    """Write workbook ``kind`` to ``path`` (openpyxl; no cached values, so every engine
    calculates it) and return the path."""
    path = Path(path)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in _SHEETS[kind]:
        ws = wb.create_sheet(name)
        ws.column_dimensions["B"].width = 44
        ws.column_dimensions["F"].width = 16
    for (sheet, cell), value in cells_of(kind, plant).items():
        target = wb[sheet][cell]
        target.value = value
        if isinstance(value, dt.date):
            target.number_format = "yyyy-mm-dd"
        elif isinstance(value, float):
            target.number_format = "0.0%"
        elif cell[0] in "DF" and (isinstance(value, int) or str(value).startswith("=")):
            target.number_format = YEN
        if cell in ("B2", "B1"):
            target.font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def make_joint_current(path: str | Path, plant: Iterable[str] = ()) -> Path:
    """A 共同研究申込書 with the current four boxes and its 積算 sheet."""
    return make("joint_current", path, plant)


def make_joint_new(path: str | Path, plant: Iterable[str] = ()) -> Path:
    """The new 報酬 / 経費の負担 application (total method) and its 積算 sheet."""
    return make("joint_new", path, plant)


def make_consulting_fee(path: str | Path, plant: Iterable[str] = ()) -> Path:
    """A 学術指導 fee sheet: hourly rate × hours, indirect, consumption tax."""
    return make("consulting_fee", path, plant)


def make_us_budget(path: str | Path, plant: Iterable[str] = ()) -> Path:
    """A US-style budget: salaries × effort, fringe, MTDC, F&A at a rate cell."""
    return make("us_budget", path, plant)


# -- the matching projects, cards, maps and the engine's figures ---------------------------

_RESEARCHERS = {
    "researchers.1.name": "山田 太郎", "researchers.1.rank": "professor",
    "researchers.1.hours": 100,
    "researchers.2.name": "鈴木 花子", "researchers.2.rank": "associate_professor",
    "researchers.2.hours": 50,
    "researchers.3.name": "田中 一郎", "researchers.3.rank": "assistant_professor",
    "researchers.3.hours": 40,
    "direct.1.category": "消耗品費", "direct.1.amount": 1_200_000,
    "direct.2.category": "旅費", "direct.2.amount": 300_000,
    "direct.3.category": "謝金", "direct.3.amount": 500_000,
}

PROJECTS: dict[str, dict[str, Any]] = {
    "joint_current": {"id": "OFFICE-JC", "contract": "joint", "approach": "A",
                      "title": "触媒スクリーニング / Catalyst screening",
                      "start": START, "end": END, **_RESEARCHERS},
    "joint_new": {"id": "OFFICE-JN", "contract": "joint", "approach": "B",
                  "title": "電池材料の共同研究 / Battery materials",
                  "start": START, "end": END, "total.agreed": 12_000_000,
                  "total.book_as": "A", **_RESEARCHERS},
    "consulting_fee": {"id": "OFFICE-CF", "contract": "consulting", "approach": "A",
                       "start": START, "end": END, "researchers.1.name": "山田 太郎",
                       "researchers.1.rate_source": "consulting", "researchers.1.hours": 24},
    "us_budget": {"id": "OFFICE-US", "contract": "sponsored", "approach": "A",
                  "start": START, "end": END,
                  "direct.1.category": "salaries", "direct.1.amount": 6_900_000,
                  "direct.2.category": "fringe", "direct.2.amount": 1_932_000,
                  "direct.3.category": "equipment", "direct.3.amount": 2_500_000,
                  "direct.4.category": "travel", "direct.4.amount": 400_000,
                  "direct.5.category": "materials", "direct.5.amount": 600_000,
                  "direct.6.category": "subaward", "direct.6.amount": 5_000_000,
                  "direct.7.category": "subaward", "direct.7.amount": 2_000_000},
}

# The engine's figures by hand (see the layouts above): output key -> yen.
EXPECTED: dict[str, dict[str, int]] = {
    "joint_current": {"form.direct": 2_000_000, "form.academic": 4_700_000,
                      "form.indirect": 2_010_000, "form.strategic": 200_000,
                      "total": 8_910_000, "lines.time_charge": 4_700_000,
                      "lines.direct": 2_000_000, "lines.fa": 2_010_000,
                      "lines.strategic": 200_000},
    "joint_new": {"form_new.remuneration": 10_000_000, "form_new.expenses": 2_000_000,
                  "total": 12_000_000, "lines.time_charge": 4_700_000,
                  "lines.fa": 2_010_000, "lines.strategic": 200_000,
                  "lines.value_added": 3_090_000},
    "consulting_fee": {"lines.time_charge": 480_000, "lines.fa": 72_000,
                       "pre_tax_total": 552_000, "lines.consumption_tax": 55_200,
                       "total": 607_200},
    "us_budget": {"lines.direct": 19_332_000, "mtdc": 15_582_000, "fa": 8_523_354,
                  "total": 27_855_354},
}

CARDS: dict[str, str] = {
    "consulting_fee": """\
# A consulting office's card (test): jp-default with consulting at 20,000 yen/h,
# indirect 15% of the fee and consumption tax 10% on consulting.
[card]
id = "office-consulting"
institution = "Test university (学術指導)"
version = "test.1"
effective_from = 2026-04-01
extends = "jp-default"

[strategic]
rate = 0

[time_charge]
consulting_rate = 20000

[fa]
base = "direct_plus_tc"
[[fa.rates]]
activity = "research"
location = "on"
rate = 0.15

[consumption_tax]
rate = 0.10
applies_to = ["consulting"]
prices_include_tax = false   # this office adds the tax on top of the fee
""",
    "us_budget": """\
# A US-style budget's card (test): MIT's 54.7% on MTDC, no strategic expense.
[card]
id = "office-us"
institution = "Test (US-style budget)"
version = "test.1"
effective_from = 2026-04-01
extends = "mit"

[strategic]
rate = 0

[fa]
# The book's MTDC limit (E18) is 25,000 USD a subaward, the rule before 2024-10-01: this
# test card keeps it (mit's 50,000 USD threshold from 2024-10-01 is not laid over it).
subaward_thresholds = []
""",
}


def card_ref(kind: str, folder: str | Path) -> str:
    """The card to price ``kind`` with: a shipped id, or a card file written to ``folder``."""
    if kind not in CARDS:
        return "jp-default"
    path = Path(folder) / f"{kind}.card.toml"
    if not path.exists():
        path.write_text(CARDS[kind], encoding="utf-8")
    return str(path)


def _joint_map(kind: str) -> str:
    values = ('id = "OFFICE-JC"\ncontract = "joint"\napproach = "A"\n'
              if kind == "joint_current" else
              'id = "OFFICE-JN"\ncontract = "joint"\napproach = "B"\n"total.book_as" = "A"\n')
    inputs = (f'title = "\'{FORM}\'!D5"\nstart = "\'{FORM}\'!D6"\nend = "\'{FORM}\'!D7"\n')
    if kind == "joint_new":
        inputs += f'"total.agreed" = "\'{FORM}\'!F9"\n'
    tables = (f'[[tables]]\nkey = "researchers"\nrange = "\'{CALC}\'!B6:D8"\n'
              'columns = ["name", "rank", "hours"]\n\n'
              f'[[tables]]\nkey = "direct"\nrange = "\'{CALC}\'!B13:F15"\n'
              'columns = ["category", "", "", "", "amount"]\n')
    if kind == "joint_current":
        outputs = {"form.direct": (FORM, "F10"), "form.academic": (FORM, "F11"),
                   "form.indirect": (FORM, "F12"), "form.strategic": (FORM, "F13"),
                   "total": (FORM, "F14"), "lines.time_charge": (CALC, "F9"),
                   "lines.direct": (CALC, "F16"), "lines.fa": (CALC, "F20"),
                   "lines.strategic": (CALC, "F21")}
        head = '[map]\nworkbook = "joint_current.xlsx"\n'
    else:
        # a figure shown twice (the cost sheet and the form) is mapped to both cells
        outputs = {"form_new.remuneration": (FORM, "F11"),
                   "form_new.expenses": (FORM, "F17"), "total": (FORM, "F19"),
                   "lines.time_charge": [(CALC, "F9"), (FORM, "F12")],
                   "lines.fa": [(CALC, "F20"), (FORM, "F13")],
                   "lines.strategic": [(CALC, "F21"), (FORM, "F14")],
                   "lines.value_added": [(CALC, "F23"), (FORM, "F15")]}
        head = '[map]\nworkbook = "joint_new.xlsx"\nnew_form = "B"\n'
    out = ""
    for k, where in outputs.items():
        refs = [f'"\'{s}\'!{c}"' for s, c in (where if isinstance(where, list) else [where])]
        out += f'"{k}" = ' + (refs[0] if len(refs) == 1 else f"[{', '.join(refs)}]") + "\n"
    return f"{head}\n[values]\n{values}\n[inputs]\n{inputs}\n{tables}\n[outputs]\n{out}"


MAPS: dict[str, str] = {
    "joint_current": _joint_map("joint_current"),
    "joint_new": _joint_map("joint_new"),
    "consulting_fee": f"""\
[map]
workbook = "consulting_fee.xlsx"

[values]
id = "OFFICE-CF"
contract = "consulting"
approach = "A"
"researchers.1.rate_source" = "consulting"

[inputs]
start = "'{FEE}'!D6"
end = "'{FEE}'!D7"
"researchers.1.name" = "'{FEE}'!D5"
"researchers.1.hours" = "'{FEE}'!F10"

[outputs]
"lines.time_charge" = "'{FEE}'!F11"
"lines.fa" = "'{FEE}'!F13"
"pre_tax_total" = "'{FEE}'!F14"
"lines.consumption_tax" = "'{FEE}'!F16"
total = "'{FEE}'!F17"
""",
    "us_budget": f"""\
[map]
workbook = "us_budget.xlsx"

[values]
id = "OFFICE-US"
contract = "sponsored"
approach = "A"
"direct.1.category" = "salaries"
"direct.2.category" = "fringe"
"direct.3.category" = "equipment"
"direct.4.category" = "travel"
"direct.5.category" = "materials"
"direct.6.category" = "subaward"
"direct.7.category" = "subaward"

[inputs]
start = "{BUDGET}!D3"
end = "{BUDGET}!D4"
"direct.1.amount" = "{BUDGET}!F10"
"direct.2.amount" = "{BUDGET}!F11"
"direct.3.amount" = "{BUDGET}!F12"
"direct.4.amount" = "{BUDGET}!F13"
"direct.5.amount" = "{BUDGET}!F14"
"direct.6.amount" = "{BUDGET}!F15"
"direct.7.amount" = "{BUDGET}!F16"

[outputs]
"lines.direct" = "{BUDGET}!F17"
mtdc = "{BUDGET}!F19"
fa = "{BUDGET}!F21"
total = "{BUDGET}!F22"
""",
}


def write_map(kind: str, folder: str | Path) -> Path:
    """The office map of ``kind`` written to ``folder`` as ``<kind>.map.toml``."""
    path = Path(folder) / f"{kind}.map.toml"
    path.write_text(MAPS[kind], encoding="utf-8")
    return path


def make_all(folder: str | Path, plant: Iterable[str] = ()) -> dict[str, Path]:
    """Every kind (clean, or with each of ``plant`` that applies) in ``folder``."""
    plant = tuple(plant)
    return {kind: make(kind, Path(folder) / f"{kind}.xlsx",
                       [p for p in plant if p in PLANTED[kind]]) for kind in KINDS}
