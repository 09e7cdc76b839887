"""The workbooks' native formulas for conditional indirect rates, project kinds and 研究料
(workbook/fees.py): each rule family on a hand-calculated project, typed into a blank
template (or built for a project), recalculated, equal to the engine and to the hand
figures in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from engine_names import expected_names
from xl_pricing import load_card, parse_project, quote
from xl_pricing.recalc import Recalculator
from xl_pricing.workbook import build, template_project
from xl_pricing.workbook.checks import PREFIX
from xl_pricing.workbook.inputs import unpriced_for
from xl_pricing.workbook.fees import (add_months, priced_rules, unpriced, when_formula)
from xl_pricing.rates.schema import When

_BOOKS: dict[str, Recalculator] = {}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    def get(card_id: str) -> Recalculator:
        if card_id not in _BOOKS:
            folder = tmp_path_factory.mktemp(card_id)
            _BOOKS[card_id] = Recalculator(build(load_card(card_id), None, "native", folder))
        return _BOOKS[card_id]
    yield get
    _BOOKS.clear()


def one_item(amount: int, fy: int = 2026, category: str = "consumables") -> dict:
    """The Direct table with one item (the template's other rows blank)."""
    def column(v):
        return [[v]] + [[None]] * 19
    return {"Direct_Category": column(category), "Direct_FY": column(fy),
            "Direct_Amount": column(amount)}


def agrees(values: dict, project, card) -> None:
    for name, amount in expected_names(project, card).items():
        if name in values:
            assert values[name] == int(amount), name


def test_research_fee_per_period_from_the_start_date(template):
    # KEK: 432,000 a year per company researcher, 216,000 for a last period ≤ 6 months.
    # 2026-04-15 – 2027-10-14 is exactly 18 months: the year from 2026-04-15 (FY2026) and
    # 6 months from 2027-04-15 (FY2027); 2 researchers → 864,000 + 432,000 = 1,296,000.
    # Indirect 10% of direct only: 1,000,000 → 100,000.  X total 2,396,000.
    rc, card = template("kek"), load_card("kek")
    inputs = {"Approach": "X", "Start": date(2026, 4, 15), "End": date(2027, 10, 14),
              "Qty_company_researcher": 2, **one_item(1_000_000)}
    v = rc.values(inputs)
    assert v["Input_OK"] is True, v["Input_Check"]
    assert (v["X_research_fee"], v["X_indirect"], v["X_Total"]) == (1_296_000, 100_000,
                                                                   2_396_000)
    assert rc.cells("'Quote X'!D11:E11") == [[864_000, 432_000]]   # by fiscal year
    project = parse_project({"project": {"id": "K", "contract": "joint", "approach": "X",
                                         "start": "2026-04-15", "end": "2027-10-14"},
                             "direct": [{"category": "consumables", "amount": 1_000_000}],
                             "quantities": {"company_researcher": 2}}, "test")
    assert quote(project, card).total == 2_396_000
    agrees(v, project, card)
    # One day more: 19 started months, a last period of 7 > 6 months costs the full year.
    v = rc.values({**inputs, "End": date(2027, 10, 15)})
    assert v["X_research_fee"] == 2 * (432_000 + 432_000)
    # Approach A: the same line after the direct costs; the form's box ② holds it.
    v = rc.values({**inputs, "Approach": "A"})
    assert v["A_research_fee"] == 1_296_000 and v["Form_Academic"] == 1_296_000
    # A count the engine refuses (the drop-down's validation stops -1) says so instead.
    v = rc.values({**inputs, "Qty_company_researcher": 1.005})
    assert v["Total"] == v["Input_Check"] == \
        f"{PREFIX}quantities.company_researcher: a number with at most 2 decimal places"


def test_research_fee_joins_the_indirect_base(template):
    # Kyoto: 440,000 a year (joint research only), indirect 30% of direct + 研究料.
    # 2026-10-01 – 2027-09-30, 1 researcher, direct 2,000,000 in FY2026: 研究料 440,000
    # (FY2026), indirect 30% × 2,440,000 = 732,000; X total 3,172,000.
    rc, card = template("kyoto"), load_card("kyoto")
    inputs = {"Approach": "X", "Start": date(2026, 10, 1), "End": date(2027, 9, 30),
              "Qty_company_researcher": 1, **one_item(2_000_000)}
    v = rc.values(inputs)
    assert (v["X_research_fee"], v["X_indirect"], v["X_Total"]) == (440_000, 732_000,
                                                                   3_172_000)
    assert v["Alloc_Total"] == 3_172_000
    # Sponsored research has no 研究料 (when = { contract = "joint" }): 30% × 2,000,000.
    v = rc.values({**inputs, "Contract": "sponsored"})
    assert (v["X_research_fee"], v["X_indirect"]) == (0, 600_000)
    project = parse_project({"project": {"id": "K", "contract": "joint", "approach": "X",
                                         "start": "2026-10-01", "end": "2027-09-30"},
                             "direct": [{"category": "consumables", "amount": 2_000_000}],
                             "quantities": {"company_researcher": 1}}, "test")
    assert quote(project, card).total == 3_172_000


def test_project_kind_chooses_the_indirect_rate(template):
    # JAIST: 10%, 20% for 支援型.  Direct 1,000,000: 100,000, or 200,000 for the kind picked
    # from the drop-down ("支援型 / support-type joint research", read back as its code).
    rc, card = template("jaist"), load_card("jaist")
    inputs = {"Approach": "X", **one_item(1_000_000)}
    assert rc.values(inputs)["X_indirect"] == 100_000
    v = rc.values({**inputs, "Kind": "支援型 / support-type joint research"})
    assert (v["X_indirect"], v["X_Total"]) == (200_000, 1_200_000)
    assert card.kind("支援型 / support-type joint research") == "support"   # the engine
    # Excel's list validation ignores case; the engine does not: refused in words.
    v = rc.values({**inputs, "Kind": "支援型 / SUPPORT-TYPE JOINT RESEARCH"})
    assert v["Total"] == v["Input_Check"]
    assert v["Input_Check"].startswith(f"{PREFIX}project.kind: a project kind of card 'jaist'")


def test_conditional_rate_by_direct_costs_and_start_date(tmp_path):
    # Fukushima, a workbook built for a project from 2019-10-01 to 2021-03-31 (18 months):
    # direct 600,000 (FY2019) + 300,000 (FY2020) = 900,000 ≤ 1,000,000.  FY2019's rate date
    # 2019-10-01 is before 2020-04-01: 8% → 48,000; FY2020's (2020-04-01) is not: 30% of
    # 300,000 → 90,000.  研究料 210,000 per six months for 1 researcher: periods from
    # 2019-10-01 (FY2019), 2020-04-01 and 2020-10-01 (FY2020) → 210,000 + 420,000.
    # X total 900,000 + 630,000 + 138,000 = 1,668,000.
    card = load_card("fukushima")
    project = parse_project({"project": {"id": "F", "contract": "joint", "approach": "X",
                                         "start": "2019-10-01", "end": "2021-03-31"},
                             "direct": [{"category": "consumables", "amount": 600_000,
                                         "fiscal_year": 2019},
                                        {"category": "consumables", "amount": 300_000,
                                         "fiscal_year": 2020}],
                             "quantities": {"company_researcher": 1}}, "test")
    rc = Recalculator(build(card, project, "native", tmp_path))
    v = rc.values()
    assert v["Input_OK"] is True, v["Input_Check"]
    assert (v["X_indirect"], v["X_research_fee"], v["X_Total"]) == (138_000, 630_000,
                                                                   1_668_000)
    assert quote(project, card).total == 1_668_000
    agrees(v, project, card)


def test_which_rules_the_formulas_price():
    assert priced_rules(load_card("fukushima")) == {
        "indirect.cases[0]", "indirect.cases[1]", "indirect.cases[2]", "fees.research_fee"}
    for card_id in ("fukushima", "jaist", "kek", "kyoto", "nagasaki", "nara-k", "nitech"):
        card = load_card(card_id)
        assert unpriced_for(card, template_project(card)) == [], card_id
    # Cambridge's price floors are workbook/tax.py's (fees.py leaves them unpriced).
    cambridge = load_card("cambridge")
    assert unpriced(cambridge, template_project(cambridge)) == ["floor"]
    assert unpriced_for(cambridge, template_project(cambridge)) == []


def test_monthly_unit_fee_by_quantities(template):
    # NITech endowed lab (kind 産学協同研究講座: no indirect), 2026-05-31 – 2027-08-15 = 15
    # started months from the start date: 11 in FY2026 (May–March), 4 in FY2027.
    # A month: 300,000 two faculty + space 184.99 m² (15.01 below 200: one full 10 m² step,
    # 500,000 − 20,000) + 1.5 extra staff (two started steps of 1: 200,000) = 980,000;
    # FY2026 10,780,000, FY2027 3,920,000 = 14,700,000; X total with 1,000,000 direct
    # 15,700,000.  Blank quantities are the card's included ones: 800,000 a month.
    rc, card = template("nitech"), load_card("nitech")
    lab = "産学協同研究講座 / endowed industry-academia lab"
    inputs = {"Approach": "X", "Kind": lab, "Start": date(2026, 5, 31),
              "End": date(2027, 8, 15), "Qty_space_m2": 184.99, "Qty_extra_staff": 1.5,
              **one_item(1_000_000)}
    v = rc.values(inputs)
    assert (v["X_unit_fee"], v["X_indirect"], v["X_Total"]) == (14_700_000, 0, 15_700_000)
    project = parse_project({"project": {"id": "N", "contract": "joint", "approach": "X",
                                         "kind": "endowed_lab", "start": "2026-05-31",
                                         "end": "2027-08-15"},
                             "direct": [{"category": "consumables", "amount": 1_000_000}],
                             "quantities": {"space_m2": 184.99, "extra_staff": 1.5}}, "test")
    assert quote(project, card).total == 15_700_000
    agrees(v, project, card)
    v = rc.values({**inputs, "Qty_space_m2": None, "Qty_extra_staff": None})
    assert v["X_unit_fee"] == 800_000 * 15
    # Not an endowed lab: no charge, indirect 30% of direct.
    v = rc.values({**inputs, "Kind": None})
    assert (v["X_unit_fee"], v["X_indirect"]) == (0, 300_000)


def test_formula_pieces():
    assert when_formula(When(direct_per_year_at_least=6_000_000), "S", "D", "M", False) == \
        "AND(IF(M<=12,D>=6000000,D*12>=6000000*M))"
    assert when_formula(When(kind="support"), "S", "D", "M", False) == "AND(FALSE)"
    assert add_months("S", "1") == \
        "DATE(YEAR(S),MONTH(S)+1,MIN(DAY(S),DAY(DATE(YEAR(S),MONTH(S)+1+1,0))))"
