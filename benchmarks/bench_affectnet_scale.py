"""AffectNet at scale: reading N generated images (default 100,000 at 128x128) in bounded memory.

`python -m benchmarks affectnet_scale [--n 100000] [--size 128] [--corpus DIR] [--index-rows ROWS]`

1. Generates (once; reused when present) an AffectNet-format corpus of N JPEG images of
   `size` x `size` under `DIR` (default `<rbdm cache>/benchmarks/affectnet-<N>-<size>`, outside
   the repository): the two lists with face boxes and `Manually_Annotated_Images/<folder>/<hex>.jpg`.
   Each image is smooth random content (an 8x8 random RGB image upsampled), so every file
   hashes differently; about 5 % of the rows carry the excluded expressions 8..10, N/1000 files
   are byte copies of others (dropped as duplicate content) and N/2000 paths are listed twice
   (dropped as duplicate paths). Generation time is reported on its own.
2. Reads it through `read_affectnet` with a fresh cache in a child process and reports wall time,
   images/s and the child's peak resident memory (`ru_maxrss`) next to the size of the output
   arrays and the allowance (output arrays + 500 MB); then a second read (cache hit).
3. Resume: a second fresh read is killed with SIGKILL once half of its image shards are marked
   done, then re-run; reports the shards reused, the images decoded by the re-run, the total
   time, and whether images.npy and meta equal those of the uninterrupted read (SHA-256).

`--index-rows 420299` instead measures the row list alone (index, hashing, meta.npz written and
read back) at AffectNet's full list size, with stub files in place of images (not decodable).
Nothing is asserted; the figures are printed. `python -m benchmarks` with no NAME runs this one
too, at its defaults (several minutes and ~10 GB of temporary cache).

Measured 2026-11-26 on the development machine, shared (2 cores, six engineers working at once,
load average ~8; run under `nice -n 10`), N = 100,000 at 128x128:
  corpus: generated in 80.1 s (337 MiB of JPEG; 100,050 rows; 94,902 kept as expected)
  fresh read: 85.8 s = 1,106 images/s (207 s = 458 images/s in an earlier run under heavier load);
    peak RSS 204 MiB, of which 109 MiB after imports, so reading added 96 MiB; output arrays
    4,454 MiB; allowance (output + 500 MB) 4,931 MiB
  second read (cache hit): 2.0 s (3.2 s with the child's start-up), peak RSS 190 MiB
  resume: SIGKILL after 63.0 s with 12 of 24 image shards done; the re-run reused them, decoded
    45,750 of 94,902 images, took 76.3 s (139.3 s in all); images.npy + meta equal to the
    uninterrupted read
  the reader before this benchmark (writing through a memmap) peaked at 4,636 MiB on the same
    corpus: every written page stayed in its resident set
  --index-rows 420299: 291,378 rows kept; index + hashing 15.1 s; peak RSS 333 MiB, 225 MiB above
    the imports (808 bytes per kept row), i.e. within the 500 MB allowance at AffectNet's size
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ALLOWANCE_MB = 500
HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
          "facial_landmarks", "expression", "valence", "arousal"]
PER_FOLDER = 500  # images per Manually_Annotated_Images/<folder>/ (AffectNet holds ~400)

_CHILD = r"""
import json, resource, sys, time
t_start = time.perf_counter()
import rbdm_core.data.affectnet as an
root, cache, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
real, decoded = an.open_image, [0]
def counting(*a, **k):
    decoded[0] += 1
    return real(*a, **k)
an.open_image = counting
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
ds = an.read_affectnet(root, size=size, cache_dir=cache, progress=False)
dt = time.perf_counter() - t0
out_bytes = ds.images.nbytes + ds.labels.nbytes + sum(len(s) for s in ds.ids) + sum(len(s) for s in ds.split)
print(json.dumps({"seconds": dt, "n": len(ds), "decoded": decoded[0], "rss_after_imports_kib": base,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "images_bytes": int(ds.images.nbytes), "output_bytes": int(out_bytes),
                  "dropped": ds.provenance["dropped"], "cache": ds.provenance["cache"]}))
