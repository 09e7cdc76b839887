"""Recalculate an .xlsx workbook without Excel: one entry point, engines others maintain.

Engines (``engine="auto"`` picks the first that applies):

- **formulon** (PyPI ``formulon``, an Excel 365 calculation engine compiled to
  WebAssembly) for workbooks whose formulas use only Excel's own functions: the ``native``
  standard workbooks and an office's own workbooks.  Measured on the standard quote
  workbook: 30-40 ms to load and recalculate, a few ms to recalculate after changing an
  input; the first workbook in a process pays about 1.5 s to compile the engine.
- **formulas** (PyPI ``formulas``) with every ``XLP_`` function of :mod:`xl_pricing.udfs`
  registered (``formulas.get_functions()`` + ``wrap_func``) under its desktop name
  (``XLP_TIMECHARGE``) and the name Excel saves for the Office.js add-in
  (``_xldudf_XLP_TIMECHARGE``): the ``udf`` and ``officejs`` workbooks.  Its compiled
  model is reused through its public ``calculate(inputs=..., outputs=...)``.
- **libreoffice** (``engine="libreoffice"`` only): headless LibreOffice, the independent
  check (:mod:`xl_pricing.libreoffice`); inputs are written into a temporary copy.

The workbook file is only read, never written.  It is checked first
(:func:`xl_pricing.xlsx.check_workbook`: not a workbook, damaged, too big -> one message).

Usage (what ``xl-pricing recalc BOOK --set Hours=20`` does)::

    from xl_pricing.recalc import Recalculator, parse_inputs, recalculate
    recalculate("quote.xlsx")                        # {"Total": 7000000, ...}
    book = Recalculator("quote.xlsx")                # load once
    book.values(parse_inputs(["Hours=20"]))          # same workbook, new inputs
    book.values({"Sheet1!B2": 12})                   # a cell reference works too

Each call's inputs replace the previous call's: cells not given hold the workbook's own
values.  An input is checked against the cell's data validation (a list, a whole or
decimal number) and may not replace a formula unless ``override=True``.

How the XLP_ functions see their arguments under ``formulas`` (what xlwings' converters
would hand them): a single cell a scalar, a one-row or one-column range a list, a bigger
range a list of lists, an empty cell ``None``, numbers plain ``int``/``float``; the
options of :data:`xl_pricing.udfs.CONVERTERS` (``ndim``, ``dict``) are honoured.
``formulas`` passes an argument left out between commas as 0, which is not what Excel
passes a UDF: such a call is refused with its cell rather than computed wrongly.

Errors: :class:`RecalcError` (an :class:`~xl_pricing.errors.InputError`, so the CLI exits
with code 2), one line per problem naming the sheet, the cell and the reason.  An XLP_
function's bad input makes its cell ``#VALUE!`` as in Excel; its message is reported
with the cell (:attr:`Recalculation.errors`; :meth:`Recalculator.values` raises it unless
``strict=False``).

A :class:`Recalculator` is not thread-safe: use one per thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import inspect
import io
import math
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import (get_column_letter, range_boundaries)

from . import cells, xlsx
from .errors import InputError

__all__ = ["CellProblem", "ENGINES", "OFFICE_JS_PREFIX", "RecalcError", "Recalculation",
           "Recalculator", "formula_problems", "frame_rows", "parse_inputs", "parse_value",
           "recalculate", "register_udfs"]

ENGINES = ("auto", "formulon", "formulas", "libreoffice")
OFFICE_JS_PREFIX = "_XLDUDF_"  # Excel saves Office.js function XLP.FA as _xldudf_XLP_FA
XLP_PREFIX = "XLP_"  # the functions of xl_pricing.udfs (its PREFIX)
_XLP_CALL = re.compile(rb"(?i)xlp_")  # cheap pre-check of the sheet XML (see _calls_xlp)


# -- problems and the exception that reports them ---------------------------------------

@dataclass(frozen=True)
class CellProblem:
    """Why one cell (or one input) could not be evaluated.

    >>> str(CellProblem("Sheet1", "B8", "unknown function FOO"))
    'Sheet1!B8: unknown function FOO'
    """

    sheet: str | None
    cell: str | None
    reason: str

    @property
    def where(self) -> str:
        """``Sheet1!B8``, ``'My sheet'!B8``, a defined name, or ``""``."""
        if self.sheet is None:
            return self.cell or ""
        return f"{_quote_sheet(self.sheet)}!{self.cell}"

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason


class RecalcError(InputError):
    """A workbook that cannot be recalculated: one line per problem, each naming the
    sheet, the cell and the reason (and the file as ``source``).

    >>> print(RecalcError([CellProblem("Calc", "A1", "circular reference")], "b.xlsx"))
    b.xlsx: Calc!A1: circular reference
    """

    def __init__(self, problems: list[CellProblem], source: str | None = None):
        self.problems = problems
        first = problems[0]
        super().__init__(first.where or "workbook", InputError.MISSING, first.reason, source)

    @property
    def message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        lines = [f"{where}{p}" for p in self.problems[:8]]
        if len(self.problems) > 8:
            lines.append(f"... and {len(self.problems) - 8} more problems")
        return "\n".join(lines)

    def in_source(self, source: str) -> "RecalcError":
        return self if self.source else RecalcError(self.problems, source)


@dataclass
class Recalculation:
    """The outcome of one recalculation.

    ``values`` maps every workbook-level defined name (as spelt in the workbook) to its
    value: a scalar for one cell, a list of lists for a range, Excel errors as text
    (``"#VALUE!"``), whole numbers as ``int``.  ``errors`` lists the cells an XLP_
    function turned into an Excel error, with the function's message.
    """

    values: dict[str, Any]
    errors: list[CellProblem] = field(default_factory=list)


# -- references ------------------------------------------------------------------------------

_A1 = re.compile(r"\$?[A-Z]{1,3}\$?\d+(:\$?[A-Z]{1,3}\$?\d+)?#?|\$?[A-Z]{1,3}:\$?[A-Z]{1,3}"
                 r"|\$?\d+:\$?\d+", re.IGNORECASE)


def _quote_sheet(sheet: str) -> str:
    """A sheet name as a formula writes it.

    >>> _quote_sheet("Sheet1"), _quote_sheet("Bob's costs")
    ('Sheet1', "'Bob''s costs'")
    """
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet) and not _A1.fullmatch(sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Area:
    """A rectangle of cells: sheet title, 1-based first/last row and column."""

    sheet: str
    min_row: int
    min_col: int
    max_row: int
    max_col: int

    @property
    def coord(self) -> str:
        top = f"{get_column_letter(self.min_col)}{self.min_row}"
        if (self.min_row, self.min_col) == (self.max_row, self.max_col):
            return top
        return f"{top}:{get_column_letter(self.max_col)}{self.max_row}"

    def cells(self) -> list[list[tuple[int, int]]]:
        return [[(r, c) for c in range(self.min_col, self.max_col + 1)]
                for r in range(self.min_row, self.max_row + 1)]

    def __str__(self) -> str:
        return f"{_quote_sheet(self.sheet)}!{self.coord}"


def _area(text: str, sheets: Mapping[str, str]) -> _Area | None:
    """The cells a reference such as ``'Project'!$B$4:$C$5`` names, or ``None`` when
    ``text`` is not one rectangle on a known sheet (``sheets``: upper-case -> title).

    >>> _area("'Calc'!$B$2:$C$5", {"CALC": "Calc"})
    _Area(sheet='Calc', min_row=2, min_col=2, max_row=5, max_col=3)
    >>> _area("0.3", {"CALC": "Calc"}) is None
    True
    """
    sheet, ref = cells.split_ref(text)
    if sheet is None or sheet.upper() not in sheets or not _A1.fullmatch(ref.strip()):
        return None
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    except (ValueError, TypeError):
        return None
    if None in (min_col, min_row, max_col, max_row):
        return None  # whole rows or columns: not an input area
    # Excel reads F14:F10 as F10:F14 (openpyxl gives the corners as typed).
    min_col, max_col = sorted((min_col, max_col))
    min_row, max_row = sorted((min_row, max_row))
    return _Area(sheets[sheet.upper()], min_row, min_col, max_row, max_col)


READ_LIMIT = 1_000_000  # cells read at once; a larger range is cut to the used area


def _size(area: _Area) -> int:
    return (area.max_row - area.min_row + 1) * (area.max_col - area.min_col + 1)


def _clipped(area: _Area, used_rows: int, used_cols: int) -> _Area:
    """``area`` cut to the sheet's used area (rows 1..used_rows, columns 1..used_cols);
    beyond it every cell is empty.  An area wholly outside keeps its first cell.

    >>> _clipped(_Area("S", 1, 1, 1_048_576, 16_384), 40, 6).coord
    'A1:F40'
    """
    max_row = max(area.min_row, min(area.max_row, used_rows))
    max_col = max(area.min_col, min(area.max_col, used_cols))
    return _Area(area.sheet, area.min_row, area.min_col, max_row, max_col)


def formula_problems(formula: str, functions: Mapping[str, Any] | set[str],
                     names: set[str], sheets: set[str],
                     unsupported: Callable[[str], bool] = lambda _: False) -> list[str]:
    """What in ``formula`` the engine cannot evaluate: functions it does not know, names
    that are not workbook-level defined names, sheets that do not exist (``functions``,
    ``names`` and ``sheets`` upper-case).

    >>> formula_problems("=FOO(1)+Rate*SUM(A1:A3)", {"SUM"}, {"HOURS"}, {"SHEET1"})
    ['unknown function FOO', 'unknown name Rate']
    >>> formula_problems("=IF(false,1,True)", {"IF"}, set(), set())
    []
    """
    out = []
    try:
        tokens = Tokenizer(formula).items
    except Exception as exc:  # noqa: BLE001 - openpyxl's tokenizer rejects broken text
        return [f"cannot parse the formula ({exc})"]
    local_names = any(t.type == Token.FUNC and t.value.upper().removeprefix("_XLFN.")
                      in ("LET(", "LAMBDA(") for t in tokens)  # their parameters are names
    for t in tokens:
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            fname = t.value[:-1]
            key = fname.upper()
            if key in names:
                continue  # a LAMBDA kept in a defined name
            if key not in functions and key.removeprefix("_XLFN.") not in functions:
                out.append(f"unknown function {fname}")
            elif unsupported(key):
                out.append(f"function {fname} is not supported by the recalculation engine")
        elif t.type == Token.OPERAND and t.subtype == Token.RANGE and "[" not in t.value:
            sheet, ref = cells.split_ref(t.value)
            if sheet is not None and sheet.upper() not in sheets:
                out.append(f"unknown sheet {sheet}")
            elif not (_A1.fullmatch(ref) or ref.upper() in names or local_names
                      or ref.lower().startswith("_xlpm.")
                      or (sheet is None and ref.upper() in ("TRUE", "FALSE"))):
                out.append(f"unknown name {ref}")
    return list(dict.fromkeys(out))


def _xlp_calls(formula: str) -> list[tuple[str, bool]]:
    """The XLP_ functions ``formula`` calls, each with whether an argument is left empty
    between commas (``XLP_FA(b,"research","on",,"mit")``).

    >>> _xlp_calls('=XLP_FA(B1,"research","on",,"mit")+SUM(1,2)+_xldudf_XLP_CARD()')
    [('XLP_FA', True), ('_xldudf_XLP_CARD', False)]
    """
    try:
        tokens = Tokenizer(formula).items
    except Exception:  # noqa: BLE001 - reported by formula_problems
        return []
    out: list[tuple[str, bool]] = []
    stack: list[int | None] = []  # index into out of each open function (None: not XLP_)
    previous: Token | None = None
    for t in tokens:
        if t.type == Token.WSPACE:
            continue
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            name = t.value[:-1]
            if name.upper().removeprefix(OFFICE_JS_PREFIX).startswith(XLP_PREFIX):
                out.append((name, False))
                stack.append(len(out) - 1)
            else:
                stack.append(None)
        elif t.type == Token.FUNC and t.subtype == Token.CLOSE:
            at = stack.pop() if stack else None
            if at is not None and previous is not None and previous.type == Token.SEP \
                    and previous.subtype == Token.ARG:
                out[at] = (out[at][0], True)  # a trailing empty argument: f(a,)
        elif t.type == Token.SEP and t.subtype == Token.ARG and stack and stack[-1] is not None:
            if previous is not None and (previous.type == Token.SEP and previous.subtype
                                         == Token.ARG or previous.type == Token.FUNC
                                         and previous.subtype == Token.OPEN):
                out[stack[-1]] = (out[stack[-1]][0], True)
        previous = t
    return out


# -- values in and out ---------------------------------------------------------------------

def plain(value: Any) -> Any:
    """An engine's scalar as plain Python: whole floats as ``int``.

    >>> plain(3.0), plain(2.5), plain(True), plain(None)
    (3, 2.5, True, None)
    """
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value


def _scalar_input(value: Any, field: str) -> Any:
    """A Python input as a cell value: ``None`` empty, bool, text, or a float (dates as
    serial numbers, Decimal and numbers through :func:`xl_pricing.cells.number`)."""
    value = cells.cell_value(value) if not isinstance(value, (dt.date, Decimal)) else value
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return plain(float(cells.excel_serial(value)))
    return plain(float(cells.number(value, field)))


def _as_rows(value: Any, area: _Area, field: str) -> list[list[Any]]:
    """An input value as rows matching ``area``: a scalar for one cell, a list of lists
    (or ``[[v]]``) for a range."""
    rows, cols = area.max_row - area.min_row + 1, area.max_col - area.min_col + 1
    if not isinstance(value, (list, tuple)):
        if rows == cols == 1:
            return [[_scalar_input(value, field)]]
        raise InputError(field, value, f"{rows} rows × {cols} columns of values")
    if len(value) != rows or any(not isinstance(r, (list, tuple)) or len(r) != cols
                                 for r in value):
        raise InputError(field, value, f"{rows} rows × {cols} columns of values")
    return [[_scalar_input(v, field) for v in r] for r in value]


def is_date_name(name: str) -> bool:
    """A defined name that holds a date by its name: its last part (after ``_`` or ``.``)
    is one of :data:`xl_pricing.cells.DATE_KEYS` (``Start``, ``End``, ``Pkg_Date``).

    >>> is_date_name("Start"), is_date_name("Pkg_Date"), is_date_name("Total")
    (True, True, False)
    """
    return name.replace(".", "_").rsplit("_", 1)[-1].lower() in cells.DATE_KEYS


def _as_date(value: Any) -> Any:
    """A serial number shown with a date format as the date (or date-time) it means.

    >>> _as_date(46478), _as_date("x")
    (datetime.date(2027, 4, 1), 'x')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if not cells.FIRST_SERIAL <= value <= cells.LAST_SERIAL:
        return value
    day = cells.EXCEL_EPOCH + dt.timedelta(days=int(value))
    if float(value).is_integer():
        return day
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(days=value - int(value))


