"""ROAR (Hooker et al. 2019): retrain on images whose most relevant pixels are removed, against as
many removed at random, and evaluate on validation images masked the same way.

    table = pipeline_roar_seeds(pipe, seeds=(0, 1, 2), fills=ROAR_FILLS)   # one row per run
    gaps = removal_gaps(table)          # ranked - random (and - unmasked), paired by seed
    removal_lines(gaps)                 # one generated sentence per fill and fraction
    fill_lines(table)                   # random removal: noisy linear fill - zero fill, by seed
    verdict_summary(gaps)               # per fill: where ranked removal hurts more, less, or cannot tell

The fill is ROAD's noisy linear imputation by default (Rong et al. 2022): with zeros, the removed
area itself is drawn into the image, black holes whose outline a model can learn from; the zero
fill is kept as the paper-style variant. The validation images' pixels are ranked by a map that
does not depend on the class the Trainer predicts (`VAL_TARGETS`), so that their masks' outline
does not hand the Trainee the Trainer's prediction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core import timing
from rbdm_core.artifacts import param_key
from rbdm_core.beyond import HIGHER, LOWER, side
from rbdm_core.checks import _maps
from rbdm_core.masking import REMOVALS, apply_mask, fill_spec, roar_masks
from rbdm_core.models import fingerprint
from rbdm_core.pipeline import dataset_key
from rbdm_core.statistics import format_interval, interval, paired_interval
from rbdm_core.training import train as train_model

#: ROAR's fill here: ROAD's noisy linear imputation (a removed pixel takes its kept neighbours' mean,
#: plus a little noise), which does not paint the removed area's outline into the image
DEFAULT_FILL = "noisy_linear"
#: the fills `pipeline_roar_seeds` runs: the default first, the paper-style zero fill beside it
ROAR_FILLS = ("noisy_linear", "zero")
#: what ranks the validation images' pixels: "all_classes" = the mean of every class's map
#: (`Pipeline.relevance(target="all_classes")`, independent of the predicted class; the default),
#: "predicted" = the predicted class's map, as the training images' (ROAR's original)
VAL_TARGETS = ("all_classes", "predicted")
#: generated words for the side of an interval of ranked - random
HURTS_MORE, HURTS_LESS, CANNOT_TELL = "hurts more", "hurts less", "cannot tell"


def roar(architecture: str, train, val, relevance_train: Any, relevance_val: Any, recipe,
         fractions: Sequence[float] = (0.1, 0.3, 0.5), seed: int = 0, mask_seed: int = 0, store=None,
         key: Mapping[str, Any] | None = None, input_size=None, baseline: bool = True,
         fill: str = DEFAULT_FILL) -> pd.DataFrame:
    """ROAR-style check (Hooker et al. 2019): for each fraction k and removal (relevance-ranked,
    random), train `architecture` from scratch on the training images with those pixels removed
    (`fill`: a name in `masking.FILLS`; default "noisy_linear", ROAD's; "zero" as ROAR and the
    paper) and evaluate on validation images masked the same way, their pixels ranked by
    `relevance_val` (`rbdm_core.training.train`, variant no-mask on the pre-masked images). With
    `baseline` a run on unmasked images (fraction 0).

    train, val: Datasets; relevance_train / relevance_val: their (N, H, W) maps; recipe: Recipe;
    store: an `artifacts.Store` (runs cached under `store.dir("roar", params)`, keyed by the masks
    themselves; None = not cached); key: what identifies the relevance maps (Trainer, method,
    validation target), part of the cache key (with the untrained model's `models.fingerprint`,
    so changed architecture code never reuses a run); seed: the Trainee's; mask_seed: the random
    removal's and the fill's noise.
    Returns columns removal, fraction, kept_fraction, best_f1, final_f1, steps, seed, fill.
    """
    fr = [float(f) for f in fractions]
    bad = [f for f in fr if not 0 < f < 1]
    if bad:
        raise ValueError(f"fractions: expected values in (0, 1), got {bad}")
    fill_spec(fill)  # an unknown fill is an error that lists the fills
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
            tr = replace(train, images=apply_mask(train.images, mt, fill, seed=int(mask_seed)))
            va = replace(val, images=apply_mask(val.images, mv, fill, seed=int(mask_seed), start=len(rt)))
            kept = float(mt.mean())
            params = {**base, "removal": removal, "fraction": f, "mask_seed": int(mask_seed),
                      "masks": param_key({"t": mt, "v": mv})}
            if fill != "zero":
                params["fill"] = fill
        out = store.dir("roar", params) if store is not None else None
        res = train_model(architecture, tr, va, recipe, "no-mask", seed=int(seed), out_dir=out, verbose=0,
                          input_size=input_size)
        rows.append({"removal": removal, "fraction": f, "kept_fraction": kept, "best_f1": res.best_f1,
                     "final_f1": res.final_f1, "steps": res.steps, "seed": int(seed),
                     "fill": "-" if removal == "none" else fill})
    return pd.DataFrame(rows)


def _check_val_target(val_target: str) -> None:
    if val_target not in VAL_TARGETS:
        raise ValueError(f"val_target: expected one of {VAL_TARGETS}, got {val_target!r}")


@timing.timed("ROAR")
def pipeline_roar(pipe, fractions: Sequence[float] = (0.1, 0.3, 0.5), epochs: int = 2, seed: int = 0,
                  mask_seed: int = 0, method: str | None = None, fill: str = DEFAULT_FILL,
                  val_target: str = "all_classes", baseline: bool = True) -> pd.DataFrame:
    """`roar` with the pipeline's Trainee architecture on its target corpus (Training vs
    PublicTest), `epochs` epochs of the profile's recipe, removed pixels filled with `fill`;
    cached in the pipeline's run directory. The training pixels are ranked by the selected
    Trainer's relevance for its predicted class (`pipe.relevance`), the validation pixels by
    `val_target` (`VAL_TARGETS`; default "all_classes": the same mask whatever class the Trainer
    predicts, so a Trainee cannot read the prediction off the validation masks' outline)."""
    _check_val_target(val_target)
    method = method or pipe.profile.relevance_method
    tgt = pipe.target
    tr, va = tgt.select_split("Training"), tgt.select_split("PublicTest")
    rt = pipe.relevance(method=method, split="Training")
    rv = pipe.relevance(method=method, split="PublicTest", target="predicted" if val_target == "predicted" else
                        "all_classes")
    key = {"trainer": pipe.trainer_key(), "method": method}
    if val_target != "predicted":
        key["val_target"] = val_target
    return roar(pipe.profile.trainee, tr, va, rt, rv, pipe.profile.recipe(int(epochs)), fractions, seed=seed,
                mask_seed=mask_seed, fill=fill, store=pipe.store, key=key, input_size=pipe.profile.input_size,
                baseline=baseline)


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    out = list(seeds) if not isinstance(seeds, (int, str)) else None
    if not out or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0 for s in out) \
            or len(set(out)) != len(out):
        raise ValueError(f"seeds: expected distinct non-negative ints (at least one), got {seeds!r}")
    return [int(s) for s in out]


