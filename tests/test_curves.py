"""rbdm_core.curves: per-class scores, relabelling, and the runs of a study (run table, summaries over
seeds, best variant, curve differences), against hand-computed values."""

import numpy as np
import pytest

import pandas as pd

from rbdm_core import curves as ext
from rbdm_core.curves import confusion_matrix, curves_frame, macro_f1, per_class_table, relabel


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




def _curves(runs):
    """runs: {(variant, seed): [(step, f1), ...]} -> a curve table (validation f1 + loss rows)."""
    rows = []
    for (var, seed), pts in runs.items():
        for step, f1 in pts:
            rows.append([var, seed, step, step / 10, "validation", "f1", f1])
            rows.append([var, seed, step, step / 10, "validation", "loss", 2.0 - f1])
    return curves_frame(rows)


def test_run_table_best_and_final():
    c = _curves({("a", 0): [(0, 0.1), (10, 0.5), (20, 0.4)], ("a", 1): [(0, 0.2), (10, 0.2), (20, 0.6)]})
    t = ext.run_table(c)
    assert t.to_dict("records") == [
        {"variant": "a", "seed": 0, "best_f1": 0.5, "best_step": 10, "final_f1": 0.4, "steps": 20},
        {"variant": "a", "seed": 1, "best_f1": 0.6, "best_step": 20, "final_f1": 0.6, "steps": 20},
    ]


def test_trainee_summary_threshold_steps_and_ci():
    # no-mask final F1s 0.5 and 0.7 -> mean 0.6, threshold 0.9 * 0.6 = 0.54
    c = _curves({
        ("no-mask", 0): [(0, 0.1), (10, 0.3), (20, 0.5)],
        ("no-mask", 1): [(0, 0.1), (10, 0.55), (20, 0.7)],
        ("mean", 0): [(0, 0.1), (10, 0.6), (20, 0.6)],
        ("mean", 1): [(0, 0.1), (10, 0.54), (20, 0.5)],
    })
    s = ext.trainee_summary(c, fraction=0.9)
    assert s.threshold == pytest.approx(0.54)
    runs = s.runs.set_index(["variant", "seed"]).steps_to_threshold
    assert np.isnan(runs[("no-mask", 0)])  # never reaches 0.54
    assert runs[("no-mask", 1)] == 10 and runs[("mean", 0)] == 10 and runs[("mean", 1)] == 10
    t = s.table.set_index("variant")
    assert list(t.index) == ["no-mask", "mean"]
    assert t.loc["no-mask", "reached"] == 1 and t.loc["mean", "reached"] == 2
    assert t.loc["mean", "best_f1_mean"] == pytest.approx(0.57)
    # t-interval by hand: sd of (0.6, 0.54) = 0.0424264, t_{0.975, 1} = 12.7062
    half = 12.7062047 * np.std([0.6, 0.54], ddof=1) / np.sqrt(2)
    assert t.loc["mean", "best_f1_ci_low"] == pytest.approx(0.57 - half, rel=1e-6)
    assert t.loc["mean", "final_f1_mean"] == pytest.approx(0.55)
    # no-mask: seed 1 at step 10, seed 0 never (censored) -> the middle of (10, never) is unknown
    assert np.isnan(t.loc["no-mask", "steps_median"]) and t.loc["mean", "steps_median"] == 10


def test_censored_median_counts_runs_that_never_get_there_as_later():
    assert ext.censored_median([30, 10, np.nan]) == 30  # 10, 30, never
    assert np.isnan(ext.censored_median([30, np.nan, np.nan]))  # 30, never, never
    assert ext.censored_median([20, 40, 10, 30]) == 25
    assert np.isnan(ext.censored_median([20, 40, np.nan, np.nan]))  # between 40 and never
    assert ext.censored_median([20, 40, 30, np.nan]) == 35  # 20, 30 | 40, never
    assert np.isnan(ext.censored_median([]))


