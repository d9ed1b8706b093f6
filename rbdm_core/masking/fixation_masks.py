"""Masks from human fixations (the paper's proposed next step) and how they compare with the model's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from rbdm_core.checks import _masks
from rbdm_core.gaze import fixation_heatmaps
from rbdm_core.masking.stats import mask_iou, mask_stats


@dataclass
class HumanMasks:
    """annotators (A,); masks (A, N, H, W) bool: support of each annotator's cut gaze heatmap
    (True = perceived = kept); n_fixations (A, N): fixations on the image."""

    annotators: np.ndarray
    masks: np.ndarray
    n_fixations: np.ndarray


def human_masks(fixations: pd.DataFrame, n_images: int, image_shape: Sequence[int], sigma: float,
                cutoff: float, geometry: Any = None) -> HumanMasks:
    """Perceptive masks from real (or simulated) fixations instead of pseudo-fixations: keep the
    pixels where an annotator's gaze heatmap (`gaze.fixation_heatmaps`, kernel `sigma`, cut off
    at `cutoff` image pixels) is non-zero. fixations: a study's fixation table (annotator,
    image_index, x_screen, y_screen); geometry: the study's `StudyGeometry` (display, screen)."""
    if cutoff is None:
        raise ValueError("cutoff: a finite cut-off radius in pixels is required (an uncut Gaussian is never 0)")
    hm = fixation_heatmaps(fixations, n_images, image_shape, sigma, cutoff, geometry=geometry)
    return HumanMasks(hm.annotators, hm.maps > 0, hm.n_fixations)


def human_vs_model(human: HumanMasks, model_masks: Any, regions: Any = None) -> pd.DataFrame:
    """Per (annotator, image) with at least one fixation: `iou` of the annotator's mask and the
    model's perceptive mask, both masks' `kept_fraction` and, with ground-truth `regions`
    (N, H, W) bool (synthetic data only; real corpora have none), their `precision` (NaN where
    a mask keeps nothing). Columns: annotator, image_index, iou, kept_human, kept_model
    [, precision_human, precision_model]."""
    mm = _masks(model_masks, "model_masks", single=False)
    if human.masks.shape[1:] != mm.shape:
        raise ValueError(f"model_masks: expected shape {human.masks.shape[1:]} (the study's images), got {mm.shape}")
    ms = mask_stats(mm, regions)
    frames = []
    for k, a in enumerate(human.annotators):
        idx = np.flatnonzero(human.n_fixations[k] > 0)
        hs = mask_stats(human.masks[k, idx], None if regions is None else np.asarray(regions)[idx])
        cols = {"annotator": a, "image_index": idx, "iou": mask_iou(human.masks[k, idx], mm[idx]),
                "kept_human": hs.kept_fraction.to_numpy(), "kept_model": ms.kept_fraction.to_numpy()[idx]}
        if regions is not None:
            cols.update(precision_human=hs.precision.to_numpy(), precision_model=ms.precision.to_numpy()[idx])
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)
