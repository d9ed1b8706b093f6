"""Run directory and caches: every artifact is stored under a key made from the parameters that
produced it, so a later chapter reuses an earlier chapter's output and a changed parameter never
reuses a stale one. All writes are atomic (temporary file in the same folder, then rename).

Layout: <root>/<kind>/<key>/{params.json, <files>}, key = first 16 hex digits of the SHA-256 of
the canonical JSON of the parameters.

Damage: every array file the store writes (`save_npz`, `save_npy`) gets a checksum beside it
(`<name>.sha256`, written after the file). `load_npz` / `load_npy` verify it, and a file that is
truncated, unreadable or does not match raises `DamagedArtifact` naming the file and the step that
made it; `quarantine` moves it aside to `<name>.damaged` so the step recomputes it
(`Store.cached_arrays`, Trainee checkpoints and mask chunks do this with a warning). A file from
before checksums existed is verified by reading it whole.

A full disk: a write that fails with ENOSPC (no space left) or EDQUOT (quota exceeded) raises
`DiskFull`, naming the file, the bytes it needed and the bytes free there; its temporary file is
removed, so nothing half-written stays, and the next run after space is freed computes it again.

Two writers: `Store.cached_arrays` computes a missing artifact while holding the lock of its folder
(`rbdm_core.locks.folder_lock`); a second process asking for the same artifact waits and then
reads what the first wrote. Temporaries are named, and swept by the next holder of a folder's
lock, in `rbdm_core.temporaries`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from rbdm_core import temporaries
from rbdm_core.locks import folder_lock


def default_run_dir() -> Path:
    """`$RBDM_RUN_DIR`, else `./runs` (the book's run directory)."""
    return Path(os.environ.get("RBDM_RUN_DIR", "runs")).resolve()


def default_cache_dir() -> Path:
    """`$RBDM_CACHE_DIR`, else `$XDG_CACHE_HOME/rbdm`, else `~/.cache/rbdm` (never a data folder)."""
    if "RBDM_CACHE_DIR" in os.environ:
        return Path(os.environ["RBDM_CACHE_DIR"]).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "rbdm").resolve()


def _canonical(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return _canonical(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest(),
                "shape": list(obj.shape), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj.is_integer():
        return obj  # keep 1.0 and 1 distinct on purpose: json does
    return obj


def param_key(params: Mapping[str, Any]) -> str:
    """Stable 16-hex-digit key of a parameter mapping (order-independent; arrays by content)."""
    text = json.dumps(_canonical(params), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: errno values of a write that failed for lack of space (no space left, quota exceeded)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(OSError):
    """A write failed for lack of space: names the file, the bytes needed and the bytes free."""

    def __init__(self, path: str | os.PathLike, needed: int | None, cause: OSError):
        self.path, self.needed = Path(path), needed
        self.free = free_bytes(self.path.parent)
        need = f"about {_size(needed)}" if needed else "an unknown size"
        free = _size(self.free) if self.free is not None else "unknown"
        super().__init__(cause.errno, f"{self.path}: no space left to write it ({cause.strerror or cause}; it needs "
                         f"{need}, {free} free on that disk); nothing half-written was kept: free space "
                         "and run again, the run continues from what is complete")

    def __str__(self) -> str:
        return self.strerror


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, k in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= k:
            return f"{n / k:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Bytes free for this user under `folder` (its nearest existing parent); None if unknown."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return int(shutil.disk_usage(p).free)
    except OSError:
        return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: the process's umask, read once (files written through `atomic_path` get 0666 & ~umask, as open() gives)
_UMASK = _umask()


@contextmanager
def atomic_path(path: str | os.PathLike, size: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it.

    A write in the block that fails for lack of space (ENOSPC, EDQUOT) raises `DiskFull` naming
    `path` and `size` (the bytes the file needs, when the caller knows them)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temporaries.prefix(path.name), suffix=temporaries.SUFFIX, dir=path.parent)
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise DiskFull(path, size, exc) from None
        raise
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():  # mkstemp made it 0600; a published file gets the usual mode
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in NO_SPACE and not isinstance(exc, DiskFull):
            raise DiskFull(path, size, exc) from None
        raise
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path, len(text.encode())) as tmp:
        tmp.write_text(text)
    return Path(path)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checksum_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".sha256")


class DamagedArtifact(RuntimeError):
    """An artifact file that is missing, truncated, unreadable or does not match its checksum."""

    def __init__(self, path: str | os.PathLike, step: str, reason: str):
        self.path, self.step, self.reason = Path(path), step, reason
        super().__init__(f"{self.path}: damaged artifact of step {step!r} ({reason})")


def _write_checked(path: Path, write: Callable[[Any], None], size: int | None = None) -> Path:
    """Write through `write(file handle)` atomically, then its checksum beside it (size: bytes
    the file needs, for the message of a full disk)."""
    with atomic_path(path, size) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)
        digest = _sha256_file(tmp)
        checksum_path(path).unlink(missing_ok=True)  # the old checksum never vouches for the new file
    try:
        atomic_write_text(checksum_path(path), digest + "\n")
    except DiskFull:
        path.unlink(missing_ok=True)  # no file without its checksum: the next run writes both again
        raise
    return path


