"""rbdm_core.curves: per-class scores and relabelling (chapters 2 and 3)."""

import numpy as np
import pytest

from rbdm_core.curves import confusion_matrix, macro_f1, per_class_table, relabel


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
