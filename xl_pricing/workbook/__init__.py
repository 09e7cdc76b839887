"""Standard workbooks generated from a rate card (and optionally a project) with openpyxl.

``build_workbook(card, project, target)`` makes the workbook; ``build(...)`` writes it.
One generator serves the three targets (``udf``, ``native``, ``officejs``): the layout is
the same, only the computed cells are spelled differently (see ``book.py``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import BaseModel

from ..errors import InputError
from ..project import Project, fiscal_year, parse_project
from ..rates import RateCard, resolve_card
from ..files import refuse_inputs
from ..validation import check_against_card
from .book import TARGETS, Book, Target
from .inputs import (TEMPLATE_REACH, TEMPLATE_YEARS, fa_resolution, project_sheet,
                     rates_sheet)
from .quotes import calc_sheet, quote_a, quote_b, quote_c, quote_x
from .save import workbook_bytes, write_atomic
from .styles import register
from .views import (
    allocation_sheet,
    compare_sheet,
    form_current_sheet,
    form_new_sheet,
    industrial_sheet,
)

__all__ = ["build_workbook", "build", "workbook_bytes", "write_atomic", "TARGETS",
           "template_project", "output_name", "check_text", "project_texts",
           "visible"]

MAX_TEXT = 32_767  # characters Excel keeps in one cell
# Characters a workbook cannot hold: openpyxl's control characters, and the code points
# XML 1.0 has no place for (openpyxl without lxml would write them into a broken file).
_NOT_XML = re.compile("[\ufffe\uffff\ud800-\udfff]")


def template_project(card: RateCard) -> Project:
    """The empty project a template is built for: the first whole fiscal year in which
    the card is in force (a card effective 2023-03-29 gives FY2023, April to March)."""
    effective = card.model.card.effective_from
    fy = fiscal_year(effective)
    if date(fy, 4, 1) < effective:
        fy += 1
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


def project_texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text in a project model, with its field path (``direct[1].category``), as the
    project's own messages name fields."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from project_texts(getattr(value, name),
                                     f"{path}.{name}" if path else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from project_texts(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from project_texts(item, f"{path}.{k}")


def visible(text: str) -> str:
    """``text`` with the characters a workbook cannot hold written as escapes, so that it
    can be shown in a message or a cell (a batch summary's list of errors).

    >>> visible("a\\x00b\\ufffe")
    'a\\\\x00b\\\\ufffe'
    """
    shown = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)


def check_text(project: Project) -> None:
    """Refuse text a workbook cannot hold, naming the project field.

    Raises:
        InputError: a text field with a control character (NUL, vertical tab ...; tab, line
            feed and carriage return are fine), a code point XML cannot carry, or more than
            32,767 characters (Excel's limit for a cell).  The value is shown with the
            character escaped (``\\x0b``), so the message stays readable.

    >>> check_text(parse_project({"project": {"id": "P", "title": "a\\x0bb", "contract": "joint",
    ...     "approach": "X", "start": "2027-04-01", "end": "2028-03-31"}}, "t"))
    Traceback (most recent call last):
    ...
    xl_pricing.errors.InputError: project.title = 'a\\x0bb': expected text without control characters (NUL, vertical tab ...) or U+FFFE/U+FFFF
    """
    for field, text in project_texts(project, ""):
        if ILLEGAL_CHARACTERS_RE.search(text) or _NOT_XML.search(text):
            raise InputError(field, visible(text), "text without control characters (NUL, "
                             "vertical tab ...) or U+FFFE/U+FFFF")
        if len(text) > MAX_TEXT:
            raise InputError(field, f"{text[:40]}... ({len(text):,} characters)",
                             f"text of at most {MAX_TEXT:,} characters (Excel's limit)")


def build_workbook(card: RateCard, project: Project | None = None,
                   target: Target = "udf") -> Workbook:
    """The standard workbook for ``card`` (pre-filled for ``project`` when given).

    Raises:
        InputError: an unknown target, or project text a workbook cannot hold (the field
            is named: ``project.title``, ``direct.1.category`` ...).
    """
    if target not in TARGETS:
        raise InputError("target", target, "udf, native or officejs")
    if project is not None:  # what quote refuses, no workbook shows (one check, every path)
        check_against_card(project, card)
        check_text(project)
    wb = Workbook()
    register(wb)
    book = Book(wb=wb, card=card, project=project or template_project(card), target=target,
                card_ref=card_reference(card), is_template=project is None)
    wb.remove(wb.active)
    project_sheet(book)
    # Rates first, so formulas can point at its cells.
    years = list(book.project.fiscal_years)
    if book.is_template:  # columns that follow Start and End (see project_sheet)
        years = [years[0] + k for k in range(TEMPLATE_YEARS)]
        fa_keys = fa_resolution(card, book.project,
                                [years[0] + k for k in range(TEMPLATE_REACH)])
    else:
        fa_keys = fa_resolution(card, book.project)
    rates_sheet(book, fa_keys)
    calc = calc_sheet(book, years)
    x = quote_x(book, calc)
    a = quote_a(book, calc)
    b = quote_b(book, calc, x, a)
    c = quote_c(book, calc, x)
    compare_sheet(book)
    form_current_sheet(book)
    form_new_sheet(book)
    allocation_sheet(book)
    industrial_sheet(book, {"X": x, "A": a, "B": b, "C": c})
    # Sheet order: inputs first, then the quotes and views, the card, the hidden Calc last.
    for name in ("Internal", "Rates", "Calc"):  # (Internal: a sponsor cap, internal.py)
        if name not in wb.sheetnames:
            continue
        wb.move_sheet(name, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(name))
    wb.active = 0
    return wb


_MAX_STEM = 120  # characters of a file name taken from ids (file systems allow 255 bytes)


def output_name(card: RateCard, project: Project | None, target: Target) -> str:
    """The workbook's file name: ``<card>-<project id>-<target>.xlsx``, made safe.

    Only letters, digits, ``-``, ``_`` and single dots are kept (no path separator, no
    ``..``, no leading dot); a very long id is cut and a short hash of it added.

    >>> output_name(type("C", (), {"id": "jp"})(), None, "udf")
    'jp-udf.xlsx'
    """
    stem = card.id if project is None else f"{card.id}-{project.project.id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
    safe = re.sub(r"\.{2,}", "_", safe).lstrip(".") or "_"
    if len(safe) > _MAX_STEM:
        digest = hashlib.sha256(stem.encode()).hexdigest()[:10]
        safe = f"{safe[:_MAX_STEM - 11]}_{digest}"
    return f"{safe}-{target}.xlsx"


def build(card: RateCard, project: Project | None, target: Target, out_dir: Path,
          force: bool = False, field: str = "output") -> Path:
    """Build and write one workbook into ``out_dir``; returns its path.

    ``force`` replaces an existing file (keeping its permissions); ``field`` is how the
    caller names the output in messages (the CLI: ``--out``).

    Raises:
        OutputExists: the file exists and ``force`` is false.
        InputError: bad project text, or a folder that cannot be written.
    """
    wb = build_workbook(card, project, target)
    path = Path(out_dir) / output_name(card, project, target)
    refuse_inputs([path], [card.path], field)  # a card named like the output stays a card
    return write_atomic(path,
                        workbook_bytes(wb), force=force, field=field)
