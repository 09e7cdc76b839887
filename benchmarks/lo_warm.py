"""Drive an already running headless LibreOffice over UNO: the "LibreOffice warm" side of
``benchmarks/recalc_bench.py``.

Runs under the SYSTEM python (``/usr/bin/python3``), which can ``import uno`` once Debian's
``python3-uno`` is installed (``bash benchmarks/setup``); it imports nothing of the project.
The soffice listener is started (and always killed) by ``recalc_bench.py``::

    soffice --headless --invisible --norestore --nologo --nodefault --nolockcheck \
        -env:UserInstallation=file:///tmp/<fresh profile> --accept="pipe,name=<unique>;urp;"

Three modes; each prints ONE JSON object on stdout and nothing else there:

``--ping``
    connect (retrying until ``--connect-timeout``) and report ``{"connect_s": ...}``.

``--workbook BOOK --values V1,V2,...``
    for each value -- the first ``--warmup`` of them untimed -- on the running soffice:

    1. ``desktop.loadComponentFromURL(url, "_blank", 0, (Hidden=True,))``  (the profile
       forces recalculation on load, as ``xl_pricing.libreoffice`` does),
    2. ``NamedRanges.getByName(--input-name).getReferredCells().getCellByPosition(0, 0)
       .setValue(v)``  (the first cell of ``R_Hours``: the first researcher's hours),
    3. ``doc.calculateAll()``,
    4. read every workbook-scoped defined name that refers to cells, in bulk
       (``--read sheets``, the default: one ``getDataArray()`` per sheet of the block
       holding all the names on that sheet, cut into names here; ``--read names``: one
       ``getReferredCells().getDataArray()`` per name) and ``Total`` among them,
    5. ``doc.close(True)``.

    Reports ``{"seconds": [per timed workbook], "phases": {"load": [...], "set_calc":
    [...], "read": [...], "close": [...]}, "totals": [Total per timed value], "names": n}``.

``--workbooks LIST``
    for each workbook path in the file LIST (one a line), none of them untimed: load it
    hidden (step 1), ``calculateAll()`` (step 3), read every defined name in bulk and
    ``Total`` among them (step 4; which cells each name refers to is read from the
    file's ``workbook.xml`` anew for each file, see ``file_name_areas``), close it
    (step 5). Reports ``{"seconds": [...], "totals": [...], "names":
    [count per workbook]}``: the "100 different workbooks" side of
    ``recalc_session_vs_lo``, whose parent times this process and the soffice start.

Timings are ``time.perf_counter()`` around steps 1-5 of each workbook.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xlsx_names import file_name_areas  # noqa: E402 - beside this file (stdlib only)

try:
    import uno
    from com.sun.star.beans import PropertyValue
    from com.sun.star.connection import NoConnectException
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"lo_warm.py: cannot import uno under {sys.executable} ({exc}); install Debian's "
          "python3-uno: bash benchmarks/setup", file=sys.stderr)
    sys.exit(3)


def connect(accept: str, timeout: float):
    """The Desktop of the soffice listening on ``accept`` (e.g. ``pipe,name=x;urp;``)."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:{accept.rstrip(';')};StarOffice.ComponentContext"
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve(url)
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                raise SystemExit(f"lo_warm.py: no LibreOffice listening on {accept} after "
                                 f"{timeout:g} s")
            time.sleep(0.02)
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def hidden() -> tuple:
    p = PropertyValue()
    p.Name, p.Value = "Hidden", True
    return (p,)


def name_areas(doc) -> dict:
    """``{name: (sheet index, col0, row0, col1, row1)}`` of every workbook-scoped name that
    refers to cells (names defined by constants or formulas have no referred cells)."""
    out = {}
    named = doc.NamedRanges
    for name in named.ElementNames:
        cells = named.getByName(name).getReferredCells()
        if cells is None:
            continue
        a = cells.getRangeAddress()
        out[name] = (a.Sheet, a.StartColumn, a.StartRow, a.EndColumn, a.EndRow)
    return out


def blocks(areas: dict) -> dict:
    """Per sheet index, the smallest block (col0, row0, col1, row1) holding all its names."""
    out: dict = {}
    for sheet, c0, r0, c1, r1 in areas.values():
        b = out.get(sheet)
        out[sheet] = (c0, r0, c1, r1) if b is None else (
            min(b[0], c0), min(b[1], r0), max(b[2], c1), max(b[3], r1))
    return out


def value(v):
    return v[0][0] if len(v) == 1 and len(v[0]) == 1 else [list(r) for r in v]


def read_by_sheets(doc, areas: dict, sheet_blocks: dict) -> dict:
    sheets = doc.Sheets
    data = {}
    for index, (c0, r0, c1, r1) in sheet_blocks.items():
        data[index] = sheets.getByIndex(index).getCellRangeByPosition(
            c0, r0, c1, r1).getDataArray()
    out = {}
    for name, (sheet, c0, r0, c1, r1) in areas.items():
        bc0, br0 = sheet_blocks[sheet][:2]
        rows = data[sheet][r0 - br0:r1 - br0 + 1]
        out[name] = value([row[c0 - bc0:c1 - bc0 + 1] for row in rows])
    return out


