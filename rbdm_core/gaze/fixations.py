"""Fixations from raw gaze samples: I-DT detection and the checks of a detector against known
fixations (the dispersion threshold implied by tracker noise, one-to-one matching, a per-trace
detection table).

Samples and fixations are in one unit (screen pixels in the study): `(T,)` sample times in ms and
positions, `(K, 2)` fixations (x, y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from rbdm_core.checks import _is_int, _points, _positive


# ---------------------------------------------------------------------------------------------
# Fixation detection (I-DT)
# ---------------------------------------------------------------------------------------------


@dataclass
class Fixations:
    """Detected fixations, all `(K,)`: centroid `x`, `y` (units of the samples), `start_ms`,
    `duration_ms` (= last sample time - first sample time), `n_samples`."""

    x: np.ndarray
    y: np.ndarray
    start_ms: np.ndarray
    duration_ms: np.ndarray
    n_samples: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        """(K, 2) float64 (x, y)."""
        return np.stack([self.x, self.y], axis=1) if len(self.x) else np.zeros((0, 2))

    def __len__(self) -> int:
        return len(self.x)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "fixation": np.arange(len(self.x)),
                "x": self.x,
                "y": self.y,
                "start_ms": self.start_ms,
                "duration_ms": self.duration_ms,
                "n_samples": self.n_samples,
            }
        )


def detect_fixations_idt(
    t_ms: Any,
    x: Any,
    y: Any,
    dispersion_px: float = 50.0,
    min_duration_ms: float = 100.0,
) -> Fixations:
    """Dispersion-threshold fixation identification (I-DT; Salvucci and Goldberg 2000).

    t_ms, x, y: (T,) sample times (strictly increasing) and gaze positions; NaN in x or y marks a
    sample with lost tracking: it ends any running fixation and belongs to none (the trace is cut
    into runs of valid samples and each run is processed on its own).
    dispersion_px: D = (max x - min x) + (max y - min y) of a window must stay <= this.
    min_duration_ms: a window must span at least this long (t_last - t_first >= min_duration_ms).

    Algorithm, per run of valid samples: start a window at sample i covering the fewest samples
    with t_j - t_i >= min_duration_ms. If its dispersion <= threshold, grow it one sample at a
    time while the dispersion stays <= threshold, record a fixation (centroid, start t_i,
    duration t_last - t_i) and restart after its last sample; else drop sample i and restart at i+1.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or xs.shape != t.shape or ys.shape != t.shape:
        raise ValueError(f"t_ms, x, y: expected three (T,) arrays of one length, got {t.shape}, {xs.shape}, {ys.shape}")
    if not np.isfinite(t).all():
        raise ValueError("t_ms: expected finite sample times, got NaN or inf")
    if len(t) > 1 and not (np.diff(t) > 0).all():
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise ValueError(f"t_ms: expected strictly increasing times, sample {i} ({t[i]:g}) follows {t[i - 1]:g}")
    disp_max = _positive("dispersion_px", dispersion_px, allow_zero=True)
    min_dur = _positive("min_duration_ms", min_duration_ms, allow_zero=True)
    if (np.isinf(xs) | np.isinf(ys)).any():
        raise ValueError("x, y: expected finite gaze positions or NaN (lost tracking), got inf")
    valid = np.isfinite(xs) & np.isfinite(ys)

    found: list[tuple[float, float, float, float, int]] = []
    # runs of valid samples
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    for a, b in zip(edges[0::2], edges[1::2]):  # valid run = [a, b)
        i = a
        while i < b:
            # fewest samples from i with duration >= min_dur
            j = int(np.searchsorted(t[i:b], t[i] + min_dur, side="left")) + i
            if j >= b:
                break
            wx, wy = xs[i : j + 1], ys[i : j + 1]
            lox, hix, loy, hiy = wx.min(), wx.max(), wy.min(), wy.max()
            if (hix - lox) + (hiy - loy) > disp_max:
                i += 1
                continue
            while j + 1 < b:
                nx, ny = xs[j + 1], ys[j + 1]
                nlx, nhx, nly, nhy = min(lox, nx), max(hix, nx), min(loy, ny), max(hiy, ny)
                if (nhx - nlx) + (nhy - nly) > disp_max:
                    break
                lox, hix, loy, hiy = nlx, nhx, nly, nhy
                j += 1
            found.append((xs[i : j + 1].mean(), ys[i : j + 1].mean(), t[i], t[j] - t[i], j + 1 - i))
            i = j + 1
    arr = np.array(found, dtype=np.float64).reshape(-1, 5)
    return Fixations(
        x=arr[:, 0], y=arr[:, 1], start_ms=arr[:, 2], duration_ms=arr[:, 3], n_samples=arr[:, 4].astype(np.int64)
    )


