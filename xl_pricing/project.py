"""Project inputs: one collaboration described in a TOML (or JSON) file.

See ``templates/projects/`` for one example per approach.  Validation messages name the
file, the key path, the value and what was expected.
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BeforeValidator, Field, model_validator

from .errors import InputError
from .rates import (Activity, Contract, Fraction, IPTerms, Location, PositiveYen, Share, Yen,
                    _Model, places)
from .tomlio import read_document
from .validation import from_pydantic
from .vocabulary import (ACHIEVEMENT_BASES, ACTIVITIES, APPROACHES, CONTRACTS, DAY_RATE_BOUNDS,
                         LOCATIONS, RATE_SOURCES, TAX_PARTNERS, code_for)

Approach = Literal["X", "A", "B", "C"]
APPROACH_NAMES = {"X": "input-cost accumulation", "A": "Western-standard stacking",
                  "B": "total amount agreed", "C": "outcome-linked"}
_ALIASES = {"cost": "X", "stacked": "A", "total": "B", "outcome": "C"}


def _approach(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return code_for(v, APPROACHES) or _ALIASES.get(v.lower(), v.upper())
    return v


def _named(table: dict[str, tuple[str, str]]) -> BeforeValidator:
    """Accept a code's Japanese or English name as well as the code (受託研究, "受託研究 /
    sponsored research", "sponsored research" → ``sponsored``); anything else is left for
    the field's own check, which names the codes."""

    def code(v: Any) -> Any:
        if not isinstance(v, str) or any(unicodedata.category(c) == "Cc" for c in v):
            return v  # "joint\v" is no name typed: left for the field's check to refuse
        return code_for(v, table) or v
    return BeforeValidator(code)


FiscalYear = Annotated[int, Field(ge=1900, le=2200)]
# Dates a workbook can hold (Excel's 1900 date system); 0001-01-01 crashed the builder.
ExcelDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(9999, 12, 31))]


def fiscal_year(d: date) -> int:
    """Japanese fiscal year (April–March) named by the year it starts in.

    >>> fiscal_year(date(2028, 3, 31)), fiscal_year(date(2028, 4, 1))
    (2027, 2028)
    """
    return d.year if d.month >= 4 else d.year - 1


def months_by_fiscal_year(start: date, end: date) -> dict[int, int]:
    """Calendar months of the period in each fiscal year (a partly covered month counts).

    >>> months_by_fiscal_year(date(2027, 10, 1), date(2028, 9, 30))
    {2027: 6, 2028: 6}
    """
    out: dict[int, int] = {}
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        fy = y if m >= 4 else y - 1
        out[fy] = out.get(fy, 0) + 1
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class ProjectInfo(_Model):
    id: Annotated[str, Field(min_length=1, max_length=80)]
    title: str = ""
    contract: Annotated[Contract, _named(CONTRACTS)]
    approach: Annotated[Approach, BeforeValidator(_approach)]
    activity: Annotated[Activity, _named(ACTIVITIES)] = "research"
    location: Annotated[Location, _named(LOCATIONS)] = "on"
    field: str | None = None
    start: ExcelDate
    end: ExcelDate
    department: str = ""
    company: str = ""
    escalation: Fraction | None = None
    # A kind of project the card distinguishes (JAIST's 支援型): its code or label, checked
    # against the card's [kinds].
    kind: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # -- costing rules (price floors, sponsor caps, MTDC award date) --
    ip_terms: IPTerms | None = None
    sponsor_type: Annotated[str, Field(min_length=1)] | None = None
    sponsor_cap_rate: Fraction | None = None
    sponsor_cap_base: Yen | None = None
    applied_fa_rate: Fraction | None = None
    award_date: ExcelDate | None = None

    @model_validator(mode="after")
    def _period(self) -> "ProjectInfo":
        if self.end < self.start:
            raise ValueError(f"@end: a date on or after start ({self.start})")
        if self.applied_fa_rate is not None and self.sponsor_cap_rate is not None:
            raise ValueError("@applied_fa_rate: either applied_fa_rate (the rate the sponsor "
                             "pays) or sponsor_cap_rate (a cap on the institute rate), "
                             "not both")
        return self


class DirectItem(_Model):
    category: Annotated[str, Field(min_length=1)]
    amount: Yen
    fiscal_year: FiscalYear | None = None
    description: str = ""
    # One subaward over the whole award (2 CFR 200.1 MTDC): items with the same id share
    # the card's threshold across fiscal years.
    subaward: Annotated[str, Field(min_length=1, max_length=80)] | None = None

    @model_validator(mode="after")
    def _subaward_item(self) -> "DirectItem":
        if self.subaward is not None and self.category != "subaward":
            raise ValueError("@subaward: only on an item of category 'subaward' (a subaward "
                             "id groups the items of one subaward)")
        return self


