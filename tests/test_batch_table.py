"""Reading tables of projects (xl_pricing.batch.table): encodings, columns, cells."""

from __future__ import annotations

import codecs
import datetime as dt
import time
from decimal import Decimal

import pytest
from openpyxl import Workbook

from xl_pricing.batch import (Refused, cell_value, column_of, count_rows, detect_encoding,
                              read_table, run_batch)
from xl_pricing.errors import InputError

from batch_util import HEAD, quotes, row, write_csv


def test_read_table_rows_numbers_and_values(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,start,direct.consumables,outcome.royalty_rate,options.know_how,title\n"
                 "Q1,2027-04-01,5000000,0.02,TRUE,=SUM(A1)\n"
                 "\n"
                 "Q2,2027/4/1,\"  5,000,000 \",,false,\n"
                 "Q3,2027-04-01 00:00:00,5000000.0,,,\"two\nlines\"\n", encoding="utf-8")
    rows = list(read_table(p, chunksize=2))  # chunks smaller than the table
    assert [n for n, _ in rows] == [2, 4, 5]  # the blank line is row 3
    assert rows[0][1] == {"id": "Q1", "start": dt.date(2027, 4, 1), "direct.consumables": 5_000_000,
                          "outcome.royalty_rate": Decimal("0.02"), "options.know_how": True,
                          "title": "=SUM(A1)"}
    assert rows[1][1] == {"id": "Q2", "start": dt.date(2027, 4, 1),
                          "direct.consumables": 5_000_000, "options.know_how": False}
    assert rows[2][1]["start"] == dt.date(2027, 4, 1)
    assert rows[2][1]["direct.consumables"] == 5_000_000
    assert type(rows[2][1]["direct.consumables"]) is int
    assert rows[2][1]["title"] == "two\nlines"
    assert count_rows(p) == 5  # lines less the header: an estimate for the progress bar


def test_cell_values():
    assert cell_value("researchers.1.hours", 12.0) == 12 and \
        type(cell_value("researchers.1.hours", 12.0)) is int
    assert cell_value("researchers.1.hours", 12.5) == Decimal("12.5")
    assert cell_value("id", 2027.0) == "2027"           # a text field keeps text
    assert cell_value("title", "1,000") == "1,000"
    # No silent guesses: text that is no number, NaN and infinities are refused, not
    # passed on as text or read as empty.
    assert cell_value("researchers.1.hours", "many") == Refused("many", "a number")
    assert isinstance(cell_value("direct.consumables", float("nan")), Refused)
    assert isinstance(cell_value("direct.consumables", float("inf")), Refused)
    assert isinstance(cell_value("direct.consumables", "Infinity"), Refused)
    assert cell_value("start", dt.datetime(2027, 4, 1)) == dt.date(2027, 4, 1)
    assert cell_value("title", "   ") is None


def test_read_table_refuses_a_column_named_twice(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,approach,approach\nQ1,X,A\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert e.value.value == "approach" and "column 2" in e.value.expected


def test_read_table_wrong_kind_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="ending in .csv or .xlsx"):
        read_table(tmp_path / "t.txt")
    with pytest.raises(InputError, match="an existing file"):
        read_table(tmp_path / "none.csv")


def test_read_table_windows_japanese_encoding(tmp_path):
    p = tmp_path / "sjis.csv"
    p.write_bytes("id,title\nQ1,触媒スクリーニング\n".encode("cp932"))
    assert list(read_table(p)) == [(2, {"id": "Q1", "title": "触媒スクリーニング"})]
    bom = tmp_path / "bom.csv"
    bom.write_bytes("id,title\nQ1,電池\n".encode("utf-8-sig"))
    assert list(read_table(bom)) == [(2, {"id": "Q1", "title": "電池"})]


def test_column_of_maps_key_paths_to_columns():
    row = {"id": "Q", "researchers.1.rank": "x", "researchers.3.hours": 5,
           "direct.consumables": 1, "direct.travel": "x", "options.know_how": True}
    assert column_of("researchers[0].rank", row) == "researchers.1.rank"
    assert column_of("researchers[1].hours", row) == "researchers.3.hours"  # 1-based keys
    assert column_of("direct[1].amount", row) == "direct.travel"
    assert column_of("options[0]", row) == "options.know_how"
    assert column_of("project.approach", row) == "approach"
    assert column_of("outcome.sales[0].base", row) == "outcome.sales.1.base"


# -- encodings: detected or refused, never garbled -------------------------------------------

JP = "id,title,contract,approach,start,end,direct.consumables\r\nQ1,触媒スクリーニング,joint,X,2027-04-01,2028-03-31,1000000\r\n"


