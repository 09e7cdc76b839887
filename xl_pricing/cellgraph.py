"""A workbook's cells as one dependency graph, evaluated with ``formulas``' own parser and
functions but without its dispatcher.

``formulas`` compiles every cell formula into a small ``schedula`` dispatcher of its own
(parsed, dispatched once to fold constants, dispatched again to record a pipe) and then
evaluates the workbook through one more dispatcher over all cells.  That is exact, and
slow to load: on the standard quote workbook (about 380 cell formulas and 260 defined
names) the dispatchers are nine tenths of a cold recalculation.  This module keeps what
decides the values and drops the machinery around them:

- each formula is tokenised by ``formulas``' :class:`~formulas.parser.Parser` and its
  tokens are compiled by ``formulas`` (``token.compile()``: the same operator and function
  objects, the same constants); only the builder that would have made a dispatcher of
  them is replaced by one that writes the steps down in evaluation order (:class:`_Steps`);
- a formula is evaluated as ``formulas``' compiled cell is: its references arrive as
  :class:`~formulas.ranges.Ranges` with the referenced cells' values, the steps run in
  order, the result goes through the same filters (references to values, empty to 0, the
  value shaped to the cell);
- a range is assembled from its cells as ``formulas``' ``RangesAssembler`` does (empty
  cells ``EMPTY``, cells of an array formula taken from its result);
- the cells, ranges and defined names are evaluated in one topological order
  (:mod:`graphlib`).

What it does not cover it refuses while loading, with :class:`Unsupported` -- external
workbooks, ``ISFORMULA`` (which reads the dispatcher), ``LAMBDA``/``LET``, dynamic anchors
(``A1#``), unknown functions, names and sheets, circular references, whole-column ranges --
and a function that raises while evaluating (instead of returning an Excel error) raises
:class:`OffGraph`; a value given to a name that only names another name or cell is not
taken (:meth:`CellGraph.takes`).  :class:`~xl_pricing.recalc.Recalculator` then uses
``formulas``' own model, whose answer in those cases (``#NAME?``, a cell left uncomputed,
a cycle report) is the reference.  Tests compare both on every cell of the standard
workbooks; about 2,000 random workbooks compared the same way, with random inputs, showed
no other difference when this was written.

Keys are ``formulas``' (``'[book.xlsx]SHEET1'!B2``, ``'[book.xlsx]SHEET1'!B2:B9``,
``'[book.xlsx]'!TOTAL``), so that messages and inputs work the same with either.
"""

from __future__ import annotations

import collections
import contextvars
import functools
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import schedula as sh
from formulas.builder import AstBuilder
from formulas.cell import CELL, Cell, Ref
from formulas.errors import FormulaError
from formulas.excel.xlreader import load_workbook
from formulas.functions import COMPILING, not_implemented, replace_empty, wrap_ranges_func
from formulas.parser import Parser
from formulas.ranges import Ranges, _assemble_values, _shape
from formulas.tokens.function import Function, Lambda
from formulas.tokens.operand import Error, Operand
from formulas.tokens.operator import Operator

__all__ = ["CALLER", "CellGraph", "OffGraph", "Unsupported"]

#: The ``formulas`` key of the cell being evaluated (read by the XLP_ adapters to say
#: which cell a message belongs to).
CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar("xlp_caller",
                                                                    default=None)

MAX_RANGE_CELLS = 100_000  # a bigger range (A:A) is left to formulas' model
_FUNCTION_KEYS = {"function", "extra_inputs", "solve_cycle"}  # solve_cycle: cycles only
NAME_ERROR = Error.errors["#NAME?"]


class Unsupported(Exception):
    """The workbook uses something this graph does not evaluate exactly (the reason)."""


class OffGraph(Exception):
    """A function raised while evaluating (``formulas``' model decides what follows)."""


# -- parsing: formulas' tokens, steps instead of a dispatcher --------------------------------

