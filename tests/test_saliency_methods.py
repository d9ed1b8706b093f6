"""rbdm_core.saliency.methods: the one registry every dispatch reads, and its conservation flags."""

import dataclasses

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from rbdm_core import saliency as S  # noqa: E402
from rbdm_core.saliency import conservation as C  # noqa: E402
from rbdm_core.saliency import methods as M  # noqa: E402
from rbdm_core.saliency import worker  # noqa: E402
from saliency_models import images, smooth_model  # noqa: E402


def test_public_lists_are_derived_from_the_registry():
    assert S.METHODS == ("deep_taylor", "lrp_epsilon", "lrp_alpha_beta", "gradient", "integrated_gradients",
                         "smoothgrad")
    assert S.METHODS == tuple(name for name, m in M.REGISTRY.items() if m.public)
    assert S.WORKER_METHODS == tuple(name for name, m in M.REGISTRY.items() if m.public and m.in_worker)
    assert M.ANALYZER_METHODS == ("deep_taylor", "lrp_epsilon", "lrp_alpha_beta", "gradient", "deep_taylor_generic")
    assert all(name == m.name for name, m in M.REGISTRY.items())
    assert not M.REGISTRY["deep_taylor_generic"].public


def test_records_are_frozen_and_every_implementation_resolves():
    rec = M.REGISTRY["deep_taylor"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.conserves = False
    for m in M.REGISTRY.values():
        # a method runs in the worker exactly when `relevance` has no implementation of its own for it
        assert m.in_worker == (m.eager_impl is None), m.name
        assert m.in_worker <= (m.analyzer_impl is not None), m.name
        if m.eager_impl:
            assert callable(m.eager())
        if m.analyzer_impl:
            assert callable(m.analyzer())
    with pytest.raises(ValueError, match="'smoothgrad' has no implementation that runs in the worker"):
        M.REGISTRY["smoothgrad"].analyzer()


def test_method_lookup_names_the_caller():
    assert M.method("gradient") is M.REGISTRY["gradient"]
    with pytest.raises(ValueError, match="relevance: unknown method 'deep_taylor_generic'; expected one of deep_t"):
        M.method("deep_taylor_generic")  # internal: not for callers
    with pytest.raises(ValueError, match="layer_relevance: unknown method 'x'"):
        M.method("x", caller="layer_relevance")


# --------------------------------------------------------------------------- dispatch reads the registry
# Each test changes a registry record and checks that the API / the worker follow it: they would
# fail if a method were dispatched from a second list.

def _index_map(prepared, job, t, batch_size, seed=0):
    """(N, h, w, c) float32: each value's index within its image."""
    return np.broadcast_to(np.arange(job.x[0].size, dtype=np.float32).reshape(job.x.shape[1:]), job.x.shape).copy()


def test_relevance_runs_the_registry_eager_implementation(monkeypatch):
    probe = f"{__name__}:_index_map"
    monkeypatch.setitem(M.REGISTRY, "gradient", dataclasses.replace(M.REGISTRY["gradient"], eager_impl=probe))
    monkeypatch.setitem(M.REGISTRY, "probe", M.Method("probe", in_worker=False, conserves=False, public=True,
                                                      eager_impl=probe))
    x = images(2, (6, 6, 2))
    want = np.arange(72, dtype=np.float32).reshape(6, 6, 2).sum(-1)
    for name in ("gradient", "probe"):
        rel = S.relevance(smooth_model(), x, method=name)
        np.testing.assert_array_equal(rel.maps, np.broadcast_to(want, (2, 6, 6)))


def test_relevance_sends_in_worker_methods_to_the_worker(monkeypatch):
    calls = []

    def fake_run(prepared, job, t, methods, batch_size, layers=()):
        calls.append(list(methods))
        return {m: np.zeros_like(job.x) for m in methods}, {}

    monkeypatch.setattr(worker, "run", fake_run)
    monkeypatch.setitem(M.REGISTRY, "gradient", dataclasses.replace(M.REGISTRY["gradient"], in_worker=True))
    with pytest.warns(RuntimeWarning, match="constant map"):
        rels = S.relevance_many(smooth_model(), images(2, (6, 6, 2)), ["gradient", "deep_taylor", "smoothgrad"])
    assert calls == [["gradient", "deep_taylor"]]  # one worker call for the registry's in_worker methods
    assert (rels["gradient"].maps == 0).all() and (rels["smoothgrad"].maps != 0).any()


def _probe_analyzer(model, bounds, keep_layers):
    return ("probe", model, bounds, keep_layers)


def test_worker_builds_the_registry_analyzer(monkeypatch):
    monkeypatch.setitem(M.REGISTRY, "probe", M.Method("probe", in_worker=True, conserves=False, public=False,
                                                      analyzer_impl=f"{__name__}:_probe_analyzer"))
    assert worker.build_analyzer("model", "probe", (0.0, 1.0)) == ("probe", "model", (0.0, 1.0), False)
    with pytest.raises(ValueError, match="per-layer relevance is kept for the LRP methods only, not 'probe'"):
        worker.build_analyzer("model", "probe", (0.0, 1.0), keep_layers=True)  # conserves=False
    with pytest.raises(ValueError, match=r"unknown method 'smoothgrad'; expected one of \('deep_taylor'"):
        worker.build_analyzer("model", "smoothgrad", (0.0, 1.0))  # no analyzer


# --------------------------------------------------------------------------- conservation flag

def test_conserved_uses_the_stated_tolerance():
    tol = C.CONSERVATION_TOLERANCE
    assert C.conserved([0.0, tol]) and not C.conserved([0.0, tol * 1.01])
    assert not C.conserved([])  # nothing measured: not conserving
    assert not C.conserved([0.0, np.nan])


def test_layerwise_and_conserves_are_separate_flags():
    # per-layer relevance exists for every LRP rule, whether or not its sums are conserved
    assert S.WORKER_METHODS == tuple(m for m in S.WORKER_METHODS if M.REGISTRY[m].layerwise)
    assert M.REGISTRY["lrp_alpha_beta"].layerwise and not M.REGISTRY["lrp_alpha_beta"].conserves


@pytest.mark.slow
def test_conservation_flag_matches_the_measured_conservation():
    """The registry says "conserving" for exactly the methods whose maps, on the probe network
    (biases drawn nonzero, inputs of both signs), sum to every positive explained logit within
    CONSERVATION_TOLERANCE. Measured when written: deep Taylor (fast and generic) within 1e-6;
    LRP-epsilon up to about 80 % (its biases absorb relevance), LRP-alpha-beta up to about 36 %
    (a unit whose inputs contribute with one sign passes on 2 or -1 times its relevance), the
    gradient family above 100 %."""
    t = C.measure()
    assert list(t["method"]) == list(M.REGISTRY)
    assert (t["logit <= 0"] < t["images"]).all()
    assert dict(zip(t["method"], t["within tolerance"])) == {n: m.conserves for n, m in M.REGISTRY.items()}, t
    assert (t["within tolerance"] == t["registry: conserving"]).all()
    assert set(t.loc[t["within tolerance"], "method"]) == {"deep_taylor", "deep_taylor_generic"}
    # the margin is wide: the flag is not decided by rounding
    worst = t.set_index("method")["largest |sum/logit - 1|"]
    assert worst[["deep_taylor", "deep_taylor_generic"]].max() < C.CONSERVATION_TOLERANCE / 100
    assert worst.drop(["deep_taylor", "deep_taylor_generic"]).min() > 10 * C.CONSERVATION_TOLERANCE
    assert "not conserved" in C.sentence(t.iloc[1]) and "conserved on all" in C.sentence(t.iloc[0])
