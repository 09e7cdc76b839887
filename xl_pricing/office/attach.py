"""Attach a rate card (and, with an office map, the pricing) to an office's own workbook.

:func:`attach` returns a **copy** of the workbook (bytes; the input is never written; an
``.xlsm`` keeps its VBA project byte for byte) that adds, and changes nothing else:

1. a sheet ``Rates`` (``Rates (xl-pricing)`` when the office has a sheet "Rates"): the card
   as the standard workbooks show it (:func:`xl_pricing.workbook.inputs.rates_sheet`: id,
   version, sha256, rounding, rates, rank table, F&A table ...) and below it the names for
   the office's own formulas, the provenance cell and the out-of-sync check;
2. defined names: the standard workbooks' (``CardId``, ``CardSha256``, ``IndirectBp``,
   ``Rank_Hourly``, ``ConsultingRate``, ``FA_Key``/``FA_Bp`` ...) and ``XLP_`` names of the
   card's rates as fractions, for formulas that today type the number in
   (``=F16*XLP_IndirectRate`` instead of ``=F16*0.3``): ``XLP_IndirectRate``,
   ``XLP_StrategicRate``, ``XLP_ConsumptionTaxRate``, ``XLP_EscalationRate``,
   ``XLP_FARate`` (the project's activity/location at the card's first year),
   ``XLP_FA_<activity>_<location>[_<field>]``, ``XLP_Rate_<rank>`` (yen/h),
   ``XLP_ConsultingRate``, ``XLP_Provenance``, ``XLP_AttachedOn``, ``XLP_RatesCheck``
   (and ``XLP_InputCheck`` with a map).  A name the workbook already has is **refused**
   (never overwritten, never suffixed: the office's formulas may use it), naming the name;
   so is a workbook attached already, and one holding what the openpyxl copy would drop
   (shapes, slicers, x14 validations ...: :data:`LOSSES`);
3. with an office map (:mod:`xl_pricing.office.map`): a formula in every mapped output cell
   that prices the mapped input cells — native Excel (``target="native"``: whole-yen
   integer arithmetic, rates in basis points, ``ROUNDDOWN(base*bp/10000,0)`` by the card's
   rule, exact in floating point) or ``XLP_`` calls (``target="udf"``) — and the standard
   workbooks' input checks on the mapped input cells (list of ranks, numbers >= 0, dates;
   stop-style messages in Japanese and English).  A cell ``XLP_InputCheck`` on the Rates
   sheet checks the inputs; while it finds a problem every mapped output shows its words
   instead of a number.

Native formulas cover what an office's form prices: approaches X, A and B (B alone or
booked with an X or A build-up), one fiscal year, researchers priced by rank, salary
(平均基準単価), the consulting rate or a negotiated rate for hours, days or months ×
effort, F&A on direct, direct + time charge or MTDC, the strategic expense and consumption
tax.  A map that needs more (options, contributions, approach C, other rate sources) is
refused with what to do instead.

Example::

    data = attach(Path("申込書.xlsx"), load_card("jp-default"),
                  load_map("office-map.toml", Path("申込書.xlsx")))
    files.write_file("申込書-attached.xlsx", data)
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Literal

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .. import __version__
from ..cells import split_ref
from ..errors import InputError
from ..rates import RateCard
from ..workbook import template_project
from ..workbook.book import Book, bp
from ..workbook.inputs import SOURCES, fa_resolution, rates_sheet
from ..workbook.styles import STYLES
from ..xlsx import check_workbook
from .figures import OUTPUT_KEYS
from .map import OfficeMap, layout

Target = Literal["native", "udf"]
TARGETS: tuple[Target, ...] = ("native", "udf")
SHEET, SHEET_ALT = "Rates", "Rates (xl-pricing)"
OK = "OK"
FA_YEARS = 10  # F&A keys for the card's first fiscal year and the ten after it
VBA_PART = "xl/vbaProject.bin"
MAX_FORMULA = 8192  # characters Excel allows in a formula
MAX_LITERAL = 255  # characters of a text constant in an Excel formula
CHOICES = {"contract": ("joint", "sponsored", "consulting"), "approach": ("X", "A", "B", "C"),
           "total.book_as": ("X", "A"), "activity": ("research", "instruction", "other"),
           "location": ("on", "off")}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TWICE = re.compile(r"defined name '(.+)' twice")  # workbook.book.Book.define's refusal
_FORMULA = "f"  # openpyxl's data_type of a formula cell

# Project fields by the check they get (the standard workbooks' checks of the Project sheet).
NUMBER_FIELDS = frozenset({"amount", "hours", "days", "months", "effort", "salary", "hourly",
                           "agreed", "publications", "citations", "years"})
DATE_FIELDS = frozenset({"start", "end", "date"})
STRUCTURE_KEYS = ("contract", "approach", "total.book_as")  # the formulas' shape


@dataclass(frozen=True)
class Source:
    """Where an input comes from: a cell (``'Sheet'!B2``) or a value of the map."""

    cell: str | None = None
    value: Any = None

    def expr(self) -> str:
        """The input in a formula: the cell, or the map's value as a literal."""
        if self.cell is not None:
            return self.cell
        return _literal(self.value)


@dataclass
class Attachment:
    """What :func:`attach_report` added (for the command's report and the tests)."""

    sheet: str
    names: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)   # cell -> output key
    validations: dict[str, str] = field(default_factory=dict)  # cell -> kind of check
    skipped: dict[str, str] = field(default_factory=dict)   # cell -> why no check
    vba: bool = False


