"""Batch quoting: one workbook per row of a table of projects, and a summary workbook.

A table (``.csv`` or ``.xlsx``) holds one project per row; its header names are the key
paths :func:`~xl_pricing.cells.project_from_pairs` takes (``id``, ``contract``,
``approach``, ``start``, ``end``, ``direct.consumables``, ``researchers.1.rank``,
``researchers.1.hours``, ``total.agreed``, ``outcome.sales.1.base`` ...).  See
``templates/projects/batch-example.csv``.

:func:`run_batch` prices every row, writes its standard workbook into the output folder
and finishes with ``summary.xlsx`` (counts and totals by approach, contract type and
department, the number and share of contracts of 10,000,000 JPY or more, a chart, every
quote and every error).  The ``xl-pricing batch`` command is a thin wrapper over it.

Guarantees:

* **Row-level errors.**  A bad row is reported with its spreadsheet row number (the header
  is row 1), the column, the value and what was expected; it is skipped
  (``on_error="skip"``) or stops the run (``on_error="stop"``).  The good rows are
  produced either way (up to the stop).
* **Flat memory.**  The table is read in chunks (CSV) or row by row (XLSX, openpyxl
  read-only); at most ``4 × workers`` rows are in flight; finished rows are spooled to a
  temporary file and the summary is written in openpyxl's streaming (write-only) mode.
  What grows with the table is only the set of workbook names claimed so far (to refuse
  duplicates) and the list of errors.
* **Deterministic.**  Results are taken in row order whatever the number of workers, so
  ``workers=1`` and ``workers=4`` give the same workbooks and the same summary bytes.
* **Nothing lost, nothing half-written.**  Every file is written through a temporary file
  and an atomic rename; an existing file is replaced only with ``force``.  Workers ignore
  Ctrl-C and finish (or abandon) their row cleanly while the run stops.
* **Text stays text.**  Cell text that starts with ``=``, ``+``, ``-`` or ``@`` is stored as
  text (quote prefix), never as a formula — in the project workbooks (the builder does it)
  and in the summary.

Duplicate ids: the first row with an id claims its workbook name; a later row whose id
gives the same file name (ids are compared as file names: case-insensitively, after the
characters a file name cannot hold are replaced) is a row error in column ``id`` — its
workbook would overwrite the first one.  Names are not made unique by suffixes, because the
id is how people find a project's workbook again.
"""

from __future__ import annotations

import codecs
import concurrent.futures as cf
import csv
import datetime as dt
import math
import multiprocessing
import os
import re
import signal
import tempfile
import typing
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Literal
from concurrent.futures.process import BrokenProcessPool

import pandas as pd
import pydantic
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill

from .cells import DATE_KEYS as _DATE_KEYS
from .cells import _info_keys, project_from_pairs
from .errors import InputError, InputErrors, _plain
from .pricing import quote
from .project import Project
from .rates import RateCard, load_card
from .workbook import TARGETS, build_workbook, output_name
from .workbook.save import workbook_bytes, write_atomic

_INFO_KEYS = _info_keys()

__all__ = ["read_table", "count_rows", "run_batch", "BatchResult", "RowError",
           "QuoteRecord", "SUMMARY_NAME", "LARGE_CONTRACT"]

SUMMARY_NAME = "summary.xlsx"
#: The size MEXT's guideline counts as a large contract (1,000万円以上の共同研究).
LARGE_CONTRACT = 10_000_000
CHUNK_ROWS = 1000
OnError = Literal["skip", "stop"]


# -- reading a table ------------------------------------------------------------------------

