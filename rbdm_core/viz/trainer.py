"""Chapter 2's figures of the Trainer: images per class beside a reference corpus
(`class_distribution_figure`, the paper's Figure 2), augmented draws (`augmentation_figure`), the
candidates' learning curves (`candidate_curves_figure`) and recall and F1 per class beside the
annotators' agreement (`agreement_figure`)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import timing
from .images import image_grid
from .render import TEMPLATE, _go


@timing.timed("figures and tables")
def class_distribution_figure(class_names: Sequence[str], reference_counts, run_counts, *, reference_title: str,
                              run_title: str, title: str | None = None):
    """Two bar panels of images per class: `reference_counts` (K,) (blue, panel `reference_title`)
    and `run_counts` (K,) (orange, panel `run_title`), classes on x."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    names = list(class_names)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=[reference_title, run_title])
    fig.add_trace(go.Bar(x=names, y=reference_counts, marker_color="#1f77b4", name="AffectNet"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=run_counts, marker_color="#ff7f0e", name="this run"), row=1, col=2)
    fig.update_layout(height=400, showlegend=False, title=title, margin={"t": 90, "b": 90})
    fig.update_yaxes(title_text="images", row=1, col=1)
    fig.update_xaxes(tickangle=-45)
    return fig


@timing.timed("figures and tables")
def augmentation_figure(images: np.ndarray, draws: np.ndarray, labels: Sequence[str], *, title: str | None = None,
                        cell_px: int = 110):
    """One row per image: the original (P, H, W, C) uint8, titled with its class `labels` (P,
    names), then its n augmented draws `draws` (P, n, H, W, C) uint8, titled "draw j"."""
    images, draws = np.asarray(images), np.asarray(draws)
    n = draws.shape[1]
    cells = np.concatenate([images[:, None], draws], axis=1).reshape((-1,) + images.shape[1:])
    titles = [label if j == 0 else f"draw {j}" for label in labels for j in range(n + 1)]
    return image_grid(cells, titles, cols=n + 1, cell_px=cell_px, title=title)


@timing.timed("figures and tables")
def candidate_curves_figure(curves: Mapping[str, pd.DataFrame], *, title: str | None = None):
    """Learning curves of each architecture ({name: tidy curves with columns split, metric, step,
    value}): validation macro-F1 (left) and loss (right; dotted = train, solid = validation)
    against the training step, one colour per architecture."""
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    fig = make_subplots(rows=1, cols=2, subplot_titles=["validation macro-F1", "loss (cross-entropy)"],
                        horizontal_spacing=0.1)
    palette = TEMPLATE["layout"]["colorway"]
    for k, (arch, c) in enumerate(curves.items()):
        f1 = c[(c.split == "validation") & (c.metric == "f1")]
        fig.add_trace(go.Scatter(x=f1.step, y=f1.value, mode="lines", name=arch, legendgroup=arch,
                                 line={"color": palette[k]}), row=1, col=1)
        for split, dash in (("train", "dot"), ("validation", "solid")):
            lo = c[(c.split == split) & (c.metric == "loss")]
            fig.add_trace(go.Scatter(x=lo.step, y=lo.value, mode="lines", name=f"{arch} ({split})", legendgroup=arch,
                                     line={"color": palette[k], "dash": dash}, showlegend=False), row=1, col=2)
    fig.update_xaxes(title_text="training step")
    fig.update_layout(height=420, title=title, margin={"t": 90}, legend={"orientation": "h", "y": -0.25})
    return fig


@timing.timed("figures and tables")
def agreement_figure(ranked: pd.DataFrame, *, run_label: str, title: str | None = None):
    """Grouped bars of recall and F1 per class (`agreement.label_agreement_table`'s rows: class,
    recall, f1, annotator agreement; shares 0..1) with the quoted annotator agreement as red
    diamonds where it is given; bar names "Trainer recall (<run_label>)", "Trainer F1 (...)"."""
    go = _go()
    palette = TEMPLATE["layout"]["colorway"]
    fig = go.Figure()
    for metric, color in (("recall", palette[0]), ("f1", palette[1])):
        fig.add_trace(go.Bar(x=ranked["class"], y=ranked[metric], name=f"Trainer {'F1' if metric == 'f1' else metric} "
                             f"({run_label})", marker_color=color))
    quoted = ranked.dropna(subset=["annotator agreement"])
    fig.add_trace(go.Scatter(x=quoted["class"], y=quoted["annotator agreement"], mode="markers+text",
                             name="agreement of two AffectNet annotators (quoted)",
                             text=[f"{v:.1%}" for v in quoted["annotator agreement"]], textposition="top center",
                             marker={"symbol": "diamond", "size": 13, "color": "#d62728"}))
    fig.update_layout(barmode="group", height=420, yaxis={"range": [0, 1.1], "title": "share"}, title=title,
                      legend={"orientation": "h", "y": -0.3}, margin={"t": 60, "b": 110})
    fig.update_xaxes(tickangle=-45)
    return fig