def frame_rows(frame: Any, index: bool = True, header: bool = True) -> list[list]:
    """A DataFrame as the rows xlwings' DataFrame converter writes (header, then values).

    >>> import pandas as pd
    >>> frame_rows(pd.DataFrame({"a": [1], "b": [2]}), index=False)
    [['a', 'b'], [1, 2]]
    """
    if index:
        frame = frame.reset_index()
    rows = frame.values.tolist()
    return [list(frame.columns), *rows] if header else rows


# -- what openpyxl reads of the workbook (formulas, validations, number formats) ------------

class _Facts:
    """The workbook as openpyxl reads it: formulas, data validations, number formats and
    defined names (only what the engines do not tell)."""

    def __init__(self, path: Path | io.BytesIO, source: str):
        import openpyxl

        try:
            self.book = openpyxl.load_workbook(path, keep_links=False)
        except Exception as exc:  # noqa: BLE001 - openpyxl: any unreadable file
            raise RecalcError([CellProblem(None, None, "cannot be read as an .xlsx workbook "
                                           f"({type(exc).__name__}: {exc})")],
                              source) from None
        self.sheets = {ws.title.upper(): ws.title for ws in self.book.worksheets}
        self.defined = {n.name: n.attr_text for n in self.book.defined_names.values()
                        if not n.hidden and n.localSheetId is None
                        and not n.name.startswith("_xlnm.")}
        self._validations: dict[str, list[tuple[Any, Any]]] = {}
        for ws in self.book.worksheets:
            self._validations[ws.title] = [
                (rng, dv) for dv in ws.data_validations.dataValidation
                for rng in dv.sqref.ranges]

    def formulas(self) -> Iterator[tuple[str, str, str]]:
        """(sheet, coordinate, formula text) of every formula cell, in workbook order."""
        for ws in self.book.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    text = _formula_text(c.value)
                    if text is not None:
                        yield ws.title, c.coordinate, text

    def formula_at(self, sheet: str, row: int, col: int) -> str | None:
        return _formula_text(self.book[sheet].cell(row, col).value)

    def is_date(self, sheet: str, row: int, col: int) -> bool:
        return bool(self.book[sheet].cell(row, col).is_date)

    def validation(self, sheet: str, row: int, col: int) -> Any:
        for rng, dv in self._validations.get(sheet, ()):
            if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
                return dv
        return None


def _formula_text(value: Any) -> str | None:
    text = getattr(value, "text", value)  # openpyxl's ArrayFormula keeps it in .text
    if isinstance(text, str) and text.startswith("=") and len(text) > 1:
        return text
    return None


