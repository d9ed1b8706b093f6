"""rbdm_core.trainer_summary (chapter 2's tables) against computations by hand."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rbdm_core import trainer_summary as ts
from rbdm_core.data import Dataset
from rbdm_core.data.summary import class_distribution_table


def test_class_weight_table_inverse_frequency():
    labels = np.array([0, 0, 0, 1, 2, 2])
    t = ts.class_weight_table(labels, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(t["images"], [3, 1, 2, 0])
    # w_k = N / (K+ n_k): N = 6, K+ = 3 present classes
    np.testing.assert_allclose(t["weight w_k"], [6 / 9, 6 / 3, 6 / 6, 0.0])
    assert (t["images"] * t["weight w_k"]).sum() == pytest.approx(6)


def test_class_distribution_table_counts_and_shares():
    t = class_distribution_table(np.array([0, 1, 1, 1]), ["a", "b"], {"a": 30, "b": 10})
    np.testing.assert_array_equal(t["AffectNet images"], [30, 10])
    np.testing.assert_allclose(t["AffectNet share"], [0.75, 0.25])
    np.testing.assert_array_equal(t["this run images"], np.bincount([0, 1, 1, 1]))
    np.testing.assert_allclose(t["this run share"], [0.25, 0.75])


def test_architecture_table_rows_and_1000_class_count(monkeypatch):
    """With a fake builder: n parameters and a classifier of width w give n + (1000 - K)(w + 1)."""
    built = []

    def fake_build(arch, k, data_shape, seed, input_size):
        built.append((arch, input_size))
        model = SimpleNamespace(count_params=lambda: 1000 + k, get_layer=lambda name: SimpleNamespace(
            kernel=SimpleNamespace(shape=(16, k))))
        return SimpleNamespace(model=model, preprocess=SimpleNamespace(size=(48, 48), channels=1))

    monkeypatch.setattr(ts, "build_model", fake_build)
    t = ts.architecture_table(("small_cnn", "xception"), 8, (48, 48, 1)).set_index("architecture")
    assert list(t.index) == [*ts.PAPER_ARCHITECTURES, "small_cnn"]  # the paper's four, then the new candidate
    assert dict(built)["small_cnn"] is None and dict(built)["xception"] == "paper"
    assert t.loc["xception", "role"] == "candidate" and t.loc["vgg_face", "role"] == "paper only"
    assert t.loc["xception", "parameters (8 classes)"] == "1,008"
    assert t.loc["xception", "with a 1000-class layer"] == f"{1008 + 992 * 17:,}"
    assert t.loc["small_cnn", "with a 1000-class layer"] == ""
    assert t.loc["inception_v3", "the paper's count"] == "~23.8 M" and t["input"].iloc[0] == "48x48x1"


def test_candidate_table_and_best_epoch():
    curves = {"a": pd.DataFrame({"step": [10, 20], "epoch": [0.5, 1.0]}),
              "b": pd.DataFrame({"step": [10, 20], "epoch": [0.25, 0.5]})}
    cands = pd.DataFrame({"architecture": ["b", "a"], "best_f1": [0.4, 0.3], "best_step": [20, 10],
                          "final_f1": [0.4, 0.3], "steps": [20, 20]})
    t = ts.candidate_table(cands, curves, "b")
    assert list(t["best_epoch"]) == [0.5, 0.5] and list(t["selected"]) == ["Trainer", ""]
    assert ts.best_epoch(curves["a"], 20) == 1.0


def test_trainer_f1_table_quotes_the_paper():
    t = ts.trainer_f1_table("small_cnn", 3.25, 0.41, data="source validation (synthetic)")
    assert list(t["macro-F1"]) == [0.59, 0.58, 0.41]
    assert t["epochs"].iloc[2] == "3.25" and t["model"].iloc[2] == "small_cnn (this run)"


def test_score_on_shared_classes_leaves_out_unknown_class():
    ds = Dataset(images=np.zeros((4, 2, 2, 1), np.uint8), labels=[0, 1, 2, 2], class_names=("a", "b", "c"),
                 split=np.array(["t"] * 4))
    bundle = SimpleNamespace(class_names=("c", "a"), predict=lambda x: np.array([1, 0, 0])[: len(x)])
    cm, shared, keep = ts.score_on_shared_classes(bundle, ds)
    assert shared == ["a", "c"] and keep.tolist() == [True, False, True, True]
    # true a, c, c; predicted (bundle indices 1, 0, 0 -> names a, c, c)
    np.testing.assert_array_equal(cm, [[1, 0], [0, 2]])
