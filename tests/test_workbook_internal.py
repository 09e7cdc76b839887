"""The workbooks' native formulas for the university's own figures (workbook/internal.py):
sponsor caps and the F&A under-recovery (on the Internal sheet only), costs repaid first in
the split of proceeds, a price floor that only warns, a researcher's own monthly rate —
each typed into a blank template (or built for a project), recalculated, equal to the
engine to the yen and to the hand figures in the comments.

No shipped card has sponsor caps, cost recovery or a warning floor: the TEST card below
extends MIT's (54.7% F&A on MTDC) with all three; one blank template of it (validations
removed: values pasted past them, as tests/test_workbook_edits.py does) serves every
test, recalculated by formulon."""

from __future__ import annotations

import openpyxl
from dataclasses import replace
from typing import Any

import pytest

from engine_names import expected_internal, expected_names, typed_inputs
from xl_pricing import InputError, load_card, parse_project, quote
from xl_pricing.errors import InputErrors
from xl_pricing.pricing.allocation import allocate
from xl_pricing.readback import workbook_project
from xl_pricing.recalc import Recalculator
from xl_pricing.workbook import build, build_workbook
from xl_pricing.workbook.save import workbook_bytes
from xl_pricing.workbook.checks import PREFIX
from xl_pricing.workbook.inputs import CAPACITY, unpriced_for
from xl_pricing.workbook.internal import priced_features

# the two sponsor caps of both test cards
SPONSOR_CAPS = '''[fa.sponsor_caps.foundation]
label_ja = "財団"
label_en = "private foundation"
rate = 0.15
[fa.sponsor_caps.state]
label_ja = "州政府"
label_en = "state agency"
base = 3_000_000
'''

CAPS_CARD = '''[card]
id = "caps-test"
institution = "test"
version = "1"
effective_from = 2023-03-29
extends = "mit"
''' + SPONSOR_CAPS + '''[allocation]
cost_recovery = { components = ["royalty", "fa"], to = "university" }
[floor]
multiples = { keeps_ip = 1.00, non_exclusive = 1.20, exclusive = 1.40 }
default_terms = "keeps_ip"
action = "warn"
warn_below = 0.95
approval = "Head of School"
'''

INTERNAL = ["Internal_InstituteFA", "Internal_AppliedFA", "Internal_UnderRecovery",
            "Alloc_UnderRecovery", "Alloc_Unrecovered"]


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """(the TEST card, its blank template's Recalculator), built and loaded once."""
    folder = tmp_path_factory.mktemp("internal")
    (folder / "caps-test.toml").write_text(CAPS_CARD, encoding="utf-8")
    card = load_card(str(folder / "caps-test.toml"))
    wb = build_workbook(card, None, "native")
    for ws in wb.worksheets:
        ws.data_validations.dataValidation = []
    path = folder / "caps-test-native.xlsx"
    path.write_bytes(workbook_bytes(wb))
    rc = Recalculator(path)

    def get(card_id: str = "caps-test") -> tuple[Any, Recalculator]:
        return card, rc

    get.folder = folder  # type: ignore[attr-defined]
    yield get


def sponsored(costs: int = 0, **info: Any):
    """Sponsored research on campus 2027-04-01 – 2029-03-31 (FY2027, FY2028), direct
    (consumables, all in MTDC) 2,000,000 a year.  MIT's 54.7%: institute F&A 1,094,000 a
    year = 2,188,000; strategic 10% of direct = 400,000."""
    data: dict[str, Any] = {
        "project": {"id": "S-1", "contract": "sponsored", "approach": "A",
                    "activity": "research", "location": "on", "start": "2027-04-01",
                    "end": "2029-03-31", **info},
        "direct": [{"category": "consumables", "amount": 2_000_000, "fiscal_year": 2027},
                   {"category": "consumables", "amount": 2_000_000, "fiscal_year": 2028}]}
    if costs:
        data["proceeds"] = {"costs": costs}
    return parse_project(data, "test")


def typed(rc: Recalculator, p, names: list[str]) -> dict[str, Any]:
    """The template after typing ``p`` (a sponsor type picked from the drop-down)."""
    inputs = typed_inputs(p, CAPACITY)
    if inputs.get("SponsorType") in SPONSORS:
        inputs["SponsorType"] = SPONSORS[inputs["SponsorType"]]
    return rc.values(inputs, names=names + ["Input_Check", "Input_OK"])


