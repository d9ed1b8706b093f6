"""Nuisance of the synthetic world: what a face-expression network should learn to ignore.

Five named factors, each at a level in [0, 1] (0: today's images, byte for byte):

    clutter    background texture (two oriented gratings) and extra blobs behind the head
    identity   wider face shape, skin tone and hair colour than the base world
    lighting   a stronger light gradient and a soft cast shadow across the face
    occluders  with probability = level, an object (hand, scarf, glasses-like bar) over the face;
               the ground-truth regions exclude the occluded pixels
    spurious   a square patch in one corner whose grey level follows the class in the *training*
               split only (with probability = level; otherwise a random class's grey level; in
               held-out splits always random): a shortcut that predicts the label where the
               network is trained and nowhere else. Its corner and its class-to-grey map depend on
               the domain, so the Trainer's shortcut (AffectNet-like) is not the Trainee's
               (FERPlus-like)

`levels(nuisance)` turns a number or a {factor: level} mapping into the full mapping;
`sample(n, rng, levels, cue=None, corner=0)` draws the per-image parameters (prefix "nz_"),
always in the same number and order whatever the levels, so one seed gives the same scene at
every level with more or less of each factor; `vary_identity` widens the identity parameters
before the geometry is computed; the `paint_*` functions draw onto a batch inside the renderer.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

#: The named factors, in the order they are drawn.
FACTORS: tuple[str, ...] = ("clutter", "identity", "lighting", "occluders", "spurious")
#: What each factor does at level 1 (at level x: x times as much, or with probability x).
DESCRIPTIONS: dict[str, str] = {
    "clutter": "two oriented gratings (20-55 grey levels) over the background and three extra blobs behind the head",
    "identity": "face width and length +/- 0.07, skin tone x 0.55-1.3, hair recoloured at random",
    "lighting": "an extra light gradient (+/- 25-55 %) and a soft cast shadow (35-60 % darker) across the face",
    "occluders": "an object over the face in every image (at level x: in a share x); regions exclude what it hides",
    "spurious": "a corner patch whose grey follows the class in every training image (at level x: in a share x "
                "plus chance); random in held-out images; another corner and palette per corpus",
}
#: Corners of the spurious patch (image units, the image spans [-1, 1]): top-left, top-right,
#: bottom-left, bottom-right.
CORNERS: tuple[tuple[float, float], ...] = ((-0.8, -0.8), (0.8, -0.8), (-0.8, 0.8), (0.8, 0.8))
#: Half side of the spurious patch in image units (0.13 of the side: 6 px at 48 px).
PATCH_HALF = 0.13
#: Grey levels of the spurious patch, one per class (permuted per domain by `cue_palette`).
CUE_GREYS = np.linspace(24.0, 232.0, 8).astype(np.float32)


def levels(nuisance: float | Mapping[str, float] | None) -> dict[str, float]:
    """{factor: level} for every factor in FACTORS. nuisance: a number in [0, 1] (every factor at
    that level), a mapping of some factor names to levels (the others 0), or None (all 0)."""
    if nuisance is None:
        return {f: 0.0 for f in FACTORS}
    if isinstance(nuisance, Mapping):
        unknown = sorted(set(nuisance) - set(FACTORS))
        if unknown:
            raise ValueError(f"nuisance: unknown factor(s) {unknown}; allowed factors are {list(FACTORS)}")
        out = {f: 0.0 for f in FACTORS}
        for f, v in nuisance.items():
            out[f] = _level(v, f"nuisance[{f!r}]")
        return out
    v = _level(nuisance, "nuisance")
    return {f: v for f in FACTORS}


def _level(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) \
            or not 0.0 <= float(v) <= 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1] (0 = no nuisance, 1 = the most), got {v!r}")
    return float(v)


def active(lv: Mapping[str, float]) -> bool:
    return any(v > 0 for v in lv.values())


def cue_palette(domain_code: int) -> np.ndarray:
    """(8,) float32 grey level of the spurious patch per class, permuted by the domain."""
    return CUE_GREYS[np.random.default_rng(1000 + int(domain_code)).permutation(len(CUE_GREYS))]


def cue_classes(labels, split, training_splits, level: float, rng: np.random.Generator) -> np.ndarray:
    """(N,) int: the class whose grey the spurious patch shows. In `training_splits` the image's own
    label with probability `level`, else a uniformly drawn class; elsewhere always a drawn class
    (the patch is there, but says nothing). Draws do not depend on `level`."""
    labels = np.asarray(labels, np.int64)
    u = rng.uniform(0, 1, len(labels))
    drawn = rng.integers(0, 8, len(labels))
    train = np.isin(np.asarray(split, dtype=str), list(training_splits))
    return np.where(train & (u < level), labels, drawn).astype(np.int64)


def sample(n: int, rng: np.random.Generator, lv: Mapping[str, float], cue=None, corner: int = 0,
           domain_code: int = 0) -> dict[str, np.ndarray]:
    """Per-image nuisance parameters (N rows, keys "nz_*"), already scaled by the levels `lv`.

    cue: (N,) class index shown by the spurious patch (None: no patch); corner: index into CORNERS.
    The same rng state gives the same draws whatever `lv` (levels only scale them)."""
    n = int(n)
    f32 = np.float32
    u = lambda lo, hi, *shape: rng.uniform(lo, hi, (n, *shape)).astype(f32)  # noqa: E731
    p: dict[str, np.ndarray] = {}
    c, i, li, o, s = (f32(lv[k]) for k in FACTORS)
    # clutter: two gratings (frequency in cycles per image side, angle, phase, amplitude) + 3 blobs
    p["nz_tex_freq"] = u(2.0, 9.0, 2)
    p["nz_tex_angle"] = u(0.0, np.pi, 2)
    p["nz_tex_phase"] = u(0.0, 2 * np.pi, 2)
    p["nz_tex_amp"] = u(20.0, 55.0, 2) * c
    p["nz_blob_xy"] = u(-1.0, 1.0, 3, 2)
    p["nz_blob_ab"] = u(0.1, 0.45, 3, 2)
    p["nz_blob_grey"] = u(0.0, 255.0, 3, 3)
    p["nz_blob_alpha"] = u(0.5, 1.0, 3) * c
    # identity: face shape, skin tone, hair colour
    p["nz_face_da"] = u(-0.07, 0.07) * i
    p["nz_face_db"] = u(-0.06, 0.05) * i
    p["nz_skin_gain"] = f32(1) + u(-0.45, 0.3) * i
    p["nz_hair_rgb"] = u(0.0, 255.0, 3)
    p["nz_hair_mix"] = (rng.uniform(0, 1, n) < i).astype(f32) * u(0.5, 1.0)
    # lighting: extra gradient and a cast shadow (soft half-plane through the face)
    p["nz_light_amp"] = u(0.25, 0.55) * li
    p["nz_shadow_dir"] = u(0.0, 2 * np.pi)
    p["nz_shadow_off"] = u(-0.25, 0.25)
    p["nz_shadow_depth"] = u(0.35, 0.6) * li
    # occluders: one ellipse in face coordinates over the face, present with probability o
    p["nz_occ_on"] = (rng.uniform(0, 1, n) < o).astype(f32)
    p["nz_occ_uv"] = np.stack([u(-0.35, 0.35), u(-0.3, 0.5)], 1)
    p["nz_occ_ab"] = np.stack([u(0.12, 0.28), u(0.07, 0.16)], 1)
    p["nz_occ_rgb"] = u(10.0, 245.0, 3)
    # spurious: patch grey per image (NaN = no patch), centre jitter
    jitter = u(-0.04, 0.04, 2)
    if cue is None or s <= 0:
        p["nz_cue_grey"] = np.full(n, np.nan, f32)
    else:
        cue = np.asarray(cue, np.int64)
        if cue.shape != (n,):
            raise ValueError(f"nuisance.sample: cue must have shape ({n},), got {cue.shape}")
        p["nz_cue_grey"] = cue_palette(domain_code)[cue]
    cx, cy = CORNERS[int(corner)]
    p["nz_cue_xy"] = (np.array([cx, cy], f32)[None, :] + jitter).astype(f32)
    return p


def vary_identity(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A copy of renderer params with the identity factor applied (face shape, skin, hair)."""
    q = dict(params)
    f32 = np.float32
    q["face_a"] = (params["face_a"] + params["nz_face_da"]).astype(f32)
    q["face_b"] = (params["face_b"] + params["nz_face_db"]).astype(f32)
    q["skin"] = np.clip(params["skin"] * params["nz_skin_gain"][:, None], 0, 255).astype(f32)
    mix = params["nz_hair_mix"][:, None]
    q["hair"] = (params["hair"] * (1 - mix) + params["nz_hair_rgb"] * mix).astype(f32)
    return q


