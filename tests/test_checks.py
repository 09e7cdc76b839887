"""The standard workbook never shows a number the engine would refuse to compute: every
validation stops a wrong entry, every rule the engine enforces is a check cell naming the
engine's field, and while one fails every total says so in words (checks.py, issue 14).
Also: one truth across sheets (Compare, forms, Industrial follow Approach), the blank
templates of every shipped card, typed in, give the engine's totals."""

from __future__ import annotations

import json
import re
from datetime import date

import openpyxl
import pytest

from conftest import EXAMPLES, example
from engine_names import typed_inputs
from xl_pricing import InputError, load_card, parse_project, quote
from xl_pricing.pricing.compare import compare
from xl_pricing.rates import shipped_cards
from xl_pricing.recalc import Recalculator
from xl_pricing.workbook import build, build_workbook
from xl_pricing.workbook.checks import PREFIX, check_formula, error_text, rule
from xl_pricing.workbook.inputs import CAPACITY

TOTALS = ("Total", "X_Total", "A_Total", "B_Total", "C_Total", "Compare_X", "Compare_A",
          "Form_Total", "NewForm_Total", "NewForm_Remuneration", "Industrial_Total",
          "TaxCredit", "Alloc_Total")


def data_of(project) -> dict:
    return json.loads(project.model_dump_json(exclude_none=True))


@pytest.fixture(scope="module")
def a_book(jp, tmp_path_factory):
    """The A example's native workbook, loaded once for several input sets."""
    path = build(jp, example("a-stacked-sponsored"), "native", tmp_path_factory.mktemp("a"))
    return path, Recalculator(path)


def test_check_formula_gives_the_first_failing_rule():
    # Two rules; IF(IFERROR(bad,TRUE),text,...) nests them in order.
    f = check_formula([rule("A1<0", "x", "a number >= 0"), rule("A1>9", "x", "at most 9")])
    assert f == ('IF(IFERROR(A1<0,TRUE),"入力エラー / input error: x: a number >= 0",'
                 'IF(IFERROR(A1>9,TRUE),"入力エラー / input error: x: at most 9",""))')
    assert error_text("f", 'say "hi"').startswith(PREFIX)
    assert '""hi""' in check_formula([rule("TRUE", "f", 'say "hi"')])


def test_every_validation_stops_with_japanese_and_english(jp):
    wb = build_workbook(jp, example("a-stacked-sponsored"), "native")
    validations = wb["Project"].data_validations.dataValidation
    assert len(validations) >= 30
    for dv in validations:
        assert dv.showErrorMessage and dv.errorStyle == "stop", dv.sqref
        assert dv.errorTitle == "入力エラー / Input error"
        assert re.search(r"[ぁ-んァ-ヶ一-龥]", dv.error) and re.search(r"[a-z]{4}", dv.error)
    # Inputs the engine bounds are bounded where they are typed: effort ≤ 1, hours ≥ 0.
    kinds = {str(dv.sqref).split(":")[0]: (dv.type, dv.operator, dv.formula1, dv.formula2)
             for dv in validations}
    effort = wb.defined_names["R_Effort"].attr_text.split("!")[1].replace("$", "")
    assert kinds[effort.split(":")[0]] == ("decimal", "between", "0", "1")
    names = set(wb.defined_names)
    assert {"Input_Check", "Input_OK", "Check_Approach", "Check_B_Agreed", "Check_R_1",
            "Check_R_10", "Check_Direct_20", "Check_MS_10", "Check_KPI_10",
            "Check_Sales_5"} <= names


