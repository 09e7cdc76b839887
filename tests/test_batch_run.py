"""Running a batch (xl_pricing.batch.run): rows → workbooks, files, errors, processes."""

from __future__ import annotations

import csv
import datetime as dt
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from xl_pricing.batch import (LARGE_CONTRACT, PRESENT, SUMMARY_NAME, WRITTEN, count_rows,
                              read_table, run_batch)
from xl_pricing.errors import InputError
from xl_pricing.pricing import quote
from xl_pricing.cells import project_from_pairs
from xl_pricing.workbook import output_name

from batch_util import (BAD, EXAMPLE, HEAD,  PROJECTS, group, leftovers, quotes,
                        row, sheet, summary_value, write_csv)
from batch_util import run_example
from xl_pricing import load_card


@pytest.fixture(scope="module")
def card():
    return load_card("jp-default")


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    return run_example(tmp_path_factory)


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


def test_existing_files_are_kept_without_force_and_replaced_with_it(tmp_path, card):
    table = write_csv(tmp_path / "t.csv", [row("F-1"), row("F-2")])
    out = tmp_path / "out"
    out.mkdir()
    old = out / "jp-default-F-1-udf.xlsx"
    old.write_bytes(b"an older workbook")
    r = run_batch(table, out, workers=1, progress=False)
    # A resumed run: the workbook already there is kept and reported, not an error.
    assert (r.written, r.present, r.failed, r.errors) == (1, 1, 0, [])
    assert old.read_bytes() == b"an older workbook"
    got = quotes(r)
    assert got[2][7] == PRESENT and got[3][7] == WRITTEN
    assert r.total == 2 * 7_000_000 and summary_value(r, "Already present") == 1
    # The summary exists now: a second run refuses before doing anything.
    with pytest.raises(InputError) as exc:
        run_batch(table, out, workers=1, progress=False)
    assert exc.value.field == "out_dir" and SUMMARY_NAME in exc.value.value
    r = run_batch(table, out, workers=1, force=True, progress=False)
    assert (r.written, r.present, r.failed) == (2, 0, 0)
    assert "Total" in load_workbook(old).defined_names
    assert leftovers(out) == []


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
    # Without --target a batch builds native workbooks, as `build` does (issue 14 item 5).
    assert (tmp_path / "o" / "jp-default-OK1-native.xlsx").exists()
    assert not (tmp_path / "o" / "jp-default-OK1-udf.xlsx").exists()


# -- files: no races, no stale temporaries, inputs never outputs -----------------------------

def test_two_runs_into_one_folder_never_replace_each_others_files(tmp_path):
    """Two runs at once into one --out: each row is written by one run and reported as
    already present by the other; each run writes its own summary or refuses clearly."""
    import threading

    rows = [row(f"R-{i}", consumables=1_000_000 + i) for i in range(6)]
    table = write_csv(tmp_path / "t.csv", rows)
    out = tmp_path / "out"
    results: list[object] = []

    def go() -> None:
        try:
            results.append(run_batch(table, out, workers=1, progress=False))
        except InputError as exc:  # the other run's summary was there before this started
            results.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [r for r in results if not isinstance(r, InputError)]
    for exc in (r for r in results if isinstance(r, InputError)):
        assert exc.field == "out_dir" and SUMMARY_NAME in exc.value
    assert runs and all(r.failed == 0 and r.written + r.present == 6 for r in runs)
    assert sum(r.written for r in runs) == 6          # every workbook written exactly once
    assert len({r.summary for r in runs}) == len(runs)  # summary.xlsx, summary-2.xlsx
    for r in runs:
        assert len(quotes(r)) == 6
    for p in out.glob("jp-default-*.xlsx"):
        load_workbook(p).close()
    assert leftovers(out) == []


def test_stale_temporary_files_are_removed_at_the_next_run(tmp_path):
    from xl_pricing.files import temp_name

    out = tmp_path / "out"
    out.mkdir()
    old_style = out / ".jp-default-K-1-udf.xlsx.k3j_x9a2.tmp"   # earlier versions' mkstemp
    old_style.write_bytes(b"half a workbook")
    os.utime(old_style, (time.time() - 3600,) * 2)
    fresh_old_style = out / ".summary.xlsx.abcdefgh.tmp"        # maybe a live old writer
    fresh_old_style.write_bytes(b"x")
    dead = temp_name(out / "jp-default-K-2-udf.xlsx")
    dead = dead.with_name(dead.name.replace(f"-{os.getpid()}-", "-999999999-"))
    dead.write_bytes(b"half a workbook")
    mine = out / "notes.tmp"                                    # not ours: kept
    mine.write_bytes(b"keep")
    r = run_batch(write_csv(tmp_path / "t.csv", [row("K-1")]), out, workers=1,
                  progress=False)
    assert r.written == 1
    assert not old_style.exists() and not dead.exists()
    assert fresh_old_style.exists() and mine.exists()


