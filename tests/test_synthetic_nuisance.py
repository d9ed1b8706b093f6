"""The nuisance factors of the synthetic world (rbdm_core.data.nuisance via make_domain)."""

import numpy as np
import pytest

from rbdm_core.data import nuisance
from rbdm_core.data.dataset import FERPLUS_CLASSES
from rbdm_core.data.synthetic import make_domain

N = 240


@pytest.fixture(scope="module")
def base():
    return make_domain("ferplus_like", n=N, seed=5)


def _same(a, b):
    return np.array_equal(a.images, b.images) and np.array_equal(a.regions, b.regions)


def test_level_zero_is_the_base_world(base):
    for nz in (0.0, 0, None, {}, {"clutter": 0.0}):
        assert _same(make_domain("ferplus_like", n=N, seed=5, nuisance=nz), base)
    assert "nuisance" not in base.provenance


def test_levels_keep_people_labels_and_splits_and_are_deterministic(base):
    a = make_domain("ferplus_like", n=N, seed=5, nuisance=0.7)
    b = make_domain("ferplus_like", n=N, seed=5, nuisance=0.7)
    assert _same(a, b)
    assert not np.array_equal(a.images, base.images)
    assert np.array_equal(a.labels, base.labels) and list(a.split) == list(base.split) and list(a.ids) == list(base.ids)
    assert a.provenance["nuisance"] == {f: 0.7 for f in nuisance.FACTORS}


def test_background_and_light_factors_leave_the_regions_exact(base):
    ds = make_domain("ferplus_like", n=N, seed=5, nuisance={"clutter": 1.0, "lighting": 1.0})
    assert np.array_equal(ds.regions, base.regions)  # the face did not move
    # clutter: the background (top-left corner, away from face and patch) varies more
    corner = (slice(0, 6), slice(0, 6))
    s0 = base.images[:, corner[0], corner[1], 0].astype(float).std(axis=(1, 2)).mean()
    s1 = ds.images[:, corner[0], corner[1], 0].astype(float).std(axis=(1, 2)).mean()
    assert s1 > s0 + 5


def test_occluders_hide_regions_and_nothing_else(base):
    ds = make_domain("ferplus_like", n=N, seed=5, nuisance={"occluders": 1.0})
    assert not np.any(ds.regions & ~base.regions)  # never adds region pixels
    lost = base.regions & ~ds.regions
    per_image = lost.reshape(N, -1).any(axis=1)
    assert 0.2 < per_image.mean() < 1.0  # some occluders cover evidence, not all
    # lost region pixels are where the occluder is drawn: they changed (bar the few where its grey
    # happens to round to the face's)
    changed = np.abs(ds.images[..., 0].astype(int) - base.images[..., 0].astype(int)) > 0
    assert changed[lost].mean() > 0.95
    half = make_domain("ferplus_like", n=N, seed=5, nuisance={"occluders": 0.5})
    frac_half = (~np.all(half.images == base.images, axis=(1, 2, 3))).mean()
    assert 0.3 < frac_half < 0.7  # an occluder in about half of the images


def test_identity_changes_faces_and_regions_follow(base):
    ds = make_domain("ferplus_like", n=N, seed=5, nuisance={"identity": 1.0})
    assert not np.array_equal(ds.regions, base.regions)
    # regions stay on their face: inside the bounding box of the pixels that changed or stayed face-like
    assert ds.regions.reshape(N, -1).any(axis=1).all()


def _patch_grey(images, corner, size):
    """Mean grey over the patch's sure interior (centre +/- jitter, half side from the constants)."""
    cx, cy = corner
    col = (cx + 1) * size / 2 - 0.5
    row = (cy + 1) * size / 2 - 0.5
    half_px = nuisance.PATCH_HALF * size / 2 - 0.04 * size / 2 - 0.5  # minus jitter and a border pixel
    r = int(np.floor(half_px))
    assert r >= 1 and abs(row - round(row)) + r <= half_px + 0.5
    rs = slice(int(round(row)) - r, int(round(row)) + r + 1)
    cs = slice(int(round(col)) - r, int(round(col)) + r + 1)
    return images[:, rs, cs, 0].astype(float).mean(axis=(1, 2))


