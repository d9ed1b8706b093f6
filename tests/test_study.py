"""The nuisance study runner (rbdm_core.study): its plan, its checks, its folder, a tiny real run."""

import json

import numpy as np
import pandas as pd
import pytest

from rbdm_core import study
from rbdm_core.data.synthetic import make_domain
from rbdm_core.profiles import VARIANTS, get_profile


def test_plan_covers_every_variant_fill_seed_and_level():
    prof = get_profile("standard")
    jobs = study.plan(prof, levels=(0.0, 1.0))
    assert len(jobs) == 2 * len(prof.seeds) * (7 + 6)
    assert {(j.fill, j.variant) for j in jobs} == {("zero", v) for v in VARIANTS} | {("noisy_linear", v) for v in VARIANTS[1:]}
    assert len(set(jobs)) == len(jobs)
    assert len(prof.seeds) >= 5 and prof.min_per_class >= 30


def test_standard_profile_has_30_validation_images_per_class():
    prof = get_profile("standard")
    ds = make_domain("ferplus_like", n=prof.target_n, seed=1, size=16, min_per_class=prof.min_per_class)
    assert np.bincount(ds.labels[ds.split == "PublicTest"], minlength=8).min() >= 30


@pytest.mark.parametrize("kwargs, match", [
    ({"profile": "paper"}, "needs a synthetic profile"),
    ({"levels": [0.0, 1.5]}, r"levels: expected numbers in \[0, 1\]"),
    ({"levels": []}, "at least one nuisance level"),
    ({"levels": [0.5, 0.5]}, "each level once"),
    ({"workers": 0}, "workers: expected a positive int"),
    ({"leak_free_fill": "zero"}, "leak_free_fill: expected one of"),
    ({"leak_free_fill": "paint"}, "leak_free_fill: expected one of"),
])
def test_bad_arguments_are_named_before_anything_runs(tmp_path, kwargs, match):
    args = {"profile": "standard", "run_dir": tmp_path, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        study.run(**args)
    assert not any(tmp_path.iterdir())


def _frames():
    curves = pd.DataFrame({"level": [0.0], "fill": ["zero"], "variant": ["no-mask"], "seed": [0], "step": [0],
                           "epoch": [0.0], "split": ["validation"], "value": [0.123456789]})
    return curves, pd.DataFrame({"level": [0.0], "trainer_f1": [0.5]}), {"seconds": 1.0, "runs": 1}


def test_folder_round_trip_and_atomic_replacement(tmp_path, monkeypatch):
    out = tmp_path / "study"
    curves, premise, meta = _frames()
    study.write(out, curves, premise, meta)
    r = study.load(out)
    assert r.curves.value.iloc[0] == pytest.approx(0.12346) and r.meta == meta
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*a, **k):
        raise OSError("No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="No space"):
        study.write(out, curves, premise, {"seconds": 2.0})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old folder, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no temporary left behind


def test_load_names_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not a study folder \(missing \['curves.csv.gz', 'premise.csv', 'meta.json'\]"):
        study.load(tmp_path)
    curves, premise, meta = _frames()
    study.write(tmp_path / "s", curves, premise, meta)
    (tmp_path / "s" / "meta.json").write_text("{oops")
    with pytest.raises(ValueError, match="meta.json: not valid JSON"):
        study.load(tmp_path / "s")


def test_patch_box_covers_the_spurious_patch():
    base = make_domain("ferplus_like", n=200, seed=4)
    cue = make_domain("ferplus_like", n=200, seed=4, nuisance={"spurious": 1.0})
    changed = (base.images != cue.images)[..., 0]
    box = study.patch_box(48, 3)
    assert changed.any(axis=0)[box].mean() > 0.9  # the box is where patches land
    assert not changed[:, ~box].any()  # and nothing else changed
    assert box.mean() < 0.05


def test_a_tiny_study_runs_resumes_and_is_read_back(tmp_path):
    prof = get_profile("standard").with_(name="tiny", source_n=160, target_n=200, trainer_epochs=1, trainee_epochs=1,
                                         seeds=(0,), eval_every=5, min_per_class=3, gaze_n=8)
    out = study.run(prof, levels=[0.0], run_dir=tmp_path, workers=2, progress=False)
    assert out == tmp_path / "tiny" / "study"
    r = study.load(out)
    assert r.meta["runs"] == 13 and r.meta["workers"] == 2 and r.meta["worker_kernels"]["TF_NUM_INTRAOP_THREADS"] == "1"
    got = set(map(tuple, r.curves[["fill", "variant"]].drop_duplicates().to_numpy()))
    assert got == {("zero", v) for v in VARIANTS} | {("noisy_linear", v) for v in VARIANTS[1:]}
    masked = r.curves[(r.curves.split == "validation-masked")]
    assert "no-mask" not in set(masked.variant) and len(masked)
    assert set(r.premise.columns) >= {"trainer_f1", "relevance_in_regions", "relevance_on_patch", "mean_kept_on_patch"}
    first = (out / "curves.csv.gz").read_bytes()
    again = study.run(prof, levels=[0.0], run_dir=tmp_path, workers=1, progress=False)  # every run cached
    assert (again / "curves.csv.gz").read_bytes() == first
    assert json.loads((again / "meta.json").read_text())["seconds"] < r.meta["seconds"]
