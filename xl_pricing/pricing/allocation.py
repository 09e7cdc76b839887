"""Using the proceeds: split each price component between researcher, lab, department,
university and an earmarked reserve (目的積立金), by the card's policy.

The handbook suggests the time charge go mostly back to researchers and the strategic
expense to central management; the shares themselves are institution policy (card data).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Mapping

from ..errors import InputError
from ..money import ZERO, mul
from ..rates import PARTIES, RateCard
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


@dataclass(frozen=True)
class Allocation:
    """Proceeds of a quote by component (rows) and party (columns)."""

    rows: tuple[tuple[str, Decimal, Mapping[str, Decimal]], ...]

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
        return {"total": int(self.total),
                "by_party": {p: int(a) for p, a in self.by_party.items()},
                "by_component": [{"component": c, "amount": int(a),
                                  "parts": {p: int(v) for p, v in parts.items()}}
                                 for c, a, parts in self.rows]}


def allocate_components(amounts: list[tuple[str, Decimal]], card: RateCard) -> Allocation:
    """Split (component, amount) rows by the card's shares for each component.

    Rows of the same component are pooled, then split once; a component the card has no
    shares for uses its ``default`` shares.
    """
    pooled: dict[str, Decimal] = {}
    for comp, amount in amounts:
        pooled[comp] = pooled.get(comp, ZERO) + amount
    residual = card.model.allocation.residual_to
    return Allocation(tuple((c, a, split(a, card.shares_for(c), residual))
                            for c, a in pooled.items()))


def allocate(quote: Quote, card: RateCard) -> Allocation:
    """Split a quote's proceeds by component; consumption tax is not proceeds and is left out.
    """
    return allocate_components([(ln.component, ln.amount) for ln in quote.lines
                                if ln.component != "consumption_tax"], card)
