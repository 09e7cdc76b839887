"""The XLP_ Excel functions in three layers, driven by one table of cases.

1. plain Python calls (what desktop Excel's xlwings add-in ends up calling);
2. xlwings' own server code: ``custom_functions_meta`` and ``custom_functions_call`` with
   the payload the Office.js add-in posts (every argument a 2-D list, an omitted optional
   argument ``null``), under ``XLWINGS_ON_SERVER=true`` set by a fixture;
3. xlwings Server itself (its FastAPI app, in process) answering
   ``POST /xlwings/custom-functions-call``; and one real server on 127.0.0.1.

Each case gives the arguments as the xlwings converters hand them to the function (a
scalar, a list for an ``ndim=1`` range, a list of lists for a table, a dict for a key/value
range); the payload form is derived from that the way Excel would send it.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES, RATES
from serverkit import payload, post, server_modules, serving, started_client, unwrap
from xl_pricing import InputError, load_card
from xl_pricing.cli import app
from xl_pricing.cells import EXCEL_EPOCH, project_to_pairs
from xl_pricing.pricing.quote import LABELS

JP_SHA = load_card("jp-default").sha256


@dataclass(frozen=True)
class Err:
    """An expected error: a fragment of its message."""

    text: str


def serial(d: str) -> int:
    """Excel's serial number for an ISO date (what Office.js sends for a date cell)."""
    return (date.fromisoformat(d) - EXCEL_EPOCH).days