def test_trainee_summary_missing_reference():
    c = _curves({("mean", 0): [(0, 0.1), (10, 0.2)]})
    with pytest.raises(ValueError, match="reference: variant 'no-mask'"):
        ext.trainee_summary(c)


def test_trainee_summary_bad_fraction():
    c = _curves({("no-mask", 0): [(0, 0.1), (10, 0.2)]})
    with pytest.raises(ValueError, match="fraction"):
        ext.trainee_summary(c, fraction=1.5)


def test_run_table_missing_columns():
    with pytest.raises(ValueError, match="missing column"):
        ext.run_table(pd.DataFrame({"variant": ["a"]}))


def test_best_variant_criteria():
    t = pd.DataFrame({
        "variant": ["no-mask", "a", "b", "c"], "n_seeds": [3, 3, 3, 3], "reached": [3, 3, 3, 2],
        "best_f1_mean": [0.9, 0.6, 0.7, 0.8], "final_f1_mean": [0.9, 0.65, 0.6, 0.5],
        "steps_median": [50.0, 30.0, 40.0, np.nan]})
    assert ext.best_variant(t, "best_f1") == "no-mask"  # every variant competes, no mask too
    assert ext.best_variant(t, "best_f1", exclude=("no-mask",)) == "c"
    assert ext.best_variant(t, "final_f1", exclude=("no-mask",)) == "a"
    assert ext.best_variant(t, "steps") == "a"  # c's median is unknown
    with pytest.raises(ValueError, match="criterion"):
        ext.best_variant(t, "speed")


def test_curve_difference():
    a = _curves({("v", 0): [(0, 0.1), (10, 0.5)]})
    b = a.copy()
    assert ext.curve_difference(a, b) == 0.0
    b.loc[(b.step == 10) & (b.metric == "f1"), "value"] = 0.25
    assert ext.curve_difference(a, b) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="different points"):
        ext.curve_difference(a, b[b.step == 0])


def test_curve_difference_several_runs_rejected():
    a = _curves({("v", 0): [(0, 0.1)], ("v", 1): [(0, 0.2)]})
    with pytest.raises(ValueError, match="one run"):
        ext.curve_difference(a, a)


def test_value_at_and_early_f1():
    c = _curves({("no-mask", 0): [(0, 0.1), (10, 0.3), (20, 0.5)],
                 ("mean", 0): [(0, 0.1), (15, 0.6), (20, 0.6)]})
    v = ext.value_at(c, 12).set_index("variant").value
    assert v["no-mask"] == 0.3 and v["mean"] == 0.1  # last evaluation at or before step 12
    assert np.isnan(ext.value_at(c, -1).value).all()
    s = ext.trainee_summary(c, early_step=15)
    t = s.table.set_index("variant")
    assert t.loc["mean", "early_f1_mean"] == 0.6 and t.loc["no-mask", "early_f1_mean"] == 0.3


def test_final_values_per_split():
    from rbdm_core.curves import final_values

    rows = [["a", 0, 0, "validation", 0.1], ["a", 0, 10, "validation", 0.3], ["a", 1, 10, "validation", 0.2],
            ["b", 0, 10, "validation", 0.25], ["b", 0, 10, "validation-masked", 0.9],
            ["b", 0, 0, "validation-masked", 0.5], ["b", 0, 10, "train", 7.0]]
    c = pd.DataFrame([[v, s, st, st / 10, sp, "f1", x] for v, s, st, sp, x in rows],
                     columns=["variant", "seed", "step", "epoch", "split", "metric", "value"])
    out = final_values(c)
    assert list(out.columns) == ["variant", "seed", "validation", "validation-masked"]
    assert out.values[:, :3].tolist() == [["a", 0, 0.3], ["a", 1, 0.2], ["b", 0, 0.25]]
    assert np.isnan(out["validation-masked"][:2]).all() and out["validation-masked"][2] == 0.9
    with pytest.raises(ValueError, match="no loss rows"):
        final_values(c, metric="loss")


