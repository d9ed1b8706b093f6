"""`rbdm predict --model NAME_OR_PATH IMAGE...`: find the faces in image files and classify each.

By default (`--faces detect`) every face is found (BlazeFace, the detector inside the `mediapipe`
wheel; rbdm_core.data.face_detect), cropped as a square around its box with a margin
(rbdm_core.data.face_crop: 0.125 box sides a side, centred 0.10 box side above the box's centre,
the image's edge repeated where the square leaves it) and classified. CSV on stdout, one row per
face: `path,face,x,y,width,height,score,label,probability,note` with `face` the face's number in
its image (0, 1, ... left to right), x, y, width, height its detected box in the image's pixels
(x, y = top-left corner) and score the detector's confidence (0..1). An image with no face found
gets one row with face, box, score, label and probability empty and the reason in `note` (also
said on stderr). Images whose long side exceeds 768 px are searched at every scale (overlapping
tiles; docs/faces.md), smaller ones in one pass. --min-score S (default 0.5) keeps faces of score
>= S; --align turns each crop so the eyes are level (default off); --flip-average classifies the
mean of the softmax of the crop and its mirror image (default off); docs/faces.md says what each
did on the labelled photographs.
`--faces whole` classifies the whole image instead (the earlier behaviour): CSV
`path,label,probability`.

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
columns path,frame,time_ms,track,face,x,y,width,height,score,label,probability,note: track numbers the
same face across frames (box overlap), face numbers faces within a frame; an image's rows (one per
face) leave frame, time_ms and track empty. A video that cannot be read or has no face
in any frame is named on stderr and skipped (no row of it is written).
"""

from __future__ import annotations

import argparse
import csv
import sys

import numpy as np

from rbdm_core.data.face_detect import MIN_SCORE, check_min_score, detect_faces, no_face_note
from rbdm_core.models import load_bundle
from rbdm_core.progress import disabled

#: the measured defaults of --align and --flip-average (docs/faces.md: on the four posed
#: portraits alignment took the right labels from 2 to 1 and flip averaging left them at 2, so
#: neither is on unless asked)
ALIGN, FLIP_AVERAGE = False, False
#: a progress bar (stderr) shows while faces are found in at least this many images
PROGRESS_FROM = 20


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("predict", help="classify the faces in image files (or whole images) with a model",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fer2013-pretrained or a saved model folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...) or folders of them")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--step", type=float, default=40.0, metavar="MS",
                   help="videos: take a frame every MS milliseconds of video time (default 40)")
    add_faces_argument(p)
    return p




def add_faces_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--faces", choices=("detect", "whole"), default="detect",
                   help="detect: find the faces and use each one's crop (default); "
                        "whole: use the whole image, as before")
    p.add_argument("--min-score", type=str, default=str(MIN_SCORE), metavar="S",
                   help=f"keep faces whose detector score is >= S, a number in (0, 1] (default {MIN_SCORE})")
    p.add_argument("--align", action=argparse.BooleanOptionalAction, default=ALIGN,
                   help="turn each face crop so that the eyes are level, centred by the keypoints "
                        f"(default {'on' if ALIGN else 'off'})")
    p.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=FLIP_AVERAGE,
                   help="classify by the mean of the softmax of each crop and its mirror image "
                        f"(default {'on' if FLIP_AVERAGE else 'off'})")


def face_options(args: argparse.Namespace) -> tuple[float, bool, bool]:
    """(min_score, align, flip_average) from the parsed options, --min-score checked."""
    return (check_min_score(getattr(args, "min_score", MIN_SCORE)), bool(getattr(args, "align", ALIGN)),
            bool(getattr(args, "flip_average", FLIP_AVERAGE)))


def find_faces(command: str, images, paths, channels: int, min_score: float = MIN_SCORE, align: bool = False):
    """Detect and crop every face of `images` ((H, W, 3) uint8 RGB): the `FaceCrop`s (pixels in
    `channels`; faces of score >= min_score, `align`ed or not) and the indices of the images
    without a face (each named on stderr)."""
    from tqdm.auto import tqdm  # deferred: keeps `rbdm --help` fast: tqdm.auto (about 0.1 s)

    from rbdm_core.data.face_crop import crops_of  # deferred: keeps `rbdm --help` fast: face_crop loads PIL
    bar = tqdm(images, desc="finding faces", unit="image", file=sys.stderr, leave=False,
               disable=disabled(len(images) < PROGRESS_FROM))
    faces = [detect_faces(im, min_score) for im in bar]
    none = [i for i, b in enumerate(faces) if not b]
    for i in none:
        print(f"rbdm {command}: {paths[i]}: {no_face_note(min_score)}", file=sys.stderr)
    return crops_of(images, faces, channels, align=align), none


