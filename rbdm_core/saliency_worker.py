"""Graph-mode relevance analysis with iNNvestigate 2.1.2, run in its own process.

iNNvestigate 2.1.2 needs `tf.compat.v1.disable_eager_execution()`, which cannot be undone and
breaks eager training in the same process. `rbdm_core.saliency` therefore runs this module as a
worker: `python -m rbdm_core.saliency_worker JOB.json`. The job names a prepared model file
(`saliency_prepare.prepare_model`), the preprocessed inputs `(N, h, w, c) float32` (.npy), the
target classes `(N,) int64` (.npy), the methods, the input bounds and the batch size. The worker
disables eager execution, loads the model, builds each analyzer ONCE, analyses all batches with
it and writes `<out_dir>/<method>.npy` ((N, h, w, c) float32, relevance per input value) atomically,
plus `timings.json` (seconds: build_s, first_batch_s, analyze_s = the later batches, batch_s = per
batch; for deep_taylor also macs_by_rule, the kernel layers' multiply-adds per image by the z+
path they take ("input >= 0", "either sign") and "bounded"; all analyzers are built first and the
methods alternate within each batch, so their per-batch times see the same machine load).
With `"layers": [methods]` in the job, it also writes `<out_dir>/<method>.layers.npz`: `names`
("input", then the layers in forward order), `sums` ((L, N) float64, relevance summed over each
layer's output) and `layer<i>` (relevance at that output, channels summed for image tensors),
from iNNvestigate's `reverse_keep_tensors` (matched to the layers by tensor, see `KeepLayers`).

Rules (all variants ignore biases, so that relevance is conserved layer by layer):
- `deep_taylor`: z+ rule on every kernel layer, z^B (bounded) rule on the first kernel layer with
  the input range [low, high], z rule on Add and average pooling (iNNvestigate's own
  `deep_taylor` sends the full relevance down *each* branch of an Add, which doubles it per
  residual block, and uses the w^2 rule on kernel layers without a fused ReLU); relevance passes
  through activation layers (ReLU, ReLU6) unchanged; the output relevance is max(logit, 0).
- `lrp_epsilon`: epsilon rule (epsilon 1e-3) everywhere, biases included in the denominator: the
  relevance biases absorb is not passed on, so map sums fall below the logit where biases are large.
- `lrp_alpha_beta`: alpha 2, beta 1 rule (bias ignored).
- `gradient`: iNNvestigate's Gradient (for checks; `rbdm_core.saliency` computes gradients in eager).
- `deep_taylor_generic`: the deep Taylor rules above through iNNvestigate's generic rule classes
  (Alpha1Beta0IgnoreBiasRule, BoundedRule): the reference for tests and the benchmark's "before".

Deep Taylor speed: `deep_taylor` uses `_fast_rules` (same maps within float rounding): fixed W+/W-
copies, one forward and one backward product per layer whose input the graph shows to be >= 0
(`is_nonnegative`: ReLU/ReLU6 outputs and pooling, padding, reshapes, concatenations, sums of
them), and a z^B rule with two backward and one full-batch forward product instead of three each.
A layer whose input can be negative (a pointwise conv after the depthwise half of a split
SeparableConv2D, a conv after a linear residual Add) still needs both halves, W+ x+ + W- x-: two
forward and two backward products where a gradient needs one backward product, so on networks
where most kernel layers take such inputs (Xception, the fer model) deep Taylor runs at about
0.4-0.5 of a gradient's throughput on CPU (`python -m benchmarks saliency`). Two cheaper variants
were tried and rejected: z = (W x + |W| |x|) / 2 reuses the forward pass's W x but cancels
catastrophically (one fer-model map off by 28 %, its sum by 13 %), and deep Taylor's w^2 rule for
real-valued inputs on those layers (one backward product, throughput 0.6-0.9x) sends relevance to
units with no positive input, which the z+ layer below drops (1 % of the logit left on Xception).

Build speed: Keras's `_create_keras_history_helper` evaluates the constant inputs of raw
TensorFlow ops applied to symbolic Keras tensors through a session call; each call re-extends
the session with the whole graph built so far, so the build grows quadratically with depth. The
worker sets `keras.src.engine.base_layer_utils._UNSAFE_GRAPH_OP_LAYER_CREATION = True` while it
builds the analyzers (its downside, lost `get_config` of the analyzer model, does not matter
here, and no method run here draws random numbers), and restores it after.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from rbdm_core.progress import disabled

WORKER_METHODS = ("deep_taylor", "lrp_epsilon", "lrp_alpha_beta", "gradient", "deep_taylor_generic")
LRP_EPSILON = 1e-3


@contextlib.contextmanager
def fast_graph_build(enabled: bool = True):
    """Scope Keras's `_UNSAFE_GRAPH_OP_LAYER_CREATION` switch (see module doc) to a block."""
    from keras.src.engine import base_layer_utils as blu

    old = blu._UNSAFE_GRAPH_OP_LAYER_CREATION
    blu._UNSAFE_GRAPH_OP_LAYER_CREATION = bool(enabled)
    try:
        yield
    finally:
        blu._UNSAFE_GRAPH_OP_LAYER_CREATION = old



