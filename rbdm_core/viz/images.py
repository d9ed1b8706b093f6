"""Pictures in figures: PNG data URIs, tinted regions, the image grid, and the one robust colour
scale relevance maps share (`robust_limits`, stated on the colour bar by `scale_caption`)."""

from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import numpy as np
from PIL import Image

from ..relevance_overlay import PERCENTILE, robust_scale
from .render import _go

#: the percentile of |relevance| that ends a relevance map's colour scale (`robust_limits`;
#: `relevance_overlay.PERCENTILE`, the overlays' too)
ROBUST_PERCENTILE = PERCENTILE


def png_data_uri(image: np.ndarray) -> str:
    """PNG data URI of one image: (H, W) or (H, W, 1|3|4) uint8, or (H, W) bool (white = True)."""
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        raise ValueError(f"png_data_uri: expected uint8 or bool pixels, got {a.dtype}")
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"png_data_uri: expected (H, W) or (H, W, 1|3|4), got shape {a.shape}")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", optimize=False, compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def overlay_rgba(region: np.ndarray, color=(230, 25, 75), opacity: float = 0.45, outline: bool = True) -> np.ndarray:
    """(H, W) bool region -> (H, W, 4) uint8 RGBA: the region tinted, its border opaque."""
    r = np.asarray(region, dtype=bool)
    if r.ndim != 2:
        raise ValueError(f"overlay_rgba: region must be (H, W) bool, got shape {r.shape}")
    out = np.zeros(r.shape + (4,), np.uint8)
    out[..., :3] = np.asarray(color, np.uint8)
    out[..., 3] = np.where(r, int(round(255 * opacity)), 0)
    if outline:
        pad = np.pad(r, 1, mode="constant")
        inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
        out[..., 3] = np.where(r & ~inner, 255, out[..., 3])
    return out


def _as_display_image(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


def image_grid(
    images: np.ndarray | Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    overlays: np.ndarray | None = None,
    cols: int | None = None,
    title: str | None = None,
    colorscale: str = "RdBu_r",
    symmetric: bool = True,
    cell_px: int = 150,
    overlay_color=(230, 25, 75),
    overlay_opacity: float = 0.45,
    percentile: float = ROBUST_PERCENTILE,
    scale_label: str = "relevance",
):
    """A grid of images in plotly subplots.

    images:   (N, H, W[, C]) uint8 pictures (drawn as PNG image traces), or (N, H, W) float maps
              (drawn as heatmaps with `colorscale` on ONE shared colour scale with a colour bar:
              `robust_limits(maps, percentile, symmetric)`, i.e. ±the `percentile`-th percentile
              of |map| when `symmetric`, so a few extreme pixels do not wash the maps out; values
              beyond it show the end colour; the bar states the limit and the percentile).
    titles:   N subplot titles; overlays: optional (N, H, W) bool regions tinted over the images.
    Returns a plotly Figure; display it with `show(fig, name)`.
    """
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    imgs = [np.asarray(i) for i in images]
    n = len(imgs)
    if n == 0:
        raise ValueError("image_grid: no images")
    if titles is not None and len(titles) != n:
        raise ValueError(f"image_grid: {n} images but {len(titles)} titles")
    if overlays is not None and len(overlays) != n:
        raise ValueError(f"image_grid: {n} images but {len(overlays)} overlays")
    cols = int(cols or min(n, 6))
    rows = -(-n // cols)
    # size for the book's ~760 px content column: square cells, room for (multi-line) titles
    cell = min(float(cell_px), 760.0 / cols)
    lines = 1 + max((t.count("<br>") for t in titles), default=0) if titles else 0
    title_h = 16 * lines + 6 if titles else 4
    top = (55 if title else 10) + title_h
    height = int(rows * cell + (rows - 1) * title_h + top + 10)
    plot_h = height - top - 10
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles) if titles else None,
                        horizontal_spacing=0.02,
                        vertical_spacing=min(title_h / plot_h, 0.9 / max(rows - 1, 1)) if rows > 1 else 0.0)
    is_float = np.issubdtype(imgs[0].dtype, np.floating)
    if is_float:
        lo, hi = robust_limits([_as_display_image(i) for i in imgs], percentile, symmetric)
        fig.update_layout(coloraxis={
            "colorscale": colorscale, "cmin": lo, "cmax": hi, **({"cmid": 0.0} if symmetric else {}),
            "colorbar": {"title": {"text": scale_caption(scale_label, lo, hi, percentile, symmetric), "side": "top",
                                   "font": {"size": 10}},
                         "thickness": 12, "len": min(1.0, max(0.5, 160.0 / max(plot_h, 1.0))), "lenmode": "fraction",
                         "y": 1.0, "yanchor": "top", "tickfont": {"size": 10}, "tickformat": ".3~r"}})
    for k, img in enumerate(imgs):
        r, c = k // cols + 1, k % cols + 1
        if is_float:
            z = _as_display_image(img).astype(np.float64)
            fig.add_trace(go.Heatmap(z=z, coloraxis="coloraxis",
                                     hovertemplate="x=%{x} y=%{y}<br>%{z:.3g}<extra></extra>"),
                          row=r, col=c)
            reverse_y(fig, row=r, col=c)
        else:
            fig.add_trace(go.Image(source=png_data_uri(_as_display_image(img)), hoverinfo="skip"), row=r, col=c)
            if overlays is not None:
                fig.add_trace(go.Image(source=png_data_uri(overlay_rgba(overlays[k], overlay_color, overlay_opacity)),
                                       hoverinfo="skip"), row=r, col=c)
    fig.update_xaxes(visible=False, scaleanchor=None)
    fig.update_yaxes(visible=False)
    for k in range(n):
        ax = "x" if k == 0 else f"x{k + 1}"
        fig.update_layout({("yaxis" if k == 0 else f"yaxis{k + 1}"): {"scaleanchor": ax}})
    fig.update_layout(height=height, title=title, margin={"l": 10, "r": 95 if is_float else 10, "t": top, "b": 10},
                      showlegend=False)
    if titles:
        fig.update_annotations(font_size=11)
    return fig