def _text_keys() -> frozenset[str]:
    """Names of the project fields that hold text (ids, names, enumerations)."""
    out: set[str] = set()
    seen: set[type] = set()

    def leaves(hint: Any) -> Iterator[Any]:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            yield from leaves(typing.get_args(hint)[0])
        elif origin is typing.Literal:
            yield hint
        elif origin is not None:
            for arg in typing.get_args(hint):
                yield from leaves(arg)
        else:
            yield hint

    def walk(model: type[pydantic.BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, f in model.model_fields.items():
            for t in leaves(f.annotation):
                if t is str or typing.get_origin(t) is typing.Literal:
                    out.add(name)
                elif isinstance(t, type) and issubclass(t, pydantic.BaseModel):
                    walk(t)

    walk(Project)
    return frozenset(out)


TEXT_KEYS = _text_keys()
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_BOOLS = {"true": True, "false": False}


def _number(value: float | Decimal) -> int | Decimal:
    """Whole numbers as int, others as Decimal (floats by their shortest repr)."""
    d = Decimal(repr(value)) if isinstance(value, float) else value
    # (a huge exponent such as 1e999999999 stays a Decimal for the model to refuse)
    return int(d) if d.is_finite() and d.adjusted() < 40 and d == d.to_integral_value() \
        else d


def cell_value(key: str, value: Any) -> Any:
    """A table cell as ``project_from_pairs`` wants it; ``None`` for an empty cell.

    Text is stripped.  In a text field (``id``, ``title``, ``rank`` ...) a number becomes
    text; elsewhere numeric text becomes a number (``5000000``, ``5,000,000``, ``0.03``;
    whole ones as int), ``TRUE``/``FALSE`` a boolean, and in a date field ``2027/4/1``
    a date.  Anything else is passed on for the project model to judge.

    >>> cell_value("direct.consumables", " 5,000,000 "), cell_value("id", 101.0)
    (5000000, '101')
    >>> cell_value("outcome.royalty_rate", "0.02"), cell_value("start", "2027/4/1")
    (Decimal('0.02'), datetime.date(2027, 4, 1))
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    last = key.rsplit(".", 1)[-1].strip()
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if last in TEXT_KEYS:
            return value
        if _NUMBER.fullmatch(value):
            return _number(Decimal(value))
        if _GROUPED.fullmatch(value):
            return _number(Decimal(value.replace(",", "")))
        if value.lower() in _BOOLS:
            return _BOOLS[value.lower()]
        if last in _DATE_KEYS and (m := _DATE.fullmatch(value)):
            try:
                return dt.date(*(int(g) for g in m.groups()))
            except ValueError:
                return value
        return value
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) or last in _DATE_KEYS else value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, (float, Decimal)) and not math.isfinite(value):
            return value
        n = _number(value) if not isinstance(value, int) else value
        if last in TEXT_KEYS:
            return format(n, "f") if isinstance(n, Decimal) else str(n)
        return n
    return value


def _header(values: list[Any], source: str) -> list[str | None]:
    """Column keys from the header row; ``None`` for a column without a name."""
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for i, v in enumerate(values, start=1):
        name = None if v is None else str(v).strip() or None
        if name is not None:
            if name in seen:
                raise InputError(f"header column {i}", name, f"a column name not used "
                                 f"already (column {seen[name]} has it)", source)
            seen[name] = i
        names.append(name)
    if not seen:
        raise InputError("header", values, "a first row naming the columns (id, contract, "
                         "approach, start, end, ...)", source)
    return names


def _scan_csv(path: Path) -> tuple[str, int]:
    """The encoding of a CSV file (UTF-8, with or without BOM, else Windows Japanese
    cp932 as Excel saves it) and its number of lines, in one pass of constant memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines, last = True, 0, b""
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if last and last != b"\n":
        lines += 1
    return ("utf-8-sig" if utf8 else "cp932"), lines


def _check_table(path: str | os.PathLike[str]) -> tuple[Path, str]:
    p = Path(path)
    kind = p.suffix.lower()
    if kind not in (".csv", ".xlsx", ".xlsm"):
        raise InputError("table", str(p), "a table of projects ending in .csv or .xlsx")
    if not p.is_file():
        raise InputError("table", str(p), "an existing file")
    return p, "csv" if kind == ".csv" else "xlsx"


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """About how many data rows the table has (for a progress bar), cheaply.

    CSV: its lines less the header (a quoted value spanning lines counts more than once).
    XLSX: the sheet's recorded dimension, when the file has one; otherwise ``None``.
    """
    p, kind = _check_table(path)
    if kind == "csv":
        return max(_scan_csv(p)[1] - 1, 0)
    from openpyxl import load_workbook
    wb = load_workbook(p, read_only=True, data_only=True)
    try:
        n = wb.worksheets[0].max_row  # from the sheet's <dimension>; None without one
    finally:
        wb.close()
    return None if n is None else max(n - 1, 0)


def read_table(path: str | os.PathLike[str], *, chunksize: int = CHUNK_ROWS
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a table of projects: ``(row number, {key: value})``.

    ``path`` is a ``.csv`` (UTF-8 — Excel's "CSV UTF-8" — or Excel's Japanese cp932) or an
    ``.xlsx`` (first sheet).  The first row names the columns: the key paths
    :func:`~xl_pricing.cells.project_from_pairs` takes.  Row numbers are spreadsheet
    rows: the header is row 1, the first data row row 2 (blank rows count, and are
    skipped).  Empty cells are left out; values are converted by :func:`cell_value`.

    The file is checked (exists, kind, header) when this is called; rows are then read
    lazily — CSV ``chunksize`` rows at a time with pandas, XLSX row by row with openpyxl in
    read-only mode — so memory does not grow with the table.

    Raises:
        InputError: not a .csv/.xlsx file, no header, a column named twice, or (while
            iterating) a line that is not valid CSV.
    """
    p, kind = _check_table(path)
    if kind == "csv":
        encoding = _scan_csv(p)[0]
        with open(p, newline="", encoding=encoding) as f:
            first = next(csv.reader(f), None)
        if first is None:
            raise InputError("header", InputError.MISSING, "a first row naming the columns",
                             str(p))
        return _csv_rows(p, _header(first, str(p)), encoding, chunksize)
    from openpyxl import load_workbook
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip / XML errors of a damaged file
        raise InputError("table", str(p), f"a readable .xlsx workbook ({exc})") from None
    rows = wb.worksheets[0].iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        wb.close()
        raise InputError("header", InputError.MISSING, "a first row naming the columns",
                         str(p))
    try:
        names = _header(list(first), str(p))
    except InputError:
        wb.close()
        raise
    return _xlsx_rows(wb, rows, names)


def _record(names: list[str | None], values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, v in zip(names, values):
        if key is None:
            continue
        v = cell_value(key, v)
        if v is not None:
            row[key] = v
    return row


def _csv_rows(p: Path, names: list[str | None], encoding: str, chunksize: int
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    placeholders = [f"c{i}" for i in range(len(names))]
    number = 1
    try:
        reader = pd.read_csv(p, header=0, names=placeholders, dtype=str,
                             keep_default_na=False, na_filter=False, skip_blank_lines=False,
                             encoding=encoding, chunksize=chunksize, index_col=False)
        with reader:
            for chunk in reader:
                for values in chunk.itertuples(index=False, name=None):
                    number += 1
                    row = _record(names, values)
                    if row:
                        yield number, row
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        text = " ".join(str(exc).split())
        raise InputError("table", str(p), f"a well-formed CSV table ({text}; after row "
                         f"{number})") from None


def _xlsx_rows(wb: Any, rows: Iterator[tuple[Any, ...]], names: list[str | None]
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        for number, values in enumerate(rows, start=2):
            row = _record(names, values)
            if row:
                yield number, row
    finally:
        wb.close()


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
    """A row that was priced and written."""

    row: int
    id: str
    title: str
    approach: str
    contract: str
    department: str
    total: int
    file: str


@dataclass
class BatchResult:
    """What a batch run did.  ``failed`` counts rows; ``errors`` has one entry per problem
    (a row may have several).  ``stopped_at`` is the row that stopped an
    ``on_error="stop"`` run."""

    table: Path
    out_dir: Path
    rows: int = 0
    written: int = 0
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
        """Rows read but neither written nor failed (cancelled when a run stopped)."""
        return self.rows - self.written - self.failed


@dataclass(frozen=True)
class _Outcome:
    row: int
    record: QuoteRecord | None = None
    errors: tuple[RowError, ...] = ()
    cancelled: bool = False


# -- one row (in a worker process, or in this one) -------------------------------------------

@dataclass(frozen=True)
class _Job:
    card: RateCard
    target: str
    out_dir: Path
    force: bool
    source: str


_JOB: _Job | None = None
_STOP: Any = None


def _init_worker(job: _Job, stop: Any) -> None:
    global _JOB, _STOP
    # Ctrl-C stops the run in the main process; a worker finishes or abandons its row.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _JOB, _STOP = job, stop


def _ping(_: Any) -> int:
    return os.getpid()


def _worker(number: int, row: dict[str, Any]) -> _Outcome:
    assert _JOB is not None
    return _process(_JOB, number, row, _STOP)


class _Leaf(str):
    """A column name at the end of a key path."""


def _key_tree(row: dict[str, Any]) -> dict[str, Any]:
    """The row's keys arranged the way ``project_from_pairs`` nests them, with column
    names for values (so a model's key path can be led back to its column)."""
    data: dict[str, Any] = {}
    for key, value in row.items():
        parts = key.strip().split(".")
        if parts[0] in _INFO_KEYS:
            parts.insert(0, "project")
        col = _Leaf(key)
        if parts[0] in ("direct", "options") and len(parts) == 2 and not parts[1].isdigit():
            if parts[0] == "options" and value is False:
                continue
            table = data.setdefault(parts[0], {})
            if isinstance(table, dict):
                table[str(len(table) + 1)] = {"category": col, "amount": col, "name": col}
            continue
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = col
    return data


_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def column_of(field: str, row: dict[str, Any]) -> str:
    """The table column an error's key path is about.

    >>> column_of("researchers[0].hours", {"researchers.1.hours": -5})
    'researchers.1.hours'
    >>> column_of("direct[1].amount", {"direct.consumables": 1, "direct.travel": "x"})
    'direct.travel'
    >>> column_of("project.approach", {"id": "Q1"})
    'approach'
    """
    node: Any = _key_tree(row)
    out: list[str] = []
    for name, index in _PATH.findall(field):
        if index:
            keys = sorted((k for k in node if k.isdigit()), key=int) if isinstance(
                node, dict) else []
            i = int(index)
            part = keys[i] if i < len(keys) else str(i + 1)
        else:
            part = name
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, _Leaf):
            return str(node)
    if isinstance(node, dict) and node:
        columns = {str(v) if isinstance(v, _Leaf) else None for v in node.values()}
        if len(columns) == 1 and None not in columns:  # a short form: direct.<category>
            return columns.pop()
    if len(out) > 1 and out[0] == "project" and out[1] in _INFO_KEYS:
        out = out[1:]
    return ".".join(out) if out else field


def _row_errors(exc: InputError, number: int, row: dict[str, Any], source: str
                ) -> tuple[RowError, ...]:
    out = []
    for e in exc.errors if isinstance(exc, InputErrors) else [exc]:
        column = column_of(e.field, row)
        value = row.get(column, e.value)
        shown = InputError.MISSING if value is InputError.MISSING else value
        message = InputError(column, shown, e.expected, f"{source} row {number}").message
        out.append(RowError(number, column, None if value is InputError.MISSING else value,
                            e.expected, message))
    return tuple(out)


def _process(job: _Job, number: int, row: dict[str, Any], stop: Any = None) -> _Outcome:
    """Parse, price, build and write one row; never raises for bad input."""
    if stop is not None and stop.is_set():
        return _Outcome(number, cancelled=True)
    try:
        project = project_from_pairs(row, f"{job.source} row {number}")
        q = quote(project, job.card)
        info = project.project
        name = output_name(job.card, project, job.target)  # type: ignore[arg-type]
        path = job.out_dir / name
        if path.exists() and not job.force:
            raise InputError("project.id", info.id, f"an id whose workbook {name} does not "
                             f"exist yet in {job.out_dir} (or force to replace it)")
        data = workbook_bytes(build_workbook(job.card, project, job.target))  # type: ignore
        if stop is not None and stop.is_set():
            return _Outcome(number, cancelled=True)
        write_atomic(path, data, force=job.force)
    except InputError as exc:
        if exc.field == "--out":  # the file appeared meanwhile
            exc = InputError("project.id", row.get("id", row.get("project.id")),
                             f"a workbook that does not exist yet ({exc.value}), or force")
        return _Outcome(number, errors=_row_errors(exc, number, row, job.source))
    except Exception as exc:  # noqa: BLE001 - one row's bug must not sink the others
        if os.environ.get("XL_PRICING_DEBUG"):
            raise
        text = f"internal error: {type(exc).__name__}: {exc}"
        return _Outcome(number, errors=(RowError(number, "", None, text,
                                                 f"{job.source} row {number}: {text}"),))
    return _Outcome(number, QuoteRecord(number, info.id, info.title, info.approach,
                                        info.contract, info.department, int(q.total), name))


# -- the run --------------------------------------------------------------------------------

def _claim(row: dict[str, Any], card: RateCard, target: str) -> tuple[str, str, str] | None:
    """``(key, id, workbook name)`` of a row, from its raw id; ``None`` without a usable
    id (the row then fails in the model)."""
    for key in ("id", "project.id"):
        if isinstance(row.get(key), str):
            stub = SimpleNamespace(project=SimpleNamespace(id=row[key]))
            return key, row[key], output_name(card, stub, target)  # type: ignore[arg-type]
    return None


def _progress(enabled: bool, total: int | None) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)
    return Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"),
                    BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True))


