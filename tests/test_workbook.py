"""Standard workbooks: structure, targets, determinism, safety, and agreement of the
recalculated native workbook with the engine on every line and the total."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from conftest import EXAMPLES, ROOT, make
from xl_pricing import InputError, load_card, load_project
from xl_pricing.rates import shipped_cards
from xl_pricing.recalc import recalculate
from engine_names import expected_names
from xl_pricing.workbook import (TARGETS, build, build_workbook, output_name,
                                 workbook_bytes)

SHEETS = ["Project", "Quote X", "Quote A", "Quote B", "Quote C", "Compare", "Form (current)",
          "Form (new)", "Allocation", "Industrial", "Rates", "Calc"]


def formulas_of(wb: openpyxl.Workbook) -> list[str]:
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                text = getattr(v, "text", v)
                if isinstance(text, str) and c.data_type in ("f",) or \
                        type(v).__name__ == "ArrayFormula":
                    out.append(str(text))
    return out


@pytest.fixture(scope="module")
def a_project():
    return load_project(ROOT / "templates" / "projects" / "a-stacked-sponsored.toml")


def test_sheets_names_and_office_setup(jp, a_project):
    wb = build_workbook(jp, a_project, "udf")
    assert wb.sheetnames == SHEETS
    assert wb["Calc"].sheet_state == "hidden"
    names = set(wb.defined_names)
    assert {"Total", "X_Total", "A_Total", "B_Total", "C_Total", "Contract", "Approach",
            "Activity", "Location", "Start", "End", "B_Agreed", "C_RoyaltyRate", "CardId",
            "CardSha256", "Form_Total", "NewForm_Remuneration", "TaxCredit", "Alloc_Total",
            "Industrial_Total", "Rank_Hourly", "FA_Key"} <= names
    project = wb["Project"]
    assert project.protection.sheet and wb["Quote A"].protection.sheet
    contract = wb.defined_names["Contract"].attr_text.split("!")[1].replace("$", "")
    assert project[contract].value == "受託研究 / sponsored research"  # the entry shown
    assert project[contract].protection.locked is False          # an input
    validations = project.data_validations.dataValidation
    assert any('"共同研究 / joint research,受託研究 / sponsored research,学術指導 / '
               'academic consulting"' == v.formula1 for v in validations)
    # ranks and options over the Rates sheet's entries ("教授 / Professor")
    assert {"Rank_Entry", "Opt_Entry"} <= {v.formula1 for v in validations}
    for ws in wb.worksheets:
        if ws.title != "Calc":
            assert int(ws.page_setup.paperSize) == 9 and int(ws.page_setup.fitToWidth) == 1  # A4
    assert wb["Compare"]._charts and wb["Allocation"]._charts
    total = wb.defined_names["A_Total"].attr_text.split("!")[1].replace("$", "")
    assert wb["Quote A"][total].number_format.startswith('"¥"#,##0')
    labels = " ".join(str(c.value) for c in wb["Form (current)"]["A"] if c.value)
    assert "① 直接経費" in labels and "Direct costs" in labels and "④ 戦略的産学連携経費" in labels
    assert "報酬" in " ".join(str(c.value) for c in wb["Form (new)"]["A"] if c.value)


def test_targets_spell_the_functions(jp, a_project):
    udf = formulas_of(build_workbook(jp, a_project, "udf"))
    native = formulas_of(build_workbook(jp, a_project, "native"))
    officejs = formulas_of(build_workbook(jp, a_project, "officejs"))
    assert any("XLP_FA(" in f for f in udf) and any("XLP_TIMECHARGE(" in f for f in udf)
    assert not any("XLP_" in f for f in native)
    assert any("_xldudf_XLP_FA(" in f for f in officejs)
    assert not any(re.search(r"(?<!_xldudf_)XLP_[A-Z_]+\(", f) for f in officejs)
    for f in native:
        assert "XLOOKUP" not in f and "_xlfn." not in f and "[#" not in f


def test_building_twice_gives_identical_bytes(jp, a_project):
    for target in TARGETS:
        assert workbook_bytes(build_workbook(jp, a_project, target)) == \
            workbook_bytes(build_workbook(jp, a_project, target))


@pytest.mark.parametrize("card_id", sorted(shipped_cards()))
def test_standard_workbooks_are_up_to_date(card_id):
    card = load_card(card_id)
    for target in TARGETS:
        kept = ROOT / "workbooks" / output_name(card, None, target)
        assert kept.exists(), f"{kept} missing: run xl-pricing build --standard --out " \
                              f"workbooks --force"
        assert kept.read_bytes() == workbook_bytes(build_workbook(card, None, target)), \
            f"{kept} is out of date: run xl-pricing build --standard --out workbooks --force"


def test_text_that_looks_like_a_formula_stays_text(jp, tmp_path):
    p = make(project={"title": "=HYPERLINK(\"http://x\",\"click\")", "department": "+81",
                      "company": "@risk"},
             researchers=[{"name": "-1 Prof", "rank": "professor", "hours": 1}],
             direct=[{"category": "=cmd", "amount": 1, "description": "=1+1"}])
    wb = openpyxl.load_workbook(build(jp, p, "udf", tmp_path))
    ws = wb["Project"]
    texts = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for t in ('=HYPERLINK("http://x","click")', "+81", "@risk", "-1 Prof", "=cmd", "=1+1"):
        assert texts[t].data_type == "s", t


def test_existing_files_are_kept_unless_forced(jp, a_project, tmp_path):
    path = build(jp, a_project, "native", tmp_path)
    path.write_bytes(b"someone's edits")
    with pytest.raises(InputError, match="--force"):
        build(jp, a_project, "native", tmp_path)
    assert path.read_bytes() == b"someone's edits"
    build(jp, a_project, "native", tmp_path, force=True)
    assert path.read_bytes().startswith(b"PK")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]     # no temporary left


def test_cli_build(tmp_path):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    runner = CliRunner()
    res = runner.invoke(app, ["build", "--project", str(EXAMPLES[0]), "--target", "native",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert Path(res.stdout.strip()).exists()
    again = runner.invoke(app, ["build", "--project", str(EXAMPLES[0]), "--target", "native",
                                "--out", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.output
    bad = runner.invoke(app, ["build", "--target", "excel", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "udf, native or officejs" in bad.output


# -- recalculated workbooks agree with the engine ---------------------------------------------

def check_agreement(path: Path, project, card) -> None:
    values = recalculate(path)
    expected = expected_names(project, card)
    ap = project.project.approach
    for name, amount in expected.items():
        assert values[name] == int(amount), (name, values[name], amount)
    line_names = [n for n in values if n.startswith(f"{ap}_") and not n.endswith(
        ("_Total", "_Comp", "_Tot", "_Sum")) and "_Box_" not in n and n not in expected and
        not n.startswith(("C_Royalty_", "C_AgreedFloor", "C_Weight", "C_LumpSum", "C_Contribution",
                          "C_RoyaltyRate", "B_Agreed", "B_BookAs", "B_Direct", "B_Ratio",
                          "B_Allocated", "B_Remaining", "B_Check", "B_Build"))]
    for name in line_names:
        assert values[name] in (0, None), (name, values[name])
    total = int(expected["Total"])
    for name in ("Form_Total", "NewForm_Total", "Alloc_Total", "Industrial_Total"):
        assert values[name] == total, (name, values[name])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_native_workbook_recalculates_to_the_engine(path, tmp_path, jp):
    project = load_project(path)
    out = build(jp, project, "native", tmp_path)
    check_agreement(out, project, jp)


# The udf workbooks of the examples with several fiscal years and C (`formulas` compiles
# each in seconds); X, B and one-year A run through XLP_ functions in the udf templates of
# test_workbook_edits, with random edits.
UDF_EXAMPLES = [p for p in EXAMPLES if p.stem in ("a-multiyear-escalation",
                                                   "c-outcome-royalty")]


@pytest.mark.parametrize("path", UDF_EXAMPLES, ids=lambda p: p.stem)
def test_udf_workbook_recalculates_to_the_engine(path, tmp_path, jp):
    project = load_project(path)
    out = build(jp, project, "udf", tmp_path)
    check_agreement(out, project, jp)



@pytest.mark.parametrize("start, end, total", [
    # Harvard, F&A 69% of MTDC; strategic 10% of direct (from jp-default).
    # Award 2027 (from 2024-10-01: 50,000 USD = 7,500,000 yen of each subaward in MTDC):
    # 10,000,000 + 1,000,000 + 69% × (7,500,000 + 1,000,000) + 1,100,000 = 17,965,000.
    ("2027-04-01", "2028-03-31", 17_965_000),
    # Award 2024-04 (before: 25,000 USD = 3,750,000 yen):
    # 11,000,000 + 69% × (3,750,000 + 1,000,000) + 1,100,000 = 15,377,500.
    ("2024-04-01", "2025-03-31", 15_377_500),
])
def test_native_mtdc_caps_each_subaward_at_the_threshold_of_the_award_date(
        tmp_path, start, end, total):
    from datetime import date

    from xl_pricing.pricing import quote
    card = load_card("harvard")
    p = make(project={"approach": "A", "start": date.fromisoformat(start),
                      "end": date.fromisoformat(end)},
             direct=[{"category": "subaward", "amount": 10_000_000},
                     {"category": "consumables", "amount": 1_000_000}], researchers=[])
    assert quote(p, card).total == total
    path = build(card, p, "native", tmp_path)
    assert recalculate(path)["Total"] == total


def test_industrial_rows_close_up_over_a_zero_line(tmp_path, jp, a_project):
    """Issue 14: no blank or ¥0 row between the Industrial lines where a line is zero.
    Prof. Sato (researcher 1) set to 0 h: his time-charge line is ¥0, and the line after
    it (Assoc. Prof. Suzuki) moves up into row 3 instead of leaving a blank row."""
    from xl_pricing.recalc import Recalculator

    out = build(jp, a_project, "native", tmp_path)
    hours = openpyxl.load_workbook(out).defined_names["R_Hours"].attr_text
    sheet, rng = hours.split("!")
    first = rng.replace("$", "").split(":")[0]
    rc = Recalculator(out)
    values = rc.calculate({f"{sheet}!{first}": 0}).values
    shown = [values[f"Industrial_{k}"] for k in range(1, 27)]
    filled = [v for v in shown if v != ""]
    assert shown[:len(filled)] == filled and all(v != 0 for v in filled), shown
    # consumables, travel, Suzuki, Tanaka, Ito, two options: 7 lines, adding up to the total
    assert len(filled) == 7 and sum(filled) == values["Industrial_Total"]
    labels = [row[0] for row in rc.cells("'Industrial'!A8:A16")]
    assert "Suzuki" in labels[2] and "Sato" not in " ".join(labels), labels
    assert labels[7:] == ["", ""]


def test_a_monthly_line_shows_its_unit_in_months(tmp_path, jp):
    """Issue 14: units always shown (h, 日/day, 月/month).  A researcher at a monthly rate
    of ¥500,000 for 6 months: Quote A's line reads "… 6 月/month" and is 500,000 × 6 =
    ¥3,000,000, the engine's line (priced natively: workbook/internal.py; the total is
    the engine's too)."""
    from xl_pricing.pricing import quote
    from xl_pricing.recalc import Recalculator

    p = make(project={"approach": "A"}, researchers=[{
        "name": "Dr. Mori", "rank": "professor", "rate_source": "monthly",
        "monthly_rate": 500_000, "months": 6}])
    engine = [ln for ln in quote(p, jp).lines if ln.component == "time_charge"]
    assert [int(ln.amount) for ln in engine] == [3_000_000]
    out = build(jp, p, "native", tmp_path)
    dest = openpyxl.load_workbook(out).defined_names["A_time_charge_1"].attr_text
    row = int(re.sub(r"\D", "", dest.split("!")[1].split(":")[0]))
    rc = Recalculator(out)
    values = rc.calculate().values
    assert values["A_time_charge_1"] == 3_000_000
    assert values["Total"] == int(quote(p, jp).total)
    assert rc.cells(f"'Quote A'!B{row}")[0][0] == "Dr. Mori  6 月/month"


