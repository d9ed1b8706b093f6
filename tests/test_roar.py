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


# ---------------------------------------------------------------- the fill, the validation ranking, the seeds

def _stub_training(monkeypatch):
    """Replace the training loop by a recorder: (train images, validation images) per run."""
    from types import SimpleNamespace

    seen = []

    def fake(architecture, tr, va, recipe, variant, seed=0, out_dir=None, verbose=0, input_size=None):
        seen.append((tr.images.copy(), va.images.copy()))
        return SimpleNamespace(best_f1=0.5, final_f1=0.4, steps=1)

    monkeypatch.setattr(roar_mod, "train_model", fake)  # roar's own binding of training.train
    return seen


def test_roar_fills_with_noisy_linear_by_default(monkeypatch):
    """Without `fill`, roar trains and validates on the noisy linear imputation (ROAD) of the
    removed pixels, computed here by apply_mask; fill="zero" (the paper-style variant) sets them to 0."""
    import inspect

    from rbdm_core.data.synthetic import make_domain
    from rbdm_core.masking import apply_mask, roar_masks
    from rbdm_core.training import Recipe

    assert roar_mod.DEFAULT_FILL == "noisy_linear" and roar_mod.ROAR_FILLS[0] == "noisy_linear"
    assert "zero" in roar_mod.ROAR_FILLS
    for fn in (roar_mod.roar, roar_mod.pipeline_roar):
        assert inspect.signature(fn).parameters["fill"].default == "noisy_linear"
    ds = make_domain("ferplus_like", n=40, seed=0)
    tr, va = ds.subset(np.arange(30)), ds.subset(np.arange(30, 40))
    rng = np.random.default_rng(1)
    rt, rv = rng.random(tr.images.shape[:3]), rng.random(va.images.shape[:3])
    seen = _stub_training(monkeypatch)
    t = roar_mod.roar("tiny_cnn", tr, va, rt, rv, Recipe(epochs=1), fractions=(0.3,), mask_seed=2, baseline=False)
    assert list(t.fill) == ["noisy_linear", "noisy_linear"]
    for (x_tr, x_va), removal in zip(seen, ("relevance", "random")):
        mt, mv = roar_masks(rt, 0.3, removal, 2), roar_masks(rv, 0.3, removal, 2, start=30)
        np.testing.assert_array_equal(x_tr, apply_mask(tr.images, mt, "noisy_linear", seed=2))
        np.testing.assert_array_equal(x_va, apply_mask(va.images, mv, "noisy_linear", seed=2, start=30))
        assert (x_tr[~mt] != 0).mean() > 0.5  # imputed from the neighbours, not black
    seen.clear()
    t = roar_mod.roar("tiny_cnn", tr, va, rt, rv, Recipe(epochs=1), fractions=(0.3,), fill="zero", baseline=False)
    mt = roar_masks(rt, 0.3, "relevance", 0)
    assert (seen[0][0][~mt] == 0).all() and list(t.fill) == ["zero", "zero"]


def test_pipeline_roar_ranks_validation_pixels_by_every_class(tmp_path, monkeypatch):
    """pipeline_roar ranks the training pixels by the predicted class's relevance and, by default,
    the validation pixels by the all-class map (its name in the cache key); val_target="predicted"
    gives ROAR's original; the default fill is noisy_linear; a bad val_target is named."""
    from rbdm_core.pipeline import Pipeline, get_profile

    pipe = Pipeline(get_profile("quick", target_n=80), run_dir=tmp_path)
    maps = {}

    def fake_relevance(self, images=None, method=None, split="Training", architecture=None, target="predicted"):
        n = int((self.target.split == split).sum())
        return maps.setdefault((split, target), np.random.default_rng(len(maps)).random((n, 48, 48)))

    calls = []
    monkeypatch.setattr(Pipeline, "relevance", fake_relevance)
    monkeypatch.setattr(Pipeline, "trainer_key", lambda self, architecture=None: "stub-trainer")
    monkeypatch.setattr(roar_mod, "roar", lambda *a, **kw: calls.append((a, kw)) or pd.DataFrame())
    roar_mod.pipeline_roar(pipe, fractions=(0.2,), epochs=1)
    (args, kw), = calls
    assert args[3] is maps[("Training", "predicted")] and args[4] is maps[("PublicTest", "all_classes")]
    assert kw["fill"] == "noisy_linear" and kw["key"]["val_target"] == "all_classes"
    roar_mod.pipeline_roar(pipe, fractions=(0.2,), epochs=1, val_target="predicted", fill="zero")
    args, kw = calls[1]
    assert args[4] is maps[("PublicTest", "predicted")] and "val_target" not in kw["key"] and kw["fill"] == "zero"
    with pytest.raises(ValueError, match=r"val_target: expected one of \('all_classes', 'predicted'\), got 'label'"):
        roar_mod.pipeline_roar(pipe, val_target="label")


