"""The office map: which cells of an office's own workbook hold which project inputs, and
which hold which of the engine's figures.

A TOML file (read like cards and projects, with :func:`xl_pricing.tomlio.read_document`)::

    [map]
    workbook = "申込書.xlsx"        # optional, informative
    new_form = "B"                 # optional: the new form's choice [A] or [B] (default A)

    [values]                       # project keys the workbook does not hold
    contract = "joint"
    approach = "A"

    [inputs]                       # project key = one cell
    start = "'申込書'!D6"
    "direct.consumables" = "'積算'!F13"

    [[tables]]                     # rows of a list: researchers, direct items ...
    key = "researchers"
    range = "'積算'!B6:D8"
    columns = ["name", "rank", "hours"]    # "" skips a column

    [outputs]                      # engine figure = cell (or a list of cells)
    total = "'申込書'!F14"
    "lines.fa" = "'積算'!F20"
    "form.indirect" = ["'申込書'!F12", "'見積'!D9"]

Input keys are the dotted project keys :func:`xl_pricing.cells.project_from_pairs` takes
(``start``, ``project.start``, ``direct.1.amount``, ``direct.<category>``,
``researchers.2.hours``, ``total.agreed`` ...); output keys are those of
:mod:`xl_pricing.office.figures`.  A blank row of a table is skipped; its rows are numbered
from 1 in order.
"""

from __future__ import annotations

import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import pydantic
from pydantic import BaseModel, ConfigDict

from ..cells import project_from_pairs, split_ref
from ..errors import InputError
from ..project import Project
from ..readback import Layout, read_layout
from ..tomlio import read_document
from .figures import OUTPUT_KEYS, is_output_key

MAX_ROW, MAX_COL = 1_048_576, 16_384  # Excel's last cell, XFD1048576
MAP_LIMIT = 1024 * 1024
SECTIONS = ("map", "values", "inputs", "tables", "outputs")
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")


