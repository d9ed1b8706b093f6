"""Dose-response of masking against nuisance, from a study's curves (`rbdm_core.study`).

    runs(curves, switch_step)   one row per (level, fill, variant, seed): best / final / early F1,
                                first step at the level's target F1 (NaN = never: censored)
    effects(runs)               per (level, fill, masked variant) against no mask, paired by seed:
                                final-F1 and early-F1 differences with 95 % intervals, the sign
                                test on first passage, and the steps saved (censored runs counted
                                at the end of training: a bound)
    trend(runs, ...)            does a variant's final-F1 difference change between two levels?
    premise(runs)               no mask's own cost of nuisance: final F1 per level, and the steps
                                it needs to reach the target it reaches without nuisance
    verdict(runs)               sentences generated from the numbers: a masked variant differs
                                from no mask when its interval lies wholly on one side of 0, with
                                the intervals of the six masked variants made simultaneous at 95 %
                                (Bonferroni), so a count of "differs" does not collect chance hits

The target F1 of a level is `fraction` (0.9) x no mask's mean final F1 at that level, as in
chapter 6 (`curves.trainee_summary`): "sooner" means sooner to 90 % of where plain training ends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .curves import censored_median, final_values, steps_to_reach, trainee_summary
from .statistics import Interval, format_interval, interval, paired_interval
from .verdicts import sign_test

REFERENCE = "no-mask"
HIGHER, LOWER, UNCLEAR = "higher", "lower", "cannot tell"


def _with_metric(curves: pd.DataFrame) -> pd.DataFrame:
    need = {"level", "fill", "variant", "seed", "step", "split", "value"}
    missing = sorted(need - set(curves.columns))
    if missing:
        raise ValueError(f"curves: missing column(s) {missing}; expected a study's curves (rbdm_core.study)")
    c = curves if "metric" in curves.columns else curves.assign(metric="f1")
    return c[c.metric == "f1"]


def runs(curves: pd.DataFrame, switch_step: int | None = None, fraction: float = 0.9) -> pd.DataFrame:
    """Per (level, fill, variant, seed): best_f1, final_f1, early_f1 (F1 at `switch_step`, when
    given), final_f1_masked (on masked validation images; NaN for no mask), steps_to_threshold
    (NaN: never reached), steps (the run's last step), eval_every (steps between its
    evaluations), threshold (the level's target). No mask is
    trained once (zero fill) and is the reference of every fill at its level."""
    c = _with_metric(curves)
    out = []
    for level in sorted(pd.unique(c.level)):
        at = c[c.level == level]
        ref = at[at.variant == REFERENCE]
        if ref.empty:
            raise ValueError(f"curves: no {REFERENCE!r} runs at nuisance level {level}")
        for fill in [f for f in pd.unique(at.fill) if not at[(at.fill == f) & (at.variant != REFERENCE)].empty]:
            sub = pd.concat([ref, at[(at.fill == fill) & (at.variant != REFERENCE)]], ignore_index=True)
            s = trainee_summary(sub, reference=REFERENCE, fraction=fraction, early_step=switch_step)
            r = s.runs.copy()
            masked = final_values(sub, splits=("validation-masked",))
            r = r.merge(masked.rename(columns={"validation-masked": "final_f1_masked"}), on=["variant", "seed"], how="left")
            r.insert(0, "fill", fill)
            r.insert(0, "level", float(level))
            r["threshold"] = s.threshold
            val = sub[sub.split == "validation"]
            gaps = val.groupby(["variant", "seed"], sort=False).step.apply(
                lambda x: float(np.diff(np.unique(x)).min()) if x.nunique() > 1 else 0.0).rename("eval_every")
            r = r.merge(gaps.reset_index(), on=["variant", "seed"], how="left")
            out.append(r)
    return pd.concat(out, ignore_index=True)


def _pair(r: pd.DataFrame, variant: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    a = r[r.variant == variant].set_index("seed")[column]
    b = r[r.variant == REFERENCE].set_index("seed")[column]
    seeds = sorted(set(a.index) & set(b.index))
    return a.loc[seeds].to_numpy(np.float64), b.loc[seeds].to_numpy(np.float64)


def side(low: float, high: float) -> str:
    """HIGHER when the interval lies wholly above 0, LOWER wholly below, else UNCLEAR."""
    return HIGHER if low > 0 else LOWER if high < 0 else UNCLEAR


def effects(run_table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per (level, fill, masked variant), against no mask seed by seed:
    final_diff / early_diff (mean, _low, _high; `final_side`, `early_side`), masked images' final F1
    (`final_masked`), first passage: `sooner`, `later`, `ties` and the one-sided sign-test p-values
    `p_sooner`, `p_later` (as chapter 6's rules); steps_saved (mean, _low, _high: no mask's steps
    minus the variant's, a run that never reaches the target counted at its last step plus one
    evaluation interval, which can only shrink a saving or a loss: a conservative bound),
    `speed` ("sooner" when the steps-saved interval lies above 0, "later" below, else "cannot
    tell") and `censored` (runs of the pair that never reached the target)."""
    rows = []
    has_early = "early_f1" in run_table.columns
    for (level, fill), r in run_table.groupby(["level", "fill"], sort=True):
        for v in [x for x in pd.unique(r.variant) if x != REFERENCE]:
            row = {"level": float(level), "fill": fill, "variant": v}
            a, b = _pair(r, v, "final_f1")
            iv = paired_interval(a, b, confidence)
            row.update(n=iv.n, final_diff=iv.mean, final_diff_low=iv.low, final_diff_high=iv.high,
                       final_side=side(iv.low, iv.high))
            if has_early:
                a, b = _pair(r, v, "early_f1")
                iv = paired_interval(a, b, confidence)
                row.update(early_diff=iv.mean, early_diff_low=iv.low, early_diff_high=iv.high,
                           early_side=side(iv.low, iv.high))
            row["final_masked"] = float(r[r.variant == v].final_f1_masked.mean())
            sa, sb = _pair(r, v, "steps_to_threshold")
            la, lb = _pair(r, v, "steps")
            ga, gb = _pair(r, v, "eval_every")
            xa, xb = np.where(np.isnan(sa), np.inf, sa), np.where(np.isnan(sb), np.inf, sb)
            sooner, later = int((xa < xb).sum()), int((xa > xb).sum())
            p_s, p_l = sign_test(sooner, later)
            row.update(sooner=sooner, later=later, ties=len(xa) - sooner - later, p_sooner=p_s, p_later=p_l)
            saved = np.where(np.isnan(sb), lb + gb, sb) - np.where(np.isnan(sa), la + ga, sa)
            iv = interval(saved, confidence)
            sd = side(iv.low, iv.high)
            row.update(steps_saved=iv.mean, steps_saved_low=iv.low, steps_saved_high=iv.high,
                       speed={HIGHER: "sooner", LOWER: "later", UNCLEAR: UNCLEAR}[sd],
                       censored=int(np.isnan(sa).sum() + np.isnan(sb).sum()))
            rows.append(row)
    return pd.DataFrame(rows)


def trend(run_table: pd.DataFrame, variant: str, fill: str, low: float, high: float, column: str = "final_f1",
          confidence: float = 0.95) -> Interval:
    """Change of (variant - no mask) in `column` from level `low` to level `high`, seed by seed:
    [(v - ref) at high] - [(v - ref) at low], mean and interval over seeds."""
    def diff(level):
        r = run_table[(run_table.level == level) & (run_table.fill == fill)]
        if r.empty or variant not in set(r.variant):
            raise ValueError(f"trend: no runs of {variant!r} with fill {fill!r} at level {level}")
        a = r[r.variant == variant].set_index("seed")[column]
        b = r[r.variant == REFERENCE].set_index("seed")[column]
        return a - b

    d_hi, d_lo = diff(high), diff(low)
    seeds = sorted(set(d_hi.index) & set(d_lo.index))
    return paired_interval(d_hi.loc[seeds].to_numpy(), d_lo.loc[seeds].to_numpy(), confidence)


def trends(run_table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """`trend` of every masked variant and fill from the lowest to the highest level."""
    lo, hi = float(run_table.level.min()), float(run_table.level.max())
    rows = []
    for fill in pd.unique(run_table.fill):
        for v in [x for x in pd.unique(run_table[run_table.fill == fill].variant) if x != REFERENCE]:
            iv = trend(run_table, v, fill, lo, hi, confidence=confidence)
            rows.append({"fill": fill, "variant": v, "from": lo, "to": hi, "change": iv.mean, "low": iv.low,
                         "high": iv.high, "n": iv.n, "side": side(iv.low, iv.high)})
    return pd.DataFrame(rows)


def premise(run_table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """No mask at each level: final F1 (mean and interval), its difference from the lowest level
    (paired by seed), and how many seeds reach the *lowest* level's target (with the censored
    median of their steps): does nuisance make plain training slower or worse?"""
    ref = run_table[(run_table.variant == REFERENCE)].drop_duplicates(["level", "seed"])
    lo = float(ref.level.min())
    base = ref[ref.level == lo].set_index("seed")
    target = float(run_table[run_table.level == lo].threshold.iloc[0])
    rows = []
    for level, r in ref.groupby("level", sort=True):
        r = r.set_index("seed")
        seeds = sorted(set(r.index) & set(base.index))
        mean_iv = interval(r.final_f1.loc[seeds].to_numpy(), confidence)
        d = paired_interval(r.final_f1.loc[seeds].to_numpy(), base.final_f1.loc[seeds].to_numpy(), confidence)
        steps = _first_passage(run_table, float(level), target)
        rows.append({"level": float(level), "final_f1": mean_iv.mean, "final_f1_low": mean_iv.low,
                     "final_f1_high": mean_iv.high, "vs_lowest": d.mean, "vs_lowest_low": d.low,
                     "vs_lowest_high": d.high, "vs_lowest_side": side(d.low, d.high) if level != lo else "",
                     "target_of_lowest": target, "reached": int(np.isfinite(steps).sum()), "seeds": len(steps),
                     "steps_median": censored_median(np.where(np.isfinite(steps), steps, np.nan))})
    return pd.DataFrame(rows)


def _first_passage(run_table: pd.DataFrame, level: float, target: float) -> np.ndarray:
    """No mask's first step at or above `target` per seed at `level` (inf: never), from the curves
    the run table was made from (`table` keeps them on it)."""
    curves = run_table.attrs.get("curves")
    if curves is None:
        raise ValueError("premise: the run table carries no curves; make it with dose_response.table(curves, ...)")
    c = curves[(curves.level == level) & (curves.variant == REFERENCE)]
    steps = steps_to_reach(c, target).sort_values("seed").step.to_numpy(np.float64)
    return np.where(np.isnan(steps), np.inf, steps)


def table(curves: pd.DataFrame, switch_step: int | None = None, fraction: float = 0.9) -> pd.DataFrame:
    """`runs(...)` with the curves attached (what `premise` needs)."""
    r = runs(curves, switch_step, fraction)
    r.attrs["curves"] = _with_metric(curves)
    return r


def _names(xs) -> str:
    xs = list(xs)
    return ", ".join(xs) if xs else "none"


def family_confidence(run_table: pd.DataFrame, confidence: float = 0.95) -> float:
    """Per-interval confidence that makes the masked variants of one fill at one level a family at
    `confidence` (Bonferroni: 1 - (1 - confidence) / m, m masked variants)."""
    m = max(1, len([v for v in pd.unique(run_table.variant) if v != REFERENCE]))
    return 1 - (1 - confidence) / m


def verdict(run_table: pd.DataFrame, confidence: float = 0.95) -> list[str]:
    """One sentence on the premise and one per fill, generated from the numbers. The sides of
    the masked variants are decided by simultaneous intervals at `confidence` over the family of
    masked variants (`family_confidence`), so that "m of 6 differ" does not count chance hits."""
    conf = family_confidence(run_table, confidence)
    eff = effects(run_table, conf)
    out = []
    pre = premise(run_table, confidence)
    hi = pre.iloc[-1]
    lo = pre.iloc[0]
    out.append(
        f"Premise: without masks, the final macro-F1 goes from {format_interval(lo.final_f1, lo.final_f1_low, lo.final_f1_high)} "
        f"at nuisance {lo.level:g} to {format_interval(hi.final_f1, hi.final_f1_low, hi.final_f1_high)} at {hi.level:g} "
        f"(difference {format_interval(hi.vs_lowest, hi.vs_lowest_low, hi.vs_lowest_high)}: "
        + {HIGHER: "higher", LOWER: "lower", UNCLEAR: "not distinguishable"}[hi.vs_lowest_side]
        + f"), and {int(hi.reached)} of {int(hi.seeds)} seeds reach the nuisance-free target F1 "
        f"{hi.target_of_lowest:.3f} at nuisance {hi.level:g} ({int(lo.reached)} of {int(lo.seeds)} at {lo.level:g}).")
    tr = trends(run_table, conf)
    levels = sorted(pd.unique(eff.level))
    for fill in sorted(pd.unique(eff.fill), key=lambda f: (f != "zero", f)):  # the paper's fill first
        e = eff[eff.fill == fill]
        parts = []
        for level in (levels[0], levels[-1]):
            x = e[e.level == level]
            parts.append(f"at nuisance {level:g}, {int((x.final_side == HIGHER).sum())} of {len(x)} masked variants "
                         f"end above no mask, {int((x.final_side == LOWER).sum())} below and "
                         f"{int((x.final_side == UNCLEAR).sum())} cannot be told apart; "
                         f"{int((x.speed == 'sooner').sum())} reach the target sooner and "
                         f"{int((x.speed == 'later').sum())} later")
        t = tr[tr.fill == fill]
        out.append(f"With the {fill} fill: " + "; ".join(parts) + ". From the lowest to the highest level the "
                   f"final-F1 difference against no mask (variant minus no mask) rises for "
                   f"{_names(t[t.side == HIGHER].variant)}, falls for {_names(t[t.side == LOWER].variant)} and "
                   f"does not change measurably for {_names(t[t.side == UNCLEAR].variant)}.")
    return out


def trainer_sentences(premise_table: pd.DataFrame, masks=("negative", "mean", "perceptive")) -> list[str]:
    """Per level, from a study's premise.csv: the Trainer's F1, the share of its positive relevance
    in the class regions against their share of the image (lift), and what each mask keeps of the
    Trainee corpus's spurious-patch corner against what it keeps of the image."""
    out = []
    for _, r in premise_table.sort_values("level").iterrows():
        lift = r.relevance_in_regions / r.regions_area if r.regions_area > 0 else float("nan")
        kept = ", ".join(f"{m} {r[f'{m}_kept_on_patch']:.2f} of it (of the image: {r[f'{m}_kept']:.2f})" for m in masks)
        out.append(f"Nuisance {r.level:g}: the Trainer's validation F1 is {r.trainer_f1:.3f}; {r.relevance_in_regions:.3f} "
                   f"of its positive relevance falls in the class regions, which cover {r.regions_area:.3f} of the "
                   f"image (lift {lift:.2f}), and {r.relevance_on_patch:.3f} on the patch corner (area "
                   f"{r.patch_area:.3f}); the masks keep of the patch corner: {kept}.")
    return out
