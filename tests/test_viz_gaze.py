"""rbdm_core.viz.gaze: chapter 4's figures draw the points and heatmaps they are given on image
axes (x from -0.5 to side - 0.5, y the other way round: row 0 at the top)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from rbdm_core import viz  # noqa: E402

SIDE = 6


def _image():
    return np.zeros((SIDE, SIDE, 3), np.uint8)


def _image_axes(fig, axis="", hidden=True):
    x, y = fig.layout[f"xaxis{axis}"], fig.layout[f"yaxis{axis}"]
    assert tuple(x.range) == (-0.5, SIDE - 0.5) and tuple(y.range) == (SIDE - 0.5, -0.5)
    assert (x.visible is False) == hidden and (y.visible is False) == hidden


def test_image_axes_and_add_image():
    import plotly.graph_objects as go

    fig = viz.image_axes(viz.add_image(go.Figure(), _image()), SIDE)
    assert fig.data[0].type == "image" and fig.data[0].hoverinfo == "skip"
    _image_axes(fig)
    assert fig.layout.yaxis.scaleanchor == "x"
    fig = viz.image_axes(go.Figure(), SIDE, hide=False, anchor=None)
    _image_axes(fig, hidden=False)
    assert fig.layout.yaxis.scaleanchor is None


def test_visual_field_figure_rings_around_the_fixation():
    blob = np.zeros((SIDE, SIDE))
    blob[2, 3] = 1.0
    field = SimpleNamespace(xy=(3.0, 2.0), rings={"fovea": 1.0, "span": 2.5}, blob=blob)
    fig = viz.visual_field_figure(_image(), field, title="t")
    assert [t.type for t in fig.data] == ["image", "heatmap", "scatter", "scatter", "scatter"]
    z = np.asarray(fig.data[1].z, float)
    assert z[2, 3] == 1.0 and np.isnan(z[0, 0])  # shown only where the Gaussian is > 0
    for trace, r in zip(fig.data[2:4], (1.0, 2.5)):  # circles of the given radius around (3, 2)
        np.testing.assert_allclose(np.hypot(np.asarray(trace.x) - 3.0, np.asarray(trace.y) - 2.0), r)
    assert list(fig.data[4].x) == [3.0] and list(fig.data[4].y) == [2.0]
    _image_axes(fig)


def test_scanpath_figure_draws_samples_fixations_and_detections():
    path = SimpleNamespace(samples_xy=np.array([[1.0, 1.0], [1.5, 1.2], [4.0, 4.0]]),
                           fixations_xy=np.array([[1.2, 1.1], [4.0, 4.0]]), durations_ms=np.array([100.0, 400.0]),
                           detected_xy=np.zeros((0, 2)))
    fig = viz.scanpath_figure(_image(), path, title="t")
    samples, fixations, detected = fig.data[1:]
    assert list(samples.x) == [1.0, 1.5, 4.0] and list(fixations.y) == [1.1, 4.0] and len(detected.x) == 0
    assert list(fixations.text) == ["0", "1"]
    np.testing.assert_allclose(fixations.marker.size, 6 + np.sqrt([100.0, 400.0]) * 0.8)
    _image_axes(fig)


def test_heatmaps_figure_one_panel_per_annotator_and_the_model():
    human = np.zeros((2, SIDE, SIDE))
    human[1, 0, 0] = 2.0
    pts = [np.array([[1.0, 2.0]]), np.array([[0.0, 0.0], [5.0, 5.0]])]
    model_pts = np.array([[3.0, 3.0]])
    fig = viz.heatmaps_figure(_image(), human, [0, 1], pts, np.ones((SIDE, SIDE)), model_pts, title="t")
    assert [a.text for a in fig.layout.annotations] == ["annotator 0", "annotator 1", "model"]
    assert [t.type for t in fig.data] == ["image", "heatmap", "scatter"] * 3
    assert list(fig.data[5].x) == [0.0, 5.0] and list(fig.data[8].y) == [3.0]
    assert np.isnan(np.asarray(fig.data[1].z, float)).all() and np.asarray(fig.data[4].z, float)[0, 0] == 2.0
    for axis in ("", "2", "3"):
        _image_axes(fig, axis)
    assert [fig.layout[f"yaxis{a}"].scaleanchor for a in ("", "2", "3")] == ["x", "x2", "x3"]


def test_missed_cues_figure_numbers_fixations_and_ranks_top_pixels():
    chosen = pd.DataFrame({"image_index": [4], "true": ["disgust"], "predicted": ["anger"], "fixations_in_region": [1],
                           "fixations": [2], "top_pixels_in_region": [0]})
    numbered = [[(np.array([[2.0, 2.0], [3.0, 1.0]]), np.array([0, 2])), (np.array([[1.0, 1.0]]), np.array([1]))]]
    top = [np.array([[5, 0], [0, 5]], np.int64)]
    fig = viz.missed_cues_figure(chosen, np.zeros((1, SIDE, SIDE, 3), np.uint8), np.zeros((1, SIDE, SIDE), bool),
                                 numbered, ["a", "b"], np.ones((1, SIDE, SIDE)), top, title="t")
    assert fig.layout.annotations[1].text == "Trainer's top 2 pixels<br>in region 0/2"
    scatters = [t for t in fig.data if t.type == "scatter"]
    assert len(scatters) == 3
    assert list(scatters[0].text) == ["0", "2"] and list(scatters[0].marker.color) == ["#7f7f7f", "#1f77b4"]
    assert list(scatters[1].marker.color) == ["#ff7f0e"]
    assert list(scatters[2].x) == [5, 0] and list(scatters[2].customdata) == [1, 2]
    _image_axes(fig, hidden=True)  # image_grid hides the axes; the ranges are the image's
