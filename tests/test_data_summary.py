"""rbdm_core.data.summary (chapter 1's tables) against counts by hand (np.bincount) on a tiny Dataset."""

import numpy as np
import pytest

from rbdm_core.data import Dataset
from rbdm_core.data.summary import PAPER_CORPORA, counts_table, paper_counts_table, sequence_pairs, share_table

CLASSES = ("neutral", "happy", "sad")


def _tiny(ids=None, provenance=None):
    labels = np.array([0, 1, 1, 2, 0, 1, 1])
    split = np.array(["train", "train", "train", "train", "val", "val", "val"])
    return Dataset(images=np.zeros((7, 2, 2, 1), np.uint8), labels=labels, class_names=CLASSES, split=split,
                   ids=ids, provenance=provenance or {"synthetic": True})


def test_counts_table_against_bincount():
    ds = _tiny()
    t = counts_table(ds).set_index("class")
    assert list(t.columns) == ["train", "val", "total"]
    assert list(t.index) == [*CLASSES, "all classes"]
    for s in ("train", "val"):
        expected = np.bincount(ds.labels[ds.split == s], minlength=3)
        np.testing.assert_array_equal(t.loc[list(CLASSES), s].to_numpy(), expected)
    np.testing.assert_array_equal(t.loc[list(CLASSES), "total"].to_numpy(), np.bincount(ds.labels, minlength=3))
    assert t.loc["all classes", "total"] == 7 and t.loc["all classes", "val"] == 3


def test_share_table_against_bincount():
    ds = _tiny()
    t = share_table(ds, "train", {"neutral": 2, "happy": 1, "sad": 1}, label="synthetic")
    got = np.bincount([0, 1, 1, 2], minlength=3) / 4
    np.testing.assert_allclose(t["synthetic share"], got)
    np.testing.assert_allclose(t["reference share"], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(t["difference"], got - [0.5, 0.25, 0.25])
    assert list(t["class"]) == list(CLASSES)


def test_paper_counts_table_this_run():
    corpora = {"AffectNet-like": _tiny(), "FERPlus-like": _tiny(), "CK+-like": _tiny(provenance={"synthetic": False})}
    t = paper_counts_table(corpora, synthetic_run=True)
    assert list(t["corpus"]) == [c[0] for c in PAPER_CORPORA]
    assert list(t["this run"]) == ["7 images (synthetic)", "7 images (synthetic)", "7 images (real)"]
    real = paper_counts_table({"AffectNet": _tiny(), "image folder": _tiny(), "CK+": _tiny()}, synthetic_run=False)
    assert "stand-in" not in real.columns
    assert real["this run"][1] == "7 images (synthetic, an image folder)"


def test_sequence_pairs_first_then_last():
    ids = ["s1/first", "s2/first", "s1/last", "s3/first", "s2/last", "s3/last", "x"]
    assert sequence_pairs(ids, 2).tolist() == [0, 2, 1, 4]
    assert sequence_pairs(ids, 9).tolist() == [0, 2, 1, 4, 3, 5]
    with pytest.raises(IndexError):
        sequence_pairs(["s1/first"], 1)  # a first frame without its last
