"""A quote is plain immutable data: lines with provenance, and the rate card that made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from ..money import ZERO, yen_int
from ..vocabulary import DIRECT_CATEGORIES

# Component → (Japanese label, English label).  Labels say "price" terms (料金), not budget
# or accounting terms.
LABELS: dict[str, tuple[str, str]] = {
    "direct": ("直接経費", "Direct costs"),
    "time_charge": ("タイムチャージ", "Time charge"),
    "indirect": ("間接経費", "Indirect costs"),
    "fa": ("F&A（施設・管理経費）", "F&A costs"),
    "strategic": ("戦略的産学連携経費", "Strategic collaboration expense"),
    "option": ("オプション", "Option"),
    "discount": ("企業の貢献による減額", "Company-contribution discount"),
    "value_added": ("知の付加価値", "Value added of knowledge"),
    "floor": ("最低価格", "Floor price"),
    "lump_sum": ("一時金（ランプサム）", "Lump sum"),
    "milestone": ("マイルストーン", "Milestone payment"),
    "kpi": ("KPI成功報酬", "KPI success fee"),
    "royalty": ("ランニングロイヤリティ（期待値）", "Running royalty (expected value)"),
    "consumption_tax": ("消費税", "Consumption tax"),
    "research_fee": ("研究料", "Research fee"),
    "unit_fee": ("月額利用料", "Recurring unit fee"),
    # costing rules: a split-of-proceeds row (costs repaid before any share), never a line
    "cost_recovery": ("費用回収（配分前）", "Cost recovery (before shares)"),
}


@dataclass(frozen=True)
class Line:
    """One priced line.

    Attributes:
        component: machine name (``direct``, ``time_charge``, ``fa`` ...; see ``LABELS``).
        amount: rounded yen (Decimal); the quote's total is the sum of the line amounts.
        base: what the rate applied to (yen, or hours for a time charge), when there is one.
        rate: the fraction or hourly rate applied, when there is a single one.
        source: where the rate came from, in words (card key, method, reference).
        detail: which item (researcher name, cost category, option, milestone).
        by_year: rounded amount per fiscal year; the amounts add up to ``amount``.
        fte: for a time-charge line, the researcher's full-time equivalent (hours ÷ the
            card's FTE hours per year of the period, 4 decimals), when the hours are known.
        unit: what ``base`` counts and ``rate`` is per (yen): a time charge's ``"h"``,
            ``"day"`` or ``"month"``; a unit fee's ``"month"`` (base = months, rate = yen a
            month); a 研究料's ``"researcher_year"`` / ``"researcher_period"`` (base =
            company researchers, rate = yen per researcher and year or period of N
            months), ``"project_year"`` / ``"project_period"`` (once per project) or
            ``"quantity_year"`` / ``"quantity_period"``; ``None`` for rate lines (``rate``
            a fraction).
        detail_ja: the detail as ``label_ja`` shows it, when it differs (an option's
            Japanese name); ``detail`` stays the English name.
    """

    component: str
    amount: Decimal
    base: Decimal | None = None
    rate: Decimal | None = None
    source: str = ""
    detail: str = ""
    by_year: tuple[tuple[int, Decimal], ...] = ()
    fte: Decimal | None = None
    unit: str | None = None
    detail_ja: str = ""  # the detail in Japanese where it has one (an option's label_ja)

    @property
    def label_ja(self) -> str:
        ja = LABELS[self.component][0]
        detail = self.detail_ja or self.detail
        if self.component == "direct" and detail in DIRECT_CATEGORIES:
            detail = DIRECT_CATEGORIES[detail][0]   # 直接経費（消耗品費）
        return f"{ja}（{detail}）" if detail else ja

    @property
    def label_en(self) -> str:
        en = LABELS[self.component][1]
        return f"{en} ({self.detail})" if self.detail else en

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "label_ja": self.label_ja,
            "label_en": self.label_en,
            "detail": self.detail,
            "amount": yen_int(self.amount),
            "base": _num(self.base),
            "rate": _num(self.rate),
            "source": self.source,
            "by_year": {str(y): yen_int(a) for y, a in self.by_year},
            **({"fte": float(self.fte)} if self.fte is not None else {}),
            **({"unit": self.unit} if self.unit is not None else {}),
        }


def _num(x: Decimal | None) -> int | float | None:
    if x is None:
        return None
    return int(x) if x == x.to_integral_value() else float(x)


def yearly_line(component: str, by_year: Mapping[int, Decimal], **kw: Any) -> Line:
    """A line whose amount is the sum of its (already rounded) yearly amounts."""
    years = tuple(sorted(by_year.items()))
    return Line(component, sum((a for _, a in years), ZERO), by_year=years, **kw)


@dataclass(frozen=True)
class Quote:
    """The price of one project by one approach, with the rate card's provenance."""

    project_id: str
    title: str
    contract: str
    approach: str
    lines: tuple[Line, ...]
    rate_card: Mapping[str, str]
    extras: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        """Sum of the rounded lines — by construction the printed parts add up to it."""
        return sum((ln.amount for ln in self.lines), ZERO)

    def amount_of(self, component: str) -> Decimal:
        """Sum of the lines of one component (zero when absent)."""
        return sum((ln.amount for ln in self.lines if ln.component == component), ZERO)

    def pre_tax_total(self) -> Decimal:
        return self.total - self.amount_of("consumption_tax")

    def by_year(self) -> dict[int, Decimal]:
        """Total per fiscal year, for lines that carry a yearly split."""
        out: dict[int, Decimal] = {}
        for ln in self.lines:
            for y, a in ln.by_year:
                out[y] = out.get(y, ZERO) + a
        return dict(sorted(out.items()))
