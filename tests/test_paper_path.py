"""The paper path end to end: every chapter that takes a profile through `rbdm book` with a shrunken
paper profile file on miniature corpora in the real file formats (issue 14 items 2 and 3).

The corpora (tests/fixtures_writers.miniature_specs) are written once per module and made
read-only; the run executes the chapters without the HTML build (`--no-build`). The assertions
read the executed notebooks: every chapter ran, no output calls this run's data synthetic, and the
data chapter's table of what the readers did gives exactly the counts the fixture implies (the
FERPlus vote rule, AffectNet's cleaning and face-box crops, CK+'s first and last frames), counted
here from the fixture's own row descriptions. A second, smaller run puts an image folder in place
of FERPlus (`roots: {folder: DIR}`).
"""

from __future__ import annotations

import html
import json
import os
import re
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fixtures_writers import class_face, miniature_specs, save_image, snapshot, write_miniature_corpora

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ALL_CHAPTERS = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py"))
#: Chapters that read no corpus and take no profile (their inputs are the same under every profile,
#: test_chapters_left_out_take_no_profile_and_no_corpus checks it): run by nbval twice, not here.
NO_PROFILE = ("10_real_faces",)
CHAPTERS = [c for c in ALL_CHAPTERS if c not in NO_PROFILE]
#: The shrunken paper profile of the README, with the miniature corpora's roots.
PROFILE = """base: paper
roots: {{{roots}}}
source_size: 48
input_size: null
trainer_candidates: [small_cnn]
trainer_epochs: 2
trainee: small_cnn
trainee_epochs: 2
switch_epoch: 1
seeds: [0]
eval_every: 5
annotators: 2
"""
#: Chapter parameters that keep the run within CI's budget (the chapters' code paths stay the same;
#: chapter 7's per-kernel-setting runs start eight fresh processes, and chapter 6's second round
#: with the leak-free fill trains every masked variant again: both are run by nbval on the quick
#: profile, and neither reads the corpora differently; chapter 3 explains 8 images with every
#: method and 32 with the border moved outside, not 32 and 256).
FAST = {"measure_kernels": "false", "roar_fractions": "[0.3]", "roar_epochs": "1", "roar_seeds": "[0]",
        "leak_free_fill": "null",
        "n_runs": "2", "n_compare": "8", "n_border": "32"}