def test_all_class_relevance_does_not_move_with_the_predicted_class(tmp_path, monkeypatch):
    """Pipeline.relevance(target="all_classes") = the mean of every class's L1-normalised map,
    computed here class by class with saliency.relevance. Shifting the Trainer's output biases
    changes what it predicts (and so the predicted-class maps) but not a gradient: the all-class
    maps, and the ROAR validation masks made from them, stay the same."""
    pytest.importorskip("tensorflow")
    from types import SimpleNamespace

    from saliency_models import smooth_model

    from rbdm_core import saliency
    from rbdm_core.pipeline import Pipeline, get_profile

    a = smooth_model(0)
    b = smooth_model(0)
    w, bias = b.layers[-1].get_weights()
    b.layers[-1].set_weights([w, bias + np.array([0.0, 0.0, 50.0], np.float32)])  # every image now "class 2"
    x = np.random.default_rng(0).uniform(0, 1, (10, 6, 6, 2)).astype(np.float32)
    pred_a = a.predict(x, verbose=0).argmax(1)
    assert (pred_a != 2).any() and (b.predict(x, verbose=0).argmax(1) == 2).all()

    pipe = Pipeline(get_profile("quick"), run_dir=tmp_path)
    monkeypatch.setattr(Pipeline, "trainer_key", lambda self, architecture=None: self.__dict__["trainer"].key)

    def with_trainer(model, key):
        pipe.__dict__["trainer"] = SimpleNamespace(bundle=model, key=key)
        return pipe

    per_class = [saliency.relevance(a, x, method="gradient", target=k).maps.astype(np.float64) for k in range(3)]
    by_hand = np.mean([m / np.abs(m).sum(axis=(1, 2), keepdims=True) for m in per_class], axis=0)
    got_a = with_trainer(a, "a").relevance(images=x, method="gradient", target="all_classes")
    np.testing.assert_allclose(got_a, by_hand, rtol=1e-5, atol=1e-7)
    assert (pipe.explained_classes(images=x, method="gradient") == 3).all()
    np.testing.assert_allclose(saliency.class_relevance(a, x, method="gradient"), np.stack(per_class), rtol=1e-6)
    pa = pipe.relevance(images=x, method="gradient")
    got_b = with_trainer(b, "b").relevance(images=x, method="gradient", target="all_classes")
    pb = pipe.relevance(images=x, method="gradient")
    assert not np.allclose(pa[pred_a != 2], pb[pred_a != 2])  # the predicted-class maps move
    np.testing.assert_allclose(got_b, got_a, rtol=1e-5, atol=1e-7)
    for f in (0.2, 0.5):
        np.testing.assert_array_equal(masking.roar_masks(got_a, f, "relevance"), masking.roar_masks(got_b, f, "relevance"))
    with pytest.raises(ValueError, match=r"target: expected one of \('predicted', 'all_classes'\)"):
        pipe.relevance(images=x, method="gradient", target="label")


