"""The standing battery of hostile, malformed and odd inputs (issue 12), as one table per
face of the product.  Every case asserts what a user gets — a price, or ONE message naming
the field or cell, the value and what was expected — and that nothing partial was written.

Cards and project files (TOML, JSON) through every command are the table of
``tests/test_cli_errors.py``; here are the rest:

* batch tables: CSV in the encodings Japanese offices export, number text as they type it,
  and rows that must be refused with their row, column and value;
* batch tables as XLSX;
* ``xl-pricing recalc --set``;
* files that are not workbooks, given to ``recalc`` and ``pdf``;
* Excel functions called from Python and through xlwings Server (HTTP 400).

The reference project of the batch cases is priced by hand: direct costs 1,000,000 yen;
indirect 30% = 300,000; strategic 10% = 100,000 (``jp-default``); total 1,400,000.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from conftest import truncated
from serverkit import payload, server_modules
from xl_pricing import InputError, udfs
from xl_pricing.batch import run_batch
from xl_pricing.cli import app

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "workbooks" / "jp-default-native.xlsx"
HAND_TOTAL = 1_400_000
TITLE = "触媒スクリーニング／ｶﾀﾘｽﾄ"  # kanji, full-width slash and half-width katakana

HEADER = ["id", "title", "contract", "approach", "start", "end", "direct.consumables"]
GOOD = {"id": "H-1", "title": TITLE, "contract": "joint", "approach": "X",
        "start": "2027-04-01", "end": "2028-03-31", "direct.consumables": "1000000"}


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER, crlf: bool = False,
             extra: str = "") -> str:
    nl = "\r\n" if crlf else "\n"

    def cell(v: str) -> str:
        return f'"{v}"' if any(c in v for c in ',"\n') else v

    lines = [",".join(header)] + [",".join(cell(r.get(h, "")) for h in header) + extra
                                  for r in rows]
    return nl.join(lines) + nl


def written(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "summary.xlsx")


# -- batch CSV: accepted as an office exports it, priced by hand -------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "cp932", "euc-jp", "utf-16"]  # utf-16: with its BOM
AMOUNTS = ["1000000", "1,000,000", "¥1,000,000", "￥1,000,000", "1,000,000円",
           "１，０００，０００", "１００００００", " 1000000 ", "1000000.0", "1_000_000"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("amount", AMOUNTS)
def test_office_exports_are_priced_right(tmp_path, encoding, amount):
    if encoding in ("euc-jp", "cp932") and "¥" in amount:
        pytest.skip("¥ (U+00A5) has no code in EUC-JP or cp932; offices there type ￥")
    table = tmp_path / "t.csv"
    crlf = encoding in ("cp932", "utf-16")  # Excel on Windows writes CRLF
    table.write_bytes(csv_text([{**GOOD, "direct.consumables": amount}], crlf=crlf)
                      .encode(encoding))
    result = run_batch(table, tmp_path / "out", target="native", workers=1, progress=False)
    assert result.errors == [] and result.written == 1
    assert result.total == HAND_TOTAL
    summary = openpyxl.load_workbook(result.summary, read_only=True)
    texts = [c for ws in summary.worksheets for row in ws.iter_rows(values_only=True)
             for c in row]
    assert TITLE in texts, "the title was decoded wrongly"


# -- batch CSV: rows refused with row, column and value; the others written -----------

@dataclass(frozen=True)
class Row:
    id: str
    cells: dict[str, str]
    column: str          # the column the error names
    says: str            # a fragment of the message


BAD_ROWS = [
    Row("amount-text", {"direct.consumables": "abc"}, "direct.consumables", "'abc'"),
    Row("amount-nan", {"direct.consumables": "NaN"}, "direct.consumables", "NaN"),
    Row("amount-inf", {"direct.consumables": "inf"}, "direct.consumables", "inf"),
    Row("amount-minus-inf", {"direct.consumables": "-Infinity"}, "direct.consumables",
        "Infinity"),
    Row("amount-huge-exponent", {"direct.consumables": "1e999999"}, "direct.consumables",
        "1e999999"),
    Row("amount-1e16", {"direct.consumables": "1e16"}, "direct.consumables", "10^15"),
    Row("amount-negative", {"direct.consumables": "-5"}, "direct.consumables", "-5"),
    Row("amount-two-points", {"direct.consumables": "1.000.000"}, "direct.consumables",
        "1.000.000"),
    Row("amount-yen-only", {"direct.consumables": "¥"}, "direct.consumables", "¥"),
    Row("amount-fraction-yen", {"direct.consumables": "1000000.5"}, "direct.consumables",
        "1000000.5"),
    Row("start-negative-serial", {"start": "-5"}, "start", "-5"),
    Row("start-serial-zero", {"start": "0"}, "start", "0"),
    Row("start-huge-serial", {"start": "99999999"}, "start", "99999999"),
    Row("start-before-1900", {"start": "1899-12-31"}, "start", "1899-12-31"),
    Row("start-year-10000", {"start": "10000-01-01"}, "start", "10000-01-01"),
    Row("start-month-13", {"start": "2027-13-01"}, "start", "2027-13-01"),
    Row("start-text", {"start": "next april"}, "start", "next april"),
    Row("end-before-start", {"end": "2026-03-31"}, "end", "2026-03-31"),
    Row("contract-unknown", {"contract": "gift"}, "contract", "gift"),
    Row("approach-unknown", {"approach": "Z"}, "approach", "Z"),
    Row("title-nul", {"title": "a\x00b"}, "title", "\\x00"),
    Row("title-vertical-tab", {"title": "a\x0bb"}, "title", "\\x0b"),
    Row("title-form-feed", {"title": "a\x0cb"}, "title", "\\x0c"),
    Row("title-escape", {"title": "a\x1bb"}, "title", "\\x1b"),
    Row("title-too-long", {"title": "長" * 40_000}, "title", "32,767"),
    Row("id-nul", {"id": "H\x00-1"}, "id", "\\x00"),
    Row("id-missing", {"id": ""}, "id", "missing"),
    Row("contract-missing", {"contract": ""}, "contract", "missing"),
    Row("start-missing", {"start": ""}, "start", "missing"),
]


@pytest.mark.parametrize("bad", BAD_ROWS, ids=[b.id for b in BAD_ROWS])
def test_bad_rows_are_refused_with_row_column_and_value(tmp_path, bad):
    table = tmp_path / "t.csv"
    good2 = {**GOOD, "id": "H-2"}
    table.write_text(csv_text([{**GOOD, **bad.cells}, good2]), encoding="utf-8")
    out = tmp_path / "out"
    result = run_batch(table, out, target="native", workers=1, progress=False)
    assert result.failed == 1 and result.written == 1, result.errors
    err = result.errors[0]
    assert err.row == 2, err                       # the spreadsheet row of the first line
    assert err.column.endswith(bad.column), err
    assert bad.says in err.message, err.message
    assert written(out) == ["jp-default-H-2-native.xlsx"]  # the good row, nothing else
    assert result.summary is not None and result.summary.exists()


TABLE_REFUSALS = [
    ("unknown column", csv_text([GOOD], header=[*HEADER, "researchers.1.hourz"]).encode(),
     "researchers.1.hourz"),
    ("unknown top-level column", csv_text([GOOD], header=[*HEADER, "budget"]).encode(),
     "budget"),
    ("repeated column", csv_text([GOOD], header=[*HEADER, "direct.consumables"]).encode(),
     "direct.consumables"),
    ("latin-1 bytes", csv_text([{**GOOD, "title": "café"}]).encode("latin-1"), "encoding"),
    ("utf-16 without BOM", csv_text([GOOD]).encode("utf-16-le"), "UTF-16 without a byte"),
    ("binary garbage", bytes(range(256)) * 4, "t.csv"),
    ("empty file", b"", "t.csv"),
]


@pytest.mark.parametrize("content,says", [(c, s) for _, c, s in TABLE_REFUSALS],
                         ids=[i for i, _, _ in TABLE_REFUSALS])
def test_tables_that_cannot_be_read_are_refused_whole(tmp_path, content, says):
    table = tmp_path / "t.csv"
    table.write_bytes(content)
    with pytest.raises(InputError) as err:
        run_batch(table, tmp_path / "out", target="native", workers=1, progress=False)
    assert says in str(err.value)
    assert not (tmp_path / "out").exists() or written(tmp_path / "out") == []


def test_one_field_given_two_ways_is_refused_not_overwritten(tmp_path):
    """``direct.consumables`` with ``direct.1.amount``: the second used to replace the
    first's amount (total 1 yen)."""
    table = tmp_path / "t.csv"
    header = [*HEADER, "direct.1.category", "direct.1.amount"]
    table.write_text(csv_text([{**GOOD, "direct.1.category": "travel",
                                "direct.1.amount": "1"}], header=header), encoding="utf-8")
    result = run_batch(table, tmp_path / "out", target="native", workers=1, progress=False)
    assert result.failed == 1 and result.written == 0
    assert "one way of giving direct" in result.errors[0].message


