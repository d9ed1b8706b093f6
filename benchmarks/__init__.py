"""Benchmarks: `python -m benchmarks [NAME ...]`; shared timing helper below."""

import time


def best_time(fn, repeat: int = 3) -> float:
    """Seconds of the fastest of `repeat` calls of `fn()` (wall clock)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