def _calls_xlp(path: Path | io.BytesIO) -> bool:
    """Whether a sheet of the workbook may call an XLP_ function: ``XLP_`` anywhere in a
    sheet's XML (formulas live there; cell texts in the shared strings).  Only a quick
    test: a workbook that passes it is then read properly (:meth:`_Facts.formulas`)."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with z.open(name) as f:
                    if _XLP_CALL.search(f.read()):
                        return True
    return False


# -- the XLP_ functions under formulas --------------------------------------------------------

_MESSAGES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "xlp_messages", default=None)


@contextlib.contextmanager
def _recording(messages: list[str]) -> Iterator[None]:
    """Collect the messages of XLP_ calls that fail while this block runs."""
    token = _MESSAGES.set(messages)
    try:
        yield
    finally:
        _MESSAGES.reset(token)


def _record(message: str) -> None:
    messages = _MESSAGES.get()
    if messages is not None:
        messages.append(message)


class _ErrorArgument(Exception):
    def __init__(self, error: Any):
        self.error = error


def _cell(value: Any) -> Any:
    """One cell's value from ``formulas`` as xlwings gives it: ``None`` for empty."""
    import schedula as sh
    from formulas import XlError

    if value is sh.EMPTY or value is None:
        return None
    if isinstance(value, XlError):
        raise _ErrorArgument(value)
    return plain(value) if hasattr(value, "item") else value


def _table(value: Any) -> list[list[Any]]:
    """Any argument ``formulas`` passes (a scalar, a 0-d result, a 2-D range) as the 2-D
    list Office.js would send."""
    import numpy as np
    from formulas import Ranges

    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        arr = value.reshape(1, 1) if value.ndim == 0 else np.atleast_2d(value)
        return [[_cell(v) for v in row] for row in arr.tolist()]
    return [[_cell(value)]]


def _shape(table: list[list[Any]], options: Mapping[str, Any]) -> Any:
    """A 2-D table reshaped as xlwings' converters do for ``options``.

    Default: one cell → scalar, one row or column → list, else list of lists; ``ndim=1``
    always a list; ``ndim=2`` always a list of lists; ``convert=dict`` a dict of a
    two-column table.

    >>> _shape([[1], [2]], {}), _shape([[5]], {"ndim": 1}), _shape([[5]], {"ndim": 2})
    ([1, 2], [5], [[5]])
    >>> _shape([["a", 1], ["b", 2]], {"convert": dict})
    {'a': 1, 'b': 2}
    """
    import xlwings as xw

    if options.get("convert") is dict:
        if table and len(table[0]) != 2:
            raise xw.XlwingsError(f"expected a two-column (key, value) range, got "
                                  f"{len(table[0])} columns")
        return dict((k, v) for k, v in table)
    ndim = options.get("ndim")
    if ndim == 2:
        return table
    if len(table) == 1:
        return table[0] if ndim == 1 or len(table[0]) > 1 else table[0][0]
    if len(table[0]) == 1:
        return [row[0] for row in table]
    if ndim == 1:
        raise xw.XlwingsError("expected a one-row or one-column range")
    return table


def _excel_scalar(value: Any) -> Any:
    import schedula as sh
    from formulas import NUM

    value = plain(value)
    if value is None:
        return sh.EMPTY
    if isinstance(value, float) and math.isnan(value):
        return NUM
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return cells.excel_serial(value)
    return value


def _excel_result(value: Any, options: Mapping[str, Any]) -> Any:
    """A function's return value as a ``formulas`` value: tables become a 2-D object
    array (which an array formula spreads over its cells), a flat list one row."""
    import numpy as np
    import pandas as pd
    import schedula as sh

    if isinstance(value, pd.DataFrame):
        value = frame_rows(value, bool(options.get("index", True)),
                           bool(options.get("header", True)))
    if isinstance(value, (list, tuple)):
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in value] \
            if value and isinstance(value[0], (list, tuple)) else [list(value)]
        width = max((len(r) for r in rows), default=0)
        out = np.empty((len(rows), width), dtype=object)
        out[:] = sh.EMPTY
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                out[i, j] = _excel_scalar(v)
        return out
    return _excel_scalar(value)


def adapt(name: str, fn: Callable[..., Any],
          options: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[..., Any]:
    """``fn`` as a ``formulas`` function: arguments converted as xlwings would, an error
    argument passed through, bad input turned into ``#VALUE!`` with the message recorded,
    tables returned as arrays."""
    import xlwings as xw
    from formulas import VALUE

    options = options or {}
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())

    def call(*args: Any) -> Any:
        try:
            converted = [_shape(_table(a), options.get(p.name, {}))
                         for a, p in zip(args, params)]
            converted += [_shape(_table(a), {}) for a in args[len(params):]]
        except _ErrorArgument as err:
            return err.error
        except xw.XlwingsError as exc:
            _record(f"{name}: {exc}")
            return VALUE
        try:
            signature.bind(*converted)
        except TypeError as exc:
            _record(f"{name}: wrong number of arguments ({exc})")
            return VALUE
        try:
            result = fn(*converted)
        except (xw.XlwingsError, InputError) as exc:
            _record(f"{name}: {exc}")
            return VALUE
        except Exception as exc:  # noqa: BLE001 - a bug: keep it visible, not a bare #VALUE!
            _record(f"{name}: internal error: {type(exc).__name__}: {exc}")
            return VALUE
        return _excel_result(result, options.get("return", {}))

    return functools.update_wrapper(call, fn)


def register_udfs() -> list[str]:
    """Register every function of ``xl_pricing.udfs.__all__`` with ``formulas`` under its
    desktop name and its saved Office.js name; returns the names registered.

    >>> "_XLDUDF_XLP_TIMECHARGE" in register_udfs()
    True
    """
    import formulas
    from formulas.functions import wrap_func

    from . import udfs  # xlwings and pandas: only for workbooks that call XLP_ functions

    registry = formulas.get_functions()
    names = []
    for name in udfs.__all__:
        wrapped = wrap_func(adapt(name, getattr(udfs, name), udfs.CONVERTERS.get(name)))
        for alias in (name.upper(), OFFICE_JS_PREFIX + name.upper()):
            registry[alias] = wrapped
            names.append(alias)
    return names


# -- engines -------------------------------------------------------------------------------

class _Engine:
    """What the recalculator asks of an engine."""

    name = ""
    sheets: dict[str, str]          # upper-case title -> title
    defined: dict[str, str]         # workbook-level defined name -> its definition

    def calculate(self, cell_inputs: Mapping[_Area, list[list[Any]]],
                  name_inputs: Mapping[str, Any], names: Iterable[str] | None = None
                  ) -> tuple[dict[str, Any], list[CellProblem]]:
        raise NotImplementedError

    def read(self, area: _Area) -> list[list[Any]]:
        """The current values of ``area`` (after :meth:`calculate`)."""
        raise NotImplementedError

    def check_used(self, area: _Area) -> None:
        """Raise :class:`_Missing` when no formula or name reads a cell of ``area``."""


@functools.lru_cache(maxsize=1)
def _formulon_functions() -> frozenset[str]:
    """The functions formulon knows, upper-case (fixed for the installed version; asked once
    per process: one call a name)."""
    import formulon

    return frozenset(formulon.Workbook.function_name_at(i).upper()
                     for i in range(formulon.Workbook.function_count()))


