"""rbdm_core.real_faces (chapter 10's computations) on small stand-ins, against computations by hand."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rbdm_core import masking, real_faces
from rbdm_core.data import photos


def test_media_table_one_row_per_file():
    t = real_faces.media_table()
    assert list(t["file"]) == [m.name for m in photos.FILES]
    shown = t.set_index("file")["pixels shown here"]
    assert shown["WolfgangLanger_Pexels.mp4"] == "yes"
    assert (shown == "yes").sum() == sum(m.showable for m in photos.FILES)


def test_faces_found_and_summary():
    stills = [SimpleNamespace(name="a.jpg", faces=1), SimpleNamespace(name="b.jpg", faces=2)]
    pictures = [np.zeros((30, 40, 3), np.uint8), np.zeros((10, 20, 3), np.uint8)]
    found = real_faces.faces_found_table(stills, pictures, [[(0, 0, 1, 1)], [(0, 0, 1, 1)] * 3])
    assert list(found["size"]) == ["40x30", "20x10"] and list(found["faces found"]) == [1, 3]
    assert real_faces.face_count_summary(found) == ("4 faces found where 3 are visible; the count is right in 1 of "
                                                    "2 photographs (not in: b.jpg)")


def test_classify_posed_and_ranks():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6]])
    bundle = SimpleNamespace(class_names=("anger", "happiness", "surprise"),
                             predict_proba=lambda x: probs[[int(x[0, 0, 0, 0])]])
    crops = [SimpleNamespace(image=i, face=0, box=(i, 0, 1, 1), pixels=np.full((2, 2, 1), i, np.uint8)) for i in range(3)]
    names = ["0-f1-su-ph.jpg", "group.jpg", "15-f13-anc-ph.jpg"]
    p, faces = real_faces.classify_faces(bundle, crops, names)
    np.testing.assert_array_equal(p, probs)
    assert list(faces["predicted"]) == ["happiness", "anger", "surprise"]
    np.testing.assert_allclose(faces["probability"], [0.7, 0.5, 0.6])
    posed = real_faces.posed_faces(faces)
    assert list(posed.index) == [0, 2] and list(posed["posed"]) == ["surprise", "anger"]
    assert list(posed["right"]) == [False, False]
    # surprise has 0.2 in row 0 (one class above it: rank 2); anger 0.2 in row 2 (0.6 above; 0.2 tie)
    assert real_faces.posed_ranks(p, posed, bundle.class_names) == [2, 2]


def test_label_shares_and_changes():
    rows = pd.DataFrame({"frame": [0, 1, 2, 3, 0, 1], "track": [0, 0, 0, 0, 1, 1],
                         "label": ["joy", "sad", "sad", "joy", "fear", "fear"]})
    shares = real_faces.label_shares(rows).set_index("label")["share of frames"]
    assert shares.to_dict() == pytest.approx({"joy": 2 / 6, "sad": 2 / 6, "fear": 2 / 6})
    assert real_faces.label_changes(rows) == 2  # track 0: joy->sad, sad->joy; track 1: none


def test_three_masks_kept_table_and_masked_views():
    rng = np.random.default_rng(1)
    maps = rng.random((2, 8, 8))
    masks = real_faces.three_masks(maps, fraction=0.25, n=2, sigma=1.0, cutoff=1.5)
    assert list(masks) == ["negative", "mean", "perceptive"]
    np.testing.assert_array_equal(masks["negative"], masking.make_masks(maps, "negative", fraction=0.25))
    t = real_faces.kept_share_table(masks, [1500.0, 2000.0])
    assert list(t["frame"]) == ["1.5 s", "2.0 s"]
    np.testing.assert_allclose(t["negative"], [0.75, 0.75])  # 16 of 64 pixels removed
    np.testing.assert_allclose(t["mean"], (maps >= maps.mean(axis=(1, 2), keepdims=True)).mean(axis=(1, 2)))
    views = np.full((2, 8, 8), 100, np.uint8)
    cells = real_faces.masked_views(views, masks, 1)
    assert len(cells) == 4
    np.testing.assert_array_equal(cells[0], views[0])
    np.testing.assert_array_equal(cells[2], np.where(masks["mean"][0], 100, 0))


def test_no_face_summary():
    rows = [SimpleNamespace(frame=1, probability=0.4), SimpleNamespace(frame=1, probability=0.9),
            SimpleNamespace(frame=3, probability=0.5)]
    s = real_faces.no_face_summary(SimpleNamespace(rows=rows, frames=10))
    assert s == ("no_face.mp4: 3 false detection(s) in 2 of 10 processed frames (20.0%); the classifier gave them "
                 "probabilities 0.40 to 0.90")


def test_face_rows_table():
    from rbdm_core.video.process import FaceRow

    res = SimpleNamespace(rows=[FaceRow(0, 0.0, 0, 0, 1, 2, 3, 4, "joy", 0.5, 0.75)])
    t = real_faces.face_rows(res)
    assert t.iloc[0].to_dict() == {"frame": 0, "time_ms": 0.0, "track": 0, "face": 0, "x": 1, "y": 2, "width": 3,
                                   "height": 4, "label": "joy", "probability": 0.5, "score": 0.75}


def test_video_strip_and_strip_faces_with_fake_frames():
    """Six 6x6 frames, a face row per frame; two frames picked evenly (rows 0 and 5), shown at 1/2."""
    frames = [SimpleNamespace(index=i, image=np.full((6, 6, 3), i, np.uint8)) for i in range(6)]
    rows = pd.DataFrame({"frame": range(6), "time_ms": [40.0 * i for i in range(6)], "label": ["joy"] * 6,
                         "probability": [0.5] * 6, "x": [2] * 6, "y": [0] * 6, "width": [2] * 6, "height": [4] * 6})
    strip = real_faces.video_strip(iter(frames), rows, n=2, scale=2)
    assert [int(r["frame"]) for r in strip.rows] == [0, 5] and sorted(strip.full) == [0, 5]
    assert strip.titles == ["0.0 s: joy 0.50", "0.2 s: joy 0.50"]
    assert strip.frames[1].shape == (3, 3, 3) and int(strip.frames[1][0, 0, 0]) == 5
    expected = np.zeros((3, 3), bool)
    expected[0:2, 1:2] = True  # the box (2, 0, 2, 4) at 1/2: x 1..2, y 0..2
    np.testing.assert_array_equal(strip.boxes[0], expected)
    faces = real_faces.strip_faces(strip, lambda frame, box: (frame[box[1]:box[1] + box[3], box[0]:box[0] + box[2]],))
    assert faces[1].shape == (4, 2, 3) and int(faces[1][0, 0, 0]) == 5


def test_model_views_preprocess_each_crop():
    from types import SimpleNamespace

    from rbdm_core.real_faces import model_views

    seen = []

    def pixels(batch):  # a stand-in preprocess: records each call, returns one 4x4 grey view
        seen.append(batch.shape)
        return np.full((1, 4, 4), batch.shape[1], np.uint8)

    bundle = SimpleNamespace(preprocess=SimpleNamespace(pixels=pixels))
    faces = [np.zeros((10, 8, 3), np.uint8), np.zeros((6, 6, 3), np.uint8)]
    v = model_views(bundle, faces)
    assert v.shape == (2, 4, 4) and seen == [(1, 10, 8, 3), (1, 6, 6, 3)] and list(v[:, 0, 0]) == [10, 6]


def test_composite_helpers_by_hand():
    a = np.zeros((100, 50, 3), np.uint8)
    b = np.full((200, 300, 3), 255, np.uint8)
    strip, spans = real_faces.side_by_side([a, b], height=50)
    # a: 50 x 100 -> 25 x 50; b: 300 x 200 -> 75 x 50
    assert strip.shape == (50, 100, 3) and spans == [(0, 25), (25, 100)]
    assert (strip[:, :25] == 0).all() and (strip[:, 25:] == 255).all()
    assert real_faces.faces_per_part([(0, 0, 10, 10), (20, 0, 10, 10), (30, 0, 4, 4)], spans) == [1, 2]
    big = real_faces.upscaled(b, 600)
    assert big.shape == (400, 600, 3)


def test_score_threshold_table_and_summaries():
    rows = pd.DataFrame({"frame": [1, 1, 4], "score": [0.55, 0.65, 0.72]})
    t = real_faces.score_threshold_table(rows, 10, [0.5, 0.6, 0.7])
    assert t["boxes"].tolist() == [3, 2, 1] and t["frames with a box"].tolist() == [2, 2, 1]
    found = pd.DataFrame({"faces (by eye)": [1, 5], "single pass": [0, 5], "faces found": [1, 5]})
    comp = pd.DataFrame({"faces (by eye)": [3], "single pass": [1], "faces found": [2]})
    assert real_faces.detector_summary(found, comp) == ("In the photographs the single pass finds 5 of 6 faces, the "
                                                        "detector 6; in the composites the single pass finds 1 of 3 "
                                                        "faces, the detector 2.")
    v = pd.DataFrame({"align": [False, False, True, True], "flip average": [False, True, False, True],
                      "posed right": [2, 2, 1, 1], "posed faces": [4] * 4, "mean p(posed class)": [0.5, 0.6, 0.4, 0.45]})
    assert real_faces.crop_variants_summary(v).startswith("Posed expressions classified right: plain crop 2 of 4 "
                                                         "(mean p 0.50); aligned 1 of 4 (mean p 0.40)")
    assert real_faces.crop_defaults_sentence(False, True) == ("`rbdm predict` and `rbdm explain` default to --no-align "
                                                             "(off) and --flip-average (on).")
