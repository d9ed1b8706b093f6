"""The rbdm_core.gaze package: one job per module, every public name re-exported.

The modules' own tests: test_gaze_geometry.py, test_gaze_heatmaps.py, test_gaze_fixations.py,
test_gaze_region_shares.py.
"""

import ast
import importlib
import inspect

import pytest

from rbdm_core import gaze

MODULES = ("geometry", "heatmaps", "fixations", "region_shares", "image_points")

# The public names of rbdm_core/gaze.py before it became a package, and those that came from
# rbdm_core/comparison.py: notebooks, pipeline, masking and benchmarks use them as gaze.<name>.
BEFORE = [
    "SCREEN_RESOLUTION", "DIAGONAL_IN", "DISTANCE_CM", "DISPLAY_PX", "VISUAL_ANGLE_DEG", "FWHM_FRACTION",
    "pixel_pitch_cm", "visual_span_px", "span_in_image_px", "sigma_from_span", "GazeKernel", "kernel_for_image",
    "screen_to_image", "image_to_screen", "fixations_in_image", "heatmap", "fixation_map", "Fixations",
    "detect_fixations_idt", "AnnotatorHeatmaps", "fixation_heatmaps",
]
FROM_COMPARISON = ["model_heatmaps", "random_heatmaps", "study_fixation_maps", "dispersion_threshold_px",
                   "match_fixations", "detection_table"]


def _defined(module):
    """Public names a module defines at top level (functions, classes, constants), from its source."""
    names = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_")]


def test_every_public_name_is_reexported_once():
    seen = {}
    for name in MODULES:
        mod = importlib.import_module(f"rbdm_core.gaze.{name}")
        for n in _defined(mod):
            assert n not in seen, f"{n} defined in both {seen[n]} and {name}"
            seen[n] = name
            assert getattr(gaze, n) is getattr(mod, n), n
    assert sorted(gaze.__all__) == sorted(seen)


@pytest.mark.parametrize("name", BEFORE + FROM_COMPARISON)
def test_names_used_elsewhere_stay_reachable(name):
    assert name in gaze.__all__ and hasattr(gaze, name)


def test_argument_checks_stay_reachable_from_gaze():
    from rbdm_core import checks  # their home, shared by every layer (masking no longer reaches them via gaze)

    assert gaze._positive is checks._positive and gaze._points is checks._points
    assert gaze._positive("sigma", 2) == 2.0
    with pytest.raises(ValueError, match="sigma"):
        gaze._positive("sigma", 0)
    assert gaze._image_shape((4, 5)) == (4, 5)
    assert gaze._points("fixations", [[1, 2]]).shape == (1, 2)
