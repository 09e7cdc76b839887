"""attach: the card (and, with a map, the pricing) attached to a copy of an office's workbook.

The four office workbooks of tests/officebooks.py are attached with their maps; the copies
are recalculated headlessly (formulon for native formulas, formulas with the XLP_ functions
for udf) and every mapped output must equal the engine's figure for the project the office
workbook describes (read through the map) and the hand calculation in officebooks.EXPECTED.
Everything of the original that is not an intended addition must be unchanged.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

import officebooks as ob
from xl_pricing import InputError, load_card
from xl_pricing.cli import app
from xl_pricing.libreoffice import find_soffice
from xl_pricing.office import (check_against_engine, engine_figures, load_map, parse_map,
                               read_inputs)
from xl_pricing.office.attach import attach, attach_report
from xl_pricing.recalc import RecalcError, Recalculator
from xl_pricing.tomlio import read_document

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("attach")
    ob.make_all(folder)
    for kind in ob.KINDS:
        ob.write_map(kind, folder)
    return folder


def _attached(books: Path, kind: str, target: str = "native", book: Path | None = None,
              tmp: Path | None = None) -> tuple[Path, Any, Any]:
    book = book or books / f"{kind}.xlsx"
    card = load_card(ob.card_ref(kind, books))
    m = load_map(books / f"{kind}.map.toml", book)
    data, done = attach_report(book, card, m, target, today=TODAY)  # type: ignore[arg-type]
    out = (tmp or books) / f"{book.stem}-{target}-attached.xlsx"
    out.write_bytes(data)
    return out, done, m


# -- item 4: the mapped outputs price as the engine, to the yen --------------------------

@pytest.mark.parametrize("kind, target", [*((k, "native") for k in ob.KINDS),
                                          ("joint_new", "udf"), ("us_budget", "udf")])
def test_every_mapped_output_equals_the_engine(books, kind, target):
    out, done, m = _attached(books, kind, target)
    card = load_card(ob.card_ref(kind, books))
    # The engine prices what the office's own (clean) workbook says.
    project = read_inputs(m, Recalculator(books / f"{kind}.xlsx"), card)
    engine = {k: int(v) for k, v in engine_figures(m.outputs, project, card,
                                                   m.new_form).items()}
    assert engine == ob.EXPECTED[kind]  # the hand calculations of officebooks.py
    rc = Recalculator(out)
    assert rc.engine == ("formulon" if target == "native" else "formulas")
    seen = {}
    for key, cells in m.outputs.items():
        for ref in cells:
            seen[(key, ref)] = rc.cells(ref)[0][0]
            assert seen[(key, ref)] == engine[key], (key, ref)
    assert set(done.outputs.values()) == set(m.outputs)
    # native: no XLP_ call; udf: the rules are XLP_ calls
    formulas = [c.value for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows()
                for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    calls = [f for f in formulas if "XLP_APPLY_RATE(" in f or "XLP_TIMECHARGE(" in f
             or "XLP_FA(" in f or "XLP_TOTAL_INDIRECT(" in f]
    assert bool(calls) == (target == "udf")
    if target == "udf":  # XLP_CARD's sha256 of the card on disk = the one stored
        assert rc.values({}, names=["CardCheck"])["CardCheck"].startswith("unchanged")


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed; "
                    "`bash .ci/setup-libreoffice` (as root) installs it")
def test_libreoffice_computes_the_attached_us_budget_as_the_engine(books, tmp_path):
    # The independent check: MTDC (SUMPRODUCT(EXACT(Mtdc_Excluded, ...)), the subaward
    # limit) and F&A ROUNDDOWN(15,582,000 × 5470 / 10000) = 8,523,354 in LibreOffice too.
    out, _, m = _attached(books, "us_budget", tmp=tmp_path)
    rc = Recalculator(out, engine="libreoffice")
    assert {k: rc.cells(refs[0])[0][0] for k, refs in m.outputs.items()} \
        == ob.EXPECTED["us_budget"]
    check = openpyxl.load_workbook(out).defined_names["XLP_InputCheck"].attr_text
    assert rc.cells(check) == [["OK"]]


def test_a_form_with_a_wrong_reference_agrees_with_the_engine_once_attached(books, tmp_path):
    # '積算'!F20 multiplies by the strategic rate (F19, 10%) instead of F18: the office's F&A
    # is (2,000,000 + 4,700,000) × 10% = 670,000, the engine's 2,010,000.
    book = ob.make_joint_current(tmp_path / "wrong.xlsx", plant=("wrong_ref",))
    m = load_map(books / "joint_current.map.toml", book)
    card = load_card()
    before = check_against_engine(book, m, card)
    assert not before.agrees and "'積算'!F20" in [o.cell for o in before.differing]
    out, _, _ = _attached(books, "joint_current", book=book, tmp=tmp_path)
    after = check_against_engine(out, m, card)
    assert after.agrees and len(after.outputs) == 9


def test_a_changed_input_reprices_and_a_wrong_one_shows_words(books, tmp_path):
    out, _, _ = _attached(books, "joint_current", tmp=tmp_path)
    rc = Recalculator(out)
    # 教授 200 h instead of 100: time charge 4,700,000 + 3,000,000 = 7,700,000;
    # F&A (2,000,000 + 7,700,000) × 30% = 2,910,000; total 2,000,000 + 7,700,000
    # + 2,910,000 + 200,000 = 12,810,000.
    v = rc.values({"'積算'!D6": 200}, names=["XLP_InputCheck"])
    assert v["XLP_InputCheck"] == "OK"
    assert rc.cells("'申込書'!F11:F14") == [[7_700_000], [2_910_000], [200_000],
                                          [12_810_000]]
    # The added checks refuse what the engine would refuse (recalc honours validations).
    with pytest.raises(RecalcError, match="D6"):
        rc.values({"'積算'!D6": -5})
    with pytest.raises(RecalcError, match="C6"):
        rc.values({"'積算'!C6": "学長"})
    # A rank the card lacks, typed before the attach: every output says so in words.
    wb = openpyxl.load_workbook(books / "joint_current.xlsx")
    wb["積算"]["C7"] = "学長"
    wb.save(tmp_path / "bad.xlsx")
    bad, _, _ = _attached(books, "joint_current", book=tmp_path / "bad.xlsx", tmp=tmp_path)
    total = Recalculator(bad).cells("'申込書'!F14")[0][0]
    assert total.startswith("入力エラー / input error: '積算'!C7") and "rank" in total


def test_a_blank_row_of_a_table_prices_as_the_engine_skips_it(books, tmp_path):
    # 田中 (row 8) left blank: time charge 3,000,000 + 1,100,000 = 4,100,000;
    # F&A (2,000,000 + 4,100,000) × 30% = 1,830,000; total 4,100,000 + 2,000,000
    # + 1,830,000 + 200,000 = 8,130,000.
    wb = openpyxl.load_workbook(books / "joint_current.xlsx")
    for cell in ("B8", "C8", "D8"):
        wb["積算"][cell] = None
    wb.save(tmp_path / "blank.xlsx")
    out, _, m = _attached(books, "joint_current", book=tmp_path / "blank.xlsx", tmp=tmp_path)
    project = read_inputs(m, Recalculator(tmp_path / "blank.xlsx"), load_card())
    assert int(engine_figures(["total"], project, load_card())["total"]) == 8_130_000
    assert Recalculator(out).cells("'申込書'!F11:F14") == [[4_100_000], [1_830_000],
                                                         [200_000], [8_130_000]]


@pytest.mark.parametrize("target", ["native", "udf"])
def test_a_salary_rate_for_days_prices_as_the_engine(books, tmp_path, target):
    # 平均基準単価 of jp-default's professor: 10,500,000 ÷ 1,860 h = 5,645.16 → 5,645 yen/h;
    # 24 days × 7.75 h = 186 h → 1,049,970; F&A 15% → 157,495; tax 10% of 1,207,465
    # → 120,746; total 1,328,211 (office-consulting card).
    text = read_document(books / "consulting_fee.map.toml", 1 << 20)
    text["values"].update({"researchers.1.rate_source": "salary",
                           "researchers.1.rank": "professor"})
    text["inputs"]["researchers.1.days"] = text["inputs"].pop("researchers.1.hours")
    m = parse_map(text, "cf.map.toml")
    card = load_card(ob.card_ref("consulting_fee", books))
    book = books / "consulting_fee.xlsx"
    project = read_inputs(m, Recalculator(book), card)
    engine = engine_figures(m.outputs, project, card)
    assert {k: int(v) for k, v in engine.items()} == {
        "lines.time_charge": 1_049_970, "lines.fa": 157_495,
        "pre_tax_total": 1_207_465, "lines.consumption_tax": 120_746, "total": 1_328_211}
    out = tmp_path / "salary.xlsx"
    out.write_bytes(attach(book, card, m, target, today=TODAY))
    rc = Recalculator(out)
    assert {k: rc.cells(refs[0])[0][0] for k, refs in m.outputs.items()} == engine


@pytest.mark.parametrize("kind, values, outputs, expected", [
    # Approach X on the current form: direct 2,000,000; indirect 30% = 600,000; strategic
    # 10% of direct = 200,000; total 2,800,000 (the researchers are not priced in X).
    ("joint_current", {"approach": "X"},
     {"lines.indirect": "'申込書'!F12", "lines.strategic": "'申込書'!F13",
      "form.indirect": "'積算'!F20", "total": "'申込書'!F14"},
     {"lines.indirect": 600_000, "lines.strategic": 200_000, "form.indirect": 600_000,
      "total": 2_800_000}),
    # Approach B alone: agreed 12,000,000 − direct 2,000,000 = indirect 10,000,000.
    ("joint_new", {"total.book_as": None},
     {"lines.indirect": "'申込書'!F13", "form.indirect": "'積算'!F20",
      "form_new.remuneration": "'申込書'!F11", "total": "'申込書'!F19"},
     {"lines.indirect": 10_000_000, "form.indirect": 10_000_000,
      "form_new.remuneration": 10_000_000, "total": 12_000_000}),
])
def test_approach_x_and_b_alone_price_as_the_engine(books, tmp_path, kind, values, outputs,
                                                    expected):
    text = read_document(books / f"{kind}.map.toml", 1 << 20)
    for key, value in values.items():
        if value is None:
            del text["values"][key]
        else:
            text["values"][key] = value
    text["outputs"] = outputs
    m = parse_map(text, f"{kind}.map.toml")
    card, book = load_card(), books / f"{kind}.xlsx"
    project = read_inputs(m, Recalculator(book), card)
    engine = {k: int(v) for k, v in engine_figures(m.outputs, project, card,
                                                   m.new_form).items()}
    assert engine == expected
    out = tmp_path / "x.xlsx"
    out.write_bytes(attach(book, card, m, today=TODAY))
    rc = Recalculator(out)
    assert {k: rc.cells(refs[0])[0][0] for k, refs in m.outputs.items()} == expected


MIDYEAR_CARD = """\
[card]
id = "office-midyear"
institution = "Test (F&A rate raised in October)"
version = "test.1"
effective_from = 2026-04-01
extends = "jp-default"