RateSource = Literal["rank", "salary", "consulting", "achievement", "laureate", "day_rate",
                     "negotiated", "monthly"]


class Researcher(_Model):
    """A researcher's involvement: who, at what rate, for how long.

    Involvement is ``hours``; or ``months`` × ``effort`` (hours = annual hours × effort ×
    months ÷ 12); or ``days`` (of the card's hours per day).  ``rate_source = "monthly"``
    prices ``months`` at a monthly rate (the researcher's ``monthly_rate`` or the rank's
    ``monthly`` in the card; "△△円/月 × ○○ヶ月"); ``effort`` is then optional and only
    estimates the hours (for the FTE).
    """

    name: str = ""
    rank: str | None = None
    # A rank may be typed as the card's code, label or a common name (教授): the card
    # resolves it (RateCard.rank_code).
    rate_source: Annotated[RateSource, _named(RATE_SOURCES)] = "rank"
    hourly: PositiveYen | None = None
    salary: PositiveYen | None = None
    achievement_basis: Annotated[Literal["publications", "citations", "years"] | None,
                                 _named(ACHIEVEMENT_BASES)] = None
    publications: Annotated[int, Field(ge=0)] | None = None
    citations: Annotated[int, Field(ge=0)] | None = None
    years: Annotated[int, Field(ge=0)] | None = None
    day_rate: str | None = None
    day_rate_bound: Annotated[Literal["min", "max"], _named(DAY_RATE_BOUNDS)] = "min"
    hours: Annotated[Decimal, Field(ge=0, le=100_000, allow_inf_nan=False),
                     places(2)] | None = None
    months: Annotated[Decimal, Field(gt=0, le=600, allow_inf_nan=False), places(2)] | None = None
    effort: Annotated[Share, Field(gt=0)] | None = None
    days: Annotated[Decimal, Field(ge=0, le=20_000, allow_inf_nan=False), places(2)] | None = None
    monthly_rate: PositiveYen | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Researcher":
        given = [k for k in ("hours", "days") if getattr(self, k) is not None]
        if self.rate_source == "monthly":
            if self.months is None or given:
                raise ValueError("@months: months of involvement for rate_source 'monthly' "
                                 "(price = monthly rate × months; not hours or days)")
            if self.monthly_rate is None and self.rank is None:
                raise ValueError("@monthly_rate: a monthly rate, or a rank whose monthly "
                                 "rate the card holds, for rate_source 'monthly'")
            return self
        if self.monthly_rate is not None:
            raise ValueError("@monthly_rate: only with rate_source 'monthly'")
        if self.months is not None or self.effort is not None:
            if self.months is None or self.effort is None:
                missing = "months" if self.months is None else "effort"
                raise ValueError(f"@{missing}: both months and effort (hours = annual "
                                 "hours × effort × months ÷ 12)")
            given.append("months × effort")
        if len(given) != 1:
            raise ValueError("@hours: exactly one of hours, days, or months with effort "
                             f"(got {' and '.join(given) or 'none'})")
        needs = {"rank": ("rank",), "negotiated": ("hourly",), "day_rate": ("day_rate",),
                 "achievement": ("achievement_basis",)}
        for key in needs.get(self.rate_source, ()):
            if getattr(self, key) is None:
                raise ValueError(f"@{key}: a value for rate_source {self.rate_source!r}")
        if self.rate_source == "salary" and self.salary is None and self.rank is None:
            raise ValueError("@salary: a salary, or a rank whose salary the card holds, "
                             "for rate_source 'salary'")
        if self.rate_source == "achievement" and getattr(self, self.achievement_basis or "",
                                                         None) is None:
            raise ValueError(f"@{self.achievement_basis}: a count for achievement basis "
                             f"{self.achievement_basis!r}")
        return self


class OptionChoice(_Model):
    name: Annotated[str, Field(min_length=1)]
    amount: Yen | None = None


def _options(v: Any) -> Any:
    if isinstance(v, list):
        return [{"name": x} if isinstance(x, str) else x for x in v]
    return v


class Contribution(_Model):
    kind: Literal["researcher_hours", "equipment"]
    hours: Annotated[Decimal, Field(ge=0, le=100_000, allow_inf_nan=False),
                     places(2)] | None = None
    value: Yen | None = None
    description: str = ""

    @model_validator(mode="after")
    def _sized(self) -> "Contribution":
        if self.kind == "researcher_hours" and self.hours is None:
            raise ValueError("@hours: hours for a researcher_hours contribution")
        if self.kind == "equipment" and self.value is None:
            raise ValueError("@value: a value (yen) for an equipment contribution")
        return self


class PackageAllocation(_Model):
    name: Annotated[str, Field(min_length=1)]
    amount: Yen
    date: dt.date | None = None


class TotalTerms(_Model):
    agreed: PositiveYen
    book_as: Literal["X", "A"] | None = None
    allocations: list[PackageAllocation] = []


