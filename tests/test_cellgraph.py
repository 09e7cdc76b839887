"""The cell graph (xl_pricing.cellgraph) gives formulas' values, cell for cell, and leaves
to formulas' model what it does not evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
import schedula as sh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula

from conftest import one_sheet
from xl_pricing import load_card, load_project
from xl_pricing.cellgraph import CellGraph, Unsupported
from xl_pricing.recalc import RecalcError, Recalculator, _loading, _python
from xl_pricing.workbook import build

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "workbooks"
PROJECTS = ROOT / "templates" / "projects"

TEAM = {"R_Source": [["rank"], ["rank"], [None]],
        "R_Rank": [["professor"], ["associate_professor"], [None]],
        "R_Hours": [[120], [300], [None]]}
INPUT_SETS = ({}, TEAM, {**TEAM, "R_Hours": [[7.5], [300], [None]]},
              {**TEAM, "R_Source": [["rank"], [None], ["consulting"]],
               "R_Rank": [["professor"], [None], [None]], "R_Hours": [[7.5], [None], [12]]})


def graph_of(path: Path) -> CellGraph:
    with _loading():
        return CellGraph(path)


def assert_same_cells(path: Path, input_sets: tuple[dict[str, Any], ...]) -> list[Any]:
    """Every cell, range and name the dispatcher computes equals the graph's value, for
    each set of inputs; the totals."""
    graph = Recalculator(path)
    reference = Recalculator(path, graph=False)
    assert graph.evaluator == "graph" and reference.evaluator == "formulas"
    nodes = reference.model.dsp.nodes
    totals = []
    for inputs in input_sets:
        given = reference._input_values(inputs)
        ours = graph._graph.evaluate(given)
        theirs = reference.model.calculate(inputs=given)
        keys = [k for k in theirs if nodes.get(k, {}).get("type") == "data"
                and not isinstance(k, sh.Token)]
        assert len(keys) > 500
        # formulas also keeps a node for each empty cell of a range (None); the graph
        # reads those inside the range
        assert {k: _python(ours.get(k)) for k in keys if k in ours or theirs[k] is not None} \
            == {k: _python(theirs[k]) for k in keys if k in ours or theirs[k] is not None}
        assert all(_python(theirs[k]) is None for k in keys if k not in ours)
        assert graph.values(inputs, strict=False) == reference.values(inputs, strict=False)
        totals.append(graph.values(inputs, strict=False)["Total"])
    return totals


@pytest.mark.parametrize("name", ["jp-default-native.xlsx", "jp-default-udf.xlsx",
                                  "jp-default-officejs.xlsx", "full-features-native.xlsx",
                                  "full-features-udf.xlsx"])
def test_every_cell_of_a_standard_workbook_is_formulas_value(name):
    totals = assert_same_cells(STANDARD / name, INPUT_SETS)
    assert len(set(totals)) == len(totals)  # each set of inputs reaches the total


def test_every_cell_of_a_us_card_template_is_formulas_value():
    # a template without a project: its total is an Excel error, the same in both
    assert assert_same_cells(STANDARD / "harvard-native.xlsx", INPUT_SETS[:1]) == ["#N/A"]


@pytest.mark.parametrize("project", sorted(p.name for p in PROJECTS.glob("*.toml")))
def test_every_cell_of_a_project_workbook_is_formulas_value(project, tmp_path):
    card = load_card("full-features" if project.startswith("c-") else "jp-default")
    path = build(card, load_project(PROJECTS / project), "native", tmp_path, force=True)
    assert_same_cells(Path(path), ({},))


def test_the_standard_quote_workbook_total_by_hand(tmp_path):
    """The benchmark's workbook: the engine's total, through the graph."""
    from xl_pricing import quote

    project = load_project(PROJECTS / "a-stacked-sponsored.toml")
    card = load_card("jp-default")
    path = build(card, project, "native", tmp_path, force=True)
    book = Recalculator(path)
    assert book.evaluator == "graph"
    assert book.values()["Total"] == int(quote(project, card).total) == 15_287_828


def test_array_formula_areas_are_read_cell_by_cell(tmp_path):
    path = one_sheet(tmp_path, {"A1": 1, "A2": 2, "A3": 3, "D1": "=B2+10", "D2": "=SUM(B1:B3)",
                            "D3": "=C3"},
                 {"Area": "Sheet1!$B$1:$B$3", "Mid": "Sheet1!$D$1", "Sum": "Sheet1!$D$2",
                  "Outside": "Sheet1!$D$3"})
    wb = openpyxl.load_workbook(path)
    wb.active["B1"] = ArrayFormula("B1:B3", "=A1:A3*2")
    wb.save(path)
    book = Recalculator(path)
    assert book.evaluator == "graph"
    assert book.values() == {"Area": [[2], [4], [6]], "Mid": 14, "Sum": 12, "Outside": 0}
    assert book.values({"Sheet1!A2": 5})["Mid"] == 20
    assert book.values({"Sheet1!A2": 5}) == Recalculator(path, graph=False).values(
        {"Sheet1!A2": 5})


def test_names_of_constants_formulas_and_other_names(tmp_path):
    path = one_sheet(tmp_path, {"A1": 4, "B1": "=A1*Rate", "B2": "=Twice+1", "B3": "=Alias"},
                 {"Rate": "0.25", "Twice": "Sheet1!$A$1*2", "Alias": "In", "In": "Sheet1!$A$1",
                  "Out": "Sheet1!$B$1", "Plus": "Sheet1!$B$2", "Same": "Sheet1!$B$3"})
    book = Recalculator(path)
    assert book.evaluator == "graph"
    reference = Recalculator(path, graph=False)
    for inputs in ({}, {"Rate": 0.5}, {"In": 10}, {"Rate": 2, "In": 3}):
        assert book.values(inputs) == reference.values(inputs)
    assert book.values({"Rate": 2, "In": 3}) == {
        "Alias": 3, "In": 3, "Out": 6, "Plus": 7, "Rate": 2, "Same": 3, "Twice": 6}


def test_row_and_column_read_the_calling_cell(tmp_path):
    path = one_sheet(tmp_path, {"C5": "=ROW()*100+COLUMN()", "D7": "=ROW(A3)"},
                 {"RC": "Sheet1!$C$5", "R": "Sheet1!$D$7"})
    book = Recalculator(path)
    assert book.evaluator == "graph"
    assert book.values() == {"RC": 503, "R": 3}


def test_other_sheets_quoted_names_and_text(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Bob costs"
    ws["A1"], ws["A2"] = 1500, "=A1&\" yen\""
    other = wb.create_sheet("Summary")
    other["B2"] = "='Bob costs'!A1*2"
    other["B3"] = '=IF(B2>2000,"big","small")'
    other["B4"] = "=\"=not a formula\""
    for name, target in {"Cost": "'Bob costs'!$A$1", "Label": "'Bob costs'!$A$2",
                         "Double": "Summary!$B$2", "Size": "Summary!$B$3",
                         "Text": "Summary!$B$4"}.items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    book = Recalculator(path)
    assert book.evaluator == "graph"
    assert book.values() == {"Cost": 1500, "Double": 3000, "Label": "1500 yen",
                             "Size": "big", "Text": "=not a formula"}
    assert book.values({"Cost": 900})["Size"] == "small"


def test_a_sheet_name_with_an_apostrophe_is_left_to_formulas(tmp_path):
    # formulas itself cannot read a cell of such a sheet from a formula: its answer,
    # #REF!, is kept (a limitation of the formulas engine, README "Standard workbooks")
    path = one_sheet(tmp_path, {"A1": 1500, "A2": "=A1*2"},
                 {"Cost": "'Bob''s costs'!$A$1", "Double": "'Bob''s costs'!$A$2"},
                 title="Bob's costs")
    with pytest.raises(Unsupported, match="reference"):
        graph_of(path)
    book = Recalculator(path)
    assert book.evaluator == "formulas"
    assert book.values() == {"Cost": 1500, "Double": "#REF!"}


@pytest.mark.parametrize("cells, names, reason", [
    ({"A1": "=B1*2", "B1": 3, "C1": "=ISFORMULA(A1)"}, {}, "function ISFORMULA"),
    ({"A1": 1, "B1": "=SUM(A:A)"}, {}, "cells"),
    ({"A1": "=B1+1", "B1": "=A1+1"}, {}, "circular reference"),
    ({"A1": "=_xlfn.LAMBDA(x,x*2)(3)"}, {}, "function"),
    ({"A1": "=Nowhere!B2+1"}, {}, "a sheet the workbook does not have"),
    ({"A1": "=Missing*2"}, {}, "not a defined name"),
])
def test_what_the_graph_leaves_to_formulas(tmp_path, cells, names, reason):
    path = one_sheet(tmp_path, cells, names)
    with pytest.raises(Unsupported, match=reason):
        graph_of(path)


def test_an_unsupported_workbook_is_evaluated_by_formulas(tmp_path):
    path = one_sheet(tmp_path, {"A1": 2, "B1": "=SUM(A:A)", "C1": "=ISFORMULA(B1)"},
                 {"Tot": "Sheet1!$B$1", "IsF": "Sheet1!$C$1", "In": "Sheet1!$A$1"})
    book = Recalculator(path)
    assert book.evaluator == "formulas"
    assert book.values({"In": 5}) == {"In": 5, "IsF": True, "Tot": 5}


def test_problems_are_reported_as_before(tmp_path):
    path = one_sheet(tmp_path, {"A1": "=B1+1", "B1": "=A1+1", "C1": "=FOO(1)+Nope"})
    with pytest.raises(RecalcError) as exc:
        Recalculator(path)
    assert [str(p) for p in exc.value.problems] == [
        "Sheet1!C1: unknown function FOO in =FOO(1)+Nope",
        "Sheet1!C1: unknown name Nope in =FOO(1)+Nope"]
    cycle = one_sheet(tmp_path, {"A1": "=B1+1", "B1": "=A1+1"})
    with pytest.raises(RecalcError, match="circular reference: Sheet1!A1 → Sheet1!B1 → "
                                          "Sheet1!A1"):
        Recalculator(cycle)


def test_a_function_raising_hands_the_workbook_to_formulas(tmp_path):
    path = one_sheet(tmp_path, {"A1": 1, "A2": 2, "A3": 3, "B1": 2, "B2": 3,
                            "C1": "=A1:A3+B1:B2", "D1": "=C1+E1", "E1": 5, "F1": "=E1*2"},
                 {"In": "Sheet1!$E$1", "Out": "Sheet1!$D$1", "F": "Sheet1!$F$1"})
    book = Recalculator(path)
    assert book.evaluator == "graph"
    assert book.values({"In": 2}, strict=False) == {"F": 4, "In": 2, "Out": None}
    assert book.evaluator == "formulas"  # and stays so
    assert book.values({"In": 3}, strict=False) == {"F": 6, "In": 3, "Out": None}


def test_xlp_messages_name_their_cell(tmp_path):
    path = one_sheet(tmp_path, {"A1": -5, "B1": "=XLP_TIMECHARGE(50000,A1)", "B2": "=B1+1"},
                 {"Hours": "Sheet1!$A$1", "Tc": "Sheet1!$B$1", "Next": "Sheet1!$B$2"})
    book = Recalculator(path)
    assert book.evaluator == "graph"
    result = book.calculate()
    assert result.values == {"Hours": -5, "Next": "#VALUE!", "Tc": "#VALUE!"}
    assert [str(p) for p in result.errors] == [
        "Sheet1!B1: XLP_TIMECHARGE: hours = -5: expected a number of hours >= 0"]
    assert book.calculate({"Hours": 10}).values == {"Hours": 10, "Next": 500001,
                                                    "Tc": 500000}


# Cases a review's fuzzer found (each differed from formulas' model before its fix).

def both(path: Path, inputs: dict[str, Any]) -> tuple[Any, Any]:
    graph, reference = Recalculator(path), Recalculator(path, graph=False)
    ours, theirs = graph.calculate(inputs), reference.calculate(inputs)
    return ((ours.values, [str(p) for p in ours.errors], graph.evaluator),
            (theirs.values, [str(p) for p in theirs.errors], "graph"))


def test_a_value_given_to_an_alias_name_is_left_to_formulas(tmp_path):
    # formulas' model may push it on to what the alias names (name → name → cell)
    path = one_sheet(tmp_path, {"A1": 4, "B1": "=A1*2", "B2": "=Alias+1", "B3": "=In+100",
                            "C1": "=B1+1"},
                 {"In": "Sheet1!$A$1", "Alias": "In", "Out": "Sheet1!$B$1",
                  "P": "Sheet1!$B$2", "Q": "Sheet1!$B$3", "Paren": "(Sheet1!$A$1)",
                  "Twice": "(Sheet1!$B$1)", "Next": "Sheet1!$C$1"})
    for inputs in ({"Alias": 10}, {"Paren": 7}, {"Alias": 10, "In": 3}, {"Twice": 100},
                   {"In": 3}):
        assert both(path, inputs)[0][:2] == both(path, inputs)[1][:2]
    assert both(path, {"Alias": 10})[1][0] == {"Alias": 10, "In": 10, "Out": 20, "P": 11,
                                               "Paren": 10, "Q": 110, "Twice": 20,
                                               "Next": 21}
    book = Recalculator(path)
    book.values({"Alias": 10})
    assert book.evaluator == "graph"  # (that call went to formulas' model; the next not)
    assert book._graph.takes({"'[book.xlsx]SHEET1'!A1": 3})
    assert not book._graph.takes({"'[book.xlsx]'!ALIAS": 3})


def test_a_value_given_to_a_cell_of_an_array_formula(tmp_path):
    path = one_sheet(tmp_path, {"A1": 1, "A2": 2, "A3": 3, "C1": "=SUM(B1:B3)", "C2": "=B2"},
                 {"S": "Sheet1!$C$1", "Mid": "Sheet1!$C$2"})
    wb = openpyxl.load_workbook(path)
    wb.active["B1"] = ArrayFormula("B1:B3", "=A1:A3*2")
    wb.save(path)
    for inputs in ({"Sheet1!B2": 100}, {"Sheet1!B1": 7, "Sheet1!A3": 10}):
        ours, theirs = both(path, inputs)
        assert ours == theirs


def test_xlp_messages_from_names_and_in_workbook_order(tmp_path):
    path = one_sheet(tmp_path, {"A1": -5, "B1": "=Tc+1", "C3": "=XLP_RATE(\"dean\")",
                            "A2": "=XLP_TIMECHARGE(A1,1)", "C1": "=XLP_EFFORT_HOURS(-1,1,1)"},
                 {"Hours": "Sheet1!$A$1", "Tc": "XLP_TIMECHARGE(50000,Sheet1!$A$1)",
                  "Next": "Sheet1!$B$1", "K": "IFERROR(XLP_TIMECHARGE(1,-1),0)"})
    ours, theirs = both(path, {})
    assert ours[0] == theirs[0]
    # cells' messages in the workbook's order, whichever evaluator; a message from inside a
    # defined name names no place in either (which name's comes first may differ)
    assert [e.split(": ")[0] for e in ours[1]] == [e.split(": ")[0] for e in theirs[1]] \
        == ["XLP_TIMECHARGE", "Sheet1!C1", "Sheet1!A2", "Sheet1!C3"]  # row by row
    assert ours[1][1:] == theirs[1][1:]


def test_what_would_be_a_problem_is_never_loaded_by_the_graph(tmp_path):
    # the problems recalc reports (unknown function, name or sheet) are found on formulas'
    # model, which the graph hands every such workbook to
    def own(n: int, *args: Any) -> Path:
        (tmp_path / str(n)).mkdir()
        return one_sheet(tmp_path / str(n), *args)

    local = own(0, {"A1": 2, "B1": "=Here*2"})
    wb = openpyxl.load_workbook(local)
    wb.active.defined_names["Here"] = DefinedName("Here", attr_text="Sheet1!$A$1")
    wb.save(local)
    cases = [(local, "unknown name Here"),
             (own(1, {"A1": 2}, {"Bad": "Sheet1!$A$1*Nope"}), "unknown name Nope"),
             (own(2, {"A1": 2}, {"F": "FOO(Sheet1!$A$1)"}), "unknown function FOO"),
             (own(3, {"A1": "=Elsewhere!A1"}), "unknown sheet Elsewhere")]
    for path, reason in cases:
        with pytest.raises(Unsupported):
            graph_of(path)
        with pytest.raises(RecalcError, match=reason):
            Recalculator(path)


# -- random workbooks: the graph against formulas' model ----------------------------------

DATA_VALUES = st.one_of(st.integers(-5, 20), st.sampled_from([0.5, 2.675, -1.25]),
                        st.sampled_from(["", "abc", "5", None, True, False]))
RANGES = ["Data!A1:A5", "Data!B1:B5", "Data!A1:C3", "Rng", "Data!C2:C4"]
CELLS = ["Data!A1", "Data!B2", "Data!C3", "Data!C5", "Cell", "K", "Al"]


def formulas_text(draw: Any, depth: int, before: list[str]) -> str:
    """One random formula over the Data sheet, the names and the cells ``before`` it."""
    leaf = st.one_of(st.integers(-3, 9).map(str), st.sampled_from(['"x"', "TRUE", "0.5"]),
                     st.sampled_from(CELLS + before))
    if depth <= 0 or draw(st.booleans()):
        return draw(leaf)
    e = lambda: formulas_text(draw, depth - 1, before)  # noqa: E731
    rng = draw(st.sampled_from(RANGES))
    return draw(st.sampled_from([
        f"({e()}{draw(st.sampled_from(['+', '-', '*', '/', '&', '>', '=', '<>']))}{e()})",
        f"SUM({rng})", f"MAX({rng},{e()})", f'SUMIF({rng},">1")', f"COUNT({rng})",
        f"IF({e()}>1,{e()},{e()})", f"ROUND({e()},0)", f"ROUNDDOWN({e()},1)",
        f"INDEX({rng},{draw(st.integers(1, 3))})", f"MATCH({e()},{rng},0)",
        f"IFERROR({e()},-1)", f"AND({e()},{e()})", f"ISNUMBER({e()})", f"N({e()})",
        f"TRUNC({e()})", f"-{e()}", f"{e()}%", f"XLP_TIMECHARGE({e()},{e()})",
        f"SUMIFS({rng},{rng},\">0\")"]))


@st.composite
def random_books(draw: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    data = {f"{c}{r}": draw(DATA_VALUES) for c in "ABC" for r in range(1, 6)}
    cells: dict[str, Any] = {}
    for row in range(1, draw(st.integers(2, 6)) + 1):
        cells[f"E{row}"] = "=" + formulas_text(draw, 2, [f"E{r}" for r in range(1, row)])
    inputs = [draw(st.dictionaries(st.sampled_from(["Cell", "K", "Sheet1!E1", "Data!A2",
                                                    "Data!D9"]),
                                   DATA_VALUES, max_size=3)) for _ in range(3)]
    return data, cells, inputs


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.large_base_example,
                                 HealthCheck.data_too_large])
@given(random_books())
def test_random_workbooks_give_formulas_values(tmp_path_factory, book):
    data, cells, input_sets = book
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for ref, value in cells.items():
        ws[ref] = value
    ds = wb.create_sheet("Data")
    for ref, value in data.items():
        ds[ref] = value
    ds["D9"] = None
    names = {"Rng": "Data!$A$1:$A$5", "Cell": "Data!$B$2", "K": "0.25", "Al": "Cell",
             **{f"Out{r}": f"Sheet1!$E${r[1:]}" for r in cells}}
    for name, target in names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    path = tmp_path_factory.mktemp("random") / "book.xlsx"
    wb.save(path)
    graph = Recalculator(path)
    assert graph.evaluator == "graph"
    for inputs in [{}, *input_sets]:  # (the same Recalculator: later calls reuse it)
        assert outcome(graph, inputs) == outcome(Recalculator(path, graph=False), inputs), \
            (cells, inputs)


def outcome(book: Recalculator, inputs: dict[str, Any]) -> Any:
    """Values and messages, or the error (an input the workbook does not use)."""
    try:
        result = book.calculate(inputs)
    except RecalcError as exc:
        return str(exc)
    return result.values, [str(p) for p in result.errors]
