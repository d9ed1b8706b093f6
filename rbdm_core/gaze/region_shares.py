"""Who looks at the class-defining region: the annotators' fixations and the model's most relevant
pixels measured against each image's ground-truth region, and the rule that picks the images of
the paper's Figure 13 (an image the Trainer gets wrong while a person fixates the telling region).

* `points_in_region`: which (x, y) points fall on a pixel of a region.
* `region_shares`: per image, the share of the annotators' fixations and the share of the model's
  `n` most relevant pixels (the pseudo-fixations of `gaze.model_heatmaps`) that lie in the region,
  with the true and the predicted class.
* `select_missed_cues`: the stated rule that picks `k` images from that table (`MISSED_CUES_RULE`).

A point lies in the region when the pixel containing it (x, y rounded half up to the nearest pixel
centre, as `fixation_map`) is a region pixel. Coordinates are image pixel-centre coordinates
(`geometry.screen_to_image`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from rbdm_core.checks import _image_shape, _is_int
from rbdm_core.ranking import pseudo_fixations

from .geometry import DISPLAY_PX, SCREEN_RESOLUTION, fixations_in_image
from .heatmaps import _pixels

#: The columns of `region_shares`, in order.
REGION_SHARE_COLUMNS = ("image_index", "true", "predicted", "correct", "region_px", "fixations",
                        "fixations_in_region", "fixation_share", "top_pixels_in_region", "relevance_share", "gap")

#: The rule of `select_missed_cues` ({k}, {n} and {counted} filled in: `MissedCues.rule`).
MISSED_CUES_RULE = (
    "among the images the model misclassifies that have a non-empty ground-truth region and at "
    "least one counted fixation, take the {k} with the largest gap = fixation share in the region "
    "- relevance share in the region; ties: the larger fixation share first, then the lower image "
    "index. Fixation share: the share of the fixations of all annotators on the image ({counted}) "
    "whose pixel lies in the region; relevance share: the share of the model's "
    "n = {n} most relevant pixels that lie in it. If no misclassified image qualifies, the same "
    "order over all eligible images gives the closest cases."
)


def points_in_region(points: Any, region: Any) -> np.ndarray:
    """(K,) bool: True where the pixel containing point k (x = column, y = row, rounded half up)
    is True in `region (H, W)`. Points off the image raise a ValueError naming the row."""
    reg = np.asarray(region)
    if reg.dtype != bool or reg.ndim != 2:
        raise ValueError(f"region: expected an (H, W) bool array, got shape {reg.shape} dtype {reg.dtype}")
    row, col = _pixels("points", points, reg.shape)
    return reg[row, col]


def _labels(name: str, values: Any, n: int) -> np.ndarray:
    a = np.asarray(values)
    if a.shape != (n,):
        raise ValueError(f"{name}: expected one class per image, shape ({n},), got {a.shape}")
    return a


def region_shares(
    fixations_df: pd.DataFrame,
    regions: Any,
    relevance: Any,
    n: int,
    true: Sequence[Any],
    predicted: Sequence[Any],
    *,
    skip_first: bool = True,
    display_px: float | None = None,
    screen: Sequence[int] | None = None,
    geometry: Any = None,
) -> pd.DataFrame:
    """Per image: how much of the annotators' gaze and of the model's top relevance falls in the
    image's ground-truth region.

    fixations_df: a study's fixation table (annotator, image_index, x_screen, y_screen; `fixation`,
                  the order within an (annotator, image), if present, else the table's order).
    regions:      (N, H, W) bool ground-truth regions of the N images.
    relevance:    (N, H, W) the model's relevance maps of the same images.
    n:            the model's points per image: its `n` most relevant pixels (ties by row-major
                  index, `ranking.pseudo_fixations`), as the model heatmaps of chapter 4.
    true, predicted: (N,) the true and the model's predicted class per image (any comparable labels).
    skip_first:   leave out each annotator's first fixation on an image (the one on the central
                  fixation cross every trial starts from), default True.
    geometry:     object with `display_px` and `screen` (`StudyGeometry`); explicit arguments win.

    Returns one row per image, columns `REGION_SHARE_COLUMNS`: region_px (pixels in the region),
    fixations (counted fixations on the image, all annotators), fixations_in_region,
    fixation_share = fixations_in_region / fixations, top_pixels_in_region (of the n),
    relevance_share = top_pixels_in_region / n, gap = fixation_share - relevance_share.
    Shares are NaN where the region is empty (nothing marks the class) and fixation_share also
    where no fixation was counted. Fixations off the image are dropped.
    """
    # long: the signature and docstring are 34 of its lines (every input documented); the body is 50
    reg = np.asarray(regions)
    rel = np.asarray(relevance)
    if reg.dtype != bool or reg.ndim != 3:
        raise ValueError(f"regions: expected (N, H, W) bool, got shape {reg.shape} dtype {reg.dtype}")
    if rel.shape != reg.shape:
        raise ValueError(f"relevance: expected the regions' shape {reg.shape}, got {rel.shape}")
    n_img = len(reg)
    h, w = _image_shape(reg.shape[1:])
    t = _labels("true", true, n_img)
    p = _labels("predicted", predicted, n_img)
    missing = [c for c in ("annotator", "image_index", "x_screen", "y_screen") if c not in fixations_df.columns]
    if missing:
        raise ValueError(f"fixations_df: missing column(s) {missing}; "
                         "expected annotator, image_index, x_screen, y_screen")
    if display_px is None:
        display_px = getattr(geometry, "display_px", DISPLAY_PX)
    if screen is None:
        screen = getattr(geometry, "screen", SCREEN_RESOLUTION)
    idx = fixations_df["image_index"].to_numpy()
    bad = (idx < 0) | (idx >= n_img)
    if bad.any():
        raise ValueError(f"fixations_df: image_index {idx[bad][0]!r}, expected 0 <= image_index < {n_img}")
    fx = fixations_df.reset_index(drop=True)  # unique labels for the drop below
    if skip_first:
        order = fx
        if "fixation" in fx.columns:
            order = fx.sort_values(["annotator", "image_index", "fixation"], kind="stable")
        first = order.groupby(["annotator", "image_index"], sort=False).head(1).index
        fx = fx.drop(index=first)
    counted = np.zeros(n_img, np.int64)
    inside = np.zeros(n_img, np.int64)
    for img, grp in fx.groupby("image_index", sort=True):
        xy, _, _ = fixations_in_image(grp[["x_screen", "y_screen"]].to_numpy(np.float64), (h, w), display_px, screen)
        counted[int(img)] = len(xy)
        inside[int(img)] = int(points_in_region(xy, reg[int(img)]).sum()) if len(xy) else 0
    top = pseudo_fixations(rel, n)
    top_in = np.array([int(points_in_region(pts, reg[i]).sum()) for i, pts in enumerate(top)], np.int64)
    region_px = reg.reshape(n_img, -1).sum(axis=1)
    has_region = region_px > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        fix_share = np.where(has_region & (counted > 0), inside / np.maximum(counted, 1), np.nan)
    rel_share = np.where(has_region, top_in / float(n), np.nan)
    df = pd.DataFrame({
        "image_index": np.arange(n_img), "true": t, "predicted": p, "correct": t == p,
        "region_px": region_px, "fixations": counted, "fixations_in_region": inside,
        "fixation_share": fix_share, "top_pixels_in_region": top_in, "relevance_share": rel_share,
        "gap": fix_share - rel_share,
    })[list(REGION_SHARE_COLUMNS)]
    df.attrs.update({"n": int(n), "skip_first": bool(skip_first)})  # for MissedCues.rule
    return df


@dataclass(frozen=True)
class MissedCues:
    """The images `select_missed_cues` picked.

    chosen:     the picked rows of the `region_shares` table, in rank order.
    qualified:  True when they are misclassified images as the rule asks; False when no
                misclassified image qualified and `chosen` holds the closest cases by the same
                ordering among all eligible images (then correctly classified ones).
    candidates: how many misclassified images met the rule's conditions.
    eligible:   how many images, misclassified or not, met them (a region and a counted fixation).
    sentence:   what happened, in one sentence.
    rule:       the rule, `MISSED_CUES_RULE` with k, n and the counted fixations filled in.
    """

    chosen: pd.DataFrame
    qualified: bool
    candidates: int
    eligible: int
    sentence: str
    rule: str


def select_missed_cues(shares: pd.DataFrame, k: int = 2) -> MissedCues:
    """Pick `k` images where people fixate the ground-truth region and the model does not, among
    the images the model gets wrong (`MISSED_CUES_RULE`).

    shares: a `region_shares` table (its `attrs` n and skip_first fill in the rule). Eligible: a
    non-empty region (finite relevance_share) and a finite fixation_share. Order: gap descending, then fixation_share descending, then
    image_index ascending. If no misclassified image is eligible, the closest cases by the same
    order among all eligible images are returned with `qualified=False`. Fewer than k eligible
    images give fewer rows.
    """
    missing = [c for c in REGION_SHARE_COLUMNS if c not in shares.columns]
    if missing:
        raise ValueError(f"shares: missing column(s) {missing}; expected a gaze.region_shares table")
    if not _is_int(k) or k < 1:
        raise ValueError(f"k: expected an int >= 1, got {k!r}")
    finite = np.isfinite(shares.fixation_share.astype(float)) & np.isfinite(shares.relevance_share.astype(float))
    eligible = shares[finite]
    ranked = eligible.assign(_neg_gap=-eligible.gap, _neg_fix=-eligible.fixation_share).sort_values(
        ["_neg_gap", "_neg_fix", "image_index"], kind="stable").drop(columns=["_neg_gap", "_neg_fix"])
    wrong = ranked[~ranked.correct.astype(bool)]
    if len(wrong):
        chosen = wrong.head(int(k))
        sentence = (f"{len(wrong)} of the {len(eligible)} eligible images are misclassified; "
                    f"the rule picks {len(chosen)}: image(s) {', '.join(map(str, chosen.image_index))}.")
        qualified = True
    else:
        chosen = ranked.head(int(k))
        qualified = False
        if len(ranked):
            sentence = (f"No image qualifies: the model classifies all {len(eligible)} eligible images correctly. "
                        f"Shown instead: the closest case(s) by the same ordering, image(s) "
                        f"{', '.join(map(str, chosen.image_index))} (correctly classified).")
        else:
            sentence = "No image qualifies, and no image has both a ground-truth region and a counted fixation."
    n = shares.attrs.get("n", "n")
    skip = shares.attrs.get("skip_first")
    counted = ("each annotator's first one, on the fixation cross, left out" if skip
               else "every fixation" if skip is not None else "as region_shares counted them")
    rule = MISSED_CUES_RULE.format(k=int(k), n=n, counted=counted)
    return MissedCues(chosen=chosen.reset_index(drop=True), qualified=qualified, candidates=len(wrong),
                      eligible=len(eligible), sentence=sentence, rule=rule[0].upper() + rule[1:])
