"""Excel functions: thin xlwings adapters over the pricing engine.

Each function converts its arguments, makes one engine call and returns Excel values; no
pricing rule lives here.  One module serves both kinds of Excel:

* desktop Excel (the xlwings add-in, ``UDF Modules = xl_pricing.udfs``): a function's Excel
  name is its Python name, ``XLP_TIMECHARGE``; a ``card`` argument may be a card id or a
  path to a card file;
* xlwings Server (Excel on the web and Office.js): ``@xw.func(name=...)`` gives the display
  name without the prefix, and the add-in manifest's namespace ``XLP``
  (``XLWINGS_FUNCTIONS_NAMESPACE=XLP``) puts it in front: ``XLP.TIMECHARGE``.  The classic
  desktop decorator ignores ``name=``, so one decoration gives both names.  There a
  ``card`` argument is a card **id** only (:func:`xl_pricing.rates.load_card_id`): a caller
  on the network names no file.

Converters: :data:`CONVERTERS` is the one table of xlwings converter options (``ndim=2``
tables, read cell by cell, and the return options); the
``@xw.arg`` / ``@xw.ret`` decorations are made from it, and recalculation
(:mod:`xl_pricing.recalc`) reads it to convert arguments the way xlwings would.  Scalar
parameters have no converter on purpose: :func:`xl_pricing.cells.number` (the one number
converter) gives clearer messages — naming the argument, the value and what was expected —
than a failed float conversion would.

Errors: bad input raises the engine's :class:`~xl_pricing.errors.InputError`; the desktop
add-in treats every exception alike (``#VALUE!`` and the message); under xlwings Server it
is raised as ``xlwings.XlwingsError`` with the same message, an HTTP 400 (a client error
Excel shows, which the add-in does not retry) — also for a call with too few or too many
arguments.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import re
from decimal import Decimal
from functools import wraps
from typing import Any, Callable

import pandas as pd
import pydantic
import xlwings as xw

from .cells import excel_date, is_missing, nonnegative, number, project_from_pairs
from .errors import InputError
from .money import total as _total
from .pricing import quote as _quote
from .pricing.quote import LABELS as _LABELS
from .pricing.allocation import allocate_components as _allocate_components
from .pricing.cost import apply_rate as _apply_rate
from .pricing.cost import blended as _blended
from .pricing.cost import indirect as _indirect
from .pricing.fees import facts_of as _facts_of
from .pricing.fees import research_fee_line as _research_fee_line
from .pricing.fees import unit_fee_line as _unit_fee_line
from .pricing.outcome import milestones as _milestones
from .pricing.outcome import royalty as _royalty
from .pricing.outcome import success_fee as _success_fee
from .pricing.quote import Line as _Line
from .pricing.stacked import fa as _fa
from .pricing.stacked import mtdc as _mtdc
from .pricing.stacked import floor_minimum as _floor_minimum
from .pricing.stacked import under_recovery_amount as _under_recovery_amount
from .pricing.tax import consumption_tax_line as _consumption_tax_line
from .pricing.tax import tax_credit as _tax_credit
from .pricing.tax import tax_included as _tax_included
from .pricing.timecharge import effort_hours as _effort_hours
from .pricing.timecharge import fte as _fte
from .pricing.timecharge import standard_rate as _standard_rate
from .pricing.timecharge import time_charges as _time_charges
from .pricing.total import total_indirect as _total_indirect
from .pricing.total import total_ratio as _total_ratio
from .project import Project, Researcher, parse_project
from .rates import (PARTIES, Fraction, Hours2, RateCard, load_card, load_card_id,
                    validate_value)
from .rates.card import Facts
from .validation import from_pydantic
from .vocabulary import both

PREFIX = "XLP_"
CARD = "Optional rate card id (desktop Excel: an id or a path); default jp-default."
ACTIVITY = "research, instruction or other."
LOCATION = "on or off (campus)."

# xlwings converter options per function and parameter ("return": the result's).  Plain
# data: the decorations below are made from it; recalc reads it.
CONVERTERS: dict[str, dict[str, dict[str, Any]]] = {
    "XLP_TIMECHARGE": {"rate": {"ndim": 2}, "hours": {"ndim": 2}},
    # Ranges as tables (ndim=2), read cell by cell: xlwings' ndim=1 converter fails on a
    # two-dimensional range with a bare Exception (HTTP 500 under xlwings Server).
    "XLP_ROYALTY": {"sales": {"ndim": 2}},
    "XLP_MILESTONES": {"amounts": {"ndim": 2}, "achieved": {"ndim": 2}},
    "XLP_ALLOCATE": {"amounts": {"ndim": 2}, "return": {"index": False}},
    # A table, not xlwings' dict converter: that one silently keeps the last of a key
    # given twice and fails (an assertion, HTTP 500) on a one-column range.
    "XLP_QUOTE": {"inputs": {"ndim": 2}},
    "XLP_UNIT_FEE": {"quantities": {"ndim": 2}},
    "XLP_MTDC": {"items": {"ndim": 2}},
}


def on_server() -> bool:
    """True inside xlwings Server (``XLWINGS_ON_SERVER=true``, read when xlwings is
    imported, or set since): then card arguments are ids only."""
    return bool(getattr(xw, "on_server", False)) or \
        os.environ.get("XLWINGS_ON_SERVER", "").lower() == "true"


def xlp(**docs: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as an Excel function, with one help text per parameter
    (``docs``) and the converter options of :data:`CONVERTERS`.

    The desktop name is the Python name (``XLP_FA``); under xlwings Server the display name
    drops the prefix (``FA``) and the manifest namespace ``XLP`` makes it ``XLP.FA``.  Under
    xlwings Server the function is wrapped so that bad input — an :class:`InputError`, or
    too few or too many arguments — becomes ``XlwingsError`` (HTTP 400, not retried).
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)
        params = list(signature.parameters)
        options = CONVERTERS.get(fn.__name__, {})
        unknown = (set(options) - {"return"} | set(docs)) - set(params)
        if unknown or set(params) - set(docs):
            raise TypeError(f"{fn.__name__}: converter or help for no parameter "
                            f"{sorted(unknown)}, or a parameter without help "
                            f"{sorted(set(params) - set(docs))}")
        out = fn
        if on_server():
            out = _server_call(fn, signature)
        for name in reversed(params):
            opts = dict(options.get(name, {}))
            convert = opts.pop("convert", None)
            out = xw.arg(name, convert, doc=docs[name], **opts)(out)
        if "return" in options:
            out = xw.ret(**options["return"])(out)
        return xw.func(name=fn.__name__.removeprefix(PREFIX))(out)

    return register


def _server_call(fn: Callable[..., Any], signature: inspect.Signature) -> Callable[..., Any]:
    @wraps(fn)
    def call(*args: Any) -> Any:
        try:
            signature.bind(*args)
        except TypeError:
            given = f"{len(args)} arguments"
            raise xw.XlwingsError(InputError(
                fn.__name__, given, "the arguments (" + ", ".join(
                    p.name if p.default is p.empty else f"[{p.name}]"
                    for p in signature.parameters.values()) + ")").message) from None
        try:
            return fn(*args)
        except InputError as exc:
            raise xw.XlwingsError(exc.message) from None

    return call


# -- argument conversion (Excel values → engine values) ----------------------------------

def _text(value: Any, name: str, expected: str) -> str | None:
    if is_missing(value):
        return None
    if not isinstance(value, str):
        raise InputError(name, value, expected)
    return value.strip()


def _optional(value: Any, name: str, expected: str, default: Decimal) -> Decimal:
    return default if is_missing(value) else number(value, name, expected)


def _card(ref: Any) -> RateCard:
    """The rate card named by ``ref`` (``None``: the default).  Under xlwings Server an id
    only; on the desktop an id or a path."""
    if on_server():
        return load_card_id(ref)
    _rates_dir_from_xlwings_conf()
    return load_card(_text(ref, "card", "a rate-card id such as 'jp-default' or a path to a "
                                        ".toml file"))


_conf_read = False


def _rates_dir_from_xlwings_conf() -> None:
    """Desktop Excel: take ``XL_PRICING_RATES`` from the user's xlwings.conf when the
    environment lacks it (read once per process, as xlwings reads its own settings)."""
    global _conf_read
    if _conf_read:
        return
    _conf_read = True
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
    if is_missing(value):
        return None
    d = excel_date(value, name)
    if isinstance(d, str):
        try:
            return dt.date.fromisoformat(d.strip())
        except ValueError:
            raise InputError(name, value, "a date such as 2027-04-01") from None
    if not isinstance(d, dt.date):
        raise InputError(name, value, "a date such as 2027-04-01")
    return d


def _cells(value: Any) -> list[Any]:
    """The cells of an argument in order: a scalar, a range as xlwings' ``ndim=1``
    converter gives it (a list) or as its ``ndim=2`` converter gives it (a list of rows)."""
    if isinstance(value, list):
        return [v for row in value for v in (row if isinstance(row, list) else [row])]
    return [value]


def _effort_terms(effort: Any, months: Any) -> tuple[Decimal, Decimal]:
    """Effort and months checked by the project file's own researcher model: effort a
    fraction in (0, 1] with at most 4 decimals, months in (0, 600] with at most 2."""
    e = nonnegative(effort, "effort", "a fraction > 0 and <= 1 (0.1 = 10%)")
    m = nonnegative(months, "months", "a number of months > 0")
    try:
        r = Researcher.model_validate({"rank": "-", "effort": e, "months": m})
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, None, Researcher).errors[0] from None
    assert r.effort is not None and r.months is not None
    return r.effort, r.months


def _component_rows(values: Any) -> list[tuple[str, Decimal]]:
    table = values if isinstance(values, list) else [[values]]
    table = [r if isinstance(r, list) else [r] for r in table]
    if len(table) == 1 and len(table[0]) == 1:
        return [("default", number(table[0][0], "amounts", "an amount in yen"))]
    rows = []
    for i, row in enumerate(table):
        if len(row) < 2:
            raise InputError("amounts", row, "two columns: component and amount")
        comp, amount = row[0], row[1]
        if any(not is_missing(v) for v in row[2:]):  # a third column would be ignored
            raise InputError(f"amounts row {i + 1}", row, "two columns: component and amount")
        if is_missing(comp) and is_missing(amount):
            continue
        if not isinstance(comp, str):  # 1.0 is no component name
            raise InputError(f"amounts row {i + 1} component", comp,
                             "a component name such as 'direct' or 'indirect'")
        name = comp.split(":")[0].strip()
        if name in ("component", "total", QUOTE_HEADER[0], QUOTE_TOTAL):
            continue  # header and total rows of XLP_QUOTE
        name = _COMPONENT_OF.get(name, name)  # XLP_QUOTE's bilingual label → its code
        rows.append((name, number(amount, f"amounts row {i + 1}", "an amount in yen")))
    return rows


def _required(value: Any, name: str, expected: str) -> str:
    text = _text(value, name, expected)
    if text is None:
        raise InputError(name, InputError.MISSING, expected)
    return text


def _fa_row(c: RateCard, activity: Any, location: Any, field: Any, on: Any = None) -> Any:
    return c.fa_rate(_required(activity, "activity", "research, instruction or other"),
                     _required(location, "location", "on or off"),
                     _text(field, "field", "a field name such as natural_sciences"),
                     _date(on, "date"))


# -- time charge ------------------------------------------------------------------------

@xlp(rate="Hourly rate in yen per hour, e.g. 50000 — or a column of rates.",
     hours="Involvement hours, e.g. 12 — or a column of hours (as many rows as the rates).",
     card="Optional rate card id whose rounding rule applies; default jp-default (rounded "
          "down to the yen).")
def XLP_TIMECHARGE(rate, hours, card=None):
    """Time charge = hourly rate × hours, in yen, rounded by the card's rule. Given columns
    of rates and hours it spills one time charge per row: one call prices a whole table."""
    rates, hrs = _cells(rate), _cells(hours)
    for name, cells in (("rate", rates), ("hours", hrs)):
        if not cells:
            raise InputError(name, "an empty range", "a cell or a column of cells")
    many = len(rates) > 1 or len(hrs) > 1
    amounts = _time_charges(
        [nonnegative(v, f"rate[{i + 1}]" if many else "rate", "an hourly rate in yen >= 0")
         for i, v in enumerate(rates)],
        [nonnegative(v, f"hours[{i + 1}]" if many else "hours", "a number of hours >= 0")
         for i, v in enumerate(hrs)], _card(card).rounding)
    return [[_yen(a)] for a in amounts] if many else _yen(amounts[0])


@xlp(annual_hours="Total annual working hours, e.g. 1860.",
     effort="Share of working time on the project as a fraction, e.g. 0.1 for 10%.",
     months="Months of involvement.")
def XLP_EFFORT_HOURS(annual_hours, effort, months):
    """Involvement hours = annual hours × effort × months ÷ 12 (to 0.01 h); effort and
    months are checked as in a project file."""
    hours = validate_value(Hours2, nonnegative(annual_hours, "annual_hours",
                                               "a number of hours > 0"), "annual_hours")
    return float(_effort_hours(hours, *_effort_terms(effort, months)))


@xlp(annual_salary="Annual salary of the rank in yen.",
     annual_hours="Optional annual working hours; default: the card's.",
     card=CARD)
def XLP_STANDARD_RATE(annual_salary, annual_hours=None, card=None):
    """平均基準単価: hourly rate = annual salary ÷ annual working hours, rounded to the yen
    by the card's rule (rates are whole yen, as in a quote)."""
    c = _card(card)
    hours = (c.model.time_charge.annual_hours if is_missing(annual_hours) else
             validate_value(Hours2, number(annual_hours, "annual_hours",
                                           "a number of hours > 0"), "annual_hours"))
    return _yen(c.rate_rounding.apply(_standard_rate(
        nonnegative(annual_salary, "annual_salary", "a salary in yen >= 0"), hours)))


