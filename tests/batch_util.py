"""Helpers of the batch tests: small tables, and reading the summary workbook back."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from xl_pricing.batch import run_batch

from conftest import PROJECTS

EXAMPLE = PROJECTS / "batch-example.csv"
HEAD = ["id", "title", "contract", "approach", "department", "start", "end",
        "direct.consumables", "researchers.1.rank", "researchers.1.hours", "total.agreed"]
HEAD_QUOTES = ("row", "id", "title", "approach", "contract", "department", "total", "file",
               "status")


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


def run_example(tmp_path_factory):
    """The example table through a one-process batch."""
    out = tmp_path_factory.mktemp("example") / "out"
    return run_batch(EXAMPLE, out, workers=1, progress=False)


BAD = [
    row("G-1"),                                                      # 2 good, 7,000,000
    row("BAD-HOURS", "A", 1_000_000, rank="professor", hours=-5),     # 3
    row("BAD-RANK", "A", 1_000_000, rank="wizard", hours=10),         # 4
    row("BAD-TEXT", "X", "five million"),                             # 5
    row("BAD-APPROACH", ""),                                          # 6
    row("G-2", "A", 1_000_000, rank="professor", hours=10),           # 7 good
]

