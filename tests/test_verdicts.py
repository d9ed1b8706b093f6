"""rbdm_core.verdicts: each rule on hand-made runs whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import verdicts as vd


def _runs(values: dict, column: str = "final_f1") -> pd.DataFrame:
    """{variant: [value per seed]} -> a runs table (seeds 0..n-1)."""
    rows = [{"variant": v, "seed": s, column: x} for v, xs in values.items() for s, x in enumerate(xs)]
    return pd.DataFrame(rows)


def test_higher_is_decided_by_the_paired_interval():
    runs = _runs({"a": [0.60, 0.52, 0.71], "b": [0.50, 0.40, 0.60]})  # a - b = 0.10, 0.12, 0.11
    v = vd.higher(runs, "a", "b", "final_f1", "a beats b", "yes")
    half = 4.302652729911275 * np.std([0.10, 0.12, 0.11], ddof=1) / np.sqrt(3)
    assert v.outcome == vd.CONFIRMED and v.n == 3
    assert f"{0.11 - half:.3f}" in v.effect and f"{0.11 + half:.3f}" in v.effect
    assert v.sentence.startswith("Confirmed: a - b, final macro-F1: 0.110 [")
    assert vd.higher(runs, "b", "a", "final_f1", "b beats a", "yes").outcome == vd.NOT_CONFIRMED
    assert vd.higher(runs, "b", "a", "final_f1", "b is lower", "yes", lower=True).outcome == vd.CONFIRMED
    # unpaired, these bands overlap; paired, the difference is clear -- the rule pairs by seed
    noisy = _runs({"a": [0.6, 0.4, 0.55], "b": [0.5, 0.5, 0.5]})
    assert vd.higher(noisy, "a", "b", "final_f1", "", "").outcome == vd.INCONCLUSIVE
    one = _runs({"a": [0.9], "b": [0.1]})
    assert vd.higher(one, "a", "b", "final_f1", "", "").outcome == vd.INCONCLUSIVE  # one seed says nothing


def test_at_least_uses_the_margin():
    same = _runs({"a": [0.495, 0.5, 0.505], "b": [0.5, 0.5, 0.5]})  # mean 0, half-width 0.0124
    assert vd.at_least(same, "a", "b", "final_f1", "", "").outcome == vd.CONFIRMED
    worse = _runs({"a": [0.2, 0.19, 0.21], "b": [0.5, 0.5, 0.5]})
    assert vd.at_least(worse, "a", "b", "final_f1", "", "").outcome == vd.NOT_CONFIRMED
    wide = _runs({"a": [0.3, 0.5, 0.7], "b": [0.5, 0.5, 0.5]})
    assert vd.at_least(wide, "a", "b", "final_f1", "", "").outcome == vd.INCONCLUSIVE


def test_sign_test_by_hand():
    assert vd.sign_test(5, 0) == pytest.approx((1 / 32, 1.0))
    assert vd.sign_test(2, 1) == pytest.approx((4 / 8, 7 / 8))
    assert vd.sign_test(0, 0) == (1.0, 1.0)


def test_sooner_censors_runs_that_never_get_there():
    five = _runs({"a": [10, 20, 30, 20, 10], "b": [20, 30, np.nan, 40, 20]}, "steps_to_threshold")
    v = vd.sooner(five, "a", "b", "a sooner", "yes")
    assert v.outcome == vd.CONFIRMED and "5 of 5 seeds" in v.effect  # b's censored seed counts as later
    three = five[five.seed < 3]
    v = vd.sooner(three, "a", "b", "", "")  # p = 1/8 at best: three seeds cannot decide it
    assert v.outcome == vd.UNDECIDABLE and v.verdict == "cannot be decided with 3 seeds (needs 5)"
    assert "smallest possible p is 0.125" in v.sentence
    never = _runs({"a": [np.nan] * 5, "b": [10, 20, 30, 40, 50]}, "steps_to_threshold")
    assert vd.sooner(never, "a", "b", "", "").outcome == vd.NOT_CONFIRMED
    mixed = _runs({"a": [10, 30, 10, 30, 10], "b": [20, 20, 20, 20, 20]}, "steps_to_threshold")
    assert vd.sooner(mixed, "a", "b", "", "").outcome == vd.INCONCLUSIVE  # decidable, but 3 vs 2
    both_never = _runs({"a": [np.nan] * 5, "b": [np.nan] * 5}, "steps_to_threshold")
    v = vd.sooner(both_never, "a", "b", "", "")
    assert v.outcome == vd.INCONCLUSIVE and "tied in 5" in v.effect


def test_best_is_taken_over_all_variants():
    runs = _runs({"no-mask": [0.52, 0.50, 0.55], "neg-then": [0.45, 0.44, 0.47], "mean": [0.10, 0.09, 0.11]}, "best_f1")
    v = vd.best(runs, "neg-then", "negative, then unmasked is best", "yes")
    assert v.outcome == vd.NOT_CONFIRMED and "highest mean best macro-F1: no-mask" in v.effect
    assert vd.best(runs, "no-mask", "", "").outcome == vd.CONFIRMED
    close = _runs({"a": [0.50, 0.52, 0.49], "b": [0.51, 0.50, 0.50]}, "best_f1")
    assert vd.best(close, "a", "", "").outcome == vd.INCONCLUSIVE


def test_bad_input_names_what_is_missing():
    with pytest.raises(ValueError, match="variant 'c' is not in the runs"):
        vd.higher(_runs({"a": [1, 2], "b": [1, 2]}), "c", "b", "final_f1", "", "")
    with pytest.raises(ValueError, match="missing column 'best_f1'"):
        vd.best(_runs({"a": [1, 2], "b": [1, 2]}), "a", "", "")
    t = vd.table([vd.higher(_runs({"a": [1, 2], "b": [0, 1]}), "a", "b", "final_f1", "c", "p")])
    assert list(t.columns) == ["claim", "verdict", "the paper (quoted)", "effect [95% CI]", "seeds"]


def test_undecidable_follows_from_the_seed_count_and_the_level():
    """Decidability is computed, not typed: n seeds can decide a sooner claim at level L exactly
    when 0.5 ** n <= L; the rules text says how many seeds that takes."""
    for level in (0.05, 0.05 / 9, 0.05 / 18, 0.125):
        need = vd.min_seeds(level)
        assert vd.smallest_sign_p(need) <= level < vd.smallest_sign_p(need - 1)
        for n in (need - 1, need):
            runs = _runs({"a": [1.0] * n, "b": [2.0] * n}, "steps_to_threshold")  # a sooner in every seed
            v = vd.sooner(runs, "a", "b", "", "", level=level)
            assert v.outcome == (vd.CONFIRMED if n >= need else vd.UNDECIDABLE), (level, n)
    assert vd.min_seeds(0.05) == 5 and vd.min_seeds(0.05 / 18) == 9
    assert "at least 9 seeds" in vd.rules(18) and "0.05/18 = 0.00278" in vd.rules(18)


def test_bonferroni_applies_to_the_intervals_that_decide():
    assert vd.bonferroni(18) == pytest.approx(0.05 / 18)
    with pytest.raises(ValueError, match="positive number of verdicts"):
        vd.bonferroni(0)
    # a - b = 0.10, 0.08, 0.12: the 95 % interval excludes 0, the 1 - 0.05/18 one does not
    runs = _runs({"a": [0.60, 0.58, 0.62], "b": [0.50, 0.50, 0.50]})
    assert vd.higher(runs, "a", "b", "final_f1", "", "").outcome == vd.CONFIRMED
    wide = vd.higher(runs, "a", "b", "final_f1", "", "", level=vd.bonferroni(18))
    assert wide.outcome == vd.INCONCLUSIVE and "99.72% interval" in wide.sentence
    assert list(vd.table([wide]).columns)[3] == "effect [99.72% CI]"
    with pytest.raises(ValueError, match="different levels"):
        vd.table([wide, vd.higher(runs, "a", "b", "final_f1", "", "")])


def test_paper_claims_with_three_seeds_say_the_sooner_claims_cannot_be_decided():
    spec = {"no-mask": 200, "negative": 150, "mean": 150, "perceptive": 150, "negative-then-unmasked": 100,
            "mean-then-unmasked": 120, "perceptive-then-unmasked": 180}
    runs = pd.DataFrame([{"variant": v, "seed": s, "early_f1": 0.1 + s / 100, "final_f1": 0.4 + s / 50,
                          "best_f1": 0.4 + s / 40, "steps_to_threshold": t} for v, t in spec.items() for s in range(3)])
    claims = vd.paper_claims(runs, family=2 * vd.N_CLAIMS)
    sooner = [c for c in claims if "sooner" in c.claim]
    assert len(sooner) == 2 and all(c.outcome == vd.UNDECIDABLE for c in sooner)
    assert {c.verdict for c in sooner} == {"cannot be decided with 3 seeds (needs 9)"}
    assert set(vd.table(claims)["verdict"]) >= {"cannot be decided with 3 seeds (needs 9)"}
    assert vd.counts(claims).endswith(", 2 undecidable with these seeds")
    assert all(c.level == pytest.approx(0.05 / 18) for c in claims)


def test_paper_claims_on_runs_built_to_confirm_them():
    """Nine seeds (the fewest with which a sign test reaches 0.05/9) where every claim of the paper
    holds by a wide margin: all nine are confirmed; the same runs with no-mask made best turn the
    "best variant" claim around."""
    seeds = range(9)
    spec = {  # variant: (early_f1, final_f1, best_f1, steps_to_threshold)
        "no-mask": (0.10, 0.50, 0.50, 200), "negative": (0.20, 0.45, 0.45, 150), "mean": (0.30, 0.40, 0.40, 150),
        "perceptive": (0.20, 0.30, 0.30, np.nan), "negative-then-unmasked": (0.25, 0.55, 0.60, 100),
        "mean-then-unmasked": (0.30, 0.52, 0.55, 120), "perceptive-then-unmasked": (0.20, 0.50, 0.52, 180)}
    rows = [{"variant": v, "seed": s, "early_f1": e + 0.001 * s, "final_f1": f + 0.002 * s, "best_f1": b + 0.003 * s,
             "steps_to_threshold": t} for v, (e, f, b, t) in spec.items() for s in seeds]
    runs = pd.DataFrame(rows)
    claims = vd.paper_claims(runs)
    assert [c.outcome for c in claims] == [vd.CONFIRMED] * 9
    assert vd.counts(claims) == "9 confirmed, 0 not confirmed, 0 inconclusive"
    runs.loc[runs.variant == "no-mask", "best_f1"] += 0.2
    assert vd.paper_claims(runs)[-1].outcome == vd.NOT_CONFIRMED


def test_chapter_6_decides_every_claim_under_one_family():
    """Chapter 6 states the rule once (rules(family)) and decides both fills' claims at that level."""
    from pathlib import Path

    src = (Path(__file__).resolve().parents[1] / "notebooks" / "06_trainee.py").read_text()
    calls = src.count("verdicts.paper_claims(")
    assert calls == 2 and src.count("family=family)") == calls
    assert src.count("verdicts.rules(family)") == 1 and "verdicts.RULES" not in src