def test_extra_cells_beyond_the_header_are_refused(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text(csv_text([GOOD], extra=",surprise"), encoding="utf-8")
    result = run_batch(table, tmp_path / "out", target="native", workers=1, progress=False)
    assert result.failed == 1 and "surprise" in result.errors[0].message


def test_the_table_is_never_an_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    table = out / "summary.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(list(GOOD.values()))
    wb.save(table)
    before = table.read_bytes()
    with pytest.raises(InputError, match="never"):
        run_batch(table, out, target="native", workers=1, progress=False, force=True)
    assert table.read_bytes() == before


# -- batch XLSX rows ----------------------------------------------------------------------

XLSX_ROWS = [
    ("number", 1_000_000, None),
    ("float", 1_000_000.0, None),
    ("text with commas", "1,000,000", None),
    ("text with yen", "¥1,000,000", None),
    ("full-width text", "１，０００，０００円", None),
    ("formula without a result", "=500000*2", "formula"),
    ("error value", "#N/A", "#N/A"),
    ("boolean", True, "direct.consumables"),
    ("text", "one million", "one million"),
]


@pytest.mark.parametrize("value,fails", [(v, f) for _, v, f in XLSX_ROWS],
                         ids=[i for i, _, _ in XLSX_ROWS])
def test_xlsx_rows(tmp_path, value, fails):
    table = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append([GOOD[h] for h in HEADER[:-1]] + [value])
    if value == "#N/A":
        ws.cell(2, len(HEADER)).data_type = "e"
    wb.save(table)
    result = run_batch(table, tmp_path / "out", target="native", workers=1, progress=False)
    if fails is None:
        assert result.errors == [] and result.total == HAND_TOTAL
    else:
        assert result.failed == 1 and fails in result.errors[0].message, result.errors
        assert "direct.consumables" in result.errors[0].column or "G2" in \
            result.errors[0].message


def test_xlsx_dates_as_date_cells(tmp_path):
    import datetime as dt
    table = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(["H-1", TITLE, "joint", "X", dt.datetime(2027, 4, 1),
                      dt.date(2028, 3, 31), 1_000_000])
    wb.save(table)
    result = run_batch(table, tmp_path / "out", target="native", workers=1, progress=False)
    assert result.errors == [] and result.total == HAND_TOTAL


# -- recalc --set ------------------------------------------------------------------------

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args), env={"NO_COLOR": "1", "XL_PRICING_RATES": None})
    return r.exit_code, r.output


