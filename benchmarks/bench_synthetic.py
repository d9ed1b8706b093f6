"""Synthetic corpora: images per second of the face renderer (48x48 grayscale with masks, the
issue's target: 10,000 in under 10 s on 2 cores), the other domains' shapes, and the gaze simulator."""

import os
import time

import numpy as np


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    from rbdm_core.data import faces
    from rbdm_core.data.annotators import simulate_gaze
    from rbdm_core.data.synthetic import make_domain

    print(f"cpu cores visible: {os.cpu_count()}")
    n = 10_000
    labels = np.arange(n) % 8
    faces.render_faces(labels[:256], seed=0, size=48)  # warm-up
    results = {}
    for workers in (1, 2):
        dt, (im, reg) = _time(lambda: faces.render_faces(labels, seed=0, size=48, channels=1, workers=workers))
        results[workers] = dt
        print(f"render_faces 10,000 x 48x48x1 + masks, workers={workers}: {dt:.2f} s, {n / dt:,.0f} images/s "
              f"(target < 10 s: {'met' if dt < 10 else 'NOT met'})")
    print(f"speed-up with 2 threads: {results[1] / results[2]:.2f}x")
    # nuisance factors (rbdm_core.data.nuisance): the floor is 1,000 images/s at level 1
    rates = {}
    for level in (0.0, 1.0):
        dt, _ = _time(lambda: faces.render_faces(labels, seed=0, size=48, channels=1, workers=2,
                                                 nuisance_levels=level, cue=labels, cue_corner=3))
        rates[level] = n / dt
        print(f"render_faces 10,000 x 48x48x1, nuisance {level:.0f}, workers=2: {dt:.2f} s, {n / dt:,.0f} images/s"
              + ("" if level == 0 else f" (floor 1,000/s: {'met' if n / dt >= 1000 else 'NOT met'})"))
    print(f"nuisance 1 / nuisance 0 rendering rate: {rates[1.0] / rates[0.0]:.2f}")
    dt, ds = _time(lambda: make_domain("ferplus_like", n=n, seed=0))
    print(f"make_domain('ferplus_like', n=10,000): {dt:.2f} s, {n / dt:,.0f} images/s")
    for dom, m in (("affectnet_like", 1000), ("ckplus_like", 654)):
        dt, d = _time(lambda: make_domain(dom, n=m, seed=0))
        px = d.images.shape[1] * d.images.shape[2] * d.images.shape[3]
        print(f"make_domain({dom!r}, n={m}) {d.images.shape[1:]}: {dt:.2f} s, {m / dt:,.0f} images/s, "
              f"{m * px / dt / 1e6:.1f} Mpx/s (48x48x1 above: {n * 48 * 48 / results[1] / 1e6:.1f} Mpx/s)")
    ck = make_domain("ckplus_like", seed=0)
    dt, st = _time(lambda: simulate_gaze(ck, n_annotators=2, seed=0))
    trials = 2 * len(ck)
    print(f"simulate_gaze: {trials} trials, {len(st.samples):,} samples, {len(st.fixations):,} fixations in "
          f"{dt:.2f} s ({trials / dt:,.0f} trials/s)")
