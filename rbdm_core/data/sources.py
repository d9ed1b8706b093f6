"""The registry of data sources: every choice of a corpus by its name reads it.

`DATA_SOURCES[name]` is a `DataSource`: what its root is (a folder, the synthetic domain's name,
an .npz file), the environment variable holding its default root, the synthetic domain that
stands in for it under the synthetic profiles, the options its reader takes with their defaults,
and how to load it (`load_source(name, root, **options) -> Dataset`) or only count it without
decoding images (`count_source`, for `rbdm data summary`). The readers themselves
(`data.ferplus`, `data.affectnet`, `data.ckplus`, `data.folder`, `data.synthetic`) say what is
missing under a root (their FileNotFoundError names the expected file or folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from rbdm_core.data.affectnet import index_affectnet, read_affectnet
from rbdm_core.data.ckplus import read_ckplus
from rbdm_core.data.dataset import FERPLUS_CLASSES, Dataset
from rbdm_core.data.ferplus import read_ferplus
from rbdm_core.data.folder import read_folder, scan
from rbdm_core.data.synthetic import make_domain


# --------------------------------------------------------------------------- loaders
def _load_ferplus(root, fer2013=None, fer2013new=None, rule="paper", progress=True) -> Dataset:
    """FERPlus from ROOT/fer2013.csv and ROOT/fer2013new.csv (or the two files given)."""
    root = Path(root)
    old = Path(fer2013) if fer2013 else root / "fer2013.csv"
    new = Path(fer2013new) if fer2013new else root / "fer2013new.csv"
    return read_ferplus(old, new, rule=rule, progress=progress)


def _load_affectnet(root, size=96, seed=0, progress=True) -> Dataset:
    return read_affectnet(root, size=size, seed=seed, progress=progress)


def _count_affectnet(root, size=96, seed=0, progress=True) -> tuple[pd.DataFrame, dict]:
    """Counts from the cleaned row list: the image files are hashed, not decoded (`size` unused)."""
    rows, prov = index_affectnet(root, seed=seed, progress=progress)
    return _label_counts(rows["label"].to_numpy(), rows["split"].to_numpy(object)), prov


def _load_ckplus(root, size=96, progress=True) -> Dataset:
    return read_ckplus(root, size=size, progress=progress)


def _load_folder(root, size=48, channels=1, progress=True) -> Dataset:
    return read_folder(root, size=size, channels=channels, progress=progress)


def _count_folder(root, size=48, channels=1, progress=True) -> tuple[pd.DataFrame, dict]:
    """Counts from the file names: no image is decoded (`size`, `channels`, `progress` unused)."""
    items, counts = scan(root)
    return (_label_counts(np.array([lab for _, lab, _ in items]), np.array([sp for sp, _, _ in items], object)),
            {"dropped": {"skipped_files": counts["skipped_files"], "skipped_folders": counts["skipped_folders"]}})


def _load_synthetic(root, n=None, seed=0, size=None, nuisance=0.0, min_per_class=None) -> Dataset:
    """The embedded generator; `root` is the domain's name (`synthetic.DOMAINS`)."""
    return make_domain(root, n=n, seed=seed, size=size, nuisance=nuisance, min_per_class=min_per_class)


def _load_npz(root) -> Dataset:
    """Arrays images (N, H, W, C) uint8, labels (N,), split (N,) str [, class_names] of one .npz file
    (only `rbdm train --data npz:FILE` reads it, hence the messages)."""
    p = Path(root)
    if not p.exists():
        raise FileNotFoundError(f"--data npz:{p}: no such file")
    with np.load(p, allow_pickle=False) as z:
        missing = [k for k in ("images", "labels", "split") if k not in z.files]
        if missing:
            raise ValueError(f"--data npz:{p}: missing array(s) {missing} (expected images, labels, split)")
        names = tuple(str(c) for c in z["class_names"]) if "class_names" in z.files else FERPLUS_CLASSES
        return Dataset(images=z["images"], labels=z["labels"], split=z["split"].astype(object),
                       class_names=names, provenance={"synthetic": False, "source": str(p)})


