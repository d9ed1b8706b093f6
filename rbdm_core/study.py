"""The study "when does relevance-based masking help?": runner and study folder.

    rbdm study --profile standard        (the design: rbdm_core.study_design.DESIGNS)

1. Trainers (`prepare_trainer`): each Trainer of the design learns on its own clean AffectNet-like
   source corpus (no nuisance: never the Trainee's patch), once.
2. Per world and Trainer (`prepare_masks`): its deep Taylor relevance on the world's training pool
   and its masks (negative, mean, perceptive as in chapters 3-5), the matched random masks and the
   dial; and the premise row: the Trainer's F1 on the world's PrivateTest, where its relevance
   falls (ground-truth regions against their area: the lift; the Trainee's patch against its
   area), what each mask keeps of the patch.
3. Phase one (`study_design.plan`): every condition, variant and seed. Phase two
   (`study_design.phase_two`): in the condition where the oracle beats no mask by most on the
   validation split (PublicTest final F1: never the reported split), the dial and the second
   Trainer, with the oracle's best schedule and fill there.
Each Trainee run (`train_one`) trains `design.trainee` for the step budget, validates on
PublicTest every `eval_every` steps (model selection, learning curve) and is scored at the end on
PrivateTest, plain and cue-flipped, with the selected and the final weights
(`rbdm_core.evaluation`). Every step is cached in the run folder (`artifacts.Store`), so an
interrupted study resumes where it stopped.

Workers: `workers` processes (default 2) of one TensorFlow thread each, with the portable CPU
kernels (`WORKER_KERNELS`); the numbers depend on that setting (docs/determinism.md), so it is in
`meta.json`.

The study folder, written all at once (`write`):
    runs.csv        one row per run: world, train_per_class, trainer, fill, variant, seed, phase,
                    final_f1_test, best_f1_test, final_f1_flipped, best_f1_flipped, final_f1_val,
                    best_f1_val, best_step, auc, steps_to_target, reached, steps, kept, kept_on_patch,
                    oracle_precision
    effects.csv     one row per comparison with no mask (`dose_response.effects`)
    premise.csv     one row per (world, trainer)
    curves.csv.gz   world, train_per_class, trainer, fill, variant, seed, step, value (validation F1)
    meta.json       the design, the command, the measured seconds, the workers and their kernels
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import dose_response as dr
from .artifacts import Store, default_run_dir, param_key
from .curves import macro_f1
from .data.synthetic import make_domain
from .data.worlds import make_world, patch_box
from .evaluation import test_scores
from .gaze import kernel_for_image
from .kernel_settings import PORTABLE_KERNELS, temporary_environment
from .masking import make_masks
from .masking.controls import dial, matched_random, oracle_precision
from .pipeline import Pipeline
from .profiles import PROFILES
from .progress import disabled
from .regions import relevance_in_regions
from .saliency import relevance, to_image_size
from .study_design import Design, PAPER_MASKS, Run, THEN, base_name, dial_name, get_design, phase_two, plan
from .training import GIVEN, Recipe, Variant, train

#: Environment of each worker process: the portable kernels with one TensorFlow thread.
WORKER_KERNELS: dict[str, str] = {**PORTABLE_KERNELS, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
#: The study's results as committed with the package (written by `rbdm study --profile standard`).
COMMITTED = Path(__file__).parent / "results" / "study_standard"
#: The files of a study folder.
FILES = ("runs.csv", "effects.csv", "premise.csv", "curves.csv.gz", "meta.json")
RUN_KEYS = ["world", "train_per_class", "trainer", "fill", "variant", "seed"]
MEASURES = ("final_f1_test", "best_f1_test", "final_f1_flipped", "best_f1_flipped", "final_f1_val", "best_f1_val",
            "best_step", "steps", "kept", "kept_on_patch", "oracle_precision")

_WORLDS: dict = {}  # per process: the worlds already rendered
_MASKS: dict = {}  # per process: the mask sets already loaded
_TRAINERS: dict = {}  # per process: the Trainers already trained or loaded


def world(design: Design, name: str):
    """The design's world `name` (rendered once per process)."""
    key = (name, design.max_per_class, design.val_per_class, design.test_per_class, design.world_seed)
    if key not in _WORLDS:
        _WORLDS[key] = make_world(name, design.max_per_class, design.val_per_class, design.test_per_class,
                                  design.world_seed)
    return _WORLDS[key]


