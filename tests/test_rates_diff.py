"""`rates diff`: what changed between two versions of a card, and the quotes and workbooks
made with the old one, re-priced with the new one (xl_pricing/rates/diff.py)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import PROJECTS, RATES
from xl_pricing import load_card, load_project
from xl_pricing.cli import app
from xl_pricing.rates.diff import ABSENT, diff_cards, scan, show
from xl_pricing.readback import workbook_project
from xl_pricing.workbook import build

runner = CliRunner()
JP = (RATES / "jp-default.toml").read_text(encoding="utf-8")


def changed_copy(tmp_path: Path, text: str | None = None, name: str = "new") -> Path:
    """jp-default as next year's version: indirect 0.30 → 0.35 from 2027-04-01."""
    if text is None:
        text = JP.replace('version = "2026.1"', 'version = "2027.1"', 1)
        text = text.replace("effective_from = 2026-04-01", "effective_from = 2027-04-01", 1)
        text = re.sub(r"(\[indirect\][^\[]*?)rate = 0\.30", r"\1rate = 0.35", text, count=1)
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    path = folder / "jp-default.toml"
    path.write_text(text, encoding="utf-8")
    return path


def rows(changes) -> dict[str, tuple[object, object]]:
    return {c.path: (c.old, c.new) for c in changes}


def test_indirect_rate_version_and_date_are_the_only_changes(tmp_path):
    old, new = load_card("jp-default"), load_card(changed_copy(tmp_path))
    assert rows(diff_cards(old, new)) == {
        "card.version": ("2026.1", "2027.1"),
        "card.effective_from": (old.model.card.effective_from, new.model.card.effective_from),
        "indirect.rate": (Decimal("0.30"), Decimal("0.35"))}
    assert [c.kind for c in diff_cards(old, new)] == ["changed"] * 3
    assert diff_cards(old, old) == []
    # The same rate spelled 0.3 instead of 0.30 is no change.
    same = JP.replace("[indirect]           # approach X: indirect = direct × rate\nrate = 0.30",
                      "[indirect]\nrate = 0.3", 1)
    assert same != JP
    assert diff_cards(old, load_card(changed_copy(tmp_path, same, "same"))) == []


def test_entries_added_removed_and_changed_are_found_without_a_list_of_keys(tmp_path):
    text = JP.replace("[options.data_provision]", "[options.unused]", 1)  # renamed option
    # An F&A entry changed (research/off 0.15 → 0.20) and a dated one added before it.
    text = text.replace('activity = "research"\nlocation = "off"\nrate = 0.15',
                        'activity = "research"\nlocation = "on"\nrate = 0.35\n'
                        'effective_from = 2027-07-01\n[[fa.rates]]\n'
                        'activity = "research"\nlocation = "off"\nrate = 0.20', 1)
    # Settings a sibling rule added to the schema: a 研究料 and conditional indirect rates.
    text += ("\n[fees.research_fee]\namount = 432_000\n"
             "\n[[indirect.cases]]\nrate = 0.08\nwhen = { direct_at_most = 1_000_000 }\n")
    old, new = load_card("jp-default"), load_card(changed_copy(tmp_path, text))
    got = rows(diff_cards(old, new))
    assert got["fa.rates[research/off].rate"] == (Decimal("0.15"), Decimal("0.20"))
    assert got["fa.rates[research/on/2027-07-01].rate"] == (ABSENT, Decimal("0.35"))
    assert got["options.data_provision.amount"] == (Decimal(500_000), ABSENT)
    assert got["options.unused.amount"] == (ABSENT, Decimal(500_000))
    assert got["fees.research_fee.amount"] == (ABSENT, Decimal(432_000))
    assert got["indirect.cases[0].when.direct_at_most"] == (ABSENT, Decimal(1_000_000))
    assert got["indirect.cases[0].rate"] == (ABSENT, Decimal("0.08"))
    # The unchanged research/on row (no date) is not reported.
    assert not any(p.startswith("fa.rates[research/on].") for p in got)


def test_an_optional_table_set_on_one_side_is_added_setting_by_setting(tmp_path):
    text = JP.replace('[time_charge.laureate]\nhourly = 300000\nlabel = "Laureate tier (Nobel, '
                      'Fields, ...)"\n', "", 1)
    assert text != JP
    old, new = load_card(changed_copy(tmp_path, text)), load_card("jp-default")
    assert rows(diff_cards(old, new)) == {
        "time_charge.laureate.hourly": (ABSENT, Decimal(300_000)),
        "time_charge.laureate.label": (ABSENT, "Laureate tier (Nobel, Fields, ...)")}


