"""Damaged artifacts: found by their checksum or by reading them, named, moved aside, recomputed."""

import numpy as np
import pytest

from rbdm_core import artifacts
from rbdm_core.artifacts import DamagedArtifact, Store
from rbdm_core.masking import build_masks, make_masks


def _store(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(1000, dtype=np.float32), "y": np.ones((3, 3), bool)}

    return Store(tmp_path), compute, calls


def test_arrays_carry_a_checksum_and_load_verified(tmp_path):
    store, compute, calls = _store(tmp_path)
    first = store.cached_arrays("relevance", {"a": 1}, compute)
    path = store.path("relevance", {"a": 1}, "arrays.npz")
    assert artifacts.checksum_path(path).read_text().strip() == artifacts._sha256_file(path)
    again = store.cached_arrays("relevance", {"a": 1}, compute)
    assert calls == [1] and np.array_equal(again["x"], first["x"])


@pytest.mark.parametrize("damage", ["truncate", "empty", "other-content", "missing-checksum-truncated"])
def test_damaged_arrays_are_named_moved_aside_and_recomputed(tmp_path, damage):
    store, compute, calls = _store(tmp_path)
    store.cached_arrays("relevance", {"a": 1}, compute)
    path = store.path("relevance", {"a": 1}, "arrays.npz")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:100])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other-content":
        with open(path, "wb") as fh:
            np.savez(fh, x=np.zeros(1000, np.float32), y=np.ones((3, 3), bool))
    else:  # written before checksums existed, then truncated: found by reading it
        artifacts.checksum_path(path).unlink()
        path.write_bytes(data[:-20])
    with pytest.warns(RuntimeWarning, match=rf"{path}: damaged artifact of step 'relevance' \(.*\); moved aside "
                                            r"to arrays.npz.damaged and recomputed"):
        out = store.cached_arrays("relevance", {"a": 1}, compute)
    assert calls == [1, 1] and np.array_equal(out["x"], np.arange(1000, dtype=np.float32))
    assert (path.parent / "arrays.npz.damaged").exists()
    assert artifacts.load_npz(path, "relevance")["x"].sum() == out["x"].sum()  # the new file is sound


def test_legacy_file_without_checksum_is_accepted_when_readable(tmp_path):
    p = tmp_path / "old.npz"
    with open(p, "wb") as fh:
        np.savez(fh, a=np.arange(3))
    assert list(artifacts.load_npz(p, "old")["a"]) == [0, 1, 2]
    with pytest.raises(DamagedArtifact, match=r"old.npz: damaged artifact of step 'old' \(arrays \['b'\] missing\)"):
        artifacts.load_npz(p, "old", keys=["b"])
    with pytest.raises(DamagedArtifact, match=r"nothing.npz: damaged artifact of step 's' \(missing\)"):
        artifacts.load_npz(tmp_path / "nothing.npz", "s")


def test_quarantine_never_overwrites_an_earlier_damaged_copy(tmp_path):
    p = tmp_path / "a.npy"
    for k in range(3):
        artifacts.save_npy(p, np.full(3, k))
        artifacts.quarantine(p)
    names = sorted(x.name for x in tmp_path.iterdir())
    assert names == ["a.npy.damaged", "a.npy.damaged.1", "a.npy.damaged.1.sha256", "a.npy.damaged.2",
                     "a.npy.damaged.2.sha256", "a.npy.damaged.sha256"]


def test_damaged_mask_chunk_is_rebuilt(tmp_path):
    rel = np.random.default_rng(0).normal(size=(10, 8, 8)).astype(np.float32)
    store = Store(tmp_path)
    first = build_masks(store, {"r": "x"}, rel, "mean", chunk=4, progress=False)
    assert np.array_equal(first, make_masks(rel, "mean"))
    chunk = next(store.root.glob("masks/*/masks_00001.npy"))
    chunk.write_bytes(chunk.read_bytes()[:40])
    with pytest.warns(RuntimeWarning, match=r"masks_00001.npy: damaged artifact of step 'masks'"):
        again = build_masks(store, {"r": "x"}, rel, "mean", chunk=4, progress=False)
    assert np.array_equal(again, first)
    assert (chunk.parent / "masks_00001.npy.damaged").exists() and (chunk.parent / "done").exists()
