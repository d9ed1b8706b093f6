"""The data-source registry (rbdm_core.data.sources): every source listed, each loading exactly
what its reader called directly loads (the code path the commands and the Pipeline had before),
the counts without decoding worked out by hand, and the errors naming what is known."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from PIL import Image

from fixtures_writers import ck_frame, write_affectnet, write_ckplus, write_ferplus
from rbdm_core.data import sources
from rbdm_core.data.affectnet import read_affectnet
from rbdm_core.data.ckplus import read_ckplus
from rbdm_core.data.ferplus import read_ferplus
from rbdm_core.data.folder import as_target_splits, read_folder
from rbdm_core.data.sources import DATA_SOURCES, SOURCE_NAMES, count_source, data_source, load_source
from rbdm_core.data.synthetic import DOMAINS, make_domain

# votes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
FER_ROWS = [
    dict(usage="Training", name="fer0000000.png", votes=[0, 9, 1, 0, 0, 0, 0, 0, 0, 0]),    # happiness
    dict(usage="Training", name="fer0000001.png", votes=[3, 0, 0, 2, 2, 1, 1, 1, 0, 0]),    # paper: neutral
    dict(usage="PublicTest", name="fer0000002.png", votes=[0, 0, 0, 0, 0, 8, 2, 0, 0, 0]),  # disgust
    dict(usage="PrivateTest", name="", votes=[0, 0, 0, 0, 0, 0, 0, 0, 0, 10]),             # dropped
]
CK_SEQS = [dict(subject=1, seq=1, frames=3, code="4.0000000e+00"),   # fear
           dict(subject=2, seq=1, frames=2, code="6.0000000e+00")]   # sadness
_A = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
_B = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
AN_TRAINING = [dict(path="a/1.png", box=(0, 0, 10, 10), expression=0),   # neutral
               dict(path="a/2.png", box=(0, 0, 10, 10), expression=3),   # surprise
               dict(path="a/3.png", box=(0, 0, 10, 10), expression=8)]   # None: dropped
AN_VALIDATION = [dict(path="b/1.png", box=(5, 5, 10, 10), expression=0),
                 dict(path="b/2.png", box=(5, 5, 10, 10), expression=0)]  # same content as b/1: dropped
AN_IMAGES = {"a/1.png": _A, "a/2.png": _B, "a/3.png": _B[::-1], "b/1.png": _A[::-1], "b/2.png": _A[::-1]}
#: by hand from the rows above
AN_COUNTS = {("training", "neutral"): 1, ("training", "surprise"): 1, ("validation", "neutral"): 1}


def _save(path, value, size=(30, 20)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)


def _folder(tmp_path):
    root = tmp_path / "faces"
    _save(root / "train" / "Happy" / "a.png", 200)
    _save(root / "train" / "sad" / "b.png", 50)
    _save(root / "train" / "sad" / "c.png", 60)
    (root / "train" / "sad" / "notes.txt").write_text("not an image")   # a skipped file
    _save(root / "val" / "angry" / "d.png", 255)
    _save(root / "val" / "angry" / "more" / "e.png", 1)                  # a skipped (nested) folder
    return root


def _nonzero(counts) -> dict:
    return {(s, lab): c for s, lab, c in counts.itertuples(index=False) if c}


def assert_same(a, b):
    """Two Datasets hold the same images, labels, splits, class names and provenance."""
    np.testing.assert_array_equal(np.asarray(a.images), np.asarray(b.images))
    np.testing.assert_array_equal(a.labels, b.labels)
    assert list(a.split) == list(b.split)
    assert a.class_names == b.class_names
    assert a.provenance == b.provenance


# --------------------------------------------------------------------------- the registry
def test_the_registry_lists_every_source_the_commands_and_the_pipeline_choose():
    from rbdm_core.commands import data, train

    assert SOURCE_NAMES == ("ferplus", "affectnet", "ckplus", "synthetic", "folder", "npz")
    assert set(data.SOURCES) <= set(SOURCE_NAMES) and set(train.DATA_OPTIONS) <= set(SOURCE_NAMES)
    assert data.SOURCES == ("ferplus", "affectnet", "ckplus", "synthetic", "folder")  # `rbdm data summary`'s choices
    assert tuple(train.DATA_OPTIONS) == ("synthetic", "ferplus", "affectnet", "folder", "npz")  # `--data`'s
    for name in SOURCE_NAMES:  # every option the commands pass is one the source takes
        assert set(data.SUMMARY_OPTIONS.get(name, ())) <= set(DATA_SOURCES[name].options), name
    # the Pipeline's roots from the environment, and the synthetic stand-ins of the three corpora
    assert {s.name: s.env for s in DATA_SOURCES.values() if s.env} == {
        "ferplus": "RBDM_FERPLUS_ROOT", "affectnet": "RBDM_AFFECTNET_ROOT", "ckplus": "RBDM_CKPLUS_ROOT"}
    assert {s.name: s.synthetic_domain for s in DATA_SOURCES.values() if s.synthetic_domain} == {
        "ferplus": "ferplus_like", "affectnet": "affectnet_like", "ckplus": "ckplus_like"}
    assert set(s.synthetic_domain for s in DATA_SOURCES.values() if s.synthetic_domain) == set(DOMAINS)


@pytest.mark.parametrize("name, reader", [("affectnet", read_affectnet), ("ckplus", read_ckplus),
                                          ("folder", read_folder), ("synthetic", make_domain),
                                          ("ferplus", read_ferplus)])
def test_option_defaults_are_the_readers_own(name, reader):
    """A caller that passed no option before gets what the reader's own default gave."""
    params = inspect.signature(reader).parameters
    for option, default in DATA_SOURCES[name].options.items():
        if option in params:
            assert params[option].default == default, (name, option)
        else:  # ferplus's two file paths: None = ROOT/<the file name>
            assert name == "ferplus" and option in ("fer2013", "fer2013new") and default is None


