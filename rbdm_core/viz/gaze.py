"""The figures of chapter 4 (human perception): an image with gaze points and heatmaps on it.

    visual_field_figure(image, field, title)         rings of vision around one fixation (Figure 6)
    scanpath_figure(image, path, title)              samples, generating and detected fixations
    heatmaps_figure(image, human, ..., title)        the annotators' and the model's heatmaps (Figure 7)
    missed_cues_figure(chosen, ..., title)           fixations vs the model's top pixels (Figure 13)

Coordinates are image pixel-centre coordinates (x = column, y = row; `gaze.screen_to_image`); the
image axes are `images.image_axes` (row 0 at the top), the image `images.add_image`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .images import add_image, image_axes, image_grid
from .render import _go

#: the annotators' colours in Figure 13 (annotator k: COLOURS[k % 4]); the uncounted fixation grey
ANNOTATOR_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


def _heat(go, hm, colorscale, opacity, value):
    """A heatmap drawn only where `hm` > 0 (NaN elsewhere: the image shows through)."""
    return go.Heatmap(z=np.where(hm > 0, hm, np.nan), colorscale=colorscale, opacity=opacity, showscale=False,
                      hovertemplate=f"x=%{{x}} y=%{{y}}<br>{value}=%{{z:.2f}}<extra></extra>")


def visual_field_figure(image: np.ndarray, field, title: str):
    """`image` (S, S[, C]) uint8 with one fixation of `field` (`gaze.VisualField`): its cut Gaussian
    shaded, a circle per ring (radius in image px; solid, then dashed) and a cross at the fixation."""
    go = _go()
    side = image.shape[0]
    fx_x, fx_y = field.xy
    fig = add_image(go.Figure(), image)
    fig.add_trace(_heat(go, field.blob, "YlOrRd", 0.45, "p"))
    angle = np.linspace(0, 2 * np.pi, 121)
    for (label, r), dash in zip(field.rings.items(), ["solid", "dash"]):
        fig.add_trace(go.Scatter(x=fx_x + r * np.cos(angle), y=fx_y + r * np.sin(angle), mode="lines", hoverinfo="skip",
                                 name=f"{label}: radius {r:.2f} image px", line={"color": "#1f77b4", "width": 2, "dash": dash}))
    fig.add_trace(go.Scatter(x=[fx_x], y=[fx_y], mode="markers", marker={"symbol": "x", "size": 10, "color": "#1f77b4"},
                             hoverinfo="skip", name="fixation"))
    image_axes(fig, side)
    fig.update_layout(height=600, margin={"l": 10, "r": 10, "t": 60, "b": 10}, legend={"orientation": "h", "y": -0.02},
                      title=title)
    return fig


def scanpath_figure(image: np.ndarray, path, title: str):
    """`image` with one scanpath (`gaze.Scanpath`): the samples joined by lines, the generating
    fixations numbered (marker area growing with duration) and the detected ones as crosses."""
    go = _go()
    side = image.shape[0]
    s_xy, t_xy, d_xy = path.samples_xy, path.fixations_xy, path.detected_xy
    fig = add_image(go.Figure(), image)
    fig.add_trace(go.Scatter(x=s_xy[:, 0], y=s_xy[:, 1], mode="markers+lines", name="60 Hz samples",
                             marker={"size": 3, "color": "rgba(120,120,120,0.8)"}, line={"width": 0.5, "color": "#bbbbbb"}))
    fig.add_trace(go.Scatter(x=t_xy[:, 0], y=t_xy[:, 1], mode="markers+text", name="generating fixations",
                             text=[str(i) for i in range(len(t_xy))], textposition="top right",
                             marker={"size": 6 + np.sqrt(path.durations_ms) * 0.8, "color": "rgba(31,119,180,0.35)",
                                     "line": {"color": "#1f77b4", "width": 2}}))
    fig.add_trace(go.Scatter(x=d_xy[:, 0], y=d_xy[:, 1], mode="markers", name="I-DT fixations",
                             marker={"symbol": "x", "size": 11, "color": "#d62728"}))
    image_axes(fig, side)
    fig.update_layout(height=600, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"orientation": "h", "y": -0.02}, title=title)
    return fig


def heatmaps_figure(image: np.ndarray, human_maps: np.ndarray, annotators: Sequence, human_points: Sequence[np.ndarray],
                    model_map: np.ndarray, model_points: np.ndarray, title: str):
    """One panel per annotator (`human_maps` (A, S, S), their fixations `human_points`, A arrays
    (n, 2)) and one for the model (`model_map` (S, S), its pseudo-fixations `model_points` (n, 2)):
    `image` under the heatmap (jet, where > 0) and the points as white dots."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    side = image.shape[0]
    panels = [(f"annotator {a}", hm, pts) for a, hm, pts in zip(annotators, human_maps, human_points)]
    panels.append(("model", model_map, model_points))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.02)
    for c, (_, hm, pts) in enumerate(panels, start=1):
        add_image(fig, image, row=1, col=c)
        fig.add_trace(_heat(go, hm, "Jet", 0.5, "I"), row=1, col=c)
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", hoverinfo="skip",
                                 marker={"size": 5, "color": "white", "line": {"color": "black", "width": 1}}), row=1, col=c)
    image_axes(fig, side, anchor=None)
    for c in range(1, len(panels) + 1):
        fig.update_yaxes(scaleanchor=f"x{'' if c == 1 else c}", row=1, col=c)
    fig.update_layout(height=330, showlegend=False, margin={"l": 10, "r": 10, "t": 70, "b": 10}, title=title)
    return fig


