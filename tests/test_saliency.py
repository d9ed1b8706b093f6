"""rbdm_core.saliency's public API (`api`, `inputs`) against independent computations."""

import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core import saliency as S  # noqa: E402
from rbdm_core.saliency.api import _finish  # noqa: E402
from rbdm_core.saliency.methods import describe_rule  # noqa: E402
from rbdm_core.saliency.prepare import prepare_model  # noqa: E402
from saliency_models import bn_cnn, images, plain_cnn, randomise_bn, smooth_model  # noqa: E402


# --------------------------------------------------------------------------- to_image_size

def test_to_image_size_conserves_sums_and_matches_block_sums():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 8, 12)).astype(np.float32)
    down = S.to_image_size(maps, (4, 3))  # factors 2 and 4: each target cell = sum of its block
    block = maps.reshape(3, 4, 2, 3, 4).sum(axis=(2, 4))
    np.testing.assert_allclose(down, block, rtol=1e-5, atol=1e-5)
    for size in [(5, 7), (17, 31), (8, 12)]:
        out = S.to_image_size(maps, size)
        assert out.shape == (3,) + size and out.dtype == np.float32
        np.testing.assert_allclose(out.sum(axis=(1, 2)), maps.sum(axis=(1, 2)), rtol=1e-5, atol=1e-4)
    # upsampling by 2 shares each value among 4 pixels
    np.testing.assert_allclose(S.to_image_size(maps, (16, 24))[:, ::2, ::2], maps / 4, rtol=1e-6)


def test_to_image_size_bad_input():
    with pytest.raises(ValueError, match=r"\(N, h, w\)"):
        S.to_image_size(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="size"):
        S.to_image_size(np.zeros((1, 4, 4)), (0, 2))


# --------------------------------------------------------------------------- bad input, NaN, constant

def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method 'lrp'"):
        S.relevance(smooth_model(), images(1, (6, 6, 2)), method="lrp")


def test_wrong_image_shape():
    with pytest.raises(ValueError, match=r"model expects \(6, 6, 2\)"):
        S.relevance(smooth_model(), images(1, (7, 6, 2)), method="gradient")
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        S.relevance(smooth_model(), images(1, (6, 6, 2))[0], method="gradient")


def test_wrong_dtype_for_bundle():
    from rbdm_core.models import load_bundle

    bundle = load_bundle("fer2013-pretrained")
    with pytest.raises(ValueError, match="uint8"):
        S.relevance(bundle, np.zeros((1, 64, 64, 1), np.float32), method="gradient")


def test_target_out_of_range_and_bad_shape():
    m = smooth_model()
    with pytest.raises(ValueError, match=r"target 3 \(image 1\) is out of range; the model has 3 classes"):
        S.relevance(m, images(2, (6, 6, 2)), method="gradient", target=[0, 3])
    with pytest.raises(ValueError, match="target must be"):
        S.relevance(m, images(2, (6, 6, 2)), method="gradient", target=[0, 1, 2])
    with pytest.raises(ValueError, match="target must be"):
        S.relevance(m, images(2, (6, 6, 2)), method="gradient", target="max")


def test_nan_maps_raise_naming_the_image():
    m = smooth_model()
    k = m.layers[0].kernel.numpy()
    k[0, 0, 0, 0] = np.nan
    m.layers[0].kernel.assign(k)
    with pytest.raises(ValueError, match="NaN or infinite relevance for image 0"):
        S.relevance(m, images(2, (6, 6, 2)), method="gradient")
    raw = np.ones((4, 3, 3, 1), np.float32)
    raw[2, 1, 1, 0] = np.inf
    with pytest.raises(ValueError, match="image 2"):
        _finish(raw, np.zeros(4, np.int64), np.ones(4, np.float32), "x")


