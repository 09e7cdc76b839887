"""Excel functions: thin xlwings adapters over the pricing engine.

Each function converts its arguments, calls the engine and returns Excel values; no
pricing rule lives here.  One module serves both kinds of Excel:

* desktop Excel (the xlwings add-in, ``UDF Modules = xl_pricing.udfs``): a function's Excel
  name is its Python name, ``XLP_TIMECHARGE``;
* xlwings Server (Excel on the web and Office.js): ``@xw.func(name=...)`` gives the display
  name without the prefix, and the add-in manifest's namespace ``XLP``
  (``XLWINGS_FUNCTIONS_NAMESPACE=XLP``) puts it in front: ``XLP.TIMECHARGE``.  The classic
  desktop decorator ignores ``name=``, so one decoration gives both names.

Scalar parameters carry no type hints on purpose: xlwings turns hints into converters, and
the engine's own checks give clearer messages (naming the argument, the value and what was
expected) than a failed float conversion would.  Ranges go through xlwings converters
(``ndim=1`` lists, ``dict`` for key/value tables, ``ndim=2`` tables).

Errors: bad input raises the engine's :class:`~xl_pricing.errors.InputError` (a
``ValueError`` naming the argument, the value and what was expected); the desktop add-in
treats every exception alike (``#VALUE!`` and the message); under xlwings Server it is
raised as ``xlwings.XlwingsError`` with the same message, an HTTP 400 (a client error
Excel shows, which the add-in does not retry).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import os
import sys
from decimal import Decimal
from functools import wraps
from time import monotonic
from typing import Any, Callable

import pandas as pd
import xlwings as xw

from .errors import InputError
from .money import D
from .pricing import quote as _quote
from .pricing.allocation import allocate_components as _allocate_components
from .pricing.cost import apply_rate as _apply_rate
from .pricing.cost import indirect as _indirect
from .pricing.cost import strategic as _strategic
from .pricing.outcome import milestones as _milestones
from .pricing.outcome import royalty as _royalty
from .pricing.outcome import success_fee as _success_fee
from .pricing.stacked import fa as _fa
from .pricing.tax import tax_credit as _tax_credit
from .pricing.timecharge import effort_hours as _effort_hours
from .pricing.timecharge import standard_rate as _standard_rate
from .pricing.timecharge import time_charge as _time_charge
from .pricing.timecharge import time_charges as _time_charges
from .pricing.total import total_indirect as _total_indirect
from .pricing.total import total_ratio as _total_ratio
from .cells import excel_date, project_from_pairs
from .rates import PARTIES, RateCard, checked_card, load_card

# xlwings 0.37's server converters ask, for every cell of a range, whether it is Pyodide's
# JsNull by trying ``from pyodide.ffi import JsNull``; outside Pyodide that import fails
# anew each time (about 0.3 ms a cell, 3 s for a 10,000-row range).  Outside Pyodide the
# answer is always False, so say so directly; inside Pyodide (xlwings Lite) the module
# exists and xlwings' own check stays.
if "pyodide" not in sys.modules and importlib.util.find_spec("pyodide") is None:
    import xlwings.utils as _xlwings_utils

    _xlwings_utils.is_jsnull = lambda value: False

PREFIX = "XLP_"
CARD = "Optional rate card (id or path); default jp-default."
ACTIVITY = "research, instruction or other."
LOCATION = "on or off (campus)."


def xlp(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn`` as an Excel function; under xlwings Server, turn bad input into the
    error Excel shows.

    The desktop name is the Python name (``XLP_FA``); under xlwings Server the display name
    drops the prefix (``FA``) and the manifest namespace ``XLP`` makes it ``XLP.FA``.

    xlwings Server answers an ``XlwingsError`` with HTTP 400 (an error Excel shows and does
    not retry) and anything else with 500, so there each function is wrapped to turn an
    :class:`InputError` into one.  The desktop add-in treats every exception alike
    (``#VALUE!`` and the message), and Python callers are better served by the
    ``InputError`` itself (field, value, expected), so there the function is registered as
    it is: one Python call per cell.
    """
    name = fn.__name__.removeprefix(PREFIX)
    if not getattr(xw, "on_server", True):
        return xw.func(name=name)(fn)

    @wraps(fn)
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except InputError as exc:
            raise xw.XlwingsError(exc.message) from None

    return xw.func(name=name)(call)


