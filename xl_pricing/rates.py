"""Rate cards: an institution's pricing policy as validated, hashed data.

A rate card is a TOML file (see ``templates/rates/``).  Every number an institution could
change lives here, never in code: rounding, the indirect rate of approach X, time-charge
rates by rank / salary / achievement / day-rate reference, F&A rates by activity ×
location × field with effective dates, strategic expense, priced options, the discount for
company contributions, the split of proceeds, the R&D tax credit and consumption tax.

Rates are stored as fractions (``0.30`` means 30%) and displayed as percentages.
"""

from __future__ import annotations

import os
from time import monotonic
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .errors import InputError
from .money import Rounding, fmt_rate
from .tomlio import content_sha256, read_document
from .validation import from_pydantic

# -- vocabulary shared with project files ---------------------------------------------------

Activity = Literal["research", "instruction", "other"]
Location = Literal["on", "off"]
Party = Literal["researcher", "lab", "department", "university", "reserve"]
PARTIES: tuple[Party, ...] = ("researcher", "lab", "department", "university", "reserve")
Base = Literal["direct", "direct_plus_tc", "mtdc"]
StrategicBase = Literal["direct", "direct_plus_tc", "direct_plus_indirect", "subtotal"]
Contract = Literal["joint", "sponsored", "consulting"]

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
    """Approach X: indirect = direct × rate (by custom 30%); optionally per contract type."""

    rate: Fraction
    by_contract: dict[Contract, Fraction] = {}


class Strategic(_Model):
    """Strategic collaboration expense = base × rate (kept apart from indirect)."""

    rate: Fraction = Decimal(0)
    base: StrategicBase = "direct"


class Rank(_Model):
    label_ja: str
    label_en: str
    hourly: PositiveYen | None = None
    salary: PositiveYen | None = None

    @model_validator(mode="after")
    def _some_rate(self) -> "Rank":
        if self.hourly is None and self.salary is None:
            raise ValueError("@hourly: an hourly rate or an annual salary for the rank")
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
    escalation: Fraction = Decimal(0)
    ranks: dict[str, Rank]
    achievement: list[AchievementTier] = []
    laureate: Laureate | None = None
    day_rates: list[DayRate] = []
    exchange_rates: dict[str, Annotated[PositiveMoney, places(4)]] = {}

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


class FA(_Model):
    """F&A cost = base × rate; the base and its exclusions are policy, not code."""

    base: Base = "direct"
    mtdc_excluded: list[str] = []
    subaward_included_up_to: Yen | None = None
    rates: list[FARate] = []


class Option(_Model):
    label_ja: str
    label_en: str
    method: Literal["fixed", "rate"]
    amount: Yen | None = None
    rate: Fraction | None = None
    base: Literal["direct", "direct_plus_tc"] = "direct_plus_tc"

    @model_validator(mode="after")
    def _priced(self) -> "Option":
        if self.method == "fixed" and self.amount is None:
            raise ValueError("@amount: an amount (yen) for a fixed-price option")
        if self.method == "rate" and self.rate is None:
            raise ValueError("@rate: a rate (fraction) for a rate-priced option")
        return self


class Contributions(_Model):
    """How company contributions reduce an approach-A price."""

    researcher_hour_value: Yen = Decimal(0)
    equipment_credit_rate: Share = Decimal(0)
    max_discount_rate: Share = Decimal(0)


class Allocation(_Model):
    """Split of proceeds: for each price component, the share of each party.

    ``shares`` maps a component (``direct``, ``time_charge``, ``indirect``, ``fa``,
    ``strategic``, ``option``, ``value_added``, ``royalty``, ...) or ``default`` to party
    shares that add up to 1.  Shares are floored to the yen; what remains of the amount goes
    to ``residual_to`` so the parts always add up to the amount.
    """

    residual_to: Party = "university"
    shares: dict[str, dict[Party, Share]]

    @model_validator(mode="after")
    def _sum_to_one(self) -> "Allocation":
        if "default" not in self.shares:
            raise ValueError("@shares.default: a default entry")
        for comp, parts in self.shares.items():
            s = sum(parts.values(), Decimal(0))
            if s != 1:
                raise ValueError(f"@shares.{comp}: shares that add up to 1 (they add up to {s})")
        return self


