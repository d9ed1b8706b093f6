"""Plotly figures for the book: stable ids, offline HTML, small notebooks.

`show(fig, name)` displays a figure as a `text/html` bundle, a `<div id="rbdm-fig-<name>">` plus a
`<script>` that calls `Plotly.newPlot` with the JSON of `fig.to_json()`. myst-nb (the book) drops
plotly's own mime type, so the HTML is what the book renders; plotly.js itself is NOT inlined: the
book loads it once per page from its own static files (`book/_config.yml`, `html_js_files`). The id
comes from `name`, so re-executing a notebook gives byte-identical output (nbval compares it).

Live notebooks: JupyterLab has no global `Plotly`, so by default the bundle also carries
`application/vnd.plotly.v1+json`, which JupyterLab/VS Code render natively. Book and regression
runs (`rbdm run`, `rbdm book`, `scripts/test.sh`) set `RBDM_FIGURE_MIME=html`, which leaves it
out: the committed notebooks stay small and nbval compares one rendering, not two.

Helpers used by all chapters: `image_grid`, `line_band`, `confusion`, `table`, and the mask
explorer (`explorer`: precomputed states in one plotly figure that works in static HTML;
`live_explorer`: an ipywidgets control for a live kernel).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

#: env var: "html" (book, nbval) or "html+json" (default: also plotly's mime type for live use)
FIGURE_MIME_ENV = "RBDM_FIGURE_MIME"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

#: A slim layout template (plotly's default template adds ~6 kB of JSON to every figure).
TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"],
        "xaxis": {"gridcolor": "#e5e5e5", "zerolinecolor": "#cccccc", "linecolor": "#444", "ticks": "outside"},
        "yaxis": {"gridcolor": "#e5e5e5", "zerolinecolor": "#cccccc", "linecolor": "#444", "ticks": "outside"},
        "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
        "hovermode": "closest",
    }
}

_CONFIG = {"responsive": True, "displaylogo": False}
#: the percentile of |relevance| that ends a relevance map's colour scale (`robust_limits`)
ROBUST_PERCENTILE = 99.5


def _go():
    import plotly.graph_objects as go

    return go


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"viz: figure name {name!r} must be 1-64 characters from [A-Za-z0-9_-], starting with a "
            "letter or digit (it becomes the stable HTML id rbdm-fig-<name>)"
        )
    return name


def _figure_json(fig) -> str:
    """Deterministic JSON of a figure with the slim template, its text fitted to the book's column
    (`figure_fit.fit`: margins, subplot titles, tick labels, hover formats); `fig` is not modified."""
    from .figure_fit import fit

    go = _go()
    fig = go.Figure(fig)
    fig.layout.template = go.layout.Template(TEMPLATE)  # replaces (update_layout would merge)
    fit(fig)
    return fig.to_json(validate=False, pretty=False)


def figure_html(fig, name: str, height: int | None = None) -> str:
    """The `text/html` rendering of `fig`: a div `rbdm-fig-<name>` and a script drawing it.

    Waits for `window.Plotly` (loaded once per page by the book); the JSON's `</` is escaped so the
    payload cannot close the script tag. `height` in px defaults to the layout's height or 450.
    """
    name = _check_name(name)
    spec = _figure_json(fig)
    if height is None:
        height = fig.layout.height if getattr(fig, "layout", None) is not None and fig.layout.height else 450
    spec = spec.replace("</", "<\\/")
    div_id = f"rbdm-fig-{name}"
    return (
        f'<div id="{div_id}" class="rbdm-figure" style="width:100%;height:{int(height)}px;"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f'  var id = "{div_id}", spec = {spec};\n'
        f"  var config = {json.dumps(_CONFIG, sort_keys=True)};\n"
        "  function draw() { Plotly.newPlot(id, spec.data, spec.layout || {}, config); }\n"
        "  if (window.Plotly) { draw(); }\n"
        "  else { window.addEventListener('load', function () {\n"
        "    if (window.Plotly) { draw(); }\n"
        "    else { document.getElementById(id).textContent = 'plotly.js is not loaded on this page'; }\n"
        "  }); }\n"
        "})();\n"
        "</script>"
    )


def bundle(fig, name: str, height: int | None = None, mime: str | None = None) -> dict[str, Any]:
    """The mime bundle `show` displays: `text/html`, `text/plain`, and unless
    `mime`/`$RBDM_FIGURE_MIME` is "html", plotly's own JSON for live notebooks."""
    mime = mime or os.environ.get(FIGURE_MIME_ENV, "html+json")
    if mime not in ("html", "html+json"):
        raise ValueError(f"viz: {FIGURE_MIME_ENV} must be 'html' or 'html+json', got {mime!r}")
    title = getattr(getattr(getattr(fig, "layout", None), "title", None), "text", None)
    out: dict[str, Any] = {
        "text/html": figure_html(fig, name, height),
        "text/plain": f"<plotly figure rbdm-fig-{name}{': ' + title if title else ''}>",
    }
    if mime == "html+json":
        out[PLOTLY_MIME] = json.loads(_figure_json(fig))
    return out


