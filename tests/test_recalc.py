"""Headless recalculation of workbooks with the XLP_ functions (``xl_pricing.recalc``).

Small workbooks are written with openpyxl into ``tmp_path`` (defined names, date cells,
legacy array formulas) and recalculated with the ``formulas`` engine: native formulas
give Excel's exact numbers, the XLP_ functions the engine's, errors name sheet, cell and
reason.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import formulas
import formulas.functions
import pytest
import typer
from openpyxl.worksheet.formula import ArrayFormula
from xlwings.conversion import pandas_conv

from conftest import build, one_sheet, truncated
from xl_pricing import InputError, load_card, quote, udfs
from xl_pricing.cli import handles_input_errors
from xl_pricing.cells import project_from_pairs
from xl_pricing.recalc import (OFFICE_JS_PREFIX, CellProblem, RecalcError, Recalculator,
                               frame_rows, parse_inputs, recalculate, register_udfs)

JP = load_card("jp-default")

# A small approach-X project, as XLP_QUOTE's (key, value) rows; dates as real dates.
QUOTE_PAIRS: list[tuple[str, Any]] = [
    ("id", "Q-X"), ("contract", "joint"), ("approach", "X"),
    ("start", dt.date(2027, 4, 1)), ("end", dt.date(2028, 3, 31)),
    ("direct.consumables", 5_000_000),
]
QUOTE = quote(project_from_pairs(QUOTE_PAIRS), JP)
QUOTE_ROWS = len(QUOTE.lines) + 2  # header, lines, total


DATA = {
    "A1": "rank", "B1": "hourly", "C1": "category", "D1": "amount", "E1": "hours",
    "A2": "professor", "B2": 30000, "C2": "consumables", "D2": 100, "E2": 1,
    "A3": "associate", "B3": 20000, "C3": "travel", "D3": 50, "E3": 2,
    "A4": "postdoc", "B4": 10000, "C4": "consumables", "D4": 25, "E4": 3,
    "C5": "equipment", "D5": 10,
}

CALC: dict[str, Any] = {
    # native Excel functions
    "A1": "rank", "B1": "associate",
    "A2": "hours", "B2": 12,
    "B3": "=INDEX(Data!B2:B4,MATCH(Rank,Data!A2:A4,0))",
    "B4": "=ROUNDDOWN(B3*Hours/7,0)",                     # 240000 / 7 = 34285.71...
    "B5": "=ROUND(1234.5,0)",
    "B6": '=SUMIFS(Data!D2:D5,Data!C2:C5,"consumables")',
    "B7": "=SUMPRODUCT(Data!B2:B4,Data!E2:E4)",
    "B8": '=IF(B7>50000,"high","low")',
    "B9": "=MIN(Data!B2:B4)",
    "B10": "=IF(TRUE,,1)",                                # Excel: an omitted value is 0
    "B11": "=C3*2",
    # the XLP_ functions
    "C1": "=XLP_TIMECHARGE(50000,12)",
    "C2": "=_xldudf_XLP_TIMECHARGE(50000,12)",            # as Excel saves Office.js calls
    "C3": "=XLP_TIMECHARGE(Rate,Hours)",
    "C4": '=XLP_FA(10000000,"research","on",D9,"mit")',  # D9 empty: no field
    "C5": '=XLP_INDIRECT(1000000,D9,"jp-default")',       # empty rate: the card's 30%
    "C6": "=XLP_ROYALTY(D1:D2,0.03,0.5)",
    "D1": 100_000_000, "D2": 200_000_000,
    "E1": ArrayFormula("E1:F6", "=XLP_CARD()"),           # 3 rows into 6: rest #N/A
    **{f"H{i}": k for i, (k, _) in enumerate(QUOTE_PAIRS, start=1)},
    **{f"I{i}": v for i, (_, v) in enumerate(QUOTE_PAIRS, start=1)},
    "J1": ArrayFormula(f"J1:K{QUOTE_ROWS}", f"=XLP_QUOTE(H1:I{len(QUOTE_PAIRS)})"),
    "M1": ArrayFormula("M1:S3", "=XLP_ALLOCATE(1000000)"),
}

NAMES = {
    "Rank": "Calc!$B$1", "Hours": "Calc!$B$2", "Rate": "Calc!$B$3",
    "TimeCost": "Calc!$B$4", "Rounded": "Calc!$B$5", "Consumables": "Calc!$B$6",
    "Weighted": "Calc!$B$7", "Level": "Calc!$B$8", "Lowest": "Calc!$B$9",
    "OmittedNative": "Calc!$B$10", "Doubled": "Calc!$B$11", "Rates": "Data!$B$2:$B$4",
    "TcDesktop": "Calc!$C$1", "TcOfficeJs": "Calc!$C$2", "TcRate": "Calc!$C$3",
    "FA_MIT": "Calc!$C$4", "Indirect": "Calc!$C$5", "Royalty": "Calc!$C$6",
    "Card": "Calc!$E$1:$F$3", "CardBelow": "Calc!$E$4:$F$4",
    "Quote": f"Calc!$J$1:$K${QUOTE_ROWS}", "QuoteTotal": f"Calc!$K${QUOTE_ROWS}",
    "Split": "Calc!$M$1:$S$3",
}


@pytest.fixture(scope="module")
def book_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("recalc") / "pricing.xlsx",
                 {"Calc": CALC, "Data": DATA}, NAMES)


@pytest.fixture(scope="module")
def book(book_path: Path) -> Recalculator:
    return Recalculator(book_path)


@pytest.fixture(scope="module")
def values(book: Recalculator) -> dict[str, Any]:
    return book.values()


# -- values -------------------------------------------------------------------------------

def test_every_defined_name_is_returned_as_spelt_in_the_workbook(values):
    assert sorted(values) == sorted(NAMES)


def test_native_formulas_give_excels_numbers(values):
    assert values["Rate"] == 20000                          # INDEX/MATCH across sheets
    assert values["TimeCost"] == 34285                      # ROUNDDOWN
    assert values["Rounded"] == 1235                        # ROUND half away from zero
    assert values["Consumables"] == 125                     # SUMIFS
    assert values["Weighted"] == 100_000                    # SUMPRODUCT
    assert values["Level"] == "high"                        # IF
    assert values["Lowest"] == 10000                        # MIN
    assert values["OmittedNative"] == 0                     # IF(TRUE,,1): omitted is 0


def test_a_range_name_gives_a_list_of_lists_a_cell_a_scalar(values):
    assert values["Rates"] == [[30000], [20000], [10000]]
    assert values["Hours"] == 12 and values["Rank"] == "associate"


def test_desktop_and_saved_office_js_names_call_the_engine(values):
    assert values["TcDesktop"] == 600_000
    assert values["TcOfficeJs"] == 600_000
    assert values["TcRate"] == 240_000                      # 20000 yen/h × 12 h
    assert values["Doubled"] == 480_000


def test_an_empty_cell_argument_reaches_the_function_as_none(values):
    assert values["FA_MIT"] == 5_470_000                    # field omitted, card "mit"
    assert values["Indirect"] == 300_000                    # rate omitted → card's 30%, not 0


def test_a_range_argument_arrives_as_a_list(values):
    assert values["Royalty"] == 4_500_000                   # (1e8 + 2e8) × 0.5 × 0.03


def test_xlp_card_in_a_legacy_array_formula(values):
    assert values["Card"] == [["id", "jp-default"], ["version", JP.version],
                              ["sha256", JP.sha256]]
    assert values["CardBelow"] == [["#N/A", "#N/A"]]        # as Excel fills a larger area


def test_xlp_quote_over_a_key_value_range_matches_the_engine(values):
    assert values["QuoteTotal"] == int(QUOTE.total) == 7_000_000
    assert values["Quote"] == [["項目 / component", "金額 / amount"],   # issue 14: labelled
                               *[[udfs.quote_row_label(ln.component, ln.detail),
                                  int(ln.amount)] for ln in QUOTE.lines],
                               ["合計 / total", int(QUOTE.total)]]


def test_xlp_allocate_dataframe_is_written_like_xlwings_does(values):
    frame = udfs.XLP_ALLOCATE(1_000_000)
    assert values["Split"] == pandas_conv.write_value(None, frame.copy(), {"index": False})
    assert values["Split"] == frame_rows(frame, index=False)
    assert values["Split"][0][:2] == ["component", "amount"]
    assert values["Split"][-1][:2] == ["total", 1_000_000]


# -- inputs and reuse -----------------------------------------------------------------------

def test_inputs_by_name_or_cell_change_the_results(book):
    changed = book.values({"Hours": 24, "Rank": "professor"})
    assert changed["Hours"] == 24 and changed["Rate"] == 30000
    assert changed["TcRate"] == 720_000 and changed["Doubled"] == 1_440_000
    assert changed["TimeCost"] == 102_857                   # ROUNDDOWN(720000 / 7)
    assert book.values({"Calc!B2": 6})["TcRate"] == 120_000
    assert book.values({"hours": 6, "'Calc'!$B$1": "postdoc"})["TcRate"] == 60_000
    assert book.values()["TcRate"] == 240_000               # inputs do not stick


def test_a_range_input_takes_a_list_of_lists(book):
    assert book.values({"Rates": [[1], [2], [3]]})["Lowest"] == 1


def test_dates_and_text_inputs_reach_xlp_quote(book):
    changed = book.values({"Calc!I6": 1_000_000, "Calc!I5": dt.date(2028, 3, 31)})
    assert changed["QuoteTotal"] == 1_400_000


def test_the_workbook_file_is_never_modified(book_path):
    before = (book_path.read_bytes(), book_path.stat().st_mtime_ns)
    recalculate(book_path, {"Hours": 99})
    Recalculator(book_path).values({"Rates": [[1], [2], [3]]})
    assert (book_path.read_bytes(), book_path.stat().st_mtime_ns) == before


def test_parse_inputs_for_set_options():
    assert parse_inputs(["Hours=20", "Rank=professor", "Calc!I4=2027-04-01"]) == {
        "Hours": 20, "Rank": "professor", "Calc!I4": dt.date(2027, 4, 1)}
    with pytest.raises(InputError, match="NAME=VALUE"):
        parse_inputs(["Hours"])


# -- registration and argument conversion ----------------------------------------------------

def test_every_udf_is_registered_under_both_names():
    names = register_udfs()
    registry = formulas.functions.get_functions()
    for name in udfs.__all__:
        assert name in names and OFFICE_JS_PREFIX + name in names
        assert name in registry and OFFICE_JS_PREFIX + name in registry


def test_milestones_take_two_ranges_and_booleans(tmp_path):
    path = one_sheet(tmp_path, {"A1": 1_000_000, "A2": 2_000_000, "A3": 4_000_000,
                                "B1": True, "B2": False, "B3": True,
                                "C1": "=XLP_MILESTONES(A1:A3,B1:B3)"},
                     {"Paid": "Sheet1!$C$1"})
    assert recalculate(path) == {"Paid": 5_000_000}


# -- errors ----------------------------------------------------------------------------------

def problem(exc: pytest.ExceptionInfo[RecalcError]) -> CellProblem:
    assert isinstance(exc.value, InputError)                 # the CLI's exit code 2
    return exc.value.problems[0]


def test_unknown_function_names_sheet_cell_and_function(tmp_path):
    path = one_sheet(tmp_path, {"A1": 2, "B3": "=FOO(A1)*2", "B4": "=B3+1"},
                     {"Out": "Sheet1!$B$4"})
    with pytest.raises(RecalcError) as exc:
        Recalculator(path)
    assert problem(exc) == CellProblem("Sheet1", "B3", "unknown function FOO in =FOO(A1)*2")
    assert len(exc.value.problems) == 1                      # not the cells that use B3
    assert str(exc.value) == f"{path}: Sheet1!B3: unknown function FOO in =FOO(A1)*2"


def test_a_formula_formulas_cannot_compile_names_its_cell(tmp_path):
    """formulas 1.3 fails inside LET while compiling; the message names the sheet and cell
    (not "cannot be read as an .xlsx workbook").  Should formulas learn LET, the value
    must be Excel's: x = 4, x*2 = 8."""
    path = build(tmp_path / "let.xlsx", {"Calc": {
        "A1": 4, "B1": "=_xlfn.LET(_xlpm.x, Hours, _xlpm.x*2)"}},
        {"Hours": "Calc!$A$1", "Out": "Calc!$B$1"})
    try:
        assert Recalculator(path).values()["Out"] == 8
    except RecalcError as exc:
        p = exc.problems[0]
        assert (p.sheet, p.cell) == ("Calc", "B1")
        assert p.reason.startswith("the recalculation engine (formulas) cannot compile "
                                   "this cell's formula (")
        assert str(exc).startswith(f"{path}: Calc!B1: ")


