"""rbdm_core.gaze.fixations: I-DT fixation detection (by hand and against pymovements) and its
checks against known fixations (dispersion threshold, matching, detection table)."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from rbdm_core import gaze


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


# --- checks of a detector against the generating fixations ------------------------------------


def test_dispersion_threshold_two_samples_against_integral():
    # n = 2: D = |U| + |V| with U, V ~ N(0, 2 s^2), s = per-axis sd. P(D <= d) by numerical
    # integration of the half-normal densities; the Monte Carlo quantile must agree.
    from scipy import integrate, optimize, stats

    jitter, ppd = 0.3, 50.0
    s = jitter / math.sqrt(2) * ppd
    half = stats.halfnorm(scale=math.sqrt(2) * s)

    def cdf(d):
        return integrate.quad(lambda u: half.pdf(u) * half.cdf(d - u), 0, d)[0]

    exact = optimize.brentq(lambda d: cdf(d) - 0.9, 1e-6, 20 * s)
    got = gaze.dispersion_threshold_px(jitter, ppd, 2, quantile=0.9, n_sim=200000, seed=1)
    assert got == pytest.approx(exact, rel=0.01)


def test_dispersion_threshold_scales_and_grows_with_window():
    a = gaze.dispersion_threshold_px(0.3, 50.0, 10)
    assert gaze.dispersion_threshold_px(0.6, 50.0, 10) == pytest.approx(2 * a, rel=1e-12)
    assert gaze.dispersion_threshold_px(0.3, 100.0, 10) == pytest.approx(2 * a, rel=1e-12)
    assert gaze.dispersion_threshold_px(0.3, 50.0, 30) > a
    for kw, name in [({"n_samples": 1}, "n_samples"), ({"quantile": 1.0}, "quantile"), ({"jitter_deg": -1}, "jitter_deg")]:
        args = {"jitter_deg": 0.3, "px_per_degree": 50.0, "n_samples": 10, **kw}
        with pytest.raises(ValueError, match=name):
            gaze.dispersion_threshold_px(**args)


def _brute_force(det, tru, lim):
    """Best matching by enumeration: most pairs within lim, then least total distance."""
    best = (0, 0.0)
    small, big, swap = (det, tru, False) if len(det) <= len(tru) else (tru, det, True)
    for perm in itertools.permutations(range(len(big)), len(small)):
        d = [math.dist(small[i], big[j]) for i, j in enumerate(perm)]
        ok = [x for x in d if x <= lim]
        key = (len(ok), -sum(ok))
        if key > (best[0], -best[1]):
            best = (len(ok), sum(ok))
    return best


def test_match_fixations_against_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(30):
        det = rng.uniform(0, 10, (rng.integers(0, 5), 2))
        tru = rng.uniform(0, 10, (rng.integers(0, 5), 2))
        pairs, dist = gaze.match_fixations(det, tru, 3.0)
        n, total = _brute_force(det, tru, 3.0)
        assert len(pairs) == n
        assert dist.sum() == pytest.approx(total, abs=1e-9)
        assert len(set(pairs[:, 0])) == len(pairs) and len(set(pairs[:, 1])) == len(pairs)
        assert (dist <= 3.0).all()


def test_match_fixations_by_hand_and_bad_input():
    det = np.array([[0.0, 0.0], [10.0, 0.0]])
    tru = np.array([[9.0, 0.0], [1.0, 0.0], [50.0, 50.0]])
    pairs, dist = gaze.match_fixations(det, tru, 2.0)
    np.testing.assert_array_equal(pairs, [[1, 0], [0, 1]])
    np.testing.assert_allclose(dist, [1.0, 1.0])
    with pytest.raises(ValueError, match="detected"):
        gaze.match_fixations(np.zeros((2, 3)), tru, 1.0)
    with pytest.raises(ValueError, match="max_distance"):
        gaze.match_fixations(det, tru, -1.0)


def test_detection_table_on_a_clean_trace():
    # two 300 ms fixations at 60 Hz, 200 px apart, no noise: I-DT finds both exactly
    t = np.arange(0, 600, 1000 / 60)
    x = np.where(t < 300, 100.0, 300.0)
    y = np.full_like(t, 50.0)
    samples = pd.DataFrame({"annotator": 0, "image_index": 0, "t_ms": t, "x_screen": x, "y_screen": y})
    fixations = pd.DataFrame({"annotator": [0, 0, 0], "image_index": [0, 0, 0],
                              "x_screen": [100.0, 300.0, 700.0], "y_screen": [50.0, 50.0, 50.0]})
    d = gaze.detection_table(samples, fixations, dispersion_px=10.0)
    assert d.to_dict("records") == [{"annotator": 0, "image_index": 0, "n_true": 3, "n_detected": 2,
                                     "n_matched": 2, "mean_distance_px": 0.0}]
    with pytest.raises(ValueError, match="t_ms"):
        gaze.detection_table(samples.drop(columns="t_ms"), fixations, 10.0)