def show(fig, name: str, height: int | None = None) -> None:
    """Display `fig` in the notebook (and hence the book) under the stable id `rbdm-fig-<name>`.

    Names must be unique within a chapter. Returns None (so a trailing call shows it once)."""
    from IPython.display import display

    display(bundle(fig, name, height), raw=True)


# --------------------------------------------------------------------------- images
def png_data_uri(image: np.ndarray) -> str:
    """PNG data URI of one image: (H, W) or (H, W, 1|3|4) uint8, or (H, W) bool (white = True)."""
    from PIL import Image

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
    from plotly.subplots import make_subplots

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
            fig.update_yaxes(autorange="reversed", row=r, col=c)
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


def robust_limits(maps: Sequence[np.ndarray], percentile: float = ROBUST_PERCENTILE,
                  symmetric: bool = True) -> tuple[float, float]:
    """(low, high) of a colour scale shared by `maps` (arrays of any shape, NaN ignored):
    symmetric: ±(the `percentile`-th percentile of |value|); else the (100 - p)-th and p-th
    percentiles. A scale of zero width (all values equal) becomes ±1 around the value."""
    if not 50.0 < float(percentile) <= 100.0:
        raise ValueError(f"robust_limits: percentile must be in (50, 100], got {percentile!r}")
    v = np.concatenate([np.asarray(m, np.float64).ravel() for m in maps]) if len(maps) else np.zeros(0)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (-1.0, 1.0)
    if symmetric:
        lim = float(np.percentile(np.abs(v), percentile))
        return (-lim, lim) if lim > 0 else (-1.0, 1.0)
    lo, hi = (float(x) for x in np.percentile(v, [100.0 - percentile, percentile]))
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def scale_caption(label: str, lo: float, hi: float, percentile: float, symmetric: bool) -> str:
    """A colour bar's title stating its range and where it was cut (plotly text, short lines)."""
    rng = f"±{hi:.3g}" if symmetric else f"{lo:.3g} to {hi:.3g}"
    return f"{html.escape(label)}<br>{rng}<br>(p{percentile:g}{' of |R|' if symmetric else ''})"


