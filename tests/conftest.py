"""Shared helpers: shipped cards and projects, and a small project builder."""

from __future__ import annotations

import copy
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from xl_pricing import load_card, load_project, parse_project
from xl_pricing.project import Project

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ROOT / "templates" / "projects"
RATES = ROOT / "templates" / "rates"
EXAMPLES = sorted(PROJECTS.glob("*.toml"))


def example(name: str) -> Project:
    return load_project(PROJECTS / f"{name}.toml")


BASE: dict[str, Any] = {
    "project": {"id": "T-1", "contract": "sponsored", "approach": "A",
                "activity": "research", "location": "on",
                "start": "2027-04-01", "end": "2028-03-31"},
}


def make(**sections: Any) -> Project:
    """A project from the BASE one-year sponsored project with sections replaced.

    ``project={...}`` updates keys of the [project] table; other keyword arguments replace
    whole sections (``direct=[...]``, ``researchers=[...]``, ``total={...}``).
    """
    data = copy.deepcopy(BASE)
    data["project"].update(sections.pop("project", {}))
    data.update(sections)
    return parse_project(data, "test")


def yen(x: int | str) -> Decimal:
    return Decimal(x)


@pytest.fixture(scope="session")
def jp():
    return load_card("jp-default")


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """``template(card_id, [target], [engine])``: the shipped card's blank template
    (native, the auto engine by default),
    built and loaded once per process — ``Recalculator.values`` does not stick, so tests
    share it."""
    from xl_pricing.recalc import Recalculator
    from xl_pricing.workbook import build as build_book

    folder = tmp_path_factory.mktemp("templates")
    books: dict[tuple[str, str, str], Recalculator] = {}

    def get(card_id: str, target: str = "native", engine: str = "auto") -> Recalculator:
        key = (card_id, target, engine)
        if key not in books:
            out = folder / "-".join(key)
            out.mkdir()
            books[key] = Recalculator(build_book(load_card(card_id), None, target, out),
                                      engine=engine)
        return books[key]

    return get


@pytest.fixture(scope="session")
def full():
    return load_card("full-features")


def pytest_sessionstart(session) -> None:
    """Install headless LibreOffice (for the independent check of native workbooks) when it
    is missing, as the test setup promises; the script is idempotent and quiet.  Under
    pytest-xdist only the controlling process installs it, before the workers start."""
    from xl_pricing.libreoffice import find_soffice

    if hasattr(session.config, "workerinput"):
        return
    if find_soffice() is None:
        script = ROOT / ".ci" / "setup-libreoffice"
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                                timeout=900)
        if result.returncode != 0:
            print(f"LibreOffice could not be installed ({result.stderr.strip()[-300:]}); "
                  "its tests will be skipped")


# The tests of a minute or more (each one hypothesis run), run first: pytest-xdist splits
# the collection between the workers in order, so a worker that reached one of them last
# would leave the other core idle for that long (longest first: LPT scheduling).
LONGEST = ("test_workbook_edits.py::test_udf_workbook_cannot_lie",
           "test_workbook_edits.py::test_native_workbooks_cannot_lie",
           "test_recalc.py::test_formulon_and_formulas_agree_on_every_defined_name",
           "test_agreement.py::test_generated_projects_agree_everywhere")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The :data:`LONGEST` tests first, in that order; the rest as collected."""
    rank = {nodeid: i for i, nodeid in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.nodeid.rsplit("/", 1)[-1], len(LONGEST)))


def build(path: Path, sheets: dict[str, dict[str, Any]],
          names: dict[str, str] | None = None) -> Path:
    """A workbook with the given sheets ({title: {cell: value or formula}}) and names."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, cells in sheets.items():
        ws = wb.create_sheet(title)
        for ref, value in cells.items():
            ws[ref] = value
    for name, target in (names or {}).items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    wb.save(path)
    return path


def one_sheet(tmp_path: Path, cells: dict[str, Any], names: dict[str, str] | None = None,
              file: str = "book.xlsx", title: str = "Sheet1") -> Path:
    """A one-sheet workbook ``tmp_path / file`` with ``cells`` and defined ``names``."""
    return build(tmp_path / file, {title: cells}, names)


def truncated(src: Path, out: Path, part: str = "xl/worksheets/sheet1.xml",
              keep: float = 0.5) -> Path:
    """A copy of workbook ``src`` whose ``part`` is cut to ``keep`` of its bytes (a damaged
    file, as an interrupted copy or download leaves it)."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == part:
                data = data[: int(len(data) * keep)]
            zout.writestr(item, data)
    return out
