"""Training throughput: steps/s per architecture at its quick and paper input sizes (batch 32,
48x48 gray data, full recipe with augmentation), and the masked input pipeline's overhead over
the same training on unmasked in-memory images, measured side by side in one run."""

from __future__ import annotations

import time

import numpy as np

QUICK = {"small_cnn": None, "small_resnet": None, "mobilenet_v2_small": None, "mobilenet_v2": "min", "vgg_face": "min",
         "xception": "min", "inception_v3": "min"}
PAPER = {"small_cnn": None, "small_resnet": None, "mobilenet_v2_small": 96, "mobilenet_v2": "paper", "vgg_face": "paper",
         "xception": "paper", "inception_v3": "paper"}
SLOW_S = 60.0  # skip a configuration whose first (tracing) step alone takes longer


def _data(n=256, size=48, seed=0):
    from rbdm_core.data.dataset import Dataset

    r = np.random.default_rng(seed)
    return Dataset(r.integers(0, 256, (n, size, size, 1)).astype(np.uint8), np.arange(n) % 8)


def _stepper(arch, input_size, ds):
    """A function step(i, masks=None) running training step i of `arch` on `ds` (batch 32)."""
    from rbdm_core.train_loop import Loop
    from rbdm_core.training import Recipe, class_weights
    from rbdm_core.models import build_model
    import tensorflow as tf

    b = build_model(arch, 8, ds.shape, input_size=input_size)
    loop = Loop(b, Recipe(), class_weights(ds.labels, 8), tf.distribute.get_strategy())
    order = np.random.default_rng(0).permutation(len(ds))

    def step(i, masks=None):
        idx = order[(i * 32) % (len(ds) - 32):][:32]
        x = ds.images[idx]
        if masks is not None:  # exactly what training.train does in a masked epoch
            x = x * masks[idx][..., None]
        return float(loop.train_step(x, ds.labels[idx], np.array([0, i], np.int64)))

    return step, b.preprocess.size


def _steps_per_s(arch, input_size, ds, steps=8):
    """Time `steps` training steps after one warm-up (tracing) step."""
    step, size = _stepper(arch, input_size, ds)

    t0 = time.perf_counter()
    step(0)
    first = time.perf_counter() - t0
    if first > SLOW_S:
        return None, first, size
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
    return steps / (time.perf_counter() - t0), first, size


def main() -> None:
    from rbdm_core.determinism import seed_everything

    seed_everything(0)
    ds = _data()
    print("architecture         profile  input      steps/s   (first step incl. tracing, s)")
    for arch in QUICK:
        for prof, sizes in (("quick", QUICK), ("paper", PAPER)):
            steps = 8 if prof == "quick" or arch in ("small_cnn", "small_resnet", "mobilenet_v2_small") else 1
            sps, first, size = _steps_per_s(arch, sizes[arch], ds, steps=steps)
            shown = f"{sps:8.2f}" if sps is not None else "  skipped (first step > 60 s)"
            print(f"{arch:20s} {prof:7s}  {size[0]}x{size[1]:<6d} {shown}   ({first:.1f})", flush=True)

    print("\nmasked vs unmasked input pipeline (one model, same images in memory, batch 32; blocks of "
          "20 steps alternating unmasked/masked, 4 rounds, median block time)")
    masks = np.random.default_rng(1).random(ds.images.shape[:3]) < 0.5
    for arch in ("small_cnn", "mobilenet_v2_small"):
        step, _ = _stepper(arch, None, ds)
        step(0), step(0, masks)  # trace both
        times = {"unmasked": [], "masked": []}
        i = 1
        for _ in range(4):
            for kind, m in (("unmasked", None), ("masked", masks)):
                t0 = time.perf_counter()
                for _ in range(20):
                    step(i, m)
                    i += 1
                times[kind].append(time.perf_counter() - t0)
        p, m = (20 / float(np.median(times[k])) for k in ("unmasked", "masked"))
        print(f"{arch:20s} unmasked {p:7.2f} steps/s  masked {m:7.2f} steps/s  "
              f"overhead {100 * (p / m - 1):+.1f}% (target <= 10%)", flush=True)