# --------------------------------------------------------------------------- curves, matrices, tables
def band_table(df: pd.DataFrame, x: str, y: str, group: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per (group, x): n, mean, ci_low, ci_high of column `y` (`statistics.summarise`, Student-t):
    the numbers `line_band` draws."""
    from .statistics import summarise

    keys = [group, x] if group else [x]
    for col in keys + [y]:
        if col not in df.columns:
            raise ValueError(f"band_table: column {col!r} not in the table (columns: {list(df.columns)})")
    return summarise(df, by=keys, confidence=level, value=y)[keys + ["n", "mean", "ci_low", "ci_high"]]


def line_band(
    df: pd.DataFrame,
    x: str,
    y: str,
    group: str | None = None,
    *,
    level: float = 0.95,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    order: Sequence[str] | None = None,
    bounds: tuple[float | None, float | None] | None = None,
):
    """Mean curve of `y` over `x` per `group` with a `level` Student-t confidence band of the mean
    over the repeated rows (e.g. seeds) at each x. df: a tidy table. The band is clipped to the
    metric's range `bounds` (low, high; None = open), by default `metric_bounds(y, ylabel)`:
    [0, 1] for F1 / accuracy / precision / recall / shares, [0, inf) for a loss. Hovers give three
    significant digits. Returns a plotly Figure."""
    go = _go()
    tab = band_table(df, x, y, group, level)
    lo_b, hi_b = bounds if bounds is not None else metric_bounds(y, ylabel)
    for col in ("ci_low", "ci_high"):
        tab[col] = tab[col].clip(lower=lo_b, upper=hi_b)
    groups = [None] if group is None else (list(order) if order is not None else list(pd.unique(tab[group])))
    colors = TEMPLATE["layout"]["colorway"]
    fig = go.Figure()
    for k, g in enumerate(groups):
        sub = tab if g is None else tab[tab[group] == g]
        if sub.empty:
            raise ValueError(f"line_band: no rows for {group} = {g!r}")
        col = colors[k % len(colors)]
        rgb = tuple(int(col[i:i + 2], 16) for i in (1, 3, 5))
        xs = sub[x].to_numpy()
        if (sub["n"] > 1).any():
            fig.add_trace(go.Scatter(
                x=np.concatenate([xs, xs[::-1]]),
                y=np.concatenate([sub["ci_high"].fillna(sub["mean"]).to_numpy(), sub["ci_low"].fillna(sub["mean"]).to_numpy()[::-1]]),
                fill="toself", fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.18)", line={"width": 0},
                hoverinfo="skip", showlegend=False, legendgroup=str(g)))
        fig.add_trace(go.Scatter(x=xs, y=sub["mean"].to_numpy(), mode="lines", line={"color": col, "width": 2},
                                 name=str(g) if g is not None else y, legendgroup=str(g),
                                 customdata=np.stack([sub["ci_low"].to_numpy(), sub["ci_high"].to_numpy()], 1),
                                 hovertemplate=f"{html.escape(str(g if g is not None else y))}<br>"
                                               f"{html.escape(str(xlabel or x))} %{{x}}<br>mean %{{y:.3~r}} "
                                               "[%{customdata[0]:.3~r}, %{customdata[1]:.3~r}]<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=xlabel or x, yaxis_title=ylabel or y, height=420)
    return fig


_UNIT_METRIC_RE = re.compile(r"f1|accuracy|precision|recall|share|fraction|auc|overlap", re.I)


def metric_bounds(*names: str | None) -> tuple[float | None, float | None]:
    """The range a metric's values live in, from its column name or axis label: (0, 1) for F1,
    accuracy, precision, recall, shares and fractions; (0, None) for a loss; else (None, None)."""
    text = " ".join(str(n) for n in names if n)
    if _UNIT_METRIC_RE.search(text):
        return (0.0, 1.0)
    if re.search(r"loss|entropy", text, re.I):
        return (0.0, None)
    return (None, None)


def confusion(matrix: np.ndarray, class_names: Sequence[str], *, normalize: bool = True, title: str | None = None):
    """Confusion matrix heatmap: rows = true class, columns = predicted class.

    matrix: (K, K) counts. With `normalize`, colour and the first number are row shares (recall per
    class); every cell's text also gives the count. Returns a plotly Figure."""
    go = _go()
    m = np.asarray(matrix, dtype=np.float64)
    k = len(class_names)
    if m.shape != (k, k):
        raise ValueError(f"confusion: matrix shape {m.shape} does not match {k} class names")
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    z = share if normalize else m
    text = [[(f"{share[i, j]:.2f}<br>({int(m[i, j])})" if normalize else f"{int(m[i, j])}") for j in range(k)]
            for i in range(k)]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(class_names), y=list(class_names), text=text, texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=1 if normalize else None, showscale=True,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>"))
    from .figure_fit import text_px

    label_px = max(text_px(str(c), 12) for c in class_names)
    # left: the row labels plus the axis title; bottom: the column labels (plotly tilts long ones)
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true",
                      height=int(120 + 45 * k + label_px * 0.7),
                      margin={"l": int(label_px + 40), "b": int(label_px * 0.7 + 45)},
                      xaxis={"automargin": True, "title": {"standoff": 8}},
                      yaxis={"autorange": "reversed", "automargin": True, "title": {"standoff": 8}})
    return fig


_NUMBER_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$", re.I)


def _is_number(v: Any) -> bool:
    """A number, or a string that reads as one ("0.208", "-3", "1e-05", "12%")."""
    if isinstance(v, str):
        return bool(_NUMBER_RE.match(v.strip()))
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


