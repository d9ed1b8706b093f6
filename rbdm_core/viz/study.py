"""The figures of chapter 9 (the study `rbdm_core.study`), drawn from its effects and runs tables.

    effects_figure(effects, metric)      one panel per condition: each variant's difference from no
                                         mask with the verdict's interval (the Bonferroni-adjusted
                                         one of effects.csv), the oracle (ceiling) and the random
                                         control (floor) in their own colours
    dial_figure(effects, runs, ...)      benefit against mask quality (share of kept pixels in the
                                         oracle region) along the dial, with the Trainer's masks and
                                         the oracle as points on the same axes
Both return plotly Figures; the intervals drawn are exactly those the verdict sentences use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rbdm_core.study_design import base_name

COLOURS = {"oracle": "#1b9e77", "random": "#999999", "dial": "#7570b3", "relevance": "#d95f02"}


def _kind(variant: str) -> str:
    b = base_name(variant)
    return "oracle" if b == "oracle" else "random" if b.startswith("random-") else "dial" if b.startswith("dial-") \
        else "relevance"


def _label(row) -> str:
    t = "" if row.trainer in ("none", "strong") else f" ({row.trainer} Trainer)"
    return f"{row.variant}, {row.fill}{t}"


def effects_figure(effects: pd.DataFrame, metric: str = "final_f1_test", title: str | None = None):
    """Differences from no mask of every comparison in `metric`, one panel per condition."""
    import plotly.graph_objects as go  # deferred: plotly, slow to import
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    e = effects[effects.metric == metric]
    if e.empty:
        raise ValueError(f"effects_figure: no rows for metric {metric!r}; metrics are {sorted(set(effects.metric))}")
    conds = list(e[["world", "train_per_class"]].drop_duplicates().itertuples(index=False, name=None))
    fig = make_subplots(rows=len(conds), cols=1, shared_xaxes=False, vertical_spacing=0.06,
                        subplot_titles=[f"{w}, {k} training images per class" for w, k in conds])
    seen = set()
    for r, (w, k) in enumerate(conds, start=1):
        g = e[(e.world == w) & (e.train_per_class == k)].reset_index(drop=True)
        labels = [_label(x) for x in g.itertuples()]
        for kind in ("oracle", "relevance", "dial", "random"):
            m = g.variant.map(_kind) == kind
            if not m.any():
                continue
            s = g[m]
            fig.add_trace(go.Scatter(
                y=[labels[i] for i in s.index], x=s["diff"], mode="markers", name=kind, legendgroup=kind,
                showlegend=kind not in seen, marker={"color": COLOURS[kind], "size": 9},
                error_x={"type": "data", "symmetric": False, "array": s.high - s["diff"],
                         "arrayminus": s["diff"] - s.low, "thickness": 1.5, "width": 4},
                customdata=np.stack([s.low, s.high, s.verdict], 1),
                hovertemplate="%{y}<br>%{x:+.3f} [%{customdata[0]:+.3f}, %{customdata[1]:+.3f}]: "
                              "%{customdata[2]}<extra></extra>"), row=r, col=1)
            seen.add(kind)
        fig.add_vline(x=0, line={"color": "#555", "width": 1, "dash": "dot"}, row=r, col=1)
        fig.update_yaxes(autorange="reversed", automargin=True, row=r, col=1)
        fig.update_xaxes(title_text=f"{metric} − no mask", row=r, col=1)
    fig.update_layout(title=title, height=230 * len(conds) + 80, legend={"orientation": "h", "y": 1.02, "x": 0,
                                                                          "yanchor": "bottom"},
                      margin={"l": 10, "r": 10, "t": 90})
    return fig


def dial_figure(effects: pd.DataFrame, runs: pd.DataFrame, world: str, train_per_class: int,
                metric: str = "final_f1_test", title: str | None = None):
    """Benefit (`metric` − no mask, with its interval) against mask quality (mean share of kept
    pixels in the oracle region, from runs.csv) in one condition: the dial, the Trainers' relevance
    masks and the oracle."""
    import plotly.graph_objects as go  # deferred: plotly, slow to import

    e = effects[(effects.metric == metric) & (effects.world == world) & (effects.train_per_class == train_per_class)]
    r = runs[(runs.world == world) & (runs.train_per_class == train_per_class)]
    q = r.groupby(["trainer", "fill", "variant"]).oracle_precision.mean().rename("quality").reset_index()
    e = e.merge(q, on=["trainer", "fill", "variant"], how="left")
    e = e[e.variant.map(_kind).isin(["dial", "oracle", "relevance"])]
    fig = go.Figure()
    dial = e[e.variant.map(_kind) == "dial"].sort_values("quality")
    points = [("dial", dial)] + [(_label(row), e.loc[[i]]) for i, row in e.iterrows() if _kind(row.variant) != "dial"]
    for name, s in points:
        if s.empty:
            continue
        kind = "dial" if name == "dial" else _kind(s.variant.iloc[0])
        fig.add_trace(go.Scatter(
            x=s.quality, y=s["diff"], mode="lines+markers" if kind == "dial" else "markers", name=name,
            marker={"color": COLOURS[kind], "size": 10,
                    "symbol": "diamond" if kind == "oracle" else "square" if "weak" in name else "circle"},
            error_y={"type": "data", "symmetric": False, "array": s.high - s["diff"], "arrayminus": s["diff"] - s.low},
            customdata=np.stack([s.low, s.high, [_label(x) for x in s.itertuples()]], 1),
            hovertemplate="%{customdata[2]}<br>quality %{x:.2f}<br>%{y:+.3f} [%{customdata[0]:+.3f}, "
                          "%{customdata[1]:+.3f}]<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#555", "width": 1, "dash": "dot"})
    fig.update_layout(title=title, height=460, xaxis_title="mask quality: share of kept pixels in the oracle region",
                      yaxis_title=f"{metric} − no mask", legend={"orientation": "h", "y": -0.2})
    return fig
