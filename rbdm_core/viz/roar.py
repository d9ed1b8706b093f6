"""Chapter 8's ROAR figure: final F1 against the share of pixels removed, ranked and random, per
fill, and the paired ranked-minus-random difference, each with its interval as error bars."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from .render import _go

#: line colour per removal, line dash per fill (in the order the fills come)
REMOVAL_COLORS = {"relevance": "#d62728", "random": "#1f77b4"}
FILL_DASHES = ("solid", "dot", "dash", "dashdot")


def asymmetric_error(mean: Any, low: Any, high: Any) -> dict:
    """plotly `error_y` for the intervals [low, high] around `mean` (equal-length 1-D numbers)."""
    mean, low, high = (np.asarray(v, float) for v in (mean, low, high))
    return {"type": "data", "symmetric": False, "array": high - mean, "arrayminus": mean - low}


def roar_figure(gaps: pd.DataFrame, title: str, fills: Sequence[str] | None = None):
    """Two panels from `roar.removal_gaps(...)`: left, final F1 (mean [CI] over seeds) against k
    for ranked and random removal per fill, starting at k = 0 from the unmasked baseline; right,
    ranked - random (paired by seed, [CI]) per fill, with a line at zero. gaps: one row per
    (fill, fraction) with columns fill, fraction, {relevance,random,gap,baseline}_{mean,ci_low,ci_high};
    fills: the order that assigns line dashes (default: as the fills come in `gaps`). Returns a
    plotly Figure."""
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    go = _go()
    dashes = dict(zip(list(pd.unique(gaps.fill)) if fills is None else list(fills), FILL_DASHES))
    base = gaps.iloc[0]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("final F1, mean [95% CI]", "ranked - random, paired [95% CI]"))
    for fill in pd.unique(gaps.fill):
        sub = gaps[gaps.fill == fill]
        for removal, name in (("relevance", "ranked"), ("random", "random")):
            y = [base.baseline_mean, *sub[f"{removal}_mean"]]
            fig.add_trace(go.Scatter(x=[0.0, *sub.fraction], y=y, mode="lines+markers", name=f"{name}, {fill} fill",
                                     line={"color": REMOVAL_COLORS[removal], "dash": dashes[fill]},
                                     error_y=asymmetric_error(y, [base.baseline_ci_low, *sub[f"{removal}_ci_low"]],
                                                              [base.baseline_ci_high, *sub[f"{removal}_ci_high"]])),
                          row=1, col=1)
        fig.add_trace(go.Scatter(x=sub.fraction, y=sub.gap_mean, mode="lines+markers",
                                 name=f"ranked - random, {fill} fill", line={"color": "#444444", "dash": dashes[fill]},
                                 error_y=asymmetric_error(sub.gap_mean, sub.gap_ci_low, sub.gap_ci_high)), row=1, col=2)
    fig.add_hline(y=0, line={"color": "#999999", "width": 1}, row=1, col=2)
    fig.update_xaxes(title_text="share of pixels removed (k)")
    fig.update_yaxes(title_text="validation macro-F1", row=1, col=1)
    fig.update_yaxes(title_text="difference in macro-F1", row=1, col=2)
    fig.update_layout(title=title, height=460, legend={"orientation": "h", "y": -0.25})
    return fig
