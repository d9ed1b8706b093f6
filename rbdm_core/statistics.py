"""Means and confidence intervals: the one helper behind every interval, band and table in the book.

- `interval(values, confidence=0.95, method="t")` -> `Interval(mean, low, high, n, method)` of
  one sample (NaN left out); `paired_interval(a, b)` the same for the differences a - b of paired
  values (e.g. two variants over the same seeds).
- `summarise(df, by, value)`: `interval` per group of a tidy table; columns `*by, n, n_nan, mean,
  sd, ci_low, ci_high`.
- `resampled_interval(scores, test_train_ratio)`: the corrected resampled t interval of scores
  from repeated train/test splits of one data set (cross-validation folds share training data);
  `balanced_accuracy_interval(labels, predicted)`: a held-out balanced accuracy with the
  binomial spread of each class's recall.
- `format_interval(mean, low, high)` -> "0.429 [0.401, 0.457]" and `format_columns(table,
  columns)`, the one way the book prints an interval.

Methods: "t", the Student-t interval of the mean, mean +- t_{(1+c)/2, n-1} * sd / sqrt(n) (sd with
ddof=1); "bootstrap", the percentile interval of `n_boot` resampled means (numpy Generator(seed)).
A sample of fewer than 2 values has NaN bounds: one seed says nothing about the spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

METHODS = ("t", "bootstrap")


@dataclass(frozen=True)
class Interval:
    """mean and [low, high] at `confidence` of n values (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95
    method: str = "t"

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def excludes(self, value: float = 0.0) -> bool:
        """True when `value` lies outside [low, high] (False when the bounds are NaN)."""
        return bool(self.low > value or self.high < value)

    def __str__(self) -> str:
        return format_interval(self.mean, self.low, self.high)


def _check(confidence: float, method: str) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected 0 < confidence < 1, got {confidence!r}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")


def interval(values: Any, confidence: float = 0.95, *, method: str = "t", n_boot: int = 2000,
             seed: int = 0) -> Interval:
    """Mean and confidence interval of the non-NaN `values` (1-D)."""
    from scipy import stats  # deferred: scipy.stats, slow to import (about 0.5 s); statistics is a base module most layers load

    _check(confidence, method)
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    n = int(v.size)
    mean = float(v.mean()) if n else float("nan")
    lo = hi = float("nan")
    if n > 1:
        if method == "t":
            half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
            lo, hi = mean - half, mean + half
        else:
            rng = np.random.default_rng(seed)
            means = v[rng.integers(0, n, size=(int(n_boot), n))].mean(axis=1)
            lo, hi = (float(x) for x in np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2]))
    return Interval(mean, lo, hi, n, float(confidence), method)


def paired_interval(a: Any, b: Any, confidence: float = 0.95, *, method: str = "t", n_boot: int = 2000,
                    seed: int = 0) -> Interval:
    """Interval of the mean difference a - b over pairs (a[i], b[i]); pairs with a NaN are left out."""
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"a and b: paired values need the same length, got {x.size} and {y.size}")
    return interval(x - y, confidence, method=method, n_boot=n_boot, seed=seed)


def resampled_interval(scores: Any, test_train_ratio: float, confidence: float = 0.95) -> Interval:
    """Corrected resampled t interval (Nadeau & Bengio 2003) of the mean of J scores from J
    train/test splits of one data set, e.g. r repeats of k-fold cross-validation (J = r k,
    n_test / n_train = 1 / (k - 1)). The splits share training samples, so the scores are
    positively correlated and the naive variance s^2 / J understates the spread; the corrected one
    is (1/J + n_test/n_train) s^2, with J - 1 degrees of freedom. method "corrected t"."""
    if not test_train_ratio > 0:
        raise ValueError(f"test_train_ratio: expected n_test / n_train > 0, got {test_train_ratio!r}")
    iv = interval(scores, confidence)  # the naive t: half-width t s / sqrt(J)
    widen = math.sqrt(1 + iv.n * float(test_train_ratio))  # sqrt((1/J + r) / (1/J))
    half = iv.half_width * widen
    return Interval(iv.mean, iv.mean - half, iv.mean + half, iv.n, iv.confidence, "corrected t")


def balanced_accuracy_interval(labels: Any, predicted: Any, confidence: float = 0.95) -> Interval:
    """Balanced accuracy (mean over the classes present of their recall r_c = k_c / n_c) of one
    held-out set, with a normal interval whose variance sums the classes' binomial variances:
    var = sum_c p_c (1 - p_c) / (n_c + z^2) / K^2, p_c = (k_c + z^2/2) / (n_c + z^2) (the
    Agresti-Coull adjustment, so that a class recalled always or never still has a spread).
    The model is fixed: the interval is over test samples, not over training runs. n = samples;
    method "binomial"."""
    from scipy import stats  # deferred: scipy.stats, slow to import (about 0.5 s); statistics is a base module most layers load

    _check(confidence, "t")
    y, p = np.asarray(labels).ravel(), np.asarray(predicted).ravel()
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"labels, predicted: expected two non-empty arrays of one length, got {y.size} and {p.size}")
    z = float(stats.norm.ppf((1 + confidence) / 2))
    classes = np.unique(y)
    n_c = np.array([(y == c).sum() for c in classes], np.float64)
    k_c = np.array([((y == c) & (p == c)).sum() for c in classes], np.float64)
    mean = float(np.mean(k_c / n_c))
    adj = (k_c + z * z / 2) / (n_c + z * z)
    half = z * math.sqrt(float(np.sum(adj * (1 - adj) / (n_c + z * z)))) / len(classes)
    return Interval(mean, mean - half, mean + half, int(y.size), float(confidence), "binomial")


