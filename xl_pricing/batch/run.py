"""Running a batch: price every row of a table, write its workbook, then the summary.

:func:`run_batch` prices each row (in worker processes when there are several cores),
writes its standard workbook into the output folder and finishes with ``summary.xlsx``.
The ``xl-pricing batch`` command is a thin wrapper over it.

Guarantees:

* **Row-level errors.**  A bad row is reported with its spreadsheet row number (the header
  is row 1), the column, the value and what was expected; it is skipped
  (``on_error="skip"``) or stops the run (``on_error="stop"``).  The good rows are
  produced either way (up to the stop), and the summary is always written — also when a
  row holds text no workbook can hold, or the table turns out unreadable half-way.
* **Flat memory.**  Rows are read lazily; at most ``4 × workers`` rows are in flight;
  finished rows are spooled to a temporary file and the summary is streamed.
* **Deterministic.**  Results are taken in row order whatever the number of workers.
* **Nothing lost, nothing replaced by surprise.**  Every file is written through
  :func:`xl_pricing.files.write_file`: atomic, and without ``force`` a name is claimed
  only if free (no check-then-rename race), so two runs into one folder never replace each
  other's files.  A row whose workbook is already there is reported as *already present*
  (a resumed run), not as an error; each run writes its own summary (``summary.xlsx``, or
  ``summary-2.xlsx`` ... when another run took the name meanwhile).  Temporary files a
  killed run left behind are removed at the next run.  An output is never an input:
  ``batch out/summary.xlsx --out out --force`` is refused.
* **Text stays text.**  Input text is never written as a formula (the builder and the
  summary store it as text).

Duplicate ids: the first row with an id claims its workbook name; a later row whose id
gives the same file name (compared case-insensitively, after the characters a file name
cannot hold are replaced) is a row error in column ``id``.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import multiprocessing
import os
import re
import signal
import tempfile
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from ..cells import project_from_pairs
from ..errors import InputError
from ..files import OutputExists, OutputIsInput, clean_stale, refuse_inputs, write_file
from ..pricing import quote, with_card_names
from ..rates import RateCard, load_card
from ..workbook import TARGETS, build_workbook, output_name
from ..workbook.save import workbook_bytes
from .summary import (LARGE_CONTRACT, PRESENT, SUMMARY_NAME, BatchResult, QuoteRecord,
                      RowError, spool_row, summary_workbook, write_summary)
from .table import Refused, column_in, errors_of, key_tree, open_table

__all__ = ["run_batch", "clean_old_temporaries", "OnError"]

OnError = Literal["skip", "stop"]
#: Temporary files of earlier versions of this tool: ``.NAME.XXXXXXXX.tmp`` (mkstemp).
OLD_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
#: An old temporary file this many seconds old is dead: writing one took milliseconds.
OLD_TEMP_AGE = 60


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
    inputs: tuple[Path, ...] = ()


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


def _error(number: int, column: str, value: Any, expected: str, source: str) -> RowError:
    shown = InputError.MISSING if value is None else value
    message = InputError(column, shown, expected, f"{source} row {number}").message
    return RowError(number, column, value, expected, message)


def _row_errors(exc: InputError, number: int, row: dict[str, Any], source: str
                ) -> tuple[RowError, ...]:
    tree = key_tree(row)  # once per row: linear in the number of columns
    out = []
    for e in errors_of(exc):
        column = column_in(e.field, tree)
        value = row.get(column, e.value)
        out.append(_error(number, column, None if value is InputError.MISSING else value,
                          e.expected, source))
    return tuple(out)


def _refused(number: int, row: dict[str, Any], source: str) -> tuple[RowError, ...]:
    return tuple(_error(number, key, v.value, v.expected, source)
                 for key, v in row.items() if isinstance(v, Refused))


def _process(job: _Job, number: int, row: dict[str, Any], stop: Any = None) -> _Outcome:
    """Parse, price, build and write one row; never raises for bad input."""
    if stop is not None and stop.is_set():
        return _Outcome(number, cancelled=True)
    refused = _refused(number, row, job.source)
    if refused:
        return _Outcome(number, errors=refused)
    try:
        # 教授 → professor: the workbook's rank cells hold the card's codes (issue 14)
        project = with_card_names(project_from_pairs(row, f"{job.source} row {number}"),
                                  job.card)
        q = quote(project, job.card)
        info = project.project
        name = output_name(job.card, project, job.target)  # type: ignore[arg-type]
        path = job.out_dir / name
        record = QuoteRecord(number, info.id, info.title, info.approach, info.contract,
                             info.department, int(q.total), name)
        try:
            refuse_inputs([path], job.inputs, field="id")
        except OutputIsInput:
            raise InputError("project.id", info.id, f"an id whose workbook {name} is not the "
                             "table being read") from None
        if not job.force and path.exists():
            return _Outcome(number, replace(record, status=PRESENT))
        data = workbook_bytes(build_workbook(job.card, project, job.target))  # type: ignore
        if stop is not None and stop.is_set():
            return _Outcome(number, cancelled=True)
        try:
            write_file(path, data, replace=job.force, field="out_dir")
        except OutputExists:  # another run wrote it a moment ago: kept, not replaced
            return _Outcome(number, replace(record, status=PRESENT))
        except InputError as exc:  # the file cannot be written (name too long, disk full)
            raise InputError("project.id", info.id, f"an id whose workbook can be written "
                             f"({exc.expected})") from None
    except InputError as exc:
        return _Outcome(number, errors=_row_errors(exc, number, row, job.source))
    except Exception as exc:  # noqa: BLE001 - one row's bug must not sink the others
        if os.environ.get("XL_PRICING_DEBUG"):
            raise
        text = f"internal error: {type(exc).__name__}: {exc}"
        return _Outcome(number, errors=(RowError(number, "", None, text,
                                                 f"{job.source} row {number}: {text}"),))
    return _Outcome(number, record)


# -- the run --------------------------------------------------------------------------------

def clean_old_temporaries(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary files killed runs left in ``folder``: this version's
    (:func:`xl_pricing.files.clean_stale`) and earlier versions' ``.NAME.XXXXXXXX.tmp``
    older than a minute.  Returns what was removed."""
    removed = clean_stale(folder)
    now = time.time() if now is None else now
    try:
        candidates = [p for p in folder.iterdir() if OLD_TEMP.fullmatch(p.name)]
    except OSError:
        return removed
    for p in candidates:
        try:
            if p.is_file() and now - p.stat().st_mtime > OLD_TEMP_AGE:
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


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


