"""Saliency-vs-reference metrics (paper Table 1 and the saliency-benchmark standards).

One call per metric: `metric(saliency_map, reference) -> float`, both `(H, W)` finite arrays of
one shape. Malformed input (shape mismatch, NaN or inf, a non-binary fixation map) raises a
ValueError naming the argument; a well-formed but degenerate case where the metric is undefined
(a constant map for a correlation, an empty region for IoU, no fixation for NSS ...) returns NaN,
which `statistics.summarise` leaves out and counts (`n_nan`).

Conventions (after Bylinskii et al., "What do different evaluation metrics tell us about
saliency models?", TPAMI 2019, and the MIT saliency benchmark code):
* overlap:  IoU of the regions `saliency > threshold` and `reference > threshold` (threshold 0:
            the heatmaps' non-zero regions, as in the paper).
* spearman: Pearson correlation of the average ranks (ties share their mean rank).
* cosine_distance: 1 - <s, r> / (|s| |r|) over the flattened maps.
* nss:      mean of the standardised saliency (population std, ddof=0) at fixated pixels;
            reference = binary fixation map.
* auc_judd: AUC-Judd without the benchmark's random jitter (deterministic): thresholds are the
            saliency values at the fixations; TPR_i = i / n_fix, FPR_i = (#{S >= t_i} - i) /
            (n_pixels - n_fix), curve closed by (0, 0) and (1, 1), trapezoidal area.
* cc:       Pearson correlation.
* sim:      sum_i min(s_i, r_i) after rescaling each map to [0, 1] (min-max) and then to sum 1.
* kl_div:   KL(reference || saliency) = sum_i r_i log(eps + r_i / (s_i + eps)), both maps divided
            by their sums (must be non-negative), eps = 2.2204e-16 (machine epsilon, as the
            MATLAB benchmark). The reference (human) distribution is the one the saliency map
            approximates; lower is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

EPS = float(np.finfo(np.float64).eps)


def _pair(saliency_map: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(saliency_map)
    r = np.asarray(reference)
    for name, a in (("saliency_map", s), ("reference", r)):
        if a.ndim != 2:
            raise ValueError(f"{name}: expected an (H, W) map, got shape {a.shape}")
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise ValueError(f"{name}: expected a numeric array, got dtype {a.dtype}")
    if s.shape != r.shape:
        raise ValueError(f"saliency_map and reference: shapes differ, {s.shape} vs {r.shape}")
    s = s.astype(np.float64)
    r = r.astype(np.float64)
    for name, a in (("saliency_map", s), ("reference", r)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: has {int((~np.isfinite(a)).sum())} NaN or infinite value(s); expected finite")
    return s.ravel(), r.ravel()


def _binary(name: str, a: np.ndarray) -> np.ndarray:
    if not np.isin(a, (0.0, 1.0)).all():
        raise ValueError(f"{name}: expected a binary fixation map (bool or 0/1), got other values")
    return a > 0


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / den if den > 0 else float("nan")


def overlap(saliency_map: Any, reference: Any, threshold: float = 0.0) -> float:
    """|A and B| / |A or B| with A = saliency > threshold, B = reference > threshold; NaN if both
    regions are empty."""
    s, r = _pair(saliency_map, reference)
    if not math.isfinite(float(threshold)):
        raise ValueError(f"threshold: expected a finite number, got {threshold!r}")
    a, b = s > threshold, r > threshold
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else float("nan")


def spearman(saliency_map: Any, reference: Any) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if a map is constant."""
    from scipy.stats import rankdata  # deferred: scipy.stats, slow to import (about 0.5 s); only spearman needs it

    s, r = _pair(saliency_map, reference)
    return _pearson(rankdata(s), rankdata(r))


def cosine_distance(saliency_map: Any, reference: Any) -> float:
    """1 - cos(angle) between the flattened maps (0 = same direction); NaN if a map is all zero."""
    s, r = _pair(saliency_map, reference)
    den = math.sqrt(float(s @ s) * float(r @ r))
    return 1.0 - float(s @ r) / den if den > 0 else float("nan")