def test_capacity_of_templates_and_project_workbooks(jp, a_book):
    # A blank template and a project-built workbook both take at least 10 researchers,
    # 20 direct items, 10 milestones, 10 KPI fees and 5 sales years.
    for wb in (build_workbook(jp, None, "native"),
               openpyxl.load_workbook(a_book[0])):
        def rows(name):
            ref = wb.defined_names[name].attr_text.split("!")[1].replace("$", "")
            a, b = ref.split(":")
            return int(b.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - \
                int(a.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) + 1
        assert rows("R_Hours") >= 10 and rows("Direct_Amount") >= 20
        assert rows("MS_Amount") >= 10 and rows("KPI_Amount") >= 10 and rows("Sales_Base") >= 5


def test_a_wrong_input_turns_every_total_into_the_check_text(jp, a_book):
    path, rc = a_book
    # The drop-down entry in other case: Excel's list validation ignores case, so it is
    # accepted where typed; the engine refuses it (project.contract: the code, the
    # Japanese and the "日本語 / English" entry match exactly, only the English alone in
    # any case) and so does the EXACT check of Contract_Code.
    typed = "受託研究 / SPONSORED RESEARCH"
    base = data_of(example("a-stacked-sponsored"))
    with pytest.raises(InputError) as exc:   # pydantic refuses it while parsing
        parse_project({**base, "project": {**base["project"], "contract": typed}}, "t")
    field = exc.value.field
    assert field == "project.contract"
    v = rc.values({"Contract": typed})
    assert v["Input_OK"] is False
    assert v["Input_Check"].startswith(f"{PREFIX}{field}: ")
    for name in TOTALS:
        assert v[name] == v["Input_Check"], name
    # Fine again: the totals are the engine's.
    v = rc.values({})
    assert v["Input_OK"] is True and v["Total"] == 15_287_828 and v["Input_Check"] == ""


def test_pasted_values_are_caught_by_the_checks(jp, a_book, tmp_path):
    """Pasting skips Excel's validation: the checks name the field the engine names."""
    path, _ = a_book
    wb = openpyxl.load_workbook(path)

    def cell(name, n=1):
        sheet, ref = wb.defined_names[name].attr_text.split("!")
        first = ref.replace("$", "").split(":")[0]
        column = first.rstrip("0123456789")
        row = int(first[len(column):]) + n - 1
        return wb[sheet.strip("'")][f"{column}{row}"]

    cell("Approach").value = "Z"
    cell("R_Hours", 1).value = -5
    cell("R_Rank", 2).value = "dean"
    cell("B_Agreed").value = "abc"
    cell("R_Effort", 3).value = 1.5
    pasted = tmp_path / "pasted.xlsx"
    wb.save(pasted)
    v = Recalculator(pasted).values()
    base = data_of(example("a-stacked-sponsored"))
    # The engine's fields for the same mistakes, one at a time.
    with pytest.raises(InputError) as exc:
        parse_project({**base, "project": {**base["project"], "approach": "Z"}}, "t")
    assert v["Check_Approach"].startswith(f"{PREFIX}{exc.value.field}: ")   # project.approach
    for i, key, value, check in ((0, "hours", -5, "Check_R_1"), (1, "rank", "dean", "Check_R_2")):
        researchers = [dict(r) for r in base["researchers"]]
        researchers[i][key] = value
        try:
            quote(parse_project({**base, "researchers": researchers}, "t"), jp)
            raise AssertionError("the engine priced it")
        except InputError as e:
            assert v[check].startswith(f"{PREFIX}{e.field.split(' ')[0]}"), (v[check], e.field)
    assert v["Check_B_Agreed"].startswith(f"{PREFIX}total.agreed: ")
    # Effort 1.5 typed beside hours: the engine checks each value before the row as a
    # whole ("researchers[2].effort = 1.5: expected a number <= 1"), so does the check.
    assert v["Check_R_3"] == f"{PREFIX}researchers[2].effort: a number > 0 and <= 1"
    assert v["Input_Check"] == v["Check_Approach"]           # the first failing check
    for name in TOTALS:
        assert v[name] == v["Input_Check"], name             # no #N/A, no #VALUE!, no number


def test_ranks_in_words_price_and_an_unknown_rank_is_refused(jp, a_book, tmp_path):
    """The A example's first researcher (professor, 200 h at 30,000 yen/h) typed as
    "教授 / Professor" or PROF: the same total, 15,287,828 (test_agreement); pasted as 学長
    (a rank no card has, no alias): refused, the check naming researchers[0].rank as the
    engine does for the workbook read back."""
    from xl_pricing.readback import workbook_project

    path, rc = a_book
    ranks = rc.values(names=["R_Rank"])["R_Rank"]
    for typed in ("教授 / Professor", "PROF"):
        v = rc.values({"R_Rank": [[typed]] + ranks[1:]}, names=["Total", "Input_OK"])
        assert (v["Input_OK"], v["Total"]) == (True, 15_287_828), typed
    wb = openpyxl.load_workbook(path)
    sheet, ref = wb.defined_names["R_Rank"].attr_text.split("!")
    wb[sheet.strip("'")][ref.replace("$", "").split(":")[0]].value = "学長"
    wb.save(tmp_path / "pasted.xlsx")
    v = Recalculator(tmp_path / "pasted.xlsx").values(names=["Total", "Check_R_1"])
    assert v["Total"] == v["Check_R_1"] == f"{PREFIX}researchers[0].rank: a rank of card " \
        "'jp-default': professor, associate_professor, lecturer, assistant_professor, " \
        "postdoc, doctoral_student"
    with pytest.raises(InputError) as exc:
        quote(workbook_project(tmp_path / "pasted.xlsx"), jp)
    assert exc.value.field == "researchers[0].rank" and exc.value.value == "学長"


def test_one_truth_approach_b_with_an_agreed_total(jp, a_book):
    _, rc = a_book
    # Approach B, agreed 20,000,000 (direct 2,000,000 of the example: indirect 18,000,000).
    v = rc.values({"Approach": "B", "B_Agreed": 20_000_000})
    base = data_of(example("a-stacked-sponsored"))
    engine = quote(parse_project({**base, "project": {**base["project"], "approach": "B"},
                                  "total": {"agreed": 20_000_000}}, "t"), jp)
    assert engine.total == 20_000_000
    for name in ("Total", "Industrial_Total", "Form_Total", "NewForm_Total", "Alloc_Total",
                 "Compare_B"):
        assert v[name] == 20_000_000, name
    title = rc.cells("'Industrial'!A1")[0][0]
    assert "B 総額方式" in title
    # Below the direct costs: refused where it is typed, the totals say why.
    v = rc.values({"Approach": "B", "B_Agreed": 1})
    assert v["Total"] == v["Input_Check"] == \
        f"{PREFIX}total.agreed: an agreed total >= direct costs"


def test_compare_shows_what_the_compare_command_shows(jp, a_book):
    _, rc = a_book
    v = rc.values({})
    cmp = compare(example("a-stacked-sponsored"), jp)
    shown = {q.approach: int(q.total) for q in cmp.quotes}
    assert shown == {"X": 2_800_000, "A": 15_287_828}
    for ap, total in shown.items():
        assert v[f"Compare_{ap}"] == total
    for ap, reason in cmp.skipped:               # B and C do not apply: said in words
        assert v[f"Compare_{ap}"] == f"適用なし / does not apply: {reason}"
    # An agreed total below the direct costs (2,000,000) under approach A: B does not
    # apply, in the words of the engine's refusal.
    base = data_of(example("a-stacked-sponsored"))
    cmp = compare(parse_project({**base, "total": {"agreed": 1_500_000}}, "t"), jp)
    assert dict(cmp.skipped)["B"] == "total.agreed = 1500000: expected an agreed total >= " \
        "direct costs (2,000,000 yen)"
    v = rc.values({"B_Agreed": 1_500_000}, names=["Compare_B"])
    assert v["Compare_B"] == f"適用なし / does not apply: {dict(cmp.skipped)['B']}"


@pytest.mark.parametrize("contract,title", [("joint", "共同研究申込書"),
                                            ("sponsored", "受託研究申込書"),
                                            ("consulting", "学術指導申込書")])
def test_form_titles_follow_the_contract(a_book, contract, title):
    _, rc = a_book
    rc.values({"Contract": contract})
    for sheet in ("Form (current)", "Form (new)"):
        assert rc.cells(f"'{sheet}'!A1")[0][0].startswith(title), sheet


# (the names the examples are checked on: reading only these is a quarter of the time)
READ = ("Input_OK", "Input_Check", "Form_Total", "NewForm_Total", "Industrial_Total",
        "Alloc_Total")


@pytest.mark.parametrize("card_id", sorted(shipped_cards()))
def test_blank_templates_price_the_examples_typed_in(card_id, tmp_path):
    """A blank template of each shipped card, each example project typed in, gives the
    engine's total — or, where the engine refuses the project or the template cannot
    price a row without a rebuild, no number at all and the check text."""
    from xl_pricing.workbook import template_project
    from xl_pricing.workbook.inputs import unpriced_for

    card = load_card(card_id)
    rc = Recalculator(build(card, None, "native", tmp_path))
    blank = rc.values()
    assert not [n for n, x in blank.items() if isinstance(x, str) and x.startswith("#")]
    # (the workbook's own list: the card's rules less those its formulas price)
    unpriced = unpriced_for(card, template_project(card))
    if unpriced:
        # A rule the formulas would not price (none today: every card rule is): every
        # total says so, naming them, instead of showing another number than the engine.
        assert blank["Input_OK"] is False
        assert blank["Input_Check"].startswith("入力エラー / input error: card.rules: "
                                               + unpriced[0])
        assert all(blank[n] == blank["Input_Check"] for n in TOTALS)
        return
    assert blank["Input_OK"] is True
    priced = 0
    for path in EXAMPLES:
        project = example(path.stem)
        v = rc.values(typed_inputs(project, CAPACITY), names=[*TOTALS, *READ])
        try:
            engine = quote(project, card)
        except InputError as exc:
            assert v["Input_OK"] is False, path.stem
            assert all(v[n] == v["Input_Check"] for n in TOTALS), path.stem
            assert exc.field.split(".")[-1].split("[")[0] in v["Input_Check"] or \
                "rate_source" in v["Input_Check"], (path.stem, exc.field, v["Input_Check"])
            continue
        # every example prices typed in (day-rate and achievement rows included)
        assert v["Input_OK"] is True, (path.stem, v["Input_Check"])
        priced += 1
        assert v["Total"] == int(engine.total), path.stem
        for name in ("Form_Total", "NewForm_Total", "Industrial_Total"):
            assert v[name] == int(engine.total), (path.stem, name)
        # the proceeds split leave consumption tax out (Nagasaki taxes joint research)
        assert v["Alloc_Total"] == int(engine.pre_tax_total()), path.stem
    assert priced >= 1


def test_a_template_follows_the_period_typed(jp, tmp_path):
    """October 2027 to September 2029 in a template built for FY2026: three fiscal years
    (6 + 12 + 6 months), and the engine's total for the multi-year example (its first
    researcher priced from the rank table, which a template prices live)."""
    rc = Recalculator(build(jp, None, "native", tmp_path))
    base = data_of(example("a-multiyear-escalation"))
    researchers = [dict(r) for r in base["researchers"]]
    researchers[0] = {"name": researchers[0]["name"], "rank": "professor",
                      "rate_source": "rank", "hours": researchers[0]["hours"]}
    project = parse_project({**base, "researchers": researchers}, "t")
    assert (project.project.start, project.project.end) == (date(2027, 10, 1),
                                                            date(2029, 9, 30))
    v = rc.values(typed_inputs(project, CAPACITY))
    assert v["FY_Year"] == [[2027, 2028, 2029, None, None]] or \
        v["FY_Year"] == [[2027, 2028, 2029, "", ""]]
    assert v["FY_Months"] == [[6, 12, 6, 0, 0]] and v["FY_TotalMonths"] == 24
    assert v["Input_OK"] is True, v["Input_Check"]
    assert v["Total"] == int(quote(project, jp).total)
    # Six fiscal years do not fit the template's five columns: said, not mispriced.
    v = rc.values({**typed_inputs(project, CAPACITY), "End": date(2033, 3, 31)})
    assert v["Total"] == v["Input_Check"] and "project.end" in v["Input_Check"]
