"""The linear part of ROAD's noisy linear imputation (Rong et al. 2022), solved exactly.

Every removed pixel p equals the weighted mean of its neighbours q that lie inside the image:
direct neighbours weigh 1/6, diagonal ones 1/12, and the weights are renormalised over the
neighbours that exist (a corner pixel divides by 1/6 + 1/6 + 1/12 = 5/12, an interior one by 1):

    (sum_q w_q) x_p - sum_{q removed} w_q x_q = sum_{q kept} w_q v_q

The removed pixels are the unknowns, kept ones go to the right-hand side. The matrix is
symmetric, and positive definite when the image keeps at least one pixel (every group of
connected removed pixels then touches a kept one). Numbered in raster order, an image's unknowns
form a band matrix whose half-bandwidth is at most W + 1, so each image's system is factorised by
LAPACK's banded Cholesky (dpbtrf / dpbtrs, through scipy.linalg.lapack): for 48x48 images this is
several times faster than scipy.sparse.linalg.spsolve (SuperLU) on the same block-diagonal
system. Images are grouped by bandwidth and solved many to one call (their systems stay
independent: a block-diagonal band matrix); every channel is a right-hand side of the same
factorisation.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

#: (row offset, column offset, weight) of the 8 neighbours (ROAD's `neighbors_weights`)
NEIGHBOURS = (
    (-1, 0, 1 / 6), (1, 0, 1 / 6), (0, -1, 1 / 6), (0, 1, 1 / 6),
    (-1, -1, 1 / 12), (-1, 1, 1 / 12), (1, -1, 1 / 12), (1, 1, 1 / 12),
)
#: the 4 neighbours that come before a pixel in raster order (the band's upper triangle)
_EARLIER = tuple((dr, dc, wt) for dr, dc, wt in NEIGHBOURS if dr < 0 or (dr == 0 and dc < 0))
#: unknowns per LAPACK call (a group of images of similar bandwidth)
_GROUP_UNKNOWNS = 40_000


def _shifted(h: int, w: int, dr: int, dc: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices (p, q) of an (H, W) grid such that q[...] is p[...]'s neighbour at (dr, dc)."""
    p = (slice(max(-dr, 0), h - max(dr, 0)), slice(max(-dc, 0), w - max(dc, 0)))
    q = (slice(max(dr, 0), h - max(-dr, 0)), slice(max(dc, 0), w - max(-dc, 0)))
    return p, q


def _earlier(h: int, w: int) -> Iterator[tuple[tuple, tuple, float]]:
    """(p, q, weight) for the 4 neighbours q that come before p in raster order, batch axis first."""
    for dr, dc, wt in _EARLIER:
        p, q = _shifted(h, w, dr, dc)
        yield (slice(None), *p), (slice(None), *q), wt


def _weight_sums(h: int, w: int) -> np.ndarray:
    """(H, W) float64: the summed weight of each pixel's in-image neighbours (1 inside, 5/12 at
    a corner, 2/3 on an edge of a 2-pixel-high image...)."""
    out = np.zeros((h, w))
    for dr, dc, wt in NEIGHBOURS:
        p, _ = _shifted(h, w, dr, dc)
        out[p] += wt
    return out