# -- argument conversion (Excel values → engine values) ----------------------------------

def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Excel sends every number as a float, and a sheet sends the same few over and over (a
# rank's rate, a month count): converting one to Decimal costs as much as the engine call
# it feeds, so conversions are remembered (a bounded table; Decimals are immutable).
_DECIMALS: dict[float, Decimal] = {}  # finite floats only: ±inf and NaN never enter
_DECIMALS_MAX = 65_536
_INF = float("inf")
_DECIMALS_GET = _DECIMALS.get


def _decimal(value: float) -> Decimal:
    """A finite float as the Decimal a person typed: 12.5 → 12.5, 0.1 → 0.1 (not the
    binary 0.1000000000000000055…), 5000000.0 → 5000000."""
    d = _DECIMALS.get(value)
    if d is None:
        d = Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
        if len(_DECIMALS) < _DECIMALS_MAX:
            _DECIMALS[value] = d
    return d


def _number(value: Any, name: str, expected: str = "a number") -> Decimal:
    """An Excel number as Decimal; text that is a number is accepted, anything else not."""
    if type(value) is float and value - value == 0.0:  # the usual case; not NaN or ±inf
        return _decimal(value)
    if isinstance(value, bool) or _missing(value):
        raise InputError(name, InputError.MISSING if _missing(value) else value, expected)
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and not math.isfinite(value):  # NaN: an error cell
            raise InputError(name, value, expected)
        x = D(value)
    elif isinstance(value, str):
        try:
            x = Decimal(value.strip().replace(",", "").replace("_", ""))
        except ArithmeticError:
            raise InputError(name, value, expected) from None
    else:
        raise InputError(name, value, expected)
    # Excel sends 5000000 as 5000000.0: keep whole numbers whole (in messages too).
    return x.to_integral_value() if x == x.to_integral_value() else x


def _nonneg(value: Any, name: str, what: str = "a number >= 0") -> Decimal:
    if type(value) is float and 0.0 <= value < _INF:  # the usual case; NaN fails the test
        d = _DECIMALS_GET(value)  # _decimal's memo, read here: this is the hot path
        return _decimal(value) if d is None else d
    x = _number(value, name, what)
    if x < 0:
        raise InputError(name, value, what)
    return x


def _text(value: Any, name: str, expected: str) -> str | None:
    if _missing(value):
        return None
    if not isinstance(value, str):
        raise InputError(name, value, expected)
    return value.strip()


def _card(ref: Any) -> RateCard:
    """The rate card named by ``ref`` (id or path), or the default one."""
    if ref is None and _conf_read:
        seen = checked_card("")  # load_card's answer for the default, while still fresh
        if seen is not None and monotonic() < seen[0]:
            return seen[1]
        return load_card(None)
    text = _text(ref, "card", "a rate-card id such as 'jp-default' or a path to a .toml file")
    _rates_dir_from_xlwings_conf()
    return load_card(text)


_conf_read = False


def _rates_dir_from_xlwings_conf() -> None:
    """Take ``XL_PRICING_RATES`` from the user's xlwings.conf when the environment lacks it
    (read once per process, like xlwings reads its own settings).

    Decided at the first call: if the environment has the variable then, the file is never
    read, even should the variable be removed later (the default card is then used).
    """
    global _conf_read
    if _conf_read:
        return
    _conf_read = True  # also when the environment has it: then the file is never needed
    if "XL_PRICING_RATES" in os.environ:
        return
    try:
        from xlwings.utils import read_user_config

        folder = read_user_config().get("xl_pricing_rates")
    except Exception:  # noqa: BLE001 - a missing or odd config file means: not set
        folder = None
    if folder:
        os.environ["XL_PRICING_RATES"] = folder


def _yen(amount: Decimal) -> int:
    return int(amount)


def _flags(values: list[Any], name: str) -> list[bool]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool):
            out.append(v)
        elif isinstance(v, (int, float)) and v in (0, 1):
            out.append(bool(v))
        elif isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
            out.append(v.strip().upper() == "TRUE")
        else:
            raise InputError(f"{name}[{i + 1}]", v, "TRUE or FALSE")
    return out


