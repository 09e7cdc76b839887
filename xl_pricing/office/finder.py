"""A starting office map, from the labels of a workbook (``xl-pricing map init``).

Labels are matched whole, after dropping box numbers (①, (1)), parenthesised notes
(（学術貢献費）, （税込）) and, for bilingual labels, taking each side of " / " apart: 直接経費,
研究料, 学術貢献費, 間接経費, 戦略的産学連携経費, 合計, 開始日, 終了日, Direct costs, F&A, MTDC,
Total, Start ... (see :data:`OUTPUT_LABELS`, :data:`INPUT_LABELS`).  A label's cell is the
first value (a number, a date or a formula) to its right in the same row.  A label found
in several places is placed where the form shows it: the cell whose formula refers to the
others (``'申込書'!F12 = '積算'!F20`` → ``'申込書'!F12``); the others are reported.  Tables
are found by their header rows: 氏名 / 職名 / 時間 (researchers) and 費目 / 金額 (direct
costs).  What the workbook does not say (the contract, the approach, an id) is written in
``[values]`` as a guess to confirm.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from ..cells import split_ref
from ..errors import InputError
from .labels import (DIRECT_COLUMNS, DIRECT_ROWS, INPUT_LABELS, OUTPUT_LABELS,
                     PERIOD_LABELS, RESEARCHER_COLUMNS, ROW_END, label_parts)

def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {p: key for key, labels in table.items() for lab in labels
            for p in label_parts(lab)}


_OUT = _index(OUTPUT_LABELS)
_IN = _index(INPUT_LABELS)
_PERIOD = {p for lab in PERIOD_LABELS for p in label_parts(lab)}


@dataclass(frozen=True)
class Placed:
    key: str
    cell: str
    label: str
    label_cell: str
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    """What ``map init`` found: placed keys, tables, values to confirm, and what it could
    not place (label cell, label, why)."""

    inputs: tuple[Placed, ...]
    outputs: tuple[Placed, ...]
    tables: tuple[tuple[str, str, tuple[str, ...]], ...]
    values: dict[str, str]
    unplaced: tuple[tuple[str, str, str], ...] = field(default=())


def _ref(sheet: str, col: int, row: int) -> str:
    return f"'{sheet.replace(chr(39), chr(39) * 2)}'!{get_column_letter(col)}{row}"


def _is_value(v: Any) -> bool:
    return (isinstance(v, (int, float, dt.date)) and not isinstance(v, bool)) or (
        isinstance(v, str) and v.startswith("="))


def _beside(ws: Any, row: int, col: int, text_ok: bool = False, reach: int = 6
            ) -> tuple[int, Any] | None:
    """The value right of (row, col) in the row: the rightmost number, date or formula
    before the next text label (an amount column is right of a rate column), or with
    ``text_ok`` the first text."""
    found = None
    for c in range(col + 1, min(col + reach, ws.max_column) + 1):
        v = ws.cell(row, c).value
        if v is None:
            continue
        if _is_value(v):
            found = (c, v)
        elif isinstance(v, str) and text_ok and found is None:
            return c, v
        elif isinstance(v, str):
            break
    return found


def formula_refs(formula: str, sheet: str) -> set[str]:
    """The cells a formula refers to, as 'Sheet'!A1 (ranges expanded up to 400 cells)."""
    out: set[str] = set()
    try:
        tokens = Tokenizer(formula).items
    except Exception:  # noqa: BLE001 - a formula openpyxl cannot tokenise refers to nothing
        return out
    for tok in tokens:
        if tok.type != "OPERAND" or tok.subtype != "RANGE":
            continue
        s, cells = split_ref(tok.value)
        try:
            c1, r1, c2, r2 = range_boundaries(cells.replace("$", ""))
        except (ValueError, TypeError):
            continue
        if None in (c1, r1, c2, r2) or (c2 - c1 + 1) * (r2 - r1 + 1) > 400:
            continue
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                out.add(_ref(s or sheet, c, r))
    return out


def _table(ws: Any, sheet: str, row: int, header: dict[int, str]
           ) -> tuple[str, tuple[str, ...]] | None:
    """The range and columns of the rows under a header row (until a blank first cell or a
    subtotal row)."""
    first = min(header)
    columns_list: list[str] = []
    for c in range(first, max(header) + 1):
        name = header.get(c, "")
        if name and name in columns_list:
            break  # a second table beside this one (a rank table) starts here
        columns_list.append(name)
    while columns_list and not columns_list[-1]:
        columns_list.pop()
    last = first + len(columns_list) - 1
    r = row + 1
    while r <= ws.max_row:
        v = ws.cell(r, first).value
        if v is None or (isinstance(v, str) and any(
                p.startswith(ROW_END) or p.endswith(ROW_END) for p in label_parts(v))):
            break
        r += 1
    if r == row + 1:
        return None
    columns = tuple(columns_list)
    rng = (f"'{sheet.replace(chr(39), chr(39) * 2)}'!{get_column_letter(first)}{row + 1}:"
           f"{get_column_letter(last)}{r - 1}")
    return rng, columns


def find_labels(workbook: str | Path) -> Found:
    """Find the labelled cells of ``workbook`` (read with openpyxl, formulas as written)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(workbook, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl: any unreadable file
        raise InputError("WORKBOOK", str(workbook), "an .xlsx workbook openpyxl can read "
                         f"({type(exc).__name__}: {exc})") from None
    candidates: dict[str, list[tuple[str, str, str, str]]] = {}  # key -> (cell, label, at, f)
    unplaced: list[tuple[str, str, str]] = []
    tables: list[tuple[str, str, tuple[str, ...]]] = []
    rows: list[tuple[str, str, str, str]] = []  # (category, cell, label, label cell)
    text = []
    for ws in wb.worksheets:
        sheet = ws.title
        for row in ws.iter_rows():
            header_r: dict[int, str] = {}
            header_d: dict[int, str] = {}
            for cell in row:
                v = cell.value
                if not isinstance(v, str) or v.startswith("="):
                    continue
                text.append(v)
                parts = label_parts(v)
                for p in parts:
                    if p in RESEARCHER_COLUMNS:
                        header_r.setdefault(cell.column, RESEARCHER_COLUMNS[p])
                    if p in DIRECT_COLUMNS:
                        header_d.setdefault(cell.column, DIRECT_COLUMNS[p])
                key = next((t[p] for p in parts for t in (_IN, _OUT) if p in t), None)
                category = next((DIRECT_ROWS[p.split(":")[0].strip()] for p in parts
                                 if p.split(":")[0].strip() in DIRECT_ROWS), None)
                if key is None and category is not None:
                    got = _beside(ws, cell.row, cell.column)
                    if got is not None:
                        rows.append((category, _ref(sheet, got[0], cell.row), v,
                                     _ref(sheet, cell.column, cell.row)))
                    continue
                if key is None and _PERIOD & set(parts):
                    dates = [c for c in range(cell.column + 1, cell.column + 7)
                             if isinstance(ws.cell(cell.row, c).value, dt.date)]
                    for k, c in zip(("start", "end"), dates):
                        candidates.setdefault(k, []).append(
                            (_ref(sheet, c, cell.row), v, _ref(sheet, cell.column,
                                                                 cell.row), ""))
                    continue
                if key is None:
                    continue
                at = _ref(sheet, cell.column, cell.row)
                got = _beside(ws, cell.row, cell.column,
                              text_ok=key in ("title", "researchers.1.name"))
                if got is None:
                    if not (header_r or header_d):
                        unplaced.append((at, v, "値のセルが右にない / no value beside it"))
                    continue
                col, value = got
                candidates.setdefault(key, []).append(
                    (_ref(sheet, col, cell.row), v, at, value if isinstance(value, str) else ""))
            rs = set(header_r.values())
            if {"name", "hours"} <= rs or {"name", "rank"} <= rs and "hours" in rs:
                found = _table(ws, sheet, row[0].row, header_r)
                if found:
                    tables.append(("researchers", *found))
            elif {"category", "amount"} <= set(header_d.values()):
                found = _table(ws, sheet, row[0].row, header_d)
                if found:
                    tables.append(("direct", *found))
    inputs, outputs = [], []
    for key, cands in candidates.items():
        chosen = _downstream(cands)
        others = tuple(c[0] for c in cands if c is not chosen)
        placed = Placed(key, chosen[0], chosen[1], chosen[2], others)
        (inputs if key in INPUT_LABELS else outputs).append(placed)
    if any(t[0] == "researchers" for t in tables):  # the table has them
        inputs = [p for p in inputs if not p.key.startswith("researchers.")]
    values = _guess_values(Path(workbook), text, tables, candidates)
    if any(p.key == "researchers.1.hours" for p in inputs):
        # the card's rate: check then tests the sheet's rate cell against the card
        values["researchers.1.rate_source"] = ("consulting" if values["contract"]
                                               == "consulting" else "rank")
    if not any(t[0] == "direct" for t in tables):
        for n, (category, at, label, label_at) in enumerate(rows, start=1):
            values[f"direct.{n}.category"] = category
            inputs.append(Placed(f"direct.{n}.amount", at, label, label_at))
    return Found(tuple(inputs), tuple(outputs), tuple(tables), values, tuple(unplaced))


def _downstream(cands: list[tuple[str, str, str, str]]) -> tuple[str, str, str, str]:
    """The candidate whose formula refers to another candidate's cell (what the form
    shows), else the first."""
    for c in cands:
        if c[3]:
            sheet = split_ref(c[0])[0] or ""
            refs = formula_refs(c[3], sheet)
            if any(o[0] in refs for o in cands if o is not c):
                return c
    return cands[0]


def _guess_values(path: Path, text: list[str], tables: list[Any],
                  candidates: dict[str, Any]) -> dict[str, str]:
    joined = " ".join(text)
    contract = ("consulting" if "学術指導" in joined else "sponsored" if (
        "受託研究" in joined or "Budget" in joined or "budget" in joined) else "joint")
    if "total.agreed" in candidates:
        approach = "B"
    elif any(t[0] == "researchers" for t in tables) or "lines.time_charge" in candidates \
            or "fa" in candidates:
        approach = "A"
    else:
        approach = "X"
    values = {"id": path.stem, "contract": contract, "approach": approach}
    if approach == "B":
        values["total.book_as"] = "A" if any(t[0] == "researchers" for t in tables) else "X"
    return values


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    """Text for a TOML comment: one line, no control characters."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)


def map_text(found: Found, workbook: str | Path) -> str:
    """The TOML of a starting map for what :func:`find_labels` found."""
    lines = ["# 自動生成された対応表（xl-pricing map init）: 確認してから使ってください。",
             "# A starting office map written by `xl-pricing map init`: check every line.",
             "[map]", f"workbook = {_q(Path(workbook).name)}"]
    if "form_new.remuneration" in {p.key for p in found.outputs}:
        lines.append('new_form = "B"   # (1) 報酬, (2) 経費の負担: [A] か [B] を確認 / '
                     'check A or B')
    lines += ["", "[values]   # 推定 / guessed: 確認してください / confirm"]
    lines += [f"{_q(k)} = {_q(v)}" for k, v in found.values.items()]
    lines += ["", "[inputs]"]
    for p in found.inputs:
        lines.append(f"{_q(p.key)} = {_q(p.cell)}   # {_comment(p.label_cell + ' ' + p.label)}")
    for key, rng, cols in found.tables:
        lines += ["", "[[tables]]", f"key = {_q(key)}", f"range = {_q(rng)}",
                  "columns = [" + ", ".join(_q(c) for c in cols) + "]"]
    lines += ["", "[outputs]"]
    for p in found.outputs:
        note = f"   # {p.label_cell} {p.label}"
        if p.others:
            note += " (also / 他に: " + ", ".join(p.others) + ")"
        lines.append(f"{_q(p.key)} = {_q(p.cell)}{_comment(note)}")
    return "\n".join(lines) + "\n"
