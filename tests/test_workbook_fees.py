"""The workbooks' native formulas for conditional indirect rates, project kinds and 研究料
(workbook/fees.py): each rule family on a hand-calculated project, typed into a blank
template (or built for a project), recalculated, equal to the engine and to the hand
figures in the comments."""

from __future__ import annotations

from datetime import date


from engine_names import expected_names, typed_inputs
from xl_pricing.project import Researcher
from xl_pricing.workbook.inputs import CAPACITY
from xl_pricing import load_card, parse_project, quote
from xl_pricing.recalc import Recalculator
from xl_pricing.workbook import build, template_project
from xl_pricing.workbook.checks import PREFIX
from xl_pricing.workbook.inputs import unpriced_for
from xl_pricing.workbook.fees import (add_months, priced_rules, unpriced, when_formula)
from xl_pricing.rates.schema import When

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


# -- several fees, fees in the strategic base, bases less categories (TEST cards) ----------

TWO_FEES = '''
[card]
id = "test-twofees"
institution = "Test: three 研究料 and two unit fees (from Kyoto, KEK and NITech)"
version = "2026-12-01"
effective_from = 2026-04-01
currency = "JPY"
description = "test card"
extends = "jp-default"

[indirect]
rate = 0.30
base_includes = ["research_fee", "unit_fee"]
base_excludes = ["equipment"]

[strategic]
rate = 0.10
base = "direct"
base_includes = ["research_fee"]
base_excludes = ["travel"]

[fees.research_fee]
amount = 440_000
short_months = 6
short_amount = 220_000
when = { contract = "joint" }

[fees.bench]
label_ja = "設備利用料"
label_en = "Bench fee"
amount = 120_000
proration = "monthly"

[fees.facility]
label_ja = "施設料"
label_en = "Facility fee"
amount = 50_000
period_months = 6
per = "project"
when = { direct_at_most = 2_000_000 }

[unit_fees.room]
label_ja = "部屋代"
label_en = "Room"
[[unit_fees.room.items]]
label_ja = "部屋"
label_en = "Room"
amount = 100_000

[unit_fees.space]
label_ja = "スペース課金"
label_en = "Space"
when = { contract = "joint" }
[[unit_fees.space.items]]
quantity = "space_m2"
label_ja = "スペース（20㎡、10㎡ごと1万円）"
label_en = "Space (20 m², 10,000 per 10 m²)"
amount = 30_000
included = 20
step = 10
step_amount = 10_000
'''

SUBTOTAL = '''
[card]
id = "test-subtotal"
institution = "Test: strategic on the subtotal with fees, tax in the indirect base (from KEK)"
version = "2026-12-01"
effective_from = 2026-04-01
currency = "JPY"
description = "test card"
extends = "jp-default"

[indirect]
rate = 0.30
base_includes = ["research_fee", "consumption_tax"]

[strategic]
rate = 0.10
base = "subtotal"
base_includes = ["consumption_tax"]

[consumption_tax]
rate = 0.10
applies_to = ["joint"]
prices_include_tax = false

[fees.research_fee]
amount = 432_000
proration = "monthly"

[unit_fees.room]
label_ja = "部屋代"
label_en = "Room"
[[unit_fees.room.items]]
label_ja = "部屋"
label_en = "Room"
amount = 100_000
'''


def card_file(tmp_path_factory, text: str):
    folder = tmp_path_factory.mktemp("card")
    path = folder / "card.toml"
    path.write_text(text, encoding="utf-8")
    return load_card(path), folder


def items(*rows: tuple[str, int, int]) -> dict:
    """The Direct table with these (category, fiscal year, amount) rows."""
    def column(values):
        return [[v] for v in values] + [[None]] * (20 - len(values))
    return {"Direct_Category": column([r[0] for r in rows]),
            "Direct_FY": column([r[1] for r in rows]),
            "Direct_Amount": column([r[2] for r in rows])}


def as_project(inputs: dict, contract: str = "joint", approach: str = "X"):
    rows = [(c[0], f[0], a[0]) for c, f, a in zip(inputs["Direct_Category"],
                                                   inputs["Direct_FY"],
                                                   inputs["Direct_Amount"]) if c[0]]
    qty = {k.removeprefix("Qty_"): v for k, v in inputs.items() if k.startswith("Qty_")}
    return parse_project({"project": {"id": "T", "contract": contract, "approach": approach,
                                      "start": inputs["Start"].isoformat(),
                                      "end": inputs["End"].isoformat()},
                          "direct": [{"category": c, "fiscal_year": f, "amount": a}
                                     for c, f, a in rows],
                          "quantities": qty}, "test")


