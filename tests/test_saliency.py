"""rbdm_core.saliency / saliency_prepare / saliency_worker against independent computations."""

import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core import saliency as S  # noqa: E402
from rbdm_core.saliency_prepare import prepare_model  # noqa: E402


# --------------------------------------------------------------------------- helpers

def _fer_model():
    from rbdm_core.models import fer_model_path

    return keras.models.load_model(str(fer_model_path()), compile=False)


def _randomise_bn(model, seed=1, zero_shift=False):
    """Non-trivial BatchNorm statistics (zero_shift: mean = beta = 0, so folding adds no bias)."""
    rs = np.random.RandomState(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, mu, v = layer.get_weights()
            layer.set_weights([rs.uniform(0.5, 1.5, g.shape), 0 * b if zero_shift else rs.normal(0, 0.2, b.shape),
                               0 * mu if zero_shift else rs.normal(0, 0.2, mu.shape), rs.uniform(0.5, 1.5, v.shape)])


def _bn_cnn(seed=0, zero_shift=False, use_bias=True):
    """Conv-BN-ReLU x2, SeparableConv-BN, residual Add, GAP, Dense(softmax): 16x16x2 input."""
    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((16, 16, 2))
    a = L.ReLU()(L.BatchNormalization()(L.Conv2D(6, 3, padding="same", use_bias=use_bias)(inp)))
    b = L.BatchNormalization()(L.SeparableConv2D(6, 3, padding="same", use_bias=use_bias)(a))
    c = L.Activation("relu")(L.Add()([a, b]))
    d = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, use_bias=use_bias)(c)))
    out = L.Dense(4, activation="softmax", use_bias=use_bias)(L.GlobalAveragePooling2D()(d))
    m = keras.Model(inp, out)
    _randomise_bn(m, seed, zero_shift)
    return m


def _plain_cnn(seed=0):
    """Bias-free ReLU CNN with max pooling (deep Taylor and LRP-epsilon conserve exactly here)."""
    tf.keras.utils.set_random_seed(seed)
    return keras.Sequential([
        L.Input((12, 12, 1)),
        L.Conv2D(8, 3, activation="relu", use_bias=False),
        L.MaxPooling2D(2),
        L.Conv2D(8, 3, activation="relu", use_bias=False),
        L.Flatten(),
        L.Dense(3, use_bias=False),
        L.Activation("softmax"),
    ])


def _pre_softmax(model, x):
    """Pre-softmax logits computed independently: log of the softmax output, centred like the logits."""
    p = model.predict(x, verbose=0).astype(np.float64)
    return np.log(p)


def _images(n, shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n,) + shape, dtype=np.uint8)


def _tape_grad(model, x, t):
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.gather(model(x), t, batch_dims=1)
    return tape.gradient(y, x).numpy()


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


# --------------------------------------------------------------------------- prepare_model

def test_prepare_folds_batchnorm_exactly_and_strips_dense_softmax():
    m = _bn_cnn()
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
    m = _fer_model()
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
    _randomise_bn(base)
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


# --------------------------------------------------------------------------- gradient family (eager)

def _smooth_model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    return keras.Sequential([L.Input((6, 6, 2)), L.Conv2D(4, 3, activation="tanh"), L.Flatten(),
                             L.Dense(3, activation="softmax")])


def test_gradient_matches_tape_and_finite_differences():
    m = _smooth_model()
    x = np.random.default_rng(0).uniform(0, 1, (4, 6, 6, 2)).astype(np.float32)
    rel = S.relevance(m, x, method="gradient", target=[0, 1, 2, 1])
    p = prepare_model(m)
    g = _tape_grad(p, x, np.array([0, 1, 2, 1]))
    np.testing.assert_allclose(rel.maps, g.sum(-1), rtol=1e-5, atol=1e-6)
    # central finite difference of the pre-softmax logit at one pixel (both channels moved)
    h = 1e-2
    e = np.zeros_like(x[:1])
    e[0, 2, 3, :] = h
    lp = lambda z: _pre_softmax(m, z)[0, 0] - _pre_softmax(m, z)[0].mean()  # noqa: E731
    fd = (lp(x[:1] + e) - lp(x[:1] - e)) / (2 * h)
    # the logit is defined up to a constant: compare against the centred logit's gradient
    gc = _tape_grad(p, x[:1], np.array([0])) - np.mean([_tape_grad(p, x[:1], np.array([k])) for k in range(3)], 0)
    assert abs(gc[0, 2, 3].sum() - fd) < 1e-3 * max(1, abs(fd))
    assert rel.targets.tolist() == [0, 1, 2, 1]
    np.testing.assert_allclose(rel.logits, p(x).numpy()[np.arange(4), [0, 1, 2, 1]], rtol=1e-6)


