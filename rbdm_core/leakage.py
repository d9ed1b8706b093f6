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

The ridge probe's folds share training data, so `leak_summary` gives the corrected resampled t
interval over `repeats` x `folds` splits (`statistics.resampled_interval`), not a naive t over the
folds. A linear probe is not what a CNN Trainee can read: `cnn_probe` trains the Trainee's own
architecture on one part of the images and scores it on a held-out part, with a binomial interval
(`statistics.balanced_accuracy_interval`). `outline.trainee_outline_scores` asks the trained
Trainees themselves: scored on validation masks laid over unrelated validation images, a Trainee above
chance reads the outline (the faces under it say nothing of the mask's label).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve

from rbdm_core import timing
from rbdm_core.evaluation import final_predictions
from rbdm_core.masking import apply_mask, fill_spec, random_masks_like
from rbdm_core.pipeline import dataset_key
from rbdm_core.statistics import balanced_accuracy_interval, format_interval, resampled_interval
from rbdm_core.training import train as train_model

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
    over training j and c = mean of K over training pairs; W = X_c^T (K_c + lam I)^-1 Y_c (K_c + lam I
    is symmetric positive definite for lam > 0: solved by Cholesky)."""
    k_tt = gram[np.ix_(train, train)]
    k_et = gram[np.ix_(test, train)]
    r_t, r_e, c = k_tt.mean(axis=1), k_et.mean(axis=1), k_tt.mean()
    g = k_tt - r_t[:, None] - r_t[None, :] + c
    g[np.diag_indices_from(g)] += lam
    my = y_train.mean(axis=0)
    alpha = cho_solve(cho_factor(g, overwrite_a=True, check_finite=False), y_train - my, check_finite=False)
    return (k_et - r_e[:, None] - r_t[None, :] + c) @ alpha + my


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the classes present in `labels` of the share of their samples predicted right
    (chance: 1 / number of classes present)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return float(np.mean([(predicted[labels == c] == c).mean() for c in np.unique(labels)]))


def _repeat_seed(seed: int, repeat: int) -> int:
    """The fold-split seed of repeat `repeat` (repeat 0: `seed` itself)."""
    return int(seed) if repeat == 0 else int(np.random.SeedSequence([int(seed), int(repeat)]).generate_state(1)[0])


def ridge_probe(features: Any, labels: Any, num_classes: int, folds: int = 5, alpha: float = 1.0,
                seed: int = 0, repeats: int = 1) -> np.ndarray:
    """Cross-validated linear probe: (repeats * folds,) balanced accuracy of a ridge classifier
    (one-hot targets, argmax of the predictions) on each held-out fold of each repeat (repeat r
    splits with its own seed; repeat 0 with `seed`), repeat-major.

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
    if not (isinstance(repeats, (int, np.integer)) and repeats >= 1):
        raise ValueError(f"repeats: expected an int >= 1, got {repeats!r}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels: expected values in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    gram = x @ x.T
    onehot = np.eye(num_classes)[y]
    lam = float(alpha) * x.shape[1]
    scores = []
    for r in range(int(repeats)):
        fold = _fold_ids(len(y), folds, _repeat_seed(seed, r))
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


def masks_over_other_images(images: Any, masks: Any, fill: str, seed: int = 0, start: int = 0) -> np.ndarray:
    """(N, H, W, C) uint8: image `other_images(N, seed)[i]` masked by mask i and filled with `fill`
    (`masking.apply_mask`, fill seed `seed`, first index `start`): row i carries mask i's outline
    over an unrelated image, to be read with label i."""
    x = np.asarray(images)
    return apply_mask(x[other_images(len(x), seed)], masks, fill, seed=seed, start=start)


@timing.timed("leak probes")
def leak_table(images: Any, labels: Any, num_classes: int, masks: Mapping[str, Any],
               fills: Sequence[str] = ("zero", "noisy_linear"), control: bool = True, folds: int = 5,
               alpha: float = 1.0, seed: int = 0, repeats: int = 1) -> pd.DataFrame:
    """Every probe of `PROBES` for every mask set and fill.

    images: (N, H, W, C) uint8; labels: (N,) ints; masks: name -> (N, H, W) bool (True = kept);
    fills: names in `masking.FILLS`; control: also each mask set's random control
    ("<name> (random)", `masking.random_masks_like` with `seed`; probes "mask alone" and
    "masked images": the kept share per image can itself follow the class); repeats: fold splits
    per probe (`ridge_probe`). Returns one row per (masks, fill, probe, repeat, fold) with columns
    masks, fill ("-" where no fill is involved), probe, repeat, fold, balanced_accuracy, chance
    (1 / classes present)."""
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
    rows = []

    def add(name: str, fill: str, probe: str, features: np.ndarray) -> None:
        for j, s in enumerate(ridge_probe(features, y, num_classes, folds, alpha, seed, repeats)):
            rows.append({"masks": name, "fill": fill, "probe": probe, "repeat": j // folds, "fold": j % folds,
                         "balanced_accuracy": float(s), "chance": chance})

    scaled = x.astype(np.float32) / 255.0
    add("none", "-", "plain images", scaled)
    for name, m in sets.items():
        add(name, "-", "mask alone", m)
        for f in fills:
            add(name, f, "masked images", apply_mask(x, m, f, seed=seed))
            if name not in controls:  # random masks say nothing of the label to carry
                add(name, f, "mask over other images", masks_over_other_images(x, m, f, seed=seed))
    return pd.DataFrame(rows)


def leak_summary(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """`leak_table`'s splits summarised per (masks, fill, probe): n (repeats x folds), mean,
    ci_low, ci_high by the corrected resampled t (`statistics.resampled_interval`, n_test / n_train
    = 1 / (folds - 1): the folds share training images, which a plain t over them ignores), chance
    beside it, and `column`: the probe with its fill ("masked images, zero"), for
    `statistics.pivot_intervals`."""
    folds = int(table.fold.nunique())
    if folds < 2:
        raise ValueError(f"table: expected the folds of `leak_table` (at least 2), got {folds}")
    rows = []
    for (m, f, p), grp in table.groupby(["masks", "fill", "probe"], sort=False):
        iv = resampled_interval(grp.balanced_accuracy, 1 / (folds - 1), confidence)
        rows.append({"masks": m, "fill": f, "probe": p, "n": iv.n, "mean": iv.mean, "ci_low": iv.low,
                     "ci_high": iv.high, "chance": float(grp.chance.iloc[0]),
                     "column": p if f == "-" else f"{p}, {f}"})
    return pd.DataFrame(rows)


def held_out_split(labels: Any, held_out: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) sorted index arrays: per class, a seeded `held_out` share (rounded, at least
    one image, never all) goes to test; a class of one image stays in train."""
    y = np.asarray(labels)
    if not 0 < held_out < 1:
        raise ValueError(f"held_out: expected a share in (0, 1), got {held_out!r}")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = min(max(1, int(round(held_out * len(idx)))), len(idx) - 1)
        test.append(idx[:k])
    test = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    return np.setdiff1d(np.arange(len(y)), test), test


@timing.timed("leak probes (CNN)")
def cnn_probe(dataset, architecture: str, recipe, held_out: float = 0.3, seed: int = 0, store=None,
              key: Mapping[str, Any] | None = None, input_size=None, confidence: float = 0.95):
    """What a CNN reads from some images: `architecture` trained from scratch (`training.train`,
    no mask, `recipe`, `seed`) on a stratified share of `dataset` (a Dataset whose images are the
    features, e.g. `masks_over_other_images`), and its *last step's* weights scored on the
    held-out rest (`held_out_split`; no model selection touches it). Returns a
    `statistics.Interval` of the held-out balanced accuracy (`balanced_accuracy_interval`:
    binomial, over test images, for this one trained model).

    store: an `artifacts.Store` (the run cached under `store.dir("cnn_probe", ...)`, keyed by the
    images, split, architecture, recipe and `key`); None = not cached."""
    tr, te = held_out_split(dataset.labels, held_out, seed)
    sub = lambda idx: replace(dataset, images=dataset.images[idx], labels=dataset.labels[idx],
                              split=None if dataset.split is None else np.asarray(dataset.split)[idx],
                              ids=None if dataset.ids is None else np.asarray(dataset.ids)[idx], regions=None)
    train_ds, test_ds = sub(tr), sub(te)
    out = None
    if store is not None:
        out = store.dir("cnn_probe", {"train": dataset_key(train_ds), "test": dataset_key(test_ds),
                                      "architecture": architecture, "recipe": recipe.to_dict(), "seed": int(seed),
                                      "input_size": input_size, "key": dict(key or {})})
    res = train_model(architecture, train_ds, test_ds, recipe, "no-mask", seed=int(seed), out_dir=out, verbose=0,
                      input_size=input_size)
    return balanced_accuracy_interval(test_ds.labels, final_predictions(res, test_ds.images), confidence)


def _probe_row(leaks: pd.DataFrame, masks: str, fill: str) -> pd.Series:
    """The "mask over other images" row of `leak_summary` for (masks, fill)."""
    return leaks[(leaks.masks == masks) & (leaks.probe == "mask over other images") & (leaks.fill == fill)].iloc[0]


def fill_lines(leaks: pd.DataFrame, mask_names: Sequence[str], fills: Sequence[str]) -> list[str]:
    """Lines on the leak itself (`leak_summary`'s "mask over other images") per mask set and fill,
    each against chance by its interval, and, with two fills, the share of the first fill's
    accuracy above chance that the second removes ("" when the first is not above chance)."""
    lines = []
    for m in mask_names:
        chance = float(_probe_row(leaks, m, fills[0]).chance)
        lines.append(f"{m} masks over unrelated images, balanced accuracy (chance {chance:.3f}):")
        for f in fills:
            row = _probe_row(leaks, m, f)
            verdict = ("above chance (95% CI): the filled image still tells the class" if row.ci_low > row.chance
                       else "chance lies inside the 95% CI: no linear leak measured")
            lines.append(f"    {f} fill: {format_interval(row['mean'], row.ci_low, row.ci_high)}, {verdict}")
        if len(fills) > 1:
            a, b = (_probe_row(leaks, m, f)["mean"] - chance for f in fills[:2])
            lines.append(f"    the {fills[1]} fill removes {1 - b / a:.0%} of the {fills[0]} fill's "
                         "accuracy above chance" if a > 0 else "")
    return lines


def cnn_leak_table(dataset, masks: Mapping[str, Any], fills: Sequence[str], architecture: str, recipe,
                   store=None, input_size=None, held_out: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """`cnn_probe` on the plain images of `dataset` (row masks "none", fill "-") and on each mask
    set's masks over other images (`masks_over_other_images`) for each fill. Columns masks, column
    ("plain images" / "mask over other images, <fill>"), fill, n, mean, ci_low, ci_high, for
    `statistics.pivot_intervals`."""
    cells = [("none", "-", dataset)] + [
        (m, f, replace(dataset, images=masks_over_other_images(dataset.images, np.asarray(mk), f)))
        for m, mk in masks.items() for f in fills]
    rows = []
    for m, f, ds in cells:
        iv = cnn_probe(ds, architecture, recipe, held_out=held_out, seed=seed, store=store, input_size=input_size)
        rows.append({"masks": m, "column": "plain images" if f == "-" else f"mask over other images, {f}", "fill": f,
                     "n": iv.n, "mean": iv.mean, "ci_low": iv.low, "ci_high": iv.high})
    return pd.DataFrame(rows)


def cnn_lines(cnn: pd.DataFrame, fills: Sequence[str], chance: float) -> list[str]:
    """Per fill: for how many mask sets the CNN probe (`cnn_leak_table`) reads the class from masks
    over unrelated images above chance by its interval."""
    lines = []
    for f in fills:
        rows = cnn[cnn.fill == f]
        above = rows[rows.ci_low > chance].masks.tolist()
        lines.append(f"{f} fill: the CNN reads the class from masks over unrelated images above chance (95% CI) for "
                     f"{len(above)} of {len(rows)} mask types" + (f" ({', '.join(above)})" if above else ""))
    return lines


def residual_lines(leaks: pd.DataFrame, cnn: pd.DataFrame | None, mask_names: Sequence[str], fill: str,
                   chance: float) -> list[str]:
    """Per mask set, the leak left under `fill` by the linear probe (`leak_summary`) and, when
    `cnn` is given and not empty, the CNN probe (`cnn_leak_table`): "a residual leak remains" when
    either interval lies above chance, "no leak measured by either probe" otherwise."""
    lines = []
    for m in mask_names:
        row = _probe_row(leaks, m, fill)
        parts = [f"linear probe {format_interval(row['mean'], row.ci_low, row.ci_high)}"]
        left = row.ci_low > chance
        if cnn is not None and not cnn.empty:
            c = cnn[(cnn.masks == m) & (cnn.fill == fill)].iloc[0]
            parts.append(f"CNN probe {format_interval(c['mean'], c.ci_low, c.ci_high)}")
            left = left or c.ci_low > chance
        lines.append(f"{m} masks, {fill} fill, over unrelated images: {', '.join(parts)} (chance {chance:.3f}): "
                     + ("a residual leak remains" if left else "no leak measured by either probe"))
    return lines
