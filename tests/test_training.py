"""rbdm_core.training / augment / curves: recipe pieces by hand, presets, determinism, resume,
masking, MirroredStrategy, bad input."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rbdm_core.augment import AugmentConfig, apply_params, augment, augment_preview, random_params
from rbdm_core.curves import confusion_matrix, macro_f1
from rbdm_core.data.dataset import Dataset
from rbdm_core.training import (
    FILL_SEED, PRESETS, Recipe, Variant, class_weights, epoch_order, preset, steps_per_epoch, train, train_seeds,
)

CLASSES = ("a", "b", "c", "d")
NO_GEOMETRY = dict(rotation_deg=0, shift=0, zoom=(0, 0), channel_shift=0, brightness=(1, 1), hflip=False)


# ---------------------------------------------------------------- pieces computed by hand
def test_class_weights_by_hand():
    # 6 samples, counts (3, 2, 1, 0), 3 classes present: w_k = 6 / (3 * count_k)
    w = class_weights(np.array([0, 0, 0, 1, 1, 2]), 4)
    np.testing.assert_allclose(w, [6 / 9, 6 / 6, 6 / 3, 0.0])
    # the weights average to 1 over the training samples
    labels = np.random.default_rng(0).integers(0, 5, 101)
    assert class_weights(labels, 5)[labels].mean() == pytest.approx(1.0)


def test_class_weights_bad_labels():
    with pytest.raises(ValueError, match=r"labels\[1\] = 4 outside 0..3"):
        class_weights(np.array([0, 4]), 4)
    with pytest.raises(ValueError, match="empty"):
        class_weights(np.array([], np.int64), 4)


def test_confusion_and_macro_f1_by_hand():
    y = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0])
    cm = confusion_matrix(y, p, 4)
    np.testing.assert_array_equal(cm[:3, :3], [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    # F1: class 0: 2*1/(2+1+1) = 0.5; class 1: 4/(4+1) = 0.8; class 2: 0; class 3 absent -> not averaged
    assert macro_f1(y, p, 4) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert macro_f1(y, y, 4) == 1.0


def test_epoch_order_is_a_seeded_permutation():
    a, b = epoch_order(50, 3, 1), epoch_order(50, 3, 1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.sort(a), np.arange(50))
    assert not np.array_equal(a, epoch_order(50, 3, 2)) and not np.array_equal(a, epoch_order(50, 4, 1))
    assert steps_per_epoch(65, Recipe(batch_size=32)) == 3
    assert steps_per_epoch(65, Recipe(batch_size=32, max_steps_per_epoch=2)) == 2


def test_seven_presets():
    assert list(PRESETS) == ["no-mask", "negative", "mean", "perceptive", "negative-then-unmasked",
                             "mean-then-unmasked", "perceptive-then-unmasked"]
    epochs = range(12)
    assert not any(PRESETS["no-mask"].masked_at(e) for e in epochs)
    for m in ("negative", "mean", "perceptive"):
        assert all(PRESETS[m].masked_at(e) for e in epochs) and PRESETS[m].mask_type == m
        v = PRESETS[f"{m}-then-unmasked"]
        assert [v.masked_at(e) for e in epochs] == [e < 9 for e in epochs] and v.mask_type == m
    assert [preset("mean-then-unmasked", switch_epoch=2).masked_at(e) for e in range(4)] == [True, True, False, False]


def test_unknown_variant():
    with pytest.raises(ValueError, match="variant 'blur' is unknown"):
        preset("blur")


def test_recipe_defaults_and_errors():
    r = Recipe()
    assert (r.lr, r.batch_size, r.class_weighted, r.rotation_deg, r.shift, r.channel_shift, r.brightness,
            r.hflip) == (1e-3, 32, True, 25.0, 0.1, 0.2, (0.5, 1.5), True)
    assert Recipe.from_dict(r.to_dict()) == r
    with pytest.raises(ValueError, match="Recipe.batch_size"):
        Recipe(batch_size=0)
    with pytest.raises(ValueError, match="unknown parameter"):
        Recipe.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="brightness"):
        Recipe(brightness=(1.5, 0.5))


# ---------------------------------------------------------------- augmentation
def _img(n=3, h=10, w=12, c=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c)).astype(np.uint8)


def test_augment_identity_flip_and_shift():
    import tensorflow as tf

    x = _img()
    cfg = AugmentConfig(**NO_GEOMETRY, fill_mode="constant")
    np.testing.assert_array_equal(augment(x, np.array([0, 1]), cfg).numpy(), x.astype(np.float32))
    p = random_params(3, np.array([0, 1]), cfg)
    p["flip"] = -tf.ones(3)
    np.testing.assert_array_equal(apply_params(tf.cast(x, tf.float32), p, cfg).numpy(), x[:, :, ::-1])
    p = random_params(3, np.array([0, 1]), cfg)
    p["tx"] = tf.fill([3], 1 / 12)  # one pixel of a 12-pixel width, to the right
    y = apply_params(tf.cast(x, tf.float32), p, cfg).numpy()
    np.testing.assert_array_equal(y[:, :, 1:], x[:, :, :-1])
    assert (y[:, :, 0] == 0).all()


def test_augment_brightness_and_channel_shift_by_hand():
    import tensorflow as tf

    x = np.full((2, 4, 4, 3), 100, np.uint8)
    cfg = AugmentConfig(**NO_GEOMETRY)
    p = random_params(2, np.array([0, 0]), cfg)
    p["chshift"] = tf.constant([[0.1, -0.1, 0.0], [0.5, 0.0, -0.5]])
    p["bright"] = tf.constant([0.5, 1.5])
    y = apply_params(tf.cast(x, tf.float32), p, cfg).numpy()
    np.testing.assert_allclose(y[0, 0, 0], [(100 + 25.5) * 0.5, (100 - 25.5) * 0.5, 50.0], rtol=1e-6)
    np.testing.assert_allclose(y[1, 0, 0], [255.0, 150.0, 0.0], rtol=1e-6)  # clipped to 0..255


def test_augment_draws_within_the_paper_ranges():
    cfg = AugmentConfig()
    p = {k: v.numpy() for k, v in random_params(4000, np.array([1, 2]), cfg).items()}
    assert np.abs(p["angle"]).max() <= np.radians(25) and np.abs(p["angle"]).max() > np.radians(24)
    assert np.abs(p["tx"]).max() <= 0.1 and np.abs(p["ty"]).max() <= 0.1
    assert 0.85 <= p["zoom"].min() and p["zoom"].max() <= 1.15
    assert set(np.unique(p["flip"])) == {-1.0, 1.0} and 0.45 < (p["flip"] < 0).mean() < 0.55
    assert np.abs(p["chshift"]).max() <= 0.2 and 0.5 <= p["bright"].min() and p["bright"].max() <= 1.5


def test_augment_preview_shape_and_seed():
    x = _img(2, 16, 16, 1)
    a, b = augment_preview(x, 3, seed=5), augment_preview(x, 3, seed=5)
    assert a.shape == (2, 3, 16, 16, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment_preview(x, 3, seed=6))


# ---------------------------------------------------------------- training runs
def _data(n, seed, size=32):
    r = np.random.default_rng(seed)
    y = np.arange(n) % 4
    x = r.integers(0, 60, (n, size, size, 1)).astype(np.uint8)
    for k in range(4):
        x[y == k, 8 * k:8 * k + 8] += 150
    return Dataset(x, y, class_names=CLASSES)


TRAIN, VAL = _data(192, 0), _data(48, 1)
RECIPE = Recipe(epochs=2, batch_size=32, eval_every=4)  # 6 steps per epoch, 12 steps


def _run(**kw):
    args = dict(recipe=RECIPE, variant="no-mask", seed=0, verbose=0)
    args.update(kw)
    return train("small_cnn", args.pop("train", TRAIN), args.pop("val", VAL), **args)


@pytest.fixture(scope="module")
def baseline():
    return _run()


@pytest.mark.slow
def test_result_contents(baseline):
    r = baseline
    assert r.completed and r.steps == 12
    assert list(r.curves.columns) == ["variant", "seed", "step", "epoch", "split", "metric", "value"]
    val_f1 = r.curves[(r.curves.split == "validation") & (r.curves.metric == "f1")]
    assert list(val_f1.step) == [0, 4, 6, 8, 12]  # every 4 steps and at each epoch end
    assert r.best_f1 == pytest.approx(val_f1.value.max()) and r.final_f1 == pytest.approx(val_f1.value.iloc[-1])
    assert r.best_step == int(val_f1.step.iloc[int(np.argmax(val_f1.value.values))])
    train_loss = r.curves[(r.curves.split == "train")]
    assert list(train_loss.step) == [4, 6, 8, 12] and (train_loss.value > 0).all()
    # the confusion matrix is that of the selected model on the validation set
    assert r.confusion.shape == (4, 4) and r.confusion.sum() == len(VAL)
    assert macro_f1(VAL.labels, r.bundle.predict(VAL.images), 4) == pytest.approx(r.best_f1)


@pytest.mark.slow
def test_same_seed_bitwise_identical(baseline):
    again = _run()
    assert again.weights_sha256 == baseline.weights_sha256
    pd.testing.assert_frame_equal(again.curves, baseline.curves, check_exact=True)
    other = _run(seed=1)
    assert other.weights_sha256 != baseline.weights_sha256


@pytest.mark.slow
def test_interrupted_and_resumed_is_bitwise_identical(baseline, tmp_path):
    # checkpoints every 4 steps and at epoch ends (6, 12): stopping after 11 steps redoes 9..11
    part = _run(out_dir=tmp_path, stop_after_steps=11)
    assert not part.completed and part.steps == 11
    done = _run(out_dir=tmp_path)
    assert done.completed and done.weights_sha256 == baseline.weights_sha256
    pd.testing.assert_frame_equal(done.curves, baseline.curves, check_exact=True)
    # the written files
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "curves.csv"), baseline.curves, check_dtype=False)
    from rbdm_core.models import load_bundle

    saved = load_bundle(tmp_path / "model")
    np.testing.assert_array_equal(saved.predict_proba(VAL.images), done.bundle.predict_proba(VAL.images))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files


@pytest.mark.slow
def test_checkpoint_of_another_run_is_refused(tmp_path):
    _run(out_dir=tmp_path, stop_after_steps=4)
    with pytest.raises(ValueError, match="checkpoint of a different run"):
        _run(out_dir=tmp_path, seed=1)


@pytest.mark.slow
def test_failed_checkpoint_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    _run(out_dir=tmp_path, stop_after_steps=4)  # checkpoint at step 4
    before = (tmp_path / "checkpoint.npz").read_bytes()

    def broken_savez(fh, arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    from rbdm_core import artifacts

    monkeypatch.setattr(artifacts, "_savez", broken_savez)  # np.savez, as artifacts writes it
    with pytest.raises(OSError, match="disk full"):
        _run(out_dir=tmp_path)
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    # the checkpoint and its checksum; the failed write left no checksum of its own
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz", "checkpoint.npz.sha256"]


@pytest.mark.slow
def test_zero_masks_equal_training_on_blank_images():
    masks = np.zeros(TRAIN.images.shape[:3], bool)
    masked = _run(variant="mean", masks=masks)
    blank = Dataset(np.zeros_like(TRAIN.images), TRAIN.labels, class_names=CLASSES)
    plain = _run(train=blank)
    assert masked.weights_sha256 == plain.weights_sha256
    # validation is never masked: same validation curve values
    np.testing.assert_array_equal(masked.curves.value.values, plain.curves.value.values)


@pytest.mark.slow
def test_switch_epoch_masks_only_the_first_epochs(baseline):
    masks = np.zeros(TRAIN.images.shape[:3], bool)
    always = _run(variant="mean", masks=masks)
    switched = _run(variant=preset("mean-then-unmasked", switch_epoch=1), masks=masks)
    c1, c2 = always.curves, switched.curves
    first = c1.step <= 6  # the first epoch: identical
    np.testing.assert_array_equal(c1[first].value.values, c2[first].value.values)
    assert not np.array_equal(c1[~first].value.values, c2[~first].value.values)
    assert switched.weights_sha256 not in (always.weights_sha256, baseline.weights_sha256)


@pytest.mark.slow
def test_train_seeds_and_bundle_input_is_not_modified(tmp_path):
    from rbdm_core.models import build_model, weights_sha256

    b = build_model("small_cnn", 4, (32, 32, 1), seed=7, class_names=CLASSES)
    before = weights_sha256(b.model)
    rec = Recipe(epochs=1, eval_every=3, max_steps_per_epoch=3)
    rs = train_seeds(b, TRAIN, VAL, rec, "no-mask", seeds=[0, 1], out_dir=tmp_path, verbose=0)
    assert weights_sha256(b.model) == before
    assert [r.seed for r in rs] == [0, 1] and rs[0].weights_sha256 != rs[1].weights_sha256
    assert (tmp_path / "seed-0" / "result.json").exists() and (tmp_path / "seed-1" / "curves.csv").exists()


def _blob_masks(n: int, seed: int) -> np.ndarray:
    """(n, 32, 32) bool: each image keeps all but a random 10x10 square (True = kept)."""
    rng = np.random.default_rng(seed)
    m = np.ones((n, 32, 32), bool)
    for i, (y, x) in enumerate(rng.integers(0, 22, size=(n, 2))):
        m[i, y:y + 10, x:x + 10] = False
    return m


@pytest.mark.slow
def test_fill_trains_on_the_filled_images():
    """A masked variant with a fill = the unmasked variant on images filled beforehand by
    `apply_mask` (same fill, the fills' own seed): the same weights, bit for bit."""
    from dataclasses import replace

    from rbdm_core.masking import apply_mask

    masks = _blob_masks(len(TRAIN), 3)
    masked = _run(variant=Variant("m", "mean", None, fill="noisy_linear"), masks=masks, seed=2)
    prefilled = replace(TRAIN, images=apply_mask(TRAIN.images, masks, "noisy_linear", seed=FILL_SEED))
    plain = _run(train=prefilled, seed=2)
    assert masked.weights_sha256 == plain.weights_sha256
    zero = _run(variant=Variant("m", "mean", None), masks=masks, seed=2)
    assert zero.weights_sha256 != masked.weights_sha256  # the fill matters


@pytest.mark.slow
def test_validation_masked_scores_the_masked_validation_images():
    """With val_masks, the "validation-masked" curve equals the plain validation curve of a run
    whose validation images were masked and filled beforehand; the plain curve is unchanged."""
    from dataclasses import replace

    from rbdm_core.masking import apply_mask

    keep_all = np.ones(TRAIN.images.shape[:3], bool)
    vm = _blob_masks(len(VAL), 4)
    v = Variant("m", "mean", None, fill="noise")
    a = _run(variant=v, masks=keep_all, val_masks=vm)
    b = _run(variant=v, masks=keep_all,
             val=replace(VAL, images=apply_mask(VAL.images, vm, "noise", seed=FILL_SEED, start=len(TRAIN))))
    c = _run(variant=v, masks=keep_all)
    ca, cb, cc = a.curves, b.curves, c.curves
    np.testing.assert_array_equal(ca[ca.split == "validation-masked"].value.values,
                                  cb[cb.split == "validation"].value.values)
    np.testing.assert_array_equal(ca[ca.split == "validation"].value.values,
                                  cc[cc.split == "validation"].value.values)
    assert a.best_f1 == c.best_f1 and "validation-masked" not in set(cc.split)


def test_fill_errors():
    with pytest.raises(ValueError, match="unknown fill|expected one of"):
        Variant("m", "mean", None, fill="sparkle")
    with pytest.raises(ValueError, match="fill 'noise' needs a mask_type"):
        Variant("x", None, None, fill="noise")
    assert preset("no-mask", fill="noisy_linear").fill == "zero"  # nothing removed, nothing filled
    assert preset("mean-then-unmasked", switch_epoch=2, fill="blur").fill == "blur"
    with pytest.raises(ValueError, match="val_masks: variant 'no-mask' is unmasked"):
        _run(val_masks=np.ones(VAL.images.shape[:3], bool))
    with pytest.raises(ValueError, match=r"val_masks: expected shape \(48, 32, 32\)"):
        _run(variant="mean", masks=np.ones(TRAIN.images.shape[:3], bool), val_masks=np.ones((48, 8, 8), bool))


# ---------------------------------------------------------------- bad input (no training needed)
def test_mask_shape_mismatch():
    with pytest.raises(ValueError, match=r"masks: expected shape \(192, 32, 32\)"):
        _run(variant="negative", masks=np.ones((192, 16, 16), bool))


def test_masked_variant_without_masks():
    with pytest.raises(ValueError, match="variant 'negative' is masked: pass masks"):
        _run(variant="negative")


def test_labels_outside_the_class_list():
    bad = _data(40, 2)
    bad.labels[5] = 9
    with pytest.raises(ValueError, match=r"train.labels\[5\] = 9 is outside the model's 4 classes"):
        _run(train=bad)


def test_empty_split():
    empty = TRAIN.subset(np.zeros(len(TRAIN), bool))
    with pytest.raises(ValueError, match="val: the split is empty"):
        _run(val=empty)


def test_unknown_architecture_in_train():
    with pytest.raises(ValueError, match="architecture 'resnet' is unknown"):
        train("resnet", TRAIN, VAL, RECIPE, verbose=0)


def test_class_lists_must_match():
    other = Dataset(VAL.images, VAL.labels, class_names=("w", "x", "y", "z"))
    with pytest.raises(ValueError, match="val.class_names"):
        _run(val=other)


# ---------------------------------------------------------------- MirroredStrategy
MIRRORED = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from rbdm_core.data.dataset import Dataset
    from rbdm_core.training import Recipe, train
    r = np.random.default_rng(0)
    y = np.arange(96) % 4
    x = r.integers(0, 256, (96, 32, 32, 1)).astype(np.uint8)
    tr = Dataset(x, y, class_names=("a", "b", "c", "d"))
    va = tr.subset(np.arange(32))
    rec = Recipe(epochs=1, eval_every=1, batch_size=30)  # 30 / 2 replicas, last batch 6
    s = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert s.num_replicas_in_sync == 2
    two = train("small_cnn", tr, va, rec, seed=0, strategy=s, verbose=0)
    one = train("small_cnn", tr, va, rec, seed=0, verbose=0)
    assert len(two.curves) == len(one.curves) == 2 + 4 * 3  # step 0: val loss, f1; steps 1..4: + train loss
    # small_cnn's BatchNorm normalises each replica's half batch by its own statistics (Keras's
    # default), so the two runs legitimately differ; they must still run and give finite curves
    assert np.isfinite(two.curves.value.values).all()
    # without BatchNorm the two agree to float rounding of the summed gradients
    inp = tf.keras.Input((32, 32, 1))
    h = tf.keras.layers.Conv2D(8, 3, activation="relu")(inp)
    h = tf.keras.layers.Flatten()(tf.keras.layers.MaxPooling2D(4)(h))
    out = tf.keras.layers.Activation("softmax")(tf.keras.layers.Dense(4, name="logits")(h))
    from rbdm_core.models import ModelBundle, Preprocess
    def plain():
        tf.keras.utils.set_random_seed(0)
        return ModelBundle(tf.keras.Model(inp, out), Preprocess((32, 32), 1), tr.class_names, "plain")
    base = plain()
    with s.scope():
        two = train(base, tr, va, rec, seed=0, strategy=s, verbose=0)
    one = train(base, tr, va, rec, seed=0, verbose=0)
    diff2 = np.abs(two.curves.value.values - one.curves.value.values).max()
    assert diff2 < 1e-4, diff2
    print("OK", diff2)
""")


@pytest.mark.slow
def test_mirrored_strategy_two_logical_cpus_matches_one_device():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", MIRRORED], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK" in proc.stdout


def test_many_runs_in_one_process_print_no_retracing_notice():
    import logging

    import tensorflow as tf

    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Collect()
    tf.get_logger().addHandler(handler)
    try:
        for s in range(7):
            _run(seed=s % 2)
        tf.get_logger().warning("5 out of the last 5 calls to <f> triggered tf.function retracing.")
        tf.get_logger().warning("some other notice")
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [m for m in seen if "retracing" in m]
    assert "some other notice" in seen


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "garbage", "other-content"])
def test_damaged_checkpoint_is_named_moved_aside_and_recomputed(baseline, tmp_path, damage):
    """A truncated or altered checkpoint.npz (a disk fault, a copy made while in use) is reported
    with its path and step, moved to checkpoint.npz.damaged, and the run recomputed to the same
    weights as an undisturbed run."""
    _run(out_dir=tmp_path, stop_after_steps=8)
    ck = tmp_path / "checkpoint.npz"
    data = ck.read_bytes()
    if damage == "truncate":
        ck.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        ck.write_bytes(b"not a zip file at all")
    else:  # a readable npz whose bytes do not match the recorded checksum
        with np.load(ck) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["w0000"] = arrays["w0000"] + 1
        with open(ck, "wb") as fh:
            np.savez(fh, **arrays)
    with pytest.warns(RuntimeWarning, match=r"checkpoint.npz: damaged artifact of step 'training checkpoint' .*"
                                            r"moved aside to checkpoint.npz.damaged and recomputed"):
        done = _run(out_dir=tmp_path)
    assert done.completed and done.weights_sha256 == baseline.weights_sha256
    assert (tmp_path / "checkpoint.npz.damaged").exists()
