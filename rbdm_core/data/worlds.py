"""The study's worlds: a Trainee corpus per nuisance factor, with class-balanced splits, nested
training sets, a cue-flipped test set and class-independent oracle regions.

    WORLDS                      name -> {factor: level} (rbdm_core.data.nuisance): one factor at a
                                time ("spurious", "clutter", "occluders") and all together ("all")
    make_world(name, ...)       -> World: the FERPlus-like 48x48 gray corpus of that world
    World.training(k)           the first k training images of every class (nested: k=20 is inside
                                k=60, which is inside k=200), with their oracle masks
    patch_box(size, corner)     every pixel the spurious patch can cover

What each split holds:
    pool      "Training", `max_per_class` per class: the spurious patch (in the spurious and all
              worlds) shows the image's own class with probability = the spurious level, else a
              random class's grey (`nuisance.cue_classes`);
    val       "PublicTest", `val_per_class` per class, no patch: model selection and learning curves;
    test      "PrivateTest", `test_per_class` per class, no patch: the study's reported F1;
    flipped   the same PrivateTest faces with the patch showing another class's grey (a class
              drawn uniformly among the seven others): a Trainee that reads the patch is pulled
              towards the wrong class, one that reads the face is not. In a world without the
              spurious factor there is no patch, and `flipped` equals `test`.
Every split is drawn with the same people, expressions and nuisance at every world (one seed),
and the ground-truth `regions` follow each world exactly (an occluder removes what it hides).

The oracle mask of an image is the union of every expression region (brows, eyes, cheeks,
nose, mouth) drawn on the person's face *at rest* (no action unit), less what an occluder or the
patch covers. At rest, its outline depends on the person, the pose and the occluder, which are
drawn independently of the class, and never on the expression: the outline carries no label
(tests/test_study_world.py holds a linear probe on the masks alone to chance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rbdm_core.checks import _is_int
from rbdm_core.data import faces
from rbdm_core.data import nuisance as _nuisance
from rbdm_core.data.dataset import FERPLUS_CLASSES, Dataset

#: The worlds of the study: one nuisance factor at a time, and all five together.
WORLDS: dict[str, dict[str, float]] = {
    "spurious": {"spurious": 1.0},
    "clutter": {"clutter": 1.0},
    "occluders": {"occluders": 1.0},
    "all": {f: 1.0 for f in _nuisance.FACTORS},
}
#: Corner of the Trainee corpus's spurious patch (as the FERPlus-like domain's) and its palette.
CUE_CORNER = 3
DOMAIN_CODE = 2
SIZE = 48
K = len(FERPLUS_CLASSES)


def patch_box(size: int = SIZE, corner: int = CUE_CORNER) -> np.ndarray:
    """(size, size) bool: every pixel the spurious patch can cover in `corner` (jitter included)."""
    cx, cy = _nuisance.CORNERS[corner]
    lin = (np.arange(size) + 0.5) / size * 2 - 1
    reach = _nuisance.PATCH_HALF + 0.04
    return (np.abs(lin[:, None] - cy) <= reach) & (np.abs(lin[None, :] - cx) <= reach)


@dataclass
class World:
    """One world's corpus. pool / val / test / flipped: Datasets (see the module docstring);
    oracle_pool / oracle_val / oracle_test: (N, 48, 48) bool oracle masks of those images;
    cue_pool: (N,) int, the class whose grey the patch shows in each pool image (-1: no patch)."""

    name: str
    levels: dict[str, float]
    pool: Dataset
    val: Dataset
    test: Dataset
    flipped: Dataset
    oracle_pool: np.ndarray
    oracle_val: np.ndarray
    oracle_test: np.ndarray
    cue_pool: np.ndarray
    seed: int = 0
    provenance: dict = field(default_factory=dict)

    @property
    def max_per_class(self) -> int:
        return int(np.bincount(self.pool.labels, minlength=K).min())

    def training_index(self, per_class: int) -> np.ndarray:
        """Pool indices of the first `per_class` images of every class, in pool order."""
        if not _is_int(per_class) or not 1 <= per_class <= self.max_per_class:
            raise ValueError(f"train_per_class: expected an int in 1..{self.max_per_class} (the world's "
                             f"pool has {self.max_per_class} per class), got {per_class!r}")
        lab = self.pool.labels
        rank = np.zeros(len(lab), np.int64)
        for k in range(K):
            idx = np.flatnonzero(lab == k)
            rank[idx] = np.arange(len(idx))
        return np.flatnonzero(rank < per_class)

    def training(self, per_class: int) -> tuple[Dataset, np.ndarray]:
        """(Dataset "Training" of `per_class` images per class, their (N, 48, 48) oracle masks)."""
        idx = self.training_index(per_class)
        return self.pool.subset(idx), self.oracle_pool[idx]


def _derived(seed: int, stream: int) -> int:
    ss = np.random.SeedSequence([int(seed), 4242, int(stream)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] % (2**63))


def _balanced_labels(per_class: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.repeat(np.arange(K), int(per_class))).astype(np.int64)


def _render(labels, seed, lv, cue):
    images, regions, params, au = faces.render_faces(
        labels, seed=seed, size=SIZE, channels=1, style="wild", nuisance_levels=lv, cue=cue,
        cue_corner=CUE_CORNER, domain_code=DOMAIN_CODE, return_params=True)
    _, oracle = faces.draw_faces(params, np.zeros_like(au), labels, size=SIZE, channels=1,
                                 region_names=faces.REGION_NAMES)
    return images, regions, oracle


def make_world(name: str, max_per_class: int = 200, val_per_class: int = 30, test_per_class: int = 50,
               seed: int = 0) -> World:
    """The corpus of world `name` (a key of WORLDS). A pure function of its arguments."""
    if name not in WORLDS:
        raise ValueError(f"world: expected one of {list(WORLDS)}, got {name!r}")
    for arg, v in (("max_per_class", max_per_class), ("val_per_class", val_per_class),
                   ("test_per_class", test_per_class)):
        if not _is_int(v) or v < 1:
            raise ValueError(f"make_world: {arg}: expected a positive int, got {v!r}")
    lv = _nuisance.levels(WORLDS[name])
    rng = np.random.default_rng(_derived(seed, 0))
    lab_pool = _balanced_labels(max_per_class, rng)
    lab_val = _balanced_labels(val_per_class, rng)
    lab_test = _balanced_labels(test_per_class, rng)
    cue = None
    cue_pool = np.full(len(lab_pool), -1, np.int64)
    if lv["spurious"] > 0:
        cue = _nuisance.cue_classes(lab_pool, np.full(len(lab_pool), "Training"), ("Training",), lv["spurious"],
                                    np.random.default_rng(_derived(seed, 1)))
        cue_pool = cue
    flip = (lab_test + 1 + np.random.default_rng(_derived(seed, 2)).integers(0, K - 1, len(lab_test))) % K
    img_p, reg_p, orc_p = _render(lab_pool, _derived(seed, 10), lv, cue)
    img_v, reg_v, orc_v = _render(lab_val, _derived(seed, 11), lv, None)
    img_t, reg_t, orc_t = _render(lab_test, _derived(seed, 12), lv, None)
    img_f, reg_f, _ = _render(lab_test, _derived(seed, 12), lv, flip if lv["spurious"] > 0 else None)
    prov = {"synthetic": True, "source": "rbdm synthetic faces (rbdm_core.data.faces)", "world": name,
            "nuisance": lv, "seed": int(seed), "size": SIZE, "channels": 1,
            "per_class": {"Training": int(max_per_class), "PublicTest": int(val_per_class),
                          "PrivateTest": int(test_per_class)},
            "spurious_cue": {"corner": list(_nuisance.CORNERS[CUE_CORNER]), "follows_class_in": ["Training"],
                             "held_out": "no patch (test); another class's grey (flipped)"}}

    def ds(images, labels, regions, split, prefix):
        ids = np.array([f"{name}/{prefix}/{i:05d}" for i in range(len(labels))], dtype=object)
        return Dataset(images=images, labels=labels, class_names=FERPLUS_CLASSES,
                       split=np.full(len(labels), split, dtype=object), ids=ids, provenance=prov, regions=regions)

    test = ds(img_t, lab_test, reg_t, "PrivateTest", "test")
    flipped = ds(img_f, lab_test, reg_f, "PrivateTest", "flipped")
    return World(name, lv, ds(img_p, lab_pool, reg_p, "Training", "train"), ds(img_v, lab_val, reg_v, "PublicTest", "val"),
                 test, flipped, orc_p, orc_v, orc_t, cue_pool, int(seed), prov)
