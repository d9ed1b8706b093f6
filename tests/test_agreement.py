"""rbdm_core.agreement: annotator pairs, leave-one-out predictors and chapter 4's score tables,
checked by hand or against the metric functions called directly."""

import numpy as np
import pytest

from rbdm_core import agreement, metrics


def test_leave_one_out_by_hand():
    m = np.arange(3 * 2 * 2 * 2, dtype=float).reshape(3, 2, 2, 2)
    got = agreement.leave_one_out(m)
    np.testing.assert_allclose(got[0], m[1] + m[2])
    np.testing.assert_allclose(got[2], m[0] + m[1])
    with pytest.raises(ValueError, match="A >= 2"):
        agreement.leave_one_out(m[:1])


def test_pairwise_annotators_matches_metrics_directly():
    rng = np.random.default_rng(0)
    hm = rng.random((3, 4, 6, 6))
    valid = np.ones((3, 4), bool)
    valid[2, 1] = False
    df = agreement.pairwise_annotators(hm, ["a", "b", "c"], valid=valid)
    assert sorted(df.annotator.unique()) == ["a vs b", "a vs c", "b vs c"]
    # a vs c skips image 1 (c has no data), a vs b keeps it
    assert 1 not in set(df[df.annotator == "a vs c"].image_index)
    assert 1 in set(df[df.annotator == "a vs b"].image_index)
    v = df[(df.annotator == "b vs c") & (df.image_index == 3) & (df.metric == "spearman")].value.item()
    assert v == pytest.approx(metrics.spearman(hm[1, 3], hm[2, 3]))
    with pytest.raises(ValueError, match="at least 2"):
        agreement.pairwise_annotators(hm[:1])