def test_names_of_names_and_formula_names_as_inputs(tmp_path):
    """A name that refers to another name or holds a formula has no cells of its own;
    given as an input it sets the name itself (openpyxl cannot list its cells)."""
    cells = {"A1": 2, "B1": "=Double*3", "B2": "=Alias+1"}
    path = build(tmp_path / "names.xlsx", {"S": cells},
                 {"Base": "S!$A$1", "Alias": "Base", "Double": "Base*2", "Out": "S!$B$1",
                  "Out2": "S!$B$2"})
    r = Recalculator(path)
    assert r.values() == {"Alias": 2, "Base": 2, "Double": 4, "Out": 12, "Out2": 3}
    assert r.values({"Double": 100})["Out"] == 300           # 100 × 3
    assert r.values({"Alias": 9})["Out2"] == 10              # 9 + 1
    assert r.values({"Base": 5}) == {"Alias": 5, "Base": 5, "Double": 10, "Out": 30,
                                     "Out2": 6}


def test_unknown_name_and_unknown_sheet(tmp_path):
    path = one_sheet(tmp_path, {"A1": "=Nope*2", "A2": "=Other!A1+1"})
    with pytest.raises(RecalcError) as exc:
        Recalculator(path)
    assert [str(p) for p in exc.value.problems] == [
        "Sheet1!A1: unknown name Nope in =Nope*2",
        "Sheet1!A2: unknown sheet Other in =Other!A1+1"]


