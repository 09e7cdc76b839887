"""The summary of a batch run: what was written, what was already there, what failed.

:func:`summary_workbook` makes ``summary.xlsx``: counts and totals by approach, contract
type and department, the number and share of contracts of 10,000,000 JPY or more
(MEXT's "large joint research"), a chart, every quote and every error.  It is written in
openpyxl's streaming (write-only) mode from a spool of finished rows, so memory does not
grow with the table.

Whatever a row held, the summary can be written: text going into it is made safe for a
workbook first (:func:`sanitize`: control characters NUL, vertical tab ... shown as
``\\x00``, ``\\x0b``), and text that starts like a formula is stored as text.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill

from ..errors import as_typed
from ..files import OutputExists, write_file
from ..rates import RateCard
from ..workbook.book import looks_like_formula
from ..workbook.save import workbook_bytes
from ..workbook.styles import YEN

__all__ = ["RowError", "QuoteRecord", "BatchResult", "summary_workbook", "write_summary",
           "sanitize", "SUMMARY_NAME", "LARGE_CONTRACT", "WRITTEN", "PRESENT"]

SUMMARY_NAME = "summary.xlsx"
#: The size MEXT's guideline counts as a large contract (1,000万円以上の共同研究).
LARGE_CONTRACT = 10_000_000
WRITTEN, PRESENT = "written", "already present"
MAX_SUMMARIES = 1000

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def sanitize(text: str) -> str:
    r"""Text a workbook can hold: characters XML 1.0 forbids shown as escapes.

    >>> sanitize("a\x00b\x0bc\td")
    'a\\x00b\\x0bc\td'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", text)


