"""Curves over training: a mean with its confidence band per group (`line_band`, its numbers
`band_table`), clipped to the metric's range (`metric_bounds`)."""

from __future__ import annotations

import html
import re
from typing import Sequence

import numpy as np
import pandas as pd

from ..statistics import summarise
from .render import TEMPLATE, _go


def band_table(df: pd.DataFrame, x: str, y: str, group: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per (group, x): n, mean, ci_low, ci_high of column `y` (`statistics.summarise`, Student-t):
    the numbers `line_band` draws."""
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
