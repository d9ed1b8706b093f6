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
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np


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


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
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


def _write_checked(path: Path, write: Callable[[Any], None]) -> Path:
    """Write through `write(file handle)` atomically, then its checksum beside it."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)
        digest = _sha256_file(tmp)
        checksum_path(path).unlink(missing_ok=True)  # the old checksum never vouches for the new file
    atomic_write_text(checksum_path(path), digest + "\n")
    return path


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """np.savez, atomically, with a checksum file beside it."""
    return _write_checked(Path(path), lambda fh: np.savez(fh, **arrays))


save_npz = atomic_save_npz


def save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """np.save, atomically, with a checksum file beside it."""
    return _write_checked(Path(path), lambda fh: np.save(fh, array))


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
    import warnings

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
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        atomic_save_npz(self.path(kind, params, filename), **arrays)
        return arrays