def store(run_dir: str | os.PathLike, design: Design) -> Store:
    return Store(Path(run_dir) / f"study-{design.name}")


# --------------------------------------------------------------------------- Trainers and masks
def prepare_trainer(design: Design, run_dir: str, name: str):
    """The Trainer `name` of the design trained on its clean source (cached). A TrainResult."""
    spec = design.trainers[name]
    key = (str(run_dir), design.name, name, spec)
    if key in _TRAINERS:
        return _TRAINERS[key]
    src = make_domain("affectnet_like", n=spec.source_n, seed=0, size=48, nuisance=0.0)
    tr, va = src.select_split(*src.training_splits), src.select_split(*src.held_out_splits)
    recipe = Recipe(epochs=spec.epochs, eval_every=50, augment=False, class_weighted=False)
    out = store(run_dir, design).dir("trainer", {"spec": asdict(spec), "recipe": recipe.to_dict()})
    _TRAINERS[key] = train(spec.architecture, tr, va, recipe, "no-mask", seed=0, out_dir=out, verbose=0)
    return _TRAINERS[key]


def _relevance(bundle, images: np.ndarray) -> np.ndarray:
    rel = relevance(bundle, images, method="deep_taylor")
    return to_image_size(rel.maps, images.shape[1:3]).astype(np.float32)


def _paper_masks(maps: np.ndarray) -> dict[str, np.ndarray]:
    """The paper's three masks of relevance maps (N, 48, 48); a constant map keeps every pixel
    (it ranks nothing), as `Pipeline.masks` does."""
    k = kernel_for_image(maps.shape[1])
    params = {"negative": {"fraction": PROFILES["standard"].negative_fraction}, "mean": {},
              "perceptive": {"n": perceptive_n(), "sigma": float(k.sigma), "cutoff": float(k.cutoff)}}
    flat = maps.reshape(len(maps), -1)
    const = flat.max(1) == flat.min(1)
    safe = maps.copy()
    safe[const] = np.arange(flat.shape[1], dtype=maps.dtype).reshape(maps.shape[1:])
    out = {}
    for m in PAPER_MASKS:
        masks = make_masks(safe, m, **params[m])
        masks[const] = True
        out[m] = masks
    return out


@functools.lru_cache(maxsize=1)
def perceptive_n() -> int:
    """The perceptive mask's n: the mean number of fixations per image of the simulated gaze study
    (the standard profile's, as chapter 5 computes it)."""
    return Pipeline(PROFILES["standard"], run_dir=os.devnull).perceptive_n()


def prepare_masks(design: Design, run_dir: str, world_name: str, trainer: str) -> dict[str, np.ndarray]:
    """Masks of the world's training pool from the Trainer's relevance (cached): the paper's three,
    `random-<mask>` for each, and the dial at every q; plus the Trainer's relevance on PrivateTest
    and its predictions there (for the premise)."""
    res = prepare_trainer(design, run_dir, trainer)
    w = world(design, world_name)
    params = {"trainer": res.weights_sha256, "world": world_name, "pool": param_key({"x": w.pool.images}),
              "test": param_key({"x": w.test.images}), "dial": list(design.dial), "n": perceptive_n()}

    def compute():
        # one analysis (one relevance worker process, not two) for the pool and PrivateTest; the
        # maps are computed image by image: the same bits as two calls (measured on the quick
        # design's weak Trainer with pools of 160 and of 40 images, the latter off a batch boundary)
        both = _relevance(res.bundle, np.concatenate([w.pool.images, w.test.images]))
        pool_maps, test_maps = both[:len(w.pool.images)], both[len(w.pool.images):]
        masks = _paper_masks(pool_maps)
        out = {f"mask:{m}": v for m, v in masks.items()}
        for i, m in enumerate(PAPER_MASKS):
            out[f"mask:random-{m}"] = matched_random(masks[m], seed=101 + i)
        kept = w.oracle_pool.reshape(len(w.oracle_pool), -1).sum(1)
        for q in design.dial:
            out[f"mask:{dial_name(q)}"] = dial(pool_maps, w.oracle_pool, kept, q)
        out["test_maps"] = test_maps
        out["test_pred"] = res.bundle.predict(w.test.images, batch_size=256)
        return out

    key = (str(run_dir), param_key(params))
    if key not in _MASKS:
        while len(_MASKS) >= 4:
            _MASKS.pop(next(iter(_MASKS)))
        _MASKS[key] = store(run_dir, design).cached_arrays("masks", params, compute)
    return _MASKS[key]


