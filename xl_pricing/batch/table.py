"""Reading a table of projects (``.csv`` or ``.xlsx``) into rows of key paths and values.

The first row names the columns: the key paths of a project file that
:func:`~xl_pricing.cells.project_from_pairs` takes (``id``, ``contract``, ``approach``,
``start``, ``end``, ``direct.consumables``, ``researchers.1.hours`` ...).  Every column name
is checked against the project model once, when the table is opened, so an unknown column
is one message naming it (not one error per row), and what a column holds — text, a
number, a date, TRUE/FALSE — is known before the first row is read.

No silent guesses: a cell that cannot be what its column holds is not passed on as
something else.  It becomes a :class:`Refused` value in its row, and the run reports that
row with its row number, column and value:

* a number column holding text that is no number (``five million``), NaN or an infinity,
  or more than 10^15 (:func:`xl_pricing.cells.number` decides, so ``1,000,000``,
  ``¥1,000,000``, ``1,000,000円`` and full-width digits ``１０００`` are numbers);
* a date outside 1900-01-01 .. 9999-12-31 (``start = -5``), or text that is no date;
* an XLSX formula cell without a saved result, or an Excel error value (``#DIV/0!``);
* control characters other than tab and line breaks (NUL, vertical tab): no workbook can
  hold them;
* a filled cell to the right of the last named column (or under a column without a name).

Text encodings of CSV files are detected, never guessed: a byte-order mark (UTF-8, UTF-16
LE/BE), else strict trial decoding of the whole file as UTF-8, cp932 (Shift-JIS as Excel
saves it) and EUC-JP; when both Japanese encodings decode the file, charset-normalizer
decides, and a tie is refused (never garbled text).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import os
import re
import types
import typing
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pydantic

from ..cells import excel_date, number
from ..errors import InputError, InputErrors
from ..project import Project, ProjectInfo

__all__ = ["read_table", "count_rows", "cell_value", "column_kind", "column_of",
           "detect_encoding", "Refused", "TEXT_KEYS"]

CHUNK_ROWS = 1000  # kept for callers passing chunksize (CSV rows are streamed one by one)
READ_BLOCK = 1 << 20
SAMPLE = 4 << 20  # bytes charset-normalizer looks at when cp932 and EUC-JP both decode
_INFO_KEYS = frozenset(ProjectInfo.model_fields)
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(9999, 12, 31)


@dataclass(frozen=True)
class Refused:
    """A cell that was read but cannot be used: its value and what was expected."""

    value: Any
    expected: str


# -- what each column holds -----------------------------------------------------------------

def _leaves(hint: Any) -> list[Any]:
    """The types a field annotation allows, without Annotated wrappers and None."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(hint) for t in _leaves(a)]
    return [] if hint is type(None) else [hint]


def _kind_of(hint: Any) -> str | None:
    """``text``, ``bool``, ``date``, ``number``; ``None`` for a table (not a value)."""
    leaves = _leaves(hint)
    if any(t is str or typing.get_origin(t) is typing.Literal for t in leaves):
        return "text"
    if any(t is bool for t in leaves):
        return "bool"
    if any(t is dt.date for t in leaves):
        return "date"
    if any(t in (int, float, Decimal) for t in leaves):
        return "number"
    return None


def _key_parts(key: str) -> list[str]:
    parts = [p.strip() for p in key.strip().split(".")]
    if parts[0] in _INFO_KEYS:
        parts.insert(0, "project")
    return parts


