"""The heatmap kernel follows a recording's geometry sidecar (issue 30 item 1): its width in image
pixels against a hand computation for the paper's set-up and for two labs' set-ups, one of them
recorded in image units; the pipeline's perceptive masks use it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rbdm_core import gaze
from rbdm_core.data.annotators import StudyGeometry
from rbdm_core.data.dataset import Dataset
from rbdm_core.gaze.recordings import read_fixation_table

IDS = ["a", "b"]


def _span_by_hand(angle_deg, distance_cm, diagonal_in, screen, display_px, image_px):
    """Span diameter in image px: 2 d tan(angle / 2) in cm, over the pixel pitch, scaled to the image."""
    pitch_cm = diagonal_in * 2.54 / math.hypot(*screen)
    return 2 * distance_cm * math.tan(math.radians(angle_deg) / 2) / pitch_cm * image_px / display_px


def _recording(tmp_path, sidecar, rows):
    csv = tmp_path / "fix.csv"
    csv.write_text("participant,image_id,x,y,start_ms,duration_ms\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "fix.yml").write_text(sidecar, encoding="utf-8")
    images = Dataset(images=np.zeros((2, 48, 48, 1), np.uint8), labels=np.zeros(2, np.int64), ids=np.array(IDS, object))
    return read_fixation_table(csv, images)


def test_the_paper_set_up_by_hand():
    k = gaze.kernel_for_geometry(StudyGeometry(), 48)
    span = _span_by_hand(5, 70, 27, (2560, 1440), 1200, 48)
    assert k.span == pytest.approx(span, rel=1e-12) and k.span == pytest.approx(10.4717, abs=1e-3)
    assert k.sigma == pytest.approx(0.4 * span / (2 * math.sqrt(2 * math.log(2))), rel=1e-12)
    assert k.cutoff == pytest.approx(span / 2, rel=1e-12)
    assert k == gaze.kernel_for_image(48)  # the simulated annotators' set-up is the paper's


def test_a_24_inch_screen_at_60_cm_with_the_image_at_600_px(tmp_path):
    # screen units: the image's 600x600 rectangle centred on a 1920x1080 screen
    rec = _recording(tmp_path, "screen: [1920, 1080]\ndisplay_px: 600\ndiagonal_in: 24\ndistance_cm: 60\n",
                     ["p1,a,960,540,0,200"])
    k = gaze.kernel_for_geometry(rec.geometry, 48)
    assert k.span == pytest.approx(_span_by_hand(5, 60, 24, (1920, 1080), 600, 48), rel=1e-12)
    assert k.span / gaze.kernel_for_image(48).span == pytest.approx(1.45, abs=0.005)  # the worked ratio
    line = gaze.describe_kernel(k, rec.geometry, 48, rec.params["sidecar_fields"])
    assert "60 cm (the sidecar)" in line and "5 degrees (default: the paper's)" in line


def test_a_laptop_at_55_cm_recorded_in_image_units_with_its_own_angle(tmp_path):
    # image units: x, y in the 300x300 px picture shown in a 600x600 rectangle at (100, 200)
    sidecar = ("screen: [1920, 1080]\nplacement: [100, 200, 600, 600]\nunits: image\nimage_size: [300, 300]\n"
               "diagonal_in: 15.6\ndistance_cm: 55\nvisual_angle_deg: 4\n")
    rec = _recording(tmp_path, sidecar, ["p1,a,150,150,0,200", "p1,b,10,20,0,150"])
    k = gaze.kernel_for_geometry(rec.geometry, 48)
    assert k.span == pytest.approx(_span_by_hand(4, 55, 15.6, (1920, 1080), 600, 48), rel=1e-12)
    five = gaze.kernel_for_geometry(StudyGeometry(screen=(1920, 1080), diagonal_in=15.6, distance_cm=55,
                                                  display_px=600), 48)
    assert five.span / gaze.kernel_for_image(48).span == pytest.approx(2.04, abs=0.005)  # the "2.0 times"
    assert k.span / five.span == pytest.approx(math.tan(math.radians(2)) / math.tan(math.radians(2.5)), rel=1e-12)


@pytest.mark.parametrize("angle", [0, 180, -1])
def test_a_bad_visual_angle_names_the_field(tmp_path, angle):
    with pytest.raises(ValueError, match="visual_angle_deg"):
        _recording(tmp_path, f"screen: [1920, 1080]\ndisplay_px: 600\nvisual_angle_deg: {angle}\n", ["p1,a,960,540,0,200"])


def test_the_pipeline_masks_with_the_recordings_kernel(tmp_path):
    from rbdm_core.pipeline import Pipeline, get_profile

    prof = get_profile("quick", gaze_n=8)
    plain = Pipeline(prof, run_dir=tmp_path / "a")
    ids = list(plain.gaze_images.ids)
    csv = tmp_path / "rec.csv"
    csv.write_text("participant,image_id,x,y,start_ms,duration_ms\n"
                   + "\n".join(f"p1,{i},960,540,0,200" for i in ids) + "\n", encoding="utf-8")
    (tmp_path / "rec.yml").write_text("screen: [1920, 1080]\ndisplay_px: 600\ndiagonal_in: 24\ndistance_cm: 60\n")
    recorded = Pipeline(prof, run_dir=tmp_path / "b", roots={"gaze": str(csv)})
    want = _span_by_hand(5, 60, 24, (1920, 1080), 600, 48)
    assert recorded.gaze_kernel(48).span == pytest.approx(want, rel=1e-12)
    assert recorded.mask_params("perceptive")["cutoff"] == pytest.approx(want / 2, rel=1e-12)
    assert plain.mask_params("perceptive")["cutoff"] == pytest.approx(gaze.kernel_for_image(48).cutoff, rel=1e-12)
