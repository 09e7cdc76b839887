"""``xl-pricing check`` and ``map init`` on the office workbooks of tests/officebooks.py.

Clean books agree with the engine (exit 0); the planted wrong reference, typed rate and
bad total are found (exit 1) at the planted cell, which is reported as the origin of the
difference; bad input is exit 2 with one message.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path

import officebooks as ob
import pytest
from typer.testing import CliRunner

from xl_pricing import load_card
from xl_pricing.cli import app
from xl_pricing.office import load_map
from xl_pricing.office.check import check_against_engine, compare
from xl_pricing.office.finder import find_labels, label_parts

runner = CliRunner()
FOUND_BY_CHECK = ("wrong_ref", "typed_rate", "bad_total")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("office-check")
    for kind in ob.KINDS:
        ob.make(kind, d / f"{kind}.xlsx")
        ob.write_map(kind, d)
        ob.card_ref(kind, d)
        for err in FOUND_BY_CHECK:
            ob.make(kind, d / f"{kind}-{err}.xlsx", [err])
    return d


def check(folder: Path, kind: str, book: str, *extra: str):
    return runner.invoke(app, ["check", str(folder / book), "--map",
                               str(folder / f"{kind}.map.toml"), "--rates",
                               ob.card_ref(kind, folder), *extra])


@pytest.mark.parametrize("kind", ob.KINDS)
def test_a_clean_book_agrees_with_the_engine(folder, kind):
    res = check(folder, kind, f"{kind}.xlsx", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["agrees"] is True
    card = load_card(ob.card_ref(kind, folder))
    assert out["card"] == {"id": card.id, "version": card.version, "sha256": card.sha256}
    assert {o["key"]: o["engine"] for o in out["outputs"]} == ob.EXPECTED[kind]
    assert all(o["workbook"] == o["engine"] and o["difference"] == 0 for o in out["outputs"])
    assert set(out["outputs"][0]) >= {"key", "cell", "workbook", "engine", "difference",
                                      "agrees"}
    # what was read, cell by cell: the period is on every book
    read = {i["key"]: (i["cell"], i["value"]) for i in out["inputs"]}
    assert read["start"][1] == "2026-04-01"  # the cell holds serial 46113


@pytest.mark.parametrize("kind", ob.KINDS)
@pytest.mark.parametrize("err", FOUND_BY_CHECK)
def test_a_planted_error_is_found_at_its_cell(folder, kind, err):
    res = check(folder, kind, f"{kind}-{err}.xlsx", "--json")
    assert res.exit_code == 1, res.output
    out = json.loads(res.output)
    differing = [o for o in out["outputs"] if not o["agrees"]]
    planted = ob.PLANTED[kind][err]
    assert planted in [o["cell"] for o in differing if o["origin"]]


def test_the_wrong_indirect_reference_by_the_numbers(folder):
    # 間接経費 = (2,000,000 + 4,700,000) × 10% (the strategic rate F19) = 670,000 against
    # the engine's 2,010,000: −1,340,000 at '積算'!F20, and so on the form's ③ and 合計.
    m = load_map(folder / "joint_current.map.toml")
    result = check_against_engine(folder / "joint_current-wrong_ref.xlsx", m, load_card())
    diffs = {o.cell: int(o.difference) for o in result.differing}
    assert diffs == {"'積算'!F20": -1_340_000, "'申込書'!F12": -1_340_000,
                     "'申込書'!F14": -1_340_000}
    assert [o.cell for o in result.differing if o.origin] == ["'積算'!F20"]


def test_the_table_shows_both_languages_and_the_differing_cells(folder):
    res = check(folder, "us_budget", "us_budget-typed_rate.xlsx")
    assert res.exit_code == 1
    # F&A typed at 25%: 15,582,000 × 0.25 = 3,895,500 against 8,523,354 → −4,627,854
    assert "-4,627,854" in res.output and "F&A" in res.output
    assert "2 件不一致 / 2 differ" in res.output and "'Budget'!F21" in res.output
    ok = check(folder, "consulting_fee", "consulting_fee.xlsx")
    assert ok.exit_code == 0 and "すべて一致 / all agree" in ok.output


def test_a_non_number_in_an_output_cell_differs_binary_noise_does_not():
    o = compare("total", "'申込書'!F14", "#DIV/0!", Decimal(1))
    assert (o.agrees, o.difference) == (False, None)
    assert not compare("total", "x", None, Decimal(0)).agrees
    assert compare("total", "x", 8910000 + 3e-9, Decimal(8910000)).agrees  # 0.1 + 0.2 noise
    assert not compare("total", "x", 8910000.4, Decimal(8910000)).agrees


def test_bad_input_is_exit_2_with_one_message(folder, tmp_path):
    bad = tmp_path / "bad.map.toml"
    bad.write_text('[outputs]\ntotal = "\'見積\'!F14"\n', encoding="utf-8")
    res = runner.invoke(app, ["check", str(folder / "joint_current.xlsx"), "--map", str(bad)])
    assert res.exit_code == 2
    assert "outputs.total" in res.output and "a sheet of the workbook: 申込書, 積算" \
        in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["check", str(folder / "joint_current.xlsx"), "--map",
                              str(folder / "joint_current.map.toml"), "--rates", "nope"])
    assert res.exit_code == 2 and "--rates = 'nope'" in res.output
    res = runner.invoke(app, ["check", str(tmp_path / "none.xlsx"), "--map",
                              str(folder / "joint_current.map.toml")])
    assert res.exit_code == 2


# -- map init ---------------------------------------------------------------------------------

def test_label_parts_drop_box_numbers_and_notes():
    assert label_parts("④ 戦略的産学連携経費 / Strategic expense") == [
        "戦略的産学連携経費", "strategic expense"]
    assert label_parts("（1） 報酬") == ["報酬"]


def test_map_init_places_the_four_boxes_and_the_total(folder, tmp_path):
    out = tmp_path / "jc.map.toml"
    res = runner.invoke(app, ["map", "init", str(folder / "joint_current.xlsx"), "--out",
                              str(out)])
    assert res.exit_code == 0, res.output
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    assert data["outputs"] == {"form.direct": "'申込書'!F10", "form.academic": "'申込書'!F11",
                               "form.indirect": "'申込書'!F12",
                               "form.strategic": "'申込書'!F13", "total": "'申込書'!F14"}
    assert data["inputs"] == {"title": "'申込書'!D5", "start": "'申込書'!D6",
                              "end": "'申込書'!D7"}
    assert [(t["key"], t["range"]) for t in data["tables"]] == [
        ("researchers", "'積算'!B6:D8"), ("direct", "'積算'!B13:F15")]
    # what it could not place is said, in both languages
    assert "配置できません / not placed: '積算'!B11 直接経費 / Direct costs" in res.output
    # the starting map checks the clean book as it is
    res = runner.invoke(app, ["check", str(folder / "joint_current.xlsx"), "--map", str(out)])
    assert res.exit_code == 0, res.output


def test_map_init_never_replaces_a_map_without_force(folder, tmp_path):
    out = tmp_path / "m.toml"
    out.write_text("# mine\n", encoding="utf-8")
    res = runner.invoke(app, ["map", "init", str(folder / "us_budget.xlsx"), "--out", str(out)])
    assert res.exit_code == 2 and "--force" in res.output
    assert out.read_text(encoding="utf-8") == "# mine\n"
    res = runner.invoke(app, ["map", "init", str(folder / "us_budget.xlsx"), "--out",
                              str(folder / "us_budget.xlsx"), "--force"])
    assert res.exit_code == 2 and "never overwritten" in res.output


@pytest.mark.parametrize("kind", ["joint_new", "consulting_fee", "us_budget"])
def test_map_init_finds_the_other_books_outputs(folder, kind):
    found = find_labels(folder / f"{kind}.xlsx")
    placed = {p.key: p.cell for p in found.outputs}
    wanted = {"joint_new": {"form_new.remuneration": "'申込書'!F11",
                            "form_new.expenses": "'申込書'!F17", "total": "'申込書'!F19",
                            "lines.value_added": "'申込書'!F15"},
              "consulting_fee": {"lines.time_charge": "'学術指導料'!F11",
                                 "lines.consumption_tax": "'学術指導料'!F16",
                                 "total": "'学術指導料'!F17"},
              "us_budget": {"lines.direct": "'Budget'!F17", "mtdc": "'Budget'!F19",
                            "fa": "'Budget'!F21", "total": "'Budget'!F22"}}[kind]
    assert {k: placed.get(k) for k in wanted} == wanted
    assert {p.key: p.cell for p in found.inputs}["start"].endswith(("!D6", "!D3"))


def test_map_init_of_the_us_budget_checks_with_its_card(folder, tmp_path):
    # the budget's rows (Salaries, Fringe benefits, Equipment, Subaward: ...) become direct
    # items of the categories the card's MTDC knows
    out = tmp_path / "us.map.toml"
    assert runner.invoke(app, ["map", "init", str(folder / "us_budget.xlsx"), "--out",
                               str(out)]).exit_code == 0
    res = runner.invoke(app, ["check", str(folder / "us_budget.xlsx"), "--map", str(out),
                              "--rates", ob.card_ref("us_budget", folder)])
    assert res.exit_code == 0, res.output


def test_a_map_without_outputs_has_nothing_to_check(folder, tmp_path):
    empty = tmp_path / "empty.map.toml"
    empty.write_text('[inputs]\nstart = "\'申込書\'!D6"\n', encoding="utf-8")
    res = runner.invoke(app, ["check", str(folder / "joint_current.xlsx"), "--map",
                              str(empty)])
    assert res.exit_code == 2 and "outputs is missing: expected at least one output" \
        in res.output


def test_map_init_of_the_consulting_sheet_uses_the_cards_consulting_rate(folder, tmp_path):
    # one adviser, no table: 指導時間 is researchers.1.hours, priced at the card's
    # consulting rate (20,000 yen/h), so check compares the sheet's rate cell with the card
    out = tmp_path / "cf.map.toml"
    assert runner.invoke(app, ["map", "init", str(folder / "consulting_fee.xlsx"), "--out",
                               str(out)]).exit_code == 0
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    assert data["inputs"]["researchers.1.hours"] == "'学術指導料'!F10"
    assert data["inputs"]["researchers.1.name"] == "'学術指導料'!D5"
    assert data["values"]["researchers.1.rate_source"] == "consulting"
    res = runner.invoke(app, ["check", str(folder / "consulting_fee.xlsx"), "--map", str(out),
                              "--rates", ob.card_ref("consulting_fee", folder)])
    assert res.exit_code == 0, res.output


def test_a_period_label_gives_start_and_end(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "様式"
    ws["A1"], ws["B1"], ws["C1"], ws["D1"] = ("研究期間", dt.date(2026, 10, 1), "〜",
                                              dt.date(2027, 9, 30))
    ws["A2"], ws["C2"] = "合計 / Total", "=1+1"
    wb.save(tmp_path / "p.xlsx")
    found = find_labels(tmp_path / "p.xlsx")
    assert {p.key: p.cell for p in found.inputs} == {"start": "'様式'!B1", "end": "'様式'!D1"}
    assert {p.key: p.cell for p in found.outputs} == {"total": "'様式'!C2"}


def test_map_init_writes_a_valid_map_for_awkward_labels_and_sheet_names(tmp_path):
    import openpyxl

    from xl_pricing.office import load_map

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Bob's 見積"
    ws["A1"], ws["B1"] = "合計\n[bold]x[/bold] = \"y\" / Total", "=2*3"
    ws["A2"], ws["B2"] = "間接経費", 30
    book = tmp_path / "odd.xlsx"
    wb.save(book)
    out = tmp_path / "odd.map.toml"
    res = runner.invoke(app, ["map", "init", str(book), "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = load_map(out, book)
    # the first line with more text is no 合計, its English side is; the newline in the
    # label stays out of the map's comment, the markup is printed as typed
    assert m.outputs == {"total": ("'Bob''s 見積'!B1",), "form.indirect": ("'Bob''s 見積'!B2",)}
    assert "[bold]x[/bold]" in res.output


def test_libreoffice_finds_the_same_origin_independently(folder):
    # the independent engine: the wrong indirect reference differs at '積算'!F20 by the
    # same −1,340,000 yen, everything else agrees
    from xl_pricing.libreoffice import find_soffice

    if find_soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: `bash .ci/setup-libreoffice`")
    m = load_map(folder / "joint_current.map.toml")
    wrong = check_against_engine(folder / "joint_current-wrong_ref.xlsx", m, load_card(),
                                 engine="libreoffice")
    assert wrong.engine == "libreoffice"
    assert [(o.cell, int(o.difference)) for o in wrong.differing if o.origin] == [
        ("'積算'!F20", -1_340_000)]
    # the six outputs the wrong reference does not reach agree with the engine to the yen
    assert len(wrong.outputs) - len(wrong.differing) == 6


@pytest.mark.parametrize("command", ["check", "map"])
def test_a_file_that_is_no_workbook_is_one_message(folder, tmp_path, command):
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    args = (["check", str(fake), "--map", str(folder / "joint_current.map.toml")]
            if command == "check" else ["map", "init", str(fake)])
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert res.output.startswith("入力エラー / input error:")
    assert res.output.count("input error:") == 1
    assert not (tmp_path / "fake.map.toml").exists()


def _edited_map(folder: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = (folder / "joint_current.map.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "edited.map.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_table_range_written_backwards_checks_as_written_forwards(folder, tmp_path):
    # '積算'!D8:B6 is B6:D8 (Excel's reading): the clean book agrees, time charge 4,700,000
    # (the old code stopped with 内部エラー, exit 1)
    m = _edited_map(folder, tmp_path, "B6:D8", "D8:B6")
    res = runner.invoke(app, ["check", str(folder / "joint_current.xlsx"), "--map", str(m),
                              "--json"])
    assert res.exit_code == 0, res.output
    out = {o["key"]: o["engine"] for o in json.loads(res.output)["outputs"]}
    assert out["lines.time_charge"] == 4_700_000 and out["total"] == 8_910_000


@pytest.mark.parametrize("cell, held", [("'申込書'!F30", "an empty cell"),
                                        ("'申込書'!B14", "text")])
def test_an_output_on_an_empty_cell_or_a_label_is_one_message(folder, tmp_path, cell, held):
    m = _edited_map(folder, tmp_path, '"total" = "\'申込書\'!F14"', f'"total" = "{cell}"')
    res = runner.invoke(app, ["check", str(folder / "joint_current.xlsx"), "--map", str(m)])
    assert res.exit_code == 2, res.output
    assert f"outputs.total = \"{cell}\"" in res.output
    assert "a cell holding a number or a formula" in res.output and held in res.output
    assert "Traceback" not in res.output


def test_map_init_refuses_to_write_toml_into_a_workbook_file(folder, tmp_path):
    target = tmp_path / "other.xlsx"
    res = runner.invoke(app, ["map", "init", str(folder / "joint_current.xlsx"), "--out",
                              str(target)])
    assert res.exit_code == 2, res.output
    assert "ending in .toml" in res.output and not target.exists()