CASES: list[tuple[str, str, list[Any], Any]] = [
    # time charge
    ("timecharge", "XLP_TIMECHARGE", [50000, 12], 600_000),                 # consulting std
    ("timecharge-rounds-down", "XLP_TIMECHARGE", [4623.66, 3], 13_870),     # 13,870.98
    ("timecharge-card-rounding", "XLP_TIMECHARGE", [33333.5, 3, "full-features"], 100_000),
    ("timecharge-column", "XLP_TIMECHARGE", [[[50000], [30000], [4623]], [[12], [0.5], [186]]],
     [[600_000], [15_000], [859_878]]),
    ("timecharge-one-rate-many-hours", "XLP_TIMECHARGE", [30000, [[1], [2]]],
     [[30_000], [60_000]]),
    ("err-timecharge-rows", "XLP_TIMECHARGE", [[[1], [2]], [[1], [2], [3]]],
     Err("hours = '3 rows': expected as many rows as the rates (2), or one value")),
    ("effort-hours", "XLP_EFFORT_HOURS", [1860, 0.1, 12], 186),
    ("effort-hours-monthly", "XLP_EFFORT_HOURS", [1860, 0.1, 1], 15.5),
    ("standard-rate", "XLP_STANDARD_RATE", [9_300_000], 5000),              # ÷ 1,860 h
    ("standard-rate-to-the-yen", "XLP_STANDARD_RATE", [8_600_000], 4623),   # 4,623.66
    ("standard-rate-hours", "XLP_STANDARD_RATE", [8_250_000, 1650], 5000),
    ("rate-rank", "XLP_RATE", ["professor"], 30_000),
    # a rank the card prices by salary only has no rank-table rate: refused as quote does
    ("err-rate-salary-only-rank", "XLP_RATE", ["associate_professor", "full-features"],
     Err("rate_source = 'rank': expected 'salary' (rank 'associate_professor' has only a "
         "salary in card 'full-features')")),
    # F&A, indirect, strategic
    ("fa-rate-harvard", "XLP_FA_RATE", ["research", "on", None, "harvard"], 0.69),
    ("fa-rate-princeton-off", "XLP_FA_RATE", ["research", "off", None, "princeton"], 0.26),
    ("fa-rate-dated-text", "XLP_FA_RATE",
     ["research", "on", None, "full-features", "2028-04-01"], 0.32),
    ("fa-rate-dated-serial", "XLP_FA_RATE",
     ["research", "on", None, "full-features", serial("2027-04-01")], 0.30),
    ("fa-rate-field", "XLP_FA_RATE", ["research", "on", "natural_sciences", "full-features"],
     0.40),
    ("fa-mit", "XLP_FA", [10_000_000, "research", "on", None, "mit"], 5_470_000),
    ("fa-default-other-off", "XLP_FA", [1_000_000, "other", "off"], 100_000),
    ("fa-dated", "XLP_FA", [1_000_000, "research", "on", None, "full-features", "2028-04-01"],
     320_000),
    ("apply-rate", "XLP_APPLY_RATE", [10_420_000, 0.1], 1_042_000),
    ("apply-rate-card", "XLP_APPLY_RATE", [1_155_000, 0.1, "full-features"], 116_000),
    ("indirect", "XLP_INDIRECT", [5_000_000], 1_500_000),
    ("indirect-rate", "XLP_INDIRECT", [333_333, 0.3], 99_999),
    ("strategic", "XLP_STRATEGIC", [5_000_000], 500_000),
    # approach B
    ("total-indirect", "XLP_TOTAL_INDIRECT", [10_000_000, 5_000_000], 5_000_000),
    ("total-ratio", "XLP_TOTAL_RATIO", [10_000_000, 5_000_000], 1),
    # approach C
    ("royalty-range", "XLP_ROYALTY", [[100_000_000, 200_000_000], 0.03, 0.5], 4_500_000),
    ("royalty-one-cell", "XLP_ROYALTY", [[100_000_000], 0.03], 3_000_000),
    ("milestones", "XLP_MILESTONES", [[1_000_000, 2_000_000, 4_000_000], [True, False, True]],
     5_000_000),
    ("success-fee", "XLP_SUCCESS_FEE", [5_600_000, 3_375_000, 2_000_000, 1_000_000, 500_000],
     12_475_000),
    ("success-fee-floor-only", "XLP_SUCCESS_FEE", [5_600_000], 5_600_000),
    # tax, proceeds, provenance
    ("tax-credit", "XLP_TAX_CREDIT", [10_000_000], 3_000_000),              # 30%
    ("tax-credit-below-minimum", "XLP_TAX_CREDIT", [900_000, "full-features"], 0),
    ("allocate-components", "XLP_ALLOCATE",
     [[["direct", 5_000_000], ["indirect", 1_500_000], ["strategic", 500_000]]],
     [["component", "amount", "researcher", "lab", "department", "university", "reserve"],
      ["direct", 5_000_000, 0, 5_000_000, 0, 0, 0],
      ["indirect", 1_500_000, 0, 0, 750_000, 750_000, 0],
      ["strategic", 500_000, 0, 0, 0, 350_000, 150_000],
      ["total", 7_000_000, 0, 5_000_000, 750_000, 1_100_000, 150_000]]),
    # costing rules (figures with floors and caps: tests/test_costing.py)
    ("fte", "XLP_FTE", [220, 12, "full-features"], 0.1333),   # 220 ÷ 1,650 h
    ("floor-needs-terms-the-card-has", "XLP_FLOOR", [5_200_000, "exclusive"],
     Err("ip_terms = 'exclusive': expected IP terms with a price floor in card "
         "'jp-default' (none)")),
    ("under-recovery", "XLP_UNDER_RECOVERY", [1_000_000, 0.547, 0.15], 397_000),
    # the card's fees, consumption tax and MTDC (issue 16: each rule in a function)
    # KEK: 432,000 a year per company researcher × 2 = 864,000
    ("research-fee-kek", "XLP_RESEARCH_FEE",
     ["research_fee", serial("2027-04-01"), serial("2028-03-31"), 2, "kek"], 864_000),
    # Kyoto, 18 months from 2027-10-01: 440,000 for the first year + 220,000 for the six
    # months left (≤ 6 months: the short amount) = 660,000
    ("research-fee-kyoto-short-period", "XLP_RESEARCH_FEE",
     ["research_fee", "2027-10-01", "2029-03-31", None, "kyoto"], 660_000),
    ("err-research-fee-name", "XLP_RESEARCH_FEE",
     ["nope", "2027-04-01", "2028-03-31", 1, "kek"],
     Err("name = 'nope': expected a fees name of card 'kek': research_fee")),
    ("err-research-fee-period", "XLP_RESEARCH_FEE",
     ["research_fee", "2028-04-01", "2027-03-31", 1, "kek"], Err("end = 2027-03-31")),
    # NITech: 300,000 (2 faculty) + 500,000 (200 m²) + 100,000 (1 extra staff) = 900,000 a
    # month × 12 = 10,800,000
    ("unit-fee-nitech", "XLP_UNIT_FEE",
     ["endowed_lab", "2027-04-01", "2028-03-31",
      [["faculty", 2], ["space_m2", 200], ["extra_staff", 1]], "nitech"], 10_800_000),
    # 230 m²: 3 started steps of 10 m² above 200 → 500,000 + 60,000; 6 months:
    # (300,000 + 560,000) × 6 = 5,160,000
    ("unit-fee-nitech-space-steps", "XLP_UNIT_FEE",
     ["endowed_lab", "2027-04-01", "2027-09-30", [["space_m2", 230]], "nitech"], 5_160_000),
    ("consumption-tax-nagasaki", "XLP_CONSUMPTION_TAX",
     [7_000_000, "joint", None, None, "nagasaki"], 700_000),                    # 10%
    # Yamaguchi taxes the consulting fee only (components = time_charge)
    ("consumption-tax-yamaguchi-fee", "XLP_CONSUMPTION_TAX",
     [100_000, "consulting", None, "time_charge", "yamaguchi"], 10_000),
    ("consumption-tax-yamaguchi-expenses", "XLP_CONSUMPTION_TAX",
     [100_000, "consulting", None, "direct", "yamaguchi"], 0),
    # Otaru: 10,000 yen/h including tax before 2025-10-01: 110,000 contains 10,000
    ("tax-included-otaru-before", "XLP_TAX_INCLUDED",
     [110_000, "consulting", "2025-04-01", "otaru"], 10_000),
    ("tax-included-otaru-after", "XLP_TAX_INCLUDED",
     [110_000, "consulting", "2025-10-01", "otaru"], 0),
    # Harvard, award 2025-04 (50,000 USD = 7,500,000 yen of each subaward): subaward S1
    # 5,000,000 + 5,000,000 counts 5,000,000 + 2,500,000; equipment excluded; consumables
    # 100,000 → 7,600,000
    ("mtdc-harvard-subaward-once", "XLP_MTDC",
     [[["subaward", 5_000_000, 2025, "S1"], ["subaward", 5_000_000, 2026, "S1"],
       ["equipment", 900_000, None, None], ["consumables", 100_000, None, None]],
      "2025-04-01", "2027-03-31", "harvard"], 7_600_000),
    ("err-mtdc-amount", "XLP_MTDC",
     [[["consumables", -5, None, None]], "2025-04-01", "2026-03-31", "harvard"],
     Err("items row 1 (amount) = -5")),
    ("card", "XLP_CARD", [], [["id", "jp-default"], ["version", "2026.1"], ["sha256", JP_SHA]]),
    ("quote-x", "XLP_QUOTE",
     [{"id": "Q", "contract": "joint", "approach": "X", "start": serial("2027-04-01"),
       "end": serial("2028-03-31"), "direct.consumables": 5_000_000}],
     [["項目 / component", "金額 / amount"], ["直接経費 / Direct costs: consumables", 5_000_000],
      ["間接経費 / Indirect costs", 1_500_000],                 # 30% of 5,000,000
      ["戦略的産学連携経費 / Strategic collaboration expense", 500_000],   # 10%
      ["合計 / total", 7_000_000]]),
    # issue 14: the Japanese names are the codes (受託研究 = sponsored, 教授 = professor)
    ("quote-japanese-names", "XLP_QUOTE",
     [{"id": "Q", "contract": "受託研究", "approach": "A", "location": "学内",
       "start": serial("2027-04-01"), "end": serial("2028-03-31"),
       "researchers.1.rank": "教授", "researchers.1.hours": 10}],
     # 30,000 × 10 h = 300,000; F&A 30% of direct + time charge = 90,000; strategic 10% of
     # direct (0) = 0
     [["項目 / component", "金額 / amount"],
      ["タイムチャージ / Time charge: professor", 300_000],
      ["F&A（施設・管理経費） / F&A costs", 90_000],
      ["戦略的産学連携経費 / Strategic collaboration expense", 0],
      ["合計 / total", 390_000]]),
    # bad input: an error naming the argument, the value and what was expected
    ("err-unknown-rank", "XLP_RATE", ["dean"],
     Err("rank = 'dean': expected a rank of card 'jp-default': professor")),
    ("err-unknown-card", "XLP_RATE", ["professor", "nope"], Err("card = 'nope': expected")),
    ("err-negative-hours", "XLP_TIMECHARGE", [50000, -1],
     Err("hours = -1: expected a number of hours >= 0")),
    ("err-text-for-number", "XLP_TIMECHARGE", ["abc", 1],
     Err("rate = 'abc': expected an hourly rate in yen >= 0")),
    ("err-bool-for-number", "XLP_INDIRECT", [True], Err("direct = true: expected")),
    ("err-total-below-direct", "XLP_TOTAL_INDIRECT", [4_000_000, 5_000_000],
     Err("total = 4000000: expected an agreed total >= direct costs (5,000,000 yen)")),
    ("err-milestone-flags", "XLP_MILESTONES", [[1, 2], [True]], Err("one flag per milestone")),
    ("err-flag-text", "XLP_MILESTONES", [[1], ["yes"]],
     Err("achieved[1] = 'yes': expected TRUE or FALSE")),
    ("err-fa-missing", "XLP_FA", [1, "research", "off", None, "stanford"],
     Err("an F&A rate for research/off in card 'stanford'")),
    ("err-royalty-rate", "XLP_ROYALTY", [[1], 3], Err("rate = 3: expected a royalty rate")),
    ("err-date", "XLP_FA_RATE", ["research", "on", None, None, "next spring"],
     Err("date = 'next spring': expected a date such as 2027-04-01")),
    ("err-quote-input", "XLP_QUOTE", [{"approach": "Q"}], Err("project.approach = 'Q'")),
    # issue 12 item 6: crashes (InvalidOperation, OverflowError) become messages
    ("err-timecharge-nan-text", "XLP_TIMECHARGE", ["NaN", 1], Err("rate = 'NaN': expected")),
    ("err-timecharge-inf-text", "XLP_TIMECHARGE", ["Infinity", 1],
     Err("rate = 'Infinity': expected")),
    ("err-timecharge-huge-text", "XLP_TIMECHARGE", ["1e999999", 1],
     Err("rate = '1e999999': expected an hourly rate in yen >= 0 (finite, below 10^15)")),
    ("err-timecharge-overflow", "XLP_TIMECHARGE", [1e308, 1e308],
     Err("rate = 1e+308: expected an hourly rate in yen >= 0 (finite, below 10^15)")),
    ("err-fa-rate-date-1e9", "XLP_FA_RATE", ["research", "on", None, None, 1e9],
     Err("date = 1000000000.0: expected a date from 1900-01-01 to 9999-12-31")),
    ("err-quote-start-1e12", "XLP_QUOTE",
     [{"id": "Q", "contract": "joint", "approach": "X", "start": 1e12,
       "end": serial("2028-03-31"), "direct.consumables": 5_000_000}],
     Err("start = 1000000000000: expected a date from 1900-01-01 to 9999-12-31")),
    ("err-quote-start-99999999", "XLP_QUOTE",
     [{"id": "Q", "contract": "joint", "approach": "X", "start": 99999999,
       "end": serial("2028-03-31"), "direct.consumables": 5_000_000}],
     Err("start = 99999999: expected a date from 1900-01-01 to 9999-12-31")),
    ("err-quote-not-a-range", "XLP_QUOTE", ["approach"],
     Err("inputs row 1 = ['approach']: expected a (key, value) pair")),
    ("err-quote-key-twice", "XLP_QUOTE",
     [[["approach", "X"], ["contract", "joint"], ["approach", "B"]]],
     Err("approach = 'B': expected each key once (given before as 'approach')")),
    ("royalty-2d-range", "XLP_ROYALTY", [[[100_000_000, 100_000_000], [100_000_000, 0]], 0.03],
     9_000_000),                                         # old code: HTTP 500 (ndim=1)
    ("milestones-2d-range", "XLP_MILESTONES", [[[1, 2], [4, 8]], [[True, False], [True, True]]],
     13),
    ("err-quote-key-nested-without-end", "XLP_QUOTE", [{".".join(["a"] * 20_000): 1}],
     Err("inputs row 1 key = 'a.a.a")),                  # old code: RecursionError
    # issue 12 item 8: the functions refuse what files refuse
    ("err-effort-above-one", "XLP_EFFORT_HOURS", [1860, 2, 12],
     Err("effort = 2: expected a number <= 1")),
    ("err-months-beyond-600", "XLP_EFFORT_HOURS", [1860, 0.1, 601],
     Err("months = 601: expected a number <= 600")),
    ("err-months-zero", "XLP_EFFORT_HOURS", [1860, 0.1, 0], Err("months = 0: expected a number > 0")),
    ("err-annual-hours-beyond-a-year", "XLP_EFFORT_HOURS", [9000, 0.1, 12],
     Err("annual_hours = 9000: expected a number <= 8784")),
    ("err-indirect-rate-above-5", "XLP_INDIRECT", [1e6, 30],
     Err("rate = 30: expected a number <= 5 (rates are fractions: 0.30 means 30%)")),
    ("err-indirect-rate-places", "XLP_INDIRECT", [1e6, 0.30001],
     Err("rate = 0.30001: expected a number with at most 4 decimal places")),
    ("err-apply-rate-above-5", "XLP_APPLY_RATE", [1e6, 10], Err("rate = 10: expected a number <= 5")),
    ("err-allocate-number-component", "XLP_ALLOCATE", [[[1, 2]]],
     Err("amounts row 1 component = 1: expected a component name")),
]
IDS = [c[0] for c in CASES]


