"""The registry of mask types: every dispatch on a mask's name reads it.

`MASKS[name]` is a `MaskType`: the function that makes the masks from relevance maps, the
parameters it takes with their defaults, and whether it is one of the paper's three. `make_masks`
and the cached builder (`masking.build`) validate parameters here, before anything is computed or
written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from rbdm_core.checks import REQUIRED, _batch, _fraction, _is_int, _positive, resolve_params
from rbdm_core.masking.random_masks import random_fraction_mask
from rbdm_core.masking.relevance_masks import mean_mask, negative_mask, perceptive_mask, top_fraction_mask



def _check_fraction(p: dict) -> None:
    _fraction(p["fraction"])


def _check_seed(p: dict) -> None:
    _fraction(p["fraction"])
    seed = p["seed"]
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")


def _check_perceptive(p: dict) -> None:
    _positive("sigma", p["sigma"])
    _positive("cutoff", p["cutoff"], allow_zero=True)
    if not _is_int(p["n"]) or p["n"] < 1:
        raise ValueError(f"n: expected an int >= 1, got {p['n']!r}")


@dataclass(frozen=True)
class MaskType:
    """One kind of mask. make(relevance (N, H, W), start, **params) -> (N, H, W) bool (True = kept);
    `start` is the index of the batch's first image (random masks draw per image index).
    params: name -> default (`REQUIRED` when the caller must give it)."""

    name: str
    make: Callable[..., np.ndarray]
    params: Mapping[str, Any] = field(default_factory=dict)
    paper: bool = False
    check: Callable[[dict], None] | None = None
    description: str = ""

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """`params` validated, with the defaults filled in; unknown or missing names are errors."""
        return resolve_params(f"{self.name} mask", self.params, params, self.check)


MASKS: dict[str, MaskType] = {m.name: m for m in (
    MaskType("negative", lambda r, start, fraction: negative_mask(r, fraction), {"fraction": 0.1}, paper=True,
             check=_check_fraction, description="remove the most relevant fraction of the pixels"),
    MaskType("mean", lambda r, start: mean_mask(r), {}, paper=True,
             description="remove the pixels below the map's mean relevance"),
    MaskType("perceptive", lambda r, start, n, sigma, cutoff: perceptive_mask(r, n, sigma, cutoff),
             {"n": REQUIRED, "sigma": REQUIRED, "cutoff": REQUIRED}, paper=True, check=_check_perceptive,
             description="keep what a viewer fixating the n most relevant pixels perceives"),
    MaskType("top_fraction", lambda r, start, fraction: top_fraction_mask(r, fraction), {"fraction": REQUIRED},
             check=_check_fraction, description="keep only the most relevant fraction (ROAR)"),
    MaskType("random_fraction", lambda r, start, fraction, seed: random_fraction_mask(r.shape, fraction, seed=int(seed), start=start),
             {"fraction": REQUIRED, "seed": 0}, check=_check_seed,
             description="keep a random fraction of the pixels (seeded per image index)"),
)}
#: every mask type, and the paper's three (negative, mean, perceptive)
MASK_TYPES = tuple(MASKS)
PAPER_MASK_TYPES = tuple(name for name, m in MASKS.items() if m.paper)


def mask_type(name: str) -> MaskType:
    """The registered `MaskType` called `name` (an error lists the names)."""
    if name not in MASKS:
        raise ValueError(f"mask_type: expected one of {list(MASK_TYPES)}, got {name!r}")
    return MASKS[name]


def make_masks(relevance: Any, mask_type_name: str, *, start: int = 0, **params: Any) -> np.ndarray:
    """Masks (N, H, W) bool of one registered type from relevance maps (N, H, W) (or one (H, W)
    map -> (H, W)); `params` as `MASKS[mask_type_name].params` (defaults filled in)."""
    spec = mask_type(mask_type_name)
    p = spec.resolve(params)
    r, single = _batch(relevance)
    out = spec.make(r, start, **p)
    return out[0] if single else out
