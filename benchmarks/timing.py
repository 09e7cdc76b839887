"""Side-by-side timing: subject and baseline alternate, so noise hits both alike.

Also the one way the benchmarks run a child process (:func:`run_timed`): in its own
process group, with a timeout, killed as a group on timeout or error, timed from spawn to
exit.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Mapping, Sequence


def say(text: str) -> None:
    """Progress for a person: stderr only (stdout's last line is the JSON result)."""
    print(text, file=sys.stderr, flush=True)


def median_paired_ratio(subject: Callable[[], object], baseline: Callable[[], object],
                        pairs: int, budget_s: float | None = None
                        ) -> tuple[float, float, float]:
    """(median subject seconds, median baseline seconds, median of subject ÷ baseline per
    pair) over ``pairs`` back-to-back pairs, after one warm-up call of each.

    For calls of a few milliseconds: each pair's two timings are taken within a
    millisecond or two of each other, so a slow spell of the shared machine (seconds
    long, here) slows both halves of the pairs it falls on and cancels out of their
    ratios, where medians taken side by side over whole seconds would still mix fast and
    slow spells.  The order alternates (subject first in even pairs, baseline first in
    odd ones) so neither side always runs on a warmer cache.  ``budget_s``: stop after
    this many seconds even if fewer pairs ran (at least two pairs always run).
    """
    subject()
    baseline()
    s, b, ratios = [], [], []
    clock = time.perf_counter
    stop = None if budget_s is None else clock() + budget_s
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
        if stop is not None and i >= 1 and t2 > stop:
            break
    return statistics.median(s), statistics.median(b), statistics.median(ratios)


def alternate(subject: Callable[[], float], baseline: Callable[[], float],
              rounds: int) -> tuple[list[float], list[float]]:
    """Seconds of each side over ``rounds`` rounds of one run each, subject first in even
    rounds and baseline first in odd ones.  Each callable returns its own seconds (so it
    can leave its set-up and clean-up out of the timing)."""
    s: list[float] = []
    b: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            s.append(subject())
            b.append(baseline())
        else:
            b.append(baseline())
            s.append(subject())
    return s, b


def kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group ``proc`` leads (started with ``start_new_session``)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
        pass


def run_timed(command: Sequence[str], timeout: float, what: str,
              env: Mapping[str, str] | None = None, cwd: str | None = None
              ) -> tuple[float, str]:
    """Run ``command``; (seconds from spawn to exit, its stdout).  RuntimeError naming
    ``what`` with the last lines of its stderr if it fails, or when it runs longer than
    ``timeout`` seconds (its process group is killed then)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=None if env is None else dict(env), cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise RuntimeError(f"{what}: no answer within {timeout:g} s; its process group was "
                           "killed") from None
    except BaseException:
        kill_group(proc)
        raise
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((err or "").strip().splitlines()[-15:])
        raise RuntimeError(f"{what}: exit status {proc.returncode}\n{tail}")
    return seconds, out


def last_json(out: str, what: str) -> Any:
    """The JSON value on the last non-empty line of ``out``."""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"{what}: printed nothing")
    return json.loads(lines[-1])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
