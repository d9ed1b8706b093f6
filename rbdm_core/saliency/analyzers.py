"""iNNvestigate 2.1.2 analyzers with the rbdm rules, one builder per worker method (docs/saliency.md).

    analyzer = deep_taylor(prepared, bounds=(low, high), keep_layers=False)   # graph mode only
    analyzer.analyze(x, neuron_selection=targets)                          # (N, h, w, c) float32

The registry (`methods.REGISTRY`) names these builders. Every analyzer passes relevance through
activation layers (ReLU, ReLU6, linear) unchanged and uses conserving rules for Add and average
pooling; neurons are selected by index (the target class of each image).
"""

from __future__ import annotations

import contextlib

import tensorflow.keras.layers as klayers
import innvestigate.analyzer as ia
import innvestigate.analyzer.relevance_based.relevance_analyzer as ra
import innvestigate.analyzer.relevance_based.relevance_rule as rr
import innvestigate.backend.checks as ichecks
from keras.src.engine import base_layer_utils as blu

from rbdm_core.saliency import rules

LRP_EPSILON = 1e-3


@contextlib.contextmanager
def fast_graph_build(enabled: bool = True):
    """Scope Keras's `_UNSAFE_GRAPH_OP_LAYER_CREATION` switch to a block: without it the build
    time grows quadratically with depth (docs/saliency.md, "Build speed")."""
    old = blu._UNSAFE_GRAPH_OP_LAYER_CREATION
    blu._UNSAFE_GRAPH_OP_LAYER_CREATION = bool(enabled)
    try:
        yield
    finally:
        blu._UNSAFE_GRAPH_OP_LAYER_CREATION = old


def _passthrough(_Xs, _Ys, reversed_Ys, _state):
    return reversed_Ys


def _is_activation(layer) -> bool:
    if isinstance(layer, klayers.ReLU):
        return True
    return isinstance(layer, klayers.Activation) and layer.get_config()["activation"] in ("relu", "linear")


def _add_common(analyzer) -> None:
    """Activations pass relevance through; Add and average pooling use the conserving z rule."""
    analyzer._add_conditional_reverse_mapping(_is_activation, _passthrough, name="rbdm_activation", priority=5)
    analyzer._add_conditional_reverse_mapping(ichecks.is_add_layer, ra.AddReverseLayer, name="rbdm_add", priority=5)
    analyzer._add_conditional_reverse_mapping(ichecks.is_average_pooling, ra.AveragePoolingReverseLayer,
                                              name="rbdm_avg_pool", priority=5)


class KeepLayers:
    """Mixin: with `reverse_keep_tensors=True`, `_kept` after each `analyze` is a list of (id of the
    forward tensor, relevance array) pairs: iNNvestigate 2.1.2 labels its kept tensors with
    the node that first sent relevance to them (not the layer that made them) and sorts the
    pairs, which fails on the arrays when two labels tie.

    Once the analysis is built, `rule_names` maps each layer's name to the name of the reverse
    mapping applied to it (`methods.RULE_DESCRIPTIONS` says what each does; "default" where no
    condition matched and iNNvestigate's default, the gradient, was used)."""

    def _apply_conditional_reverse_mappings(self, layer):
        # iNNvestigate 2.1.2's resolution (highest priority first, then in order of adding), keeping
        # the name of the mapping chosen
        self._reverse_mapping_applied = True
        names = self.__dict__.setdefault("rule_names", {})
        for key in sorted(self._conditional_reverse_mappings, reverse=True):
            for mapping in self._conditional_reverse_mappings[key]:
                if mapping["condition"](layer):
                    names[layer.name] = mapping["name"]
                    return mapping["mapping"]
        names[layer.name] = "default"
        return None

    def _reverse_model(self, model, stop_analysis_at_tensors=None, return_all_reversed_tensors=False):
        ins, reversed_tensors = super()._reverse_model(model, stop_analysis_at_tensors,
                                                       return_all_reversed_tensors)
        if reversed_tensors is not None:  # same order as the kept debug outputs
            self._kept_ids = list(reversed_tensors)  # keyed by id(forward tensor)
        return ins, reversed_tensors

    def _handle_debug_output(self, debug_values):
        i0, i1 = self._debug_tensors_indices["keep"]
        self._kept = list(zip(self._kept_ids, debug_values[i0:i1]))


