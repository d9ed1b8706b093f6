"""`rbdm predict` / `rbdm explain` on batches with bad files: the good ones are still processed,
every bad one is named, the exit status says something was skipped; folders are expanded."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")

from rbdm_core.cli import main  # noqa: E402


def _batch(tmp_path):
    rng = np.random.default_rng(0)
    good = []
    for i, size in enumerate([(48, 48), (60, 30), (20, 70)]):
        p = tmp_path / "in" / f"good{i}.png"
        p.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8), mode="L").save(p)
        good.append(p)
    empty = tmp_path / "in" / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "in" / "notes.jpg"
    text.write_text("not an image")
    trunc = tmp_path / "in" / "cut.png"
    trunc.write_bytes(good[0].read_bytes()[:60])
    missing = tmp_path / "in" / "missing.png"
    return good, [empty, text, trunc, missing]


def _rows(out):
    return list(csv.DictReader(io.StringIO(out)))


@pytest.mark.parametrize("faces", ["detect", "whole"])
def test_predict_skips_bad_files_and_names_them(tmp_path, capsys, faces):
    good, bad = _batch(tmp_path)
    order = [good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3]]
    rc = main(["predict", "--model", "fer2013-pretrained", "--faces", faces, *map(str, order)])
    out, err = capsys.readouterr()
    assert rc == 1
    rows = _rows(out)
    assert [r["path"] for r in rows] == [str(p) for p in good]
    for p in bad:
        assert f"rbdm predict: skipped {p}: " in err
    assert "4 file(s) skipped, 3 classified" in err and "Traceback" not in err
    # the same good images alone: the same rows, exit 0
    rc = main(["predict", "--model", "fer2013-pretrained", "--faces", faces, *map(str, good)])
    assert rc == 0 and _rows(capsys.readouterr().out) == rows


def test_predict_expands_folders_and_refuses_when_nothing_is_readable(tmp_path, capsys):
    good, bad = _batch(tmp_path)
    rc = main(["predict", "--model", "fer2013-pretrained", str(tmp_path / "in")])
    out, err = capsys.readouterr()
    assert rc == 1  # the folder holds the bad files too
    assert sorted(r["path"] for r in _rows(out)) == sorted(str(p) for p in good)
    for p in bad[:3]:
        assert f"skipped {p}" in err
    rc = main(["predict", "--model", "fer2013-pretrained", *map(str, bad)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "none of the 4 image file(s) could be read" in err


def test_explain_skips_bad_files_and_writes_the_good_ones(tmp_path, capsys):
    good, bad = _batch(tmp_path)
    out_dir = tmp_path / "maps"
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--faces", "whole",
               "--out", str(out_dir), str(good[0]), str(bad[0]), str(good[1])])
    err = capsys.readouterr().err
    assert rc == 1 and f"rbdm explain: skipped {bad[0]}" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["good0.npy", "good0.png", "good1.npy", "good1.png"]
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--out", str(tmp_path / "none"),
               str(bad[0]), str(bad[3])])
    assert rc == 2 and not (tmp_path / "none").exists()


def test_images_of_many_sizes_explain_in_one_analysis_with_the_same_maps(tmp_path):
    """A list of differently sized images gives, per image, the map that analysing it alone gives."""
    from rbdm_core.models import load_bundle
    from rbdm_core.saliency import relevance

    bundle = load_bundle("fer2013-pretrained")
    rng = np.random.default_rng(3)
    imgs = [rng.integers(0, 256, (h, w, 1), dtype=np.uint8) for h, w in [(48, 48), (60, 30), (20, 70), (48, 48)]]
    together = relevance(bundle, imgs, method="gradient")
    for i, im in enumerate(imgs):
        alone = relevance(bundle, im[None], method="gradient")
        np.testing.assert_allclose(together.maps[i], alone.maps[0], rtol=1e-5, atol=1e-7)
        assert together.targets[i] == alone.targets[0]
    with pytest.raises(ValueError, match=r"image 1 of the list must be an \(H, W, 1\|3\) uint8 array"):
        relevance(bundle, [imgs[0], imgs[1].astype(np.float32)], method="gradient")
