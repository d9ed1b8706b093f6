"""Applying masks to images."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np




def apply_mask(images: Any, masks: Any, fill: int | Sequence[int] = 0) -> np.ndarray:
    """Masked copy of `images (N, H, W, C) uint8`: pixels where `masks (N, H, W) bool` is False
    are set to `fill` (an int 0..255, or one per channel). Returns (N, H, W, C) uint8."""
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"images: expected (N, H, W, C) uint8, got shape {x.shape} dtype {x.dtype}")
    m = np.asarray(masks)
    if m.dtype != bool:
        raise ValueError(f"masks: expected a bool array (True = kept), got dtype {m.dtype}")
    if m.shape != x.shape[:3]:
        raise ValueError(f"masks: expected shape {x.shape[:3]} (the images' N, H, W), got {m.shape}")
    f = np.asarray(fill)
    if not np.issubdtype(f.dtype, np.integer) or f.ndim > 1 or (f.ndim == 1 and f.shape != (x.shape[3],)):
        raise ValueError(f"fill: expected an int or {x.shape[3]} ints (one per channel) in 0..255, got {fill!r}")
    if (f < 0).any() or (f > 255).any():
        raise ValueError(f"fill: expected values in 0..255, got {fill!r}")
    return np.where(m[..., None], x, f.astype(np.uint8))
