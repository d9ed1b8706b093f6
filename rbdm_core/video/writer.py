"""Frames -> an MP4 file (H.264, yuv420p), written atomically.

The encoder is the ffmpeg binary bundled in the `imageio-ffmpeg` wheel. yuv420p halves the
chroma resolution, so frame sides must be even: odd frames get one edge row/column repeated
(`even_size`). The file appears at its path only when the last frame is encoded: until then
ffmpeg writes a temporary file beside it, which is removed on any failure.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np

from rbdm_core.artifacts import atomic_path
from rbdm_core.video.reader import VideoError, probe


def even_size(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> the same with H and W rounded up to even by repeating the last row /
    column (yuv420p needs even sides)."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


class Mp4Writer:
    """Feed (H, W, 3) uint8 RGB frames of one size with `append`; see `mp4_writer`."""

    def __init__(self, gen, size: tuple[int, int], path: Path):
        self._gen = gen
        self.size = size  # (width, height) after even_size
        self.path = path
        self.frames = 0

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{self.path}: expected (H, W, 3) uint8 frames, got {frame.dtype} {frame.shape}")
        frame = even_size(frame)
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(f"{self.path}: frame of {frame.shape[1]}x{frame.shape[0]} px, "
                             f"expected {self.size[0]}x{self.size[1]} like the first")
        self._gen.send(np.ascontiguousarray(frame))
        self.frames += 1


@contextmanager
def mp4_writer(path: str | os.PathLike, size: tuple[int, int], fps: float,
               quality: float = 7) -> Iterator[Mp4Writer]:
    """Context manager writing an MP4 to `path` atomically: `size` = (width, height) of the frames
    (made even), `fps` frames per second, `quality` imageio-ffmpeg's 0..10 scale. On an exception
    inside the block, or when no frame was appended, nothing is left at `path` (an existing file
    there is kept) and no temporary file remains."""
    path = Path(path)
    w, h = int(size[0]) + int(size[0]) % 2, int(size[1]) + int(size[1]) % 2
    if fps <= 0:
        raise ValueError(f"{path}: fps must be positive, got {fps!r}")
    with atomic_path(path) as tmp:
        gen = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=float(fps), codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            quality=quality, macro_block_size=1, ffmpeg_log_level="error", ffmpeg_timeout=0,
            output_params=["-f", "mp4", "-movflags", "+faststart"])
        gen.send(None)  # start ffmpeg
        writer = Mp4Writer(gen, (w, h), path)
        try:
            yield writer
        except BaseException:
            _abort(gen)
            raise
        if writer.frames == 0:
            _abort(gen)
            raise ValueError(f"{path}: no frame to write; nothing written")
        gen.close()  # flushes and waits for ffmpeg to finish
        _check_written(tmp, path, writer.frames)


def _abort(gen) -> None:
    """Stop the encoder (its temporary output is removed by the caller)."""
    try:
        gen.close()
    except Exception:  # noqa: BLE001 - already failing; the original error is what matters
        pass


def _check_written(tmp: Path, path: Path, frames: int) -> None:
    """imageio-ffmpeg does not check ffmpeg's exit status: read the header back instead."""
    try:
        probe(tmp)
    except VideoError as exc:
        raise ValueError(f"{path}: ffmpeg did not produce a readable MP4 from {frames} frame(s) ({exc})") from None
