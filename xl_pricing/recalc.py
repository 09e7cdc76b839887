"""Recalculate an .xlsx workbook without Excel, with the XLP_ functions.

The ``formulas`` engine (a pure-Python Excel calculator) parses the formulas and computes
every operator and function; every ``XLP_`` function of :mod:`xl_pricing.udfs` is
registered with it under the desktop name (``XLP_TIMECHARGE``) and under the name a file
saved from Excel with the Office.js add-in carries (``_xldudf_XLP_TIMECHARGE``).  Each
call to :meth:`Recalculator.values` sets some inputs, recalculates and returns every
defined name of the workbook with its value.

Two evaluators put those pieces together, with the same values (tests compare them cell
for cell):

- :class:`~xl_pricing.cellgraph.CellGraph`, the default: the workbook as one dependency
  graph of cells, ranges and names, each formula run as the steps ``formulas`` compiled
  from its tokens, without ``formulas``' dispatchers.  Measured on the standard quote
  workbook (~640 formulas and names): 0.3–0.5 s to load, 0.05–0.1 s per recalculation.
- ``formulas``' own ``ExcelModel`` (its dispatcher), the reference, for what the graph
  leaves to it (links to other workbooks, ``ISFORMULA``, ``LAMBDA``, circular references,
  whole-column ranges, a function that raises): 2.5–4 s to load, ~0.7 s for the first
  recalculation with a set of input cells, whose order is recorded; later ones replay it
  without the dispatcher (:class:`_Replay`) and, like Excel, recompute only the cells the
  changed inputs reach, 0.1–0.2 s.

The workbook file is only read, never written.

Usage (what ``xl-pricing recalc BOOK --set Hours=20`` does)::

    from xl_pricing.recalc import Recalculator, parse_inputs
    book = Recalculator("quote.xlsx")                # load + compile once
    book.values()                                    # {"Total": 7000000, "Card": [[...]], ...}
    book.values(parse_inputs(["Hours=20"]))          # same model, new inputs
    book.values({"Sheet1!B2": 12})                   # a cell reference works too

How the functions see their arguments (what xlwings' converters would hand them): a
single cell is a scalar, a one-row or one-column range a list, a bigger range a list of
lists, an empty cell ``None``, numbers plain ``int``/``float``; the ``@xw.arg`` options in
``udfs.py`` (``ndim=1``, ``ndim=2``, ``dict``) are honoured; an argument left out between
commas (``XLP_FA(b,"research","on",,"mit")``) arrives as the parameter's default, ``None``
(``formulas`` itself would pass 0).  A table returned by a function (a list of lists, or
XLP_ALLOCATE's DataFrame written as header + rows) fills the cells of an array formula.

Errors: anything that stops the workbook from being evaluated raises :class:`RecalcError`
(an :class:`~xl_pricing.errors.InputError`, so the CLI exits with code 2), one line per
problem naming the sheet, the cell and the reason — a function or name the engine does
not know, a circular reference, an input that is not a defined name or cell of the
workbook, a file that is not a readable .xlsx.  A function's bad input makes its cell
``#VALUE!`` as in Excel; the function's message is kept and reported the same way
(:attr:`Recalculation.errors`; :meth:`Recalculator.values` raises it unless
``strict=False``).

A :class:`Recalculator` is not thread-safe: use one per thread.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import datetime as dt
import functools
import gc
import inspect
import math
import re
import threading
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Iterator, Mapping, NoReturn

import formulas
import formulas.excel as formulas_excel
import formulas.functions  # noqa: F401 - formulas.functions.get_functions is used
import numpy as np
import pandas as pd
import schedula as sh
import tqdm
import xlwings as xw
from formulas.cell import Cell, CellWrapper, InvRangesAssembler, RangesAssembler, Ref
from formulas.excel import BOOK
from formulas.functions import not_implemented
from formulas.ranges import Ranges
from formulas.tokens.operand import Empty, Error, XlError
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from . import udfs
from .cellgraph import CALLER as _CALLER  # the cell being evaluated, by either evaluator
from .cellgraph import CellGraph, OffGraph
from .errors import InputError
from .cells import EXCEL_EPOCH

__all__ = ["CellProblem", "Recalculation", "RecalcError", "Recalculator", "OFFICE_JS_PREFIX",
           "parse_inputs", "parse_value", "recalc", "register_udfs"]

OFFICE_JS_PREFIX = "_XLDUDF_"  # Excel saves Office.js function XLP.FA as _xldudf_XLP_FA
SUFFIXES = (".xlsx", ".xlsm")
VALUE_ERROR = Error.errors["#VALUE!"]


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

    ``values`` maps every defined name (as spelt in the workbook) to its value: a scalar
    for one cell, a list of lists for a range, Excel errors as text (``"#VALUE!"``).
    ``errors`` lists the cells an XLP_ function turned into an Excel error, with the
    function's message.
    """

    values: dict[str, Any]
    errors: list[CellProblem] = field(default_factory=list)


# -- which cell is being computed, and what went wrong in it ----------------------------

_ERRORS: contextvars.ContextVar[dict[str | None, str] | None] = contextvars.ContextVar(
    "xlp_errors", default=None)


@contextlib.contextmanager
def _recording(errors: dict[str | None, str]) -> Iterator[None]:
    """Collect the messages of failing XLP_ calls as ``{formulas cell key: message}``."""
    token = _ERRORS.set(errors)
    try:
        yield
    finally:
        _ERRORS.reset(token)


def _record(message: str) -> None:
    errors = _ERRORS.get()
    if errors is not None:
        errors.setdefault(_CALLER.get(), message)  # the innermost failing call comes first


class _TracedCell(CellWrapper):
    """A compiled cell formula that tells the XLP_ adapters which cell is calling."""

    xlp_ref: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token = _CALLER.set(self.xlp_ref)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _CALLER.reset(token)


