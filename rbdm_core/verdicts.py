"""Verdicts on the paper's claims, computed from a study's runs by rules stated once (`RULES`).

Each function takes the per-run table of `curves.trainee_summary(...).runs` (columns variant,
seed, best_f1, final_f1, steps_to_threshold, optionally early_f1) and returns a `Verdict`:
"confirmed", "not confirmed" (the data show the opposite) or "inconclusive" (the interval or the
sign test cannot tell), with the effect, its 95 % interval and one sentence generated from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rbdm_core.statistics import Interval, format_interval, paired_interval

CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE = "confirmed", "not confirmed", "inconclusive"
#: non-inferiority margin of "ends at least as high" claims (macro-F1)
MARGIN = 0.02
#: one-sided level of the sign test of "reaches the target sooner" claims
ALPHA = 0.05

RULES = (
    "Variants are compared seed by seed: every variant is trained with the same seeds, and the effect "
    "is the mean of the per-seed differences with its 95 % Student-t interval. "
    "A claim that one variant scores higher (or lower) is confirmed when the whole interval lies on "
    "the claimed side of zero, not confirmed when it lies wholly on the other side, and inconclusive "
    f"otherwise. A claim that a variant ends at least as high is confirmed when the interval's lower "
    f"end lies above -{MARGIN} macro-F1 and not confirmed when its upper end lies below -{MARGIN}. "
    "A claim that a variant reaches the target F1 sooner compares first-passage steps seed by seed; "
    "a run that never reaches the target counts as later than one that does (censored, never "
    f"dropped), two that never reach it tie, and an exact one-sided sign test at {ALPHA} on the "
    "untied seeds decides (with 4 seeds or fewer it cannot, so such claims stay inconclusive). "
    "The best variant is taken over all variants, no mask included, by mean best F1; a claim that "
    "variant V is best is confirmed when V's paired difference from every other variant lies wholly "
    "above zero and not confirmed when another variant's paired difference from V does."
)


@dataclass(frozen=True)
class Verdict:
    """claim and the paper's statement (quoted); outcome; effect as text; n seeds; the sentence."""

    claim: str
    paper: str
    outcome: str
    effect: str
    n: int
    sentence: str


def _by_seed(runs: pd.DataFrame, variant: str, column: str) -> pd.Series:
    for c in ("variant", "seed", column):
        if c not in runs.columns:
            raise ValueError(f"runs: missing column {c!r}; expected curves.trainee_summary(...).runs")
    sub = runs[runs.variant == variant]
    if sub.empty:
        raise ValueError(f"variant {variant!r} is not in the runs (variants: {list(pd.unique(runs.variant))})")
    return sub.set_index("seed")[column]


def paired(runs: pd.DataFrame, a: str, b: str, column: str) -> Interval:
    """Interval of the mean per-seed difference `a - b` of `column` over the seeds both ran."""
    x, y = _by_seed(runs, a, column), _by_seed(runs, b, column)
    seeds = sorted(set(x.index) & set(y.index))
    if not seeds:
        raise ValueError(f"variants {a!r} and {b!r} share no seed")
    return paired_interval(x.loc[seeds].to_numpy(), y.loc[seeds].to_numpy())


def _side(iv: Interval, sign: int) -> str:
    if iv.n < 2 or math.isnan(iv.low):
        return INCONCLUSIVE
    if sign * iv.low > 0 and sign * iv.high > 0:
        return CONFIRMED
    if sign * iv.low < 0 and sign * iv.high < 0:
        return NOT_CONFIRMED
    return INCONCLUSIVE


def _sentence(outcome: str, text: str) -> str:
    return f"{outcome.capitalize()}: {text}."


def _label(column: str) -> str:
    return {"best_f1": "best macro-F1", "final_f1": "final macro-F1", "early_f1": "macro-F1 at the switch"}.get(column, column)


def higher(runs: pd.DataFrame, a: str, b: str, column: str, claim: str, paper: str, *, lower: bool = False) -> Verdict:
    """Claim: `a` scores higher than `b` on `column` (lower than, with `lower=True`)."""
    iv = paired(runs, a, b, column)
    outcome = _side(iv, -1 if lower else +1)
    effect = f"{a} - {b}, {_label(column)}: {format_interval(iv.mean, iv.low, iv.high)}"
    return Verdict(claim, paper, outcome, effect, iv.n,
                   _sentence(outcome, f"{effect} over {iv.n} seeds, paired by seed"))


def at_least(runs: pd.DataFrame, a: str, b: str, column: str, claim: str, paper: str,
             margin: float = MARGIN) -> Verdict:
    """Claim: `a` ends at least as high as `b` on `column` (non-inferiority within `margin`)."""
    iv = paired(runs, a, b, column)
    if iv.n < 2 or math.isnan(iv.low):
        outcome = INCONCLUSIVE
    elif iv.low > -margin:
        outcome = CONFIRMED
    elif iv.high < -margin:
        outcome = NOT_CONFIRMED
    else:
        outcome = INCONCLUSIVE
    effect = f"{a} - {b}, {_label(column)}: {format_interval(iv.mean, iv.low, iv.high)} (margin -{margin})"
    return Verdict(claim, paper, outcome, effect, iv.n,
                   _sentence(outcome, f"{effect} over {iv.n} seeds, paired by seed"))


