from decimal import Decimal

import pytest

from conftest import make
from xl_pricing import InputError, quote
from xl_pricing.pricing.backsolve import backsolve_rate, with_rate

# One researcher, 100 h, direct 1,000,000 on jp-default:
# total(r) = 1,000,000 + 100 r + 30% × (1,000,000 + 100 r) + 10% × 1,000,000
#          = 1,400,000 + 130 r
ONE = dict(direct=[{"category": "c", "amount": 1_000_000}],
           researchers=[{"rank": "professor", "hours": 100}])


def test_exact_target(jp):
    res = backsolve_rate(make(**ONE), jp, Decimal(5_300_000))
    assert res.rate == 30_000 and res.total == 5_300_000 and res.exact


def test_residual_is_reported_not_hidden(jp):
    res = backsolve_rate(make(**ONE), jp, Decimal(5_300_050))
    assert res.rate == 30_000 and res.residual == 50 and not res.exact
    above = quote(with_rate(make(**ONE), Decimal(30_001), (1,)), jp).total
    assert above > 5_300_050                   # the next yen per hour overshoots


def test_one_researcher_of_two(jp):
    p = make(direct=[{"category": "c", "amount": 1_000_000}],
             researchers=[{"rank": "professor", "hours": 100},
                          {"rank": "postdoc", "hours": 100}])
    res = backsolve_rate(p, jp, Decimal(5_300_000), researcher=2)   # numbered from 1
    # professor fixed: 3,000,000 → 1,400,000 + 130 × 30,000 = 5,300,000 at postdoc rate 0
    assert res.rate == 0 and res.researchers == (2,)
    # the postdoc's standard is 10,000 yen/h: a solved 0 is below it, said as quote says it
    assert res.warnings == ("researcher 2: negotiated rate 0 yen/h is below the postdoc "
                            "standard of 10,000 yen/h (standards are a floor)",)
    assert res.warnings[0].ja.startswith("研究者 2: 交渉単価 0 円/時間 は博士研究員の標準単価")


def test_researcher_numbers_start_at_1(jp):
    p = make(direct=[{"category": "c", "amount": 1_000_000}],
             researchers=[{"name": "Prof. Sato", "rank": "professor", "hours": 100},
                          {"rank": "postdoc", "hours": 100}])
    for bad in (0, 3):
        with pytest.raises(InputError) as exc:
            backsolve_rate(p, jp, Decimal(5_300_000), researcher=bad)
        assert exc.value.field == "researcher" and exc.value.value == bad
        assert "a researcher number from 1 to 2 (numbering starts at 1; " in exc.value.expected
        assert "1 (Prof. Sato), 2)" in exc.value.expected
    # researcher 1 alone, the postdoc at 10,000 × 100 h = 1,000,000:
    # total = 2,000,000 + 100 r + 30% × (2,000,000 + 100 r) + 10% × 1,000,000
    #       = 2,700,000 + 130 r → 5,300,000 needs r = 2,600,000 / 130 = 20,000 yen/h
    res = backsolve_rate(p, jp, Decimal(5_300_000), researcher=1)
    assert res.rate == 20_000 and res.exact and res.researchers == (1,)
    assert res.to_dict()["researchers"] == [1]
    assert res.warnings == ("researcher 1 (Prof. Sato): negotiated rate 20,000 yen/h is "
                            "below the professor standard of 30,000 yen/h (standards are a "
                            "floor)",)


def test_a_rate_at_or_above_the_standard_warns_of_nothing(jp):
    res = backsolve_rate(make(**ONE), jp, Decimal(5_300_000))   # 30,000 = the standard
    assert res.rate == 30_000 and res.warnings == ()


def test_target_below_the_floor(jp):
    with pytest.raises(InputError, match="a total >= 1,400,000 yen"):
        backsolve_rate(make(**ONE), jp, Decimal(1_000_000))


def test_needs_researchers(jp):
    with pytest.raises(InputError, match="at least one researcher"):
        backsolve_rate(make(direct=[{"category": "c", "amount": 1}]), jp, Decimal(10))


def test_time_charge_total(jp):
    from xl_pricing.pricing.backsolve import backsolve_time_charge
    # total = 1,400,000 + 1.3 × TC: 5,300,000 needs TC = 3,000,000 exactly
    res = backsolve_time_charge(make(**ONE), jp, Decimal(5_300_000))
    assert res.rate == 3_000_000 and res.exact
    # 5,300,001: TC 3,000,000 gives 5,300,000 and 3,000,001 gives 5,300,001.3 → 5,300,001
    res = backsolve_time_charge(make(**ONE), jp, Decimal(5_300_001))
    assert res.total == 5_300_001 and res.exact
    no_researchers = make(direct=[{"category": "c", "amount": 1_000_000}])
    assert backsolve_time_charge(no_researchers, jp, Decimal(5_300_000)).rate == 3_000_000