def missed_cues_figure(chosen, images: np.ndarray, regions: np.ndarray, numbered: Sequence, annotators: Sequence,
                       model_maps: np.ndarray, top_points: Sequence[np.ndarray], title: str):
    """Figure 13, one row per row of `chosen` (`gaze.select_missed_cues(...).chosen`): left, the
    image (`images` (K, S, S[, C])) with its region (`regions` (K, S, S) bool) tinted and each
    annotator's fixations numbered in viewing order (`numbered`: per image, per annotator, (xy (m, 2),
    numbers (m,)); number 0 grey); right, the model's heatmap (`model_maps` (K, S, S)) and its
    top pixels (`top_points`: per image (n, 2) in rank order, hover: the rank)."""
    go = _go()
    side = images.shape[1]
    n_top = len(top_points[0]) if len(top_points) else 0
    titles = []
    for r in chosen.itertuples():
        titles += [f"image {r.image_index}: {r.true}, Trainer: {r.predicted}<br>fixations in region "
                   f"{r.fixations_in_region}/{r.fixations}",
                   f"Trainer's top {n_top} pixels<br>in region {r.top_pixels_in_region}/{n_top}"]
    fig = image_grid(np.repeat(images, 2, axis=0), titles, overlays=np.repeat(regions, 2, axis=0), cols=2,
                     cell_px=330, title=title)
    for row, (per_annotator, hm, top) in enumerate(zip(numbered, model_maps, top_points), start=1):
        for a_i, (a, (xy, number)) in enumerate(zip(annotators, per_annotator)):
            colour = np.where(number == 0, "#7f7f7f", ANNOTATOR_COLOURS[a_i % len(ANNOTATOR_COLOURS)])
            fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=[str(k) for k in number],
                                     textposition="top right", textfont={"size": 10, "color": colour},
                                     marker={"size": 9, "color": colour, "line": {"color": "white", "width": 1}},
                                     hovertemplate=f"annotator {a}, fixation %{{text}}<extra></extra>"), row=row, col=1)
        fig.add_trace(_heat(go, hm, "YlOrRd", 0.45, "I"), row=row, col=2)
        fig.add_trace(go.Scatter(x=top[:, 0], y=top[:, 1], mode="markers", customdata=np.arange(1, len(top) + 1),
                                 marker={"size": 9, "color": "white", "line": {"color": "black", "width": 1.5}},
                                 hovertemplate="top pixel, rank %{customdata}<extra></extra>"), row=row, col=2)
    image_axes(fig, side, hide=False, anchor=None)
    return fig
