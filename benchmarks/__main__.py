"""``python -m benchmarks [--quick]``: every benchmark, one JSON object as the last line.

Each figure is a ratio against a baseline measured side by side in the same run (see the
module of each); ``--quick`` uses fewer rows and rounds and finishes in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from . import batch_bench, recalc_bench, udf_bench
from .timing import say

GOALS = {"batch_overhead": ("<=", 1.15), "batch_parallel_speedup": (">=", 1.7),
         "recalc_warm_vs_lo": (">=", 1.5), "recalc_cold_vs_lo": (">=", 2.5),
         "udf_overhead": ("<=", 1.5), "array_vs_scalar": (">=", 20),
         "array_call_s": ("<=", 0.25), "rss_ratio": ("<=", 1.2), "rss_mb_10k": ("<=", 300)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rows and rounds")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say(f"xl-pricing benchmarks ({'quick' if args.quick else 'full'}) on "
        f"{platform.platform()}, Python {platform.python_version()}")
    results: dict[str, object] = {}
    for name, module in (("udf", udf_bench), ("batch", batch_bench),
                         ("recalc", recalc_bench)):
        t = time.perf_counter()
        results.update(module.run(args.quick))
        say(f"[{name} done in {time.perf_counter() - t:.0f} s]")
    met = {k: (results[k] <= v if op == "<=" else results[k] >= v)  # type: ignore[operator]
           for k, (op, v) in GOALS.items() if k in results}
    results["goals_met"] = met
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
