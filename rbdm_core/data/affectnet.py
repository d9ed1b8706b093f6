"""AffectNet reader: streams the manually annotated lists, crops faces into a memory-mapped cache.

Input (as distributed by its authors), under ROOT:
  Manually_Annotated_file_lists/training.csv, validation.csv with header
    subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal
  Manually_Annotated_Images/<subDirectory_filePath>   (JPEG/PNG)
expression 0..10 = Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt, None, Uncertain,
Non-Face. Only the columns used here are required (path, face box, expression).

Cleaning (paper, section 4.1): keep expressions 0..7 (drop None, Uncertain, Non-Face); then drop
duplicates, first rows naming the same path, then rows whose image files have the same bytes
(SHA-1), keeping one row of each group chosen at random with `seed` (deterministic) and counting the
dropped ones. Then each face box is cropped, resized to `size` and written to a cache:

  <cache_dir>/affectnet/index-<key>/hashes/<shard>.npy   SHA-1 of each candidate image (resumable;
                                                         checksummed: a damaged shard is named,
                                                         moved to .damaged and hashed again)
  <cache_dir>/affectnet/<key>/images.npy                 (N, h, w, C) uint8, read with mmap
  <cache_dir>/affectnet/<key>/meta.npz                   labels, split, ids, dropped counts

key = parameters + size and mtime of the two csv files, so an edited list never reuses a stale
cache. `images.npy` is filled shard by shard in `images.npy.partial` with one marker per finished
shard (a re-run resumes there) and renamed into place only when complete. Both the index and the
image cache are built under a folder lock (`rbdm_core.locks`): a second process waits, then reuses
them. Nothing is written under ROOT.

Memory: the whole corpus (~290,000 kept rows of ~420,000) is never held in memory. The csv lists
are read in 10,000-row chunks (only the used columns kept), images are hashed one at a time, and
each cropped face is written at its offset in `images.npy.partial` with `os.pwrite`, so neither the
output nor the decoded images stay in the process. Peak resident memory grows with the row list
only: ~0.8 KB per kept row, 225 MiB above the imports at AffectNet's 420,299 list rows
(`python -m benchmarks affectnet_scale`, which also reads 100,000 generated images).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rbdm_core.artifacts import (DamagedArtifact, atomic_path, atomic_write_text, default_cache_dir, load_npy,
                                 param_key, quarantine, report_damage, save_npy)
from rbdm_core.data.dataset import FERPLUS_CLASSES, Dataset
from rbdm_core.faults import fault_point
from rbdm_core.locks import folder_lock
from rbdm_core.data.images import _check_channels, _check_size, crop_box, file_sha1, open_image, resize
from rbdm_core.progress import disabled

#: AffectNet's expression codes 0..10.
AFFECTNET_EXPRESSIONS: tuple[str, ...] = (
    "Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt",
    "None", "Uncertain", "Non-Face",
)
#: AffectNet code 0..7 -> index into FERPLUS_CLASSES.
EXPRESSION_TO_FERPLUS = np.array(
    [FERPLUS_CLASSES.index(n) for n in
     ("neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt")],
    dtype=np.int64,
)
LIST_DIR = "Manually_Annotated_file_lists"
IMAGE_DIR = "Manually_Annotated_Images"
SPLITS = ("training", "validation")
USED_COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "expression")
BOX_COLUMNS = ("face_x", "face_y", "face_width", "face_height")
_DROP_NAMES = {8: "expression_none", 9: "expression_uncertain", 10: "expression_non_face"}
CACHE_VERSION = 1


def _line(i: int) -> str:
    return f"row {i} (line {i + 2})"


def _progress(total: int, enabled: bool, desc: str, initial: int = 0, unit: str = "image"):
    return tqdm(total=total, initial=initial, disable=disabled(not enabled), desc=desc, unit=unit,
                file=sys.stderr, leave=False)


def affectnet_files(root: str | Path) -> dict[str, Path]:
    """{"training": csv, "validation": csv, "images": folder}; raises when one is missing or empty."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"AffectNet root folder {root} does not exist")
    out = {s: root / LIST_DIR / f"{s}.csv" for s in SPLITS}
    for s, p in out.items():
        if not p.is_file():
            raise FileNotFoundError(f"AffectNet list {p} does not exist (expected {LIST_DIR}/{s}.csv under {root})")
    img = root / IMAGE_DIR
    if not img.is_dir():
        raise FileNotFoundError(f"AffectNet image folder {img} does not exist (expected {IMAGE_DIR}/ under {root})")
    if next(os.scandir(img), None) is None:
        raise ValueError(f"AffectNet image folder {img} is empty; expected the images named in the lists")
    out["images"] = img
    return out


