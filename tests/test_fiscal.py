from decimal import Decimal

from conftest import make
from xl_pricing.money import Rounding
from xl_pricing.pricing.fiscal import direct_by_year, escalated_rates, rate_date, split_by_months


def test_split_by_months_adds_up_exactly():
    parts = split_by_months(Decimal(100), {2027: 1, 2028: 2})
    assert parts == {2027: Decimal("33.3333"), 2028: Decimal("66.6667")}
    assert sum(parts.values()) == 100
    assert split_by_months(Decimal(240), {2027: 6, 2028: 12, 2029: 6}) == \
        {2027: 60, 2028: 120, 2029: 60}
    assert split_by_months(Decimal("7.75"), {2027: 12}) == {2027: Decimal("7.75")}


def test_escalation_compounds_and_rounds_each_year():
    down = Rounding("down", 1)
    assert escalated_rates(Decimal(10_000), Decimal("0.03"), 3, down) == [10_000, 10_300, 10_609]
    # 33,333 × 1.03 = 34,332.99 → 34,332; × 1.03 = 35,361.96 → 35,361
    assert escalated_rates(Decimal(33_333), Decimal("0.03"), 3, down) == \
        [33_333, 34_332, 35_361]
    assert escalated_rates(Decimal(33_333), Decimal("0.03"), 2, Rounding("half_up", 1))[1] \
        == 34_333


def test_items_without_year_fall_in_the_first_year_and_rates_on_year_start():
    p = make(project={"start": "2027-10-01", "end": "2029-03-31"},
             direct=[{"category": "c", "amount": 5}, {"category": "c", "amount": 7,
                                                      "fiscal_year": 2028}])
    assert direct_by_year(p) == {"c": {2027: 5, 2028: 7}}
    assert str(rate_date(p, 2027)) == "2027-10-01" and str(rate_date(p, 2028)) == "2028-04-01"
