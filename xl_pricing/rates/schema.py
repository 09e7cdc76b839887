"""Rate-card schema: the pydantic models a card's TOML must satisfy, and its value types.

Every number an institution could change lives in a card, never in code: rounding, the
indirect rate of approach X, time-charge rates by rank / salary / achievement / day-rate
reference, F&A rates by activity × location × field with effective dates, strategic
expense, priced options, the discount for company contributions, the split of proceeds,
the R&D tax credit and consumption tax.  Rates are fractions (``0.30`` means 30%).

The value types (``Fraction``, ``Hours2``, ``Yen`` …) are also what Excel-function
arguments are checked against (:func:`validate_value`), so a function refuses exactly what
a card file refuses.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      model_validator)

from ..errors import InputError
from ..validation import from_pydantic

# -- vocabulary shared with project files ---------------------------------------------------

Activity = Literal["research", "instruction", "other"]
Location = Literal["on", "off"]
Party = Literal["researcher", "lab", "department", "university", "reserve"]
PARTIES: tuple[Party, ...] = ("researcher", "lab", "department", "university", "reserve")
Base = Literal["direct", "direct_plus_tc", "mtdc"]
StrategicBase = Literal["direct", "direct_plus_tc", "direct_plus_indirect", "subtotal"]
Contract = Literal["joint", "sponsored", "consulting"]
# What an indirect or strategic base may add to its direct costs (rules of issue 16 item 4).
BasePart = Literal["time_charge", "research_fee", "unit_fee", "consumption_tax"]
BASE_PARTS: tuple[str, ...] = ("time_charge", "research_fee", "unit_fee", "consumption_tax")
# Costing rules: who keeps the IP decides the price floor (Cambridge: keeps IP / automatic
# non-exclusive licence / exclusive licence or assignment).
IPTerms = Literal["keeps_ip", "non_exclusive", "exclusive"]
IP_TERMS: tuple[IPTerms, ...] = ("keeps_ip", "non_exclusive", "exclusive")

def places(n: int) -> AfterValidator:
    """At most ``n`` decimal places: keeps every product an exact integer in Excel too."""

    def check(v: Decimal) -> Decimal:
        # Read the digits rather than quantize: quantizing 1e30 to 4 places overflows the
        # decimal context (the range checks, which name the field, come after this one).
        _, digits, exp = v.as_tuple()
        if isinstance(exp, int) and exp < -n and any(digits[exp + n:]):
            raise ValueError(f"a number with at most {n} decimal places")
        return v
    return AfterValidator(check)


def _whole_yen(v: Decimal) -> Decimal:
    if v != v.to_integral_value():
        raise ValueError("a whole number of yen")
    return v


# Up to 10^15 yen (a thousand trillion): every product stays exact, in Excel too.
MAX_YEN = 10**15
Money = Annotated[Decimal, Field(ge=0, le=MAX_YEN, allow_inf_nan=False)]
PositiveMoney = Annotated[Decimal, Field(gt=0, le=MAX_YEN, allow_inf_nan=False)]
Yen = Annotated[Money, AfterValidator(_whole_yen)]
PositiveYen = Annotated[PositiveMoney, AfterValidator(_whole_yen)]


def _fraction(v: Decimal) -> Decimal:
    # Above 5 (500%) is almost surely a percentage typed by mistake: 30 for 30%.
    if v > 5:
        raise ValueError("a number <= 5 (rates are fractions: 0.30 means 30%)")
    return v


# Fractions carry at most 4 decimals (0.0001 = 0.01%): a rate is then a whole number of
# basis points and a native Excel formula can price with exact integer arithmetic.
Fraction = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), places(4),
                     AfterValidator(_fraction)]
Share = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False), places(4)]
Hours2 = Annotated[Decimal, Field(gt=0, le=8784, allow_inf_nan=False), places(2)]
Hours = Annotated[Decimal, Field(gt=0, le=8784, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _listed(v: Any) -> Any:
    # A condition on one value may be written as the value itself: location = "off".
    return [v] if isinstance(v, str) else v


class When(_Model):
    """Conditions on the project under which a rate case (or a fee) applies; every
    condition given must hold.

    ``direct_at_most`` / ``direct_above``: the project's direct costs (yen, all years) ≤ /
    > the amount; ``direct_per_year_at_least``: direct costs per year ≥ the amount, a
    project longer than 12 months judged on its monthly average × 12 (Nagasaki's
    特定共同研究); ``location``, ``contract``, ``kind``: one of the values listed;
    ``start_from`` / ``start_before``: the start date (the rate's date) ≥ / < the date.

    Example: ``when = { direct_at_most = 1_000_000 }`` (Fukushima: 8% up to 1,000,000 JPY).
    """

    direct_at_most: Yen | None = None
    direct_above: Yen | None = None
    direct_per_year_at_least: Yen | None = None
    location: Annotated[list[Location], BeforeValidator(_listed), Field(min_length=1)] | None = None
    contract: Annotated[list[Contract], BeforeValidator(_listed), Field(min_length=1)] | None = None
    kind: Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_listed),
                    Field(min_length=1)] | None = None
    start_from: date | None = None
    start_before: date | None = None

    @model_validator(mode="after")
    def _some(self) -> "When":
        if all(getattr(self, k) is None for k in type(self).model_fields):
            raise ValueError("@direct_at_most: at least one condition (direct_at_most, "
                             "direct_above, direct_per_year_at_least, location, contract, "
                             "kind, start_from, start_before)")
        if (self.start_from is not None and self.start_before is not None
                and self.start_before <= self.start_from):
            raise ValueError(f"@start_before: a date after start_from ({self.start_from})")
        return self

    def dates(self) -> list[date]:
        """The dates at which this condition can change its answer (for blending by days)."""
        return [d for d in (self.start_from, self.start_before) if d is not None]

    def describe(self) -> str:
        """The condition in words: ``direct ≤ 1,000,000 yen``, ``location off`` …"""
        parts = []
        if self.direct_at_most is not None:
            parts.append(f"direct ≤ {self.direct_at_most:,} yen")
        if self.direct_above is not None:
            parts.append(f"direct > {self.direct_above:,} yen")
        if self.direct_per_year_at_least is not None:
            parts.append(f"direct per year ≥ {self.direct_per_year_at_least:,} yen")
        for key in ("location", "contract", "kind"):
            vals = getattr(self, key)
            if vals is not None:
                parts.append(f"{key} {' or '.join(vals)}")
        if self.start_from is not None:
            parts.append(f"from {self.start_from.isoformat()}")
        if self.start_before is not None:
            parts.append(f"before {self.start_before.isoformat()}")
        return ", ".join(parts)


class RateCase(_Model):
    """One case of a conditional rate (a fraction): ``{ rate = 0.08, when = {...} }``.
    Cases are checked in order; the first that holds wins, else the plain ``rate``."""

    rate: Fraction
    when: When
    note: str = ""


class YenCase(_Model):
    """One case of a conditional rate in yen per hour (the academic-consulting rate)."""

    rate: PositiveYen
    when: When
    note: str = ""


class Kind(_Model):
    """A project kind the card knows (JAIST's 支援型 …), named in Japanese and English."""

    label_ja: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]


class CardInfo(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
    institution: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(min_length=1)]
    effective_from: date
    currency: Literal["JPY"] = "JPY"
    description: str = ""
    extends: str | None = None


class RoundingSpec(_Model):
    rule: Literal["down", "half_up", "up"] = "down"
    unit: Literal[1, 10, 100, 1000] = 1


class Indirect(_Model):
    """Approach X: indirect = base × rate (by custom 30% of direct).

    The rate: the first of ``cases`` whose ``when`` holds, else ``by_contract`` for the
    project's contract, else ``rate``.  The base: direct costs less the categories in
    ``base_excludes``, plus the parts in ``base_includes`` (``research_fee``, ``unit_fee``,
    and ``consumption_tax`` — the tax on those parts, when the contract carries tax).

    Example (Kyoto): ``rate = 0.30``, ``base_includes = ["research_fee"]``: indirect = 30% of
    (direct + 研究料).
    """

    rate: Fraction
    by_contract: dict[Contract, Fraction] = {}
    cases: list[RateCase] = []
    base_includes: list[BasePart] = []
    base_excludes: list[Annotated[str, Field(min_length=1)]] = []


class Strategic(_Model):
    """Strategic collaboration expense = base × rate (kept apart from indirect).

    ``cases``, ``base_includes`` and ``base_excludes`` as for :class:`Indirect`.
    """

    rate: Fraction = Decimal(0)
    base: StrategicBase = "direct"
    cases: list[RateCase] = []
    base_includes: list[BasePart] = []
    base_excludes: list[Annotated[str, Field(min_length=1)]] = []


class Rank(_Model):
    label_ja: str
    label_en: str
    hourly: PositiveYen | None = None
    salary: PositiveYen | None = None
    # 月額単価 (△△円/月): the price of a month of the rank's involvement, for
    # ``rate_source = "monthly"`` (handbook: "△△万円/月×〇〇ヶ月").
    monthly: PositiveYen | None = None

    @model_validator(mode="after")
    def _some_rate(self) -> "Rank":
        if self.hourly is None and self.salary is None and self.monthly is None:
            raise ValueError("@hourly: an hourly rate or an annual salary for the rank "
                             "(or a monthly rate)")
        return self


class AchievementTier(_Model):
    basis: Literal["publications", "citations", "years"]
    min: Annotated[int, Field(ge=0)]
    hourly: PositiveYen
    label: str = ""


class Laureate(_Model):
    hourly: PositiveYen
    label: str = "laureate (Nobel, Fields, ...)"


class DayRate(_Model):
    id: Annotated[str, Field(min_length=1)]
    label: str = ""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    min: Annotated[PositiveMoney, places(2)]
    max: Annotated[PositiveMoney, places(2)]
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "DayRate":
        if self.max < self.min:
            raise ValueError(f"@max: a day rate >= min ({self.min})")
        return self


class TimeCharge(_Model):
    annual_hours: Hours2
    hours_per_day: Annotated[Decimal, Field(gt=0, le=24), places(2)] = Decimal("7.5")
    consulting_rate: PositiveYen
    # Conditional consulting rates (yen/h), first match wins, else consulting_rate: e.g.
    # Otaru's 20,000 JPY/h for contracts from 2025-10-01.
    consulting_cases: list[YenCase] = []
    escalation: Fraction = Decimal(0)
    ranks: dict[str, Rank]
    achievement: list[AchievementTier] = []
    laureate: Laureate | None = None
    day_rates: list[DayRate] = []
    exchange_rates: dict[str, Annotated[PositiveMoney, places(4)]] = {}
    # Hours of one full-time year for the FTE shown on a quote (UK fEC/TRAC: 1,650 h =
    # 220 days × 7.5 h); default ``annual_hours``.
    fte_hours: Hours2 | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "TimeCharge":
        if not self.ranks:
            raise ValueError("@ranks: at least one rank")
        ids = [d.id for d in self.day_rates]
        for j, i in enumerate(ids):
            if i in ids[:j]:
                raise ValueError(f"@day_rates[{j}].id: a unique id ({i!r} is already "
                                 f"day_rates[{ids.index(i)}])")
        for d in self.day_rates:
            if d.currency != "JPY" and d.currency not in self.exchange_rates:
                raise ValueError(f"@exchange_rates.{d.currency}: an exchange rate (JPY "
                                 f"per {d.currency}) for day rate {d.id!r}")
        return self


class FARate(_Model):
    activity: Activity
    location: Location
    field: str | None = None
    rate: Fraction
    effective_from: date | None = None
    components: dict[str, Fraction] = {}
    note: str = ""

    @model_validator(mode="after")
    def _components_add_up(self) -> "FARate":
        if self.components and sum(self.components.values()) != self.rate:
            parts = " + ".join(f"{k} {v}" for k, v in self.components.items())
            raise ValueError(f"@components: parts that add up to the rate {self.rate} "
                             f"(got {parts})")
        return self


class SubawardThreshold(_Model):
    """The part of each subaward counted in MTDC for awards made on or after a date.

    2 CFR 200.1 "modified total direct costs": the first 25,000 USD of each subaward,
    50,000 USD for awards from 2024-10-01 (revised Uniform Guidance, 89 FR 30046); a card
    states it in its currency (the shipped US cards: yen at 150 JPY/USD, 7,500,000).
    """

    effective_from: date
    amount: Yen
    note: str = ""


class SponsorCap(_Model):
    """A sponsor's limit on F&A (Kuali Coeus: the *applied* rate beside the institute rate).

    ``rate``: the F&A rate the sponsor pays at most (a foundation's 15%); ``base``: the
    F&A base the sponsor pays on at most over the whole award (yen).  What is not recovered
    is the under-recovery, shown on the internal view only.
    """

    label_ja: str = ""
    label_en: str = ""
    rate: Fraction | None = None
    base: Yen | None = None

    @model_validator(mode="after")
    def _some_cap(self) -> "SponsorCap":
        if self.rate is None and self.base is None:
            raise ValueError("@rate: a capped rate (fraction) or a capped base (yen)")
        return self


class FA(_Model):
    """F&A cost = base × rate; the base and its exclusions are policy, not code.

    ``mtdc_excluded`` lists direct-cost categories left out of MTDC (matched exactly, as the
    native workbook's EXACT does; 2 CFR 200.1 names equipment, capital expenditures, patient
    care, rental costs, tuition remission, scholarships and fellowships, participant
    support).  ``subaward_included_up_to`` is the part of each subaward in MTDC, and
    ``subaward_thresholds`` replace it for awards from their dates; items carrying the same
    ``subaward`` id are one subaward over the whole award.  ``sponsor_caps`` are applied
    rates or base caps by sponsor type (``project.sponsor_type``).  ``base_includes =
    ["consumption_tax"]`` adds the consumption tax on the base's taxed parts (the card's
    ``consumption_tax.components``) to the base.
    """

    base: Base = "direct"
    mtdc_excluded: list[str] = []
    subaward_included_up_to: Yen | None = None
    rates: list[FARate] = []
    subaward_thresholds: list[SubawardThreshold] = []
    sponsor_caps: dict[str, SponsorCap] = {}
    # The consumption tax on the base's parts the card taxes joins the base (Yamaguchi:
    # 20% of ① fee + ② the tax on the fee + ③ expenses); only for a taxed contract.
    base_includes: list[Literal["consumption_tax"]] = []

    @model_validator(mode="after")
    def _thresholds_dated_once(self) -> "FA":
        dates = [t.effective_from for t in self.subaward_thresholds]
        for j, d in enumerate(dates):
            if d in dates[:j]:
                raise ValueError(f"@subaward_thresholds[{j}].effective_from: one threshold "
                                 f"per date ({d} is already subaward_thresholds"
                                 f"[{dates.index(d)}])")
        return self


class PriceFloor(_Model):
    """A minimum price as a multiple of full cost, chosen by IP terms, and a warning share.

    Full cost = the sum of the quote's ``full_cost`` components — by default direct + time
    charge + indirect + F&A, i.e. the approach-A subtotal before strategic expense, options
    and discounts (UK full economic cost: directly incurred, directly allocated and indirect
    costs).  University of Cambridge: >= 100% of fEC when the university keeps the IP,
    >= 120% with an automatic non-exclusive licence, >= 140% with an exclusive licence or
    assignment; University of Aberdeen: below 75% of fEC needs Head of School approval.

    ``action = "lift"`` adds a ``floor`` line raising the price to the minimum;
    ``"warn"`` only warns.  ``warn_below`` warns when the price is below that share of
    full cost, whatever the terms.
    """

    multiples: dict[IPTerms, Annotated[Fraction, Field(gt=0)]] = {}
    default_terms: IPTerms | None = None
    action: Literal["lift", "warn"] = "lift"
    warn_below: Annotated[Fraction, Field(gt=0)] | None = None
    approval: str = ""
    full_cost: list[Literal["direct", "time_charge", "indirect", "fa", "strategic",
                            "option"]] = ["direct", "time_charge", "indirect", "fa"]

    @model_validator(mode="after")
    def _terms_priced(self) -> "PriceFloor":
        if self.default_terms is not None and self.default_terms not in self.multiples:
            raise ValueError(f"@default_terms: terms that have a multiple "
                             f"({', '.join(self.multiples) or 'none'})")
        if not self.full_cost:
            raise ValueError("@full_cost: at least one component")
        return self


class Option(_Model):
    label_ja: str
    label_en: str
    method: Literal["fixed", "rate"]
    amount: Yen | None = None
    rate: Fraction | None = None
    base: Literal["direct", "direct_plus_tc"] = "direct_plus_tc"
    cases: list[RateCase] = []   # conditional rates (method "rate"), first match wins

    @model_validator(mode="after")
    def _priced(self) -> "Option":
        if self.method == "fixed" and self.amount is None:
            raise ValueError("@amount: an amount (yen) for a fixed-price option")
        if self.method == "rate" and self.rate is None:
            raise ValueError("@rate: a rate (fraction) for a rate-priced option")
        if self.method == "fixed" and self.cases:
            raise ValueError("@cases: no rate cases on a fixed-price option (method 'rate')")
        return self


class Contributions(_Model):
    """How company contributions reduce an approach-A price."""

    researcher_hour_value: Yen = Decimal(0)
    equipment_credit_rate: Share = Decimal(0)
    max_discount_rate: Share = Decimal(0)


class Tier(_Model):
    """One band of a tiered split: the income up to ``up_to`` (cumulative yen; omitted on
    the last band: everything above) is split by ``shares`` (adding up to 1)."""

    up_to: PositiveYen | None = None
    shares: dict[Party, Share]

    @model_validator(mode="after")
    def _sum_to_one(self) -> "Tier":
        s = sum(self.shares.values(), Decimal(0))
        if s != 1:
            raise ValueError(f"@shares: shares that add up to 1 (they add up to {s})")
        return self


class Multiple(_Model):
    """One party's share as ``k`` times another's: ``party`` = k × ``of``.

    Daikin's model (handbook §5, 別冊 p.26): the university is paid 2–3 times the
    researcher's business-contribution royalty.
    """

    party: Party
    of: Party
    k: Annotated[Decimal, Field(gt=0, le=1000, allow_inf_nan=False), places(4)]

    @model_validator(mode="after")
    def _two_parties(self) -> "Multiple":
        if self.party == self.of:
            raise ValueError(f"@of: a party other than {self.party!r}")
        return self


class CostRecovery(_Model):
    """Costs repaid before any share: the project's ``proceeds.costs`` are taken from the
    listed components' income first (in this order) and go to ``to``."""

    components: Annotated[list[str], Field(min_length=1)]
    to: Party = "university"


class Allocation(_Model):
    """Split of proceeds: for each price component, the share of each party.

    ``shares`` maps a component (``direct``, ``time_charge``, ``indirect``, ``fa``,
    ``strategic``, ``option``, ``value_added``, ``royalty``, ...) or ``default`` to party
    shares that add up to 1.  Shares are floored to the yen; what remains of the amount goes
    to ``residual_to`` so the parts always add up to the amount.

    ``tiers.COMPONENT`` splits a component's (net) income band by band instead (inventor
    50% of the first 100,000 and 25% above); ``multiples.COMPONENT`` splits it so one party
    gets k times another's part; ``cost_recovery`` repays costs first.
    """

    residual_to: Party = "university"
    shares: dict[str, dict[Party, Share]]
    tiers: dict[str, Annotated[list[Tier], Field(min_length=1)]] = {}
    multiples: dict[str, Multiple] = {}
    cost_recovery: CostRecovery | None = None

    @model_validator(mode="after")
    def _sum_to_one(self) -> "Allocation":
        if "default" not in self.shares:
            raise ValueError("@shares.default: a default entry")
        for comp, parts in self.shares.items():
            s = sum(parts.values(), Decimal(0))
            if s != 1:
                raise ValueError(f"@shares.{comp}: shares that add up to 1 (they add up to {s})")
        for comp, tiers in self.tiers.items():
            last = len(tiers) - 1
            for j, t in enumerate(tiers):
                if (t.up_to is None) != (j == last):
                    raise ValueError(f"@tiers.{comp}[{j}].up_to: an upper bound on every "
                                     "band but the last (which takes the rest)")
                if j and t.up_to is not None and tiers[j - 1].up_to is not None \
                        and t.up_to <= tiers[j - 1].up_to:  # type: ignore[operator]
                    raise ValueError(f"@tiers.{comp}[{j}].up_to: a bound above the previous "
                                     f"band's {tiers[j - 1].up_to}")
            if comp in self.multiples:
                raise ValueError(f"@multiples.{comp}: one rule per component ({comp!r} "
                                 "already has tiers)")
        return self


class TaxCredit(_Model):
    rate: Fraction
    partner_rates: dict[str, Fraction] = {}
    min_total: Yen = Decimal(0)
    cap_share_of_corporate_tax: Share | None = None
    note: str = ""


class ConsumptionTax(_Model):
    """Consumption tax (消費税) on the price: ``rate``, the contract types that carry it
    (``applies_to``), the price components it is charged on (``components``; empty: every
    line), and whether the card's prices already include it (``prices_include_tax``: no
    tax line is added, the tax contained is reported).  Whether an indirect or strategic
    base includes it is said there (``base_includes = ["consumption_tax"]``)."""

    rate: Fraction = Decimal(0)
    applies_to: list[Contract] = []
    components: list[Annotated[str, Field(min_length=1)]] = []
    prices_include_tax: bool = False
    # Prices of projects starting before this date include tax, later ones exclude it
    # (Otaru: 10,000 JPY/h including tax, 20,000 JPY/h excluding tax from 2025-10-01).
    included_before: date | None = None

    def includes_tax(self, start: date | None) -> bool:
        """Whether prices include the tax for a project starting on ``start``."""
        if self.prices_include_tax:
            return True
        return (self.included_before is not None and start is not None
                and start < self.included_before)


class ResearchFee(_Model):
    """A fixed fee (研究料) per quantity (a company researcher …) and period of N months.

    Each full period of ``period_months`` costs ``amount``; a last, shorter period costs
    ``short_amount`` when it is at most ``short_months`` long, else — ``proration =
    "monthly"`` — amount × its months ÷ period_months, or — ``"none"`` — the full amount.
    The fee is per unit of the project's ``quantities.<per>`` (``per = "project"``: once).
    Each period is charged in the fiscal year it starts in.

    Examples: KEK 432,000 a year per researcher (``proration = "monthly"``); Kyoto 440,000
    a year, 220,000 for six months or less (``short_months = 6``, ``short_amount =
    220_000``); a national college 210,000 per six months, not prorated
    (``period_months = 6``).
    """

    label_ja: Annotated[str, Field(min_length=1)] = "研究料"
    label_en: Annotated[str, Field(min_length=1)] = "Research fee"
    amount: PositiveYen
    period_months: Annotated[int, Field(ge=1, le=120)] = 12
    proration: Literal["none", "monthly"] = "none"
    short_months: Annotated[int, Field(ge=1, le=120)] | None = None
    short_amount: PositiveYen | None = None
    per: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "company_researcher"
    when: When | None = None
    source: str = ""

    @model_validator(mode="after")
    def _short(self) -> "ResearchFee":
        if (self.short_months is None) != (self.short_amount is None):
            missing = "short_amount" if self.short_amount is None else "short_months"
            raise ValueError(f"@{missing}: both short_months and short_amount (a last "
                             "period of at most short_months costs short_amount)")
        if self.short_months is not None and self.short_months >= self.period_months:
            raise ValueError(f"@short_months: fewer months than period_months "
                             f"({self.period_months})")
        return self


Quantity = Annotated[Decimal, Field(ge=0, le=1_000_000, allow_inf_nan=False), places(2)]


class UnitFeeItem(_Model):
    """One part of a monthly unit fee: ``amount`` a month for ``included`` units of the
    project's ``quantities.<quantity>``, ± ``step_amount`` per ``step`` units above (each
    started step) or below (each full step, only when ``below`` is true) the included ones.

    Monthly amount = amount + step_amount × steps.  Example (NITech): space, 500,000 for
    200 m², ±20,000 per 10 m² → 230 m² costs 560,000 a month, 180 m² 460,000.
    """

    quantity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    label_ja: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    amount: Yen = Decimal(0)
    included: Quantity = Decimal(0)
    step: Annotated[Quantity, Field(gt=0)] = Decimal(1)
    step_amount: Yen = Decimal(0)
    below: bool = False

    @model_validator(mode="after")
    def _priced(self) -> "UnitFeeItem":
        if self.quantity is None and self.step_amount:
            raise ValueError("@quantity: the project quantity the step amount is per")
        return self


class UnitFee(_Model):
    """A recurring monthly fee priced by quantities (an endowed or joint-research lab).

    Each fiscal year: Σ items' monthly amounts × the project's months in that year, rounded
    once.  Example (NITech endowed lab): 300,000 for two faculty + 500,000 for 200 m² =
    800,000 a month; +100,000 per extra staff; ±20,000 per 10 m².
    """

    label_ja: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    items: Annotated[list[UnitFeeItem], Field(min_length=1)]
    when: When | None = None
    source: str = ""


class RateChange(_Model):
    """How a rate that changes during the project is applied (dated rate cases, and F&A
    rates with an ``effective_from``): ``fiscal_year`` (default, as before) — each fiscal
    year at the rate in force on its first day in the project; ``at_award`` — the rate in
    force at the project's start for its whole life (2 CFR 200 App. III C.7);
    ``blend_by_days`` — each fiscal year's amount is base × Σ rate × days ÷ the year's days
    of the project, rounded once (a budget period split at each rate's start date)."""

    method: Literal["fiscal_year", "at_award", "blend_by_days"] = "fiscal_year"


class OutcomeDefaults(_Model):
    scenario_weights: dict[Literal["low", "base", "high"], Share] = {
        "low": Decimal("0.25"), "base": Decimal("0.5"), "high": Decimal("0.25")}

    @model_validator(mode="after")
    def _weights(self) -> "OutcomeDefaults":
        s = sum(self.scenario_weights.values(), Decimal(0))
        if s != 1:
            raise ValueError(f"@scenario_weights: weights that add up to 1 (they add up to {s})")
        return self


class RateCardModel(_Model):
    card: CardInfo
    rounding: RoundingSpec = RoundingSpec()
    indirect: Indirect
    strategic: Strategic = Strategic()
    time_charge: TimeCharge
    fa: FA = FA()
    options: dict[str, Option] = {}
    contributions: Contributions = Contributions()
    allocation: Allocation
    tax_credit: TaxCredit
    consumption_tax: ConsumptionTax = ConsumptionTax()
    outcome: OutcomeDefaults = OutcomeDefaults()
    floor: PriceFloor | None = None   # costing rules: price floors by IP terms
    kinds: dict[Annotated[str, Field(min_length=1, max_length=64)], Kind] = {}
    fees: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ResearchFee] = {}
    unit_fees: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], UnitFee] = {}
    rate_change: RateChange = RateChange()

    @model_validator(mode="after")
    def _known_kinds(self) -> "RateCardModel":
        # A condition naming a kind the card does not list could never hold: a typo.
        for where, when in self.conditions():
            for k in (when.kind or []):
                if k not in self.kinds:
                    known = ", ".join(self.kinds) or "none: add a [kinds] table"
                    raise ValueError(f"@{where}.kind: a kind listed in [kinds] ({known}); "
                                     f"got {k!r}")
        return self

    def conditions(self) -> list[tuple[str, When]]:
        """Every condition of the card with its key path (``indirect.cases[0].when``)."""
        out: list[tuple[str, When]] = []
        for key, cases in (("indirect", self.indirect.cases), ("strategic", self.strategic.cases),
                           ("time_charge.consulting_cases", self.time_charge.consulting_cases),
                           *((f"options.{n}", o.cases) for n, o in self.options.items())):
            path = key if key.endswith("_cases") else f"{key}.cases"
            out += [(f"{path}[{i}].when", c.when) for i, c in enumerate(cases)]
        for group, fees in (("fees", self.fees), ("unit_fees", self.unit_fees)):
            out += [(f"{group}.{n}.when", f.when) for n, f in fees.items()
                    if f.when is not None]
        return out


