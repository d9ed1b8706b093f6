"""rbdm_core.viz.corpora (chapter 1's figures): the traces carry the counts and the titles."""

import numpy as np

from rbdm_core.data import Dataset
from rbdm_core.viz.corpora import class_examples_figure, counts_figure, sequence_pairs_figure

CLASSES = ("neutral", "happy", "sad")


def _tiny(split_names=("train", "val"), regions=True):
    labels = np.array([0, 1, 1, 2, 0, 1])
    split = np.array([split_names[0]] * 4 + [split_names[1]] * 2)
    ids = np.array(["a/first", "b/first", "a/last", "b/last", "c/first", "c/last"])
    return Dataset(images=np.arange(6 * 4, dtype=np.uint8).reshape(6, 2, 2, 1), labels=labels, class_names=CLASSES,
                   split=split, ids=ids, regions=np.ones((6, 2, 2), bool) if regions else None)


def test_counts_figure_bars_carry_counts():
    one, two = _tiny(), _tiny(("val", "test"))
    fig = counts_figure({"one": one, "two": two}, title="counts")
    assert fig.layout.title.text == "counts" and fig.layout.barmode == "stack"
    assert [a.text for a in fig.layout.annotations] == ["one", "two"]
    assert [t.name for t in fig.data] == ["train", "val", "val", "test"]
    assert list(fig.data[0].x) == list(CLASSES)
    np.testing.assert_array_equal(fig.data[0].y, np.bincount(one.labels[:4], minlength=3))
    np.testing.assert_array_equal(fig.data[3].y, np.bincount(two.labels[4:], minlength=3))
    # a split keeps its colour across panels
    assert fig.data[1].marker.color == fig.data[2].marker.color != fig.data[0].marker.color


def test_class_examples_figure_one_per_class():
    fig = class_examples_figure(_tiny(), "train", title="examples")
    assert [a.text for a in fig.layout.annotations] == list(CLASSES)
    assert fig.layout.title.text == "examples"


def test_sequence_pairs_figure_titles():
    fig = sequence_pairs_figure(_tiny(regions=False), [0, 2], title="pairs")
    assert [a.text for a in fig.layout.annotations] == ["a<br>first: neutral", "a<br>last: happy"]
    assert fig.layout.title.text == "pairs"
