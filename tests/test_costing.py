"""Costing rules of rate cards (issue 16): price floors by IP terms, US MTDC with
subawards counted once per award, time charge by the month and FTE, institute vs applied
F&A (under-recovery), and the split of proceeds by tiers, multiples and cost recovery.
Every figure is worked by hand in the comments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        assert ln.label_ja.startswith("最低価格（") and ln.label_en.startswith("Floor price (")
        assert dict(ln.by_year) == {2027: floor}
    assert not q.warnings


def test_industrial_view_folds_the_floor_uplift():
    from xl_pricing.pricing.industrial import fully_loaded
    q = quote(_floor_project(ip_terms="exclusive"), card_with("jp-default", floor=CAMBRIDGE))
    loaded = fully_loaded(q)
    # direct 1,000,000 and TC 3,000,000 carry the 3,280,000 of F&A, strategic and floor:
    # 1,000,000 + 3,280,000 × 1/4 = 1,820,000; 3,000,000 + 3,280,000 × 3/4 = 5,460,000
    assert [a for _, a in loaded] == [1_820_000, 5_460_000]
    assert sum(a for _, a in loaded) == q.total == 7_280_000
    assert not any("Floor" in label for label, _ in loaded)


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


# Review finding 19: the floor is met by every approach (README "Price floors").

def test_floor_lifts_an_approach_x_price_too():
    cam = card_with("cambridge")
    # Approach X, exclusive licence: direct 1,000,001; indirect 30% = 300,000.3 → 300,000;
    # no strategic → price = full cost 1,300,001 (it was priced so, with no floor).
    # Minimum 140% × 1,300,001 = 1,820,001.4 → 1,820,002 (rounded up); floor line 520,001.
    p = make(project={"approach": "X", "ip_terms": "exclusive"},
             direct=[{"category": "consumables", "amount": 1_000_001}])
    q = quote(p, cam)
    assert q.amount_of("indirect") == 300_000
    assert q.amount_of("floor") == 520_001 and q.total == 1_820_002
    ln = [ln for ln in q.lines if ln.component == "floor"][0]
    assert ln.base == 1_300_001 and "floor.multiples.exclusive" in ln.source
    # Keeps IP (100%): the price is the full cost, no floor line.
    keeps = quote(p.model_copy(update={"project": p.project.model_copy(
        update={"ip_terms": "keeps_ip"})}), cam)
    assert keeps.amount_of("floor") == 0 and keeps.total == 1_300_001
    # action = "warn": no line, one warning.
    warn = quote(p, card_with("cambridge", floor={"action": "warn"}))
    assert warn.total == 1_300_001
    assert [w for w in warn.warnings if "below the price floor: 1,300,001 yen < 1,820,002 yen"
            in w]


def test_floor_warns_on_an_agreed_total_and_an_outcome_price_without_changing_them():
    cam = card_with("cambridge")
    direct = [{"category": "consumables", "amount": 1_000_000}]
    # Approach B, agreed 1,500,000 on direct 1,000,000, exclusive: the approach-X full cost
    # is 1,000,000 + 30% = 1,300,000, minimum 140% = 1,820,000 > 1,500,000 → a warning;
    # the agreed total stays 1,500,000.
    b = quote(make(project={"approach": "B", "ip_terms": "exclusive"}, direct=direct,
                   total={"agreed": 1_500_000}), cam)
    assert b.total == 1_500_000 and b.amount_of("floor") == 0
    assert any("below the price floor: 1,500,000 yen < 1,820,000 yen" in w
               and "approach B" in w for w in b.warnings)
    # Agreed 2,000,000 ≥ 1,820,000: no warning.
    ok = quote(make(project={"approach": "B", "ip_terms": "exclusive"}, direct=direct,
                    total={"agreed": 2_000_000}), cam)
    assert not ok.warnings
    # Booked as A the build-up already holds the floor line (100 h × 30,000 = 3,000,000 TC;
    # full cost 5,200,000 × 1.4 = 7,280,000): an agreed total below it is refused.
    with pytest.raises(InputError, match="7,280,000"):
        quote(make(project={"approach": "B", "ip_terms": "exclusive"}, direct=direct,
                   researchers=[{"rank": "professor", "hours": 100}],
                   total={"agreed": 7_000_000, "book_as": "A"}), cam)
    # Approach C, agreed floor 1,000,000 + lump sum 200,000 = 1,200,000 < 1,820,000: warned.
    c = quote(make(project={"approach": "C", "ip_terms": "exclusive"}, direct=direct,
                   outcome={"floor": 1_000_000, "lump_sum": 200_000}), cam)
    assert c.total == 1_200_000
    assert any("below the price floor: 1,200,000 yen < 1,820,000 yen" in w
               and "approach C" in w for w in c.warnings)


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
    assert "each subaward up to 7,500,000 over the award: fa.subaward_thresholds" in fa.source


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


# -- time charge by the month, and FTE --------------------------------------------------

MONTHLY = {"time_charge": {"ranks": {"professor": {"monthly": 400_000}}}}


def test_monthly_rate_from_the_card_and_the_researcher():
    card = card_with("jp-default", **MONTHLY)
    p = make(researchers=[
        {"name": "A", "rank": "professor", "rate_source": "monthly", "months": 6},
        {"name": "B", "rate_source": "monthly", "monthly_rate": 250_000, "months": 3,
         "effort": "0.2"}])
    q = quote(p, card)
    tc = {ln.detail: ln for ln in q.lines if ln.component == "time_charge"}
    assert tc["A"].amount == 2_400_000            # 400,000 yen/month × 6 months
    assert tc["A"].unit == "month" and tc["A"].base == 6
    assert "time_charge.ranks.professor.monthly" in tc["A"].source
    assert tc["A"].fte is None                    # no effort: the hours are unknown
    assert tc["B"].amount == 750_000              # 250,000 × 3
    # effort 0.2 estimates the hours: 1,860 × 0.2 × 3 ÷ 12 = 93 h; over the 12-month
    # project 93 ÷ 1,860 = 0.05 FTE
    assert tc["B"].fte == Decimal("0.0500")
    assert tc["B"].to_dict()["fte"] == 0.05


def test_monthly_rate_over_two_fiscal_years_escalates():
    card = card_with("jp-default", **MONTHLY)
    # 2027-10 … 2028-09: 6 months in FY2027, 6 in FY2028; 12 months × 300,000, 3% a year
    p = make(project={"start": "2027-10-01", "end": "2028-09-30", "escalation": "0.03"},
             researchers=[{"rate_source": "monthly", "monthly_rate": 300_000,
                           "months": 12}])
    ln = [ln for ln in quote(p, card).lines if ln.component == "time_charge"][0]
    # FY2027 6 × 300,000 = 1,800,000; FY2028 6 × 309,000 = 1,854,000
    assert dict(ln.by_year) == {2027: 1_800_000, 2028: 1_854_000}


def test_monthly_needs_months_and_a_monthly_rate(jp):
    with pytest.raises(InputError) as e:
        make(researchers=[{"rank": "professor", "rate_source": "monthly", "hours": 10}])
    assert "researchers[0].months" in str(e.value)
    with pytest.raises(InputError) as e:
        quote(make(researchers=[{"rank": "professor", "rate_source": "monthly",
                                 "months": 2}]), jp)
    assert e.value.field == "researchers[0].monthly_rate"
    assert "a monthly rate (rank 'professor' has none in card 'jp-default')" in str(e.value)
    with pytest.raises(InputError) as e:
        make(researchers=[{"rank": "professor", "monthly_rate": 1, "hours": 1}])
    assert "researchers[0].monthly_rate" in str(e.value)


def test_a_rank_priced_by_the_month_only():
    card = card_with("jp-default", time_charge={"ranks": {"visiting": {
        "label_ja": "客員教授", "label_en": "Visiting professor", "monthly": 500_000}}})
    p = make(researchers=[{"rank": "visiting", "rate_source": "monthly", "months": 2}])
    assert quote(p, card).amount_of("time_charge") == 1_000_000
    with pytest.raises(InputError) as e:
        quote(make(researchers=[{"rank": "visiting", "hours": 2}]), card)
    assert "'monthly' (rank 'visiting' has only a monthly rate" in str(e.value)


def test_fte_uk_1650_hours():
    from xl_pricing.pricing.timecharge import fte
    # UK TRAC: 1,650 h a year; 220 h = 0.1333 FTE (half up at 4 decimals: 0.13333…)
    assert fte(Decimal(220), Decimal(1650)) == Decimal("0.1333")
    assert fte(Decimal(825), Decimal(1650)) == Decimal("0.5000")
    assert fte(Decimal(1), Decimal(6)) == Decimal("0.1667")          # 0.16666… half up
    card = card_with("jp-default", time_charge={"fte_hours": 1650})
    q = quote(make(researchers=[{"rank": "professor", "hours": 220}]), card)
    ln = [ln for ln in q.lines if ln.component == "time_charge"][0]
    assert ln.fte == Decimal("0.1333") and ln.to_dict()["fte"] == 0.1333
    # Over a 24-month project 440 h is the same 0.1333 FTE.
    p = make(project={"start": "2027-04-01", "end": "2029-03-31"},
             researchers=[{"rank": "professor", "hours": 440}])
    ln = [ln for ln in quote(p, card).lines if ln.component == "time_charge"][0]
    assert ln.fte == Decimal("0.1333")


def test_fte_of_days_uses_hours_per_day(full):
    # full-features: 1,650 h a year, 7.5 h a day; 22 days = 165 h = 0.1 FTE
    q = quote(make(researchers=[{"rank": "professor", "days": 22}]), full)
    assert [ln.fte for ln in q.lines if ln.component == "time_charge"] == [Decimal("0.1000")]


def test_cli_table_shows_fte_and_months(tmp_path):
    from typer.testing import CliRunner
    from xl_pricing.cli import app
    (tmp_path / "p.toml").write_text(
        '[project]\nid = "M-1"\ncontract = "sponsored"\napproach = "A"\n'
        'start = 2027-04-01\nend = 2028-03-31\n'
        '[[researchers]]\nname = "P"\nrank = "professor"\nhours = 220\n'
        '[[researchers]]\nname = "M"\nrate_source = "monthly"\nmonthly_rate = 100000\n'
        'months = 3\neffort = 0.5\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["quote", str(tmp_path / "p.toml")],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    # jp-default: 1,860 h a year → 220 h = 0.1183 FTE; 1,860 × 0.5 × 3 ÷ 12 = 232.5 h
    # → 0.1250 FTE; 3 months × 100,000 = 300,000
    assert "0.1183 FTE" in res.output and "0.1250 FTE" in res.output
    assert "3 か月 / months" in res.output and "¥100,000/月" in res.output
    res = CliRunner().invoke(app, ["--lang", "en", "quote", str(tmp_path / "p.toml")],
                             env={"COLUMNS": "200"})
    assert "3 months" in res.output and "¥100,000/month" in res.output
    res = CliRunner().invoke(app, ["quote", str(tmp_path / "p.toml"), "--json"])
    tc = [ln for ln in __import__("json").loads(res.output)["lines"]
          if ln["component"] == "time_charge"]
    assert [ln["fte"] for ln in tc] == [0.1183, 0.125]
    assert [ln["amount"] for ln in tc] == [6_600_000, 300_000]


# -- institute vs applied F&A: the under-recovery (Kuali Coeus) --------------------------

def _capped(**info: Any):
    return make(project=info, direct=[{"category": "consumables", "amount": 1_000_000}])


def test_sponsor_cap_rate_prices_applied_fa_and_keeps_under_recovery_internal():
    from xl_pricing.pricing import quote_to_dict
    from xl_pricing.pricing.forms import current_form
    from xl_pricing.pricing.industrial import fully_loaded
    mit = card_with("mit")
    p = _capped(sponsor_cap_rate="0.15")
    q = quote(p, mit)
    # applied 15% × 1,000,000 = 150,000; institute 54.7% = 547,000; under-recovery 397,000
    assert q.amount_of("fa") == 150_000
    assert q.total == 1_000_000 + 150_000 + 100_000          # + jp-default strategic 10%
    internal = q.extras["internal"]["fa"]
    assert (internal["institute_fa"], internal["applied_fa"], internal["under_recovery"]) \
        == (547_000, 150_000, 397_000)
    assert internal["by_year"] == {"2027": 397_000}
    # Never on the company's side: lines, forms and the industrial view add up to the
    # applied price and name no under-recovery.
    assert all("under" not in ln.source.lower() for ln in q.lines)
    assert current_form(q).total == q.total == sum(a for _, a in fully_loaded(q))
    d = quote_to_dict(q, p, mit)
    assert d["internal"]["fa"]["under_recovery"] == 397_000
    assert d["allocation"]["under_recovery"] == 397_000
    assert d["allocation"]["total"] == d["total"] == 1_250_000


def test_applied_rate_above_institute_gives_negative_under_recovery():
    q = quote(_capped(applied_fa_rate="0.60"), card_with("mit"))
    # 60% × 1,000,000 = 600,000 applied; 547,000 − 600,000 = −53,000
    assert q.amount_of("fa") == 600_000
    assert q.extras["internal"]["fa"]["under_recovery"] == -53_000
    # A cap above the institute rate does not bind: 54.7% applies, nothing under-recovered.
    q = quote(_capped(sponsor_cap_rate="0.70"), card_with("mit"))
    assert q.amount_of("fa") == 547_000
    assert q.extras["internal"]["fa"]["under_recovery"] == 0


def test_sponsor_type_from_the_card_and_unknown_type():
    card = card_with("mit", fa={"sponsor_caps": {"foundation": {
        "label_en": "private foundation", "rate": 0.10}}})
    q = quote(_capped(sponsor_type="foundation"), card)
    assert q.amount_of("fa") == 100_000                      # 10% × 1,000,000
    assert q.extras["internal"]["fa"]["under_recovery"] == 447_000
    assert "fa.sponsor_caps.foundation" in q.extras["internal"]["fa"]["source"]
    with pytest.raises(InputError) as e:
        quote(_capped(sponsor_type="nih"), card)
    assert e.value.field == "project.sponsor_type"
    assert "a sponsor type of card 'mit': foundation" in e.value.message


def test_sponsor_cap_on_the_base_over_the_whole_award():
    p = make(project={"start": "2027-04-01", "end": "2029-03-31",
                      "sponsor_cap_base": 3_000_000},
             direct=[{"category": "consumables", "amount": 2_000_000, "fiscal_year": 2027},
                     {"category": "consumables", "amount": 2_000_000, "fiscal_year": 2028}])
    q = quote(p, card_with("mit"))
    fa = [ln for ln in q.lines if ln.component == "fa"][0]
    # applied bases 2,000,000 and 1,000,000 (3,000,000 in all): 1,094,000 and 547,000
    assert dict(fa.by_year) == {2027: 1_094_000, 2028: 547_000}
    assert q.extras["internal"]["fa"]["by_year"] == {"2027": 0, "2028": 547_000}


def test_no_cap_no_internal_section(jp):
    assert "internal" not in quote(_capped(), jp).extras
    with pytest.raises(InputError) as e:
        _capped(applied_fa_rate="0.5", sponsor_cap_rate="0.1")
    assert "project.applied_fa_rate" in str(e.value) and "not both" in str(e.value)


# -- split of proceeds: tiers, multiples, cost recovery ----------------------------------

INVENTOR = [{"up_to": 100_000, "shares": {"researcher": 0.5, "department": 0.25,
                                         "university": 0.25}},
            {"shares": {"researcher": 0.25, "department": 0.375, "university": 0.375}}]


def test_tiers_on_net_income():
    from xl_pricing.pricing.allocation import allocate_components
    card = card_with("jp-default", allocation={"tiers": {"royalty": INVENTOR}})
    alloc = allocate_components([("royalty", Decimal(250_001))], card)
    parts = dict(alloc.rows[0][2])
    # first 100,000: 50,000 / 25,000 / 25,000; the 150,001 above: 37,500.25 /
    # 56,250.375 / 56,250.375 → 87,500 / 81,250 / 81,250 and the 1 yen left to university
    assert (parts["researcher"], parts["department"], parts["university"]) == \
        (87_500, 81_250, 81_251)
    assert sum(parts.values()) == 250_001
    # within the first band only
    parts = dict(allocate_components([("royalty", Decimal(80_000))], card).rows[0][2])
    assert parts["researcher"] == 40_000


@pytest.mark.parametrize("k,amount,researcher,university", [
    ("2", 3_000_000, 1_000_000, 2_000_000),         # Daikin, k = 2: 1 : 2
    ("3", 4_000_000, 1_000_000, 3_000_000),         # k = 3
    ("2.5", 1_000_001, 285_714, 714_287),           # 1,000,001 ÷ 3.5 = 285,714.57…;
])                                                  # 714,286.43… + the 1 yen left
def test_university_paid_k_times_the_researchers_royalty(k, amount, researcher, university):
    from xl_pricing.pricing.allocation import allocate_components
    card = card_with("jp-default", allocation={"multiples": {"royalty": {
        "party": "university", "of": "researcher", "k": k}}})
    parts = dict(allocate_components([("royalty", Decimal(amount))], card).rows[0][2])
    assert (parts["researcher"], parts["university"]) == (researcher, university)
    assert sum(parts.values()) == amount


def test_cost_recovery_first_then_thirds():
    from xl_pricing.pricing.allocation import allocate_components
    card = card_with("jp-default", allocation={
        "cost_recovery": {"components": ["royalty"], "to": "university"},
        "shares": {"royalty": {"researcher": 0.3333, "department": 0.3333,
                               "university": 0.3334}}})
    alloc = allocate_components([("royalty", Decimal(1_000_000))], card, Decimal(100_000))
    rows = {c: (a, dict(p)) for c, a, p in alloc.rows}
    assert rows["cost_recovery"][0] == 100_000
    assert rows["cost_recovery"][1]["university"] == 100_000
    # net 900,000 in thirds: 299,970 / 299,970 / 300,060
    assert rows["royalty"][0] == 900_000
    assert (rows["royalty"][1]["researcher"], rows["royalty"][1]["university"]) == \
        (299_970, 300_060)
    assert alloc.total == 1_000_000 and alloc.unrecovered == 0
    # costs above the income: everything repays costs, 200,000 stays unrecovered
    alloc = allocate_components([("royalty", Decimal(1_000_000))], card, Decimal(1_200_000))
    assert alloc.rows[0][1] == 1_000_000 and alloc.unrecovered == 200_000
    assert alloc.to_dict()["unrecovered_costs"] == 200_000
    assert alloc.total == 1_000_000


def test_outcome_quote_recovers_costs_then_tiers(jp):
    from xl_pricing.pricing import quote_to_dict
    card = card_with("jp-default", allocation={
        "cost_recovery": {"components": ["royalty"]}, "tiers": {"royalty": INVENTOR}})
    p = make(project={"approach": "C"}, proceeds={"costs": 100_000},
             outcome={"floor": 1_000_000, "royalty_rate": "0.03",
                      "sales": [{"fiscal_year": 2027, "low": 10_000_000,
                                 "base": 10_000_000, "high": 10_000_000}]})
    q = quote(p, card)
    assert q.total == 1_300_000                       # floor + 3% × 10,000,000
    d = quote_to_dict(q, p, card)["allocation"]
    rows = {r["component"]: r for r in d["by_component"]}
    assert rows["cost_recovery"]["parts"]["university"] == 100_000
    # net royalty 200,000: researcher 50% × 100,000 + 25% × 100,000 = 75,000
    assert rows["royalty"]["amount"] == 200_000
    assert rows["royalty"]["parts"]["researcher"] == 75_000
    assert d["total"] == 1_300_000
    # A card that repays no costs refuses them, naming the project key.
    with pytest.raises(InputError) as e:
        from xl_pricing.validation import check_against_card
        check_against_card(p, jp, "p.toml")
    assert str(e.value).startswith("p.toml: proceeds.costs = 100000: expected no costs")


def test_allocation_rule_validation():
    with pytest.raises(InputError) as e:
        card_with("jp-default", allocation={"tiers": {"royalty": [
            {"up_to": 100, "shares": {"researcher": 1}},
            {"up_to": 50, "shares": {"researcher": 1}}, {"shares": {"researcher": 1}}]}})
    assert "allocation.tiers.royalty[1].up_to" in str(e.value)
    with pytest.raises(InputError) as e:
        card_with("jp-default", allocation={"multiples": {"royalty": {
            "party": "researcher", "of": "researcher", "k": 2}}})
    assert "allocation.multiples.royalty.of" in str(e.value)


# -- Excel functions, rates show, checks for every approach ------------------------------

COSTING_CARD = '''[card]
id = "costing-test"
institution = "test"
version = "1"
effective_from = 2026-04-01
extends = "jp-default"
[rounding]
unit = 1000
[floor]
multiples = { keeps_ip = 1.0, non_exclusive = 1.2, exclusive = 1.4 }
[allocation]
cost_recovery = { components = ["royalty"] }
multiples = { royalty = { party = "university", of = "researcher", k = 2 } }
[fa]
sponsor_caps = { foundation = { rate = 0.15, label_en = "private foundation" } }
'''


def test_excel_functions_for_the_costing_rules(tmp_path):
    from xl_pricing import udfs
    path = tmp_path / "costing-test.toml"
    path.write_text(COSTING_CARD, encoding="utf-8")
    card = str(path)
    # 140% of 7,654,321 = 10,716,049.4 → up to the 1,000 yen: 10,717,000
    assert udfs.XLP_FLOOR(7_654_321, "exclusive", card) == 10_717_000
    assert udfs.XLP_FLOOR(7_654_321, "keeps_ip", card) == 7_655_000
    with pytest.raises(InputError, match="ip_terms = 'sold': expected IP terms with a price "
                                         "floor in card 'costing-test'"):
        udfs.XLP_FLOOR(1, "sold", card)
    # costs 100,000 first, then 2,900,000 split 1 : 2 (researcher : university)
    table = udfs.XLP_ALLOCATE([["royalty", 3_000_000]], card, 100_000)
    rows = {r["component"]: r for r in table.to_dict("records")}
    assert rows["cost_recovery"]["university"] == 100_000
    assert rows["royalty"]["researcher"] == 966_666     # 2,900,000 ÷ 3 = 966,666.67
    assert rows["royalty"]["university"] == 1_933_334   # 1,933,333.33 + 1 yen left
    assert rows["total"]["amount"] == 3_000_000
    with pytest.raises(InputError, match="costs = 5: expected no costs: card 'jp-default'"):
        udfs.XLP_ALLOCATE([["royalty", 3_000_000]], None, 5)
    assert udfs.XLP_FTE(440, 24, "full-features") == 0.1333
    with pytest.raises(InputError, match="months = 0: expected a number of months > 0"):
        udfs.XLP_FTE(440, 0)
    # rounded once each: 547,000 − 150,000 (jp-default: down to the yen)
    assert udfs.XLP_UNDER_RECOVERY(1_000_000, 0.547, 0.60) == -53_000
    with pytest.raises(InputError, match="applied_rate = 15: expected a number <= 5"):
        udfs.XLP_UNDER_RECOVERY(1_000_000, 0.547, 15)


def test_rates_show_lists_the_costing_rules(tmp_path):
    from xl_pricing.rates import load_card
    path = tmp_path / "costing-test.toml"
    path.write_text(COSTING_CARD, encoding="utf-8")
    rows = dict(load_card(str(path)).summary_rows())
    assert rows["price floor exclusive / 最低価格"].startswith("140% of full cost")
    assert rows["split multiple royalty / 倍率配分"] == "university = 2 × researcher"
    assert rows["cost recovery first / 費用の先取り"] == "from royalty to university"
    assert rows["sponsor cap foundation / 助成元の上限"] == "rate 15%"
    # a card without the rules shows none of them
    from xl_pricing import load_card as load
    assert load("jp-default").costing_rows() == []


def test_costing_terms_are_checked_for_every_approach(jp):
    # An approach-X project naming IP terms or a sponsor type the card lacks is refused
    # with the message approach A gives.
    with pytest.raises(InputError) as e:
        quote(make(project={"approach": "X", "ip_terms": "exclusive"},
                   direct=[{"category": "c", "amount": 1}]), jp)
    assert e.value.field == "project.ip_terms"
    with pytest.raises(InputError) as e:
        quote(make(project={"approach": "X", "sponsor_type": "nih"},
                   direct=[{"category": "c", "amount": 1}]), jp)
    assert e.value.field == "project.sponsor_type"


@pytest.mark.parametrize("extra,message", [
    ('ip_terms = "sold"', "project.ip_terms = 'sold': expected one of 'keeps_ip', "
                          "'non_exclusive' or 'exclusive'"),
    ('ip_terms = "exclusive"', "project.ip_terms = 'exclusive': expected IP terms with a "
                               "price floor in card 'jp-default' (none)"),
    ('sponsor_cap_rate = 15', "project.sponsor_cap_rate = 15: expected a number <= 5"),
    ('\n[proceeds]\ncosts = 5', "proceeds.costs = 5: expected no costs: card 'jp-default' "
                                "repays none first"),
])
def test_cli_refuses_bad_costing_terms_with_one_message(tmp_path, extra, message):
    from typer.testing import CliRunner
    from xl_pricing.cli import app
    f = tmp_path / "p.toml"
    f.write_text('[project]\nid = "E-1"\ncontract = "sponsored"\napproach = "A"\n'
                 f'start = 2027-04-01\nend = 2028-03-31\n{extra}\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["quote", str(f)], env={"COLUMNS": "300"})
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output, lines


def test_xlp_quote_takes_the_costing_keys():
    from xl_pricing import udfs
    rows = [["id", "Q"], ["approach", "A"], ["contract", "sponsored"],
            ["start", "2027-04-01"], ["end", "2028-03-31"], ["sponsor_cap_rate", 0.15],
            ["direct.1.category", "subaward"], ["direct.1.amount", 1_000_000],
            ["direct.1.subaward", "S1"], ["researchers.1.rate_source", "monthly"],
            ["researchers.1.monthly_rate", 100_000], ["researchers.1.months", 3]]
    # MIT on MTDC (subaward 1,000,000 within its 3,750,000): F&A capped at 15% = 150,000;
    # 3 months × 100,000; strategic 10% of direct (jp-default)
    assert udfs.XLP_QUOTE(rows, "mit") == [
        ["項目 / component", "金額 / amount"], ["直接経費 / Direct costs: subaward", 1_000_000],
        ["タイムチャージ / Time charge: #1", 300_000],
        ["F&A（施設・管理経費） / F&A costs", 150_000],
        ["戦略的産学連携経費 / Strategic collaboration expense", 100_000],
        ["合計 / total", 1_550_000]]


# -- properties: rounded parts add up ----------------------------------------------------



@settings(max_examples=150, deadline=None)
@given(amount=st.integers(-10**9, 10**12), k=st.decimals("0.0001", "10", places=4),
       bound=st.integers(1, 10**9), share=st.decimals("0", "1", places=4))
def test_tiers_and_multiples_add_up(amount, k, bound, share):
    from xl_pricing.pricing.allocation import split_multiple, split_tiers
    from xl_pricing.rates import Multiple, Tier
    a = Decimal(amount)
    tiers = [Tier(up_to=bound, shares={"researcher": share, "university": 1 - share}),
             Tier(shares={"researcher": Decimal("0.25"), "department": Decimal("0.75")})]
    assert sum(split_tiers(a, tiers).values()) == a
    parts = split_multiple(a, Multiple(party="university", of="researcher", k=k))
    assert sum(parts.values()) == a
    # university ≈ k × researcher: off by less than the two truncations (1 + k yen) + 1
    assert abs(parts["university"] - k * parts["researcher"]) <= 2 + k


def test_json_schemas_carry_the_costing_keys():
    from xl_pricing.project import Project
    from xl_pricing.rates import RateCardModel
    card = RateCardModel.model_json_schema()
    assert {"floor"} <= set(card["properties"])
    defs = card["$defs"]
    assert {"multiples", "warn_below", "action", "full_cost"} <= set(
        defs["PriceFloor"]["properties"])
    assert {"subaward_thresholds", "sponsor_caps"} <= set(defs["FA"]["properties"])
    assert {"tiers", "multiples", "cost_recovery"} <= set(defs["Allocation"]["properties"])
    assert "monthly" in defs["Rank"]["properties"]
    proj = Project.model_json_schema()["$defs"]
    assert {"ip_terms", "sponsor_type", "sponsor_cap_rate", "sponsor_cap_base",
            "applied_fa_rate", "award_date"} <= set(proj["ProjectInfo"]["properties"])
    assert "subaward" in proj["DirectItem"]["properties"]
    assert "monthly_rate" in proj["Researcher"]["properties"]


def test_cli_quote_prints_the_under_recovery_as_internal(tmp_path):
    from typer.testing import CliRunner
    from xl_pricing.cli import app
    f = tmp_path / "p.toml"
    f.write_text('[project]\nid = "U-1"\ncontract = "sponsored"\napproach = "A"\n'
                 'start = 2027-04-01\nend = 2028-03-31\nsponsor_cap_rate = 0.15\n'
                 '[[direct]]\ncategory = "consumables"\namount = 1000000\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["quote", str(f), "--rates", "mit"],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    # 547,000 − 150,000 (see the under-recovery tests above)
    assert "internal: 間接経費の回収不足（機関率 − 適用率） / F&A under-recovery (institute − " \
           "applied) ¥397,000 (institute ¥547,000 − applied ¥150,000)" in " ".join(
               res.output.split())  # the console wraps long lines


def test_total_booked_as_a_keeps_the_under_recovery_internal():
    # B booked with an A build-up: F&A at the capped 15% (150,000); the agreed 2,000,000
    # leaves 2,000,000 − 1,250,000 = 750,000 of value added; 397,000 under-recovered.
    p = make(project={"approach": "B", "sponsor_cap_rate": "0.15"},
             direct=[{"category": "consumables", "amount": 1_000_000}],
             total={"agreed": 2_000_000, "book_as": "A"})
    q = quote(p, card_with("mit"))
    assert q.amount_of("fa") == 150_000 and q.amount_of("value_added") == 750_000
    assert q.total == 2_000_000
    assert q.extras["internal"]["fa"]["under_recovery"] == 397_000


def test_costing_features_name_what_workbooks_cannot_express_yet(jp):
    from xl_pricing.pricing.stacked import costing_features
    assert costing_features(make(direct=[{"category": "subaward", "amount": 1}]), jp) == []
    p = make(project={"sponsor_cap_rate": "0.1"},
             researchers=[{"rate_source": "monthly", "monthly_rate": 1, "months": 1}])
    assert costing_features(p, jp) == ["researchers[0].rate_source", "project.sponsor_cap_rate"]
    card = card_with("mit", fa=UG, floor=CAMBRIDGE)
    p = make(project={"ip_terms": "exclusive"},
             direct=[{"category": "subaward", "subaward": "S", "amount": 1}])
    assert costing_features(p, card) == ["floor", "direct.subaward"]
