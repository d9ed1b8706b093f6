"""`rbdm predict --model NAME_OR_PATH IMAGE...`: classify image files, CSV `path,label,probability`.

NAME_OR_PATH is a built-in model (fer2013-pretrained) or a folder written by `rbdm train` /
`rbdm_core.models.save_bundle`. Images of any size, colour or grayscale, are converted to the
model's channels and resized as the model's preprocessing says. label = the most probable class
(FERPlus name), probability = its softmax probability. A folder given as IMAGE stands for its image
files. A file that cannot be read (missing, empty, truncated, not an image) is named on stderr and
skipped; the others are still classified, and the exit status is 1 when anything was skipped (2,
with no output, when nothing could be read).

Videos (.mp4 .mov .avi .mkv .webm .m4v, any case; anything ffmpeg reads) are classified face by face
at every frame the step takes (--step MS, default 40: frame k, at k * 1000 / fps ms, is taken when
its time crosses the next multiple of the step). With a video among the inputs the CSV has the
columns path,frame,time_ms,track,face,x,y,width,height,label,probability,note: track numbers the
same face across frames (box overlap), face numbers faces within a frame; an image's rows (one per
face) leave frame, time_ms and track empty. A video that cannot be read or has no face
in any frame is named on stderr and skipped (no row of it is written).
"""

from __future__ import annotations

import argparse
import csv
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("predict", help="classify image files with a model", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fer2013-pretrained or a saved model folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...) or folders of them")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--step", type=float, default=40.0, metavar="MS",
                   help="videos: take a frame every MS milliseconds of video time (default 40)")
    return p


def read_inputs(command: str, paths, channels: int):
    """(arrays, paths, skipped count) of the readable images among `paths` (folders expanded);
    every skipped file is named on stderr. Raises ValueError when none can be read."""
    from rbdm_core.data.images import expand_inputs, read_images

    files, notes = expand_inputs(paths)
    for note in notes:
        print(f"rbdm {command}: {note}", file=sys.stderr)
    arrays, ok, skipped = read_images(files, channels)
    for path, reason in skipped:
        print(f"rbdm {command}: skipped {path}: {reason}", file=sys.stderr)
    if not arrays:
        raise ValueError(f"none of the {len(files)} image file(s) could be read" if files else
                         "no image files among the inputs")
    return arrays, ok, len(skipped)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from rbdm_core.models import load_bundle

    from rbdm_core.video.commands import split_videos

    videos, _, _ = split_videos(args.images)
    if videos:
        return _run_with_videos(args)
    bundle = load_bundle(args.model)
    images, paths, n_skipped = read_inputs("predict", args.images, bundle.preprocess.channels)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["path", "label", "probability"])
    for path, img in zip(paths, images):  # sizes differ: one image at a time
        p = bundle.predict_proba(img[None])[0]
        k = int(np.argmax(p))
        w.writerow([str(path), bundle.class_names[k], f"{float(p[k]):.6f}"])
    if n_skipped:
        print(f"rbdm predict: {n_skipped} file(s) skipped, {len(paths)} classified", file=sys.stderr)
    return 1 if n_skipped else 0


def _run_with_videos(args: argparse.Namespace) -> int:
    """Images and videos: one CSV in the video columns (see the module docstring)."""
    from rbdm_core.models import load_bundle
    from rbdm_core.video.commands import COLUMNS, predict_images, predict_videos, split_videos
    from rbdm_core.video.reader import check_step

    step = check_step(args.step)
    videos, others, notes = split_videos(args.images)
    for note in notes:
        print(f"rbdm predict: {note}", file=sys.stderr)
    bundle = load_bundle(args.model)
    faces = getattr(args, "faces", "detect")  # --faces whole: the whole frame / image as the face
    image_rows, n_skipped = predict_images("predict", bundle, others, faces) if others else ([], 0)
    video_rows, v_skipped = predict_videos("predict", bundle, videos, step, faces=faces)
    n_skipped += v_skipped
    n_files = len(videos) + len(others)
    if n_skipped == n_files:
        raise ValueError(f"none of the {n_files} input file(s) could be read (or held a face)")
    from rbdm_core.video.commands import expand

    order = {str(p): i for i, p in reversed(list(enumerate(expand(args.images)[0])))}
    rows = sorted(image_rows + video_rows, key=lambda r: order[r[0]])  # stable: input order, then frames
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    if n_skipped:
        print(f"rbdm predict: {n_skipped} file(s) skipped, {n_files - n_skipped} classified", file=sys.stderr)
    return 1 if n_skipped else 0