@xlp(rank="Rank as in the card, e.g. professor, associate_professor, postdoc.", card=CARD)
def XLP_RATE(rank, card=None):
    """Hourly rate of a rank from the card's rank table (yen per hour). A rank the card
    prices by salary only has none: use XLP_STANDARD_RATE (a quote refuses it alike)."""
    c = _card(card)
    return float(c.rank_hourly(_required(rank, "rank", "a rank name such as 'professor'")))


# -- F&A, indirect and strategic ----------------------------------------------------------

@xlp(activity=ACTIVITY, location=LOCATION,
     field="Optional field, e.g. natural_sciences; a field-specific rate wins.",
     card=CARD,
     date="Optional date the rate must be in force on; default: the card's effective date.")
def XLP_FA_RATE(activity, location, field=None, card=None, date=None):
    """F&A rate (a fraction, 0.3 = 30%) for activity × location (× field) on a date."""
    return float(_fa_row(_card(card), activity, location, field, date).rate)


@xlp(base="Cost base in yen the rate applies to.", activity=ACTIVITY, location=LOCATION,
     field="Optional field, e.g. natural_sciences.", card=CARD,
     date="Optional date the rate must be in force on (e.g. the fiscal year's start); "
          "default: the card's effective date.")
def XLP_FA(base, activity, location, field=None, card=None, date=None):
    """F&A cost = base × the card's F&A rate, in yen, rounded by the card's rule."""
    c = _card(card)
    return _yen(c.rounding.apply(_fa(nonnegative(base, "base", "a cost base in yen >= 0"),
                                     _fa_row(c, activity, location, field, date).rate)))


