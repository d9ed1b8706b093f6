"""Data: the `Dataset` type, the embedded synthetic corpora and readers for the real ones."""

from rbdm_core.data.dataset import FERPLUS_CLASSES, FERPLUS_SPLITS, Dataset

__all__ = ["Dataset", "FERPLUS_CLASSES", "FERPLUS_SPLITS"]
