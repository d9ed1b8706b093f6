"""Helpers of chapters 2 and 3: per-class scores, relabelling, relevance inside regions."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core.curves import confusion_matrix, macro_f1, per_class_table, relabel
from rbdm_core.regions import by_class, relevance_in_regions


# ----------------------------------------------------------------- per_class_table
def test_per_class_table_hand_computed():
    # rows true, columns predicted
    cm = np.array([[3, 1, 0],
                   [2, 4, 0],
                   [0, 0, 0]])
    t = per_class_table(cm, ["a", "b", "c"])
    assert list(t["class"]) == ["a", "b", "c", "macro"]
    # class a: TP 3, FP 2, FN 1 -> P 3/5, R 3/4, F1 6/9
    a = t.iloc[0]
    assert a.support == 4 and a.predicted == 5
    assert a.precision == pytest.approx(3 / 5) and a.recall == pytest.approx(3 / 4) and a.f1 == pytest.approx(6 / 9)
    # class b: TP 4, FP 1, FN 2 -> P 4/5, R 4/6, F1 8/11
    b = t.iloc[1]
    assert b.precision == pytest.approx(4 / 5) and b.recall == pytest.approx(4 / 6) and b.f1 == pytest.approx(8 / 11)
    # class c never occurs: all NaN, and left out of the macro mean
    assert np.isnan(t.iloc[2].precision) and np.isnan(t.iloc[2].recall) and np.isnan(t.iloc[2].f1)
    m = t.iloc[3]
    assert m.f1 == pytest.approx((6 / 9 + 8 / 11) / 2)
    assert m.support == 10


def test_per_class_table_macro_matches_macro_f1():
    rng = np.random.default_rng(3)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    t = per_class_table(confusion_matrix(y, p, 5), list("abcde"))
    assert t.iloc[-1].f1 == pytest.approx(macro_f1(y, p, 5))
    # recall per class = share of that class's images predicted right (second method)
    for k in range(5):
        assert t.iloc[k].recall == pytest.approx(np.mean(p[y == k] == k))


def test_per_class_table_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        per_class_table(np.zeros((2, 3)), ["a", "b"])


def test_per_class_table_rejects_wrong_name_count():
    with pytest.raises(ValueError, match="3 class names"):
        per_class_table(np.zeros((2, 2)), ["a", "b", "c"])


# ----------------------------------------------------------------- relabel
def test_relabel_by_name_and_missing():
    src = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
    dst = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
    out = relabel(np.array([0, 3, 6, 5]), src, dst)
    assert out.tolist() == [4, 1, 0, 2]
    # reverse direction: contempt has no counterpart
    back = relabel(np.array([7, 0]), dst, src)
    assert back.tolist() == [-1, 6]
    assert relabel(np.array([], np.int64), src, dst).shape == (0,)


def test_relabel_rejects_out_of_range():
    with pytest.raises(ValueError, match="0..1"):
        relabel(np.array([0, 2]), ["a", "b"], ["b", "a"])


def test_relabel_rejects_float_labels():
    with pytest.raises(ValueError, match="ints"):
        relabel(np.array([0.5]), ["a", "b"], ["b", "a"])


# ----------------------------------------------------------------- relevance_in_regions
def test_relevance_in_regions_hand_computed():
    maps = np.zeros((3, 2, 2))
    maps[0] = [[3.0, -5.0], [1.0, 0.0]]  # positive 4, inside (top row) 3 -> 0.75
    maps[1] = [[-1.0, -1.0], [-1.0, -1.0]]  # no positive relevance -> NaN
    maps[2] = [[1.0, 1.0], [1.0, 1.0]]  # uniform -> inside == area -> lift 1
    regions = np.zeros((3, 2, 2), bool)
    regions[0, 0, :] = True
    regions[1, 0, 0] = True
    regions[2, :, 0] = True
    t = relevance_in_regions(maps, regions)
    assert list(t.columns) == ["image", "positive", "inside", "area", "lift"]
    assert t.positive.tolist() == [4.0, 0.0, 4.0]
    assert t.inside[0] == pytest.approx(0.75) and t.area[0] == pytest.approx(0.5) and t.lift[0] == pytest.approx(1.5)
    assert np.isnan(t.inside[1]) and np.isnan(t.lift[1]) and t.area[1] == pytest.approx(0.25)
    assert t.inside[2] == pytest.approx(0.5) and t.lift[2] == pytest.approx(1.0)


def test_relevance_in_regions_random_uniform_maps_have_lift_near_one():
    # independent property: relevance drawn independently of the regions lands inside in
    # proportion to their area
    rng = np.random.default_rng(0)
    maps = rng.random((200, 24, 24))
    regions = rng.random((200, 24, 24)) < 0.3
    t = relevance_in_regions(maps, regions)
    assert t.lift.mean() == pytest.approx(1.0, abs=0.02)
    assert t.area.mean() == pytest.approx(0.3, abs=0.01)


def test_relevance_in_regions_rejects_2d_maps():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        relevance_in_regions(np.zeros((2, 2)), np.zeros((2, 2), bool))


def test_relevance_in_regions_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="does not match"):
        relevance_in_regions(np.zeros((1, 2, 2)), np.zeros((1, 3, 2), bool))


def test_relevance_in_regions_rejects_non_bool_regions():
    with pytest.raises(ValueError, match="bool"):
        relevance_in_regions(np.zeros((1, 2, 2)), np.zeros((1, 2, 2), int))


def test_relevance_in_regions_names_the_nan_map():
    bad = np.zeros((2, 2, 2))
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="map 1"):
        relevance_in_regions(bad, np.zeros((2, 2, 2), bool))


def test_by_class_means():
    t = pd.DataFrame({"image": [0, 1, 2, 3], "positive": [1.0, 1.0, 0.0, 1.0], "inside": [0.2, 0.4, np.nan, 0.9],
                      "area": [0.1, 0.3, 0.2, 0.5], "lift": [2.0, 4 / 3, np.nan, 1.8]})
    out = by_class(t, np.array([0, 0, 2, 2]), ["x", "y", "z"])
    assert out["class"].tolist() == ["x", "z"]
    x, z = out.iloc[0], out.iloc[1]
    assert x.n == 2 and x.n_with_relevance == 2 and x.inside == pytest.approx(0.3) and x.area == pytest.approx(0.2)
    assert z.n == 2 and z.n_with_relevance == 1 and z.inside == pytest.approx(0.9) and z.area == pytest.approx(0.35)


def _table4():
    return relevance_in_regions(np.ones((4, 2, 2)), np.ones((4, 2, 2), bool))


def test_by_class_rejects_label_count_mismatch():
    with pytest.raises(ValueError, match=r"\(4,\)"):
        by_class(_table4(), np.array([0, 1]), ["x", "y", "z"])


def test_by_class_rejects_out_of_range_label():
    with pytest.raises(ValueError, match="0..2"):
        by_class(_table4(), np.array([0, 1, 3, 0]), ["x", "y", "z"])
