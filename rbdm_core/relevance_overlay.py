"""Relevance overlays people can read: a robust colour scale, a colour bar, the prediction in the PNG.

`robust_scale(maps)` is the colour scale: the `PERCENTILE`th percentile of |R| over the map(s),
so one hot pixel does not wash the rest out (issue 15 measured the maximum at 3.3 times the 99th
percentile in the median map, up to 13.7 times: scaled to it, most maps looked blank). Relevance beyond it is drawn at full colour (clipped); the
figure says so and states the scale. `overlay(gray, rmap, scale)` is the picture as an array:
gray image lightened, positive relevance red, negative blue, opacity |R| / scale (at most 1).
`save_face_png` and `save_photo_png` render it with matplotlib (Agg, no pyplot state) with a
colour bar, the predicted label and probability, and write the PNG atomically.

The home of the colour rules every relevance picture shares: `robust_scale` (also behind
`viz.robust_limits`), `blend` (also `video.overlay.blend`'s colours) and `resize_map` (a map
resized for display, also over video frames).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from rbdm_core.artifacts import atomic_path

#: percentile of |R| the colour scale ends at
PERCENTILE = 99.5
#: colours at -scale and +scale (RGB in [0, 1]); zero relevance leaves the image unchanged
NEGATIVE = (0.0, 0.2, 1.0)
POSITIVE = (1.0, 0.0, 0.0)


def robust_scale(maps, percentile: float = PERCENTILE, *, finite_only: bool = False,
                 max_if_zero: bool = True) -> float:
    """The `percentile`th percentile of |R| over every value of `maps` (one map or several, any
    shapes): the one rule of every relevance colour scale (the overlays here, the video's,
    `viz.robust_limits`). When that percentile is 0: the largest |R| (`max_if_zero`, as the
    overlays do), and 1.0 when that is 0 too or without `max_if_zero`; 1.0 for no values.
    `finite_only`: NaN and ±inf are left out (as `viz.robust_limits` does); otherwise they go
    into the percentile like any value (a NaN percentile gives 1.0)."""
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    vals = np.concatenate([np.abs(np.asarray(m, dtype=np.float64)).ravel() for m in maps]) if maps else np.zeros(0)
    if finite_only:
        vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return 1.0
    s = float(np.percentile(vals, percentile))
    if s <= 0 and max_if_zero:
        s = float(vals.max())
    return s if s > 0 else 1.0


def _base(gray: np.ndarray) -> np.ndarray:
    g = np.asarray(gray, dtype=np.float64)
    span = g.max() - g.min()
    g = (g - g.min()) / span if span > 0 else np.zeros_like(g)
    return np.repeat((0.3 + 0.7 * g)[..., None], 3, axis=-1)  # a lighter gray, so colour shows


def blend(base: np.ndarray, rmap: np.ndarray, scale: float, *, max_alpha: float = 1.0,
          full: float = 1.0) -> np.ndarray:
    """(h, w, 3) float RGB + (h, w) relevance -> (h, w, 3) float: the colour of R's sign
    (`POSITIVE`, `NEGATIVE`, times `full`: 1.0 for RGB in [0, 1], 255.0 for 0..255) with opacity
    min(|R| / scale, 1) * `max_alpha` (1 for still images, `video.overlay.MAX_ALPHA` on frames)."""
    a = (np.clip(np.abs(np.asarray(rmap, dtype=np.float64)) / scale, 0.0, 1.0) * max_alpha)[..., None]
    colour = np.where((np.asarray(rmap) >= 0)[..., None], full * np.array(POSITIVE), full * np.array(NEGATIVE))
    return base * (1 - a) + colour * a


def overlay(gray: np.ndarray, rmap: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(h, w) gray in any range + (h, w) relevance -> (h, w, 3) uint8 RGB overlay; `scale` is
    the |R| drawn at full colour (default `robust_scale(rmap)`)."""
    scale = robust_scale(rmap) if scale is None else float(scale)
    if not scale > 0:
        raise ValueError(f"scale: expected a positive |relevance|, got {scale!r}")
    out = blend(_base(gray), rmap, scale)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def _colormap():
    from matplotlib.colors import LinearSegmentedColormap  # deferred: matplotlib, slow to import (about 0.5 s); only the PNG writers need it

    return LinearSegmentedColormap.from_list("rbdm_relevance", [NEGATIVE, (1.0, 1.0, 1.0), POSITIVE])


def _scale_text(scale: float, maps, percentile: float) -> str:
    vals = np.concatenate([np.abs(np.asarray(m)).ravel() for m in maps])
    clipped = float(np.mean(vals > scale)) * 100 if vals.size else 0.0
    return (f"colour scale: ±{scale:.3g} = {percentile:g}th percentile of |R|; "
            f"{clipped:.1f}% of pixels beyond it drawn at full colour (max |R| {vals.max(initial=0):.3g})")


