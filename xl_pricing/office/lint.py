"""Lint an office's own workbook: the errors that hide in hand-made forms.

:func:`lint` takes an openpyxl workbook loaded *with formulas* and, where values are needed,
the computed values of its cells (:meth:`xl_pricing.recalc.Recalculator.computed`, one
headless recalculation, never one per cell) and returns a tuple of frozen :class:`Finding`
records sorted by sheet (workbook order), then row, then column.  Every rule is one pass
over the cells; a workbook of 200,000 cells lints in seconds.

Kinds (codes are a contract, as in ``--json``):

``pattern_break``
    A formula that breaks the pattern of its column (or row) neighbours.  A *block* is a
    run of >= 3 adjacent formula cells in a column or row; two neighbours have the same
    relative formula when openpyxl's :class:`~openpyxl.formula.translate.Translator`,
    moving one to the other's cell, gives the other's formula.  A cell is flagged when the
    cells on both sides of it agree with each other but not with it, or when it sits next
    to >= 2 agreeing cells and has their shape (same functions, operators and numbers) with
    different references, two or more (``=D8*E7`` under ``=D6*E6``, ``=D7*E7``; a bare
    reference such as ``='積算'!F9`` has no shape to break).  A total under a
    column (``=SUM(F6:F8)``) or the first cell of a running balance has another shape and
    is not flagged; neither is a period-2 pattern (amount, rate, amount, rate ...).
``typed_number``
    A number typed inside a formula (the formula's NUMBER tokens, ``30%`` counted as 0.3),
    except the trivial 0, 1, 12 and 100 (``-1`` is ``-`` and 1), the per-mille and
    basis-point divisors 1000 and 10000 (``ROUNDDOWN(base*Bp/10000,0)``, unless the row's
    label makes them a card rate, a typed 10,000 yen/h), and numbers in argument
    places that are not amounts: the digits of ROUND/ROUNDUP/ROUNDDOWN/TRUNC, the
    significance of FLOOR/CEILING/MROUND, row and column numbers of INDEX/OFFSET/VLOOKUP/
    HLOOKUP, match types of MATCH/XMATCH/XLOOKUP, the parts of DATE, months of EDATE/EOMONTH,
    lengths of LEFT/RIGHT/MID, the function number of SUBTOTAL/AGGREGATE, k of LARGE/SMALL.
    Also a number typed in a cell between two cells of one relative formula (or right after
    >= 2 of them), and a number typed in a cell labelled as a total.
``rate_mismatch`` / ``rate_typed``
    A rate in a row whose label names a rate of the card (間接経費 / indirect / F&A /
    overhead -> the card's indirect and F&A rates; 戦略 / strategic -> strategic rate;
    消費税 / consumption tax -> consumption tax; 税額控除 / tax credit -> tax-credit rates;
    学術指導 / 指導料 / consulting rate, and 時間単価 / hourly rate on a sheet about
    学術指導 -> the consulting rate in yen per hour; a label saying 上限 / 下限 / cap / max /
    min / limit / 上昇 / escalation / 割引 / discount / bp names no rate): a typed constant or a number typed in a formula that
    differs from every card rate of that label (``rate_mismatch``: 0.25 where the card says
    0.30), a formula that applies a rate cell labelled for another rate (the strategic rate
    where the label says indirect), or -- only when the card is given (``--rates``) -- a
    number in a formula equal to a card rate, typed instead of referenced (``rate_typed``;
    without ``--rates`` such a number is a ``typed_number``).  A fraction is 0 < x < 1, a
    percent-formatted cell, or a number > 1 in a row whose label says ``%``.
``unused_input``
    A number typed beside a label (a text cell to its left in the row) that no formula and
    no defined name uses, while the nearest labelled numbers above and below it in its
    column are used.
``empty_ref``
    A formula that references an empty cell (a single cell, or a range that is all empty).
``error_value``
    A cell whose computed value is an Excel error (#DIV/0!, #REF!, #N/A ...); a cell whose
    error comes from a cell it references says so.
``old_fiscal_year``
    A fiscal-year label older than the card's first fiscal year (``effective_from``, fiscal
    years starting in April): FY2023, FY23, 2023年度, 令和5年度 / R5年度 (2018 + n, 元 = 1),
    平成31年度 (1988 + n).  Full-width digits count; kanji numerals (令和五年度) do not.
``total_mismatch``
    A cell labelled 合計 / 小計 / 総計 / …計 / Total / Subtotal (in its row, or above it for
    a total column) whose value is not the sum of the visible numbers above it (to its left)
    in its block -- the contiguous non-empty cells, hidden rows and percent cells skipped; a
    part that is a plain sum of cells above stands for them, and the typed inputs of a
    product (hours, rate) are not parts.  Also a total (a plain sum, or a cell labelled as
    one) just before or after its SUM range when the range stops next to a number of the
    same block that nothing in the range already counts (Excel's "formula omits adjacent
    cells").

Example::

    from xl_pricing.office.lint import lint_workbook
    for f in lint_workbook("申込書.xlsx", load_card("jp-default")):
        print(f.where, f.kind, f.what_ja, f.what_en)
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from openpyxl.formula.tokenizer import Token
from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import get_column_letter, range_boundaries

from ..cells import split_ref
from ..rates import RateCard
from .labels import (CONSULTING_SHEET, RATE_NAMES, YEN_KINDS, is_total_label, norm,
                     rate_label)

__all__ = ["ERRORS", "Finding", "KINDS", "card_rates", "fiscal_year", "fiscal_years", "lint",
           "lint_workbook"]

# kind -> (Japanese, English) name; the order is the order within one cell.
KINDS: dict[str, tuple[str, str]] = {
    "error_value": ("エラー値", "error value"),
    "empty_ref": ("空セルの参照", "reference to an empty cell"),
    "pattern_break": ("周囲と異なる数式", "formula breaks the pattern"),
    "typed_number": ("数値の直接入力", "typed number"),
    "rate_mismatch": ("料率表と異なる料率", "rate differs from the card"),
    "rate_typed": ("料率の直接入力", "rate typed, not referenced"),
    "unused_input": ("使われていない入力値", "unused input"),
    "total_mismatch": ("合計の不一致", "total does not add up"),
    "old_fiscal_year": ("古い年度表記", "old fiscal year"),
}
ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                    "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!",
                    "#CONNECT!", "#BUSY!", "#UNKNOWN!"})

Pos = tuple[int, int]  # (row, column), 1-based


@dataclass(frozen=True)
class Finding:
    """One thing the lint found: where (``sheet``, ``cell`` such as ``F20``), which
    ``kind`` (a code of :data:`KINDS`), what in Japanese and English, and why (the
    evidence, Japanese / English)."""

    sheet: str
    cell: str
    kind: str
    what_ja: str
    what_en: str
    why: str

    @property
    def where(self) -> str:
        """``'積算'!F20``."""
        return f"{_quote(self.sheet)}!{self.cell}"

    def to_dict(self) -> dict[str, str]:
        """The JSON object of ``xl-pricing lint --json``."""
        return asdict(self)


def _quote(sheet: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet) and not _A1.fullmatch(sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def _coord(pos: Pos) -> str:
    return f"{get_column_letter(pos[1])}{pos[0]}"


# -- labels ----------------------------------------------------------------------------------

def card_rates(card: RateCard) -> dict[str, frozenset[Decimal]]:
    """The card's rates by label kind: fractions (0.30 for 30%), the consulting rate in yen
    per hour, the 研究料 in yen a period (and for a short period).  Indirect includes the
    contract-specific, every conditional case's and every F&A rate (an office's 間接経費 is
    one of them: Fukushima's 8% for a project of at most 1,000,000 yen is the card's too).

    >>> from xl_pricing import load_card
    >>> sorted(card_rates(load_card("kek"))["research_fee"])
    [Decimal('216000'), Decimal('432000')]
    """
    m = card.model
    fees = {a for f in m.fees.values() for a in (f.amount, f.short_amount) if a is not None}
    return {
        "indirect": frozenset({m.indirect.rate, *m.indirect.by_contract.values(),
                               *(c.rate for c in m.indirect.cases),
                               *(r.rate for r in m.fa.rates)}),
        "strategic": frozenset({m.strategic.rate, *(c.rate for c in m.strategic.cases)}),
        "consumption_tax": frozenset({m.consumption_tax.rate}),
        "tax_credit": frozenset({m.tax_credit.rate, *m.tax_credit.partner_rates.values()}),
        "consulting": frozenset({m.time_charge.consulting_rate,
                                 *(c.rate for c in m.time_charge.consulting_cases)}),
        "research_fee": frozenset(Decimal(a) for a in fees),
    }


def _fee_amounts(card: RateCard) -> frozenset[Decimal]:
    """What one period's 研究料 may come to: the amount, the short amount and (monthly
    proration) the amount per month — a typed 研究料 is a whole multiple of one of them
    (2 researchers × 440,000 = 880,000)."""
    out: set[Decimal] = set()
    for f in card.model.fees.values():
        out |= {Decimal(a) for a in (f.amount, f.short_amount) if a is not None}
        if f.proration == "monthly":
            out.add(Decimal(f.amount) / f.period_months)
    return frozenset(out)


# -- fiscal years ----------------------------------------------------------------------------

_FY = (
    (re.compile(r"(?<![a-z])fy\s*'?(\d{4})(?!\d)"), 0),
    (re.compile(r"(?<![a-z])fy\s*'?(\d{2})(?!\d)"), 2000),
    (re.compile(r"(?<!\d)(\d{4})\s*年度"), 0),
    (re.compile(r"(?:令和|(?<![a-z])r)\s*(\d{1,2}|元)\s*年度"), 2018),
    (re.compile(r"(?:平成|(?<![a-z])h)\s*(\d{1,2}|元)\s*年度"), 1988),
)


def fiscal_year(day: date) -> int:
    """The Japanese fiscal year (April to March) of ``day``.

    >>> fiscal_year(date(2026, 4, 1)), fiscal_year(date(2026, 3, 31))
    (2026, 2025)
    """
    return day.year if day.month >= 4 else day.year - 1


def fiscal_years(text: str) -> list[tuple[str, int]]:
    """Every fiscal-year label in ``text`` with its western year: 令和 n = 2018 + n,
    平成 n = 1988 + n, 元 = 1.

    >>> fiscal_years("令和5年度 / FY2023"), fiscal_years("平成31年度"), fiscal_years("令和元年度")
    ([('令和5年度', 2023), ('FY2023', 2023)], [('平成31年度', 2019)], [('令和元年度', 2019)])
    """
    t = unicodedata.normalize("NFKC", text)
    low = t.lower()
    found: list[tuple[int, str, int]] = []
    taken: list[tuple[int, int]] = []
    for pattern, base in _FY:
        for m in pattern.finditer(low):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            n = 1 if m.group(1) == "元" else int(m.group(1))
            taken.append((m.start(), m.end()))
            found.append((m.start(), t[m.start():m.end()], base + n))
    return [(shown, year) for _, shown, year in sorted(found)]


# -- the workbook, read once -------------------------------------------------------------------

_A1 = re.compile(r"\$?[A-Z]{1,3}\$?\d+(:\$?[A-Z]{1,3}\$?\d+)?|\$?[A-Z]{1,3}:\$?[A-Z]{1,3}"
                 r"|\$?\d+:\$?\d+", re.IGNORECASE)
Rect = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col (0 = unbounded)
MAX_ROWS, MAX_COLS = 1_048_576, 16_384
# formulon gives #CALC! (#VALUE! elsewhere) for a range of more than ten million cells —
# measured: C1:CV102000 (9,996,000 cells) sums, C1:CV104000 (10,192,000) does not — where
# Excel computes it (=SUM(C1:XFD1048576) of an empty sheet is 0): not the workbook's error.
ENGINE_RANGE_LIMIT = 10_000_000
ENGINE_LIMIT_ERRORS = frozenset({"#CALC!", "#VALUE!"})


@dataclass(frozen=True)
class _Ref:
    sheet: str
    rect: Rect
    text: str

    @property
    def single(self) -> bool:
        r1, c1, r2, c2 = self.rect
        return r1 == r2 and c1 == c2 and r1 > 0 and c1 > 0

    def cells(self, limit: int = 10_000) -> list[Pos] | None:
        r1, c1, r2, c2 = self.rect
        if 0 in self.rect or (r2 - r1 + 1) * (c2 - c1 + 1) > limit:
            return None
        return [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    def covers(self, pos: Pos) -> bool:
        r1, c1, r2, c2 = self.rect
        return ((r1 == 0 or r1 <= pos[0] <= r2) and (c1 == 0 or c1 <= pos[1] <= c2))

    @property
    def size(self) -> int:
        """Cells in the reference (a whole column is 1,048,576 of them)."""
        r1, c1, r2, c2 = self.rect
        rows = r2 - r1 + 1 if r1 else MAX_ROWS
        cols = c2 - c1 + 1 if c1 else MAX_COLS
        return rows * cols


@dataclass
class _Formula:
    pos: Pos
    text: str
    tokens: list[Token]
    refs: list[_Ref]
    names: list[str]
    translator: Translator | None = None


@dataclass
class _Sheet:
    title: str
    index: int
    consts: dict[Pos, Any] = field(default_factory=dict)  # numbers, text, booleans, errors
    formulas: dict[Pos, _Formula] = field(default_factory=dict)
    percent: set[Pos] = field(default_factory=set)
    dates: set[Pos] = field(default_factory=set)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    text_cols: dict[int, list[int]] = field(default_factory=dict)  # row -> text columns
    text_rows: dict[int, list[int]] = field(default_factory=dict)  # column -> text rows
    consulting: bool = False

    def filled(self, pos: Pos) -> bool:
        return pos in self.consts or pos in self.formulas or pos in self.dates

    def text(self, pos: Pos) -> str | None:
        v = self.consts.get(pos)
        return v if isinstance(v, str) and v not in ERRORS else None

    def row_label(self, pos: Pos) -> str | None:
        """The nearest text to the left of ``pos`` in its row."""
        cols = self.text_cols.get(pos[0], [])
        i = bisect.bisect_left(cols, pos[1])
        return self.consts[(pos[0], cols[i - 1])] if i else None

    def column_label(self, pos: Pos) -> str | None:
        """The nearest text above ``pos`` in its column."""
        rows = self.text_rows.get(pos[1], [])
        i = bisect.bisect_left(rows, pos[0])
        return self.consts[(rows[i - 1], pos[1])] if i else None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Book:
    """What the rules read of a workbook: constants, formulas (tokenised once, references
    resolved), number formats that matter, hidden rows and columns, labels."""

    def __init__(self, book: Any):
        self.sheets: dict[str, _Sheet] = {}
        self.upper: dict[str, str] = {}
        for i, ws in enumerate(book.worksheets):
            self.sheets[ws.title] = _Sheet(ws.title, i)
            self.upper[ws.title.upper()] = ws.title
        self.names: dict[str, list[_Ref]] = {}
        for name, dn in _defined_names(book):
            refs = []
            try:
                for title, coord in dn.destinations:
                    ref = self._rect(title, coord)
                    if ref is not None:
                        refs.append(ref)
            except Exception:  # noqa: BLE001 - a name that is not a reference (a constant)
                pass
            self.names.setdefault(name.upper(), []).extend(refs)
        for ws in book.worksheets:
            self._read(ws, self.sheets[ws.title])

    def _rect(self, sheet: str | None, ref: str, here: str = "") -> _Ref | None:
        title = self.upper.get((sheet if sheet is not None else here).upper())
        text = ref.replace("$", "")
        if title is None or not _A1.fullmatch(text):
            return None
        try:
            c1, r1, c2, r2 = range_boundaries(text)
        except (ValueError, TypeError):
            return None
        return _Ref(title, (r1 or 0, c1 or 0, r2 or 0, c2 or 0), ref)

    def _read(self, ws: Any, sheet: _Sheet) -> None:
        for key, dim in ws.row_dimensions.items():
            if dim.hidden:
                sheet.hidden_rows.add(key)
        for key, dim in ws.column_dimensions.items():
            if dim.hidden:
                lo, hi = (dim.min or 0), (dim.max or 0)
                sheet.hidden_cols.update(range(lo, hi + 1) if lo and hi else
                                         [range_boundaries(f"{key}1")[0]])
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is None:
                    continue
                pos = (c.row, c.column)
                text = getattr(v, "text", v)  # an ArrayFormula keeps its text in .text
                if c.data_type == "f" and isinstance(text, str) and text.startswith("="):
                    sheet.formulas[pos] = self._formula(sheet.title, pos, text)
                elif isinstance(v, (datetime, date, time)) or (c.is_date and _is_number(v)):
                    sheet.dates.add(pos)
                else:
                    sheet.consts[pos] = v
                    if isinstance(v, str) and v not in ERRORS and v.strip():
                        sheet.text_cols.setdefault(pos[0], []).append(pos[1])
                        sheet.text_rows.setdefault(pos[1], []).append(pos[0])
                        if not sheet.consulting and CONSULTING_SHEET.search(norm(v)):
                            sheet.consulting = True
                    elif _is_number(v) and "%" in (c.number_format or ""):
                        sheet.percent.add(pos)
        for cols in sheet.text_cols.values():
            cols.sort()
        for rows in sheet.text_rows.values():
            rows.sort()

    def _formula(self, title: str, pos: Pos, text: str) -> _Formula:
        try:  # the Translator tokenises once; its tokens serve every rule
            translator: Translator | None = Translator(text, origin=_coord(pos))
            tokens = translator.tokenizer.items  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - openpyxl's tokenizer refuses broken text
            translator, tokens = None, []
        refs: list[_Ref] = []
        names: list[str] = []
        for t in tokens:
            if t.type != Token.OPERAND or t.subtype != Token.RANGE or "[" in t.value:
                continue
            sheet, ref = split_ref(t.value)
            found = self._rect(sheet, ref, title)
            if found is not None:
                refs.append(found)
            elif sheet is None and ref.upper() in self.names:
                names.append(ref)
                refs.extend(self.names[ref.upper()])
        return _Formula(pos, text, tokens, refs, names, translator)

    def ordered(self) -> list[_Sheet]:
        return sorted(self.sheets.values(), key=lambda s: s.index)


def _defined_names(book: Any) -> Iterator[tuple[str, Any]]:
    """(name, DefinedName) of the workbook's and every sheet's defined names (openpyxl
    3.1: ``wb.defined_names`` and ``ws.defined_names`` are dicts)."""
    for name, dn in getattr(book, "defined_names", {}).items():
        yield name, dn
    for ws in book.worksheets:
        for name, dn in getattr(ws, "defined_names", {}).items():
            yield name, dn


# -- formulas: relative comparison, shapes, numbers ------------------------------------------------

class _Relative:
    """Translations of formulas between cells of one sheet, cached."""

    def __init__(self, sheet: _Sheet):
        self.sheet = sheet
        self._moved: dict[tuple[Pos, Pos], str | None] = {}

    def moved(self, src: Pos, dest: Pos) -> str | None:
        """The formula of ``src`` as it reads when copied to ``dest``."""
        key = (src, dest)
        if key not in self._moved:
            tr = self.sheet.formulas[src].translator
            try:
                self._moved[key] = tr.translate_formula(_coord(dest)) if tr else None
            except Exception:  # noqa: BLE001 - moved off the sheet (#REF!)
                self._moved[key] = None
        return self._moved[key]

    def agree(self, a: Pos, b: Pos) -> bool:
        """Whether the formulas at ``a`` and ``b`` are the same relative formula."""
        moved = self.moved(a, b)
        return moved is not None and _same(moved, self.sheet.formulas[b].text)


def _same(x: str, y: str) -> bool:
    return x == y or re.sub(r"\s+", "", x).upper() == re.sub(r"\s+", "", y).upper()


def _shape(f: _Formula) -> tuple[str, ...]:
    """The formula with every reference replaced: same shape, other references."""
    return tuple("R" if t.type == Token.OPERAND and t.subtype == Token.RANGE
                 else t.value.upper() for t in f.tokens if t.type != Token.WSPACE)


_STRUCTURAL: dict[str, frozenset[int]] = {
    **{f: frozenset({1}) for f in ("ROUND", "ROUNDUP", "ROUNDDOWN", "TRUNC", "FIXED",
                                   "FLOOR", "CEILING", "MROUND", "LEFT", "RIGHT", "EDATE",
                                   "EOMONTH", "WEEKDAY", "LARGE", "SMALL", "ISOWEEKNUM")},
    "FLOOR.MATH": frozenset({1, 2}), "CEILING.MATH": frozenset({1, 2}),
    "INDEX": frozenset({1, 2, 3}), "MATCH": frozenset({2}), "XMATCH": frozenset({2, 3}),
    "VLOOKUP": frozenset({2, 3}), "HLOOKUP": frozenset({2, 3}),
    "XLOOKUP": frozenset({4, 5}), "OFFSET": frozenset({1, 2, 3, 4}),
    "CHOOSE": frozenset({0}), "MID": frozenset({1, 2}), "DATE": frozenset({0, 1, 2}),
    "SUBTOTAL": frozenset({0}), "AGGREGATE": frozenset({0, 1}),
    "YEARFRAC": frozenset({2}), "DAYS360": frozenset({2}),
}
_TRIVIAL = frozenset({Decimal(0), Decimal(1), Decimal(12), Decimal(100)})
# per-mille and basis-point divisors (``ROUNDDOWN(base*Bp/10000,0)``, the exact native form):
# units, unless the row's label makes them a rate of the card (a typed 10,000 yen/h)
_UNITS = frozenset({Decimal(1000), Decimal(10000)})


def typed_numbers(tokens: list[Token]) -> list[tuple[Decimal, str]]:
    """The numbers typed in a formula's tokens that are amounts or rates (see the module's
    rule for ``typed_number``): (value, as typed); ``30%`` is 0.3.

    >>> from openpyxl.formula.tokenizer import Tokenizer
    >>> typed_numbers(Tokenizer("=ROUNDDOWN((F16+F9)*0.25,0)+1").items)
    [(Decimal('0.25'), '0.25')]
    >>> typed_numbers(Tokenizer("=A1*30%+INDEX(B1:C9,2,3)*12").items)
    [(Decimal('0.3'), '30%')]
    """
    out = []
    stack: list[list[Any]] = []  # [function name, argument index]
    for i, t in enumerate(tokens):
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            stack.append([t.value[:-1].upper().removeprefix("_XLFN."), 0])
        elif t.type == Token.FUNC and t.subtype == Token.CLOSE:
            if stack:
                stack.pop()
        elif t.type == Token.SEP and t.subtype == Token.ARG and stack:
            stack[-1][1] += 1
        elif t.type == Token.OPERAND and t.subtype == Token.NUMBER:
            try:
                value = Decimal(t.value)
            except InvalidOperation:
                continue
            shown = t.value
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.type == Token.OP_POST and nxt.value == "%":
                value, shown = value / 100, shown + "%"
            if value in _TRIVIAL:
                continue
            if stack and stack[-1][1] in _STRUCTURAL.get(stack[-1][0], ()):
                continue
            out.append((value, shown))
    return out


def _sum_cells(f: _Formula, title: str) -> set[Pos] | None:
    """The cells of ``title`` a formula adds up when it is nothing but a sum of cells
    (``=SUM(F6:F8)``, ``=F11+F13``, ``=SUM(F10:F16)+F5``); otherwise ``None``."""
    cells: set[Pos] = set()
    for t in f.tokens:
        if t.type == Token.FUNC:
            if t.subtype == Token.OPEN and t.value.upper() != "SUM(":
                return None
        elif t.type == Token.OPERAND:
            if t.subtype != Token.RANGE:
                return None
        elif t.type == Token.OP_IN:
            if t.value != "+":
                return None
        elif t.type not in (Token.SEP, Token.PAREN, Token.WSPACE):
            return None
    for ref in f.refs:
        if ref.sheet != title:
            return None
        got = ref.cells()
        if got is None:
            return None
        cells.update(got)
    return cells


# -- numbers and rates -------------------------------------------------------------------------

def _dec(v: Any) -> Decimal:
    return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def _show(v: Any) -> str:
    """A number as a person reads it: 1,100,000 or 0.25."""
    if isinstance(v, Decimal):
        v = int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        return f"{v:,}"
    if abs(v) >= 1000:
        return f"{v:,.6f}".rstrip("0").rstrip(".")
    return f"{v:g}"


def _pct(v: Decimal) -> str:
    return f"{float(v) * 100:g}%"


def _show_rates(kind: str, rates: frozenset[Decimal]) -> str:
    if kind == "consulting":
        return " / ".join(f"¥{int(r):,}/h" for r in sorted(rates))
    if kind == "research_fee":
        return " / ".join(f"¥{int(r):,}" for r in sorted(rates)) or "なし / none"
    return " / ".join(_pct(r) for r in sorted(rates))


def _as_rate(kind: str, value: Decimal, percent: bool, label: str) -> Decimal | None:
    """``value`` as the card would hold it, or ``None`` when it does not look like a rate
    of ``kind`` (fractions: 0 < x < 1, a percent cell, or ``30`` with ``%`` in the label;
    consulting: yen per hour >= 1,000)."""
    if kind in YEN_KINDS:
        return value if value >= 1000 and not percent else None
    if 0 < value < 1 or (percent and 0 < value <= 1):
        return value
    if ("%" in norm(label)) and 1 < value < 100:
        return value / 100
    return None


def _near(value: Decimal, rates: Iterable[Decimal]) -> bool:
    return any(abs(value - r) <= Decimal("1e-9") * max(1, abs(r)) for r in rates)


def _agrees(kind: str, value: Decimal, rates: frozenset[Decimal],
            fees: frozenset[Decimal]) -> bool:
    """A rate of ``kind`` the card has; a 研究料 a whole multiple of one period's fee
    (``fees``: :func:`_fee_amounts`).  A card without 研究料 has nothing to compare with."""
    if kind == "research_fee":
        return not fees or any(value % f == 0 for f in fees if f)
    return _near(value, rates)


# -- the rules ------------------------------------------------------------------------------------

def _finding(sheet: _Sheet, pos: Pos, kind: str, ja: str, en: str, why: str) -> Finding:
    return Finding(sheet.title, _coord(pos), kind, ja, en, why)


def _lines(cells: Iterable[Pos]) -> Iterator[list[Pos]]:
    """Runs of adjacent cells: down each column, then along each row."""
    cells = list(cells)
    for axis in (0, 1):
        other = 1 - axis
        by_line: dict[int, list[int]] = {}
        for p in cells:
            by_line.setdefault(p[other], []).append(p[axis])
        for line, steps in by_line.items():
            steps.sort()
            run = [steps[0]]
            for s in steps[1:]:
                if s == run[-1] + 1:
                    run.append(s)
                    continue
                yield [(x, line) if axis == 0 else (line, x) for x in run]
                run = [s]
            yield [(x, line) if axis == 0 else (line, x) for x in run]


def pattern_breaks(book: _Book, rel: Mapping[str, _Relative]) -> Iterator[Finding]:
    """``pattern_break`` findings (see the module)."""
    for sheet in book.ordered():
        r = rel[sheet.title]
        for run in _lines(sheet.formulas):
            if len(run) < 3:
                continue
            segs: list[list[Pos]] = [[run[0]]]
            for a, b in zip(run, run[1:]):
                if r.agree(a, b):
                    segs[-1].append(b)
                else:
                    segs.append([b])
            for j, seg in enumerate(segs):
                if len(seg) != 1:
                    continue
                p = seg[0]
                i = run.index(p)
                if (i >= 2 and r.agree(run[i - 2], p)) or \
                        (i + 2 < len(run) and r.agree(p, run[i + 2])):
                    continue  # a period-2 pattern (amount, rate, amount, rate)
                prev = segs[j - 1] if j else None
                nxt = segs[j + 1] if j + 1 < len(segs) else None
                model = None
                if prev and nxt and r.agree(prev[-1], nxt[0]):
                    model = prev[-1] if len(prev) >= len(nxt) else nxt[0]
                elif _shape(sheet.formulas[p]).count("R") >= 2:  # not a bare reference
                    shape = _shape(sheet.formulas[p])
                    for side, near in ((prev, -1), (nxt, 0)):
                        if side and len(side) >= 2 and \
                                _shape(sheet.formulas[side[near]]) == shape:
                            model = side[near]
                            break
                if model is None:
                    continue
                block = sorted(q for side in (prev, nxt) if side for q in side
                               if q == model or r.agree(model, q))
                expected = r.moved(model, p) or "?"
                span = f"{_coord(block[0])}:{_coord(block[-1])}" if len(block) > 1 \
                    else _coord(block[0])
                got = sheet.formulas[p].text
                yield _finding(
                    sheet, p, "pattern_break",
                    f"{_coord(p)} の数式 {got} は周囲（{span}）と異なります（期待: {expected}）",
                    f"{_coord(p)} has {got} where its neighbours {span} give {expected}",
                    f"{span} は同じ相対数式 / {span} share one relative formula "
                    f"({sheet.formulas[model].text} at {_coord(model)})")


def typed_in_cells(book: _Book, rel: Mapping[str, _Relative]) -> Iterator[Finding]:
    """``typed_number`` findings for numbers typed in cells: between (or right after) cells
    of one relative formula, or in a cell labelled as a total."""
    for sheet in book.ordered():
        r = rel[sheet.title]
        filled = [p for p in sheet.consts if _is_number(sheet.consts[p])] + \
            list(sheet.formulas)
        for run in _lines(filled):
            for i, p in enumerate(run):
                if p not in sheet.consts:
                    continue
                before = run[i - 1] if i else None
                after = run[i + 1] if i + 1 < len(run) else None
                model = None
                if before in sheet.formulas and after in sheet.formulas and \
                        r.agree(before, after):
                    model = before
                elif i >= 2 and before in sheet.formulas and run[i - 2] in sheet.formulas \
                        and r.agree(run[i - 2], before) and after not in sheet.consts:
                    model = before
                if model is None:
                    continue
                expected = r.moved(model, p) or "?"
                value = _show(sheet.consts[p])
                yield _finding(
                    sheet, p, "typed_number",
                    f"{_coord(p)} に数値 {value} が直接入力されています（周囲は数式 {expected}）",
                    f"{_coord(p)} holds the typed number {value} where its neighbours "
                    f"compute {expected}",
                    f"{_coord(model)} などは数式 / the cells beside it are formulas "
                    f"({sheet.formulas[model].text} at {_coord(model)})")
        for p, v in sheet.consts.items():
            if not _is_number(v):
                continue
            label = sheet.row_label(p)
            if label is None or not is_total_label(label):
                continue
            if not _computed_above(sheet, p):
                continue
            yield _finding(
                sheet, p, "typed_number",
                f"合計欄 {_coord(p)}（{label}）に数値 {_show(v)} が直接入力されています",
                f"the total {_coord(p)} ({label}) is the typed number {_show(v)}, not a "
                "formula",
                "合計は内訳から計算すべき値 / a total should be computed from its parts")


def _computed_above(sheet: _Sheet, p: Pos) -> bool:
    """Whether the first visible non-percent cell above ``p`` is a formula or a number."""
    q = (p[0] - 1, p[1])
    while q[0] >= 1 and (q in sheet.percent or q[0] in sheet.hidden_rows):
        q = (q[0] - 1, q[1])
    return q in sheet.formulas or _is_number(sheet.consts.get(q))


def rates_in(book: _Book, card: RateCard, typed_rates: bool) -> Iterator[Finding]:
    """``typed_number``, ``rate_mismatch`` and ``rate_typed`` findings for numbers typed in
    formulas, and ``rate_mismatch`` for rate cells and the rate cells formulas apply."""
    rates = card_rates(card)
    fees = _fee_amounts(card)
    every = frozenset().union(*(v for k, v in rates.items() if k not in YEN_KINDS))

    def differs(kind: str, rate: Decimal | None) -> bool:
        return rate is not None and not _agrees(kind, rate, rates[kind], fees)

    src = f"{card.id} v{card.version}"
    for sheet in book.ordered():
        for p, f in sheet.formulas.items():
            label = sheet.row_label(p) or ""
            kind = rate_label(label, sheet.consulting) if label else None
            rated = False
            for value, shown in typed_numbers(f.tokens):
                rate = _as_rate(kind, value, shown.endswith("%"), label) if kind else None
                if rate is None and value in _UNITS:
                    continue
                if differs(kind, rate):
                    rated = True
                    yield _mismatch(sheet, p, label, kind, shown, rates[kind], src,
                                    f"{f.text} に直接入力 / typed in {f.text}")
                elif typed_rates and (rate is not None or 0 < value < 1) and \
                        _near(rate if rate is not None else value,
                              rates[kind] if rate is not None else every):
                    yield _finding(
                        sheet, p, "rate_typed",
                        f"{_coord(p)} の数式 {f.text} に料率 {shown} が直接入力されています",
                        f"{_coord(p)} types the rate {shown} into {f.text}",
                        f"料率表 {src} の料率と同じ値: セルか名前を参照してください / equals a "
                        f"rate of card {src}: reference its cell or name instead")
                else:
                    yield _finding(
                        sheet, p, "typed_number",
                        f"{_coord(p)} の数式 {f.text} に数値 {shown} が直接入力されています",
                        f"{_coord(p)} has the number {shown} typed into {f.text}",
                        "入力セルを参照すれば変更が一か所で済みます / a referenced input cell "
                        "changes in one place")
            if kind is None or rated:
                continue
            for ref in f.refs:
                if not ref.single:
                    continue
                target = book.sheets[ref.sheet]
                q = (ref.rect[0], ref.rect[1])
                v = target.consts.get(q)
                if not _is_number(v) or not (q in target.percent or 0 < v < 1):
                    continue
                their_label = target.row_label(q) or ""
                theirs = rate_label(their_label, target.consulting) if their_label else None
                where = _coord(q) if ref.sheet == sheet.title else \
                    f"{_quote(ref.sheet)}!{_coord(q)}"
                if theirs is not None and theirs != kind:
                    yield _finding(
                        sheet, p, "rate_mismatch",
                        f"{_coord(p)}（{label}）は{RATE_NAMES[kind][0]}ではなく {where}"
                        f"（{their_label}）を掛けています",
                        f"{_coord(p)} ({label}) applies {where} ({their_label}), not the "
                        f"{RATE_NAMES[kind][1]}",
                        f"{f.text}: 料率表 {src} の{RATE_NAMES[kind][0]}は "
                        f"{_show_rates(kind, rates[kind])} / card {src}: "
                        f"{_show_rates(kind, rates[kind])}")
                    break
                if theirs is None:
                    rate = _as_rate(kind, _dec(v), q in target.percent, their_label)
                    if differs(kind, rate):
                        yield _mismatch(sheet, p, label, kind, f"{_show(v)} ({where})",
                                        rates[kind], src, f"{f.text}")
                        break
        for p, v in sheet.consts.items():
            if not _is_number(v):
                continue
            label = sheet.row_label(p)
            kind = rate_label(label, sheet.consulting) if label else None
            if kind is None:
                continue
            rate = _as_rate(kind, _dec(v), p in sheet.percent, label)
            if differs(kind, rate):
                shown = _pct(rate) if kind not in YEN_KINDS else f"¥{_show(v)}" + (
                    "/h" if kind == "consulting" else "")
                yield _mismatch(sheet, p, label, kind, shown, rates[kind], src,
                                "入力された料率 / the rate typed in the cell")


def _mismatch(sheet: _Sheet, p: Pos, label: str, kind: str, shown: str,
              rates: frozenset[Decimal], src: str, why: str) -> Finding:
    want = _show_rates(kind, rates)
    return _finding(
        sheet, p, "rate_mismatch",
        f"{_coord(p)}（{label}）の {shown} は料率表の{RATE_NAMES[kind][0]} {want} と異なります",
        f"{_coord(p)} ({label}) uses {shown} where card {src} has the "
        f"{RATE_NAMES[kind][1]} {want}",
        f"{why}; 料率表 / card {src}")


def unused_inputs(book: _Book) -> Iterator[Finding]:
    """``unused_input`` findings (see the module)."""
    used_cells: dict[str, set[Pos]] = {t: set() for t in book.sheets}
    used_rects: dict[str, list[_Ref]] = {t: [] for t in book.sheets}
    for sheet in book.sheets.values():
        for f in sheet.formulas.values():
            for ref in f.refs:
                (used_cells[ref.sheet].add((ref.rect[0], ref.rect[1])) if ref.single
                 else used_rects[ref.sheet].append(ref))
    for refs in book.names.values():  # what a defined name points at is used by its users
        for ref in refs:
            (used_cells[ref.sheet].add((ref.rect[0], ref.rect[1])) if ref.single
             else used_rects[ref.sheet].append(ref))

    def used(title: str, p: Pos) -> bool:
        return p in used_cells[title] or any(r.covers(p) for r in used_rects[title])

    for sheet in book.ordered():
        inputs = [p for p, v in sheet.consts.items()
                  if _is_number(v) and sheet.row_label(p) is not None]
        by_col: dict[int, list[int]] = {}
        for p in inputs:
            by_col.setdefault(p[1], []).append(p[0])
        for col, rows in by_col.items():
            rows.sort()
            state = {row: used(sheet.title, (row, col)) for row in rows}
            for i, row in enumerate(rows):
                if state[row]:
                    continue
                near = [rows[j] for j in (i - 1, i + 1) if 0 <= j < len(rows)]
                if not near or not all(state[n] for n in near):
                    continue
                p = (row, col)
                label = sheet.row_label(p)
                yield _finding(
                    sheet, p, "unused_input",
                    f"{_coord(p)}（{label}）の値 {_show(sheet.consts[p])} はどの数式からも"
                    "使われていません",
                    f"{_coord(p)} ({label}) = {_show(sheet.consts[p])} is used by no formula",
                    f"隣の入力 {', '.join(_coord((n, col)) for n in near)} は使われています / "
                    f"its neighbours {', '.join(_coord((n, col)) for n in near)} are used "
                    "(a value nobody applies often means the wrong one is applied)")


def _range_filled(sheet: _Sheet, ref: _Ref, seen: dict[tuple[str, Rect], bool]) -> bool:
    """Whether any filled cell of ``sheet`` lies in ``ref`` (a range too large to list:
    ``$D$1:$D$1048576``, ``C:C``), answered once per range."""
    key = (sheet.title, ref.rect)
    if key not in seen:
        seen[key] = any(ref.covers(q) for part in (sheet.consts, sheet.formulas, sheet.dates)
                        for q in part)
    return seen[key]


def empty_refs(book: _Book) -> Iterator[Finding]:
    """``empty_ref`` findings: formulas reading empty cells or all-empty ranges (whole
    columns too)."""
    seen: dict[tuple[str, Rect], bool] = {}
    for sheet in book.ordered():
        for p, f in sheet.formulas.items():
            empty = []
            for ref in f.refs:
                target = book.sheets[ref.sheet]
                cells = ref.cells()
                if cells is None:  # a large range: look at the sheet's filled cells instead
                    if _range_filled(target, ref, seen):
                        continue
                elif any(target.filled(q) for q in cells):
                    continue
                shown = ref.text if ref.sheet == sheet.title or "!" in ref.text else \
                    f"{_quote(ref.sheet)}!{ref.text}"
                if shown not in empty:
                    empty.append(shown)
            if empty:
                refs = ", ".join(empty)
                yield _finding(
                    sheet, p, "empty_ref",
                    f"{_coord(p)} の数式 {f.text} は空のセル {refs} を参照しています",
                    f"{_coord(p)} ({f.text}) references the empty cell(s) {refs}",
                    "空のセルは 0 として計算されます / an empty cell counts as 0")


def error_values(book: _Book, values: Mapping[str, Mapping[Pos, Any]] | None
                 ) -> Iterator[Finding]:
    """``error_value`` findings: cells whose computed value is an Excel error (typed
    error constants too); a cell whose error comes from a cell it references says so."""
    values = values or {}

    def error_at(title: str, q: Pos) -> str | None:
        sheet = book.sheets[title]
        v = values.get(title, {}).get(q) if q in sheet.formulas else sheet.consts.get(q)
        return v if isinstance(v, str) and v in ERRORS else None

    # The engine's limit, not the workbook's error: a formula over a huge range, and the
    # formulas reading such a cell.
    limited = {(s.title, p) for s in book.ordered() for p, f in s.formulas.items()
               if error_at(s.title, p) in ENGINE_LIMIT_ERRORS
               and any(r.size > ENGINE_RANGE_LIMIT for r in f.refs)}
    for sheet in book.ordered():
        for p in sorted(set(sheet.formulas) | set(sheet.consts)):
            err = error_at(sheet.title, p)
            if err is None or (sheet.title, p) in limited:
                continue
            f = sheet.formulas.get(p)
            if f is not None and any((r.sheet, q) in limited for r in f.refs
                                     for q in (r.cells(1000) or ())):
                continue
            source = next((q if ref.sheet == sheet.title else (ref.sheet, q)
                           for ref in (f.refs if f else ()) for q in (ref.cells(1000) or ())
                           if (ref.sheet, q) != (sheet.title, p)
                           and error_at(ref.sheet, q)), None)
            if source is None:
                why = (f"{f.text} の計算結果 / what {f.text} computes" if f else
                       "入力されたエラー値 / an error typed as a value")
            else:
                where = _coord(source) if isinstance(source[0], int) else \
                    f"{_quote(source[0])}!{_coord(source[1])}"
                why = f"{where} のエラーが伝わっています / comes from {where}"
            yield _finding(sheet, p, "error_value", f"{_coord(p)} の値がエラー {err} です",
                           f"{_coord(p)} is the error {err}", why)


def old_fiscal_years(book: _Book, card: RateCard) -> Iterator[Finding]:
    """``old_fiscal_year`` findings: labels older than the card's first fiscal year."""
    first = fiscal_year(card.model.card.effective_from)
    for sheet in book.ordered():
        for p, v in sheet.consts.items():
            if not isinstance(v, str) or not re.search(r"(?i)fy|年度", unicodedata.normalize(
                    "NFKC", v)):
                continue
            old = [(shown, y) for shown, y in fiscal_years(v) if y < first]
            if not old:
                continue
            shown, year = old[0]
            western = "" if str(year) in shown else f"（{year}年度）"
            yield _finding(
                sheet, p, "old_fiscal_year",
                f"{_coord(p)} の年度表記「{shown}」{western}は料率表の適用年度 {first}年度"
                "より前です",
                f"{_coord(p)} says {shown} (FY{year}), older than the card's FY{first}",
                f"料率表 {card.id} の適用開始 {card.model.card.effective_from.isoformat()} / "
                f"card {card.id} is in force from "
                f"{card.model.card.effective_from.isoformat()} (fiscal years start in April)")


