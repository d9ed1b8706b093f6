"""CK+ reader on a fixture of five sequences (four labelled) worked out by hand."""

import shutil

import numpy as np
import pytest

from fixtures_writers import ck_frame, snapshot, write_ckplus
from rbdm_core.data import FERPLUS_CLASSES
from rbdm_core.data.ckplus import read_ckplus

SEQS = [
    dict(subject=5, seq=1, frames=5, code="3.0000000e+00"),                 # disgust
    dict(subject=5, seq=2, frames=4, code=None),                            # unlabelled: unused
    dict(subject=10, seq=1, frames=3, code="5.0000000e+00", rgb=True),      # happiness (RGB frames)
    dict(subject=10, seq=3, frames=6, code="1.0000000e+00", label_frame=5),  # anger, label on frame 5 of 6
    dict(subject=22, seq=4, frames=2, code="7.0000000e+00"),                # surprise
]
IDS = ["S005/001/first", "S005/001/last", "S010/001/first", "S010/001/last",
       "S010/003/first", "S010/003/last", "S022/004/first", "S022/004/last"]
LABELS = ["neutral", "disgust", "neutral", "happiness", "neutral", "anger", "neutral", "surprise"]
# (subject, seq, frame) each row's image comes from: first frame, and the LAST frame (6 for S010/003)
FRAMES = [(5, 1, 1), (5, 1, 5), (10, 1, 1), (10, 1, 3), (10, 3, 1), (10, 3, 6), (22, 4, 1), (22, 4, 2)]


@pytest.fixture
def root(tmp_path):
    return write_ckplus(tmp_path / "ck", SEQS)


def test_pairs_labels_and_frames(root):
    ds = read_ckplus(root, size=12, progress=False)
    assert list(ds.ids) == IDS
    assert [FERPLUS_CLASSES[k] for k in ds.labels] == LABELS
    assert ds.images.shape == (8, 12, 12, 1) and ds.images.dtype == np.uint8
    for img, (s, q, f) in zip(ds.images, FRAMES):  # frames are constant images: resizing keeps the value
        assert np.all(img == ck_frame(s, q, f)[0, 0])
    assert set(ds.split) == {"all"}
    prov = ds.provenance
    assert prov["sequences"] == 4 and prov["label_frame_not_last"] == 1
    assert prov["dropped"] == {"unlabelled_sequences": 1}
    assert prov["synthetic"] is False and prov["source"] == "ckplus"


def test_rgb_output_and_folds(root):
    ds = read_ckplus(root, size=(10, 14), channels=3, folds=2, progress=False)
    assert ds.images.shape == (8, 10, 14, 3)
    np.testing.assert_array_equal(ds.images[..., 0], ds.images[..., 2])  # gray frames stay gray
    # subjects S005, S010, S022 in sorted order go to fold0, fold1, fold0
    assert list(ds.split) == ["fold0"] * 2 + ["fold1"] * 4 + ["fold0"] * 2


def test_keep_aspect_crops_the_centre(tmp_path):
    root = write_ckplus(tmp_path / "ck", [dict(subject=1, seq=1, frames=2, code="2.0000000e+00")], shape=(4, 8))
    # a 4x8 frame whose left and right quarters are 0 and centre 4x4 is 200
    frame = np.zeros((4, 8), np.uint8)
    frame[:, 2:6] = 200
    from PIL import Image
    for f in (1, 2):
        Image.fromarray(frame).save(root / "cohn-kanade-images/S001/001" / f"S001_001_{f:08d}.png")
    ds = read_ckplus(root, size=4, progress=False)
    assert np.all(ds.images == 200) and FERPLUS_CLASSES[ds.labels[1]] == "contempt"
    stretched = read_ckplus(root, size=4, keep_aspect=False, progress=False)
    assert stretched.images[0, :, 0, 0].max() < 200  # the black border is squeezed in


def test_nothing_written_into_the_data_folder(root):
    before = snapshot(root)
    read_ckplus(root, size=8, progress=False)
    assert snapshot(root) == before


# --------------------------------------------------------------------------- bad input
def test_missing_emotion_folder(root):
    shutil.rmtree(root / "Emotion")
    with pytest.raises(FileNotFoundError, match="CK\\+ emotion folder .*Emotion does not exist"):
        read_ckplus(root, progress=False)


def test_empty_emotion_folder(tmp_path):
    root = write_ckplus(tmp_path / "ck", [dict(subject=1, seq=1, frames=2, code=None)])
    with pytest.raises(ValueError, match="Emotion is empty: no Sxxx/yyy/\\*_emotion.txt"):
        read_ckplus(root, progress=False)


def test_emotion_code_out_of_range(tmp_path):
    root = write_ckplus(tmp_path / "ck", [dict(subject=1, seq=1, frames=2, code="8.0000000e+00")])
    with pytest.raises(ValueError, match="S001_001_00000002_emotion.txt: emotion code '8.0000000e\\+00' is out of range"):
        read_ckplus(root, progress=False)


def test_emotion_file_not_a_number(tmp_path):
    root = write_ckplus(tmp_path / "ck", [dict(subject=1, seq=1, frames=2, code="happy")])
    with pytest.raises(ValueError, match="emotion.txt: holds 'happy', expected one number"):
        read_ckplus(root, progress=False)


def test_missing_and_empty_frame_folder(root):
    shutil.rmtree(root / "cohn-kanade-images" / "S022" / "004")
    with pytest.raises(FileNotFoundError, match="frame folder .*S022/004 does not exist"):
        read_ckplus(root, progress=False)
    (root / "cohn-kanade-images" / "S022" / "004").mkdir()
    with pytest.raises(ValueError, match="frame folder .*S022/004 is empty"):
        read_ckplus(root, progress=False)


def test_unreadable_frame(root):
    (root / "cohn-kanade-images/S010/003/S010_003_00000006.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ValueError, match="CK\\+ sequence S010/003: image file .*S010_003_00000006.png could not be read"):
        read_ckplus(root, progress=False)


def test_bad_parameters(root):
    with pytest.raises(ValueError, match="channels: expected 1 .* or 3"):
        read_ckplus(root, channels=2, progress=False)
    with pytest.raises(ValueError, match="folds: expected None or an int >= 2"):
        read_ckplus(root, folds=1, progress=False)
