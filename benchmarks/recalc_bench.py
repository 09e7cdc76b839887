"""Headless recalculation: ours (:mod:`xl_pricing.recalc`: the cell graph over the
``formulas`` engine, see :mod:`xl_pricing.cellgraph`) against LibreOffice, on the standard
quote workbook.  Which evaluator ran is printed; it must be the graph.

``run(quick)`` returns two ratios (LibreOffice time ÷ our time; higher is better for us):

``recalc_warm_vs_lo`` (goal >= 1.5)
    *LibreOffice warm*: ONE headless soffice is started with a fresh temporary profile that
    forces recalculation on load (``xl_pricing.libreoffice.RECALC_SETTINGS``) and listens on
    a private pipe::

        soffice --headless --invisible --norestore --nologo --nodefault --nolockcheck \\
            -env:UserInstallation=file:///tmp/xlp-bench-lo-.../profile \\
            --accept="pipe,name=xlp_bench_<pid>_<random>;urp;"

    ``/usr/bin/python3 benchmarks/lo_warm.py`` connects over UNO and, per workbook, loads
    it hidden, sets the first cell of ``R_Hours`` (the first researcher's hours) to a new
    value, ``calculateAll()``, reads every defined name in bulk (one ``getDataArray()`` per
    sheet; ``Total`` among them) and closes the document -- see that file.  Its first
    workbook per run is a warm-up, not timed.
    *Ours warm*: one :class:`~xl_pricing.recalc.Recalculator` made beforehand (not timed);
    timed: ``.values({"Project!J35": new value})`` -- recalculate with the changed input and
    return every defined name's value.  One untimed warm-up call first.
    The two sides run in alternating blocks (LibreOffice first in even rounds, ours first
    in odd ones) so machine noise hits both; the ratio is of the medians of all timed
    workbooks.  Both sides get the same input values, and their ``Total`` is compared.

``recalc_cold_vs_lo`` (goal >= 2.5)
    *LibreOffice cold*: ``xl_pricing.libreoffice.recalculate(book)`` -- a fresh soffice
    process (and profile) converting the workbook, recalculating it on load.
    *Ours cold*: ``Recalculator(book).values()`` -- load, compile and recalculate -- timed
    IN THIS PROCESS, after the libraries are imported.  Decision: importing
    ``xl_pricing.recalc`` and building ``formulas``' function library (which pulls in
    scipy) is a one-time cost of a Python process, like starting Python itself, not of a
    workbook; it is measured separately in a fresh process and printed on its own line
    (with what a fresh process per workbook would give), but is not in the ratio.
    Alternating, one of each per round.

Every subprocess runs in its own process group with a timeout and is killed as a group on
timeout or error; the soffice listener is killed (group) in a ``finally``.  Progress and
results are printed to stderr, one line per measurement; nothing is printed on stdout.

Needs LibreOffice (``bash .ci/setup-libreoffice``) and Debian's python3-uno for
``/usr/bin/python3`` (``bash benchmarks/setup``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from xl_pricing.libreoffice import kill_group

HERE = Path(__file__).resolve().parent
LO_WARM = HERE / "lo_warm.py"
SYSTEM_PYTHON = "/usr/bin/python3"
PROJECT = "a-stacked-sponsored.toml"
INPUT_NAME = "R_Hours"  # its first cell: the first researcher's hours
TOTAL_NAME = "Total"
WARMUP_HOURS = 90  # the input value of the untimed warm-up workbooks

INSTALL = ("install LibreOffice with `bash .ci/setup-libreoffice` and the UNO bridge for "
           f"{SYSTEM_PYTHON} with `bash benchmarks/setup` (both need root and apt-get)")

# (rounds, workbooks per block) for the warm comparison; rounds for the cold one.
SIZES = {True: {"warm_rounds": 4, "warm_block": 3, "cold_rounds": 5},
         False: {"warm_rounds": 8, "warm_block": 5, "cold_rounds": 9}}


def _say(text: str) -> None:
    print(f"recalc_bench: {text}", file=sys.stderr, flush=True)


# -- processes ------------------------------------------------------------------------------

def _run(command: list[str], timeout: float, what: str) -> str:
    """Run ``command`` in its own process group; its stdout, or RuntimeError."""
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc, proc.pid)
        raise RuntimeError(f"{what}: no answer within {timeout:g} s; its process group was "
                           "killed") from None
    except BaseException:
        kill_group(proc, proc.pid)
        raise
    if proc.returncode != 0:
        tail = "\n".join((err or "").strip().splitlines()[-15:])
        raise RuntimeError(f"{what}: exit status {proc.returncode}\n{tail}")
    return out


def _json_line(out: str, what: str) -> dict[str, Any]:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"{what}: printed nothing")
    return json.loads(lines[-1])


# -- prerequisites and the workbook ---------------------------------------------------------

def _check_prerequisites() -> str:
    """The soffice path; RuntimeError saying how to install what is missing."""
    from xl_pricing.libreoffice import find_soffice

    soffice = find_soffice()
    if soffice is None:
        raise RuntimeError(f"LibreOffice (soffice) was not found: {INSTALL}")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise RuntimeError(f"{SYSTEM_PYTHON} (the system python that has LibreOffice's UNO "
                           f"bridge) was not found: {INSTALL}")
    try:
        _run([SYSTEM_PYTHON, "-c", "import uno"], 60, f"{SYSTEM_PYTHON} -c 'import uno'")
    except RuntimeError as exc:
        raise RuntimeError(f"{SYSTEM_PYTHON} cannot import uno ({exc}): {INSTALL}") from None
    return soffice


def _project_file() -> Path:
    from xl_pricing.rates import templates_dir

    for folder in (HERE.parent / "templates", templates_dir()):
        path = folder / "projects" / PROJECT
        if path.is_file():
            return path
    raise RuntimeError(f"the benchmark project templates/projects/{PROJECT} was not found")


def _standard_workbook(out_dir: Path) -> Path:
    """The native workbook of the example project with the default card (what
    ``xl-pricing build --project templates/projects/a-stacked-sponsored.toml --target
    native`` writes)."""
    from xl_pricing.project import load_project
    from xl_pricing.rates import load_card
    from xl_pricing.workbook import build

    return Path(build(load_card(None), load_project(_project_file()), "native", out_dir,
                      force=True))


def _input_cell(book: Path) -> str:
    """``Sheet!A1`` of the first cell of the defined name :data:`INPUT_NAME`."""
    import openpyxl

    wb = openpyxl.load_workbook(book)
    try:
        sheet, coord = next(iter(wb.defined_names[INPUT_NAME].destinations))
    finally:
        wb.close()
    first = coord.replace("$", "").split(":")[0]
    quoted = sheet if sheet.isidentifier() else "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{first}"


def _import_cost() -> dict[str, float]:
    """Seconds a fresh Python process spends importing ``xl_pricing.recalc`` and building
    ``formulas``' function library (scipy) -- one-time costs, not per workbook."""
    code = (
        "import json, time\n"
        "t0 = time.perf_counter()\n"
        "import xl_pricing.recalc as rc\n"
        "t1 = time.perf_counter()\n"
        "import formulas.functions\n"
        "formulas.functions.get_functions(); rc.register_udfs()\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'import': t1 - t0, 'functions': t2 - t1}))\n"
    )
    t0 = time.perf_counter()
    out = _run([sys.executable, "-c", code], 300, "measuring the import cost")
    wall = time.perf_counter() - t0
    return {**_json_line(out, "measuring the import cost"), "process": wall}