def pipeline_roar_seeds(pipe, fractions: Sequence[float] = (0.1, 0.3, 0.5), epochs: int = 2,
                        seeds: Sequence[int] = (0, 1, 2), fills: Sequence[str] = ROAR_FILLS,
                        method: str | None = None, val_target: str = "all_classes") -> pd.DataFrame:
    """`pipeline_roar` for every seed s (Trainee seed s, random removal and fill noise seed s) and
    every fill, with one unmasked baseline per seed (fill "-"). Returns `roar`'s columns, one row
    per run: the tidy table `removal_gaps` reads."""
    seeds = _check_seeds(seeds)
    fills = list(fills)
    if not fills or len(set(fills)) != len(fills):
        raise ValueError(f"fills: expected distinct names in masking.FILLS (at least one), got {fills!r}")
    parts = [pipeline_roar(pipe, fractions, epochs, seed=s, mask_seed=s, method=method, fill=f,
                           val_target=val_target, baseline=k == 0)
             for s in seeds for k, f in enumerate(fills)]
    return pd.concat(parts, ignore_index=True)


def _by_seed(table: pd.DataFrame, column: str, **where: Any) -> pd.Series:
    sub = table
    for k, v in where.items():
        sub = sub[sub[k] == v]
    return sub.set_index("seed")[column]