class Table:
    """A DataFrame shown as a stable HTML table (`text/html`) and plain text (`text/plain`)."""

    def __init__(self, df: pd.DataFrame, float_format: str = "{:.4g}", caption: str | None = None, index: bool = False):
        self.df = df
        self.float_format = float_format
        self.caption = caption
        self.index = index

    def _fmt(self, v: Any, integral: bool = False) -> str:
        if isinstance(v, (float, np.floating)):
            if np.isnan(v):
                return ""
            return str(int(v)) if integral else self.float_format.format(float(v))
        return str(v)

    def _integral(self) -> list[bool]:
        """Per column: a float column whose values are all whole numbers (e.g. epochs, counts that
        went through a mean of one) prints as integers, "4" not "4.000"."""
        out = []
        for c in self.df.columns:
            col = self.df[c]
            vals = col.to_numpy(dtype=np.float64, na_value=np.nan) if pd.api.types.is_float_dtype(col) else None
            fin = vals[np.isfinite(vals)] if vals is not None else None
            out.append(bool(fin is not None and fin.size and np.all(fin == np.round(fin)) and np.all(np.abs(fin) < 1e15)))
        return out

    def _repr_html_(self) -> str:
        df = self.df
        head = ([html.escape(str(df.index.name or ""))] if self.index else []) + [html.escape(str(c)) for c in df.columns]
        out = ['<table class="rbdm-table">']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
        integral = self._integral()
        for idx, row in zip(df.index, df.itertuples(index=False)):
            vals = ([idx] if self.index else []) + list(row)
            cells = ([self._fmt(idx)] if self.index else []) + [self._fmt(v, i) for v, i in zip(row, integral)]
            # numbers carry class "num" (right-aligned by book/_static/rbdm.css, also in the first column)
            out.append("<tr>" + "".join(f'<td class="num">{html.escape(c)}</td>' if _is_number(v) else
                                        f"<td>{html.escape(c)}</td>" for v, c in zip(vals, cells)) + "</tr>")
        out.append("</tbody></table>")
        return "\n".join(out)

    def __repr__(self) -> str:
        df = self.df.copy()
        for c, integral in zip(df.columns, self._integral()):
            if pd.api.types.is_float_dtype(df[c]):
                df[c] = [self._fmt(v, integral) for v in df[c]]
        return (self.caption + "\n" if self.caption else "") + df.to_string(index=self.index)


