"""Face tracks by box overlap: the same face across processed frames gets the same track id.

Boxes are (x, y, width, height) in pixels. Between one processed frame and the next, pairs of
(live track, new box) are matched greedily by intersection over union (IoU), largest first, each
track and box at most once, and only pairs with IoU >= `min_iou`. A box left unmatched starts a
new track (ids 1, 2, 3, ... in order of first appearance; within a frame, in box order). A track
stays live for `max_gap` processed frames without a match (a face missed by the detector, or
briefly hidden) and is then closed: a face that returns after that gets a new id.
"""

from __future__ import annotations

from typing import Sequence

from rbdm_core.data.face_detect import iou  # noqa: F401 (the one box overlap; tracks.iou for callers)

class Tracker:
    """Incremental form of `assign_tracks`: call `update(boxes)` once per processed frame."""

    def __init__(self, min_iou: float = 0.3, max_gap: int = 5):
        if not 0 < min_iou <= 1:
            raise ValueError(f"min_iou: expected a number in (0, 1], got {min_iou!r}")
        if int(max_gap) < 0:
            raise ValueError(f"max_gap: expected a count >= 0 of processed frames, got {max_gap!r}")
        self.min_iou, self.max_gap = float(min_iou), int(max_gap)
        self._live: dict[int, tuple[tuple[float, ...], int]] = {}  # id -> (last box, frames missed)
        self._next = 1

    def update(self, boxes: Sequence[Sequence[float]]) -> list[int]:
        """Track ids of `boxes` (one processed frame's faces), in the same order."""
        boxes = [tuple(float(v) for v in b[:4]) for b in boxes]
        ids = list(self._live)
        pairs = sorted(((iou(self._live[t][0], b), -ti, -bi, t, bi)
                        for ti, t in enumerate(ids) for bi, b in enumerate(boxes)), reverse=True)
        out: list[int | None] = [None] * len(boxes)
        used: set[int] = set()
        for score, _, _, t, bi in pairs:  # largest IoU first; ties: older track, earlier box
            if score < self.min_iou:
                break
            if t in used or out[bi] is not None:
                continue
            out[bi] = t
            used.add(t)
        for bi in range(len(boxes)):
            if out[bi] is None:
                out[bi] = self._next
                self._next += 1
        for t in ids:
            if t not in used:
                box, missed = self._live[t]
                if missed + 1 > self.max_gap:
                    del self._live[t]
                else:
                    self._live[t] = (box, missed + 1)
        for bi, t in enumerate(out):
            self._live[t] = (boxes[bi], 0)
        return [int(t) for t in out]


def assign_tracks(frames: Sequence[Sequence[Sequence[float]]], min_iou: float = 0.3,
                  max_gap: int = 5) -> list[list[int]]:
    """Track ids for a sequence of processed frames, each a list of (x, y, width, height) boxes:
    returns, per frame, the ids of its boxes in order (see the module docstring)."""
    tracker = Tracker(min_iou, max_gap)
    return [tracker.update(boxes) for boxes in frames]