def _kept_neighbour_sums(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(N, H, W, C) float64: sum over each pixel's kept in-image neighbours of weight * value."""
    v = values * kept[..., None]
    h, w = kept.shape[1:]
    sums = {}
    for dr, dc, wt in NEIGHBOURS:  # direct and diagonal neighbours summed apart, then weighted
        p, q = _shifted(h, w, dr, dc)
        acc = sums.setdefault(wt, np.zeros(values.shape))
        acc[(slice(None), *p)] += v[(slice(None), *q)]
    return sum(wt * acc for wt, acc in sums.items())


def _one_blas_thread():
    """BLAS limited to one thread while solving: the small blocked updates inside dpbtrf run
    tens of times slower with OpenBLAS threads on a busy machine (measured: 18.6 s vs 0.35 s)."""
    return threadpool_limits(limits=1, user_api="blas")


def _distances(removed: np.ndarray) -> np.ndarray:
    """(4, N, H, W) int32: for each removed pixel, how many unknowns back its removed earlier
    neighbours are (0 where the neighbour is kept, outside, or the pixel is kept)."""
    n, h, w = removed.shape
    local = np.cumsum(removed.reshape(n, -1), axis=1, dtype=np.int32).reshape(n, h, w)
    dist = np.zeros((4, n, h, w), np.int32)
    for o, (p, q, _) in enumerate(_earlier(h, w)):
        dist[o][p] = np.where(removed[p] & removed[q], local[p] - local[q], 0)
    return dist


def _solve_group(diag: np.ndarray, dist: np.ndarray, rhs: np.ndarray, band: int) -> np.ndarray:
    """Solve one block-diagonal band system: diag (U,), dist (4, U), rhs (U, C) -> (U, C)."""
    u = int(band)
    ab = np.zeros((u + 1, diag.size))  # LAPACK upper band storage: ab[u + i - j, j] = A[i, j]
    ab[u] = diag
    cols = np.arange(diag.size)
    for d, (_, _, wt) in zip(dist, _EARLIER):
        k = d > 0
        ab[u - d[k], cols[k]] = -wt
    chol, info = lapack.dpbtrf(ab, overwrite_ab=1)
    if info != 0:
        raise RuntimeError(f"noisy_linear: the system is not positive definite (dpbtrf info={info})")
    x, info = lapack.dpbtrs(chol, rhs)
    if info != 0:
        raise RuntimeError(f"noisy_linear: dpbtrs failed (info={info})")
    return x


def _by_bandwidth(band: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images sorted by bandwidth, so that similar bandwidths share a LAPACK call: (order (N,),
    starts (N + 1,) of each sorted image's unknowns, perm (U,): unknown k of the sorted
    numbering is unknown perm[k] of the image-order numbering)."""
    order = np.argsort(band, kind="stable")
    first = np.concatenate([[0], np.cumsum(count)])[:-1]
    starts = np.concatenate([[0], np.cumsum(count[order])])
    perm = np.repeat(first[order] - starts[:-1], count[order]) + np.arange(starts[-1])
    return order, starts, perm


def _solve_sorted(diag, dist, rhs, band_sorted: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Solve image after image (sorted by bandwidth), about `_GROUP_UNKNOWNS` unknowns per call."""
    sol = np.empty_like(rhs)
    n = len(band_sorted)
    i = 0
    with _one_blas_thread():
        while i < n:
            j = int(np.searchsorted(starts, starts[i] + _GROUP_UNKNOWNS, side="right")) - 1
            j = min(max(j, i + 1), n)
            a, b = starts[i], starts[j]
            if b > a:
                sol[a:b] = _solve_group(diag[a:b], dist[:, a:b], rhs[a:b], band_sorted[j - 1])
            i = j
    return sol


def linear_fill(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The exact linear imputation. values (N, H, W, C) float (grey levels, any units), kept
    (N, H, W) bool with at least one kept pixel per image -> (N, H, W, C) float64: `values` where
    kept, the solution of the neighbour equations where removed."""
    values, kept = np.asarray(values), np.asarray(kept)
    if values.ndim != 4 or kept.dtype != bool or kept.shape != values.shape[:3]:
        raise ValueError(f"linear_fill: expected values (N, H, W, C) and kept (N, H, W) bool, "
                         f"got {values.shape} and {kept.shape} {kept.dtype}")
    n, h, w, _ = values.shape
    removed = ~kept
    out = values.astype(np.float64, copy=True)
    if n == 0 or not removed.any():
        return out
    if not kept.reshape(n, -1).any(axis=1).all():
        raise ValueError("linear_fill: every image must keep at least one pixel")
    dist = _distances(removed)
    band = dist.max(axis=(0, 2, 3))
    order, starts, perm = _by_bandwidth(band, removed.reshape(n, -1).sum(axis=1))
    rhs = _kept_neighbour_sums(out, kept)[removed][perm]  # (U, C)
    diag = np.broadcast_to(_weight_sums(h, w), removed.shape)[removed][perm]
    sol = _solve_sorted(diag, dist[:, removed][:, perm], rhs, band[order], starts)
    back = np.empty_like(sol)
    back[perm] = sol
    out[removed] = back
    return out
