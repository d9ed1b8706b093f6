"""The catalogue of bad input: every kind of input a user hands to rbdm, malformed, through the
command line as a user would meet it. Each case checks the exit status, that the message names the
file, row or parameter and what was expected, that no traceback is printed, and that the user's
data folder is left as it was.

`python tests/test_bad_input_catalogue.py` prints the catalogue (kind, case, message) as the
Markdown table in the README's troubleshooting section.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_writers import snapshot, write_affectnet, write_ckplus, write_ferplus  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass(frozen=True)
class Case:
    kind: str  # the input a user hands over
    case: str  # what is wrong with it
    make: Callable[[Path], tuple[list[str], Path | None]]  # tmp folder -> (argv, data folder to keep untouched)
    expect: str  # regex the message must match
    code: int = 2


# ---------------------------------------------------------------------------------------- builders
def _video(tmp, name, content, extra=()):
    """`rbdm explain` on a bad video in a folder of its own; bytes, or "blank" (3 uniform grey
    frames) or "cut" (the first 300 bytes of a valid MP4)."""
    from rbdm_core.video.writer import mp4_writer

    folder = tmp / "videos"
    folder.mkdir()
    if isinstance(content, bytes):
        (folder / name).write_bytes(content)
    else:
        with mp4_writer(folder / name, (32, 32), 25) as w:
            for _ in range(3):
                w.append(np.full((32, 32, 3), 128, np.uint8))
        if content == "cut":
            (folder / name).write_bytes((folder / name).read_bytes()[:300])
    return ["explain", "--model", "fer2013-pretrained", "--out", str(tmp / "out"), *extra, str(folder / name)], folder


def _fer(tmp, **kw):
    rows = [{"usage": u, "name": f"fer{i:07d}.png", "votes": [6, 2, 0, 0, 0, 0, 0, 0, 2, 0]}
            for i, u in enumerate(["Training", "Training", "PublicTest", "PrivateTest"])]
    write_ferplus(tmp / "fer", rows, **kw)
    return tmp / "fer"


def _fer_missing_new(tmp):
    root = _fer(tmp)
    (root / "fer2013new.csv").unlink()
    return ["data", "summary", "ferplus", str(root)], root


def _fer_no_pixels(tmp):
    root = _fer(tmp, old_header=["emotion", "pixelz", "Usage"])
    return ["data", "summary", "ferplus", str(root)], root


def _fer_short_pixels(tmp):
    root = _fer(tmp, pixels_override={1: " ".join(["0"] * 2303)})
    return ["data", "summary", "ferplus", str(root)], root


def _fer_vote_text(tmp):
    root = _fer(tmp)
    p = root / "fer2013new.csv"
    lines = p.read_text().splitlines()
    lines[2] = lines[2].replace(",6,", ",six,", 1)
    p.write_text("\n".join(lines) + "\n")
    return ["data", "summary", "ferplus", str(root)], root


def _aff(tmp, box=(2, 2, 20, 20), header=None, drop=None, expression=1):
    img = np.full((30, 30, 3), 120, np.uint8)
    rows = [{"path": "1/a.png", "box": box, "expression": expression}]
    root = write_affectnet(tmp / "aff", rows, [{"path": "1/b.png", "box": (2, 2, 20, 20), "expression": 0}],
                           {"1/a.png": img, "1/b.png": img // 2}, header=header)  # distinct: not deduplicated
    if drop:
        (root / drop).unlink()
    return root


def _aff_case(**kw):
    def make(tmp):
        root = _aff(tmp, **kw)
        return ["data", "summary", "affectnet", str(root), "--check-images", "--no-progress",
                "--size", "16"], root
    return make


def _ck(tmp, code="4", frames=3, remove_frames=False):
    root = write_ckplus(tmp / "ck", [{"subject": 5, "seq": 1, "frames": frames, "code": code}])
    if remove_frames:
        for f in (root / "cohn-kanade-images" / "S005" / "001").iterdir():
            f.unlink()
    return ["data", "summary", "ckplus", str(root), "--no-progress"], root


def _folder(tmp, label="happy", content=None):
    from PIL import Image

    root = tmp / "faces"
    (root / label).mkdir(parents=True)
    if content is None:
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / label / "a.png")
    else:
        (root / label / "a.png").write_bytes(content)
    return root


def _profile(tmp, text):
    p = tmp / "my.yml"
    p.write_text(text)
    return ["run", "01", "--profile", str(p), "--no-progress"], None


def _gaze(tmp, rows, sidecar="screen: [2560, 1440]\ndisplay_px: 1200\n"):
    """A profile naming a gaze recording (a fixation table in lab/) and `rbdm run 04` on it."""
    lab = tmp / "lab"
    lab.mkdir()
    (lab / "fix.csv").write_text("participant,image_id,x,y,start_ms,duration_ms\n" + "\n".join(rows) + "\n")
    if sidecar is not None:
        (lab / "fix.yml").write_text(sidecar)
    p = tmp / "my.yml"
    p.write_text("roots: {gaze: lab/fix.csv}\n")
    return ["run", "04", "--profile", str(p), "--no-progress"], lab


def _npz(tmp):
    p = tmp / "d.npz"
    np.savez(p, images=np.zeros((4, 8, 8, 1), np.uint8), labels=np.zeros(4, np.int64))
    return ["train", "--data", f"npz:{p}", "--out", str(tmp / "out")], None


def _config(tmp):
    p = tmp / "c.yml"
    p.write_text("seeds: [0\n")
    return ["train", "--config", str(p), "--out", str(tmp / "out")], None


def _model(tmp, files=()):
    m = tmp / "model"
    m.mkdir()
    for f in files:
        (m / f).write_text("{}")
    img = _folder(tmp)
    return ["predict", "--model", str(m), str(img / "happy" / "a.png")], img


CATALOGUE = [
    Case("FERPlus", "fer2013new.csv missing", _fer_missing_new, r"fer2013new.csv does not exist"),
    Case("FERPlus", "a column renamed", _fer_no_pixels, r"fer2013.csv: missing column\(s\) \['pixels'\]"),
    Case("FERPlus", "a pixels field one value short", _fer_short_pixels,
         r"fer2013.csv row 1 \(line 3\): pixels field has 2303 values, expected 2304"),
    Case("FERPlus", "a vote that is not a number", _fer_vote_text, r"fer2013new.csv row 1 \(line 3\).*'six'"),
    Case("AffectNet", "validation.csv missing", _aff_case(drop="Manually_Annotated_file_lists/validation.csv"),
         r"validation.csv does not exist"),
    Case("AffectNet", "a column renamed", _aff_case(header=["subDirectory_filePath", "face_x", "face_y", "face_width",
                                                            "face_height", "facial_landmarks", "expr", "valence", "arousal"]),
         r"training.csv: missing column\(s\) \['expression'\]"),
    Case("AffectNet", "a face box outside its image", _aff_case(box=(20, 2, 20, 20)),
         r"training.csv row 0 \(line 2\): face box \(x=20, y=2, width=20, height=20\) lies outside the image"),
    Case("AffectNet", "a listed image missing", _aff_case(drop="Manually_Annotated_Images/1/a.png"),
         r"training.csv row 0 \(line 2\): image file .*a.png does not exist"),
    Case("AffectNet", "an expression code out of range", _aff_case(expression=12),
         r"training.csv row 0 \(line 2\): expression .?12.? is out of range, expected an int 0..10"),
    Case("CK+", "an emotion code out of range", lambda t: _ck(t, code="8.0000000e+00"),
         r"_emotion.txt: emotion code '8.0000000e\+00' is out of range"),
    Case("CK+", "an emotion file holding a word", lambda t: _ck(t, code="happy"),
         r"_emotion.txt: holds 'happy', expected one number"),
    Case("CK+", "a sequence without frames", lambda t: _ck(t, remove_frames=True),
         r"frame folder .*S005/001 is empty"),
    Case("image folder", "a label folder that matches no class",
         lambda t: (["data", "summary", "folder", str(_folder(t, "joyful"))], t / "faces"),
         r"folder\(s\) \['joyful'\] match no class"),
    Case("image folder", "an image file that is not an image",
         lambda t: (["data", "summary", "folder", str(_folder(t, content=b"\x89PNG cut")), "--check-images",
                     "--no-progress"], t / "faces"),
         r"faces: image file .*a.png could not be read as an image"),
    Case("image folder", "not a folder", lambda t: (["data", "summary", "folder", str(t / "none")], None),
         r"image folder .*none: not a folder"),
    Case("synthetic data", "an unknown domain", lambda t: (["data", "summary", "synthetic", "fer_like"], None),
         r"domain must be one of \('affectnet_like', 'ferplus_like', 'ckplus_like'\), got 'fer_like'"),
    Case("synthetic data", "a non-positive image count",
         lambda t: (["data", "summary", "synthetic", "ferplus_like", "--n", "0"], None),
         r"--n: expected a positive number of images, got 0"),
    Case("profile file", "an unknown field", lambda t: _profile(t, "epochz: 3\n"),
         r"my.yml: unknown field\(s\) \['epochz'\]; valid fields are \["),
    Case("profile file", "a field of the wrong type", lambda t: _profile(t, "seeds: zero\n"),
         r"my.yml: field 'seeds' must be tuple\[int, \.\.\.\], got 'zero'"),
    Case("profile file", "an unknown corpus root", lambda t: _profile(t, "roots: {fer: /data}\n"),
         r"my.yml: roots: unknown source\(s\) \['fer'\]; valid sources are"),
    Case("profile file", "a missing file", lambda t: (["run", "01", "--profile", str(t / "gone.yml")], None),
         r"gone.yml: not found"),
    Case("gaze recording", "a value that is not a number",
         lambda t: _gaze(t, ["p1,S005/001/last,1200,700,0,250", "p1,S005/001/last,12OO,700,300,250"]),
         r"fix.csv, line 3: x: expected a number, got '12OO'"),
    Case("gaze recording", "no geometry sidecar", lambda t: _gaze(t, ["p1,S005/001/last,1200,700,0,250"], None),
         r"fix.csv: no geometry sidecar; expected .*fix.yml"),
    Case("gaze recording", "an image that does not fit the screen",
         lambda t: _gaze(t, ["p1,S005/001/last,1200,700,0,250"], "screen: [1024, 768]\ndisplay_px: 1200\n"),
         r"fix.yml: placement .*does not fit on the 1024x768 screen"),
    Case("chapter parameters", "a parameter the chapter does not have",
         lambda t: (["run", "05", "-p", "negative_fraktion", "0.2", "--no-progress"], None),
         r"chapter 05_masking: unknown parameter\(s\) negative_fraktion; its parameters are: .*negative_fraction"),
    Case("chapter parameters", "a value that is not a Python literal or word",
         lambda t: (["run", "05", "-p", "negative_fraction", "[0.2", "--no-progress"], None),
         r"parameter negative_fraction: cannot parse value"),
    Case("chapter parameters", "a chapter that does not exist", lambda t: (["run", "42", "--no-progress"], None),
         r"chapter '42': not found; chapters are: 01_data"),
    Case("chapter parameters", "a cell timeout of zero", lambda t: (["run", "01", "--cell-timeout", "0"], None),
         r"--cell-timeout must be a positive number of seconds, got 0"),
    Case("training data", "an npz without the split array", _npz,
         r"--data npz:.*d.npz: missing array\(s\) \['split'\]"),
    Case("training data", "an unknown source", lambda t: (["train", "--data", "csv:x.csv", "--out", str(t)], None),
         r"--data 'csv:x.csv': unknown source 'csv'"),
    Case("training config", "a YAML file that does not parse", _config, r"c.yml"),
    Case("study", "zero worker processes", lambda t: (["study", "--workers", "0", "--run-dir", str(t)], None),
         r"study: workers: expected a positive int, got 0"),
    Case("image file", "a file that is not an image",
         lambda t: (["predict", "--model", "fer2013-pretrained", str(_folder(t, content=b"hello") / "happy" / "a.png")],
                    t / "faces"),
         r"image file .*a.png could not be read as an image"),
    Case("image file", "a file that does not exist",
         lambda t: (["predict", "--model", "fer2013-pretrained", str(t / "none.png")], None),
         r"none.png"),
    Case("detector option", "a --min-score outside (0, 1]",
         lambda t: (["predict", "--model", "fer2013-pretrained", "--min-score", "1.5",
                     str(_folder(t) / "happy" / "a.png")], t / "faces"),
         r"--min-score: expected a number in \(0, 1\] \(a BlazeFace score\), got '1.5'"),
    Case("video file", "an empty file", lambda t: _video(t, "empty.mp4", b""), r"video file .*empty.mp4 is empty"),
    Case("video file", "a cut file (its first 300 bytes)", lambda t: _video(t, "cut.mp4", "cut"),
         r"video file .*cut.mp4 could not be read as a video"),
    Case("video file", "a text file named .mov", lambda t: _video(t, "notes.mov", b"not a video\n" * 20),
         r"video file .*notes.mov could not be read as a video"),
    Case("video file", "no face in any frame", lambda t: _video(t, "blank.mp4", "blank"),
         r"video file .*blank.mp4: no face found in any of its 3 processed frame\(s\)"),
    Case("video file", "a step of zero", lambda t: _video(t, "blank.mp4", "blank", ["--step", "0"]),
         r"--step: expected a positive number of milliseconds, got 0"),
    Case("model folder", "not a folder", lambda t: (["predict", "--model", str(t / "nomodel"), "x.png"], None),
         r"model '.*nomodel': no such folder and not a built-in model \(built-in: fer2013-pretrained\)"),
    Case("model folder", "a folder without the model files", _model,
         r"model .*model: expected a folder with bundle.json and model.keras"),
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[f"{c.kind}: {c.case}" for c in CATALOGUE])
def test_bad_input_gets_a_clear_message(case, tmp_path, capsys, monkeypatch):
    from rbdm_core import cli

    monkeypatch.setenv("RBDM_RUN_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RBDM_CACHE_DIR", str(tmp_path / "cache"))
    argv, data = case.make(tmp_path)
    before = snapshot(data) if data is not None else None
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err
    import re

    assert re.search(case.expect, err), f"expected /{case.expect}/ in:\n{err}"
    if data is not None:
        assert snapshot(data) == before  # the user's folder was read, never written


def test_the_catalogue_covers_every_kind_of_input():
    kinds = {c.kind for c in CATALOGUE}
    assert {"FERPlus", "AffectNet", "CK+", "image folder", "profile file", "chapter parameters", "model folder"} <= kinds
    assert len(CATALOGUE) >= 30


def markdown() -> str:
    """The catalogue as a Markdown table (for the README)."""
    lines = ["| input | malformed how | the message says (pattern) |", "| --- | --- | --- |"]
    for c in CATALOGUE:
        lines.append(f"| {c.kind} | {c.case} | `{c.expect.replace('|', '/')}` |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(f"{len(CATALOGUE)} cases\n")
    print(markdown())
