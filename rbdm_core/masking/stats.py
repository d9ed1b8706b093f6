"""What masks keep: kept share, ground-truth precision and recall, agreement of two masks."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from rbdm_core.checks import _masks
from rbdm_core.masking.random_masks import random_masks_like
from rbdm_core.statistics import paired_interval, summarise


def mask_stats(masks: Any, regions: Any = None) -> pd.DataFrame:
    """Per-image table: `image`, `kept_fraction` = |kept| / (H W); with ground-truth `regions`
    (N, H, W) bool also `precision` = |kept & regions| / |kept| and `recall` =
    |kept & regions| / |regions| (NaN where the denominator is 0)."""
    m = _masks(masks)
    n = len(m)
    kept = m.reshape(n, m.shape[1] * m.shape[2]).sum(axis=1)
    df = pd.DataFrame({"image": np.arange(n), "kept_fraction": kept / m[0].size if n else []})
    if regions is not None:
        g = _masks(regions, "regions")
        if g.shape != m.shape:
            raise ValueError(f"regions: expected the masks' shape {m.shape}, got {g.shape}")
        inter = (m & g).sum(axis=(1, 2)).astype(np.float64)
        size = g.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            df["precision"] = np.where(kept > 0, inter / np.maximum(kept, 1), np.nan)
            df["recall"] = np.where(size > 0, inter / np.maximum(size, 1), np.nan)
    return df


def mask_precision(masks_by_source: Mapping[str, Any], regions: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Ground-truth scores of several mask sources on the same images: per source the mean over
    images of `kept_fraction`, precision = |kept & regions| / |kept| (`precision_mean`,
    `precision_ci_low`, `precision_ci_high`: Student-t interval) and `recall` =
    |kept & regions| / |regions| (images where a ratio is undefined are left out;
    `rbdm_core.masking.mask_stats`). regions: (N, H, W) bool."""
    if not masks_by_source:
        raise ValueError("masks_by_source: expected at least one named (N, H, W) mask array")
    rows = []
    for name, m in masks_by_source.items():
        st = mask_stats(_masks(m, f"masks_by_source[{name!r}]", single=False), regions)
        p = summarise(st.assign(source=name), by=["source"], confidence=confidence, value="precision").iloc[0]
        rows.append({"source": name, "kept_fraction": float(st.kept_fraction.mean()),
                     "precision_mean": p["mean"], "precision_ci_low": p["ci_low"], "precision_ci_high": p["ci_high"],
                     "recall": float(np.nanmean(st.recall.to_numpy())) if st.recall.notna().any() else np.nan})
    return pd.DataFrame(rows)


def precision_difference(a: Any, b: Any, regions: Any, confidence: float = 0.95):
    """`statistics.Interval` of the mean per-image difference precision(a) - precision(b) of two
    (N, H, W) bool mask arrays on the same images (paired by image; images where either precision is
    undefined, an empty mask, are left out)."""
    pa = mask_stats(_masks(a, "a", single=False), regions).precision.to_numpy(np.float64)
    pb = mask_stats(_masks(b, "b", single=False), regions).precision.to_numpy(np.float64)
    if pa.shape != pb.shape:
        raise ValueError(f"a and b: different numbers of images, {len(pa)} vs {len(pb)}")
    ok = np.isfinite(pa) & np.isfinite(pb)
    return paired_interval(pa[ok], pb[ok], confidence=confidence)


def mask_iou(a: Any, b: Any) -> np.ndarray:
    """(N,) |a & b| / |a | b| per image of two (N, H, W) bool masks; NaN where both are empty."""
    a, b = _masks(a, "a", single=False), _masks(b, "b", single=False)
    if a.shape != b.shape:
        raise ValueError(f"a and b: shapes differ, {a.shape} vs {b.shape}")
    inter = (a & b).sum(axis=(1, 2)).astype(np.float64)
    union = (a | b).sum(axis=(1, 2)).astype(np.float64)
    return np.divide(inter, union, out=np.full(len(a), np.nan), where=union > 0)


#: the pixel sets `region_scores` compares: what the mask keeps and removes, and the same for a
#: random mask keeping as many pixels per image
PIXEL_SETS = ("mask", "random, same size", "removed area", "removed area, random")


def region_scores(masks_by_type: Mapping[str, Any], regions: Any, seed: int = 0,
                  confidence: float = 0.95) -> pd.DataFrame:
    """Ground-truth precision and recall of each mask's kept and removed pixels, beside a random
    mask of the same size per image (`random_masks_like(masks, seed)`, the chance baseline).

    masks_by_type: {name: (N, H, W) bool}; regions: (N, H, W) bool. Returns one row per (mask,
    pixels in PIXEL_SETS, metric in precision/recall): mask, pixels, metric, mean, ci_low, ci_high,
    n (images where the ratio is defined; Student-t interval over images)."""
    rows = []
    for name, m in masks_by_type.items():
        m = _masks(m, f"masks_by_type[{name!r}]", single=False)
        rnd = random_masks_like(m, seed=seed)
        for pixels, kept in zip(PIXEL_SETS, (m, rnd, ~m, ~rnd)):
            st = mask_stats(kept, regions)
            for metric in ("precision", "recall"):
                s = summarise(st, by=[], value=metric, confidence=confidence).iloc[0]
                rows.append({"mask": name, "pixels": pixels, "metric": metric, "mean": s["mean"],
                             "ci_low": s["ci_low"], "ci_high": s["ci_high"], "n": int(s["n"])})
    return pd.DataFrame(rows)
