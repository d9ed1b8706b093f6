"""Verdicts on the paper's claims, computed from a study's runs by rules stated once (`RULES`).

Each function takes the per-run table of `curves.trainee_summary(...).runs` (columns variant,
seed, best_f1, final_f1, steps_to_threshold, optionally early_f1) and returns a `Verdict`:
"confirmed", "not confirmed" (the data show the opposite), "inconclusive" (the interval or the
sign test cannot tell) or "undecidable" (a sign test that too few seeds cannot bring to its level,
whatever they show), with the effect, its interval and one sentence generated from them. Verdicts
that share an error rate are decided at the Bonferroni level `bonferroni(family)`, stated by
`rules(family)` and applied to the intervals and tests that decide them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from rbdm_core.statistics import Interval, format_interval, paired_interval

CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE = "confirmed", "not confirmed", "inconclusive"
#: a claim the design cannot decide whatever the data: too few seeds for the sign test to reach its level
UNDECIDABLE = "undecidable"
OUTCOMES = (CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE, UNDECIDABLE)
#: non-inferiority margin of "ends at least as high" claims (macro-F1)
MARGIN = 0.02
#: family-wise error rate of a set of verdicts (one verdict alone: its level)
ALPHA = 0.05


def bonferroni(family: int, alpha: float = ALPHA) -> float:
    """The level each of `family` verdicts is decided at so that together they err with
    probability at most `alpha` (Bonferroni: alpha / family)."""
    if not isinstance(family, (int, np.integer)) or family < 1:
        raise ValueError(f"family: expected a positive number of verdicts, got {family!r}")
    return alpha / int(family)


def smallest_sign_p(n: int) -> float:
    """The smallest one-sided p-value an exact sign test over `n` untied seeds can give: 0.5 ** n."""
    return 0.5 ** int(n)


def min_seeds(level: float) -> int:
    """The fewest seeds with which a one-sided sign test can reach `level` (0.5 ** n <= level)."""
    return max(1, math.ceil(math.log2(1 / level) - 1e-12))


def _pct(confidence: float) -> str:
    return f"{100 * confidence:.4g}%"


def rules(family: int = 1, alpha: float = ALPHA) -> str:
    """The rules every verdict is decided by, in words, with the numbers `family` (how many
    verdicts share the error rate `alpha`) sets."""
    level = bonferroni(family, alpha)
    conf = _pct(1 - level)
    multiplicity = (f"The {family} verdicts share one family-wise error rate of {alpha:g} (Bonferroni): each is "
                    f"decided at level {alpha:g}/{family} = {level:.3g}, so every interval is a {conf} "
                    "Student-t interval and every sign test is one-sided at that level. "
                    if family > 1 else f"Each verdict is decided at level {alpha:g}: intervals are {conf} "
                    "Student-t intervals and sign tests are one-sided at that level. ")
    need = min_seeds(level)
    return (
        "Variants are compared seed by seed: every variant is trained with the same seeds, and the effect "
        "is the mean of the per-seed differences with its Student-t interval. " + multiplicity +
        "A claim that one variant scores higher (or lower) is confirmed when the whole interval lies on "
        "the claimed side of zero, not confirmed when it lies wholly on the other side, and inconclusive "
        f"otherwise. A claim that a variant ends at least as high is confirmed when the interval's lower "
        f"end lies above -{MARGIN} macro-F1 and not confirmed when its upper end lies below -{MARGIN}. "
        "A claim that a variant reaches the target F1 sooner compares first-passage steps seed by seed; "
        "a run that never reaches the target counts as later than one that does (censored, never "
        "dropped), two that never reach it tie, and an exact one-sided sign test on the untied seeds "
        f"decides. With n seeds its smallest p-value is 0.5^n, so it needs at least {need} seeds to reach "
        f"{level:.3g}: with fewer, such a claim is undecidable whatever the runs show. "
        "The best variant is taken over all variants, no mask included, by mean best F1; a claim that "
        "variant V is best is confirmed when V's paired difference from every other variant lies wholly "
        "above zero and not confirmed when another variant's paired difference from V does."
    )


#: the rules for one verdict alone (no multiplicity correction)
RULES = rules(1)


@dataclass(frozen=True)
class Verdict:
    """claim and the paper's statement (quoted); outcome (one of `OUTCOMES`); effect as text; n
    seeds; the sentence; level: the level it was decided at (its intervals are 1 - level)."""

    claim: str
    paper: str
    outcome: str
    effect: str
    n: int
    sentence: str
    level: float = ALPHA

    @property
    def verdict(self) -> str:
        """The outcome as the table shows it: an undecidable claim says how many seeds it had and needs."""
        if self.outcome == UNDECIDABLE:
            return f"cannot be decided with {self.n} seeds (needs {min_seeds(self.level)})"
        return self.outcome


def _by_seed(runs: pd.DataFrame, variant: str, column: str) -> pd.Series:
    for c in ("variant", "seed", column):
        if c not in runs.columns:
            raise ValueError(f"runs: missing column {c!r}; expected curves.trainee_summary(...).runs")
    sub = runs[runs.variant == variant]
    if sub.empty:
        raise ValueError(f"variant {variant!r} is not in the runs (variants: {list(pd.unique(runs.variant))})")
    return sub.set_index("seed")[column]


def paired(runs: pd.DataFrame, a: str, b: str, column: str, level: float = ALPHA) -> Interval:
    """`1 - level` interval of the mean per-seed difference `a - b` of `column` over the seeds both ran."""
    x, y = _by_seed(runs, a, column), _by_seed(runs, b, column)
    seeds = sorted(set(x.index) & set(y.index))
    if not seeds:
        raise ValueError(f"variants {a!r} and {b!r} share no seed")
    return paired_interval(x.loc[seeds].to_numpy(), y.loc[seeds].to_numpy(), confidence=1 - level)


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


def _over(iv: Interval, level: float) -> str:
    return f" over {iv.n} seeds, paired by seed ({_pct(1 - level)} interval)"


def _label(column: str) -> str:
    return {"best_f1": "best macro-F1", "final_f1": "final macro-F1", "early_f1": "macro-F1 at the switch"}.get(column, column)


def higher(runs: pd.DataFrame, a: str, b: str, column: str, claim: str, paper: str, *, lower: bool = False,
           level: float = ALPHA) -> Verdict:
    """Claim: `a` scores higher than `b` on `column` (lower than, with `lower=True`), decided by the
    `1 - level` paired interval."""
    iv = paired(runs, a, b, column, level)
    outcome = _side(iv, -1 if lower else +1)
    effect = f"{a} - {b}, {_label(column)}: {format_interval(iv.mean, iv.low, iv.high)}"
    return Verdict(claim, paper, outcome, effect, iv.n, _sentence(outcome, effect + _over(iv, level)), level)


def at_least(runs: pd.DataFrame, a: str, b: str, column: str, claim: str, paper: str,
             margin: float = MARGIN, level: float = ALPHA) -> Verdict:
    """Claim: `a` ends at least as high as `b` on `column` (non-inferiority within `margin`, by the
    `1 - level` paired interval)."""
    iv = paired(runs, a, b, column, level)
    if iv.n < 2 or math.isnan(iv.low):
        outcome = INCONCLUSIVE
    elif iv.low > -margin:
        outcome = CONFIRMED
    elif iv.high < -margin:
        outcome = NOT_CONFIRMED
    else:
        outcome = INCONCLUSIVE
    effect = f"{a} - {b}, {_label(column)}: {format_interval(iv.mean, iv.low, iv.high)} (margin -{margin})"
    return Verdict(claim, paper, outcome, effect, iv.n, _sentence(outcome, effect + _over(iv, level)), level)


def sign_test(sooner: int, later: int) -> tuple[float, float]:
    """Exact one-sided p-values (P[X >= sooner], P[X >= later]) for X ~ Binomial(sooner + later, 1/2)."""
    n = sooner + later

    def tail(k: int) -> float:
        return sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n if n else 1.0

    return tail(sooner), tail(later)


def sooner(runs: pd.DataFrame, a: str, b: str, claim: str, paper: str, level: float = ALPHA) -> Verdict:
    """Claim: `a` reaches the target F1 in fewer steps than `b` (first passage, censored runs later
    than any that reached it; a one-sided sign test over seeds at `level`). `UNDECIDABLE` when
    even all seeds on one side could not reach `level` (`smallest_sign_p(seeds) > level`)."""
    x, y = _by_seed(runs, a, "steps_to_threshold"), _by_seed(runs, b, "steps_to_threshold")
    seeds = sorted(set(x.index) & set(y.index))
    xa = np.where(np.isnan(x.loc[seeds].to_numpy(np.float64)), np.inf, x.loc[seeds].to_numpy(np.float64))
    yb = np.where(np.isnan(y.loc[seeds].to_numpy(np.float64)), np.inf, y.loc[seeds].to_numpy(np.float64))
    n_sooner, n_later = int((xa < yb).sum()), int((xa > yb).sum())
    ties = len(seeds) - n_sooner - n_later
    p_sooner, p_later = sign_test(n_sooner, n_later)
    effect = (f"{a} sooner than {b} in {n_sooner} of {len(seeds)} seeds, later in {n_later}, tied in {ties} "
              f"(sign test: p = {p_sooner:.3g} for sooner, {p_later:.3g} for later)")
    if smallest_sign_p(len(seeds)) > level:
        outcome = UNDECIDABLE
        text = (f"{effect}; with {len(seeds)} seeds the smallest possible p is {smallest_sign_p(len(seeds)):.3g}, "
                f"above the level {level:.3g}: deciding it needs at least {min_seeds(level)} seeds")
    else:
        outcome = CONFIRMED if p_sooner <= level else NOT_CONFIRMED if p_later <= level else INCONCLUSIVE
        text = f"{effect}, level {level:.3g}"
    return Verdict(claim, paper, outcome, effect, len(seeds), _sentence(outcome, text), level)


def best(runs: pd.DataFrame, variant: str, claim: str, paper: str, column: str = "best_f1",
         level: float = ALPHA) -> Verdict:
    """Claim: `variant` is the best of all variants in `runs` (no mask included) on `column`, by
    `1 - level` paired intervals against each other variant."""
    others = [v for v in pd.unique(runs.variant) if v != variant]
    if not others:
        raise ValueError(f"best: {variant!r} is the only variant in the runs")
    ivs = {o: paired(runs, variant, o, column, level) for o in others}
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
    return Verdict(claim, paper, outcome, effect, iv.n, _sentence(outcome, effect + _over(iv, level)), level)


def effect_heading(verdicts: list[Verdict]) -> str:
    """"effect [<1 - level> CI]" for verdicts decided at one level (their intervals' confidence)."""
    levels = sorted({v.level for v in verdicts})
    if len(levels) != 1:
        raise ValueError(f"verdicts decided at different levels {levels}: one table holds one level")
    return f"effect [{_pct(1 - levels[0])} CI]"


def table(verdicts: list[Verdict]) -> pd.DataFrame:
    """The verdicts as a table: claim, verdict (`Verdict.verdict`), the paper, effect [CI at the
    verdicts' level], seeds (the verdict before the long columns, so that a reader sees it first)."""
    return pd.DataFrame([{"claim": v.claim, "verdict": v.verdict, "the paper (quoted)": v.paper,
                          effect_heading(verdicts): v.effect, "seeds": v.n} for v in verdicts])


#: the paper's findings on its seven variants: (kind, arguments, claim, the paper's statement)
PAPER_CLAIMS = (
    ("higher", ("mean", "no-mask", "early_f1"), {}, "mean masking speeds up early learning (F1 at the switch)", "yes"),
    ("higher", ("mean", "no-mask", "final_f1"), {"lower": True}, "mean masking throughout ends below no mask", "yes"),
    ("sooner", ("mean-then-unmasked", "no-mask"), {},
     "mean-then-unmasked reaches the target F1 sooner than no mask", "yes (keeps the speed-up)"),
    ("sooner", ("negative-then-unmasked", "no-mask"), {},
     "negative-then-unmasked reaches the target F1 sooner than no mask", "yes (faster in all cases)"),
    ("at_least", ("mean-then-unmasked", "no-mask", "final_f1"), {},
     "mean-then-unmasked ends at least as high as no mask", "slightly higher"),
    ("higher", ("negative", "mean", "final_f1"), {}, "negative beats mean masking (final F1, throughout)", "yes"),
    ("higher", ("perceptive", "negative", "final_f1"), {"lower": True},
     "perceptive is weaker than negative masking (final F1, throughout)", "yes"),
    ("higher", ("perceptive", "mean", "final_f1"), {"lower": True},
     "perceptive is weaker than mean masking (final F1, throughout)", "yes"),
    ("best", ("negative-then-unmasked",), {}, "best variant of all seven: negative, then unmasked", "yes"),
)
#: how many verdicts `paper_claims` gives
N_CLAIMS = len(PAPER_CLAIMS)


def claims_about(variants: Sequence[str]) -> list[str]:
    """The `PAPER_CLAIMS` (their claim texts, in order) that compare at least one of `variants`."""
    return [claim for _, args, _, claim, _ in PAPER_CLAIMS if set(args) & set(variants)]


def paper_claims(runs: pd.DataFrame, family: int = N_CLAIMS, alpha: float = ALPHA) -> list[Verdict]:
    """The paper's findings on its seven variants (`PAPER_CLAIMS`), each decided by the rules above
    at the Bonferroni level `bonferroni(family, alpha)`: `family` is the number of verdicts that
    share the error rate (default these nine; a chapter deciding them under two fills passes 18).
    runs: `curves.trainee_summary(..., early_step=<the switch step>).runs` of all seven variants
    (the "speeds up early learning" claim reads `early_f1`, the F1 at the switch)."""
    level = bonferroni(family, alpha)
    rule = {"higher": higher, "sooner": sooner, "at_least": at_least, "best": best}
    return [rule[kind](runs, *args, claim, paper, level=level, **kw) for kind, args, kw, claim, paper in PAPER_CLAIMS]


def counts(verdicts: list[Verdict]) -> str:
    """'a confirmed, b not confirmed, c inconclusive' over `verdicts` (and ', d undecidable with
    these seeds' when any is)."""
    outcomes = [v.outcome for v in verdicts]
    text = ", ".join(f"{outcomes.count(o)} {o}" for o in (CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE))
    if UNDECIDABLE in outcomes:
        text += f", {outcomes.count(UNDECIDABLE)} undecidable with these seeds"
    return text


#: the claims about learning speed (the question the method exists for), by their claim text
SPEED_CLAIMS = tuple(claim for kind, args, _, claim, _ in PAPER_CLAIMS
                     if kind == "sooner" or (kind == "higher" and args[2:] == ("early_f1",)))


def answer(by_fill: dict[str, list[Verdict]], data: str) -> str:
    """The short answer a page opens with, one paragraph generated from the verdicts of
    `paper_claims` under each fill (`{fill: verdicts}`, in the order given); `data` names the
    data ("synthetic" or "real"): the counts per fill, the claims decided either way, and whether
    any claim about learning speed (`SPEED_CLAIMS`) was confirmed."""
    if not by_fill or not all(by_fill.values()):
        raise ValueError("answer: expected {fill: verdicts} with at least one fill and one verdict each")
    first = next(iter(by_fill.values()))
    s = (f"**Does relevance-based masking help the Trainee?** On this {data} run, the paper's {len(first)} "
         "claims about its seven Trainee variants come out " +
         "; ".join(f"{counts(vs)} with the {fill} fill" for fill, vs in by_fill.items()) + ".")
    decided = []
    for fill, vs in by_fill.items():
        for outcome, word in ((CONFIRMED, "confirmed"), (NOT_CONFIRMED, "contradicted")):
            claims = [v.claim for v in vs if v.outcome == outcome]
            if claims:
                decided.append(f"{word} with the {fill} fill: " + "; ".join(claims))
    s += (" " + decided[0][0].upper() + decided[0][1:] + "".join(f". {d[0].upper()}{d[1:]}" for d in decided[1:]) + "."
          if decided else " No claim is decided either way.")
    speed = [v for vs in by_fill.values() for v in vs if v.claim in SPEED_CLAIMS]
    if speed and not any(v.outcome == CONFIRMED for v in speed):
        against = any(v.outcome == NOT_CONFIRMED for v in speed)
        s += (f" None of the {len(SPEED_CLAIMS)} claims about learning speed is confirmed under any fill" +
              (": at least one is contradicted." if against else
               ": each is inconclusive or needs more seeds, so this run cannot tell whether a masked start "
               "learns faster."))
    return s
