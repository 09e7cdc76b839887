"""Headless LibreOffice: recalculate workbooks, read computed values, export PDFs.

There is no Excel on the Linux machines this project is built and tested on, so LibreOffice
Calc stands in for it where a real spreadsheet engine is needed: to check that the formulas
of a generated workbook give the engine's numbers, and to print a workbook to PDF.

Every call starts ``soffice --headless --convert-to ...`` with a fresh temporary user
profile (removed afterwards), so calls never share state, can run side by side and never
touch the user's own LibreOffice settings.  In that profile *recalculation on load* is
forced for Excel 2007+ files (and ODF files)::

    <item oor:path="/org.openoffice.Office.Calc/Formula/Load">
      <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>

``OOXMLRecalcMode`` is Tools > Options > LibreOffice Calc > Formula > "Recalculation on File
Load" > "Excel 2007 and newer": 0 = always recalculate, 1 = never (the shipped default in
LibreOffice 7.4), 2 = prompt.  Without it LibreOffice keeps whatever values a file has cached
(a workbook saved by Excel, or written by XlsxWriter with cached 0s, reads back stale); with
it the cached values are replaced by LibreOffice's own results (checked by the tests with a
workbook whose cached values were deliberately wrong).

Every LibreOffice process runs in its own process group with a timeout; on timeout (or any
interruption) the whole group is killed -- a stuck ``soffice`` never exits by itself.

Files LibreOffice saves are for *reading only*: LibreOffice rewrites formulas (it lower-cases
unknown function names, writes ``FALSE()`` for ``FALSE``), so never hand one to a user.

Install LibreOffice on Debian/Ubuntu with ``apt-get install -y libreoffice-calc-nogui``
(the project's ``.ci/setup-libreoffice`` does it, with a Japanese font and poppler-utils).

Typical use::

    from xl_pricing.libreoffice import read_defined_names, export_pdf
    values = read_defined_names("quote.xlsx")       # {"Total": 7000000, ...}
    export_pdf("quote.xlsx", "quote.pdf", sheet="見積")
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xl_pricing.cells import split_ref
from xl_pricing.errors import InputError
from xl_pricing.files import refuse_inputs, write_file
from xl_pricing.xlsx import check_workbook

__all__ = [
    "INSTALL_HINT",
    "LibreOfficeError",
    "LibreOfficeNotFound",
    "LibreOfficeTimeout",
    "Deadline",
    "require_native",
    "RECALC_SETTINGS",
    "computed_values",
    "ensure_soffice",
    "export_pdf",
    "find_soffice",
    "read_defined_names",
    "recalculate",
]

INSTALL_HINT = (
    "install LibreOffice Calc: as root, `apt-get update && apt-get install -y "
    "--no-install-recommends libreoffice-calc-nogui` on Debian/Ubuntu (or run "
    "`bash .ci/setup-libreoffice`); elsewhere install LibreOffice from your package manager "
    "and make sure `soffice` is on PATH"
)

#: Registry items written into every temporary profile: (node path, property, value).
#: 0 = "always recalculate" on load, for Excel 2007+ (OOXML) and ODF files.
RECALC_SETTINGS: tuple[tuple[str, str, int], ...] = (
    ("/org.openoffice.Office.Calc/Formula/Load", "OOXMLRecalcMode", 0),
    ("/org.openoffice.Office.Calc/Formula/Load", "ODFRecalcMode", 0),
)


# Where LibreOffice usually lives when it is not on PATH.
_COMMON_PATHS = (
    "/usr/bin/soffice",
    "/usr/local/bin/soffice",
    "/usr/lib/libreoffice/program/soffice",
    "/usr/lib64/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/opt/libreoffice*/program/soffice",
    "/snap/bin/libreoffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)


class LibreOfficeError(RuntimeError):
    """LibreOffice failed: it exited with an error, wrote no output, or was not found.

    Attributes:
        command: the command line that was run (a list), or ``None``.
        returncode: its exit status, or ``None`` when it was killed or never ran.
        stderr: the last lines of what it printed (stderr, then stdout), possibly empty.
    """

    def __init__(self, message: str, command: list[str] | None = None,
                 returncode: int | None = None, stderr: str = ""):
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        text = message
        if command:
            text += f"\ncommand: {shlex.join(command)}"
        if stderr:
            text += f"\nlast output of LibreOffice:\n{stderr}"
        super().__init__(text)


class LibreOfficeTimeout(LibreOfficeError):
    """LibreOffice did not finish in time; its whole process group was killed.

    Attributes:
        timeout: the limit, in seconds.
        pgid: the id of the process group that was killed (for checking that it is gone).
    """

    def __init__(self, message: str, command: list[str], timeout: float, pgid: int | None,
                 stderr: str = ""):
        self.timeout = timeout
        self.pgid = pgid
        super().__init__(message, command, None, stderr)


class LibreOfficeNotFound(LibreOfficeError):
    """No ``soffice`` executable was found; the message says how to install it."""


MAX_TIMEOUT = 24 * 3600.0  # seconds; a longer limit is no limit


class Deadline:
    """One time limit for a whole job: checking and preparing the input, then LibreOffice.

    Each step asks :meth:`remaining` for the seconds left, so a slow preparation leaves
    LibreOffice less time instead of adding to the total.

    Args:
        seconds: the limit for the whole job, counted from now (> 0, at most a day).
        field: how the caller names the limit in messages (``timeout``, ``--timeout``).

    Example:
        >>> d = Deadline(120)
        >>> 119 < d.remaining("x") <= 120
        True
    """

    def __init__(self, seconds: float, field: str = "timeout"):
        try:
            ok = math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT
        except TypeError:
            ok = False
        if not ok or isinstance(seconds, bool):
            raise InputError(field, seconds, f"a number of seconds > 0 and at most "
                             f"{MAX_TIMEOUT:,.0f}")
        self.seconds = float(seconds)
        self.field = field
        self.ends = time.monotonic() + self.seconds

    def remaining(self, what: str) -> float:
        """Seconds left; :class:`LibreOfficeTimeout` when none are."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise LibreOfficeTimeout(f"{what}: not finished within {self.seconds:g} s "
                                     "(raise the timeout if the workbook is large)",
                                     [], self.seconds, None)
        return left


