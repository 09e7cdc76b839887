"""xl_pricing.libreoffice against real headless LibreOffice.

Workbooks are built with openpyxl in tmp_path.  The tests that need LibreOffice are skipped
when no ``soffice`` can be found (``bash .ci/setup-libreoffice`` installs it, as root).
Each LibreOffice call is a cold start of about 1 s, so the recalculated workbook is shared
by the tests of the module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from xl_pricing import libreoffice as lo
from xl_pricing.errors import InputError

SOFFICE = lo.find_soffice()
needs_lo = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed and was not found in the usual places; "
           "`bash .ci/setup-libreoffice` (as root) installs it",
)
YEN = '"¥"#,##0'


# --------------------------------------------------------------------------------------
# Workbooks


def _name(wb_or_ws, name: str, ref: str) -> None:
    wb_or_ws.defined_names[name] = DefinedName(name, attr_text=ref)


def pricing_workbook(path: Path) -> Path:
    """Native formulas over defined names: INDEX/MATCH, ROUNDDOWN, ROUND, SUMIFS, SUMPRODUCT."""
    wb = openpyxl.Workbook()
    q = wb.active
    q.title = "見積"
    rates = wb.create_sheet("Rates")
    rates.append(["rank", "hourly"])
    for rank, hourly in [("教授", 15000), ("准教授", 12345), ("講師", 9500), ("助教", 8000)]:
        rates.append([rank, hourly])
    _name(wb, "RankList", "Rates!$A$2:$A$5")
    _name(wb, "RateList", "Rates!$B$2:$B$5")
    _name(wb, "IndirectRate", "0.3")                      # a constant name
    _name(wb, "DoubleHours", "'見積'!$B$3*2")             # a name defined by a formula

    q["A2"], q["B2"] = "職位", "准教授"
    q["A3"], q["B3"] = "時間", 123.5
    q["A4"], q["B4"] = "単価", "=INDEX(RateList,MATCH(B2,RankList,0))"
    q["A5"], q["B5"] = "タイムチャージ", "=ROUNDDOWN(B4*B3,0)"
    q["A6"], q["B6"] = "四捨五入", "=ROUND(B4*B3,0)"
    q["A7"], q["B7"] = "千円単位", "=ROUND(1234567.5*IndirectRate,-3)"
    q["A8"], q["B8"] = "half", "=ROUND(2.5,0)"
    q["A9"], q["B9"] = "neg", "=ROUNDDOWN(-2.7,0)"
    rows = [("消耗品", 100000, 2027, 1), ("旅費", 250000, 2027, 0.5), ("消耗品", 33333, 2028, 2),
            ("謝金", 70000, 2027, 1), ("消耗品", 5000, 2027, 0)]
    for i, row in enumerate(rows, start=2):
        for col, value in zip("DEFG", row):
            q[f"{col}{i}"] = value
    q["B10"] = '=SUMIFS(E2:E6,D2:D6,"消耗品",F2:F6,2027)'
    q["B11"] = "=SUMPRODUCT(E2:E6,G2:G6)"
    q["B12"] = "=SUMPRODUCT((F2:F6=2027)*E2:E6)"
    q["B13"] = "=ROUNDDOWN(SUM(E2:E6)*IndirectRate,0)"
    q["B14"] = "=B5+SUM(E2:E6)+B13"
    q["B15"] = "=INDEX(RankList,MATCH(MAX(RateList),RateList,0))"
    q["B16"] = "=XLP_NOT_A_FUNCTION(1)"
    for name, cell in [("Rate", "B4"), ("TimeCharge", "B5"), ("TimeChargeRounded", "B6"),
                       ("Thousands", "B7"), ("Half", "B8"), ("Negative", "B9"),
                       ("Consumables2027", "B10"), ("Weighted", "B11"), ("FY2027", "B12"),
                       ("Indirect", "B13"), ("Total", "B14"), ("TopRank", "B15"),
                       ("Broken", "B16")]:
        _name(wb, name, f"'見積'!${cell[0]}${cell[1:]}")
    _name(q, "LocalHours", "'見積'!$B$3")                 # sheet-scoped
    wb.save(path)
    return path


def expected_values() -> dict:
    """The same numbers computed here, with Decimal and Excel's rounding rules."""
    rate, hours = Decimal(12345), Decimal("123.5")
    direct = [100000, 250000, 33333, 70000, 5000]
    indirect = (sum(map(Decimal, direct)) * Decimal("0.3")).quantize(1, ROUND_DOWN)
    time_charge = (rate * hours).quantize(1, ROUND_DOWN)
    return {
        "Rate": 12345,
        "TimeCharge": int(time_charge),                                        # 1,524,607
        "TimeChargeRounded": int((rate * hours).quantize(1, ROUND_HALF_UP)),   # 1,524,608
        "Thousands": int((Decimal("1234567.5") * Decimal("0.3")).quantize(
            Decimal("1E3"), ROUND_HALF_UP)),                                   # 370,000
        "Half": 3,
        "Negative": -2,
        "Consumables2027": 105000,
        "Weighted": 100000 + 125000 + 66666 + 70000,
        "FY2027": 425000,
        "Indirect": int(indirect),                                             # 137,499
        "Total": int(time_charge + sum(direct) + indirect),
        "TopRank": "教授",
        "Broken": "#NAME?",
        "IndirectRate": 0.3,
        "RankList": [["教授"], ["准教授"], ["講師"], ["助教"]],
        "RateList": [[15000], [12345], [9500], [8000]],
        "見積!LocalHours": 123.5,
    }


