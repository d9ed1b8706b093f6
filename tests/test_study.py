"""The study (rbdm_core.study, study_design, dose_response, data.worlds, masking.controls): its
worlds, its control masks, its measures and intervals against hand computations, and a real run
of `rbdm study --profile quick` end to end, resumed."""

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rbdm_core import dose_response as dr
from rbdm_core import study
from rbdm_core.data.worlds import WORLDS, make_world, patch_box
from rbdm_core.leakage import ridge_probe
from rbdm_core.masking import mean_mask, top_k_flat
from rbdm_core.masking.controls import dial, matched_random, oracle_precision
from rbdm_core.study_design import DESIGNS, Design, phase_one_variants, phase_two, plan


@pytest.fixture(scope="module")
def small_all():
    return make_world("all", max_per_class=40, val_per_class=4, test_per_class=12)


def test_oracle_outline_carries_no_label(small_all):
    w = small_all
    x = w.oracle_pool.reshape(len(w.oracle_pool), -1).astype(np.float32)
    acc = ridge_probe(x, w.pool.labels, 8)  # balanced accuracy per fold
    chance = 1 / 8
    half = stats.t.ppf(0.975, len(acc) - 1) * np.std(acc, ddof=1) / math.sqrt(len(acc))
    assert abs(np.mean(acc) - chance) <= max(half, 0.03)  # at chance
    # the same probe reads the class from the class regions: it is able to find a label
    regions = ridge_probe(w.pool.regions.reshape(len(w.pool.regions), -1).astype(np.float32), w.pool.labels, 8)
    assert np.mean(regions) > 0.5
    # the oracle lies on the face: it covers most of the class regions, and nothing an occluder hides
    assert (w.oracle_pool & w.pool.regions).sum() / w.pool.regions.sum() > 0.5


def test_cue_flipped_set_flips_only_the_patch(small_all):
    w = small_all
    box = patch_box()
    diff = (w.test.images != w.flipped.images)[..., 0]
    assert not diff[:, ~box].any()  # nothing outside the patch's reach changed
    assert diff[:, box].any(axis=1).mean() > 0.9  # and the patch is there in (almost) every flipped image
    assert np.array_equal(w.test.labels, w.flipped.labels)
    plain = make_world("clutter", max_per_class=2, val_per_class=1, test_per_class=3)
    assert np.array_equal(plain.test.images, plain.flipped.images)  # no spurious factor: nothing to flip


def test_training_sets_are_nested_and_balanced(small_all):
    a, b = small_all.training_index(5), small_all.training_index(20)
    assert set(a) <= set(b)
    assert np.bincount(small_all.pool.labels[b], minlength=8).tolist() == [20] * 8
    with pytest.raises(ValueError, match=r"train_per_class: expected an int in 1..40"):
        small_all.training_index(41)
    with pytest.raises(ValueError, match="world: expected one of"):
        make_world("fog")


def test_random_mask_keeps_the_relevance_masks_share_image_by_image():
    rng = np.random.default_rng(3)
    maps = rng.normal(size=(6, 12, 12))
    m = mean_mask(maps)
    r = matched_random(m, seed=5)
    assert np.array_equal(r.reshape(6, -1).sum(1), m.reshape(6, -1).sum(1))
    assert not np.array_equal(r, m)


def test_dial_endpoints_and_kept_counts():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(4, 10, 10))
    oracle = np.zeros((4, 10, 10), bool)
    oracle[:, 2:6, 3:8] = True
    oracle[1, 0, 0] = True
    kept = oracle.reshape(4, -1).sum(1)
    assert np.array_equal(dial(maps, oracle, kept, 1.0), oracle)  # q = 1: the oracle itself
    top = top_k_flat(maps.reshape(4, -1), int(kept[0]))[[0, 2, 3]].reshape(3, 10, 10)
    assert np.array_equal(dial(maps, oracle, kept, 0.0)[[0, 2, 3]], top)  # q = 0: the Trainer's top pixels
    prec = [oracle_precision(dial(maps, oracle, kept, q), oracle).mean() for q in (0, 0.25, 0.5, 0.75, 1)]
    assert all(b >= a for a, b in zip(prec, prec[1:])) and prec[-1] == 1.0
    for q in (0.25, 0.5):
        assert np.array_equal(dial(maps, oracle, kept, q).reshape(4, -1).sum(1), kept)
    with pytest.raises(ValueError, match=r"q: expected a number in \[0, 1\]"):
        dial(maps, oracle, kept, 1.5)