class _Model(formulas.ExcelModel):
    """``formulas``' model with each cell's formula traced (see :class:`_TracedCell`).

    ``formulas`` evaluates a formula made only of constants (``=XLP_CARD()``) once, while
    compiling it; the caller is set there too.
    """

    @staticmethod
    def _compile_cell(crd: str, val: Any, context: Any, check_formula: bool,
                      references: Any) -> Cell:
        try:
            return _Model._compiled(crd, val, context, check_formula, references)
        except Exception as exc:  # noqa: BLE001 - formulas: anything it cannot handle
            raise _CellFailure(context.get("sheet"), crd, exc) from exc

    @staticmethod
    def _compiled(crd: str, val: Any, context: Any, check_formula: bool,
                  references: Any) -> Cell:
        cell = Cell(crd, val, context=context, check_formula=check_formula)
        if cell.builder is not None and references:
            # Only the defined names this formula reads: ``formulas`` otherwise tests every
            # name of the workbook against its parse graph, rebuilding that graph's node
            # table for each test (formulas × names; a quarter of a second per load).
            # ``formulas`` looks only these up, so the result is the same.
            nodes = cell.builder.dsp.data_nodes
            references = {k: references[k] for k in nodes if k in references}
        token = _CALLER.set(cell.output)
        try:
            return cell.compile(references=references, context=context)
        finally:
            _CALLER.reset(token)

    def add_cell(self, cell: Cell, context: Any, formula_ranges: Any) -> Any:
        if isinstance(cell.func, CellWrapper):
            cell.func.__class__ = _TracedCell
            cell.func.xlp_ref = cell.output
        return super().add_cell(cell, context, formula_ranges)


class _CellFailure(Exception):
    """``formulas`` could not parse or compile one cell (kept with where it is)."""

    def __init__(self, sheet: str | None, cell: str, error: Exception):
        super().__init__(sheet, cell, error)
        self.sheet, self.cell, self.error = sheet, cell, error

    def reason(self) -> str:
        e, args = self.error, self.error.args
        text = str(e)
        if len(args) > 1 and isinstance(args[0], str):  # schedula: (format, *values)
            with contextlib.suppress(TypeError, ValueError):
                text = args[0] % args[1:]
        text = " ".join(text.split()) or type(e).__name__
        return (f"the recalculation engine (formulas) cannot compile this cell's formula "
                f"({type(e).__name__}: {text})")


# -- omitted arguments --------------------------------------------------------------------

class _Omitted(int):
    """An argument left out between commas: 0 to Excel's own functions (as ``formulas``
    passes it), ``None`` to the XLP_ functions (as xlwings passes it)."""

    def __new__(cls, *_: Any) -> "_Omitted":
        return super().__new__(cls, 0)

    def __repr__(self) -> str:
        return "OMITTED"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Omitted, ())

    def __copy__(self) -> "_Omitted":
        return self

    def __deepcopy__(self, memo: Any) -> "_Omitted":
        return self


OMITTED = _Omitted()
_LOADING = threading.Lock()


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """While ``formulas`` parses a workbook: compile an argument left out between commas
    to :data:`OMITTED` instead of a plain 0 (``formulas`` keeps no other trace of it), and
    keep its progress bar and warnings (reported better here) off the terminal."""
    with _LOADING, _collector_paused():
        compile_empty, bars = Empty.__dict__["compile"], formulas_excel.tqdm
        Empty.compile = staticmethod(lambda: OMITTED)
        formulas_excel.tqdm = SimpleNamespace(tqdm=functools.partial(tqdm.tqdm,
                                                                     disable=True))
        was_disabled, formulas_excel.log.disabled = formulas_excel.log.disabled, True
        try:
            yield
        finally:
            Empty.compile = compile_empty
            formulas_excel.tqdm = bars
            formulas_excel.log.disabled = was_disabled