SETS_REFUSED = [
    ("Approach=Z", "Approach = Z: expected one of X 積み上げ方式（現行） / X input-cost"),
    ("Approach=Y", "Approach = Y: expected one of X 積み上げ方式（現行） / X input-cost"),
    ("Contract=gift", "Contract = gift: expected one of 共同研究 / joint research, 受託研究 / "
     "sponsored research, 学術指導 / academic consulting"),
    ("Contract=共同研究のつもり", "expected one of 共同研究 / joint research"),
    ("Activity=teaching", "expected one of 研究 / research, 教育 / instruction, その他の活動 / "
     "other sponsored activity"),
    ("Location=moon", "expected one of 学内 / on campus, 学外 / off campus"),
    ("UseTaxCredit=maybe", "expected one of TRUE, FALSE"),
    ("TaxPartner=friend", "expected one of 大学等 / university, 国立研究開発法人等 / national "
     "research institute"),
    ("Total=5", "Total is a formula cell"),
    ("A_Total=0", "is a formula cell"),
    ("Industrial_Total=1", "is a formula cell"),
    ("Form_Total=1", "is a formula cell"),
    ("Compare_A=1", "is a formula cell"),
    ("Project!D27=-5", "expected a number >= 0"),
    ("'Project'!D27=-1", "expected a number >= 0"),
    ("Project!D27=abc", "Project!D27 = abc: expected a whole number"),
    ("Project!J50=-0.5", "expected a number between 0 and 100000"),
    ("R_Hours=5", "R_Hours: 5: expected 10 rows × 1 columns"),
    ("Nope=1", "not a defined name or cell"),
    ("Project!ZZ9999=1", "not used by any formula"),
    ("NoSheet!A1=1", "NoSheet"),
    ("Approach", "expected NAME=VALUE or Sheet!Cell=VALUE"),
    ("=5", "expected NAME=VALUE"),
    ("Project!B50=nobody", "expected one of"),
    ("Project!C50=guess", "expected one of 職位別単価 / rank rate, 平均基準単価"),
]


