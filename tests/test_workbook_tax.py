"""The workbook formulas of workbook/tax.py — consumption tax by component and included
before a date, the tax in the F&A base, consulting rates chosen by Start, floors by IP
terms — on blank templates of the shipped cards that use them (yamaguchi, otaru,
cambridge), typed in as a person would and recalculated by formulon; each figure is
hand-calculated below and is also the engine's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import openpyxl
import pytest

from engine_names import typed_inputs
from xl_pricing import libreoffice as lo
from xl_pricing import InputError, load_card, parse_project, quote
from xl_pricing.rates.schema import When, YenCase
from xl_pricing.recalc import RecalcError, Recalculator
from xl_pricing.workbook import build, build_workbook, template_project
from xl_pricing.workbook.book import Book
from xl_pricing.workbook.checks import PREFIX
from xl_pricing.workbook.inputs import CAPACITY, unpriced_rules
from xl_pricing.workbook.tax import consulting_rate, priced_rules, tax_applies

NAMES = ["Total", "Input_Check", "Check_IPTerms", "ConsultingRate", "X_Total", "A_Total",
         "B_Total", "A_direct_consumables", "A_time_charge_1", "A_fa", "A_floor",
         "A_consumption_tax", "X_indirect", "X_floor", "X_consumption_tax", "B_a_floor",
         "B_value_added", "Industrial_Total", "Form_Tax", "B_FloorCheck", "C_FloorCheck",
         "C_Total"]


def project(card_id: str, approach: str = "A", contract: str = "consulting",
            start: str = "2026-04-01", end: str = "2027-03-31", activity: str = "research",
            direct: int = 50_000, researchers: list[dict] | None = None, **more: Any):
    data: dict[str, Any] = {
        "project": {"id": "T-1", "contract": contract, "approach": approach,
                    "activity": activity, "location": "on", "start": start, "end": end},
        "direct": [{"category": "consumables", "amount": direct}],
        "researchers": researchers if researchers is not None else
        [{"name": "Sato", "rate_source": "consulting", "hours": 10}]}
    if "ip_terms" in more:
        data["project"]["ip_terms"] = more.pop("ip_terms")
    data.update(more)
    return parse_project(data, "test")


def typed(rc: Recalculator, p, **extra: Any) -> dict[str, Any]:
    """The Project sheet after typing ``p`` (and ``extra`` cells), recalculated."""
    inputs = {**typed_inputs(p, CAPACITY), **extra}
    return rc.values(inputs, names=[n for n in NAMES if n in rc.names], strict=False)


def engine(card_id: str, p) -> dict[str, int]:
    q = quote(p, load_card(card_id))
    return {"total": int(q.total), **{ln.component: int(ln.amount) for ln in q.lines
                                      if ln.component not in ("direct", "time_charge")}}


# -- which rules the workbooks price ----------------------------------------------------------

def test_cards_with_these_rules_show_no_card_rules_check():
    # Their rules are all priced by the formulas now: no Check_CardRules in their templates.
    for card_id in ("yamaguchi", "otaru", "cambridge"):
        wb = build_workbook(load_card(card_id), None, "native")
        assert "Check_CardRules" not in wb.defined_names, card_id


def test_priced_rules_judge_every_consulting_case():
    # A consulting case on direct costs (or a kind) is judged by the workbook too
    # (workbook/cases.py: direct = SUM(Direct_Amount)), as one on the start date.
    jp = load_card("jp-default")
    cases = [YenCase(rate=30000, when=When(direct_at_most=5)),
             YenCase(rate=20000, when=When(start_from=date(2027, 4, 1)))]
    card = replace(jp, model=jp.model.model_copy(update={
        "time_charge": jp.model.time_charge.model_copy(update={"consulting_cases": cases})}))
    got = priced_rules(card)
    assert {"time_charge.consulting_cases[0]", "time_charge.consulting_cases[1]"} <= got
    # The first case that holds wins (rates.card.pick).
    assert consulting_rate(card) == ("IF(AND(SUM(Direct_Amount)<=5),30000,"
                                     "IF(AND(Start>=DATE(2027,4,1)),20000,50000))")


def test_conditions_in_formulas():
    assert tax_applies(load_card("yamaguchi")) == \
        "INDEX(CT_Applies,MATCH(Contract_Code,Ind_Contract,0))=1"
    # otaru: 10,000 JPY/h before 2025-10-01 (tax included), 20,000 from then (excluded)
    assert consulting_rate(load_card("otaru")) == \
        "IF(AND(Start>=DATE(2025,10,1)),20000,10000)"
    assert consulting_rate(load_card("otaru"), live=False) == 10000
    assert consulting_rate(load_card("yamaguchi")) == 10000


# -- yamaguchi: tax on the fee only, and in the F&A base --------------------------------------

def test_yamaguchi_fee_tax_and_fa_base(template):
    rc = template("yamaguchi")
    p = project("yamaguchi", activity="other")
    v = typed(rc, p)
    # ① 指導料 10 h × 10,000 = 100,000; ② tax on ① only: 10% × 100,000 = 10,000;
    # ③ consumables 50,000; ④ F&A 20% × (100,000 + 10,000 + 50,000) = 32,000.
    assert (v["A_time_charge_1"], v["A_consumption_tax"], v["A_fa"]) == (100_000, 10_000,
                                                                         32_000)
    assert v["Total"] == 192_000 == engine("yamaguchi", p)["total"]
    assert v["Form_Tax"] == 10_000
    # Joint research carries no tax: F&A 20% × 150,000 = 30,000, total 180,000.
    p = project("yamaguchi", activity="other", contract="joint")
    v = typed(rc, p)
    assert (v["A_fa"], v["A_consumption_tax"], v["Total"]) == (30_000, 0, 180_000)
    assert engine("yamaguchi", p) == {"total": 180_000, "fa": 30_000}
    # Approach X: indirect 20% (consulting) × 50,000 = 10,000; no time charge, so no tax.
    p = project("yamaguchi", approach="X")
    v = typed(rc, p)
    assert (v["X_indirect"], v["X_consumption_tax"], v["Total"]) == (10_000, 0, 60_000)
    assert engine("yamaguchi", p)["total"] == 60_000


# -- otaru: consulting rate by Start, prices including tax before 2025-10-01 --------------------

def test_otaru_rate_and_tax_follow_start(template):
    rc = template("otaru")
    p = project("otaru", start="2025-10-01", end="2026-03-31")
    v = typed(rc, p)
    # From 2025-10-01: 20,000 JPY/h excluding tax: 10 h = 200,000; F&A 30% × (50,000 +
    # 200,000) = 75,000; tax 10% × 325,000 = 32,500; total 357,500.
    assert v["ConsultingRate"] == 20_000
    assert (v["A_time_charge_1"], v["A_fa"], v["A_consumption_tax"]) == (200_000, 75_000,
                                                                         32_500)
    assert v["Total"] == 357_500 == engine("otaru", p)["total"]
    # Before: 10,000 JPY/h including tax — 100,000; F&A 30% × 150,000 = 45,000; no tax line.
    p = project("otaru", start="2025-09-01", end="2026-03-31")
    v = typed(rc, p)
    assert v["ConsultingRate"] == 10_000
    assert (v["A_time_charge_1"], v["A_fa"], v["A_consumption_tax"], v["Total"]) == (
        100_000, 45_000, 0, 195_000)
    assert engine("otaru", p) == {"total": 195_000, "fa": 45_000}
    # Approach X from 2025-10-01: indirect 30% × 50,000 = 15,000, tax 10% × 65,000 = 6,500.
    p = project("otaru", approach="X", start="2025-10-01", end="2026-03-31")
    v = typed(rc, p)
    assert (v["X_indirect"], v["X_consumption_tax"], v["Total"]) == (15_000, 6_500, 71_500)
    assert engine("otaru", p)["total"] == 71_500


# -- cambridge: floors by IP terms -------------------------------------------------------------

PROF = [{"name": "Sato", "rank": "professor", "hours": 100}]


def test_cambridge_floor_lifts_x_and_a(template):
    rc = template("cambridge")
    p = project("cambridge", approach="X", contract="joint", direct=1_000_000,
                researchers=[], ip_terms="exclusive")
    v = typed(rc, p)
    # X: direct 1,000,000 + indirect 30% = 300,000 → full cost 1,300,000; exclusive ×1.40
    # → minimum 1,820,000: a floor line of 520,000.
    assert (v["X_indirect"], v["X_floor"], v["Total"]) == (300_000, 520_000, 1_820_000)
    assert engine("cambridge", p) == {"total": 1_820_000, "indirect": 300_000,
                                      "floor": 520_000}
    # A: professor 100 h × 30,000 = 3,000,000; F&A 30% × 4,000,000 = 1,200,000; full cost
    # 5,200,000 × 1.20 (non-exclusive) = 6,240,000 → floor 1,040,000.
    p = project("cambridge", contract="joint", direct=1_000_000, researchers=PROF,
                ip_terms="non_exclusive")
    v = typed(rc, p)
    assert (v["A_fa"], v["A_floor"], v["Total"]) == (1_200_000, 1_040_000, 6_240_000)
    assert v["Industrial_Total"] == 6_240_000
    assert engine("cambridge", p)["floor"] == 1_040_000
    # Blank IP terms: the card's default, keeps_ip ×1.00 — the price is the full cost.
    p = project("cambridge", contract="joint", direct=1_000_000, researchers=PROF)
    v = typed(rc, p)
    assert (v["A_floor"], v["Total"]) == (0, 5_200_000)
    # The drop-down's words are read as the code: 独占的実施権・譲渡 (exclusive) ×1.40 of
    # 5,200,000 = 7,280,000.
    v = typed(rc, p, IPTerms="独占的実施権・譲渡 / exclusive licence or assignment")
    assert (v["A_floor"], v["Total"]) == (2_080_000, 7_280_000)


def test_cambridge_b_is_warned_not_lifted(template):
    rc = template("cambridge")
    # Booked as X: 1,500,000 agreed < 1,820,000 minimum — the engine warns, no floor line.
    p = project("cambridge", approach="B", contract="joint", direct=1_000_000, researchers=[],
                ip_terms="exclusive", total={"agreed": 1_500_000, "book_as": "X"})
    v = typed(rc, p)
    assert (v["B_value_added"], v["Total"]) == (200_000, 1_500_000)
    assert "floor" not in engine("cambridge", p)
    warned, = quote(p, load_card("cambridge")).warnings
    assert v["B_FloorCheck"] == warned == (
        "最低価格を下回っています / below the price floor: 1,500,000 yen < 1,820,000 yen "
        "(cambridge: floor.multiples.exclusive = 140% of full cost 1,300,000) — 合意総額は"
        "変更しません / approach B: the agreed total is not lifted")
    # Agreed 2,000,000 ≥ 1,820,000: no warning.
    p = project("cambridge", approach="B", contract="joint", direct=1_000_000, researchers=[],
                ip_terms="exclusive", total={"agreed": 2_000_000, "book_as": "X"})
    assert typed(rc, p)["B_FloorCheck"] == "" and not quote(p, load_card("cambridge")).warnings
    # C: a lump sum of 1,000,000 on the approach-X floor (direct 1,000,000 + indirect
    # 300,000): 2,300,000 ≥ 1,820,000 — priced as it is, not warned; agreed floor 500,000
    # instead: 1,500,000 < 1,820,000 — warned, not lifted.
    p = project("cambridge", approach="C", contract="joint", direct=1_000_000, researchers=[],
                ip_terms="exclusive", outcome={"lump_sum": 1_000_000})
    v = typed(rc, p)
    assert (v["C_Total"], v["C_FloorCheck"]) == (2_300_000, "")
    p = project("cambridge", approach="C", contract="joint", direct=1_000_000, researchers=[],
                ip_terms="exclusive", outcome={"lump_sum": 1_000_000, "floor": 500_000})
    v = typed(rc, p)
    assert v["C_Total"] == 1_500_000 == engine("cambridge", p)["total"]
    assert [v["C_FloorCheck"]] == list(quote(p, load_card("cambridge")).warnings)
    assert v["C_FloorCheck"].startswith("最低価格を下回っています / below the price floor: "
                                        "1,500,000 yen < 1,820,000 yen (cambridge:")
    # Booked as A: A's lines with their floor (7,280,000 = 5,200,000 × 1.40) + 720,000.
    p = project("cambridge", approach="B", contract="joint", direct=1_000_000,
                researchers=PROF, ip_terms="exclusive",
                total={"agreed": 8_000_000, "book_as": "A"})
    v = typed(rc, p)
    assert (v["B_a_floor"], v["B_value_added"], v["Total"]) == (2_080_000, 720_000,
                                                                8_000_000)
    assert engine("cambridge", p)["floor"] == 2_080_000


def test_cambridge_unknown_terms_are_refused(template, tmp_path):
    p = project("cambridge", contract="joint", direct=1_000_000, researchers=PROF)
    # The drop-down stops the entry ...
    with pytest.raises(RecalcError, match="IPTerms = both: expected one of 大学が知財を保有"):
        typed(template("cambridge"), p, IPTerms="both")
    # ... and pasted past it, the check names the engine's field and every total says so.
    wb = openpyxl.load_workbook(build(load_card("cambridge"), None, "native", tmp_path))
    for ws in wb.worksheets:
        ws.data_validations.dataValidation = []
    wb.save(tmp_path / "pasted.xlsx")
    v = typed(Recalculator(tmp_path / "pasted.xlsx", engine="formulon"), p, IPTerms="both")
    assert v["Check_IPTerms"] == (f"{PREFIX}project.ip_terms: IP terms with a price floor in "
                                  "card 'cambridge' (keeps_ip, non_exclusive, exclusive)")
    assert v["Total"] == v["A_Total"] == v["Input_Check"]
    with pytest.raises(InputError, match="project.ip_terms"):   # (the engine, alike)
        project("cambridge", ip_terms="both")


def test_other_cards_have_no_ip_terms_input():
    wb = build_workbook(load_card("jp-default"), None, "native")
    assert "IPTerms" not in wb.defined_names and "FloorBp" not in wb.defined_names
    assert unpriced_rules(Book(wb, load_card("yamaguchi"), template_project(
        load_card("yamaguchi")), "native", "yamaguchi", True)) == []


@pytest.mark.skipif(lo.find_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_confirms_the_floor(template):
    rc = template("cambridge", "native", "libreoffice")
    p = project("cambridge", approach="X", contract="joint", direct=1_000_000,
                researchers=[], ip_terms="exclusive")
    assert typed(rc, p)["X_floor"] == 520_000


def test_the_tax_a_price_includes_is_shown_under_the_total(tmp_path):
    # jp-default quotes prices including tax: the A example's 15,287,828 contains
    # 15,287,828 × 1,000 ÷ 11,000 = 1,389,802 (rounded down), on Quote A and beside Total.
    from conftest import PROJECTS
    from xl_pricing import load_project
    p = load_project(PROJECTS / "a-stacked-sponsored.toml")
    values = Recalculator(build(load_card("jp-default"), p, "native", tmp_path)).values(
        names=["Total", "TaxIncluded", "A_TaxIncluded", "X_TaxIncluded"])
    assert values["Total"] == 15_287_828
    assert values["TaxIncluded"] == values["A_TaxIncluded"] == 1_389_802
    assert values["X_TaxIncluded"] > 0   # every approach's sheet says its own
