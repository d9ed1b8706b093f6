"""rbdm_core.masking.stats: ground-truth precision and IoU by hand."""

import numpy as np
import pytest

from rbdm_core import masking as ext


def test_mask_precision_3x3():
    regions = np.array([[[1, 1, 0], [0, 0, 0], [0, 0, 0]],
                        [[0, 0, 0], [0, 1, 0], [0, 0, 0]]], bool)
    keep = np.array([[[1, 1, 1], [1, 0, 0], [0, 0, 0]],   # 4 kept, 2 in region: precision .5, recall 1
                     [[0, 1, 0], [0, 1, 0], [0, 0, 0]]], bool)  # 2 kept, 1 in region: .5, recall 1
    none = np.zeros_like(keep)
    t = ext.mask_precision({"keep": keep, "none": none}, regions).set_index("source")
    assert t.loc["keep", "kept_fraction"] == pytest.approx(6 / 18)
    assert t.loc["keep", "precision_mean"] == pytest.approx(0.5)
    assert t.loc["keep", "recall"] == pytest.approx(1.0)
    assert t.loc["keep", "precision_ci_low"] == pytest.approx(0.5)  # both images 0.5: zero-width
    assert np.isnan(t.loc["none", "precision_mean"]) and t.loc["none", "recall"] == 0.0


def test_mask_iou():
    a = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]], bool)
    b = np.array([[[1, 0], [1, 0]], [[0, 0], [0, 0]]], bool)
    iou = ext.mask_iou(a, b)
    assert iou[0] == pytest.approx(1 / 3) and np.isnan(iou[1])
    with pytest.raises(ValueError, match="shapes differ"):
        ext.mask_iou(a, b[:1])


def test_region_scores_by_hand():
    """Two 2x2 images, regions = the left column. The mask keeps the left column of image 0 and
    the top row of image 1: kept precision 1 and 1/2, recall 1 and 1/2; the removed area's
    precision 0 and 1/2. The random mask keeps as many pixels (2 per image) as the mask."""
    regions = np.zeros((2, 2, 2), bool)
    regions[:, :, 0] = True
    m = np.zeros((2, 2, 2), bool)
    m[0, :, 0] = True
    m[1, 0, :] = True
    t = ext.region_scores({"mine": m}, regions, seed=0)
    assert list(t.pixels.unique()) == list(ext.PIXEL_SETS)
    row = t.set_index(["pixels", "metric"]).loc
    assert row[("mask", "precision")]["mean"] == pytest.approx(0.75)
    assert row[("mask", "recall")]["mean"] == pytest.approx(0.75)
    assert row[("removed area", "precision")]["mean"] == pytest.approx(0.25)
    rnd = ext.random_masks_like(m, seed=0)
    expected = ext.mask_stats(rnd, regions).precision.mean()
    assert row[("random, same size", "precision")]["mean"] == pytest.approx(expected)
    assert (t.n == 2).all()