def same(got: Any, expected: Any) -> bool:
    """Equal as Excel sees it: numbers by value (int or float), tables cell by cell."""
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(
            same(g, e) for g, e in zip(got, expected))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(got, (int, float)) and abs(got - expected) < 1e-9
    return got == expected


# -- layer 1: plain Python ----------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_plain_python_call(case):
    import xlwings as xw

    from xl_pricing import udfs
    _, func, args, expected = case
    fn = getattr(udfs, func)

    def as_excel(result: Any) -> Any:
        # what xlwings' DataFrame converter (``@xw.ret(index=False)``) writes to the sheet
        if isinstance(result, pd.DataFrame):
            return [list(result.columns), *result.values.tolist()]
        return result

    if isinstance(expected, Err):
        # Outside xlwings Server bad input stays the engine's InputError (desktop Excel
        # shows any exception alike); the server path below turns it into XlwingsError.
        with pytest.raises(InputError) as e:
            fn(*args)
        assert not isinstance(e.value, xw.XlwingsError)
        assert expected.text in str(e.value)
        assert "Traceback" not in str(e.value)
    else:
        assert same(as_excel(fn(*args)), expected), fn(*args)


def test_every_function_has_a_case():
    from xl_pricing import udfs
    assert set(udfs.__all__) == {c[1] for c in CASES}
    assert len(udfs.__all__) >= 17


