"""Classification scores and the tidy learning-curve table.

Curve table columns: variant, seed, step, epoch, split, metric, value
  step:   training steps done (batches), int
  epoch:  step / steps_per_epoch, float (so 9.0 is the end of the ninth epoch)
  split:  "train" (mean training loss since the previous evaluation) or "validation"
  metric: "loss" (cross-entropy) or "f1" (macro-F1)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CURVE_COLUMNS = ["variant", "seed", "step", "epoch", "split", "metric", "value"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts, rows = true class, columns = predicted class."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true {y_true.shape} and y_pred {y_pred.shape} differ")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} has values outside 0..{num_classes - 1}")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes).astype(np.int64)


def f1_per_class(cm: np.ndarray) -> np.ndarray:
    """(K,) F1 = 2 TP / (2 TP + FP + FN) per class from a confusion matrix; NaN where TP+FP+FN = 0."""
    cm = np.asarray(cm, np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    den = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), np.nan)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes that occur in y_true or y_pred
    (scikit-learn's `f1_score(average="macro")` convention); 0.0 for empty input."""
    f1 = f1_per_class(confusion_matrix(y_true, y_pred, num_classes))
    return float(np.nanmean(f1)) if np.isfinite(f1).any() else 0.0


def curve_rows(variant: str, seed: int, step: int, epoch: float, split: str, values: dict) -> list[list]:
    return [[variant, int(seed), int(step), float(epoch), split, m, float(v)] for m, v in values.items()]


def curves_frame(rows: list[list]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return df.astype({"seed": "int64", "step": "int64", "epoch": "float64", "value": "float64"})


def per_class_table(cm: np.ndarray, class_names) -> pd.DataFrame:
    """Per-class scores from a (K, K) confusion matrix (rows true, columns predicted).

    Returns one row per class: class, support (true images), predicted (images predicted as the
    class), precision = TP / (TP + FP), recall = TP / (TP + FN), f1 = 2 TP / (2 TP + FP + FN);
    NaN where a denominator is 0. A last row "macro" holds the unweighted mean over classes with a
    finite value (the macro-F1 of `macro_f1`) and the total support.
    """
    cm = np.asarray(cm, np.float64)
    names = list(class_names)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"per_class_table: cm must be a square (K, K) matrix, got shape {cm.shape}")
    if cm.shape[0] != len(names):
        raise ValueError(f"per_class_table: cm is {cm.shape[0]}x{cm.shape[0]} but {len(names)} class names given")
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), np.nan)
        recall = np.where(support > 0, tp / np.where(support > 0, support, 1), np.nan)
    f1 = f1_per_class(cm)
    df = pd.DataFrame({"class": names, "support": support.astype(np.int64), "predicted": predicted.astype(np.int64),
                       "precision": precision, "recall": recall, "f1": f1})

    def _mean(v):
        return float(np.nanmean(v)) if np.isfinite(v).any() else np.nan

    macro = pd.DataFrame({"class": ["macro"], "support": [int(support.sum())], "predicted": [int(predicted.sum())],
                          "precision": [_mean(precision)], "recall": [_mean(recall)], "f1": [_mean(f1)]})
    return pd.concat([df, macro], ignore_index=True)


def relabel(labels: np.ndarray, from_names, to_names) -> np.ndarray:
    """Map class indices into `from_names` to indices into `to_names` by class name.

    labels: (N,) ints in 0..len(from_names)-1. Returns (N,) int64; -1 where the class name does not
    occur in `to_names` (e.g. FERPlus's contempt for a 7-class FER2013 model)."""
    labels = np.asarray(labels)
    src, dst = list(from_names), list(to_names)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(f"relabel: labels must be (N,) ints, got shape {labels.shape} dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(src)):
        raise ValueError(f"relabel: labels must lie in 0..{len(src) - 1} (indices into from_names), "
                         f"got {int(labels.min())}..{int(labels.max())}")
    table = np.array([dst.index(n) if n in dst else -1 for n in src], np.int64)
    return table[labels.astype(np.int64)] if labels.size else np.zeros(0, np.int64)