"""


_INDEX_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
import rbdm_core.data.affectnet as an
root, cache = sys.argv[1], Path(sys.argv[2])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
rows, prov = an.index_affectnet(root, cache_dir=cache, progress=False)
t_index = time.perf_counter() - t0
peak_index = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
an._write_meta(rows, cache / "meta.npz")   # what read_affectnet writes and reads back beside the images
del rows
with np.load(cache / "meta.npz", allow_pickle=False) as z:
    labels, split, ids = z["labels"], z["split"].astype(object), z["ids"].astype(object)
print(json.dumps({"seconds_index": t_index, "n": len(labels), "rss_after_imports_kib": base,
                  "peak_rss_index_kib": peak_index, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "ids_bytes": int(labels.nbytes + sum(sys.getsizeof(s) + 8 for s in ids)), "dropped": prov["dropped"]}))
"""

#: AffectNet's manually annotated lists by expression 0..10 (training + validation, 420,299 rows).
AFFECTNET_COUNTS = (75_374, 134_915, 25_959, 14_590, 6_878, 4_303, 25_382, 4_250, 33_588, 12_145, 82_915)


def _mib(x: float) -> str:
    return f"{x / 2**20:,.0f} MiB"


def corpus_dir(n: int, size: int) -> Path:
    from rbdm_core.artifacts import default_cache_dir

    return default_cache_dir() / "benchmarks" / f"affectnet-{n}-{size}"


