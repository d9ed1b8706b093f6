"""Run profiles: every size, count and switch of one run of the whole pipeline.

`quick` (the default): the embedded synthetic corpora, small models, a few epochs -- the whole book
in minutes on a 2-core laptop CPU. `paper`: the real corpora (paths given by the user), the paper's
architectures, epochs and recipe -- for a GPU in the NVIDIA TensorFlow container. The CLI
(`rbdm train`, `rbdm book`) and the book's chapters all read their defaults from here.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

#: The seven Trainee variants of the paper, in the order its figures list them.
VARIANTS = (
    "no-mask",
    "negative",
    "mean",
    "perceptive",
    "negative-then-unmasked",
    "mean-then-unmasked",
    "perceptive-then-unmasked",
)



@dataclass(frozen=True)
class Profile:
    """Sizes and counts of one run of the whole pipeline.

    synthetic: embedded synthetic corpora (True) or the real corpora from `roots` (False);
    source_n / target_n / gaze_n: images per synthetic domain (None = the domain's default);
    source_size: side of the AffectNet(-like) images in pixels;
    trainer_candidates: architectures compared as Trainer (the best validation F1 is kept);
    trainer_epochs, trainee_epochs: training epochs; switch_epoch: epoch at which the
        `*-then-unmasked` variants switch to unmasked images;
    trainee: the Trainee architecture (quick: `tiny_cnn`, small_cnn with a quarter of the filters,
        the study's Trainee: weaker than either Trainer candidate, as the method presumes, and
        about 3.5x faster per run than small_cnn on 2 CPU cores; benchmarks/bench_book.py);
        seeds: Trainee seeds per variant;
    eval_every: validation every K training steps; max_steps_per_epoch: cap (None = full epochs);
    relevance_method: saliency method for the masks (the paper: deep Taylor);
    negative_fraction: share of pixels the negative mask removes;
    fill: what the Trainee's masked images show where pixels are removed (a name in
        `masking.FILLS`: "zero", the paper's, or e.g. "noisy_linear", the noisy linear
        imputation of ROAD, which shrinks what the mask's outline tells a linear probe but does not
        remove all of it: chapter 6 measures the residual leak with `rbdm_core.leakage`);
    perceptive_n: pseudo-fixations per image for the perceptive mask (None = the mean number of
        fixations per image in the gaze study, as in the paper);
    annotators: simulated annotators in the gaze study;
    augment, class_weighted: the paper's augmentation and class-weighted loss (on in `paper`; off in
        `quick`, where at 48 px and a few epochs they held a small network near chance; the
        measurement is in docs/architecture.md, "Profiles");
    input_size: model input side (None: the data's size raised to the architecture's minimum;
        "paper": 299 for Xception/InceptionV3, 224 for MobileNetV2/VGG);
    nuisance: level in [0, 1] of the synthetic world's nuisance factors (clutter, identity,
        lighting, occluders, a spurious cue that follows the class in the training split only;
        `rbdm_core.data.nuisance`) in the Trainer's and the Trainee's corpora (not in the posed gaze
        images); 0 = the base world;
    min_per_class: per-split floor of images per class in the synthetic corpora (None: the
        generator's default, 3);
    roots: corpus folders named in a profile file ({"ferplus": ..., "affectnet": ...,
        "ckplus": ..., "folder": ...}; None: given to the Pipeline or taken from $RBDM_<NAME>_ROOT).
        `folder` is an image folder (ROOT/<label>/* or ROOT/<split>/<label>/*,
        `rbdm_core.data.folder`) that replaces the Trainee's corpus (FERPlus, or the FERPlus-like
        stand-in under a synthetic base): the Trainer still learns on AffectNet (or its stand-in),
        its relevance masks the folder's images, and the Trainee variants train on them. Split
        folders train* / val* (dev*) / test* become Training / PublicTest / PrivateTest; a folder
        without splits has 20 % of each class drawn (seed 0) for validation (PublicTest). With a
        `folder` root the FERPlus root is not needed. "gaze" is a gaze recording (a file,
        `gaze.recordings`) used instead of the simulated annotators, with the synthetic or the
        real corpora.
    """

    name: str
    synthetic: bool = True
    source_n: int | None = 2400
    source_size: int = 48
    target_n: int | None = 2400
    gaze_n: int | None = 120
    trainer_candidates: tuple[str, ...] = ("small_cnn", "small_resnet")
    trainer_epochs: int = 4
    trainee: str = "tiny_cnn"
    trainee_epochs: int = 4
    switch_epoch: int = 2
    seeds: tuple[int, ...] = (0, 1, 2)
    eval_every: int = 20
    max_steps_per_epoch: int | None = None
    relevance_method: str = "deep_taylor"
    negative_fraction: float = 0.1
    fill: str = "zero"
    perceptive_n: int | None = None
    annotators: int = 2
    augment: bool = False
    class_weighted: bool = False
    input_size: int | str | None = None
    nuisance: float = 0.0
    min_per_class: int | None = None
    roots: Mapping[str, str] | None = None

    def recipe(self, epochs: int):
        """The training Recipe of this profile (paper: Adam 1e-3, batch 32, class weights, augmentation)."""
        from .training import Recipe  # deferred: training pulls scipy in (through masking); profiles is loaded by `rbdm --help`

        return Recipe(epochs=epochs, eval_every=self.eval_every, max_steps_per_epoch=self.max_steps_per_epoch,
                      augment=self.augment, class_weighted=self.class_weighted)

    def with_(self, **changes: Any) -> "Profile":
        """A copy with some fields changed (unknown names are an error)."""
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            raise ValueError(f"Profile: unknown parameter(s) {unknown}; expected some of {sorted(self.__dataclass_fields__)}")
        for k in ("trainer_candidates", "seeds"):
            if k in changes and not isinstance(changes[k], tuple):
                changes[k] = tuple(changes[k])
        return replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick"),
    "paper": Profile(
        "paper",
        synthetic=False,
        source_n=None,
        source_size=299,
        target_n=None,
        gaze_n=None,
        trainer_candidates=("xception", "mobilenet_v2", "inception_v3", "vgg_face"),
        trainer_epochs=50,
        trainee="mobilenet_v2",
        trainee_epochs=30,
        switch_epoch=9,
        seeds=(0, 1, 2),
        eval_every=100,
        augment=True,
        class_weighted=True,
        input_size="paper",
    ),
    # A larger synthetic profile (30 validation images per class, 5 seeds, 6 Trainee epochs), e.g.
    # for `rbdm book --profile standard`; the study of chapter 9 (`rbdm study`) has its own
    # designs (rbdm_core.study_design) and takes its perceptive n and negative fraction from here.
    "standard": Profile(
        "standard",
        source_n=3000,
        target_n=3000,
        trainer_candidates=("small_cnn",),
        trainer_epochs=4,
        trainee_epochs=6,
        switch_epoch=2,
        seeds=(0, 1, 2, 3, 4),
        eval_every=20,
        min_per_class=30,
    ),
}


#: Corpus roots a profile file may name (`roots:`).
ROOT_KEYS: tuple[str, ...] = ("ferplus", "affectnet", "ckplus", "folder", "gaze")
PROFILE_FILE_SUFFIXES = (".yml", ".yaml", ".json")


def is_profile_file(spec: str | os.PathLike) -> bool:
    """True when `spec` names a profile file (a .yml/.yaml/.json path) rather than a built-in name."""
    s = str(spec)
    return s.lower().endswith(PROFILE_FILE_SUFFIXES) or os.sep in s or Path(s).is_file()


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, (list, tuple)) and all(_type_ok(v, item) for v in value)
    if origin in (Mapping, dict) or hint is Mapping:
        return isinstance(value, Mapping)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def load_profile(path: str | os.PathLike) -> Profile:
    """A profile file: YAML (or JSON) with `base:` (a built-in profile, default quick), any `Profile`
    field by its name, and `roots:` (corpus folders: ferplus, affectnet, ckplus, and folder, an
    image folder that replaces the Trainee's corpus, see `Profile`; gaze: a gaze recording file,
    `gaze.recordings`; relative paths are taken from the file's folder). The profile's name is
    the file's stem. An unknown field, a
    wrong type or an unknown root is an error naming it and listing what is valid."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"profile file {p}: not found (a profile is a built-in name, {sorted(PROFILES)}, "
                                f"or a YAML file ending in {', '.join(PROFILE_FILE_SUFFIXES)})")
    text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except Exception as exc:  # yaml.YAMLError
        raise ValueError(f"profile file {p}: not valid YAML ({exc})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"profile file {p}: expected a mapping of field: value, got {type(data).__name__}")
    data = dict(data)
    base = data.pop("base", "quick")
    if base not in PROFILES:
        raise ValueError(f"profile file {p}: base: unknown profile {base!r}; expected one of {sorted(PROFILES)}")
    hints = typing.get_type_hints(Profile)
    valid = sorted(set(hints) - {"name", "roots"}) + ["base", "roots"]
    unknown = sorted(k for k in data if k not in hints or k == "name")
    if unknown:
        raise ValueError(f"profile file {p}: unknown field(s) {unknown}; valid fields are {valid}")
    roots = data.pop("roots", None)
    for k, v in data.items():
        if not _type_ok(v, hints[k]):
            raise ValueError(f"profile file {p}: field {k!r} must be {_type_name(hints[k])}, got {v!r}")
    if roots is not None:
        if not isinstance(roots, dict):
            raise ValueError(f"profile file {p}: roots: expected a mapping of source: folder, got {roots!r}")
        bad = sorted(set(roots) - set(ROOT_KEYS))
        if bad:
            raise ValueError(f"profile file {p}: roots: unknown source(s) {bad}; valid sources are {list(ROOT_KEYS)}")
        for k, v in roots.items():
            if not isinstance(v, str) or not v:
                what = "a path (a gaze recording: a file, or a folder of EyeLink ASC files)" if k == "gaze" \
                    else "a folder path"
                raise ValueError(f"profile file {p}: roots: {k!r} must be {what}, got {v!r}")
        roots = {k: str((p.parent / v).resolve()) if not os.path.isabs(os.path.expanduser(v))
                 else os.path.expanduser(v) for k, v in roots.items()}
    if not p.stem or not all(c.isalnum() or c in "-_." for c in p.stem):
        raise ValueError(f"profile file {p}: its name {p.stem!r} names the run folder; use letters, digits, '-', '_' or '.'")
    return PROFILES[base].with_(name=p.stem, roots=roots, **data)


def get_profile(name: str | os.PathLike, **overrides: Any) -> Profile:
    """`PROFILES[name]`, or the profile file `name` (`load_profile`), with `overrides` applied
    (None values are ignored)."""
    if isinstance(name, Profile):
        return name.with_(**{k: v for k, v in overrides.items() if v is not None})
    if str(name) in PROFILES:
        prof = PROFILES[str(name)]
    elif is_profile_file(name):
        prof = load_profile(name)
    else:
        raise ValueError(f"profile: unknown profile {str(name)!r}; expected one of {sorted(PROFILES)} or a profile "
                         f"file (YAML, ending in {', '.join(PROFILE_FILE_SUFFIXES)})")
    return prof.with_(**{k: v for k, v in overrides.items() if v is not None})