def _read_only(folder: Path) -> None:
    for p in [folder, *folder.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(folder: Path) -> None:
    for p in [folder, *folder.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


def _rbdm(args, cache: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, RBDM_CACHE_DIR=str(cache), PYTHONHASHSEED="0", MPLBACKEND="Agg",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "rbdm_core.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(REPO))


def _fast_parameters() -> list[str]:
    out = []
    for k, v in FAST.items():
        out += ["-p", k, v]
    return out


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpora")
    specs = miniature_specs(per_class=6, seed=0)
    roots = write_miniature_corpora(base, specs)
    _read_only(base)
    yield specs, roots, snapshot(base), base
    _writable(base)


@pytest.fixture(scope="module")
def paper_run(corpora, tmp_path_factory):
    specs, roots, _, _ = corpora
    work = tmp_path_factory.mktemp("paper_run")
    prof = work / "mini.yml"
    prof.write_text(PROFILE.format(roots=", ".join(f"{k}: {v}" for k, v in roots.items())))
    run_dir, cache = work / "runs", work / "cache"
    proc = _rbdm(["book", "--profile", str(prof), "--run-dir", str(run_dir), "--no-build", "--no-progress",
                  "--chapters", ",".join(c[:2] for c in CHAPTERS), *_fast_parameters()], cache)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir / "mini" / "notebooks", cache, proc


def _outputs(nb_path: Path) -> list[str]:
    """Every text and HTML output of an executed notebook."""
    nb = json.loads(nb_path.read_text())
    texts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if "text" in o:
                texts.append("".join(o["text"]))
            for mime, v in o.get("data", {}).items():
                if mime.startswith("text/"):
                    texts.append("".join(v) if isinstance(v, list) else str(v))
    return texts


def _html_table(texts: list[str], caption: str) -> list[list[str]]:
    """Rows of the HTML table with this caption (cells unescaped)."""
    for t in texts:
        if f"<caption>{html.escape(caption)}</caption>" in t:
            return [[html.unescape(c) for c in re.findall(r"<td(?: [^>]*)?>(.*?)</td>", row)]
                    for row in re.findall(r"<tr>(.*?)</tr>", t, flags=re.S) if "<td" in row]
    raise AssertionError(f"no table captioned {caption!r}")


def test_every_chapter_executes_on_the_real_formats(paper_run):
    nbdir, _, proc = paper_run
    assert sorted(p.stem for p in nbdir.glob("*.ipynb")) == CHAPTERS
    assert len(CHAPTERS) >= 9
    for ch in CHAPTERS:
        nb = json.loads((nbdir / f"{ch}.ipynb").read_text())
        assert not [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"], ch
    assert "no HTML built" in proc.stdout
    assert not list(nbdir.glob("*.failed.ipynb"))


def test_chapters_left_out_take_no_profile_and_no_corpus():
    from rbdm_core.chapters import chapter_parameters

    for ch in NO_PROFILE:
        params = chapter_parameters(REPO / "notebooks" / f"{ch}.py")
        assert params, f"{ch}: no parameters found (the check would pass on nothing)"
        taken = [k for k in params if k == "profile" or k.endswith("_root") or k == "run_dir"]
        assert not taken, f"{ch} takes {taken}: it reads a profile's data, so the paper path must run it"


def test_no_output_calls_the_real_data_synthetic(paper_run):
    nbdir, _, _ = paper_run
    for ch in CHAPTERS:
        text = "\n".join(_outputs(nbdir / f"{ch}.ipynb"))
        if ch.startswith("09"):  # the committed nuisance study: synthetic, and it says so
            assert "SYNTHETIC study" in text
            continue
        hits = [text[max(0, m.start() - 60): m.end() + 20] for m in re.finditer(r"(?i)synthetic|stand-in", text)]
        assert not hits, f"{ch}: {hits[:3]}"
        assert not re.search(r"(AffectNet|FERPlus|CK\+)-like", text), ch
    data = "\n".join(_outputs(nbdir / f"{CHAPTERS[0]}.ipynb"))
    assert re.search(r"FERPlus\s+real:\s+\d+ images of 48x48x1", data)


def test_the_readers_did_what_the_fixture_implies(paper_run, corpora):
    specs, _, _, _ = corpora
    nbdir, cache, _ = paper_run
    rows = _html_table(_outputs(nbdir / f"{CHAPTERS[0]}.ipynb"), "What the readers did (real corpora)")
    got = {(r[0], r[1]): int(r[2]) for r in rows}

    fer = specs["ferplus"]
    why = Counter(r.get("why") for r in fer)
    kept = why.pop(None)
    expected = {("FERPlus", "rows in fer2013new.csv"): len(fer),
                ("FERPlus", "kept by the vote rule (paper)"): kept}
    expected.update({("FERPlus", f"dropped: {k}"): n for k, n in why.items()})

    train, val, _ = specs["affectnet"]
    listed = train + val
    reasons = {"expression 8": "expression_none", "expression 9": "expression_uncertain",
               "expression 10": "expression_non_face", "duplicate_path": "duplicate_path",
               "duplicate_content": "duplicate_content"}
    a_why = Counter(reasons[r["why"]] for r in listed if "why" in r)
    a_kept = sum(1 for r in listed if "why" not in r)
    expected.update({("AffectNet", "rows in the lists"): len(listed), ("AffectNet", "kept"): a_kept,
                     ("AffectNet", "images cropped to their face box"): a_kept})
    expected.update({("AffectNet", f"dropped: {k}"): n for k, n in a_why.items()})

    seqs = specs["ckplus"]
    labelled = [s for s in seqs if s["code"] is not None]
    expected.update({("CK+", "labelled sequences"): len(labelled),
                     ("CK+", "first frames read (neutral)"): len(labelled),
                     ("CK+", "last frames read (labelled)"): len(labelled),
                     ("CK+", "dropped: unlabelled_sequences"): len(seqs) - len(labelled),
                     ("CK+", "emotion file names another frame than the last"):
                         sum(1 for s in labelled if s["label_frame"] != s["frames"])})
    assert got == expected

    # the face-box crops in the AffectNet cache: no pixel of the white frame around the box survives
    # (the faces are at most 209 grey), which a resize of the whole image would keep
    (images_npy,) = list((cache / "affectnet").glob("*/images.npy"))
    crops = np.load(images_npy)
    assert crops.shape == (a_kept, 48, 48, 3)
    assert crops.max() < 250 and crops.min() >= 40


def test_the_corpora_were_only_read(paper_run, corpora):
    _, _, before, base = corpora
    assert snapshot(base) == before


def test_an_image_folder_replaces_the_trainee_corpus(corpora, tmp_path):
    """roots: {folder: DIR} with AffectNet and CK+ and no FERPlus: the data chapter shows the folder
    as the Trainee's corpus, the Trainer chapter evaluates on it and the Trainee chapter trains on it."""
    _, roots, _, _ = corpora
    folder = tmp_path / "my_faces"
    rng = np.random.default_rng(1)
    names = {"happy": 1, "sad": 3, "Neutral": 0, "angry": 4}  # folder name -> FERPlus class index
    n_per = {"train": 6, "val": 2}
    for split, n in n_per.items():
        for name, k in names.items():
            for i in range(n):
                save_image(folder / split / name / f"{i}.png", class_face(k, (64, 64), rng))
    (folder / "train" / "happy" / "notes.txt").write_text("not an image")
    _read_only(folder)
    before = snapshot(folder)
    prof = tmp_path / "myfaces.yml"
    prof.write_text(PROFILE.format(roots=f"affectnet: {roots['affectnet']}, ckplus: {roots['ckplus']}, "
                                         f"folder: {folder}"))
    run_dir, cache = tmp_path / "runs", tmp_path / "cache"
    for ch in ("01", "02", "06"):
        proc = _rbdm(["run", ch, "--profile", str(prof), "--run-dir", str(run_dir), "--no-progress",
                      *(["-p", "leak_free_fill", "null"] if ch == "06" else [])], cache)
        assert proc.returncode == 0, proc.stderr[-4000:]
    nbdir = run_dir / "myfaces" / "notebooks"
    data = "\n".join(_outputs(nbdir / "01_data.ipynb"))
    n_images = len(names) * sum(n_per.values())
    assert re.search(rf"image folder\s+real:\s+{n_images} images of 48x48x1, splits Training, PublicTest", data)
    rows = _html_table(_outputs(nbdir / "01_data.ipynb"), "What the readers did (real corpora)")
    got = {(r[0], r[1]): int(r[2]) for r in rows if r[0] == "image folder"}
    assert got == {("image folder", "dropped: skipped_files"): 1, ("image folder", "dropped: skipped_folders"): 0,
                   ("image folder", "images read"): n_images}
    trainee = "\n".join(_outputs(nbdir / "06_trainee.ipynb"))
    assert "on the real target corpus" in trainee
    trainer = "\n".join(_outputs(nbdir / "02_trainer.ipynb"))
    assert re.search(rf"{len(names) * n_per['val']} PublicTest images", trainer), trainer[-2000:]
    for ch in ("01_data", "02_trainer", "06_trainee"):
        assert not re.search(r"(?i)synthetic", "\n".join(_outputs(nbdir / f"{ch}.ipynb"))), ch
    assert snapshot(folder) == before
    _writable(folder)

