"""apply_mask's fills on 10,000 48x48 gray images: images per second for each fill and mask kind,
and noisy_linear's cost relative to the zero fill (one run, this machine).

Masks: random 10 % and 50 % removed (`random_fraction_mask`), and the mean mask of smooth random
relevance maps (about half removed, in blobs, like the quick profile's relevance masks; the
hardest case for the banded solver). Last, noisy_linear's linear solve against
scipy.sparse.linalg.spsolve (SuperLU) on the same block-diagonal system, 1,000 images.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

from rbdm_core import masking
from rbdm_core.masking.linear_imputation import NEIGHBOURS

from benchmarks import best_time

N, H, W = 10_000, 48, 48


def _masks() -> dict[str, np.ndarray]:
    rel = ndimage.gaussian_filter(np.random.default_rng(1).normal(size=(N, H, W)), (0, 4, 4))
    return {
        "random 10% removed": masking.random_fraction_mask((N, H, W), 0.9, seed=0),
        "random 50% removed": masking.random_fraction_mask((N, H, W), 0.5, seed=0),
        "mean mask, smooth maps": masking.mean_mask(rel),
    }


def _sparse_system(values: np.ndarray, kept: np.ndarray):
    """The neighbour equations as one scipy.sparse CSC matrix for the whole batch (COO assembly)."""
    n, h, w = kept.shape
    rem = ~kept.ravel()
    g = np.flatnonzero(rem)
    vid = np.full(rem.size, -1)
    vid[g] = np.arange(g.size)
    r, c = (g // w) % h, g % w
    rows, cols, vals = [np.arange(g.size)], [np.arange(g.size)], [np.zeros(g.size)]
    b = np.zeros(g.size)
    flat = values.ravel()
    for dr, dc, wt in NEIGHBOURS:
        ok = np.flatnonzero((r + dr >= 0) & (r + dr < h) & (c + dc >= 0) & (c + dc < w))
        q = g[ok] + dr * w + dc
        vals[0][ok] += wt
        unknown = rem[q]
        rows.append(ok[unknown])
        cols.append(vid[q[unknown]])
        vals.append(np.full(unknown.sum(), -wt))
        b[ok[~unknown]] += wt * flat[q[~unknown]]
    a = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(g.size,) * 2)
    return a, b


def main() -> None:
    images = np.random.default_rng(0).integers(0, 256, (N, H, W, 1), dtype=np.uint8)
    print(f"{N} gray images of {H}x{W} uint8; best of 3 runs (2 for noisy_linear)")
    for mask_name, kept in _masks().items():
        print(f"  masks: {mask_name} (removed {1 - kept.mean():.1%})")
        times = {}
        for fill in masking.FILL_NAMES:
            times[fill] = best_time(lambda: masking.apply_mask(images, kept, fill, seed=0),
                                2 if fill == "noisy_linear" else 3)
            print(f"    {fill:14s}: {times[fill]:7.3f} s  {N / times[fill]:10,.0f} images/s")
        print(f"    noisy_linear / zero: {times['noisy_linear'] / times['zero']:,.0f}x the time")
    kept = _masks()["random 50% removed"][:1000]
    values = images[:1000, ..., 0].astype(np.float64)
    t_band = best_time(lambda: masking.linear_fill(values[..., None], kept), 2)
    t0 = time.perf_counter()
    a, b = _sparse_system(values, kept)
    t_build = time.perf_counter() - t0
    t_lu = best_time(lambda: spsolve(a, b), 1)
    print(f"  linear solve, 1,000 images, random 50% removed: banded Cholesky (masking.linear_fill) "
          f"{1000 / t_band:,.0f} images/s; scipy.sparse spsolve (SuperLU) {1000 / (t_build + t_lu):,.0f} "
          f"images/s ({t_build:.2f} s assembly + {t_lu:.2f} s solve): {(t_build + t_lu) / t_band:.1f}x the time")
