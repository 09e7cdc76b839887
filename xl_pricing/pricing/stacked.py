"""Approach A — Western-standard stacking (欧米でスタンダードな積み上げ).

price = direct + time charge + F&A + strategic + Σ options − company-contribution discount
        (+ a floor line lifting it to the card's minimum multiple of full cost)

F&A = base × rate, the rate looked up by activity × location (× field) on each fiscal
year's start; the base is direct, direct + time charge, or modified total direct costs
(direct less the card's excluded categories, each subaward counted up to the card's
threshold over the whole award), as the card says.  A sponsor cap (an applied rate or a
capped base) prices F&A at what the sponsor pays; the under-recovery (institute − applied)
is on the internal view only (:func:`internal_view`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ..errors import InputError
from ..money import ZERO, Rounding, fmt_rate, mul, total
from ..project import Project
from ..rates import RateCard
from ..rates.card import Choice
from ..vocabulary import MTDC_CATEGORIES, code_for
from .cost import (blended, cost_lines, direct_lines, fiscal_spans, rated_line,
                   strategic_line, tax_on_parts, yearly_totals)
from .fees import fee_lines, project_facts
from .fiscal import escalated_rates, split_by_months
from .quote import Line, yearly_line
from .timecharge import floor_warning, involvement, researcher_fte, resolve_rate


def fa(base: Decimal, rate: Decimal) -> Decimal:
    """F&A cost = base × rate, exact (round with the card's rule).

    Source: handbook fig. 8 (US F&A rates), e.g. MIT 54.7% flat.

    Example:
        >>> fa(Decimal(10_000_000), Decimal("0.547"))
        Decimal('5470000.000')
    """
    return mul(base, rate)


def award_date(project: Project) -> date:
    """The date the award was made: ``project.award_date``, else the project's start."""
    info = project.project
    return info.award_date or info.start


def subaward_threshold(card: RateCard, awarded: date) -> Decimal | None:
    """The part of each subaward counted in MTDC for an award made on ``awarded``.

    The latest ``fa.subaward_thresholds`` entry in force on that date, else
    ``fa.subaward_included_up_to`` (``None``: subawards count in full).  2 CFR 200.1: the
    first 25,000 USD of each subaward; 50,000 USD for awards from 2024-10-01.

    Example: a card with 3,750,000 yen and a threshold of 7,500,000 from 2024-10-01 gives
    3,750,000 for an award of 2024-09-30 and 7,500,000 for one of 2024-10-01.
    """
    f = card.model.fa
    dated = [t for t in f.subaward_thresholds if t.effective_from <= awarded]
    if dated:
        return max(dated, key=lambda t: t.effective_from).amount
    return f.subaward_included_up_to


def mtdc(project: Project, card: RateCard) -> dict[int, Decimal]:
    """Modified total direct costs per fiscal year: direct less the excluded categories.

    Categories are matched exactly (as the native workbook's EXACT does; a near miss is
    warned about by :func:`mtdc_warnings`).  A ``subaward`` item counts up to the card's
    threshold for the award date (:func:`subaward_threshold`): items with the same
    ``subaward`` id are one subaward over the whole award — its first N yen, in fiscal-year
    order, are in the base; an item without an id is a subaward of its own.

    Example (2 CFR 200.1, threshold 7,500,000): subaward "S1" of 5,000,000 in FY2025 and
    5,000,000 in FY2026 counts 5,000,000 and 2,500,000.
    """
    f = card.model.fa
    years = project.fiscal_years
    first = min(years)
    cap = subaward_threshold(card, award_date(project))
    out = {fy: ZERO for fy in years}
    used: dict[str, Decimal] = {}
    # Earlier fiscal years use a subaward's threshold first; within a year, file order.
    order = sorted(range(len(project.direct)), key=lambda i: (
        project.direct[i].fiscal_year or first, i))
    for i in order:
        item = project.direct[i]
        if item.category in f.mtdc_excluded:
            continue
        amount = item.amount
        if item.category == "subaward" and cap is not None:
            key = item.subaward if item.subaward is not None else f"#item{i}"
            left = max(cap - used.get(key, ZERO), ZERO)
            amount = min(amount, left)
            used[key] = used.get(key, ZERO) + amount
        out[item.fiscal_year if item.fiscal_year is not None else first] += amount
    return out


def _normal(text: str) -> str:
    return re.sub(r"[\s_\-]+", "_", text.strip().casefold())


def mtdc_warnings(project: Project, card: RateCard) -> list[str]:
    """Warnings for direct items whose category looks like an excluded MTDC category but is
    spelled otherwise (``Equipment``, ``設備備品費``): they stay in the base, as the card's
    exact match (and the workbook's) says, and the office should correct the spelling."""
    f = card.model.fa
    if f.base != "mtdc" or not f.mtdc_excluded:
        return []
    out = []
    for i, item in enumerate(project.direct):
        cat = item.category
        if cat in f.mtdc_excluded:
            continue
        code = code_for(cat, MTDC_CATEGORIES)
        near = [x for x in f.mtdc_excluded if _normal(x) == _normal(cat) or x == code]
        if near:
            out.append(f"direct[{i}].category {cat!r} は MTDC から除かれません / is not left "
                       f"out of MTDC: the card excludes {near[0]!r} (categories match "
                       "exactly)")
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
        source = rate.source + (f", escalating {fmt_rate(esc)} a year" if esc else "")
        per = {"hour": "", "day": ", per day", "month": ", per month"}[rate.unit]
        lines.append(yearly_line("time_charge", by_year, base=quantity, rate=rate.price,
                                 source=source + per,
                                 detail=r.name or r.rank or f"#{i + 1}",
                                 fte=researcher_fte(r, card, sum(months.values())),
                                 unit=UNIT_OF.get(rate.unit, rate.unit)))
        if (w := floor_warning(r, rate, card, i + 1)) is not None:
            warnings.append(w)
    return lines, warnings


def fa_bases(project: Project, card: RateCard, d_y: dict[int, Decimal],
             tc_y: dict[int, Decimal]) -> dict[int, Decimal]:
    """The F&A base of each fiscal year, as the card's ``fa.base`` says, + with
    ``fa.base_includes = ["consumption_tax"]`` the tax on its parts the card taxes
    (Yamaguchi: 20% of ① fee + ② the tax on the fee + ③ expenses)."""
    f = card.model.fa
    base_d = mtdc(project, card) if f.base == "mtdc" else d_y
    parts = {"direct": base_d, **({"time_charge": tc_y} if f.base == "direct_plus_tc" else {})}
    tax = (tax_on_parts(project, card, parts) if "consumption_tax" in f.base_includes
           else {})
    return {fy: base_d[fy] + (tc_y[fy] if f.base == "direct_plus_tc" else ZERO)
            + tax.get(fy, ZERO) for fy in d_y}


def institute_rows(project: Project, card: RateCard, years: list[int]
                   ) -> dict[int, list[Choice]]:
    """The institute F&A rate(s) of each fiscal year by the card's ``rate_change.method``:
    the row in force on the year's first day in the project (default), at the award, or —
    ``blend_by_days`` — each row for the days it is in force."""
    info = project.project
    spans = fiscal_spans(project)
    try:
        return {fy: card.fa_rates_over(info.activity, info.location, info.field, *spans[fy],
                                       info.start) for fy in years}
    except InputError as exc:
        raise InputError(*_fa_culprit(project, card), exc.expected) from None


# The project keys of a sponsor cap (Kuali Coeus: sponsor, cap rate / base, applied rate).
SPONSOR_KEYS = ("sponsor_type", "sponsor_cap_rate", "sponsor_cap_base", "applied_fa_rate")


def sponsor_words(card: RateCard) -> dict[str, tuple[str, str]]:
    """The card's sponsor types with their words (Japanese, English; the code where the
    card gives none): what a workbook's drop-down shows and ``sponsor_terms`` accepts."""
    return {k: (c.label_ja or k, c.label_en or k) for k, c in card.model.fa.sponsor_caps.items()}


def sponsor_terms(project: Project, card: RateCard) -> tuple[Decimal | None, Decimal | None,
                                                             bool, str]:
    """(capped rate, capped base, the rate replaces the institute rate, source) of the
    project's sponsor: ``applied_fa_rate`` (Kuali Coeus' applied rate, as given),
    ``sponsor_cap_rate`` / ``sponsor_cap_base`` (caps), or the card's
    ``fa.sponsor_caps[project.sponsor_type]``; the project's own keys win."""
    info = project.project
    rate = base = None
    source = ""
    if info.sponsor_type is not None:
        caps = card.model.fa.sponsor_caps
        # the code, or its words as a workbook's drop-down shows them ("財団 / foundation")
        code = info.sponsor_type if info.sponsor_type in caps else code_for(
            info.sponsor_type, sponsor_words(card))
        if code is None:
            raise InputError("project.sponsor_type", info.sponsor_type,
                             f"a sponsor type of card {card.id!r}: "
                             f"{', '.join(caps) or 'none'}")
        cap = caps[code]
        rate, base = cap.rate, cap.base
        source = f"{card.id}: fa.sponsor_caps.{code}"
    if info.applied_fa_rate is not None:
        return (info.applied_fa_rate,
                info.sponsor_cap_base if info.sponsor_cap_base is not None else base, True,
                "project.applied_fa_rate")
    if info.sponsor_cap_rate is not None:
        rate, source = info.sponsor_cap_rate, "project.sponsor_cap_rate"
    if info.sponsor_cap_base is not None:
        base = info.sponsor_cap_base
        source = source or "project.sponsor_cap_base"
    return rate, base, False, source


def applied_fa(project: Project, card: RateCard, bases: dict[int, Decimal],
               rows: dict[int, list[Choice]]
               ) -> tuple[dict[int, Decimal], dict[int, list[Choice]], str]:
    """(applied base, applied rates) per fiscal year and the cap's source ("" without one).

    A capped rate applies where it is below the institute rate (an ``applied_fa_rate``
    applies as given, above it too); a capped base is used up year by year in order.
    """
    rate, base_cap, replaces, source = sponsor_terms(project, card)
    out_b, out_r = dict(bases), dict(rows)
    if rate is not None:
        out_r = {fy: [Choice(rate if replaces else min(c.rate, rate), c.days, c.source)
                      for c in cs] for fy, cs in rows.items()}
    if base_cap is not None:
        left = base_cap
        for fy in sorted(bases):
            out_b[fy] = min(bases[fy], left)
            left -= out_b[fy]
    return out_b, out_r, source


def fa_lines(project: Project, card: RateCard, d_y: dict[int, Decimal],
             tc_y: dict[int, Decimal]) -> list[Line]:
    """F&A per fiscal year on the card's base, at the institute rate(s) of the year
    (:func:`institute_rows`) — at the sponsor's applied rate and base where the project has a
    sponsor cap."""
    info = project.project
    f = card.model.fa
    bases = fa_bases(project, card, d_y, tc_y)
    rows = institute_rows(project, card, list(d_y))
    bases, rows, capped = applied_fa(project, card, bases, rows)
    by_year = {fy: card.rounding.apply(blended(bases[fy], rows[fy])) for fy in d_y}
    distinct = {c.rate for cs in rows.values() for c in cs}
    rate = distinct.pop() if len(distinct) == 1 else None
    where = f"{info.activity}/{info.location}" + (f"/{info.field}" if info.field else "")
    shown = fmt_rate(rate) if rate is not None else " / ".join(
        f"FY{fy} " + " + ".join(fmt_rate(c.rate) + (f" × {c.days} days" if len(cs) > 1 else "")
                                for c in cs) for fy, cs in rows.items())
    src = f"{card.id}: F&A {where} {shown} of {f.base}"
    if capped:
        src = f"{capped}: sponsor's applied F&A {shown} of {f.base}"
    if f.base == "mtdc" and any(i.category == "subaward" for i in project.direct):
        cap = subaward_threshold(card, award_date(project))
        if cap is not None:
            key = ("fa.subaward_thresholds" if any(
                t.effective_from <= award_date(project) for t in f.subaward_thresholds)
                else "fa.subaward_included_up_to")
            src += f" (each subaward up to {cap:,} over the award: {key})"
    return [yearly_line("fa", by_year, base=total(bases.values()), rate=rate, source=src)]


def under_recovery_amount(base: Decimal, institute_rate: Decimal, applied_rate: Decimal,
                          rounding: Rounding = Rounding()) -> Decimal:
    """Under-recovery of F&A (Kuali Coeus) = institute F&A − applied F&A, each rounded
    once by the card's rule: base × (institute rate − applied rate) to the yen; negative
    when the applied rate is higher.

    Example: MTDC 1,000,000 at MIT's 54.7% with a sponsor paying 15%:
        >>> under_recovery_amount(Decimal(1_000_000), Decimal("0.547"), Decimal("0.15"))
        Decimal('397000')
    """
    return rounding.apply(fa(base, institute_rate)) - rounding.apply(fa(base, applied_rate))


def under_recovery(project: Project, card: RateCard, d_y: dict[int, Decimal],
                   tc_y: dict[int, Decimal]) -> dict[str, Any] | None:
    """Institute F&A beside the sponsor's applied F&A, and the under-recovery between them
    (Kuali Coeus: under-recovery = base × (institute rate − applied rate)); ``None`` when
    the project has no sponsor cap.

    Each year's institute and applied F&A are rounded once by the card's rule and the
    under-recovery is their difference, so applied + under-recovery = institute F&A to the
    yen.  It is negative when the sponsor pays more than the institute rate.  Internal
    only: never a quote line, a form box or the industrial view.

    Example: MTDC 1,000,000 at MIT's 54.7% with a foundation paying 15%: institute 547,000,
    applied 150,000, under-recovery 397,000.
    """
    rate, base_cap, _, source = sponsor_terms(project, card)
    if rate is None and base_cap is None:
        return None
    bases = fa_bases(project, card, d_y, tc_y)
    rows = institute_rows(project, card, list(d_y))
    a_bases, a_rows, _ = applied_fa(project, card, bases, rows)
    inst = {fy: card.rounding.apply(blended(bases[fy], rows[fy])) for fy in d_y}
    appl = {fy: card.rounding.apply(blended(a_bases[fy], a_rows[fy])) for fy in d_y}
    under = {fy: inst[fy] - appl[fy] for fy in d_y}  # = under_recovery_amount per year
    return {"source": source,
            "label_ja": "間接経費の回収不足（機関率 − 適用率）",
            "label_en": "F&A under-recovery (institute − applied)",
            "institute_fa": int(total(inst.values())),
            "applied_fa": int(total(appl.values())),
            "under_recovery": int(total(under.values())),
            "by_year": {str(fy): int(a) for fy, a in sorted(under.items())}}


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
                                            f"{card.id}: {fmt_rate(opt.rate)} of {opt.base}"
                                            + card.chosen_by(f"options.{choice.name}"),
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


def full_cost(lines: list[Line], card: RateCard) -> Decimal:
    """Full cost of a quote's lines: the sum of the card's ``floor.full_cost`` components,
    by default direct + time charge + indirect + F&A (the approach-A subtotal before
    strategic expense, options and discounts; UK full economic cost)."""
    fl = card.model.floor
    comps = fl.full_cost if fl is not None else ["direct", "time_charge", "indirect", "fa"]
    return total(ln.amount for ln in lines if ln.component in comps)


def minimum_price(cost: Decimal, multiple: Decimal, unit: int = 1) -> Decimal:
    """The minimum price = full cost × multiple, rounded UP to the card's unit (a floor is
    never undercut by rounding).

    Cambridge: >= 100% / 120% / 140% of full economic cost by IP terms.

    Example: 120% of 7,654,321 yen is 9,185,185.2 → 9,185,186 (to the yen), 9,186,000
    (to the 1,000 yen).
        >>> minimum_price(Decimal(7_654_321), Decimal("1.2"))
        Decimal('9185186')
        >>> minimum_price(Decimal(7_654_321), Decimal("1.2"), 1000)
        Decimal('9186000')
    """
    u = Decimal(unit)
    return (mul(cost, multiple) / u).to_integral_value(ROUND_CEILING) * u


def floor_minimum(cost: Decimal, terms: str, card: RateCard, field: str = "ip_terms"
                  ) -> Decimal:
    """The card's minimum price for ``terms`` on a full cost (:func:`minimum_price`)."""
    fl = card.model.floor
    if fl is None or terms not in fl.multiples:
        have = ", ".join(fl.multiples) if fl is not None and fl.multiples else "none"
        raise InputError(field, terms, f"IP terms with a price floor in card {card.id!r} "
                                       f"({have})")
    return minimum_price(cost, fl.multiples[terms], card.model.rounding.unit)  # type: ignore[index]


def floor_terms(project: Project, card: RateCard) -> str | None:
    """The IP terms a project's floor is chosen by: ``project.ip_terms`` or the card's
    ``floor.default_terms``; refused when the card has no multiple for them."""
    fl = card.model.floor
    terms = project.project.ip_terms
    if terms is None:
        return fl.default_terms if fl is not None else None
    if fl is None or terms not in fl.multiples:
        have = ", ".join(fl.multiples) if fl is not None and fl.multiples else "none"
        raise InputError("project.ip_terms", terms,
                         f"IP terms with a price floor in card {card.id!r} ({have})")
    return terms


def floor_line(project: Project, card: RateCard, lines: list[Line], years: list[int],
               cost: Decimal | None = None, lift: bool | None = None, why: str = ""
               ) -> tuple[Line | None, list[str]]:
    """A ``floor`` line lifting the price to the card's minimum for the project's IP terms
    (``floor.action = "lift"``), or a warning instead (``"warn"``); and a warning when the
    price is below ``floor.warn_below`` × full cost.

    price = the lines' sum (after discounts, before consumption tax); minimum = full cost ×
    multiple rounded up to the card's unit; the floor line (amount minimum − price, in the
    first fiscal year) is added only when the price is below the minimum.

    ``cost`` (default: the full cost of ``lines``) and ``lift`` (default: the card's
    action) let approaches B and C check their price against the approach-X full cost
    without lifting it (:func:`floor_by_approach`); ``why`` ends their warning.

    Example (Cambridge, exclusive licence, ×1.40): full cost 10,000,000, price 12,000,000
    → floor line 2,000,000, price 14,000,000.
    """
    fl = card.model.floor
    if fl is None:
        floor_terms(project, card)  # IP terms the card has no floor for are refused
        return None, []
    cost = full_cost(lines, card) if cost is None else cost
    lift = fl.action == "lift" if lift is None else lift
    price = total(ln.amount for ln in lines)
    warnings: list[str] = []
    terms = floor_terms(project, card)
    line = None
    if terms is not None and cost > 0:
        multiple = fl.multiples[terms]  # type: ignore[index]
        minimum = minimum_price(cost, multiple, card.model.rounding.unit)
        if price < minimum:
            what = (f"{card.id}: floor.multiples.{terms} = {fmt_rate(multiple)} of full cost "
                    f"{cost:,}")
            if lift:
                by_year = {fy: (minimum - price if fy == years[0] else ZERO) for fy in years}
                line = yearly_line("floor", by_year, base=cost, rate=multiple, source=what,
                                   detail=fmt_rate(multiple))
                price = minimum
            else:
                warnings.append(f"最低価格を下回っています / below the price floor: {price:,} "
                                f"yen < {minimum:,} yen ({what}){why}")
    if fl.warn_below is not None and cost > 0 and price < mul(cost, fl.warn_below):
        who = f"; {fl.approval} required" if fl.approval else ""
        warnings.append(f"フルコストの {fmt_rate(fl.warn_below)} 未満 / below "
                        f"{fmt_rate(fl.warn_below)} of full cost: {price:,} yen < "
                        f"{fl.warn_below} × {cost:,} yen{who} ({card.id}: floor.warn_below)"
                        f"{why}")
    return line, warnings


def floor_by_approach(project: Project, card: RateCard, lines: list[Line]
                      ) -> tuple[Line | None, list[str]]:
    """The card's price floor for an approach other than A (A's is in
    :func:`stacked_lines`, and so in a total booked as A):

    * **X** — lifted (or warned, ``action = "warn"``) exactly as in A, on the full cost of
      the X lines (direct + indirect by default);
    * **B** — the agreed total is never changed: a warning when it is below the minimum of
      the approach-X full cost (a total booked as X: of its build-up);
    * **C** — the outcome-linked price is never changed: a warning when its expected total
      is below the minimum of the approach-X full cost.

    Example (Cambridge, exclusive ×1.40, approach X): direct 1,000,000, indirect 30% =
    300,000 → full cost 1,300,000, minimum 1,820,000: a floor line of 520,000.
    """
    info = project.project
    booked_a = info.approach == "B" and project.total is not None \
        and project.total.book_as == "A"
    if info.approach == "A" or booked_a or card.model.floor is None:
        return None, []
    years = list(project.fiscal_years)
    if info.approach == "X":
        return floor_line(project, card, lines, years)
    cost = full_cost(cost_lines(project, card), card)
    why = (" — 合意総額は変更しません / approach B: the agreed total is not lifted"
           if info.approach == "B" else
           " — 成果連動の価格は変更しません / approach C: the outcome-linked price is not "
           "lifted")
    return floor_line(project, card, lines, years, cost=cost, lift=False, why=why)


def costing_features(project: Project, card: RateCard) -> list[str]:
    """The costing rules a project priced with ``card`` uses (key paths), for callers that
    cannot express them yet — the standard workbooks' formulas do not: a workbook builder
    can refuse such a project rather than show other numbers than the engine.

    Example: a project with a monthly-rate researcher → ``["researchers[0].rate_source"]``.
    """
    info = project.project
    out = [f"researchers[{i}].rate_source" for i, r in enumerate(project.researchers)
           if r.rate_source == "monthly"]
    out += [f"project.{k}" for k in SPONSOR_KEYS if getattr(info, k) is not None]
    if floor_terms(project, card) is not None or (card.model.floor is not None
                                                   and card.model.floor.warn_below):
        out.append("floor")
    if card.model.fa.base == "mtdc" and any(i.category == "subaward" for i in project.direct):
        # Subaward ids shared across items and an award date other than the start (the
        # standard workbooks price both on MTDC cards: workbook/mtdc.py; office maps not).
        if any(i.subaward is not None for i in project.direct):
            out.append("direct.subaward")
        if info.award_date is not None and (subaward_threshold(card, info.award_date)
                                            != subaward_threshold(card, info.start)):
            out.append("project.award_date")
    # (the workbooks split tiers and multiples natively, and repay costs first on a card
    # with allocation.cost_recovery: workbook/internal.py)
    if project.proceeds is not None and project.proceeds.costs:
        out.append("proceeds.costs")
    return out


def check_costing_names(project: Project, card: RateCard) -> None:
    """Refuse costing terms the card does not have, whatever the approach: IP terms without
    a price floor, a sponsor type without a cap (the messages approach A gives)."""
    floor_terms(project, card)
    if project.project.sponsor_type is not None:
        sponsor_terms(project, card)


def internal_view(project: Project, card: RateCard) -> dict[str, Any]:
    """What only the university sees, for the quote's ``internal`` section: the F&A
    under-recovery (when the project has a sponsor cap) and the costs the split of proceeds
    repays first (``proceeds.costs``).  Empty when neither applies."""
    out: dict[str, Any] = {}
    rate, base_cap, _, _ = sponsor_terms(project, card)
    info = project.project
    built_on_a = info.approach == "A" or (info.approach == "B" and project.total is not None
                                          and project.total.book_as == "A")
    if built_on_a and (rate is not None or base_cap is not None):
        years = list(project.fiscal_years)
        d_y = yearly_totals(direct_lines(project), years)
        tc_y = yearly_totals(time_charge_lines(project, card)[0], years)
        ur = under_recovery(project, card, d_y, tc_y)
        if ur is not None:
            out["fa"] = ur
    if project.proceeds is not None and project.proceeds.costs:
        out["costs_to_recover"] = int(project.proceeds.costs)
    return out


def stacked_lines(project: Project, card: RateCard) -> tuple[list[Line], list[str]]:
    """Approach-A lines before consumption tax, and any warnings."""
    years = list(project.fiscal_years)
    direct = direct_lines(project)
    tc, warnings = time_charge_lines(project, card)
    warnings += mtdc_warnings(project, card)
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
    floor, floor_warnings = floor_line(project, card, lines, years)
    if floor is not None:
        lines.append(floor)
    return lines, warnings + floor_warnings
