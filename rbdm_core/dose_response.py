"""The study's analysis: measures per run, paired effects against no mask, and the sentences.

    add_speed(runs, curves, design)   adds `auc`, `steps_to_target`, `reached` and `target` to runs
    effects(runs, confidence)         one row per comparison with no mask (the effects.csv contract)
    family_size(effects)              the comparisons of each condition (the Bonferroni m)
    helps(effects, premise, ...)      sentences generated from the numbers

Measures (on plain images; PrivateTest was never used to select anything):
    final_f1_test / best_f1_test     macro-F1 on PrivateTest with the last step's weights / with the
                                     weights selected on PublicTest
    final_f1_flipped                 the same faces with the spurious patch showing another class
    auc                              area under the PublicTest F1 curve over training, divided by
                                     the run's steps (the mean F1 over training: learning speed)
    steps_to_target                  the first evaluation at which PublicTest F1 reaches the
                                     condition's target (`reach_fraction` x no mask's mean final
                                     PublicTest F1); a run that never reaches it is counted at its
                                     last step plus one evaluation interval (`reached` False): the
                                     same rule for every variant, a bound that can only shrink a
                                     saving or a loss

The one multiplicity rule: within a condition (world, training images per class) and a measure,
the m comparisons with no mask form one family, and each interval is a paired Student-t interval
over seeds at confidence 1 - (1 - c) / m (Bonferroni), so that the m verdicts of a condition hold
together at c. A verdict is "higher" when the interval lies above 0, "lower" below, else
"cannot tell". Figures draw exactly these intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .statistics import interval
from .study_design import NONE, REFERENCE, THEN, base_name

HIGHER, LOWER, UNCLEAR = "higher", "lower", "cannot tell"
METRICS = ("final_f1_test", "best_f1_test", "auc", "steps_to_target", "final_f1_flipped")
CONDITION = ["world", "train_per_class"]
COMPARISON = ["trainer", "fill", "variant"]


def side(low: float, high: float) -> str:
    """HIGHER when the interval lies wholly above 0, LOWER wholly below, else UNCLEAR."""
    return HIGHER if low > 0 else LOWER if high < 0 else UNCLEAR


def auc(steps: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area under one curve divided by its step range (its mean height)."""
    s, v = np.asarray(steps, np.float64), np.asarray(values, np.float64)
    if len(s) < 2 or s[-1] <= s[0]:
        return float(v[-1]) if len(v) else float("nan")
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(s)) / (s[-1] - s[0]))


def add_speed(runs: pd.DataFrame, curves: pd.DataFrame, design) -> pd.DataFrame:
    """`runs` with auc, target, steps_to_target and reached, from the validation `curves`
    (columns of runs' keys, step, value)."""
    keys = ["world", "train_per_class", "trainer", "fill", "variant", "seed"]
    ref = runs[runs.variant == REFERENCE].groupby(CONDITION).final_f1_val.mean() * design.reach_fraction
    out = []
    for key, c in curves.groupby(keys, sort=False):
        c = c.sort_values("step")
        target = float(ref.loc[tuple(key[:2])])
        hit = c.step[c.value >= target]
        out.append({**dict(zip(keys, key)), "auc": auc(c.step.to_numpy(), c.value.to_numpy()), "target": target,
                    "reached": bool(len(hit)), "steps_to_target": float(hit.iloc[0]) if len(hit) else
                    float(c.step.max() + design.eval_every)})
    return runs.merge(pd.DataFrame(out), on=keys, how="left", validate="one_to_one")


def effects(runs: pd.DataFrame, confidence: float = 0.95, metrics=METRICS) -> pd.DataFrame:
    """One row per (condition, trainer, fill, variant, metric) against no mask, paired by seed:
    world, train_per_class, trainer, fill, variant, metric, seeds, diff (mean over seeds of the
    variant's measure minus no mask's), low, high (the Bonferroni-adjusted interval, see the
    module docstring), verdict, comparisons (m), confidence_each, variant_mean, reference_mean."""
    rows = []
    for cond, r in runs.groupby(CONDITION, sort=True):
        ref = r[r.variant == REFERENCE].set_index("seed")
        if ref.empty:
            raise ValueError(f"effects: no {REFERENCE!r} runs in condition {cond}")
        others = r[r.variant != REFERENCE]
        groups = list(others.groupby(COMPARISON, sort=False))
        m = len(groups)
        conf = 1 - (1 - confidence) / max(m, 1)
        for comp, g in groups:
            g = g.set_index("seed")
            seeds = sorted(set(g.index) & set(ref.index))
            for metric in metrics:
                a, b = g.loc[seeds, metric].to_numpy(np.float64), ref.loc[seeds, metric].to_numpy(np.float64)
                iv = interval(a - b, conf)
                rows.append({**dict(zip(CONDITION, cond)), **dict(zip(COMPARISON, comp)), "metric": metric,
                             "seeds": len(seeds), "diff": iv.mean, "low": iv.low, "high": iv.high,
                             "verdict": side(iv.low, iv.high), "comparisons": m, "confidence_each": conf,
                             "variant_mean": float(np.mean(a)), "reference_mean": float(np.mean(b))})
    return pd.DataFrame(rows)