def _date(value: Any, name: str) -> dt.date | None:
    if _missing(value):
        return None
    d = excel_date(value)
    if isinstance(d, str):
        try:
            return dt.date.fromisoformat(d.strip())
        except ValueError:
            raise InputError(name, value, "a date such as 2027-04-01") from None
    if not isinstance(d, dt.date):
        raise InputError(name, value, "a date such as 2027-04-01")
    return d


# -- time charge ------------------------------------------------------------------------

@xlp
@xw.arg("rate", ndim=2, doc="Hourly rate in yen per hour, e.g. 50000 — or a column of "
                            "rates.")
@xw.arg("hours", ndim=2, doc="Involvement hours, e.g. 12 — or a column of hours (as many "
                             "rows as the rates).")
@xw.arg("card", doc="Optional rate card (id or path) whose rounding rule applies; "
                    "default jp-default (rounded down to the yen).")
def XLP_TIMECHARGE(rate, hours, card=None):
    """Time charge = hourly rate × hours, in yen, rounded by the card's rule. Given columns
    of rates and hours it spills one time charge per row: one call prices a whole table."""
    c = _card(card)
    if type(rate) is float and type(hours) is float and rate >= 0.0 and hours >= 0.0:
        # The usual call, once per researcher row of a sheet: two numbers already seen
        # (±inf and NaN never enter the memo).  Anything else takes the checks below.
        r, h = _DECIMALS_GET(rate), _DECIMALS_GET(hours)
        if r is not None and h is not None:
            return int(c.rounding.apply(_time_charge(r, h)))
    if not isinstance(rate, list) and not isinstance(hours, list):  # one cell each
        return int(c.rounding.apply(_time_charge(
            _nonneg(rate, "rate", "an hourly rate in yen >= 0"),
            _nonneg(hours, "hours", "a number of hours >= 0"))))
    rates, hrs = _cells(rate), _cells(hours)
    many = len(rates) > 1 or len(hrs) > 1
    amounts = _time_charges(
        [_nonneg(v, f"rate[{i + 1}]" if many else "rate", "an hourly rate in yen >= 0")
         for i, v in enumerate(rates)],
        [_nonneg(v, f"hours[{i + 1}]" if many else "hours", "a number of hours >= 0")
         for i, v in enumerate(hrs)], c.rounding)
    return [[_yen(a)] for a in amounts] if many else _yen(amounts[0])


@xlp
@xw.arg("annual_hours", doc="Total annual working hours, e.g. 1860.")
@xw.arg("effort", doc="Share of working time on the project as a fraction, e.g. 0.1 "
                      "for 10%.")
@xw.arg("months", doc="Months of involvement.")
def XLP_EFFORT_HOURS(annual_hours, effort, months):
    """Involvement hours = annual hours × effort × months ÷ 12."""
    return float(_effort_hours(_nonneg(annual_hours, "annual_hours"),
                               _nonneg(effort, "effort", "a fraction >= 0 (0.1 = 10%)"),
                               _nonneg(months, "months")))


@xlp
@xw.arg("annual_salary", doc="Annual salary of the rank in yen.")
@xw.arg("annual_hours", doc="Optional annual working hours; default: the card's.")
@xw.arg("card", doc=CARD)
def XLP_STANDARD_RATE(annual_salary, annual_hours=None, card=None):
    """平均基準単価: hourly rate = annual salary ÷ annual working hours, rounded to the yen
    by the card's rule (rates are whole yen, as in a quote)."""
    c = _card(card)
    hours = (c.model.time_charge.annual_hours if _missing(annual_hours)
             else _number(annual_hours, "annual_hours", "a number of hours > 0"))
    return _yen(c.rate_rounding.apply(_standard_rate(
        _nonneg(annual_salary, "annual_salary", "a salary in yen >= 0"), hours)))


