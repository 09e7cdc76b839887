"""Headless recalculation as a user meets it: ours (:mod:`xl_pricing.recalc`, formulon for
native workbooks) against LibreOffice, both sides measured in the same run, alternating.

Ratios are LibreOffice's seconds ÷ ours (higher is better for us):

``recalc_session_vs_lo`` (goal >= 3)
    100 native workbooks built from generated projects (:mod:`benchmarks.projects`).
    *Ours*: ONE fresh Python process (``python -c``) that imports ``xl_pricing.recalc``
    and calls ``recalculate(path)`` on each of the 100 (every defined name read back):
    timed from spawn to exit, so the interpreter's start, the imports and the engine's
    start (formulon compiles its WebAssembly module on the first workbook) are in.
    *LibreOffice*: a headless soffice started with a fresh profile that forces
    recalculation on load, listening on a private pipe; ``benchmarks/lo_warm.py
    --workbooks`` (system python, UNO) loads, ``calculateAll()``s, reads every defined name
    in bulk and closes each of the same 100: timed from soffice's spawn to the client's
    exit, so LibreOffice's start is in too.  Both sides' ``Total`` are compared.

``recalc_warm_vs_lo`` (goal >= 4)
    The standard quote workbook (the native build of
    ``templates/projects/a-stacked-sponsored.toml``).  *Ours*: in this running process,
    after one untimed warm-up (the engine started): ``recalculate(book, inputs={first
    cell of R_Hours: hours})``: load + set + recalculate + read every name.
    *LibreOffice*: the same on a running soffice over UNO (load, set, ``calculateAll()``,
    bulk read, close; see ``lo_warm.py``), blocks of workbooks alternating with ours.

``recalc_input_ms`` (goal <= 20)
    One :class:`~xl_pricing.recalc.Recalculator` of the standard workbook, loaded
    beforehand; timed: ``.values({cell: hours}, names=["Total"])`` -- change one input,
    recalculate, read the total, as a person waiting for the price does -- median
    milliseconds.  ``recalc_input_all_ms`` (reported, no goal): the same reading every
    defined name (formulon's API reads one cell per call, about 30-70 µs each).

``recalc_single_vs_lo`` (goal >= 0.5)
    *Ours*: ``python -m xl_pricing recalc BOOK --json`` as a whole process.  *LibreOffice*:
    ``xl_pricing.libreoffice.recalculate(book, out)`` -- one cold ``soffice
    --convert-to`` with a fresh profile.  Alternating, one of each per round.

Needs LibreOffice (``bash .ci/setup-libreoffice``) and Debian's python3-uno for
``/usr/bin/python3`` (``bash benchmarks/setup``).  Every child process runs in its own
process group with a timeout; the soffice listener is killed in a ``finally``.
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

from . import projects
from .timing import alternate, kill_group, last_json, ms, run_timed, say

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LO_WARM = HERE / "lo_warm.py"
SYSTEM_PYTHON = "/usr/bin/python3"
PROJECT = ROOT / "templates" / "projects" / "a-stacked-sponsored.toml"
INPUT_NAME = "R_Hours"  # its first cell: the first researcher's hours
TOTAL_NAME = "Total"
WARMUP_HOURS = 90

INSTALL = ("install LibreOffice with `bash .ci/setup-libreoffice` and the UNO bridge for "
           f"{SYSTEM_PYTHON} with `bash benchmarks/setup` (both need root and apt-get)")

# quick / full: session rounds (each: 100 workbooks per side), warm rounds × block,
# Recalculator input changes, single rounds
SIZES = {True: {"session_books": 100, "session_rounds": 1, "warm_rounds": 4,
                "warm_block": 3, "input_changes": 30, "single_rounds": 3},
         False: {"session_books": 100, "session_rounds": 3, "warm_rounds": 8,
                 "warm_block": 5, "input_changes": 100, "single_rounds": 7}}

# The "ours" side of recalc_session_vs_lo: one fresh process, imports included.
SESSION_SCRIPT = r"""
import json, sys
from xl_pricing.recalc import recalculate
paths = [p for p in open(sys.argv[1], encoding="utf-8").read().splitlines() if p]
totals = []
for p in paths:
    totals.append(recalculate(p).get(sys.argv[2]))
