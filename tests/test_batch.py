"""Batch quoting: a table of projects → one workbook per row and summary.xlsx."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from xl_pricing import load_card
from xl_pricing.batch import (LARGE_CONTRACT, SUMMARY_NAME, cell_value, column_of,
                              count_rows, read_table, run_batch)
from xl_pricing.errors import InputError
from xl_pricing.pricing import quote
from xl_pricing.cells import project_from_pairs
from xl_pricing.workbook import output_name

from conftest import PROJECTS

EXAMPLE = PROJECTS / "batch-example.csv"
HEAD = ["id", "title", "contract", "approach", "department", "start", "end",
        "direct.consumables", "researchers.1.rank", "researchers.1.hours", "total.agreed"]
HEAD_QUOTES = ("row", "id", "title", "approach", "contract", "department", "total", "file")


def write_csv(path: Path, rows: list[list[object]], head: list[str] = HEAD) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows(rows)
    return path


def row(id: str, approach: str = "X", consumables: object = 5_000_000, *, title: str = "",
        contract: str = "joint", department: str = "Eng", rank: object = "",
        hours: object = "", agreed: object = "") -> list[object]:
    return [id, title, contract, approach, department, "2027-04-01", "2028-03-31",
            consumables, rank, hours, agreed]


def sheet(path: Path, name: str) -> list[tuple]:
    wb = load_workbook(path)
    try:
        return [tuple(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


def quotes(result) -> dict[int, tuple]:
    """The Quotes sheet by row number: (id, title, approach, contract, dept, total, file)."""
    return {r[0]: r[1:] for r in sheet(result.summary, "Quotes")[1:]}


def summary_value(result, label: str) -> object:
    for r in sheet(result.summary, "Summary"):
        if r[0] and label in str(r[0]):
            return r[1]
    raise KeyError(label)


def group(result, key: str) -> dict[str, tuple]:
    """A by-approach / contract / department table of the Summary sheet."""
    rows = sheet(result.summary, "Summary")
    start = next(i for i, r in enumerate(rows) if r[0] == key) + 1
    out = {}
    for r in rows[start:]:
        if r[0] is None:
            break
        out[r[0]] = r[1:5]
    return out


def leftovers(folder: Path) -> list[str]:
    """Temporary files of an atomic write that never completed."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or
            p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def card():
    return load_card("jp-default")


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("example") / "out"
    return run_batch(EXAMPLE, out, workers=1, progress=False)


# -- reading tables -------------------------------------------------------------------------

def test_read_table_rows_numbers_and_values(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,start,direct.consumables,outcome.royalty_rate,options.know_how,title\n"
                 "Q1,2027-04-01,5000000,0.02,TRUE,=SUM(A1)\n"
                 "\n"
                 "Q2,2027/4/1,\"  5,000,000 \",,false,\n"
                 "Q3,2027-04-01 00:00:00,5000000.0,,,\"two\nlines\"\n", encoding="utf-8")
    rows = list(read_table(p, chunksize=2))  # chunks smaller than the table
    assert [n for n, _ in rows] == [2, 4, 5]  # the blank line is row 3
    assert rows[0][1] == {"id": "Q1", "start": dt.date(2027, 4, 1), "direct.consumables": 5_000_000,
                          "outcome.royalty_rate": Decimal("0.02"), "options.know_how": True,
                          "title": "=SUM(A1)"}
    assert rows[1][1] == {"id": "Q2", "start": dt.date(2027, 4, 1),
                          "direct.consumables": 5_000_000, "options.know_how": False}
    assert rows[2][1]["start"] == dt.date(2027, 4, 1)
    assert rows[2][1]["direct.consumables"] == 5_000_000
    assert type(rows[2][1]["direct.consumables"]) is int
    assert rows[2][1]["title"] == "two\nlines"
    assert count_rows(p) == 5  # lines less the header: an estimate for the progress bar


def test_cell_values():
    assert cell_value("researchers.1.hours", 12.0) == 12 and \
        type(cell_value("researchers.1.hours", 12.0)) is int
    assert cell_value("researchers.1.hours", 12.5) == Decimal("12.5")
    assert cell_value("id", 2027.0) == "2027"           # a text field keeps text
    assert cell_value("title", "1,000") == "1,000"
    assert cell_value("researchers.1.hours", "many") == "many"  # the model will judge it
    assert cell_value("direct.consumables", float("nan")) is None
    assert cell_value("start", dt.datetime(2027, 4, 1)) == dt.date(2027, 4, 1)
    assert cell_value("title", "   ") is None


