"""Checking a workbook file before any engine opens it: is it one, and is it of a size the
product will work on?

Opening a hostile or broken file with openpyxl, formulas, formulon or LibreOffice can take
minutes or gigabytes (a 4.7 KB file whose last cell is XFD1048576; a zip that unpacks to
gigabytes) or end in a traceback (a truncated sheet XML).  :func:`check_workbook` reads only
the zip directory and streams each sheet's XML once, so it costs milliseconds on real
workbooks and bounded time on hostile ones, and every refusal is one
:class:`~xl_pricing.errors.InputError` naming the file, what was found and what the limit is.

Limits (documented in the README, "Limits"):

=================================  ===========
``MAX_CELLS``                       200,000 cells holding a value or formula, all sheets
``MAX_AREA``                        10,000,000 cells in a sheet's used range (rows × columns)
``MAX_UNPACKED``                    200 MiB unpacked archive
``MAX_SHEETS``                      255 sheets
=================================  ===========

A university's application form or budget uses a few thousand cells; the standard quote
workbook about 2,000.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.etree.ElementTree import ParseError, iterparse

from .errors import InputError

SUFFIXES = (".xlsx", ".xlsm")
MAX_CELLS = 200_000
MAX_AREA = 10_000_000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_SHEETS = 255

_REF = re.compile(r"([A-Z]{1,3})(\d+)")


@dataclass(frozen=True)
class WorkbookSize:
    """What :func:`check_workbook` counted: cells with content, the largest used range."""

    sheets: int
    cells: int
    largest_area: int


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _sheet_parts(archive: zipfile.ZipFile) -> list[str]:
    return sorted(n for n in archive.namelist()
                  if n.startswith("xl/worksheets/") and n.endswith(".xml"))


def check_workbook(path: str | os.PathLike[str], field: str = "workbook",
                   tick: Callable[[], object] | None = None) -> WorkbookSize:
    """Refuse what is not a readable .xlsx/.xlsm workbook within the limits above.

    Args:
        path: the workbook file.
        field: how the caller names it in messages (``WORKBOOK``, ``--project``).
        tick: called every few thousand XML elements, so that a caller with a time limit
            (``pdf --timeout``) can stop the check by raising; ``None``: no limit.

    Returns:
        The counts, for a caller that wants to report them.

    Raises:
        InputError: no such file, not a regular file, another suffix, not a zip archive, no
            workbook inside, a damaged (truncated) sheet, or a limit exceeded — the message
            names the file and says what was found and what is accepted.
    """
    p = Path(path)

    def fail(found: str, expected: str) -> InputError:
        return InputError(field, str(p), f"{expected} ({found})")

    if not p.exists():
        raise fail("no such file", "an existing .xlsx workbook")
    if not p.is_file():
        raise fail("not a regular file", "an .xlsx workbook file")
    if p.suffix.lower() not in SUFFIXES:
        raise fail(f"the suffix is {p.suffix or 'missing'}", "an .xlsx or .xlsm workbook")
    try:
        archive = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise fail(f"not a zip archive: {exc}", "an .xlsx workbook") from None
    with archive:
        infos = archive.infolist()
        if "xl/workbook.xml" not in {i.filename for i in infos}:
            raise fail("no xl/workbook.xml inside", "an .xlsx workbook")
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_UNPACKED:
            raise fail(f"{unpacked:,} bytes unpacked",
                       f"a workbook of at most {MAX_UNPACKED:,} bytes unpacked")
        sheets = _sheet_parts(archive)
        if len(sheets) > MAX_SHEETS:
            raise fail(f"{len(sheets)} sheets", f"at most {MAX_SHEETS} sheets")
        cells = 0
        largest = 0
        for part in sheets:
            rows = cols = 0
            try:
                with archive.open(part) as fh:
                    for n, (_, elem) in enumerate(iterparse(fh, events=("end",))):
                        if tick is not None and n % 4096 == 0:
                            tick()
                        if not elem.tag.endswith("}c"):
                            if elem.tag.endswith("}row"):
                                elem.clear()
                            continue
                        if len(elem):  # a value or a formula, not just a style
                            cells += 1
                        # A styled empty cell far out still makes openpyxl and LibreOffice
                        # walk the whole range: it counts for the used range.
                        m = _REF.fullmatch(elem.get("r", ""))
                        if m:
                            cols = max(cols, _column(m.group(1)))
                            rows = max(rows, int(m.group(2)))
                        elem.clear()
                        if cells > MAX_CELLS:
                            raise fail(f"more than {MAX_CELLS:,} cells with content",
                                       f"a workbook of at most {MAX_CELLS:,} filled cells")
            except ParseError as exc:
                raise fail(f"{part} is damaged: {exc}", "an undamaged .xlsx workbook") from None
            except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as exc:
                raise fail(f"{part} cannot be read: {exc}",
                           "an undamaged .xlsx workbook") from None
            area = rows * cols
            if area > MAX_AREA:
                raise fail(f"{part} is used up to row {rows:,}, column {cols:,}",
                           f"sheets whose used range is at most {MAX_AREA:,} cells")
            largest = max(largest, area)
    return WorkbookSize(len(sheets), cells, largest)