_PAUSES = threading.Lock()
_paused = 0            # pauses under way, in any thread
_was_collecting = True  # the collector's state when the first of them began


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while ``formulas`` builds a workbook's graphs or
    first dispatches it.

    Both create hundreds of thousands of small objects that live as long as the workbook,
    and the collector would rescan all of them (and everything else alive) over and over
    while they are made: measured, a quarter of a cold load.  Nothing is lost -- garbage
    made meanwhile is collected once the collector runs again, as usual.

    The switch is the whole process's, and pauses in several threads may overlap: they
    are counted, and the last one to end puts the collector back as the first found it.
    """
    global _paused, _was_collecting
    with _PAUSES:
        if _paused == 0:
            _was_collecting = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _PAUSES:
            _paused -= 1
            if _paused == 0 and _was_collecting:
                gc.enable()


# -- Excel values → what xlwings' converters give a function --------------------------------

class _ErrorArgument(Exception):
    def __init__(self, error: XlError):
        self.error = error


def _cell(value: Any) -> Any:
    """One cell's value as xlwings gives it: ``None`` for empty, plain Python numbers.

    >>> _cell(np.float64(2.5)), _cell(sh.EMPTY), _cell(np.int64(3))
    (2.5, None, 3)
    """
    if value is sh.EMPTY or value is None:
        return None
    if isinstance(value, XlError):
        raise _ErrorArgument(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # also turns OMITTED found inside a range into 0
    return value


def _table(value: Any) -> list[list[Any]]:
    """Any argument ``formulas`` passes (a scalar, a 0-d result, a 2-D range) as the 2-D
    list Office.js would send.

    >>> _table(np.array([[1], [sh.EMPTY]], dtype=object))
    [[1], [None]]
    >>> _table(7)
    [[7]]
    """
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


def _argument(value: Any, options: Mapping[str, Any], default: Any) -> Any:
    """One argument from ``formulas`` as the XLP_ function expects it."""
    if type(value) is _Omitted:
        return default
    return _shape(_table(value), options)


# -- Python results → Excel values -----------------------------------------------------------

def frame_rows(frame: pd.DataFrame, index: bool = True, header: bool = True) -> list[list]:
    """A DataFrame as the rows xlwings' DataFrame converter writes (header, then values).

    >>> frame_rows(pd.DataFrame({"a": [1], "b": [2]}), index=False)
    [['a', 'b'], [1, 2]]
    """
    if index:
        frame = frame.reset_index()
    rows = frame.values.tolist()
    return [list(frame.columns), *rows] if header else rows


def _excel_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return sh.EMPTY
    if isinstance(value, float) and math.isnan(value):
        return Error.errors["#NUM!"]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return _serial(value)
    return value


def _excel_result(value: Any, options: Mapping[str, Any]) -> Any:
    """A function's return value as a ``formulas`` value: tables become a 2-D object
    array (which an array formula spreads over its cells), a flat list one row.

    >>> _excel_result([["id", "jp"], ["v", 1]], {}).shape
    (2, 2)
    """
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


def _serial(value: dt.date | dt.datetime) -> int | float:
    """Excel's serial number of a date (1900 system).

    >>> _serial(dt.date(2027, 4, 1))
    46478
    """
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime.combine(EXCEL_EPOCH, dt.time())
        return delta.days + delta.seconds / 86400
    return (value - EXCEL_EPOCH).days


# -- registering the XLP_ functions --------------------------------------------------------

def converter_options() -> dict[str, dict[str, dict[str, Any]]]:
    """The xlwings converter options of every XLP_ function: :data:`xl_pricing.udfs.CONVERTERS`
    (``{"XLP_ROYALTY": {"sales": {"ndim": 1}}, "XLP_ALLOCATE": {"return": {"index": False},
    ...}, ...}``)."""
    return udfs.CONVERTERS


def decorator_options(source: str, names: set[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Converter options from ``@xw.arg(name, dict)``, ``@xw.arg(name, ndim=1)`` and
    ``@xw.ret(index=False)`` decorators of the functions ``names`` in ``source``.

    >>> decorator_options('''
    ... @xw.arg("x", ndim=1, doc="...")
    ... @xw.arg("t", dict)
    ... @xw.ret(index=False)
    ... def F(x, t): pass''', {"F"})
    {'F': {'x': {'ndim': 1}, 't': {'convert': <class 'dict'>}, 'return': {'index': False}}}
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef) or node.name not in names:
            continue
        for deco in node.decorator_list:
            if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)):
                continue
            opts = {k.arg: k.value.value for k in deco.keywords
                    if k.arg in ("ndim", "index", "header")
                    and isinstance(k.value, ast.Constant)}
            if deco.func.attr == "arg" and deco.args and isinstance(deco.args[0],
                                                                    ast.Constant):
                conv = deco.args[1] if len(deco.args) > 1 else None
                if isinstance(conv, ast.Name) and conv.id == "dict":
                    opts["convert"] = dict
                if opts:
                    out.setdefault(node.name, {})[deco.args[0].value] = opts
            elif deco.func.attr == "ret" and opts:
                out.setdefault(node.name, {})["return"] = opts
    return out


def adapt(name: str, fn: Callable[..., Any],
          options: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[..., Any]:
    """``fn`` as a ``formulas`` function: arguments converted as xlwings would, an error
    argument passed through, bad input (``XlwingsError``) turned into ``#VALUE!`` with the
    message recorded for the calling cell, tables returned as arrays."""
    options = options or {}
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())

    def call(*args: Any) -> Any:
        try:
            converted = [_argument(a, options.get(p.name, {}),
                                   None if p.default is p.empty else p.default)
                         for a, p in zip(args, params)]
            converted += [_argument(a, {}, None) for a in args[len(params):]]
        except _ErrorArgument as err:
            return err.error
        except xw.XlwingsError as exc:
            _record(f"{name}: {exc}")
            return VALUE_ERROR
        try:
            signature.bind(*converted)
        except TypeError as exc:
            _record(f"{name}: wrong number of arguments ({exc})")
            return VALUE_ERROR
        try:
            result = fn(*converted)
        except (xw.XlwingsError, InputError) as exc:
            _record(f"{name}: {exc}")
            return VALUE_ERROR
        except Exception as exc:  # noqa: BLE001 - a bug: keep it visible, not a bare #VALUE!
            _record(f"{name}: internal error: {type(exc).__name__}: {exc}")
            return VALUE_ERROR
        return _excel_result(result, options.get("return", {}))

    return functools.update_wrapper(call, fn)


def register_udfs() -> list[str]:
    """Register every function of ``xl_pricing.udfs.__all__`` with ``formulas`` under its
    desktop name and its saved Office.js name; returns the names registered.

    >>> "_XLDUDF_XLP_TIMECHARGE" in register_udfs()
    True
    """
    registry = formulas.functions.get_functions()
    options = converter_options()
    names = []
    for name in udfs.__all__:
        wrapped = formulas.functions.wrap_func(adapt(name, getattr(udfs, name),
                                                     options.get(name)))
        for alias in (name.upper(), OFFICE_JS_PREFIX + name.upper()):
            registry[alias] = wrapped
            names.append(alias)
    return names


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


def _split_ref(text: str) -> tuple[str | None, str]:
    """``("Sheet1", "B2")`` from ``Sheet1!B2``; ``(None, "Hours")`` from a bare name.

    >>> _split_ref("'Bob''s'!$B$2"), _split_ref("Hours")
    (("Bob's", '$B$2'), (None, 'Hours'))
    """
    sheet, bang, ref = text.strip().rpartition("!")
    if not bang:
        return None, ref
    if sheet.startswith("'") and sheet.endswith("'") and len(sheet) > 1:
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref


def formula_problems(formula: str, functions: Mapping[str, Any], names: set[str],
                     sheets: set[str]) -> list[str]:
    """What in ``formula`` the engine cannot evaluate: functions it does not know, names
    that are not workbook-level defined names, sheets that do not exist (``names`` and
    ``sheets`` upper-case).

    >>> formula_problems("=FOO(1)+Rate*SUM(A1:A3)", {"SUM": sum}, {"HOURS"}, {"SHEET1"})
    ['unknown function FOO', 'unknown name Rate']
    >>> formula_problems("=IF(false,1,True)", {"IF": max}, set(), set())
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
            if key not in functions:
                out.append(f"unknown function {fname}")
            elif functions[key] is not_implemented:
                out.append(f"function {fname} is not supported by the formulas engine")
        elif t.type == Token.OPERAND and t.subtype == Token.RANGE and "[" not in t.value:
            sheet, ref = _split_ref(t.value)
            if sheet is not None and sheet.upper() not in sheets:
                out.append(f"unknown sheet {sheet}")
            elif not (_A1.fullmatch(ref) or ref.upper() in names or local_names
                      or ref.lower().startswith("_xlpm.")
                      or (sheet is None and ref.upper() in ("TRUE", "FALSE"))):
                # (openpyxl's tokenizer knows TRUE and FALSE only in capitals; Excel and
                # formulas take them in any case)
                out.append(f"unknown name {ref}")
    return list(dict.fromkeys(out))


