"""Dose-response analysis of the nuisance study, on curve tables whose answers are known by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rbdm_core import dose_response as dr
from rbdm_core import viz

STEPS = [0, 10, 20, 30]
SEEDS = range(5)
OFF = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])  # per-seed offsets (mean 0)


def _rows(level, fill, variant, values, jitter=0.0, masked=None):
    rows = []
    for s in SEEDS:
        for step, v in zip(STEPS, values):
            rows.append((level, fill, variant, s, step, step / 10, "validation", v + jitter * OFF[s]))
            if masked is not None:
                rows.append((level, fill, variant, s, step, step / 10, "validation-masked", masked))
    return rows


@pytest.fixture(scope="module")
def curves():
    rows = []
    # level 0: no mask ends at 0.6 (target 0.54, reached at step 30); negative reaches it at step 10
    # and ends 0.1 higher (+ seed jitter); mean never reaches it (censored) and ends 0.2 lower
    rows += _rows(0.0, "zero", "no-mask", [0.1, 0.3, 0.5, 0.6])
    rows += _rows(0.0, "zero", "negative", [0.1, 0.6, 0.65, 0.7], jitter=1.0, masked=0.4)
    rows += _rows(0.0, "zero", "mean", [0.1, 0.2, 0.3, 0.4], masked=0.5)
    rows += _rows(0.0, "noisy_linear", "negative", [0.1, 0.3, 0.5, 0.6], masked=0.3)
    rows += _rows(0.0, "noisy_linear", "mean", [0.1, 0.3, 0.5, 0.6], masked=0.3)
    # level 1: no mask ends at 0.3 (never reaches level 0's target); negative ends 0.2 higher
    rows += _rows(1.0, "zero", "no-mask", [0.05, 0.1, 0.2, 0.3])
    rows += _rows(1.0, "zero", "negative", [0.05, 0.3, 0.45, 0.5], jitter=2.0, masked=0.4)
    rows += _rows(1.0, "zero", "mean", [0.05, 0.1, 0.15, 0.1], masked=0.5)
    rows += _rows(1.0, "noisy_linear", "negative", [0.05, 0.1, 0.2, 0.3], masked=0.3)
    rows += _rows(1.0, "noisy_linear", "mean", [0.05, 0.1, 0.2, 0.3], masked=0.3)
    return pd.DataFrame(rows, columns=["level", "fill", "variant", "seed", "step", "epoch", "split", "value"])


@pytest.fixture(scope="module")
def table(curves):
    return dr.table(curves, switch_step=10)


def test_runs_targets_and_censoring(table):
    r0 = table[(table.level == 0) & (table.fill == "zero")]
    assert r0.threshold.iloc[0] == pytest.approx(0.54)
    assert (r0[r0.variant == "no-mask"].steps_to_threshold == 30).all()
    assert (r0[r0.variant == "negative"].steps_to_threshold == 10).all()
    assert r0[r0.variant == "mean"].steps_to_threshold.isna().all()
    assert (r0[r0.variant == "negative"].final_f1_masked == 0.4).all()
    assert r0[r0.variant == "no-mask"].final_f1_masked.isna().all()
    # no mask is the reference of both fills at its level
    assert len(table[(table.variant == "no-mask") & (table.fill == "noisy_linear")]) == 10
    assert (table[table.variant == "negative"].early_f1.to_numpy()[:5] == 0.6 + OFF).all()


def test_effects_by_hand(table):
    e = dr.effects(table).set_index(["level", "fill", "variant"])
    neg = e.loc[(0.0, "zero", "negative")]
    d = 0.1 + OFF  # per-seed final differences
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert neg.final_diff == pytest.approx(0.1)
    assert neg.final_diff_low == pytest.approx(0.1 - half) and neg.final_diff_high == pytest.approx(0.1 + half)
    assert neg.final_side == dr.HIGHER
    assert (neg.sooner, neg.later, neg.ties) == (5, 0, 0)
    assert neg.p_sooner == pytest.approx(1 / 32)
    assert neg.steps_saved == pytest.approx(20) and neg.speed == "sooner"
    mean = e.loc[(0.0, "zero", "mean")]
    assert mean.final_diff == pytest.approx(-0.2) and mean.final_side == dr.LOWER
    # censored: counted at its last step (30) plus one evaluation interval (10): 30 - 40
    assert mean.steps_saved == pytest.approx(-10) and mean.speed == "later" and mean.censored == 5
    same = e.loc[(0.0, "noisy_linear", "negative")]
    assert same.final_diff == pytest.approx(0) and same.final_side == dr.UNCLEAR and same.ties == 5
    assert same.speed == dr.UNCLEAR
    assert e.loc[(0.0, "zero", "negative")].final_masked == pytest.approx(0.4)


def test_trend_and_premise(table):
    iv = dr.trend(table, "negative", "zero", 0.0, 1.0)
    d = (0.2 + 2 * OFF) - (0.1 + OFF)
    assert iv.mean == pytest.approx(0.1)
    assert iv.high - iv.mean == pytest.approx(stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5))
    t = dr.trends(table).set_index(["fill", "variant"])
    assert t.loc[("zero", "negative"), "side"] == dr.HIGHER
    assert t.loc[("zero", "mean"), "change"] == pytest.approx((0.1 - 0.3) - (0.4 - 0.6))
    p = dr.premise(table).set_index("level")
    assert p.loc[0.0, "final_f1"] == pytest.approx(0.6) and p.loc[1.0, "final_f1"] == pytest.approx(0.3)
    assert p.loc[1.0, "vs_lowest"] == pytest.approx(-0.3) and p.loc[1.0, "vs_lowest_side"] == dr.LOWER
    assert p.loc[0.0, "reached"] == 5 and p.loc[1.0, "reached"] == 0
    assert p.loc[0.0, "steps_median"] == 30 and np.isnan(p.loc[1.0, "steps_median"])


def test_verdict_sentences_follow_the_numbers(table):
    assert dr.family_confidence(table) == pytest.approx(1 - 0.05 / 2)
    text = dr.verdict(table)
    assert text[0].startswith("Premise: without masks, the final macro-F1 goes from 0.600")
    assert "0 of 5 seeds reach the nuisance-free target F1 0.540 at nuisance 1" in text[0]
    zero = next(s for s in text if s.startswith("With the zero fill"))
    assert "at nuisance 0, 1 of 2 masked variants end above no mask, 1 below and 0 cannot be told apart; " \
           "1 reach the target sooner and 1 later" in zero
    assert "rises for negative" in zero
    nl = next(s for s in text if s.startswith("With the noisy_linear fill"))
    assert "0 of 2 masked variants end above no mask, 0 below and 2 cannot be told apart" in nl


def test_figure_has_a_trace_per_variant_row_and_fill(table):
    fig = viz.dose_response(dr.effects(table), fills=["zero", "noisy_linear"])
    assert len(fig.data) == 2 * 2 * 2  # variants x rows x fills
    tr = next(t for t in fig.data if t.name == "negative" and t.yaxis == "y3")  # final F1, zero fill
    assert list(np.round(tr.y, 6)) == [0.1, 0.2]


def test_bad_curves_are_named():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['fill', 'level'\]"):
        dr.runs(pd.DataFrame({"variant": [], "seed": [], "step": [], "split": [], "value": []}))
    c = pd.DataFrame([(0.0, "zero", "negative", 0, 0, 0.0, "validation", 0.1)],
                     columns=["level", "fill", "variant", "seed", "step", "epoch", "split", "value"])
    with pytest.raises(ValueError, match="no 'no-mask' runs at nuisance level 0.0"):
        dr.runs(c)


def test_trainer_sentences_from_the_premise_table():
    pre = pd.DataFrame([{"level": 1.0, "trainer_f1": 0.5, "relevance_in_regions": 0.3, "regions_area": 0.1,
                         "relevance_on_patch": 0.05, "patch_area": 0.025, "negative_kept": 0.9,
                         "negative_kept_on_patch": 0.5, "mean_kept": 0.3, "mean_kept_on_patch": 0.75,
                         "perceptive_kept": 0.1, "perceptive_kept_on_patch": 0.2}])
    (s,) = dr.trainer_sentences(pre)
    assert "validation F1 is 0.500; 0.300 of its positive relevance falls in the class regions, which cover " \
           "0.100 of the image (lift 3.00)" in s
    assert "mean 0.75 of it (of the image: 0.30)" in s
