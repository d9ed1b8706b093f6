"""Relevance maps of a Keras classifier's pre-softmax logit, per input pixel.

    rel = relevance(bundle, images, method="deep_taylor")      # images (N, H, W, C) uint8
    rel.maps                                                   # (N, h, w) float32, model input size
    layers = layer_relevance(bundle, images)                   # relevance at every layer (LRP rules)

Methods (`METHODS`):
- `deep_taylor` (default, the paper's), `lrp_epsilon`, `lrp_alpha_beta`: iNNvestigate 2.1.2 with
  the rules described in `rbdm_core.saliency_worker`, run in graph mode in a worker process
  (iNNvestigate needs eager execution off, which would break eager training in this process);
  `in_process=True` runs them here instead, for callers that already called
  `tf.compat.v1.disable_eager_execution()`.
- `gradient`, `integrated_gradients`, `smoothgrad`: computed here with TensorFlow directly
  (`tf.GradientTape` in eager mode, `tf.gradients` in graph mode). iNNvestigate's
  IntegratedGradients and SmoothGrad fail on this stack (TypeError on a resource dtype), so they
  are replaced, not wrapped. Integrated gradients: (x - x0) times the mean gradient at
  `IG_STEPS` midpoints of the straight path from the baseline x0 (the preprocessed black image);
  SmoothGrad: the mean gradient over `SMOOTHGRAD_SAMPLES` copies of x with Gaussian noise of
  standard deviation `SMOOTHGRAD_NOISE` times the input range, drawn from `seed`.

Every method explains one class per image (`target`) before the softmax: the model is first
passed through `saliency_prepare.prepare_model` (softmax stripped, BatchNorm folded). Maps are
the per-value relevance summed over the input channels (so a gray model and a colour model give
maps of the same kind, and sums are kept). For the conserving rules the map's sum approximates
the explained logit; deep Taylor explains max(logit, 0) and gives an all-zero map for a negative
logit; relevance given to biases is not passed on (see `Relevance.conservation`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rbdm_core.progress import disabled

METHODS = ("deep_taylor", "lrp_epsilon", "lrp_alpha_beta", "gradient", "integrated_gradients", "smoothgrad")
WORKER_METHODS = ("deep_taylor", "lrp_epsilon", "lrp_alpha_beta")
IG_STEPS = 32
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15


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


# --------------------------------------------------------------------------- inputs

@dataclass
class _Job:
    model: Any  # the original keras.Model
    x: np.ndarray  # (N, h, w, c) float32, preprocessed
    bounds: tuple[float, float]  # input value range, for the z^B rule
    baseline: np.ndarray  # (h, w, c) float32, integrated-gradients baseline


def _load(bundle_or_path):
    """(keras model, preprocess or None) from a ModelBundle, a bare keras.Model, or a name/path."""
    import tensorflow as tf

    if isinstance(bundle_or_path, tf.keras.Model):
        return bundle_or_path, None
    if isinstance(bundle_or_path, (str, os.PathLike)):
        from rbdm_core.models import load_bundle

        bundle_or_path = load_bundle(bundle_or_path)
    if hasattr(bundle_or_path, "model") and hasattr(bundle_or_path, "preprocess"):
        return bundle_or_path.model, bundle_or_path.preprocess
    raise ValueError(f"relevance: bundle_or_path must be a ModelBundle, a keras.Model or a model name/path, "
                     f"got {type(bundle_or_path).__name__}")


def _preprocess_bounds(preprocess) -> tuple[float, float] | None:
    scale, offset = getattr(preprocess, "scale", None), getattr(preprocess, "offset", None)
    if scale is None or offset is None:
        return None
    a, b = float(offset), float(255 * scale + offset)
    return (min(a, b), max(a, b))


def _inputs(model, preprocess, images) -> _Job:
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise ValueError(f"relevance: images must be a (N, H, W, C) array, got "
                         f"{getattr(images, 'shape', type(images).__name__)}")
    if len(images) == 0:
        raise ValueError("relevance: images is empty (N = 0)")
    want = tuple(model.inputs[0].shape[1:])
    if preprocess is not None:
        if images.dtype != np.uint8:
            raise ValueError(f"relevance: images must be uint8 (N, H, W, C), got dtype {images.dtype}")
        x = np.asarray(preprocess(images), dtype=np.float32)
        bounds = _preprocess_bounds(preprocess)
        baseline = np.asarray(preprocess(np.zeros((1,) + images.shape[1:], np.uint8)), np.float32)[0]
    else:  # bare keras.Model: identity preprocess, images already at the model's input shape
        if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"relevance: images must be uint8 or float, got dtype {images.dtype}")
        x = images.astype(np.float32)
        bounds = (0.0, 255.0) if images.dtype == np.uint8 else None
        baseline = None
    if tuple(x.shape[1:]) != want:
        raise ValueError(f"relevance: images have shape {tuple(images.shape[1:])} per image "
                         f"(after preprocessing {tuple(x.shape[1:])}); the model expects {want}")
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(1))[0])
        raise ValueError(f"relevance: image {bad} has NaN or infinite values")
    if bounds is None:
        bounds = (float(x.min()), float(x.max()))
        if bounds[0] == bounds[1]:
            bounds = (bounds[0] - 1.0, bounds[1] + 1.0)
    if baseline is None:
        baseline = np.full(x.shape[1:], bounds[0], np.float32)
    return _Job(model, x, bounds, baseline)


def _targets(target, logits: np.ndarray) -> np.ndarray:
    n, k = logits.shape
    if isinstance(target, str):
        if target != "predicted":
            raise ValueError(f"relevance: target must be 'predicted', an int or (N,) ints, got {target!r}")
        return logits.argmax(1).astype(np.int64)
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n, t)
    if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"relevance: target must be 'predicted', an int or ({n},) ints, got shape {t.shape} "
                         f"dtype {t.dtype}")
    bad = np.flatnonzero((t < 0) | (t >= k))
    if len(bad):
        raise ValueError(f"relevance: target {int(t[bad[0]])} (image {int(bad[0])}) is out of range; "
                         f"the model has {k} classes (0..{k - 1})")
    return t.astype(np.int64)


# --------------------------------------------------------------------------- gradients

class _GradFn:
    """d logit[target] / d input for batches, in eager (GradientTape) or graph (tf.gradients) mode."""

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        if tf.executing_eagerly():
            @tf.function(reduce_retracing=True)
            def f(x, t):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = tf.gather(model(x, training=False), t, batch_dims=1)
                return tape.gradient(y, x)

            self._f = lambda x, t: f(tf.constant(x), tf.constant(t)).numpy()
        else:
            import tensorflow.keras.backend as K

            t_in = tf.compat.v1.placeholder(tf.int64, (None,))
            y = tf.gather(model.output, t_in, batch_dims=1)
            g = tf.gradients(y, model.input)[0]
            fn = K.function([model.input, t_in], [g])
            self._f = lambda x, t: fn([x, t])[0]

    def __call__(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.asarray(self._f(x.astype(np.float32), t.astype(np.int64)), np.float32)


def _batched(fn, x, t, batch_size, desc):
    """Concatenate fn(x[s:e], t[s:e], s) over batches, with a progress bar."""
    from tqdm import tqdm

    out = [fn(x[s:s + batch_size], t[s:s + batch_size], s)
           for s in tqdm(range(0, len(x), batch_size), desc=desc, file=sys.stderr, leave=False,
                         disable=disabled(len(x) <= batch_size))]
    return np.concatenate(out)


def _gradient_methods(method, prepared, job: _Job, t, batch_size, seed) -> np.ndarray:
    grad = _GradFn(prepared)
    x = job.x
    if method == "gradient":
        return _batched(lambda xb, tb, _s: grad(xb, tb), x, t, batch_size, "relevance gradient")
    if method == "integrated_gradients":
        alphas = (np.arange(IG_STEPS) + 0.5) / IG_STEPS
        x0 = job.baseline[None]

        def ig(xb, tb, _s):
            acc = np.zeros_like(xb)
            for a in alphas:
                acc += grad(x0 + a * (xb - x0), tb)
            return (xb - x0) * acc / IG_STEPS

        return _batched(ig, x, t, batch_size, "relevance integrated_gradients")
    if method == "smoothgrad":
        sigma = np.float32(SMOOTHGRAD_NOISE * (job.bounds[1] - job.bounds[0]))

        def sg(xb, tb, s):
            # noise per image from (seed, image index): independent of the batch size
            noise = np.stack([np.random.default_rng([seed, s + i]).standard_normal(
                (SMOOTHGRAD_SAMPLES,) + xb.shape[1:], dtype=np.float32) for i in range(len(xb))], axis=1)
            acc = np.zeros_like(xb)
            for e in noise:
                acc += grad(xb + sigma * e, tb)
            return acc / SMOOTHGRAD_SAMPLES

        return _batched(sg, x, t, batch_size, "relevance smoothgrad")
    raise AssertionError(method)


# --------------------------------------------------------------------------- worker

def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _run_worker(prepared, job: _Job, t, methods, batch_size, layers: Sequence[str] = ()):
    """Save the prepared model and inputs, run `rbdm_core.saliency_worker` in a subprocess, read maps.

    Returns ({method: (N, h, w, c) float32}, {method in `layers`: per-layer dict as
    `saliency_worker.analyze_arrays` returns it})."""
    with tempfile.TemporaryDirectory(prefix="rbdm-saliency-") as tmp:
        tmp = Path(tmp)
        import tensorflow as tf

        logger, level = tf.get_logger(), tf.get_logger().level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logger.setLevel("ERROR")  # Keras logs "compiled metrics not built" for every uncompiled model
            try:
                prepared.save(tmp / "model.h5")
            finally:
                logger.setLevel(level)
        np.save(tmp / "inputs.npy", job.x)
        np.save(tmp / "targets.npy", t)
        spec = {"model": str(tmp / "model.h5"), "inputs": str(tmp / "inputs.npy"),
                "targets": str(tmp / "targets.npy"), "out_dir": str(tmp / "out"), "methods": list(methods),
                "bounds": list(job.bounds), "batch_size": int(batch_size), "layers": list(layers),
                # the worker's bar goes to this process's file descriptor 2: only to a terminal (in a
                # notebook kernel it would land on the terminal that started the kernel)
                "progress": _stderr_is_terminal() and not disabled(len(job.x) <= batch_size)}
        (tmp / "job.json").write_text(json.dumps(spec))
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("PYTHONWARNINGS", "ignore")
        proc = subprocess.run([sys.executable, "-m", "rbdm_core.saliency_worker", str(tmp / "job.json")],
                              env=env, stdout=subprocess.DEVNULL)
        err = tmp / "out" / "error.txt"
        if proc.returncode != 0 or err.exists():
            msg = err.read_text() if err.exists() else f"exit status {proc.returncode}"
            raise RuntimeError(f"relevance: the analysis worker failed for methods {list(methods)}: {msg}")
        maps = {m: np.load(tmp / "out" / f"{m}.npy") for m in methods}
        kept = {}
        for m in layers:
            with np.load(tmp / "out" / f"{m}.layers.npz") as z:
                names = [str(v) for v in z["names"]]
                kept[m] = {"names": names, "sums": z["sums"], "arrays": [z[f"layer{i}"] for i in range(len(names))]}
        return maps, kept


# --------------------------------------------------------------------------- public

def _prepared(bundle_or_path, images, target, batch_size, caller: str):
    """(prepared model, job, targets (N,) int64, explained logits (N,) float32), input checked."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{caller}: batch_size must be a positive int, got {batch_size!r}")
    from rbdm_core.saliency_prepare import prepare_model

    model, preprocess = _load(bundle_or_path)
    job = _inputs(model, preprocess, images)
    prepared = prepare_model(model)
    logits_all = np.asarray(prepared.predict(job.x, batch_size=batch_size, verbose=0), np.float32)
    t = _targets(target, logits_all)
    return prepared, job, t, logits_all[np.arange(len(t)), t]