def _read_list(path: Path, split: str, chunksize: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows of one list with expression 0..7 (columns: path, box, expression, split, row)."""
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: file is empty, expected header {list(USED_COLUMNS)} (and more)") from None
    missing = [c for c in USED_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(USED_COLUMNS)}, found {header}")
    parts, dropped, start = [], {v: 0 for v in _DROP_NAMES.values()}, 0
    for chunk in pd.read_csv(path, usecols=list(USED_COLUMNS), chunksize=chunksize,
                             dtype={"subDirectory_filePath": str}, keep_default_na=False):
        m = len(chunk)
        for col in BOX_COLUMNS + ("expression",):
            vals = pd.to_numeric(chunk[col].replace("", np.nan), errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(vals) | (vals != np.floor(vals))
            if col == "expression":
                bad |= (vals < 0) | (vals > 10)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                expected = ("an int 0..10 (" + ", ".join(AFFECTNET_EXPRESSIONS) + ")") if col == "expression" \
                    else "an int number of pixels"
                raise ValueError(f"{path} {_line(start + k)}: {col} {chunk[col].iloc[k]!r} is out of range, expected {expected}")
            chunk[col] = vals.astype(np.int64)
        empty = (chunk["subDirectory_filePath"].str.strip() == "").to_numpy()
        if empty.any():
            k = int(np.flatnonzero(empty)[0])
            raise ValueError(f"{path} {_line(start + k)}: subDirectory_filePath is empty, expected an image path")
        for code, name in _DROP_NAMES.items():
            dropped[name] += int((chunk["expression"] == code).sum())
        chunk = chunk.assign(split=split, row=np.arange(start, start + m))
        parts.append(chunk[chunk["expression"] <= 7])
        start += m
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(USED_COLUMNS) + ["split", "row"])
    return df.rename(columns={"subDirectory_filePath": "path"}), dropped


def _keep_one(df: pd.DataFrame, by: str, rkey: np.ndarray) -> np.ndarray:
    """Boolean mask keeping, in each group of equal `by`, the row with the smallest random key."""
    order = pd.DataFrame({"g": df[by].to_numpy(), "r": rkey, "i": np.arange(len(df))})
    first = order.sort_values(["g", "r"], kind="mergesort").drop_duplicates("g")["i"].to_numpy()
    keep = np.zeros(len(df), bool)
    keep[first] = True
    return keep


def _files_signature(files: dict[str, Path]) -> list:
    sig = []
    for s in SPLITS:
        st = files[s].stat()
        sig.append([s, st.st_size, st.st_mtime_ns])
    return sig


def index_affectnet(
    root: str | Path,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    chunksize: int = 10_000,
    shard_rows: int = 4096,
) -> tuple[pd.DataFrame, dict]:
    """The cleaned AffectNet row list, without decoding images.

    Returns (rows, provenance): rows has columns path, face_x, face_y, face_width, face_height,
    expression (0..7), label (FERPLUS_CLASSES index), split ("training"/"validation"), row
    (0-based data row of its csv), sha1; in csv order. Image hashes are cached (resumable) under
    `<cache_dir>/affectnet/index-<key>/`. A missing image file raises FileNotFoundError naming the row.
    """
    # long: one pass over the row list: the row checks, drops and the shard-cached, resumable hashing share the same row arrays; the steps are commented in order
    files = affectnet_files(root)
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    _refuse_inside(cache_root, Path(root))
    frames, dropped, listed = [], {}, 0
    for s in SPLITS:
        df, d = _read_list(files[s], s, chunksize)
        frames.append(df)
        listed += len(df) + sum(d.values())
        for k, v in d.items():
            dropped[k] = dropped.get(k, 0) + v
    rows = pd.concat(frames, ignore_index=True)
    if rows.empty:
        raise ValueError(f"AffectNet lists under {Path(root) / LIST_DIR} hold no row with expression 0..7")

    rng = np.random.default_rng(seed)
    keep = _keep_one(rows, "path", rng.random(len(rows)))
    dropped["duplicate_path"] = int((~keep).sum())
    rows = rows[keep].reset_index(drop=True)

    # hashes are cached per unique path, in sorted path order (independent of the seed). Paths are
    # unique here, so one argsort maps rows to shards and back; object arrays share the row's
    # strings (a fixed-width str array would cost 4 bytes per character per copy).
    key = param_key({"v": CACHE_VERSION, "root": str(Path(root).resolve()), "files": _files_signature(files)})
    hdir = cache_root / "affectnet" / f"index-{key}" / "hashes"
    order = np.argsort(rows["path"].to_numpy(object), kind="stable")
    paths = rows["path"].to_numpy(object)[order]
    sha = np.empty(len(paths), dtype="S40")
    n_shards = -(-len(paths) // shard_rows)
    with folder_lock(hdir.parent, "AffectNet index"):  # one writer; a second process waits, then reuses
        bar = _progress(len(paths), progress, "hashing AffectNet images")
        try:
            for k in range(n_shards):
                lo, hi = k * shard_rows, min(len(paths), (k + 1) * shard_rows)
                shard = hdir / f"{k:05d}-{lo}-{hi}.npy"
                if shard.exists():
                    try:
                        part = load_npy(shard, "AffectNet hash shard")
                        if part.shape != (hi - lo,) or part.dtype != sha.dtype:
                            raise DamagedArtifact(shard, "AffectNet hash shard",
                                                  f"{part.dtype}{part.shape}, expected S40({hi - lo},)")
                        sha[lo:hi] = part
                    except DamagedArtifact as exc:
                        report_damage(exc)  # named, moved to .damaged; the shard is hashed again below
                if not shard.exists():
                    part = np.empty(hi - lo, dtype="S40")
                    for j in range(lo, hi):
                        p = files["images"] / paths[j]
                        if not p.is_file():
                            r = rows.iloc[int(order[j])]
                            raise FileNotFoundError(
                                f"{files[r['split']]} {_line(int(r['row']))}: image file {p} does not exist"
                            )
                        part[j - lo] = file_sha1(p).encode()
                    save_npy(shard, part)  # with its checksum beside it
                    sha[lo:hi] = part
                    fault_point("affectnet-hash-shard")  # tests only: $RBDM_FAULT_AFTER (rbdm_core.faults)
                bar.update(hi - lo)
        finally:
            bar.close()
    by_row = np.empty_like(sha)
    by_row[order] = sha
    del sha, paths, order
    rows["sha1"] = [h.decode("ascii") for h in by_row]
    del by_row
    keep = _keep_one(rows, "sha1", rng.random(len(rows)))
    dropped["duplicate_content"] = int((~keep).sum())
    rows = rows[keep].reset_index(drop=True)
    rows["label"] = EXPRESSION_TO_FERPLUS[rows["expression"].to_numpy()]
    provenance = {
        "synthetic": False,
        "source": "affectnet",
        "files": [str(files[s].resolve()) for s in SPLITS],
        "images_dir": str(files["images"].resolve()),
        "rule": "expression 0..7 kept; duplicates by path, then by SHA-1 of the image file, one kept at random",
        "seed": int(seed),
        "listed": int(listed),
        "kept": int(len(rows)),
        "dropped": dropped,
        "index_key": key,
    }
    return rows, provenance


def read_affectnet(
    root: str | Path,
    size: int | tuple[int, int] = 96,
    cache_dir: str | Path | None = None,
    channels: int = 3,
    seed: int = 0,
    progress: bool = True,
    shard_rows: int = 4096,
) -> Dataset:
    """Read AffectNet into a Dataset whose `images` `(N, h, w, C) uint8` are memory-mapped from the cache.

    root:      folder holding Manually_Annotated_file_lists/ and Manually_Annotated_Images/
    size:      output side in pixels (int) or (height, width); the face box is stretched to it
    cache_dir: cache root (default `rbdm_core.artifacts.default_cache_dir()`); never under root
    channels:  3 (RGB, default) or 1 (grayscale)
    seed:      picks which row of a duplicate group is kept
    Labels index FERPLUS_CLASSES; split "training"/"validation"; ids = subDirectory_filePath.
    Errors name the csv row: missing or unreadable image, face box outside the image.
    provenance: "listed" (rows in the two lists), "dropped" (rows by reason: expression_none,
    expression_uncertain, expression_non_face, duplicate_path, duplicate_content), "kept", and
    "cropped_to_face_box" (images cut from their file by their face box: every kept row).
    """
    h, w = _check_size(size)
    _check_channels(channels)
    files = affectnet_files(root)
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    _refuse_inside(cache_root, Path(root))
    rows, prov = index_affectnet(root, seed=seed, cache_dir=cache_root, progress=progress, shard_rows=shard_rows)
    key = param_key({"index": prov["index_key"], "seed": int(seed), "size": [h, w], "channels": channels,
                     "shard_rows": shard_rows})
    out = cache_root / "affectnet" / key
    final, meta = out / "images.npy", out / "meta.npz"
    if not (final.exists() and meta.exists()):
        with folder_lock(out, "AffectNet image cache"):  # one writer; a second process waits, then reuses
            if not (final.exists() and meta.exists()):
                _build_images(rows, files, out, (h, w), channels, shard_rows, progress)
                _write_meta(rows, meta)
                os.replace(out / "images.npy.partial", final)
    images = np.load(final, mmap_mode="r")
    with np.load(meta, allow_pickle=False) as z:
        labels, split, ids = z["labels"], z["split"].astype(object), z["ids"].astype(object)
    if images.shape[0] != len(labels):
        raise ValueError(f"AffectNet cache {out} is inconsistent ({images.shape[0]} images, {len(labels)} labels); delete it")
    prov = dict(prov, size=[h, w], channels=channels, cache=str(out), cropped_to_face_box=int(images.shape[0]))
    return Dataset(images=images, labels=labels, class_names=FERPLUS_CLASSES, split=split, ids=ids, provenance=prov)


def _write_meta(rows: pd.DataFrame, path: Path) -> None:
    """meta.npz (labels int64, split, ids, sha1 as fixed-width str), one column converted at a time.

    The same file np.savez writes, but only one fixed-width copy of a column (4 bytes a
    character) exists at any moment instead of all four.
    """
    columns = (("labels", lambda: rows["label"].to_numpy(np.int64)), ("split", lambda: rows["split"].to_numpy(str)),
               ("ids", lambda: rows["path"].to_numpy(str)), ("sha1", lambda: rows["sha1"].to_numpy(str)))
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, column in columns:
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, column(), allow_pickle=False)


def _refuse_inside(cache_root: Path, root: Path) -> None:
    c, r = cache_root.resolve(), root.resolve()
    if c == r or r in c.parents:
        raise ValueError(f"cache_dir {cache_root} lies inside the data folder {root}; choose a cache outside it")


def _build_images(rows: pd.DataFrame, files: dict, out: Path, size: tuple[int, int], channels: int,
                  shard_rows: int, progress: bool) -> None:
    """Fill `out/images.npy.partial` shard by shard; a marker file records each finished shard.

    Each face is written at its offset in the .npy file with `os.pwrite` as soon as it is
    cropped, so the process holds one image at a time: nothing of the output stays mapped or
    resident in this process (a memmap written through would keep every written page in its
    resident set until the kernel reclaims it). Each shard is fsynced before its marker is written.
    """
    n = len(rows)
    shape = (n, size[0], size[1], channels)
    out.mkdir(parents=True, exist_ok=True)
    partial, done = out / "images.npy.partial", out / "done"
    offset = _partial_offset(partial, shape)
    if offset is None:
        for f in done.glob("*") if done.exists() else []:
            f.unlink()
        mm = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=shape)  # header + sparse body
        offset = int(mm.offset)
        del mm
    done.mkdir(exist_ok=True)
    atomic_write_text(out / "params.json", json.dumps({"size": list(size), "channels": channels, "n": n}))
    path, split, row = rows["path"].to_numpy(), rows["split"].to_numpy(), rows["row"].to_numpy()
    boxes = rows[list(BOX_COLUMNS)].to_numpy(np.int64)
    item = size[0] * size[1] * channels
    n_shards = -(-n // shard_rows)
    finished = {k for k in range(n_shards) if (done / f"{k:05d}").exists()
                and _shard_intact(partial, done / f"{k:05d}", offset, item)}
    bar = _progress(n, progress, "cropping AffectNet faces",
                    initial=sum(min(n, (k + 1) * shard_rows) - k * shard_rows for k in finished))
    fd = os.open(partial, os.O_RDWR)
    try:
        for k in range(n_shards):
            if k in finished:
                continue
            lo, hi = k * shard_rows, min(n, (k + 1) * shard_rows)
            digest = hashlib.sha256()
            for j in range(lo, hi):
                what = f"{files[split[j]]} {_line(int(row[j]))}: "
                im = open_image(files["images"] / path[j], channels, what=what)
                face = np.ascontiguousarray(resize(crop_box(im, tuple(boxes[j]), what=what), size), dtype=np.uint8)
                _pwrite_all(fd, memoryview(face).cast("B"), offset + j * item)
                digest.update(memoryview(face).cast("B"))
                bar.update(1)
            os.fsync(fd)
            atomic_write_text(done / f"{k:05d}", f"{lo} {hi} {digest.hexdigest()}\n")
            fault_point("affectnet-image-shard")  # tests only: $RBDM_FAULT_AFTER (rbdm_core.faults)
    finally:
        os.close(fd)
        bar.close()


def _shard_intact(partial: Path, marker: Path, offset: int, item: int) -> bool:
    """Does the shard a marker vouches for still hold the bytes it recorded (SHA-256 of its rows)?
    A damaged shard is named (warning), its marker moved to .damaged, and it is decoded again."""
    parts = marker.read_text().split()
    if len(parts) < 3:  # a marker written before shards were checksummed
        return True
    lo, hi, want = int(parts[0]), int(parts[1]), parts[2]
    digest, pos, end = hashlib.sha256(), offset + lo * item, offset + hi * item
    with open(partial, "rb") as fh:
        fh.seek(pos)
        while pos < end:
            block = fh.read(min(1 << 20, end - pos))
            if not block:
                break
            digest.update(block)
            pos += len(block)
    if digest.hexdigest() == want:
        return True
    moved = quarantine(marker)
    warnings.warn(f"{partial}: AffectNet image shard rows {lo}-{hi} do not match their checksum; marker moved "
                  f"aside to {moved.name} and the shard decoded again", RuntimeWarning, stacklevel=3)
    return False


def _partial_offset(partial: Path, shape: tuple[int, ...]) -> int | None:
    """Byte offset of the data in an existing `images.npy.partial` of `shape` uint8, else None."""
    if not partial.exists():
        return None
    try:
        mm = np.lib.format.open_memmap(partial, mode="r")
    except (ValueError, OSError):
        return None
    ok = mm.shape == shape and mm.dtype == np.uint8
    offset = int(mm.offset)
    del mm
    return offset if ok else None


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while len(data):
        k = os.pwrite(fd, data, offset)
        data, offset = data[k:], offset + k


def iter_affectnet(root: str | Path, batch_size: int = 256, **kwargs) -> Iterator[Dataset]:
    """Batches of `read_affectnet(root, **kwargs)` as small in-memory Datasets, in order.

    Only one batch of images is in memory at a time (the full set stays memory-mapped).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    ds = read_affectnet(root, **kwargs)
    for lo in range(0, len(ds), int(batch_size)):
        idx = np.arange(lo, min(len(ds), lo + int(batch_size)))
        yield ds.subset(idx)
