"""Figures that fit their text (rbdm_core.figure_fit) and the viz helpers' scales, bands and formats."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from rbdm_core import figure_fit as ff
from rbdm_core import viz


def _shown(fig) -> dict:
    """The figure as the book receives it (viz.figure_html's JSON, fitted)."""
    html = viz.figure_html(fig, "t")
    return json.loads(re.search(r"spec = (\{.*\});\n", html).group(1).replace("<\\/", "</"))


def test_text_px_counts_the_widest_line_without_tags():
    assert ff.text_px("abcd", 10) == pytest.approx(4 * ff.CHAR_EM * 10)
    assert ff.text_px("ab<br><b>abcdef</b>", 10) == pytest.approx(6 * ff.CHAR_EM * 10)
    wrapped = ff.wrap("one two three four five six seven", 10 * ff.CHAR_EM * 12, 12)
    assert all(len(line) <= 10 for line in wrapped.split("<br>")) and wrapped.replace("<br>", " ") == \
        "one two three four five six seven"


def test_long_subplot_titles_shrink_then_wrap_and_never_exceed_their_subplot():
    titles = ["sum of relevance per layer", "block2_conv2 12x12", "block1_pool 12x12", "block1_conv2 24x24",
              "input 48x48", "a title much too long for a narrow panel of a six panel figure"]
    fig = make_subplots(rows=1, cols=6, subplot_titles=titles, horizontal_spacing=0.02)
    for c in range(1, 7):
        fig.add_trace(go.Heatmap(z=[[1, 2], [3, 4]], showscale=False), row=1, col=c)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 60})
    ff.fit(fig)
    m = ff._margin(fig)
    plot_w = ff.WIDTH - m["l"] - m["r"]
    domains = [fig.layout[f"xaxis{'' if i == 0 else i + 1}"].domain for i in range(6)]
    for ann, dom in zip(fig.layout.annotations, domains):
        assert ff.text_px(ann.text, ann.font.size) <= (dom[1] - dom[0]) * plot_w + 1e-6, ann.text
        assert ann.font.size >= ff.MIN_TITLE_FONT
    assert "<br>" in fig.layout.annotations[-1].text  # the long one was wrapped ...
    assert fig.layout.margin.t > 60  # ... and the top margin grew for its extra lines


def test_category_labels_of_an_inner_subplot_clear_their_left_neighbour():
    labels = ["logit", "max(logit, 0)", "sum of map", "positive part", "negative part"]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.02)
    fig.add_trace(go.Heatmap(z=[[0, 1], [1, 0]], showscale=False), row=1, col=1)
    fig.add_trace(go.Bar(y=labels, x=[1, 2, 3, 4, -1], orientation="h"), row=1, col=2)
    fig.update_layout(margin={"l": 10, "r": 10})
    left_end = fig.layout.xaxis.domain[1]
    ff.fit(fig)
    need_px = max(ff.text_px(t, 12) for t in labels)
    gap_px = (fig.layout.xaxis2.domain[0] - left_end) * (ff.WIDTH - 20)
    assert gap_px >= need_px
    assert fig.layout.yaxis.automargin is True and fig.layout.xaxis2.automargin is True


def test_a_title_with_a_subtitle_gets_a_top_margin_above_the_subplot_titles():
    fig = make_subplots(rows=1, cols=2, subplot_titles=["annotator 0", "model"])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1]), row=1, col=1)
    fig.update_layout(title="Heatmaps on image 58<br><sup>simulated annotators and the model</sup>", height=300,
                      margin={"t": 50})
    ff.fit(fig)
    size = round(12 * 1.4)
    # first baseline at t/2, one more line below it, then the subplot titles' line above the plot
    assert fig.layout.margin.t / 2 + 1.2 * size + 12 * 1.3 <= fig.layout.margin.t


def test_hover_numbers_get_three_significant_digits_but_integers_stay_plain():
    fig = go.Figure([go.Scatter(x=[0, 1, 2], y=[0.123456789, 0.2, 0.3]), go.Heatmap(z=[[0.5, 1.25]], xaxis="x2")])
    fig.update_layout(xaxis2={"anchor": "y"})
    spec = _shown(fig)
    assert spec["layout"]["yaxis"]["hoverformat"] == ff.HOVER_FORMAT
    assert "hoverformat" not in spec["layout"]["xaxis"]  # steps 0, 1, 2 are whole numbers
    assert ":" + ff.HOVER_FORMAT + "}" in spec["data"][1]["hovertemplate"]


def test_reference_line_labels_get_a_backing_and_leave_the_data():
    fig = go.Figure([go.Box(y=[0.9, 1.1, 1.0], name="a"), go.Box(y=[0.5, 2.0], name="smoothgrad")])
    fig.update_layout(showlegend=False, margin={"r": 20})
    fig.add_hline(y=1.0, annotation_text="conserved (1)")
    ff.fit(fig)
    a = fig.layout.annotations[0]
    assert a.bgcolor is not None
    assert (a.x, a.xanchor) == (1.0, "left")  # starts where the plot area ends: in the right margin
    assert fig.layout.margin.r >= ff.text_px("conserved (1)", 12)
    with_legend = go.Figure([go.Scatter(y=[1, 2], name="a"), go.Scatter(y=[2, 1], name="b")])
    with_legend.add_hline(y=1.5, annotation_text="target")
    ff.fit(with_legend)
    assert with_legend.layout.annotations[0].xanchor == "right"  # the legend has the margin