def read_by_names(doc) -> dict:
    named = doc.NamedRanges
    out = {}
    for name in named.ElementNames:
        cells = named.getByName(name).getReferredCells()
        if cells is not None:
            out[name] = value(cells.getDataArray())
    return out


def run_list(desktop, list_file: str, total_name: str) -> dict:
    """Load, recalculate, read and close each workbook named in ``list_file``."""
    with open(list_file, encoding="utf-8") as f:
        paths = [ln.strip() for ln in f if ln.strip()]
    seconds, totals, counts = [], [], []
    phases: dict = {"load": [], "calc": [], "names": [], "read": [], "close": []}
    for path in paths:
        t0 = time.perf_counter()
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(path)),
                                           "_blank", 0, hidden())
        if doc is None:
            raise SystemExit(f"lo_warm.py: LibreOffice could not load {path}")
        try:
            t1 = time.perf_counter()
            doc.calculateAll()
            t2 = time.perf_counter()
            areas = file_name_areas(path)
            t3 = time.perf_counter()
            got = read_by_sheets(doc, areas, blocks(areas))
            t4 = time.perf_counter()
        finally:
            doc.close(True)
        t5 = time.perf_counter()
        seconds.append(t5 - t0)
        for k, a, b in (("load", t0, t1), ("calc", t1, t2), ("names", t2, t3),
                        ("read", t3, t4), ("close", t4, t5)):
            phases[k].append(b - a)
        totals.append(got.get(total_name))
        counts.append(len(got))
    return {"seconds": seconds, "phases": phases, "totals": totals, "names": counts}


def run(args) -> dict:
    t0 = time.perf_counter()
    desktop = connect(args.accept, args.connect_timeout)
    if args.ping:
        return {"connect_s": time.perf_counter() - t0}
    if args.workbooks:
        return run_list(desktop, args.workbooks, args.total_name)
    url = uno.systemPathToFileUrl(os.path.abspath(args.workbook))
    values = [float(v) for v in args.values.split(",")]
    phases = {"load": [], "set_calc": [], "read": [], "close": []}
    seconds, totals = [], []
    areas = sheet_blocks = None
    n_names = 0
    for i, v in enumerate(values):
        timed = i >= args.warmup
        t0 = time.perf_counter()
        doc = desktop.loadComponentFromURL(url, "_blank", 0, hidden())
        if doc is None:
            raise SystemExit(f"lo_warm.py: LibreOffice could not load {args.workbook}")
        try:
            t1 = time.perf_counter()
            if areas is None:  # a property of the file: resolved once, on the warm-up load
                areas = name_areas(doc)
                sheet_blocks = blocks(areas)
                t1 = time.perf_counter()
            first = doc.NamedRanges.getByName(args.input_name).getReferredCells()
            first.getCellByPosition(0, 0).setValue(v)
            doc.calculateAll()
            t2 = time.perf_counter()
            got = (read_by_sheets(doc, areas, sheet_blocks) if args.read == "sheets"
                   else read_by_names(doc))
            total = got.get(args.total_name)
            n_names = len(got)
            t3 = time.perf_counter()
        finally:
            doc.close(True)
        t4 = time.perf_counter()
        if timed:
            seconds.append(t4 - t0)
            phases["load"].append(t1 - t0)
            phases["set_calc"].append(t2 - t1)
            phases["read"].append(t3 - t2)
            phases["close"].append(t4 - t3)
            totals.append(total)
    return {"seconds": seconds, "phases": phases, "totals": totals, "names": n_names}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accept", required=True,
                    help='what soffice was started with: --accept="<this>", '
                         'e.g. "pipe,name=xlp;urp;"')
    ap.add_argument("--connect-timeout", type=float, default=30.0)
    ap.add_argument("--ping", action="store_true", help="only connect and report the time")
    ap.add_argument("--workbook")
    ap.add_argument("--workbooks", help="a file listing workbooks, one a line: load, "
                                        "recalculate, read and close each once")
    ap.add_argument("--values", help="comma-separated values for the input cell, one "
                                     "workbook load per value")
    ap.add_argument("--warmup", type=int, default=1, help="leading values not timed")
    ap.add_argument("--input-name", default="R_Hours",
                    help="defined name whose first cell is set")
    ap.add_argument("--total-name", default="Total")
    ap.add_argument("--read", choices=("sheets", "names"), default="sheets")
    args = ap.parse_args(argv)
    if not args.ping and not args.workbooks and (not args.workbook or not args.values):
        ap.error("--workbook and --values are needed (or --workbooks, or --ping)")
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