def table(df: pd.DataFrame, float_format: str = "{:.4g}", caption: str | None = None, index: bool = False) -> Table:
    """Wrap a DataFrame for display (last expression of a cell, or `display(table(df))`)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"table: expected a pandas DataFrame, got {type(df).__name__}")
    return Table(df, float_format=float_format, caption=caption, index=index)


# --------------------------------------------------------------------------- mask explorer
def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)


def drop_overlay(mask: np.ndarray, fill: int = 0) -> np.ndarray:
    """(H, W) bool mask (True = kept) -> (H, W, 4) uint8 RGBA, opaque grey `fill` where dropped."""
    m = np.asarray(mask, dtype=bool)
    out = np.zeros(m.shape + (4,), np.uint8)
    out[..., :3] = np.uint8(fill)
    out[..., 3] = np.where(m, 0, 255)
    return out


#: what the explorer's three rows show (their labels, top to bottom)
EXPLORER_ROWS = ("image", "mask (white = kept)", "masked image")


def explorer(
    images: np.ndarray,
    states: Mapping[tuple, np.ndarray],
    controls: Sequence[str] | None = None,
    *,
    titles: Sequence[str] | None = None,
    title: str | None = None,
    cell_px: int = 130,
    fill: int = 0,
):
    """A mask explorer precomputed into ONE plotly figure that works in static HTML.

    images: (N, H, W[, C]) uint8, shown as columns: the image, its mask (white = kept) and the
            masked image.
    states: {key tuple -> (N, H, W) bool masks}; all keys have the same length L. The last key
            component is the slider (e.g. the fraction or n); the first L-1 components are combined
            into one dropdown (e.g. "deep_taylor / negative"); choosing an entry swaps in that
            entry's slider. Keys with L = 1 give a slider only.
    controls: names of the L key components (labels of the dropdown and the slider).
    Returns a plotly Figure (show it with `show(fig, name)`); everything is PNG data URIs, so keep
    it small (e.g. 6 images x 15 states of 48 x 48 is ~0.3 MB).
    """
    go = _go()
    from plotly.subplots import make_subplots

    imgs = np.asarray(images)
    if imgs.ndim == 3:
        imgs = imgs[..., None]
    if imgs.ndim != 4 or imgs.dtype != np.uint8:
        raise ValueError(f"explorer: images must be (N, H, W[, C]) uint8, got {imgs.shape} {imgs.dtype}")
    if not states:
        raise ValueError("explorer: no states given")
    keys = [k if isinstance(k, tuple) else (k,) for k in states]
    lens = {len(k) for k in keys}
    if len(lens) != 1:
        raise ValueError(f"explorer: state keys must all have the same length, got lengths {sorted(lens)}")
    depth = lens.pop()
    controls = list(controls) if controls is not None else [f"key{i}" for i in range(depth)]
    if len(controls) != depth:
        raise ValueError(f"explorer: {len(controls)} control names for keys of length {depth}")
    n = len(imgs)
    norm = {}
    for key, masks in zip(keys, states.values()):
        m = np.asarray(masks, dtype=bool)
        if m.shape != imgs.shape[:3]:
            raise ValueError(f"explorer: masks for state {key} have shape {m.shape}, expected {imgs.shape[:3]}")
        norm[key] = m
    combos: list[tuple] = list(dict.fromkeys(k[:-1] for k in keys))
    slider_vals = {c: [k[-1] for k in keys if k[:-1] == c] for c in combos}

    fig = make_subplots(rows=3, cols=n, horizontal_spacing=0.01, vertical_spacing=0.03,
                        subplot_titles=list(titles) if titles else None)
    title_h = 18 if titles else 0
    for i in range(n):
        fig.add_trace(go.Image(source=png_data_uri(_as_display_image(imgs[i])), hoverinfo="skip"), row=1, col=i + 1)
    mask_idx = list(range(n, 2 * n))
    masked_idx = list(range(3 * n, 4 * n))  # overlays over the row-3 originals
    first = keys[0]

    def sources(key):
        # mask: white = kept; the masked image is the original under an overlay that is opaque
        # `fill` where the mask drops a pixel: both are two-level PNGs of a few hundred bytes
        m = norm[key]
        return [png_data_uri(m[i]) for i in range(n)], [png_data_uri(drop_overlay(m[i], fill)) for i in range(n)]

    cache = {k: sources(k) for k in keys}
    for i in range(n):
        fig.add_trace(go.Image(source=cache[first][0][i], hoverinfo="skip"), row=2, col=i + 1)
    for i in range(n):
        fig.add_trace(go.Image(source=png_data_uri(_as_display_image(imgs[i])), hoverinfo="skip"), row=3, col=i + 1)
    for i in range(n):
        fig.add_trace(go.Image(source=cache[first][1][i], hoverinfo="skip"), row=3, col=i + 1)

    def slider_for(combo):
        vals = slider_vals[combo]
        steps = []
        for v in vals:
            ms, mi = cache[combo + (v,)]
            steps.append({"label": _label(v), "method": "restyle",
                          "args": [{"source": ms + mi}, mask_idx + masked_idx]})
        return {"active": 0, "steps": steps, "currentvalue": {"prefix": f"{controls[-1]}: "},
                "pad": {"t": 30}, "len": 0.9, "x": 0.05}

    layout: dict[str, Any] = {"sliders": [slider_for(combos[0])]}
    if depth > 1:
        buttons = []
        for combo in combos:
            v0 = slider_vals[combo][0]
            ms, mi = cache[combo + (v0,)]
            buttons.append({"label": " / ".join(_label(c) for c in combo), "method": "update",
                            "args": [{"source": ms + mi}, {"sliders": [slider_for(combo)]}, mask_idx + masked_idx]})
        # above the column titles (which sit just above row 1), never over them
        layout["updatemenus"] = [{"buttons": buttons, "direction": "down", "active": 0, "showactive": True,
                                  "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                                  "pad": {"b": 8 + title_h}}]
        layout["annotations"] = list(fig.layout.annotations) + [{
            "text": " / ".join(controls[:-1]), "showarrow": False, "xref": "paper", "yref": "paper",
            "x": 1.0, "xanchor": "right", "y": 1.0, "yanchor": "bottom", "yshift": 12 + title_h}]
    # every row says what it shows, left of its first image
    row_labels = []
    for r, text in enumerate(EXPLORER_ROWS, start=1):
        yd = fig.get_subplot(r, 1).yaxis.domain
        row_labels.append({"text": text, "textangle": -90, "showarrow": False, "xref": "paper", "yref": "paper",
                           "x": 0.0, "xanchor": "right", "xshift": -4, "y": (yd[0] + yd[1]) / 2,
                           "yanchor": "middle", "font": {"size": 11}})
    layout["annotations"] = list(layout.get("annotations", fig.layout.annotations)) + row_labels
    fig.update_layout(**layout)
    frame = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False,
             "showline": True, "mirror": True, "linecolor": "#999999"}
    fig.update_xaxes(**frame)  # a frame, so a white (kept) mask border is visible on white paper
    fig.update_yaxes(**frame)
    # top to bottom: the title, the dropdown, the column titles, the images
    top = (40 if title else 0) + (40 if depth > 1 else 0) + title_h + 10
    cell = min(float(cell_px), 650.0 / n)  # square cells in the book's ~688 px column, row labels left
    height = int(3 * cell + top + 110)
    fig.update_layout(height=height, showlegend=False, margin={"l": 30, "r": 10, "t": max(top, 40), "b": 10},
                      title={"text": title, "yref": "container", "y": 1 - 22 / height, "yanchor": "middle"}
                      if title else None)
    return fig


def live_explorer(
    images: np.ndarray,
    compute: Callable[..., np.ndarray],
    controls: Mapping[str, Sequence[Any]],
    *,
    fill: int = 0,
    scale: int = 3,
):
    """An ipywidgets mask explorer for a live kernel (its output is not saved into the book).

    compute(**{control: value}) -> (N, H, W) bool masks; controls: {name: options} (numbers give a
    selection slider, anything else a dropdown). Shows per image the mask and the masked image.
    Tag its cell `nbval-ignore-output`. Returns the ipywidgets VBox."""
    import ipywidgets as widgets

    from .masking import apply_mask

    imgs = np.asarray(images)
    if imgs.ndim == 3:
        imgs = imgs[..., None]
    if not controls:
        raise ValueError("live_explorer: no controls given")
    ctl = {}
    for name, opts in controls.items():
        opts = list(opts)
        if not opts:
            raise ValueError(f"live_explorer: control {name!r} has no options")
        if all(isinstance(o, (int, float, np.number)) for o in opts):
            ctl[name] = widgets.SelectionSlider(options=opts, value=opts[0], description=name, continuous_update=False)
        else:
            ctl[name] = widgets.Dropdown(options=opts, value=opts[0], description=name)
    h, w = imgs.shape[1:3]

    def png(a):
        return base64.b64decode(png_data_uri(a).split(",", 1)[1])

    mask_w = [widgets.Image(format="png", width=w * scale, height=h * scale) for _ in imgs]
    masked_w = [widgets.Image(format="png", width=w * scale, height=h * scale) for _ in imgs]
    status = widgets.HTML()

    def update(_=None):
        values = {k: c.value for k, c in ctl.items()}
        m = np.asarray(compute(**values), dtype=bool)
        if m.shape != imgs.shape[:3]:
            status.value = f"<b>compute returned shape {m.shape}, expected {imgs.shape[:3]}</b>"
            return
        mi = apply_mask(imgs.astype(np.uint8), m, fill)
        for i in range(len(imgs)):
            mask_w[i].value = png(m[i])
            masked_w[i].value = png(_as_display_image(mi[i]))
        status.value = f"kept {m.mean():.1%} of pixels"

    for c in ctl.values():
        c.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(list(ctl.values())), status, widgets.HBox(mask_w), widgets.HBox(masked_w)])


# --------------------------------------------------------------------------- the method (paper, Figure 1)
#: the chapter of this book that carries out each step of the method
METHOD_CHAPTERS: dict[str, int] = {"data": 1, "trainer": 2, "relevance": 3, "gaze": 4, "masks": 5, "trainee": 6}


def _box_text(title: str, lines: Sequence[str], width: int) -> str:
    """A bold title and body lines, each wrapped at `width` characters (plotly's `<br>`)."""
    import textwrap

    body = [w for ln in lines for w in textwrap.wrap(ln, width)]
    return "<br>".join([f"<b>{html.escape(title, quote=False)}</b>"] + [html.escape(w, quote=False) for w in body])


def method_diagram(
    *,
    trainer_candidates: Sequence[str],
    mask_types: Sequence[str],
    trainee: str,
    switch_epoch: int,
    relevance_method: str = "deep_taylor",
    source: str = "AffectNet",
    target: str = "FERPlus",
    gaze_images: str = "CK+",
    chapters: Mapping[str, int] | None = None,
    title: str | None = "The method: relevance-based data masking",
):
    """The pipeline of the paper's Figure 1 as a plotly figure of boxes and arrows, labelled with a
    run's values: the Trainer candidates, the relevance method, the mask types (each with its
    description from `rbdm_core.masking.MASKS`), the Trainee and the epoch at which the
    `*-then-unmasked` variants switch to unmasked images. Circled numbers are the paper's steps:
    (1) the Trainer classifies, (2) its decision is explained, (3) masks are made, (4) the Trainee
    learns on masked images, (5) it is validated on unmasked ones. The gaze study (human vs model
    heatmaps, which also gives the perceptive mask its number of fixations) is drawn below.
    chapters: step -> chapter number (default `METHOD_CHAPTERS`). Returns a plotly Figure."""
    go = _go()
    from .masking import MASKS

    ch = dict(METHOD_CHAPTERS, **(chapters or {}))
    cands, masks = [str(c) for c in trainer_candidates], [str(m) for m in mask_types]
    if not cands:
        raise ValueError("method_diagram: trainer_candidates is empty")
    if not masks:
        raise ValueError("method_diagram: mask_types is empty")
    colors = {"data": ("#f2f2f2", "#7f7f7f"), "trainer": ("#dbe9f6", "#1f77b4"), "masks": ("#fde7d3", "#ff7f0e"),
              "trainee": ("#dcf2dc", "#2ca02c"), "gaze": ("#ebe3f3", "#9467bd")}
    fig = go.Figure()

    def box(x0, x1, y0, y1, kind, text):
        fill, line = colors[kind]
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill, line={"color": line, "width": 1.5},
                      layer="below")
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False,
                           font={"size": 10}, align="center")

    def arrow(x0, y0, x1, y1, label=None, label_at=(0.5, 0.5), color="#444"):
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.5, arrowcolor=color)
        if label:
            fx, fy = label_at
            fig.add_annotation(x=x0 + fx * (x1 - x0), y=y0 + fy * (y1 - y0), text=label, showarrow=False,
                               font={"size": 10, "color": color}, bgcolor="rgba(255,255,255,0.85)")

    # top row: source corpus -> (1) Trainer -> (2) relevance maps -> (3) masks
    box(0, 17, 42, 60, "data", _box_text(source, ["source corpus", f"chapter {ch['data']}"], 16))
    box(22, 42, 42, 60, "trainer", _box_text("① Trainer", [
        f"candidates: {', '.join(cands)}", "kept: the best validation macro-F1", f"chapter {ch['trainer']}"], 22))
    box(47, 65, 42, 60, "trainer", _box_text("② Relevance maps", [
        f"method: {relevance_method}", "explaining the predicted class of each target image",
        f"chapter {ch['relevance']}"], 20))
    fig.add_shape(type="rect", x0=69, x1=100, y0=40.5, y1=61.5, line={"color": colors["masks"][1], "width": 1,
                                                                      "dash": "dot"}, layer="below")
    fig.add_annotation(x=84.5, y=63.5, text=f"<b>③ Masks</b> (chapter {ch['masks']})", showarrow=False,
                       font={"size": 11})
    h = (60 - 42 - 0.8 * (len(masks) - 1)) / len(masks)
    mask_y = {}  # mask type -> the middle of its box
    for k, m in enumerate(masks):
        y1 = 60 - k * (h + 0.8)
        mask_y[m] = y1 - h / 2
        desc = MASKS[m].description if m in MASKS else ""
        box(70, 99, y1 - h, y1, "masks", _box_text(m, [desc] if desc else [], 33))
    arrow(17, 51, 22, 51)
    arrow(42, 51, 47, 51)
    arrow(65, 51, 69, 51)

    # middle row: target corpus -> relevance maps and -> (4) Trainee <- masks
    box(0, 17, 21, 35, "data", _box_text(target, ["target corpus", f"chapter {ch['data']}"], 16))
    box(70, 99, 21, 36, "trainee", _box_text(f"④ Trainee: {trainee}", [
        f"masked images until epoch {switch_epoch}, then unmasked (also: masked throughout, and no mask)",
        "⑤ always validated on unmasked images", f"chapter {ch['trainee']}"], 30))
    arrow(17, 32, 50, 42, "images to explain", label_at=(0.45, 0.45))
    arrow(17, 26, 70, 26, "unmasked images", label_at=(0.3, 0.0))
    arrow(84.5, 40.5, 84.5, 36, "masked images")

    # bottom row: the gaze study, compared with the model's heatmaps
    box(0, 17, 0, 14, "data", _box_text(gaze_images, ["gaze study images", f"chapter {ch['data']}"], 16))
    box(22, 42, 0, 14, "gaze", _box_text("Gaze study", [
        "annotators' fixations -> gaze heatmaps", f"chapter {ch['gaze']}"], 21))
    box(47, 65, 0, 14, "gaze", _box_text("Human vs model", [
        "heatmaps compared: overlap, Spearman, cosine distance", f"chapter {ch['gaze']}"], 19))
    arrow(17, 7, 22, 7)
    arrow(42, 7, 47, 7)
    arrow(60, 42, 60, 14, "model heatmaps:<br>n most relevant pixels", label_at=(0.5, 0.28))
    if "perceptive" in mask_y:  # the gaze study gives the perceptive mask its number of fixations n
        y = mask_y["perceptive"]
        fig.add_shape(type="path", path=f"M 32 14 L 32 17.5 L 102.5 17.5 L 102.5 {y} L 100.5 {y}",
                      line={"color": colors["gaze"][1], "width": 1.5, "dash": "dash"}, layer="below")
        arrow(100.6, y, 99, y, color=colors["gaze"][1])
        fig.add_annotation(x=84.5, y=17.5, text="n = mean fixations per image (perceptive mask)", showarrow=False,
                           font={"size": 10, "color": colors["gaze"][1]}, bgcolor="white")

    fig.update_xaxes(visible=False, range=[-0.5, 103.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.5, 65.5], fixedrange=True)
    fig.update_layout(title=title, height=560, showlegend=False, hovermode=False,
                      margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10})
    return fig


