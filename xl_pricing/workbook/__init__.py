"""Standard workbooks generated from a rate card (and optionally a project) with openpyxl.

``build_workbook(card, project, target)`` makes the workbook; ``build(...)`` writes it.
One generator serves the three targets (``udf``, ``native``, ``officejs``): the layout is
the same, only the computed cells are spelled differently (see ``book.py``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Callable

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ..errors import InputError
from ..project import Project, fiscal_year, parse_project
from ..rates import RateCard, resolve_card
from ..validation import check_against_card
from .book import TARGETS, Book, Target
from .inputs import fa_resolution, project_sheet, rates_sheet
from .quotes import calc_sheet, quote_a, quote_b, quote_c, quote_x
from .reuse import SheetReuse, same
from .save import workbook_bytes, write_atomic
from .styles import register
from .views import (allocation_sheet, compare_sheet, form_current_sheet, form_new_sheet,
                    industrial_sheet)

__all__ = ["build_workbook", "build", "workbook_bytes", "TARGETS", "template_project",
           "output_name", "SheetReuse"]


def template_project(card: RateCard) -> Project:
    """The empty project a template is built for: one fiscal year from the card's date."""
    fy = fiscal_year(card.model.card.effective_from)
    return parse_project({"project": {
        "id": "NEW", "title": "", "contract": "joint", "approach": "A",
        "start": date(fy, 4, 1), "end": date(fy + 1, 3, 31)}}, "template")


def card_reference(card: RateCard) -> str:
    """How the XLP_ functions name the card: its id when the id finds it, else its path."""
    try:
        if resolve_card(card.id).resolve() == Path(card.path).resolve():
            return card.id
    except InputError:
        pass
    return str(Path(card.path).resolve())


def build_workbook(card: RateCard, project: Project | None = None,
                   target: Target = "udf", reuse: SheetReuse | None = None) -> Workbook:
    """The standard workbook for ``card`` (pre-filled for ``project`` when given).

    ``reuse`` (a batch's) lends sheets built for an earlier workbook that come out the same
    here: Rates (same card, target and F&A rates of the fiscal years) and the two forms.
    The workbook's bytes are the same with it or without it, but a lent sheet is empty in
    memory (its XML goes straight into the file): with ``reuse``, only write the workbook.
    """
    if target not in TARGETS:
        raise InputError("--target", target, "udf, native or officejs")
    if project is not None:  # what quote refuses, no workbook shows (one check, every path)
        check_against_card(project, card)
    wb = Workbook()
    register(wb)
    if reuse is not None:
        reuse.adopt(wb)
    book = Book(wb=wb, card=card, project=project or template_project(card), target=target,
                card_ref=card_reference(card), is_template=project is None)
    if reuse is not None:
        book.defined_name = reuse.defined_name
    wb.remove(wb.active)
    project_sheet(book)
    # Rates first, so formulas can point at its cells.  A reused sheet's key names all it
    # is made of (see each builder's docstring): the card itself, target, card reference.
    made_of = (same(card), target, book.card_ref)
    fa_keys = fa_resolution(card, book.project)
    _sheet(book, reuse, ("Rates", *made_of, tuple(map(tuple, fa_keys))),
           lambda: rates_sheet(book, fa_keys))
    years = list(book.project.fiscal_years)
    calc = calc_sheet(book, years)
    x = quote_x(book, calc)
    a = quote_a(book, calc)
    b = quote_b(book, calc, x, a)
    c = quote_c(book, calc, x)
    compare_sheet(book)
    _sheet(book, reuse, ("Form (current)", *made_of), lambda: form_current_sheet(book))
    _sheet(book, reuse, ("Form (new)", *made_of), lambda: form_new_sheet(book))
    allocation_sheet(book)
    industrial_sheet(book, {"X": x, "A": a, "B": b, "C": c}[book.project.project.approach])
    # Sheet order: inputs first, then the quotes and views, the card, the hidden Calc last.
    for name in ("Rates", "Calc"):
        wb.move_sheet(name, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(name))
    wb.active = 0
    return wb


def _sheet(book: Book, reuse: SheetReuse | None, key: tuple, build: Callable[[], Worksheet]
           ) -> Worksheet:
    return build() if reuse is None else reuse.sheet(book, key, build)


def output_name(card: RateCard, project: Project | None, target: Target) -> str:
    stem = card.id if project is None else f"{card.id}-{project.project.id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
    return f"{safe}-{target}.xlsx"


def build(card: RateCard, project: Project | None, target: Target, out_dir: Path,
          force: bool = False) -> Path:
    """Build and write one workbook into ``out_dir``; returns its path."""
    wb = build_workbook(card, project, target)
    return write_atomic(Path(out_dir) / output_name(card, project, target),
                        workbook_bytes(wb), force=force)


def expected_names(project: Project, card: RateCard) -> dict[str, Decimal]:
    """The engine's amount for each named line cell of the project's approach sheet, and
    the approach total (``<approach>_Total``) and ``Total``.

    Named line cells not listed here must be zero: they are lines the engine does not have
    for this project (a spare researcher row, no discount, no consumption tax ...).
    """
    from ..pricing import quote
    from .quotes import slug

    q = quote(project, card)
    ap = project.project.approach
    out: dict[str, Decimal] = {}

    def add(name: str, amount: Decimal) -> None:
        out[name] = out.get(name, Decimal(0)) + amount

    def build_up_names(kind: str, lines) -> list[str]:
        """Names of X or A lines on their own sheet, in the engine's line order."""
        counters: dict[str, int] = {}
        names = []
        for ln in lines:
            if ln.component == "direct":
                names.append(f"direct_{slug(ln.detail)}")
            elif ln.component in ("time_charge", "option"):
                counters[ln.component] = counters.get(ln.component, 0) + 1
                names.append(f"{ln.component}_{counters[ln.component]}")
            else:
                names.append(ln.component)
        return names

    if ap in ("X", "A"):
        for name, ln in zip(build_up_names(ap, q.lines), q.lines):
            add(f"{ap}_{name}", ln.amount)
    elif ap == "B":
        book_as = project.total.book_as if project.total else None
        names = build_up_names(book_as or "B", q.lines)
        for name, ln in zip(names, q.lines):
            if ln.component in ("direct", "indirect", "value_added", "consumption_tax") \
                    or book_as is None:
                add(f"B_{name}", ln.amount)
            else:
                add(f"B_{book_as.lower()}_{name}", ln.amount)
    else:
        out_terms = project.outcome
        assert out_terms is not None
        achieved = {"milestone": [i + 1 for i, m in enumerate(out_terms.milestones)
                                  if m.achieved],
                    "kpi": [i + 1 for i, m in enumerate(out_terms.kpis) if m.achieved]}
        seen = {"milestone": 0, "kpi": 0}
        floor_lines = [ln for ln in q.lines if ln.source.startswith("floor (approach X)")]
        for name, ln in zip(build_up_names("X", floor_lines), floor_lines):
            add(f"C_x_{name}", ln.amount)
        for ln in q.lines:
            if ln in floor_lines:
                continue
            if ln.component in seen:
                idx = achieved[ln.component][seen[ln.component]]
                seen[ln.component] += 1
                add(f"C_{ln.component}_{idx}", ln.amount)
            else:
                add(f"C_{ln.component}", ln.amount)
    out[f"{ap}_Total"] = q.total
    out["Total"] = q.total
    return out
