"""Validation shared by the mask modules: relevance batches, fractions, bool masks."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np


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


def _fraction(fraction: Any, name: str = "fraction") -> float:
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number in (0, 1), got {fraction!r}") from None
    if not (0.0 < f < 1.0):
        raise ValueError(f"{name}: expected 0 < {name} < 1, got {fraction!r}")
    return f


def _count(fraction: float, n_pixels: int) -> int:
    return int(round(fraction * n_pixels))


def _out(mask: np.ndarray, single: bool) -> np.ndarray:
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
