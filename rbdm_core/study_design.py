"""The design of the study "when does relevance-based masking help?" (`rbdm study`).

A `Design` names the worlds and data sizes (the conditions), the Trainers (teachers of stated
quality), the Trainee, the seeds, the training budget and the variants. `plan(design)` lists the
first phase's runs; `phase_two(design, world, size, schedule, fill)` the runs placed where the
oracle's benefit is largest (the mask-quality dial and the second Trainer).

Variant names (the `variant` column of runs.csv and effects.csv):
    no-mask                         plain images throughout (the reference of every comparison)
    <mask>, <mask>-then-unmasked    a Trainer's relevance mask (negative, mean, perceptive): all
                                    steps masked, or masked until the switch then plain
    oracle, oracle-then-unmasked    the class-independent oracle (`data.worlds`): the ceiling
    random-<mask>[-then-unmasked]   random pixels in the kept count of <mask>, image by image: the floor
    dial-<q>[-then-unmasked]        the mask-quality dial (`masking.controls.dial`) at q, with the
                                    oracle's kept count: q = 1 is the oracle, q = 0 the Trainer's
                                    most relevant pixels in the same number
`trainer` is "none" for the variants that use no Trainer (no-mask, oracle) and `fill` is "none"
for no-mask.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from rbdm_core.data.worlds import WORLDS

PAPER_MASKS = ("negative", "mean", "perceptive")
THEN = "-then-unmasked"
NONE = "none"
REFERENCE = "no-mask"


@dataclass(frozen=True)
class TrainerSpec:
    """A Trainer: `architecture` trained `epochs` epochs on `source_n` AffectNet-like images at 48 px
    with no nuisance at all (clean of the Trainee's nuisance; the source's own corpus has no patch)."""

    architecture: str = "small_cnn"
    source_n: int = 6000
    epochs: int = 6


@dataclass(frozen=True)
class Run:
    """One Trainee run of the study."""

    world: str
    train_per_class: int
    trainer: str
    fill: str
    variant: str
    seed: int


@dataclass(frozen=True)
class Design:
    """Everything the study varies and fixes.

    conditions: (world, training images per class) pairs, every one with every control;
    trainers: name -> TrainerSpec; `primary` runs in every condition, the others in phase two;
    steps: the Trainee's training budget in steps of `batch` images, the same at every data size
        (scarce data get more epochs); the *-then-unmasked variants switch to plain images after
        `switch_fraction` of the epochs; `eval_every`: validation (PublicTest) every K steps;
    fills: the fills of the masked variants: the first with every variant, the others with
        `second_fill_variants` (names without the schedule suffix, run in both schedules);
    dial: the q values of the dial in phase two (q = 1 is the oracle, run in phase one);
    phase_two_trainer_masks: the second Trainer's masks run in phase two;
    phase_one: (variant, fill) pairs run in every condition besides no mask (None: every
        relevance mask, oracle and random control in both schedules with the first fill, and
        `second_fill_variants` with the others);
    reach_fraction: the target of "steps to target" is this share of no mask's mean final
        validation F1 in the condition; confidence: the family-wise confidence of the verdicts.
    """

    name: str
    conditions: tuple[tuple[str, int], ...]
    seeds: tuple[int, ...]
    trainers: dict = field(default_factory=lambda: {"strong": TrainerSpec(), "weak": TrainerSpec(source_n=480, epochs=2)})
    primary: str = "strong"
    trainee: str = "tiny_cnn"
    steps: int = 240
    batch: int = 32
    eval_every: int = 20
    switch_fraction: float = 0.5
    fills: tuple[str, ...] = ("zero", "noisy_linear")
    second_fill_variants: tuple[str, ...] = ("negative", "mean", "perceptive", "oracle", "random-mean")
    dial: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    phase_two_trainer_masks: tuple[str, ...] = PAPER_MASKS
    phase_one: tuple[tuple[str, str], ...] | None = None
    max_per_class: int = 200
    val_per_class: int = 30
    test_per_class: int = 50
    world_seed: int = 0
    reach_fraction: float = 0.9
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not self.conditions:
            raise ValueError(f"design {self.name!r}: conditions: give at least one (world, train_per_class)")
        for w, k in self.conditions:
            if w not in WORLDS:
                raise ValueError(f"design {self.name!r}: world {w!r} is unknown; expected one of {list(WORLDS)}")
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.max_per_class:
                raise ValueError(f"design {self.name!r}: train_per_class {k!r}: expected an int in 1..{self.max_per_class}")
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"design {self.name!r}: conditions: each (world, train_per_class) once")
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"design {self.name!r}: seeds: at least two distinct seeds (intervals need a spread)")
        if self.primary not in self.trainers:
            raise ValueError(f"design {self.name!r}: primary Trainer {self.primary!r} not among {list(self.trainers)}")
        if not 0 < self.switch_fraction < 1:
            raise ValueError(f"design {self.name!r}: switch_fraction: expected 0 < f < 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conditions"] = [list(c) for c in self.conditions]
        d["trainers"] = {k: asdict(v) for k, v in self.trainers.items()}
        return d

    def epochs(self, train_per_class: int) -> int:
        """Epochs of a Trainee run at `train_per_class` images per class: the step budget rounded up
        to whole epochs."""
        n = train_per_class * 8
        return max(2, math.ceil(self.steps / math.ceil(n / self.batch)))

    def switch_epoch(self, train_per_class: int) -> int:
        return max(1, round(self.epochs(train_per_class) * self.switch_fraction))


def schedules(base: str) -> tuple[str, str]:
    return base, base + THEN


def base_name(variant: str) -> str:
    """The variant without its schedule suffix."""
    return variant[: -len(THEN)] if variant.endswith(THEN) else variant


def phase_one_variants(design: Design) -> list[tuple[str, str, str]]:
    """(trainer, fill, variant) of every condition in phase one."""
    out = [(NONE, NONE, REFERENCE)]
    if design.phase_one is not None:
        return out + [(NONE if base_name(v) == "oracle" else design.primary, f, v) for v, f in design.phase_one]
    first, *others = design.fills
    bases = [*PAPER_MASKS, "oracle", *(f"random-{m}" for m in PAPER_MASKS)]
    for fill in design.fills:
        chosen = bases if fill == first else [b for b in bases if b in design.second_fill_variants]
        for b in chosen:
            trainer = NONE if b == "oracle" else design.primary
            out += [(trainer, fill, v) for v in schedules(b)]
    return out


def plan(design: Design) -> list[Run]:
    """Phase one: every condition, every phase-one variant, every seed."""
    return [Run(w, k, t, f, v, s) for w, k in design.conditions for t, f, v in phase_one_variants(design)
            for s in design.seeds]


def dial_name(q: float) -> str:
    return f"dial-{q:g}"


def phase_two(design: Design, world: str, train_per_class: int, schedule: str, fill: str) -> list[Run]:
    """Phase two in one condition, with the oracle's best schedule ("" or THEN) and fill: the dial
    and the other Trainers' masks, every seed."""
    runs = [Run(world, train_per_class, design.primary, fill, dial_name(q) + schedule, s)
            for q in design.dial for s in design.seeds]
    for t in design.trainers:
        if t == design.primary:
            continue
        runs += [Run(world, train_per_class, t, fill, m + schedule, s)
                 for m in design.phase_two_trainer_masks for s in design.seeds]
    return runs


