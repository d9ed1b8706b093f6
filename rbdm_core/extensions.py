"""Beyond the paper (chapter 8), and the small summaries chapters 6 and 7 need.

Chapter 6 (the Trainee):
- `run_table(curves)`: best and final validation F1 of every (variant, seed) run.
- `trainee_summary(curves, reference="no-mask", fraction=0.9)`: per variant, mean and confidence
  interval over seeds of best F1, final F1 and the steps to reach `fraction` of the reference's
  mean final F1.
- `value_at(curves, step)`: each run's validation F1 at a step (early learning).
- `best_variant(table, criterion)`: the variant a computed criterion picks.

Chapter 7 (reproducibility):
- `curve_difference(a, b)`: max |a - b| over the points two curve tables share (0 = identical).

Chapter 8 (beyond the paper):
- several Trainers: `relevance_of(pipe, architecture, ...)` (cached like `Pipeline.relevance`),
  `normalise_maps`, `combine_relevance` (mean of normalised maps), `make_masks`, `combine_masks`
  (union / intersection / majority), `mask_precision` (ground-truth precision per mask source);
- human fixations as mask source: `human_masks` (support of each annotator's cut gaze heatmap),
  `mask_iou`, `human_vs_model` (overlap and precision of human and model perceptive masks);
- ROAR (Hooker et al. 2019): `roar_masks` and `roar` (retrain on images with the top-k relevant
  vs k random pixels removed, evaluate on likewise masked validation images), `pipeline_roar`.

Masks are `(N, H, W)` bool, True = kept (as in `rbdm_core.masking`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .artifacts import param_key
from .statistics import summarise

CRITERIA = ("best_f1", "final_f1", "steps")
COMBINE_RULES = ("union", "intersection", "majority")
REMOVALS = ("relevance", "random")


# --------------------------------------------------------------------------- chapter 6
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


@dataclass
class TraineeSummary:
    """table: per variant `n_seeds`, best_f1 / final_f1 / steps_to_threshold as mean, ci_low,
    ci_high (Student-t over seeds), `reached` (seeds that reach the threshold);
    runs: per (variant, seed) best_f1, final_f1, steps_to_threshold (NaN = never reached);
    threshold: `fraction` x the reference's mean final F1."""

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


def trainee_summary(curves: pd.DataFrame, reference: str = "no-mask", fraction: float = 0.9,
                    confidence: float = 0.95, early_step: int | None = None) -> TraineeSummary:
    """Per variant: mean and `confidence` interval over seeds of best F1, final F1 and the first
    step at which validation F1 reaches `fraction` x (mean over seeds of `reference`'s final F1).
    Seeds that never reach it count in `reached` only (their steps are left out of the mean).
    With `early_step`, also `early_f1`: the validation F1 at that step (`value_at`)."""
    from .pipeline import steps_to_reach

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction: expected 0 < fraction <= 1, got {fraction!r}")
    runs = run_table(curves)
    ref = runs[runs.variant == reference]
    if ref.empty:
        raise ValueError(f"reference: variant {reference!r} is not in the curves (variants: {list(pd.unique(runs.variant))})")
    threshold = float(fraction * ref.final_f1.mean())
    st = steps_to_reach(curves, threshold).rename(columns={"step": "steps_to_threshold"})
    runs = runs.merge(st, on=["variant", "seed"], how="left")
    cols = ["best_f1", "final_f1", "steps_to_threshold"]
    if early_step is not None:
        runs = runs.merge(value_at(curves, early_step).rename(columns={"value": "early_f1"}), on=["variant", "seed"])
        cols.insert(0, "early_f1")
    order = list(pd.unique(runs.variant))
    parts = []
    for col in cols:
        s = summarise(runs, by=["variant"], confidence=confidence, value=col)
        s = s.set_index("variant")[["mean", "ci_low", "ci_high"]]
        s.columns = [f"{col}_{c}" for c in ("mean", "ci_low", "ci_high")]
        parts.append(s)
    table = pd.concat(parts, axis=1).reindex(order)
    table.insert(0, "n_seeds", runs.groupby("variant").size().reindex(order).to_numpy())
    table.insert(1, "reached", runs.groupby("variant").steps_to_threshold.apply(lambda x: int(x.notna().sum()))
                 .reindex(order).to_numpy())
    return TraineeSummary(table.reset_index(), runs, threshold, reference, float(fraction))