def sign_test(sooner: int, later: int) -> tuple[float, float]:
    """Exact one-sided p-values (P[X >= sooner], P[X >= later]) for X ~ Binomial(sooner + later, 1/2)."""
    n = sooner + later

    def tail(k: int) -> float:
        return sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n if n else 1.0

    return tail(sooner), tail(later)


def sooner(runs: pd.DataFrame, a: str, b: str, claim: str, paper: str, alpha: float = ALPHA) -> Verdict:
    """Claim: `a` reaches the target F1 in fewer steps than `b` (first passage, censored runs later
    than any that reached it; a sign test over seeds)."""
    x, y = _by_seed(runs, a, "steps_to_threshold"), _by_seed(runs, b, "steps_to_threshold")
    seeds = sorted(set(x.index) & set(y.index))
    xa = np.where(np.isnan(x.loc[seeds].to_numpy(np.float64)), np.inf, x.loc[seeds].to_numpy(np.float64))
    yb = np.where(np.isnan(y.loc[seeds].to_numpy(np.float64)), np.inf, y.loc[seeds].to_numpy(np.float64))
    n_sooner, n_later = int((xa < yb).sum()), int((xa > yb).sum())
    ties = len(seeds) - n_sooner - n_later
    p_sooner, p_later = sign_test(n_sooner, n_later)
    outcome = CONFIRMED if p_sooner <= alpha else NOT_CONFIRMED if p_later <= alpha else INCONCLUSIVE
    effect = (f"{a} sooner than {b} in {n_sooner} of {len(seeds)} seeds, later in {n_later}, tied in {ties} "
              f"(sign test: p = {p_sooner:.3g} for sooner, {p_later:.3g} for later)")
    return Verdict(claim, paper, outcome, effect, len(seeds), _sentence(outcome, effect))


def best(runs: pd.DataFrame, variant: str, claim: str, paper: str, column: str = "best_f1") -> Verdict:
    """Claim: `variant` is the best of all variants in `runs` (no mask included) on `column`."""
    others = [v for v in pd.unique(runs.variant) if v != variant]
    if not others:
        raise ValueError(f"best: {variant!r} is the only variant in the runs")
    ivs = {o: paired(runs, variant, o, column) for o in others}
    means = runs.groupby("variant")[column].mean()
    top = str(means.idxmax())
    if all(_side(iv, +1) == CONFIRMED for iv in ivs.values()):
        outcome = CONFIRMED
    elif any(_side(iv, -1) == CONFIRMED for iv in ivs.values()):
        outcome = NOT_CONFIRMED
    else:
        outcome = INCONCLUSIVE
    closest = top if top != variant else max(others, key=lambda o: means[o])
    iv = ivs[closest]
    effect = (f"highest mean {_label(column)}: {top} ({means[top]:.3f}); {variant} - {closest}: "
              f"{format_interval(iv.mean, iv.low, iv.high)}")
    return Verdict(claim, paper, outcome, effect, iv.n,
                   _sentence(outcome, f"{effect} over {iv.n} seeds, paired by seed"))


def table(verdicts: list[Verdict]) -> pd.DataFrame:
    """The verdicts as a table: claim, the paper, verdict, effect [95% CI], seeds."""
    return pd.DataFrame([{"claim": v.claim, "the paper (quoted)": v.paper, "verdict": v.outcome,
                          "effect [95% CI]": v.effect, "seeds": v.n} for v in verdicts])


def paper_claims(runs: pd.DataFrame) -> list[Verdict]:
    """The paper's findings on its seven variants, each decided by the rules above. runs:
    `curves.trainee_summary(..., early_step=<the switch step>).runs` of all seven variants (the
    "speeds up early learning" claim reads `early_f1`, the F1 at the switch)."""
    return [
        higher(runs, "mean", "no-mask", "early_f1", "mean masking speeds up early learning (F1 at the switch)", "yes"),
        higher(runs, "mean", "no-mask", "final_f1", "mean masking throughout ends below no mask", "yes", lower=True),
        sooner(runs, "mean-then-unmasked", "no-mask",
               "mean-then-unmasked reaches the target F1 sooner than no mask", "yes (keeps the speed-up)"),
        sooner(runs, "negative-then-unmasked", "no-mask",
               "negative-then-unmasked reaches the target F1 sooner than no mask", "yes (faster in all cases)"),
        at_least(runs, "mean-then-unmasked", "no-mask", "final_f1",
                 "mean-then-unmasked ends at least as high as no mask", "slightly higher"),
        higher(runs, "negative", "mean", "final_f1", "negative beats mean masking (final F1, throughout)", "yes"),
        higher(runs, "perceptive", "negative", "final_f1",
               "perceptive is weaker than negative masking (final F1, throughout)", "yes", lower=True),
        higher(runs, "perceptive", "mean", "final_f1",
               "perceptive is weaker than mean masking (final F1, throughout)", "yes", lower=True),
        best(runs, "negative-then-unmasked", "best variant of all seven: negative, then unmasked", "yes"),
    ]


def counts(verdicts: list[Verdict]) -> str:
    """'a confirmed, b not confirmed, c inconclusive' over `verdicts`."""
    outcomes = [v.outcome for v in verdicts]
    return ", ".join(f"{outcomes.count(o)} {o}" for o in (CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE))
