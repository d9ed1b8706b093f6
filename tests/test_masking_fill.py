"""apply_mask's fills (masking.fills, masking.linear_imputation): hand-worked neighbour equations,
kept pixels untouched, seeded noise, the errors, and the leak a constant fill lets through."""

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import spsolve

from rbdm_core import masking

D, G = 1 / 6, 1 / 12  # ROAD's weights: direct and diagonal neighbours


def _gray(rows):
    """(1, H, W, 1) uint8 image from nested lists."""
    return np.asarray(rows, np.uint8)[None, :, :, None]


def _exact(img, kept):
    """noisy_linear without noise, as float64 and as apply_mask's uint8."""
    f = masking.noisy_linear_fill(img.astype(float), kept, 0.0, seed=0)
    u = masking.apply_mask(img, kept, "noisy_linear", noise_sd=0)
    return f, u


# --- noisy_linear with noise 0, by hand ---------------------------------------------------------


def test_centre_pixel_is_the_weighted_mean_of_its_8_neighbours():
    img = _gray([[0, 20, 30], [40, 99, 100], [90, 200, 255]])
    kept = np.ones((1, 3, 3), bool)
    kept[0, 1, 1] = False
    direct = 20 + 40 + 100 + 200  # up, left, right, down
    diagonal = 0 + 30 + 90 + 255
    expected = (direct * D + diagonal * G) / (4 * D + 4 * G)  # = 60 + 31.25 = 91.25
    assert expected == 91.25
    f, u = _exact(img, kept)
    assert f[0, 1, 1, 0] == pytest.approx(91.25, abs=1e-12)
    assert u[0, 1, 1, 0] == 91
    np.testing.assert_array_equal(u[kept], img[kept])


def test_corner_pixel_uses_its_3_neighbours_renormalised():
    img = _gray([[77, 10, 5], [50, 200, 5], [5, 5, 5]])
    kept = np.ones((1, 3, 3), bool)
    kept[0, 0, 0] = False
    # right (10) and below (50) weigh 1/6, the diagonal (200) 1/12; the weights sum to 5/12
    expected = (10 * D + 50 * D + 200 * G) / (2 * D + G)
    assert expected == pytest.approx((2 * 10 + 2 * 50 + 200) / 5) and expected == pytest.approx(64.0)
    f, u = _exact(img, kept)
    assert f[0, 0, 0, 0] == pytest.approx(64.0, abs=1e-12)
    assert u[0, 0, 0, 0] == 64


def test_edge_pixel_uses_its_5_neighbours_renormalised():
    img = _gray([[12, 0, 36], [30, 60, 90], [1, 2, 3]])
    kept = np.ones((1, 3, 3), bool)
    kept[0, 0, 1] = False
    # left 12, right 36, below 60 (1/6 each); diagonals 30 and 90 (1/12 each); sum 2/3
    expected = ((12 + 36 + 60) * D + (30 + 90) * G) / (3 * D + 2 * G)
    assert expected == pytest.approx((2 * 108 + 120) / 8) and expected == pytest.approx(42.0)
    f, _ = _exact(img, kept)
    assert f[0, 0, 1, 0] == pytest.approx(42.0, abs=1e-12)


def test_two_adjacent_removed_pixels_solve_a_2x2_system():
    img = _gray([[0, 60, 120, 30], [12, 0, 0, 240], [24, 90, 180, 6]])
    kept = np.ones((1, 3, 4), bool)
    kept[0, 1, 1] = kept[0, 1, 2] = False
    # x = (1, 1), y = (1, 2); both interior (weights sum to 1), each the other's direct neighbour:
    #   x = k1 + y / 6,   y = k2 + x / 6
    k1 = (60 + 12 + 90) * D + (0 + 120 + 24 + 180) * G  # up, left, down; 4 diagonals = 27 + 27
    k2 = (120 + 240 + 180) * D + (60 + 30 + 90 + 6) * G  # up, right, down; 4 diagonals = 90 + 15.5
    assert (k1, k2) == pytest.approx((54.0, 105.5))
    det = 1 - D * D  # Cramer's rule on [[1, -1/6], [-1/6, 1]] (x, y) = (k1, k2)
    x, y = (k1 + D * k2) / det, (k2 + D * k1) / det
    assert (x, y) == pytest.approx((2577 / 35, 4122 / 35))  # 73.63, 117.77
    f, u = _exact(img, kept)
    assert f[0, 1, 1, 0] == pytest.approx(x, abs=1e-12) and f[0, 1, 2, 0] == pytest.approx(y, abs=1e-12)
    assert (u[0, 1, 1, 0], u[0, 1, 2, 0]) == (74, 118)


