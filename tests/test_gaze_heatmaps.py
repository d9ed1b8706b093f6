"""rbdm_core.gaze.heatmaps: kernel, heatmap, fixation maps, per-annotator heatmaps of a study, model
heatmaps and their chance baseline. Checked by hand or by a second method."""

import math

import numpy as np
import pandas as pd
import pytest

from rbdm_core import gaze, masking


# --- kernel -----------------------------------------------------------------------------------


def test_span_in_image_and_sigma_fwhm_property():
    # 261.79 screen px of a 1200 px display shown at 48 px: 261.79 * 48 / 1200 = 10.4717
    span = gaze.span_in_image_px(261.79, display_px=1200, image_px=48)
    assert span == pytest.approx(10.4716, abs=1e-4)
    sigma = gaze.sigma_from_span(span)
    # FWHM property: the Gaussian is at half height at +-FWHM/2 = +-0.2 span
    assert math.exp(-((0.2 * span) ** 2) / (2 * sigma**2)) == pytest.approx(0.5, rel=1e-12)
    k = gaze.kernel_for_image(48)
    assert k.cutoff == pytest.approx(k.span / 2)
    assert k.sigma == pytest.approx(gaze.sigma_from_span(k.span))
    assert gaze.kernel_for_image(48, cutoff="diameter").cutoff == pytest.approx(k.span)
    with pytest.raises(ValueError, match="fwhm_fraction"):
        gaze.sigma_from_span(10, fwhm_fraction=0)


# --- heatmap ----------------------------------------------------------------------------------


