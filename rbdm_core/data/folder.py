"""Image folders as corpora: `ROOT/<label>/*` or `ROOT/<split>/<label>/*`.

The way labs keep their own labelled faces (JAFFE, KDEF, RAF-DB exports, their own recordings):
one folder per class, optionally inside one folder per split (train / val / test, or any names;
without split folders every image is in split "all"). Label folders are matched to the FERPlus
class names case-insensitively, with the usual synonyms (`LABEL_SYNONYMS`: happy, angry, sad,
surprised, fearful, disgusted, ...); a label folder that matches no class is an error that names
it. Images: PNG or JPEG (any case of extension), any size and mode; they are cropped to their
centred square and resized (`size`, default 48) in grayscale (`channels=1`, as FERPlus) or RGB.
Other files are skipped and counted in the provenance (`skipped_files`). The folder is read,
never written.

    read_folder(root, size=48, channels=1, keep_aspect=True, progress=True) -> Dataset
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from rbdm_core.data.dataset import FERPLUS_CLASSES, Dataset
from rbdm_core.data.images import _check_channels, _check_size, center_square, open_image, resize
from rbdm_core.progress import disabled

#: Image file extensions read (compared case-insensitively).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
#: Folder names (lower case) accepted for each FERPlus class, besides the class name itself.
LABEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "neutral": ("neutrality", "calm"),
    "happiness": ("happy", "joy", "happiness"),
    "surprise": ("surprised", "surprise"),
    "sadness": ("sad", "sadness"),
    "anger": ("angry", "anger", "mad"),
    "disgust": ("disgusted", "disgust"),
    "fear": ("fearful", "afraid", "scared", "fear"),
    "contempt": ("contemptuous", "contempt"),
}
_LOOKUP = {name: k for k, c in enumerate(FERPLUS_CLASSES) for name in (c, *LABEL_SYNONYMS[c])}


def label_of(folder_name: str) -> int | None:
    """Index into FERPLUS_CLASSES of a label folder's name (case-insensitive, synonyms), or None."""
    return _LOOKUP.get(folder_name.strip().lower())


