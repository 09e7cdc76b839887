from decimal import Decimal

import pytest

from xl_pricing.money import D, Rounding, fmt_rate, fmt_yen, yen_int


@pytest.mark.parametrize("rule,unit,amount,expected", [
    ("down", 1, "1234.9", 1234),          # 円未満切り捨て
    ("down", 1, "-1234.9", -1234),        # toward zero, as Excel ROUNDDOWN
    ("half_up", 1, "1234.5", 1235),
    ("half_up", 1, "1234.4999", 1234),
    ("half_up", 1, "-2.5", -3),           # Excel ROUND(-2.5, 0) = -3
    ("up", 1, "1234.01", 1235),
    ("up", 1, "-1234.01", -1235),         # Excel ROUNDUP is away from zero
    ("down", 1000, "1234567", 1234000),   # some institutions round to 1,000 yen
    ("half_up", 1000, "1234500", 1235000),
    ("half_up", 1000, "1234499", 1234000),
    ("up", 100, "1234501", 1234600),
    ("down", 10, "99", 90),
])
def test_rounding_rules_and_units(rule, unit, amount, expected):
    assert Rounding(rule, unit).apply(Decimal(amount)) == expected


def test_exact_products_are_not_nudged_by_binary_floats():
    # 0.547 × 10,000,000 is exactly 5,470,000; a binary float would give 5469999.999...
    assert Rounding("down", 1).apply(Decimal(10_000_000) * D(0.547)) == 5_470_000
    assert D(0.1) == Decimal("0.1")


def test_booleans_are_not_numbers():
    with pytest.raises(TypeError):
        D(True)


def test_display_helpers_store_fractions_show_percent():
    assert fmt_rate(Decimal("0.52")) == "52%"      # never "0.52%"
    assert fmt_rate(Decimal("0.547")) == "54.7%"
    assert fmt_rate(Decimal("1")) == "100%"
    assert fmt_yen(Decimal(1234567)) == "¥1,234,567"
    assert fmt_yen(Decimal(-500)) == "-¥500"
    assert yen_int(Decimal("100.00")) == 100
    with pytest.raises(ValueError):
        yen_int(Decimal("100.5"))
