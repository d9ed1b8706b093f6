"""The leak probes' intervals and the CNN-side probes (rbdm_core.leakage, statistics): the corrected
resampled t and the held-out binomial interval by hand and by simulation, repeated fold splits, the
stratified held-out split, the F1 of guessing by simulation, the generated outline sentence, and, on
a world where the class sets where a square is removed, a CNN probe and a trained Trainee that read
the outline."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rbdm_core.curves import guess_f1, macro_f1
from rbdm_core.leakage import held_out_split, leak_summary, leak_table, masks_over_other_images, other_images, ridge_probe
from rbdm_core.outline import OUTLINE_IMAGES, outline_sentence
from rbdm_core.statistics import balanced_accuracy_interval, interval, resampled_interval


def test_resampled_interval_by_hand():
    v = np.array([0.30, 0.34, 0.28, 0.33, 0.31, 0.29, 0.35, 0.32, 0.30, 0.33])
    j, ratio = len(v), 1 / 4
    half = stats.t.ppf(0.975, j - 1) * math.sqrt((1 / j + ratio) * v.var(ddof=1))
    iv = resampled_interval(v, ratio)
    assert iv.mean == pytest.approx(v.mean()) and iv.n == j and iv.method == "corrected t"
    assert (iv.low, iv.high) == pytest.approx((v.mean() - half, v.mean() + half))
    # wider than the naive t over the same scores by sqrt(1 + J * ratio)
    naive = interval(v)
    assert iv.half_width / naive.half_width == pytest.approx(math.sqrt(1 + j * ratio))
    with pytest.raises(ValueError, match="test_train_ratio"):
        resampled_interval(v, 0)


def test_balanced_accuracy_interval_by_hand():
    y = np.array([0] * 10 + [1] * 20)
    p = np.array([0] * 8 + [1] * 2 + [1] * 15 + [0] * 5)  # recalls 0.8 and 0.75
    iv = balanced_accuracy_interval(y, p)
    z = stats.norm.ppf(0.975)
    adj = lambda k, n: (k + z * z / 2) / (n + z * z)
    var = (adj(8, 10) * (1 - adj(8, 10)) / (10 + z * z) + adj(15, 20) * (1 - adj(15, 20)) / (20 + z * z)) / 4
    assert iv.mean == pytest.approx((0.8 + 0.75) / 2) and iv.n == 30
    assert iv.half_width == pytest.approx(z * math.sqrt(var))
    # a class recalled always still has a spread
    assert balanced_accuracy_interval([0, 0, 1, 1], [0, 0, 1, 1]).half_width > 0


def test_balanced_accuracy_interval_covers():
    """Simulated held-out sets of a fixed classifier with known recalls: about 95 % coverage."""
    rng = np.random.default_rng(0)
    recalls, n_c = np.array([0.6, 0.3, 0.45]), np.array([40, 25, 60])
    truth = recalls.mean()
    hits = 0
    for _ in range(2000):
        y = np.repeat(np.arange(3), n_c)
        right = rng.uniform(size=y.size) < recalls[y]
        p = np.where(right, y, (y + 1) % 3)
        iv = balanced_accuracy_interval(y, p)
        hits += iv.low <= truth <= iv.high
    assert 0.93 <= hits / 2000 <= 0.97


def test_ridge_probe_repeats():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 150)
    x = np.eye(3)[y] + rng.normal(size=(150, 3))
    one = ridge_probe(x, y, 3, folds=5)
    many = ridge_probe(x, y, 3, folds=5, repeats=3)
    assert many.shape == (15,)
    np.testing.assert_array_equal(many[:5], one)  # repeat 0 is the single split
    assert not np.array_equal(many[5:10], many[:5])  # the others split anew
    with pytest.raises(ValueError, match="repeats"):
        ridge_probe(x, y, 3, repeats=0)


def test_leak_summary_is_the_corrected_interval():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (120, 8, 8, 1), dtype=np.uint8)
    labels = rng.integers(0, 2, 120)
    masks = rng.uniform(size=(120, 8, 8)) < 0.5
    table = leak_table(images, labels, 2, {"m": masks}, fills=("zero",), folds=4, repeats=2)
    assert set(table.repeat) == {0, 1} and set(table.fold) == {0, 1, 2, 3}
    s = leak_summary(table)
    for _, row in s.iterrows():
        scores = table[(table.masks == row.masks) & (table.fill == row.fill) & (table.probe == row.probe)]
        v = scores.balanced_accuracy.to_numpy()
        half = stats.t.ppf(0.975, 7) * math.sqrt((1 / 8 + 1 / 3) * v.var(ddof=1))
        assert row.n == 8
        assert (row.ci_low, row.ci_high) == pytest.approx((v.mean() - half, v.mean() + half))


def test_held_out_split_is_stratified():
    y = np.array([0] * 50 + [1] * 20 + [2] * 3 + [3])
    tr, te = held_out_split(y, 0.3, seed=1)
    assert len(np.intersect1d(tr, te)) == 0 and sorted(np.concatenate([tr, te])) == list(range(len(y)))
    counts = np.bincount(y[te], minlength=4)
    assert list(counts) == [15, 6, 1, 0]  # round(0.3 n), at least one, never the whole class
    with pytest.raises(ValueError, match="held_out"):
        held_out_split(y, 1.0)


def test_guess_f1_by_simulation():
    assert guess_f1(np.repeat(np.arange(4), 25), 4) == pytest.approx(0.25)
    rng = np.random.default_rng(5)
    y = rng.choice(5, size=20000, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    simulated = np.mean([macro_f1(y, rng.integers(0, 5, y.size), 5) for _ in range(20)])
    assert guess_f1(y, 5) == pytest.approx(simulated, abs=0.003)


def _scores(plain, masked, over, variant="mean", fill="zero"):
    rows = []
    for images, vals in zip(OUTLINE_IMAGES, (plain, masked, over)):
        rows += [{"variant": variant, "seed": s, "fill": fill, "images": images, "f1": v} for s, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_outline_sentence_follows_the_intervals():
    guess = 0.1
    reads = outline_sentence(_scores([0.06, 0.05, 0.07], [0.40, 0.41, 0.39], [0.39, 0.41, 0.38]), guess)
    assert "below the 0.100 of guessing" in reads and "reads the class from the masks' outline" in reads
    assert "an interval around zero" in reads
    faces = outline_sentence(_scores([0.3, 0.32, 0.31], [0.40, 0.41, 0.42], [0.20, 0.22, 0.21]), guess)
    assert "above the 0.100" in faces and "the faces add" in faces
    none = outline_sentence(_scores([0.3, 0.32, 0.31], [0.40, 0.41, 0.42], [0.05, 0.15, 0.10]), guess)
    assert "no reading of the outline measured" in none and "not distinguishable from guessing" in none
    with pytest.raises(ValueError, match="one variant"):
        outline_sentence(pd.concat([_scores([0.1] * 3, [0.1] * 3, [0.1] * 3),
                                    _scores([0.1] * 3, [0.1] * 3, [0.1] * 3, variant="negative")]), guess)


def test_masks_over_other_images_carry_the_mask_not_the_image():
    rng = np.random.default_rng(6)
    images = rng.integers(1, 256, (10, 6, 6, 1), dtype=np.uint8)
    masks = rng.uniform(size=(10, 6, 6)) < 0.5
    out = masks_over_other_images(images, masks, "zero", seed=2)
    j = other_images(10, 2)
    np.testing.assert_array_equal(out[..., 0] == 0, ~masks)  # mask i's holes in row i
    np.testing.assert_array_equal(out[masks], images[j][masks])  # kept pixels: image j's


# ------------------------------------------------------------------ CNN-side probes (train small models)
def _square_world(n, seed):
    """Noise images; the class (0..2) sets where an 8x8 square is removed (left, middle, right)."""
    from rbdm_core.data.dataset import Dataset

    rng = np.random.default_rng(seed)
    images = rng.integers(40, 216, size=(n, 24, 24, 1), dtype=np.uint8)
    labels = np.arange(n) % 3
    masks = np.ones((n, 24, 24), bool)
    for i, c in enumerate(labels):
        y0 = rng.integers(0, 16)
        masks[i, y0:y0 + 8, 8 * c:8 * c + 8] = False
    names = ("neutral", "happiness", "surprise")
    return Dataset(images, labels, names, split=np.array(["Training"] * n)), masks


RECIPE_KW = dict(epochs=6, batch_size=32, eval_every=1000, augment=False, class_weighted=False)


@pytest.mark.slow
def test_cnn_probe_reads_the_outline_only_where_there_is_one():
    from dataclasses import replace

    from rbdm_core.leakage import cnn_probe
    from rbdm_core.training import Recipe

    ds, masks = _square_world(480, 0)
    recipe = Recipe(**RECIPE_KW)
    outline = cnn_probe(replace(ds, images=masks_over_other_images(ds.images, masks, "zero")), "tiny_cnn", recipe)
    noise = cnn_probe(ds, "tiny_cnn", recipe)
    assert outline.n == 144 and outline.low > 0.8  # 30 % of 480 held out; the square's place is the class
    assert noise.low <= 1 / 3 <= noise.high  # noise images: chance inside the interval


@pytest.mark.slow
def test_trainee_outline_scores_separate_outline_from_faces():
    from rbdm_core.outline import trainee_outline_scores
    from rbdm_core.training import GIVEN, Recipe, Variant, train

    tr, mt = _square_world(480, 1)
    va, mv = _square_world(150, 2)
    va = type(va)(va.images, va.labels, va.class_names, split=np.array(["PublicTest"] * len(va)))
    res = train("tiny_cnn", tr, va, Recipe(**RECIPE_KW), Variant("square", GIVEN, None), masks=mt, seed=0,
                verbose=0, val_masks=mv)
    s = trainee_outline_scores([res], va, {GIVEN: mv}).set_index("images").f1
    plain_again = s["plain"]
    curves = res.curves[(res.curves.split == "validation") & (res.curves.metric == "f1")]
    assert plain_again == pytest.approx(float(curves.value.iloc[-1]))  # the last weights, as the curves scored them
    assert s["mask over other images"] > 0.8 and s["masked"] > 0.8  # it reads where the square is
    assert s["plain"] < 0.5  # plain noise images carry no square

    # the report: its summary holds the curves' F1 at the switch and these scores; it names the reader
    from rbdm_core.outline import OUTLINE_COLUMNS, outline_report

    with_one = outline_report([res], va, {GIVEN: mv}, switch_step=30)
    assert with_one.readers == []  # one seed: no interval, so no claim
    res2 = train("tiny_cnn", tr, va, Recipe(**RECIPE_KW), Variant("square", GIVEN, None), masks=mt, seed=1,
                 verbose=0, val_masks=mv)
    rep = outline_report([res, res2], va, {GIVEN: mv}, switch_step=30)
    got = rep.summary.set_index("column")["mean"]
    assert list(rep.summary.column) == [c for c in OUTLINE_COLUMNS]
    masked_curve = res.curves[(res.curves.split == "validation-masked") & (res.curves.metric == "f1")]
    second = res2.curves[(res2.curves.split == "validation-masked") & (res2.curves.metric == "f1")]
    by_hand = [float(c[c.step <= 30].value.iloc[-1]) for c in (masked_curve, second)]
    assert got["at the switch, masked"] == pytest.approx(np.mean(by_hand))
    assert got["final, mask over other images"] == pytest.approx(
        rep.scores[rep.scores.images == "mask over other images"].f1.mean())
    assert rep.scores[(rep.scores.seed == 0) & (rep.scores.images == "plain")].f1.iloc[0] == pytest.approx(s["plain"])
    assert rep.readers == ["square"] and rep.guess == pytest.approx(1 / 3)
    assert rep.readers_sentence("zero").startswith("1 of 1 masked-throughout variants read the outline (zero fill)")


def _run(variant, seed, plain, masked=None):
    """A stand-in TrainResult: curves with two evaluations, the last one at F1 `plain` (and `masked`)."""
    from types import SimpleNamespace

    rows = []
    for step, scale in ((10, 0.5), (20, 1.0)):
        rows.append([variant, seed, step, 1.0, "validation", "f1", plain * scale])
        if masked is not None:
            rows.append([variant, seed, step, 1.0, "validation-masked", "f1", masked * scale])
    cols = ["variant", "seed", "step", "epoch", "split", "metric", "value"]
    return SimpleNamespace(curves=pd.DataFrame(rows, columns=cols))


def test_final_by_images_and_gap_lines_by_hand():
    from rbdm_core.outline import curves_by_images, final_by_images, gap_lines

    zero = [_run("no-mask", s, 0.4) for s in range(3)] + [_run("mean", s, 0.06 + 0.01 * s, 0.40 + 0.01 * s)
                                                          for s in range(3)]
    road = zero[:3] + [_run("mean", s, 0.38 + 0.02 * s, 0.37 + 0.03 * s) for s in range(3)]
    finals = final_by_images({"zero": zero, "noisy_linear": road})
    mean_zero = finals[(finals.fill == "zero") & (finals.variant == "mean")]
    assert list(mean_zero.plain) == pytest.approx([0.06, 0.07, 0.08])
    assert list(mean_zero.masked) == pytest.approx([0.40, 0.41, 0.42])
    assert finals[finals.variant == "no-mask"].masked.isna().all()
    lines = gap_lines(finals)
    # zero: gaps 0.34 each, interval above zero; noisy_linear: gaps -0.01, 0, 0.01 -> interval holds zero
    assert lines[0] == "zero fill: final F1 on masked minus on plain images lies above zero (95% CI) for 1 of 1 masked variants: mean"
    assert lines[1].startswith("noisy_linear fill:") and "for 0 of 1 masked variants" in lines[1]
    cv = curves_by_images({"zero": zero}, ["mean"])
    assert set(cv.curve) == {"mean, zero fill, plain images", "mean, zero fill, masked images"} and len(cv) == 12