def test_drop_downs_show_japanese_and_english_and_formulas_use_the_code(tmp_path, jp, a_project):
    """Issue 14: drop-down entries in Japanese and English (受託研究 / sponsored research);
    the hidden code cells (Contract_Code, Approach_Code …) map the entry, the code or a
    name to the code, so the totals stay the engine's; reading back gives the code."""
    import json

    from typer.testing import CliRunner

    from xl_pricing.cli import app
    from xl_pricing.readback import workbook_project

    out = build(jp, a_project, "native", tmp_path)
    wb = openpyxl.load_workbook(out)
    ws = wb["Project"]
    shown = {n: ws[wb.defined_names[n].attr_text.split("!")[1].replace("$", "")].value
             for n in ("Contract", "Approach", "Activity", "Location")}
    assert shown == {"Contract": "受託研究 / sponsored research",
                     "Approach": "A 欧米型積み上げ方式 / A Western-standard stacking",
                     "Activity": "研究 / research", "Location": "学内 / on campus"}
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"共同研究 / joint research,受託研究 / sponsored research,学術指導 / academic ' \
           'consulting"' in lists
    assert workbook_project(out).project.contract == "sponsored"
    assert workbook_project(out).project.approach == "A"

    def recalc(*sets: str) -> dict:
        args = ["recalc", str(out), "--json"]
        for s in sets:
            args += ["--set", s]
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        return json.loads(res.output)

    # A-2027-002 is 15,287,828 (the engine, test_agreement); the code, the Japanese name
    # and the English name give the same total.
    for typed in ("受託研究", "sponsored", "sponsored research"):
        v = recalc(f"Contract={typed}")
        assert (v["Contract_Code"], v["Input_OK"], v["Total"]) == ("sponsored", True,
                                                                   15_287_828), typed
    # Approach X by its code and by the list's entry: the engine's approach-X total.
    from xl_pricing.pricing import quote
    x_total = int(quote(a_project.model_copy(update={"project": a_project.project.model_copy(
        update={"approach": "X"})}), jp).total)
    assert x_total == 2_800_000
    for typed in ("X", "X 積み上げ方式（現行） / X input-cost accumulation"):
        v = recalc(f"Approach={typed}")
        assert (v["Approach_Code"], v["Total"], v["Industrial_Total"]) == ("X", x_total,
                                                                         x_total)
    # Joint research by its Japanese name: the form's title follows the code.
    v = recalc("Contract=共同研究")
    assert v["Contract_Code"] == "joint" and v["Input_OK"] is True
    res = CliRunner().invoke(app, ["recalc", str(out), "--set", "Contract=bogus"])
    assert res.exit_code == 2 and "Contract = bogus" in res.output