def _value(sheet: _Sheet, values: Mapping[Pos, Any], p: Pos) -> Any:
    return values.get(p) if p in sheet.formulas else sheet.consts.get(p)


def _parts_above(sheet: _Sheet, p: Pos, values: Mapping[Pos, Any], axis: int = 0
                 ) -> list[Pos] | None:
    """The visible numbers above ``p`` (``axis`` 1: to its left) in its block: contiguous
    non-empty cells, hidden rows (columns) and percent cells skipped; ``None`` when the
    block holds an error (the error is its own finding)."""
    parts = []
    step = (-1, 0) if axis == 0 else (0, -1)
    q = (p[0] + step[0], p[1] + step[1])
    while q[0] >= 1 and q[1] >= 1 and sheet.filled(q):
        hidden = q[0] in sheet.hidden_rows if axis == 0 else q[1] in sheet.hidden_cols
        v = _value(sheet, values, q) if q in sheet.formulas else sheet.consts.get(q)
        if q in sheet.dates or isinstance(v, bool) or v is None:
            break
        if isinstance(v, str):
            if v in ERRORS:
                return None
            break
        if not hidden and q not in sheet.percent and _is_number(v):
            parts.append(q)
        q = (q[0] + step[0], q[1] + step[1])
    return parts


def total_mismatches(book: _Book, values: Mapping[str, Mapping[Pos, Any]] | None
                     ) -> Iterator[Finding]:
    """``total_mismatch`` findings (see the module); needs the computed values."""
    if values is None:
        return
    for sheet in book.ordered():
        vals = values.get(sheet.title, {})
        rows = {r for r, cols in sheet.text_cols.items()
                if any(is_total_label(sheet.consts[(r, c)]) for c in cols)}
        cols = {c for c, rs in sheet.text_rows.items()
                if any(is_total_label(sheet.consts[(r, c)]) for r in rs)}
        for p in sorted(q for q in (*sheet.formulas, *sheet.consts)
                        if q[0] in rows or q[1] in cols):
            v = _value(sheet, vals, p)
            if not _is_number(v):
                continue
            label, axis = sheet.row_label(p), 0
            if label is None or not is_total_label(label):
                label, axis = sheet.column_label(p), 1
                if label is None or not is_total_label(label):
                    continue
            parts = _parts_above(sheet, p, vals, axis)
            if not parts or len(parts) < 2:
                continue
            absorbed: set[Pos] = set()
            for q in parts:
                f = sheet.formulas.get(q)
                if f is None:
                    continue
                summed = _sum_cells(f, sheet.title)
                if summed is not None:
                    absorbed |= summed
                else:  # a product: its typed inputs (hours, rate) are not parts
                    absorbed |= {(r.rect[0], r.rect[1]) for r in f.refs if r.single and
                                 r.sheet == sheet.title and (r.rect[0], r.rect[1]) in
                                 sheet.consts}
            counted = [q for q in parts if q not in absorbed]
            expected = sum((_dec(_value(sheet, vals, q)) for q in counted), Decimal(0))
            got = _dec(v)
            if abs(got - expected) <= Decimal("1e-6") * max(1, abs(expected)):
                continue
            span = f"{_coord(counted[-1])}:{_coord(counted[0])}" if len(counted) > 1 else \
                _coord(counted[0])
            yield _finding(
                sheet, p, "total_mismatch",
                f"{_coord(p)}（{label}）の {_show(got)} は内訳 {span} の合計 "
                f"{_show(expected)} と {_show(got - expected)} 違います",
                f"{_coord(p)} ({label}) is {_show(got)}, the visible parts "
                f"{', '.join(_coord(q) for q in reversed(counted))} add up to "
                f"{_show(expected)} (difference {_show(got - expected)})",
                (f"{sheet.formulas[p].text} / " if p in sheet.formulas else "") +
                "内訳の合計と一致すべき値 / a total equals the sum of its visible parts")
        yield from _omitted(sheet, vals)