# -- results --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    """One problem in one row: where (row number, column), what (value) and what was
    expected.  ``value`` is the cell as read (``None`` when the cell is empty)."""

    row: int
    column: str
    value: Any
    expected: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": _text(self.value),
                "expected": self.expected, "message": self.message}


@dataclass(frozen=True)
class QuoteRecord:
    """A row that was priced and whose workbook is in the folder: written by this run
    (``status`` ``written``) or found there already (``already present``: a resumed run, or
    another run into the same folder, wrote it)."""

    row: int
    id: str
    title: str
    approach: str
    contract: str
    department: str
    total: int
    file: str
    status: str = WRITTEN


@dataclass
class BatchResult:
    """What a batch run did.  ``failed`` counts rows; ``errors`` has one entry per problem
    (a row may have several).  ``stopped_at`` is the row that stopped an
    ``on_error="stop"`` run.  ``present`` counts rows whose workbook was in the folder
    already (kept, not replaced: not an error); ``total`` and ``large`` cover written and
    present rows."""

    table: Path
    out_dir: Path
    rows: int = 0
    written: int = 0
    present: int = 0
    failed: int = 0
    total: int = 0
    large: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: Path | None = None
    stopped_at: int | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def skipped(self) -> int:
        """Rows read but neither written, present nor failed (cancelled when a run
        stopped)."""
        return self.rows - self.written - self.present - self.failed


# -- the summary workbook ------------------------------------------------------------------

PCT = "0.0%"
_BOLD = Font(bold=True)
_HEAD = Font(bold=True, color="FFFFFF")
_FILL = PatternFill("solid", fgColor="1F4E79")
QUOTE_COLUMNS = ["row", "id", "title", "approach", "contract", "department", "total", "file",
                 "status"]
_APPROACH_ORDER = {ap: i for i, ap in enumerate("XABC")}
_CONTRACT_ORDER = {c: i for i, c in enumerate(("joint", "sponsored", "consulting"))}


def _text(value: Any) -> Any:
    """A value as text for a cell that shows what was typed."""
    return value if value is None or isinstance(value, str) else as_typed(value)


def _cell(ws: Any, value: Any, *, number_format: str | None = None, font: Font | None = None,
          fill: PatternFill | None = None) -> WriteOnlyCell:
    """A streamed cell; text is sanitized, and text that starts like a formula is stored
    as text."""
    if isinstance(value, str):
        value = sanitize(value)
    c = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and looks_like_formula(value):
        c.data_type = "s"
        c.quotePrefix = True
    if number_format:
        c.number_format = number_format
    if font is not None:
        c.font = font
    if fill is not None:
        c.fill = fill
    return c


def _header_row(ws: Any, names: list[str]) -> None:
    ws.append([_cell(ws, n, font=_HEAD, fill=_FILL) for n in names])


def _groups(spool: Any) -> dict[str, pd.DataFrame]:
    """Counts and totals by approach, contract and department, by pandas groupby over the
    spooled quotes in chunks (sums of chunks are exact)."""
    parts: dict[str, list[pd.DataFrame]] = {"approach": [], "contract": [], "department": []}
    reader = pd.read_csv(spool, header=None, names=QUOTE_COLUMNS, chunksize=50_000,
                         dtype={"id": str, "title": str, "approach": str, "contract": str,
                                "department": str, "file": str, "status": str,
                                "row": "int64",
                                "total": "int64"},
                         keep_default_na=False, na_filter=False)
    for chunk in reader:
        chunk = chunk.assign(large=(chunk["total"] >= LARGE_CONTRACT).astype("int64"),
                             department=chunk["department"].where(
                                 chunk["department"] != "", "(none)"))
        for key in parts:
            parts[key].append(chunk.groupby(key).agg(count=("total", "size"),
                                                     total=("total", "sum"),
                                                     large=("large", "sum")))
    out: dict[str, pd.DataFrame] = {}
    for key, frames in parts.items():
        if frames:
            g = pd.concat(frames).groupby(level=0).sum()
        else:
            g = pd.DataFrame({"count": [], "total": [], "large": []}, dtype="int64")
        order = {"approach": _APPROACH_ORDER, "contract": _CONTRACT_ORDER}.get(key)
        keys = sorted(g.index, key=(lambda k: (order.get(k, 99), k)) if order else str)
        out[key] = g.loc[keys] if len(g) else g
    return out


def spool_row(writer: Any, r: QuoteRecord) -> None:
    """One finished row into the spool the summary is made from."""
    writer.writerow([r.row, r.id, r.title, r.approach, r.contract, r.department, r.total,
                     r.file, r.status])


def summary_workbook(spool: Any, result: BatchResult, card: RateCard, target: str,
                     source: str) -> bytes:
    """The bytes of ``summary.xlsx`` from the spooled rows (a text file, see
    :func:`spool_row`) and the run's counts and errors."""
    groups = _groups(spool)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Summary")
    for col, width in zip("ABCDEF", (34, 12, 18, 14, 14, 4)):
        ws.column_dimensions[col].width = width

    row = 0

    def line(*cells: Any) -> int:
        nonlocal row
        ws.append(list(cells))
        row += 1
        return row

    line(_cell(ws, "一括見積の集計 / Batch quote summary", font=Font(bold=True, size=14)))
    line(_cell(ws, "表 / Table"), _cell(ws, source))
    line(_cell(ws, "料金表 / Rate card"), _cell(ws, f"{card.id} v{card.version}"),
         _cell(ws, f"sha256 {card.sha256}"))
    line(_cell(ws, "形式 / Target"), _cell(ws, target))
    line()
    line(_cell(ws, "行数 / Rows read"), result.rows)
    line(_cell(ws, "作成したワークブック / Workbooks written"), result.written)
    line(_cell(ws, "既にあったワークブック / Already present"), result.present)
    line(_cell(ws, "エラーの行 / Rows with errors"), result.failed)
    if result.stopped_at is not None:
        line(_cell(ws, "停止した行 / Stopped at row"), result.stopped_at)
    line(_cell(ws, "見積の合計 / Total of all quotes", font=_BOLD),
         _cell(ws, result.total, number_format=YEN, font=_BOLD))
    line(_cell(ws, "1,000万円以上の契約 / Contracts ≥ ¥10,000,000"), result.large)
    line(_cell(ws, "その割合 / Share ≥ ¥10,000,000"),
         _cell(ws, result.large / (result.written + result.present)
               if result.written + result.present else None,
               number_format=PCT))
    chart_rows: tuple[int, int] | None = None
    titles = {"approach": "方式別 / By approach", "contract": "契約種別 / By contract type",
              "department": "部局別 / By department"}
    for key, g in groups.items():
        line()
        line(_cell(ws, titles[key], font=_BOLD))
        ws.append([_cell(ws, n, font=_HEAD, fill=_FILL) for n in (
            key, "件数 / Count", "合計 / Total", "≥ ¥10M", "≥ ¥10M %")])
        row += 1
        first = row + 1
        for name, rec in g.iterrows():
            count, total, large = int(rec["count"]), int(rec["total"]), int(rec["large"])
            line(_cell(ws, str(name)), count, _cell(ws, total, number_format=YEN), large,
                 _cell(ws, large / count if count else None, number_format=PCT))
        if key == "approach" and len(g):
            chart_rows = (first, row)
    if chart_rows is not None:
        chart = BarChart()
        chart.type = "col"
        chart.title = "方式別の合計 / Total by approach"
        chart.y_axis.title = "JPY"
        chart.y_axis.numFmt = YEN
        chart.add_data(Reference(ws, min_col=3, min_row=chart_rows[0] - 1,
                                 max_row=chart_rows[1]), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=chart_rows[0],
                                       max_row=chart_rows[1]))
        chart.legend = None
        chart.height, chart.width = 8, 14
        ws.add_chart(chart, "H2")

    qs = wb.create_sheet("Quotes")
    for col, width in zip("ABCDEFGHI", (7, 16, 40, 9, 11, 18, 15, 40, 16)):
        qs.column_dimensions[col].width = width
    qs.freeze_panes = "A2"
    _header_row(qs, QUOTE_COLUMNS)
    spool.seek(0)
    for rec in csv.reader(spool):
        n, pid, title, ap, contract, dept, total, name, status = rec
        qs.append([int(n), _cell(qs, pid), _cell(qs, title), _cell(qs, ap),
                   _cell(qs, contract), _cell(qs, dept),
                   _cell(qs, int(total), number_format=YEN), _cell(qs, name),
                   _cell(qs, status)])

    es = wb.create_sheet("Errors")
    for col, width in zip("ABCD", (7, 24, 24, 90)):
        es.column_dimensions[col].width = width
    es.freeze_panes = "A2"
    _header_row(es, ["row", "column", "value", "message"])
    for e in result.errors:
        es.append([e.row, _cell(es, e.column), _cell(es, _text(e.value)),
                   _cell(es, e.message, font=None)])
    return workbook_bytes(wb)


def write_summary(out_dir: Path, data: bytes, *, replace: bool = False) -> Path:
    """Write the summary as ``summary.xlsx``, or — when that name is taken and ``replace``
    is false (another run into the same folder finished first) — as the first free
    ``summary-2.xlsx``, ``summary-3.xlsx`` ...: each run keeps its own summary, none
    replaces another's.  Names are claimed atomically (:func:`xl_pricing.files.write_file`).
    """
    if replace:
        return write_file(out_dir / SUMMARY_NAME, data, replace=True, field="out_dir")
    stem, suffix = SUMMARY_NAME.rsplit(".", 1)
    for n in range(1, MAX_SUMMARIES + 1):
        name = SUMMARY_NAME if n == 1 else f"{stem}-{n}.{suffix}"
        try:
            return write_file(out_dir / name, data, field="out_dir")
        except OutputExists:
            continue
    raise OutputExists(out_dir / SUMMARY_NAME, "out_dir")
