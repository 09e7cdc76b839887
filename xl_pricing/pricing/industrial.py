"""The industrial view: what a company sees — one total, or fully loaded lines with the
overhead structure (indirect, F&A, strategic, discount, value added, tax) folded in.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from ..money import ZERO, div, mul
from .quote import Line, Quote

# Lines a company recognises as work it pays for; the rest is overhead folded into them.
LOADED = ("direct", "time_charge", "option", "floor", "lump_sum", "milestone", "kpi",
          "royalty", "research_fee", "unit_fee")


def _uplift(q: Quote, ln: Line) -> bool:
    # A floor line outside approach C lifts a build-up to the card's minimum (a multiple
    # of full cost): a markup folded into the lines like overhead, not shown to the
    # company; approach C's floor is the price itself and stays visible.
    return ln.component == "floor" and q.approach != "C"


def fully_loaded(q: Quote) -> list[tuple[str, Decimal]]:
    """(label, amount) lines that carry the overhead in proportion to their amounts.

    Each visible line gets amount + overhead × amount ÷ visible total, rounded down to the
    yen; the first of the largest lines takes what rounding left, so the lines add up to the
    quote's total exactly.

    Example: direct 5,000,000 with indirect 1,500,000 and strategic 500,000 is one line of
    7,000,000.  A price-floor uplift of a build-up (approach A) is folded in the same way.
    """
    visible = [ln for ln in q.lines if ln.component in LOADED and not _uplift(q, ln)]
    base = sum((ln.amount for ln in visible), ZERO)
    if not visible or base == 0:
        return [("Total", q.total)]
    overhead = q.total - base
    loaded = [ln.amount + div(mul(overhead, ln.amount), base).quantize(Decimal(1), ROUND_DOWN)
              for ln in visible]
    biggest = max(range(len(visible)), key=lambda i: (visible[i].amount, -i))
    loaded[biggest] += q.total - sum(loaded, ZERO)
    return [(ln.label_en, a) for ln, a in zip(visible, loaded)]
