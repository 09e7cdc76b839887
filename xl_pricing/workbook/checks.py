"""Input checks of the standard workbooks: every rule the engine enforces on a project, as
a visible check cell beside the input it is about.

A check cell shows ``""`` when the input is fine and ``入力エラー / input error: <field>:
<expected>`` when not, naming the field the engine's ``InputError`` names for the same
mistake (``project.approach``, ``researchers[0].hours`` ...).  Each check cell has a
defined name ``Check_<input>`` (``Check_Approach``, ``Check_R_3``, ``Check_Direct_2``); the
names ``Input_Check`` (the first failing check's text, or ``""``) and ``Input_OK``
(TRUE/FALSE) sum them up, and every total of the workbook shows ``Input_Check`` instead of a
number while a check fails (``guarded``).
"""

from __future__ import annotations

from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from .book import Book, a1, formula, put

PREFIX = "入力エラー / input error: "


def error_text(field: str, expected: str) -> str:
    """The text a failing check shows.

    >>> error_text("project.approach", "one of 'X', 'A', 'B' or 'C'")
    "入力エラー / input error: project.approach: one of 'X', 'A', 'B' or 'C'"
    """
    return f"{PREFIX}{field}: {expected}"


def text_literal(text: str) -> str:
    """``text`` as an Excel string literal (quotes doubled; Excel allows 255 characters)."""
    assert len(text) <= 255, text
    return '"' + text.replace('"', '""') + '"'


def rule(bad: str, field: str, expected: str) -> tuple[str, str]:
    """One rule: a condition that is TRUE when the input is wrong, and the text it gives."""
    return bad, error_text(field, expected)


def check_formula(rules: list[tuple[str, str]]) -> str:
    """The first failing rule's text, else "".  A condition that cannot be evaluated (an
    error value in the input) counts as failing."""
    out = '""'
    for bad, text in reversed(rules):
        out = f"IF(IFERROR({bad},TRUE),{text_literal(text)},{out})"
    return out


def one_of(ref: str, codes: list[str]) -> str:
    """TRUE when ``ref`` is exactly one of ``codes`` (EXACT: case counts, as in the engine;
    Excel's list validation and ``=`` ignore case)."""
    return "OR(" + ",".join(f"EXACT({ref},{text_literal(c)})" for c in codes) + ")"


def not_number(ref: str, low: float | None = 0, high: float | None = None,
               strict: bool = False, whole: bool = False) -> str:
    """TRUE when ``ref`` is not blank and not a number in range."""
    parts = [f"NOT(ISNUMBER({ref}))"]
    if low is not None:
        parts.append(f"{ref}{'<=' if strict else '<'}{low:g}")
    if high is not None:
        parts.append(f"{ref}>{high:g}")
    if whole:
        parts.append(f"{ref}<>INT({ref})")
    # OR evaluates every argument: the comparisons on text give TRUE/FALSE, never an error.
    return f'AND({ref}<>"",OR({",".join(parts)}))'


def put_check(book: Book, ws: Worksheet, ref: str, name: str,
              rules: list[tuple[str, str]]) -> str:
    """Write a check cell at ``ref`` named ``Check_<name>``; returns its reference."""
    formula(ws, ref, check_formula(rules), "xlp_warn")
    book.define(f"Check_{name}", ws, ref)
    book.checks.append(f"{quote_sheetname(ws.title)}!{ref}")
    return ref


def summary(book: Book, ws: Worksheet, column: int, first_row: int) -> None:
    """``Input_Check`` and ``Input_OK`` from every check cell: a hidden column on ``ws``
    where each cell carries the first failing text down (one cell per check keeps every
    formula short and works in every engine)."""
    prev = None
    for i, ref in enumerate(book.checks):
        here = a1(first_row + i, column)
        formula(ws, here, ref if prev is None else f'IF({prev}<>"",{prev},{ref})', "xlp_text")
        prev = here
    ws.column_dimensions[a1(1, column)[:-1]].hidden = True
    put(ws, "A3", "入力の確認 / Input check", "xlp_label")
    formula(ws, "B3", prev or '""', "xlp_warn")
    book.define("Input_Check", ws, "B3")
    formula(ws, "C3", 'B3=""', "xlp_text")
    book.define("Input_OK", ws, "C3")


def guarded(expr: str) -> str:
    """``expr`` while every input is fine, else the first check's text (never a number the
    engine would refuse to compute)."""
    return f"IF(Input_OK,{expr},Input_Check)"
