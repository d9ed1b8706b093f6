"""Control masks of the study (rbdm_core.study): the ceiling, the floor and the dial between them.

    matched_random(masks, seed)        the floor: in every image as many kept pixels as `masks`
                                       keeps, drawn uniformly at random (`random_masks_like`)
    dial(relevance, oracle, kept, q)   a mask of quality q in [0, 1] with exactly `kept[i]` pixels
                                       per image: round(q * kept[i]) of them are taken oracle region
                                       first (inside it, most relevant first), the rest are the most
                                       relevant of the others. q = 0 gives the relevance ranking's
                                       own top pixels (= the mean mask when kept = the mean mask's
                                       counts); q = 1 fills the whole budget from the oracle first
    oracle_precision(masks, oracle)    the share of kept pixels inside the oracle region, per image:
                                       the dial's measure of mask quality

The study runs the dial with `kept` = the oracle's own counts, so that q = 1 is the oracle mask
itself and q = 0 the Trainer's most relevant pixels in the same number.
The oracle itself is the world's (`rbdm_core.data.worlds`): every expression region drawn on the
face at rest, less what an occluder or the patch hides, so that its outline carries no label.
All masks are (N, H, W) bool, True = kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rbdm_core.checks import _maps, _masks
from rbdm_core.masking.random_masks import random_masks_like
from rbdm_core.ranking import top_k_flat


def matched_random(masks: Any, seed: int = 0) -> np.ndarray:
    """(N, H, W) bool: per image, the kept count of `masks`, at pixels drawn uniformly at random."""
    return random_masks_like(masks, seed=seed)


def _ranks(r: np.ndarray) -> np.ndarray:
    """(N, P) float64 in [0, 1): each pixel's rank among its image's relevance values / P
    (ties by position, stable)."""
    n, p = r.shape
    order = np.argsort(r, axis=1, kind="stable")
    ranks = np.empty((n, p), np.float64)
    np.put_along_axis(ranks, order, np.arange(p, dtype=np.float64)[None, :], axis=1)
    return ranks / p


def dial(relevance: Any, oracle: Any, kept: Any, q: float) -> np.ndarray:
    """(N, H, W) bool masks of quality `q` between a Trainer's ranking (q = 0) and the oracle
    (q = 1), keeping exactly `kept` (N,) pixels per image (see the module docstring)."""
    r = _maps(relevance, "relevance")
    o = _masks(oracle, "oracle", single=False)
    if o.shape != r.shape:
        raise ValueError(f"oracle: expected shape {r.shape} (one mask per relevance map), got {o.shape}")
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating)) or not 0 <= float(q) <= 1:
        raise ValueError(f"q: expected a number in [0, 1] (0 = the Trainer's ranking, 1 = the oracle), got {q!r}")
    n, h, w = r.shape
    k = np.asarray(kept, np.int64).ravel()
    if k.shape != (n,) or (k < 0).any() or (k > h * w).any():
        raise ValueError(f"kept: expected ({n},) ints in 0..{h * w}, got shape {k.shape}")
    ranks = _ranks(r.reshape(n, -1))
    oracle_first = o.reshape(n, -1) + 0.5 * ranks  # every oracle pixel before every other, by relevance
    from_oracle = np.rint(float(q) * k).astype(np.int64)
    out = np.zeros((n, h * w), bool)
    for a, kk in set(zip(from_oracle.tolist(), k.tolist())):
        rows = np.flatnonzero((from_oracle == a) & (k == kk))
        chosen = top_k_flat(oracle_first[rows], int(a))  # round(q k) pixels, the oracle's first
        out[rows] = top_k_flat(ranks[rows] + 2.0 * chosen, int(kk))  # the rest by relevance
    return out.reshape(n, h, w)


def oracle_precision(masks: Any, oracle: Any) -> np.ndarray:
    """(N,) float64: the share of each image's kept pixels that lie in its oracle region
    (NaN for an image that keeps nothing)."""
    m = _masks(masks)
    o = _masks(oracle, "oracle")
    if m.shape != o.shape:
        raise ValueError(f"oracle: expected shape {m.shape}, got {o.shape}")
    kept = m.reshape(len(m), -1).sum(1)
    both = (m & o).reshape(len(m), -1).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(kept > 0, both / np.maximum(kept, 1), np.nan)
