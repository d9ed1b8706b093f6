"""Comparing notebook outputs numerically, at a stated tolerance (nbval's comparison for the book).

The same chapter, executed on two machines with the pinned stack, prints the same text but not the
same floating-point bits: oneDNN picks its kernels by the CPU's instruction set, and TensorFlow's
intra-op thread count changes how sums are split (docs/determinism.md has the measurements). A
byte-for-byte regression test therefore fails on any machine but the one that made the references.
This module compares what the numbers *mean* instead:

- `parse(text)` splits an output string into a *template* (the text with every number, every
  plotly binary array and every embedded PNG replaced by a placeholder) and the values themselves:
  printed numbers with the number of decimals they were printed with, plotly's binary arrays
  (`{"dtype": "f8", "bdata": "<base64>", "shape": "r, c"}`) decoded to numpy arrays, and PNG data
  URIs decoded to pixel arrays.
- `compare(reference, test, tolerance)` says where two outputs differ: a different template is a
  difference (words, labels, structure are compared exactly); numbers, arrays and images are
  compared within `Tolerance`.

A printed number `a` (reference) and `b` (test) agree when
`|a - b| <= atol + rtol * max(|a|, |b|) + u`, where `u` is one unit in the last printed place for
numbers printed with a decimal point or an exponent (two values within tolerance can round to
neighbouring printed values) and 0 for integers. Binary arrays have no rounding (`u = 0`); integer
arrays must be equal. Images agree when they have the same shape and at most `image_share` of
their pixel values differ by more than `image_levels` grey levels.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image

#: placeholders in a template (NUL never occurs in notebook text)
NUMBER, ARRAY, IMAGE = "\x00n", "\x00a", "\x00i"

_SLASH = r"(?:/|\\u002[fF])"
_B64 = rf"(?:[A-Za-z0-9+=]|{_SLASH})+"
_PNG_RE = re.compile(rf"data:image{_SLASH}png;base64,({_B64})")
#: a plotly binary array: a JSON object with exactly the keys dtype, bdata and optionally shape
_BDATA_RE = re.compile(r'\{(?:"(?:dtype|bdata|shape)":"[^"]*",?){2,3}\}')
#: a number that stands on its own (not part of a word, a hex colour or an identifier)
_NUMBER_RE = re.compile(r"(?<![\w.#])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w)")
_DTYPES = {"i1": "<i1", "u1": "<u1", "i2": "<i2", "u2": "<u2", "i4": "<i4", "u4": "<u4",
           "i8": "<i8", "u8": "<u8", "f4": "<f4", "f8": "<f8"}


@dataclass(frozen=True)
class Tolerance:
    """How far two renderings of one result may differ and still be the same result.

    rtol, atol:   relative and absolute tolerance on every number and float array element.
    image_levels: grey-level difference (0-255) that counts as rounding in an embedded PNG.
    image_share:  share of an image's pixel values allowed to differ by more than image_levels
                  (a mask pixel that sits exactly at a threshold can flip).
    """

    rtol: float = 1e-4
    atol: float = 1e-6
    image_levels: int = 2
    image_share: float = 0.01

    def __post_init__(self):
        for name in ("rtol", "atol", "image_share"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"Tolerance.{name} must be a finite number >= 0, got {v!r}")
        if not isinstance(self.image_levels, int) or not 0 <= self.image_levels <= 255:
            raise ValueError(f"Tolerance.image_levels must be an int in 0..255, got {self.image_levels!r}")


@dataclass(frozen=True)
class Printed:
    """A number as printed: its value and one unit in its last printed place (0 for integers)."""

    value: float
    unit: float
    text: str


@dataclass
class Parsed:
    """An output string taken apart (see the module docstring)."""

    template: str
    numbers: list[Printed] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)


def _unescape(b64: str) -> str:
    return re.sub(r"\\u002[fF]", "/", b64)


def decode_bdata(obj: dict) -> np.ndarray:
    """A plotly binary array `{"dtype", "bdata"[, "shape"]}` -> numpy array (little-endian)."""
    dtype = _DTYPES.get(obj.get("dtype", ""))
    if dtype is None:
        raise ValueError(f"plotly binary array: unknown dtype {obj.get('dtype')!r}; expected one of {', '.join(_DTYPES)}")
    a = np.frombuffer(base64.b64decode(_unescape(obj["bdata"])), dtype=dtype)
    shape = obj.get("shape")
    if shape:
        a = a.reshape([int(s) for s in str(shape).split(",")])
    return a


def decode_png(b64: str) -> np.ndarray:
    """The pixels of a base64 PNG as a uint8 array (H, W) or (H, W, C)."""
    with Image.open(io.BytesIO(base64.b64decode(_unescape(b64)))) as im:
        return np.asarray(im.convert("RGBA") if im.mode == "P" else im).astype(np.uint8)


def _printed(text: str) -> Printed:
    mantissa, _, exp = text.lower().partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else None
    exponent = int(exp) if exp else 0
    if decimals is None and not exp:
        unit = 0.0
    else:
        unit = 10.0 ** (exponent - (decimals or 0))
    return Printed(float(text), unit, text)


def parse(text: str, sanitize: Callable[[str], str] | None = None) -> Parsed:
    """Take an output string apart. `sanitize` (e.g. nbval's regex replacements) is applied to the
    text after the binary payloads are cut out and before the numbers are read."""
    images: list[np.ndarray] = []
    arrays: list[np.ndarray] = []

    def image(m: re.Match) -> str:
        try:
            images.append(decode_png(m.group(1)))
        except Exception:  # not a decodable PNG: compare it as text
            return m.group(0)
        return IMAGE

    def array(m: re.Match) -> str:
        try:
            arrays.append(decode_bdata(json.loads(m.group(0))))
        except (ValueError, KeyError, TypeError):
            return m.group(0)
        return ARRAY

    text = _PNG_RE.sub(image, text)
    text = _BDATA_RE.sub(array, text)
    if sanitize is not None:
        text = sanitize(text)
    numbers: list[Printed] = []

    def number(m: re.Match) -> str:
        numbers.append(_printed(m.group(0)))
        return NUMBER

    template = _NUMBER_RE.sub(number, text)
    return Parsed(template, numbers, arrays, images)


def _readable(template: str) -> str:
    return template.replace(NUMBER, "<n>").replace(ARRAY, "<array>").replace(IMAGE, "<png>")


def _template_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 60)
    return (f"text differs at character {i}: reference ...{_readable(a[lo:i + 40])!r}... "
            f"vs test ...{_readable(b[lo:i + 40])!r}...")


def _context(template: str, k: int) -> str:
    pos = -1
    for _ in range(k + 1):
        pos = template.index(NUMBER, pos + 1)
    return _readable(template[max(0, pos - 50):pos + 2 + 30])


def number_allowed(a: Printed, b: Printed, tol: Tolerance) -> float:
    """The largest |a - b| that counts as the same number."""
    return tol.atol + tol.rtol * max(abs(a.value), abs(b.value)) + max(a.unit, b.unit)


def compare_arrays(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> str | None:
    """None when two decoded plotly arrays agree, else what differs."""
    if a.shape != b.shape:
        return f"array shape {a.shape} vs {b.shape}"
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        bad = a.astype(np.int64) != b.astype(np.int64)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            return f"integer array element {k}: {a.flat[k]} vs {b.flat[k]} ({int(bad.sum())} differ)"
        return None
    x, y = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore"):
        diff = np.abs(x - y)
        allowed = tol.atol + tol.rtol * np.maximum(np.abs(x), np.abs(y))
        bad = ~both_nan & ~(diff <= allowed)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        return (f"array element {k}: {x.flat[k]!r} vs {y.flat[k]!r} (|diff| {diff.flat[k]:.3g}, allowed "
                f"{allowed.flat[k]:.3g}; {int(bad.sum())} of {bad.size} elements differ)")
    return None


def compare_images(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> str | None:
    """None when two decoded PNGs agree, else what differs."""
    if a.shape != b.shape:
        return f"image shape {a.shape} vs {b.shape}"
    far = np.abs(a.astype(np.int16) - b.astype(np.int16)) > tol.image_levels
    share = float(far.mean()) if far.size else 0.0
    if share > tol.image_share:
        return (f"image: {share:.2%} of pixel values differ by more than {tol.image_levels} levels "
                f"(allowed {tol.image_share:.2%})")
    return None


def compare(reference: str, test: str, tol: Tolerance = Tolerance(),
            sanitize: Callable[[str], str] | None = None) -> list[str]:
    """The differences between two output strings beyond `tol` (empty: the same result)."""
    if reference == test:
        return []
    r, t = parse(reference, sanitize), parse(test, sanitize)
    if r.template != t.template:
        return [_template_difference(r.template, t.template)]
    out: list[str] = []
    for k, (a, b) in enumerate(zip(r.numbers, t.numbers)):
        allowed = number_allowed(a, b, tol)
        if not abs(a.value - b.value) <= allowed and not (math.isnan(a.value) and math.isnan(b.value)):
            out.append(f"number {a.text} vs {b.text} (|diff| {abs(a.value - b.value):.3g}, allowed {allowed:.3g}) "
                       f"in ...{_context(r.template, k)!r}...")
    for a, b in zip(r.arrays, t.arrays):
        msg = compare_arrays(a, b, tol)
        if msg:
            out.append(msg)
    for a, b in zip(r.images, t.images):
        msg = compare_images(a, b, tol)
        if msg:
            out.append(msg)
    return out