class Milestone(_Model):
    name: Annotated[str, Field(min_length=1)]
    amount: Yen
    achieved: bool = False


class SalesYear(_Model):
    fiscal_year: FiscalYear
    low: Yen
    base: Yen
    high: Yen

    @model_validator(mode="after")
    def _ordered(self) -> "SalesYear":
        if not (self.low <= self.base <= self.high):
            which = "low" if self.low > self.base else "high"
            raise ValueError(f"@{which}: low <= base <= high (got {self.low}, {self.base}, "
                             f"{self.high})")
        return self


class Equity(_Model):
    description: str
    shares: Annotated[int, Field(ge=0)] | None = None
    stock_options: Annotated[int, Field(ge=0)] | None = None


class Outcome(_Model):
    floor: Yen | None = None
    royalty_rate: Annotated[Fraction, Field(le=1)] = Decimal(0)
    contribution: Share = Decimal(1)
    sales: list[SalesYear] = []
    milestones: list[Milestone] = []
    lump_sum: Yen = Decimal(0)
    kpis: list[Milestone] = []
    equity: Equity | None = None
    scenario_weights: dict[Literal["low", "base", "high"], Share] | None = None

    @model_validator(mode="after")
    def _weights(self) -> "Outcome":
        if self.scenario_weights is not None:
            s = sum(self.scenario_weights.values(), Decimal(0))
            if s != 1 or len(self.scenario_weights) != 3:
                raise ValueError("@scenario_weights: weights for low, base and high that add "
                                 "up to 1")
        years = [s.fiscal_year for s in self.sales]
        if len(set(years)) != len(years):
            raise ValueError(f"@sales: one row per fiscal year (got {years})")
        return self


class ProceedsTerms(_Model):
    """What the split of proceeds needs from the project: costs repaid before any share
    (patent and licensing costs borne by the university; the card's ``cost_recovery``)."""

    costs: Yen = Decimal(0)


class TaxIntent(_Model):
    use_credit: bool = False
    partner: Annotated[str, _named(TAX_PARTNERS)] = "university"
    corporate_tax: Yen | None = None


class Project(_Model):
    project: ProjectInfo
    direct: list[DirectItem] = []
    researchers: list[Researcher] = []
    options: Annotated[list[OptionChoice], BeforeValidator(_options)] = []
    contributions: list[Contribution] = []
    total: TotalTerms | None = None
    outcome: Outcome | None = None
    tax: TaxIntent = TaxIntent()
    # Quantities the card's fees are priced by: company researchers for a 研究料, faculty,
    # m² of space or extra staff for a monthly unit fee (names are the card's).
    quantities: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")],
                     Annotated[Decimal, Field(ge=0, le=1_000_000, allow_inf_nan=False),
                               places(2)]] = {}
    proceeds: ProceedsTerms | None = None

    @model_validator(mode="after")
    def _approach_terms(self) -> "Project":
        ap = self.project.approach
        if ap == "B" and self.total is None:
            raise ValueError("@total: a [total] table with agreed = ... for approach B")
        if ap == "C" and self.outcome is None:
            raise ValueError("@outcome: an [outcome] table for approach C")
        years = months_by_fiscal_year(self.project.start, self.project.end)
        period = sum(years.values())
        for i, r in enumerate(self.researchers):
            # months × effort beyond the period would price time the project does not have
            if r.months is not None and r.months > period:
                raise ValueError(f"@researchers[{i}].months: months within the project "
                                 f"period {self.project.start} – {self.project.end} "
                                 f"({period} months)")
        for i, item in enumerate(self.direct):
            if item.fiscal_year is not None and item.fiscal_year not in years:
                raise ValueError(f"@direct[{i}].fiscal_year: a fiscal year of the project period "
                                 f"{sorted(years)}")
        return self

    @property
    def fiscal_years(self) -> dict[int, int]:
        """Months of the project period in each fiscal year."""
        return months_by_fiscal_year(self.project.start, self.project.end)


def parse_project(data: dict[str, Any], source: str = "project") -> Project:
    """Validate parsed project content (from TOML, JSON or a table row)."""
    try:
        return Project.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, source, Project) from None


def load_project(path: str | os.PathLike[str]) -> Project:
    """Load and validate a project file (``.toml`` or ``.json``).

    Refused before parsing: another suffix, a device or pipe, a file over
    :data:`~xl_pricing.tomlio.PROJECT_LIMIT`; refused after: a document nested more than
    :data:`~xl_pricing.tomlio.MAX_DEPTH` levels (see :func:`~xl_pricing.tomlio.read_document`).

    Raises:
        InputError: naming the file, key path, value and what was expected.
    """
    p = Path(path)
    if p.suffix.lower() not in (".toml", ".json"):
        raise InputError("file", str(p), "a project file ending in .toml or .json")
    return parse_project(read_document(p), str(p))