@pytest.mark.parametrize("assignment,says", SETS_REFUSED, ids=[a for a, _ in SETS_REFUSED])
def test_recalc_set_refused(tmp_path, assignment, says):
    book = tmp_path / "w.xlsx"
    book.write_bytes(STANDARD.read_bytes())
    code, out = cli("recalc", str(book), "--set", assignment, "--json")
    assert code == 2, out
    assert says in out, out
    assert "Traceback" not in out
    assert book.read_bytes() == STANDARD.read_bytes()  # the input is only read


SETS_ACCEPTED = [
    ("Approach=X", "Approach", "X"),
    ("Project!D27=1,000,000", "Direct_Amount", 1_000_000),
    ("Project!D27=１０００", "Direct_Amount", 1000),
    ("Project!D27=¥2,500", "Direct_Amount", 2500),
]


@pytest.mark.parametrize("assignment,name,value", SETS_ACCEPTED,
                         ids=[a for a, _, _ in SETS_ACCEPTED])
def test_recalc_set_accepts_what_offices_type(assignment, name, value):
    code, out = cli("recalc", str(STANDARD), "--set", assignment, "--json")
    assert code == 0, out
    got = json.loads(out)[name]
    flat = got[0][0] if isinstance(got, list) else got
    assert flat == value


def test_recalc_override_is_explicit():
    code, out = cli("recalc", str(STANDARD), "--set", "X_Total=5", "--override", "--json")
    assert code == 0, out
    assert json.loads(out)["X_Total"] == 5


# -- files that are not workbooks ------------------------------------------------------

def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def _truncated(path: Path) -> Path:
    return truncated(STANDARD, path, "xl/worksheets/sheet2.xml", keep=1 / 3)