# -- split of proceeds by tiers and multiples (issue 16: the workbook splits as the engine) --

@pytest.mark.parametrize("allocation, researcher, university", [
    # tiers on the royalty: researcher 50% of the first 100,000 and 25% above (department /
    # university take the rest): royalty 3% × 10,000,001 = 300,000 (rounded down) →
    # researcher 50,000 + 50,000 = 100,000; university 25,000 + 75,000 = 100,000
    ({"tiers": {"royalty": [
        {"up_to": 100_000, "shares": {"researcher": 0.5, "department": 0.25,
                                      "university": 0.25}},
        {"shares": {"researcher": 0.25, "department": 0.375, "university": 0.375}}]}},
     100_000, 100_000),
    # the university paid k = 2.5 times the researcher's royalty: 300,000 ÷ 3.5 =
    # 85,714.28… → 85,714; 300,000 × 2.5 ÷ 3.5 = 214,285.71… → 214,285 + the 1 yen left
    ({"multiples": {"royalty": {"party": "university", "of": "researcher", "k": 2.5}}},
     85_714, 214_286),
])
def test_native_allocation_splits_by_tiers_and_multiples(tmp_path, allocation, researcher,
                                                         university):
    from test_costing import card_with
    from xl_pricing.pricing import allocate, quote
    card = card_with("jp-default", allocation=allocation)
    p = make(project={"approach": "C"}, direct=[], researchers=[],
             outcome={"floor": 1_000_000, "royalty_rate": "0.03",
                      "sales": [{"fiscal_year": 2027, "low": 10_000_001,
                                 "base": 10_000_001, "high": 10_000_001}]})
    parts = allocate(quote(p, card), card)
    royalty = {c: dict(v) for c, _, v in parts.rows}["royalty"]
    assert (royalty["researcher"], royalty["university"]) == (researcher, university)
    values = recalculate(build(card, p, "native", tmp_path))
    assert "Check_CardRules" not in values or not values["Check_CardRules"]
    for party, amount in parts.by_party.items():
        assert values[f"Alloc_{party}"] == int(amount), party
    assert values["Alloc_Total"] == values["Total"] == 1_300_000


