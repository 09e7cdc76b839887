"""Back-solve: the time-charge rate that prices a project at a target total.

The total is a non-decreasing step function of the rate (every line is rounded), so the
search is over whole multiples of ``step`` (1 yen/h by default): the largest rate whose total
does not exceed the target.  When rounding makes the target unreachable exactly, the
residual (target − achieved total) is reported rather than hidden — unlike a rounded
multiplier that can silently miss a cap.

Researchers are numbered from 1, as in project keys typed in Excel (``researchers.1.hours``)
and in every message; a solved rate below a rank's standard carries the warning a quote
gives (:func:`~xl_pricing.pricing.timecharge.floor_warning`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from ..errors import InputError
from ..money import mul
from ..project import Project, Researcher
from ..rates import RateCard


@dataclass(frozen=True)
class BackSolve:
    """Result of a back-solve: the rate, the total it gives and what is left to the target."""

    target: Decimal
    rate: Decimal
    total: Decimal
    residual: Decimal
    researchers: tuple[int, ...]  # numbered from 1
    warnings: tuple[str, ...] = ()

    @property
    def exact(self) -> bool:
        return self.residual == 0

    def to_dict(self) -> dict[str, object]:
        return {"target": int(self.target), "rate": float(self.rate),
                "total": int(self.total), "residual": int(self.residual),
                "exact": self.exact, "researchers": list(self.researchers),
                "warnings": list(self.warnings)}


def largest_at_most(f: Callable[[int], Decimal], target: Decimal, lo: int = 0) -> int:
    """Largest integer k >= lo with f(k) <= target, for non-decreasing f (bisection).

    Raises InputError when even f(lo) exceeds the target.
    """
    if f(lo) > target:
        raise InputError("target", target, f"a total >= {f(lo):,} yen, the price at rate 0")
    hi = max(lo + 1, 1)
    while f(hi) <= target:  # exponential search for an upper bound
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def with_rate(project: Project, rate: Decimal, which: tuple[int, ...]) -> Project:
    """The project with researchers ``which`` (numbered from 1) at a negotiated hourly
    ``rate``."""
    researchers = [r.model_copy(update={"rate_source": "negotiated", "hourly": rate})
                   if i in which else r for i, r in enumerate(project.researchers, start=1)]
    return project.model_copy(update={"researchers": researchers})


def backsolve_rate(project: Project, card: RateCard, target: Decimal,
                   researcher: int | None = None, step: Decimal = Decimal(1)) -> BackSolve:
    """The hourly rate that prices ``project`` at (or just below) ``target`` yen.

    Args:
        project: an approach-A (or C/B-booked-as-A) project with researchers.
        card: the rate card.
        target: the total to reach (yen).
        researcher: number (from 1) of the one researcher whose rate is solved; None = one
            uniform rate for every researcher.
        step: rate granularity in yen/h (1 by default).

    Example: one researcher, 100 h, direct 1,000,000 on ``jp-default`` (F&A 30% of direct
    + time charge, strategic 10% of direct): total = 1,400,000 + 130 × rate, so a target of
    5,300,000 gives 30,000 yen/h exactly, and 5,300,050 gives 30,000 with a residual of 50.
    """
    from . import quote

    if not project.researchers:
        raise InputError("researchers", [], "at least one researcher whose rate can be solved")
    if researcher is not None and not 1 <= researcher <= len(project.researchers):
        raise InputError("researcher", researcher, researchers_expected(project))
    if step <= 0:
        raise InputError("step", step, "a rate step in yen/h > 0")
    if project.project.approach == "X":
        raise InputError("project.approach", "X",
                         "an approach that prices time (A, or B/C built on A)")
    which = tuple(range(1, len(project.researchers) + 1)) if researcher is None \
        else (researcher,)

    def total_at(k: int) -> Decimal:
        return quote(with_rate(project, mul(step, Decimal(k)), which), card).total

    k = largest_at_most(total_at, target)
    rate = mul(step, Decimal(k))
    achieved = total_at(k)
    return BackSolve(target, rate, achieved, target - achieved, which,
                     floor_warnings(project, card, rate, which))


def researchers_expected(project: Project, label: str = "researchers") -> str:
    """What a researcher number must be, naming the researchers there are:
    ``a researcher number from 1 to 2 (numbering starts at 1; researchers: 1 (Prof. Sato),
    2)``; the CLI passes ``label`` in the display language (``研究者 / researchers``)."""
    n = len(project.researchers)
    names = ", ".join(f"{i} ({r.name})" if r.name else str(i)
                      for i, r in enumerate(project.researchers, start=1))
    return f"a researcher number from 1 to {n} (numbering starts at 1; {label}: {names})"


def floor_warnings(project: Project, card: RateCard, rate: Decimal,
                   which: tuple[int, ...]) -> tuple[str, ...]:
    """The quote's warning for each solved researcher whose rank's standard is above
    ``rate`` (the solved rate is a negotiated rate)."""
    from .timecharge import Rate, floor_warning

    out = []
    for i in which:
        r = project.researchers[i - 1]
        solved = r.model_copy(update={"rate_source": "negotiated", "hourly": rate})
        w = floor_warning(solved, Rate(rate, "hour", "back-solved"), card, i)
        if w is not None:
            out.append(w)
    return tuple(out)


def backsolve_time_charge(project: Project, card: RateCard, target: Decimal) -> BackSolve:
    """The time-charge total that prices ``project`` at (or just below) ``target`` yen.

    The researchers are replaced by one negotiated time-charge line (1 hour at the solved
    amount), so the answer is what the company would pay for the researchers' commitment
    in total, whatever the split between them.  ``rate`` in the result is that amount.
    """
    if project.project.approach == "X":
        raise InputError("project.approach", "X",
                         "an approach that prices time (A, or B/C built on A)")
    lump = project.model_copy(update={"researchers": [
        project.researchers[0].model_copy(update={
            "name": "time charge (total)", "rate_source": "negotiated", "hours": Decimal(1),
            "days": None, "months": None, "effort": None})
        if project.researchers else _lump_researcher()]})
    res = backsolve_rate(lump, card, target, researcher=1)
    return BackSolve(target, res.rate, res.total, res.residual, ())


def _lump_researcher() -> Researcher:
    return Researcher(name="time charge (total)", rate_source="negotiated",
                      hourly=Decimal(1), hours=Decimal(1))
