"""AffectNet reader on a fixture tree with duplicates and dropped expressions worked out by hand."""

import numpy as np
import pytest

from fixtures_writers import snapshot, write_affectnet
from rbdm_core.data import FERPLUS_CLASSES
from rbdm_core.data import affectnet as an
from rbdm_core.data.affectnet import index_affectnet, iter_affectnet, read_affectnet


def _img(seed, shape=(30, 40, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


IMAGES = {"1/a.png": _img(1), "1/b.png": _img(2), "2/c.png": _img(1),  # c has a's bytes
          "2/d.png": _img(4), "3/e.png": _img(5), "4/f.png": _img(6)}
BOX = (5, 4, 20, 16)  # x, y, width, height
TRAINING = [
    dict(path="1/a.png", box=BOX, expression=1),          # 0 Happy    -> happiness (or c is kept)
    dict(path="1/b.png", box=(0, 0, 40, 30), expression=2),  # 1 Sad  -> sadness
    dict(path="2/c.png", box=BOX, expression=6),          # 2 Anger, same content as a: one of a/c kept
    dict(path="3/e.png", box=BOX, expression=9),          # 3 Uncertain: dropped
    dict(path="1/b.png", box=(0, 0, 40, 30), expression=2),  # 4 same path as row 1: dropped
    dict(path="2/d.png", box=BOX, expression=10),         # 5 Non-Face: dropped
]
VALIDATION = [
    dict(path="2/d.png", box=(10, 10, 20, 16), expression=7),  # 0 Contempt -> contempt
    dict(path="4/f.png", box=BOX, expression=8),               # 1 None: dropped
]


@pytest.fixture
def root(tmp_path):
    return write_affectnet(tmp_path / "affectnet", TRAINING, VALIDATION, IMAGES)


def test_cleaning_counts_by_hand(root, tmp_path):
    ds = read_affectnet(root, size=(16, 20), cache_dir=tmp_path / "cache", progress=False)
    assert ds.provenance["dropped"] == {
        "expression_none": 1, "expression_uncertain": 1, "expression_non_face": 1,
        "duplicate_path": 1, "duplicate_content": 1}
    assert len(ds) == 3 and ds.images.shape == (3, 16, 20, 3) and ds.images.dtype == np.uint8
    assert list(ds.split) == ["training", "training", "validation"]
    first = ds.ids[0]
    assert first in ("1/a.png", "2/c.png")
    assert list(ds.ids[1:]) == ["1/b.png", "2/d.png"]
    names = [FERPLUS_CLASSES[k] for k in ds.labels]
    assert names == ["happiness" if first == "1/a.png" else "anger", "sadness", "contempt"]
    # size (16, 20) equals the box, so each image is exactly the crop
    np.testing.assert_array_equal(ds.images[0], IMAGES["1/a.png"][4:20, 5:25])
    np.testing.assert_array_equal(ds.images[2], IMAGES["2/d.png"][10:26, 10:30])
    assert ds.provenance["synthetic"] is False and ds.provenance["source"] == "affectnet"


def test_duplicate_choice_is_seeded(root, tmp_path):
    kept = {}
    for seed in range(8):
        rows, _ = index_affectnet(root, seed=seed, cache_dir=tmp_path / "c", progress=False)
        again, _ = index_affectnet(root, seed=seed, cache_dir=tmp_path / "c", progress=False)
        assert list(rows["path"]) == list(again["path"])  # same seed, same choice
        both = {"1/a.png", "2/c.png"} & set(rows["path"])
        assert len(both) == 1
        kept[seed] = both.pop()
    assert set(kept.values()) == {"1/a.png", "2/c.png"}  # the seed does choose


def test_images_are_memory_mapped_and_resize(root, tmp_path):
    ds = read_affectnet(root, size=8, channels=1, cache_dir=tmp_path / "cache", progress=False)
    assert ds.images.shape == (3, 8, 8, 1)
    base = ds.images
    while base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)  # not a copy in RAM
    assert (tmp_path / "cache" / "affectnet").is_dir()


def _interrupted_at_the_third_image(root, cache, monkeypatch):
    """read_affectnet(shard_rows=1) stopped by an error while decoding the third image (two shards
    finished); returns the counter of decoded images, which keeps counting afterwards."""
    calls = {"n": 0}
    real = an.open_image

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("interrupted")
        return real(*a, **k)

    monkeypatch.setattr(an, "open_image", failing)
    with pytest.raises(RuntimeError):
        read_affectnet(root, size=6, cache_dir=cache, progress=False, shard_rows=1)
    return calls


def test_resumes_from_finished_shards(root, tmp_path, monkeypatch):
    fresh = read_affectnet(root, size=6, cache_dir=tmp_path / "fresh", progress=False, shard_rows=1)
    calls = _interrupted_at_the_third_image(root, tmp_path / "c", monkeypatch)
    calls["n"] = -100  # no more failures; count the images decoded by the re-run
    ds = read_affectnet(root, size=6, cache_dir=tmp_path / "c", progress=False, shard_rows=1)
    assert calls["n"] == -100 + 1  # shards 0 and 1 were reused, only the third image decoded
    np.testing.assert_array_equal(ds.images, fresh.images)
    calls["n"] = 0
    read_affectnet(root, size=6, cache_dir=tmp_path / "c", progress=False, shard_rows=1)
    assert calls["n"] == 0  # complete cache: nothing decoded


def test_iter_affectnet_batches(root, tmp_path):
    whole = read_affectnet(root, size=6, cache_dir=tmp_path / "c", progress=False)
    batches = list(iter_affectnet(root, batch_size=2, size=6, cache_dir=tmp_path / "c", progress=False))
    assert [len(b) for b in batches] == [2, 1]
    np.testing.assert_array_equal(np.concatenate([b.images for b in batches]), whole.images)
    np.testing.assert_array_equal(np.concatenate([b.labels for b in batches]), whole.labels)


def test_nothing_written_into_the_data_folder(root, tmp_path):
    before = snapshot(root)
    read_affectnet(root, size=6, cache_dir=tmp_path / "cache", progress=False)
    read_affectnet(root, size=6, progress=False)  # default cache dir ($RBDM_CACHE_DIR in tests)
    assert snapshot(root) == before
    with pytest.raises(ValueError, match="inside the data folder"):
        read_affectnet(root, size=6, cache_dir=root / "cache", progress=False)


# --------------------------------------------------------------------------- bad input
def test_missing_list_file(root, tmp_path):
    (root / "Manually_Annotated_file_lists" / "validation.csv").unlink()
    with pytest.raises(FileNotFoundError, match="validation.csv does not exist"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_missing_column(tmp_path):
    header = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
              "facial_landmarks", "emotion", "valence", "arousal"]
    root = write_affectnet(tmp_path / "r", TRAINING, VALIDATION, IMAGES, header=header)
    with pytest.raises(ValueError, match=r"training.csv: missing column\(s\) \['expression'\]"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_expression_out_of_range(tmp_path):
    rows = [dict(r) for r in TRAINING]
    rows[3]["expression"] = 11
    root = write_affectnet(tmp_path / "r", rows, VALIDATION, IMAGES)
    with pytest.raises(ValueError, match=r"training.csv row 3 \(line 5\): expression .?11.? is out of range, expected an int 0..10"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_missing_image(root, tmp_path):
    (root / "Manually_Annotated_Images" / "2" / "d.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"validation.csv row 0 \(line 2\): image file .*d.png does not exist"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_unreadable_image(root, tmp_path):
    (root / "Manually_Annotated_Images" / "2" / "d.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"validation.csv row 0 \(line 2\): image file .*d.png could not be read"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_face_box_outside_the_image(tmp_path):
    val = [dict(VALIDATION[0], box=(25, 10, 20, 16)), VALIDATION[1]]  # x + width = 45 > 40
    root = write_affectnet(tmp_path / "r", TRAINING, val, IMAGES)
    with pytest.raises(ValueError, match=r"validation.csv row 0 \(line 2\): face box \(x=25, y=10, width=20, "
                                         r"height=16\) lies outside the image of width 40 and height 30"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_empty_image_folder(tmp_path):
    root = write_affectnet(tmp_path / "r", TRAINING, VALIDATION, {})
    (root / "Manually_Annotated_Images").mkdir()
    with pytest.raises(ValueError, match="Manually_Annotated_Images is empty"):
        read_affectnet(root, cache_dir=tmp_path / "c", progress=False)


def test_bad_size_parameter(root, tmp_path):
    with pytest.raises(ValueError, match="size: expected a positive int"):
        read_affectnet(root, size=0, cache_dir=tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match="channels: expected 1"):
        read_affectnet(root, channels=4, cache_dir=tmp_path / "c", progress=False)


def test_a_damaged_hash_shard_is_named_moved_aside_and_hashed_again(root, tmp_path, monkeypatch):
    fresh, _ = index_affectnet(root, seed=0, cache_dir=tmp_path / "fresh", progress=False, shard_rows=1)
    index_affectnet(root, seed=0, cache_dir=tmp_path / "c", progress=False, shard_rows=1)
    shards = sorted((tmp_path / "c").glob("affectnet/index-*/hashes/*.npy"))
    assert len(shards) >= 2 and all(s.with_name(s.name + ".sha256").is_file() for s in shards)
    data = bytearray(shards[1].read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the SHA-1 column
    shards[1].write_bytes(bytes(data))
    calls = {"n": 0}
    real = an.file_sha1
    monkeypatch.setattr(an, "file_sha1", lambda p: (calls.__setitem__("n", calls["n"] + 1), real(p))[1])
    with pytest.warns(RuntimeWarning, match=rf"{shards[1].name}: damaged artifact .*checksum"):
        rows, _ = index_affectnet(root, seed=0, cache_dir=tmp_path / "c", progress=False, shard_rows=1)
    assert calls["n"] == 1  # only the damaged shard's one image was hashed again
    assert shards[1].with_name(shards[1].name + ".damaged").is_file() and shards[1].is_file()
    assert list(rows["sha1"]) == list(fresh["sha1"]) and list(rows["path"]) == list(fresh["path"])


def test_a_damaged_image_shard_of_a_partial_cache_is_decoded_again(root, tmp_path, monkeypatch):
    fresh = read_affectnet(root, size=6, cache_dir=tmp_path / "fresh", progress=False, shard_rows=1)
    calls = _interrupted_at_the_third_image(root, tmp_path / "c", monkeypatch)
    partial = next((tmp_path / "c").glob("affectnet/*/images.npy.partial"))
    data = bytearray(partial.read_bytes())
    header = len(data) - fresh.images.nbytes  # the images come after the .npy header
    data[header + 5] ^= 0xFF  # a byte of shard 0 (the first image), finished before the interruption
    partial.write_bytes(bytes(data))
    calls["n"] = -100
    with pytest.warns(RuntimeWarning, match=r"rows 0-1 do not match their checksum"):
        ds = read_affectnet(root, size=6, cache_dir=tmp_path / "c", progress=False, shard_rows=1)
    assert calls["n"] == -100 + 2  # the damaged shard 0 and the unfinished shard 2 decoded; shard 1 reused
    assert (partial.parent / "done" / "00000.damaged").is_file()
    np.testing.assert_array_equal(ds.images, fresh.images)
