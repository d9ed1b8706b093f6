"""The k most relevant pixels of an image: the ranking rule every mask and model heatmap uses.

Ranking and ties: "the k most relevant pixels" of an image are its k largest relevance values;
among equal values the pixel with the lower row-major index (row * W + col) ranks first, exactly
the order of a stable sort of `-relevance`.

* `top_k_flat(relevance (N, P), k) -> (N, P) bool`: the rule itself (masks: `masking`);
* `pseudo_fixations(relevance (N, H, W), n)`: each image's `n` most relevant pixels as fixations,
  the model's side of the gaze comparisons (`gaze.model_heatmaps`, `gaze.region_shares`) and the
  points of `masking.perceptive_mask`.

Here, below both `gaze` and `masking`, so that neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rbdm_core.checks import _batch, _is_int


def top_k_flat(relevance: np.ndarray, k: int) -> np.ndarray:
    """(N, P) bool: True at the k largest values of each row of `relevance (N, P)`, ties broken
    by the lower index (the stable order). O(P) per row: np.partition + a cumulative count."""
    n, p = relevance.shape
    if k <= 0:
        return np.zeros((n, p), dtype=bool)
    if k >= p:
        return np.ones((n, p), dtype=bool)
    thr = np.partition(relevance, p - k, axis=1)[:, p - k : p - k + 1]  # k-th largest per row
    greater = relevance > thr
    equal = relevance == thr
    need = k - greater.sum(axis=1)
    out = greater | equal
    tied = np.flatnonzero(equal.sum(axis=1) > need)  # rows with more ties than places left
    if len(tied):
        eq = equal[tied]
        out[tied] = greater[tied] | (eq & (np.cumsum(eq, axis=1) <= need[tied, None]))
    return out


def pseudo_fixations(relevance: Any, n: int) -> list[np.ndarray]:
    """Each image's `n` most relevant pixels as (n, 2) float64 (x = col, y = row) fixations, in
    row-major order (the points `perceptive_mask` uses)."""
    r, _ = _batch(relevance)
    b, h, w = r.shape
    if not _is_int(n) or not 1 <= n <= h * w:
        raise ValueError(f"n: expected an int with 1 <= n <= {h * w} (pixels per image), got {n!r}")
    points = top_k_flat(r.reshape(b, h * w), int(n))
    out = []
    for row in points:
        idx = np.flatnonzero(row)
        out.append(np.stack([idx % w, idx // w], axis=1).astype(np.float64))
    return out