print(json.dumps({"totals": totals}))
"""


def _say(text: str) -> None:
    say(f"recalc_bench: {text}")


def check_prerequisites() -> str:
    """The soffice path; RuntimeError saying how to install what is missing."""
    from xl_pricing.libreoffice import find_soffice

    soffice = find_soffice()
    if soffice is None:
        raise RuntimeError(f"LibreOffice (soffice) was not found: {INSTALL}")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise RuntimeError(f"{SYSTEM_PYTHON} was not found: {INSTALL}")
    try:
        run_timed([SYSTEM_PYTHON, "-c", "import uno"], 60, "import uno")
    except RuntimeError as exc:
        raise RuntimeError(f"{SYSTEM_PYTHON} cannot import uno ({exc}): {INSTALL}") from None
    return soffice


def standard_workbook(folder: Path) -> Path:
    """The native workbook of the example project with the default card."""
    import tomllib

    with PROJECT.open("rb") as f:
        data = tomllib.load(f)
    data["project"]["id"] = "standard"
    return projects.build_native([data], folder)[0]


def input_cell(book: Path, name: str = INPUT_NAME) -> str:
    """``Sheet!A1`` of the first cell of the defined name ``name``."""
    import openpyxl

    wb = openpyxl.load_workbook(book)
    try:
        sheet, coord = next(iter(wb.defined_names[name].destinations))
    finally:
        wb.close()
    first = coord.replace("$", "").split(":")[0]
    quoted = sheet if sheet.isidentifier() else "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{first}"


def _copies(paths: list[Path], folder: Path) -> list[Path]:
    """LibreOffice's own copies (it takes a lock file beside what it opens)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in paths:
        shutil.copyfile(p, folder / p.name)
        out.append(folder / p.name)
    return out


def _same_totals(ours: list[Any], lo: list[Any], what: str) -> None:
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(ours, lo))
           if not isinstance(a, (int, float)) or not isinstance(b, (int, float))
           or abs(a - b) > 0.5]
    if bad:
        _say(f"WARNING {what}: {TOTAL_NAME} differs (index, ours, LibreOffice): {bad[:5]}")
    else:
        _say(f"check {what}: {TOTAL_NAME} agrees on all {len(ours)} workbooks")


# -- the LibreOffice listener -----------------------------------------------------------------

def write_profile(parent: Path) -> Path:
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


class Listener:
    """One headless soffice listening on a private pipe, in its own process group, with a
    fresh profile in ``work``."""

    def __init__(self, soffice: str, work: Path):
        work.mkdir(parents=True, exist_ok=True)
        self.accept = f"pipe,name=xlp_bench_{os.getpid()}_{secrets.token_hex(4)};urp;"
        profile = write_profile(work)
        self.log = open(work / "soffice.log", "wb")
        self.command = [soffice, "--headless", "--invisible", "--norestore", "--nologo",
                        "--nodefault", "--nolockcheck",
                        f"-env:UserInstallation={profile.resolve().as_uri()}",
                        f"--accept={self.accept}"]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Listener":
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc is not None:
                kill_group(self.proc)
        finally:
            self.log.close()

    def client(self, args: list[str], timeout: float, what: str) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{what}: the soffice listener is not running "
                               f"(command: {' '.join(self.command)})")
        _, out = run_timed([SYSTEM_PYTHON, str(LO_WARM), "--accept", self.accept,
                            "--connect-timeout", "60", *args], timeout, what)
        return last_json(out, what)


# -- recalc_session_vs_lo -----------------------------------------------------------------------