def test_removed_pixel_with_no_removed_neighbour_in_a_1xw_image():
    # 1 x 3: the middle pixel has only left and right (1/6 each): their plain mean
    img = _gray([[10, 0, 41]])
    kept = np.array([[[True, False, True]]])
    f, _ = _exact(img, kept)
    assert f[0, 0, 1, 0] == pytest.approx(25.5, abs=1e-12)


def _sparse_reference(v, kept):
    """The same equations assembled pixel by pixel into a scipy.sparse matrix, solved by spsolve."""
    h, w, c = v.shape
    rem = [(r, q) for r in range(h) for q in range(w) if not kept[r, q]]
    ix = {p: i for i, p in enumerate(rem)}
    a = sparse.lil_matrix((len(rem), len(rem)))
    b = np.zeros((len(rem), c))
    for (r, q), i in ix.items():
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, qq = r + dr, q + dc
                if (dr, dc) == (0, 0) or not (0 <= rr < h and 0 <= qq < w):
                    continue
                wt = D if dr == 0 or dc == 0 else G
                a[i, i] += wt
                if kept[rr, qq]:
                    b[i] += wt * v[rr, qq]
                else:
                    a[i, ix[(rr, qq)]] -= wt
    out = v.astype(float).copy()
    if rem:
        out[~kept] = spsolve(a.tocsc(), b).reshape(len(rem), c)
    return out


def test_banded_solver_equals_a_sparse_solve_on_random_masks():
    rng = np.random.default_rng(1)
    for _ in range(25):
        h, w = rng.integers(1, 10, 2)
        c, n = rng.choice([1, 3]), rng.integers(1, 5)
        v = rng.random((n, h, w, c)) * 255
        kept = rng.random((n, h, w)) < rng.uniform(0.05, 0.95)
        kept[np.arange(n), rng.integers(h, size=n), rng.integers(w, size=n)] = True  # >= 1 kept
        got = masking.linear_fill(v, kept)
        for i in range(n):
            np.testing.assert_allclose(got[i], _sparse_reference(v[i], kept[i]), rtol=0, atol=1e-9)


def test_colour_channels_are_filled_independently():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (3, 9, 11, 3), dtype=np.uint8)
    kept = rng.random((3, 9, 11)) < 0.5
    kept[:, 0, 0] = True
    for fill, params in (("noisy_linear", {"noise_sd": 0}), ("mean", {}), ("blur", {"sigma": 2.0})):
        colour = masking.apply_mask(img, kept, fill, **params)
        for ch in range(3):
            gray = masking.apply_mask(img[..., ch:ch + 1], kept, fill, **params)
            np.testing.assert_array_equal(colour[..., ch:ch + 1], gray, err_msg=f"{fill} channel {ch}")


# --- every fill: kept pixels, dtype, shape, seeds ---------------------------------------------


FILL_CASES = [("zero", {}), ("mean", {}), ("blur", {}), ("blur", {"sigma": 1.5}), ("noise", {}),
              ("noisy_linear", {}), ("noisy_linear", {"noise_sd": 0.0}), (17, {}), ((1, 2, 3), {})]


@pytest.mark.parametrize("fill,params", FILL_CASES)
def test_kept_pixels_dtype_and_shape(fill, params):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (4, 7, 6, 3), dtype=np.uint8)
    kept = rng.random((4, 7, 6)) < 0.6
    kept[2] = False  # one image with nothing kept
    before = img.copy()
    out = masking.apply_mask(img, kept, fill, seed=5, **params)
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(out[kept], img[kept])
    np.testing.assert_array_equal(img, before)  # the input is not written to


def test_zero_is_the_paper_fill_bit_for_bit():
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)
    kept = rng.random((5, 6, 6)) < 0.5
    default = masking.apply_mask(img, kept)
    np.testing.assert_array_equal(default, masking.apply_mask(img, kept, "zero"))
    np.testing.assert_array_equal(default, masking.apply_mask(img, kept, 0))
    np.testing.assert_array_equal(default, np.where(kept[..., None], img, 0).astype(np.uint8))


