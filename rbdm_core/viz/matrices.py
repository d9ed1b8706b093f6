"""The confusion matrix as a heatmap (`confusion`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..figure_fit import text_px
from .render import _go


def confusion(matrix: np.ndarray, class_names: Sequence[str], *, normalize: bool = True, title: str | None = None):
    """Confusion matrix heatmap: rows = true class, columns = predicted class.

    matrix: (K, K) counts. With `normalize`, colour and the first number are row shares (recall per
    class); every cell's text also gives the count. Returns a plotly Figure."""
    go = _go()
    m = np.asarray(matrix, dtype=np.float64)
    k = len(class_names)
    if m.shape != (k, k):
        raise ValueError(f"confusion: matrix shape {m.shape} does not match {k} class names")
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    z = share if normalize else m
    text = [[(f"{share[i, j]:.2f}<br>({int(m[i, j])})" if normalize else f"{int(m[i, j])}") for j in range(k)]
            for i in range(k)]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(class_names), y=list(class_names), text=text, texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=1 if normalize else None, showscale=True,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>"))
    label_px = max(text_px(str(c), 12) for c in class_names)
    # left: the row labels plus the axis title; bottom: the column labels (plotly tilts long ones)
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true",
                      height=int(120 + 45 * k + label_px * 0.7),
                      margin={"l": int(label_px + 40), "b": int(label_px * 0.7 + 45)},
                      xaxis={"automargin": True, "title": {"standoff": 8}},
                      yaxis={"autorange": "reversed", "automargin": True, "title": {"standoff": 8}})
    return fig