SPONSORS = {"foundation": "財団 / private foundation", "state": "州政府 / state agency"}


def same_as_engine(v: dict[str, Any], p, card) -> None:
    for name, amount in {**expected_names(p, card), **expected_internal(p, card)}.items():
        if name in v:
            want = int(amount) if not isinstance(amount, str) else amount
            assert v[name] == want, name


# -- which rules the formulas price ------------------------------------------------------

def test_these_rules_leave_the_card_rules_check(books):
    card, _ = books("caps-test")
    for info in ({"sponsor_type": "foundation"}, {"sponsor_cap_rate": "0.2"},
                 {"applied_fa_rate": "0.6", "sponsor_cap_base": 1}):
        p = sponsored(costs=10, **info)
        assert unpriced_for(card, p) == []
        assert {f"project.{k}" for k in info} | {"proceeds.costs"} <= priced_features(card, p)
    # Day-weighted F&A rates with a cap are priced too (each segment capped, then blended:
    # test_a_cap_on_rates_blended_by_days).
    blend = replace(card, model=card.model.model_copy(update={
        "rate_change": card.model.rate_change.model_copy(update={"method": "blend_by_days"})}))
    for info in ({"sponsor_type": "foundation"}, {"applied_fa_rate": "0.6"}):
        p = sponsored(**info)
        assert unpriced_for(blend, p) == []
        assert {f"project.{k}" for k in info} <= priced_features(blend, p)


# -- sponsor caps: the applied F&A on Quote A, the rest on the Internal sheet ------------

@pytest.mark.parametrize("info,fa,institute,under", [
    # foundation (card): 15% × 2,000,000 = 300,000 a year; 1,094,000 − 300,000 = 794,000
    ({"sponsor_type": "foundation"}, 600_000, 2_188_000, 1_588_000),
    # its words, as the drop-down shows them, are the same sponsor
    ({"sponsor_type": "財団 / private foundation"}, 600_000, 2_188_000, 1_588_000),
    # a cap above the institute rate does not bind: min(54.7%, 70%) — nothing under
    ({"sponsor_cap_rate": "0.70"}, 2_188_000, 2_188_000, 0),
    # a cap just below it: 54.6% × 2,000,000 = 1,092,000 a year → 2,000 a year under
    ({"sponsor_cap_rate": "0.546"}, 2_184_000, 2_188_000, 4_000),
    # an applied rate above the institute rate applies as given: 60% → 1,200,000 a year,
    # under-recovery 1,094,000 − 1,200,000 = −106,000 a year
    ({"applied_fa_rate": "0.60"}, 2_400_000, 2_188_000, -212_000),
    # the state's base cap 3,000,000 over the award, earlier years first: bases 2,000,000
    # and 1,000,000 → 1,094,000 + 547,000; under 0 + 547,000
    ({"sponsor_type": "state"}, 1_641_000, 2_188_000, 547_000),
    # a base cap above the award's base (4,000,000) does not bind
    ({"sponsor_cap_base": 4_000_000}, 2_188_000, 2_188_000, 0),
    # a cap exactly at FY2027's base leaves FY2028 none: 1,094,000 + 0
    ({"sponsor_cap_base": 2_000_000}, 1_094_000, 2_188_000, 1_094_000),
    # both caps (the type's base, the project's rate): 20% × 2,000,000 + 20% × 1,000,000
    ({"sponsor_type": "state", "sponsor_cap_rate": "0.2"}, 600_000, 2_188_000, 1_588_000),
])
def test_sponsor_caps_in_the_template(books, info, fa, institute, under):
    card, rc = books("caps-test")
    p = sponsored(**info)
    v = typed(rc, p, ["A_fa", "A_Total", "Total", *INTERNAL])
    assert v["Input_OK"] is True, v["Input_Check"]
    assert (v["A_fa"], v["Internal_InstituteFA"], v["Internal_UnderRecovery"]) == \
        (fa, institute, under)
    assert v["Internal_AppliedFA"] == fa == v["Internal_InstituteFA"] - under
    assert v["Alloc_UnderRecovery"] == under
    assert v["Total"] == 4_000_000 + fa + 400_000 == int(quote(p, card).total)
    same_as_engine(v, p, card)


