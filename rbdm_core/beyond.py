"""Chapter 8's sentences, generated from its numbers (never typed): which combination of Trainers'
masks scores higher than the best single Trainer, whether equal-weight averaging dilutes, and what
the gaze study on the gaze images is (recorded or simulated).

    combination_lines(sources, regions, singles, combinations)   # one line per combination
    dilution_sentence(sources, regions, singles, equal, weighted) # the "dilutes" claim, decided
    gaze_caution(pipe.gaze_study)                                  # what the human masks describe
    probe_line("fixation masks", masks, labels, 8)                 # does a linear probe read the class off masks?

A comparison says "higher" or "lower" only when the `confidence` interval of the paired per-image
difference in ground-truth precision lies wholly on that side of zero, and "cannot tell" when it
contains zero.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from rbdm_core.masking.stats import mask_precision, precision_difference
from rbdm_core.leakage import ridge_probe
from rbdm_core.statistics import Interval, format_interval, resampled_interval

HIGHER, LOWER, CANNOT_TELL = "higher", "lower", "cannot tell"


def side(iv: Interval) -> str:
    """"higher" / "lower" when the interval lies wholly above / below zero, else "cannot tell"
    (also for an interval that could not be computed)."""
    if iv.n < 2 or not np.isfinite(iv.low) or not np.isfinite(iv.high):
        return CANNOT_TELL
    if iv.low > 0:
        return HIGHER
    if iv.high < 0:
        return LOWER
    return CANNOT_TELL


def best_single(sources: Mapping[str, np.ndarray], regions, singles: Sequence[str]) -> str:
    """The name among `singles` whose masks have the highest mean ground-truth precision."""
    prec = mask_precision({k: sources[k] for k in singles}, regions).set_index("source").precision_mean
    return str(prec.idxmax())


def compare(sources, regions, a: str, b: str, confidence: float = 0.95) -> tuple[str, Interval]:
    """(side, interval) of precision(a) - precision(b), paired by image."""
    iv = precision_difference(sources[a], sources[b], regions, confidence)
    return side(iv), iv


def _diff(iv: Interval, confidence: float) -> str:
    return f"{format_interval(iv.mean, iv.low, iv.high)} ({100 * confidence:g}% interval over {iv.n} images)"


def combination_lines(sources, regions, singles: Sequence[str], combinations: Sequence[str],
                      confidence: float = 0.95) -> list[str]:
    """One line per combination: its precision minus the best single Trainer's, paired by image,
    and what the interval says (`side`)."""
    top = best_single(sources, regions, singles)
    lines = []
    for k in combinations:
        word, iv = compare(sources, regions, k, top, confidence)
        lines.append(f"{k} - {top}, precision: {_diff(iv, confidence)}: {word}")
    return lines


def dilution_sentence(sources, regions, singles: Sequence[str], equal: str, weighted: str,
                      confidence: float = 0.95) -> str:
    """Whether the equal-weight average of the maps scores below the best single Trainer (it
    dilutes) and whether the F1-weighted average scores above the equal-weight one (the weights
    limit that), each decided by its paired interval."""
    top = best_single(sources, regions, singles)
    w1, iv1 = compare(sources, regions, equal, top, confidence)
    w2, iv2 = compare(sources, regions, weighted, equal, confidence)
    first = {LOWER: f"Averaging the maps with equal weights dilutes the best single Trainer's ({top}): "
                    f"its precision is lower, {_diff(iv1, confidence)}",
             HIGHER: f"Averaging the maps with equal weights does not dilute the best single Trainer's ({top}) "
                     f"here: its precision is higher, {_diff(iv1, confidence)}",
             CANNOT_TELL: f"Whether averaging the maps with equal weights dilutes the best single Trainer's "
                          f"({top}) cannot be told from these images: {_diff(iv1, confidence)}"}[w1]
    second = {HIGHER: f"the F1 weights score higher than equal weights, {_diff(iv2, confidence)}",
              LOWER: f"the F1 weights score lower than equal weights, {_diff(iv2, confidence)}",
              CANNOT_TELL: f"whether the F1 weights do better than equal weights cannot be told, "
                           f"{_diff(iv2, confidence)}"}[w2]
    return f"{first}; {second}."


def gaze_caution(study) -> str:
    """What the human masks of the gaze images describe: a recording's participants, or the
    simulator's annotators (whose fixations aim at the ground-truth regions by construction)."""
    if getattr(study, "recorded", False):
        return ("The annotators here are recorded participants (" + study.describe() + "): the masks and "
                "precisions below describe where they looked.")
    return ("Caution: the annotators here are simulated, and the simulator sends their fixations towards "
            "the eyes and the ground-truth regions by construction, each with habits of its own. Whatever "
            "precision their masks reach below describes the simulator, not where real people look; the "
            "comparison itself is what carries over: with a recording named in the profile (roots: gaze) "
            "the same cells measure that.")



def probe_line(name: str, masks, labels, num_classes: int, confidence: float = 0.95, folds: int = 5,
               repeats: int = 2) -> str:
    """Whether a linear probe reads the class off `masks` (N, H, W) bool alone: the balanced
    accuracy of `leakage.ridge_probe` over `repeats` x `folds` held-out folds, with its
    `confidence` interval by the corrected resampled t (`statistics.resampled_interval`: the folds
    share training masks), against chance 1/num_classes: "above chance" / "below chance" when
    the interval lies wholly on that side, "at chance" when it holds it."""
    iv = resampled_interval(ridge_probe(masks, labels, num_classes, folds=folds, repeats=repeats), 1 / (folds - 1),
                            confidence)
    chance = 1.0 / num_classes
    word = "above chance" if iv.low > chance else "below chance" if iv.high < chance else "at chance"
    return (f"{name}: a linear probe reads the class off the masks alone at balanced accuracy "
            f"{format_interval(iv.mean, iv.low, iv.high)} ({100 * confidence:g}% interval, corrected resampled t "
            f"over {repeats} x {folds} folds; chance {chance:.3f}): {word}")
