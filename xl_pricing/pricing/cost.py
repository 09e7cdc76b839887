"""Approach X — input-cost accumulation (インプットに基づくコスト積み上げ).

price = direct + indirect + strategic, where indirect = direct × rate (by custom 30%) and
strategic = base × the card's strategic rate.  Each fiscal year is priced separately and
each line rounded once per year by the card's rule.
"""

from __future__ import annotations

from decimal import Decimal

from ..money import ZERO, Rounding, fmt_rate, mul, total
from ..project import Project
from ..rates import RateCard
from .fiscal import direct_by_year
from .quote import Line, yearly_line


def indirect(direct: Decimal, rate: Decimal) -> Decimal:
    """Indirect cost (price) = direct × rate, exact; round with the card's rule.

    Source: handbook, approach X; the rate is by custom 30% (e.g. Toyohashi, Ryukyu).

    Example:
        >>> indirect(Decimal(5_000_000), Decimal("0.30"))
        Decimal('1500000.00')
    """
    return mul(direct, rate)


def apply_rate(base: Decimal, rate: Decimal) -> Decimal:
    """base × rate, exact: the product behind every rate-priced line (round it after).

    Example:
        >>> apply_rate(Decimal(10_420_000), Decimal("0.1"))
        Decimal('1042000.0')
    """
    return mul(base, rate)


def strategic(base: Decimal, rate: Decimal) -> Decimal:
    """Strategic collaboration expense (戦略的産学連携経費) = base × rate, exact.

    Kept apart from indirect costs so it can be accumulated and reinvested in future
    collaboration capacity (handbook, approach A).  The base is the card's setting.

    Example:
        >>> strategic(Decimal(5_000_000), Decimal("0.10"))
        Decimal('500000.00')
    """
    return mul(base, rate)


def direct_lines(project: Project) -> list[Line]:
    """One line per direct-cost category, split by fiscal year (inputs are whole yen)."""
    return [yearly_line("direct", by_year, detail=cat, source="project inputs")
            for cat, by_year in direct_by_year(project).items()]


def yearly_totals(lines: list[Line], years: list[int]) -> dict[int, Decimal]:
    """Sum of the lines' yearly amounts, per fiscal year."""
    out = {fy: ZERO for fy in years}
    for ln in lines:
        for fy, a in ln.by_year:
            out[fy] += a
    return out


def rated_line(component: str, bases: dict[int, Decimal], rate: Decimal, rounding: Rounding,
               source: str, detail: str = "") -> Line:
    """base × rate per fiscal year, each rounded once; the line carries base and rate."""
    by_year = {fy: rounding.apply(mul(b, rate)) for fy, b in bases.items()}
    return yearly_line(component, by_year, base=total(bases.values()), rate=rate,
                       source=source, detail=detail)


def cost_lines(project: Project, card: RateCard) -> list[Line]:
    """Approach-X lines before consumption tax: direct, indirect, strategic."""
    years = list(project.fiscal_years)
    direct = direct_lines(project)
    d_y = yearly_totals(direct, years)
    rate = card.indirect_rate(project.project.contract)
    ind = rated_line("indirect", d_y, rate, card.rounding,
                     f"{card.id}: indirect rate {fmt_rate(rate)} of direct")
    lines = [*direct, ind]
    st = card.model.strategic
    if st.rate > 0:
        i_y = dict(ind.by_year)
        base = {fy: d_y[fy] + (i_y[fy] if st.base in ("direct_plus_indirect", "subtotal")
                               else ZERO) for fy in years}
        lines.append(rated_line("strategic", base, st.rate, card.rounding,
                                f"{card.id}: strategic {fmt_rate(st.rate)} of {st.base}"))
    return lines
