"""The embedded synthetic corpora: three domains shaped like AffectNet, FERPlus and CK+.

Every image is a procedural face (`rbdm_core.data.faces`) whose class is drawn with the FACS
action units of its EMFACS prototype and whose ground-truth `regions` mark the facial regions
those AUs move. Everything is a pure function of (domain, n, seed, size).

    make_domain("ferplus_like")   48x48x1, FERPlus majority-label proportions, Training/PublicTest/PrivateTest
    make_domain("affectnet_like") 96x96x3, AffectNet's imbalance, training + balanced validation
    make_domain("ckplus_like")    96x96x1 posed sequences: first (neutral) and last (apex) frame
    make_sequences(...)           the whole CK+-like sequences (AU intensity ramping 0 -> apex)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rbdm_core.checks import _is_int
from rbdm_core.data import faces
from rbdm_core.data import nuisance as _nuisance
from rbdm_core.data.dataset import FERPLUS_CLASSES, FERPLUS_SPLITS, Dataset

DOMAINS: tuple[str, ...] = ("affectnet_like", "ferplus_like", "ckplus_like")

#: FERPlus majority-label class proportions (FERPLUS_CLASSES order), approximately those of the
#: 35,488 images left after removing unknown / not-a-face (Barsoum et al. 2016).
FERPLUS_PROPORTIONS: dict[str, float] = {
    "neutral": 0.36, "happiness": 0.27, "surprise": 0.12, "sadness": 0.12,
    "anger": 0.09, "disgust": 0.006, "fear": 0.024, "contempt": 0.006,
}
#: FER2013 / FERPlus split sizes (Usage column): 28,709 / 3,589 / 3,589 of 35,887.
FERPLUS_SPLIT_SIZES: dict[str, int] = {"Training": 28709, "PublicTest": 3589, "PrivateTest": 3589}
#: AffectNet manually annotated training set, images per class (Mollahosseini et al. 2017).
AFFECTNET_TRAINING_COUNTS: dict[str, int] = {
    "neutral": 74874, "happiness": 134415, "surprise": 14090, "sadness": 25459,
    "anger": 24882, "disgust": 3803, "fear": 6378, "contempt": 3750,
}
#: CK+ sequences with a validated emotion label, per class (Lucey et al. 2010; 327 of 593).
CKPLUS_SEQUENCE_COUNTS: dict[str, int] = {
    "neutral": 0, "happiness": 69, "surprise": 83, "sadness": 28,
    "anger": 45, "disgust": 59, "fear": 25, "contempt": 18,
}
CKPLUS_SUBJECTS = 123  # subjects behind the 327 labelled CK+ sequences

#: Defaults of the quick profile: images per domain and image side in pixels.
DEFAULT_N: dict[str, int] = {"affectnet_like": 3000, "ferplus_like": 3000, "ckplus_like": 654}
DEFAULT_SIZE: dict[str, int] = {"affectnet_like": 96, "ferplus_like": 48, "ckplus_like": 96}
#: Every class gets at least this many images per split when the split has room for it
#: (FERPlus's disgust and contempt would otherwise vanish from small synthetic splits).
MIN_PER_CLASS_PER_SPLIT = 3

_DOMAIN_CODE = {"affectnet_like": 1, "ferplus_like": 2, "ckplus_like": 3}


def _proportions(counts: dict[str, float]) -> np.ndarray:
    p = np.array([counts[c] for c in FERPLUS_CLASSES], dtype=np.float64)
    return p / p.sum()


def allocate(total: int, proportions, minimum: int = 0) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `proportions` (largest remainder).

    Classes with a positive proportion get at least `minimum` (capped at total // K); the extra
    images are taken one at a time from the class with the largest count.
    """
    p = np.asarray(proportions, dtype=np.float64)
    if total < 0 or p.ndim != 1 or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"allocate: need total >= 0 and non-negative proportions, got {total}, {p}")
    p = p / p.sum()
    exact = total * p
    counts = np.floor(exact).astype(np.int64)
    rest = total - counts.sum()
    order = np.lexsort((np.arange(len(p)), -(exact - counts)))  # largest remainder, ties by index
    counts[order[:rest]] += 1
    floor = min(int(minimum), total // max(int((p > 0).sum()), 1))
    for k in np.flatnonzero((p > 0) & (counts < floor)):
        while counts[k] < floor:
            counts[int(np.argmax(counts))] -= 1
            counts[k] += 1
    return counts


def _derived_seed(seed: int, domain: str, stream: int = 0) -> int:
    ss = np.random.SeedSequence([int(seed), _DOMAIN_CODE[domain], int(stream)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] % (2**63))


def _check(domain, n, seed, size):
    if domain not in DOMAINS:
        raise ValueError(f"make_domain: domain must be one of {DOMAINS}, got {domain!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"make_domain: seed must be a non-negative int, got {seed!r}")
    if n is not None and (not _is_int(n) or n < 1):
        raise ValueError(f"make_domain: n must be a positive int (number of images) or None, got {n!r}")
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 16):
        raise ValueError(f"make_domain: size must be an int >= 16 (pixels per side) or None, got {size!r}")


def _labels_for_splits(split_sizes: dict[str, int], proportions: dict[str, np.ndarray], rng,
                       floor: int = MIN_PER_CLASS_PER_SPLIT) -> tuple[np.ndarray, np.ndarray, dict]:
    labels, split, counts = [], [], {}
    for name, m in split_sizes.items():
        c = allocate(m, proportions[name], floor)
        lab = np.repeat(np.arange(len(FERPLUS_CLASSES)), c)
        labels.append(rng.permutation(lab))
        split += [name] * m
        counts[name] = {FERPLUS_CLASSES[k]: int(c[k]) for k in range(len(c))}
    return np.concatenate(labels).astype(np.int64), np.array(split, dtype=object), counts


def _provenance(domain, n, seed, size, channels, **extra) -> dict[str, Any]:
    prov = {
        "synthetic": True,
        "source": "rbdm synthetic faces (rbdm_core.data.faces)",
        "domain": domain,
        "n": int(n),
        "seed": int(seed),
        "size": int(size),
        "channels": int(channels),
        "min_per_class_per_split": MIN_PER_CLASS_PER_SPLIT,
        "au_prototypes": {c: [f"{'U' if uni else ''}AU{au}" for au, _, uni in faces.PROTOTYPES[c]] for c in FERPLUS_CLASSES},
        "class_regions": {c: list(faces.CLASS_REGIONS[c]) for c in FERPLUS_CLASSES},
    }
    prov.update(extra)
    return prov


#: Corner of the spurious patch per domain (index into nuisance.CORNERS): the Trainer's corpus and
#: the Trainee's corpus carry their shortcut in different places, as real data sets do.
CUE_CORNER: dict[str, int] = {"affectnet_like": 0, "ferplus_like": 3}
#: Splits in which the spurious patch follows the class.
TRAINING_SPLITS: dict[str, tuple[str, ...]] = {"affectnet_like": ("training",), "ferplus_like": ("Training",)}


def make_domain(domain: str, n: int | None = None, seed: int = 0, size: int | None = None,
                nuisance: float | dict | None = 0.0, min_per_class: int | None = None) -> Dataset:
    """One synthetic corpus as a Dataset with ground-truth `regions` (N, size, size) bool.

    domain: "ferplus_like" (n images, 48x48x1 by default, FERPlus proportions and splits),
            "affectnet_like" (96x96x3, AffectNet imbalance in "training", a class-balanced
            "validation" of 10% of n), "ckplus_like" (96x96x1 posed; n images = n/2 sequences,
            n even; rows in pairs "Sxxx/yyy/first" (neutral) and "Sxxx/yyy/last" (apex); split "all").
    n: number of images (None: DEFAULT_N[domain]); seed: int >= 0; size: side in pixels
    (None: DEFAULT_SIZE[domain]). Every class gets at least MIN_PER_CLASS_PER_SPLIT images per
    split when the split has room (said in provenance, next to the target proportions).
    nuisance: a level in [0, 1] for every factor of `rbdm_core.data.nuisance.FACTORS` (clutter,
    identity, lighting, occluders, spurious), or a {factor: level} mapping; 0 gives the same
    bytes as before the factors existed, and one seed gives the same people, expressions and
    splits at every level. Only the in-the-wild domains take it (ckplus_like is a posed lab
    recording). min_per_class: the per-split floor (None: MIN_PER_CLASS_PER_SPLIT).
    """
    _check(domain, n, seed, size)
    lv = _nuisance.levels(nuisance)
    if domain == "ckplus_like" and _nuisance.active(lv):
        raise ValueError("make_domain('ckplus_like'): nuisance must be 0; the nuisance factors apply to the "
                         "in-the-wild domains affectnet_like and ferplus_like (ckplus_like renders posed lab recordings)")
    if min_per_class is not None and (not _is_int(min_per_class) or min_per_class < 0):
        raise ValueError(f"make_domain: min_per_class must be a non-negative int or None, got {min_per_class!r}")
    floor = MIN_PER_CLASS_PER_SPLIT if min_per_class is None else int(min_per_class)
    n = DEFAULT_N[domain] if n is None else int(n)
    size = DEFAULT_SIZE[domain] if size is None else int(size)
    if domain == "ckplus_like":
        if n % 2:
            raise ValueError(f"make_domain('ckplus_like'): n must be even (two frames per sequence), got {n}")
        return _ckplus_dataset(n // 2, seed, size)
    rng = np.random.default_rng(_derived_seed(seed, domain, 0))
    if domain == "ferplus_like":
        channels, style = 1, "wild"
        p = _proportions(FERPLUS_PROPORTIONS)
        fr = np.array(list(FERPLUS_SPLIT_SIZES.values()), dtype=np.float64)
        sizes = dict(zip(FERPLUS_SPLITS, allocate(n, fr).tolist()))
        labels, split, counts = _labels_for_splits(sizes, {s: p for s in sizes}, rng, floor)
        extra = {"class_proportions": dict(zip(FERPLUS_CLASSES, p.round(6).tolist())),
                 "class_proportions_reference": "FERPlus majority labels (approximate)",
                 "split_fractions": {k: v / sum(FERPLUS_SPLIT_SIZES.values()) for k, v in FERPLUS_SPLIT_SIZES.items()}}
        prefix = "ferplus_like"
    else:  # affectnet_like
        channels, style = 3, "wild"
        p = _proportions(AFFECTNET_TRAINING_COUNTS)
        n_val = min(n - 1, max(len(FERPLUS_CLASSES), int(round(0.1 * n)))) if n > 1 else 0
        sizes = {"training": n - n_val, "validation": n_val}
        balanced = np.full(len(FERPLUS_CLASSES), 1.0 / len(FERPLUS_CLASSES))
        labels, split, counts = _labels_for_splits(sizes, {"training": p, "validation": balanced}, rng, floor)
        extra = {"class_proportions": {"training": dict(zip(FERPLUS_CLASSES, p.round(6).tolist())),
                                       "validation": dict(zip(FERPLUS_CLASSES, balanced.tolist()))},
                 "class_proportions_reference": "AffectNet manually annotated training set counts; "
                                                "validation balanced like AffectNet's 500 per class"}
        prefix = "affectnet_like"
    cue = None
    if lv["spurious"] > 0:
        cue = _nuisance.cue_classes(labels, split, TRAINING_SPLITS[domain], lv["spurious"],
                                    np.random.default_rng(_derived_seed(seed, domain, 2)))
    images, regions = faces.render_faces(labels, seed=_derived_seed(seed, domain, 1), size=size,
                                         channels=channels, style=style, nuisance_levels=lv, cue=cue,
                                         cue_corner=CUE_CORNER[domain], domain_code=_DOMAIN_CODE[domain])
    ids = np.array([f"{prefix}/{i:06d}" for i in range(n)], dtype=object)
    if _nuisance.active(lv):
        extra["nuisance"] = lv
        extra["spurious_cue"] = {"corner": list(_nuisance.CORNERS[CUE_CORNER[domain]]),
                                 "follows_class_in": list(TRAINING_SPLITS[domain]),
                                 "grey_per_class": dict(zip(FERPLUS_CLASSES, _nuisance.cue_palette(_DOMAIN_CODE[domain]).tolist()))}
    if floor != MIN_PER_CLASS_PER_SPLIT:
        extra["min_per_class_per_split"] = floor
    prov = _provenance(domain, n, seed, size, channels, counts=counts, style=style, **extra)
    return Dataset(images=images, labels=labels, class_names=FERPLUS_CLASSES, split=split, ids=ids,
                   provenance=prov, regions=regions)


# ---------------------------------------------------------------------------- CK+-like sequences
@dataclass
class Sequences:
    """Posed sequences from neutral to apex.

    frames:    list of (T_i, H, W, C) uint8, frame 0 AU-free (neutral), frame T_i - 1 the apex
    intensity: list of (T_i,) float, AU intensity scale per frame (0 -> 1, smooth ramp)
    labels:    (S,) int64 apex class (index into FERPLUS_CLASSES, never neutral)
    ids:       (S,) str "Sxxx/yyy"; subjects (S,) str "Sxxx"
    regions:   (S, H, W) bool ground truth of the apex class
    params, au: renderer parameters (S rows) and apex AU intensities (S, K, 2), for re-rendering
    """

    frames: list
    intensity: list
    labels: np.ndarray
    ids: np.ndarray
    subjects: np.ndarray
    regions: np.ndarray
    params: dict = field(repr=False, default_factory=dict)
    au: np.ndarray | None = field(repr=False, default=None)
    provenance: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


def _ckplus_plan(n_seq: int, seed: int):
    """Subjects, sequence ids, labels, renderer params (identity per subject) and apex AUs."""
    domain = "ckplus_like"
    rng = np.random.default_rng(_derived_seed(seed, domain, 0))
    p = _proportions(CKPLUS_SEQUENCE_COUNTS)
    counts = allocate(n_seq, p, minimum=1)
    labels = rng.permutation(np.repeat(np.arange(len(FERPLUS_CLASSES)), counts)).astype(np.int64)
    n_subj = max(1, min(n_seq, int(round(n_seq * CKPLUS_SUBJECTS / sum(CKPLUS_SEQUENCE_COUNTS.values())))))
    numbers = np.sort(rng.choice(np.arange(5, 1000), size=n_subj, replace=n_subj > 995))
    owner = np.concatenate([np.arange(n_subj), rng.integers(0, n_subj, n_seq - n_subj)])
    owner = np.sort(owner)  # sequences listed subject by subject
    seq_no = np.zeros(n_seq, np.int64)
    for s in range(n_subj):
        rows = np.flatnonzero(owner == s)
        seq_no[rows] = np.arange(1, len(rows) + 1)
    subjects = np.array([f"S{numbers[o]:03d}" for o in owner], dtype=object)
    ids = np.array([f"{subjects[i]}/{seq_no[i]:03d}" for i in range(n_seq)], dtype=object)
    lengths = rng.integers(10, 31, n_seq)  # CK+ sequences run 10..60 frames; shorter here
    person = faces.sample_faces(n_subj, np.random.default_rng(_derived_seed(seed, domain, 1)), style="posed")
    shot = faces.sample_faces(n_seq, np.random.default_rng(_derived_seed(seed, domain, 2)), style="posed")
    params = {k: (person[k][owner] if k in faces.IDENTITY_KEYS else shot[k]) for k in shot}
    au = faces.sample_au(labels, np.random.default_rng(_derived_seed(seed, domain, 3)), side=params["side"])
    return dict(labels=labels, subjects=subjects, ids=ids, lengths=lengths, params=params, au=au,
                counts={FERPLUS_CLASSES[k]: int(counts[k]) for k in range(len(counts))}, n_subjects=n_subj)


def _ramp(T: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, T)
    return t * t * (3 - 2 * t)  # smoothstep: onset, rise, apex


def _frame_params(params, rows, frame_idx):
    """Params of selected sequences at given frames (sensor noise differs frame to frame)."""
    out = faces.index_params(params, rows)
    out["noise_seed"] = (out["noise_seed"] + np.asarray(frame_idx, np.int64) * 7919) % (2**63 - 1)
    return out


def _ckplus_prov(n_seq, seed, size, plan, **extra):
    return _provenance(
        "ckplus_like", 2 * n_seq, seed, size, 1, sequences=int(n_seq), subjects=int(plan["n_subjects"]),
        counts={"all": {**plan["counts"], "neutral": int(n_seq)}}, style="posed",
        class_proportions=dict(zip(FERPLUS_CLASSES, _proportions(CKPLUS_SEQUENCE_COUNTS).round(6).tolist())),
        class_proportions_reference="CK+ labelled sequences per emotion (apex frames); every first frame is neutral",
        **extra)


def _ckplus_dataset(n_seq: int, seed: int, size: int) -> Dataset:
    plan = _ckplus_plan(n_seq, seed)
    rows = np.repeat(np.arange(n_seq), 2)
    last = plan["lengths"] - 1
    frame_idx = np.where(np.arange(2 * n_seq) % 2 == 0, 0, last[rows])
    params = _frame_params(plan["params"], rows, frame_idx)
    inten = np.where(frame_idx == 0, 0.0, 1.0).astype(np.float32)
    au = plan["au"][rows] * inten[:, None, None]
    labels = np.where(frame_idx == 0, 0, plan["labels"][rows]).astype(np.int64)
    images, regions = faces.draw_faces(params, au, labels, size=size, channels=1)
    ids = np.array([f"{plan['ids'][r]}/{'first' if j % 2 == 0 else 'last'}" for j, r in enumerate(rows)], dtype=object)
    return Dataset(images=images, labels=labels, class_names=FERPLUS_CLASSES,
                   split=np.full(2 * n_seq, "all", dtype=object), ids=ids,
                   provenance=_ckplus_prov(n_seq, seed, size, plan), regions=regions)


def make_sequences(n_sequences: int | None = None, seed: int = 0, size: int | None = None) -> Sequences:
    """Whole CK+-like posed sequences (the ones `make_domain("ckplus_like", 2 * n_sequences, seed,
    size)` takes its first and last frames from): frame t has AU intensity ramp(t) * apex, the
    same person, pose and light throughout, fresh sensor noise per frame."""
    if n_sequences is not None and (not _is_int(n_sequences) or n_sequences < 1):
        raise ValueError(f"make_sequences: n_sequences must be a positive int or None, got {n_sequences!r}")
    _check("ckplus_like", None if n_sequences is None else 2 * int(n_sequences), seed, size)
    n_seq = DEFAULT_N["ckplus_like"] // 2 if n_sequences is None else int(n_sequences)
    size = DEFAULT_SIZE["ckplus_like"] if size is None else int(size)
    plan = _ckplus_plan(n_seq, seed)
    frames, ramps = [], []
    regions = np.empty((n_seq, size, size), bool)
    for s in range(n_seq):
        T = int(plan["lengths"][s])
        ramp = _ramp(T)
        rows = np.full(T, s)
        au = plan["au"][rows] * ramp[:, None, None].astype(np.float32)
        labels = np.where(np.arange(T) == 0, 0, plan["labels"][s]).astype(np.int64)
        img, reg = faces.draw_faces(_frame_params(plan["params"], rows, np.arange(T)), au, labels, size=size, channels=1)
        frames.append(img)
        ramps.append(ramp)
        regions[s] = reg[-1]
    return Sequences(frames=frames, intensity=ramps, labels=plan["labels"], ids=plan["ids"],
                     subjects=plan["subjects"], regions=regions, params=plan["params"], au=plan["au"],
                     provenance=_ckplus_prov(n_seq, seed, size, plan))
