"""Layouts that fit their text: margins, subplot titles and tick labels sized from the labels.

plotly places text without measuring it against its neighbours: a long subplot title runs into the
next one, category labels of a subplot that is not in the first column run into the subplot on
their left, a fixed left margin cuts long class names. `fit(fig)` (applied by `rbdm_core.viz` to
every figure it shows) estimates text widths from character counts and the font size and moves
things apart. Widths are estimates (`CHAR_EM` em per character, a little wider than Helvetica's
average), computed for the book's content column of `WIDTH` px.
"""

from __future__ import annotations

import base64
import re
import textwrap
from typing import Any

import numpy as np

#: the width (px) the figures are laid out for: the book's content column at 1280 px is 688 px; on a
#: phone the figures keep this width and scroll sideways (book/_static/rbdm.css)
WIDTH = 680
#: estimated average character width of the figures' sans-serif font, in em
CHAR_EM = 0.6
#: smallest font (px) a subplot title is shrunk to before it is wrapped
MIN_TITLE_FONT = 9
#: hover format of non-integer numbers: three significant digits, trailing zeros trimmed (d3-format)
HOVER_FORMAT = ".3~r"

_TAG_RE = re.compile(r"<[^>]+>")


def text_px(text: str, font_size: float = 12) -> float:
    """Estimated width in px of the widest line of a plotly text (`<br>` breaks, tags ignored)."""
    lines = re.split(r"<br\s*/?>", str(text or ""))
    return max(len(_TAG_RE.sub("", ln)) for ln in lines) * CHAR_EM * font_size


def n_lines(text: str) -> int:
    return len(re.split(r"<br\s*/?>", str(text or "")))


def wrap(text: str, width_px: float, font_size: float) -> str:
    """`text` with its tag-free lines wrapped at spaces to about `width_px` (`<br>` joins)."""
    chars = max(8, int(width_px / (CHAR_EM * font_size)))
    out = []
    for ln in re.split(r"<br\s*/?>", str(text)):
        out += [ln] if _TAG_RE.search(ln) or len(ln) <= chars else textwrap.wrap(ln, chars)
    return "<br>".join(out)


def _font_size(obj_font: Any, default: float) -> float:
    size = getattr(obj_font, "size", None) if obj_font is not None else None
    return float(size) if size else float(default)


def _margin(fig) -> dict[str, float]:
    m = fig.layout.margin
    dflt = {"l": 80, "r": 80, "t": 100, "b": 80}
    return {k: float(getattr(m, k)) if getattr(m, k) is not None else dflt[k] for k in dflt}


def _axes(fig, letter: str) -> dict[str, Any]:
    """{'x': layout.xaxis, 'x2': layout.xaxis2, ...} for the axes the layout defines."""
    out = {}
    for key in fig.layout:
        if re.fullmatch(f"{letter}axis\\d*", key) and fig.layout[key] is not None:
            out[letter + key[5:]] = fig.layout[key]
    if not out:
        out[letter] = fig.layout[f"{letter}axis"]
    return out


def _domain(axis) -> tuple[float, float]:
    d = axis.domain
    return (float(d[0]), float(d[1])) if d is not None else (0.0, 1.0)


def _category_labels(fig, axis_ref: str, letter: str) -> list[str]:
    """String values a trace puts on the axis `axis_ref` (e.g. 'y2'): its category labels."""
    labels: list[str] = []
    for tr in fig.data:
        if (getattr(tr, f"{letter}axis", None) or letter) != axis_ref:
            continue
        vals = getattr(tr, letter, None)
        if vals is None or isinstance(vals, dict):
            continue
        vals = list(np.asarray(vals).ravel()) if not isinstance(vals, (list, tuple)) else list(vals)
        labels += [str(v) for v in vals if isinstance(v, str)]
    return labels


