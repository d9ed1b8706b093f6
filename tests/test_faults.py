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

import errno
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fault_runs as fr
from rbdm_core.locks import WAIT_NOTICE

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


# --------------------------------------------------------------------------- two processes, one run folder
@pytest.mark.slow
def test_two_pipelines_at_once_on_one_fresh_run_folder_equal_a_solo_run(tmp_path, reference):
    """Two processes run the same steps at once in one run folder (as two `rbdm run 02` would):
    both finish with the solo run's result, and the folder holds the solo run's files: one of them
    computed each step while the other waited on the step's lock, then read it."""
    ref, ref_out = reference
    run = tmp_path / "run"
    a, b = fr.pipeline(run), fr.pipeline(run)
    (ca, oa, ea), (cb, ob, eb) = fr.finish(a), fr.finish(b)
    assert (ca, cb) == (0, 0), (ea[-2000:], eb[-2000:])
    assert oa == ob == ref_out
    assert fr.artifact_hashes(run) == ref
    assert fr.temporary_files(run) == [] and not list(run.rglob(".lock"))


HOLD = """
import sys, time
from pathlib import Path
from rbdm_core.locks import folder_lock
with folder_lock(sys.argv[1], "the test step"):
    print("held", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.05)
print("released", flush=True)
"""


def _holder(tmp_path: Path, folder: Path):
    proc = fr.start([sys.executable, "-c", HOLD, str(folder), str(tmp_path / "release")])
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    return proc


def test_a_held_folder_names_its_holder_and_a_killed_holder_frees_it(tmp_path):
    from rbdm_core.locks import FolderInUse, folder_lock

    folder = tmp_path / "step"
    holder = _holder(tmp_path, folder)
    with pytest.raises(FolderInUse, match=rf"step: relevance in use by PID {holder.pid} on host .* since "):
        with folder_lock(folder, "relevance", wait=False):
            pass
    (folder / ".x.tmp").write_bytes(b"half")  # what a writer killed part-way leaves
    holder.kill()  # SIGKILL: no clean-up runs in the holder
    holder.wait()
    with folder_lock(folder, "relevance", wait=False):  # the kernel released the dead holder's lock
        assert not (folder / ".x.tmp").exists()  # and the new holder swept the half-written file


def test_a_second_process_waits_for_the_holder_then_goes_on(tmp_path):
    folder = tmp_path / "step"
    first = _holder(tmp_path, folder)
    second = fr.start([sys.executable, "-c", HOLD, str(folder), str(tmp_path / "release")])
    line = second.stderr.readline()
    assert f"{folder}: the test step in use by PID {first.pid}" in line and "waiting for it" in line
    assert WAIT_NOTICE.fullmatch(line)  # the notice nbval drops (rbdm_core.nbval_plugin) is this line
    assert second.poll() is None  # still waiting
    (tmp_path / "release").touch()
    assert fr.finish(first)[:2] == (0, "released\n")
    assert fr.finish(second)[:2] == (0, "held\nreleased\n")


CHAPTER = """# %% tags=["parameters"]
run_dir = None
go = None

# %%
import os, time
import numpy as np
from rbdm_core.artifacts import Store

def compute():
    t0 = time.monotonic()  # hold the chapter until the test says the other process waits (file `go`)
    while go and not os.path.exists(go) and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    return {"a": np.arange(12.0).reshape(3, 4)}

print(Store(run_dir + "/quick").cached_arrays("sums", {"k": 1}, compute)["a"].sum(axis=1))
"""


