"""Human-vs-model comparison helpers: model heatmaps, fixation maps, annotator pairs, I-DT
threshold and matching, random masks, CI tables. Checked by hand or by a second method."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from rbdm_core import comparison as cmp
from rbdm_core import gaze, masking, metrics


# --- heatmaps ---------------------------------------------------------------------------------


def test_model_heatmap_by_hand():
    # one 3x4 map whose two largest values sit at (row 0, col 3) and (row 2, col 1)
    rel = np.array([[[0, 1, 2, 9], [3, 0, 1, 2], [0, 8, 1, 0]]], dtype=float)
    s = 1.5
    rows, cols = np.mgrid[0:3, 0:4]
    expected = (np.exp(-((cols - 3) ** 2 + (rows - 0) ** 2) / (2 * s * s))
                + np.exp(-((cols - 1) ** 2 + (rows - 2) ** 2) / (2 * s * s)))
    got = cmp.model_heatmaps(rel, 2, s)
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)


def test_model_heatmap_support_equals_perceptive_mask():
    # second method: masking.perceptive_mask dilates the top-n pixels by the cut-off disc
    rng = np.random.default_rng(3)
    rel = rng.random((5, 20, 24))
    k = gaze.kernel_for_image(20)
    maps = cmp.model_heatmaps(rel, 6, k.sigma, k.cutoff)
    np.testing.assert_array_equal(maps > 0, masking.perceptive_mask(rel, 6, k.sigma, k.cutoff))


def test_model_heatmap_bad_input():
    with pytest.raises(ValueError, match="relevance"):
        cmp.model_heatmaps(np.zeros((4, 4)), 1, 1.0)
    with pytest.raises(ValueError, match="n:"):
        cmp.model_heatmaps(np.zeros((1, 4, 4)), 17, 1.0)


def test_random_heatmaps_have_n_peaks_and_are_seeded():
    # sigma tiny: each map is 1 at exactly n distinct pixels and ~0 elsewhere
    a = cmp.random_heatmaps(4, (10, 12), 5, 0.05, seed=1)
    assert a.shape == (4, 10, 12)
    assert ((a > 0.5).sum(axis=(1, 2)) == 5).all()
    np.testing.assert_array_equal(a, cmp.random_heatmaps(4, (10, 12), 5, 0.05, seed=1))
    assert not np.array_equal(a, cmp.random_heatmaps(4, (10, 12), 5, 0.05, seed=2))
    with pytest.raises(ValueError, match="n_images"):
        cmp.random_heatmaps(-1, (10, 12), 5, 1.0)


def test_leave_one_out_by_hand():
    m = np.arange(3 * 2 * 2 * 2, dtype=float).reshape(3, 2, 2, 2)
    got = cmp.leave_one_out(m)
    np.testing.assert_allclose(got[0], m[1] + m[2])
    np.testing.assert_allclose(got[2], m[0] + m[1])
    with pytest.raises(ValueError, match="A >= 2"):
        cmp.leave_one_out(m[:1])


# --- fixation maps and annotator pairs --------------------------------------------------------


def test_study_fixation_maps_by_hand():
    # 10x10 image on a 100x100 screen at 50 px: origin (25, 25), 5 screen px per image pixel.
    class Geo:
        display_px = 50
        screen = (100, 100)

    fx = pd.DataFrame({"annotator": [0, 0, 1, 1], "image_index": [0, 1, 1, 1],
                       # (27.5, 27.5) -> pixel (0, 0); (72.4, 47.5) -> col 9, row 4; off screen image
                       "x_screen": [27.5, 72.4, 52.5, 5.0], "y_screen": [27.5, 47.5, 32.5, 5.0]})
    ids, maps = cmp.study_fixation_maps(fx, 2, (10, 10), Geo())
    assert list(ids) == [0, 1] and maps.shape == (2, 2, 10, 10)
    assert maps[0, 0, 0, 0] and maps[0, 0].sum() == 1
    assert maps[0, 1, 4, 9] and maps[0, 1].sum() == 1
    assert maps[1, 1, 1, 5] and maps[1, 1].sum() == 1  # the off-image fixation is dropped
    assert maps[1, 0].sum() == 0


def test_study_fixation_maps_bad_input():
    with pytest.raises(ValueError, match="x_screen"):
        cmp.study_fixation_maps(pd.DataFrame({"annotator": [0], "image_index": [0]}), 1, (4, 4))
    fx = pd.DataFrame({"annotator": [0], "image_index": [3], "x_screen": [1280.0], "y_screen": [720.0]})
    with pytest.raises(ValueError, match="image_index"):
        cmp.study_fixation_maps(fx, 2, (4, 4))


def test_pairwise_annotators_matches_metrics_directly():
    rng = np.random.default_rng(0)
    hm = rng.random((3, 4, 6, 6))
    valid = np.ones((3, 4), bool)
    valid[2, 1] = False
    df = cmp.pairwise_annotators(hm, ["a", "b", "c"], valid=valid)
    assert sorted(df.annotator.unique()) == ["a vs b", "a vs c", "b vs c"]
    # a vs c skips image 1 (c has no data), a vs b keeps it
    assert 1 not in set(df[df.annotator == "a vs c"].image_index)
    assert 1 in set(df[df.annotator == "a vs b"].image_index)
    v = df[(df.annotator == "b vs c") & (df.image_index == 3) & (df.metric == "spearman")].value.item()
    assert v == pytest.approx(metrics.spearman(hm[1, 3], hm[2, 3]))
    with pytest.raises(ValueError, match="at least 2"):
        cmp.pairwise_annotators(hm[:1])


# --- fixation detection -----------------------------------------------------------------------


def test_dispersion_threshold_two_samples_against_integral():
    # n = 2: D = |U| + |V| with U, V ~ N(0, 2 s^2), s = per-axis sd. P(D <= d) by numerical
    # integration of the half-normal densities; the Monte Carlo quantile must agree.
    from scipy import integrate, optimize, stats

    jitter, ppd = 0.3, 50.0
    s = jitter / math.sqrt(2) * ppd
    half = stats.halfnorm(scale=math.sqrt(2) * s)

    def cdf(d):
        return integrate.quad(lambda u: half.pdf(u) * half.cdf(d - u), 0, d)[0]

    exact = optimize.brentq(lambda d: cdf(d) - 0.9, 1e-6, 20 * s)
    got = cmp.dispersion_threshold_px(jitter, ppd, 2, quantile=0.9, n_sim=200000, seed=1)
    assert got == pytest.approx(exact, rel=0.01)


def test_dispersion_threshold_scales_and_grows_with_window():
    a = cmp.dispersion_threshold_px(0.3, 50.0, 10)
    assert cmp.dispersion_threshold_px(0.6, 50.0, 10) == pytest.approx(2 * a, rel=1e-12)
    assert cmp.dispersion_threshold_px(0.3, 100.0, 10) == pytest.approx(2 * a, rel=1e-12)
    assert cmp.dispersion_threshold_px(0.3, 50.0, 30) > a
    for kw, name in [({"n_samples": 1}, "n_samples"), ({"quantile": 1.0}, "quantile"), ({"jitter_deg": -1}, "jitter_deg")]:
        args = {"jitter_deg": 0.3, "px_per_degree": 50.0, "n_samples": 10, **kw}
        with pytest.raises(ValueError, match=name):
            cmp.dispersion_threshold_px(**args)


def _brute_force(det, tru, lim):
    """Best matching by enumeration: most pairs within lim, then least total distance."""
    best = (0, 0.0)
    small, big, swap = (det, tru, False) if len(det) <= len(tru) else (tru, det, True)
    for perm in itertools.permutations(range(len(big)), len(small)):
        d = [math.dist(small[i], big[j]) for i, j in enumerate(perm)]
        ok = [x for x in d if x <= lim]
        key = (len(ok), -sum(ok))
        if key > (best[0], -best[1]):
            best = (len(ok), sum(ok))
    return best


def test_match_fixations_against_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(30):
        det = rng.uniform(0, 10, (rng.integers(0, 5), 2))
        tru = rng.uniform(0, 10, (rng.integers(0, 5), 2))
        pairs, dist = cmp.match_fixations(det, tru, 3.0)
        n, total = _brute_force(det, tru, 3.0)
        assert len(pairs) == n
        assert dist.sum() == pytest.approx(total, abs=1e-9)
        assert len(set(pairs[:, 0])) == len(pairs) and len(set(pairs[:, 1])) == len(pairs)
        assert (dist <= 3.0).all()


def test_match_fixations_by_hand_and_bad_input():
    det = np.array([[0.0, 0.0], [10.0, 0.0]])
    tru = np.array([[9.0, 0.0], [1.0, 0.0], [50.0, 50.0]])
    pairs, dist = cmp.match_fixations(det, tru, 2.0)
    np.testing.assert_array_equal(pairs, [[1, 0], [0, 1]])
    np.testing.assert_allclose(dist, [1.0, 1.0])
    with pytest.raises(ValueError, match="detected"):
        cmp.match_fixations(np.zeros((2, 3)), tru, 1.0)
    with pytest.raises(ValueError, match="max_distance"):
        cmp.match_fixations(det, tru, -1.0)


def test_detection_table_on_a_clean_trace():
    # two 300 ms fixations at 60 Hz, 200 px apart, no noise: I-DT finds both exactly
    t = np.arange(0, 600, 1000 / 60)
    x = np.where(t < 300, 100.0, 300.0)
    y = np.full_like(t, 50.0)
    samples = pd.DataFrame({"annotator": 0, "image_index": 0, "t_ms": t, "x_screen": x, "y_screen": y})
    fixations = pd.DataFrame({"annotator": [0, 0, 0], "image_index": [0, 0, 0],
                              "x_screen": [100.0, 300.0, 700.0], "y_screen": [50.0, 50.0, 50.0]})
    d = cmp.detection_table(samples, fixations, dispersion_px=10.0)
    assert d.to_dict("records") == [{"annotator": 0, "image_index": 0, "n_true": 3, "n_detected": 2,
                                     "n_matched": 2, "mean_distance_px": 0.0}]
    with pytest.raises(ValueError, match="t_ms"):
        cmp.detection_table(samples.drop(columns="t_ms"), fixations, 10.0)


# --- masks and tables -------------------------------------------------------------------------


def test_random_masks_like_keeps_counts():
    rng = np.random.default_rng(0)
    m = rng.random((6, 8, 9)) < rng.random((6, 1, 1))
    r = masking.random_masks_like(m, seed=4)
    assert r.dtype == bool and r.shape == m.shape
    np.testing.assert_array_equal(r.sum(axis=(1, 2)), m.sum(axis=(1, 2)))
    np.testing.assert_array_equal(r, masking.random_masks_like(m, seed=4))
    with pytest.raises(ValueError, match="bool"):
        masking.random_masks_like(m.astype(int))


def test_random_masks_like_precision_is_region_share():
    # the expected precision of a random mask is the share of region pixels in the image
    regions = np.zeros((400, 10, 10), bool)
    regions[:, :3, :] = True  # 30 %
    m = np.zeros((400, 10, 10), bool)
    m[:, :, :5] = True  # keep 50 pixels
    st = masking.mask_stats(masking.random_masks_like(m, seed=0), regions)
    assert st.precision.mean() == pytest.approx(0.3, abs=0.01)
    assert st.recall.mean() == pytest.approx(0.5, abs=0.01)


def test_relevance_concentration_by_hand():
    # 2x5 map: values 0..9, mean 4.5 -> 5 pixels >= mean; median 4.5 -> ratio 1;
    # top 20 % = the 2 largest (8 + 9) of a sum of 45
    a = np.arange(10, dtype=float).reshape(1, 2, 5)
    # a skewed map: one pixel of 91, nine of 1 -> mean 10, median 1, top 10 % holds 91 %
    b = np.ones((1, 2, 5))
    b[0, 0, 0] = 91.0
    got = cmp.relevance_concentration(np.concatenate([a, b]), top=0.2)
    np.testing.assert_allclose(got.share_above_mean, [0.5, 0.1])
    np.testing.assert_allclose(got.median_over_mean, [1.0, 0.1])
    np.testing.assert_allclose(got.top_share, [17 / 45, 92 / 100])
    # mask_mean keeps exactly the share_above_mean
    rng = np.random.default_rng(0)
    r = rng.gamma(0.3, size=(4, 7, 6))
    np.testing.assert_allclose(cmp.relevance_concentration(r).share_above_mean, masking.mean_mask(r).mean(axis=(1, 2)))
    with pytest.raises(ValueError, match="top"):
        cmp.relevance_concentration(a, top=0)
    assert np.isnan(cmp.relevance_concentration(-np.ones((1, 2, 2))).median_over_mean[0])