def _label_counts(labels: np.ndarray, split: np.ndarray) -> pd.DataFrame:
    """`Dataset.counts()` of (N,) labels and (N,) splits: a Dataset of 1x1 placeholder images
    carries them, so no image is decoded."""
    ds = Dataset(images=np.zeros((len(labels), 1, 1, 1), np.uint8), labels=labels,
                 class_names=FERPLUS_CLASSES, split=split)
    return ds.counts()


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class DataSource:
    """One corpus. load(root, **options) -> Dataset; count(root, **options) -> (DataFrame
    split,label,count; provenance dict) without decoding images (None: load, then count).

    metavar: what the root is called in `--data NAME:METAVAR` (ROOT, DOMAIN, FILE); root: what
    it holds (the help texts); options: name -> default of the reader's keyword arguments;
    env: the environment variable with the default root (`Pipeline`), or None; synthetic_domain:
    the `make_domain` domain standing in for it under the synthetic profiles, or None."""

    name: str
    load: Callable[..., Dataset]
    metavar: str = "ROOT"
    root: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    count: Callable[..., tuple[pd.DataFrame, dict]] | None = None
    env: str | None = None
    synthetic_domain: str | None = None


DATA_SOURCES: dict[str, DataSource] = {s.name: s for s in (
    DataSource("ferplus", _load_ferplus, root="folder holding fer2013.csv and fer2013new.csv",
               options={"fer2013": None, "fer2013new": None, "rule": "paper", "progress": True},
               env="RBDM_FERPLUS_ROOT", synthetic_domain="ferplus_like"),
    DataSource("affectnet", _load_affectnet,
               root="folder holding Manually_Annotated_file_lists/ and Manually_Annotated_Images/",
               options={"size": 96, "seed": 0, "progress": True}, count=_count_affectnet,
               env="RBDM_AFFECTNET_ROOT", synthetic_domain="affectnet_like"),
    DataSource("ckplus", _load_ckplus, root="folder holding cohn-kanade-images/ and Emotion/",
               options={"size": 96, "progress": True}, env="RBDM_CKPLUS_ROOT", synthetic_domain="ckplus_like"),
    DataSource("synthetic", _load_synthetic, metavar="DOMAIN",
               root="the synthetic domain name: ferplus_like, affectnet_like or ckplus_like",
               options={"n": None, "seed": 0, "size": None, "nuisance": 0.0, "min_per_class": None}),
    DataSource("folder", _load_folder, root="an image folder: ROOT/<label>/* or ROOT/<split>/<label>/*",
               options={"size": 48, "channels": 1, "progress": True}, count=_count_folder),
    DataSource("npz", _load_npz, metavar="FILE",
               root="arrays images (N,H,W,C) uint8, labels (N,), split (N,) str [, class_names]"),
)}
#: every data source's name, in registry order
SOURCE_NAMES = tuple(DATA_SOURCES)


def data_source(name: str) -> DataSource:
    """The registered `DataSource` called `name` (an error lists the names)."""
    if name not in DATA_SOURCES:
        raise ValueError(f"data_source: expected one of {list(SOURCE_NAMES)}, got {name!r}")
    return DATA_SOURCES[name]


def _options(source: DataSource, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(source.options))
    if unknown:
        raise ValueError(f"{source.name} data: unknown option(s) {unknown}; expected some of {list(source.options)}")
    return {**source.options, **options}


def load_source(name: str, root: str | Path, **options: Any) -> Dataset:
    """The Dataset of source `name` under `root` (a folder, a synthetic domain's name or a file);
    `options` as `DATA_SOURCES[name].options` (defaults filled in, unknown names are an error)."""
    source = data_source(name)
    return source.load(root, **_options(source, options))


def count_source(name: str, root: str | Path, *, decode: bool = False,
                 **options: Any) -> tuple[pd.DataFrame, dict]:
    """(counts DataFrame split,label,count; provenance dict) of source `name` under `root`, without
    decoding images where the source can (AffectNet's row list, an image folder's file names);
    decode=True loads every image first (`load_source`; AffectNet's crops fill its cache)."""
    source = data_source(name)
    opts = _options(source, options)
    if source.count is not None and not decode:
        return source.count(root, **opts)
    ds = source.load(root, **opts)
    return ds.counts(), ds.provenance


def one_of(names) -> str:
    """"a, b, c or d": `names` for an error message or a help text."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