# ----------------------------------------------------------------- runs that predict one class
def test_one_class_f1_by_hand():
    labels = np.array([0, 0, 0, 1, 2])  # predicting class 0 everywhere: F1_0 = 2*3 / (2*3 + 2) = 0.75
    f1 = ext.one_class_f1(labels, 4)
    assert f1[0] == pytest.approx(0.75 / 3)  # classes 1, 2 occur with F1 0; class 3 neither occurs nor is predicted
    assert f1[1] == pytest.approx((2 / 6) / 3) and f1[3] == pytest.approx(0.0)
    assert ext.predicts_one_class([0.25, 0.25 + 1e-3, f1[1]], labels, 4).tolist() == [True, False, True]


def test_summaries_show_predicts_one_class_instead_of_a_collapsed_interval():
    """Every seed of 'flat' predicts class 0 (the 0.064 [0.064, 0.064] of chapter 6): the tables
    say so; a variant where only one seed does keeps its interval."""
    from rbdm_core import statistics

    labels = np.repeat(np.arange(4), [5, 2, 2, 1])
    flat = ext.one_class_f1(labels, 4)[0]
    c = _curves({
        ("no-mask", 0): [(0, 0.1), (10, 0.5)], ("no-mask", 1): [(0, 0.2), (10, 0.6)],
        ("flat", 0): [(0, flat), (10, flat)], ("flat", 1): [(0, flat), (10, flat)],
        ("half", 0): [(0, flat), (10, flat)], ("half", 1): [(0, 0.3), (10, 0.4)],
    })
    s = ext.trainee_summary(c, labels=labels, num_classes=4)
    t = s.table.set_index("variant")
    assert t.loc["flat", "final_f1_note"] == ext.ONE_CLASS and t.loc["half", "final_f1_note"] == ""
    shown = statistics.format_columns(s.table, ["best_f1", "final_f1"]).set_index("variant")
    assert shown.loc["flat", "final_f1"] == "predicts one class" and "[" not in shown.loc["flat", "best_f1"]
    assert shown.loc["half", "final_f1"].startswith("0.") and "[" in shown.loc["half", "final_f1"]
    assert "final_f1_note" not in shown.columns
    # without labels nothing is marked (and the collapsed interval is what format_interval gives)
    plain = statistics.format_columns(ext.trainee_summary(c).table, ["final_f1"]).set_index("variant")
    assert plain.loc["flat", "final_f1"] == f"{flat:.3f} [{flat:.3f}, {flat:.3f}]"
    with pytest.raises(ValueError, match="both labels and num_classes"):
        ext.trainee_summary(c, labels=labels)
    # the long-table path: f1_summary + pivot_intervals
    finals = ext.final_values(c, splits=("validation",)).assign(column="plain")
    summ = ext.f1_summary(finals, ["variant", "column"], "validation", labels, 4, sort=False)
    piv = statistics.pivot_intervals(summ, "variant", "column").set_index("variant")
    assert piv.loc["flat", "plain"] == "predicts one class" and "[" in piv.loc["no-mask", "plain"]


def test_summed_confusion_and_per_class_comparison_by_hand():
    from types import SimpleNamespace

    from rbdm_core.curves import per_class_comparison, summed_confusion

    run = lambda name, cm: SimpleNamespace(variant=SimpleNamespace(name=name), confusion=np.array(cm))
    results = [run("a", [[2, 0], [1, 1]]), run("a", [[1, 1], [0, 2]]), run("b", [[3, 0], [0, 3]])]
    cm = summed_confusion(results, "a")
    np.testing.assert_array_equal(cm, [[3, 1], [1, 3]])
    table = per_class_comparison(cm, summed_confusion(results, "b"), ["x", "y"], "a", "b")
    # class x: precision 3/4, recall 3/4 -> F1 0.75; b is perfect
    assert list(table["F1 a"]) == pytest.approx([0.75, 0.75]) and list(table.difference) == pytest.approx([0.25, 0.25])
    with pytest.raises(ValueError, match="no run of variant 'c'"):
        summed_confusion(results, "c")