def _literal(value: Any) -> str:
    """A map value as an Excel literal; text in quotes, its quotes doubled (never a formula).

    >>> _literal('a"b'), _literal(dt.date(2026, 4, 1)), _literal(0.3)
    ('"a""b"', 'DATE(2026,4,1)', '0.3')
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, dt.date):
        return f"DATE({value.year},{value.month},{value.day})"
    if value is None:
        return '""'
    return '"' + str(value).replace('"', '""') + '"'


def _quoted(sheet: str, cell: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!" + cell.replace("$", "").upper()


# -- reading the workbook ---------------------------------------------------------------

def _load(workbook: bytes | str | os.PathLike[str]) -> tuple[Any, bool, str, bytes]:
    """(openpyxl workbook, has VBA, name for messages, the file's bytes)."""
    if isinstance(workbook, (bytes, bytearray)):
        data, name = bytes(workbook), "WORKBOOK"
    else:
        check_workbook(workbook, "WORKBOOK")
        data, name = Path(workbook).read_bytes(), str(workbook)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            vba = VBA_PART in z.namelist()
        wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=vba, keep_links=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError("WORKBOOK", name, f"an .xlsx or .xlsm workbook openpyxl can read "
                         f"({type(exc).__name__}: {exc})") from None
    return wb, vba, name, data


# What a copy made with openpyxl would lose: (Japanese / English, part name pattern, text in
# the part that marks one, or None to count the parts).  openpyxl keeps cells, styles,
# names, validations, conditional formats, print settings, comments, charts, tables,
# pivot tables, external links and (with Pillow installed) images; not these.
LOSSES: tuple[tuple[str, str, bytes | None], ...] = (
    ("図形・テキストボックス / shapes and text boxes", r"xl/drawings/drawing\d+\.xml",
     b"<xdr:sp>"),
    ("図形・テキストボックス / shapes and text boxes", r"xl/drawings/drawing\d+\.xml",
     b"<xdr:sp "),
    ("他シート参照の入力規則 / validations of another sheet's list (x14)",
     r"xl/worksheets/sheet\d+\.xml", b"<x14:dataValidation "),
    ("拡張の条件付き書式 / extended conditional formats (x14)",
     r"xl/worksheets/sheet\d+\.xml", b"<x14:conditionalFormatting"),
    ("スパークライン / sparklines", r"xl/worksheets/sheet\d+\.xml", b"<x14:sparklineGroup "),
    ("フォームコントロール / form controls", r"xl/ctrlProps/.*", None),
    ("スライサー / slicers", r"xl/slicers/.*", None),
    ("タイムライン / timelines", r"xl/timelines/.*", None),
    ("スレッド形式のコメント / threaded comments", r"xl/threadedComments/.*", None),
    ("グラフ / charts", r"xl/charts/chart\d+\.xml", None),
    ("画像 / images", r"xl/media/.*", None),
)


def _counts(data: bytes) -> dict[str, int]:
    out: dict[str, int] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for label, pattern, marker in LOSSES:
            for part in z.namelist():
                if re.fullmatch(pattern, part):
                    n = 1 if marker is None else z.read(part).count(marker)
                    out[label] = out.get(label, 0) + n
    return out


def losses(before: bytes, after: bytes) -> list[str]:
    """What ``after`` (a copy) has less of than ``before``, in words: the copy must keep
    everything (attach refuses a workbook it cannot copy whole)."""
    was, now = _counts(before), _counts(after)
    return [f"{label} ({n - now.get(label, 0)})" for label, n in was.items()
            if now.get(label, 0) < n]


def _sheet_title(wb: Any, sheet: str, field: str, source: str) -> str:
    """The workbook's own spelling of a sheet the map names (Excel ignores case)."""
    for title in wb.sheetnames:
        if title.casefold() == sheet.casefold():
            return title
    raise InputError(field, sheet, "a sheet of the workbook: " + ", ".join(wb.sheetnames),
                     source)


def _cell_ref(wb: Any, ref: str, field: str, source: str) -> str:
    sheet, cell = split_ref(ref)
    assert sheet is not None  # the map's parser refused references without a sheet
    return _quoted(_sheet_title(wb, sheet, field, source), cell)


def _cell(wb: Any, ref: str) -> Any:
    sheet, cell = split_ref(ref)
    return wb[sheet][cell]


# -- the inputs the map names -----------------------------------------------------------

@dataclass
class Inputs:
    scalars: dict[str, Source] = field(default_factory=dict)
    direct: dict[int, dict[str, Source]] = field(default_factory=dict)
    researchers: dict[int, dict[str, Source]] = field(default_factory=dict)
    tables: dict[str, list[str]] = field(default_factory=dict)  # list key -> ranges
    other: list[str] = field(default_factory=list)  # keys native formulas do not price


def _canonical(key: str) -> list[str]:
    parts = [str(int(p)) if p.isdecimal() else p for p in key.strip().split(".")]
    if parts[0] == "project" and len(parts) == 2:
        parts = parts[1:]
    return parts


def _checked_value(key: str, value: Any, source: str) -> Any:
    """A map value fit for a formula: a finite number, a date, or short plain text."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"values.{key}", value, "a finite number", source)
    if isinstance(value, str) and (len(value) > MAX_LITERAL
                                   or ILLEGAL_CHARACTERS_RE.search(value)):
        raise InputError(f"values.{key}", value[:40], f"text of at most {MAX_LITERAL} "
                         "characters without control characters (Excel's limit for text "
                         "in a formula)", source)
    if not isinstance(value, (str, int, float, Decimal, dt.date)):
        raise InputError(f"values.{key}", value, "a number, a date or text", source)
    allowed = CHOICES.get(".".join(_canonical(key)))
    if allowed is not None and value not in allowed:
        raise InputError(f"values.{key}", value, "one of " + ", ".join(allowed), source)
    return value


def _put(inputs: Inputs, key: str, src: Source) -> None:
    parts = _canonical(key)
    head = parts[0]
    if head in ("direct", "researchers") and len(parts) == 3 and parts[1].isdecimal():
        rows = inputs.direct if head == "direct" else inputs.researchers
        rows.setdefault(int(parts[1]), {})[parts[2]] = src
    elif head == "direct" and len(parts) == 2:  # direct.<category> = amount
        n = 10_000 + len(inputs.direct)  # after the numbered items
        inputs.direct[n] = {"category": Source(value=parts[1]), "amount": src}
    elif head in ("options", "contributions", "outcome") or (
            head == "total" and parts[1:2] == ["allocations"]):
        inputs.other.append(key)
    else:
        inputs.scalars[".".join(parts)] = src


def gather(m: OfficeMap, wb: Any) -> Inputs:
    """Every input of the map as a cell or a value, by project key: the cells of
    :func:`xl_pricing.office.map.layout` (the ones ``check`` reads), each table row by its
    position (an empty row prices 0 in the formulas)."""
    inputs = Inputs()
    lay = layout(m)
    for key, value in lay.values:
        _put(inputs, key, Source(value=_checked_value(key, value, m.source)))
    for key, ref in lay.cells:
        _put(inputs, key, Source(cell=_cell_ref(wb, ref, f"inputs.{key}", m.source)))
    for n, (t, (prefix, rows)) in enumerate(zip(m.tables, lay.tables), start=1):
        inputs.tables.setdefault(prefix, []).append(t.range)
        known = {"direct": inputs.direct, "researchers": inputs.researchers}.get(prefix, {})
        first = max((k for k in known if k < 10_000), default=0)
        for i, row in enumerate(rows, start=first + 1):
            for column, ref in row.items():
                _put(inputs, f"{prefix}.{i}.{column}",
                     Source(cell=_cell_ref(wb, ref, f"tables[{n}].range", m.source)))
    return inputs


# -- the formulas -------------------------------------------------------------------------

# Card rules (RateCard.rules_in_use) the udf target prices: its XLP_INDIRECT and
# XLP_STRATEGIC calls judge the card's conditions on the mapped cells (so a rate that depends
# on the direct costs follows them in Excel) and blend a rate change over the dates.
UDF_RULES = re.compile(r"(indirect|strategic)\.cases\[\d+\]|kinds\..+|rate_change\.method")
# Project keys of costing rules no attached formula prices (pricing.stacked.costing_features).
COSTING_KEYS = ("sponsor_type", "sponsor_cap_rate", "sponsor_cap_base", "applied_fa_rate",
                "ip_terms")


def card_rules(card: RateCard, inputs: Inputs, method: str | None) -> list[str]:
    """The rules of ``card`` (and costing terms of the map) a project of this map would be
    priced by beyond the flat rates the attached formulas use — key paths as
    :meth:`RateCard.rules_in_use` and :func:`xl_pricing.pricing.stacked.costing_features`
    name them.  Rules that cannot apply are left out: indirect cases outside approach X,
    consulting cases without a consulting researcher, kinds when the map gives no kind.

    >>> from xl_pricing import load_card
    >>> card_rules(load_card("jp-default"), Inputs(), "X")
    []
    """
    m = card.model
    consulting = any(r.get("rate_source", Source()).value == "consulting"
                     for r in inputs.researchers.values())
    out = []
    for rule in card.rules_in_use():
        if rule.startswith("indirect.cases") and method != "X":
            continue  # approaches A and B price F&A or the agreed total, not this rate
        if rule.startswith("time_charge.consulting_cases") and not consulting:
            continue
        if rule.startswith("kinds.") and "kind" not in inputs.scalars:
            continue
        if rule == "consumption_tax.prices_include_tax":
            continue  # no tax line is added: the attached total is the price, as the engine's
        out.append(rule)
    if m.floor is not None:
        out.append("floor")
    subaward = any(r.get("category", Source()).cell is not None
                   or r.get("category", Source()).value == "subaward"
                   for r in inputs.direct.values())
    if m.fa.base == "mtdc" and m.fa.subaward_thresholds and subaward and method == "A":
        out.append("fa.subaward_thresholds")
    out += [f"project.{k}" for k in COSTING_KEYS if k in inputs.scalars]
    return out


def refuse_card_rules(card: RateCard, inputs: Inputs, method: str | None,
                      target: str) -> None:
    """Refuse a card (or map) with rules the attached formulas would not price — they would
    show other numbers than the engine (Fukushima's 8% indirect rate up to 1,000,000 yen
    priced at a flat 30%, KEK's 研究料 left out).

    Raises:
        InputError: ``--rates``, naming each rule, and which of them ``--target udf``
            prices.
    """
    rules = card_rules(card, inputs, method)
    udf = [r for r in rules if UDF_RULES.fullmatch(r)]
    left = rules if target == "native" else [r for r in rules if r not in udf]
    if not left:
        return
    text = (f"a card whose rules the attached {'native ' if target == 'native' else ''}"
            f"formulas price (card {card.id!r} has: {', '.join(left)}")
    if target == "native" and udf:
        text += f"; --target udf prices {', '.join(udf)}"
    others = [r for r in left if r not in udf]
    if others:
        text += ("; for " + ", ".join(others) + " keep the office's own formulas and "
                 "compare them with the engine: xl-pricing check, or price the whole project "
                 "with XLP_QUOTE")
    raise InputError("--rates", card.id, text + ") / 添付の数式で扱えない料金表の規則です")


class Formulas:
    """The engine's figures as Excel formulas over the mapped inputs, for one target.

    Shape (approach, contract, booking) comes from the map's values; every number from the
    mapped cells and the Rates sheet's names.  Names used: ``Rank_Names``, ``Rank_LabelJA``,
    ``Rank_LabelEN``, ``Rank_Hourly``, ``Rank_Salary``, ``AnnualHours``, ``HoursPerDay``,
    ``ConsultingRate``, ``Ind_Contract``, ``Ind_Bp``,
    ``StrategicBp``, ``CTBp``, ``XLP_FA_Dates``, ``XLP_FA_DateKey``, ``XLP_FA_DateBp``,
    ``Mtdc_Excluded``, ``SubawardCap``,
    ``CardRef`` (udf).
    """

    def __init__(self, book: Book, inputs: Inputs, source: str):
        self.book, self.card, self.inputs, self.source = book, book.card, inputs, source
        self.udf = book.target != "native"
        s = inputs.scalars
        for key in STRUCTURE_KEYS:
            if key in s and s[key].cell is not None:
                raise InputError(f"inputs.{key}", s[key].cell, "a value in the map's "
                                 "[values] (the formulas' shape depends on it) / "
                                 "[values] に書いてください", source)
        info = template_project(self.card).project
        self.contract = str(self._value("contract", info.contract))
        self.approach = str(self._value("approach", info.approach))
        self.book_as = self._value("total.book_as", None)
        if inputs.other:
            raise self._unsupported(inputs.other[0], "options, contributions, outcome "
                                    "terms and package allocations")
        if self.approach == "C":
            raise self._unsupported("values.approach", "approach C (outcome-linked)", "C")
        self.method = self.approach if self.approach != "B" else self.book_as
        refuse_card_rules(self.card, inputs, self.method, book.target)

    def _value(self, key: str, default: Any) -> Any:
        src = self.inputs.scalars.get(key)
        return default if src is None else src.value

    def _unsupported(self, key: str, what: str, value: Any = None) -> InputError:
        return InputError(key, key if value is None else value,
                          f"a map the attached formulas can price ({what} are not: "
                          f"use xl-pricing check to compare the office's own formulas with "
                          f"the engine) / 添付の数式で扱えない入力です", self.source)

    # -- rounding and rates ------------------------------------------------------------
    def rated(self, base: str, bp_expr: str) -> str:
        """base × rate (basis points) rounded by the card's rule."""
        if self.udf:
            return self.book.fn("XLP_APPLY_RATE", base, f"{bp_expr}/10000", "CardRef")
        return self.book.rnd(f"({base})*{bp_expr}", 10000)

    def scalar(self, key: str, default: str = "0") -> str:
        src = self.inputs.scalars.get(key)
        return default if src is None else src.expr()

    def fy(self, key: str) -> str:
        d = self.scalar(key)
        return f"(YEAR({d})-IF(MONTH({d})<4,1,0))"

    # -- direct costs ----------------------------------------------------------------------
    def direct_items(self) -> list[dict[str, Source]]:
        return [row for _, row in sorted(self.inputs.direct.items()) if "amount" in row]

    def direct(self) -> str:
        amounts = [row["amount"].expr() for row in self.direct_items()]
        return "(" + "+".join(amounts) + ")" if amounts else "0"

    def mtdc(self) -> str:
        """Σ each item's part of the F&A base (the standard workbooks' Direct_FABase)."""
        parts = []
        for row in self.direct_items():
            amt = row["amount"].expr()
            cat = row.get("category", Source(value="")).expr()
            cap = f'IF(SubawardCap="",{amt},MIN({amt},SubawardCap))'
            parts.append(f'IF(SUMPRODUCT(EXACT(Mtdc_Excluded,{cat})*1)>0,0,'
                         f'IF(EXACT({cat},"subaward"),{cap},{amt}))')
        return "(" + "+".join(parts) + ")" if parts else "0"

    # -- time charge ---------------------------------------------------------------------
    def researchers(self) -> list[dict[str, Source]]:
        return [row for _, row in sorted(self.inputs.researchers.items())]

    @staticmethod
    def rank_row(rank: str) -> str:
        """The row of a rank in the card's table: its code, Japanese or English label."""
        return (f"IFERROR(MATCH({rank},Rank_Names,0),IFERROR(MATCH({rank},Rank_LabelJA,0),"
                f"MATCH({rank},Rank_LabelEN,0)))")

    def source_of(self, row: dict[str, Source]) -> str:
        src = row.get("rate_source")
        if src is not None and src.cell is not None:
            raise InputError("rate_source", src.cell, "a rate source in the map's [values] "
                             "(researchers.N.rate_source = \"rank\")", self.source)
        value = "rank" if src is None else str(src.value)
        if value not in ("rank", "salary", "consulting", "negotiated"):
            raise self._unsupported("researchers.rate_source", "rate sources other than "
                                    "rank, salary, consulting and negotiated", value)
        return value

    def rate(self, row: dict[str, Source]) -> str:
        kind = self.source_of(row)
        if kind == "consulting":
            return "ConsultingRate"
        if kind == "negotiated":
            return row.get("hourly", Source(value=0)).expr()
        rank = row.get("rank", Source(value="")).expr()
        if kind == "salary":  # 平均基準単価: salary (given, or the rank's) ÷ annual hours
            salary = row["salary"].expr() if "salary" in row else \
                f"INDEX(Rank_Salary,{self.rank_row(rank)})"
            if self.udf:
                return self.book.fn("XLP_STANDARD_RATE", salary, "AnnualHours", "CardRef")
            return self.book.rnd_rate(salary, "AnnualHours")
        if self.udf:
            return self.book.fn("XLP_RATE", f"INDEX(Rank_Names,{self.rank_row(rank)})",
                                "CardRef")
        return f"INDEX(Rank_Hourly,{self.rank_row(rank)})"

    def charge(self, row: dict[str, Source]) -> str:
        """One researcher's time charge: rate × hours rounded (0 for an empty row); days
        are hours per day each."""
        if "hours" in row:
            given = h = row["hours"].expr()
        elif "days" in row:
            given = row["days"].expr()
            h = f"({given}*HoursPerDay)"
        elif "months" in row and "effort" in row:
            given, effort = row["months"].expr(), row["effort"].expr()
            if self.udf:
                h = self.book.fn("XLP_EFFORT_HOURS", "AnnualHours", effort, given)
            else:  # annual hours × effort × months ÷ 12 down to 0.01 h, in integers: exact
                h = (f"(ROUNDDOWN(ROUND(AnnualHours*100,0)*ROUND({effort}*10000,0)"
                     f"*ROUND({given}*100,0)/12000000,0)/100)")
        else:
            raise self._unsupported("researchers.hours", "researchers without hours, days "
                                    "or months with effort")
        if self.udf:
            amount = self.book.fn("XLP_TIMECHARGE", self.rate(row), h, "CardRef")
        else:
            amount = self.book.rnd(f"{self.rate(row)}*ROUND({h}*10000,0)", 10000)
        blank = [given] + [row[k].expr() for k in ("rank", "name") if k in row
                       and row[k].cell is not None]
        empty = ",".join(f'{c}=""' for c in blank)
        return f"IF(AND({empty}),0,{amount})"

    def time_charge(self) -> str:
        parts = [self.charge(r) for r in self.researchers()]
        return "(" + "+".join(parts) + ")" if parts else "0"

    # -- F&A, indirect, strategic, tax -----------------------------------------------------
    def fa_key(self) -> str:
        info = template_project(self.card).project
        act = self.scalar("activity", _literal(info.activity))
        loc = self.scalar("location", _literal(info.location))
        fields = {f.field for f in self.card.model.fa.rates if f.field}
        fld = self.inputs.scalars.get("field")
        if fld is None or (fld.cell is None and fld.value not in fields):
            fld_expr = '""'  # the card's rate for every field
        else:
            fld_expr = fld.expr()
        since = f"MATCH({self.scalar('start')},XLP_FA_Dates,1)"
        return f'{act}&"/"&{loc}&"/"&{fld_expr}&"/"&{since}'

    def fa(self, base: str) -> str:
        if self.udf:
            info = template_project(self.card).project
            fld = self.inputs.scalars.get("field")
            return self.book.fn("XLP_FA", base,
                                self.scalar("activity", _literal(info.activity)),
                                self.scalar("location", _literal(info.location)),
                                fld.expr() if fld is not None else '""', "CardRef",
                                self.scalar("start"))
        return self.rated(base, f"INDEX(XLP_FA_DateBp,MATCH({self.fa_key()},"
                                f"XLP_FA_DateKey,0))")

    def indirect_bp(self) -> str:
        return f"INDEX(Ind_Bp,MATCH({_literal(self.contract)},Ind_Contract,0))"

    def conditional(self, key: str) -> bool:
        """Does the card choose the ``key`` rate (indirect, strategic) by conditions or
        blend its changes (priced by XLP_INDIRECT / XLP_STRATEGIC, udf target only)?"""
        spec = getattr(self.card.model, key)
        return self.udf and (bool(spec.cases)
                             or self.card.model.rate_change.method != "fiscal_year")

    def facts(self) -> list[str]:
        """The arguments the card's conditions are judged on: contract, location, kind,
        start, end (an argument not mapped is left empty: a condition on it does not hold)."""
        return [_literal(self.contract), *(self.scalar(k, '""') for k in (
            "location", "kind", "start", "end"))]

    def indirect(self, direct: str) -> str:
        """Indirect costs (approach X): direct × the contract's rate, or (udf, a card with
        conditional rates) XLP_INDIRECT's rate for the mapped project."""
        if self.conditional("indirect"):
            return self.book.fn("XLP_INDIRECT", direct, '""', "CardRef", *self.facts())
        return self.rated(direct, self.indirect_bp())

    def strategic(self, base: str, direct: str) -> str:
        """The strategic expense: base × the card's rate, or (udf, a card with conditional
        rates) XLP_STRATEGIC's rate for the mapped project."""
        if self.conditional("strategic"):
            return self.book.fn("XLP_STRATEGIC", base, "CardRef", direct, *self.facts())
        return self.rated(base, "StrategicBp")

    def figures(self, refs: dict[str, str]) -> dict[str, str]:
        """Every output key → its formula body; a key mapped to a cell is referenced there
        by the keys built on it (``refs``: output key → its first cell)."""
        f: dict[str, str] = {}
        card = self.card.model

        def use(key: str, body: str) -> str:
            f[key] = body
            return refs.get(key, f"({body})")

        zero = {f"lines.{c}": "0" for c in (
            "time_charge", "indirect", "fa", "strategic", "option", "discount",
            "value_added", "floor", "lump_sum", "milestone", "kpi", "royalty",
            "consumption_tax")}
        f.update(zero)
        d = use("lines.direct", self.direct())
        use("mtdc", self.mtdc())
        build = d
        method = self.approach if self.approach != "B" else self.book_as
        if method == "X":
            ind = use("lines.indirect", self.indirect(d))
            build = f"{d}+{ind}"
            if card.strategic.rate > 0 or card.strategic.cases:
                base = d + (f"+{ind}" if card.strategic.base in ("direct_plus_indirect",
                                                                 "subtotal") else "")
                build += "+" + use("lines.strategic", self.strategic(base, d))
        elif method == "A":
            tc = use("lines.time_charge", self.time_charge())
            fab = refs.get("mtdc", f"({self.mtdc()})") if card.fa.base == "mtdc" else d
            if card.fa.base == "direct_plus_tc":
                fab = f"{fab}+{tc}"
            fa = use("lines.fa", self.fa(fab))
            build = f"{d}+{tc}+{fa}"
            if card.strategic.rate > 0 or card.strategic.cases:
                base = d
                if card.strategic.base in ("direct_plus_tc", "subtotal"):
                    base += f"+{tc}"
                if card.strategic.base in ("direct_plus_indirect", "subtotal"):
                    base += f"+{fa}"
                build += "+" + use("lines.strategic", self.strategic(base, d))
        self.build = build
        if self.approach == "B":
            agreed = self.scalar("total.agreed")
            if method is None:
                body = (self.book.fn("XLP_TOTAL_INDIRECT", agreed, d) if self.udf
                        else f"{agreed}-{d}")
                use("lines.indirect", body)
            else:
                body = (self.book.fn("XLP_TOTAL_INDIRECT", agreed, f"({build})") if self.udf
                        else f"{agreed}-({build})")
                use("lines.value_added", body)
            pre = agreed
        else:
            pre = build
        f["fa"] = f["lines.fa"]
        ct = card.consumption_tax
        tax = "0"
        if self.contract in ct.applies_to and ct.rate > 0 and not ct.prices_include_tax:
            tax = use("lines.consumption_tax", self.rated(f"({pre})", "CTBp"))
        pre_ref = use("pre_tax_total", pre)
        total = use("total", f"{pre_ref}+{tax}")
        ref = {k: refs.get(k, f"({v})") for k, v in f.items()}
        def boxed(*components: str) -> str:  # a form box: its components' sum, zeros left out
            parts = [ref[f"lines.{c}"] for c in components]
            return "+".join(p for p in parts if p not in ("0", "(0)")) or "0"

        f["form.direct"] = boxed("direct", "floor")
        f["form.academic"] = boxed("time_charge", "value_added", "option", "lump_sum",
                                   "milestone", "kpi", "royalty", "discount")
        f["form.indirect"] = boxed("indirect", "fa")
        f["form.strategic"] = ref["lines.strategic"]
        f["form.tax"] = ref["lines.consumption_tax"]
        f["form.total"] = total
        f["form_new.tax"] = f["lines.consumption_tax"]
        f["form_new.total"] = total
        return f

    def new_form(self, f: dict[str, str], refs: dict[str, str], choice: str) -> None:
        pre = refs.get("pre_tax_total", f"({f['pre_tax_total']})")
        d = refs.get("lines.direct", f"({f['lines.direct']})")
        f["form_new.remuneration"] = pre if choice == "A" else f"{pre}-{d}"
        f["form_new.expenses"] = "0" if choice == "A" else d

    # -- the input check ---------------------------------------------------------------------
    def checks(self) -> list[tuple[str, str]]:
        """(condition that is TRUE when an input is wrong, message) in the order checked."""
        out: list[tuple[str, str]] = []
        numbers: list[str] = []
        for row in [*self.direct_items(), *self.researchers()]:
            numbers += [s.cell for k, s in row.items() if k in NUMBER_FIELDS and s.cell]
        for key, s in self.inputs.scalars.items():
            if key.split(".")[-1] in NUMBER_FIELDS and s.cell:
                numbers.append(s.cell)
        for c in numbers:
            out.append((f'OR(AND({c}<>"",NOT(ISNUMBER({c}))),IF(ISNUMBER({c}),{c}<0,FALSE))',
                        f"{c} は 0 以上の数値 / {c}: expected a number >= 0"))
        for key in ("start", "end"):
            s = self.inputs.scalars.get(key)
            if s is not None and s.cell:
                out.append((f"NOT(ISNUMBER({s.cell}))",
                            f"{s.cell} は日付 / {s.cell}: expected a date"))
        if "start" in self.inputs.scalars and "end" in self.inputs.scalars and (
                self.approach != "B" or self.book_as is not None):
            out.append((f"{self.fy('start')}<>{self.fy('end')}",
                        "開始日と終了日が別の年度です。複数年度は xl-pricing check で / start "
                        "and end fall in different fiscal years: the attached formulas "
                        "price one fiscal year (xl-pricing check prices several)"))
        method = self.approach if self.approach != "B" else self.book_as
        if method == "A":
            for row in self.researchers():
                rank = row.get("rank")
                if self.source_of(row) in ("rank", "salary") and rank is not None \
                        and rank.cell and "salary" not in row:
                    out.append((f'AND({rank.cell}<>"",ISNA({self.rank_row(rank.cell)}))',
                                f"{rank.cell} は料金表の職階 / {rank.cell}: expected a rank "
                                "of the card (Rates: Rank_Names, 日本語, English)"))
            if not self.udf:
                out.append((f"ISNA(MATCH({self.fa_key()},XLP_FA_DateKey,0))",
                            "料金表にこの活動・場所・開始日の F&A 率がありません / the card has "
                            "no F&A rate for this activity, location and start date"))
        if self.approach == "B":
            agreed = self.scalar("total.agreed")
            out.append((f"{agreed}-({self.build})<0",
                        f"{agreed} 合意総額が積算を下回ります / the agreed total is below the "
                        "build-up (direct costs) it is booked with"))
        return out


def check_rows(checks: list[tuple[str, str]], column: str, top: int) -> list[tuple[str, str]]:
    """(message, formula) per row from ``top`` down: each row is its problem in words or the
    next row's verdict, the last one's ``OK`` — the first problem found, one IF per cell
    (a single nested IF would pass Excel's 64 levels with a long table of researchers).

    >>> check_rows([("A1<0", "A1 >= 0")], "B", 5)
    [('A1 >= 0', 'IF(A1<0,"入力エラー / input error: A1 >= 0","OK")')]
    """
    rows = []
    for i, (cond, message) in enumerate(checks):
        nxt = f"{column}{top + i + 1}" if i + 1 < len(checks) else _literal(OK)
        rows.append((message, f"IF({cond},{_literal('入力エラー / input error: ' + message)},"
                              f"{nxt})"))
    return rows


# -- names for the office's formulas, provenance, out-of-sync check -------------------------

def _same_row(book: Book, name: str, column: str) -> str:
    """The cell in ``column`` on the row of the one-cell name (``IndirectBp`` → its %)."""
    ref = book.cells[name][0]
    sheet, cell = split_ref(ref)
    row, _ = coordinate_to_tuple(cell)
    return f"{column}{row}"


def office_names(book: Book, ws: Worksheet, project_info: Any, today: dt.date
                 ) -> tuple[list[str], int]:
    """The ``XLP_`` names and the provenance below the standard Rates tables; returns the
    names defined and the next free row."""
    from ..workbook.book import formula, put

    card, m = book.card, book.card.model
    added: list[str] = []
    r = ws.max_row + 2
    put(ws, f"A{r}", "事務の数式用の名前 / Names for the office's formulas", "xlp_header")
    put(ws, f"B{r}", "値 / Value", "xlp_header")
    put(ws, f"C{r}", "名前 / Name", "xlp_header")
    r += 1

    def name_row(label: str, name: str, target_cell: str, shown: str | None = None,
                 style: str = "xlp_pct") -> None:
        nonlocal r
        put(ws, f"A{r}", label, "xlp_label")
        formula(ws, f"B{r}", shown or target_cell, style)
        put(ws, f"C{r}", name, "xlp_text")
        added.append(book.define(name, ws, target_cell))
        r += 1

    for label, std, name in (
            ("間接経費率 / Indirect rate", "IndirectBp", "XLP_IndirectRate"),
            ("戦略的産学連携経費率 / Strategic rate", "StrategicBp", "XLP_StrategicRate"),
            ("消費税率 / Consumption tax rate", "CTBp", "XLP_ConsumptionTaxRate"),
            ("単価の年次上昇 / Yearly escalation", "EscalationBp", "XLP_EscalationRate")):
        name_row(label, name, _same_row(book, std, "B"))
    consulting = book.cells["ConsultingRate"][0]
    name_row("学術指導単価 / Consulting rate (yen/h)", "XLP_ConsultingRate",
             split_ref(consulting)[1], style="xlp_yen")
    for code, cell in zip(m.time_charge.ranks, book.cells["Rank_Hourly"]):
        if _NAME.fullmatch(code):
            rank = m.time_charge.ranks[code]
            name_row(f"時間単価 {rank.label_ja or code} / Hourly rate {rank.label_en or code}",
                     f"XLP_Rate_{code}", split_ref(cell)[1], style="xlp_yen")
    # F&A rates in force on the card's first day, one name per activity/location(/field).
    first = m.card.effective_from
    seen: set[str] = set()
    for row in m.fa.rates:
        key = "_".join(p for p in (row.activity, row.location, row.field) if p)
        if key in seen or not _NAME.fullmatch(key):
            continue
        seen.add(key)
        try:
            rate = card.fa_rate(row.activity, row.location, row.field, first).rate
        except InputError:
            continue
        put(ws, f"A{r}", f"F&A 率 / F&A rate {row.activity}/{row.location}"
                         + (f"/{row.field}" if row.field else ""), "xlp_label")
        put(ws, f"B{r}", float(rate), "xlp_pct")
        put(ws, f"C{r}", f"XLP_FA_{key}", "xlp_text")
        added.append(book.define(f"XLP_FA_{key}", ws, f"B{r}"))
        r += 1
    try:
        rate = card.fa_rate(project_info.activity, project_info.location, project_info.field,
                            first).rate
    except InputError:
        rate = None
    if rate is not None:
        put(ws, f"A{r}", f"F&A 率（この案件） / F&A rate of the project "
                         f"({project_info.activity}/{project_info.location})", "xlp_label")
        put(ws, f"B{r}", float(rate), "xlp_pct")
        put(ws, f"C{r}", "XLP_FARate", "xlp_text")
        added.append(book.define("XLP_FARate", ws, f"B{r}"))
        r += 1
    r = fa_by_date(book, ws, r + 1)
    added += ["XLP_FA_Dates", "XLP_FA_DateKey", "XLP_FA_DateBp"]
    # Provenance: which card, which tool, when.
    put(ws, f"A{r}", "添付の記録 / Provenance", "xlp_label")
    put(ws, f"B{r}", f"料金表 / card {card.id} {card.version} sha256 {card.sha256}; "
                     f"xl-pricing {__version__}; 添付日 / attached {today.isoformat()}",
        "xlp_text")
    put(ws, f"C{r}", "XLP_Provenance", "xlp_text")
    added.append(book.define("XLP_Provenance", ws, f"B{r}"))
    r += 1
    put(ws, f"A{r}", "添付日 / Attached on", "xlp_label")
    put(ws, f"B{r}", today, "xlp_date")
    put(ws, f"C{r}", "XLP_AttachedOn", "xlp_text")
    added.append(book.define("XLP_AttachedOn", ws, f"B{r}"))
    r += 1
    # Out of sync: the rates on this sheet against the fingerprint taken when attached (the
    # card on disk is compared by xl-pricing check; udf workbooks also by XLP_CARD above).
    singles = [_same_row(book, n, "B") for n in ("IndirectBp", "StrategicBp", "CTBp",
                                                 "EscalationBp")]
    singles.append(split_ref(consulting)[1])
    tables = ("Rank_Hourly", "FA_Bp", "Ind_Bp", "XLP_FA_DateBp")
    cells = singles + [split_ref(c)[1] for t in tables for c in book.cells[t]]
    total = sum((Decimal(str(ws[c].value)) for c in cells
                 if isinstance(ws[c].value, (int, float))
                 and not isinstance(ws[c].value, bool)), Decimal(0))
    put(ws, f"A{r}", "料金の指紋 / Fingerprint of the rates (when attached)", "xlp_label")
    put(ws, f"B{r}", float(total), "xlp_num")
    fp = f"B{r}"
    r += 1
    put(ws, f"A{r}", "料金表との同期 / In step with the card?", "xlp_label")
    live = "+".join([*(f"N({c})" for c in singles), *(f"SUM({t})" for t in tables)])
    formula(ws, f"B{r}", f'IF(ROUND({live},6)=ROUND({fp},6),"変更なし / unchanged (card '
                         f'{_text(card.id)} {_text(card.version)})","警告: 添付後に料金が'
                         f'編集されています / WARNING: a rate on this sheet was edited after '
                         f'the card was attached")', "xlp_warn")
    put(ws, f"C{r}", "XLP_RatesCheck", "xlp_text")
    added.append(book.define("XLP_RatesCheck", ws, f"B{r}"))
    return added, r + 2


def fa_by_date(book: Book, ws: Worksheet, r: int) -> int:
    """The F&A rate in force from each date the card's F&A rates change, by
    activity/location/field (resolved by the engine's :meth:`RateCard.fa_rate`): the
    native formulas look the start date up with ``MATCH(start, XLP_FA_Dates, 1)`` (the last
    change on or before it), so a rate that changes mid-year applies as in the engine.
    Returns the next free row."""
    from ..workbook.inputs import Column, table

    card, m = book.card, book.card.model
    dates = sorted({m.card.effective_from, *(f.effective_from for f in m.fa.rates
                                             if f.effective_from is not None)})
    r = table(book, ws, r, 1, [Column("F&A 率の変更日 / F&A rates change on",
                                      "XLP_FA_Dates", "xlp_date", width=44)],
              [[d] for d in dates])
    fields = sorted({f.field for f in m.fa.rates if f.field}) + [""]
    rows = []
    for i, on in enumerate(dates, start=1):
        for act in ("research", "instruction", "other"):
            for loc in ("on", "off"):
                for fld in fields:
                    try:
                        rate = card.fa_rate(act, loc, fld or None, on).rate
                    except InputError:
                        continue  # no rate in force then: no key, the input check says so
                    rows.append([f"{act}/{loc}/{fld}/{i}", bp(rate)])
    return table(book, ws, r, 1, [Column("F&A キー 活動/場所/分野/変更日の番号 / Key "
                                         "activity/location/field/change #",
                                         "XLP_FA_DateKey", width=44),
                                  Column("bp", "XLP_FA_DateBp", "xlp_int")], rows)


def _text(value: str) -> str:
    return str(value).replace('"', '""')


# -- input checks on the mapped cells -------------------------------------------------------

def _validation(kind: str, rank_list: str) -> DataValidation:
    if kind == "rank":
        dv = DataValidation(type="list", formula1=rank_list, allow_blank=True)
        dv.error = "料金表の職階をリストから選んでください / Choose a rank of the card"
    elif kind == "rate_source":
        dv = DataValidation(type="list", formula1='"' + ",".join(SOURCES) + '"',
                            allow_blank=True)
        dv.error = "リストから選んでください / Choose a value from the list"
    elif kind == "date":
        dv = DataValidation(type="date", operator="between", formula1="1",
                            formula2="2958465", allow_blank=True)  # 1900-01-01..9999-12-31
        dv.error = "日付を入力してください / Enter a date"
    else:
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                            allow_blank=True)
        dv.error = "0 以上の数値を入力してください / Enter a number >= 0"
    dv.errorTitle = "xl-pricing 入力エラー / input error"
    dv.showErrorMessage = True
    dv.errorStyle = "stop"
    return dv


def _rank_list(wb: Any, cells: list[str], card: RateCard) -> str:
    """The rank column the office types: codes, Japanese or English labels."""
    values = {str(_cell(wb, c).value).strip().casefold() for c in cells
              if _cell(wb, c).value not in (None, "")}
    ranks = card.model.time_charge.ranks
    for name, labels in (("Rank_Names", list(ranks)),
                         ("Rank_LabelJA", [r.label_ja for r in ranks.values()]),
                         ("Rank_LabelEN", [r.label_en for r in ranks.values()])):
        if values and values <= {str(x).casefold() for x in labels if x}:
            return name
    return "Rank_Names"


def input_checks(wb: Any, inputs: Inputs, card: RateCard, done: Attachment) -> None:
    """The standard workbooks' checks on the mapped input cells; a cell holding a formula
    or an office's own validation is left alone (and reported)."""
    wanted: dict[str, str] = {}
    for row in [*inputs.direct.values(), *inputs.researchers.values()]:
        for k, s in row.items():
            if s.cell is None:
                continue
            if k in NUMBER_FIELDS:
                wanted[s.cell] = "number"
            elif k == "rank":
                wanted[s.cell] = "rank"
            elif k == "rate_source":
                wanted[s.cell] = "rate_source"
    for key, s in inputs.scalars.items():
        last = key.split(".")[-1]
        if s.cell is not None and (last in NUMBER_FIELDS or last in DATE_FIELDS):
            wanted[s.cell] = "date" if last in DATE_FIELDS else "number"
    rank_list = _rank_list(wb, [c for c, k in wanted.items() if k == "rank"], card)
    made: dict[tuple[str, str], DataValidation] = {}
    for ref, kind in wanted.items():
        sheet, coord = split_ref(ref)
        ws = wb[sheet]
        cell = ws[coord]
        if cell.data_type == _FORMULA:
            done.skipped[ref] = "数式のセル / a formula cell"
            continue
        if any(coord in dv.sqref for dv in ws.data_validations.dataValidation):
            done.skipped[ref] = "既存の入力規則 / the office's own validation"
            continue
        dv = made.get((sheet, kind))
        if dv is None:
            dv = made[(sheet, kind)] = _validation(kind, rank_list)
            ws.add_data_validation(dv)
        dv.add(coord)
        done.validations[ref] = kind


# -- attach -------------------------------------------------------------------------------

def _existing_names(wb: Any) -> set[str]:
    names = {n.upper() for n in wb.defined_names}
    for ws in wb.worksheets:
        names |= {n.upper() for n in ws.defined_names}
    return names


def _fa_keys(card: RateCard) -> list[list[Any]]:
    """F&A rates by activity/location/field/fiscal year from the card's first year on."""
    from ..project import fiscal_year, parse_project

    fy = fiscal_year(card.model.card.effective_from)
    span = parse_project({"project": {"id": "ATTACH", "title": "", "contract": "joint",
                                      "approach": "A", "start": dt.date(fy, 4, 1),
                                      "end": dt.date(fy + FA_YEARS, 3, 31)}}, "attach")
    return fa_resolution(card, span)


def _register_styles(wb: Any) -> None:
    have = set(wb.named_styles)
    for st in STYLES:
        if st.name not in have:
            wb.add_named_style(st)


def attach_report(workbook: bytes | str | os.PathLike[str], card: RateCard,
                  map: OfficeMap | None = None, target: Target = "native",
                  today: dt.date | None = None) -> tuple[bytes, Attachment]:
    """:func:`attach`, and what it added."""
    if target not in TARGETS:
        raise InputError("--target", target, "native or udf")
    wb, vba, name, original = _load(workbook)
    if "XLP_PROVENANCE" in _existing_names(wb):
        raise InputError("WORKBOOK", name, "a workbook the card is not attached to yet (it has "
                         "XLP_Provenance: attach to the office's original) / 添付済みです", None)
    titles = {t.casefold() for t in wb.sheetnames}
    sheet = SHEET if SHEET.casefold() not in titles else SHEET_ALT
    if sheet.casefold() in titles:
        raise InputError("WORKBOOK", name, f"a workbook without sheets {SHEET!r} and "
                         f"{SHEET_ALT!r} (is it attached already? attach to the office's "
                         "original) / 添付済みの可能性があります", None)
    done = Attachment(sheet=sheet, vba=vba)
    inputs = gather(map, wb) if map is not None else Inputs()
    book = Book(wb=wb, card=card, project=template_project(card), target=target,
                card_ref=_card_ref(card), is_template=map is None,
                folded=_existing_names(wb))
    formulas = Formulas(book, inputs, map.source) if map is not None else None
    _register_styles(wb)
    try:
        ws = rates_sheet(book, _fa_keys(card), title=sheet)
        info = _project_info(card, inputs)
        _, r = office_names(book, ws, info, today or dt.date.today())
        done.names = list(book.names)
        if map is not None and formulas is not None:
            _price(book, ws, r, map, formulas, done, original)
            input_checks(wb, inputs, card, done)
    except InputError:
        raise
    except ValueError as exc:  # Book.define: a name the workbook has already
        clash = _TWICE.fullmatch(str(exc))
        if clash is None:
            raise
        raise InputError("WORKBOOK", name, f"a workbook without the defined name "
                         f"{clash.group(1)} (attach adds it for the card and never replaces "
                         "the office's: rename that name first) / 同じ名前の定義があります",
                         None) from None
    out = io.BytesIO()
    wb.save(out)
    lost = losses(original, out.getvalue())
    if lost:
        raise InputError("WORKBOOK", name, "a workbook the copy keeps whole (openpyxl, which "
                         "writes it, would drop: " + ", ".join(lost) + "; attach to a copy "
                         "without them, or add the Rates sheet by hand) / 複製で失われる要素が"
                         "あります", None)
    return out.getvalue(), done


def _price(book: Book, ws: Worksheet, r: int, m: OfficeMap, formulas: Formulas,
           done: Attachment, original: bytes) -> None:
    """The mapped outputs' formulas and the input check cell."""
    from ..workbook.book import formula, put

    wb = book.wb
    refs: dict[str, str] = {}
    cells: dict[str, list[str]] = {}
    for key, targets in m.outputs.items():
        cells[key] = [_cell_ref(wb, t, f"outputs.{key}", m.source) for t in targets]
        refs[key] = cells[key][0]
    refuse_cycles(wb, m, formulas.inputs, {c: k for k, cs in cells.items() for c in cs},
                  formula_cells(original))
    formulas.figures({})  # the check is made of the inputs alone (outputs depend on it)
    checks = formulas.checks()
    f = formulas.figures(refs)
    formulas.new_form(f, refs, m.new_form)
    put(ws, f"A{r}", "入力チェック（最初の問題） / Input checks (the first problem, or OK)",
        "xlp_header")
    put(ws, f"C{r}", "XLP_InputCheck", "xlp_text")
    rows = check_rows(checks, "B", r + 1) or [("", "")]
    for i, (message, check) in enumerate(rows, start=r + 1):
        put(ws, f"A{i}", message, "xlp_label")
        if check:
            formula(ws, f"B{i}", check, "xlp_warn")
        else:
            put(ws, f"B{i}", OK, "xlp_warn")
    book.define("XLP_InputCheck", ws, f"B{r + 1}")
    done.names.append("XLP_InputCheck")
    taken = {s.cell for s in formulas.inputs.scalars.values() if s.cell}
    for row in [*formulas.inputs.direct.values(), *formulas.inputs.researchers.values()]:
        taken |= {s.cell for s in row.values() if s.cell}
    for key, targets in cells.items():
        if key not in f:
            raise InputError(f"outputs.{key}", targets[0], "an output the attached formulas "
                             "price: " + ", ".join(k for k in OUTPUT_KEYS if k in f),
                             m.source)
        for t in targets:
            if isinstance(_cell(wb, t), MergedCell):
                raise InputError(f"outputs.{key}", t, "the top-left cell of its merged range "
                                 "(the cell that shows the value) / 結合セルの左上", m.source)
            if t in taken:
                raise InputError(f"outputs.{key}", t, "a cell that is not also a mapped input "
                                 "(its formula would replace the input) / 入力のセルです",
                                 m.source)
        first, *rest = targets
        text = f'=IF(XLP_InputCheck="{OK}",{f[key]},XLP_InputCheck)'
        if len(text) > MAX_FORMULA:
            raise InputError(f"outputs.{key}", first, f"a formula within Excel's "
                             f"{MAX_FORMULA:,} characters (it would be {len(text):,}: map "
                             "lines.time_charge, lines.direct and mtdc to cells too, so "
                             "that the others refer to them) / 数式が長すぎます", m.source)
        _cell(wb, first).value = text
        done.outputs[first] = key
        for other in rest:  # the same figure shown twice: the second shows the first
            _cell(wb, other).value = f"={first}"
            done.outputs[other] = key


_A1 = re.compile(r"\$?[A-Za-z]{1,3}\$?\d+(:\$?[A-Za-z]{1,3}\$?\d+)?")
WALK_LIMIT = 200_000  # cells followed from the inputs' formulas before giving up


def _precedents(wb: Any, sheet: str, text: str) -> Iterable[tuple[str, str]]:
    """The cells a formula refers to (sheet, A1), defined names resolved; whole columns
    and rows, other workbooks and unknown names are not followed."""
    for token in Tokenizer(text).items:
        if token.type != Token.OPERAND or token.subtype != Token.RANGE:
            continue
        where, ref = split_ref(token.value)
        if where is not None and where.startswith("["):
            continue  # another workbook
        if _A1.fullmatch(ref):
            targets = [(where or sheet, ref)]
        elif ref in wb.defined_names:
            targets = list(wb.defined_names[ref].destinations)
        else:
            continue
        for target_sheet, area in targets:
            if target_sheet not in wb.sheetnames or not _A1.fullmatch(area):
                continue
            c1, r1, c2, r2 = range_boundaries(area.replace("$", ""))
            for row in range(r1, r2 + 1):
                for col in range(c1, c2 + 1):
                    yield target_sheet, f"{get_column_letter(col)}{row}"


def formula_cells(data: bytes) -> dict[tuple[str, str], str]:
    """Every formula of a workbook by (sheet, A1), read without touching the copy (looking
    cells up in an openpyxl sheet would create the empty ones)."""
    out: dict[tuple[str, str], str] = {}
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, keep_links=False)
    try:
        for ws in wb.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue
            for row in ws.iter_rows():
                for c in row:
                    v = getattr(c, "value", None)
                    if isinstance(v, str) and v.startswith("=") and c.data_type == _FORMULA:
                        out[(ws.title, c.coordinate)] = v
    finally:
        wb.close()
    return out