def _direct(fix, shape, sigma, cutoff=None, weights=None):
    """Second method: every pixel, every fixation, no factorisation."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    out = np.zeros(shape)
    weights = np.ones(len(fix)) if weights is None else weights
    for (x, y), wk in zip(fix, weights):
        d2 = (cols - x) ** 2 + (rows - y) ** 2
        v = wk * np.exp(-d2 / (2 * sigma**2))
        if cutoff is not None:
            v[d2 > cutoff**2] = 0
        out += v
    return out


def test_heatmap_3x3_by_hand():
    # one fixation at the centre, sigma 1: centre 1, edge neighbours exp(-1/2), corners exp(-1)
    h = gaze.heatmap([[1, 1]], (3, 3), sigma=1.0)
    e, c = math.exp(-0.5), math.exp(-1.0)
    np.testing.assert_allclose(h, [[c, e, c], [e, 1, e], [c, e, c]], rtol=1e-15)
    # cutoff 1: corners (d = sqrt 2 > 1) become 0, edges (d = 1, on the cut-off) stay
    hc = gaze.heatmap([[1, 1]], (3, 3), sigma=1.0, cutoff=1.0)
    np.testing.assert_allclose(hc, [[0, e, 0], [e, 1, e], [0, e, 0]], rtol=1e-15)


def test_heatmap_weights_by_hand():
    # fixations at (x=0, y=0) weight 2 and (x=2, y=0) weight 1 on a 1x3 strip, sigma 1:
    # pixel 0: 2*1 + exp(-2); pixel 1: 2 e^-0.5 + e^-0.5; pixel 2: 2 e^-2 + 1
    h = gaze.heatmap([[0, 0], [2, 0]], (1, 3), sigma=1.0, weights=[2.0, 1.0])
    np.testing.assert_allclose(
        h[0], [2 + math.exp(-2), 3 * math.exp(-0.5), 2 * math.exp(-2) + 1], rtol=1e-15
    )


@pytest.mark.parametrize("cutoff", [None, 4.0, 7.5])
def test_heatmap_matches_direct_sum(cutoff):
    rng = np.random.default_rng(3)
    fix = np.column_stack([rng.uniform(-0.5, 39.4, 12), rng.uniform(-0.5, 29.4, 12)])
    wts = rng.uniform(0.1, 3, 12)
    got = gaze.heatmap(fix, (30, 40), sigma=2.3, cutoff=cutoff, weights=wts)
    assert got.dtype == np.float64 and got.shape == (30, 40)
    np.testing.assert_allclose(got, _direct(fix, (30, 40), 2.3, cutoff, wts), rtol=0, atol=1e-12)


def test_heatmap_empty_fixations_is_zero():
    h = gaze.heatmap(np.zeros((0, 2)), (4, 5), sigma=1.0, cutoff=2.0)
    assert h.shape == (4, 5) and not h.any()


def test_heatmap_fixation_off_image_raises_or_is_allowed():
    with pytest.raises(ValueError, match="row 1 .*outside the 4x5 image"):
        gaze.heatmap([[1, 1], [5.0, 1]], (4, 5), sigma=1.0)
    # allowed: a fixation half a pixel beyond the right edge still reaches the last column
    h = gaze.heatmap([[5.0, 1]], (4, 5), sigma=1.0, allow_outside=True)
    assert h[1, 4] == pytest.approx(math.exp(-0.5))


def test_heatmap_bad_input():
    with pytest.raises(ValueError, match="row 0 is not finite"):
        gaze.heatmap([[np.nan, 1]], (4, 5), sigma=1.0)
    with pytest.raises(ValueError, match=r"\(K, 2\)"):
        gaze.heatmap([1, 2, 3], (4, 5), sigma=1.0)
    with pytest.raises(ValueError, match="sigma"):
        gaze.heatmap([[1, 1]], (4, 5), sigma=0)
    with pytest.raises(ValueError, match="weights"):
        gaze.heatmap([[1, 1]], (4, 5), sigma=1, weights=[1, 2])
    with pytest.raises(ValueError, match="weights"):
        gaze.heatmap([[1, 1]], (4, 5), sigma=1, weights=[-1])
    with pytest.raises(ValueError, match="shape"):
        gaze.heatmap([[1, 1]], (4, 0), sigma=1)


def test_fixation_map():
    m = gaze.fixation_map([[0.4, 0.0], [2.6, 1.2]], (2, 4))
    expected = np.zeros((2, 4), bool)
    expected[0, 0] = expected[1, 3] = True
    np.testing.assert_array_equal(m, expected)


# --- heatmaps from a fixation table -----------------------------------------------------------


def test_fixation_heatmaps_per_annotator():
    # annotator 0: image 1 gets the screen centre (image pixel 23.5, 23.5 of a 48 px image) and
    # one fixation off the image; annotator 1: image 0 gets the first pixel centre (0, 0).
    df = pd.DataFrame(
        {
            "annotator": [0, 0, 1],
            "image_index": [1, 1, 0],
            "x_screen": [1280.0, 100.0, 692.5],
            "y_screen": [720.0, 720.0, 132.5],
            "duration_ms": [200.0, 100.0, 300.0],
        }
    )
    out = gaze.fixation_heatmaps(df, 2, (48, 48), sigma=2.0, cutoff=5.0, weight="duration_ms")
    np.testing.assert_array_equal(out.annotators, [0, 1])
    assert out.maps.shape == (2, 2, 48, 48)
    np.testing.assert_array_equal(out.n_dropped, [[0, 1], [0, 0]])
    np.testing.assert_array_equal(out.n_fixations, [[0, 1], [1, 0]])
    np.testing.assert_allclose(out.maps[0, 1], gaze.heatmap([[23.5, 23.5]], (48, 48), 2.0, 5.0, [200.0]))
    np.testing.assert_allclose(out.maps[1, 0], gaze.heatmap([[0, 0]], (48, 48), 2.0, 5.0, [300.0]))
    assert not out.maps[0, 0].any() and not out.maps[1, 1].any()
    with pytest.raises(ValueError, match="image_index"):
        gaze.fixation_heatmaps(df, 1, (48, 48), sigma=2.0, cutoff=5.0)
    with pytest.raises(ValueError, match="missing column"):
        gaze.fixation_heatmaps(df.drop(columns="x_screen"), 2, (48, 48), sigma=2.0, cutoff=5.0)


def test_study_fixation_maps_by_hand():
    # 10x10 image on a 100x100 screen at 50 px: origin (25, 25), 5 screen px per image pixel.
    class Geo:
        display_px = 50
        screen = (100, 100)

    fx = pd.DataFrame({"annotator": [0, 0, 1, 1], "image_index": [0, 1, 1, 1],
                       # (27.5, 27.5) -> pixel (0, 0); (72.4, 47.5) -> col 9, row 4; off screen image
                       "x_screen": [27.5, 72.4, 52.5, 5.0], "y_screen": [27.5, 47.5, 32.5, 5.0]})
    ids, maps = gaze.study_fixation_maps(fx, 2, (10, 10), Geo())
    assert list(ids) == [0, 1] and maps.shape == (2, 2, 10, 10)
    assert maps[0, 0, 0, 0] and maps[0, 0].sum() == 1
    assert maps[0, 1, 4, 9] and maps[0, 1].sum() == 1
    assert maps[1, 1, 1, 5] and maps[1, 1].sum() == 1  # the off-image fixation is dropped
    assert maps[1, 0].sum() == 0


def test_study_fixation_maps_bad_input():
    with pytest.raises(ValueError, match="x_screen"):
        gaze.study_fixation_maps(pd.DataFrame({"annotator": [0], "image_index": [0]}), 1, (4, 4))
    fx = pd.DataFrame({"annotator": [0], "image_index": [3], "x_screen": [1280.0], "y_screen": [720.0]})
    with pytest.raises(ValueError, match="image_index"):
        gaze.study_fixation_maps(fx, 2, (4, 4))


# --- model heatmaps and their chance baseline -------------------------------------------------


def test_model_heatmap_by_hand():
    # one 3x4 map whose two largest values sit at (row 0, col 3) and (row 2, col 1)
    rel = np.array([[[0, 1, 2, 9], [3, 0, 1, 2], [0, 8, 1, 0]]], dtype=float)
    s = 1.5
    rows, cols = np.mgrid[0:3, 0:4]
    expected = (np.exp(-((cols - 3) ** 2 + (rows - 0) ** 2) / (2 * s * s))
                + np.exp(-((cols - 1) ** 2 + (rows - 2) ** 2) / (2 * s * s)))
    got = gaze.model_heatmaps(rel, 2, s)
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)


def test_model_heatmap_support_equals_perceptive_mask():
    # second method: masking.perceptive_mask dilates the top-n pixels by the cut-off disc
    rng = np.random.default_rng(3)
    rel = rng.random((5, 20, 24))
    k = gaze.kernel_for_image(20)
    maps = gaze.model_heatmaps(rel, 6, k.sigma, k.cutoff)
    np.testing.assert_array_equal(maps > 0, masking.perceptive_mask(rel, 6, k.sigma, k.cutoff))


def test_model_heatmap_bad_input():
    with pytest.raises(ValueError, match="relevance"):
        gaze.model_heatmaps(np.zeros((4, 4)), 1, 1.0)
    with pytest.raises(ValueError, match="n:"):
        gaze.model_heatmaps(np.zeros((1, 4, 4)), 17, 1.0)


def test_random_heatmaps_have_n_peaks_and_are_seeded():
    # sigma tiny: each map is 1 at exactly n distinct pixels and ~0 elsewhere
    a = gaze.random_heatmaps(4, (10, 12), 5, 0.05, seed=1)
    assert a.shape == (4, 10, 12)
    assert ((a > 0.5).sum(axis=(1, 2)) == 5).all()
    np.testing.assert_array_equal(a, gaze.random_heatmaps(4, (10, 12), 5, 0.05, seed=1))
    assert not np.array_equal(a, gaze.random_heatmaps(4, (10, 12), 5, 0.05, seed=2))
    with pytest.raises(ValueError, match="n_images"):
        gaze.random_heatmaps(-1, (10, 12), 5, 1.0)
