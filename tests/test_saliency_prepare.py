"""rbdm_core.saliency.prepare: BatchNorm folding, softmax stripping, SeparableConv2D split, nesting."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core.saliency.prepare import prepare_model  # noqa: E402
from saliency_models import bn_cnn, fer_model, randomise_bn  # noqa: E402


def test_prepare_folds_batchnorm_exactly_and_strips_dense_softmax():
    m = bn_cnn()
    p = prepare_model(m)
    names = [l.name for l in p.layers]
    kinds = [type(l).__name__ for l in p.layers]
    assert "BatchNormalization" not in kinds and "SeparableConv2D" not in kinds
    assert len(set(names)) == len(names)
    x = np.random.default_rng(1).normal(size=(5, 16, 16, 2)).astype(np.float32)
    # independent pre-softmax: the Dense's input times its kernel plus bias
    dense = m.layers[-1]
    feats = keras.Model(m.inputs, dense.input)(x).numpy().astype(np.float64)
    want = feats @ dense.kernel.numpy() + dense.bias.numpy()
    got = p(x).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    # and the softmax of the prepared logits is the original output
    np.testing.assert_allclose(tf.nn.softmax(got).numpy(), m(x).numpy(), atol=1e-5)


def test_prepare_fer_model_unique_names_and_exact_logits():
    m = fer_model()
    p = prepare_model(m)
    names = [l.name for l in p.layers]
    assert len(set(names)) == len(names) and all(n.startswith("rbdm") for n in names)
    kinds = [type(l).__name__ for l in p.layers]
    assert "BatchNormalization" not in kinds and "SeparableConv2D" not in kinds
    assert p.layers[-1].__class__.__name__ != "Activation"
    x = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    want = keras.Model(m.inputs, m.layers[-1].input)(x).numpy()  # input of the final softmax layer
    np.testing.assert_allclose(p(x).numpy(), want, atol=1e-4 * max(1.0, np.abs(want).max()))


def test_prepare_mobilenet_nested_as_layer():
    """keras.applications MobileNetV2 used as a nested layer: inlined, BN folded, logits exact."""
    tf.keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None)
    randomise_bn(base)
    inp = L.Input((32, 32, 3))
    out = L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(base(inp)))
    m = keras.Model(inp, out)
    p = prepare_model(m)
    assert not any(isinstance(l, keras.Model) for l in p.layers)
    assert "BatchNormalization" not in [type(l).__name__ for l in p.layers]
    x = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    got = p(x).numpy()
    np.testing.assert_allclose(tf.nn.softmax(got).numpy(), m(x).numpy(), atol=1e-5)
    lp = np.log(m(x).numpy().astype(np.float64))  # logits up to a per-row constant
    np.testing.assert_allclose(got - got.mean(1, keepdims=True), lp - lp.mean(1, keepdims=True), atol=1e-3)


def test_prepare_rejects_non_model():
    with pytest.raises(ValueError, match="keras.Model"):
        prepare_model("not a model")