@xlp
@xw.arg("rank", doc="Rank as in the card, e.g. professor, associate_professor, postdoc.")
@xw.arg("card", doc=CARD)
def XLP_RATE(rank, card=None):
    """Hourly rate of a rank from the card's rank table (yen per hour).

    A rank the card prices by salary only gives its 平均基準単価 (salary ÷ annual hours).
    """
    c = _card(card)
    r = c.rank(_text(rank, "rank", "a rank name such as 'professor'") or "")
    if r.hourly is not None:
        return float(r.hourly)
    assert r.salary is not None
    return _yen(c.rate_rounding.apply(_standard_rate(r.salary,
                                                     c.model.time_charge.annual_hours)))


# -- F&A, indirect and strategic ----------------------------------------------------------

@xlp
@xw.arg("activity", doc=ACTIVITY)
@xw.arg("location", doc=LOCATION)
@xw.arg("field", doc="Optional field, e.g. natural_sciences; a field-specific rate wins.")
@xw.arg("card", doc=CARD)
@xw.arg("date", doc="Optional date the rate must be in force on; default: the card's "
                    "effective date.")
def XLP_FA_RATE(activity, location, field=None, card=None, date=None):
    """F&A rate (a fraction, 0.3 = 30%) for activity × location (× field) on a date."""
    return float(_fa_row(_card(card), activity, location, field, date).rate)


@xlp
@xw.arg("base", doc="Cost base in yen the rate applies to.")
@xw.arg("activity", doc=ACTIVITY)
@xw.arg("location", doc=LOCATION)
@xw.arg("field", doc="Optional field, e.g. natural_sciences.")
@xw.arg("card", doc=CARD)
@xw.arg("date", doc="Optional date the rate must be in force on (e.g. the fiscal year's "
                    "start); default: the card's effective date.")
def XLP_FA(base, activity, location, field=None, card=None, date=None):
    """F&A cost = base × the card's F&A rate, in yen, rounded by the card's rule."""
    c = _card(card)
    return _yen(c.rounding.apply(_fa(_nonneg(base, "base", "a cost base in yen >= 0"),
                                     _fa_row(c, activity, location, field, date).rate)))


def _fa_row(c: RateCard, activity: Any, location: Any, field: Any, on: Any = None) -> Any:
    return c.fa_rate(_text(activity, "activity", "research, instruction or other") or "",
                     _text(location, "location", "on or off") or "",
                     _text(field, "field", "a field name such as natural_sciences"),
                     _date(on, "date"))


@xlp
@xw.arg("direct", doc="Direct costs in yen.")
@xw.arg("rate", doc="Optional indirect rate as a fraction (0.3 = 30%); default: the card's.")
@xw.arg("card", doc=CARD)
def XLP_INDIRECT(direct, rate=None, card=None):
    """Indirect costs (approach X) = direct × rate, in yen, rounded by the card's rule."""
    c = _card(card)
    r = c.indirect_rate() if _missing(rate) else _nonneg(rate, "rate",
                                                         "a fraction >= 0 (0.3 = 30%)")
    return _yen(c.rounding.apply(_indirect(_nonneg(direct, "direct", "direct costs in yen "
                                                   ">= 0"), r)))


@xlp
@xw.arg("base", doc="An amount in yen.")
@xw.arg("rate", doc="A rate as a fraction, e.g. 0.1 for 10%.")
@xw.arg("card", doc=CARD)
def XLP_APPLY_RATE(base, rate, card=None):
    """base × rate in yen, rounded by the card's rule: a rate-priced option, consumption
    tax, or any percentage of an amount priced the way quotes price it."""
    c = _card(card)
    return _yen(c.rounding.apply(_apply_rate(_nonneg(base, "base", "an amount in yen >= 0"),
                                             _nonneg(rate, "rate",
                                                     "a fraction >= 0 (0.1 = 10%)"))))


@xlp
@xw.arg("base", doc="The base in yen (what the card's strategic base names).")
@xw.arg("card", doc=CARD)
def XLP_STRATEGIC(base, card=None):
    """Strategic collaboration expense = base × the card's strategic rate, in yen."""
    c = _card(card)
    return _yen(c.rounding.apply(_strategic(_nonneg(base, "base", "a base in yen >= 0"),
                                            c.model.strategic.rate)))