# --------------------------------------------------------------------------- fast deep Taylor rules

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
        import tensorflow as tf

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


def _kernel_weights(layer, values: dict) -> list:
    """The layer's weights without its bias, as numpy arrays (iNNvestigate's convention);
    `values` maps id(layer) to its get_weights(), read beforehand in one session call."""
    weights = values[id(layer)] if id(layer) in values else layer.get_weights()
    if getattr(layer, "use_bias", False):
        weights = weights[:-1]
    return weights


def model_weight_values(model) -> dict:
    """{id(layer): layer.get_weights()} for every layer of `model`, in one session call (a
    get_weights per layer during the analyzer build would each re-send the growing graph)."""
    import tensorflow as tf

    layers = [l for l in model.layers if l.weights]
    flat = tf.keras.backend.batch_get_value([w for l in layers for w in l.weights])
    out, i = {}, 0
    for l in layers:
        out[id(l)] = flat[i:i + len(l.weights)]
        i += len(l.weights)
    return out


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


def _fast_rules(values: dict | None = None, macs: dict | None = None):
    """(FastZPlusRule, FastBoundedRule): the z+ and z^B rules with one forward and one backward
    linear op per layer where the input is known to be >= 0.

    iNNvestigate's Alpha1Beta0IgnoreBiasRule computes z = W+ x+ + W- x- and its two backward
    passes for every layer, with W+/W- recomputed from the weight variables at every run, and its
    BoundedRule three forward and three backward passes. Here W+ and W- are fixed copies taken at
    build time; for an input known to be >= 0 (`is_nonnegative`) x- = 0, so z = W+ x and the
    relevance is x * (W+^T (R / z)); otherwise both halves are computed as before. In z^B,
    z = W x - W+ l - W- h with constant l, h is W x minus a constant map (computed on one image),
    and l * W+^T s + h * W-^T s = (l W+ + h W-)^T s is one backward op. Division: s = R / z is 0
    where z = 0 (`tf.math.divide_no_nan`, one op; iNNvestigate's `safe_divide` takes five and
    divides by 1e-7 there instead). Both give the same relevance: every term of z is >= 0 under
    these rules, so z = 0 means each input's share of that unit is 0 whatever s is.
    """
    import tensorflow as tf
    import innvestigate.backend.graph as igraph

    values = {} if values is None else values
    macs = {} if macs is None else macs  # filled: multiply-adds per image by the rule path taken

    def count(path, layer):
        macs[path] = macs.get(path, 0) + layer_macs(layer)

    def copy(layer, weights, tag):
        # graph constants: no session call to set them, fixed operands for the conv kernels
        return igraph.copy_layer_wo_activation(layer, keep_bias=False, weights=[tf.constant(w) for w in weights],
                                               name_template=f"rbdm_{tag}_%s")

    def backward(x, layer, s):
        """(W^T s) for the linear `layer`, as the gradient of layer(x) with respect to x."""
        z = layer(x)
        return tf.gradients(z, x, grad_ys=s)[0]

    class FastZPlusRule(igraph.ReverseMappingBase):
        def __init__(self, layer, _state):
            w = _kernel_weights(layer, values)
            self._pos = copy(layer, [a * (a > 0) for a in w], "pos")
            self._neg_weights = [a * (a < 0) for a in w]
            self._layer = layer
            self._neg = None

        def apply(self, Xs, _Ys, Rs, _reverse_state):
            x, r = Xs[0], Rs[0]
            count("input >= 0" if is_nonnegative(x) else "either sign", self._layer)
            if is_nonnegative(x):
                z = self._pos(x)
                s = tf.math.divide_no_nan(r, z)
                return [x * tf.gradients(z, x, grad_ys=s)[0]]
            if self._neg is None:
                self._neg = copy(self._layer, self._neg_weights, "neg")
            xp, xn = tf.nn.relu(x), tf.minimum(x, 0.0)
            zp, zn = self._pos(xp), self._neg(xn)
            s = tf.math.divide_no_nan(r, zp + zn)
            gp, gn = tf.gradients([zp, zn], [xp, xn], grad_ys=[s, s], stop_gradients=[xp, xn])
            return [xp * gp + xn * gn]

    class FastBoundedRule(igraph.ReverseMappingBase):
        def __init__(self, layer, _state, low=-1.0, high=1.0):
            w = _kernel_weights(layer, values)
            self._low, self._high = float(low), float(high)
            self._plain = copy(layer, w, "plain")
            self._layer = layer
            # l W+ + h W-: the bound term of z^B as one linear map of a constant image of ones
            self._bound = copy(layer, [self._low * (a * (a > 0)) + self._high * (a * (a < 0)) for a in w], "bound")

        def apply(self, Xs, _Ys, Rs, _reverse_state):
            x, r = Xs[0], Rs[0]
            count("bounded", self._layer)
            ones = tf.stop_gradient(tf.ones_like(x[:1]))
            z = self._plain(x) - self._bound(ones)  # (N, ...) - (1, ...): broadcast over the batch
            s = tf.math.divide_no_nan(r, z)
            ga = tf.gradients(z, x, grad_ys=s)[0]
            gb = backward(tf.zeros_like(x), self._bound, s)
            return [x * ga - gb]

    return FastZPlusRule, FastBoundedRule


