"""Approach X — input-cost accumulation (インプットに基づくコスト積み上げ).

price = direct + indirect + strategic, where indirect = direct × rate (by custom 30%) and
strategic = base × the card's strategic rate.  Each fiscal year is priced separately and
each line rounded once per year by the card's rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..money import ZERO, Rounding, div, fmt_rate, mul, total
from ..project import Project
from ..rates import Indirect, RateCard, Strategic
from ..rates.card import Choice, Facts
from .fees import fee_lines, project_facts
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


def fiscal_spans(project: Project) -> dict[int, tuple[date, date]]:
    """The project's first and last day in each of its fiscal years (inclusive)."""
    info = project.project
    return {fy: (max(info.start, date(fy, 4, 1)), min(info.end, date(fy + 1, 3, 31)))
            for fy in project.fiscal_years}


def blended(base: Decimal, choices: list[Choice]) -> Decimal:
    """base × Σ rate × days ÷ Σ days, exact (round once after): a rate that changes inside
    a fiscal year, weighted by the days each rate is in force.

    Example: 30% for 91 days and 35% for 275 days of FY2027 on 1,000,000 yen:
        >>> blended(Decimal(1_000_000), [Choice(Decimal("0.30"), 91, ""),
        ...                              Choice(Decimal("0.35"), 275, "")]).quantize(Decimal(1))
        Decimal('337568')
    """
    if len(choices) == 1:
        return mul(base, choices[0].rate)
    days = sum(c.days for c in choices)
    return div(mul(base, total(mul(c.rate, Decimal(c.days)) for c in choices)),
               Decimal(days))


def conditional_line(component: str, key: str, bases: dict[int, Decimal], project: Project,
                     card: RateCard, facts: Facts, base_text: str, label: str) -> Line:
    """base × the rate ``key`` per fiscal year, each rounded once.

    The rate is the card's conditional rate for the project (first case that holds, else
    the plain rate); when the card blends rate changes by days, each fiscal year's amount
    is base × Σ rate × days ÷ days.  The source names the card key and the condition.
    """
    spans = fiscal_spans(project)
    over = {fy: card.rates_over(key, facts, *spans[fy]) for fy in bases}
    by_year = {fy: card.rounding.apply(blended(bases[fy], over[fy])) for fy in bases}
    rates = {c.rate for cs in over.values() for c in cs}
    rate = rates.pop() if len(rates) == 1 else None
    sources = list(dict.fromkeys(c.source for cs in over.values() for c in cs))
    if rate is not None:
        shown = fmt_rate(rate)
    else:
        shown = " / ".join(
            f"FY{fy} " + " + ".join(fmt_rate(c.rate) + (f" × {c.days} days" if len(cs) > 1
                                                         else "") for c in cs)
            for fy, cs in over.items())
    why = [s for s in sources if s not in ("indirect.rate", "strategic.rate")]
    src = f"{card.id}: {label} {shown} of {base_text}" + (f" ({'; '.join(why)})" if why else "")
    return yearly_line(component, by_year, base=total(bases.values()), rate=rate, source=src)


def taxed(project: Project, card: RateCard) -> bool:
    """Whether consumption tax is added to the project's price under the card: its
    contract carries tax and the card's prices for it do not already include it."""
    ct = card.model.consumption_tax
    return (ct.rate > 0 and project.project.contract in ct.applies_to
            and not ct.includes_tax(project.project.start))


def tax_on_parts(project: Project, card: RateCard, parts: dict[str, dict[int, Decimal]]
                 ) -> dict[int, Decimal]:
    """The consumption tax on a base's parts, per fiscal year, rounded by the card's rule:
    rate × the parts the card charges tax on (``consumption_tax.components``; every part
    when it lists none); zero when the project's contract carries no tax.

    ``parts`` maps a component (``direct``, ``time_charge``, ``research_fee`` …) to its
    yearly amounts in the base.  Example (Yamaguchi, tax on the fee only): direct 50,000 +
    指導料 100,000 → tax on the base 10% × 100,000 = 10,000.
    """
    years = {fy for by_year in parts.values() for fy in by_year}
    if not taxed(project, card):
        return {fy: ZERO for fy in years}
    ct = card.model.consumption_tax
    chosen = [c for c in parts if not ct.components or c in ct.components]
    return {fy: card.rounding.apply(mul(total(parts[c].get(fy, ZERO) for c in chosen),
                                        ct.rate)) for fy in years}