def _table(values):
    """A pipeline_roar_seeds-like table: values[(fill, fraction, removal)] = per-seed final F1."""
    rows = [{"removal": "none", "fraction": 0.0, "seed": s, "fill": "-", "final_f1": v}
            for s, v in enumerate(values.pop("none"))]
    for (fill, f, removal), vs in values.items():
        rows += [{"removal": removal, "fraction": f, "seed": s, "fill": fill, "final_f1": v} for s, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_removal_gaps_and_sentences_by_hand():
    """removal_gaps: Student-t intervals over the seeds, the gap paired by seed (computed here
    from the differences by hand); "hurts more" / "hurts less" only when the interval lies wholly
    on one side of zero, "cannot tell" when it holds zero or has one seed."""
    from scipy import stats

    t = _table({"none": [0.40, 0.42, 0.44],
                ("noisy_linear", 0.1, "relevance"): [0.30, 0.33, 0.35], ("noisy_linear", 0.1, "random"): [0.39, 0.41, 0.45],
                ("noisy_linear", 0.5, "relevance"): [0.30, 0.40, 0.35], ("noisy_linear", 0.5, "random"): [0.35, 0.30, 0.36],
                ("zero", 0.1, "relevance"): [0.45, 0.47, 0.50], ("zero", 0.1, "random"): [0.10, 0.12, 0.11]})
    g = roar_mod.removal_gaps(t).set_index(["fill", "fraction"])
    d = np.array([0.30, 0.33, 0.35]) - np.array([0.39, 0.41, 0.45])
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    row = g.loc[("noisy_linear", 0.1)]
    assert row.n == 3 and row.gap_mean == pytest.approx(d.mean())
    assert (row.gap_ci_low, row.gap_ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    up = np.array([0.45, 0.47, 0.50]) - np.array([0.40, 0.42, 0.44])
    assert g.loc[("zero", 0.1)].above_mean == pytest.approx(up.mean())
    assert g.loc[("zero", 0.1)].random_mean == pytest.approx(0.11)
    assert list(g.gap_side) == ["hurts more", "cannot tell", "hurts less"]
    lines = roar_mod.removal_lines(g.reset_index())
    assert lines[0].startswith("noisy_linear fill, k=0.1: ranked removal hurts more than random removal: final F1 "
                               f"ranked - random {d.mean():.3f} [{d.mean() - half:.3f}, {d.mean() + half:.3f}] over 3 seeds")
    assert "cannot tell whether ranked removal hurts more" in lines[1]
    assert "ranked removal hurts less than random removal" in lines[2]
    s = roar_mod.above_baseline_sentence(g.reset_index(), "zero")
    assert "above the unmasked baseline at k=0.1" in s and "outline" in s
    assert "at no fraction" in roar_mod.above_baseline_sentence(g.reset_index(), "noisy_linear")
    one = roar_mod.removal_gaps(t[t.seed == 0])
    assert (one.gap_side == "cannot tell").all() and np.isnan(one.gap_ci_low).all()
    assert "(one seed gives no interval)" in roar_mod.removal_lines(one)[0]
    assert "cannot be told from one seed" in roar_mod.above_baseline_sentence(one, "zero")
    with pytest.raises(ValueError, match="missing column 'seed'"):
        roar_mod.removal_gaps(t.drop(columns="seed"))


def test_pipeline_roar_seeds_runs_every_seed_and_fill_with_one_baseline(monkeypatch):
    calls = []

    def fake(pipe, fractions, epochs, seed, mask_seed, method, fill, val_target, baseline):
        calls.append((seed, mask_seed, fill, baseline, val_target))
        rows = [{"removal": "none", "fraction": 0.0, "seed": seed, "fill": "-", "final_f1": 0.4}] if baseline else []
        return pd.DataFrame(rows + [{"removal": r, "fraction": 0.5, "seed": seed, "fill": fill, "final_f1": 0.3}
                                    for r in ("relevance", "random")])

    monkeypatch.setattr(roar_mod, "pipeline_roar", fake)
    t = roar_mod.pipeline_roar_seeds(None, fractions=(0.5,), seeds=[3, 4])
    assert calls == [(3, 3, "noisy_linear", True, "all_classes"), (3, 3, "zero", False, "all_classes"),
                     (4, 4, "noisy_linear", True, "all_classes"), (4, 4, "zero", False, "all_classes")]
    assert (t.removal == "none").sum() == 2 and len(t) == 10
    assert set(roar_mod.removal_gaps(t).fill) == {"noisy_linear", "zero"}
    for bad in ([], [0, 0], [-1], 3):
        with pytest.raises(ValueError, match="seeds: expected distinct non-negative ints"):
            roar_mod.pipeline_roar_seeds(None, seeds=bad)


def test_fill_lines_and_verdict_summary_by_hand():
    """fill_lines: random removal's F1 under one fill minus another, paired by seed; the
    summary lists the fractions under each verdict of removal_gaps."""
    from rbdm_core.statistics import paired_interval

    t = _table({"none": [0.40, 0.42, 0.44],
                ("noisy_linear", 0.1, "relevance"): [0.30, 0.33, 0.35], ("noisy_linear", 0.1, "random"): [0.39, 0.41, 0.45],
                ("zero", 0.1, "relevance"): [0.45, 0.47, 0.50], ("zero", 0.1, "random"): [0.10, 0.12, 0.11]})
    iv = paired_interval([0.39, 0.41, 0.45], [0.10, 0.12, 0.11])
    (line,) = roar_mod.fill_lines(t)
    assert line == (f"random removal, k=0.1: final F1 with the noisy_linear fill - with the zero fill {iv} over 3 seeds, "
                    "paired by seed (95% interval): higher")
    summary = roar_mod.verdict_summary(roar_mod.removal_gaps(t))
    assert summary == ["noisy_linear fill (3 seeds): ranked removal hurts more than random removal at k=0.1",
                       "zero fill (3 seeds): ranked removal hurts less than random removal at k=0.1"]
    with pytest.raises(ValueError, match=r"fills \['blur'\] are not in the table"):
        roar_mod.fill_lines(t, a="blur")
