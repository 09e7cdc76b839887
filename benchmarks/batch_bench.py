"""Batch generation through the command a user runs, ``xl-pricing batch``.

``batch_overhead`` (goal <= 2.0)
    ``python -m xl_pricing batch TABLE --out DIR --workers 1 --target native`` (one
    process: read the table, price every row, build and write each workbook, write the
    summary) ÷ ``python benchmarks/bare_openpyxl.py`` writing the same number of workbooks
    with the same cells and named styles (snapshots of the workbooks the same command
    writes for the example table's rows, read back with openpyxl before the timing).  Both timed as whole processes,
    alternating, summed over the rounds.
``batch_parallel_speedup`` (goal >= 1.7)
    The same command with ``--workers 1`` ÷ ``--workers 2`` on one table, alternating.
``rss_ratio`` (goal <= 1.2), ``rss_mb_10k`` (goal <= 300)
    Peak resident memory of the largest process of ``xl-pricing batch --workers 2`` on
    10,000 rows ÷ on 1,000 rows (``--quick``: 600 ÷ 60; ``rss_rows`` says which), read
    with ``getrusage(RUSAGE_CHILDREN)`` by a small wrapper process.

The tables cycle the rows of ``templates/projects/batch-example.csv`` (each row its own id).
"""

from __future__ import annotations

import copy
import csv
import pickle
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from .timing import alternate, last_json, run_timed, say

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "templates" / "projects" / "batch-example.csv"
TARGET = "native"
SIZES = {True: {"overhead_rows": 80, "overhead_rounds": 2, "parallel_rows": 100,
                "parallel_rounds": 2, "rss_rows": (60, 600)},
         False: {"overhead_rows": 1000, "overhead_rounds": 2, "parallel_rows": 400,
                 "parallel_rounds": 4, "rss_rows": (1000, 10_000)}}


def example_rows() -> tuple[list[str], list[dict[str, str]]]:
    with EXAMPLE.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def make_table(rows: int, folder: Path) -> Path:
    """``rows`` projects cycled from the example table, each with its own id."""
    fields, base = example_rows()
    path = folder / f"projects-{rows}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i in range(rows):
            row = dict(base[i % len(base)])
            row["id"] = f"{row['id']}-{i:05d}"
            w.writerow(row)
    return path


def _named_style(cell: Any) -> Any:
    """The named style ``cell`` shows, rebuilt from its public style attributes."""
    from openpyxl.styles import NamedStyle

    return NamedStyle(name=cell.style, font=copy.copy(cell.font), fill=copy.copy(cell.fill),
                      border=copy.copy(cell.border), alignment=copy.copy(cell.alignment),
                      number_format=cell.number_format,
                      protection=copy.copy(cell.protection))


def snapshot_of(wb: Any) -> dict[str, Any]:
    """What a bare script writes for one workbook: per sheet the cells with a value or a
    style other than Normal, ``(coordinate, value, style name)``, and those styles."""
    styles: dict[str, Any] = {}
    sheets = []
    for ws in wb.worksheets:
        cells = []
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and c.style == "Normal":
                    continue
                cells.append((c.coordinate, c.value, c.style))
                if c.style not in styles and c.style != "Normal":
                    styles[c.style] = _named_style(c)
        sheets.append((ws.title, cells))
    return {"sheets": sheets, "styles": list(styles.values())}


def snapshots(work: Path) -> list[dict[str, Any]]:
    """One snapshot per row of the example table, of the workbook ``xl-pricing batch``
    writes for it (run here, untimed, and read back with openpyxl)."""
    import openpyxl

    out = _fresh(work / "snapshot-batch")
    run_timed(batch_command(EXAMPLE, out, 1), 300, "xl-pricing batch of the example table")
    books = sorted(p for p in out.glob("*.xlsx") if p.name != "summary.xlsx")
    if not books:
        raise RuntimeError(f"xl-pricing batch wrote no workbook into {out}")
    snaps = []
    for path in books:
        wb = openpyxl.load_workbook(path)
        snaps.append(snapshot_of(wb))
        wb.close()
    shutil.rmtree(out, ignore_errors=True)
    return snaps


