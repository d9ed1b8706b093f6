"""Run profiles: every size, count and switch of one run of the whole pipeline.

`quick` (the default): the embedded synthetic corpora, small models, a few epochs -- the whole book
in minutes on a 2-core laptop CPU. `paper`: the real corpora (paths given by the user), the paper's
architectures, epochs and recipe -- for a GPU in the NVIDIA TensorFlow container. The CLI
(`rbdm train`, `rbdm book`) and the book's chapters all read their defaults from here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

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
    trainee: the Trainee architecture; seeds: Trainee seeds per variant;
    eval_every: validation every K training steps; max_steps_per_epoch: cap (None = full epochs);
    relevance_method: saliency method for the masks (the paper: deep Taylor);
    negative_fraction: share of pixels the negative mask removes;
    fill: what the Trainee's masked images show where pixels are removed (a name in
        `masking.FILLS`: "zero", the paper's, or e.g. "noisy_linear", which does not leak the
        mask's outline to a linear probe; see `rbdm_core.leakage`);
    perceptive_n: pseudo-fixations per image for the perceptive mask (None = the mean number of
        fixations per image in the gaze study, as in the paper);
    annotators: simulated annotators in the gaze study;
    augment, class_weighted: the paper's augmentation and class-weighted loss (on in `paper`; off in
        `quick`, where at 48 px and a few epochs they held a small network near chance; the
        measurement is in docs/architecture.md, "Profiles");
    input_size: model input side (None: the data's size raised to the architecture's minimum;
        "paper": 299 for Xception/InceptionV3, 224 for MobileNetV2/VGG).
    """

    name: str
    synthetic: bool = True
    source_n: int | None = 2400
    source_size: int = 48
    target_n: int | None = 2400
    gaze_n: int | None = 120
    trainer_candidates: tuple[str, ...] = ("small_cnn", "small_resnet")
    trainer_epochs: int = 4
    trainee: str = "small_cnn"
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

    def recipe(self, epochs: int):
        """The training Recipe of this profile (paper: Adam 1e-3, batch 32, class weights, augmentation)."""
        from .training import Recipe

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
}


def get_profile(name: str, **overrides: Any) -> Profile:
    """`PROFILES[name]` with `overrides` applied (None values are ignored)."""
    if name not in PROFILES:
        raise ValueError(f"profile: unknown profile {name!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[name].with_(**{k: v for k, v in overrides.items() if v is not None})


