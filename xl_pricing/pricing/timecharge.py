"""Time charge: the price of researchers' committed time (タイムチャージ).

time charge = hourly rate × involvement hours (handbook, "研究者の関与時間への対価").
The hourly rate comes from one of the card's sources; the hours are given directly, as
days, or as months × effort.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Literal

from ..errors import InputError
from ..money import Rounding, div, mul
from ..project import Researcher
from ..rates import RateCard


CENTI = Decimal("0.01")


def effort_hours(annual_hours: Decimal, effort: Decimal, months: Decimal) -> Decimal:
    """Involvement hours from effort: annual_hours × effort × months ÷ 12, rounded down to
    0.01 h.

    The handbook's "△△ yen/month × ○○ months" form: monthly hours are estimated as annual
    working hours × effort rate ÷ 12.  Hours are kept to 0.01 h so that every time charge
    is a whole-yen rate times an exact number of hours (in Excel too).

    Args:
        annual_hours: total annual working hours (hours/year), e.g. 1,860.
        effort: share of working time on the project (fraction, 0.1 = 10%).
        months: months of involvement.

    Example:
        >>> effort_hours(Decimal(1860), Decimal("0.1"), Decimal(12))
        Decimal('186.00')
        >>> effort_hours(Decimal(1000), Decimal("0.1"), Decimal(1))   # 8.333... h
        Decimal('8.33')
    """
    if annual_hours < 0 or effort < 0 or months < 0:
        raise InputError("annual_hours/effort/months", (annual_hours, effort, months),
                         "numbers >= 0")
    return div(mul(annual_hours, effort, months), Decimal(12)).quantize(CENTI, ROUND_DOWN)


def standard_rate(annual_salary: Decimal, annual_hours: Decimal) -> Decimal:
    """平均基準単価: hourly rate = annual salary of the rank ÷ annual working hours (yen/h),
    exact (a quote rounds it to the yen by the card's rule).

    The handbook warns that this cost-based rate is often below 10,000 yen/h even for a
    professor, which underprices the university's knowledge.

    Example:
        >>> standard_rate(Decimal(10_500_000), Decimal(1860)).quantize(Decimal("0.01"))
        Decimal('5645.16')
    """
    if annual_hours <= 0:
        raise InputError("annual_hours", annual_hours, "a number of hours > 0")
    if annual_salary < 0:
        raise InputError("annual_salary", annual_salary, "a salary in yen >= 0")
    return div(annual_salary, annual_hours)


def time_charge(rate: Decimal, hours: Decimal) -> Decimal:
    """Time charge = hourly rate (yen/h) × hours, exact (round it with the card's rule).

    Example:
        >>> time_charge(Decimal(50000), Decimal(12))
        Decimal('600000')
    """
    if rate < 0:
        raise InputError("rate", rate, "an hourly rate in yen >= 0")
    if hours < 0:
        raise InputError("hours", hours, "a number of hours >= 0")
    return mul(rate, hours)


def time_charges(rates: list[Decimal], hours: list[Decimal], rounding: Rounding
                 ) -> list[Decimal]:
    """One rounded time charge per row: rates[i] × hours[i] (a single rate or a single
    number of hours applies to every row).  Pricing a table in one call is what makes a
    worksheet fast: each Excel function call is a round trip to Python.

    Example:
        >>> time_charges([Decimal(50000), Decimal(30000)], [Decimal(12), Decimal("0.5")],
        ...              Rounding())
        [Decimal('600000'), Decimal('15000')]
    """
    n = max(len(rates), len(hours))
    if {len(rates), len(hours)} - {1, n}:
        raise InputError("hours", f"{len(hours)} rows",
                         f"as many rows as the rates ({len(rates)}), or one value")
    rates = rates * n if len(rates) == 1 else rates
    hours = hours * n if len(hours) == 1 else hours
    return [rounding.apply(time_charge(r, h)) for r, h in zip(rates, hours)]


def day_rate_in_yen(amount: Decimal, jpy_per_unit: Decimal) -> Decimal:
    """A day rate in a foreign currency converted to yen per day (exact; quotes round it to
    the yen).

    Example: Cambridge professor £1,250/day at 160 JPY/GBP:
        >>> day_rate_in_yen(Decimal(1250), Decimal(160))
        Decimal('200000')
    """
    return mul(amount, jpy_per_unit)


FTE_QUANTUM = Decimal("0.0001")


def fte(hours: Decimal, fte_hours: Decimal, months: Decimal = Decimal(12)) -> Decimal:
    """Full-time equivalent of ``hours`` over ``months``: hours ÷ (fte_hours × months ÷ 12),
    rounded half up to 4 decimals (0.0001 FTE).

    UK full economic costing (TRAC) counts 1,650 working hours a year (220 days × 7.5 h):
    an investigator on 220 h over a year is 0.133 FTE.  Over a two-year project 440 h is
    the same 0.1333 FTE (the FTE is per year of the period).

    Args:
        hours: involvement hours over the period.
        fte_hours: hours of one full-time year (the card's ``fte_hours`` or
            ``annual_hours``).
        months: length of the period in months (default 12).

    Example:
        >>> fte(Decimal(220), Decimal(1650))
        Decimal('0.1333')
        >>> fte(Decimal(440), Decimal(1650), Decimal(24))
        Decimal('0.1333')
    """
    if hours < 0:
        raise InputError("hours", hours, "a number of hours >= 0")
    if fte_hours <= 0 or months <= 0:
        raise InputError("fte_hours/months", (fte_hours, months), "numbers > 0")
    return div(mul(hours, Decimal(12)), mul(fte_hours, months)).quantize(
        FTE_QUANTUM, ROUND_HALF_UP)


def monthly_charge(rate: Decimal, months: Decimal) -> Decimal:
    """Time charge by the month = monthly rate (yen/month) × months, exact (round it with
    the card's rule).  Handbook: "△△万円/月×〇〇ヶ月" (the monthly involvement may be
    estimated as annual hours × effort; the price is the monthly rate × the months).

    Example: 400,000 yen a month for 6 months:
        >>> monthly_charge(Decimal(400_000), Decimal(6))
        Decimal('2400000')
    """
    if rate < 0:
        raise InputError("monthly_rate", rate, "a monthly rate in yen >= 0")
    if months < 0:
        raise InputError("months", months, "a number of months >= 0")
    return mul(rate, months)


@dataclass(frozen=True)
class Rate:
    """A researcher's rate: whole ``price`` yen per ``unit`` (hour, day or month), and its
    source.

    Rates are whole yen, as institutions publish them: a salary-based rate or a converted
    day rate is rounded to the yen by the card's rule.  A day-rate researcher whose
    involvement is given in days is charged per day; a monthly-rate researcher per month;
    otherwise per hour.
    """

    price: Decimal
    unit: Literal["hour", "day", "month"]
    source: str


def resolve_rate(r: Researcher, card: RateCard) -> Rate:
    """The rate for a researcher from the source the project names.

    Sources: ``rank`` (the card's rank table), ``salary`` (平均基準単価: salary ÷ annual
    hours), ``consulting`` (学術指導 rate), ``achievement`` (tiers by publications,
    citations or years), ``laureate``, ``day_rate`` (an overseas reference converted with the
    card's exchange rate), ``negotiated`` (an explicit rate: standards are a floor, there is
    no cap), ``monthly`` (the researcher's ``monthly_rate`` or the rank's ``monthly`` in the
    card, per month).
    """
    tc = card.model.time_charge
    src = r.rate_source
    to_yen = card.rate_rounding
    if src == "rank":
        return Rate(card.rank_hourly(r.rank or ""), "hour", f"{card.id}: rank table, {r.rank}")
    if src == "salary":
        salary = r.salary
        where = "salary given"
        if salary is None:
            rank = card.rank(r.rank or "")
            if rank.salary is None:
                raise InputError("salary", InputError.MISSING,
                                 f"a salary (rank {r.rank!r} has none in card {card.id!r})")
            salary, where = rank.salary, f"salary of rank {r.rank}"
        return Rate(to_yen.apply(standard_rate(salary, tc.annual_hours)), "hour",
                    f"{card.id}: 平均基準単価 = {where} ÷ {tc.annual_hours} h/year")
    if src == "consulting":
        return Rate(tc.consulting_rate, "hour", f"{card.id}: academic-consulting rate"
                    + card.chosen_by("time_charge.consulting_rate"))
    if src == "achievement":
        basis = r.achievement_basis or ""
        value = getattr(r, basis)
        tier = card.achievement_rate(basis, value)
        return Rate(tier.hourly, "hour",
                    f"{card.id}: achievement tier {basis} >= {tier.min} ({value})")
    if src == "laureate":
        if tc.laureate is None:
            raise InputError("rate_source", "laureate",
                             f"a source the card has (card {card.id!r} has no laureate tier)")
        return Rate(tc.laureate.hourly, "hour", f"{card.id}: {tc.laureate.label}")
    if src == "day_rate":
        ref = card.day_rate(r.day_rate or "")
        amount = ref.min if r.day_rate_bound == "min" else ref.max
        fx = card.exchange_rate(ref.currency)
        per_day = to_yen.apply(day_rate_in_yen(amount, fx))
        where = f"{card.id}: day rate {ref.id} {ref.currency} {amount:,}/day × {fx}"
        if r.days is not None:
            return Rate(per_day, "day", where)
        return Rate(to_yen.apply(div(per_day, tc.hours_per_day)), "hour",
                    f"{where} ÷ {tc.hours_per_day} h/day")
    if src == "monthly":
        if r.monthly_rate is not None:
            return Rate(r.monthly_rate, "month", "monthly rate given (月額)")
        rank = card.rank(r.rank or "")
        if rank.monthly is None:
            raise InputError("monthly_rate", InputError.MISSING,
                             f"a monthly rate (rank {r.rank!r} has none in card {card.id!r})")
        return Rate(rank.monthly, "month", f"{card.id}: time_charge.ranks.{r.rank}.monthly "
                                           "(月額単価)")
    assert r.hourly is not None  # validated by the project model
    return Rate(r.hourly, "hour", "negotiated rate")


def involvement(r: Researcher, card: RateCard, rate: Rate) -> Decimal:
    """Quantity in the rate's unit: days for a per-day rate, months for a monthly rate;
    otherwise hours — ``hours``, ``days`` × hours per day, or annual hours × effort × months
    ÷ 12 (to 0.01 h)."""
    tc = card.model.time_charge
    if rate.unit == "month":
        assert r.months is not None
        return r.months
    if rate.unit == "day":
        assert r.days is not None
        return r.days
    if r.hours is not None:
        return r.hours
    if r.days is not None:
        return mul(r.days, tc.hours_per_day)
    assert r.months is not None and r.effort is not None
    return effort_hours(tc.annual_hours, r.effort, r.months)


def involvement_hours(r: Researcher, card: RateCard) -> Decimal | None:
    """The researcher's hours, whatever the rate's unit: ``hours``, ``days`` × hours per
    day, or annual hours × effort × months ÷ 12; ``None`` for months without an effort
    (a monthly rate says nothing about hours)."""
    tc = card.model.time_charge
    if r.hours is not None:
        return r.hours
    if r.days is not None:
        return mul(r.days, tc.hours_per_day)
    if r.months is not None and r.effort is not None:
        return effort_hours(tc.annual_hours, r.effort, r.months)
    return None


def researcher_fte(r: Researcher, card: RateCard, months: int) -> Decimal | None:
    """The FTE of a researcher's hours over a period of ``months``: hours ÷ (the card's
    ``fte_hours``, default ``annual_hours``, × months ÷ 12), to 0.0001 (:func:`fte`)."""
    hours = involvement_hours(r, card)
    if hours is None:
        return None
    tc = card.model.time_charge
    return fte(hours, tc.fte_hours or tc.annual_hours, Decimal(months))


def floor_warning(r: Researcher, rate: Rate, card: RateCard, number: int | None = None
                  ) -> str | None:
    """A warning when a negotiated rate is below the rank's standard rate (a floor).

    ``number`` is the researcher's position, counted from 1, which the warning names with
    the researcher's name.  The text is English, carrying its Japanese
    (:class:`~xl_pricing.vocabulary.Said`).

    Example: "researcher 1 (Prof. Sato): negotiated rate 20,000 yen/h is below the
    professor standard of 30,000 yen/h (standards are a floor)".
    """
    from ..vocabulary import Said, researcher_words

    if r.rate_source != "negotiated" or r.rank is None:
        return None
    code = card.rank_code(r.rank)
    rank = card.model.time_charge.ranks.get(code) if code is not None else None
    if rank is None or rank.hourly is None or rate.price >= rank.hourly:
        return None
    if number is None:
        who_ja, who_en = f"研究者 {r.name or r.rank!r}", f"researcher {r.name or r.rank!r}"
    else:
        who_ja, who_en = researcher_words(number, r.name)
    return Said(f"{who_en}: negotiated rate {rate.price:,} yen/h is below the {code} "
                f"standard of {rank.hourly:,} yen/h (standards are a floor)",
                f"{who_ja}: 交渉単価 {rate.price:,} 円/時間 は{rank.label_ja}の標準単価 "
                f"{rank.hourly:,} 円/時間 を下回っています（標準単価は下限です）")
