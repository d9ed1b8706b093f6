"""rbdm_core.data.Dataset: splits and indexing, by hand."""

import numpy as np
import pytest

from rbdm_core.data.dataset import Dataset


def test_training_and_held_out_splits_and_first_of_each_class():
    ds = Dataset(np.zeros((7, 2, 2, 1), np.uint8), np.array([2, 0, 2, 1, 0, 1, 2]),
                 split=np.array(["Training", "Training", "PublicTest", "Training", "PublicTest", "PrivateTest", "Training"],
                                dtype=object))
    assert ds.training_splits == ("Training",)
    assert ds.held_out_splits == ("PublicTest", "PrivateTest")
    # Training rows 0 (class 2), 1 (class 0), 3 (class 1), 6 (class 2): first per class in class order
    np.testing.assert_array_equal(ds.first_of_each_class("Training"), [1, 3, 0])
    np.testing.assert_array_equal(ds.first_of_each_class("PublicTest"), [4, 2])  # class 1 absent there
    with pytest.raises(ValueError, match="split 'test'"):
        ds.first_of_each_class("test")


def test_first_of_each_class_then_others_by_hand():
    from rbdm_core.data.dataset import Dataset

    labels = np.array([1, 0, 1, 2, 0, 2])
    ds = Dataset(np.zeros((6, 2, 2, 1), np.uint8), labels, ("a", "b", "c"), split=np.array(["Training"] * 6))
    np.testing.assert_array_equal(ds.first_of_each_class_then_others("Training", 5), [1, 0, 3, 2, 4])
    np.testing.assert_array_equal(ds.first_of_each_class_then_others("Training", 2), [1, 0, 3])  # never fewer than K'
