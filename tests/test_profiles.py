"""Profile files (YAML): base, fields by name, roots; errors that name the field and list the valid ones."""

import pytest

from rbdm_core.pipeline import Pipeline
from rbdm_core.profiles import PROFILES, get_profile, is_profile_file, load_profile

EXAMPLE = """\
base: paper
roots:
  ferplus: corpora/ferplus
  affectnet: corpora/affectnet
  ckplus: /data/ckplus
source_size: 48
input_size: null
trainer_candidates: [small_cnn]
trainer_epochs: 2
trainee: small_cnn
trainee_epochs: 2
switch_epoch: 1
seeds: [0]
eval_every: 5
"""


def _write(tmp_path, text, name="shrunk.yml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_issue_example_loads(tmp_path):
    p = _write(tmp_path, EXAMPLE)
    prof = get_profile(str(p))
    assert prof.name == "shrunk" and not prof.synthetic  # from base: paper
    assert (prof.source_size, prof.input_size, prof.trainer_candidates, prof.trainer_epochs) == (48, None, ("small_cnn",), 2)
    assert (prof.trainee, prof.trainee_epochs, prof.switch_epoch, prof.seeds, prof.eval_every) == ("small_cnn", 2, 1, (0,), 5)
    assert prof.augment and prof.class_weighted  # kept from the base
    assert prof.roots == {"ferplus": str((tmp_path / "corpora/ferplus").resolve()),
                          "affectnet": str((tmp_path / "corpora/affectnet").resolve()), "ckplus": "/data/ckplus"}
    assert get_profile(p, seeds=[1, 2]).seeds == (1, 2)  # overrides still apply
    assert is_profile_file(p) and not is_profile_file("quick")


def test_pipeline_takes_the_roots_of_the_file_and_explicit_roots_win(tmp_path):
    p = _write(tmp_path, EXAMPLE)
    pipe = Pipeline(str(p), run_dir=tmp_path / "runs")
    assert pipe.roots["ckplus"] == "/data/ckplus"
    assert pipe.store.root == (tmp_path / "runs" / "shrunk").resolve()
    pipe = Pipeline(str(p), run_dir=tmp_path / "runs", roots={"ckplus": "/elsewhere"})
    assert pipe.roots["ckplus"] == "/elsewhere"
    no_roots = _write(tmp_path, "base: paper\n", "bare.yaml")
    with pytest.raises(ValueError, match="give roots for"):
        Pipeline(str(no_roots), run_dir=tmp_path / "runs")


def test_a_synthetic_base_and_an_empty_file(tmp_path):
    prof = load_profile(_write(tmp_path, "base: standard\nnuisance: 0.5\n", "half.yml"))
    assert prof.name == "half" and prof.nuisance == 0.5 and prof.seeds == PROFILES["standard"].seeds
    empty = load_profile(_write(tmp_path, "", "empty.yml"))
    assert empty == PROFILES["quick"].with_(name="empty")


@pytest.mark.parametrize("text, match", [
    ("epochz: 3\n", r"unknown field\(s\) \['epochz'\]; valid fields are \[.*'trainee_epochs'.*'base', 'roots'\]"),
    ("name: other\n", r"unknown field\(s\) \['name'\]"),
    ("trainer_epochs: two\n", r"field 'trainer_epochs' must be int, got 'two'"),
    ("trainer_epochs: true\n", r"field 'trainer_epochs' must be int, got True"),
    ("seeds: [0, a]\n", r"field 'seeds' must be tuple\[int, \.\.\.\], got \[0, 'a'\]"),
    ("synthetic: 'yes'\n", r"field 'synthetic' must be bool, got 'yes'"),
    ("input_size: 1.5\n", r"field 'input_size' must be int \| str \| None, got 1.5"),
    ("base: fast\n", r"base: unknown profile 'fast'; expected one of \['paper', 'quick', 'standard'\]"),
    ("roots: {fer: /x}\n", r"roots: unknown source\(s\) \['fer'\]; valid sources are \['ferplus', 'affectnet', 'ckplus', 'folder', 'gaze'\]"),
    ("roots: {gaze: 3}\n", r"roots: 'gaze' must be a path \(a gaze recording: a file, or a folder of EyeLink ASC files\), got 3"),
    ("roots: {ferplus: 3}\n", r"roots: 'ferplus' must be a folder path, got 3"),
    ("- a\n- b\n", r"expected a mapping of field: value, got list"),
    ("seeds: [0\n", r"not valid YAML"),
])
def test_bad_profile_files_are_named(tmp_path, text, match):
    p = _write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        get_profile(str(p))
    assert str(p) in str(info.value)


def test_missing_profile_file_and_unknown_name(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"profile file .*nope.yml: not found"):
        get_profile(str(tmp_path / "nope.yml"))
    with pytest.raises(ValueError, match=r"unknown profile 'fast'"):
        get_profile("fast")


def test_an_image_folder_root_is_read_and_resolved(tmp_path):
    """roots: {folder: DIR} is accepted (relative to the file) and replaces FERPlus: a paper-based
    profile with a folder needs no FERPlus root."""
    from rbdm_core.pipeline import Pipeline

    prof = load_profile(_write(tmp_path, "base: paper\nroots: {folder: faces, affectnet: /a, ckplus: /c}\n", "own.yml"))
    assert prof.roots == {"folder": str((tmp_path / "faces").resolve()), "affectnet": "/a", "ckplus": "/c"}
    pipe = Pipeline(prof, run_dir=tmp_path / "runs")
    assert pipe.roots["folder"] == str((tmp_path / "faces").resolve())
    no_folder = load_profile(_write(tmp_path, "base: paper\nroots: {affectnet: /a, ckplus: /c}\n", "nofolder.yml"))
    with pytest.raises(ValueError, match=r"give roots for \['ferplus'\]"):
        Pipeline(no_folder, run_dir=tmp_path / "runs")