@pytest.mark.parametrize("cells, names, where, path, engine", [
    ({"A1": "=A2+1", "A2": "=A1*2", "A3": "=A2"}, {},
     "Sheet1!A1", "Sheet1!A1 → Sheet1!A2 → Sheet1!A1", "formulas"),
    ({"A1": "=A2+1", "A2": "=A1*2", "A3": "=A2"}, {},
     "Sheet1!A1", "Sheet1!A1 → Sheet1!A2 → Sheet1!A1", "formulon"),
    ({"A1": "=Out+1"}, {"Out": "Sheet1!$A$1"}, "Sheet1!A1", "Sheet1!A1 → Out → Sheet1!A1",
     "formulas"),
    ({"A1": 1, "A5": "=SUM(A1:A5)"}, {}, "Sheet1!A5", "Sheet1!A5 → Sheet1!A1:A5 → Sheet1!A5",
     "formulas"),
], ids=["two-cells", "two-cells-formulon", "through-a-name", "range-includes-itself"])
def test_circular_reference_names_the_cells(tmp_path, cells, names, where, path, engine):
    """(formulon, like Excel, computes a cycle through a name or a range as 0 without an
    error: only formulas' graph shows those.)"""
    with pytest.raises(RecalcError) as exc:
        Recalculator(one_sheet(tmp_path, cells, names), engine=engine)
    assert problem(exc).where == where
    assert problem(exc).reason == f"circular reference: {path}"


def test_names_and_ranges_that_only_look_circular_are_fine(tmp_path):
    path = one_sheet(tmp_path, {"A1": 1, "A2": "=A1*2", "A5": "=SUM(A1:A4)",
                                "B1": "=SUM(A:A)"},
                     {"Total": "Sheet1!$A$5", "All": "Sheet1!$A$1:$A$5", "Col": "Sheet1!$B$1"})
    assert recalculate(path) == {"All": [[1], [2], [None], [None], [3]], "Col": 6, "Total": 3}


