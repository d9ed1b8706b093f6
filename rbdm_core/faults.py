"""Test-only fault injection: kill the run with SIGKILL at a named point.

`RBDM_FAULT_AFTER=STAGE:N[,STAGE:N...]` makes the N-th call (1-based, counted per process) of
`fault_point(STAGE)` send SIGKILL to the run: the process group in `$RBDM_FAULT_PGID` (set by the
first armed process for the processes it starts, e.g. a notebook kernel or the relevance worker),
else the caller's own process group, and then the caller itself. Nothing is flushed, closed or
cleaned up: it is the same as the OOM killer or `kill -9`, at a deterministic place. Unset (the
normal case) the points cost one dictionary lookup.

Stages (where the counter advances):
  train-step               after each training step (any run; `train-step-<variant>` counts one variant's)
  relevance-batch          after each batch of the relevance worker
  mask-chunk               after each mask chunk file is written
  affectnet-hash-shard     after each shard of AffectNet image hashes (the index)
  affectnet-image-shard    after each shard of cropped AffectNet faces (the image cache)
  chapter                  after each chapter `rbdm book` executed (between chapters)

A chapter's kernel inherits the plan (and `$RBDM_FAULT_PGID`, `child_environment`), so a point
reached inside a chapter (a training step of chapter 2) kills `rbdm book` too.

The tests in tests/test_faults.py use it; users never need it.
"""

from __future__ import annotations

import os
import signal

ENV = "RBDM_FAULT_AFTER"
PGID_ENV = "RBDM_FAULT_PGID"
_counts: dict[str, int] = {}


def _plan() -> dict[str, int]:
    text = os.environ.get(ENV, "").strip()
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        stage, sep, n = part.rpartition(":")
        if not sep or not stage or not n.isdigit() or int(n) < 1:
            raise ValueError(f"${ENV}: expected STAGE:N with N >= 1 (comma-separated), got {part!r}")
        out[stage] = int(n)
    return out


def armed() -> bool:
    """Whether `$RBDM_FAULT_AFTER` names any fault."""
    return bool(os.environ.get(ENV, "").strip())


def child_environment() -> dict[str, str]:
    """Variables a process started by an armed run must get so that its fault kills the whole run
    (the process group of the first armed process); {} when not armed."""
    if not armed():
        return {}
    return {PGID_ENV: os.environ.get(PGID_ENV, str(os.getpgrp()))}


def fault_point(*stages: str) -> None:
    """Count one pass of each of `stages`; SIGKILL the run when one reaches its planned N."""
    if ENV not in os.environ:
        return
    plan = _plan()
    for stage in stages:
        _counts[stage] = _counts.get(stage, 0) + 1
        if plan.get(stage) == _counts[stage]:
            kill_run()


def kill_run() -> None:
    """SIGKILL the run's process group (`$RBDM_FAULT_PGID`, else this process's), then this process."""
    pgid = int(os.environ.get(PGID_ENV) or os.getpgrp())
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    os.kill(os.getpid(), signal.SIGKILL)
