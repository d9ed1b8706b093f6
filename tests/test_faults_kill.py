"""Kills at every stage resume to the identical result (issue 17, item 2).

Each kill is a real SIGKILL of a real subprocess at a deterministic point: the test-only hook
`RBDM_FAULT_AFTER=STAGE:N` (`rbdm_core.faults`) makes the run kill its own process group after the
N-th training step / relevance batch / mask chunk / AffectNet shard / book chapter; inside a
chapter the test itself kills the process group once the running notebook shows executed cells.
The re-run without the hook must end with the same files (sha256) as an uninterrupted run in
another folder (`.keras` files by their members, without the save date), and no temporary file of
the killed writer may stay.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import fault_runs as fr

KILLED = -9  # Popen's return code of a process ended by SIGKILL


def _stage(run: Path, kind: str) -> list[Path]:
    return sorted((run / "tiny" / kind).glob("*")) if (run / "tiny" / kind).exists() else []


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny pipeline run once without interruption: its artifacts' hashes and its stdout."""
    run = tmp_path_factory.mktemp("reference")
    code, out, err = fr.finish(fr.pipeline(run))
    assert code == 0, err[-3000:]
    return fr.artifact_hashes(run), out


@pytest.mark.slow
def test_kills_in_every_pipeline_stage_resume_to_the_uninterrupted_result(tmp_path, reference):
    """One run folder, killed in turn inside the Trainer's training, the relevance maps, the mask
    build and the Trainee's training; each re-run resumes what is on disk, the last one finishes
    and its folder equals the uninterrupted run's, file for file."""
    ref, ref_out = reference
    run = tmp_path / "run"

    # 1. the Trainer, after its 4th step (the last checkpoint was at step 3: eval_every=3)
    code, _, err = fr.finish(fr.pipeline(run, RBDM_FAULT_AFTER="train-step-no-mask:4"))
    assert code == KILLED, err[-2000:]
    (trainer,) = _stage(run, "trainer")
    meta = json.loads(str(np.load(trainer / "checkpoint.npz")["meta"]))
    assert meta["step"] == 3 and meta["step"] < meta["total_steps"]
    assert not (trainer / "result.json").exists() and not _stage(run, "relevance")

    # 2. the relevance maps of the training images, after the worker's 2nd batch (of 32 images)
    code, _, err = fr.finish(fr.pipeline(run, RBDM_FAULT_AFTER="relevance-batch:2"))
    assert code == KILLED, err[-2000:]
    assert (trainer / "result.json").exists()
    assert {k: v for k, v in fr.artifact_hashes(run).items() if "/trainer/" in k} == \
        {k: v for k, v in ref.items() if "/trainer/" in k}  # the resumed Trainer is the reference one
    assert not any((d / "arrays.npz").exists() for d in _stage(run, "relevance"))

    # 3. the masks of the training images: their chunk written, the folder not yet marked done
    code, _, err = fr.finish(fr.pipeline(run, RBDM_FAULT_AFTER="mask-chunk:1"))
    assert code == KILLED, err[-2000:]
    (masks,) = _stage(run, "masks")
    assert (masks / "masks_00000.npy").exists() and not (masks / "done").exists()

    # 4. the Trainee, after its 5th step
    code, _, err = fr.finish(fr.pipeline(run, RBDM_FAULT_AFTER="train-step-negative:5"))
    assert code == KILLED, err[-2000:]
    (trainee,) = _stage(run, "trainee")
    assert (trainee / "checkpoint.npz").exists() and not (trainee / "result.json").exists()

    # 5. the re-run finishes: the same artifacts as the uninterrupted run, nothing half-written
    code, out, err = fr.finish(fr.pipeline(run))
    assert code == 0, err[-3000:]
    assert out == ref_out
    assert fr.artifact_hashes(run) == ref
    assert fr.temporary_files(run) == []


def test_fault_plan_is_checked():
    from rbdm_core import faults

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(faults.ENV, "train-step:0")
        with pytest.raises(ValueError, match=r"RBDM_FAULT_AFTER: expected STAGE:N with N >= 1.*'train-step:0'"):
            faults.fault_point("train-step")
        mp.setenv(faults.ENV, "mask-chunk:2")
        faults.fault_point("mask-chunk")  # the first pass: nothing happens (the second would kill)
        faults.fault_point("train-step")  # another stage: counted, never planned
        assert faults._counts["mask-chunk"] == 1


# --------------------------------------------------------------------------- AffectNet
AFFECTNET_READ = """
import sys
from rbdm_core.data.affectnet import read_affectnet
ds = read_affectnet(sys.argv[1], size=6, cache_dir=sys.argv[2], progress=False, shard_rows=1)
print(len(ds), ds.images.shape)
"""


def _affectnet_root(tmp_path: Path) -> Path:
    from fixtures_writers import write_affectnet

    rng = np.random.default_rng(0)
    images = {f"s/{k}.png": rng.integers(0, 255, (30, 40, 3), dtype=np.uint8) for k in range(6)}
    training = [dict(path=f"s/{k}.png", box=(2, 3, 20, 20), expression=k % 8) for k in range(4)]
    validation = [dict(path=f"s/{k}.png", box=(2, 3, 20, 20), expression=k % 8) for k in range(4, 6)]
    root = tmp_path / "affectnet"
    write_affectnet(root, training, validation, images)
    return root


def test_kills_in_the_affectnet_index_and_image_cache_resume_to_the_same_cache(tmp_path):
    """Killed after the 2nd shard of image hashes (the index), then after the 3rd shard of cropped
    faces (the image cache): the re-run's cache equals an uninterrupted one's, file for file."""
    root = _affectnet_root(tmp_path)
    read = [sys.executable, "-c", AFFECTNET_READ, str(root)]
    code, out_ref, err = fr.finish(fr.start(read + [str(tmp_path / "ref")]))
    assert code == 0, err
    cache = tmp_path / "cache"
    code, _, err = fr.finish(fr.start(read + [str(cache)], RBDM_FAULT_AFTER="affectnet-hash-shard:2"))
    assert code == KILLED, err
    assert len(list(cache.glob("affectnet/index-*/hashes/*.npy"))) == 2
    code, _, err = fr.finish(fr.start(read + [str(cache)], RBDM_FAULT_AFTER="affectnet-image-shard:3"))
    assert code == KILLED, err
    (images,) = [d for d in cache.glob("affectnet/*") if not d.name.startswith("index-")]
    assert len(list((images / "done").glob("*"))) == 3 and not (images / "images.npy").exists()
    code, out, err = fr.finish(fr.start(read + [str(cache)]))
    assert code == 0, err
    assert out == out_ref
    assert fr.artifact_hashes(cache) == fr.artifact_hashes(tmp_path / "ref")
    assert fr.temporary_files(cache) == []