def test_no_internal_figures_without_a_cap_or_off_approach_a(books):
    card, rc = books("caps-test")
    for p in (sponsored(), sponsored(sponsor_type="foundation", approach="X")):
        v = typed(rc, p, INTERNAL + ["Total"])
        assert "fa" not in quote(p, card).extras.get("internal", {})
        assert v["Internal_UnderRecovery"] == v["Alloc_UnderRecovery"] == ""
        same_as_engine(v, p, card)


def test_a_total_booked_as_a_holds_the_applied_fa(books):
    # Approach B, 6,000,000 agreed and booked as A: A's applied F&A 600,000 (foundation),
    # value added 6,000,000 − (4,000,000 + 600,000 + 400,000) = 1,000,000; the Internal
    # sheet has the under-recovery (the engine's internal.fa is there for B booked as A).
    card, rc = books()
    p = parse_project({**sponsored(sponsor_type="foundation").model_dump(
        mode="json", exclude_none=True), "total": {"agreed": 6_000_000, "book_as": "A"}},
        "test")
    p = parse_project({**p.model_dump(mode="json", exclude_none=True),
                       "project": {**p.model_dump(mode="json", exclude_none=True)["project"],
                                   "approach": "B"}}, "test")
    v = typed(rc, p, ["B_a_fa", "B_value_added", "Total", *INTERNAL])
    assert (v["B_a_fa"], v["B_value_added"], v["Total"]) == (600_000, 1_000_000, 6_000_000)
    assert v["Internal_UnderRecovery"] == 1_588_000
    same_as_engine(v, p, card)


def test_sponsor_inputs_refused_as_the_engine_does(books):
    # What gets past Excel's validation (a list ignores case; numbers in range) is refused
    # by the check beside the input, in the engine's words; every total says so.
    card, rc = books("caps-test")
    wrong_case = "財団 / PRIVATE FOUNDATION"
    cases = [({"SponsorType": wrong_case}, "project.sponsor_type: a sponsor type of card "
                                           "'caps-test': foundation, state"),
             ({"SponsorCapRate": 0.2, "AppliedFaRate": 0.3}, "project.applied_fa_rate: either "
              "applied_fa_rate"),
             ({"SponsorCapRate": 0.12345}, "project.sponsor_cap_rate: a number with at most "
                                           "4 decimal places"),
             ({"AppliedFaRate": 7}, "project.applied_fa_rate: a number <= 5 (rates are "
                                    "fractions: 0.30 means 30%)"),
             ({"SponsorCapBase": 10.5}, "project.sponsor_cap_base: a whole number of yen"),
             ({"SponsorCapBase": "abc"}, "project.sponsor_cap_base: a number >= 0")]
    base = typed_inputs(sponsored(), CAPACITY)
    for extra, text in cases:
        v = rc.values({**base, **extra},
                      names=["Total", "A_Total", "Internal_UnderRecovery", "Input_Check"])
        assert v["Input_Check"].startswith(PREFIX + text), v["Input_Check"]
        assert v["Total"] == v["Internal_UnderRecovery"] == v["Input_Check"]
    with pytest.raises(InputError) as e:
        quote(sponsored(sponsor_type=wrong_case), card)
    assert e.value.field == "project.sponsor_type"
    assert "a sponsor type of card 'caps-test': foundation, state" in e.value.message
    with pytest.raises(InputErrors, match="applied_fa_rate"):
        sponsored(sponsor_cap_rate="0.2", applied_fa_rate="0.3")
    for key, value, words in (("sponsor_cap_rate", "0.12345", "a number with at most 4 decimal places"),
                              ("applied_fa_rate", "7", "a number <= 5"),
                              ("sponsor_cap_base", "10.5", "a whole number of yen")):
        with pytest.raises(InputErrors, match=f"project.{key} = '{value}': expected {words}"):
            sponsored(**{key: value})