FEE_NAMES = ["research_fee", "research_fee_2", "research_fee_3", "unit_fee", "unit_fee_2",
             "indirect", "strategic", "consumption_tax", "Total"]


def checked(rc, inputs: dict, project, card) -> dict:
    """The named cells these tests read (recalculating only what they need: suite time)."""
    names = {"Input_OK", "Input_Check", "Form_Academic", *expected_names(project, card)}
    names |= {f"{ap}_{n}" for ap in "XA" for n in FEE_NAMES}
    v = rc.values(inputs, names=[n for n in names if n in rc.names])
    agrees(v, project, card)
    return v


def test_several_fees_each_their_own_line(tmp_path_factory):
    # 2026-10-01 – 2028-03-31: 18 months from the start, 6 in FY2026, 12 in FY2027.
    # 2 company researchers, 35 m² (15 above 20: two started 10 m² steps → 50,000 a month).
    # Direct: consumables 1,000,000 (FY2026), equipment 400,000 + travel 200,000 (FY2027)
    # = 1,600,000 ≤ 2,000,000, so the facility fee applies.
    # 研究料 (Kyoto's): 440,000 from 2026-10-01, 220,000 for the 6 months from 2027-10-01,
    #   × 2 → FY2026 880,000, FY2027 440,000 = 1,320,000.
    # 設備利用料 120,000 a year prorated: 120,000 (FY2026) + 6/12 → 60,000 (FY2027), × 2 →
    #   240,000 + 120,000 = 360,000.
    # 施設料 50,000 per 6 months per project: periods from 2026-10-01, 2027-04-01 and
    #   2027-10-01 → 50,000 + 100,000 = 150,000.
    # 部屋代 100,000 × (6, 12) = 600,000 + 1,200,000; スペース 50,000 × (6, 12) = 300,000 +
    #   600,000.
    # Indirect 30% of (direct less equipment + every 研究料 + every unit fee):
    #   FY2026 (1,000,000 + 1,170,000 + 900,000) × 30% = 921,000,
    #   FY2027 (200,000 + 660,000 + 1,800,000) × 30% = 798,000 → 1,719,000.
    # Strategic 10% of (direct less travel + 研究料): FY2026 2,170,000 → 217,000, FY2027
    #   (400,000 + 660,000) → 106,000 = 323,000.  Prices include tax (jp-default).
    # X total 1,600,000 + 1,830,000 + 2,700,000 + 1,719,000 + 323,000 = 8,172,000.
    card, folder = card_file(tmp_path_factory, TWO_FEES)
    assert unpriced_for(card, template_project(card)) == []
    rc = Recalculator(build(card, None, "native", folder))
    inputs = {"Approach": "X", "Start": date(2026, 10, 1), "End": date(2028, 3, 31),
              "Qty_company_researcher": 2, "Qty_space_m2": 35,
              **items(("consumables", 2026, 1_000_000), ("equipment", 2027, 400_000),
                      ("travel", 2027, 200_000))}
    project = as_project(inputs)
    v = checked(rc, inputs, project, card)
    assert v["Input_OK"] is True, v["Input_Check"]
    assert [v[f"X_{n}"] for n in ("research_fee", "research_fee_2", "research_fee_3",
                                  "unit_fee", "unit_fee_2", "indirect", "strategic",
                                  "Total")] == \
        [1_320_000, 360_000, 150_000, 1_800_000, 900_000, 1_719_000, 323_000, 8_172_000]
    assert quote(project, card).total == 8_172_000
    assert v["Form_Academic"] == 1_830_000   # box ②: every 研究料
    # Sponsored, direct 2,000,001 (consumables 1,400,001): no 研究料 (joint only), no space
    # charge, no facility fee (direct > 2,000,000); the bench fee and the room stay.
    # Indirect FY2026 (1,400,001 + 240,000 + 600,000) × 30% = 672,000 (down), FY2027
    # (200,000 + 120,000 + 1,200,000) × 30% = 456,000; strategic FY2026 (1,400,001 +
    # 240,000) × 10% = 164,000, FY2027 (400,000 + 120,000) × 10% = 52,000.
    # X total 2,000,001 + 360,000 + 1,800,000 + 1,128,000 + 216,000 = 5,504,001.
    other = {**inputs, "Contract": "sponsored",
             **items(("consumables", 2026, 1_400_001), ("equipment", 2027, 400_000),
                     ("travel", 2027, 200_000))}
    project = as_project(other, "sponsored")
    v = checked(rc, other, project, card)
    assert [v[f"X_{n}"] for n in ("research_fee", "research_fee_2", "research_fee_3",
                                  "unit_fee", "unit_fee_2", "indirect", "strategic",
                                  "Total")] == \
        [0, 360_000, 0, 1_800_000, 0, 1_128_000, 216_000, 5_504_001]
    assert quote(project, card).total == 5_504_001
    # Approach A: the same fee lines, strategic on direct less travel + 研究料 per year.
    project = as_project(inputs, approach="A")
    v = checked(rc, {**inputs, "Approach": "A"}, project, card)
    assert v["A_Total"] == quote(project, card).total


