"""Writing workbooks: the in-memory writer gives openpyxl's own bytes, without leftovers."""

from __future__ import annotations

import io
import zipfile

from openpyxl.worksheet import _writer as openpyxl_writer
from openpyxl.writer.excel import ExcelWriter

from conftest import example
from xl_pricing.workbook import build_workbook, save, workbook_bytes


def openpyxl_bytes(wb) -> bytes:
    """``workbook_bytes`` as it was: openpyxl's writer, a temporary file per sheet."""
    wb.properties.creator = wb.properties.lastModifiedBy = "xl-pricing"
    wb.properties.created = wb.properties.modified = save.FIXED
    out = io.BytesIO()
    ExcelWriter(wb, save._FixedDateZip(out, "w", zipfile.ZIP_DEFLATED,
                                       allowZip64=True)).save()
    return out.getvalue()


def test_in_memory_writer_gives_openpyxl_bytes(jp):
    for name, target in (("a-stacked-sponsored", "udf"), ("c-outcome-royalty", "native")):
        p = example(name)
        assert workbook_bytes(build_workbook(jp, p, target)) == \
            openpyxl_bytes(build_workbook(jp, p, target))


def test_no_temporary_files(jp):
    left = list(openpyxl_writer.ALL_TEMP_FILES)
    workbook_bytes(build_workbook(jp, example("x-cost-joint"), "native"))
    assert openpyxl_writer.ALL_TEMP_FILES == left