@pytest.fixture(scope="module")
def jp_template(jp, tmp_path_factory):
    """jp-default's blank native template, loaded once (``values`` does not stick)."""
    from xl_pricing.recalc import Recalculator

    path = build(jp, None, "native", tmp_path_factory.mktemp("template"))
    return path, Recalculator(path)


def _template_values(rc, sets: dict, names: list[str]) -> dict:
    """A blank native template with researcher/option rows typed (the first row of each
    column given), recalculated (validations apply: the entries are the drop-downs')."""
    rows = {"R_": 10, "Opt": 5}
    inputs = {"ProjectId": "P-1", "Approach": "A", "Start": date(2026, 4, 1),
              "End": date(2027, 3, 31)}
    for name, value in sets.items():
        n = next((k for p, k in rows.items() if name.startswith(p)), None)
        inputs[name] = [[value]] + [[None]] * (n - 1) if n else value
    return rc.values(inputs, names=names + ["Input_Check", "Input_OK"], strict=False)


def test_researcher_drop_downs_in_words_price_as_the_codes(jp_template, jp):
    """Issue 14: the rank, rate source and bound drop-downs show "日本語 / English"; a row
    typed with the entry, the code, the Japanese name or an alias prices as the code.
    jp-default: professor 30,000 yen/h × 10 h = 300,000; 3 days at Cambridge's professor
    day rate £1,250 × 160 JPY = 200,000 yen/day → 600,000, shown "3 日/day"; 10 h at the
    postdoc maximum £800 × 160 = 128,000 yen/day ÷ 7.75 h = 16,516 yen/h (down) → 165,160."""
    path, rc = jp_template
    wb = openpyxl.load_workbook(path)
    entries = [c.value for c in wb["Rates"][wb.defined_names["Rank_Entry"].attr_text
                                           .split("!")[1].replace("$", "")] for c in c]
    assert entries[0] == "教授 / Professor" and "博士研究員 / Postdoctoral researcher" in entries
    assert wb["Project"].column_dimensions["C"].width >= 30  # 平均基準単価（給与÷年間時間） / …
    for k, rank in enumerate(("教授 / Professor", "PROF", "教授", "professor")):
        v = _template_values(rc, {"R_Name": "Sato", "R_Rank": rank,
                                  "R_Source": "職位別単価 / rank rate", "R_Hours": 10},
                             ["A_time_charge_1", "R_RankCode"])
        assert (v["Input_OK"], v["A_time_charge_1"], v["R_RankCode"][0][0]) == \
            (True, 300_000, "professor"), rank
    v = _template_values(rc, {"R_Name": "Sato", "R_Source": "日額単価 / day rate",
                              "R_DayRate": "cambridge-professor", "R_Days": 3},
                         ["A_time_charge_1"])
    assert (v["Input_OK"], v["A_time_charge_1"]) == (True, 600_000), v["Input_Check"]
    v = _template_values(rc, {"R_Name": "Ito", "R_Source": "day_rate",
                              "R_DayRate": "cambridge-postdoc", "R_Bound": "上限 / maximum",
                              "R_Hours": 10}, ["A_time_charge_1"])
    assert (v["Input_OK"], v["A_time_charge_1"]) == (True, 165_160), v["Input_Check"]
    # the engine: the same figures from the same words
    from xl_pricing.pricing import quote
    p = make(project={"approach": "A"}, researchers=[
        {"name": "Sato", "rank": "教授 / Professor", "rate_source": "職位別単価 / rank rate",
         "hours": 10},
        {"name": "Sato", "rate_source": "day_rate", "day_rate": "cambridge-professor",
         "days": 3},
        {"name": "Ito", "rate_source": "日額単価 / day rate", "day_rate": "cambridge-postdoc",
         "day_rate_bound": "上限 / maximum", "hours": 10}])
    assert [int(ln.amount) for ln in quote(p, jp).lines if ln.component == "time_charge"] \
        == [300_000, 600_000, 165_160]


