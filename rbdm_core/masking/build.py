"""Masks for a whole data set, built once in chunks, cached in the run folder and resumable."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Mapping

import numpy as np
from tqdm.auto import tqdm

from rbdm_core.artifacts import DamagedArtifact, atomic_write_text, load_npy, report_damage, save_npy
from rbdm_core.faults import fault_point
from rbdm_core.locks import folder_lock
from rbdm_core.checks import _batch, _is_int
from rbdm_core.masking.registry import mask_type as mask_type_spec
from rbdm_core.progress import disabled


def build_masks(
    store: Any,
    key_params: Mapping[str, Any],
    relevance: np.ndarray | Callable[[int, int], np.ndarray],
    mask_type: str,
    chunk: int = 1024,
    *,
    n_images: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    progress: bool = True,
    **mask_params: Any,
) -> np.ndarray:
    """Masks `(N, H, W)` bool for a whole data set, built once and cached.

    store:       `rbdm_core.artifacts.Store`; files go to `store.dir("masks", params)` with
                 params = {**key_params, mask_type, chunk, n_images, **mask_params} (defaults
                 filled in), so any changed parameter gives another directory.
    key_params:  what identifies the relevance maps (Trainer key, relevance method, data set...):
                 the cache cannot see inside `relevance`, the caller must name it here.
    relevance:   (N, H, W) array, or a callable `(start, stop) -> (stop - start, H, W)` array
                 (then `n_images` = N is required), called only for chunks not yet on disk.
    mask_type:   a name in `masking.MASKS`; mask_params: that mask's parameters (its defaults
                 filled in).
    chunk:       images per file `masks_<i>.npy` (i = 0, 1, ...), each written atomically;
                 a `done` marker (JSON) is written last.
    on_chunk:    called as `on_chunk(i, n_chunks)` after chunk i is saved (progress, tests).

    Interrupted runs resume: existing chunk files are kept and only missing ones computed. The
    folder is locked while it is built or read (`rbdm_core.locks`): a second process waits.
    """
    # long: the signature and docstring are 30 of its lines; the body (resume from the chunks on disk, build the missing ones, write the marker) is 70
    spec = mask_type_spec(mask_type)
    used = spec.resolve(mask_params)  # validated before anything is written
    if not _is_int(chunk) or chunk < 1:
        raise ValueError(f"chunk: expected an int >= 1, got {chunk!r}")
    if callable(relevance):
        n = n_images
        if n is None or not _is_int(n) or n < 0:
            raise ValueError(f"n_images: a callable relevance needs n_images = the number of images (int >= 0), got {n!r}")
        total = int(n)
        get = relevance
    else:
        arr, single = _batch(relevance)
        if single:
            raise ValueError(f"relevance: expected an (N, H, W) array, got shape {np.shape(relevance)}")
        if n_images is not None and n_images != len(arr):
            raise ValueError(f"n_images: {n_images} given but relevance holds {len(arr)} maps")
        total = len(arr)
        get = lambda a, b: arr[a:b]  # noqa: E731
    params = {**dict(key_params), "mask_type": mask_type, "chunk": int(chunk), "n_images": total, **used}
    d = store.dir("masks", params)
    n_chunks = math.ceil(total / chunk)
    files = [d / f"masks_{i:05d}.npy" for i in range(n_chunks)]
    done = d / "done"
    def make_chunk(i: int) -> None:
        a, b = i * chunk, min(total, (i + 1) * chunk)
        rel = np.asarray(get(a, b))
        if rel.ndim != 3 or len(rel) != b - a:
            raise ValueError(f"relevance: chunk {i} (images {a}..{b - 1}) has shape {rel.shape}, expected ({b - a}, H, W)")
        try:
            m = spec.make(rel, a, **used)
        except ValueError as e:
            raise ValueError(f"build_masks: chunk {i} (images {a}..{b - 1}): {e}") from e
        save_npy(files[i], np.ascontiguousarray(m, dtype=bool))

    if done.exists():  # finished: read without the lock (a run folder others only read works too)
        try:
            return _concatenate([load_npy(f, "masks") for f in files], d)
        except DamagedArtifact:
            pass  # repaired below, under the lock
    with folder_lock(d, f"{mask_type} masks"):  # one writer; a second process waits, then reads
        if not done.exists():
            todo = [i for i in range(n_chunks) if not files[i].exists()]
            bar = None
            if progress and todo:
                bar = tqdm(total=len(todo), desc=f"{mask_type} masks", unit="chunk", leave=False,
                           disable=disabled())
            try:
                for i in todo:
                    make_chunk(i)
                    if bar is not None:
                        bar.update(1)
                    if on_chunk is not None:
                        on_chunk(i, n_chunks)
                    fault_point("mask-chunk")  # tests only: $RBDM_FAULT_AFTER (rbdm_core.faults)
            finally:
                if bar is not None:
                    bar.close()
        parts = []
        for i, f in enumerate(files):
            try:
                parts.append(load_npy(f, "masks"))
            except DamagedArtifact as exc:  # truncated, unreadable or changed: moved aside, made again
                report_damage(exc)
                done.unlink(missing_ok=True)
                make_chunk(i)
                parts.append(load_npy(f, "masks"))
        out = _concatenate(parts, d)
        if not done.exists():
            atomic_write_text(done, json.dumps({"n_images": total, "shape": list(out.shape), "n_chunks": n_chunks}))
    return out


def _concatenate(parts: list[np.ndarray], d) -> np.ndarray:
    """The chunks of folder `d` as one (N, H, W) bool array (they must agree in shape and dtype)."""
    shapes = {p.shape[1:] for p in parts}
    if len(shapes) > 1 or (parts and parts[0].dtype != bool):
        raise ValueError(f"build_masks: chunk files under {d} disagree in shape or dtype ({shapes}); delete the folder")
    return np.concatenate(parts) if parts else np.zeros((0, 0, 0), dtype=bool)
