"""Run directory and caches: every artifact is stored under a key made from the parameters that
produced it, so a later chapter reuses an earlier chapter's output and a changed parameter never
reuses a stale one. All writes are atomic (temporary file in the same folder, then rename).

Layout: <root>/<kind>/<key>/{params.json, <files>}, key = first 16 hex digits of the SHA-256 of
the canonical JSON of the parameters.
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
from typing import Any, Callable, Iterator, Mapping

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


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return Path(path)


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
        """Load `<kind>/<key>/<filename>` if present, else call `compute()`, save it atomically, return it."""
        path = self.root / kind / param_key(params) / filename
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        atomic_save_npz(self.path(kind, params, filename), **arrays)
        return arrays
