"""rbdm_core.beyond: chapter 8's combination sentences follow from paired intervals (issue 25,
item 9): "higher" / "lower" only when the interval lies on one side of zero, else "cannot tell"."""

import numpy as np
import pytest

from rbdm_core import beyond
from rbdm_core.statistics import Interval


def test_side_of_an_interval():
    assert beyond.side(Interval(0.01, 0.002, 0.02, 10)) == beyond.HIGHER
    assert beyond.side(Interval(-0.01, -0.02, -0.001, 10)) == beyond.LOWER
    assert beyond.side(Interval(0.003, -0.001, 0.007, 10)) == beyond.CANNOT_TELL  # crosses zero
    assert beyond.side(Interval(0.5, np.nan, np.nan, 1)) == beyond.CANNOT_TELL


def _sources(rng, n=40):
    """Regions in the top half of 8x8 images; masks keeping pixels with region-dependent odds."""
    regions = np.zeros((n, 8, 8), bool)
    regions[:, :4] = True

    def masks(p_in, p_out):
        u = rng.uniform(size=(n, 8, 8))
        return np.where(regions, u < p_in, u < p_out)

    return regions, masks


def test_combination_lines_and_dilution_from_intervals():
    rng = np.random.default_rng(0)
    regions, masks = _sources(rng)
    good, weak = masks(0.6, 0.1), masks(0.3, 0.3)
    sources = {"A alone": good, "B alone": weak,
               "equal": masks(0.45, 0.2),          # clearly below A: dilutes
               "weighted": good.copy(),            # A's level: above equal
               "same as A": good.copy()}             # identical: difference 0 exactly -> cannot tell
    lines = beyond.combination_lines(sources, regions, ["A alone", "B alone"], ["equal", "same as A"])
    assert lines[0].startswith("equal - A alone, precision: ") and lines[0].endswith(": lower")
    assert lines[1].endswith(": cannot tell")
    text = beyond.dilution_sentence(sources, regions, ["A alone", "B alone"], "equal", "weighted")
    assert text.startswith("Averaging the maps with equal weights dilutes the best single Trainer's (A alone)")
    assert "the F1 weights score higher than equal weights" in text


def test_no_dilution_claim_when_the_interval_crosses_zero():
    """The case of the issue: equal (0.212) and F1-weighted (0.213) both near the best single map
    (0.209) with overlapping intervals: neither "higher" nor "dilutes" may be said."""
    rng = np.random.default_rng(1)
    regions, masks = _sources(rng)
    a = masks(0.5, 0.2)
    # A's own masks on other images of the same kind: the per-image differences average to exactly 0
    sources = {"A alone": a, "B alone": masks(0.3, 0.3), "equal": a[rng.permutation(len(a))],
               "weighted": a[rng.permutation(len(a))]}
    line = beyond.combination_lines(sources, regions, ["A alone", "B alone"], ["equal"])[0]
    assert line.endswith(": cannot tell") and "higher" not in line
    text = beyond.dilution_sentence(sources, regions, ["A alone", "B alone"], "equal", "weighted")
    assert text.startswith("Whether averaging") and "cannot be told from these images" in text
    assert "F1 weights score" not in text and "precision is lower" not in text


def test_best_single_is_the_highest_mean_precision():
    rng = np.random.default_rng(2)
    regions, masks = _sources(rng)
    assert beyond.best_single({"A": masks(0.3, 0.3), "B": masks(0.7, 0.05)}, regions, ["A", "B"]) == "B"


def test_probe_line_reads_the_class_off_masks_that_carry_it():
    """probe_line: the corrected resampled t interval of leakage.ridge_probe's 2 x 5 folds
    (recomputed here by hand) against chance
    1/K: masks that draw the class (a square per class) are "above chance", masks drawn
    independently of the labels are "at chance"."""
    from rbdm_core.leakage import ridge_probe
    from scipy import stats

    from rbdm_core.statistics import format_interval

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    coded = rng.uniform(size=(120, 8, 8)) < 0.5
    for c in range(4):
        coded[labels == c, 2 * c:2 * c + 2, :] = True  # class c keeps rows 2c..2c+1 whole
    blind = rng.uniform(size=(120, 8, 8)) < 0.5
    v = ridge_probe(coded, labels, 4, repeats=2)
    half = stats.t.ppf(0.975, 9) * np.sqrt((1 / 10 + 1 / 4) * v.var(ddof=1))
    line = beyond.probe_line("coded", coded, labels, 4)
    assert line.startswith(f"coded: a linear probe reads the class off the masks alone at balanced accuracy "
                           f"{format_interval(v.mean(), v.mean() - half, v.mean() + half)} (95% interval, corrected "
                           "resampled t over 2 x 5 folds; chance 0.250)")
    assert line.endswith(": above chance") and v.mean() - half > 0.25
    assert beyond.probe_line("blind", blind, labels, 4).endswith(": at chance")
