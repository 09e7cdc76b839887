"""The workbooks' native formulas for MTDC subawards (workbook/mtdc.py): items sharing a
subaward id counted up to the threshold once over the award, earlier fiscal years first,
and the award date choosing the threshold — typed into Harvard's blank template,
recalculated (formulon), equal to the engine and to the hand figures in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from engine_names import expected_names
from xl_pricing import load_card, parse_project, quote
from xl_pricing.errors import InputError
from xl_pricing.recalc import Recalculator
from xl_pricing.workbook import build, template_project
from xl_pricing.workbook.checks import PREFIX
from xl_pricing.workbook.inputs import unpriced_for
from xl_pricing.workbook.mtdc import counted, priced_rules

# (category, fiscal year, amount, subaward id): row 2 (FY2026) comes before row 1 (FY2027)
# in S1's threshold; row 6 after row 3 in S2's (same year, later row); row 4 alone.
ITEMS = [("subaward", 2027, 5_000_000, "S1"), ("subaward", 2026, 5_000_000, "S1"),
         ("subaward", 2026, 6_000_000, "S2"), ("subaward", 2027, 4_000_000, None),
         ("consumables", 2026, 1_000_000, None), ("subaward", 2026, 2_000_000, "S2")]


def typed(rows, award: date | None) -> dict:
    def column(i):
        return [[r[i]] for r in rows] + [[None]] * (20 - len(rows))
    return {"Approach": "A", "Start": date(2026, 4, 1), "End": date(2028, 3, 31),
            "AwardDate": award, "Direct_Category": column(0), "Direct_FY": column(1),
            "Direct_Amount": column(2), "Direct_Subaward": column(3)}


def engine_project(rows, award: date | None):
    return parse_project({"project": {"id": "H", "contract": "sponsored", "approach": "A",
                                      "start": "2026-04-01", "end": "2028-03-31",
                                      **({"award_date": award.isoformat()} if award else {})},
                          "direct": [{"category": c, "fiscal_year": fy, "amount": a,
                                      **({"subaward": s} if s else {})}
                                     for c, fy, a, s in rows]}, "test")


@pytest.fixture(scope="module")
def harvard(tmp_path_factory):
    card = load_card("harvard")
    return card, Recalculator(build(card, None, "native", tmp_path_factory.mktemp("h")))


def test_shared_subaward_ids_and_the_award_date(harvard):
    card, rc = harvard
    assert {"direct.subaward", "project.award_date"} <= priced_rules(card)
    # Award date blank = the start 2026-04-01, on or after 2024-10-01: 7,500,000 a subaward.
    # S1: FY2026's 5,000,000 first, then FY2027's min(5,000,000, 2,500,000 left); S2:
    # 6,000,000, then the later row of the same year 1,500,000; row 4 alone 4,000,000.
    # MTDC FY2026 5,000,000 + 6,000,000 + 1,000,000 + 1,500,000 = 13,500,000, FY2027
    # 2,500,000 + 4,000,000 = 6,500,000; F&A 69% → 9,315,000 + 4,485,000 = 13,800,000.
    # (Each item capped alone, as before, would have counted S1 5,000,000 twice.)
    # Strategic 10% of direct 23,000,000 = 2,300,000; A total 39,100,000.
    names = ["Input_OK", "Input_Check", "Direct_FABase", "A_fa", "A_Total", "Total"]
    v = rc.values(typed(ITEMS, None), names=names)
    assert v["Input_OK"] is True, v["Input_Check"]
    assert [r[0] for r in v["Direct_FABase"][:6]] == \
        [2_500_000, 5_000_000, 6_000_000, 4_000_000, 1_000_000, 1_500_000]
    assert v["A_fa"] == 13_800_000
    project = engine_project(ITEMS, None)
    assert unpriced_for(card, project) == []
    assert v["A_Total"] == quote(project, card).total == 23_000_000 + 13_800_000 + 2_300_000
    # Awarded 2024-09-30, the day before the threshold rose: 3,750,000 a subaward.  S1:
    # FY2026 3,750,000, FY2027 nothing left; S2 3,750,000 and 0; row 4 3,750,000.
    # MTDC 8,500,000 + 3,750,000 → F&A 5,865,000 + 2,587,500 = 8,452,500.
    v = rc.values(typed(ITEMS, date(2024, 9, 30)), names=names)
    assert [r[0] for r in v["Direct_FABase"][:6]] == \
        [0, 3_750_000, 3_750_000, 3_750_000, 1_000_000, 0]
    project = engine_project(ITEMS, date(2024, 9, 30))
    assert v["A_fa"] == 8_452_500
    assert v["Total"] == quote(project, card).total
    for name, amount in expected_names(project, card).items():
        if name in v:
            assert v[name] == int(amount), name
    # Awarded on 2024-10-01: 7,500,000 again.
    v = rc.values(typed(ITEMS, date(2024, 10, 1)), names=names)
    assert v["A_fa"] == 13_800_000


def test_a_subaward_id_on_another_category_is_refused(harvard):
    card, rc = harvard
    rows = [("consumables", 2026, 1_000_000, "S1")]
    v = rc.values(typed(rows, None), names=["Input_Check", "Total"])
    expected = ("only on an item of category 'subaward' (a subaward id groups the items of "
                "one subaward)")
    assert v["Total"] == v["Input_Check"] == f"{PREFIX}direct[0].subaward: {expected}"
    with pytest.raises(InputError, match="subaward"):
        engine_project(rows, None)
    # a date the engine would not read
    v = rc.values({**typed(ITEMS, None), "AwardDate": "soon"}, names=["Input_Check"])
    assert v["Input_Check"] == f"{PREFIX}project.award_date: a date such as 2024-10-01"


def test_formula_piece_and_other_cards():
    # The last row looks only at earlier rows (same or earlier year); the first only later.
    assert "C12<=C13" in counted(13, 10, 13) and "C11:$C$13<C10" in counted(10, 10, 13)
    assert priced_rules(load_card("kyoto")) == set()
    kyoto = load_card("kyoto")
    assert unpriced_for(kyoto, template_project(kyoto)) == []


def test_a_workbook_built_for_a_project_keeps_its_ids_and_award_date(tmp_path):
    # Built for the project, read back as the engine reads a project file (rates diff
    # --scan): the same ids, award date and so the same price.
    from xl_pricing.readback import workbook_project

    card = load_card("harvard")
    project = engine_project(ITEMS, date(2024, 9, 30))
    back = workbook_project(build(card, project, "native", tmp_path))
    assert [d.subaward for d in back.direct] == [r[3] for r in ITEMS]
    assert back.project.award_date == date(2024, 9, 30)
    assert quote(back, card).total == quote(project, card).total