def test_a_day_rate_row_typed_in_a_template_shows_days(jp_template):
    out, rc = jp_template
    inputs = {"ProjectId": "P-1", "Approach": "A", "Start": date(2026, 4, 1),
              "End": date(2027, 3, 31), "R_Name": [["Sato"]] + [[None]] * 9,
              "R_Source": [["day_rate"]] + [[None]] * 9,
              "R_DayRate": [["cambridge-professor"]] + [[None]] * 9,
              "R_Days": [[3]] + [[None]] * 9}
    v = rc.values(inputs, names=["A_time_charge_1", "Input_OK"])
    rc.calculate(inputs, names=())
    dest = openpyxl.load_workbook(out).defined_names["A_time_charge_1"].attr_text
    row = int(re.sub(r"\D", "", dest.split("!")[1].split(":")[0]))
    assert v["A_time_charge_1"] == 600_000 and v["Input_OK"] is True
    assert rc.cells(f"'Quote A'!B{row}")[0][0] == "Sato  3 日/day"


def test_a_monthly_row_typed_in_a_template_prices_at_the_ranks_monthly_rate(tmp_path):
    """A card whose professor has a monthly rate of 400,000 yen: a row typed "月額単価 /
    monthly rate" for 6 months is 400,000 × 6 = 2,400,000, as the engine prices it; a rank
    without a monthly rate is refused naming monthly_rate, as the engine does."""
    from xl_pricing.pricing import quote

    text = (ROOT / "templates" / "rates" / "jp-default.toml").read_text(encoding="utf-8")
    text = text.replace('hourly = 30000\n', 'hourly = 30000\nmonthly = 400000\n', 1)
    path = tmp_path / "monthly.toml"
    path.write_text(text.replace('id = "jp-default"', 'id = "monthly-test"'), encoding="utf-8")
    card = load_card(str(path))
    from xl_pricing.recalc import Recalculator
    rc = Recalculator(build(card, None, "native", tmp_path))
    v = _template_values(rc, {"R_Name": "Mori", "R_Rank": "教授 / Professor",
                                "R_Source": "月額単価 / monthly rate", "R_Months": 6},
                         ["A_time_charge_1"])
    assert (v["Input_OK"], v["A_time_charge_1"]) == (True, 2_400_000), v["Input_Check"]
    p = make(project={"approach": "A"}, researchers=[
        {"name": "Mori", "rank": "教授", "rate_source": "monthly", "months": 6}])
    assert [int(ln.amount) for ln in quote(p, card).lines if ln.component == "time_charge"] \
        == [2_400_000]
    v = _template_values(rc, {"R_Name": "Mori", "R_Rank": "准教授 / Associate professor",
                                "R_Source": "monthly", "R_Months": 6}, ["A_time_charge_1"])
    assert v["Input_Check"].startswith("入力エラー / input error: researchers[0].monthly_rate:")


