"""The baseline of ``batch_overhead``: a bare openpyxl script writing the same cells and
styles as the batch's workbooks, and nothing else (no pricing, no checks, no summary).

``python benchmarks/bare_openpyxl.py SNAPSHOT ROWS OUT`` writes ``ROWS`` workbooks into the
folder ``OUT``; workbook ``i`` is snapshot ``i % len(snapshots)``.  A snapshot (made by
``batch_bench.snapshots`` from workbooks the builder made, pickled) is, per sheet, the
cells with a value or a style -- ``(coordinate, value, style name)`` -- and the named styles
those cells use.  Imports only openpyxl and the standard library, so it is what a person
writing the same workbooks by hand with openpyxl would run.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any


def write(snapshots: list[dict[str, Any]], rows: int, out: Path) -> list[Path]:
    """Write ``rows`` workbooks into ``out``; their paths."""
    from openpyxl import Workbook

    paths = []
    for i in range(rows):
        snap = snapshots[i % len(snapshots)]
        wb = Workbook()
        have = set(wb.named_styles)
        for style in snap["styles"]:
            if style.name not in have:
                wb.add_named_style(style)
        wb.remove(wb.active)
        for title, cells in snap["sheets"]:
            ws = wb.create_sheet(title)
            for coord, value, style in cells:
                c = ws[coord]
                c.value = value
                c.style = style
        path = out / f"bare-{i:05d}.xlsx"
        wb.save(path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    snapshot_file, rows, out = argv
    with open(snapshot_file, "rb") as f:
        snapshots = pickle.load(f)
    write(snapshots, int(rows), Path(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