def refuse_cycles(wb: Any, m: OfficeMap, inputs: Inputs, outputs: dict[str, str],
                  formulas: dict[tuple[str, str], str]) -> None:
    """Refuse a map whose input cells depend (through the office's formulas) on a mapped
    output: the attached formula there would make a circular reference.

    ``outputs``: the output cells (quoted ``'Sheet'!A1``) → their output key;
    ``formulas``: the office's formulas (:func:`formula_cells`).
    """
    targets = {(split_ref(c)[0], split_ref(c)[1]): key for c, key in outputs.items()}
    cells = {s.cell: k for k, s in inputs.scalars.items() if s.cell}
    for rows in (inputs.direct, inputs.researchers):
        for row in rows.values():
            cells.update({s.cell: k for k, s in row.items() if s.cell})
    seen: set[tuple[str, str]] = set()
    for ref, key in cells.items():
        start = split_ref(ref)
        stack = [start]
        while stack and len(seen) < WALK_LIMIT:
            sheet, coord = stack.pop()
            if (sheet, coord) in targets and (sheet, coord) != start:
                out = _quoted(sheet, coord)
                raise InputError(f"inputs ({key})", ref, "an input cell that does not depend "
                                 f"on a mapped output (its formula leads to {out}, "
                                 f"{targets[(sheet, coord)]}: the attached formula would "
                                 "make a circular reference) / 入力が出力を参照しています",
                                 m.source)
            if (sheet, coord) in seen:
                continue
            seen.add((sheet, coord))
            text = formulas.get((sheet, coord))
            if text is not None:
                stack.extend(_precedents(wb, sheet, text))


