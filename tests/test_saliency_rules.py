"""rbdm_core.saliency.rules: the fast deep Taylor rules against numpy and iNNvestigate's generic rules."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core.saliency import rules, worker  # noqa: E402
from rbdm_core.saliency.rules import is_nonnegative, layer_macs  # noqa: E402
from saliency_models import bn_cnn, images, worker_job  # noqa: E402


def test_is_nonnegative_reads_the_graph():
    """The sign check behind the fast z+ path: True only where the graph guarantees x >= 0."""
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


def test_layer_macs_by_hand():
    """Multiply-adds per image behind the benchmark's MAC-count ratio, counted by hand."""
    inp = L.Input((10, 10, 3))
    c = L.Conv2D(8, 3, name="c")(inp)                        # 8x8x8 outputs, 3*3*3 each
    d = L.DepthwiseConv2D(3, depth_multiplier=2, name="d")(c)  # 6x6x16 outputs, 3*3 each
    f = L.Dense(5, name="f")(L.Flatten()(d))                  # 576 inputs x 5
    m = keras.Model(inp, f)
    assert layer_macs(m.get_layer("c")) == 8 * 8 * 8 * 27
    assert layer_macs(m.get_layer("d")) == 6 * 6 * 16 * 9
    assert layer_macs(m.get_layer("f")) == 576 * 5
    assert layer_macs(m.layers[-2]) == 0  # Flatten


def _numpy_zplus(x, w, r):
    xp, xn, wp, wn = np.maximum(x, 0), np.minimum(x, 0), np.maximum(w, 0), np.minimum(w, 0)
    z = xp @ wp + xn @ wn
    s = np.divide(r, z, out=np.zeros_like(z), where=z != 0)
    return xp * (s @ wp.T) + xn * (s @ wn.T)


def test_rules_on_a_dense_layer_match_their_definitions():
    """`ZPlus` (both paths) and `ZBounded` applied to one Dense layer in a graph, against the rule
    formulas in float64 numpy; the state passed to the constructor (weights without the bias,
    bounds, the MAC counter) is what the rules use."""
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    x, r = rng.uniform(-1, 1, (4, 5)), rng.uniform(0, 1, (4, 3))
    low, high = -1.0, 1.0
    with tf.Graph().as_default():
        layer = L.Dense(3)
        layer(keras.Input((5,)))
        values = {id(layer): [w.astype(np.float32), b.astype(np.float32)]}
        assert [a.shape for a in rules.kernel_weights(layer, values)] == [(5, 3)]  # bias dropped
        macs = {}
        zplus = rules.mapping(rules.ZPlus, values, macs=macs)(layer, {})
        zb = rules.ZBounded(layer, weights=rules.kernel_weights(layer, values), macs=macs, low=low, high=high)
        xt = tf.compat.v1.placeholder(tf.float32, (None, 5))
        rt = tf.compat.v1.placeholder(tf.float32, (None, 3))
        outs = [zplus([xt], None, [rt], {})[0], zplus([tf.nn.relu(xt)], None, [rt], {})[0],
                zb.apply([xt], None, [rt], {})[0]]
        with tf.compat.v1.Session() as sess:
            signed, nonneg, bounded = sess.run(outs, {xt: x.astype(np.float32), rt: r.astype(np.float32)})
    assert macs == {"either sign": 15, "input >= 0": 15, "bounded": 15}
    np.testing.assert_allclose(signed, _numpy_zplus(x, w, r), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nonneg, _numpy_zplus(np.maximum(x, 0), w, r), rtol=1e-4, atol=1e-5)
    wp, wn = np.maximum(w, 0), np.minimum(w, 0)
    s = r / (x @ w - low * wp.sum(0) - high * wn.sum(0))
    np.testing.assert_allclose(bounded, x * (s @ w.T) - low * (s @ wp.T) - high * (s @ wn.T), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bounded.sum(1), r.sum(1), rtol=1e-4)  # z^B conserves


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
    p, job = worker_job(m, x)
    assert job.bounds[0] < 0 < job.bounds[1]
    logits = p(job.x).numpy()
    t = logits.argmax(1)
    raw, _ = worker.run(p, job, t, ["deep_taylor", "deep_taylor_generic"], batch_size=2)
    want = _numpy_deep_taylor(m, x, t, *job.bounds)
    scale = np.abs(want).max()
    assert scale > 0
    np.testing.assert_allclose(raw["deep_taylor"], want, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(raw["deep_taylor_generic"], want, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.slow
def test_worker_fast_deep_taylor_matches_generic_on_bn_residual_model():
    """Depthwise, pointwise (mixed-sign input after the SeparableConv split), residual Add, GAP:
    the fast rules reproduce iNNvestigate's generic z+/z^B rule classes."""
    m = bn_cnn(seed=4)
    x = images(4, (16, 16, 2), seed=2)
    p, job = worker_job(m, x)
    t = np.array([0, 1, 2, 3])
    raw, _ = worker.run(p, job, t, ["deep_taylor", "deep_taylor_generic"], batch_size=3)
    a, b = raw["deep_taylor"], raw["deep_taylor_generic"]
    assert np.abs(b).max() > 0
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