class _Formulon(_Engine):
    """formulon: load from bytes, set inputs through its setters, ``recalc()``, read."""

    name = "formulon"

    def __init__(self, data: bytes, source: str):
        import formulon

        self._fm = formulon
        try:
            self.wb = formulon.Workbook.load(data)
        except formulon.FormulonError as exc:
            raise RecalcError([CellProblem(None, None, f"cannot be read as an .xlsx workbook "
                                           f"(formulon: {exc})")], source) from None
        self.source = source
        titles = [self.wb.sheet_name(i) for i in range(self.wb.sheet_count())]
        self._index = {t.upper(): i for i, t in enumerate(titles)}
        self.sheets = {t.upper(): t for t in titles}
        self.defined = {n.name: n.formula for n in self.wb.iter_defined_names()
                        if n.local_sheet_id < 0 and not n.hidden
                        and not n.name.startswith("_xlnm.")}
        self._areas = {n: _area(text, self.sheets) for n, text in self.defined.items()}
        self._saved: dict[tuple[int, int, int], tuple[str, Any]] = {}   # cell -> original
        self._saved_names: dict[str, str] = {}
        self._snapshot: dict[str, dict[tuple[int, int], Any]] | None = None
        self.wb.recalc()
        # Scanning every cell costs more than the recalculation: done only when a name
        # shows the errors an unknown function or a circular reference leaves.
        self._first: dict[str, Any] | None = {n: self._name_value(n) for n in self.defined}
        shown = list(self._first.values())
        self.problems = (self._problems() if not shown or _has_error(shown, _ERRORS)
                         else [])

    # -- problems the workbook has before any input ----------------------------------------

    def _problems(self) -> list[CellProblem]:
        """Unknown functions, names and sheets (cells that are ``#NAME?``) and circular
        references (cells that are ``#REF!`` and read themselves)."""
        out = []
        known = _formulon_functions()
        names = {n.upper() for n in self.defined}
        cycle: list[str] | None = None
        for s, title in enumerate(self.sheets.values()):
            for row, col, shown, formula in self._error_cells(s, title):
                where = f"{get_column_letter(col + 1)}{row + 1}"
                if shown in ("#NAME?", "#REF!"):
                    text = formula.replace("=@", "=", 1)
                    reasons = formula_problems(text, known, names, set(self.sheets))
                    out += [CellProblem(title, where, f"{r} in {text}") for r in reasons]
                    if shown == "#REF!" and not reasons and cycle is None:
                        cycle = self._cycle(s, row, col)
        if cycle:
            first = cycle[0]
            sheet, cell = first.split("!")
            out.append(CellProblem(self.sheets[sheet.upper()] if sheet.upper() in self.sheets
                                   else sheet, cell,
                                   "circular reference: " + " → ".join(cycle)))
        return out

    def _error_cells(self, s: int, title: str) -> Iterator[tuple[int, int, str, str]]:
        """(row, col (0-based), error text, formula) of each formula cell of sheet ``s``
        that is an Excel error.  Found in :meth:`snapshot` (one save, ~8 µs a cell) rather
        than cell by cell (~90 µs a cell: 19 s for 200,000 cells)."""
        try:
            cells = self.snapshot().get(title, {})
        except Exception:  # noqa: BLE001 - openpyxl cannot read formulon's copy: slow path
            for c in self.wb.iter_cells(s):
                if c.formula and c.value.kind == self._fm.ValueKind.ERROR:
                    yield (c.row, c.col, self._fm.error_display_name(c.value.error_code),
                           c.formula)
            return
        for (row, col), value in cells.items():
            if isinstance(value, str) and value in _ERRORS:
                formula = self.wb.get_formula(s, row - 1, col - 1)
                if formula:
                    yield row - 1, col - 1, value, formula

    def snapshot(self) -> dict[str, dict[tuple[int, int], Any]]:
        """Every non-empty cell's current value: sheet title -> {(row, col) 1-based: value},
        Excel errors as text.  formulon saves the workbook with its computed values and
        openpyxl reads them back in one pass (read-only, values only)."""
        if self._snapshot is None:
            import openpyxl

            book = openpyxl.load_workbook(io.BytesIO(self.wb.save()), read_only=True,
                                          data_only=True)
            try:
                out: dict[str, dict[tuple[int, int], Any]] = {}
                for ws in book.worksheets:
                    cells = out[ws.title] = {}
                    for r, row in enumerate(ws.iter_rows(min_row=1, min_col=1,
                                                         values_only=True), start=1):
                        for c, value in enumerate(row, start=1):
                            if value is not None:
                                cells[(r, c)] = plain(value)
            finally:
                book.close()
            self._snapshot = out
        return self._snapshot

    def _cycle(self, sheet: int, row: int, col: int) -> list[str] | None:
        """The cells of a circular reference through (sheet, row, col), first = last."""
        titles = list(self.sheets.values())
        start = (sheet, row, col)
        graph: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}
        todo = [start]
        while todo and len(graph) < 10_000:
            node = todo.pop()
            if node in graph:
                continue
            graph[node] = [(p.sheet, p.row, p.col) for p in self.wb.precedents(*node)]
            todo.extend(graph[node])
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            ring = list(exc.args[1])[::-1]  # graphlib gives predecessors first
            return [f"{_quote_sheet(titles[s])}!{get_column_letter(c + 1)}{r + 1}"
                    for s, r, c in ring]
        return None

    # -- values ----------------------------------------------------------------------------

    def _python(self, value: Any) -> Any:
        kind = value.kind
        if kind == self._fm.ValueKind.ERROR:
            return self._fm.error_display_name(value.error_code)
        if kind in (self._fm.ValueKind.ARRAY, self._fm.ValueKind.REF,
                    self._fm.ValueKind.LAMBDA):
            return "#VALUE!"
        return plain(value.to_python())

    def read(self, area: _Area) -> list[list[Any]]:
        s = self._index[area.sheet.upper()]
        if area.min_row == area.max_row and area.min_col == area.max_col:
            r, c = area.min_row - 1, area.min_col - 1
            value = self._python(self.wb.get_value(s, r, c))
            if value == "" and not self.wb.get_formula(s, r, c):
                value = None  # an empty text constant: an empty cell, as formulas has it
            return [[value]]
        rows = [[None] * (area.max_col - area.min_col + 1)
                for _ in range(area.max_row - area.min_row + 1)]
        rect = self._fm.MergeRange(first_row=area.min_row - 1, first_col=area.min_col - 1,
                                   last_row=area.max_row - 1, last_col=area.max_col - 1)
        cursor = None
        while True:  # one call a page of filled cells, not one a cell
            page, cursor = self.wb.get_cells_in_range(s, rect, cursor)
            for c in page:
                value = self._python(c.value)
                rows[c.row - area.min_row + 1][c.col - area.min_col + 1] = \
                    None if value == "" and not c.formula else value
            if cursor is None:
                return rows

    def _name_value(self, name: str) -> Any:
        area = self._areas.get(name)
        if area is not None:
            rows = self.read(area)
        else:  # a constant, a formula or another name: evaluated as Excel would
            grid = self.wb.evaluate_formula_array(0, 0, 0, self.defined[name])
            rows = [[self._python(v) for v in row] for row in grid]
        return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows

    # -- inputs ----------------------------------------------------------------------------

    @functools.cached_property
    def _cells_named(self) -> frozenset[tuple[int, int, int]]:
        return frozenset((self._index[a.sheet.upper()], r - 1, c - 1)
                         for a in self._areas.values() if a is not None
                         for row in a.cells() for r, c in row)

    def shadowed(self) -> list[str]:
        """Defined names spelt like one of formulon's functions (see Recalculator)."""
        functions = _formulon_functions()
        return [n for n in self.defined if n.upper() in functions]

    def check_used(self, area: _Area) -> None:
        s = self._index[area.sheet.upper()]
        for row in area.cells():
            for r, c in row:
                key = (s, r - 1, c - 1)
                if key not in self._cells_named and not self.wb.dependents(*key):
                    cell = "" if area.min_row == area.max_row and area.min_col == \
                        area.max_col else f"{_quote_sheet(area.sheet)}!" \
                                          f"{get_column_letter(c)}{r} "
                    raise _Missing(f"{cell}not used by any formula or defined name (the "
                                   "value would change nothing)")

    def _set(self, key: tuple[int, int, int], value: Any) -> None:
        if value is None:
            self.wb.set_blank(*key)
        elif isinstance(value, bool):
            self.wb.set_bool(*key, value)
        elif isinstance(value, str):
            self.wb.set_text(*key, value)
        else:
            self.wb.set_number(*key, float(value))

    def _restore(self, key: tuple[int, int, int]) -> None:
        kind, original = self._saved.pop(key)
        if kind == "formula":
            self.wb.set_formula(*key, original)
        elif original.kind == self._fm.ValueKind.ERROR:
            self.wb.set_error(*key, original.error_code)
        else:
            self._set(key, original.to_python())

    def calculate(self, cell_inputs: Mapping[_Area, list[list[Any]]],
                  name_inputs: Mapping[str, Any], names: Iterable[str] | None = None
                  ) -> tuple[dict[str, Any], list[CellProblem]]:
        if not cell_inputs and not name_inputs and self._first is not None:
            return dict(self._first), []  # the workbook as loaded: read once already
        self._first = None
        self._snapshot = None  # the values change
        wanted: dict[tuple[int, int, int], Any] = {}
        for area, rows in cell_inputs.items():
            s = self._index[area.sheet.upper()]
            for cell_row, value_row in zip(area.cells(), rows):
                for (r, c), v in zip(cell_row, value_row):
                    wanted[(s, r - 1, c - 1)] = v
        for key in [k for k in self._saved if k not in wanted]:
            self._restore(key)  # last call's input, not given now: the workbook's own
        for key, value in wanted.items():
            if key not in self._saved:
                formula = self.wb.get_formula(*key)
                self._saved[key] = (("formula", formula) if formula
                                    else ("value", self.wb.get_value(*key)))
            self._set(key, value)
        for name in [n for n in self._saved_names if n not in name_inputs]:
            self.wb.set_defined_name(name, self._saved_names.pop(name))
        for name, value in name_inputs.items():
            self._saved_names.setdefault(name, self.defined[name])
            self.wb.set_defined_name(name, _constant(value))
        self.wb.recalc()
        # formulon answers one cell per call (~30-70 µs each): read only what is asked for.
        return {n: self._name_value(n) for n in (self.defined if names is None else names)}, []


_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


def _has_error(values: Any, errors: tuple[str, ...]) -> bool:
    """Whether ``values`` (scalars, lists of lists) hold one of the error texts."""
    if isinstance(values, list):
        return any(_has_error(v, errors) for v in values)
    return isinstance(values, str) and values in errors


def _constant(value: Any) -> str:
    """A value as the constant a defined name can hold.

    >>> _constant(0.25), _constant("a\\"b"), _constant(True), _constant(None)
    ('0.25', '"a""b"', 'TRUE', '""')
    """
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return repr(plain(value))


