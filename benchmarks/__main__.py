"""``python -m benchmarks [--quick] [--only NAME ...]``: what users feel, one JSON object as
the last line of stdout (progress goes to stderr).

Each figure is measured against its baseline side by side in the same run, the two
alternating (see each module's docstring and benchmarks/README.md).  ``--quick`` uses
fewer rows and rounds and finishes in about three minutes on 2 cores; the recorded run is
the full one.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Any

from . import batch_bench, cli_bench, recalc_bench, udf_bench
from .timing import say

# key: (comparison, goal); a key missing from a run (its part failed) is not judged.
GOALS: dict[str, tuple[str, float]] = {
    "recalc_session_vs_lo": (">=", 3), "recalc_warm_vs_lo": (">=", 4),
    "recalc_input_ms": ("<=", 20), "recalc_single_vs_lo": (">=", 0.5),
    "udf_http_overhead": ("<=", 1.10), "array_vs_scalar": (">=", 20),
    "array_call_s": ("<=", 0.25), "batch_overhead": ("<=", 2.0),
    "batch_parallel_speedup": (">=", 1.7), "rss_ratio": ("<=", 1.2),
    "rss_mb_10k": ("<=", 300), "cli_quote_s": ("<=", 0.5)}

PARTS = {"cli": cli_bench, "udf": udf_bench, "recalc": recalc_bench, "batch": batch_bench}


def goals_met(results: dict[str, Any]) -> dict[str, bool]:
    """For each goal whose key is in ``results``: is it met?

    >>> goals_met({"batch_overhead": 1.5, "recalc_warm_vs_lo": 3.9})
    {'recalc_warm_vs_lo': False, 'batch_overhead': True}
    """
    return {k: (results[k] <= v if op == "<=" else results[k] >= v)
            for k, (op, v) in GOALS.items() if isinstance(results.get(k), (int, float))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rows and rounds")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), metavar="PART",
                        help=f"run only these parts ({', '.join(PARTS)})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say(f"xl-pricing benchmarks ({'quick' if args.quick else 'full'}) on "
        f"{platform.platform()}, Python {platform.python_version()}")
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for name, module in PARTS.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        try:
            results.update(module.run(args.quick))
        except Exception as exc:  # noqa: BLE001 - one part failing keeps the others' figures
            failed[name] = f"{type(exc).__name__}: {exc}"[:500]
            say(f"[{name} FAILED: {failed[name]}]")
        say(f"[{name} done in {time.perf_counter() - t:.0f} s]")
    results["goals_met"] = goals_met(results)
    if failed:
        results["failed"] = failed
    results["quick"] = bool(args.quick)
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
