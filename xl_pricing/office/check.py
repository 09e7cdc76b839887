"""Check an office's own workbook against the engine, output by output.

The workbook is recalculated headlessly (:class:`xl_pricing.recalc.Recalculator`); the
mapped input cells give the project (:func:`.map.read_pairs`, :func:`.map.project_of`);
the engine prices it with the card; every mapped output cell is compared with the
engine's figure (:func:`.figures.engine_figures`).  The workbook file is only read.

A workbook value agrees when it is a number within :data:`TOLERANCE` of the engine's
figure: money is whole yen, so only the binary noise of Excel arithmetic (a product such
as 0.1 × 3 read back as 0.30000000000000004) is forgiven — a fraction of a yen left by a
formula that does not round is a difference.

Example (the clean 共同研究申込書 of the tests)::

    result = check_against_engine("申込書.xlsx", load_map("map.toml"), load_card("jp-default"))
    result.agrees                                  # True
    [o.cell for o in result.outputs if not o.agrees]
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..cells import DATE_KEYS, excel_date, number
from ..errors import InputError
from ..money import yen_int
from ..project import Project
from ..rates import RateCard
from .figures import engine_figures, output_label
from .finder import formula_refs
from .map import OfficeMap, canonical_key, canonical_ref, project_of, read_pairs

TOLERANCE = Decimal("0.000001")  # yen: binary noise, far below the 1 yen money is kept in


@dataclass(frozen=True)
class Output:
    """One mapped output cell: the workbook's value, the engine's figure, the difference
    (workbook − engine, yen; ``None`` when the cell holds no number)."""

    key: str
    cell: str
    workbook: Any
    engine: Decimal
    difference: Decimal | None
    origin: bool = False  # differs, and refers to no other differing output cell

    @property
    def agrees(self) -> bool:
        return self.difference is not None and abs(self.difference) <= TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        ja, en = output_label(self.key)
        return {"key": self.key, "label_ja": ja, "label_en": en, "cell": self.cell,
                "workbook": _json_number(self.workbook), "engine": yen_int(self.engine),
                "difference": _json_number(self.difference), "agrees": self.agrees,
                "origin": self.origin}


@dataclass(frozen=True)
class CheckResult:
    """Every mapped output compared; the project read and the card that priced it."""

    workbook: str
    outputs: tuple[Output, ...]
    project: Project
    card: RateCard
    engine: str
    inputs: tuple[tuple[str, str, Any], ...] = ()  # (key, cell, value) read from the book

    @property
    def agrees(self) -> bool:
        return all(o.agrees for o in self.outputs)

    @property
    def differing(self) -> tuple[Output, ...]:
        return tuple(o for o in self.outputs if not o.agrees)

    def to_dict(self) -> dict[str, Any]:
        return {"workbook": self.workbook, "agrees": self.agrees,
                "outputs": [o.to_dict() for o in self.outputs],
                "card": dict(self.card.provenance()), "project": self.project.project.id,
                "inputs": [{"key": k, "cell": c, "value": _json_number(_dated(k, v))}
                           for k, c, v in self.inputs],
                "recalc_engine": self.engine}


def _dated(key: str, value: Any) -> Any:
    """A date key's serial number as its date (``start`` 46113 → 2026-04-01)."""
    if key.rsplit(".", 1)[-1] in DATE_KEYS:
        try:
            return excel_date(value, key)
        except InputError:
            return value
    return value


def _json_number(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def compare(key: str, cell: str, value: Any, figure: Decimal) -> Output:
    """A workbook value against the engine's figure.

    >>> compare("total", "'申込書'!F14", 8910000.0, Decimal(8910000)).agrees
    True
    >>> compare("total", "'申込書'!F14", "#DIV/0!", Decimal(1)).difference is None
    True
    """
    try:
        diff = number(value, cell) - figure if not isinstance(value, str) else None
    except InputError:
        diff = None
    return Output(key, cell, value, figure, diff)


def check_against_engine(workbook: str | os.PathLike[str], m: OfficeMap, card: RateCard,
                   engine: str = "auto") -> CheckResult:
    """Compare every mapped output of ``workbook`` with the engine.

    Raises:
        InputError: an unreadable workbook, a mapped input cell that does not make a valid
            project (naming the cell and the key), a project the card cannot price.
    """
    from ..recalc import Recalculator

    if not m.outputs:
        raise InputError("outputs", InputError.MISSING, "at least one output cell to check "
                         "([outputs] total = \"'申込書'!F14\")", m.source)
    path = Path(workbook)
    r = Recalculator(path, engine=engine)
    pairs, where = read_pairs(m, r)
    project = project_of(m, pairs, where, card)
    read = tuple((k, where[canonical_key(k)], v) for k, v in pairs if canonical_key(k) in where)
    figures = engine_figures(m.outputs, project, card, m.new_form)
    outputs = []
    for key, refs in m.outputs.items():
        for ref in refs:
            value = r.cells(ref)[0][0]
            refuse_blank_output(key, ref, value, r, m.source)
            outputs.append(compare(key, canonical_ref(ref), value, figures[key]))
    return CheckResult(str(path), tuple(_origins(outputs, r)), project, card, r.engine, read)


def refuse_blank_output(key: str, ref: str, value: Any, r: Any, source: str) -> None:
    """An output cell that holds neither a number nor a formula (empty, or a label such as
    "合計") is a map pointing at the wrong cell: say so, naming the cell.

    Raises:
        InputError: ``outputs.<key>`` with the cell and what it holds.
    """
    if value is not None and not isinstance(value, str):
        return
    from openpyxl.utils.cell import coordinate_to_tuple

    from ..cells import split_ref

    sheet, coord = split_ref(canonical_ref(ref))
    title = next((t for t in r.facts.book.sheetnames
                  if t.casefold() == str(sheet).casefold()), sheet)
    row, col = coordinate_to_tuple(coord)
    if r.facts.formula_at(title, row, col) is not None:
        return  # the office's formula gives text or nothing: a difference to show
    held = "空のセル / an empty cell" if value is None else f"文字 / text {value!r}"
    raise InputError(f"outputs.{key}", canonical_ref(ref), f"a cell holding a number or a "
                     f"formula (it is {held}: does the map point at the right cell?) / "
                     "出力のセルに数値か数式がありません", source)


def _origins(outputs: list[Output], r: Any) -> list[Output]:
    """Mark the differing outputs where a difference starts: their formula refers to no
    other differing output cell (a plain number, or a formula of other cells).

    The form's ③ 間接経費 = '積算'!F20 and 合計 = SUM(...) differ because '積算'!F20
    does: only '積算'!F20 is an origin.
    """
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    bad = {o.cell for o in outputs if not o.agrees}
    out = []
    for o in outputs:
        if o.agrees:
            out.append(o)
            continue
        sheet, coord = o.cell.rsplit("!", 1)
        sheet = sheet[1:-1].replace("''", "'")
        letters, row = coordinate_from_string(coord)
        formula = r.facts.formula_at(sheet, row, column_index_from_string(letters))
        refs = formula_refs(formula, sheet) if formula else set()
        out.append(Output(o.key, o.cell, o.workbook, o.engine, o.difference,
                          origin=not (refs & (bad - {o.cell}))))
    return out
