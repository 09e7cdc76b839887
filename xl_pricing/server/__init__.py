"""xlwings Server wiring: ``custom_functions/`` is the module xlwings Server imports.

xlwings Server (PolyForm Noncommercial or a paid xlwings licence) imports a top-level
``custom_functions`` module from ``XLWINGS_PROJECT_DIR``; ``xl-pricing excel serve`` points
that at this folder.  Nothing here is imported unless the server runs.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent
NAMESPACE = "XLP"


def server_environment(license_key: str | None) -> dict[str, str]:
    """Environment for an xlwings Server process serving the XLP functions."""
    env = {"XLWINGS_PROJECT_DIR": str(PROJECT_DIR), "XLWINGS_FUNCTIONS_NAMESPACE": NAMESPACE,
           "XLWINGS_ON_SERVER": "true"}
    if license_key:
        env["XLWINGS_LICENSE_KEY"] = license_key
    return env