def session(soffice: str, books: list[Path], lo_books: list[Path], rounds: int,
            work: Path) -> tuple[float, float]:
    """Median seconds (ours, LibreOffice) to recalculate ``books`` from a cold start."""
    ours_list, lo_list = work / "ours.txt", work / "lo.txt"
    ours_list.write_text("\n".join(map(str, books)) + "\n", encoding="utf-8")
    lo_list.write_text("\n".join(map(str, lo_books)) + "\n", encoding="utf-8")
    totals: dict[str, list[Any]] = {}
    runs = [0]

    def ours() -> float:
        s, out = run_timed([sys.executable, "-c", SESSION_SCRIPT, str(ours_list), TOTAL_NAME],
                           60 + 10 * len(books), "ours: a session of recalculations")
        totals["ours"] = last_json(out, "ours session")["totals"]
        return s

    def lo() -> float:
        runs[0] += 1
        t0 = time.perf_counter()
        with Listener(soffice, work / f"lo-{runs[0]}") as listener:
            got = listener.client(["--workbooks", str(lo_list), "--total-name", TOTAL_NAME],
                                  120 + 10 * len(books), "LibreOffice warm session")
            seconds = time.perf_counter() - t0
        totals["lo"] = got["totals"]
        phases = ", ".join(f"{k} {ms(statistics.median(v))}" for k, v in got["phases"].items())
        _say(f"LibreOffice session: {seconds:.2f} s, of which workbooks "
             f"{sum(got['seconds']):.2f} s (medians per workbook: {phases})")
        return seconds

    s, b = alternate(ours, lo, rounds)
    _same_totals(totals["ours"], totals["lo"], "session")
    our_med, lo_med = statistics.median(s), statistics.median(b)
    _say(f"session of {len(books)} workbooks: ours (fresh process) {our_med:.2f} s "
         f"{[round(x, 2) for x in s]}, LibreOffice (its start included) {lo_med:.2f} s "
         f"{[round(x, 2) for x in b]}")
    return our_med, lo_med


# -- recalc_warm_vs_lo and recalc_input_ms -------------------------------------------------------

def _hours(counter: list[int], n: int) -> list[int]:
    """``n`` different hours for the input cell (100, 105, ... 295, then again)."""
    out = []
    for _ in range(n):
        out.append(100 + 5 * (counter[0] % 40))
        counter[0] += 1
    return out


def warm(soffice: str, book: Path, lo_book: Path, cell: str, rounds: int, block: int,
         work: Path) -> tuple[float, float]:
    """Median seconds (ours, LibreOffice) to load + set + recalculate + read ``book`` in a
    running process."""
    from xl_pricing.recalc import recalculate

    t0 = time.perf_counter()
    recalculate(book, inputs={cell: WARMUP_HOURS})  # the engine starts here: not timed
    _say(f"ours: first recalculate() in this process {time.perf_counter() - t0:.2f} s "
         "(engine start; not timed)")
    ours_s: list[float] = []
    lo_s: list[float] = []
    ours_total: dict[int, Any] = {}
    lo_total: dict[int, Any] = {}
    counter = [0]
    with Listener(soffice, work / "lo-warm") as listener:
        listener.client(["--ping"], 90, "connecting to soffice")

        def lo_block(values: list[int]) -> None:
            got = listener.client(
                ["--workbook", str(lo_book), "--values",
                 ",".join(map(str, [WARMUP_HOURS, *values])), "--warmup", "1",
                 "--input-name", INPUT_NAME, "--total-name", TOTAL_NAME],
                120 + 20 * len(values), "LibreOffice warm block")
            lo_s.extend(got["seconds"])
            lo_total.update(zip(values, got["totals"]))

        def our_block(values: list[int]) -> None:
            for v in values:
                t = time.perf_counter()
                got = recalculate(book, inputs={cell: v})
                ours_s.append(time.perf_counter() - t)
                ours_total[v] = got.get(TOTAL_NAME)

        for r in range(rounds):
            values = _hours(counter, block)
            for side in (lo_block, our_block) if r % 2 == 0 else (our_block, lo_block):
                side(values)
    common = sorted(set(ours_total) & set(lo_total))
    _same_totals([ours_total[v] for v in common], [lo_total[v] for v in common], "warm")
    our_med, lo_med = statistics.median(ours_s), statistics.median(lo_s)
    _say(f"warm load+recalculate+read: ours {ms(our_med)} (min {ms(min(ours_s))}), "
         f"LibreOffice {ms(lo_med)} (min {ms(min(lo_s))}) over {len(ours_s)} each")
    return our_med, lo_med