def test_constant_maps_are_flagged_with_a_warning():
    tf.keras.utils.set_random_seed(0)
    m = keras.Sequential([L.Input((4, 4, 1)), L.Flatten(), L.Dense(2, kernel_initializer="zeros",
                                                                     bias_initializer="ones")])
    with pytest.warns(RuntimeWarning, match="constant map for 3 image"):
        rel = S.relevance(m, images(3, (4, 4, 1)), method="gradient")
    assert rel.constant.tolist() == [True, True, True]


def test_in_process_needs_eager_disabled():
    with pytest.raises(ValueError, match="disable_eager_execution"):
        S.relevance(plain_cnn(), images(1, (12, 12, 1)), method="deep_taylor", in_process=True)


# --------------------------------------------------------------------------- LRP methods through the worker

@pytest.mark.slow
def test_worker_bn_model_conserves_after_folding():
    """BN + SeparableConv + residual Add, bias-free after folding: deep Taylor and LRP-epsilon
    conserve (the unfolded model gave sums ~1e13 times the logit)."""
    m = bn_cnn(seed=2, zero_shift=True, use_bias=False)
    x = images(5, (16, 16, 2), seed=1)
    rels = S.relevance_many(m, x, ["deep_taylor", "lrp_epsilon", "lrp_alpha_beta"], target=0)
    dt, ep, ab = rels["deep_taylor"], rels["lrp_epsilon"], rels["lrp_alpha_beta"]
    assert (dt.logits > 0).all()
    np.testing.assert_allclose(dt.conservation, 1.0, atol=2e-2)
    np.testing.assert_allclose(ep.conservation, 1.0, atol=2e-2)
    assert np.isfinite(ab.maps).all() and ab.maps.shape == (5, 16, 16)
    assert dt.maps.dtype == np.float32 and dt.maps.shape == (5, 16, 16)


@pytest.mark.slow
def test_worker_fer_model_deep_taylor_runs_and_is_finite():
    """The fer model ('add_1 used 2 times' before renaming; LRP-epsilon sums ~-7e13 before folding)."""
    from rbdm_core.models import load_bundle

    bundle = load_bundle("fer2013-pretrained")
    x = images(4, (48, 48, 1), seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no constant maps expected
        rels = S.relevance_many(bundle, x, ["deep_taylor", "lrp_epsilon"])
    for r in rels.values():
        assert r.maps.shape == (4, 64, 64) and np.isfinite(r.maps).all() and not r.constant.any()
    assert (rels["deep_taylor"].targets == bundle.predict(x)).all()
    assert np.abs(rels["lrp_epsilon"].conservation).max() < 10


@pytest.mark.slow
def test_worker_mobilenet_v2_residual_adds_conserve():
    """MobileNetV2 (ReLU6, ZeroPadding, 10 residual Adds), bias-free after folding: the relevance
    sum stays near the logit (iNNvestigate's stock deep Taylor doubles it at each Add: ~800x)."""
    tf.keras.utils.set_random_seed(0)
    m = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, weights=None, classes=3)
    randomise_bn(m, zero_shift=True)
    k, b = m.layers[-1].get_weights()
    k[:, 0] = np.abs(k[:, 0])  # features after ReLU6 are >= 0: class 0 gets a positive logit
    m.layers[-1].set_weights([k, b])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 3)).astype(np.float32)
    rel = S.relevance(m, x, method="deep_taylor", target=0)
    assert np.isfinite(rel.maps).all()
    assert (rel.logits > 0).all()  # deep Taylor explains max(logit, 0)
    # measured 0.95: z+ drops the relevance of units that only a negative input activates
    assert np.all((rel.conservation > 0.8) & (rel.conservation < 1.1)), rel.conservation


# --------------------------------------------------------------------------- layer-wise relevance

