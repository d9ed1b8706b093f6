"""Chapter 1's figures of the corpora: images per class and split (`counts_figure`), one image per
class with its ground-truth regions (`class_examples_figure`) and the first and last frames of
posed sequences (`sequence_pairs_figure`)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .. import timing
from ..data.dataset import Dataset
from .images import image_grid
from .render import TEMPLATE, _go


@timing.timed("figures and tables")
def counts_figure(corpora: Mapping[str, Dataset], *, title: str | None = None):
    """Stacked bars of images per class (x) and split (one colour per split name, shared across
    panels, in order of first appearance), one panel per corpus ({name: Dataset}; `Dataset.counts`)."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    fig = make_subplots(rows=1, cols=len(corpora), subplot_titles=list(corpora), horizontal_spacing=0.06)
    split_colors: dict[str, str] = {}
    palette = TEMPLATE["layout"]["colorway"]
    for col, ds in enumerate(corpora.values(), start=1):
        c = ds.counts()
        for s in ds.splits:
            color = split_colors.setdefault(s, palette[len(split_colors) % len(palette)])
            sub = c[c["split"] == s]
            fig.add_trace(go.Bar(x=sub["label"], y=sub["count"], name=s, marker_color=color,
                                 legendgroup=s, showlegend=True), row=1, col=col)
    fig.update_layout(barmode="stack", height=420, title=title, legend={"orientation": "h", "y": -0.3})
    fig.update_xaxes(tickangle=-45)
    return fig


@timing.timed("figures and tables")
def class_examples_figure(ds: Dataset, split: str, *, title: str | None = None, cols: int = 8):
    """The first image of each class in `split` (`Dataset.first_of_each_class`), titled with its
    class, with the ground-truth regions tinted red where `ds.regions` (N, H, W) bool exists."""
    idx = ds.first_of_each_class(split)
    return image_grid(ds.images[idx], [ds.class_names[ds.labels[i]] for i in idx],
                      overlays=ds.regions[idx] if ds.regions is not None else None, cols=cols, title=title)


@timing.timed("figures and tables")
def sequence_pairs_figure(ds: Dataset, pairs: Sequence[int], *, title: str | None = None, cols: int = 8):
    """The images `pairs` of `ds` (indices, e.g. `data.summary.sequence_pairs(ds.ids)`), titled
    "<sequence><br><frame>: <class>" from ids "<sequence>/<frame>", ground-truth regions in red."""
    pairs = np.asarray(pairs)
    titles = [f"{ds.ids[i].rsplit('/', 1)[0]}<br>{ds.ids[i].rsplit('/', 1)[1]}: {ds.class_names[ds.labels[i]]}"
              for i in pairs]
    return image_grid(ds.images[pairs], titles, overlays=ds.regions[pairs] if ds.regions is not None else None,
                      cols=cols, title=title)
