"""Excel values in and out: numbers, dates and (key, value) rows → engine values.

The engine knows nothing of Excel.  Everything that arrives from a cell — through an Excel
function, a batch table, a recalculated workbook or ``recalc --set`` — passes through this
module, so there is one rule for what counts as a number or a date:

* numbers: ``int``, finite ``float`` (as the decimal a person typed: 0.1 → 0.1),
  ``Decimal``, numpy scalars (``numpy.float64`` as formulas and pandas pass them), and text
  as Japanese offices export it: ``1,000,000``, ``¥1,000,000``, ``1,000,000円``, full-width
  digits ``１０００``; NaN, infinities, booleans and magnitudes beyond 10**15 are refused;
* dates: Excel serial numbers of the 1900 date system (1 = 1900-01-01), dates, datetimes
  and ISO text, within 1900-01-01 .. 9999-12-31.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .project import Project

EXCEL_EPOCH = dt.date(1899, 12, 30)  # 1900 date system: serial 1 = 1900-01-01
FIRST_SERIAL = 1
LAST_SERIAL = (dt.date(9999, 12, 31) - EXCEL_EPOCH).days  # 2,958,465
MAX_MAGNITUDE = Decimal(10) ** 15  # a quadrillion yen: far above any real project
MIN_EXPONENT = -12  # digits below 1e-12 are noise from binary floats or a typo

DATE_KEYS = ("start", "end", "date")
MAX_KEY_PARTS = 16  # project keys have at most 5 (``project.outcome.sales.1.base``)

_CURRENCY = ("¥", "￥", "円", "JPY", "yen")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def _numpy_scalar(value: Any) -> Any:
    # numpy scalars (np.float64, np.int64, np.bool_) carry ``item()``; turning them into
    # Python values keeps numpy out of the engine and out of messages.
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def is_missing(value: Any) -> bool:
    """Empty cell or blank text.

    >>> is_missing(None), is_missing("  "), is_missing(0)
    (True, True, False)
    """
    return value is None or (isinstance(value, str) and not value.strip())


def _from_text(text: str) -> Decimal | None:
    t = unicodedata.normalize("NFKC", text).strip()  # full-width digits, ￥, ，→ ASCII
    for mark in _CURRENCY:
        if t.startswith(mark):
            t = t[len(mark):].strip()
        if t.endswith(mark):
            t = t[:-len(mark)].strip()
    t = t.replace(" ", "")
    if "," in t:
        # A comma separates thousands (1,000,000): "1,5" is no Japanese way of writing 1.5
        # or 15, so it is refused rather than guessed.
        if not _GROUPED.fullmatch(t):
            return None
        t = t.replace(",", "")
    t = t.replace("_", "")
    if not t:
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def number(value: Any, field: str, expected: str = "a number") -> Decimal:
    """A cell's number as an exact Decimal, or :class:`InputError` naming ``field``.

    Formula: a float becomes the shortest decimal that reads back as the same float
    (``repr``), so 0.547 is 0.547, not 0.54700000000000004174…; whole numbers stay whole.

    Example:
        >>> number(5000000.0, "amount"), number("¥1,000,000", "amount"), number("１２円", "x")
        (Decimal('5000000'), Decimal('1000000'), Decimal('12'))
        >>> number(float("nan"), "hours")
        Traceback (most recent call last):
        ...
        xl_pricing.errors.InputError: hours = nan: expected a number
    """
    value = _numpy_scalar(value)
    if is_missing(value):
        raise InputError(field, InputError.MISSING, expected)
    if isinstance(value, bool):
        raise InputError(field, value, expected)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(field, value, expected)
        x = Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
    elif isinstance(value, int):
        x = Decimal(value)
    elif isinstance(value, Decimal):
        x = value
    elif isinstance(value, str):
        parsed = _from_text(value)
        if parsed is None:
            raise InputError(field, value, expected)
        x = parsed
    else:
        raise InputError(field, value, expected)
    if not x.is_finite() or abs(x) >= MAX_MAGNITUDE:
        raise InputError(field, value, f"{expected} (finite, below 10^15)")
    if x and x.as_tuple().exponent < MIN_EXPONENT:  # type: ignore[operator]
        x = x.quantize(Decimal(1).scaleb(MIN_EXPONENT)).normalize()
    return x.to_integral_value() if x == x.to_integral_value() else x


def nonnegative(value: Any, field: str, expected: str = "a number >= 0") -> Decimal:
    """:func:`number`, refusing values below zero.

    >>> nonnegative("1,860", "hours")
    Decimal('1860')
    """
    x = number(value, field, expected)
    if x < 0:
        raise InputError(field, value, expected)
    return x


def cell_value(value: Any) -> Any:
    """A cell's value as the engine reads it: whole floats → int, other floats → Decimal
    (by their shortest repr), datetimes → date, numpy scalars → Python; text and the rest
    as they are.

    >>> cell_value(3.0), cell_value(0.547), cell_value(dt.datetime(2027, 4, 1))
    (3, Decimal('0.547'), datetime.date(2027, 4, 1))
    """
    value = _numpy_scalar(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return value  # refused by whoever expects a number, with its field
        return int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def excel_date(value: Any, field: str = "date") -> Any:
    """An Excel date cell as a date: a serial number, a datetime, a date or ISO text.

    Serial numbers outside 1900-01-01 .. 9999-12-31 are refused (Excel shows ##### for
    them).  Text is left for the project's validation to parse and judge.

    >>> excel_date(46478.0)
    datetime.date(2027, 4, 1)
    >>> excel_date(-5, "start")
    Traceback (most recent call last):
    ...
    xl_pricing.errors.InputError: start = -5: expected a date from 1900-01-01 to 9999-12-31 (an Excel serial number from 1 to 2958465)
    """
    value = _numpy_scalar(value)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        ok = value == value and FIRST_SERIAL <= value <= LAST_SERIAL
        if not ok:
            raise InputError(field, value, "a date from 1900-01-01 to 9999-12-31 (an Excel "
                             f"serial number from {FIRST_SERIAL} to {LAST_SERIAL})")
        days = int(value)
        if days == 60:  # Excel's 1900-02-29, a day that never was (kept from Lotus 1-2-3)
            raise InputError(field, value, "a real date (Excel serial 60 is 1900-02-29, "
                             "which does not exist)")
        # Serials 1..59 (January and February 1900) sit one day later than the epoch says.
        return EXCEL_EPOCH + dt.timedelta(days=days + (1 if days < 60 else 0))
    return value


def excel_serial(value: dt.date | dt.datetime) -> int | float:
    """A date as an Excel serial number (a datetime keeps its time as a fraction of a day).

    >>> excel_serial(dt.date(2027, 4, 1)), excel_serial(dt.date(1900, 1, 1))
    (46478, 1)
    """
    day = value.date() if isinstance(value, dt.datetime) else value
    serial = (day - EXCEL_EPOCH).days - (1 if day < dt.date(1900, 3, 1) else 0)
    if isinstance(value, dt.datetime):
        t = value - dt.datetime.combine(day, dt.time())
        return serial + t.seconds / 86400
    return serial


# -- projects as (key, value) rows, the form a two-column Excel range takes ---------------

def _info_keys() -> frozenset[str]:
    from .project import ProjectInfo

    return frozenset(ProjectInfo.model_fields)


def project_from_pairs(pairs: Any, source: str = "inputs") -> "Project":
    """A project from (key, value) rows: dotted key paths of the project file.

    Keys are the project file's paths with 1-based list positions — ``approach``,
    ``direct.1.amount``, ``researchers.2.hours``, ``outcome.sales.1.base`` — where the
    ``project.`` prefix may be left out.  Two short forms suit a worksheet:
    ``direct.<category> = amount`` and ``options.<name> = TRUE`` (or an amount).  Empty
    values are skipped; dates may be Excel serial numbers.  A key given twice is refused
    (the second would silently replace the first).

    Example:
        >>> p = project_from_pairs({"id": "Q1", "contract": "joint", "approach": "X",
        ...     "start": "2027-04-01", "end": "2028-03-31", "direct.consumables": 5e6})
        >>> p.direct[0].amount
        Decimal('5000000')
    """
    from .project import parse_project

    info = _info_keys()
    rows = pairs.items() if isinstance(pairs, dict) else pairs
    data: dict[str, Any] = {}
    seen: dict[tuple[str, ...], str] = {}
    for n, row in enumerate(rows, start=1):
        try:
            key, value = row
        except (TypeError, ValueError):
            raise InputError(f"{source} row {n}", row, "a (key, value) pair") from None
        if key is None or (isinstance(key, str) and not key.strip()):
            continue
        if not isinstance(key, str):
            raise InputError(f"{source} row {n} key", key, "a key such as 'approach'")
        value = cell_value(value)
        if value is None or value == "":
            continue
        parts = key.strip().split(".")
        if len(parts) > MAX_KEY_PARTS:  # deeper than any project key; would nest without end
            raise InputError(f"{source} row {n} key", key, f"a key of at most "
                             f"{MAX_KEY_PARTS} dotted parts such as 'outcome.sales.1.base'")
        # researchers.01 is researchers.1: one entry, so a repeat is caught as one.  (Long
        # digit runs stay text: no list has that many entries, and int() of thousands of
        # digits is refused by Python.)
        parts = [str(int(p)) if p.isdecimal() and len(p) <= 9 else p for p in parts]
        if parts[0] in info:
            parts.insert(0, "project")
        if parts[-1] in DATE_KEYS:
            value = excel_date(value, key.strip())
        if parts[0] == "direct" and len(parts) == 2 and not parts[1].isdecimal():
            direct = data.setdefault("direct", {})
            if not isinstance(direct, dict):
                raise InputError(key, value, "one way of giving direct costs per row",
                                 source)
            _once(seen, ("direct", "category", parts[1]), key, value, source)
            direct[f"~{parts[1]}"] = {"category": parts[1], "amount": value}
            continue
        if parts[0] == "options" and len(parts) == 2 and not parts[1].isdecimal():
            if value is False:
                continue
            _once(seen, ("options", "name", parts[1]), key, value, source)
            entry = {"name": parts[1]} if value is True else {"name": parts[1], "amount": value}
            data.setdefault("options", {})[f"~{parts[1]}"] = entry
            continue
        _once(seen, tuple(parts), key, value, source)
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(key, value, f"a key not below the value given for "
                                 f"{part!r}", source)
        if isinstance(node.get(parts[-1]), dict):
            raise InputError(key, value, "a key whose parts are not given one by one too",
                             source)
        node[parts[-1]] = value
    return parse_project(_lists(data, source), source)


def _once(seen: dict[tuple[str, ...], str], path: tuple[str, ...], key: str, value: Any,
          source: str) -> None:
    if path in seen:
        raise InputError(key, value, f"each key once (given before as {seen[path]!r})",
                         source)
    seen[path] = key


def _lists(node: Any, source: str, where: str = "") -> Any:
    """Tables keyed 1, 2, 3 ... (and short forms, keyed ``~name``) become lists in that
    order: numbered entries first, by number, then the short forms as they came."""
    if not isinstance(node, dict):
        return node
    out = {k: _lists(v, source, f"{where}.{k}" if where else k) for k, v in node.items()}
    if out and all(k.isdecimal() or k.startswith("~") for k in out):
        numbered = sorted((k for k in out if k.isdecimal()), key=int)
        named = [k for k in out if k.startswith("~")]
        if numbered and named:
            # ``direct.1.amount`` beside ``direct.consumables``: two ways of one table would
            # let one entry hide another.
            raise InputError(f"{where}.{named[0][1:]}", out[named[0]].get("amount", True),
                             f"one way of giving {where}: numbered ({where}.1.…) or by "
                             "name, not both", source)
        return [out[k] for k in numbered + named]
    return out


def project_to_pairs(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (key, value) rows of parsed project content (inverse of project_from_pairs).

    >>> project_to_pairs({"project": {"id": "Q1"}, "options": ["know_how"]})
    [('id', 'Q1'), ('options.1', 'know_how')]
    """
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(node, list):
            for i, v in enumerate(node, start=1):
                walk(f"{prefix}.{i}", v)
        else:
            rows.append((prefix.removeprefix("project."), node))

    walk("", data)
    return rows


def split_ref(text: str) -> tuple[str | None, str]:
    """A reference split into its sheet (unquoted) and the rest; no sheet: ``None``.

    >>> split_ref("'Bob''s'!$B$2"), split_ref("Hours"), split_ref("='見積 2025'!B3")
    (("Bob's", '$B$2'), (None, 'Hours'), ('見積 2025', 'B3'))
    """
    sheet, bang, ref = text.strip().lstrip("=").rpartition("!")
    if not bang:
        return None, ref
    if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref
