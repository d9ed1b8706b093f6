"""Reading a full-size (35,887-row) FERPlus pair: rows per second and peak memory.

The pair is random (pixels and votes) and written to a temporary folder. The vectorised pixel
parser (`parse_pixels`, one numpy call per block) is compared, in the same run, with the plain
per-row Python conversion it replaces, on the same block of rows.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

N_ROWS = 35_887


def _naive_parse(pixels: list[str]) -> np.ndarray:
    return np.array([[int(t) for t in p.split()] for p in pixels], dtype=np.uint8).reshape(-1, 48, 48)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fixtures_writers import write_ferplus_random
    from rbdm_core.data.ferplus import parse_pixels, read_ferplus

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        old, new = write_ferplus_random(tmp, N_ROWS, seed=0)
        print(f"wrote a {N_ROWS}-row pair ({os.path.getsize(old) / 2**20:.0f} MiB + "
              f"{os.path.getsize(new) / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s")

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for rule in ("paper", "ferplus-majority"):
            t0 = time.perf_counter()
            ds = read_ferplus(old, new, rule=rule, progress=False)
            dt = time.perf_counter() - t0
            tracemalloc.start()  # a second, traced run for the memory peak (tracing slows it down)
            read_ferplus(old, new, rule=rule, progress=False)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"read_ferplus rule={rule}: {N_ROWS} rows in {dt:.2f} s = {N_ROWS / dt:,.0f} rows/s; "
                  f"kept {len(ds)}; peak traced memory {peak / 2**20:.0f} MiB "
                  f"(output images {ds.images.nbytes / 2**20:.0f} MiB, csv {os.path.getsize(old) / 2**20:.0f} MiB)")
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"process max RSS {rss1:.0f} MiB (before reading {rss0:.0f} MiB)")

        import pandas as pd

        block = pd.read_csv(old, nrows=2048)["pixels"].tolist()
        t0 = time.perf_counter()
        a = parse_pixels(block)
        t_fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = _naive_parse(block)
        t_slow = time.perf_counter() - t0
        assert np.array_equal(a, b)
        print(f"pixel parsing, 2048 rows: vectorised {t_fast * 1e3:.0f} ms, per-row int() {t_slow * 1e3:.0f} ms, "
              f"speed-up x{t_slow / t_fast:.1f}")


if __name__ == "__main__":
    main()
