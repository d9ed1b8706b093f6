"""Scores of a trained model on held-out sets: the selected (best-checkpoint) and the final weights.

    test_scores(result, {"test": ds, "flipped": ds2})  ->  {"best_f1_test": ..., "final_f1_test": ...,
                                                            "best_f1_flipped": ..., "final_f1_flipped": ...}

Model selection happens on the validation split inside `training.train` (PublicTest); these
scores are for a split that selection never saw (PrivateTest and sets made from it), on plain
images unless the caller passes masked ones. Macro-F1 as everywhere (`curves.macro_f1`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .curves import macro_f1
from .data.dataset import Dataset


def predict_labels(bundle, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """(N,) int64 predicted classes of `bundle` for (N, H, W, C) uint8 images."""
    return np.asarray(bundle.predict(images, batch_size=batch_size), np.int64)


def final_predictions(result, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """(N,) int64 predicted classes of a `training.TrainResult`'s last-step weights
    (`result.final_weights`) for (N, H, W, C) uint8 images; the bundle is left holding the
    selected weights."""
    if result.final_weights is None:
        raise ValueError("final_predictions: the TrainResult carries no final weights (made by an older rbdm?)")
    model = result.bundle.model
    selected = model.get_weights()
    model.set_weights(result.final_weights)
    try:
        return predict_labels(result.bundle, images, batch_size)
    finally:
        model.set_weights(selected)


def test_scores(result, sets: Mapping[str, Dataset], batch_size: int = 512) -> dict[str, float]:
    """Macro-F1 of a `training.TrainResult` on each named set, with the selected weights
    (`best_f1_<name>`) and with the last step's (`final_f1_<name>`, from `result.final_weights`).
    The bundle is left holding the selected weights."""
    if result.final_weights is None:
        raise ValueError("test_scores: the TrainResult carries no final weights (made by an older rbdm?)")
    model = result.bundle.model
    k = int(model.output_shape[-1])
    out: dict[str, float] = {}
    selected = model.get_weights()
    for which, weights in (("best", selected), ("final", result.final_weights)):
        model.set_weights(weights)
        for name, ds in sets.items():
            if len(ds) == 0:
                raise ValueError(f"test_scores: set {name!r} is empty")
            out[f"{which}_f1_{name}"] = macro_f1(ds.labels, predict_labels(result.bundle, ds.images, batch_size), k)
    model.set_weights(selected)
    return out
