"""What trained masked Trainees read: their last weights scored on plain validation images, on
masked ones, and on validation masks laid over unrelated validation images (with the label of the
mask's own image). The faces under such a mask say nothing of that label, so a Trainee above
guessing there reads the masks' outline; covariate shift (plain images unlike its masked training
images) lowers its plain score but cannot lift this one. The control that separates reading the
outline from covariate shift, for chapter 6's verdicts on masked-throughout Trainees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core.curves import f1_summary, final_values, guess_f1, macro_f1
from rbdm_core.evaluation import final_predictions
from rbdm_core.leakage import masks_over_other_images
from rbdm_core.masking import apply_mask
from rbdm_core.statistics import interval, paired_interval, summarise
from rbdm_core.training import all_curves


#: the images `trainee_outline_scores` scores each masked Trainee on
OUTLINE_IMAGES = ("plain", "masked", "mask over other images")


def trainee_outline_scores(results: Sequence[Any], val, val_masks: Mapping[str, Any], seed: int = 0,
                           start: int = 0) -> pd.DataFrame:
    """Macro-F1 of each trained Trainee's last-step weights on three versions of the validation
    images: "plain"; "masked", each image by its own mask (`val_masks[mask_type]`, filled with the
    result's fill); "mask over other images", mask i over unrelated image j with label i
    (`masks_over_other_images`, `seed`). A Trainee above chance on the last reads the outline;
    covariate shift alone (plain images unlike its masked training images) lowers "plain" but
    cannot lift it.

    results: `training.TrainResult`s of masked variants (unmasked ones are skipped); val: the
    Dataset they were validated on; val_masks: mask type -> (M, H, W) bool. Columns variant,
    seed, fill (the result's), images (`OUTLINE_IMAGES`), f1."""
    k = len(val.class_names)
    rows = []
    for r in results:
        v = r.variant
        if v.mask_type is None:
            continue
        if v.mask_type not in val_masks:
            raise ValueError(f"val_masks: no validation masks for mask type {v.mask_type!r} (variant {v.name}); "
                             f"given {sorted(val_masks)}")
        m = np.asarray(val_masks[v.mask_type])
        sets = {"plain": val.images, "masked": apply_mask(val.images, m, v.fill, seed=seed, start=start),
                "mask over other images": masks_over_other_images(val.images, m, v.fill, seed=seed, start=start)}
        for name, images in sets.items():
            rows.append({"variant": v.name, "seed": int(r.seed), "fill": v.fill, "images": name,
                         "f1": float(macro_f1(val.labels, final_predictions(r, images), k))})
    return pd.DataFrame(rows, columns=["variant", "seed", "fill", "images", "f1"])


def _relation(iv, value: float) -> str:
    """"above" / "below" when the interval lies wholly on that side of `value`, else "not distinguishable from"."""
    return "above" if iv.low > value else "below" if iv.high < value else "not distinguishable from"


def outline_sentence(scores: pd.DataFrame, guess: float, confidence: float = 0.95) -> str:
    """One generated sentence on one masked Trainee variant and fill (`trainee_outline_scores`
    rows of that variant and fill, one per seed and image kind): its final F1 on each kind with a
    Student-t interval over seeds, each placed against `guess` (`curves.guess_f1` of the
    validation labels); above guessing on "mask over other images" means it reads the outline,
    and then the paired difference masked minus mask-over-other says how much the faces add."""
    if scores.empty or scores.variant.nunique() != 1 or scores.fill.nunique() != 1:
        raise ValueError("scores: expected the rows of one variant and one fill of `trainee_outline_scores`")
    by = {k: g.sort_values("seed") for k, g in scores.groupby("images")}
    missing = [k for k in OUTLINE_IMAGES if k not in by]
    if missing:
        raise ValueError(f"scores: missing image kind(s) {missing}")
    iv = {k: interval(by[k].f1, confidence) for k in OUTLINE_IMAGES}
    pct = f"{confidence:.0%}"
    text = (f"{scores.variant.iloc[0]} ({scores.fill.iloc[0]} fill): final F1 {iv['plain']} on plain validation "
            f"images ({_relation(iv['plain'], guess)} the {guess:.3f} of guessing at random), {iv['masked']} on masked "
            f"ones, and {iv['mask over other images']} on validation masks laid over unrelated images")
    over = iv["mask over other images"]
    if over.low > guess:
        d = paired_interval(by["masked"].f1.to_numpy(), by["mask over other images"].f1.to_numpy(), confidence)
        text += (", above guessing: it reads the class from the masks' outline, which the unrelated faces under "
                 "it cannot supply; ")
        if d.low > 0:
            text += f"the faces add {d} F1 on masked images"
        elif d.high < 0:
            text += f"it scores {d} less on its own masked images than on the outline alone"
        else:
            text += (f"masked minus outline alone is {d}, an interval around zero: the outline can account for "
                     "what it scores on masked images")
    else:
        text += f", {_relation(over, guess)} guessing: no reading of the outline measured"
    return text + f" ({pct} intervals over {iv['plain'].n} seeds)."


#: the columns of `OutlineReport.summary`: F1 at the switch and final F1, by the images scored
OUTLINE_COLUMNS = ("at the switch, plain", "at the switch, masked", "final, plain", "final, masked",
                   "final, mask over other images")


@dataclass
class OutlineReport:
    """What masked Trainees read (`outline_report`). summary: per (variant, column in
    `OUTLINE_COLUMNS`) n, mean, ci_low, ci_high (Student t over seeds; `curves.f1_summary`, with
    its one-class note); scores: `trainee_outline_scores`; guess: `curves.guess_f1` of the
    validation labels; sentences: `outline_sentence` per variant; readers: the variants whose
    F1 on masks over unrelated images lies above `guess` (95% interval)."""

    summary: pd.DataFrame
    scores: pd.DataFrame
    guess: float
    sentences: list[str]
    readers: list[str]
    variants: list[str]

    def readers_sentence(self, fill: str) -> str:
        """How many of the variants read the outline, and what that makes of verdicts that score
        them on plain images."""
        text = f"{len(self.readers)} of {len(self.variants)} masked-throughout variants read the outline ({fill} fill)"
        if not self.readers:
            return text + ": the verdicts above compare Trainees that do not lean on the outline"
        return (text + f" ({', '.join(self.readers)}): the verdicts listed above score them on plain images, where "
                "that outline is absent, so for them they measure how a Trainee taught by outlines fares without "
                "one, not how fast it learns faces")


def outline_report(results: Sequence[Any], val, val_masks: Mapping[str, Any], switch_step: float,
                   seed: int = 0) -> OutlineReport:
    """`trainee_outline_scores` of the masked `results` (one fill), beside their validation F1 at
    the last evaluation at or before `switch_step` on plain and on masked images (from their
    curves), summarised per variant over seeds, with the sentences that place each against
    guessing. val: the Dataset the runs were validated on; val_masks: mask type -> (M, H, W) bool."""
    masked = [r for r in results if r.variant.mask_type is not None]
    if not masked:
        raise ValueError("results: expected at least one masked Trainee run")
    k = len(val.class_names)
    cv = all_curves(masked)
    at_switch = final_values(cv[cv.step <= switch_step]).melt(id_vars=["variant", "seed"], var_name="images",
                                                                value_name="f1")
    at_switch["column"] = "at the switch, " + at_switch.images.map({"validation": "plain",
                                                                     "validation-masked": "masked"})
    scores = trainee_outline_scores(masked, val, val_masks, seed=seed)
    tidy = pd.concat([at_switch, scores.assign(column="final, " + scores.images)], ignore_index=True)
    summary = f1_summary(tidy, ["variant", "column"], "f1", val.labels, k, sort=False)
    guess = guess_f1(val.labels, k)
    variants = list(pd.unique(scores.variant))
    over = scores[scores.images == "mask over other images"]
    readers = [v for v in variants if interval(over[over.variant == v].f1).low > guess]
    return OutlineReport(summary, scores, guess, [outline_sentence(scores[scores.variant == v], guess) for v in variants],
                         readers, variants)


def final_by_images(trained: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """The last evaluation's validation F1 of every run on plain and on masked images, per fill.
    trained: fill -> TrainResults trained with it. Columns variant, seed, fill, plain, masked
    (NaN for unmasked variants, which have no masked validation)."""
    return pd.concat([final_values(all_curves(rs)).assign(fill=f) for f, rs in trained.items()],
                     ignore_index=True).rename(columns={"validation": "plain", "validation-masked": "masked"})


def final_by_images_summary(finals: pd.DataFrame, labels, num_classes: int) -> pd.DataFrame:
    """`final_by_images` summarised per (variant, column "<fill> fill, <plain|masked> images"):
    `curves.f1_summary` (Student t over seeds, one-class note against `labels`)."""
    tidy = finals.melt(id_vars=["variant", "seed", "fill"], value_vars=["plain", "masked"],
                       var_name="images", value_name="final_f1").dropna()
    tidy["column"] = tidy.fill + " fill, " + tidy.images + " images"
    return f1_summary(tidy, ["variant", "column"], "final_f1", labels, num_classes, sort=False)


def curves_by_images(trained: Mapping[str, Sequence[Any]], variants: Sequence[str]) -> pd.DataFrame:
    """Validation F1 curves of `variants` on plain and on masked images, per fill, with a column
    `curve` naming each ("mean, zero fill, masked images"), for `viz.line_band`."""
    cv = pd.concat([all_curves(rs).assign(fill=f) for f, rs in trained.items()], ignore_index=True)
    cv = cv[(cv.metric == "f1") & cv.split.isin(["validation", "validation-masked"]) & cv.variant.isin(list(variants))]
    cv["curve"] = (cv.variant + ", " + cv.fill + " fill, "
                   + cv.split.map({"validation": "plain", "validation-masked": "masked"}) + " images")
    return cv


def gap_lines(finals: pd.DataFrame) -> list[str]:
    """Per fill of `final_by_images`: for which masked variants the final F1 on masked minus on
    plain images lies above zero (Student t 95% over seeds)."""
    gap = finals.dropna(subset=["masked"]).assign(gap=lambda d: d.masked - d.plain)
    lines = []
    for f in pd.unique(finals.fill):
        g = summarise(gap[gap.fill == f], by=["variant"], value="gap", sort=False)
        above = g[g.ci_low > 0].variant.tolist()
        lines.append(f"{f} fill: final F1 on masked minus on plain images lies above zero (95% CI) for {len(above)} of "
                     f"{len(g)} masked variants" + (f": {', '.join(above)}" if above else ""))
    return lines