def schedule_of(variant: str) -> str:
    return "then-unmasked" if variant.endswith(THEN) else "throughout"


def _fmt(row) -> str:
    return f"{row['diff']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def oracle_benefit(eff: pd.DataFrame, metric: str = "final_f1_test") -> pd.DataFrame:
    """Per condition, the oracle variant (schedule and fill) with the largest mean difference."""
    e = eff[(eff.metric == metric) & (eff.variant.map(base_name) == "oracle")]
    return e.loc[e.groupby(CONDITION)["diff"].idxmax()].reset_index(drop=True)


def best_relevance_mask(eff: pd.DataFrame, trainer: str, metric: str = "final_f1_test") -> pd.DataFrame:
    """Per condition, the Trainer's relevance-mask variant with the largest mean difference."""
    e = eff[(eff.metric == metric) & (eff.trainer == trainer)
            & eff.variant.map(lambda v: base_name(v) in ("negative", "mean", "perceptive"))]
    return e.loc[e.groupby(CONDITION)["diff"].idxmax()].reset_index(drop=True)


def helps(eff: pd.DataFrame, premise: pd.DataFrame, trainer: str, metric: str = "final_f1_test") -> list[str]:
    """Sentences, one per condition, generated from effects and premise: does the oracle help
    (the world can show a benefit), where does the Trainer's best relevance mask stand against it
    and against its random control, and which premise fails where it does not help."""
    out = []
    orc = oracle_benefit(eff, metric).set_index(CONDITION)
    rel = best_relevance_mask(eff, trainer, metric).set_index(CONDITION)
    e = eff[eff.metric == metric]
    for cond in orc.index:
        o, r = orc.loc[cond], rel.loc[cond] if cond in rel.index else None
        world, size = cond
        head = f"{world}, {size} per class: "
        if o.verdict != HIGHER:
            out.append(head + f"even the oracle ({o.variant}, {o.fill} fill) does not beat no mask measurably "
                              f"({_fmt(o)}): this condition cannot show a benefit.")
            continue
        s = head + f"the oracle ({o.variant}, {o.fill} fill) beats no mask by {_fmt(o)}"
        if r is None:
            out.append(s + ".")
            continue
        rnd = e[(e.world == world) & (e.train_per_class == size) & (e.trainer == r.trainer) & (e.fill == r.fill)
                & (e.variant == "random-" + r.variant)]
        share = r["diff"] / o["diff"] if o["diff"] > 0 else float("nan")
        s += (f"; the best relevance mask ({r.variant}, {r.fill} fill) {_word(r.verdict)} ({_fmt(r)}), "
              f"{share:.0%} of the oracle's gain")
        if len(rnd):
            x = rnd.iloc[0]
            s += f", its random control {_word(x.verdict)} ({_fmt(x)})"
        p = premise[(premise.world == world) & (premise.trainer == trainer)]
        if len(p) and r.verdict != HIGHER:
            p = p.iloc[0]
            s += (f". The premise that fails here: the Trainer's relevance falls {p.lift:.2f}x as often in the "
                  f"ground-truth regions as their area would give, and its masks keep "
                  f"{p[r.variant.split('-')[0] + '_kept_on_patch'] if r.variant.split('-')[0] + '_kept_on_patch' in p else float('nan'):.2f} "
                  f"of the patch corner")
        out.append(s + ".")
    return out


def _word(verdict: str) -> str:
    return {HIGHER: "beats no mask", LOWER: "falls below no mask", UNCLEAR: "cannot be told from no mask"}[verdict]
