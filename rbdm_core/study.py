"""The nuisance study: every Trainee variant against no mask at several nuisance levels.

    rbdm study --profile standard            (81 min measured on 2 CPU cores)

For each nuisance level (`rbdm_core.data.nuisance`; the `standard` profile's corpora with
`nuisance=level`), the Trainer is trained and its masks made as in chapters 2-5, then every Trainee
variant is trained with every seed of the profile: the seven variants with the paper's zero fill
and the six masked ones again with the leak-free fill (chapter 6). Runs go through
`rbdm_core.pipeline.Pipeline`, so every step is cached in the run folder and an interrupted study
resumes where it stopped.

Workers: `workers` processes (default 2), each with one TensorFlow thread and the portable CPU
kernels (`WORKER_KERNELS`); on 2 cores this trains 1.4x faster than one process with two threads.
The numbers depend on that setting (docs/determinism.md), so it is part of the study's record.

Output, written into `out` all at once (a folder that appears complete or not at all):
    curves.csv.gz   level, fill, variant, seed, step, epoch, split, value: validation macro-F1
                    (split "validation") and, for masked variants, on masked images
                    ("validation-masked"), every `eval_every` steps
    premise.csv     per level: the Trainer's validation F1, where its relevance falls (class regions,
                    the target's spurious patch), what each mask keeps of the patch, the masks' size
    meta.json       the profile's fields, levels, fills, workers, kernels, seconds, the command
The analysis (`rbdm_core.dose_response`) reads these files only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .kernel_settings import PORTABLE_KERNELS, temporary_environment
from .profiles import VARIANTS, Profile, get_profile

#: The nuisance levels of the study.
LEVELS: tuple[float, ...] = (0.0, 0.5, 1.0)
#: The leak-free fill the masked variants are trained with a second time (chapter 6).
LEAK_FREE_FILL = "noisy_linear"
#: Environment of each worker process: the portable kernels with one TensorFlow thread.
WORKER_KERNELS: dict[str, str] = {**PORTABLE_KERNELS, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
#: The study's results as committed with the package (written by `rbdm study --profile standard`).
COMMITTED = Path(__file__).parent / "results" / "study_standard"
#: The files of a study folder.
FILES = ("curves.csv.gz", "premise.csv", "meta.json")
MASK_TYPES = ("negative", "mean", "perceptive")


@dataclass(frozen=True)
class Job:
    """One Trainee run of the study."""

    level: float
    fill: str
    variant: str
    seed: int


def plan(profile: Profile, levels: Sequence[float] = LEVELS, leak_free_fill: str = LEAK_FREE_FILL) -> list[Job]:
    """Every run, level by level: the seven variants with the zero fill, then the masked ones with
    `leak_free_fill`, each with every seed of the profile."""
    jobs = []
    for level in levels:
        for fill, variants in (("zero", VARIANTS), (leak_free_fill, VARIANTS[1:])):
            jobs += [Job(float(level), fill, v, int(s)) for v in variants for s in profile.seeds]
    return jobs


def _check(profile: Profile, levels, workers: int, leak_free_fill: str) -> None:
    from .masking import FILLS

    if not profile.synthetic:
        raise ValueError(f"study: profile {profile.name!r} reads the real corpora; the study varies the "
                         "synthetic world's nuisance, so it needs a synthetic profile (e.g. standard)")
    if not levels:
        raise ValueError("study: levels: give at least one nuisance level in [0, 1]")
    for lv in levels:
        if isinstance(lv, bool) or not isinstance(lv, (int, float)) or not 0 <= float(lv) <= 1:
            raise ValueError(f"study: levels: expected numbers in [0, 1], got {lv!r}")
    if len(set(float(x) for x in levels)) != len(levels):
        raise ValueError(f"study: levels: each level once, got {list(levels)}")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"study: workers: expected a positive int, got {workers!r}")
    if leak_free_fill not in FILLS or leak_free_fill == "zero":
        raise ValueError(f"study: leak_free_fill: expected one of {sorted(set(FILLS) - {'zero'})}, got {leak_free_fill!r}")


def _pipeline(profile: Profile, level: float, run_dir: str):
    from .pipeline import Pipeline

    return Pipeline(profile.with_(nuisance=float(level)), run_dir=run_dir)


def patch_box(size: int, corner: int) -> np.ndarray:
    """(size, size) bool: every pixel the spurious patch can cover in `corner` (jitter included)."""
    from .data.nuisance import CORNERS, PATCH_HALF

    cx, cy = CORNERS[corner]
    lin = (np.arange(size) + 0.5) / size * 2 - 1
    reach = PATCH_HALF + 0.04
    return (np.abs(lin[:, None] - cy) <= reach) & (np.abs(lin[None, :] - cx) <= reach)


def _prepare(profile: Profile, level: float, run_dir: str) -> dict:
    """Trainer, relevance and masks of one level (cached in the run folder); the premise numbers."""
    from .data.synthetic import CUE_CORNER
    from .regions import relevance_in_regions

    pl = _pipeline(profile, level, run_dir)
    cands = pl.trainer_candidates()
    row = {"level": float(level), "trainer": pl.trainer_architecture,
           "trainer_f1": float(cands.set_index("architecture").loc[pl.trainer_architecture, "best_f1"])}
    tgt = pl.target
    va = tgt.select_split("PublicTest")
    maps = np.asarray(pl.relevance(va.images))
    maps = maps.reshape(maps.shape[:3]) if maps.ndim == 4 else maps
    inside = relevance_in_regions(maps, va.regions)
    row["relevance_in_regions"] = float(np.nanmean(inside.inside))
    row["regions_area"] = float(inside.area.mean())
    box = patch_box(tgt.images.shape[1], CUE_CORNER["ferplus_like"])
    pos = np.clip(maps, 0, None)
    tot = pos.reshape(len(pos), -1).sum(1)
    on_box = (pos * box).reshape(len(pos), -1).sum(1)
    row["relevance_on_patch"] = float(np.nanmean(np.where(tot > 0, on_box / np.where(tot > 0, tot, 1), np.nan)))
    row["patch_area"] = float(box.mean())
    for m in MASK_TYPES:
        masks = pl.masks(m, split="Training")
        pl.masks(m, split="PublicTest")
        row[f"{m}_kept"] = float(masks.mean())
        row[f"{m}_kept_on_patch"] = float(masks[:, box].mean())
    return row


def _train(profile: Profile, run_dir: str, job: Job) -> pd.DataFrame:
    """One run (cached): its validation F1 curves with the job's level and fill."""
    pl = _pipeline(profile, job.level, run_dir)
    res = pl.train_trainee(job.variant, job.seed, fill=job.fill)
    c = res.curves
    c = c[(c.metric == "f1") & c.split.isin(["validation", "validation-masked"])]
    c = c[["variant", "seed", "step", "epoch", "split", "value"]].copy()
    c.insert(0, "fill", job.fill)
    c.insert(0, "level", job.level)
    return c


