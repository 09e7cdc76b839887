"""Batch generation: our batch against a bare openpyxl script writing the same cells and
styles, one process against two, and peak memory as the table grows."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .timing import say

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "templates" / "projects" / "batch-example.csv"


def make_table(rows: int, folder: Path) -> Path:
    """``rows`` projects cycled from the example table, each with its own id."""
    with EXAMPLE.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, base = reader.fieldnames, list(reader)
    path = folder / f"projects-{rows}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i in range(rows):
            row = dict(base[i % len(base)])
            row["id"] = f"{row['id']}-{i:05d}"
            w.writerow(row)
    return path


def snapshot() -> tuple[list, list]:
    """The cells (sheet, coordinate, value, style) and named styles of one batch workbook:
    what a bare openpyxl script would write for a row."""
    from xl_pricing import load_card
    from xl_pricing.cells import project_from_pairs
    from xl_pricing.workbook import build_workbook
    from xl_pricing.workbook.styles import STYLES

    with EXAMPLE.open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    project = project_from_pairs({k: v for k, v in row.items() if v != ""}, "bench")
    wb = build_workbook(load_card(), project, "native")
    sheets = [(ws.title, [(c.coordinate, c.value, c.style) for r in ws.iter_rows() for c in r
                          if c.value is not None]) for ws in wb.worksheets]
    return sheets, STYLES


def bare_openpyxl(rows: int, out: Path, sheets: list, styles: list) -> None:
    from openpyxl import Workbook

    for i in range(rows):
        wb = Workbook()
        for st in styles:
            wb.add_named_style(st)
        wb.remove(wb.active)
        for title, cells in sheets:
            ws = wb.create_sheet(title)
            for coord, value, style in cells:
                c = ws[coord]
                c.value = value
                c.style = style
        wb.save(out / f"bare-{i:05d}.xlsx")


def ours(table: Path, out: Path, workers: int) -> None:
    from xl_pricing.batch import run_batch

    result = run_batch(table, out, target="native", workers=workers, progress=False,
                       force=True)
    assert result.failed == 0, result.errors[:3]


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def batch_overhead(rows: int, work: Path) -> float:
    """Ours (1 process) ÷ bare openpyxl, in halves alternating so noise hits both."""
    sheets, styles = snapshot()
    half = max(rows // 2, 1)
    table = make_table(half, work)
    t_ours = t_bare = 0.0
    for k in range(2):
        for side in ("ours", "bare"):
            out = work / f"{side}-{k}"
            out.mkdir()
            if side == "ours":
                t_ours += timed(ours, table, out, 1)
            else:
                t_bare += timed(bare_openpyxl, half, out, sheets, styles)
            shutil.rmtree(out)
    r = t_ours / t_bare
    say(f"batch_overhead: {2 * half} workbooks, ours {t_ours:.1f} s, bare openpyxl "
        f"{t_bare:.1f} s → {r:.2f} (goal <= 1.15)")
    return r


def parallel_speedup(rows: int, work: Path) -> float:
    table = make_table(rows, work)
    times = {}
    for workers in (1, 2, 1, 2):
        out = work / f"par-{workers}"
        out.mkdir(exist_ok=True)
        times.setdefault(workers, []).append(timed(ours, table, out, workers))
        shutil.rmtree(out)
    t1, t2 = min(times[1]), min(times[2])
    say(f"batch_parallel_speedup: {rows} rows, 1 process {t1:.1f} s, 2 processes "
        f"{t2:.1f} s → {t1 / t2:.2f} (goal >= 1.7)")
    return t1 / t2


_RSS_SCRIPT = r"""
import json, resource, sys
from xl_pricing.batch import run_batch
r = run_batch(sys.argv[1], sys.argv[2], target="native", workers=2, progress=False, force=True)
assert r.failed == 0
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"kb": max(own, kids), "written": r.written}))
"""


def peak_rss_mb(rows: int, work: Path) -> float:
    """Peak resident memory (largest process, MB) of a batch run in a fresh process."""
    table = make_table(rows, work)
    out = work / f"rss-{rows}"
    res = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(table), str(out)],
                         capture_output=True, text=True, timeout=7200, check=True, cwd=ROOT)
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(res.stdout.strip().splitlines()[-1])["kb"] / 1024


def run(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="xlp-bench-") as tmp:
        work = Path(tmp)
        overhead = batch_overhead(100 if quick else 1000, work)
        speedup = parallel_speedup(200 if quick else 400, work)
        small, large = (60, 600) if quick else (1000, 10_000)
        rss_small = peak_rss_mb(small, work)
        rss_large = peak_rss_mb(large, work)
        say(f"rss: {large} rows {rss_large:.0f} MB, {small} rows {rss_small:.0f} MB → "
            f"{rss_large / rss_small:.2f} (goal <= 1.2; <= 300 MB)")
    return {"batch_overhead": round(overhead, 3), "batch_parallel_speedup": round(speedup, 3),
            "rss_ratio": round(rss_large / rss_small, 3), "rss_mb_10k": round(rss_large, 1),
            "rss_rows": [small, large]}
