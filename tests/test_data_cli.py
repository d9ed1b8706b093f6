"""`rbdm data summary SOURCE ROOT`, run in-process through `rbdm_core.cli.main`."""

import io

import numpy as np
import pandas as pd
import pytest

from fixtures_writers import write_affectnet, write_ckplus, write_ferplus
from rbdm_core.cli import main
from rbdm_core.data import FERPLUS_CLASSES

# votes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
ROWS = [
    dict(usage="Training", name="fer0000000.png", votes=[0, 9, 1, 0, 0, 0, 0, 0, 0, 0]),    # happiness (both)
    dict(usage="Training", name="fer0000001.png", votes=[3, 0, 0, 2, 2, 1, 1, 1, 0, 0]),    # paper neutral; fm 3 > 3.5? drop
    dict(usage="PublicTest", name="fer0000002.png", votes=[0, 0, 0, 0, 0, 8, 2, 0, 0, 0]),  # disgust (both)
    dict(usage="PrivateTest", name="", votes=[0, 0, 0, 0, 0, 0, 0, 0, 0, 10]),             # empty name: drop
    dict(usage="PrivateTest", name="fer0000004.png", votes=[5, 0, 0, 0, 5, 0, 0, 0, 0, 0]),  # tie / no majority
]


def _table(text: str) -> dict:
    df = pd.read_csv(io.StringIO(text))
    assert list(df.columns) == ["split", "label", "count"]
    assert set(df["label"]) <= set(FERPLUS_CLASSES)
    return {(s, l): c for s, l, c in df.itertuples(index=False) if c}


def test_ferplus_summary_both_rules(tmp_path, capsys):
    write_ferplus(tmp_path, ROWS)
    assert main(["data", "summary", "ferplus", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("split,label,count\n")
    # splits with no kept row (PrivateTest) do not appear; the others list all 8 classes
    assert len(out.out.strip().splitlines()) == 1 + 2 * 8
    assert _table(out.out) == {("Training", "happiness"): 1, ("Training", "neutral"): 1,
                               ("PublicTest", "disgust"): 1}
    assert '"tie": 1' in out.err and '"empty_image_name": 1' in out.err

    assert main(["data", "summary", "ferplus", str(tmp_path), "--rule", "ferplus-majority", "--no-progress"]) == 0
    assert _table(capsys.readouterr().out) == {("Training", "happiness"): 1, ("PublicTest", "disgust"): 1}


def test_ferplus_file_options(tmp_path, capsys):
    old, new = write_ferplus(tmp_path / "a", ROWS)
    new.rename(tmp_path / "votes.csv")
    assert main(["data", "summary", "ferplus", str(tmp_path / "a"), "--fer2013new", str(tmp_path / "votes.csv"),
                 "--no-progress"]) == 0
    assert _table(capsys.readouterr().out)[("PublicTest", "disgust")] == 1


def test_ckplus_summary(tmp_path, capsys):
    root = write_ckplus(tmp_path / "ck", [dict(subject=1, seq=1, frames=3, code="4.0000000e+00"),
                                          dict(subject=2, seq=1, frames=2, code="4.0000000e+00"),
                                          dict(subject=2, seq=2, frames=2, code="6.0000000e+00")])
    assert main(["data", "summary", "ckplus", str(root), "--size", "8", "--no-progress"]) == 0
    # 3 sequences: 3 neutral first frames, 2 fear and 1 sadness last frames, split "all"
    assert _table(capsys.readouterr().out) == {("all", "neutral"): 3, ("all", "fear"): 2, ("all", "sadness"): 1}


def test_affectnet_summary_index_and_full(tmp_path, capsys):
    img = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    img2 = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    root = write_affectnet(
        tmp_path / "an",
        [dict(path="a/1.png", box=(0, 0, 10, 10), expression=0),
         dict(path="a/2.png", box=(0, 0, 10, 10), expression=3),
         dict(path="a/3.png", box=(0, 0, 10, 10), expression=8)],   # None: dropped
        [dict(path="b/1.png", box=(5, 5, 10, 10), expression=0),
         dict(path="b/2.png", box=(5, 5, 10, 10), expression=0)],   # same content as b/1: one dropped
        {"a/1.png": img, "a/2.png": img2, "a/3.png": img2[::-1], "b/1.png": img[::-1], "b/2.png": img[::-1]},
    )
    expected = {("training", "neutral"): 1, ("training", "surprise"): 1, ("validation", "neutral"): 1}
    assert main(["data", "summary", "affectnet", str(root), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert _table(out.out) == expected
    assert '"duplicate_content": 1' in out.err and '"expression_none": 1' in out.err
    assert main(["data", "summary", "affectnet", str(root), "--check-images", "--size", "8", "--no-progress"]) == 0
    assert _table(capsys.readouterr().out) == expected


def test_synthetic_summary(capsys):
    synthetic = pytest.importorskip("rbdm_core.data.synthetic")
    assert main(["data", "summary", "synthetic", "ferplus_like", "--n", "40", "--seed", "1"]) == 0
    got = _table(capsys.readouterr().out)
    counts = synthetic.make_domain("ferplus_like", n=40, seed=1).counts()
    assert got == {(s, l): c for s, l, c in counts.itertuples(index=False) if c}
    assert sum(got.values()) == 40


# --------------------------------------------------------------------------- errors -> exit 2
def test_missing_folder_is_an_error(tmp_path, capsys):
    assert main(["data", "summary", "ferplus", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rbdm data: error: ") and "nowhere" in err and "does not exist" in err


def test_bad_row_is_an_error_naming_it(tmp_path, capsys):
    write_ferplus(tmp_path, ROWS, pixels_override={2: "1 2 3"})
    assert main(["data", "summary", "ferplus", str(tmp_path), "--no-progress"]) == 2
    out = capsys.readouterr()
    assert out.out == ""  # no half table on stdout
    assert "rbdm data: error: " in out.err and "row 2 (line 4): pixels field has 3 values, expected 2304" in out.err


def test_unknown_source_is_rejected(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "summary", "mnist", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'mnist'" in capsys.readouterr().err


def test_closed_pipe_ends_quietly():
    """`rbdm data summary ... | head` must not end in a BrokenPipeError traceback: the reader end
    is closed before the command writes, so its first write meets a closed pipe."""
    import os
    import subprocess
    import sys

    from rbdm_core.cli import SIGPIPE_EXIT

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "rbdm_core.cli", "data", "summary", "synthetic", "ferplus_like"],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == SIGPIPE_EXIT
