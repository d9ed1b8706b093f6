"""rbdm_core.masking.summary (chapter 5's tables and mask sets) against computations by hand."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import masking
from rbdm_core.masking import summary


def _masks():
    """Two 2x2 images, regions = the left column; mask "a" keeps the left column of image 0 and
    the top row of image 1 (2 of 4 pixels each), mask "b" keeps all of image 0 and one pixel of 1."""
    regions = np.zeros((2, 2, 2), bool)
    regions[:, :, 0] = True
    a = np.zeros((2, 2, 2), bool)
    a[0, :, 0] = True
    a[1, 0, :] = True
    b = np.zeros((2, 2, 2), bool)
    b[0] = True
    b[1, 1, 1] = True
    return {"a": a, "b": b}, regions


def test_fill_table_one_row_per_fill():
    t = summary.fill_table()
    assert list(t["fill"]) == list(masking.FILLS)
    assert list(t.columns) == ["fill", "parameters", "random", "the paper's", "what it does"]
    zero = t.set_index("fill").loc["zero"]
    assert zero["parameters"] == "-" and bool(zero["the paper's"])


def test_filled_examples_type_major():
    images = np.full((2, 2, 2, 1), 200, np.uint8)
    masks, _ = _masks()
    out = summary.filled_examples(images, masks, ["zero"], seed=0, start=0)
    assert out.shape == (2, 2, 2, 1)
    # zero fill: kept pixels stay 200, removed become 0 (image 0 of each mask type)
    for k, m in enumerate(masks.values()):
        np.testing.assert_array_equal(out[k, ..., 0], np.where(m[0], 200, 0))


def test_kept_by_type_and_summary():
    masks, regions = _masks()
    stats = summary.kept_by_type(masks, regions)
    assert list(stats["mask"]) == ["a", "a", "b", "b"]
    np.testing.assert_allclose(stats.kept_fraction, [0.5, 0.5, 1.0, 0.25])
    np.testing.assert_allclose(stats.precision, [1.0, 0.5, 0.5, 0.0])
    kept = summary.kept_summary(stats, ["b", "a"], quotes={"a": "qa", "b": "qb"})
    assert list(kept["mask"]) == ["b", "a"] and list(kept["the paper (text, quoted)"]) == ["qb", "qa"]
    assert kept.loc[0, "mean"] == pytest.approx(0.625) and kept.loc[0, "n"] == 2
    assert kept.loc[0, "sd"] == pytest.approx(np.std([1.0, 0.25], ddof=1))
    assert kept.loc[1, "ci_low"] == pytest.approx(0.5) and kept.loc[1, "ci_high"] == pytest.approx(0.5)


def test_skew_summary_quartiles():
    conc = pd.DataFrame({"image": [0, 1, 2, 3], "share_above_mean": [0.1, 0.2, 0.3, 0.4],
                         "median_over_mean": [1.0, 1.0, 1.0, 1.0], "top_share": [0.5, 0.5, 0.5, 0.9]})
    t = summary.skew_summary(conc, top=0.1).set_index("over images")
    assert list(t.index) == ["mean", "25%", "50%", "75%"]
    col = "share of pixels >= mean (kept by the mean mask)"
    np.testing.assert_allclose(t[col], [0.25, *np.percentile([0.1, 0.2, 0.3, 0.4], [25, 50, 75])])
    assert t.loc["mean", "share of the map's sum in its top 10 % pixels"] == pytest.approx(0.6)


def test_region_tables_from_region_scores():
    masks, regions = _masks()
    scores = masking.region_scores(masks, regions, seed=0)
    wide = summary.region_score_table(scores, ["b", "a"])
    assert list(wide["mask"])[:4] == ["b"] * 4 and len(wide) == 8
    # mask a, kept pixels: precision 1 and 1/2 per image -> mean 0.75
    cell = wide[(wide["mask"] == "a") & (wide["pixels"] == "mask")]["precision"].iloc[0]
    assert cell.startswith("0.750 [")
    lift = summary.precision_lift(scores, ["a", "b"]).set_index("mask")
    p = scores[scores.metric == "precision"].set_index(["mask", "pixels"])["mean"]
    assert lift.loc["a", "kept: precision / random"] == pytest.approx(0.75 / p[("a", "random, same size")])
    assert lift.loc["b", "removed: precision / random"] == pytest.approx(
        p[("b", "removed area")] / p[("b", "removed area, random")])


def test_explorer_states_match_make_masks():
    rng = np.random.default_rng(0)
    maps = {"m": rng.random((2, 6, 6))}
    params = lambda t, v: {"negative": {"fraction": v}, "mean": {},  # noqa: E731
                           "perceptive": {"n": v, "sigma": 1.0, "cutoff": 1.5}}[t]
    states = summary.explorer_states(maps, params, fractions=(0.1, 0.5), ns=(2,))
    assert list(states) == [("m", "negative", 0.1), ("m", "negative", 0.5), ("m", "mean", "-"), ("m", "perceptive", 2)]
    np.testing.assert_array_equal(states[("m", "negative", 0.5)], masking.make_masks(maps["m"], "negative", fraction=0.5))
    # the mean mask by hand: kept where R >= the map's mean
    np.testing.assert_array_equal(states[("m", "mean", "-")], maps["m"] >= maps["m"].mean(axis=(1, 2), keepdims=True))
    assert states[("m", "negative", 0.5)].sum(axis=(1, 2)).tolist() == [18, 18]
