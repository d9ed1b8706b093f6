"""Gaze heatmaps and the eye-tracking study's geometry (paper section 5.3).

Coordinates
-----------
* Screen: continuous pixel coordinates, `x` to the right, `y` down, origin at the top-left corner
  of the screen (so screen pixel `i` covers `[i, i + 1)`).
* Image: pixel-centre coordinates, `x` = column, `y` = row; pixel `(row, col)` covers
  `[col - 0.5, col + 0.5) x [row - 0.5, row + 0.5)` and has its centre at `(x, y) = (col, row)`.
  The image is shown as a `display_px` square centred on a screen of `resolution = (W_s, H_s)`:
  its top-left corner lies at `(x0, y0) = ((W_s - display_px) / 2, (H_s - display_px) / 2)` and

      x_img = (x_screen - x0) * W / display_px - 0.5
      y_img = (y_screen - y0) * H / display_px - 0.5

  (`image_to_screen` is its exact inverse). A point lies on the image when
  `x0 <= x_screen < x0 + display_px` and likewise for y, i.e. `-0.5 <= x_img < W - 0.5`.

Heatmap (Courtemanche et al. 2018; Blignaut 2010)
-------------------------------------------------
`I(x, y) = sum_f w_f * exp(-((x - f_x)^2 + (y - f_y)^2) / (2 sigma^2))`, with `sigma = c`,
FWHM = 2 sqrt(2 ln 2) sigma = `fwhm_fraction` (40 %) of the visual span.

Visual span and cut-off (the choices this module makes explicit)
---------------------------------------------------------------
* The visual angle (5 degrees) is the full aperture of the cone around the gaze direction, so the
  span's DIAMETER on the screen is `2 d tan(angle / 2)` and its RADIUS `d tan(angle / 2)`.
  `visual_span_px(..., convention="diameter")` is the default and the value that `sigma_from_span`
  is fed (Blignaut's "visual span" is the width of the perceived area).
* A Gaussian is never 0, so the perceptive mask ("remove where the heatmap is 0") needs a cut-off:
  `heatmap(..., cutoff=r)` sets each fixation's contribution to 0 where its distance `d > r`.
  The default used by `kernel_for_image` is the span's RADIUS (`span / 2`): a pixel counts as
  perceived when it lies inside the visual span's disc around a fixation. With sigma from the
  diameter, that cut-off is `2 sqrt(2 ln 2) / (2 * 0.4) ~ 2.94` sigma.
  `heatmap(..., cutoff=None)` (its signature's default) is the uncut Gaussian sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

#: The paper's eye-tracking set-up.
SCREEN_RESOLUTION = (2560, 1440)
DIAGONAL_IN = 27.0
DISTANCE_CM = 70.0
DISPLAY_PX = 1200
VISUAL_ANGLE_DEG = 5.0
FWHM_FRACTION = 0.4

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # 2.3548...


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v


def _resolution(resolution: Sequence[int]) -> tuple[float, float]:
    if len(resolution) != 2:
        raise ValueError(f"resolution: expected (width, height) in pixels, got {resolution!r}")
    w = _positive("resolution[0] (width)", resolution[0])
    h = _positive("resolution[1] (height)", resolution[1])
    return w, h


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def pixel_pitch_cm(diagonal_in: float = DIAGONAL_IN, resolution: Sequence[int] = SCREEN_RESOLUTION) -> float:
    """Size of one screen pixel in cm (square pixels): diagonal (cm) / diagonal (px)."""
    diag = _positive("diagonal_in", diagonal_in)
    w, h = _resolution(resolution)
    return diag * 2.54 / math.hypot(w, h)


def visual_span_px(
    angle_deg: float = VISUAL_ANGLE_DEG,
    distance_cm: float = DISTANCE_CM,
    diagonal_in: float = DIAGONAL_IN,
    resolution: Sequence[int] = SCREEN_RESOLUTION,
    convention: str = "diameter",
) -> float:
    """Visual span in SCREEN pixels.

    convention="diameter" (default): `2 d tan(angle / 2) / pitch`, the width of the disc that a
    cone of full aperture `angle_deg` cuts out at `distance_cm`; "radius": half of it.
    Paper set-up (5 deg, 70 cm, 27-inch 2560x1440): diameter ~ 261.8 px.
    """
    angle = _positive("angle_deg", angle_deg)
    if angle >= 180:
        raise ValueError(f"angle_deg: expected 0 < angle_deg < 180, got {angle_deg!r}")
    d = _positive("distance_cm", distance_cm)
    diameter_cm = 2.0 * d * math.tan(math.radians(angle) / 2.0)
    diameter = diameter_cm / pixel_pitch_cm(diagonal_in, resolution)
    if convention == "diameter":
        return diameter
    if convention == "radius":
        return diameter / 2.0
    raise ValueError(f"convention: expected 'diameter' or 'radius', got {convention!r}")


def span_in_image_px(span_screen_px: float, display_px: float = DISPLAY_PX, image_px: float = 48) -> float:
    """A length in screen pixels as image pixels, for an image shown at `display_px` and resized to
    `image_px` (the model's input side): `span * image_px / display_px`."""
    span = _positive("span_screen_px", span_screen_px, allow_zero=True)
    return span * _positive("image_px", image_px) / _positive("display_px", display_px)


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


def _origin(display_px: float, screen: Sequence[int]) -> tuple[float, float]:
    w, h = _resolution(screen)
    disp = _positive("display_px", display_px)
    if disp > w or disp > h:
        raise ValueError(f"display_px: the {disp:g} px image does not fit on a {w:g}x{h:g} screen")
    return (w - disp) / 2.0, (h - disp) / 2.0


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int]:
    if len(image_shape) != 2 or any(int(s) != s or s < 1 for s in image_shape):
        raise ValueError(f"image_shape: expected (H, W) positive ints, got {tuple(image_shape)!r}")
    return int(image_shape[0]), int(image_shape[1])