class TaxCredit(_Model):
    rate: Fraction
    partner_rates: dict[str, Fraction] = {}
    min_total: Yen = Decimal(0)
    cap_share_of_corporate_tax: Share | None = None
    note: str = ""


class ConsumptionTax(_Model):
    rate: Fraction = Decimal(0)
    applies_to: list[Contract] = []


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


@dataclass(frozen=True)
class RateCard:
    """A validated rate card with its provenance (id, version, sha256, file)."""

    model: RateCardModel
    sha256: str
    path: str

    # -- identity ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.model.card.id

    @property
    def version(self) -> str:
        return self.model.card.version

    @cached_property
    def rounding(self) -> Rounding:
        return Rounding(self.model.rounding.rule, self.model.rounding.unit)

    @cached_property
    def rate_rounding(self) -> Rounding:
        """Rates (yen per hour or day) are whole yen, by the card's rule at a 1-yen unit."""
        return Rounding(self.model.rounding.rule, 1)

    def provenance(self) -> dict[str, str]:
        """``{"id", "version", "sha256"}`` — what every quote and workbook records."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256}

    # -- lookups ----------------------------------------------------------------------
    def rank(self, name: str) -> Rank:
        """The rank row for ``name``; unknown ranks list the ranks the card has."""
        try:
            return self.model.time_charge.ranks[name]
        except KeyError:
            known = ", ".join(self.model.time_charge.ranks)
            raise InputError("rank", name, f"a rank of card {self.id!r}: {known}") from None

    def indirect_rate(self, contract: str | None = None) -> Decimal:
        """Approach-X indirect rate, the contract-specific one where the card has it."""
        ind = self.model.indirect
        if contract is not None and contract in ind.by_contract:
            return ind.by_contract[contract]  # type: ignore[index]
        return ind.rate

    def fa_rate(self, activity: str, location: str, field: str | None = None,
                on: date | None = None) -> FARate:
        """The F&A rate row in force on ``on`` for activity × location (× field).

        A row for the exact field wins over a row without a field; among rows in force the
        latest ``effective_from`` wins.  Rows without a date are in force from the card's
        ``effective_from``.

        Example: ``harvard.fa_rate("research", "on").rate == Decimal("0.69")``.
        """
        on = on or self.model.card.effective_from
        found: list[tuple[int, date, FARate]] = []
        for row in self.model.fa.rates:
            if row.activity != activity or row.location != location:
                continue
            if row.field is not None and row.field != field:
                continue
            start = row.effective_from or self.model.card.effective_from
            if start > on:
                continue
            found.append((1 if row.field is not None else 0, start, row))
        if not found:
            have = sorted({f"{r.activity}/{r.location}" + (f"/{r.field}" if r.field else "")
                           for r in self.model.fa.rates})
            what = f"{activity}/{location}" + (f"/{field}" if field else "")
            raise InputError("activity/location", what,
                             f"an F&A rate for {what} in card {self.id!r} in force on "
                             f"{on.isoformat()} (it has: {', '.join(have) or 'none'})")
        found.sort(key=lambda t: (t[0], t[1]))
        return found[-1][2]

    def achievement_rate(self, basis: str, value: int) -> AchievementTier:
        """Highest achievement tier of ``basis`` whose ``min`` is <= ``value``."""
        tiers = [t for t in self.model.time_charge.achievement if t.basis == basis]
        if not tiers:
            raise InputError("achievement_basis", basis,
                             f"a basis with tiers in card {self.id!r}: "
                             + ", ".join(sorted({t.basis for t in
                                                 self.model.time_charge.achievement})))
        ok = [t for t in tiers if t.min <= value]
        if not ok:
            lowest = min(t.min for t in tiers)
            raise InputError(basis, value, f">= {lowest}, the lowest {basis} tier")
        return max(ok, key=lambda t: t.min)

    def day_rate(self, ref: str) -> DayRate:
        for d in self.model.time_charge.day_rates:
            if d.id == ref:
                return d
        known = ", ".join(d.id for d in self.model.time_charge.day_rates) or "none"
        raise InputError("day_rate", ref, f"a day-rate reference of card {self.id!r}: {known}")

    def exchange_rate(self, currency: str) -> Decimal:
        if currency == "JPY":
            return Decimal(1)
        return self.model.time_charge.exchange_rates[currency]

    def option(self, name: str) -> Option:
        try:
            return self.model.options[name]
        except KeyError:
            known = ", ".join(self.model.options) or "none"
            raise InputError("option", name, f"an option of card {self.id!r}: {known}") from None

    def tax_rate(self, partner: str = "university") -> Decimal:
        tc = self.model.tax_credit
        if partner in tc.partner_rates:
            return tc.partner_rates[partner]
        if partner == "university" or not tc.partner_rates:
            return tc.rate
        known = ", ".join(dict.fromkeys(["university", *tc.partner_rates]))
        raise InputError("tax.partner", partner, f"one of {known}")

    def shares_for(self, component: str) -> dict[str, Decimal]:
        sh = self.model.allocation.shares
        return dict(sh.get(component, sh["default"]))

    def summary_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs describing the card, for ``rates show`` and workbooks."""
        m = self.model
        rows = [("card", f"{self.id} v{self.version} ({m.card.institution})"),
                ("effective from", m.card.effective_from.isoformat()),
                ("sha256", self.sha256),
                ("rounding", self.rounding.describe()),
                ("indirect rate (approach X)", fmt_rate(m.indirect.rate)),
                ("strategic expense", f"{fmt_rate(m.strategic.rate)} of {m.strategic.base}"),
                ("annual working hours", f"{m.time_charge.annual_hours}"),
                ("consulting rate", f"¥{m.time_charge.consulting_rate:,} per hour"),
                ("F&A base", m.fa.base + (f" (excluding {', '.join(m.fa.mtdc_excluded)})"
                                          if m.fa.base == "mtdc" else ""))]
        for name, r in m.time_charge.ranks.items():
            parts = []
            if r.hourly is not None:
                parts.append(f"¥{r.hourly:,}/h")
            if r.salary is not None:
                parts.append(f"salary ¥{r.salary:,}/year")
            rows.append((f"rank {name} ({r.label_ja})", ", ".join(parts)))
        for fa in m.fa.rates:
            key = f"F&A {fa.activity}/{fa.location}" + (f"/{fa.field}" if fa.field else "")
            since = fa.effective_from or m.card.effective_from
            rows.append((key, f"{fmt_rate(fa.rate)} from {since.isoformat()}"))
        for d in m.time_charge.day_rates:
            rng = f"{d.min:,}" if d.min == d.max else f"{d.min:,}–{d.max:,}"
            rows.append((f"day rate {d.id}", f"{d.currency} {rng}/day"))
        for name, o in m.options.items():
            price = f"¥{o.amount:,}" if o.method == "fixed" else f"{fmt_rate(o.rate)} of {o.base}"
            rows.append((f"option {name}", price))
        rows.append(("R&D tax credit", fmt_rate(m.tax_credit.rate)))
        return rows