def run_batch(table: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
              card: str | os.PathLike[str] | RateCard | None = None, target: str = "udf",
              workers: int | None = None, on_error: OnError = "skip", force: bool = False,
              progress: bool = True) -> BatchResult:
    """Price every row of ``table``, write one workbook per good row and ``summary.xlsx``
    into ``out_dir``.

    Args:
        table: a ``.csv`` or ``.xlsx`` table of projects (see :func:`read_table`).
        out_dir: the folder for the workbooks (created when missing).
        card: a rate card, or its id or path (default ``jp-default``).
        target: the workbooks' target: ``udf``, ``native`` or ``officejs``.
        workers: processes pricing rows in parallel (default: the number of CPUs);
            ``1`` does everything in this process.
        on_error: ``"skip"`` reports a bad row and goes on; ``"stop"`` stops at the first
            bad row (rows not started are cancelled; workbooks already written are kept and
            listed in the summary).
        force: replace existing workbooks and summary (atomically); otherwise an existing
            workbook is a row error and an existing summary stops the run before it starts.
        progress: show a progress bar (rich, on stderr).

    Returns:
        The counts, every row error and the summary's path.  Row errors do not raise: the
        caller decides the exit code (``result.failed``).

    Raises:
        InputError: a bad argument, an unknown card, a table that cannot be read, or an
            existing summary without ``force``.
    """
    if on_error not in ("skip", "stop"):
        raise InputError("--on-error", on_error, "skip or stop")
    if target not in TARGETS:
        raise InputError("--target", target, ", ".join(TARGETS))
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("--workers", workers, "a whole number >= 1")
    rate_card = card if isinstance(card, RateCard) else load_card(card)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("--out", str(out), "a folder (this is a file)")
    summary_path = out / SUMMARY_NAME
    if summary_path.exists() and not force:
        raise InputError("--out", str(summary_path), "a folder without a summary.xlsx yet "
                         "(or --force to replace it)")
    rows = read_table(table)
    estimate = count_rows(table)
    if estimate is not None:
        workers = max(1, min(workers, estimate))
    out.mkdir(parents=True, exist_ok=True)
    source = Path(table).name
    job = _Job(rate_card, target, out, force, source)
    result = BatchResult(table=Path(table), out_dir=out)

    pool: cf.ProcessPoolExecutor | None = None
    stop: Any = None
    if workers > 1:
        ctx = multiprocessing.get_context()
        try:
            stop = ctx.Event()
            pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                          initargs=(job, stop))
            # Start the processes before a progress thread exists (fork after threads is
            # unsafe).
            list(pool.map(_ping, range(workers)))
        except (OSError, NotImplementedError, BrokenProcessPool):
            # No process pools here (no /dev/shm in some sandboxes): price in this process.
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            pool, stop, workers = None, None, 1
    window = 4 * workers
    claimed: dict[str, tuple[int, str]] = {}  # workbook name → (row, id) that took it
    pending: deque[tuple[int, Any]] = deque()
    bar = _progress(progress, estimate)
    task = None
    with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as spool:
        records = csv.writer(spool)

        def take(outcome: _Outcome) -> None:
            if outcome.cancelled:
                return
            if outcome.record is not None:
                r = outcome.record
                records.writerow([r.row, r.id, r.title, r.approach, r.contract,
                                  r.department, r.total, r.file])
                result.written += 1
                result.total += r.total
                result.large += r.total >= LARGE_CONTRACT
            if outcome.errors:
                result.failed += 1
                result.errors.extend(outcome.errors)
                if on_error == "stop" and result.stopped_at is None:
                    result.stopped_at = outcome.row
                    if stop is not None:
                        stop.set()
                    for _, f in pending:
                        if isinstance(f, cf.Future):
                            f.cancel()
            if bar is not None:
                bar.update(task, advance=1, description=f"quoting {source}" + (
                    f" ({result.failed} bad)" if result.failed else ""))

        def settle(limit: int) -> None:
            """Take finished rows in row order; wait while more than ``limit`` are open."""
            while pending:
                item = pending[0][1]
                if isinstance(item, cf.Future) and not item.done() and len(pending) <= limit:
                    return
                pending.popleft()
                if isinstance(item, cf.Future):
                    if item.cancelled():
                        continue
                    item = item.result()
                take(item)

        try:
            if bar is not None:
                bar.start()
                task = bar.add_task(f"quoting {source}", total=estimate)
            for number, row in rows:
                if result.stopped_at is not None:
                    break
                result.rows += 1
                claim = _claim(row, rate_card, target)
                # File names are compared case-insensitively (Windows, macOS).
                folded = claim[2].casefold() if claim else None
                if folded is not None and folded in claimed:
                    key, value, name = claim  # type: ignore[misc]
                    first, first_id = claimed[folded]
                    expected = (f"an id not used by an earlier row (row {first} has "
                                f"{first_id!r}; both workbooks would be {name})")
                    err = RowError(number, key, value, expected, InputError(
                        key, value, expected, f"{source} row {number}").message)
                    pending.append((number, _Outcome(number, errors=(err,))))
                else:
                    if folded is not None:
                        claimed[folded] = (number, claim[1])  # type: ignore[index]
                    if pool is None:
                        pending.append((number, _process(job, number, row)))
                    else:
                        pending.append((number, pool.submit(_worker, number, row)))
                settle(limit=window - 1)
            settle(limit=0)
        except BaseException:
            # Ctrl-C, or a table that turned out unreadable: start nothing new, let rows in
            # progress end (each file is whole or absent), and pass the error on.
            if stop is not None:
                stop.set()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = None
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                if task is not None and result.stopped_at is None:
                    bar.update(task, total=result.rows)  # the estimate was a line count
                bar.stop()
        spool.flush()
        spool.seek(0)
        data = _summary_workbook(spool, result, rate_card, target, source)
    result.summary = write_atomic(summary_path, data, force=force)
    return result


