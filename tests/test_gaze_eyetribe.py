"""Eye Tribe logs as PyGaze's pytribe back-end writes them (issue 30 item 2), written here by the
test in that format: samples inside the image messages, lost frames, the smoothed or the raw
signal, and fixations from pymovements' I-DT or from the tracker's own fix flag, against values
worked out by hand; a profile file naming a folder of logs makes them the pipeline's gaze study."""

from __future__ import annotations

import numpy as np
import pytest

from rbdm_core.data.dataset import Dataset
from rbdm_core.gaze.recordings import EYETRIBE_COLUMNS, check_recording, read_gaze_recording, recording_kind

SIDECAR = "screen: [1920, 1080]\ndisplay_px: 600\n"  # the image centred: left 660, top 240, 600 px
STEP = 33  # ms between frames (30 Hz)


class Log:
    """Lines of one pytribe log: MSG rows and frames (raw = smoothed + 3 px, as a jittery raw signal)."""

    def __init__(self):
        self.lines = ["\t".join(EYETRIBE_COLUMNS)]
        self.t = 1000

    def msg(self, text):
        self.lines.append(f"MSG\t2014-08-11 12:00:00.000\t{self.t}\t{text}")

    def frames(self, n, x, y, fix, state=7):
        for _ in range(n):
            raw = (0.0, 0.0) if not state & 1 else (x + 3, y + 3)
            avg = (0.0, 0.0) if not state & 1 else (x, y)
            eye = [raw[0], raw[1], avg[0], avg[1], 12.5, 0.4, 0.5]  # per eye: raw x, y, avg x, y, psize, pupil x, y
            cells = ["2014-08-11 12:00:00.000", self.t, fix, state, *raw, *avg, 12.5, *eye, *eye]
            self.lines.append("\t".join(map(str, cells)))
            self.t += STEP

    def write(self, path):
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def _participant(ids, shift=0.0):
    log = Log()
    log.msg("start_recording")
    log.frames(3, 960, 540, False)  # before any image: outside a trial
    log.msg(f"TRIALID {ids[0]}")
    log.frames(10, 900 + shift, 500, True)  # fixation 1
    log.frames(1, 1100, 600, False)  # saccade
    log.frames(1, 1200, 650, False)
    log.frames(8, 1250 + shift, 700, True)  # fixation 2
    log.frames(1, 0, 0, False, state=8)  # tracking failed: a lost sample
    log.msg("TRIAL_END")
    log.msg(f"TRIALID {ids[1]}")
    log.frames(6, 800 + shift, 400, True)  # 165 ms
    log.msg("TRIAL_END")
    log.frames(2, 960, 540, False)  # after: outside a trial
    return log


def _images(ids):
    n = len(ids)
    return Dataset(images=np.zeros((n, 48, 48, 1), np.uint8), labels=np.zeros(n, np.int64), ids=np.array(ids, object))


def _to_image(x):  # screen px -> pixel-centre image px of the 48 px image shown at 600 px from 660 (x) / 240 (y)
    return x / 600 * 48 - 0.5


@pytest.mark.parametrize("fixations", ["idt", "tracker"])
def test_a_pytribe_log_gives_the_fixations_worked_out_by_hand(tmp_path, fixations):
    ids = ["S005/001/last", "S010/002/last"]
    _participant(ids).write(tmp_path / "P01.tsv")
    (tmp_path / "P01.yml").write_text(SIDECAR + f"eyetribe: {{fixations: {fixations}}}\n", encoding="utf-8")
    assert recording_kind(tmp_path / "P01.tsv") == "samples" and check_recording(tmp_path / "P01.tsv") == "samples"
    rec = read_gaze_recording(tmp_path / "P01.tsv", _images(ids))
    assert rec.drops["outside_trial_samples"] == 5 and rec.drops["off_screen_samples"] == 0
    assert rec.params["reader"] == ("Eye Tribe log, smoothed gaze " +
                                    ("(the tracker's fix flag)" if fixations == "tracker" else "(pymovements I-DT)"))
    fx = rec.fixations.sort_values(["image_index", "start_ms"]).reset_index(drop=True)
    assert fx.participant.tolist() == ["P01"] * 3 and fx.image_index.tolist() == [0, 0, 1]
    np.testing.assert_allclose(fx.x_image, [_to_image(900 - 660), _to_image(1250 - 660), _to_image(800 - 660)])
    np.testing.assert_allclose(fx.y_image, [_to_image(500 - 240), _to_image(700 - 240), _to_image(400 - 240)])
    t_trial = 1000 + 3 * STEP  # the first frame of the first image
    assert fx.start_ms.iloc[0] == t_trial and fx.start_ms.iloc[1] == t_trial + 12 * STEP
    if fixations == "tracker":  # a run of n flagged frames lasts (n - 1) frame steps
        assert fx.duration_ms.tolist() == [9 * STEP, 7 * STEP, 5 * STEP]


