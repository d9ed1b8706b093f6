"""Human agreement: how far the annotators agree with each other (paper section 5.3, Table 1,
and the saliency-benchmark comparison of chapter 4).

`rbdm_core.metrics` scores one set of maps against references; this module decides who is
compared with whom and labels the rows:

* `pairwise_annotators`: annotator-vs-annotator scores, the human ceiling of Table 1.
* `leave_one_out`: each annotator's inter-observer predictor, the sum of the other annotators' maps.

Maps are `(N, H, W)` per image or `(A, N, H, W)` per annotator and image, in image pixels, as
`rbdm_core.gaze` builds them; `valid (A, N)` bool says which images an annotator has data for.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from rbdm_core import metrics as _metrics


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


def leave_one_out(human_maps: Any) -> np.ndarray:
    """`(A, N, H, W)` -> `(A, N, H, W)`: for annotator a, the sum of the OTHER annotators' maps
    (the inter-observer predictor of a's fixations in saliency benchmarks). Needs A >= 2."""
    hm = np.asarray(human_maps, dtype=np.float64)
    if hm.ndim != 4 or len(hm) < 2:
        raise ValueError(f"human_maps: expected (A, N, H, W) with A >= 2 annotators, got shape {hm.shape}")
    return hm.sum(axis=0, keepdims=True) - hm