def _far(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.active["XFD1048576"] = "=A1"
    wb.save(path)
    return path


NOT_WORKBOOKS = {
    "text with xlsx suffix": (lambda t: (t / "a.xlsx").write_bytes(b"hello") and t / "a.xlsx",
                              "not a zip archive"),
    "empty": (lambda t: (t / "e.xlsx").write_bytes(b"") or t / "e.xlsx", "not a zip"),
    "csv suffix": (lambda t: (t / "a.csv").write_text("a,b") and t / "a.csv", "suffix"),
    "no suffix": (lambda t: (t / "book").write_bytes(STANDARD.read_bytes()) and t / "book",
                  "suffix"),
    "word document": (lambda t: _zip(t / "w.xlsx", {"word/document.xml": b"<w/>"}),
                      "no xl/workbook.xml"),
    "truncated sheet": (lambda t: _truncated(t / "t.xlsx"), "damaged"),
    "far last cell": (lambda t: _far(t / "far.xlsx"), "used up to row 1,048,576"),
    "folder": (lambda t: (t / "d.xlsx").mkdir() or t / "d.xlsx", "not a regular file"),
    "missing": (lambda t: t / "missing.xlsx", "no such file"),
    "device": (lambda t: (t / "z.xlsx").symlink_to("/dev/zero") or t / "z.xlsx",
               "not a regular file"),
    "zip bomb-ish header": (lambda t: _zip(t / "b.xlsx", {"xl/workbook.xml": b"<x/>",
                                                          "xl/worksheets/sheet1.xml":
                                                          b"<worksheet"}), "damaged"),
}


@pytest.mark.parametrize("command", ["recalc", "pdf"])
@pytest.mark.parametrize("case", list(NOT_WORKBOOKS))
def test_files_that_are_not_workbooks(tmp_path, case, command):
    make, says = NOT_WORKBOOKS[case]
    path = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    args = ["recalc", str(path)] if command == "recalc" else \
        ["pdf", str(path), "--out", str(tmp_path / "out.pdf")]
    code, out = cli(*args)
    assert code == 2, out
    assert says in out, out
    assert "Traceback" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


# -- Excel functions: from Python, and through xlwings Server ----------------------------

CALLS: list[tuple[str, list[Any], str]] = [
    ("XLP_TIMECHARGE", ["NaN", 1], "rate = 'NaN'"),
    ("XLP_TIMECHARGE", ["Infinity", 1], "rate = 'Infinity'"),
    ("XLP_TIMECHARGE", ["1e999999", 1], "rate = '1e999999'"),
    ("XLP_TIMECHARGE", [1e308, 1e308], "below 10^15"),
    ("XLP_TIMECHARGE", [50000, -1], "hours = -1"),
    ("XLP_TIMECHARGE", [-50000, 1], "rate = -50000"),
    ("XLP_TIMECHARGE", ["abc", 1], "rate = 'abc'"),
    ("XLP_TIMECHARGE", [True, 1], "rate = true"),
    ("XLP_TIMECHARGE", [None, 1], "rate is missing"),
    ("XLP_TIMECHARGE", [50000, 1, "../../etc/passwd"], "card"),
    ("XLP_TIMECHARGE", [50000, 1, "no-such-card"], "card = 'no-such-card'"),
    ("XLP_EFFORT_HOURS", [1860, 2, 12], "effort = 2"),
    ("XLP_EFFORT_HOURS", [1860, -0.1, 12], "effort = -0.1"),
    ("XLP_EFFORT_HOURS", [1860, 0.5, -1], "months = -1"),
    ("XLP_EFFORT_HOURS", [-1, 0.5, 12], "annual_hours = -1"),
    ("XLP_EFFORT_HOURS", [1860, "half", 12], "effort = 'half'"),
    ("XLP_STANDARD_RATE", [-1, 1860], "annual_salary = -1"),
    ("XLP_STANDARD_RATE", [8_600_000, 0], "annual_hours = 0"),
    ("XLP_STANDARD_RATE", ["lots", 1860], "annual_salary = 'lots'"),
    ("XLP_RATE", ["emperor"], "emperor"),
    ("XLP_RATE", [None], "rank is missing"),
    ("XLP_RATE", [42], "rank = 42"),
    ("XLP_RATE", ["associate_professor", "full-features"], "rate_source = 'rank'"),
    ("XLP_FA_RATE", ["research", "moon"], "activity/location = 'research/moon'"),
    ("XLP_FA_RATE", ["dancing", "on"], "activity/location = 'dancing/on'"),
    ("XLP_FA_RATE", [None, "on"], "activity is missing"),
    ("XLP_FA_RATE", [3, "on"], "activity = 3"),
    ("XLP_FA_RATE", ["research", "on", None, None, 1e9], "date = 1000000000"),
    ("XLP_FA_RATE", ["research", "on", None, None, -5], "date = -5"),
    ("XLP_FA_RATE", ["research", "on", None, None, "yesterday"], "date = 'yesterday'"),
    ("XLP_FA", [-1, "research", "on"], "base = -1"),
    ("XLP_FA", ["NaN", "research", "on"], "base = 'NaN'"),
    ("XLP_INDIRECT", [1e6, 30], "rate = 30"),
    ("XLP_INDIRECT", [1e6, -0.1], "rate = -0.1"),
    ("XLP_INDIRECT", [-1, 0.3], "direct = -1"),
    ("XLP_INDIRECT", ["1e999999", 0.3], "direct = '1e999999'"),
    ("XLP_STRATEGIC", [-5], "base = -5"),
    ("XLP_STRATEGIC", ["five"], "base = 'five'"),
    ("XLP_TOTAL_INDIRECT", [4_000_000, 5_000_000], "total = 4000000"),
    ("XLP_TOTAL_INDIRECT", ["NaN", 5_000_000], "total = 'NaN'"),
    ("XLP_TOTAL_RATIO", [10_000_000, 0], "direct = 0"),
    ("XLP_TOTAL_RATIO", [10_000_000, -1], "direct = -1"),
    ("XLP_ROYALTY", [[1e6], 2, 1], "rate = 2"),
    ("XLP_ROYALTY", [[-1e6], 0.03, 1], "sales"),
    ("XLP_ROYALTY", [["lots"], 0.03, 1], "sales"),
    ("XLP_MILESTONES", [[1e6, 2e6], [True]], "achieved"),
    ("XLP_MILESTONES", [[-1e6], [True]], "amounts"),
    ("XLP_SUCCESS_FEE", [-1], "floor = -1"),
    ("XLP_SUCCESS_FEE", ["NaN"], "floor = 'NaN'"),
    ("XLP_TAX_CREDIT", [-1], "company_borne = -1"),
    ("XLP_TAX_CREDIT", ["inf"], "company_borne = 'inf'"),
    ("XLP_ALLOCATE", [[[1, 2, 3]]], "amounts row 1 = [1, 2, 3]"),
    ("XLP_ALLOCATE", [[["direct", "many"]]], "many"),
    ("XLP_ALLOCATE", [[["direct", "NaN"]]], "'NaN'"),
    ("XLP_ALLOCATE", [[["direct", 1, 2]]], "amounts row 1"),
    ("XLP_TIMECHARGE", [50000, "1,5"], "hours = '1,5'"),
    ("XLP_TIMECHARGE", [50000, "1,0000"], "hours = '1,0000'"),
    ("XLP_EFFORT_HOURS", [None, 0.5, 12], "annual_hours is missing"),
    ("XLP_EFFORT_HOURS", [1860, 0.5, "NaN"], "months = 'NaN'"),
    ("XLP_STANDARD_RATE", [8_600_000, -1860], "annual_hours = -1860"),
    ("XLP_STANDARD_RATE", [8_600_000, 1860, "/dev/zero"], "card"),
    ("XLP_INDIRECT", [1e6, "thirty"], "rate = 'thirty'"),
    ("XLP_FA", [1e6, "research", "on", None, None, 99999999], "date = 99999999"),
    ("XLP_TOTAL_RATIO", ["abc", 5e6], "total = 'abc'"),
    ("XLP_ROYALTY", [[1e6], 0.03, 1.5], "contribution = 1.5"),
    ("XLP_SUCCESS_FEE", [1e6, -1], "royalty = -1"),
    ("XLP_SUCCESS_FEE", [1e6, None, None, "lots"], "lump_sum = 'lots'"),
    ("XLP_QUOTE", [[["contract", "joint"]]], "missing"),
    ("XLP_QUOTE", [[["approach", "Z"]]], "approach"),
    ("XLP_QUOTE", [[["approach", "X"], ["approach", "A"]]], "each key once"),
    ("XLP_QUOTE", [[["id", "Q"], ["contract", "joint"], ["approach", "X"],
                    ["start", 1e12], ["end", "2028-03-31"]]], "start = 1000000000000"),
    ("XLP_QUOTE", [[["id", "Q"], ["contract", "joint"], ["approach", "X"],
                    ["start", 99999999], ["end", "2028-03-31"]]], "start = 99999999"),
    ("XLP_QUOTE", [[["id", "Q"], ["contract", "joint"], ["approach", "X"],
                    ["start", "2027-04-01"], ["end", "2028-03-31"],
                    ["direct.consumables", 5e6], ["direct.1.amount", 1]]], "one way"),
    ("XLP_QUOTE", [[["id", "Q"], ["contract", "joint"], ["approach", "X"],
                    ["start", "2027-04-01"], ["end", "2028-03-31"],
                    ["researchers.1.rank", "emperor"], ["researchers.1.hours", 1]]],
     "emperor"),
    ("XLP_QUOTE", [[["id", "Q"], ["contract", "joint"], ["approach", "B"],
                    ["start", "2027-04-01"], ["end", "2028-03-31"],
                    ["direct.consumables", 5e6], ["total.agreed", 4e6]]], "total.agreed"),
    ("XLP_QUOTE", [[["a." * 40 + "b", 1]]], "dotted parts"),
    ("XLP_CARD", ["/etc/passwd"], "card"),
    ("XLP_CARD", ["../templates/rates/jp-default.toml"], "card"),
]


@pytest.mark.parametrize("func,args,says", CALLS,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(CALLS)])
def test_functions_from_python(func, args, says):
    if func == "XLP_CARD" or (len(args) > 2 and isinstance(args[2], str) and "/" in args[2]):
        pytest.skip("desktop Excel may name cards by path: see the server case")
    with pytest.raises(InputError) as err:
        getattr(udfs, func)(*args)
    assert says in str(err.value)


