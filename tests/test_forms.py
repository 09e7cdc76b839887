"""Application forms and the industrial view: parts always add up to the quote's total."""

import pytest

from conftest import EXAMPLES, example
from xl_pricing import load_card, load_project, quote
from xl_pricing.pricing.forms import current_form, new_form
from xl_pricing.pricing.industrial import fully_loaded


def test_current_form_x_by_hand(jp):
    f = current_form(quote(example("x-cost-joint"), jp))
    assert f.boxes == {"direct": 5_000_000, "academic": 0, "indirect": 1_500_000,
                       "strategic": 500_000, "tax": 0}
    assert f.total == 7_000_000


def test_current_form_a_puts_knowledge_in_academic_contribution(jp):
    q = quote(example("a-stacked-sponsored"), jp)
    f = current_form(q)
    # time charge 8,419,878 + options 2,041,987 − discount 500,000
    assert f.boxes["academic"] == 8_419_878 + 1_041_987 + 1_000_000 - 500_000
    assert f.boxes["indirect"] == 3_125_963
    assert f.total == q.total


def test_new_form_a_and_b(jp):
    q = quote(example("b-total-package"), jp)
    a = new_form(q, "A", True)
    assert (a.remuneration, a.expenses, a.uses_tax_credit) == (10_000_000, None, True)
    b = new_form(q, "B")
    assert (b.remuneration, b.expenses) == (5_000_000, 5_000_000)
    assert a.total == b.total == q.total


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("card", ["jp-default", "full-features"])
def test_forms_and_industrial_add_up(path, card):
    c = load_card(card)
    q = quote(load_project(path), c)
    assert current_form(q).total == q.total
    assert new_form(q, "B").total == q.total
    assert sum(a for _, a in fully_loaded(q)) == q.total


def test_fully_loaded_by_hand(jp):
    q = quote(example("x-cost-joint"), jp)
    lines = fully_loaded(q)
    # overhead 2,000,000 spread over 5,000,000 of direct lines (40%); nothing left over
    assert lines == [("Direct costs (consumables)", 2_800_000),
                     ("Direct costs (equipment)", 2_520_000),
                     ("Direct costs (travel)", 560_000),
                     ("Direct costs (part_time_staff)", 1_120_000)]


def test_fully_loaded_leftover_goes_to_the_largest_line(jp):
    from conftest import make
    q = quote(make(project={"approach": "X"},
                   direct=[{"category": "a", "amount": 1}, {"category": "b", "amount": 2},
                           {"category": "c", "amount": 1}]), jp)
    # total 4 + floor(0.3×4)=1 + floor(0.1×4)=0 = 5; overhead 1 over 4: floors 0, 0, 0
    assert q.total == 5
    assert fully_loaded(q) == [("Direct costs (a)", 1), ("Direct costs (b)", 3),
                               ("Direct costs (c)", 1)]
