"""Reading tables of projects (xl_pricing.batch.table): encodings, columns, cells."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from xl_pricing.batch import (Refused, cell_value, column_of, count_rows, read_table)
from xl_pricing.errors import InputError



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
