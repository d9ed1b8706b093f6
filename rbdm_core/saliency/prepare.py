"""Prepare a Keras classifier for relevance analysis, keeping the function it computes.

`prepare_model(model)` returns a new functional model that computes the original model's
pre-softmax logits, with:

- the final softmax removed (a trailing `Activation('softmax')` / `Softmax` layer is dropped; a
  last Dense/Conv layer with `activation='softmax'` is rebuilt with a linear activation);
- every BatchNormalization folded into the Conv2D / DepthwiseConv2D / Dense / SeparableConv2D
  that feeds it (exact in inference mode: kernel scaled by gamma / sqrt(var + eps), bias
  (b - mean) * gamma / sqrt(var + eps) + beta); a BatchNormalization that follows no foldable
  layer (4-D input) becomes an equivalent 1x1 DepthwiseConv2D with bias;
- every SeparableConv2D split into DepthwiseConv2D + 1x1 Conv2D (exact), so that LRP rules
  that take the positive part of a kernel see the real per-connection weights;
- nested functional models (a keras.applications base used as a layer) inlined;
- unique layer names `rbdm<i>_<original name>`, which cannot collide with the names Keras
  gives the helper layers iNNvestigate creates (the fer model's "add_1 used 2 times" failure).

Not changed: ReLU6 (`ReLU(max_value=6)`, MobileNetV2) stays ReLU6; the relevance rules in
`saliency.analyzers` pass relevance through activation layers unchanged, so a clipped unit keeps
its relevance. Layers other than standard Keras layers taking one tensor or a list of tensors
(e.g. `TFOpLambda`) raise a ValueError naming the layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

_FOLD_TARGETS = ("Conv2D", "DepthwiseConv2D", "Dense")


@dataclass
class _Op:
    """One layer call in the flattened graph: new layer config + weights, refs in and out."""

    cls: type
    config: dict
    weights: list  # numpy arrays in the layer's get_weights() order
    inputs: list[int]
    output: int
    list_input: bool  # layer called on a list (Add, Concatenate ...)
    origin: str = ""  # original layer name (for messages)
    extra: dict = field(default_factory=dict)


def _keras():
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    return tf.keras


def _flatten(model, in_refs: list[int], ops: list[_Op], counter: list[int]) -> list[int]:
    """Append the ops of functional `model` called on `in_refs`; return its output refs."""
    keras = _keras()
    tmap: dict[int, int] = {}
    for t, r in zip(model.inputs, in_refs):
        tmap[id(t)] = r
    depths = sorted(model._nodes_by_depth.keys(), reverse=True)
    for d in depths:
        for node in model._nodes_by_depth[d]:
            layer = node.layer
            if isinstance(layer, keras.layers.InputLayer):
                continue
            ins = node.keras_inputs
            try:
                refs = [tmap[id(t)] for t in ins]
            except KeyError as exc:  # pragma: no cover - malformed graph
                raise ValueError(f"prepare_model: layer {layer.name!r} has an input outside the model") from exc
            outs = node.outputs if isinstance(node.outputs, (list, tuple)) else [node.outputs]
            if isinstance(layer, keras.Model):
                if isinstance(layer, keras.Sequential):
                    layer = keras.Model(layer.inputs, layer.outputs)
                out_refs = _flatten(layer, refs, ops, counter)
            else:
                if len(outs) != 1:
                    raise ValueError(f"prepare_model: layer {layer.name!r} ({type(layer).__name__}) has "
                                     f"{len(outs)} outputs; only single-output layers are supported")
                if type(layer).__name__ in ("TFOpLambda", "SlicingOpLambda", "Lambda"):
                    raise ValueError(f"prepare_model: layer {layer.name!r} is a {type(layer).__name__}; "
                                     "relevance rules need standard Keras layers")
                args = node.call_args
                list_input = bool(args) and isinstance(args[0], (list, tuple))
                counter[0] += 1
                out_refs = [counter[0]]
                ops.append(_Op(type(layer), layer.get_config(), layer.get_weights(), refs, counter[0],
                               list_input, origin=layer.name, extra={"rank": len(outs[0].shape)}))
            for t, r in zip(outs, out_refs):
                tmap[id(t)] = r
    return [tmap[id(t)] for t in model.outputs]


def _split_separable(ops: list[_Op], counter: list[int]) -> list[_Op]:
    keras = _keras()
    out = []
    for op in ops:
        if op.cls is keras.layers.SeparableConv2D or op.cls.__name__ == "SeparableConv2D":
            c = op.config
            dw_cfg = dict(name=c["name"] + "_dw", kernel_size=c["kernel_size"], strides=c["strides"],
                          padding=c["padding"], depth_multiplier=c["depth_multiplier"],
                          dilation_rate=c["dilation_rate"], use_bias=False, activation="linear",
                          data_format=c.get("data_format"))
            pw_cfg = dict(name=c["name"] + "_pw", filters=c["filters"], kernel_size=1, use_bias=c["use_bias"],
                          activation=c["activation"], data_format=c.get("data_format"))
            w = op.weights
            counter[0] += 1
            mid = counter[0]
            out.append(_Op(keras.layers.DepthwiseConv2D, dw_cfg, [w[0]], op.inputs, mid, False, op.origin,
                           extra={"rank": 4}))
            out.append(_Op(keras.layers.Conv2D, pw_cfg, [w[1]] + ([w[2]] if c["use_bias"] else []), [mid],
                           op.output, False, op.origin, extra={"rank": 4}))
        else:
            out.append(op)
    return out


def _bn_scale_shift(op: _Op) -> tuple[np.ndarray, np.ndarray]:
    c = op.config
    w = list(op.weights)
    gamma = w.pop(0) if c.get("scale", True) else None
    beta = w.pop(0) if c.get("center", True) else None
    mean, var = w[0], w[1]
    s = 1.0 / np.sqrt(var.astype(np.float64) + c["epsilon"])
    if gamma is not None:
        s = s * gamma
    shift = -mean * s + (beta if beta is not None else 0.0)
    return s, shift


def _bn_axis_ok(op: _Op, ndim: int | None) -> bool:
    axis = op.config.get("axis", -1)
    axis = axis if isinstance(axis, (list, tuple)) else [axis]
    return len(axis) == 1 and (axis[0] == -1 or (ndim is not None and axis[0] == ndim - 1))


def _fold_bn(ops: list[_Op], ndims: dict[int, int]) -> list[_Op]:
    keras = _keras()
    producer = {op.output: op for op in ops}
    consumers: dict[int, int] = {}
    for op in ops:
        for r in op.inputs:
            consumers[r] = consumers.get(r, 0) + 1
    drop = set()
    out_map: dict[int, int] = {}  # bn output ref -> replacement ref
    for op in ops:
        if op.cls.__name__ != "BatchNormalization":
            continue
        if not _bn_axis_ok(op, ndims.get(op.inputs[0])):
            raise ValueError(f"prepare_model: BatchNormalization {op.origin!r} normalises axis "
                             f"{op.config.get('axis')}; only the last (channel) axis is supported")
        s, shift = _bn_scale_shift(op)
        src = producer.get(op.inputs[0])
        foldable = (src is not None and src.cls.__name__ in _FOLD_TARGETS
                    and src.config.get("activation", "linear") == "linear" and consumers[op.inputs[0]] == 1)
        if foldable:
            k = src.weights[0].astype(np.float64)
            b = src.weights[1].astype(np.float64) if src.config.get("use_bias", True) else np.zeros(k.shape[-1] if src.cls.__name__ != "DepthwiseConv2D" else k.shape[2] * k.shape[3])
            if src.cls.__name__ == "DepthwiseConv2D":
                k = k * s.reshape(k.shape[2], k.shape[3])
            else:
                k = k * s
            b = b * s + shift
            src.weights = [k.astype(np.float32), b.astype(np.float32)]
            src.config = dict(src.config, use_bias=True)
            drop.add(id(op))
            out_map[op.output] = src.output
        elif ndims.get(op.inputs[0]) == 4:
            # standalone BN on an image tensor: an exact 1x1 depthwise convolution with bias
            op.cls = keras.layers.DepthwiseConv2D
            op.config = dict(name=op.config["name"], kernel_size=1, use_bias=True, activation="linear")
            op.weights = [s.reshape(1, 1, -1, 1).astype(np.float32), shift.astype(np.float32)]
        # else: leave it (iNNvestigate's BatchNormalization rule); rare (BN after a Dense with activation)
    kept = [op for op in ops if id(op) not in drop]
    for op in kept:
        op.inputs = [out_map.get(r, r) for r in op.inputs]
    return kept, out_map


def _strip_softmax(ops: list[_Op], out_ref: int) -> int:
    last = next(op for op in ops if op.output == out_ref)
    name = last.cls.__name__
    if name == "Softmax" or (name == "Activation" and last.config.get("activation") == "softmax"):
        ops.remove(last)
        return last.inputs[0]
    if last.config.get("activation") == "softmax":
        last.config = dict(last.config, activation="linear")
    return out_ref


def prepare_model(keras_model) -> Any:
    """Return a functional `keras.Model` computing `keras_model`'s pre-softmax logits (see module doc).

    keras_model: a single-input, single-output Keras classifier (Sequential or functional).
    The result has fresh layers (weights copied, BatchNorm folded); the input model is unchanged.
    """
    keras = _keras()
    if not isinstance(keras_model, keras.Model):
        raise ValueError(f"prepare_model: expected a keras.Model, got {type(keras_model).__name__}")
    model = keras_model
    if isinstance(model, keras.Sequential):
        if not model.built or not model.inputs:
            raise ValueError("prepare_model: the Sequential model has no input shape; build it first")
        model = keras.Model(model.inputs, model.outputs)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"prepare_model: expected one input and one output, got {len(model.inputs)} "
                         f"inputs and {len(model.outputs)} outputs")
    counter = [0]
    ops: list[_Op] = []
    [out_ref] = _flatten(model, [0], ops, counter)
    ops = _split_separable(ops, counter)
    # shape rank of each ref, needed to know whether a BN acts on images
    ndims = {0: len(model.inputs[0].shape)}
    ndims.update({op.output: op.extra["rank"] for op in ops})
    ops, out_map = _fold_bn(ops, ndims)
    out_ref = out_map.get(out_ref, out_ref)
    out_ref = _strip_softmax(ops, out_ref)

    inp = keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype, name="rbdm_input")
    tensors = {0: inp}
    for i, op in enumerate(ops):
        cfg = dict(op.config, name=f"rbdm{i}_{op.config['name']}")
        layer = op.cls.from_config(cfg)
        args = [tensors[r] for r in op.inputs]
        y = layer(args if op.list_input else args[0])
        if op.weights:
            layer.set_weights(op.weights)
        tensors[op.output] = y
    return keras.Model(inp, tensors[out_ref], name=f"{keras_model.name}_prepared")
