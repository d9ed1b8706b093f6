"""Gaze geometry, heatmaps, coordinate conversion and I-DT fixation detection."""

import math

import numpy as np
import pandas as pd
import pytest

from rbdm_core import gaze


# --- geometry ---------------------------------------------------------------------------------


def test_visual_span_paper_setup_by_hand():
    # 27-inch 2560x1440: diagonal = sqrt(2560^2 + 1440^2) = 2937.21 px over 68.58 cm
    # -> pitch 0.0233487 cm/px. Span diameter = 2 * 70 * tan(2.5 deg) = 6.11253 cm -> 261.79 px.
    assert gaze.visual_span_px() == pytest.approx(261.79, abs=0.01)
    assert gaze.visual_span_px(convention="radius") == pytest.approx(261.79 / 2, abs=0.01)


def test_visual_span_unit_geometry():
    # 3x4 px screen whose 5 px diagonal is 5 cm -> 1 cm per pixel. 90 deg at 1 cm: the disc's
    # diameter is 2 * 1 * tan(45 deg) = 2 cm = 2 px, radius 1 px.
    kw = dict(angle_deg=90, distance_cm=1, diagonal_in=5 / 2.54, resolution=(3, 4))
    assert gaze.visual_span_px(**kw) == pytest.approx(2.0, rel=1e-12)
    assert gaze.visual_span_px(**kw, convention="radius") == pytest.approx(1.0, rel=1e-12)


def test_visual_span_bad_convention_and_angle():
    with pytest.raises(ValueError, match="convention"):
        gaze.visual_span_px(convention="area")
    with pytest.raises(ValueError, match="angle_deg"):
        gaze.visual_span_px(angle_deg=0)
    with pytest.raises(ValueError, match="distance_cm"):
        gaze.visual_span_px(distance_cm=-1)


def test_span_in_image_and_sigma_fwhm_property():
    # 261.79 screen px of a 1200 px display shown at 48 px: 261.79 * 48 / 1200 = 10.4717
    span = gaze.span_in_image_px(261.79, display_px=1200, image_px=48)
    assert span == pytest.approx(10.4716, abs=1e-4)
    sigma = gaze.sigma_from_span(span)
    # FWHM property: the Gaussian is at half height at +-FWHM/2 = +-0.2 span
    assert math.exp(-((0.2 * span) ** 2) / (2 * sigma**2)) == pytest.approx(0.5, rel=1e-12)
    k = gaze.kernel_for_image(48)
    assert k.cutoff == pytest.approx(k.span / 2)
    assert k.sigma == pytest.approx(gaze.sigma_from_span(k.span))
    assert gaze.kernel_for_image(48, cutoff="diameter").cutoff == pytest.approx(k.span)
    with pytest.raises(ValueError, match="fwhm_fraction"):
        gaze.sigma_from_span(10, fwhm_fraction=0)


# --- heatmap ----------------------------------------------------------------------------------


