"""The nuisance study's figure: the masked variants' effects over the nuisance level (`dose_response`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .render import TEMPLATE, _go


def dose_response(effects: pd.DataFrame, fills: Sequence[str] | None = None, order: Sequence[str] | None = None):
    """The nuisance study in one figure (`rbdm_core.dose_response.effects`): columns = fills,
    rows = steps saved to the target F1 (censored runs counted at the end: a bound) and final
    macro-F1 difference, each masked variant against no mask over the nuisance level, with its
    interval over seeds as error bars. Returns a plotly Figure."""
    go = _go()
    from plotly.subplots import make_subplots

    for col in ("level", "fill", "variant", "final_diff", "final_diff_low", "final_diff_high", "steps_saved",
                "steps_saved_low", "steps_saved_high"):
        if col not in effects.columns:
            raise ValueError(f"dose_response: column {col!r} missing; expected dose_response.effects(...)")
    fills = list(fills) if fills is not None else list(pd.unique(effects.fill))
    variants = list(order) if order is not None else list(pd.unique(effects.variant))
    colors = TEMPLATE["layout"]["colorway"]
    levels = sorted(pd.unique(effects.level))
    step = (min(np.diff(levels)) if len(levels) > 1 else 1.0) * 0.5 / max(len(variants), 1)
    titles = [f"steps saved, {f} fill" for f in fills] + [f"final F1 difference, {f} fill" for f in fills]
    fig = make_subplots(rows=2, cols=len(fills), subplot_titles=titles, shared_xaxes=True,
                        vertical_spacing=0.12, horizontal_spacing=0.08)
    for c, fill in enumerate(fills, start=1):
        for k, v in enumerate(variants):
            e = effects[(effects.fill == fill) & (effects.variant == v)].sort_values("level")
            if e.empty:
                continue
            x = e.level.to_numpy() + (k - (len(variants) - 1) / 2) * step  # dodge the variants
            for r, col, fmt in ((1, "steps_saved", ".0f"), (2, "final_diff", ".3f")):
                y = e[col].to_numpy()
                fig.add_trace(go.Scatter(
                    x=x, y=y, mode="lines+markers", name=v, legendgroup=v, showlegend=(r == 1 and c == 1),
                    line={"color": colors[k % len(colors)], "width": 1.5}, marker={"size": 7},
                    error_y={"type": "data", "symmetric": False, "array": e[f"{col}_high"].to_numpy() - y,
                             "arrayminus": y - e[f"{col}_low"].to_numpy(), "thickness": 1.2, "width": 3},
                    customdata=np.stack([e.level.to_numpy(), e[f"{col}_low"].to_numpy(), e[f"{col}_high"].to_numpy()], 1),
                    hovertemplate=f"{v}<br>nuisance %{{customdata[0]:.2g}}<br>%{{y:{fmt}}} "
                                  f"[%{{customdata[1]:{fmt}}}, %{{customdata[2]:{fmt}}}]<extra></extra>"),
                    row=r, col=c)
            for r in (1, 2):
                fig.add_hline(y=0, line={"color": "#888", "width": 1, "dash": "dot"}, row=r, col=c)
        fig.update_xaxes(title_text="nuisance level", tickvals=levels, row=2, col=c)
    fig.update_yaxes(title_text="steps saved vs no mask", row=1, col=1, automargin=True)
    fig.update_yaxes(title_text="final F1 − no mask", row=2, col=1, automargin=True)
    fig.update_layout(height=620, legend={"orientation": "h", "y": -0.12}, margin={"t": 60})
    return fig