class DeepTaylorZPlus(KeepLayers, ia.BoundedDeepTaylor):
    """Deep Taylor with the fast rules: `rules.ZBounded` on the first kernel layer, `rules.ZPlus`
    on the others. weight_values: `rules.model_weight_values(model)`. After the analysis is
    built, `macs_by_rule` holds the kernel layers' multiply-adds per image by rule path."""

    def __init__(self, model, low, high, weight_values: dict, **kwargs):
        super().__init__(model, low=low, high=high, **kwargs)
        self._weight_values = weight_values
        self.macs_by_rule: dict[str, int] = {}

    def _create_analysis(self, *args, **kwargs):
        low, high = self._bounds_low, self._bounds_high
        self._add_conditional_reverse_mapping(
            lambda l: ichecks.is_input_layer(l) and ichecks.contains_kernel(l),
            rules.mapping(rules.ZBounded, self._weight_values, macs=self.macs_by_rule, low=low, high=high),
            name="rbdm_first_layer_bounded", priority=11)  # before iNNvestigate's own (10)
        self._add_conditional_reverse_mapping(
            ichecks.contains_kernel, rules.mapping(rules.ZPlus, self._weight_values, macs=self.macs_by_rule),
            name="rbdm_zplus", priority=5)
        _add_common(self)
        return super()._create_analysis(*args, **kwargs)


class GenericDeepTaylorZPlus(KeepLayers, ia.BoundedDeepTaylor):
    """The same rules through iNNvestigate's generic classes (reference for tests and the benchmark)."""

    def _create_analysis(self, *args, **kwargs):
        self._add_conditional_reverse_mapping(ichecks.contains_kernel, rr.Alpha1Beta0IgnoreBiasRule,
                                              name="rbdm_zplus", priority=5)
        _add_common(self)
        return super()._create_analysis(*args, **kwargs)


class Epsilon(KeepLayers, ia.LRPEpsilon):
    def _create_analysis(self, *args, **kwargs):
        _add_common(self)
        return super()._create_analysis(*args, **kwargs)


class AlphaBeta(KeepLayers, ia.LRPAlpha2Beta1IgnoreBias):
    def _create_analysis(self, *args, **kwargs):
        _add_common(self)
        return super()._create_analysis(*args, **kwargs)


# --------------------------------------------------------------------------- builders (see methods.REGISTRY)
# model: a prepared graph-mode model; bounds: (low, high) of its input; keep_layers: also keep the
# relevance at every layer's output (`worker.layer_arrays`)

def _keep(keep_layers: bool) -> dict:
    return {"reverse_keep_tensors": True} if keep_layers else {}


def deep_taylor(model, bounds, keep_layers: bool = False):
    return DeepTaylorZPlus(model, low=float(bounds[0]), high=float(bounds[1]),
                           weight_values=rules.model_weight_values(model), neuron_selection_mode="index",
                           **_keep(keep_layers))


def deep_taylor_generic(model, bounds, keep_layers: bool = False):
    return GenericDeepTaylorZPlus(model, low=float(bounds[0]), high=float(bounds[1]),
                                  neuron_selection_mode="index", **_keep(keep_layers))


def lrp_epsilon(model, bounds, keep_layers: bool = False):
    # disable_model_checks: iNNvestigate 2.1.2 raises NotImplementedError after its own
    # "LRP is only tested for convolutional neural networks" *warning* (DepthwiseConv2D)
    return Epsilon(model, epsilon=LRP_EPSILON, bias=True, neuron_selection_mode="index",
                   disable_model_checks=True, **_keep(keep_layers))


def lrp_alpha_beta(model, bounds, keep_layers: bool = False):
    return AlphaBeta(model, neuron_selection_mode="index", disable_model_checks=True, **_keep(keep_layers))


def gradient(model, bounds, keep_layers: bool = False):
    return ia.Gradient(model, neuron_selection_mode="index", **_keep(keep_layers))