def test_the_raw_signal_and_a_folder_of_participants(tmp_path):
    ids = ["a", "b"]
    lab = tmp_path / "lab"
    lab.mkdir()
    _participant(ids).write(lab / "P01.tsv")
    _participant(ids, shift=20).write(lab / "P02.tsv")
    (lab / "geometry.yml").write_text(SIDECAR + "eyetribe: {signal: raw}\n", encoding="utf-8")
    rec = read_gaze_recording(lab, _images(ids))
    assert rec.annotators.participant.tolist() == ["P01", "P02"]
    assert rec.params["reader"].startswith("Eye Tribe log, raw gaze")
    first = rec.fixations[(rec.fixations.participant == "P02") & (rec.fixations.image_index == 0)].iloc[0]
    assert first.x_image == pytest.approx(_to_image(900 + 20 + 3 - 660))  # raw = smoothed + 3 px
    assert rec.drops["outside_trial_samples"] == 10


def test_bad_logs_name_the_file_and_line(tmp_path):
    ids = ["a", "b"]
    log = _participant(ids)
    log.lines[6] = log.lines[6].replace("\tTrue\t", "\tyes\t", 1)
    log.write(tmp_path / "P01.tsv")
    (tmp_path / "P01.yml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(ValueError, match=r"P01.tsv, line 7: fix: expected True or False, got 'yes'"):
        read_gaze_recording(tmp_path / "P01.tsv", _images(ids))
    (tmp_path / "P02.tsv").write_text("time,x,y\n1,2,3\n", encoding="utf-8")
    (tmp_path / "P02.yml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(ValueError, match=r"P02.tsv, line 1: not an Eye Tribe log"):
        check_recording(tmp_path / "P02.tsv")
    (tmp_path / "P01.yml").write_text(SIDECAR + "eyetribe: {fixations: saccades}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"eyetribe: expected a mapping with signal: smoothed\|raw"):
        check_recording(tmp_path / "P01.tsv")


def test_a_profile_file_naming_a_folder_of_logs_is_the_pipelines_gaze_study(tmp_path):
    from rbdm_core.pipeline import Pipeline, get_profile

    n_img = 6
    ids = list(Pipeline(get_profile("quick", gaze_n=n_img), run_dir=tmp_path / "runs").gaze_images.ids)
    lab = tmp_path / "lab"
    lab.mkdir()
    for k, part in enumerate(("P01", "P02")):
        _participant(ids[2 * k:2 * k + 2]).write(lab / f"{part}.tsv")
    (lab / "geometry.yml").write_text(SIDECAR + "eyetribe: {fixations: tracker}\n", encoding="utf-8")
    prof = tmp_path / "eyetribe.yml"
    prof.write_text(f"base: quick\ngaze_n: {n_img}\nroots:\n  gaze: lab\n", encoding="utf-8")
    pipe = Pipeline(get_profile(str(prof)), run_dir=tmp_path / "runs")
    study = pipe.gaze_study
    assert study.recorded and study.params["reader"] == "Eye Tribe log, smoothed gaze (the tracker's fix flag)"
    # by hand: each participant has 2 fixations on its first image and 1 on its second
    assert pipe.mean_fixations() == pytest.approx((2 + 1 + 2 + 1) / 4)
    assert pipe.perceptive_n() == 2


def test_both_detectors_side_by_side(tmp_path):
    from rbdm_core.gaze.recordings import eyetribe_detectors

    ids = ["a", "b"]
    _participant(ids).write(tmp_path / "P01.tsv")
    (tmp_path / "P01.yml").write_text(SIDECAR + "eyetribe: {fixations: tracker}\n", encoding="utf-8")
    tab = eyetribe_detectors(tmp_path / "P01.tsv", _images(ids))
    assert tab.detector.tolist() == ["pymovements I-DT", "the tracker's fix flag"]
    assert tab.fixations.tolist() == [3, 3] and tab.used.tolist() == [False, True]
    assert tab["median duration (ms)"].iloc[1] == 7 * STEP  # runs of 10, 8 and 6 frames
