"""A validated rate card and its lookups: rank, activity × location × field × date,
achievement tier, day rate, option, tax partner, allocation shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from ..errors import InputError
from ..money import Rounding, fmt_rate
from .schema import AchievementTier, DayRate, FARate, Option, Rank, RateCardModel


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
    def rank_code(self, name: str) -> str | None:
        """The card's rank code for ``name``: the code itself, the rank's ``label_ja`` or
        ``label_en`` (case-insensitive), or a common name people type
        (:data:`xl_pricing.vocabulary.RANK_ALIASES`: 教授, ポスドク, 博士課程 …) when the
        card has that rank; ``None`` when nothing matches.

        Example: ``load_card("jp-default").rank_code("教授") == "professor"``.
        """
        from ..vocabulary import RANK_ALIASES

        ranks = self.model.time_charge.ranks
        if name in ranks:
            return name
        if not isinstance(name, str) or any(ord(c) < 32 or ord(c) == 127 for c in name):
            return None  # control characters are no name typed
        t = name.strip()
        if t in ranks:
            return t
        for code, r in ranks.items():
            if t == r.label_ja or t.casefold() == r.label_en.casefold():
                return code
        alias = RANK_ALIASES.get(t, RANK_ALIASES.get(t.casefold()))
        return alias if alias in ranks else None

    def rank(self, name: str) -> Rank:
        """The rank row for ``name`` (a code or a name :meth:`rank_code` knows); unknown
        ranks list the ranks the card has."""
        code = self.rank_code(name)
        if code is None:
            known = ", ".join(self.model.time_charge.ranks)
            raise InputError("rank", name, f"a rank of card {self.id!r}: {known}")
        return self.model.time_charge.ranks[code]

    def rank_hourly(self, name: str) -> Decimal:
        """The rank table's hourly rate of ``name`` (yen per hour).

        A rank the card prices by salary only has no rank-table rate: it is refused, the
        same way a quote refuses ``rate_source = "rank"`` for it (the project must say
        ``rate_source = "salary"``, the 平均基準単価).

        Example: ``load_card("jp-default").rank_hourly("professor") == 30000``.
        """
        rank = self.rank(name)
        if rank.hourly is None:
            raise InputError("rate_source", "rank",
                             f"'salary' (rank {name!r} has only a salary in card {self.id!r})")
        return rank.hourly

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