def test_company_sheets_never_show_the_internal_figures(books):
    # Foundation: institute F&A 2,188,000, under-recovery 1,588,000 (794,000 a year):
    # none of them anywhere on the quotes, forms, Compare or the Industrial view.
    card, rc = books("caps-test")
    p = sponsored(sponsor_type="foundation")
    v = typed(rc, p, ["Internal_UnderRecovery"])
    assert v["Internal_UnderRecovery"] == 1_588_000
    hidden = {2_188_000, 1_588_000, 794_000, 1_094_000}
    for sheet in ("Quote X", "Quote A", "Quote B", "Quote C", "Compare", "Form (current)",
                  "Form (new)", "Industrial"):
        shown = {c for row in rc.cells(f"'{sheet}'!A1:Z90") for c in row}
        assert not hidden & shown, sheet
        assert not any(isinstance(c, str) and ("1,588,000" in c or "回収不足" in c)
                       for c in shown), sheet
    internal = {c for row in rc.cells("'Internal'!A1:H20") for c in row}
    assert {2_188_000, 1_588_000, 794_000} <= internal


def test_sponsor_caps_built_for_a_project_and_read_back(books, tmp_path):
    # A workbook built for the foundation project holds the sponsor and the costs in its
    # inputs, read back as every command reads a workbook: the same quote.  In the udf
    # target the Internal sheet wraps the same cells in XLP_APPLY_RATE / XLP_FA, and
    # Quote A's F&A line is the Internal sheet's applied F&A in every target.
    card, _ = books()
    p = sponsored(costs=500_000, sponsor_type="foundation")
    for target in ("native", "udf", "officejs"):
        path = build(card, p, target, tmp_path)
        back = workbook_project(path)
        assert back.project.sponsor_type == "財団 / private foundation"
        assert back.proceeds is not None and back.proceeds.costs == 500_000
        assert quote(back, card).total == quote(p, card).total == 5_000_000
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames.index("Internal") > wb.sheetnames.index("Industrial")
        fa_row = [r for r in wb["Quote A"].iter_rows() if r[2].value == "fa"][0]
        assert all(str(c.value).startswith("=Internal!") for c in fa_row[3:5])
        applied = wb["Internal"]["B13"].value
        assert ("XLP_APPLY_RATE(" in applied) == (target != "native"), applied
    assert set(INTERNAL) <= set(wb.defined_names)


# -- sponsor caps on rates blended by days --------------------------------------------------

BLEND_CARD = '''[card]
id = "capblend-test"
institution = "test"
version = "1"
effective_from = 2023-03-29
extends = "mit"
[rate_change]
method = "blend_by_days"
[[fa.rates]]
activity = "research"
location = "on"
rate = 0.55
[[fa.rates]]
activity = "research"
location = "on"
rate = 0.57
effective_from = 2027-07-01
''' + SPONSOR_CAPS


@pytest.fixture(scope="module")
def blend_book(books):
    """(the blending TEST card, its blank template's Recalculator): MIT's MTDC with
    research/on 55% until 2027-06-30 and 57% from 2027-07-01, blended by days."""
    path = books.folder / "capblend-test.toml"
    path.write_text(BLEND_CARD, encoding="utf-8")
    card = load_card(str(path))
    wb = build_workbook(card, None, "native")
    for ws in wb.worksheets:
        ws.data_validations.dataValidation = []
    book = books.folder / "capblend-test-native.xlsx"
    book.write_bytes(workbook_bytes(wb))
    return card, Recalculator(book, engine="formulon")