[[fa.rates]]
activity = "research"
location = "on"
rate = 0.30

[[fa.rates]]
activity = "research"
location = "on"
rate = 0.35
effective_from = 2026-10-01
"""


def test_an_f_and_a_rate_changed_mid_year_applies_from_its_date(books, tmp_path):
    # Start 2026-11-01 (FY2026): the 35% in force since 2026-10-01 applies, as in the
    # engine: F&A (2,000,000 + 4,700,000) × 35% = 2,345,000; total 2,000,000 + 4,700,000
    # + 2,345,000 + 200,000 = 9,245,000.  Started 2026-04-01: 30%, 2,010,000, 8,910,000.
    (tmp_path / "midyear.toml").write_text(MIDYEAR_CARD, encoding="utf-8")
    card = load_card(str(tmp_path / "midyear.toml"))
    wb = openpyxl.load_workbook(books / "joint_current.xlsx")
    wb["申込書"]["D6"] = dt.date(2026, 11, 1)
    wb.save(tmp_path / "nov.xlsx")
    m = load_map(books / "joint_current.map.toml", tmp_path / "nov.xlsx")
    project = read_inputs(m, Recalculator(tmp_path / "nov.xlsx"), card)
    assert int(engine_figures(["lines.fa"], project, card)["lines.fa"]) == 2_345_000
    out = tmp_path / "nov-attached.xlsx"
    out.write_bytes(attach(tmp_path / "nov.xlsx", card, m, today=TODAY))
    rc = Recalculator(out)
    assert rc.cells("'申込書'!F12:F14") == [[2_345_000], [200_000], [9_245_000]]
    rc.values({"'申込書'!D6": dt.date(2026, 4, 1)})
    assert rc.cells("'申込書'!F12:F14") == [[2_010_000], [200_000], [8_910_000]]


@pytest.mark.parametrize("target", ["native", "udf"])
def test_months_times_effort_floor_to_a_hundredth_of_an_hour_as_the_engine(books, tmp_path,
                                                                             target):
    # 1,860 h × 15% × 7.5 months ÷ 12 = 174.375 h → 174.37 h; × 20,000 = 3,487,400;
    # F&A 15% → 523,110; tax 10% of 4,010,510 → 401,051; total 4,411,561.
    wb = openpyxl.load_workbook(books / "consulting_fee.xlsx")
    wb["学術指導料"]["F10"] = 7.5
    wb.save(tmp_path / "months.xlsx")
    text = read_document(books / "consulting_fee.map.toml", 1 << 20)
    text["values"]["researchers.1.effort"] = 0.15
    text["inputs"]["researchers.1.months"] = text["inputs"].pop("researchers.1.hours")
    m = parse_map(text, "cf.map.toml")
    card = load_card(ob.card_ref("consulting_fee", books))
    project = read_inputs(m, Recalculator(tmp_path / "months.xlsx"), card)
    engine = {k: int(v) for k, v in engine_figures(m.outputs, project, card).items()}
    assert (engine["lines.time_charge"], engine["total"]) == (3_487_400, 4_411_561)
    out = tmp_path / "months-attached.xlsx"
    out.write_bytes(attach(tmp_path / "months.xlsx", card, m, target, today=TODAY))
    rc = Recalculator(out)
    assert {k: rc.cells(refs[0])[0][0] for k, refs in m.outputs.items()} == engine


def test_a_period_over_two_fiscal_years_is_said_in_words(books, tmp_path):
    wb = openpyxl.load_workbook(books / "consulting_fee.xlsx")
    wb["学術指導料"]["D7"] = dt.date(2027, 9, 30)  # FY2026 → FY2027
    wb.save(tmp_path / "two.xlsx")
    out, _, _ = _attached(books, "consulting_fee", book=tmp_path / "two.xlsx", tmp=tmp_path)
    total = Recalculator(out).cells("'学術指導料'!F17")[0][0]
    assert "fiscal years" in total and "年度" in total


def test_an_agreed_total_below_the_build_up_is_said_in_words(books, tmp_path):
    out, _, _ = _attached(books, "joint_new", tmp=tmp_path)
    rc = Recalculator(out)
    rc.values({"'申込書'!F9": 8_000_000})  # below the 8,910,000 build-up
    assert "agreed total is below" in rc.cells("'申込書'!F19")[0][0]


# -- items 2 and 3: Rates sheet, names, provenance, out-of-sync check -----------------------

def test_the_rates_names_hold_the_cards_rates_and_the_checks_say_unchanged(books, tmp_path):
    out, done, _ = _attached(books, "joint_current", tmp=tmp_path)
    rc = Recalculator(out)
    names = ["XLP_IndirectRate", "XLP_StrategicRate", "XLP_ConsumptionTaxRate",
             "XLP_ConsultingRate", "XLP_Rate_professor", "XLP_Rate_assistant_professor",
             "XLP_FARate", "XLP_FA_research_off", "CardId", "CardSha256", "XLP_RatesCheck",
             "XLP_Provenance", "IndirectBp"]
    v = rc.values({}, names=names)
    card = load_card("jp-default")
    # jp-default: indirect 30%, strategic 10%, consumption tax 10%, consulting 50,000/h,
    # professor 30,000/h, assistant professor 15,000/h, F&A research on 30%, off 15%.
    assert (v["XLP_IndirectRate"], v["XLP_StrategicRate"], v["XLP_ConsumptionTaxRate"]) \
        == (0.3, 0.1, 0.1)
    assert (v["XLP_ConsultingRate"], v["XLP_Rate_professor"],
            v["XLP_Rate_assistant_professor"]) == (50_000, 30_000, 15_000)
    assert (v["XLP_FARate"], v["XLP_FA_research_off"], v["IndirectBp"]) == (0.3, 0.15, 3000)
    assert (v["CardId"], v["CardSha256"]) == ("jp-default", card.sha256)
    assert v["XLP_RatesCheck"].startswith("変更なし / unchanged")
    assert card.sha256 in v["XLP_Provenance"] and "2026-12-01" in v["XLP_Provenance"]
    assert done.sheet == "Rates" and set(names) <= set(done.names)
    # A rate edited on the sheet after the attach: the check says so.
    v = rc.values({"XLP_IndirectRate": 0.25}, names=["XLP_RatesCheck"])
    assert v["XLP_RatesCheck"].startswith("警告") and "WARNING" in v["XLP_RatesCheck"]


def test_an_office_sheet_named_rates_gets_a_second_name_and_clashing_names_are_refused(
        books, tmp_path):
    wb = openpyxl.load_workbook(books / "consulting_fee.xlsx")
    wb.create_sheet("Rates")["A1"] = "事務の料率表 / the office's own rates"
    wb.save(tmp_path / "rates.xlsx")
    data, done = attach_report(tmp_path / "rates.xlsx", load_card(), today=TODAY)
    assert done.sheet == "Rates (xl-pricing)"
    copy = openpyxl.load_workbook(io.BytesIO(data))
    assert copy.sheetnames[-2:] == ["Rates", "Rates (xl-pricing)"]
    assert copy["Rates"]["A1"].value == "事務の料率表 / the office's own rates"
    wb.defined_names["ConsultingRate"] = DefinedName("ConsultingRate",
                                                     attr_text="'学術指導料'!$F$9")
    wb.save(tmp_path / "clash.xlsx")
    with pytest.raises(InputError, match="ConsultingRate") as err:
        attach(tmp_path / "clash.xlsx", load_card(), today=TODAY)
    assert "never replaces" in str(err.value)
    jc = openpyxl.load_workbook(books / "joint_current.xlsx")
    jc.defined_names["xlp_inputcheck"] = DefinedName("xlp_inputcheck",
                                                     attr_text="'申込書'!$F$14")
    jc.save(tmp_path / "jc.xlsx")  # Excel's names ignore case
    with pytest.raises(InputError, match="XLP_InputCheck"):
        attach(tmp_path / "jc.xlsx", load_card(),
               load_map(books / "joint_current.map.toml", tmp_path / "jc.xlsx"))
    (tmp_path / "again.xlsx").write_bytes(data)
    with pytest.raises(InputError, match="XLP_Provenance"):
        attach(tmp_path / "again.xlsx", load_card(), today=TODAY)


def test_a_map_the_formulas_cannot_price_is_refused_naming_the_key(books, tmp_path):
    text = read_document(books / "consulting_fee.map.toml", 1 << 20)
    text["values"]["researchers.1.rate_source"] = "achievement"
    m = parse_map(text, "cf.map.toml")
    with pytest.raises(InputError, match="achievement"):
        attach(books / "consulting_fee.xlsx", load_card(ob.card_ref("consulting_fee", books)),
               m)
    text = read_document(books / "joint_current.map.toml", 1 << 20)
    text["inputs"]["approach"] = "'申込書'!D5"
    del text["values"]["approach"]
    with pytest.raises(InputError, match=r"inputs\.approach"):
        attach(books / "joint_current.xlsx", load_card(), parse_map(text, "jc.map.toml"))
    wb = openpyxl.load_workbook(books / "joint_current.xlsx")
    wb["申込書"].merge_cells("E14:F14")  # the total's cell is no longer the one shown
    wb.save(tmp_path / "merged.xlsx")
    with pytest.raises(InputError, match="top-left cell"):
        attach(tmp_path / "merged.xlsx", load_card(),
               load_map(books / "joint_current.map.toml", tmp_path / "merged.xlsx"))
    for key, value, expected in (("contract", "jointly", "one of joint"),
                                 ("title", "a\x0bb", "control characters"),
                                 ("title", "x" * 300, "at most 255")):
        text = read_document(books / "joint_current.map.toml", 1 << 20)
        text["inputs"].pop(key, None)
        text["values"][key] = value
        with pytest.raises(InputError, match=expected):
            attach(books / "joint_current.xlsx", load_card(), parse_map(text, "jc.map.toml"))
    text = read_document(books / "joint_current.map.toml", 1 << 20)
    text["tables"] = [t for t in text["tables"] if t["key"] != "direct"]
    text["inputs"]["direct.research"] = "'申込書'!F10"  # ='積算'!F16, lines.direct
    with pytest.raises(InputError, match="circular reference") as err:
        attach(books / "joint_current.xlsx", load_card(), parse_map(text, "jc.map.toml"))
    assert "'積算'!F16" in str(err.value) and "lines.direct" in str(err.value)
    text = read_document(books / "joint_current.map.toml", 1 << 20)
    text["outputs"]["total"] = "'積算'!D6"  # a researcher's hours
    with pytest.raises(InputError, match="not also a mapped input"):
        attach(books / "joint_current.xlsx", load_card(), parse_map(text, "jc.map.toml"))


# -- item 5: everything else stays as it was ----------------------------------------------

def _dress(path: Path) -> None:
    """What an office's form has beyond values: merges, comments, validations, names,
    print settings, widths, heights, fills."""
    wb = openpyxl.load_workbook(path)
    form, calc = wb["申込書"], wb["積算"]
    form.merge_cells("B2:E2")
    form["F14"].comment = Comment("合計は契約書と一致させる / match the contract", "事務")
    form["F14"].fill = PatternFill("solid", fgColor="DDEBF7")
    own = DataValidation(type="list", formula1='"受託,共同"', allow_blank=True)
    form.add_data_validation(own)
    own.add("D8")
    mine = DataValidation(type="whole", operator="between", formula1="0", formula2="2000")
    calc.add_data_validation(mine)
    mine.add("D6")  # the office's own check on a mapped input: attach leaves it
    wb.defined_names["OfficeTotal"] = DefinedName("OfficeTotal", attr_text="'申込書'!$F$14")
    form.page_setup.orientation = "landscape"
    form.page_setup.paperSize = form.PAPERSIZE_A4
    form.page_margins.left = 0.4
    form.print_area = "B2:F14"
    form.print_title_rows = "1:3"
    form.row_dimensions[9].height = 30
    chart = BarChart()
    chart.add_data(Reference(form, min_col=6, min_row=10, max_row=13))
    form.add_chart(chart, "H9")  # openpyxl keeps charts: attach goes ahead
    calc.column_dimensions["C"].width = 11
    calc.freeze_panes = "B6"
    wb.save(path)


def _snapshot(wb: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"names": {n: d.attr_text for n, d in wb.defined_names.items()},
                           "sheets": list(wb.sheetnames)}
    for ws in wb.worksheets:
        cells = {c.coordinate: (c.value, repr(c.font), repr(c.fill), repr(c.border),
                                repr(c.alignment), c.number_format, repr(c.protection))
                 for row in ws.iter_rows() for c in row
                 if c.value is not None or c.has_style}
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted((dv.type, dv.formula1, dv.formula2, str(dv.sqref))
                                  for dv in ws.data_validations.dataValidation),
            "comments": {c.coordinate: (c.comment.text, c.comment.author)
                         for row in ws.iter_rows() for c in row if c.comment},
            "print": (repr(ws.page_setup), repr(ws.page_margins), ws.print_area,
                      ws.print_title_rows, ws.print_title_cols, repr(ws.print_options),
                      repr(ws.sheet_properties.pageSetUpPr)),
            "widths": {k: (d.width, d.hidden) for k, d in ws.column_dimensions.items()},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "view": (ws.freeze_panes, ws.sheet_state, ws.protection.sheet),
            "local_names": {n: d.attr_text for n, d in ws.defined_names.items()},
        }
    return out


def test_only_the_intended_additions_differ(books, tmp_path):
    book = tmp_path / "joint_current.xlsx"
    ob.make_joint_current(book)
    _dress(book)
    out, done, m = _attached(books, "joint_current", book=book, tmp=tmp_path)
    before = _snapshot(openpyxl.load_workbook(book))
    after = _snapshot(openpyxl.load_workbook(out))
    assert after["sheets"] == before["sheets"] + ["Rates"]
    assert {n: v for n, v in after["names"].items() if n in before["names"]} \
        == before["names"]
    assert set(after["names"]) - set(before["names"]) == set(done.names)
    outputs = {ref.split("!")[0].strip("'") + "!" + ref.split("!")[1]
               for ref in done.outputs}
    checked = {ref.split("!")[0].strip("'") + "!" + ref.split("!")[1]
               for ref in done.validations}
    assert "'積算'!D6" in done.skipped  # the office's own validation stays the only one
    for sheet in before["sheets"]:
        b, a = before[sheet], after[sheet]
        for part in ("merged", "comments", "print", "widths", "heights", "view",
                     "local_names"):
            assert a[part] == b[part], (sheet, part)
        assert set(a["cells"]) == set(b["cells"]), sheet
        for coord, (value, *style) in b["cells"].items():
            new_value, *new_style = a["cells"][coord]
            assert new_style == style, (sheet, coord)
            if f"{sheet}!{coord}" in outputs:
                assert str(new_value).startswith("=IF(XLP_InputCheck") or \
                    str(new_value).startswith("='"), coord
            else:
                assert new_value == value, (sheet, coord)
        added = sorted(set(a["validations"]) - set(b["validations"]))
        assert set(b["validations"]) <= set(a["validations"])
        cells_added = {f"{sheet}!{c}" for v in added for c in v[3].split()}
        assert cells_added == {c for c in checked if c.startswith(f"{sheet}!")}, sheet
    assert len(outputs) == sum(len(v) for v in m.outputs.values())
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(book) as original:
        assert "xl/charts/chart1.xml" in z.namelist()
        for n, _ in enumerate(before["sheets"], start=1):  # no cell element added either
            part = f"xl/worksheets/sheet{n}.xml"
            assert z.read(part).count(b"<c ") == original.read(part).count(b"<c "), part


def test_a_workbook_the_copy_would_not_keep_whole_is_refused(books, tmp_path):
    with zipfile.ZipFile(books / "consulting_fee.xlsx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/slicers/slicer1.xml"] = b"<slicers/>"  # openpyxl does not carry slicers
    with zipfile.ZipFile(tmp_path / "slicer.xlsx", "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    with pytest.raises(InputError, match="slicers") as err:
        attach(tmp_path / "slicer.xlsx", load_card(), today=TODAY)
    assert "スライサー" in str(err.value)


def test_without_a_map_only_the_sheet_and_names_are_added(books, tmp_path):
    data = attach(books / "us_budget.xlsx", load_card(ob.card_ref("us_budget", books)),
                  today=TODAY)
    (tmp_path / "plain.xlsx").write_bytes(data)
    before = _snapshot(openpyxl.load_workbook(books / "us_budget.xlsx"))
    after = _snapshot(openpyxl.load_workbook(tmp_path / "plain.xlsx"))
    assert after["Budget"] == before["Budget"]
    assert after["sheets"] == ["Budget", "Rates"]
    assert "XLP_InputCheck" not in after["names"] and "XLP_FA_research_on" in after["names"]
    # The workbook's bytes do as well as its path.
    again = attach((books / "us_budget.xlsx").read_bytes(),
                   load_card(ob.card_ref("us_budget", books)), today=TODAY)
    assert openpyxl.load_workbook(io.BytesIO(again)).sheetnames == ["Budget", "Rates"]
    with pytest.raises(InputError, match="WORKBOOK"):
        attach(b"PK\x03\x04 not a workbook", load_card(), today=TODAY)


# -- item 1: .xlsm keeps its VBA project --------------------------------------------------

VBA = bytes(range(256)) * 16  # stands in for a compiled VBA project (only copied, never run)


def _xlsm(path: Path, source: Path) -> None:
    """An .xlsm made from an openpyxl workbook: the VBA part, its relation and type."""
    with zipfile.ZipFile(source) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/vbaProject.bin"] = VBA
    types = parts["[Content_Types].xml"].decode()
    types = types.replace("application/vnd.openxmlformats-officedocument.spreadsheetml."
                          "sheet.main+xml", "application/vnd.ms-excel.sheet.macroEnabled."
                          "main+xml")
    types = types.replace("</Types>", '<Default Extension="bin" ContentType="application/'
                          'vnd.ms-office.vbaProject"/></Types>')
    parts["[Content_Types].xml"] = types.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode().replace(
        "</Relationships>", '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
        'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


def test_an_xlsm_keeps_its_vba_project_byte_for_byte(books, tmp_path):
    _xlsm(tmp_path / "fee.xlsm", books / "consulting_fee.xlsx")
    data, done = attach_report(tmp_path / "fee.xlsm",
                               load_card(ob.card_ref("consulting_fee", books)), today=TODAY)
    assert done.vba
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.read("xl/vbaProject.bin") == VBA
        assert b"macroEnabled" in z.read("[Content_Types].xml")
        assert b"vbaProject" in z.read("xl/_rels/workbook.xml.rels")
    assert (tmp_path / "fee.xlsm").read_bytes() != data  # a copy; the input is untouched


# -- the command ---------------------------------------------------------------------------

def test_the_command_writes_a_new_file_and_never_the_input(books, tmp_path):
    run = CliRunner().invoke
    book, mp = books / "us_budget.xlsx", books / "us_budget.map.toml"
    card = ob.card_ref("us_budget", books)
    before = book.read_bytes()
    out = tmp_path / "us-attached.xlsx"
    r = run(app, ["attach", str(book), "--rates", card, "--map", str(mp), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "formulas 4" in r.output and "a formula cell" in r.output
    assert Recalculator(out).cells("'Budget'!F22") == [[27_855_354]]
    r = run(app, ["attach", str(book), "--rates", card, "--out", str(out)])
    assert r.exit_code == 2 and "--force" in r.output
    r = run(app, ["attach", str(book), "--rates", card, "--out", str(out), "--force"])
    assert r.exit_code == 0, r.output
    for target in (str(book), str(mp)):
        r = run(app, ["attach", str(book), "--map", str(mp), "--out", target, "--force"])
        assert r.exit_code == 2 and "never overwritten" in r.output
    assert book.read_bytes() == before
    r = run(app, ["attach", str(book), "--out", str(tmp_path / "x.xlsx"), "--target", "js"])
    assert r.exit_code == 2 and "--target" in r.output
    _xlsm(tmp_path / "m.xlsm", book)
    r = run(app, ["attach", str(tmp_path / "m.xlsm"), "--out", str(tmp_path / "m2.xlsx")])
    assert r.exit_code == 2 and ".xlsm" in r.output and not (tmp_path / "m2.xlsx").exists()
    bad = tmp_path / "bad.map.toml"
    bad.write_text(mp.read_text(encoding="utf-8").replace("mtdc =", "mtdx ="),
                   encoding="utf-8")
    r = run(app, ["attach", str(book), "--map", str(bad), "--out", str(tmp_path / "y.xlsx")])
    assert r.exit_code == 2 and "outputs.mtdx" in r.output and "Traceback" not in r.output


# -- the card's own rules: priced (udf) or refused, never a flat rate in their place ---------

CASES_CARD = """\
[card]
id = "cases-only"
institution = "Test"
version = "2026-12-01"
effective_from = 2026-04-01
currency = "JPY"
description = "indirect 8% up to 1,000,000 yen of direct costs, else jp-default's 30%"
extends = "jp-default"