def test_an_unknown_source_or_option_is_an_error_listing_the_known_ones(tmp_path):
    msg = ("data_source: expected one of ['ferplus', 'affectnet', 'ckplus', 'synthetic', 'folder', 'npz'], "
           "got 'mnist'")
    for call in (lambda: data_source("mnist"), lambda: load_source("mnist", tmp_path),
                 lambda: count_source("mnist", tmp_path)):
        with pytest.raises(ValueError) as exc:
            call()
        assert str(exc.value) == msg
    with pytest.raises(ValueError, match=r"^ckplus data: unknown option\(s\) \['seed'\]; expected some of "
                                         r"\['size', 'progress'\]$"):
        load_source("ckplus", tmp_path, seed=1)


def test_one_of():
    assert sources.one_of(["a"]) == "a"
    assert sources.one_of(["a", "b", "c"]) == "a, b or c"


# --------------------------------------------------------------------------- each source, as before
def test_ferplus_loads_as_read_ferplus(tmp_path):
    old, new = write_ferplus(tmp_path / "fer", FER_ROWS)
    for rule in ("paper", "ferplus-majority"):
        assert_same(load_source("ferplus", tmp_path / "fer", rule=rule, progress=False),
                    read_ferplus(old, new, rule=rule, progress=False))
    moved = new.rename(tmp_path / "votes.csv")  # --fer2013new: the votes file elsewhere
    got = load_source("ferplus", tmp_path / "fer", fer2013new=str(moved), progress=False)
    assert_same(got, read_ferplus(old, moved, progress=False))
    assert _nonzero(got.counts()) == {("Training", "happiness"): 1, ("Training", "neutral"): 1,
                                      ("PublicTest", "disgust"): 1}


