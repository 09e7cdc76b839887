"""The functions ``xl-pricing excel serve`` serves, plus ``BENCH_ECHO`` (returns its
argument): the baseline of ``udf_http_overhead``, served by the same app in the same
process as ``XLP_TIMECHARGE``.  Benchmark-only: imported by ``benchmarks/serve_echo.py``
(with ``XLWINGS_ON_SERVER=true`` already set, so ``xw.func`` is xlwings Server's
decorator), never by the package.
"""

import xlwings as xw

from xl_pricing.server.custom_functions import *  # noqa: F401,F403 - what excel serve serves


@xw.func
def BENCH_ECHO(x):
    """Return the argument as it came: one call's cost through the server and no work."""
    return x