def test_read_table_refuses_a_column_named_twice(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,approach,approach\nQ1,X,A\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert e.value.value == "approach" and "column 2" in e.value.expected


def test_read_table_wrong_kind_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="ending in .csv or .xlsx"):
        read_table(tmp_path / "t.txt")
    with pytest.raises(InputError, match="an existing file"):
        read_table(tmp_path / "none.csv")


def test_read_table_windows_japanese_encoding(tmp_path):
    p = tmp_path / "sjis.csv"
    p.write_bytes("id,title\nQ1,触媒スクリーニング\n".encode("cp932"))
    assert list(read_table(p)) == [(2, {"id": "Q1", "title": "触媒スクリーニング"})]
    bom = tmp_path / "bom.csv"
    bom.write_bytes("id,title\nQ1,電池\n".encode("utf-8-sig"))
    assert list(read_table(bom)) == [(2, {"id": "Q1", "title": "電池"})]


def test_column_of_maps_key_paths_to_columns():
    row = {"id": "Q", "researchers.1.rank": "x", "researchers.3.hours": 5,
           "direct.consumables": 1, "direct.travel": "x", "options.know_how": True}
    assert column_of("researchers[0].rank", row) == "researchers.1.rank"
    assert column_of("researchers[1].hours", row) == "researchers.3.hours"  # 1-based keys
    assert column_of("direct[1].amount", row) == "direct.travel"
    assert column_of("options[0]", row) == "options.know_how"
    assert column_of("project.approach", row) == "approach"
    assert column_of("outcome.sales[0].base", row) == "outcome.sales.1.base"


# -- the example table ----------------------------------------------------------------------

def test_example_totals_equal_the_engine(example_run, card):
    r = example_run
    assert (r.rows, r.written, r.failed, r.errors) == (8, 8, 0, [])
    expected = {}
    for n, values in read_table(EXAMPLE):
        p = project_from_pairs(values)
        expected[n] = (p.project.id, p.project.approach, int(quote(p, card).total))
    got = quotes(r)
    assert {n: (q[0], q[2], q[5]) for n, q in got.items()} == expected
    # By hand: approach X, joint, consumables 5,000,000 → + 30% indirect + 10% strategic.
    assert got[2][0] == "X-2027-101" and got[2][5] == 7_000_000 == 5_000_000 + 1_500_000 \
        + 500_000
    assert r.total == sum(t for _, _, t in expected.values()) == 80_320_681
    assert summary_value(r, "Total of all quotes") == r.total
    assert summary_value(r, "Workbooks written") == 8
    by_approach = group(r, "approach")
    for ap in "XABC":
        mine = [t for _, a, t in expected.values() if a == ap]
        assert by_approach[ap][:2] == (len(mine), sum(mine))
    large = [t for _, _, t in expected.values() if t >= LARGE_CONTRACT]
    assert summary_value(r, "Contracts ≥") == len(large) == 4   # 10.6M, 22.5M, 10M, 15M
    assert summary_value(r, "Share ≥") == pytest.approx(0.5)
    depts = group(r, "department")
    assert depts["Engineering"][:2] == (3, 7_000_000 + 10_600_000 + 1_300_000)
    assert sheet(r.summary, "Errors") == [("row", "column", "value", "message")]


def test_example_workbooks_exist_and_open(example_run, card):
    got = quotes(example_run)
    names = {q[6] for q in got.values()}
    assert names == {p.name for p in example_run.out_dir.glob("*.xlsx")} - {SUMMARY_NAME}
    for n, values in read_table(EXAMPLE):
        project = project_from_pairs(values)
        path = example_run.out_dir / output_name(card, project, "udf")
        wb = load_workbook(path)
        assert "Total" in wb.defined_names
        assert wb["Project"] is not None
        wb.close()
    assert leftovers(example_run.out_dir) == []


def test_summary_has_a_chart_and_yen_format(example_run):
    wb = load_workbook(example_run.summary)
    ws = wb["Summary"]
    assert len(ws._charts) == 1
    total = next(r[1] for r in ws.iter_rows() if r[0].value and "Total of all" in r[0].value)
    assert total.number_format == '"¥"#,##0'
    assert wb.sheetnames == ["Summary", "Quotes", "Errors"]


