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

from dataclasses import replace

import numpy as np
import pandas as pd

from .statistics import interval
from .study_design import NONE, REFERENCE, THEN, base_name, get_design, plan

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


def schedule_name(schedule: str) -> str:
    """"then-unmasked" or "throughout" from a schedule as meta.json records it ("-then-unmasked",
    "throughout" or "")."""
    return "then-unmasked" if schedule.endswith("then-unmasked") else "throughout"


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


def _condition_rows(eff: pd.DataFrame, cond) -> pd.DataFrame:
    return eff[(eff.world == cond[0]) & (eff.train_per_class == cond[1])]


def helps(eff: pd.DataFrame, premise: pd.DataFrame, trainer: str, metric: str = "final_f1_test") -> list[str]:
    """Sentences, one per condition, generated from effects and premise: does the oracle help
    (can the world show a benefit at all), where does the Trainer's best relevance mask stand
    against it and against the random control of its fill and schedule, and what the premise
    table says where the relevance mask does not help."""
    out = []
    e = eff[eff.metric == metric]
    orc = oracle_benefit(eff, metric).set_index(CONDITION)
    rel = best_relevance_mask(eff, trainer, metric).set_index(CONDITION)
    for cond in orc.index:
        o = orc.loc[cond]
        world, size = cond
        head = f"**{world}, {size} training images per class.** "
        if o.verdict != HIGHER:
            out.append(head + f"Even the oracle ({o.variant}, {o.fill} fill) is not measurably better than no mask "
                              f"({_fmt(o)}): this condition cannot show a benefit, so it says nothing for or against "
                              "the method.")
            continue
        s = head + f"The oracle ({o.variant}, {o.fill} fill) beats no mask by {_fmt(o)}: here a mask can help."
        if cond not in rel.index:
            out.append(s)
            continue
        r = rel.loc[cond]
        share = r["diff"] / o["diff"]
        s += (f" The Trainer's best relevance mask ({r.variant}, {r.fill} fill) {_word(r.verdict)} ({_fmt(r)}; "
              f"{share:.0%} of the oracle's mean gain).")
        c = _condition_rows(e, cond)
        rnd = c[(c.trainer == r.trainer) & (c.fill == r.fill) & c.variant.str.startswith("random-")
                & (c.variant.map(schedule_of) == schedule_of(r.variant))]
        if len(rnd):
            x = rnd.iloc[0]
            kept_as = base_name(x.variant)[len("random-"):]
            s += (f" A random mask keeping the {kept_as} mask's share of pixels, image by image ({x.variant}), "
                  f"{_word(x.verdict)} ({_fmt(x)}).")
        p = premise[(premise.world == world) & (premise.trainer == trainer)]
        if len(p) and r.verdict != HIGHER:
            p = p.iloc[0]
            mask = base_name(r.variant)
            s += (f" What fails: the Trainer's F1 on this world's test images is {p.trainer_f1_test:.3f}, its "
                  f"relevance falls in the ground-truth regions {p.lift:.2f} times as often as their area would "
                  f"give, and the {mask} mask keeps {p[mask + '_kept']:.0%} of the image against the oracle's "
                  f"{p.oracle_kept:.0%}.")
        out.append(s)
    return out


def _word(verdict: str) -> str:
    return {HIGHER: "beats no mask", LOWER: "falls below no mask", UNCLEAR: "cannot be told from no mask"}[verdict]