def cc(saliency_map: Any, reference: Any) -> float:
    """Pearson linear correlation coefficient; NaN if a map is constant."""
    s, r = _pair(saliency_map, reference)
    return _pearson(s, r)


def nss(saliency_map: Any, reference: Any) -> float:
    """Normalised scanpath saliency: mean of (s - mean s) / std s (ddof=0) over the fixated
    pixels of the binary `reference`; NaN if s is constant or there is no fixation."""
    s, r = _pair(saliency_map, reference)
    fix = _binary("reference", r)
    sd = s.std()
    if sd == 0 or not fix.any():
        return float("nan")
    return float(((s - s.mean()) / sd)[fix].mean())


def auc_judd(saliency_map: Any, reference: Any) -> float:
    """AUC-Judd (see module doc); reference = binary fixation map. NaN if there is no fixation
    or every pixel is fixated."""
    s, r = _pair(saliency_map, reference)
    fix = _binary("reference", r)
    n_fix, n_pix = int(fix.sum()), s.size
    if n_fix == 0 or n_fix == n_pix:
        return float("nan")
    thresholds = np.sort(s[fix])[::-1]
    s_sorted = np.sort(s)
    above = n_pix - np.searchsorted(s_sorted, thresholds, side="left")  # #{S >= t}
    i = np.arange(1, n_fix + 1)
    tp = np.concatenate([[0.0], i / n_fix, [1.0]])
    fp = np.concatenate([[0.0], (above - i) / (n_pix - n_fix), [1.0]])
    return float(np.sum((fp[1:] - fp[:-1]) * (tp[1:] + tp[:-1]) / 2.0))


def sim(saliency_map: Any, reference: Any) -> float:
    """Similarity (histogram intersection) of the min-max rescaled, sum-normalised maps, in
    [0, 1]; NaN if a map is constant."""
    s, r = _pair(saliency_map, reference)
    out = []
    for a in (s, r):
        rng = a.max() - a.min()
        if rng == 0:
            return float("nan")
        a = (a - a.min()) / rng
        out.append(a / a.sum())
    return float(np.minimum(out[0], out[1]).sum())


def kl_div(saliency_map: Any, reference: Any) -> float:
    """KL(reference || saliency) with eps (see module doc); both maps must be >= 0. NaN if a
    map sums to 0."""
    s, r = _pair(saliency_map, reference)
    for name, a in (("saliency_map", s), ("reference", r)):
        if (a < 0).any():
            raise ValueError(f"{name}: kl_div needs non-negative maps (distributions), found {int((a < 0).sum())} negative value(s)")
    if s.sum() == 0 or r.sum() == 0:
        return float("nan")
    p = r / r.sum()
    q = s / s.sum()
    return float(np.sum(p * np.log(EPS + p / (q + EPS))))


