"""The paper's pipeline as cached steps, shared by the book's chapters.

    dataset -> Trainer -> relevance maps -> masks -> Trainee variants -> curves

A `Profile` holds every size and count of a run (`quick`: embedded synthetic data, small models,
minutes on a laptop CPU; `paper`: the real corpora and the paper's architectures, for a GPU).
`Pipeline(profile, run_dir)` computes each step at most once: results are stored in
`<run_dir>/<profile>/<kind>/<key>/` (`rbdm_core.artifacts.Store`), keyed by the parameters that
made them, so chapter 5 reuses the relevance maps of chapter 3 and a changed parameter never
reuses a stale artifact.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import cached_property
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import timing
from .artifacts import Store, default_run_dir, param_key
from .data.annotators import AIMS, simulate_gaze
from .data.dataset import Dataset
from .data.folder import as_target_splits
from .data.sources import DATA_SOURCES, data_source, load_source
from .gaze import kernel_for_geometry, kernel_for_image
from .gaze.recordings import read_gaze_recording
from .masking import build_masks, combine_masks, combine_relevance, human_masks
from .masking import mask_type as spec_of
from .models import fingerprint
from .profiles import PROFILES, VARIANTS, Profile, get_profile  # noqa: F401  (re-exported)
from .saliency import class_relevance, relevance, to_image_size
from .training import FIXATIONS, preset, train, variant_key

def dataset_key(ds: Dataset) -> str:
    """Content key of a Dataset (images, labels, splits): what artifacts made from it are keyed by."""
    return param_key({"images": ds.images, "labels": ds.labels, "split": np.asarray(ds.split, dtype=str)})


class Pipeline:
    """Cached steps of one profile in one run directory.

    roots (paper profile only): `ferplus` = folder with fer2013.csv and fer2013new.csv,
    `affectnet` = AffectNet root, `ckplus` = CK+ root; read, never written. Any profile:
    `gaze` = a gaze recording on the gaze images (`gaze_study`). A root not given is
    taken from `$RBDM_FERPLUS_ROOT`, `$RBDM_AFFECTNET_ROOT`, `$RBDM_CKPLUS_ROOT` (the Docker image
    sets them to /data/ferplus, /data/affectnet, /data/ckplus). `folder` = an image folder
    (`rbdm_core.data.folder`, from a profile file's roots or `roots` here) that replaces the
    Trainee's corpus, under any profile (`target`); FERPlus is then not needed.
    """

    def __init__(self, profile: Profile | str = "quick", run_dir: str | os.PathLike | None = None,
                 roots: dict[str, str | None] | None = None, seed: int = 0, verbose: int = 0):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.run_dir = Path(run_dir).resolve() if run_dir else default_run_dir()
        self.store = Store(self.run_dir / self.profile.name)
        roots = {k: v for k, v in (roots or {}).items() if v}  # given here, then the profile file's, then $RBDM_*_ROOT
        for k, v in (self.profile.roots or {}).items():
            roots.setdefault(k, v)
        for src in DATA_SOURCES.values():
            if src.env and src.name not in roots and os.environ.get(src.env):
                roots[src.name] = os.environ[src.env]
        self.roots = roots
        if roots.get("gaze") and not Path(roots["gaze"]).exists():
            raise FileNotFoundError(f"roots: gaze: {roots['gaze']} does not exist; expected a gaze recording (a fixation "
                                    "table, raw samples or a folder of EyeLink ASC files, with its geometry sidecar; "
                                    "see rbdm_core.gaze.recordings)")
        self.seed = int(seed)
        self.verbose = verbose
        if not self.profile.synthetic:
            needed = ("affectnet", "ckplus") + (() if "folder" in self.roots else ("ferplus",))
            missing = [k for k in needed if k not in self.roots]
            if missing:
                raise ValueError(f"profile {self.profile.name!r} reads the real corpora: give roots for {missing} "
                                 "(folders with the files their owners distribute)")

    # ------------------------------------------------------------------ data
    def _corpus(self, name: str, options: dict[str, Any], synthetic: dict[str, Any]) -> Dataset:
        """Data source `name` read from its root with `options`, or, under a synthetic profile,
        its synthetic stand-in (`DataSource.synthetic_domain`) made with `synthetic`."""
        if self.profile.synthetic:
            return load_source("synthetic", data_source(name).synthetic_domain, **synthetic)
        return load_source(name, self.roots[name], **options)

    @cached_property
    @timing.timed("data")
    def source(self) -> Dataset:
        """The Trainer's corpus: AffectNet(-like), splits training / validation."""
        p = self.profile
        return self._corpus("affectnet", {"size": p.source_size},
                            {"n": p.source_n, "seed": self.seed, "size": p.source_size, "nuisance": p.nuisance,
                             "min_per_class": p.min_per_class})

    @cached_property
    @timing.timed("data")
    def target(self) -> Dataset:
        """The Trainee's corpus: FERPlus(-like), 48x48 gray, Training / PublicTest / PrivateTest; or
        the image folder of root `folder` (48x48 gray, its splits mapped by
        `data.folder.as_target_splits`)."""
        p = self.profile
        if "folder" in self.roots:
            return as_target_splits(load_source("folder", self.roots["folder"], size=48, channels=1, progress=False))
        return self._corpus("ferplus", {"rule": "paper"},
                            {"n": p.target_n, "seed": self.seed + 1, "nuisance": p.nuisance,
                             "min_per_class": p.min_per_class})

    @cached_property
    @timing.timed("data")
    def gaze_images(self) -> Dataset:
        """The gaze study's images: CK+(-like) first and last frames."""
        return self._corpus("ckplus", {"size": 48}, {"n": self.profile.gaze_n, "seed": self.seed + 2, "size": 48})

    @cached_property
    @timing.timed("gaze study")
    def gaze_study(self):
        """The gaze study on `gaze_images`: the recording named by `roots["gaze"]` (a fixation table
        or raw samples, `gaze.recordings.read_gaze_recording`; a `GazeRecording`), else simulated
        annotators' fixations (`data.annotators.simulate_gaze`, a `GazeStudy`; the paper's
        recordings are not public). Either has `.recorded`."""
        if self.roots.get("gaze"):
            images_key = dataset_key(self.gaze_images)

            def cache(key, compute):  # raw samples: the detected fixations, by the files' content hash
                return self.store.cached_arrays("gaze_fixations", {**key, "images": images_key}, compute)

            return read_gaze_recording(self.roots["gaze"], self.gaze_images, fixation_cache=cache)
        return simulate_gaze(self.gaze_images, n_annotators=self.profile.annotators, seed=self.seed + 3)

    def mean_fixations(self) -> float:
        """Mean number of fixations per image and annotator in the gaze study (the paper's n;
        recorded or simulated, see `gaze_study`), over the (annotator, image) pairs with fixations."""
        fx = self.gaze_study.fixations
        return float(fx.groupby(["annotator", "image_index"]).size().mean())

    def perceptive_n(self) -> int:
        p = self.profile
        return int(p.perceptive_n) if p.perceptive_n else max(1, int(round(self.mean_fixations())))

    # ------------------------------------------------------------------ training
    def _recipe(self, epochs: int):
        return self.profile.recipe(epochs)

    def _model_key(self, architecture: str, data: Dataset, seed: int | None = None) -> str:
        """Fingerprint of the untrained model (code + initial weights): keys every trained artifact."""
        return fingerprint(architecture, len(data.class_names), data.shape, self.profile.input_size,
                           self.seed if seed is None else seed)

    @timing.timed("Trainer")
    def train_trainer(self, architecture: str):
        """One Trainer candidate trained on the source corpus (cached). Returns a TrainResult."""
        src = self.source
        tr, va = src.select_split(*src.training_splits), src.select_split(*src.held_out_splits)
        recipe = self._recipe(self.profile.trainer_epochs)
        params = {"role": "trainer", "architecture": architecture, "data": dataset_key(src),
                  "recipe": recipe.to_dict(), "seed": self.seed,
                  "model": self._model_key(architecture, src)}
        out = self.store.dir("trainer", params)
        return train(architecture, tr, va, recipe, "no-mask", seed=self.seed, out_dir=out, verbose=self.verbose,
                     input_size=self.profile.input_size)

    def trainer_candidates(self) -> pd.DataFrame:
        """Every candidate's best validation F1 (and when it was reached), best first."""
        rows = []
        for arch in self.profile.trainer_candidates:
            r = self.train_trainer(arch)
            rows.append({"architecture": arch, "best_f1": r.best_f1, "best_step": r.best_step,
                         "final_f1": r.final_f1, "steps": r.steps})
        return pd.DataFrame(rows).sort_values("best_f1", ascending=False, kind="stable").reset_index(drop=True)

    @cached_property
    def trainer_architecture(self) -> str:
        """The selected Trainer: the candidate with the best validation macro-F1."""
        return str(self.trainer_candidates().architecture.iloc[0])

    @cached_property
    def trainer(self):
        """TrainResult of the selected Trainer (its `bundle` is the model)."""
        return self.train_trainer(self.trainer_architecture)

    def trainer_key(self, architecture: str | None = None) -> str:
        """Identity of a trained Trainer (default: the selected one): its name and weights hash."""
        r = self.trainer if architecture is None else self.train_trainer(architecture)
        return r.bundle.name + ":" + r.weights_sha256[:16]

    # ------------------------------------------------------------------ relevance and masks
    #: what `relevance` explains: the Trainer's predicted class, or every class at once
    RELEVANCE_TARGETS = ("predicted", "all_classes")

    @timing.timed("relevance maps")
    def relevance(self, images: np.ndarray | None = None, method: str | None = None,
                  split: str = "Training", architecture: str | None = None, target: str = "predicted") -> np.ndarray:
        """Relevance maps of a Trainer's predicted class, resampled to the images' size
        (sum-conserving). Default images: the target corpus's `split`; default Trainer: the selected
        one (`architecture` names another candidate). (N, H, W) float32, cached.

        target="all_classes": a map that does not depend on the class the Trainer predicts: the
        mean over all K classes of each class's map (`saliency.class_relevance`), each divided
        by the sum of its absolute values first (`masking.combine_relevance`; a class with a
        negative logit has a zero deep-Taylor map and adds nothing; `explained_classes` counts
        the others)."""
        return self._relevance_arrays(images, method, split, architecture, target)["maps"]

    def explained_classes(self, images: np.ndarray | None = None, method: str | None = None,
                          split: str = "Training", architecture: str | None = None) -> np.ndarray:
        """(N,) int: how many of the K class maps averaged by `relevance(target="all_classes")` are
        not constant (deep Taylor: the classes with a positive logit) for each image."""
        return self._relevance_arrays(images, method, split, architecture, "all_classes")["explained"]

    def _relevance_arrays(self, images, method, split, architecture, target) -> dict[str, np.ndarray]:
        method = method or self.profile.relevance_method
        if architecture is not None and architecture not in self.profile.trainer_candidates:
            raise ValueError(f"architecture: {architecture!r} is not a Trainer candidate of profile "
                             f"{self.profile.name!r}; expected one of {list(self.profile.trainer_candidates)}")
        if target not in self.RELEVANCE_TARGETS:
            raise ValueError(f"target: expected one of {self.RELEVANCE_TARGETS}, got {target!r}")
        bundle = (self.trainer if architecture is None else self.train_trainer(architecture)).bundle
        if images is None:
            images = self.target.select_split(split).images
        params = {"trainer": self.trainer_key(architecture), "method": method, "images": param_key({"x": images})}
        if target != "predicted":
            params["target"] = target

        def compute():
            rel = relevance(bundle, images, method=method)
            maps = to_image_size(rel.maps, images.shape[1:3])
            return {"maps": maps.astype(np.float32), "targets": rel.targets, "logits": rel.logits,
                    "sums": rel.sums}

        def compute_all():
            per_class = [to_image_size(m, images.shape[1:3]) for m in class_relevance(bundle, images, method=method)]
            flat = np.stack(per_class).reshape(len(per_class), len(images), -1)
            explained = (flat.max(axis=2) > flat.min(axis=2)).sum(axis=0)
            return {"maps": combine_relevance(per_class).astype(np.float32), "explained": explained.astype(np.int64)}

        return self.store.cached_arrays("relevance", params, compute if target == "predicted" else compute_all)

    def gaze_kernel(self, image_px: int = 48):
        """The gaze heatmap kernel (`gaze.GazeKernel`, image pixels) for `image_px`-pixel images:
        from the recording's sidecar (`roots["gaze"]`: its visual angle, distance, screen and the
        size the image was shown at) when there is one, else the paper's set-up (the simulated
        annotators' geometry)."""
        if self.roots.get("gaze"):
            return kernel_for_geometry(self.gaze_study.geometry, image_px)
        return kernel_for_image(image_px)

    def mask_params(self, mask_type: str, image_px: int = 48, **values: Any) -> dict[str, Any]:
        """The parameters of one mask type (a name in `masking.MASKS`) as this profile sets them:
        fraction = the negative fraction, n = the perceptive n, sigma and cutoff = the gaze kernel
        for `image_px` pixels. `values` replace the profile's; the type takes only the names it
        declares, so one call may offer values for several types (the others are ignored)."""
        spec = spec_of(mask_type)
        profile_values = {"fraction": lambda: self.profile.negative_fraction, "n": self.perceptive_n,
                          "sigma": lambda: float(self.gaze_kernel(image_px).sigma),
                          "cutoff": lambda: float(self.gaze_kernel(image_px).cutoff)}
        out = {}
        for name in spec.params:
            if name in values:
                out[name] = values[name]
            elif name in profile_values and spec.paper:
                out[name] = profile_values[name]()
        return out

    @timing.timed("masks")
    def masks(self, mask_type: str, split: str = "Training", method: str | None = None,
              images: np.ndarray | None = None, **overrides: Any) -> np.ndarray:
        """(N, H, W) bool masks (True = kept) made from the Trainer's relevance maps (cached).

        images: (N, H, W, C) uint8 to mask (default: the target corpus's `split`); overrides:
        mask parameters replacing the profile's (e.g. fraction=0.2, n=12).

        An image whose relevance map is constant (deep Taylor of a negative logit gives all zeros)
        carries no ranking: every mask type keeps all of its pixels (the mean mask would be
        undefined, the negative and perceptive masks would pick pixels by position); such
        images are counted in a warning."""
        method = method or self.profile.relevance_method
        if images is None:
            images = self.target.select_split(split).images
        maps = self.relevance(images, method)
        flat = maps.reshape(len(maps), -1)
        const = flat.max(axis=1) == flat.min(axis=1) if len(maps) else np.zeros(0, bool)
        if const.any():
            # stand-in maps for the constant ones (their masks are replaced below): a ramp
            maps = maps.copy()
            maps[const] = np.arange(flat.shape[1], dtype=maps.dtype).reshape(maps.shape[1:])
            warnings.warn(f"masks: {int(const.sum())} of {len(maps)} relevance maps are constant (images "
                          f"{np.flatnonzero(const)[:5].tolist()}{'...' if const.sum() > 5 else ''}); their "
                          f"{mask_type} masks keep every pixel", RuntimeWarning, stacklevel=2)
        params = {**self.mask_params(mask_type, images.shape[1]), **overrides}
        key = {"trainer": self.trainer_key(), "method": method, "images": param_key({"x": images})}
        if const.any():
            key["constant_maps"] = "keep all"
        out = build_masks(self.store, key, maps, mask_type, progress=False, **params)
        if const.any():
            out = out.copy()
            out[const] = True
        return out

    @timing.timed("masks")
    def fixation_masks(self, split: str = "Training", aim: str = "class") -> np.ndarray:
        """(N, H, W) bool masks of the target corpus's `split` from human fixations (cached): the
        pixels that at least one annotator perceives (`masking.human_masks` with the gaze kernel
        for the images' size, united over the annotators). The fixations are simulated
        (`data.annotators.simulate_gaze`, the profile's number of annotators): no gaze was ever
        recorded on FERPlus, so the real-data profile has none to use. A gaze recording
        (`roots["gaze"]`) is on the gaze images, not on this corpus: it does not apply here, and
        these masks stay simulated with or without one.

        aim: `simulate_gaze`'s: "class" (default) sends the annotators to each image's own class
        regions, so the masks carry the label; "all" to every class's regions pooled over the
        split, the same for every image, so they do not (the Trainee's validation masks,
        `FIXATION_VALIDATION_AIM`)."""
        if not self.profile.synthetic or not self.target.is_synthetic:
            raise ValueError(f"fixation_masks: profile {self.profile.name!r} reads a real Trainee corpus, and no gaze "
                             "was recorded on it (FERPlus, or the image folder); fixation masks exist for the "
                             "synthetic corpora, where annotators are simulated")
        if aim not in AIMS:
            raise ValueError(f"fixation_masks: aim: expected one of {AIMS}, got {aim!r}")
        ds = self.target.select_split(split)
        seed = self.seed + 4 + 100 * sorted(self.target.splits).index(split)  # one simulated study per split
        params = {"images": dataset_key(ds), "annotators": self.profile.annotators, "seed": seed}
        if aim != "class":
            params["aim"] = aim

        def compute():
            study = simulate_gaze(ds, n_annotators=self.profile.annotators, seed=seed, aim=aim)
            k = kernel_for_geometry(study.geometry, ds.images.shape[1])  # simulated: the paper's set-up
            human = human_masks(study.fixations, len(ds), ds.images.shape[1:3], k.sigma, k.cutoff,
                                geometry=study.geometry)
            return {"masks": combine_masks(list(human.masks), "union")}

        return self.store.cached_arrays("fixation_masks", params, compute)["masks"]

    # ------------------------------------------------------------------ the Trainee
    #: the target corpus split every Trainee is validated on (plain and masked)
    TRAINEE_VALIDATION_SPLIT = "PublicTest"
    #: where the simulated annotators look on the validation images of the fixation variants: at
    #: every class's regions ("all"), so that "F1 on masked images" is not read off masks aimed by
    #: the label; their training masks stay aimed at the image's class ("class"), as annotators
    #: who see the expression they label would look
    FIXATION_VALIDATION_AIM = "all"

    def trainee_validation(self):
        """The Dataset every Trainee is validated on (`TRAINEE_VALIDATION_SPLIT` of the target corpus):
        its labels are what the curves' validation F1 is computed against."""
        return self.target.select_split(self.TRAINEE_VALIDATION_SPLIT)

    def _trainee_job(self, variant: str, seed: int, fill: str | None) -> dict[str, Any]:
        """The arguments of `training.train` for one Trainee run (its run folder among them)."""
        tgt = self.target
        tr, va = tgt.select_split("Training"), self.trainee_validation()
        v = preset(variant, switch_epoch=self.profile.switch_epoch, fill=fill or self.profile.fill)
        if v.mask_type == FIXATIONS:
            masks = self.fixation_masks("Training")
            val_masks = self.fixation_masks(self.TRAINEE_VALIDATION_SPLIT, aim=self.FIXATION_VALIDATION_AIM)
        elif v.mask_type:
            masks = self.masks(v.mask_type, split="Training")
            val_masks = self.masks(v.mask_type, split=self.TRAINEE_VALIDATION_SPLIT)
        else:
            masks = val_masks = None
        recipe = self._recipe(self.profile.trainee_epochs)
        params = {"role": "trainee", "architecture": self.profile.trainee, "data": dataset_key(tgt),
                  "model": self._model_key(self.profile.trainee, tgt, int(seed)),
                  "variant": variant_key(v), "recipe": recipe.to_dict(), "seed": int(seed),
                  "masks": None if masks is None else param_key({"m": masks})}
        if val_masks is not None:
            params["val_masks"] = param_key({"v": val_masks})
        return {"architecture_or_bundle": self.profile.trainee, "train": tr, "val": va, "recipe": recipe,
                "variant": v, "masks": masks, "seed": int(seed), "out_dir": self.store.dir("trainee", params),
                "verbose": self.verbose, "input_size": self.profile.input_size, "val_masks": val_masks}

    @timing.timed("Trainee")
    def train_trainee(self, variant: str, seed: int, fill: str | None = None):
        """One Trainee variant and seed on the target corpus (cached); validated on PublicTest,
        unmasked (and, for masked variants, also masked the same way: curves split
        "validation-masked"). fill: what removed pixels become (default: the profile's `fill`)."""
        return train(**self._trainee_job(variant, seed, fill))

    def trainee_runs(self, variants: Sequence[str] = VARIANTS, seeds: Sequence[int] | None = None,
                     fill: str | None = None, workers: int = 1) -> list:
        """TrainResults for every variant and seed, in that order (fill: default the profile's).

        workers > 1: the runs not yet in the run folder are first trained by that many worker
        processes at once (spawned, with this process's environment, hence its kernel settings;
        `training.train` seeds each run, so a run trained in a worker is bitwise the one trained
        here: tests/test_pipeline.py), then every result is loaded here. The Trainer, relevance
        maps and masks are made here first, so that the workers only read them."""
        seeds = self.profile.seeds if seeds is None else tuple(seeds)
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"trainee_runs: workers: expected a positive int, got {workers!r}")
        jobs = [(v, int(s)) for v in variants for s in seeds]
        if workers > 1:
            todo = [(v, s) for v, s in jobs if not (Path(self._trainee_job(v, s, fill)["out_dir"]) / "result.json").is_file()]
            if len(todo) > 1:
                self._train_in_workers(todo, fill, workers)
        return [self.train_trainee(v, s, fill) for v, s in jobs]

    @timing.timed("Trainee runs in worker processes")
    def _train_in_workers(self, todo: Sequence[tuple[str, int]], fill: str | None, workers: int) -> None:
        args = [(self.profile, str(self.run_dir), dict(self.roots), self.seed, v, s, fill) for v, s in todo]
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("spawn")) as pool:
            for _ in pool.map(_trainee_in_worker, *zip(*args)):
                pass


#: one Pipeline per worker process and set-up (the data and masks are read once per worker)
_WORKER_PIPELINES: dict[str, Pipeline] = {}


def _trainee_in_worker(profile: Profile, run_dir: str, roots: dict, seed: int, variant: str, s: int,
                       fill: str | None) -> None:
    key = repr((profile, run_dir, sorted(roots.items()), seed))
    if key not in _WORKER_PIPELINES:
        _WORKER_PIPELINES[key] = Pipeline(profile, run_dir=run_dir, roots=roots, seed=seed)
    _WORKER_PIPELINES[key].train_trainee(variant, s, fill)