def _omitted(sheet: _Sheet, vals: Mapping[Pos, Any]) -> Iterator[Finding]:
    """SUMs whose range stops next to a number of the same block."""
    for p, f in sheet.formulas.items():
        for i, t in enumerate(f.tokens):
            if not (t.type == Token.FUNC and t.subtype == Token.OPEN and
                    t.value.upper() == "SUM("):
                continue
            arg = f.tokens[i + 1] if i + 1 < len(f.tokens) else None
            if arg is None or arg.type != Token.OPERAND or arg.subtype != Token.RANGE:
                continue
            ref = next((r for r in f.refs if r.text == split_ref(arg.value)[1]
                        and r.sheet == sheet.title), None)
            if ref is None or 0 in ref.rect:
                continue
            r1, c1, r2, c2 = ref.rect
            if c1 == c2 and r2 > r1:
                ends = [(r2 + 1, c1), (r1 - 1, c1)]
            elif r1 == r2 and c2 > c1:
                ends = [(r1, c2 + 1), (r1, c1 - 1)]
            else:
                continue
            inside = ref.cells() or []
            label = sheet.row_label(p) if c1 == c2 else sheet.column_label(p)
            if _sum_cells(f, sheet.title) is None and not (label and is_total_label(label)):
                continue  # a SUM inside another calculation, not a total
            # the total sits in the range's line, just before or after it (or after the
            # cell it leaves out)
            at = p[0] if c1 == c2 else p[1]
            lo, hi = (r1, r2) if c1 == c2 else (c1, c2)
            if (p[1] if c1 == c2 else p[0]) != (c1 if c1 == c2 else r1) or \
                    at not in (lo - 2, lo - 1, hi + 1, hi + 2):
                continue
            for q in ends:
                if q == p or q[0] < 1 or q[1] < 1 or q in sheet.percent or \
                        q[0] in sheet.hidden_rows or q[1] in sheet.hidden_cols:
                    continue
                v = _value(sheet, vals, q)
                if not _is_number(v) or any(r.covers(q) for r in f.refs):
                    continue
                label = sheet.row_label(q) if c1 == c2 else sheet.column_label(q)
                if label is not None and is_total_label(label):
                    continue
                if any(sheet.formulas.get(x) is not None and
                       any(r.sheet == sheet.title and r.covers(q)
                           for r in sheet.formulas[x].refs) for x in inside):
                    continue  # already counted by a cell of the range (a subtotal)
                yield _finding(
                    sheet, p, "total_mismatch",
                    f"{_coord(p)} の {arg.value} は隣の {_coord(q)}（{_show(v)}）を含みません",
                    f"{_coord(p)} sums {arg.value} and leaves out {_coord(q)} "
                    f"({_show(v)}) next to it",
                    f"{f.text}: 範囲が内訳の途中で終わっています / the range stops short of "
                    "its block")
                break


