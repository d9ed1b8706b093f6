"""`rbdm explain --model NAME_OR_PATH --method METHOD --out DIR IMAGE...`: relevance maps of image files.

By default (`--faces detect`) the faces in each IMAGE are found and cropped as `rbdm predict`
does (BlazeFace; a square around the box, 0.125 box sides a side), and for face k of IMAGE it
writes, atomically, into DIR:
  <stem>_face<k>.npy  the relevance map, (h, w) float32 at the model's input size, channels
                      summed, explaining the predicted class before the softmax;
  <stem>_face<k>.png  an overlay: the model's (grayscale) view of the crop with positive relevance
                      in red and negative in blue, a colour bar, the label and its probability;
  <stem>.png          the whole photograph with every face's relevance in its crop square, one
                      colour scale for all its faces, each box numbered and labelled.
An image with no face found is named on stderr and gets no files. `--faces whole` explains the
whole image instead (the earlier behaviour): <stem>.npy and <stem>.png. --min-score, --align and
--flip-average are `rbdm predict`'s; with --flip-average the class explained is the flip-averaged
prediction and the map the mean of the crop's map and its mirror image's map mirrored back.
Overlays use a robust colour scale: |R| at the 99.5th percentile of the map's |R| (of all faces'
maps, for the photograph) is full colour, beyond it clipped; the figure states the scale and the
share of pixels clipped (rbdm_core.relevance_overlay).
NAME_OR_PATH is what `rbdm predict` accepts (fer2013-pretrained or a saved model folder). Images
of any size and colour are brought to the model's input as its preprocessing says, and all faces
(or images) are analysed in one call (one analyzer build, whatever the mix of sizes). A folder
given as IMAGE stands for its image files; a file that cannot be read is named on stderr and
skipped, the others are still explained, and the exit status is 1 when anything was skipped (2,
with nothing written, when nothing could be read).

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
import re
import sys
from pathlib import Path

import numpy as np

from rbdm_core.artifacts import atomic_path
from rbdm_core.commands.predict import add_faces_argument, face_options, find_faces, read_inputs
from rbdm_core.models import load_bundle
from rbdm_core.saliency import METHODS, relevance


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("explain", help="relevance maps (.npy) and overlays (.png) of image files",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fer2013-pretrained or a saved model folder")
    p.add_argument("--method", default="deep_taylor", help=f"one of {', '.join(METHODS)} (default deep_taylor)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--step", type=float, default=40.0, metavar="MS",
                   help="videos: take a frame every MS milliseconds of video time (default 40)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...) or folders of them")
    add_faces_argument(p)
    return p


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)


def run(args: argparse.Namespace) -> int:
    if args.method not in METHODS:
        raise ValueError(f"--method {args.method!r}: expected one of {', '.join(METHODS)}")
    face_options(args)  # --min-score checked before any work
    from rbdm_core.video.files import split_videos  # deferred: keeps `rbdm --help` fast: video.files loads PIL, tqdm and imageio-ffmpeg

    videos, others, notes = split_videos(args.images)
    if videos:
        for note in notes:
            print(f"rbdm explain: {note}", file=sys.stderr)
        return _run_with_videos(args, videos, others)
    return _run_images(args)


def _run_with_videos(args: argparse.Namespace, videos, others) -> int:
    """Videos (and any images beside them): the images as `_run_images` does them."""
    from rbdm_core.video.files import explain_videos  # deferred: keeps `rbdm --help` fast: video.files loads PIL, tqdm and imageio-ffmpeg
    from rbdm_core.video.reader import check_step  # deferred: keeps `rbdm --help` fast: video.reader loads imageio-ffmpeg

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
    min_score, align, flip = face_options(args)
    written, skipped = explain_videos(load_bundle(args.model), args.method, videos, out, step,
                                      batch_size=args.batch_size, faces=getattr(args, "faces", "detect"),
                                      min_score=min_score, align=align, flip_average=flip)
    if not written and (not others or code_images == 2):
        if not existed and not any(out.iterdir()):
            out.rmdir()
        raise ValueError(f"none of the {len(videos) + n_image_files} input file(s) could be read (or held a face)")
    if skipped:
        print(f"rbdm explain: {skipped} video(s) skipped", file=sys.stderr)
    return 1 if (skipped or code_images) else 0


def _run_images(args: argparse.Namespace) -> int:
    from rbdm_core.data.images import expand_inputs  # deferred: keeps `rbdm --help` fast: data.images loads PIL

    files, _ = expand_inputs(args.images)
    stems = [p.stem for p in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f"IMAGE: several images share the file stem {dup[0]!r}; their outputs "
                         f"{dup[0]}.npy/.png would overwrite each other")
    if args.faces == "detect":  # <stem>_face<k>.* must not be another image's outputs
        for s in stems:
            m = re.fullmatch(r"(.+)_face\d+", s)
            if m and m.group(1) in stems:
                raise ValueError(f"IMAGE: the outputs of image {s!r} would overwrite the face outputs "
                                 f"of image {m.group(1)!r} ({s}.npy/.png); rename one of them")
    bundle = load_bundle(args.model)
    channels = bundle.preprocess.channels if args.faces == "whole" else 3
    images, paths, n_skipped = read_inputs("explain", args.images, channels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.faces == "whole":
        n = _explain_whole(bundle, images, paths, out, args)
        print(f"wrote {n} maps and overlays to {out}", file=sys.stderr)
    else:
        n = _explain_faces(bundle, images, paths, out, args)
        print(f"wrote {n} face maps and overlays to {out}", file=sys.stderr)
    if n_skipped:
        print(f"rbdm explain: {n_skipped} file(s) skipped", file=sys.stderr)
    return 1 if n_skipped else 0


def _relevance(bundle, images, args):
    """(Relevance, (N, K) probabilities) of `images` (list of (h, w, C) uint8): the predicted class
    explained; with --flip-average the flip-averaged class and map (`video.files.flip_relevance`)."""
    from rbdm_core.video.files import flip_relevance, probabilities  # deferred: keeps `rbdm --help` fast: video.files loads PIL, tqdm and imageio-ffmpeg

    if getattr(args, "flip_average", False):
        probs = probabilities(bundle, images, flip_average=True)
        from rbdm_core.video.files import model_view  # deferred: as above
        return flip_relevance(bundle, model_view(bundle, images), args.method, args.batch_size,
                              probs.argmax(axis=1)), probs
    rel = relevance(bundle, images, method=args.method, batch_size=args.batch_size)
    probs = [bundle.predict_proba(im[None])[0] for im in images]
    return rel, probs


def _view(bundle, image: np.ndarray) -> np.ndarray:
    """The model's input for one (H, W, C) uint8 image, channels averaged: (h, w) float."""
    return bundle.preprocess(image[None]).mean(axis=-1)[0]


