"""`rbdm explain --model NAME_OR_PATH --method METHOD --out DIR IMAGE...`: relevance maps of image files.

For each IMAGE writes, atomically, into DIR:
  <stem>.npy  the relevance map, (h, w) float32 at the model's input size, channels summed,
              explaining the predicted class before the softmax;
  <stem>.png  an overlay: the model's (grayscale) view of the image with positive relevance in
              red and negative in blue, opacity proportional to |relevance| / max |relevance|.
NAME_OR_PATH is what `rbdm predict` accepts (fer2013-pretrained or a saved model folder). Images
of any size and colour are brought to the model's input as its preprocessing says, and all of them
are analysed in one call (one analyzer build, whatever the mix of sizes). A folder given as IMAGE stands for
its image files; a file that cannot be read is named on stderr and skipped, the others are still
explained, and the exit status is 1 when anything was skipped (2, with nothing written, when
nothing could be read).

A video (.mp4 .mov .avi .mkv .webm .m4v, any case) among the inputs gives, atomically:
  <stem>_relevance.mp4  every frame the step takes (--step MS, default 40, as `rbdm predict`),
                        each face's relevance blended in place (red positive, blue negative; one
                        colour scale per face track, its 99.5th percentile of |relevance|), with the
                        face's box and "track: label probability"; H.264, frame rate
                        min(video fps, 1000 / MS);
  <stem>_relevance.csv  `rbdm predict`'s video rows for it.
A video that cannot be read or has no face in any frame is named on stderr and skipped, leaving
no file behind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

#: overlay PNGs are scaled up (nearest neighbour) to at least this many pixels on the short side
OVERLAY_MIN_SIDE = 256


def add_parser(subparsers) -> argparse.ArgumentParser:
    from rbdm_core.saliency import METHODS

    p = subparsers.add_parser("explain", help="relevance maps (.npy) and overlays (.png) of image files",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fer2013-pretrained or a saved model folder")
    p.add_argument("--method", default="deep_taylor", help=f"one of {', '.join(METHODS)} (default deep_taylor)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--step", type=float, default=40.0, metavar="MS",
                   help="videos: take a frame every MS milliseconds of video time (default 40)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...) or folders of them")
    return p


def overlay(gray: np.ndarray, rmap: np.ndarray) -> np.ndarray:
    """(h, w) float gray in any range + (h, w) relevance -> (h, w, 3) uint8 RGB overlay."""
    g = gray.astype(np.float64)
    span = g.max() - g.min()
    g = (g - g.min()) / span if span > 0 else np.zeros_like(g)
    base = np.repeat((0.3 + 0.7 * g)[..., None], 3, axis=-1)  # a lighter gray, so colour shows
    peak = np.abs(rmap).max()
    a = (np.abs(rmap) / peak) if peak > 0 else np.zeros_like(rmap, dtype=np.float64)
    colour = np.where((rmap >= 0)[..., None], np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.2, 1.0]))
    out = base * (1 - a[..., None]) + colour * a[..., None]
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def _save_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    from rbdm_core.artifacts import atomic_path

    k = max(1, int(np.ceil(OVERLAY_MIN_SIDE / min(rgb.shape[:2]))))
    big = np.repeat(np.repeat(rgb, k, axis=0), k, axis=1)
    with atomic_path(path) as tmp:
        Image.fromarray(big, mode="RGB").save(tmp, format="PNG")


def _save_npy(path: Path, arr: np.ndarray) -> None:
    from rbdm_core.artifacts import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)


def run(args: argparse.Namespace) -> int:
    from rbdm_core.saliency import METHODS

    if args.method not in METHODS:
        raise ValueError(f"--method {args.method!r}: expected one of {', '.join(METHODS)}")
    from rbdm_core.video.commands import split_videos

    videos, others, notes = split_videos(args.images)
    if videos:
        for note in notes:
            print(f"rbdm explain: {note}", file=sys.stderr)
        return _run_with_videos(args, videos, others)
    return _run_images(args)


def _run_with_videos(args: argparse.Namespace, videos, others) -> int:
    """Videos (and any images beside them): the images as `_run_images` does them."""
    from rbdm_core.models import load_bundle
    from rbdm_core.video.commands import explain_videos
    from rbdm_core.video.reader import check_step

    step = check_step(args.step)
    stems = [Path(v).stem for v in videos]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f"IMAGE: several videos share the file stem {dup[0]!r}; their outputs "
                         f"{dup[0]}_relevance.mp4/.csv would overwrite each other")
    out = Path(args.out)
    existed = out.exists()
    code_images, n_image_files = 0, 0
    if others:
        image_args = [str(p) for p in others]  # folders already expanded
        n_image_files = len(image_args)
        try:
            code_images = _run_images(argparse.Namespace(**{**vars(args), "images": image_args}))
        except ValueError as exc:  # none of the images readable: each was named
            print(f"rbdm explain: {exc}", file=sys.stderr)
            code_images = 2
    out.mkdir(parents=True, exist_ok=True)
    written, skipped = explain_videos(load_bundle(args.model), args.method, videos, out, step,
                                      batch_size=args.batch_size, faces=getattr(args, "faces", "detect"))
    if not written and (not others or code_images == 2):
        if not existed and not any(out.iterdir()):
            out.rmdir()
        raise ValueError(f"none of the {len(videos) + n_image_files} input file(s) could be read (or held a face)")
    if skipped:
        print(f"rbdm explain: {skipped} video(s) skipped", file=sys.stderr)
    return 1 if (skipped or code_images) else 0


def _run_images(args: argparse.Namespace) -> int:
    from rbdm_core.models import load_bundle
    from rbdm_core.saliency import relevance

    from rbdm_core.commands.predict import read_inputs
    from rbdm_core.data.images import expand_inputs

    files, _ = expand_inputs(args.images)
    stems = [p.stem for p in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f"IMAGE: several images share the file stem {dup[0]!r}; their outputs "
                         f"{dup[0]}.npy/.png would overwrite each other")
    bundle = load_bundle(args.model)
    pre = bundle.preprocess
    images, paths, n_skipped = read_inputs("explain", args.images, pre.channels)
    stems = [p.stem for p in paths]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # one analysis for all images: each is brought to the model's input by its preprocessing
    # (sizes may differ), so many sizes cost what one size costs
    rel = relevance(bundle, images, method=args.method, batch_size=args.batch_size)
    for i, im in enumerate(images):
        view = pre(im[None]).mean(axis=-1)[0]  # the model's input, channels averaged, for the overlay
        _save_npy(out / f"{stems[i]}.npy", rel.maps[i].astype(np.float32))
        _save_png(out / f"{stems[i]}.png", overlay(view, rel.maps[i]))
        print(f"{paths[i]}\t{bundle.class_names[int(rel.targets[i])]}\tlogit={rel.logits[i]:.4g}"
              f"\tsum={rel.sums[i]:.4g}{'  (constant map)' if rel.constant[i] else ''}")
    print(f"wrote {len(images)} maps and overlays to {out}", file=sys.stderr)
    if n_skipped:
        print(f"rbdm explain: {n_skipped} file(s) skipped", file=sys.stderr)
    return 1 if n_skipped else 0