class _Steps(AstBuilder):
    """``formulas``' AST builder, writing the evaluation steps down instead of building a
    dispatcher: ``steps`` (function, input ids, output id) in evaluation order,
    ``constants`` (id → value, as ``formulas`` compiles each operand) and ``names`` (the
    ids of defined names).  Node ids are ``formulas``' (a token's expression)."""

    def __init__(self, dsp: Any = None, nodes: Any = None, match: Any = None):  # noqa: D107
        self._deque: collections.deque = collections.deque()
        self.match = match
        self.nodes: dict[Any, Any] = {}
        self.missing_operands: set[Any] = set()
        self.steps: list[tuple[Callable[..., Any], tuple[Any, ...], Any]] = []
        self.constants: dict[Any, Any] = {}
        self.names: set[Any] = set()
        self.ids: set[Any] = set()

    def append(self, token: Any) -> None:
        if isinstance(token, (Operator, Function)):
            if isinstance(token, Lambda) or token.attr.get("func_token"):
                raise Unsupported(f"function {token.name}")  # LAMBDA, LET, an unknown name
            try:
                tokens = [self.pop() for _ in range(token.get_n_args)][::-1]
            except IndexError:
                raise FormulaError() from None
            token.update_input_tokens(*tokens)
            inputs = [self.get_node_id(t) for t in tokens]
            token.set_expr(*tokens)
            out = token.node_id
            if out in self.ids:
                self.nodes[token] = out  # the same expression again: the same value
            else:
                function = token.compile()
                if isinstance(function, dict):
                    function, extra = self._extra_inputs(token.name, function)
                    inputs = extra + inputs
                if function is not_implemented:  # (reported as a problem by recalc)
                    raise Unsupported(f"function {token.name}")
                self.steps.append((function, tuple(inputs), out))
                self.ids.add(out)
        elif isinstance(token, Operand):
            self.missing_operands.add(token)
        self._deque.append(token)

    def _extra_inputs(self, name: str, spec: Mapping[str, Any]) -> tuple[Any, list[Any]]:
        """A function ``formulas`` declares with extra inputs: the run flag (always False
        when a workbook is evaluated) and the calling cell are supported."""
        extra = dict(spec.get("extra_inputs", {}))
        if set(spec) - _FUNCTION_KEYS or set(extra) - {COMPILING, CELL}:
            raise Unsupported(f"function {name}")
        for key in extra:
            self.constants.setdefault(key, False if key is COMPILING else None)
        return spec["function"], list(extra)

    def get_node_id(self, token: Any) -> Any:
        if token in self.nodes:
            return self.nodes[token]
        if isinstance(token, Operand):
            self.missing_operands.discard(token)
            token.set_expr()
            node_id = token.node_id
            if token.attr.get("is_reference", False):
                if token.attr.get("anchor"):
                    raise Unsupported("a dynamic array reference (A1#)")
                self.names.add(node_id)
            else:
                self.constants[node_id] = token.compile()
            self.ids.add(node_id)
        else:
            node_id = token.node_id
        self.nodes[token] = node_id
        return node_id


class _StepParser(Parser):
    ast_builder = _Steps


class _GraphCell(Cell):
    parser = _StepParser(True)


class _GraphRef(Ref):
    parser = _StepParser(True)


# -- compiled formulas ----------------------------------------------------------------------

_TO_VALUE = wrap_ranges_func(sh.bypass)  # formulas' output filter: a reference → its values