def _is_inverse(node: Mapping[str, Any], nodes: Mapping[str, Any]) -> bool:
    """A function ``formulas`` adds to push a name's or range's value back into its cells
    (not a dependency of any formula)."""
    fn = node.get("function")
    if isinstance(fn, InvRangesAssembler):
        return True
    outputs = set(node.get("outputs", ()))
    return fn is sh.bypass and any(outputs <= set(nodes.get(i, {}).get("inv-data", ()))
                                   for i in node.get("inputs", ()))


def find_cycle(model: formulas.ExcelModel) -> list[str] | None:
    """The nodes of one circular reference in the compiled ``model`` (``formulas`` keys,
    first = last), or ``None``."""
    dsp = model.dsp
    skip = {k for k, n in dsp.function_nodes.items() if _is_inverse(n, dsp.nodes)}
    graph = {u: [v for v in succ if v not in skip]
             for u, succ in dsp.dmap.succ.items() if u not in skip}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return None


# -- the recalculator ------------------------------------------------------------------------

# -- evaluating without the dispatcher, by its rules ---------------------------------------

def _call(function: Any, inputs: tuple[Any, ...], values: Mapping[Any, Any]) -> Any:
    """``function`` called as the dispatcher calls it: its inputs' values, ``NONE`` left
    out (KeyError when an input has no value)."""
    return function(*[v for v in (values[i] for i in inputs) if v is not sh.NONE])


def _per_output(outputs: tuple[Any, ...], result: Any) -> Iterable[tuple[Any, Any]]:
    """(output, value) pairs: a function with several outputs returns one value each."""
    return zip(outputs, result if len(outputs) > 1 else (result,))


def _filtered(value: Any, filters: Iterable[Callable[[Any], Any]]) -> Any:
    """``value`` through a node's filters, in order."""
    for f in filters:
        value = f(value)
    return value


class _FlatFormula:
    """One cell's formula, as ``formulas`` compiled it, evaluated without the dispatcher.

    ``formulas`` compiles a formula into a small ``schedula`` pipe (its tokens: references,
    constants, operators, functions, in evaluation order); calling the pipe builds a fresh
    dispatcher solution each time, which costs far more than the arithmetic.  This calls the
    same token functions in the pipe's order with a plain dict, following the dispatcher's
    rules (a value is set once, by its first producer; ``NONE`` arguments are dropped;
    node filters are applied), and answers ``#NAME?`` for a function ``formulas`` has not
    implemented, as its cell wrapper does.
    """

    def __init__(self, cell: CellWrapper):
        pipe = cell.func
        dsp = pipe.dsp
        self.parse_args = cell.parse_args
        self.caller = getattr(cell, "xlp_ref", None)
        self.inputs = tuple(pipe.inputs)
        self.output = pipe.outputs[0]
        self.defaults = {k: v["value"] for k, v in dsp.default_values.items()}
        self.filters = {k: tuple(n["filters"]) for k, n in dsp.nodes.items()
                        if n["type"] == "data" and n.get("filters")}
        self.steps = []
        for task, _, _ in pipe.pipe:
            node = dsp.nodes[task[-1][0]]
            if node["type"] == "function":
                self.steps.append((node["function"], tuple(node["inputs"]),
                                   tuple(node["outputs"])))

    @staticmethod
    def fits(function: Any) -> bool:
        """A cell formula compiled to a plain pipe (no sub-dispatchers)."""
        pipe = getattr(function, "func", None)
        return (isinstance(function, CellWrapper) and isinstance(pipe, sh.DispatchPipe)
                and len(pipe.outputs) == 1 and pipe.output_type == "values"
                and not any(nxt_dsp for _, _, nxt_dsp in pipe.pipe)
                and all(n["type"] != "dispatcher" for n in pipe.dsp.nodes.values())
                and not any("input_domain" in n or "filters" in n
                            for n in pipe.dsp.function_nodes.values()))

    def __call__(self, *args: Any) -> Any:
        token = _CALLER.set(self.caller)
        try:
            return self._evaluate(self.parse_args(*args))
        except NotImplementedError:
            return Error.errors["#NAME?"]
        finally:
            _CALLER.reset(token)

    def _evaluate(self, args: tuple[Any, ...]) -> Any:
        if len(args) > len(self.inputs):
            raise TypeError("too many positional arguments")
        none, filters = sh.NONE, self.filters
        values: dict[Any, Any] = {}
        given = dict(self.defaults)
        given.update(zip(self.inputs, args))
        for key, value in given.items():
            if value is not none:
                values[key] = _filtered(value, filters.get(key, ()))
        for function, inputs, outputs in self.steps:
            if all(o in values for o in outputs):
                continue
            for key, value in _per_output(outputs, _call(function, inputs, values)):
                if key not in values and value is not none:
                    values[key] = _filtered(value, filters.get(key, ()))
        return values[self.output]


def _flat(function: Any) -> Any:
    """A cell's function without the dispatcher where that is exact, else as it is."""
    return _FlatFormula(function) if _FlatFormula.fits(function) else function


class _View:
    """Stands for the dispatcher where formulas' range assemblers look up cells that are
    not in the graph (empty cells a given input may fill): ``.solution`` is the replay's
    values."""

    __slots__ = ("solution",)

    def __init__(self, values: dict[str, Any]):
        self.solution = values


_REPLAYS_KEPT = 16  # recorded evaluation orders kept per workbook (one per set of inputs)


def _same(a: Any, b: Any) -> bool:
    """The same input value (same type, equal, and for floats the same sign: -0.0 is not
    0.0 to ATAN2 or TEXT); anything uncomparable counts as changed."""
    try:
        if type(a) is float and type(b) is float:
            return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. arrays: treat as changed
        return False


# Excel's volatile functions: recalculated every time, whatever changed.
VOLATILE = frozenset({"RAND", "RANDBETWEEN", "RANDARRAY", "NOW", "TODAY", "OFFSET",
                      "INDIRECT", "CELL", "INFO"})


