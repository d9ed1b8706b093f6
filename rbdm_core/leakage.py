"""What masks leak: linear probes that predict the label from masked images, from the masks alone,
and from the masks laid over unrelated images.

Removal-based methods leak (Hooker et al. 2019, ROAR; Rong et al. 2022, ROAD): when a mask is made
from a classifier's relevance, *where* pixels are removed already says which class the classifier
saw, and a constant fill (the paper's zero) draws that outline into the image. A network trained
on such images can learn the outline instead of the face. The probes here measure it with a
ridge-regression classifier on the pixels (`ridge_probe`), cross-validated:

- "plain images": the unmasked images (what the images themselves tell a linear model);
- "mask alone": the binary mask as features (what the outline tells);
- "masked images": each image masked by its own mask and filled (what a Trainee sees);
- "mask over other images": image j masked by image i's mask, label of i, j != i drawn at random:
  the image content says nothing about label i, so anything above chance comes through the
  fill's drawing of the outline. A leak-free fill brings this probe down to chance.

A random-mask control (`random_masks_like`: as many kept pixels per image, at random places) gives
the same probes without any relevance behind the masks.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core import timing
#: the probes of `leak_table`, in its order
PROBES = ("plain images", "mask alone", "masked images", "mask over other images")


def _fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """(n,) fold index 0..folds-1 of each sample: a seeded permutation cut into `folds` parts."""
    ids = np.empty(n, np.int64)
    for k, part in enumerate(np.array_split(np.random.default_rng(seed).permutation(n), folds)):
        ids[part] = k
    return ids


def ridge_fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, lam: float) -> np.ndarray:
    """Ridge regression with intercept (features and targets centred on the training rows):
    W = (X^T X + lam I)^-1 X^T Y on the centred X, Y. x_*: (n, D) float64; y_train: (n, K)
    targets; returns (m, K) predictions for x_test. The primal form; `ridge_probe` solves the
    same problem in its dual form from one Gram matrix (`_dual_predict`)."""
    mx, my = x_train.mean(axis=0), y_train.mean(axis=0)
    xt, yt = x_train - mx, y_train - my
    w = np.linalg.solve(xt.T @ xt + lam * np.eye(xt.shape[1]), xt.T @ yt)
    return (x_test - mx) @ w + my


def _dual_predict(gram: np.ndarray, train: np.ndarray, test: np.ndarray, y_train: np.ndarray,
                  lam: float) -> np.ndarray:
    """`ridge_fit_predict` from the Gram matrix `gram` (N, N) = X X^T of all samples: with the
    training rows' mean m, (x_a - m).(x_b - m) = K_ab - r_a - r_b + c, where r_a = mean_j K_aj
    over training j and c = mean of K over training pairs; W = X_c^T (K_c + lam I)^-1 Y_c."""
    k_tt = gram[np.ix_(train, train)]
    k_et = gram[np.ix_(test, train)]
    r_t, r_e, c = k_tt.mean(axis=1), k_et.mean(axis=1), k_tt.mean()
    g = k_tt - r_t[:, None] - r_t[None, :] + c
    g[np.diag_indices_from(g)] += lam
    my = y_train.mean(axis=0)
    alpha = np.linalg.solve(g, y_train - my)
    return (k_et - r_e[:, None] - r_t[None, :] + c) @ alpha + my


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the classes present in `labels` of the share of their samples predicted right
    (chance: 1 / number of classes present)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return float(np.mean([(predicted[labels == c] == c).mean() for c in np.unique(labels)]))


def ridge_probe(features: Any, labels: Any, num_classes: int, folds: int = 5, alpha: float = 1.0,
                seed: int = 0) -> np.ndarray:
    """Cross-validated linear probe: (folds,) balanced accuracy of a ridge classifier (one-hot
    targets, argmax of the predictions) on each held-out fold.

    features: (N, ...) numbers, flattened per sample and standardised per feature over all N
    samples (no labels involved; constant features become 0); labels: (N,) ints in
    0..num_classes-1; alpha: penalty per unit of mean squared feature norm (lam = alpha * D for
    standardised features); seed: the fold split."""
    x = np.asarray(features, np.float64).reshape(len(features), -1)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y) or len(y) < 2 * folds:
        raise ValueError(f"features/labels: expected N >= {2 * folds} samples with N labels, got features "
                         f"{np.shape(features)} and labels {np.shape(labels)}")
    if not (isinstance(folds, (int, np.integer)) and folds >= 2):
        raise ValueError(f"folds: expected an int >= 2, got {folds!r}")
    if not alpha > 0:
        raise ValueError(f"alpha: expected > 0, got {alpha!r}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels: expected values in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    gram = x @ x.T
    onehot = np.eye(num_classes)[y]
    fold = _fold_ids(len(y), folds, seed)
    lam = float(alpha) * x.shape[1]
    scores = []
    for k in range(folds):
        test, train = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        pred = _dual_predict(gram, train, test, onehot[train], lam).argmax(axis=1)
        scores.append(balanced_accuracy(y[test], pred))
    return np.asarray(scores)


def other_images(n: int, seed: int = 0) -> np.ndarray:
    """(n,) index j(i) != i of the unrelated image each mask i is laid over: one random cycle
    through all n images (a seeded order o; o[k] is laid over by o[k+1]), n >= 2."""
    if n < 2:
        raise ValueError(f"other_images: need at least 2 images, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, np.int64)
    perm[order] = np.roll(order, -1)
    return perm


@timing.timed("leak probes")
def leak_table(images: Any, labels: Any, num_classes: int, masks: Mapping[str, Any],
               fills: Sequence[str] = ("zero", "noisy_linear"), control: bool = True, folds: int = 5,
               alpha: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Every probe of `PROBES` for every mask set and fill.

    images: (N, H, W, C) uint8; labels: (N,) ints; masks: name -> (N, H, W) bool (True = kept);
    fills: names in `masking.FILLS`; control: also each mask set's random control
    ("<name> (random)", `masking.random_masks_like` with `seed`; probes "mask alone" and
    "masked images": the kept share per image can itself follow the class). Returns one row per (masks,
    fill, probe, fold) with columns masks, fill ("-" where no fill is involved), probe,
    fold, balanced_accuracy, chance (1 / classes present)."""
    from rbdm_core.masking import apply_mask, fill_spec, random_masks_like

    x = np.asarray(images)
    y = np.asarray(labels)
    for f in fills:
        fill_spec(f)  # an unknown fill is an error that lists the fills
    sets: dict[str, np.ndarray] = {}
    controls: set[str] = set()
    for name, m in masks.items():
        m = np.asarray(m)
        if m.dtype != bool or m.shape != x.shape[:3]:
            raise ValueError(f"masks[{name!r}]: expected (N, H, W) bool matching images {x.shape}, got "
                             f"{m.shape} {m.dtype}")
        sets[name] = m
        if control:
            sets[f"{name} (random)"] = random_masks_like(m, seed=seed)
            controls.add(f"{name} (random)")
    chance = 1.0 / len(np.unique(y))
    other = other_images(len(x), seed)
    rows = []

    def add(name: str, fill: str, probe: str, features: np.ndarray) -> None:
        for k, s in enumerate(ridge_probe(features, y, num_classes, folds, alpha, seed)):
            rows.append({"masks": name, "fill": fill, "probe": probe, "fold": k, "balanced_accuracy": float(s),
                         "chance": chance})

    scaled = x.astype(np.float32) / 255.0
    add("none", "-", "plain images", scaled)
    for name, m in sets.items():
        add(name, "-", "mask alone", m)
        for f in fills:
            add(name, f, "masked images", apply_mask(x, m, f, seed=seed))
            if name not in controls:  # random masks say nothing of the label to carry
                add(name, f, "mask over other images", apply_mask(x[other], m, f, seed=seed))
    return pd.DataFrame(rows)


def leak_summary(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """`leak_table`'s folds summarised per (masks, fill, probe): `statistics.summarise` of the
    balanced accuracy over the folds (n, mean, ci_low, ci_high: Student t), chance beside it,
    and `column`: the probe with its fill ("masked images, zero"), for `statistics.pivot_intervals`."""
    from rbdm_core.statistics import summarise

    out = summarise(table, by=["masks", "fill", "probe"], confidence=confidence, value="balanced_accuracy",
                    sort=False)
    chance = table.groupby(["masks", "fill", "probe"], sort=False).chance.first().to_numpy()
    out["chance"] = chance
    out["column"] = [p if f == "-" else f"{p}, {f}" for p, f in zip(out.probe, out.fill)]
    return out