def test_option_and_partner_drop_downs_in_words(jp_template, jp):
    """An option chosen as "データ提供 / Data provision" is the card's data_provision
    (fixed 500,000 yen); the credit partner "研究開発型ベンチャー / R&D startup" takes
    jp-default's startup rate 25%: 500,000 × 0.25 = 125,000."""
    v = _template_values(jp_template[1], {"Opt_Choice": "データ提供 / Data provision",
                              "UseTaxCredit": True,
                              "TaxPartner": "研究開発型ベンチャー / R&D startup"},
                         ["A_option_1", "TaxCredit", "Opt_ChoiceCode", "TaxPartner_Code"])
    assert (v["Input_OK"], v["A_option_1"], v["TaxCredit"]) == (True, 500_000, 125_000)
    assert (v["Opt_ChoiceCode"][0][0], v["TaxPartner_Code"]) == ("data_provision", "startup")
    assert jp.option_code("データ提供 / Data provision") == "data_provision"


def test_direct_cost_lines_are_named_in_words():
    # issue 14: a template's category lines read "消耗品費 / consumables", not a code; a
    # project's own category is shown as typed; the engine's label says it in Japanese.
    wb = openpyxl.load_workbook(ROOT / "workbooks" / "jp-default-native.xlsx")
    details = [wb["Quote X"].cell(r, 2).value for r in range(5, 11)]
    assert details == ["消耗品費 / consumables", "設備備品費 / equipment", "旅費 / travel",
                       "謝金・人件費 / part-time staff", "その他 / other",
                       "その他の区分 / other categories"]
    from xl_pricing.pricing.quote import Line
    assert Line("direct", 1, detail="consumables").label_ja == "直接経費（消耗品費）"
    assert Line("direct", 1, detail="試薬").label_ja == "直接経費（試薬）"
