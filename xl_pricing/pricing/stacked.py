"""Approach A — Western-standard stacking (欧米でスタンダードな積み上げ).

price = direct + time charge + F&A + strategic + Σ options − company-contribution discount

F&A = base × rate, the rate looked up by activity × location (× field) on each fiscal
year's start; the base is direct, direct + time charge, or modified total direct costs
(direct less the card's excluded categories), as the card says.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ..errors import InputError
from ..money import ZERO, fmt_rate, mul, total
from ..project import Project
from ..rates import RateCard
from .cost import direct_lines, rated_line, yearly_totals
from .fiscal import escalated_rates, rate_date, split_by_months
from .quote import Line, yearly_line
from .timecharge import floor_warning, involvement, resolve_rate


def fa(base: Decimal, rate: Decimal) -> Decimal:
    """F&A cost = base × rate, exact (round with the card's rule).

    Source: handbook fig. 8 (US F&A rates), e.g. MIT 54.7% flat.

    Example:
        >>> fa(Decimal(10_000_000), Decimal("0.547"))
        Decimal('5470000.000')
    """
    return mul(base, rate)


def mtdc(project: Project, card: RateCard) -> dict[int, Decimal]:
    """Modified total direct costs per fiscal year: direct less the excluded categories.

    A ``subaward`` item counts only up to the card's ``subaward_included_up_to`` (per item).
    """
    f = card.model.fa
    years = project.fiscal_years
    first = min(years)
    out = {fy: ZERO for fy in years}
    for item in project.direct:
        if item.category in f.mtdc_excluded:
            continue
        amount = item.amount
        if item.category == "subaward" and f.subaward_included_up_to is not None:
            amount = min(amount, f.subaward_included_up_to)
        out[item.fiscal_year if item.fiscal_year is not None else first] += amount
    return out


# A rate's unit as a line says it ("h" | "day" | "month"; vocabulary.UNITS).
UNIT_OF = {"hour": "h", "day": "day", "month": "month"}


def time_charge_lines(project: Project, card: RateCard) -> tuple[list[Line], list[str]]:
    """One time-charge line per researcher, priced and rounded per fiscal year.

    The involvement (hours, or days for a per-day rate) is spread over the fiscal years in
    proportion to the period's months; with an escalation rate e each year's rate is the
    previous year's × (1 + e), rounded to the yen.
    """
    months = project.fiscal_years
    years = sorted(months)
    esc = project.project.escalation
    if esc is None:
        esc = card.model.time_charge.escalation
    lines, warnings = [], []
    for i, r in enumerate(project.researchers):
        try:
            rate = resolve_rate(r, card)
            quantity = involvement(r, card, rate)
        except InputError as exc:
            raise exc.at(f"researchers[{i}]") from None
        prices = escalated_rates(rate.price, esc, len(years), card.rate_rounding)
        parts = split_by_months(quantity, months)
        by_year = {fy: card.rounding.apply(mul(prices[k], parts[fy]))
                   for k, fy in enumerate(years)}
        per = "/day" if rate.unit == "day" else "/h"
        source = rate.source + (f", escalating {fmt_rate(esc)} a year" if esc else "")
        lines.append(yearly_line("time_charge", by_year, base=quantity, rate=rate.price,
                                 source=source + ("" if per == "/h" else ", per day"),
                                 detail=r.name or r.rank or f"#{i + 1}",
                                 unit=UNIT_OF.get(rate.unit, rate.unit)))
        if (w := floor_warning(r, rate, card, i + 1)) is not None:
            warnings.append(w)
    return lines, warnings


def fa_lines(project: Project, card: RateCard, d_y: dict[int, Decimal],
             tc_y: dict[int, Decimal]) -> list[Line]:
    """F&A per fiscal year on the card's base, at the rate in force on the year's start."""
    info = project.project
    f = card.model.fa
    base_d = mtdc(project, card) if f.base == "mtdc" else d_y
    bases = {fy: base_d[fy] + (tc_y[fy] if f.base == "direct_plus_tc" else ZERO)
             for fy in d_y}
    try:
        rows = {fy: card.fa_rate(info.activity, info.location, info.field,
                                 rate_date(project, fy)) for fy in d_y}
    except InputError as exc:
        raise InputError(*_fa_culprit(project, card), exc.expected) from None
    by_year = {fy: card.rounding.apply(fa(bases[fy], rows[fy].rate)) for fy in d_y}
    distinct = {r.rate for r in rows.values()}
    rate = distinct.pop() if len(distinct) == 1 else None
    where = f"{info.activity}/{info.location}" + (f"/{info.field}" if info.field else "")
    shown = fmt_rate(rate) if rate is not None else " / ".join(
        f"FY{fy} {fmt_rate(r.rate)}" for fy, r in rows.items())
    return [yearly_line("fa", by_year, base=total(bases.values()), rate=rate,
                        source=f"{card.id}: F&A {where} {shown} of {f.base}")]


def _fa_culprit(project: Project, card: RateCard) -> tuple[str, object]:
    """Which project key an F&A rate is missing for: the activity, location or start date."""
    info = project.project
    rows = card.model.fa.rates
    if not any(r.activity == info.activity for r in rows):
        return "project.activity", info.activity
    if not any(r.activity == info.activity and r.location == info.location for r in rows):
        return "project.location", info.location
    return "project.start", info.start


def option_lines(project: Project, card: RateCard, d_y: dict[int, Decimal],
                 tc_y: dict[int, Decimal]) -> list[Line]:
    """Priced options: a fixed price (in the first fiscal year) or a rate on a base."""
    first = min(d_y)
    lines = []
    for i, choice in enumerate(project.options):
        try:
            opt = card.option(choice.name)
        except InputError as exc:
            raise InputError(f"options[{i}]", choice.name, exc.expected) from None
        if choice.amount is not None or opt.method == "fixed":
            amount = choice.amount if choice.amount is not None else opt.amount
            assert amount is not None
            src = "negotiated amount" if choice.amount is not None else f"{card.id}: fixed price"
            by_year = {fy: (amount if fy == first else ZERO) for fy in d_y}
            lines.append(yearly_line("option", by_year, source=src, detail=opt.label_en,
                                     detail_ja=opt.label_ja))
        else:
            assert opt.rate is not None
            bases = {fy: d_y[fy] + (tc_y[fy] if opt.base == "direct_plus_tc" else ZERO)
                     for fy in d_y}
            lines.append(replace(rated_line("option", bases, opt.rate, card.rounding,
                                            f"{card.id}: {fmt_rate(opt.rate)} of {opt.base}",
                                            detail=opt.label_en), detail_ja=opt.label_ja))
    return lines


def contribution_credit(project: Project, card: RateCard) -> Decimal:
    """Exact value credited for company contributions (before the card's cap).

    researcher hours × the card's hourly value + equipment value × the card's credit rate.
    """
    c = card.model.contributions
    credit = ZERO
    for item in project.contributions:
        if item.kind == "researcher_hours":
            credit += mul(item.hours or ZERO, c.researcher_hour_value)
        else:
            credit += mul(item.value or ZERO, c.equipment_credit_rate)
    return credit


def discount_line(project: Project, card: RateCard, subtotal: Decimal,
                  years: list[int]) -> Line | None:
    """Company-contribution discount (negative), capped at max_discount_rate × subtotal."""
    if not project.contributions:
        return None
    c = card.model.contributions
    credit = contribution_credit(project, card)
    cap = mul(subtotal, c.max_discount_rate)
    capped = credit > cap
    amount = -card.rounding.apply(min(credit, cap))
    by_year = {fy: (amount if fy == years[0] else ZERO) for fy in years}
    src = (f"{card.id}: contributions credited, capped at {fmt_rate(c.max_discount_rate)} of "
           f"the price" if capped else f"{card.id}: contributions credited")
    return yearly_line("discount", by_year, base=credit, source=src)


def stacked_lines(project: Project, card: RateCard) -> tuple[list[Line], list[str]]:
    """Approach-A lines before consumption tax, and any warnings."""
    years = list(project.fiscal_years)
    direct = direct_lines(project)
    tc, warnings = time_charge_lines(project, card)
    d_y = yearly_totals(direct, years)
    tc_y = yearly_totals(tc, years)
    fal = fa_lines(project, card, d_y, tc_y)
    lines = [*direct, *tc, *fal]
    st = card.model.strategic
    if st.rate > 0:
        fa_y = yearly_totals(fal, years)
        base = {fy: d_y[fy]
                + (tc_y[fy] if st.base in ("direct_plus_tc", "subtotal") else ZERO)
                + (fa_y[fy] if st.base in ("direct_plus_indirect", "subtotal") else ZERO)
                for fy in years}
        lines.append(rated_line("strategic", base, st.rate, card.rounding,
                                f"{card.id}: strategic {fmt_rate(st.rate)} of {st.base}"))
    lines += option_lines(project, card, d_y, tc_y)
    disc = discount_line(project, card, total(ln.amount for ln in lines), years)
    if disc is not None:
        lines.append(disc)
    return lines, warnings
