"""Faces in a video, frame by frame: detect, track, classify (`classify_video`) and explain into
an overlay MP4 (`explain_video`).

The detector, the crop and the classifier / explainer are plain callables, so this module knows
nothing of any model or detector:
  detect(frame (H, W, 3) uint8) -> boxes: each an object with x, y, width, height (and score)
      attributes (pixels, top-left corner) or a sequence (x, y, width, height[, score]);
  crop(frame, detection) -> (crop (h, w, 3) uint8, region (x, y, width, height)): the pixels the
      classifier sees and the frame rectangle they cover (it may reach past the frame where the
      crop was padded); default `box_crop` (the box clipped to the frame);
  classify(crops: list of (h, w, 3) uint8) -> [(label, probability), ...], one per crop;
  explain(crops) -> [(label, probability, relevance map (h', w') float), ...].
Faces of several frames are classified together (`batch_faces`), which is what makes the
classifier fast; rows come out in frame order, faces in the detector's order within a frame.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from rbdm_core.progress import disabled
from rbdm_core.relevance_overlay import robust_scale
from rbdm_core.video.overlay import blend, label_box
from rbdm_core.video.reader import DEFAULT_STEP_MS, VideoError, VideoInfo, check_step, probe, read_frames
from rbdm_core.video.tracks import Tracker
from rbdm_core.video.writer import mp4_writer

Box = tuple[int, int, int, int]


class NoFaceError(ValueError):
    """A readable video in whose processed frames the detector found no face."""


@dataclass(frozen=True)
class FaceRow:
    """One face in one processed frame: frame index, its time (ms), track id, face number within
    the frame (0-based, the detector's order), box in frame pixels, class label, probability,
    and the detector's score (NaN where the detector gives none)."""

    frame: int
    time_ms: float
    track: int
    face: int
    x: int
    y: int
    width: int
    height: int
    label: str
    probability: float
    score: float = float("nan")


@dataclass
class VideoResult:
    """What `classify_video` / `explain_video` found: `rows` (FaceRow, frame order), `frames` the
    number of processed frames, `seconds` the wall time, `note` a remark for the user (e.g. the
    video ended before its stated duration) or ""."""

    path: Path
    info: VideoInfo
    rows: list[FaceRow] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    note: str = ""
    out: Path | None = None


def box_xywh(box: Any) -> Box:
    """A detector's box as (x, y, width, height) ints: an object with those attributes or a
    sequence whose first four entries they are."""
    if hasattr(box, "width"):
        vals = (box.x, box.y, box.width, box.height)
    else:
        vals = tuple(box)[:4]
    return tuple(int(round(float(v))) for v in vals)  # type: ignore[return-value]


def box_score(box: Any) -> float:
    """A detector's score for `box` (its `score` attribute or fifth entry), NaN when it has none."""
    if hasattr(box, "score"):
        return float(box.score)
    vals = tuple(box) if not hasattr(box, "width") else ()
    return float(vals[4]) if len(vals) > 4 else float("nan")


def box_crop(frame: np.ndarray, box: Any) -> tuple[np.ndarray, Box]:
    """The box's pixels (clipped to the frame) and the region they cover."""
    x, y, w, h = box_xywh(box)
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face box {(x, y, w, h)} lies outside the {W}x{H} frame")
    return frame[y0:y1, x0:x1], (x0, y0, x1 - x0, y1 - y0)


def whole_frame(frame: np.ndarray) -> list[Box]:
    """Stand-in detector: the whole frame as one face (for videos of cropped faces)."""
    return [(0, 0, int(frame.shape[1]), int(frame.shape[0]))]


def _bar(info: VideoInfo, step_ms: float, progress: bool, what: str):
    return tqdm(total=info.expected_frames(step_ms), desc=f"{what} {info.path.name}", unit="frame",
                disable=disabled(not progress), leave=False)


def _short_note(info: VideoInfo, last_ms: float | None, step_ms: float) -> str:
    """A note when decoding stopped well before the container's stated duration (a cut file)."""
    if last_ms is None or info.duration_s <= 0:
        return ""
    end_ms = info.duration_s * 1000.0
    if last_ms + max(step_ms, 1000.0 / info.fps) * 2 + 100.0 < end_ms:
        return (f"decoding ended at {last_ms / 1000:.2f} s of the stated {info.duration_s:.2f} s "
                f"(the file may be truncated)")
    return ""


def _detect_frames(path: Path, info: VideoInfo, detect, crop, step_ms, tracker, bar, on_frame=None):
    """Generator over processed frames: (frame, [(track, box, crop, region, score)])."""
    for fr in read_frames(path, step_ms, info=info):
        found = list(detect(fr.image))
        boxes = [box_xywh(b) for b in found]
        tracks = tracker.update(boxes)
        faces = []
        for t, b, d in zip(tracks, boxes, found):
            c, region = crop(fr.image, d)
            faces.append((t, b, c, region, box_score(d)))
        bar.update(1)
        yield fr, faces


def classify_video(path: str | os.PathLike, detect: Callable, classify: Callable, *,
                   step_ms: float = DEFAULT_STEP_MS, crop: Callable = box_crop, batch_faces: int = 64,
                   min_iou: float = 0.3, max_gap: int = 5, progress: bool = True) -> VideoResult:
    """Detect, track and classify the faces of `path`'s frames taken at `step_ms` (see
    `reader`). Raises VideoError for an unreadable video, NoFaceError when no frame has a face."""
    path = Path(path)
    step_ms = check_step(step_ms)
    t0 = time.perf_counter()
    info = probe(path)
    res = VideoResult(path, info)
    pending: list[tuple[Any, int, int, Box, np.ndarray, float]] = []  # (frame, track, face no, box, crop, score)

    def flush():
        if not pending:
            return
        out = list(classify([p[4] for p in pending]))
        if len(out) != len(pending):
            raise ValueError(f"classifier returned {len(out)} results for {len(pending)} faces")
        for (fr, t, i, b, _, sc), (label, prob) in zip(pending, out):
            res.rows.append(FaceRow(fr.index, fr.time_ms, t, i, *b, str(label), float(prob), sc))
        pending.clear()

    last = None
    with _bar(info, step_ms, progress, "predict") as bar:
        for fr, faces in _detect_frames(path, info, detect, crop, step_ms, Tracker(min_iou, max_gap), bar):
            res.frames += 1
            last = fr.time_ms
            for i, (t, b, c, _, sc) in enumerate(faces):
                pending.append((fr, t, i, b, c, sc))
            if len(pending) >= batch_faces:
                flush()
        flush()
    res.note = _short_note(info, last, step_ms)
    res.seconds = time.perf_counter() - t0
    if not res.rows:
        raise NoFaceError(f"video file {path}: no face found in any of its {res.frames} processed "
                          f"frame(s) (step {step_ms:g} ms)")
    return res


def explain_video(path: str | os.PathLike, out: str | os.PathLike, detect: Callable, explain: Callable, *,
                  step_ms: float = DEFAULT_STEP_MS, crop: Callable = box_crop, chunk: int = 512,
                  min_iou: float = 0.3, max_gap: int = 5, progress: bool = True) -> VideoResult:
    """Like `classify_video`, and writes `out` (MP4, atomically): every processed frame with each
    face's relevance blended in place, its box and "track: label probability". Two passes over
    the video: faces and their relevance first (`explain` called on `chunk` crops at a time; only
    the maps are kept), then the frames again to draw; so a video without faces writes nothing.
    Output frame rate: min(video fps, 1000 / step_ms), the rate of processed frames."""
    path, out = Path(path), Path(out)
    step_ms = check_step(step_ms)
    t0 = time.perf_counter()
    info = probe(path)
    res = VideoResult(path, info, out=out)
    per_frame: list[list[tuple[int, Box, Box, float]]] = []  # per processed frame: (track, box, region, score)
    crops: list[np.ndarray] = []  # at most `chunk` waiting for `explain`; only the maps are kept
    frame_ids: list[tuple[int, float]] = []
    results: list = []

    def flush():
        part = list(explain(crops)) if crops else []
        if len(part) != len(crops):
            raise ValueError(f"explainer returned {len(part)} results for {len(crops)} faces")
        results.extend(part)
        crops.clear()

    with _bar(info, step_ms, progress, "faces") as bar:
        for fr, faces in _detect_frames(path, info, detect, crop, step_ms, Tracker(min_iou, max_gap), bar):
            per_frame.append([(t, b, r, sc) for t, b, _, r, sc in faces])
            crops += [np.ascontiguousarray(c) for _, _, c, _, _ in faces]
            frame_ids.append((fr.index, fr.time_ms))
            if len(crops) >= chunk:
                flush()
    res.frames = len(per_frame)
    if not crops and not results:
        raise NoFaceError(f"video file {path}: no face found in any of its {res.frames} processed "
                          f"frame(s) (step {step_ms:g} ms); no {out.name} written")
    flush()
    tracks = [t for faces in per_frame for t, _, _, _ in faces]
    scales = {t: robust_scale([results[i][2] for i, tt in enumerate(tracks) if tt == t]) for t in set(tracks)}
    fps_out = min(info.fps, 1000.0 / step_ms)
    k = 0
    with _bar(info, step_ms, progress, "overlay") as bar, mp4_writer(out, info.size, fps_out) as writer:
        n = 0
        for fr in read_frames(path, step_ms, info=info):
            if n >= len(per_frame) or fr.index != frame_ids[n][0]:
                raise VideoError(f"video file {path}: the second decoding pass disagrees with the first at "
                                 f"frame {fr.index}")
            img = fr.image.copy()
            labels = []
            for i, (t, b, region, sc) in enumerate(per_frame[n]):
                label, prob, rmap = results[k]
                blend(img, region, np.asarray(rmap), scales[t])
                res.rows.append(FaceRow(fr.index, fr.time_ms, t, i, *b, str(label), float(prob), sc))
                labels.append((b, f"{t}: {label} {float(prob):.2f}"))
                k += 1
            for b, text in labels:
                img = label_box(img, b, text)
            writer.append(img)
            n += 1
            bar.update(1)
        if n != len(per_frame):
            raise VideoError(f"video file {path}: the second decoding pass gave {n} frames, the first {len(per_frame)}")
    res.note = _short_note(info, frame_ids[-1][1] if frame_ids else None, step_ms)
    res.seconds = time.perf_counter() - t0
    return res