# -- the summary workbook ------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@")
YEN = '"¥"#,##0'
PCT = "0.0%"
_BOLD = Font(bold=True)
_HEAD = Font(bold=True, color="FFFFFF")
_FILL = PatternFill("solid", fgColor="1F4E79")
_QUOTE_COLUMNS = ["row", "id", "title", "approach", "contract", "department", "total", "file"]
_APPROACH_ORDER = {ap: i for i, ap in enumerate("XABC")}
_CONTRACT_ORDER = {c: i for i, c in enumerate(("joint", "sponsored", "consulting"))}


def _text(value: Any) -> Any:
    """A value as text for a cell that shows what was typed."""
    return value if value is None or isinstance(value, str) else _plain(value)


def _cell(ws: Any, value: Any, *, number_format: str | None = None, font: Font | None = None,
          fill: PatternFill | None = None) -> WriteOnlyCell:
    """A streamed cell; text that starts like a formula is stored as text."""
    c = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
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
    reader = pd.read_csv(spool, header=None, names=_QUOTE_COLUMNS, chunksize=50_000,
                         dtype={"id": str, "title": str, "approach": str, "contract": str,
                                "department": str, "file": str, "row": "int64",
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


def _summary_workbook(spool: Any, result: BatchResult, card: RateCard, target: str,
                      source: str) -> bytes:
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
    line(_cell(ws, "エラーの行 / Rows with errors"), result.failed)
    if result.stopped_at is not None:
        line(_cell(ws, "停止した行 / Stopped at row"), result.stopped_at)
    line(_cell(ws, "見積の合計 / Total of all quotes", font=_BOLD),
         _cell(ws, result.total, number_format=YEN, font=_BOLD))
    line(_cell(ws, "1,000万円以上の契約 / Contracts ≥ ¥10,000,000"), result.large)
    line(_cell(ws, "その割合 / Share ≥ ¥10,000,000"),
         _cell(ws, result.large / result.written if result.written else None,
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
    for col, width in zip("ABCDEFGH", (7, 16, 40, 9, 11, 18, 15, 40)):
        qs.column_dimensions[col].width = width
    qs.freeze_panes = "A2"
    _header_row(qs, _QUOTE_COLUMNS)
    spool.seek(0)
    for rec in csv.reader(spool):
        n, pid, title, ap, contract, dept, total, name = rec
        qs.append([int(n), _cell(qs, pid), _cell(qs, title), _cell(qs, ap),
                   _cell(qs, contract), _cell(qs, dept),
                   _cell(qs, int(total), number_format=YEN), _cell(qs, name)])

    es = wb.create_sheet("Errors")
    for col, width in zip("ABCD", (7, 24, 24, 90)):
        es.column_dimensions[col].width = width
    es.freeze_panes = "A2"
    _header_row(es, ["row", "column", "value", "message"])
    for e in result.errors:
        es.append([e.row, _cell(es, e.column), _cell(es, _text(e.value)),
                   _cell(es, e.message, font=None)])
    return workbook_bytes(wb)
