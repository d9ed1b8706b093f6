"""Input checks for relevance: the model, the preprocessed images and the explained classes.

    model, preprocess = load(bundle_or_path)
    job = inputs(model, preprocess, images)     # images (N, H, W, C) uint8 -> job.x (N, h, w, c) float32
    t = targets("predicted", logits)            # logits (N, K) -> (N,) int64
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from rbdm_core.models import load_bundle


@dataclass
class Job:
    """The preprocessed inputs of one relevance call."""

    model: Any  # the original keras.Model
    x: np.ndarray  # (N, h, w, c) float32, preprocessed
    bounds: tuple[float, float]  # input value range, for the z^B rule
    baseline: np.ndarray  # (h, w, c) float32, integrated-gradients baseline


def load(bundle_or_path):
    """(keras model, preprocess or None) from a ModelBundle, a bare keras.Model, or a name/path."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    if isinstance(bundle_or_path, tf.keras.Model):
        return bundle_or_path, None
    if isinstance(bundle_or_path, (str, os.PathLike)):
        bundle_or_path = load_bundle(bundle_or_path)
    if hasattr(bundle_or_path, "model") and hasattr(bundle_or_path, "preprocess"):
        return bundle_or_path.model, bundle_or_path.preprocess
    raise ValueError(f"relevance: bundle_or_path must be a ModelBundle, a keras.Model or a model name/path, "
                     f"got {type(bundle_or_path).__name__}")


def preprocess_bounds(preprocess) -> tuple[float, float] | None:
    """(low, high): the range a `Preprocess` maps pixel values 0..255 to (the z^B rule's input
    bounds); None for an object without `scale` and `offset`."""
    scale, offset = getattr(preprocess, "scale", None), getattr(preprocess, "offset", None)
    if scale is None or offset is None:
        return None
    a, b = float(offset), float(255 * scale + offset)
    return (min(a, b), max(a, b))


def _preprocess_list(preprocess, images) -> np.ndarray:
    """A list of (H_i, W_i, C) uint8 images of any sizes -> (N, h, w, c) float32, each group of
    one size preprocessed together (the preprocess brings every size to the model's input)."""
    for i, im in enumerate(images):
        if not isinstance(im, np.ndarray) or im.ndim != 3 or im.dtype != np.uint8 or im.shape[-1] not in (1, 3):
            raise ValueError(f"relevance: image {i} of the list must be an (H, W, 1|3) uint8 array, got "
                             f"{getattr(im, 'dtype', type(im).__name__)} {getattr(im, 'shape', '')}")
    groups: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape, []).append(i)
    out = None
    for idx in groups.values():
        x = np.asarray(preprocess(np.stack([images[i] for i in idx])), np.float32)
        if out is None:
            out = np.empty((len(images), *x.shape[1:]), np.float32)
        out[idx] = x
    return out


def inputs(model, preprocess, images) -> Job:
    """Check and preprocess `images` (N, H, W, C): uint8 with a preprocess, else uint8 or float at
    the model's input shape. With a preprocess, `images` may also be a list of (H, W, C) uint8
    images of different sizes (all come out at the model's input size: one analysis for all).
    bounds: the preprocessed range of 0..255 (uint8), else the data's."""
    if isinstance(images, (list, tuple)) and preprocess is not None:
        if not images:
            raise ValueError("relevance: images is empty (N = 0)")
        x = _preprocess_list(preprocess, images)
        want = tuple(model.inputs[0].shape[1:])
        if tuple(x.shape[1:]) != want:
            raise ValueError(f"relevance: images after preprocessing have shape {tuple(x.shape[1:])}; the model expects {want}")
        bounds = preprocess_bounds(preprocess)
        baseline = np.asarray(preprocess(np.zeros((1,) + images[0].shape, np.uint8)), np.float32)[0]
        return Job(model, x, bounds, baseline)
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise ValueError(f"relevance: images must be a (N, H, W, C) array, got "
                         f"{getattr(images, 'shape', type(images).__name__)}")
    if len(images) == 0:
        raise ValueError("relevance: images is empty (N = 0)")
    want = tuple(model.inputs[0].shape[1:])
    if preprocess is not None:
        if images.dtype != np.uint8:
            raise ValueError(f"relevance: images must be uint8 (N, H, W, C), got dtype {images.dtype}")
        x = np.asarray(preprocess(images), dtype=np.float32)
        bounds = preprocess_bounds(preprocess)
        baseline = np.asarray(preprocess(np.zeros((1,) + images.shape[1:], np.uint8)), np.float32)[0]
    else:  # bare keras.Model: identity preprocess, images already at the model's input shape
        if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"relevance: images must be uint8 or float, got dtype {images.dtype}")
        x = images.astype(np.float32)
        bounds = (0.0, 255.0) if images.dtype == np.uint8 else None
        baseline = None
    if tuple(x.shape[1:]) != want:
        raise ValueError(f"relevance: images have shape {tuple(images.shape[1:])} per image "
                         f"(after preprocessing {tuple(x.shape[1:])}); the model expects {want}")
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(1))[0])
        raise ValueError(f"relevance: image {bad} has NaN or infinite values")
    if bounds is None:
        bounds = (float(x.min()), float(x.max()))
        if bounds[0] == bounds[1]:
            bounds = (bounds[0] - 1.0, bounds[1] + 1.0)
    if baseline is None:
        baseline = np.full(x.shape[1:], bounds[0], np.float32)
    return Job(model, x, bounds, baseline)


def targets(target, logits: np.ndarray) -> np.ndarray:
    """(N,) int64 explained classes from "predicted" (arg-max of `logits` (N, K)), one int or (N,) ints."""
    n, k = logits.shape
    if isinstance(target, str):
        if target != "predicted":
            raise ValueError(f"relevance: target must be 'predicted', an int or (N,) ints, got {target!r}")
        return logits.argmax(1).astype(np.int64)
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n, t)
    if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"relevance: target must be 'predicted', an int or ({n},) ints, got shape {t.shape} "
                         f"dtype {t.dtype}")
    bad = np.flatnonzero((t < 0) | (t >= k))
    if len(bad):
        raise ValueError(f"relevance: target {int(t[bad[0]])} (image {int(bad[0])}) is out of range; "
                         f"the model has {k} classes (0..{k - 1})")
    return t.astype(np.int64)
