"""Writing workbooks reproducibly and safely.

* Deterministic: building twice gives byte-identical files.  openpyxl saves into a
  ``BytesIO`` (its public ``Workbook.save``); the zip is then rewritten with the standard
  library, every entry dated ``ZIP_DATE`` and the document properties (``docProps/core.xml``,
  which ``save`` stamps with the clock) written again with the fixed ``FIXED`` time.
* Atomic, race-free, umask-honouring: files go through :func:`xl_pricing.files.write_file`.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from ..files import write_file

FIXED = datetime(2000, 1, 1, 0, 0, 0)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def _fixed_properties(wb: Workbook) -> bytes:
    """``docProps/core.xml`` as openpyxl writes it, with the fixed creation/modification time."""
    wb.properties.creator = "xl-pricing"
    wb.properties.lastModifiedBy = "xl-pricing"
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    return tostring(wb.properties.to_tree())


def fixed_dates(data: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    """The zip ``data`` rewritten with every entry dated ``ZIP_DATE`` (same order, deflated);
    entries named in ``replace`` get the bytes given there.

    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("a.txt", "1")
    >>> zipfile.ZipFile(io.BytesIO(fixed_dates(buf.getvalue()))).getinfo("a.txt").date_time
    (1980, 1, 1, 0, 0, 0)
    """
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, replace.get(entry.filename, src.read(entry)))
    return out.getvalue()


def workbook_bytes(wb: Workbook) -> bytes:
    """The .xlsx bytes of ``wb`` with fixed timestamps (same workbook → same bytes)."""
    core = _fixed_properties(wb)
    buf = io.BytesIO()
    wb.save(buf)  # stamps wb.properties.modified with the clock: core.xml is replaced below
    wb.properties.modified = FIXED
    return fixed_dates(buf.getvalue(), {ARC_CORE: core})


def write_atomic(path: Path, data: bytes, force: bool = False, field: str = "output") -> Path:
    """Write ``data`` to ``path`` through :func:`xl_pricing.files.write_file` (kept for the
    callers of the former helper; ``force`` replaces an existing file, keeping its mode).

    Raises:
        OutputExists: ``path`` exists and ``force`` is false.
    """
    return write_file(path, data, replace=force, field=field)
