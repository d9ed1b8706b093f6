"""The paper path with recorded gaze: an Eye Tribe recording (PyGaze's format) on the CK+
miniature's images runs chapters 4-6 through a profile file (issue 30). A file of its own, so that
the test processes (pytest-xdist, a file per process) share the paper path's work out evenly."""

from __future__ import annotations

import re

from test_paper_path import PROFILE, _html_table, _outputs, _rbdm, corpora  # noqa: F401  (corpora: the fixture)

import pytest

pytestmark = pytest.mark.slow


def test_an_eye_tribe_recording_runs_the_gaze_chapters(corpora, tmp_path):
    """roots: {gaze: FOLDER} of Eye Tribe logs (PyGaze's format, written by test_gaze_eyetribe's
    writer) on the CK+ miniature's images: chapters 4-6 run on the recording, and chapter 4 prints
    what was read, with the counts the logs imply."""
    from rbdm_core.data.ckplus import read_ckplus
    from test_gaze_eyetribe import SIDECAR, _participant

    _, roots, _, _ = corpora
    ids = list(read_ckplus(roots["ckplus"], size=48).ids)
    lab = tmp_path / "lab"
    lab.mkdir()
    for k, part in enumerate(("P01", "P02")):  # each: 2 fixations on one image, 1 on the next, 32 frames
        _participant(ids[2 * k:2 * k + 2]).write(lab / f"{part}.tsv")
    (lab / "geometry.yml").write_text(SIDECAR + "eyetribe: {fixations: tracker}\n", encoding="utf-8")
    prof = tmp_path / "tribe.yml"
    prof.write_text(PROFILE.format(roots=", ".join(f"{k}: {v}" for k, v in roots.items()) + f", gaze: {lab}"))
    run_dir, cache = tmp_path / "runs", tmp_path / "cache"
    for ch in ("04", "05", "06"):
        proc = _rbdm(["run", ch, "--profile", str(prof), "--run-dir", str(run_dir), "--no-progress",
                      *(["-p", "leak_free_fill", "null"] if ch == "06" else [])], cache)
        assert proc.returncode == 0, proc.stderr[-4000:]
    text = re.sub(r"\s+", " ", "\n".join(_outputs(run_dir / "tribe" / "notebooks" / "04_perception.ipynb")))
    assert re.search(r"recorded gaze \(Eye Tribe log, smoothed gaze \(the tracker's fix flag\), lab\): "
                     r"2 participants, 6 fixations on 4 images; 64 rows read, dropped: .*outside_trial_samples 10", text), \
        text[:3000]
    rows = _html_table(_outputs(run_dir / "tribe" / "notebooks" / "04_perception.ipynb"),
                       "The Eye Tribe recording's fixations by either detector (used: the sidecar's)")
    assert [(r[0], r[1], r[2], r[-1]) for r in rows] == [("pymovements I-DT", "6", "4", "False"),
                                                         ("the tracker's fix flag", "6", "4", "True")]
    # the kernel from the sidecar, and which numbers are the paper's defaults
    assert "1920x1080 screen (the sidecar)" in text and "the image shown at 600 px (the sidecar)" in text
    assert "at 70 cm (default: the paper's)" in text