def _savez(fh, arrays: Mapping[str, np.ndarray]) -> None:
    """np.savez(fh, **arrays), byte for byte, but the zip is closed even when a write fails (numpy
    leaves it to the garbage collector, which then reports an error of its own)."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, val in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, np.asanyarray(val), allow_pickle=False)


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """np.savez, atomically, with a checksum file beside it."""
    size = sum(np.asarray(a).nbytes for a in arrays.values())
    return _write_checked(Path(path), lambda fh: _savez(fh, arrays), size)


save_npz = atomic_save_npz


def save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """np.save, atomically, with a checksum file beside it."""
    return _write_checked(Path(path), lambda fh: np.save(fh, array), np.asarray(array).nbytes)


def verify(path: str | os.PathLike, step: str) -> None:
    """Raise DamagedArtifact when `path` is missing or does not match its checksum file (a file
    without one, written before checksums existed, passes here and is checked by reading it)."""
    p = Path(path)
    if not p.is_file():
        raise DamagedArtifact(p, step, "missing")
    c = checksum_path(p)
    if c.is_file():
        want = c.read_text().strip()
        got = _sha256_file(p)
        if got != want:
            raise DamagedArtifact(p, step, f"checksum {got[:12]}... does not match the recorded {want[:12]}...")


def load_npz(path: str | os.PathLike, step: str, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """All arrays of an .npz written by `save_npz`, verified (DamagedArtifact if not readable whole)."""
    verify(path, step)
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error ...
        raise DamagedArtifact(path, step, f"unreadable: {type(exc).__name__}: {exc}") from None
    missing = [k for k in (keys or ()) if k not in out]
    if missing:
        raise DamagedArtifact(path, step, f"arrays {missing} missing")
    return out


def load_npy(path: str | os.PathLike, step: str) -> np.ndarray:
    """An .npy written by `save_npy`, verified (DamagedArtifact if not readable whole)."""
    verify(path, step)
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DamagedArtifact(path, step, f"unreadable: {type(exc).__name__}: {exc}") from None


def quarantine(path: str | os.PathLike) -> Path:
    """Move a damaged file aside to `<name>.damaged` (`.damaged.1`, ... when taken) with its
    checksum file; returns the new path."""
    p = Path(path)
    target = p.with_name(p.name + ".damaged")
    k = 0
    while target.exists():
        k += 1
        target = p.with_name(f"{p.name}.damaged.{k}")
    if p.exists():
        os.replace(p, target)
    c = checksum_path(p)
    if c.exists():
        os.replace(c, target.with_name(target.name + ".sha256"))
    return target


def report_damage(exc: DamagedArtifact) -> Path:
    """Quarantine the file of `exc` and warn (path, step, where it went); returns the new path."""
    moved = quarantine(exc.path)
    warnings.warn(f"{exc}; moved aside to {moved.name} and recomputed", RuntimeWarning, stacklevel=3)
    return moved


class Store:
    """Artifacts keyed by (kind, parameters) under one root directory.

    >>> store = Store("runs")
    >>> rel = store.cached_arrays("relevance", {"trainer": key, "method": "deep_taylor"}, compute)
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).resolve() if root is not None else default_run_dir()

    def dir(self, kind: str, params: Mapping[str, Any]) -> Path:
        """Folder of the artifact (created, with its params.json)."""
        d = self.root / kind / param_key(params)
        if not (d / "params.json").exists():
            d.mkdir(parents=True, exist_ok=True)
            atomic_write_text(d / "params.json", json.dumps(_canonical(params), indent=1, sort_keys=True, default=str))
        return d

    def path(self, kind: str, params: Mapping[str, Any], filename: str) -> Path:
        return self.dir(kind, params) / filename

    def exists(self, kind: str, params: Mapping[str, Any], filename: str) -> bool:
        return (self.root / kind / param_key(params) / filename).exists()

    def cached_arrays(
        self,
        kind: str,
        params: Mapping[str, Any],
        compute: Callable[[], Mapping[str, np.ndarray]],
        filename: str = "arrays.npz",
    ) -> dict[str, np.ndarray]:
        """Load `<kind>/<key>/<filename>` if present and sound, else call `compute()`, save it
        atomically with its checksum, return it. A damaged file is moved aside and recomputed."""
        path = self.root / kind / param_key(params) / filename
        if path.exists():
            try:
                return load_npz(path, kind)
            except DamagedArtifact as exc:
                report_damage(exc)
        with folder_lock(self.dir(kind, params), kind):  # one writer; a second process waits, then reads
            if path.exists():
                try:
                    return load_npz(path, kind)
                except DamagedArtifact as exc:
                    report_damage(exc)
            arrays = {k: np.asarray(v) for k, v in compute().items()}
            atomic_save_npz(path, **arrays)
        return arrays