def _figure(rgb: np.ndarray, title: str, scale: float, note: str, width_px: int):
    from matplotlib.cm import ScalarMappable  # deferred: matplotlib, slow to import (about 0.5 s); only the PNG writers need it
    from matplotlib.colors import Normalize  # deferred: matplotlib, slow to import (about 0.5 s); only the PNG writers need it
    from matplotlib.figure import Figure  # deferred: matplotlib, slow to import (about 0.5 s); only the PNG writers need it

    h, w = rgb.shape[:2]
    dpi = 100
    img_w = width_px / dpi
    fig = Figure(figsize=(img_w + 1.3, img_w * h / w + 0.9), dpi=dpi)
    ax = fig.add_axes([0.02, 0.12, img_w / (img_w + 1.3) - 0.02, 0.76])
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    cax = fig.add_axes([img_w / (img_w + 1.3) + 0.03, 0.12, 0.04, 0.76])
    cb = fig.colorbar(ScalarMappable(Normalize(-scale, scale), _colormap()), cax=cax)
    cb.set_label("relevance R (clipped)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fig.text(0.02, 0.02, note, fontsize=6.5, wrap=True)
    return fig, ax


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)


def save_face_png(path, gray: np.ndarray, rmap: np.ndarray, label: str, probability: float,
                  scale: float | None = None, percentile: float = PERCENTILE, title: str = "") -> float:
    """Write the overlay of one face (the model's view `gray` (h, w), relevance `rmap` (h, w)) with
    a colour bar, the scale and the prediction (after `title`, if given); returns the scale used."""
    scale = robust_scale(rmap, percentile) if scale is None else float(scale)
    rgb = overlay(gray, rmap, scale)
    head = f"{title}\n" if title else ""
    fig, _ = _figure(rgb, f"{head}{label}  p = {probability:.2f}", scale,
                     _scale_text(scale, [rmap], percentile), width_px=320)
    _save(fig, Path(path))
    return scale


def resize_map(rmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) float map -> (height, width) = size, bilinear (values, not sums, are kept): for
    display (a face's map over its crop square here, over its frame region in `video.overlay`)."""
    h, w = int(size[0]), int(size[1])
    im = Image.fromarray(np.asarray(rmap, dtype=np.float32), mode="F")
    return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64)


def photo_relevance(shape: tuple[int, int], maps: Sequence[np.ndarray],
                    squares: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """(H, W) canvas with each face's map resized to its crop square `(x, y, side)` and put in
    place (the parts inside the image); where squares overlap, the larger |R| wins; 0 elsewhere."""
    H, W = shape
    canvas = np.zeros((H, W), np.float64)
    for rmap, (x, y, side) in zip(maps, squares):
        big = resize_map(rmap, (side, side))
        x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + side), min(H, y + side)
        if x1 <= x0 or y1 <= y0:
            continue
        part = big[y0 - y:y1 - y, x0 - x:x1 - x]
        region = canvas[y0:y1, x0:x1]
        canvas[y0:y1, x0:x1] = np.where(np.abs(part) > np.abs(region), part, region)
    return canvas


def save_photo_png(path, photo_gray: np.ndarray, maps: Sequence[np.ndarray],
                   squares: Sequence[tuple[int, int, int]], boxes: Sequence[tuple[int, int, int, int]],
                   labels: Sequence[str], probabilities: Sequence[float], percentile: float = PERCENTILE,
                   max_side: int = 900, title: str = "") -> float:
    """Write the whole photograph (`photo_gray` (H, W)) with every face's relevance in place, one
    colour scale for all faces (`robust_scale` over all their maps), each face box outlined and
    numbered with its label and probability; returns the scale used."""
    from matplotlib.patches import Rectangle  # deferred: matplotlib, slow to import (about 0.5 s); only the PNG writers need it

    H, W = photo_gray.shape[:2]
    scale = robust_scale(list(maps), percentile)
    canvas = photo_relevance((H, W), maps, squares)
    rgb = overlay(photo_gray, canvas, scale)
    k = max(1, int(np.ceil(max(H, W) / max_side)))  # shown at most max_side px: subsample
    shown = rgb[::k, ::k]
    fig, ax = _figure(shown, f"{title + ': ' if title else ''}{len(maps)} face(s)", scale, _scale_text(scale, list(maps), percentile),
                      width_px=max(480, min(max_side, shown.shape[1])))
    for i, ((x, y, w, h), lab, p) in enumerate(zip(boxes, labels, probabilities)):
        ax.add_patch(Rectangle((x / k - 0.5, y / k - 0.5), w / k, h / k, fill=False, lw=1.2, ec="black"))
        ax.text(x / k, y / k - 2, f"{i}: {lab} {p:.2f}", fontsize=7, color="black", va="bottom",
                bbox=dict(fc="white", ec="none", alpha=0.75, pad=1))
    _save(fig, Path(path))
    return scale
