"""Costing rules of rate cards (issue 16): price floors by IP terms, US MTDC with
subawards counted once per award, time charge by the month and FTE, institute vs applied
F&A (under-recovery), and the split of proceeds by tiers, multiples and cost recovery.
Every figure is worked by hand in the comments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from conftest import RATES, make
from xl_pricing import InputError, quote
from xl_pricing.rates import RateCard, deep_merge, parse_card, read_card_document


def card_with(base: str, **over: Any) -> RateCard:
    """A shipped card with some sections laid over it (tables merge, lists replace)."""
    return parse_card(deep_merge(read_card_document(RATES / f"{base}.toml"), over), "test")


# -- price floors by IP terms ------------------------------------------------------------

CAMBRIDGE = {"multiples": {"keeps_ip": 1.0, "non_exclusive": 1.2, "exclusive": 1.4}}


def _floor_project(**info: Any):
    # direct 1,000,000; professor 100 h × 30,000 = 3,000,000; F&A 30% of direct + TC =
    # 1,200,000; strategic 10% of direct = 100,000 → price 5,300,000.
    # Full cost = direct + TC + F&A = 5,200,000.
    return make(project=info, direct=[{"category": "consumables", "amount": 1_000_000}],
                researchers=[{"rank": "professor", "hours": 100}])


@pytest.mark.parametrize("terms,floor,total", [
    ("keeps_ip", 0, 5_300_000),              # 100% × 5,200,000 = 5,200,000 <= 5,300,000
    ("non_exclusive", 940_000, 6_240_000),   # 120% × 5,200,000 = 6,240,000
    ("exclusive", 1_980_000, 7_280_000),     # 140% × 5,200,000 = 7,280,000
])
def test_floor_lifts_price_to_multiple_of_full_cost(terms, floor, total):
    card = card_with("jp-default", floor=CAMBRIDGE)
    q = quote(_floor_project(ip_terms=terms), card)
    assert q.amount_of("floor") == floor
    assert q.total == total
    if floor:
        ln = [ln for ln in q.lines if ln.component == "floor"][0]
        assert ln.base == 5_200_000 and f"floor.multiples.{terms}" in ln.source
        assert dict(ln.by_year) == {2027: floor}
    assert not q.warnings


def test_floor_warns_instead_of_lifting():
    card = card_with("jp-default", floor={**CAMBRIDGE, "action": "warn"})
    q = quote(_floor_project(ip_terms="exclusive"), card)
    assert q.amount_of("floor") == 0 and q.total == 5_300_000
    assert len(q.warnings) == 1
    assert "below the price floor: 5,300,000 yen < 7,280,000 yen" in q.warnings[0]
    assert "最低価格" in q.warnings[0]


def test_default_terms_and_no_terms():
    card = card_with("jp-default", floor={**CAMBRIDGE, "default_terms": "non_exclusive"})
    assert quote(_floor_project(), card).total == 6_240_000
    # Without default terms a project without ip_terms gets no floor.
    assert quote(_floor_project(), card_with("jp-default", floor=CAMBRIDGE)).total == 5_300_000


@pytest.mark.parametrize("hours,warned,total", [
    (200, False, 4_300_000),  # 200 h × 5,000 = 1,000,000 off → 4,300,000 >= 3,900,000
    (400, True, 3_300_000),   # 2,000,000 off → 3,300,000 < 75% × 5,200,000 = 3,900,000
])
def test_aberdeen_warning_below_share_of_full_cost(hours, warned, total):
    card = card_with("jp-default", floor={"warn_below": 0.75,
                                          "approval": "Head of School approval"},
                     contributions={"max_discount_rate": 0.5})
    p = make(direct=[{"category": "consumables", "amount": 1_000_000}],
             researchers=[{"rank": "professor", "hours": 100}],
             contributions=[{"kind": "researcher_hours", "hours": hours}])
    q = quote(p, card)
    assert q.total == total
    assert bool(q.warnings) is warned
    if warned:
        assert "below 75% of full cost: 3,300,000 yen < 0.75 × 5,200,000 yen; " \
               "Head of School approval required" in q.warnings[0]


def test_floor_rounds_the_minimum_up_to_the_card_unit():
    # full-features rounds half up to 1,000 yen: direct 1,234,567; F&A 30% of MTDC =
    # 370,370.1 → 370,000; full cost 1,604,567 × 1.2 = 1,925,480.4 → 1,926,000 (a floor
    # rounds UP to the unit); price = 1,604,567 + strategic 5% of the subtotal (80,228.35
    # → 80,000) = 1,684,567; floor line 1,926,000 − 1,684,567 = 241,433.
    card = card_with("full-features", floor=CAMBRIDGE)
    p = make(project={"ip_terms": "non_exclusive"},
             direct=[{"category": "consumables", "amount": 1_234_567}])
    q = quote(p, card)
    assert q.amount_of("fa") == 370_000 and q.amount_of("strategic") == 80_000
    assert q.amount_of("floor") == 241_433
    assert q.total == 1_926_000


def test_ip_terms_the_card_cannot_price_are_refused(jp):
    with pytest.raises(InputError) as e:
        quote(_floor_project(ip_terms="exclusive"), jp)
    assert e.value.field == "project.ip_terms"
    assert "IP terms with a price floor in card 'jp-default' (none)" in e.value.message
    with pytest.raises(InputError) as e:
        _floor_project(ip_terms="sold")
    assert "project.ip_terms" in str(e.value) and "'keeps_ip'" in str(e.value)


def test_floor_card_validation():
    with pytest.raises(InputError) as e:
        card_with("jp-default", floor={"multiples": {"keeps_ip": 1.0},
                                       "default_terms": "exclusive"})
    assert "floor.default_terms" in str(e.value)


# -- US MTDC (2 CFR 200.1) ---------------------------------------------------------------

UG = {"base": "mtdc",
      "mtdc_excluded": ["equipment", "capital_expenditures", "patient_care", "rental_costs",
                        "tuition_remission", "scholarships_fellowships",
                        "participant_support"],
      "subaward_included_up_to": 3_750_000,          # 25,000 USD at 150 JPY/USD
      "subaward_thresholds": [{"effective_from": "2024-10-01",
                               "amount": 7_500_000}]}  # 50,000 USD (revised UG)


def _two_subawards(award: str):
    return make(project={"start": "2025-04-01", "end": "2027-03-31", "award_date": award},
                direct=[{"category": "consumables", "amount": 1_000_000, "fiscal_year": 2025},
                        {"category": "consumables", "amount": 1_000_000, "fiscal_year": 2026},
                        {"category": "subaward", "subaward": "S1", "amount": 5_000_000,
                         "fiscal_year": 2025},
                        {"category": "subaward", "subaward": "S1", "amount": 5_000_000,
                         "fiscal_year": 2026},
                        {"category": "subaward", "subaward": "S2", "amount": 8_000_000,
                         "fiscal_year": 2026},
                        {"category": "subaward", "subaward": "S2", "amount": 2_000_000,
                         "fiscal_year": 2025},
                        {"category": "equipment", "amount": 3_000_000, "fiscal_year": 2025},
                        {"category": "rental_costs", "amount": 500_000, "fiscal_year": 2026}])


def test_mtdc_counts_each_subaward_once_over_the_award():
    from xl_pricing.pricing.stacked import mtdc
    card = card_with("mit", fa=UG)
    # Award 2025-03-01: threshold 7,500,000 per subaward over the whole award.
    # FY2025: consumables 1,000,000 + S1 5,000,000 + S2 2,000,000 = 8,000,000
    # FY2026: consumables 1,000,000 + S1 2,500,000 (7.5M − 5M) + S2 5,500,000 (7.5M − 2M)
    #         = 9,000,000; equipment and rental costs are left out.
    p = _two_subawards("2025-03-01")
    assert mtdc(p, card) == {2025: 8_000_000, 2026: 9_000_000}
    q = quote(p, card)
    fa = [ln for ln in q.lines if ln.component == "fa"][0]
    # 54.7% × 8,000,000 = 4,376,000; × 9,000,000 = 4,923,000
    assert dict(fa.by_year) == {2025: 4_376_000, 2026: 4_923_000}
    assert fa.base == 17_000_000


def test_mtdc_threshold_before_the_revised_uniform_guidance():
    from xl_pricing.pricing.stacked import mtdc, subaward_threshold
    from datetime import date
    card = card_with("mit", fa=UG)
    assert subaward_threshold(card, date(2024, 9, 30)) == 3_750_000
    assert subaward_threshold(card, date(2024, 10, 1)) == 7_500_000
    # Award 2024-09-30: 3,750,000 per subaward.
    # FY2025: 1,000,000 + S1 3,750,000 + S2 2,000,000 = 6,750,000
    # FY2026: 1,000,000 + S1 0 + S2 1,750,000 = 2,750,000
    assert mtdc(_two_subawards("2024-09-30"), card) == {2025: 6_750_000, 2026: 2_750_000}


def test_subaward_without_id_is_its_own_subaward(jp):
    from xl_pricing.pricing.stacked import mtdc
    card = card_with("mit", fa=UG)
    p = make(project={"start": "2025-04-01", "end": "2026-03-31"},
             direct=[{"category": "subaward", "amount": 5_000_000},
                     {"category": "subaward", "amount": 9_000_000}])
    assert mtdc(p, card) == {2025: 5_000_000 + 7_500_000}


def test_subaward_id_only_on_subaward_items():
    with pytest.raises(InputError) as e:
        make(direct=[{"category": "travel", "subaward": "S1", "amount": 1}])
    assert "direct[0].subaward" in str(e.value)
    assert "only on an item of category 'subaward'" in str(e.value)


def test_mtdc_categories_match_exactly_and_near_misses_are_warned():
    card = card_with("mit", fa=UG)
    p = make(direct=[{"category": "consumables", "amount": 1_000_000},
                     {"category": "Equipment", "amount": 1_000_000},
                     {"category": "設備備品費", "amount": 1_000_000}])
    q = quote(p, card)
    assert q.amount_of("fa") == 1_641_000           # 54.7% × 3,000,000: both stay in
    assert len(q.warnings) == 2
    assert "direct[1].category 'Equipment'" in q.warnings[0]
    assert "excludes 'equipment'" in q.warnings[1]