def _paired(a: pd.Series, b: pd.Series, confidence: float):
    seeds = sorted(set(a.index) & set(b.index))
    return paired_interval(a.loc[seeds].to_numpy(), b.loc[seeds].to_numpy(), confidence)


def _ivcols(prefix: str, iv) -> dict[str, float]:
    return {f"{prefix}_mean": iv.mean, f"{prefix}_ci_low": iv.low, f"{prefix}_ci_high": iv.high}


def gap_side(iv) -> str:
    """What an interval of ranked - random F1 says: "hurts more" (wholly below zero: removing
    the relevant pixels costs more than removing random ones), "hurts less" (wholly above),
    else "cannot tell" (also with fewer than two seeds)."""
    return {LOWER: HURTS_MORE, HIGHER: HURTS_LESS}.get(side(iv), CANNOT_TELL)


def removal_gaps(table: pd.DataFrame, column: str = "final_f1", confidence: float = 0.95) -> pd.DataFrame:
    """Per fill and fraction, over the seeds (`pipeline_roar_seeds`'s table): the mean and
    `confidence` interval of `column` for ranked (`relevance_*`) and random (`random_*`) removal,
    of their difference ranked - random paired by seed (`gap_*`, with `gap_side`), and of ranked
    removal minus the same seed's unmasked baseline (`above_*`). Columns fill, fraction, n, then
    those (mean, ci_low, ci_high each); `baseline_*` repeats the unmasked runs' interval."""
    for c in ("removal", "fraction", "seed", "fill", column):
        if c not in table.columns:
            raise ValueError(f"table: missing column {c!r}; expected pipeline_roar_seeds(...)'s table")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected 0 < confidence < 1, got {confidence!r}")
    base = _by_seed(table, column, removal="none")
    if base.index.has_duplicates:
        raise ValueError("table: more than one unmasked baseline run per seed")
    rows = []
    removed = table[table.removal != "none"]
    for fill in pd.unique(removed.fill):
        for f in sorted(pd.unique(removed[removed.fill == fill].fraction)):
            ranked = _by_seed(removed, column, fill=fill, fraction=f, removal="relevance")
            rand = _by_seed(removed, column, fill=fill, fraction=f, removal="random")
            gap = _paired(ranked, rand, confidence)
            rows.append({"fill": fill, "fraction": float(f), "n": gap.n,
                         **_ivcols("relevance", interval(ranked, confidence)),
                         **_ivcols("random", interval(rand, confidence)),
                         **_ivcols("gap", gap), "gap_side": gap_side(gap),
                         **_ivcols("above", _paired(ranked, base, confidence)),
                         **_ivcols("baseline", interval(base, confidence))})
    return pd.DataFrame(rows)


