"""`rbdm explain`: files written, maps equal to the library's, clear errors."""

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")

from rbdm_core.cli import main  # noqa: E402


def _write_pngs(folder, n, size=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        p = folder / f"face{i}.png"
        Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8), mode="L").save(p)
        paths.append(p)
    return paths


def test_explain_gradient_writes_maps_equal_to_library(tmp_path):
    from rbdm_core.models import load_bundle
    from rbdm_core.saliency import relevance

    imgs = _write_pngs(tmp_path, 2)
    out = tmp_path / "out"
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--faces", "whole",
               "--out", str(out)] + [str(p) for p in imgs])
    assert rc == 0
    bundle = load_bundle("fer2013-pretrained")
    batch = np.stack([np.asarray(Image.open(p))[..., None] for p in imgs])
    want = relevance(bundle, batch, method="gradient").maps
    for i, p in enumerate(imgs):
        got = np.load(out / f"{p.stem}.npy")
        assert got.shape == (64, 64) and got.dtype == np.float32
        np.testing.assert_allclose(got, want[i], rtol=1e-5, atol=1e-7)
        with Image.open(out / f"{p.stem}.png") as im:
            assert im.mode in ("RGB", "RGBA") and min(im.size) >= 256
    assert sorted(f.name for f in out.iterdir()) == ["face0.npy", "face0.png", "face1.npy", "face1.png"]


@pytest.mark.slow
def test_explain_deep_taylor_on_fer_model(tmp_path, capsys):
    imgs = _write_pngs(tmp_path, 1, size=(64, 64), seed=3)
    out = tmp_path / "out"
    assert main(["explain", "--model", "fer2013-pretrained", "--faces", "whole", "--out", str(out), str(imgs[0])]) == 0
    m = np.load(out / "face0.npy")
    assert m.shape == (64, 64) and np.isfinite(m).all() and m.max() > m.min()
    line = capsys.readouterr().out.strip().split("\t")
    assert line[0] == str(imgs[0]) and float(line[3].split("=")[1]) == pytest.approx(float(m.sum()), rel=1e-3)


def test_explain_unknown_method(tmp_path, capsys):
    imgs = _write_pngs(tmp_path, 1)
    out = tmp_path / "out"
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "occlusion", "--out", str(out), str(imgs[0])])
    assert rc == 2 and "--method 'occlusion'" in capsys.readouterr().err
    assert not out.exists()


def test_explain_missing_image(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--out", str(out),
               str(tmp_path / "nope.png")])
    assert rc == 2 and "nope.png does not exist" in capsys.readouterr().err
    assert not out.exists()


def test_explain_duplicate_stems(tmp_path, capsys):
    a = _write_pngs(tmp_path, 1)[0]
    (tmp_path / "sub").mkdir()
    b = _write_pngs(tmp_path / "sub", 1)[0]
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--out", str(tmp_path / "o"),
               str(a), str(b)])
    assert rc == 2 and "face0" in capsys.readouterr().err


def test_explain_unknown_model(tmp_path, capsys):
    a = _write_pngs(tmp_path, 1)[0]
    rc = main(["explain", "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "o"), str(a)])
    assert rc == 2 and "no-model" in capsys.readouterr().err


def test_explain_face_outputs_would_overwrite_another_image(tmp_path, capsys):
    a = _write_pngs(tmp_path, 1)[0]  # face0.png: its first face writes face0_face0.*, its photograph face0.png
    b = tmp_path / "face0_face0.png"
    b.write_bytes(a.read_bytes())
    rc = main(["explain", "--model", "fer2013-pretrained", "--out", str(tmp_path / "o"), str(a), str(b)])
    err = capsys.readouterr().err
    assert rc == 2 and "'face0_face0' would overwrite the face outputs of image 'face0'" in err
    assert not (tmp_path / "o").exists()
