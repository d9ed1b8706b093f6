"""Relevance maps of a Keras classifier's pre-softmax logit, per input pixel.

    rel = relevance(bundle, images, method="deep_taylor")      # images (N, H, W, C) uint8
    rel.maps                                                   # (N, h, w) float32, model input size
    layers = layer_relevance(bundle, images)                   # relevance at every layer (LRP rules)

The method's registry record (`methods.REGISTRY`) says where it runs: the LRP rules in the
graph-mode worker process (`worker`; `in_process=True` runs them here for callers that already
disabled eager execution), the gradient family here (`gradients`). The model is first passed
through `prepare.prepare_model` (softmax stripped, BatchNorm folded). Maps are the relevance per
value summed over the input channels; see docs/saliency.md for the rules and their conservation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rbdm_core import timing
from rbdm_core.saliency import worker
from rbdm_core.saliency.inputs import inputs, load, targets
from rbdm_core.saliency.methods import WORKER_METHODS, method as method_record
from rbdm_core.saliency.prepare import prepare_model


@dataclass
class Relevance:
    """Relevance maps of N images for one method.

    maps:         (N, h, w) float32, relevance per pixel at the model's input size, channels summed
    targets:      (N,) int64, the explained class of each image
    logits:       (N,) float32, the explained class's pre-softmax logit
    sums:         (N,) float32, sum of each map
    method:       the method name
    conservation: (N,) float32, sums / logits (NaN where the logit is 0)
    constant:     (N,) bool, True where a map has one value everywhere (no ranking possible)
    """

    maps: np.ndarray
    targets: np.ndarray
    logits: np.ndarray
    sums: np.ndarray
    method: str
    conservation: np.ndarray
    constant: np.ndarray


# --------------------------------------------------------------------------- public

def _prepared(bundle_or_path, images, target, batch_size, caller: str):
    """(prepared model, job, targets (N,) int64, explained logits (N,) float32), input checked."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{caller}: batch_size must be a positive int, got {batch_size!r}")
    model, preprocess = load(bundle_or_path)
    job = inputs(model, preprocess, images)
    prepared = prepare_model(model)
    logits_all = np.asarray(prepared.predict(job.x, batch_size=batch_size, verbose=0), np.float32)
    t = targets(target, logits_all)
    return prepared, job, t, logits_all[np.arange(len(t)), t]


@timing.timed("relevance maps")
def relevance_many(bundle_or_path, images: np.ndarray, methods: Sequence[str] = ("deep_taylor",),
                   target="predicted", batch_size: int = 32, *, in_process: bool = False,
                   seed: int = 0) -> dict[str, Relevance]:
    """`relevance` for several methods at once (one worker process for all iNNvestigate methods)."""
    methods = list(methods)
    specs = {m: method_record(m) for m in methods}
    prepared, job, t, logit = _prepared(bundle_or_path, images, target, batch_size, "relevance")

    raw: dict[str, np.ndarray] = {}
    inn = [m for m in methods if specs[m].in_worker]
    if inn:
        if in_process:
            raw.update(worker.analyze_arrays(prepared, job.x, t, inn, job.bounds, batch_size, progress=False)[0])
        else:
            raw.update(worker.run(prepared, job, t, inn, batch_size)[0])
    for m in methods:
        if m not in raw:
            raw[m] = specs[m].eager()(prepared, job, t, batch_size, seed)
    return {m: _finish(raw[m], t, logit, m) for m in methods}


@timing.timed("relevance maps")
def relevance(bundle_or_path, images: np.ndarray, method: str = "deep_taylor", target="predicted",
              batch_size: int = 32, *, in_process: bool = False, seed: int = 0) -> Relevance:
    """Relevance maps of `images` (N, H, W, C) uint8 for the explained class `target`; with a
    bundle, also a list of (H, W, C) uint8 images of different sizes (one analysis for all).

    bundle_or_path: `rbdm_core.models.ModelBundle`, a model name/path for `load_bundle`, or a bare
                    `keras.Model` (then images are used as they are: uint8 or float, at its input shape).
    method:         one of `METHODS` (`methods.REGISTRY`'s public names).
    target:         "predicted" (the arg-max logit), one class index for all, or (N,) indices.
    in_process:     run iNNvestigate here (eager execution must already be disabled).
    seed:           SmoothGrad's noise.
    Raises ValueError for bad input and for NaN/infinite maps (naming the image); constant maps are
    flagged in `Relevance.constant` with a warning.
    """
    return relevance_many(bundle_or_path, images, [method], target, batch_size, in_process=in_process,
                          seed=seed)[method]