# sponsored(): FY2027 (2027-04-01 – 2028-03-31, 366 days: 91 at 55%, 275 at 57%) and FY2028
# (365 days at 57%), MTDC 2,000,000 a year.  Institute F&A (rounded down once a year):
# FY2027 2,000,000 × (5500 × 91 + 5700 × 275) ÷ (10,000 × 366) = 2,000,000 × 2,068,000 ÷
# 3,660,000 = 1,130,054.6 → 1,130,054; FY2028 1,140,000; together 2,270,054.
@pytest.mark.parametrize("info,by_year", [
    # a 56% cap binds on one side of it only: FY2027 5500 × 91 + 5600 × 275 = 2,040,500 →
    # 2,000,000 × 2,040,500 ÷ 3,660,000 = 1,115,027.3 → 1,115,027 (under 15,027);
    # FY2028 56% = 1,120,000 (under 20,000)
    ({"sponsor_cap_rate": "0.56"}, [(1_115_027, 15_027), (1_120_000, 20_000)]),
    # an applied 60% replaces both segments: 1,200,000 a year; under 1,130,054 − 1,200,000
    # = −69,946 and 1,140,000 − 1,200,000 = −60,000
    ({"applied_fa_rate": "0.60"}, [(1_200_000, -69_946), (1_200_000, -60_000)]),
    # the state's base cap 3,000,000 binds in FY2028 (base 1,000,000) with the 56% cap:
    # 1,115,027 and 560,000 (under 1,140,000 − 560,000 = 580,000)
    ({"sponsor_type": "state", "sponsor_cap_rate": "0.56"},
     [(1_115_027, 15_027), (560_000, 580_000)]),
    # the foundation's 15% under both segments: 300,000 a year
    ({"sponsor_type": "foundation"}, [(300_000, 830_054), (300_000, 840_000)]),
])
def test_a_cap_on_rates_blended_by_days(blend_book, info, by_year):
    card, rc = blend_book
    p = sponsored(**info)
    assert unpriced_for(card, p) == []
    v = typed(rc, p, ["A_fa", "Total", *INTERNAL[:4]])
    assert v["Input_OK"] is True, v["Input_Check"]
    fa = sum(a for a, _ in by_year)
    under = sum(u for _, u in by_year)
    q = quote(p, card)
    assert [ln.amount for ln in q.lines if ln.component == "fa"] == [fa] == [v["A_fa"]]
    assert q.extras["internal"]["fa"]["by_year"] == {"2027": by_year[0][1],
                                                     "2028": by_year[1][1]}
    assert (v["Internal_AppliedFA"], v["Internal_InstituteFA"],
            v["Internal_UnderRecovery"]) == (fa, 2_270_054, under)
    # direct 4,000,000 + F&A + strategic 10% of direct 400,000
    assert v["Total"] == 4_000_000 + fa + 400_000 == int(q.total)
    years = rc.cells("'Internal'!B13:C14")
    assert [tuple(r) for r in zip(*years)] == by_year
    same_as_engine(v, p, card)


def test_a_cap_blended_from_a_start_inside_the_year(blend_book):
    # 2027-05-15 – 2028-03-31: 47 days at 55%, 275 at 57% (322 days), MTDC 1,000,000.
    # Institute 1,000,000 × (5500 × 47 + 5700 × 275) ÷ 3,220,000 = 567,080.7 → 567,080;
    # a 56% cap: (258,500 + 1,540,000) → 558,540.3 → 558,540; under-recovery 8,540.
    card, rc = blend_book
    p = parse_project({"project": {"id": "S-2", "contract": "sponsored", "approach": "A",
                                   "activity": "research", "location": "on",
                                   "start": "2027-05-15", "end": "2028-03-31",
                                   "sponsor_cap_rate": "0.56"},
                       "direct": [{"category": "consumables", "amount": 1_000_000}]}, "test")
    v = typed(rc, p, ["A_fa", "Total", *INTERNAL[:3]])
    assert v["Input_OK"] is True, v["Input_Check"]
    assert (v["A_fa"], v["Internal_InstituteFA"], v["Internal_UnderRecovery"]) == \
        (558_540, 567_080, 8_540)
    assert v["Total"] == int(quote(p, card).total) == 1_000_000 + 558_540 + 100_000
    same_as_engine(v, p, card)


# -- costs repaid first: the Allocation sheet ---------------------------------------------

def allocation_rows(rc: Recalculator) -> dict[str, list[Any]]:
    rows = rc.cells("'Allocation'!A6:G22")
    from xl_pricing.pricing.quote import LABELS
    from xl_pricing.vocabulary import both
    codes = {both(w): c for c, w in LABELS.items()}
    return {codes[r[0]]: r[1:] for r in rows if r[0] in codes}


@pytest.mark.parametrize("costs,recovered,unrecovered", [
    # foundation: F&A 600,000 (no royalty on approach A): 500,000 repaid from the F&A, its
    # net 100,000 split by the default shares 50/50 department/university
    (500_000, 500_000, 0),
    # more than the F&A: all 600,000 repaid, 400,000 left unrecovered, F&A net 0
    (1_000_000, 600_000, 400_000)])
