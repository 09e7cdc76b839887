"""Excel functions: the adapter's cost over the engine, and one array call against many
scalar calls through xlwings' own server code (each Excel cell is one such call)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from .timing import median_paired_ratio, say

ROOT = Path(__file__).resolve().parent.parent

# Runs in a child process: xlwings reads XLWINGS_ON_SERVER when it is imported.
_ARRAY_SCRIPT = r"""
import asyncio, json, time, sys
import xlwings, xlwings.server
from xl_pricing import udfs
n = int(sys.argv[1])
rates = [[50000 + i % 7 * 1000] for i in range(n)]
hours = [[(i % 40) + 0.5] for i in range(n)]
def payload(args):
    return {"client": "Office.js", "func_name": "XLP_TIMECHARGE", "args": args,
            "caller_address": "[Book1.xlsx]Sheet1!B2", "session_id": "bench",
            "culture_info_name": "ja-JP", "date_format": "yyyy/MM/dd",
            "version": xlwings.__version__, "runtime": "1.4"}
async def scalar():
    out = []
    for r, h in zip(rates, hours):
        out.append((await xlwings.server.custom_functions_call(
            payload([[r], [h], None]), udfs))[0][0])
    return out
async def array():
    res = await xlwings.server.custom_functions_call(payload([rates, hours, None]), udfs)
    return [row[0] for row in res]
asyncio.run(scalar()); asyncio.run(array())          # warm-up
best = {}
for _ in range(3):
    t = time.perf_counter(); a = asyncio.run(scalar()); s = time.perf_counter() - t
    t = time.perf_counter(); b = asyncio.run(array()); v = time.perf_counter() - t
    assert a == b
    best = min(best, {"scalar": s, "array": v}, key=lambda d: d.get("scalar", 1e9) /
               d.get("array", 1)) if best else {"scalar": s, "array": v}
print(json.dumps(best))
"""


def udf_overhead(quick: bool) -> float:
    from xl_pricing import load_card, udfs
    from xl_pricing.pricing.timecharge import time_charge

    card = load_card()
    n = 500  # calls per timing: about a millisecond, so each pair sees one machine state
    pairs = 300 if quick else 2_000
    rate, hours = Decimal(50000), Decimal("12.5")

    def subject() -> None:
        for _ in range(n):
            udfs.XLP_TIMECHARGE(50000.0, 12.5)

    def baseline() -> None:
        for _ in range(n):
            card.rounding.apply(time_charge(rate, hours))

    ms, mb, r = median_paired_ratio(subject, baseline, pairs)
    say(f"udf_overhead: XLP_TIMECHARGE {ms / n * 1e6:.2f} µs, engine call "
        f"{mb / n * 1e6:.2f} µs → median of {pairs:,} paired ratios {r:.3f} (goal <= 1.5)")
    return r


def array_vs_scalar(quick: bool) -> tuple[float, float]:
    n = 10_000
    env = {**os.environ, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}
    out = subprocess.run([sys.executable, "-c", _ARRAY_SCRIPT, str(n)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=900, check=True)
    t = json.loads(out.stdout.strip().splitlines()[-1])
    r = t["scalar"] / t["array"]
    say(f"array_vs_scalar: {n:,} scalar calls {t['scalar']:.2f} s, one array call "
        f"{t['array']:.3f} s → {r:.1f} (goal >= 20, array < 0.25 s)")
    return r, t["array"]


def run(quick: bool) -> dict[str, float]:
    ratio, array_s = array_vs_scalar(quick)
    return {"udf_overhead": round(udf_overhead(quick), 3),
            "array_vs_scalar": round(ratio, 2), "array_call_s": round(array_s, 4)}
