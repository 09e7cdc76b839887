from decimal import Decimal

import pytest

from conftest import make
from xl_pricing import InputError, quote
from xl_pricing.pricing.timecharge import (day_rate_in_yen, effort_hours, involvement,
                                           resolve_rate, standard_rate, time_charge)


def test_effort_months_hours():
    # handbook: monthly hours = annual working hours × effort ÷ 12
    assert effort_hours(Decimal(1860), Decimal("0.1"), Decimal(12)) == 186
    assert effort_hours(Decimal(1860), Decimal("0.1"), Decimal(1)) == Decimal("15.5")
    assert effort_hours(Decimal(1650), Decimal("0.2"), Decimal(6)) == 165


def test_standard_rate_is_often_below_ten_thousand_yen():
    # 平均基準単価: the handbook warns it gives < 10,000 yen/h even for professors
    assert standard_rate(Decimal(10_500_000), Decimal(1860)) < 10_000
    assert standard_rate(Decimal(8_250_000), Decimal(1650)) == 5000


def test_consulting_standard_rate_50000(jp):
    p = make(researchers=[{"rate_source": "consulting", "hours": 3}])
    q = quote(p, jp)
    assert q.lines[0].rate == 50_000 and q.amount_of("time_charge") == 150_000


def test_cambridge_day_rates_converted_with_card_exchange_rate(jp):
    assert day_rate_in_yen(Decimal(1250), Decimal(160)) == 200_000     # ≈ 20万円
    prof = make(researchers=[{"rate_source": "day_rate", "day_rate": "cambridge-professor",
                              "days": 1}])
    low = make(researchers=[{"rate_source": "day_rate", "day_rate": "cambridge-postdoc",
                             "days": 1}])
    high = make(researchers=[{"rate_source": "day_rate", "day_rate": "cambridge-postdoc",
                              "day_rate_bound": "max", "days": 1}])
    assert quote(prof, jp).amount_of("time_charge") == 200_000
    assert quote(low, jp).amount_of("time_charge") == 96_000           # £600 ≈ 10万円
    assert quote(high, jp).amount_of("time_charge") == 128_000         # £800 ≈ 13万円


def test_day_rate_by_hours_uses_a_whole_yen_hourly_rate(jp):
    p = make(researchers=[{"rate_source": "day_rate", "day_rate": "cambridge-professor",
                           "hours": 31}])   # 4 days of 7.75 h
    # 200,000 ÷ 7.75 = 25,806.45 → 25,806 yen/h (rates are whole yen) × 31 h
    assert quote(p, jp).amount_of("time_charge") == 799_986


def test_salary_rate_is_rounded_to_the_yen(jp):
    p = make(researchers=[{"rank": "associate_professor", "rate_source": "salary",
                           "hours": 186}])
    # 8,600,000 ÷ 1,860 h = 4,623.66 → 4,623 yen/h (rounded down by the card's rule)
    assert resolve_rate(p.researchers[0], jp).price == 4623
    assert quote(p, jp).amount_of("time_charge") == 4623 * 186


def test_effort_hours_are_kept_to_a_hundredth(jp):
    p = make(researchers=[{"rank": "professor", "months": 1, "effort": "0.07"}])
    # 1,860 × 0.07 × 1 ÷ 12 = 10.85 h exactly; × 30,000
    assert quote(p, jp).amount_of("time_charge") == 325_500
    p = make(researchers=[{"rank": "professor", "months": 1, "effort": "0.0123"}])
    # 1,860 × 0.0123 ÷ 12 = 1.9065 → 1.90 h
    assert quote(p, jp).amount_of("time_charge") == 57_000


@pytest.mark.parametrize("researcher,rate", [
    ({"rank": "professor"}, 30_000),
    ({"rank": "postdoc"}, 10_000),
    ({"rate_source": "salary", "salary": 9_300_000}, 5_000),           # 9.3M ÷ 1,860 h
    ({"rate_source": "achievement", "achievement_basis": "publications",
      "publications": 60}, 40_000),
    ({"rate_source": "achievement", "achievement_basis": "years", "years": 25}, 50_000),
    ({"rate_source": "laureate"}, 300_000),
    ({"rate_source": "negotiated", "hourly": 123_456}, 123_456),
])
def test_rate_sources(jp, researcher, rate):
    p = make(researchers=[{**researcher, "hours": 10}])
    assert resolve_rate(p.researchers[0], jp).price == rate
    assert quote(p, jp).amount_of("time_charge") == rate * 10


def test_hours_days_and_effort(jp):
    p = make(researchers=[{"rank": "professor", "days": 2},
                          {"rank": "professor", "months": 6, "effort": "0.2"}])
    # 2 days × 7.75 h/day; 1,860 h/year × 0.2 × 6 ÷ 12
    first, second = p.researchers
    assert involvement(first, jp, resolve_rate(first, jp)) == Decimal("15.5")
    assert involvement(second, jp, resolve_rate(second, jp)) == 186
    # the quote charges exactly rate × those hours
    rate = resolve_rate(first, jp).price
    assert quote(p, jp).amount_of("time_charge") == rate * (Decimal("15.5") + 186)


def test_time_charge_rejects_negatives():
    with pytest.raises(InputError, match="hours"):
        time_charge(Decimal(100), Decimal(-1))
    assert time_charge(Decimal(50_000), Decimal(12)) == 600_000


def test_negotiated_below_standard_warns(jp):
    p = make(researchers=[{"rank": "professor", "rate_source": "negotiated",
                           "hourly": 8000, "hours": 10}])
    assert "below the professor standard" in quote(p, jp).warnings[0]


def test_salary_only_rank_needs_salary_source(full):
    p = make(researchers=[{"rank": "associate_professor", "hours": 10}])
    with pytest.raises(InputError, match="'salary'"):
        quote(p, full)
    ok = make(researchers=[{"rank": "associate_professor", "rate_source": "salary",
                            "hours": 10}])
    assert resolve_rate(ok.researchers[0], full).price == 5000         # 8.25M ÷ 1,650 h
