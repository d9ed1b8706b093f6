"""Image folders as corpora (rbdm_core.data.folder): layouts, synonyms, skipped files, errors."""

import os
import stat

import numpy as np
import pytest
from PIL import Image

from rbdm_core import cli
from rbdm_core.data.dataset import FERPLUS_CLASSES
from rbdm_core.data.folder import label_of, read_folder, scan


def _img(path, size=(30, 20), mode="RGB", value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((size[1], size[0], 3), value, np.uint8)
    im = Image.fromarray(arr).convert(mode)
    im.save(path)


def _lab(tmp_path):
    root = tmp_path / "lab"
    _img(root / "train" / "Happy" / "a.PNG", value=200)
    _img(root / "train" / "SAD" / "b.JPEG", size=(64, 40), mode="L", value=50)
    _img(root / "train" / "neutral" / "c.png", mode="RGBA", value=10)
    (root / "train" / "neutral" / "notes.txt").write_text("not an image")
    (root / "train" / "neutral" / ".DS_Store").write_bytes(b"x")
    _img(root / "val" / "Surprised" / "d.jpg", size=(10, 50))
    _img(root / "val" / "angry" / "e.png", value=255)
    return root


def test_split_label_layout_synonyms_sizes_and_modes(tmp_path):
    root = _lab(tmp_path)
    ds = read_folder(root, size=24, progress=False)
    assert ds.images.shape == (5, 24, 24, 1) and ds.images.dtype == np.uint8
    names = [FERPLUS_CLASSES[k] for k in ds.labels]
    assert list(ds.ids) == ["train/Happy/a.PNG", "train/SAD/b.JPEG", "train/neutral/c.png", "val/Surprised/d.jpg",
                            "val/angry/e.png"]
    assert names == ["happiness", "sadness", "neutral", "surprise", "anger"]
    assert list(ds.split) == ["train", "train", "train", "val", "val"]
    assert ds.images[0].min() == ds.images[0].max() == 200  # a flat grey stays that grey
    assert ds.provenance["dropped"] == {"skipped_files": 1, "skipped_folders": 0}
    assert ds.provenance["label_folders"]["SAD"] == "sadness" and not ds.provenance["synthetic"]
    rgb = read_folder(root, size=(12, 16), channels=3, progress=False)
    assert rgb.images.shape == (5, 12, 16, 3)


def test_label_only_layout_is_split_all(tmp_path):
    root = tmp_path / "flat"
    _img(root / "fearful" / "x.png")
    _img(root / "Disgusted" / "y.jpg")
    _img(root / "contempt" / "z.png")
    ds = read_folder(root, progress=False)
    assert set(ds.split) == {"all"} and ds.images.shape == (3, 48, 48, 1)
    assert sorted(FERPLUS_CLASSES[k] for k in ds.labels) == ["contempt", "disgust", "fear"]


@pytest.mark.parametrize("make, match", [
    (lambda r: _img(r / "train" / "joyful" / "a.png"), r"label folder\(s\) \['train/joyful'\] match no class; expected one of \["),
    (lambda r: (_img(r / "happy" / "a.png"), _img(r / "misc" / "b.png")), r"folder\(s\) \['misc'\] match no class"),
    (lambda r: (r / "happy").mkdir(parents=True), r"no images"),
    (lambda r: r.mkdir(), r"no label folders"),
])
def test_bad_layouts_are_named(tmp_path, make, match):
    root = tmp_path / "bad"
    make(root)
    with pytest.raises(ValueError, match=match):
        scan(root)


def test_unreadable_image_is_named(tmp_path):
    root = tmp_path / "broken"
    _img(root / "happy" / "ok.png")
    (root / "happy" / "bad.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(ValueError, match=r"bad.png could not be read as an image"):
        read_folder(root, progress=False)


def test_synonyms_cover_every_class():
    for k, c in enumerate(FERPLUS_CLASSES):
        assert label_of(c.upper()) == k
    for word, c in [("happy", "happiness"), ("angry", "anger"), ("sad", "sadness"), ("surprised", "surprise"),
                    ("fearful", "fear"), ("disgusted", "disgust"), ("Neutral", "neutral"), ("contempt", "contempt")]:
        assert FERPLUS_CLASSES[label_of(word)] == c
    assert label_of("joyful") is None


def test_data_summary_and_train_read_a_folder_without_writing_it(tmp_path, capsys):
    root = _lab(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in [root, *root.rglob("*")]}
    for p in [root, *root.rglob("*")]:  # read-only, as a user's data folder may be
        os.chmod(p, stat.S_IREAD | stat.S_IEXEC if p.is_dir() else stat.S_IREAD)
    try:
        assert cli.main(["data", "summary", "folder", str(root)]) == 0
        out, err = capsys.readouterr()
        assert out.splitlines()[0] == "split,label,count"
        assert "train,happiness,1" in out and "val,anger,1" in out
        assert 'skipped_files": 1' in err
        assert cli.main(["data", "summary", "folder", str(root), "--check-images", "--no-progress"]) == 0
        assert "train,sadness,1" in capsys.readouterr().out
        from rbdm_core.commands.train import load_data, pick_splits

        ds = load_data(f"folder:{root}", {"size": None, "quiet": True})
        tr, va = pick_splits(ds, None, None)
        assert len(tr) == 3 and len(va) == 2 and ds.images.shape[1:] == (48, 48, 1)
        assert {p: p.stat().st_mtime_ns for p in [root, *root.rglob("*")]} == before  # nothing written
    finally:
        for p in [root, *root.rglob("*")]:
            os.chmod(p, stat.S_IRWXU)


def _ds(labels, split):
    from rbdm_core.data.dataset import Dataset

    n = len(labels)
    return Dataset(images=np.zeros((n, 4, 4, 1), np.uint8), labels=np.array(labels, np.int64),
                   split=np.array(split, object), ids=np.array([str(i) for i in range(n)], object),
                   provenance={"source": "folder", "files": ["/f"]})


def test_target_splits_map_split_folders_by_name():
    from rbdm_core.data.folder import as_target_splits

    ds = _ds([0, 1, 0, 1, 2], ["train", "train", "val", "test", "train"])
    out = as_target_splits(ds)
    assert list(out.split) == ["Training", "Training", "PublicTest", "PrivateTest", "Training"]
    assert out.provenance["split_map"] == {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    # no validation folder: the test folder validates
    out = as_target_splits(_ds([0, 1], ["Train", "Test"]))
    assert list(out.split) == ["Training", "PublicTest"]
    with pytest.raises(ValueError, match=r"split folder 'holdout' is not a training, validation or test split"):
        as_target_splits(_ds([0, 1], ["train", "holdout"]))
    with pytest.raises(ValueError, match=r"no training split folder"):
        as_target_splits(_ds([0, 1], ["val", "test"]))


def test_target_splits_draw_a_share_of_each_class_without_split_folders():
    from rbdm_core.data.folder import as_target_splits

    labels = [0] * 10 + [1] * 3 + [2]
    out = as_target_splits(_ds(labels, ["all"] * len(labels)), validation_share=0.2, seed=0)
    val = out.split == "PublicTest"
    # round(0.2 * 10) = 2, max(1, round(0.6)) = 1, a class of one image stays in training
    assert [int((val & (out.labels == k)).sum()) for k in range(3)] == [2, 1, 0]
    assert set(out.split) == {"Training", "PublicTest"}
    again = as_target_splits(_ds(labels, ["all"] * len(labels)), validation_share=0.2, seed=0)
    assert list(again.split) == list(out.split)