def _classes(values: dict | None = None, macs: dict | None = None):
    import tensorflow.keras.layers as klayers
    import innvestigate.analyzer as ia
    import innvestigate.analyzer.relevance_based.relevance_analyzer as ra
    import innvestigate.analyzer.relevance_based.relevance_rule as rr
    import innvestigate.backend.checks as ichecks

    FastZPlusRule, FastBoundedRule = _fast_rules(values, macs)

    def passthrough(_Xs, _Ys, reversed_Ys, _state):
        return reversed_Ys

    def is_activation(layer):
        if isinstance(layer, klayers.ReLU):
            return True
        return isinstance(layer, klayers.Activation) and layer.get_config()["activation"] in ("relu", "linear")

    def add_common(analyzer):
        analyzer._add_conditional_reverse_mapping(is_activation, passthrough, name="rbdm_activation", priority=5)
        analyzer._add_conditional_reverse_mapping(ichecks.is_add_layer, ra.AddReverseLayer, name="rbdm_add", priority=5)
        analyzer._add_conditional_reverse_mapping(ichecks.is_average_pooling, ra.AveragePoolingReverseLayer,
                                                  name="rbdm_avg_pool", priority=5)

    class KeepLayers:
        """With `reverse_keep_tensors=True`, `_kept` after each `analyze` is a list of (id of the
        forward tensor, relevance array) pairs: iNNvestigate 2.1.2 labels its kept tensors with
        the node that first sent relevance to them (not the layer that made them) and sorts the
        pairs, which fails on the arrays when two labels tie."""

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
        """Deep Taylor: z^B on the first layer, z+ on the others, conserving Add/pooling rules."""

        def _create_analysis(self, *args, **kwargs):
            low, high = self._bounds_low, self._bounds_high

            class Bounded(FastBoundedRule):
                def __init__(self, layer, state):
                    super().__init__(layer, state, low=low, high=high)

            self._add_conditional_reverse_mapping(
                lambda l: ichecks.is_input_layer(l) and ichecks.contains_kernel(l), Bounded,
                name="rbdm_first_layer_bounded", priority=11)  # before iNNvestigate's own (10)
            self._add_conditional_reverse_mapping(ichecks.contains_kernel, FastZPlusRule,
                                                  name="rbdm_zplus", priority=5)
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    class SlowDeepTaylorZPlus(KeepLayers, ia.BoundedDeepTaylor):
        """The same rules through iNNvestigate's generic classes (reference for tests/benchmark)."""

        def _create_analysis(self, *args, **kwargs):
            self._add_conditional_reverse_mapping(ichecks.contains_kernel, rr.Alpha1Beta0IgnoreBiasRule,
                                                  name="rbdm_zplus", priority=5)
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    class Epsilon(KeepLayers, ia.LRPEpsilon):
        def _create_analysis(self, *args, **kwargs):
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    class AlphaBeta(KeepLayers, ia.LRPAlpha2Beta1IgnoreBias):
        def _create_analysis(self, *args, **kwargs):
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    return DeepTaylorZPlus, Epsilon, AlphaBeta, ia.Gradient, SlowDeepTaylorZPlus