@dataclass(frozen=True)
class _Formula:
    """One formula (of a cell, an array formula's area, or a defined name), compiled.

    ``refs``: (node id, graph key, ranges of the reference or ``None`` for a defined name);
    ``rng``: the cell's (or area's) range, ``None`` for a name (whose value is not
    reshaped); ``to_value``: the result of a reference turned into its values (cells
    always; names only when they read nothing, as ``formulas``' ``Ref`` does).  An XLP_
    function's message names the cell (``caller``); in a name it names no place, as with
    ``formulas``' model.
    """

    key: str
    steps: tuple[tuple[Callable[..., Any], tuple[Any, ...], Any], ...]
    constants: Mapping[Any, Any]
    refs: tuple[tuple[Any, str, Any], ...]
    output: Any
    rng: Mapping[str, Any] | None
    to_value: bool

    @property
    def caller(self) -> str | None:
        return None if self.rng is None else self.key

    @property
    def alias(self) -> str | None:
        """What a defined name that only names one thing (``=Other``, ``=(Sheet1!$A$1)``)
        names; else ``None``."""
        if self.rng is None and not self.steps and len(self.refs) == 1:
            return self.refs[0][1]
        return None

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """This formula's value (as ``formulas``' model stores it) from the graph's
        ``values``."""
        token = CALLER.set(self.caller)
        try:
            node = dict(self.constants)
            for node_id, key, ranges in self.refs:
                value = values[key]
                if isinstance(value, Ranges):  # a fresh reference carrying the values
                    ref = Ranges(value.ranges if ranges is None else ranges)
                    ref.values.update(value.values)
                    value = ref
                node[node_id] = value
            try:
                for function, inputs, out in self.steps:
                    result = function(*[node[i] for i in inputs])
                    if result is sh.NONE:
                        raise OffGraph(f"{self.key}: {out} gave no value")
                    node[out] = result
                result = node[self.output]
            except NotImplementedError:
                result = NAME_ERROR  # (formulas' cell wrapper answers the same)
            if self.to_value:
                result = _TO_VALUE(result)
                if result is sh.NONE:
                    raise OffGraph(f"{self.key}: a reference without values")
        except OffGraph:
            raise
        except Exception as exc:  # noqa: BLE001 - formulas' model decides what follows
            raise OffGraph(f"{self.key}: {type(exc).__name__}: {exc}") from exc
        finally:
            CALLER.reset(token)
        result = replace_empty(result)
        return result if self.rng is None else Ranges().set_value(self.rng, result)


def _formula(cell: Cell, key: str, names: set[str], book: str,
             rng: Mapping[str, Any] | None, to_value: bool) -> _Formula:
    """``cell``'s parsed formula compiled as ``formulas`` compiles it (its references
    become inputs; ``names``: the workbook's name keys; ``book``: the key prefix of its
    cells, ``'[book.xlsx]``)."""
    builder: _Steps = cell.builder
    output = builder.get_node_id(builder[-1])
    constants: dict[Any, Any] = {}
    refs = []
    for node_id, value in builder.constants.items():
        if node_id is CELL:  # the calling cell itself (ROW(), COLUMN())
            constants[node_id] = cell.range
            continue
        if value is sh.EMPTY:  # ("no value" to schedula): a cell or range reference
            try:
                value = Ranges().push(node_id)
            except Exception:  # noqa: BLE001 - not a reference formulas can read
                raise Unsupported(f"reference {node_id}") from None
        if isinstance(value, Ranges):
            if len(value.ranges) != 1 or value.values:
                raise Unsupported(f"reference {node_id}")
            r = value.ranges[0]
            if r.get("anchor") or not str(r["name"]).startswith(book):
                raise Unsupported(f"reference {node_id}")
            refs.append((node_id, r["name"], value.ranges))
        else:
            constants[node_id] = value
    for node_id in builder.names:
        if node_id not in names:
            raise Unsupported(f"name {node_id} (not a defined name of the workbook)")
        refs.append((node_id, node_id, None))
    return _Formula(key, tuple(builder.steps), constants, tuple(refs), output, rng,
                    to_value or not refs)


# -- ranges and cells without a value of their own ------------------------------------------

@dataclass(frozen=True)
class _Assembly:
    """A range (or a cell that has no value of its own) assembled from the graph: cells
    (index → key), array formula areas (keys) and any given value of a cell in it."""

    key: str
    rng: Mapping[str, Any]
    cells: tuple[tuple[int, int, str], ...]   # (row, column) offsets and the cell's key
    areas: tuple[str, ...]
    empty: tuple[tuple[int, int, str], ...]   # offsets of the cells left empty, and keys

    def evaluate(self, values: Mapping[str, Any]) -> Ranges:
        out = np.empty(_shape(**self.rng), object)
        out[:] = sh.EMPTY
        for key in self.areas:
            _assemble_values(self.rng, values[key].values, out)
        for i, j, key in self.cells:
            out[i:i + 1, j:j + 1] = values[key].value
        for i, j, key in self.empty:
            given = values.get(key)
            if given is not None:  # a value given for an empty cell
                out[i:i + 1, j:j + 1] = given.value if isinstance(given, Ranges) else given
        return Ranges().set_value(self.rng, out)