def with_cached_values(src: Path, dst: Path, cached: str, application: str | None = None) -> Path:
    """A copy of an openpyxl workbook whose formula cells carry the cached value ``cached``
    (openpyxl writes formulas with no cached value), optionally claiming to be saved by
    ``application`` -- a file as Excel would leave it, but with stale values."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                value = f"<v>{cached}</v>".encode()
                data = re.sub(rb"(<f>[^<]*</f>)<v\s*/>", rb"\1" + value, data)
                data = re.sub(rb"(<f>[^<]*</f>)<v></v>", rb"\1" + value, data)
                data = re.sub(rb"(<f>[^<]*</f>)(</c>)", rb"\1" + value + rb"\2", data)
            if application and item.filename == "docProps/app.xml":
                data = re.sub(rb"<Application>[^<]*</Application>",
                              f"<Application>{application}</Application>".encode(), data)
            zout.writestr(item, data)
    return dst


def quote_workbook(path: Path) -> Path:
    """Two printable A4 sheets: a Japanese quote whose amounts come from the other sheet."""
    wb = openpyxl.Workbook()
    q = wb.active
    q.title = "見積"
    rates = wb.create_sheet("Rates")
    rates["A1"], rates["B1"] = "RATESHEETMARKER", 1234567
    rates.column_dimensions["A"].width = 24
    rates.column_dimensions["B"].width = 16
    q["A1"] = "見積書"
    q["A2"], q["B2"] = "直接経費", "=Rates!B1"          # refers to the sheet that gets hidden
    q["A3"], q["B3"] = "間接経費", "=ROUNDDOWN(B2*0.3,0)"
    q["A4"], q["B4"] = "合計", "=B2+B3"
    for cell in ("B2", "B3", "B4"):
        q[cell].number_format = YEN
    rates["B1"].number_format = YEN
    q.column_dimensions["A"].width = 16
    q.column_dimensions["B"].width = 18
    for ws in (q, rates):
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
    wb.save(path)
    return path


# --------------------------------------------------------------------------------------
# Helpers


def pdf_pages(path: Path) -> list[str]:
    """The page sizes of a PDF, e.g. ['595.304 x 841.89 pts (A4)', ...]."""
    if shutil.which("pdfinfo"):
        n = int(re.search(r"^Pages:\s+(\d+)", _run(["pdfinfo", str(path)]), re.M).group(1))
        out = _run(["pdfinfo", "-f", "1", "-l", str(n), str(path)])
        return re.findall(r"^Page\s+\d+ size:\s+(.*)$", out, re.M)
    # Minimal parse: LibreOffice writes uncompressed page objects with a MediaBox.
    data = path.read_bytes()
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", data)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    a4 = [f"{float(w):g} x {float(h):g} pts" + (" (A4)" if abs(float(w) - 595.3) < 1
                                                 and abs(float(h) - 841.9) < 1 else "")
          for w, h in boxes]
    return (a4 * len(pages))[:len(pages)] if len(set(a4)) == 1 else a4


def pdf_text(path: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed; `bash .ci/setup-libreoffice` "
                    "installs it")
    return _run(["pdftotext", "-layout", str(path), "-"])


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


def live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still alive (zombies count as gone)."""
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                alive.append(int(entry))
    return alive


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Make the module's temporary folders (profiles, work dirs) land in one folder."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """The pricing workbook, recalculated once into its own folder; input bytes recorded."""
    folder = tmp_path_factory.mktemp("recalc")
    book = pricing_workbook(folder / "pricing.xlsx")
    before = book.read_bytes(), book.stat().st_mtime_ns
    started = time.monotonic()
    out = lo.recalculate(book, out_dir=folder)            # same folder as the input
    return {"book": book, "out": out, "before": before,
            "seconds": time.monotonic() - started}


