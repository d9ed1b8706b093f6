"""What `rbdm predict` and `rbdm explain` do with video files: the detector, crop, classifier and
explainer callables for `process.classify_video` / `process.explain_video`, built from a
`ModelBundle`, and the per-file loop that names every skipped video.

Detector and crop: `rbdm_core.data.face_detect.detect_faces` (BlazeFace) and
`rbdm_core.data.face_crop`'s square crop with margin, as `rbdm predict` uses for images
(`--faces whole`: the whole frame and its own pixels, `process.box_crop`).

Library code, named for what it holds (it was `video/commands.py`, a second package-level name
`commands` beside the CLI's `rbdm_core.commands`); the CLI calls it, it never imports the CLI.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from rbdm_core.artifacts import atomic_write_text
from rbdm_core.data.face_crop import aligned_square, crop_face, crop_square, sample_rotated
from rbdm_core.data.face_detect import DETECTOR, MIN_SCORE, detect_faces, no_face_note
from rbdm_core.data.images import IMAGE_SUFFIXES, convert_channels, expand_inputs, read_images
from rbdm_core.saliency import relevance
from rbdm_core.video.process import (
    NoFaceError,
    VideoResult,
    box_crop,
    box_score,
    box_xywh,
    classify_video,
    explain_video,
    whole_frame,
)
from rbdm_core.video.reader import VIDEO_SUFFIXES, VideoError, is_video

#: the CSV columns with videos among the inputs: the still-image columns path, face, x, y, width,
#: height, score, label, probability, note, plus frame, time_ms and track (empty for an image)
COLUMNS = ("path", "frame", "time_ms", "track", "face", "x", "y", "width", "height", "score", "label",
           "probability", "note")


def detector(faces: str = "detect", min_score: float = MIN_SCORE, align: bool = False) -> tuple[Callable, Callable, str]:
    """(detect, crop, the detector's name): BlazeFace (`data.face_detect`, faces of score >=
    `min_score`) and the square crop of `data.face_crop` (`align`: the aligned crop, eyes level);
    `faces="whole"` (as `--faces whole`): the whole frame as the one face."""
    if faces == "whole":
        return whole_frame, box_crop, "whole frame"
    if faces != "detect":
        raise ValueError(f"--faces: expected detect or whole, got {faces!r}")

    def square_crop(frame, face):
        box = box_xywh(face)
        kps = getattr(face, "keypoints", ())
        if align and len(kps) >= 2:
            cx, cy, side, angle = aligned_square(box, kps)
            x, y = int(round(cx - side / 2)), int(round(cy - side / 2))
            return sample_rotated(frame, cx, cy, int(side), angle), (x, y, int(side), int(side))
        x, y, side = crop_square(box)
        return crop_face(frame, box), (x, y, side, side)

    def detect(frame):
        return detect_faces(frame, min_score)
    return detect, square_crop, DETECTOR


def model_view(bundle, crops) -> list[np.ndarray]:
    """Crops (h, w, 3) uint8 as the still-image path reads files: converted to the model's
    channels as PIL converts a file (`data.images.convert_channels`), kept at their size (the
    model's preprocessing resizes)."""
    return [convert_channels(np.asarray(c), bundle.preprocess.channels) for c in crops]


def probabilities(bundle, crops, flip_average: bool = False) -> np.ndarray:
    """(N, K) class probabilities of crops of any sizes, in one model call (each crop through the
    bundle's preprocessing alone, as `rbdm predict` treats an image file); `flip_average`: the
    mean of the softmax of each crop and of its mirror image (left and right swapped)."""
    views = model_view(bundle, crops)
    if flip_average:
        views = views + [v[:, ::-1] for v in views]
    x = np.concatenate([bundle.preprocess(v[None]) for v in views])
    p = np.asarray(bundle.model(x, training=False), dtype=np.float32)
    if flip_average:
        n = len(crops)
        p = (p[:n] + p[n:]) / np.float32(2)
    return p


def classifier_for(bundle, flip_average: bool = False) -> Callable:
    """classify(crops) -> [(label, probability)] with `bundle` (`flip_average`: see `probabilities`)."""
    def classify(crops):
        p = probabilities(bundle, crops, flip_average)
        k = p.argmax(axis=1)
        return [(bundle.class_names[int(i)], float(p[j, i])) for j, i in enumerate(k)]
    return classify


def explainer_for(bundle, method: str, batch_size: int = 32, flip_average: bool = False) -> Callable:
    """explain(crops) -> [(label, probability, relevance map (h, w) at the model input)]: the
    predicted class explained, as `rbdm explain` does for image files (`flip_average`: see
    `flip_relevance`)."""
    def explain(crops):
        views = model_view(bundle, crops)
        p = probabilities(bundle, crops, flip_average)
        rel = flip_relevance(bundle, views, method, batch_size, p.argmax(axis=1)) if flip_average else \
            relevance(bundle, views, method=method, batch_size=batch_size)
        return [(bundle.class_names[int(t)], float(p[j, int(t)]), rel.maps[j])
                for j, t in enumerate(rel.targets)]
    return explain


def flip_relevance(bundle, views, method: str, batch_size: int, targets):
    """Relevance of the flip-averaged classifier: for each image (list of (h, w, C) uint8) and
    its class `targets` (N,), the mean of its map and of its mirror image's map mirrored back; the
    logits and sums are the means of the two passes' (a `saliency.Relevance`)."""
    from dataclasses import replace  # deferred: only with --flip-average

    n = len(views)
    t = np.asarray(targets, np.int64)
    both = relevance(bundle, list(views) + [v[:, ::-1] for v in views], method=method,
                     target=np.concatenate([t, t]), batch_size=batch_size)
    maps = ((both.maps[:n] + both.maps[n:, :, ::-1]) / 2).astype(np.float32)
    logits = (both.logits[:n] + both.logits[n:]) / 2
    sums = maps.reshape(n, -1).sum(axis=1).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        cons = np.where(logits != 0, sums / logits, np.nan).astype(np.float32)
    return replace(both, maps=maps, targets=t, logits=logits, sums=sums, conservation=cons,
                   constant=both.constant[:n] & both.constant[n:])


def _row(path: Path, r) -> list[str]:
    return [str(path), str(r.frame), f"{r.time_ms:.3f}", str(r.track), str(r.face), str(r.x), str(r.y),
            str(r.width), str(r.height), _score(r.score), r.label, f"{r.probability:.6f}", ""]


def _score(score) -> str:
    """A detector score for the CSV: 6 decimals, empty where there is none (`--faces whole`)."""
    return "" if score is None or score != score else f"{float(score):.6f}"


def predict_videos(command: str, bundle, videos, step_ms: float, progress: bool = True, faces: str = "detect",
                   min_score: float = MIN_SCORE, align: bool = False, flip_average: bool = False):
    """(CSV rows in COLUMNS order, number of videos skipped): each video classified whole before
    its rows are returned, each unreadable or faceless one named on stderr."""
    detect, crop, _ = detector(faces, min_score, align)
    classify = classifier_for(bundle, flip_average)
    rows, skipped = [], 0
    for path in videos:
        try:
            res = classify_video(path, detect, classify, step_ms=step_ms, crop=crop, progress=progress)
        except (VideoError, NoFaceError) as exc:
            print(f"rbdm {command}: skipped {path}: {exc}", file=sys.stderr)
            skipped += 1
            continue
        _report(command, res)
        rows += [_row(path, r) for r in res.rows]
    return rows, skipped


def _report(command: str, res: VideoResult) -> None:
    fps = res.frames / res.seconds if res.seconds > 0 else float("nan")
    tracks = len({r.track for r in res.rows})
    print(f"rbdm {command}: {res.path}: {res.frames} frame(s) processed, {len(res.rows)} face(s) in "
          f"{tracks} track(s), {res.seconds:.1f} s ({fps:.1f} frames/s)"
          + (f" -> {res.out}" if res.out else ""), file=sys.stderr)
    if res.note:
        print(f"rbdm {command}: {res.path}: note: {res.note}", file=sys.stderr)


def explain_videos(bundle, method: str, videos, out_dir: Path, step_ms: float, batch_size: int = 32,
                   progress: bool = True, faces: str = "detect", min_score: float = MIN_SCORE,
                   align: bool = False, flip_average: bool = False) -> tuple[int, int]:
    """Write `<stem>_relevance.mp4` and `<stem>_relevance.csv` into `out_dir` per video;
    returns (written, skipped). A skipped video leaves no file behind."""
    detect, crop, _ = detector(faces, min_score, align)
    explain = explainer_for(bundle, method, batch_size, flip_average)
    written = skipped = 0
    for path in map(Path, videos):
        mp4 = out_dir / f"{path.stem}_relevance.mp4"
        try:
            res = explain_video(path, mp4, detect, explain, step_ms=step_ms, crop=crop, progress=progress)
        except (VideoError, NoFaceError) as exc:
            print(f"rbdm explain: skipped {path}: {exc}", file=sys.stderr)
            skipped += 1
            continue
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(_row(path, r) for r in res.rows)
        atomic_write_text(out_dir / f"{path.stem}_relevance.csv", buf.getvalue())
        _report("explain", res)
        print(f"{path}\t{mp4}\t{res.frames} frames\t{len(res.rows)} faces")
        written += 1
    return written, skipped


def _no_face_note(name: str, min_score: float = MIN_SCORE) -> str:
    """The still-image CSV's note for an image without a face (its words where it has them)."""
    if name == DETECTOR:
        return no_face_note(min_score)
    return f"no face found ({name})"


def predict_images(command: str, bundle, paths, faces: str = "detect", min_score: float = MIN_SCORE,
                   align: bool = False, flip_average: bool = False) -> tuple[list[list[str]], int]:
    """Image files beside videos, in the same columns: (rows, number skipped). Each face the
    detector finds is a row (frame, time_ms, track empty); an image without a face gets one row
    saying so in `note`."""
    detect, crop, name = detector(faces, min_score, align)
    classify = classifier_for(bundle, flip_average)
    arrays, ok, skipped = read_images(paths, 3)
    for path, reason in skipped:
        print(f"rbdm {command}: skipped {path}: {reason}", file=sys.stderr)
    rows = []
    for path, img in zip(ok, arrays):
        found = list(detect(img))
        if not found:
            note = _no_face_note(name, min_score)
            print(f"rbdm {command}: {path}: {note}", file=sys.stderr)
            rows.append([str(path)] + [""] * (len(COLUMNS) - 2) + [note])
            continue
        for i, (d, (label, p)) in enumerate(zip(found, classify([crop(img, d)[0] for d in found]))):
            rows.append([str(path), "", "", "", str(i), *map(str, box_xywh(d)), _score(box_score(d)), label,
                         f"{p:.6f}", ""])
    return rows, len(skipped)


def expand(paths) -> tuple[list[Path], list[str]]:
    """Inputs with every folder replaced by its image and video files: (paths, notes)."""
    return expand_inputs(paths, IMAGE_SUFFIXES + VIDEO_SUFFIXES, "images or videos")


def split_videos(paths) -> tuple[list[Path], list[Path], list[str]]:
    """Inputs with folders expanded (their image and video files): (videos, other files, notes)."""
    files, notes = expand(paths)
    return [f for f in files if is_video(f)], [f for f in files if not is_video(f)], notes
