"""The shipped cards of real institutions: each prices a hand-calculated project that
exercises its distinctive published rule (the card's header names the page and date read).

Every amount below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import RATES
from xl_pricing import InputError, load_card, parse_project, quote
from xl_pricing.cli import app
from xl_pricing.pricing import allocate
from xl_pricing.rates import RateCardModel, parse_card, shipped_cards
from xl_pricing.workbook import build_workbook

REAL = ["kek", "kyoto", "fukushima", "jaist", "ryukyu", "toyohashi", "nagasaki", "otaru",
        "yamaguchi", "nitech", "cambridge", "uk-fec", "nara-k"]
US = ["harvard", "yale", "stanford", "mit", "princeton"]


def project(contract: str = "joint", approach: str = "X", direct: int | None = 0,
            start: str = "2027-04-01", end: str = "2028-03-31", **more: Any):
    """A one-year project (FY2027) with one direct item of ``direct`` yen."""
    info = {"id": "T", "contract": contract, "approach": approach, "start": start,
            "end": end, **more.pop("info", {})}
    data: dict[str, Any] = {"project": info}
    if direct:
        data["direct"] = [{"category": "consumables", "amount": direct}]
    data.update(copy.deepcopy(more))
    return parse_project(data, "test")


def amounts(q) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in q.lines:
        out[ln.component] = out.get(ln.component, 0) + int(ln.amount)
    return out


# -- every card -------------------------------------------------------------------------

def test_twelve_real_cards_ship_and_each_names_its_source_and_date():
    assert set(REAL + US) <= set(shipped_cards())
    for cid in REAL:
        text = (RATES / f"{cid}.toml").read_text(encoding="utf-8")
        head = text.split("[card]")[0]
        assert head.startswith("# "), cid
        assert "2026-12-01" in head, f"{cid}: the date the rule was read"
        assert "http" in head, f"{cid}: the address of the published rule"
        assert tomllib.loads(text)["card"]["id"] == cid
        assert load_card(cid).model.card.extends == "jp-default"


@pytest.mark.parametrize("cid", REAL + US)
def test_blank_template_of_each_card_builds(cid):
    wb = build_workbook(load_card(cid), None, "native")
    assert {"Project", "Rates", "Quote X", "Quote A"} <= set(wb.sheetnames)


def test_rates_check_and_build_from_the_card_files(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["rates", "check", *(str(RATES / f"{c}.toml") for c in REAL)])
    assert res.exit_code == 0, res.output
    assert res.stdout.count("ok  ") == len(REAL)
    res = runner.invoke(app, ["build", "--rates", str(RATES / "kek.toml"), "--target", "native",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "kek-native.xlsx").is_file()


# -- Japanese institutions --------------------------------------------------------------

def test_kek_direct_plus_ten_percent_plus_research_fee_per_researcher_year():
    kek = load_card("kek")
    # direct 3,000,000; indirect 10% of direct = 300,000; 研究料 one researcher × one year
    # = 432,000 (not in the indirect base); strategic none → 3,732,000.
    q = quote(project(direct=3_000_000, quantities={"company_researcher": 1}), kek)
    assert amounts(q) == {"direct": 3_000_000, "research_fee": 432_000, "indirect": 300_000}
    assert q.total == 3_732_000
    # Six months (2027-04 … 2027-09): 216,000; two researchers → 432,000.
    # 3,000,000 + 300,000 + 432,000 = 3,732,000.
    half = quote(project(direct=3_000_000, end="2027-09-30",
                         quantities={"company_researcher": 2}), kek)
    assert amounts(half)["research_fee"] == 432_000 and half.total == 3_732_000
    # Six months from mid-month (2027-04-15 – 2027-10-14) is a short period too: 2 ×
    # 216,000 = 432,000 (counting calendar months, 7, gave 2 × 432,000 = 864,000).
    mid = quote(project(direct=3_000_000, start="2027-04-15", end="2027-10-14",
                        quantities={"company_researcher": 2}), kek)
    assert amounts(mid)["research_fee"] == 432_000 and mid.total == 3_732_000
    # One researcher, six months: 216,000 (the review's 432,000 was the calendar count).
    one = quote(project(direct=3_000_000, start="2027-04-15", end="2027-10-14",
                        quantities={"company_researcher": 1}), kek)
    assert amounts(one)["research_fee"] == 216_000


def test_kyoto_indirect_is_thirty_percent_of_direct_plus_research_fee():
    kyoto = load_card("kyoto")
    # direct 2,000,000 + 研究料 440,000 = 2,440,000; indirect 30% = 732,000;
    # total 2,000,000 + 440,000 + 732,000 = 3,172,000.
    q = quote(project(direct=2_000_000, quantities={"company_researcher": 1}), kyoto)
    assert amounts(q) == {"direct": 2_000_000, "research_fee": 440_000, "indirect": 732_000}
    assert q.total == 3_172_000
    # Six months or less: 220,000; indirect 30% × 2,220,000 = 666,000 → 2,886,000.
    half = quote(project(direct=2_000_000, end="2027-09-30",
                         quantities={"company_researcher": 1}), kyoto)
    assert amounts(half)["indirect"] == 666_000 and half.total == 2_886_000
    # Exactly six months from mid-month (2027-04-15 – 2027-10-14): 220,000 too, though the
    # period touches seven calendar months; indirect 30% × 2,220,000 = 666,000.
    mid = quote(project(direct=2_000_000, start="2027-04-15", end="2027-10-14",
                        quantities={"company_researcher": 1}), kyoto)
    assert amounts(mid)["research_fee"] == 220_000 and mid.total == 2_886_000
    # 18 months from 2027-04-15 (to 2028-10-14): 440,000 + 220,000 = 660,000.
    long = quote(project(direct=2_000_000, start="2027-04-15", end="2028-10-14",
                         quantities={"company_researcher": 1}), kyoto)
    assert amounts(long)["research_fee"] == 660_000


def test_kyoto_research_fee_is_for_joint_research_only():
    kyoto = load_card("kyoto")
    # Sponsored research (受託研究) pays no 研究料 and needs no [quantities]: direct
    # 2,000,000 + indirect 30% = 600,000 → 2,600,000.
    q = quote(project(contract="sponsored", direct=2_000_000), kyoto)
    assert amounts(q) == {"direct": 2_000_000, "indirect": 600_000}
    assert q.total == 2_600_000 and not q.warnings


def test_fukushima_thirty_percent_now_ten_or_eight_percent_under_the_former_rule():
    fk = load_card("fukushima")
    # The card prices 研究料 per company researcher: a project states how many (here none).
    none = {"quantities": {"company_researcher": 0}}
    # From 2020-04-01: 30% of 2,000,000 = 600,000.
    assert amounts(quote(project(direct=2_000_000, **none), fk))["indirect"] == 600_000
    before = {"start": "2019-10-01", "end": "2020-03-31", **none}
    # Former rule: 10% of 2,000,000 = 200,000 …
    assert amounts(quote(project(direct=2_000_000, **before), fk))["indirect"] == 200_000
    # … 8% when direct <= 1,000,000: 8% of 1,000,000 = 80,000 (the band's edge) …
    assert amounts(quote(project(direct=1_000_000, **before), fk))["indirect"] == 80_000
    # … and 8% off campus: 8% of 2,000,000 = 160,000.
    off = quote(project(direct=2_000_000, info={"location": "off"}, **before), fk)
    assert amounts(off)["indirect"] == 160_000
    # 研究料 210,000 per six months: a year is two periods → 420,000.
    q = quote(project(direct=2_000_000, quantities={"company_researcher": 1}), fk)
    assert amounts(q)["research_fee"] == 420_000


def test_jaist_twenty_percent_for_support_type_joint_research():
    jaist = load_card("jaist")
    # 10% of 1,000,000 = 100,000; 支援型: 20% = 200,000 (the kind by its Japanese name).
    assert quote(project(direct=1_000_000), jaist).total == 1_100_000
    support = quote(project(direct=1_000_000, info={"kind": "支援型"}), jaist)
    assert amounts(support)["indirect"] == 200_000 and support.total == 1_200_000
    with pytest.raises(InputError) as err:
        quote(project(direct=1_000_000, info={"kind": "大型"}), jaist)
    assert "kind" in err.value.field


@pytest.mark.parametrize("cid, start", [("ryukyu", "2021-04-01"), ("toyohashi", "2021-10-01")])
def test_thirty_percent_for_projects_from_the_published_date(cid, start):
    card = load_card(cid)
    assert card.model.card.effective_from.isoformat() == start
    # 30% of 4,000,000 = 1,200,000; no strategic expense → 5,200,000.
    q = quote(project(direct=4_000_000), card)
    assert amounts(q) == {"direct": 4_000_000, "indirect": 1_200_000}
    assert q.total == 5_200_000


def test_nagasaki_ten_percent_fee_not_prorated_and_consumption_tax():
    ng = load_card("nagasaki")
    # Six months, direct 1,000,000: 研究料 420,000 (a year's fee, never prorated),
    # indirect 10% of direct = 100,000; subtotal 1,520,000; consumption tax 10% = 152,000;
    # total 1,672,000.
    q = quote(project(direct=1_000_000, end="2027-09-30",
                      quantities={"company_researcher": 1}), ng)
    assert amounts(q) == {"direct": 1_000_000, "research_fee": 420_000, "indirect": 100_000,
                          "consumption_tax": 152_000}
    assert q.total == 1_672_000


def test_nara_college_fee_per_started_six_months_not_prorated():
    nara = load_card("nara-k")
    # Eight months (2027-04 … 2027-11): two started six-month periods × 210,000 = 420,000
    # (the last two months pay a full period); direct 1,000,000; indirect 30% of direct =
    # 300,000 → 1,720,000.
    q = quote(project(direct=1_000_000, end="2027-11-30",
                      quantities={"company_researcher": 1}), nara)
    assert amounts(q) == {"direct": 1_000_000, "research_fee": 420_000, "indirect": 300_000}
    assert q.total == 1_720_000


def _consulting(hours: int, start: str, end: str) -> Any:
    return project(contract="consulting", approach="A", direct=None, start=start, end=end,
                   info={"activity": "other"},
                   researchers=[{"name": "Prof. A", "rank": "professor",
                                 "rate_source": "consulting", "hours": hours}])


def test_otaru_consulting_twenty_thousand_an_hour_from_october_2025_plus_tax():
    ot = load_card("otaru")
    # From 2025-10-01: 10 h × 20,000 = 200,000; F&A (jp-default, other/on 20% of
    # direct + time charge) = 40,000; consumption tax 10% × 240,000 = 24,000 → 264,000.
    q = quote(_consulting(10, "2025-10-01", "2026-03-31"), ot)
    assert amounts(q) == {"time_charge": 200_000, "fa": 40_000, "consumption_tax": 24_000}
    assert q.total == 264_000
    # Started before: 10,000 an hour including tax → time charge 100,000, F&A 20% =
    # 20,000, no tax line added (consumption_tax.included_before = 2025-10-01): total
    # 120,000, of which tax 120,000 × 10 ÷ 110 = 10,909.09 → 10,909 (adding 10% on top
    # gave 132,000).
    old = quote(_consulting(10, "2025-04-01", "2025-09-30"), ot)
    assert amounts(old) == {"time_charge": 100_000, "fa": 20_000}
    assert old.total == 120_000
    assert old.extras["consumption_tax_included"] == 10_909
    assert ot.model.consumption_tax.included_before.isoformat() == "2025-10-01"


def test_yamaguchi_consulting_fee_tax_on_the_fee_and_twenty_percent():
    ym = load_card("yamaguchi")
    # ① 指導料 10 h × 10,000 = 100,000; ② tax on the fee only 10% = 10,000;
    # ③ expenses 50,000; ④ F&A 20% × (① + ② + ③) = 20% × 160,000 = 32,000
    # → 50,000 + 100,000 + 10,000 + 32,000 = 192,000 (the published rule).
    p = _consulting(10, "2027-04-01", "2027-06-30")
    p = p.model_copy(update={"direct": project(direct=50_000).direct})
    q = quote(p, ym)
    assert amounts(q) == {"direct": 50_000, "time_charge": 100_000, "fa": 32_000,
                          "consumption_tax": 10_000}
    assert q.total == 192_000
    fa = [ln for ln in q.lines if ln.component == "fa"][0]
    assert fa.base == 160_000
    # A contract that carries no tax keeps the tax out of the base: joint research on the
    # same card is not taxed, so F&A (research/on 30%) is 30% × 150,000 = 45,000.
    j = p.model_copy(update={"project": p.project.model_copy(update={
        "contract": "joint", "activity": "research"})})
    assert amounts(quote(j, ym))["fa"] == 45_000
    # The rule is named for workbooks that cannot express it yet, and it is card data.
    assert "fa.base_includes" in ym.rules_in_use()
    assert "base_includes" in RateCardModel.model_json_schema()["$defs"]["FA"]["properties"]
    with pytest.raises(InputError, match="fa.base_includes"):
        parse_card({**tomllib.loads((RATES / "jp-default.toml").read_text("utf-8")),
                    "fa": {"base_includes": ["time_charge"]}}, "bad.toml")


def test_nitech_endowed_lab_monthly_charge_by_space_and_staff():
    nt = load_card("nitech")
    # Standard lab: 300,000 (two faculty) + 500,000 (200 m²) = 800,000 a month × 12
    # = 9,600,000; no overhead on an endowed lab.
    lab = {"info": {"kind": "endowed_lab"}}
    q = quote(project(direct=None, **lab), nt)
    assert amounts(q) == {"unit_fee": 9_600_000, "indirect": 0} and q.total == 9_600_000
    # 230 m² (+3 steps of 10 m²: +60,000) and one extra staff member (+100,000):
    # 960,000 a month × 12 = 11,520,000, plus personnel 6,000,000 as direct costs.
    big = quote(project(direct=6_000_000, quantities={"space_m2": 230, "extra_staff": 1},
                        **lab), nt)
    assert amounts(big) == {"direct": 6_000_000, "unit_fee": 11_520_000, "indirect": 0}
    # 180 m² (−2 full steps: −40,000): 760,000 × 12 = 9,120,000.
    small = quote(project(direct=None, quantities={"space_m2": 180}, **lab), nt)
    assert small.total == 9_120_000
    # Ordinary joint research: no lab charge, indirect 30% of 1,000,000 = 300,000.
    assert amounts(quote(project(direct=1_000_000), nt)) == {"direct": 1_000_000,
                                                             "indirect": 300_000}


# -- United Kingdom ---------------------------------------------------------------------

def test_cambridge_overheads_after_direct_costs_split_half_centre_half_department():
    cam = load_card("cambridge")
    # Approach X: direct 1,000,000 stays with the project (lab); indirect 30% (jp-default)
    # = 300,000 split 150,000 department / 150,000 university (the Chest).
    alloc = allocate(quote(project(direct=1_000_000), cam), cam).by_party
    assert alloc["lab"] == 1_000_000
    assert alloc["department"] == alloc["university"] == 150_000
    # A professor's day at £1,250 × 160 JPY/GBP = 200,000 JPY; two days → 400,000.
    p = project(approach="A", direct=None, researchers=[
        {"rank": "professor", "rate_source": "day_rate", "day_rate": "cambridge-professor",
         "days": 2}])
    assert amounts(quote(p, cam))["time_charge"] == 400_000


def test_uk_fec_working_year_of_1650_hours():
    uk = load_card("uk-fec")
    assert uk.model.time_charge.annual_hours == 1650
    # Half effort for 12 months: 1,650 × 0.5 × 12 / 12 = 825 h × 30,000 = 24,750,000;
    # 220 days × 7.5 h = 1,650 h of the same professor = 49,500,000.
    months = project(approach="A", direct=None, researchers=[
        {"rank": "professor", "months": 12, "effort": 0.5}])
    assert amounts(quote(months, uk))["time_charge"] == 24_750_000
    days = project(approach="A", direct=None, researchers=[{"rank": "professor", "days": 220}])
    assert amounts(quote(days, uk))["time_charge"] == 49_500_000


def test_cambridge_price_floor_by_ip_terms():
    cam = load_card("cambridge")
    assert cam.model.floor is not None
    # Approach A: direct 1,000,000 + professor 100 h × 30,000 = 3,000,000 + F&A 30% of
    # 4,000,000 = 1,200,000 → full cost 5,200,000 = the price (no strategic).
    def priced(terms):
        info = {"ip_terms": terms} if terms else {}
        return quote(project(contract="sponsored", approach="A", direct=1_000_000, info=info,
                             researchers=[{"rank": "professor", "hours": 100}]), cam)
    assert priced(None).total == priced("keeps_ip").total == 5_200_000      # ≥ 100%
    # Non-exclusive licence: ≥ 120% × 5,200,000 = 6,240,000 (floor line 1,040,000).
    assert amounts(priced("non_exclusive"))["floor"] == 1_040_000
    # Exclusive licence or assignment: ≥ 140% = 7,280,000 (floor line 2,080,000).
    assert priced("exclusive").total == 7_280_000


def test_uk_fec_220_hours_are_0_133_fte():
    uk = load_card("uk-fec")
    assert uk.model.time_charge.fte_hours == 1650
    # 220 h ÷ 1,650 h over a 12-month project = 0.1333 FTE.
    q = quote(project(approach="A", direct=None,
                      researchers=[{"rank": "professor", "hours": 220}]), uk)
    assert [ln.fte for ln in q.lines if ln.component == "time_charge"] == [Decimal("0.1333")]


# -- United States: the handbook's fig. 8 -------------------------------------------------

@pytest.mark.parametrize("cid, on, off", [("harvard", "0.69", "0.26"), ("yale", "0.67", "0.26"),
                                          ("stanford", "0.57", None),
                                          ("mit", "0.547", "0.547"),
                                          ("princeton", "0.62", "0.26")])
def test_us_card_fa_on_and_off_campus(cid, on, off):
    card = load_card(cid)
    # F&A = MTDC × rate: 1,000,000 of consumables (in MTDC), no time charge.
    for loc, rate in (("on", on), ("off", off)):
        if rate is None:  # the handbook gives Stanford no off-campus rate: refused, named
            with pytest.raises(InputError, match="research/off"):
                quote(project(approach="A", direct=1_000_000, info={"location": loc}), card)
            continue
        q = quote(project(approach="A", direct=1_000_000, info={"location": loc}), card)
        assert amounts(q)["fa"] == int(Decimal(1_000_000) * Decimal(rate)), (cid, loc)


@pytest.mark.parametrize("cid, rate", [("harvard", "0.69"), ("yale", "0.67"),
                                       ("stanford", "0.57"), ("mit", "0.547"),
                                       ("princeton", "0.62")])
def test_us_cards_count_50000_usd_of_a_subaward_for_awards_from_october_2024(cid, rate):
    card = load_card(cid)
    sub = [{"category": "subaward", "amount": 10_000_000, "subaward": "S1"}]

    def fa(award: str) -> int:
        p = parse_project({"project": {"id": "T", "contract": "sponsored", "approach": "A",
                                       "start": "2027-04-01", "end": "2028-03-31",
                                       "award_date": award}, "direct": sub}, "test")
        return amounts(quote(p, card))["fa"]
    # Award of 2027-04-01: the first 50,000 USD = 7,500,000 JPY in MTDC (e.g. Harvard
    # 69% × 7,500,000 = 5,175,000; the old 25,000 USD threshold gave 2,587,500).
    assert fa("2027-04-01") == int(Decimal(7_500_000) * Decimal(rate))
    # The day the revision took effect, and the day before it (25,000 USD = 3,750,000).
    assert fa("2024-10-01") == int(Decimal(7_500_000) * Decimal(rate))
    assert fa("2024-09-30") == int(Decimal(3_750_000) * Decimal(rate))
    assert card.model.fa.subaward_included_up_to == 3_750_000
