"""Chapter 7's runs and tables: identical training runs against one with another seed
(`repeated_runs`, `run_table`, `identity_lines`), and one run per CPU kernel setting in fresh
processes (`kernel_runs`, `kernel_lines`, `portable_identical`). Figure:
`rbdm_core.viz.reproducibility.repro_curves_figure`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from rbdm_core import kernel_settings
from rbdm_core.curves import curve_difference
from rbdm_core.training import train


def repeated_runs(architecture: str, train_set, val_set, recipe, variant, masks, *, seed: int, other_seed: int,
                  n_runs: int = 3, input_size=None) -> tuple[list, Any]:
    """`n_runs` trainings (`training.train`, no output folder: no checkpoint, no cache) with `seed`
    and one with `other_seed`: (the n_runs results, the other seed's result)."""
    def run(s):
        return train(architecture, train_set, val_set, recipe, variant, masks, seed=s, out_dir=None, verbose=0,
                     input_size=input_size)

    runs = [run(seed) for _ in range(n_runs)]
    return runs, run(other_seed)


def run_table(runs: Sequence, other) -> pd.DataFrame:
    """One row per run ("run i", then "other seed"): seed, the first 16 hex digits of the final
    weights' SHA-256, best and final F1, and the largest difference of its curves from run 1's
    (`curves.curve_difference`)."""
    everything = [*runs, other]
    return pd.DataFrame({
        "run": [f"run {i + 1}" for i in range(len(runs))] + ["other seed"],
        "seed": [r.seed for r in everything],
        "weights SHA-256 (first 16)": [r.weights_sha256[:16] for r in everything],
        "best F1": [r.best_f1 for r in everything],
        "final F1": [r.final_f1 for r in everything],
        "max |curve - run 1|": [curve_difference(r.curves, runs[0].curves) for r in everything],
    })


def identity_lines(runs: Sequence, other) -> list[str]:
    """Two sentences: whether the runs with one seed have identical weights and curves, and
    whether the other seed's differ (with its largest curve difference from run 1)."""
    same_hash = len({r.weights_sha256 for r in runs}) == 1
    same_curves = all(curve_difference(r.curves, runs[0].curves) == 0.0 for r in runs)
    differs = other.weights_sha256 != runs[0].weights_sha256
    return [f"{len(runs)} runs with seed {runs[0].seed}: identical weights {same_hash}, identical curves {same_curves}",
            f"run with seed {other.seed}: different weights {differs}, "
            f"max curve difference {curve_difference(other.curves, runs[0].curves):.4g}"]


def kernel_runs(profile: str = "quick", epochs: int = 2, seed: int = 0) -> list:
    """One `kernel_settings.train_under` run (fresh `rbdm train` process, no mask) per setting of
    `kernel_settings.SETTINGS`, then the default on one core, the portable kernels on all cores and
    on one core; each in a temporary folder that is removed afterwards."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        def measure(name, setting, cpus=None):
            return kernel_settings.train_under(name, setting, Path(tmp) / f"run{len(runs)}", profile=profile,
                                               epochs=epochs, seed=seed, cpus=cpus)
        for name, setting in kernel_settings.SETTINGS.items():
            runs.append(measure(name, setting))
        runs.append(measure("default", {}, cpus=1))
        runs.append(measure("portable", kernel_settings.PORTABLE_KERNELS))
        runs.append(measure("portable", kernel_settings.PORTABLE_KERNELS, cpus=1))
    return runs


def kernel_lines(spread: pd.DataFrame, n_settings: int = len(kernel_settings.SETTINGS)) -> list[str]:
    """Two sentences on `kernel_settings.spread(kernel_runs(...))`: how many native settings (its
    first n_settings + 1 rows) give other weights than the default and their F1 range, and the
    portable run's time (row -2) over the default's (row 0)."""
    native = spread.iloc[:n_settings + 1]
    t_native, t_portable = spread["seconds"].iloc[0], spread["seconds"].iloc[-2]
    return [f"native settings: {int((~native['identical weights']).sum())} of {len(native) - 1} give other weights "
            f"than the default; final F1 from {native['final F1'].min():.4f} to {native['final F1'].max():.4f}, "
            f"largest F1 curve difference {native['max |F1 curve diff|'].max():.4f}",
            f"speed: the portable run took {t_portable / t_native:.2f}x the time of the default run on this machine"]


def portable_identical(runs: Sequence) -> bool:
    """Whether the portable kernels' runs on all cores and on one core have the same weights."""
    by = {(r.name, r.cpus): r for r in runs}
    return by[("portable", None)].weights_sha256 == by[("portable", 1)].weights_sha256