def _deadline(timeout: float, deadline: "Deadline | None") -> Deadline:
    return deadline if deadline is not None else Deadline(timeout)


# --------------------------------------------------------------------------------------
# Finding soffice


def find_soffice() -> str | None:
    """The path of the LibreOffice executable, or ``None``.

    Looks for ``soffice`` then ``libreoffice`` on PATH, then in the usual install folders
    (Debian/Ubuntu, /opt, snap, macOS, Windows).
    """
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    import glob

    for pattern in _COMMON_PATHS:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def ensure_soffice() -> str:
    """The path of ``soffice``; raises :class:`LibreOfficeNotFound` saying how to install it."""
    found = find_soffice()
    if found is None:
        raise LibreOfficeNotFound(f"LibreOffice (soffice) was not found: {INSTALL_HINT}")
    return found


# --------------------------------------------------------------------------------------
# Profiles and processes


def _registry_xml(settings: Iterable[tuple[str, str, int]] | None = None) -> str:
    """The ``registrymodifications.xcu`` of a profile that holds ``settings``.

    >>> print(_registry_xml([("/org.openoffice.Office.Calc/Formula/Load",
    ...                       "OOXMLRecalcMode", 0)]).splitlines()[2])
    <item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
    """
    if settings is None:
        settings = RECALC_SETTINGS
    items = "".join(
        f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse">'
        f"<value>{value}</value></prop></item>\n"
        for path, name, value in settings
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{items}</oor:items>\n"
    )


def _make_profile(parent: Path) -> Path:
    """A fresh LibreOffice user profile under ``parent`` with recalculation forced."""
    profile = parent / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_registry_xml(),
                                                                 encoding="utf-8")
    return profile