# -- LibreOffice warm -----------------------------------------------------------------------

def _write_profile(parent: Path) -> Path:
    """A fresh LibreOffice user profile forcing recalculation on load (the settings
    ``xl_pricing.libreoffice`` uses)."""
    from xl_pricing.libreoffice import RECALC_SETTINGS

    items = "".join(f'<item oor:path="{p}"><prop oor:name="{n}" oor:op="fuse">'
                    f"<value>{v}</value></prop></item>\n" for p, n, v in RECALC_SETTINGS)
    profile = parent / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{items}</oor:items>\n", encoding="utf-8")
    return profile


class _Listener:
    """One headless soffice listening on a private pipe, in its own process group."""

    def __init__(self, soffice: str, work: Path):
        self.accept = f"pipe,name=xlp_bench_{os.getpid()}_{secrets.token_hex(4)};urp;"
        profile = _write_profile(work)
        self.log = open(work / "soffice.log", "wb")
        self.command = [soffice, "--headless", "--invisible", "--norestore", "--nologo",
                        "--nodefault", "--nolockcheck",
                        f"-env:UserInstallation={profile.resolve().as_uri()}",
                        f"--accept={self.accept}"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start soffice; seconds until a UNO client could connect."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.client(["--ping", "--connect-timeout", "60"], 90, "connecting to soffice")
        return time.perf_counter() - t0

    def client(self, args: list[str], timeout: float, what: str) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{what}: the soffice listener is not running "
                               f"(command: {' '.join(self.command)})")
        out = _run([SYSTEM_PYTHON, str(LO_WARM), "--accept", self.accept, *args], timeout,
                   what)
        return _json_line(out, what)

    def stop(self) -> None:
        try:
            if self.proc is not None:
                kill_group(self.proc, self.proc.pid)
        finally:
            self.log.close()


