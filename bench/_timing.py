"""What the benchmarks share: the fastest of repeated calls (noise on a shared machine only adds).

    from _timing import best, best_cpu   # bench/ is on sys.path when a script runs
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Wall seconds of the fastest of ``repeat`` calls of ``fn()``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_cpu(fn: Callable[[int], Any], repeat: int) -> tuple[float, float]:
    """(wall, cpu) of the fastest (by cpu) of ``repeat`` calls of ``fn(k)`` (k: the repeat's number)."""
    times = []
    for k in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn(k)
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(times, key=lambda t: t[1])