def batch_command(table: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "xl_pricing", "batch", str(table), "--out", str(out),
            "--workers", str(workers), "--target", TARGET]


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _written(out: Path, rows: int, what: str) -> None:
    n = len([p for p in out.glob("*.xlsx") if p.name != "summary.xlsx"])
    if n != rows:
        raise RuntimeError(f"{what}: {n} workbooks written, {rows} expected")


def batch_overhead(rows: int, rounds: int, work: Path) -> tuple[float, float, float]:
    """(ours ÷ bare, ours seconds, bare seconds), summed over ``rounds``."""
    snap_file = work / "snapshots.pickle"
    with snap_file.open("wb") as f:
        pickle.dump(snapshots(work), f)
    table = make_table(rows, work)

    def ours() -> float:
        out = _fresh(work / "ours")
        s, _ = run_timed(batch_command(table, out, 1), 60 + rows, "xl-pricing batch")
        _written(out, rows, "xl-pricing batch")
        return s

    def bare() -> float:
        out = _fresh(work / "bare")
        out.mkdir()
        s, _ = run_timed([sys.executable, str(HERE / "bare_openpyxl.py"), str(snap_file),
                          str(rows), str(out)], 60 + rows, "bare openpyxl script")
        _written(out, rows, "bare openpyxl script")
        return s

    s, b = alternate(ours, bare, rounds)
    r = sum(s) / sum(b)
    say(f"batch_overhead: {rows} workbooks × {rounds} rounds, xl-pricing batch "
        f"{sum(s):.1f} s {[round(x, 1) for x in s]}, bare openpyxl {sum(b):.1f} s "
        f"{[round(x, 1) for x in b]} → {r:.2f} (goal <= 2.0)")
    return r, sum(s), sum(b)


def parallel_speedup(rows: int, rounds: int, work: Path) -> float:
    table = make_table(rows, work)

    def run(workers: int) -> float:
        out = _fresh(work / f"par-{workers}")
        s, _ = run_timed(batch_command(table, out, workers), 60 + 2 * rows,
                         f"xl-pricing batch --workers {workers}")
        _written(out, rows, f"xl-pricing batch --workers {workers}")
        return s

    one, two = alternate(lambda: run(1), lambda: run(2), rounds)
    r = statistics.median(one) / statistics.median(two)
    say(f"batch_parallel_speedup: {rows} rows, 1 process {[round(x, 1) for x in one]} s, "
        f"2 processes {[round(x, 1) for x in two]} s → {r:.2f} (goal >= 1.7)")
    return r


# A wrapper process: the peak RSS of the largest process below it (the batch command and
# its workers), which getrusage reports once they have been waited for.
RSS_SCRIPT = r"""
import json, resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(json.dumps({"kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def peak_rss_mb(rows: int, work: Path) -> float:
    table = make_table(rows, work)
    out = _fresh(work / f"rss-{rows}")
    _, got = run_timed([sys.executable, "-c", RSS_SCRIPT, *batch_command(table, out, 2)],
                       120 + rows, f"xl-pricing batch of {rows} rows")
    _written(out, rows, f"xl-pricing batch of {rows} rows")
    shutil.rmtree(out, ignore_errors=True)
    return last_json(got, "peak memory")["kb"] / 1024


def run(quick: bool) -> dict[str, Any]:
    size = SIZES[bool(quick)]
    work = Path(tempfile.mkdtemp(prefix="xlp-bench-batch-"))
    try:
        overhead, ours_s, bare_s = batch_overhead(size["overhead_rows"],
                                                  size["overhead_rounds"], work)
        speedup = parallel_speedup(size["parallel_rows"], size["parallel_rounds"], work)
        small, large = size["rss_rows"]
        rss_small = peak_rss_mb(small, work)
        rss_large = peak_rss_mb(large, work)
        say(f"rss: {large} rows {rss_large:.0f} MB, {small} rows {rss_small:.0f} MB → "
            f"{rss_large / rss_small:.2f} (goal <= 1.2; <= 300 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"batch_overhead": round(overhead, 3),
            "batch_overhead_s": [round(ours_s, 1), round(bare_s, 1)],
            "batch_overhead_rows": size["overhead_rows"],
            "batch_parallel_speedup": round(speedup, 3),
            "rss_ratio": round(rss_large / rss_small, 3), "rss_mb_10k": round(rss_large, 1),
            "rss_rows": [small, large]}
