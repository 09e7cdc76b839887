"""The project a workbook holds: its input cells read back into a Project — the one way
every command reads a project's inputs from a workbook.

:class:`Layout` says where the inputs are (a key → one cell; a list such as
``researchers`` → rows of column → cell; values given outside the workbook) and
:func:`read_layout` reads them with any reader of cell values into the (key, value) rows
:func:`xl_pricing.cells.project_from_pairs` takes, blank rows skipped and the rest
numbered from 1.  Its users: a standard workbook's defined names (:func:`names_layout`,
below: ``rates diff --scan``), an office map's cells (:func:`xl_pricing.office.map.layout`:
``check`` reads them after a headless recalculation, ``attach`` writes formulas over the
same cells).

A workbook made by ``xl-pricing build`` names every input (``ProjectId``, ``Contract``,
``Start``, the columns ``Direct_Amount``, ``R_Rank``, ``R_Hours`` …, ``B_Agreed``,
``C_LumpSum`` …) and records the card it was built with (``CardSha256``).  This module
reads those cells with openpyxl — the values as last saved, so a person's edits in Excel
count — and turns them into the (key, value) rows :func:`xl_pricing.cells.project_from_pairs`
takes, so the project is validated exactly as a project file or an ``XLP_QUOTE`` range is.
Empty table rows are skipped; words shown in drop-downs (``受託研究 / sponsored research``)
are read as their codes.

Used by ``rates diff --scan`` to re-price workbooks made with an older card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from .cells import cell_value, project_from_pairs, split_ref
from .errors import InputError
from .project import Project
from .vocabulary import (ACHIEVEMENT_BASES, ACTIVITIES, APPROACHES, CONTRACTS, DAY_RATE_BOUNDS,
                         LOCATIONS, RATE_SOURCES, TAX_PARTNERS, code_for)
from .vocabulary import IP_TERMS
from .xlsx import check_workbook

# Single inputs: defined name → project key.
SCALARS: dict[str, str] = {
    "ProjectId": "id", "Title": "title", "Contract": "contract", "Approach": "approach",
    "Activity": "activity", "Location": "location", "Field": "field", "Start": "start",
    "End": "end", "Department": "department", "Company": "company",
    "Escalation": "escalation", "UseTaxCredit": "tax.use_credit",
    "TaxPartner": "tax.partner", "CorporateTax": "tax.corporate_tax",
    "B_Agreed": "total.agreed", "B_BookAs": "total.book_as",
    "Kind": "kind",
    "AwardDate": "award_date",   # an MTDC card's (workbook/mtdc.py)
}
# Quantities a card's 研究料 are priced by: defined name Qty_<name> → quantities.<name>.
QUANTITY_PREFIX = "Qty_"
# The IP terms of a card's price floor (a Project-sheet drop-down of such cards only).
SCALARS["IPTerms"] = "ip_terms"
# Sponsor caps and costs repaid first (workbook/internal.py: cards or projects with them).
SCALARS.update({"SponsorType": "sponsor_type", "SponsorCapRate": "sponsor_cap_rate",
                "AppliedFaRate": "applied_fa_rate", "SponsorCapBase": "sponsor_cap_base",
                "Proceeds_Costs": "proceeds.costs"})
# Tables: list key → {defined name of a column: key inside an entry}.
TABLES: dict[str, dict[str, str]] = {
    "direct": {"Direct_Category": "category", "Direct_Description": "description",
               "Direct_FY": "fiscal_year", "Direct_Amount": "amount",
               "Direct_Subaward": "subaward"},
    "researchers": {"R_Name": "name", "R_Rank": "rank", "R_Source": "rate_source",
                    "R_Hourly": "hourly", "R_Salary": "salary", "R_Basis": "achievement_basis",
                    "R_Count": "~count", "R_DayRate": "day_rate", "R_Bound": "day_rate_bound",
                    "R_Hours": "hours", "R_Days": "days", "R_Months": "months",
                    "R_Effort": "effort", "R_RefPrice": "monthly_rate"},
    "options": {"Opt_Choice": "name", "Opt_Override": "amount"},
    "total.allocations": {"Pkg_Name": "name", "Pkg_Amount": "amount", "Pkg_Date": "date"},
    "outcome.sales": {"Sales_FY": "fiscal_year", "Sales_Low": "low", "Sales_Base": "base",
                      "Sales_High": "high"},
    "outcome.milestones": {"MS_Name": "name", "MS_Amount": "amount", "MS_Achieved": "achieved"},
    "outcome.kpis": {"KPI_Name": "name", "KPI_Amount": "amount", "KPI_Achieved": "achieved"},
}
OUTCOME: dict[str, str] = {"C_AgreedFloor": "outcome.floor",
                           "C_RoyaltyRate": "outcome.royalty_rate",
                           "C_Contribution": "outcome.contribution",
                           "C_LumpSum": "outcome.lump_sum",
                           "C_WeightLow": "outcome.scenario_weights.low",
                           "C_WeightBase": "outcome.scenario_weights.base",
                           "C_WeightHigh": "outcome.scenario_weights.high"}
# Codes a drop-down may show as words.
# (A rank or an option shown as "教授 / Professor" is the card's to read: RateCard.rank_code,
# option_code.)
WORDS = {"contract": CONTRACTS, "activity": ACTIVITIES, "location": LOCATIONS,
         "approach": APPROACHES, "rate_source": RATE_SOURCES,
         "achievement_basis": ACHIEVEMENT_BASES, "day_rate_bound": DAY_RATE_BOUNDS,
         "partner": TAX_PARTNERS}
WORDS["ip_terms"] = IP_TERMS


Row = Mapping[str, str]  # column (a project field) -> cell ("'Sheet'!A1")


@dataclass(frozen=True)
class Layout:
    """Where a workbook holds a project's inputs.

    ``values``: (key, value) given outside the workbook (an office map's ``[values]``);
    ``cells``: (key, cell) of single inputs (``start`` → ``'申込書'!D6``); ``tables``:
    (list key, rows) — each row its columns' cells (``{"name": "'積算'!B6", "hours":
    "'積算'!D6"}``), in order.  Rows of one list key in several tables continue its
    numbering.
    """

    values: tuple[tuple[str, Any], ...] = ()
    cells: tuple[tuple[str, str], ...] = ()
    tables: tuple[tuple[str, tuple[Row, ...]], ...] = ()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def read_layout(layout: Layout, value_of: Callable[[str], Any], *, blanks: bool = True,
                entry: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
                ) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """The inputs ``layout`` names, read with ``value_of(cell)``: the (key, value) rows of
    :func:`~xl_pricing.cells.project_from_pairs` and the cell each key came from.

    A table row whose cells are all blank is skipped; the others are numbered from 1 per
    list key (``researchers.1.hours``, ``researchers.2.hours`` …).  ``blanks=False`` leaves
    blank cells out (a standard workbook's empty optional inputs); ``entry(list_key,
    {column: value})`` may reshape a row before it is written out.

    >>> lay = Layout(values=(("contract", "joint"),), cells=(("start", "S!A1"),),
    ...              tables=(("researchers", ({"hours": "S!B1"}, {"hours": "S!B2"},
    ...                                        {"hours": "S!B3"})),))
    >>> read_layout(lay, {"S!A1": 46113, "S!B1": 10, "S!B3": 5}.get)
    ([('contract', 'joint'), ('start', 46113), ('researchers.1.hours', 10), ('researchers.2.hours', 5)], {'start': 'S!A1', 'researchers.1.hours': 'S!B1', 'researchers.2.hours': 'S!B3'})
    """
    pairs: list[tuple[str, Any]] = list(layout.values)
    where: dict[str, str] = {}
    for key, cell in layout.cells:
        value = value_of(cell)
        if blanks or not _blank(value):
            pairs.append((key, value))
            where[key] = cell
    numbered: dict[str, int] = {}
    for prefix, rows in layout.tables:
        for row in rows:
            got = {c: value_of(ref) for c, ref in row.items()}
            if all(_blank(v) for v in got.values()):
                continue  # a blank row of the table
            if not blanks:
                got = {c: v for c, v in got.items() if not _blank(v)}
            if entry is not None:
                got = entry(prefix, got)
            n = numbered[prefix] = numbered.get(prefix, 0) + 1
            for c, v in got.items():
                pairs.append((f"{prefix}.{n}.{c}", v))
                if c in row:
                    where[f"{prefix}.{n}.{c}"] = row[c]
    return pairs, where


def open_workbook(path: str | os.PathLike[str], field: str = "workbook") -> Workbook:
    """A user's workbook, checked (size, format) before openpyxl reads it."""
    check_workbook(path, field)
    try:
        # The values as last saved (a formula typed into an input gives what Excel showed).
        return load_workbook(path, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a bad file
        raise InputError(field, str(path), f"a workbook openpyxl can read ({type(exc).__name__})"
                         ) from None


def _refs(wb: Workbook, name: str) -> list[str] | None:
    """The cells of a defined name, row by row, as ``'Sheet'!A1``; ``None`` when it is not
    defined (or names a sheet the workbook lacks)."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    dn = wb.defined_names.get(name)
    if dn is None:
        return None
    out: list[str] = []
    for sheet, ref in dn.destinations:
        if sheet not in wb.sheetnames:
            return None
        c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
        quoted = "'" + sheet.replace("'", "''") + "'"
        out += [f"{quoted}!{get_column_letter(c)}{r}" for r in range(r1, r2 + 1)
                for c in range(c1, c2 + 1)]
    return out


def _value(wb: Workbook, cell: str) -> Any:
    sheet, coord = split_ref(cell)
    return wb[sheet][coord].value


def _cells(wb: Workbook, name: str) -> list[Any] | None:
    """The values of a defined name's cells, row by row; ``None`` when it is not defined."""
    refs = _refs(wb, name)
    return None if refs is None else [_value(wb, c) for c in refs]


def _code(key: str, value: Any) -> Any:
    table = WORDS.get(key.rsplit(".", 1)[-1])
    if table is not None and isinstance(value, str):
        return code_for(value, table) or value
    return value


def card_sha256(wb: Workbook) -> str | None:
    """The sha256 of the card a standard workbook was built with (``CardSha256``), or
    ``None`` when the workbook has no such name (not a standard workbook)."""
    got = _cells(wb, "CardSha256")
    return str(got[0]) if got and isinstance(got[0], str) else None


def names_layout(wb: Workbook) -> Layout:
    """Where a standard workbook holds its inputs: the cells of its defined names
    (:data:`SCALARS`, the columns of :data:`TABLES`)."""
    cells = tuple((key, refs[0]) for name, key in SCALARS.items()
                  if (refs := _refs(wb, name)))
    cells += tuple((f"quantities.{name[len(QUANTITY_PREFIX):]}", refs[0])
                   for name in wb.defined_names if name.startswith(QUANTITY_PREFIX)
                   and (refs := _refs(wb, name)))
    tables = []
    for prefix, columns in TABLES.items():
        cols = {k: (_refs(wb, n) or []) for n, k in columns.items()}
        height = max((len(v) for v in cols.values()), default=0)
        tables.append((prefix, tuple({k: v[i] for k, v in cols.items() if i < len(v)}
                                     for i in range(height))))
    return Layout(cells=cells, tables=tuple(tables))


def _entry(prefix: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A standard workbook's row as the project has it: the count of an achievement basis
    under the basis's name, a day-rate bound only with the day-rate source."""
    entry = {k: _code(k, v) for k, v in entry.items()}  # "論文数 / publications" → code
    count = entry.pop("~count", None)
    if count is not None and isinstance(entry.get("achievement_basis"), str):
        entry[entry["achievement_basis"]] = count
    if entry.get("rate_source") != "day_rate":
        entry.pop("day_rate_bound", None)
    return entry


def _card_codes(wb: Workbook, rows: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """A rank or an option shown as its drop-down entry ("教授 / Professor") as the card's
    code, by the workbook's own Rates sheet (``Rank_Entry`` → ``Rank_Names``, ``Opt_Entry``
    → ``Opt_Id``); any other name is left for the card to resolve (``RateCard.rank_code``)."""
    codes = {}
    for key, entries, names in (("rank", "Rank_Entry", "Rank_Names"),
                                ("name", "Opt_Entry", "Opt_Id")):
        shown, code = _cells(wb, entries), _cells(wb, names)
        codes[key] = {e: c for e, c in zip(shown or [], code or [])
                      if isinstance(e, str) and isinstance(c, str)}
    out = []
    for k, v in rows:
        parts = k.split(".")
        table = codes["rank"] if parts[0] == "researchers" and parts[-1] == "rank" else \
            codes["name"] if parts[0] == "options" and parts[-1] == "name" else {}
        out.append((k, table.get(v.strip(), v) if isinstance(v, str) else v))
    return out


def workbook_pairs(wb: Workbook) -> list[tuple[str, Any]]:
    """The workbook's inputs as ``project_from_pairs`` rows (1-based list positions)."""
    rows, _ = read_layout(names_layout(wb), lambda c: _value(wb, c), blanks=False,
                          entry=_entry)
    rows = [(k, _code(k, v)) for k, v in rows]  # words a drop-down shows → codes
    rows = _card_codes(wb, rows)
    # Company contributions are kept as two totals in the workbook.
    for name, kind, key in (("Contrib_Hours", "researcher_hours", "hours"),
                            ("Contrib_Equipment", "equipment", "value")):
        got = _cells(wb, name)
        if got and not _blank(got[0]) and cell_value(got[0]) != 0:
            n = sum(1 for k, _ in rows if k.startswith("contributions.") and k.endswith(".kind"))
            rows += [(f"contributions.{n + 1}.kind", kind), (f"contributions.{n + 1}.{key}",
                                                             got[0])]
    # Outcome terms only when the project has any (C_Contribution is always pre-filled 100%).
    outcome = [(key, got[0]) for name, key in OUTCOME.items()
               if (got := _cells(wb, name)) and not _blank(got[0])]
    approach = next((v for k, v in rows if k == "approach"), None)
    if approach == "C" or any(k.startswith("outcome.") for k, _ in rows) or any(
            k not in ("outcome.contribution",) and cell_value(v) != 0 for k, v in outcome):
        rows += outcome
    return rows


def workbook_project(path: str | os.PathLike[str], field: str = "workbook") -> Project:
    """The project a standard workbook's input cells hold, validated as a project file.

    Raises:
        InputError: not a readable workbook, or inputs the project schema refuses (the
            message names the key, e.g. ``researchers.1.hours``, and the workbook).
    """
    wb = open_workbook(path, field)
    return project_from_pairs(workbook_pairs(wb), str(path))
