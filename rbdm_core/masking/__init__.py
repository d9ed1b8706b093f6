"""Masks (paper section 5.4): made from relevance maps, at random, from fixations; combined,
measured, applied, and built for whole data sets.

Every mask is `(N, H, W)` bool with True where a pixel is KEPT (m_i = 1) and False where it is
removed (m_i = 0); a single `(H, W)` map gives an `(H, W)` mask. Relevance maps must be finite:
NaN or inf raise a ValueError naming the image.

Modules: `relevance_masks` (negative, mean, perceptive, top_fraction; their ranking rule
`top_k_flat` and the pseudo-fixations live in `rbdm_core.ranking`, re-exported here),
`random_masks` (seeded random masks, random masks of given sizes, ROAR removals), `registry`
(`MASKS`: every mask type with its parameters and defaults; `make_masks`), `combine` (several
Trainers' maps and masks), `fixation_masks` (masks from human fixations), `stats` (kept share,
precision, recall, IoU), `apply` (`apply_mask`), `fills` (`FILLS`: what a removed pixel
becomes: "zero", the paper's and the default, "mean", "blur", "noise", and ROAD's
"noisy_linear", whose exact linear part is `linear_imputation`), `build` (the cached builder).
"""

from rbdm_core.masking.apply import apply_mask
from rbdm_core.masking.build import build_masks
from rbdm_core.masking.combine import COMBINE_RULES, combine_masks, combine_relevance, normalise_maps
from rbdm_core.masking.fills import (FILL_NAMES, FILLS, MID_GREY, Fill, blur_fill, fill_spec, mean_fill, noise_fill,
                                     noisy_linear_fill, zero_fill)
from rbdm_core.masking.fixation_masks import HumanMasks, human_masks, human_vs_model
from rbdm_core.masking.linear_imputation import NEIGHBOURS, linear_fill
from rbdm_core.masking.random_masks import REMOVALS, random_fraction_mask, random_masks_like, roar_masks
from rbdm_core.masking.registry import MASK_TYPES, MASKS, PAPER_MASK_TYPES, MaskType, make_masks, mask_type
from rbdm_core.masking.relevance_masks import mean_mask, negative_mask, perceptive_mask, top_fraction_mask
from rbdm_core.masking.stats import (PIXEL_SETS, mask_iou, mask_precision, mask_stats, precision_difference,
                                     region_scores)
from rbdm_core.ranking import pseudo_fixations, top_k_flat  # the ranking rule, below gaze and masking

__all__ = [
    "apply_mask", "FILLS", "FILL_NAMES", "Fill", "fill_spec", "MID_GREY", "zero_fill", "mean_fill", "blur_fill",
    "noise_fill", "noisy_linear_fill", "NEIGHBOURS", "linear_fill",
    "build_masks", "COMBINE_RULES", "combine_masks", "combine_relevance", "normalise_maps",
    "HumanMasks", "human_masks", "human_vs_model", "REMOVALS", "random_fraction_mask", "random_masks_like",
    "roar_masks", "MASK_TYPES", "MASKS", "PAPER_MASK_TYPES", "MaskType", "make_masks", "mask_type",
    "mean_mask", "negative_mask", "perceptive_mask", "pseudo_fixations", "top_fraction_mask", "top_k_flat",
    "mask_iou", "mask_precision", "mask_stats", "precision_difference", "PIXEL_SETS", "region_scores",
]
