"""Which cells a workbook's defined names refer to, read from the file itself (stdlib
only, so ``lo_warm.py`` can import it under the system python that has UNO)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_AREA = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d+)"
                   r"(?::\$?([A-Z]{1,3})\$?(\d+))?$")


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def file_name_areas(path: str) -> dict:
    """``{name: (sheet index, col0, row0, col1, row1)}`` (0-based) of every workbook-scoped
    defined name that refers to one area of one sheet, from the file's ``workbook.xml``.

    What ``lo_warm.name_areas`` asks LibreOffice for, without its four UNO calls per name
    (0.4-0.8 s a workbook on a loaded machine): which cells a name refers to is a property
    of the file, not of the engine.  Names of constants or formulas are left out, as
    there."""
    with zipfile.ZipFile(path) as z:
        rels = ET.fromstring(z.read("_rels/.rels"))
        target = next(r.get("Target") for r in rels.iter(f"{{{_PKG}}}Relationship")
                      if r.get("Type", "").endswith("/officeDocument"))
        book = ET.fromstring(z.read(target.lstrip("/")))
    sheets = {el.get("name"): i for i, el in enumerate(book.iter(f"{{{_MAIN}}}sheet"))}
    out = {}
    for el in book.iter(f"{{{_MAIN}}}definedName"):
        if el.get("localSheetId") is not None:
            continue
        m = _AREA.match((el.text or "").strip())
        if not m:
            continue
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
        if sheet not in sheets:
            continue
        c0, r0 = _column(m.group(3)), int(m.group(4)) - 1
        c1, r1 = ((_column(m.group(5)), int(m.group(6)) - 1) if m.group(5) else (c0, r0))
        out[el.get("name")] = (sheets[sheet], c0, r0, c1, r1)
    return out
