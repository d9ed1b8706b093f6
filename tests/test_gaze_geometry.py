"""rbdm_core.gaze.geometry: visual span and screen <-> image coordinates."""

import numpy as np
import pytest

from rbdm_core import gaze


# --- geometry ---------------------------------------------------------------------------------


def test_visual_span_paper_setup_by_hand():
    # 27-inch 2560x1440: diagonal = sqrt(2560^2 + 1440^2) = 2937.21 px over 68.58 cm
    # -> pitch 0.0233487 cm/px. Span diameter = 2 * 70 * tan(2.5 deg) = 6.11253 cm -> 261.79 px.
    assert gaze.visual_span_px() == pytest.approx(261.79, abs=0.01)
    assert gaze.visual_span_px(convention="radius") == pytest.approx(261.79 / 2, abs=0.01)


def test_visual_span_unit_geometry():
    # 3x4 px screen whose 5 px diagonal is 5 cm -> 1 cm per pixel. 90 deg at 1 cm: the disc's
    # diameter is 2 * 1 * tan(45 deg) = 2 cm = 2 px, radius 1 px.
    kw = dict(angle_deg=90, distance_cm=1, diagonal_in=5 / 2.54, resolution=(3, 4))
    assert gaze.visual_span_px(**kw) == pytest.approx(2.0, rel=1e-12)
    assert gaze.visual_span_px(**kw, convention="radius") == pytest.approx(1.0, rel=1e-12)


def test_visual_span_bad_convention_and_angle():
    with pytest.raises(ValueError, match="convention"):
        gaze.visual_span_px(convention="area")
    with pytest.raises(ValueError, match="angle_deg"):
        gaze.visual_span_px(angle_deg=0)
    with pytest.raises(ValueError, match="distance_cm"):
        gaze.visual_span_px(distance_cm=-1)


# --- coordinates ------------------------------------------------------------------------------


def test_screen_to_image_by_hand():
    # 1200 px square centred on 2560x1440: top-left at (680, 120); 48 px image -> 25 screen px/px
    pts = [[680, 120], [1280, 720], [680 + 12.5, 120 + 12.5], [1880, 1320]]
    got = gaze.screen_to_image(pts, (48, 48))
    np.testing.assert_allclose(got, [[-0.5, -0.5], [23.5, 23.5], [0, 0], [47.5, 47.5]])


def test_screen_image_round_trip():
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, 0], [2560, 1440], size=(50, 2))
    img = gaze.screen_to_image(pts, (48, 64))
    np.testing.assert_allclose(gaze.image_to_screen(img, (48, 64)), pts, rtol=0, atol=1e-9)


def test_fixations_in_image_drops_and_counts():
    pts = [[679.9, 500], [680, 500], [1880, 500], [1879.9, 500], [np.nan, 500], [1000, 119]]
    xy, kept, dropped = gaze.fixations_in_image(pts, (48, 48))
    np.testing.assert_array_equal(kept, [False, True, False, True, False, False])
    assert dropped == 4 and xy.shape == (2, 2)
    assert xy[0, 0] == pytest.approx(-0.5)


def test_display_larger_than_screen_raises():
    with pytest.raises(ValueError, match="display_px"):
        gaze.screen_to_image([[0, 0]], (48, 48), display_px=2000)
