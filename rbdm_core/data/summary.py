"""Tables about the corpora (chapter 1): the paper's sizes beside a run's (`paper_counts_table`),
images per class and split (`counts_table`), class shares against a reference (`share_table`),
and the CK+ sequences' first and last frames (`sequence_pairs`)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core.data.dataset import Dataset

#: the paper's corpora after its cleaning: (corpus, role, the paper's count (quoted), the stand-in)
PAPER_CORPORA = (
    ("AffectNet", "Trainer", "269,118 images after removing duplicates and non-emotion labels", "AffectNet-like"),
    ("FERPlus", "Trainee", "35,488 images after removing unknown and not-a-face majorities", "FERPlus-like"),
    ("CK+", "gaze study", "654 images: first and last frame of 327 labelled sequences", "CK+-like"),
)
#: the paper's image counts per corpus
PAPER_N = {"AffectNet": 269118, "FERPlus": 35488, "CK+": 654}


def paper_counts_table(corpora: Mapping[str, Dataset], synthetic_run: bool = True) -> pd.DataFrame:
    """The paper's corpora (`PAPER_CORPORA`) beside this run's: column "this run" = "<N> images
    (synthetic|real[, an image folder])" of `corpora` ({name: Dataset}, in PAPER_CORPORA's order).
    With synthetic_run the rows are looked up by stand-in name and the "stand-in" column stays;
    otherwise the corpora are taken in order and that column is left out."""
    t = pd.DataFrame(list(PAPER_CORPORA), columns=["corpus", "role in the paper", "the paper's count", "stand-in"])
    if not synthetic_run:
        t = t.drop(columns="stand-in").assign(**{"stand-in": list(corpora)})
    t["this run"] = [f"{len(corpora[s])} images ({'synthetic' if corpora[s].is_synthetic else 'real'}"
                     + (", an image folder)" if s == "image folder" else ")") for s in t["stand-in"]]
    return t if synthetic_run else t.drop(columns="stand-in")


def counts_table(ds: Dataset) -> pd.DataFrame:
    """Images per class and split: one row per class (in `ds.class_names` order) and a last row
    "all classes"; columns class, one per split (in `ds.splits` order) and "total" (counts)."""
    c = ds.counts()
    t = c.pivot(index="label", columns="split", values="count").reindex(index=list(ds.class_names))
    t = t[list(ds.splits)]
    t["total"] = t.sum(axis=1)
    t.loc["all classes"] = t.sum(axis=0)
    t.index.name = "class"
    return t.reset_index()


def share_table(ds: Dataset, split: str, reference: Mapping[str, float], label: str = "synthetic") -> pd.DataFrame:
    """Class shares of `split` against a reference: one row per class; columns class, "reference
    share" (`reference` {class: count or proportion}, normalised to sum 1), "<label> share" (share
    of the split's images, 0..1) and difference (the split's share minus the reference's)."""
    sub = ds.select_split(split)
    got = np.bincount(sub.labels, minlength=len(ds.class_names)) / len(sub)
    ref = np.array([reference[c] for c in ds.class_names], dtype=float)
    ref = ref / ref.sum()
    return pd.DataFrame({"class": list(ds.class_names), "reference share": ref, f"{label} share": got,
                         "difference": got - ref})


def sequence_pairs(ids: Sequence[str], n: int = 4) -> np.ndarray:
    """(2 n,) int: the indices of the first `n` sequences' first frames (ids ending "/first") each
    followed by the same sequence's last frame (the id with "/last")."""
    ids = pd.Series(np.asarray(ids, dtype=str))
    pairs = []
    for i in np.flatnonzero(ids.str.endswith("/first"))[:n]:
        pairs += [int(i), int(np.flatnonzero(ids == ids[i].replace("/first", "/last"))[0])]
    return np.array(pairs, dtype=np.int64)


def class_distribution_table(labels: np.ndarray, class_names: Sequence[str], reference: Mapping[str, int],
                             reference_name: str = "AffectNet", run_name: str = "this run") -> pd.DataFrame:
    """Images per class of a reference corpus (`reference` {class: count}) beside a run's
    (`labels` (N,) class indices into `class_names`, counted with bincount): columns class,
    "<reference_name> images", "<reference_name> share", "<run_name> images", "<run_name> share"
    (shares 0..1 of each corpus's total)."""
    ref = np.array([reference[c] for c in class_names])
    ours = np.bincount(np.asarray(labels), minlength=len(class_names))
    return pd.DataFrame({"class": list(class_names), f"{reference_name} images": ref,
                         f"{reference_name} share": ref / ref.sum(),
                         f"{run_name} images": ours, f"{run_name} share": ours / ours.sum()})