@pytest.mark.parametrize("inputs, where, reason", [
    ({"Hourz": 5}, "Hourz", "not a defined name or cell of book.xlsx (defined names: "
                            "Hours, Total)"),
    ({"Other!B1": 5}, "Other!B1", "no sheet 'Other' in book.xlsx"),
    ({"Sheet1!Z99": 5}, "Sheet1!Z99", "not used by any formula or defined name (the value "
                                      "would change nothing)"),
    ({"B1": 5}, "B1", "expected Sheet!Cell (a cell reference names its sheet)"),
    ({"Sheet1!B1:B2": [[1]]}, "Sheet1!B1:B2", "[[1]]: expected 2 rows × 1 columns of values"),
])
def test_missing_input_is_reported(tmp_path, inputs, where, reason):
    book = Recalculator(one_sheet(tmp_path, {"B1": 3, "B2": 4, "B3": "=B1*B2"},
                                  {"Hours": "Sheet1!$B$1", "Total": "Sheet1!$B$3"}))
    with pytest.raises(RecalcError) as exc:
        book.values(inputs)
    assert str(problem(exc)) == f"{where}: {reason}"


def test_bad_input_to_a_udf_reports_cell_and_message(tmp_path):
    path = one_sheet(tmp_path, {"B1": 50000, "B2": 12, "B3": "=XLP_TIMECHARGE(B1,B2)",
                                "B4": "=B3*2"},
                     {"Hours": "Sheet1!$B$2", "Cost": "Sheet1!$B$3", "Twice": "Sheet1!$B$4"})
    book = Recalculator(path)
    assert book.values() == {"Cost": 600_000, "Hours": 12, "Twice": 1_200_000}
    with pytest.raises(RecalcError) as exc:
        book.values({"Hours": -5})
    assert exc.value.problems == [CellProblem(
        "Sheet1", "B3", "XLP_TIMECHARGE: hours = -5: expected a number of hours >= 0")]
    assert str(exc.value) == (f"{path}: Sheet1!B3: XLP_TIMECHARGE: hours = -5: expected a "
                              "number of hours >= 0")
    assert book.values({"Hours": -5}, strict=False) == {"Cost": "#VALUE!", "Hours": -5,
                                                        "Twice": "#VALUE!"}
    assert book.values({"Hours": 1}) == {"Cost": 50_000, "Hours": 1, "Twice": 100_000}


def test_a_function_error_stays_reported_when_other_inputs_change(tmp_path):
    # Later recalculations recompute only what a changed input reaches: the message of
    # an XLP_ function in a cell left as it was must still be there.
    path = one_sheet(tmp_path, {"B1": -1, "B2": 12, "B3": "=XLP_TIMECHARGE(B1,B2)",
                                "C1": 3, "C2": "=C1*2"},
                     {"Rate": "Sheet1!$B$1", "Cost": "Sheet1!$B$3", "N": "Sheet1!$C$1",
                      "Twice": "Sheet1!$C$2"})
    book = Recalculator(path)
    for n in (4, 5, 6):                       # dispatcher, full replay, incremental
        result = book.calculate({"N": n})
        assert result.values["Twice"] == 2 * n and result.values["Cost"] == "#VALUE!"
        assert [p.cell for p in result.errors] == ["B3"]
    assert book.values({"N": 7, "Rate": 100})["Cost"] == 1200   # fixed: no error left


def test_bad_constant_arguments_are_reported_too(tmp_path):
    # formulas evaluates a formula of constants once, while loading: still reported.
    path = one_sheet(tmp_path, {"A1": '=XLP_RATE("dean")', "A2": 1},
                     {"R": "Sheet1!$A$1", "X": "Sheet1!$A$2"})
    result = Recalculator(path).calculate()
    assert result.values == {"R": "#VALUE!", "X": 1}
    assert [(p.where, p.reason.split(":")[0]) for p in result.errors] == [
        ("Sheet1!A1", "XLP_RATE")]
    assert "dean" in result.errors[0].reason


def test_an_error_argument_passes_through_a_udf(tmp_path):
    path = one_sheet(tmp_path, {"A1": "=1/0", "A2": "=XLP_TIMECHARGE(A1,2)"},
                     {"Cost": "Sheet1!$A$2"})
    assert recalculate(path) == {"Cost": "#DIV/0!"}               # not a UDF error: no raise


@pytest.mark.parametrize("make, reason", [
    (lambda p: p, "an existing .xlsx workbook (no such file)"),
    (lambda p: (p.write_text("not a workbook"), p)[1], "an .xlsx workbook (not a zip "
                                                         "archive"),
    (lambda p: (zipfile.ZipFile(p, "w").close(), p)[1], "an .xlsx workbook (no "
                                                          "xl/workbook.xml inside)"),
    (lambda p: (p.with_suffix(".csv").write_text("a,b"), p.with_suffix(".csv"))[1],
     "an .xlsx or .xlsm workbook (the suffix is .csv)"),
], ids=["missing", "text", "empty-zip", "csv"])
def test_unreadable_files(tmp_path, make, reason):
    path = make(tmp_path / "broken.xlsx")
    with pytest.raises(RecalcError) as exc:
        recalculate(path)
    assert problem(exc).reason.startswith(reason)
    assert str(exc.value).startswith(f"{path}: {reason}")


def test_the_cli_turns_a_recalc_error_into_exit_code_2(tmp_path, capsys):
    path = one_sheet(tmp_path, {"A1": "=FOO(1)"})
    with pytest.raises(typer.Exit) as exc:
        handles_input_errors(recalculate)(path)
    assert exc.value.exit_code == 2
    assert "Sheet1!A1: unknown function FOO" in capsys.readouterr().err