def test_integrated_gradients_completeness():
    """IG sums to f(x) - f(baseline) up to the Riemann error; for a bare model fed floats the
    baseline is the constant image at the smallest input value."""
    m = _smooth_model(1)
    x = np.random.default_rng(2).uniform(0, 1, (3, 6, 6, 2)).astype(np.float32)
    rel = S.relevance(m, x, method="integrated_gradients")
    p = prepare_model(m)
    f = p(x).numpy()[np.arange(3), rel.targets]
    f0 = p(np.full((1, 6, 6, 2), x.min(), np.float32)).numpy()[0, rel.targets]
    np.testing.assert_allclose(rel.sums, f - f0, rtol=0.02, atol=0.02 * np.abs(f - f0).max())


def test_smoothgrad_on_linear_model_equals_gradient_and_is_seeded():
    tf.keras.utils.set_random_seed(0)
    m = keras.Sequential([L.Input((5, 5, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    x = np.random.default_rng(0).uniform(0, 255, (3, 5, 5, 1)).astype(np.uint8)
    sg = S.relevance(m, x, method="smoothgrad", target=1)
    w = m.layers[-1].kernel.numpy()[:, 1].reshape(5, 5)  # gradient of a linear logit = its weights
    np.testing.assert_allclose(sg.maps, np.broadcast_to(w, (3, 5, 5)), rtol=1e-4, atol=1e-6)
    m2 = _smooth_model()
    x2 = np.random.default_rng(0).uniform(0, 255, (2, 6, 6, 2)).astype(np.uint8)
    a = S.relevance(m2, x2, method="smoothgrad", seed=3).maps
    b = S.relevance(m2, x2, method="smoothgrad", seed=3, batch_size=1).maps
    c = S.relevance(m2, x2, method="smoothgrad", seed=4).maps
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert not np.allclose(a, c)


# --------------------------------------------------------------------------- bad input, NaN, constant

def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method 'lrp'"):
        S.relevance(_smooth_model(), _images(1, (6, 6, 2)), method="lrp")


def test_wrong_image_shape():
    with pytest.raises(ValueError, match=r"model expects \(6, 6, 2\)"):
        S.relevance(_smooth_model(), _images(1, (7, 6, 2)), method="gradient")
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        S.relevance(_smooth_model(), _images(1, (6, 6, 2))[0], method="gradient")


def test_wrong_dtype_for_bundle():
    from rbdm_core.models import load_bundle

    bundle = load_bundle("fer2013-pretrained")
    with pytest.raises(ValueError, match="uint8"):
        S.relevance(bundle, np.zeros((1, 64, 64, 1), np.float32), method="gradient")


def test_target_out_of_range_and_bad_shape():
    m = _smooth_model()
    with pytest.raises(ValueError, match=r"target 3 \(image 1\) is out of range; the model has 3 classes"):
        S.relevance(m, _images(2, (6, 6, 2)), method="gradient", target=[0, 3])
    with pytest.raises(ValueError, match="target must be"):
        S.relevance(m, _images(2, (6, 6, 2)), method="gradient", target=[0, 1, 2])
    with pytest.raises(ValueError, match="target must be"):
        S.relevance(m, _images(2, (6, 6, 2)), method="gradient", target="max")


def test_nan_maps_raise_naming_the_image():
    m = _smooth_model()
    k = m.layers[0].kernel.numpy()
    k[0, 0, 0, 0] = np.nan
    m.layers[0].kernel.assign(k)
    with pytest.raises(ValueError, match="NaN or infinite relevance for image 0"):
        S.relevance(m, _images(2, (6, 6, 2)), method="gradient")
    raw = np.ones((4, 3, 3, 1), np.float32)
    raw[2, 1, 1, 0] = np.inf
    with pytest.raises(ValueError, match="image 2"):
        S._finish(raw, np.zeros(4, np.int64), np.ones(4, np.float32), "x")


def test_constant_maps_are_flagged_with_a_warning():
    tf.keras.utils.set_random_seed(0)
    m = keras.Sequential([L.Input((4, 4, 1)), L.Flatten(), L.Dense(2, kernel_initializer="zeros",
                                                                     bias_initializer="ones")])
    with pytest.warns(RuntimeWarning, match="constant map for 3 image"):
        rel = S.relevance(m, _images(3, (4, 4, 1)), method="gradient")
    assert rel.constant.tolist() == [True, True, True]


def test_in_process_needs_eager_disabled():
    with pytest.raises(ValueError, match="disable_eager_execution"):
        S.relevance(_plain_cnn(), _images(1, (12, 12, 1)), method="deep_taylor", in_process=True)


# --------------------------------------------------------------------------- iNNvestigate in the worker

@pytest.mark.slow
def test_worker_plain_cnn_conservation_and_gradient_agreement():
    """Bias-free ReLU CNN: deep Taylor sums to max(logit, 0), LRP-epsilon to the logit; the
    iNNvestigate gradient equals tf.GradientTape's."""
    m = _plain_cnn()
    x = _images(6, (12, 12, 1), seed=4)
    model, pre = S._load(m)
    job = S._inputs(model, pre, x)
    p = prepare_model(m)
    logits = p(job.x).numpy()
    t = np.array([0, 1, 2, 0, 1, 2])
    raw, _ = S._run_worker(p, job, t, ["deep_taylor", "lrp_epsilon", "gradient"], batch_size=4)
    lt = logits[np.arange(6), t]
    dt = raw["deep_taylor"].reshape(6, -1).sum(1)
    np.testing.assert_allclose(dt, np.maximum(lt, 0), rtol=1e-4, atol=1e-4 * np.abs(lt).max())
    assert (lt < 0).any() and (lt > 0).any()  # both branches of max(logit, 0) exercised
    eps = raw["lrp_epsilon"].reshape(6, -1).sum(1)
    np.testing.assert_allclose(eps, lt, rtol=0.02)
    np.testing.assert_allclose(raw["gradient"], _tape_grad(p, job.x, t), rtol=1e-4,
                               atol=1e-6 * np.abs(raw["gradient"]).max())


@pytest.mark.slow
def test_worker_bn_model_conserves_after_folding():
    """BN + SeparableConv + residual Add, bias-free after folding: deep Taylor and LRP-epsilon
    conserve (the unfolded model gave sums ~1e13 times the logit)."""
    m = _bn_cnn(seed=2, zero_shift=True, use_bias=False)
    x = _images(5, (16, 16, 2), seed=1)
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
    x = _images(4, (48, 48, 1), seed=5)
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
    _randomise_bn(m, zero_shift=True)
    k, b = m.layers[-1].get_weights()
    k[:, 0] = np.abs(k[:, 0])  # features after ReLU6 are >= 0: class 0 gets a positive logit
    m.layers[-1].set_weights([k, b])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 3)).astype(np.float32)
    rel = S.relevance(m, x, method="deep_taylor", target=0)
    assert np.isfinite(rel.maps).all()
    assert (rel.logits > 0).all()  # deep Taylor explains max(logit, 0)
    # measured 0.95: z+ drops the relevance of units that only a negative input activates
    assert np.all((rel.conservation > 0.8) & (rel.conservation < 1.1)), rel.conservation


# --------------------------------------------------------------------------- fast deep Taylor rules

def test_is_nonnegative_reads_the_graph():
    """The sign check behind the fast z+ path: True only where the graph guarantees x >= 0."""
    from rbdm_core.saliency_worker import is_nonnegative

    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, 4, 4, 2))
        r = tf.nn.relu(x)
        yes = [r, tf.nn.relu6(x), tf.nn.max_pool2d(r, 2, 2, "VALID"), tf.reshape(r, (-1, 32)),
               tf.pad(r, [[0, 0], [1, 1], [1, 1], [0, 0]]), tf.concat([r, tf.nn.relu6(x)], -1), r + r,
               tf.reduce_mean(r, axis=(1, 2)), tf.minimum(r, 6.0), tf.maximum(x, 0.0)]
        no = [x, r - 1.0, tf.concat([r, x], -1), r + x, tf.minimum(x, 6.0), -r, tf.nn.tanh(x),
              tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])]
        assert [is_nonnegative(t) for t in yes] == [True] * len(yes)
        assert [is_nonnegative(t) for t in no] == [False] * len(no)


