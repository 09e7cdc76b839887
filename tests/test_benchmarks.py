"""The benchmark harness does what benchmarks/README.md says it measures (no timing is
asserted here: speed is measured in benchmarks/ as ratios, not in tests)."""

import csv
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from benchmarks import batch_bench, projects, udf_bench
from benchmarks.__main__ import goals_met
from benchmarks.bare_openpyxl import write as bare_write
from benchmarks.timing import alternate, kill_group, median_paired_ratio, run_timed
from benchmarks.xlsx_names import file_name_areas
from xl_pricing.project import parse_project
from xl_pricing.rates import load_card
from xl_pricing.workbook import build_workbook

ROOT = Path(__file__).resolve().parent.parent


# -- generated projects ---------------------------------------------------------------------

def test_generated_projects_are_valid_varied_and_repeatable():
    got = projects.generate(40)
    assert got == projects.generate(40)  # same seed, same projects
    assert got != projects.generate(40, seed=1)
    assert [p["project"]["approach"] for p in got[:4]] == ["X", "A", "B", "C"]
    assert len({p["project"]["id"] for p in got}) == 40
    parsed = [parse_project(p, "generated") for p in got]
    assert {len(p.researchers) for p in parsed} > {1}
    assert {len(p.fiscal_years) for p in parsed} == {1, 2, 3}
    assert all(p.total is not None for p in parsed if p.project.approach == "B")
    assert all(p.outcome and p.outcome.sales for p in parsed if p.project.approach == "C")


def test_built_native_workbooks_hold_the_projects_and_their_total(tmp_path):
    paths = projects.build_native(projects.generate(2), tmp_path)
    assert [p.name for p in paths] == ["BENCH-0000-native.xlsx", "BENCH-0001-native.xlsx"]
    wb = openpyxl.load_workbook(paths[1])
    assert "Total" in wb.defined_names and "ProjectId" in wb.defined_names
    sheet, coord = next(iter(wb.defined_names["ProjectId"].destinations))
    assert wb[sheet][coord.replace("$", "")].value == "BENCH-0001"
    formulas = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    assert formulas and not any("XLP_" in f for f in formulas)  # native: built-ins only


def test_names_read_from_the_file_are_the_ones_openpyxl_reads(tmp_path):
    path = projects.build_native(projects.generate(1), tmp_path)[0]
    areas = file_name_areas(str(path))
    wb = openpyxl.load_workbook(path)
    checked = 0
    for name, dn in wb.defined_names.items():
        dest = list(dn.destinations)
        if len(dest) != 1:
            assert name not in areas
            continue
        sheet, coord = dest[0]
        first, _, last = coord.replace("$", "").partition(":")
        c0, r0 = openpyxl.utils.cell.coordinate_to_tuple(first)[::-1]
        c1, r1 = openpyxl.utils.cell.coordinate_to_tuple(last or first)[::-1]
        assert areas[name] == (wb.sheetnames.index(sheet), c0 - 1, r0 - 1, c1 - 1, r1 - 1)
        checked += 1
    assert checked == len(areas) > 200


# -- the bare openpyxl baseline --------------------------------------------------------------

def test_table_generation_gives_unique_ids(tmp_path):
    path = batch_bench.make_table(12, tmp_path)
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12


def test_bare_baseline_writes_the_same_cells_and_styles(tmp_path):
    card = load_card(None)
    project = parse_project(projects.generate(2)[1], "generated")
    snap = batch_bench.snapshot_of(build_workbook(card, project, "native"))
    [path] = bare_write([snap], 1, tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [title for title, _ in snap["sheets"]]
    styled = 0
    for title, cells in snap["sheets"]:
        ws = wb[title]
        for coord, value, style in cells:
            got = ws[coord].value
            if isinstance(value, date) and not isinstance(value, datetime):
                got = got.date()  # a date cell reads back as a datetime at midnight
            if value == "":
                value = None  # openpyxl writes no empty text, from the builder or here
            assert got == value, (title, coord)
            assert ws[coord].style == style, (title, coord)
            styled += style != "Normal"
    assert styled > 500
    by_name = {s.name: s for s in snap["styles"]}
    c = wb["Project"]["B4"]  # the project id: an input cell
    assert c.fill == by_name[c.style].fill and c.number_format == by_name[c.style].number_format


def test_bare_baseline_script_runs_on_a_pickled_snapshot(tmp_path):
    import pickle

    card = load_card(None)
    snap = batch_bench.snapshot_of(build_workbook(
        card, parse_project(projects.generate(1)[0], "generated"), "native"))
    (tmp_path / "s.pickle").write_bytes(pickle.dumps([snap]))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bare_openpyxl.py"),
                    str(tmp_path / "s.pickle"), "3", str(out)], check=True, timeout=120)
    assert sorted(p.name for p in out.iterdir()) == [
        "bare-00000.xlsx", "bare-00001.xlsx", "bare-00002.xlsx"]