class _Formulas(_Engine):
    """``formulas``' ExcelModel with the XLP_ functions registered."""

    name = "formulas"

    def __init__(self, path: Path, source: str, facts: _Facts):
        import formulas
        from formulas.cell import Ref

        register_udfs()
        self.source, self.facts = source, facts
        self.sheets = facts.sheets
        self.defined = facts.defined
        problems = self._formula_problems()
        if problems:
            raise RecalcError(problems, source)
        load: list[str] = []
        try:
            # formulas draws a tqdm progress bar on stderr while it compiles; it is
            # not ours to show (redirected, not patched).
            with _recording(load), contextlib.redirect_stderr(io.StringIO()):
                self.model = formulas.ExcelModel().loads(str(path)).finish()
        except Exception as exc:  # noqa: BLE001 - formulas: anything it cannot handle
            raise RecalcError([CellProblem(None, None, "the recalculation engine (formulas) "
                                           f"cannot load the workbook ({type(exc).__name__}: "
                                           f"{' '.join(str(exc).split())})")],
                              source) from None
        self._load_messages = load
        self._names = {key.rpartition("!")[2]: key
                       for key, c in self.model.cells.items() if isinstance(c, Ref)}
        self._cells: dict[tuple[str, str], str] = {}  # (SHEET, top-left) -> formulas key
        for key in self.model.cells:
            head, bang, ref = str(key).rpartition("!")
            if bang and "]" in head:
                sheet = head.strip("'").partition("]")[2].replace("''", "'").upper()
                if sheet:
                    self._cells[(sheet, ref.split(":")[0])] = key
        self._filename = path.name
        # The cells calling XLP_ functions, found once: their messages are looked up after
        # every calculation (tokenizing each formula again would be a fifth of its time).
        self._xlp_cells = [(sheet, coord, text, self._cells[(sheet.upper(), coord)])
                           for sheet, coord, text in facts.formulas()
                           if (sheet.upper(), coord) in self._cells and _xlp_calls(text)]
        self.problems = self._cycle_problems()
        self._solution: Mapping[Any, Any] = {}

    def _formula_problems(self) -> list[CellProblem]:
        import formulas
        from formulas.functions import not_implemented

        functions = formulas.get_functions()
        names, sheets = {n.upper() for n in self.defined}, set(self.sheets)
        out = []

        def unsupported(key: str) -> bool:
            return functions.get(key) is not_implemented

        for sheet, coord, text in self.facts.formulas():
            for reason in formula_problems(text, functions, names, sheets, unsupported):
                out.append(CellProblem(sheet, coord, f"{reason} in {text}"))
            for fname, omitted in _xlp_calls(text):
                if omitted:
                    out.append(CellProblem(sheet, coord, (
                        f"{fname} with an argument left empty between commas: the "
                        "recalculation engine (formulas) would pass 0, not the default; "
                        "write the value or leave out only trailing arguments")))
        for name, text in self.defined.items():
            for reason in formula_problems(f"={text}", functions, names, sheets, unsupported):
                out.append(CellProblem(None, name, f"{reason} in ={text}"))
        return out

    def _cycle_problems(self) -> list[CellProblem]:
        """A circular reference, from the model's graph (schedula's public ``dmap``)."""
        import schedula as sh
        from formulas.cell import InvRangesAssembler

        dsp = self.model.dsp
        skip = set()
        for k, node in dsp.function_nodes.items():
            fn = node.get("function")
            outputs = set(node.get("outputs", ()))
            if isinstance(fn, InvRangesAssembler) or (fn is sh.bypass and any(
                    outputs <= set(dsp.nodes.get(i, {}).get("inv-data", ()))
                    for i in node.get("inputs", ()))):
                skip.add(k)  # pushes a name's or range's value back into its cells
        graph = {u: [v for v in succ if v not in skip]
                 for u, succ in dsp.dmap.succ.items() if u not in skip}
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            data = dsp.data_nodes
            ring = [k for k in list(exc.args[1])[:-1]
                    if k in data and not isinstance(k, sh.Token)]
            spots = [self._where(k) for k in ring]
            start = next((i for i, p in enumerate(spots)
                          if p.sheet and p.cell and ":" not in p.cell), 0)
            ring = ring[start:] + ring[:start]
            path = [self._where(k).where for k in [*ring, ring[0]]]
            first = self._where(ring[0])
            return [CellProblem(first.sheet, first.cell,
                                "circular reference: " + " → ".join(path))]
        return []

    def _where(self, key: Any, reason: str = "") -> CellProblem:
        head, bang, ref = str(key).rpartition("!")
        sheet = head.strip("'").partition("]")[2].replace("''", "'") if bang else ""
        if not sheet:
            spelt = next((n for n in self.defined if n.upper() == ref.upper()), ref)
            return CellProblem(None, spelt, reason)
        return CellProblem(self.sheets.get(sheet.upper(), sheet), ref, reason)

    def _key(self, sheet: str, row: int, col: int) -> str:
        from formulas import Ranges

        ref = f"{_quote_sheet(sheet)}!{get_column_letter(col)}{row}"
        return Ranges.get_range(ref, {"filename": self._filename})["name"]

    def _used(self, key: str) -> bool:
        """A cell the model reads: one of its nodes, or inside a range some formula uses."""
        from formulas import Ranges

        if key in self.model.dsp.nodes:
            return True
        rng = Ranges.get_range(key)
        for node in self.model.dsp.data_nodes:
            if isinstance(node, str) and ":" in node and node.count("!") == 1:
                with contextlib.suppress(Exception):  # not a range (a name, a token)
                    r = Ranges.get_range(node)
                    if r["sheet_id"] == rng["sheet_id"] and r["n1"] <= rng["n1"] <= r["n2"] \
                            and int(r["r1"]) <= int(rng["r1"]) <= int(r["r2"]):
                        return True
        return False

    def check_used(self, area: _Area) -> None:
        self.input_keys(area)

    def input_keys(self, area: _Area) -> list[list[str]]:
        keys = [[self._key(area.sheet, r, c) for r, c in row] for row in area.cells()]
        unused = [k for row in keys for k in row if not self._used(k)]
        if unused:
            cell = "" if len(keys) == len(keys[0]) == 1 else f"{self._where(unused[0]).where} "
            raise _Missing(f"{cell}not used by any formula or defined name (the value "
                           "would change nothing)")
        return keys

    def calculate(self, cell_inputs: Mapping[_Area, list[list[Any]]],
                  name_inputs: Mapping[str, Any], names: Iterable[str] | None = None
                  ) -> tuple[dict[str, Any], list[CellProblem]]:
        import numpy as np
        import schedula as sh

        given: dict[str, Any] = {}
        for area, rows in cell_inputs.items():
            for key_row, value_row in zip(self.input_keys(area), rows):
                for k, v in zip(key_row, value_row):
                    # (an empty cell as formulas makes one: a 1×1 array of EMPTY)
                    given[k] = np.array([[sh.EMPTY]], dtype=object) if v is None else v
        for name, value in name_inputs.items():
            key = self._names[name.upper()]
            # (an empty constant as formulas makes empty cells: a 1×1 array)
            given[key] = (np.array([[sh.EMPTY]], dtype=object) if value is None
                          else _excel_scalar(value))
        messages: list[str] = []
        with _recording(messages):
            self._solution = solution = self.model.calculate(inputs=given)
        values = {n: self._python(solution.get(self._names.get(n.upper())))
                  for n in self.defined}
        return values, self._udf_problems(solution, given)

    def _python(self, value: Any) -> Any:
        import numpy as np
        import schedula as sh
        from formulas import Ranges, XlError

        def one(v: Any) -> Any:
            if v is sh.EMPTY or v is None:
                return None
            if isinstance(v, XlError):
                return str(v)
            return plain(v)

        if isinstance(value, Ranges):
            value = value.value
        if isinstance(value, np.ndarray):
            rows = [[one(v) for v in row] for row in np.atleast_2d(value).tolist()]
            return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows
        return one(value)

    def read(self, area: _Area) -> list[list[Any]]:
        out = []
        for row in area.cells():
            values = []
            for r, c in row:
                value = self._python(self._solution.get(self._key(area.sheet, r, c)))
                if value is None:  # a constant cell no formula reads: as openpyxl has it
                    value = plain(self.facts.book[area.sheet].cell(r, c).value)
                values.append(value)
            out.append(values)
        return out

    def _udf_problems(self, solution: Mapping[Any, Any],
                      given: Mapping[str, Any]) -> list[CellProblem]:
        """The message of each cell whose XLP_ call gave an error, in workbook order: the
        cell's compiled formula is called once more with its inputs' values (public
        ``Cell.func`` and ``Cell.inputs``) to learn which message is its own."""
        from formulas import Ranges, XlError

        out = []
        load = list(self._load_messages)
        for sheet, coord, text, key in self._xlp_cells:
            if key in given:
                continue
            value = solution.get(key)
            value = value.value if isinstance(value, Ranges) else value
            flat = value.ravel() if hasattr(value, "ravel") else [value]
            if not any(isinstance(v, XlError) for v in flat):
                continue
            cell = self.model.cells[key]
            messages: list[str] = []
            result = None
            with _recording(messages), contextlib.suppress(Exception):
                result = cell.func(*[solution[i] for i in cell.inputs])
            if not messages:
                messages = _unspilled(text, result, self.facts.book[sheet][coord].value)
            if not messages and not cell.inputs:
                # A formula of constants ran once, while loading (in workbook order):
                # its message is the first one left of a function it calls.
                calls = {f.upper().removeprefix(OFFICE_JS_PREFIX) for f, _ in _xlp_calls(text)}
                at = next((i for i, m in enumerate(load)
                           if m.partition(":")[0].upper() in calls), None)
                messages = [load.pop(at)] if at is not None else []
            if messages:
                out.append(CellProblem(sheet, coord, messages[0]))
        return out


