"""Applying masks to images: removed pixels get a constant or one of the registered fills."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rbdm_core.checks import _index
from rbdm_core.masking.fills import FILL_NAMES, Fill, fill_spec

#: values (pixels x channels) filled per step by the named fills: bounds their float64 working
#: copies to ~32 MiB each (1,820 gray 48x48 images, 27 colour 224x224 ones)
_BLOCK_VALUES = 2**22


def _images(images: Any) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"images: expected (N, H, W, C) uint8, got shape {x.shape} dtype {x.dtype}")
    return x


def _masks_for(x: np.ndarray, masks: Any) -> np.ndarray:
    m = np.asarray(masks)
    if m.dtype != bool:
        raise ValueError(f"masks: expected a bool array (True = kept), got dtype {m.dtype}")
    if m.shape != x.shape[:3]:
        raise ValueError(f"masks: expected shape {x.shape[:3]} (the N, H, W of images {x.shape}), got {m.shape}")
    return m


def _constant(x: np.ndarray, m: np.ndarray, fill: Any) -> np.ndarray:
    f = np.asarray(fill)
    if not np.issubdtype(f.dtype, np.integer) or f.ndim > 1 or (f.ndim == 1 and f.shape != (x.shape[3],)):
        raise ValueError(f"fill: expected one of {list(FILL_NAMES)}, an int or {x.shape[3]} ints (one per channel) "
                         f"in 0..255, got {fill!r}")
    if (f < 0).any() or (f > 255).any():
        raise ValueError(f"fill: expected values in 0..255, got {fill!r}")
    return np.where(m[..., None], x, f.astype(np.uint8))


def _to_uint8(values: np.ndarray, fill: str) -> np.ndarray:
    if not np.isfinite(values).all():  # a bug, never the caller's input: uint8 images are finite
        raise RuntimeError(f"fill {fill!r} produced a non-finite value")
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _named(x: np.ndarray, m: np.ndarray, spec: Fill, seed: int, start: int, params: dict) -> np.ndarray:
    out = x.copy()
    step = max(1, _BLOCK_VALUES // max(1, int(np.prod(x.shape[1:]))))
    for s in range(0, len(x), step):
        k = m[s:s + step]
        values = spec.make(x[s:s + step].astype(np.float64), k, seed, start + s, **params)
        out[s:s + step] = np.where(k[..., None], x[s:s + step], _to_uint8(values, spec.name))
    return out


def apply_mask(images: Any, masks: Any, fill: str | int | Sequence[int] = "zero", *, seed: int = 0,
               start: int = 0, **params: Any) -> np.ndarray:
    """Masked copy of `images (N, H, W, C) uint8`: pixels where `masks (N, H, W) bool` is False
    are filled, kept pixels are never changed. Returns (N, H, W, C) uint8.

    fill:   a name in `masking.FILLS` ("zero", the paper's and the default; "mean", "blur",
            "noise", "noisy_linear": see `masking.fills`), or a constant: an int 0..255 or one int
            per channel ("zero" and 0 give the same bytes). Named fills are computed in float64
            grey levels, rounded half to even and clipped to 0..255. An image that keeps no
            pixel becomes mid-grey 128 under "mean", "noise" and "noisy_linear" (plus its
            noise), its own blur under "blur".
    seed:   int >= 0 for the random fills ("noise", "noisy_linear"); the others ignore it.
    start:  index of images[0] in its data set: image i draws from Philox keyed by
            (seed, start + i), so chunks filled with their `start` equal one call.
    params: the fill's parameters, `FILLS[fill].params` (blur: sigma px = 5.0; noisy_linear:
            noise_sd = 0.01, as a fraction of 255).
    """
    x = _images(images)
    m = _masks_for(x, masks)
    if not isinstance(fill, str):
        if params:
            raise ValueError(f"fill: a constant fill takes no parameters, got {sorted(params)}")
        return _constant(x, m, fill)
    spec = fill_spec(fill)
    p = spec.resolve(params)
    seed, start = _index("seed", seed), _index("start", start)
    if spec.name == "zero":
        return _constant(x, m, 0)
    return _named(x, m, spec, seed, start, p)
