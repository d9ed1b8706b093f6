"""Graph-mode relevance analysis with iNNvestigate 2.1.2, run in its own process.

iNNvestigate 2.1.2 needs `tf.compat.v1.disable_eager_execution()`, which cannot be undone and
breaks eager training in the same process. `rbdm_core.saliency` therefore runs this module as a
worker: `python -m rbdm_core.saliency_worker JOB.json`. The job names a prepared model file
(`saliency_prepare.prepare_model`), the preprocessed inputs `(N, h, w, c) float32` (.npy), the
target classes `(N,) int64` (.npy), the methods, the input bounds and the batch size. The worker
disables eager execution, loads the model, builds each analyzer ONCE, analyses all batches with
it and writes `<out_dir>/<method>.npy` ((N, h, w, c) float32, relevance per input value) atomically,
plus `timings.json` (seconds: build = first batch including the graph build, analyze = the rest).

Rules (all variants ignore biases, so that relevance is conserved layer by layer):
- `deep_taylor`: z+ rule on every kernel layer, z^B (bounded) rule on the first kernel layer with
  the input range [low, high], z rule on Add and average pooling (iNNvestigate's own
  `deep_taylor` sends the full relevance down *each* branch of an Add, which doubles it per
  residual block, and uses the w^2 rule on kernel layers without a fused ReLU); relevance passes
  through activation layers (ReLU, ReLU6) unchanged; the output relevance is max(logit, 0).
- `lrp_epsilon`: epsilon rule (epsilon 1e-3, bias ignored) everywhere.
- `lrp_alpha_beta`: alpha 2, beta 1 rule (bias ignored).
- `gradient`: iNNvestigate's Gradient (for checks; `rbdm_core.saliency` computes gradients in eager).

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

WORKER_METHODS = ("deep_taylor", "lrp_epsilon", "lrp_alpha_beta", "gradient")
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


def _classes():
    import tensorflow.keras.layers as klayers
    import innvestigate.analyzer as ia
    import innvestigate.analyzer.relevance_based.relevance_analyzer as ra
    import innvestigate.analyzer.relevance_based.relevance_rule as rr
    import innvestigate.backend.checks as ichecks

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

    class DeepTaylorZPlus(ia.BoundedDeepTaylor):
        """Deep Taylor: z^B on the first layer, z+ on the others, conserving Add/pooling rules."""

        def _create_analysis(self, *args, **kwargs):
            self._add_conditional_reverse_mapping(ichecks.contains_kernel, rr.Alpha1Beta0IgnoreBiasRule,
                                                  name="rbdm_zplus", priority=5)
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    class Epsilon(ia.LRPEpsilon):
        def _create_analysis(self, *args, **kwargs):
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    class AlphaBeta(ia.LRPAlpha2Beta1IgnoreBias):
        def _create_analysis(self, *args, **kwargs):
            add_common(self)
            return super()._create_analysis(*args, **kwargs)

    return DeepTaylorZPlus, Epsilon, AlphaBeta, ia.Gradient


def build_analyzer(model, method: str, bounds: tuple[float, float]):
    """iNNvestigate analyzer for `method` on a prepared graph-mode model (neuron selection by index)."""
    DeepTaylorZPlus, Epsilon, AlphaBeta, Gradient = _classes()
    if method == "deep_taylor":
        return DeepTaylorZPlus(model, low=float(bounds[0]), high=float(bounds[1]), neuron_selection_mode="index")
    if method == "lrp_epsilon":
        # disable_model_checks: iNNvestigate 2.1.2 raises NotImplementedError after its own
        # "LRP is only tested for convolutional neural networks" *warning* (DepthwiseConv2D)
        return Epsilon(model, epsilon=LRP_EPSILON, bias=True, neuron_selection_mode="index",
                       disable_model_checks=True)
    if method == "lrp_alpha_beta":
        return AlphaBeta(model, neuron_selection_mode="index", disable_model_checks=True)
    if method == "gradient":
        return Gradient(model, neuron_selection_mode="index")
    raise ValueError(f"saliency worker: unknown method {method!r}; expected one of {WORKER_METHODS}")


def analyze_arrays(model, x: np.ndarray, targets: np.ndarray, methods, bounds, batch_size: int = 32,
                   fast_build: bool = True, progress: bool = True) -> tuple[dict, dict]:
    """Relevance `(N, h, w, c) float32` per method, in graph mode (eager must be off).

    Returns ({method: relevance}, {method: {"build_s": first batch incl. build, "analyze_s": rest,
    "n": images}}).
    """
    import tensorflow as tf

    if tf.executing_eagerly():
        raise ValueError("saliency: in_process analysis needs eager execution disabled "
                         "(tf.compat.v1.disable_eager_execution()); use in_process=False")
    from tqdm import tqdm

    out, timings = {}, {}
    n = len(x)
    for method in methods:
        t0 = time.perf_counter()
        with fast_graph_build(fast_build):
            analyzer = build_analyzer(model, method, bounds)
            analyzer.create_analyzer_model()
        t_build = time.perf_counter() - t0
        parts = []
        t_first = None
        t1 = time.perf_counter()
        for s in tqdm(range(0, n, batch_size), desc=f"relevance {method}", disable=not progress,
                      file=sys.stderr, leave=False):
            parts.append(np.asarray(analyzer.analyze(x[s:s + batch_size], neuron_selection=targets[s:s + batch_size]),
                                    dtype=np.float32))
            if t_first is None:
                t_first = time.perf_counter() - t1
        total = time.perf_counter() - t1
        out[method] = np.concatenate(parts) if parts else np.zeros_like(x)
        timings[method] = {"build_s": t_build, "first_batch_s": t_first or 0.0,
                           "analyze_s": total - (t_first or 0.0), "n": int(n), "batch_size": int(batch_size)}
    return out, timings


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    from rbdm_core.artifacts import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)


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
    maps, timings = analyze_arrays(model, x, targets, job["methods"], tuple(job["bounds"]),
                                   int(job.get("batch_size", 32)), fast_build=job.get("fast_build", True),
                                   progress=job.get("progress", True))
    for method, arr in maps.items():
        _atomic_save_npy(out_dir / f"{method}.npy", arr)
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
