"""Writing workbooks safely and reproducibly.

* Deterministic: building twice gives byte-identical files — fixed document timestamps
  (openpyxl stamps the current time on save) and fixed zip entry dates.
* Atomic: a file is written beside its destination and moved into place, so a reader never
  sees half a workbook.
* No silent overwrite: an existing file is replaced only when asked (``force``).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.xml.functions import xmlfile
from openpyxl.writer.excel import ExcelWriter

from ..errors import InputError
from . import reuse

FIXED = datetime(2000, 1, 1, 0, 0, 0)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class _FixedDateZip(zipfile.ZipFile):
    """A zip whose entries all carry one fixed date (openpyxl would stamp the clock)."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        name = getattr(zinfo_or_arcname, "filename", zinfo_or_arcname)
        info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        super().writestr(info, data)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl writes each worksheet from a temporary file: take its bytes, not its date.
        with open(filename, "rb") as f:
            self.writestr(arcname or os.path.basename(filename), f.read())


class _Buffer(io.BytesIO):
    """A buffer the XML writer only writes to.

    A text stream over a readable buffer also gets a decoder, which Python resets on every
    write (≈0.5 µs each, thousands of writes a workbook); this buffer says it cannot be read.
    """

    def readable(self) -> bool:
        return False


class _RowMemoWriter(WorksheetWriter):
    """openpyxl's worksheet writer, taking the XML of rows written before from a memo.

    A batch writes the same rows again and again: labels, formulas, empty input cells.  A
    row whose cells are the same as a row written before (``reuse.row_key``) is taken from
    the memo, with its styles' indices for this workbook; other rows are written by
    openpyxl's own ``write_row`` (one at a time, into the memo).
    """

    _EMPTY = b"<sheetData></sheetData>"

    def __init__(self, ws, out, memo: reuse.SheetReuse):
        self._memo = memo
        self._rows_xml = b""
        super().__init__(ws, out)

    def write_rows(self):
        xf = self.xf.send(True)
        with xf.element("sheetData"):
            pass
        self.xf.send(None)
        styles = self.ws.parent._cell_styles
        ids: dict[int, bytes] = {}  # style indices in this workbook (they never change)
        out = []
        for row_idx, cells in self.rows():
            key = reuse.row_key(row_idx, cells, self.ws)
            known = None if key is None else self._memo.row(key)
            if known is not None:
                out.append(known.render(styles, ids))
                continue
            xml = self._one_row(row_idx, cells)
            if key is not None:
                self._memo.keep_row(key, xml, styles)
            out.append(xml)
        self._rows_xml = b"".join(out)

    def _one_row(self, row_idx, cells) -> bytes:
        """A row as openpyxl writes it inside ``<sheetData>``."""
        buf = _Buffer()
        with xmlfile(buf) as xf:
            with xf.element("sheetData"):
                self.write_row(xf, cells, row_idx)
        xml = buf.getvalue()
        if not (xml.startswith(b"<sheetData>") and xml.endswith(b"</sheetData>")):
            raise RuntimeError(f"unexpected row XML from openpyxl: {xml[:60]!r}")
        return xml[len(b"<sheetData>"):-len(b"</sheetData>")]

    def read(self):
        xml = super().read()
        if xml.count(self._EMPTY) != 1:  # (text in the XML is escaped: no "<" in it)
            raise RuntimeError("unexpected worksheet XML from openpyxl")
        return xml.replace(self._EMPTY, b"<sheetData>" + self._rows_xml + b"</sheetData>")


class _InMemoryWriter(ExcelWriter):
    """openpyxl's writer, serialising each worksheet in memory.

    openpyxl writes every worksheet to a temporary file, reads it back into the zip and
    deletes it: three file-system round trips per sheet, ≈0.6 ms each for the twelve sheets
    of a standard workbook (≈7 ms of ≈100 ms in a batch).  The XML is the same; only where
    it waits before going into the zip changes.  Write-only workbooks (the batch summary)
    keep openpyxl's own path: their sheets are already streamed to a file.
    """

    def write_worksheet(self, ws):  # noqa: D102 - openpyxl's, without the temporary file
        if self.workbook.write_only:
            return super().write_worksheet(ws)
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        styles = self.workbook._cell_styles
        template = reuse.placed(ws)
        if template is not None:  # a sheet built for an earlier workbook (see reuse.py)
            xml = template.render(styles)
        else:
            before = list(styles) if reuse.waiting(ws) else None
            memo = reuse.memo_for(self.workbook)
            writer = (WorksheetWriter(ws, out=_Buffer()) if memo is None else
                      _RowMemoWriter(ws, _Buffer(), memo))
            writer.write()
            ws._rels = writer._rels
            xml = writer.read()
            if before is not None:
                reuse.written(ws, xml, writer._rels, before, styles)
        self._archive.writestr(ws.path[1:], xml)
        self.manifest.append(ws)


def workbook_bytes(wb: Workbook) -> bytes:
    """The .xlsx bytes of ``wb`` with fixed timestamps (same workbook → same bytes).

    Written in one pass through openpyxl's ``ExcelWriter`` into a zip with fixed entry
    dates; unlike ``Workbook.save`` it leaves the document's dates as set here.
    """
    wb.properties.creator = "xl-pricing"
    wb.properties.lastModifiedBy = "xl-pricing"
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    out = io.BytesIO()
    archive = _FixedDateZip(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    _InMemoryWriter(wb, archive).save()  # closes the archive
    return out.getvalue()


def write_atomic(path: Path, data: bytes, force: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    Raises:
        InputError: ``path`` exists and ``force`` is false.
    """
    path = Path(path)
    if path.exists() and not force:
        raise InputError("--out", str(path), "a file that does not exist yet (or --force to "
                         "replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