def dose_response(effects: pd.DataFrame, fills: Sequence[str] | None = None, order: Sequence[str] | None = None):
    """The nuisance study in one figure (`rbdm_core.dose_response.effects`): columns = fills,
    rows = steps saved to the target F1 (censored runs counted at the end: a bound) and final
    macro-F1 difference, each masked variant against no mask over the nuisance level, with its
    interval over seeds as error bars. Returns a plotly Figure."""
    go = _go()
    from plotly.subplots import make_subplots

    for col in ("level", "fill", "variant", "final_diff", "final_diff_low", "final_diff_high", "steps_saved",
                "steps_saved_low", "steps_saved_high"):
        if col not in effects.columns:
            raise ValueError(f"dose_response: column {col!r} missing; expected dose_response.effects(...)")
    fills = list(fills) if fills is not None else list(pd.unique(effects.fill))
    variants = list(order) if order is not None else list(pd.unique(effects.variant))
    colors = TEMPLATE["layout"]["colorway"]
    levels = sorted(pd.unique(effects.level))
    step = (min(np.diff(levels)) if len(levels) > 1 else 1.0) * 0.5 / max(len(variants), 1)
    titles = [f"steps saved, {f} fill" for f in fills] + [f"final F1 difference, {f} fill" for f in fills]
    fig = make_subplots(rows=2, cols=len(fills), subplot_titles=titles, shared_xaxes=True,
                        vertical_spacing=0.12, horizontal_spacing=0.08)
    for c, fill in enumerate(fills, start=1):
        for k, v in enumerate(variants):
            e = effects[(effects.fill == fill) & (effects.variant == v)].sort_values("level")
            if e.empty:
                continue
            x = e.level.to_numpy() + (k - (len(variants) - 1) / 2) * step  # dodge the variants
            for r, col, fmt in ((1, "steps_saved", ".0f"), (2, "final_diff", ".3f")):
                y = e[col].to_numpy()
                fig.add_trace(go.Scatter(
                    x=x, y=y, mode="lines+markers", name=v, legendgroup=v, showlegend=(r == 1 and c == 1),
                    line={"color": colors[k % len(colors)], "width": 1.5}, marker={"size": 7},
                    error_y={"type": "data", "symmetric": False, "array": e[f"{col}_high"].to_numpy() - y,
                             "arrayminus": y - e[f"{col}_low"].to_numpy(), "thickness": 1.2, "width": 3},
                    customdata=np.stack([e.level.to_numpy(), e[f"{col}_low"].to_numpy(), e[f"{col}_high"].to_numpy()], 1),
                    hovertemplate=f"{v}<br>nuisance %{{customdata[0]:.2g}}<br>%{{y:{fmt}}} "
                                  f"[%{{customdata[1]:{fmt}}}, %{{customdata[2]:{fmt}}}]<extra></extra>"),
                    row=r, col=c)
            for r in (1, 2):
                fig.add_hline(y=0, line={"color": "#888", "width": 1, "dash": "dot"}, row=r, col=c)
        fig.update_xaxes(title_text="nuisance level", tickvals=levels, row=2, col=c)
    fig.update_yaxes(title_text="steps saved vs no mask", row=1, col=1, automargin=True)
    fig.update_yaxes(title_text="final F1 − no mask", row=2, col=1, automargin=True)
    fig.update_layout(height=620, legend={"orientation": "h", "y": -0.12}, margin={"t": 60})
    return fig
