"""The pricing engine: pure functions from (project, rate card) to a :class:`Quote`.

One module per approach — ``cost`` (X), ``stacked`` (A), ``total`` (B), ``outcome`` (C) —
plus ``allocation`` (split of proceeds), ``tax`` (R&D credit, consumption tax),
``fiscal`` (multi-year split), ``compare`` and ``backsolve``.
"""

from __future__ import annotations

from typing import Any

from ..project import APPROACH_NAMES, Project
from ..rates import RateCard
from .allocation import Allocation, allocate, split
from .cost import cost_lines
from .outcome import outcome_lines
from .quote import LABELS, Line, Quote
from .stacked import stacked_lines
from .tax import TaxCredit, consumption_tax_line, tax_credit
from .total import total_lines

__all__ = ["quote", "Quote", "Line", "LABELS", "allocate", "Allocation", "split",
           "tax_credit", "TaxCredit", "quote_to_dict"]


def quote(project: Project, card: RateCard) -> Quote:
    """Price ``project`` by its approach with ``card``.

    Raises:
        InputError: anything the card cannot price (unknown rank, no F&A rate for the
            activity/location, agreed total below direct, ...), naming the field and value.

    Example::

        >>> from xl_pricing import load_card, load_project
        >>> q = quote(load_project("templates/projects/b-total-package.toml"), load_card())
        >>> int(q.total)
        10000000
    """
    info = project.project
    card.tax_rate(project.tax.partner)  # a partner the card does not know is a typo
    extras: dict[str, Any] = {}
    warnings: list[str] = []
    if info.approach == "X":
        lines = cost_lines(project, card)
    elif info.approach == "A":
        lines, warnings = stacked_lines(project, card)
    elif info.approach == "B":
        lines, extras, warnings = total_lines(project, card)
    else:
        lines, extras = outcome_lines(project, card)
    tax = consumption_tax_line(lines, card, info.contract)
    if tax is not None:
        lines.append(tax)
    return Quote(project_id=info.id, title=info.title, contract=info.contract,
                 approach=info.approach, lines=tuple(lines), rate_card=card.provenance(),
                 extras=extras, warnings=tuple(warnings))


def quote_to_dict(q: Quote, project: Project, card: RateCard) -> dict[str, Any]:
    """The JSON form of a quote: ``total`` and line ``amount`` are integer yen.

    Adds the split of proceeds and, when the project intends to use it, the R&D tax credit.
    """
    out: dict[str, Any] = {
        "project": q.project_id,
        "title": q.title,
        "contract": q.contract,
        "approach": q.approach,
        "approach_name": APPROACH_NAMES[q.approach],
        "currency": "JPY",
        "total": int(q.total),
        "lines": [ln.to_dict() for ln in q.lines],
        "by_year": {str(y): int(a) for y, a in q.by_year().items()},
        "rate_card": dict(q.rate_card),
        "rounding": card.rounding.describe(),
        "warnings": list(q.warnings),
    }
    out.update(q.extras)
    out["allocation"] = allocate(q, card).to_dict()
    if project.tax.use_credit:
        out["tax_credit"] = tax_credit(q.pre_tax_total(), card, project.tax.partner,
                                       project.tax.corporate_tax).to_dict()
    return out
