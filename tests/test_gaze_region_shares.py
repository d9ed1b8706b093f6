"""rbdm_core.gaze.region_shares: fixation and top-relevance shares in the ground-truth region, and
the rule that picks the images of Figure 13, on a hand-made 4x4 study counted by hand."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import gaze

# A 4x4 image shown as a 4 px square on a 4x4 screen: screen (x, y) = image (x + 0.5, y + 0.5).
GEOMETRY = {"display_px": 4, "screen": (4, 4)}


def _fix(rows):
    """rows of (annotator, image, fixation, x_img, y_img) -> a study's fixation table."""
    df = pd.DataFrame(rows, columns=["annotator", "image_index", "fixation", "x", "y"])
    return df.assign(x_screen=df.x + 0.5, y_screen=df.y + 0.5).drop(columns=["x", "y"])


def _case():
    regions = np.zeros((4, 4, 4), bool)
    regions[0, :2, :2] = True  # image 0: top-left 2x2
    regions[1, 3, :] = True  # image 1: bottom row
    # image 2: no region (a neutral face)
    regions[3, :, 0] = True  # image 3: left column
    rel = np.zeros((4, 4, 4))
    rel[0, 3, 3], rel[0, 2, 3] = 5, 4  # image 0: both top pixels outside the region
    rel[1, 3, 0], rel[1, 0, 0] = 5, 4  # image 1: one of two inside
    rel[2, 1, 1], rel[2, 0, 0] = 5, 4
    rel[3, 0, 3], rel[3, 1, 3] = 5, 4  # image 3: none inside
    fx = _fix([
        # image 0: annotator 0 cross (skipped), 2 of 3 in; annotator 1 cross (skipped), 1 of 1 in -> 3/4
        (0, 0, 0, 2, 2), (0, 0, 1, 0, 0), (0, 0, 2, 1, 1), (0, 0, 3, 3, 3),
        (1, 0, 0, 2, 2), (1, 0, 1, 1, 0),
        # image 1: cross skipped, then (x=0, y=3) in, (x=2, y=0) out -> 1/2
        (0, 1, 0, 0, 0), (0, 1, 1, 0, 3), (0, 1, 2, 2, 0),
        # image 2: no region
        (0, 2, 0, 1, 1), (0, 2, 1, 1, 1),
        # image 3: cross skipped, (x=0, y=2) in -> 1/1
        (0, 3, 0, 3, 3), (0, 3, 1, 0, 2),
    ])
    true = np.array(["disgust", "happiness", "neutral", "anger"])
    pred = np.array(["anger", "sadness", "surprise", "anger"])  # image 3 right, the others wrong
    return fx, regions, rel, true, pred


def test_points_in_region_rounds_half_up_and_rejects_points_off_the_image():
    region = np.zeros((3, 3), bool)
    region[1, 2] = True
    # (x=1.5, y=0.5) rounds to column 2, row 1; (1.49, 1) to column 1
    np.testing.assert_array_equal(gaze.points_in_region([[1.5, 0.5], [1.49, 1.0], [2.0, 1.0]], region),
                                  [True, False, True])
    with pytest.raises(ValueError, match="row 0"):
        gaze.points_in_region([[2.6, 0.0]], region)
    with pytest.raises(ValueError, match="bool"):
        gaze.points_in_region([[0.0, 0.0]], region.astype(int))


def test_region_shares_by_hand():
    fx, regions, rel, true, pred = _case()
    df = gaze.region_shares(fx, regions, rel, 2, true, pred, **GEOMETRY)
    assert list(df.columns) == list(gaze.REGION_SHARE_COLUMNS)
    np.testing.assert_array_equal(df.fixations, [4, 2, 1, 1])
    np.testing.assert_array_equal(df.fixations_in_region, [3, 1, 0, 1])
    np.testing.assert_array_equal(df.top_pixels_in_region, [0, 1, 0, 0])
    np.testing.assert_array_equal(df.region_px, [4, 4, 0, 4])
    np.testing.assert_allclose(df.fixation_share, [0.75, 0.5, np.nan, 1.0])
    np.testing.assert_allclose(df.relevance_share, [0.0, 0.5, np.nan, 0.0])
    np.testing.assert_allclose(df.gap, [0.75, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(df.correct, [False, False, False, True])


def test_region_shares_counts_the_cross_fixation_when_asked_and_orders_by_the_fixation_column():
    fx, regions, rel, true, pred = _case()
    shuffled = fx.iloc[::-1].reset_index(drop=True)  # the first fixation is found by its number
    skipped = gaze.region_shares(shuffled, regions, rel, 2, true, pred, **GEOMETRY)
    np.testing.assert_allclose(skipped.fixation_share, [0.75, 0.5, np.nan, 1.0])
    # all fixations: image 0 has 6 (both crosses at (2, 2), outside): 3/6; image 1: (0, 0) outside, 1/3
    every = gaze.region_shares(fx, regions, rel, 2, true, pred, skip_first=False, **GEOMETRY)
    np.testing.assert_allclose(every.fixation_share, [0.5, 1 / 3, np.nan, 0.5])


def test_select_missed_cues_picks_misclassified_images_by_gap():
    fx, regions, rel, true, pred = _case()
    df = gaze.region_shares(fx, regions, rel, 2, true, pred, **GEOMETRY)
    one = gaze.select_missed_cues(df, k=1)
    # image 3 has the largest gap (1.0) but is classified correctly; image 2 has no region
    assert one.qualified and one.candidates == 2 and one.eligible == 3
    assert one.chosen.image_index.tolist() == [0]
    assert gaze.select_missed_cues(df, k=5).chosen.image_index.tolist() == [0, 1]
    # the rule names k, n and how fixations were counted
    assert "take the 1 with the largest gap" in one.rule and "n = 2 most relevant" in one.rule
    assert "each annotator's first one, on the fixation cross, left out" in one.rule


def test_select_missed_cues_ties_and_fallback():
    base = {c: 0 for c in gaze.REGION_SHARE_COLUMNS}
    rows = [dict(base, image_index=i, correct=c, fixation_share=f, relevance_share=f - g, gap=g)
            for i, c, f, g in [(0, False, 0.5, 0.2), (1, False, 0.9, 0.2), (2, False, 0.5, 0.2), (3, True, 1.0, 0.9)]]
    df = pd.DataFrame(rows)[list(gaze.REGION_SHARE_COLUMNS)]
    # equal gaps: larger fixation share first (1), then lower index (0 before 2)
    assert gaze.select_missed_cues(df, k=3).chosen.image_index.tolist() == [1, 0, 2]
    # every image right: no image qualifies, the closest cases by the same order are shown
    right = gaze.select_missed_cues(df.assign(correct=True), k=2)
    assert not right.qualified and right.candidates == 0
    assert right.chosen.image_index.tolist() == [3, 1]
    assert right.sentence.startswith("No image qualifies")
    with pytest.raises(ValueError, match="k"):
        gaze.select_missed_cues(df, k=0)
    with pytest.raises(ValueError, match="missing"):
        gaze.select_missed_cues(df.drop(columns="gap"))


def test_region_shares_checks_its_arguments():
    fx, regions, rel, true, pred = _case()
    with pytest.raises(ValueError, match="relevance"):
        gaze.region_shares(fx, regions, rel[:, :3], 2, true, pred, **GEOMETRY)
    with pytest.raises(ValueError, match="predicted"):
        gaze.region_shares(fx, regions, rel, 2, true, pred[:2], **GEOMETRY)
    with pytest.raises(ValueError, match="image_index"):
        gaze.region_shares(fx.assign(image_index=7), regions, rel, 2, true, pred, **GEOMETRY)