def _grey(rgb, channels):
    rgb = np.asarray(rgb, np.float32)
    if channels == 3:
        return rgb
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]


def paint_background(img, x, y, p, channels, ellipse, paint, px):
    """Clutter: gratings added to the background and blobs painted over it (before the head)."""
    e = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731
    amp = p["nz_tex_amp"]
    if not np.any(amp > 0):
        return
    tex = np.zeros(x.shape, np.float32)
    for k in range(amp.shape[1]):
        ang = p["nz_tex_angle"][:, k]
        t = x * e(np.cos(ang)) + y * e(np.sin(ang))
        tex += e(amp[:, k]) * np.sin(np.float32(np.pi) * e(p["nz_tex_freq"][:, k]) * t + e(p["nz_tex_phase"][:, k]))
    img += tex[..., None]
    for k in range(p["nz_blob_xy"].shape[1]):
        a = ellipse(x, y, e(p["nz_blob_xy"][:, k, 0]), e(p["nz_blob_xy"][:, k, 1]),
                    e(p["nz_blob_ab"][:, k, 0]), e(p["nz_blob_ab"][:, k, 1]), px) * e(p["nz_blob_alpha"][:, k])
        paint(img, a, _grey(p["nz_blob_grey"][:, k, :], channels))


def paint_occluder(img, U, V, p, channels, ellipse, paint, px):
    """Occluders: an ellipse over the face (face coordinates). Returns its alpha (B, H, W) or None."""
    on = p["nz_occ_on"]
    if not np.any(on > 0):
        return None
    e = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731
    a = ellipse(U, V, e(p["nz_occ_uv"][:, 0]), e(p["nz_occ_uv"][:, 1]),
                e(p["nz_occ_ab"][:, 0]), e(p["nz_occ_ab"][:, 1]), px) * e(on)
    paint(img, a, _grey(p["nz_occ_rgb"], channels))
    return a