def test_names_differing_only_in_case_are_one_name_to_excel(tmp_path):
    path = one_sheet(tmp_path, {"A1": 5, "D5": "=N(C_Floor)"},
                     {"C_Floor": "Sheet1!$A$1", "C_floor": "Sheet1!$D$5"})
    with pytest.raises(RecalcError) as exc:
        Recalculator(path)
    assert str(problem(exc)) == "C_floor: the same defined name as C_Floor (Excel names " \
                                "ignore case)"


def test_empty_and_constant_name_inputs(tmp_path):
    path = one_sheet(tmp_path, {"A1": 2, "A2": "=A1*Factor", "A3": "=ISBLANK(A1)",
                                "A4": "=XLP_TIMECHARGE(A1,3)"},
                     {"Factor": "0.5", "In": "Sheet1!$A$1", "Out": "Sheet1!$A$2",
                      "Blank": "Sheet1!$A$3", "Tc": "Sheet1!$A$4"})
    book = Recalculator(path)
    assert book.values({"Factor": 3, "In": 4}) == {"Blank": False, "Factor": 3, "In": 4,
                                                   "Out": 12, "Tc": 12}
    emptied = book.calculate({"In": None})                  # None: an empty cell
    assert emptied.values == {"Blank": True, "Factor": 0.5, "In": None, "Out": 0,
                              "Tc": "#VALUE!"}
    assert [str(p) for p in emptied.errors] == [
        "Sheet1!A4: XLP_TIMECHARGE: rate is missing: expected an hourly rate in yen >= 0"]
    with pytest.raises(RecalcError, match=r"In: \[\[1, 2\]\]: expected 1 rows × 1 columns"):
        book.values({"In": [[1, 2]]})


def test_wrong_number_of_arguments_is_reported(tmp_path):
    path = one_sheet(tmp_path, {"A1": "=XLP_TIMECHARGE(1)", "A2": "=XLP_CARD(1,2)"})
    result = Recalculator(path).calculate()
    assert [(p.where, p.reason.split(" (")[0]) for p in result.errors] == [
        ("Sheet1!A1", "XLP_TIMECHARGE: wrong number of arguments"),
        ("Sheet1!A2", "XLP_CARD: wrong number of arguments")]




# -- the engines -------------------------------------------------------------------------

STANDARD = Path(__file__).resolve().parent.parent / "workbooks"
PROJECT_FILES = sorted((Path(__file__).resolve().parent.parent / "templates" / "projects")
                       .glob("*.toml"))


def native_workbooks() -> list[Path]:
    return sorted(STANDARD.glob("*-native.xlsx"))


def test_the_engine_follows_the_functions_a_workbook_calls(book_path):
    assert Recalculator(STANDARD / "jp-default-native.xlsx").engine == "formulon"
    assert Recalculator(book_path).engine == "formulas"            # XLP_ calls inside
    with pytest.raises(InputError, match="--engine = 'excel': expected one of auto"):
        Recalculator(book_path, engine="excel")


def _example_natives(folder: Path) -> list[Path]:
    from xl_pricing.workbook import build as build_book

    return [build_book(JP, load_project_file(p), "native", folder) for p in PROJECT_FILES]


def load_project_file(path: Path):
    from xl_pricing import load_project

    return load_project(path)


@pytest.fixture(scope="module")
def cross_checked_natives(tmp_path_factory) -> list[Path]:
    """Native workbooks for the cross-engine check: the templates of every setting
    (full-features) and of US F&A by MTDC (mit), and the 5 example projects on jp-default.
    The other shipped cards' templates have the same formulas over other rate rows (or say
    which rules they lack: Check_CardRules); formulon computes them all in
    tests/test_checks.py.  (`formulas` compiles a workbook of the standard capacity in
    seconds: one per kind keeps the suite within its time.)"""
    books = [STANDARD / f"{c}-native.xlsx" for c in CROSS_CHECKED]
    books += _example_natives(tmp_path_factory.mktemp("natives"))
    assert len(books) == len(CROSS_CHECKED) + len(PROJECT_FILES)
    return books


# (full-features: every setting; the cards' own rules are held to the engine by formulon in
# the agreement and random-edit tests, and `formulas` runs them in the udf templates)
CROSS_CHECKED = ("full-features",)


@pytest.fixture(scope="module")
def loaded():
    """One loaded Recalculator per workbook and engine for this module's tests (`formulas`
    compiles a standard workbook in seconds; values with inputs do not stick)."""
    books: dict[tuple[Path, str], Recalculator] = {}

    def get(path: Path, engine: str) -> Recalculator:
        if (path, engine) not in books:
            books[(path, engine)] = Recalculator(path, engine=engine)
        return books[(path, engine)]

    return get


def test_formulon_and_formulas_agree_on_every_defined_name(cross_checked_natives, loaded):
    # The full-features template and the multi-year example (escalation, several fiscal
    # years); the other examples are compared with LibreOffice in test_agreement.
    compared = 0
    for path in cross_checked_natives[:len(CROSS_CHECKED) + 1]:
        a = loaded(path, "formulon").values()
        b = loaded(path, "formulas").values()
        assert sorted(a) == sorted(b), path.name
        for name in a:
            assert a[name] == b[name], f"{path.name}: {name}: formulon {a[name]!r}, " \
                                       f"formulas {b[name]!r}"
            compared += 1
    assert compared > 400  # every defined name of the two books