DESIGNS: dict[str, Design] = {
    # rbdm study --profile standard: the committed study chapter 9 reads
    # the schedule and fill where a pilot showed the oracle's benefit, the paper's zero fill beside
    # them, four conditions (chapter 9 prints what the full factorial would cost, from meta.json)
    "standard": Design(
        "standard",
        conditions=(("spurious", 20), ("spurious", 200), ("clutter", 60), ("all", 60)),
        seeds=tuple(range(8)),
        trainers={"strong": TrainerSpec(), "weak": TrainerSpec(source_n=1500, epochs=3)},
        steps=480,
        eval_every=40,
        dial=(0.0, 0.5),
        phase_two_trainer_masks=("mean",),
        phase_one=(("oracle-then-unmasked", "noisy_linear"), ("negative-then-unmasked", "noisy_linear"),
                   ("mean-then-unmasked", "noisy_linear"), ("perceptive-then-unmasked", "noisy_linear"),
                   ("random-mean-then-unmasked", "noisy_linear"), ("oracle-then-unmasked", "zero"),
                   ("mean-then-unmasked", "zero")),
    ),
    # rbdm study --profile quick: the machinery end to end in a few minutes (CI)
    "quick": Design(
        "quick",
        conditions=(("spurious", 20), ("clutter", 20)),
        seeds=(0, 1),
        trainers={"strong": TrainerSpec(source_n=800, epochs=2), "weak": TrainerSpec(source_n=160, epochs=1)},
        steps=30,
        eval_every=10,
        dial=(0.0,),
        phase_two_trainer_masks=("mean",),
        phase_one=(("oracle-then-unmasked", "noisy_linear"), ("mean-then-unmasked", "noisy_linear"),
                   ("random-mean-then-unmasked", "noisy_linear"), ("oracle", "zero"), ("mean", "zero")),
        max_per_class=20,
        val_per_class=8,
        test_per_class=8,
    ),
}


def get_design(name: str) -> Design:
    if name not in DESIGNS:
        raise ValueError(f"study: unknown profile {name!r}; the study's profiles are {list(DESIGNS)}")
    return DESIGNS[name]
