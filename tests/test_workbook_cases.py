"""The workbooks' native formulas for conditional rates and rates blended by days
(workbook/cases.py): a TEST card (no shipped card uses these rules) derived from
jp-default, typed into its blank template as a person would, recalculated by formulon,
equal to the engine and to the hand figures in the comments — each condition on both
sides.

The card (``CASES``): rates blended by days; indirect 30%, 35% from 2027-07-01; strategic
10% of direct, 15% when direct > 5,000,000, else 12% from 2027-07-01; F&A research/on 30%,
32% from 2027-07-01; the IP co-ownership option 10% of direct + time charge, 20% when
direct ≤ 1,000,000; consulting 50,000 JPY/h, 30,000 for kind 支援型, 40,000 when direct >
2,000,000.  FY2027 (2027-04-01 – 2028-03-31) has 366 days: 91 before 2027-07-01, 275 from.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import RATES
from engine_names import expected_names, typed_inputs
from xl_pricing import load_card, parse_project, quote
from xl_pricing.recalc import Recalculator
from xl_pricing.workbook import build, build_workbook, template_project
from xl_pricing.workbook.cases import days_in, priced_rules, segments
from xl_pricing.workbook.inputs import CAPACITY, unpriced_for

CASES = '''
[rate_change]
method = "blend_by_days"

[[indirect.cases]]
rate = 0.35
when = { start_from = 2027-07-01 }

[[strategic.cases]]
rate = 0.15
when = { direct_above = 5_000_000 }
[[strategic.cases]]
rate = 0.12
when = { start_from = 2027-07-01 }

[[fa.rates]]
activity = "research"
location = "on"
rate = 0.32
effective_from = 2027-07-01

[[options.ip_co_ownership.cases]]
rate = 0.20
when = { direct_at_most = 1_000_000 }

[[time_charge.consulting_cases]]
rate = 30000
when = { kind = ["support"] }
[[time_charge.consulting_cases]]
rate = 40000
when = { direct_above = 2_000_000 }

[kinds.support]
label_ja = "支援型"
label_en = "support-type"
'''
SUPPORT = "支援型 / support-type"


def write_card(folder: Path, method: str = "blend_by_days") -> Path:
    """jp-default with the rules above, as a card file (the udf target names it)."""
    text = (RATES / "jp-default.toml").read_text(encoding="utf-8")
    name = f"cases-{method.replace('_', '-')}"
    text = text.replace('id = "jp-default"', f'id = "{name}"') + \
        CASES.replace('"blend_by_days"', f'"{method}"')
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cases")
    card = load_card(write_card(folder))
    yield card, Recalculator(build(card, None, "native", folder), engine="formulon")


def project(approach: str, direct: int, start: str = "2027-04-01", end: str = "2028-03-31",
            kind: str | None = None, fy: int = 2027):
    info: dict[str, Any] = {"id": "T", "contract": "joint", "approach": approach,
                            "activity": "research", "location": "on", "start": start,
                            "end": end}
    if kind is not None:
        info["kind"] = kind
    return parse_project({"project": info,
                          "direct": [{"category": "consumables", "amount": direct,
                                      "fiscal_year": fy}],
                          "researchers": [{"name": "Sato", "rate_source": "consulting",
                                           "hours": 10}],
                          "options": [{"name": "ip_co_ownership"}]}, "test")


def shown(book, p) -> dict[str, Any]:
    """The template after typing ``p``, recalculated; every engine figure it names equal."""
    card, rc = book
    expected = expected_names(p, card)
    # (only the names read: a recalculation of every name costs several times more)
    names = [n for n in [*SHOWN, *expected] if n in rc.names]
    v = rc.values(typed_inputs(p, CAPACITY), names=list(dict.fromkeys(names)), strict=False)
    assert v["Input_OK"] is True, v["Input_Check"]
    q = quote(p, card)
    assert v["Total"] == int(q.total)
    for name, amount in expected.items():
        if name in v:
            assert v[name] == int(amount), name
    return v


SHOWN = ["Input_OK", "Input_Check", "Total", "ConsultingRate", "X_indirect", "X_strategic",
         "X_Total", "A_time_charge_1", "A_fa", "A_strategic", "A_option_1"]


def test_the_card_is_priced_by_the_formulas(book):
    card, _ = book
    assert unpriced_for(card, template_project(card)) == []
    assert {"rate_change.method", "indirect.cases[0]", "strategic.cases[0]",
            "strategic.cases[1]", "options.ip_co_ownership.cases[0]"} <= priced_rules(card)
    wb = build_workbook(card, None, "native")
    assert "Check_CardRules" not in wb.defined_names


def test_indirect_and_strategic_blended_by_days(book):
    # X, FY2027 whole, direct 3,000,000.  Indirect: 3,000,000 × (30% × 91 + 35% × 275) ÷
    # 366 = 3,000,000 × 123.55 ÷ 366 = 1,012,704.9 → 1,012,704.  Strategic (direct ≤
    # 5,000,000: the dated case): 3,000,000 × (10% × 91 + 12% × 275) ÷ 366 = 345,081.9 →
    # 345,081.  Total 4,357,785.
    v = shown(book, project("X", 3_000_000))
    assert (v["X_indirect"], v["X_strategic"], v["X_Total"]) == (1_012_704, 345_081,
                                                                 4_357_785)
    # Direct 6,000,000 > 5,000,000: strategic 15% the whole year, 900,000; indirect
    # 6,000,000 × 123.55 ÷ 366 = 2,025,409.8 → 2,025,409.
    v = shown(book, project("X", 6_000_000))
    assert (v["X_indirect"], v["X_strategic"]) == (2_025_409, 900_000)
    # FY2026 whole (before the change): 30% and 10%, no blending.
    v = shown(book, project("X", 1_000_000, "2026-04-01", "2027-03-31", fy=2026))
    assert (v["X_indirect"], v["X_strategic"]) == (300_000, 100_000)
    # From 2027-10-01 (after it): 35% and 12%, FY2027 then FY2028 (2028-04-01 – 09-30).
    v = shown(book, project("X", 1_000_000, "2027-10-01", "2028-09-30"))
    assert (v["X_indirect"], v["X_strategic"]) == (350_000, 120_000)


def test_fa_option_and_consulting_cases_in_approach_a(book):
    # A, 2027-04-01 – 2028-09-30 (18 months), kind 支援型, direct 800,000 in FY2027.
    # Consulting 30,000 JPY/h (the kind's case) × 10 h = 300,000: 199,998 in FY2027
    # (6.6666 h), 100,002 in FY2028.  F&A on direct + time charge: FY2027 999,998 ×
    # (30% × 91 + 32% × 275) ÷ 366 = 999,998 × 115.3 ÷ 366 = 315,026.6 → 315,026; FY2028
    # 100,002 × 32% = 32,000.  Strategic 800,000 × 42.1 ÷ 366 = 92,021.  The option at 20%
    # (direct ≤ 1,000,000): 199,999 + 20,000.  Total 1,759,046.
    v = shown(book, project("A", 800_000, end="2028-09-30", kind=SUPPORT))
    assert (v["A_time_charge_1"], v["A_fa"], v["A_strategic"], v["A_option_1"],
            v["Total"]) == (300_000, 347_026, 92_021, 219_999, 1_759_046)
    assert v["ConsultingRate"] == 30_000
    # No kind, direct 3,000,000 > 2,000,000: 40,000 JPY/h → 400,000; F&A 3,400,000 ×
    # 115.3 ÷ 366 = 1,071,092.8 → 1,071,092; the option at 10% of 3,400,000 = 340,000.
    v = shown(book, project("A", 3_000_000))
    assert (v["ConsultingRate"], v["A_fa"], v["A_option_1"]) == (40_000, 1_071_092, 340_000)
    # No kind, direct 800,000: neither case, 50,000 JPY/h → 500,000.
    v = shown(book, project("A", 800_000))
    assert (v["ConsultingRate"], v["A_time_charge_1"]) == (50_000, 500_000)


def variant(folder: Path, method: str) -> tuple[Any, Recalculator]:
    """The test card with another ``rate_change.method``, and its template."""
    card = load_card(write_card(folder, method))
    return card, Recalculator(build(card, None, "native", folder), engine="formulon")


def test_fiscal_year_rates_on_each_years_rate_date(tmp_path):
    # fiscal_year: each year at the rates in force on its first day in the project
    # (FY_RateDate = max(Start, 1 April)).  A from 2027-10-01 to 2028-09-30, direct
    # 1,000,000 in FY2027, 10 h at 50,000 = 500,000 (250,000 a year): F&A 32% (the row from
    # 2027-07-01 — a template's keys by year, read on 1 April, would say 30%) of 1,250,000
    # and 250,000 = 400,000 + 80,000; strategic 12% (the dated case) = 120,000; the option
    # 20% of 1,500,000 = 300,000; total 2,400,000.
    fy = variant(tmp_path, "fiscal_year")
    v = shown(fy, project("A", 1_000_000, "2027-10-01", "2028-09-30"))
    assert (v["A_fa"], v["A_strategic"], v["A_option_1"], v["Total"]) == (
        480_000, 120_000, 300_000, 2_400_000)
    # X from 2027-04-01 over two years: FY2027 at 30% (its rate date is before the change),
    # FY2028 at 35% — 1,000,000 in FY2027 → 300,000; strategic 10% → 100,000.
    v = shown(fy, project("X", 1_000_000, "2027-04-01", "2029-03-31"))
    assert (v["X_indirect"], v["X_strategic"]) == (300_000, 100_000)


def test_rates_at_the_award(tmp_path):
    # at_award: the rates in force at Start for the whole project.  From 2027-06-01 to
    # 2029-03-31, direct 1,000,000 in FY2028: indirect 30% (not 35%) = 300,000, strategic
    # 10% = 100,000; approach A: F&A 30% of direct + time charge.
    aw = variant(tmp_path, "at_award")
    v = shown(aw, project("X", 1_000_000, "2027-06-01", "2029-03-31", fy=2028))
    assert (v["X_indirect"], v["X_strategic"]) == (300_000, 100_000)
    # 10 h at 50,000 over 22 months: 227,270 (4.5454 h, FY2027) + 272,730; F&A 30% of
    # 227,270 and 1,272,730 = 68,181 + 381,819 = 450,000.
    v = shown(aw, project("A", 1_000_000, "2027-06-01", "2029-03-31", fy=2028))
    assert (v["A_fa"], v["A_strategic"]) == (450_000, 100_000)
    # From 2027-07-01: 35%, 12%.
    v = shown(aw, project("X", 1_000_000, "2027-07-01", "2029-03-31", fy=2028))
    assert (v["X_indirect"], v["X_strategic"]) == (350_000, 120_000)


def test_udf_target_shares_the_blended_cells(tmp_path):
    # The udf workbook prices a blended year with the same Calc cells (one exact
    # division, no XLP_ call can blend): Quote X's indirect and Quote A's F&A.
    card = load_card(write_card(tmp_path))
    wb = build_workbook(card, None, "udf")
    for sheet, line in (("Quote X", "indirect"), ("Quote A", "fa"), ("Quote A", "strategic")):
        cell = next(r for r in wb[sheet].iter_rows() if r[2].value == line)[3].value
        assert "ROUNDDOWN((" in cell and "/(10000*Calc!" in cell and "XLP_" not in cell, line
    # A year judged on one rate date (fiscal_year) keeps the XLP_ call with the case's bp.
    (tmp_path / "fy").mkdir()
    fy_card = load_card(write_card(tmp_path / "fy", "fiscal_year"))
    x = build_workbook(fy_card, None, "udf")["Quote X"]
    cells = {r[2].value: r[3].value for r in x.iter_rows() if r[2].value}
    assert "XLP_INDIRECT(Calc!C3,Calc!" in cells["indirect"]
    assert "XLP_APPLY_RATE((Calc!C3),Calc!" in cells["strategic"]


def test_day_counts():
    # [2027-07-01, …) holds 275 days of FY2027; (…, 2027-07-01) 91.
    before, after = segments([date(2027, 7, 1)])
    assert days_in(after, "S", "E") == "MAX(0,E-MAX(S,DATE(2027,7,1))+1)"
    assert days_in(before, "S", "E") == "MAX(0,MIN(E,DATE(2027,7,1)-1)-S+1)"