@xlp(direct="Direct costs in yen.",
     rate="Optional indirect rate as a fraction (0.3 = 30%); default: the card's rate for "
          "the project (its conditional cases judged on the arguments below).",
     card=CARD,
     contract="Optional contract type: joint, sponsored or consulting.",
     location="Optional location: on or off (campus).",
     kind="Optional project kind of the card (e.g. 支援型).",
     start="Optional start date of the project (default: the card's effective date).",
     end="Optional end date (for rates that change during the project, and direct costs "
         "per year).")
def XLP_INDIRECT(direct, rate=None, card=None, contract=None, location=None, kind=None,
                 start=None, end=None):
    """Indirect costs (approach X) = direct × rate, in yen, rounded by the card's rule; a
    rate is checked as a card's rate (a fraction up to 5, at most 4 decimals).  Without a
    rate, the card's conditional rate for a project of these direct costs, contract,
    location, kind and dates (Fukushima: 8% up to 1,000,000 yen, else 10%); a card that
    blends rate changes by days blends them over start–end."""
    c = _card(card)
    d = nonnegative(direct, "direct", "direct costs in yen >= 0")
    if not is_missing(rate):
        r = validate_value(Fraction, nonnegative(rate, "rate", "a fraction >= 0 (0.3 = 30%)"),
                           "rate")
        return _yen(c.rounding.apply(_indirect(d, r)))
    facts = _facts(c, d, contract, location, kind, start, end)
    return _yen(c.rounding.apply(_blended(d, c.rates_over("indirect", facts, facts.start,
                                                           facts.end))))