# -- entry points ------------------------------------------------------------------------------

def lint(book: Any, values: Mapping[str, Mapping[Pos, Any]] | None, card: RateCard, *,
         typed_rates: bool = False) -> tuple[Finding, ...]:
    """Every finding in an openpyxl workbook loaded with formulas.

    Args:
        book: ``openpyxl.load_workbook(path)`` (formulas, not ``data_only``).
        values: the computed values, sheet title -> {(row, column): value} (what
            :meth:`xl_pricing.recalc.Recalculator.computed` returns); ``None`` when the
            workbook could not be calculated (then ``error_value`` only sees typed errors
            and ``total_mismatch`` is skipped).
        card: the rate card the rates and fiscal years are checked against.
        typed_rates: report a number typed in a formula that equals a card rate as
            ``rate_typed`` (``--rates`` was given) rather than ``typed_number``.

    Returns:
        The findings, sorted by sheet (workbook order), row, column and kind; one per cell
        and kind.
    """
    b = _Book(book)
    rel = {t: _Relative(s) for t, s in b.sheets.items()}
    found: dict[tuple[str, str, str], Finding] = {}
    rules = (error_values(b, values), empty_refs(b), pattern_breaks(b, rel),
             typed_in_cells(b, rel), rates_in(b, card, typed_rates), unused_inputs(b),
             total_mismatches(b, values), old_fiscal_years(b, card))
    for rule in rules:
        for f in rule:
            found.setdefault((f.sheet, f.cell, f.kind), f)
    order = list(KINDS)

    def key(f: Finding) -> tuple[int, int, int, int]:
        col, row = range_boundaries(f.cell)[:2]
        return (b.sheets[f.sheet].index, row, col, order.index(f.kind))

    return tuple(sorted(found.values(), key=key))


