"""Simulated annotators for the gaze study (the paper's section 5.3, with synthetic people).

Each annotator looks at every image of a Dataset shown as a `display_px` square in the middle of
the screen, the way the paper's two annotators labelled CK+: a run of fixations that start on the
central fixation cross and then go to the eyes and to the regions that define the class (the
Dataset's ground-truth `regions`; `aim="all"`: to every class's regions pooled, the same for
every image, so that the fixations do not carry the label), with habits of their own (one
favours the eyes, another the mouth; different numbers and durations of fixations). Behind the
fixations lie raw gaze samples at `sample_rate_hz` (60 Hz, as an Eye Tribe tracker): fixational
jitter, saccades along the main sequence (21 ms + 2.2 ms per degree), blinks and lost samples
(NaN). Everything is a pure
function of (dataset regions, n_annotators, seed, geometry, parameters).

Screen coordinates are pixels, x to the right, y down, origin top-left. Image pixel (col, row) of an
H x W image maps to x = (screen_w - display_px) / 2 + (col + 0.5) * display_px / W (y likewise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rbdm_core.data.dataset import Dataset

SAMPLE_COLUMNS = ["annotator", "image_index", "t_ms", "x_screen", "y_screen"]
FIXATION_COLUMNS = ["annotator", "image_index", "fixation", "x_screen", "y_screen", "start_ms", "duration_ms", "target"]

#: Eye centres of the renderer's average face, as fractions of image width/height (col, row);
#: used when no per-image eye positions are given.
CANONICAL_EYES = ((0.366, 0.431), (0.634, 0.431))
#: Canonical eye and mouth ellipses (centre col, centre row, half width, half height; fractions of
#: the image) used as "regions" when a Dataset carries none (real corpora).
CANONICAL_REGIONS = ((0.366, 0.431, 0.11, 0.07), (0.634, 0.431, 0.11, 0.07), (0.5, 0.73, 0.16, 0.09))
#: Where `simulate_gaze` sends the region fixations: "class" = each image's own (class) regions,
#: "all" = every class's regions pooled over the dataset, one map for all images (label-free).
AIMS = ("class", "all")


@dataclass(frozen=True)
class StudyGeometry:
    """Set-up of the eye-tracking study (the paper's: 27" 2560x1440 monitor at 70 cm, images at 1200 px, 60 Hz)."""

    screen: tuple[int, int] = (2560, 1440)
    diagonal_in: float = 27.0
    distance_cm: float = 70.0
    display_px: int = 1200
    sample_rate_hz: float = 60.0
    #: the visual span a fixation covers, in degrees (the paper's 5); `gaze.kernel_for_geometry`
    visual_angle_deg: float = 5.0

    def __post_init__(self):
        w, h = self.screen
        if not (w > 0 and h > 0 and self.diagonal_in > 0 and self.distance_cm > 0 and self.sample_rate_hz > 0):
            raise ValueError(f"StudyGeometry: screen, diagonal_in, distance_cm, sample_rate_hz must be positive, got {self}")
        if not 0 < self.visual_angle_deg < 180:
            raise ValueError(f"StudyGeometry.visual_angle_deg: expected 0 < angle < 180 degrees, got {self.visual_angle_deg}")
        if not (0 < self.display_px <= min(w, h)):
            raise ValueError(f"StudyGeometry.display_px: expected 1..{min(w, h)} (fits the screen), got {self.display_px}")

    @property
    def px_per_cm(self) -> float:
        """Screen pixels per centimetre (square pixels)."""
        return math.hypot(*self.screen) / (self.diagonal_in * 2.54)

    def deg_to_px(self, deg: float) -> float:
        """On-screen extent in pixels of a visual angle `deg` centred on the line of sight."""
        return 2 * self.distance_cm * math.tan(math.radians(deg) / 2) * self.px_per_cm

    @property
    def px_per_degree(self) -> float:
        return self.deg_to_px(1.0)

    @property
    def display_origin(self) -> tuple[float, float]:
        """Screen position (x, y) of the displayed image's top-left corner."""
        return ((self.screen[0] - self.display_px) / 2, (self.screen[1] - self.display_px) / 2)

    def image_to_screen(self, col, row, shape):
        """Image pixel coordinates (col, row) of an image of `shape` (H, W) -> screen (x, y)."""
        h, w = shape[:2]
        ox, oy = self.display_origin
        return ox + (np.asarray(col, float) + 0.5) * self.display_px / w, oy + (np.asarray(row, float) + 0.5) * self.display_px / h

    def screen_to_image(self, x, y, shape):
        """Screen (x, y) -> image pixel coordinates (col, row) (inverse of image_to_screen)."""
        h, w = shape[:2]
        ox, oy = self.display_origin
        return (np.asarray(x, float) - ox) * w / self.display_px - 0.5, (np.asarray(y, float) - oy) * h / self.display_px - 0.5


@dataclass
class GazeStudy:
    """Simulated gaze recordings.

    samples:    DataFrame annotator, image_index, t_ms (from image onset), x_screen, y_screen
                (NaN during blinks and lost samples), one row per tracker sample
    fixations:  DataFrame annotator, image_index, fixation, x_screen, y_screen, start_ms,
                duration_ms, target ("centre", "eyes", "region", "free"): the fixations that
                generated the samples (ground truth for fixation detection)
    geometry:   the StudyGeometry
    annotators: DataFrame of each annotator's habits (eye_weight, mouth_bias, mean_fixations,
                mean_duration_ms)
    """

    samples: pd.DataFrame
    fixations: pd.DataFrame
    geometry: StudyGeometry
    annotators: pd.DataFrame = field(default_factory=pd.DataFrame)
    params: dict = field(default_factory=dict)

    #: Simulated, not recorded (`gaze.recordings.GazeRecording.recorded` is True).
    recorded = False

    def mean_fixations(self) -> float:
        """Mean number of fixations per image and annotator (the perceptive mask's n)."""
        return float(self.fixations.groupby(["annotator", "image_index"]).size().mean())


def _habits(n_annotators: int, seed: int, mean_fixations: float) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1_000_003]))
    eye = rng.uniform(0.2, 0.6, n_annotators)
    bias = rng.uniform(-1.5, 1.5, n_annotators)
    count = rng.uniform(0.7, 1.3, n_annotators)
    dur = rng.uniform(200, 300, n_annotators)
    # the first two annotators differ on purpose: one reads the eyes, the other the mouth
    fixed = [(0.55, -1.0, 0.85, 230.0), (0.2, 2.0, 1.15, 285.0)]
    for a in range(min(2, n_annotators)):
        eye[a], bias[a], count[a], dur[a] = fixed[a]
    count = count / count.mean() if n_annotators > 1 else np.ones(1)
    return pd.DataFrame({
        "annotator": np.arange(n_annotators),
        "eye_weight": eye,
        "mouth_bias": bias,
        "mean_fixations": mean_fixations * count,
        "mean_duration_ms": dur,
    })