def read_inputs(command: str, paths, channels: int):
    """(arrays, paths, skipped count) of the readable images among `paths` (folders expanded);
    every skipped file is named on stderr. Raises ValueError when none can be read."""
    from rbdm_core.data.images import expand_inputs, read_images  # deferred: keeps `rbdm --help` fast: data.images loads PIL

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
    from rbdm_core.video.files import split_videos  # deferred: keeps `rbdm --help` fast: video.files loads PIL, tqdm and imageio-ffmpeg

    min_score, align, flip = face_options(args)
    videos, _, _ = split_videos(args.images)
    if videos:
        return _run_with_videos(args)
    bundle = load_bundle(args.model)
    w = csv.writer(sys.stdout, lineterminator="\n")
    if args.faces == "whole":
        images, paths, n_skipped = read_inputs("predict", args.images, bundle.preprocess.channels)
        w.writerow(["path", "label", "probability"])
        for path, img in zip(paths, images):  # sizes differ: one image at a time
            label, p = _classify(bundle, img, flip)
            w.writerow([str(path), label, f"{p:.6f}"])
        n_done = len(paths)
    else:
        images, paths, n_skipped = read_inputs("predict", args.images, 3)
        crops, none = find_faces("predict", images, paths, bundle.preprocess.channels, min_score, align)
        w.writerow(["path", "face", "x", "y", "width", "height", "score", "label", "probability", "note"])
        by_image: dict[int, list] = {}
        for c in crops:
            by_image.setdefault(c.image, []).append(c)
        for i, path in enumerate(paths):
            if i in none:
                w.writerow([str(path), "", "", "", "", "", "", "", "", no_face_note(min_score)])
            for c in by_image.get(i, []):
                label, p = _classify(bundle, c.pixels, flip)
                w.writerow([str(path), c.face, *c.box, f"{c.score:.6f}", label, f"{p:.6f}", ""])
        n_done = len(paths)
        print(f"rbdm predict: {len(crops)} face(s) in {len(paths)} image(s)", file=sys.stderr)
    if n_skipped:
        print(f"rbdm predict: {n_skipped} file(s) skipped, {n_done} classified", file=sys.stderr)
    return 1 if n_skipped else 0


def _run_with_videos(args: argparse.Namespace) -> int:
    """Images and videos: one CSV in the video columns (see the module docstring)."""
    from rbdm_core.video.files import COLUMNS, predict_images, predict_videos, split_videos  # deferred: keeps `rbdm --help` fast: video.files loads PIL, tqdm and imageio-ffmpeg
    from rbdm_core.video.reader import check_step  # deferred: keeps `rbdm --help` fast: video.reader loads imageio-ffmpeg

    step = check_step(args.step)
    min_score, align, flip = face_options(args)
    videos, others, notes = split_videos(args.images)
    for note in notes:
        print(f"rbdm predict: {note}", file=sys.stderr)
    bundle = load_bundle(args.model)
    faces = getattr(args, "faces", "detect")  # --faces whole: the whole frame / image as the face
    opts = {"min_score": min_score, "align": align, "flip_average": flip}
    image_rows, n_skipped = predict_images("predict", bundle, others, faces, **opts) if others else ([], 0)
    video_rows, v_skipped = predict_videos("predict", bundle, videos, step, faces=faces, **opts)
    n_skipped += v_skipped
    n_files = len(videos) + len(others)
    if n_skipped == n_files:
        raise ValueError(f"none of the {n_files} input file(s) could be read (or held a face)")
    from rbdm_core.video.files import expand  # deferred: keeps `rbdm --help` fast: video.files loads PIL, tqdm and imageio-ffmpeg

    order = {str(p): i for i, p in reversed(list(enumerate(expand(args.images)[0])))}
    rows = sorted(image_rows + video_rows, key=lambda r: order[r[0]])  # stable: input order, then frames
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    if n_skipped:
        print(f"rbdm predict: {n_skipped} file(s) skipped, {n_files - n_skipped} classified", file=sys.stderr)
    return 1 if n_skipped else 0


def _classify(bundle, image, flip_average: bool = False) -> tuple[str, float]:
    """(label, probability) of the most probable class for one (H, W, C) uint8 image
    (`flip_average`: of the mean softmax of the image and its mirror image)."""
    p = bundle.predict_proba(image[None])[0]
    if flip_average:
        p = (p + bundle.predict_proba(image[None, :, ::-1])[0]) / np.float32(2)
    k = int(np.argmax(p))
    return bundle.class_names[k], float(p[k])
