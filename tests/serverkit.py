"""Helpers shared by the Excel-function and server tests: xlwings in server mode, the
Office.js payload, and xlwings Server's app (wrapped by xl_pricing.server.app)."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Iterator

SERVER_DIR = Path(__file__).parent.parent / "xl_pricing" / "server"
SERVER_ENV = {"XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial",
              "XLWINGS_FUNCTIONS_NAMESPACE": "XLP", "XLWINGS_ENVIRONMENT": "prod",
              "XLWINGS_PROJECT_DIR": str(SERVER_DIR)}
_RELOADED = ("xlwings", "xlwings_server", "custom_functions", "custom_scripts", "auth",
             "xl_pricing.udfs", "xl_pricing.server")


def _reloaded(name: str) -> bool:
    return name.split(".")[0] in _RELOADED or name.startswith(_RELOADED)


# The server-mode modules (and sys.path) once imported for an environment: entering
# server mode again swaps them in instead of importing xlwings afresh, so a fixture can be
# per test — a module-scoped one left XLWINGS_ON_SERVER set for the plain-Python tests a
# pytest-xdist worker stole from the same file.
_IMPORTED: dict[tuple[tuple[str, str], ...], tuple[dict[str, ModuleType], list[str]]] = {}


@contextlib.contextmanager
def server_modules(extra_env: dict[str, str] | None = None) -> Iterator[SimpleNamespace]:
    """xlwings imported in server mode (its decorators are then the Office.js ones).

    xlwings reads XLWINGS_ON_SERVER when it is imported, so the variables are set only
    here, the already imported xlwings / xl_pricing.udfs modules set aside and the server
    ones put in their place (imported once per environment), and everything put back
    afterwards.
    """
    env = {**SERVER_ENV, **(extra_env or {})}
    saved_env = {k: os.environ.get(k) for k in env}
    before = set(sys.modules)
    saved = {n: m for n, m in sys.modules.items() if _reloaded(n)}
    saved_path = list(sys.path)
    import xl_pricing
    saved_attr = getattr(xl_pricing, "udfs", None)
    saved_server = getattr(xl_pricing, "server", None)
    os.environ.update(env)
    # (PYTEST_CURRENT_TEST changes with every test; xlwings does not read it)
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"))
    for name in saved:
        del sys.modules[name]
    if key in _IMPORTED:
        modules, path = _IMPORTED[key]
        sys.modules.update(modules)
        sys.path[:] = path
        for attr in ("udfs", "server"):
            if f"xl_pricing.{attr}" in modules:
                setattr(xl_pricing, attr, modules[f"xl_pricing.{attr}"])
    try:
        xw = importlib.import_module("xlwings")
        server = importlib.import_module("xlwings.server")
        udfs = importlib.import_module("xl_pricing.udfs")
        yield SimpleNamespace(xw=xw, server=server, udfs=udfs)
    finally:
        _IMPORTED[key] = ({n: m for n, m in sys.modules.items() if _reloaded(n)},
                          list(sys.path))
        for name in list(sys.modules):
            # server-mode modules out; so are our own modules first imported here (they
            # may hold the server xlwings); other libraries (fastapi …) may stay
            if _reloaded(name) or (name not in before and name.startswith("xl_pricing")):
                del sys.modules[name]
        sys.modules.update(saved)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.path[:] = saved_path
        # ``import xl_pricing.udfs`` also set attributes on the package: put them back too
        for attr, value in (("udfs", saved_attr), ("server", saved_server)):
            if value is not None:
                setattr(xl_pricing, attr, value)
            elif hasattr(xl_pricing, attr):
                delattr(xl_pricing, attr)


@contextlib.contextmanager
def started_client(module: str, attr: str) -> Iterator[Any]:
    """A TestClient of the app ``module.attr`` imported and started in server mode, kept
    running after the block (for a session fixture: the startup is most of a call's time)
    and stopped in server mode again."""
    from fastapi.testclient import TestClient
    with server_modules():    # (importing xlwings Server sets XLWINGS_ON_SERVER: only here)
        client = TestClient(getattr(importlib.import_module(module), attr))
        client.__enter__()
    try:
        yield client
    finally:
        with server_modules():
            client.__exit__(None, None, None)


def to_payload_arg(value: Any) -> Any:
    """A converted argument back in the form the Office.js add-in posts it."""
    if value is None:
        return None                                  # an omitted optional argument
    if isinstance(value, dict):
        return [[k, v] for k, v in value.items()]    # a two-column key/value range
    if isinstance(value, list):
        if value and isinstance(value[0], list):
            return value                             # a table
        return [[v] for v in value]                  # a column range
    return [[value]]                                 # a single cell


def payload(func: str, args: list[Any]) -> dict[str, Any]:
    import xlwings
    return {"client": "Office.js", "func_name": func,
            "args": [to_payload_arg(a) for a in args],
            "caller_address": "[Book1.xlsx]Sheet1!B2", "session_id": "test-session",
            "culture_info_name": "ja-JP", "date_format": "yyyy/MM/dd",
            "version": xlwings.__version__, "runtime": "1.4"}


def unwrap(result: Any) -> Any:
    return result[0][0] if isinstance(result, list) and len(result) == 1 and \
        isinstance(result[0], list) and len(result[0]) == 1 else result


CALL = "/xlwings/custom-functions-call"


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST JSON to ``url`` (loopback only); the status and the text, errors included."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, body, {"Content-Type": "application/json",
                                             **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@contextlib.contextmanager
def serving(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``xl-pricing excel serve`` on a free port of 127.0.0.1, as a real process; yields
    the URL of the function call once the server answers (60 s at most), and stops it."""
    import signal
    import socket
    import subprocess
    import time
    import urllib.error

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full_env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial",
                "XLWINGS_ENVIRONMENT": "prod", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "xl_pricing", "excel", "serve", "--port",
                             str(port), *args], env=full_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, cwd=cwd)
    url = f"http://127.0.0.1:{port}{CALL}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                post(url, b"")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode() if proc.poll() is not None
                                         else "server did not answer in 60 s") from None
                time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have died: keep its message
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