def _values(n: int, counter: list[int]) -> list[int]:
    """``n`` different hours for the input cell (100, 105, ... 295, then again)."""
    out = []
    for _ in range(n):
        out.append(100 + 5 * (counter[0] % 40))
        counter[0] += 1
    return out


def _warm(soffice: str, book: Path, lo_book: Path, cell: str, rounds: int, block: int,
          work: Path) -> tuple[float, float]:
    from xl_pricing.recalc import Recalculator

    t0 = time.perf_counter()
    ours = Recalculator(book)
    ours.values({cell: WARMUP_HOURS})  # warm-up
    _say(f"ours: Recalculator(book) + one warm-up .values() took "
         f"{time.perf_counter() - t0:.2f} s (not timed); evaluator: {ours.evaluator}")

    lo_s: list[float] = []
    lo_phases: dict[str, list[float]] = {}
    our_s: list[float] = []
    lo_totals: dict[int, Any] = {}
    our_totals: dict[int, Any] = {}
    counter = [0]
    listener = _Listener(soffice, work)
    try:
        started = listener.start()
        _say(f"LibreOffice listener: started and accepting UNO connections after "
             f"{started * 1000:.0f} ms (not timed)")

        def lo_block(timed: list[int]) -> None:
            values = [WARMUP_HOURS, *timed]  # the first is the untimed warm-up load
            got = listener.client(
                ["--workbook", str(lo_book), "--values", ",".join(map(str, values)),
                 "--warmup", "1", "--input-name", INPUT_NAME, "--total-name", TOTAL_NAME,
                 "--read", "sheets"],
                120 + 20 * len(values), "LibreOffice warm block")
            lo_s.extend(got["seconds"])
            for k, v in got["phases"].items():
                lo_phases.setdefault(k, []).extend(v)
            lo_totals.update(zip(values[1:], got["totals"]))

        def our_block(timed: list[int]) -> None:
            for v in timed:
                t = time.perf_counter()
                result = ours.values({cell: v})
                our_s.append(time.perf_counter() - t)
                our_totals[v] = result.get(TOTAL_NAME)

        for r in range(rounds):
            timed = _values(block, counter)  # the same inputs for both sides
            for side in ((lo_block, our_block) if r % 2 == 0 else (our_block, lo_block)):
                side(timed)
    finally:
        listener.stop()

    lo_med, our_med = statistics.median(lo_s), statistics.median(our_s)
    phases = ", ".join(f"{k} {statistics.median(v) * 1000:.1f}" for k, v in lo_phases.items())
    _say(f"LibreOffice warm: median {lo_med * 1000:.1f} ms/workbook (min "
         f"{min(lo_s) * 1000:.1f}, max {max(lo_s) * 1000:.1f}; medians in ms: {phases}) over "
         f"{len(lo_s)} workbooks in {rounds} blocks of {block} after a warm-up load each")
    _say(f"ours warm: median {our_med * 1000:.1f} ms/recalculation (min "
         f"{min(our_s) * 1000:.1f}, max {max(our_s) * 1000:.1f}) of .values({{{cell!r}: "
         f"hours}}) over {len(our_s)} recalculations in {rounds} blocks of {block}")
    _check_totals(lo_totals, our_totals)
    return lo_med, our_med


def _check_totals(lo: dict[int, Any], ours: dict[int, Any]) -> None:
    """Both sides computed the same ``Total`` for the same input (where both ran it)."""
    common = sorted(set(lo) & set(ours))
    bad = [(v, lo[v], ours[v]) for v in common
           if not isinstance(lo[v], (int, float)) or not isinstance(ours[v], (int, float))
           or abs(lo[v] - ours[v]) > 0.5]
    if bad:
        _say(f"WARNING: {TOTAL_NAME} differs between LibreOffice and ours (hours, LO, ours): "
             f"{bad[:5]}")
    elif common:
        _say(f"check: {TOTAL_NAME} agrees for the {len(common)} input values both sides ran")


# -- cold -----------------------------------------------------------------------------------

