"""The office map: loading and validating it, and reading a project from mapped cells.

The four office workbooks of tests/officebooks.py are read through their maps; the clean
ones give exactly the projects written beside them, which price as the hand calculations
in officebooks.EXPECTED.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import officebooks as ob
import pytest

from xl_pricing import InputError, load_card
from xl_pricing.cells import project_from_pairs
from xl_pricing.office import engine_figures, load_map, parse_map, read_inputs
from xl_pricing.office.map import key_problem, table_columns
from xl_pricing.recalc import Recalculator


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("officebooks")
    ob.make_all(folder)
    for kind in ob.KINDS:
        ob.write_map(kind, folder)
    return folder


@pytest.mark.parametrize("kind", ob.KINDS)
def test_the_clean_book_reads_as_its_project_and_prices_as_by_hand(books, kind):
    book = books / f"{kind}.xlsx"
    m = load_map(books / f"{kind}.map.toml", book)
    card = load_card(ob.card_ref(kind, books))
    project = read_inputs(m, Recalculator(book), card)
    assert project == project_from_pairs(ob.PROJECTS[kind])
    figures = engine_figures(m.outputs, project, card, m.new_form)
    assert {k: int(v) for k, v in figures.items()} == ob.EXPECTED[kind]


def test_the_engine_figures_follow_the_hand_calculation_of_the_current_form():
    # 積算: direct 2,000,000; time charge 100 h × 30,000 + 50 h × 22,000 + 40 h × 15,000
    # = 4,700,000; F&A (2,000,000 + 4,700,000) × 30% = 2,010,000; strategic 10% of direct
    # = 200,000; total 8,910,000.
    project = project_from_pairs(ob.PROJECTS["joint_current"])
    f = engine_figures(["form.direct", "form.academic", "form.indirect", "form.strategic",
                        "form.total", "total", "mtdc"], project, load_card("jp-default"))
    assert f == {"form.direct": 2_000_000, "form.academic": 4_700_000,
                 "form.indirect": 2_010_000, "form.strategic": 200_000,
                 "form.total": 8_910_000, "total": 8_910_000, "mtdc": 2_000_000}


def test_the_us_budgets_mtdc_leaves_out_equipment_and_subawards_above_the_limit(tmp_path):
    # 19,332,000 direct − 2,500,000 equipment − (5,000,000 − 3,750,000) = 15,582,000;
    # F&A 15,582,000 × 54.7% = 8,523,354.
    project = project_from_pairs(ob.PROJECTS["us_budget"])
    card = load_card(ob.card_ref("us_budget", tmp_path))
    assert engine_figures(["mtdc", "fa"], project, card) == {
        "mtdc": Decimal(15_582_000), "fa": Decimal(8_523_354)}


def test_the_new_form_choice_b_puts_direct_costs_in_expenses():
    project = project_from_pairs(ob.PROJECTS["joint_new"])
    card = load_card("jp-default")
    b = engine_figures(["form_new.remuneration", "form_new.expenses"], project, card, "B")
    a = engine_figures(["form_new.remuneration", "form_new.expenses"], project, card, "A")
    assert b == {"form_new.remuneration": 10_000_000, "form_new.expenses": 2_000_000}
    assert a == {"form_new.remuneration": 12_000_000, "form_new.expenses": 0}


@pytest.mark.parametrize("key", ["start", "project.start", "direct.1.amount",
                                 "direct.consumables", "researchers.2.hours",
                                 "researchers.1.rank", "options.know_how", "options.1",
                                 "total.agreed", "outcome.sales.1.base", "tax.use_credit",
                                 "outcome.scenario_weights.low", "contributions.1.hours"])
def test_project_keys_are_accepted(key):
    assert key_problem(key) is None


@pytest.mark.parametrize("key, problem", [
    ("budget", "one of project, direct, researchers"),
    ("researchers.x.hours", "a row number (1, 2, ...) after researchers"),
    ("researchers.0.hours", "a row number"),
    ("researchers.1.salry", "one of name, rank"),
    ("researchers.1", "a column after researchers.1"),
    ("project.start.day", "nothing below project.start"),
    ("total", "a key below total: agreed"),
])
def test_unknown_keys_say_what_a_project_has(key, problem):
    assert problem in key_problem(key)


def test_table_columns_are_the_fields_of_the_rows():
    assert "hours" in table_columns("researchers")
    assert table_columns("direct") == ("category", "amount", "fiscal_year", "description",
                                      "subaward")
    assert table_columns("project") is None and table_columns("nothing") is None


SHEETS = ["申込書", "積算"]


def refused(data: dict, sheets: list[str] | None = SHEETS) -> InputError:
    with pytest.raises(InputError) as exc:
        parse_map(data, "m.toml", sheets)
    return exc.value


def test_an_unknown_input_key_is_one_message_naming_it():
    e = refused({"inputs": {"project": {"strat": "'申込書'!D6"}}})
    assert e.message.startswith("m.toml: inputs.project.strat = \"'申込書'!D6\": expected a "
                                "project key: one of id, title")


def test_a_sheet_the_workbook_lacks_is_refused_with_the_sheets_it_has():
    e = refused({"outputs": {"total": "'見積'!F14"}})
    assert e.field == "outputs.total"
    assert e.expected == "a sheet of the workbook: 申込書, 積算"


@pytest.mark.parametrize("ref, expected", [
    ("'申込書'!XFE1", "a cell inside the sheet (A1 to XFD1048576)"),
    ("'申込書'!A1048577", "a cell inside the sheet"),
    ("F14", "a reference that names its sheet"),
    ("'申込書'!F14:F15", "one cell, not a range"),
    ("'申込書'!Total", "a cell or a range of cells"),
])
def test_bad_references_are_refused(ref, expected):
    assert expected in refused({"outputs": {"total": ref}}).expected


def test_unknown_outputs_sections_and_table_columns_are_refused():
    assert "an engine figure" in refused({"outputs": {"lines.fees": "'積算'!F1"}}).expected
    assert refused({"input": {}}).field == "input"
    e = refused({"tables": [{"key": "researchers", "range": "'積算'!B6:D8",
                             "columns": ["name", "grade", "hours"]}]})
    assert (e.field, e.value) == ("tables[1].columns", "grade")
    e = refused({"tables": [{"key": "researchers", "range": "'積算'!B6:E8",
                             "columns": ["name", "rank", "hours"]}]})
    assert "one name per column of the range (4 columns)" in e.expected
    e = refused({"tables": [{"key": "staff", "range": "'積算'!B6:D8", "columns": ["name"]}]})
    assert e.field == "tables[1].key"


def test_a_key_given_twice_is_refused():
    e = refused({"values": {"start": "2026-04-01"}, "inputs": {"project.start": "'申込書'!D6"}})
    assert "each project key once (given before as values.start)" in e.expected
    e = refused({"inputs": {"researchers.1.hours": "'積算'!D6"},
                 "tables": [{"key": "researchers", "range": "'積算'!B6:D8",
                             "columns": ["name", "rank", "hours"]}]})
    assert e.field == "tables[1].key"


def test_load_map_checks_the_workbooks_sheets_and_the_file(books, tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[outputs]\ntotal = "\'見積\'!F14"\n', encoding="utf-8")
    with pytest.raises(InputError, match="a sheet of the workbook: 申込書, 積算"):
        load_map(bad, books / "joint_current.xlsx")
    assert load_map(bad).outputs == {"total": ("'見積'!F14",)}  # no workbook: not checked
    with pytest.raises(InputError, match="ending in .toml or .json"):
        load_map(tmp_path / "m.txt")


def test_a_bad_value_in_a_mapped_cell_names_the_cell(books, tmp_path):
    book = ob.make("joint_current", tmp_path / "jc.xlsx")
    m = load_map(books / "joint_current.map.toml", book)
    r = Recalculator(book)
    r.calculate({"'積算'!D7": -5})
    with pytest.raises(InputError) as exc:
        read_inputs(m, r, load_card())
    assert exc.value.field == "'積算'!D7 (researchers.2.hours)"
    assert exc.value.value == -5


def test_an_error_value_in_an_input_cell_is_refused(books, tmp_path):
    book = ob.make("us_budget", tmp_path / "us.xlsx")
    m = load_map(books / "us_budget.map.toml", book)
    r = Recalculator(book)
    r.calculate({"Budget!D8": "x"})  # salary text → F8 #VALUE! → salaries total #VALUE!
    with pytest.raises(InputError) as exc:
        read_inputs(m, r)
    assert exc.value.field == "'Budget'!F10 (direct.1.amount)"
    assert exc.value.expected == "a value, not an Excel error"


def test_a_range_written_backwards_is_stored_corner_to_corner():
    # Excel reads '積算'!D8:B6 as B6:D8; every reader of the map gets B6:D8 (the old map
    # kept D8:B6 and attach's loop over it was empty: time charge 0)
    m = parse_map({"tables": [{"key": "researchers", "range": "'積算'!$D$8:b6",
                               "columns": ["name", "rank", "hours"]}]}, "m.toml", SHEETS)
    assert m.tables[0].range == "'積算'!B6:D8"


def test_two_outputs_in_one_cell_are_refused_naming_the_cell_and_both_keys():
    e = refused({"outputs": {"total": "'申込書'!F14", "form": {"total": "'申込書'!$f$14"}}})
    assert (e.field, e.value) == ("outputs.form.total", "'申込書'!$f$14")
    assert "it is the cell of outputs.total too" in e.expected
    e = refused({"outputs": {"lines.fa": ["'積算'!F20", "'申込書'!F12"],
                             "form.indirect": "'申込書'!F12"}})
    assert e.field == "outputs.form.indirect" and "outputs.lines.fa" in e.expected