@functools.lru_cache(maxsize=4096)
def column_kind(key: str) -> str | None:
    """What a column holds, from the project model: ``text``, ``number``, ``date``,
    ``bool``, ``option`` (TRUE/FALSE or an amount); ``None`` for a name the model does not
    know.  O(depth of the key path).

    >>> column_kind("researchers.2.hours"), column_kind("id"), column_kind("start")
    ('number', 'text', 'date')
    >>> column_kind("direct.travel"), column_kind("options.know_how"), column_kind("colour")
    ('number', 'option', None)
    """
    parts = _key_parts(key)
    if len(parts) == 2 and not parts[1].isdecimal() and parts[1]:
        if parts[0] == "direct":
            return "number"
        if parts[0] == "options":
            return "option"
    hint: Any = Project
    for part in parts:
        leaves = _leaves(hint)
        if len(leaves) != 1:
            return None
        t = leaves[0]
        origin = typing.get_origin(t)
        if isinstance(t, type) and issubclass(t, pydantic.BaseModel):
            f = t.model_fields.get(part)
            if f is None:
                return None
            hint = f.annotation
        elif origin is list:
            if not part.isdecimal() or int(part) < 1:
                return None
            hint = typing.get_args(t)[0]
        elif origin is dict:
            keys = typing.get_args(t)[0]
            if typing.get_origin(keys) is typing.Literal and part not in typing.get_args(keys):
                return None
            hint = typing.get_args(t)[1]
        else:
            return None
    if parts[0] == "options" and len(parts) == 2:
        return "text"  # options.1 = know_how
    return _kind_of(hint)


def _text_keys() -> frozenset[str]:
    """Last parts of key paths whose column holds text (``id``, ``title``, ``rank`` ...)."""
    out: set[str] = set()

    def walk(model: type[pydantic.BaseModel]) -> None:
        for name, f in model.model_fields.items():
            if _kind_of(f.annotation) == "text":
                out.add(name)
            for t in _leaves(f.annotation):
                for a in [t, *typing.get_args(t)]:
                    if isinstance(a, type) and issubclass(a, pydantic.BaseModel):
                        walk(a)

    walk(Project)
    return frozenset(out)


TEXT_KEYS = _text_keys()


def _path(key: str) -> tuple[str, ...]:
    """A column's key path as compared for repeats: ``id`` is ``project.id``,
    ``researchers.01`` is ``researchers.1``."""
    return tuple(str(int(p)) if p.isdecimal() else p for p in _key_parts(key))


# -- one cell -------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_BOOLS = {"true": True, "false": False}
# Characters no workbook can hold (XML 1.0): C0 controls but tab and line breaks, and
# non-characters.  Found in a cell, the row is refused rather than the text changed.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                     "#GETTING_DATA", "#SPILL!", "#CALC!"})


def _whole(x: Decimal) -> int | Decimal:
    return int(x) if x == x.to_integral_value() else x


def _date(value: Any, key: str) -> Any:
    expected = "a date from 1900-01-01 to 9999-12-31 such as 2027-04-01"
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value)
        m = _DATE.fullmatch(text)
        if m is None:
            try:
                value = number(text, key)  # an Excel serial number typed as text
            except InputError:
                return Refused(value, expected)
        else:
            try:
                value = dt.date(*(int(g) for g in m.groups()))
            except ValueError:
                return Refused(value, expected)
    if isinstance(value, bool):
        return Refused(value, expected)
    if isinstance(value, (int, float, Decimal)):
        try:
            return excel_date(value, key)
        except InputError as exc:
            return Refused(value, exc.expected)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value if FIRST_DATE <= value <= LAST_DATE else Refused(value, expected)
    return Refused(value, expected)


def _number(value: Any, key: str, kind: str) -> Any:
    if kind == "option" and isinstance(value, str) and value.lower() in _BOOLS:
        return _BOOLS[value.lower()]
    if isinstance(value, bool):
        return value if kind == "option" else Refused(value, "a number")
    if isinstance(value, (dt.date, dt.datetime)):
        return Refused(value, "a number")
    try:
        return _whole(number(value, key))
    except InputError as exc:
        return Refused(value, exc.expected)


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOLS:
        return _BOOLS[value.lower()]
    if isinstance(value, (int, float, Decimal)) and value in (0, 1):
        return bool(value)
    return Refused(value, "TRUE or FALSE")


def _digits(x: Decimal) -> str:
    return format(x.to_integral_value() if x == x.to_integral_value() else x, "f")


