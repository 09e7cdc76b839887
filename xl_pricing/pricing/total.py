"""Approach B — total amount agreed (総額方式).

University and company agree a total T; no build-up is required.  The price's indirect
part is T − direct, and the implied ratio (T − direct) ÷ direct may exceed the customary
30% (handbook: T = 10,000,000, direct = 5,000,000 → indirect 5,000,000, 100%).  T below
direct is an error.  A package total for several projects is allocated to sub-projects as
they are decided (the Daikin model), tracking what remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..errors import InputError
from ..money import div, fmt_rate, total
from ..project import PackageAllocation, Project
from ..rates import RateCard
from .cost import cost_lines, direct_lines
from .quote import Line
from .stacked import stacked_lines


def total_indirect(agreed_total: Decimal, direct: Decimal) -> Decimal:
    """Indirect (price) under the total method: agreed total − direct.

    Raises:
        InputError: when the total is below direct costs.

    Example (handbook):
        >>> total_indirect(Decimal(10_000_000), Decimal(5_000_000))
        Decimal('5000000')
    """
    if direct < 0:
        raise InputError("direct", direct, "direct costs in yen >= 0")
    if agreed_total < direct:
        raise InputError("total", agreed_total,
                         f"an agreed total >= direct costs ({direct:,} yen)")
    return agreed_total - direct


def total_ratio(agreed_total: Decimal, direct: Decimal) -> Decimal:
    """Implied indirect ratio (agreed total − direct) ÷ direct, as a fraction.

    Example (handbook): 10,000,000 agreed on 5,000,000 direct is 1 (100%).
        >>> total_ratio(Decimal(10_000_000), Decimal(5_000_000))
        Decimal('1')
    """
    ind = total_indirect(agreed_total, direct)
    if direct == 0:
        raise InputError("direct", direct, "direct costs > 0 for a ratio")
    return div(ind, direct)


@dataclass(frozen=True)
class Package:
    """A package total allocated to sub-projects as they are decided."""

    total: Decimal
    allocations: tuple[PackageAllocation, ...]

    @property
    def allocated(self) -> Decimal:
        return total(a.amount for a in self.allocations)

    @property
    def remaining(self) -> Decimal:
        return self.total - self.allocated

    def allocate(self, name: str, amount: Decimal, on: date | None = None) -> "Package":
        """A new package with one more allocation; refuses to allocate beyond the total."""
        if amount < 0:
            raise InputError("amount", amount, "an allocation in yen >= 0")
        if amount > self.remaining:
            raise InputError("amount", amount,
                             f"at most the remaining {self.remaining:,} yen of the package")
        return Package(self.total, (*self.allocations,
                                    PackageAllocation(name=name, amount=amount, date=on)))

    def to_dict(self) -> dict[str, object]:
        return {"total": int(self.total), "allocated": int(self.allocated),
                "remaining": int(self.remaining),
                "allocations": [{"name": a.name, "amount": int(a.amount),
                                 "date": a.date.isoformat() if a.date else None}
                                for a in self.allocations]}


def package(project: Project) -> Package:
    """The project's package, validated: allocations may not exceed the agreed total."""
    assert project.total is not None
    pkg = Package(project.total.agreed, ())
    for i, a in enumerate(project.total.allocations):
        try:
            pkg = pkg.allocate(a.name, a.amount, a.date)
        except InputError as exc:
            raise InputError(f"total.allocations[{i}].amount", a.amount, exc.expected) from None
    return pkg


def total_lines(project: Project, card: RateCard) -> tuple[list[Line], dict[str, object],
                                                           list[str]]:
    """Approach-B lines before consumption tax, extras (ratio, package) and warnings.

    Without ``book_as`` the lines are direct + (T − direct).  With ``book_as = "X"`` or
    ``"A"`` the agreed total is booked with that build-up and the rest is shown as the
    value added of knowledge (知の付加価値), which may not be negative.
    """
    assert project.total is not None
    agreed = project.total.agreed
    warnings: list[str] = []
    if project.total.book_as is None:
        lines = direct_lines(project)
        d = total(ln.amount for ln in lines)
        try:
            ind = total_indirect(agreed, d)
        except InputError as exc:
            raise InputError("total.agreed", agreed, exc.expected) from None
        ratio = div(ind, d) if d else None
        lines.append(Line("indirect", ind, base=d, rate=ratio,
                          source="agreed total − direct (総額方式)"))
    else:
        if project.total.book_as == "A":
            lines, warnings = stacked_lines(project, card)
        else:
            lines = cost_lines(project, card)
        # A booking keeps the build-up's lines but not their yearly split: the agreed total
        # is not itself split by year.
        lines = [Line(ln.component, ln.amount, ln.base, ln.rate, ln.source, ln.detail)
                 for ln in lines]
        build = total(ln.amount for ln in lines)
        if agreed < build:
            raise InputError("total.agreed", agreed,
                             f"an agreed total >= the approach-{project.total.book_as} "
                             f"build-up ({build:,} yen) it is booked with")
        lines.append(Line("value_added", agreed - build, base=build,
                          source=f"agreed total − approach-{project.total.book_as} build-up"))
        d = total(ln.amount for ln in lines if ln.component == "direct")
        ratio = div(agreed - d, d) if d else None
    extras: dict[str, object] = {
        "agreed_total": int(agreed),
        "direct": int(d),
        "implied_indirect_ratio": None if ratio is None else float(ratio),
        "implied_indirect_ratio_text": None if ratio is None else fmt_rate(ratio),
        "book_as": project.total.book_as,
        "package": package(project).to_dict(),
    }
    return lines, extras, warnings