def _points(name: str, xy: Any) -> np.ndarray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name}: expected a (K, 2) array of (x, y), got shape {arr.shape}")
    return arr


def screen_to_image(
    xy_screen: Any,
    image_shape: Sequence[int],
    display_px: float = DISPLAY_PX,
    screen: Sequence[int] = SCREEN_RESOLUTION,
) -> np.ndarray:
    """(K, 2) screen (x, y) -> (K, 2) float64 image pixel-centre (x=col, y=row) coordinates of an
    `image_shape = (H, W)` image shown as a `display_px` square centred on `screen` (see module
    doc). No clipping; NaN stays NaN. Use `fixations_in_image` to drop points off the image."""
    xy = _points("xy_screen", xy_screen)
    h, w = _image_shape(image_shape)
    x0, y0 = _origin(display_px, screen)
    out = np.empty_like(xy)
    out[:, 0] = (xy[:, 0] - x0) * (w / display_px) - 0.5
    out[:, 1] = (xy[:, 1] - y0) * (h / display_px) - 0.5
    return out


def image_to_screen(
    xy_image: Any,
    image_shape: Sequence[int],
    display_px: float = DISPLAY_PX,
    screen: Sequence[int] = SCREEN_RESOLUTION,
) -> np.ndarray:
    """Inverse of `screen_to_image`: (K, 2) image (x=col, y=row) -> (K, 2) screen (x, y)."""
    xy = _points("xy_image", xy_image)
    h, w = _image_shape(image_shape)
    x0, y0 = _origin(display_px, screen)
    out = np.empty_like(xy)
    out[:, 0] = x0 + (xy[:, 0] + 0.5) * (display_px / w)
    out[:, 1] = y0 + (xy[:, 1] + 0.5) * (display_px / h)
    return out


