"""Classification scores and the tidy learning-curve table.

Curve table columns: variant, seed, step, epoch, split, metric, value
  step:   training steps done (batches), int
  epoch:  step / steps_per_epoch, float (so 9.0 is the end of the ninth epoch)
  split:  "train" (mean training loss since the previous evaluation) or "validation"
  metric: "loss" (cross-entropy) or "f1" (macro-F1)

Runs of a study (one curve table, several variants and seeds): `run_table` (best and final F1 per
run), `value_at` (F1 at a step), `steps_to_reach` (first step at a threshold), `trainee_summary`
(per variant, means and intervals over seeds), `best_variant`, `curve_difference` (0 = identical).

A run that predicts one class for every validation image has the macro-F1 of that constant
prediction (`one_class_f1`); when every seed of a variant does, its "interval" collapses to a point
that says nothing about spread. `predicts_one_class` recognises such values, `f1_summary` and
`trainee_summary(..., labels=)` mark them, and the formatters print `ONE_CLASS` in their place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from rbdm_core.statistics import summarise

#: what a table shows instead of an interval when every seed of a variant predicts one class
ONE_CLASS = "predicts one class"
#: how close a macro-F1 must be to a constant prediction's to count as one (curves keep float64)
ONE_CLASS_ATOL = 1e-6

#: what `best_variant` can rank by
CRITERIA = ("best_f1", "final_f1", "steps")

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


# --------------------------------------------------------------------------- runs of a study
def one_class_f1(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(K,) float64: the macro-F1 (`macro_f1`) of predicting class k for every image of `labels`."""
    labels = np.asarray(labels, np.int64)
    return np.array([macro_f1(labels, np.full(labels.shape, k), num_classes) for k in range(num_classes)])


def summed_confusion(results, variant: str) -> np.ndarray:
    """(K, K) int64: the confusion matrices (`TrainResult.confusion`, the selected model on the
    validation set) of every run of `variant` in `results`, summed over its seeds."""
    cms = [r.confusion for r in results if r.variant.name == variant]
    if not cms:
        raise ValueError(f"results: no run of variant {variant!r}")
    return np.sum(cms, axis=0)


def per_class_comparison(cm_a: np.ndarray, cm_b: np.ndarray, class_names, a: str, b: str) -> pd.DataFrame:
    """Per class: F1 from the summed confusion matrix of `a` and of `b` (`f1_per_class`) and their
    difference b - a. Columns class, "F1 <a>", "F1 <b>", difference."""
    out = pd.DataFrame({"class": list(class_names), f"F1 {a}": f1_per_class(cm_a), f"F1 {b}": f1_per_class(cm_b)})
    out["difference"] = out[f"F1 {b}"] - out[f"F1 {a}"]
    return out


def guess_f1(labels: np.ndarray, num_classes: int) -> float:
    """Macro-F1 (`macro_f1`'s convention) of the expected confusion matrix of guessing every class
    with probability 1 / K: class c with n_c of N images has expected precision n_c / N and
    recall 1 / K, so F1_c = 2 n_c / (K n_c + N); the mean over the K classes (every class is
    guessed, so every class counts). 1 / K when the classes are balanced."""
    labels = np.asarray(labels, np.int64)
    if labels.size == 0 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels: expected a non-empty array of values in 0..{num_classes - 1}")
    n_c = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return float(np.mean(2 * n_c / (num_classes * n_c + labels.size)))


def predicts_one_class(values, labels: np.ndarray, num_classes: int, atol: float = ONE_CLASS_ATOL) -> np.ndarray:
    """(N,) bool: which macro-F1 `values` (on the images of `labels`) equal, within `atol`, the F1
    of a constant prediction (`one_class_f1`). Identified by value: a run predicting several classes
    lands on one of these K numbers only by coincidence."""
    v = np.asarray(values, np.float64).reshape(-1, 1)
    return (np.abs(v - one_class_f1(labels, num_classes).reshape(1, -1)) <= atol).any(axis=1)


def _one_class_note(values, labels, num_classes) -> str:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return ONE_CLASS if v.size and predicts_one_class(v, labels, num_classes).all() else ""


def f1_summary(df: pd.DataFrame, by: Sequence[str], value: str, labels: np.ndarray, num_classes: int,
               **kwargs) -> pd.DataFrame:
    """`statistics.summarise(df, by, value=value, **kwargs)` of macro-F1 values on the images of
    `labels`, with a text column `note`: `ONE_CLASS` where every seed of the group predicts one
    class (then `statistics.pivot_intervals` prints that instead of a collapsed interval)."""
    out = summarise(df, by=by, value=value, **kwargs)
    by = list(by)
    notes = {key if isinstance(key, tuple) else (key,): _one_class_note(g[value], labels, num_classes)
             for key, g in df.groupby(by, sort=False)}
    out["note"] = [notes[tuple(r)] for r in out[by].itertuples(index=False, name=None)]
    return out