def test_costs_repaid_first(books, costs, recovered, unrecovered):
    card, rc = books("caps-test")
    p = sponsored(costs=costs, sponsor_type="foundation")
    v = typed(rc, p, ["Alloc_Total", "Alloc_Unrecovered", "Alloc_university", "Alloc_researcher",
                      "Alloc_department", "Alloc_lab", "Alloc_reserve"])
    assert v["Input_OK"] is True, v["Input_Check"]
    al = allocate(quote(p, card), card).to_dict()
    rows = allocation_rows(rc)
    assert rows["cost_recovery"][:1] == [recovered]
    assert rows["cost_recovery"][1 + 3] == recovered          # all to the university
    assert rows["fa"][0] == 600_000 - recovered
    # direct 4,000,000 → lab; strategic 400,000 → 70% university, 30% reserve;
    # university = repaid + half the F&A net + 280,000
    assert v["Alloc_university"] == recovered + (600_000 - recovered) // 2 + 280_000
    assert (v["Alloc_lab"], v["Alloc_reserve"]) == (4_000_000, 120_000)
    assert v["Alloc_Total"] == al["total"] == 5_000_000
    assert v["Alloc_Unrecovered"] == al.get("unrecovered_costs", 0) == unrecovered
    for row in al["by_component"]:
        got = rows[row["component"]]
        assert got[0] == row["amount"], row["component"]
        assert got[1:6] == list(row["parts"].values()), row["component"]
    assert {p: v[f"Alloc_{p}"] for p in al["by_party"]} == al["by_party"]


def test_costs_refused_as_the_engine_does(books):
    _, rc = books("caps-test")
    for value, words in ((-1, "a number >= 0"), (0.5, "a whole number of yen")):
        inputs = {**typed_inputs(sponsored(), CAPACITY), "Proceeds_Costs": value}
        v = rc.values(inputs, names=["Alloc_Total", "Input_Check"])
        assert v["Input_Check"] == v["Alloc_Total"] == f"{PREFIX}proceeds.costs: {words}"
        with pytest.raises(InputErrors, match=f"proceeds.costs = '?{value}'?: expected {words}"):
            parse_project({**sponsored().model_dump(mode="json", exclude_none=True),
                           "proceeds": {"costs": value}}, "test")


# -- price floors that only warn --------------------------------------------------------

def floored(approach: str, terms: str = "exclusive", **more: Any):
    # direct 1,000,000 + negotiated 10 h × 1,000 = 10,000, on campus, joint research.
    data: dict[str, Any] = {
        "project": {"id": "F-1", "contract": "joint", "approach": approach,
                    "start": "2026-04-01", "end": "2027-03-31", "ip_terms": terms},
        "direct": [{"category": "consumables", "amount": 1_000_000}],
        "researchers": [{"name": "a", "rate_source": "negotiated", "hourly": 1000,
                         "hours": 10}], **more}
    return parse_project(data, "test")


FLOOR_NAMES = ["X_FloorCheck", "A_FloorCheck", "X_FloorShare", "A_FloorShare", "Total"]


def test_a_warning_floor_shows_the_engines_words_on_x_and_a(books):
    # action = "warn": no floor line, the engine's warning word for word.  X: direct
    # 1,000,000 + 10,000 + indirect 30% of direct 300,000 = full cost 1,310,000; exclusive
    # ×1.40 → minimum 1,834,000 > the price 1,410,000 (with strategic 10%).
    card, rc = books()
    assert "X_floor" not in rc.names and "A_floor" not in rc.names   # warn: no line
    for ap in "XA":
        p = floored(ap)
        q = quote(p, card)
        v = typed(rc, p, FLOOR_NAMES)
        assert v["Total"] == int(q.total)
        assert [v[f"{ap}_FloorCheck"]] == list(q.warnings)
        assert v[f"{ap}_FloorShare"] == ""
        assert v[f"{ap}_FloorCheck"].startswith("最低価格を下回っています / below the price "
                                                "floor: ")
    # keeps_ip (×1.00): nothing to say.
    p = floored("X", "keeps_ip")
    v = typed(rc, p, FLOOR_NAMES)
    assert v["X_FloorCheck"] == v["X_FloorShare"] == "" and quote(p, card).warnings == ()


def test_warn_below_a_share_of_full_cost(books):
    # Approach A with a company researcher's 100 h (5,000 yen each = 500,000, at most 20%
    # of the price): the discounted price is below 95% of full cost — the Head of School
    # must approve; with ×1.00 it is also below the floor.  Both warnings, the engine's
    # order and words.  (X has no discount: its price never falls below its full cost.)
    card, rc = books()
    for ap in "A":
        p = floored(ap, "keeps_ip",
                    contributions=[{"kind": "researcher_hours", "hours": 100}])
        q = quote(p, card)
        v = typed(rc, p, FLOOR_NAMES)
        assert v["Total"] == int(q.total)
        assert [v[f"{ap}_FloorCheck"], v[f"{ap}_FloorShare"]] == list(q.warnings), ap
        assert v[f"{ap}_FloorShare"].startswith("フルコストの 95% 未満 / below 95% of full "
                                                "cost: ")
        assert "; Head of School required (caps-test: floor.warn_below)" in \
            v[f"{ap}_FloorShare"]


