"""Helpers of the fault tests: a tiny pipeline run in a real subprocess, and the run folder's
artifacts as file hashes.

`python tests/fault_runs.py --full-after ROOM ARGS...` runs `rbdm ARGS` with a disk that is full
after ROOM bytes of artifacts (`FullAfter`). `python tests/fault_runs.py RUN_DIR` runs the pipeline of the `tiny` profile below up to one
masked Trainee (Trainer -> relevance maps -> negative masks -> Trainee "negative", seed 0) and
prints the Trainee's final weights hash. Each step is cached in RUN_DIR, so a re-run resumes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the tiny pipeline: one Trainer candidate, 2 epochs each, 160 images per corpus
TINY = dict(name="tiny", source_n=160, target_n=160, gaze_n=8, trainer_candidates=("small_cnn",),
            trainer_epochs=2, trainee_epochs=2, seeds=(0,), eval_every=3, annotators=1)
#: files that are no artifact: lock files (a run killed while holding one leaves it, unlocked)
IGNORED = {".lock"}


def env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess: this checkout first on the path, quiet TensorFlow, the
    portable kernels (the same bits in every process), no planned fault unless given."""
    from rbdm_core import kernel_settings

    e = {k: v for k, v in os.environ.items() if k not in ("RBDM_FAULT_AFTER", "RBDM_FAULT_PGID")}
    e.update(kernel_settings.environment("portable"))
    e.update(PYTHONPATH=str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else ""),
             TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0", MPLBACKEND="Agg", TQDM_DISABLE="1")
    e.update(extra)
    return e


def start(args: list[str], **extra: str) -> subprocess.Popen:
    """Start `args` in its own process group (a planned fault kills that group, and nothing else)."""
    return subprocess.Popen(args, env=env(**extra), cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def pipeline(run_dir: Path, **extra: str) -> subprocess.Popen:
    """The tiny pipeline in a subprocess (see the module docstring); extra: environment variables."""
    return start([sys.executable, str(Path(__file__).resolve()), str(run_dir)], **extra)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def kill_when(proc: subprocess.Popen, ready, timeout: float = 600, poll_s: float = 0.05) -> int:
    """SIGKILL the process group of `proc` as soon as `ready()` is true; its return code."""
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended (exit {proc.returncode}) before the kill point:\n"
                                 + proc.stderr.read()[-3000:])
        if time.monotonic() - t0 > timeout:
            raise AssertionError("the kill point was never reached")
        time.sleep(poll_s)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    return proc.returncode


def file_hash(path: Path) -> str:
    """sha256 of a file; of a Keras `.keras` zip, of its members but the save date (metadata.json)."""
    h = hashlib.sha256()
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as z:
            for name in sorted(z.namelist()):
                if name != "metadata.json":
                    h.update(name.encode())
                    h.update(z.read(name))
        return h.hexdigest()
    h.update(path.read_bytes())
    return h.hexdigest()


def artifact_hashes(root: Path) -> dict[str, str]:
    """{path relative to root: hash} of every file under root but lock files."""
    root = Path(root)
    return {str(p.relative_to(root)): file_hash(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in IGNORED}


def temporary_files(root: Path) -> list[str]:
    """Half-written files left under root (the `.NAME.*.tmp` files of `artifacts.atomic_path`)."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob(".*.tmp"))


class FullAfter:
    """`open` for rbdm_core.artifacts whose files take `room` bytes in all, then fail with ENOSPC
    (a real half-written file, as a disk that fills up while writing)."""

    def __init__(self, room: int):
        self.room = room

    def __call__(self, path, mode="r", *args, **kwargs):
        fh = open(path, mode, *args, **kwargs)
        if "w" not in mode:
            return fh
        outer = self

        class Full:
            def write(self, data):
                n = len(memoryview(data).cast("B"))
                if n > outer.room:
                    fh.write(bytes(memoryview(data).cast("B")[:outer.room]))
                    fh.flush()
                    outer.room = 0
                    raise OSError(errno.ENOSPC, "No space left on device")
                outer.room -= n
                return fh.write(data)

            def __getattr__(self, name):
                return getattr(fh, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()

        return Full()


def full_disk(room: int, args: list[str]) -> subprocess.Popen:
    """`rbdm ARGS` in a subprocess whose artifact writes get `room` bytes in all (`FullAfter`)."""
    return start([sys.executable, str(Path(__file__).resolve()), "--full-after", str(room), *args])


def main(argv: list[str]) -> int:
    if argv[0] == "--full-after":  # rbdm ARGS on a disk that fills up after ROOM bytes
        from rbdm_core import artifacts, cli

        artifacts.open = FullAfter(int(argv[1]))
        return cli.main(argv[2:])
    from rbdm_core.pipeline import Pipeline
    from rbdm_core.profiles import get_profile

    pipe = Pipeline(get_profile("quick").with_(**TINY), run_dir=argv[0])
    print(pipe.train_trainee("negative", 0).weights_sha256, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
