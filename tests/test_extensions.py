"""rbdm_core.extensions against hand-computed values (small arrays; one tiny ROAR run is slow)."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import extensions as ext
from rbdm_core.curves import curves_frame


# --------------------------------------------------------------------------- helpers
def _curves(runs):
    """runs: {(variant, seed): [(step, f1), ...]} -> a curve table (validation f1 + loss rows)."""
    rows = []
    for (var, seed), pts in runs.items():
        for step, f1 in pts:
            rows.append([var, seed, step, step / 10, "validation", "f1", f1])
            rows.append([var, seed, step, step / 10, "validation", "loss", 2.0 - f1])
    return curves_frame(rows)


# --------------------------------------------------------------------------- chapter 6
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


# --------------------------------------------------------------------------- chapter 7
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


# --------------------------------------------------------------------------- mask combination
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


# --------------------------------------------------------------------------- human fixations
def test_mask_iou():
    a = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]], bool)
    b = np.array([[[1, 0], [1, 0]], [[0, 0], [0, 0]]], bool)
    iou = ext.mask_iou(a, b)
    assert iou[0] == pytest.approx(1 / 3) and np.isnan(iou[1])
    with pytest.raises(ValueError, match="shapes differ"):
        ext.mask_iou(a, b[:1])


def _fixation_table(points):
    """points: [(annotator, image, col, row)] in image pixels -> screen fixation table."""
    from rbdm_core.gaze import image_to_screen

    xy = image_to_screen(np.array([[c, r] for _, _, c, r in points], float), (5, 5))
    return pd.DataFrame({"annotator": [p[0] for p in points], "image_index": [p[1] for p in points],
                         "x_screen": xy[:, 0], "y_screen": xy[:, 1]})


def test_human_masks_disc_by_hand():
    # one fixation at the centre pixel (col 2, row 2) of a 5x5 image, cut-off 1 pixel:
    # the kept pixels are the centre and its four neighbours (distance <= 1)
    fx = _fixation_table([(0, 0, 2, 2), (1, 0, 0, 0)])
    hm = ext.human_masks(fx, 2, (5, 5), sigma=1.0, cutoff=1.0)
    plus = np.zeros((5, 5), bool)
    plus[2, 1:4] = True
    plus[1:4, 2] = True
    np.testing.assert_array_equal(hm.masks[0, 0], plus)
    corner = np.zeros((5, 5), bool)
    corner[0, :2] = corner[1, 0] = True
    np.testing.assert_array_equal(hm.masks[1, 0], corner)
    assert not hm.masks[:, 1].any()  # image 1 was never looked at
    np.testing.assert_array_equal(hm.n_fixations, [[1, 0], [1, 0]])
    with pytest.raises(ValueError, match="cutoff"):
        ext.human_masks(fx, 2, (5, 5), sigma=1.0, cutoff=None)


def test_human_vs_model_by_hand():
    fx = _fixation_table([(0, 0, 2, 2)])
    hm = ext.human_masks(fx, 2, (5, 5), sigma=1.0, cutoff=1.0)  # plus shape, 5 pixels, image 0 only
    model = np.zeros((2, 5, 5), bool)
    model[0, 2, :] = True  # the middle row: 5 pixels, 3 shared with the plus -> IoU 3 / 7
    regions = np.zeros((2, 5, 5), bool)
    regions[0, 2, 2] = True
    t = ext.human_vs_model(hm, model, regions)
    assert len(t) == 1 and t.image_index.iloc[0] == 0  # image 1 has no fixation
    assert t.iou.iloc[0] == pytest.approx(3 / 7)
    assert t.precision_human.iloc[0] == pytest.approx(1 / 5) and t.precision_model.iloc[0] == pytest.approx(1 / 5)
    assert t.kept_human.iloc[0] == pytest.approx(5 / 25)
    with pytest.raises(ValueError, match="model_masks"):
        ext.human_vs_model(hm, model[:1], regions)


# --------------------------------------------------------------------------- ROAR
def test_roar_masks_relevance_removes_top_pixels():
    r = np.arange(9, dtype=float).reshape(1, 3, 3)  # 8 is the most relevant
    m = ext.roar_masks(r, 1 / 3, "relevance")  # round(3) = 3 pixels removed: values 6, 7, 8
    np.testing.assert_array_equal(m[0], [[1, 1, 1], [1, 1, 1], [0, 0, 0]])


def test_roar_masks_random_count_and_determinism():
    r = np.zeros((4, 10, 10))
    m = ext.roar_masks(r, 0.3, "random", seed=1)
    assert ((~m).sum(axis=(1, 2)) == 30).all()  # exactly round(0.3 * 100) removed per image
    np.testing.assert_array_equal(m, ext.roar_masks(r, 0.3, "random", seed=1))
    assert not np.array_equal(m, ext.roar_masks(r, 0.3, "random", seed=2))
    # start offsets the image index: images 2..3 of one batch = a batch starting at 2
    np.testing.assert_array_equal(m[2:], ext.roar_masks(r[:2], 0.3, "random", seed=1, start=2))


def test_roar_masks_errors():
    with pytest.raises(ValueError, match="removal"):
        ext.roar_masks(np.zeros((1, 3, 3)), 0.1, "gradient")
    with pytest.raises(ValueError, match="fraction"):
        ext.roar_masks(np.zeros((1, 3, 3)), 1.5, "relevance")


def test_roar_rejects_bad_input():
    from rbdm_core.data.dataset import Dataset
    from rbdm_core.training import Recipe

    ds = Dataset(np.zeros((4, 8, 8, 1), np.uint8), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="fractions"):
        ext.roar("small_cnn", ds, ds, np.zeros((4, 8, 8)), np.zeros((4, 8, 8)), Recipe(epochs=1), fractions=(0.0,))
    with pytest.raises(ValueError, match="relevance_val"):
        ext.roar("small_cnn", ds, ds, np.zeros((4, 8, 8)), np.zeros((3, 8, 8)), Recipe(epochs=1))


@pytest.mark.slow
def test_roar_tiny_run_and_cache(tmp_path):
    """A tiny ROAR run: one row per (removal, fraction) plus the baseline, the kept fraction as
    asked, and a second call answered from the cache with identical numbers."""
    from rbdm_core.artifacts import Store
    from rbdm_core.data.synthetic import make_domain
    from rbdm_core.training import Recipe

    ds = make_domain("ferplus_like", n=96, seed=0)
    tr, va = ds.subset(np.arange(64)), ds.subset(np.arange(64, 96))
    rng = np.random.default_rng(0)
    rt, rv = rng.random(tr.images.shape[:3]), rng.random(va.images.shape[:3])
    recipe = Recipe(epochs=1, augment=False, class_weighted=False, eval_every=2)
    store = Store(tmp_path)
    t1 = ext.roar("small_cnn", tr, va, rt, rv, recipe, fractions=(0.5,), store=store)
    assert list(zip(t1.removal, t1.fraction)) == [("none", 0.0), ("relevance", 0.5), ("random", 0.5)]
    np.testing.assert_allclose(t1.kept_fraction, [1.0, 0.5, 0.5])
    assert (t1.steps == 2).all()  # 64 images / batch 32
    assert len(list((tmp_path / "roar").iterdir())) == 3
    t2 = ext.roar("small_cnn", tr, va, rt, rv, recipe, fractions=(0.5,), store=store)
    pd.testing.assert_frame_equal(t1, t2)


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


def test_value_at_and_early_f1():
    c = _curves({("no-mask", 0): [(0, 0.1), (10, 0.3), (20, 0.5)],
                 ("mean", 0): [(0, 0.1), (15, 0.6), (20, 0.6)]})
    v = ext.value_at(c, 12).set_index("variant").value
    assert v["no-mask"] == 0.3 and v["mean"] == 0.1  # last evaluation at or before step 12
    assert np.isnan(ext.value_at(c, -1).value).all()
    s = ext.trainee_summary(c, early_step=15)
    t = s.table.set_index("variant")
    assert t.loc["mean", "early_f1_mean"] == 0.6 and t.loc["no-mask", "early_f1_mean"] == 0.3


