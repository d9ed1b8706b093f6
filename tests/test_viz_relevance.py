"""rbdm_core.viz.relevance: chapter 3's figures carry the data they are given, on image axes with
row 0 at the top; `percent_of_max` and `compact_heatmaps` against hand computations."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from rbdm_core import viz  # noqa: E402
from rbdm_core.viz.relevance import shown_layers  # noqa: E402


def _reversed(fig, axis: str) -> bool:
    return fig.layout[axis].autorange == "reversed"


def test_percent_of_max_and_compact_heatmaps():
    maps = np.array([[[1.0, -2.0], [0.5, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    got = viz.percent_of_max(maps)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [[[50, -100], [25, 0]], [[0, 0], [0, 0]]])
    fig = viz.compact_heatmaps(viz.image_grid(got, ["a", "b"], cols=2))
    zs = [np.asarray(t.z) for t in fig.data if t.type == "heatmap"]
    assert len(zs) == 2 and all(z.dtype == np.int8 for z in zs)
    np.testing.assert_array_equal(zs[0], got[0])


def test_reverse_y_only_touches_the_subplot_named():
    from plotly.subplots import make_subplots

    fig = viz.reverse_y(make_subplots(rows=1, cols=2), row=1, col=2, visible=False)
    assert _reversed(fig, "yaxis2") and fig.layout.yaxis2.visible is False
    assert fig.layout.yaxis.autorange is None


def test_decomposition_figure_draws_the_map_and_the_budget():
    image = np.zeros((4, 4, 3), np.uint8)
    rmap = np.arange(16, dtype=np.float32).reshape(4, 4) - 5
    budget = {"logit": 3.0, "max(logit, 0)": 3.0, "sum of map": 2.5, "positive part": 4.0, "negative part": -1.5}
    fig = viz.decomposition_figure(image, rmap, budget, "happy", "sad", title="t")
    assert [t.type for t in fig.data] == ["image", "heatmap", "bar"]
    np.testing.assert_array_equal(fig.data[1].z, rmap)
    assert (fig.data[1].zmin, fig.data[1].zmax) == (-10.0, 10.0)  # ±max |R|
    assert list(fig.data[2].y) == list(budget) and list(fig.data[2].x) == list(budget.values())
    assert _reversed(fig, "yaxis2") and _reversed(fig, "yaxis3")
    assert [a.text for a in fig.layout.annotations] == ["input: happy", "relevance of sad", "the budget"]


def _layers(n_conv=6):
    """A fake LayerRelevance of one image: input, n_conv convolutions, a flatten, a dense."""
    names = ["input"] + [f"conv{i}" for i in range(n_conv)] + ["flatten", "dense"]
    kinds = ["Input"] + ["Conv2D"] * n_conv + ["Flatten", "Dense"]
    arrays = [np.full((1, 4, 4), float(i + 1)) for i in range(n_conv + 1)] + [np.ones((1, 16)), np.ones((1, 2))]
    L = len(names)
    return SimpleNamespace(layers=names, kinds=kinds, rules=[""] + ["ZPlus"] * (L - 1),
                           sums=np.arange(L, dtype=np.float64)[:, None] + 1, arrays=arrays,
                           on_every_path=np.array([True] * L), logits=np.array([2.0]), targets=np.array([0]))


def test_shown_layers_end_at_the_input():
    lr = _layers()
    show = shown_layers(lr, 3)
    assert len(show) == 3 and show[-1] == 0 and show == sorted(show, reverse=True)


def test_layers_figure_bars_are_the_layer_sums_output_first():
    lr = _layers()
    fig = viz.layers_figure(lr, title="t", n_maps=3)
    bar, maps = fig.data[0], fig.data[1:]
    assert list(bar.y) == lr.layers[::-1] and list(bar.x) == list(lr.sums[::-1, 0])
    assert len(maps) == 3 and all(t.type == "heatmap" for t in maps)
    assert np.asarray(maps[-1].z).dtype == np.int8 and (np.asarray(maps[-1].z) == 100).all()  # the input, in %
    assert all(_reversed(fig, ax) for ax in ("yaxis", "yaxis2", "yaxis3", "yaxis4"))
    assert fig.layout.shapes[0].x0 == 2.0  # the line at max(logit, 0)


def test_per_class_figures_titles_and_overlays():
    images = np.zeros((2, 4, 4, 3), np.uint8)
    maps = np.random.default_rng(0).normal(size=(2, 4, 4))
    regions = np.zeros((2, 4, 4), bool)
    fa, fb = viz.per_class_figures(images, maps, [1, 0], [0, 0], regions, ["a", "b"], "T")
    assert [a.text for a in fa.layout.annotations] == ["b", "a"]
    assert sum(t.type == "image" for t in fa.data) == 4  # each image and its region
    np.testing.assert_array_equal(fb.data[0].z, viz.percent_of_max(maps)[0].astype(np.int8))


def test_regions_figure_one_bar_and_one_tick_per_corpus():
    tab = pd.DataFrame({"class": ["a", "b"], "inside": [0.6, 0.2], "area": [0.3, 0.1]})
    fig = viz.regions_figure({"source": tab, "target": tab.assign(inside=[0.5, 0.4])})
    assert [t.type for t in fig.data] == ["bar", "scatter", "bar", "scatter"]
    assert list(fig.data[2].y) == [0.5, 0.4] and list(fig.data[3].y) == [0.3, 0.1]
    assert fig.data[0].marker.color == "#1f77b4" and fig.data[2].marker.color == "#ff7f0e"


def test_border_figure_shares_one_scale_a_uniform_map_does_not_set():
    trained = SimpleNamespace(mean_ratio=np.array([[3.0, 1.0], [1.0, 0.5]]), n=10)
    out = SimpleNamespace(mean_ratio=np.array([[1.2, 1.0], [1.0, -1.5]]), n=9)
    fig = viz.border_figure(trained, out, (np.full((2, 2), 40.0), "uniform grey 128"))
    assert len(fig.data) == 3 and all((t.zmin, t.zmax) == (-3.0, 3.0) for t in fig.data)
    np.testing.assert_array_equal(fig.data[1].z, out.mean_ratio.astype(np.float32))
    assert [t.showscale for t in fig.data] == [False, False, True]
    assert all(_reversed(fig, ax) for ax in ("yaxis", "yaxis2", "yaxis3"))
    assert [a.text for a in fig.layout.annotations] == ["mean of 10 maps", "border out: 9 maps", "uniform grey 128"]
    assert len(viz.border_figure(trained).data) == 1


def test_methods_figure_one_row_per_method():
    rng = np.random.default_rng(1)
    rels = {m: SimpleNamespace(maps=rng.normal(size=(3, 4, 4)).astype(np.float32)) for m in ("m1", "m2")}
    fig = viz.methods_figure(rels, (4, 4), ["a", "b"], title="t")
    assert len(fig.data) == 4  # 2 methods x 2 images
    assert [a.text for a in fig.layout.annotations] == ["m1: a", "b", "m2: a", "b"]
    np.testing.assert_array_equal(fig.data[2].z, viz.percent_of_max(rels["m2"].maps[:1])[0].astype(np.int8))


def test_conservation_figure_leaves_out_undefined_ratios():
    rels = {"a": SimpleNamespace(conservation=np.array([1.0, np.nan, 0.9])),
            "b": SimpleNamespace(conservation=np.array([2.0]))}
    fig = viz.conservation_figure(rels)
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[0].y) == [1.0, 0.9] and list(fig.data[1].y) == [2.0]
    assert fig.layout.shapes[0].y0 == 1.0
