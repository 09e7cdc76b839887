"""Fixed and recurring fees a card charges beside its rates: 研究料 and monthly unit fees.

* **Research fee** (研究料, component ``research_fee``): an amount per unit (a company
  researcher, or the project) and period of N months — KEK 432,000 JPY a year per
  researcher; Kyoto 440,000 a year, 220,000 for six months or less; a national college
  210,000 per six months, not prorated.  Periods are counted in months elapsed from the
  start date (a period of 12 months from 2027-04-15 ends on 2028-04-14), and each period
  is charged in the fiscal year it starts in.
* **Unit fee** (component ``unit_fee``): a monthly schedule priced by the project's
  quantities — NITech's endowed lab: 300,000 for two faculty + 500,000 for 200 m² = 800,000
  a month, +100,000 per extra staff, ±20,000 per 10 m² — times the months in each fiscal
  year.

Also what a card's conditions are judged on (:func:`project_facts`), the check that a
project names only kinds the card knows (:func:`check_fee_inputs`) and the warnings about
quantities a card does not use or a project does not give (:func:`fee_warnings`).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ..money import ZERO, div, mul, total
from ..project import Project, fiscal_year, months_by_fiscal_year
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
    """Refuse a project kind the card does not know (one message naming the kinds it has).

    Quantities are not refused: a project written for one card (``company_researcher = 0``)
    prices under another that has no such fee; :func:`fee_warnings` names what is unused.
    """
    card.kind(project.project.kind)


def _applying(card: RateCard, facts: Facts) -> list[tuple[str, ResearchFee | UnitFee]]:
    """The card's 研究料 and unit fees whose ``when`` holds for the project."""
    return [(f"fees.{n}", f) for n, f in card.model.fees.items()
            if f.when is None or holds(f.when, facts)] + \
        [(f"unit_fees.{n}", f) for n, f in card.model.unit_fees.items()
         if f.when is None or holds(f.when, facts)]


def fee_warnings(project: Project, card: RateCard, facts: Facts) -> list[str]:
    """Warnings (Japanese and English) about the project's quantities under ``card``:

    * a quantity no fee of the card prices (a project written for another card, or a
      typo) — accepted and not used;
    * a 研究料 that applies but whose quantity the project does not give — priced for 0
      (no company researcher received), so the office sees that nothing was charged.

    Example: KEK, joint research without ``[quantities]`` → "研究料 … 0 として計算 / taken
    as 0 …".
    """
    out: list[str] = []
    known = card.quantities()
    for name in project.quantities:
        if name not in known:
            listed = ", ".join(known) or "none"
            out.append(f"quantities.{name} はこのカードでは使われません / is not used by card "
                       f"{card.id!r} (it prices: {listed})")
    info = project.project
    if info.approach == "B" and (project.total is None or project.total.book_as is None):
        return out  # an agreed total without a build-up prices no fee
    for key, fee in _applying(card, facts):
        if isinstance(fee, ResearchFee) and fee.per != "project" \
                and fee.per not in project.quantities:
            out.append(f"{fee.label_ja}（{key}）: quantities.{fee.per} の指定がないため 0 として"
                       f"計算 / not given: taken as 0 ({fee.amount:,} yen per {fee.per} is "
                       "charged for each one stated)")
    return out


def add_months(d: date, n: int) -> date:
    """The date ``n`` months after ``d``, on the same day of the month or the month's last
    day when it has no such day (2027-01-31 + 1 month = 2027-02-28).

    >>> add_months(date(2027, 4, 15), 6), add_months(date(2027, 1, 31), 1)
    (datetime.date(2027, 10, 15), datetime.date(2027, 2, 28))
    """
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = (nxt - date.resolution).day
    return date(year, month, min(d.day, last))


def started_months(start: date, end: date) -> int:
    """Months elapsed from ``start`` to ``end`` (inclusive), a started month counted whole:
    the smallest m with start + m months > end.

    2027-04-15 – 2027-10-14 is exactly 6 months; to 2027-10-15 it is 7 started months;
    2027-04-01 – 2028-03-31 is 12.

    >>> started_months(date(2027, 4, 15), date(2027, 10, 14))
    6
    >>> started_months(date(2027, 4, 15), date(2027, 10, 15))
    7
    """
    m = max((end.year - start.year) * 12 + end.month - start.month, 0)
    while add_months(start, m) <= end:
        m += 1
    while m > 1 and add_months(start, m - 1) > end:
        m -= 1
    return m


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


def months_from_start_by_fiscal_year(project: Project) -> dict[int, int]:
    """The project's months elapsed from its start date (:func:`started_months`), each in
    the fiscal year it starts in; every fiscal year of the project is a key.

    Example: 2027-04-15 – 2028-04-14 is 12 months, all starting in FY2027 (the calendar
    count gave 12 + 1): ``{2027: 12, 2028: 0}``.
    """
    info = project.project
    out = {fy: 0 for fy in project.fiscal_years}
    for k in range(started_months(info.start, info.end)):
        fy = fiscal_year(add_months(info.start, k))
        out[fy] = out.get(fy, 0) + 1
    return out


