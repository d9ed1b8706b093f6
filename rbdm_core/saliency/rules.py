"""Fast deep Taylor LRP rules for iNNvestigate 2.1.2's graph-mode reverse pass (docs/saliency.md).

    rule = ZPlus(layer, weights=kernel_weights(layer, values), macs=macs)
    [relevance_at_input] = rule.apply(Xs, Ys, Rs, reverse_state)

One class per rule; its state (the weights as numpy arrays without the bias, the input bounds,
the dict that counts multiply-adds) is passed to the constructor. `mapping(Rule, values, **state)`
gives iNNvestigate's per-layer form f(layer, reverse_state) -> apply. Both rules ignore biases.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import innvestigate.backend.graph as igraph

# TF ops whose output is >= 0 whatever their input, and ops that keep (the first input's) sign
_NONNEG_OPS = {"Relu", "Relu6"}
_SIGN_KEEPING_OPS = {"Identity", "MaxPool", "MaxPoolV2", "AvgPool", "Mean", "Max", "Reshape", "Squeeze",
                     "ExpandDims", "Transpose", "Pad", "StridedSlice", "Slice"}


def is_nonnegative(tensor, _depth: int = 0) -> bool:
    """True if graph tensor `tensor` is >= 0 by construction (a ReLU/ReLU6 output, or pooling,
    zero padding, reshaping, concatenation or sums of such); False when unsure."""
    if _depth > 64:
        return False
    op = tensor.op
    kind = op.type
    if kind in _NONNEG_OPS:
        return True
    if kind == "Const":
        return bool((tf.make_ndarray(op.get_attr("value")) >= 0).all())
    if kind in _SIGN_KEEPING_OPS:
        return is_nonnegative(op.inputs[0], _depth + 1)
    if kind == "ConcatV2":
        return all(is_nonnegative(t, _depth + 1) for t in list(op.inputs)[:-1])
    if kind in ("AddV2", "Add", "AddN", "Minimum"):
        return all(is_nonnegative(t, _depth + 1) for t in op.inputs)
    if kind == "Maximum":
        return any(is_nonnegative(t, _depth + 1) for t in op.inputs)
    return False


def layer_macs(layer) -> int:
    """Multiply-adds per image of a Conv2D / DepthwiseConv2D / Dense forward pass (0 for others)."""
    out = layer.output_shape
    if not isinstance(out, tuple):
        return 0
    n_out = int(np.prod([d for d in out[1:] if d is not None]))
    if hasattr(layer, "depthwise_kernel"):
        kh, kw = layer.depthwise_kernel.shape[:2]
        return n_out * int(kh) * int(kw)
    if hasattr(layer, "kernel"):
        return n_out * int(np.prod(layer.kernel.shape[:-1]))
    return 0


def model_weight_values(model) -> dict:
    """{id(layer): layer.get_weights()} for every layer of `model`, in one session call (a
    get_weights per layer during the analyzer build would each re-send the growing graph)."""
    layers = [l for l in model.layers if l.weights]
    flat = tf.keras.backend.batch_get_value([w for l in layers for w in l.weights])
    out, i = {}, 0
    for l in layers:
        out[id(l)] = flat[i:i + len(l.weights)]
        i += len(l.weights)
    return out


def kernel_weights(layer, values: dict) -> list:
    """The layer's weights without its bias, as numpy arrays (iNNvestigate's convention);
    `values` maps id(layer) to its get_weights() (`model_weight_values`), else they are read here."""
    weights = values[id(layer)] if id(layer) in values else layer.get_weights()
    if getattr(layer, "use_bias", False):
        weights = weights[:-1]
    return weights


def mapping(rule_cls, values: dict, **state):
    """iNNvestigate reverse mapping f(layer, reverse_state) -> apply that builds
    `rule_cls(layer, weights=kernel_weights(layer, values), **state)` for each kernel layer."""
    def build(layer, _reverse_state):
        return rule_cls(layer, weights=kernel_weights(layer, values), **state).apply

    return build


def _copy(layer, weights, tag):
    """`layer` without activation and bias, with `weights` as graph constants (no session call to set
    them, fixed operands for the conv kernels)."""
    return igraph.copy_layer_wo_activation(layer, keep_bias=False, weights=[tf.constant(w) for w in weights],
                                           name_template=f"rbdm_{tag}_%s")


def _count(macs: dict, path: str, layer) -> None:
    macs[path] = macs.get(path, 0) + layer_macs(layer)


class ZPlus(igraph.ReverseMappingBase):
    """z+ rule: R_in = x+ (W+^T s) + x- (W-^T s), s = R / (W+ x+ + W- x-) (0 where the denominator is 0).

    layer:   a kernel layer (Conv2D, DepthwiseConv2D, Dense)
    weights: its weights without the bias (numpy, `kernel_weights`)
    macs:    dict counting the layer's multiply-adds per image under "input >= 0" (one forward
             and one backward product: x- = 0 where `is_nonnegative`) or "either sign" (two each)
    """

    def __init__(self, layer, weights: list, macs: dict):
        self._pos = _copy(layer, [a * (a > 0) for a in weights], "pos")
        self._neg_weights = [a * (a < 0) for a in weights]
        self._layer = layer
        self._macs = macs
        self._neg = None

    def apply(self, Xs, _Ys, Rs, _reverse_state):
        x, r = Xs[0], Rs[0]
        _count(self._macs, "input >= 0" if is_nonnegative(x) else "either sign", self._layer)
        if is_nonnegative(x):
            z = self._pos(x)
            s = tf.math.divide_no_nan(r, z)
            return [x * tf.gradients(z, x, grad_ys=s)[0]]
        if self._neg is None:
            self._neg = _copy(self._layer, self._neg_weights, "neg")
        xp, xn = tf.nn.relu(x), tf.minimum(x, 0.0)
        zp, zn = self._pos(xp), self._neg(xn)
        s = tf.math.divide_no_nan(r, zp + zn)
        gp, gn = tf.gradients([zp, zn], [xp, xn], grad_ys=[s, s], stop_gradients=[xp, xn])
        return [xp * gp + xn * gn]


class ZBounded(igraph.ReverseMappingBase):
    """z^B rule for an input in [low, high]: R_in = x (W^T s) - l (W+^T s) - h (W-^T s),
    s = R / (W x - W+ l - W- h), with l, h the constant images low and high.

    layer, weights, macs: as in `ZPlus` (counted under "bounded"); low, high: input bounds,
    in the units of the preprocessed input.
    """

    def __init__(self, layer, weights: list, macs: dict, low: float = -1.0, high: float = 1.0):
        self._low, self._high = float(low), float(high)
        self._plain = _copy(layer, weights, "plain")
        self._layer = layer
        self._macs = macs
        # l W+ + h W-: the bound term of z^B as one linear map of a constant image of ones
        self._bound = _copy(layer, [self._low * (a * (a > 0)) + self._high * (a * (a < 0)) for a in weights],
                            "bound")

    def apply(self, Xs, _Ys, Rs, _reverse_state):
        x, r = Xs[0], Rs[0]
        _count(self._macs, "bounded", self._layer)
        ones = tf.stop_gradient(tf.ones_like(x[:1]))
        z = self._plain(x) - self._bound(ones)  # (N, ...) - (1, ...): broadcast over the batch
        s = tf.math.divide_no_nan(r, z)
        ga = tf.gradients(z, x, grad_ys=s)[0]
        gb = _backward(tf.zeros_like(x), self._bound, s)
        return [x * ga - gb]


def _backward(x, layer, s):
    """(W^T s) for the linear `layer`, as the gradient of layer(x) with respect to x."""
    z = layer(x)
    return tf.gradients(z, x, grad_ys=s)[0]
