"""The pricing engine: pure functions from (project, rate card) to a :class:`Quote`.

One module per approach — ``cost`` (X), ``stacked`` (A), ``total`` (B), ``outcome`` (C) —
plus ``allocation`` (split of proceeds), ``tax`` (R&D credit, consumption tax),
``fiscal`` (multi-year split), ``compare`` and ``backsolve``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..money import ZERO
from ..project import APPROACH_NAMES, Project
from ..rates import RateCard
from .allocation import Allocation, allocate, split
from .cost import cost_lines
from .fees import check_fee_inputs, fee_warnings, project_facts
from .outcome import outcome_lines
from .quote import LABELS, Line, Quote
from .stacked import check_costing_names, floor_by_approach, internal_view, stacked_lines
from .tax import TaxCredit, consumption_tax_line, tax_credit, tax_included
from .timecharge import involvement, resolve_rate
from .total import total_lines

__all__ = ["quote", "with_card_names", "check_names", "Quote", "Line", "LABELS", "allocate", "Allocation", "split",
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
    project = with_card_names(project, card)
    info = project.project
    check_fee_inputs(project, card)
    facts = project_facts(project, card)
    # Conditional rates (a card's cases) resolved once for this project; same card
    # provenance.
    card = card.for_project(facts)
    check_names(project, card)
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
    # fixrules: the card's price floor outside approach A, and the fee-quantity warnings
    floor, floor_warnings = floor_by_approach(project, card, lines)
    if floor is not None:
        lines.append(floor)
    warnings = [*warnings, *floor_warnings, *fee_warnings(project, card, facts)]
    tax = consumption_tax_line(lines, card, info.contract, info.start)
    if tax is not None:
        lines.append(tax)
    included = tax_included(sum((ln.amount for ln in lines), ZERO), card, info.contract,
                            info.start)
    if included is not None:
        extras = {**extras, "consumption_tax_included": int(included)}
    internal = internal_view(project, card)  # costing rules: university-only figures
    if internal:
        extras = {**extras, "internal": internal}
    return Quote(project_id=info.id, title=info.title, contract=info.contract,
                 approach=info.approach, lines=tuple(lines), rate_card=card.provenance(),
                 extras=extras, warnings=tuple(warnings))


def with_card_names(project: Project, card: RateCard) -> Project:
    """``project`` with every rank and option as the card's code: a rank typed as the
    card's label or a common name (``教授``, ``Professor``, ``ポスドク``), an option as its
    label (``データ提供``), prices exactly as its code, and
    lines, JSON and workbooks show the code.  A name the card does not know is kept, for
    :func:`check_names` to refuse.

    Example: ``with_card_names(p, jp).researchers[0].rank == "professor"`` for a project
    whose first researcher has ``rank = "教授"``.
    """
    changed = False
    researchers = []
    for r in project.researchers:
        code = card.rank_code(r.rank) if r.rank is not None else None
        if code is not None and code != r.rank:
            r = r.model_copy(update={"rank": code})
            changed = True
        researchers.append(r)
    options = []
    for o in project.options:  # an option typed as its label: the card's id
        code = card.option_code(o.name)
        if code is not None and code != o.name:
            o = o.model_copy(update={"name": code})
            changed = True
        options.append(o)
    return project.model_copy(update={"researchers": researchers, "options": options}) \
        if changed else project


def check_names(project: Project, card: RateCard) -> None:
    """Refuse what a project names that ``card`` does not have, whatever the approach.

    Every researcher's rate source (rank, salary, day rate, achievement tier ...), every
    option and the tax partner must be the card's, even where the project's own approach
    does not price them: a rank the card lacks is a typo in an X project as in an A one,
    and the workbook's other quotes would show it as an error.  Messages are those the
    approach-A pricing gives (``researchers[0].rank = 'dean': expected a rank of card
    ...``).

    Raises:
        InputError: naming the key path in the project, the value and what the card has.
    """
    for i, r in enumerate(project.researchers):
        try:
            involvement(r, card, resolve_rate(r, card))
        except InputError as exc:
            raise exc.at(f"researchers[{i}]") from None
    for i, choice in enumerate(project.options):
        try:
            card.option(choice.name)
        except InputError as exc:
            raise InputError(f"options[{i}]", choice.name, exc.expected) from None
    card.tax_rate(project.tax.partner)
    check_costing_names(project, card)


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
