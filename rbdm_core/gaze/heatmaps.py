"""Gaze heatmaps: the Gaussian kernel, heatmaps of fixations, of a model and of chance, and the
binary fixation maps that NSS and AUC-Judd take as reference (paper section 5.3).

Heatmap (Courtemanche et al. 2018; Blignaut 2010)
-------------------------------------------------
`I(x, y) = sum_f w_f * exp(-((x - f_x)^2 + (y - f_y)^2) / (2 sigma^2))`, with `sigma = c`,
FWHM = 2 sqrt(2 ln 2) sigma = `fwhm_fraction` (40 %) of the visual span (`geometry.visual_span_px`,
diameter convention).

Cut-off
-------
A Gaussian is never 0, so the perceptive mask ("remove where the heatmap is 0") needs a cut-off:
`heatmap(..., cutoff=r)` sets each fixation's contribution to 0 where its distance `d > r`.
The default used by `kernel_for_image` is the span's RADIUS (`span / 2`): a pixel counts as
perceived when it lies inside the visual span's disc around a fixation. With sigma from the
diameter, that cut-off is `2 sqrt(2 ln 2) / (2 * 0.4) ~ 2.94` sigma.
`heatmap(..., cutoff=None)` (its signature's default) is the uncut Gaussian sum.

Maps are `(H, W)`, `(N, H, W)` per image or `(A, N, H, W)` per annotator and image, in image
pixels; fixations `(K, 2)` (x = column, y = row) in image pixel-centre coordinates
(`geometry.screen_to_image`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from rbdm_core.checks import _image_shape, _is_int, _points, _positive
from rbdm_core.ranking import pseudo_fixations
from .geometry import (
    DIAGONAL_IN,
    DISPLAY_PX,
    DISTANCE_CM,
    SCREEN_RESOLUTION,
    VISUAL_ANGLE_DEG,
    fixations_in_image,
    span_in_image_px,
    visual_span_px,
)

#: Blignaut's FWHM of the heatmap's Gaussian as a share of the visual span.
FWHM_FRACTION = 0.4

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # 2.3548...


# ---------------------------------------------------------------------------------------------
# Kernel
# ---------------------------------------------------------------------------------------------


def sigma_from_span(span: float, fwhm_fraction: float = FWHM_FRACTION) -> float:
    """Gaussian sigma (the paper's c) whose FWHM is `fwhm_fraction * span`:
    `fwhm_fraction * span / (2 sqrt(2 ln 2))`, in the span's units."""
    return _positive("fwhm_fraction", fwhm_fraction) * _positive("span", span) / _FWHM_PER_SIGMA


@dataclass(frozen=True)
class GazeKernel:
    """Heatmap kernel in image pixels: `sigma`, `cutoff` (distance beyond which a fixation
    contributes 0) and the visual-span diameter `span` they came from."""

    sigma: float
    cutoff: float
    span: float


def kernel_for_image(
    image_px: float = 48,
    *,
    angle_deg: float = VISUAL_ANGLE_DEG,
    distance_cm: float = DISTANCE_CM,
    diagonal_in: float = DIAGONAL_IN,
    resolution: Sequence[int] = SCREEN_RESOLUTION,
    display_px: float = DISPLAY_PX,
    fwhm_fraction: float = FWHM_FRACTION,
    cutoff: str | float = "radius",
) -> GazeKernel:
    """The paper's kernel for an image of side `image_px`: span diameter in image pixels,
    sigma = fwhm_fraction * span / 2.3548, cutoff = span / 2 ("radius", default), span
    ("diameter") or a number of image pixels. For 48 px: span ~ 10.47, sigma ~ 1.78, cutoff ~ 5.24."""
    span = span_in_image_px(
        visual_span_px(angle_deg, distance_cm, diagonal_in, resolution, convention="diameter"),
        display_px=display_px,
        image_px=image_px,
    )
    if cutoff == "radius":
        cut = span / 2.0
    elif cutoff == "diameter":
        cut = span
    else:
        cut = _positive("cutoff", cutoff)
    return GazeKernel(sigma=sigma_from_span(span, fwhm_fraction), cutoff=cut, span=span)


def kernel_for_geometry(geometry, image_px: float = 48, *, fwhm_fraction: float = FWHM_FRACTION,
                        cutoff: str | float = "radius") -> GazeKernel:
    """The kernel of a study's own set-up (a `data.annotators.StudyGeometry`, e.g. a recording's,
    read from its sidecar): its visual angle (`visual_angle_deg`), viewing distance, screen
    diagonal and resolution, and the side the image was shown at (`display_px`), for an image of
    `image_px` pixels. `StudyGeometry()` is the paper's set-up and gives `kernel_for_image`'s."""
    return kernel_for_image(image_px, angle_deg=getattr(geometry, "visual_angle_deg", VISUAL_ANGLE_DEG),
                            distance_cm=geometry.distance_cm, diagonal_in=geometry.diagonal_in,
                            resolution=geometry.screen, display_px=geometry.display_px,
                            fwhm_fraction=fwhm_fraction, cutoff=cutoff)


def describe_kernel(kernel: GazeKernel, geometry, image_px: float, given: Sequence[str] | None = None) -> str:
    """One sentence: the kernel in image pixels and where each number of the set-up came from.
    given: the fields a recording's sidecar set (None: simulated annotators, the paper's set-up)."""
    def src(*fields):
        if given is None:
            return "the paper's set-up"
        return "the sidecar" if any(f in given for f in fields) else "default: the paper's"

    w, h = geometry.screen
    return (f"gaze kernel for {image_px:g} px images: span {kernel.span:.2f} px, sigma {kernel.sigma:.2f} px, "
            f"cut-off {kernel.cutoff:.2f} px, from a visual angle of {getattr(geometry, 'visual_angle_deg', 5.0):g} "
            f"degrees ({src('visual_angle_deg')}) at {geometry.distance_cm:g} cm ({src('distance_cm')}) on a "
            f"{geometry.diagonal_in:g}-inch ({src('diagonal_in')}) {w}x{h} screen ({src('screen')}), the image shown "
            f"at {geometry.display_px} px ({src('placement', 'display_px')})")


# ---------------------------------------------------------------------------------------------
# Heatmap and fixation map
# ---------------------------------------------------------------------------------------------


def heatmap(
    fixations: Any,
    shape: Sequence[int],
    sigma: float,
    cutoff: float | None = None,
    weights: Any = None,
    *,
    allow_outside: bool = False,
) -> np.ndarray:
    """Gaze heatmap `(H, W)` float64.

    fixations: (K, 2) (x = column, y = row) in image pixels (pixel-centre coordinates, floats ok).
    shape:     (H, W).
    sigma:     Gaussian sigma in pixels (> 0).
    cutoff:    None = no cut-off; else a fixation contributes 0 where its distance d > cutoff
               (d == cutoff is kept).
    weights:   None (all 1) or (K,) finite non-negative weights, e.g. durations.
    allow_outside: fixations outside the image (x not in [-0.5, W - 0.5), ...) raise a
               ValueError unless True (then they still contribute to pixels within reach).

    Value at pixel (row, col): `sum_k w_k exp(-((col - x_k)^2 + (row - y_k)^2) / (2 sigma^2))`.
    K = 0 gives an all-zero map (no fixation, nothing perceived). Without a cut-off the Gaussian
    factorises and the map is one matrix product `(w * Gy)^T @ Gx`; with one, each fixation's
    factorised Gaussian is added inside its disc (`dx^2 <= cutoff^2 - dy^2`) within its bounding
    box. Neither loops over pixels in Python.
    """
    h, w = _image_shape(shape)
    fx = _points("fixations", fixations)
    s = _positive("sigma", sigma)
    c = None if cutoff is None else _positive("cutoff", cutoff, allow_zero=True)
    k = len(fx)
    bad = ~np.isfinite(fx).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"fixations: row {i} is not finite: {fx[i].tolist()}")
    if weights is None:
        wt = np.ones(k)
    else:
        wt = np.asarray(weights, dtype=np.float64)
        if wt.shape != (k,):
            raise ValueError(f"weights: expected shape ({k},) (one per fixation), got {wt.shape}")
        badw = ~np.isfinite(wt) | (wt < 0)
        if badw.any():
            i = int(np.flatnonzero(badw)[0])
            raise ValueError(f"weights: expected finite values >= 0, row {i} is {wt[i]!r}")
    if not allow_outside and k:
        off = (fx[:, 0] < -0.5) | (fx[:, 0] >= w - 0.5) | (fx[:, 1] < -0.5) | (fx[:, 1] >= h - 0.5)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise ValueError(
                f"fixations: row {i} = (x={fx[i, 0]:g}, y={fx[i, 1]:g}) lies outside the {h}x{w} image "
                f"(expected -0.5 <= x < {w - 0.5:g}, -0.5 <= y < {h - 0.5:g}); "
                "drop it (gaze.fixations_in_image) or pass allow_outside=True"
            )
    out = np.zeros((h, w), dtype=np.float64)
    if k == 0:
        return out
    inv = 1.0 / (2.0 * s * s)
    cols = np.arange(w, dtype=np.float64)
    rows = np.arange(h, dtype=np.float64)
    if c is None:
        gx = np.exp(-((cols[None, :] - fx[:, :1]) ** 2) * inv)  # (K, W)
        gy = np.exp(-((rows[None, :] - fx[:, 1:]) ** 2) * inv)  # (K, H)
        return np.ascontiguousarray((gy * wt[:, None]).T) @ gx
    c2 = c * c
    for (x, y), wk in zip(fx, wt):
        c0, c1 = max(0, math.ceil(x - c)), min(w, math.floor(x + c) + 1)
        r0, r1 = max(0, math.ceil(y - c)), min(h, math.floor(y + c) + 1)
        if c0 >= c1 or r0 >= r1 or wk == 0:
            continue
        dx2 = (cols[c0:c1] - x) ** 2
        dy2 = (rows[r0:r1] - y) ** 2
        inside = dx2[None, :] <= (c2 - dy2)[:, None]  # d^2 <= cutoff^2, row by row
        val = np.multiply((wk * np.exp(-dy2 * inv))[:, None], np.exp(-dx2 * inv)[None, :])
        box = out[r0:r1, c0:c1]
        np.add(box, val, out=box, where=inside)
    return out