[[indirect.cases]]
rate = 0.08
when = { direct_at_most = 1_000_000 }
"""
X_MAP = """\
[values]
id = "OFFICE-X"
contract = "joint"
approach = "X"

[inputs]
start = "'申込書'!D6"
end = "'申込書'!D7"
"direct.consumables" = "'申込書'!F10"

[outputs]
"lines.indirect" = "'申込書'!F12"
"lines.strategic" = "'申込書'!F13"
total = "'申込書'!F14"
"""


def _x_book(folder: Path) -> tuple[Path, Any]:
    """A small approach-X form: direct 800,000 (start 2026-04-01), three output cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "申込書"
    ws["C6"], ws["D6"] = "開始日", dt.date(2026, 4, 1)
    ws["C7"], ws["D7"] = "終了日", dt.date(2027, 3, 31)
    ws["C10"], ws["F10"] = "直接経費", 800_000
    for cell, label in (("C12", "間接経費"), ("C13", "戦略的産学連携経費"), ("C14", "合計")):
        ws[cell] = label
    book = folder / "x-form.xlsx"
    wb.save(book)
    (folder / "x.map.toml").write_text(X_MAP, encoding="utf-8")
    return book, load_map(folder / "x.map.toml", book)


@pytest.mark.parametrize("card_id, rules", [
    ("fukushima", ["indirect.cases[0]", "indirect.cases[1]", "indirect.cases[2]",
                   "fees.research_fee"]),
    ("kek", ["fees.research_fee"]),
])
def test_native_formulas_refuse_a_card_whose_rules_they_do_not_price(tmp_path, card_id, rules):
    # The old copy charged Fukushima's 2019 project of 800,000 a flat 30% (240,000) where
    # the engine charges 8% (64,000), and left KEK's 研究料 out of the total.
    book, m = _x_book(tmp_path)
    with pytest.raises(InputError) as exc:
        attach(book, load_card(card_id), m, "native", today=TODAY)
    e = exc.value
    assert (e.field, e.value) == ("--rates", card_id)
    assert f"card {card_id!r} has: {', '.join(rules)}" in e.expected
    assert ("--target udf prices indirect.cases[0]" in e.expected) == (card_id == "fukushima")
    assert "xl-pricing check" in e.expected and "fees.research_fee" in e.expected
    with pytest.raises(InputError, match="fees.research_fee"):  # udf does not price 研究料
        attach(book, load_card(card_id), m, "udf", today=TODAY)
    # The same map with the flat card attaches (the refusal is the card's rules, not the map)
    assert attach(book, load_card(), m, "native", today=TODAY)