def test_no_pricing_math_in_the_udf_module():
    src = (Path(__file__).parent.parent / "xl_pricing" / "udfs.py").read_text("utf-8")
    body = src.split('"""', 2)[2]
    for op in (" * ", " / ", "sum("):
        assert op not in body, f"{op!r} in udfs.py: arithmetic belongs in the engine"


def test_timecharge_is_one_path_with_every_check():
    """One path for cells and columns: whatever comes (a negative, ±inf, NaN, TRUE, text)
    gets the argument checks, alone or inside a column."""
    from xl_pricing import udfs
    assert udfs.XLP_TIMECHARGE(50000.0, 12.5) == 625_000
    assert udfs.XLP_TIMECHARGE(50000.0, -0.0) == 0
    for bad in (-12.5, -1.0, float("inf"), float("-inf"), float("nan"), True, "x", "NaN"):
        with pytest.raises(InputError, match="hours = "):
            udfs.XLP_TIMECHARGE(50000.0, bad)
        with pytest.raises(InputError, match="rate = "):
            udfs.XLP_TIMECHARGE(bad, 12.5)
        with pytest.raises(InputError, match=r"hours\[2\] = "):
            udfs.XLP_TIMECHARGE(50000.0, [[1.0], [bad]])


def test_an_empty_range_is_refused():
    """Old code: IndexError."""
    from xl_pricing import udfs
    with pytest.raises(InputError, match="rate = 'an empty range'"):
        udfs.XLP_TIMECHARGE([], [[1]])
    with pytest.raises(InputError, match="hours = 'an empty range'"):
        udfs.XLP_TIMECHARGE(1, [[]])