def test_project_files_as_table_rows(tmp_path, card):
    """Every example project file, flattened by project_to_pairs into one table row."""
    from xl_pricing.cells import project_to_pairs
    from xl_pricing.project import load_project
    from xl_pricing.tomlio import read_document

    files = sorted(PROJECTS.glob("*.toml"))
    rows = [dict(project_to_pairs(read_document(f))) for f in files]
    head = list(dict.fromkeys(k for r in rows for k in r))
    write_csv(tmp_path / "files.csv", [[r.get(k, "") for k in head] for r in rows], head)
    r = run_batch(tmp_path / "files.csv", tmp_path / "out", card=card, workers=1,
                  progress=False)
    assert (r.written, r.failed) == (len(files), 0), r.errors
    expected = [int(quote(load_project(f), card).total) for f in files]
    assert [q[5] for _, q in sorted(quotes(r).items())] == expected


# -- bad rows -------------------------------------------------------------------------------

BAD = [
    row("G-1"),                                                      # 2 good, 7,000,000
    row("BAD-HOURS", "A", 1_000_000, rank="professor", hours=-5),     # 3
    row("BAD-RANK", "A", 1_000_000, rank="wizard", hours=10),         # 4
    row("BAD-TEXT", "X", "five million"),                             # 5
    row("BAD-APPROACH", ""),                                          # 6
    row("G-2", "A", 1_000_000, rank="professor", hours=10),           # 7 good
]


def test_bad_rows_are_reported_and_skipped(tmp_path):
    table = write_csv(tmp_path / "bad.csv", BAD)
    r = run_batch(table, tmp_path / "out", workers=1, progress=False)
    assert (r.rows, r.written, r.failed) == (6, 2, 4)
    got = {(e.row, e.column, e.value) for e in r.errors}
    assert got == {(3, "researchers.1.hours", -5), (4, "researchers.1.rank", "wizard"),
                   (5, "direct.consumables", "five million"), (6, "approach", None)}
    by_row = {e.row: e for e in r.errors}
    assert by_row[3].message == "bad.csv row 3: researchers.1.hours = -5: expected a number >= 0"
    assert "professor" in by_row[4].expected
    assert "bad.csv row 6: approach is missing" in by_row[6].message
    assert sorted(quotes(r)) == [2, 7]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["jp-default-G-1-udf.xlsx", "jp-default-G-2-udf.xlsx", SUMMARY_NAME]
    errors = sheet(r.summary, "Errors")[1:]
    assert [(e[0], e[1], e[2]) for e in errors] == [
        (3, "researchers.1.hours", "-5"), (4, "researchers.1.rank", "wizard"),
        (5, "direct.consumables", "five million"), (6, "approach", None)]
    assert summary_value(r, "Rows with errors") == 4


def test_stop_at_the_first_bad_row_leaves_no_partial_files(tmp_path):
    table = write_csv(tmp_path / "bad.csv", BAD)
    out = tmp_path / "out"
    r = run_batch(table, out, workers=1, on_error="stop", progress=False)
    assert r.stopped_at == 3 and r.failed == 1 and r.written == 1
    assert [(e.row, e.column) for e in r.errors] == [(3, "researchers.1.hours")]
    assert sorted(p.name for p in out.iterdir()) == ["jp-default-G-1-udf.xlsx", SUMMARY_NAME]
    assert summary_value(r, "Stopped at row") == 3
    assert leftovers(out) == []


def test_stop_in_parallel_cancels_the_rest(tmp_path):
    rows = [row("BAD", "A", 1_000_000, rank="wizard", hours=1)] + \
           [row(f"G-{i}", consumables=1_000_000 + i) for i in range(12)]
    table = write_csv(tmp_path / "t.csv", rows)
    out = tmp_path / "out"
    r = run_batch(table, out, workers=2, on_error="stop", progress=False)
    assert r.stopped_at == 2 and r.errors[0].column == "researchers.1.rank"
    written = {p.name for p in out.iterdir()} - {SUMMARY_NAME}
    assert len(written) == r.written < 12        # the rest was cancelled
    assert {q[6] for q in quotes(r).values()} == written   # the summary lists what exists
    for name in written:
        load_workbook(out / name).close()        # whole files only
    assert leftovers(out) == []


