"""The one registry of relevance methods: every dispatch (API and worker) reads `REGISTRY`.

    method("deep_taylor").in_worker        # True: an iNNvestigate analyzer in the graph-mode worker
    method("gradient").eager()             # the function computing it in this process

Implementations are named "module:function" and imported on first use, so that reading the
registry imports neither TensorFlow nor iNNvestigate.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Method:
    """One relevance method.

    name:      the name callers pass (`relevance(..., method=name)`, the worker's job "methods")
    in_worker: `relevance` runs it in the graph-mode worker process (an iNNvestigate analyzer)
    layerwise: an LRP rule: relevance is passed back layer by layer, so per-layer relevance
               exists (`layer_relevance`); False for the gradient family
    conserves: measured, not assumed: on the probe network of `conservation` (a small ReLU CNN with
               biases, inputs of both signs) every map with a positive explained logit sums to that
               logit within `conservation.CONSERVATION_TOLERANCE`; tests/test_saliency_methods.py
               fails when this flag disagrees with `conservation.measure()`
    public:    one of the user-facing `METHODS` (False: internal, for tests and the benchmark)
    eager_impl:    "module:function" computing it in this process (see `gradients`), or None
    analyzer_impl: "module:function" building its analyzer in the worker (see `analyzers`), or None
    """

    name: str
    in_worker: bool
    conserves: bool
    public: bool
    layerwise: bool = False
    eager_impl: str | None = None
    analyzer_impl: str | None = None

    def eager(self) -> Callable:
        """f(prepared model, job, targets (N,) int64, batch_size, seed) -> (N, h, w, c) float32."""
        return _resolve(self.eager_impl, self.name, "in this process")

    def analyzer(self) -> Callable:
        """f(prepared graph-mode model, bounds (low, high), keep_layers: bool) -> iNNvestigate analyzer."""
        return _resolve(self.analyzer_impl, self.name, "in the worker")


def _resolve(ref: str | None, name: str, where: str) -> Callable:
    if ref is None:
        raise ValueError(f"saliency: method {name!r} has no implementation that runs {where}")
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


_G = "rbdm_core.saliency.gradients:"
_A = "rbdm_core.saliency.analyzers:"

#: name -> Method, in the order of `METHODS` (internal methods last)
REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("deep_taylor", in_worker=True, conserves=True, public=True, layerwise=True,
           analyzer_impl=_A + "deep_taylor"),
    # biases in the epsilon rule's denominator absorb relevance: on the probe network sums miss the logit
    Method("lrp_epsilon", in_worker=True, conserves=False, public=True, layerwise=True,
           analyzer_impl=_A + "lrp_epsilon"),
    # alpha 2, beta 1: a unit whose inputs contribute with one sign passes on 2 or -1 times its relevance
    Method("lrp_alpha_beta", in_worker=True, conserves=False, public=True, layerwise=True,
           analyzer_impl=_A + "lrp_alpha_beta"),
    # the worker's iNNvestigate gradient: for checks and the benchmark; `relevance` computes it here
    Method("gradient", in_worker=False, conserves=False, public=True, eager_impl=_G + "gradient",
           analyzer_impl=_A + "gradient"),
    Method("integrated_gradients", in_worker=False, conserves=False, public=True,
           eager_impl=_G + "integrated_gradients"),
    Method("smoothgrad", in_worker=False, conserves=False, public=True, eager_impl=_G + "smoothgrad"),
    # deep Taylor through iNNvestigate's generic rule classes: reference for tests and the benchmark
    Method("deep_taylor_generic", in_worker=True, conserves=True, public=False, layerwise=True,
           analyzer_impl=_A + "deep_taylor_generic"),
)}

#: the user-facing methods
METHODS: tuple[str, ...] = tuple(m.name for m in REGISTRY.values() if m.public)
#: the user-facing methods `relevance` runs in the worker (the LRP rules; `layer_relevance` takes these)
WORKER_METHODS: tuple[str, ...] = tuple(m.name for m in REGISTRY.values() if m.public and m.in_worker)
#: every method the worker can run (an analyzer exists), public or not
ANALYZER_METHODS: tuple[str, ...] = tuple(m.name for m in REGISTRY.values() if m.analyzer_impl is not None)


def method(name: str, caller: str = "relevance") -> Method:
    """The registry record of a user-facing method; ValueError naming `caller` for any other name."""
    m = REGISTRY.get(name) if isinstance(name, str) else None
    if m is None or not m.public:
        raise ValueError(f"{caller}: unknown method {name!r}; expected one of {', '.join(METHODS)}")
    return m


#: What the reverse mappings do, by the name the analyzers (`analyzers.py`) or iNNvestigate 2.1.2
#: register them under (`LayerRelevance.rules`); "gradient" mappings pass relevance back as a
#: gradient does, unchanged through Flatten and activations, to each window's maximum at max pooling
RULE_DESCRIPTIONS: dict[str, str] = {
    "rbdm_first_layer_bounded": "z^B (input bounded by [l, h])",
    "rbdm_zplus": "z+",
    "rbdm_add": "split in proportion to the summands",
    "rbdm_avg_pool": "split in proportion to the inputs",
    "rbdm_activation": "passed on unchanged",
    "lrp_layer_with_kernel_mapping": "the method's LRP rule",
    "deep_taylor_relu": "gradient",
    "deep_taylor_max_pooling": "gradient",
    "deep_taylor_average_pooling": "gradient",
    "deep_taylor_no_transform": "gradient",
    "deep_taylor_special_layers": "gradient",
    "default": "gradient",
}


def describe_rule(name: str, kind: str) -> str:
    """What the reverse mapping `name` (`LayerRelevance.rules`) does at a layer of class `kind`:
    `RULE_DESCRIPTIONS`, with a gradient mapping spelled out for the layer ("" for the input)."""
    if not name:
        return ""
    what = RULE_DESCRIPTIONS.get(name, name)
    if what != "gradient":
        return what
    if "MaxPooling" in kind:
        return "all to each window's maximum"
    return "passed on unchanged" if kind in ("Flatten", "Reshape", "ReLU", "Activation", "Cropping2D",
                                             "ZeroPadding2D", "Dropout") else f"gradient of {kind}"