def test_ckplus_loads_as_read_ckplus(tmp_path):
    root = write_ckplus(tmp_path / "ck", CK_SEQS, shape=(8, 8))
    got = load_source("ckplus", root, size=8, progress=False)
    assert_same(got, read_ckplus(root, size=8, progress=False))
    # by hand: first (neutral) and last (apex) frame of each sequence, constant value per frame
    assert sorted(np.unique(got.images).tolist()) == sorted(
        int(ck_frame(s, q, f)[0, 0]) for s, q, f in ((1, 1, 1), (1, 1, 3), (2, 1, 1), (2, 1, 2)))
    assert _nonzero(count_source("ckplus", root, size=8, progress=False)[0]) == {
        ("all", "neutral"): 2, ("all", "fear"): 1, ("all", "sadness"): 1}


def test_affectnet_loads_as_read_affectnet_and_counts_without_decoding(tmp_path, monkeypatch):
    root = write_affectnet(tmp_path / "an", AN_TRAINING, AN_VALIDATION, AN_IMAGES)
    assert_same(load_source("affectnet", root, size=8, progress=False), read_affectnet(root, size=8, progress=False))
    counts, prov = count_source("affectnet", root, progress=False)
    assert _nonzero(counts) == AN_COUNTS
    assert prov["dropped"]["duplicate_content"] == 1 and prov["dropped"]["expression_none"] == 1
    decoded, _ = count_source("affectnet", root, decode=True, size=8, progress=False)
    assert _nonzero(decoded) == AN_COUNTS
    # counting decodes no image: the reader that decodes is never called (sources imports it at
    # its top, so the name is replaced there as well as in affectnet)
    import rbdm_core.data.affectnet as an
    import rbdm_core.data.sources as sources

    for module in (an, sources):
        monkeypatch.setattr(module, "read_affectnet", lambda *a, **k: pytest.fail("decoded the images"))
    assert _nonzero(count_source("affectnet", root, progress=False)[0]) == AN_COUNTS


def test_folder_loads_as_read_folder_and_counts_from_the_file_names(tmp_path):
    root = _folder(tmp_path)
    assert_same(load_source("folder", root, size=8, progress=False), read_folder(root, size=8, progress=False))
    counts, prov = count_source("folder", root, size=8, progress=False)
    assert _nonzero(counts) == {("train", "happiness"): 1, ("train", "sadness"): 2, ("val", "anger"): 1}
    assert prov == {"dropped": {"skipped_files": 1, "skipped_folders": 1}}
    decoded, prov = count_source("folder", root, decode=True, size=8, progress=False)
    assert _nonzero(decoded) == _nonzero(counts)


def test_synthetic_loads_as_make_domain():
    for domain in DOMAINS:
        assert_same(load_source("synthetic", domain, n=40, seed=3), make_domain(domain, n=40, seed=3))
    got = load_source("synthetic", "ferplus_like", n=40, seed=1, nuisance=0.5, min_per_class=2)
    assert_same(got, make_domain("ferplus_like", n=40, seed=1, nuisance=0.5, min_per_class=2))
    assert len(got) == 40


def test_npz_loads_its_arrays_and_names_what_is_missing(tmp_path):
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4, 1)
    p = tmp_path / "d.npz"
    np.savez(p, images=images, labels=np.array([1, 0]), split=np.array(["Training", "PublicTest"]))
    ds = load_source("npz", p)
    np.testing.assert_array_equal(ds.images, images)
    assert ds.labels.tolist() == [1, 0] and list(ds.split) == ["Training", "PublicTest"]
    assert ds.provenance == {"synthetic": False, "source": str(p)}
    with pytest.raises(FileNotFoundError, match=r"^--data npz:.*nowhere.npz: no such file$"):
        load_source("npz", tmp_path / "nowhere.npz")
    np.savez(p, images=images, labels=np.array([1, 0]))
    with pytest.raises(ValueError, match=r"missing array\(s\) \['split'\] \(expected images, labels, split\)"):
        load_source("npz", p)


