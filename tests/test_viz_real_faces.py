"""rbdm_core.viz.real_faces (chapter 10's figures): the traces carry the given data and titles."""

import numpy as np
import pandas as pd

from rbdm_core.real_faces import Strip
from rbdm_core.viz.real_faces import real_masks_figure, real_relevance_figure, video_labels_figure, video_strip_figure


def test_video_labels_figure_one_series_per_track():
    rows = pd.DataFrame({"track": [0, 0, 1], "time_ms": [0.0, 40.0, 40.0], "label": ["joy", "sad", "fear"],
                         "probability": [0.5, 0.6, 0.7]})
    fig = video_labels_figure(rows, ("fear", "joy", "sad"))
    assert [t.name for t in fig.data] == ["track 0", "track 1"]
    np.testing.assert_allclose(fig.data[0].x, [0.0, 0.04])
    assert list(fig.data[0].y) == ["joy", "sad"]
    np.testing.assert_allclose(fig.data[1].customdata, [0.7])
    assert list(fig.layout.yaxis.categoryarray) == ["fear", "joy", "sad"]


def test_video_strip_figure_titles():
    frames = [np.zeros((4, 4, 3), np.uint8)] * 2
    strip = Strip(frames, ["0.0 s: joy 0.50", "1.0 s: sad 0.60"], [], np.zeros((2, 4, 4), bool), {}, 3)
    fig = video_strip_figure(strip)
    assert [a.text for a in fig.layout.annotations] == strip.titles


def test_real_masks_and_relevance_figures():
    cells = [np.zeros((4, 4), np.uint8)] * 4
    fig = real_masks_figure(cells, [1500.0], ["negative", "mean", "perceptive"])
    assert [a.text for a in fig.layout.annotations] == ["1.5 s: model input", "negative mask", "mean mask",
                                                       "perceptive mask"]
    fig = real_relevance_figure(np.ones((2, 4, 4)), [0.0, 2000.0], "deep_taylor", ["joy", "sad"])
    assert [a.text for a in fig.layout.annotations] == ["0.0 s: deep_taylor, joy", "2.0 s: deep_taylor, sad"]
