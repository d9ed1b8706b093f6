"""The figures of chapter 3 (relevance), each named for what it draws.

    decomposition_figure(image, rmap, budget, ...)   one image, its map and its relevance budget
    layers_figure(lr, title)                         sum of relevance per layer + maps at some layers
    per_class_figures(images, maps, ...)             images with their regions; their maps
    regions_figure({label: table})                   share of positive relevance inside the regions
    border_figure(trained, border_out, uniform)      relevance / map mean, as trained and border out
    methods_figure(rels, size, labels, title)        every method's maps side by side
    conservation_figure(rels)                        sum / logit per method, one point per image

Helpers: `percent_of_max` and `compact_heatmaps` (maps as whole percentages stored as int8: the
pages stay small). Axes of images use `images.reverse_y` (row 0 at the top).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..saliency.api import to_image_size
from ..saliency.methods import describe_rule
from .images import image_grid, png_data_uri, reverse_y
from .render import _go


def percent_of_max(maps) -> np.ndarray:
    """(N, H, W) maps -> (N, H, W) float32: each map as a percentage of its largest |value|,
    rounded to whole percent (an all-zero map stays 0). For display only."""
    maps = np.asarray(maps, np.float64)
    top = np.abs(maps).reshape(len(maps), -1).max(1).reshape(-1, 1, 1)
    return np.round(100 * maps / np.where(top > 0, top, 1)).astype(np.float32)


def compact_heatmaps(fig):
    """Store the heatmaps' whole-percent values (`percent_of_max`) as int8 (plotly writes arrays as
    typed binary, so float64 percentages would take eight bytes a pixel). Returns `fig`, changed."""
    for tr in fig.data:
        if tr.type == "heatmap":
            z = np.asarray(tr.z).astype(np.int8)
            tr.z = None  # plotly skips an assignment equal in value to the current z
            tr.z = z
    return fig


def decomposition_figure(image: np.ndarray, rmap: np.ndarray, budget: Mapping[str, float], true_class: str,
                         predicted_class: str, title: str):
    """Three panels: `image` (H, W, C) uint8, its relevance map `rmap` (H, W) on a symmetric scale
    ±max|R| (red positive), and `budget` (name -> value, `saliency.conservation.budget`) as bars."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    fig = make_subplots(rows=1, cols=3, column_widths=[0.28, 0.28, 0.44], horizontal_spacing=0.06,
                        subplot_titles=[f"input: {true_class}", f"relevance of {predicted_class}", "the budget"])
    fig.add_trace(go.Image(source=png_data_uri(image)), row=1, col=1)
    lim = float(np.abs(rmap).max()) or 1.0
    fig.add_trace(go.Heatmap(z=rmap, colorscale="RdBu_r", zmin=-lim, zmax=lim, showscale=False), row=1, col=2)
    reverse_y(fig, row=1, col=2)
    fig.add_trace(go.Bar(y=list(budget), x=list(budget.values()), orientation="h",
                         text=[f"{v:.3g}" for v in budget.values()],
                         marker_color=["#7f7f7f", "#1f77b4", "#2ca02c", "#d62728", "#17becf"][:len(budget)],
                         textposition="auto"), row=1, col=3)
    reverse_y(fig, row=1, col=3)
    for c in (1, 2):
        fig.update_xaxes(visible=False, row=1, col=c)
        fig.update_yaxes(visible=False, row=1, col=c)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(height=420, showlegend=False, margin={"t": 100}, title=title)
    return fig


