"""Using the proceeds: split each price component between researcher, lab, department,
university and an earmarked reserve (目的積立金), by the card's policy.

The handbook suggests the time charge go mostly back to researchers and the strategic
expense to central management; the shares themselves are institution policy (card data):
fixed shares per component, tiers on net income (inventor 50% of the first 100,000 and 25%
above), one party's part as k times another's (Daikin: the university paid 2–3 times the
researcher's business-contribution royalty), and costs recovered before any share.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Mapping, Sequence

from ..errors import InputError
from ..money import ZERO, div, mul
from ..rates import PARTIES, Multiple, RateCard, Tier
from .quote import Quote


def split(amount: Decimal, shares: Mapping[str, Decimal], residual_to: str = "university"
          ) -> dict[str, Decimal]:
    """Split a whole-yen ``amount`` by ``shares`` so the parts add up to ``amount`` exactly.

    Each party gets amount × share truncated to the yen (toward zero); the yen left over go
    to ``residual_to``.

    Example: 1,000,001 yen split 50/30/20:
        >>> split(Decimal(1_000_001), {"researcher": Decimal("0.5"), "lab": Decimal("0.3"),
        ...       "department": Decimal("0.2")})["university"]
        Decimal('1')
    """
    unknown = [p for p in [*shares, residual_to] if p not in PARTIES]
    if unknown:
        raise InputError("party", unknown[0], f"one of {', '.join(PARTIES)}")
    s = sum(shares.values(), ZERO)
    if s != 1 or any(v < 0 for v in shares.values()):
        raise InputError("shares", {k: v for k, v in shares.items()},
                         "shares >= 0 that add up to 1")
    parts = {p: ZERO for p in PARTIES}
    for p, share in shares.items():
        parts[p] += mul(amount, share).quantize(Decimal(1), rounding=ROUND_DOWN)
    parts[residual_to] += amount - sum(parts.values(), ZERO)
    return parts


def _floored(exact: Mapping[str, Decimal], amount: Decimal, residual_to: str
             ) -> dict[str, Decimal]:
    # Each party's exact part truncated toward zero; the yen left go to residual_to.
    parts = {p: ZERO for p in PARTIES}
    for p, a in exact.items():
        parts[p] += a.quantize(Decimal(1), rounding=ROUND_DOWN)
    parts[residual_to] += amount - sum(parts.values(), ZERO)
    return parts


def split_tiers(amount: Decimal, tiers: Sequence[Tier], residual_to: str = "university"
                ) -> dict[str, Decimal]:
    """Split a whole-yen ``amount`` band by band: the part of the amount within each tier
    (up to its cumulative ``up_to``; the last tier takes the rest) by that tier's shares.
    Each party's sum over the bands is truncated to the yen; the rest goes to
    ``residual_to``, so the parts add up to ``amount``.  A negative amount (a refund) is
    split by the first tier's shares.

    Example: the inventor 50% of the first 100,000 of net income and 25% above; 300,000
    gives the researcher 50,000 + 50,000:
        >>> from xl_pricing.rates import Tier
        >>> t = [Tier(up_to=100_000, shares={"researcher": "0.5", "university": "0.5"}),
        ...      Tier(shares={"researcher": "0.25", "university": "0.75"})]
        >>> split_tiers(Decimal(300_000), t)["researcher"]
        Decimal('100000')
    """
    if amount < 0:
        return split(amount, tiers[0].shares, residual_to)
    exact: dict[str, Decimal] = {}
    low = ZERO
    for t in tiers:
        high = amount if t.up_to is None else min(amount, t.up_to)
        band = max(high - low, ZERO)
        for p, share in t.shares.items():
            exact[p] = exact.get(p, ZERO) + mul(band, share)
        if t.up_to is None or amount <= t.up_to:
            break
        low = t.up_to
    return _floored(exact, amount, residual_to)


def split_multiple(amount: Decimal, rule: Multiple, residual_to: str = "university"
                   ) -> dict[str, Decimal]:
    """Split ``amount`` between two parties so that ``rule.party`` gets k times what
    ``rule.of`` gets: of = amount ÷ (1 + k), party = amount × k ÷ (1 + k), each truncated
    to the yen, the rest to ``residual_to``.

    Source: handbook §5 (Daikin): the university is paid 2–3 times the researcher's
    business-contribution royalty.

    Example: k = 2 on 3,000,000 yen: researcher 1,000,000, university 2,000,000.
        >>> from xl_pricing.rates import Multiple
        >>> parts = split_multiple(Decimal(3_000_000),
        ...                        Multiple(party="university", of="researcher", k=2))
        >>> parts["researcher"], parts["university"]
        (Decimal('1000000'), Decimal('2000000'))
    """
    one = Decimal(1) + rule.k
    return _floored({rule.of: div(amount, one), rule.party: div(mul(amount, rule.k), one)},
                    amount, residual_to)


def recover_costs(pooled: Mapping[str, Decimal], costs: Decimal, components: Sequence[str]
                  ) -> tuple[Decimal, dict[str, Decimal]]:
    """Costs repaid before any share: taken from the listed components' income in order.

    Returns (costs recovered, the pooled amounts left); what cannot be recovered is
    ``costs`` − recovered.

    Example: 100,000 of costs from a royalty of 1,000,000:
        >>> recover_costs({"royalty": Decimal(1_000_000)}, Decimal(100_000), ["royalty"])
        (Decimal('100000'), {'royalty': Decimal('900000')})
    """
    if costs < 0:
        raise InputError("costs", costs, "costs in yen >= 0")
    left = dict(pooled)
    recovered = ZERO
    for comp in components:
        take = min(max(left.get(comp, ZERO), ZERO), costs - recovered)
        if comp in left:
            left[comp] -= take
        recovered += take
    return recovered, left


@dataclass(frozen=True)
class Allocation:
    """Proceeds of a quote by component (rows) and party (columns).

    ``unrecovered``: costs the income could not repay; ``under_recovery``: the F&A the
    sponsor's cap leaves unrecovered (internal figures, never a party's share).
    """

    rows: tuple[tuple[str, Decimal, Mapping[str, Decimal]], ...]
    unrecovered: Decimal = ZERO
    under_recovery: Decimal | None = None

    @property
    def by_party(self) -> dict[str, Decimal]:
        out = {p: ZERO for p in PARTIES}
        for _, _, parts in self.rows:
            for p, a in parts.items():
                out[p] += a
        return out

    @property
    def total(self) -> Decimal:
        return sum((a for _, a, _ in self.rows), ZERO)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "total": int(self.total),
            "by_party": {p: int(a) for p, a in self.by_party.items()},
            "by_component": [{"component": c, "amount": int(a),
                              "parts": {p: int(v) for p, v in parts.items()}}
                             for c, a, parts in self.rows]}
        if self.unrecovered:
            out["unrecovered_costs"] = int(self.unrecovered)
        if self.under_recovery is not None:
            out["under_recovery"] = int(self.under_recovery)
        return out


def split_component(component: str, amount: Decimal, card: RateCard) -> dict[str, Decimal]:
    """One component's amount split by the card's rule for it: its tiers, its multiple,
    else its shares (or the default shares)."""
    al = card.model.allocation
    if component in al.tiers:
        return split_tiers(amount, al.tiers[component], al.residual_to)
    if component in al.multiples:
        return split_multiple(amount, al.multiples[component], al.residual_to)
    return split(amount, card.shares_for(component), al.residual_to)


def allocate_components(amounts: list[tuple[str, Decimal]], card: RateCard,
                        costs: Decimal = ZERO, costs_field: str = "costs") -> Allocation:
    """Split (component, amount) rows by the card's rule for each component.

    Rows of the same component are pooled, then split once; a component the card has no
    rule for uses its ``default`` shares.  ``costs`` (yen) are first repaid from the
    components the card's ``allocation.cost_recovery`` lists, in a ``cost_recovery`` row
    to its party; the components' net amounts are then split.  The rows add up to the
    amounts given.

    Raises:
        InputError: costs given to a card that repays none (naming ``costs_field``).
    """
    pooled: dict[str, Decimal] = {}
    for comp, amount in amounts:
        pooled[comp] = pooled.get(comp, ZERO) + amount
    al = card.model.allocation
    rows: list[tuple[str, Decimal, Mapping[str, Decimal]]] = []
    unrecovered = ZERO
    if costs:
        if al.cost_recovery is None:
            raise InputError(costs_field, costs, f"no costs: card {card.id!r} repays none "
                             "first (it has no allocation.cost_recovery)")
        recovered, pooled = recover_costs(pooled, costs, al.cost_recovery.components)
        unrecovered = costs - recovered
        to = al.cost_recovery.to
        rows.append(("cost_recovery", recovered,
                     {p: (recovered if p == to else ZERO) for p in PARTIES}))
    rows += [(c, a, split_component(c, a, card)) for c, a in pooled.items()]
    return Allocation(tuple(rows), unrecovered)


def allocate(quote: Quote, card: RateCard) -> Allocation:
    """Split a quote's proceeds by component; consumption tax is not proceeds and is left out.

    The quote's ``internal`` section supplies the costs to recover first
    (``proceeds.costs``) and the F&A under-recovery, reported beside the split.
    """
    internal = quote.extras.get("internal", {})
    alloc = allocate_components([(ln.component, ln.amount) for ln in quote.lines
                                 if ln.component != "consumption_tax"], card,
                                Decimal(internal.get("costs_to_recover", 0)),
                                "proceeds.costs")
    under = internal.get("fa", {}).get("under_recovery")
    if under is None:
        return alloc
    return Allocation(alloc.rows, alloc.unrecovered, Decimal(under))