def _facts(c: RateCard, direct: Decimal, contract: Any, location: Any, kind: Any,
           start: Any, end: Any) -> Facts:
    """What a card's conditions are judged on, from Excel arguments (omitted: a
    condition on it does not hold; dates default to the card's effective date)."""
    def word(value: Any, name: str, allowed: tuple[str, ...]) -> str:
        if is_missing(value):
            return ""
        text = str(_text(value, name, "one of " + ", ".join(allowed))).lower()
        if text not in allowed:
            raise InputError(name, value, "one of " + ", ".join(allowed))
        return text

    first = _date(start, "start") or c.model.card.effective_from
    last = _date(end, "end") or first
    if last < first:
        raise InputError("end", end, f"a date on or after start ({first})")
    try:
        code = c.kind(_text(kind, "kind", "a project kind of the card (text)"))
    except InputError as exc:
        raise InputError("kind", kind, exc.expected) from None
    return _facts_of(direct, word(contract, "contract", ("joint", "sponsored", "consulting")),
                     word(location, "location", ("on", "off")), code, first, last,
                     whole_year=is_missing(end))


@xlp(base="An amount in yen.", rate="A rate as a fraction, e.g. 0.1 for 10%.", card=CARD)
def XLP_APPLY_RATE(base, rate, card=None):
    """base × rate in yen, rounded by the card's rule: a rate-priced option, consumption
    tax, or any percentage of an amount priced the way quotes price it."""
    c = _card(card)
    r = validate_value(Fraction, nonnegative(rate, "rate", "a fraction >= 0 (0.1 = 10%)"),
                       "rate")
    return _yen(c.rounding.apply(_apply_rate(
        nonnegative(base, "base", "an amount in yen >= 0"), r)))