# -- a researcher's own monthly rate -------------------------------------------------------

def test_own_monthly_rate_priced_natively(books, tmp_path):
    # A researcher at her own 400,000 a month for 9 months of the two-year project: 9 of
    # 24 months spread by months over FY2027/FY2028 (4.5 + 4.5) → 1,800,000 + 1,800,000
    # = 3,600,000 (no escalation on this card); strategic and F&A unchanged (MTDC).
    card, rc = books()
    p = parse_project({**sponsored().model_dump(mode="json", exclude_none=True),
                       "researchers": [{"name": "M", "rate_source": "monthly",
                                        "monthly_rate": 400_000, "months": 9}]}, "test")
    assert unpriced_for(card, p) == []
    assert "researchers[0].rate_source" in priced_features(card, p)
    inputs = {**typed_inputs(p, CAPACITY),   # the template's R_RefPrice holds her rate
              "R_RefPrice": [[400_000]] + [[None]] * (CAPACITY["researchers"] - 1)}
    v = rc.values(inputs, names=[*expected_names(p, card), "Input_Check"])
    assert v["Input_Check"] == ""
    assert v["A_time_charge_1"] == 3_600_000
    same_as_engine(v, p, card)
    # The row's own rate stays with the row: another source for it is refused, as the
    # engine refuses a monthly_rate with rate_source 'rank'.
    inputs["R_Source"] = [["rank"]] + [[None]] * (CAPACITY["researchers"] - 1)
    inputs["R_Rank"] = [["professor"]] + [[None]] * (CAPACITY["researchers"] - 1)
    v = rc.values(inputs, names=["Total", "Input_Check"])
    assert v["Total"] == v["Input_Check"] == \
        f"{PREFIX}researchers[0].monthly_rate: only with rate_source 'monthly'"
    # Built for the project, read back: the rate is the row's R_RefPrice.
    back = workbook_project(build(load_card("jp-default"), parse_project(
        {**p.model_dump(mode="json", exclude_none=True),
         "proceeds": None, "project": {**p.model_dump(mode="json")["project"],
                                       "contract": "joint"}}, "test"), "native", tmp_path))
    assert back.researchers[0].monthly_rate == 400_000


def test_a_cap_on_an_fa_base_with_time_charge(tmp_path):
    # jp-default's F&A base is direct + time charge (the Internal sheet reads Quote A's
    # time-charge lines): direct 1,000,000 + professor 100 h × 30,000 = 4,000,000; the
    # institute's 30% = 1,200,000, a foundation's 10% = 400,000, under-recovery 800,000;
    # strategic 10% of direct 100,000 → total 4,500,000 (prices include the tax).
    path = tmp_path / "tc-caps.toml"
    path.write_text('[card]\nid = "tc-caps"\ninstitution = "test"\nversion = "1"\n'
                    'effective_from = 2026-04-01\nextends = "jp-default"\n'
                    '[fa.sponsor_caps.foundation]\nrate = 0.10\n', encoding="utf-8")
    card = load_card(str(path))
    p = parse_project({"project": {"id": "T", "contract": "sponsored", "approach": "A",
                                   "start": "2027-04-01", "end": "2028-03-31",
                                   "sponsor_type": "foundation"},
                       "direct": [{"category": "consumables", "amount": 1_000_000}],
                       "researchers": [{"rank": "professor", "hours": 100}]}, "test")
    v = Recalculator(build(card, p, "native", tmp_path)).values(
        {}, names=["A_fa", "Total", "Input_Check", *INTERNAL[:4]])   # (no cost recovery)
    assert v["Input_Check"] == ""
    assert (v["A_fa"], v["Internal_InstituteFA"], v["Internal_UnderRecovery"],
            v["Total"]) == (400_000, 1_200_000, 800_000, 4_500_000)
    same_as_engine(v, p, card)
