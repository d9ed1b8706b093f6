"""Relevance: analyzer build time and throughput per architecture, deep Taylor vs gradient.

Each architecture runs in one worker process (graph mode): the prepared model is analysed with
deep Taylor (the worker's fast z+/z^B rules), the same rules through iNNvestigate's generic
classes (`deep_taylor_generic`, the implementation before the fast rules: "before") and
iNNvestigate's gradient, each analyzer built once, on the same batches. "build" = analyzer
construction plus the first batch; throughput = batch size / median seconds per batch over the
later batches (the median resists other load on the machine). The ratios deep Taylor / gradient
throughput (before and after) are measured in the same process on the same batches.
"Build fix": the same on a small residual network (conv, BN, ReLU, Add; 36 layers) with Keras's
`_UNSAFE_GRAPH_OP_LAYER_CREATION` left off, against on.
"signed-input MACs": the share of the kernel layers' multiply-adds whose input can be negative,
where the z+ rule needs two forward and two backward products; "MAC-count ratio": the deep
Taylor / gradient ratio if time were proportional to multiply-adds (see `_expected_ratio`), the
ceiling the measured ratio sits near when convolutions dominate the time.
Set RBDM_BENCH_FULL=1 to add the full keras.applications networks at small input sizes.
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

import numpy as np

N_IMAGES = 160  # 10 batches: the median of 9 later batches per method
BATCH = 16


def _residual_net(blocks: int = 8):
    import tensorflow as tf

    L = tf.keras.layers
    inp = L.Input((32, 32, 3))
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, padding="same")(inp)))
    for _ in range(blocks):
        y = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, padding="same")(x)))
        y = L.BatchNormalization()(L.Conv2D(16, 3, padding="same")(y))
        x = L.ReLU()(L.Add()([x, y]))
    out = L.Dense(7, activation="softmax")(L.GlobalAveragePooling2D()(x))
    return tf.keras.Model(inp, out)


def _bundles(full: bool):
    from rbdm_core.models import build_model, load_bundle

    yield "fer2013-pretrained", load_bundle("fer2013-pretrained")
    yield "small_cnn 48x48x1", build_model("small_cnn", 7, (48, 48, 1))
    yield "small_resnet 48x48x1", build_model("small_resnet", 7, (48, 48, 1))
    yield "mobilenet_v2_small 96x96", build_model("mobilenet_v2_small", 7, (48, 48, 1))
    if full:
        for arch in ("mobilenet_v2", "vgg_face", "xception", "inception_v3"):
            yield f"{arch} (min size)", build_model(arch, 7, (48, 48, 1), input_size="min")


def _worker(prepared, x, methods, fast_build=True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared.save(tmp / "m.h5")
        np.save(tmp / "x.npy", x)
        np.save(tmp / "t.npy", np.zeros(len(x), np.int64))
        job = {"model": str(tmp / "m.h5"), "inputs": str(tmp / "x.npy"), "targets": str(tmp / "t.npy"),
               "out_dir": str(tmp / "out"), "methods": methods, "bounds": [float(x.min()), float(x.max())],
               "batch_size": BATCH, "fast_build": fast_build, "progress": False}
        (tmp / "job.json").write_text(json.dumps(job))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        subprocess.run([sys.executable, "-m", "rbdm_core.saliency.worker", str(tmp / "job.json")], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.loads((tmp / "out" / "timings.json").read_text())


def _throughput(d) -> float:
    """Images per second from the median time of the batches after the first."""
    later = d["batch_s"][1:]
    return d["batch_size"] / float(np.median(later)) if later else float("nan")


def _expected_ratio(macs: dict) -> tuple[float, float]:
    """(share of the kernel layers' multiply-adds whose input can be negative, the deep Taylor /
    gradient throughput ratio if time were proportional to multiply-adds). A gradient costs the
    forward pass M plus one backward product per layer (2M); deep Taylor costs the forward pass
    plus, per layer, one forward and one backward product (input >= 0), two of each (input of
    either sign) or one forward and two backward products (the first layer's z^B rule)."""
    nonneg, signed, first = (float(macs.get(k, 0)) for k in ("input >= 0", "either sign", "bounded"))
    total = nonneg + signed + first
    if total == 0:
        return float("nan"), float("nan")
    return signed / total, 2 * total / (total + 2 * nonneg + 4 * signed + 3 * first)


def _row(name, t):
    dt, gen, gr = t["deep_taylor"], t["deep_taylor_generic"], t["gradient"]
    build = lambda d: d["build_s"] + d["first_batch_s"]  # noqa: E731
    tp_dt, tp_gen, tp_gr = _throughput(dt), _throughput(gen), _throughput(gr)
    signed, expected = _expected_ratio(dt.get("macs_by_rule", {}))
    print(f"{name:28s} build dt {build(dt):5.1f} s (generic {build(gen):5.1f} s, grad {build(gr):5.1f} s) | "
          f"img/s dt {tp_dt:6.1f}  generic {tp_gen:6.1f}  grad {tp_gr:6.1f} | ratio dt/grad before "
          f"{tp_gen / tp_gr:4.2f} after {tp_dt / tp_gr:4.2f} | signed-input MACs {100 * signed:3.0f} %, "
          f"MAC-count ratio {expected:4.2f}", flush=True)


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rbdm_core.saliency.prepare import prepare_model

    print(f"{N_IMAGES} images, batch {BATCH}; build = analyzer construction + first batch; before = "
          f"deep_taylor_generic (iNNvestigate's rule classes), after = deep_taylor (fast rules)")
    rng = np.random.default_rng(0)
    for name, bundle in _bundles(os.environ.get("RBDM_BENCH_FULL") == "1"):
        t0 = time.perf_counter()
        prepared = prepare_model(bundle.model)
        t_prep = time.perf_counter() - t0
        h, w = bundle.preprocess.size
        x = bundle.preprocess(rng.integers(0, 256, (N_IMAGES, h, w, bundle.preprocess.channels), dtype=np.uint8))
        print(f"{name}: prepare_model {t_prep:.1f} s", flush=True)
        _row(name, _worker(prepared, x, ["deep_taylor", "deep_taylor_generic", "gradient"]))

    print("build fix on a small residual network (36 layers), deep Taylor + gradient:")
    prepared = prepare_model(_residual_net())
    x = rng.uniform(-1, 1, (N_IMAGES, 32, 32, 3)).astype(np.float32)
    before = _worker(prepared, x, ["deep_taylor", "gradient"], fast_build=False)
    after = _worker(prepared, x, ["deep_taylor", "gradient"], fast_build=True)
    for m in ("deep_taylor", "gradient"):
        b = before[m]["build_s"] + before[m]["first_batch_s"]
        a = after[m]["build_s"] + after[m]["first_batch_s"]
        print(f"  {m:12s} build before {b:6.1f} s  after {a:6.1f} s  speed-up {b / a:5.1f}x", flush=True)

    mixed_sizes()


def mixed_sizes(n: int = 24) -> None:
    """`rbdm explain`'s case: n images in n different sizes against n images of one size, deep
    Taylor on the pretrained FER2013 model, one `relevance` call each (the issue's bound: 2x)."""
    from rbdm_core.models import load_bundle
    from rbdm_core.saliency import relevance

    bundle = load_bundle("fer2013-pretrained")
    rng = np.random.default_rng(0)
    one = [rng.integers(0, 256, (64, 64, 1), dtype=np.uint8) for _ in range(n)]
    many = [rng.integers(0, 256, (40 + 3 * i, 90 - 2 * i, 1), dtype=np.uint8) for i in range(n)]
    times = {}
    for name, imgs in (("one size", one), (f"{n} sizes", many)):
        t0 = time.perf_counter()
        relevance(bundle, imgs, method="deep_taylor")
        times[name] = time.perf_counter() - t0
        print(f"explain-style deep Taylor, {n} images, {name}: {times[name]:.1f} s", flush=True)
    ratio = times[f"{n} sizes"] / times["one size"]
    print(f"many sizes / one size: {ratio:.2f} (bound 2: {'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