@dataclass(frozen=True)
class Metric:
    """A metric with its one call `metric(saliency_map, reference) -> float` and its direction."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    reference: str  # "heatmap" or "fixations" (a binary fixation map)

    def __call__(self, saliency_map: Any, reference: Any) -> float:
        return self.fn(saliency_map, reference)


#: name -> Metric (call it like the function; `.higher_is_better` says which way is better)
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("overlap", overlap, True, "heatmap"),
    Metric("spearman", spearman, True, "heatmap"),
    Metric("cosine_distance", cosine_distance, False, "heatmap"),
    Metric("nss", nss, True, "fixations"),
    Metric("auc_judd", auc_judd, True, "fixations"),
    Metric("cc", cc, True, "heatmap"),
    Metric("sim", sim, True, "heatmap"),
    Metric("kl_div", kl_div, False, "heatmap"),
)}

#: The paper's Table 1.
TABLE1_METRICS = ("overlap", "spearman", "cosine_distance")
#: Metrics whose reference is a binary fixation map rather than a heatmap.
FIXATION_METRICS = tuple(name for name, m in METRICS.items() if m.reference == "fixations")


def evaluate(
    maps: Any,
    refs: Any,
    metrics: Sequence[str] = TABLE1_METRICS,
    *,
    image_index: Sequence[int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Per-image scores in long form: columns `image_index`, `metric`, `value` (+ the `extra`
    constant columns, e.g. `{"annotator": 1}`), one row per (image, metric).

    maps, refs: (N, H, W) of one shape (refs binary for nss / auc_judd).
    metrics:    names from METRICS (default: the paper's Table 1).
    image_index: (N,) labels for the rows (default 0..N-1).
    """
    m = np.asarray(maps)
    r = np.asarray(refs)
    if m.ndim != 3:
        raise ValueError(f"maps: expected (N, H, W), got shape {m.shape}")
    if r.shape != m.shape:
        raise ValueError(f"refs: expected the maps' shape {m.shape}, got {r.shape}")
    unknown = [k for k in metrics if k not in METRICS]
    if unknown or not len(metrics):
        raise ValueError(f"metrics: unknown {unknown}; expected names from {sorted(METRICS)}")
    idx = np.arange(len(m)) if image_index is None else np.asarray(image_index)
    if idx.shape != (len(m),):
        raise ValueError(f"image_index: expected {len(m)} labels, got shape {idx.shape}")
    rows = []
    for i in range(len(m)):
        for name in metrics:
            try:
                v = METRICS[name](m[i], r[i])
            except ValueError as e:
                raise ValueError(f"evaluate: image {idx[i]!r}, metric {name}: {e}") from e
            rows.append((idx[i], name, v))
    df = pd.DataFrame(rows, columns=["image_index", "metric", "value"])
    for k, v in (extra or {}).items():
        df[k] = v
    return df


def annotator_ids_and_valid(human_maps: np.ndarray, annotators: Sequence[Any] | None,
                            valid: Any) -> tuple[list, np.ndarray]:
    """The annotator ids (default 0..A-1) and the (A, N) bool images to score (default all) for
    `human_maps (A, N, H, W)`, checked against its shape."""
    hm = human_maps
    ids = list(range(len(hm))) if annotators is None else list(annotators)
    if len(ids) != len(hm):
        raise ValueError(f"annotators: expected {len(hm)} ids, got {len(ids)}")
    ok = np.ones(hm.shape[:2], bool) if valid is None else np.asarray(valid, dtype=bool)
    if ok.shape != hm.shape[:2]:
        raise ValueError(f"valid: expected shape {hm.shape[:2]}, got {ok.shape}")
    return ids, ok


def evaluate_annotators(
    model_maps: Any,
    human_maps: Any,
    annotators: Sequence[Any] | None = None,
    metrics: Sequence[str] = TABLE1_METRICS,
    *,
    valid: Any = None,
) -> pd.DataFrame:
    """Table 1 per annotator: scores of `model_maps (N, H, W)` against each annotator's
    `human_maps (A, N, H, W)` (e.g. `gaze.AnnotatorHeatmaps.maps`).

    annotators: (A,) ids (default 0..A-1). valid: optional (A, N) bool, images to score per
    annotator (e.g. `n_fixations > 0`: an image the annotator never fixated has no heatmap).
    Returns columns `annotator, image_index, metric, value`; `statistics.summarise(df, by=["annotator",
    "metric"])` gives the table with confidence intervals.
    """
    m = np.asarray(model_maps)
    hm = np.asarray(human_maps)
    if m.ndim != 3 or hm.ndim != 4 or hm.shape[1:] != m.shape:
        raise ValueError(f"human_maps: expected (A, {', '.join(map(str, m.shape))}) for model_maps {m.shape}, got {hm.shape}")
    ids, ok = annotator_ids_and_valid(hm, annotators, valid)
    frames = []
    for a, aid in enumerate(ids):
        idx = np.flatnonzero(ok[a])
        frames.append(evaluate(m[idx], hm[a, idx], metrics, image_index=idx, extra={"annotator": aid}))
    df = pd.concat(frames, ignore_index=True)
    return df[["annotator", "image_index", "metric", "value"]]
