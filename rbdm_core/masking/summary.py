"""Chapter 5's tables and mask sets, computed here so that the chapter's cells only call them.

- `fill_table()`: the registered fills (`FILLS`) as a table;
- `filled_examples(images, masks_by_type, fills)`: images under every mask type and fill;
- `kept_by_type`, `kept_summary`: the kept share per image and its mean per mask type beside the
  paper's description (`PAPER_KEPT`);
- `skew_summary`: quartiles of `regions.relevance_concentration` over images;
- `region_score_table`, `precision_lift`: `region_scores` as "mean [CI]" cells, and precision over
  the random mask of the same size;
- `explorer_states(maps, params)`: the mask explorer's precomputed masks.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core.masking.apply import apply_mask
from rbdm_core.masking.fills import FILLS
from rbdm_core.masking.registry import make_masks
from rbdm_core.masking.stats import mask_stats
from rbdm_core.statistics import format_interval, summarise

#: the paper's text on how much each mask keeps (quoted in chapter 5's table)
PAPER_KEPT = {
    "negative": "removes 10 % of the pixels, most of the image stays",
    "mean": "a middle ground: about the less relevant half removed",
    "perceptive": "removes most of the image; eyes, nose and mouth stay",
}

#: the explorer's settings: negative fractions and perceptive n
EXPLORER_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5)
EXPLORER_NS = (2, 4, 8, 16, 32)


def fill_table(fills: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per registered fill (default `masking.FILLS`): fill, parameters ("k=v, ..." or
    "-"), random, the paper's, what it does."""
    fills = FILLS if fills is None else fills
    return pd.DataFrame([{"fill": f.name, "parameters": ", ".join(f"{k}={v}" for k, v in f.params.items()) or "-",
                          "random": f.random, "the paper's": f.paper, "what it does": f.description}
                         for f in fills.values()])


def filled_examples(images: np.ndarray, masks_by_type: Mapping[str, np.ndarray], fills: Sequence[str], *,
                    seed: int = 0, start: int = 0) -> np.ndarray:
    """(T F, H, W, C) uint8: the first image of `images` (N, H, W, C) under the first mask of each
    type in `masks_by_type` ({type: (N, H, W) bool}, T types) and each fill in `fills` (F names),
    type-major; `start` is the image's index in its corpus (keys the random fills)."""
    one = np.asarray(images)[:1]
    return np.stack([apply_mask(one, np.asarray(m)[:1], f, seed=seed, start=int(start))[0]
                     for m in masks_by_type.values() for f in fills])


def kept_by_type(masks_by_type: Mapping[str, np.ndarray], regions: np.ndarray | None = None) -> pd.DataFrame:
    """`mask_stats` of each mask type ({type: (N, H, W) bool}) stacked, with a column `mask`: one
    row per (type, image); kept_fraction in [0, 1] (and precision, recall with `regions`)."""
    return pd.concat([mask_stats(m, regions).assign(mask=t) for t, m in masks_by_type.items()], ignore_index=True)


def kept_summary(stats: pd.DataFrame, mask_types: Sequence[str], quotes: Mapping[str, str] | None = None
                 ) -> pd.DataFrame:
    """Mean kept fraction per mask type (rows in `mask_types` order; Student-t 95 % interval over
    images: mask, n, mean, sd, ci_low, ci_high) beside the paper's text (`quotes`, default
    `PAPER_KEPT`). stats: `kept_by_type`'s table."""
    quotes = PAPER_KEPT if quotes is None else quotes
    kept = summarise(stats, by=["mask"], value="kept_fraction").set_index("mask").loc[list(mask_types)].reset_index()
    kept["the paper (text, quoted)"] = [quotes[t] for t in mask_types]
    return kept[["mask", "n", "mean", "sd", "ci_low", "ci_high", "the paper (text, quoted)"]]


def skew_summary(concentration: pd.DataFrame, top: float = 0.1) -> pd.DataFrame:
    """Mean and quartiles over images (rows "mean", "25%", "50%", "75%"; column "over images") of
    `regions.relevance_concentration(maps, top)`'s columns, renamed for readers."""
    pct = f"{top * 100:g} %"
    skew = concentration.drop(columns="image").rename(columns={
        "share_above_mean": "share of pixels >= mean (kept by the mean mask)",
        "median_over_mean": "median / mean relevance",
        "top_share": f"share of the map's sum in its top {pct} pixels"})
    return skew.describe().loc[["mean", "25%", "50%", "75%"]].reset_index(names="over images")


def region_score_table(scores: pd.DataFrame, mask_types: Sequence[str]) -> pd.DataFrame:
    """`region_scores`' rows as one row per (mask, pixels), mask in `mask_types` order, with a
    column per metric holding "mean [ci_low, ci_high]" (`statistics.format_interval`)."""
    wide = scores.assign(cell=[format_interval(m, lo, hi)
                               for m, lo, hi in zip(scores["mean"], scores.ci_low, scores.ci_high)])
    wide = wide.pivot(index=["mask", "pixels"], columns="metric", values="cell").reset_index()
    wide["mask"] = pd.Categorical(wide["mask"], list(mask_types))
    wide = wide.sort_values(["mask", "pixels"], kind="stable").reset_index(drop=True)
    wide["mask"] = wide["mask"].astype(str)
    return wide


def precision_lift(scores: pd.DataFrame, mask_types: Sequence[str]) -> pd.DataFrame:
    """Per mask type: mean precision of the kept pixels over that of the random mask of the same
    size, and the same for the removed pixels (1 = chance). scores: `region_scores`' table."""
    p = scores[scores.metric == "precision"].set_index(["mask", "pixels"])["mean"]
    return pd.DataFrame({
        "mask": list(mask_types),
        "kept: precision / random": [p[(t, "mask")] / p[(t, "random, same size")] for t in mask_types],
        "removed: precision / random": [p[(t, "removed area")] / p[(t, "removed area, random")] for t in mask_types],
    })


def explorer_states(maps: Mapping[str, np.ndarray], params: Callable[[str, Any], dict], *,
                    fractions: Sequence[float] = EXPLORER_FRACTIONS, ns: Sequence[int] = EXPLORER_NS
                    ) -> dict[tuple, np.ndarray]:
    """The mask explorer's states: {(method, type, value): (N, H, W) bool masks} of the relevance
    maps `maps` ({method: (N, H, W)}), for every negative fraction, the mean mask (value "-") and
    every perceptive n. params(mask_type, value) -> the type's keyword arguments for `make_masks`
    (value: the fraction, n, or None for the mean mask)."""
    states = {}
    for m, r in maps.items():
        for f in fractions:
            states[(m, "negative", f)] = make_masks(r, "negative", **params("negative", f))
        states[(m, "mean", "-")] = make_masks(r, "mean", **params("mean", None))
        for n in ns:
            states[(m, "perceptive", n)] = make_masks(r, "perceptive", **params("perceptive", n))
    return states