@pytest.mark.parametrize("fill", ["noise", "noisy_linear"])
def test_seeded_noise_is_reproducible_and_chunks_equal_one_call(fill):
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (10, 12, 12, 1), dtype=np.uint8)
    kept = rng.random((10, 12, 12)) < 0.5
    a = masking.apply_mask(img, kept, fill, seed=11)
    np.testing.assert_array_equal(a, masking.apply_mask(img, kept, fill, seed=11))
    assert not np.array_equal(a, masking.apply_mask(img, kept, fill, seed=12))
    parts = [masking.apply_mask(img[s:s + 3], kept[s:s + 3], fill, seed=11, start=s) for s in range(0, 10, 3)]
    np.testing.assert_array_equal(np.concatenate(parts), a)


def test_noisy_linear_noise_has_the_stated_sd_and_zero_gives_the_exact_solution():
    rng = np.random.default_rng(6)
    v = rng.integers(0, 256, (20, 24, 24, 1)).astype(float)
    kept = rng.random((20, 24, 24)) < 0.6
    exact = masking.linear_fill(v, kept)
    np.testing.assert_array_equal(masking.noisy_linear_fill(v, kept, 0.0, seed=0), exact)
    noisy = masking.noisy_linear_fill(v, kept, 0.02, seed=0)
    resid = (noisy - exact)[~kept]
    # ~4,600 draws: the sd of the sample sd is ~ 5.1 / sqrt(2 * 4600) = 0.053
    assert resid.std() == pytest.approx(0.02 * 255, abs=0.3) and abs(resid.mean()) < 0.3


# --- mean, noise, blur by hand ----------------------------------------------------------------


def test_mean_fill_by_hand():
    img = np.array([[[[10, 0, 200], [20, 4, 100]], [[30, 8, 0], [255, 255, 255]]]], np.uint8)  # (1, 2, 2, 3)
    kept = np.array([[[True, True], [True, False]]])
    out = masking.apply_mask(img, kept, "mean")
    # channel means over the three kept pixels: (10+20+30)/3, (0+4+8)/3, (200+100+0)/3
    np.testing.assert_array_equal(out[0, 1, 1], [20, 4, 100])


def test_noise_fill_matches_the_kept_moments_per_channel():
    rng = np.random.default_rng(7)
    img = np.stack([rng.normal(m, s, (40, 64, 64)) for m, s in ((60, 5), (128, 20), (200, 10))], axis=-1)
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    kept = rng.random((40, 64, 64)) < 0.5
    out = masking.apply_mask(img, kept, "noise", seed=3)
    for ch, (m, s) in enumerate(((60, 5), (128, 20), (200, 10))):
        filled = out[..., ch][~kept].astype(float)
        assert filled.mean() == pytest.approx(m, abs=0.5) and filled.std() == pytest.approx(s, rel=0.03)


def test_noise_fill_with_one_kept_pixel_repeats_it():
    img = np.full((1, 4, 4, 1), 9, np.uint8)
    img[0, 2, 3, 0] = 201
    kept = np.zeros((1, 4, 4), bool)
    kept[0, 2, 3] = True
    assert (masking.apply_mask(img, kept, "noise") == 201).all()  # sd of one pixel is 0


def test_blur_fill_equals_a_separable_gaussian_with_symmetric_padding():
    rng = np.random.default_rng(8)
    img = rng.integers(0, 256, (2, 30, 26, 1), dtype=np.uint8)
    kept = rng.random((2, 30, 26)) < 0.5
    sigma = 3.0
    r = int(4 * sigma + 0.5)
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma**2))
    k /= k.sum()
    x = np.pad(img[..., 0].astype(float), ((0, 0), (r, r), (r, r)), mode="symmetric")
    rows = sum(k[i] * x[:, i:i + 30, :] for i in range(2 * r + 1))  # along H
    both = sum(k[i] * rows[:, :, i:i + 26] for i in range(2 * r + 1))  # along W
    want = np.where(kept, img[..., 0], np.clip(np.rint(both), 0, 255).astype(np.uint8))
    got = masking.apply_mask(img, kept, "blur", sigma=sigma)[..., 0]
    assert np.abs(got.astype(int) - want).max() <= 1  # rounding at .5 may differ
    assert (got == want).mean() > 0.99


# --- nothing kept, errors ---------------------------------------------------------------------


def test_an_image_with_nothing_kept_gets_mid_grey():
    rng = np.random.default_rng(9)
    img = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    kept = rng.random((3, 8, 8)) < 0.5
    kept[1] = False
    for fill, params in (("mean", {}), ("noise", {}), ("noisy_linear", {"noise_sd": 0})):
        out = masking.apply_mask(img, kept, fill, **params)
        assert (out[1] == 128).all(), fill
    noisy = masking.noisy_linear_fill(img.astype(float), kept, 0.01, seed=0)
    assert np.isfinite(noisy).all() and abs(noisy[1].mean() - 128) < 1.0 and 1.5 < noisy[1].std() < 3.5
    out = masking.apply_mask(np.zeros((2, 5, 5, 1), np.uint8), np.zeros((2, 5, 5), bool), "noisy_linear")
    assert np.abs(out.astype(int) - 128).max() <= 15  # 128 + noise of sd 2.55