def test_numpy_scalars_are_numbers():
    """Old code: ``np.float64`` went through ``repr`` (``np.float64(12.5)``) and failed."""
    import numpy as np

    from xl_pricing import udfs
    assert udfs.XLP_TIMECHARGE(np.float64(50000), np.float64(12.5)) == 625_000
    assert udfs.XLP_INDIRECT(np.int64(5_000_000), np.float64(0.3)) == 1_500_000
    assert udfs.XLP_EFFORT_HOURS(np.float64(1860), np.float64(0.1), np.int64(12)) == 186
    assert udfs.XLP_FA_RATE("research", "on", None, None, np.float64(46478)) == 0.3
    with pytest.raises(InputError, match="hours = nan"):
        udfs.XLP_TIMECHARGE(np.float64(1), np.float64("nan"))


def test_no_memo_tables_fast_paths_or_library_patches():
    """Issue 13 item 3: thin functions; one number converter (xl_pricing.cells)."""
    import xlwings.utils

    from xl_pricing import cells, udfs
    for gone in ("_number", "_decimal", "_nonneg", "_DECIMALS", "_DECIMALS_GET", "_missing",
                 "checked_card"):
        assert not hasattr(udfs, gone), gone
    assert udfs.number is cells.number and udfs.nonnegative is cells.nonnegative
    # importing the functions leaves xlwings as it is (no is_jsnull replacement)
    assert xlwings.utils.is_jsnull.__module__ == "xlwings.utils"
    src = (Path(__file__).parent.parent / "xl_pricing" / "udfs.py").read_text("utf-8")
    assert "is_jsnull" not in src and "import ast" not in src


def test_converters_are_plain_data_for_real_parameters():
    import inspect

    from xl_pricing import udfs
    assert set(udfs.CONVERTERS) <= set(udfs.__all__)
    for name, options in udfs.CONVERTERS.items():
        params = set(inspect.signature(getattr(udfs, name)).parameters)
        assert set(options) - {"return"} <= params, name
        for opts in options.values():
            assert set(opts) <= {"ndim", "convert", "index", "header"}, (name, opts)
    assert udfs.CONVERTERS["XLP_QUOTE"]["inputs"] == {"ndim": 2}  # a repeated key is seen
    assert udfs.CONVERTERS["XLP_ALLOCATE"]["return"] == {"index": False}