def _text(value: Any) -> Any:
    if isinstance(value, float):
        try:
            return _digits(number(value, "text"))
        except InputError as exc:
            return Refused(value, exc.expected)
    if isinstance(value, Decimal):
        return _digits(value) if value.is_finite() else Refused(value, "text")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def cell_value(key: str, value: Any, kind: str | None = None) -> Any:
    """A table cell as ``project_from_pairs`` wants it: ``None`` for an empty cell, a
    :class:`Refused` for one that cannot be what its column holds.

    Text is stripped.  Text columns (``id``, ``title``, ``rank`` ...) keep text (a number
    becomes its digits); number columns take what :func:`xl_pricing.cells.number` takes
    (whole numbers as int); date columns take dates, ``2027/4/1`` and Excel serial numbers
    within 1900..9999; TRUE/FALSE columns take TRUE/FALSE (or 1/0).

    >>> cell_value("direct.consumables", " ¥5,000,000 "), cell_value("id", 101.0)
    (5000000, '101')
    >>> cell_value("outcome.royalty_rate", "0.02"), cell_value("start", "2027/4/1")
    (Decimal('0.02'), datetime.date(2027, 4, 1))
    >>> cell_value("start", -5)
    Refused(value=-5, expected='a date from 1900-01-01 to 9999-12-31 (an Excel serial number from 1 to 2958465)')
    """
    kind = kind or column_kind(key) or "text"
    if value is None:
        return None
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if isinstance(value, str):
        if _ILLEGAL.search(value):  # before strip(): it takes \x1c-\x1f for spaces
            return Refused(value, "text without control characters (NUL, vertical tab ...)")
        value = value.strip()
        if not value:
            return None
    if kind == "date":
        return _date(value, key)
    if kind in ("number", "option"):
        return _number(value, key, kind)
    if kind == "bool":
        return _bool(value)
    return _text(value)


# -- the header -----------------------------------------------------------------------------

def _header(values: list[Any], source: str) -> tuple[list[str | None], list[str]]:
    """Column keys from the header row (``None`` for a column without a name) and their
    kinds.  Refuses a name used twice (also spelt differently: ``id`` and ``project.id``)
    and names the project model does not know — all of them in one message."""
    names: list[str | None] = []
    kinds: list[str] = []
    seen: dict[tuple[str, ...], tuple[int, str]] = {}
    unknown: list[tuple[int, str]] = []
    for i, v in enumerate(values, start=1):
        name = None if v is None else str(v).strip() or None
        kind = ""
        if name is not None:
            if _ILLEGAL.search(name):
                raise InputError(f"header column {i}", name, "a column name without control "
                                 "characters", source)
            path = _path(name)
            if path in seen:
                col, first = seen[path]
                same = "" if first == name else f" as {first!r}"
                raise InputError(f"header column {i}", name, f"a column name not used "
                                 f"already (column {col} has it{same})", source)
            seen[path] = (i, name)
            kind = column_kind(name) or ""
            if not kind:
                unknown.append((i, name))
        names.append(name)
        kinds.append(kind)
    if not seen:
        raise InputError("header", values, "a first row naming the columns (id, contract, "
                         "approach, start, end, ...)", source)
    if unknown:
        cols = ", ".join(str(i) for i, _ in unknown[:5])
        more = f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
        shown: Any = unknown[0][1] if len(unknown) == 1 else [n for _, n in unknown[:5]]
        raise InputError(f"header column{'s' if len(unknown) > 1 else ''} {cols}{more}", shown,
                         "column names that are key paths of a project (id, contract, "
                         "approach, start, end, direct.<category>, researchers.1.hours, "
                         "total.agreed ...; see templates/projects/batch-example.csv)",
                         source)
    return names, kinds


# -- encodings ------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_TRIALS = ("utf-8", "cp932", "euc_jp")
_ENCODINGS = ("a CSV file in UTF-8 (with or without BOM), Shift-JIS (cp932), EUC-JP or "
              "UTF-16 with BOM")