needs_server = pytest.mark.skipif(importlib.util.find_spec("xlwings_server") is None,
                                  reason="the optional [server] extra")


@pytest.fixture(scope="module")
def server_client():
    from fastapi.testclient import TestClient
    with server_modules() as _:
        app_module = importlib.import_module("xl_pricing.server.app")
        with TestClient(app_module.app) as c:
            yield c


@needs_server
@pytest.mark.parametrize("func,args,says", CALLS,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(CALLS)])
def test_functions_through_the_server(server_client, func, args, says):
    r = server_client.post("/xlwings/custom-functions-call",
                           content=json.dumps(payload(func, args)),
                           headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert says in r.text, r.text
    assert "Traceback" not in r.text
    assert not re.search(r"root:|\[card\]|sha256 =", r.text)  # nothing read from a file


def test_the_battery_is_large():
    """Issue 12 asks for at least 300 hostile inputs: these tables and the CLI table."""
    from test_cli_errors import CASES, HOSTILE
    here = (len(ENCODINGS) * len(AMOUNTS) + len(BAD_ROWS) + len(TABLE_REFUSALS) + 2
            + len(XLSX_ROWS) + 1 + len(SETS_REFUSED) + len(SETS_ACCEPTED) + 1
            + 2 * len(NOT_WORKBOOKS) + 2 * len(CALLS))
    assert here >= 300 and here + len(CASES) + len(HOSTILE) >= 500, (here, len(CASES))


# -- found by a review after the battery was written --------------------------------------

def test_a_card_named_like_the_output_is_never_replaced(tmp_path):
    """``--rates`` names an input too: a card file called like the workbook (or the batch
    summary) used to be replaced by it with --force."""
    card = tmp_path / "jp-default-X-2027-001-native.xlsx"   # native: build's default target
    card.write_bytes((ROOT / "templates/rates/jp-default.toml").read_bytes())
    before = card.read_bytes()
    code, out = cli("build", "--project", str(ROOT / "templates/projects/x-cost-joint.toml"),
                    "--rates", str(card), "--out", str(tmp_path), "--force")
    assert code == 2 and "never overwritten" in out, out
    summary = tmp_path / "summary.xlsx"
    summary.write_bytes(before)
    code, out = cli("batch", str(ROOT / "templates/projects/batch-example.csv"), "--rates",
                    str(summary), "--out", str(tmp_path), "--force", "--workers", "1")
    assert code == 2 and "never overwritten" in out, out
    assert card.read_bytes() == summary.read_bytes() == before


def test_a_dotted_key_deeper_than_any_project_is_refused_before_parsing(tmp_path):
    deep = tmp_path / "dotted.toml"
    deep.write_text("a" + ".a" * 100_000 + " = 1\n", encoding="utf-8")  # was: out of memory
    code, out = cli("quote", str(deep))
    assert code == 2 and "line 1" in out and "dotted parts" in out, out


@pytest.mark.parametrize("start,end", [("0001-01-01", "0001-03-31"),
                                       ("1899-04-01", "1900-03-31")])
def test_dates_excel_cannot_hold_are_refused_by_every_command(tmp_path, start, end):
    p = tmp_path / "p.toml"
    p.write_text(f'[project]\nid = "D"\ncontract = "joint"\napproach = "X"\nstart = {start}\n'
                 f'end = {end}\n[[direct]]\ncategory = "travel"\namount = 1\n', "utf-8")
    for args in (["quote", str(p)], ["build", "--project", str(p), "--out",
                                       str(tmp_path / "out")], ["project", "check", str(p)]):
        code, out = cli(*args)
        assert code == 2 and "project.start" in out and "1900-01-01" in out, (args, out)
    assert not (tmp_path / "out").exists()


@needs_server
def test_other_xlwings_routes_are_refused_not_a_server_error(server_client):
    r = server_client.post("/xlwings/custom-scripts-call/x", content=b'{"a": 1}',
                           headers={"Content-Type": "application/json"})
    assert r.status_code == 404 and "serves Excel functions only" in r.text
