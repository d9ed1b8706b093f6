"""ROAR: its removal masks (rbdm_core.masking.roar_masks) and its training loop (rbdm_core.roar)."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import masking
from rbdm_core import roar as roar_mod


def test_roar_masks_relevance_removes_top_pixels():
    r = np.arange(9, dtype=float).reshape(1, 3, 3)  # 8 is the most relevant
    m = masking.roar_masks(r, 1 / 3, "relevance")  # round(3) = 3 pixels removed: values 6, 7, 8
    np.testing.assert_array_equal(m[0], [[1, 1, 1], [1, 1, 1], [0, 0, 0]])


def test_roar_masks_random_count_and_determinism():
    r = np.zeros((4, 10, 10))
    m = masking.roar_masks(r, 0.3, "random", seed=1)
    assert ((~m).sum(axis=(1, 2)) == 30).all()  # exactly round(0.3 * 100) removed per image
    np.testing.assert_array_equal(m, masking.roar_masks(r, 0.3, "random", seed=1))
    assert not np.array_equal(m, masking.roar_masks(r, 0.3, "random", seed=2))
    # start offsets the image index: images 2..3 of one batch = a batch starting at 2
    np.testing.assert_array_equal(m[2:], masking.roar_masks(r[:2], 0.3, "random", seed=1, start=2))


def test_roar_masks_errors():
    with pytest.raises(ValueError, match="removal"):
        masking.roar_masks(np.zeros((1, 3, 3)), 0.1, "gradient")
    with pytest.raises(ValueError, match="fraction"):
        masking.roar_masks(np.zeros((1, 3, 3)), 1.5, "relevance")


def test_roar_rejects_bad_input():
    from rbdm_core.data.dataset import Dataset
    from rbdm_core.training import Recipe

    ds = Dataset(np.zeros((4, 8, 8, 1), np.uint8), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="fractions"):
        roar_mod.roar("small_cnn", ds, ds, np.zeros((4, 8, 8)), np.zeros((4, 8, 8)), Recipe(epochs=1), fractions=(0.0,))
    with pytest.raises(ValueError, match="relevance_val"):
        roar_mod.roar("small_cnn", ds, ds, np.zeros((4, 8, 8)), np.zeros((3, 8, 8)), Recipe(epochs=1))


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
    t1 = roar_mod.roar("small_cnn", tr, va, rt, rv, recipe, fractions=(0.5,), store=store)
    assert list(zip(t1.removal, t1.fraction)) == [("none", 0.0), ("relevance", 0.5), ("random", 0.5)]
    np.testing.assert_allclose(t1.kept_fraction, [1.0, 0.5, 0.5])
    assert (t1.steps == 2).all()  # 64 images / batch 32
    assert len(list((tmp_path / "roar").iterdir())) == 3
    t2 = roar_mod.roar("small_cnn", tr, va, rt, rv, recipe, fractions=(0.5,), store=store)
    pd.testing.assert_frame_equal(t1, t2)


@pytest.mark.slow
def test_roar_fill_is_applied_to_train_and_validation_images(tmp_path):
    """roar(..., fill=F) trains on exactly the images apply_mask(..., F) makes (same weights as a
    no-mask run on them, computed here by the training loop directly); the baseline is shared."""
    from dataclasses import replace

    from rbdm_core.data.synthetic import make_domain
    from rbdm_core.masking import apply_mask, roar_masks
    from rbdm_core.training import Recipe, train

    ds = make_domain("ferplus_like", n=96, seed=0)
    tr, va = ds.subset(np.arange(64)), ds.subset(np.arange(64, 96))
    rng = np.random.default_rng(0)
    rt, rv = rng.random(tr.images.shape[:3]), rng.random(va.images.shape[:3])
    recipe = Recipe(epochs=1, augment=False, class_weighted=False, eval_every=2)
    t = roar_mod.roar("small_cnn", tr, va, rt, rv, recipe, fractions=(0.5,), fill="noisy_linear", baseline=False,
                      mask_seed=3)
    mt, mv = roar_masks(rt, 0.5, "relevance", 3), roar_masks(rv, 0.5, "relevance", 3, start=64)
    by_hand = train("small_cnn", replace(tr, images=apply_mask(tr.images, mt, "noisy_linear", seed=3)),
                    replace(va, images=apply_mask(va.images, mv, "noisy_linear", seed=3, start=64)), recipe,
                    "no-mask", seed=0, verbose=0)
    row = t[t.removal == "relevance"].iloc[0]
    assert row.fill == "noisy_linear" and row.final_f1 == by_hand.final_f1 and row.best_f1 == by_hand.best_f1
    with pytest.raises(ValueError, match="unknown fill|expected one of"):
        roar_mod.roar("small_cnn", tr, va, rt, rv, recipe, fill="sparkle")
