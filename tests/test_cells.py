"""cells: the one converter from Excel and table values to engine values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from xl_pricing.cells import (EXCEL_EPOCH, LAST_SERIAL, cell_value, excel_date, excel_serial,
                              nonnegative, number, project_from_pairs, project_to_pairs)
from xl_pricing.errors import InputError

BASE = {"id": "Q1", "contract": "joint", "approach": "X", "start": "2027-04-01",
        "end": "2028-03-31"}


@pytest.mark.parametrize("given, expected", [
    (5000000.0, Decimal("5000000")),
    (0.547, Decimal("0.547")),            # the decimal typed, not the binary float's digits
    (0.1, Decimal("0.1")),
    (12, Decimal("12")),
    (Decimal("1.50"), Decimal("1.50")),
    ("1,000,000", Decimal("1000000")),
    ("¥1,000,000", Decimal("1000000")),
    ("￥1,000,000", Decimal("1000000")),
    ("1,000,000円", Decimal("1000000")),
    ("１，０００，０００", Decimal("1000000")),  # full-width digits and commas
    (" 42 ", Decimal("42")),
    (np.float64(0.3), Decimal("0.3")),      # as formulas and pandas pass them
    (np.int64(7), Decimal("7")),
    ("-250,000", Decimal("-250000")),
])
def test_numbers_as_offices_type_them(given, expected):
    assert number(given, "amount") == expected


@pytest.mark.parametrize("given", [
    float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "-inf", "1e999999", 1e308,
    "abc", "1.2.3", True, False, [1], {"a": 1}, np.float64("nan"), "¥", "円",
    "1,5", "1,0000", "12,34,567", ",000",
])
def test_non_numbers_are_refused_with_the_field(given):
    with pytest.raises(InputError) as err:
        number(given, "hours")
    assert err.value.field == "hours"


def test_missing_and_negative():
    with pytest.raises(InputError, match="hours is missing"):
        number(None, "hours")
    with pytest.raises(InputError, match="hours = -5: expected a number >= 0"):
        nonnegative(-5, "hours")
    assert nonnegative("1,860", "hours") == 1860


def test_tiny_binary_noise_is_dropped():
    assert number(1e-20, "rate") == 0
    assert number(0.30000000000000004, "rate") == Decimal("0.3")


def test_cell_values():
    assert cell_value(3.0) == 3 and type(cell_value(3.0)) is int
    assert cell_value(0.547) == Decimal("0.547")
    assert cell_value(dt.datetime(2027, 4, 1, 0, 0)) == dt.date(2027, 4, 1)
    assert cell_value(np.float64(2.5)) == Decimal("2.5")
    assert cell_value("text") == "text"


def test_dates_by_serial_number_and_bounds():
    assert excel_date(46478.0) == dt.date(2027, 4, 1)
    assert excel_date(1) == dt.date(1900, 1, 1)
    assert excel_date(59) == dt.date(1900, 2, 28) and excel_date(61) == dt.date(1900, 3, 1)
    assert excel_serial(dt.date(1900, 2, 28)) == 59 and excel_serial(dt.date(1900, 3, 1)) == 61
    assert excel_date(LAST_SERIAL) == dt.date(9999, 12, 31)
    assert excel_serial(dt.date(2027, 4, 1)) == 46478
    assert excel_serial(dt.datetime(2027, 4, 1, 12)) == 46478.5
    assert EXCEL_EPOCH == dt.date(1899, 12, 30)
    for bad in (-5, 0, 1e9, 1e12, 99999999, float("nan"), float("inf")):
        with pytest.raises(InputError, match="start = .*a date from 1900-01-01 to 9999-12-31"):
            excel_date(bad, "start")


def test_named_and_numbered_direct_items_are_not_mixed():
    # issue 12 item 7: the numbered form used to replace the short form's amount (total ¥1).
    with pytest.raises(InputError, match="one way of giving direct"):
        project_from_pairs({**BASE, "direct.consumables": 5e6, "direct.1.amount": 1,
                            "direct.1.category": "travel"})


def test_a_key_given_twice_is_refused():
    rows = [*BASE.items(), ("direct.consumables", 1), ("direct.consumables", 2)]
    with pytest.raises(InputError, match="each key once"):
        project_from_pairs(rows)
    with pytest.raises(InputError, match="each key once"):
        project_from_pairs([*BASE.items(), ("approach", "A")])


def test_negative_serial_start_is_refused_not_1899():
    with pytest.raises(InputError, match="start = -5"):
        project_from_pairs({**BASE, "start": -5, "direct.consumables": 1})


def test_pairs_round_trip():
    data = {"project": {"id": "Q1"}, "direct": [{"category": "travel", "amount": 5}]}
    assert project_to_pairs(data) == [("id", "Q1"), ("direct.1.category", "travel"),
                                      ("direct.1.amount", 5)]