def _conv_matrix(k: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A 'valid', stride-1 conv kernel (kh, kw, cin, cout) on (h, w, cin) as a dense
    (h*w*cin, h'*w'*cout) matrix, built entry by entry."""
    kh, kw, cin, cout = k.shape
    h, w = hw
    ho, wo = h - kh + 1, w - kw + 1
    m = np.zeros((h, w, cin, ho, wo, cout))
    for y in range(ho):
        for x in range(wo):
            m[y:y + kh, x:x + kw, :, y, x, :] = k
    return m.reshape(h * w * cin, ho * wo * cout)


def _numpy_deep_taylor(model, x: np.ndarray, t: np.ndarray, low: float, high: float) -> np.ndarray:
    """Deep Taylor of Conv(linear) -> Conv(ReLU) -> Flatten -> Dense in float64 numpy, from the
    rule definitions: z^B on the first layer, z+ (x+ W+ and x- W-, biases ignored) on the others,
    relevance max(logit, 0) at the target."""
    (k1, b1), (k2, b2), (w3, b3) = [l.get_weights() for l in model.layers if l.get_weights()]
    m1, m2 = _conv_matrix(k1.astype(np.float64), x.shape[1:3]), None
    n = len(x)
    a0 = x.reshape(n, -1).astype(np.float64)
    a1 = a0 @ m1 + np.tile(b1, m1.shape[1] // len(b1))
    hw1 = (x.shape[1] - k1.shape[0] + 1, x.shape[2] - k1.shape[1] + 1)
    m2 = _conv_matrix(k2.astype(np.float64), hw1)
    a2 = np.maximum(a1 @ m2 + np.tile(b2, m2.shape[1] // len(b2)), 0)
    logits = a2 @ w3 + b3
    r = np.zeros_like(logits)
    r[np.arange(n), t] = np.maximum(logits[np.arange(n), t], 0)

    def div(a, b):
        return a / np.where(b == 0, 1e-7, b)

    def zplus(a, m, r):
        ap, an, mp, mn = np.maximum(a, 0), np.minimum(a, 0), np.maximum(m, 0), np.minimum(m, 0)
        s = div(r, ap @ mp + an @ mn)
        return ap * (s @ mp.T) + an * (s @ mn.T)

    r2 = zplus(a2, w3.astype(np.float64), r)   # Dense (input >= 0)
    r1 = zplus(a1, m2, r2)                     # Conv(ReLU) on a mixed-sign input
    mp, mn = np.maximum(m1, 0), np.minimum(m1, 0)
    s = div(r1, a0 @ m1 - low * mp.sum(0) - high * mn.sum(0))  # z^B, l and h constant images
    r0 = a0 * (s @ m1.T) - low * (s @ mp.T) - high * (s @ mn.T)
    return r0.reshape(x.shape)


@pytest.mark.slow
def test_worker_fast_deep_taylor_matches_numpy_and_generic_rules():
    """The worker's fast z+/z^B rules, iNNvestigate's generic rule classes (the previous
    implementation) and a numpy implementation of the rule definitions give the same maps; the
    network has a mixed-sign input to a hidden conv (general z+ path), a ReLU input to the Dense
    (fast path) and a first layer with negative and positive bounds."""
    tf.keras.utils.set_random_seed(3)
    m = keras.Sequential([L.Input((7, 7, 2)), L.Conv2D(4, 3), L.Conv2D(3, 3, activation="relu"), L.Flatten(),
                          L.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).uniform(-1, 1, (5, 7, 7, 2)).astype(np.float32)
    model, pre = S._load(m)
    job = S._inputs(model, pre, x)
    assert job.bounds[0] < 0 < job.bounds[1]
    p = prepare_model(m)
    logits = p(job.x).numpy()
    t = logits.argmax(1)
    raw, _ = S._run_worker(p, job, t, ["deep_taylor", "deep_taylor_generic"], batch_size=2)
    want = _numpy_deep_taylor(m, x, t, *job.bounds)
    scale = np.abs(want).max()
    assert scale > 0
    np.testing.assert_allclose(raw["deep_taylor"], want, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(raw["deep_taylor_generic"], want, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.slow
def test_worker_fast_deep_taylor_matches_generic_on_bn_residual_model():
    """Depthwise, pointwise (mixed-sign input after the SeparableConv split), residual Add, GAP:
    the fast rules reproduce iNNvestigate's generic z+/z^B rule classes."""
    m = _bn_cnn(seed=4)
    x = _images(4, (16, 16, 2), seed=2)
    model, pre = S._load(m)
    job = S._inputs(model, pre, x)
    p = prepare_model(m)
    t = np.array([0, 1, 2, 3])
    raw, _ = S._run_worker(p, job, t, ["deep_taylor", "deep_taylor_generic"], batch_size=3)
    a, b = raw["deep_taylor"], raw["deep_taylor_generic"]
    assert np.abs(b).max() > 0
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())


