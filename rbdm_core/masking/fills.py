"""What a removed pixel becomes: the registry of fills that `apply_mask` reads.

Removal-based evaluation leaks: with a constant fill the *pattern* of removed pixels is itself
visible to a model and can carry the class (ROAR, Hooker et al. 2019; ROAD, Rong et al. 2022).
Fills that continue the image from its kept pixels hide the pattern from a probe linear in the
pixel values (tests/test_masking_fill.py: pure-noise images, class-dependent block positions:
zero fill 0.99 accuracy, noisy_linear 0.49, chance 0.5). They do not hide everything: a filled
region is smoother than noise-like texture, and a probe of squared deviations still finds the
block there (0.98 for "noisy_linear" and "mean", 0.70 for "noise"). `FILLS[name]` is a `Fill`:

- "zero" (the paper's, apply_mask's default): 0 in every channel.
- "mean": the image's mean over its kept pixels, per channel.
- "blur": the image blurred by a Gaussian of `sigma` px (default 5.0; scipy.ndimage's
  gaussian_filter, mode "reflect", truncated at 4 sigma), per channel. It blurs the whole image,
  removed pixels included (the blur baseline of Fong & Vedaldi 2017): the removed region keeps
  its coarse content, which the other fills take away.
- "noise": Gaussian noise with the image's kept-pixel mean and standard deviation (ddof 0),
  per channel.
- "noisy_linear": ROAD's noisy linear imputation: the exact solution of "every removed pixel is
  the weighted mean of its in-image neighbours" (`linear_imputation`), plus Gaussian noise of
  sd `noise_sd` * 255 (default 0.01, ROAD's 0.01 of a [0, 1] range; 0 gives the exact solution).

Values are in grey levels 0..255 (float64 here; `apply_mask` rounds half to even and clips).
An image that keeps no pixel takes mid-grey 128 in every channel for "mean", "noise" (its sd is
then 0) and "noisy_linear" (plus its noise): a per-image rule, so the result never depends on
which other images share the call. "blur" reads no kept pixel: such an image becomes its blur. Random draws are per image: image i of a call made with
(`seed`, `start`) uses numpy's Philox generator keyed by (seed, start + i), one standard normal
per pixel and channel, so a data set filled in chunks equals one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from scipy import ndimage

from rbdm_core.checks import _positive, resolve_params
from rbdm_core.masking.linear_imputation import linear_fill

#: the value of every channel in an image that keeps no pixel
MID_GREY = 128.0


def _image_noise(n: int, shape: tuple[int, ...], seed: int, start: int = 0) -> np.ndarray:
    """(n, *shape) float64 standard normal draws; image i from Philox keyed by (seed, start + i)."""
    out = np.empty((n, *shape))
    for i in range(n):
        out[i] = np.random.Generator(np.random.Philox(key=[seed, start + i])).standard_normal(shape)
    return out


def _kept_moments(values: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (ddof 0) over each image's kept pixels, per channel: two (N, C) float64;
    an image that keeps nothing gets mean `MID_GREY` and sd 0."""
    k = kept[..., None]
    count = k.sum(axis=(1, 2))  # (N, 1)
    safe = np.maximum(count, 1)
    mean = np.where(count > 0, (values * k).sum(axis=(1, 2)) / safe, MID_GREY)
    var = (((values - mean[:, None, None]) ** 2) * k).sum(axis=(1, 2)) / safe
    return mean, np.sqrt(var)


def zero_fill(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(N, H, W, C) float64 zeros."""
    return np.zeros(values.shape)


def mean_fill(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(N, H, W, C) float64: each image's kept-pixel mean per channel (128 if nothing is kept)."""
    mean, _ = _kept_moments(values, kept)
    return np.broadcast_to(mean[:, None, None], values.shape).copy()


def blur_fill(values: np.ndarray, kept: np.ndarray, sigma: float) -> np.ndarray:
    """(N, H, W, C) float64: each image blurred over H and W by a Gaussian of `sigma` px."""
    return ndimage.gaussian_filter(values.astype(np.float64), sigma=(0, sigma, sigma, 0), mode="reflect")


def noise_fill(values: np.ndarray, kept: np.ndarray, seed: int, start: int = 0) -> np.ndarray:
    """(N, H, W, C) float64: kept-pixel mean + kept-pixel sd * standard normal, per channel."""
    mean, sd = _kept_moments(values, kept)
    z = _image_noise(len(values), values.shape[1:], seed, start)
    return mean[:, None, None] + sd[:, None, None] * z


def noisy_linear_fill(values: np.ndarray, kept: np.ndarray, noise_sd: float, seed: int, start: int = 0) -> np.ndarray:
    """(N, H, W, C) float64: the linear imputation (128 where an image keeps nothing) plus
    Gaussian noise of sd `noise_sd` * 255 grey levels (none when noise_sd is 0)."""
    some = kept.reshape(len(kept), -1).any(axis=1)
    if some.all():
        out = linear_fill(values, kept)
    else:
        out = np.full(values.shape, MID_GREY)
        out[some] = linear_fill(values[some], kept[some])
    if noise_sd > 0:
        out += (noise_sd * 255.0) * _image_noise(len(values), values.shape[1:], seed, start)
    return out


def _check_sigma(p: dict) -> None:
    _positive("sigma", p["sigma"])


def _check_noise_sd(p: dict) -> None:
    _positive("noise_sd", p["noise_sd"], allow_zero=True)


@dataclass(frozen=True)
class Fill:
    """One fill. make(values (N, H, W, C) float64 grey levels, kept (N, H, W) bool, seed, start,
    **params) -> (N, H, W, C) float64, the value each pixel takes where it is removed.
    params: name -> default; `random`: whether `seed` and `start` change the result."""

    name: str
    make: Callable[..., np.ndarray]
    params: Mapping[str, Any] = field(default_factory=dict)
    random: bool = False
    paper: bool = False
    check: Callable[[dict], None] | None = None
    description: str = ""

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """`params` validated, with the defaults filled in; unknown names are errors."""
        return resolve_params(f"{self.name} fill", self.params, params, self.check)


FILLS: dict[str, Fill] = {f.name: f for f in (
    Fill("zero", lambda v, k, seed, start: zero_fill(v, k), paper=True,
         description="0 in every channel (the paper's)"),
    Fill("mean", lambda v, k, seed, start: mean_fill(v, k),
         description="the image's kept-pixel mean, per channel"),
    Fill("blur", lambda v, k, seed, start, sigma: blur_fill(v, k, float(sigma)), {"sigma": 5.0}, check=_check_sigma,
         description="the image under a Gaussian blur of sigma px"),
    Fill("noise", lambda v, k, seed, start: noise_fill(v, k, seed, start), random=True,
         description="Gaussian noise with the image's kept-pixel mean and sd, per channel"),
    Fill("noisy_linear", lambda v, k, seed, start, noise_sd: noisy_linear_fill(v, k, float(noise_sd), seed, start),
         {"noise_sd": 0.01}, random=True, check=_check_noise_sd,
         description="ROAD's noisy linear imputation (noise sd = noise_sd * 255)"),
)}
#: every fill's name; "zero" is the paper's and apply_mask's default
FILL_NAMES = tuple(FILLS)


def fill_spec(name: str) -> Fill:
    """The registered `Fill` called `name` (an error lists the names)."""
    if name not in FILLS:
        raise ValueError(f"fill: expected one of {list(FILL_NAMES)} or an int 0..255 (one, or one per channel), "
                         f"got {name!r}")
    return FILLS[name]
