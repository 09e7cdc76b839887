"""Sheets reused across a batch's workbooks: the bytes are those of sheets built anew."""

from __future__ import annotations

import pickle

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.indexed_list import IndexedList

from conftest import EXAMPLES, make
from xl_pricing import load_card, load_project
from xl_pricing.workbook import SheetReuse, build_workbook, workbook_bytes
from xl_pricing.workbook.book import Book, put
from xl_pricing.workbook.reuse import Template
from xl_pricing.workbook.styles import register


def test_reused_sheets_give_the_same_bytes():
    card = load_card("full-features")
    projects = [load_project(p) for p in EXAMPLES] + [make(project={
        "start": "2027-10-01", "end": "2030-03-31"})]  # other fiscal years: another Rates
    for target in ("udf", "native"):
        reuse = SheetReuse()
        for _ in range(2):  # the first pass builds and keeps, the second reuses
            for p in projects:
                assert workbook_bytes(build_workbook(card, p, target, reuse)) == \
                    workbook_bytes(build_workbook(card, p, target)), (target, p.project.id)
        kept = [key[0] for key, e in reuse._entries.items() if e.template is not None]
        assert sorted(set(kept)) == ["Form (current)", "Form (new)", "Rates"]
        assert kept.count("Rates") >= 2


def _book(card) -> Book:
    wb = Workbook()
    register(wb)
    wb.remove(wb.active)
    return Book(wb=wb, card=card, project=make(), target="native", card_ref=card.id,
                is_template=False)


def test_a_sheet_with_a_chart_is_built_every_time(jp):
    def with_chart(book: Book):
        ws = book.wb.create_sheet("Chart")
        put(ws, "A1", "label", "xlp_label")
        put(ws, "B1", 5, "xlp_yen")
        book.define("ChartValue", ws, "B1")
        chart = BarChart()
        chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=1))
        ws.add_chart(chart, "D2")
        return ws

    reuse = SheetReuse()
    outputs = []
    for _ in range(2):
        book = _book(jp)
        ws = reuse.sheet(book, ("Chart",), lambda: with_chart(book))
        assert ws["B1"].value == 5  # built, not an empty stand-in
        outputs.append(workbook_bytes(book.wb))
    assert outputs[0] == outputs[1]
    (entry,) = reuse._entries.values()
    assert not entry.reusable and entry.template is None


def test_names_of_a_reused_sheet_come_back(jp):
    def sheet(book: Book):
        ws = book.wb.create_sheet("Plain")
        put(ws, "A1", 1, "xlp_int")
        put(ws, "A2", 2, "xlp_int")
        book.define("Pair", ws, "A1:A2")
        return ws

    reuse = SheetReuse()
    first = _book(jp)
    reuse.sheet(first, ("Plain",), lambda: sheet(first))
    workbook_bytes(first.wb)
    second = _book(jp)
    ws = reuse.sheet(second, ("Plain",), lambda: sheet(second))
    assert ws["A1"].value is None  # an empty stand-in: its XML is written from the first
    assert second.cells["Pair"] == first.cells["Pair"] == ["'Plain'!A1", "'Plain'!A2"]
    assert second.wb.defined_names["Pair"].attr_text == "'Plain'!$A$1:$A$2"
    assert workbook_bytes(second.wb) == workbook_bytes(_fresh_plain(jp, sheet))


def _fresh_plain(card, sheet):
    book = _book(card)
    sheet(book)
    return book.wb


def test_template_renders_style_indices_for_another_workbook():
    a, b = StyleArray([1, 0, 0, 0, 0, 0, 0, 0, 0]), StyleArray([2, 0, 0, 0, 0, 0, 0, 0, 0])
    written_with = IndexedList([StyleArray(), a, b])
    xml = b'<row r="1"><c r="A1" s="2" t="n"><v>1</v></c><c r="B1" s="1"/><c r="C1" s="2"/>'
    t = Template.capture(xml, written_with)
    other = IndexedList([StyleArray(), b])  # b is already 1 here, a comes new as 2
    assert t.render(other) == xml.replace(b's="1"', b's="X"').replace(
        b's="2"', b's="1"').replace(b's="X"', b's="2"')
    assert list(other) == [StyleArray(), b, a]


def test_a_batch_worker_starts_empty(jp):
    reuse = SheetReuse()
    workbook_bytes(build_workbook(jp, make(), "native", reuse))
    assert reuse._entries
    assert not pickle.loads(pickle.dumps(reuse))._entries


def test_rows_with_text_to_escape_or_keep_spaces_are_written_the_same(jp):
    projects = [
        make(project={"title": "  spaced title  ", "department": "=1+1",
                      "company": "A & B <C> \"q\" 'x' ＆ 日本"},
             researchers=[{"name": " Dr. Who ", "rank": "professor", "hours": 12.25}],
             direct=[{"category": "consumables", "amount": 1234567,
                      "description": "\tTabbed\n newline"}]),
        make(project={"title": "-0", "company": "+81"})]
    reuse = SheetReuse()
    for _ in range(2):
        for p in projects:
            for target in ("udf", "native"):
                assert workbook_bytes(build_workbook(jp, p, target, reuse)) == \
                    workbook_bytes(build_workbook(jp, p, target))
    assert reuse._rows


def test_row_memo_is_bounded(jp):
    reuse = SheetReuse(rows=50)
    for i in range(3):
        p = make(project={"id": f"T-{i}", "title": f"title {i}"})
        assert workbook_bytes(build_workbook(jp, p, "native", reuse)) == \
            workbook_bytes(build_workbook(jp, p, "native"))
    assert len(reuse._rows) == 50


def test_workbook_names_are_shared_within_a_batch(jp):
    reuse = SheetReuse()
    a = build_workbook(jp, make(project={"id": "N-1"}), "native", reuse)
    b = build_workbook(jp, make(project={"id": "N-2"}), "native", reuse)
    assert a.defined_names["Total"] is b.defined_names["Total"]
    assert build_workbook(jp, make(), "native").defined_names["Total"] is not \
        a.defined_names["Total"]
