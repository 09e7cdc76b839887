"""readback: the one reader of a project's inputs from a workbook (read_layout), used by
rates diff --scan (a standard workbook's defined names), check (an office map's cells,
recalculated) and attach (the same cells, as formula inputs)."""

from __future__ import annotations

from pathlib import Path

import officebooks as ob
import pytest

from xl_pricing import load_card
from xl_pricing.office import load_map, parse_map, read_inputs
from xl_pricing.office.attach import gather
from xl_pricing.office.map import layout, read_pairs
from xl_pricing.readback import Layout, read_layout
from xl_pricing.recalc import Recalculator


def test_read_layout_skips_blank_rows_and_numbers_the_rest_from_one():
    lay = Layout(values=(("approach", "A"),), cells=(("start", "S!D6"), ("title", "S!D5")),
                 tables=(("researchers", ({"name": "S!B6", "hours": "S!D6x"},
                                          {"name": "S!B7", "hours": "S!D7"},
                                          {"name": "S!B8", "hours": "S!D8"})),))
    cells = {"S!D6": 46113, "S!B6": "山田", "S!D6x": 100, "S!B7": " ", "S!B8": "佐藤",
             "S!D8": 50}
    pairs, where = read_layout(lay, cells.get)
    assert pairs == [("approach", "A"), ("start", 46113), ("title", None),
                     ("researchers.1.name", "山田"), ("researchers.1.hours", 100),
                     ("researchers.2.name", "佐藤"), ("researchers.2.hours", 50)]
    assert where["researchers.2.hours"] == "S!D8" and "approach" not in where
    # blanks=False: blank cells left out (a standard workbook's optional inputs)
    pairs, _ = read_layout(lay, cells.get, blanks=False)
    assert ("title", None) not in pairs and len(pairs) == 6


def test_two_tables_of_one_list_continue_its_numbering(tmp_path):
    # The researchers' table split in two blocks, B6:D6 and B7:D8: its rows continue
    # 1, 2, 3 and the project is the one-table map's (the old reader numbered each block
    # from 1: researchers.1.* twice).
    book = ob.make("joint_current", tmp_path / "jc.xlsx")
    text = (ob.MAPS["joint_current"]
            .replace('range = "\'積算\'!B6:D8"', 'range = "\'積算\'!B6:D6"', 1)
            .replace('[[tables]]\nkey = "direct"', '[[tables]]\nkey = "researchers"\n'
                     'range = "\'積算\'!B7:D8"\ncolumns = ["name", "rank", "hours"]\n\n'
                     '[[tables]]\nkey = "direct"', 1))
    (tmp_path / "two.map.toml").write_text(text, encoding="utf-8")
    m = load_map(tmp_path / "two.map.toml", book)
    r = Recalculator(book)
    pairs, where = read_pairs(m, r)
    keys = [k for k, _ in pairs if k.startswith("researchers.")]
    assert len(keys) == len(set(keys))
    one = load_map(ob.write_map("joint_current", tmp_path), book)
    assert read_inputs(m, r, load_card()) == read_inputs(one, r, load_card())


def test_check_reads_the_cells_attach_prices():
    # One layout for both: every cell check reads is a cell attach's formulas refer to.
    m = parse_map({"values": {"contract": "joint", "approach": "A"},
                   "inputs": {"start": "'積算'!$d$2"},
                   "tables": [{"key": "researchers", "range": "'積算'!D8:B6",
                               "columns": ["name", "rank", "hours"]}]}, "m.toml")
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "積算"
    inputs = gather(m, wb)
    attached = {s.cell for row in inputs.researchers.values() for s in row.values()}
    attached.add(inputs.scalars["start"].cell)
    lay = layout(m)
    read = {c for _, c in lay.cells} | {c for _, rows in lay.tables for row in rows
                                        for c in row.values()}
    assert read == attached and len(read) == 10  # D2 and B6:D8
    assert "'積算'!D2" in read


@pytest.mark.parametrize("kind", ["joint_current", "us_budget"])
def test_the_office_books_read_as_before(kind, tmp_path: Path):
    book = ob.make(kind, tmp_path / f"{kind}.xlsx")
    m = load_map(ob.write_map(kind, tmp_path), book)
    card = load_card(ob.card_ref(kind, tmp_path))
    project = read_inputs(m, Recalculator(book), card)
    from xl_pricing.office import engine_figures

    assert {k: int(v) for k, v in engine_figures(m.outputs, project, card, m.new_form).items()
            } == ob.EXPECTED[kind]