def build_analyzer(model, method: str, bounds: tuple[float, float], keep_layers: bool = False):
    """iNNvestigate analyzer for `method` on a prepared graph-mode model (neuron selection by index);
    `keep_layers`: also return the relevance at every layer's output (see `layer_arrays`)."""
    macs: dict = {}  # deep_taylor: multiply-adds per image by rule path, filled when the analysis is built
    DeepTaylorZPlus, Epsilon, AlphaBeta, Gradient, SlowDeepTaylorZPlus = _classes(
        model_weight_values(model) if method == "deep_taylor" else None, macs)
    if keep_layers and method == "gradient":
        raise ValueError("saliency worker: per-layer relevance is kept for the LRP methods only, not 'gradient'")
    keep = {"reverse_keep_tensors": True} if keep_layers else {}
    if method == "deep_taylor":
        analyzer = DeepTaylorZPlus(model, low=float(bounds[0]), high=float(bounds[1]), neuron_selection_mode="index",
                                   **keep)
        analyzer._rbdm_macs = macs
        return analyzer
    if method == "deep_taylor_generic":
        return SlowDeepTaylorZPlus(model, low=float(bounds[0]), high=float(bounds[1]),
                                   neuron_selection_mode="index", **keep)
    if method == "lrp_epsilon":
        # disable_model_checks: iNNvestigate 2.1.2 raises NotImplementedError after its own
        # "LRP is only tested for convolutional neural networks" *warning* (DepthwiseConv2D)
        return Epsilon(model, epsilon=LRP_EPSILON, bias=True, neuron_selection_mode="index",
                       disable_model_checks=True, **keep)
    if method == "lrp_alpha_beta":
        return AlphaBeta(model, neuron_selection_mode="index", disable_model_checks=True, **keep)
    if method == "gradient":
        return Gradient(model, neuron_selection_mode="index", **keep)
    raise ValueError(f"saliency worker: unknown method {method!r}; expected one of {WORKER_METHODS}")


def layer_outputs(model) -> dict[int, str]:
    """{id(tensor): "input" or the name of the layer whose output it is} for `model`."""
    out = {id(model.inputs[0]): "input"}
    for layer in model.layers:
        if type(layer).__name__ != "InputLayer":
            out[id(layer.get_output_at(0))] = layer.name
    return out


def layer_arrays(model, producers: dict[int, str], kept, n: int) -> dict[str, np.ndarray]:
    """{"input" or layer name: relevance at that tensor (n, ...) float32} from an analyzer's
    `_kept` pairs; tensors that are not a layer output of `model` (iNNvestigate's neuron selection)
    are dropped, and so is an entry whose shape does not match the tensor's (never trusted blindly)."""
    out = {}
    for tensor_id, v in kept:
        name = producers.get(tensor_id)
        if name is None:
            continue
        v = np.asarray(v, np.float32)
        want = model.input_shape[1:] if name == "input" else model.get_layer(name).output_shape[1:]
        if v.shape == (n,) + tuple(want):
            out[name] = v
    return out


