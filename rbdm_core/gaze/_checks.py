"""Argument checks shared by the gaze modules (and by `rbdm_core.masking` through `gaze._positive`).

Each raises a ValueError that names the argument and says what was expected.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int]:
    if len(image_shape) != 2 or any(int(s) != s or s < 1 for s in image_shape):
        raise ValueError(f"image_shape: expected (H, W) positive ints, got {tuple(image_shape)!r}")
    return int(image_shape[0]), int(image_shape[1])


def _points(name: str, xy: Any) -> np.ndarray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name}: expected a (K, 2) array of (x, y), got shape {arr.shape}")
    return arr
