"""Chapter 7's figure: validation curves of identical runs on top of each other, beside a run with
another seed (`repro_curves_figure`, the counterpart of the paper's Figure 9)."""

from __future__ import annotations

from typing import Sequence

from .. import timing
from .render import _go

DASHES = ("solid", "dash", "dot", "dashdot")


@timing.timed("figures and tables")
def repro_curves_figure(runs: Sequence, other, metric: str, label: str, *, title: str | None = None):
    """One line per run (`training.train` results with .seed and tidy .curves: split, metric, step,
    value) of the validation `metric` against the training step: the identical `runs` with
    different dashes and widths (where they coincide only one line shows), `other` solid and thin.
    `label` titles the y axis."""
    go = _go()
    fig = go.Figure()
    n_runs = len(runs)
    for i, r in enumerate([*runs, other]):
        c = r.curves[(r.curves.split == "validation") & (r.curves.metric == metric)]
        name = f"run {i + 1} (seed {r.seed})" if i < n_runs else f"other seed ({r.seed})"
        fig.add_trace(go.Scatter(x=c.step, y=c.value, mode="lines", name=name,
                                 line={"dash": DASHES[i % len(DASHES)] if i < n_runs else "solid",
                                       "width": 4 - 1.2 * (i % 3) if i < n_runs else 2}))
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title=label, height=440,
                      legend={"orientation": "h", "y": -0.2})
    return fig
