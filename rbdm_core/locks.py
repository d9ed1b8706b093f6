"""One writer per artifact folder: a lock file that names its holder.

`folder_lock(folder, what)` holds `<folder>/.lock` (an advisory `flock`, exclusive) while a step
computes and writes the folder's artifacts. A second process that wants the same folder (two
`rbdm run 02` at once on one run folder, two `rbdm train` of the same key) waits, telling on stderr
which PID holds it, and then finds the artifacts done and reuses them; with `wait=False` it stops
at once with `FolderInUse` ("... in use by PID 1234 on host h since ..."). The lock file holds
the holder's PID, host and start time (JSON) for these messages.

A holder that dies, even by SIGKILL, releases the lock with its file descriptor (the kernel drops
`flock` locks of a dead process), so there are no stale locks to detect or remove by hand. A
holder removes the lock file when it is done (a killed one leaves it, unlocked, for the next
holder to take); a process that locked a file already removed notices (another inode) and takes
the new one. The next holder removes the temporary files a killed writer left
(`temporaries.sweep_temporaries`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rbdm_core.temporaries import sweep_temporaries

LOCK_NAME = ".lock"
#: the line a waiting process prints once on stderr (`folder_lock`); whether it appears depends only
#: on which of two processes reached a folder first (nbval drops it: `rbdm_core.nbval_plugin`)
WAIT_NOTICE = re.compile(r"(?m)^rbdm: .* in use by .*; waiting for it\n?")


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


def holder_of(folder: str | os.PathLike, name: str = LOCK_NAME) -> dict:
    """What the lock file `name` of `folder` says about its holder ({} when empty or unreadable)."""
    try:
        return json.loads((Path(folder) / name).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str, *, wait: bool = True, poll_s: float = 0.2,
                quiet: bool = False, name: str = LOCK_NAME, sweep: bool = True) -> Iterator[Path]:
    """Hold the lock of `folder` (created if needed) for the `with` block.

    what: the step, for messages ("relevance", "training of no-mask seed 0"); wait: block until
    the holder finishes (saying so once on stderr unless `quiet`), else raise FolderInUse at once;
    name: the lock file (another name locks one part of a shared folder, e.g. one chapter's
    notebook); sweep: remove the temporaries a killed writer left in `folder` once held.
    Re-entrant within one process is not supported: do not nest locks of one folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fd = _acquire(path, folder, what, name, wait, poll_s, quiet)
    try:
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), "what": what})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode(), 0)
        except OSError:  # a full disk: the holder stays unnamed, the lock holds all the same
            pass
        if sweep:
            sweep_temporaries(folder)  # what a writer killed part-way left: no one else writes here now
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still held: a waiter then finds its file gone and retries
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(path: Path, folder: Path, what: str, name: str, wait: bool, poll_s: float, quiet: bool) -> int:
    """An open descriptor of `path` holding its exclusive flock, the file still in place."""
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = holder_of(folder, name)
            if not wait:
                raise FolderInUse(folder, what, holder) from None
            if not told and not quiet:
                print(f"rbdm: {folder}: {what} in use by {describe(holder)}; waiting for it", file=sys.stderr,
                      flush=True)
                told = True
            time.sleep(poll_s)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # the previous holder removed it after we opened it
            same = False
        if same:
            return fd
        os.close(fd)  # we locked a file its holder had already removed: take the new one