def detect_encoding(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The text encoding of a CSV file and its number of lines, in one pass of constant
    memory.

    A byte-order mark decides (UTF-8, UTF-16 LE/BE); without one the whole file is decoded
    strictly as UTF-8, cp932 and EUC-JP.  UTF-8 wins when it decodes (plain ASCII does in
    all three); when only cp932 and EUC-JP both decode, charset-normalizer compares the
    readings and a tie is refused.

    Raises:
        InputError: no encoding decodes the file, or cp932 and EUC-JP cannot be told apart.
    """
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(4)
        bom = next(((b, e) for b, e in _BOMS if head.startswith(b)), None)
        f.seek(0)
        if bom is not None:
            return _decode_all(f, bom[1], p)
        decoders = {e: codecs.getincrementaldecoder(e)() for e in _TRIALS}
        lines, last, sample, first = 0, b"", b"", True
        while block := f.read(READ_BLOCK):
            if first and block.count(0) * 4 >= len(block) >= 4:
                raise InputError("table", str(p), f"{_ENCODINGS} (this looks like UTF-16 "
                                 "without a byte-order mark)")
            first = False
            lines += block.count(b"\n")
            last = block[-1:]
            if len(sample) < SAMPLE:
                sample += block[:SAMPLE - len(sample)]
            for name in list(decoders):
                try:
                    decoders[name].decode(block)
                except UnicodeDecodeError:
                    del decoders[name]
        for name in list(decoders):
            try:
                decoders[name].decode(b"", final=True)
            except UnicodeDecodeError:
                del decoders[name]
    if last and last != b"\n":
        lines += 1
    if "utf-8" in decoders:
        return "utf-8", lines
    if len(decoders) == 1:
        return next(iter(decoders)), lines
    if not decoders:
        raise InputError("table", str(p), f"{_ENCODINGS} (no such encoding decodes it)")
    return _japanese(sample, p), lines


def _decode_all(f: Any, encoding: str, p: Path) -> tuple[str, int]:
    decoder = codecs.getincrementaldecoder(encoding)()
    lines, last = 0, ""
    try:
        while block := f.read(READ_BLOCK):
            text = decoder.decode(block)
            lines += text.count("\n")
            last = text[-1:] or last
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InputError("table", str(p), f"{_ENCODINGS} (it starts with a {encoding} "
                         f"byte-order mark but byte {exc.start} is not {encoding})") from None
    return encoding, lines + (1 if last and last != "\n" else 0)


def _japanese(sample: bytes, p: Path) -> str:
    """cp932 or EUC-JP for bytes both decode, by charset-normalizer; a tie is refused."""
    from charset_normalizer import from_bytes

    found = list(from_bytes(sample, cp_isolation=["cp932", "euc_jp"]))
    found = [m for m in found if m.encoding in ("cp932", "euc_jp")]
    if found and (len(found) == 1 or (found[0].chaos, -found[0].coherence)
                  != (found[1].chaos, -found[1].coherence)):
        return found[0].encoding
    raise InputError("table", str(p), f"{_ENCODINGS} that can be told apart: this file reads "
                     "as both Shift-JIS and EUC-JP (save it as CSV UTF-8)")


# -- tables ---------------------------------------------------------------------------------

def _check_table(path: str | os.PathLike[str]) -> tuple[Path, str]:
    p = Path(path)
    kind = p.suffix.lower()
    if kind not in (".csv", ".xlsx", ".xlsm"):
        raise InputError("table", str(p), "a table of projects ending in .csv or .xlsx")
    if not p.is_file():
        raise InputError("table", str(p), "an existing file")
    return p, "csv" if kind == ".csv" else "xlsx"


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """About how many data rows the table has (for a progress bar), cheaply.

    CSV: its lines less the header (a quoted value spanning lines counts more than once).
    XLSX: the sheet's recorded dimension, when the file has one; otherwise ``None``.
    """
    p, kind = _check_table(path)
    if kind == "csv":
        return max(detect_encoding(p)[1] - 1, 0)
    from ..xlsx import check_workbook

    check_workbook(p, "table")  # before openpyxl opens a file a user named
    return _xlsx_count(p)


def _xlsx_count(p: Path) -> int | None:
    from openpyxl import load_workbook

    wb = load_workbook(p, read_only=True, data_only=True)
    try:
        n = wb.worksheets[0].max_row  # from the sheet's <dimension>; None without one
    finally:
        wb.close()
    return None if n is None else max(n - 1, 0)


@dataclass
class Table:
    """An opened table: its rows (an iterator, read lazily) and a row-count estimate."""

    path: Path
    rows: Iterator[tuple[int, dict[str, Any]]]
    estimate: int | None


def open_table(path: str | os.PathLike[str]) -> Table:
    """:func:`read_table` and :func:`count_rows` with one look at the file."""
    p, kind = _check_table(path)
    if kind == "csv":
        encoding, lines = detect_encoding(p)
        return Table(p, _csv_table(p, encoding), max(lines - 1, 0))
    from ..xlsx import check_workbook

    check_workbook(p, "table")
    return Table(p, _xlsx_table(p), _xlsx_count(p))


def read_table(path: str | os.PathLike[str], *, chunksize: int = CHUNK_ROWS
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a table of projects: ``(row number, {key: value})``.

    ``path`` is a ``.csv`` (encoding detected, see :func:`detect_encoding`) or an ``.xlsx``
    (first sheet).  Row numbers are spreadsheet rows: the header is row 1, the first data
    row row 2 (blank rows count, and are skipped).  Empty cells are left out; values are
    converted by :func:`cell_value`, and a cell that cannot be used is a :class:`Refused`.
    A line the CSV reader cannot read is a row ``{"(row)": Refused(...)}``.

    The file and its header are checked when this is called; rows are then read lazily
    (CSV with the csv module, XLSX with openpyxl in read-only mode), so memory does not
    grow with the table.  ``chunksize`` is accepted for compatibility and unused.

    Raises:
        InputError: not a .csv/.xlsx file, an undecidable encoding, no header, a column
            named twice, or column names the project model does not know.
    """
    return open_table(path).rows


def _record(names: list[str | None], kinds: list[str], values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for i, v in enumerate(values):
        if i >= len(names) or names[i] is None:
            if v is not None and not (isinstance(v, str) and not v.strip()):
                from openpyxl.utils import get_column_letter

                where = (f"column {i + 1} ({get_column_letter(i + 1)})" if i >= len(names)
                         else f"column {i + 1}")
                row[where] = Refused(v, "no value in a column without a name in the header "
                                     f"row (the header names {len(names)} columns)")
            continue
        key = names[i]
        c = cell_value(key, v, kinds[i])  # type: ignore[arg-type]
        if c is not None:
            row[key] = c  # type: ignore[index]
    return row


def _csv_table(p: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    f = open(p, newline="", encoding=encoding)
    try:
        reader = csv.reader(f)
        try:
            first = next(reader, None)
        except csv.Error as exc:
            raise InputError("header", str(p), f"a CSV header row ({exc})") from None
        if first is None:
            raise InputError("header", InputError.MISSING, "a first row naming the columns",
                             str(p))
        names, kinds = _header(first, str(p))
    except BaseException:
        f.close()
        raise
    return _csv_rows(f, reader, names, kinds)


def _csv_rows(f: Any, reader: Any, names: list[str | None], kinds: list[str]
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    number = 1
    with f:
        while True:
            number += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield number, {"(row)": Refused(f"line {reader.line_num}",
                                                f"a well-formed CSV line ({exc})")}
                continue
            row = _record(names, kinds, values)
            if row:
                yield number, row


def _xlsx_table(p: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        values = load_workbook(p, read_only=True, data_only=True)
        formulas = load_workbook(p, read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - zip / XML errors of a damaged file
        raise InputError("table", str(p), f"a readable .xlsx workbook ({exc})") from None
    try:
        rows = values.worksheets[0].iter_rows()
        frows = formulas.worksheets[0].iter_rows()
        first = next(rows, None)
        next(frows, None)
        if first is None:
            raise InputError("header", InputError.MISSING, "a first row naming the columns",
                             str(p))
        names, kinds = _header([c.value for c in first], str(p))
    except BaseException:
        values.close()
        formulas.close()
        raise
    return _xlsx_rows(values, formulas, rows, frows, names, kinds)


def _xlsx_cell(cell: Any, fcell: Any) -> Any:
    """A cell's saved value; a :class:`Refused` for a formula without one, or an error."""
    v = cell.value
    if getattr(cell, "data_type", None) == "e" or (isinstance(v, str) and v in _ERRORS):
        return Refused(v, f"a value, not an Excel error (cell {cell.coordinate})")
    if v is None and fcell is not None and getattr(fcell, "data_type", None) == "f":
        return Refused(fcell.value, f"a value: cell {fcell.coordinate} has a formula without "
                       "a saved result (open and save the table in Excel, or type the value)")
    return v


def _xlsx_rows(values: Any, formulas: Any, rows: Iterator[Any], frows: Iterator[Any],
               names: list[str | None], kinds: list[str]
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        for number, cells in enumerate(rows, start=2):
            # The same sheet read twice: the rows and their cells line up.
            fcells = tuple(next(frows, ()))
            raw = [_xlsx_cell(c, fcells[i] if i < len(fcells) else None)
                   for i, c in enumerate(cells)]
            refused = {i: v for i, v in enumerate(raw) if isinstance(v, Refused)}
            row = _record(names, kinds, [None if i in refused else v
                                         for i, v in enumerate(raw)])
            for i, r in refused.items():
                key = names[i] if i < len(names) and names[i] else f"column {i + 1}"
                row[key] = r  # type: ignore[index]
            if row:
                yield number, row
    finally:
        values.close()
        formulas.close()


# -- from an error's key path back to its column --------------------------------------------

class _Leaf(str):
    """A column name at the end of a key path."""


def key_tree(row: dict[str, Any]) -> dict[str, Any]:
    """The row's keys arranged the way ``project_from_pairs`` nests them, with column
    names for values (so a model's key path can be led back to its column).  Linear in
    the number of columns; build it once per row."""
    data: dict[str, Any] = {}
    for key, value in row.items():
        parts = _key_parts(key)
        col = _Leaf(key)
        if parts[0] in ("direct", "options") and len(parts) == 2 and not parts[1].isdecimal():
            if parts[0] == "options" and value is False:
                continue
            table = data.setdefault(parts[0], {})
            if isinstance(table, dict):
                table[f"~{len(table) + 1}"] = {"category": col, "amount": col, "name": col}
            continue
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = col
    return data


_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def column_in(field: str, tree: dict[str, Any]) -> str:
    """:func:`column_of` over a row's :func:`key_tree`."""
    node: Any = tree
    out: list[str] = []
    for name, index in _PATH.findall(field):
        if index:
            # List positions: numbered entries by number, then the short forms (as
            # project_from_pairs orders them).
            keys = (sorted((k for k in node if k.isdecimal()), key=int) +
                    [k for k in node if k.startswith("~")]) if isinstance(node, dict) else []
            i = int(index)
            part = keys[i] if i < len(keys) else str(i + 1)
        else:
            part = name
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, _Leaf):
            return str(node)
    if isinstance(node, dict) and node:
        columns = {str(v) if isinstance(v, _Leaf) else None for v in node.values()}
        if len(columns) == 1 and None not in columns:  # a short form: direct.<category>
            return columns.pop()
    if len(out) > 1 and out[0] == "project" and out[1] in _INFO_KEYS:
        out = out[1:]
    return ".".join(out) if out else field


def column_of(field: str, row: dict[str, Any]) -> str:
    """The table column an error's key path is about.

    >>> column_of("researchers[0].hours", {"researchers.1.hours": -5})
    'researchers.1.hours'
    >>> column_of("direct[1].amount", {"direct.consumables": 1, "direct.travel": "x"})
    'direct.travel'
    >>> column_of("project.approach", {"id": "Q1"})
    'approach'
    """
    return column_in(field, key_tree(row))


def errors_of(exc: InputError) -> list[InputError]:
    """The single errors of an InputError (an InputErrors holds several)."""
    return list(exc.errors) if isinstance(exc, InputErrors) else [exc]