def _runs():
    """Two conditions' runs: no mask and two variants, 4 seeds, by hand."""
    rows = []
    vals = {"no-mask": [0.30, 0.32, 0.28, 0.31], "oracle": [0.40, 0.45, 0.38, 0.44], "mean": [0.29, 0.35, 0.27, 0.30]}
    for world in ("spurious", "clutter"):
        for v, xs in vals.items():
            for seed, x in enumerate(xs):
                rows.append({"world": world, "train_per_class": 20, "trainer": "none" if v != "mean" else "strong",
                             "fill": "none" if v == "no-mask" else "zero", "variant": v, "seed": seed,
                             "final_f1_test": x, "final_f1_val": x})
    return pd.DataFrame(rows)


def test_effects_intervals_equal_a_hand_computation():
    eff = dr.effects(_runs(), 0.95, metrics=("final_f1_test",))
    row = eff[(eff.world == "spurious") & (eff.variant == "oracle")].iloc[0]
    d = np.array([0.40, 0.45, 0.38, 0.44]) - np.array([0.30, 0.32, 0.28, 0.31])
    m = 2  # two comparisons with no mask in the condition: Bonferroni
    half = stats.t.ppf(1 - 0.05 / m / 2, 3) * d.std(ddof=1) / 2
    assert row["diff"] == pytest.approx(d.mean())
    assert row.low == pytest.approx(d.mean() - half) and row.high == pytest.approx(d.mean() + half)
    assert row.comparisons == 2 and row.seeds == 4 and row.verdict == "higher"
    mean = eff[(eff.world == "spurious") & (eff.variant == "mean")].iloc[0]
    assert mean.low < 0 < mean.high and mean.verdict == "cannot tell"  # an interval across 0 cannot tell
    assert set(eff.columns) >= {"world", "train_per_class", "trainer", "fill", "variant", "metric", "seeds", "diff",
                                "low", "high", "verdict"}


def test_auc_and_steps_to_target_with_censoring():
    runs = _runs()[lambda r: r.world == "spurious"]
    curves = []
    for _, r in runs.iterrows():
        top = r.final_f1_val
        curves.append(pd.DataFrame({**{k: r[k] for k in ["world", "train_per_class", "trainer", "fill", "variant", "seed"]},
                                    "step": [0, 10, 20], "value": [0.0, top if r.variant == "oracle" else top / 2, top]}))
    design = replace(DESIGNS["quick"], reach_fraction=0.9, eval_every=10)
    out = dr.add_speed(runs.reset_index(drop=True), pd.concat(curves, ignore_index=True), design)
    target = 0.9 * np.mean([0.30, 0.32, 0.28, 0.31])
    assert out.target.iloc[0] == pytest.approx(target)
    o = out[(out.variant == "oracle") & (out.seed == 0)].iloc[0]
    assert o.steps_to_target == 10 and o.reached
    assert o.auc == pytest.approx((0.40 / 2 * 10 + (0.40 + 0.40) / 2 * 10) / 20)
    n = out[(out.variant == "no-mask") & (out.seed == 2)].iloc[0]  # 0.28 >= target 0.272: reached at the last step
    assert n.steps_to_target == 20 and n.reached
    low = out[(out.variant == "mean") & (out.seed == 2)].iloc[0]  # 0.27 never reaches 0.2727: censored
    assert not low.reached and low.steps_to_target == 20 + 10  # last step plus one evaluation interval


def test_plan_has_every_control_in_every_condition():
    d = DESIGNS["standard"]
    runs = plan(d)
    assert len(d.seeds) >= 8
    per = {(r.world, r.train_per_class) for r in runs}
    assert per == set(d.conditions)
    for cond in d.conditions:  # every condition has the ceiling and the floor beside the paper's masks
        vs = {(r.variant, r.fill) for r in runs if (r.world, r.train_per_class) == cond}
        assert {("no-mask", "none"), ("oracle-then-unmasked", "noisy_linear"), ("oracle-then-unmasked", "zero"),
                ("random-mean-then-unmasked", "noisy_linear"), ("mean-then-unmasked", "zero"),
                *((f"{m}-then-unmasked", "noisy_linear") for m in ("negative", "mean", "perceptive"))} <= vs
    assert {r.fill for r in runs} == {"none", "zero", "noisy_linear"}
    full = {(r.variant, r.fill) for r in plan(replace(d, phase_one=None))}  # the full factorial
    assert {(f"{b}{s}", "zero") for b in ("negative", "mean", "perceptive", "oracle", "random-negative", "random-mean",
                                           "random-perceptive") for s in ("", "-then-unmasked")} <= full
    two = phase_two(d, "spurious", 20, "", "zero")
    assert {r.trainer for r in two} == {"strong", "weak"} and any(r.variant.startswith("dial-") for r in two)
    assert len(set(runs)) == len(runs)
    with pytest.raises(ValueError, match="world 'fog' is unknown"):
        Design("x", conditions=(("fog", 20),), seeds=(0, 1))
    assert phase_one_variants(d)[0] == ("none", "none", "no-mask")


