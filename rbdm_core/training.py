"""The paper's training recipe as a custom, deterministic, resumable training loop.

- `Recipe`: Adam (lr 1e-3), batch 32, categorical cross-entropy, class weights, augmentation
  ranges (see `rbdm_core.augment`), epochs, evaluation every `eval_every` steps.
- `Variant(name, mask_type, switch_epoch)` and the seven paper `PRESETS`.
- `train(...)` -> `TrainResult`; `train_seeds(...)` -> one result per seed.

`train` is four parts, each usable alone: `_setup` (arguments checked, model and its
`train_loop.Loop` built, masked images filled, the run's fingerprint), `_resume` (a checkpoint's
`_Progress`: step, curve rows, loss sums, best evaluation), `_run_epochs` (the step loop, calling
`_evaluate` and `_checkpoint`), `_result` + `_save_result` (the selected model and the files).

Input pipeline: the uint8 arrays stay in memory; epoch e visits the training images in the order
`np.random.default_rng((seed, e)).permutation(N)`; a step takes the next `batch_size` of them
(the last batch of an epoch may be smaller; `max_steps_per_epoch` caps the epoch). In masked epochs
(`variant.masked_at(epoch)`) each image's removed pixels are filled (`variant.fill`, see
`rbdm_core.masking.apply_mask`; zero by default, as in the paper) before augmentation; the filled
training set is computed once (random fills drawn with `FILL_SEED`, the same for every seed). Model
selection uses the unmasked validation images; with `val_masks` the validation images are also
scored masked the same way (curves split "validation-masked"), which shows learning that does not
carry over to plain faces. Masking, augmentation and preprocessing run inside one
`tf.function` step; augmentation draws are a pure function of (seed, step), so a run resumed from
a checkpoint continues bitwise-identically. (Masks are applied to the uint8 batch in numpy, so
the masked and unmasked steps run the same graph.) The step runs through `tf.distribute` (the current
strategy, or `strategy=`): under `MirroredStrategy` each replica takes a contiguous slice of the
global batch, with the same augmentation draws as on one device.

Loss: mean over the batch of w[y] * CE, with w = `class_weights(train labels)` (or 1). Validation
loss is the unweighted mean CE; validation F1 is the macro-F1 (`rbdm_core.curves.macro_f1`).
Model selection: the evaluation with the highest validation macro-F1 (earliest on ties).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .artifacts import DamagedArtifact, atomic_write_text, load_npz, param_key, report_damage
from .augment import AugmentConfig
from .curves import confusion_matrix, curve_rows, curves_frame, macro_f1
from .data.dataset import Dataset
from . import timing
from .determinism import seed_everything
from .faults import fault_point
from .locks import folder_lock
from .masking import MASK_TYPES, PAPER_MASK_TYPES, apply_mask, fill_spec
from .models import ModelBundle, build_model, forward_flops, save_bundle, weights_sha256
from .train_loop import Loop, save_checkpoint


# --------------------------------------------------------------------------- recipe and variants
@dataclass(frozen=True)
class Recipe:
    """Training hyper-parameters (the paper's values by default).

    epochs: number of passes over the training set; lr: Adam learning rate; batch_size: images
    per step; class_weighted: weight the loss by `class_weights`; augment + the ranges: see
    `rbdm_core.augment.AugmentConfig`; eval_every: evaluate on the validation set every K steps
    (and at every epoch end); checkpoint_every: write a checkpoint every K steps (default
    eval_every; also at every epoch end); max_steps_per_epoch: cap on steps per epoch (None = all).
    """

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    class_weighted: bool = True
    augment: bool = True
    # AugmentConfig's ranges, flat (so that `rbdm train` configs and artifact keys stay one level
    # deep), with AugmentConfig's defaults; `augment_config()` hands them over by name
    rotation_deg: float = AugmentConfig.rotation_deg
    shift: float = AugmentConfig.shift
    zoom: tuple[float, float] = AugmentConfig.zoom
    channel_shift: float = AugmentConfig.channel_shift
    brightness: tuple[float, float] = AugmentConfig.brightness
    hflip: bool = AugmentConfig.hflip
    fill_mode: str = AugmentConfig.fill_mode
    eval_every: int = 100
    checkpoint_every: int | None = None
    max_steps_per_epoch: int | None = None
    eval_batch_size: int = 256
    eval_at_epoch_end: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "zoom", tuple(float(v) for v in self.zoom))
        object.__setattr__(self, "brightness", tuple(float(v) for v in self.brightness))
        for name in ("epochs", "batch_size", "eval_every", "eval_batch_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Recipe.{name}: expected a positive int, got {v!r}")
        for name in ("checkpoint_every", "max_steps_per_epoch"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, np.integer)) or v < 1):
                raise ValueError(f"Recipe.{name}: expected a positive int or None, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"Recipe.lr: expected > 0, got {self.lr}")
        self.augment_config()  # validates the ranges

    def augment_config(self) -> AugmentConfig:
        ranges = {name: getattr(self, name) for name in AugmentConfig.__dataclass_fields__ if name != "enabled"}
        return AugmentConfig(**ranges, enabled=self.augment)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["zoom"], d["brightness"] = list(self.zoom), list(self.brightness)
        if d["eval_at_epoch_end"]:  # the default leaves keys as they were before the field existed
            del d["eval_at_epoch_end"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Recipe: unknown parameter(s) {unknown}; expected some of {sorted(known)}")
        return cls(**d)


#: the mask source of the variants the paper proposes as its next step: masks from human fixations
#: (`masking.human_masks`), "fixations" and "fixations-then-unmasked"
FIXATIONS = "fixations"
#: the mask source of masks the caller made and passes in (the study's oracle, random and
#: mask-quality-dial masks, `rbdm_core.masking.controls`)
GIVEN = "given"


@dataclass(frozen=True)
class Variant:
    """A training variant: with a `mask_type` (a name in `masking.MASKS`, or `FIXATIONS` for masks
    made from human fixations, `masking.human_masks`, or `GIVEN` for masks the caller made) it trains on images masked
    that way in epochs < switch_epoch (all epochs when switch_epoch is None), then on the unmasked
    ones; without one (no-mask) always on the unmasked images. fill: what removed pixels become (a
    name in `masking.FILLS`: "zero", the paper's, or e.g. "noisy_linear", the noisy linear imputation of ROAD);
    only "zero" is allowed without a mask type."""

    name: str
    mask_type: str | None = None
    switch_epoch: int | None = None
    fill: str = "zero"

    def __post_init__(self) -> None:
        if self.switch_epoch is not None and (not isinstance(self.switch_epoch, (int, np.integer)) or self.switch_epoch < 0):
            raise ValueError(f"Variant.switch_epoch: expected a non-negative int or None, got {self.switch_epoch!r}")
        fill_spec(self.fill)  # an unknown fill is an error that lists the fills
        if self.mask_type is not None and self.mask_type not in (FIXATIONS, GIVEN):
            if self.mask_type not in MASK_TYPES:
                raise ValueError(f"Variant.mask_type: expected one of {[*MASK_TYPES, FIXATIONS, GIVEN]} or None, "
                                 f"got {self.mask_type!r}")
        elif self.mask_type is None and self.fill != "zero":
            raise ValueError(f"Variant {self.name!r}: fill {self.fill!r} needs a mask_type (an unmasked "
                             "variant removes no pixel)")

    @property
    def masked(self) -> bool:
        """Whether the variant ever trains on masked images."""
        return self.mask_type is not None

    def masked_at(self, epoch: int) -> bool:
        """Whether training images are masked during 0-based `epoch`."""
        return self.masked and (self.switch_epoch is None or epoch < self.switch_epoch)


PAPER_SWITCH_EPOCH = 9


def preset(name: str, switch_epoch: int = PAPER_SWITCH_EPOCH, fill: str = "zero") -> Variant:
    """One of the paper's seven variants, or "fixations" / "fixations-then-unmasked" (the human
    fixations as mask source, the paper's proposed next step); `switch_epoch` applies to the
    `*-then-unmasked` ones, `fill` to the masked ones (no-mask removes nothing: it ignores the fill)."""
    if name == "no-mask":
        return Variant("no-mask", mask_type=None, switch_epoch=None)
    for m in (*PAPER_MASK_TYPES, FIXATIONS):
        if name == m:
            return Variant(m, mask_type=m, switch_epoch=None, fill=fill)
        if name == f"{m}-then-unmasked":
            return Variant(name, mask_type=m, switch_epoch=int(switch_epoch), fill=fill)
    raise ValueError(f"variant {name!r} is unknown; expected one of {', '.join(PRESETS)}")


PRESET_NAMES = ("no-mask", "negative", "mean", "perceptive",
                "negative-then-unmasked", "mean-then-unmasked", "perceptive-then-unmasked")
PRESETS: dict[str, Variant] = {}
PRESETS.update({n: preset(n) for n in PRESET_NAMES})


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(K,) float64 loss weights from the training labels.

    The paper weights "each class by its relative proportion" (after Mollahosseini et al. 2017);
    we read that as the usual inverse-frequency ("balanced") weights
    w_k = n_samples / (n_present_classes * count_k), so rare classes weigh more and the weights
    average to 1 over the training samples. Classes absent from `labels` get weight 0 (they never
    occur in the loss).
    """
    labels = np.asarray(labels, np.int64)
    if labels.size == 0:
        raise ValueError("class_weights: no labels (empty training split)")
    if labels.min() < 0 or labels.max() >= num_classes:
        bad = int(np.flatnonzero((labels < 0) | (labels >= num_classes))[0])
        raise ValueError(f"class_weights: labels[{bad}] = {labels[bad]} outside 0..{num_classes - 1}")
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(num_classes)
    w[present] = labels.size / (present.sum() * counts[present])
    return w


def steps_per_epoch(n: int, recipe: Recipe) -> int:
    s = math.ceil(n / recipe.batch_size)
    return min(s, recipe.max_steps_per_epoch) if recipe.max_steps_per_epoch else s


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch `epoch` visits the n training images (a pure function of seed, epoch)."""
    return np.random.default_rng((int(seed), int(epoch))).permutation(n)


# --------------------------------------------------------------------------- result
@dataclass
class TrainResult:
    """bundle: the selected (best validation macro-F1) model; curves: tidy table (rbdm_core.curves);
    best_f1 / best_step: the selected evaluation; final_f1: the last evaluation; confusion (K, K):
    the selected model on the validation set (rows true, columns predicted; None when interrupted);
    weights_sha256: the final (last-step) weights; final_weights: those weights as arrays
    (Keras order; the bundle holds the selected ones); checkpoint: path of checkpoint.npz (None without
    out_dir); completed: False when stopped early by `stop_after_steps`."""

    bundle: Any
    curves: pd.DataFrame
    best_f1: float
    final_f1: float
    best_step: int
    confusion: np.ndarray | None
    weights_sha256: str
    checkpoint: Path | None
    variant: Variant
    seed: int
    steps: int
    completed: bool = True
    out_dir: Path | None = None
    final_weights: list | None = None

    def summary(self) -> dict[str, Any]:
        return {"variant": self.variant.name, "seed": self.seed, "steps": self.steps, "best_f1": self.best_f1,
                "best_step": self.best_step, "final_f1": self.final_f1, "weights_sha256": self.weights_sha256,
                "completed": self.completed}


# --------------------------------------------------------------------------- helpers
def _sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def variant_key(variant: Variant) -> dict:
    """What identifies a variant in keys: its fields, without the default zero fill."""
    d = asdict(variant)
    if d["fill"] == "zero":
        del d["fill"]
    return d


def _bool_masks(masks, shape: tuple, name: str, what: str) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (one (H, W) mask per {what} image), got {masks.shape}")
    if masks.dtype != bool:
        if not np.isin(masks, (0, 1)).all():
            raise ValueError(f"{name}: expected bool (or 0/1) values, got dtype {masks.dtype}")
        masks = masks.astype(bool)
    return masks


#: the random fills' seed: their noise is part of the masked data set (like the masks), the same
#: for every training seed
FILL_SEED = 0
_FILLED: dict[tuple, np.ndarray] = {}  # the last few filled image sets (several seeds reuse them)


def _filled(images: np.ndarray, masks: np.ndarray, fill: str, images_key: str, masks_key: str,
            start: int = 0) -> np.ndarray:
    """`apply_mask(images, masks, fill, seed=FILL_SEED, start=start)`, remembered for the last
    four (images, masks, fill) combinations (keys: content hashes), so the seeds of a variant
    fill their images once. Training images get indices 0..N-1, validation ones N.. (`start`)."""
    key = (images_key, masks_key, fill, int(start))
    if key not in _FILLED:
        while len(_FILLED) >= 4:
            _FILLED.pop(next(iter(_FILLED)))
        out = apply_mask(images, masks, fill, seed=FILL_SEED, start=start)
        out.setflags(write=False)
        _FILLED[key] = out
    return _FILLED[key]


def _validate(train: Dataset, val: Dataset, num_classes: int, masks, variant: Variant):
    for name, ds in (("train", train), ("val", val)):
        if not isinstance(ds, Dataset):
            raise ValueError(f"{name}: expected a rbdm_core Dataset, got {type(ds).__name__}")
        if len(ds) == 0:
            raise ValueError(f"{name}: the split is empty (0 images); pick a split with images")
        lab = np.asarray(ds.labels)
        bad = np.flatnonzero((lab < 0) | (lab >= num_classes))
        if bad.size:
            raise ValueError(f"{name}.labels[{bad[0]}] = {lab[bad[0]]} is outside the model's "
                             f"{num_classes} classes (0..{num_classes - 1})")
    if train.class_names != val.class_names:
        raise ValueError(f"val.class_names {val.class_names} differ from train.class_names {train.class_names}")
    if len(train.class_names) != num_classes:
        raise ValueError(f"the model has {num_classes} outputs but the data have {len(train.class_names)} "
                         f"classes {train.class_names}")
    if variant.masked:
        if masks is None:
            raise ValueError(f"variant {variant.name!r} is masked: pass masks (N, H, W) bool for the training set")
        return _bool_masks(masks, train.images.shape[:3], "masks", "training")
    return None


def _make_bundle(architecture_or_bundle, train: Dataset, seed: int, input_size):
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    if isinstance(architecture_or_bundle, str):
        b = build_model(architecture_or_bundle, len(train.class_names), train.shape, seed=seed,
                        input_size=input_size, class_names=train.class_names)
        # the initial weights change whenever the architecture's code does: a checkpoint made by
        # older code is then refused instead of loaded into a different network
        return b, {"architecture": architecture_or_bundle, "input_size": input_size,
                   "initial_weights": weights_sha256(b.model), "config": param_key({"json": b.model.to_json()})}
    if isinstance(architecture_or_bundle, ModelBundle):
        src = architecture_or_bundle
        tf.keras.utils.set_random_seed(int(seed))
        model = tf.keras.models.clone_model(src.model)
        model.set_weights(src.model.get_weights())
        b = ModelBundle(model=model, preprocess=src.preprocess, class_names=src.class_names, name=src.name,
                        info=dict(src.info))
        return b, {"bundle": src.name, "initial_weights": weights_sha256(src.model)}
    raise ValueError(f"architecture_or_bundle: expected an architecture name or a ModelBundle, "
                     f"got {type(architecture_or_bundle).__name__}")


# --------------------------------------------------------------------------- one run's parts
@dataclass
class _Setup:
    """What stays fixed through one run: the model and its loop, the data (with the filled
    training images of masked epochs and the masked validation set), the sizes and the run's
    fingerprint (the key its checkpoint must carry)."""

    bundle: Any
    loop: Any  # train_loop.Loop
    recipe: Recipe
    variant: Variant
    seed: int
    train: Dataset
    val: Dataset
    val_masked: Dataset | None
    filled: np.ndarray | None
    num_classes: int
    steps_per_epoch: int
    total: int
    fingerprint: str
    out: Path | None

    @property
    def ck_path(self) -> Path | None:
        return self.out / "checkpoint.npz" if self.out is not None else None


@dataclass
class _Progress:
    """Where a run stands: the steps done, the curve rows, the training loss summed since the
    last evaluation and the best evaluation so far (what a checkpoint records)."""

    step: int = 0
    rows: list = field(default_factory=list)
    loss_sum: float = 0.0
    loss_n: int = 0
    best_f1: float = -1.0
    best_step: int = -1
    best_weights: list | None = None

    def meta(self, fingerprint: str, total: int) -> dict:
        """The checkpoint's JSON record (its keys in this order)."""
        return {"fingerprint": fingerprint, "step": self.step, "rows": self.rows, "loss_sum": self.loss_sum,
                "loss_n": self.loss_n, "best_f1": self.best_f1, "best_step": self.best_step, "total_steps": total}


def _setup(architecture_or_bundle, train: Dataset, val: Dataset, recipe: Recipe, variant: Variant, masks,
           seed: int, out_dir, val_masks, input_size, strategy) -> _Setup:
    """Check the arguments, build the model and its loop, fill the masked images, key the run."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    seed_everything(int(seed))
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        bundle, model_key = _make_bundle(architecture_or_bundle, train, seed, input_size)
    K = int(bundle.model.output_shape[-1])
    masks = _validate(train, val, K, masks, variant)
    if val_masks is not None:
        if not variant.masked:
            raise ValueError(f"val_masks: variant {variant.name!r} is unmasked; validation masks need a masked variant")
        val_masks = _bool_masks(val_masks, val.images.shape[:3], "val_masks", "validation")
    weights = class_weights(train.labels, K) if recipe.class_weighted else np.ones(K)
    spe = steps_per_epoch(len(train), recipe)
    # the zero fill and no validation masks leave the key as it was before fills existed, so
    # checkpoints written then still resume
    run_key = {"model": model_key, "recipe": recipe.to_dict(), "variant": variant_key(variant), "seed": int(seed),
               "train": _sha(train.images, train.labels), "val": _sha(val.images, val.labels),
               "masks": None if masks is None else _sha(masks)}
    if val_masks is not None:
        run_key["val_masks"] = _sha(val_masks)
    filled = val_masked = None
    if masks is not None:
        filled = _filled(train.images, masks, variant.fill, run_key["train"], run_key["masks"])
        if val_masks is not None:
            val_masked = replace(val, images=_filled(val.images, val_masks, variant.fill, run_key["val"],
                                                     run_key["val_masks"], start=len(train)))
    loop = Loop(bundle, recipe, weights, strategy)
    return _Setup(bundle, loop, recipe, variant, int(seed), train, val, val_masked, filled, K, spe,
                  spe * recipe.epochs, param_key(run_key), Path(out_dir) if out_dir is not None else None)


def _resume(ck_path: Path, loop, fingerprint: str) -> _Progress:
    """The progress recorded in the checkpoint at `ck_path`, with `loop`'s model and optimizer
    set to its state; a fresh `_Progress` (loop untouched) when there is none. A damaged
    checkpoint is reported and moved aside (the run starts again); one of another run (another
    `fingerprint`) is a ValueError."""
    if not ck_path.exists():
        return _Progress()
    try:
        z = load_npz(ck_path, "training checkpoint", keys=["meta"])
        meta = json.loads(str(z["meta"]))
        want = set(loop.get_state())
        if not want <= set(z):
            raise DamagedArtifact(ck_path, "training checkpoint",
                                  f"{len(want - set(z))} of the model's and optimizer's arrays missing")
    except DamagedArtifact as exc:
        report_damage(exc)  # moved aside; the run starts again from its first step
        return _Progress()
    except ValueError as exc:  # the meta record itself is not JSON
        report_damage(DamagedArtifact(ck_path, "training checkpoint", f"meta unreadable: {exc}"))
        return _Progress()
    if meta["fingerprint"] != fingerprint:
        raise ValueError(f"{ck_path}: checkpoint of a different run (other data, model, recipe, variant "
                         "or seed); use another out_dir or resume=False")
    loop.set_state(z)
    p = _Progress(step=int(meta["step"]), rows=meta["rows"], loss_sum=float(meta["loss_sum"]),
                  loss_n=int(meta["loss_n"]), best_f1=float(meta["best_f1"]), best_step=int(meta["best_step"]))
    if p.best_step >= 0:
        p.best_weights = [z[f"b{i:04d}"] for i in range(len(loop.model.get_weights()))]
    return p


def _checkpoint(run: _Setup, p: _Progress) -> None:
    if run.ck_path is not None:
        save_checkpoint(run.ck_path, run.loop, p.meta(run.fingerprint, run.total), p.best_weights)


def _forward_flops(run: _Setup) -> float:
    """FLOPs of one image's forward pass (only computed when timing is on; else 0)."""
    if not timing.enabled():
        return 0.0
    return forward_flops(run.loop.model)


def _evaluate(run: _Setup, p: _Progress) -> dict:
    """Score the model now: append the curve rows of step `p.step` (the mean training loss since
    the last evaluation, when there were steps; validation loss and macro-F1; the masked
    validation set's, when there is one), restart the loss sums, keep the model's weights when
    its F1 beats the best so far. Returns the values the progress bar shows."""
    name, seed, step, ep = run.variant.name, run.seed, p.step, p.step / run.steps_per_epoch
    if p.loss_n:
        p.rows.extend(curve_rows(name, seed, step, ep, "train", {"loss": p.loss_sum / p.loss_n}))
    fwd = _forward_flops(run)
    n_images = (len(run.val) + (len(run.val_masked) if run.val_masked is not None else 0)) if fwd else 0
    with timing.activity("evaluation", flops=fwd * n_images):
        vloss, pred = run.loop.evaluate(run.val, run.recipe.eval_batch_size)
        f1 = macro_f1(run.val.labels, pred, run.num_classes)
        p.rows.extend(curve_rows(name, seed, step, ep, "validation", {"loss": vloss, "f1": f1}))
        if run.val_masked is not None:
            mloss, mpred = run.loop.evaluate(run.val_masked, run.recipe.eval_batch_size)
            p.rows.extend(curve_rows(name, seed, step, ep, "validation-masked",
                                     {"loss": mloss, "f1": macro_f1(run.val.labels, mpred, run.num_classes)}))
    p.loss_sum, p.loss_n = 0.0, 0
    if f1 > p.best_f1:
        p.best_f1, p.best_step, p.best_weights = f1, step, run.loop.model.get_weights()
    return {"val_loss": vloss, "val_f1": f1}


def _run_epochs(run: _Setup, p: _Progress, stop_after_steps: int | None, verbose: int) -> bool:
    """Train from step `p.step` to the last, evaluating every `eval_every` steps and at epoch
    ends, checkpointing every `checkpoint_every` steps and at epoch ends; True when stopped by
    `stop_after_steps` before the end."""
    with timing.activity("steps"):
        return _steps(run, p, stop_after_steps, verbose)


def _steps(run: _Setup, p: _Progress, stop_after_steps: int | None, verbose: int) -> bool:
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    recipe, spe, n, seed = run.recipe, run.steps_per_epoch, len(run.train), run.seed
    ck_every = recipe.checkpoint_every or recipe.eval_every
    step_flops = 3.0 * _forward_flops(run)  # forward and backward (about twice the forward) per image
    while p.step < run.total:
        epoch = p.step // spe
        order = epoch_order(n, seed, epoch)
        use_mask = run.variant.masked_at(epoch)
        bar = tf.keras.utils.Progbar(spe, stateful_metrics=["loss", "val_loss", "val_f1"], verbose=verbose)
        if verbose:
            print(f"Epoch {epoch + 1}/{recipe.epochs}" + (" (masked)" if use_mask else ""), flush=True)
        while p.step < (epoch + 1) * spe:
            i = p.step - epoch * spe
            idx = order[i * recipe.batch_size:(i + 1) * recipe.batch_size]
            x = run.filled[idx] if use_mask else run.train.images[idx]
            loss = float(run.loop.train_step(x, run.train.labels[idx], np.array([seed, p.step], np.int64)))
            timing.add_flops(step_flops * len(idx))
            p.step += 1
            p.loss_sum, p.loss_n = p.loss_sum + loss, p.loss_n + 1
            vals = [("loss", loss)]
            end_of_epoch = p.step == (epoch + 1) * spe
            if p.step % recipe.eval_every == 0 or (end_of_epoch and (recipe.eval_at_epoch_end or p.step == run.total)):
                vals += list(_evaluate(run, p).items())
            if p.step % ck_every == 0 or end_of_epoch:
                _checkpoint(run, p)
            bar.update(i + 1, values=vals)
            fault_point("train-step", f"train-step-{run.variant.name}")  # tests only: $RBDM_FAULT_AFTER
            if stop_after_steps is not None and p.step >= stop_after_steps and p.step < run.total:
                return True
    return False


def _result(run: _Setup, p: _Progress, completed: bool) -> TrainResult:
    """The run's result: the last step's weights (hash and arrays) and the curves; when
    completed, the bundle set to the best weights, with their confusion matrix."""
    bundle, variant, seed = run.bundle, run.variant, run.seed
    final_sha = weights_sha256(bundle.model)
    final_weights = bundle.model.get_weights()
    curves = curves_frame(p.rows)
    val_f1 = curves[(curves.split == "validation") & (curves.metric == "f1")]
    final_f1 = float(val_f1.value.iloc[-1])
    if not completed:
        return TrainResult(bundle, curves, p.best_f1, final_f1, p.best_step, None, final_sha,
                           run.ck_path, variant, seed, p.step, completed=False, out_dir=run.out,
                           final_weights=final_weights)
    bundle.model.set_weights(p.best_weights)
    _, pred = run.loop.evaluate(run.val, run.recipe.eval_batch_size)
    cm = confusion_matrix(run.val.labels, pred, run.num_classes)
    bundle.info = {**bundle.info, "trained": {"variant": variant.name, "seed": seed, "steps": p.step,
                                              "best_step": p.best_step, "best_f1": p.best_f1,
                                              "recipe": run.recipe.to_dict()}}
    return TrainResult(bundle, curves, p.best_f1, final_f1, p.best_step, cm, final_sha, run.ck_path,
                       variant, seed, p.step, completed=True, out_dir=run.out, final_weights=final_weights)


def _save_result(result: TrainResult, recipe: Recipe, fingerprint: str) -> None:
    """curves.csv, result.json and model/ (the selected bundle) into `result.out_dir`, each atomically."""
    out = result.out_dir
    atomic_write_text(out / "curves.csv", result.curves.to_csv(index=False))
    summary = {**result.summary(), "confusion": result.confusion.tolist(),
               "class_names": list(result.bundle.class_names), "recipe": recipe.to_dict(), "fingerprint": fingerprint}
    atomic_write_text(out / "result.json", json.dumps(summary, indent=1))
    save_bundle(result.bundle, out / "model")


# --------------------------------------------------------------------------- train
def _one_writer(fn):
    """`fn` (train) holding the lock of its `out_dir` (`rbdm_core.locks.folder_lock`): a second
    process training the same run into the same folder waits, then resumes from the finished
    checkpoint (the same result, no step trained twice, no file written by two)."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def locked(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        out_dir = bound.arguments.get("out_dir")
        if out_dir is None:
            return fn(*args, **kwargs)
        with folder_lock(out_dir, "training"):
            return fn(*args, **kwargs)

    return locked


@_one_writer
def train(
    architecture_or_bundle,
    train: Dataset,
    val: Dataset,
    recipe: Recipe | None = None,
    variant: Variant | str = "no-mask",
    masks: np.ndarray | None = None,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    *,
    val_masks: np.ndarray | None = None,
    input_size: int | str | None = None,
    strategy=None,
    resume: bool = True,
    stop_after_steps: int | None = None,
    verbose: int = 1,
) -> TrainResult:
    """Train a classifier with the paper's recipe; return curves, the selected model and scores.

    architecture_or_bundle: an architecture name (`rbdm_core.models.ARCHITECTURES`) built fresh
        with `seed`, or a ModelBundle (copied; the original is not changed);
    train, val: Datasets with the same class_names (val is never masked);
    recipe: Recipe (default Recipe()); variant: a Variant or a preset name;
    masks: (N, H, W) bool for the training images (True = kept), required by masked variants;
    val_masks: (M, H, W) bool for the validation images (masked variants only): each evaluation
        also scores the validation images masked and filled like the training images (curves
        split "validation-masked"; model selection still uses the unmasked ones);
    seed: initialisation, data order and augmentation seed;
    out_dir: where checkpoint.npz, curves.csv, result.json and model/ (the selected bundle) go,
        all written atomically; a run finding a checkpoint of the same run there resumes from it;
    input_size: model input side for built architectures (see models.input_size_for);
    strategy: a tf.distribute strategy (default: the current one);
    stop_after_steps: stop after this many steps without a final checkpoint (simulates a crash);
    verbose: 1 = Keras progress bar per epoch, 0 = silent.
    """
    recipe = recipe or Recipe()
    if isinstance(variant, str):
        variant = preset(variant)
    with timing.activity("training"):
        run = _setup(architecture_or_bundle, train, val, recipe, variant, masks, seed, out_dir, val_masks,
                     input_size, strategy)
        progress = _resume(run.ck_path, run.loop, run.fingerprint) if run.out is not None and resume else _Progress()
        if progress.step == 0 and not progress.rows:
            _evaluate(run, progress)  # the untrained model: every curve starts at step 0
        interrupted = _run_epochs(run, progress, stop_after_steps, verbose)
        result = _result(run, progress, completed=not interrupted)
        if run.out is not None and not interrupted:
            _save_result(result, recipe, run.fingerprint)
    return result


_train_one = train  # train_seeds' `train` argument shadows the function


def train_seeds(architecture_or_bundle, train: Dataset, val: Dataset, recipe: Recipe | None = None,
                variant: Variant | str = "no-mask", masks: np.ndarray | None = None,
                seeds: Sequence[int] = (0, 1, 2), out_dir: str | os.PathLike | None = None,
                **kwargs) -> list[TrainResult]:
    """`train` once per seed (out_dir/seed-<s> each); the results in seed order."""
    if len(seeds) == 0:
        raise ValueError("seeds: expected at least one seed")
    results = []
    for s in seeds:
        sub = None if out_dir is None else Path(out_dir) / f"seed-{int(s)}"
        results.append(_train_one(architecture_or_bundle, train, val, recipe, variant, masks, int(s), sub, **kwargs))
    return results


def all_curves(results: Sequence[TrainResult]) -> pd.DataFrame:
    """The curves of several results stacked into one tidy table."""
    return pd.concat([r.curves for r in results], ignore_index=True)

