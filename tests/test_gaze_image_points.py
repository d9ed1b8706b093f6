"""rbdm_core.gaze.image_points (the points chapter 4 draws on its images), gaze.detection_sweep and
agreement.typical_image, against independent computations."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rbdm_core import agreement, gaze

GEO = SimpleNamespace(display_px=gaze.DISPLAY_PX, screen=gaze.SCREEN_RESOLUTION)
SHAPE = (48, 48)


def _screen(x, y):
    """Screen coordinates of image point (x, y) on a 48 px image (`gaze.image_to_screen`)."""
    return gaze.image_to_screen([[x, y]], SHAPE, GEO.display_px, GEO.screen)[0]


def _fixations(rows):
    out = []
    for annotator, image, fixation, target, x, y in rows:
        xs, ys = _screen(x, y)
        out.append({"annotator": annotator, "image_index": image, "fixation": fixation, "target": target,
                    "x_screen": xs, "y_screen": ys, "duration_ms": 200.0 + 10 * fixation})
    return pd.DataFrame(out)


def test_visual_field_takes_the_first_fixation_off_the_cross():
    fx = _fixations([(1, 0, 0, "centre", 24, 24), (0, 3, 0, "centre", 24, 24), (0, 3, 1, "eyes", 10.0, 20.0),
                     (0, 5, 0, "mouth", 30.0, 40.0)])
    kernel = gaze.kernel_for_image(48)
    field = gaze.visual_field(fx, SHAPE, GEO, kernel)
    assert (field.annotator, field.image_index) == (0, 3)
    np.testing.assert_allclose(field.xy, (10.0, 20.0))
    to_img = 48 / gaze.DISPLAY_PX
    assert list(field.rings.values()) == pytest.approx([gaze.visual_span_px(2.0, convention="radius") * to_img,
                                                        gaze.visual_span_px(5.0, convention="radius") * to_img])
    np.testing.assert_allclose(field.blob, gaze.heatmap([[10.0, 20.0]], SHAPE, kernel.sigma, kernel.cutoff))


def test_scanpath_converts_samples_and_detects_one_fixation():
    t = np.arange(30) * (1000 / 60)
    xs, ys = _screen(12.0, 30.0)
    samples = pd.DataFrame({"annotator": 0, "image_index": 2, "t_ms": t, "x_screen": xs, "y_screen": ys})
    other = samples.assign(image_index=3)
    fx = _fixations([(0, 2, 0, "eyes", 12.0, 30.0), (0, 3, 0, "eyes", 1.0, 1.0)])
    path = gaze.scanpath(pd.concat([samples, other]), fx, 0, 2, SHAPE, GEO, dispersion_px=20.0)
    assert path.samples_xy.shape == (30, 2)
    np.testing.assert_allclose(path.samples_xy, [[12.0, 30.0]] * 30, atol=1e-9)
    np.testing.assert_allclose(path.fixations_xy, [[12.0, 30.0]], atol=1e-9)
    assert list(path.durations_ms) == [200.0]
    np.testing.assert_allclose(path.detected_xy, [[12.0, 30.0]], atol=1e-9)


def test_annotator_points_and_numbered_fixations():
    fx = _fixations([(0, 1, 1, "eyes", 5.0, 6.0), (0, 1, 0, "centre", 24.0, 24.0), (1, 1, 0, "centre", 24.0, 24.0),
                     (1, 1, 1, "mouth", 60.0, 6.0), (1, 1, 2, "mouth", 7.0, 8.0), (0, 2, 0, "centre", 1.0, 1.0)])
    pts = gaze.annotator_points(fx, 1, [0, 1], SHAPE, GEO)
    np.testing.assert_allclose(pts[0], [[5.0, 6.0], [24.0, 24.0]], atol=1e-9)  # the table's order
    np.testing.assert_allclose(pts[1], [[24.0, 24.0], [7.0, 8.0]], atol=1e-9)  # (60, 6) lies off the image
    (a0, a1), = gaze.numbered_fixations(fx, [1], [0, 1], SHAPE, GEO)
    np.testing.assert_allclose(a0[0], [[24.0, 24.0], [5.0, 6.0]], atol=1e-9)  # viewing order
    assert list(a0[1]) == [0, 1] and list(a1[1]) == [0, 2]  # numbers kept across the dropped fixation


def test_ranked_top_pixels_against_a_stable_argsort():
    rng = np.random.default_rng(0)
    maps = rng.integers(0, 4, size=(3, 5, 7)).astype(np.float32)  # many ties
    got = gaze.ranked_top_pixels(maps, 6)
    for m, xy in zip(maps, got):
        top = np.argsort(-m.ravel(), kind="stable")[:6]
        assert xy.dtype == np.int64
        np.testing.assert_array_equal(xy, np.stack([top % 7, top // 7], axis=1))


def test_detection_sweep_sums_the_detection_table():
    t = np.arange(40) * (1000 / 60)
    rows = []
    for img, (x, y) in enumerate([(500.0, 500.0), (900.0, 300.0)]):
        rows.append(pd.DataFrame({"annotator": 0, "image_index": img, "t_ms": t, "x_screen": x, "y_screen": y}))
    samples = pd.concat(rows)
    fx = pd.DataFrame({"annotator": [0, 0, 0], "image_index": [0, 1, 1], "x_screen": [500.0, 900.0, 100.0],
                       "y_screen": [500.0, 300.0, 100.0]})
    sweep = gaze.detection_sweep(samples, fx, 30.0, px_per_degree=10.0, factors=(0.5, 1.0))
    assert list(sweep["threshold (screen px)"]) == [15.0, 30.0] and list(sweep["threshold (deg)"]) == [1.5, 3.0]
    d = gaze.detection_table(samples, fx, 30.0, max_distance_px=30.0)
    row = sweep.iloc[1]
    assert (row.generating, row.detected, row.matched) == (3, d.n_detected.sum(), d.n_matched.sum())
    assert row.recall == pytest.approx(d.n_matched.sum() / 3) and row.precision == pytest.approx(1.0)


def test_typical_image_is_closest_to_the_mean():
    scores = pd.DataFrame({"comparison": ["model -> annotator 0", "model -> annotator 1", "random -> annotator 0"] * 3,
                           "metric": "overlap", "image_index": np.repeat([0, 1, 2], 3),
                           "value": [0.1, 0.1, 0.9, 0.5, 0.3, 0.0, 0.8, 0.8, 0.0]})
    # model means per image 0.1, 0.4, 0.8; their mean 0.433: image 1
    assert agreement.typical_image(scores) == 1
    assert agreement.typical_image(scores, predictor="random") == 1  # 0.9, 0, 0: mean 0.3, images 1 and 2 tie
