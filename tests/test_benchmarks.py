"""The benchmark harness still runs (no timing is asserted here: speed is measured in
benchmarks/ as ratios, not in tests)."""

import csv

from benchmarks import batch_bench
from benchmarks.timing import median_paired_ratio


def test_table_generation_gives_unique_ids(tmp_path):
    path = batch_bench.make_table(12, tmp_path)
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12


def test_bare_baseline_writes_the_same_cells(tmp_path):
    import openpyxl

    sheets, styles = batch_bench.snapshot()
    batch_bench.bare_openpyxl(1, tmp_path, sheets, styles)
    wb = openpyxl.load_workbook(next(tmp_path.glob("bare-*.xlsx")))
    assert wb.sheetnames == [title for title, _ in sheets]
    first_sheet, cells = sheets[0]
    coord, value, _style = cells[0]
    assert wb[first_sheet][coord].value == value


def test_paired_ratio_alternates_the_order_and_pairs_the_right_sides():
    calls = []
    s, b, r = median_paired_ratio(lambda: calls.append("s"), lambda: calls.append("b"), 4)
    assert calls == ["s", "b"] + ["s", "b", "b", "s"] * 2
    # each side's timing is kept with its own side: a subject that costs more than the
    # baseline gives a ratio above 1 whichever runs first
    import time
    s, b, r = median_paired_ratio(lambda: time.sleep(0.004), lambda: time.sleep(0.001), 6)
    assert s > b and r > 2
