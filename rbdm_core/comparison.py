"""Human-vs-model comparison helpers (paper section 5.3, Table 1) and baselines for chapters 4-5.

* Model heatmaps: the gaze heatmap of `rbdm_core.gaze` built from each relevance map's n most
  relevant pixels (`model_heatmaps`), and the same from n random pixels (`random_heatmaps`, a
  chance baseline).
* Human references: binary fixation maps per annotator and image (`study_fixation_maps`, for NSS
  and AUC-Judd) and annotator-vs-annotator scores (`pairwise_annotators`, a human ceiling).
* Fixation detection check: the I-DT dispersion threshold implied by the tracker's jitter
  (`dispersion_threshold_px`), one-to-one matching of detected to generating fixations
  (`match_fixations`) and a per-(annotator, image) detection table (`detection_table`).

All maps are `(N, H, W)` (or `(A, N, H, W)` per annotator) in image pixels; fixations `(K, 2)`
(x = column, y = row) as in `rbdm_core.gaze`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from rbdm_core import gaze, masking
from rbdm_core import metrics as _metrics


# ---------------------------------------------------------------------------------------------
# heatmaps
# ---------------------------------------------------------------------------------------------


def model_heatmaps(relevance: Any, n: int, sigma: float, cutoff: float | None = None) -> np.ndarray:
    """Gaze heatmaps `(N, H, W)` float64 of the model: each relevance map's `n` most relevant
    pixels (`masking.pseudo_fixations`, ties by row-major index) taken as fixations of weight 1
    at their pixel centres and summed with `gaze.heatmap(..., sigma, cutoff)` (pixels).
    With a cut-off, the heatmap's support (> 0) is the perceptive mask of the same parameters."""
    rel = np.asarray(relevance)
    if rel.ndim != 3:
        raise ValueError(f"relevance: expected (N, H, W) maps, got shape {rel.shape}")
    points = masking.pseudo_fixations(rel, n)
    shape = rel.shape[1:]
    out = np.zeros(rel.shape, dtype=np.float64)
    for i, p in enumerate(points):
        out[i] = gaze.heatmap(p, shape, sigma, cutoff)
    return out


