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


def test_jp_default_prices_include_consumption_tax(capsys):
    """jp-default states amounts including consumption tax, as MEXT's model contracts for
    national universities do ("うち消費税額及び地方消費税額"): the handbook's totals stand and
    the quote says the tax they contain."""
    from typer.testing import CliRunner

    from conftest import PROJECTS
    from xl_pricing import load_card, load_project
    from xl_pricing.cli import app
    jp = load_card("jp-default")
    path = PROJECTS / "a-stacked-sponsored.toml"
    q = quote(load_project(path), jp)
    # 15,287,828 × 10 / 110 = 1,389,802.5… → 1,389,802 (rounded down); no tax line added
    assert q.total == 15_287_828 and q.amount_of("consumption_tax") == 0
    assert q.extras["consumption_tax_included"] == 1_389_802
    out = CliRunner().invoke(app, ["quote", str(path)]).stdout
    assert "うち消費税 / of which consumption tax 10%: ¥1,389,802" in out
    # A US card takes no Japanese consumption tax.
    assert "consumption_tax_included" not in quote(load_project(path),
                                                   load_card("harvard")).extras
