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
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from ..errors import InputError

FIXED = datetime(2000, 1, 1, 0, 0, 0)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def workbook_bytes(wb: Workbook) -> bytes:
    """The .xlsx bytes of ``wb`` with fixed timestamps (same workbook → same bytes)."""
    wb.properties.creator = "xl-pricing"
    wb.properties.lastModifiedBy = "xl-pricing"
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _STAMP.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            info = zipfile.ZipInfo(item.filename, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
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