# ---------------------------------------------------------------------------------------------
# Checks of a detector against the generating fixations
# ---------------------------------------------------------------------------------------------


def dispersion_threshold_px(jitter_deg: float, px_per_degree: float, n_samples: int, quantile: float = 0.95,
                            n_sim: int = 20000, seed: int = 0) -> float:
    """I-DT dispersion threshold (pixels) that a fixation of `n_samples` samples stays under with
    probability `quantile`, when gaze samples scatter around the fixation point with RMS radial
    jitter `jitter_deg` degrees (independent Gaussian noise, sd `jitter_deg / sqrt(2)` per axis,
    times `px_per_degree`). Dispersion = (max x - min x) + (max y - min y), as `detect_fixations_idt`.
    Monte Carlo over `n_sim` windows (numpy Generator(seed)). Correlated (drifting) noise spreads
    less than independent noise of the same RMS, so this is the conservative (larger) threshold."""
    j = _positive("jitter_deg", jitter_deg, allow_zero=True)
    ppd = _positive("px_per_degree", px_per_degree)
    if not _is_int(n_samples) or n_samples < 2:
        raise ValueError(f"n_samples: expected an int >= 2 (samples in a fixation window), got {n_samples!r}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile: expected 0 < quantile < 1, got {quantile!r}")
    if not _is_int(n_sim) or n_sim < 100:
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
    from scipy.optimize import linear_sum_assignment  # deferred: scipy.optimize, slow to import (about 0.5 s); gaze is loaded without scipy otherwise

    d = _points("detected", detected)
    t = _points("truth", truth)
    lim = _positive("max_distance", max_distance, allow_zero=True)
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
    """Run I-DT (`detect_fixations_idt`) on every (annotator, image) trace of `samples`
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
    disp = _positive("dispersion_px", dispersion_px, allow_zero=True)
    lim = disp if max_distance_px is None else _positive("max_distance_px", max_distance_px, allow_zero=True)
    truth = {k: g[["x_screen", "y_screen"]].to_numpy(np.float64)
             for k, g in fixations.groupby(["annotator", "image_index"], sort=True)}
    rows = []
    for key, g in samples.groupby(["annotator", "image_index"], sort=True):
        found = detect_fixations_idt(g["t_ms"].to_numpy(), g["x_screen"].to_numpy(), g["y_screen"].to_numpy(),
                                     dispersion_px=disp, min_duration_ms=min_duration_ms)
        tru = truth.get(key, np.zeros((0, 2)))
        _, dist = match_fixations(found.xy, tru, lim)
        rows.append((key[0], key[1], len(tru), len(found), len(dist), float(dist.mean()) if len(dist) else np.nan))
    return pd.DataFrame(rows, columns=["annotator", "image_index", "n_true", "n_detected", "n_matched",
                                       "mean_distance_px"])


def detection_sweep(samples: pd.DataFrame, fixations: pd.DataFrame, threshold_px: float, px_per_degree: float,
                    factors: Sequence[float] = (0.5, 1.0, 2.0)) -> pd.DataFrame:
    """`detection_table` over the whole study at `threshold_px * factor` (screen px) per factor,
    pairs matched within `threshold_px`. One row per factor: the threshold in screen px and in
    degrees (`px_per_degree`), generating, detected and matched fixations, recall = matched /
    generating, precision = matched / detected, mean distance of the matched pairs (degrees)."""
    rows = []
    for factor in factors:
        d = detection_table(samples, fixations, threshold_px * factor, max_distance_px=threshold_px)
        tot = d[["n_true", "n_detected", "n_matched"]].sum()
        rows.append({"threshold (screen px)": threshold_px * factor, "threshold (deg)": threshold_px * factor / px_per_degree,
                     "generating": int(tot.n_true), "detected": int(tot.n_detected), "matched": int(tot.n_matched),
                     "recall": tot.n_matched / tot.n_true, "precision": tot.n_matched / tot.n_detected,
                     "mean distance (deg)": np.nanmean(d.mean_distance_px) / px_per_degree})
    return pd.DataFrame(rows)
