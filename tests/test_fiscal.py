from decimal import Decimal

from conftest import make
from xl_pricing.pricing.fiscal import direct_by_year, escalated, rate_date, split_by_months


def test_split_by_months_is_exact():
    parts = split_by_months(Decimal(100), {2027: 1, 2028: 2})
    assert sum(parts.values()) == 100 or abs(sum(parts.values()) - 100) < Decimal("1e-40")
    assert split_by_months(Decimal(240), {2027: 6, 2028: 12, 2029: 6}) == \
        {2027: 60, 2028: 120, 2029: 60}


def test_escalation_compounds():
    assert escalated(Decimal(10_000), Decimal("0.03"), 0) == 10_000
    assert escalated(Decimal(10_000), Decimal("0.03"), 2) == Decimal("10609")


def test_items_without_year_fall_in_the_first_year_and_rates_on_year_start():
    p = make(project={"start": "2027-10-01", "end": "2029-03-31"},
             direct=[{"category": "c", "amount": 5}, {"category": "c", "amount": 7,
                                                      "fiscal_year": 2028}])
    assert direct_by_year(p) == {"c": {2027: 5, 2028: 7}}
    assert str(rate_date(p, 2027)) == "2027-10-01" and str(rate_date(p, 2028)) == "2028-04-01"