@xlp(base="The base in yen (what the card's strategic base names).", card=CARD,
     direct="Optional direct costs in yen the card's conditions look at (default: base).",
     contract="Optional contract type: joint, sponsored or consulting.",
     location="Optional location: on or off (campus).",
     kind="Optional project kind of the card (e.g. 支援型).",
     start="Optional start date of the project (default: the card's effective date).",
     end="Optional end date (for rates that change during the project).")
def XLP_STRATEGIC(base, card=None, direct=None, contract=None, location=None, kind=None,
                  start=None, end=None):
    """Strategic collaboration expense = base × the card's strategic rate, in yen; the
    rate is the card's conditional rate for these arguments (as ``XLP_INDIRECT``'s)."""
    c = _card(card)
    b = nonnegative(base, "base", "a base in yen >= 0")
    d = b if is_missing(direct) else nonnegative(direct, "direct", "direct costs in yen >= 0")
    facts = _facts(c, d, contract, location, kind, start, end)
    return _yen(c.rounding.apply(_blended(b, c.rates_over("strategic", facts, facts.start,
                                                           facts.end))))


# -- approach B ---------------------------------------------------------------------------

@xlp(total="Agreed total in yen.", direct="Direct costs in yen.")
def XLP_TOTAL_INDIRECT(total, direct):
    """Total method (総額方式): indirect = agreed total − direct; total below direct is an
    error."""
    return _yen(_total_indirect(number(total, "total", "an agreed total in yen"),
                                number(direct, "direct", "direct costs in yen")))


@xlp(total="Agreed total in yen.", direct="Direct costs in yen (> 0).")
def XLP_TOTAL_RATIO(total, direct):
    """Implied indirect ratio (total − direct) ÷ direct, a fraction (1 = 100%)."""
    return float(_total_ratio(number(total, "total", "an agreed total in yen"),
                              number(direct, "direct", "direct costs in yen")))


# -- approach C ---------------------------------------------------------------------------

@xlp(sales="Sales in yen: one cell or a range (summed).",
     rate="Royalty rate as a fraction, e.g. 0.03 for 3%.",
     contribution="Optional share of the IP in the product's value (fraction); default 1.",
     card="Optional rate card id whose rounding applies.")
def XLP_ROYALTY(sales, rate, contribution=None, card=None):
    """Running royalty = (Σ sales × contribution share, to the yen) × rate, rounded by the
    card's rule."""
    amounts = [number(v, f"sales[{i + 1}]", "sales in yen") for i, v in
               enumerate(_cells(sales)) if not is_missing(v)]
    share = _optional(contribution, "contribution", "a share between 0 and 1", Decimal(1))
    return _yen(_royalty(amounts, number(rate, "rate", "a royalty rate between 0 and 1"),
                         share, _card(card).rounding))


@xlp(amounts="Milestone payments in yen (a range).",
     achieved="TRUE/FALSE for each milestone (a range of the same size).")
def XLP_MILESTONES(amounts, achieved):
    """Sum of the milestone payments whose achieved flag is TRUE."""
    a = [number(v, f"amounts[{i + 1}]", "a payment in yen") for i, v in
         enumerate(_cells(amounts))]
    return _yen(_milestones(a, _flags(_cells(achieved), "achieved")))


@xlp(floor="Floor price in yen (usually the approach-X cost).",
     royalty="Optional running royalty in yen.",
     milestones="Optional achieved milestone payments in yen.",
     lump_sum="Optional lump sum in yen.", kpi="Optional achieved KPI fees in yen.")
def XLP_SUCCESS_FEE(floor, royalty=None, milestones=None, lump_sum=None, kpi=None):
    """Outcome-linked price = floor + royalty + milestones + lump sum + KPI fees (yen)."""
    zero, yen = Decimal(0), "an amount in yen >= 0"
    return _yen(_success_fee(number(floor, "floor", "a floor price in yen"),
                             _optional(royalty, "royalty", yen, zero),
                             _optional(milestones, "milestones", yen, zero),
                             _optional(lump_sum, "lump_sum", yen, zero),
                             _optional(kpi, "kpi", yen, zero)))