def _tail(data: bytes | str | None, lines: int = 15) -> str:
    if not data:
        return ""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return "\n".join(text.strip().splitlines()[-lines:])


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``; Linux only, else []."""
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def kill_group(proc: subprocess.Popen, pgid: int | None) -> None:
    """Kill ``proc`` and every process of its group, and wait (briefly) until they are gone."""
    if pgid is not None and hasattr(os, "killpg"):
        deadline = time.monotonic() + 5.0
        while True:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            if proc.poll() is not None and not _group_members(pgid):
                break
            if time.monotonic() > deadline:
                break
    else:  # Windows: no process groups to signal
        proc.kill()
    try:
        proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


def _run_soffice(args: list[str], timeout: float | Deadline,
                 what: str) -> subprocess.CompletedProcess:
    """Run soffice with ``args``; raise :class:`LibreOfficeError` / ``LibreOfficeTimeout``.

    ``timeout``: seconds, or the :class:`Deadline` of the whole job (LibreOffice gets what
    is left of it; a message names the whole limit)."""
    if isinstance(timeout, Deadline):
        limit, timeout = timeout.seconds, timeout.remaining(what)
    else:
        if not timeout or timeout <= 0:
            raise InputError("timeout", timeout, "a number of seconds > 0")
        limit = timeout
    command = [ensure_soffice(), *args]
    kwargs: dict[str, Any] = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True  # its own process group: killed as a whole
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kwargs)
    except OSError as exc:
        raise LibreOfficeError(f"{what}: could not start LibreOffice: {exc}", command) from exc
    pgid = proc.pid if sys.platform != "win32" else None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc, pgid)
        raise LibreOfficeTimeout(
            f"{what}: LibreOffice did not finish within {limit:g} s; its process group "
            f"was killed (raise the timeout if the workbook is large)",
            command, limit, pgid,
        ) from None
    except BaseException:
        kill_group(proc, pgid)
        raise
    if pgid is not None and hasattr(os, "killpg"):
        # soffice.bin normally exits with its launcher; make sure nothing lingers.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _convert(src: Path, fmt: str, outdir: Path, work: Path, timeout: float | Deadline,
             what: str) -> Path:
    """``soffice --convert-to fmt`` of ``src`` into ``outdir``; the path of the result."""
    profile = _make_profile(work)
    outdir.mkdir(parents=True, exist_ok=True)
    args = [
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
        "--nolockcheck",
        "--convert-to", fmt, "--outdir", str(outdir), str(src),
    ]
    result = _run_soffice(args, timeout, what)
    target = outdir / (src.stem + "." + fmt.split(":", 1)[0])
    output = "\n".join(t for t in (_tail(result.stderr), _tail(result.stdout)) if t)
    if result.returncode != 0:
        raise LibreOfficeError(f"{what}: LibreOffice exited with status {result.returncode}",
                               result.args, result.returncode, output)
    if not target.is_file() or target.stat().st_size == 0:
        raise LibreOfficeError(f"{what}: LibreOffice wrote no output (is it a valid "
                               "workbook?)", result.args, result.returncode, output)
    return target


def _check_workbook(path: str | os.PathLike, field: str = "path",
                    deadline: Deadline | None = None) -> Path:
    """``path`` as a Path, checked to be an existing .xlsx/.xlsm workbook within the
    product's size limits (:func:`xl_pricing.xlsx.check_workbook`), else InputError.

    This comes before anything opens the file: a 4.7 KB workbook whose last cell is
    XFD1048576 would otherwise keep openpyxl or LibreOffice busy for minutes.
    """
    p = Path(path)  # check_workbook says what is wrong: missing, suffix, not a zip ...
    what = f"checking {p}"
    check_workbook(p, field, None if deadline is None else lambda: deadline.remaining(what))
    return p


def _stream_parts(archive: zipfile.ZipFile, parts: Iterable[str], deadline: Deadline,
                  what: str) -> Iterable[tuple[str, str, Any]]:
    """(part, event, element) of every start and end in ``parts``' XML, the deadline
    checked as it goes; an element is emptied once it has ended."""
    from xml.etree.ElementTree import iterparse

    for part in parts:
        with archive.open(part) as fh:
            for n, (event, elem) in enumerate(iterparse(fh, events=("start", "end"))):
                if n % 4096 == 0:
                    deadline.remaining(what)
                yield part, event, elem
                if event == "end":
                    elem.clear()


def sheet_names(path: str | os.PathLike, field: str = "path") -> list[str]:
    """The sheet names of a workbook, in order, from ``xl/workbook.xml`` (no cells read).

    Raises:
        InputError: the workbook part is missing or damaged.
    """
    from xml.etree.ElementTree import ParseError, fromstring

    try:
        with zipfile.ZipFile(path) as archive:
            root = fromstring(archive.read("xl/workbook.xml"))
    except (KeyError, ParseError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(field, str(path), f"an undamaged .xlsx workbook (xl/workbook.xml: "
                         f"{exc})") from None
    return [el.get("name", "") for el in root.iter()
            if el.tag == "sheet" or el.tag.endswith("}sheet")]


def require_native(path: str | os.PathLike, deadline: Deadline,
                   field: str = "path") -> None:
    """Refuse a workbook whose formulas call ``XLP_`` functions: LibreOffice cannot run
    them, so its PDF would show errors where the prices are.

    Streams the sheets' formula text once (bounded by ``deadline``); a workbook built with
    ``xl-pricing build --target native`` passes.
    """
    p = _check_workbook(path, field, deadline)
    what = f"checking {p} for XLP_ functions"
    with zipfile.ZipFile(p) as archive:
        parts = sorted(n for n in archive.namelist()
                       if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        cell = ""
        for part, event, elem in _stream_parts(archive, parts, deadline, what):
            if event == "start":
                if elem.tag.endswith("}c"):
                    cell = elem.get("r", "")
            elif elem.tag.endswith("}f") and "XLP_" in (elem.text or "").upper():
                raise InputError(field, str(path), "a native workbook (xl-pricing build "
                                 "--target native): LibreOffice cannot run XLP_ functions "
                                 f"(found in {part.rsplit('/', 1)[-1]} near cell "
                                 f"{cell or '?'})")


# --------------------------------------------------------------------------------------
# Recalculation


def recalculate(path: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                timeout: float = 120, *, deadline: Deadline | None = None) -> Path:
    """Recalculate a workbook with headless LibreOffice; the path of LibreOffice's copy.

    The input is copied into a private temporary folder and converted there (to .xlsx) by
    LibreOffice with a fresh profile that forces recalculation on load, so every formula is
    computed by LibreOffice even when the file carries cached values.  The input file is
    only read, never opened by LibreOffice in place, and never overwritten.

    Args:
        path: the workbook (.xlsx or .xlsm).
        out_dir: folder for the result, created if missing; the result is named
            ``<stem>.recalculated.xlsx`` there (an older file of that name is replaced).
            ``None``: a new temporary folder, which the caller may delete afterwards.
        timeout: seconds the whole call may take (checking and copying the input, then
            LibreOffice); then LibreOffice is killed.
        deadline: a :class:`Deadline` a caller started earlier (instead of ``timeout``).

    Returns:
        The path of LibreOffice's output, for reading computed values only, e.g. with
        ``openpyxl.load_workbook(result, data_only=True)`` (errors read as strings such as
        ``'#NAME?'``).  Never give this file to users: LibreOffice rewrites formulas.

    Raises:
        InputError: ``path`` is not an existing .xlsx/.xlsm workbook, or the output would
            be the input itself.
        LibreOfficeNotFound: no soffice (the message says how to install it).
        LibreOfficeTimeout: LibreOffice took longer than ``timeout`` (it was killed).
        LibreOfficeError: LibreOffice failed or wrote nothing.
    """
    limit = _deadline(timeout, deadline)
    src = _check_workbook(path, deadline=limit)
    if out_dir is None:
        final_dir = Path(tempfile.mkdtemp(prefix="xlp-recalc-"))
    else:
        final_dir = Path(out_dir)
        final_dir.mkdir(parents=True, exist_ok=True)
    final = final_dir / f"{src.stem}.recalculated.xlsx"
    try:
        refuse_inputs([final], [src], "out_dir")
        what = f"recalculating {src}"
        with tempfile.TemporaryDirectory(prefix="xlp-lo-") as tmp:
            work = Path(tmp)
            (work / "in").mkdir()
            # A private copy: LibreOffice never opens (or locks) the input itself.
            copy = work / "in" / ("book" + src.suffix.lower())
            shutil.copyfile(src, copy)
            result = _convert(copy, "xlsx:Calc MS Excel 2007 XML", work / "out", work,
                              limit, what)
            write_file(final, result.read_bytes(), replace=True, field="out_dir")
    except BaseException:
        if out_dir is None:
            shutil.rmtree(final_dir, ignore_errors=True)
        raise
    return final


_CELL_RE = re.compile(r"^\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SHEET = r"(?:'(?:[^']|'')+'|[^\s'!,()*+\-/^&=<>\"]+)"
_AREA = rf"{_SHEET}!\$?[A-Za-z]{{1,3}}\$?\d+(?::\$?[A-Za-z]{{1,3}}\$?\d+)?"
_REFS_RE = re.compile(rf"^=?\s*{_AREA}(?:,{_AREA})*\s*$")


def _constant(text: str) -> tuple[bool, Any]:
    """(True, value) when a defined name's text is a literal constant.

    >>> _constant("0.3"), _constant('"JPY"'), _constant("TRUE"), _constant("A1*2")
    ((True, 0.3), (True, 'JPY'), (True, True), (False, None))
    """
    t = text.strip()
    if t.startswith("="):
        t = t[1:].strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return True, int(t)
    if _NUMBER_RE.match(t):
        return True, float(t)
    if len(t) >= 2 and t[0] == t[-1] == '"' and '"' not in t[1:-1].replace('""', ""):
        return True, t[1:-1].replace('""', '"')
    if t.upper() in ("TRUE", "FALSE"):
        return True, t.upper() == "TRUE"
    return False, None


def _defined_names(wb) -> dict[str, Any]:
    """Every defined name of ``wb``: workbook-scoped as ``Name``, sheet-scoped as
    ``Sheet!Name``, mapped to openpyxl's DefinedName.  Built-in ``_xlnm.`` names are left out.
    """
    names: dict[str, Any] = {}
    for name, dn in wb.defined_names.items():
        if not name.startswith("_xlnm."):
            names[name] = dn
    for ws in wb.worksheets:
        for name, dn in getattr(ws, "defined_names", {}).items():
            if not name.startswith("_xlnm."):
                names[f"{ws.title}!{name}"] = dn
    return names


def _read_area(ws, coord: str) -> Any:
    """The value of one cell, or a list of rows for a range."""
    coord = coord.replace("$", "")
    if ":" not in coord:
        return ws[coord].value
    return [[cell.value for cell in row] for row in ws[coord]]


def computed_values(path: str | os.PathLike, cells_or_names: Iterable[str] | None = None,
                    *, timeout: float = 120,
                    recalculated: str | os.PathLike | None = None) -> dict[str, Any]:
    """Values LibreOffice computes for defined names and cells of a workbook.

    Names are resolved to cells with openpyxl on the ORIGINAL workbook; the values are read
    from LibreOffice's recalculated copy (:func:`recalculate`) with ``data_only=True``.

    Args:
        path: the original workbook (.xlsx or .xlsm).
        cells_or_names: what to read; each item is a workbook-scoped defined name
            (``Total``), a sheet-scoped one (``見積!Total``), or a cell or range
            (``'見積'!B3``, ``Rates!A2:C4``; a bare ``B3`` only in a one-sheet workbook).
            ``None``: every defined name that refers to cells or is a constant
            (names whose definition is a formula cannot be read back and are left out).
        timeout: seconds LibreOffice may take.
        recalculated: an output of :func:`recalculate` for ``path`` to read instead of
            running LibreOffice again.

    Returns:
        ``{item: value}`` in the order asked for; a single cell gives its value (int,
        float, str, bool, datetime or ``None``; an error is a string such as ``'#NAME?'``),
        a range a list of rows, a name with several areas a list of those values, and a
        constant name its constant.

    Raises:
        InputError: unknown name or sheet, a bad reference, or a name that is a formula;
            and what :func:`recalculate` raises.
    """
    import openpyxl

    src = _check_workbook(path)
    original = openpyxl.load_workbook(src, read_only=False, keep_links=False)
    try:
        names = _defined_names(original)
        sheetnames = original.sheetnames
        wanted = list(names) if cells_or_names is None else list(cells_or_names)
        if isinstance(cells_or_names, str):
            wanted = [cells_or_names]

        # item -> ("const", value) | ("areas", [(sheet, coord), ...], single)
        plan: dict[str, tuple] = {}
        for item in wanted:
            if not isinstance(item, str) or not item.strip():
                raise InputError("cells_or_names", item, "a defined name or a cell reference",
                                 str(src))
            plan[item] = _resolve(item.strip(), names, sheetnames, str(src),
                                  skip_formulas=cells_or_names is None)
    finally:
        if hasattr(original, "close"):
            original.close()
    plan = {k: v for k, v in plan.items() if v is not None}

    if recalculated is None and any(v[0] == "areas" for v in plan.values()):
        with tempfile.TemporaryDirectory(prefix="xlp-values-") as tmp:
            lo_output = recalculate(src, tmp, timeout=timeout)
            return _read_plan(plan, lo_output, str(src))
    return _read_plan(plan, Path(recalculated) if recalculated else None, str(src))


def _resolve(item: str, names: dict[str, Any], sheetnames: list[str], source: str,
             skip_formulas: bool) -> tuple | None:
    sheet, rest = split_ref(item)
    key = None
    if item in names:
        key = item
    elif sheet is not None and f"{sheet}!{rest}" in names:
        key = f"{sheet}!{rest}"
    elif sheet is None and not _CELL_RE.match(item):
        scoped = [k for k in names if k.endswith("!" + item)]
        if len(scoped) == 1:
            key = scoped[0]
    if key is not None:
        dn = names[key]
        text = dn.attr_text or ""
        is_const, value = _constant(text)
        if is_const:
            return ("const", value)
        areas = []
        if _REFS_RE.match(text):  # only references: no operators or functions
            try:
                areas = [(s, c) for s, c in dn.destinations]
            except Exception:  # openpyxl cannot parse it as references
                areas = []
        if not areas or any(s not in sheetnames for s, _ in areas) \
                or not all(_CELL_RE.match(c) for _, c in areas):
            if skip_formulas:
                return None
            raise InputError(item, text, "a defined name that refers to cells or is a "
                             "constant (a name defined by a formula cannot be read back)",
                             source)
        return ("areas", areas, len(areas) == 1)
    if not _CELL_RE.match(rest):
        raise InputError(item, item, "a defined name of the workbook (" +
                         (", ".join(sorted(names)) or "it has none") +
                         ") or a cell reference such as 'Sheet1'!B3", source)
    if sheet is None:
        if len(sheetnames) != 1:
            raise InputError(item, item, "a cell reference with its sheet, e.g. "
                             f"'{sheetnames[0]}'!{rest}", source)
        sheet = sheetnames[0]
    if sheet not in sheetnames:
        raise InputError(item, sheet, "a sheet of the workbook: " + ", ".join(sheetnames),
                         source)
    return ("areas", [(sheet, rest)], True)


def _read_plan(plan: dict[str, tuple], lo_output: Path | None, source: str) -> dict[str, Any]:
    import openpyxl

    wb = None
    if lo_output is not None and any(v[0] == "areas" for v in plan.values()):
        wb = openpyxl.load_workbook(lo_output, data_only=True)
    try:
        values: dict[str, Any] = {}
        for item, entry in plan.items():
            if entry[0] == "const":
                values[item] = entry[1]
                continue
            _, areas, single = entry
            read = []
            for sheet, coord in areas:
                if sheet not in wb.sheetnames:
                    raise LibreOfficeError(
                        f"{source}: LibreOffice's output has no sheet {sheet!r} "
                        f"(it has {', '.join(wb.sheetnames)})")
                read.append(_read_area(wb[sheet], coord))
            values[item] = read[0] if single else read
        return values
    finally:
        if wb is not None and hasattr(wb, "close"):
            wb.close()


def read_defined_names(path: str | os.PathLike, *, timeout: float = 120,
                       recalculated: str | os.PathLike | None = None) -> dict[str, Any]:
    """Every defined name of a workbook with the value LibreOffice computes for it.

    Shorthand for ``computed_values(path, None, ...)``: workbook-scoped names as ``Name``,
    sheet-scoped ones as ``Sheet!Name``; names defined by a formula are left out.
    """
    return computed_values(path, None, timeout=timeout, recalculated=recalculated)


# --------------------------------------------------------------------------------------
# PDF


def _one_sheet_copy(src: Path, sheet: str, dst: Path) -> None:
    """Save a copy of ``src`` in which only ``sheet`` is visible, selected and active.

    The other sheets are hidden, not removed, so formulas that refer to them still work;
    LibreOffice's PDF export leaves hidden sheets out.
    """
    import openpyxl

    wb = openpyxl.load_workbook(src)
    try:
        if sheet not in wb.sheetnames:
            raise InputError("sheet", sheet, "a sheet of the workbook: " +
                             ", ".join(wb.sheetnames), str(src))
        target = wb[sheet]
        target.sheet_state = "visible"
        wb.active = wb.sheetnames.index(sheet)
        for ws in [*wb.worksheets, *wb.chartsheets]:
            if ws is not target:
                ws.sheet_state = "hidden"
            views = getattr(ws, "views", None) or getattr(ws, "sheetViews", None)
            for view in getattr(views, "sheetView", None) or []:
                view.tabSelected = ws is target
        for bv in wb.views:
            bv.activeTab = wb.sheetnames.index(sheet)
            bv.firstSheet = 0
        wb.save(dst)
    finally:
        if hasattr(wb, "close"):
            wb.close()


def _bounded_sheet_copy(src: Path, sheet: str, dst: Path, deadline: Deadline) -> None:
    """:func:`_one_sheet_copy` in a child process, killed when ``deadline`` passes.

    openpyxl cannot be interrupted, and loading a large workbook takes it a while: run in
    its own process group, the step is bounded like LibreOffice itself.
    """
    what = f"preparing sheet {sheet!r} of {src} for PDF"
    command = [sys.executable, "-m", "xl_pricing.libreoffice", "one-sheet", str(src), sheet,
               str(dst)]
    kwargs: dict[str, Any] = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
                              if sys.platform == "win32" else {"start_new_session": True})
    # The child runs this very package, wherever it was imported from.
    here = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, **kwargs)
    pgid = proc.pid if sys.platform != "win32" else None
    try:
        out, err = proc.communicate(timeout=deadline.remaining(what))
    except subprocess.TimeoutExpired:
        kill_group(proc, pgid)
        raise LibreOfficeTimeout(f"{what}: not finished within {deadline.seconds:g} s; the "
                                 "process was killed (raise the timeout if the workbook is "
                                 "large)", command, deadline.seconds, pgid) from None
    except BaseException:
        kill_group(proc, pgid)
        raise
    if proc.returncode == _INPUT_ERROR_EXIT:
        try:
            e = json.loads(out.decode("utf-8"))
            error = InputError(e["field"], e["value"], e["expected"], e["source"])
        except (ValueError, KeyError, TypeError):
            error = None
        if error is not None:
            raise error
    if proc.returncode != 0 or not dst.is_file():
        raise LibreOfficeError(f"{what}: the copy could not be made", command,
                               proc.returncode, _tail(err))


_INPUT_ERROR_EXIT = 3


def _place(result: Path, out: Path, force: bool, field: str = "out_pdf") -> None:
    """Put LibreOffice's ``result`` at ``out``: atomically, race-free, with the user's umask
    (:func:`xl_pricing.files.write_file`); an existing ``out`` only with ``force``."""
    write_file(out, result.read_bytes(), replace=force, field=field)


def export_pdf(path: str | os.PathLike, out_pdf: str | os.PathLike, sheet: str | None = None,
               timeout: float = 120, *, force: bool = False, deadline: Deadline | None = None,
               field: str = "path", out_field: str = "out_pdf",
               sheet_field: str = "sheet") -> Path:
    """Print a workbook, or one sheet of it, to PDF with headless LibreOffice.

    Formulas are recalculated on load first (as in :func:`recalculate`), so the PDF shows
    current values even when the file carries stale cached ones.  Page setup (paper size,
    orientation, fit-to-page, print area, number formats such as ``"¥"#,##0``) comes from
    the workbook.

    Without ``sheet`` LibreOffice prints every visible sheet, one after another (hidden
    sheets are not printed).  With ``sheet`` a temporary copy is made with openpyxl in which
    every other sheet is *hidden* (not removed, so formulas referring to them keep working)
    and that sheet is the active one; only its pages are printed.  That copy goes through
    openpyxl, so anything openpyxl does not keep (e.g. some drawings) is missing from a
    one-sheet PDF; the original workbook is never modified.

    Bounded end to end: the workbook is checked against the size limits of
    :mod:`xl_pricing.xlsx` before anything opens it, and one deadline covers the copy step
    (run in a child process) and LibreOffice.

    Args:
        path: the workbook (.xlsx or .xlsm).
        out_pdf: the PDF to write; its folder must exist.  Written through
            :func:`xl_pricing.files.write_file`: a temporary file in that folder renamed
            into place, so never half-written, with the permissions the umask gives.
            Never one of the inputs (another spelling or a link of ``path`` included).
        sheet: the name of the one sheet to print, or ``None`` for all visible sheets.
        timeout: seconds the whole export may take; then what runs is killed.
        force: overwrite ``out_pdf`` if it exists (otherwise that is an error).
        deadline: a :class:`Deadline` the caller started earlier (instead of ``timeout``).
        field, out_field, sheet_field: how the caller names the workbook, the PDF and the
            sheet in messages (the CLI: ``WORKBOOK``, ``--out``, ``--sheet``).

    Returns:
        ``out_pdf`` as a Path.

    Raises:
        InputError: bad ``path``, unknown ``sheet``, ``out_pdf`` exists (without ``force``),
            is the input, or its folder does not exist.
        LibreOfficeNotFound, LibreOfficeTimeout, LibreOfficeError: as for
            :func:`recalculate`.
    """
    limit = _deadline(timeout, deadline)
    src = _check_workbook(path, field, limit)
    out = Path(out_pdf)
    refuse_inputs([out], [src], out_field)
    if not out.parent.is_dir():
        raise InputError(out_field, str(out_pdf), "a path in an existing folder")
    if out.exists() and not out.is_file():
        raise InputError(out_field, str(out_pdf), "a file path, not a folder")
    if out.exists() and not force:
        hint = "--force" if out_field.startswith("--") else "pass force=True"
        raise InputError(out_field, str(out_pdf),
                         f"a file that does not exist yet ({hint} to overwrite)")
    names = sheet_names(src, field)
    if sheet is not None:
        if sheet not in names:
            raise InputError(sheet_field, sheet, "a sheet of the workbook: " +
                             (", ".join(names) or "it has none"), str(src))
    what = f"exporting {src} to PDF"
    with tempfile.TemporaryDirectory(prefix="xlp-pdf-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        copy = work / "in" / "book.xlsx"
        if sheet is None:
            copy = copy.with_suffix(src.suffix.lower())
            shutil.copyfile(src, copy)
        else:
            _bounded_sheet_copy(src, sheet, copy, limit)
        result = _convert(copy, "pdf:calc_pdf_Export", work / "out", work, limit, what)
        with open(result, "rb") as fh:
            if fh.read(5) != b"%PDF-":
                raise LibreOfficeError(f"{what}: LibreOffice's output is not a PDF")
        _place(result, out, force, out_field)
    return out


def _main(argv: list[str]) -> int:
    """``python -m xl_pricing.libreoffice one-sheet SRC SHEET DST``: the copy step of
    :func:`export_pdf`, run as a child so that its deadline can stop it."""
    if len(argv) != 4 or argv[0] != "one-sheet":
        print("usage: python -m xl_pricing.libreoffice one-sheet SRC SHEET DST",
              file=sys.stderr)
        return 64
    try:
        _one_sheet_copy(Path(argv[1]), argv[2], Path(argv[3]))
    except InputError as exc:
        value = exc.value if isinstance(exc.value, (str, int, float)) else str(exc.value)
        sys.stdout.write(json.dumps({"field": exc.field, "value": value,
                                     "expected": exc.expected, "source": exc.source}))
        return _INPUT_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