@pytest.mark.slow
def test_layer_relevance_conserves_in_a_chain_and_ends_in_the_input_map():
    """Bias-free ReLU chain: deep Taylor hands every layer exactly max(logit, 0) (conservation, a
    property of the rules), the input row is the map `relevance` returns (a second code path), and
    the arrays have each layer's output shape with the channels summed."""
    m = plain_cnn(seed=5)
    x = images(6, (12, 12, 1), seed=4)
    lr = S.layer_relevance(m, x, target=0)
    rel = S.relevance(m, x, target=0)
    p = prepare_model(m)
    want_names = ["input"] + [l.name.split("_", 1)[1] for l in p.layers[1:]]
    assert lr.layers == want_names  # every layer, the logits (Dense, softmax stripped) last
    assert lr.kinds == ["Input", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense"]
    assert lr.on_every_path.all()  # a chain
    # the logits layer holds max(logit, 0) at the explained class and nothing elsewhere
    head = np.zeros((6, 3))
    head[:, 0] = np.maximum(lr.logits, 0)
    np.testing.assert_allclose(lr.arrays[-1], head, rtol=1e-6)
    np.testing.assert_array_equal(lr.arrays[0], rel.maps)
    np.testing.assert_array_equal(lr.targets, rel.targets)
    pos = lr.logits > 0
    assert pos.any()
    want = np.maximum(lr.logits, 0).astype(np.float64)
    np.testing.assert_allclose(lr.sums[:, pos], np.broadcast_to(want[pos], lr.sums[:, pos].shape), rtol=1e-4)
    assert (lr.sums[:, ~pos] == 0).all()
    for name, arr in zip(lr.layers[1:], lr.arrays[1:]):
        layer = next(l for l in p.layers if l.name.endswith("_" + name))
        shape = layer.output_shape[1:]
        assert arr.shape == (6,) + (tuple(shape[:-1]) if len(shape) == 3 else tuple(shape)), name
    # an image-shaped layer's array sums to that layer's row of `sums`
    np.testing.assert_allclose(lr.arrays[1].reshape(6, -1).sum(1), lr.sums[1], rtol=1e-5, atol=1e-9)


@pytest.mark.slow
def test_layer_relevance_splits_at_a_residual_add():
    """x -> conv a (ReLU) -> conv b (ReLU) -> Add(a, b) -> Dense: the relevance at the Add's output
    reaches a's output in full (through the skip and through b), while b's output holds a share."""
    tf.keras.utils.set_random_seed(2)
    inp = L.Input((10, 10, 1))
    a = L.Conv2D(4, 3, activation="relu", use_bias=False, name="a")(inp)
    b = L.Conv2D(4, 3, padding="same", activation="relu", use_bias=False, name="b")(a)
    s = L.Add(name="sum")([a, b])
    out = L.Dense(3, use_bias=False, name="head")(L.Flatten(name="flat")(s))
    m = keras.Model(inp, out)
    x = images(4, (10, 10, 1), seed=1)
    lr = S.layer_relevance(m, x)
    row = dict(zip(lr.layers, lr.sums))
    assert lr.layers == ["input", "a", "b", "sum", "flat", "head"]
    assert lr.on_every_path.tolist() == [True, True, False, True, True, True]
    np.testing.assert_allclose(row["a"], row["sum"], rtol=1e-4)
    np.testing.assert_allclose(row["input"], row["sum"], rtol=1e-4)
    assert (row["b"] > 0).all() and (row["b"] < row["sum"]).all()
    # the rule each layer got, as the analyzer resolved it: z^B at the first kernel layer, z+ at the
    # others, the proportional split at the Add
    assert lr.rules[:4] == ["", "rbdm_first_layer_bounded", "rbdm_zplus", "rbdm_add"] and lr.rules[5] == "rbdm_zplus"
    assert [describe_rule(r, k) for r, k in zip(lr.rules, lr.kinds)] == [
        "", "z^B (input bounded by [l, h])", "z+", "split in proportion to the summands", "passed on unchanged", "z+"]


def test_layer_relevance_rejects_gradient_methods():
    with pytest.raises(ValueError, match="LRP rules only"):
        S.layer_relevance(plain_cnn(), images(1, (12, 12, 1)), method="gradient")