def fit_tick_labels(fig, width: float = WIDTH) -> None:
    """Every visible axis grows its outer margin for its labels (`automargin`); a left y axis with
    category labels that sits right of another subplot starts its subplot far enough right that its
    labels clear the neighbour."""
    for letter in ("x", "y"):
        for axis in _axes(fig, letter).values():
            if axis.visible is not False and axis.automargin is None:
                axis.automargin = True
    m = _margin(fig)
    plot_w = max(width - m["l"] - m["r"], 100.0)
    xaxes = _axes(fig, "x")
    for ref, yaxis in _axes(fig, "y").items():
        if yaxis.visible is False or yaxis.side == "right" or yaxis.showticklabels is False:
            continue
        labels = _category_labels(fig, ref, "y")
        if yaxis.ticktext is not None:
            labels += [str(t) for t in yaxis.ticktext]
        if not labels:
            continue
        xref = yaxis.anchor if yaxis.anchor and yaxis.anchor != "free" else "x" + ref[1:]
        xaxis = xaxes.get(xref)
        if xaxis is None:
            continue
        x0, x1 = _domain(xaxis)
        left_ends = [_domain(a)[1] for r, a in xaxes.items() if r != xref and _domain(a)[1] <= x0 + 1e-9]
        if not left_ends:
            continue  # first column: the outer margin (automargin) makes the room
        need = (max(text_px(t, _font_size(yaxis.tickfont, 12)) for t in labels) + 12) / plot_w
        gap = x0 - max(left_ends)
        if need > gap:
            new0 = min(max(left_ends) + need, x0 + 0.6 * (x1 - x0))
            xaxis.domain = [new0, x1]
            for a in fig.layout.annotations:  # its subplot title stays centred over it
                if a.xref == "paper" and a.x is not None and abs(float(a.x) - (x0 + x1) / 2) < 1e-6:
                    a.x = (new0 + x1) / 2


def fit_subplot_titles(fig, width: float = WIDTH) -> None:
    """Subplot titles (make_subplots' paper annotations above each subplot) that are wider than
    their subplot are shrunk, down to MIN_TITLE_FONT px, then wrapped; the top margin grows by the
    lines the top row gained."""
    m = _margin(fig)
    plot_w = max(width - m["l"] - m["r"], 100.0)
    xaxes = list(_axes(fig, "x").values())
    domains = sorted({_domain(a) for a in xaxes})
    base = _font_size(getattr(fig.layout, "font", None), 12)
    titles = [a for a in fig.layout.annotations
              if a.xref == "paper" and a.yref == "paper" and a.yanchor == "bottom" and a.showarrow is False
              and a.xanchor == "center" and a.text]
    if not titles:
        return
    top_y = max(float(a.y) for a in titles)
    extra = 0
    for a in titles:
        x = float(a.x)
        box = [d for d in domains if d[0] - 1e-6 <= x <= d[1] + 1e-6]
        avail = (min(d[1] - d[0] for d in box) if box else 1.0) * plot_w
        size = _font_size(a.font, base)
        if text_px(a.text, size) <= avail:
            continue
        new_size = max(MIN_TITLE_FONT, int(size * avail / text_px(a.text, size)))
        a.font.size = new_size
        if text_px(a.text, new_size) > avail:
            before = n_lines(a.text)
            a.text = wrap(a.text, avail, new_size)
            if float(a.y) >= top_y - 1e-9:
                extra = max(extra, (n_lines(a.text) - before) * (new_size + 3))
    if extra:
        fig.layout.margin.t = m["t"] + extra


def fit_title(fig, width: float = WIDTH) -> None:
    """A figure title wider than the figure is wrapped at spaces; the top margin grows to hold it."""
    t = fig.layout.title
    if t is None or not t.text:
        return
    base = _font_size(getattr(fig.layout, "font", None), 12)
    size = _font_size(t.font, round(base * 1.4))
    avail = width - 40
    if text_px(t.text, size) <= avail:
        return
    m = _margin(fig)
    before = n_lines(t.text)
    t.text = wrap(t.text, avail, size)
    fig.layout.margin.t = m["t"] + (n_lines(t.text) - before) * (size + 4)