def test_duplicate_ids_are_row_errors(tmp_path):
    rows = [row("D-1"), row("D_2"), row("D-1", consumables=1), row("d/2")]
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert r.written == 2
    assert [(e.row, e.column, e.value) for e in r.errors] == [(4, "id", "D-1"),
                                                              (5, "id", "d/2")]
    assert r.errors[0].expected == ("an id not used by an earlier row (row 2 has 'D-1'; both "
                                    "workbooks would be jp-default-D-1-udf.xlsx)")
    assert "row 3 has 'D_2'" in r.errors[1].expected  # the same file name, ignoring case
    assert r.errors[1].message.startswith("t.csv row 5: id = 'd/2': expected an id not used")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "jp-default-D-1-udf.xlsx", "jp-default-D_2-udf.xlsx", SUMMARY_NAME]


# -- files ----------------------------------------------------------------------------------

def test_existing_files_are_kept_without_force_and_replaced_with_it(tmp_path, card):
    table = write_csv(tmp_path / "t.csv", [row("F-1"), row("F-2")])
    out = tmp_path / "out"
    out.mkdir()
    old = out / "jp-default-F-1-udf.xlsx"
    old.write_bytes(b"an older workbook")
    r = run_batch(table, out, workers=1, progress=False)
    assert (r.written, r.failed) == (1, 1)
    e = r.errors[0]
    assert (e.row, e.column, e.value) == (2, "id", "F-1")
    assert "force" in e.expected
    assert old.read_bytes() == b"an older workbook"
    # The summary exists now: a second run refuses before doing anything.
    with pytest.raises(InputError) as exc:
        run_batch(table, out, workers=1, progress=False)
    assert exc.value.field == "--out" and SUMMARY_NAME in exc.value.value
    r = run_batch(table, out, workers=1, force=True, progress=False)
    assert (r.written, r.failed) == (2, 0)
    assert "Total" in load_workbook(old).defined_names
    assert leftovers(out) == []


def test_formula_like_text_is_stored_as_text(tmp_path):
    rows = [row("T-1", title='=HYPERLINK("http://example.com","x")', department="+Dept"),
            row("T-2", title="@SUM(1)", department="-Dept"),
            row("T-3", "X", "=1+1", title="bad")]
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert r.written == 2
    wb = load_workbook(r.summary)
    titles = {c.value: c for c in wb["Quotes"]["C"][1:]}
    cell = titles['=HYPERLINK("http://example.com","x")']
    assert cell.data_type == "s" and cell.quotePrefix
    assert titles["@SUM(1)"].data_type == "s"
    depts = {c.value: c for c in wb["Summary"]["A"] if c.value in ("+Dept", "-Dept")}
    assert set(depts) == {"+Dept", "-Dept"} and all(c.data_type == "s" for c in
                                                    depts.values())
    value = wb["Errors"]["C2"]
    assert value.value == "=1+1" and value.data_type == "s"
    # No formula anywhere in the summary (a formula cell has data_type "f").
    assert not any(c.data_type == "f" for ws in wb for r_ in ws.iter_rows() for c in r_)


def test_parallel_gives_the_same_results_as_serial(tmp_path):
    rows = [list(map(str, r)) for r in BAD] + [row(f"P-{i}", consumables=1_000_000 * i)
                                               for i in range(1, 7)]
    table = write_csv(tmp_path / "t.csv", rows)
    one = run_batch(table, tmp_path / "one", workers=1, progress=False)
    two = run_batch(table, tmp_path / "two", workers=2, progress=False)
    assert (one.written, one.failed, one.total) == (two.written, two.failed, two.total) \
        == (8, 4, one.total)
    assert one.errors == two.errors
    for name in ("Summary", "Quotes", "Errors"):
        assert sheet(one.summary, name) == sheet(two.summary, name)
    assert one.summary.read_bytes() == two.summary.read_bytes()
    names = sorted(p.name for p in one.out_dir.iterdir())
    assert names == sorted(p.name for p in two.out_dir.iterdir())
    for name in names:
        assert (one.out_dir / name).read_bytes() == (two.out_dir / name).read_bytes(), name