def test_unknown_fill_lists_the_fills():
    img = np.zeros((1, 3, 3, 1), np.uint8)
    with pytest.raises(ValueError, match=r"fill: expected one of \['zero', 'mean', 'blur', 'noise', 'noisy_linear'\]"):
        masking.apply_mask(img, np.ones((1, 3, 3), bool), "median")
    assert masking.FILL_NAMES == ("zero", "mean", "blur", "noise", "noisy_linear")


def test_mask_shape_mismatch_names_both_shapes():
    img = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match=r"expected shape \(2, 4, 4\) .*\(2, 4, 4, 3\).*got \(2, 4, 5\)"):
        masking.apply_mask(img, np.ones((2, 4, 5), bool), "noisy_linear")
    with pytest.raises(ValueError, match=r"got \(3, 4, 4\)"):
        masking.apply_mask(img, np.ones((3, 4, 4), bool), "mean")


@pytest.mark.parametrize("kwargs,match", [
    ({"fill": "blur", "sigma": 0}, "sigma"),
    ({"fill": "noisy_linear", "noise_sd": -0.1}, "noise_sd"),
    ({"fill": "noisy_linear", "noise_sd": float("nan")}, "noise_sd"),
    ({"fill": "mean", "sigma": 2}, r"mean fill: unexpected parameter\(s\) \['sigma'\]"),
    ({"fill": 0, "sigma": 2}, "constant fill takes no parameters"),
    ({"fill": "noise", "seed": -1}, "seed"),
    ({"fill": "noise", "seed": 1.5}, "seed"),
    ({"fill": "noise", "start": -3}, "start"),
    ({"fill": 2.5}, "fill"),
])
def test_bad_parameters_name_the_argument(kwargs, match):
    img = np.zeros((1, 3, 3, 1), np.uint8)
    with pytest.raises(ValueError, match=match):
        masking.apply_mask(img, np.ones((1, 3, 3), bool), **kwargs)


# --- the leak ---------------------------------------------------------------------------------


def _leak_data(n=2000, size=16, seed=0):
    """Pure-noise gray images (no class signal) and masks whose position is the class: class 0
    removes a random block in the left half, class 1 one in the right half."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)
    y = np.arange(n) % 2
    kept = np.ones((n, size, size), bool)
    half = size // 2
    for i in range(n):
        bh, bw = rng.integers(4, size + 1), rng.integers(3, half + 1)
        r0, c0 = rng.integers(0, size - bh + 1), rng.integers(0, half - bw + 1) + half * y[i]
        kept[i, r0:r0 + bh, c0:c0 + bw] = False
    return img, kept, y


def _probe_accuracy(x, y, folds=5, ridge=1.0):
    """Cross-validated accuracy of a least-squares linear classifier (ridge, on standardised
    pixels) predicting y in {0, 1} from the flattened images."""
    n = len(x)
    x = x.reshape(n, -1).astype(float)
    fold = np.arange(n) % folds
    right = 0
    for f in range(folds):
        tr, te = fold != f, fold == f
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-9
        a, b = (x[tr] - mu) / sd, (x[te] - mu) / sd
        t = 2.0 * y[tr] - 1
        w = np.linalg.solve(a.T @ a + ridge * len(a) * np.eye(a.shape[1]), a.T @ (t - t.mean()))
        right += int(((b @ w + t.mean() > 0) == (y[te] == 1)).sum())
    return right / n


def test_the_removal_pattern_leaks_with_zero_fill_and_not_with_noisy_linear():
    img, kept, y = _leak_data()
    # chance is 0.5 (balanced classes). Without signal, the accuracy over 2,000 held-out
    # predictions has sd sqrt(0.25 / 2000) = 0.011: 0.58 is 7 sd above chance, and the
    # leak with the zero fill is far larger (measured: ~0.99).
    acc_zero = _probe_accuracy(masking.apply_mask(img, kept, "zero"), y)
    acc_nl = _probe_accuracy(masking.apply_mask(img, kept, "noisy_linear", seed=0), y)
    acc_none = _probe_accuracy(img, y)
    assert acc_zero > 0.9
    assert acc_nl < 0.58
    assert acc_none < 0.58