def _numbers(vals: Any) -> np.ndarray | None:
    """The finite numbers of a trace's data array (a list, an array, or plotly's typed-array dict
    {dtype, bdata, shape}), or None when it is not numeric."""
    if vals is None or isinstance(vals, str):
        return None
    if isinstance(vals, dict):
        if "bdata" not in vals or "dtype" not in vals:
            return None
        a = np.frombuffer(base64.b64decode(vals["bdata"]), dtype=np.dtype(vals["dtype"])).astype(np.float64)
    else:
        try:
            a = np.asarray(vals, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            return None
    return a[np.isfinite(a)]


def _top_subplot_titles(fig) -> list[Any]:
    titles = [a for a in fig.layout.annotations
              if a.xref == "paper" and a.yref == "paper" and a.yanchor == "bottom" and a.showarrow is False
              and a.xanchor == "center" and a.text and a.y is not None and float(a.y) >= 0.999]
    return titles


def fit_top(fig) -> None:
    """The top margin holds the figure title and, below it, the top row's subplot titles (a title
    with a `<br><sup>` subtitle used to run into them). plotly puts the title's first baseline at
    the middle of the top margin (title.y "auto"), its further lines below that."""
    t = fig.layout.title
    if t is None or not t.text or (t.y is not None and t.y != "auto"):
        return
    base = _font_size(getattr(fig.layout, "font", None), 12)
    size = _font_size(t.font, round(base * 1.4))
    below = (n_lines(t.text) - 1) * size * 1.2  # lines under the first baseline
    subs = _top_subplot_titles(fig)
    sub_h = max((n_lines(a.text) * _font_size(a.font, base) * 1.3 for a in subs), default=0.0)
    need = max(2 * size + 4, 2 * (below + (sub_h + 8 if subs else 6)))
    if _margin(fig)["t"] < need:
        fig.layout.margin.t = int(np.ceil(need))


def fit_hover(fig) -> None:
    """Numbers in hovers with three significant digits: `HOVER_FORMAT` on every numeric axis that
    holds a non-integer value, and on heatmap z values, where the figure set no format itself."""
    nonint: set[str] = set()
    for tr in fig.data:
        for letter in ("x", "y"):
            a = _numbers(getattr(tr, letter, None))
            if a is not None and a.size and np.any(a != np.round(a)):
                nonint.add(getattr(tr, f"{letter}axis", None) or letter)
        if tr.type == "heatmap" and tr.hovertemplate is None:
            z = _numbers(tr.z)
            if z is not None and np.any(z != np.round(z)):
                tr.hovertemplate = "x=%{x}<br>y=%{y}<br>z=%{z:" + HOVER_FORMAT + "}<extra></extra>"
    for letter in ("x", "y"):
        for ref, axis in _axes(fig, letter).items():
            if ref in nonint and axis.hoverformat is None and axis.type not in ("category", "date", "log"):
                axis.hoverformat = HOVER_FORMAT


def fit_shape_labels(fig) -> None:
    """Labels of reference lines (add_hline / add_vline) get a white backing, so they read over data;
    a horizontal line's label at the right end moves into the right margin (it sat over the last
    category's data), unless a vertical legend lives there."""
    shown = fig.layout.showlegend is True or (fig.layout.showlegend is None and len(fig.data) > 1)
    legend_right = shown and fig.layout.legend.orientation != "h"
    grow = 0.0
    for a in fig.layout.annotations:
        refs = (str(a.xref or ""), str(a.yref or ""))
        if not (any(r.endswith(" domain") for r in refs) and a.showarrow is False):
            continue
        if a.bgcolor is None:
            a.bgcolor = "rgba(255,255,255,0.8)"
        hline_right = refs[0].endswith(" domain") and not refs[1].endswith(" domain") and a.x is not None \
            and float(a.x) == 1.0 and a.xanchor == "right"
        if hline_right and not legend_right:
            a.xanchor, a.yanchor, a.xshift = "left", "middle", 4
            grow = max(grow, text_px(a.text, _font_size(a.font, 12)) + 12)
    if grow:
        m = _margin(fig)
        fig.layout.margin.r = max(m["r"], grow)


def fit(fig, width: float = WIDTH):
    """All of the above, in place, on a plotly Figure laid out for `width` px. Returns fig."""
    fit_title(fig, width)
    fit_tick_labels(fig, width)
    fit_subplot_titles(fig, width)
    fit_top(fig)
    fit_hover(fig)
    fit_shape_labels(fig)
    return fig
