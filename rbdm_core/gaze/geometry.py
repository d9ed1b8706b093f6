"""The eye-tracking study's geometry: visual span, screen and image coordinates (paper section 5.3).

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

Visual span
-----------
The visual angle (5 degrees) is the full aperture of the cone around the gaze direction, so the
span's DIAMETER on the screen is `2 d tan(angle / 2)` and its RADIUS `d tan(angle / 2)`.
`visual_span_px(..., convention="diameter")` is the default and the value that
`heatmaps.sigma_from_span` is fed (Blignaut's "visual span" is the width of the perceived area).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from rbdm_core.checks import _image_shape, _points, _positive

#: The paper's eye-tracking set-up.
SCREEN_RESOLUTION = (2560, 1440)
DIAGONAL_IN = 27.0
DISTANCE_CM = 70.0
DISPLAY_PX = 1200
VISUAL_ANGLE_DEG = 5.0


def _resolution(resolution: Sequence[int]) -> tuple[float, float]:
    if len(resolution) != 2:
        raise ValueError(f"resolution: expected (width, height) in pixels, got {resolution!r}")
    w = _positive("resolution[0] (width)", resolution[0])
    h = _positive("resolution[1] (height)", resolution[1])
    return w, h


# ---------------------------------------------------------------------------------------------
# Visual span
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


# ---------------------------------------------------------------------------------------------
# Screen and image coordinates
# ---------------------------------------------------------------------------------------------


def _origin(display_px: float, screen: Sequence[int]) -> tuple[float, float]:
    w, h = _resolution(screen)
    disp = _positive("display_px", display_px)
    if disp > w or disp > h:
        raise ValueError(f"display_px: the {disp:g} px image does not fit on a {w:g}x{h:g} screen")
    return (w - disp) / 2.0, (h - disp) / 2.0


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
