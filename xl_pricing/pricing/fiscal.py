"""Multi-year projects: split by Japanese fiscal year (April–March) and escalate rates.

Build-up approaches (X and A) price each fiscal year separately and round each line once
per year, the way multi-year contracts state a price per fiscal year.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Mapping

from ..money import ZERO, div, mul
from ..project import Project


def fiscal_year_start(fy: int) -> date:
    """First day of fiscal year ``fy`` (1 April of that year)."""
    return date(fy, 4, 1)


def rate_date(project: Project, fy: int) -> date:
    """The date a fiscal year's rates are looked up on: its start, or the project's start."""
    return max(project.project.start, fiscal_year_start(fy))


def split_by_months(quantity: Decimal, months: Mapping[int, int]) -> dict[int, Decimal]:
    """Split ``quantity`` (hours) over fiscal years in proportion to months (exact).

    >>> split_by_months(Decimal(300), {2027: 6, 2028: 12, 2029: 6})
    {2027: Decimal('75'), 2028: Decimal('150'), 2029: Decimal('75')}
    """
    n = sum(months.values())
    return {fy: div(mul(quantity, Decimal(m)), Decimal(n)) for fy, m in months.items()}


def escalated(rate: Decimal, escalation: Decimal, years_after_start: int) -> Decimal:
    """Rate after ``years_after_start`` yearly increases: rate × (1 + escalation)^k.

    >>> escalated(Decimal(10000), Decimal("0.03"), 2)
    Decimal('10609.0000')
    """
    return mul(rate, (Decimal(1) + escalation) ** years_after_start)


def direct_by_year(project: Project) -> dict[str, dict[int, Decimal]]:
    """Direct cost per category per fiscal year; items without a year fall in the first."""
    years = project.fiscal_years
    first = min(years)
    out: dict[str, dict[int, Decimal]] = defaultdict(lambda: {fy: ZERO for fy in years})
    for item in project.direct:
        fy = item.fiscal_year if item.fiscal_year is not None else first
        out[item.category][fy] += item.amount
    return dict(out)