def _pool(workers: int, job: _Job) -> tuple[Any, Any, int]:
    ctx = multiprocessing.get_context()
    pool = None
    try:
        stop = ctx.Event()
        pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                      initargs=(job, stop))
        # Start the processes before a progress thread exists (fork after threads is
        # unsafe).
        list(pool.map(_ping, range(workers)))
        return pool, stop, workers
    except (OSError, NotImplementedError, BrokenProcessPool):
        # No process pools here (no /dev/shm in some sandboxes): price in this process.
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        return None, None, 1


def run_batch(table: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
              card: str | os.PathLike[str] | RateCard | None = None, target: str = "udf",
              workers: int | None = None, on_error: OnError = "skip", force: bool = False,
              progress: bool = True) -> BatchResult:
    """Price every row of ``table``, write one workbook per good row and a summary into
    ``out_dir``.

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
        force: replace existing workbooks and summary (atomically).  Without it an
            existing workbook is kept and its row reported as already present, and an
            existing summary.xlsx stops the run before it starts.
        progress: show a progress bar (rich, on stderr).

    Returns:
        The counts, every row error and the summary's path.  Row errors do not raise: the
        caller decides the exit code (``result.failed``).

    Raises:
        InputError: a bad argument, an unknown card, a table that cannot be read (its
            encoding, header or columns), an output that is the table itself, or an
            existing summary without ``force``.
    """
    if on_error not in ("skip", "stop"):
        raise InputError("--on-error", on_error, "skip or stop")
    if target not in TARGETS:
        raise InputError("target", target, ", ".join(TARGETS))
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("--workers", workers, "a whole number >= 1")
    rate_card = card if isinstance(card, RateCard) else load_card(card)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("out_dir", str(out), "a folder (this is a file)")
    summary_path = out / SUMMARY_NAME
    refuse_inputs([summary_path], [table, Path(rate_card.path)], field="out_dir")
    if summary_path.exists() and not force:
        raise InputError("out_dir", str(summary_path), "a folder without a summary.xlsx yet "
                         "(or replace it: force, --force)")
    opened = open_table(table)
    estimate = opened.estimate
    if estimate is not None:
        workers = max(1, min(workers, estimate))
    out.mkdir(parents=True, exist_ok=True)
    clean_old_temporaries(out)
    source = Path(table).name
    inputs = (Path(table), Path(rate_card.path))  # the card is an input too: never replaced
    job = _Job(rate_card, target, out, force, source, inputs)
    result = BatchResult(table=Path(table), out_dir=out)

    pool, stop = None, None
    if workers > 1:
        pool, stop, workers = _pool(workers, job)
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
                spool_row(records, r)
                if r.status == PRESENT:
                    result.present += 1
                else:
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

        rows = iter(opened.rows)
        number = 1
        try:
            if bar is not None:
                bar.start()
                task = bar.add_task(f"quoting {source}", total=estimate)
            while result.stopped_at is None:
                try:
                    number, row = next(rows)
                except StopIteration:
                    break
                except Exception as exc:  # noqa: BLE001 - a table unreadable half-way
                    # Keep what was done and say where reading stopped, in the summary.
                    settle(limit=0)
                    text = exc.expected if isinstance(exc, InputError) else (
                        f"a readable table ({type(exc).__name__}: {exc})")
                    result.rows += 1
                    take(_Outcome(number + 1, errors=(_error(
                        number + 1, "(table)", source, text, source),)))
                    if result.stopped_at is None:
                        result.stopped_at = number + 1
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
                    pending.append((number, _Outcome(number, errors=(
                        _error(number, key, value, expected, source),))))
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
            # Ctrl-C: start nothing new, let rows in progress end (each file is whole or
            # absent), and pass the interruption on.
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
            close = getattr(opened.rows, "close", None)
            if close is not None:
                close()  # the table's file handles
        spool.flush()
        spool.seek(0)
        data = summary_workbook(spool, result, rate_card, target, source)
    result.summary = write_summary(out, data, replace=force)
    return result