# --------------------------------------------------------------------------- layer-wise relevance

@pytest.mark.slow
def test_layer_relevance_conserves_in_a_chain_and_ends_in_the_input_map():
    """Bias-free ReLU chain: deep Taylor hands every layer exactly max(logit, 0) (conservation, a
    property of the rules), the input row is the map `relevance` returns (a second code path), and
    the arrays have each layer's output shape with the channels summed."""
    m = _plain_cnn(seed=5)
    x = _images(6, (12, 12, 1), seed=4)
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
    x = _images(4, (10, 10, 1), seed=1)
    lr = S.layer_relevance(m, x)
    row = dict(zip(lr.layers, lr.sums))
    assert lr.layers == ["input", "a", "b", "sum", "flat", "head"]
    assert lr.on_every_path.tolist() == [True, True, False, True, True, True]
    np.testing.assert_allclose(row["a"], row["sum"], rtol=1e-4)
    np.testing.assert_allclose(row["input"], row["sum"], rtol=1e-4)
    assert (row["b"] > 0).all() and (row["b"] < row["sum"]).all()


def test_layer_relevance_rejects_gradient_methods():
    with pytest.raises(ValueError, match="LRP rules only"):
        S.layer_relevance(_plain_cnn(), _images(1, (12, 12, 1)), method="gradient")


def test_layer_macs_by_hand():
    """Multiply-adds per image behind the benchmark's MAC-count ratio, counted by hand."""
    from rbdm_core.saliency_worker import layer_macs

    inp = L.Input((10, 10, 3))
    c = L.Conv2D(8, 3, name="c")(inp)                        # 8x8x8 outputs, 3*3*3 each
    d = L.DepthwiseConv2D(3, depth_multiplier=2, name="d")(c)  # 6x6x16 outputs, 3*3 each
    f = L.Dense(5, name="f")(L.Flatten()(d))                  # 576 inputs x 5
    m = keras.Model(inp, f)
    assert layer_macs(m.get_layer("c")) == 8 * 8 * 8 * 27
    assert layer_macs(m.get_layer("d")) == 6 * 6 * 16 * 9
    assert layer_macs(m.get_layer("f")) == 576 * 5
    assert layer_macs(m.layers[-2]) == 0  # Flatten