def _project_info(card: RateCard, inputs: Inputs) -> Any:
    """The project's activity, location and field as the map gives them (else defaults)."""
    info = template_project(card).project
    vals = {k: s.value for k, s in inputs.scalars.items()
            if k in ("activity", "location", "field") and s.cell is None}
    return info.model_copy(update=vals) if vals else info


def _card_ref(card: RateCard) -> str:
    from ..workbook import card_reference

    return card_reference(card)


def attach(workbook: bytes | str | os.PathLike[str], card: RateCard,
           map: OfficeMap | None = None, target: Target = "native",
           today: dt.date | None = None) -> bytes:
    """A copy of the office's workbook with the card attached (see the module docstring).

    Args:
        workbook: the workbook's bytes or path (checked first; only read).
        card: the rate card to attach.
        map: the office map; with it the mapped outputs get formulas and the mapped inputs
            checks.
        target: ``native`` (built-in Excel functions) or ``udf`` (``XLP_`` calls).
        today: the date recorded as attached on (default: today).

    Returns:
        The new workbook's bytes (``.xlsm`` in, ``.xlsm`` out with its VBA project).

    Raises:
        InputError: not a workbook; a defined name or sheet the attachment needs exists
            already; a map whose sheets the workbook lacks or which the formulas cannot
            price (naming the key).
    """
    return attach_report(workbook, card, map, target, today)[0]
