"""CK+ reader: first frame (neutral) and last frame (labelled) of each labelled sequence.

Input, under ROOT (as distributed):
  cohn-kanade-images/Sxxx/yyy/Sxxx_yyy_<frame>.png      frames, in order of their names
  Emotion/Sxxx/yyy/Sxxx_yyy_<frame>_emotion.txt          one float, e.g. "   3.0000000e+00"
Emotion codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise.
Only sequences with an emotion file are used (327 of 593 in CK+, giving 654 images). Following
the paper, the sequence's last frame carries the label; when the emotion file names another frame,
the last frame is still used and the case is counted in provenance["label_frame_not_last"].
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from rbdm_core.data.dataset import FERPLUS_CLASSES, Dataset
from rbdm_core.data.images import _check_channels, _check_size, center_square, open_image, resize
from rbdm_core.progress import disabled

#: CK+ emotion code 0..7 -> FERPlus class name.
CKPLUS_TO_FERPLUS: tuple[str, ...] = (
    "neutral", "anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise",
)
CODE_TO_LABEL = np.array([FERPLUS_CLASSES.index(n) for n in CKPLUS_TO_FERPLUS], dtype=np.int64)
IMAGE_DIR = "cohn-kanade-images"
EMOTION_DIR = "Emotion"


def read_emotion_file(path: str | Path) -> int:
    """The code 0..7 in a CK+ `*_emotion.txt` file; ValueError naming the file otherwise."""
    path = Path(path)
    text = path.read_text().strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}: holds {text!r}, expected one number, an emotion code 0..7") from None
    if not value.is_integer() or not 0 <= value <= 7:
        raise ValueError(
            f"{path}: emotion code {text!r} is out of range, expected an int 0..7 "
            f"({', '.join(f'{i} {n}' for i, n in enumerate(CKPLUS_TO_FERPLUS))})"
        )
    return int(value)


def labelled_sequences(root: str | Path) -> list[tuple[str, str, Path]]:
    """[(subject, sequence, emotion file)] for every sequence with an emotion file, sorted."""
    root = Path(root)
    emo = root / EMOTION_DIR
    if not root.is_dir():
        raise FileNotFoundError(f"CK+ root folder {root} does not exist")
    if not emo.is_dir():
        raise FileNotFoundError(f"CK+ emotion folder {emo} does not exist (expected {EMOTION_DIR}/Sxxx/yyy/ under {root})")
    if not (root / IMAGE_DIR).is_dir():
        raise FileNotFoundError(
            f"CK+ image folder {root / IMAGE_DIR} does not exist (expected {IMAGE_DIR}/Sxxx/yyy/ under {root})")
    out = []
    for subj in sorted(p for p in emo.iterdir() if p.is_dir()):
        for seq in sorted(p for p in subj.iterdir() if p.is_dir()):
            found = sorted(seq.glob("*_emotion.txt"))
            if len(found) > 1:
                raise ValueError(f"{seq}: {len(found)} emotion files, expected at most one per sequence")
            if found:
                out.append((subj.name, seq.name, found[0]))
    if not out:
        raise ValueError(f"CK+ emotion folder {emo} is empty: no Sxxx/yyy/*_emotion.txt file found")
    return out


def read_ckplus(
    root: str | Path,
    size: int | tuple[int, int] = 96,
    channels: int = 1,
    folds: int | None = None,
    keep_aspect: bool = True,
    progress: bool = True,
) -> Dataset:
    """Read CK+ into a Dataset of `(2 * sequences, h, w, channels) uint8` images.

    size:        output side in pixels (int) or (height, width)
    channels:    1 (grayscale, default) or 3 (RGB)
    folds:       None -> split "all"; k -> subject-wise folds "fold0".."fold{k-1}" (subjects in
                 sorted order assigned round-robin)
    keep_aspect: crop the centred square of each frame before resizing (else stretch)
    Rows come in pairs per sequence: ids "Sxxx/yyy/first" (label neutral) and "Sxxx/yyy/last"
    (the emotion file's label); labels index FERPLUS_CLASSES. provenance: "sequences" (labelled),
    "first_frames" / "last_frames" (images read as each), "dropped" {"unlabelled_sequences"},
    "label_frame_not_last" (emotion file naming another frame than the last).
    """
    size = _check_size(size)
    _check_channels(channels)
    if folds is not None and (int(folds) != folds or folds < 2):
        raise ValueError(f"folds: expected None or an int >= 2, got {folds!r}")
    root = Path(root)
    seqs = labelled_sequences(root)
    subjects = sorted({s for s, _, _ in seqs})
    fold_of = {s: (f"fold{i % folds}" if folds else "all") for i, s in enumerate(subjects)}

    n = 2 * len(seqs)
    images = np.zeros((n, size[0], size[1], channels), np.uint8)
    labels = np.zeros(n, np.int64)
    ids, split, not_last = [], [], 0
    for i, (subj, seq, efile) in enumerate(tqdm(seqs, desc="reading CK+", unit="sequence",
                                                 file=sys.stderr, disable=disabled(not progress), leave=False)):
        code = read_emotion_file(efile)
        fdir = root / IMAGE_DIR / subj / seq
        if not fdir.is_dir():
            raise FileNotFoundError(f"{efile}: its frame folder {fdir} does not exist")
        frames = sorted(fdir.glob("*.png"))
        if not frames:
            raise ValueError(f"CK+ frame folder {fdir} is empty: expected the sequence's *.png frames")
        if efile.name[: -len("_emotion.txt")] != frames[-1].stem:
            not_last += 1
        for j, (frame, label) in enumerate(((frames[0], 0), (frames[-1], int(CODE_TO_LABEL[code])))):
            im = open_image(frame, channels, what=f"CK+ sequence {subj}/{seq}: ")
            images[2 * i + j] = resize(center_square(im) if keep_aspect else im, size)
            labels[2 * i + j] = label
            ids.append(f"{subj}/{seq}/{'first' if j == 0 else 'last'}")
            split.append(fold_of[subj])
    n_seq_dirs = sum(1 for d in (root / IMAGE_DIR).glob("*/*") if d.is_dir())
    provenance = {
        "synthetic": False,
        "source": "ckplus",
        "files": [str((root / IMAGE_DIR).resolve()), str((root / EMOTION_DIR).resolve())],
        "rule": "first frame neutral, last frame labelled by the sequence's emotion file",
        "sequences": len(seqs),
        "first_frames": len(seqs),
        "last_frames": len(seqs),
        "subjects": len(subjects),
        "dropped": {"unlabelled_sequences": max(0, n_seq_dirs - len(seqs))},
        "label_frame_not_last": not_last,
        "size": list(size),
        "channels": channels,
        "folds": folds,
    }
    return Dataset(images=images, labels=labels, class_names=FERPLUS_CLASSES, split=np.array(split, object),
                   ids=np.array(ids, object), provenance=provenance)