def _direct(fix, shape, sigma, cutoff=None, weights=None):
    """Second method: every pixel, every fixation, no factorisation."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    out = np.zeros(shape)
    weights = np.ones(len(fix)) if weights is None else weights
    for (x, y), wk in zip(fix, weights):
        d2 = (cols - x) ** 2 + (rows - y) ** 2
        v = wk * np.exp(-d2 / (2 * sigma**2))
        if cutoff is not None:
            v[d2 > cutoff**2] = 0
        out += v
    return out


def test_heatmap_3x3_by_hand():
    # one fixation at the centre, sigma 1: centre 1, edge neighbours exp(-1/2), corners exp(-1)
    h = gaze.heatmap([[1, 1]], (3, 3), sigma=1.0)
    e, c = math.exp(-0.5), math.exp(-1.0)
    np.testing.assert_allclose(h, [[c, e, c], [e, 1, e], [c, e, c]], rtol=1e-15)
    # cutoff 1: corners (d = sqrt 2 > 1) become 0, edges (d = 1, on the cut-off) stay
    hc = gaze.heatmap([[1, 1]], (3, 3), sigma=1.0, cutoff=1.0)
    np.testing.assert_allclose(hc, [[0, e, 0], [e, 1, e], [0, e, 0]], rtol=1e-15)


def test_heatmap_weights_by_hand():
    # fixations at (x=0, y=0) weight 2 and (x=2, y=0) weight 1 on a 1x3 strip, sigma 1:
    # pixel 0: 2*1 + exp(-2); pixel 1: 2 e^-0.5 + e^-0.5; pixel 2: 2 e^-2 + 1
    h = gaze.heatmap([[0, 0], [2, 0]], (1, 3), sigma=1.0, weights=[2.0, 1.0])
    np.testing.assert_allclose(
        h[0], [2 + math.exp(-2), 3 * math.exp(-0.5), 2 * math.exp(-2) + 1], rtol=1e-15
    )


@pytest.mark.parametrize("cutoff", [None, 4.0, 7.5])
def test_heatmap_matches_direct_sum(cutoff):
    rng = np.random.default_rng(3)
    fix = np.column_stack([rng.uniform(-0.5, 39.4, 12), rng.uniform(-0.5, 29.4, 12)])
    wts = rng.uniform(0.1, 3, 12)
    got = gaze.heatmap(fix, (30, 40), sigma=2.3, cutoff=cutoff, weights=wts)
    assert got.dtype == np.float64 and got.shape == (30, 40)
    np.testing.assert_allclose(got, _direct(fix, (30, 40), 2.3, cutoff, wts), rtol=0, atol=1e-12)


def test_heatmap_empty_fixations_is_zero():
    h = gaze.heatmap(np.zeros((0, 2)), (4, 5), sigma=1.0, cutoff=2.0)
    assert h.shape == (4, 5) and not h.any()


def test_heatmap_fixation_off_image_raises_or_is_allowed():
    with pytest.raises(ValueError, match="row 1 .*outside the 4x5 image"):
        gaze.heatmap([[1, 1], [5.0, 1]], (4, 5), sigma=1.0)
    # allowed: a fixation half a pixel beyond the right edge still reaches the last column
    h = gaze.heatmap([[5.0, 1]], (4, 5), sigma=1.0, allow_outside=True)
    assert h[1, 4] == pytest.approx(math.exp(-0.5))


def test_heatmap_bad_input():
    with pytest.raises(ValueError, match="row 0 is not finite"):
        gaze.heatmap([[np.nan, 1]], (4, 5), sigma=1.0)
    with pytest.raises(ValueError, match=r"\(K, 2\)"):
        gaze.heatmap([1, 2, 3], (4, 5), sigma=1.0)
    with pytest.raises(ValueError, match="sigma"):
        gaze.heatmap([[1, 1]], (4, 5), sigma=0)
    with pytest.raises(ValueError, match="weights"):
        gaze.heatmap([[1, 1]], (4, 5), sigma=1, weights=[1, 2])
    with pytest.raises(ValueError, match="weights"):
        gaze.heatmap([[1, 1]], (4, 5), sigma=1, weights=[-1])
    with pytest.raises(ValueError, match="shape"):
        gaze.heatmap([[1, 1]], (4, 0), sigma=1)


def test_fixation_map():
    m = gaze.fixation_map([[0.4, 0.0], [2.6, 1.2]], (2, 4))
    expected = np.zeros((2, 4), bool)
    expected[0, 0] = expected[1, 3] = True
    np.testing.assert_array_equal(m, expected)


# --- coordinates ------------------------------------------------------------------------------


def test_screen_to_image_by_hand():
    # 1200 px square centred on 2560x1440: top-left at (680, 120); 48 px image -> 25 screen px/px
    pts = [[680, 120], [1280, 720], [680 + 12.5, 120 + 12.5], [1880, 1320]]
    got = gaze.screen_to_image(pts, (48, 48))
    np.testing.assert_allclose(got, [[-0.5, -0.5], [23.5, 23.5], [0, 0], [47.5, 47.5]])


def test_screen_image_round_trip():
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, 0], [2560, 1440], size=(50, 2))
    img = gaze.screen_to_image(pts, (48, 64))
    np.testing.assert_allclose(gaze.image_to_screen(img, (48, 64)), pts, rtol=0, atol=1e-9)


def test_fixations_in_image_drops_and_counts():
    pts = [[679.9, 500], [680, 500], [1880, 500], [1879.9, 500], [np.nan, 500], [1000, 119]]
    xy, kept, dropped = gaze.fixations_in_image(pts, (48, 48))
    np.testing.assert_array_equal(kept, [False, True, False, True, False, False])
    assert dropped == 4 and xy.shape == (2, 2)
    assert xy[0, 0] == pytest.approx(-0.5)


def test_display_larger_than_screen_raises():
    with pytest.raises(ValueError, match="display_px"):
        gaze.screen_to_image([[0, 0]], (48, 48), display_px=2000)


# --- I-DT -------------------------------------------------------------------------------------

# 60 ms minimum duration, 10 px dispersion, one sample every 20 ms.
_TRACE = [
    (0, 100, 100),
    (20, 102, 101),
    (40, 101, 103),
    (60, 103, 100),
    (80, 100, 102),
    (100, 300, 300),  # saccade
    (120, 500, 100),
    (140, 502, 100),
    (160, np.nan, np.nan),  # tracking lost
    (180, 501, 101),
    (200, 500, 102),
    (220, 502, 103),
    (240, 501, 100),
    (260, 700, 700),
]


def test_idt_hand_worked_trace():
    t, x, y = map(np.array, zip(*_TRACE))
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=10, min_duration_ms=60)
    # Fixation 1: window 0..3 (t 0..60): x 100..103, y 100..103 -> D = 6 <= 10; adding sample 4
    # keeps D = 6, sample 5 (300, 300) breaks it. Centroid of samples 0..4: (506/5, 506/5).
    # Samples 5..7 cannot span 60 ms before the NaN. After the NaN, window 9..12 (t 180..240):
    # x 500..502, y 100..103 -> D = 5; sample 13 breaks it. Centroid (2004/4, 406/4).
    np.testing.assert_allclose(f.x, [101.2, 501.0])
    np.testing.assert_allclose(f.y, [101.2, 101.5])
    np.testing.assert_array_equal(f.start_ms, [0, 180])
    np.testing.assert_array_equal(f.duration_ms, [80, 60])
    np.testing.assert_array_equal(f.n_samples, [5, 4])
    assert list(f.to_frame().columns) == ["fixation", "x", "y", "start_ms", "duration_ms", "n_samples"]


def test_idt_without_the_gap_merges_the_second_fixation():
    t, x, y = map(np.array, zip(*_TRACE))
    x, y = x.copy(), y.copy()
    x[8], y[8] = 501, 101
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=10, min_duration_ms=60)
    # window at sample 5 contains the saccade; from sample 6: samples 6..12, x 500..502,
    # y 100..103 -> D = 5; start 120, duration 120, 7 samples.
    np.testing.assert_array_equal(f.start_ms, [0, 120])
    np.testing.assert_array_equal(f.n_samples, [5, 7])
    assert f.x[1] == pytest.approx((500 + 502 + 501 + 501 + 500 + 502 + 501) / 7)


def test_idt_all_lost_and_bad_times():
    f = gaze.detect_fixations_idt([0, 20, 40], [np.nan] * 3, [np.nan] * 3)
    assert len(f) == 0 and f.xy.shape == (0, 2)
    with pytest.raises(ValueError, match="strictly increasing"):
        gaze.detect_fixations_idt([0, 20, 20], [1, 1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="one length"):
        gaze.detect_fixations_idt([0, 20], [1, 1, 1], [1, 1, 1])


# --- I-DT against pymovements (independent reference) -----------------------------------------
#
# pymovements.events.idt (0.28.0) uses the same dispersion, D = (max x - min x) + (max y - min y),
# but differs from detect_fixations_idt in ways that these tests pin down:
# * Minimum duration: pymovements counts samples, `minimum_duration / dt` of them (it needs
#   integer times on a constant grid); rbdm needs t_last - t_first >= min_duration_ms, i.e.
#   min_duration_ms / dt + 1 samples. Same window: minimum_duration = min_duration_ms + dt.
# * Breaking sample: pymovements grows the window until D >= threshold and records the window
#   INCLUDING the sample that broke it (offset = that sample's time; its own event measures treat
#   offsets as inclusive), then restarts after it. rbdm records the window without that sample
#   and restarts at it. Where the break ends a NaN-free window before the end of the trace:
#   pm offset = rbdm last sample + dt. At the end of the trace, or when the window held a NaN
#   (pymovements then splits it at the NaNs and drops the breaking sample), the offsets agree.
# * Growth stops at D >= threshold in pymovements, at D > threshold in rbdm (ties differ).
# * pymovements takes nanmin/nanmax over a window that spans lost tracking; rbdm cuts the trace
#   at NaN and treats each run of valid samples on its own.
# The synthetic traces keep jitter far below the threshold and make every break a sample far
# from the next fixation (saccade or noise spike), where the two agree up to the offset mapping.

_DT_MS = 4  # 250 Hz
_MIN_MS = 100  # -> 26 samples
_THR_PX = 10.0


@pytest.fixture(scope="module")
def pm():
    import pymovements

    return pymovements


def _pm_idt(pm, t, x, y, dispersion_px, min_duration_ms):
    """pymovements' I-DT with rbdm's parameters mapped (see above): (onsets, offsets)."""
    dt = int(t[1] - t[0])
    assert min_duration_ms % dt == 0
    ev = pm.events.idt(
        np.column_stack([x, y]),
        np.asarray(t, dtype=np.int64),
        minimum_duration=int(min_duration_ms) + dt,
        dispersion_threshold=float(dispersion_px),
    ).frame
    return ev["onset"].to_numpy(), ev["offset"].to_numpy()


def _synthetic_trace(seed, end_in_fixation):
    """Fixations (uniform jitter +-2 px: D <= 8 px) separated by 2-6 saccade samples between
    centres >= 150 px apart (L1); 30 % of fixations carry one noise spike 40-200 px off in x and y
    that splits them. Returns t (ms), x, y and the true fixations: (first, last) sample indices of
    every piece with >= 26 samples (100 ms at 250 Hz)."""
    rng = np.random.default_rng(seed)
    need = _MIN_MS // _DT_MS + 1
    pos, truth = [], []
    centre = rng.uniform([100, 100], [2460, 1340])
    for _ in range(int(rng.integers(6, 10))):
        n = int(rng.integers(15, 90))
        p = centre + rng.uniform(-2, 2, size=(n, 2))
        pieces = [(0, n)]
        if rng.random() < 0.3:
            s = int(rng.integers(1, n - 1))
            p[s] += rng.choice([-1, 1], size=2) * rng.uniform(40, 200, size=2)
            pieces = [(0, s), (s + 1, n)]
        truth += [(len(pos) + a, len(pos) + b - 1) for a, b in pieces if b - a >= need]
        pos.extend(p)
        while True:
            nxt = rng.uniform([100, 100], [2460, 1340])
            if np.abs(nxt - centre).sum() >= 150:
                break
        m = int(rng.integers(2, 7))
        frac = np.arange(1, m + 1)[:, None] / (m + 1)
        pos.extend(centre + frac * (nxt - centre) + rng.normal(0, 0.5, size=(m, 2)))
        centre = nxt
    pos = np.array(pos)
    if end_in_fixation:
        pos = pos[: truth[-1][1] + 1]
    t = np.arange(len(pos), dtype=np.int64) * _DT_MS
    return t, pos[:, 0], pos[:, 1], truth


@pytest.mark.parametrize("seed", range(6))
def test_idt_matches_pymovements_on_synthetic_traces(pm, seed):
    end_in_fixation = seed % 2 == 1
    t, x, y, truth = _synthetic_trace(seed, end_in_fixation)
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=_THR_PX, min_duration_ms=_MIN_MS)
    first, last = np.array(truth).T
    # rbdm finds exactly the generated fixations, centroids included
    np.testing.assert_array_equal(f.start_ms, t[first])
    np.testing.assert_array_equal(f.start_ms + f.duration_ms, t[last])
    np.testing.assert_array_equal(f.n_samples, last - first + 1)
    np.testing.assert_allclose(f.x, [x[a : b + 1].mean() for a, b in truth], rtol=0, atol=1e-9)
    # pymovements: same fixations, same onsets; offsets at the breaking sample except at the end
    on, off = _pm_idt(pm, t, x, y, _THR_PX, _MIN_MS)
    assert len(on) == len(f) >= 3
    np.testing.assert_array_equal(on, f.start_ms)
    end = f.start_ms + f.duration_ms
    np.testing.assert_array_equal(off, np.where(end < t[-1], end + _DT_MS, end))
    assert (end[-1] == t[-1]) == end_in_fixation


@pytest.mark.parametrize("seed", [0, 3])
def test_idt_centroids_and_dispersion_match_pymovements_measures(pm, seed):
    t, x, y, _ = _synthetic_trace(seed, end_in_fixation=False)
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=_THR_PX, min_duration_ms=_MIN_MS)
    # rbdm's fixations as pymovements events (inclusive offsets): pymovements' location (mean
    # position) and dispersion measures over those samples
    g = pm.gaze.from_numpy(position=np.vstack([x, y]), time=t)
    g.events = pm.Events(onsets=f.start_ms.astype(np.int64), offsets=(f.start_ms + f.duration_ms).astype(np.int64))
    g.compute_event_properties(["location", "dispersion"])
    ev = g.events.frame.sort("onset")
    np.testing.assert_array_equal(ev["onset"].to_numpy(), f.start_ms)
    np.testing.assert_allclose(np.array(ev["location"].to_list()), f.xy, rtol=0, atol=1e-9)
    assert (ev["dispersion"].to_numpy() <= _THR_PX).all()
    # pymovements' own detections include the breaking (saccade / spike) sample: their
    # dispersion by pymovements' own measure exceeds the threshold
    g2 = pm.gaze.from_numpy(position=np.vstack([x, y]), time=t)
    g2.detect("idt", minimum_duration=_MIN_MS + _DT_MS, dispersion_threshold=_THR_PX)
    g2.compute_event_properties("dispersion")
    assert (g2.events.frame["dispersion"].to_numpy() > _THR_PX).all()


def test_idt_pymovements_difference_breaking_sample(pm):
    # three plateaus of 10 samples, instant jumps, dt 10 ms: rbdm returns the plateaus;
    # pymovements ends each fixation ON the first sample of the next plateau (D = 50 > 5) and
    # so starts the next one a sample late.
    x = np.repeat([0.0, 50.0, 100.0], 10)
    y = np.zeros(30)
    t = np.arange(30) * 10
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=5, min_duration_ms=40)
    np.testing.assert_array_equal(f.start_ms, [0, 100, 200])
    np.testing.assert_array_equal(f.start_ms + f.duration_ms, [90, 190, 290])
    np.testing.assert_array_equal(f.x, [0, 50, 100])
    on, off = _pm_idt(pm, t, x, y, 5, 40)
    np.testing.assert_array_equal(on, [0, 110, 210])
    np.testing.assert_array_equal(off, [100, 200, 290])


def test_idt_pymovements_difference_lost_tracking(pm):
    # Hand-worked trace above: pymovements agrees on both onsets; the first offset is the saccade
    # sample (t 100, pm's breaking-sample rule), the second (a window that held the NaN) is the
    # last fixation sample, t 240, as in rbdm.
    t, x, y = map(np.array, zip(*_TRACE))
    on, off = _pm_idt(pm, t, x, y, 10, 60)
    np.testing.assert_array_equal(on, [0, 180])
    np.testing.assert_array_equal(off, [100, 240])
    # Dispersion across a gap: 6 samples at x = 0, NaN, 6 at x = 8, 6 at x = 15 (dt 10 ms,
    # threshold 10). rbdm: the run after the gap has D = 7 -> one fixation t 70..180.
    # pymovements measures D across the gap (0..15 > 10), cuts at the first x = 15 sample
    # (t 130, then dropped) and returns 70..120 and 140..180.
    x = np.array([0.0] * 6 + [np.nan] + [8.0] * 6 + [15.0] * 6)
    y = np.where(np.isnan(x), np.nan, 0.0)
    t = np.arange(len(x)) * 10
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=10, min_duration_ms=30)
    np.testing.assert_array_equal(f.start_ms, [0, 70])
    np.testing.assert_array_equal(f.start_ms + f.duration_ms, [50, 180])
    on, off = _pm_idt(pm, t, x, y, 10, 30)
    np.testing.assert_array_equal(on, [0, 70, 140])
    np.testing.assert_array_equal(off, [50, 120, 180])


def test_idt_pymovements_difference_dispersion_equal_to_threshold(pm):
    # x = 0 x5, then 10, 0 alternating x4 (D = 10 = threshold), then a saccade, dt 10 ms.
    # rbdm keeps D <= threshold: one fixation over samples 0..12. pymovements stops growing at
    # D >= threshold: 0..5 (incl. the first x = 10), then 6..9 (D = 10 at once), and loses 10..12.
    x = np.array([0.0] * 5 + [10.0, 0.0] * 4 + [300.0])
    y = np.zeros_like(x)
    t = np.arange(len(x)) * 10
    f = gaze.detect_fixations_idt(t, x, y, dispersion_px=10, min_duration_ms=30)
    np.testing.assert_array_equal(f.start_ms, [0])
    np.testing.assert_array_equal(f.n_samples, [13])
    on, off = _pm_idt(pm, t, x, y, 10, 30)
    np.testing.assert_array_equal(on, [0, 60])
    np.testing.assert_array_equal(off, [50, 90])


# --- heatmaps from a fixation table -----------------------------------------------------------


def test_fixation_heatmaps_per_annotator():
    # annotator 0: image 1 gets the screen centre (image pixel 23.5, 23.5 of a 48 px image) and
    # one fixation off the image; annotator 1: image 0 gets the first pixel centre (0, 0).
    df = pd.DataFrame(
        {
            "annotator": [0, 0, 1],
            "image_index": [1, 1, 0],
            "x_screen": [1280.0, 100.0, 692.5],
            "y_screen": [720.0, 720.0, 132.5],
            "duration_ms": [200.0, 100.0, 300.0],
        }
    )
    out = gaze.fixation_heatmaps(df, 2, (48, 48), sigma=2.0, cutoff=5.0, weight="duration_ms")
    np.testing.assert_array_equal(out.annotators, [0, 1])
    assert out.maps.shape == (2, 2, 48, 48)
    np.testing.assert_array_equal(out.n_dropped, [[0, 1], [0, 0]])
    np.testing.assert_array_equal(out.n_fixations, [[0, 1], [1, 0]])
    np.testing.assert_allclose(out.maps[0, 1], gaze.heatmap([[23.5, 23.5]], (48, 48), 2.0, 5.0, [200.0]))
    np.testing.assert_allclose(out.maps[1, 0], gaze.heatmap([[0, 0]], (48, 48), 2.0, 5.0, [300.0]))
    assert not out.maps[0, 0].any() and not out.maps[1, 1].any()
    with pytest.raises(ValueError, match="image_index"):
        gaze.fixation_heatmaps(df, 1, (48, 48), sigma=2.0, cutoff=5.0)
    with pytest.raises(ValueError, match="missing column"):
        gaze.fixation_heatmaps(df.drop(columns="x_screen"), 2, (48, 48), sigma=2.0, cutoff=5.0)
