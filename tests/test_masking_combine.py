"""rbdm_core.masking.combine and the registry's make_masks, against 3x3 hand-computed values."""

import numpy as np
import pytest

from rbdm_core import masking as ext


def test_normalise_and_combine_relevance_3x3():
    a = np.array([[[1, 0, 0], [0, 2, 0], [0, 0, 1]]], float)  # L1 = 4
    b = np.array([[[0, 0, 0], [0, -10, 0], [10, 0, 0]]], float)  # L1 = 20
    na = ext.normalise_maps(a)
    np.testing.assert_allclose(na[0], [[0.25, 0, 0], [0, 0.5, 0], [0, 0, 0.25]])
    np.testing.assert_allclose(ext.normalise_maps(np.zeros((1, 3, 3))), 0)  # zero map stays zero
    comb = ext.combine_relevance([a, b])
    np.testing.assert_allclose(comb[0], [[0.125, 0, 0], [0, 0, 0], [0.25, 0, 0.125]])
    comb_w = ext.combine_relevance([a, b], weights=[3, 1])
    np.testing.assert_allclose(comb_w[0, 1, 1], 0.75 * 0.5 + 0.25 * -0.5)


def test_combine_relevance_errors():
    with pytest.raises(ValueError, match=r"maps_list\[1\]"):
        ext.combine_relevance([np.ones((1, 3, 3)), np.ones((1, 2, 3))])
    with pytest.raises(ValueError, match="weights"):
        ext.combine_relevance([np.ones((1, 3, 3))], weights=[-1])
    with pytest.raises(ValueError, match="NaN"):
        ext.normalise_maps(np.full((1, 2, 2), np.nan))


def test_combine_masks_3x3():
    m1 = np.array([[[1, 1, 0], [0, 0, 0], [1, 0, 0]]], bool)
    m2 = np.array([[[1, 0, 0], [0, 1, 0], [1, 0, 0]]], bool)
    m3 = np.array([[[0, 1, 0], [0, 1, 0], [1, 0, 1]]], bool)
    ms = [m1, m2, m3]
    np.testing.assert_array_equal(ext.combine_masks(ms, "union")[0], [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(ext.combine_masks(ms, "intersection")[0], [[0, 0, 0], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(ext.combine_masks(ms, "majority")[0], [[1, 1, 0], [0, 1, 0], [1, 0, 0]])
    # two masks: majority needs both (more than half)
    np.testing.assert_array_equal(ext.combine_masks([m1, m2], "majority"), ext.combine_masks([m1, m2], "intersection"))


def test_combine_masks_errors():
    with pytest.raises(ValueError, match="rule"):
        ext.combine_masks([np.ones((1, 2, 2), bool)], "vote")
    with pytest.raises(ValueError, match="bool"):
        ext.combine_masks([np.ones((1, 2, 2), int)])
    with pytest.raises(ValueError, match="at least one"):
        ext.combine_masks([])


def test_make_masks_matches_hand_values():
    r = np.array([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]])  # mean 4
    np.testing.assert_array_equal(ext.make_masks(r, "mean")[0], [[0, 0, 0], [0, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(ext.make_masks(r, "negative", fraction=1 / 9)[0],
                                  [[1, 1, 1], [1, 1, 1], [1, 1, 0]])
    # one pseudo-fixation at the most relevant pixel (2, 2), cut-off 1: it and its two neighbours
    np.testing.assert_array_equal(ext.make_masks(r, "perceptive", n=1, sigma=1.0, cutoff=1.0)[0],
                                  [[0, 0, 0], [0, 0, 1], [0, 1, 1]])
    with pytest.raises(ValueError, match="mask_type"):
        ext.make_masks(r, "top")