# -- approach B ---------------------------------------------------------------------------

@xlp
@xw.arg("total", doc="Agreed total in yen.")
@xw.arg("direct", doc="Direct costs in yen.")
def XLP_TOTAL_INDIRECT(total, direct):
    """Total method (総額方式): indirect = agreed total − direct; total below direct is an
    error."""
    return _yen(_total_indirect(_number(total, "total", "an agreed total in yen"),
                                _number(direct, "direct", "direct costs in yen")))


@xlp
@xw.arg("total", doc="Agreed total in yen.")
@xw.arg("direct", doc="Direct costs in yen (> 0).")
def XLP_TOTAL_RATIO(total, direct):
    """Implied indirect ratio (total − direct) ÷ direct, a fraction (1 = 100%)."""
    return float(_total_ratio(_number(total, "total", "an agreed total in yen"),
                              _number(direct, "direct", "direct costs in yen")))


# -- approach C ---------------------------------------------------------------------------

@xlp
@xw.arg("sales", ndim=1, doc="Sales in yen: one cell or a range (summed).")
@xw.arg("rate", doc="Royalty rate as a fraction, e.g. 0.03 for 3%.")
@xw.arg("contribution", doc="Optional share of the IP in the product's value (fraction); "
                            "default 1.")
@xw.arg("card", doc="Optional rate card (id or path) whose rounding applies.")
def XLP_ROYALTY(sales, rate, contribution=None, card=None):
    """Running royalty = (Σ sales × contribution share, to the yen) × rate, rounded by the
    card's rule."""
    amounts = [_number(v, f"sales[{i + 1}]", "sales in yen") for i, v in
               enumerate(_cells(sales)) if not _missing(v)]
    share = Decimal(1) if _missing(contribution) else _number(contribution, "contribution",
                                                               "a share between 0 and 1")
    return _yen(_royalty(amounts, _number(rate, "rate", "a royalty rate between 0 and 1"),
                         share, _card(card).rounding))


@xlp
@xw.arg("amounts", ndim=1, doc="Milestone payments in yen (a range).")
@xw.arg("achieved", ndim=1, doc="TRUE/FALSE for each milestone (a range of the same size).")
def XLP_MILESTONES(amounts, achieved):
    """Sum of the milestone payments whose achieved flag is TRUE."""
    a = [_number(v, f"amounts[{i + 1}]", "a payment in yen") for i, v in
         enumerate(_cells(amounts))]
    return _yen(_milestones(a, _flags(_cells(achieved), "achieved")))


@xlp
@xw.arg("floor", doc="Floor price in yen (usually the approach-X cost).")
@xw.arg("royalty", doc="Optional running royalty in yen.")
@xw.arg("milestones", doc="Optional achieved milestone payments in yen.")
@xw.arg("lump_sum", doc="Optional lump sum in yen.")
@xw.arg("kpi", doc="Optional achieved KPI fees in yen.")
def XLP_SUCCESS_FEE(floor, royalty=None, milestones=None, lump_sum=None, kpi=None):
    """Outcome-linked price = floor + royalty + milestones + lump sum + KPI fees (yen)."""
    def opt(v: Any, name: str) -> Decimal:
        return Decimal(0) if _missing(v) else _number(v, name, "an amount in yen >= 0")

    return _yen(_success_fee(_number(floor, "floor", "a floor price in yen"),
                             opt(royalty, "royalty"), opt(milestones, "milestones"),
                             opt(lump_sum, "lump_sum"), opt(kpi, "kpi")))


# -- tax and proceeds ---------------------------------------------------------------------

@xlp
@xw.arg("company_borne", doc="R&D cost borne by the company in yen (the price, "
                             "without consumption tax).")
@xw.arg("card", doc="Optional rate card (id or path): its credit rate and conditions.")
def XLP_TAX_CREDIT(company_borne, card=None):
    """R&D tax credit (open-innovation type) = cost borne × the card's rate (30%), rounded
    down to the yen; 0 when below the card's minimum total."""
    c = _card(card)
    return _yen(_tax_credit(_nonneg(company_borne, "company_borne", "an amount in yen >= 0"),
                            c).credit)