def light_factor(x, y, p):
    """Lighting: (B, H, W) multiplicative field: extra gradient times a soft cast shadow, or None."""
    depth, amp = p["nz_shadow_depth"], p["nz_light_amp"]
    if not (np.any(depth > 0) or np.any(amp > 0)):
        return None
    e = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731
    d = p["nz_shadow_dir"]
    t = x * e(np.cos(d)) + y * e(np.sin(d)) - e(p["nz_shadow_off"])
    shadow = 1 - e(depth) * np.clip(t / np.float32(0.15) + np.float32(0.5), 0, 1)
    grad = 1 + e(amp) * (x * e(np.sin(d)) - y * e(np.cos(d)))
    return np.maximum(shadow * grad, np.float32(0.05))


def paint_cue(img, x, y, p):
    """Spurious: the corner patch (after the light: a watermark-like artefact of the data set).
    Returns its alpha (B, H, W) or None."""
    grey = p["nz_cue_grey"]
    on = ~np.isnan(grey)
    if not np.any(on):
        return None
    e = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731
    half = np.float32(PATCH_HALF)
    inside = (np.abs(x - e(p["nz_cue_xy"][:, 0])) <= half) & (np.abs(y - e(p["nz_cue_xy"][:, 1])) <= half)
    a = (inside & e(on).astype(bool)).astype(np.float32)
    val = np.where(on, grey, 0).astype(np.float32)
    img *= (1 - a)[..., None]
    img += (a * e(val))[..., None]
    return a