def best_variant(table: pd.DataFrame, criterion: str = "best_f1", exclude: Sequence[str] = ("no-mask",)) -> str:
    """The variant of a `trainee_summary(...).table` that `criterion` picks among those not in
    `exclude`: highest mean `best_f1` / `final_f1`, or fewest mean `steps` to the threshold (only
    variants whose every seed reached it; ties and a fully unreached field fall back to mean best F1)."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion: expected one of {CRITERIA}, got {criterion!r}")
    t = table[~table.variant.isin(list(exclude))]
    if t.empty:
        raise ValueError(f"exclude: {list(exclude)} leaves no variant to choose from")
    if criterion == "steps":
        full = t[t.reached == t.n_seeds]
        if not full.empty:
            key = full.steps_to_threshold_mean.to_numpy()
            best = np.flatnonzero(key == key.min())
            cand = full.iloc[best]
            return str(cand.variant.iloc[int(np.argmax(cand.best_f1_mean.to_numpy()))])
        criterion = "best_f1"
    return str(t.variant.iloc[int(np.argmax(t[f"{criterion}_mean"].to_numpy()))])


# --------------------------------------------------------------------------- chapter 7
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


# --------------------------------------------------------------------------- several Trainers
def relevance_of(pipe, architecture: str, images: np.ndarray | None = None, method: str | None = None,
                 split: str = "Training") -> np.ndarray:
    """Relevance maps of the Trainer candidate `architecture` (trained and cached by the pipeline),
    resampled to the images' size: `Pipeline.relevance(..., architecture=...)`. (N, H, W) float32."""
    return pipe.relevance(images, method, split, architecture=architecture)


def _maps(maps: Any, name: str = "maps") -> np.ndarray:
    m = np.asarray(maps)
    if m.dtype == bool or not np.issubdtype(m.dtype, np.number):
        raise ValueError(f"{name}: expected numeric (N, H, W) relevance maps, got dtype {m.dtype}")
    if m.ndim != 3:
        raise ValueError(f"{name}: expected shape (N, H, W), got {m.shape}")
    if not np.isfinite(m).all():
        i = int(np.flatnonzero(~np.isfinite(m.reshape(len(m), -1)).all(axis=1))[0])
        raise ValueError(f"{name}: image {i} has NaN or infinite values")
    return m.astype(np.float64)


def normalise_maps(maps: Any) -> np.ndarray:
    """Each map divided by the sum of its absolute values (L1 = 1), so Trainers whose logits
    differ in scale weigh alike; an all-zero map stays zero. (N, H, W) -> (N, H, W) float64."""
    m = _maps(maps)
    s = np.abs(m).sum(axis=(1, 2), keepdims=True)
    return np.divide(m, s, out=np.zeros_like(m), where=s > 0)