# --------------------------------------------------------------------------- the callers
def test_train_data_reads_through_the_registry_as_before(tmp_path):
    from rbdm_core.commands.train import load_data

    s = {"n": 40, "data_seed": 3, "size": None, "quiet": True}
    assert_same(load_data("synthetic:ckplus_like", s), make_domain("ckplus_like", n=40, seed=3))
    old, new = write_ferplus(tmp_path / "fer", FER_ROWS)
    assert_same(load_data(f"ferplus:{tmp_path / 'fer'}", s), read_ferplus(old, new, progress=False))
    root = _folder(tmp_path)
    assert_same(load_data(f"folder:{root}", s), read_folder(root, size=48, progress=False))
    assert_same(load_data(f"folder:{root}", {**s, "size": 8}), read_folder(root, size=8, progress=False))
    with pytest.raises(ValueError) as exc:
        load_data("ferplus", s)
    assert str(exc.value) == ("--data 'ferplus': expected synthetic:DOMAIN, ferplus:ROOT, affectnet:ROOT, "
                              "folder:ROOT or npz:FILE")
    with pytest.raises(ValueError) as exc:
        load_data("ckplus:/x", s)
    assert str(exc.value) == "--data 'ckplus:/x': unknown source 'ckplus'; expected synthetic, ferplus, affectnet, folder or npz"


def _small_quick():
    from rbdm_core.profiles import PROFILES

    return dataclasses.replace(PROFILES["quick"], source_n=40, target_n=40, gaze_n=20)


def test_pipeline_corpora_under_a_synthetic_profile(tmp_path, monkeypatch):
    from rbdm_core.pipeline import Pipeline

    prof = _small_quick()
    p = Pipeline(prof, run_dir=tmp_path / "runs", seed=1)
    assert_same(p.source, make_domain("affectnet_like", n=40, seed=1, size=prof.source_size,
                                      nuisance=prof.nuisance, min_per_class=prof.min_per_class))
    assert_same(p.target, make_domain("ferplus_like", n=40, seed=2, nuisance=prof.nuisance,
                                      min_per_class=prof.min_per_class))
    assert_same(p.gaze_images, make_domain("ckplus_like", n=20, seed=3, size=48))
    root = _folder(tmp_path)  # an image folder replaces the Trainee's corpus
    f = Pipeline(prof, run_dir=tmp_path / "runs", roots={"folder": str(root)})
    assert_same(f.target, as_target_splits(read_folder(root, size=48, channels=1, progress=False)))
    monkeypatch.setenv("RBDM_CKPLUS_ROOT", "/env/ck")
    monkeypatch.delenv("RBDM_FERPLUS_ROOT", raising=False)
    monkeypatch.delenv("RBDM_AFFECTNET_ROOT", raising=False)
    assert Pipeline(prof, run_dir=tmp_path / "runs").roots == {"ckplus": "/env/ck"}


def test_pipeline_corpora_from_the_real_roots(tmp_path):
    from rbdm_core.pipeline import Pipeline
    from rbdm_core.profiles import PROFILES

    fer_old, fer_new = write_ferplus(tmp_path / "fer", FER_ROWS)
    an = write_affectnet(tmp_path / "an", AN_TRAINING, AN_VALIDATION, AN_IMAGES)
    ck = write_ckplus(tmp_path / "ck", CK_SEQS, shape=(8, 8))
    prof = dataclasses.replace(PROFILES["paper"], source_size=16)
    p = Pipeline(prof, run_dir=tmp_path / "runs",
                 roots={"ferplus": str(tmp_path / "fer"), "affectnet": str(an), "ckplus": str(ck)})
    assert_same(p.target, read_ferplus(fer_old, fer_new, rule="paper", progress=False))
    assert_same(p.source, read_affectnet(an, size=16, progress=False))
    assert_same(p.gaze_images, read_ckplus(ck, size=48, progress=False))
