"""Seconds (and FLOPs) by activity, recorded for the book benchmark (`python -m benchmarks book`).

Off unless `$RBDM_TIMING` names a file. Then every process that imports rbdm_core appends JSON
lines to it, one per finished activity:

    {"label": $RBDM_TIMING_LABEL, "pid": ..., "ppid": ..., "activity": "Trainee training/evaluation",
     "seconds": 0.41, "flops": 3.1e9}

`activity(name, flops=0)` times its block. Activities nest: a nested one's name is appended to
its parent's with "/", and its seconds are *not* counted again in the parent (every second is
charged to the innermost activity open at that moment), so the lines of one process add up to
the time spent inside activities. Two more records are made automatically:

- "start-up": the process's age when rbdm_core was first imported (interpreter and kernel
  start, the imports before it; Linux, from /proc);
- "TensorFlow import": the first `import tensorflow` of the process.

`add_flops(n)` adds floating-point operations to the innermost open activity (the training loop
counts its steps' and evaluations' FLOPs with `models.forward_flops`). Without `$RBDM_TIMING`
each call costs one dictionary lookup.
"""

from __future__ import annotations

import builtins
import functools
import json
import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator

ENV = "RBDM_TIMING"
LABEL_ENV = "RBDM_TIMING_LABEL"

_stack: list[list] = []  # [name, started (perf_counter) or None while a child runs, seconds, flops]


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def _write(name: str, seconds: float, flops: float) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"label": os.environ.get(LABEL_ENV, ""), "pid": os.getpid(), "ppid": os.getppid(),
                       "activity": name, "seconds": round(seconds, 6), "flops": float(flops)}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one small O_APPEND write: lines of concurrent processes do not mix
    finally:
        os.close(fd)


@contextmanager
def activity(name: str, flops: float = 0.0) -> Iterator[None]:
    """Time the block as `name` (nested: "parent/name"), with `flops` floating-point operations."""
    if not enabled():
        yield
        return
    now = time.perf_counter()
    if _stack:
        parent = _stack[-1]
        parent[2] += now - parent[1]
        parent[1] = None
        name = f"{parent[0]}/{name}"
    frame = [name, now, 0.0, float(flops)]
    _stack.append(frame)
    try:
        yield
    finally:
        end = time.perf_counter()
        frame[2] += end - frame[1]
        _stack.pop()
        if _stack:
            _stack[-1][1] = end
        _write(frame[0], frame[2], frame[3])


def timed(name: str):
    """Decorator: every call of the function is the activity `name`."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with activity(name):
                return fn(*args, **kwargs)
        return wrapper
    return decorate


def add_flops(n: float) -> None:
    """Charge `n` floating-point operations to the innermost open activity (nothing when off)."""
    if _stack:
        _stack[-1][3] += float(n)


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), None elsewhere."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = float(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None


_original_import = builtins.__import__


def _timed_import(name, *args, **kwargs):
    if name.split(".")[0] == "tensorflow" and "tensorflow" not in sys.modules:
        with activity("TensorFlow import"):
            return _original_import(name, *args, **kwargs)
    return _original_import(name, *args, **kwargs)


def _install() -> None:
    if not enabled() or getattr(builtins.__import__, "_rbdm_timed", False):
        return
    age = _process_age()
    if age is not None:
        _write("start-up", age, 0.0)
    if "tensorflow" not in sys.modules:
        _timed_import._rbdm_timed = True
        builtins.__import__ = _timed_import


_install()