def _volatile(function: Any) -> bool:
    """A cell formula calling a volatile function (its pipe's function nodes are named
    after the functions: ``RAND``, ``+``...)."""
    pipe = getattr(function, "func", None)
    dsp = getattr(pipe, "dsp", None)
    if dsp is None:
        return False
    return any(str(k).split("<")[0].upper() in VOLATILE for k in dsp.function_nodes)


class _Replay:
    """The order in which ``formulas``' dispatcher evaluated a workbook for one set of input
    cells, replayed without the dispatcher.

    ``formulas`` hands the evaluation to ``schedula``, which searches the whole graph of
    cells on every call (≈1 ms a formula; most of a recalculation).  Which functions run,
    and in which order, depends only on which cells are given, not on their values, so the
    first recalculation with a set of input cells is recorded and later ones call the same
    compiled cell functions in the same order: the values are computed by ``formulas``
    exactly as before, and a test proves the two paths equal on the standard workbooks.

    Dispatcher rules kept: a cell is set once (inputs first, then the workbook's
    constants, then the first function to produce it, in the dispatcher's order); a
    function whose outputs are all set is skipped, and so is one that fails or lacks an
    input; each node's filters are applied.

    Like Excel, a recalculation after one that went cleanly recomputes only the cells that
    depend on the inputs whose values changed (each cell keeps the producer it had), and
    the volatile ones; the messages of XLP_ functions in cells not recomputed are carried
    over.  A run that leaves the recorded path (a function failing, or giving nothing,
    where it did not before) is handed to the dispatcher.

    Not replayed (the dispatcher runs every time): a recorded run in which a function
    failed, or in which a function other than formulas' range assemblers reads the
    dispatcher's own state (``ISFORMULA``).  Range assemblers read empty cells a given
    input may fill from that state; they get a view of the replay's values instead.
    """

    def __init__(self, model: formulas.ExcelModel, solution: Any, given: Iterable[str]):
        nodes = model.dsp.nodes
        given = set(given)
        workflow = solution.workflow
        self.filters = {k: tuple(n.get("filters", ())) for k, n in nodes.items()
                        if n["type"] == "data"}
        started = [k for k in workflow.nodes if k in nodes and nodes[k]["type"] == "function"]
        ran = sorted((k for k in started if k in solution.dist),
                     key=solution.dist.__getitem__)
        self.steps = [(_flat(nodes[k]["function"]), tuple(nodes[k]["inputs"]),
                       tuple(nodes[k]["outputs"]), tuple(nodes[k].get("filters", ())))
                      for k in ran]
        # Replayed only when that is exact: no function left unfinished (what follows a
        # failure would depend on values), the dispatcher's own state (``SELF``) read
        # only by formulas' range assemblers, which are given a view of the replay's
        # values, and no input that formulas pushes on to what it names (a name that
        # only names another name or cell: ``inv-data``), which the replay does not follow.
        self.exact = len(ran) == len(started) and all(
            isinstance(nodes[k]["function"], RangesAssembler)
            for k in ran if sh.SELF in nodes[k]["inputs"]) and not any(
            nodes.get(k, {}).get("inv-data") for k in given)
        # Redone in every incremental run: what reads cells outside the graph through
        # ``SELF``, and volatile functions (RAND, NOW...), which Excel recalculates always.
        self._always = {n for n, k in enumerate(ran)
                        if sh.SELF in nodes[k]["inputs"] or _volatile(nodes[k]["function"])}
        # The workbook's constants, as the dispatcher set them (filters applied), and what
        # it fed functions directly (``START`` for a formula without references).
        self.base = {k: solution[k] for k in model.dsp.default_values
                     if k not in given and k in solution}
        produced = {o for k in ran for o in nodes[k]["outputs"]}
        for k in ran:
            for i in nodes[k]["inputs"]:
                edge = workflow.pred[k].get(i)
                if (i not in self.base and i not in given and i not in produced
                        and edge is not None and "value" in edge):
                    self.base[i] = edge["value"]
        self._last: tuple[dict[str, Any], dict[str, Any], dict[str | None, str]] | None = None
        self._won: dict[int, list[str]] = {}  # step → the cells it set (in the full run)

    def run(self, given: Mapping[str, Any],
            errors: dict[str | None, str] | None = None) -> dict[str, Any] | None:
        """Every node's value with the cells ``given`` (same keys as recorded), or ``None``
        when this run leaves the recorded path (a function fails or gives nothing where it
        did not before: the dispatcher might then take another way, so ask it).

        ``errors`` is the dict the XLP_ functions record their messages in during this
        run; messages of cells an incremental run did not recompute are added to it.
        """
        errors = {} if errors is None else errors
        if self._last is not None:
            values = self._incremental(given, errors)
            if values is not None:
                return values
            errors.clear()  # (what the abandoned run recorded is recorded again)
        return self._full(given, errors)

    def _given(self, values: dict[str, Any], given: Mapping[str, Any]) -> None:
        values[sh.SELF] = _View(values)  # what a range assembler reads empty cells from
        for key, value in given.items():
            values[key] = _filtered(value, self.filters.get(key, ()))

    def _full(self, given: Mapping[str, Any],
              errors: dict[str | None, str]) -> dict[str, Any] | None:
        values = dict(self.base)
        self._given(values, given)
        none, filters = sh.NONE, self.filters
        won: dict[int, list[str]] = {}
        self._last = None
        for n, (function, inputs, outputs, out_filters) in enumerate(self.steps):
            if all(o in values for o in outputs):
                continue  # nothing left for it to give (the dispatcher skips it too)
            try:
                result = _filtered(_call(function, inputs, values), out_filters)
            except Exception:  # noqa: BLE001 - it ran in the recorded run: off the path
                return None
            for key, value in _per_output(outputs, result):
                if key not in values:
                    if value is none:
                        return None
                    values[key] = _filtered(value, filters.get(key, ()))
                    won.setdefault(n, []).append(key)
        if None not in errors:  # (a message without a cell cannot be carried over)
            self._last = (dict(given), values, dict(errors))
        self._won = won
        return values

    def _incremental(self, given: Mapping[str, Any],
                     errors: dict[str | None, str]) -> dict[str, Any] | None:
        """Recompute what depends on the changed inputs; ``None``: do a full run."""
        assert self._last is not None
        last_given, last_values, last_errors = self._last
        changed = {k for k, v in given.items() if not _same(v, last_given.get(k))}
        values = dict(last_values)
        self._given(values, {k: given[k] for k in changed})
        dirty, redo, none, filters = set(changed), set(), sh.NONE, self.filters
        for n, keys in self._won.items():
            function, inputs, outputs, out_filters = self.steps[n]
            if dirty.isdisjoint(inputs) and n not in self._always:
                continue
            try:
                produced = dict(_per_output(outputs, _filtered(
                    _call(function, inputs, values), out_filters)))
            except Exception:  # noqa: BLE001 - off the recorded path: a full run decides
                return None
            for key in keys:
                value = produced[key]
                if value is none:
                    return None
                values[key] = _filtered(value, filters.get(key, ()))
                dirty.add(key)
                redo.add(key)
        if None in errors:
            return None
        for key, message in last_errors.items():
            if key not in redo:
                errors.setdefault(key, message)
        self._last = (dict(given), values, dict(errors))
        return values


