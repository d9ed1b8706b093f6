"""rbdm_core.statistics: intervals against scipy and by hand, paired differences, the formatter."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rbdm_core import statistics as st


def test_t_interval_equals_scipy():
    v = np.array([0.41, 0.38, 0.45, 0.40, 0.47, 0.36])
    iv = st.interval(v)
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    assert iv.n == 6 and iv.mean == pytest.approx(v.mean())
    assert (iv.low, iv.high) == pytest.approx((lo, hi))
    assert iv.half_width == pytest.approx((hi - lo) / 2)
    # by hand for 1, 2, 3: t(0.975, 2) * 1 / sqrt(3)
    by_hand = st.interval([1.0, 2.0, 3.0])
    assert by_hand.high - 2.0 == pytest.approx(4.302652729911275 / np.sqrt(3))


def test_nan_left_out_and_single_value_has_no_bounds():
    iv = st.interval([0.5, np.nan, 0.7, 0.6])
    assert iv.n == 3 and iv.mean == pytest.approx(0.6)
    one = st.interval([0.5])
    assert one.mean == 0.5 and np.isnan(one.low) and np.isnan(one.high) and not one.excludes(0.0)
    assert np.isnan(st.interval([]).mean)


def test_bootstrap_is_seeded_and_inside_the_range():
    v = np.random.default_rng(1).normal(size=20)
    a, b = st.interval(v, method="bootstrap", seed=3), st.interval(v, method="bootstrap", seed=3)
    assert a == b
    assert v.min() <= a.low < a.mean < a.high <= v.max()


def test_paired_interval_is_the_interval_of_differences():
    a = np.array([0.50, 0.52, 0.47, 0.55])
    b = np.array([0.45, 0.50, 0.44, 0.49])
    d = st.paired_interval(a, b)
    assert d == st.interval(a - b)
    assert d.excludes(0.0)  # every seed improves: the paired interval sees it
    # unpaired, the same numbers overlap
    assert st.interval(a).low < st.interval(b).high
    with pytest.raises(ValueError, match="same length"):
        st.paired_interval(a, b[:3])


def test_summarise_per_group():
    df = pd.DataFrame({"metric": ["cc"] * 4 + ["nss"] * 2, "value": [0.5, np.nan, 0.7, 0.6, 1.0, 2.0]})
    t = st.summarise(df)
    assert list(t.columns) == ["metric", "n", "n_nan", "mean", "sd", "ci_low", "ci_high"]
    cc = t.set_index("metric").loc["cc"]
    assert cc["n"] == 3 and cc["n_nan"] == 1 and cc["sd"] == pytest.approx(0.1)
    assert (cc["ci_low"], cc["ci_high"]) == pytest.approx((st.interval([0.5, 0.7, 0.6]).low, st.interval([0.5, 0.7, 0.6]).high))
    whole = st.summarise(df, by=[])
    assert whole["n"].item() == 5
    with pytest.raises(ValueError, match="confidence"):
        st.summarise(df, confidence=1.5)
    with pytest.raises(ValueError, match="method"):
        st.summarise(df, method="z")
    with pytest.raises(ValueError, match="missing column"):
        st.summarise(df, by=["annotator"])


def test_one_formatter():
    assert st.format_interval(0.41234, 0.4, 0.42) == "0.412 [0.400, 0.420]"
    assert st.format_interval(0.3, np.nan, np.nan) == "0.300"
    assert st.format_interval(np.nan, 0.1, 0.2) == ""
    assert str(st.Interval(0.5, 0.25, 0.75, 4)) == "0.500 [0.250, 0.750]"
    t = pd.DataFrame({"variant": ["a", "b"], "x_mean": [0.5, np.nan], "x_ci_low": [0.3, np.nan],
                      "x_ci_high": [0.7, np.nan], "n": [2, 1]})
    f = st.format_columns(t, ["x"], "{:.2f}")
    assert list(f.columns) == ["variant", "x", "n"] and list(f.x) == ["0.50 [0.30, 0.70]", ""]
    with pytest.raises(ValueError, match="y_mean"):
        st.format_columns(t, ["y"])


def test_pivot_intervals_by_hand():
    s = pd.DataFrame({"annotator": [0, 0, 1], "metric": ["overlap", "spearman", "overlap"], "n": [5, 5, 1],
                      "mean": [0.41234, 0.5, 0.3], "ci_low": [0.4, 0.45, np.nan], "ci_high": [0.42, 0.55, np.nan]})
    t = st.pivot_intervals(s, "annotator", "metric", ["overlap", "spearman"], fmt="{:.2f}")
    assert t.to_dict("records") == [
        {"annotator": 0, "overlap": "0.41 [0.40, 0.42]", "spearman": "0.50 [0.45, 0.55]", "n": 5},
        {"annotator": 1, "overlap": "0.30", "spearman": "", "n": 1},
    ]
    with pytest.raises(ValueError, match="ci_low"):
        st.pivot_intervals(s.drop(columns="ci_low"), "annotator", "metric")
