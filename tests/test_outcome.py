"""Approach C: floor + lump sum + milestones + KPI fees + expected royalty."""

from decimal import Decimal

import pytest

from conftest import example, make
from xl_pricing import InputError, quote
from xl_pricing.pricing.outcome import milestones, royalty, success_fee


def test_royalty_milestones_success_fee():
    assert royalty([Decimal(100_000_000)], Decimal("0.03")) == 3_000_000
    assert royalty([Decimal(100_000_000), Decimal(200_000_000)], Decimal("0.03"),
                   Decimal("0.5")) == 4_500_000
    assert milestones([Decimal(1), Decimal(2), Decimal(4)], [True, False, True]) == 5
    assert success_fee(Decimal(5_600_000), Decimal(3_375_000), Decimal(2_000_000),
                       Decimal(1_000_000), Decimal(500_000)) == 12_475_000
    with pytest.raises(InputError, match="one flag per milestone"):
        milestones([Decimal(1)], [True, False])
    with pytest.raises(InputError, match="between 0 and 1"):
        royalty([Decimal(1)], Decimal(3))


def test_c_example_by_hand(jp):
    q = quote(example("c-outcome-royalty"), jp)
    # floor = approach X: 4,000,000 + 30% + 10% = 5,600,000
    assert q.amount_of("direct") + q.amount_of("indirect") + q.amount_of("strategic") \
        == 5_600_000
    assert q.amount_of("lump_sum") == 1_000_000
    assert q.amount_of("milestone") == 2_000_000    # only the achieved one
    assert q.amount_of("kpi") == 500_000
    # royalty 2% × 50%: low 150M → 1.5M, base 300M → 3M, high 600M → 6M;
    # expected 0.25 × 1.5M + 0.5 × 3M + 0.25 × 6M = 3,375,000
    assert q.amount_of("royalty") == 3_375_000
    assert q.total == 12_475_000
    sc = q.extras["scenarios"]
    assert [sc[s]["total"] for s in ("low", "base", "high")] == \
        [10_600_000, 12_100_000, 15_100_000]
    assert q.extras["pending_fees"] == [{"kind": "milestone", "name": "first commercial order",
                                         "amount": 3_000_000}]
    assert q.extras["equity"]["stock_options"] == 10_000


def test_explicit_floor_and_project_weights(full):
    p = make(project={"approach": "C"},
             outcome={"floor": 2_000_000, "royalty_rate": "0.05",
                      "sales": [{"fiscal_year": 2028, "low": 0, "base": 10_000_000,
                                 "high": 30_000_000}],
                      "scenario_weights": {"low": "0.5", "base": "0.3", "high": "0.2"}})
    q = quote(p, full)
    # royalty low 0, base 500,000, high 1,500,000; expected 150,000 + 300,000 = 450,000
    assert q.amount_of("royalty") == 450_000
    assert q.total == 2_450_000


def test_royalty_rounds_attributable_sales_first():
    from xl_pricing.money import Rounding
    half = Rounding("half_up", 1)
    # attributable 1,000,001 × 0.5 = 500,000.5 → 500,001; × 0.5 = 250,000.5 → 250,001
    # (one step would give 250,000.25 → 250,000)
    assert royalty([Decimal(1_000_001)], Decimal("0.5"), Decimal("0.5"), half) == 250_001
    assert royalty([Decimal(1_000_001)], Decimal("0.5"), Decimal("0.5")) == 250_000
