"""Videos: the step rule, reading and writing MP4s, face tracks, and the per-frame pipeline with
plain callables (no model). Tiny videos are made here with imageio-ffmpeg's own ffmpeg."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from rbdm_core.video import tracks  # noqa: E402
from rbdm_core.video.process import NoFaceError, box_crop, classify_video, explain_video  # noqa: E402
from rbdm_core.video.reader import (VideoError, is_video, probe, read_frames, taken_mask,  # noqa: E402
                                    check_step)
from rbdm_core.video.writer import mp4_writer  # noqa: E402

W, H = 64, 48


def coded_frame(k: int) -> np.ndarray:
    """A frame whose 8 vertical bars spell k in binary (white = 1), readable after H.264."""
    img = np.zeros((H, W, 3), np.uint8)
    for b in range(8):
        if (k >> b) & 1:
            img[:, b * 8:(b + 1) * 8] = 255
    return img


def decode(img: np.ndarray) -> int:
    return sum(1 << b for b in range(8) if img[:, b * 8 + 2:b * 8 + 6].mean() > 128)


def make_video(path, n: int, fps: float, frame=coded_frame):
    with mp4_writer(path, (W, H), fps) as w:
        for k in range(n):
            w.append(frame(k))
    return path


@pytest.fixture(scope="module")
def v30(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "v30.mp4", 40, 30)


def test_step_rule_by_hand():
    # 30 fps: t_k = 33.3 k ms; floor(t_k / 40) = 0 0 1 2 3 4 5 5 6 7 8 9 -> a frame where it grows
    assert np.flatnonzero(taken_mask(12, 30, 40)).tolist() == [0, 2, 3, 4, 5, 6, 8, 9, 10, 11]
    assert taken_mask(50, 25, 40).all()  # 25 fps at 40 ms: every frame
    assert np.flatnonzero(taken_mask(61, 30, 1000)).tolist() == [0, 30, 60]
    assert np.flatnonzero(taken_mask(10, 30, 100)).tolist() == [0, 3, 6, 9]  # exact multiples count
    assert taken_mask(10, 10, 40).all()  # a step shorter than the frame interval takes every frame
    with pytest.raises(ValueError, match="--step"):
        check_step(0)
    with pytest.raises(ValueError, match="--step"):
        check_step("abc")


@pytest.mark.parametrize("step, expected", [
    (40, [k for k in range(40) if k % 6 != 1]),  # 0, 2, 3, 4, 5, 6, 8, ...: one in six dropped
    (100, list(range(0, 40, 3))),
    (1000, [0, 30]),
    (10, list(range(40))),
])
def test_frames_taken_at_a_step_are_the_right_frames(v30, step, expected):
    frames = list(read_frames(v30, step))
    assert [f.index for f in frames] == expected
    assert [decode(f.image) for f in frames] == expected  # the pixels are those frames'
    assert np.allclose([f.time_ms for f in frames], np.array(expected) * 1000 / 30)
    assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in frames)


def test_probe_and_suffixes(v30):
    info = probe(v30)
    assert info.size == (W, H) and info.fps == 30 and info.codec == "h264"
    assert info.duration_s == pytest.approx(40 / 30, abs=0.05)
    assert info.expected_frames(40) == int(taken_mask(40, 30, 40).sum())
    assert all(is_video(f"a{s}") for s in (".mp4", ".MOV", ".avi", ".Mkv", ".webm", ".m4v"))
    assert not is_video("a.png") and not is_video("mp4")


def test_writer_makes_sides_even_and_keeps_fps_and_count(tmp_path):
    p = tmp_path / "odd.mp4"
    with mp4_writer(p, (33, 21), 12.5) as w:
        for k in range(7):
            w.append(np.full((21, 33, 3), 20 * k, np.uint8))
    info = probe(p)
    assert info.size == (34, 22) and info.fps == 12.5
    frames = list(read_frames(p, 1))
    assert len(frames) == 7
    means = [f.image[:21, :33].mean() for f in frames]
    assert np.allclose(means, [20 * k for k in range(7)], atol=2)  # H.264 is lossy: within 2 levels
    assert sorted(x.name for x in tmp_path.iterdir()) == ["odd.mp4"]  # no temporary file left


def test_writer_leaves_nothing_on_failure(tmp_path):
    p = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with mp4_writer(p, (W, H), 25) as w:
            w.append(coded_frame(1))
            raise RuntimeError("boom")
    with pytest.raises(ValueError, match="no frame"):
        with mp4_writer(p, (W, H), 25):
            pass
    with pytest.raises(ValueError, match="expected 64x48"):
        with mp4_writer(p, (W, H), 25) as w:
            w.append(np.zeros((10, 10, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    p.write_bytes(b"old")  # an existing file survives a failed write
    with pytest.raises(RuntimeError):
        with mp4_writer(p, (W, H), 25) as w:
            raise RuntimeError("boom")
    assert p.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_unreadable_videos_are_named(tmp_path, v30):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 20)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(v30.read_bytes()[:200])
    for p, what in [(empty, "is empty"), (text, "could not be read as a video"),
                    (cut, "could not be read as a video"), (tmp_path / "missing.mp4", "does not exist")]:
        with pytest.raises(VideoError, match=what) as e:
            list(read_frames(p))
        assert str(p) in str(e.value)


# ----------------------------------------------------------------------------- tracks

def test_iou_by_hand():
    assert tracks.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert tracks.iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0
    assert tracks.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1


def test_two_faces_and_a_newcomer_keep_their_ids():
    frames = [[(0, 0, 40, 40), (200, 0, 40, 40)],
              [(4, 2, 40, 40), (196, 0, 40, 40)],
              [(8, 4, 40, 40), (192, 0, 40, 40), (100, 100, 30, 30)]]
    assert tracks.assign_tracks(frames) == [[1, 2], [1, 2], [1, 2, 3]]


def test_crossing_faces_keep_their_ids_when_the_detector_reorders_them():
    # A walks right, B left, 8 px a frame, boxes 40 px wide: they pass each other at x = 60;
    # the detector lists faces left to right, so after crossing B comes first
    a = [(20 + 8 * i, 0, 40, 40) for i in range(11)]
    b = [(100 - 8 * i, 10, 40, 40) for i in range(11)]
    frames = [sorted([ai, bi]) for ai, bi in zip(a, b)]
    got = tracks.assign_tracks(frames)
    for f, ids in zip(frames, got):
        assert dict(zip(f, ids)) == {a[frames.index(f)]: 1, b[frames.index(f)]: 2}


def test_a_face_that_leaves_and_returns():
    box = (50, 50, 40, 40)
    frames = [[box], [box], [], [], [box], [(300, 0, 40, 40)]]
    assert tracks.assign_tracks(frames, max_gap=5) == [[1], [1], [], [], [1], [2]]
    assert tracks.assign_tracks(frames, max_gap=1) == [[1], [1], [], [], [2], [3]]  # gap of 2 > 1


def test_a_jump_below_the_overlap_threshold_starts_a_new_track():
    frames = [[(0, 0, 10, 10)], [(5, 0, 10, 10)], [(12, 0, 10, 10)]]  # IoU 1/3, then 3/17
    assert tracks.assign_tracks(frames, min_iou=0.3) == [[1], [1], [2]]
    assert tracks.assign_tracks(frames, min_iou=0.1) == [[1], [1], [1]]
    with pytest.raises(ValueError, match="min_iou"):
        tracks.Tracker(min_iou=0)


# ----------------------------------------------------------------------------- pipeline

def moving_square(k: int) -> np.ndarray:
    """A bright 16 px square moving right 2 px a frame on black: the 'face' of `square_detector`."""
    img = np.zeros((H, W, 3), np.uint8)
    img[10:26, 2 * k:2 * k + 16] = 200
    return img


def square_detector(frame):
    ys, xs = np.nonzero(frame[..., 0] > 100)
    if len(xs) == 0:
        return []
    return [(xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, 0.9)]


def test_classify_video_rows_boxes_tracks_and_batches(tmp_path):
    p = make_video(tmp_path / "sq.mp4", 20, 25, moving_square)
    calls = []

    def classify(crops):
        calls.append(len(crops))
        return [("happiness" if c.mean() > 150 else "neutral", 0.5) for c in crops]

    res = classify_video(p, square_detector, classify, step_ms=80, batch_faces=3, progress=False)
    assert [r.frame for r in res.rows] == list(range(0, 20, 2)) and res.frames == 10
    assert [r.time_ms for r in res.rows] == pytest.approx([k * 40.0 for k in range(0, 20, 2)])
    assert {r.track for r in res.rows} == {1} and {r.face for r in res.rows} == {0}
    for r in res.rows:  # the box follows the square (H.264 blurs its edge by a pixel at most)
        assert abs(r.x - 2 * r.frame) <= 1 and abs(r.y - 10) <= 1 and abs(r.width - 16) <= 2
        assert r.label == "happiness"
    assert calls == [3, 3, 3, 1]
    again = classify_video(p, square_detector, classify, step_ms=80, batch_faces=64, progress=False)
    assert again.rows == res.rows


def test_no_face_in_any_frame_is_an_error(tmp_path):
    p = make_video(tmp_path / "black.mp4", 5, 25, lambda k: np.zeros((H, W, 3), np.uint8))
    with pytest.raises(NoFaceError, match=r"black.mp4: no face found in any of its 5 processed"):
        classify_video(p, square_detector, lambda c: [], progress=False)
    out = tmp_path / "out.mp4"
    with pytest.raises(NoFaceError):
        explain_video(p, out, square_detector, lambda c: [], progress=False)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["black.mp4"]


def test_explain_video_draws_relevance_in_place(tmp_path):
    p = make_video(tmp_path / "sq.mp4", 12, 25, moving_square)
    out = tmp_path / "o" / "sq_relevance.mp4"
    calls = []

    def explain(crops):
        calls.append(len(crops))
        return [("happiness", 0.9, np.ones((8, 8))) for _ in crops]

    res = explain_video(p, out, square_detector, explain, step_ms=40, chunk=5, progress=False)
    assert calls == [5, 5, 2]
    info = probe(out)
    assert info.size == (W, H) and info.fps == 25
    frames = list(read_frames(out, 1))
    assert len(frames) == 12 == res.frames == len(res.rows)
    # positive relevance is red: inside the box red rises above green; outside the frame stays dark
    f = frames[5].image.astype(int)
    inside = f[14:22, 14:22]  # the square sits at x 10..26 in frame 5
    assert inside[..., 0].mean() > inside[..., 1].mean() + 60
    assert f[42:].mean() < 20  # below the box and its label


def test_box_crop_clips_to_the_frame():
    frame = np.arange(H * W * 3, dtype=np.uint8).reshape(H, W, 3)
    c, region = box_crop(frame, (-5, 40, 20, 20))
    assert region == (0, 40, 15, 8) and c.shape == (8, 15, 3)
    assert np.array_equal(c, frame[40:48, 0:15])


def test_ffmpeg_is_the_wheels_own_binary(monkeypatch):
    import imageio_ffmpeg

    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    exe = Path(imageio_ffmpeg.get_ffmpeg_exe())
    assert exe.is_file() and Path(imageio_ffmpeg.__file__).parent / "binaries" in exe.parents


def test_a_video_cut_midway_gives_its_first_frames_and_a_note(tmp_path):
    rng = np.random.default_rng(0)  # noise: every frame costs bytes, so a cut lands mid-video
    p = make_video(tmp_path / "long.mp4", 100, 25, lambda k: rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    data = p.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:int(len(data) * 0.6)])
    res = classify_video(cut, lambda f: [(0, 0, W, H)], lambda c: [("x", 1.0)] * len(c), progress=False)
    assert 20 < res.frames < 90 and [r.frame for r in res.rows] == list(range(res.frames))
    assert "of the stated 4.00 s (the file may be truncated)" in res.note
    whole = classify_video(p, lambda f: [(0, 0, W, H)], lambda c: [("x", 1.0)] * len(c), progress=False)
    assert whole.frames == 100 and whole.note == ""


def test_whole_frame_mode():
    from rbdm_core.video import files

    frame = np.zeros((H, W, 3), np.uint8)
    detect, crop, name = files.detector("whole")
    assert detect(frame) == [(0, 0, W, H)] and name == "whole frame"
    with pytest.raises(ValueError, match="--faces"):
        files.detector("eyes")