def rule_base(spec: Indirect | Strategic, project: Project, card: RateCard,
              parts: dict[str, dict[int, Decimal]], also: frozenset[str] = frozenset()
              ) -> tuple[dict[int, Decimal], str]:
    """An indirect or strategic base per fiscal year, and the base in words.

    base = direct less the spec's ``base_excludes`` categories + the parts named in its
    ``base_includes`` or in ``also`` (``time_charge``, ``indirect``, ``research_fee``,
    ``unit_fee``: yearly amounts in ``parts``) + — with ``consumption_tax`` included and a
    taxed contract — the consumption tax on those parts the card taxes
    (:func:`tax_on_parts`), rounded by the card's rule.

    Example: 10% of direct + consumption tax: 1,000,000 direct → base 1,100,000.
    """
    years = list(project.fiscal_years)
    excluded = set(spec.base_excludes)
    base = {fy: ZERO for fy in years}
    for cat, by_year in direct_by_year(project).items():
        if cat not in excluded:
            for fy, a in by_year.items():
                base[fy] += a
    used = {"direct": dict(base)}
    words = ["direct" + (f" less {', '.join(spec.base_excludes)}" if excluded else "")]
    wanted = set(spec.base_includes) | set(also)
    for part in ("time_charge", "indirect", "research_fee", "unit_fee"):
        if part in wanted and part in parts:
            for fy in years:
                base[fy] += parts[part].get(fy, ZERO)
            used[part] = parts[part]
            words.append(part)
    if "consumption_tax" in wanted and taxed(project, card):
        tax = tax_on_parts(project, card, used)
        base = {fy: b + tax.get(fy, ZERO) for fy, b in base.items()}
        words.append(f"consumption tax {fmt_rate(card.model.consumption_tax.rate)}")
    return base, " + ".join(words)


# What each strategic base setting adds to direct costs (the parts before strategic).
STRATEGIC_PARTS = {"direct": frozenset(), "direct_plus_tc": frozenset({"time_charge"}),
                   "direct_plus_indirect": frozenset({"indirect"}),
                   "subtotal": frozenset({"time_charge", "indirect", "research_fee",
                                          "unit_fee"})}


def strategic_line(project: Project, card: RateCard, facts: Facts,
                   parts: dict[str, dict[int, Decimal]]) -> Line | None:
    """Strategic expense on the card's base (``direct``, ``direct_plus_tc``,
    ``direct_plus_indirect`` — indirect or F&A —, ``subtotal``, plus ``base_includes``), at
    its conditional rate; ``None`` when the card charges none."""
    st = card.model.strategic
    if st.rate == 0 and not st.cases:
        return None
    base, words = rule_base(st, project, card, parts, STRATEGIC_PARTS[st.base])
    plain = not (st.base_includes or st.base_excludes)
    line = conditional_line("strategic", "strategic", base, project, card, facts,
                            st.base if plain else words, "strategic")
    return None if line.rate == 0 else line


def cost_lines(project: Project, card: RateCard) -> list[Line]:
    """Approach-X lines before consumption tax: direct, the card's fees (研究料, unit
    fees), indirect, strategic."""
    years = list(project.fiscal_years)
    facts = project_facts(project, card)
    direct = direct_lines(project)
    fees = fee_lines(project, card, facts)
    parts = {"research_fee": yearly_totals([f for f in fees if f.component == "research_fee"],
                                           years),
             "unit_fee": yearly_totals([f for f in fees if f.component == "unit_fee"], years)}
    ind_spec = card.model.indirect
    base, words = rule_base(ind_spec, project, card, parts)
    plain = not (ind_spec.base_includes or ind_spec.base_excludes)
    ind = conditional_line("indirect", "indirect", base, project, card, facts,
                           "direct" if plain else words, "indirect rate")
    lines = [*direct, *fees, ind]
    parts["indirect"] = dict(ind.by_year)
    st = strategic_line(project, card, facts, parts)
    if st is not None:
        lines.append(st)
    return lines
