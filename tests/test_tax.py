from decimal import Decimal

from conftest import make
from xl_pricing import quote
from xl_pricing.pricing import tax_credit
from xl_pricing.pricing.tax import tax_credit_amount


def test_handbook_thirty_percent_credit():
    assert tax_credit_amount(Decimal(10_000_000), Decimal("0.30")) == 3_000_000
    assert tax_credit_amount(Decimal(333_333), Decimal("0.30")) == 99_999


def test_partner_rates_and_cap(jp):
    assert tax_credit(Decimal(10_000_000), jp).credit == 3_000_000
    assert tax_credit(Decimal(10_000_000), jp, "startup").credit == 2_500_000
    assert tax_credit(Decimal(10_000_000), jp, "company").credit == 2_000_000
    capped = tax_credit(Decimal(10_000_000), jp, corporate_tax=Decimal(20_000_000))
    assert capped.credit == 2_000_000 and capped.capped        # 10% of corporate tax


def test_institution_minimum(full):
    low = tax_credit(Decimal(900_000), full)
    assert not low.eligible and low.credit == 0 and "minimum" in low.reason
    assert tax_credit(Decimal(1_000_000), full).credit == 300_000


def test_credit_excludes_consumption_tax(full):
    q = quote(make(project={"approach": "X", "contract": "consulting"},
                   direct=[{"category": "c", "amount": 1_000_000}]), full)
    assert tax_credit(q.pre_tax_total(), full).credit == 346_500   # 30% of 1,155,000
