"""Standard workbooks generated from a rate card (and optionally a project) with openpyxl.

``build_workbook(card, project, target)`` makes the workbook; ``build(...)`` writes it.
One generator serves the three targets (``udf``, ``native``, ``officejs``): the layout is
the same, only the computed cells are spelled differently (see ``book.py``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook

from ..errors import InputError
from ..project import Project, fiscal_year, parse_project
from ..rates import RateCard, resolve_card
from .book import TARGETS, Book, Target
from .inputs import project_sheet, rates_sheet
from .quotes import calc_sheet, quote_a, quote_b, quote_c, quote_x
from .save import workbook_bytes, write_atomic
from .styles import register
from .views import allocation_sheet, compare_sheet, forms_sheets, industrial_sheet

__all__ = ["build_workbook", "build", "workbook_bytes", "TARGETS", "template_project",
           "output_name"]


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
                   target: Target = "udf") -> Workbook:
    """The standard workbook for ``card`` (pre-filled for ``project`` when given)."""
    if target not in TARGETS:
        raise InputError("--target", target, "udf, native or officejs")
    wb = Workbook()
    register(wb)
    book = Book(wb=wb, card=card, project=project or template_project(card), target=target,
                card_ref=card_reference(card), is_template=project is None)
    wb.remove(wb.active)
    project_sheet(book)
    years = list(book.project.fiscal_years)
    calc = calc_sheet(book, years)
    x = quote_x(book, calc)
    a = quote_a(book, calc)
    b = quote_b(book, calc, x, a)
    c = quote_c(book, calc, x)
    compare_sheet(book)
    forms_sheets(book)
    allocation_sheet(book)
    industrial_sheet(book, {"X": x, "A": a, "B": b, "C": c}[book.project.project.approach])
    rates_sheet(book)
    # Sheet order: inputs first, the hidden working sheet last.
    wb.move_sheet("Calc", offset=len(wb.sheetnames) - 1 - wb.sheetnames.index("Calc"))
    wb.active = 0
    return wb


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