def default_out(profile: Profile, run_dir: str | os.PathLike | None = None) -> Path:
    from .artifacts import default_run_dir

    return (Path(run_dir) if run_dir else default_run_dir()) / profile.name / "study"


def locate(run_dir: str | os.PathLike | None = None, profile: str = "standard") -> tuple[Path, str]:
    """The study folder to show: this run folder's (`<run_dir>/<profile>/study`) when it holds a
    complete study, else the committed one (`COMMITTED`). Returns (path, "run folder" or "committed")."""
    here = default_out(get_profile(profile), run_dir)
    if all((here / f).is_file() for f in FILES):
        return here, "run folder"
    return COMMITTED, "committed"


def run(profile: str | Profile = "standard", levels: Sequence[float] = LEVELS, run_dir: str | os.PathLike | None = None,
        out: str | os.PathLike | None = None, workers: int = 2, leak_free_fill: str = LEAK_FREE_FILL,
        progress: bool = True, command: str | None = None) -> Path:
    """Run (or resume) the study and write its folder `out` (default <run_dir>/<profile>/study).
    Returns `out`."""
    from .artifacts import default_run_dir

    prof = get_profile(profile) if isinstance(profile, str) else profile
    levels = [float(x) for x in levels]
    _check(prof, levels, workers, leak_free_fill)
    run_dir = str(Path(run_dir).resolve() if run_dir else default_run_dir())
    out = Path(out) if out else default_out(prof, run_dir)
    jobs = plan(prof, levels, leak_free_fill)
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        from .progress import disabled

        bar = tqdm(total=len(levels) + len(jobs), desc="study (levels prepared, then runs)", unit="job",
                   disable=disabled(), file=sys.stderr)
    with temporary_environment(WORKER_KERNELS), ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        premise = []
        for fut in as_completed([pool.submit(_prepare, prof, lv, run_dir) for lv in levels]):
            premise.append(fut.result())
            if bar is not None:
                bar.update(1)
        futures = {pool.submit(_train, prof, run_dir, j): i for i, j in enumerate(jobs)}
        parts: list[pd.DataFrame | None] = [None] * len(jobs)
        for fut in as_completed(futures):
            parts[futures[fut]] = fut.result()
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    curves = pd.concat(parts, ignore_index=True)
    premise_df = pd.DataFrame(premise).sort_values("level").reset_index(drop=True)
    meta = {"profile": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(prof).items()},
            "levels": levels, "fills": ["zero", leak_free_fill], "variants": list(VARIANTS),
            "workers": workers, "worker_kernels": WORKER_KERNELS, "runs": len(jobs), "seconds": round(seconds, 1),
            "cpu_count": os.cpu_count(),
            "command": command or f"rbdm study --profile {prof.name} --levels {' '.join(f'{x:g}' for x in levels)} "
                                  f"--workers {workers}"}
    write(out, curves, premise_df, meta)
    return out


def write(out: str | os.PathLike, curves: pd.DataFrame, premise: pd.DataFrame, meta: dict) -> None:
    """Write a study folder: into a sibling temporary folder, then renamed into place (a reader
    sees the old folder or the new one, never a half-written one)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        c = curves.copy()
        c["value"] = c["value"].round(5)
        c["epoch"] = c["epoch"].round(4)
        c.to_csv(tmp / "curves.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
        premise.round(6).to_csv(tmp / "premise.csv", index=False)
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


@dataclass
class StudyResults:
    """A study folder read back: curves (long table), premise (per level), meta (dict), where."""

    curves: pd.DataFrame
    premise: pd.DataFrame
    meta: dict
    path: Path


def load(path: str | os.PathLike) -> StudyResults:
    """Read a study folder written by `run` (a clear error names a missing or malformed file)."""
    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: not a study folder (missing {missing}; `rbdm study` writes {list(FILES)})")
    curves = pd.read_csv(path / "curves.csv.gz")
    need = {"level", "fill", "variant", "seed", "step", "epoch", "split", "value"}
    if need - set(curves.columns):
        raise ValueError(f"{path / 'curves.csv.gz'}: missing column(s) {sorted(need - set(curves.columns))}")
    premise = pd.read_csv(path / "premise.csv")
    try:
        meta = json.loads((path / "meta.json").read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path / 'meta.json'}: not valid JSON ({exc})") from None
    return StudyResults(curves, premise, meta, path)
