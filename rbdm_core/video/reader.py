"""Video files -> frames at a step: `(frame_index, time_ms, frame (H, W, 3) uint8)`.

Decoding is ffmpeg's, the binary bundled in the `imageio-ffmpeg` wheel (the same reader imageio's
ffmpeg plugin wraps), so every container and codec it reads works: MP4, MOV, AVI, MKV, WebM, ...
Nothing is ever downloaded: `imageio_ffmpeg.get_ffmpeg_exe()` only looks at the wheel's binary
(or `$IMAGEIO_FFMPEG_EXE`).

The step rule. Frame k's time is `t_k = k * 1000 / fps` ms on the video's own timeline (frame 0
at 0 ms; constant frame rate, the rate ffmpeg reports for the stream, as imageio's reader
assumes). With a step of S ms, frame k is taken when its time crosses the next multiple of S:

    k = 0, or floor(t_k / S) > floor(t_(k-1) / S)

i.e. for every multiple m*S the first frame at or after it, and a frame at most once. A 25 fps
video at S = 40 gives every frame; a 30 fps video at S = 40 drops one frame in six (0, 66.7, 100,
133.3, 166.7, 200, 266.7 ms, ...); at S = 1000 one frame per second of video. The frames not taken
are dropped inside ffmpeg (its `select` filter evaluates the same expression), so they are never
converted to RGB nor piped to Python.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np

#: File extensions recognised as videos (compared case-insensitively).
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")

#: The default step in milliseconds (25 frames per second of video, as the authors' module).
DEFAULT_STEP_MS = 40.0


class VideoError(ValueError):
    """A video file that cannot be read: missing, empty, truncated, not a video, no frame."""


def is_video(path: str | os.PathLike) -> bool:
    """True when `path`'s extension is one of `VIDEO_SUFFIXES` (any case)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a video's first video stream.

    size: (width, height) of the decoded frames in pixels; fps: frames per second;
    duration_s: the container's duration in seconds (0 when unknown); codec: e.g. "h264"."""

    path: Path
    size: tuple[int, int]
    fps: float
    duration_s: float
    codec: str

    def expected_frames(self, step_ms: float = DEFAULT_STEP_MS) -> int | None:
        """How many frames the step rule takes from the whole video, by its duration (an estimate:
        containers round durations; None when the duration is unknown)."""
        if self.duration_s <= 0:
            return None
        n = max(1, int(round(self.duration_s * self.fps)))
        return int(taken_mask(n, self.fps, step_ms).sum())


def check_step(step_ms) -> float:
    """`step_ms` as a positive finite float, else ValueError naming --step."""
    try:
        s = float(step_ms)
    except (TypeError, ValueError):
        s = float("nan")
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"--step: expected a positive number of milliseconds, got {step_ms!r}")
    return s


def frame_time_ms(index, fps: float):
    """Time of frame `index` (int or array) in ms: index * 1000 / fps."""
    return np.asarray(index, dtype=np.float64) * 1000.0 / fps


def taken_mask(n_frames: int, fps: float, step_ms: float) -> np.ndarray:
    """(n_frames,) bool: the frames the step rule takes (see the module docstring)."""
    k = np.arange(int(n_frames), dtype=np.float64)
    slot = np.floor(k * 1000.0 / (fps * step_ms))
    mask = np.ones(len(k), dtype=bool)
    mask[1:] = slot[1:] > slot[:-1]
    return mask


def _select_expression(fps: float, step_ms: float) -> str:
    """ffmpeg `select` expression of the step rule, on the frame number n (commas escaped)."""
    d = repr(float(fps) * float(step_ms))
    return f"select=eq(n\\,0)+gt(floor(n*1000/{d})\\,floor((n-1)*1000/{d}))"


def _ffmpeg_error(text: str) -> str:
    """The most telling line of ffmpeg's log (its errors name the demuxer's complaint)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    keys = ("Invalid data", "moov atom", "could not find", "Error", "error", "truncat", "does not contain")
    for ln in lines:
        if any(k in ln for k in keys):
            return ln
    return lines[-1] if lines else "ffmpeg printed nothing"


def _open(path: Path, output_params: list[str]):
    """(imageio_ffmpeg generator, its meta dict) or VideoError naming the file."""
    if not path.is_file():
        raise VideoError(f"video file {path} does not exist")
    if path.stat().st_size == 0:
        raise VideoError(f"video file {path} is empty (0 bytes)")
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=output_params)
    try:
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration, KeyError, ValueError, IndexError) as exc:
        gen.close()
        raise VideoError(f"video file {path} could not be read as a video ({_ffmpeg_error(str(exc))})") from None
    return gen, meta


def probe(path: str | os.PathLike) -> VideoInfo:
    """The `VideoInfo` of `path` without decoding a frame. Raises VideoError for a file that is
    missing, empty or not a video, or has no frame rate."""
    path = Path(path)
    gen, meta = _open(path, ["-frames:v", "0"])
    gen.close()
    return _info(path, meta)


def _info(path: Path, meta: dict) -> VideoInfo:
    fps = float(meta.get("fps") or 0.0)
    w, h = (int(v) for v in meta.get("size", (0, 0)))
    if not (fps > 0 and math.isfinite(fps)):
        raise VideoError(f"video file {path}: ffmpeg reports no frame rate for its video stream")
    if w < 1 or h < 1:
        raise VideoError(f"video file {path}: ffmpeg reports no frame size for its video stream")
    return VideoInfo(path, (w, h), fps, float(meta.get("duration") or 0.0), str(meta.get("codec", "")))


@dataclass(frozen=True)
class Frame:
    """One frame taken: `index` in the video's frames, `time_ms` = index * 1000 / fps,
    `image` (H, W, 3) uint8 RGB (read-only: a view of ffmpeg's bytes; copy it to draw on it)."""

    index: int
    time_ms: float
    image: np.ndarray


def read_frames(path: str | os.PathLike, step_ms: float = DEFAULT_STEP_MS,
                info: VideoInfo | None = None) -> Iterator[Frame]:
    """Yield the frames the step rule takes, in order (see the module docstring).

    Raises VideoError (naming the file) for a file that is missing, empty, not a video, or whose
    data end before the first frame; a video that breaks off later yields the frames before the
    break (ffmpeg decodes what it can, as players do). A file with no frame at all raises too.
    """
    path = Path(path)
    step_ms = check_step(step_ms)
    info = info or probe(path)
    params = ["-vf", _select_expression(info.fps, step_ms), "-fps_mode", "passthrough", "-an", "-sn"]
    gen, meta = _open(path, params)
    w, h = info.size
    d = float(info.fps) * step_ms
    k = 0  # the index of the next frame the rule takes
    n = 0
    try:
        for raw in gen:
            image = np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)
            yield Frame(k, float(frame_time_ms(k, info.fps)), image)
            n += 1
            k = _next_taken(k, d)
    except RuntimeError as exc:
        raise VideoError(f"video file {path}: decoding broke off after {n} frame(s) "
                         f"({_ffmpeg_error(str(exc))})") from None
    finally:
        gen.close()
    if n == 0:
        raise VideoError(f"video file {path} holds no video frame that ffmpeg could decode")


def _next_taken(k: int, d: float) -> int:
    """The first index after `k` that the step rule takes, d = fps * step_ms (the arithmetic of
    `taken_mask` and of the ffmpeg expression: floor(j * 1000 / d))."""
    slot = math.floor(k * 1000.0 / d)
    j = k + 1
    while math.floor(j * 1000.0 / d) <= slot:
        j += 1
    return j
