"""Chapter 2's tables about the Trainer: class weights, the architectures' sizes, the candidates'
scores, the selected Trainer beside the paper's, and a pretrained classifier scored on a corpus."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core.curves import confusion_matrix, relabel
from rbdm_core.models import build_model
from rbdm_core.training import class_weights

#: the paper's architectures (chapter 2), and the parameter counts it quotes
PAPER_ARCHITECTURES = ("xception", "mobilenet_v2", "inception_v3", "vgg_face")
PAPER_PARAMETERS = {"inception_v3": "~23.8 M", "mobilenet_v2": "3.5 M"}


def class_weight_table(labels: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Per class: images (bincount of `labels`, (N,) indices) and the loss weight w_k =
    N / (K+ n_k) (`training.class_weights`; 0 for an absent class)."""
    labels = np.asarray(labels)
    return pd.DataFrame({"class": list(class_names), "images": np.bincount(labels, minlength=len(class_names)),
                         "weight w_k": class_weights(labels, len(class_names))})


def architecture_table(candidates: Sequence[str], n_classes: int, data_shape: tuple, seed: int = 0) -> pd.DataFrame:
    """One row per architecture, the paper's four then the `candidates` not among them: role,
    input (HxWxC), parameters with `n_classes` outputs, the paper's count (quoted) and, for the
    paper's architectures (built at their paper input size), the count with a 1000-class layer."""
    rows = []
    for arch in dict.fromkeys((*PAPER_ARCHITECTURES, *candidates)):
        quick_stand_in = arch not in PAPER_ARCHITECTURES
        b = build_model(arch, n_classes, data_shape=data_shape, seed=seed, input_size=None if quick_stand_in else "paper")
        n = int(b.model.count_params())
        width = int(b.model.get_layer("logits").kernel.shape[0])  # features entering the classifier
        rows.append({"architecture": arch, "role": "candidate" if arch in candidates else "paper only",
                     "input": f"{b.preprocess.size[0]}x{b.preprocess.size[1]}x{b.preprocess.channels}",
                     "parameters (8 classes)": f"{n:,}", "the paper's count": PAPER_PARAMETERS.get(arch, ""),
                     "with a 1000-class layer": "" if quick_stand_in else f"{n + (1000 - n_classes) * (width + 1):,}"})
        del b
    return pd.DataFrame(rows)


def best_epoch(curves: pd.DataFrame, step: int) -> float:
    """The (fractional) epoch of training step `step` in a run's learning curves (columns step, epoch)."""
    return float(curves[curves["step"] == step].epoch.iloc[0])


def candidate_table(candidates: pd.DataFrame, curves: Mapping[str, pd.DataFrame], trainer: str) -> pd.DataFrame:
    """`Pipeline.trainer_candidates()`'s table with best_epoch (from each architecture's `curves`)
    and selected ("Trainer" for `trainer`): architecture, best_f1, best_step, best_epoch, final_f1,
    steps, selected."""
    t = candidates.copy()
    t["best_epoch"] = [best_epoch(curves[a], s) for a, s in zip(t.architecture, t.best_step)]
    t["selected"] = np.where(t.architecture == trainer, "Trainer", "")
    return t[["architecture", "best_f1", "best_step", "best_epoch", "final_f1", "steps", "selected"]]


def trainer_f1_table(architecture: str, epoch: float, f1: float, data: str) -> pd.DataFrame:
    """The paper's InceptionV3 (macro-F1 0.59 after 42 epochs) and AffectNet's baseline (0.58),
    quoted, beside this run's Trainer (`architecture`, its best `epoch` and macro-`f1`, on `data`)."""
    return pd.DataFrame([
        {"model": "InceptionV3 (paper)", "data": "AffectNet validation (real)", "epochs": "42", "macro-F1": 0.59},
        {"model": "baseline of AffectNet's authors (quoted by the paper)", "data": "AffectNet validation (real)",
         "epochs": "", "macro-F1": 0.58},
        {"model": f"{architecture} (this run)", "data": data, "epochs": f"{epoch:.3g}", "macro-F1": f1},
    ])


def score_on_shared_classes(bundle, ds) -> tuple[np.ndarray, list[str], np.ndarray]:
    """A classifier `bundle` (`models.load_bundle`) on Dataset `ds`, over the classes both name:
    returns the (K, K) confusion matrix (rows true), the K shared class names (in `ds` order) and
    the (N,) bool images scored (those whose class the bundle has)."""
    shared = [c for c in ds.class_names if c in bundle.class_names]
    y_true = relabel(ds.labels, ds.class_names, shared)
    keep = y_true >= 0
    y_pred = relabel(bundle.predict(ds.images[keep]), bundle.class_names, shared)
    return confusion_matrix(y_true[keep], y_pred, len(shared)), shared, keep
