"""Argument checks shared by every layer (gaze, masking, data, ...): one home, imported by all.

Each check raises a ValueError that names the argument and says what was expected, and returns
the value in the form the caller computes with. The names keep their leading underscore: they
are the library's own helpers, not part of its public API.

* numbers: `_is_int` (a Python or NumPy integer, never a bool), `_positive`, `_index`
  (a seed or start in 0..2**63 - 1), `_fraction` (0 < f < 1);
* gaze geometry: `_image_shape` ((H, W) positive ints), `_points` ((K, 2) x, y);
* relevance maps and masks: `_batch` ((N, H, W) finite numeric, or one (H, W) map), `_maps`,
  `_masks` ((N, H, W) bool), and `_count` / `_out` (pixels in a fraction, a single map's result);
* parameters of a registered function: `REQUIRED`, `resolve_params`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    """True for a Python or NumPy integer; False for a bool (an int to Python) and all else."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v


def _index(name: str, value: Any) -> int:
    """A seed or an image index: an int in 0..2**63 - 1 (Philox's key)."""
    if not _is_int(value) or not 0 <= value < 2**63:
        raise ValueError(f"{name}: expected an int in 0..2**63 - 1, got {value!r}")
    return int(value)


def _fraction(fraction: Any, name: str = "fraction") -> float:
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number in (0, 1), got {fraction!r}") from None
    if not (0.0 < f < 1.0):
        raise ValueError(f"{name}: expected 0 < {name} < 1, got {fraction!r}")
    return f


# ---------------------------------------------------------------------------------------------
# Gaze geometry
# ---------------------------------------------------------------------------------------------


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int]:
    if len(image_shape) != 2 or any(int(s) != s or s < 1 for s in image_shape):
        raise ValueError(f"image_shape: expected (H, W) positive ints, got {tuple(image_shape)!r}")
    return int(image_shape[0]), int(image_shape[1])


def _points(name: str, xy: Any) -> np.ndarray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name}: expected a (K, 2) array of (x, y), got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------------------------
# Relevance maps and masks
# ---------------------------------------------------------------------------------------------


def _batch(relevance: Any, name: str = "relevance") -> tuple[np.ndarray, bool]:
    """(N, H, W) float view of `relevance` and whether the input was a single (H, W) map."""
    r = np.asarray(relevance)
    if r.dtype == bool or not np.issubdtype(r.dtype, np.number):
        raise ValueError(f"{name}: expected a numeric (N, H, W) or (H, W) array, got dtype {r.dtype}")
    single = r.ndim == 2
    if single:
        r = r[None]
    if r.ndim != 3 or 0 in r.shape[1:]:
        raise ValueError(f"{name}: expected shape (N, H, W) or (H, W) with H, W >= 1, got {np.shape(relevance)}")
    finite = np.isfinite(r).all(axis=(1, 2))
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        nbad = int((~np.isfinite(r[i])).sum())
        raise ValueError(
            f"{name}: image {i} has {nbad} NaN or infinite value(s); expected finite relevance "
            "(check the relevance method's output for this image)"
        )
    return r, single


def _maps(maps: Any, name: str = "maps") -> np.ndarray:
    """(N, H, W) finite numeric maps as float64 (a single (H, W) map is refused)."""
    r, single = _batch(maps, name)
    if single:
        raise ValueError(f"{name}: expected shape (N, H, W), got {np.shape(maps)}")
    return r.astype(np.float64)


def _count(fraction: float, n_pixels: int) -> int:
    """Pixels in `fraction` of `n_pixels`: round(fraction * n_pixels), half to even."""
    return int(round(fraction * n_pixels))


def _out(mask: np.ndarray, single: bool) -> np.ndarray:
    """A result of `_batch`'s (N, H, W) view, as (H, W) again when the input was one map."""
    return mask[0] if single else mask


def _masks(masks: Any, name: str = "masks", *, single: bool = True) -> np.ndarray:
    """(N, H, W) bool masks; a single (H, W) mask becomes (1, H, W) unless `single=False`."""
    m = np.asarray(masks)
    if m.dtype != bool:
        raise ValueError(f"{name}: expected a bool array (True = kept), got dtype {m.dtype}")
    if m.ndim == 2 and single:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"{name}: expected shape (N, H, W), got {np.shape(masks)}")
    return m


# ---------------------------------------------------------------------------------------------
# Parameters of a registered function (mask types, fills)
# ---------------------------------------------------------------------------------------------

#: the default of a parameter the caller must give
REQUIRED = object()


def resolve_params(what: str, declared: Mapping[str, Any], given: Mapping[str, Any],
                   check: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """`given` checked against `declared` (name -> default, or REQUIRED), defaults filled in, then
    `check(params)`; an unknown or missing name is a ValueError naming `what` (e.g. "noise fill")."""
    extra = sorted(set(given) - set(declared))
    if extra:
        raise ValueError(f"{what}: unexpected parameter(s) {extra}; expected {sorted(declared)}")
    p = {k: v for k, v in declared.items() if v is not REQUIRED}
    p.update(given)
    missing = sorted(k for k in declared if k not in p)
    if missing:
        raise ValueError(f"{what}: missing parameter(s) {missing}")
    if check is not None:
        check(p)
    return p