def generate(root: Path, n: int, size: int, seed: int = 0) -> dict:
    """Write the corpus under `root` (via `root.partial`, renamed at the end); returns its counts.

    Streams: one image in memory at a time, csv rows written as they are made.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    tmp = root.with_name(root.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    lists, images = tmp / "Manually_Annotated_file_lists", tmp / "Manually_Annotated_Images"
    lists.mkdir(parents=True)
    n_val = max(1, n // 50)
    excluded = rng.random(n) < 0.05                           # expressions 8..10
    n_copy, n_twice = max(2, n // 1000), max(2, n // 2000)
    pool = np.flatnonzero(~excluded)
    picks = rng.choice(pool, size=2 * n_copy + n_twice, replace=False)
    copies = dict(zip(picks[n_copy:2 * n_copy].tolist(), picks[:n_copy].tolist()))  # copy -> original
    twice = set(picks[2 * n_copy:].tolist())                  # listed in both lists
    landmarks = ";".join(f"{v:.2f}" for v in np.linspace(1, 50, 136))
    names = [f"{i // PER_FOLDER + 1}/{hashlib.sha1(f'{seed}-{i}'.encode()).hexdigest()[:40]}.jpg" for i in range(n)]
    with open(lists / "training.csv", "w", newline="") as ft, open(lists / "validation.csv", "w", newline="") as fv:
        wt, wv = csv.writer(ft), csv.writer(fv)
        wt.writerow(HEADER)
        wv.writerow(HEADER)
        for i in range(n):
            p = images / names[i]
            if i % PER_FOLDER == 0:
                p.parent.mkdir(parents=True, exist_ok=True)
            if i in copies and copies[i] < i:
                shutil.copyfile(images / names[copies[i]], p)
            else:
                small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(small).resize((size, size), Image.BILINEAR).save(p, quality=90)
            x, y = (int(v) for v in rng.integers(0, size // 8, 2))
            bw, bh = (int(v) for v in rng.integers(size // 2, size - size // 8, 2))
            expr = int(rng.integers(8, 11)) if excluded[i] else int(rng.integers(0, 8))
            row = [names[i], x, y, bw, bh, landmarks, expr, 0.25, -0.5]
            (wv if i >= n - n_val else wt).writerow(row)
            if i in twice:
                (wt if i >= n - n_val else wv).writerow(row)
    # copies whose original comes later were skipped above: write them now (same bytes)
    for c, o in copies.items():
        if o > c:
            shutil.copyfile(images / names[o], images / names[c])
    counts = {"images": n, "rows": n + n_twice, "excluded": int(excluded.sum()), "content_copies": n_copy,
              "paths_listed_twice": n_twice, "expected_kept": int(n - excluded.sum() - n_copy)}
    (tmp / "corpus.json").write_text(json.dumps(counts))
    os.replace(tmp, root)
    return counts


def generate_lists(root: Path, n: int, seed: int = 0) -> dict:
    """AffectNet-size lists (n rows, AffectNet's expression shares and 56-hex-digit file names) with
    stub image files (unique bytes, not images): enough to index and hash, not to decode."""
    rng = np.random.default_rng(seed)
    tmp = root.with_name(root.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    lists, images = tmp / "Manually_Annotated_file_lists", tmp / "Manually_Annotated_Images"
    lists.mkdir(parents=True)
    share = np.array(AFFECTNET_COUNTS, float) / sum(AFFECTNET_COUNTS)
    expr = rng.choice(len(share), size=n, p=share)
    landmarks = ";".join(f"{v:.2f}" for v in np.linspace(1, 50, 136))
    n_val = max(1, n // 75)
    with open(lists / "training.csv", "w", newline="") as ft, open(lists / "validation.csv", "w", newline="") as fv:
        wt, wv = csv.writer(ft), csv.writer(fv)
        wt.writerow(HEADER)
        wv.writerow(HEADER)
        for i in range(n):
            name = f"{i // 420 + 1}/{hashlib.sha224(f'{seed}-{i}'.encode()).hexdigest()}.jpg"
            p = images / name
            if i % 420 == 0:
                p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(name.encode())
            (wv if i >= n - n_val else wt).writerow([name, 10, 12, 200, 210, landmarks, int(expr[i]), 0.25, -0.5])
    counts = {"rows": n, "kept_expected": int((expr <= 7).sum())}
    (tmp / "lists.json").write_text(json.dumps(counts))
    os.replace(tmp, root)
    return counts


def index_at_scale(n: int, corpus: Path | None) -> None:
    """Peak memory of the row list alone (index, hash, meta write and read) at `n` csv rows."""
    root = corpus or corpus_dir(n, 0).with_name(f"affectnet-lists-{n}")
    if (root / "lists.json").exists():
        counts = json.loads((root / "lists.json").read_text())
        print(f"lists {root}: reused ({counts['rows']:,} rows)", flush=True)
    else:
        t0 = time.perf_counter()
        counts = generate_lists(root, n)
        print(f"lists {root}: generated {n:,} rows with stub files in {time.perf_counter() - t0:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="rbdm-affectnet-lists-") as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _INDEX_CHILD, str(root), tmp], stdout=subprocess.PIPE,
                              text=True, check=True)
        wall = time.perf_counter() - t0
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    base, pi, pk = (r[k] * 1024 for k in ("rss_after_imports_kib", "peak_rss_index_kib", "peak_rss_kib"))
    print(f"row list at AffectNet scale: {n:,} csv rows, {r['n']:,} kept (expected {counts['kept_expected']:,}); "
          f"index + hashing {r['seconds_index']:.1f} s (child wall {wall:.1f} s)", flush=True)
    print(f"  peak RSS {_mib(pk)} (after imports {_mib(base)}; index added {_mib(pi - base)}, with meta "
          f"write + read {_mib(pk - base)} = {(pk - base) / r['n']:,.0f} bytes per kept row); ids and labels "
          f"are {_mib(r['ids_bytes'])} of the output; allowance beyond the output {ALLOWANCE_MB} MB", flush=True)


def _child(root: Path, cache: Path, size: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(root), str(cache), str(size)],
                            stdout=subprocess.PIPE, text=True)


def _run(root: Path, cache: Path, size: int) -> tuple[dict, float]:
    t0 = time.perf_counter()
    proc = _child(root, cache, size)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"reader child failed with exit status {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), wall


def _digest(cache: Path) -> str:
    """SHA-256 of images.npy's bytes and of the arrays in meta.npz (not its zip bytes: timestamps)."""
    h = hashlib.sha256()
    with open(cache / "images.npy", "rb") as fh:
        while block := fh.read(1 << 24):
            h.update(block)
    with np.load(cache / "meta.npz", allow_pickle=False) as z:
        for k in sorted(z.files):
            h.update(k.encode())
            h.update(np.ascontiguousarray(z[k]).tobytes())
    return h.hexdigest()


def _markers(cache: Path) -> tuple[int, int]:
    """(hash shards written, image shards marked done) under a reading cache."""
    a = cache / "affectnet"
    hashes = sum(1 for _ in a.glob("index-*/hashes/*.npy"))
    done = sum(1 for d in a.glob("*/done") for _ in d.iterdir())
    return hashes, done


def _report(label: str, r: dict, wall: float) -> None:
    rss, base = r["peak_rss_kib"] * 1024, r["rss_after_imports_kib"] * 1024
    allow = r["output_bytes"] + ALLOWANCE_MB * 10**6
    print(f"{label}: {r['n']:,} images kept in {r['seconds']:.1f} s = {r['n'] / r['seconds']:,.0f} images/s "
          f"(child wall {wall:.1f} s with start-up); images decoded {r['decoded']:,}", flush=True)
    print(f"  peak RSS {_mib(rss)} (after imports {_mib(base)}, reading added {_mib(rss - base)}); "
          f"output arrays {_mib(r['output_bytes'])} (images {_mib(r['images_bytes'])}); "
          f"allowance output + {ALLOWANCE_MB} MB = {_mib(allow)}: {'within' if rss <= allow else 'EXCEEDED'}",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks affectnet_scale")
    ap.add_argument("--n", type=int, default=100_000, help="images in the generated corpus")
    ap.add_argument("--size", type=int, default=128, help="side of the images and of the output, pixels")
    ap.add_argument("--corpus", type=Path, default=None, help="where the generated corpus is kept")
    ap.add_argument("--index-rows", type=int, default=0,
                    help="only measure the row list (index, hashing, meta) at this many csv rows, with stub "
                         "files; 420299 = AffectNet's manually annotated lists")
    args = ap.parse_args(argv or [])
    if args.index_rows:
        index_at_scale(args.index_rows, args.corpus)
        return
    root = args.corpus or corpus_dir(args.n, args.size)
    if (root / "corpus.json").exists():
        counts = json.loads((root / "corpus.json").read_text())
        print(f"corpus {root}: reused ({counts['images']:,} images)", flush=True)
    else:
        t0 = time.perf_counter()
        counts = generate(root, args.n, args.size)
        print(f"corpus {root}: generated {args.n:,} JPEG images {args.size}x{args.size} in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    disk = sum(f.stat().st_size for f in (root / "Manually_Annotated_Images").rglob("*.jpg"))
    print(f"  {counts['rows']:,} rows, {counts['excluded']:,} with expressions 8..10, {counts['content_copies']} "
          f"byte copies, {counts['paths_listed_twice']} paths listed twice; JPEG bytes {_mib(disk)}; "
          f"expected kept {counts['expected_kept']:,}", flush=True)

    with tempfile.TemporaryDirectory(prefix="rbdm-affectnet-scale-") as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        r1, w1 = _run(root, a, args.size)
        _report("fresh read", r1, w1)
        print(f"  dropped {r1['dropped']}; kept {'as expected' if r1['n'] == counts['expected_kept'] else 'UNEXPECTED'}",
              flush=True)
        r2, w2 = _run(root, a, args.size)
        _report("second read (cache hit)", r2, w2)

        t0 = time.perf_counter()
        proc = _child(root, b, args.size)
        n_shards = -(-r1["n"] // 4096)
        while proc.poll() is None and _markers(b)[1] < max(1, n_shards // 2):
            time.sleep(0.1)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        t_kill = time.perf_counter() - t0
        hashes, done = _markers(b)
        print(f"interrupted read: {'SIGKILL' if killed else 'NOT killed (finished first)'} after {t_kill:.1f} s "
              f"with {hashes} hash shards and {done} of {n_shards} image shards marked done", flush=True)
        r3, w3 = _run(root, b, args.size)
        _report("resumed read", r3, w3)
        same = _digest(Path(r1["cache"])) == _digest(Path(r3["cache"]))
        print(f"  resumed: {done} image shards reused, {r3['decoded']:,} images decoded by the re-run "
              f"(of {r3['n']:,}); interrupted + resumed {t_kill + w3:.1f} s vs uninterrupted {w1:.1f} s; "
              f"images.npy + meta {'EQUAL to' if same else 'DIFFER from'} the uninterrupted read", flush=True)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"largest peak RSS of any child (RUSAGE_CHILDREN) {_mib(ch)}; this process {_mib(own)}")


if __name__ == "__main__":
    main(sys.argv[1:])
