"""Approach X: direct + indirect (30%) + strategic."""

from decimal import Decimal

from conftest import example, make
from xl_pricing import quote
from xl_pricing.pricing.cost import indirect


def test_indirect_is_thirty_percent_of_direct():
    assert indirect(Decimal(5_000_000), Decimal("0.30")) == 1_500_000


def test_x_example_by_hand(jp):
    q = quote(example("x-cost-joint"), jp)
    # direct 2,000,000 + 1,800,000 + 400,000 + 800,000 = 5,000,000
    assert q.amount_of("direct") == 5_000_000
    assert q.amount_of("indirect") == 1_500_000      # 30%
    assert q.amount_of("strategic") == 500_000       # 10% of direct
    assert q.total == 7_000_000
    assert q.rate_card["id"] == "jp-default" and len(q.rate_card["sha256"]) == 64


def test_x_rounds_each_line_once(jp):
    q = quote(make(project={"approach": "X"}, direct=[{"category": "c", "amount": 333_333}]),
              jp)
    assert q.amount_of("indirect") == 99_999         # 99,999.9 rounded down
    assert q.amount_of("strategic") == 33_333
    assert q.total == 333_333 + 99_999 + 33_333


def test_consulting_with_contract_rate_and_consumption_tax(full):
    q = quote(make(project={"approach": "X", "contract": "consulting"},
                   direct=[{"category": "c", "amount": 1_000_000}]), full)
    assert q.amount_of("indirect") == 100_000        # by_contract consulting 10%
    assert q.amount_of("strategic") == 55_000        # 5% of subtotal 1,100,000
    assert q.amount_of("consumption_tax") == 116_000  # 10% of 1,155,000 = 115,500 → 1,000s
    assert q.total == 1_271_000
    assert q.pre_tax_total() == 1_155_000


def test_multi_year_x_rounds_per_fiscal_year(jp):
    q = quote(make(project={"approach": "X", "end": "2029-03-31"},
                   direct=[{"category": "c", "amount": 100_001, "fiscal_year": 2027},
                           {"category": "c", "amount": 100_001, "fiscal_year": 2028}]), jp)
    ind = [ln for ln in q.lines if ln.component == "indirect"][0]
    assert dict(ind.by_year) == {2027: 30_000, 2028: 30_000}   # 30,000.3 each, down
    assert q.by_year() == {2027: 140_001, 2028: 140_001}


def test_blended_rate_rounds_once_at_the_end():
    from xl_pricing.rates.card import Choice
    from xl_pricing.pricing.cost import blended
    # 1,000,000 × (0.30 × 91 + 0.35 × 275) ÷ 366 = 337,568.306…, exact (the line rounds it)
    got = blended(Decimal(1_000_000), [Choice(Decimal("0.30"), 91, ""),
                                       Choice(Decimal("0.35"), 275, "")])
    assert Decimal("337568.30") < got < Decimal("337568.31")
    assert blended(Decimal(1_000_000), [Choice(Decimal("0.30"), 366, "")]) == 300_000