def premise_row(design: Design, run_dir: str, world_name: str, trainer: str) -> dict:
    """The Trainer's quality in one world: F1 on PrivateTest; the share of its positive relevance in
    the ground-truth regions and on the patch box, each with that area's share of the image (lift =
    share / area); what each mask keeps of the image and of the patch box (training pool)."""
    arrays = prepare_masks(design, run_dir, world_name, trainer)
    w = world(design, world_name)
    maps = arrays["test_maps"]
    inside = relevance_in_regions(maps, w.test.regions)
    box = patch_box()
    pos = np.clip(maps, 0, None).reshape(len(maps), -1)
    tot = pos.sum(1)
    on_box = pos[:, box.ravel()].sum(1)
    row = {"world": world_name, "trainer": trainer,
           "trainer_f1_test": macro_f1(w.test.labels, arrays["test_pred"], 8),
           "relevance_in_regions": float(np.nanmean(inside.inside)), "regions_area": float(inside.area.mean()),
           "relevance_on_patch": float(np.nanmean(np.where(tot > 0, on_box / np.where(tot > 0, tot, 1), np.nan))),
           "patch_area": float(box.mean())}
    row["lift"] = row["relevance_in_regions"] / row["regions_area"]
    row["patch_lift"] = row["relevance_on_patch"] / row["patch_area"]
    for m in PAPER_MASKS:
        masks = arrays[f"mask:{m}"]
        row[f"{m}_kept"] = float(masks.mean())
        row[f"{m}_kept_on_patch"] = float(masks[:, box].mean())
    row["oracle_kept"] = float(w.oracle_pool.mean())
    return row


# --------------------------------------------------------------------------- one Trainee run
def run_masks(design: Design, run_dir: str, run: Run) -> np.ndarray | None:
    """(N, 48, 48) bool training masks of a run (None for no mask), for its training images."""
    w = world(design, run.world)
    idx = w.training_index(run.train_per_class)
    base = base_name(run.variant)
    if base == "no-mask":
        return None
    if base == "oracle":
        return w.oracle_pool[idx]
    return prepare_masks(design, run_dir, run.world, run.trainer)[f"mask:{base}"][idx]


def train_one(design: Design, run_dir: str, run: Run) -> dict:
    """One Trainee run (cached): its measures (`MEASURES`) and validation curve."""
    w = world(design, run.world)
    masks = run_masks(design, run_dir, run)
    params = {"run": asdict(run), "design": {k: getattr(design, k) for k in
                                              ("trainee", "steps", "batch", "eval_every", "switch_fraction",
                                               "max_per_class", "val_per_class", "test_per_class", "world_seed")},
              "masks": None if masks is None else param_key({"m": masks})}

    def compute():
        train_ds, _ = w.training(run.train_per_class)
        recipe = Recipe(epochs=design.epochs(run.train_per_class), batch_size=design.batch,
                        eval_every=design.eval_every, augment=False, class_weighted=False, eval_at_epoch_end=False)
        if masks is None:
            variant = Variant("no-mask")
        else:
            variant = Variant(run.variant, mask_type=GIVEN, fill=run.fill,
                              switch_epoch=design.switch_epoch(run.train_per_class) if run.variant.endswith(THEN) else None)
        res = train(design.trainee, train_ds, w.val, recipe, variant, masks=masks, seed=run.seed, verbose=0)
        scores = test_scores(res, {"test": w.test, "flipped": w.flipped})
        val = res.curves[(res.curves.split == "validation") & (res.curves.metric == "f1")]
        box = patch_box()
        out = {**scores, "final_f1_val": res.final_f1, "best_f1_val": res.best_f1, "best_step": res.best_step,
               "steps": res.steps,
               "kept": 1.0 if masks is None else float(masks.mean()),
               "kept_on_patch": 1.0 if masks is None else float(masks[:, box].mean()),
               "oracle_precision": float(np.nanmean(oracle_precision(masks, w.oracle_pool[w.training_index(run.train_per_class)])))
               if masks is not None else float(w.oracle_pool.mean())}
        return {"measures": np.array([out[m] for m in MEASURES], np.float64),
                "curve_step": val.step.to_numpy(np.int64), "curve_f1": val.value.to_numpy(np.float64)}

    arr = store(run_dir, design).cached_arrays("trainee", params, compute)
    return {"run": run, **dict(zip(MEASURES, arr["measures"].tolist())),
            "curve_step": arr["curve_step"], "curve_f1": arr["curve_f1"]}


