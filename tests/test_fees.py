"""Card rules of issue 16 (part 1): conditional rates, 研究料, monthly unit fees, bases,
consumption tax and rate changes inside a fiscal year — each priced by hand."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import RATES, make
from xl_pricing import InputError, quote
from xl_pricing.pricing.forms import current_form
from xl_pricing.rates import deep_merge, parse_card, read_card_document


def card(**over: Any):
    """jp-default with the given tables laid over it (as a card that extends it would)."""
    if "consumption_tax" in over:  # a card stating its tax rule: prices exclude it unless
        over = {**over, "consumption_tax": {"prices_include_tax": False,  # it says so
                                            **over["consumption_tax"]}}
    data = deep_merge(read_card_document(RATES / "jp-default.toml"), over)
    data["card"] = {**data["card"], "id": over.get("card", {}).get("id", "test-card")}
    return parse_card(data, "test-card.toml")


def x(direct: int = 1_000_000, **project: Any):
    """A one-year approach-X joint project with one direct item."""
    quantities = project.pop("quantities", {})
    return make(project={"approach": "X", "contract": "joint", **project},
                direct=[{"category": "consumables", "amount": direct}],
                quantities=quantities)


def line(q, component):
    return [ln for ln in q.lines if ln.component == component][0]


# -- 1. conditional rates ------------------------------------------------------------------

FUKUSHIMA = dict(indirect={"rate": 0.10, "cases": [
    {"rate": 0.08, "when": {"direct_at_most": 1_000_000}},
    {"rate": 0.08, "when": {"location": "off"}}]}, strategic={"rate": 0})


def test_fukushima_eight_percent_up_to_one_million_or_off_campus():
    c = card(**FUKUSHIMA)
    q = quote(x(1_000_000), c)
    assert q.amount_of("indirect") == 80_000              # 1,000,000 × 8%
    assert "indirect.cases[0] (direct ≤ 1,000,000 yen)" in line(q, "indirect").source
    q = quote(x(1_000_001), c)
    assert q.amount_of("indirect") == 100_000             # 1,000,001 × 10% = 100,000.1 → down
    assert q.total == 1_100_001
    q = quote(x(2_000_000, location="off"), c)
    assert q.amount_of("indirect") == 160_000             # off campus: 2,000,000 × 8%
    assert "indirect.cases[1] (location off)" in line(q, "indirect").source


JAIST = dict(kinds={"support": {"label_ja": "支援型", "label_en": "support-type"}},
             indirect={"rate": 0.10, "cases": [{"rate": 0.20, "when": {"kind": "support"}}]})


def test_jaist_twenty_percent_for_support_type_named_in_japanese():
    c = card(**JAIST)
    assert quote(x(3_000_000), c).amount_of("indirect") == 300_000          # 10%
    q = quote(x(3_000_000, kind="支援型"), c)
    assert q.amount_of("indirect") == 600_000                               # 20%
    assert quote(x(3_000_000, kind="support"), c).amount_of("indirect") == 600_000
    # strategic stays jp-default's 10% of direct: 300,000
    assert q.total == 3_000_000 + 600_000 + 300_000


def test_a_kind_the_card_does_not_list_is_refused_naming_the_kinds():
    with pytest.raises(InputError) as err:
        quote(x(kind="研究型"), card(**JAIST))
    assert err.value.field == "project.kind" and "support (支援型 / support-type)" in str(err.value)
    with pytest.raises(InputError, match="the card lists no kinds"):
        quote(x(kind="支援型"), card())


def test_a_condition_on_an_unlisted_kind_is_a_card_error():
    with pytest.raises(InputError) as err:
        card(indirect={"rate": 0.1, "cases": [{"rate": 0.2, "when": {"kind": "supprt"}}]},
             kinds={"support": {"label_ja": "支援型", "label_en": "support-type"}})
    assert err.value.field == "indirect.cases[0].when.kind"


def test_a_case_needs_a_condition():
    with pytest.raises(InputError, match="at least one condition"):
        card(indirect={"rate": 0.1, "cases": [{"rate": 0.2, "when": {}}]})


RYUKYU = dict(indirect={"rate": 0.30, "cases": [
    {"rate": 0.10, "when": {"start_before": "2021-04-01"}, "note": "before the 2021 rule"}]})


def test_ryukyu_thirty_percent_from_2021_04_01_older_rate_before():
    c = card(**RYUKYU)
    assert quote(x(1_000_000), c).amount_of("indirect") == 300_000        # 2027 start: 30%
    old = x(1_000_000, start="2021-03-01", end="2021-03-31")
    assert quote(old, c).amount_of("indirect") == 100_000                 # older rule: 10%


def test_nagasaki_per_year_direct_judged_on_monthly_average_times_twelve():
    c = card(strategic={"rate": 0},
             indirect={"rate": 0.10, "cases": [
                 {"rate": 0.15, "when": {"direct_per_year_at_least": 10_000_000}}]})
    # 15,000,000 over 18 months (2027-04 … 2028-09) = 10,000,000 a year → the case holds
    long = make(project={"approach": "X", "contract": "joint", "end": "2028-09-30"},
                direct=[{"category": "c", "amount": 15_000_000}])
    assert quote(long, c).amount_of("indirect") == 2_250_000            # 15%
    # 11,000,000 over 24 months is 5,500,000 a year → plain 10%
    longer = make(project={"approach": "X", "contract": "joint", "end": "2029-03-31"},
                  direct=[{"category": "c", "amount": 11_000_000}])
    assert quote(longer, c).amount_of("indirect") == 1_100_000
    # 12 months or less: the total itself (10,000,000 ≥ 10,000,000)
    assert quote(x(10_000_000), c).amount_of("indirect") == 1_500_000


def test_conditional_strategic_option_and_consulting_rates_in_approach_a():
    c = card(strategic={"rate": 0.10, "cases": [{"rate": 0.05, "when": {"contract": "joint"}}]},
             options={"ip_co_ownership": {"cases": [{"rate": 0.2,
                                                     "when": {"direct_above": 500_000}}]}},
             time_charge={"consulting_cases": [{"rate": 20_000,
                                                "when": {"start_from": "2025-10-01"}}]})
    p = make(project={"contract": "joint"}, direct=[{"category": "c", "amount": 1_000_000}],
             researchers=[{"name": "Sato", "rate_source": "consulting", "hours": 10}],
             options=["ip_co_ownership"])
    q = quote(p, c)
    assert q.amount_of("time_charge") == 200_000          # 20,000 JPY/h × 10 h
    assert "time_charge.consulting_cases[0] (from 2025-10-01)" in line(q, "time_charge").source
    # F&A 30% of direct + TC = 360,000; strategic 5% of direct (joint) = 50,000;
    # option 20% of direct + TC = 240,000
    assert q.amount_of("fa") == 360_000
    assert q.amount_of("strategic") == 50_000
    assert q.amount_of("option") == 240_000
    assert "options.ip_co_ownership.cases[0]" in line(q, "option").source
    assert q.total == 1_000_000 + 200_000 + 360_000 + 50_000 + 240_000


# -- 2. fixed fees (研究料) -------------------------------------------------------------------

KEK = dict(indirect={"rate": 0.10}, strategic={"rate": 0},
           fees={"research_fee": {"amount": 432_000, "proration": "monthly",
                                  "per": "company_researcher"}})


def test_kek_research_fee_per_researcher_and_year():
    c = card(**KEK)
    q = quote(x(1_000_000, quantities={"company_researcher": 2}), c)
    assert q.amount_of("research_fee") == 864_000         # 432,000 × 2
    assert q.amount_of("indirect") == 100_000             # 10% of direct only
    assert q.total == 1_964_000
    assert line(q, "research_fee").label_ja == "研究料"
    # current form: 研究料 in box ②
    assert current_form(q).boxes["academic"] == 864_000
    # 9 months prorated: 432,000 × 9 ÷ 12 = 324,000
    short = x(1_000_000, end="2027-12-31", quantities={"company_researcher": 1})
    assert quote(short, c).amount_of("research_fee") == 324_000


def test_a_missing_quantity_prices_no_fee_and_unused_quantities_are_warned():
    # Review finding 14: a project written for one card prices under another.  No
    # company_researcher given → 0 researchers × 432,000 = 0, and a warning says so:
    # total 1,000,000 + 10% = 1,100,000.
    q = quote(x(), card(**KEK))
    assert q.amount_of("research_fee") == 0 and q.total == 1_100_000
    assert any("quantities.company_researcher" in w and "taken as 0" in w and "0 として" in w
               for w in q.warnings)
    # A typo is accepted but warned as unused (and the fee it meant is warned as not given).
    q = quote(x(quantities={"company_researchers": 1}), card(**KEK))
    assert q.amount_of("research_fee") == 0
    assert any("quantities.company_researchers" in w and "not used" in w
               and "company_researcher" in w.split("prices:")[1] for w in q.warnings)
    # A card without fees accepts company_researcher = 0 (a KEK project under jp-default):
    # 1,000,000 + indirect 30% 300,000 + strategic 10% 100,000 = 1,400,000, with one
    # warning naming the unused key.
    q = quote(x(quantities={"company_researcher": 0}), card())
    assert q.total == 1_400_000
    assert [w for w in q.warnings if "quantities." in w] == [
        "quantities.company_researcher はこのカードでは使われません / is not used by card "
        "'test-card' (it prices: none)"]


KYOTO = dict(indirect={"rate": 0.30, "base_includes": ["research_fee"]}, strategic={"rate": 0},
             fees={"research_fee": {"amount": 440_000, "short_months": 6,
                                    "short_amount": 220_000}})


def test_kyoto_research_fee_and_indirect_of_direct_plus_fee():
    c = card(**KYOTO)
    q = quote(x(2_000_000, quantities={"company_researcher": 1}), c)
    assert q.amount_of("research_fee") == 440_000
    assert q.amount_of("indirect") == 732_000             # 30% × (2,000,000 + 440,000)
    assert "direct + research_fee" in line(q, "indirect").source
    assert q.total == 2_000_000 + 440_000 + 732_000
    # six months or less: 220,000; indirect 30% × 2,220,000 = 666,000
    half = x(2_000_000, end="2027-09-30", quantities={"company_researcher": 1})
    assert quote(half, c).amount_of("research_fee") == 220_000
    assert quote(half, c).amount_of("indirect") == 666_000
    # 18 months (2027-04 … 2028-09): 440,000 in FY2027 + 220,000 in FY2028
    long = make(project={"approach": "X", "contract": "joint", "end": "2028-09-30"},
                direct=[{"category": "c", "amount": 2_000_000, "fiscal_year": 2027}],
                quantities={"company_researcher": 1})
    fee = line(quote(long, c), "research_fee")
    assert dict(fee.by_year) == {2027: 440_000, 2028: 220_000}


def test_college_fee_per_six_months_not_prorated():
    c = card(fees={"research_fee": {"amount": 210_000, "period_months": 6, "per": "project"}})
    # 7 months = one full period + one started period: 2 × 210,000
    assert quote(x(end="2027-10-31"), c).amount_of("research_fee") == 420_000
    assert quote(x(end="2027-09-30"), c).amount_of("research_fee") == 210_000


# -- 3. recurring unit fees ----------------------------------------------------------------

NITECH = dict(indirect={"rate": 0.0}, strategic={"rate": 0}, unit_fees={"endowed_lab": {
    "label_ja": "寄附研究部門経費", "label_en": "Endowed-lab charge",
    "items": [
        {"quantity": "faculty", "label_ja": "教員", "label_en": "faculty", "amount": 300_000,
         "included": 2},
        {"quantity": "space_m2", "label_ja": "面積", "label_en": "space", "amount": 500_000,
         "included": 200, "step": 10, "step_amount": 20_000, "below": True},
        {"quantity": "extra_staff", "label_ja": "追加職員", "label_en": "extra staff",
         "step_amount": 100_000}]}})


def test_nitech_endowed_lab_monthly_schedule():
    c = card(**NITECH)
    # standard: 300,000 + 500,000 = 800,000 a month × 12 = 9,600,000
    q = quote(x(0), c)
    assert q.amount_of("unit_fee") == 9_600_000
    # 1 extra staff, 230 m²: 300,000 + (500,000 + 3 × 20,000) + 100,000 = 960,000 × 12
    q = quote(x(0, quantities={"extra_staff": 1, "space_m2": 230}), c)
    assert q.amount_of("unit_fee") == 11_520_000
    # 180 m² over 6 months: 300,000 + 460,000 = 760,000 × 6 = 4,560,000
    q = quote(x(0, end="2027-09-30", quantities={"space_m2": 180}), c)
    assert q.amount_of("unit_fee") == 4_560_000
    assert line(q, "unit_fee").label_ja == "月額利用料（寄附研究部門経費）"


def test_unit_fee_by_fiscal_year_and_in_the_indirect_base():
    c = card(**deep_merge(NITECH, {"indirect": {"rate": 0.10, "base_includes": ["unit_fee"]}}))
    # 2027-10 … 2028-09: 6 months in each fiscal year, 800,000 a month
    p = make(project={"approach": "X", "contract": "joint", "start": "2027-10-01",
                      "end": "2028-09-30"}, direct=[{"category": "c", "amount": 1_000_000}])
    q = quote(p, c)
    assert dict(line(q, "unit_fee").by_year) == {2027: 4_800_000, 2028: 4_800_000}
    # indirect: FY2027 10% × (1,000,000 + 4,800,000) = 580,000; FY2028 10% × 4,800,000
    assert dict(line(q, "indirect").by_year) == {2027: 580_000, 2028: 480_000}


# -- 4. bases and 5. consumption tax ---------------------------------------------------------

def test_base_excludes_categories_and_strategic_base_includes_fee():
    c = card(indirect={"rate": 0.30, "base_excludes": ["equipment"]},
             strategic={"rate": 0.10, "base": "direct", "base_includes": ["research_fee"]},
             fees={"research_fee": {"amount": 100_000, "per": "project"}})
    p = make(project={"approach": "X", "contract": "joint"},
             direct=[{"category": "consumables", "amount": 1_000_000},
                     {"category": "equipment", "amount": 500_000}])
    q = quote(p, c)
    assert q.amount_of("indirect") == 300_000           # 30% of 1,000,000 (no equipment)
    assert q.amount_of("strategic") == 160_000          # 10% of 1,500,000 + 100,000
    assert "direct less equipment" in line(q, "indirect").source


NAGASAKI = dict(indirect={"rate": 0.10, "base_includes": ["consumption_tax"]},
                strategic={"rate": 0},
                consumption_tax={"rate": 0.10, "applies_to": ["joint", "sponsored"]})


def test_nagasaki_indirect_on_direct_plus_consumption_tax():
    q = quote(x(1_000_000), card(**NAGASAKI))
    # base 1,000,000 + 10% tax = 1,100,000 → indirect 110,000; tax 10% × 1,110,000
    assert q.amount_of("indirect") == 110_000
    assert q.amount_of("consumption_tax") == 111_000
    assert q.total == 1_221_000
    # consulting carries no tax here: the base is the direct costs alone
    q = quote(x(1_000_000, contract="consulting"), card(**NAGASAKI))
    assert q.amount_of("indirect") == 100_000 and q.amount_of("consumption_tax") == 0


def test_consumption_tax_on_listed_components_only():
    c = card(consumption_tax={"rate": 0.10, "applies_to": ["joint"],
                              "components": ["indirect", "strategic"]})
    q = quote(x(1_000_000), c)
    # tax on indirect 300,000 + strategic 100,000 only
    assert q.amount_of("consumption_tax") == 40_000
    assert q.total == 1_440_000


def test_prices_including_tax_add_no_line_and_report_the_tax_contained():
    from xl_pricing.pricing import quote_to_dict
    c = card(consumption_tax={"rate": 0.10, "applies_to": ["joint"],
                              "prices_include_tax": True})
    p = x(1_000_000)
    q = quote(p, c)
    assert q.amount_of("consumption_tax") == 0 and q.total == 1_400_000
    # 1,400,000 × 0.10 ÷ 1.10 = 127,272.7 → 127,272
    assert quote_to_dict(q, p, c)["consumption_tax_included"] == 127_272


# -- 6. rate changes inside a fiscal year --------------------------------------------------

STEP = dict(strategic={"rate": 0}, indirect={"rate": 0.35, "cases": [
    {"rate": 0.30, "when": {"start_before": "2027-07-01"}}]})


def test_blend_by_days_91_days_at_30_and_275_at_35():
    c = card(**STEP, rate_change={"method": "blend_by_days"})
    q = quote(x(1_000_000), c)          # 2027-04-01 … 2028-03-31: 366 days
    # 1,000,000 × (0.30 × 91 + 0.35 × 275) ÷ 366 = 337,568.3 → 337,568 (rounded once)
    assert q.amount_of("indirect") == 337_568
    ind = line(q, "indirect")
    assert ind.rate is None and "30% × 91 days + 35% × 275 days" in ind.source


def test_at_award_keeps_the_start_rate_for_the_life_of_the_project():
    c = card(**STEP, rate_change={"method": "at_award"})
    two = make(project={"approach": "X", "contract": "joint", "end": "2029-03-31"},
               direct=[{"category": "c", "amount": 1_000_000, "fiscal_year": 2027},
                       {"category": "c", "amount": 1_000_000, "fiscal_year": 2028}])
    assert dict(line(quote(two, c), "indirect").by_year) == {2027: 300_000, 2028: 300_000}
    # blended instead: FY2027 337,568; FY2028 entirely after the change, 35%
    b = card(**STEP, rate_change={"method": "blend_by_days"})
    assert dict(line(quote(two, b), "indirect").by_year) == {2027: 337_568, 2028: 350_000}


def test_by_default_each_fiscal_year_takes_the_rate_on_its_first_day():
    two = make(project={"approach": "X", "contract": "joint", "start": "2027-05-01",
                        "end": "2029-03-31"},
               direct=[{"category": "c", "amount": 1_000_000, "fiscal_year": 2027},
                       {"category": "c", "amount": 1_000_000, "fiscal_year": 2028}])
    # FY2027 judged on 2027-05-01 (before 2027-07-01): 30%; FY2028 on 2028-04-01: 35%
    ind = line(quote(two, card(**STEP)), "indirect")
    assert dict(ind.by_year) == {2027: 300_000, 2028: 350_000}
    assert "FY2027 30% / FY2028 35% of direct" in ind.source


FA_STEP = dict(strategic={"rate": 0}, fa={"base": "direct_plus_tc", "rates": [
    {"activity": "research", "location": "on", "rate": 0.30},
    {"activity": "research", "location": "on", "rate": 0.35, "effective_from": "2027-07-01"}]})


def test_fa_rates_with_effective_dates_follow_the_rate_change_method():
    one = make(direct=[{"category": "c", "amount": 1_000_000}])       # approach A, FY2027
    blend = quote(one, card(**FA_STEP, rate_change={"method": "blend_by_days"}))
    # 1,000,000 × (30% × 91 + 35% × 275) ÷ 366 = 337,568.3 → 337,568
    assert blend.amount_of("fa") == 337_568
    assert "FY2027 30% × 91 days + 35% × 275 days" in line(blend, "fa").source
    # the default (fiscal_year) and at_award both take the row in force on 2027-04-01
    assert quote(one, card(**FA_STEP)).amount_of("fa") == 300_000
    two = make(project={"end": "2029-03-31"},
               direct=[{"category": "c", "amount": 1_000_000, "fiscal_year": 2027},
                       {"category": "c", "amount": 1_000_000, "fiscal_year": 2028}])
    assert dict(line(quote(two, card(**FA_STEP)), "fa").by_year) == {2027: 300_000,
                                                                     2028: 350_000}
    award = card(**FA_STEP, rate_change={"method": "at_award"})
    assert dict(line(quote(two, award), "fa").by_year) == {2027: 300_000, 2028: 300_000}


def test_cards_without_new_keys_price_as_before(jp):
    # jp-default: 30% indirect + 10% strategic of direct, no tax on joint research
    q = quote(x(1_000_000), jp)
    assert [(ln.component, int(ln.amount)) for ln in q.lines] == [
        ("direct", 1_000_000), ("indirect", 300_000), ("strategic", 100_000)]
    assert line(q, "indirect").source == "jp-default: indirect rate 30% of direct"


def test_rates_show_lists_the_rules():
    rows = dict(card(**deep_merge(deep_merge(KYOTO, FUKUSHIMA), JAIST)).summary_rows())
    assert rows["indirect base"] == "direct + research_fee"
    assert rows["indirect case 1"] == "20% when kind support"   # JAIST's cases replace
    assert rows["kind support"] == "支援型 / support-type"
    assert rows["fee research_fee (研究料)"] == ("¥440,000 per 12 months per "
                                                "company_researcher; ¥220,000 for ≤ 6 months")
    assert rows["rate changes"] == "fiscal_year"
    nitech = dict(card(**NITECH).summary_rows())
    assert nitech["unit fee endowed_lab (寄附研究部門経費)"] == (
        "faculty ¥300,000 for 2 faculty; space ¥500,000 for 200 space_m2, ±¥20,000 per 10; "
        "extra staff ¥0 for 0 extra_staff, +¥100,000 per 1 a month")
    # jp-default: no rules but its consumption tax, included in the prices
    assert card().rule_rows() == [("consumption tax",
                                   "10% on joint, sponsored, consulting, prices include it")]


def test_xlp_indirect_uses_the_conditional_rate(tmp_path):
    from datetime import date

    from xl_pricing import udfs
    path = tmp_path / "fukushima.toml"
    path.write_text('''[card]
id = "fukushima-test"
institution = "Test"
version = "1"
effective_from = 2026-04-01
extends = "jp-default"

[indirect]
rate = 0.10
[[indirect.cases]]
rate = 0.08
when = { direct_at_most = 1_000_000 }
[[indirect.cases]]
rate = 0.08
when = { location = "off" }
''', encoding="utf-8")
    c = str(path)
    assert udfs.XLP_INDIRECT(1_000_000, None, c) == 80_000            # ≤ 1M: 8%
    assert udfs.XLP_INDIRECT(2_000_000, None, c) == 200_000           # 10%
    assert udfs.XLP_INDIRECT(2_000_000, None, c, "joint", "off") == 160_000
    assert udfs.XLP_INDIRECT(2_000_000, 0.3, c, "joint", "off") == 600_000  # a rate given
    with pytest.raises(InputError, match="location = 'moon'"):
        udfs.XLP_INDIRECT(2_000_000, None, c, "joint", "moon")
    with pytest.raises(InputError, match="kind = '支援型'"):
        udfs.XLP_INDIRECT(2_000_000, None, c, None, None, "支援型")
    # blended by days over start–end, as the engine does (FY2027: 91 days 30%, 275 35%)
    path.write_text(path.read_text("utf-8").split("[indirect]")[0] + '''
[rate_change]
method = "blend_by_days"
[indirect]
rate = 0.35
[[indirect.cases]]
rate = 0.30
when = { start_before = 2027-07-01 }
''', encoding="utf-8")
    assert udfs.XLP_INDIRECT(1_000_000, None, c, None, None, None, date(2027, 4, 1),
                             date(2028, 3, 31)) == 337_568
    assert udfs.XLP_INDIRECT(1_000_000, None, c, None, None, None, "2027-04-01") == 300_000


def test_xlp_quote_takes_kind_and_quantities(tmp_path):
    from xl_pricing import udfs
    path = tmp_path / "kek.toml"
    path.write_text('''[card]
id = "kek-test"
institution = "Test"
version = "1"
effective_from = 2026-04-01
extends = "jp-default"

[indirect]
rate = 0.10
[strategic]
rate = 0
[fees.research_fee]
amount = 432_000
proration = "monthly"
''', encoding="utf-8")
    rows = [["id", "K1"], ["contract", "joint"], ["approach", "X"], ["start", "2027-04-01"],
            ["end", "2028-03-31"], ["direct.consumables", 1_000_000],
            ["quantities.company_researcher", 1]]
    # 1,000,000 + 研究料 432,000 + indirect 10% of direct 100,000
    assert udfs.XLP_QUOTE(rows, str(path)) == [
        ["項目 / component", "金額 / amount"], ["直接経費 / Direct costs: consumables", 1_000_000],
        ["研究料 / Research fee", 432_000], ["間接経費 / Indirect costs", 100_000],
        ["合計 / total", 1_532_000]]


def test_rules_in_use_name_what_native_workbooks_would_need():
    assert card(**KYOTO).rules_in_use() == ["indirect.base_includes",
                                            "consumption_tax.prices_include_tax",
                                            "fees.research_fee"]
    assert card(**JAIST).rules_in_use() == ["indirect.cases[0]", "kinds.support",
                                            "consumption_tax.prices_include_tax"]
    assert card(**STEP, rate_change={"method": "blend_by_days"}).rules_in_use() == [
        "indirect.cases[0]", "consumption_tax.prices_include_tax", "rate_change.method"]


def test_json_schemas_carry_the_new_keys():
    from xl_pricing.project import Project
    from xl_pricing.rates import RateCardModel
    card_schema = RateCardModel.model_json_schema()
    for key in ("kinds", "fees", "unit_fees", "rate_change"):
        assert key in card_schema["properties"]
    defs = card_schema["$defs"]
    assert set(defs["When"]["properties"]) == {
        "direct_at_most", "direct_above", "direct_per_year_at_least", "location", "contract",
        "kind", "start_from", "start_before"}
    assert {"cases", "base_includes", "base_excludes"} <= set(defs["Indirect"]["properties"])
    assert "consulting_cases" in defs["TimeCharge"]["properties"]
    assert {"components", "prices_include_tax"} <= set(defs["ConsumptionTax"]["properties"])
    project_schema = Project.model_json_schema()
    assert "quantities" in project_schema["properties"]
    assert "kind" in project_schema["$defs"]["ProjectInfo"]["properties"]


def test_project_check_refuses_an_unknown_kind_with_the_file_named():
    from xl_pricing.validation import check_against_card
    with pytest.raises(InputError) as err:
        check_against_card(x(kind="研究型"), card(**JAIST), "p.toml")
    assert str(err.value).startswith("p.toml: project.kind = '研究型': expected a project kind")


def test_the_company_sees_the_research_fee_as_a_loaded_line():
    from xl_pricing.pricing.industrial import fully_loaded
    q = quote(x(1_000_000, quantities={"company_researcher": 1}), card(**KEK))
    # direct 1,000,000 and 研究料 432,000 carry indirect 100,000 in proportion, each share
    # rounded down: 100,000 × 1,000,000 ÷ 1,432,000 = 69,832.4 → 69,832 and
    # 100,000 × 432,000 ÷ 1,432,000 = 30,167.6 → 30,167; the 1 yen left to the largest line
    assert fully_loaded(q) == [("Direct costs (consumables)", 1_069_833),
                               ("Research fee", 462_167)]


KEK_TOML = '''[card]
id = "kek-like"
institution = "Test"
version = "1"
effective_from = 2026-04-01
extends = "jp-default"

[indirect]
rate = 0.10
[strategic]
rate = 0
[fees.research_fee]
amount = 432_000
proration = "monthly"
'''


def test_cli_quote_and_project_check_with_a_fee_card(tmp_path):
    import json

    from typer.testing import CliRunner

    from xl_pricing.cli import app
    runner = CliRunner()
    (tmp_path / "kek-like.toml").write_text(KEK_TOML, encoding="utf-8")
    proj = tmp_path / "p.toml"
    proj.write_text('''[project]
id = "K-1"
contract = "joint"
approach = "X"
start = 2027-04-01
end = 2028-03-31

[[direct]]
category = "consumables"
amount = 1_000_000

[quantities]
company_researcher = 2
''', encoding="utf-8")
    card_path = str(tmp_path / "kek-like.toml")
    res = runner.invoke(app, ["quote", str(proj), "--rates", card_path, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    fee = [ln for ln in d["lines"] if ln["component"] == "research_fee"][0]
    assert (fee["amount"], fee["label_ja"], fee["label_en"]) == (864_000, "研究料", "Research fee")
    assert d["total"] == 1_000_000 + 864_000 + 100_000
    # a quantity the card does not price: accepted (review finding 14), the quote warns
    # that it is unused and that the fee's own quantity was not given (fee 0 → 1,100,000)
    proj.write_text(proj.read_text("utf-8").replace("company_researcher = 2", "faculty = 2"),
                    encoding="utf-8")
    res = runner.invoke(app, ["project", "check", str(proj), "--rates", card_path])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["quote", str(proj), "--rates", card_path, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["total"] == 1_100_000
    assert any("quantities.faculty" in w and "not used" in w for w in d["warnings"])


@pytest.mark.parametrize("over, field, words", [
    ({"fees": {"f": {"amount": -1}}}, "fees.f.amount", "a number > 0"),
    ({"fees": {"f": {"amount": 1, "period_months": 6, "short_months": 6,
                     "short_amount": 1}}}, "fees.f.short_months", "fewer months"),
    ({"fees": {"f": {"amount": 1, "short_months": 6}}}, "fees.f.short_amount", "both"),
    ({"indirect": {"cases": [{"rate": 0.1, "when": {"direct_at_mots": 1}}]}},
     "indirect.cases[0].when.direct_at_mots", "did you mean 'direct_at_most'"),
    ({"indirect": {"cases": [{"rate": 30, "when": {"location": "off"}}]}},
     "indirect.cases[0].rate", "rates are fractions"),
    ({"indirect": {"cases": [{"rate": 0.1, "when": {"location": "moon"}}]}},
     "indirect.cases[0].when.location[0]", "'on' or 'off'"),
    ({"indirect": {"base_includes": ["tax"]}}, "indirect.base_includes[0]", "consumption_tax"),
    ({"rate_change": {"method": "blend"}}, "rate_change.method", "blend_by_days"),
    ({"unit_fees": {"lab": {"label_ja": "a", "label_en": "b", "items": []}}},
     "unit_fees.lab.items", "at least 1"),
    ({"options": {"know_how": {"cases": [{"rate": 0.1, "when": {"contract": "joint"}}]}}},
     "options.know_how.cases", "no rate cases on a fixed-price option"),
])
def test_bad_rules_are_refused_naming_the_key(over, field, words):
    with pytest.raises(InputError) as err:
        card(**over)
    e = err.value.errors[0] if hasattr(err.value, "errors") else err.value
    assert e.field == field and words in e.expected, str(err.value)


def test_bad_quantities_in_a_project_are_refused():
    with pytest.raises(InputError, match=r"quantities.space_m2 = -1: expected a number >= 0"):
        x(quantities={"space_m2": -1})
    with pytest.raises(InputError, match=r"quantities.Space"):
        x(quantities={"Space": 1})


def test_otaru_consulting_rate_including_tax_before_2025_10_01_excluding_it_after():
    c = card(card={"effective_from": "2025-04-01"},
             consumption_tax={"rate": 0.10, "applies_to": ["consulting"],
                              "included_before": "2025-10-01"},
             indirect={"rate": 0}, strategic={"rate": 0},
             fa={"rates": [{"activity": "research", "location": "on", "rate": 0}]},
             time_charge={"consulting_rate": 10_000, "consulting_cases": [
                 {"rate": 20_000, "when": {"start_from": "2025-10-01"}}]})

    def consult(start, end):
        return make(project={"contract": "consulting", "start": start, "end": end},
                    researchers=[{"name": "Ito", "rate_source": "consulting", "hours": 11}])
    from xl_pricing.pricing import quote_to_dict
    old = consult("2025-06-01", "2025-09-30")
    q = quote(old, c)
    # 10,000 JPY/h including tax × 11 h = 110,000 (no F&A), no tax line; the tax
    # contained: 110,000 × 0.10 ÷ 1.10 = 10,000
    assert q.total == 110_000 and q.amount_of("consumption_tax") == 0
    assert quote_to_dict(q, old, c)["consumption_tax_included"] == 10_000
    q = quote(consult("2025-10-01", "2026-03-31"), c)
    # 20,000 JPY/h excluding tax × 11 h = 220,000 + 10% = 242,000
    assert q.amount_of("time_charge") == 220_000 and q.amount_of("consumption_tax") == 22_000
    assert q.total == 242_000
    assert dict(c.summary_rows())["consumption tax"] == (
        "10% on consulting, prices include it for projects starting before 2025-10-01")


def test_an_agreed_total_booked_as_x_books_the_research_fee_too():
    c = card(**KYOTO)
    p = make(project={"approach": "B", "contract": "joint"},
             direct=[{"category": "c", "amount": 2_000_000}],
             total={"agreed": 4_000_000, "book_as": "X"}, quantities={"company_researcher": 1})
    q = quote(p, c)
    # build-up 2,000,000 + 440,000 + 732,000 = 3,172,000; value added 828,000
    assert q.amount_of("research_fee") == 440_000
    assert q.amount_of("value_added") == 828_000 and q.total == 4_000_000
    with pytest.raises(InputError, match="approach-X build-up \\(3,172,000 yen\\)"):
        quote(make(project={"approach": "B", "contract": "joint"},
                   direct=[{"category": "c", "amount": 2_000_000}],
                   total={"agreed": 3_000_000, "book_as": "X"},
                   quantities={"company_researcher": 1}), c)


def test_xlp_strategic_uses_the_conditional_rate(tmp_path):
    from xl_pricing import udfs
    path = tmp_path / "st.toml"
    path.write_text('''[card]
id = "st-test"
institution = "Test"
version = "1"
effective_from = 2026-04-01
extends = "jp-default"

[strategic]
rate = 0.10
[[strategic.cases]]
rate = 0.05
when = { contract = "joint" }
''', encoding="utf-8")
    assert udfs.XLP_STRATEGIC(1_000_000, str(path)) == 100_000            # 10%
    assert udfs.XLP_STRATEGIC(1_000_000, str(path), None, "joint") == 50_000   # joint: 5%
    assert udfs.XLP_STRATEGIC(5_000_000) == 500_000                        # jp-default


# -- review findings 3, 11, 20: periods counted from the start date, units on fee lines ----

def test_fee_periods_count_months_elapsed_from_a_mid_month_start():
    from datetime import date

    from xl_pricing.pricing.fees import add_months, started_months
    # 2027-04-15 – 2027-10-14 is exactly six months (it touches seven calendar months).
    assert started_months(date(2027, 4, 15), date(2027, 10, 14)) == 6
    assert started_months(date(2027, 4, 15), date(2027, 10, 15)) == 7   # a started 7th month
    assert started_months(date(2027, 4, 1), date(2028, 3, 31)) == 12
    assert started_months(date(2027, 4, 1), date(2027, 4, 1)) == 1
    # a month from the 31st ends on the last day of a shorter month
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    c = card(**KYOTO)

    def fee(start: str, end: str) -> Any:
        p = make(project={"approach": "X", "contract": "joint", "start": start, "end": end},
                 direct=[{"category": "c", "amount": 1_000_000,
                          "fiscal_year": int(start[:4]) if start[5:7] >= "04"
                          else int(start[:4]) - 1}],
                 quantities={"company_researcher": 1})
        return line(quote(p, c), "research_fee")
    # Exactly six months from 04-15: one short period → 220,000 (calendar months gave 440,000).
    assert fee("2027-04-15", "2027-10-14").amount == 220_000
    # Six months and a day: a last period of 7 started months (> 6) → the year's 440,000.
    assert fee("2027-04-15", "2027-10-15").amount == 440_000
    # 18 months from 04-15 (to 2028-10-14): a year 440,000 (FY2027, from 2027-04-15) + six
    # months 220,000 (FY2028, from 2028-04-15) = 660,000 (calendar months gave 880,000).
    long = fee("2027-04-15", "2028-10-14")
    assert long.amount == 660_000 and dict(long.by_year) == {2027: 440_000, 2028: 220_000}
    # A period is charged in the fiscal year it starts in: 2027-10-20 – 2029-04-19 is 18
    # months; the second period starts 2028-10-20 (FY2028), so FY2029's 19 days pay none:
    # FY2027 440,000, FY2028 220,000, FY2029 0.
    mid = fee("2027-10-20", "2029-04-19")
    assert dict(mid.by_year) == {2027: 440_000, 2028: 220_000, 2029: 0}


def test_kek_six_months_from_mid_month_and_monthly_proration_from_the_start_date():
    # KEK-like card, prorated: 2027-04-15 – 2027-10-14 = 6 months → 432,000 × 6 ÷ 12 =
    # 216,000 (calendar months: 7 → 252,000).
    p = make(project={"approach": "X", "contract": "joint", "start": "2027-04-15",
                      "end": "2027-10-14"},
             direct=[{"category": "c", "amount": 1_000_000}],
             quantities={"company_researcher": 1})
    assert quote(p, card(**KEK)).amount_of("research_fee") == 216_000


def test_fee_lines_carry_their_unit_and_the_cli_shows_yen_per_year(tmp_path):
    from decimal import Decimal

    from xl_pricing.cli import _base_text, _rate_text
    q = quote(x(1_000_000, quantities={"company_researcher": 1}),
              card(**{**KYOTO, "fees": {"research_fee": {
                  **KYOTO["fees"]["research_fee"],  # type: ignore[index]
                  "label_en": "Research fee (per company researcher)"}}}))
    fee = line(q, "research_fee")
    # base 1 researcher, rate 440,000 yen per researcher and year
    assert (fee.base, fee.rate, fee.unit) == (1, 440_000, "researcher_year")
    assert fee.to_dict()["unit"] == "researcher_year"
    # the label does not repeat itself (it read 研究料（研究料）)
    assert fee.label_ja == "研究料"
    assert _base_text("research_fee", fee.base, fee.unit) == "1 名 / researchers"
    assert _rate_text("research_fee", fee.rate, fee.unit) == "¥440,000/年"   # not 44000000%
    # a quote JSON without units still shows yen, never a percentage
    assert _rate_text("research_fee", Decimal(440_000)) == "¥440,000"
    # six-month periods: per period; a unit fee: per month
    nara = card(fees={"research_fee": {"amount": 210_000, "period_months": 6,
                                       "per": "project"}})
    assert line(quote(x(), nara), "research_fee").unit == "project_period"
    lab = line(quote(x(kind=None, quantities={}), card(**NITECH)), "unit_fee")
    assert lab.unit == "month" and _rate_text("unit_fee", lab.rate, lab.unit) == "¥800,000/月"
    assert _base_text("unit_fee", lab.base, lab.unit) == "12 か月 / months"


def test_a_unit_fee_counts_months_from_the_start_date():
    # NITech-like lab, 2027-04-15 – 2028-04-14: exactly 12 months × 800,000 = 9,600,000,
    # all in FY2027 (each month starts 2027-04-15 … 2028-03-15); counting the 13 calendar
    # months touched gave 10,400,000.
    p = make(project={"approach": "X", "contract": "joint", "start": "2027-04-15",
                      "end": "2028-04-14"}, direct=[])
    lab = line(quote(p, card(**NITECH)), "unit_fee")
    assert lab.amount == 9_600_000 and lab.base == 12
    assert dict(lab.by_year) == {2027: 9_600_000, 2028: 0}
