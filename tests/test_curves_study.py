"""rbdm_core.curves, runs of a study: run table, summaries over seeds, best variant, curve differences."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import curves as ext
from rbdm_core.curves import curves_frame


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
    assert t.loc["no-mask", "steps_to_threshold_mean"] == 10


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
        "steps_to_threshold_mean": [50.0, 30.0, 40.0, 10.0]})
    assert ext.best_variant(t, "best_f1") == "c"  # no-mask excluded
    assert ext.best_variant(t, "best_f1", exclude=()) == "no-mask"
    assert ext.best_variant(t, "final_f1") == "a"
    assert ext.best_variant(t, "steps") == "a"  # c is faster but one seed never got there
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
