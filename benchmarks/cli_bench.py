"""``cli_quote_s`` (goal <= 0.5 s): one ``xl-pricing quote`` of an example project as a
whole process, what a person waits for at the prompt.

``python -m xl_pricing quote templates/projects/a-stacked-sponsored.toml`` (the console
script ``xl-pricing`` runs the same ``xl_pricing.cli``) against ``python -c pass`` (the
interpreter's own start), alternating, medians; ``cli_quote_ratio`` is their ratio.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from .timing import alternate, run_timed, say

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "templates" / "projects" / "a-stacked-sponsored.toml"
ROUNDS = {True: 5, False: 15}


def quote_command() -> list[str]:
    return [sys.executable, "-m", "xl_pricing", "quote", str(PROJECT)]


def run(quick: bool) -> dict[str, float]:
    def quote() -> float:
        s, out = run_timed(quote_command(), 120, "xl-pricing quote")
        if "Total" not in out and "total" not in out:
            raise RuntimeError(f"xl-pricing quote printed no total:\n{out[-500:]}")
        return s

    def python() -> float:
        return run_timed([sys.executable, "-c", "pass"], 60, "python -c pass")[0]

    q, p = alternate(quote, python, ROUNDS[bool(quick)])
    mq, mp = statistics.median(q), statistics.median(p)
    say(f"cli_quote_s: xl-pricing quote {mq:.3f} s (min {min(q):.3f}), python -c pass "
        f"{mp:.3f} s (min {min(p):.3f}) → {mq / mp:.1f}× (goal <= 0.5 s)")
    return {"cli_quote_s": round(mq, 3), "python_start_s": round(mp, 3),
            "cli_quote_ratio": round(mq / mp, 2)}
