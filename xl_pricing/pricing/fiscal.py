"""Multi-year projects: split by Japanese fiscal year (April–March) and escalate rates.

Build-up approaches (X and A) price each fiscal year separately and round each line once
per year, the way multi-year contracts state a price per fiscal year.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Mapping

from ..money import ZERO, Rounding, div, mul
from ..project import Project


def fiscal_year_start(fy: int) -> date:
    """First day of fiscal year ``fy`` (1 April of that year)."""
    return date(fy, 4, 1)


def rate_date(project: Project, fy: int) -> date:
    """The date a fiscal year's rates are looked up on: its start, or the project's start."""
    return max(project.project.start, fiscal_year_start(fy))


QUANTUM = Decimal("0.0001")


def split_by_months(quantity: Decimal, months: Mapping[int, int]) -> dict[int, Decimal]:
    """Split ``quantity`` (hours or days) over fiscal years in proportion to their months.

    Each year but the last gets quantity × months ÷ total months rounded down to 0.0001;
    the last year gets the rest, so the parts add up to the quantity exactly.

    >>> split_by_months(Decimal(300), {2027: 6, 2028: 12, 2029: 6})
    {2027: Decimal('75.0000'), 2028: Decimal('150.0000'), 2029: Decimal('75.0000')}
    >>> split_by_months(Decimal(100), {2027: 1, 2028: 2})
    {2027: Decimal('33.3333'), 2028: Decimal('66.6667')}
    """
    n = sum(months.values())
    years = sorted(months)
    out = {fy: div(mul(quantity, Decimal(months[fy])), Decimal(n)).quantize(
        QUANTUM, ROUND_DOWN) for fy in years[:-1]}
    out[years[-1]] = quantity - sum(out.values(), ZERO)
    return out


def escalated_rates(price: Decimal, escalation: Decimal, years: int,
                    rounding: Rounding) -> list[Decimal]:
    """A rate for each of ``years`` fiscal years, each year's = last year's × (1 + escalation)
    rounded to the yen, as an institution publishes each year's rate.

    >>> escalated_rates(Decimal(50000), Decimal("0.03"), 3, Rounding("down", 1))
    [Decimal('50000'), Decimal('51500'), Decimal('53045')]
    """
    out = [price]
    for _ in range(years - 1):
        out.append(rounding.apply(mul(out[-1], Decimal(1) + escalation)))
    return out


def direct_by_year(project: Project) -> dict[str, dict[int, Decimal]]:
    """Direct cost per category per fiscal year; items without a year fall in the first."""
    years = project.fiscal_years
    first = min(years)
    out: dict[str, dict[int, Decimal]] = defaultdict(lambda: {fy: ZERO for fy in years})
    for item in project.direct:
        fy = item.fiscal_year if item.fiscal_year is not None else first
        out[item.category][fy] += item.amount
    return dict(out)
