"""Relevance-based masks (paper section 5.4), vectorised over a batch of relevance maps.

Every mask is `(N, H, W)` bool with True where a pixel is KEPT (m_i = 1) and False where it is
removed (m_i = 0); a single `(H, W)` map gives an `(H, W)` mask.

Ranking and ties: "the k most relevant pixels" of an image are its k largest relevance values;
among equal values the pixel with the lower row-major index (row * W + col) ranks first. This is
exactly the order of a stable sort of `-relevance` (tested against `np.argsort(kind="stable")`).

Counts: `k = round(fraction * H * W)` with Python's `round` (half to even: 0.5 -> 0, 2.5 -> 2);
k = 0 removes (or keeps) nothing.

Relevance maps must be finite: NaN or inf raise a ValueError naming the image.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core import gaze
from rbdm_core.artifacts import atomic_path, atomic_write_text
from rbdm_core.progress import disabled

MASK_TYPES = ("negative", "mean", "perceptive", "top_fraction", "random_fraction")


# ---------------------------------------------------------------------------------------------
# validation helpers
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


# ---------------------------------------------------------------------------------------------
# the masks
# ---------------------------------------------------------------------------------------------


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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected an int >= 1 (number of pseudo-fixations), got {n!r}")
    if n > h * w:
        raise ValueError(f"n: {n} pseudo-fixations requested but an image has only {h}x{w} = {h * w} pixels")
    gaze._positive("sigma", sigma)
    if cutoff is None:
        raise ValueError(
            "cutoff: the perceptive mask needs a finite cut-off radius in pixels (a Gaussian is never 0, "
            "so without one every pixel is kept); e.g. gaze.kernel_for_image(H).cutoff"
        )
    c = gaze._positive("cutoff", cutoff, allow_zero=True)
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


def pseudo_fixations(relevance: Any, n: int) -> list[np.ndarray]:
    """Each image's `n` most relevant pixels as (n, 2) float64 (x = col, y = row) fixations, in
    row-major order (the points `perceptive_mask` uses)."""
    r, _ = _batch(relevance)
    b, h, w = r.shape
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= h * w:
        raise ValueError(f"n: expected an int with 1 <= n <= {h * w} (pixels per image), got {n!r}")
    points = top_k_flat(r.reshape(b, h * w), int(n))
    out = []
    for row in points:
        idx = np.flatnonzero(row)
        out.append(np.stack([idx % w, idx // w], axis=1).astype(np.float64))
    return out


# ---------------------------------------------------------------------------------------------
# statistics and application
# ---------------------------------------------------------------------------------------------


def _masks(masks: Any, name: str = "masks") -> np.ndarray:
    m = np.asarray(masks)
    if m.dtype != bool:
        raise ValueError(f"{name}: expected a bool array (True = kept), got dtype {m.dtype}")
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"{name}: expected shape (N, H, W), got {np.shape(masks)}")
    return m


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


def mask_stats(masks: Any, regions: Any = None) -> pd.DataFrame:
    """Per-image table: `image`, `kept_fraction` = |kept| / (H W); with ground-truth `regions`
    (N, H, W) bool also `precision` = |kept & regions| / |kept| and `recall` =
    |kept & regions| / |regions| (NaN where the denominator is 0)."""
    m = _masks(masks)
    n = len(m)
    kept = m.reshape(n, m.shape[1] * m.shape[2]).sum(axis=1)
    df = pd.DataFrame({"image": np.arange(n), "kept_fraction": kept / m[0].size if n else []})
    if regions is not None:
        g = _masks(regions, "regions")
        if g.shape != m.shape:
            raise ValueError(f"regions: expected the masks' shape {m.shape}, got {g.shape}")
        inter = (m & g).sum(axis=(1, 2)).astype(np.float64)
        size = g.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            df["precision"] = np.where(kept > 0, inter / np.maximum(kept, 1), np.nan)
            df["recall"] = np.where(size > 0, inter / np.maximum(size, 1), np.nan)
    return df


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


# ---------------------------------------------------------------------------------------------
# cached, resumable builder
# ---------------------------------------------------------------------------------------------


def _check_mask_params(mask_type: str, params: Mapping[str, Any]) -> Callable[[np.ndarray, int], np.ndarray]:
    """Validate parameters up front (before anything is written) and return chunk -> masks."""
    allowed = {
        "negative": {"fraction"},
        "mean": set(),
        "perceptive": {"n", "sigma", "cutoff"},
        "top_fraction": {"fraction"},
        "random_fraction": {"fraction", "seed"},
    }
    if mask_type not in allowed:
        raise ValueError(f"mask_type: expected one of {list(MASK_TYPES)}, got {mask_type!r}")
    extra = set(params) - allowed[mask_type]
    if extra:
        raise ValueError(f"{mask_type} mask: unexpected parameter(s) {sorted(extra)}; expected {sorted(allowed[mask_type])}")
    p = dict(params)
    if mask_type == "negative":
        _fraction(p.setdefault("fraction", 0.1))
        return lambda r, start: negative_mask(r, p["fraction"])
    if mask_type == "mean":
        return lambda r, start: mean_mask(r)
    if mask_type == "top_fraction":
        if "fraction" not in p:
            raise ValueError("top_fraction mask: parameter 'fraction' is required")
        _fraction(p["fraction"])
        return lambda r, start: top_fraction_mask(r, p["fraction"])
    if mask_type == "random_fraction":
        if "fraction" not in p:
            raise ValueError("random_fraction mask: parameter 'fraction' is required")
        _fraction(p["fraction"])
        seed = p.setdefault("seed", 0)
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
        return lambda r, start: random_fraction_mask(r.shape, p["fraction"], seed=int(seed), start=start)
    missing = {"n", "sigma", "cutoff"} - set(p)
    if missing:
        raise ValueError(f"perceptive mask: missing parameter(s) {sorted(missing)}")
    gaze._positive("sigma", p["sigma"])
    gaze._positive("cutoff", p["cutoff"], allow_zero=True)
    if isinstance(p["n"], bool) or not isinstance(p["n"], (int, np.integer)) or p["n"] < 1:
        raise ValueError(f"n: expected an int >= 1, got {p['n']!r}")
    return lambda r, start: perceptive_mask(r, p["n"], p["sigma"], p["cutoff"])


def build_masks(
    store: Any,
    key_params: Mapping[str, Any],
    relevance: np.ndarray | Callable[[int, int], np.ndarray],
    mask_type: str,
    chunk: int = 1024,
    *,
    n_images: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    progress: bool = True,
    **mask_params: Any,
) -> np.ndarray:
    """Masks `(N, H, W)` bool for a whole data set, built once and cached.

    store:       `rbdm_core.artifacts.Store`; files go to `store.dir("masks", params)` with
                 params = {**key_params, mask_type, chunk, n_images, **mask_params} (defaults
                 filled in), so any changed parameter gives another directory.
    key_params:  what identifies the relevance maps (Trainer key, relevance method, data set...):
                 the cache cannot see inside `relevance`, the caller must name it here.
    relevance:   (N, H, W) array, or a callable `(start, stop) -> (stop - start, H, W)` array
                 (then `n_images` = N is required), called only for chunks not yet on disk.
    mask_type:   one of MASK_TYPES; mask_params: that mask's parameters (fraction; n, sigma,
                 cutoff; fraction, seed).
    chunk:       images per file `masks_<i>.npy` (i = 0, 1, ...), each written atomically;
                 a `done` marker (JSON) is written last.
    on_chunk:    called as `on_chunk(i, n_chunks)` after chunk i is saved (progress, tests).

    Interrupted runs resume: existing chunk files are kept and only missing ones computed.
    """
    compute = _check_mask_params(mask_type, mask_params)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk: expected an int >= 1, got {chunk!r}")
    if callable(relevance):
        n = n_images
        if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n_images: a callable relevance needs n_images = the number of images (int >= 0), got {n!r}")
        total = int(n)
        get = relevance
    else:
        arr, single = _batch(relevance)
        if single:
            raise ValueError(f"relevance: expected an (N, H, W) array, got shape {np.shape(relevance)}")
        if n_images is not None and n_images != len(arr):
            raise ValueError(f"n_images: {n_images} given but relevance holds {len(arr)} maps")
        total = len(arr)
        get = lambda a, b: arr[a:b]  # noqa: E731
    # the parameters as actually used (defaults filled in by _check_mask_params' view of them)
    used = dict(mask_params)
    if mask_type == "negative":
        used.setdefault("fraction", 0.1)
    if mask_type == "random_fraction":
        used.setdefault("seed", 0)
    params = {**dict(key_params), "mask_type": mask_type, "chunk": int(chunk), "n_images": total, **used}
    d = store.dir("masks", params)
    n_chunks = math.ceil(total / chunk)
    files = [d / f"masks_{i:05d}.npy" for i in range(n_chunks)]
    done = d / "done"
    if not done.exists():
        todo = [i for i in range(n_chunks) if not files[i].exists()]
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"{mask_type} masks", unit="chunk", leave=False,
                       disable=disabled())
        try:
            for i in todo:
                a, b = i * chunk, min(total, (i + 1) * chunk)
                rel = np.asarray(get(a, b))
                if rel.ndim != 3 or len(rel) != b - a:
                    raise ValueError(f"relevance: chunk {i} (images {a}..{b - 1}) has shape {rel.shape}, expected ({b - a}, H, W)")
                try:
                    m = compute(rel, a)
                except ValueError as e:
                    raise ValueError(f"build_masks: chunk {i} (images {a}..{b - 1}): {e}") from e
                with atomic_path(files[i]) as tmp:
                    with open(tmp, "wb") as fh:
                        np.save(fh, np.ascontiguousarray(m, dtype=bool))
                if bar is not None:
                    bar.update(1)
                if on_chunk is not None:
                    on_chunk(i, n_chunks)
        finally:
            if bar is not None:
                bar.close()
    parts = [np.load(f, allow_pickle=False) for f in files]
    shapes = {p.shape[1:] for p in parts}
    if len(shapes) > 1 or (parts and parts[0].dtype != bool):
        raise ValueError(f"build_masks: chunk files under {d} disagree in shape or dtype ({shapes}); delete the folder")
    out = np.concatenate(parts) if parts else np.zeros((0, 0, 0), dtype=bool)
    if not done.exists():
        atomic_write_text(done, json.dumps({"n_images": total, "shape": list(out.shape), "n_chunks": n_chunks}))
    return out
