"""rbdm_core.saliency.layerwise (the shares of relevance held per layer, the rules per layer) and
conservation.budget, against hand computations on hand-made relevance objects."""

from types import SimpleNamespace

import numpy as np
import pytest

from rbdm_core.saliency.conservation import budget
from rbdm_core.saliency.layerwise import layer_shares, rules_table


def _lr(sums, on, logit):
    n = len(sums)
    return SimpleNamespace(layers=["input"] + [f"l{i}" for i in range(1, n)], sums=np.asarray(sums, float)[:, None],
                           on_every_path=np.asarray(on), logits=np.array([logit]),
                           kinds=["Input", "Conv2D", "Conv2D", "MaxPooling2D", "Add"][:n],
                           rules=["", "ZBounded", "ZPlus", "MaxPooling2D", "ZPlus"][:n])


def test_layer_shares_splits_every_path_from_branches():
    lr = _lr([4.0, 4.0, 6.0, -2.0, 4.0], [True, True, False, False, True], 4.0)
    s = layer_shares(lr)
    assert s.start == 4.0 and s.n_layers == 5
    np.testing.assert_allclose(s.full, [100, 100, 100])
    np.testing.assert_allclose(s.branch, [150, -50])
    assert s.sentence() == ("max(logit, 0) = 4; 3 of 5 layers lie on every path from the logits to the input and "
                            "hold 100.00 % to 100.00 % of it; the 2 inside residual branches hold -50.0 % to 150.0 %")


def test_layer_shares_of_a_negative_logit():
    s = layer_shares(_lr([0.0, 0.0], [True, True], -1.0))
    assert s.start == 0.0 and s.full.size == 0
    assert s.sentence() == "negative logit: nothing to explain, every layer holds 0"


def test_rules_table_groups_layers_by_rule_in_order():
    lr = SimpleNamespace(layers=["input", "c1", "c2", "p", "c3"], kinds=["Input", "Conv2D", "Conv2D", "MaxPooling2D",
                                                                         "Conv2D"],
                         rules=["", "ZBounded", "ZPlus", "MaxPooling2D", "ZPlus"])
    from rbdm_core.saliency.methods import describe_rule

    tab = rules_table(lr)
    assert list(tab.rule) == [describe_rule("ZBounded", "Conv2D"), describe_rule("ZPlus", "Conv2D"),
                              describe_rule("MaxPooling2D", "MaxPooling2D")]
    assert list(tab.layers) == ["c1", "c2, c3", "p"]


def test_budget_of_one_map():
    maps = np.array([[[1.0, -0.5], [2.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]], np.float32)
    rel = SimpleNamespace(maps=maps, logits=np.array([3.0, -1.0], np.float32), sums=maps.sum((1, 2)))
    assert budget(rel, 0) == {"logit": 3.0, "max(logit, 0)": 3.0, "sum of map": 2.5, "positive part": 3.0,
                              "negative part": -0.5}
    assert budget(rel, 1) == pytest.approx({"logit": -1.0, "max(logit, 0)": 0.0, "sum of map": 0.0,
                                            "positive part": 0.0, "negative part": 0.0})