class Table(BaseModel):
    """Rows of one project list (``researchers``, ``direct`` ...) read from a range."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    range: str
    columns: tuple[str, ...]


class OfficeMap(BaseModel):
    """A validated office map (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = "office map"
    workbook: str | None = None
    new_form: Literal["A", "B"] = "A"
    values: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    tables: tuple[Table, ...] = ()
    outputs: dict[str, tuple[str, ...]] = {}

    def input_cells(self) -> dict[str, str]:
        """Every mapped single input cell by project key (tables not included)."""
        return dict(self.inputs)


# -- project keys ---------------------------------------------------------------------------

def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated[...]`` and ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _list_item(t: Any) -> Any | None:
    """The model of a ``list[Model]`` field, else ``None``."""
    if typing.get_origin(t) is list:
        (item,) = typing.get_args(t)
        item = _unwrap(item)
        return item if _is_model(item) else None
    return None


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {name: _unwrap(f.annotation) for name, f in model.model_fields.items()}


def key_problem(key: str) -> str | None:
    """What is wrong with a project key, or ``None`` for a key a project has.

    >>> key_problem("researchers.2.hours"), key_problem("direct.consumables")
    (None, None)
    >>> key_problem("researchers.x.hours")
    'a row number (1, 2, ...) after researchers'
    """
    parts = key.strip().split(".")
    if not all(parts):
        return "a dotted key without empty parts"
    info = _fields(Project)["project"]
    if parts[0] in _fields(info):
        parts.insert(0, "project")
    if parts[0] in ("direct", "options") and len(parts) == 2 and not parts[1].isdecimal():
        return None  # the short forms direct.<category> = amount, options.<name> = TRUE
    model: Any = Project
    where = ""
    i = 0
    while i < len(parts):
        fields = _fields(model)
        name = parts[i]
        if name not in fields:
            return f"one of {', '.join(fields)}" + (f" after {where}" if where else "")
        t = fields[name]
        where = ".".join(parts[:i + 1])
        i += 1
        item = _list_item(t)
        if item is not None or typing.get_origin(t) is list:
            if i >= len(parts) or not parts[i].isdecimal() or int(parts[i]) < 1:
                return f"a row number (1, 2, ...) after {where}"
            i += 1
            if item is None:
                return None if i == len(parts) else f"nothing after {where}.{parts[i - 1]}"
            if where == "options" and i == len(parts):
                return None  # options.1 = "know_how"
            if i >= len(parts):
                return f"a column after {where}.{parts[i - 1]}: {', '.join(_fields(item))}"
            model = item
        elif _is_model(t):
            if i >= len(parts):
                return f"a key below {where}: {', '.join(_fields(t))}"
            model = t
        elif typing.get_origin(t) is dict:
            return None if i == len(parts) - 1 else f"one key below {where}"
        else:
            return None if i == len(parts) else f"nothing below {where} (a value)"
    return f"a complete key below {where}"


def table_columns(key: str) -> tuple[str, ...] | None:
    """The columns a table of ``key`` may have (the fields of its rows), or ``None`` when
    ``key`` is not a list of the project.

    >>> table_columns("researchers")[:3]
    ('name', 'rank', 'rate_source')
    """
    model: Any = Project
    parts = key.strip().split(".")
    for n, part in enumerate(parts):
        fields = _fields(model) if _is_model(model) else {}
        if part not in fields:
            return None
        t = fields[part]
        if n == len(parts) - 1:
            item = _list_item(t)
            return tuple(_fields(item)) if item is not None else None
        model = t
    return None


# -- references -----------------------------------------------------------------------------

def _bounds(ref: str) -> tuple[str, tuple[int, int, int, int]] | str:
    """(sheet, (min_col, min_row, max_col, max_row)) of ``'Sheet'!A1[:B2]``, or what is
    wrong with it.  The corners may come in either order (Excel reads ``F14:F10`` as
    ``F10:F14``).

    >>> _bounds("'積算'!D8:B6")
    ('積算', (2, 6, 4, 8))
    """
    from openpyxl.utils.cell import range_boundaries

    sheet, cells = split_ref(ref)
    if sheet is None or not sheet:
        return "a reference that names its sheet, such as 'Sheet1'!B2"
    ends = cells.split(":")
    if len(ends) > 2 or not all(_CELL.fullmatch(e.strip()) for e in ends):
        return "a cell or a range of cells after the sheet, such as 'Sheet1'!B2 or !B2:D9"
    try:
        c1, r1, c2, r2 = range_boundaries(":".join(e.strip() for e in ends).replace("$", ""))
    except ValueError:
        return "a cell inside the sheet (A1 to XFD1048576)"
    if not all(1 <= r <= MAX_ROW for r in (r1, r2)) or not all(
            1 <= c <= MAX_COL for c in (c1, c2)):
        return "a cell inside the sheet (A1 to XFD1048576)"
    return sheet, (min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))


def canonical_ref(ref: str) -> str:
    """A reference as this package writes it: quoted sheet, no ``$``, upper-case letters.

    >>> canonical_ref("Budget!$f$21"), canonical_ref("'申込書'!B6:d8")
    ("'Budget'!F21", "'申込書'!B6:D8")
    """
    found = _bounds(ref)
    if isinstance(found, str):
        return ref
    sheet, (c1, r1, c2, r2) = found
    one = _cell_ref(sheet, c1, r1)
    return one if (c1, r1) == (c2, r2) else f"{one}:{_cell_ref(sheet, c2, r2).split('!')[1]}"


