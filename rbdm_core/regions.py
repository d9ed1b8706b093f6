"""How much of a relevance map falls inside the ground-truth regions of synthetic faces.

The synthetic corpora (`rbdm_core.data.synthetic`) know, per image, the facial regions whose action
units express its class (`Dataset.regions`, (N, H, W) bool). A map that "looks at the right places"
puts more of its positive relevance there than the regions' share of the image area would give a
map spread evenly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