def _cold(book: Path, rounds: int, work: Path) -> tuple[float, float, float, float]:
    from xl_pricing.libreoffice import recalculate
    from xl_pricing.recalc import Recalculator

    lo_s: list[float] = []
    our_s: list[float] = []
    our_load: list[float] = []
    out_dir = work / "cold"

    def lo_once() -> None:
        t = time.perf_counter()
        recalculate(book, out_dir, timeout=120)
        lo_s.append(time.perf_counter() - t)

    evaluators: set[str] = set()

    def our_once() -> None:
        t = time.perf_counter()
        recalc = Recalculator(book)
        t1 = time.perf_counter()
        recalc.values()
        our_s.append(time.perf_counter() - t)
        our_load.append(t1 - t)
        evaluators.add(recalc.evaluator)

    for r in range(rounds):
        for side in ((lo_once, our_once) if r % 2 == 0 else (our_once, lo_once)):
            side()
    lo_med, our_med = statistics.median(lo_s), statistics.median(our_s)
    load_med = statistics.median(our_load)
    _say(f"LibreOffice cold: median {lo_med * 1000:.0f} ms/workbook (min "
         f"{min(lo_s) * 1000:.0f}, max {max(lo_s) * 1000:.0f}) of "
         f"xl_pricing.libreoffice.recalculate() (fresh soffice each) over {len(lo_s)}")
    _say(f"ours cold: median {our_med * 1000:.0f} ms/workbook (min {min(our_s) * 1000:.0f}, "
         f"max {max(our_s) * 1000:.0f}; load+compile {load_med * 1000:.0f}) of "
         f"Recalculator(book).values() in-process, imports excluded, over {len(our_s)}; "
         f"evaluator: {', '.join(sorted(evaluators))}")
    return lo_med, our_med, load_med, statistics.median(
        [a - b for a, b in zip(our_s, our_load)])


# -- entry point ----------------------------------------------------------------------------

def run(quick: bool) -> dict[str, float]:
    """Measure; ``{"recalc_warm_vs_lo": ..., "recalc_cold_vs_lo": ...}`` (LibreOffice
    seconds ÷ ours; higher is better for us).  ``quick``: fewer rounds (well under 90 s on
    2 cores); otherwise a few minutes.

    Raises:
        RuntimeError: LibreOffice or python3-uno is missing (the message says how to
            install them), or a LibreOffice process failed or timed out.
    """
    size = SIZES[bool(quick)]
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # nothing on stdout, whatever prints
        soffice = _check_prerequisites()
        work = Path(tempfile.mkdtemp(prefix="xlp-bench-lo-"))
        try:
            book = _standard_workbook(work / "book")
            lo_book = work / "lo" / book.name  # LibreOffice's copy (it may lock what it opens)
            lo_book.parent.mkdir()
            shutil.copyfile(book, lo_book)
            cell = _input_cell(book)
            _say(f"workbook: {book.name} ({book.stat().st_size} bytes); input: first cell "
                 f"of {INPUT_NAME} = {cell}; {'quick' if quick else 'full'} run")

            cost = _import_cost()
            _say(f"import cost (one-time per Python process, NOT in the ratios): import "
                 f"xl_pricing.recalc {cost['import'] * 1000:.0f} ms + formulas' function "
                 f"library (scipy) and XLP_ registration {cost['functions'] * 1000:.0f} ms = "
                 f"{(cost['import'] + cost['functions']) * 1000:.0f} ms (whole fresh "
                 f"`python -c` {cost['process'] * 1000:.0f} ms)")

            lo_warm, our_warm = _warm(soffice, book, lo_book, cell, size["warm_rounds"],
                                      size["warm_block"], work)
            warm_ratio = lo_warm / our_warm
            _say(f"recalc_warm_vs_lo = {lo_warm * 1000:.1f} / {our_warm * 1000:.1f} ms = "
                 f"{warm_ratio:.3f} (goal >= 1.5)")

            lo_cold, our_cold, _, _ = _cold(book, size["cold_rounds"], work)
            cold_ratio = lo_cold / our_cold
            _say(f"recalc_cold_vs_lo = {lo_cold * 1000:.0f} / {our_cold * 1000:.0f} ms = "
                 f"{cold_ratio:.3f} (goal >= 2.5)")
            fresh = our_cold + cost["process"]
            _say(f"for information: with a fresh Python process per workbook (its whole "
                 f"import start-up added) ours would be {fresh * 1000:.0f} ms, ratio "
                 f"{lo_cold / fresh:.3f}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _say(f"done in {time.perf_counter() - started:.1f} s")
    return {"recalc_warm_vs_lo": warm_ratio, "recalc_cold_vs_lo": cold_ratio}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Recalculation speed: ours vs LibreOffice.")
    ap.add_argument("--quick", action="store_true")
    result = run(ap.parse_args().quick)
    print(json.dumps(result))
