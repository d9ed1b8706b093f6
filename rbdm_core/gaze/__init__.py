"""Gaze: the eye-tracking study's geometry, gaze heatmaps and fixation detection (paper section 5.3).

One job per module; every public name is re-exported here, so `gaze.heatmap(...)` and
`from rbdm_core.gaze import kernel_for_image` work as before the split.

* `geometry`:  the study's set-up, visual span, screen <-> image pixel coordinates.
* `heatmaps`:  the Gaussian kernel (`kernel_for_image`), `heatmap`, binary `fixation_map`,
  per-annotator heatmaps and fixation maps of a study, model heatmaps and their chance baseline.
* `fixations`: I-DT fixation detection and its checks against known fixations (`detection_sweep`:
  the check at several thresholds).
* `image_points`: the points figures draw on an image: `visual_field`, `scanpath`,
  `annotator_points`, `numbered_fixations`, `ranked_top_pixels`.
* `region_shares`: the shares of fixations and of the model's top pixels in the ground-truth
  region per image, and the rule that picks the images of the paper's Figure 13.

The argument checks live in `rbdm_core.checks` (shared by every layer); `_positive`, `_points` and
`_image_shape` stay reachable as `gaze._positive` etc. for the callers that used them here.
"""

from rbdm_core.checks import _image_shape, _points, _positive  # noqa: F401 (gaze._positive etc., as before)
from .fixations import (Fixations, detect_fixations_idt, detection_sweep, detection_table, dispersion_threshold_px,
                        match_fixations)
from .geometry import (
    DIAGONAL_IN,
    DISPLAY_PX,
    DISTANCE_CM,
    SCREEN_RESOLUTION,
    VISUAL_ANGLE_DEG,
    fixations_in_image,
    image_to_screen,
    pixel_pitch_cm,
    screen_to_image,
    span_in_image_px,
    visual_span_px,
)
from .heatmaps import (
    FWHM_FRACTION,
    AnnotatorHeatmaps,
    GazeKernel,
    fixation_heatmaps,
    fixation_map,
    heatmap,
    kernel_for_image,
    kernel_for_geometry,
    describe_kernel,
    model_heatmaps,
    random_heatmaps,
    sigma_from_span,
    study_fixation_maps,
)
from .image_points import (
    Scanpath,
    VisualField,
    annotator_points,
    numbered_fixations,
    ranked_top_pixels,
    scanpath,
    visual_field,
)
from .region_shares import (
    MISSED_CUES_RULE,
    REGION_SHARE_COLUMNS,
    MissedCues,
    points_in_region,
    region_shares,
    select_missed_cues,
)

__all__ = [
    # geometry
    "SCREEN_RESOLUTION", "DIAGONAL_IN", "DISTANCE_CM", "DISPLAY_PX", "VISUAL_ANGLE_DEG",
    "pixel_pitch_cm", "visual_span_px", "span_in_image_px", "screen_to_image", "image_to_screen",
    "fixations_in_image",
    # heatmaps
    "FWHM_FRACTION", "sigma_from_span", "GazeKernel", "kernel_for_image", "kernel_for_geometry", "describe_kernel", "heatmap", "fixation_map",
    "AnnotatorHeatmaps", "fixation_heatmaps", "study_fixation_maps", "model_heatmaps", "random_heatmaps",
    # fixations
    "Fixations", "detect_fixations_idt", "dispersion_threshold_px", "match_fixations", "detection_table",
    "detection_sweep",
    # points on an image (chapter 4's figures)
    "VisualField", "visual_field", "Scanpath", "scanpath", "annotator_points", "numbered_fixations",
    "ranked_top_pixels",
    # region shares (Figure 13)
    "REGION_SHARE_COLUMNS", "MISSED_CUES_RULE", "points_in_region", "region_shares", "MissedCues",
    "select_missed_cues",
]
