"""Procedural face renderer driven by facial action units (FACS).

Every face is drawn with vectorised signed-distance fields over a batch of images, in *face
coordinates* (u to the image's right, v down; the face ellipse is about 0.6 wide and 0.85 high,
the image spans [-1, 1] at pose scale 1). A face is the sum of
  identity  (face shape, feature placement and size, skin tone, hair, iris colour),
  nuisance  (pose: shift, roll, scale; illumination gradient and gain; background and clutter;
             sensor noise),
  expression, a matrix of action-unit intensities `au (N, len(AU_CODES), 2)` in [0, 1] for the
             left and right half of the face (FACS writes unilateral AUs as L/R),
and only the expression depends on the class. Classes differ by AU-driven geometry alone:
brow height and angle, lid opening, cheek raise, nose wrinkle, mouth curve, mouth width and
opening, lip press, lip-corner asymmetry.

Public pieces:
  AU_NAMES, AU_CODES, PROTOTYPES, AU_REGIONS, CLASS_REGIONS: the FACS tables;
  sample_faces(n, rng) -> params dict of (N,) arrays (identity + nuisance);
  sample_au(labels, rng, intensity=None) -> (N, K, 2) float32;
  geometry(params, au) -> dict of (N,) float32 (feature positions in face coordinates);
  landmarks(params, au, size) -> dict name -> (N, 2) image pixel coordinates (col, row);
  draw_faces(params, au, labels, size, channels) -> images (N,H,W,C) uint8, regions (N,H,W) bool;
  render_faces(labels, seed, size, channels, intensity=None) -> images, regions.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rbdm_core.data import nuisance
from rbdm_core.data.dataset import FERPLUS_CLASSES

# ---------------------------------------------------------------------------- FACS tables
#: Action units the renderer animates (FACS numbers and names).
AU_NAMES: dict[int, str] = {
    1: "inner brow raiser",
    2: "outer brow raiser",
    4: "brow lowerer",
    5: "upper lid raiser",
    6: "cheek raiser",
    7: "lid tightener",
    9: "nose wrinkler",
    12: "lip corner puller",
    14: "dimpler",
    15: "lip corner depressor",
    16: "lower lip depressor",
    20: "lip stretcher",
    23: "lip tightener",
    24: "lip presser",
    25: "lips part",
    26: "jaw drop",
    27: "mouth stretch",
}
#: Column order of the `au` matrix.
AU_CODES: tuple[int, ...] = tuple(AU_NAMES)
_COL = {code: i for i, code in enumerate(AU_CODES)}

#: EMFACS-like prototypes: class -> ((AU, nominal intensity, unilateral), ...).
#: Contempt is R12A+R14A: unilateral lip-corner puller and dimpler; the side is drawn per image
#: (left or right with equal probability, as a horizontal flip of the face would give), and the
#: nominal intensity is raised above a trace "A" so that it is visible at 48x48 pixels.
PROTOTYPES: dict[str, tuple[tuple[int, float, bool], ...]] = {
    "neutral": (),
    "happiness": ((6, 0.8, False), (12, 1.0, False)),
    "surprise": ((1, 1.0, False), (2, 1.0, False), (5, 0.8, False), (26, 1.0, False)),
    "sadness": ((1, 1.0, False), (4, 0.7, False), (15, 1.0, False)),
    "anger": ((4, 1.0, False), (5, 0.6, False), (7, 0.8, False), (23, 1.0, False)),
    "disgust": ((9, 1.0, False), (15, 0.7, False), (16, 0.7, False)),
    "fear": ((1, 1.0, False), (2, 0.8, False), (4, 0.6, False), (5, 1.0, False), (7, 0.5, False),
             (20, 1.0, False), (26, 0.6, False)),
    "contempt": ((12, 0.9, True), (14, 0.9, True)),
}
#: Optional AUs that co-occur with a prototype: class -> ((AU, probability, nominal), ...)
#: (open-mouthed smiles, pressed lips in anger, parted lips in disgust).
OPTIONAL_AUS: dict[str, tuple[tuple[int, float, float], ...]] = {
    "happiness": ((25, 0.5, 0.9),),
    "anger": ((24, 0.5, 0.8),),
    "disgust": ((25, 0.3, 0.6),),
}
#: Facial regions each AU moves.
AU_REGIONS: dict[int, tuple[str, ...]] = {
    1: ("brows",), 2: ("brows",), 4: ("brows",),
    5: ("eyes",), 6: ("eyes", "cheeks"), 7: ("eyes",),
    9: ("nose",),
    12: ("mouth",), 14: ("mouth",), 15: ("mouth",), 16: ("mouth",), 20: ("mouth",),
    23: ("mouth",), 24: ("mouth",), 25: ("mouth",), 26: ("mouth",), 27: ("mouth",),
}
REGION_NAMES: tuple[str, ...] = ("brows", "eyes", "cheeks", "nose", "mouth")


def _class_regions(name: str) -> tuple[str, ...]:
    if not PROTOTYPES[name]:
        # Neutral moves nothing; an observer confirms it by checking that eyes and mouth are at rest.
        return ("eyes", "mouth")
    found = {r for au, _, _ in PROTOTYPES[name] for r in AU_REGIONS[au]}
    return tuple(r for r in REGION_NAMES if r in found)


#: Ground-truth regions per class: the union of the regions its prototype AUs move
#: (neutral: eyes and mouth, the places where the absence of movement is read).
CLASS_REGIONS: dict[str, tuple[str, ...]] = {c: _class_regions(c) for c in FERPLUS_CLASSES}

# ---------------------------------------------------------------------------- colours (RGB 0..255)
_SKIN_LIGHT = np.array([236, 200, 172], np.float32)
_SKIN_DARK = np.array([88, 58, 40], np.float32)
_HAIR = np.array([[28, 24, 22], [92, 60, 34], [200, 168, 108], [165, 162, 158], [140, 62, 30]], np.float32)
_IRIS = np.array([[70, 44, 26], [70, 102, 140], [72, 100, 70], [40, 30, 25]], np.float32)
_SCLERA = np.array([236, 232, 226], np.float32)
_MOUTH = np.array([52, 22, 26], np.float32)
_TEETH = np.array([236, 230, 214], np.float32)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)

_CHUNK_PIXELS = 300_000  # pixels per vectorised batch (keeps the (B, H, W) fields in cache)


def _u(rng, lo, hi, n):
    return rng.uniform(lo, hi, n).astype(np.float32)


#: Parameters that describe the person (shared by all images of one subject); the rest is nuisance
#: of the shot (pose, light, background, noise) plus the side of unilateral AUs.
IDENTITY_KEYS: tuple[str, ...] = (
    "face_a", "face_b", "face_cy", "eye_dx", "eye_y", "eye_w", "eye_h", "brow_gap", "brow_th",
    "brow_arch", "nose_y", "nose_w", "mouth_y", "mouth_w", "mouth_curve", "lip_up", "lip_lo",
    "skin", "hair", "bald", "hairline", "hair_volume", "iris", "teeth",
)
#: Shooting styles: "wild" (web images: pose, light and clutter vary) and "posed" (lab
#: recordings: frontal, even light, plain grey background, little noise).
STYLES: tuple[str, ...] = ("wild", "posed")


def sample_faces(n: int, rng: np.random.Generator, style: str = "wild") -> dict[str, np.ndarray]:
    """Identity and nuisance parameters of `n` faces: dict of (n,) or (n, k) float32 arrays.

    The number and order of draws does not depend on any label (nor on `style`, which only
    rescales the draws), so the same rng state gives the same person whatever expression is
    drawn on top.
    """
    if style not in STYLES:
        raise ValueError(f"sample_faces: style must be one of {STYLES}, got {style!r}")
    n = int(n)
    p: dict[str, np.ndarray] = {}
    # identity: face shape and feature placement (face units)
    p["face_a"] = _u(rng, 0.55, 0.68, n)
    p["face_b"] = _u(rng, 0.78, 0.90, n)
    p["face_cy"] = _u(rng, 0.02, 0.08, n)
    p["eye_dx"] = _u(rng, 0.22, 0.29, n)
    p["eye_y"] = _u(rng, -0.17, -0.09, n)
    p["eye_w"] = _u(rng, 0.095, 0.13, n)
    p["eye_h"] = _u(rng, 0.042, 0.066, n)
    p["brow_gap"] = _u(rng, 0.11, 0.16, n)
    p["brow_th"] = _u(rng, 0.022, 0.042, n)
    p["brow_arch"] = _u(rng, 0.0, 0.04, n)
    p["nose_y"] = _u(rng, 0.13, 0.22, n)
    p["nose_w"] = _u(rng, 0.05, 0.075, n)
    p["mouth_y"] = _u(rng, 0.38, 0.47, n)
    p["mouth_w"] = _u(rng, 0.15, 0.21, n)
    p["mouth_curve"] = _u(rng, -0.022, 0.022, n)
    p["lip_up"] = _u(rng, 0.022, 0.04, n)
    p["lip_lo"] = _u(rng, 0.028, 0.05, n)
    p["iris_dy"] = _u(rng, -0.012, 0.012, n)
    # appearance
    skin_t = rng.uniform(0, 1, n)
    p["skin"] = (_SKIN_LIGHT * (1 - skin_t[:, None]) + _SKIN_DARK * skin_t[:, None]
                 + rng.uniform(-10, 10, (n, 3))).astype(np.float32)
    p["hair"] = (_HAIR[rng.integers(0, len(_HAIR), n)] * rng.uniform(0.75, 1.2, (n, 1))).astype(np.float32)
    p["bald"] = (rng.uniform(0, 1, n) < 0.12).astype(np.float32)
    p["hairline"] = _u(rng, -0.78, -0.42, n)
    p["hair_volume"] = _u(rng, 1.04, 1.28, n)
    p["iris"] = _IRIS[rng.integers(0, len(_IRIS), n)].astype(np.float32)
    p["teeth"] = (rng.uniform(0, 1, n) < 0.7).astype(np.float32)
    # pose (image units: the image spans [-1, 1])
    p["tx"] = _u(rng, -0.07, 0.07, n)
    p["ty"] = _u(rng, -0.06, 0.06, n)
    p["roll"] = np.clip(rng.normal(0, np.deg2rad(5), n), -np.deg2rad(12), np.deg2rad(12)).astype(np.float32)
    p["scale"] = _u(rng, 0.95, 1.15, n)
    # illumination and background
    p["gain"] = _u(rng, 0.62, 1.25, n)
    p["light_amp"] = _u(rng, 0.0, 0.4, n)
    p["light_dir"] = _u(rng, 0.0, 2 * np.pi, n)
    p["bg"] = rng.uniform(20, 235, (n, 3)).astype(np.float32)
    p["bg_amp"] = _u(rng, 0.0, 0.5, n)
    p["bg_dir"] = _u(rng, 0.0, 2 * np.pi, n)
    k = 4
    p["clutter_xy"] = rng.uniform(-1.1, 1.1, (n, k, 2)).astype(np.float32)
    p["clutter_ab"] = rng.uniform(0.08, 0.6, (n, k, 2)).astype(np.float32)
    p["clutter_rgb"] = rng.uniform(10, 245, (n, k, 3)).astype(np.float32)
    p["clutter_alpha"] = (rng.uniform(0.3, 1.0, (n, k)) * (rng.uniform(0, 1, (n, k)) < 0.7)).astype(np.float32)
    p["noise_sigma"] = _u(rng, 2.0, 8.0, n)
    p["noise_seed"] = rng.integers(0, 2**63 - 1, n, dtype=np.int64)
    p["side"] = np.where(rng.uniform(0, 1, n) < 0.5, 0, 1).astype(np.int64)  # unilateral AUs: 0 left, 1 right
    if style == "posed":
        f32 = np.float32
        p["tx"] *= f32(0.4)
        p["ty"] *= f32(0.4)
        p["roll"] *= f32(0.3)
        p["scale"] = f32(1.0) + (p["scale"] - f32(1.05)) * f32(0.4)
        p["gain"] = f32(0.95) + (p["gain"] - f32(0.935)) * f32(0.3)
        p["light_amp"] *= f32(0.35)
        p["bg"] = np.repeat(p["bg"].mean(axis=1, keepdims=True) * f32(0.4) + f32(80), 3, axis=1)
        p["bg_amp"] *= f32(0.3)
        p["clutter_alpha"][:] = 0
        p["noise_sigma"] *= f32(0.35)
    return p


def index_params(params: dict[str, np.ndarray], index) -> dict[str, np.ndarray]:
    """Rows `index` of every parameter array."""
    return {k: v[index] for k, v in params.items()}


def sample_au(labels, rng: np.random.Generator, intensity=None, side=None) -> np.ndarray:
    """AU intensities for each label: (N, len(AU_CODES), 2) float32 in [0, 1] (left, right).

    Prototype AUs get nominal * s * f with an expression strength s ~ U(0.6, 1) per image and
    f ~ U(0.75, 1) per AU; optional AUs (OPTIONAL_AUS) appear with their probability; every face
    also carries small idiosyncratic AU activity (each AU with p = 0.15, up to 0.15) so that no
    class is a perfectly still template. `intensity` (scalar or (N,)) scales everything (0 gives
    an AU-free face, as in the first frame of a posed sequence). `side` (N,) 0/1 picks the half
    of the face for unilateral AUs (default: drawn from rng).
    """
    labels = np.asarray(labels, dtype=np.int64)
    n, k = len(labels), len(AU_CODES)
    if n and (labels.min() < 0 or labels.max() >= len(FERPLUS_CLASSES)):
        raise ValueError(f"sample_au: labels must index FERPLUS_CLASSES (0..{len(FERPLUS_CLASSES) - 1})")
    strength = rng.uniform(0.6, 1.0, n)
    factor = rng.uniform(0.75, 1.0, (n, k))
    optional = rng.uniform(0, 1, (n, k))
    idio = (rng.uniform(0, 1, (n, k)) < 0.15) * rng.uniform(0, 0.15, (n, k))
    drawn_side = (rng.uniform(0, 1, n) < 0.5).astype(np.int64)
    side = drawn_side if side is None else np.asarray(side, dtype=np.int64)
    au = np.repeat(idio[:, :, None], 2, axis=2)
    for c, name in enumerate(FERPLUS_CLASSES):
        rows = np.flatnonzero(labels == c)
        if not len(rows):
            continue
        for code, nominal, unilateral in PROTOTYPES[name]:
            j = _COL[code]
            val = nominal * strength[rows] * factor[rows, j]
            if unilateral:
                au[rows, j, side[rows]] += val
            else:
                au[rows, j, :] += val[:, None]
        for code, prob, nominal in OPTIONAL_AUS.get(name, ()):
            j = _COL[code]
            on = optional[rows, j] < prob
            au[rows, j, :] += (on * nominal * strength[rows] * factor[rows, j])[:, None]
    au = np.clip(au, 0.0, 1.0)
    if intensity is not None:
        inten = np.broadcast_to(np.asarray(intensity, dtype=np.float64), (n,))
        if np.any((inten < 0) | (inten > 1)) or not np.all(np.isfinite(inten)):
            raise ValueError("sample_au: intensity must lie in [0, 1]")
        au = au * inten[:, None, None]
    return au.astype(np.float32)


# ---------------------------------------------------------------------------- geometry
def geometry(params: dict[str, np.ndarray], au: np.ndarray) -> dict[str, np.ndarray]:
    """Positions and sizes of the facial features in face coordinates, (N,) float32 each.

    Keys: eye_dx, eye_y, eye_w, eye_up, eye_lo (lid openings above/below the eye line),
    brow_in_u, brow_in_v, brow_mid_u, brow_mid_v, brow_out_u, brow_out_v, brow_th,
    nose_y, nostril_y, nostril_w, mouth_y, mouth_wl, mouth_wr (half widths to the left/right
    corner), mouth_dyl, mouth_dyr (corner offsets, negative = up), mouth_open, lip_up, lip_lo,
    chin_drop, and AU darkening strengths (wrinkle_forehead, wrinkle_glabella, wrinkle_nose,
    nasolabial, cheek_raise, dimple_l, dimple_r, lip_press).
    """
    A = au.astype(np.float32)
    both = A.mean(axis=2)  # bilateral reading for features drawn symmetrically

    def I(code):  # noqa: E743
        return both[:, _COL[code]]

    def L(code):
        return A[:, _COL[code], 0]

    def R(code):
        return A[:, _COL[code], 1]

    g: dict[str, np.ndarray] = {}
    eye_h = params["eye_h"]
    g["eye_dx"] = params["eye_dx"]
    g["eye_y"] = params["eye_y"]
    g["eye_w"] = params["eye_w"] * (1 - 0.12 * I(7))
    g["eye_up"] = eye_h * np.clip(1 + 1.2 * I(5) - 0.5 * I(7) - 0.3 * I(6), 0.2, None)
    g["eye_lo"] = eye_h * 0.8 * np.clip(1 - 0.55 * I(6) - 0.45 * I(7) + 0.2 * I(5), 0.2, None)
    brow_v = params["eye_y"] - params["brow_gap"]
    g["brow_in_u"] = params["eye_dx"] - 0.15 - 0.035 * I(4)
    g["brow_in_v"] = brow_v + 0.01 - 0.12 * I(1) - 0.02 * I(2) + 0.08 * I(4) + 0.04 * I(9)
    g["brow_mid_u"] = params["eye_dx"]
    g["brow_mid_v"] = brow_v - params["brow_arch"] - 0.07 * I(1) - 0.08 * I(2) + 0.06 * I(4) + 0.015 * I(9)
    g["brow_out_u"] = params["eye_dx"] + params["eye_w"] + 0.045
    g["brow_out_v"] = brow_v - 0.015 * I(1) - 0.12 * I(2) + 0.035 * I(4)
    g["brow_th"] = params["brow_th"] * (1 + 0.3 * I(4))
    g["nose_y"] = params["nose_y"]
    g["nostril_y"] = params["nose_y"] - 0.03 * I(9)
    g["nostril_w"] = params["nose_w"] * (1 + 0.35 * I(9))
    g["mouth_y"] = params["mouth_y"] - 0.015 * I(9) + 0.01 * I(26)

    def width(side_fn):
        return params["mouth_w"] + 0.05 * side_fn(12) + 0.08 * side_fn(20) - 0.04 * I(23) - 0.02 * side_fn(14) - 0.01 * I(24)

    def corner(side_fn):
        return (params["mouth_curve"] - 0.12 * side_fn(12) + 0.10 * side_fn(15) + 0.02 * side_fn(20)
                - 0.035 * side_fn(14) + 0.02 * I(16))

    g["mouth_wl"], g["mouth_wr"] = width(L), width(R)
    g["mouth_dyl"], g["mouth_dyr"] = corner(L), corner(R)
    press = np.clip(0.7 * I(24) + 0.35 * I(23), 0, 0.85)
    g["mouth_open"] = np.clip(0.04 * I(25) + 0.17 * I(26) + 0.26 * I(27) + 0.035 * I(16) - 0.03 * press, 0, None)
    g["lip_up"] = params["lip_up"] * (1 - press)
    g["lip_lo"] = params["lip_lo"] * (1 - press) + 0.02 * I(16)
    g["chin_drop"] = 0.6 * (0.17 * I(26) + 0.26 * I(27))
    g["wrinkle_forehead"] = np.clip(0.6 * (I(1) + I(2)) / 2 * 1.4, 0, 0.6)
    g["wrinkle_glabella"] = 0.55 * I(4)
    g["wrinkle_nose"] = 0.6 * I(9)
    g["nasolabial"] = 0.12 + 0.4 * np.maximum(np.maximum(I(12), I(9)), I(6))
    g["cheek_raise"] = I(6)
    g["dimple_l"], g["dimple_r"] = 0.6 * L(14), 0.6 * R(14)
    g["lip_press"] = press
    return {k: np.asarray(v, dtype=np.float32) for k, v in g.items()}


def _face_to_image(params, u, v):
    """Face coordinates (N,) -> normalised image coordinates in [-1, 1] (x right, y down)."""
    c, s = np.cos(params["roll"]), np.sin(params["roll"])
    sc = params["scale"]
    return params["tx"] + sc * (c * u - s * v), params["ty"] + sc * (s * u + c * v)


def landmarks(params: dict[str, np.ndarray], au: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Named points in image pixel coordinates (col, row), each (N, 2) float64.

    Names: eye_left, eye_right, brow_left, brow_right, nose, mouth, mouth_corner_left,
    mouth_corner_right, cheek_left, cheek_right, chin, forehead ("left" = image left).
    """
    g = geometry(params, au)
    mo = g["mouth_open"]
    pts = {
        "eye_left": (-g["eye_dx"], g["eye_y"]),
        "eye_right": (g["eye_dx"], g["eye_y"]),
        "brow_left": (-g["brow_mid_u"], g["brow_mid_v"]),
        "brow_right": (g["brow_mid_u"], g["brow_mid_v"]),
        "nose": (np.zeros_like(g["nose_y"]), g["nose_y"]),
        "mouth": ((g["mouth_wr"] - g["mouth_wl"]) / 2, g["mouth_y"] + 0.25 * mo),
        "mouth_corner_left": (-g["mouth_wl"], g["mouth_y"] + g["mouth_dyl"]),
        "mouth_corner_right": (g["mouth_wr"], g["mouth_y"] + g["mouth_dyr"]),
        "cheek_left": (-(g["eye_dx"] + 0.02), g["eye_y"] + 0.2),
        "cheek_right": (g["eye_dx"] + 0.02, g["eye_y"] + 0.2),
        "chin": (np.zeros_like(g["nose_y"]), params["face_cy"] + params["face_b"] + g["chin_drop"] - 0.06),
        "forehead": (np.zeros_like(g["nose_y"]), g["brow_mid_v"] - 0.2),
    }
    out = {}
    for name, (u, v) in pts.items():
        x, y = _face_to_image(params, np.asarray(u, np.float64), np.asarray(v, np.float64))
        out[name] = np.stack([(x + 1) * size / 2 - 0.5, (y + 1) * size / 2 - 0.5], axis=1)
    return out