def test_fit_does_not_modify_the_callers_figure_and_is_stable():
    fig = make_subplots(rows=1, cols=2, subplot_titles=["x" * 80, "y"])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0.5, 0.25]), row=1, col=1)
    before = json.loads(fig.to_json())
    once = viz.figure_html(fig, "a")
    assert json.loads(fig.to_json()) == before
    assert viz.figure_html(go.Figure(fig), "a") == once


# --------------------------------------------------------------------------- viz helpers
def test_relevance_maps_share_a_robust_scale_with_a_colour_bar():
    rng = np.random.default_rng(3)
    maps = rng.normal(0, 0.01, (4, 20, 20)).astype(np.float32)
    maps[0, 0, 0] = 5.0  # one extreme pixel must not set the scale
    fig = viz.image_grid(maps, ["a", "b", "c", "d"])
    ca = fig.layout.coloraxis
    want = float(np.percentile(np.abs(maps.astype(np.float64)), 99.5))  # computed independently here
    assert ca.cmax == pytest.approx(want) and ca.cmin == pytest.approx(-want) and ca.cmid == 0
    assert want < 0.1  # far below the extreme pixel
    assert all(tr.coloraxis == "coloraxis" for tr in fig.data)
    assert f"±{want:.3g}" in ca.colorbar.title.text and "p99.5" in ca.colorbar.title.text
    lo, hi = viz.robust_limits([np.array([1.0, 2.0, 3.0, 4.0])], 75, symmetric=False)
    assert (lo, hi) == (pytest.approx(1.75), pytest.approx(3.25))  # numpy's linear percentiles
    assert viz.robust_limits([np.zeros((2, 2))]) == (-1.0, 1.0)
    with pytest.raises(ValueError, match="percentile must be in"):
        viz.robust_limits([np.ones(3)], 120)


def test_bands_are_clipped_to_the_metric_range():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"step": np.repeat([1, 2, 3], 3), "value": [0.0, 0.01, 0.2, 0.9, 1.0, 0.99, 0.0, 0.02, 0.5]})
    raw = viz.band_table(df, "step", "value")
    assert raw.ci_low.min() < 0 and raw.ci_high.max() > 1  # the Student-t band leaves [0, 1] ...
    fig = viz.line_band(df, "step", "value", ylabel="validation macro-F1")
    band = np.asarray(fig.data[0].y, dtype=float)
    assert band.min() >= 0 and band.max() <= 1  # ... the drawn one does not
    loss = viz.line_band(df.assign(value=df.value * 3 - 0.5), "step", "value", ylabel="validation loss")
    assert np.asarray(loss.data[0].y, dtype=float).min() >= 0
    assert viz.metric_bounds("value", "validation macro-F1") == (0.0, 1.0)
    assert viz.metric_bounds("loss") == (0.0, None)
    assert viz.metric_bounds("steps saved") == (None, None)
    free = viz.line_band(df, "step", "value", bounds=(None, None))
    assert np.asarray(free.data[0].y, dtype=float).min() < 0
    assert "%{y:.3~r}" in fig.data[1].hovertemplate
    del rng


def test_confusion_left_margin_holds_the_longest_class_name():
    names = ["neutral", "happiness", "surprise", "a very long class name"]
    fig = viz.confusion(np.eye(4, dtype=int) * 5, names)
    assert fig.layout.margin.l >= ff.text_px("a very long class name", 12)
    assert fig.layout.yaxis.automargin is True


def test_explorer_rows_are_labelled_and_the_menu_sits_above_the_column_titles():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    states = {(k, f): rng.random((3, 8, 8)) > f for k in ("negative", "mean") for f in (0.1, 0.5)}
    fig = viz.explorer(imgs, states, ["mask", "fraction"], titles=["a", "b", "c"], title="T")
    labels = [a for a in fig.layout.annotations if a.textangle == -90]
    assert [a.text for a in labels] == list(viz.EXPLORER_ROWS)
    ys = [a.y for a in labels]
    assert ys == sorted(ys, reverse=True)  # top to bottom
    menu = fig.layout.updatemenus[0]
    assert menu.pad.b >= 8 + 18  # lifted by the column titles' height


def test_whole_number_float_columns_print_as_integers():
    t = viz.table(pd.DataFrame({"epoch": [4.0, 12.0], "f1": [0.2, 0.25], "n": [1.0, np.nan]}), float_format="{:.3f}")
    html = t._repr_html_()
    assert ('<td class="num" data-label="epoch">4</td><td class="num" data-label="f1">0.200</td>'
            '<td class="num" data-label="n">1</td>') in html
    assert ('<td class="num" data-label="epoch">12</td><td class="num" data-label="f1">0.250</td>'
            '<td class="num" data-label="n"></td>') in html
    text = viz.table(pd.DataFrame({"s": ["x", "0.25", "0.2 [0.1, 0.3]"]}))._repr_html_()
    assert '<td class="text" data-label="s">x</td>' in text
    assert '<td class="num" data-label="s">0.25</td>' in text  # a number written as text too
    # an interval is a number with its interval, which may go under it but never breaks inside
    assert '<td class="num" data-label="s">0.2 [0.1,&nbsp;0.3]</td>' in text
    assert "4.000" not in repr(t)