# --------------------------------------------------------------------------- the whole study
def choose_phase_two(runs: pd.DataFrame) -> tuple[str, int, str, str]:
    """(world, train_per_class, schedule, fill) where an oracle variant beats no mask by most in
    mean final *validation* F1 (PublicTest; the reported split, PrivateTest, plays no part)."""
    ref = runs[runs.variant == "no-mask"].groupby(["world", "train_per_class"]).final_f1_val.mean()
    orc = runs[runs.variant.map(base_name) == "oracle"].groupby(["world", "train_per_class", "fill", "variant"]).final_f1_val.mean()
    gain = orc - ref.reindex(orc.index.droplevel([2, 3])).to_numpy()
    (w, k, fill, variant) = gain.idxmax()
    return str(w), int(k), THEN if variant.endswith(THEN) else "", str(fill)


def _pool(workers: int):
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"))


def _map(pool, fn, items, bar=None) -> list:
    futures = {pool.submit(fn, *it): i for i, it in enumerate(items)}
    out = [None] * len(items)
    for fut in as_completed(futures):
        out[futures[fut]] = fut.result()
        if bar is not None:
            bar.update(1)
    return out


def _check(design: Design, workers: int) -> None:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"study: workers: expected a positive int, got {workers!r}")


def default_out(design: Design | str, run_dir: str | os.PathLike | None = None) -> Path:
    name = design if isinstance(design, str) else design.name
    return (Path(run_dir) if run_dir else default_run_dir()) / f"study-{name}" / "study"


def locate(run_dir: str | os.PathLike | None = None, profile: str = "standard") -> tuple[Path, str]:
    """The study folder to show: this run folder's when it holds a complete study, else the
    committed one. Returns (path, "run folder" or "committed")."""
    here = default_out(profile, run_dir)
    if all((here / f).is_file() for f in FILES):
        return here, "run folder"
    return COMMITTED, "committed"