# -- loading ----------------------------------------------------------------------------

def templates_dir() -> Path:
    """Folder holding the shipped ``rates/`` and ``projects/``.

    In an installed wheel it is packaged as ``xl_pricing/_templates``; in a source checkout
    (and an editable install) it is the repository's ``templates/``.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


@lru_cache(maxsize=1)
def _shipped() -> tuple[tuple[str, Path], ...]:
    return tuple((p.stem, p) for p in sorted((templates_dir() / "rates").glob("*.toml")))


def shipped_cards() -> dict[str, Path]:
    """Shipped rate cards by id (the file stem)."""
    return dict(_shipped())


DEFAULT_CARD = "jp-default"


def _user_dir() -> Path | None:
    env = os.environ.get("XL_PRICING_RATES")
    return Path(env) if env else None


def resolve_card(ref: str | os.PathLike[str] | None) -> Path:
    """Where the card named ``ref`` lives.

    ``ref`` is a path to a ``.toml``/``.json`` file, the id of a card in the folder named by
    the ``XL_PRICING_RATES`` environment variable, or a shipped card id.  ``None`` or ``""``
    means the default card (``jp-default``).
    """
    if ref is None or str(ref).strip() == "":
        ref = DEFAULT_CARD
    text = str(ref).strip()
    p = Path(text)
    if p.suffix.lower() in (".toml", ".json") or os.sep in text or "/" in text:
        return p
    user = _user_dir()
    if user is not None:
        for ext in (".toml", ".json"):
            if (user / f"{text}{ext}").is_file():
                return user / f"{text}{ext}"
    shipped = shipped_cards()
    if text in shipped:
        return shipped[text]
    known = ", ".join(shipped)
    where = f" or in XL_PRICING_RATES={user}" if user else ""
    raise InputError("card", text, f"a path to a .toml rate card, or a card id{where}: {known}")


def parse_card(data: dict[str, Any], source: str) -> RateCard:
    """Validate parsed rate-card content (from TOML or JSON)."""
    try:
        model = RateCardModel.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, source, RateCardModel) from None
    return RateCard(model=model, sha256=content_sha256(data), path=source)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: tables merge key by key, anything else (arrays too) is
    replaced, so a card that extends another restates a whole list of F&A rates."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(
            out.get(k), dict) else v
    return out


def read_card_document(path: Path, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A card's content with any ``[card] extends = "..."`` base merged under it."""
    data = read_document(path)
    info = data.get("card")
    parent = info.get("extends") if isinstance(info, dict) else None
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError("card.extends", parent, "the id or path of another rate card",
                         source=str(path))
    key = str(path.resolve())
    if key in _seen:
        raise InputError("card.extends", parent, "a base card that does not extend this "
                         "card again (the chain is circular)", source=str(path))
    try:
        base_path = resolve_card(parent if not parent.endswith((".toml", ".json"))
                                 else str(path.parent / parent))
        if not base_path.is_file():
            raise InputError("card.extends", parent,
                             f"an existing rate-card file (no file at {base_path})",
                             source=str(path))
    except InputError as exc:
        if exc.field == "card":
            raise InputError("card.extends", parent, exc.expected, str(path)) from None
        raise
    base = read_card_document(base_path, (*_seen, key))
    merged = deep_merge(base, data)
    merged["card"] = {k: v for k, v in data["card"].items()}
    merged["card"]["extends"] = parent
    return merged


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int, size: int) -> RateCard:
    return parse_card(read_card_document(Path(path)), path)


