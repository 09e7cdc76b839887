"""The ASGI app ``xl-pricing excel serve`` runs: xlwings Server's own app
(``xlwings_server.main:main_app``, with its authentication providers) behind
:class:`~xl_pricing.server.guard.PayloadGuard`.

Import it only in a process set up by :func:`xl_pricing.server.server_environment`
(``XLWINGS_ON_SERVER=true``, the licence key, ``XLWINGS_PROJECT_DIR``).
"""

from __future__ import annotations

import os

from .guard import PayloadGuard
from .workarounds import skip_pyodide_probe

WORKAROUND_ENV = "XL_PRICING_NO_WORKAROUNDS"  # set to 1 to measure without it

if os.environ.get(WORKAROUND_ENV) != "1":
    skip_pyodide_probe()

from xlwings_server.main import main_app  # noqa: E402 - after the settings above

from .. import udfs  # noqa: E402

app = PayloadGuard(main_app, udfs.__all__)
