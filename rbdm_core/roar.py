"""ROAR (Hooker et al. 2019): retrain on images whose most relevant pixels are removed, against as
many removed at random, and evaluate on validation images masked the same way."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import pandas as pd

from rbdm_core import timing
from rbdm_core.artifacts import param_key
from rbdm_core.masking import REMOVALS, apply_mask, roar_masks
from rbdm_core.checks import _maps


def roar(architecture: str, train, val, relevance_train: Any, relevance_val: Any, recipe,
         fractions: Sequence[float] = (0.1, 0.3, 0.5), seed: int = 0, mask_seed: int = 0, store=None,
         key: Mapping[str, Any] | None = None, input_size=None, baseline: bool = True,
         fill: str = "zero") -> pd.DataFrame:
    """ROAR-style check (Hooker et al. 2019): for each fraction k and removal (relevance-ranked,
    random), train `architecture` from scratch on the training images with those pixels removed
    (`fill`: "zero" as ROAR, or another name in `masking.FILLS`, e.g. "noisy_linear" as ROAD) and
    evaluate on validation images masked the same way (`rbdm_core.training.train`, variant
    no-mask on the pre-masked images). With `baseline` a run on unmasked images (fraction 0).

    train, val: Datasets; relevance_train / relevance_val: their (N, H, W) maps; recipe: Recipe;
    store: an `artifacts.Store` (runs cached under `store.dir("roar", params)`; None = not cached);
    key: what identifies the relevance maps (Trainer, method), part of the cache key (with the
    untrained model's `models.fingerprint`, so changed architecture code never reuses a run).
    Returns columns removal, fraction, kept_fraction, best_f1, final_f1, steps, seed, fill.
    """
    from rbdm_core.models import fingerprint
    from rbdm_core.pipeline import dataset_key
    from rbdm_core.training import train as train_model

    fr = [float(f) for f in fractions]
    bad = [f for f in fr if not 0 < f < 1]
    if bad:
        raise ValueError(f"fractions: expected values in (0, 1), got {bad}")
    from rbdm_core.masking import fill_spec

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


@timing.timed("ROAR")
def pipeline_roar(pipe, fractions: Sequence[float] = (0.1, 0.3, 0.5), epochs: int = 2, seed: int = 0,
                  mask_seed: int = 0, method: str | None = None, fill: str = "zero") -> pd.DataFrame:
    """`roar` with the pipeline's Trainee architecture on its target corpus (Training vs
    PublicTest), relevance from the selected Trainer (`pipe.relevance`), `epochs` epochs of the
    profile's recipe; removed pixels filled with `fill`; cached in the pipeline's run directory."""
    method = method or pipe.profile.relevance_method
    tgt = pipe.target
    tr, va = tgt.select_split("Training"), tgt.select_split("PublicTest")
    rt = pipe.relevance(method=method, split="Training")
    rv = pipe.relevance(method=method, split="PublicTest")
    return roar(pipe.profile.trainee, tr, va, rt, rv, pipe.profile.recipe(int(epochs)), fractions, seed=seed,
                mask_seed=mask_seed, fill=fill, store=pipe.store, key={"trainer": pipe.trainer_key(), "method": method},
                input_size=pipe.profile.input_size)
