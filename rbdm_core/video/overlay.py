"""Relevance drawn onto video frames in place: each face's map, resized to the frame region its
crop came from, blended in red (positive) and blue (negative), with the face's box and label.

Colour scale: one per track, the 99.5th percentile of |relevance| over all of the track's maps
(`relevance_overlay.robust_scale`, the still-image overlays' rule and colours), so a face's colours are comparable from frame to frame and a few extreme
pixels do not wash out the rest; opacity = min(|r| / scale, 1) * `MAX_ALPHA`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from rbdm_core.relevance_overlay import blend as blend_colours
from rbdm_core.relevance_overlay import resize_map

__all__ = ["BOX_COLOUR", "MAX_ALPHA", "blend", "label_box", "resize_map"]

#: opacity of relevance at or above the colour scale's top
MAX_ALPHA = 0.7
#: box and text colour (RGB)
BOX_COLOUR = (255, 255, 0)


def blend(frame: np.ndarray, region: Sequence[int], rmap: np.ndarray, scale: float) -> None:
    """Blend relevance `rmap` (h, w) into `frame` (H, W, 3) uint8, in place, over `region`
    (x, y, width, height) in frame pixels; the region may reach past the frame (cropped). The
    colours are `relevance_overlay.blend`'s, at most `MAX_ALPHA` opaque."""
    x, y, w, h = (int(round(v)) for v in region)
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    r = resize_map(rmap, (h, w))[y0 - y:y1 - y, x0 - x:x1 - x]
    patch = frame[y0:y1, x0:x1].astype(np.float64)
    mixed = blend_colours(patch, r, scale, max_alpha=MAX_ALPHA, full=255.0)
    frame[y0:y1, x0:x1] = np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def label_box(frame: np.ndarray, box: Sequence[int], text: str) -> np.ndarray:
    """`frame` with the box (x, y, width, height) outlined and `text` above it (a new array)."""
    x, y, w, h = (int(round(v)) for v in box)
    im = Image.fromarray(frame)
    d = ImageDraw.Draw(im)
    d.rectangle([x, y, x + w - 1, y + h - 1], outline=BOX_COLOUR, width=2)
    H = frame.shape[0]
    ty = y - 12 if y >= 12 else (y + h + 2 if y + h + 14 <= H else y + 3)  # above, below, else inside
    d.rectangle([x, ty, x + 6 * len(text) + 2, ty + 11], fill=(0, 0, 0))
    d.text((x + 1, ty), text, fill=BOX_COLOUR)
    return np.asarray(im)
