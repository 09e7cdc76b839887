"""Side-by-side timing: subject and baseline alternate, so noise hits both alike."""

from __future__ import annotations

import statistics
import sys
import time
from typing import Callable


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def median_paired_ratio(subject: Callable[[], object], baseline: Callable[[], object],
                        pairs: int) -> tuple[float, float, float]:
    """(median subject seconds, median baseline seconds, median of subject ÷ baseline per
    pair) over ``pairs`` back-to-back pairs, after one warm-up call of each.

    For calls of a few milliseconds: each pair's two timings are taken within a
    millisecond or two of each other, so a slow spell of the shared machine (seconds
    long, here) slows both halves of the pairs it falls on and cancels out of their
    ratios, where medians taken side by side over whole seconds would still mix fast and
    slow spells.  The order alternates (subject first in even pairs, baseline first in
    odd ones) so neither side always runs on a warmer cache.
    """
    subject()
    baseline()
    s, b, ratios = [], [], []
    clock = time.perf_counter
    for i in range(pairs):
        first, second = (subject, baseline) if i % 2 == 0 else (baseline, subject)
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        ts, tb = (t1 - t0, t2 - t1) if i % 2 == 0 else (t2 - t1, t1 - t0)
        s.append(ts)
        b.append(tb)
        ratios.append(ts / tb)
    return statistics.median(s), statistics.median(b), statistics.median(ratios)
