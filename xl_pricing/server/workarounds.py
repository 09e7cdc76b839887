"""A workaround applied only inside the ``xl-pricing excel serve`` process.

xlwings 0.37.x (checked with 0.37.8): its Office.js converter asks, for every cell of an
argument, whether the cell is Pyodide's ``JsNull`` (``xlwings.utils.is_jsnull``), by
trying ``from pyodide.ffi import JsNull``.  Outside Pyodide that import fails anew for each
cell — Python searches ``sys.path`` each time — about 0.2 ms a cell: 10,000 rates and
10,000 hours take 1.9 s instead of 0.11 s (measured on this 2-core machine, through
``xlwings.server.custom_functions_call``).  Outside Pyodide the answer is always False,
so the serve process says so directly.  Nothing else imports this module; the Excel
functions themselves (``xl_pricing.udfs``) leave xlwings as it is.  Remove it once
xlwings caches the failed import (check ``is_jsnull`` in ``xlwings/utils.py``).
"""

from __future__ import annotations

import importlib.util

AFFECTED = "0.37."


def _never_jsnull(value: object) -> bool:
    return False


def skip_pyodide_probe() -> bool:
    """Answer xlwings' per-cell ``is_jsnull`` without the failing import; True when
    applied (xlwings 0.37.x outside Pyodide), False otherwise (left as it is)."""
    import xlwings
    import xlwings.utils

    if not xlwings.__version__.startswith(AFFECTED):
        return False
    if importlib.util.find_spec("pyodide") is not None:  # inside Pyodide: xlwings' check
        return False
    xlwings.utils.is_jsnull = _never_jsnull
    return True