# -- the graph --------------------------------------------------------------------------------

class CellGraph:
    """A workbook loaded into one graph of cells, ranges and defined names.

    Args:
        path: the .xlsx file; it is only read.

    Raises:
        Unsupported: the workbook uses what the graph does not evaluate (the reason).
        FormulaError, OSError, ...: ``formulas``/openpyxl could not read it (the caller
            decides; ``formulas``' model reports such files precisely).

    Attributes:
        book: the workbook as ``formulas``' reader loads it (dates as serial numbers).
        names: defined name (upper case) → its key.
    """

    def __init__(self, path: str | Path):
        path = Path(path)
        self.book = book = load_workbook(str(path), data_only=False)
        if book._external_links:
            raise Unsupported("links to other workbooks")
        filename = path.name
        base = {"directory": "", "filename": filename, "excel": filename.upper(),
                "external_links": {}}
        self.filename = filename
        self._book = f"'[{filename}]"
        self._constants: dict[str, Ranges] = {}
        self._formulas: dict[str, _Formula] = {}
        self._areas: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}  # sheet id → areas
        self._cells: dict[str, dict[tuple[int, int], str]] = {}           # sheet id → cells
        self.names: dict[str, str] = {}

        defined = [n for n in book.defined_names.values()
                   if not n.hidden and n.localSheetId is None]
        refs = [_GraphRef(n.name.upper(), f"={n.value}", base) for n in defined]
        for ref in refs:
            self.names[ref.output.rpartition("!")[2]] = ref.output
        name_keys = set(self.names.values())
        self._sheets = {f"{self._book}{ws.title.upper()}'" for ws in book.worksheets}
        for ws in book.worksheets:
            self._load_sheet(ws, dict(base, sheet=ws.title.upper()), name_keys)
        for ref in refs:
            self._formulas[ref.output] = _formula(ref, ref.output, name_keys, self._book,
                                                  None, False)
        self._assemblies = self._assemble()
        self._empty = {k for a in self._assemblies.values() for *_, k in a.empty}
        self._in_areas = {_cell_key(sheet, r, n) for sheet, areas in self._areas.items()
                          for _, a in areas for r in range(int(a["r1"]), int(a["r2"]) + 1)
                          for n in range(a["n1"], a["n2"] + 1)}
        self._aliases = {k: f.alias for k, f in self._formulas.items() if f.alias}
        self.order = self._order()

    def _load_sheet(self, ws: Any, context: dict[str, Any], names: set[str]) -> None:
        areas = {coord: ref for coord, ref in ws.array_formulae.items()}
        area_ranges = [Ranges().push(ref, context=context) for ref in areas.values()]
        for cell in ws._cells.values():
            value = getattr(cell, "value", None)
            if value is None:
                continue
            coord = areas.get(cell.coordinate, cell.coordinate)
            if cell.data_type == "f":
                if not isinstance(value, str):
                    value = value.text
                value = value[1:] if value[:2] == "==" else value
            elif cell.data_type == "n" and isinstance(value, float):
                value = round(value, 15)  # (as formulas reads numbers)
            parsed = _GraphCell(coord, value, context=context,
                                check_formula=cell.data_type != "s")
            key, rng = parsed.output, parsed.range.ranges[0]
            if key in self._formulas or key in self._constants:
                continue
            if parsed.builder is None:
                if parsed.value is sh.EMPTY or any(
                        not (parsed.range - a).ranges for a in area_ranges):
                    continue  # (a cached value inside an array formula's area)
                self._constants[key] = Ranges().set_value(rng, parsed.value)
                self._cells.setdefault(rng["sheet_id"], {})[
                    (int(rng["r1"]), rng["n1"])] = key
            else:
                self._formulas[key] = _formula(parsed, key, names, self._book, rng, True)
                if rng["n1"] != rng["n2"] or rng["r1"] != rng["r2"]:  # an array formula
                    self._areas.setdefault(rng["sheet_id"], []).append((key, rng))
                else:
                    self._cells.setdefault(rng["sheet_id"], {})[
                        (int(rng["r1"]), rng["n1"])] = key

    def _assemble(self) -> dict[str, _Assembly]:
        """Every referenced range, and referenced cell without a value of its own."""
        out: dict[str, _Assembly] = {}
        wanted = {key for f in self._formulas.values() for _, key, _ in f.refs}
        for key in sorted(wanted):
            if key in self._formulas or key in self._constants:
                continue
            rng = Ranges.get_range(key)
            rows, cols = _shape(**rng)
            if rows * cols > MAX_RANGE_CELLS:
                raise Unsupported(f"range {key} ({rows * cols} cells)")
            r1, n1, sheet = int(rng["r1"]), rng["n1"], rng["sheet_id"]
            if sheet not in self._sheets:  # (formulas: #REF!)
                raise Unsupported(f"reference {key} to a sheet the workbook does not have")
            cells = self._cells.get(sheet, {})
            areas, taken = [], set()
            for k, a in self._areas.get(sheet, ()):
                top, bottom = max(r1, int(a["r1"])), min(r1 + rows, int(a["r2"]) + 1)
                spots = {(r, n) for r in range(top, bottom)
                         for n in range(max(n1, a["n1"]), min(n1 + cols, a["n2"] + 1))}
                if spots:
                    areas.append(k)
                    taken |= spots
            found, empty = [], []
            for r in range(r1, r1 + rows):
                for n in range(n1, n1 + cols):
                    if (r, n) in taken:
                        continue
                    if (r, n) in cells:
                        found.append((r - r1, n - n1, cells[(r, n)]))
                    else:
                        empty.append((r - r1, n - n1, _cell_key(sheet, r, n)))
            out[key] = _Assembly(key, rng, tuple(found), tuple(areas), tuple(empty))
        return out

    def _order(self) -> list[str]:
        graph: dict[str, Iterable[str]] = {}
        for key, f in self._formulas.items():
            graph[key] = {k for _, k, _ in f.refs}
        for key, a in self._assemblies.items():
            graph[key] = {k for *_, k in a.cells} | set(a.areas)
        try:
            return [k for k in TopologicalSorter(graph).static_order()
                    if k in self._formulas or k in self._assemblies]
        except CycleError:
            raise Unsupported("a circular reference") from None

    # -- queries ------------------------------------------------------------------------------

    def used(self, key: str) -> bool:
        """``key`` (a cell) is read by the graph: a cell with a value or formula, a cell of
        an array formula's area, or a cell of a range some formula or name reads."""
        return (key in self._constants or key in self._formulas or key in self._assemblies
                or key in self._empty or key in self._in_areas)

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every key's value, the cells ``given`` (key → value, as ``formulas``' model takes
        inputs) set instead of their own value or formula.

        Raises:
            OffGraph: a function raised instead of returning an Excel error.
        """
        given = given or {}
        values: dict[str, Any] = dict(self._constants)
        for key, value in given.items():
            values[key] = _given(key, value)
        formulas, assemblies = self._formulas, self._assemblies
        skip = set(given)
        for key in self.order:
            if key in skip:
                continue
            node = formulas.get(key) or assemblies[key]
            values[key] = node.evaluate(values)
        return values


    def takes(self, given: Mapping[str, Any]) -> bool:
        """Whether the graph evaluates these inputs as ``formulas``' model does: not when
        one is given to a name that only names another name or cell (``=Other``,
        ``=(Sheet1!$A$1)``), which the model may push on to what it names."""
        return not any(key in self._aliases for key in given)


def _given(key: str, value: Any) -> Any:
    """An input as ``formulas``' model stores it: a cell's value shaped to the cell; a
    defined name's as it is."""
    if "]'!" in key:  # '[book.xlsx]'!NAME
        return value
    return Ranges().set_value(Ranges.get_range(key), value)


@functools.lru_cache(maxsize=65536)
def _cell_key(sheet_id: str, row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{sheet_id}!{get_column_letter(col)}{row}"