def test_an_edited_default_card_reaches_the_functions(tmp_path, monkeypatch):
    """Every call looks at the card file (one stat): an edit, or a jp-default.toml dropped
    into XL_PRICING_RATES, is used by the next call."""
    from conftest import RATES
    from xl_pricing import udfs
    assert udfs.XLP_TIMECHARGE(1001.0, 1.5) == 1501  # shipped card: 1501.5, rounded down
    monkeypatch.setenv("XL_PRICING_RATES", str(tmp_path))
    card = tmp_path / "jp-default.toml"
    text = (RATES / "jp-default.toml").read_text("utf-8")
    card.write_text(text.replace('rule = "down"', 'rule = "up"'), "utf-8")
    assert udfs.XLP_TIMECHARGE(1001.0, 1.5) == 1502  # the dropped-in card: rounded up
    card.write_text(text, "utf-8")
    assert udfs.XLP_TIMECHARGE(1001.0, 1.5) == 1501  # edited back


def test_desktop_functions_keep_card_paths(tmp_path):
    from conftest import RATES
    from xl_pricing import udfs
    p = tmp_path / "mine.toml"
    p.write_text((RATES / "jp-default.toml").read_text("utf-8"), "utf-8")
    assert udfs.XLP_CARD(str(p))[0] == ["id", "jp-default"]


# -- layer 2: xlwings' server code paths ------------------------------------------------------

@pytest.fixture
def server_mode():
    with server_modules() as mods:
        yield mods