def shown_layers(lr, n: int = 5) -> list[int]:
    """Indices of up to `n` image-shaped layers of a `LayerRelevance` (Input, Conv2D, MaxPooling2D),
    output first and evenly spaced, the last one always the input."""
    order = list(range(len(lr.layers)))[::-1]
    image_layers = [i for i in order if lr.arrays[i].ndim == 3 and lr.kinds[i] in ("Input", "Conv2D", "MaxPooling2D")]
    show = image_layers[:: max(1, len(image_layers) // n)][:n]
    if image_layers[-1] not in show:
        show[-1] = image_layers[-1]  # always end at the input
    return show


def layers_figure(lr, title: str, n_maps: int = 5):
    """Left: the relevance summed at each layer of `lr` (a `LayerRelevance` of one image), output
    first, dark where the layer lies on every path, beside max(logit, 0); right: the relevance at
    `shown_layers(lr, n_maps)`, channels summed, each in % of its own max |R| (int8)."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    start = max(float(lr.logits[0]), 0.0)
    order = list(range(len(lr.layers)))[::-1]  # output first
    show = shown_layers(lr, n_maps)
    fig = make_subplots(rows=1, cols=1 + len(show), column_widths=[0.3] + [0.7 / len(show)] * len(show),
                        subplot_titles=["sum of relevance per layer"]
                        + [f"{lr.layers[i]} {lr.arrays[i].shape[1]}x{lr.arrays[i].shape[2]}" for i in show],
                        horizontal_spacing=0.025)
    fig.add_trace(go.Bar(y=[lr.layers[i] for i in order], x=[float(lr.sums[i, 0]) for i in order], orientation="h",
                         hovertext=[f"{lr.kinds[i]}: {describe_rule(lr.rules[i], lr.kinds[i])}" for i in order],
                         marker_color=["#2ca02c" if lr.on_every_path[i] else "#98df8a" for i in order]), row=1, col=1)
    fig.add_vline(x=start, line_dash="dash", line_color="#1f77b4", row=1, col=1,
                  annotation_text="max(logit, 0)", annotation_position="top right")
    reverse_y(fig, automargin=True, tickfont={"size": 10}, row=1, col=1)
    for j, i in enumerate(show):
        a = lr.arrays[i][0]
        lim = float(np.abs(a).max()) or 1.0
        fig.add_trace(go.Heatmap(z=np.round(100 * a / lim).astype(np.int8), colorscale="RdBu_r", zmin=-100, zmax=100,
                                 showscale=False), row=1, col=2 + j)
        reverse_y(fig, visible=False, scaleanchor=f"x{2 + j}", row=1, col=2 + j)
        fig.update_xaxes(visible=False, row=1, col=2 + j)
    fig.update_layout(height=380, showlegend=False, margin={"t": 90, "l": 10}, title=title)
    return fig


def per_class_figures(images: np.ndarray, maps: np.ndarray, labels: Sequence[int], predicted: Sequence[int],
                      regions: np.ndarray | None, class_names: Sequence[str], title: str):
    """Two one-row grids: `images` (N, H, W, C) uint8 titled with their true class (`labels`),
    `regions` (N, H, W) bool tinted red if given; and their `maps` (N, H, W) in % of each map's
    max |R|, titled with the `predicted` class. Returns (images figure, maps figure)."""
    n = len(images)
    fig_img = image_grid(images, [class_names[t] for t in labels], overlays=regions, cols=n, cell_px=95,
                         title=title + ": true class, ground truth red")
    fig_map = compact_heatmaps(image_grid(percent_of_max(maps), [class_names[p] for p in predicted], cols=n,
                                          cell_px=95, title=title + ": predicted class, its relevance",
                                          scale_label="% of map max"))
    return fig_img, fig_map


def regions_figure(tables: Mapping[str, object], colours: Sequence[str] = ("#1f77b4", "#ff7f0e")):
    """Per corpus (label -> `regions.by_class` table, columns class, inside, area): bars of the
    share of positive relevance inside the regions per class, ticks at the regions' area share."""
    go = _go()
    fig = go.Figure()
    for (label, tab), color in zip(tables.items(), colours):
        fig.add_trace(go.Bar(x=tab["class"], y=tab["inside"], name=f"{label}: relevance inside", marker_color=color))
        fig.add_trace(go.Scatter(x=tab["class"], y=tab["area"], mode="markers", name=f"{label}: area share",
                                 marker={"symbol": "line-ew-open", "size": 26, "color": color, "line": {"width": 3}}))
    fig.update_layout(barmode="group", height=400, yaxis_title="share", yaxis_range=[0, 1],
                      title="Share of positive relevance inside the ground-truth regions (bars) vs their area (ticks)",
                      legend={"orientation": "h", "y": -0.25})
    return fig


def border_figure(trained, border_out=None, uniform: tuple[np.ndarray, str] | None = None):
    """Relevance / map mean, one heatmap each (values rounded to 0.01): the mean ratio of
    `trained` (a `CornerStatistics`), of `border_out` (the network with its border moved outside)
    if given, and `uniform` = (map / its mean, title) of a uniform image if given. One colour scale,
    ±the largest |ratio| of the first two (a uniform image's map would saturate it)."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    panels = [(trained.mean_ratio, f"mean of {trained.n} maps")]
    if border_out is not None:
        panels.append((border_out.mean_ratio, f"border out: {border_out.n} maps"))
    lim = float(max(np.abs(z).max() for z, _ in panels))
    if uniform is not None:
        panels.append(uniform)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels], horizontal_spacing=0.03)
    for j, (z, _) in enumerate(panels):
        fig.add_trace(go.Heatmap(z=np.round(z, 2).astype(np.float32), colorscale="RdBu_r", zmin=-lim, zmax=lim,
                                 showscale=j == len(panels) - 1, colorbar={"len": 0.8, "thickness": 12}),
                      row=1, col=j + 1)
        reverse_y(fig, visible=False, scaleanchor=f"x{j + 1}", row=1, col=j + 1)
        fig.update_xaxes(visible=False, row=1, col=j + 1)
    fig.update_layout(height=340, margin={"t": 80, "l": 10, "r": 10},
                      title="Deep Taylor relevance / map mean (1: spread evenly)")
    return fig


def methods_figure(rels: Mapping[str, object], size: tuple[int, int], labels: Sequence[str], title: str):
    """One row per method of `rels` (name -> `Relevance`): the maps of its first len(`labels`)
    images, resampled to `size` (H, W) (`saliency.to_image_size`), each in % of its max |R|;
    titled with `labels` (the first of a row also with the method)."""
    k = len(labels)
    cells = [percent_of_max(to_image_size(rel.maps[:k], size)) for rel in rels.values()]
    titles = [f"{mt}: {lab}" if j == 0 else lab for mt in rels for j, lab in enumerate(labels)]
    return compact_heatmaps(image_grid(np.concatenate(cells), titles, cols=k, cell_px=95, title=title,
                                       scale_label="% of map max"))


def conservation_figure(rels: Mapping[str, object]):
    """Box plot per method of `rels` (name -> `Relevance`): its finite `conservation` values
    (map sum / explained logit), every point shown, a dashed line at 1."""
    go = _go()
    fig = go.Figure()
    for mt, rel in rels.items():
        c = rel.conservation
        fig.add_trace(go.Box(y=c[np.isfinite(c)], name=mt, boxpoints="all", jitter=0.4, pointpos=0, marker={"size": 4}))
    fig.add_hline(y=1.0, line_dash="dash", line_color="#444", annotation_text="conserved (1)")
    fig.update_layout(height=420, showlegend=False, yaxis_title="sum of map / explained logit",
                      title="Conservation per method (one point per image)")
    return fig
