"""The three masks, ROAR masks, statistics, apply_mask and the cached resumable builder."""

import numpy as np
import pytest

from rbdm_core import gaze, masking
from rbdm_core.artifacts import Store, param_key


def _stable_reference(rel, k):
    """Second method for 'remove the k most relevant': a stable sort of -relevance."""
    n = len(rel)
    flat = rel.reshape(n, -1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    keep = np.ones_like(flat, dtype=bool)
    np.put_along_axis(keep, order, False, axis=1)
    return keep.reshape(rel.shape)


# --- negative / top fraction ------------------------------------------------------------------


def test_negative_mask_by_hand():
    # 10 pixels, fraction 0.3 -> 3 removed: the 9 at index 2, the 9 at index 4, the 7 at index 7
    rel = np.array([[5, 1, 9, 3, 9], [0, 2, 7, 4, 6]], dtype=float)
    expected = np.array([[1, 1, 0, 1, 0], [1, 1, 0, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(masking.negative_mask(rel, 0.3), expected)


def test_negative_mask_ties_by_index():
    # k = 3: the 3 at index 0, then the first two of the tied 2s (index 1 and 2)
    rel = np.array([[3, 2, 2, 2, 2], [0, 0, 0, 0, 0]], dtype=float)
    expected = np.array([[0, 0, 0, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(masking.negative_mask(rel, 0.3), expected)


def test_negative_mask_count_uses_round_half_even():
    # 0.25 * 10 = 2.5 -> round() = 2 pixels removed
    rel = np.arange(10, dtype=float).reshape(2, 5)
    assert (~masking.negative_mask(rel, 0.25)).sum() == 2


def test_negative_mask_matches_stable_sort_with_many_ties():
    rel = np.random.default_rng(1).integers(0, 4, size=(40, 6, 7)).astype(np.float32)
    k = round(0.1 * 42)
    np.testing.assert_array_equal(masking.negative_mask(rel, 0.1), _stable_reference(rel, k))


def test_top_fraction_is_complement_of_negative():
    rel = np.random.default_rng(2).normal(size=(5, 8, 8))
    np.testing.assert_array_equal(masking.top_fraction_mask(rel, 0.2), ~masking.negative_mask(rel, 0.2))
    assert (masking.top_fraction_mask(rel, 0.2).sum(axis=(1, 2)) == round(0.2 * 64)).all()


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan")])
def test_fraction_outside_open_interval_raises(fraction):
    with pytest.raises(ValueError, match="fraction"):
        masking.negative_mask(np.ones((1, 3, 3)), fraction)


def test_random_fraction_mask():
    m = masking.random_fraction_mask((4000, 6, 5), 0.3, seed=7)
    assert m.shape == (4000, 6, 5) and (m.sum(axis=(1, 2)) == 9).all()
    np.testing.assert_array_equal(m, masking.random_fraction_mask((4000, 6, 5), 0.3, seed=7))
    assert not np.array_equal(m, masking.random_fraction_mask((4000, 6, 5), 0.3, seed=8))
    # every pixel kept with probability 0.3: binomial sd sqrt(.3 * .7 / 4000) = 0.0072
    assert np.abs(m.mean(axis=0) - 0.3).max() < 5 * 0.0073
    # chunks with `start` reproduce one call
    parts = [masking.random_fraction_mask((1000, 6, 5), 0.3, seed=7, start=s) for s in range(0, 4000, 1000)]
    np.testing.assert_array_equal(np.concatenate(parts), m)


# --- mean -------------------------------------------------------------------------------------


def test_mean_mask_by_hand():
    rel = np.array([[[1, 2], [3, 10]], [[1, 2], [3, 4]]], dtype=float)
    # means 4 and 2.5: image 0 keeps only the 10, image 1 keeps 3 and 4
    expected = np.array([[[0, 0], [0, 1]], [[0, 0], [1, 1]]], dtype=bool)
    np.testing.assert_array_equal(masking.mean_mask(rel), expected)


def test_mean_mask_keeps_pixels_equal_to_the_mean():
    rel = np.array([[0.0, 1.0, 2.0]])  # mean 1: removed only the 0
    np.testing.assert_array_equal(masking.mean_mask(rel), [[False, True, True]])


def test_mean_mask_constant_map_raises_naming_image():
    rel = np.random.default_rng(0).random((3, 4, 4))
    rel[1] = 0.25
    with pytest.raises(ValueError, match="image 1 is constant.*undefined"):
        masking.mean_mask(rel)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_relevance_raises_naming_image(bad):
    rel = np.random.default_rng(0).random((3, 4, 4))
    rel[2, 1, 1] = bad
    for fn in (masking.mean_mask, masking.negative_mask, lambda r: masking.top_fraction_mask(r, 0.5)):
        with pytest.raises(ValueError, match="image 2 has 1 NaN or infinite"):
            fn(rel)
    with pytest.raises(ValueError, match="image 2"):
        masking.perceptive_mask(rel, 2, 1.0, 2.0)


def test_bad_relevance_shape_raises():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        masking.negative_mask(np.ones(5))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        masking.mean_mask(np.ones((2, 3, 4, 1)))


# --- perceptive -------------------------------------------------------------------------------


def test_perceptive_mask_single_fixation_by_hand():
    rel = np.zeros((5, 5))
    rel[2, 2] = 1.0
    # cutoff 1: the centre and its 4 neighbours (d = 1 is on the cut-off)
    plus = np.zeros((5, 5), bool)
    plus[2, 1:4] = plus[1:4, 2] = True
    np.testing.assert_array_equal(masking.perceptive_mask(rel, 1, 1.0, 1.0), plus)
    # cutoff 1.5: the 3x3 block (corners at d = sqrt 2 <= 1.5)
    block = np.zeros((5, 5), bool)
    block[1:4, 1:4] = True
    np.testing.assert_array_equal(masking.perceptive_mask(rel, 1, 1.0, 1.5), block)


@pytest.mark.parametrize("n,sigma,cutoff", [(5, 1.78, 5.24), (12, 1.0, 2.5), (3, 0.5, 8.0), (1, 1.0, 3.0)])
def test_perceptive_mask_equals_heatmap_nonzero(n, sigma, cutoff):
    rel = np.random.default_rng(4).normal(size=(30, 20, 24))
    got = masking.perceptive_mask(rel, n, sigma, cutoff)
    for i, fix in enumerate(masking.pseudo_fixations(rel, n)):
        # the n fixations are the n largest values
        vals = rel[i][fix[:, 1].astype(int), fix[:, 0].astype(int)]
        assert vals.min() >= np.sort(rel[i].ravel())[-n]
        np.testing.assert_array_equal(got[i], gaze.heatmap(fix, (20, 24), sigma, cutoff) > 0)


def test_perceptive_mask_is_the_disc_even_where_the_gaussian_underflows():
    # cutoff 60 sigma: exp(-d^2 / 2 sigma^2) underflows beyond ~38 sigma, the disc does not
    rel = np.zeros((1, 41, 41))
    rel[0, 20, 20] = 1.0
    got = masking.perceptive_mask(rel, 1, 0.25, 15.0)[0]
    rows, cols = np.mgrid[0:41, 0:41]
    np.testing.assert_array_equal(got, (rows - 20) ** 2 + (cols - 20) ** 2 <= 225)


def test_perceptive_mask_bad_n_and_cutoff():
    rel = np.random.default_rng(0).random((2, 3, 3))
    with pytest.raises(ValueError, match="only 3x3 = 9 pixels"):
        masking.perceptive_mask(rel, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="n: expected an int >= 1"):
        masking.perceptive_mask(rel, 0, 1.0, 1.0)
    with pytest.raises(ValueError, match="cutoff"):
        masking.perceptive_mask(rel, 2, 1.0, None)
    with pytest.raises(ValueError, match="sigma"):
        masking.perceptive_mask(rel, 2, -1.0, 1.0)


# --- statistics and application ---------------------------------------------------------------


def test_mask_stats_by_hand():
    masks = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]], dtype=bool)
    regions = np.array([[[1, 0], [1, 0]], [[1, 0], [0, 0]]], dtype=bool)
    df = masking.mask_stats(masks, regions)
    # image 0: kept 2/4; |kept & regions| = 1 -> precision 1/2, recall 1/2
    # image 1: nothing kept -> precision undefined (NaN), recall 0/1
    np.testing.assert_allclose(df["kept_fraction"], [0.5, 0.0])
    np.testing.assert_allclose(df["precision"], [0.5, np.nan])
    np.testing.assert_allclose(df["recall"], [0.5, 0.0])
    assert "precision" not in masking.mask_stats(masks).columns
    with pytest.raises(ValueError, match="regions"):
        masking.mask_stats(masks, regions[:1])


def test_apply_mask():
    img = np.arange(2 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 2, 3)
    m = np.array([[[1, 0], [1, 1]], [[0, 0], [0, 1]]], dtype=bool)
    out = masking.apply_mask(img, m, fill=(7, 8, 9))
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(out[0, 0, 1], [7, 8, 9])
    np.testing.assert_array_equal(out[0, 1, 1], img[0, 1, 1])
    assert (out[~m] == [7, 8, 9]).all() and (out[m] == img[m]).all()
    assert (masking.apply_mask(img, m)[~m] == 0).all()


def test_apply_mask_bad_input():
    img = np.zeros((2, 4, 4, 1), np.uint8)
    with pytest.raises(ValueError, match=r"masks: expected shape \(2, 4, 4\)"):
        masking.apply_mask(img, np.ones((2, 4, 5), bool))
    with pytest.raises(ValueError, match="uint8"):
        masking.apply_mask(img.astype(np.float32), np.ones((2, 4, 4), bool))
    with pytest.raises(ValueError, match="bool"):
        masking.apply_mask(img, np.ones((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="fill"):
        masking.apply_mask(img, np.ones((2, 4, 4), bool), fill=300)


# --- cached, resumable builder ----------------------------------------------------------------


class _Stop(Exception):
    pass


def test_build_masks_resumes_after_interruption(tmp_path):
    rel = np.random.default_rng(5).normal(size=(23, 6, 6))
    calls = []

    def source(a, b):
        calls.append((a, b))
        return rel[a:b]

    def stop_after_chunk_1(i, n):
        if i == 1:
            raise _Stop

    store = Store(tmp_path / "a")
    key = {"trainer": "t0", "method": "deep_taylor"}
    with pytest.raises(_Stop):
        masking.build_masks(store, key, source, "negative", chunk=5, n_images=23, fraction=0.2,
                            on_chunk=stop_after_chunk_1, progress=False)
    assert calls == [(0, 5), (5, 10)]
    calls.clear()
    resumed = masking.build_masks(store, key, source, "negative", chunk=5, n_images=23, fraction=0.2, progress=False)
    assert calls == [(10, 15), (15, 20), (20, 23)]  # only the missing chunks
    full = masking.build_masks(Store(tmp_path / "b"), key, rel, "negative", chunk=5, fraction=0.2, progress=False)
    np.testing.assert_array_equal(resumed, full)
    np.testing.assert_array_equal(resumed, masking.negative_mask(rel, 0.2))
    d = store.dir("masks", {**key, "mask_type": "negative", "chunk": 5, "n_images": 23, "fraction": 0.2})
    assert (d / "done").exists()
    assert sorted(p.name for p in d.glob("masks_*.npy")) == [f"masks_{i:05d}.npy" for i in range(5)]
    assert not list(d.glob(".*tmp"))
    # a finished build reads its files and calls nothing
    calls.clear()
    again = masking.build_masks(store, key, source, "negative", chunk=5, n_images=23, fraction=0.2, progress=False)
    assert calls == [] and np.array_equal(again, full)


def test_build_masks_changed_parameter_gets_another_directory(tmp_path):
    rel = np.random.default_rng(6).normal(size=(8, 5, 5))
    store = Store(tmp_path)
    key = {"trainer": "t0"}
    a = masking.build_masks(store, key, rel, "negative", chunk=4, fraction=0.1, progress=False)
    b = masking.build_masks(store, key, rel, "negative", chunk=4, fraction=0.3, progress=False)
    dirs = sorted(p.name for p in (tmp_path / "masks").iterdir())
    assert len(dirs) == 2
    base = {**key, "mask_type": "negative", "chunk": 4, "n_images": 8}
    assert set(dirs) == {param_key({**base, "fraction": 0.1}), param_key({**base, "fraction": 0.3})}
    assert (~a).sum() == 8 * round(0.1 * 25) and (~b).sum() == 8 * round(0.3 * 25)


@pytest.mark.parametrize(
    "mask_type,params",
    [("mean", {}), ("perceptive", {"n": 3, "sigma": 1.0, "cutoff": 1.5}),
     ("top_fraction", {"fraction": 0.4}), ("random_fraction", {"fraction": 0.4, "seed": 3})],
)
def test_build_masks_each_type_matches_direct_call(tmp_path, mask_type, params):
    rel = np.random.default_rng(7).normal(size=(9, 6, 6))
    got = masking.build_masks(Store(tmp_path), {"k": 1}, rel, mask_type, chunk=4, progress=False, **params)
    direct = {
        "mean": lambda: masking.mean_mask(rel),
        "perceptive": lambda: masking.perceptive_mask(rel, 3, 1.0, 1.5),
        "top_fraction": lambda: masking.top_fraction_mask(rel, 0.4),
        "random_fraction": lambda: masking.random_fraction_mask(rel.shape, 0.4, seed=3),
    }[mask_type]()
    np.testing.assert_array_equal(got, direct)


def test_build_masks_bad_parameters_write_nothing(tmp_path):
    rel = np.zeros((4, 3, 3))
    store = Store(tmp_path)
    with pytest.raises(ValueError, match="fraction"):
        masking.build_masks(store, {}, rel, "negative", fraction=1.5)
    with pytest.raises(ValueError, match="mask_type"):
        masking.build_masks(store, {}, rel, "blur")
    with pytest.raises(ValueError, match="unexpected parameter"):
        masking.build_masks(store, {}, rel, "mean", fraction=0.1)
    with pytest.raises(ValueError, match="needs n_images"):
        masking.build_masks(store, {}, lambda a, b: rel[a:b], "mean")
    assert not (tmp_path / "masks").exists()
    # a constant map is reported with its chunk and image
    with pytest.raises(ValueError, match=r"chunk 0 \(images 0\.\.3\).*image 0 is constant"):
        masking.build_masks(store, {}, rel, "mean", progress=False)


# --- random masks of the same size ------------------------------------------------------------


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
