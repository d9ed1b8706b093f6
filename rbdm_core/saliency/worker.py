"""The graph-mode relevance worker: `python -m rbdm_core.saliency.worker JOB.json`.

iNNvestigate 2.1.2 needs `tf.compat.v1.disable_eager_execution()`, which cannot be undone and
would break eager training in the calling process, so `run` starts this module as a subprocess.

Job (JSON): "model" (.h5 of a `prepare.prepare_model` model), "inputs" ((N, h, w, c) float32
.npy, preprocessed), "targets" ((N,) int64 .npy), "out_dir", "methods" (names in
`methods.ANALYZER_METHODS`), "bounds" ([low, high] of the input), "batch_size"; optional
"layers" (methods whose per-layer relevance is kept), "progress", "fast_build", "threads".
Output in out_dir, written atomically: `<method>.npy` ((N, h, w, c) float32, relevance per input
value), `<method>.layers.npz` for "layers" (`names`, `sums` (L, N) float64, `layer<i>`, `rules`),
`timings.json` (seconds, see `analyze_arrays`) or, on failure, `error.txt`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from rbdm_core.artifacts import atomic_path, atomic_save_npz, atomic_write_text
from rbdm_core.faults import fault_point
from rbdm_core.progress import disabled
from rbdm_core.saliency.methods import ANALYZER_METHODS, REGISTRY

MODULE = "rbdm_core.saliency.worker"  # python -m MODULE JOB.json


def build_analyzer(model, method: str, bounds: tuple[float, float], keep_layers: bool = False):
    """iNNvestigate analyzer for `method` (its registry builder) on a prepared graph-mode model;
    `keep_layers`: also keep the relevance at every layer's output (see `layer_arrays`)."""
    spec = REGISTRY.get(method) if isinstance(method, str) else None
    if spec is None or spec.analyzer_impl is None:
        raise ValueError(f"saliency worker: unknown method {method!r}; expected one of {ANALYZER_METHODS}")
    if keep_layers and not spec.layerwise:
        raise ValueError(f"saliency worker: per-layer relevance is kept for the LRP methods only, not {method!r}")
    return spec.analyzer()(model, bounds, keep_layers)


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
    channels summed for image tensors, (N, ...) as they are otherwise], "rules": [the name of the
    reverse mapping applied to each layer, "" for the input]}}).
    """
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    if tf.executing_eagerly():
        raise ValueError("saliency: in_process analysis needs eager execution disabled "
                         "(tf.compat.v1.disable_eager_execution()); use in_process=False")
    from tqdm import tqdm  # deferred: tqdm (about 0.1 s); saliency is imported by `rbdm --help` (explain's method list)

    from rbdm_core.saliency.analyzers import fast_graph_build  # deferred: saliency.analyzers imports TensorFlow and iNNvestigate at module level

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
        if getattr(analyzers[method], "macs_by_rule", None):  # deep_taylor's fast rules count them
            timings[method]["macs_by_rule"] = dict(analyzers[method].macs_by_rule)
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
        fault_point("relevance-batch")  # tests only: $RBDM_FAULT_AFTER (rbdm_core.faults)
    for method in methods:
        out[method] = np.concatenate(parts[method]) if parts[method] else np.zeros_like(x)
        bs = batch_s[method]
        timings[method].update({"first_batch_s": bs[0] if bs else 0.0, "analyze_s": float(sum(bs[1:])),
                                "batch_s": bs})
    layers = {}
    for method, batches in layer_parts.items():
        keys = [k for k in ["input"] + names if batches and all(k in b for b in batches)]  # forward order
        full = [np.concatenate([b[k] for b in batches]) for k in keys]
        rule_names = getattr(analyzers[method], "rule_names", {})
        layers[method] = {
            "names": keys,
            "sums": np.stack([a.reshape(len(a), -1).sum(1, dtype=np.float64) for a in full]),
            "arrays": [a.sum(-1) if a.ndim == 4 else a for a in full],
            "rules": [rule_names.get(k, "") for k in keys],
        }
    return out, timings, layers


# --------------------------------------------------------------------------- the calling process

def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def run(prepared, job, t, methods, batch_size, layers: Sequence[str] = ()):
    """Save the prepared model and `job.x`, run this module in a subprocess, read the maps back.

    job: `inputs.Job`; t: (N,) int64 targets. Returns ({method: (N, h, w, c) float32},
    {method in `layers`: per-layer dict as `analyze_arrays` returns it})."""
    with tempfile.TemporaryDirectory(prefix="rbdm-saliency-") as tmp:
        tmp = Path(tmp)
        import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

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
        root = str(Path(__file__).resolve().parents[2])  # the folder holding rbdm_core
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("PYTHONWARNINGS", "ignore")
        proc = subprocess.run([sys.executable, "-m", MODULE, str(tmp / "job.json")],
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
                kept[m] = {"names": names, "sums": z["sums"], "arrays": [z[f"layer{i}"] for i in range(len(names))],
                           "rules": [str(v) for v in z["rules"]]}
        return maps, kept


# --------------------------------------------------------------------------- the worker process

def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)


def run_job(job_path: str) -> int:
    """Run one job file (see the module doc); returns 0."""
    job = json.loads(Path(job_path).read_text())
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

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
        atomic_save_npz(out_dir / f"{method}.layers.npz", names=np.array(d["names"]), sums=d["sums"],
                        rules=np.array(d["rules"]),
                        **{f"layer{i}": a for i, a in enumerate(d["arrays"])})
    atomic_write_text(out_dir / "timings.json", json.dumps(timings))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python -m {MODULE} JOB.json", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return run_job(argv[0])
    except Exception as exc:  # report to the parent, which raises it with this message
        job = json.loads(Path(argv[0]).read_text())
        atomic_write_text(Path(job["out_dir"]) / "error.txt", f"{type(exc).__name__}: {exc}")
        raise


if __name__ == "__main__":
    sys.exit(main())
