"""One writer per artifact folder: a lock file that names its holder.

`folder_lock(folder, what)` holds `<folder>/.lock` (an advisory `flock`, exclusive) while a step
computes and writes the folder's artifacts. A second process that wants the same folder (two
`rbdm run 02` at once on one run folder, two `rbdm train` of the same key) waits, telling on stderr
which PID holds it, and then finds the artifacts done and reuses them; with `wait=False` it stops
at once with `FolderInUse` ("... in use by PID 1234 on host h since ..."). The lock file holds
the holder's PID, host and start time (JSON) for these messages.

A holder that dies, even by SIGKILL, releases the lock with its file descriptor (the kernel drops
`flock` locks of a dead process), so there are no stale locks to detect or remove by hand; the
lock file itself stays (empty between holders) and is never an artifact. The next holder removes
the temporary files a killed writer left (`artifacts.sweep_temporaries`).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_NAME = ".lock"


class FolderInUse(RuntimeError):
    """Another process holds the folder's lock."""

    def __init__(self, folder: Path, what: str, holder: dict):
        self.folder, self.what, self.holder = Path(folder), what, holder
        super().__init__(f"{self.folder}: {what} in use by {describe(holder)}; wait for it to finish "
                         "(it reuses nothing half-written) or stop that process")


def describe(holder: dict) -> str:
    """'PID 1234 on host h since 2026-01-01 12:00:00 UTC' (or 'another process' when unknown)."""
    if not holder.get("pid"):
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(holder["since"])) if holder.get("since") else "?"
    return f"PID {holder['pid']} on host {holder.get('host', '?')} since {since}"


def holder_of(folder: str | os.PathLike) -> dict:
    """What the lock file of `folder` says about its holder ({} when empty or unreadable)."""
    try:
        return json.loads((Path(folder) / LOCK_NAME).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str, *, wait: bool = True, poll_s: float = 0.2,
                quiet: bool = False) -> Iterator[Path]:
    """Hold the lock of `folder` (created if needed) for the `with` block.

    what: the step, for messages ("relevance", "training of no-mask seed 0"); wait: block until
    the holder finishes (saying so once on stderr unless `quiet`), else raise FolderInUse at once.
    Re-entrant within one process is not supported: do not nest locks of one folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = holder_of(folder)
                if not wait:
                    raise FolderInUse(folder, what, holder) from None
                if not told and not quiet:
                    print(f"rbdm: {folder}: {what} in use by {describe(holder)}; waiting for it", file=sys.stderr,
                          flush=True)
                    told = True
                time.sleep(poll_s)
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), "what": what})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode(), 0)
        except OSError:  # a full disk: the holder stays unnamed, the lock holds all the same
            pass
        from .artifacts import sweep_temporaries

        sweep_temporaries(folder)  # what a writer killed part-way left: no one else writes here now
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