def _line(path, face, bundle, rel, i) -> str:
    where = f"{path}" if face is None else f"{path}\tface={face}"
    return (f"{where}\t{bundle.class_names[int(rel.targets[i])]}\tlogit={rel.logits[i]:.4g}"
            f"\tsum={rel.sums[i]:.4g}{'  (constant map)' if rel.constant[i] else ''}")


def _explain_whole(bundle, images, paths, out: Path, args) -> int:
    from rbdm_core.relevance_overlay import save_face_png  # deferred: keeps `rbdm --help` fast: relevance_overlay loads PIL
    # one analysis for all images: each is brought to the model's input by its preprocessing
    # (sizes may differ), so many sizes cost what one size costs
    rel, probs = _relevance(bundle, images, args)
    for i, im in enumerate(images):
        stem = paths[i].stem
        prob = float(probs[i][int(rel.targets[i])])
        _save_npy(out / f"{stem}.npy", rel.maps[i].astype(np.float32))
        save_face_png(out / f"{stem}.png", _view(bundle, im), rel.maps[i],
                      bundle.class_names[int(rel.targets[i])], prob, title=f"{paths[i].name} ({args.method})")
        print(_line(paths[i], None, bundle, rel, i))
    return len(images)


def _explain_faces(bundle, images, paths, out: Path, args) -> int:
    from rbdm_core.data.images import convert_channels  # deferred: keeps `rbdm --help` fast: data.images loads PIL
    from rbdm_core.relevance_overlay import save_face_png, save_photo_png  # deferred: keeps `rbdm --help` fast: relevance_overlay loads PIL
    min_score, align, _ = face_options(args)
    crops, _ = find_faces("explain", images, paths, bundle.preprocess.channels, min_score, align)
    if not crops:
        return 0
    # one analysis for every face of every image (crop sizes differ)
    rel, probs = _relevance(bundle, [c.pixels for c in crops], args)
    per_image: dict[int, list[int]] = {}
    for j, c in enumerate(crops):
        stem = paths[c.image].stem
        label = bundle.class_names[int(rel.targets[j])]
        prob = float(probs[j][int(rel.targets[j])])
        _save_npy(out / f"{stem}_face{c.face}.npy", rel.maps[j].astype(np.float32))
        save_face_png(out / f"{stem}_face{c.face}.png", _view(bundle, c.pixels), rel.maps[j], label, prob,
                      title=f"{paths[c.image].name} face {c.face} ({args.method})")
        print(_line(paths[c.image], c.face, bundle, rel, j))
        per_image.setdefault(c.image, []).append((j, label, prob))
    for i, faces in per_image.items():
        idx = [j for j, _, _ in faces]
        save_photo_png(out / f"{paths[i].stem}.png", convert_channels(images[i], 1)[..., 0],
                       [rel.maps[j] for j in idx], [crops[j].square for j in idx],
                       [crops[j].box for j in idx], [lab for _, lab, _ in faces], [p for _, _, p in faces],
                       title=f"{paths[i].name} ({args.method})")
    return len(crops)
