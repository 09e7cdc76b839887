"""The builder's context: one workbook, one card, one target — and how a computed cell is
written for each target.

Targets:
* ``native`` — built-in Excel functions only (Excel 2007 set: no XLOOKUP, no structured
  references), for people without the add-in and for LibreOffice.  Every money cell is an
  exact integer product divided once: rates enter as basis points (0.547 → 5470), hours as
  integers in 0.0001 h, so ``ROUNDDOWN(base*5470/10000,0)`` floors exactly as the engine.
* ``udf`` — the pricing rules are ``XLP_`` function calls (desktop Excel with xlwings).
* ``officejs`` — the same calls in the form Excel saves xlwings Server custom functions in:
  ``_xldudf_XLP_NAME(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.cell import coordinate_from_string, coordinate_to_tuple
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..errors import InputError
from ..project import Project
from ..rates import RateCard

Target = Literal["udf", "native", "officejs"]
TARGETS: tuple[Target, ...] = ("udf", "native", "officejs")

# Text typed by people that Excel would take for a formula.
FORMULA_START = ("=", "+", "-", "@")


def bp(fraction: Decimal) -> int:
    """A fraction as whole basis points (the card allows at most 4 decimals).

    >>> bp(Decimal("0.547"))
    5470
    """
    v = fraction * 10000
    assert v == v.to_integral_value(), fraction
    return int(v)


def _absolute(ref: str) -> str:
    """``B5`` → ``$B$5``."""
    column, row = coordinate_from_string(ref)
    return f"${column}${row}"


def _cell(ws: Worksheet, ref: str) -> Cell:
    """The cell at ``ref`` (created when new), as ``ws[ref]`` gives it for one cell."""
    return ws.cell(*coordinate_to_tuple(ref))


def date_literal(d: Any) -> str:
    """Excel: the date ``d`` as a formula, ``DATE(2027,7,1)`` (no serial: readable and
    independent of the workbook's 1900/1904 date system)."""
    return f"DATE({d.year},{d.month},{d.day})"


def col(n: int) -> str:
    return get_column_letter(n)


def a1(row: int, column: int, absolute: bool = False) -> str:
    d = "$" if absolute else ""
    return f"{d}{col(column)}{d}{row}"


@dataclass
class Book:
    """Everything a sheet builder needs: the workbook, the card, the project, the target."""

    wb: Workbook
    card: RateCard
    project: Project
    target: Target
    card_ref: str
    is_template: bool
    names: dict[str, str] = field(default_factory=dict)
    cells: dict[str, list[str]] = field(default_factory=dict)
    folded: set[str] = field(default_factory=set)  # the names upper-cased
    checks: list[str] = field(default_factory=list)  # input check cells (checks.py)
    rows: dict[str, int] = field(default_factory=dict)  # rows of each Project-sheet table

    # -- cells and names ----------------------------------------------------------------
    def define(self, name: str, ws: Worksheet, ref: str) -> str:
        """Define a workbook-level name for ``ref`` on ``ws`` (absolute); returns the name."""
        if name.upper() in self.folded:  # Excel names ignore case
            raise ValueError(f"defined name {name!r} twice")
        absolute = ":".join(_absolute(p) for p in ref.split(":"))
        target = f"{quote_sheetname(ws.title)}!{absolute}"
        cells = [f"{quote_sheetname(ws.title)}!{c.coordinate}"
                 for row in ws[ref] for c in (row if isinstance(row, tuple) else (row,))] \
            if ":" in ref else [f"{quote_sheetname(ws.title)}!{ref}"]
        return self.add_name(name, target, cells)

    def add_name(self, name: str, target: str, cells: list[str]) -> str:
        """Define ``name`` as ``target`` (``'Sheet'!$A$1:$A$3``) made of ``cells``."""
        if name.upper() in self.folded:
            raise ValueError(f"defined name {name!r} twice")
        self.folded.add(name.upper())
        self.wb.defined_names[name] = DefinedName(name, attr_text=target)
        self.names[name] = target
        self.cells[name] = cells
        return name

    def cell(self, name: str, n: int) -> str:
        """The n-th cell (1-based) of a named input range, as a direct reference.

        Formulas point at the cell itself rather than ``INDEX(name, n)``: a change to one
        input then recalculates only what depends on it, and people can follow the link.
        """
        return self.cells[name][n - 1]

    # -- formulas -------------------------------------------------------------------------
    @property
    def native(self) -> bool:
        return self.target == "native"

    def fn(self, name: str, *args: Any) -> str:
        """A call of an XLP_ function, spelled for the target (udf / officejs)."""
        assert not self.native, name
        spelled = f"_xldudf_{name}" if self.target == "officejs" else name
        return f"{spelled}({','.join('' if a is None else str(a) for a in args)})"

    def rnd(self, numerator: str, denominator: int | str, unit: int | None = None,
            rule: str | None = None) -> str:
        """Round numerator ÷ denominator by the card's rule to its unit (native Excel).

        With integer numerator and denominator the single division is correctly rounded
        in floating point, so the floor (or half-up, or ceiling) is exact.
        """
        unit = self.card.model.rounding.unit if unit is None else unit
        rule = rule or self.card.model.rounding.rule
        fn = {"down": "ROUNDDOWN", "half_up": "ROUND", "up": "ROUNDUP"}[rule]
        den = denominator if unit == 1 else (
            denominator * unit if isinstance(denominator, int) else f"{denominator}*{unit}")
        body = f"{fn}(({numerator})/{den},0)"
        return body if unit == 1 else f"{body}*{unit}"

    def rnd_rate(self, numerator: str, denominator: int | str) -> str:
        """Round to a whole-yen rate (the card's rule at a 1-yen unit)."""
        return self.rnd(numerator, denominator, unit=1)


# -- writing cells ------------------------------------------------------------------------

def looks_like_formula(text: str) -> bool:
    """Whether Excel would take ``text``, typed into a cell, for a formula.

    >>> looks_like_formula("-1 Prof"), looks_like_formula("Prof")
    (True, False)
    """
    return text.startswith(FORMULA_START)


def put(ws: Worksheet, ref: str, value: Any, style: str | None = None,
        number_format: str | None = None) -> Cell:
    """Write a value (never a formula: see ``formula``), styled.

    Text is always a text cell; text that starts like a formula (``= + - @``) also gets
    ``quotePrefix``, so it stays text when a person edits the cell.  The prefix is set
    after the style, which would reset it.

    Raises:
        InputError: text openpyxl cannot store (control characters such as NUL); the
            builder checks a project's text first (``check_text``), so this names the cell.
    """
    c = _cell(ws, ref)
    try:
        c.value = value
    except IllegalCharacterError:
        raise InputError(f"{ws.title}!{ref}", value, "text without control characters "
                         "(NUL, vertical tab ...)") from None
    if style:
        c.style = style
    if number_format:
        c.number_format = number_format
    if isinstance(value, str):
        c.data_type = "s"  # (openpyxl takes text starting with "=" for a formula)
        if looks_like_formula(value):
            c.quotePrefix = True
    return c


def formula(ws: Worksheet, ref: str, text: str, style: str | None = None,
            number_format: str | None = None) -> Cell:
    """Write a formula the builder made (never text from an input: inputs are referenced)."""
    c = _cell(ws, ref)
    c.value = text if text.startswith("=") else "=" + text
    if style:
        c.style = style
    if number_format:
        c.number_format = number_format
    return c


ERROR_TITLE = "入力エラー / Input error"


def _stopping(dv: DataValidation, message: str) -> DataValidation:
    """Make ``dv`` refuse a wrong entry (style stop) with a Japanese and English message."""
    dv.showErrorMessage = True
    dv.errorStyle = "stop"
    dv.errorTitle = ERROR_TITLE
    dv.error = message
    return dv


def list_validation(ws: Worksheet, refs: str, choices: list[str] | str,
                    prompt: str | None = None) -> None:
    """A drop-down that refuses other entries: a literal list of choices, or a defined name
    (written without '=').  Excel compares list entries ignoring case, so codes are also
    checked with EXACT by a check cell (``checks.py``)."""
    source = '"' + ",".join(choices) + '"' if isinstance(choices, list) else choices
    dv = DataValidation(type="list", formula1=source, allow_blank=True)
    shown = ", ".join(choices) if isinstance(choices, list) else "the list"
    _stopping(dv, f"リストから選んでください / Choose a value from the list: {shown}"[:255])
    if prompt:
        dv.prompt = prompt
    ws.add_data_validation(dv)
    dv.add(refs)


def number_validation(ws: Worksheet, refs: str, minimum: float = 0,
                      whole: bool = False, maximum: float | None = None,
                      above: bool = False) -> None:
    """A number validation that refuses other entries: ``>= minimum`` (``> minimum`` when
    ``above``), up to ``maximum`` when given; whole numbers when ``whole``."""
    low = f"{minimum:g}"
    if maximum is not None:
        dv = DataValidation(type="whole" if whole else "decimal", operator="between",
                            formula1=low, formula2=f"{maximum:g}", allow_blank=True)
        ja, en = f"{low} 以上 {maximum:g} 以下の数値", f"a number between {low} and {maximum:g}"
    else:
        op = "greaterThan" if above else "greaterThanOrEqual"
        sym, word = (">", "より大きい") if above else (">=", "以上の")
        dv = DataValidation(type="whole" if whole else "decimal", operator=op,
                            formula1=low, allow_blank=True)
        ja, en = f"{low} {word}数値", f"a number {sym} {low}"
    if whole:
        ja, en = ja.replace("数値", "整数"), en.replace("a number", "a whole number")
    _stopping(dv, f"{ja} / {en}")
    ws.add_data_validation(dv)
    dv.add(refs)
