"""rbdm_core.gaze.recordings: fixation tables and raw samples read back against coordinates
computed by hand, every bad-row reason counted exactly, structural errors naming the line, and a
profile with `roots: {gaze: FILE}` making the recording the pipeline's gaze study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rbdm_core import gaze
from rbdm_core.data.dataset import Dataset
from rbdm_core.gaze.recordings import (
    GazeRecording,
    read_fixation_table,
    read_gaze_recording,
    read_gaze_samples,
)

IDS = ["S005/001/first", "S005/001/last", "S010/002/last"]
# a 1024x768 screen, the image shown as a 600x600 square at (100, 50): not centred
SIDECAR = "screen: [1024, 768]\nplacement: [100, 50, 600, 600]\n"


def _images(side=48, ids=IDS):
    n = len(ids)
    return Dataset(images=np.zeros((n, side, side, 1), np.uint8), labels=np.zeros(n, np.int64),
                   ids=np.array(ids, object))


def _write(tmp_path, rows, sidecar=SIDECAR, name="fix", header="participant,image_id,x,y,start_ms,duration_ms"):
    csv = tmp_path / f"{name}.csv"
    csv.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    if sidecar is not None:
        (tmp_path / f"{name}.yml").write_text(sidecar, encoding="utf-8")
    return csv


def test_screen_pixels_map_to_image_pixels_by_hand(tmp_path):
    pts = [("p2", IDS[0], 130.0, 80.0, 0, 200), ("p2", IDS[0], 699.0, 649.0, 250, 150),
           ("p1", IDS[2], 400.0, 350.0, 10, 300), ("p1", IDS[2], 250.5, 500.25, 400, 120)]
    csv = _write(tmp_path, [f"{p},{i},{x},{y},{s},{d}" for p, i, x, y, s, d in pts])
    rec = read_fixation_table(csv, _images())
    assert isinstance(rec, GazeRecording) and rec.recorded
    assert rec.drops == {"nan": 0, "unknown_image": 0, "off_screen": 0, "off_image": 0}
    # participants in sorted order: p1 -> 0, p2 -> 1; rows by annotator, image, start
    fx = rec.fixations
    assert fx.annotator.tolist() == [0, 0, 1, 1]
    assert fx.image_index.tolist() == [2, 2, 0, 0]
    assert fx.fixation.tolist() == [0, 1, 0, 1]
    assert fx.participant.tolist() == ["p1", "p1", "p2", "p2"]
    order = [2, 3, 0, 1]
    xs = np.array([pts[k][2] for k in order])
    ys = np.array([pts[k][3] for k in order])
    # by hand: fraction of the 600 px rectangle times 48, pixel-centre convention (-0.5)
    np.testing.assert_allclose(fx.x_image, (xs - 100) / 600 * 48 - 0.5, atol=1e-9)
    np.testing.assert_allclose(fx.y_image, (ys - 50) / 600 * 48 - 0.5, atol=1e-9)
    # second method: the canonical geometry's screen coordinates through gaze.screen_to_image
    geo = rec.geometry
    back = gaze.screen_to_image(fx[["x_screen", "y_screen"]].to_numpy(), (48, 48), geo.display_px, geo.screen)
    np.testing.assert_allclose(back, fx[["x_image", "y_image"]].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(fx.duration_ms, [300, 120, 200, 150])
    assert rec.annotators.participant.tolist() == ["p1", "p2"]
    assert rec.annotators.fixations.tolist() == [2, 2]
    assert rec.mean_fixations() == 2.0


def test_image_pixels_are_placed_through_the_rectangle(tmp_path):
    side = SIDECAR + "units: image\nimage_size: [490, 490]\n"
    # image pixel-centre coordinates of a 490 px image, made from screen points with image_to_screen
    xy_img = np.array([[0.0, 0.0], [244.5, 100.25], [489.0, 489.0]])
    csv = _write(tmp_path, [f"a,{IDS[1]},{x},{y},{k * 300},250" for k, (x, y) in enumerate(xy_img)], sidecar=side)
    rec = read_fixation_table(csv, _images())
    fx = rec.fixations
    np.testing.assert_allclose(fx[["x_image", "y_image"]].to_numpy(), (xy_img + 0.5) / 490 * 48 - 0.5, atol=1e-9)
    # the same points given in screen pixels (gaze.image_to_screen for a 600 px square at (100, 50)
    # is the centred square of a 800x700 screen) read back to the same image coordinates
    scr = gaze.image_to_screen(xy_img, (490, 490), 600, (800, 700))
    csv2 = _write(tmp_path, [f"a,{IDS[1]},{x},{y},{k * 300},250" for k, (x, y) in enumerate(scr)], name="scr")
    rec2 = read_fixation_table(csv2, _images())
    np.testing.assert_allclose(rec2.fixations[["x_image", "y_image"]].to_numpy(),
                               fx[["x_image", "y_image"]].to_numpy(), atol=1e-9)


def test_bad_rows_are_dropped_and_counted_exactly(tmp_path):
    rows = [
        f"p1,{IDS[0]},400,300,0,200",        # kept
        f"p1,{IDS[0]},,300,250,200",         # nan (x empty)
        f"p1,{IDS[0]},NaN,300,500,200",      # nan
        f"p1,{IDS[0]},400,300,750,",         # nan (duration empty)
        "p1,S999/001/last,400,300,0,200",   # unknown_image
        "p1,S999/001/last,,300,0,200",      # nan first: counted once, as nan
        f"p2,{IDS[1]},1024,300,0,200",       # off_screen (x = width)
        f"p2,{IDS[1]},-1,300,250,200",       # off_screen
        f"p2,{IDS[1]},50,300,500,200",       # off_image (on screen, left of the rectangle)
        f"p2,{IDS[1]},700,300,750,200",      # off_image (x = left + width)
        f"p2,{IDS[1]},699.9,649.9,900,200",  # kept (last pixel)
        f"p2,{IDS[2]},100,50,0,200",         # kept (top-left corner)
    ]
    rec = read_fixation_table(_write(tmp_path, rows), _images())
    assert rec.drops == {"nan": 4, "unknown_image": 1, "off_screen": 2, "off_image": 2}
    assert len(rec.fixations) == 3
    assert rec.params["rows"] == 12
    report = dict(zip(rec.drop_report()["item"], rec.drop_report()["count"]))
    assert report["rows read"] == 12 and report["fixations kept"] == 3 and report["dropped: nan"] == 4
    assert "nan 4, unknown_image 1, off_screen 2, off_image 2" in rec.describe()
    # mean per (participant, image) with fixations: p1/img0 1, p2/img1 1, p2/img2 1
    assert rec.mean_fixations() == 1.0


@pytest.mark.parametrize("rows, header, match", [
    ([f"p1,{IDS[0]},400,300,0,200"], "participant,image_id,x,y,start_ms",
     r"missing column\(s\) \['duration_ms'\]"),
    ([f"p1,{IDS[0]},400,300,0,200", f"p1,{IDS[0]},4o0,300,250,200"], None, r"line 3: x: expected a number, got '4o0'"),
    ([f"p1,{IDS[0]},400,300,0,200", f"p1,{IDS[0]},400,300,250,0"], None, r"line 3: duration_ms: expected a duration > 0"),
    ([f" ,{IDS[0]},400,300,0,200"], None, r"line 2: participant: empty"),
])
def test_structural_errors_name_the_file_and_line(tmp_path, rows, header, match):
    kw = {"header": header} if header else {}
    csv = _write(tmp_path, rows, **kw)
    with pytest.raises(ValueError, match=match) as info:
        read_fixation_table(csv, _images())
    assert str(csv) in str(info.value)


@pytest.mark.parametrize("sidecar, match", [
    (None, r"no geometry sidecar; expected .*fix.yml"),
    ("placement: [0, 0, 10, 10]\n", r"screen: missing"),
    ("screen: [1024, 768]\n", r"placement: missing"),
    ("screen: [1024, 768]\nplacement: [500, 50, 600, 600]\n", r"does not fit on the 1024x768 screen"),
    (SIDECAR + "units: image\n", r"image_size: missing"),
    (SIDECAR + "unit: image\n", r"unknown field\(s\) \['unit'\]"),
    ("screen: [1024, -768]\ndisplay_px: 600\n", r"screen\[1\]: expected a finite number > 0, got -768"),
])
def test_bad_sidecars_are_named(tmp_path, sidecar, match):
    csv = _write(tmp_path, [f"p1,{IDS[0]},400,300,0,200"], sidecar=sidecar)
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        read_fixation_table(csv, _images())


def _planted_samples(rate_hz=100.0, seed=0):
    """Two participants x two images; per trace three fixations (250-400 ms, jitter +-1.5 px) joined
    by 3-sample saccades, one lost sample inside a fixation. Returns rows and the planted centres
    (participant, image id) -> (K, 2) screen px."""
    rng = np.random.default_rng(seed)
    dt = 1000.0 / rate_hz
    rows, truth = [], {}
    for part in ("pA", "pB"):
        for img in IDS[:2]:
            centres = rng.uniform([160, 110], [640, 590], size=(3, 2))
            # the second at least 150 px from the first on each axis, inside the image
            centres[1] = centres[0] + np.where(centres[0] < [400, 350], 1, -1) * [200, 150]
            truth[(part, img)] = centres
            pos = []
            for k, c in enumerate(centres):
                n = int(rng.integers(25, 40))
                pos += list(c + rng.uniform(-1.5, 1.5, size=(n, 2)))
                if k < 2:
                    for f in (0.25, 0.5, 0.75):
                        pos.append(c + f * (centres[k + 1] - c))
            pos = np.array(pos)
            pos[10] = np.nan
            for j, (x, y) in enumerate(pos):
                xs = "" if np.isnan(x) else f"{x:.3f}"
                ys = "" if np.isnan(y) else f"{y:.3f}"
                rows.append(f"{part},{img},{100 + j * dt:.4f},{xs},{ys}")
    return rows, truth


def test_raw_samples_recover_planted_fixations(tmp_path):
    rows, truth = _planted_samples()
    rows.append("pA,S999/001/last,0,400,300")      # unknown image: dropped, counted
    rows.append("pA,S999/001/last,10,400,300")
    side = SIDECAR + "sample_rate_hz: 100\nidt: {dispersion_deg: 0.5, min_duration_ms: 100}\n"
    csv = _write(tmp_path, rows, sidecar=side, name="samples", header="participant,image_id,t_ms,x,y")
    rec = read_gaze_recording(csv, _images())
    assert rec.params["reader"].startswith("raw samples")
    assert rec.drops["unknown_image_samples"] == 2 and rec.drops["off_screen_samples"] == 0
    assert rec.drops["off_screen"] == 0 and rec.drops["off_image"] == 0
    fx = rec.fixations
    for (part, img), centres in truth.items():
        got = fx[(fx.participant == part) & (fx.image_id == img)].sort_values("start_ms")
        assert len(got) == 3, (part, img)
        # the detected place (median of the window) lies within the +-1.5 px jitter of the plant
        xs = (got.x_image.to_numpy() + 0.5) / 48 * 600 + 100
        ys = (got.y_image.to_numpy() + 0.5) / 48 * 600 + 50
        assert np.abs(xs - centres[:, 0]).max() < 1.5 and np.abs(ys - centres[:, 1]).max() < 1.5
        assert (got.duration_ms >= 100).all()
    assert rec.mean_fixations() == 3.0
    assert len(rec.samples) == len(rows) - 2
    # the same samples as Arrow IPC (pymovements.gaze.from_ipc): the same fixations
    import polars as pl

    frame = pd.read_csv(csv, dtype={"participant": str, "image_id": str})
    pl.from_pandas(frame).write_ipc(tmp_path / "samples.feather")
    ipc = read_gaze_recording(tmp_path / "samples.feather", _images())
    cols = ["annotator", "image_index", "x_image", "y_image", "start_ms", "duration_ms"]
    pd.testing.assert_frame_equal(ipc.fixations[cols], rec.fixations[cols], atol=1e-9)


def test_raw_samples_minimum_duration_counts_steps_at_60_hz(tmp_path):
    # three plateaus of 8 samples at 60 Hz. pymovements ends a fixation ON the sample that breaks it
    # (the next plateau's first), so the second and third plateaus keep 7 samples: 6 steps = 100 ms,
    # exactly the minimum duration. The step is 1000 / 60 less one ulp, as a CSV parser may
    # leave it: a naive ceil(100 / dt) makes that 7 steps and loses the two.
    plateaus = [(300.0, 200.0), (500.0, 400.0), (250.0, 500.0)]
    xy = [p for p in plateaus for _ in range(8)]
    dt = float(np.nextafter(1000 / 60, 0))
    rows = [f"p,{IDS[0]},{k * dt!r},{x},{y}" for k, (x, y) in enumerate(xy)]
    csv = _write(tmp_path, rows, sidecar=SIDECAR, name="s60", header="participant,image_id,t_ms,x,y")
    rec = read_gaze_samples(csv, _images(), dispersion_deg=0.5, min_duration_ms=100)
    assert len(rec.fixations) == 3
    np.testing.assert_allclose(rec.fixations.start_ms, [0, 9 * dt, 17 * dt])
    np.testing.assert_allclose(rec.fixations[["x_image", "y_image"]].to_numpy(),
                               (np.array(plateaus) - [100, 50]) / 600 * 48 - 0.5)


def test_raw_samples_off_screen_become_lost_and_bad_times_are_refused(tmp_path):
    rows, _ = _planted_samples(seed=1)
    first = rows[0].split(",")
    rows[0] = ",".join(first[:3] + ["2000", first[4]])  # off the 1024 px screen
    csv = _write(tmp_path, rows, sidecar=SIDECAR + "sample_rate_hz: 100\n", name="s",
                 header="participant,image_id,t_ms,x,y")
    rec = read_gaze_samples(csv, _images())
    assert rec.drops["off_screen_samples"] == 1
    assert np.isnan(rec.samples.x_screen.iloc[0])
    rows[5] = ",".join(rows[5].split(",")[:2] + ["1e9"] + rows[5].split(",")[3:])  # time jumps
    csv = _write(tmp_path, rows, sidecar=SIDECAR, name="t", header="participant,image_id,t_ms,x,y")
    with pytest.raises(ValueError, match=r"participant 'pA', image 'S005/001/first': sample times t_ms must rise"):
        read_gaze_samples(csv, _images())
    bad = _write(tmp_path, ["pA,S005/001/first,0,1,x1"], sidecar=SIDECAR, name="u",
                 header="participant,image_id,t_ms,x,y")
    with pytest.raises(ValueError, match=r"u.csv, line 2: y: expected a number, got 'x1'"):
        read_gaze_samples(bad, _images())


def test_reader_choice_and_unreadable_headers(tmp_path):
    csv = _write(tmp_path, ["a,b,c"], header="who,what,when")
    with pytest.raises(ValueError, match=r"neither duration_ms .* nor t_ms"):
        read_gaze_recording(csv, _images())
    with pytest.raises(FileNotFoundError, match=r"gaze recording .*gone.csv: not found"):
        read_gaze_recording(tmp_path / "gone.csv", _images())


def test_profile_with_a_recording_replaces_the_simulated_annotators(tmp_path):
    from rbdm_core.pipeline import Pipeline, get_profile

    n_img = 6
    images = Pipeline(get_profile("quick", gaze_n=n_img), run_dir=tmp_path / "runs").gaze_images
    ids = list(images.ids)
    rng = np.random.default_rng(3)
    rows, counts = [], {}
    for part in ("ann", "bob"):
        for i in range(0, n_img, 2 if part == "bob" else 1):  # bob looks at every other image
            k = int(rng.integers(2, 9))
            counts[(part, i)] = k
            for j in range(k):
                x, y = rng.uniform(700, 1800), rng.uniform(150, 1300)
                rows.append(f"{part},{ids[i]},{x:.2f},{y:.2f},{j * 300},250")
    rows.append(f"ann,{ids[0]},5000,100,9000,250")  # off screen: dropped, not counted in n
    data = tmp_path / "lab"
    data.mkdir()
    _write(data, rows, sidecar="screen: [2560, 1440]\ndisplay_px: 1200\n")
    prof = tmp_path / "withgaze.yml"
    prof.write_text(f"base: quick\ngaze_n: {n_img}\nroots:\n  gaze: lab/fix.csv\n", encoding="utf-8")
    pipe = Pipeline(get_profile(str(prof)), run_dir=tmp_path / "runs")
    study = pipe.gaze_study
    assert isinstance(study, GazeRecording) and study.recorded
    assert study.drops["off_screen"] == 1
    mean = sum(counts.values()) / len(counts)  # by hand, over (participant, image) pairs
    assert pipe.mean_fixations() == pytest.approx(mean)
    assert pipe.perceptive_n() == max(1, int(round(mean)))
    assert pipe.mask_params("perceptive")["n"] == pipe.perceptive_n()
    # without the root: the simulated annotators, as before
    plain = Pipeline(get_profile("quick", gaze_n=n_img), run_dir=tmp_path / "runs")
    assert not plain.gaze_study.recorded
    # chapter 8's prose follows the study: "simulated" only where it is (issue 25, item 11)
    from rbdm_core import beyond

    rec_text, sim_text = beyond.gaze_caution(study), beyond.gaze_caution(plain.gaze_study)
    assert "simulated" not in rec_text and "recorded participants" in rec_text and "fix.csv" in rec_text
    assert "the annotators here are simulated" in sim_text
    # a gaze root that is not a file is refused when the pipeline is made
    with pytest.raises(FileNotFoundError, match=r"roots: gaze: .*nope.csv does not exist"):
        Pipeline(get_profile("quick"), run_dir=tmp_path / "runs", roots={"gaze": str(tmp_path / "nope.csv")})


def test_pipeline_keeps_detected_fixations_by_the_files_content(tmp_path, monkeypatch):
    import pymovements as pm

    from rbdm_core.pipeline import Pipeline, get_profile

    n_img = 4
    images = Pipeline(get_profile("quick", gaze_n=n_img), run_dir=tmp_path / "runs").gaze_images
    rows, _ = _planted_samples()
    rows = [r.replace(IDS[0], images.ids[0]).replace(IDS[1], images.ids[1]) for r in rows]
    csv = _write(tmp_path, rows, sidecar=SIDECAR + "sample_rate_hz: 100\nidt: {dispersion_deg: 0.5}\n", name="s",
                 header="participant,image_id,t_ms,x,y")
    prof = get_profile("quick", gaze_n=n_img)
    first = Pipeline(prof, run_dir=tmp_path / "runs", roots={"gaze": str(csv)}).gaze_study
    assert len(first.fixations) == 12  # 2 participants x 2 images x 3 planted fixations

    def boom(*args, **kwargs):
        raise AssertionError("I-DT ran again")

    monkeypatch.setattr(pm.events, "idt", boom)
    again = Pipeline(prof, run_dir=tmp_path / "runs", roots={"gaze": str(csv)}).gaze_study
    pd.testing.assert_frame_equal(again.fixations, first.fixations)
    csv.write_text(csv.read_text() + f"pC,{images.ids[2]},0,400,300\n")  # new content: detected anew
    with pytest.raises(AssertionError, match="I-DT ran again"):
        Pipeline(prof, run_dir=tmp_path / "runs", roots={"gaze": str(csv)}).gaze_study


def _asc(path, trials, rate_hz=100, t0=5000, before=3):
    """A minimal EyeLink ASC file (monocular, right eye): `before` samples outside any trial, then
    per (image id, [(x, y, n samples), ...]) a TRIALID message, the samples, one lost sample and
    TRIAL_END."""
    dt = int(1000 / rate_hz)
    lines = ["** CONVERTED FROM x.edf using edfapi 4.2.1", "** DATE: Wed Sep 19 15:24:32 2023",
             "MSG\t%d DISPLAY_COORDS 0 0 1023 767" % t0, "START\t%d \tRIGHT\tSAMPLES\tEVENTS" % t0,
             f"SAMPLES\tGAZE\tRIGHT\tRATE\t {rate_hz:.2f}\tTRACKING\tCR\tFILTER\t2"]
    t = t0
    for _ in range(before):
        lines.append(f"{t}\t  400.0\t  300.0\t 1000.0\t...")
        t += dt
    for image_id, plateaus in trials:
        lines.append(f"MSG\t{t} TRIALID {image_id}")
        for x, y, n in plateaus:
            for _ in range(n):
                lines.append(f"{t}\t  {x:.1f}\t  {y:.1f}\t 1000.0\t...")
                t += dt
        lines.append(f"{t}\t   .\t   .\t    0.0\t...")
        t += dt
        lines.append(f"MSG\t{t} TRIAL_END")
    lines.append(f"END\t{t} \tSAMPLES\tEVENTS\tRES\t  38.54\t  31.12")
    path.write_text("\n".join(lines) + "\n")


def test_eyelink_asc_folder_one_file_per_participant(tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "geometry.yml").write_text(SIDECAR + "idt: {dispersion_deg: 0.5}\n")
    # plateaus of 16 samples at 100 Hz (150 ms); the breaking sample ends each, 15 stay for the next
    _asc(lab / "P01.asc", [(IDS[0], [(300, 200, 16), (450, 300, 16)]), (IDS[1], [(500, 400, 16)])])
    _asc(lab / "P02.asc", [(IDS[2], [(250, 500, 16), (600, 150, 16)]), ("S999/009/last", [(400, 300, 16)])],
         before=5)
    (lab / "notes.txt").write_text("not a recording")  # ignored: only *.asc are read
    rec = read_gaze_recording(lab, _images())
    assert rec.params["reader"].startswith("EyeLink ASC")
    assert rec.drops["outside_trial_samples"] == 3 + 5
    assert rec.drops["unknown_image_samples"] == 16 + 1  # the trial's samples and its lost sample
    assert rec.annotators.participant.tolist() == ["P01", "P02"]
    fx = rec.fixations
    assert fx.groupby(["participant", "image_id"]).size().to_dict() == {
        ("P01", IDS[0]): 2, ("P01", IDS[1]): 1, ("P02", IDS[2]): 2}
    planted = np.array([[300, 200], [450, 300], [500, 400], [250, 500], [600, 150]], float)
    got = fx.sort_values(["participant", "image_index", "start_ms"])[["x_image", "y_image"]].to_numpy()
    np.testing.assert_allclose(got, (planted - [100, 50]) / 600 * 48 - 0.5)
    assert rec.mean_fixations() == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match=r"a folder without .asc or .tsv files"):
        read_gaze_recording(tmp_path, _images())