#: images per analysis of `class_relevance` (each is analysed once per class)
CLASS_RELEVANCE_CHUNK = 4096


def class_relevance(bundle_or_path, images: np.ndarray, method: str = "deep_taylor", batch_size: int = 32, *,
                    seed: int = 0, chunk: int = CLASS_RELEVANCE_CHUNK) -> np.ndarray:
    """(K, N, h, w) float32: the relevance map of every class k = 0..K-1 of the model (K = its
    outputs) for each of `images` (N, H, W, C) uint8, at the model's input size; map [k, i] is
    `relevance(..., target=k).maps[i]`, whatever class the model predicts for image i. Analysed
    `chunk` (image, class) pairs at a time (one worker process each). A class whose logit is
    negative gets a constant (zero) deep-Taylor map; no warning is given here for those."""
    if not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"class_relevance: chunk must be a positive int, got {chunk!r}")
    model, _ = load(bundle_or_path)
    k = int(model.output_shape[-1])
    x = np.asarray(images)
    per = max(1, int(chunk) // k)  # images per analysis
    parts = []
    for s in range(0, len(x), per):
        xs = x[s:s + per]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"relevance: .* gave a constant map", category=RuntimeWarning)
            rel = relevance(bundle_or_path, np.concatenate([xs] * k), method=method,
                            target=np.repeat(np.arange(k), len(xs)), batch_size=batch_size, seed=seed)
        parts.append(rel.maps.reshape(k, len(xs), *rel.maps.shape[1:]))
    return np.concatenate(parts, axis=1)


@dataclass
class LayerRelevance:
    """Relevance at the input and at every layer's output of the prepared model, for one method.

    layers: names, forward order: "input", then the layers of `prepare.prepare_model`'s
            model without its "rbdm<i>_" prefix (BatchNorm folded, SeparableConv2D split, softmax gone)
    kinds:  the layer classes ("Input" first)
    rules:  the reverse mapping the analyzer applied to each layer ("" for the input), by the name
            it was registered under; `methods.RULE_DESCRIPTIONS` says what each does
    sums:   (L, N) float64, relevance summed over each layer's output. Deep Taylor conserves: in
            a chain of layers every row is max(logit, 0), less what units without any positive
            input contribution drop; in a network with branches (residual Add, Concatenate) the
            relevance of a block splits among its branches, so a layer inside one holds its share
    arrays: per layer, (N, h, w) float32 for image-shaped outputs (channels summed), else the
            relevance per unit, e.g. (N, units)
    on_every_path: (L,) bool, True where every path from the input to the logits passes through
            the layer's output (a chain's layers, a residual block's input and sum): these rows
            carry the whole relevance, the others a branch's share
    targets, logits: as in `Relevance`
    """

    method: str
    layers: list[str]
    kinds: list[str]
    rules: list[str]
    sums: np.ndarray
    arrays: list[np.ndarray]
    on_every_path: np.ndarray
    targets: np.ndarray
    logits: np.ndarray


def _on_every_path(model, names: list[str]) -> np.ndarray:
    """(len(names),) bool: is the output of layer `name` ("input": the model input) on every path
    from the model's input to its output? (Removing it disconnects the two.)"""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    parents: dict[str, list[str]] = {}
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        inbound = layer._inbound_nodes[0].inbound_layers
        inbound = inbound if isinstance(inbound, (list, tuple)) else [inbound]
        parents[layer.name] = [p.name for p in inbound]
    first = model.layers[0].name  # the InputLayer
    out = model.layers[-1].name

    def reaches_input(removed: str) -> bool:
        seen, stack = set(), [out]
        while stack:
            n = stack.pop()
            if n == removed or n in seen:
                continue
            if n == first:
                return True
            seen.add(n)
            stack.extend(parents.get(n, []))
        return False

    return np.array([True if n == "input" else not reaches_input(n) for n in names], bool)


