"""The temporary files of an atomic write and their sweep.

`artifacts.atomic_path` writes `<folder>/.NAME.XXXXXXXX.tmp` beside `<folder>/NAME` and renames it
onto NAME when done; a writer killed part-way leaves it. `locks.folder_lock` calls
`sweep_temporaries` once it holds a folder (then no one else writes there). Both read the
naming here, so neither imports the other for it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

#: the suffix of every temporary (`tempfile.mkstemp(prefix=prefix(name), suffix=SUFFIX)`)
SUFFIX = ".tmp"


def prefix(name: str) -> str:
    """The prefix of a temporary written for the file `name`: `.NAME.` (hidden, then random letters)."""
    return f".{name}."


def sweep_temporaries(folder: str | os.PathLike, keep: Sequence[str] = ("params.json",)) -> list[Path]:
    """Remove the temporaries (`.NAME.*.tmp`, files or folders) that a writer killed part-way left
    in `folder`, except those of the names in `keep` (written without a lock); returns them.
    Call only while holding the folder's lock (`rbdm_core.locks.folder_lock` does)."""
    gone = []
    for p in sorted(Path(folder).glob(f".*{SUFFIX}")):
        if any(p.name.startswith(prefix(k)) for k in keep):
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        gone.append(p)
    return gone
