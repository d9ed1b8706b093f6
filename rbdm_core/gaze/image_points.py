"""The gaze points figures draw on an image (chapter 4), in image pixel-centre coordinates
(x = column, y = row; `geometry.screen_to_image`).

* `visual_field`: the first off-centre fixation of the first annotator, the radii of the foveal
  and parafoveal areas around it and its cut Gaussian (the paper's Figure 6).
* `scanpath`: one annotator's samples on one image, the generating fixations and those I-DT
  finds in the samples.
* `annotator_points`, `numbered_fixations`: each annotator's fixations on an image (numbered in
  viewing order for Figure 13).
* `ranked_top_pixels`: the model's n most relevant pixels in rank order (`ranking.pseudo_fixations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from rbdm_core.ranking import pseudo_fixations

from .fixations import detect_fixations_idt
from .geometry import fixations_in_image, screen_to_image, visual_span_px
from .heatmaps import heatmap


@dataclass
class VisualField:
    """One fixation and the areas of vision around it (`visual_field`).

    annotator, image_index: whose fixation, on which image
    xy:    (x, y) of the fixation, image px
    rings: {label: radius in image px}: the fovea (2 degrees) and the parafovea = visual span (5 degrees)
    blob:  (H, W) float64, the fixation's Gaussian cut at the kernel's cut-off (`heatmap`)
    """

    annotator: object
    image_index: int
    xy: tuple
    rings: dict
    blob: np.ndarray


def visual_field(fixations: pd.DataFrame, shape: Sequence[int], geometry, kernel) -> VisualField:
    """The first fixation of the lowest-numbered annotator whose target is not the central cross
    (`fixations`: columns annotator, target, image_index, x_screen, y_screen), on an image of
    `shape` (H, W) shown as `geometry` places it; `kernel` (`GazeKernel`): sigma and cut-off."""
    fx = fixations
    f0 = fx[(fx.annotator == fx.annotator.min()) & (fx.target != "centre")].iloc[0]
    (x, y), = screen_to_image([[f0.x_screen, f0.y_screen]], shape, geometry.display_px, geometry.screen)
    to_img = shape[0] / geometry.display_px  # image px per screen px
    rings = {"fovea (2°)": visual_span_px(2.0, convention="radius") * to_img,
             "parafovea = visual span (5°)": visual_span_px(5.0, convention="radius") * to_img}
    blob = heatmap([[x, y]], shape, kernel.sigma, kernel.cutoff)
    return VisualField(annotator=f0.annotator, image_index=int(f0.image_index), xy=(x, y), rings=rings, blob=blob)


@dataclass
class Scanpath:
    """One annotator on one image (`scanpath`), image px: samples_xy (S, 2) (lost samples NaN),
    fixations_xy (F, 2) and durations_ms (F,) of the generating fixations, detected_xy (D, 2) of
    those I-DT finds."""

    samples_xy: np.ndarray
    fixations_xy: np.ndarray
    durations_ms: np.ndarray
    detected_xy: np.ndarray


def scanpath(samples: pd.DataFrame, fixations: pd.DataFrame, annotator, image_index: int, shape: Sequence[int],
             geometry, dispersion_px: float) -> Scanpath:
    """The `Scanpath` of `annotator` on image `image_index` (`samples`: annotator, image_index,
    t_ms, x_screen, y_screen; `fixations`: annotator, image_index, x_screen, y_screen, duration_ms),
    I-DT run with `dispersion_px` (screen px)."""
    samp = samples[(samples.annotator == annotator) & (samples.image_index == image_index)]
    true_fx = fixations[(fixations.annotator == annotator) & (fixations.image_index == image_index)]
    found = detect_fixations_idt(samp.t_ms.to_numpy(), samp.x_screen.to_numpy(), samp.y_screen.to_numpy(),
                                 dispersion_px=dispersion_px)
    place = (shape, geometry.display_px, geometry.screen)
    return Scanpath(samples_xy=screen_to_image(samp[["x_screen", "y_screen"]].to_numpy(), *place),
                    fixations_xy=screen_to_image(true_fx[["x_screen", "y_screen"]].to_numpy(), *place),
                    durations_ms=true_fx.duration_ms.to_numpy(),
                    detected_xy=screen_to_image(found.xy, *place) if len(found) else np.zeros((0, 2)))


def annotator_points(fixations: pd.DataFrame, image_index: int, annotators: Sequence, shape: Sequence[int],
                     geometry) -> list[np.ndarray]:
    """Per annotator (in `annotators` order), its fixations on image `image_index` that lie on
    the image, (m, 2) float64 image px, in the table's order."""
    on = fixations[fixations.image_index == image_index]
    return [fixations_in_image(on[on.annotator == a][["x_screen", "y_screen"]].to_numpy(), shape, geometry.display_px,
                               geometry.screen)[0] for a in annotators]


def numbered_fixations(fixations: pd.DataFrame, image_indices: Sequence[int], annotators: Sequence,
                       shape: Sequence[int], geometry) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per image of `image_indices`, per annotator: (xy (m, 2) image px, numbers (m,) int64) of
    its fixations on the image, numbered 0, 1, ... in viewing order (column `fixation`) before
    those off the image are dropped (0: the fixation on the central cross)."""
    out = []
    for img in image_indices:
        on = fixations[fixations.image_index == img]
        rows = []
        for a in annotators:
            sub = on[on.annotator == a].sort_values("fixation", kind="stable")
            xy, kept, _ = fixations_in_image(sub[["x_screen", "y_screen"]].to_numpy(), shape, geometry.display_px,
                                             geometry.screen)
            rows.append((xy, np.arange(len(sub))[kept]))
        out.append(rows)
    return out


def ranked_top_pixels(relevance: np.ndarray, n: int) -> list[np.ndarray]:
    """Per map of `relevance` (N, H, W): its `n` most relevant pixels (`ranking.pseudo_fixations`:
    ties by the lower row-major index) as (n, 2) int64 (x = column, y = row), most relevant first."""
    r = np.asarray(relevance)
    out = []
    for rmap, pts in zip(r, pseudo_fixations(r, n)):
        xy = pts.astype(np.int64)
        # row-major points, so a stable sort by value keeps ties in index order
        out.append(xy[np.argsort(-rmap[xy[:, 1], xy[:, 0]], kind="stable")])
    return out
