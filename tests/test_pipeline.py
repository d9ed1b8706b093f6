"""Profiles and the cached pipeline: parameters flow into keys, steps run once, bad names fail."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core.curves import steps_to_reach
from rbdm_core.pipeline import Pipeline, dataset_key, get_profile
from rbdm_core.profiles import PROFILES, VARIANTS


def test_profiles_and_overrides():
    q = get_profile("quick")
    assert q.synthetic and not PROFILES["paper"].synthetic
    assert PROFILES["paper"].trainee == "mobilenet_v2" and PROFILES["paper"].switch_epoch == 9
    assert set(PROFILES["paper"].trainer_candidates) == {"xception", "mobilenet_v2", "inception_v3", "vgg_face"}
    assert get_profile("quick", seeds=[4, 5]).seeds == (4, 5)
    assert get_profile("quick", target_n=None).target_n == q.target_n  # None keeps the default
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("fast")
    with pytest.raises(ValueError, match="unknown parameter"):
        get_profile("quick", epochz=3)
    r = PROFILES["paper"].recipe(5)
    assert (r.epochs, r.lr, r.batch_size, r.augment, r.class_weighted) == (5, 1e-3, 32, True, True)
    assert len(VARIANTS) == 7 and len(set(VARIANTS)) == 7


def test_paper_profile_needs_the_roots(tmp_path):
    with pytest.raises(ValueError, match="roots"):
        Pipeline("paper", run_dir=tmp_path, roots={"ferplus": str(tmp_path)})


def test_data_are_a_pure_function_of_the_seed(tmp_path):
    prof = get_profile("quick", source_n=40, target_n=80, gaze_n=8)
    a = Pipeline(prof, run_dir=tmp_path, seed=0)
    b = Pipeline(prof, run_dir=tmp_path / "other", seed=0)
    c = Pipeline(prof, run_dir=tmp_path, seed=1)
    assert dataset_key(a.target) == dataset_key(b.target)
    assert dataset_key(a.target) != dataset_key(c.target)
    assert a.target.images.shape[1:] == (48, 48, 1)
    assert set(a.target.splits) == {"Training", "PublicTest", "PrivateTest"}


def test_mean_fixations_is_the_mean_count_per_image_and_annotator(tmp_path):
    pipe = Pipeline(get_profile("quick", gaze_n=8), run_dir=tmp_path)
    fx = pipe.gaze_study.fixations
    by_hand = np.mean([len(g) for _, g in fx.groupby(["annotator", "image_index"])])
    assert pipe.mean_fixations() == pytest.approx(by_hand)
    assert pipe.perceptive_n() == round(by_hand)
    assert Pipeline(get_profile("quick", perceptive_n=5), run_dir=tmp_path).perceptive_n() == 5


def test_mask_params_follow_the_profile(tmp_path):
    pipe = Pipeline(get_profile("quick", negative_fraction=0.2, perceptive_n=7), run_dir=tmp_path)
    assert pipe.mask_params("negative") == {"fraction": 0.2}
    assert pipe.mask_params("mean") == {}
    p = pipe.mask_params("perceptive")
    assert p["n"] == 7 and 0 < p["sigma"] < p["cutoff"]
    with pytest.raises(ValueError, match="mask_type"):
        pipe.mask_params("positive")
    # values offered for several types: each type takes the names it declares
    assert pipe.mask_params("negative", fraction=0.3, n=4) == {"fraction": 0.3}
    assert pipe.mask_params("perceptive", fraction=0.3, n=4)["n"] == 4
    assert pipe.mask_params("mean", fraction=0.3, n=4) == {}


def test_steps_to_reach_by_hand():
    rows = []
    for seed, values in ((0, [0.1, 0.5, 0.8, 0.9]), (1, [0.1, 0.2, 0.3, 0.4])):
        for step, v in zip((0, 10, 20, 30), values):
            rows.append(("no-mask", seed, step, step / 10, "validation", "f1", v))
            rows.append(("no-mask", seed, step, step / 10, "validation", "loss", 1 - v))
    curves = pd.DataFrame(rows, columns=["variant", "seed", "step", "epoch", "split", "metric", "value"])
    out = steps_to_reach(curves, 0.75)
    assert out.set_index("seed").step.loc[0] == 20  # first value >= 0.75 is 0.8 at step 20
    assert np.isnan(out.set_index("seed").step.loc[1])  # never reached


@pytest.mark.slow
def test_trainer_and_trainee_are_cached_and_keyed(tmp_path):
    prof = get_profile("quick", source_n=120, target_n=160, trainer_candidates=("small_cnn",), trainer_epochs=1,
                       trainee_epochs=1, switch_epoch=1, seeds=(0,), eval_every=50)
    pipe = Pipeline(prof, run_dir=tmp_path)
    first = pipe.train_trainer("small_cnn")
    ckpt = first.checkpoint
    mtime = ckpt.stat().st_mtime_ns
    again = Pipeline(prof, run_dir=tmp_path).train_trainer("small_cnn")  # a new process would do the same
    assert again.weights_sha256 == first.weights_sha256
    assert ckpt.stat().st_mtime_ns == mtime  # not retrained: the finished checkpoint was reused
    other = Pipeline(prof.with_(trainer_epochs=2), run_dir=tmp_path).train_trainer("small_cnn")
    assert other.checkpoint != ckpt and other.steps == 2 * first.steps
    masks = pipe.masks("negative")
    n_train = len(pipe.target.select_split("Training"))
    assert masks.shape == (n_train, 48, 48)
    np.testing.assert_allclose(masks.reshape(n_train, -1).mean(1), 1 - round(0.1 * 48 * 48) / (48 * 48))
    r = pipe.train_trainee("negative-then-unmasked", 0)
    assert set(r.curves.variant) == {"negative-then-unmasked"}


def test_roots_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RBDM_FERPLUS_ROOT", str(tmp_path / "fer"))
    monkeypatch.setenv("RBDM_CKPLUS_ROOT", str(tmp_path / "ck"))
    monkeypatch.delenv("RBDM_AFFECTNET_ROOT", raising=False)
    with pytest.raises(ValueError, match=r"\['affectnet'\]"):
        Pipeline("paper", run_dir=tmp_path)
    pipe = Pipeline("paper", run_dir=tmp_path, roots={"affectnet": str(tmp_path / "an")})
    assert pipe.roots == {"affectnet": str(tmp_path / "an"), "ferplus": str(tmp_path / "fer"),
                          "ckplus": str(tmp_path / "ck")}


def test_model_fingerprint_follows_the_architecture_code(monkeypatch):
    import tensorflow as tf

    from rbdm_core import models

    a = models.fingerprint("small_cnn", 8, (48, 48, 1))
    assert a == models.fingerprint("small_cnn", 8, (48, 48, 1))
    assert a != models.fingerprint("small_cnn", 8, (48, 48, 3))
    assert a != models.fingerprint("small_cnn", 8, (48, 48, 1), seed=1)
    orig = models._build_keras

    def changed(arch, k, shape):  # the same architecture name, other code
        m = orig(arch, k, shape)
        x = tf.keras.layers.Dense(k, name="extra")(m.layers[-3].output)
        return tf.keras.Model(m.input, tf.keras.layers.Activation("softmax", name="probs2")(x))

    models.fingerprint.cache_clear()
    monkeypatch.setattr(models, "_build_keras", changed)
    assert models.fingerprint("small_cnn", 8, (48, 48, 1)) != a
    models.fingerprint.cache_clear()


def test_fixation_masks_are_the_union_of_the_annotators_perceived_pixels(tmp_path):
    """Pipeline.fixation_masks = union over annotators of masking.human_masks of the simulated
    study on that split, computed independently here; cached; refused for real corpora."""
    from rbdm_core.data.annotators import simulate_gaze
    from rbdm_core.gaze import kernel_for_image
    from rbdm_core.masking import human_masks
    from rbdm_core.training import FIXATIONS, preset

    pipe = Pipeline(get_profile("quick", target_n=60), run_dir=tmp_path, seed=2)
    val = pipe.target.select_split("PublicTest")
    got = pipe.fixation_masks("PublicTest")
    seed = 2 + 4 + 100 * sorted(pipe.target.splits).index("PublicTest")
    study = simulate_gaze(val, n_annotators=pipe.profile.annotators, seed=seed)
    k = kernel_for_image(48)
    hm = human_masks(study.fixations, len(val), (48, 48), k.sigma, k.cutoff, geometry=study.geometry)
    np.testing.assert_array_equal(got, hm.masks.any(axis=0))
    assert got.shape == (len(val), 48, 48) and 0 < got.mean() < 1
    assert not np.array_equal(got[: min(len(got), 5)], pipe.fixation_masks("Training")[:5])  # own study per split
    np.testing.assert_array_equal(Pipeline(get_profile("quick", target_n=60), run_dir=tmp_path, seed=2)
                                  .fixation_masks("PublicTest"), got)  # from the cache
    v = preset("fixations-then-unmasked", switch_epoch=2)
    assert v.mask_type == FIXATIONS and v.switch_epoch == 2
    paper = Pipeline("paper", run_dir=tmp_path, roots={"ferplus": "f", "affectnet": "a", "ckplus": "c"})
    with pytest.raises(ValueError, match="no gaze was recorded"):
        paper.fixation_masks()


def test_fixation_variants_are_validated_on_label_free_masks(tmp_path):
    """The fixation variants train on label-aimed fixation masks and are validated on masks of
    annotators aimed at every class's regions (simulate_gaze(aim="all"), computed here by hand),
    which differ from the label-aimed ones; the two are cached apart; a bad aim is named."""
    from rbdm_core.data.annotators import simulate_gaze
    from rbdm_core.gaze import kernel_for_image
    from rbdm_core.masking import human_masks

    pipe = Pipeline(get_profile("quick", target_n=120), run_dir=tmp_path, seed=2)
    assert Pipeline.FIXATION_VALIDATION_AIM == "all"
    val = pipe.target.select_split("PublicTest")
    free = pipe.fixation_masks("PublicTest", aim="all")
    seed = 2 + 4 + 100 * sorted(pipe.target.splits).index("PublicTest")
    study = simulate_gaze(val, n_annotators=pipe.profile.annotators, seed=seed, aim="all")
    k = kernel_for_image(48)
    by_hand = human_masks(study.fixations, len(val), (48, 48), k.sigma, k.cutoff, geometry=study.geometry)
    np.testing.assert_array_equal(free, by_hand.masks.any(axis=0))
    aimed = pipe.fixation_masks("PublicTest")
    assert not np.array_equal(free, aimed)
    for variant in ("fixations", "fixations-then-unmasked"):
        job = pipe._trainee_job(variant, 0, None)
        np.testing.assert_array_equal(job["val_masks"], free)
        np.testing.assert_array_equal(job["masks"], pipe.fixation_masks("Training"))
    np.testing.assert_array_equal(pipe.fixation_masks("PublicTest"), aimed)  # not overwritten by aim="all"
    with pytest.raises(ValueError, match=r"aim: expected one of \('class', 'all'\), got 'label'"):
        pipe.fixation_masks("PublicTest", aim="label")


def test_variant_mask_type_errors():
    from rbdm_core.training import Variant

    with pytest.raises(ValueError, match=r"Variant.mask_type: expected one of \[.*'fixations', 'given'\]"):
        Variant("x", "positive")
    with pytest.raises(ValueError, match="fill 'noisy_linear' needs a mask_type"):
        Variant("x", None, fill="noisy_linear")
    assert Variant("f", "fixations", fill="noisy_linear").masked  # fixation and given masks take any fill
    assert Variant("g", "given", fill="noisy_linear", switch_epoch=2).masked_at(1)


def test_constant_relevance_maps_keep_every_pixel(tmp_path, monkeypatch):
    """A constant map (deep Taylor of a negative logit) has no ranking: its masks keep all pixels,
    the other images' masks are the ones the mask functions give, and a warning counts them."""
    from rbdm_core import masking

    pipe = Pipeline(get_profile("quick", target_n=80, perceptive_n=3), run_dir=tmp_path)
    imgs = pipe.target.select_split("Training").images[:6]
    maps = np.random.default_rng(0).normal(size=imgs.shape[:3]).astype(np.float32)
    maps[2] = 0.0
    monkeypatch.setattr(Pipeline, "relevance", lambda self, images, method=None: maps)
    monkeypatch.setattr(Pipeline, "trainer_key", lambda self, architecture=None: "stub-trainer")
    for t in ("negative", "mean", "perceptive"):
        with pytest.warns(RuntimeWarning, match=f"1 of 6 relevance maps are constant .*their {t} masks keep every pixel"):
            m = pipe.masks(t, images=imgs)
        assert m[2].all()
        others = [0, 1, 3, 4, 5]
        expect = masking.make_masks(maps[others], t, **pipe.mask_params(t, 48))
        assert np.array_equal(m[others], expect)