@pytest.mark.slow
def test_two_rbdm_run_of_one_chapter_at_once_both_finish_with_the_solo_result(tmp_path):
    """Two `rbdm run CHAPTER` on one run folder at once: the second waits for the chapter's lock
    (named on stderr), then runs it on what the first stored; both notebooks equal a solo run's."""
    import nbformat

    from rbdm_core.references import sanitize_notebook

    chapter = tmp_path / "10_sums.py"
    chapter.write_text(CHAPTER)

    go = tmp_path / "go"  # the computing process holds the chapter until this file exists

    def rbdm_run(run: Path, name: str):
        err = tmp_path / f"{name}.err"
        proc = subprocess.Popen([sys.executable, "-m", "rbdm_core.cli", "run", str(chapter), "--run-dir", str(run),
                                 "-p", "run_dir", str(run), "-p", "go", str(go), "--no-progress"],
                                env=fr.env(), cwd=str(fr.REPO), stdout=subprocess.DEVNULL,
                                stderr=open(err, "w"), start_new_session=True)
        return proc, err

    go.touch()  # alone: no one to wait for
    solo, solo_err = rbdm_run(tmp_path / "solo", "solo")
    solo.wait(timeout=600)
    go.unlink()
    (a, ea), (b, eb) = rbdm_run(tmp_path / "both", "a"), rbdm_run(tmp_path / "both", "b")
    t0 = time.monotonic()  # the one that holds the chapter waits for `go`: the other must say it waits
    while "chapter 10_sums in use by PID" not in ea.read_text() + eb.read_text() and time.monotonic() - t0 < 300:
        time.sleep(0.1)
    waited = "chapter 10_sums in use by PID" in ea.read_text() + eb.read_text()
    go.touch()
    codes = (solo.returncode, a.wait(timeout=600), b.wait(timeout=600))
    assert codes == (0, 0, 0), (solo_err.read_text()[-2000:], ea.read_text()[-2000:], eb.read_text()[-2000:])
    assert waited, (ea.read_text()[-2000:], eb.read_text()[-2000:])

    def outputs(run: Path) -> str:
        nb = nbformat.read(run / "quick" / "notebooks" / "10_sums.ipynb", as_version=4)
        return nbformat.writes(sanitize_notebook(nb, paths={str(run): "<run_dir>"}))

    assert outputs(tmp_path / "both") == outputs(tmp_path / "solo")
    assert "[ 6. 22. 38.]" in outputs(tmp_path / "solo")  # the rows of arange(12) summed by hand


# small_cnn (not the quick Trainee, tiny_cnn): its 2 MB checkpoint is what the small-filesystem test overflows
TRAIN = ["-m", "rbdm_core.cli", "train", "--architecture", "small_cnn", "--n", "160", "--epochs", "2", "--eval-every", "3",
         "--quiet", "--out"]


@pytest.fixture(scope="module")
def solo_train(tmp_path_factory):
    """`rbdm train` of the tiny settings (TRAIN) once, uninterrupted, alone: its output folder."""
    out = tmp_path_factory.mktemp("solo-train") / "out"
    code, _, err = fr.finish(fr.start([sys.executable, *TRAIN, str(out)]))
    assert code == 0, err[-3000:]
    return out


@pytest.mark.slow
def test_two_rbdm_train_of_one_key_at_once_equal_a_solo_run(tmp_path, solo_train):
    a, b = (fr.start([sys.executable, *TRAIN, str(tmp_path / "both")]) for _ in range(2))
    (ca, oa, ea), (cb, ob, eb) = fr.finish(a), fr.finish(b)
    assert (ca, cb) == (0, 0), (ea[-2000:], eb[-2000:])
    assert oa.splitlines()[-1] == ob.splitlines()[-1]  # the same F1s printed
    assert fr.artifact_hashes(tmp_path / "both") == fr.artifact_hashes(solo_train)
    assert not list((tmp_path / "both").rglob(".lock"))


