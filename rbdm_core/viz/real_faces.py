"""Chapter 10's figures of real faces: a video's predicted label over time per track
(`video_labels_figure`), a strip of frames with face boxes (`video_strip_figure`), faces under the
three masks (`real_masks_figure`) and their relevance maps (`real_relevance_figure`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .. import timing
from .images import image_grid
from .render import _go


@timing.timed("figures and tables")
def video_labels_figure(rows: pd.DataFrame, class_names: Sequence[str]):
    """One marker series per track of the predicted label (y, categories in `class_names` order)
    against time (x, s = time_ms / 1000); hover gives the probability. rows: columns track,
    time_ms, label, probability (`classify_video`'s rows)."""
    go = _go()
    fig = go.Figure()
    for t, g in rows.groupby("track"):
        fig.add_trace(go.Scatter(x=g["time_ms"] / 1000, y=g["label"], mode="markers", name=f"track {t}",
                                 customdata=g["probability"],
                                 hovertemplate="%{x:.2f} s<br>%{y}<br>p = %{customdata:.2f}<extra></extra>"))
    fig.update_layout(xaxis_title="time (s)", yaxis_title="predicted label", height=320,
                      yaxis={"categoryorder": "array", "categoryarray": list(class_names)})
    return fig


@timing.timed("figures and tables")
def video_strip_figure(strip):
    """`real_faces.video_strip`'s frames with their titles and each face's box tinted (3 columns)."""
    return image_grid(strip.frames, strip.titles, overlays=strip.boxes, cols=3, cell_px=250, overlay_opacity=0.2)


@timing.timed("figures and tables")
def real_masks_figure(cells: Sequence[np.ndarray], times_ms: Sequence[float], mask_names: Sequence[str]):
    """Rows of the model input then the input under each mask (`real_faces.masked_views`' (H, W)
    uint8 images), titled "<t> s: model input" and "<mask> mask"; one row per time in `times_ms`."""
    titles = [title for t in times_ms for title in (f"{t / 1000:.1f} s: model input", *(f"{m} mask" for m in mask_names))]
    return image_grid(list(cells), titles, cols=1 + len(mask_names), cell_px=170)


@timing.timed("figures and tables")
def real_relevance_figure(maps: np.ndarray, times_ms: Sequence[float], method: str, classes: Sequence[str]):
    """Relevance maps (n, H, W), one per time in `times_ms`, titled "<t> s: <method>, <class explained>"."""
    return image_grid(list(maps), [f"{t / 1000:.1f} s: {method}, {c}" for t, c in zip(times_ms, classes)],
                      cols=len(maps), cell_px=220)