def _is_image(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS


def _visible(p: Path) -> bool:
    return not p.name.startswith(".")


def scan(root: str | Path) -> tuple[list[tuple[str, int, Path]], dict]:
    """The images of an image-folder corpus: [(split, label index, path)] in sorted order, and
    counts of what was skipped. Raises a ValueError naming a label folder that matches no class."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root}: not a folder (expected ROOT/<label>/* or ROOT/<split>/<label>/*)")
    subdirs = sorted(d for d in root.iterdir() if d.is_dir() and _visible(d))
    if not subdirs:
        raise ValueError(f"image folder {root}: no label folders (expected ROOT/<label>/* or ROOT/<split>/<label>/*)")
    # a folder whose name is a class is a label folder; otherwise it must be a split of label folders
    by_label = [d for d in subdirs if label_of(d.name) is not None]
    if by_label and len(by_label) == len(subdirs):
        groups = [("all", d) for d in subdirs]
        layout = "ROOT/<label>/*"
    elif by_label:
        odd = [d.name for d in subdirs if label_of(d.name) is None]
        raise ValueError(f"image folder {root}: folder(s) {odd} match no class; label folders must be one of "
                         f"{_valid_names()} (or put them all in split folders)")
    else:
        groups = []
        for split_dir in subdirs:
            if any(_is_image(p) for p in split_dir.iterdir()):  # images right inside: meant as a label folder
                raise ValueError(f"image folder {root}: folder(s) {[split_dir.name]} match no class (it holds images, so "
                                 f"it is a label folder); label folders must be one of {_valid_names()}")
            labels = sorted(d for d in split_dir.iterdir() if d.is_dir() and _visible(d))
            bad = [d.name for d in labels if label_of(d.name) is None]
            if bad:
                raise ValueError(f"image folder {root}: label folder(s) {[f'{split_dir.name}/{b}' for b in bad]} "
                                 f"match no class; expected one of {_valid_names()}")
            if not labels:
                raise ValueError(f"image folder {root}: split folder {split_dir.name!r} holds no label folders")
            groups += [(split_dir.name, d) for d in labels]
        layout = "ROOT/<split>/<label>/*"
    items, skipped, nested = [], 0, 0
    for split, d in groups:
        for p in sorted(d.iterdir()):
            if not _visible(p):
                continue
            if _is_image(p):
                items.append((split, label_of(d.name), p))
            elif p.is_dir():
                nested += 1
            else:
                skipped += 1
    if not items:
        raise ValueError(f"image folder {root}: no images ({', '.join(IMAGE_EXTENSIONS)}, any case) in its label folders")
    return items, {"skipped_files": skipped, "skipped_folders": nested, "layout": layout}


def _valid_names() -> list[str]:
    return sorted(_LOOKUP)


def read_folder(root: str | Path, size: int | tuple[int, int] = 48, channels: int = 1, keep_aspect: bool = True,
                progress: bool = True) -> Dataset:
    """An image-folder corpus as a Dataset of `(N, h, w, channels) uint8` (see the module doc).
    ids are the paths relative to `root`; an unreadable image is an error naming it."""
    size = _check_size(size)
    _check_channels(channels)
    root = Path(root)
    items, counts = scan(root)
    images = np.zeros((len(items), size[0], size[1], channels), np.uint8)
    for i, (_, _, p) in enumerate(tqdm(items, desc="reading images", unit="image", file=sys.stderr,
                                       disable=disabled(not progress), leave=False)):
        im = open_image(p, channels, what=f"image folder {root}: ")
        images[i] = resize(center_square(im) if keep_aspect else im, size)
    folders = sorted({p.parent.name for _, _, p in items})
    provenance = {
        "synthetic": False,
        "source": "folder",
        "files": [str(root.resolve())],
        "layout": counts["layout"],
        "label_folders": {f: FERPLUS_CLASSES[label_of(f)] for f in folders},
        "images": len(items),
        "dropped": {"skipped_files": counts["skipped_files"], "skipped_folders": counts["skipped_folders"]},
        "size": list(size),
        "channels": channels,
        "keep_aspect": keep_aspect,
    }
    return Dataset(images=images, labels=np.array([lab for _, lab, _ in items], np.int64), class_names=FERPLUS_CLASSES,
                   split=np.array([s for s, _, _ in items], object),
                   ids=np.array([str(p.relative_to(root)) for _, _, p in items], object), provenance=provenance)


#: Split-folder name prefixes (lower case) and the FERPlus split they become in `as_target_splits`.
SPLIT_PREFIXES: tuple[tuple[str, str], ...] = (("train", "Training"), ("val", "PublicTest"), ("dev", "PublicTest"),
                                                ("test", "PrivateTest"))


def as_target_splits(ds: Dataset, validation_share: float = 0.2, seed: int = 0) -> Dataset:
    """An image-folder corpus with FERPlus's split names, so it can stand in for the Trainee's
    corpus (the pipeline trains on "Training" and validates on "PublicTest").

    Split folders are mapped by name: train* -> Training, val* / dev* -> PublicTest, test* ->
    PrivateTest (or PublicTest when there is no validation folder); any other split name is an
    error naming it. Without split folders (split "all"), each class's images are shuffled with
    `seed` and round(validation_share * n) of them (at least one when the class has two or more)
    go to PublicTest, the rest to Training. provenance["split_map"] records what became what."""
    splits = [str(s) for s in ds.splits]
    prov = dict(ds.provenance or {})
    new = np.empty(len(ds), dtype=object)
    if splits == ["all"]:
        rng = np.random.default_rng(seed)
        new[:] = "Training"
        for k in range(len(ds.class_names)):
            idx = np.flatnonzero(ds.labels == k)
            n_val = max(1, int(round(validation_share * len(idx)))) if len(idx) >= 2 else 0
            new[rng.permutation(idx)[:n_val]] = "PublicTest"
        prov["split_map"] = {"all": f"Training / PublicTest ({validation_share:g} of each class, seed {seed})"}
    else:
        mapping = {}
        for s in splits:
            hit = next((to for pre, to in SPLIT_PREFIXES if s.lower().startswith(pre)), None)
            if hit is None:
                raise ValueError(f"image folder {prov.get('files', ['?'])[0]}: split folder {s!r} is not a training, "
                                 f"validation or test split; name split folders train*, val* (or dev*) and test*")
            mapping[s] = hit
        if "Training" not in mapping.values():
            raise ValueError(f"image folder {prov.get('files', ['?'])[0]}: no training split folder (train*) among "
                             f"{splits}")
        if "PublicTest" not in mapping.values():
            mapping = {s: ("PublicTest" if to == "PrivateTest" else to) for s, to in mapping.items()}
        if "PublicTest" not in mapping.values():
            raise ValueError(f"image folder {prov.get('files', ['?'])[0]}: no validation or test split folder "
                             f"(val*, dev* or test*) among {splits}")
        for s, to in mapping.items():
            new[ds.split == s] = to
        prov["split_map"] = mapping
    return Dataset(images=ds.images, labels=ds.labels, class_names=ds.class_names, split=new, ids=ds.ids,
                   regions=ds.regions, provenance=prov)