def _pixels(name: str, points: Any, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) int64 of the pixel containing each (x, y) point of `points (K, 2)` (rounded half
    up to the nearest pixel centre) in an image of `shape (H, W)`; points off it raise."""
    h, w = _image_shape(shape)
    xy = _points(name, points)
    if not np.isfinite(xy).all():
        raise ValueError(f"{name}: expected finite (x, y), got NaN or inf")
    col = np.floor(xy[:, 0] + 0.5).astype(np.int64)
    row = np.floor(xy[:, 1] + 0.5).astype(np.int64)
    off = (col < 0) | (col >= w) | (row < 0) | (row >= h)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"{name}: row {i} = {xy[i].tolist()} lies outside the {h}x{w} image")
    return row, col


def fixation_map(fixations: Any, shape: Sequence[int]) -> np.ndarray:
    """Binary fixation map `(H, W)` bool: True at the pixel containing each fixation
    (x, y rounded half up to the nearest pixel centre). Fixations off the image raise."""
    row, col = _pixels("fixations", fixations, shape)
    out = np.zeros(_image_shape(shape), dtype=bool)
    out[row, col] = True
    return out


# ---------------------------------------------------------------------------------------------
# Heatmaps from a study's fixation table
# ---------------------------------------------------------------------------------------------


@dataclass
class AnnotatorHeatmaps:
    """Per (annotator, image) gaze heatmaps.

    annotators:  (A,) the annotator ids, sorted.
    maps:        (A, n_images, H, W) float64.
    n_fixations: (A, n_images) int, fixations used (on the image).
    n_dropped:   (A, n_images) int, fixations dropped because they fell off the image.
    """

    annotators: np.ndarray
    maps: np.ndarray
    n_fixations: np.ndarray
    n_dropped: np.ndarray


_FIXATION_COLUMNS = ("annotator", "image_index", "x_screen", "y_screen")


def fixation_heatmaps(
    fixations_df: pd.DataFrame,
    n_images: int,
    image_shape: Sequence[int],
    sigma: float,
    cutoff: float | None,
    *,
    weight: str | None = None,
    display_px: float | None = None,
    screen: Sequence[int] | None = None,
    geometry: Any = None,
) -> AnnotatorHeatmaps:
    """Heatmaps per (annotator, image) from a study's fixation table.

    fixations_df: columns annotator, image_index, x_screen, y_screen (+ duration_ms if
                  `weight="duration_ms"`), e.g. `GazeStudy.fixations`.
    n_images, image_shape (H, W): the images the study showed (resized to the model input).
    sigma, cutoff: in image pixels (see `kernel_for_image`).
    geometry:     optional object with `display_px` and `screen` attributes (`StudyGeometry`);
                  explicit `display_px` / `screen` win; defaults 1200 and (2560, 1440).
    Fixations off the image are dropped and counted in `n_dropped`.
    """
    missing = [c for c in _FIXATION_COLUMNS if c not in fixations_df.columns]
    if weight is not None and weight not in fixations_df.columns:
        missing.append(weight)
    if missing:
        raise ValueError(f"fixations_df: missing column(s) {missing}; expected {list(_FIXATION_COLUMNS)}")
    if int(n_images) != n_images or n_images < 0:
        raise ValueError(f"n_images: expected an int >= 0, got {n_images!r}")
    if display_px is None:
        display_px = getattr(geometry, "display_px", DISPLAY_PX)
    if screen is None:
        screen = getattr(geometry, "screen", SCREEN_RESOLUTION)
    h, w = _image_shape(image_shape)
    idx = fixations_df["image_index"].to_numpy()
    bad = (idx < 0) | (idx >= n_images) | (np.asarray(idx, dtype=np.float64) % 1 != 0)
    if bad.any():
        row = fixations_df.index[int(np.flatnonzero(bad)[0])]
        raise ValueError(f"fixations_df: row {row} has image_index {idx[bad][0]!r}, expected 0 <= image_index < {n_images}")
    annotators = np.array(sorted(fixations_df["annotator"].unique()))
    maps = np.zeros((len(annotators), int(n_images), h, w))
    n_fix = np.zeros((len(annotators), int(n_images)), dtype=np.int64)
    n_drop = np.zeros_like(n_fix)
    for ai, a in enumerate(annotators):
        sub = fixations_df[fixations_df["annotator"] == a]
        for img, grp in sub.groupby("image_index", sort=True):
            xy, kept, dropped = fixations_in_image(
                grp[["x_screen", "y_screen"]].to_numpy(np.float64), (h, w), display_px, screen
            )
            wts = None if weight is None else grp[weight].to_numpy(np.float64)[kept]
            maps[ai, int(img)] = heatmap(xy, (h, w), sigma, cutoff, wts)
            n_fix[ai, int(img)] = len(xy)
            n_drop[ai, int(img)] = dropped
    return AnnotatorHeatmaps(annotators=annotators, maps=maps, n_fixations=n_fix, n_dropped=n_drop)


def study_fixation_maps(fixations_df: pd.DataFrame, n_images: int, image_shape: Sequence[int],
                        geometry: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Binary fixation maps per annotator and image, the reference of NSS and AUC-Judd.

    fixations_df: columns annotator, image_index, x_screen, y_screen (`GazeStudy.fixations`);
    geometry: object with `display_px` and `screen` (`StudyGeometry`; None: the paper's set-up).
    Returns `(annotators (A,), maps (A, n_images, H, W) bool)`: True at the pixel holding a
    fixation (`fixation_map`); fixations off the image are dropped."""
    for c in ("annotator", "image_index", "x_screen", "y_screen"):
        if c not in fixations_df.columns:
            raise ValueError(f"fixations_df: missing column {c!r}; expected annotator, image_index, x_screen, y_screen")
    h, w = _image_shape(image_shape)
    display_px = getattr(geometry, "display_px", DISPLAY_PX)
    screen = getattr(geometry, "screen", SCREEN_RESOLUTION)
    annotators = np.array(sorted(fixations_df["annotator"].unique()))
    out = np.zeros((len(annotators), int(n_images), h, w), dtype=bool)
    for a, aid in enumerate(annotators):
        sub = fixations_df[fixations_df["annotator"] == aid]
        for img, grp in sub.groupby("image_index", sort=True):
            if not 0 <= int(img) < n_images:
                raise ValueError(f"fixations_df: image_index {img!r} outside 0..{int(n_images) - 1}")
            xy, _, _ = fixations_in_image(grp[["x_screen", "y_screen"]].to_numpy(np.float64), (h, w),
                                          display_px, screen)
            out[a, int(img)] = fixation_map(xy, (h, w))
    return annotators, out


