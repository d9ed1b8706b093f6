"""rbdm_core.regions: relevance inside ground-truth regions, per class, and how concentrated a map is."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import masking, regions
from rbdm_core.regions import by_class, relevance_in_regions


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


# ----------------------------------------------------------------- relevance_concentration
def test_relevance_concentration_by_hand():
    # 2x5 map: values 0..9, mean 4.5 -> 5 pixels >= mean; median 4.5 -> ratio 1;
    # top 20 % = the 2 largest (8 + 9) of a sum of 45
    a = np.arange(10, dtype=float).reshape(1, 2, 5)
    # a skewed map: one pixel of 91, nine of 1 -> mean 10, median 1, top 10 % holds 91 %
    b = np.ones((1, 2, 5))
    b[0, 0, 0] = 91.0
    got = regions.relevance_concentration(np.concatenate([a, b]), top=0.2)
    np.testing.assert_allclose(got.share_above_mean, [0.5, 0.1])
    np.testing.assert_allclose(got.median_over_mean, [1.0, 0.1])
    np.testing.assert_allclose(got.top_share, [17 / 45, 92 / 100])
    # mask_mean keeps exactly the share_above_mean
    rng = np.random.default_rng(0)
    r = rng.gamma(0.3, size=(4, 7, 6))
    np.testing.assert_allclose(regions.relevance_concentration(r).share_above_mean, masking.mean_mask(r).mean(axis=(1, 2)))
    with pytest.raises(ValueError, match="top"):
        regions.relevance_concentration(a, top=0)
    assert np.isnan(regions.relevance_concentration(-np.ones((1, 2, 2))).median_over_mean[0])
