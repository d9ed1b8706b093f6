"""Where the quick book's time goes: every chapter executed from an empty run folder, as `make book`
does, with `rbdm_core.timing` recording each process's activities, then a table of seconds by
activity and chapter, and the FLOP rate of the training steps and evaluations against this
machine's dense matrix product measured in the same run.

    python -m benchmarks book [--chapters 01,06] [--run-dir DIR] [--profile quick] [--markdown]

Rows: start-up (interpreter and kernel start, and the first TensorFlow import, of each chapter's
kernel), data, the Trainer's and the Trainee's training steps (FLOPs: 3x the forward pass per
image, `models.forward_flops`), evaluations (forward passes), training set-up and saving (model
building, loading finished runs, checkpoints), relevance maps, masks, the leak probes, ROAR, the
kernel-setting runs in fresh processes (chapter 7), figures and tables, and the rest ("notebook
and other": chapter code outside these activities, papermill's cell handling). Only the chapter's
kernel process counts; the worker processes it starts (relevance, kernel-setting runs) are inside
its activities. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROWS = (
    "start-up (kernel, TensorFlow import)", "data", "Trainer training steps", "Trainee training steps",
    "evaluations", "training set-up and saving", "relevance maps", "masks", "gaze study", "leak probes",
    "ROAR (other than its training)", "kernel-setting runs (fresh processes)", "Trainee runs in worker processes",
    "figures and tables", "notebook and other",
)
RATE_ROWS = ("Trainer training steps", "Trainee training steps", "evaluations")


def category(path: str) -> str:
    """The table row of one recorded activity path ("Trainee/training/steps/evaluation")."""
    parts = path.split("/")
    last = parts[-1]
    if last in ("start-up", "TensorFlow import"):
        return ROWS[0]
    if last == "evaluation":
        return "evaluations"
    if last == "steps":
        return "Trainer training steps" if parts[0] == "Trainer" else "Trainee training steps"
    if last in ("training", "Trainer", "Trainee"):
        return "training set-up and saving"
    if last == "ROAR":
        return "ROAR (other than its training)"
    return last if last in ROWS else "notebook and other"


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """numpy float32 n x n matrix product, best of `repeats`, in GFLOP/s (2 n^3 per product)."""
    r = np.random.default_rng(0)
    a, b = r.standard_normal((n, n), dtype=np.float32), r.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * n ** 3 / best / 1e9


def tf_matmul_gflops(env: dict[str, str], n: int = 2048) -> float:
    """The same product in TensorFlow, in a fresh process with the chapters' kernel settings."""
    code = ("import time, tensorflow as tf\n"
            f"a = tf.random.normal(({n}, {n})); b = tf.random.normal(({n}, {n})); (a @ b).numpy()\n"
            "best = 1e9\n"
            "for _ in range(5):\n"
            "    t = time.perf_counter(); (a @ b).numpy(); best = min(best, time.perf_counter() - t)\n"
            f"print(2.0 * {n} ** 3 / best / 1e9)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def tally(lines: list[dict], chapters: list[str]) -> tuple[dict, dict]:
    """({chapter: {row: seconds}}, {chapter: {row: flops}}) from the timing lines, kernel processes only."""
    seconds: dict = {c: defaultdict(float) for c in chapters}
    flops: dict = {c: defaultdict(float) for c in chapters}
    pids = defaultdict(set)
    for rec in lines:
        pids[rec["label"]].add(rec["pid"])
    for rec in lines:
        c = rec["label"]
        if c not in seconds or rec["ppid"] in pids[c]:  # a process the chapter's kernel started
            continue
        row = category(rec["activity"])
        seconds[c][row] += rec["seconds"]
        flops[c][row] += rec["flops"]
    return seconds, flops


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks book", description=__doc__.split("\n\n")[0])
    ap.add_argument("--chapters", help="only these chapters, e.g. 01,06 (default: all)")
    ap.add_argument("--run-dir", help="run folder (default: a new empty one, removed afterwards)")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    args = ap.parse_args(argv or [])

    from rbdm_core import kernel_settings, timing

    env = {**os.environ, **kernel_settings.environment("portable"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    np_rate = matmul_gflops()
    tf_rate = tf_matmul_gflops(env)
    with tempfile.TemporaryDirectory(prefix="rbdm-bench-book-") as tmp:
        run_dir = Path(args.run_dir) if args.run_dir else Path(tmp) / "run"
        log = Path(tmp) / "timing.jsonl"
        cmd = [sys.executable, "-m", "rbdm_core.cli", "book", "--profile", args.profile, "--no-build",
               "--no-progress", "--run-dir", str(run_dir)]
        if args.chapters:
            cmd += ["--chapters", args.chapters]
        t0 = time.perf_counter()
        subprocess.run(cmd, env={**env, timing.ENV: str(log)}, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        from rbdm_core.profiles import get_profile

        chapter_s = json.loads((run_dir / get_profile(args.profile).name / "timings.json").read_text())
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()] if log.exists() else []
    chapters = list(chapter_s)
    seconds, flops = tally(lines, chapters)
    for c in chapters:
        seconds[c]["notebook and other"] += max(chapter_s[c] - sum(seconds[c].values()), 0.0)
    short = [c.split("_")[0] for c in chapters]
    print(f"profile {args.profile}, {len(chapters)} chapter(s) from an empty run folder: {sum(chapter_s.values()):.0f} s "
          f"executing ({wall:.0f} s with `rbdm book`'s own start), {os.cpu_count()} CPU(s)")
    print(f"dense float32 2048x2048 matrix product: numpy {np_rate:.1f} GFLOP/s, TensorFlow (portable kernels) "
          f"{tf_rate:.1f} GFLOP/s\n")
    header = ["activity", *short, "total", "share"]
    total = sum(chapter_s.values())
    rows = []
    for row in ROWS:
        vals = [seconds[c].get(row, 0.0) for c in chapters]
        if sum(vals) == 0:
            continue
        rows.append([row, *(f"{v:.0f}" for v in vals), f"{sum(vals):.0f}", f"{sum(vals) / total:.0%}"])
    rows.append(["chapter (measured)", *(f"{chapter_s[c]:.0f}" for c in chapters), f"{total:.0f}", "100%"])
    _print_table(header, rows, args.markdown)
    print()
    rate_rows = []
    for row in RATE_ROWS:
        s = sum(seconds[c].get(row, 0.0) for c in chapters)
        f = sum(flops[c].get(row, 0.0) for c in chapters)
        if s > 0:
            g = f / s / 1e9
            rate_rows.append([row, f"{s:.0f}", f"{f / 1e12:.2f}", f"{g:.1f}", f"{g / np_rate:.2f}", f"{g / tf_rate:.2f}"])
    _print_table(["activity", "seconds", "TFLOP", "GFLOP/s", "ratio to numpy matmul", "ratio to TF matmul"],
                 rate_rows, args.markdown)


def _print_table(header: list[str], rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + " --- |" * len(header))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for r in [header, *rows]:
        print("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main(sys.argv[1:])
