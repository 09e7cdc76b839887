from decimal import Decimal

import pytest

from conftest import example
from xl_pricing import InputError, quote
from xl_pricing.pricing import allocate, split


def test_split_parts_add_up_with_residual():
    parts = split(Decimal(1_000_001), {"researcher": Decimal("0.5"), "lab": Decimal("0.3"),
                                       "department": Decimal("0.2")})
    assert parts == {"researcher": 500_000, "lab": 300_000, "department": 200_000,
                     "university": 1, "reserve": 0}


def test_split_negative_amount_adds_up():
    parts = split(Decimal(-1001), {"department": Decimal("0.5"), "university": Decimal("0.5")})
    assert sum(parts.values()) == -1001


def test_split_rejects_bad_shares():
    with pytest.raises(InputError, match="add up to 1"):
        split(Decimal(100), {"lab": Decimal("0.7")})
    with pytest.raises(InputError, match="one of researcher"):
        split(Decimal(100), {"dean": Decimal(1)})


def test_x_example_split_by_hand(jp):
    alloc = allocate(quote(example("x-cost-joint"), jp), jp)
    # direct → lab; indirect 1,500,000 → department/university 50:50;
    # strategic 500,000 → university 70% / reserve 30%
    assert alloc.by_party == {"researcher": 0, "lab": 5_000_000, "department": 750_000,
                              "university": 1_100_000, "reserve": 150_000}
    assert alloc.total == 7_000_000


def test_time_charge_goes_mostly_back_to_researchers(jp):
    alloc = allocate(quote(example("a-stacked-sponsored"), jp), jp)
    tc = [parts for c, _, parts in alloc.rows if c == "time_charge"][0]
    assert tc["researcher"] == 4_209_939                  # half of 8,419,878
    assert sum(alloc.by_party.values()) == 15_287_828