def fixations_in_image(
    xy_screen: Any,
    image_shape: Sequence[int],
    display_px: float = DISPLAY_PX,
    screen: Sequence[int] = SCREEN_RESOLUTION,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Convert screen fixations to image coordinates and drop those off the image.

    Returns `(xy_image (K', 2) float64, kept (K,) bool, n_dropped)`. A fixation is on the image
    when `-0.5 <= x_img < W - 0.5` and `-0.5 <= y_img < H - 0.5`; NaN fixations count as dropped.
    """
    xy = screen_to_image(xy_screen, image_shape, display_px, screen)
    h, w = _image_shape(image_shape)
    with np.errstate(invalid="ignore"):
        kept = (xy[:, 0] >= -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] < h - 0.5)
    return xy[kept], kept, int((~kept).sum())


# ---------------------------------------------------------------------------------------------
# Heatmap
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


def fixation_map(fixations: Any, shape: Sequence[int]) -> np.ndarray:
    """Binary fixation map `(H, W)` bool: True at the pixel containing each fixation
    (x, y rounded half up to the nearest pixel centre). Fixations off the image raise."""
    h, w = _image_shape(shape)
    fx = _points("fixations", fixations)
    if not np.isfinite(fx).all():
        raise ValueError("fixations: expected finite (x, y), got NaN or inf")
    col = np.floor(fx[:, 0] + 0.5).astype(np.int64)
    row = np.floor(fx[:, 1] + 0.5).astype(np.int64)
    off = (col < 0) | (col >= w) | (row < 0) | (row >= h)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"fixations: row {i} = {fx[i].tolist()} lies outside the {h}x{w} image")
    out = np.zeros((h, w), dtype=bool)
    out[row, col] = True
    return out


# ---------------------------------------------------------------------------------------------
# Fixation detection (I-DT)
# ---------------------------------------------------------------------------------------------


@dataclass
class Fixations:
    """Detected fixations, all `(K,)`: centroid `x`, `y` (units of the samples), `start_ms`,
    `duration_ms` (= last sample time - first sample time), `n_samples`."""

    x: np.ndarray
    y: np.ndarray
    start_ms: np.ndarray
    duration_ms: np.ndarray
    n_samples: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        """(K, 2) float64 (x, y)."""
        return np.stack([self.x, self.y], axis=1) if len(self.x) else np.zeros((0, 2))

    def __len__(self) -> int:
        return len(self.x)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "fixation": np.arange(len(self.x)),
                "x": self.x,
                "y": self.y,
                "start_ms": self.start_ms,
                "duration_ms": self.duration_ms,
                "n_samples": self.n_samples,
            }
        )


def detect_fixations_idt(
    t_ms: Any,
    x: Any,
    y: Any,
    dispersion_px: float = 50.0,
    min_duration_ms: float = 100.0,
) -> Fixations:
    """Dispersion-threshold fixation identification (I-DT; Salvucci and Goldberg 2000).

    t_ms, x, y: (T,) sample times (strictly increasing) and gaze positions; NaN in x or y marks a
    sample with lost tracking: it ends any running fixation and belongs to none (the trace is cut
    into runs of valid samples and each run is processed on its own).
    dispersion_px: D = (max x - min x) + (max y - min y) of a window must stay <= this.
    min_duration_ms: a window must span at least this long (t_last - t_first >= min_duration_ms).

    Algorithm, per run of valid samples: start a window at sample i covering the fewest samples
    with t_j - t_i >= min_duration_ms. If its dispersion <= threshold, grow it one sample at a
    time while the dispersion stays <= threshold, record a fixation (centroid, start t_i,
    duration t_last - t_i) and restart after its last sample; else drop sample i and restart at i+1.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or xs.shape != t.shape or ys.shape != t.shape:
        raise ValueError(f"t_ms, x, y: expected three (T,) arrays of one length, got {t.shape}, {xs.shape}, {ys.shape}")
    if not np.isfinite(t).all():
        raise ValueError("t_ms: expected finite sample times, got NaN or inf")
    if len(t) > 1 and not (np.diff(t) > 0).all():
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise ValueError(f"t_ms: expected strictly increasing times, sample {i} ({t[i]:g}) follows {t[i - 1]:g}")
    disp_max = _positive("dispersion_px", dispersion_px, allow_zero=True)
    min_dur = _positive("min_duration_ms", min_duration_ms, allow_zero=True)
    if (np.isinf(xs) | np.isinf(ys)).any():
        raise ValueError("x, y: expected finite gaze positions or NaN (lost tracking), got inf")
    valid = np.isfinite(xs) & np.isfinite(ys)

    found: list[tuple[float, float, float, float, int]] = []
    # runs of valid samples
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    for a, b in zip(edges[0::2], edges[1::2]):  # valid run = [a, b)
        i = a
        while i < b:
            # fewest samples from i with duration >= min_dur
            j = int(np.searchsorted(t[i:b], t[i] + min_dur, side="left")) + i
            if j >= b:
                break
            wx, wy = xs[i : j + 1], ys[i : j + 1]
            lox, hix, loy, hiy = wx.min(), wx.max(), wy.min(), wy.max()
            if (hix - lox) + (hiy - loy) > disp_max:
                i += 1
                continue
            while j + 1 < b:
                nx, ny = xs[j + 1], ys[j + 1]
                nlx, nhx, nly, nhy = min(lox, nx), max(hix, nx), min(loy, ny), max(hiy, ny)
                if (nhx - nlx) + (nhy - nly) > disp_max:
                    break
                lox, hix, loy, hiy = nlx, nhx, nly, nhy
                j += 1
            found.append((xs[i : j + 1].mean(), ys[i : j + 1].mean(), t[i], t[j] - t[i], j + 1 - i))
            i = j + 1
    arr = np.array(found, dtype=np.float64).reshape(-1, 5)
    return Fixations(
        x=arr[:, 0], y=arr[:, 1], start_ms=arr[:, 2], duration_ms=arr[:, 3], n_samples=arr[:, 4].astype(np.int64)
    )


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
