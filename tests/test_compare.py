from conftest import example
from xl_pricing.pricing.compare import compare


def test_compare_c_project_shows_x_a_c(jp):
    cmp = compare(example("c-outcome-royalty"), jp)
    totals = {q.approach: int(q.total) for q in cmp.quotes}
    # X = 4,000,000 + 30% + 10%; A = 4,000,000 + F&A 30% (no researchers) + 10%
    assert totals == {"X": 5_600_000, "A": 5_600_000, "C": 12_475_000}
    assert [a for a, _ in cmp.skipped] == ["B"]
    assert cmp.chosen == "C"


def test_compare_b_project(jp):
    cmp = compare(example("b-total-package"), jp)
    totals = {q.approach: int(q.total) for q in cmp.quotes}
    assert totals == {"X": 7_000_000, "A": 7_000_000, "B": 10_000_000}
    d = cmp.to_dict()
    assert d["approaches"][2]["components"] == {"direct": 5_000_000, "indirect": 5_000_000}
