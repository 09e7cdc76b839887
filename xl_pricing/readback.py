"""The project a standard workbook holds: its input cells read back into a Project.

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
from typing import Any

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from .cells import cell_value, project_from_pairs
from .errors import InputError
from .project import Project
from .vocabulary import ACTIVITIES, APPROACHES, CONTRACTS, LOCATIONS, RATE_SOURCES, code_for
from .xlsx import check_workbook

# Single inputs: defined name → project key.
SCALARS: dict[str, str] = {
    "ProjectId": "id", "Title": "title", "Contract": "contract", "Approach": "approach",
    "Activity": "activity", "Location": "location", "Field": "field", "Start": "start",
    "End": "end", "Department": "department", "Company": "company",
    "Escalation": "escalation", "UseTaxCredit": "tax.use_credit",
    "TaxPartner": "tax.partner", "CorporateTax": "tax.corporate_tax",
    "B_Agreed": "total.agreed", "B_BookAs": "total.book_as",
}
# Tables: list key → {defined name of a column: key inside an entry}.
TABLES: dict[str, dict[str, str]] = {
    "direct": {"Direct_Category": "category", "Direct_Description": "description",
               "Direct_FY": "fiscal_year", "Direct_Amount": "amount"},
    "researchers": {"R_Name": "name", "R_Rank": "rank", "R_Source": "rate_source",
                    "R_Hourly": "hourly", "R_Salary": "salary", "R_Basis": "achievement_basis",
                    "R_Count": "~count", "R_DayRate": "day_rate", "R_Bound": "day_rate_bound",
                    "R_Hours": "hours", "R_Days": "days", "R_Months": "months",
                    "R_Effort": "effort"},
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
WORDS = {"contract": CONTRACTS, "activity": ACTIVITIES, "location": LOCATIONS,
         "approach": APPROACHES, "rate_source": RATE_SOURCES}


def open_workbook(path: str | os.PathLike[str], field: str = "workbook") -> Workbook:
    """A user's workbook, checked (size, format) before openpyxl reads it."""
    check_workbook(path, field)
    try:
        # The values as last saved (a formula typed into an input gives what Excel showed).
        return load_workbook(path, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a bad file
        raise InputError(field, str(path), f"a workbook openpyxl can read ({type(exc).__name__})"
                         ) from None


def _cells(wb: Workbook, name: str) -> list[Any] | None:
    """The values of a defined name's cells, row by row; ``None`` when it is not defined."""
    dn = wb.defined_names.get(name)
    if dn is None:
        return None
    out: list[Any] = []
    for sheet, ref in dn.destinations:
        if sheet not in wb.sheetnames:
            return None
        got = wb[sheet][ref.replace("$", "")]
        if isinstance(got, tuple):
            for row in got:
                out.extend(c.value for c in (row if isinstance(row, tuple) else (row,)))
        else:
            out.append(got.value)
    return out


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


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


def workbook_pairs(wb: Workbook) -> list[tuple[str, Any]]:
    """The workbook's inputs as ``project_from_pairs`` rows (1-based list positions)."""
    rows: list[tuple[str, Any]] = []
    for name, key in SCALARS.items():
        got = _cells(wb, name)
        if got and not _blank(got[0]):
            rows.append((key, _code(key, got[0])))
    for prefix, columns in TABLES.items():
        cols = {k: (_cells(wb, n) or []) for n, k in columns.items()}
        height = max((len(v) for v in cols.values()), default=0)
        n = 0
        for i in range(height):
            entry = {k: v[i] for k, v in cols.items() if i < len(v) and not _blank(v[i])}
            if not entry:
                continue
            n += 1
            count = entry.pop("~count", None)
            if count is not None and isinstance(entry.get("achievement_basis"), str):
                entry[entry["achievement_basis"]] = count
            if entry.get("rate_source") != "day_rate":
                entry.pop("day_rate_bound", None)
            for k, v in entry.items():
                rows.append((f"{prefix}.{n}.{k}", _code(k, v)))
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
