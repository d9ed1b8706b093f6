"""rbdm_core.viz.trainer (chapter 2's figures): the traces carry the given data and titles."""

import numpy as np
import pandas as pd

from rbdm_core.viz.trainer import agreement_figure, augmentation_figure, candidate_curves_figure, class_distribution_figure


def test_class_distribution_figure():
    fig = class_distribution_figure(["a", "b"], np.array([30, 10]), np.array([3, 1]), reference_title="ref",
                                    run_title="run", title="dist")
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert list(fig.data[0].x) == ["a", "b"]
    np.testing.assert_array_equal(fig.data[0].y, [30, 10])
    np.testing.assert_array_equal(fig.data[1].y, [3, 1])
    assert [a.text for a in fig.layout.annotations] == ["ref", "run"] and fig.layout.title.text == "dist"


def test_augmentation_figure_original_then_draws():
    images = np.zeros((2, 4, 4, 1), np.uint8)
    draws = np.ones((2, 3, 4, 4, 1), np.uint8)
    fig = augmentation_figure(images, draws, ["joy", "fear"], title="aug")
    assert [a.text for a in fig.layout.annotations] == ["joy", "draw 1", "draw 2", "draw 3",
                                                       "fear", "draw 1", "draw 2", "draw 3"]
    assert fig.layout.title.text == "aug"


def _curves(offset):
    rows = []
    for split in ("train", "validation"):
        for metric in ("f1", "loss"):
            for step in (1, 2):
                rows.append({"split": split, "metric": metric, "step": step, "value": offset + step})
    return pd.DataFrame(rows)


def test_candidate_curves_figure():
    fig = candidate_curves_figure({"a": _curves(0.0), "b": _curves(10.0)}, title="curves")
    # per architecture: validation F1, train loss, validation loss
    assert [t.name for t in fig.data] == ["a", "a (train)", "a (validation)", "b", "b (train)", "b (validation)"]
    np.testing.assert_array_equal(fig.data[3].x, [1, 2])
    np.testing.assert_allclose(fig.data[3].y, [11.0, 12.0])
    assert fig.data[1].line.dash == "dot" and fig.data[2].line.dash == "solid"
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[3].line.color
    assert fig.layout.title.text == "curves"


def test_agreement_figure():
    ranked = pd.DataFrame({"class": ["happy", "sad", "neutral"], "recall": [0.9, 0.5, 0.2], "f1": [0.8, 0.4, 0.3],
                           "annotator agreement": [0.79, np.nan, 0.5]})
    fig = agreement_figure(ranked, run_label="synthetic", title="agree")
    assert [t.name for t in fig.data][:2] == ["Trainer recall (synthetic)", "Trainer F1 (synthetic)"]
    np.testing.assert_allclose(fig.data[1].y, [0.8, 0.4, 0.3])
    assert list(fig.data[2].x) == ["happy", "neutral"] and list(fig.data[2].text) == ["79.0%", "50.0%"]
    assert fig.layout.title.text == "agree"