# --------------------------------------------------------------------------- a full disk
def test_a_full_disk_names_the_file_and_the_space_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    from rbdm_core import artifacts
    from rbdm_core.artifacts import DiskFull, Store

    maps = np.random.default_rng(0).random((50, 48, 48)).astype(np.float32)
    store = Store(tmp_path / "run")
    monkeypatch.setattr(artifacts, "open", fr.FullAfter(room=100_000), raising=False)
    with pytest.raises(DiskFull) as info:
        store.cached_arrays("relevance", {"k": 1}, lambda: {"maps": maps})
    d = tmp_path / "run" / "relevance" / artifacts.param_key({"k": 1})
    msg = str(info.value)
    assert msg.startswith(f"{d / 'arrays.npz'}: no space left to write it")
    assert f"it needs about {maps.nbytes / 1e3:.1f} kB ({maps.nbytes} bytes)" in msg  # 460.8 kB
    free = int(re.search(r"\((\d+) bytes\) free on that disk", msg).group(1))
    assert abs(free - shutil.disk_usage(tmp_path).free) < 100e6
    assert "nothing half-written was kept" in msg
    assert info.value.needed == maps.nbytes and isinstance(info.value, OSError)
    assert sorted(p.name for p in d.iterdir()) == ["params.json"]  # no partial file, no checksum, no lock
    monkeypatch.undo()  # space freed: the next run computes and stores it
    got = store.cached_arrays("relevance", {"k": 1}, lambda: {"maps": maps})["maps"]
    np.testing.assert_array_equal(got, maps)
    np.testing.assert_array_equal(Store(tmp_path / "run").cached_arrays("relevance", {"k": 1}, None)["maps"], maps)


@pytest.mark.slow
def test_rbdm_train_on_a_full_disk_says_so_and_the_next_run_continues(tmp_path, solo_train):
    """Room for two checkpoints only (ENOSPC injected at the write call, in a subprocess): exit 1,
    the message on stderr, no traceback, no temporary file, the last complete checkpoint kept;
    after space is freed the same command continues to the solo run's files."""
    ck = (solo_train / "no-mask" / "seed-0" / "checkpoint.npz").stat().st_size
    out = tmp_path / "out"
    code, _, err = fr.finish(fr.full_disk(2 * ck + 500, TRAIN[2:] + [str(out)]))
    assert code == 1, err[-3000:]
    seed = out / "no-mask" / "seed-0"
    assert f"rbdm train: error: {seed / 'checkpoint.npz'}: no space left to write it" in err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert fr.temporary_files(out) == []
    meta = json.loads(str(np.load(seed / "checkpoint.npz")["meta"]))
    assert 0 < meta["step"] < meta["total_steps"]  # the checkpoints that fitted: the run continues from there
    code, _, err = fr.finish(fr.start([sys.executable, *TRAIN, str(out)]))
    assert code == 0, err[-3000:]
    assert fr.artifact_hashes(out) == fr.artifact_hashes(solo_train)


SMALL_DISK = """
set -u
mount -t tmpfs -o size=3m tmpfs "$DISK" || exit 90
"$PY" "$@" "$DISK/out" > "$OUT/first.out" 2> "$OUT/first.err"; echo $? > "$OUT/first.code"
find "$DISK/out" -name '.*.tmp' > "$OUT/leftover"
mount -o remount,size=64m "$DISK" || exit 91
"$PY" "$@" "$DISK/out" > "$OUT/second.out" 2> "$OUT/second.err"; echo $? > "$OUT/second.code"
cp -r "$DISK/out" "$OUT/out"
"""


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    d = tmp_path / "probe"
    d.mkdir()
    try:
        r = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@pytest.mark.slow
