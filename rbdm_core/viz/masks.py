"""Chapter 5's mask figures: the three masks on example images (`masks_figure`, the paper's
Figure 8), one image under every mask and fill (`fills_figure`), and the kept share per image
(`kept_fraction_figure`)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import timing
from .images import image_grid
from .render import _go


@timing.timed("figures and tables")
def masks_figure(images: np.ndarray, masks_by_type: Mapping[str, np.ndarray], examples: Sequence[int],
                 class_names: Sequence[str], labels: np.ndarray, *, title: str | None = None):
    """The paper's Figure 8: one row per mask type, one column per image of `examples`, the
    removed area tinted red. images: (N, H, W, C) uint8; masks_by_type: {type: (N, H, W) bool,
    True = kept}; labels: (N,) class indices into `class_names`. Titles "type<br>class"."""
    examples = np.asarray(examples)
    titles = [f"{t}<br>{class_names[labels[i]]}" for t in masks_by_type for i in examples]
    return image_grid(np.concatenate([images[examples]] * len(masks_by_type)), titles,
                      overlays=np.concatenate([~m[examples] for m in masks_by_type.values()]), cols=len(examples),
                      overlay_opacity=0.6, title=title)


@timing.timed("figures and tables")
def fills_figure(filled: np.ndarray, mask_types: Sequence[str], fills: Sequence[str], *, title: str | None = None):
    """One image under each mask type (rows) and fill (columns): filled is (T F, H, W, C) uint8,
    type-major (`masking.summary.filled_examples`). Titles "type, fill"; 120 px cells."""
    return image_grid(np.asarray(filled), [f"{t}, {f}" for t in mask_types for f in fills], cols=len(fills),
                      cell_px=120, title=title)


@timing.timed("figures and tables")
def kept_fraction_figure(stats: pd.DataFrame, mask_types: Sequence[str], *, title: str | None = None):
    """A violin per mask type of the kept share of each image (0..1; box and mean line, no
    points). stats: one row per (mask, image) with columns `mask` and `kept_fraction`
    (`masking.summary.kept_by_type`)."""
    go = _go()
    fig = go.Figure()
    for t in mask_types:
        fig.add_trace(go.Violin(y=stats.kept_fraction[stats["mask"] == t], name=t, box_visible=True,
                                meanline_visible=True, points=False, spanmode="hard"))
    fig.update_layout(height=380, showlegend=False, yaxis_title="kept share of the image's pixels", yaxis_range=[0, 1],
                      title=title)
    return fig


@timing.timed("figures and tables")
def masks_by_source_figure(images: np.ndarray, sources: Mapping[str, np.ndarray], examples: Sequence[int], *,
                           title: str | None = None, cell_px: int = 125):
    """Chapter 8's masks of several Trainers: one row per image of `examples`, one column per mask
    source, the removed pixels washed out in white (kept pixels as they are). images: (N, H, W, C)
    uint8; sources: {name: (N, H, W) bool, True = kept}; column titles are the names, broken
    before "(", " of the" and " alone"."""
    rows, removed, titles = [], [], []
    for i in np.asarray(examples):
        for name, m in sources.items():
            rows.append(images[i])
            removed.append(~m[i])
            titles.append(name.replace(" (", "<br>(").replace(" of the", "<br>of the").replace(" alone", "<br>alone"))
    return image_grid(np.stack(rows), titles, overlays=np.stack(removed), cols=len(sources), cell_px=cell_px,
                      overlay_color=(255, 255, 255), overlay_opacity=0.85, title=title)


@timing.timed("figures and tables")
def mask_pairs_figure(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                      pairs: Sequence[tuple[str, np.ndarray]], examples: Sequence[int], *, cols: int = 4,
                      title: str | None = None):
    """Masks from two (or more) sources side by side per image of `examples`, the kept area
    tinted: pairs: [(name, (N, H, W) bool masks)], shown in that order for each image, titled
    "class<br>name". images: (N, H, W, C) uint8; labels: (N,) indices into `class_names`."""
    imgs, titles, overlays = [], [], []
    for i in np.asarray(examples):
        for name, m in pairs:
            imgs.append(images[i])
            overlays.append(m[i])
            titles.append(f"{class_names[labels[i]]}<br>{name}")
    return image_grid(np.stack(imgs), titles, overlays=np.stack(overlays), cols=cols, title=title)
