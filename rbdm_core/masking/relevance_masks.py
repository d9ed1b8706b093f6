"""The paper's masks from relevance maps (section 5.4): negative, mean, perceptive; and the
ROAR-style complement of the negative mask (`top_fraction_mask`).

Ranking and ties: "the k most relevant pixels" of an image are its k largest relevance values;
among equal values the pixel with the lower row-major index (row * W + col) ranks first, exactly
the order of a stable sort of `-relevance` (`rbdm_core.ranking.top_k_flat`, re-exported as
`masking.top_k_flat`). Counts: `k = round(fraction * H * W)` (half to even)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rbdm_core.checks import _batch, _count, _fraction, _is_int, _out, _positive
from rbdm_core.ranking import top_k_flat


def negative_mask(relevance: Any, fraction: float = 0.1) -> np.ndarray:
    """Remove the `round(fraction * H * W)` most relevant pixels of each image (paper: 10 %).

    relevance: (N, H, W) or (H, W) finite. fraction: 0 < fraction < 1. Returns bool, True = kept.
    """
    r, single = _batch(relevance)
    f = _fraction(fraction)
    n, h, w = r.shape
    removed = top_k_flat(r.reshape(n, h * w), _count(f, h * w))
    return _out(~removed.reshape(n, h, w), single)


def top_fraction_mask(relevance: Any, fraction: float) -> np.ndarray:
    """ROAR-style: KEEP the `round(fraction * H * W)` most relevant pixels, remove the rest.
    The exact complement of `negative_mask(relevance, fraction)`."""
    r, single = _batch(relevance)
    f = _fraction(fraction)
    n, h, w = r.shape
    return _out(top_k_flat(r.reshape(n, h * w), _count(f, h * w)).reshape(n, h, w), single)


def mean_mask(relevance: Any) -> np.ndarray:
    """Remove the pixels whose relevance is below their image's mean (m_i = 0 where R_i < mean).

    A constant map has no pixel below its mean, so the mask is undefined (it would keep every
    pixel and say nothing about relevance): such an image raises a ValueError naming it.
    The mean is taken in float64.
    """
    r, single = _batch(relevance)
    n, h, w = r.shape
    flat = r.reshape(n, h * w)
    if n == 0:
        return _out(np.zeros(r.shape, dtype=bool), single)
    const = flat.max(axis=1) == flat.min(axis=1)
    if const.any():
        i = int(np.flatnonzero(const)[0])
        raise ValueError(
            f"mean_mask: relevance map of image {i} is constant (every pixel = {flat[i, 0]!r}); "
            f"the mean mask is undefined for it ({int(const.sum())} constant map(s) in the batch)"
        )
    mean = flat.mean(axis=1, dtype=np.float64, keepdims=True)
    return _out((flat >= mean).reshape(r.shape), single)


def _disc_offsets(cutoff: float) -> np.ndarray:
    """(M, 2) integer (dy, dx) with dx^2 <= cutoff^2 - dy^2: the disc that `gaze.heatmap` adds
    a fixation's Gaussian to (same float arithmetic, so the same pixels for integer fixations)."""
    c = int(math.floor(cutoff))
    d = np.arange(-c, c + 1, dtype=np.float64)
    keep = (d * d)[None, :] <= (cutoff * cutoff - d * d)[:, None]
    dy, dx = np.nonzero(keep)
    return np.stack([dy - c, dx - c], axis=1)


def perceptive_mask(relevance: Any, n: int, sigma: float, cutoff: float) -> np.ndarray:
    """Keep the pixels where the gaze heatmap built from each image's `n` most relevant pixels
    (as fixations at their pixel centres, weight 1) is non-zero; remove the rest.

    n:      1 <= n <= H * W (the mean number of fixations per image in the gaze study).
    sigma:  heatmap sigma in pixels; cutoff: the heatmap cut-off radius in pixels (required:
            an uncut Gaussian is never 0 and would keep every pixel; see `gaze.kernel_for_image`).
    Computed for the whole batch at once as the union of the discs of radius `cutoff` around the
    fixations, i.e. the support of the cut heatmap; this equals
    `gaze.heatmap(fixations, (H, W), sigma, cutoff) > 0` wherever the Gaussian does not underflow
    to 0 in float64 (distance < ~38 sigma, always true for the paper's cutoff ~ 2.9 sigma);
    beyond that the mask follows the exact-arithmetic support. `sigma` is validated only.
    """
    r, single = _batch(relevance)
    b, h, w = r.shape
    if not _is_int(n) or n < 1:
        raise ValueError(f"n: expected an int >= 1 (number of pseudo-fixations), got {n!r}")
    if n > h * w:
        raise ValueError(f"n: {n} pseudo-fixations requested but an image has only {h}x{w} = {h * w} pixels")
    _positive("sigma", sigma)
    if cutoff is None:
        raise ValueError(
            "cutoff: the perceptive mask needs a finite cut-off radius in pixels (a Gaussian is never 0, "
            "so without one every pixel is kept); e.g. gaze.kernel_for_image(H).cutoff"
        )
    c = _positive("cutoff", cutoff, allow_zero=True)
    points = top_k_flat(r.reshape(b, h * w), int(n)).reshape(b, h, w)
    offsets = _disc_offsets(min(c, math.hypot(h, w)))  # a larger disc reaches no further pixel
    # The disc is, row by row, a symmetric run dx in [-hw(dy), hw(dy)]: dilate horizontally by
    # each half-width once (incrementally), then shift those rows vertically and OR them.
    half = {int(dy): int(np.abs(offsets[offsets[:, 0] == dy, 1]).max()) for dy in np.unique(offsets[:, 0])}
    horiz = {0: points}
    cur = points.copy()
    for rad in range(1, max(half.values()) + 1):
        if rad < w:
            cur[:, :, rad:] |= points[:, :, :-rad]
            cur[:, :, :-rad] |= points[:, :, rad:]
        horiz[rad] = cur.copy() if rad in half.values() else None
    kept = np.zeros_like(points)
    for dy, rad in half.items():
        src = horiz[rad]
        if abs(dy) >= h:
            continue
        # kept[y + dy] |= src[y]
        if dy >= 0:
            kept[:, dy:, :] |= src[:, : h - dy, :]
        else:
            kept[:, : h + dy, :] |= src[:, -dy:, :]
    return _out(kept, single)