def validate_value(kind: Any, value: Decimal, field: str, source: str | None = None) -> Any:
    """``value`` checked against a schema type (``Fraction``, ``Hours2`` …) as a card file's
    value would be; the validated value, or :class:`InputError` naming ``field``.

    Example:
        >>> validate_value(Fraction, Decimal("0.3"), "rate")
        Decimal('0.3')
        >>> validate_value(Fraction, Decimal(30), "rate")
        Traceback (most recent call last):
        ...
        xl_pricing.errors.InputError: rate = 30: expected a number <= 5 (rates are fractions: 0.30 means 30%)
    """
    try:
        return _adapter(kind).validate_python(value)
    except pydantic.ValidationError as exc:
        err = from_pydantic(exc, source).errors[0]
        raise InputError(field, value, err.expected, source) from None


_ADAPTERS: dict[int, tuple[Any, pydantic.TypeAdapter[Any]]] = {}


def _adapter(kind: Any) -> pydantic.TypeAdapter[Any]:
    # A TypeAdapter compiles its validator once: one per schema type (module constants,
    # kept alive here beside their adapter so an id is never reused).
    found = _ADAPTERS.get(id(kind))
    if found is None:
        found = _ADAPTERS[id(kind)] = (kind, pydantic.TypeAdapter(kind))
    return found[1]
