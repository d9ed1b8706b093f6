"""The paper's data augmentation as stateless TensorFlow ops.

Per image: rotation up to `rotation_deg` degrees, shift up to `shift` of the width and of the
height, zoom, random horizontal flip (one projective transform, the same kernel Keras's
RandomRotation/RandomTranslation/RandomZoom/RandomFlip layers use: ImageProjectiveTransformV3),
then a per-channel shift within `channel_shift` of the value range (added, like Keras's
`channel_shift_range`) and a brightness factor in `brightness` (multiplied, like
ImageDataGenerator's `brightness_range`); values clipped to 0..255 after each step.

Zoom: the paper says "a random zoom of up to 85 percent of the original image dimensions". We read
it as Keras's ImageDataGenerator(zoom_range=0.15): the sampled region's side is 85%..115% of the
image (zoom in up to 1/0.85, zoom out up to 1/1.15), i.e. `zoom=(-0.15, 0.15)`; set
`zoom=(-0.15, 0.0)` for "zoom in only, down to 85% of the image".

Why not Keras's random layers themselves: they draw from hidden generator state that a checkpoint
cannot restore, so a resumed run would augment differently. Here every random number is a pure
function of a (seed, step) pair (`tf.random.stateless_uniform`), which makes resume bitwise exact
and makes the result independent of how many replicas share a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation ranges (the paper's by default); `enabled=False` turns all of it off."""

    rotation_deg: float = 25.0
    shift: float = 0.1
    zoom: tuple[float, float] = (-0.15, 0.15)
    channel_shift: float = 0.2
    brightness: tuple[float, float] = (0.5, 1.5)
    hflip: bool = True
    fill_mode: str = "nearest"
    enabled: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.rotation_deg <= 180:
            raise ValueError(f"rotation_deg: expected 0..180 degrees, got {self.rotation_deg}")
        if not 0 <= self.shift < 1:
            raise ValueError(f"shift: expected a fraction in [0, 1), got {self.shift}")
        zlo, zhi = self.zoom
        if not (-1 < zlo <= zhi):
            raise ValueError(f"zoom: expected (lo, hi) with -1 < lo <= hi, got {self.zoom}")
        if not 0 <= self.channel_shift <= 1:
            raise ValueError(f"channel_shift: expected a fraction in [0, 1], got {self.channel_shift}")
        blo, bhi = self.brightness
        if not (0 <= blo <= bhi):
            raise ValueError(f"brightness: expected (lo, hi) with 0 <= lo <= hi, got {self.brightness}")
        if self.fill_mode not in ("nearest", "reflect", "wrap", "constant"):
            raise ValueError(f"fill_mode: expected nearest, reflect, wrap or constant, got {self.fill_mode!r}")


def random_params(batch: int, seed, cfg: AugmentConfig) -> dict:
    """Per-image random draws for a batch, a pure function of `seed` (int64 tensor of shape (2,)).

    Returns tensors: angle (B,) radians, tx, ty (B,) fractions, zoom (B,) factor, flip (B,) +-1,
    chshift (B, 3) fractions, bright (B,) factors.
    """
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=7)

    def u(i, shape, lo, hi):
        return tf.random.stateless_uniform(shape, seed=seeds[i], minval=lo, maxval=hi, dtype=tf.float32)

    rot = math.radians(cfg.rotation_deg)
    return {
        "angle": u(0, [batch], -rot, rot),
        "tx": u(1, [batch], -cfg.shift, cfg.shift),
        "ty": u(2, [batch], -cfg.shift, cfg.shift),
        "zoom": u(3, [batch], 1.0 + cfg.zoom[0], 1.0 + cfg.zoom[1]),
        "flip": tf.where(u(4, [batch], 0.0, 1.0) < (0.5 if cfg.hflip else 0.0), -1.0, 1.0),
        "chshift": u(5, [batch, 3], -cfg.channel_shift, cfg.channel_shift),
        "bright": u(6, [batch], cfg.brightness[0], cfg.brightness[1]),
    }


def slice_params(params: dict, start, stop) -> dict:
    return {k: v[start:stop] for k, v in params.items()}


def apply_params(x, params: dict, cfg: AugmentConfig):
    """Augment `x` (B, H, W, C) float32 in 0..255 with the draws `params` (see random_params)."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    if not cfg.enabled:
        return x
    shape = tf.shape(x)
    h = tf.cast(shape[1], tf.float32)
    w = tf.cast(shape[2], tf.float32)
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    z, a, f = params["zoom"], params["angle"], params["flip"]
    cos, sin = tf.cos(a), tf.sin(a)
    # output pixel p maps to input point c + z * R(a) * diag(f, 1) * (p - c) - t
    m00, m01 = z * cos * f, -z * sin
    m10, m11 = z * sin * f, z * cos
    tx, ty = params["tx"] * w, params["ty"] * h
    zeros = tf.zeros_like(z)
    transforms = tf.stack([m00, m01, cx - m00 * cx - m01 * cy - tx,
                           m10, m11, cy - m10 * cx - m11 * cy - ty, zeros, zeros], axis=1)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=transforms, output_shape=shape[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode=cfg.fill_mode.upper())
    c = x.shape[-1] or 3
    x = tf.clip_by_value(x + params["chshift"][:, None, None, :c] * 255.0, 0.0, 255.0)
    x = tf.clip_by_value(x * params["bright"][:, None, None, None], 0.0, 255.0)
    return x


def augment(x, seed, cfg: AugmentConfig):
    """Augment a batch `x` (B, H, W, C) 0..255 with draws from `seed` ((2,) ints) -> float32."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    x = tf.cast(x, tf.float32)
    return apply_params(x, random_params(tf.shape(x)[0], seed, cfg), cfg)


def augment_preview(images: np.ndarray, n: int = 8, seed: int = 0, cfg: AugmentConfig | None = None) -> np.ndarray:
    """`n` augmented versions of each image: (N, H, W, C) uint8 -> (N, n, H, W, C) uint8."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"augment_preview: images must be (N, H, W, C) uint8, got {images.shape} {images.dtype}")
    cfg = cfg or AugmentConfig()
    out = np.empty((len(images), n) + images.shape[1:], np.uint8)
    for j in range(n):
        y = augment(images, np.array([seed, j], np.int64), cfg)
        out[:, j] = np.round(np.asarray(y)).astype(np.uint8)
    return out
