"""Approach A — Western-standard stacking (欧米でスタンダードな積み上げ).

price = direct + time charge + F&A + strategic + Σ options − company-contribution discount

F&A = base × rate, the rate looked up by activity × location (× field) on each fiscal
year's start; the base is direct, direct + time charge, or modified total direct costs
(direct less the card's excluded categories), as the card says.
"""

from __future__ import annotations

from decimal import Decimal

from ..errors import InputError
from ..money import ZERO, fmt_rate, mul, total
from ..project import Project
from ..rates import RateCard
from .cost import (blended, direct_lines, fiscal_spans, rated_line, strategic_line,
                   yearly_totals)
from .fees import fee_lines, project_facts
from .fiscal import escalated_rates, split_by_months
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
                                 detail=r.name or r.rank or f"#{i + 1}"))
        if (w := floor_warning(r, rate, card)) is not None:
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
    # The rate(s) of each fiscal year by the card's rate_change method (default: the row in
    # force on the year's first day in the project; blend_by_days: each row for its days).
    spans = fiscal_spans(project)
    try:
        rows = {fy: card.fa_rates_over(info.activity, info.location, info.field, *spans[fy],
                                       info.start) for fy in d_y}
    except InputError as exc:
        raise InputError(*_fa_culprit(project, card), exc.expected) from None
    by_year = {fy: card.rounding.apply(blended(bases[fy], rows[fy])) for fy in d_y}
    distinct = {c.rate for cs in rows.values() for c in cs}
    rate = distinct.pop() if len(distinct) == 1 else None
    where = f"{info.activity}/{info.location}" + (f"/{info.field}" if info.field else "")
    shown = fmt_rate(rate) if rate is not None else " / ".join(
        f"FY{fy} " + " + ".join(fmt_rate(c.rate) + (f" × {c.days} days" if len(cs) > 1 else "")
                                for c in cs) for fy, cs in rows.items())
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
            lines.append(yearly_line("option", by_year, source=src, detail=opt.label_en))
        else:
            assert opt.rate is not None
            bases = {fy: d_y[fy] + (tc_y[fy] if opt.base == "direct_plus_tc" else ZERO)
                     for fy in d_y}
            lines.append(rated_line("option", bases, opt.rate, card.rounding,
                                    f"{card.id}: {fmt_rate(opt.rate)} of {opt.base}"
                                    + card.chosen_by(f"options.{choice.name}"),
                                    detail=opt.label_en))
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
    # The card's 研究料 and unit fees, and strategic on its base (fees: pricing/fees.py).
    facts = project_facts(project, card)
    fees = fee_lines(project, card, facts)
    lines = [*direct, *fees, *tc, *fal]
    parts = {"time_charge": tc_y, "indirect": yearly_totals(fal, years),
             **{c: yearly_totals([f for f in fees if f.component == c], years)
                for c in ("research_fee", "unit_fee")}}
    if (st := strategic_line(project, card, facts, parts)) is not None:
        lines.append(st)
    lines += option_lines(project, card, d_y, tc_y)
    disc = discount_line(project, card, total(ln.amount for ln in lines), years)
    if disc is not None:
        lines.append(disc)
    return lines, warnings
