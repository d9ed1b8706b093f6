"""Conservation measured, not assumed: the registry's `Method.conserves` flag is checked against it.

    deviation(rel)                 # |sum / logit - 1| per image with a positive explained logit
    conserved(deviation(rel))      # True when every one is within CONSERVATION_TOLERANCE
    measure()                      # each method on the probe network: the table the flags must match
    table(rels)                    # the same columns for maps of any model (chapter 3: the Trainer)
    budget(rel, k)                 # one image's logit, max(logit, 0), map sum and its two signed parts

A method is *conserving* when, on the probe network (`probe_network`: a small ReLU CNN with
biases, as trained models have them, explained on inputs of both signs), the map sum of every image
with a positive explained logit is within `CONSERVATION_TOLERANCE` of that logit. Deep Taylor
explains max(logit, 0), so images with a logit <= 0 are left out of the deviation (their maps are
all zero) and counted separately. tests/test_saliency_methods.py runs `measure` and fails when a
registry flag disagrees with it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core.saliency import worker
from rbdm_core.saliency.api import Relevance, _finish, _prepared, relevance_many
from rbdm_core.saliency.methods import METHODS, REGISTRY

#: largest |sum / logit - 1| over the images with a positive logit for a method to count as conserving
CONSERVATION_TOLERANCE = 0.01
#: images the probe network explains
PROBE_IMAGES = 24


def deviation(rel) -> np.ndarray:
    """(M,) float64: |sum / logit - 1| of a `Relevance` on its M images with a positive explained logit."""
    logits = np.asarray(rel.logits, np.float64)
    ok = logits > 0
    return np.abs(np.asarray(rel.sums, np.float64)[ok] / logits[ok] - 1)


def budget(rel, k: int = 0) -> dict[str, float]:
    """Where image `k`'s relevance went (`rel` a `Relevance`; values in the logit's units): its
    explained logit, max(logit, 0) (what deep Taylor starts from), the sum of its map and the sums
    of the map's positive and negative values."""
    m = rel.maps[k]
    logit = float(rel.logits[k])
    return {"logit": logit, "max(logit, 0)": max(logit, 0.0), "sum of map": float(rel.sums[k]),
            "positive part": float(m[m > 0].sum()), "negative part": float(m[m < 0].sum())}


def conserved(dev: np.ndarray, tolerance: float = CONSERVATION_TOLERANCE) -> bool:
    """True when there is at least one deviation and every one is within `tolerance`."""
    dev = np.asarray(dev, np.float64)
    return bool(dev.size > 0 and np.isfinite(dev).all() and dev.max() <= tolerance)


def probe_network(seed: int = 0):
    """The probe network: 12x12x1 input, Conv(8, 3)-ReLU, 2x2 max pool, Conv(8, 3)-ReLU, Flatten,
    Dense(3), softmax; Glorot weights from `seed`, every bias drawn from N(0, 0.3) (nonzero, so
    that rules that let biases absorb relevance show it)."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    keras, L = tf.keras, tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        L.Input((12, 12, 1)),
        L.Conv2D(8, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(8, 3, activation="relu"),
        L.Flatten(),
        L.Dense(3),
        L.Activation("softmax"),
    ])
    rs = np.random.RandomState(seed)
    for layer in model.layers:
        w = layer.get_weights()
        if len(w) == 2:
            layer.set_weights([w[0], rs.normal(0, 0.3, w[1].shape).astype(np.float32)])
    return model


def probe_inputs(n: int = PROBE_IMAGES, seed: int = 0) -> np.ndarray:
    """(n, 12, 12, 1) float32 inputs uniform in [-10, 10] (both signs: alpha-beta's two halves differ)."""
    return (10 * np.random.default_rng(seed).uniform(-1, 1, (n, 12, 12, 1))).astype(np.float32)


def _row(name: str, rel, tolerance: float) -> dict:
    dev = deviation(rel)
    c = np.asarray(rel.conservation, np.float64)
    c = c[np.isfinite(c)]
    flag = REGISTRY[name].conserves if name in REGISTRY else None
    return {"method": name, "images": len(rel.logits), "logit <= 0": int((np.asarray(rel.logits) <= 0).sum()),
            "all-zero maps": int(np.asarray(rel.constant).sum()),
            "median sum/logit": float(np.median(c)) if c.size else np.nan,
            "5th pct": float(np.percentile(c, 5)) if c.size else np.nan,
            "95th pct": float(np.percentile(c, 95)) if c.size else np.nan,
            "largest |sum/logit - 1|": float(dev.max()) if dev.size else np.nan,
            "within tolerance": conserved(dev, tolerance),
            "registry: conserving": flag}


def table(rels: Mapping[str, object], tolerance: float = CONSERVATION_TOLERANCE) -> pd.DataFrame:
    """One row per method of `rels` (name -> `Relevance`): images, logits <= 0, all-zero maps, the
    median and 5th/95th percentiles of sum/logit, the largest |sum/logit - 1| over the images with a
    positive logit, whether that is within `tolerance`, and the registry's flag."""
    return pd.DataFrame([_row(name, rel, tolerance) for name, rel in rels.items()])


def measure(methods: Sequence[str] | None = None, n: int = PROBE_IMAGES, seed: int = 0,
            tolerance: float = CONSERVATION_TOLERANCE) -> pd.DataFrame:
    """`table` of every method (default: the whole registry, internal `deep_taylor_generic`
    included) on the probe network and `probe_inputs(n, seed)`. Runs the graph-mode worker once."""
    methods = list(REGISTRY) if methods is None else list(methods)
    model, x = probe_network(seed), probe_inputs(n, seed)
    public = [m for m in methods if m in METHODS]
    rels: dict[str, Relevance] = relevance_many(model, x, public) if public else {}
    internal = [m for m in methods if m not in METHODS]
    if internal:
        prepared, job, t, logit = _prepared(model, x, "predicted", 32, "conservation")
        raw, _ = worker.run(prepared, job, t, internal, 32)
        rels.update({m: _finish(raw[m], t, logit, m) for m in internal})
    return table({m: rels[m] for m in methods}, tolerance)


def sentence(row: Mapping, tolerance: float = CONSERVATION_TOLERANCE) -> str:
    """What one `table` row says, in words, with its numbers."""
    n_pos = int(row["images"]) - int(row["logit <= 0"])
    if n_pos == 0:
        return f"{row['method']}: no image with a positive logit"
    worst = row["largest |sum/logit - 1|"]
    if row["within tolerance"]:
        return (f"{row['method']}: conserved on all {n_pos} images with a positive logit (largest "
                f"|sum/logit - 1| {worst:.2g}, within the tolerance of {100 * tolerance:.2g} %)")
    return (f"{row['method']}: not conserved: on the {n_pos} images with a positive logit the sum misses the "
            f"logit by up to {100 * worst:.3g} % (tolerance {100 * tolerance:.2g} %)")
