"""Named styles of the standard workbooks: inputs stand out and stay unlocked on protected
sheets; money shows as yen; rates are stored as fractions and shown as percentages."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import (
    Alignment,
    Border,
    Font,
    NamedStyle,
    PatternFill,
    Protection,
    Side,
)

YEN = '"¥"#,##0'
YEN_NEG = '"¥"#,##0;[Red]-"¥"#,##0'
PCT = "0.00%"
HOURS = "#,##0.00"
DATE = "yyyy-mm-dd"
FY = '"FY"0'
INT = "#,##0"

_thin = Side(style="thin", color="B0B0B0")
_box = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_FONT = "Meiryo"  # a Japanese UI font Excel ships on Windows; others fall back


def _style(name: str, **kw) -> NamedStyle:
    st = NamedStyle(name=name)
    st.font = kw.get("font", Font(name=_FONT, size=10))
    if "fill" in kw:
        st.fill = kw["fill"]
    st.border = kw.get("border", Border())
    st.alignment = kw.get("alignment", Alignment(vertical="center"))
    st.number_format = kw.get("number_format", "General")
    st.protection = Protection(locked=kw.get("locked", True))
    return st


STYLES = [
    _style("xlp_title", font=Font(name=_FONT, size=14, bold=True)),
    _style("xlp_note", font=Font(name=_FONT, size=9, italic=True, color="555555"),
           alignment=Alignment(wrap_text=False, vertical="center")),
    _style("xlp_warn", font=Font(name=_FONT, size=10, bold=True, color="C00000")),
    _style("xlp_header", font=Font(name=_FONT, size=10, bold=True, color="FFFFFF"),
           fill=PatternFill("solid", fgColor="1F4E79"), border=_box,
           alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
    _style("xlp_label", border=_box),
    _style("xlp_text", border=_box),
    _style("xlp_input", fill=PatternFill("solid", fgColor="FFF2CC"), border=_box,
           locked=False),
    _style("xlp_input_yen", fill=PatternFill("solid", fgColor="FFF2CC"), border=_box,
           number_format=YEN, locked=False),
    _style("xlp_input_pct", fill=PatternFill("solid", fgColor="FFF2CC"), border=_box,
           number_format=PCT, locked=False),
    _style("xlp_input_num", fill=PatternFill("solid", fgColor="FFF2CC"), border=_box,
           number_format=HOURS, locked=False),
    _style("xlp_input_date", fill=PatternFill("solid", fgColor="FFF2CC"), border=_box,
           number_format=DATE, locked=False),
    _style("xlp_yen", border=_box, number_format=YEN_NEG),
    _style("xlp_pct", border=_box, number_format=PCT),
    _style("xlp_num", border=_box, number_format=HOURS),
    _style("xlp_int", border=_box, number_format=INT),
    _style("xlp_date", border=_box, number_format=DATE),
    _style("xlp_fy", font=Font(name=_FONT, size=10, bold=True, color="FFFFFF"),
           fill=PatternFill("solid", fgColor="1F4E79"), border=_box, number_format=FY,
           alignment=Alignment(horizontal="center")),
    _style("xlp_total", font=Font(name=_FONT, size=11, bold=True), border=_box,
           fill=PatternFill("solid", fgColor="DDEBF7"), number_format=YEN_NEG),
]


def register(wb: Workbook) -> None:
    """Add the named styles to ``wb`` (cells then take them by name: ``cell.style = ...``)."""
    for st in STYLES:
        wb.add_named_style(st)


def print_setup(ws, title_rows: str | None = None, landscape: bool = False) -> None:
    """A4, one page wide, as offices print quotes and forms."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.print_options.horizontalCentered = True


def protect(ws) -> None:
    """Protect the sheet (no password): formulas are locked, input cells are not."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
