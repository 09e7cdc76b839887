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
from functools import lru_cache
from typing import Any, Callable, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import coordinate_to_tuple, get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..project import Project
from ..rates import RateCard
from .styles import apply

Target = Literal["udf", "native", "officejs"]
TARGETS: tuple[Target, ...] = ("udf", "native", "officejs")

# Text typed by people that Excel would take for a formula.
_FORMULA_START = ("=", "+", "-", "@")


def bp(fraction: Decimal) -> int:
    """A fraction as whole basis points (the card allows at most 4 decimals).

    >>> bp(Decimal("0.547"))
    5470
    """
    v = fraction * 10000
    assert v == v.to_integral_value(), fraction
    return int(v)


@lru_cache(maxsize=1 << 14)
def _absolute(ref: str) -> str:
    """``B5`` → ``$B$5`` (the same few thousand cells come up in every workbook)."""
    return ("$" + "".join(c for c in ref if c.isalpha()) + "$" +
            "".join(c for c in ref if c.isdigit()))


@lru_cache(maxsize=1 << 14)
def _row_col(ref: str) -> tuple[int, int]:
    """``B5`` → ``(5, 2)``, remembered: parsed once per batch, not once per workbook."""
    return coordinate_to_tuple(ref)


def _cell(ws: Worksheet, ref: str) -> Cell:
    """The cell at ``ref`` (created when new), as ``ws[ref]`` gives it for one cell."""
    return ws.cell(*_row_col(ref))


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
    # Makes the DefinedName of (name, target); a batch shares them between its workbooks.
    defined_name: Callable[[str, str], DefinedName] = field(
        default=lambda name, target: DefinedName(name, attr_text=target), repr=False)

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
        """Define ``name`` as ``target`` (``'Sheet'!$A$1:$A$3``) made of ``cells``: what
        ``define`` does once it knows them, and how a reused sheet's names come back."""
        if name.upper() in self.folded:
            raise ValueError(f"defined name {name!r} twice")
        self.folded.add(name.upper())
        self.wb.defined_names[name] = self.defined_name(name, target)
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

def put(ws: Worksheet, ref: str, value: Any, style: str | None = None,
        number_format: str | None = None) -> Cell:
    """Write a value; text that starts like a formula is stored as text, never a formula."""
    c = _cell(ws, ref)
    c.value = value
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not getattr(
            value, "is_formula", False):
        c.data_type = "s"
        c.quotePrefix = True
    if style:
        apply(c, style)
    if number_format:
        c.number_format = number_format
    return c


class F(str):
    """A formula (text that must be written as a formula)."""

    is_formula = True


def formula(ws: Worksheet, ref: str, text: str, style: str | None = None,
            number_format: str | None = None) -> Cell:
    c = _cell(ws, ref)
    c.value = text if text.startswith("=") else "=" + text
    if style:
        apply(c, style)
    if number_format:
        c.number_format = number_format
    return c


def list_validation(ws: Worksheet, refs: str, choices: list[str] | str,
                    prompt: str | None = None) -> None:
    """A drop-down: a literal list of choices, or a defined name (written without '=')."""
    source = '"' + ",".join(choices) + '"' if isinstance(choices, list) else choices
    dv = DataValidation(type="list", formula1=source, allow_blank=True)
    dv.error = "Choose a value from the list / リストから選んでください"
    dv.errorTitle = "xl-pricing"
    if prompt:
        dv.prompt = prompt
    ws.add_data_validation(dv)
    dv.add(refs)


def number_validation(ws: Worksheet, refs: str, minimum: float = 0,
                      whole: bool = False) -> None:
    dv = DataValidation(type="whole" if whole else "decimal", operator="greaterThanOrEqual",
                        formula1=str(minimum), allow_blank=True)
    dv.error = f"A number >= {minimum} / {minimum} 以上の数値"
    dv.errorTitle = "xl-pricing"
    ws.add_data_validation(dv)
    dv.add(refs)
