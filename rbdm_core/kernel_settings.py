"""CPU kernel settings: the portable configuration, and how far results move between settings.

Seeds and op determinism (`rbdm_core.determinism`) make a run repeat bit for bit on one machine.
They do not make two machines agree: oneDNN picks its kernels by the CPU's instruction set, and
TensorFlow splits sums by its thread-pool size, which defaults to the number of cores. Training
amplifies a last-bit difference into a different model within a few hundred steps (chapter 7
measures it). `PORTABLE_KERNELS` fixes all three choices:

- `ONEDNN_MAX_CPU_ISA=AVX2`: oneDNN uses its AVX2 kernels on every CPU that has AVX2 (x86-64
  processors since about 2013); without it an AVX-512 machine uses other kernels;
- `TF_NUM_INTRAOP_THREADS=2`, `TF_NUM_INTEROP_THREADS=2`: TensorFlow's pools have two threads on
  every machine (results depend on the configured count, not on the cores present);
- `NPY_DISABLE_CPU_FEATURES=<AVX-512 targets>`: numpy's AVX-512 code paths are off, so numpy takes
  the AVX2 paths that every such CPU has.

These are read when TensorFlow or numpy start, so they belong in the environment of a new process:
`rbdm run` / `rbdm book` put them into the notebook kernel's environment (`--kernels portable`,
the default for the quick profile), `scripts/test.sh` exports them for nbval, and
`environment(mode)` gives them to any other subprocess. What this was measured to achieve, and
what it cannot promise, is in docs/determinism.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core import timing
#: numpy 1.26's dispatch targets above AVX2 (the names its NPY_DISABLE_CPU_FEATURES accepts)
NUMPY_AVX512_TARGETS = "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"

PORTABLE_KERNELS: dict[str, str] = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "TF_NUM_INTRAOP_THREADS": "2",
    "TF_NUM_INTEROP_THREADS": "2",
    "NPY_DISABLE_CPU_FEATURES": NUMPY_AVX512_TARGETS,
}
#: every variable a kernel setting may set (removed from a child's environment before a setting
#: is applied, so that "default" means the machine's own choice)
KERNEL_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS", "NPY_DISABLE_CPU_FEATURES")
KERNEL_MODES = ("portable", "native")

#: settings that change TensorFlow's CPU kernels on one machine, as another CPU would
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "oneDNN ISA capped at AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN off, ISA capped at AVX2": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "one thread": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
}


def environment(mode: str) -> dict[str, str]:
    """The variables a new process needs for `mode`: "portable" -> PORTABLE_KERNELS, "native" -> {}
    (the machine's own choice; variables already in the environment are left as they are)."""
    if mode not in KERNEL_MODES:
        raise ValueError(f"kernels {mode!r}: expected one of {', '.join(KERNEL_MODES)}")
    return dict(PORTABLE_KERNELS) if mode == "portable" else {}


@contextmanager
def temporary_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the duration of the block (for processes started in it),
    then restore what was there (variables that were unset are removed again)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def child_environment(setting: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) without any kernel variable, plus `setting`."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in KERNEL_VARIABLES}
    env.update(setting)
    return env


@dataclass
class SettingRun:
    """One training run in a fresh process under one kernel setting."""

    name: str
    env: dict[str, str]
    cpus: int | None
    weights_sha256: str
    weights: np.ndarray = field(repr=False)  # all weights, flattened, float64
    curves: pd.DataFrame = field(repr=False)  # rbdm train's curves.csv
    final_f1: float = float("nan")
    seconds: float = float("nan")


@timing.timed("kernel-setting runs (fresh processes)")
def train_under(name: str, setting: Mapping[str, str], out_dir: str | os.PathLike, *, profile: str = "quick",
                variant: str = "no-mask", epochs: int = 2, seed: int = 0, cpus: int | None = None,
                n: int | None = None, timeout: float = 900) -> SettingRun:
    """Train the profile's Trainee once with `rbdm train` in a new process whose environment has
    `setting` (and no other kernel variable); `cpus`: restrict it to that many cores (Linux);
    `n`: images of the synthetic target corpus (default: the profile's).
    Raises RuntimeError with the process's output when it fails."""
    if cpus is not None and not (hasattr(os, "sched_setaffinity") and 1 <= cpus <= len(os.sched_getaffinity(0))):
        raise ValueError(f"cpus={cpus}: expected 1..{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 1}")
    out = Path(out_dir)
    cmd = [sys.executable, "-m", "rbdm_core.cli", "train", "--profile", profile, "--variant", variant,
           "--epochs", str(int(epochs)), "--seeds", str(int(seed)), "--out", str(out), "--quiet"]
    if n is not None:
        cmd += ["--n", str(int(n))]
    allowed = sorted(os.sched_getaffinity(0))[:cpus] if cpus else None
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=child_environment(setting), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=(lambda: os.sched_setaffinity(0, allowed)) if allowed else None)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"rbdm train under {name!r} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    run = out / variant / f"seed-{seed}"
    result = json.loads((run / "result.json").read_text())
    with np.load(run / "checkpoint.npz") as z:
        weights = np.concatenate([z[k].astype(np.float64).ravel() for k in sorted(z.files) if k.startswith("w")])
    return SettingRun(name, dict(setting), cpus, result["weights_sha256"], weights,
                      pd.read_csv(run / "curves.csv"), float(result["final_f1"]), seconds)


def _validation(curves: pd.DataFrame, metric: str) -> np.ndarray:
    c = curves[(curves["split"] == "validation") & (curves["metric"] == metric)].sort_values("step")
    return c["value"].to_numpy(dtype=np.float64)


def spread(runs: Sequence[SettingRun], reference: int = 0) -> pd.DataFrame:
    """One row per run, compared with `runs[reference]`: bitwise identical weights, the largest
    weight difference relative to the largest weight, the largest difference of the validation F1
    and loss curves, final F1 and its difference, seconds."""
    ref = runs[reference]
    rows = []
    scale = float(np.max(np.abs(ref.weights))) or 1.0
    for r in runs:
        same_shape = r.weights.shape == ref.weights.shape
        rows.append({
            "setting": r.name,
            "cores": r.cpus if r.cpus else "all",
            "identical weights": r.weights_sha256 == ref.weights_sha256,
            "max |w - w_ref| / max |w_ref|": float(np.max(np.abs(r.weights - ref.weights))) / scale if same_shape else np.nan,
            "max |F1 curve diff|": float(np.max(np.abs(_validation(r.curves, "f1") - _validation(ref.curves, "f1")))),
            "max |loss curve diff|": float(np.max(np.abs(_validation(r.curves, "loss") - _validation(ref.curves, "loss")))),
            "final F1": r.final_f1,
            "final F1 - reference": r.final_f1 - ref.final_f1,
            "seconds": r.seconds,
        })
    return pd.DataFrame(rows)