def period_fiscal_years(project: Project, fee: ResearchFee) -> list[tuple[int, Decimal]]:
    """(fiscal year, amount) of each period of a research fee over the project: periods of
    ``period_months`` counted from the start date (:func:`started_months`), each charged
    in the fiscal year of its first day.

    Example (Kyoto: 440,000 a year, 220,000 for ≤ 6 months), 2027-10-01 – 2029-03-31
    (18 months): 440,000 in FY2027 (from 2027-10-01) and 220,000 in FY2028 (from
    2028-10-01).
    """
    info = project.project
    months = started_months(info.start, info.end)
    return [(fiscal_year(add_months(info.start, first)), amount)
            for first, amount in fee_periods(months, fee)]


def _quantity(project: Project, name: str) -> Decimal:
    """The project's quantity ``name`` (1 for ``project``); one not given counts 0 (no
    company researcher received: :func:`fee_warnings` says so)."""
    if name == "project":
        return Decimal(1)
    return project.quantities.get(name, ZERO)


# What a 研究料 line's base counts and its rate is per (Line.unit, vocabulary.UNIT_COUNTS).
def fee_unit(fee: ResearchFee) -> str:
    """``researcher_year`` (yen per company researcher and year), ``researcher_period``
    (per researcher and period of N months), ``project_year`` / ``project_period`` (once
    per year or period), for another quantity ``quantity_year`` / ``quantity_period``.

    >>> fee_unit(ResearchFee(amount=432_000)), fee_unit(ResearchFee(amount=1, per="project",
    ...                                                           period_months=6))
    ('researcher_year', 'project_period')
    """
    who = {"company_researcher": "researcher", "project": "project"}.get(fee.per, "quantity")
    return f"{who}_{'year' if fee.period_months == 12 else 'period'}"


def research_fee_line(project: Project, card: RateCard, name: str, fee: ResearchFee
                      ) -> Line:
    """The 研究料 ``name`` of the card for the project: Σ periods × quantity, each fiscal
    year rounded once by the card's rule.

    Example: KEK, 432,000 a year per researcher, 2 researchers for 12 months → 864,000.
    """
    q = _quantity(project, fee.per)
    exact = {fy: ZERO for fy in project.fiscal_years}
    for fy, amount in period_fiscal_years(project, fee):
        exact[fy] += mul(amount, q)
    by_year = {fy: card.rounding.apply(a) for fy, a in exact.items()}
    every = f"{fee.period_months} months" if fee.period_months != 12 else "year"
    how = [f"{fee.amount:,} yen per {every} from the start date"]
    if fee.short_months is not None:
        how.append(f"{fee.short_amount:,} yen for ≤ {fee.short_months} months")
    elif fee.proration == "monthly":
        how.append("prorated by month")
    per = "" if fee.per == "project" else f" × {q.normalize():f} {fee.per}"
    src = f"{card.id}: fees.{name}: {', '.join(how)}{per}"
    if fee.when is not None:
        src += f" (when {fee.when.describe()})"
    # The component's label is already 研究料: a detail only when the card names it otherwise
    detail = "" if fee.label_ja == "研究料" else fee.label_ja
    return yearly_line("research_fee", by_year, base=q, rate=Decimal(fee.amount), source=src,
                       detail=detail, unit=fee_unit(fee))


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
    """A monthly unit fee: Σ items' monthly amounts × the months in each fiscal year
    (months elapsed from the start date, each in the fiscal year it starts in).

    A quantity the project does not give is taken as the item's ``included`` one (the
    standard schedule).  Example (NITech): 2 faculty, 200 m², 1 extra staff → 300,000 +
    500,000 + 100,000 = 900,000 a month; 12 months → 10,800,000.
    """
    monthly = total(unit_item_monthly(it, project.quantities.get(it.quantity or "",
                                                                 it.included))
                    for it in fee.items)
    months_in = months_from_start_by_fiscal_year(project)
    by_year = {fy: card.rounding.apply(mul(monthly, Decimal(m))) for fy, m in months_in.items()}
    parts = " + ".join(f"{unit_item_monthly(it, project.quantities.get(it.quantity or '', it.included)):,}"
                       f" {it.label_en}" for it in fee.items)
    src = f"{card.id}: unit_fees.{name}: {monthly:,} yen a month ({parts}) × months"
    if fee.when is not None:
        src += f" (when {fee.when.describe()})"
    months = Decimal(sum(months_in.values()))
    return yearly_line("unit_fee", by_year, base=months, rate=monthly, source=src,
                       detail=fee.label_ja, unit="month")


def fee_lines(project: Project, card: RateCard, facts: Facts) -> list[Line]:
    """The card's research fees and unit fees that apply to the project (their ``when``
    holds), in the card's order."""
    return [research_fee_line(project, card, key.removeprefix("fees."), f)
            if isinstance(f, ResearchFee)
            else unit_fee_line(project, card, key.removeprefix("unit_fees."), f)
            for key, f in _applying(card, facts)]