def random_heatmaps(n_images: int, shape: Sequence[int], n: int, sigma: float, cutoff: float | None = None,
                    seed: int = 0) -> np.ndarray:
    """Chance baseline for `model_heatmaps`: heatmaps `(n_images, H, W)` float64 from `n`
    distinct pixels per image drawn uniformly at random (numpy Generator(seed))."""
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 0:
        raise ValueError(f"n_images: expected an int >= 0, got {n_images!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    h, w = gaze._image_shape(shape)
    rng = np.random.default_rng(int(seed))
    return model_heatmaps(rng.random((int(n_images), h, w)), n, sigma, cutoff)


def study_fixation_maps(fixations_df: pd.DataFrame, n_images: int, image_shape: Sequence[int],
                        geometry: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Binary fixation maps per annotator and image, the reference of NSS and AUC-Judd.

    fixations_df: columns annotator, image_index, x_screen, y_screen (`GazeStudy.fixations`);
    geometry: object with `display_px` and `screen` (`StudyGeometry`; None: the paper's set-up).
    Returns `(annotators (A,), maps (A, n_images, H, W) bool)`: True at the pixel holding a
    fixation (`gaze.fixation_map`); fixations off the image are dropped."""
    for c in ("annotator", "image_index", "x_screen", "y_screen"):
        if c not in fixations_df.columns:
            raise ValueError(f"fixations_df: missing column {c!r}; expected annotator, image_index, x_screen, y_screen")
    h, w = gaze._image_shape(image_shape)
    display_px = getattr(geometry, "display_px", gaze.DISPLAY_PX)
    screen = getattr(geometry, "screen", gaze.SCREEN_RESOLUTION)
    annotators = np.array(sorted(fixations_df["annotator"].unique()))
    out = np.zeros((len(annotators), int(n_images), h, w), dtype=bool)
    for a, aid in enumerate(annotators):
        sub = fixations_df[fixations_df["annotator"] == aid]
        for img, grp in sub.groupby("image_index", sort=True):
            if not 0 <= int(img) < n_images:
                raise ValueError(f"fixations_df: image_index {img!r} outside 0..{int(n_images) - 1}")
            xy, _, _ = gaze.fixations_in_image(grp[["x_screen", "y_screen"]].to_numpy(np.float64), (h, w),
                                               display_px, screen)
            out[a, int(img)] = gaze.fixation_map(xy, (h, w))
    return annotators, out


def pairwise_annotators(human_maps: Any, annotators: Sequence[Any] | None = None,
                        metrics: Sequence[str] = _metrics.TABLE1_METRICS, *, valid: Any = None) -> pd.DataFrame:
    """Annotator-vs-annotator scores (the human ceiling of Table 1) for every pair a < b of
    `human_maps (A, N, H, W)`, the first annotator's map as `saliency_map`, the second's as
    reference. valid: optional (A, N) bool; an image is scored for a pair when both are valid.
    Columns: annotator (\"a vs b\"), image_index, metric, value (as `metrics.evaluate_annotators`)."""
    hm = np.asarray(human_maps)
    if hm.ndim != 4:
        raise ValueError(f"human_maps: expected (A, N, H, W), got shape {hm.shape}")
    a_n = len(hm)
    ids = list(range(a_n)) if annotators is None else list(annotators)
    if len(ids) != a_n:
        raise ValueError(f"annotators: expected {a_n} ids, got {len(ids)}")
    ok = np.ones(hm.shape[:2], bool) if valid is None else np.asarray(valid, dtype=bool)
    if ok.shape != hm.shape[:2]:
        raise ValueError(f"valid: expected shape {hm.shape[:2]}, got {ok.shape}")
    if a_n < 2:
        raise ValueError(f"human_maps: pairwise agreement needs at least 2 annotators, got {a_n}")
    frames = []
    for a in range(a_n):
        for b in range(a + 1, a_n):
            idx = np.flatnonzero(ok[a] & ok[b])
            frames.append(_metrics.evaluate(hm[a, idx], hm[b, idx], metrics, image_index=idx,
                                           extra={"annotator": f"{ids[a]} vs {ids[b]}"}))
    return pd.concat(frames, ignore_index=True)[["annotator", "image_index", "metric", "value"]]


# ---------------------------------------------------------------------------------------------
# fixation detection
# ---------------------------------------------------------------------------------------------


def dispersion_threshold_px(jitter_deg: float, px_per_degree: float, n_samples: int, quantile: float = 0.95,
                            n_sim: int = 20000, seed: int = 0) -> float:
    """I-DT dispersion threshold (pixels) that a fixation of `n_samples` samples stays under with
    probability `quantile`, when gaze samples scatter around the fixation point with RMS radial
    jitter `jitter_deg` degrees (independent Gaussian noise, sd `jitter_deg / sqrt(2)` per axis,
    times `px_per_degree`). Dispersion = (max x - min x) + (max y - min y), as `gaze.detect_fixations_idt`.
    Monte Carlo over `n_sim` windows (numpy Generator(seed)). Correlated (drifting) noise spreads
    less than independent noise of the same RMS, so this is the conservative (larger) threshold."""
    j = gaze._positive("jitter_deg", jitter_deg, allow_zero=True)
    ppd = gaze._positive("px_per_degree", px_per_degree)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples: expected an int >= 2 (samples in a fixation window), got {n_samples!r}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile: expected 0 < quantile < 1, got {quantile!r}")
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or n_sim < 100:
        raise ValueError(f"n_sim: expected an int >= 100, got {n_sim!r}")
    rng = np.random.default_rng(int(seed))
    xy = rng.standard_normal((int(n_sim), int(n_samples), 2)) * (j / math.sqrt(2.0) * ppd)
    d = (xy.max(axis=1) - xy.min(axis=1)).sum(axis=1)
    return float(np.quantile(d, quantile))


def match_fixations(detected: Any, truth: Any, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of detected to true fixations (both (K, 2) x, y in one unit).

    Among all one-to-one pairings it takes the one with the most pairs closer than
    `max_distance` (distance <= max_distance) and, among those, the least total distance
    (Hungarian algorithm, `scipy.optimize.linear_sum_assignment`, with a prohibitive cost for
    farther pairs). Returns `(pairs (M, 2) int: detected index, true index; distances (M,))`,
    sorted by true index."""
    from scipy.optimize import linear_sum_assignment

    d = gaze._points("detected", detected)
    t = gaze._points("truth", truth)
    lim = gaze._positive("max_distance", max_distance, allow_zero=True)
    if not (np.isfinite(d).all() and np.isfinite(t).all()):
        raise ValueError("detected, truth: expected finite (x, y) fixations")
    if len(d) == 0 or len(t) == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    dist = np.hypot(d[:, None, 0] - t[None, :, 0], d[:, None, 1] - t[None, :, 1])
    ok = dist <= lim
    big = float(dist[ok].sum() + 1.0) if ok.any() else 1.0  # more than any set of allowed pairs costs
    cost = np.where(ok, dist, big)
    rows, cols = linear_sum_assignment(cost)
    keep = ok[rows, cols]
    rows, cols = rows[keep], cols[keep]
    order = np.argsort(cols, kind="stable")
    pairs = np.stack([rows[order], cols[order]], axis=1).astype(np.int64)
    return pairs, dist[pairs[:, 0], pairs[:, 1]] if len(pairs) else np.zeros(0)


def detection_table(samples: pd.DataFrame, fixations: pd.DataFrame, dispersion_px: float,
                    min_duration_ms: float = 100.0, max_distance_px: float | None = None) -> pd.DataFrame:
    """Run I-DT (`gaze.detect_fixations_idt`) on every (annotator, image) trace of `samples`
    (columns annotator, image_index, t_ms, x_screen, y_screen; NaN = lost) and match the result to
    the generating `fixations` (same keys, x_screen, y_screen) with `match_fixations`
    (max_distance_px: default = dispersion_px).

    Returns one row per (annotator, image_index): n_true, n_detected, n_matched, and
    mean_distance_px over the matched pairs (NaN when none)."""
    need = {"samples": (samples, ("annotator", "image_index", "t_ms", "x_screen", "y_screen")),
            "fixations": (fixations, ("annotator", "image_index", "x_screen", "y_screen"))}
    for name, (df, cols) in need.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{name}: missing column(s) {missing}; expected {list(cols)}")
    disp = gaze._positive("dispersion_px", dispersion_px, allow_zero=True)
    lim = disp if max_distance_px is None else gaze._positive("max_distance_px", max_distance_px, allow_zero=True)
    truth = {k: g[["x_screen", "y_screen"]].to_numpy(np.float64)
             for k, g in fixations.groupby(["annotator", "image_index"], sort=True)}
    rows = []
    for key, g in samples.groupby(["annotator", "image_index"], sort=True):
        found = gaze.detect_fixations_idt(g["t_ms"].to_numpy(), g["x_screen"].to_numpy(), g["y_screen"].to_numpy(),
                                          dispersion_px=disp, min_duration_ms=min_duration_ms)
        tru = truth.get(key, np.zeros((0, 2)))
        _, dist = match_fixations(found.xy, tru, lim)
        rows.append((key[0], key[1], len(tru), len(found), len(dist), float(dist.mean()) if len(dist) else np.nan))
    return pd.DataFrame(rows, columns=["annotator", "image_index", "n_true", "n_detected", "n_matched",
                                       "mean_distance_px"])


# ---------------------------------------------------------------------------------------------
# masks and tables
# ---------------------------------------------------------------------------------------------


def leave_one_out(human_maps: Any) -> np.ndarray:
    """`(A, N, H, W)` -> `(A, N, H, W)`: for annotator a, the sum of the OTHER annotators' maps
    (the inter-observer predictor of a's fixations in saliency benchmarks). Needs A >= 2."""
    hm = np.asarray(human_maps, dtype=np.float64)
    if hm.ndim != 4 or len(hm) < 2:
        raise ValueError(f"human_maps: expected (A, N, H, W) with A >= 2 annotators, got shape {hm.shape}")
    return hm.sum(axis=0, keepdims=True) - hm


def relevance_concentration(maps: Any, top: float = 0.1) -> pd.DataFrame:
    """How concentrated each relevance map `(N, H, W)` is, one row per image:
    `share_above_mean` (pixels with R >= the map's mean: what the mean mask keeps),
    `median_over_mean` (median / mean; NaN unless mean > 0), and `top_share` (share of the map's
    sum held by its `round(top * H * W)` largest pixels; NaN unless the sum > 0)."""
    r = masking._batch(maps, "maps")[0].astype(np.float64)
    if not 0 < float(top) <= 1:
        raise ValueError(f"top: expected 0 < top <= 1 (a share of the pixels), got {top!r}")
    n = len(r)
    flat = r.reshape(n, -1)
    k = max(1, int(round(float(top) * flat.shape[1])))
    mean = flat.mean(axis=1)
    total = flat.sum(axis=1)
    topsum = np.sort(flat, axis=1)[:, flat.shape[1] - k:].sum(axis=1) if n else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "image": np.arange(n),
            "share_above_mean": (flat >= mean[:, None]).mean(axis=1) if n else np.zeros(0),
            "median_over_mean": np.where(mean > 0, np.median(flat, axis=1) / np.where(mean > 0, mean, 1), np.nan)
            if n else np.zeros(0),
            "top_share": np.where(total > 0, topsum / np.where(total > 0, total, 1), np.nan),
        })
