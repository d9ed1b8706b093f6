"""rbdm_core.saliency.gradients (through the public `relevance`) against independent computations."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core import saliency as S  # noqa: E402
from rbdm_core.saliency.prepare import prepare_model  # noqa: E402
from saliency_models import pre_softmax, smooth_model, tape_grad  # noqa: E402


def test_gradient_matches_tape_and_finite_differences():
    m = smooth_model()
    x = np.random.default_rng(0).uniform(0, 1, (4, 6, 6, 2)).astype(np.float32)
    rel = S.relevance(m, x, method="gradient", target=[0, 1, 2, 1])
    p = prepare_model(m)
    g = tape_grad(p, x, np.array([0, 1, 2, 1]))
    np.testing.assert_allclose(rel.maps, g.sum(-1), rtol=1e-5, atol=1e-6)
    # central finite difference of the pre-softmax logit at one pixel (both channels moved)
    h = 1e-2
    e = np.zeros_like(x[:1])
    e[0, 2, 3, :] = h
    lp = lambda z: pre_softmax(m, z)[0, 0] - pre_softmax(m, z)[0].mean()  # noqa: E731
    fd = (lp(x[:1] + e) - lp(x[:1] - e)) / (2 * h)
    # the logit is defined up to a constant: compare against the centred logit's gradient
    gc = tape_grad(p, x[:1], np.array([0])) - np.mean([tape_grad(p, x[:1], np.array([k])) for k in range(3)], 0)
    assert abs(gc[0, 2, 3].sum() - fd) < 1e-3 * max(1, abs(fd))
    assert rel.targets.tolist() == [0, 1, 2, 1]
    np.testing.assert_allclose(rel.logits, p(x).numpy()[np.arange(4), [0, 1, 2, 1]], rtol=1e-6)


def test_integrated_gradients_completeness():
    """IG sums to f(x) - f(baseline) up to the Riemann error; for a bare model fed floats the
    baseline is the constant image at the smallest input value."""
    m = smooth_model(1)
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
    m2 = smooth_model()
    x2 = np.random.default_rng(0).uniform(0, 255, (2, 6, 6, 2)).astype(np.uint8)
    a = S.relevance(m2, x2, method="smoothgrad", seed=3).maps
    b = S.relevance(m2, x2, method="smoothgrad", seed=3, batch_size=1).maps
    c = S.relevance(m2, x2, method="smoothgrad", seed=4).maps
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert not np.allclose(a, c)