def test_an_image_folder_root_is_the_trainee_corpus(tmp_path):
    """roots {"folder": DIR}: Pipeline.target reads the folder (48x48 gray, train/val -> Training /
    PublicTest), the Trainer's corpus stays the profile's, and fixation masks are refused."""
    from PIL import Image

    for split, n in (("train", 3), ("val", 1)):
        for label in ("happy", "sad"):
            d = tmp_path / "faces" / split / label
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((30, 40), 10 * i + 50, np.uint8)).save(d / f"{i}.png")
    prof = get_profile("quick", source_n=60, roots={"folder": str(tmp_path / "faces")})
    pipe = Pipeline(prof, run_dir=tmp_path / "runs")
    tgt = pipe.target
    assert tgt.shape == (48, 48, 1) and not tgt.is_synthetic
    assert sorted(tgt.splits) == ["PublicTest", "Training"]
    assert int((tgt.split == "Training").sum()) == 6 and int((tgt.split == "PublicTest").sum()) == 2
    assert pipe.source.is_synthetic
    with pytest.raises(ValueError, match="no gaze"):
        pipe.fixation_masks()


def test_trainee_runs_in_worker_processes_equal_the_runs_trained_here(tmp_path):
    from pathlib import Path

    from rbdm_core.training import all_curves

    prof = get_profile("quick", source_n=160, target_n=160, gaze_n=8, trainer_candidates=["tiny_cnn"],
                       trainer_epochs=1, trainee_epochs=1, switch_epoch=1, eval_every=4)
    runs = (["no-mask", "mean"], [0, 1])
    here = Pipeline(prof, run_dir=tmp_path / "here").trainee_runs(*runs)
    pipe = Pipeline(prof, run_dir=tmp_path / "workers")
    todo = [(v, s) for v in runs[0] for s in runs[1]]
    pipe._train_in_workers(todo, None, 2)  # what trainee_runs(workers=2) does first
    assert all((Path(pipe._trainee_job(v, s, None)["out_dir"]) / "result.json").is_file() for v, s in todo)
    there = pipe.trainee_runs(*runs, workers=2)  # every run is in the folder now: loaded here
    assert [r.weights_sha256 for r in there] == [r.weights_sha256 for r in here]
    pd.testing.assert_frame_equal(all_curves(there), all_curves(here))
    with pytest.raises(ValueError, match="workers"):
        pipe.trainee_runs(*runs, workers=0)