def relevance_many(bundle_or_path, images: np.ndarray, methods: Sequence[str] = ("deep_taylor",),
                   target="predicted", batch_size: int = 32, *, in_process: bool = False,
                   seed: int = 0) -> dict[str, Relevance]:
    """`relevance` for several methods at once (one worker process for all iNNvestigate methods)."""
    methods = list(methods)
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"relevance: unknown method {m!r}; expected one of {', '.join(METHODS)}")
    prepared, job, t, logit = _prepared(bundle_or_path, images, target, batch_size, "relevance")

    raw: dict[str, np.ndarray] = {}
    inn = [m for m in methods if m in WORKER_METHODS]
    if inn:
        if in_process:
            from rbdm_core.saliency_worker import analyze_arrays

            raw.update(analyze_arrays(prepared, job.x, t, inn, job.bounds, batch_size, progress=False)[0])
        else:
            raw.update(_run_worker(prepared, job, t, inn, batch_size)[0])
    for m in methods:
        if m not in raw:
            raw[m] = _gradient_methods(m, prepared, job, t, batch_size, seed)
    return {m: _finish(raw[m], t, logit, m) for m in methods}


def relevance(bundle_or_path, images: np.ndarray, method: str = "deep_taylor", target="predicted",
              batch_size: int = 32, *, in_process: bool = False, seed: int = 0) -> Relevance:
    """Relevance maps of `images` (N, H, W, C) uint8 for the explained class `target`.

    bundle_or_path: `rbdm_core.models.ModelBundle`, a model name/path for `load_bundle`, or a bare
                    `keras.Model` (then images are used as they are: uint8 or float, at its input shape).
    method:         one of `METHODS`.
    target:         "predicted" (the arg-max logit), one class index for all, or (N,) indices.
    in_process:     run iNNvestigate here (eager execution must already be disabled).
    seed:           SmoothGrad's noise.
    Raises ValueError for bad input and for NaN/infinite maps (naming the image); constant maps are
    flagged in `Relevance.constant` with a warning.
    """
    return relevance_many(bundle_or_path, images, [method], target, batch_size, in_process=in_process,
                          seed=seed)[method]


@dataclass
class LayerRelevance:
    """Relevance at the input and at every layer's output of the prepared model, for one method.

    layers: names, forward order: "input", then the layers of `saliency_prepare.prepare_model`'s
            model without its "rbdm<i>_" prefix (BatchNorm folded, SeparableConv2D split, softmax gone)
    kinds:  the layer classes ("Input" first)
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
    sums: np.ndarray
    arrays: list[np.ndarray]
    on_every_path: np.ndarray
    targets: np.ndarray
    logits: np.ndarray


def _on_every_path(model, names: list[str]) -> np.ndarray:
    """(len(names),) bool: is the output of layer `name` ("input": the model input) on every path
    from the model's input to its output? (Removing it disconnects the two.)"""
    import tensorflow as tf

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
    _, kept = _run_worker(prepared, job, t, [method], batch_size, layers=[method])
    d = kept[method]
    kinds = {layer.name: type(layer).__name__ for layer in prepared.layers}
    names = [n if n == "input" else n.split("_", 1)[1] for n in d["names"]]
    return LayerRelevance(method=method, layers=names, kinds=["Input" if n == "input" else kinds[n] for n in d["names"]],
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