# --------------------------------------------------------------------------------------
# Finding soffice, bad input (no LibreOffice run needed)


def test_ensure_soffice_says_how_to_install(monkeypatch):
    monkeypatch.setattr(lo, "find_soffice", lambda: None)
    with pytest.raises(lo.LibreOfficeNotFound) as err:
        lo.ensure_soffice()
    assert "apt-get install -y" in str(err.value)
    assert "libreoffice-calc-nogui" in str(err.value)
    assert isinstance(err.value, lo.LibreOfficeError) and isinstance(err.value, RuntimeError)


@needs_lo
def test_find_soffice_is_executable():
    assert lo.ensure_soffice() == SOFFICE
    assert os.access(SOFFICE, os.X_OK)


def test_registry_forces_recalculation_of_excel_files():
    xml = lo._registry_xml()
    assert ('<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
            '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>'
            ) in xml


def test_bad_input_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"expected an existing .xlsx workbook \(no such file\)"):
        lo.recalculate(tmp_path / "missing.xlsx")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="notes.txt"):
        lo.recalculate(tmp_path / "notes.txt")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    with pytest.raises(InputError):
        lo.export_pdf(tmp_path / "fake.xlsx", tmp_path / "x.pdf")
    book = quote_workbook(tmp_path / "q.xlsx")
    with pytest.raises(InputError, match="sheet = 'Nope'.*見積, Rates"):
        lo.export_pdf(book, tmp_path / "x.pdf", sheet="Nope")
    with pytest.raises(InputError, match="existing folder"):
        lo.export_pdf(book, tmp_path / "no" / "x.pdf")
    existing = tmp_path / "exists.pdf"
    existing.write_bytes(b"keep me")
    with pytest.raises(InputError, match="force=True"):
        lo.export_pdf(book, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(InputError, match="timeout"):
        lo.recalculate(book, timeout=0)


def test_unknown_names_and_cells_are_input_errors(tmp_path):
    book = pricing_workbook(tmp_path / "pricing.xlsx")
    # Names are resolved on the original workbook before LibreOffice is started.
    with pytest.raises(InputError, match="NoSuchName.*defined name"):
        lo.computed_values(book, ["NoSuchName"])
    with pytest.raises(InputError, match="DoubleHours.*formula"):
        lo.computed_values(book, ["DoubleHours"])
    with pytest.raises(InputError, match="with its sheet"):
        lo.computed_values(book, ["B5"])
    with pytest.raises(InputError, match="a sheet of the workbook"):
        lo.computed_values(book, ["Nope!B5"])


# --------------------------------------------------------------------------------------
# (a) native formulas, (c) input unchanged


@needs_lo
def test_native_formulas_give_exact_values_through_defined_names(recalculated):
    values = lo.read_defined_names(recalculated["book"], recalculated=recalculated["out"])
    expected = expected_values()
    assert "DoubleHours" not in values          # defined by a formula: cannot be read back
    assert values == expected
    assert expected["Total"] == 1524607 + 458333 + 137499


@needs_lo
def test_cells_and_names_can_be_mixed(recalculated):
    values = lo.computed_values(
        recalculated["book"], ["'見積'!B5", "見積!B14:B15", "Total", "LocalHours"],
        recalculated=recalculated["out"])
    assert values == {"'見積'!B5": 1524607, "見積!B14:B15": [[2120439], ["教授"]],
                      "Total": 2120439, "LocalHours": 123.5}


@needs_lo
def test_recalculate_leaves_the_input_alone(recalculated):
    book, out = recalculated["book"], recalculated["out"]
    assert book.read_bytes() == recalculated["before"][0]
    assert book.stat().st_mtime_ns == recalculated["before"][1]
    assert out != book and out.name == "pricing.recalculated.xlsx" and out.parent == book.parent
    assert sorted(p.name for p in book.parent.iterdir()) == [
        "pricing.recalculated.xlsx", "pricing.xlsx"]          # no lock or temp files left
    assert recalculated["seconds"] < 60


@needs_lo
def test_computed_values_runs_libreoffice_itself(tmp_path, private_tmp):
    book = pricing_workbook(tmp_path / "pricing.xlsx")
    before = book.read_bytes()
    assert lo.computed_values(book, ["Total", "TopRank"]) == {"Total": 2120439,
                                                              "TopRank": "教授"}
    assert book.read_bytes() == before
    assert list(private_tmp.iterdir()) == []                # profiles and outputs removed


# --------------------------------------------------------------------------------------
# (b) stale cached values


@needs_lo
def test_stale_cached_values_are_recalculated(tmp_path, private_tmp):
    fresh = pricing_workbook(tmp_path / "fresh.xlsx")
    stale = with_cached_values(fresh, tmp_path / "stale.xlsx", "999", "Microsoft Excel")
    # The stale values really are in the file: openpyxl reads them back.
    cached = openpyxl.load_workbook(stale, data_only=True)["見積"]
    assert cached["B14"].value == 999 and cached["B5"].value == 999
    values = lo.computed_values(stale, ["Total", "TimeCharge", "Weighted", "TopRank"])
    assert values == {"Total": 2120439, "TimeCharge": 1524607, "Weighted": 361666,
                      "TopRank": "教授"}
    assert list(private_tmp.iterdir()) == []


@needs_lo
def test_without_the_registry_setting_libreoffice_keeps_stale_values(tmp_path, monkeypatch):
    """The control experiment: the forced recalculation is what replaces the stale values."""
    fresh = pricing_workbook(tmp_path / "fresh.xlsx")
    stale = with_cached_values(fresh, tmp_path / "stale.xlsx", "999", "Microsoft Excel")
    monkeypatch.setattr(lo, "RECALC_SETTINGS", ())
    assert "OOXMLRecalcMode" not in lo._registry_xml()
    values = lo.computed_values(stale, ["Total", "TimeCharge"])
    assert values == {"Total": 999, "TimeCharge": 999}


# --------------------------------------------------------------------------------------
# (d) PDF


@needs_lo
def test_export_pdf_whole_workbook(tmp_path, private_tmp):
    book = quote_workbook(tmp_path / "quote.xlsx")
    before = book.read_bytes()
    out = lo.export_pdf(book, tmp_path / "quote.pdf")
    assert out == tmp_path / "quote.pdf" and out.read_bytes()[:5] == b"%PDF-"
    pages = pdf_pages(out)
    assert len(pages) == 2                                 # every visible sheet
    assert all("(A4)" in size for size in pages), pages
    text = pdf_text(out)
    assert "見積書" in text and "直接経費" in text
    assert "¥1,234,567" in text and "¥370,370" in text and "¥1,604,937" in text
    assert "RATESHEETMARKER" in text
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quote.pdf", "quote.xlsx", "tmpdir"]
    assert list(private_tmp.iterdir()) == []


@needs_lo
def test_export_pdf_one_sheet_hides_the_others(tmp_path, private_tmp):
    book = quote_workbook(tmp_path / "quote.xlsx")
    before = book.read_bytes()
    target = tmp_path / "見積.pdf"
    target.write_bytes(b"old")                            # replaced only with force=True
    out = lo.export_pdf(book, target, sheet="見積", force=True)
    pages = pdf_pages(out)
    assert len(pages) == 1 and "(A4)" in pages[0], pages
    text = pdf_text(out)
    assert "見積書" in text and "合計" in text
    # The amounts come from the hidden sheet: formulas still work, its content is not printed.
    assert "¥1,234,567" in text and "¥1,604,937" in text
    assert "RATESHEETMARKER" not in text
    assert book.read_bytes() == before                    # the copy was made elsewhere
    assert list(private_tmp.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------
# (e) timeouts


def _assert_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + 5
    while live_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_group_members(pgid) == []


@needs_lo
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_timeout_kills_the_process_group(tmp_path, private_tmp):
    book = pricing_workbook(tmp_path / "pricing.xlsx")
    started = time.monotonic()
    with pytest.raises(lo.LibreOfficeTimeout) as err:
        lo.recalculate(book, timeout=0.01)
    assert time.monotonic() - started < 10
    assert "did not finish within 0.01 s" in str(err.value)
    assert "--convert-to" in str(err.value)                # the command is in the message
    assert err.value.pgid and err.value.command[0] == SOFFICE
    _assert_group_gone(err.value.pgid)
    assert list(private_tmp.iterdir()) == []              # profile and out folder removed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; sh script")
def test_timeout_kills_grandchildren_too(tmp_path, private_tmp, monkeypatch):
    """A stuck soffice stand-in that forks like soffice -> oosplash -> soffice.bin."""
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 60 &\nsh -c 'sleep 60' &\nsleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setattr(lo, "find_soffice", lambda: str(fake))
    book = pricing_workbook(tmp_path / "pricing.xlsx")
    started = time.monotonic()
    with pytest.raises(lo.LibreOfficeTimeout) as err:
        lo.export_pdf(book, tmp_path / "out.pdf", timeout=0.5)
    assert time.monotonic() - started < 10
    _assert_group_gone(err.value.pgid)
    assert not (tmp_path / "out.pdf").exists()
    assert list(private_tmp.iterdir()) == []


@needs_lo
def test_libreoffice_failure_names_the_command(tmp_path, private_tmp):
    junk = tmp_path / "junk.xlsx"
    # Passes the checks made before LibreOffice starts (a zip with a workbook part and no
    # sheets), yet LibreOffice cannot load it.
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("xl/workbook.xml", "not a workbook")
    with pytest.raises(lo.LibreOfficeError) as err:
        lo.recalculate(junk)
    assert not isinstance(err.value, lo.LibreOfficeTimeout)
    assert "soffice" in str(err.value) and "--convert-to" in str(err.value)
    assert "could not be loaded" in err.value.stderr
    assert list(private_tmp.iterdir()) == []


# --------------------------------------------------------------------------------------
# (f) inputs are never outputs, bounded work, permissions (issue 12 items 4, 9, 10)


def far_cell_workbook(path: Path) -> Path:
    """A 5 KB workbook whose last cell is XFD1048576: openpyxl and LibreOffice would walk
    17 billion cells; before the size check ``pdf`` ran over 250 s without starting LO."""
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.active["XFD1048576"] = 2
    wb.save(path)
    assert path.stat().st_size < 10_000
    return path


def test_pdf_never_overwrites_its_input_in_any_spelling(tmp_path, monkeypatch):
    book = quote_workbook(tmp_path / "w.xlsx")
    before = book.read_bytes()
    (tmp_path / "link.xlsx").symlink_to(book)
    os.link(book, tmp_path / "hard.xlsx")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    spellings = ["w.xlsx", "./w.xlsx", "sub/../w.xlsx", str(book), "link.xlsx", "hard.xlsx"]
    for out in spellings:
        with pytest.raises(InputError, match="never overwritten") as err:
            lo.export_pdf("w.xlsx", out, force=True)
        assert err.value.field == "out_pdf"
    with pytest.raises(InputError, match="never overwritten"):
        lo.export_pdf("link.xlsx", "w.xlsx", force=True)
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.xlsx", "link.xlsx", "sub",
                                                          "w.xlsx"]


def test_recalculate_never_replaces_its_input(tmp_path):
    """The output's name in ``out_dir`` is a hard link of the input: refused before
    LibreOffice starts (a resolved-path comparison alone does not see it)."""
    book = quote_workbook(tmp_path / "q.xlsx")
    before = book.read_bytes()
    (tmp_path / "out").mkdir()
    os.link(book, tmp_path / "out" / "q.recalculated.xlsx")
    with pytest.raises(InputError, match="never overwritten"):
        lo.recalculate(book, out_dir=tmp_path / "out")
    assert book.read_bytes() == before


def test_a_far_last_cell_is_refused_before_anything_opens_it(tmp_path):
    book = far_cell_workbook(tmp_path / "far.xlsx")
    started = time.monotonic()
    for call in (lambda: lo.export_pdf(book, tmp_path / "far.pdf"),
                 lambda: lo.export_pdf(book, tmp_path / "far.pdf", sheet="Sheet"),
                 lambda: lo.recalculate(book, tmp_path / "out"),
                 lambda: lo.require_native(book, lo.Deadline(5))):
        with pytest.raises(InputError, match="row 1,048,576, column 16,384"):
            call()
    assert time.monotonic() - started < 5
    assert not (tmp_path / "far.pdf").exists()


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf"), 1e9, True, "10"])
def test_a_deadline_needs_a_sensible_number_of_seconds(seconds):
    with pytest.raises(InputError, match="a number of seconds > 0 and at most 86,400"):
        lo.Deadline(seconds, "--timeout")


def test_a_spent_deadline_says_what_was_not_done():
    d = lo.Deadline(0.001)
    time.sleep(0.01)
    with pytest.raises(lo.LibreOfficeTimeout, match="checking x: not finished within 0.001 s"):
        d.remaining("checking x")


def test_require_native_finds_an_xlp_formula_and_passes_native_ones(tmp_path):
    udf = openpyxl.Workbook()
    udf.active["A1"] = 3
    udf.create_sheet("Calc")["C7"] = "=XLP_TIMECHARGE(Sheet!A1, 10)"
    udf.save(tmp_path / "udf.xlsx")
    with pytest.raises(InputError, match=r"native workbook.*sheet2.xml near cell C7"):
        lo.require_native(tmp_path / "udf.xlsx", lo.Deadline(10), field="WORKBOOK")
    lo.require_native(quote_workbook(tmp_path / "native.xlsx"), lo.Deadline(10))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; sh script")
def test_one_deadline_covers_the_sheet_copy_and_libreoffice(tmp_path, private_tmp,
                                                            monkeypatch):
    """The copy of one sheet (openpyxl, in a child process) and LibreOffice share one
    limit: 2.5 s in all, not 2.5 s for LibreOffice after however long the copy took."""
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setattr(lo, "find_soffice", lambda: str(fake))
    book = quote_workbook(tmp_path / "quote.xlsx")
    started = time.monotonic()
    with pytest.raises(lo.LibreOfficeTimeout, match="within 2.5 s") as err:
        lo.export_pdf(book, tmp_path / "out.pdf", sheet="見積", timeout=2.5)
    assert time.monotonic() - started < 2.5 + 1.5
    _assert_group_gone(err.value.pgid)
    assert not (tmp_path / "out.pdf").exists()
    assert list(private_tmp.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_sheet_copy_step_itself_is_killed_at_the_deadline(tmp_path, private_tmp):
    book = quote_workbook(tmp_path / "quote.xlsx")
    with pytest.raises(lo.LibreOfficeTimeout, match="preparing sheet '見積'") as err:
        lo.export_pdf(book, tmp_path / "out.pdf", sheet="見積", timeout=0.05)
    assert err.value.command[1:3] == ["-m", "xl_pricing.libreoffice"]
    _assert_group_gone(err.value.pgid)
    assert not (tmp_path / "out.pdf").exists()
    assert list(private_tmp.iterdir()) == []


@needs_lo
def test_pdf_permissions_follow_the_umask_and_a_replaced_file_keeps_its_mode(tmp_path,
                                                                           private_tmp):
    book = quote_workbook(tmp_path / "quote.xlsx")
    old = os.umask(0o022)
    try:
        fresh = lo.export_pdf(book, tmp_path / "fresh.pdf")
        assert fresh.stat().st_mode & 0o777 == 0o644        # was 0600 through mkstemp
        shared = tmp_path / "shared.pdf"
        shared.write_bytes(b"old")
        shared.chmod(0o664)
        lo.export_pdf(book, shared, force=True)
        assert shared.read_bytes()[:5] == b"%PDF-"
        assert shared.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


@needs_lo
def test_recalculated_copy_is_readable_by_colleagues(recalculated):
    umask = os.umask(0)
    os.umask(umask)
    assert recalculated["out"].stat().st_mode & 0o777 == 0o666 & ~umask


def styled_cell_bomb(path: Path, rows: int = 1000, cols: int = 2000) -> Path:
    """Some 100 KB of zip that unpacks to 40 MB of styled empty cells: within the size
    limits, but seconds of XML to stream before LibreOffice could even start."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}"><sheets><sheet name="S" '
                                      'sheetId="1"/></sheets></workbook>')
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(f'<worksheet xmlns="{ns}"><sheetData>'.encode())
            for r in range(1, rows + 1):
                fh.write((f'<row r="{r}">' + f'<c r="A{r}" s="1"/>' * cols + "</row>").encode())
            fh.write(b"</sheetData></worksheet>")
    return path


def test_the_deadline_covers_checking_the_workbook_too(tmp_path, private_tmp):
    book = styled_cell_bomb(tmp_path / "bomb.xlsx")
    started = time.monotonic()
    with pytest.raises(lo.LibreOfficeTimeout, match="checking .*bomb.xlsx: not finished "
                                                     "within 0.3 s"):
        lo.export_pdf(book, tmp_path / "bomb.pdf", timeout=0.3)
    assert time.monotonic() - started < 0.3 + 1.5
    with pytest.raises(lo.LibreOfficeTimeout):
        lo.recalculate(book, tmp_path / "out", timeout=0.3)
    with pytest.raises(lo.LibreOfficeTimeout):
        lo.require_native(book, lo.Deadline(0.3))
    assert not (tmp_path / "bomb.pdf").exists()