def _ref(field: str, value: Any, source: str, sheets: list[str] | None,
         single: bool) -> tuple[str, tuple[int, int, int, int]]:
    if not isinstance(value, str):
        raise InputError(field, value, "a cell reference in quotes, such as \"'申込書'!F12\"",
                         source)
    found = _bounds(value)
    if isinstance(found, str):
        raise InputError(field, value, found, source)
    sheet, box = found
    if single and (box[0] != box[2] or box[1] != box[3]):
        raise InputError(field, value, "one cell, not a range", source)
    if sheets is not None and sheet not in sheets:
        same = [s for s in sheets if s.casefold() == sheet.casefold()]
        if not same:
            raise InputError(field, value, "a sheet of the workbook: " + ", ".join(sheets),
                             source)
    return sheet, box


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    """TOML tables flattened to dotted keys (``project.start = ...`` in TOML is a table)."""
    out: dict[str, Any] = {}
    for k, v in node.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(_flat(v, key))
        else:
            out[key] = v
    return out


def canonical_key(key: str) -> str:
    """``project.start`` and ``start`` are one key; ``researchers.01`` is ``researchers.1``."""
    parts = [str(int(p)) if p.isdecimal() and len(p) <= 9 else p
             for p in key.strip().split(".")]
    if parts and parts[0] == "project" and len(parts) == 2:
        parts = parts[1:]
    return ".".join(parts)


def parse_map(data: dict[str, Any], source: str = "office map",
              sheets: list[str] | None = None) -> OfficeMap:
    """Validate parsed map content; with ``sheets`` (the workbook's), every reference must
    name one of them.

    Raises:
        InputError: an unknown section or key, a bad reference, a missing sheet, a cell
            outside the sheet, a table whose columns are not project keys — naming the map
            file, the key and the value.
    """
    for section, content in data.items():
        if section not in SECTIONS:
            raise InputError(section, content, "a section of an office map: "
                             + ", ".join(f"[{s}]" for s in SECTIONS), source)
    for section in ("map", "values", "inputs", "outputs"):
        if not isinstance(data.get(section, {}), dict):
            raise InputError(section, data[section], f"a table [{section}]", source)
    head = data.get("map", {})
    for k in head:
        if k not in ("workbook", "new_form"):
            raise InputError(f"map.{k}", head[k], "workbook or new_form", source)
    choice = head.get("new_form", "A")
    if choice not in ("A", "B"):
        raise InputError("map.new_form", choice, "A (remuneration includes the expenses) "
                         "or B (it does not)", source)
    seen: dict[str, str] = {}

    def project_key(section: str, key: str, value: Any) -> str:
        problem = key_problem(key)
        if problem is not None:
            raise InputError(f"{section}.{key}", value, f"a project key: {problem}", source)
        canon = canonical_key(key)
        if canon in seen:
            raise InputError(f"{section}.{key}", value,
                             f"each project key once (given before as {seen[canon]})", source)
        seen[canon] = f"{section}.{key}"
        return key

    values = {project_key("values", k, v): v for k, v in _flat(data.get("values", {})).items()}
    inputs = {}
    for k, v in _flat(data.get("inputs", {})).items():
        _ref(f"inputs.{k}", v, source, sheets, single=True)
        inputs[project_key("inputs", k, v)] = v
    tables = []
    raw_tables = data.get("tables", [])
    if not isinstance(raw_tables, list):
        raise InputError("tables", raw_tables, "[[tables]] entries", source)
    for n, t in enumerate(raw_tables, start=1):
        field = f"tables[{n}]"
        if not isinstance(t, dict):
            raise InputError(field, t, "a table with key, range and columns", source)
        for k in t:
            if k not in ("key", "range", "columns"):
                raise InputError(f"{field}.{k}", t[k], "key, range or columns", source)
        key = t.get("key", InputError.MISSING)
        allowed = table_columns(key) if isinstance(key, str) else None
        if allowed is None:
            raise InputError(f"{field}.key", key, "a list of the project: researchers, "
                             "direct, contributions, options, total.allocations, "
                             "outcome.milestones, outcome.kpis, outcome.sales", source)
        _, box = _ref(f"{field}.range", t.get("range", InputError.MISSING), source, sheets,
                      single=False)
        cols = t.get("columns", InputError.MISSING)
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise InputError(f"{field}.columns", cols, "a list of column names such as "
                             "[\"name\", \"rank\", \"hours\"] (\"\" skips a column)", source)
        for c in cols:
            if c and c not in allowed:
                raise InputError(f"{field}.columns", c, f"a column of {key}: "
                                 + ", ".join(allowed) + ' (or "" to skip one)', source)
        named = [c for c in cols if c]
        if len(set(named)) != len(named) or not named:
            raise InputError(f"{field}.columns", cols, "each column name once, at least one",
                             source)
        width = box[2] - box[0] + 1
        if width != len(cols):
            raise InputError(f"{field}.columns", cols, f"one name per column of the range "
                             f"({width} columns)", source)
        prefix = canonical_key(key) + "."
        clash = [s for s in seen if s.startswith(prefix)]
        if clash:
            raise InputError(f"{field}.key", key, f"a list not also given key by key "
                             f"({seen[clash[0]]})", source)
        seen[canonical_key(key)] = field
        # Stored corner to corner (F14:F10 is F10:F14), as every reader takes it.
        tables.append(Table(key=key, range=canonical_ref(t["range"]), columns=tuple(cols)))
    outputs = {}
    taken: dict[str, str] = {}  # output cell -> its key
    for k, v in _flat(data.get("outputs", {})).items():
        if not is_output_key(k):
            raise InputError(f"outputs.{k}", v, "an engine figure: total, pre_tax_total, "
                             "mtdc, fa, lines.<component>, form.<box>, form_new.<box> ("
                             + ", ".join(OUTPUT_KEYS) + ")", source)
        refs = v if isinstance(v, list) and v else [v]
        for r in refs:
            _ref(f"outputs.{k}", r, source, sheets, single=True)
            cell = canonical_ref(r).casefold()  # Excel ignores the case of sheet names
            if cell in taken:
                raise InputError(f"outputs.{k}", r, f"a cell of its own (it is the cell of "
                                 f"outputs.{taken[cell]} too: one cell shows one figure) / "
                                 "一つのセルに二つの出力です", source)
            taken[cell] = k
        outputs[k] = tuple(refs)
    try:
        return OfficeMap(source=source, workbook=head.get("workbook"), new_form=choice,
                         values=values, inputs=inputs, tables=tuple(tables), outputs=outputs)
    except pydantic.ValidationError as exc:  # a workbook name that is not text
        raise InputError("map.workbook", head.get("workbook"), "a file name", source) \
            from exc