def test_answer_counts_the_verdicts_and_names_the_decided_claims():
    """Three made-up verdicts under two fills: the answer's counts are counted by hand, and the
    speed sentence appears only when no speed claim is confirmed."""
    speed = vd.SPEED_CLAIMS[0]

    def v(claim, outcome):
        return vd.Verdict(claim, "yes", outcome, "e", 3, "s")

    zero = [v(speed, vd.INCONCLUSIVE), v("b ends below a", vd.CONFIRMED), v("c beats d", vd.UNDECIDABLE)]
    nl = [v(speed, vd.INCONCLUSIVE), v("b ends below a", vd.NOT_CONFIRMED), v("c beats d", vd.INCONCLUSIVE)]
    text = vd.answer({"zero": zero, "noisy_linear": nl}, "synthetic")
    assert "On this synthetic run, the paper's 3 claims" in text
    assert ("1 confirmed, 0 not confirmed, 1 inconclusive, 1 undecidable with these seeds with the zero fill; "
            "0 confirmed, 1 not confirmed, 2 inconclusive with the noisy_linear fill.") in text
    assert "Confirmed with the zero fill: b ends below a. Contradicted with the noisy_linear fill: b ends below a." in text
    assert f"None of the {len(vd.SPEED_CLAIMS)} claims about learning speed is confirmed" in text
    assert "cannot tell whether a masked start learns faster" in text
    fast = vd.answer({"zero": [v(speed, vd.CONFIRMED)]}, "synthetic")
    assert "learning speed" not in fast and "Confirmed with the zero fill: " + speed in fast
    assert vd.SPEED_CLAIMS == ("mean masking speeds up early learning (F1 at the switch)",
                               "mean-then-unmasked reaches the target F1 sooner than no mask",
                               "negative-then-unmasked reaches the target F1 sooner than no mask")
    with pytest.raises(ValueError, match="at least one fill"):
        vd.answer({}, "synthetic")