def test_the_udf_target_prices_a_conditional_rate_as_the_inputs_change(tmp_path):
    # Indirect 8% of 800,000 = 64,000 (direct at most 1,000,000); strategic 10% = 80,000;
    # total 944,000.  Typed 2,000,000 in Excel: 30% = 600,000, 200,000, total 2,800,000.
    book, m = _x_book(tmp_path)
    card_path = tmp_path / "cases.toml"
    card_path.write_text(CASES_CARD, encoding="utf-8")
    card = load_card(str(card_path))
    with pytest.raises(InputError, match=r"--target udf prices indirect.cases\[0\]"):
        attach(book, card, m, "native", today=TODAY)
    out = tmp_path / "x-udf.xlsx"
    out.write_bytes(attach(book, card, m, "udf", today=TODAY))
    rc = Recalculator(out)
    assert rc.cells("'申込書'!F12:F14") == [[64_000], [80_000], [944_000]]
    project = read_inputs(m, Recalculator(book), card)
    assert {k: int(v) for k, v in engine_figures(m.outputs, project, card, "A").items()} == {
        "lines.indirect": 64_000, "lines.strategic": 80_000, "total": 944_000}
    rc.calculate({"'申込書'!F10": 2_000_000})
    assert rc.cells("'申込書'!F12:F14") == [[600_000], [200_000], [2_800_000]]


def test_a_table_range_written_backwards_prices_its_rows(books, tmp_path):
    # '積算'!D8:B6 is B6:D8: the time charge stays 4,700,000 (the old loop over the range
    # was empty: time charge 0)
    text = (books / "joint_current.map.toml").read_text(encoding="utf-8")
    path = tmp_path / "back.map.toml"
    path.write_text(text.replace("B6:D8", "D8:B6"), encoding="utf-8")
    book = books / "joint_current.xlsx"
    m = load_map(path, book)
    out = tmp_path / "back.xlsx"
    out.write_bytes(attach(book, load_card(), m, "native", today=TODAY))
    assert Recalculator(out).cells("'積算'!F9") == [[4_700_000]]