@pytest.mark.parametrize("encoding, data", [
    ("utf-8", JP.encode("utf-8")),
    ("utf-8-sig", JP.encode("utf-8-sig")),
    ("cp932", JP.encode("cp932")),
    ("euc_jp", JP.encode("euc_jp")),           # must not be read as cp932
    ("utf-16", codecs.BOM_UTF16_LE + JP.encode("utf-16-le")),
    ("utf-16", codecs.BOM_UTF16_BE + JP.encode("utf-16-be")),
])
def test_encodings_are_detected(tmp_path, encoding, data):
    p = tmp_path / "t.csv"
    p.write_bytes(data)
    assert detect_encoding(p)[0] == encoding
    [(n, values)] = list(read_table(p))
    assert n == 2 and values["title"] == "触媒スクリーニング"   # CRLF: no stray \r
    assert values["direct.consumables"] == 1_000_000 and count_rows(p) == 1


@pytest.mark.parametrize("data, why", [
    ("id,title\nQ1,café crème\n".encode("latin-1"), "no such encoding"),
    ("id,title\nQ1,x\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
    # Bytes that read as Shift-JIS and as EUC-JP alike: refused, not guessed.
    ("id,title\nQ1,ｱｲｳ\n".encode("euc_jp"), "both Shift-JIS and EUC-JP"),
    (codecs.BOM_UTF8 + b"id,title\nQ1,\xff\xfe\n", "byte-order mark"),
])
def test_undecidable_encodings_are_refused(tmp_path, data, why):
    p = tmp_path / "t.csv"
    p.write_bytes(data)
    with pytest.raises(InputError) as e:
        read_table(p)
    assert e.value.field == "table" and why in e.value.expected
    assert "UTF-8" in e.value.expected and "EUC-JP" in e.value.expected


def test_a_japanese_office_export_is_priced_right(tmp_path):
    """cp932, CRLF, grouped digits, yen marks and full-width digits, as Excel saves them."""
    amounts = ['"1,000,000"', '"1,000,000 円"', '"1,000,000円"', "１００００００", '"￥1,000,000"']
    text = "id,title,contract,approach,department,start,end,direct.consumables\r\n" + "".join(
        f"J-{i},電池の研究,joint,X,工学部,2027/4/1,2028/3/31,{a}\r\n"
        for i, a in enumerate(amounts))
    p = tmp_path / "export.csv"
    p.write_bytes(text.encode("cp932"))
    r = run_batch(p, tmp_path / "out", workers=1, progress=False)
    assert (r.written, r.failed) == (5, 0), r.errors
    # By hand: consumables 1,000,000 + 30% indirect 300,000 + 10% strategic 100,000.
    assert [q[5] for q in quotes(r).values()] == [1_400_000] * 5
    assert {q[1] for q in quotes(r).values()} == {"電池の研究"}


# -- columns: checked once, linear ----------------------------------------------------------

def test_an_unknown_column_is_reported_once_with_its_name(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,approach,colour\nQ1,X,red\nQ2,X,blue\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert (e.value.field, e.value.value) == ("header column 3", "colour")
    assert "key paths of a project" in e.value.expected


def test_twenty_thousand_unknown_columns_are_refused_fast(tmp_path):
    # Old code: > 300 s (a key tree rebuilt for each of 20,000 errors).
    head = ["id", "contract", "approach", "start", "end"] + [f"x{i}" for i in range(20_000)]
    p = write_csv(tmp_path / "wide.csv", [["Q1", "joint", "X", "2027-04-01", "2028-03-31"] +
                                          ["1"] * 20_000], head)
    t = time.perf_counter()
    with pytest.raises(InputError) as e:
        run_batch(p, tmp_path / "out", workers=1, progress=False)
    assert time.perf_counter() - t < 10
    assert e.value.field == "header columns 6, 7, 8, 9, 10 and 19,995 more"
    assert e.value.value == ["x0", "x1", "x2", "x3", "x4"]
    assert not (tmp_path / "out").exists()


def test_many_errors_in_one_wide_row_are_mapped_in_linear_time(tmp_path):
    n = 3000
    head = ["id", "contract", "approach", "start", "end"] + [
        k for i in range(1, n + 1) for k in (f"researchers.{i}.rank", f"researchers.{i}.hours")]
    values = ["W1", "joint", "A", "2027-04-01", "2028-03-31"] + ["professor", "-5"] * n
    p = write_csv(tmp_path / "wide.csv", [values], head)
    t = time.perf_counter()
    r = run_batch(p, tmp_path / "out", workers=1, progress=False)
    assert time.perf_counter() - t < 30
    assert r.failed == 1 and len(r.errors) == n
    assert {e.column for e in r.errors} == {f"researchers.{i}.hours" for i in range(1, n + 1)}


@pytest.mark.parametrize("head, second", [("id,project.id", "project.id"),
                                          ("researchers.1.hours,researchers.01.hours",
                                           "researchers.01.hours")])
def test_one_field_under_two_column_names_is_refused(tmp_path, head, second):
    p = tmp_path / "t.csv"
    p.write_text(head + "\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert e.value.value == second and "column 1 has it" in e.value.expected


# -- cells: refused with row, column and value -----------------------------------------------

def errors(tmp_path, rows, head=HEAD):
    r = run_batch(write_csv(tmp_path / "t.csv", rows, head), tmp_path / "out", workers=1,
                  progress=False)
    return r, {(e.row, e.column, e.value) for e in r.errors}


def test_a_field_named_twice_in_a_row_is_refused(tmp_path):
    # Old code: direct.1.amount overwrote the consumables (total ¥1).
    head = HEAD + ["direct.1.category", "direct.1.amount"]
    r, got = errors(tmp_path, [row("D-1") + ["other", 1], row("D-2") + ["", ""]], head)
    assert got == {(2, "direct.consumables", 5_000_000)}
    assert "numbered" in r.errors[0].expected and r.written == 1


@pytest.mark.parametrize("start", [-5, 0, "1899-12-25", "0001-01-01", 3e6, "April"])
def test_dates_outside_1900_to_9999_are_refused(tmp_path, start):
    # Old code: start = -5 became 1899-12-25.
    values = row("S-1")
    values[5] = start
    r, got = errors(tmp_path, [values])
    assert [(e.row, e.column) for e in r.errors] == [(2, "start")]
    assert "1900-01-01" in r.errors[0].expected and r.written == 0


def test_excel_serial_dates_are_dates(tmp_path):
    values = row("S-1")
    values[5], values[6] = 46478, "46842"   # 2027-04-01, 2028-03-31
    r, got = errors(tmp_path, [values])
    assert (r.written, got) == (1, set())


@pytest.mark.parametrize("amount", ["nan", "NaN", "inf", "-Infinity", "1e999999", "1e20"])
def test_nan_inf_and_huge_numbers_are_refused(tmp_path, amount):
    r, got = errors(tmp_path, [row("N-1", consumables=amount)])
    assert got == {(2, "direct.consumables", amount)}


def test_more_cells_than_headers_are_refused(tmp_path):
    # Old code: pandas dropped the extra cell with a warning.
    p = tmp_path / "t.csv"
    p.write_text("id,contract,approach,start,end,direct.consumables\n"
                 "E-1,joint,X,2027-04-01,2028-03-31,1000000,surprise\n"
                 "E-2,joint,X,2027-04-01,2028-03-31,1000000,,\n", encoding="utf-8")
    r = run_batch(p, tmp_path / "out", workers=1, progress=False)
    assert [(e.row, e.column, e.value) for e in r.errors] == [(2, "column 7 (G)", "surprise")]
    assert r.written == 1   # empty trailing cells are no data


def test_xlsx_formula_without_saved_value_error_and_nan_cells_are_refused(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "contract", "approach", "start", "end", "direct.consumables"])
    d = dt.datetime(2027, 4, 1), dt.datetime(2028, 3, 31)
    ws.append(["F-1", "joint", "X", *d, "=1000*1000"])   # openpyxl saves no result
    ws.append(["F-2", "joint", "X", *d, "#DIV/0!"])
    ws.append(["F-3", "joint", "X", *d, 1_000_000])
    wb.save(tmp_path / "t.xlsx")
    r = run_batch(tmp_path / "t.xlsx", tmp_path / "out", workers=1, progress=False)
    got = {e.row: e for e in r.errors}
    assert (got[2].column, got[2].value) == ("direct.consumables", "=1000*1000")
    assert "cell F2 has a formula without a saved result" in got[2].expected
    assert (got[3].column, got[3].value) == ("direct.consumables", "#DIV/0!")
    assert r.written == 1 and sorted(got) == [2, 3]


@pytest.mark.parametrize("bad", ["a\x00b", "line\x0bfeed", "\x1f"])
def test_control_characters_are_refused_in_a_cell(bad):
    assert isinstance(cell_value("title", bad), Refused)
    assert cell_value("title", "tab\tand\nline") == "tab\tand\nline"


def test_project_from_pairs_takes_researchers_01_as_researchers_1():
    from xl_pricing.cells import project_from_pairs

    base = {"id": "Q1", "contract": "joint", "approach": "A", "start": "2027-04-01",
            "end": "2028-03-31", "researchers.1.rank": "professor"}
    p = project_from_pairs({**base, "researchers.01.hours": 10})
    assert len(p.researchers) == 1 and p.researchers[0].hours == 10
    with pytest.raises(InputError, match="each key once"):
        project_from_pairs({**base, "researchers.1.hours": 10, "researchers.01.hours": 20})


def test_a_damaged_xlsx_table_is_refused_before_openpyxl_opens_it(tmp_path):
    p = tmp_path / "t.xlsx"
    p.write_bytes(b"PK\x03\x04 not really a workbook")
    for call in (read_table, count_rows):
        with pytest.raises(InputError) as e:
            call(p)
        assert e.value.field == "table"
