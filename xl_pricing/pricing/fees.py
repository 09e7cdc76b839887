"""Fixed and recurring fees a card charges beside its rates: 研究料 and monthly unit fees.

* **Research fee** (研究料, component ``research_fee``): an amount per unit (a company
  researcher, or the project) and period of N months — KEK 432,000 JPY a year per
  researcher; Kyoto 440,000 a year, 220,000 for six months or less; a national college
  210,000 per six months, not prorated.  Each period is charged in the fiscal year it
  starts in.
* **Unit fee** (component ``unit_fee``): a monthly schedule priced by the project's
  quantities — NITech's endowed lab: 300,000 for two faculty + 500,000 for 200 m² = 800,000
  a month, +100,000 per extra staff, ±20,000 per 10 m² — times the months in each fiscal
  year.

Also what a card's conditions are judged on (:func:`project_facts`) and the check that a
project names only kinds and quantities the card knows (:func:`check_fee_inputs`).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ..errors import InputError
from ..money import ZERO, div, mul, total
from ..project import Project, months_by_fiscal_year
from ..rates import RateCard
from ..rates.card import Facts, holds
from ..rates.schema import ResearchFee, UnitFee, UnitFeeItem
from .quote import Line, yearly_line


def project_facts(project: Project, card: RateCard) -> Facts:
    """What the card's conditions look at, for ``project``: direct costs (all years),
    calendar months, location, contract, kind (as the card's code) and period.

    Raises:
        InputError: a ``project.kind`` the card does not list.
    """
    info = project.project
    return Facts(direct=total(d.amount for d in project.direct),
                 months=sum(project.fiscal_years.values()), location=info.location,
                 contract=info.contract, kind=card.kind(info.kind), start=info.start,
                 end=info.end)


def facts_of(direct: Decimal, contract: str, location: str, kind: str | None, start: date,
             end: date, whole_year: bool = False) -> Facts:
    """Facts from separate values (an Excel function's arguments): the months are the
    calendar months of start–end, or 12 with ``whole_year`` (no end given).

    >>> facts_of(Decimal(5), "joint", "on", None, date(2027, 4, 1), date(2028, 9, 30)).months
    18
    """
    months = 12 if whole_year else sum(months_by_fiscal_year(start, end).values())
    return Facts(direct=direct, months=months, location=location, contract=contract,
                 kind=kind, start=start, end=end)


def check_fee_inputs(project: Project, card: RateCard) -> None:
    """Refuse a project kind or quantity the card does not know (one message naming it)."""
    card.kind(project.project.kind)
    known = card.quantities()
    for name in project.quantities:
        if name not in known:
            listed = ", ".join(known) or "none (the card has no fees priced by quantity)"
            raise InputError(f"quantities.{name}", project.quantities[name],
                             f"a quantity card {card.id!r} prices: {listed}")


def fee_periods(months: int, fee: ResearchFee) -> list[tuple[int, Decimal]]:
    """(first month, amount) of each period of a research fee over ``months`` months.

    Full periods of ``period_months`` cost ``amount``; a shorter last period costs
    ``short_amount`` when at most ``short_months`` long, else the amount prorated by months
    (``proration = "monthly"``) or in full (``"none"``).  Months count from 0.

    Examples (Kyoto: 440,000 a year, 220,000 for ≤ 6 months; KEK 432,000 prorated):
        >>> kyoto = ResearchFee(amount=440_000, short_months=6, short_amount=220_000)
        >>> fee_periods(18, kyoto)
        [(0, Decimal('440000')), (12, Decimal('220000'))]
        >>> fee_periods(9, ResearchFee(amount=432_000, proration="monthly"))
        [(0, Decimal('324000'))]
    """
    n = fee.period_months
    out = [(k * n, Decimal(fee.amount)) for k in range(months // n)]
    rest = months % n
    if rest:
        if fee.short_months is not None and rest <= fee.short_months:
            amount = Decimal(fee.short_amount)  # type: ignore[arg-type]
        elif fee.proration == "monthly":
            amount = div(mul(fee.amount, Decimal(rest)), Decimal(n))
        else:
            amount = Decimal(fee.amount)
        out.append((months - rest, amount))
    return out


def _month_fiscal_years(project: Project) -> list[int]:
    """The fiscal year of each calendar month of the period, in order."""
    out: list[int] = []
    for fy, m in sorted(project.fiscal_years.items()):
        out += [fy] * m
    return out


def _quantity(project: Project, name: str, why: str) -> Decimal:
    if name == "project":
        return Decimal(1)
    try:
        return project.quantities[name]
    except KeyError:
        raise InputError(f"quantities.{name}", InputError.MISSING,
                         f"the number of {name} ({why} is charged per {name})") from None


def research_fee_line(project: Project, card: RateCard, name: str, fee: ResearchFee
                      ) -> Line:
    """The 研究料 ``name`` of the card for the project: Σ periods × quantity, each fiscal
    year rounded once by the card's rule.

    Example: KEK, 432,000 a year per researcher, 2 researchers for 12 months → 864,000.
    """
    q = _quantity(project, fee.per, f"{fee.label_ja} / {fee.label_en} (fees.{name})")
    fys = _month_fiscal_years(project)
    exact = {fy: ZERO for fy in project.fiscal_years}
    for first, amount in fee_periods(len(fys), fee):
        exact[fys[first]] += mul(amount, q)
    by_year = {fy: card.rounding.apply(a) for fy, a in exact.items()}
    every = f"{fee.period_months} months" if fee.period_months != 12 else "year"
    how = [f"{fee.amount:,} yen per {every}"]
    if fee.short_months is not None:
        how.append(f"{fee.short_amount:,} yen for ≤ {fee.short_months} months")
    elif fee.proration == "monthly":
        how.append("prorated by month")
    per = "" if fee.per == "project" else f" × {q.normalize():f} {fee.per}"
    src = f"{card.id}: fees.{name}: {', '.join(how)}{per}"
    if fee.when is not None:
        src += f" (when {fee.when.describe()})"
    detail = "" if (fee.label_ja, fee.label_en) == ("研究料", "Research fee") else fee.label_ja
    return yearly_line("research_fee", by_year, base=q, rate=Decimal(fee.amount), source=src,
                       detail=detail)


def unit_item_monthly(item: UnitFeeItem, quantity: Decimal | None) -> Decimal:
    """One item's monthly amount: amount + step_amount × steps, where steps counts each
    started ``step`` above ``included`` and, when ``below``, each full step under it.

    Example (NITech space: 500,000 for 200 m², ±20,000 per 10 m²):
        >>> space = UnitFeeItem(quantity="space_m2", label_ja="面積", label_en="space",
        ...     amount=500_000, included=200, step=10, step_amount=20_000, below=True)
        >>> unit_item_monthly(space, Decimal(230)), unit_item_monthly(space, Decimal(185))
        (Decimal('560000'), Decimal('480000'))
    """
    if item.quantity is None or quantity is None:
        return Decimal(item.amount)
    diff = quantity - item.included
    if diff > 0:
        steps = div(diff, item.step).to_integral_value(ROUND_CEILING)
    elif diff < 0 and item.below:
        steps = -div(-diff, item.step).to_integral_value(ROUND_FLOOR)
    else:
        steps = ZERO
    return item.amount + item.step_amount * steps


def unit_fee_line(project: Project, card: RateCard, name: str, fee: UnitFee) -> Line:
    """A monthly unit fee: Σ items' monthly amounts × the months in each fiscal year.

    A quantity the project does not give is taken as the item's ``included`` one (the
    standard schedule).  Example (NITech): 2 faculty, 200 m², 1 extra staff → 300,000 +
    500,000 + 100,000 = 900,000 a month; 12 months → 10,800,000.
    """
    monthly = total(unit_item_monthly(it, project.quantities.get(it.quantity or "",
                                                                 it.included))
                    for it in fee.items)
    by_year = {fy: card.rounding.apply(mul(monthly, Decimal(m)))
               for fy, m in project.fiscal_years.items()}
    parts = " + ".join(f"{unit_item_monthly(it, project.quantities.get(it.quantity or '', it.included)):,}"
                       f" {it.label_en}" for it in fee.items)
    src = f"{card.id}: unit_fees.{name}: {monthly:,} yen a month ({parts}) × months"
    if fee.when is not None:
        src += f" (when {fee.when.describe()})"
    months = Decimal(sum(project.fiscal_years.values()))
    return yearly_line("unit_fee", by_year, base=months, rate=monthly, source=src,
                       detail=fee.label_ja)


def fee_lines(project: Project, card: RateCard, facts: Facts) -> list[Line]:
    """The card's research fees and unit fees that apply to the project (their ``when``
    holds), in the card's order."""
    lines = [research_fee_line(project, card, n, f) for n, f in card.model.fees.items()
             if f.when is None or holds(f.when, facts)]
    lines += [unit_fee_line(project, card, n, f) for n, f in card.model.unit_fees.items()
              if f.when is None or holds(f.when, facts)]
    return lines