def input_change(book: Path, cell: str, changes: int) -> tuple[float, float]:
    """Median seconds of ``Recalculator.values({cell: hours}, names=["Total"])`` and of
    the same reading every defined name, on a loaded workbook (alternating)."""
    from xl_pricing.recalc import Recalculator

    t0 = time.perf_counter()
    recalc = Recalculator(book)
    recalc.values({cell: WARMUP_HOURS})
    _say(f"Recalculator(book) + first .values() {ms(time.perf_counter() - t0)} (not timed); "
         f"engine: {getattr(recalc, 'engine', '?')}")
    total, every = [], []
    counter = [0]
    for i, v in enumerate(_hours(counter, changes)):
        t = time.perf_counter()
        if i % 2:
            recalc.values({cell: v})
            every.append(time.perf_counter() - t)
        else:
            recalc.values({cell: v}, names=["Total"])
            total.append(time.perf_counter() - t)
    med, med_all = statistics.median(total), statistics.median(every)
    _say(f"one input changed + recalculate + read Total: median {ms(med)} (min "
         f"{ms(min(total))}, max {ms(max(total))}); reading every name: {ms(med_all)}, "
         f"over {changes}")
    return med, med_all


# -- recalc_single_vs_lo --------------------------------------------------------------------------

def single(book: Path, lo_book: Path, rounds: int, work: Path) -> tuple[float, float]:
    """Median seconds (ours as a whole ``xl-pricing recalc --json`` process, one cold
    LibreOffice convert)."""
    from xl_pricing.libreoffice import recalculate as lo_recalculate

    out_dir = work / "cold"

    def ours() -> float:
        s, out = run_timed([sys.executable, "-m", "xl_pricing", "recalc", str(book), "--json"],
                           300, "xl-pricing recalc --json")
        if TOTAL_NAME not in json.loads(out):  # the whole output is one JSON object
            raise RuntimeError(f"xl-pricing recalc --json gave no {TOTAL_NAME}")
        return s

    def lo() -> float:
        t = time.perf_counter()
        lo_recalculate(lo_book, out_dir, timeout=180)
        return time.perf_counter() - t

    s, b = alternate(ours, lo, rounds)
    our_med, lo_med = statistics.median(s), statistics.median(b)
    _say(f"single workbook as a whole process: ours {our_med:.2f} s "
         f"{[round(x, 2) for x in s]}, LibreOffice cold convert {lo_med:.2f} s "
         f"{[round(x, 2) for x in b]}")
    return our_med, lo_med


# -- entry point -------------------------------------------------------------------------------

def run(quick: bool) -> dict[str, float]:
    """Measure; the four recalculation figures.  RuntimeError when LibreOffice or
    python3-uno is missing (the message says how to install them) or a child fails."""
    size = SIZES[bool(quick)]
    with contextlib.redirect_stdout(sys.stderr):  # nothing on stdout, whatever prints
        soffice = check_prerequisites()
        work = Path(tempfile.mkdtemp(prefix="xlp-bench-recalc-"))
        try:
            t0 = time.perf_counter()
            books = projects.build_native(projects.generate(size["session_books"]),
                                          work / "books")
            book = standard_workbook(work / "standard")
            lo_books = _copies(books, work / "lo-books")
            lo_book = _copies([book], work / "lo-standard")[0]
            cell = input_cell(book)
            _say(f"built {len(books)} generated native workbooks and the standard one in "
                 f"{time.perf_counter() - t0:.1f} s; input cell {cell}")
            our_session, lo_session = session(soffice, books, lo_books,
                                              size["session_rounds"], work)
            our_warm, lo_warm = warm(soffice, book, lo_book, cell, size["warm_rounds"],
                                     size["warm_block"], work)
            input_s, input_all_s = input_change(book, cell, size["input_changes"])
            our_single, lo_single = single(book, lo_book, size["single_rounds"], work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {"recalc_session_vs_lo": round(lo_session / our_session, 3),
            "recalc_session_s": [round(our_session, 2), round(lo_session, 2)],
            "recalc_warm_vs_lo": round(lo_warm / our_warm, 3),
            "recalc_warm_ms": [round(our_warm * 1000, 1), round(lo_warm * 1000, 1)],
            "recalc_input_ms": round(input_s * 1000, 2),
            "recalc_input_all_ms": round(input_all_s * 1000, 2),
            "recalc_single_vs_lo": round(lo_single / our_single, 3),
            "recalc_single_s": [round(our_single, 2), round(lo_single, 2)]}
