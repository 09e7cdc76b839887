"""Writing workbooks: same workbook → same bytes; fixed dates; files with the user's
permissions, written atomically through xl_pricing.files."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import openpyxl
import pytest

from conftest import example
from xl_pricing.files import OutputExists
from xl_pricing.workbook import build, build_workbook, save, workbook_bytes


def test_entries_and_properties_carry_fixed_dates(jp):
    data = workbook_bytes(build_workbook(jp, example("x-cost-joint"), "native"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {save.ZIP_DATE}
        assert "[Content_Types].xml" in z.namelist()
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core and "xl-pricing" in core
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.properties.modified.year == 2000 and wb.properties.created.year == 2000


def test_same_workbook_same_bytes_at_another_time(jp):
    p = example("a-stacked-sponsored")
    first = workbook_bytes(build_workbook(jp, p, "udf"))
    assert workbook_bytes(build_workbook(jp, p, "udf")) == first


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_workbook_gets_the_umask_mode(jp, tmp_path, umask022):
    path = build(jp, None, "native", tmp_path)
    assert _mode(path) == 0o644                               # not 0600
    os.umask(0o027)
    other = build(jp, example("x-cost-joint"), "native", tmp_path)
    assert _mode(other) == 0o640


def test_replacing_keeps_the_files_mode(jp, tmp_path, umask022):
    path = build(jp, None, "udf", tmp_path)
    os.chmod(path, 0o664)                                     # a shared drive's group mode
    build(jp, None, "udf", tmp_path, force=True)
    assert _mode(path) == 0o664
    os.chmod(path, 0o644)
    build(jp, None, "udf", tmp_path, force=True)
    assert _mode(path) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]   # no temporary left


def test_an_existing_file_is_not_replaced_without_force(jp, tmp_path):
    path = build(jp, None, "udf", tmp_path)
    path.write_bytes(b"someone's edits")
    with pytest.raises(OutputExists) as err:
        build(jp, None, "udf", tmp_path)
    assert err.value.field == "output" and str(path) in str(err.value)
    assert path.read_bytes() == b"someone's edits"
