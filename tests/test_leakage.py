"""Leak probes (rbdm_core.leakage): the ridge probe against a primal solution and known cases; the
leak of a mask's position through a zero fill, and its absence under noisy linear imputation."""

import numpy as np
import pytest

from rbdm_core.leakage import (PROBES, _dual_predict, balanced_accuracy, leak_summary, leak_table, other_images,
                               ridge_fit_predict, ridge_probe)


def test_dual_prediction_equals_primal():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 7)) + 3.0
    y = np.eye(3)[rng.integers(0, 3, 40)]
    train, test = np.arange(30), np.arange(30, 40)
    for lam in (0.1, 5.0):
        primal = ridge_fit_predict(x[train], y[train], x[test], lam)
        dual = _dual_predict(x @ x.T, train, test, y[train], lam)
        np.testing.assert_allclose(dual, primal, rtol=1e-9, atol=1e-9)
    # and primal by hand: no penalty, exact linear targets are recovered
    w = rng.normal(size=(7, 3))
    np.testing.assert_allclose(ridge_fit_predict(x[train], x[train] @ w + 1.5, x[test], 1e-10), x[test] @ w + 1.5,
                               rtol=1e-6, atol=1e-6)


def test_balanced_accuracy_by_hand():
    # class 0: 2 of 3 right, class 1: 1 of 1 right -> (2/3 + 1) / 2
    assert balanced_accuracy([0, 0, 0, 1], [0, 1, 0, 1]) == pytest.approx((2 / 3 + 1) / 2)
    assert balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == pytest.approx(0.5)  # constant = chance


def test_probe_separable_and_random_labels():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 400)
    separable = np.eye(4)[y] + 0.1 * rng.normal(size=(400, 4))
    assert ridge_probe(separable, y, 4).min() == 1.0
    noise = rng.normal(size=(400, 50))
    assert abs(ridge_probe(noise, y, 4).mean() - 0.25) < 0.08


def test_other_images_has_no_fixed_point():
    for n in (2, 3, 17, 500):
        p = other_images(n, seed=n)
        assert sorted(p) == list(range(n)) and not (p == np.arange(n)).any()


def _position_world(n: int = 600, seed: int = 0):
    """Noise images; the class (0..2) sets where an 8x8 square is removed (left, middle, right)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(40, 216, size=(n, 24, 24, 1), dtype=np.uint8)
    labels = rng.integers(0, 3, n)
    masks = np.ones((n, 24, 24), bool)
    for i, c in enumerate(labels):
        y0 = rng.integers(0, 16)
        masks[i, y0:y0 + 8, 8 * c:8 * c + 8] = False
    return images, labels, masks


def test_zero_fill_leaks_position_noisy_linear_does_not():
    images, labels, masks = _position_world()
    s = leak_summary(leak_table(images, labels, 3, {"square": masks}, fills=("zero", "noisy_linear")))
    get = lambda name, fill, probe: float(s[(s.masks == name) & (s.fill == fill) & (s.probe == probe)]["mean"].iloc[0])
    assert (s.n == 5).all() and (s.ci_low <= s["mean"]).all() and (s["mean"] <= s.ci_high).all()
    chance = 1 / 3
    assert abs(get("none", "-", "plain images") - chance) < 0.1  # noise images carry no label
    assert get("square", "-", "mask alone") > 0.95
    assert get("square", "zero", "mask over other images") > 0.95  # the outline travels with a zero fill
    assert get("square", "zero", "masked images") > 0.95
    assert abs(get("square", "noisy_linear", "mask over other images") - chance) < 0.1  # ...not with ROAD's
    assert abs(get("square (random)", "-", "mask alone") - chance) < 0.1
    assert set(s.probe) == set(PROBES)


def test_bad_input():
    images, labels, masks = _position_world(40)
    with pytest.raises(ValueError, match="unknown fill|expected one of"):
        leak_table(images, labels, 3, {"m": masks}, fills=("sparkle",))
    with pytest.raises(ValueError, match=r"masks\['m'\]: expected \(N, H, W\) bool"):
        leak_table(images, labels, 3, {"m": masks[:, :10]})
    with pytest.raises(ValueError, match="labels: expected values in 0..1"):
        ridge_probe(images, labels, 2)