def _val_f1(curves: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    need = {"variant", "seed", "step", "split", "metric", "value"}
    missing = sorted(need - set(curves.columns))
    if missing:
        raise ValueError(f"curves: missing column(s) {missing}; expected a curve table (rbdm_core.curves)")
    v = curves[(curves.split == "validation") & (curves.metric == metric)]
    if v.empty:
        raise ValueError(f"curves: no validation {metric} rows (split == 'validation', metric == {metric!r})")
    return v


def run_table(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, seed) run: `best_f1` (highest validation macro-F1), `best_step`
    (its first step), `final_f1` (the last evaluation's), `steps` (the last step).
    Variants keep their order of first appearance."""
    v = _val_f1(curves)
    rows = []
    for (var, seed), g in v.groupby(["variant", "seed"], sort=False):
        g = g.sort_values("step", kind="stable")
        i = int(np.argmax(g.value.to_numpy()))
        rows.append({"variant": var, "seed": int(seed), "best_f1": float(g.value.iloc[i]),
                     "best_step": int(g.step.iloc[i]), "final_f1": float(g.value.iloc[-1]),
                     "steps": int(g.step.iloc[-1])})
    return pd.DataFrame(rows)


def final_values(curves: pd.DataFrame, metric: str = "f1",
                 splits: Sequence[str] = ("validation", "validation-masked")) -> pd.DataFrame:
    """The last evaluation's `metric` of each (variant, seed) run on each of `splits` (one column
    per split; NaN where a run has no such rows, e.g. unmasked variants on "validation-masked").
    Columns: variant, seed, then the splits."""
    v = curves[(curves.metric == metric) & curves.split.isin(list(splits))]
    if v.empty:
        raise ValueError(f"curves: no {metric} rows on the splits {list(splits)}")
    last = v.sort_values("step", kind="stable").groupby(["variant", "seed", "split"], sort=False).value.last()
    out = last.unstack("split").reindex(columns=list(splits)).reset_index()
    order = {name: i for i, name in enumerate(pd.unique(curves.variant))}
    out = out.sort_values(["variant", "seed"], key=lambda c: c.map(order) if c.name == "variant" else c,
                          kind="stable")
    out.columns.name = None
    return out.reset_index(drop=True)


@dataclass
class TraineeSummary:
    """table: per variant `n_seeds`, best_f1 / final_f1 (/ early_f1) as mean, ci_low, ci_high
    (Student-t over seeds), `reached` (seeds that reach the threshold) and `steps_median` (the
    censored median, `censored_median`: NaN unless more than half of the seeds reached it);
    runs: per (variant, seed) best_f1, final_f1, steps_to_threshold (NaN = never reached: a
    censored run, never dropped); threshold: `fraction` x the reference's mean final F1."""

    table: pd.DataFrame
    runs: pd.DataFrame
    threshold: float
    reference: str
    fraction: float


def value_at(curves: pd.DataFrame, step: int, metric: str = "f1") -> pd.DataFrame:
    """Validation `metric` of each (variant, seed) run at its last evaluation at or before `step`
    (NaN when the run has none). Columns: variant, seed, value."""
    v = _val_f1(curves, metric)
    rows = []
    for (var, seed), g in v.groupby(["variant", "seed"], sort=False):
        g = g[g.step <= step].sort_values("step", kind="stable")
        rows.append({"variant": var, "seed": int(seed), "value": float(g.value.iloc[-1]) if len(g) else np.nan})
    return pd.DataFrame(rows)


def steps_to_reach(curves: pd.DataFrame, threshold: float, metric: str = "f1") -> pd.DataFrame:
    """First step at which each (variant, seed) curve reaches `threshold` on the validation
    `metric` (NaN when it never does). Columns: variant, seed, step."""
    v = curves[(curves.split == "validation") & (curves.metric == metric)]
    rows = []
    for (var, seed), g in v.groupby(["variant", "seed"], sort=False):
        g = g.sort_values("step")
        hit = g[g.value >= threshold]
        rows.append({"variant": var, "seed": seed, "step": float(hit.step.iloc[0]) if len(hit) else np.nan})
    return pd.DataFrame(rows)


def censored_median(steps) -> float:
    """Median of first-passage steps where a run that never got there (NaN) counts as later than
    every run that did (right-censored). When the middle of the sorted runs is a censored one (at
    most half reached), the median is unknown: NaN."""
    s = np.asarray(steps, dtype=np.float64)
    if s.size == 0:
        return float("nan")
    m = float(np.median(np.where(np.isnan(s), np.inf, s)))
    return m if np.isfinite(m) else float("nan")


def trainee_summary(curves: pd.DataFrame, reference: str = "no-mask", fraction: float = 0.9,
                    confidence: float = 0.95, early_step: int | None = None,
                    labels: np.ndarray | None = None, num_classes: int | None = None) -> TraineeSummary:
    """Per variant: mean and `confidence` interval over seeds of best F1 and final F1, and for the
    first step at which validation F1 reaches `fraction` x (mean over seeds of `reference`'s final
    F1) the count of seeds that reach it and the censored median (`censored_median`): a run that
    never reaches it is censored, not dropped. With `early_step`, also `early_f1`: the validation
    F1 at that step (`value_at`). With the validation `labels` and `num_classes`, also a text
    column `<col>_note` per F1 column: `ONE_CLASS` where every seed predicts one class
    (`statistics.format_columns` prints it in place of the interval)."""
    if (labels is None) != (num_classes is None):
        raise ValueError("trainee_summary: give both labels and num_classes, or neither")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction: expected 0 < fraction <= 1, got {fraction!r}")
    runs = run_table(curves)
    ref = runs[runs.variant == reference]
    if ref.empty:
        raise ValueError(f"reference: variant {reference!r} is not in the curves (variants: {list(pd.unique(runs.variant))})")
    threshold = float(fraction * ref.final_f1.mean())
    st = steps_to_reach(curves, threshold).rename(columns={"step": "steps_to_threshold"})
    runs = runs.merge(st, on=["variant", "seed"], how="left")
    cols = ["best_f1", "final_f1"]
    if early_step is not None:
        runs = runs.merge(value_at(curves, early_step).rename(columns={"value": "early_f1"}), on=["variant", "seed"])
        cols.insert(0, "early_f1")
    order = list(pd.unique(runs.variant))
    parts = []
    for col in cols:
        s = summarise(runs, by=["variant"], confidence=confidence, value=col)
        s = s.set_index("variant")[["mean", "ci_low", "ci_high"]]
        s.columns = [f"{col}_{c}" for c in ("mean", "ci_low", "ci_high")]
        if labels is not None:
            notes = runs.groupby("variant", sort=False)[col].apply(lambda v: _one_class_note(v, labels, num_classes))
            s[f"{col}_note"] = notes.reindex(s.index)
        parts.append(s)
    table = pd.concat(parts, axis=1).reindex(order)
    table.insert(0, "n_seeds", runs.groupby("variant").size().reindex(order).to_numpy())
    steps = runs.groupby("variant", sort=False).steps_to_threshold
    table.insert(1, "reached", steps.apply(lambda x: int(x.notna().sum())).reindex(order).to_numpy())
    table["steps_median"] = steps.apply(censored_median).reindex(order).to_numpy()
    return TraineeSummary(table.reset_index(), runs, threshold, reference, float(fraction))


def best_variant(table: pd.DataFrame, criterion: str = "best_f1", exclude: Sequence[str] = ()) -> str:
    """The variant of a `trainee_summary(...).table` that `criterion` picks among those not in
    `exclude` (default none: no mask competes too): highest mean `best_f1` / `final_f1`, or the
    lowest censored median of `steps` to the threshold (ties and a field where no median is known
    fall back to mean best F1)."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion: expected one of {CRITERIA}, got {criterion!r}")
    t = table[~table.variant.isin(list(exclude))]
    if t.empty:
        raise ValueError(f"exclude: {list(exclude)} leaves no variant to choose from")
    if criterion == "steps":
        known = t[t.steps_median.notna()]
        if not known.empty:
            key = known.steps_median.to_numpy()
            cand = known.iloc[np.flatnonzero(key == key.min())]
            return str(cand.variant.iloc[int(np.argmax(cand.best_f1_mean.to_numpy()))])
        criterion = "best_f1"
    return str(t.variant.iloc[int(np.argmax(t[f"{criterion}_mean"].to_numpy()))])


def curve_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Max |a.value - b.value| over the (step, split, metric) points of two runs' curve tables;
    0.0 means bitwise-identical curves. Raises when the runs were evaluated at different points."""
    key = ["step", "split", "metric"]
    for name, df in (("a", a), ("b", b)):
        missing = sorted(set(key + ["value"]) - set(df.columns))
        if missing:
            raise ValueError(f"{name}: missing column(s) {missing}; expected a curve table")
        if df.duplicated(key).any():
            raise ValueError(f"{name}: several rows per (step, split, metric): pass one run's curves")
    m = a[key + ["value"]].merge(b[key + ["value"]], on=key, how="outer", indicator=True)
    if (m._merge != "both").any():
        row = m[m._merge != "both"].iloc[0]
        raise ValueError(f"a and b: evaluated at different points, e.g. step {row.step} {row.split} {row.metric} "
                         f"only in {'a' if row._merge == 'left_only' else 'b'}")
    return float(np.abs(m.value_x.to_numpy() - m.value_y.to_numpy()).max()) if len(m) else 0.0