def _iv_text(row, prefix: str) -> str:
    return format_interval(row[f"{prefix}_mean"], row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"])


def removal_line(row: Mapping[str, Any], confidence: float = 0.95) -> str:
    """One sentence from a `removal_gaps` row: whether ranked removal hurts more than random
    removal at this fill and fraction, with the paired interval it is decided by."""
    over = f"{row['n']} seed{'s' if row['n'] != 1 else ''}, paired by seed ({100 * confidence:g}% interval)"
    head = f"{row['fill']} fill, k={row['fraction']:g}"
    diff = f"final F1 ranked - random {_iv_text(row, 'gap')} over {over}"
    if row["gap_side"] == HURTS_MORE:
        return f"{head}: ranked removal hurts more than random removal: {diff}"
    if row["gap_side"] == HURTS_LESS:
        return f"{head}: ranked removal hurts less than random removal: {diff}"
    why = " (one seed gives no interval)" if row["n"] < 2 else ""
    return f"{head}: cannot tell whether ranked removal hurts more than random removal{why}: {diff}"


def removal_lines(gaps: pd.DataFrame, confidence: float = 0.95) -> list[str]:
    """`removal_line` for every row of `removal_gaps`."""
    return [removal_line(r, confidence) for r in gaps.to_dict("records")]


def above_baseline_sentence(gaps: pd.DataFrame, fill: str) -> str:
    """Where, with `fill`, ranked removal scores above the unmasked baseline by its interval (the
    sign that what is left, or the removed area's shape, tells the class better than the whole
    image), or that it does so at no fraction."""
    sub = gaps[gaps.fill == fill]
    if sub.empty:
        raise ValueError(f"fill: {fill!r} is not in the gaps (fills: {list(pd.unique(gaps.fill))})")
    up = sub[(sub.n >= 2) & (sub.above_ci_low > 0)]
    detail = "; ".join(f"k={r.fraction:g}: {_iv_text(r._asdict(), 'above')}" for r in sub.itertuples())
    if (sub.n < 2).all():
        return (f"{fill} fill: whether ranked removal scores above the unmasked baseline cannot be told from one "
                f"seed (ranked - unmasked, final F1: {detail})")
    if up.empty:
        return (f"{fill} fill: ranked removal scores above the unmasked baseline at no fraction by its interval "
                f"(ranked - unmasked, final F1: {detail})")
    at = ", ".join(f"k={f:g}" for f in up.fraction)
    return (f"{fill} fill: ranked removal scores above the unmasked baseline at {at} (ranked - unmasked, final F1: "
            f"{detail}): the removed area's outline tells the class")


def fill_lines(table: pd.DataFrame, a: str = "noisy_linear", b: str = "zero", removal: str = "random",
               column: str = "final_f1", confidence: float = 0.95) -> list[str]:
    """Per fraction: `column` of `removal` with fill `a` minus with fill `b`, paired by seed
    (`pipeline_roar_seeds`'s table), and whether fill `a` scores "higher", "lower" or
    "cannot tell" (the interval holds zero, or one seed)."""
    if removal not in REMOVALS:
        raise ValueError(f"removal: expected one of {REMOVALS}, got {removal!r}")
    missing = [f for f in (a, b) if f not in set(table.fill)]
    if missing:
        raise ValueError(f"fills {missing} are not in the table (fills: {sorted(set(table.fill) - {'-'})})")
    lines = []
    sub = table[table.removal == removal]
    for f in sorted(set(sub[sub.fill == a].fraction) & set(sub[sub.fill == b].fraction)):
        iv = _paired(_by_seed(sub, column, fill=a, fraction=f), _by_seed(sub, column, fill=b, fraction=f), confidence)
        lines.append(f"{removal} removal, k={f:g}: final F1 with the {a} fill - with the {b} fill "
                     f"{format_interval(iv.mean, iv.low, iv.high)} over {iv.n} seed{'s' if iv.n != 1 else ''}, "
                     f"paired by seed ({100 * confidence:g}% interval): {side(iv)}")
    return lines


def verdict_summary(gaps: pd.DataFrame) -> list[str]:
    """One sentence per fill: at which fractions ranked removal hurts more than random removal,
    at which less, and at which the intervals cannot tell (`removal_gaps`' `gap_side`)."""
    out = []
    for fill in pd.unique(gaps.fill):
        sub = gaps[gaps.fill == fill]
        parts = []
        for word, text in ((HURTS_MORE, "hurts more than random removal"), (HURTS_LESS, "hurts less than random removal"),
                           (CANNOT_TELL, "cannot be told from random removal")):
            ks = [f"k={f:g}" for f in sub[sub.gap_side == word].fraction]
            if ks:
                parts.append(f"{text} at {', '.join(ks)}")
        n = int(sub.n.max()) if len(sub) else 0
        out.append(f"{fill} fill ({n} seed{'s' if n != 1 else ''}): ranked removal " + "; ".join(parts))
    return out