def _decode(greys, palette):
    return np.argmin(np.abs(greys[:, None] - palette[None, :]), axis=1)


def test_spurious_patch_follows_the_class_in_training_only():
    n = 800
    ds = make_domain("ferplus_like", n=n, seed=2, nuisance={"spurious": 1.0})
    palette = nuisance.cue_palette(2)  # ferplus_like's domain code
    assert len(set(palette.tolist())) == len(FERPLUS_CLASSES)
    grey = _patch_grey(ds.images, nuisance.CORNERS[3], 48)
    assert np.all(np.min(np.abs(grey[:, None] - palette[None, :]), axis=1) < 9)  # a palette grey + sensor noise (sigma <= 8 over 9 px)
    dec = _decode(grey, palette)
    train = ds.split == "Training"
    assert np.all(dec[train] == ds.labels[train])
    held = ~train
    assert (dec[held] == ds.labels[held]).mean() < 0.3  # chance is 1/8
    half = make_domain("ferplus_like", n=n, seed=2, nuisance={"spurious": 0.5})
    agree = (_decode(_patch_grey(half.images, nuisance.CORNERS[3], 48), palette)[train] == half.labels[train]).mean()
    assert 0.45 < agree < 0.68  # 0.5 + 0.5 / 8 = 0.5625 expected
    # the patch is outside the face: no region pixel under it
    assert ds.regions[:, 38:, 38:].sum() == 0


def test_spurious_patch_differs_between_source_and_target():
    aff = make_domain("affectnet_like", n=200, seed=0, size=48, nuisance={"spurious": 1.0})
    assert aff.provenance["spurious_cue"]["corner"] == [-0.8, -0.8]
    assert aff.provenance["spurious_cue"]["corner"] != make_domain(
        "ferplus_like", n=200, seed=0, nuisance={"spurious": 1.0}).provenance["spurious_cue"]["corner"]
    assert not np.array_equal(nuisance.cue_palette(1), nuisance.cue_palette(2))
    grey = _patch_grey(np.mean(aff.images, axis=3, keepdims=True), nuisance.CORNERS[0], 48)
    tr = aff.split == "training"
    assert (_decode(grey, nuisance.cue_palette(1))[tr] == aff.labels[tr]).mean() > 0.95


def test_min_per_class_floor():
    ds = make_domain("ferplus_like", n=3000, seed=0, size=16, min_per_class=30)
    for s in ("PublicTest", "PrivateTest"):
        counts = np.bincount(ds.labels[ds.split == s], minlength=8)
        assert counts.min() >= 30
    assert ds.provenance["min_per_class_per_split"] == 30


@pytest.mark.parametrize("nz, match", [
    (1.5, r"nuisance: expected a number in \[0, 1\]"),
    (-0.1, r"nuisance: expected a number in \[0, 1\]"),
    ("high", r"nuisance: expected a number in \[0, 1\]"),
    (float("nan"), r"nuisance: expected a number in \[0, 1\]"),
    ({"hair": 0.5}, r"unknown factor\(s\) \['hair'\]; allowed factors are \['clutter', 'identity', 'lighting', 'occluders', 'spurious'\]"),
    ({"clutter": 2}, r"nuisance\['clutter'\]: expected a number in \[0, 1\]"),
])
def test_bad_nuisance_is_named(nz, match):
    with pytest.raises(ValueError, match=match):
        make_domain("ferplus_like", n=16, seed=0, nuisance=nz)


def test_ckplus_like_refuses_nuisance():
    with pytest.raises(ValueError, match="ckplus_like.*nuisance must be 0"):
        make_domain("ckplus_like", n=20, seed=0, nuisance=0.5)
    with pytest.raises(ValueError, match="min_per_class"):
        make_domain("ferplus_like", n=20, seed=0, min_per_class=-1)
