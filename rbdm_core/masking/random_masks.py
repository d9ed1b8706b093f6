"""Random masks: a seeded random fraction per image, random masks of given sizes, ROAR's removals."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rbdm_core.checks import _count, _fraction, _maps, _masks, _out
from rbdm_core.masking.relevance_masks import negative_mask
from rbdm_core.ranking import top_k_flat

#: what ROAR removes: the most relevant pixels, or as many at random
REMOVALS = ("relevance", "random")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014) on uint64 arrays, wrapping arithmetic."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _lowbias32(x: np.ndarray) -> np.ndarray:
    """32-bit integer hash ("lowbias32", C. Wellons) on uint32 arrays, wrapping arithmetic."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def random_fraction_mask(shape: Sequence[int], fraction: float, seed: int = 0, *, start: int = 0) -> np.ndarray:
    """ROAR baseline: keep `round(fraction * H * W)` pixels of each image chosen uniformly at
    random. shape: (N, H, W) or (H, W). Pixel j of image i gets the pseudo-random uint32 key
    lowbias32(u_i + j * 0x9E3779B9), u_i = low 32 bits of splitmix64(splitmix64(seed) ^ (start + i)),
    and the largest keys are kept (ties, rare, by index), so
    the result is a pure function of (shape, fraction, seed, start) and a batch split into chunks
    (`start` = the chunk's first image index) gives the same masks as one call."""
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or any(s < 1 for s in shape):
        raise ValueError(f"shape: expected (N, H, W) or (H, W) of positive ints, got {shape!r}")
    f = _fraction(fraction)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    single = len(shape) == 2
    n, h, w = (1, *shape) if single else shape
    if not isinstance(start, (int, np.integer)) or start < 0:
        raise ValueError(f"start: expected an int >= 0, got {start!r}")
    img = np.arange(int(start), int(start) + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        img_key = _splitmix64(_splitmix64(np.full(n, int(seed), dtype=np.uint64)) ^ img).astype(np.uint32)
        keys = _lowbias32(img_key[:, None] + np.arange(h * w, dtype=np.uint32)[None, :] * np.uint32(0x9E3779B9))
    return _out(top_k_flat(keys, _count(f, h * w)).reshape(n, h, w), single)


def random_masks_like(masks: Any, seed: int = 0) -> np.ndarray:
    """Random masks `(N, H, W)` bool keeping, in every image, exactly as many pixels as `masks`
    does, chosen uniformly at random (numpy Generator(seed)): the chance baseline of a mask's
    ground-truth precision and recall."""
    m = _masks(masks)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    n, h, w = m.shape
    k = m.reshape(n, h * w).sum(axis=1)
    rng = np.random.default_rng(int(seed))
    ranks = np.argsort(np.argsort(rng.random((n, h * w)), axis=1), axis=1)  # a random permutation per row
    return (ranks < k[:, None]).reshape(n, h, w)


def roar_masks(relevance: Any, fraction: float, removal: str, seed: int = 0, start: int = 0) -> np.ndarray:
    """Masks (N, H, W) bool (True = kept) removing `round(fraction * H * W)` pixels per image:
    the most relevant ones (`removal="relevance"`, = `masking.negative_mask`) or ones drawn at
    random (`"random"`, the complement of `masking.random_fraction_mask(..., seed, start=start)`;
    `start` = index of the first image, so train and validation images draw differently)."""
    if removal not in REMOVALS:
        raise ValueError(f"removal: expected one of {REMOVALS}, got {removal!r}")
    r = _maps(relevance, "relevance")
    if removal == "relevance":
        return negative_mask(r, fraction)
    return ~random_fraction_mask(r.shape, fraction, seed=seed, start=start)