def test_ordered_cases_compare_by_position(tmp_path):
    case = "\n[[indirect.cases]]\nrate = 0.08\nwhen = { direct_at_most = %d }\n"
    old = load_card(changed_copy(tmp_path, JP + case % 1_000_000, "a"))
    new = load_card(changed_copy(tmp_path, JP + case % 2_000_000, "b"))
    assert rows(diff_cards(old, new)) == {
        "indirect.cases[0].when.direct_at_most": (Decimal(1_000_000), Decimal(2_000_000))}


def test_values_read_as_in_a_card():
    assert show(Decimal("432000")) == "432,000"
    assert show(Decimal("0.350")) == "0.35"
    assert show(ABSENT) == "—"


@pytest.fixture()
def folder(tmp_path):
    """A scan folder: one quote JSON and one workbook made with jp-default, a workbook made
    with another card, a quote without inputs and a file that is no quote."""
    d = tmp_path / "sent"
    (d / "2027").mkdir(parents=True)
    x = PROJECTS / "x-cost-joint.toml"
    res = runner.invoke(app, ["quote", str(x), "--json"])
    assert res.exit_code == 0, res.output
    (d / "quote-x.json").write_text(res.stdout, encoding="utf-8")
    bare = json.loads(res.stdout)
    del bare["inputs"]
    (d / "old-quote.json").write_text(json.dumps(bare), encoding="utf-8")
    (d / "notes.json").write_text('{"hello": 1}', encoding="utf-8")
    a = load_project(PROJECTS / "a-stacked-sponsored.toml")
    build(load_card("jp-default"), a, "native", d / "2027")
    build(load_card("toyohashi"), load_project(x), "native", d)
    return d


def test_scan_reprices_what_the_old_card_made(folder, tmp_path):
    old, new = load_card("jp-default"), load_card(changed_copy(tmp_path))
    found = scan(folder, old, new)
    by_file = {a.file: a for a in found.affected}
    assert sorted(by_file) == ["2027/jp-default-A-2027-002-native.xlsx", "old-quote.json",
                               "quote-x.json"]
    assert found.other_files == 2  # the toyohashi workbook and notes.json
    # Quote X: direct 5,000,000; indirect 30% → 35% = 1,500,000 → 1,750,000; strategic 10%
    # of direct = 500,000 both times: 7,000,000 → 7,250,000 (+250,000).
    q = by_file["quote-x.json"]
    assert (q.project, q.old_total, q.new_total, q.difference) == \
        ("X-2027-001", 7_000_000, 7_250_000, 250_000)
    # The approach-A workbook prices F&A, not approach X's indirect: 15,287,828 before and
    # after (the jp-default example's total).
    w = by_file["2027/jp-default-A-2027-002-native.xlsx"]
    assert (w.kind, w.old_total, w.new_total) == ("workbook", 15_287_828, 15_287_828)
    # A quote without its inputs cannot be re-priced, and says so.
    bare = by_file["old-quote.json"]
    assert bare.new_total is None and "cannot re-price" in bare.note


def test_a_workbook_reads_back_the_project_it_was_built_for(tmp_path):
    a = load_project(PROJECTS / "a-stacked-sponsored.toml")
    path = build(load_card("jp-default"), a, "native", tmp_path)
    back = workbook_project(path)
    assert [(r.rank, r.hours) for r in back.researchers] == \
        [(r.rank, r.hours) for r in a.researchers]
    assert sum(d.amount for d in back.direct) == sum(d.amount for d in a.direct)
    assert back.project.contract == a.project.contract and back.options == a.options


def test_cli_table_json_and_errors(folder, tmp_path):
    new = changed_copy(tmp_path)
    res = runner.invoke(app, ["rates", "diff", "jp-default", str(new), "--scan", str(folder)])
    assert res.exit_code == 0, res.output
    assert "indirect.rate" in res.stdout and "0.35" in res.stdout
    assert "旧合計 / Old total" in res.stdout and "¥7,250,000" in res.stdout
    res = runner.invoke(app, ["rates", "diff", "jp-default", str(new), "--scan", str(folder),
                              "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["changes"][2] == {"path": "indirect.rate", "change": "changed", "old": 0.3,
                                 "new": 0.35}
    assert out["old"]["sha256"] == load_card("jp-default").sha256
    hit = next(a for a in out["scan"]["affected"] if a["file"] == "quote-x.json")
    assert (hit["old_total"], hit["new_total"], hit["difference"]) == \
        (7_000_000, 7_250_000, 250_000)
    res = runner.invoke(app, ["rates", "diff", "jp-default", str(new), "--scan",
                              str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "--scan" in res.output
    res = runner.invoke(app, ["rates", "diff", "jp-default", "no-such-card"])
    assert res.exit_code == 2 and "no-such-card" in res.output