@xlp
@xw.arg("amounts", ndim=2, doc="An amount in yen, or a two-column range of (component, "
                               "amount) rows such as XLP_QUOTE's output.")
@xw.arg("card", doc="Optional rate card (id or path) with the split policy.")
@xw.ret(index=False)
def XLP_ALLOCATE(amounts, card=None):
    """Split of proceeds to researcher, lab, department, university and reserve, by the
    card's policy per component; spills a table with a header and a total row."""
    alloc = _allocate_components(_component_rows(amounts), _card(card))
    rows = [[comp, _yen(amount), *[_yen(parts[p]) for p in PARTIES]]
            for comp, amount, parts in alloc.rows]
    rows.append(["total", _yen(alloc.total), *[_yen(a) for a in alloc.by_party.values()]])
    # xlwings' DataFrame converter writes the header row and the values.
    return pd.DataFrame(rows, columns=["component", "amount", *PARTIES])


def _component_rows(values: Any) -> list[tuple[str, Decimal]]:
    table = values if isinstance(values, list) else [[values]]
    table = [r if isinstance(r, list) else [r] for r in table]
    if len(table) == 1 and len(table[0]) == 1:
        return [("default", _number(table[0][0], "amounts", "an amount in yen"))]
    rows = []
    for i, row in enumerate(table):
        if len(row) < 2:
            raise InputError("amounts", row, "two columns: component and amount")
        comp, amount = row[0], row[1]
        if _missing(comp) and _missing(amount):
            continue
        name = str(comp).split(":")[0].strip()
        if name in ("component", "total"):  # header and total rows of XLP_QUOTE
            continue
        rows.append((name, _number(amount, f"amounts row {i + 1}", "an amount in yen")))
    return rows


# -- whole quotes and provenance ------------------------------------------------------------

@xlp
@xw.arg("inputs", dict, doc="Two-column range of (key, value): approach, contract, start, "
                            "end, direct.<category>, researchers.1.hours ... (the project "
                            "file's keys).")
@xw.arg("card", doc=CARD)
def XLP_QUOTE(inputs, card=None):
    """Prices a whole project in one call: spills (component, amount) rows and the total."""
    c = _card(card)
    if not isinstance(inputs, (dict, list)):
        raise InputError("inputs", inputs, "a two-column range of (key, value) rows")
    q = _quote(project_from_pairs(inputs, "inputs"), c)
    rows: list[list[Any]] = [["component", "amount"]]
    rows += [[ln.component + (f": {ln.detail}" if ln.detail else ""), _yen(ln.amount)]
             for ln in q.lines]
    rows.append(["total", _yen(q.total)])
    return rows


@xlp
@xw.arg("card", doc=CARD)
def XLP_CARD(card=None):
    """The rate card in use: id, version and sha256, for provenance cells."""
    c = _card(card)
    return [["id", c.id], ["version", c.version], ["sha256", c.sha256]]


def _cells(value: Any) -> list[Any]:
    """The cells of an argument in order: a scalar, a range as xlwings' ``ndim=1``
    converter gives it (a list) or as its ``ndim=2`` converter gives it (a list of rows)."""
    if isinstance(value, list):
        return [v for row in value for v in (row if isinstance(row, list) else [row])]
    return [value]


__all__ = [name for name in dir() if name.startswith(PREFIX)]

#: The xlwings converter options of the functions above, as plain data: Excel name ->
#: {parameter: {"ndim": 1 | 2} or {"convert": dict}, "return": {...}} (the same as their
#: ``@xw.arg`` / ``@xw.ret`` decorations; headless recalculation reads them from here).
CONVERTERS: dict[str, dict[str, dict[str, Any]]] = {
    "XLP_TIMECHARGE": {"rate": {"ndim": 2}, "hours": {"ndim": 2}},
    "XLP_ROYALTY": {"sales": {"ndim": 1}},
    "XLP_MILESTONES": {"amounts": {"ndim": 1}, "achieved": {"ndim": 1}},
    "XLP_ALLOCATE": {"amounts": {"ndim": 2}, "return": {"index": False}},
    "XLP_QUOTE": {"inputs": {"convert": dict}},
}