def test_formulon_evaluates_what_formulas_cannot(tmp_path):
    path = one_sheet(tmp_path, {"A1": "a", "B1": 10, "A2": "b", "B2": 20,
                                "C1": '=_xlfn.XLOOKUP("b",A1:A2,B1:B2)',
                                "C2": "=_xlfn.LET(_xlpm.x,B1,_xlpm.x*3)"},
                     {"Look": "Sheet1!$C$1", "Tripled": "Sheet1!$C$2", "B": "Sheet1!$B$2"})
    book = Recalculator(path)
    assert book.engine == "formulon"
    assert book.values() == {"B": 20, "Look": 20, "Tripled": 30}
    assert book.values({"B": 7})["Look"] == 7


def test_formulon_inputs_do_not_stick_and_formulas_come_back(tmp_path):
    path = one_sheet(tmp_path, {"A1": 2, "A2": "=A1*10", "A3": "=A2+1"},
                     {"In": "Sheet1!$A$1", "Mid": "Sheet1!$A$2", "Out": "Sheet1!$A$3"})
    book = Recalculator(path)
    assert book.values({"In": 5}) == {"In": 5, "Mid": 50, "Out": 51}
    assert book.values({"Mid": 1}, override=True) == {"In": 2, "Mid": 1, "Out": 2}
    assert book.values() == {"In": 2, "Mid": 20, "Out": 21}     # the formula is back
    assert book.values({"In": 3}) == {"In": 3, "Mid": 30, "Out": 31}


def test_repeated_calculations_reuse_the_loaded_workbook(book_path, tmp_path):
    copy = Path(shutil.copy(book_path, tmp_path / "copy.xlsx"))
    book = Recalculator(copy)
    model = book._engine.model
    copy.unlink()                                             # nothing left to reload
    for hours in (1, 2, 3):
        assert book.values({"Hours": hours})["TcRate"] == 20000 * hours
    assert book._engine.model is model
    native = Path(shutil.copy(STANDARD / "jp-default-native.xlsx", tmp_path / "n.xlsx"))
    fast = Recalculator(native)
    workbook = fast._engine.wb
    native.unlink()
    totals = {fast.values({"Approach": ap})["Total"] for ap in "XABC"}
    assert fast._engine.wb is workbook and len(totals) >= 1


def test_an_argument_left_empty_between_commas_is_refused_not_guessed(tmp_path):
    """formulas passes an omitted argument as 0 (XLP_INDIRECT's rate would be 0%, not the
    card's 30%): the cell is named instead."""
    path = one_sheet(tmp_path, {"A1": '=XLP_INDIRECT(1000000,,"jp-default")'},
                     {"Ind": "Sheet1!$A$1"})
    with pytest.raises(RecalcError) as exc:
        Recalculator(path)
    assert problem(exc).where == "Sheet1!A1"
    assert "XLP_INDIRECT with an argument left empty between commas" in problem(exc).reason


def test_xlp_messages_are_in_workbook_order_with_their_cells(tmp_path):
    path = build(tmp_path / "two.xlsx", {
        "A": {"B2": '=XLP_RATE("dean")', "B1": "=XLP_TIMECHARGE(-1,2)"},
        "B": {"A1": "=XLP_TIMECHARGE(1,-2)", "A2": "=A1*2"}},
        {"X": "A!$B$1", "Y": "B!$A$2"})
    result = Recalculator(path).calculate()
    assert [p.where for p in result.errors] == ["A!B1", "A!B2", "B!A1"]
    assert result.errors[0].reason.startswith("XLP_TIMECHARGE: rate = -1")
    assert "dean" in result.errors[1].reason
    assert result.errors[2].reason.startswith("XLP_TIMECHARGE: hours = -2")


# -- inputs: data validation, formula cells, dates ---------------------------------------------

def run_cli(*args: str):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    return CliRunner().invoke(app, ["recalc", *args])


NATIVE = str(STANDARD / "jp-default-native.xlsx")


@pytest.mark.parametrize("assignment, message", [
    ("Approach=Z", "Project!B7: Approach = Z: expected one of X 積み上げ方式（現行） / X "
                   "input-cost accumulation, A 欧米型積み上げ方式 / A Western-standard "
                   "stacking, B 総額方式 / B total amount agreed, C 成果連動方式 / C "
                   "outcome-linked (the cell's data validation)"),
    ("Contract=gift", "Project!B6: Contract = gift: expected one of 共同研究 / joint "
                      "research, 受託研究 / sponsored research, 学術指導 / academic "
                      "consulting (the cell's data validation)"),
    ("Project!D27=-5", "Project!D27: Project!D27 = -5: expected a number >= 0 (the cell's "
                       "data validation)"),
    ("Project!D27=2.5", "Project!D27: Project!D27 = 2.5: expected a whole number"),
    ("Total=5", "Compare!B10: Total is a formula cell (=IF(Input_OK,IF(Approach_Code=\"X\""),
    ("Hourz=5", "Hourz: not a defined name or cell of jp-default-native.xlsx"),
], ids=["list", "contract", "whole-below", "whole-fraction", "formula", "unknown"])
def test_set_is_checked_against_the_cell(assignment, message):
    res = run_cli(NATIVE, "--json", "--set", assignment)
    assert res.exit_code == 2, res.output
    assert f"{NATIVE}: {message}" in " ".join(res.output.split()), res.output
    assert "Traceback" not in res.output


def test_set_accepts_listed_values_and_overrides_only_when_asked():
    import json
    plain = json.loads(run_cli(NATIVE, "--json").stdout)
    res = run_cli(NATIVE, "--json", "--set", "Approach=x", "--set", "Contract=joint")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["Total"] == plain["X_Total"]
    res = run_cli(NATIVE, "--json", "--set", "Total=5", "--override")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["Total"] == 5