def _unspilled(text: str, result: Any, cell_value: Any) -> list[str]:
    """Why a plain (non-array) formula cell calling a table-returning XLP_ function shows
    #VALUE! under ``formulas``, when the function itself succeeded: ``formulas`` puts a
    plain formula's result into its one cell (its ``Cell`` outputs the formula's own
    range) and has no dynamic-array spill, so a table of more than one cell there is
    #VALUE!, as in Excel before dynamic arrays.  Dynamic-array Excel spills the same
    formula; here enter it as an array formula over the rows, or take one value of it
    (``INDEX(XLP_QUOTE(A1:B16),n,2)``), which works in every engine."""
    from openpyxl.worksheet.formula import ArrayFormula

    shape = getattr(getattr(result, "value", result), "shape", None)
    if isinstance(cell_value, ArrayFormula) or not shape or len(shape) != 2 or \
            shape[0] * shape[1] <= 1:
        return []
    name = _xlp_calls(text)[0][0].upper().removeprefix(OFFICE_JS_PREFIX)
    rows, cols = shape
    return [f"{name}: 表を返す関数です（{rows} 行 × {cols} 列）。この再計算エンジン (formulas) は"
            f"通常の数式の結果を1つのセルに入れ、スピルしません。配列数式として入力するか、"
            f"INDEX({name}(...),行,列) で1つの値を取り出してください / gives a table "
            f"({rows} rows × {cols} columns); the recalculation engine (formulas) puts a "
            f"plain formula's result into its one cell and does not spill it (dynamic-array "
            f"Excel does): enter it as an array formula over {rows} × {cols} cells, or take "
            f"one value with INDEX({name}(...),row,column)"]


class _LibreOffice(_Engine):
    """Headless LibreOffice; inputs are written into a temporary copy with openpyxl."""

    name = "libreoffice"

    def __init__(self, path: Path, source: str, facts: _Facts):
        self.path, self.source, self.facts = path, source, facts
        self.sheets, self.defined = facts.sheets, facts.defined
        self.problems: list[CellProblem] = []
        self._values: dict[str, Any] = {}
        self._run: tempfile.TemporaryDirectory[str] | None = None
        self._book: Path = path
        self._output: Path | None = None

    def calculate(self, cell_inputs: Mapping[_Area, list[list[Any]]],
                  name_inputs: Mapping[str, Any], names: Iterable[str] | None = None
                  ) -> tuple[dict[str, Any], list[CellProblem]]:
        from . import libreoffice

        # The copy with the inputs and LibreOffice's result are kept until the next
        # calculation, so that cells() reads the same result.
        self._run = tempfile.TemporaryDirectory(prefix="xlp-recalc-")
        book = self._with_inputs(cell_inputs, name_inputs, Path(self._run.name))
        self._book = book
        self._output = libreoffice.recalculate(book, self._run.name)
        found = libreoffice.read_defined_names(book, recalculated=self._output)
        values = {}
        for name in self.defined:
            value = self._cell(found.get(name))
            if isinstance(value, list):
                value = [[self._cell(v) for v in row] if isinstance(row, list)
                         else self._cell(row) for row in value]
            else:
                value = self._cell(value)
            values[name] = value
        self._values = values
        return values, []

    def _with_inputs(self, cell_inputs: Mapping[_Area, list[list[Any]]],
                     name_inputs: Mapping[str, Any], folder: Path) -> Path:
        """The workbook, or a copy in ``folder`` with the inputs written into it."""
        if not cell_inputs and not name_inputs:
            return self.path
        import openpyxl

        wb = openpyxl.load_workbook(self.path, keep_links=False)
        for area, rows in cell_inputs.items():
            ws = wb[area.sheet]
            for cell_row, value_row in zip(area.cells(), rows):
                for (r, c), v in zip(cell_row, value_row):
                    ws.cell(r, c).value = v
        for name, value in name_inputs.items():
            wb.defined_names[name].attr_text = _constant(value)
        book = folder / self.path.name
        wb.save(book)
        return book

    @staticmethod
    def _cell(value: Any) -> Any:
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) \
                and len(value[0]) == 1:
            value = value[0][0]  # a one-cell range: a scalar, as the other engines give it
        if isinstance(value, (dt.date, dt.datetime)):
            return plain(float(cells.excel_serial(value)))
        return plain(value)

    def read(self, area: _Area) -> list[list[Any]]:
        """The cells of the last calculation's result (LibreOffice's recalculated copy)."""
        from openpyxl.utils import get_column_letter

        from . import libreoffice

        ref = (f"'{area.sheet.replace(chr(39), chr(39) * 2)}'!"
               f"{get_column_letter(area.min_col)}{area.min_row}:"
               f"{get_column_letter(area.max_col)}{area.max_row}")
        if self._output is None:
            self.calculate({}, {})
        value = libreoffice.computed_values(self._book, [ref], recalculated=self._output)[ref]
        rows = value if isinstance(value, list) else [[value]]
        return [[self._cell(v) for v in (row if isinstance(row, list) else [row])]
                for row in rows]