def analyze_arrays(model, x: np.ndarray, targets: np.ndarray, methods, bounds, batch_size: int = 32,
                   fast_build: bool = True, progress: bool = True,
                   keep_layers=()) -> tuple[dict, dict, dict]:
    """Relevance `(N, h, w, c) float32` per method, in graph mode (eager must be off).

    Returns ({method: relevance}, {method: {"build_s": analyzer construction, "first_batch_s": the
    first batch (graph set-up), "analyze_s": the other batches, "batch_s": [seconds per batch],
    "n": images, "batch_size"}}, {method in keep_layers: {"names": ["input", layer names in forward
    order], "sums": (L, N) float64 relevance summed over each tensor, "arrays": [(N, h, w) float32
    channels summed for image tensors, (N, ...) as they are otherwise]}}).
    """
    import tensorflow as tf

    if tf.executing_eagerly():
        raise ValueError("saliency: in_process analysis needs eager execution disabled "
                         "(tf.compat.v1.disable_eager_execution()); use in_process=False")
    from tqdm import tqdm

    keep_layers = list(keep_layers)
    for method in keep_layers:
        if method not in methods:
            raise ValueError(f"saliency: keep_layers names {method!r}, which is not among the methods {list(methods)}")
    out, timings = {}, {}
    n = len(x)
    analyzers = {}
    for method in methods:  # build every analyzer first, then analyse batch by batch
        t0 = time.perf_counter()
        with fast_graph_build(fast_build):
            analyzers[method] = build_analyzer(model, method, bounds, keep_layers=method in keep_layers)
            analyzers[method].create_analyzer_model()
        timings[method] = {"build_s": time.perf_counter() - t0, "n": int(n), "batch_size": int(batch_size)}
        if getattr(analyzers[method], "_rbdm_macs", None):
            timings[method]["macs_by_rule"] = dict(analyzers[method]._rbdm_macs)
    producers = layer_outputs(model) if keep_layers else {}
    names = [layer.name for layer in model.layers if layer.name in producers.values()]
    parts = {m: [] for m in methods}
    layer_parts = {m: [] for m in keep_layers}
    batch_s = {m: [] for m in methods}
    # methods alternate within each batch, so that their per-batch times see the same machine load
    for s in tqdm(range(0, n, batch_size), desc=f"relevance {'+'.join(methods)}", disable=disabled(not progress),
                  file=sys.stderr, leave=False):
        for method in methods:
            t1 = time.perf_counter()
            parts[method].append(np.asarray(
                analyzers[method].analyze(x[s:s + batch_size], neuron_selection=targets[s:s + batch_size]),
                dtype=np.float32))
            batch_s[method].append(time.perf_counter() - t1)
            if method in layer_parts:
                layer_parts[method].append(layer_arrays(model, producers, analyzers[method]._kept,
                                                        len(parts[method][-1])))
    for method in methods:
        out[method] = np.concatenate(parts[method]) if parts[method] else np.zeros_like(x)
        bs = batch_s[method]
        timings[method].update({"first_batch_s": bs[0] if bs else 0.0, "analyze_s": float(sum(bs[1:])),
                                "batch_s": bs})
    layers = {}
    for method, batches in layer_parts.items():
        keys = [k for k in ["input"] + names if batches and all(k in b for b in batches)]  # forward order
        full = [np.concatenate([b[k] for b in batches]) for k in keys]
        layers[method] = {
            "names": keys,
            "sums": np.stack([a.reshape(len(a), -1).sum(1, dtype=np.float64) for a in full]),
            "arrays": [a.sum(-1) if a.ndim == 4 else a for a in full],
        }
    return out, timings, layers


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    from rbdm_core.artifacts import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)


def _atomic_save_npz(path: Path, **arrays) -> None:
    from rbdm_core.artifacts import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def run_job(job_path: str) -> int:
    """Run one job file (see module doc); returns 0."""
    job = json.loads(Path(job_path).read_text())
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    threads = job.get("threads")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    model = tf.keras.models.load_model(job["model"], compile=False)
    x = np.load(job["inputs"])
    targets = np.load(job["targets"])
    out_dir = Path(job["out_dir"])
    maps, timings, layers = analyze_arrays(model, x, targets, job["methods"], tuple(job["bounds"]),
                                           int(job.get("batch_size", 32)), fast_build=job.get("fast_build", True),
                                           progress=job.get("progress", True), keep_layers=job.get("layers", ()))
    for method, arr in maps.items():
        _atomic_save_npy(out_dir / f"{method}.npy", arr)
    for method, d in layers.items():
        _atomic_save_npz(out_dir / f"{method}.layers.npz", names=np.array(d["names"]), sums=d["sums"],
                         **{f"layer{i}": a for i, a in enumerate(d["arrays"])})
    from rbdm_core.artifacts import atomic_write_text

    atomic_write_text(out_dir / "timings.json", json.dumps(timings))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m rbdm_core.saliency_worker JOB.json", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return run_job(argv[0])
    except Exception as exc:  # report to the parent, which raises it with this message
        from rbdm_core.artifacts import atomic_write_text

        job = json.loads(Path(argv[0]).read_text())
        atomic_write_text(Path(job["out_dir"]) / "error.txt", f"{type(exc).__name__}: {exc}")
        raise


if __name__ == "__main__":
    sys.exit(main())