def shortcut(runs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per condition and variant: mean PrivateTest F1 with the patch flipped minus without it
    (paired by seed, interval over seeds at `confidence`): how much the Trainee reads the patch."""
    rows = []
    for key, g in runs.groupby([*CONDITION, *COMPARISON], sort=False):
        iv = interval(g.final_f1_flipped.to_numpy(np.float64) - g.final_f1_test.to_numpy(np.float64), confidence)
        rows.append({**dict(zip([*CONDITION, *COMPARISON], key)), "flip_cost": iv.mean, "low": iv.low,
                     "high": iv.high, "verdict": side(iv.low, iv.high)})
    return pd.DataFrame(rows)


def summary_table(eff: pd.DataFrame, metrics=("final_f1_test", "auc", "final_f1_flipped")) -> pd.DataFrame:
    """effects as one row per comparison, one text column per metric: "diff [low, high] verdict"."""
    e = eff[eff.metric.isin(metrics)].copy()
    e["text"] = [f"{_fmt(r)} {r.verdict}" for _, r in e.iterrows()]
    t = e.pivot_table(index=[*CONDITION, *COMPARISON], columns="metric", values="text", aggfunc="first", sort=False)
    return t[[m for m in metrics if m in t.columns]].reset_index()


def trainer_summary(premise: pd.DataFrame) -> str:
    """One sentence per Trainer from premise.csv: its F1 and lift range over the worlds."""
    parts = []
    for t, g in premise.groupby("trainer", sort=False):
        parts.append(f"The {t} Trainer's F1 on the Trainee's test images ranges from {g.trainer_f1_test.min():.3f} to "
                     f"{g.trainer_f1_test.max():.3f} over the worlds, and its relevance falls in the ground-truth "
                     f"regions {g.lift.min():.2f} to {g.lift.max():.2f} times as often as their area would give "
                     f"({g.patch_lift.min():.2f} to {g.patch_lift.max():.2f} on the patch corner; 1 is chance).")
    return " ".join(parts)


def teacher_sentence(eff: pd.DataFrame, premise: pd.DataFrame, where: dict, primary: str,
                     metric: str = "final_f1_test") -> str:
    """Phase two's condition: the dial's benefit from q = 0 to the oracle, and the weak Trainer's
    mask against the strong one's, each with its verdict."""
    c = _condition_rows(eff[eff.metric == metric], (where["world"], where["train_per_class"]))
    dial = c[c.variant.map(lambda v: base_name(v).startswith("dial-"))].copy()
    dial["q"] = dial.variant.map(lambda v: float(base_name(v).split("-", 1)[1]))
    sched = schedule_name(where["schedule"])
    orc = c[(c.variant.map(base_name) == "oracle") & (c.fill == where["fill"]) & (c.variant.map(schedule_of) == sched)]
    out = []
    if len(dial) and len(orc):
        pts = [f"q = {r.q:g}: {_fmt(r)} ({r.verdict})" for _, r in dial.sort_values("q").iterrows()]
        o = orc.iloc[0]
        out.append("Along the dial, the difference from no mask is " + "; ".join(pts) +
                   f"; the oracle itself (q = 1): {_fmt(o)} ({o.verdict}).")
    others = c[~c.trainer.isin([primary, NONE])]
    for _, r in others.iterrows():
        same = c[(c.trainer == primary) & (c.variant == r.variant) & (c.fill == r.fill)]
        p = premise[(premise.world == where["world"]) & (premise.trainer == r.trainer)]
        s = f"The {r.trainer} Trainer's {r.variant} mask: {_fmt(r)} ({r.verdict})"
        if len(same):
            s += f", against the {primary} Trainer's {_fmt(same.iloc[0])} ({same.iloc[0].verdict})"
        if len(p):
            s += f"; its F1 on this world's test images is {p.iloc[0].trainer_f1_test:.3f}, lift {p.iloc[0].lift:.2f}"
        out.append(s + ".")
    return " ".join(out) if out else "Phase two ran no dial or second Trainer."


def cost_sentence(meta: dict) -> str:
    """What the study cost (from meta.json) and what the full factorial of its conditions would
    cost at the same measured rate (every relevance mask, the oracle and every random control in
    both schedules, with both fills)."""
    design = get_design(meta["design"]["name"])
    full = len(plan(replace(design, phase_one=None)))
    rate = meta["seconds"] / meta["runs"]
    return (f"This study ran {meta['runs']} Trainee runs in {meta['seconds'] / 60:.1f} min ({rate:.1f} s a run with "
            f"{meta['workers']} workers). The full factorial of its {len(design.conditions)} conditions would be "
            f"{full} runs, about {full * rate / 60:.0f} min at that rate.")


def _share_range(shares: list[float]) -> str:
    lo, hi = min(shares), max(shares)
    return f"{lo:.0%}" if round(lo, 2) == round(hi, 2) else f"{lo:.0%} to {hi:.0%}"


def answer(eff: pd.DataFrame, trainer: str, metric: str = "final_f1_test") -> str:
    """The study's answer in one paragraph, generated from the effects table (the family-wise
    verdicts of `effects`): in how many conditions the oracle beats no mask (room for a benefit),
    in how many of those the Trainer's best relevance mask does too and with what share of the
    oracle's mean gain, how the random control fares, and the fills under which no relevance mask
    of the Trainer beats no mask anywhere."""
    if eff.empty or metric not in set(eff.metric):
        raise ValueError(f"answer: no effects for metric {metric!r} (metrics: {sorted(set(eff.metric))})")
    e = eff[eff.metric == metric]
    orc = oracle_benefit(eff, metric).set_index(CONDITION)
    rel = best_relevance_mask(eff, trainer, metric).set_index(CONDITION)
    helped = [c for c in orc.index if orc.loc[c].verdict == HIGHER]
    s = (f"**When does masking help?** In this SYNTHETIC controlled study (measure `{metric}`, family-wise "
         f"intervals), the oracle mask, which no Trainer could beat, beats no mask in {len(helped)} of "
         f"{len(orc)} conditions")
    s += (": " + "; ".join(f"{w}, {k} per class" for w, k in helped) + "." if helped else
          ": no condition leaves room for a mask to help.")
    if helped:
        won = [c for c in helped if c in rel.index and rel.loc[c].verdict == HIGHER]
        s += f" In {len(won)} of those {len(helped)} the {trainer} Trainer's best relevance mask beats no mask as well"
        if won:
            names = sorted({f"{rel.loc[c].variant}, {rel.loc[c].fill} fill" for c in won})
            shares = [float(rel.loc[c, "diff"] / orc.loc[c, "diff"]) for c in won]
            s += f" ({'; '.join(names)}), with {_share_range(shares)} of the oracle's mean gain"
        s += "."
    rnd = e[(e.trainer == trainer) & e.variant.str.startswith("random-")]
    if len(rnd):
        up, down = int((rnd.verdict == HIGHER).sum()), int((rnd.verdict == LOWER).sum())
        s += (f" A random mask keeping as many pixels beats no mask in {up} of its {len(rnd)} comparisons and "
              f"falls below it in {down}.")
    masks = e[(e.trainer == trainer) & e.variant.map(lambda v: base_name(v) in ("negative", "mean", "perceptive"))]
    never = [f for f, g in masks.groupby("fill", sort=False) if not (g.verdict == HIGHER).any()]
    if never:
        s += (" With the " + " and the ".join(never) + " fill" + ("s" if len(never) > 1 else "")
              + f" no relevance mask of the {trainer} Trainer beats no mask in any condition.")
    return s