def summarise(df: pd.DataFrame, by: Sequence[str] = ("metric",), confidence: float = 0.95, *,
              method: str = "t", n_boot: int = 2000, seed: int = 0, value: str = "value",
              sort: bool = True) -> pd.DataFrame:
    """`interval` of `df[value]` per group of `by` (all rows when `by` is empty). NaN values are
    left out and counted. Columns: *by, n, n_nan, mean, sd, ci_low, ci_high; groups in sorted
    order (`sort=False`: order of first appearance)."""
    _check(confidence, method)
    by = list(by)
    missing = [c for c in [*by, value] if c not in df.columns]
    if missing:
        raise ValueError(f"df: missing column(s) {missing}; has {list(df.columns)}")
    rows = []
    for key, grp in df.groupby(by, sort=sort) if by else [((), df)]:
        v = grp[value].to_numpy(np.float64)
        iv = interval(v, confidence, method=method, n_boot=n_boot, seed=seed)
        sd = float(np.nanstd(v, ddof=1)) if iv.n > 1 else float("nan")
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, iv.n, int(np.isnan(v).sum()), iv.mean, sd, iv.low, iv.high))
    return pd.DataFrame(rows, columns=[*by, "n", "n_nan", "mean", "sd", "ci_low", "ci_high"])


def format_interval(mean: float, low: float, high: float, fmt: str = "{:.3f}") -> str:
    """"mean [low, high]"; the mean alone when a bound is NaN; "" when the mean is NaN."""
    if mean is None or np.isnan(mean):
        return ""
    if low is None or high is None or np.isnan(low) or np.isnan(high):
        return fmt.format(mean)
    return f"{fmt.format(mean)} [{fmt.format(low)}, {fmt.format(high)}]"


def format_columns(table: pd.DataFrame, columns: Sequence[str], fmt: str = "{:.3f}") -> pd.DataFrame:
    """For display: each `c` in `columns` whose table has `c_mean`, `c_ci_low`, `c_ci_high` becomes
    one text column `c` (`format_interval`) in the place of the three; other columns are kept.
    Where the table also has a text column `c_note` (e.g. `curves.ONE_CLASS`), a non-empty note
    replaces the interval (and the note column is dropped)."""
    out = table.copy()
    for c in columns:
        need = [f"{c}_{k}" for k in ("mean", "ci_low", "ci_high")]
        missing = [n for n in need if n not in out.columns]
        if missing:
            raise ValueError(f"format_columns: column(s) {missing} not in the table (columns: {list(out.columns)})")
        pos = out.columns.get_loc(need[0])
        text = [format_interval(*r, fmt=fmt) for r in out[need].to_numpy(np.float64)]
        if f"{c}_note" in out.columns:
            text = [_note(n) or t for n, t in zip(out[f"{c}_note"], text)]
            out = out.drop(columns=f"{c}_note")
        out = out.drop(columns=need)
        out.insert(pos, c, text)
    return out


def _note(note) -> str:
    return note if isinstance(note, str) else ""


def pivot_intervals(summary: pd.DataFrame, row: str, column: str, columns: Sequence[str] | None = None,
                    fmt: str = "{:.3f}") -> pd.DataFrame:
    """A `summarise` table (columns row, column, mean, ci_low, ci_high, n) as one row per `row`
    value and one `format_interval` column per `column` value (in `columns` order, default sorted),
    plus `n` (the largest count of the row). A non-empty text column `note` (e.g. `curves.ONE_CLASS`)
    replaces that cell's interval."""
    need = [row, column, "mean", "ci_low", "ci_high", "n"]
    missing = [c for c in need if c not in summary.columns]
    if missing:
        raise ValueError(f"summary: missing column(s) {missing}; expected a statistics.summarise table")
    cols = list(columns) if columns is not None else sorted(summary[column].unique())
    out = []
    for key, g in summary.groupby(row, sort=False):
        rec = {row: key}
        for c in cols:
            hit = g[g[column] == c]
            rec[c] = format_interval(*hit[["mean", "ci_low", "ci_high"]].iloc[0], fmt=fmt) if len(hit) else ""
            if len(hit) and "note" in hit.columns and _note(hit["note"].iloc[0]):
                rec[c] = hit["note"].iloc[0]
        rec["n"] = int(g["n"].max())
        out.append(rec)
    return pd.DataFrame(out, columns=[row, *cols, "n"])
