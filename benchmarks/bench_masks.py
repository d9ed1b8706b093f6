"""Masks for 10,000 48x48 relevance maps: maps per second for each mask type (one run)."""

from __future__ import annotations

import time

import numpy as np

from rbdm_core import gaze, masking

from benchmarks import best_time

N, H, W = 10_000, 48, 48


def main() -> None:
    rel = np.random.default_rng(0).normal(size=(N, H, W)).astype(np.float32)
    kern = gaze.kernel_for_image(H)
    n_fix = 20
    cases = {
        "negative (10%)": lambda: masking.negative_mask(rel, 0.1),
        "mean": lambda: masking.mean_mask(rel),
        f"perceptive (n={n_fix}, sigma={kern.sigma:.2f}, cutoff={kern.cutoff:.2f})": (
            lambda: masking.perceptive_mask(rel, n_fix, kern.sigma, kern.cutoff)
        ),
        "top_fraction (10%)": lambda: masking.top_fraction_mask(rel, 0.1),
        "random_fraction (10%)": lambda: masking.random_fraction_mask(rel.shape, 0.1, seed=0),
    }
    print(f"{N} maps of {H}x{W} float32")
    for name, fn in cases.items():
        t = best_time(fn)
        print(f"  {name:55s}: {t:7.3f} s  {N / t:12,.0f} maps/s")
    # the reference a per-image Python loop over heatmap() would cost, on 500 maps
    fix = masking.pseudo_fixations(rel[:500], n_fix)
    t0 = time.perf_counter()
    for f in fix:
        gaze.heatmap(f, (H, W), kern.sigma, kern.cutoff) > 0
    t_loop = time.perf_counter() - t0
    t_vec = best_time(lambda: masking.perceptive_mask(rel[:500], n_fix, kern.sigma, kern.cutoff))
    print(f"  perceptive via per-image heatmap() loop (500 maps): {500 / t_loop:,.0f} maps/s; "
          f"batched {500 / t_vec:,.0f} maps/s ({t_loop / t_vec:.1f}x)")