# -- tax and proceeds ---------------------------------------------------------------------

@xlp(company_borne="R&D cost borne by the company in yen (the price, without consumption "
                   "tax).",
     card="Optional rate card id: its credit rate and conditions.")
def XLP_TAX_CREDIT(company_borne, card=None):
    """R&D tax credit (open-innovation type) = cost borne × the card's rate (30%), rounded
    down to the yen; 0 when below the card's minimum total."""
    c = _card(card)
    return _yen(_tax_credit(nonnegative(company_borne, "company_borne",
                                        "an amount in yen >= 0"), c).credit)


@xlp(amounts="An amount in yen, or a two-column range of (component, amount) rows such as "
             "XLP_QUOTE's output.",
     card="Optional rate card id with the split policy.",
     costs="Optional costs in yen repaid before any share (the card's cost recovery).")
def XLP_ALLOCATE(amounts, card=None, costs=None):
    """Split of proceeds to researcher, lab, department, university and reserve, by the
    card's policy per component (shares, tiers, multiples; costs recovered first); spills
    a table with a header and a total row."""
    alloc = _allocate_components(_component_rows(amounts), _card(card),
                                 _optional(costs, "costs", "costs in yen >= 0", Decimal(0)))
    rows = [[comp, _yen(amount), *[_yen(parts[p]) for p in PARTIES]]
            for comp, amount, parts in alloc.rows]
    rows.append(["total", _yen(alloc.total), *[_yen(a) for a in alloc.by_party.values()]])
    # xlwings' DataFrame converter writes the header row and the values.
    return pd.DataFrame(rows, columns=["component", "amount", *PARTIES])


# -- costing rules: FTE, price floors, under-recovery -----------------------------------

@xlp(hours="Involvement hours over the period, e.g. 220.",
     months="Optional length of the period in months; default 12.",
     card="Optional rate card id: its FTE hours a year (fte_hours, else annual_hours).")
def XLP_FTE(hours, months=None, card=None):
    """Full-time equivalent = hours ÷ (the card's FTE hours × months ÷ 12), to 4 decimals
    (UK fEC: 220 h of 1,650 a year = 0.1333)."""
    tc = _card(card).model.time_charge
    h = nonnegative(hours, "hours", "a number of hours >= 0")
    if h > 100_000:  # the bound of a researcher's hours in a project file
        raise InputError("hours", h, "a number of hours >= 0 and <= 100000")
    m = _optional(months, "months", "a number of months > 0 and <= 600", Decimal(12))
    if not Decimal(0) < m <= 600:
        raise InputError("months", m, "a number of months > 0 and <= 600")
    return float(_fte(h, tc.fte_hours or tc.annual_hours, m))


@xlp(full_cost="Full cost in yen (direct + time charge + indirect/F&A).",
     ip_terms="keeps_ip, non_exclusive or exclusive.",
     card="Rate card id with a price floor ([floor] multiples by IP terms).")
def XLP_FLOOR(full_cost, ip_terms, card=None):
    """Minimum price = full cost × the card's multiple for the IP terms, rounded up to the
    card's unit (Cambridge: 100%, 120% or 140% of full economic cost)."""
    cost = nonnegative(full_cost, "full_cost", "a full cost in yen >= 0")
    terms = _required(ip_terms, "ip_terms", "keeps_ip, non_exclusive or exclusive")
    return _yen(_floor_minimum(cost, terms, _card(card)))


@xlp(base="F&A base in yen.", institute_rate="The institute's F&A rate (fraction).",
     applied_rate="The rate the sponsor pays (fraction).", card=CARD)
def XLP_UNDER_RECOVERY(base, institute_rate, applied_rate, card=None):
    """F&A under-recovery = base × institute rate − base × applied rate, each rounded by
    the card's rule; negative when the sponsor pays more (internal figure)."""
    rates = [validate_value(Fraction, nonnegative(v, n, "a fraction >= 0 (0.3 = 30%)"), n)
             for v, n in ((institute_rate, "institute_rate"), (applied_rate, "applied_rate"))]
    return _yen(_under_recovery_amount(nonnegative(base, "base", "a cost base in yen >= 0"),
                                       rates[0], rates[1], _card(card).rounding))


# -- the card's fees, consumption tax and MTDC ---------------------------------------------