def test_rss_wrapper_reports_the_largest_child(tmp_path):
    code = "x = bytearray(150 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"
    _, out = run_timed([sys.executable, "-c", batch_bench.RSS_SCRIPT, sys.executable, "-c",
                        code], 120, "rss wrapper")
    assert json.loads(out)["kb"] / 1024 > 150


# -- Excel functions -------------------------------------------------------------------------

def test_payload_is_what_xlwings_server_code_takes():
    """The payload helper's body through xlwings' own ``custom_functions_call`` on the
    served module (a child process: xlwings reads XLWINGS_ON_SERVER when imported)."""
    code = ("import asyncio, json, xlwings.server\n"
            "from xl_pricing.server import custom_functions as m\n"
            "from benchmarks.udf_bench import payload\n"
            "c = xlwings.server.custom_functions_call\n"
            "one = asyncio.run(c(payload('XLP_TIMECHARGE', [[[50000]], [[12.5]], None]), m))\n"
            "col = asyncio.run(c(payload('XLP_TIMECHARGE', [[[50000], [30000]], "
            "[[12.5], [2]], None]), m))\n"
            "print(json.dumps([one, col]))\n")
    _, out = run_timed([sys.executable, "-c", code], 120, "payload", env=udf_bench.server_env(),
                       cwd=str(ROOT))
    assert json.loads(out) == [[[625000]], [[625000], [60000]]]


def test_payload_has_the_add_ins_keys():
    body = udf_bench.payload("BENCH_ECHO", [[[1]]])
    assert body["func_name"] == "BENCH_ECHO" and body["args"] == [[[1]]]
    assert {"client", "caller_address", "culture_info_name", "version"} <= set(body)
    assert body["client"] == "Office.js"


def test_excel_serve_with_the_echo_function_answers_both_on_loopback(tmp_path):
    """The server the overhead is measured on: the product's ``excel serve`` serving
    XLP_TIMECHARGE and BENCH_ECHO from one app, on 127.0.0.1 only."""
    port = udf_bench.free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as f:
        proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "serve_echo.py"),
                                 "--host", udf_bench.HOST, "--port", str(port)],
                                env=udf_bench.server_env(), cwd=str(ROOT), stdout=f,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        names = udf_bench.wait_ready(proc, port, log, timeout=90)
        assert any("BENCH_ECHO" in str(n).upper() for n in names)
        client = udf_bench.Client(port)
        try:
            assert client.call(udf_bench.payload("BENCH_ECHO", [[["x", 2]]])) == [["x", 2]]
            assert client.call(udf_bench.payload(
                "XLP_TIMECHARGE", [[[50000]], [[12.5]], None])) == [[625000]]
        finally:
            client.close()
    finally:
        kill_group(proc)
    assert proc.poll() is not None


# -- timing helpers ---------------------------------------------------------------------------

def test_paired_ratio_alternates_the_order_and_pairs_the_right_sides():
    calls = []
    median_paired_ratio(lambda: calls.append("s"), lambda: calls.append("b"), 4)
    assert calls == ["s", "b"] + ["s", "b", "b", "s"] * 2
    # each side's timing is kept with its own side: a subject that costs more than the
    # baseline gives a ratio above 1 whichever runs first
    s, b, r = median_paired_ratio(lambda: time.sleep(0.004), lambda: time.sleep(0.001), 6)
    assert s > b and r > 2


def test_paired_ratio_stops_at_its_time_budget():
    calls = []
    t = time.perf_counter()
    median_paired_ratio(lambda: (calls.append(1), time.sleep(0.01)), lambda: None, 10_000,
                        budget_s=0.1)
    assert time.perf_counter() - t < 2 and 2 <= len(calls) - 1 < 100


def test_alternate_swaps_who_goes_first():
    order = []
    s, b = alternate(lambda: order.append("s") or 1.0, lambda: order.append("b") or 2.0, 3)
    assert order == ["s", "b", "b", "s", "s", "b"] and s == [1.0] * 3 and b == [2.0] * 3


def test_run_timed_kills_a_child_past_its_timeout():
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="no answer within"):
        run_timed([sys.executable, "-c", "import time; time.sleep(60)"], 0.5, "sleeper")
    assert time.perf_counter() - t < 10


def test_run_timed_reports_a_failing_child_with_its_stderr():
    with pytest.raises(RuntimeError, match=r"exit status 3\nboom"):
        run_timed([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"],
                  60, "failing")


def test_goals_are_judged_only_for_figures_present():
    assert goals_met({"udf_http_overhead": 1.05, "rss_mb_10k": 301, "other": 1}) == {
        "udf_http_overhead": True, "rss_mb_10k": False}


def test_quick_sizes_keep_the_keys_definitions():
    """--quick uses fewer rounds, not other workloads, where the key names a size."""
    from benchmarks import recalc_bench

    assert recalc_bench.SIZES[True]["session_books"] == 100
    assert os.path.basename(recalc_bench.PROJECT) == "a-stacked-sponsored.toml"