def test_meta_lists_every_function_with_help(server_mode):
    meta = server_mode.server.custom_functions_meta(server_mode.udfs)
    funcs = {f["id"]: f for f in meta["functions"]}
    assert set(funcs) == set(server_mode.udfs.__all__)
    for fid, f in funcs.items():
        assert f["name"] == fid.removeprefix("XLP_")          # shown as XLP.<name>
        assert len(f["description"]) > 20
        for p in f["parameters"]:
            assert p["description"] and not p["description"].startswith("Positional"), \
                (fid, p)
    fa_rate = {p["name"]: p for p in funcs["XLP_FA_RATE"]["parameters"]}
    assert [n for n, p in fa_rate.items() if p.get("optional")] == ["field", "card", "date"]
    assert "optional" not in fa_rate["activity"]
    quote_params = [p["name"] for p in funcs["XLP_QUOTE"]["parameters"]]
    assert quote_params == ["inputs", "card"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_custom_functions_call_contract(server_mode, case):
    _, func, args, expected = case
    data = payload(func, args)
    call = server_mode.server.custom_functions_call(data, server_mode.udfs)
    if isinstance(expected, Err):
        with pytest.raises(server_mode.xw.XlwingsError) as e:
            asyncio.run(call)
        assert expected.text in str(e.value)
    else:
        result = asyncio.run(call)
        assert isinstance(result, list) and all(isinstance(r, list) for r in result)
        assert same(unwrap(result), expected), result


def test_server_decorations_are_made_from_converters(server_mode):
    """What xlwings Server uses (``__xlfunc__``) is exactly udfs.CONVERTERS."""
    udfs = server_mode.udfs
    for name in udfs.__all__:
        xlf = getattr(udfs, name).__xlfunc__
        options = udfs.CONVERTERS.get(name, {})
        assert xlf["ret"]["options"] == options.get("return", {}), name
        for arg in xlf["args"]:
            assert arg["options"] == options.get(arg["name"], {}), (name, arg["name"])


@pytest.mark.parametrize("args,given", [([], "0 arguments"), ([[[1]]], "1 arguments"),
                                        ([[[1]], [[2]], None, [[4]]], "4 arguments")])
def test_wrong_number_of_arguments_is_a_client_error(server_mode, args, given):
    """Old code: TypeError, HTTP 500 (retried by the add-in)."""
    data = payload("XLP_TIMECHARGE", [])
    data["args"] = args
    with pytest.raises(server_mode.xw.XlwingsError,
                       match=f"XLP_TIMECHARGE = '{given}': expected the arguments "
                             r"\(rate, hours, \[card\]\)"):
        asyncio.run(server_mode.server.custom_functions_call(data, server_mode.udfs))


@pytest.mark.parametrize("ref", ["/etc/passwd", "../templates/rates/jp-default",
                                 "jp-default.toml", "/dev/zero", str(Path(__file__))])
def test_server_cards_are_ids_never_paths(server_mode, ref):
    data = payload("XLP_CARD", [ref])
    with pytest.raises(server_mode.xw.XlwingsError, match="card = .*expected a card id"):
        asyncio.run(server_mode.server.custom_functions_call(data, server_mode.udfs))
    ok = asyncio.run(server_mode.server.custom_functions_call(payload("XLP_CARD", ["mit"]),
                                                              server_mode.udfs))
    assert ok[0] == ["id", "mit"]


def test_omitted_optionals_are_null(server_mode):
    data = payload("XLP_FA_RATE", ["research", "on"])
    data["args"] += [None, None, None]                  # field, card, date left out
    result = asyncio.run(server_mode.server.custom_functions_call(data, server_mode.udfs))
    assert result == [[0.3]]


def test_server_mode_is_put_back_after_each_use(xlwings_server_app):
    """Server mode lasts as long as its block (a per-test fixture): afterwards plain calls
    are desktop ones again, whichever test a pytest-xdist worker runs next.  (A
    module-scoped fixture once left XLWINGS_ON_SERVER set for plain tests stolen from this
    file: InputError came back as XlwingsError.)  xlwings Server's app, started once, is
    running meanwhile."""
    import xlwings as desktop_xw

    before = os.environ.get("XLWINGS_ON_SERVER")
    for _ in range(2):                    # the second time from the imported modules
        with server_modules() as mods:
            assert mods.udfs.on_server() and mods.xw is not desktop_xw
            with pytest.raises(mods.xw.XlwingsError, match="expected a card id"):
                mods.udfs.XLP_CARD(str(RATES / "mit.toml"))
        from xl_pricing import udfs
        assert os.environ.get("XLWINGS_ON_SERVER") == before and not udfs.on_server()
        assert udfs.XLP_CARD(str(RATES / "mit.toml")) == udfs.XLP_CARD("mit")


# -- layer 3: xlwings Server ---------------------------------------------------------------

@pytest.fixture(scope="session")
def xlwings_server_app():
    """xlwings Server's app, started once per process (its startup is most of a call's
    time); each test still runs it in server mode (``server_mode``)."""
    if importlib.util.find_spec("xlwings_server") is None:
        pytest.skip("the optional [server] extra")
    with started_client("xlwings_server.main", "main_app") as client:
        yield client


@pytest.fixture
def server_client(server_mode, xlwings_server_app):
    return xlwings_server_app


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_xlwings_server_http(server_client, case):
    _, func, args, expected = case
    r = server_client.post("/xlwings/custom-functions-call", json=payload(func, args))
    if isinstance(expected, Err):
        assert r.status_code == 400, r.text        # a client error: the add-in won't retry
        assert expected.text in r.text
    else:
        assert r.status_code == 200, r.text
        assert same(unwrap(r.json()["result"]), expected), r.text


def test_xlwings_server_manifest_namespace(server_client):
    meta = server_client.get("/xlwings/custom-functions-meta").json()
    assert {f["name"] for f in meta["functions"]} >= {"TIMECHARGE", "QUOTE", "FA"}
    manifest = server_client.get("/manifest.xml").text
    assert 'DefaultValue="XLP"' in manifest                # so Excel shows XLP.TIMECHARGE


def test_real_server_on_loopback(tmp_path):
    # Only look for the extra: importing xlwings_server here would switch this process's
    # xlwings into server mode.
    if importlib.util.find_spec("xlwings_server") is None:
        pytest.skip("the optional [server] extra")
    import xlwings
    body = json.dumps({**payload("XLP_TIMECHARGE", [50000, 12]),
                       "version": xlwings.__version__}).encode()
    with serving(tmp_path) as url:
        status, text = post(url, body)
    assert status == 200 and json.loads(text)["result"] == [[600000]]


# -- XLP_QUOTE agrees with `xl-pricing quote --json` ------------------------------------------

def _excel_inputs(path: Path) -> dict[str, Any]:
    """A project file as the two-column range an office would type: dates as serials."""
    data = tomllib.loads(path.read_text("utf-8"))
    return {k: (serial(v.isoformat()) if isinstance(v, date) else v)
            for k, v in project_to_pairs(data)}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_quote_matches_cli(path, server_mode):
    cli = json.loads(CliRunner().invoke(app, ["quote", str(path), "--json"]).stdout)
    inputs = _excel_inputs(path)
    result = asyncio.run(server_mode.server.custom_functions_call(
        payload("XLP_QUOTE", [inputs]), server_mode.udfs))
    assert result[-1] == ["合計 / total", cli["total"]]
    assert [r[1] for r in result[1:-1]] == [line["amount"] for line in cli["lines"]]
    assert [r[0] for r in result[1:-1]] == [
        " / ".join(LABELS[line["component"]])
        + (f": {line['detail']}" if line["detail"] else "") for line in cli["lines"]]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_quote_plain_matches_cli(path):
    from xl_pricing import udfs
    cli = json.loads(CliRunner().invoke(app, ["quote", str(path), "--json"]).stdout)
    assert udfs.XLP_QUOTE(_excel_inputs(path))[-1] == ["合計 / total", cli["total"]]


# -- a standing battery: any cell values give a result or an InputError, nothing else -----

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xl_pricing import udfs as desktop_udfs  # noqa: E402 - imported at collection: desktop mode

_cell = st.none() | st.booleans() | st.floats() | st.integers(-10**20, 10**20) | \
    st.sampled_from(["", " ", "NaN", "Infinity", "1e999999", "mit", "full-features",
                     "research", "on", "professor", "associate_professor", "direct",
                     "2027-04-01", "¥1,000,000", "１０００", "/etc/passwd", "approach"]) | \
    st.text(max_size=12)
_arg = _cell | st.lists(st.lists(_cell, min_size=1, max_size=3), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(func=st.sampled_from(sorted(__import__("xl_pricing.udfs").udfs.__all__)),
       args=st.lists(_arg, max_size=6))
def test_any_arguments_give_a_value_or_an_input_error(func, args):
    import inspect

    fn = getattr(desktop_udfs, func)
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return  # a wrong count is Python's TypeError here; under the server it is a 400
    try:
        fn(*args)
    except InputError as exc:
        assert exc.message and "Traceback" not in exc.message


# -- issue 14 item 7: XLP_QUOTE typed as an ordinary formula spills, in both languages -------

X_INPUTS = {"id": "Q", "contract": "joint", "approach": "X", "start": serial("2027-04-01"),
            "end": serial("2028-03-31"), "direct.consumables": 5_000_000}


def test_quote_is_declared_to_spill_a_matrix(server_mode):
    """Office.js spills what a custom function declared as a matrix returns: an ordinary
    formula =XLP.QUOTE(A1:B6) fills its rows (no array formula, no #VALUE!)."""
    meta = server_mode.server.custom_functions_meta(server_mode.udfs)
    quote_meta = {f["id"]: f for f in meta["functions"]}["XLP_QUOTE"]
    assert quote_meta["result"]["dimensionality"] == "matrix"
    assert quote_meta["parameters"][0]["dimensionality"] == "matrix"
    # as the add-in posts a two-column range typed in a sheet: 6 rows of (key, value)
    result = asyncio.run(server_mode.server.custom_functions_call(
        payload("XLP_QUOTE", [X_INPUTS]), server_mode.udfs))
    assert isinstance(result, list) and all(isinstance(r, list) and len(r) == 2
                                            for r in result)
    assert result[0] == ["項目 / component", "金額 / amount"]
    assert result[-1] == ["合計 / total", 7_000_000]          # 5,000,000 × 1.4 (X: 30% + 10%)


def test_quote_error_is_one_readable_text_under_the_server(server_mode):
    """What it cannot price is xlwings' error text (HTTP 400, not retried): the message,
    naming the key, the value and what was expected."""
    from xlwings import XlwingsError
    with pytest.raises(XlwingsError, match=r"project.contract = '共同開発': expected one of "
                                           r"'joint', 'sponsored' or 'consulting'"):
        server_mode.udfs.XLP_QUOTE([[k, v] for k, v in {**X_INPUTS,
                                                         "contract": "共同開発"}.items()])


def test_xlp_allocate_reads_xlp_quote_rows():
    """XLP_ALLOCATE(XLP_QUOTE(...)) splits by component although the rows are labelled in
    Japanese and English: the X quote's 5,000,000 direct, 1,500,000 indirect, 500,000
    strategic split as the component rows of the allocate-components case above."""
    from xl_pricing import udfs
    out = udfs.XLP_ALLOCATE(udfs.XLP_QUOTE(X_INPUTS))
    assert out.values.tolist()[:3] == [["direct", 5_000_000, 0, 5_000_000, 0, 0, 0],
                                       ["indirect", 1_500_000, 0, 0, 750_000, 750_000, 0],
                                       ["strategic", 500_000, 0, 0, 0, 350_000, 150_000]]
    assert out.values.tolist()[-1] == ["total", 7_000_000, 0, 5_000_000, 750_000,
                                       1_100_000, 150_000]


def test_quote_with_japanese_ranks_matches_codes():
    from xl_pricing import udfs
    base = {**X_INPUTS, "approach": "A", "researchers.1.hours": 10}
    coded = udfs.XLP_QUOTE({**base, "contract": "sponsored", "researchers.1.rank": "professor"})
    named = udfs.XLP_QUOTE({**base, "contract": "受託研究", "researchers.1.rank": "教授"})
    assert named == coded