def combine_relevance(maps_list: Sequence[Any], weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted mean of the L1-normalised maps of several Trainers (`normalise_maps`).
    maps_list: K arrays (N, H, W) of one shape; weights: K non-negative numbers (default equal).
    Returns (N, H, W) float64."""
    if len(maps_list) == 0:
        raise ValueError("maps_list: expected at least one (N, H, W) array")
    arrs = [normalise_maps(m) for m in maps_list]
    for k, a in enumerate(arrs[1:], start=1):
        if a.shape != arrs[0].shape:
            raise ValueError(f"maps_list[{k}]: shape {a.shape} differs from maps_list[0]'s {arrs[0].shape}")
    w = np.ones(len(arrs)) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (len(arrs),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights: expected {len(arrs)} finite non-negative numbers with a positive sum, got {weights!r}")
    return np.tensordot(w / w.sum(), np.stack(arrs), axes=1)


def _bool_masks(masks: Any, name: str) -> np.ndarray:
    m = np.asarray(masks)
    if m.dtype != bool:
        raise ValueError(f"{name}: expected a bool array (True = kept), got dtype {m.dtype}")
    if m.ndim != 3:
        raise ValueError(f"{name}: expected shape (N, H, W), got {m.shape}")
    return m


def combine_masks(masks_list: Sequence[Any], rule: str = "majority") -> np.ndarray:
    """Combine K masks (N, H, W) bool of one shape: `union` keeps a pixel any mask keeps,
    `intersection` one every mask keeps, `majority` one more than half of the masks keep."""
    if rule not in COMBINE_RULES:
        raise ValueError(f"rule: expected one of {COMBINE_RULES}, got {rule!r}")
    if len(masks_list) == 0:
        raise ValueError("masks_list: expected at least one (N, H, W) bool array")
    arrs = [_bool_masks(m, f"masks_list[{k}]") for k, m in enumerate(masks_list)]
    for k, a in enumerate(arrs[1:], start=1):
        if a.shape != arrs[0].shape:
            raise ValueError(f"masks_list[{k}]: shape {a.shape} differs from masks_list[0]'s {arrs[0].shape}")
    votes = np.sum(arrs, axis=0)
    if rule == "union":
        return votes > 0
    if rule == "intersection":
        return votes == len(arrs)
    return 2 * votes > len(arrs)


def make_masks(maps: Any, mask_type: str, **params: Any) -> np.ndarray:
    """Masks (N, H, W) bool of one `mask_type` from relevance maps: `negative` (fraction),
    `mean`, `perceptive` (n, sigma, cutoff), i.e. `rbdm_core.masking`'s functions with the
    parameters `Pipeline.mask_params(mask_type)` gives."""
    from . import masking

    fns = {"negative": masking.negative_mask, "mean": masking.mean_mask, "perceptive": masking.perceptive_mask}
    if mask_type not in fns:
        raise ValueError(f"mask_type: expected one of {sorted(fns)}, got {mask_type!r}")
    return fns[mask_type](_maps(maps), **params)


def mask_precision(masks_by_source: Mapping[str, Any], regions: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Ground-truth scores of several mask sources on the same images: per source the mean over
    images of `kept_fraction`, precision = |kept & regions| / |kept| (`precision_mean`,
    `precision_ci_low`, `precision_ci_high`: Student-t interval) and `recall` =
    |kept & regions| / |regions| (images where a ratio is undefined are left out;
    `rbdm_core.masking.mask_stats`). regions: (N, H, W) bool."""
    from .masking import mask_stats

    if not masks_by_source:
        raise ValueError("masks_by_source: expected at least one named (N, H, W) mask array")
    rows = []
    for name, m in masks_by_source.items():
        st = mask_stats(_bool_masks(m, f"masks_by_source[{name!r}]"), regions)
        p = summarise(st.assign(source=name), by=["source"], confidence=confidence, value="precision").iloc[0]
        rows.append({"source": name, "kept_fraction": float(st.kept_fraction.mean()),
                     "precision_mean": p["mean"], "precision_ci_low": p["ci_low"], "precision_ci_high": p["ci_high"],
                     "recall": float(np.nanmean(st.recall.to_numpy())) if st.recall.notna().any() else np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- human fixations
@dataclass
class HumanMasks:
    """annotators (A,); masks (A, N, H, W) bool: support of each annotator's cut gaze heatmap
    (True = perceived = kept); n_fixations (A, N): fixations on the image."""

    annotators: np.ndarray
    masks: np.ndarray
    n_fixations: np.ndarray


def human_masks(fixations: pd.DataFrame, n_images: int, image_shape: Sequence[int], sigma: float,
                cutoff: float, geometry: Any = None) -> HumanMasks:
    """Perceptive masks from real (or simulated) fixations instead of pseudo-fixations: keep the
    pixels where an annotator's gaze heatmap (`gaze.fixation_heatmaps`, kernel `sigma`, cut off
    at `cutoff` image pixels) is non-zero. fixations: a study's fixation table (annotator,
    image_index, x_screen, y_screen); geometry: the study's `StudyGeometry` (display, screen)."""
    from .gaze import fixation_heatmaps

    if cutoff is None:
        raise ValueError("cutoff: a finite cut-off radius in pixels is required (an uncut Gaussian is never 0)")
    hm = fixation_heatmaps(fixations, n_images, image_shape, sigma, cutoff, geometry=geometry)
    return HumanMasks(hm.annotators, hm.maps > 0, hm.n_fixations)


def mask_iou(a: Any, b: Any) -> np.ndarray:
    """(N,) |a & b| / |a | b| per image of two (N, H, W) bool masks; NaN where both are empty."""
    a, b = _bool_masks(a, "a"), _bool_masks(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b: shapes differ, {a.shape} vs {b.shape}")
    inter = (a & b).sum(axis=(1, 2)).astype(np.float64)
    union = (a | b).sum(axis=(1, 2)).astype(np.float64)
    return np.divide(inter, union, out=np.full(len(a), np.nan), where=union > 0)


def human_vs_model(human: HumanMasks, model_masks: Any, regions: Any) -> pd.DataFrame:
    """Per (annotator, image) with at least one fixation: `iou` of the annotator's mask and the
    model's perceptive mask, both masks' `kept_fraction` and ground-truth `precision`
    (NaN where a mask keeps nothing). Columns: annotator, image_index, iou, kept_human,
    kept_model, precision_human, precision_model."""
    from .masking import mask_stats

    mm = _bool_masks(model_masks, "model_masks")
    if human.masks.shape[1:] != mm.shape:
        raise ValueError(f"model_masks: expected shape {human.masks.shape[1:]} (the study's images), got {mm.shape}")
    ms = mask_stats(mm, regions)
    frames = []
    for k, a in enumerate(human.annotators):
        idx = np.flatnonzero(human.n_fixations[k] > 0)
        hs = mask_stats(human.masks[k, idx], np.asarray(regions)[idx])
        frames.append(pd.DataFrame({
            "annotator": a, "image_index": idx, "iou": mask_iou(human.masks[k, idx], mm[idx]),
            "kept_human": hs.kept_fraction.to_numpy(), "kept_model": ms.kept_fraction.to_numpy()[idx],
            "precision_human": hs.precision.to_numpy(), "precision_model": ms.precision.to_numpy()[idx]}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- ROAR
def roar_masks(relevance: Any, fraction: float, removal: str, seed: int = 0, start: int = 0) -> np.ndarray:
    """Masks (N, H, W) bool (True = kept) removing `round(fraction * H * W)` pixels per image:
    the most relevant ones (`removal="relevance"`, = `masking.negative_mask`) or ones drawn at
    random (`"random"`, the complement of `masking.random_fraction_mask(..., seed, start=start)`;
    `start` = index of the first image, so train and validation images draw differently)."""
    from .masking import negative_mask, random_fraction_mask

    if removal not in REMOVALS:
        raise ValueError(f"removal: expected one of {REMOVALS}, got {removal!r}")
    r = _maps(relevance, "relevance")
    if removal == "relevance":
        return negative_mask(r, fraction)
    return ~random_fraction_mask(r.shape, fraction, seed=seed, start=start)


def roar(architecture: str, train, val, relevance_train: Any, relevance_val: Any, recipe,
         fractions: Sequence[float] = (0.1, 0.3, 0.5), seed: int = 0, mask_seed: int = 0, store=None,
         key: Mapping[str, Any] | None = None, input_size=None, baseline: bool = True) -> pd.DataFrame:
    """ROAR-style check (Hooker et al. 2019): for each fraction k and removal (relevance-ranked,
    random), train `architecture` from scratch on the training images with those pixels set to 0
    and evaluate on validation images masked the same way (`rbdm_core.training.train`, variant
    no-mask on the pre-masked images). With `baseline` a run on unmasked images (fraction 0).

    train, val: Datasets; relevance_train / relevance_val: their (N, H, W) maps; recipe: Recipe;
    store: an `artifacts.Store` (runs cached under `store.dir("roar", params)`; None = not cached);
    key: what identifies the relevance maps (Trainer, method), part of the cache key (with the
    untrained model's `models.fingerprint`, so changed architecture code never reuses a run).
    Returns columns removal, fraction, kept_fraction, best_f1, final_f1, steps, seed.
    """
    from .masking import apply_mask
    from .models import fingerprint
    from .pipeline import dataset_key
    from .training import train as train_model

    fr = [float(f) for f in fractions]
    bad = [f for f in fr if not 0 < f < 1]
    if bad:
        raise ValueError(f"fractions: expected values in (0, 1), got {bad}")
    rt, rv = _maps(relevance_train, "relevance_train"), _maps(relevance_val, "relevance_val")
    if rt.shape != train.images.shape[:3]:
        raise ValueError(f"relevance_train: expected shape {train.images.shape[:3]}, got {rt.shape}")
    if rv.shape != val.images.shape[:3]:
        raise ValueError(f"relevance_val: expected shape {val.images.shape[:3]}, got {rv.shape}")
    base = {"architecture": architecture, "recipe": recipe.to_dict(), "seed": int(seed),
            "model": fingerprint(architecture, len(train.class_names), train.shape, input_size, int(seed)),
            "train": dataset_key(train), "val": dataset_key(val), "key": dict(key or {})}
    jobs = [("none", 0.0)] if baseline else []
    jobs += [(r, f) for f in fr for r in REMOVALS]
    rows = []
    for removal, f in jobs:
        if removal == "none":
            tr, va, kept = train, val, 1.0
            params = {**base, "removal": "none"}
        else:
            mt = roar_masks(rt, f, removal, mask_seed, start=0)
            mv = roar_masks(rv, f, removal, mask_seed, start=len(rt))
            tr = replace(train, images=apply_mask(train.images, mt))
            va = replace(val, images=apply_mask(val.images, mv))
            kept = float(mt.mean())
            params = {**base, "removal": removal, "fraction": f, "mask_seed": int(mask_seed),
                      "masks": param_key({"t": mt, "v": mv})}
        out = store.dir("roar", params) if store is not None else None
        res = train_model(architecture, tr, va, recipe, "no-mask", seed=int(seed), out_dir=out, verbose=0,
                          input_size=input_size)
        rows.append({"removal": removal, "fraction": f, "kept_fraction": kept, "best_f1": res.best_f1,
                     "final_f1": res.final_f1, "steps": res.steps, "seed": int(seed)})
    return pd.DataFrame(rows)


def pipeline_roar(pipe, fractions: Sequence[float] = (0.1, 0.3, 0.5), epochs: int = 2, seed: int = 0,
                  mask_seed: int = 0, method: str | None = None) -> pd.DataFrame:
    """`roar` with the pipeline's Trainee architecture on its target corpus (Training vs
    PublicTest), relevance from the selected Trainer (`pipe.relevance`), `epochs` epochs of the
    profile's recipe; cached in the pipeline's run directory."""
    method = method or pipe.profile.relevance_method
    tgt = pipe.target
    tr, va = tgt.select_split("Training"), tgt.select_split("PublicTest")
    rt = pipe.relevance(method=method, split="Training")
    rv = pipe.relevance(method=method, split="PublicTest")
    return roar(pipe.profile.trainee, tr, va, rt, rv, pipe.profile.recipe(int(epochs)), fractions, seed=seed,
                mask_seed=mask_seed, store=pipe.store, key={"trainer": pipe.trainer_key(), "method": method},
                input_size=pipe.profile.input_size)