def test_set_values_are_read_as_cells_numbers(tmp_path):
    path = one_sheet(tmp_path, {"A1": 1, "A2": "=A1*2"},
                     {"In": "Sheet1!$A$1", "Out": "Sheet1!$A$2"})
    import json
    for text, doubled in [("1,000", 2000), ("¥1,000", 2000), ("１２", 24), ("2.5", 5)]:
        res = run_cli(str(path), "--json", "--set", f"In={text}")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["Out"] == doubled, text


def test_dates_are_printed_as_iso_dates():
    import json
    res = run_cli(NATIVE, "--json")
    d = json.loads(res.stdout)
    assert d["Start"] == "2026-04-01" and d["End"] == "2027-03-31"
    assert isinstance(d["Total"], int)
    moved = json.loads(run_cli(NATIVE, "--json", "--set", "Start=2027-04-01",
                               "--set", "End=2028-03-31").stdout)
    assert moved["Start"] == "2027-04-01"
    assert Recalculator(NATIVE).values(dates=True)["Start"] == dt.date(2026, 4, 1)
    assert Recalculator(NATIVE).values()["Start"] == 46113       # the serial, by default


# -- damaged and oversize files (issue 12) ---------------------------------------------------

def _truncated(tmp_path: Path) -> Path:
    return truncated(STANDARD / "jp-default-native.xlsx", tmp_path / "cut.xlsx")


def _huge_range(tmp_path: Path) -> Path:
    return one_sheet(tmp_path, {"A1": 1, "XFD1048576": 2}, {"A": "Sheet1!$A$1"},
                     file="huge.xlsx")


@pytest.mark.parametrize("make, words", [
    (_truncated, "damaged"),
    (_huge_range, "cells"),
    (lambda p: (p.joinpath("x.xlsx").write_bytes(b"PK\x03\x04junk"), p / "x.xlsx")[1],
     "zip"),
], ids=["truncated-sheet", "used-range", "not-a-workbook"])
def test_damaged_or_oversize_workbooks_get_one_message(tmp_path, make, words):
    path = make(tmp_path)
    res = run_cli(str(path), "--json")
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and str(path) in res.output
    assert words in res.output
    with pytest.raises(RecalcError):
        recalculate(path)


def test_converter_options_name_real_parameters_of_real_functions():
    import inspect
    for name, options in udfs.CONVERTERS.items():
        assert name in udfs.__all__
        params = inspect.signature(getattr(udfs, name)).parameters
        for param, opts in options.items():
            assert param == "return" or param in params, (name, param)
            assert set(opts) <= {"ndim", "convert", "index", "header"}, (name, opts)


def test_a_name_spelt_like_a_function_is_left_to_formulas(tmp_path):
    """formulon 0.18 gives SUM(A1:A3) = 0 (and #VALUE! after an edit) when the workbook
    defines a name "Sum"; formulas and LibreOffice give Excel's 6 and 3: such a workbook
    is evaluated by formulas."""
    path = one_sheet(tmp_path, {"A1": 1, "A2": 2, "A3": 3, "B1": "=SUM(A1:A3)",
                                "B2": "=MAX(A1:A3)"},
                     {"Sum": "Sheet1!$B$1", "Max": "Sheet1!$B$2", "In": "Sheet1!$A$1"})
    book = Recalculator(path)
    assert book.engine == "formulas"
    assert book.values() == {"In": 1, "Max": 3, "Sum": 6}
    assert book.values({"In": 10}) == {"In": 10, "Max": 10, "Sum": 15}
    assert Recalculator(path, engine="formulon").values()["Sum"] == 0   # the divergence


@pytest.mark.parametrize("engine", ["formulon", "formulas"])
def test_only_the_names_asked_for_are_read(cross_checked_natives, engine, loaded):
    """``names=`` reads just those names (formulon reads one cell per call); the values are
    the ones every-name reading gives, after the same input change."""
    path = next(p for p in cross_checked_natives if "A-2027-005" in p.name)
    book = loaded(path, engine)   # the multi-year example, loaded once for this module
    hours = book.values()["R_Hours"]
    hours[0][0] = 300  # Prof. Kato: 240 → 300 h at 50,000 yen/h (achievement tier)
    some = book.values({"R_Hours": hours}, names=["total", "Approach"])
    assert list(some) == ["Total", "Approach"]  # as spelt in the workbook
    assert some == {k: book.values({"R_Hours": hours})[k] for k in ("Total", "Approach")}
    import tomllib
    from xl_pricing.project import parse_project
    data = tomllib.loads((STANDARD.parent / "templates/projects/a-multiyear-escalation.toml")
                         .read_text("utf-8"))
    data["researchers"][0]["hours"] = 300
    assert some["Total"] == quote(parse_project(data), JP).total  # the engine's, to the yen
    with pytest.raises(InputError, match="name = 'Nope': expected a defined name"):
        book.values(names=["Nope"])


@pytest.mark.parametrize("engine", ["formulon", "formulas"])
def test_cells_reads_a_rectangle_after_the_last_calculation(cross_checked_natives, engine,
                                                            loaded):
    """Per-fiscal-year cells of the multi-year example: consumables of 600,000, 1,200,000
    and 600,000 yen in FY2027-2029 (its project file), and the sheet's own header."""
    path = next(p for p in cross_checked_natives if "A-2027-005" in p.name)
    book = loaded(path, engine)
    book.values()
    assert book.cells("'Quote A'!D4:G5") == [[2027, 2028, 2029, "合計 / Total"],
                                             [600000, 1200000, 600000, 2400000]]
    with pytest.raises(InputError, match="cells = 'Nowhere!A1'"):
        book.cells("Nowhere!A1")