def test_rbdm_train_on_a_real_small_filesystem(tmp_path, solo_train):
    """`rbdm train` writing into a 3 MB tmpfs (mounted in a user namespace, no root needed where
    the kernel allows it): the second 2 MB checkpoint does not fit. Exit 1 with the message, no
    traceback, no temporary file; after the filesystem grows the same command continues and ends
    with a solo run's files."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("no unprivileged user namespaces here (unshare -rm): the injected ENOSPC tests cover it")
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir(), out.mkdir()
    args = [sys.executable, *TRAIN]
    r = subprocess.run(["unshare", "-rm", "bash", "-c", SMALL_DISK, "small-disk", *args[1:]], capture_output=True,
                       text=True, env=fr.env(DISK=str(disk), OUT=str(out), PY=args[0]), cwd=str(fr.REPO), timeout=900)
    assert r.returncode == 0, r.stderr
    first_err = (out / "first.err").read_text()
    assert (out / "first.code").read_text().strip() == "1", first_err
    assert re.search(r"rbdm train: error: .*/out/no-mask/seed-0/checkpoint.npz: no space left to write it "
                     r"\(No space left on device; it needs about 2\.\d MB \(\d+ bytes\), .* free on that disk\)",
                     first_err), first_err
    assert "Traceback" not in first_err
    assert (out / "leftover").read_text() == ""
    assert (out / "second.code").read_text().strip() == "0", (out / "second.err").read_text()
    assert fr.artifact_hashes(out / "out") == fr.artifact_hashes(solo_train)


# --------------------------------------------------------------------------- rbdm book
TINY_PROFILE = "base: quick\nsource_n: 160\ntarget_n: 160\ngaze_n: 8\n"


def _book(tmp_path: Path, name: str) -> list[str]:
    """`rbdm book` of chapters 01 (the data) and 09 (the committed study) with the tiny profile,
    into its own run folder, without the HTML build (a function of the executed chapters)."""
    profile = tmp_path / "tiny.yml"
    profile.write_text(TINY_PROFILE)
    return [sys.executable, "-m", "rbdm_core.cli", "book", "--chapters", "01,09", "--profile", str(profile),
            "--run-dir", str(tmp_path / name), "--no-build", "--no-progress"]


def _executed_cells(path: Path) -> int:
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # being written
        return 0
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count"))


def _sanitised(run: Path) -> dict[str, str]:
    import nbformat

    from rbdm_core.references import sanitize_notebook

    return {p.name: nbformat.writes(sanitize_notebook(nbformat.read(p, as_version=4), paths={str(run): "<run_dir>"}))
            for p in sorted((run / "tiny" / "notebooks").glob("*.ipynb"))}


@pytest.mark.slow
def test_rbdm_book_killed_inside_and_between_chapters_resumes_to_the_same_book(tmp_path):
    """`rbdm book` killed inside chapter 01 (once its running notebook shows three executed
    cells), then between chapters 01 and 09 (RBDM_FAULT_AFTER=chapter:1); the third run finishes
    with the chapters' outputs of an uninterrupted run."""
    ref = fr.start(_book(tmp_path, "ref"))
    try:
        _kill_inside_and_between(tmp_path)
    finally:
        code_ref, out_ref, err_ref = fr.finish(ref)
    assert code_ref == 0, err_ref[-3000:]
    assert _sanitised(tmp_path / "run") == _sanitised(tmp_path / "ref")


def _kill_inside_and_between(tmp_path: Path) -> None:
    run = tmp_path / "run"
    notebooks = run / "tiny" / "notebooks"

    # 1. inside chapter 01: the test kills the process group (rbdm book and its kernel)
    proc = fr.start(_book(tmp_path, "run"))
    assert fr.kill_when(proc, lambda: _executed_cells(notebooks / ".01_data.running.ipynb") >= 3) == KILLED
    assert not (notebooks / "01_data.ipynb").exists()

    # 2. between chapters: chapter 01 done, chapter 09 not started, no book built
    code, _, err = fr.finish(fr.start(_book(tmp_path, "run"), RBDM_FAULT_AFTER="chapter:1"))
    assert code == KILLED, err[-2000:]
    assert (notebooks / "01_data.ipynb").exists() and not (notebooks / "09_study.ipynb").exists()
    assert not (run / "tiny" / "timings.json").exists()  # the book's run did not get to its end

    # 3. the re-run finishes: the same executed chapters as the uninterrupted run
    code, out, err = fr.finish(fr.start(_book(tmp_path, "run")))
    assert code == 0, err[-3000:]
    assert json.loads((run / "tiny" / "timings.json").read_text()).keys() == {"01_data", "09_study"}
    assert sorted(p.name for p in notebooks.glob("*.ipynb")) == ["01_data.ipynb", "09_study.ipynb"]
    assert not list(notebooks.glob(".*.ipynb"))  # no running notebook left of the killed runs