def workbook_sheets(workbook: str | os.PathLike[str], field: str = "WORKBOOK") -> list[str]:
    """The sheet names of a user's workbook (checked first, read only)."""
    import openpyxl

    from ..xlsx import check_workbook

    check_workbook(workbook, field)
    try:
        wb = openpyxl.load_workbook(workbook, read_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl: any unreadable file
        raise InputError(field, str(workbook), "an .xlsx workbook openpyxl can read "
                         f"({type(exc).__name__}: {exc})") from None
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def load_map(path: str | os.PathLike[str], workbook: Path | None = None) -> OfficeMap:
    """Read and validate an office map (``.toml`` or ``.json``); with ``workbook``, also
    that every sheet it names exists there.

    Raises:
        InputError: naming the map file, the key, the value and what was expected.
    """
    p = Path(path)
    if p.suffix.lower() not in (".toml", ".json"):
        raise InputError("--map", str(p), "an office map file ending in .toml or .json")
    data = read_document(p, MAP_LIMIT)
    sheets = workbook_sheets(workbook) if workbook is not None else None
    return parse_map(data, str(p), sheets)


# -- reading the inputs ---------------------------------------------------------------------

_INDEX = re.compile(r"\[(\d+)\]")


def range_cells(ref: str) -> list[list[str]]:
    """The cells of a range of the map, row by row, as ``'Sheet'!A1`` (corners in either
    order).

    >>> range_cells("'積算'!C7:B6")
    [["'積算'!B6", "'積算'!C6"], ["'積算'!B7", "'積算'!C7"]]
    """
    found = _bounds(ref)
    if isinstance(found, str):
        raise InputError("range", ref, found)
    sheet, (c1, r1, c2, r2) = found
    return [[_cell_ref(sheet, c, r) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]


def layout(m: OfficeMap) -> Layout:
    """Where the map's inputs are (:class:`xl_pricing.readback.Layout`): its values, its
    input cells and, for each table, one row of column → cell per row of its range (the
    skipped columns left out)."""
    tables = tuple((t.key, tuple({c: ref for c, ref in zip(t.columns, row) if c}
                                 for row in range_cells(t.range)))
                   for t in m.tables)
    return Layout(values=tuple(m.values.items()),
                  cells=tuple((k, canonical_ref(ref)) for k, ref in m.inputs.items()),
                  tables=tables)


def read_pairs(m: OfficeMap, recalculator: Any
               ) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """(key, value) rows of the map's values and mapped cells (as the workbook computes
    them), and the cell each key came from (``'Sheet'!A1``): :func:`layout` read by
    :func:`xl_pricing.readback.read_layout`, blank table rows skipped."""
    lay = layout(m)
    values: dict[str, Any] = {}
    for t in m.tables:  # one read a table, not one a cell
        for cells, got in zip(range_cells(t.range), recalculator.cells(t.range)):
            values.update(zip(cells, got))

    def value_of(cell: str) -> Any:
        if cell not in values:
            values[cell] = recalculator.cells(cell)[0][0]
        return values[cell]

    pairs, where = read_layout(lay, value_of)
    return pairs, {canonical_key(k): c for k, c in where.items()}


def _cell_ref(sheet: str, col: int, row: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"'{sheet.replace(chr(39), chr(39) * 2)}'!{get_column_letter(col)}{row}"


def _error_value(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("#") and value.rstrip("!?").isupper()


def _ranks_by_name(pairs: list[tuple[str, Any]], card: Any) -> list[tuple[str, Any]]:
    """A rank typed as the card's Japanese or English label (教授, Professor) → its code."""
    ranks = card.model.time_charge.ranks
    names = {}
    for code, rank in ranks.items():
        for label in (getattr(rank, "label_ja", None), getattr(rank, "label_en", None)):
            if label:
                names[str(label).strip().casefold()] = code
    out = []
    for key, value in pairs:
        if key.endswith(".rank") and isinstance(value, str) and value.strip() not in ranks:
            value = names.get(value.strip().casefold(), value)
        out.append((key, value))
    return out


def read_inputs(m: OfficeMap, recalculator: Any, card: Any = None) -> Project:
    """The project the mapped cells describe, as the workbook computes them.

    ``recalculator`` is a :class:`xl_pricing.recalc.Recalculator` of the workbook (its
    ``cells`` give the values after a headless recalculation).  With ``card``, a rank typed
    as the card's label (教授) is read as the card's rank.

    Raises:
        InputError: a mapped cell holds an Excel error, or the values do not make a valid
            project — naming the cell and the project key.
    """
    pairs, where = read_pairs(m, recalculator)
    return project_of(m, pairs, where, card)


def project_of(m: OfficeMap, pairs: list[tuple[str, Any]], where: dict[str, str],
               card: Any = None) -> Project:
    """The project of the (key, value) rows :func:`read_pairs` read; see
    :func:`read_inputs`."""
    for key, value in pairs:
        if _error_value(value):
            raise InputError(f"{where.get(canonical_key(key), key)} ({key})", value,
                             "a value, not an Excel error", m.source)
    if card is not None:
        pairs = _ranks_by_name(pairs, card)
    try:
        return project_from_pairs(pairs, m.source)
    except InputError as exc:
        key = canonical_key(_INDEX.sub(lambda g: f".{int(g.group(1)) + 1}", exc.field))
        cell = where.get(key)
        if cell is None:
            raise
        raise InputError(f"{cell} ({key})", exc.value, exc.expected, m.source) from None
