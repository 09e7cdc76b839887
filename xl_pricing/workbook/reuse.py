"""What comes out the same in many workbooks of a batch, built and serialised once.

Sheets: every workbook of a batch has a Rates sheet that depends only on the card, the
target and the fiscal years of the project, and two form sheets that depend only on the
target.  A :class:`SheetReuse` keeps, per key (everything such a sheet is made from), the
sheet's XML and the names it defines; the next workbook with the same key gets an empty
sheet of the same title in its place, its names replayed, and the writer (``save.py``)
puts the XML in.

Rows: most rows of the other sheets (labels, formulas, empty input cells) are the same
from one project to the next.  The writer keeps the XML of each row by what its cells hold
(``row_key``) and writes a row seen before from it.

The bytes stay those openpyxl writes:

* The only thing in a worksheet's XML that depends on the rest of the workbook is the
  index of each cell's style (``s="7"``), which openpyxl assigns in the order styles are
  first written.  XML is kept with those indices taken out and the cells' styles kept in
  their order; writing it again assigns them in the same order (:class:`Template`).
* A sheet is taken only after a check: its XML rebuilt from the template equals what
  openpyxl wrote, and it has nothing that links it to other parts of the file (charts,
  images, comments, hyperlinks, tables, conditional formats, print titles, filters, names
  of its own).  Otherwise it is built anew every time.  A row is kept only when it has no
  comment, hyperlink or row format and its values are of plain types.
* A sheet's key must name everything the sheet is built from; ``build_workbook`` says
  what.  A row's key is everything openpyxl writes it from.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Hashable
from weakref import WeakKeyDictionary

from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from .book import Book

# A cell's style index: openpyxl writes a styled cell as <c r="B5" s="7" ...>.  Text in
# the XML is escaped (no "<" in it), so this cannot match inside a value or formula.
_STYLE_INDEX = re.compile(rb'<c r="[A-Z]{1,3}[0-9]{1,7}" s="([0-9]+)"')


@dataclass(frozen=True)
class Template:
    """A worksheet's XML without its style indices.

    ``parts`` are the XML between the indices; ``uses[i]`` says which of ``styles`` the
    i-th styled cell has; ``styles`` are in the order they first occur in the sheet.
    """

    parts: tuple[bytes, ...]
    uses: tuple[int, ...]
    styles: tuple[StyleArray, ...]

    @classmethod
    def capture(cls, xml: bytes, cell_styles: list[StyleArray]) -> Template:
        """The template of ``xml``, written with ``cell_styles`` (the workbook's list)."""
        parts: list[bytes] = []
        uses: list[int] = []
        first: dict[int, int] = {}  # style index in the workbook → position in ``styles``
        pos = 0
        for m in _STYLE_INDEX.finditer(xml):
            parts.append(xml[pos:m.start(1)])
            uses.append(first.setdefault(int(m.group(1)), len(first)))
            pos = m.end(1)
        parts.append(xml[pos:])
        styles = tuple(copy(cell_styles[index]) for index in first)
        return cls(tuple(parts), tuple(uses), styles)

    def render(self, cell_styles: IndexedList, known: dict[int, bytes] | None = None
               ) -> bytes:
        """The XML for a workbook whose style list is ``cell_styles``; adds the sheet's
        styles to it in the order writing the sheet's cells would.

        ``known`` remembers the index of each of ``styles`` (by identity) for the next
        template written into the same workbook: an index, once given, never changes.
        """
        known = {} if known is None else known
        ids = []
        for s in self.styles:
            index = known.get(id(s))
            if index is None:
                index = known[id(s)] = str(cell_styles.add(copy(s))).encode()
            ids.append(index)
        out = [self.parts[0]]
        for use, part in zip(self.uses, self.parts[1:]):
            out.append(ids[use])
            out.append(part)
        return b"".join(out)


class _Same:
    """A key part compared by identity (a rate card: the same object, never a copy that
    may have been changed); holding it keeps its id from being reused."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


def same(obj: Any) -> _Same:
    """``obj`` as part of a key, by identity."""
    return _Same(obj)


@dataclass
class _Entry:
    """What a sheet left in its workbook: its place, its state, the names it defined
    (name, target, cells) and, once a built copy has been written and checked, its XML."""

    title: str
    index: int
    state: str
    names: list[tuple[str, str, list[str]]]
    template: Template | None = None
    reusable: bool = True


_NAMES = 8192  # workbook names kept for sharing (a workbook has ≈250)

# Sheets waiting to be written: built ones whose XML an entry wants, and placeholders;
# and the workbooks whose rows a memo may write.
_CAPTURE: WeakKeyDictionary[Worksheet, _Entry] = WeakKeyDictionary()
_PLACED: WeakKeyDictionary[Worksheet, Template] = WeakKeyDictionary()
_BOOKS: WeakKeyDictionary[Any, SheetReuse] = WeakKeyDictionary()


@dataclass
class SheetReuse:
    """Sheets kept for reuse, by key; the ``size`` most recently used are kept.  And the XML
    of worksheet rows written before (``rows`` of them), by what is in their cells.

    One per batch (or batch worker): keys hold the rate card by identity, and a card is not
    changed during a batch.
    """

    size: int = 16
    rows: int = 4096
    _entries: OrderedDict[Hashable, _Entry] = field(default_factory=OrderedDict, repr=False)
    _rows: OrderedDict[tuple, Template] = field(default_factory=OrderedDict, repr=False)
    _names: dict[tuple[str, str], DefinedName] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # A worker starts empty.
        return {"size": self.size, "rows": self.rows, "_entries": OrderedDict(),
                "_rows": OrderedDict(), "_names": {}}

    def defined_name(self, name: str, target: str) -> DefinedName:
        """The workbook name ``name`` for ``target``, one object for the batch.

        openpyxl validates a dozen attributes to make one (≈10 µs; a workbook defines
        ≈250); writing a workbook-level name does not change it, so workbooks that are only
        written can share it.
        """
        dn = self._names.get((name, target))
        if dn is None:
            if len(self._names) >= _NAMES:
                self._names.clear()  # (a batch of many shapes: start again)
            dn = self._names[name, target] = DefinedName(name, attr_text=target)
        return dn

    def adopt(self, wb: Any) -> None:
        """Let the writer take rows of ``wb`` from (and add them to) this memo."""
        _BOOKS[wb] = self

    def row(self, key: tuple) -> Template | None:
        """The template of a row written before with cells as in ``key`` (see ``row_key``)."""
        t = self._rows.get(key)
        if t is not None:
            self._rows.move_to_end(key)
        return t

    def keep_row(self, key: tuple, xml: bytes, cell_styles: list[StyleArray]) -> None:
        """Keep the XML of a row openpyxl wrote (with ``cell_styles``, the workbook's)."""
        self._rows[key] = Template.capture(xml, cell_styles)
        if len(self._rows) > self.rows:
            self._rows.popitem(last=False)

    def sheet(self, book: Book, key: Hashable, build: Callable[[], Worksheet]) -> Worksheet:
        """The sheet ``build()`` makes in ``book`` — built, or its XML reused when a sheet
        with the same ``key`` has been written before."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            if entry.template is not None:
                return _place(book, entry)
        before = len(book.names)
        ws = build()
        if entry is None:
            names = [(n, book.names[n], book.cells[n]) for n in list(book.names)[before:]]
            entry = _Entry(ws.title, book.wb.sheetnames.index(ws.title), ws.sheet_state,
                           names)
            self._entries[key] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        if entry.reusable:
            _CAPTURE[ws] = entry
        return ws


def _place(book: Book, entry: _Entry) -> Worksheet:
    """An empty sheet where the reused one goes, and the names it defines."""
    ws = book.wb.create_sheet(entry.title, entry.index)
    ws.sheet_state = entry.state
    for name, target, cells in entry.names:
        book.add_name(name, target, list(cells))
    _PLACED[ws] = entry.template  # type: ignore[assignment]
    return ws


def placed(ws: Worksheet) -> Template | None:
    """The XML to write for ``ws`` when it stands in for a reused sheet."""
    return _PLACED.get(ws)


def _self_contained(ws: Worksheet, rels: Any) -> bool:
    """Nothing in ``ws`` links to another part of the file or is written by the workbook
    (so an empty sheet of the same title and state writes the same everywhere else)."""
    return not (len(rels) or ws._charts or ws._images or ws._comments or ws._hyperlinks
                or ws._tables or ws._pivots or ws.legacy_drawing is not None
                or len(ws.conditional_formatting) or ws.print_title_rows
                or ws.print_title_cols or ws.print_area or ws.auto_filter.ref
                or len(ws.defined_names))


def written(ws: Worksheet, xml: bytes, rels: Any, before: list[StyleArray],
            cell_styles: IndexedList) -> None:
    """Keep the XML of a built sheet an entry is waiting for, if it can be reused.

    ``before`` is the workbook's style list before the sheet was written, ``cell_styles``
    the list after.  The template must give back ``xml`` and ``cell_styles`` exactly.
    """
    entry = _CAPTURE.pop(ws, None)
    if entry is None or entry.template is not None or not entry.reusable:
        return
    template = Template.capture(xml, cell_styles)
    trial = IndexedList(before)
    if (_self_contained(ws, rels) and template.render(trial) == xml
            and list(trial) == list(cell_styles)):
        entry.template = template
    else:
        entry.reusable = False


def waiting(ws: Worksheet) -> bool:
    """Whether an entry waits for the XML of ``ws`` (the writer then notes its styles)."""
    return ws in _CAPTURE


def memo_for(wb: Any) -> SheetReuse | None:
    """The memo the rows of ``wb`` may come from (``SheetReuse.adopt``)."""
    return _BOOKS.get(wb)


# Values a row's XML is written from exactly (the value, its type, nothing else).  Floats
# go by their bits (0.0 and -0.0 are equal but written "0" and "-0"); other types (array
# formulas, rich text, Decimal...) are not remembered.
_PLAIN = frozenset({str, int, bool, type(None), date, datetime, time, timedelta})


def row_key(row_idx: int, cells: list[Any], ws: Worksheet) -> tuple | None:
    """What openpyxl writes a row from: its number and, for each cell it writes, column,
    type of data, value (by type) and style (the array; the index is the workbook's).
    ``None`` for a row that also puts something elsewhere (comments, hyperlinks) or has a
    format of its own."""
    if row_idx in ws.row_dimensions:
        return None
    wb = ws.parent
    key: list[Any] = [row_idx, wb.epoch, wb.iso_dates]
    for c in cells:
        if c._comment is not None or c._hyperlink is not None:
            return None
        styled = c.has_style
        v = c._value
        if v is None and not styled:
            continue  # not written
        t = type(v)
        if t is float:
            v = v.hex()
        elif t not in _PLAIN:
            return None
        key.append((c.column, c.data_type, t, v, tuple(c._style) if styled else None))
    return tuple(key)
