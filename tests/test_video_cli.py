"""`rbdm predict VIDEO` / `rbdm explain VIDEO`: CSV rows per face and frame, the overlay MP4, and
the bad videos (named, skipped, exit 1; exit 2 and nothing written when none is usable).

The detector is replaced by the stand-in (whole frame, none in a blank frame) so that these tests
check the command's wiring whatever detector is installed."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")
pytest.importorskip("imageio_ffmpeg")

from rbdm_core.cli import main  # noqa: E402
from rbdm_core.data.faces import render_faces  # noqa: E402
from rbdm_core.video import files  # noqa: E402
from rbdm_core.video.process import box_crop  # noqa: E402
from rbdm_core.video.reader import probe, read_frames  # noqa: E402
from rbdm_core.video.writer import mp4_writer  # noqa: E402

MODEL = ["--model", "fer2013-pretrained"]
TAKEN = [0, 2, 3, 4, 5, 6, 8]  # 9 frames at 30 fps, step 40 ms (test_video.py derives the rule)


#: a frame whose grey values span fewer levels than this has no face for the test detector
BLANK_RANGE = 8


def stand_in_detector(frame):
    """Test double for BlazeFace (which finds no face in the drawn test faces): the whole frame as
    one face, none in a blank frame."""
    if int(frame.max()) - int(frame.min()) < BLANK_RANGE:
        return []
    return [(0, 0, int(frame.shape[1]), int(frame.shape[0]))]


@pytest.fixture(autouse=True)
def stand_in(monkeypatch):
    monkeypatch.setattr(files, "detector", lambda faces="detect", *a, **k: (stand_in_detector, box_crop, "stand-in"))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    faces, _ = render_faces(np.arange(9) % 7, seed=1, size=48, channels=3)
    with mp4_writer(d / "clip.MP4", (64, 48), 30) as w:
        for k in range(9):
            f = np.full((48, 64, 3), 30, np.uint8)
            f[:, k:k + 48] = faces[k]
            w.append(f)
    with mp4_writer(d / "blank.mp4", (64, 48), 25) as w:
        for _ in range(4):
            w.append(np.full((48, 64, 3), 128, np.uint8))
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mkv").write_text("not a video\n" * 20)
    (d / "cut.mov").write_bytes((d / "clip.MP4").read_bytes()[:300])
    Image.fromarray(faces[0]).save(d / "still.png")
    return d


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_predict_video_rows_match_the_frames_classified_as_images(videos, tmp_path, capsys):
    clip = videos / "clip.MP4"
    rc = main(["predict", *MODEL, str(clip)])
    out, err = capsys.readouterr()
    assert rc == 0 and "Traceback" not in err
    assert out.splitlines()[0] == "path,frame,time_ms,track,face,x,y,width,height,score,label,probability,note"
    rows = _rows(out)
    assert [int(r["frame"]) for r in rows] == TAKEN
    assert [float(r["time_ms"]) for r in rows] == pytest.approx([k * 1000 / 30 for k in TAKEN], abs=1e-3)
    assert {(r["track"], r["face"], r["x"], r["y"], r["width"], r["height"]) for r in rows} == {
        ("1", "0", "0", "0", "64", "48")}
    # the same frames, decoded and saved as PNG files, through the still-image path
    pngs = []
    for f in read_frames(clip):
        pngs.append(tmp_path / f"f{f.index}.png")
        Image.fromarray(f.image).save(pngs[-1])
    assert main(["predict", *MODEL, "--faces", "whole", *map(str, pngs)]) == 0  # the stand-in's face
    still = _rows(capsys.readouterr().out)
    assert [r["label"] for r in rows] == [s["label"] for s in still]
    assert [float(r["probability"]) for r in rows] == pytest.approx([float(s["probability"]) for s in still], abs=1e-5)


def test_predict_mixes_images_and_videos_and_skips_bad_videos(videos, capsys):
    bad = [videos / n for n in ("empty.mp4", "notes.mkv", "cut.mov", "blank.mp4")]
    rc = main(["predict", *MODEL, "--step", "100", str(videos / "still.png"), str(bad[0]),
               str(videos / "clip.MP4"), *map(str, bad[1:])])
    out, err = capsys.readouterr()
    assert rc == 1 and "Traceback" not in err
    rows = _rows(out)
    assert rows[0]["path"] == str(videos / "still.png") and rows[0]["frame"] == rows[0]["track"] == ""
    assert (rows[0]["width"], rows[0]["height"]) == ("48", "48")
    assert [int(r["frame"]) for r in rows[1:]] == [0, 3, 6]  # step 100 ms at 30 fps
    assert f"skipped {bad[0]}: video file {bad[0]} is empty" in err
    assert f"skipped {bad[1]}: video file {bad[1]} could not be read as a video" in err
    assert f"skipped {bad[2]}: video file {bad[2]} could not be read as a video" in err
    assert f"skipped {bad[3]}: video file {bad[3]}: no face found in any of its 2 processed frame(s) (step 100 ms)" in err  # 0 and 120 ms
    assert "4 file(s) skipped, 2 classified" in err


@pytest.mark.parametrize("name", ["empty.mp4", "notes.mkv", "cut.mov", "blank.mp4", "missing.mp4"])
def test_predict_a_bad_video_alone_exits_2_with_no_output(videos, name, capsys):
    rc = main(["predict", *MODEL, str(videos / name)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and str(videos / name) in err and "Traceback" not in err
    assert "none of the 1 input file(s) could be read (or held a face)" in err


def test_predict_rejects_a_bad_step(videos, capsys):
    assert main(["predict", *MODEL, "--step", "0", str(videos / "clip.MP4")]) == 2
    assert "--step: expected a positive number of milliseconds" in capsys.readouterr().err


def test_explain_video_writes_the_overlay_mp4_and_csv(videos, tmp_path, capsys):
    out = tmp_path / "rel"
    rc = main(["explain", *MODEL, "--method", "gradient", "--out", str(out), str(videos / "clip.MP4"),
               str(videos / "blank.mp4")])
    err = capsys.readouterr().err
    assert rc == 1 and f"skipped {videos / 'blank.mp4'}" in err and "no blank_relevance.mp4 written" in err
    assert sorted(p.name for p in out.iterdir()) == ["clip_relevance.csv", "clip_relevance.mp4"]
    info = probe(out / "clip_relevance.mp4")
    assert info.size == (64, 48) and info.fps == 25  # min(30, 1000 / 40)
    assert len(list(read_frames(out / "clip_relevance.mp4", 1))) == len(TAKEN)
    rows = _rows((out / "clip_relevance.csv").read_text())
    assert [int(r["frame"]) for r in rows] == TAKEN
    assert main(["predict", *MODEL, str(videos / "clip.MP4")]) == 0
    predicted = _rows(capsys.readouterr().out)
    assert [r["label"] for r in rows] == [r["label"] for r in predicted]


def test_explain_with_no_usable_video_writes_nothing(videos, tmp_path, capsys):
    out = tmp_path / "none"
    rc = main(["explain", *MODEL, "--method", "gradient", "--out", str(out),
               *(str(videos / n) for n in ("empty.mp4", "cut.mov", "blank.mp4"))])
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists() and "Traceback" not in err
    assert "none of the 3 input file(s) could be read (or held a face)" in err


def test_a_folder_stands_for_its_images_and_videos(videos, tmp_path, capsys):
    import shutil

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(videos / "clip.MP4", folder / "sub" / "clip.MP4")
    shutil.copy(videos / "still.png", folder / "still.png")
    (folder / "readme.txt").write_text("notes")
    rc = main(["predict", *MODEL, str(folder)])
    out, err = capsys.readouterr()
    assert rc == 0 and "1 file(s) that are not images or videos ignored" in err
    rows = _rows(out)
    assert [r["path"] for r in rows] == [str(folder / "still.png")] + [str(folder / "sub" / "clip.MP4")] * len(TAKEN)