@lru_cache(maxsize=256)
def _resolved(ref: str, rates_dir: str | None) -> str:
    # Excel calls the functions thousands of times: find a card's file once per reference.
    return str(resolve_card(ref).resolve())


_STAT_EVERY = 1.0  # seconds between checks that a card file changed on disk
_checked: dict[str, tuple[float, RateCard]] = {}  # reference as given → (valid until, card)
# ``checked_card(ref)``: ``(valid until, card)`` as load_card last resolved ``ref`` (``""``:
# the default), or None.  For a caller on a hot path that compares the time itself: the card
# is current while ``time.monotonic()`` is below the first item.
checked_card = _checked.get


def load_card(ref: str | os.PathLike[str] | None = None) -> RateCard:
    """Load and validate a rate card (see :func:`resolve_card` for what ``ref`` may be).

    Cached by path, modification time and size, so Excel functions calling it thousands of
    times parse the file once and still see an edited card within a second: a reference is
    resolved (``XL_PRICING_RATES``, the file's date and size) at most once a second.  That
    check is what an Excel function call would otherwise spend most of its time on.

    Raises:
        InputError: unknown card, unreadable file, invalid TOML or invalid content — the
            message names the file, key path, value and what was expected.
    """
    key = "" if ref is None else str(ref).strip()
    now = monotonic()
    seen = _checked.get(key)
    if seen is not None and now < seen[0]:
        return seen[1]
    path = _resolved(key, os.environ.get("XL_PRICING_RATES"))
    try:
        st = os.stat(path)
    except OSError:
        _resolved.cache_clear()
        raise InputError("card", key or path, "an existing rate-card file") from None
    card = _load_cached(path, st.st_mtime_ns, st.st_size)
    _checked[key] = (now + _STAT_EVERY, card)  # good until then
    return card