def _rows(results: Sequence[dict], phase: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, curves = [], []
    for r in results:
        key = asdict(r["run"])
        rows.append({**key, "phase": phase, **{m: r[m] for m in MEASURES}})
        curves.append(pd.DataFrame({**key, "step": r["curve_step"], "value": r["curve_f1"]}))
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def run(profile: str | Design = "standard", run_dir: str | os.PathLike | None = None,
        out: str | os.PathLike | None = None, workers: int = 2, progress: bool = True,
        command: str | None = None) -> Path:
    """Run (or resume) the study of design `profile` and write its folder `out` (default
    <run_dir>/study-<name>/study). Returns `out`."""
    design = get_design(profile) if isinstance(profile, str) else profile
    _check(design, workers)
    run_dir = str(Path(run_dir).resolve() if run_dir else default_run_dir())
    out = Path(out) if out else default_out(design, run_dir)
    worlds = sorted({w for w, _ in design.conditions})
    jobs = plan(design)
    t0 = time.perf_counter()
    bar = None
    if progress:
        bar = tqdm(total=len(design.trainers) + len(worlds) * len(design.trainers) + len(jobs),
                   desc="study (Trainers, masks, then runs)", unit="job", disable=disabled(), file=sys.stderr)
    with temporary_environment(WORKER_KERNELS), _pool(workers) as pool:
        _map(pool, _trainer_job, [(design, run_dir, t) for t in design.trainers], bar)
        premise = _map(pool, premise_row, [(design, run_dir, w, t) for w in worlds for t in design.trainers], bar)
        results = _map(pool, train_one, [(design, run_dir, j) for j in jobs], bar)
        runs1, curves1 = _rows(results, 1)
        where = choose_phase_two(runs1)
        jobs2 = phase_two(design, *where)
        if bar is not None:
            bar.total += len(jobs2)
            bar.refresh()
        runs2, curves2 = _rows(_map(pool, train_one, [(design, run_dir, j) for j in jobs2], bar), 2)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    runs = dr.add_speed(pd.concat([runs1, runs2], ignore_index=True), pd.concat([curves1, curves2], ignore_index=True),
                        design)
    curves = pd.concat([curves1, curves2], ignore_index=True)
    effects = dr.effects(runs, design.confidence)
    meta = {"design": design.to_dict(), "phase_two": {"world": where[0], "train_per_class": where[1],
                                                      "schedule": where[2] or "throughout", "fill": where[3]},
            "workers": workers, "worker_kernels": WORKER_KERNELS, "runs": int(len(runs)), "seconds": round(seconds, 1),
            "cpu_count": os.cpu_count(), "perceptive_n": perceptive_n(),
            "command": command or f"rbdm study --profile {design.name} --workers {workers}"}
    write(out, runs, effects, pd.DataFrame(premise), curves, meta)
    return out


def _trainer_job(design: Design, run_dir: str, name: str) -> float:
    return prepare_trainer(design, run_dir, name).best_f1


def write(out: str | os.PathLike, runs: pd.DataFrame, effects: pd.DataFrame, premise: pd.DataFrame,
          curves: pd.DataFrame, meta: dict) -> None:
    """Write a study folder: into a sibling temporary folder, then renamed into place (a reader
    sees the old folder or the new one, never a half-written one)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        runs.round(6).to_csv(tmp / "runs.csv", index=False)
        effects.round(6).to_csv(tmp / "effects.csv", index=False)
        premise.round(6).to_csv(tmp / "premise.csv", index=False)
        c = curves.copy()
        c["value"] = c["value"].round(5)
        c.to_csv(tmp / "curves.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


class StudyResults:
    """A study folder read back: runs, effects, premise, curves (DataFrames), meta (dict), path."""

    def __init__(self, runs, effects, premise, curves, meta, path):
        self.runs, self.effects, self.premise, self.curves, self.meta, self.path = runs, effects, premise, curves, meta, path


def load(path: str | os.PathLike) -> StudyResults:
    """Read a study folder written by `run` (a clear error names a missing or malformed file)."""
    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: not a study folder (missing {missing}; `rbdm study` writes {list(FILES)})")
    frames = {}
    need = {"runs.csv": set(RUN_KEYS) | {"final_f1_test", "best_f1_test", "auc", "steps_to_target", "final_f1_flipped"},
            "effects.csv": {"world", "train_per_class", "trainer", "fill", "variant", "metric", "seeds", "diff", "low",
                            "high", "verdict"},
            "premise.csv": {"world", "trainer", "trainer_f1_test", "lift", "relevance_on_patch"},
            "curves.csv.gz": set(RUN_KEYS) | {"step", "value"}}
    for f, cols in need.items():
        df = pd.read_csv(path / f)
        if cols - set(df.columns):
            raise ValueError(f"{path / f}: missing column(s) {sorted(cols - set(df.columns))}")
        frames[f] = df
    try:
        meta = json.loads((path / "meta.json").read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path / 'meta.json'}: not valid JSON ({exc})") from None
    return StudyResults(frames["runs.csv"], frames["effects.csv"], frames["premise.csv"], frames["curves.csv.gz"], meta,
                        path)
