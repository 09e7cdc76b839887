"""The batch summary workbook (xl_pricing.batch.summary)."""

from __future__ import annotations

import zipfile

import pytest
from openpyxl import load_workbook

from xl_pricing.batch import SUMMARY_NAME, run_batch

from batch_util import HEAD_QUOTES, group, row, run_example, sheet, summary_value, write_csv


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    return run_example(tmp_path_factory)


def test_summary_has_a_chart_and_yen_format(example_run):
    wb = load_workbook(example_run.summary)
    ws = wb["Summary"]
    with zipfile.ZipFile(example_run.summary) as z:  # one chart part, on the Summary sheet
        assert [n for n in z.namelist() if n.startswith("xl/charts/")] == [
            "xl/charts/chart1.xml"]
    total = next(r[1] for r in ws.iter_rows() if r[0].value and "Total of all" in r[0].value)
    assert total.number_format == '"¥"#,##0'
    assert wb.sheetnames == ["Summary", "Quotes", "Errors"]


def test_formula_like_text_is_stored_as_text(tmp_path):
    rows = [row("T-1", title='=HYPERLINK("http://example.com","x")', department="+Dept"),
            row("T-2", title="@SUM(1)", department="-Dept"),
            row("T-3", "X", "=1+1", title="bad")]
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert r.written == 2
    wb = load_workbook(r.summary)
    titles = {c.value: c for c in wb["Quotes"]["C"][1:]}
    cell = titles['=HYPERLINK("http://example.com","x")']
    assert cell.data_type == "s" and cell.quotePrefix
    assert titles["@SUM(1)"].data_type == "s"
    depts = {c.value: c for c in wb["Summary"]["A"] if c.value in ("+Dept", "-Dept")}
    assert set(depts) == {"+Dept", "-Dept"} and all(c.data_type == "s" for c in
                                                    depts.values())
    value = wb["Errors"]["C2"]
    assert value.value == "=1+1" and value.data_type == "s"
    # No formula anywhere in the summary (a formula cell has data_type "f").
    assert not any(c.data_type == "f" for ws in wb for r_ in ws.iter_rows() for c in r_)


def test_share_of_large_contracts(tmp_path):
    # Approach B, joint: the total is the agreed amount (no consumption tax on the card).
    agreed = [9_999_999, 10_000_000, 10_000_001, 20_000_000, 5_000_000]
    rows = [row(f"B-{i}", "B", 1_000_000, agreed=a, contract="joint" if i % 2 else
                "sponsored") for i, a in enumerate(agreed)]
    r = run_batch(write_csv(tmp_path / "t.csv", rows), tmp_path / "out", workers=1,
                  progress=False)
    assert r.written == 5 and r.total == sum(agreed)
    assert summary_value(r, "Contracts ≥") == 3
    assert summary_value(r, "Share ≥") == pytest.approx(0.6)
    contracts = group(r, "contract")
    # sponsored: 9,999,999 / 10,000,001 / 5,000,000; joint: 10,000,000 / 20,000,000.
    assert contracts["joint"] == (2, 30_000_000, 2, 1)
    assert contracts["sponsored"][:3] == (3, 25_000_000, 1)
    assert contracts["sponsored"][3] == pytest.approx(1 / 3)


def test_empty_table_writes_an_empty_summary(tmp_path):
    table = write_csv(tmp_path / "t.csv", [])
    r = run_batch(table, tmp_path / "out", progress=False)
    assert (r.rows, r.written, r.failed, r.total) == (0, 0, 0, 0)
    assert summary_value(r, "Share ≥") is None
    assert sheet(r.summary, "Quotes") == [HEAD_QUOTES]


def test_sanitize_makes_any_text_fit_a_workbook():
    from xl_pricing.batch import sanitize

    assert sanitize("a\x00b\x0bc\x1f") == "a\\x00b\\x0bc\\x1f"
    assert sanitize("tab\tline\nok 触媒") == "tab\tline\nok 触媒"
    assert sanitize("\ufffe") == "\\ufffe"


def test_each_run_keeps_its_own_summary(tmp_path):
    from xl_pricing.batch.summary import write_summary

    first = write_summary(tmp_path, b"first")
    second = write_summary(tmp_path, b"second")     # another run finished first
    assert (first.name, second.name) == (SUMMARY_NAME, "summary-2.xlsx")
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert write_summary(tmp_path, b"new", replace=True) == first
    assert first.read_bytes() == b"new"
