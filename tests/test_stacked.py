"""Approach A: direct + time charge + F&A + strategic + options − discount."""

from decimal import Decimal

import pytest

from conftest import example, make
from xl_pricing import InputError, load_card, quote


def test_a_example_by_hand(jp):
    q = quote(example("a-stacked-sponsored"), jp)
    tc = {ln.detail: ln.amount for ln in q.lines if ln.component == "time_charge"}
    assert tc == {
        "Prof. Sato": 6_000_000,              # 30,000 yen/h × 200 h (rank table)
        "Assoc. Prof. Suzuki": 859_878,       # 8,600,000 ÷ 1,860 h → 4,623 yen/h × 186 h
        "Prof. Tanaka (advice)": 600_000,     # 50,000 yen/h × 12 h (consulting)
        "Dr. Ito (postdoc)": 960_000,         # £600 × 160 × 10 days
    }
    assert q.amount_of("direct") == 2_000_000
    assert q.amount_of("fa") == 3_125_963                 # 30% × (2,000,000 + 8,419,878)
    assert q.amount_of("strategic") == 200_000            # 10% of direct
    opts = {ln.detail: ln.amount for ln in q.lines if ln.component == "option"}
    assert opts == {"IP co-ownership": 1_041_987,          # 10% of direct + TC
                    "Continuous know-how provision": 1_000_000}
    assert q.amount_of("discount") == -500_000            # 100 h × 5,000 credited
    assert q.total == 15_287_828


def test_full_features_a_by_hand(full):
    p = make(project={"field": "natural_sciences"},
             direct=[{"category": "consumables", "amount": 2_000_000},
                     {"category": "equipment", "amount": 1_000_000},
                     {"category": "subaward", "amount": 4_000_000}],
             researchers=[{"rank": "professor", "hours": 100},
                          {"rank": "associate_professor", "rate_source": "salary",
                           "months": 12, "effort": "0.1"},
                          {"name": "laureate", "rate_source": "laureate", "hours": 2}],
             options=["ip_co_ownership", "data_provision"],
             contributions=[{"kind": "equipment", "value": 2_000_000},
                            {"kind": "researcher_hours", "hours": 100}])
    q = quote(p, full)
    assert q.amount_of("time_charge") == 2_500_000 + 825_000 + 1_000_000
    # MTDC: consumables 2,000,000 + subaward capped at 3,000,000; equipment excluded
    fa = [ln for ln in q.lines if ln.component == "fa"][0]
    assert fa.base == 5_000_000 and fa.rate == Decimal("0.40") and fa.amount == 2_000_000
    assert q.amount_of("strategic") == 666_000     # 5% of 13,325,000 = 666,250 → 1,000s
    opts = {ln.detail: ln.amount for ln in q.lines if ln.component == "option"}
    assert opts == {"IP co-ownership": 1_699_000,  # 15% of 11,325,000 = 1,698,750 → 1,000s
                    "Data provision": 750_000}
    assert q.amount_of("discount") == -900_000     # 2,000,000 × 25% + 100 h × 4,000
    assert q.total == 15_540_000


def test_discount_is_capped(jp):
    p = make(direct=[{"category": "c", "amount": 1_000_000}],
             contributions=[{"kind": "researcher_hours", "hours": 10_000}])
    q = quote(p, jp)
    subtotal = 1_000_000 + 300_000 + 100_000      # direct + F&A 30% + strategic 10%
    assert q.amount_of("discount") == -subtotal * Decimal("0.2")
    assert "capped" in [ln for ln in q.lines if ln.component == "discount"][0].source


@pytest.mark.parametrize("card_id,fa_amount", [
    ("harvard", 6_900_000), ("yale", 6_700_000), ("stanford", 5_700_000),
    ("mit", 5_470_000), ("princeton", 6_200_000)])
def test_us_fa_on_ten_million_direct(card_id, fa_amount):
    q = quote(make(direct=[{"category": "consumables", "amount": 10_000_000}]),
              load_card(card_id))
    assert q.amount_of("fa") == fa_amount
    assert q.total == 10_000_000 + fa_amount + 1_000_000     # + jp-default strategic 10%


def test_us_mtdc_leaves_out_equipment_and_tuition():
    q = quote(make(direct=[{"category": "consumables", "amount": 1_000_000},
                           {"category": "equipment", "amount": 5_000_000},
                           {"category": "tuition", "amount": 2_000_000}]), load_card("mit"))
    assert q.amount_of("fa") == 547_000


def test_off_campus_and_missing_rate(jp):
    q = quote(make(project={"location": "off"}, direct=[{"category": "c", "amount": 1_000_000}]),
              load_card("harvard"))
    assert q.amount_of("fa") == 260_000
    with pytest.raises(InputError, match="research/off"):
        quote(make(project={"location": "off"}, direct=[{"category": "c", "amount": 1}]),
              load_card("stanford"))


def test_multi_year_escalation_example_by_hand(jp):
    q = quote(example("a-multiyear-escalation"), jp)
    tc = [ln for ln in q.lines if ln.component == "time_charge"][0]
    # 240 h over 6 + 12 + 6 months = 60 / 120 / 60 h at 50,000 yen/h, +3% a year
    assert dict(tc.by_year) == {2027: 3_000_000, 2028: 6_180_000, 2029: 3_182_700}
    fa = [ln for ln in q.lines if ln.component == "fa"][0]
    # off campus 15% of direct + TC, each fiscal year
    assert dict(fa.by_year) == {2027: 540_000, 2028: 1_107_000, 2029: 567_405}
    assert q.amount_of("strategic") == 240_000
    assert q.total == 17_217_105
    assert sum(q.by_year().values()) == q.total


def test_fa_rate_change_between_fiscal_years(full):
    p = make(project={"end": "2029-03-31"},
             direct=[{"category": "c", "amount": 1_000_000, "fiscal_year": 2027},
                     {"category": "c", "amount": 1_000_000, "fiscal_year": 2028}])
    fa = [ln for ln in quote(p, full).lines if ln.component == "fa"][0]
    assert dict(fa.by_year) == {2027: 300_000, 2028: 320_000}
    assert fa.rate is None and "FY2027 30% / FY2028 32%" in fa.source