class Recalculator:
    """A workbook loaded and compiled once, recalculated with changed inputs.

    Two evaluators give the same values (tests compare them on every cell of the standard
    workbooks).  By default the workbook is loaded into a :class:`~xl_pricing.cellgraph.
    CellGraph`: ``formulas``' parser and functions, one plain dependency graph, no
    dispatcher (a cold load plus recalculation of the standard quote workbook in about
    0.4 s instead of 2.5–4 s).  A workbook that uses what the graph does not evaluate
    (links to other files, ``ISFORMULA``, ``LAMBDA``, circular references...), or in which
    a function raises instead of returning an Excel error, is evaluated by ``formulas``'
    own model, the reference, with the recorded-order replay described in
    :class:`_Replay`; so is every workbook with ``graph=False``.

    Args:
        path: the .xlsx (or .xlsm) file; it is only read.
        graph: use the cell graph where it applies (``False``: always ``formulas``'
            model).

    Raises:
        RecalcError: the file is not a readable workbook, or a formula calls a function
            or names something the engine does not know, or a circular reference.

    Attributes:
        names: the workbook's defined names as spelt in it.
        evaluator: ``"graph"`` or ``"formulas"``, whichever computes the next values.
    """

    def __init__(self, path: str | Path, *, graph: bool = True):
        self.path = Path(path)
        self.source = str(path)
        _check_file(self.path, self.source)
        register_udfs()
        self._load_errors: dict[str | None, str] = {}
        self._model: formulas.ExcelModel | None = None
        self._graph: CellGraph | None = None
        if graph:
            try:
                with _loading():
                    self._graph = CellGraph(self.path)
            except Exception:  # noqa: BLE001 - Unsupported: formulas' model evaluates it;
                pass           # unreadable: formulas' model says precisely why
        if self._graph is None:
            self.book = self._load_model()
            self._name_keys = {key.rpartition("!")[2]: key
                               for key, c in self.model.cells.items() if isinstance(c, Ref)}
        else:
            self.book = self._graph.book
            self._name_keys = dict(self._graph.names)
        self._filename = self.path.name
        self.sheets = {ws.title.upper(): ws.title for ws in self.book.worksheets}
        defined = {n.name: n for n in self.book.defined_names.values()
                   if not n.hidden and n.localSheetId is None}
        self.names = sorted(defined)
        self._defined = {n.upper(): defined[n] for n in defined}
        # (A formula the graph loaded has no unknown function, name or sheet: it refuses
        # those, and formulas' model, loaded instead, is checked here.)
        problems = (_name_clashes(defined)
                    + (self._formula_problems() if self._graph is None else [])
                    or self._cycle_problems())
        if problems:
            raise RecalcError(problems, self.source)
        self._ranges: dict[str, list[tuple[int, int, int, int]]] | None = None
        self._replays: dict[frozenset[str], _Replay] = {}

    @property
    def evaluator(self) -> str:
        return "formulas" if self._graph is None else "graph"

    @property
    def model(self) -> formulas.ExcelModel:
        """``formulas``' compiled model of the workbook (loaded when first needed)."""
        if self._model is None:
            self._load_model()
        assert self._model is not None
        return self._model

    def _load_model(self) -> Any:
        """Load ``formulas``' model; its workbook."""
        model = _Model()
        try:
            with _recording(self._load_errors), _loading():
                self._model = model.loads(str(self.path)).finish()
        except _CellFailure as exc:
            titles = [ws.title for data in model.books.values() if BOOK in data
                      for ws in data[BOOK].worksheets]
            sheet = next((t for t in titles if t.upper() == str(exc.sheet).upper()),
                         exc.sheet)
            raise RecalcError([CellProblem(sheet, exc.cell, exc.reason())],
                              self.source) from None
        except Exception as exc:  # noqa: BLE001 - openpyxl/formulas: any unreadable file
            raise RecalcError([CellProblem(None, None, "cannot be read as an .xlsx "
                                           f"workbook ({type(exc).__name__}: {exc})")],
                              self.source) from None
        return next(iter(self._model.books.values()))[BOOK]

    # -- public ---------------------------------------------------------------------------

    def calculate(self, inputs: Mapping[str, Any] | None = None) -> Recalculation:
        """Recalculate with ``inputs`` (defined names or cell references → new values) and
        return every defined name's value and the cells XLP_ functions rejected."""
        given = self._input_values(inputs or {})
        errors: dict[str | None, str] = {}
        solution: Mapping[Any, Any] | None = None
        if self._graph is not None and self._graph.takes(given):
            with _recording(errors):
                try:
                    solution = self._graph.evaluate(given)
                except OffGraph:  # formulas' model decides, from now on
                    self._graph = None
                    errors.clear()
        if solution is None:
            solution = self._dispatch(given, errors)
        values = {name: _python(solution.get(self._name_keys.get(name.upper())))
                  for name in self.names}
        return Recalculation(values, self._udf_problems({**self._load_errors, **errors},
                                                        solution))

    def _dispatch(self, given: dict[str, Any],
                  errors: dict[str | None, str]) -> Mapping[Any, Any]:
        """Every node's value through ``formulas``' model (its dispatcher, or the replay of
        the order it recorded for these input cells)."""
        keys = frozenset(given)
        with _recording(errors):
            replay = self._replays.get(keys)
            if replay is None or not replay.exact:
                # First time with these input cells (formulas finds the way and it is
                # recorded), or a workbook whose evaluation cannot be replayed exactly.
                with _collector_paused():
                    solution = self.model.calculate(inputs=given)
                if replay is None:
                    if len(self._replays) >= _REPLAYS_KEPT:  # bounded: drop the oldest
                        del self._replays[next(iter(self._replays))]
                    self._replays[keys] = _Replay(self.model, solution, keys)
                return solution
            replayed = replay.run(given, errors)
            if replayed is not None:
                return replayed
            errors.clear()  # off the recorded path: the dispatcher decides
            return self.model.calculate(inputs=given)

    def values(self, inputs: Mapping[str, Any] | None = None, *,
               strict: bool = True) -> dict[str, Any]:
        """``{defined name: value}`` after recalculating with ``inputs``.

        A single cell gives a scalar, a range a list of lists (``None`` for an empty
        cell), an Excel error its text (``"#DIV/0!"``).  With ``strict`` (the default) a
        cell that an XLP_ function turned into an error raises :class:`RecalcError` with
        the function's message.
        """
        result = self.calculate(inputs)
        if strict and result.errors:
            raise RecalcError(result.errors, self.source)
        return result.values

    # -- inputs ---------------------------------------------------------------------------

    def _input_values(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        problems = []
        for ref, value in inputs.items():
            try:
                out.update(_spread(self._input_keys(str(ref)), value))
            except _Missing as exc:
                problems.append(CellProblem(None, str(ref), exc.reason))
        if problems:
            raise RecalcError(problems, self.source)
        return out

    def _input_keys(self, ref: str) -> list[list[str]]:
        """The ``formulas`` keys of the cells an input sets, row by row."""
        sheet, cells = _split_ref(ref)
        if sheet is None:
            name = self._defined.get(cells.upper())
            if name is None:
                if _A1.fullmatch(cells):
                    raise _Missing("expected Sheet!Cell (a cell reference names its sheet)")
                raise _Missing(f"not a defined name or cell of {self._filename} (defined "
                               f"names: {', '.join(self.names) or 'none'})")
            try:
                dests = list(name.destinations)
            except Exception:  # noqa: BLE001 - openpyxl fails on a name holding a formula
                dests = []    # (Base*2) or another name (Base): not cells
            if len(dests) != 1:  # a constant or formula name: set the name itself
                key = self._name_keys.get(name.name.upper())
                if key is None:
                    raise _Missing(f"the name refers to {name.value}, not to cells")
                return [[key]]
            sheet, cells = dests[0]
        if sheet.upper() not in self.sheets:
            raise _Missing(f"no sheet {sheet!r} in {self._filename}")
        try:
            rng = Ranges.get_range(f"{_quote_sheet(sheet)}!{cells}",
                                   {"filename": self._filename})
        except Exception:  # noqa: BLE001 - formulas' parser: not a reference
            raise _Missing("not a cell reference such as Sheet1!B2") from None
        keys = [[self._cell_key(sheet, c, r) for c in range(rng["n1"], rng["n2"] + 1)]
                for r in range(int(rng["r1"]), int(rng["r2"]) + 1)]
        unused = [k for row in keys for k in row if not self._used(k)]
        if unused:
            cell = "" if len(keys) == len(keys[0]) == 1 else f"{self._display(unused[0])} "
            raise _Missing(f"{cell}not used by any formula or defined name (the value "
                           "would change nothing)")
        return keys

    def _cell_key(self, sheet: str, col: int, row: int) -> str:
        ref = f"{_quote_sheet(sheet)}!{get_column_letter(col)}{row}"
        return Ranges.get_range(ref, {"filename": self._filename})["name"]

    def _used(self, key: str) -> bool:
        """A cell the model reads: one of its nodes, or inside a range some formula uses."""
        if self._graph is not None:
            return self._graph.used(key)
        if key in self.model.dsp.nodes:
            return True
        rng = Ranges.get_range(key)
        return any(n1 <= rng["n1"] <= n2 and r1 <= int(rng["r1"]) <= r2
                   for n1, n2, r1, r2 in self._range_index().get(rng["sheet_id"], ()))

    def _range_index(self) -> dict[str, list[tuple[int, int, int, int]]]:
        if self._ranges is None:
            self._ranges = {}
            for key in self.model.dsp.data_nodes:
                if isinstance(key, str) and ":" in key and not isinstance(key, sh.Token):
                    try:
                        r = Ranges.get_range(key)
                    except Exception:  # noqa: BLE001 - not a range (a name, a token)
                        continue
                    self._ranges.setdefault(r["sheet_id"], []).append(
                        (r["n1"], r["n2"], int(r["r1"]), int(r["r2"])))
        return self._ranges

    # -- problems -------------------------------------------------------------------------

    def _display(self, key: str) -> str:
        return self._where(key, "").where

    def _where(self, key: Any, reason: str) -> CellProblem:
        """A ``formulas`` key (``'[b.xlsx]SHEET1'!B3``, ``'[b.xlsx]'!HOURS``) as the
        workbook spells it."""
        head, bang, ref = str(key).rpartition("!")
        sheet = head.strip("'").partition("]")[2] if bang else ""
        if not sheet:
            name = self._defined.get(ref.upper())
            return CellProblem(None, name.name if name else ref, reason)
        return CellProblem(self.sheets.get(sheet.upper(), sheet), ref, reason)

    def _formula_problems(self) -> list[CellProblem]:
        functions = formulas.functions.get_functions()
        names, sheets = set(self._defined), set(self.sheets)
        out = []
        for ws in self.book.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    text = _formula_text(c.value)
                    if text is None:
                        continue
                    for reason in formula_problems(text, functions, names, sheets):
                        out.append(CellProblem(ws.title, c.coordinate, f"{reason} in {text}"))
        for name in self._defined.values():
            for reason in formula_problems(f"={name.value}", functions, names, sheets):
                out.append(CellProblem(None, name.name, f"{reason} in ={name.value}"))
        return out

    def _cycle_problems(self) -> list[CellProblem]:
        if self._graph is not None:
            return []  # (a graph with a cycle is refused: formulas' model reports it)
        cycle = find_cycle(self.model)
        if not cycle:
            return []
        data = self.model.dsp.data_nodes
        ring = [k for k in cycle[:-1] if k in data and not isinstance(k, sh.Token)]
        spots = [self._where(k, "") for k in ring]
        start = next((i for i, p in enumerate(spots)
                      if p.sheet and p.cell and ":" not in p.cell), 0)
        ring = ring[start:] + ring[:start]  # start at a cell, not a name or a range
        path = [self._display(k) for k in [*ring, ring[0]]]
        return [self._where(ring[0], "circular reference: " + " → ".join(path))]

    def _udf_problems(self, errors: Mapping[str | None, str],
                      solution: Mapping[Any, Any]) -> list[CellProblem]:
        """The XLP_ messages of cells that are errors, in the workbook's order (a message
        without a place first; then sheet by sheet, row by row), whichever evaluator
        found them in whichever order."""
        out = []
        for key, message in errors.items():
            if key is None:
                out.append(CellProblem(None, None, message))
            elif _has_error(solution.get(key)):
                out.append(self._where(key, message))
        sheets = {title: i for i, title in enumerate(self.sheets.values())}
        return sorted(out, key=lambda p: _position(p, sheets))


def _position(problem: CellProblem, sheets: Mapping[str, int]) -> tuple[Any, ...]:
    """Where ``problem`` stands in a workbook: (sheet number, row, column); a problem
    without a sheet comes first.

    >>> _position(CellProblem("Calc", "B12:C14", ""), {"Project": 0, "Calc": 1})
    (1, 12, 2)
    """
    if problem.sheet is None:
        return (-1, 0, 0, problem.cell or "")
    top_left = problem.cell.split(":")[0] if problem.cell else "A1"
    try:
        col, row = coordinate_from_string(top_left.replace("$", ""))
    except ValueError:
        return (sheets.get(problem.sheet, len(sheets)), 0, 0)
    return (sheets.get(problem.sheet, len(sheets)), row, column_index_from_string(col))


class _Missing(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _check_file(path: Path, source: str) -> None:
    def fail(reason: str) -> NoReturn:
        raise RecalcError([CellProblem(None, None, reason)], source)

    if not path.is_file():
        fail("no such file")
    if path.suffix.lower() not in SUFFIXES:
        fail(f"expected an .xlsx workbook, not a {path.suffix or 'file without suffix'}")
    if not zipfile.is_zipfile(path):
        fail("not an .xlsx workbook (not a zip archive)")


def _name_clashes(names: Iterable[str]) -> list[CellProblem]:
    """Defined names that differ only in case: one name to Excel (and to ``formulas``).

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


def _formula_text(value: Any) -> str | None:
    text = getattr(value, "text", value)  # openpyxl's ArrayFormula keeps it in .text
    if isinstance(text, str) and text.startswith("=") and len(text) > 1:
        return text
    return None


def _spread(keys: list[list[str]], value: Any) -> dict[str, Any]:
    """Input values per cell key: a scalar for one cell, a list of lists for a range."""
    if len(keys) == 1 and len(keys[0]) == 1:
        if isinstance(value, (list, tuple)):  # [[v]] is one value too
            if len(value) != 1 or not isinstance(value[0], (list, tuple)) \
                    or len(value[0]) != 1:
                raise _Missing("expected one value, not a table")
            value = value[0][0]
        return {keys[0][0]: _excel_input(value)}
    rows = value if isinstance(value, (list, tuple)) else None
    if rows is None or len(rows) != len(keys) or any(
            not isinstance(r, (list, tuple)) or len(r) != len(k) for r, k in zip(rows, keys)):
        raise _Missing(f"expected {len(keys)} rows × {len(keys[0])} columns of values")
    return {k: _excel_input(v) for krow, vrow in zip(keys, rows) for k, v in zip(krow, vrow)}


def _excel_input(value: Any) -> Any:
    """A Python input as a cell value: dates as serial numbers, Decimal as a number,
    ``None`` an empty cell (in the form ``formulas`` gives cells it creates empty, as an
    array: a defined name holding a constant takes it as it is, and a list there would
    reach formulas as text-like junk, ``#VALUE!``).

    >>> _excel_input(None), _excel_input(Decimal("2.50"))
    (array([[empty]], dtype=object), 2.5)
    """
    if value is None:
        return np.array([[sh.EMPTY]], dtype=object)
    return value if isinstance(value, bool) else _excel_scalar(value)


def _has_error(value: Any) -> bool:
    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        return any(isinstance(v, XlError) for v in value.ravel())
    return isinstance(value, XlError)


def _python(value: Any) -> Any:
    """A ``formulas`` result as plain Python: a scalar for one cell, a list of lists for a
    range, ``None`` for empty, Excel errors as text.

    >>> _python(np.array([[1, sh.EMPTY], [VALUE_ERROR, np.float64(2.5)]], dtype=object))
    [[1, None], ['#VALUE!', 2.5]]
    """
    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        rows = [[_plain(v) for v in row] for row in np.atleast_2d(value).tolist()]
        return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows
    return _plain(value)


def _plain(value: Any) -> Any:
    if value is sh.EMPTY or value is None:
        return None
    if isinstance(value, XlError):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return value


# -- command-line helpers ------------------------------------------------------------------

def parse_value(text: str) -> Any:
    """A value typed on the command line, as a cell would hold it.

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
    for conv in (int, float):
        try:
            number = conv(s.replace("_", "").replace(",", ""))
        except ValueError:
            continue
        if math.isfinite(number):  # "nan" and "inf" stay text
            return number
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return text


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


def recalc(path: str | Path, inputs: Mapping[str, Any] | None = None, *,
           strict: bool = True) -> dict[str, Any]:
    """Every defined name of the workbook at ``path`` with its value, recalculated with
    ``inputs``; see :class:`Recalculator` (use it directly to recalculate many times)."""
    return Recalculator(path).values(inputs, strict=strict)