# -- recalc --cells / --all-formulas: any workbook, not only defined names (office) ----------

@pytest.fixture(scope="module")
def office_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import officebooks

    return officebooks.make_joint_current(tmp_path_factory.mktemp("office") / "jc.xlsx",
                                          plant=("error_value",))


def test_cell_values_lists_computed_cells_of_a_japanese_sheet(office_book):
    # the current form's boxes: 2,000,000 + 4,700,000 + 2,010,000 + 200,000 = 8,910,000
    book = Recalculator(office_book)
    assert book.cell_values("'申込書'!E10:F14") == {
        "'申込書'!F10": 2000000, "'申込書'!F11": 4700000, "'申込書'!F12": 2010000,
        "'申込書'!F13": 200000, "'申込書'!F14": 8910000}
    assert book.cell_values("'申込書'!D6", dates=True) == {"'申込書'!D6": dt.date(2026, 4, 1)}
    assert book.cell_values("'申込書'!E10", empty=True) == {"'申込書'!E10": None}


def test_recalc_cells_and_all_formulas_on_the_command_line(office_book):
    res = run_cli(str(office_book), "--cells", "'申込書'!F12:F14", "--cells",
                  "'申込書'!D6", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"'申込書'!F12": 2010000, "'申込書'!F13": 200000,
                                      "'申込書'!F14": 8910000, "'申込書'!D6": "2026-04-01"}
    # 積算!F7 = 50 h × 22,000 → 1,100,000 → with 60 h 1,320,000; the planted G20 divides
    # by an empty cell
    res = run_cli(str(office_book), "--all-formulas", "--json", "--set", "'積算'!D7=60")
    out = json.loads(res.output)
    assert res.exit_code == 0, res.output
    assert out["'積算'!F7"] == 1320000 and out["'積算'!G20"] == "#DIV/0!"
    assert out["'積算'!E6"] == 30000 and "'積算'!D7" not in out  # inputs are not formulas
    assert len(out) == 16  # 5 boxes on the form + E6:F8, F9, F16, F20, F21, G20 on 積算
    res = run_cli(str(office_book), "--cells", "'見積'!A1")
    assert res.exit_code == 2 and "--cells = \"'見積'!A1\"" in res.output
    res = run_cli(str(office_book), "--cells", "'申込書'!F14")
    assert "セル / Cell" in res.output and "8,910,000" in res.output


def test_recalc_cells_reads_a_range_written_backwards(office_book):
    # Excel reads F14:F10 as F10:F14: the five boxes 2,000,000 … 8,910,000 (the old code
    # stopped with 内部エラー, exit 1)
    res = run_cli(str(office_book), "--cells", "'申込書'!F14:F10", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {
        "'申込書'!F10": 2000000, "'申込書'!F11": 4700000, "'申込書'!F12": 2010000,
        "'申込書'!F13": 200000, "'申込書'!F14": 8910000}
    assert Recalculator(office_book).cells("'申込書'!F14:F13") == [[200000], [8910000]]


def test_recalc_cells_of_the_whole_sheet_reads_only_its_used_area(office_book):
    # A1:XFD1048576 is 17,179,869,184 cells: the old code built a row of 16,384 Nones for
    # each of 1,048,576 rows (minutes, gigabytes).  Cut to the used area it is instant and
    # gives the same cells as the used area itself.
    import time

    t = time.perf_counter()
    res = run_cli(str(office_book), "--cells", "'申込書'!A1:XFD1048576", "--json")
    assert res.exit_code == 0, res.output
    assert time.perf_counter() - t < 20
    out = json.loads(res.output)
    assert out["'申込書'!F14"] == 8910000 and out["'申込書'!D6"] == "2026-04-01"
    book = Recalculator(office_book)
    assert book.cell_values("'申込書'!XFD1048576:A1") == book.cell_values("'申込書'!A1:Z99")


def test_xlp_quote_as_a_plain_formula_says_why_not_a_bare_value_error(tmp_path):
    """Issue 14: XLP_QUOTE typed as an ordinary formula.  ``formulas`` puts a plain
    formula's result into its one cell and has no dynamic-array spill, so the 2-D table
    there is #VALUE!; the recalculation now says so, in Japanese and English, with the
    two ways that work — an array formula, or INDEX over the table (the last row's amount
    is the quote's total)."""
    n = len(QUOTE_PAIRS)
    cells: dict[str, Any] = {
        **{f"A{i}": k for i, (k, _) in enumerate(QUOTE_PAIRS, start=1)},
        **{f"B{i}": v for i, (_, v) in enumerate(QUOTE_PAIRS, start=1)},
        "D1": f"=XLP_QUOTE(A1:B{n})",
        "D2": f"=INDEX(XLP_QUOTE(A1:B{n}),{QUOTE_ROWS},2)"}
    path = build(tmp_path / "plain.xlsx", {"S": cells},
                 {"Plain": "S!$D$1", "ByIndex": "S!$D$2"})
    got = Recalculator(path, engine="formulas").calculate()
    assert got.values["ByIndex"] == int(QUOTE.total)
    assert got.values["Plain"] == "#VALUE!"
    [problem] = got.errors
    assert (problem.sheet, problem.cell) == ("S", "D1")
    assert problem.reason.startswith(f"XLP_QUOTE: 表を返す関数です（{QUOTE_ROWS} 行 × 2 列）")
    assert "does not spill" in problem.reason and "INDEX(XLP_QUOTE" in problem.reason