CONTRACT = "Contract type: joint, sponsored or consulting (default joint)."


def _period_project(start: Any, end: Any, contract: Any = None,
                    quantities: dict[str, Decimal] | None = None,
                    direct: list[dict[str, Any]] | None = None) -> Project:
    """The project an Excel function's period arguments describe (the engine prices fees,
    tax and MTDC on a project), its errors named after the arguments."""
    first = _date(start, "start")
    if first is None:
        raise InputError("start", InputError.MISSING, "a date such as 2027-04-01")
    last = _date(end, "end")
    if last is None:
        raise InputError("end", InputError.MISSING, "a date such as 2028-03-31")
    kind = "joint" if is_missing(contract) else str(_text(
        contract, "contract", "joint, sponsored or consulting")).lower()
    try:
        return parse_project({"project": {"id": "xlp", "contract": kind, "approach": "X",
                                          "start": first, "end": last},
                              "quantities": quantities or {}, "direct": direct or []},
                             "arguments")
    except InputError as exc:
        # project.start -> start, direct[2].amount -> items row 3 (amount): the argument
        field = re.sub(r"^direct\[(\d+)\]\.(\w+)$",
                       lambda m: f"items row {int(m.group(1)) + 1} ({m.group(2)})",
                       exc.field.removeprefix("project."))
        raise InputError(field, exc.value, exc.expected) from None


def _fee(c: RateCard, group: str, name: Any) -> Any:
    fees = c.model.fees if group == "fees" else c.model.unit_fees
    expected = f"a {group} name of card {c.id!r}: {', '.join(fees) or '(none)'}"
    key = _required(name, "name", expected)
    if key not in fees:
        raise InputError("name", key, expected)
    return key, fees[key]


@xlp(name="The fee's name in the card, e.g. research_fee (研究料).",
     start="Start date of the project.", end="End date of the project.",
     quantity="Optional number of what the fee is charged per (company researchers …); "
              "default 1.",
     card=CARD)
def XLP_RESEARCH_FEE(name, start, end, quantity=None, card=None):
    """研究料 of the card for the period: Σ periods of N months counted from the start
    (the short amount or proration as the card says) × quantity, each fiscal year rounded
    by the card's rule (KEK: 432,000 a year × 2 researchers = 864,000)."""
    c = _card(card)
    key, fee = _fee(c, "fees", name)
    q = _optional(quantity, "quantity", "a quantity >= 0", Decimal(1))
    if q < 0:
        raise InputError("quantity", q, "a quantity >= 0")
    project = _period_project(start, end, quantities={} if fee.per == "project"
                              else {fee.per: q})
    return _yen(_research_fee_line(project, c, key, fee).amount)


@xlp(name="The unit fee's name in the card, e.g. endowed_lab.",
     start="Start date.", end="End date.",
     quantities="Optional two-column range of (quantity, value): faculty, space_m2, "
                "extra_staff … (one not given: the schedule's included amount).",
     card=CARD)
def XLP_UNIT_FEE(name, start, end, quantities=None, card=None):
    """A monthly unit fee of the card: Σ items' monthly amounts for these quantities × the
    months of the period, each fiscal year rounded (NITech: 2 faculty, 200 m², 1 extra
    staff = 900,000 a month; 12 months = 10,800,000)."""
    c = _card(card)
    key, fee = _fee(c, "unit_fees", name)
    given: dict[str, Decimal] = {}
    for i, row in enumerate([] if is_missing(quantities) else quantities):
        label, value = (list(row) + [None, None])[:2]
        if is_missing(label) and is_missing(value):
            continue
        what = _required(label, f"quantities row {i + 1}", "a quantity name such as faculty")
        given[what] = number(value, f"quantities row {i + 1}", "a number >= 0")
    project = _period_project(start, end, quantities=given)
    return _yen(_unit_fee_line(project, c, key, fee).amount)


@xlp(amount="The amount the card taxes, in yen (e.g. the fee, or the whole price).",
     contract=CONTRACT, start="Optional start date (for a card whose prices include tax "
                              "before a date); default the card's effective date.",
     component="Optional component of the amount (time_charge, direct …) for a card that "
               "taxes some components only; default: a taxed one.",
     card=CARD)
def XLP_CONSUMPTION_TAX(amount, contract=None, start=None, component=None, card=None):
    """Consumption tax added on an amount = amount × the card's rate, rounded by the
    card's rule; 0 when the contract carries none, the component is not taxed, or the
    card's prices include the tax (see XLP_TAX_INCLUDED).  10% of 7,000,000 = 700,000."""
    c = _card(card)
    a = nonnegative(amount, "amount", "an amount in yen >= 0")
    ct = c.model.consumption_tax
    comp = (_text(component, "component", "a component such as time_charge")
            or (ct.components[0] if ct.components else "direct"))
    taxed, first = _tax_terms(c, contract, start)
    line = _consumption_tax_line([_Line(comp, a)], c, taxed, first)
    return 0 if line is None else _yen(line.amount)


