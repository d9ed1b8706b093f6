"""rbdm_core.reproducibility (chapter 7's runs and tables) with stand-in runs, against computations by hand."""

from types import SimpleNamespace

import pandas as pd
import pytest

from rbdm_core import kernel_settings, reproducibility as rp


def _curves(values):
    return pd.DataFrame({"step": [1, 2], "split": ["validation"] * 2, "metric": ["f1"] * 2, "value": values})


def _run(seed, sha, values, best=0.5, final=0.4):
    return SimpleNamespace(seed=seed, weights_sha256=sha, curves=_curves(values), best_f1=best, final_f1=final)


def test_repeated_runs_seeds(monkeypatch):
    calls = []

    def fake_train(arch, tr, va, recipe, variant, masks, *, seed, out_dir, verbose, input_size):
        calls.append((arch, seed, out_dir, input_size))
        return seed

    monkeypatch.setattr(rp, "train", fake_train)
    runs, other = rp.repeated_runs("tiny_cnn", None, None, None, "no-mask", None, seed=0, other_seed=7, n_runs=3,
                                   input_size=48)
    assert runs == [0, 0, 0] and other == 7
    assert calls == [("tiny_cnn", 0, None, 48)] * 3 + [("tiny_cnn", 7, None, 48)]


def test_run_table_and_identity_lines():
    runs = [_run(0, "ab" * 32, [0.1, 0.2]), _run(0, "ab" * 32, [0.1, 0.2])]
    other = _run(1, "cd" * 32, [0.1, 0.5], best=0.6)
    t = rp.run_table(runs, other)
    assert list(t["run"]) == ["run 1", "run 2", "other seed"] and list(t["seed"]) == [0, 0, 1]
    assert t["weights SHA-256 (first 16)"][2] == "cd" * 8
    assert list(t["max |curve - run 1|"]) == pytest.approx([0.0, 0.0, 0.3])
    assert rp.identity_lines(runs, other) == [
        "2 runs with seed 0: identical weights True, identical curves True",
        "run with seed 1: different weights True, max curve difference 0.3"]
    runs[1] = _run(0, "ef" * 32, [0.1, 0.25])
    assert rp.identity_lines(runs, other)[0] == "2 runs with seed 0: identical weights False, identical curves False"


def test_kernel_runs_one_per_setting(monkeypatch):
    seen = []

    def fake(name, setting, out, *, profile, epochs, seed, cpus):
        seen.append((name, dict(setting), cpus, epochs))
        return SimpleNamespace(name=name, cpus=cpus, weights_sha256="x" if name == "portable" else name)

    monkeypatch.setattr(kernel_settings, "train_under", fake)
    runs = rp.kernel_runs("quick", epochs=1, seed=0)
    n = len(kernel_settings.SETTINGS)
    assert [s[0] for s in seen[:n]] == list(kernel_settings.SETTINGS)
    assert seen[n:] == [("default", {}, 1, 1), ("portable", kernel_settings.PORTABLE_KERNELS, None, 1),
                        ("portable", kernel_settings.PORTABLE_KERNELS, 1, 1)]
    assert rp.portable_identical(runs)
    runs[-1].weights_sha256 = "y"
    assert not rp.portable_identical(runs)


def test_kernel_lines():
    spread = pd.DataFrame({"identical weights": [True, False, True, False, True],
                           "final F1": [0.40, 0.42, 0.40, 0.39, 0.40],
                           "max |F1 curve diff|": [0.0, 0.03, 0.0, 0.05, 0.0],
                           "seconds": [10.0, 11.0, 12.0, 13.0, 9.0]})
    lines = rp.kernel_lines(spread.iloc[[0, 1, 2, 3, 4]], n_settings=2)
    # native rows: the first 3 (one mismatch among the 2 beside the default); portable: row -2 (13 s)
    assert lines == ["native settings: 1 of 2 give other weights than the default; final F1 from 0.4000 to 0.4200, "
                     "largest F1 curve difference 0.0300",
                     "speed: the portable run took 1.30x the time of the default run on this machine"]