# ---------------------------------------------------------------------------------------------
# Model heatmaps and their chance baseline
# ---------------------------------------------------------------------------------------------


def model_heatmaps(relevance: Any, n: int, sigma: float, cutoff: float | None = None) -> np.ndarray:
    """Gaze heatmaps `(N, H, W)` float64 of the model: each relevance map's `n` most relevant
    pixels (`ranking.pseudo_fixations`, ties by row-major index) taken as fixations of weight 1
    at their pixel centres and summed with `heatmap(..., sigma, cutoff)` (pixels).
    With a cut-off, the heatmap's support (> 0) is the perceptive mask of the same parameters."""
    rel = np.asarray(relevance)
    if rel.ndim != 3:
        raise ValueError(f"relevance: expected (N, H, W) maps, got shape {rel.shape}")
    points = pseudo_fixations(rel, n)
    shape = rel.shape[1:]
    out = np.zeros(rel.shape, dtype=np.float64)
    for i, p in enumerate(points):
        out[i] = heatmap(p, shape, sigma, cutoff)
    return out


def random_heatmaps(n_images: int, shape: Sequence[int], n: int, sigma: float, cutoff: float | None = None,
                    seed: int = 0) -> np.ndarray:
    """Chance baseline for `model_heatmaps`: heatmaps `(n_images, H, W)` float64 from `n`
    distinct pixels per image drawn uniformly at random (numpy Generator(seed))."""
    if not _is_int(n_images) or n_images < 0:
        raise ValueError(f"n_images: expected an int >= 0, got {n_images!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    h, w = _image_shape(shape)
    rng = np.random.default_rng(int(seed))
    return model_heatmaps(rng.random((int(n_images), h, w)), n, sigma, cutoff)
