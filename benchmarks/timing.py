"""Side-by-side timing: subject and baseline alternate, so noise hits both alike."""

from __future__ import annotations

import statistics
import sys
import time
from typing import Callable


def ratio_of_medians(subject: Callable[[], object], baseline: Callable[[], object],
                     rounds: int) -> tuple[float, float, float]:
    """(median subject seconds, median baseline seconds, subject ÷ baseline), alternating
    the two ``rounds`` times after one warm-up call of each."""
    subject()
    baseline()
    s, b = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        subject()
        s.append(time.perf_counter() - t)
        t = time.perf_counter()
        baseline()
        b.append(time.perf_counter() - t)
    ms, mb = statistics.median(s), statistics.median(b)
    return ms, mb, ms / mb


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