@timing.timed("relevance maps")
def layer_relevance(bundle_or_path, images: np.ndarray, method: str = "deep_taylor", target="predicted",
                    batch_size: int = 32) -> LayerRelevance:
    """Relevance of `images` (N, H, W, C) uint8 at every layer (the paper's Figure 4, computed).

    method: one of the LRP methods run by the worker (`WORKER_METHODS`); the gradient methods have
    no layer-wise relevance. Arguments otherwise as in `relevance`; runs in the worker process.
    """
    if method not in WORKER_METHODS:
        raise ValueError(f"layer_relevance: method must be one of {', '.join(WORKER_METHODS)} (layer-wise "
                         f"relevance exists for the LRP rules only), got {method!r}")
    prepared, job, t, logit = _prepared(bundle_or_path, images, target, batch_size, "layer_relevance")
    _, kept = worker.run(prepared, job, t, [method], batch_size, layers=[method])
    d = kept[method]
    kinds = {layer.name: type(layer).__name__ for layer in prepared.layers}
    names = [n if n == "input" else n.split("_", 1)[1] for n in d["names"]]
    return LayerRelevance(method=method, layers=names, kinds=["Input" if n == "input" else kinds[n] for n in d["names"]],
                          rules=list(d["rules"]),
                          sums=np.asarray(d["sums"], np.float64), arrays=list(d["arrays"]),
                          on_every_path=_on_every_path(prepared, d["names"]),
                          targets=t, logits=logit)


def _finish(raw: np.ndarray, t, logit, method) -> Relevance:
    maps = raw.sum(axis=-1, dtype=np.float64).astype(np.float32)  # (N, h, w): channels summed
    finite = np.isfinite(maps.reshape(len(maps), -1)).all(1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"relevance: {method} gave NaN or infinite relevance for image {int(bad[0])}"
                         f" ({len(bad)} images in all: {bad[:10].tolist()})")
    flat = maps.reshape(len(maps), -1)
    constant = flat.max(1) == flat.min(1)
    if constant.any():
        idx = np.flatnonzero(constant)
        warnings.warn(f"relevance: {method} gave a constant map for {len(idx)} image(s) {idx[:10].tolist()} "
                      f"(e.g. deep Taylor of a negative logit); they carry no ranking", RuntimeWarning,
                      stacklevel=3)
    sums = flat.sum(1, dtype=np.float64).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        cons = np.where(logit != 0, sums / np.where(logit != 0, logit, 1), np.nan).astype(np.float32)
    return Relevance(maps=maps, targets=np.asarray(t, np.int64), logits=np.asarray(logit, np.float32),
                     sums=sums, method=method, conservation=cons, constant=constant)


def to_image_size(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample (N, h, w) maps to (N, H, W) by area: each source pixel's value is shared among the
    target pixels it overlaps, in proportion to the overlap, so each map's sum is unchanged
    (the mean per pixel scales by h*w / (H*W)). Returns float32 (computed in float64)."""
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"to_image_size: maps must be (N, h, w), got shape {maps.shape}")
    if len(size) != 2 or min(int(size[0]), int(size[1])) < 1:
        raise ValueError(f"to_image_size: size must be (H, W) with positive ints, got {size!r}")
    H, W = int(size[0]), int(size[1])
    ar = _overlap(maps.shape[1], H)  # (H, h)
    ac = _overlap(maps.shape[2], W)  # (W, w)
    out = np.einsum("Ih,nhw,Jw->nIJ", ar, maps.astype(np.float64), ac, optimize=True)
    return out.astype(np.float32)


def _overlap(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): fraction of source cell i that falls in target cell I (columns sum to 1)."""
    edges_out = np.arange(n_out + 1) * (n_in / n_out)  # target cell edges, in source units
    lo = np.maximum(edges_out[:-1, None], np.arange(n_in)[None, :])
    hi = np.minimum(edges_out[1:, None], np.arange(n_in)[None, :] + 1)
    return np.clip(hi - lo, 0, None)
