"""A validated rate card and its lookups: rank, activity × location × field × date,
achievement tier, day rate, option, tax partner, allocation shares, and conditional rates
(cases chosen by what the project is: :class:`Facts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from ..errors import InputError
from ..money import Rounding, div, fmt_rate, mul
from .schema import (AchievementTier, DayRate, FARate, Option, Rank, RateCardModel, RateCase,
                     When, YenCase)


@dataclass(frozen=True)
class Facts:
    """What conditions of a card are judged on: the project's direct costs (yen, all
    years), months (calendar months of the period), location, contract, kind and period."""

    direct: Decimal
    months: int
    location: str
    contract: str
    kind: str | None
    start: date
    end: date

    @property
    def direct_per_year(self) -> Decimal:
        """Direct costs per year: the total for up to 12 months, else the monthly average ×
        12 (Nagasaki judges 特定共同研究 of longer projects this way).

        >>> Facts(Decimal(24_000_000), 24, "on", "joint", None, date(2027, 4, 1),
        ...       date(2029, 3, 31)).direct_per_year
        Decimal('12000000')
        """
        if self.months <= 12:
            return self.direct
        return div(mul(self.direct, Decimal(12)), Decimal(self.months))


def holds(when: When, facts: Facts, on: date | None = None) -> bool:
    """Whether every condition of ``when`` holds for ``facts``; date conditions are judged
    on ``on`` (default: the project's start).

    >>> f = Facts(Decimal(900_000), 12, "on", "joint", None, date(2027, 4, 1),
    ...           date(2028, 3, 31))
    >>> holds(When(direct_at_most=1_000_000), f), holds(When(location="off"), f)
    (True, False)
    """
    on = on or facts.start
    checks = (
        when.direct_at_most is None or facts.direct <= when.direct_at_most,
        when.direct_above is None or facts.direct > when.direct_above,
        when.direct_per_year_at_least is None
        or facts.direct_per_year >= when.direct_per_year_at_least,
        when.location is None or facts.location in when.location,
        when.contract is None or facts.contract in when.contract,
        when.kind is None or facts.kind in when.kind,
        when.start_from is None or on >= when.start_from,
        when.start_before is None or on < when.start_before,
    )
    return all(checks)


@dataclass(frozen=True)
class Choice:
    """A rate chosen for a span of days: the rate, the days and where it came from."""

    rate: Decimal
    days: int
    source: str


def pick(cases: list[RateCase] | list[YenCase], default: Decimal, path: str, facts: Facts,
         on: date | None = None, default_source: str = "") -> tuple[Decimal, str]:
    """The first case (of the list at key ``path``) whose condition holds, else
    ``default``; with the source in words (``indirect.cases[0] (direct ≤ 1,000,000 yen)``).
    """
    for i, case in enumerate(cases):
        if holds(case.when, facts, on):
            return case.rate, f"{path}[{i}] ({case.when.describe()})"
    return default, default_source


def split_at(dates: list[date], start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut at every date inside it where a rate can change (inclusive spans).

    >>> split_at([date(2027, 7, 1)], date(2027, 4, 1), date(2028, 3, 31))
    [(datetime.date(2027, 4, 1), datetime.date(2027, 6, 30)), (datetime.date(2027, 7, 1), datetime.date(2028, 3, 31))]
    """
    cuts = sorted({d for d in dates if start < d <= end})
    spans, begin = [], start
    for d in cuts:
        spans.append((begin, d - timedelta(days=1)))
        begin = d
    spans.append((begin, end))
    return spans


@dataclass(frozen=True)
class RateCard:
    """A validated rate card with its provenance (id, version, sha256, file)."""

    model: RateCardModel
    sha256: str
    path: str
    # key → the case that chose a rate for one project (see :meth:`for_project`)
    chosen: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # the card as written, when this one has its conditional rates resolved for a project
    written: RateCardModel | None = field(default=None, compare=False, repr=False)

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
        """The card's rank code for ``name``: the code itself, the rank's ``label_ja``,
        ``label_en`` (case-insensitive) or both as the workbooks' drop-down shows them
        (``教授 / Professor``), or a common name people type
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
            if t in (r.label_ja, f"{r.label_ja} / {r.label_en}") or \
                    t.casefold() == r.label_en.casefold():
                return code  # (the workbooks' drop-down shows "教授 / Professor")
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
            if rank.salary is None:  # a rank priced by the month only
                raise InputError("rate_source", "rank", f"'monthly' (rank {name!r} has only "
                                 f"a monthly rate in card {self.id!r})")
            raise InputError("rate_source", "rank",
                             f"'salary' (rank {name!r} has only a salary in card {self.id!r})")
        return rank.hourly

    def indirect_rate(self, contract: str | None = None) -> Decimal:
        """Approach-X indirect rate, the contract-specific one where the card has it
        (without looking at conditional cases: :meth:`rates_over` does)."""
        ind = self.model.indirect
        if contract is not None and contract in ind.by_contract:
            return ind.by_contract[contract]  # type: ignore[index]
        return ind.rate

    # -- conditional rates ---------------------------------------------------------------
    def _cases(self, key: str, facts: Facts) -> tuple[list[RateCase] | list[YenCase],
                                                      str, Decimal, str]:
        """The cases of the rate called ``key``, their key path, the default rate and the
        default's key path."""
        m = self.written or self.model
        if key == "indirect":
            c = facts.contract
            if c in m.indirect.by_contract:
                return (m.indirect.cases, "indirect.cases",
                        m.indirect.by_contract[c], f"indirect.by_contract.{c}")  # type: ignore[index]
            return m.indirect.cases, "indirect.cases", m.indirect.rate, "indirect.rate"
        if key == "strategic":
            return m.strategic.cases, "strategic.cases", m.strategic.rate, "strategic.rate"
        if key == "time_charge.consulting_rate":
            tc = m.time_charge
            return (tc.consulting_cases, "time_charge.consulting_cases", tc.consulting_rate,
                    "time_charge.consulting_rate")
        if key.startswith("options."):
            self.option(key.removeprefix("options."))  # an unknown option is refused
            opt = m.options[key.removeprefix("options.")]
            return opt.cases, f"{key}.cases", opt.rate or Decimal(0), f"{key}.rate"
        raise KeyError(key)

    def rate_for(self, key: str, facts: Facts, on: date | None = None) -> tuple[Decimal, str]:
        """The rate ``key`` (``indirect``, ``strategic``, ``time_charge.consulting_rate``,
        ``options.NAME``) for a project, judged on ``on`` (default its start), and the
        card key (with the condition) that gave it.

        Example (a Fukushima-like card: 10%, 8% when direct ≤ 1,000,000 JPY):
        ``card.rate_for("indirect", facts)`` → ``(Decimal('0.08'),
        'indirect.cases[0] (direct ≤ 1,000,000 yen)')``.
        """
        cases, path, default, src = self._cases(key, facts)
        return pick(cases, default, path, facts, on, src)

    def rates_over(self, key: str, facts: Facts, start: date, end: date) -> list[Choice]:
        """The rate ``key`` over the days ``start``–``end`` (inclusive; a fiscal year's
        part of the project): one choice — the rate on ``start`` with
        ``rate_change.method = "fiscal_year"``, on the project's start with ``"at_award"``
        —, or with ``"blend_by_days"`` one per span between the dates the card's cases
        change on.

        Example: 30% until 2027-06-30, 35% from 2027-07-01, blended over FY2027 →
        [30% × 91 days, 35% × 275 days].
        """
        cases = self._cases(key, facts)[0]
        method = self.model.rate_change.method
        if method != "blend_by_days":
            rate, src = self.rate_for(key, facts, facts.start if method == "at_award"
                                      else start)
            return [Choice(rate, (end - start).days + 1, src)]
        out: list[Choice] = []
        for a, b in split_at([d for c in cases for d in c.when.dates()], start, end):
            rate, src = self.rate_for(key, facts, a)
            if out and out[-1].rate == rate and out[-1].source == src:
                out[-1] = Choice(rate, out[-1].days + (b - a).days + 1, src)
            else:
                out.append(Choice(rate, (b - a).days + 1, src))
        return out

    def kind(self, name: str | None) -> str | None:
        """A project kind as the card's code: the code itself, its Japanese or English
        label (``"支援型"``) or both as a workbook drop-down shows them (``"支援型 /
        support-type joint research"``); ``None`` stays ``None``.  A kind the card does not list is
        refused, naming the kinds it has."""
        if name is None:
            return None
        kinds = self.model.kinds
        if name in kinds:
            return name
        for code, k in kinds.items():
            # (or the workbook drop-down's "日本語 / English" entry)
            if name.strip() in (k.label_ja, k.label_en, f"{k.label_ja} / {k.label_en}"):
                return code
        known = ", ".join(f"{c} ({k.label_ja} / {k.label_en})" for c, k in kinds.items())
        raise InputError("project.kind", name, f"a project kind of card {self.id!r}: "
                         + (known or "none (the card lists no kinds)"))

    def quantities(self) -> dict[str, str]:
        """Project quantities the card prices (unit fees, fees per unit), with labels."""
        out: dict[str, str] = {}
        for f in self.model.unit_fees.values():
            for item in f.items:
                if item.quantity is not None:
                    out.setdefault(item.quantity, f"{item.label_ja} / {item.label_en}")
        for f in self.model.fees.values():
            if f.per != "project":
                out.setdefault(f.per, f"{f.label_ja} / {f.label_en}: per {f.per}")
        return out

    def for_project(self, facts: Facts) -> "RateCard":
        """This card with each conditional rate resolved for one project (at its start):
        the plain rates (``indirect.rate``, ``strategic.rate``, ``consulting_rate``, each
        rate option's ``rate``) replaced by the case that holds, and :attr:`chosen` naming
        it.  Same id, version and sha256: the card is not changed, only read for the
        project.  A card without cases is returned as it is."""
        if self.written is not None:
            return self
        m = self.model
        keys = [k for k, cases in (("indirect", m.indirect.cases),
                                   ("strategic", m.strategic.cases),
                                   ("time_charge.consulting_rate",
                                    m.time_charge.consulting_cases),
                                   *((f"options.{n}", o.cases) for n, o in m.options.items()))
                if cases]
        if not keys:
            return self
        chosen = {k: self.rate_for(k, facts) for k in keys}
        upd: dict[str, object] = {}
        if "indirect" in chosen:
            rate = chosen["indirect"][0]
            upd["indirect"] = m.indirect.model_copy(update={
                "rate": rate, "by_contract": {c: rate for c in m.indirect.by_contract}})
        if "strategic" in chosen:
            upd["strategic"] = m.strategic.model_copy(update={"rate": chosen["strategic"][0]})
        if "time_charge.consulting_rate" in chosen:
            upd["time_charge"] = m.time_charge.model_copy(update={
                "consulting_rate": chosen["time_charge.consulting_rate"][0]})
        opts = {n: o.model_copy(update={"rate": chosen[f"options.{n}"][0]})
                if f"options.{n}" in chosen else o for n, o in m.options.items()}
        if opts != m.options:
            upd["options"] = opts
        return RateCard(m.model_copy(update=upd), self.sha256, self.path,
                        tuple((k, v[1]) for k, v in chosen.items()), m)

    def chosen_by(self, key: str) -> str:
        """`` (card key and condition)`` that chose rate ``key`` for this project, or ``""``."""
        for k, v in self.chosen:
            if k == key:
                return f" ({v})"
        return ""

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

    def fa_rates_over(self, activity: str, location: str, field: str | None, start: date,
                      end: date, award: date) -> list[Choice]:
        """The F&A rate over ``start``–``end`` (a fiscal year's part of the project) by the
        card's ``rate_change.method``: the row in force on ``start`` (``fiscal_year``), on
        the project's start ``award`` (``at_award``), or — ``blend_by_days`` — each row in
        force for its days, the span cut at every row's ``effective_from`` inside it.

        Example (full-features: research/on 30%, 32% from 2028-04-01) blended over
        2027-10-01–2028-09-30 … cut at 2028-04-01.
        """
        method = self.model.rate_change.method
        days = (end - start).days + 1
        if method != "blend_by_days":
            row = self.fa_rate(activity, location, field,
                               award if method == "at_award" else start)
            return [Choice(row.rate, days, self._fa_source(row))]
        cuts = [r.effective_from for r in self.model.fa.rates
                if r.activity == activity and r.location == location
                and r.effective_from is not None]
        out: list[Choice] = []
        for a, b in split_at(cuts, start, end):
            row = self.fa_rate(activity, location, field, a)
            n = (b - a).days + 1
            if out and out[-1].rate == row.rate:
                out[-1] = Choice(row.rate, out[-1].days + n, out[-1].source)
            else:
                out.append(Choice(row.rate, n, self._fa_source(row)))
        return out

    def _fa_source(self, row: FARate) -> str:
        since = row.effective_from or self.model.card.effective_from
        return f"fa.rates {row.activity}/{row.location} from {since.isoformat()}"

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

    def option_code(self, name: str) -> str | None:
        """The card's option id for ``name``: the id itself, the option's ``label_ja``,
        ``label_en`` (case-insensitive) or both as the workbooks' drop-down shows them
        (``知的財産の共有 / IP co-ownership``); ``None`` when nothing matches.

        Example: ``load_card("jp-default").option_code("データ提供") == "data_provision"``.
        """
        options = self.model.options
        if name in options:
            return name
        if not isinstance(name, str) or any(ord(c) < 32 or ord(c) == 127 for c in name):
            return None
        t = name.strip()
        if t in options:
            return t
        for code, o in options.items():
            if t in (o.label_ja, f"{o.label_ja} / {o.label_en}") or \
                    t.casefold() == o.label_en.casefold():
                return code
        return None

    def option(self, name: str) -> Option:
        code = self.option_code(name)
        if code is None:
            known = ", ".join(self.model.options) or "none"
            raise InputError("option", name, f"an option of card {self.id!r}: {known}")
        return self.model.options[code]

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
            if r.monthly is not None:
                parts.append(f"¥{r.monthly:,}/month")
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
        return rows + self.rule_rows() + self.costing_rows()

    def rules_in_use(self) -> list[str]:
        """Key paths of the card's rules beyond flat rates that it uses (conditional cases,
        kinds, 研究料, unit fees, bases, consumption tax by component or included, a rate
        change method other than the default) — what a native-formula workbook would have
        to express to agree with the engine.

        >>> from xl_pricing import load_card
        >>> load_card("jp-default").rules_in_use(), load_card("harvard").rules_in_use()
        (['consumption_tax.prices_include_tax'], [])
        """
        m = self.model
        out = [path.rsplit(".when", 1)[0] for path, _ in m.conditions()]
        out += [f"kinds.{k}" for k in m.kinds]
        for key, spec in (("indirect", m.indirect), ("strategic", m.strategic)):
            out += [f"{key}.{k}" for k in ("base_includes", "base_excludes") if getattr(spec, k)]
        if m.fa.base_includes:
            out.append("fa.base_includes")
        ct = m.consumption_tax
        out += [f"consumption_tax.{k}" for k in ("components", "prices_include_tax",
                                                 "included_before") if getattr(ct, k)]
        out += [f"fees.{n}" for n, f in m.fees.items() if f.when is None]
        out += [f"unit_fees.{n}" for n, f in m.unit_fees.items() if f.when is None]
        if m.rate_change.method != "fiscal_year":
            out.append("rate_change.method")
        return out

    def rule_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the card's rules beyond flat rates: conditional rates,
        bases, kinds, 研究料, unit fees, consumption tax and rate changes (none for a card
        that has none of them)."""
        m = self.model
        rows: list[tuple[str, str]] = []
        for key, spec in (("indirect", m.indirect), ("strategic", m.strategic)):
            if spec.base_includes or spec.base_excludes:
                parts = ["direct"] + (["less " + ", ".join(spec.base_excludes)]
                                      if spec.base_excludes else [])
                parts += [f"+ {p}" for p in spec.base_includes]
                rows.append((f"{key} base", " ".join(parts)))
        if m.fa.base_includes:
            rows.append(("F&A base", f"{m.fa.base} + {', '.join(m.fa.base_includes)}"))
        cased = [("indirect", m.indirect.cases), ("strategic", m.strategic.cases),
                 ("time_charge.consulting", m.time_charge.consulting_cases),
                 *((f"options.{n}", o.cases) for n, o in m.options.items())]
        for key, cases in cased:
            for i, c in enumerate(cases):
                shown = (fmt_rate(c.rate) if key != "time_charge.consulting"
                         else f"¥{c.rate:,} per hour")
                rows.append((f"{key} case {i + 1}", f"{shown} when {c.when.describe()}"
                             + (f" ({c.note})" if c.note else "")))
        for code, k in m.kinds.items():
            rows.append((f"kind {code}", f"{k.label_ja} / {k.label_en}"))
        for name, f in m.fees.items():
            text = f"¥{f.amount:,} per {f.period_months} months per {f.per}"
            if f.short_months is not None:
                text += f"; ¥{f.short_amount:,} for ≤ {f.short_months} months"
            elif f.proration == "monthly":
                text += ", prorated by month"
            if f.when is not None:
                text += f"; when {f.when.describe()}"
            rows.append((f"fee {name} ({f.label_ja})", text))
        for name, u in m.unit_fees.items():
            items = []
            for it in u.items:
                t = f"{it.label_en} ¥{it.amount:,}"
                if it.quantity is not None:
                    t += f" for {it.included.normalize():f} {it.quantity}"
                    if it.step_amount:
                        t += (f", {'±' if it.below else '+'}¥{it.step_amount:,} per "
                              f"{it.step.normalize():f}")
                items.append(t)
            rows.append((f"unit fee {name} ({u.label_ja})", "; ".join(items) + " a month"))
        ct = m.consumption_tax
        # (the rate and contracts alone are shown as before: rows only for the new keys)
        if ct.applies_to and ct.rate and (ct.components or ct.prices_include_tax
                                          or ct.included_before):
            text = f"{fmt_rate(ct.rate)} on {', '.join(ct.applies_to)}"
            if ct.components:
                text += f" (of {', '.join(ct.components)})"
            if ct.prices_include_tax:
                text += ", prices include it"
            elif ct.included_before is not None:
                text += (f", prices include it for projects starting before "
                         f"{ct.included_before.isoformat()}")
            rows.append(("consumption tax", text))
        if any(cases for _, cases in cased):
            rows.append(("rate changes", m.rate_change.method))
        return rows

    def costing_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the costing rules: FTE hours, subaward thresholds,
        sponsor caps, price floors and the split-of-proceeds rules (tiers, multiples, cost
        recovery); none for a card without them."""
        m = self.model
        rows: list[tuple[str, str]] = []
        if m.time_charge.fte_hours is not None:
            rows.append(("FTE hours a year / 年間FTE時間", f"{m.time_charge.fte_hours}"))
        for t in m.fa.subaward_thresholds:
            rows.append((f"subaward in MTDC from {t.effective_from.isoformat()} / 再委託の算入上限",
                         f"¥{t.amount:,} per subaward over the award"))
        for name, c in m.fa.sponsor_caps.items():
            caps = ([f"rate {fmt_rate(c.rate)}"] if c.rate is not None else []) + (
                [f"base ≤ ¥{c.base:,}"] if c.base is not None else [])
            rows.append((f"sponsor cap {name} / 助成元の上限", ", ".join(caps)))
        fl = m.floor
        if fl is not None:
            for terms, k in fl.multiples.items():
                rows.append((f"price floor {terms} / 最低価格",
                             f"{fmt_rate(k)} of full cost ({' + '.join(fl.full_cost)}), "
                             f"{'lifted' if fl.action == 'lift' else 'warned'}"
                             + (" (default terms)" if terms == fl.default_terms else "")))
            if fl.warn_below is not None:
                rows.append(("warn below / 警告", f"{fmt_rate(fl.warn_below)} of full cost"
                             + (f" ({fl.approval})" if fl.approval else "")))
        al = m.allocation
        for comp, tiers in al.tiers.items():
            bands = []
            for t in tiers:
                upto = f"up to ¥{t.up_to:,}" if t.up_to is not None else "above"
                bands.append(f"{upto}: " + ", ".join(f"{p} {fmt_rate(v)}"
                                                     for p, v in t.shares.items() if v))
            rows.append((f"split tiers {comp} / 段階配分", "; ".join(bands)))
        for comp, mu in al.multiples.items():
            rows.append((f"split multiple {comp} / 倍率配分", f"{mu.party} = {mu.k} × {mu.of}"))
        if al.cost_recovery is not None:
            rows.append(("cost recovery first / 費用の先取り",
                         f"from {', '.join(al.cost_recovery.components)} to "
                         f"{al.cost_recovery.to}"))
        return rows
