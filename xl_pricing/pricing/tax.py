"""Taxes around a price: the company's R&D tax credit and consumption tax.

R&D tax credit, open-innovation type (研究開発税制オープンイノベーション型): the company may
credit a share of the R&D cost it bears for work with a university or national research
institute — 30% in the handbook (25% with startups, 20% with other companies) — capped by a
share of its corporate tax.  Rates, the cap and the institution's conditions (such as a
minimum total) are rate-card data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..errors import InputError
from ..money import ZERO, Rounding, div, fmt_rate, mul
from ..rates import RateCard
from .quote import Line

_TAX_ROUNDING = Rounding("down", 1)  # tax amounts drop fractions of a yen


@dataclass(frozen=True)
class TaxCredit:
    """The R&D tax credit a company can expect for a price it bears."""

    eligible: bool
    base: Decimal
    rate: Decimal
    credit: Decimal
    capped: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"eligible": self.eligible, "base": int(self.base), "rate": float(self.rate),
                "credit": int(self.credit), "capped": self.capped, "reason": self.reason}


def tax_credit_amount(company_borne: Decimal, rate: Decimal) -> Decimal:
    """Credit = company-borne R&D cost × rate, rounded down to the yen.

    Example (handbook, 30%):
        >>> tax_credit_amount(Decimal(10_000_000), Decimal("0.30"))
        Decimal('3000000')
    """
    if company_borne < 0:
        raise InputError("company_borne", company_borne, "an amount in yen >= 0")
    return _TAX_ROUNDING.apply(mul(company_borne, rate))


def tax_credit(company_borne: Decimal, card: RateCard, partner: str = "university",
               corporate_tax: Decimal | None = None) -> TaxCredit:
    """R&D tax credit under the card's rate and conditions.

    Ineligible (credit 0) when the total is below the card's ``min_total``.  With the
    company's ``corporate_tax`` given, the credit is capped at the card's share of it.
    """
    tc = card.model.tax_credit
    rate = card.tax_rate(partner)
    if company_borne < tc.min_total:
        return TaxCredit(False, company_borne, rate, ZERO, False,
                         f"total below the institution's minimum of {tc.min_total:,} yen")
    credit = tax_credit_amount(company_borne, rate)
    capped = False
    reason = f"{fmt_rate(rate)} of the cost borne ({partner})"
    if corporate_tax is not None and tc.cap_share_of_corporate_tax is not None:
        cap = _TAX_ROUNDING.apply(mul(corporate_tax, tc.cap_share_of_corporate_tax))
        if credit > cap:
            credit, capped = cap, True
            reason += (f", capped at {fmt_rate(tc.cap_share_of_corporate_tax)} of corporate "
                       f"tax")
    return TaxCredit(True, company_borne, rate, credit, capped, reason)


def consumption_tax_line(lines: list[Line], card: RateCard, contract: str,
                         start: date | None = None) -> Line | None:
    """Consumption tax (消費税) on the price when the card applies it to this contract type.

    tax = the card's rate × the lines it is charged on (``components``; every line when the
    card lists none), per fiscal year when every line has a yearly split, rounded by the
    card's rule.  ``None`` when the contract carries no tax, or when the card's prices
    already include it for a project starting on ``start`` (``prices_include_tax``, or a
    start before ``included_before``: see :func:`tax_included`).

    Example: 10% on joint research, charged on every component: 7,000,000 → 700,000.
    """
    ct = card.model.consumption_tax
    if contract not in ct.applies_to or ct.rate == 0 or ct.includes_tax(start):
        return None
    taxed = [ln for ln in lines if not ct.components or ln.component in ct.components]
    if not taxed:
        return None
    years: dict[int, Decimal] = {}
    for ln in taxed:
        for fy, a in ln.by_year:
            years[fy] = years.get(fy, ZERO) + a
    src = f"{card.id}: consumption tax {fmt_rate(ct.rate)}"
    if ct.components:
        src += f" of {', '.join(ct.components)} (consumption_tax.components)"
    if years and all(ln.by_year for ln in taxed):
        by_year = tuple((fy, card.rounding.apply(mul(b, ct.rate))) for fy, b in
                        sorted(years.items()))
        return Line("consumption_tax", sum((a for _, a in by_year), ZERO),
                    base=sum(years.values(), ZERO), rate=ct.rate, source=src, by_year=by_year)
    base = sum((ln.amount for ln in taxed), ZERO)
    return Line("consumption_tax", card.rounding.apply(mul(base, ct.rate)), base=base,
                rate=ct.rate, source=src)


def tax_included(total_price: Decimal, card: RateCard, contract: str,
                 start: date | None = None) -> Decimal | None:
    """The consumption tax contained in a price quoted including tax
    (``prices_include_tax``, or a project starting before ``included_before``): price ×
    rate ÷ (1 + rate), rounded down to the yen; ``None`` when the prices exclude tax or the
    contract carries none.

    Example (Otaru before 2025-10-01: 10,000 JPY/h including 10% tax): 110,000 → 10,000.
    """
    ct = card.model.consumption_tax
    if not ct.includes_tax(start) or contract not in ct.applies_to or ct.rate == 0:
        return None
    return _TAX_ROUNDING.apply(div(mul(total_price, ct.rate), Decimal(1) + ct.rate))
