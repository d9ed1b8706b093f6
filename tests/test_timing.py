"""rbdm_core.timing (the book benchmark's activity records) and models.forward_flops."""

import json
import os
import subprocess
import sys
import time

import pytest

from rbdm_core import timing


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_nested_activities_charge_each_second_once(tmp_path, monkeypatch):
    log = tmp_path / "t.jsonl"
    monkeypatch.setenv(timing.ENV, str(log))
    monkeypatch.setenv(timing.LABEL_ENV, "06_trainee")
    t0 = time.perf_counter()
    with timing.activity("Trainee", flops=5):
        time.sleep(0.05)
        with timing.activity("steps"):
            time.sleep(0.1)
            timing.add_flops(7)
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    rec = {r["activity"]: r for r in _lines(log)}
    assert set(rec) == {"Trainee", "Trainee/steps"}
    assert rec["Trainee/steps"]["seconds"] >= 0.1 and rec["Trainee"]["seconds"] >= 0.07
    assert rec["Trainee"]["seconds"] < 0.1  # the nested block's 0.1 s is not counted again
    assert abs(rec["Trainee"]["seconds"] + rec["Trainee/steps"]["seconds"] - wall) < 0.03
    assert (rec["Trainee"]["flops"], rec["Trainee/steps"]["flops"]) == (5.0, 7.0)
    assert {r["label"] for r in rec.values()} == {"06_trainee"} and rec["Trainee"]["pid"] == os.getpid()


def test_off_without_the_variable_and_timed_keeps_the_function(monkeypatch):
    monkeypatch.delenv(timing.ENV, raising=False)

    def no_write(*args):
        raise AssertionError("timing wrote a record while off")

    monkeypatch.setattr(timing, "_write", no_write)

    @timing.timed("figures and tables")
    def f(x, y=1):
        """doc"""
        timing.add_flops(3)
        with timing.activity("inner"):
            return x + y

    assert (f(1, y=2), f.__name__, f.__doc__) == (3, "f", "doc")
    assert timing._stack == []  # nothing was opened


def test_a_fresh_process_records_its_start_up_and_tensorflow_import(tmp_path):
    log = tmp_path / "t.jsonl"
    code = "import rbdm_core, tensorflow; from rbdm_core import timing\nwith timing.activity('x'): import tensorflow"
    env = {**os.environ, timing.ENV: str(log), "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    rec = _lines(log)
    names = [r["activity"] for r in rec]
    assert names[0] == "start-up" and "TensorFlow import" in names and "x" in names
    tf_s = next(r["seconds"] for r in rec if r["activity"] == "TensorFlow import")
    assert tf_s > next(r["seconds"] for r in rec if r["activity"] == "x")  # the second import is a lookup


def test_benchmark_tally_counts_the_kernel_and_not_its_workers():
    from benchmarks.bench_book import category, tally

    lines = [
        {"label": "03", "pid": 10, "ppid": 1, "activity": "start-up", "seconds": 2.0, "flops": 0},
        {"label": "03", "pid": 10, "ppid": 1, "activity": "relevance maps", "seconds": 5.0, "flops": 0},
        {"label": "03", "pid": 11, "ppid": 10, "activity": "start-up", "seconds": 3.0, "flops": 0},  # its worker
        {"label": "03", "pid": 10, "ppid": 1, "activity": "Trainee/training/steps", "seconds": 4.0, "flops": 8e9},
        {"label": "03", "pid": 10, "ppid": 1, "activity": "Trainer/training/steps/evaluation", "seconds": 1.0,
         "flops": 1e9},
    ]
    seconds, flops = tally(lines, ["03"])
    assert seconds["03"]["start-up (kernel, TensorFlow import)"] == 2.0
    assert seconds["03"]["relevance maps"] == 5.0
    assert (seconds["03"]["Trainee training steps"], flops["03"]["Trainee training steps"]) == (4.0, 8e9)
    assert category("Trainer/training/steps") == "Trainer training steps"
    assert category("figures and tables/figures and tables") == "figures and tables"
    assert category("masks/relevance maps") == "relevance maps"


@pytest.mark.parametrize("arch", ["tiny_cnn", "small_cnn"])
def test_forward_flops_equal_a_hand_count(arch):
    from rbdm_core.models import build_model, forward_flops

    c1, c2, c3 = {"tiny_cnn": (8, 16, 32), "small_cnn": (32, 64, 128)}[arch]
    # 3x3 convolutions at 48, 24 and 12 px (grey input), pooling to 6 px, a Dense head of 8 classes
    macs = 48 * 48 * c1 * 9 * 1 + 24 * 24 * c2 * 9 * c1 + 12 * 12 * c3 * 9 * c2 + 6 * 6 * c3 * 8
    bundle = build_model(arch, 8, (48, 48, 1))
    assert forward_flops(bundle.model) == 2 * macs
