"""Combining several Trainers: their relevance maps (normalised, averaged) and their masks (votes)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rbdm_core.checks import _maps, _masks

COMBINE_RULES = ("union", "intersection", "majority")


def normalise_maps(maps: Any) -> np.ndarray:
    """Each map divided by the sum of its absolute values (L1 = 1), so Trainers whose logits
    differ in scale weigh alike; an all-zero map stays zero. (N, H, W) -> (N, H, W) float64."""
    m = _maps(maps)
    s = np.abs(m).sum(axis=(1, 2), keepdims=True)
    return np.divide(m, s, out=np.zeros_like(m), where=s > 0)


def combine_relevance(maps_list: Sequence[Any], weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted mean of the L1-normalised maps of several Trainers (`normalise_maps`).
    maps_list: K arrays (N, H, W) of one shape; weights: K non-negative numbers (default equal).
    Returns (N, H, W) float64."""
    if len(maps_list) == 0:
        raise ValueError("maps_list: expected at least one (N, H, W) array")
    arrs = [normalise_maps(m) for m in maps_list]
    for k, a in enumerate(arrs[1:], start=1):
        if a.shape != arrs[0].shape:
            raise ValueError(f"maps_list[{k}]: shape {a.shape} differs from maps_list[0]'s {arrs[0].shape}")
    w = np.ones(len(arrs)) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (len(arrs),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights: expected {len(arrs)} finite non-negative numbers with a positive sum, got {weights!r}")
    return np.tensordot(w / w.sum(), np.stack(arrs), axes=1)


def combine_masks(masks_list: Sequence[Any], rule: str = "majority") -> np.ndarray:
    """Combine K masks (N, H, W) bool of one shape: `union` keeps a pixel any mask keeps,
    `intersection` one every mask keeps, `majority` one more than half of the masks keep."""
    if rule not in COMBINE_RULES:
        raise ValueError(f"rule: expected one of {COMBINE_RULES}, got {rule!r}")
    if len(masks_list) == 0:
        raise ValueError("masks_list: expected at least one (N, H, W) bool array")
    arrs = [_masks(m, f"masks_list[{k}]", single=False) for k, m in enumerate(masks_list)]
    for k, a in enumerate(arrs[1:], start=1):
        if a.shape != arrs[0].shape:
            raise ValueError(f"masks_list[{k}]: shape {a.shape} differs from masks_list[0]'s {arrs[0].shape}")
    votes = np.sum(arrs, axis=0)
    if rule == "union":
        return votes > 0
    if rule == "intersection":
        return votes == len(arrs)
    return 2 * votes > len(arrs)
