"""Approach B: indirect = agreed total − direct; package allocations."""

from decimal import Decimal

import pytest

from conftest import example, make
from xl_pricing import InputError, quote
from xl_pricing.pricing.total import Package, total_indirect, total_ratio


def test_handbook_total_method_example():
    assert total_indirect(Decimal(10_000_000), Decimal(5_000_000)) == 5_000_000
    assert total_ratio(Decimal(10_000_000), Decimal(5_000_000)) == 1      # 100% > 30%


def test_total_below_direct_is_an_error():
    with pytest.raises(InputError, match=r"total = 4999999: expected an agreed total >= "
                                         r"direct costs \(5,000,000 yen\)"):
        total_indirect(Decimal(4_999_999), Decimal(5_000_000))


def test_b_example(jp):
    q = quote(example("b-total-package"), jp)
    assert q.amount_of("direct") == 5_000_000
    assert q.amount_of("indirect") == 5_000_000
    assert q.total == 10_000_000
    assert q.extras["implied_indirect_ratio_text"] == "100%"
    pkg = q.extras["package"]
    assert (pkg["allocated"], pkg["remaining"]) == (6_500_000, 3_500_000)


def test_package_tracks_remaining_and_refuses_overallocation():
    pkg = Package(Decimal(10_000_000), ()).allocate("one", Decimal(6_000_000))
    assert pkg.remaining == 4_000_000
    pkg = pkg.allocate("two", Decimal(4_000_000))
    assert pkg.remaining == 0
    with pytest.raises(InputError, match="remaining 0 yen"):
        pkg.allocate("three", Decimal(1))


def test_overallocated_project_names_the_allocation(jp):
    p = make(project={"approach": "B"}, direct=[{"category": "c", "amount": 1}],
             total={"agreed": 1_000, "allocations": [{"name": "a", "amount": 600},
                                                      {"name": "b", "amount": 600}]})
    with pytest.raises(InputError, match=r"total.allocations\[1\].amount = 600"):
        quote(p, jp)


def test_booked_as_a_shows_value_added(jp):
    a = example("a-stacked-sponsored")
    p = a.model_copy(update={
        "project": a.project.model_copy(update={"approach": "B"}),
        "total": make(project={"approach": "B"}, total={"agreed": 20_000_000,
                                                        "book_as": "A"}).total})
    q = quote(p, jp)
    assert q.amount_of("value_added") == 20_000_000 - 15_287_828
    assert q.total == 20_000_000
    assert q.amount_of("fa") == 3_125_963


def test_booked_build_up_above_total_is_an_error(jp):
    p = make(project={"approach": "B"}, direct=[{"category": "c", "amount": 1_000_000}],
             total={"agreed": 1_200_000, "book_as": "X"})
    with pytest.raises(InputError, match=r"approach-X build-up \(1,400,000 yen\)"):
        quote(p, jp)
