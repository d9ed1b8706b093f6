"""The one `Dataset` type every reader and the synthetic generator return."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

#: The eight FERPlus classes, in FERPlus's vote-column order. Every label in the project is an
#: index into this tuple unless a Dataset says otherwise in `class_names`.
FERPLUS_CLASSES: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
)

#: Split names used by FERPlus (and reused by the synthetic domains).
FERPLUS_SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")


@dataclass
class Dataset:
    """An image classification data set held in memory.

    images:      (N, H, W, C) uint8, C = 1 (grayscale) or 3 (RGB)
    labels:      (N,) int64, indices into `class_names`
    class_names: tuple of str (FERPLUS_CLASSES for every reader of this project)
    split:       (N,) str, e.g. "Training", "PublicTest", "PrivateTest", "validation"
    ids:         (N,) str, stable per-image identifiers (file path, csv row, synthetic id)
    provenance:  dict describing where the data came from (source, files, rule, seed,
                 `synthetic: True/False`, dropped-row counts ...)
    regions:     optional (N, H, W) bool, ground-truth "regions that define the class"
                 (only the synthetic generator knows them)
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] = FERPLUS_CLASSES
    split: np.ndarray | None = None
    ids: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    regions: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.images = np.asanyarray(self.images)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        n = len(self.labels)
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise ValueError(
                f"Dataset.images: expected (N, H, W, C) uint8, got shape {self.images.shape} "
                f"dtype {self.images.dtype}"
            )
        if self.images.shape[0] != n:
            raise ValueError(
                f"Dataset: {self.images.shape[0]} images but {n} labels"
            )
        if self.images.shape[-1] not in (1, 3):
            raise ValueError(
                f"Dataset.images: expected 1 or 3 channels, got {self.images.shape[-1]}"
            )
        self.class_names = tuple(self.class_names)
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            bad = int(np.flatnonzero((self.labels < 0) | (self.labels >= len(self.class_names)))[0])
            raise ValueError(
                f"Dataset.labels[{bad}] = {self.labels[bad]} is outside 0..{len(self.class_names) - 1} "
                f"({len(self.class_names)} classes)"
            )
        self.split = (
            np.full(n, "Training", dtype=object) if self.split is None else np.asarray(self.split, dtype=object)
        )
        self.ids = (
            np.array([str(i) for i in range(n)], dtype=object) if self.ids is None else np.asarray(self.ids, dtype=object)
        )
        for name in ("split", "ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Dataset.{name}: expected {n} entries, got {len(getattr(self, name))}")
        if self.regions is not None:
            self.regions = np.asarray(self.regions, dtype=bool)
            if self.regions.shape != self.images.shape[:3]:
                raise ValueError(
                    f"Dataset.regions: expected shape {self.images.shape[:3]}, got {self.regions.shape}"
                )

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(len(self.labels))

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def splits(self) -> tuple[str, ...]:
        """Split names in order of first appearance."""
        return tuple(pd.unique(self.split))

    @property
    def training_splits(self) -> tuple[str, ...]:
        """The splits a model trains on: names starting with "train" in any case (FERPlus's
        Training, AffectNet's training); the others are held out."""
        return tuple(s for s in self.splits if str(s).lower().startswith("train"))

    @property
    def held_out_splits(self) -> tuple[str, ...]:
        """The splits that are not training splits (validation, PublicTest, PrivateTest, ...)."""
        return tuple(s for s in self.splits if s not in self.training_splits)

    def first_of_each_class(self, split: str) -> np.ndarray:
        """(K',) int: the index of the first image of each class in `split`, in class order;
        classes without an image there are skipped."""
        if split not in self.splits:
            raise ValueError(f"split {split!r}: not in the data set; its splits are {self.splits}")
        in_split = self.split == split
        hits = [np.flatnonzero(in_split & (self.labels == k)) for k in range(len(self.class_names))]
        return np.array([int(h[0]) for h in hits if len(h)], dtype=np.int64)

    def first_of_each_class_then_others(self, split: str, n: int) -> np.ndarray:
        """(max(K', n),) int: `first_of_each_class(split)`, then the other images of the data set in
        index order until there are `n` (at least the K' firsts, whatever n is)."""
        first = self.first_of_each_class(split)
        rest = np.setdiff1d(np.arange(len(self)), first)[:max(0, int(n) - len(first))]
        return np.concatenate([first, rest]).astype(np.int64)

    def subset(self, index) -> "Dataset":
        """A new Dataset with the rows selected by a boolean mask or an index array."""
        index = np.asarray(index)
        if index.dtype == bool and index.shape != (len(self),):
            raise ValueError(f"Dataset.subset: boolean mask of shape {index.shape}, expected ({len(self)},)")
        return replace(
            self,
            images=self.images[index],
            labels=self.labels[index],
            split=self.split[index],
            ids=self.ids[index],
            regions=None if self.regions is None else self.regions[index],
            provenance=dict(self.provenance),
        )

    def select_split(self, *names: str) -> "Dataset":
        """Rows whose split is one of `names`; raises when that leaves no row."""
        keep = np.isin(self.split, names)
        if not keep.any():
            raise ValueError(
                f"Dataset has no rows in split(s) {names}; its splits are {self.splits}"
            )
        return self.subset(keep)

    def counts(self) -> pd.DataFrame:
        """Tidy table `split,label,count`, one row per split and class (zeros included)."""
        rows = []
        for s in self.splits:
            lab = self.labels[self.split == s]
            bc = np.bincount(lab, minlength=len(self.class_names))
            rows += [(s, self.class_names[k], int(bc[k])) for k in range(len(self.class_names))]
        return pd.DataFrame(rows, columns=["split", "label", "count"])

    @property
    def is_synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic", False))