def reverse_y(fig, row: int | None = None, col: int | None = None, **more):
    """An image's y axis: reversed, row 0 at the top (`autorange="reversed"`), with `more` of the
    axis's properties, in subplot (`row`, `col`) (None: every subplot). Returns `fig`."""
    return fig.update_yaxes(autorange="reversed", **more, row=row, col=col)


def add_image(fig, image: np.ndarray, row: int | None = None, col: int | None = None):
    """Add `image` ((H, W[, C]) uint8, `png_data_uri`) to `fig` as an image trace without hover
    (points drawn on it in image pixel-centre coordinates: x = column, y = row). Returns `fig`."""
    go = _go()
    return fig.add_trace(go.Image(source=png_data_uri(image), hoverinfo="skip"), row=row, col=col)


def image_axes(fig, side: int, hide: bool = True, anchor: str | None = "x"):
    """The axes of a `side` x `side` px image with points on it: x from -0.5 to side - 0.5, y the
    other way round (row 0 at the top), axes hidden if `hide`, y scaled to x's axis `anchor`
    (None: not tied). Applies to every subplot. Returns `fig`."""
    fig.update_xaxes(**({"visible": False} if hide else {}), range=[-0.5, side - 0.5])
    return fig.update_yaxes(**({"visible": False} if hide else {}), range=[side - 0.5, -0.5],
                            **({"scaleanchor": anchor} if anchor else {}))


def robust_limits(maps: Sequence[np.ndarray], percentile: float = ROBUST_PERCENTILE,
                  symmetric: bool = True) -> tuple[float, float]:
    """(low, high) of a colour scale shared by `maps` (arrays of any shape, NaN ignored):
    symmetric: ±(the `percentile`-th percentile of |value|); else the (100 - p)-th and p-th
    percentiles. A scale of zero width (all values equal) becomes ±1 around the value."""
    if not 50.0 < float(percentile) <= 100.0:
        raise ValueError(f"robust_limits: percentile must be in (50, 100], got {percentile!r}")
    if symmetric:  # the overlays' rule (`relevance_overlay.robust_scale`), NaN left out, no max fallback
        lim = robust_scale(list(maps), percentile, finite_only=True, max_if_zero=False)
        return (-lim, lim)
    v = np.concatenate([np.asarray(m, np.float64).ravel() for m in maps]) if len(maps) else np.zeros(0)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (-1.0, 1.0)
    lo, hi = (float(x) for x in np.percentile(v, [100.0 - percentile, percentile]))
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def scale_caption(label: str, lo: float, hi: float, percentile: float, symmetric: bool) -> str:
    """A colour bar's title stating its range and where it was cut (plotly text, short lines)."""
    rng = f"±{hi:.3g}" if symmetric else f"{lo:.3g} to {hi:.3g}"
    return f"{html.escape(label)}<br>{rng}<br>(p{percentile:g}{' of |R|' if symmetric else ''})"