def _tax_terms(c: RateCard, contract: Any, start: Any) -> tuple[str, dt.date]:
    """The contract (checked, words accepted) and the date a tax function judges the card's
    consumption tax on (``start``, default the card's effective date)."""
    first = _date(start, "start") or c.model.card.effective_from
    return _period_project(first, first, contract).project.contract, first


@xlp(price="A price quoted including tax, in yen.", contract=CONTRACT,
     start="Optional start date (default the card's effective date).", card=CARD)
def XLP_TAX_INCLUDED(price, contract=None, start=None, card=None):
    """The consumption tax a price contains when the card quotes prices including it:
    price × rate ÷ (1 + rate), rounded down; 0 when prices exclude tax or the contract
    carries none (jp-default: 11,000,000 contains 1,000,000)."""
    c = _card(card)
    p = nonnegative(price, "price", "a price in yen >= 0")
    taxed, first = _tax_terms(c, contract, start)
    got = _tax_included(p, c, taxed, first)
    return 0 if got is None else _yen(got)


@xlp(items="Range of direct items, one a row: category, amount[, fiscal year[, subaward "
           "id]] (a blank row is skipped).",
     start="Start date of the award (its date chooses the subaward threshold).",
     end="End date of the award.", card=CARD)
def XLP_MTDC(items, start, end, card=None):
    """Modified total direct costs (2 CFR 200.1): the direct items less the card's
    excluded categories, each subaward counted up to the card's threshold once over the
    whole award (50,000 USD for awards from 2024-10-01)."""
    c = _card(card)
    rows = []
    for i, row in enumerate(items if isinstance(items, list) else [[items]]):
        cells = ((list(row) if isinstance(row, list) else [row]) + [None, None, None])[:4]
        category, amount, fy, sub = cells
        if all(is_missing(v) for v in cells):
            continue
        item: dict[str, Any] = {"category": category, "amount": amount}
        if not is_missing(fy):
            item["fiscal_year"] = fy
        if not is_missing(sub):
            item["subaward"] = sub
        rows.append(item)
    project = _period_project(start, end, direct=rows)
    return _yen(_total(_mtdc(project, c).values()))


# -- whole quotes and provenance ------------------------------------------------------------

# XLP_QUOTE's words: Japanese first, English beside it.  A row's label is the component's
# label (pricing.quote.LABELS) and its detail after ": ", so XLP_ALLOCATE reads it back.
QUOTE_HEADER = [both(("項目", "component")), both(("金額", "amount"))]
QUOTE_TOTAL = both(("合計", "total"))
_COMPONENT_OF = {both(words): code for code, words in _LABELS.items()}


def quote_row_label(component: str, detail: str = "") -> str:
    """How XLP_QUOTE names a line: the component's Japanese and English label joined by
    :func:`~xl_pricing.vocabulary.both`, then ": " and the detail (for consumables:
    直接経費, Direct costs, consumables)."""
    return both(_LABELS[component]) + (f": {detail}" if detail else "")


@xlp(inputs="Two-column range of (key, value): approach, contract, start, end, "
            "direct.<category>, researchers.1.hours ... (the project file's keys; "
            "contract, location and rank may be typed in Japanese: 受託研究, 学内, 教授).",
     card=CARD)
def XLP_QUOTE(inputs, card=None):
    """Prices a whole project in one call: spills (component, amount) rows and the total,
    labelled in Japanese and English. Type it as an ordinary formula: dynamic-array Excel
    spills the rows."""
    c = _card(card)
    rows_in = inputs if isinstance(inputs, (dict, list)) else [[inputs]]
    q = _quote(project_from_pairs(rows_in, "inputs"), c)
    rows: list[list[Any]] = [list(QUOTE_HEADER)]
    rows += [[quote_row_label(ln.component, ln.detail), _yen(ln.amount)] for ln in q.lines]
    rows.append([QUOTE_TOTAL, _yen(q.total)])
    return rows


@xlp(card=CARD)
def XLP_CARD(card=None):
    """The rate card in use: id, version and sha256, for provenance cells."""
    c = _card(card)
    return [["id", c.id], ["version", c.version], ["sha256", c.sha256]]


__all__ = [name for name in dir() if name.startswith(PREFIX)]