def _canonical_mask(shape) -> np.ndarray:
    h, w = shape
    rr, cc = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), bool)
    for cx, cy, a, b in CANONICAL_REGIONS:
        m |= (((cc + 0.5) / w - cx) / a) ** 2 + (((rr + 0.5) / h - cy) / b) ** 2 <= 1
    return m


def _pooled_regions(regions) -> np.ndarray | None:
    """(H, W) float64: the share of the images whose regions cover each pixel (aim "all"), the
    same for every image; None without regions."""
    if regions is None:
        return None
    return np.asarray(regions, bool).mean(axis=0, dtype=np.float64)


def _ar1(rng, n, sd, rho=0.7):
    """Stationary AR(1) noise (n, 2) with marginal standard deviation sd per axis."""
    from scipy.signal import lfilter  # deferred: scipy.signal is slow to import, and only simulated gaze needs it

    e = rng.standard_normal((n, 2)) * sd * math.sqrt(1 - rho * rho)
    start = rng.standard_normal(2) * sd  # the state before the first sample, already stationary
    return lfilter([1.0], [1.0, -rho], e, axis=0, zi=(rho * start)[None, :])[0]


def simulate_gaze(dataset: Dataset, n_annotators: int = 2, seed: int = 0, geometry: StudyGeometry = StudyGeometry(),
                  mean_fixations: float = 8.0, eyes=None, jitter_deg: float = 0.3, aim_deg: float = 0.4,
                  blink_rate_hz: float = 0.3, loss_prob: float = 0.01, aim: str = "class") -> GazeStudy:
    """Simulate `n_annotators` people looking at every image of `dataset`.

    mean_fixations: mean fixations per image, over annotators (each has their own mean around it;
                    the number per image is 1 + Poisson(mean - 1), the first on the fixation cross).
    eyes:           optional (N, 2, 2) eye centres (col, row) per image; default CANONICAL_EYES.
    jitter_deg:     RMS radial gaze noise during a fixation (AR(1) drift, degrees of visual angle).
    aim_deg:        scatter of a fixation around its target (degrees).
    blink_rate_hz:  blinks per second of viewing (each 100-200 ms of NaN samples);
    loss_prob:      probability that a sample is lost (NaN).
    aim:            where the region fixations go (see AIMS). "class" (default): the image's own
                    ground-truth regions, those of its class; the fixations then carry the label.
                    "all": the regions of every class pooled over the dataset, the same target map
                    for every image (a pixel weighs the share of the dataset's images whose regions
                    cover it): an observer who does not know the expression, whose fixations carry
                    no information about an image's class. Without regions both use CANONICAL_REGIONS.
    Targets: the eyes (probability eye_weight), the regions of `aim` (pixels sampled by weight,
    tilted towards the lower face by mouth_bias > 0), 8% anywhere on the image. Fixation durations
    ~ Gamma(shape 4, mean mean_duration_ms), at least 80 ms.
    """
    # long: one pass per (annotator, image) that draws targets, durations, drift and losses from
    # one seeded stream in a fixed order; split, the parts would have to pass that stream and its
    # order along, and the simulated studies (cached, and in chapter references) would change
    if not isinstance(dataset, Dataset) or len(dataset) == 0:
        raise ValueError("simulate_gaze: dataset must be a non-empty Dataset")
    if not isinstance(n_annotators, (int, np.integer)) or n_annotators < 1:
        raise ValueError(f"simulate_gaze: n_annotators must be an int >= 1, got {n_annotators!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"simulate_gaze: seed must be a non-negative int, got {seed!r}")
    if not (isinstance(mean_fixations, (int, float, np.number)) and mean_fixations >= 1):
        raise ValueError(f"simulate_gaze: mean_fixations must be a number >= 1, got {mean_fixations!r}")
    for name, val in (("jitter_deg", jitter_deg), ("aim_deg", aim_deg), ("blink_rate_hz", blink_rate_hz)):
        if not val >= 0:
            raise ValueError(f"simulate_gaze: {name} must be >= 0, got {val!r}")
    if not 0 <= loss_prob < 1:
        raise ValueError(f"simulate_gaze: loss_prob must lie in [0, 1), got {loss_prob!r}")
    if aim not in AIMS:
        raise ValueError(f"simulate_gaze: aim must be one of {AIMS}, got {aim!r}")
    n, h, w = len(dataset), dataset.images.shape[1], dataset.images.shape[2]
    if eyes is None:
        eyes = np.broadcast_to(np.array([[CANONICAL_EYES[0][0] * w - 0.5, CANONICAL_EYES[0][1] * h - 0.5],
                                         [CANONICAL_EYES[1][0] * w - 0.5, CANONICAL_EYES[1][1] * h - 0.5]]), (n, 2, 2))
    eyes = np.asarray(eyes, float)
    if eyes.shape != (n, 2, 2):
        raise ValueError(f"simulate_gaze: eyes must have shape ({n}, 2, 2) (col, row per eye), got {eyes.shape}")
    habits = _habits(int(n_annotators), int(seed), float(mean_fixations))
    g = geometry
    ppd = g.px_per_degree
    dt = 1000.0 / g.sample_rate_hz
    ox, oy = g.display_origin
    scale_x, scale_y = g.display_px / w, g.display_px / h
    centre = np.array([g.screen[0] / 2, g.screen[1] / 2])
    canon = None
    pooled = _pooled_regions(dataset.regions) if aim == "all" else None
    row_frac = (np.arange(h) + 0.5) / h - 0.5
    fix_rows, samp_parts = [], []
    for hab in habits.itertuples():
        a = int(hab.annotator)
        for i in range(n):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(a), int(i)]))
            mask = pooled if pooled is not None else dataset.regions[i] if dataset.regions is not None else None
            if mask is None or not mask.any():
                canon = _canonical_mask((h, w)) if canon is None else canon
                mask = canon
            rr, cc = np.nonzero(mask)
            wts = np.exp(hab.mouth_bias * 2.0 * row_frac[rr])
            if mask.dtype != bool:  # "all": each pixel weighs its pooled share
                wts = wts * mask[rr, cc]
            wts /= wts.sum()
            k = 1 + rng.poisson(max(hab.mean_fixations - 1, 0))
            kinds = rng.uniform(0, 1, k)
            pick = rng.choice(len(rr), size=k, p=wts)
            which_eye = rng.integers(0, 2, k)
            free = rng.uniform(0, 1, (k, 2))
            sub = rng.uniform(-0.5, 0.5, (k, 2))
            scatter = rng.standard_normal((k, 2)) * aim_deg * ppd
            dur = np.maximum(rng.gamma(4.0, hab.mean_duration_ms / 4.0, k), 80.0)
            pts = np.empty((k, 2))
            target = np.empty(k, dtype=object)
            for j in range(k):
                if j == 0:
                    pts[j], target[j] = centre + rng.standard_normal(2) * 0.3 * ppd, "centre"
                    continue
                if kinds[j] < 0.08:
                    pts[j] = (ox + free[j, 0] * g.display_px, oy + free[j, 1] * g.display_px)
                    target[j] = "free"
                elif kinds[j] < 0.08 + hab.eye_weight:
                    ec, er = eyes[i, which_eye[j]]
                    pts[j] = (ox + (ec + 0.5) * scale_x, oy + (er + 0.5) * scale_y)
                    target[j] = "eyes"
                else:
                    pts[j] = (ox + (cc[pick[j]] + 0.5 + sub[j, 0]) * scale_x, oy + (rr[pick[j]] + 0.5 + sub[j, 1]) * scale_y)
                    target[j] = "region"
                pts[j] += scatter[j]
            pts[:, 0] = np.clip(pts[:, 0], ox, ox + g.display_px - 1e-6)
            pts[:, 1] = np.clip(pts[:, 1], oy, oy + g.display_px - 1e-6)
            # timeline: fixation, saccade (main sequence), fixation, ...
            amp = np.r_[0.0, np.hypot(*np.diff(pts, axis=0).T) / ppd]
            sacc = np.where(np.arange(k) == 0, 0.0, np.clip(21.0 + 2.2 * amp, 20.0, 80.0))
            start = np.cumsum(sacc + np.r_[0.0, dur[:-1]])
            end = start + dur
            t = np.arange(0.0, end[-1], dt)
            idx = np.searchsorted(start, t, side="right") - 1  # last fixation started at or before t
            in_fix = t < end[idx]
            xy = pts[idx].copy()
            # saccade samples: minimum-jerk path from fixation idx to idx + 1
            sac = ~in_fix
            if sac.any():
                nxt = np.minimum(idx[sac] + 1, k - 1)
                s = np.clip((t[sac] - end[idx[sac]]) / sacc[nxt], 0, 1)
                s = s ** 3 * (10 - 15 * s + 6 * s * s)
                xy[sac] = pts[idx[sac]] + s[:, None] * (pts[nxt] - pts[idx[sac]])
            xy += _ar1(rng, len(t), jitter_deg / math.sqrt(2) * ppd)
            lost = rng.uniform(0, 1, len(t)) < loss_prob
            n_blinks = rng.poisson(blink_rate_hz * end[-1] / 1000.0)
            for _ in range(n_blinks):
                b0 = rng.uniform(0, end[-1])
                lost |= (t >= b0) & (t < b0 + rng.uniform(100, 200))
            xy[lost] = np.nan
            samp_parts.append((np.full(len(t), a), np.full(len(t), i), t, xy[:, 0], xy[:, 1]))
            fix_rows.append((np.full(k, a), np.full(k, i), np.arange(k), pts[:, 0], pts[:, 1], start, dur, target))
    cols = [np.concatenate(c) for c in zip(*samp_parts)]
    samples = pd.DataFrame(dict(zip(SAMPLE_COLUMNS, cols)))
    samples["annotator"] = samples["annotator"].astype(np.int64)
    samples["image_index"] = samples["image_index"].astype(np.int64)
    fixations = pd.DataFrame(dict(zip(FIXATION_COLUMNS, [np.concatenate(c) for c in zip(*fix_rows)])))
    for c in ("annotator", "image_index", "fixation"):
        fixations[c] = fixations[c].astype(np.int64)
    params = dict(n_annotators=int(n_annotators), seed=int(seed), mean_fixations=float(mean_fixations),
                  jitter_deg=jitter_deg, aim_deg=aim_deg, blink_rate_hz=blink_rate_hz, loss_prob=loss_prob,
                  regions="dataset" if dataset.regions is not None else "canonical eyes and mouth", aim=aim,
                  synthetic=True)
    return GazeStudy(samples=samples, fixations=fixations, geometry=geometry, annotators=habits, params=params)
