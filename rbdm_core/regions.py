"""Statistics of relevance maps `(N, H, W)`, one row per image: where the relevance falls and how
concentrated it is.

* `relevance_in_regions`, `by_class`: how much of a map falls inside the ground-truth regions of
  synthetic faces. The synthetic corpora (`rbdm_core.data.synthetic`) know, per image, the facial
  regions whose action units express its class (`Dataset.regions`, (N, H, W) bool). A map that
  "looks at the right places" puts more of its positive relevance there than the regions' share
  of the image area would give a map spread evenly.
* `relevance_concentration`: how few pixels hold a map's relevance (what the mean mask keeps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rbdm_core.checks import _batch


def relevance_in_regions(maps: np.ndarray, regions: np.ndarray) -> pd.DataFrame:
    """Share of positive relevance inside the ground-truth regions, per image.

    maps:    (N, H, W) float relevance (any sign; only the positive part counts)
    regions: (N, H, W) bool, True inside the ground-truth regions
    Returns a DataFrame with one row per image:
      image        index 0..N-1
      positive     sum of max(R, 0) over the image
      inside       share of that positive relevance inside the regions, in [0, 1] (NaN when the map
                   has no positive relevance, e.g. deep Taylor of a negative logit)
      area         share of the image's pixels inside the regions, in [0, 1]
      lift         inside / area: 1 = no better than relevance spread evenly (NaN when area is 0)
    """
    m = np.asarray(maps, np.float64)
    r = np.asarray(regions)
    if m.ndim != 3:
        raise ValueError(f"relevance_in_regions: maps must be (N, H, W), got shape {m.shape}")
    if r.shape != m.shape:
        raise ValueError(f"relevance_in_regions: regions shape {r.shape} does not match maps {m.shape}")
    if r.dtype != bool:
        raise ValueError(f"relevance_in_regions: regions must be bool, got dtype {r.dtype}")
    if not np.isfinite(m).all():
        bad = int(np.flatnonzero(~np.isfinite(m.reshape(len(m), -1)).all(1))[0])
        raise ValueError(f"relevance_in_regions: map {bad} has NaN or infinite values")
    pos = np.clip(m, 0, None).reshape(len(m), -1)
    rr = r.reshape(len(r), -1)
    total = pos.sum(1)
    inside_sum = (pos * rr).sum(1)
    area = rr.mean(1) if rr.shape[1] else np.zeros(len(rr))
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.where(total > 0, inside_sum / np.where(total > 0, total, 1), np.nan)
        lift = np.where(area > 0, inside / np.where(area > 0, area, 1), np.nan)
    return pd.DataFrame({"image": np.arange(len(m)), "positive": total, "inside": inside, "area": area,
                         "lift": lift})


def by_class(table: pd.DataFrame, labels: np.ndarray, class_names) -> pd.DataFrame:
    """Per-class means of a `relevance_in_regions` table.

    labels: (N,) class index of each row's image. Returns class, n (images), n_with_relevance
    (images with positive relevance), inside, area, lift (means over the images with a finite
    value; the lift column is the mean of per-image lifts), in `class_names` order; classes with
    no image are left out.
    """
    labels = np.asarray(labels)
    if labels.shape != (len(table),):
        raise ValueError(f"by_class: labels must be ({len(table)},) (one per table row), got shape {labels.shape}")
    names = list(class_names)
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f"by_class: labels must lie in 0..{len(names) - 1}")
    rows = []
    for k, name in enumerate(names):
        sub = table[labels == k]
        if not len(sub):
            continue
        rows.append({"class": name, "n": len(sub), "n_with_relevance": int(sub["inside"].notna().sum()),
                     "inside": float(sub["inside"].mean()), "area": float(sub["area"].mean()),
                     "lift": float(sub["lift"].mean())})
    return pd.DataFrame(rows)


def relevance_concentration(maps: Any, top: float = 0.1) -> pd.DataFrame:
    """How concentrated each relevance map `(N, H, W)` is, one row per image:
    `share_above_mean` (pixels with R >= the map's mean: what the mean mask keeps),
    `median_over_mean` (median / mean; NaN unless mean > 0), and `top_share` (share of the map's
    sum held by its `round(top * H * W)` largest pixels; NaN unless the sum > 0)."""
    r = _batch(maps, "maps")[0].astype(np.float64)
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