def test_share_of_large_contracts(tmp_path):
    # Approach B, joint: the total is the agreed amount (no consumption tax on the card).
    agreed = [9_999_999, 10_000_000, 10_000_001, 20_000_000, 5_000_000]
    rows = [row(f"B-{i}", "B", 1_000_000, agreed=a, contract="joint" if i % 2 else
                "sponsored") for i, a in enumerate(agreed)]
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert r.written == 5 and r.total == sum(agreed)
    assert summary_value(r, "Contracts ≥") == 3
    assert summary_value(r, "Share ≥") == pytest.approx(0.6)
    contracts = group(r, "contract")
    # sponsored: 9,999,999 / 10,000,001 / 5,000,000; joint: 10,000,000 / 20,000,000.
    assert contracts["joint"] == (2, 30_000_000, 2, 1)
    assert contracts["sponsored"][:3] == (3, 25_000_000, 1)
    assert contracts["sponsored"][3] == pytest.approx(1 / 3)


def test_xlsx_table_works_like_csv(tmp_path, example_run):
    wb = Workbook()
    ws = wb.active
    with open(EXAMPLE, newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    head = lines[0]
    ws.append(head)
    for i, values in enumerate(lines[1:]):
        typed = []
        for key, v in zip(head, values):
            if v == "":
                typed.append(None)
            elif key in ("start", "end"):
                typed.append(dt.datetime.fromisoformat(v))      # real date cells
            elif v.replace(".", "", 1).isdigit() and key != "id":
                typed.append(float(v))                          # Excel numbers are floats
            elif v in ("TRUE", "FALSE"):
                typed.append(v == "TRUE")
            else:
                typed.append(v)
        ws.append(typed)
        if i == 3:
            ws.append([])                                       # a blank row counts
    wb.save(tmp_path / "projects.xlsx")
    assert count_rows(tmp_path / "projects.xlsx") == 9
    r = run_batch(tmp_path / "projects.xlsx", tmp_path / "out", workers=1, progress=False)
    assert (r.written, r.failed, r.total) == (8, 0, example_run.total)
    got = quotes(r)
    csv_rows = quotes(example_run)
    assert sorted(got) == [2, 3, 4, 5, 7, 8, 9, 10]             # row 6 is the blank one
    assert [q[:6] for _, q in sorted(got.items())] == \
        [q[:6] for _, q in sorted(csv_rows.items())]
    for q in got.values():
        assert (r.out_dir / q[6]).read_bytes() == (example_run.out_dir / q[6]).read_bytes()


def test_bad_arguments(tmp_path):
    table = write_csv(tmp_path / "t.csv", [row("A-1")])
    with pytest.raises(InputError, match="skip or stop"):
        run_batch(table, tmp_path / "o", on_error="ignore", progress=False)
    with pytest.raises(InputError, match="udf"):
        run_batch(table, tmp_path / "o", target="pdf", progress=False)
    with pytest.raises(InputError):
        run_batch(table, tmp_path / "o", workers=0, progress=False)
    with pytest.raises(InputError):
        run_batch(table, tmp_path / "o", card="no-such-card", progress=False)
    assert not (tmp_path / "o").exists()


def test_empty_table_writes_an_empty_summary(tmp_path):
    table = write_csv(tmp_path / "t.csv", [])
    r = run_batch(table, tmp_path / "out", progress=False)
    assert (r.rows, r.written, r.failed, r.total) == (0, 0, 0, 0)
    assert summary_value(r, "Share ≥") is None
    assert sheet(r.summary, "Quotes") == [HEAD_QUOTES]



def test_progress_bar_runs(tmp_path, capsys):
    r = run_batch(write_csv(tmp_path / "t.csv", [row("P-1")]), tmp_path / "out", workers=1,
                  progress=True)
    assert r.written == 1
    assert "quoting t.csv" in capsys.readouterr().err


def test_cli_batch_command(tmp_path):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    table = Path(__file__).parent.parent / "templates" / "projects" / "batch-example.csv"
    res = CliRunner().invoke(app, ["batch", str(table), "--out", str(tmp_path),
                                   "--workers", "1", "--target", "native"])
    assert res.exit_code == 0, res.output
    assert "8 workbooks written, 0 rows failed; total ¥80,320,681" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,contract,approach,start,end,direct.consumables\n"
                   "OK1,joint,X,2027-04-01,2028-03-31,5000000\n"
                   "BAD,joint,X,2027-04-01,2028-03-31,-5\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["batch", str(bad), "--out", str(tmp_path / "o"),
                                   "--workers", "1"])
    assert res.exit_code == 2
    assert "row 3" in res.output and "direct.consumables" in res.output
    assert (tmp_path / "o" / "jp-default-OK1-udf.xlsx").exists()