def lint_workbook(path: str | Path, card: RateCard, *, typed_rates: bool = False,
                  engine: str = "auto", field: str = "WORKBOOK") -> tuple[Finding, ...]:
    """Lint the workbook at ``path``: checked (:func:`xl_pricing.xlsx.check_workbook`),
    recalculated once headlessly (:class:`~xl_pricing.recalc.Recalculator`), linted.

    A workbook the engine cannot calculate (an unknown function, a circular reference) is
    still linted: each problem becomes an ``error_value`` finding at its cell.

    Raises:
        InputError: not a readable workbook.
    """
    import openpyxl

    from ..recalc import RecalcError, Recalculator
    from ..xlsx import check_workbook

    check_workbook(path, field)
    problems: list[Finding] = []
    try:
        rc = Recalculator(path, engine=engine)
        values: Mapping[str, Mapping[Pos, Any]] | None = rc.computed()
        book = rc.facts.book
    except RecalcError as exc:
        if not all(p.sheet and p.cell and _A1.fullmatch(p.cell) for p in exc.problems):
            raise  # not a readable workbook, or a problem that is not one cell's
        book = openpyxl.load_workbook(path, keep_links=False)
        # a circular reference names its sheet as a formula writes it ('見積 2026')
        placed = [(split_ref(f"{p.sheet}!{p.cell}")[0], p.cell, p.reason)
                  for p in exc.problems]
        if not all(sheet in book.sheetnames for sheet, _, _ in placed):
            raise
        values = None
        problems = [Finding(sheet, cell, "error_value",  # type: ignore[arg-type]
                            f"{cell} は計算できません", f"{cell} cannot be calculated",
                            f"{reason} (計算できないため合計は点検していません / totals "
                            "not checked: the workbook cannot be calculated)")
                    for sheet, cell, reason in placed]
    found = lint(book, values, card, typed_rates=typed_rates)
    if not problems:
        return found
    seen = {(f.sheet, f.cell, f.kind) for f in found}
    extra = [f for f in problems if (f.sheet, f.cell, f.kind) not in seen]
    index = {t: i for i, t in enumerate(book.sheetnames)}

    def key(f: Finding) -> tuple[int, int, int, int]:
        col, row = range_boundaries(f.cell)[:2]
        return (index[f.sheet], row, col, list(KINDS).index(f.kind))

    return tuple(sorted([*found, *extra], key=key))