def test_strategic_on_the_subtotal_with_fees_and_tax_in_the_base(tmp_path_factory):
    # FY2027 only (2027-04-01 – 2028-03-31), 1 researcher, direct 1,000,000.
    # 研究料 432,000; room 100,000 × 12 = 1,200,000.
    # Indirect 30% of (direct + 研究料 + 10% tax on them): 1,432,000 + 143,200 = 1,575,200
    #   → 472,560.
    # Strategic 10% of the subtotal (direct + 研究料 + unit fee + indirect) = 3,104,560 +
    #   the 10% tax on it 310,456 = 3,415,016 → 341,501 (down).
    # Consumption tax 10% of 3,446,061 = 344,606 (down); total 3,790,667.
    card, folder = card_file(tmp_path_factory, SUBTOTAL)
    assert unpriced_for(card, template_project(card)) == []
    rc = Recalculator(build(card, None, "native", folder))
    inputs = {"Approach": "X", "Start": date(2027, 4, 1), "End": date(2028, 3, 31),
              "Qty_company_researcher": 1, **items(("consumables", 2027, 1_000_000))}
    project = as_project(inputs)
    v = checked(rc, inputs, project, card)
    assert v["Input_OK"] is True, v["Input_Check"]
    assert [v[f"X_{n}"] for n in ("research_fee", "unit_fee", "indirect", "strategic",
                                  "consumption_tax", "Total")] == \
        [432_000, 1_200_000, 472_560, 341_501, 344_606, 3_790_667]
    assert quote(project, card).total == 3_790_667
    # Sponsored research carries no tax here: indirect 30% × 1,432,000 = 429,600,
    # strategic 10% × 3,061,600 = 306,160; total 3,367,760.
    project = as_project(inputs, "sponsored")
    v = checked(rc, {**inputs, "Contract": "sponsored"}, project, card)
    assert (v["X_indirect"], v["X_strategic"], v["X_Total"]) == (429_600, 306_160,
                                                                 3_367_760)
    assert quote(project, card).total == 3_367_760
    # Approach A with a professor's 100 h (30,000 yen/h: 3,000,000): strategic on direct +
    # time charge + F&A + the fees + the tax on them, as the engine.
    project = as_project(inputs, approach="A").model_copy(update={"researchers": [
        Researcher(rank="professor", hours=100)]})
    v = checked(rc, typed_inputs(project, CAPACITY), project, card)
    assert v["A_time_charge_1"] == 3_000_000
    assert v["A_Total"] == quote(project, card).total


def test_every_base_part_the_schema_allows_is_priced(tmp_path_factory):
    # Each part of BASE_PARTS in the indirect and the strategic base, categories left out
    # of both, two 研究料 and two unit fees: nothing left for the engine alone.  (The F&A
    # base takes only consumption_tax — the schema — priced by workbook/tax.py.)
    from xl_pricing.rates.schema import BASE_PARTS

    parts = ", ".join(f'"{p}"' for p in BASE_PARTS)
    text = TWO_FEES.replace('base_includes = ["research_fee", "unit_fee"]',
                            f"base_includes = [{parts}]") \
        .replace('base_includes = ["research_fee"]', f"base_includes = [{parts}]") \
        .replace('base = "direct"', 'base = "subtotal"')
    card, _ = card_file(tmp_path_factory, text)
    used = card.rules_in_use()
    assert {"indirect.base_includes", "indirect.base_excludes", "strategic.base_includes",
            "strategic.base_excludes", "fees.bench", "unit_fees.room"} <= set(used)
    assert unpriced_for(card, template_project(card)) == []