def test_bad_arguments_are_named_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="workers: expected a positive int"):
        study.run("quick", run_dir=tmp_path, workers=0, progress=False)
    with pytest.raises(ValueError, match=r"unknown profile 'huge'; the study's profiles are \['standard', 'quick'\]"):
        study.run("huge", run_dir=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())


def test_quick_study_runs_end_to_end_and_resumes(tmp_path):
    cmd = [sys.executable, "-m", "rbdm_core.cli", "study", "--profile", "quick", "--run-dir", str(tmp_path),
           "--no-progress"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    out = tmp_path / "study-quick" / "study"
    r = study.load(out)
    d = DESIGNS["quick"]
    assert set(map(tuple, r.runs[["world", "train_per_class"]].drop_duplicates().to_numpy())) == set(d.conditions)
    for _, e in r.effects.groupby(["world", "train_per_class"]):  # the ceiling and the floor in every condition
        assert "oracle" in set(e.variant) and any(v.startswith("random-") for v in e.variant)
    assert {"final_f1_test", "auc"} <= set(r.effects.metric)
    assert r.runs.groupby(["world", "train_per_class", "trainer", "fill", "variant"]).seed.nunique().min() == len(d.seeds)
    assert set(r.premise.trainer) == set(d.trainers) and len(r.premise) == len({w for w, _ in d.conditions}) * 2
    meta = r.meta
    assert meta["workers"] == 2 and meta["worker_kernels"]["TF_NUM_INTRAOP_THREADS"] == "1" and meta["seconds"] > 0
    assert meta["phase_two"]["world"] in WORLDS and (r.runs.phase == 2).any()
    assert ((r.runs.final_f1_test >= 0) & (r.runs.final_f1_test <= 1)).all()
    before = (out / "runs.csv").read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900)  # every run cached
    assert again.returncode == 0, again.stderr[-3000:]
    assert (out / "runs.csv").read_bytes() == before
    assert json.loads((out / "meta.json").read_text())["seconds"] < meta["seconds"]


def test_answer_is_counted_from_the_effects_verdicts():
    """Two conditions by hand: the oracle helps in one ("a, 20"), where the strong Trainer's
    perceptive mask gains half of the oracle's 0.10; the random mask falls below no mask once;
    with the zero fill no relevance mask beats no mask."""
    rows = []
    for world, oracle, perc, rnd in (("a", (0.10, "higher"), (0.05, "higher"), (-0.02, "lower")),
                                     ("b", (0.01, "cannot tell"), (-0.01, "cannot tell"), (0.0, "cannot tell"))):
        for trainer, fill, variant, (d, verdict) in (
                ("none", "noisy_linear", "oracle-then-unmasked", oracle),
                ("strong", "noisy_linear", "perceptive-then-unmasked", perc),
                ("strong", "noisy_linear", "random-mean-then-unmasked", rnd),
                ("strong", "zero", "mean-then-unmasked", (-0.03, "lower"))):
            rows.append({"world": world, "train_per_class": 20, "trainer": trainer, "fill": fill, "variant": variant,
                         "metric": "final_f1_test", "diff": d, "low": d - 0.01, "high": d + 0.01, "verdict": verdict})
    text = dr.answer(pd.DataFrame(rows), "strong")
    assert "beats no mask in 1 of 2 conditions: a, 20 per class." in text
    assert ("In 1 of those 1 the strong Trainer's best relevance mask beats no mask as well "
            "(perceptive-then-unmasked, noisy_linear fill), with 50% of the oracle's mean gain.") in text
    assert "beats no mask in 0 of its 2 comparisons and falls below it in 1." in text
    assert "With the zero fill no relevance mask of the strong Trainer beats no mask in any condition." in text
    with pytest.raises(ValueError, match="no effects for metric 'auc'"):
        dr.answer(pd.DataFrame(rows), "strong", "auc")
