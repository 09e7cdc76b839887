"""xlsx: workbook files are checked before any engine opens them (issue 12, item 9)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import truncated
from xl_pricing.errors import InputError
from xl_pricing.xlsx import MAX_AREA, check_workbook

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "workbooks" / "jp-default-native.xlsx"


def test_standard_workbook_passes_and_is_counted():
    size = check_workbook(STANDARD)
    assert size.sheets >= 10 and 500 < size.cells < 5000


def test_far_last_cell_is_refused_quickly(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.active["XFD1048576"] = 2
    wb.save(tmp_path / "far.xlsx")
    with pytest.raises(InputError, match=r"used up to row 1,048,576, column 16,384"):
        check_workbook(tmp_path / "far.xlsx")
    assert 1_048_576 * 16_384 > MAX_AREA


def test_styled_empty_cell_far_out_counts_for_the_used_range(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["XFD1048576"].number_format = "0.00"
    wb.save(tmp_path / "styled.xlsx")
    with pytest.raises(InputError, match="used range"):
        check_workbook(tmp_path / "styled.xlsx")


def test_truncated_sheet_xml_is_named(tmp_path):
    bad = truncated(STANDARD, tmp_path / "trunc.xlsx")
    with pytest.raises(InputError, match=r"sheet1.xml is damaged"):
        check_workbook(bad)


@pytest.mark.parametrize("name, content, found", [
    ("notes.txt", b"hello", "suffix is .txt"),
    ("fake.xlsx", b"PK not really", "not a zip archive"),
    ("empty.xlsx", b"", "not a zip archive"),
])
def test_files_that_are_not_workbooks(tmp_path, name, content, found):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(InputError, match=found):
        check_workbook(f)


def test_zip_without_workbook_and_missing_file_and_folder(tmp_path):
    z = tmp_path / "other.xlsx"
    with zipfile.ZipFile(z, "w") as out:
        out.writestr("word/document.xml", "<x/>")
    with pytest.raises(InputError, match="no xl/workbook.xml"):
        check_workbook(z)
    with pytest.raises(InputError, match="no such file"):
        check_workbook(tmp_path / "missing.xlsx")
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        check_workbook(tmp_path / "dir.xlsx")


def test_a_caller_can_stop_a_long_check_through_tick(tmp_path):
    """``tick`` is called while the sheets stream (pdf --timeout uses it to keep its one
    deadline); what it raises ends the check."""
    wb = openpyxl.Workbook()
    for r in range(1, 3001):
        wb.active.cell(r, 1, r)
    wb.save(tmp_path / "w.xlsx")
    calls: list[int] = []
    check_workbook(tmp_path / "w.xlsx", tick=lambda: calls.append(1))
    assert len(calls) >= 2

    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        check_workbook(tmp_path / "w.xlsx", tick=stop)


def test_too_many_filled_cells_are_refused_before_any_engine(tmp_path):
    """A workbook of plain numbers above MAX_CELLS (issue 12: a 6.7 MB one took 60 s and
    4.1 GB to recalculate) is refused while its XML is streamed, in well under a second."""
    import time

    from xl_pricing.xlsx import MAX_CELLS

    rows = (MAX_CELLS // 10) + 1
    xml = ['<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           "<sheetData>"]
    for r in range(1, rows + 1):
        xml.append(f'<row r="{r}">' + "".join(
            f'<c r="{chr(65 + c)}{r}"><v>{r * c}</v></c>' for c in range(10)) + "</row>")
    xml.append("</sheetData></worksheet>")
    big = tmp_path / "numbers.xlsx"
    with zipfile.ZipFile(STANDARD) as zin, zipfile.ZipFile(big, "w",
                                                           zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = "".join(xml).encode() if info.filename == "xl/worksheets/sheet1.xml" \
                else zin.read(info)
            zout.writestr(info.filename, data)
    started = time.monotonic()
    with pytest.raises(InputError, match=f"more than {MAX_CELLS:,} cells with content"):
        check_workbook(big)
    assert time.monotonic() - started < 5
