"""``xl-pricing excel serve ARGS...`` with one more function served: ``BENCH_ECHO``.

Run by ``benchmarks/udf_bench.py`` as ``python benchmarks/serve_echo.py --host 127.0.0.1
--port P`` with ``XLWINGS_ON_SERVER=true`` and ``XLWINGS_LICENSE_KEY`` in the environment.
xlwings Server finds its functions with ``import custom_functions``; this script imports
``benchmarks/echo/custom_functions`` (xl-pricing's served module plus ``BENCH_ECHO``)
first, so that import finds it already loaded, then runs the product's own ``excel serve``
command unchanged (its settings, its app, its uvicorn).  Nothing of a library is patched;
the one change to the product, in this process only, is that ``udfs.__all__`` (the
functions the serve app's payload guard lets through) also names ``BENCH_ECHO``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "echo"))
import custom_functions  # noqa: E402,F401 - the module xlwings Server will import

from xl_pricing import udfs  # noqa: E402
from xl_pricing.cli import run  # noqa: E402

# The serve app's payload guard (xl_pricing.server.guard) answers HTTP 400 to a function
# name outside the list it is given, ``udfs.__all__``: this process serves one function
# more, so that list names it too (after the star import above, which reads it).
if "BENCH_ECHO" not in udfs.__all__:
    udfs.__all__.append("BENCH_ECHO")

if __name__ == "__main__":
    sys.argv = ["xl-pricing", "excel", "serve", *sys.argv[1:]]
    run()