# ---------------------------------------------------------------------------- distance-field helpers
def _clip01(x):
    return np.clip(x, 0.0, 1.0, out=x)


def _ellipse(u, v, cu, cv, a, b, px):
    """Anti-aliased coverage of an axis-aligned ellipse; signed distance ~ (q - 1) / 2 * min(a, b)."""
    du, dv = (u - cu) / a, (v - cv) / b
    q = du * du + dv * dv
    return _clip01(0.5 - (q - 1.0) * (0.5 * np.minimum(a, b) / px))


def _capsule(u, v, u0, v0, u1, v1, r, px):
    """Coverage of a segment (u0,v0)-(u1,v1) of half-thickness r."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv + 1e-9), 0.0, 1.0)
    eu, ev = u - u0 - t * du, v - v0 - t * dv
    d = np.sqrt(eu * eu + ev * ev) - r
    return _clip01(0.5 - d / px)


def _between(v, top, bot, px):
    """Coverage of the band top <= v <= bot (vertical distances)."""
    return _clip01(np.minimum(v - top, bot - v) / px + 0.5)


def _luma(rgb):
    """Grey value of RGB colours (..., 3) -> (...): elementwise, so never batch-dependent (a BLAS
    dot product may sum differently for different batch sizes)."""
    rgb = np.asarray(rgb, np.float32)
    return rgb[..., 0] * _LUMA[0] + rgb[..., 1] * _LUMA[1] + rgb[..., 2] * _LUMA[2]


def _ripple(v, period):
    """Parallel wrinkle lines: 1 on a line, 0 half a period away (a parabola per period, made of
    exactly rounded operations so a pixel never depends on the batch around it)."""
    s = v / np.float32(period)
    s = 2 * (s - np.floor(s)) - 1
    return s * s


def _paint(img, alpha, color):
    """img (B,H,W,C) <- img + alpha * (color - img); color (B,C)."""
    img += alpha[..., None] * (color[:, None, None, :] - img)


def _shade(img, alpha, amount):
    """Darken (amount > 0) or lighten (amount < 0) by alpha * amount."""
    img *= (1.0 - alpha * amount)[..., None]


def _cos(a):
    """cos per element with libm (independent of batch layout, unlike SIMD loops): (B,) float32."""
    return np.array([math.cos(float(t)) for t in a], np.float32)


def _sin(a):
    return np.array([math.sin(float(t)) for t in a], np.float32)


#: Face-coordinate boxes (u0, u1, v0, v1) that contain every feature drawn in a group, for all
#: parameter values; drawing a group only inside its box over a batch changes no pixel.
_BOXES = {
    "fringe": (-0.75, 0.75, -1.15, 0.05),
    "upper": (-0.58, 0.58, -0.85, 0.14),
    "mid": (-0.52, 0.52, -0.28, 0.7),
    "mouth": (-0.55, 0.55, -0.08, 1.2),
}


def _window(p, box, size):
    """Pixel slices (rows, cols) covering face-coordinate `box` for every image of the batch."""
    u0, u1, v0, v1 = box
    us = np.array([u0, u1, u0, u1], np.float64)[None, :]
    vs = np.array([v0, v0, v1, v1], np.float64)[None, :]
    c, s = np.cos(p["roll"].astype(np.float64))[:, None], np.sin(p["roll"].astype(np.float64))[:, None]
    sc = p["scale"].astype(np.float64)[:, None]
    x = p["tx"][:, None] + sc * (c * us - s * vs)
    y = p["ty"][:, None] + sc * (s * us + c * vs)
    col, row = (x + 1) * size / 2 - 0.5, (y + 1) * size / 2 - 0.5
    c0, c1 = int(np.floor(col.min())) - 2, int(np.ceil(col.max())) + 3
    r0, r1 = int(np.floor(row.min())) - 2, int(np.ceil(row.max())) + 3
    return slice(max(r0, 0), max(min(r1, size), 0)), slice(max(c0, 0), max(min(c1, size), 0))


def _draw_chunk(p, g, cls_regions, size, channels):
    """Draw one batch: p, g dicts of (B,) arrays already indexed; returns float img, bool regions."""
    # long: one vectorised drawing pass over the batch: each layer (background, hair, face, features) paints over the last using the same face coordinates; parts would pass a dozen arrays between them
    B = len(p["tx"])
    H = W = size
    f32 = np.float32
    col = lambda key: (p[key] if channels == 3 else _luma(p[key])[:, None]).astype(f32)  # noqa: E731
    const = lambda rgb: np.broadcast_to(  # noqa: E731
        (rgb if channels == 3 else _luma(rgb)[None]).astype(f32), (B, channels))
    e = lambda a: np.asarray(a, f32)[:, None, None]  # noqa: E731
    lin = ((np.arange(W, dtype=f32) + 0.5) / W * 2 - 1)
    x = np.broadcast_to(lin[None, None, :], (B, H, W))
    y = np.broadcast_to(lin[None, :, None], (B, H, W))
    # background: colour, gradient, clutter (image coordinates)
    bgdir = p["bg_dir"]
    grad = 1 + e(p["bg_amp"]) * (x * e(_cos(bgdir)) + y * e(_sin(bgdir)))
    img = col("bg")[:, None, None, :] * grad[..., None]
    px_img = f32(2.0 / W)
    for k in range(p["clutter_xy"].shape[1]):
        a = _ellipse(x, y, e(p["clutter_xy"][:, k, 0]), e(p["clutter_xy"][:, k, 1]),
                     e(p["clutter_ab"][:, k, 0]), e(p["clutter_ab"][:, k, 1]), px_img) * e(p["clutter_alpha"][:, k])
        cc = p["clutter_rgb"][:, k, :]
        _paint(img, a, (cc if channels == 3 else _luma(cc)[:, None]).astype(f32))
    nz = "nz_tex_amp" in p  # nuisance factors (rbdm_core.data.nuisance) drawn for this batch
    if nz:
        nuisance.paint_background(img, x, y, p, channels, _ellipse, _paint, px_img)
    # face coordinates
    cr, sr, sc = e(_cos(p["roll"])), e(_sin(p["roll"])), e(p["scale"])
    dx, dy = x - e(p["tx"]), y - e(p["ty"])
    U = (cr * dx + sr * dy) / sc
    V = (-sr * dx + cr * dy) / sc
    AU = np.abs(U)
    px = f32(2.0 / W) / sc
    skin = col("skin")
    hair = col("hair")
    fa, fb, fcy = e(p["face_a"]), e(p["face_b"]), e(p["face_cy"])
    chin = e(g["chin_drop"])
    # hair behind the head
    hv = e(p["hair_volume"])
    a_hair = _ellipse(U, V, 0, fcy - 0.12, fa * hv, fb * hv * 0.92, px) * e(1 - p["bald"])
    _paint(img, a_hair, hair)
    # neck and ears
    neck = _clip01((0.27 - AU) / px + 0.5) * _clip01((V - 0.35) / px + 0.5)
    _paint(img, neck, skin * 0.82)
    ears = _ellipse(AU, V, fa - 0.01, e(g["eye_y"]) + 0.08, 0.07, 0.14, px)
    _paint(img, ears, skin * 0.92)
    # face: ellipse whose lower half lengthens with the jaw drop
    fbv = np.where(V > fcy, fb + chin, fb)
    a_face = _ellipse(U, V, 0, fcy, fa, fbv, px)
    _paint(img, a_face, skin)

    def win(name):
        rs, cs = _window(p, _BOXES[name], size)
        return U[:, rs, cs], V[:, rs, cs], AU[:, rs, cs], img[:, rs, cs], (rs, cs)

    eye_dx, eye_y = e(g["eye_dx"]), e(g["eye_y"])
    # ---- upper face: forehead (AU1/2), glabella (AU4) and nose-bridge (AU9) wrinkles, fringe, eyes, brows
    u, v, au_, im, _ = win("upper")
    fh_band = _between(v, e(g["brow_mid_v"]) - 0.24, e(g["brow_mid_v"]) - 0.07, px) * _clip01((0.3 - au_) / px)
    _shade(im, fh_band * _ripple(v, 0.055), 0.35 * e(g["wrinkle_forehead"]))
    glab = _capsule(au_, v, 0.03, e(g["brow_in_v"]) - 0.03, 0.035, e(g["brow_in_v"]) + 0.08, 0.008, px)
    _shade(im, glab, 0.45 * e(g["wrinkle_glabella"]))
    nose_band = _between(v, eye_y + 0.01, eye_y + 0.12, px) * _clip01((0.085 - au_) / px)
    _shade(im, nose_band * _ripple(v, 0.035), 0.45 * e(g["wrinkle_nose"]))
    uf, vf, _, imf, (rs, cs) = win("fringe")
    # (cut by an ellipse a little larger than the face, inside the hair behind it: no seam at the face edge)
    fringe = (_clip01((e(p["hairline"]) + 0.35 * uf * uf - vf) / px + 0.5)
              * _ellipse(uf, vf, 0, fcy, fa + 0.03, fb + 0.03, px) * e(1 - p["bald"]))
    _paint(imf, fringe, hair)
    # eyes: sclera (upper and lower lid openings), iris, lid line, AU6 lower-lid bulge
    ew = e(g["eye_w"])
    up, lo = e(g["eye_up"]), e(g["eye_lo"])
    eh = np.where(v < eye_y, up, lo)
    sclera = _ellipse(au_, v, eye_dx, eye_y, ew, eh, px)
    _paint(im, sclera, const(_SCLERA * 0.92))
    iris = _ellipse(au_, v, eye_dx, eye_y + e(p["iris_dy"]), 0.045, 0.045, px) * sclera
    _paint(im, iris, col("iris"))
    pupil = _ellipse(au_, v, eye_dx, eye_y + e(p["iris_dy"]), 0.018, 0.018, px) * sclera
    _shade(im, pupil, 0.8)
    lid = _ellipse(au_, v, eye_dx, eye_y - 0.004, ew + 0.008, up + 0.016, px) * (1 - sclera) * _clip01((eye_y - v) / px + 0.5)
    _shade(im, lid, 0.55)
    bulge = _capsule(au_, v, eye_dx - ew * 0.7, eye_y + lo + 0.03, eye_dx + ew * 0.7, eye_y + lo + 0.03, 0.006, px)
    _shade(im, bulge, 0.4 * e(g["cheek_raise"]))
    # brows: two capsules inner->mid->outer
    r = e(g["brow_th"]) / 2
    bi_u, bi_v = e(g["brow_in_u"]), e(g["brow_in_v"])
    bm_u, bm_v = e(g["brow_mid_u"]), e(g["brow_mid_v"])
    bo_u, bo_v = e(g["brow_out_u"]), e(g["brow_out_v"])
    brow = np.maximum(_capsule(au_, v, bi_u, bi_v, bm_u, bm_v, r, px),
                      _capsule(au_, v, bm_u, bm_v, bo_u, bo_v, r * 0.8, px))
    _paint(im, brow, 0.55 * hair + 0.25 * skin)
    # ---- mid face: AU6 cheeks catch the light, nasolabial folds, nose
    u, v, au_, im, _ = win("mid")
    cheek = _ellipse(au_, v, eye_dx + 0.02, eye_y + 0.2, 0.12, 0.085, px)
    _shade(im, cheek, -0.14 * e(g["cheek_raise"]))
    mw = e((g["mouth_wl"] + g["mouth_wr"]) / 2)
    mdy = e((g["mouth_dyl"] + g["mouth_dyr"]) / 2)
    my = e(g["mouth_y"])
    nl = _capsule(au_, v, e(g["nostril_w"]) + 0.035, e(g["nose_y"]) - 0.01, mw + 0.05, my + 0.5 * mdy + 0.04, 0.006, px)
    _shade(im, nl, 0.35 * e(g["nasolabial"]))
    nose_side = _capsule(au_, v, 0.045, eye_y + 0.03, e(g["nostril_w"]) * 0.7, e(g["nose_y"]) - 0.04, 0.012, px)
    _shade(im, nose_side, 0.15)
    nostr = _ellipse(au_, v, e(g["nostril_w"]) * 0.65, e(g["nostril_y"]), 0.022 * (1 + 0.4 * e(g["wrinkle_nose"])), 0.013, px)
    _shade(im, nostr, 0.55)
    # ---- mouth: lips, opening, teeth, seam (corner offsets per side), dimples
    u, v, au_, im, _ = win("mouth")
    left = u < 0
    wside = np.where(left, e(g["mouth_wl"]), e(g["mouth_wr"]))
    t = np.clip(u / wside, -1.5, 1.5)
    t2 = t * t
    cdy = np.where(left, e(g["mouth_dyl"]), e(g["mouth_dyr"]))
    one = np.maximum(1 - t2, 0)
    sq = np.sqrt(one)
    c = my + cdy * t2
    mo = e(g["mouth_open"])
    ui = c - 0.25 * mo * one
    li = c + 0.75 * mo * one
    horiz = _clip01((1 - np.abs(t)) * wside / px + 0.5)
    lips = _between(v, ui - e(g["lip_up"]) * sq - 0.004, li + e(g["lip_lo"]) * sq + 0.004, px) * horiz
    _paint(im, lips, skin * np.array([0.82, 0.6, 0.6] if channels == 3 else [0.68], f32))
    inside = _between(v, ui, li, px) * horiz
    _paint(im, inside, const(_MOUTH))
    teeth = _between(v, ui, ui + 0.45 * (li - ui), px) * horiz * e(p["teeth"] * (g["mouth_open"] > 0.03))
    _paint(im, teeth, const(_TEETH * 0.9))
    seam = _clip01(1 - np.abs(v - (ui + li) / 2) / (px * 0.9)) * horiz
    _shade(im, seam, 0.45 + 0.3 * e(g["lip_press"]))
    for sgn, key_w, key_dy, key_d in ((-1, "mouth_wl", "mouth_dyl", "dimple_l"), (1, "mouth_wr", "mouth_dyr", "dimple_r")):
        dim = _ellipse(u, v, sgn * (e(g[key_w]) + 0.03), my + e(g[key_dy]) + 0.005, 0.014, 0.02, px)
        _shade(im, dim, e(g[key_d]))
    occluder = nuisance.paint_occluder(img, U, V, p, channels, _ellipse, _paint, px) if nz else None
    # illumination over the whole scene
    ld = p["light_dir"]
    light = e(p["gain"]) * (1 + e(p["light_amp"]) * (x * e(_cos(ld)) + y * e(_sin(ld))))
    if nz:
        extra = nuisance.light_factor(x, y, p)
        if extra is not None:
            light = light * extra
    img *= light[..., None]
    cue = nuisance.paint_cue(img, x, y, p) if nz else None
    regions = _regions(U, V, AU, p, g, cls_regions, px, win)
    regions &= a_face >= 0.5  # facial regions lie on the face (a wide brow region is cut at the temples)
    for hidden in (occluder, cue):  # what an occluder or the patch covers shows no facial evidence
        if hidden is not None:
            regions &= hidden < 0.5
    return img, regions


def _regions(U, V, AU, p, g, cls_regions, px, win):
    """(B,H,W) bool: union of the regions named per image in cls_regions (list of tuples)."""
    e = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731
    out = np.zeros(U.shape, bool)
    wanted = {r: np.array([r in names for names in cls_regions])[:, None, None] for r in REGION_NAMES}
    eye_dx, eye_y = e(g["eye_dx"]), e(g["eye_y"])
    if wanted["brows"].any() or wanted["eyes"].any():
        u, v, au_, _, (rs, cs) = win("upper")
        o = out[:, rs, cs]
        if wanted["brows"].any():
            bv = (e(g["brow_in_v"]) + e(g["brow_mid_v"]) + e(g["brow_out_v"])) / 3
            o |= (_ellipse(u, v, 0, bv, e(g["brow_out_u"]) + 0.06, 0.1, px) >= 0.5) & wanted["brows"]
        if wanted["eyes"].any():
            m = _ellipse(au_, v, eye_dx, eye_y, e(g["eye_w"]) + 0.06, np.maximum(e(g["eye_up"]), e(g["eye_lo"])) + 0.06, px)
            o |= (m >= 0.5) & wanted["eyes"]
    if wanted["cheeks"].any() or wanted["nose"].any():
        u, v, au_, _, (rs, cs) = win("mid")
        o = out[:, rs, cs]
        if wanted["cheeks"].any():
            o |= (_ellipse(au_, v, eye_dx + 0.02, eye_y + 0.2, 0.13, 0.095, px) >= 0.5) & wanted["cheeks"]
        if wanted["nose"].any():
            top, bot = eye_y, e(g["nose_y"]) + 0.04
            m = _ellipse(u, v, 0, (top + bot) / 2, e(g["nostril_w"]) + 0.06, (bot - top) / 2 + 0.04, px)
            o |= (m >= 0.5) & wanted["nose"]
    if wanted["mouth"].any():
        u, v, au_, _, (rs, cs) = win("mouth")
        o = out[:, rs, cs]
        mo = e(g["mouth_open"])
        dys = np.stack([g["mouth_dyl"], g["mouth_dyr"]], 1)
        top = e(g["mouth_y"] + np.minimum(dys.min(1), 0)) - 0.25 * mo - e(g["lip_up"])
        bot = e(g["mouth_y"] + np.maximum(dys.max(1), 0)) + 0.75 * mo + e(g["lip_lo"])
        cu = e((g["mouth_wr"] - g["mouth_wl"]) / 2)
        hw = e((g["mouth_wr"] + g["mouth_wl"]) / 2) + 0.07
        m = _ellipse(u, v, cu, (top + bot) / 2, hw, (bot - top) / 2 + 0.07, px)
        o |= (m >= 0.5) & wanted["mouth"]
    return out


def _noise(seed: int, shape, sigma: float) -> np.ndarray:
    return np.random.default_rng(int(seed)).standard_normal(shape, dtype=np.float32) * np.float32(sigma)


def draw_faces(params: dict[str, np.ndarray], au: np.ndarray, labels, size: int = 48, channels: int = 1,
               workers: int | None = None, region_names: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Render faces from parameters and AU intensities.

    params: from `sample_faces` (N rows); au: (N, len(AU_CODES), 2) in [0, 1];
    labels: (N,) indices into FERPLUS_CLASSES, used only for the ground-truth regions;
    region_names: the regions to return for every image (a subset of REGION_NAMES) instead of
    each class's `CLASS_REGIONS` (then `labels` play no part in the output).
    Returns images (N, size, size, channels) uint8 and regions (N, size, size) bool. Image i
    depends on row i alone (batching and `workers` do not change a byte).
    """
    size, channels = _check_size_channels(size, channels)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    au = np.asarray(au, dtype=np.float32)
    if au.shape != (n, len(AU_CODES), 2):
        raise ValueError(f"draw_faces: au must have shape ({n}, {len(AU_CODES)}, 2), got {au.shape}")
    for k, val in params.items():
        if len(val) != n:
            raise ValueError(f"draw_faces: params[{k!r}] has {len(val)} rows, expected {n}")
    if "nz_face_da" in params:
        params = nuisance.vary_identity(params)
    g = geometry(params, au)
    if region_names is not None:
        unknown = sorted(set(region_names) - set(REGION_NAMES))
        if unknown:
            raise ValueError(f"draw_faces: region_names: unknown region(s) {unknown}; expected some of {list(REGION_NAMES)}")
        cls_regions = [tuple(region_names)] * n
    else:
        cls_regions = [CLASS_REGIONS[FERPLUS_CLASSES[c]] for c in labels]
    images = np.empty((n, size, size, channels), np.uint8)
    regions = np.empty((n, size, size), bool)

    chunk = max(4, min(256, _CHUNK_PIXELS // (size * size)))

    def job(start):
        sl = slice(start, min(start + chunk, n))
        img, reg = _draw_chunk(index_params(params, sl), index_params(g, sl), cls_regions[sl], size, channels)
        for i in range(img.shape[0]):
            j = sl.start + i
            img[i] += _noise(params["noise_seed"][j], img.shape[1:], params["noise_sigma"][j])
        np.clip(img, 0, 255, out=img)
        images[sl] = np.rint(img).astype(np.uint8)
        regions[sl] = reg

    starts = range(0, n, chunk)
    workers = 1 if workers is None else int(workers)
    if workers > 1 and n > chunk:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(job, starts))
    else:
        for s in starts:
            job(s)
    return images, regions


def _check_size_channels(size, channels):
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an int >= 16 (pixels per side), got {size!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    return int(size), int(channels)


def render_faces(labels, seed: int = 0, size: int = 48, channels: int = 1, intensity=None,
                 style: str = "wild", workers: int | None = None, return_params: bool = False,
                 nuisance_levels=None, cue=None, cue_corner: int = 0, domain_code: int = 0):
    """Draw one face per label: a pure function of (labels, seed, size, channels, intensity).

    labels: (N,) int indices into FERPLUS_CLASSES; intensity: None, scalar or (N,) in [0, 1]
    scaling every AU (0 = the person at rest); style: "wild" or "posed" (see STYLES).
    nuisance_levels: None or {factor: level} (`rbdm_core.data.nuisance`), drawn from a third seed
    stream so that the faces and expressions are the same at every level; cue: (N,) class index
    the spurious patch shows, cue_corner: its corner, domain_code: picks its grey palette.
    Returns images (N, size, size, channels) uint8 and regions (N, size, size) bool, plus
    (params, au) when return_params.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"render_faces: seed must be a non-negative int, got {seed!r}")
    _check_size_channels(size, channels)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.ndim != 1:
        raise ValueError(f"render_faces: labels must be 1-D, got shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(FERPLUS_CLASSES)):
        raise ValueError(f"render_faces: labels must lie in 0..{len(FERPLUS_CLASSES) - 1} (FERPLUS_CLASSES)")
    face_ss, au_ss, nz_ss = np.random.SeedSequence(int(seed)).spawn(3)  # the first two as with spawn(2)
    params = sample_faces(len(labels), np.random.default_rng(face_ss), style=style)
    au = sample_au(labels, np.random.default_rng(au_ss), intensity=intensity, side=params["side"])
    lv = nuisance.levels(nuisance_levels)
    if nuisance.active(lv):
        params.update(nuisance.sample(len(labels), np.random.default_rng(nz_ss), lv, cue=cue,
                                      corner=cue_corner, domain_code=domain_code))
    images, regions = draw_faces(params, au, labels, size, channels, workers=workers)
    if return_params:
        return images, regions, params, au
    return images, regions
