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


def summarise_curves(curves: pd.DataFrame, z: float = 1.96) -> pd.DataFrame:
    """Mean over seeds with a normal-approximation band: columns variant, step, epoch, split,
    metric, mean, lo, hi, n (lo = hi = mean when there is one seed)."""
    g = curves.groupby(["variant", "step", "split", "metric"], sort=True)
    out = g["value"].agg(["mean", "std", "count"]).reset_index()
    out["epoch"] = g["epoch"].first().values
    half = z * out["std"].fillna(0.0) / np.sqrt(out["count"])
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    return out.rename(columns={"count": "n"})[["variant", "step", "epoch", "split", "metric", "mean", "lo", "hi", "n"]]