class _Missing(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _name_clashes(names: Iterable[str]) -> list[CellProblem]:
    """Defined names that differ only in case: one name to Excel.

    >>> [str(p) for p in _name_clashes(["C_Floor", "C_floor", "Total"])]
    ['C_floor: the same defined name as C_Floor (Excel names ignore case)']
    """
    seen: dict[str, str] = {}
    out = []
    for name in names:
        first = seen.setdefault(name.upper(), name)
        if first != name:
            out.append(CellProblem(None, name, f"the same defined name as {first} (Excel "
                                               "names ignore case)"))
    return out


# -- the recalculator ------------------------------------------------------------------------

class Recalculator:
    """A workbook loaded once, recalculated with changed inputs.

    Args:
        path: the .xlsx (or .xlsm) file; it is only read.
        engine: ``auto`` (formulon, or formulas when a formula calls an XLP_ function),
            ``formulon``, ``formulas`` or ``libreoffice``.

    Raises:
        RecalcError / InputError: the file is not a readable workbook (or too big), a
            formula calls a function or names something the engine does not know, a
            circular reference.

    Attributes:
        names: the workbook's defined names as spelt in it.
        engine: the engine that computes the values (``formulon``, ``formulas``,
            ``libreoffice``).
    """

    def __init__(self, path: str | Path, *, engine: str = "auto"):
        if engine not in ENGINES:
            raise InputError("--engine", engine, "one of " + ", ".join(ENGINES))
        self.path = Path(path)
        self.source = str(path)
        try:
            xlsx.check_workbook(self.path, self.source)
        except InputError as exc:
            reason = exc.expected if exc.field == self.source else exc.message
            raise RecalcError([CellProblem(None, None, reason)], self.source) from None
        self._facts: _Facts | None = None
        self._calculated = False
        self._data = self.path.read_bytes()  # read once: the engines and openpyxl share it
        auto = engine == "auto"
        if auto:
            engine = "formulon"
            if _calls_xlp(io.BytesIO(self._data)) and any(
                    _xlp_calls(text) for _, _, text in self.facts.formulas()):
                engine = "formulas"
        self._engine: _Engine
        if engine == "formulon":
            self._engine = _Formulon(self._data, self.source)
            if auto and self._engine.shadowed():
                # formulon 0.18 computes SUM(...) as 0 or #VALUE! when a defined name is
                # spelt like the function (a name "Sum"); formulas and LibreOffice give
                # Excel's value (tests/test_recalc.py keeps the workbook).
                self._engine = _Formulas(self.path, self.source, self.facts)
        elif engine == "formulas":
            self._engine = _Formulas(self.path, self.source, self.facts)
        else:
            self._engine = _LibreOffice(self.path, self.source, self.facts)
        self.engine = self._engine.name
        defined = self._engine.defined
        self.names = sorted(defined)
        self._upper = {n.upper(): n for n in defined}
        problems = _name_clashes(defined) or self._engine.problems  # type: ignore[attr-defined]
        if problems:
            raise RecalcError(problems, self.source)

    @property
    def facts(self) -> _Facts:
        """openpyxl's reading of the workbook (loaded when first needed)."""
        if self._facts is None:
            self._facts = _Facts(io.BytesIO(self._data), self.source)
        return self._facts

    # -- public ---------------------------------------------------------------------------

    def calculate(self, inputs: Mapping[str, Any] | None = None, *,
                  override: bool = False, names: Iterable[str] | None = None
                  ) -> Recalculation:
        """Recalculate with ``inputs`` (defined names or cell references → new values) and
        return the values of ``names`` (default: every defined name) and the cells XLP_
        functions rejected.

        Each input is checked against its cell's data validation, and a formula cell is
        refused unless ``override``.  Asking for the few names you need (``names=
        ["Total"]``) is much quicker with formulon, which reads one cell per call."""
        wanted = self.names if names is None else [self._name(n) for n in names]
        cell_inputs, name_inputs = self._inputs(inputs or {}, override)
        values, errors = self._engine.calculate(cell_inputs, name_inputs, wanted)
        self._calculated = True
        return Recalculation({n: values[n] for n in wanted}, errors)

    def cells(self, ref: str) -> list[list[Any]]:
        """The computed values of a rectangle of cells (``'Quote A'!D5:F20``; ``F20:D5``
        is the same), as the last calculation left them (the workbook as loaded when none
        has run yet): a list of rows, ``None`` for an empty cell, an Excel error as its
        text.  A range of more than a million cells is cut to the sheet's used area
        (``A1:XFD1048576``: the rows and columns past it are all empty).

        Raises:
            InputError: ``ref`` is not one rectangle on a sheet of the workbook.
        """
        area = self._used(ref)
        if not self._calculated:
            self.calculate(names=())
        return self._engine.read(area)

    def _used(self, ref: str) -> _Area:
        """The rectangle ``ref`` names, corners in either order, cut to the sheet's used
        area (``'申込書'!A1:XFD1048576`` is read as far as the sheet has cells: a million
        empty rows would take minutes and gigabytes, and hold nothing)."""
        area = _area(str(ref), self._engine.sheets)
        if area is None:
            raise InputError("cells", ref, "a rectangle of cells on a sheet of the workbook, "
                             "such as 'Quote A'!D5:F20")
        if _size(area) <= READ_LIMIT:
            return area  # read as asked (a spilled array may reach past openpyxl's area)
        ws = self.facts.book[area.sheet]
        area = _clipped(area, ws.max_row, ws.max_column)
        if _size(area) > READ_LIMIT:
            raise InputError("cells", ref, f"at most {READ_LIMIT:,} cells of the sheet's "
                             f"used area (this is {_size(area):,}: name a smaller range) / "
                             "範囲が大きすぎます")
        return area

    def computed(self) -> dict[str, dict[tuple[int, int], Any]]:
        """Every non-empty cell's computed value as the last calculation left it (the
        workbook as loaded when none has run yet): sheet title -> {(row, column) 1-based:
        value}, an Excel error as its text.  One pass for the whole workbook (what
        ``xl-pricing lint`` reads), not one call a cell."""
        if not self._calculated:
            self.calculate(names=())
        snapshot = getattr(self._engine, "snapshot", None)
        if snapshot is not None:
            try:
                return snapshot()
            except Exception:  # noqa: BLE001 - openpyxl cannot read formulon's copy: per cell
                pass
        out: dict[str, dict[tuple[int, int], Any]] = {}
        for ws in self.facts.book.worksheets:
            area = _Area(ws.title, 1, 1, max(ws.max_row, 1), max(ws.max_column, 1))
            out[ws.title] = {(r, c): v for r, row in enumerate(self._engine.read(area), 1)
                             for c, v in enumerate(row, 1) if v is not None}
        return out

    def cell_values(self, ref: str, *, dates: bool = False, empty: bool = False
                    ) -> dict[str, Any]:
        """The computed cells of ``ref`` one by one, ``{"'Sheet'!A1": value}`` in row
        order (empty cells left out unless ``empty``); with ``dates`` a number in a
        date-formatted cell is a ``datetime.date``.

        Raises:
            InputError: ``ref`` is not one rectangle on a sheet of the workbook.
        """
        area = self._used(ref)
        rows = self.cells(ref)
        sheet = "'" + area.sheet.replace("'", "''") + "'"
        out = {}
        for cell_row, row in zip(area.cells(), rows):
            for (r, c), value in zip(cell_row, row):
                if value is None and not empty:
                    continue
                if dates and self.facts.is_date(area.sheet, r, c):
                    value = _as_date(value)
                out[f"{sheet}!{get_column_letter(c)}{r}"] = value
        return out

    def formula_cells(self) -> list[str]:
        """Every formula cell of the workbook as ``'Sheet'!A1``, in workbook order."""
        return ["'" + sheet.replace("'", "''") + f"'!{coord}"
                for sheet, coord, _ in self.facts.formulas()]

    def _name(self, name: str) -> str:
        spelt = self._upper.get(str(name).upper())
        if spelt is None:
            raise InputError("name", name, "a defined name of the workbook")
        return spelt

    def values(self, inputs: Mapping[str, Any] | None = None, *, strict: bool = True,
               override: bool = False, dates: bool = False,
               names: Iterable[str] | None = None) -> dict[str, Any]:
        """``{defined name: value}`` after recalculating with ``inputs``.

        A single cell gives a scalar, a range a list of lists (``None`` for an empty
        cell), an Excel error its text (``"#DIV/0!"``).  With ``strict`` (the default) a
        cell that an XLP_ function turned into an error raises :class:`RecalcError` with
        the function's message.  With ``dates`` a number in a cell formatted as a date is
        given as a ``datetime.date``.
        """
        result = self.calculate(inputs, override=override, names=names)
        if strict and result.errors:
            raise RecalcError(result.errors, self.source)
        if dates:
            return {n: self._dated(n, v) for n, v in result.values.items()}
        return result.values

    # -- dates ----------------------------------------------------------------------------

    def _dated(self, name: str, value: Any) -> Any:
        if is_date_name(name):  # Start, End, Pkg_Date: dates whatever the cell's format
            return [[_as_date(v) for v in row] for row in value] \
                if isinstance(value, list) else _as_date(value)
        area = _area(self._engine.defined[name], self._engine.sheets)
        if area is None:
            return value
        facts = self.facts
        if not isinstance(value, list):
            return _as_date(value) if facts.is_date(area.sheet, area.min_row,
                                                    area.min_col) else value
        return [[_as_date(v) if facts.is_date(area.sheet, r, c) else v
                 for (r, c), v in zip(cells_row, row)]
                for cells_row, row in zip(area.cells(), value)]

    # -- inputs ---------------------------------------------------------------------------

    def _inputs(self, inputs: Mapping[str, Any], override: bool
                ) -> tuple[dict[_Area, list[list[Any]]], dict[str, Any]]:
        cell_inputs: dict[_Area, list[list[Any]]] = {}
        name_inputs: dict[str, Any] = {}
        problems = []
        for ref, value in inputs.items():
            ref = str(ref)
            try:
                target = self._target(ref)
                if isinstance(target, str):
                    name_inputs[target] = _scalar_input(value, ref)
                    continue
                rows = _as_rows(value, target, ref)
                self._engine.check_used(target)  # refuses a cell no formula reads
                problems += self._checked(ref, target, rows, override)
                cell_inputs[target] = rows
            except _Missing as exc:
                problems.append(CellProblem(None, ref, exc.reason))
            except InputError as exc:
                problems.append(CellProblem(None, ref, exc.message.removeprefix(
                    f"{ref} = ").removeprefix(f"{ref} is missing: ")))
        if problems:
            raise RecalcError(problems, self.source)
        return cell_inputs, name_inputs

    def _target(self, ref: str, depth: int = 0) -> _Area | str:
        """The cells an input sets, or the name itself for a name holding a constant."""
        sheets = self._engine.sheets
        sheet, cell = cells.split_ref(ref)
        if sheet is None:
            name = self._upper.get(cell.strip().upper())
            if name is None:
                if _A1.fullmatch(cell.strip()):
                    raise _Missing("expected Sheet!Cell (a cell reference names its sheet)")
                raise _Missing(f"not a defined name or cell of {self.path.name} (defined "
                               f"names: {', '.join(self.names) or 'none'})")
            text = self._engine.defined[name]
            area = _area(text, sheets)
            if area is not None:
                return area
            alias = text.strip().lstrip("=")
            if alias.upper() in self._upper and depth < 10:
                return self._target(alias, depth + 1)  # a name of a name
            if cells.split_ref(text)[0] is not None or ":" in text:
                raise _Missing(f"the name refers to {text}, not to one range of cells")
            if re.search(r"[A-Za-z_][A-Za-z0-9_.]*\s*\(|!", text):
                raise _Missing(f"the name holds the formula ={text}, not cells or a constant")
            return name
        if sheet.upper() not in sheets:
            raise _Missing(f"no sheet {sheet!r} in {self.path.name}")
        area = _area(ref, sheets)
        if area is None:
            raise _Missing("not a cell reference such as Sheet1!B2")
        return area

    def _checked(self, ref: str, area: _Area, rows: list[list[Any]],
                 override: bool) -> list[CellProblem]:
        """Problems of an input: a formula cell (unless ``override``), a value its data
        validation refuses."""
        facts = self.facts
        out = []
        for cell_row, value_row in zip(area.cells(), rows):
            for (r, c), value in zip(cell_row, value_row):
                where = f"{get_column_letter(c)}{r}"
                formula = facts.formula_at(area.sheet, r, c)
                if formula is not None and not override:
                    out.append(CellProblem(area.sheet, where, (
                        f"{ref} is a formula cell ({formula}); to replace its formula by "
                        f"{_show(value)} for this recalculation, ask for it explicitly "
                        "(--override)")))
                    continue
                dv = facts.validation(area.sheet, r, c)
                if dv is not None:
                    expected = self._refused(dv, value)
                    if expected:
                        out.append(CellProblem(area.sheet, where, (
                            f"{ref} = {_show(value)}: expected {expected} (the cell's "
                            "data validation)")))
        return out

    def _refused(self, dv: Any, value: Any) -> str | None:
        """What ``dv`` expects, when it refuses ``value``; ``None`` when it accepts it."""
        if value is None:
            return None if dv.allow_blank else "a value (the cell may not be empty)"
        if dv.type == "list":
            allowed = self._choices(dv.formula1 or "")
            if allowed is None:
                return None  # a list the engine cannot show: Excel decides
            shown = [_show(a) for a in allowed]
            if any(_same_choice(value, a) or _same_code(value, a) for a in allowed):
                return None
            if any(_names_row(value, row) for row in self._choice_rows(dv.formula1 or "")):
                return None
            return "one of " + ", ".join(shown)
        if dv.type in ("whole", "decimal"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"a {'whole ' if dv.type == 'whole' else ''}number"
            if dv.type == "whole" and not float(value).is_integer():
                return "a whole number"
            low, high = self._bound(dv.formula1), self._bound(dv.formula2)
            return _outside(value, dv.operator or "between", low, high)
        return None

    def _choices(self, formula: str) -> list[Any] | None:
        text = formula.strip().lstrip("=")
        if text.startswith('"') and text.endswith('"'):
            return [s.strip() for s in text[1:-1].split(",")]
        target = None
        with contextlib.suppress(_Missing):
            target = self._target(text) if "!" in text or text.upper() in self._upper \
                else None
        if not isinstance(target, _Area):
            return None
        return [v for row in self._engine.read(target) for v in row if v not in (None, "")]

    def _choice_rows(self, formula: str) -> list[list[Any]]:
        """For a list over a table's column (the standard workbooks' ``Rank_Entry``,
        ``Opt_Entry``), each entry's row up to it: the code, the Japanese and English
        names the entry "教授 / Professor" shows — what the workbook's code cell maps."""
        text = formula.strip().lstrip("=")
        target = None
        with contextlib.suppress(_Missing):
            target = self._target(text) if text.upper() in self._upper else None
        if not isinstance(target, _Area) or target.min_col != target.max_col:
            return []
        return self._engine.read(_Area(target.sheet, target.min_row, 1, target.max_row,
                                       target.max_col))

    def _bound(self, formula: str | None) -> float | None:
        if formula in (None, ""):
            return None
        try:
            return float(cells.number(formula, "validation"))
        except InputError:
            target = None
            with contextlib.suppress(_Missing):
                target = self._target(str(formula).lstrip("="))
            if isinstance(target, _Area):
                v = self._engine.read(target)[0][0]
                return float(v) if isinstance(v, (int, float)) else None
            return None


def _same_code(value: Any, allowed: Any) -> bool:
    """An input names the same code as a drop-down entry of the standard workbooks
    (``sponsored`` or ``受託研究`` for ``受託研究 / sponsored research``; the workbook's
    code cell maps either, ``vocabulary.code_for``).

    >>> _same_code("sponsored", "受託研究 / sponsored research"), _same_code("B", "A 欧米型積み上げ方式 / A Western-standard stacking")
    (True, False)
    """
    from .vocabulary import (ACHIEVEMENT_BASES, ACTIVITIES, APPROACHES, CONTRACTS,
                             DAY_RATE_BOUNDS, LOCATIONS, RATE_SOURCES, TAX_PARTNERS, code_for)

    if not isinstance(value, str) or not isinstance(allowed, str):
        return False
    for table in (CONTRACTS, APPROACHES, ACTIVITIES, LOCATIONS, RATE_SOURCES,
                  ACHIEVEMENT_BASES, DAY_RATE_BOUNDS, TAX_PARTNERS):
        code = code_for(allowed, table)
        given = code_for(value, table) or (value.strip().upper() if table is APPROACHES
                                           else None)  # "x" as project.approach takes it
        if code is not None and given == code:
            return True
    return False


def _names_row(value: Any, row: list[Any]) -> bool:
    """A typed text names a table row of the Rates sheet: one of its texts (the code,
    the Japanese, the English name; any case), or a common rank name
    (``vocabulary.RANK_ALIASES``: PROF, 教授) of the code it holds.  The workbook's code
    cell and check decide what is priced; this only lets the input in.

    >>> _names_row("PROF", ["professor", "教授", "Professor"]), _names_row("dean", ["professor"])
    (True, False)
    """
    from .vocabulary import RANK_ALIASES

    if not isinstance(value, str) or not value.strip():
        return False
    t = value.strip()
    texts = [x.strip() for x in row if isinstance(x, str) and x.strip()]
    if any(t.casefold() == x.casefold() for x in texts):
        return True
    return RANK_ALIASES.get(t, RANK_ALIASES.get(t.casefold())) in texts


def _same_choice(value: Any, allowed: Any) -> bool:
    """An input matches a list entry: text ignoring case, numbers and TRUE/FALSE by value.

    >>> _same_choice("x", "X"), _same_choice(True, "TRUE"), _same_choice(2026.0, "2026")
    (True, True, True)
    """
    if isinstance(value, bool):
        return str(allowed).upper() == ("TRUE" if value else "FALSE")
    if isinstance(value, (int, float)):
        try:
            return float(cells.number(allowed, "list")) == float(value)
        except InputError:
            return False
    return str(value).casefold() == str(allowed).casefold()


def _outside(value: float, operator: str, low: float | None, high: float | None
             ) -> str | None:
    """What a number validation expects when ``value`` is outside it, else ``None``.

    >>> _outside(-1, "greaterThanOrEqual", 0, None), _outside(5, "between", 0, 10)
    ('a number >= 0', None)
    """
    def show(x: float | None) -> str:
        return _show(plain(x))

    checks = {
        "between": (lambda v: low is None or high is None or low <= v <= high,
                    f"a number between {show(low)} and {show(high)}"),
        "notBetween": (lambda v: low is None or high is None or not low <= v <= high,
                       f"a number outside {show(low)} to {show(high)}"),
        "equal": (lambda v: low is None or v == low, f"{show(low)}"),
        "notEqual": (lambda v: low is None or v != low, f"a number other than {show(low)}"),
        "greaterThan": (lambda v: low is None or v > low, f"a number > {show(low)}"),
        "lessThan": (lambda v: low is None or v < low, f"a number < {show(low)}"),
        "greaterThanOrEqual": (lambda v: low is None or v >= low, f"a number >= {show(low)}"),
        "lessThanOrEqual": (lambda v: low is None or v <= low, f"a number <= {show(low)}"),
    }
    ok, expected = checks.get(operator, (lambda v: True, ""))
    return None if ok(value) else expected


def _show(value: Any) -> str:
    if isinstance(value, float):
        value = plain(value)
    return str(value)


# -- command-line helpers ------------------------------------------------------------------

def parse_value(text: str) -> Any:
    """A value typed on the command line, as a cell would hold it: numbers through
    :func:`xl_pricing.cells.number` (``1,000``, ``¥1,000``, full-width digits), then
    TRUE/FALSE, ISO dates, text (``"42"`` in quotes stays text).

    >>> [parse_value(t) for t in ["20", "1.5", "true", "2027-04-01", "mit", '"42"', "",
    ...                           "1,000", "nan"]]
    [20, 1.5, True, datetime.date(2027, 4, 1), 'mit', '42', None, 1000, 'nan']
    """
    s = text.strip()
    if not s:
        return None
    if len(s) >= 2 and s[0] == s[-1] == '"':
        return s[1:-1]
    if s.upper() in ("TRUE", "FALSE"):
        return s.upper() == "TRUE"
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        pass
    try:
        number = cells.number(s, "--set")
    except InputError:
        return text
    return int(number) if number == number.to_integral_value() else float(number)


def parse_inputs(assignments: Iterable[str]) -> dict[str, Any]:
    """``["Hours=20", "Sheet1!B2=mit"]`` (repeated ``--set`` options) as inputs.

    >>> parse_inputs(["Hours=20", "Sheet1!B2=mit"])
    {'Hours': 20, 'Sheet1!B2': 'mit'}
    """
    out = {}
    for a in assignments:
        ref, eq, text = a.partition("=")
        if not eq or not ref.strip():
            raise InputError("--set", a, "NAME=VALUE or Sheet!Cell=VALUE")
        out[ref.strip()] = parse_value(text)
    return out


def recalculate(path: str | Path, inputs: Mapping[str, Any] | None = None, *,
                engine: str = "auto", strict: bool = True, override: bool = False,
                dates: bool = False) -> dict[str, Any]:
    """Every defined name of the workbook at ``path`` with its value, recalculated with
    ``inputs``; see :class:`Recalculator` (use it directly to recalculate many times).

    >>> recalculate("workbooks/jp-default-native.xlsx")["Approach"]  # doctest: +SKIP
    'A'
    """
    return Recalculator(path, engine=engine).values(inputs, strict=strict,
                                                    override=override, dates=dates)
