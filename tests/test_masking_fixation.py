"""rbdm_core.masking.fixation_masks: masks from fixations, compared with the model's, by hand."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core import masking as ext


def _fixation_table(points):
    """points: [(annotator, image, col, row)] in image pixels -> screen fixation table."""
    from rbdm_core.gaze import image_to_screen

    xy = image_to_screen(np.array([[c, r] for _, _, c, r in points], float), (5, 5))
    return pd.DataFrame({"annotator": [p[0] for p in points], "image_index": [p[1] for p in points],
                         "x_screen": xy[:, 0], "y_screen": xy[:, 1]})


def test_human_masks_disc_by_hand():
    # one fixation at the centre pixel (col 2, row 2) of a 5x5 image, cut-off 1 pixel:
    # the kept pixels are the centre and its four neighbours (distance <= 1)
    fx = _fixation_table([(0, 0, 2, 2), (1, 0, 0, 0)])
    hm = ext.human_masks(fx, 2, (5, 5), sigma=1.0, cutoff=1.0)
    plus = np.zeros((5, 5), bool)
    plus[2, 1:4] = True
    plus[1:4, 2] = True
    np.testing.assert_array_equal(hm.masks[0, 0], plus)
    corner = np.zeros((5, 5), bool)
    corner[0, :2] = corner[1, 0] = True
    np.testing.assert_array_equal(hm.masks[1, 0], corner)
    assert not hm.masks[:, 1].any()  # image 1 was never looked at
    np.testing.assert_array_equal(hm.n_fixations, [[1, 0], [1, 0]])
    with pytest.raises(ValueError, match="cutoff"):
        ext.human_masks(fx, 2, (5, 5), sigma=1.0, cutoff=None)


def test_human_vs_model_by_hand():
    fx = _fixation_table([(0, 0, 2, 2)])
    hm = ext.human_masks(fx, 2, (5, 5), sigma=1.0, cutoff=1.0)  # plus shape, 5 pixels, image 0 only
    model = np.zeros((2, 5, 5), bool)
    model[0, 2, :] = True  # the middle row: 5 pixels, 3 shared with the plus -> IoU 3 / 7
    regions = np.zeros((2, 5, 5), bool)
    regions[0, 2, 2] = True
    t = ext.human_vs_model(hm, model, regions)
    assert len(t) == 1 and t.image_index.iloc[0] == 0  # image 1 has no fixation
    assert t.iou.iloc[0] == pytest.approx(3 / 7)
    assert t.precision_human.iloc[0] == pytest.approx(1 / 5) and t.precision_model.iloc[0] == pytest.approx(1 / 5)
    assert t.kept_human.iloc[0] == pytest.approx(5 / 25)
    real = ext.human_vs_model(hm, model)  # real corpora have no regions: no precision columns
    assert list(real.columns) == ["annotator", "image_index", "iou", "kept_human", "kept_model"]
    pd.testing.assert_frame_equal(real, t[real.columns])
    with pytest.raises(ValueError, match="model_masks"):
        ext.human_vs_model(hm, model[:1], regions)
