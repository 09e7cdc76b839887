"""Approach C — outcome-linked pricing (成果連動方式).

price = floor + success fees.  The floor is usually the approach-X cost (or an explicit
amount); success fees are a lump sum, milestone payments and KPI fees that were achieved,
and the running royalty:

    royalty = Σ_years sales × royalty rate × contribution share of the IP

Sales are forecast per fiscal year under low / base / high scenarios; the quote carries the
expected royalty Σ weight_s × royalty_s and shows each scenario's total.  Equity and stock
options are recorded as terms, not priced.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from ..errors import InputError
from ..money import ZERO, Rounding, fmt_rate, mul, total
from ..project import Milestone, Project
from ..rates import RateCard
from .cost import cost_lines
from .quote import Line

SCENARIOS = ("low", "base", "high")


def royalty(sales: Iterable[Decimal], rate: Decimal, contribution: Decimal = Decimal(1),
            rounding: Rounding = Rounding()) -> Decimal:
    """Running royalty on sales, in two rounded steps:

        attributable = Σ sales × contribution share   (rounded to the yen)
        royalty      = attributable × royalty rate     (rounded by the rule)

    Rounding the IP-attributable sales to the yen first keeps every step an exact
    integer product in Excel as well.

    Args:
        sales: sales (yen) per period; summed.
        rate: royalty rate (fraction, 0.03 = 3%).
        contribution: the IP's share in the product's value (fraction, default 1).
        rounding: the card's rounding (default: down to the yen).

    Example: 3% on 100M and 200M yen of sales, IP contributing half:
        >>> royalty([Decimal(100_000_000), Decimal(200_000_000)], Decimal("0.03"), Decimal("0.5"))
        Decimal('4500000')
    """
    if rate < 0 or rate > 1:
        raise InputError("rate", rate, "a royalty rate between 0 and 1 (0.03 = 3%)")
    if contribution < 0 or contribution > 1:
        raise InputError("contribution", contribution, "a share between 0 and 1")
    s = ZERO
    for i, x in enumerate(sales):
        if x < 0:
            raise InputError(f"sales[{i}]", x, "sales in yen >= 0")
        s += x
    attributable = Rounding(rounding.rule, 1).apply(mul(s, contribution))
    return rounding.apply(mul(attributable, rate))


def milestones(amounts: Iterable[Decimal], achieved: Iterable[bool]) -> Decimal:
    """Sum of the milestone payments whose achieved flag is true.

    Example:
        >>> milestones([Decimal(1_000_000), Decimal(2_000_000)], [True, False])
        Decimal('1000000')
    """
    amounts, flags = list(amounts), list(achieved)
    if len(amounts) != len(flags):
        raise InputError("achieved", f"{len(flags)} flags",
                         f"one flag per milestone amount ({len(amounts)})")
    for i, a in enumerate(amounts):
        if a < 0:
            raise InputError(f"amounts[{i}]", a, "a payment in yen >= 0")
    return total(a for a, f in zip(amounts, flags) if f)


def success_fee(floor: Decimal, royalty_amount: Decimal = ZERO, milestone_amount: Decimal = ZERO,
                lump_sum: Decimal = ZERO, kpi_amount: Decimal = ZERO) -> Decimal:
    """Outcome-linked price = floor + royalty + milestones + lump sum + KPI fees.

    Example:
        >>> success_fee(Decimal(6_500_000), Decimal(4_500_000), Decimal(1_000_000))
        Decimal('12000000')
    """
    parts = {"floor": floor, "royalty": royalty_amount, "milestones": milestone_amount,
             "lump_sum": lump_sum, "kpi": kpi_amount}
    for name, v in parts.items():
        if v < 0:
            raise InputError(name, v, "an amount in yen >= 0")
    return total(parts.values())


def _earned(items: list[Milestone], component: str) -> list[Line]:
    return [Line(component, m.amount, source="achieved", detail=m.name)
            for m in items if m.achieved]


def outcome_lines(project: Project, card: RateCard) -> tuple[list[Line], dict[str, object]]:
    """Approach-C lines before consumption tax, and the scenario table."""
    out = project.outcome
    assert out is not None
    if out.floor is not None:
        lines = [Line("floor", out.floor, source="agreed floor")]
    else:
        lines = [Line(ln.component, ln.amount, ln.base, ln.rate,
                      f"floor (approach X): {ln.source}", ln.detail)
                 for ln in cost_lines(project, card)]
    if out.lump_sum > 0:
        lines.append(Line("lump_sum", out.lump_sum, source="agreed lump sum"))
    lines += _earned(out.milestones, "milestone")
    lines += _earned(out.kpis, "kpi")
    fixed = total(ln.amount for ln in lines)

    weights = out.scenario_weights or card.model.outcome.scenario_weights
    rounding = card.rounding
    # Each scenario's royalty is rounded; the expected royalty weights those amounts.
    by_scenario = {s: royalty([getattr(y, s) for y in out.sales], out.royalty_rate,
                              out.contribution, rounding) for s in SCENARIOS}
    if out.sales and out.royalty_rate > 0:
        expected = rounding.apply(total(mul(weights[s], by_scenario[s]) for s in SCENARIOS))
        share = f" × contribution {fmt_rate(out.contribution)}" if out.contribution != 1 else ""
        lines.append(Line("royalty", expected, base=total(
            mul(weights[s], total(getattr(y, s) for y in out.sales)) for s in SCENARIOS),
            rate=out.royalty_rate,
            source=f"royalty {fmt_rate(out.royalty_rate)}{share}: expected value of the "
                   f"scenarios (weights low {weights['low']}, base {weights['base']}, "
                   f"high {weights['high']})"))
    scenarios = {s: {"sales": int(total(getattr(y, s) for y in out.sales)),
                     "royalty": int(by_scenario[s]),
                     "total": int(fixed + by_scenario[s]),
                     "weight": float(weights[s])} for s in SCENARIOS}
    pending = [{"kind": k, "name": m.name, "amount": int(m.amount)}
               for k, items in (("milestone", out.milestones), ("kpi", out.kpis))
               for m in items if not m.achieved]
    extras: dict[str, object] = {
        "scenarios": scenarios,
        "pending_fees": pending,
        "equity": None if out.equity is None else out.equity.model_dump(),
    }
    return lines, extras