def test_an_output_is_never_the_input_even_with_force(tmp_path):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    out = tmp_path / "out"
    first = run_batch(write_csv(tmp_path / "t.csv", [row("I-1")]), out, workers=1,
                      progress=False)
    before = first.summary.read_bytes()
    with pytest.raises(InputError) as e:
        run_batch(out / SUMMARY_NAME, out, workers=1, force=True, progress=False)
    assert e.value.field == "out_dir" and "never overwritten" in e.value.expected
    res = CliRunner().invoke(app, ["batch", str(out / SUMMARY_NAME), "--out", str(out),
                                   "--force", "--workers", "1"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "input is never overwritten" in res.output
    assert first.summary.read_bytes() == before


def test_a_row_whose_workbook_would_be_the_table_fails(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    table = write_csv(out / "jp-default-T-1-udf.xlsx.csv", [row("T-1"), row("T-2")])
    r = run_batch(table, out, workers=1, progress=False)
    assert r.written == 2   # .csv is not the .xlsx name: both rows are fine
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    ws.append(row("T-3"))
    ws.append(row("T-4"))
    wb.save(out / "jp-default-T-3-udf.xlsx")
    r = run_batch(out / "jp-default-T-3-udf.xlsx", out, workers=1, force=True,
                  progress=False)
    assert [(e.row, e.column, e.value) for e in r.errors] == [(2, "id", "T-3")]
    assert "not the table being read" in r.errors[0].expected
    assert r.written == 1


# -- a summary whatever a row holds ----------------------------------------------------------

def test_control_characters_in_a_title_fail_that_row_only(tmp_path):
    # Old code: openpyxl's IllegalCharacterError, and no summary at all.
    rows = [row("C-1", title="nul\x00here"), row("C-2", title="vt\x0bhere"),
            row("C-3", title="fine"), row("C-4\x00", title="bad id")]
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert (r.written, r.failed) == (1, 3)
    assert [(e.row, e.column) for e in r.errors] == [(2, "title"), (3, "title"), (5, "id")]
    assert r.errors[0].value == "nul\x00here" and "control characters" in r.errors[0].expected
    errors = sheet(r.summary, "Errors")[1:]
    assert [e[2] for e in errors] == ["nul\\x00here", "vt\\x0bhere", "C-4\\x00"]
    assert all("\x00" not in str(e) and "\x0b" not in str(e) for e in errors)


ODD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.tuples(ODD, ODD, ODD, ODD), min_size=1, max_size=4))
def test_a_batch_always_writes_its_summary_whatever_the_rows_hold(tmp_path, texts):
    out = tmp_path / f"out-{time.perf_counter_ns()}"
    # Odd text in the id, the title, the department and the amount of every row.
    rows = [row(f"H-{i}-{pid}", title=title, department=dept, consumables=amount or 1)
            for i, (pid, title, dept, amount) in enumerate(texts)]
    table = write_csv(tmp_path / f"{out.name}.csv", rows)
    r = run_batch(table, out, workers=1, progress=False)
    assert r.summary is not None and r.summary.exists()
    assert r.written + r.present + r.failed == r.rows == len(rows)
    wb = load_workbook(r.summary)
    assert len(list(wb["Quotes"].iter_rows())) == 1 + r.written
    assert len(list(wb["Errors"].iter_rows())) == 1 + len(r.errors)
    assert not any(c.data_type == "f" for ws in wb for x in ws.iter_rows() for c in x)
    wb.close()
    assert all("internal error" not in e.message for e in r.errors), r.errors


def test_an_unreadable_csv_line_fails_its_row_and_the_rest_is_priced(tmp_path):
    rows = [row("L-1"), row("L-2", title="x" * 200_000), row("L-3")]  # > csv's field limit
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert r.written == 2 and [(e.row, e.column) for e in r.errors] == [(3, "(row)")]
    assert "a well-formed CSV line" in r.errors[0].expected
    assert r.summary.exists()


def test_cli_refuses_a_table_of_unknown_encoding_with_one_message(tmp_path):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    p = tmp_path / "latin1.csv"
    p.write_bytes("id,title\nQ1,café\n".encode("latin-1"))
    res = CliRunner().invoke(app, ["batch", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "EUC-JP" in res.output and not (tmp_path / "o").exists()
