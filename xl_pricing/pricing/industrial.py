"""The industrial view: what a company sees — one total, or fully loaded lines with the
overhead structure (indirect, F&A, strategic, discount, value added, tax) folded in.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from ..money import ZERO, div, mul
from .quote import Quote

# Lines a company recognises as work it pays for; the rest is overhead folded into them.
LOADED = ("direct", "time_charge", "option", "floor", "lump_sum", "milestone", "kpi",
          "royalty")


def fully_loaded(q: Quote) -> list[tuple[str, Decimal]]:
    """(label, amount) lines that carry the overhead in proportion to their amounts.

    Each visible line gets amount + overhead × amount ÷ visible total, rounded down to the
    yen; the last line takes the rest, so the lines add up to the quote's total exactly.

    Example: direct 5,000,000 with indirect 1,500,000 and strategic 500,000 is one line of
    7,000,000.
    """
    visible = [ln for ln in q.lines if ln.component in LOADED and ln.amount != 0]
    if not visible:
        return [("Total", q.total)]
    base = sum((ln.amount for ln in visible), ZERO)
    overhead = q.total - base
    out: list[tuple[str, Decimal]] = []
    for ln in visible[:-1]:
        share = div(mul(overhead, ln.amount), base).quantize(Decimal(1), ROUND_DOWN) \
            if base else ZERO
        out.append((ln.label_en, ln.amount + share))
    last = visible[-1]
    out.append((last.label_en, q.total - sum((a for _, a in out), ZERO)))
    return out
