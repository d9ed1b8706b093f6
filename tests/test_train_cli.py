"""`rbdm train` and `rbdm predict`."""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rbdm_core.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    r = np.random.default_rng(0)
    n = 96
    y = np.arange(n) % 8
    x = r.integers(0, 60, (n, 48, 48, 1)).astype(np.uint8)
    for k in range(8):
        x[y == k, 6 * k:6 * k + 6] += 150
    split = np.array(["Training"] * 64 + ["PublicTest"] * 32)
    np.savez(d / "data.npz", images=x, labels=y, split=split)
    Image.fromarray(r.integers(0, 256, (30, 40), dtype=np.uint8)).save(d / "gray.png")
    Image.fromarray(r.integers(0, 256, (100, 80, 3), dtype=np.uint8)).save(d / "colour.jpg")
    return d


def _csv(text):
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def trained(files):
    cfg = files / "run.yaml"
    cfg.write_text("architecture: small_cnn\nseeds: [0, 1]\nepochs: 1\nrecipe:\n  eval_every: 1\n  batch_size: 16\n")
    out = files / "out"
    return cfg, out


@pytest.mark.slow
def test_train_with_config_prints_the_summary(files, trained, capsys):
    cfg, out = trained
    rc = main(["train", "--config", str(cfg), "--data", f"npz:{files / 'data.npz'}", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.seed) == [0, 1] and (summary.steps == 4).all()  # 64 images / batch 16
    for s in (0, 1):
        res = json.loads((out / "no-mask" / f"seed-{s}" / "result.json").read_text())
        assert f"no-mask,{s},{res['best_f1']:.4f},{res['best_step']},{res['final_f1']:.4f}" in text
        assert res["recipe"]["batch_size"] == 16 and res["recipe"]["eval_every"] == 1
    curves = pd.read_csv(out / "no-mask" / "curves.csv")
    assert sorted(curves.seed.unique()) == [0, 1]
    assert "mean over 2 seeds" in text


@pytest.mark.slow
def test_train_masked_variant_with_mask_file(files, tmp_path, capsys):
    masks = np.ones((64, 48, 48), bool)
    np.savez(tmp_path / "m.npz", masks=masks)
    rc = main(["train", "--data", f"npz:{files / 'data.npz'}", "--variant", "mean-then-unmasked",
               "--switch-epoch", "1", "--epochs", "1", "--batch-size", "32", "--masks", str(tmp_path / "m.npz"),
               "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 0
    assert (tmp_path / "o" / "mean-then-unmasked" / "seed-0" / "model" / "bundle.json").exists()


def test_train_mask_file_of_wrong_shape(files, tmp_path, capsys):
    np.savez(tmp_path / "m.npz", masks=np.ones((10, 48, 48), bool))
    rc = main(["train", "--data", f"npz:{files / 'data.npz'}", "--variant", "negative",
               "--masks", str(tmp_path / "m.npz"), "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 2
    assert "masks: expected shape (64, 48, 48)" in capsys.readouterr().err


def test_train_config_errors(files, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"architecture": "small_cnn", "learning_rate": 1}))
    assert main(["train", "--config", str(bad)]) == 2
    assert "unknown key(s) ['learning_rate']" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such file" in capsys.readouterr().err
    assert main(["train", "--data", "mnist:foo", "--out", str(tmp_path / "o")]) == 2
    assert "unknown source 'mnist'" in capsys.readouterr().err
    assert main(["train", "--data", f"npz:{files / 'data.npz'}", "--variant", "blur"]) == 2
    assert "variant 'blur' is unknown" in capsys.readouterr().err
    assert main(["train", "--data", f"npz:{files / 'data.npz'}", "--architecture", "resnet",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "architecture 'resnet' is unknown" in capsys.readouterr().err


def test_predict_fer2013_pretrained(files, capsys):
    from rbdm_core.models import load_bundle

    paths = [str(files / "gray.png"), str(files / "colour.jpg")]
    assert main(["predict", "--model", "fer2013-pretrained", "--faces", "whole", *paths]) == 0
    rows = _csv(capsys.readouterr().out)
    assert rows[0] == ["path", "label", "probability"] and len(rows) == 3
    b = load_bundle("fer2013-pretrained")
    for (path, label, prob), p in zip(rows[1:], paths):
        arr = np.asarray(Image.open(p).convert("L"), np.uint8)[None, :, :, None]  # gray, as the model needs
        probs = b.predict_proba(arr)[0]
        assert path == p and label == b.class_names[int(probs.argmax())]
        assert float(prob) == pytest.approx(float(probs.max()), abs=1e-6)


@pytest.mark.slow
def test_predict_with_a_trained_model_folder(files, trained, capsys):
    cfg, out = trained
    model = out / "no-mask" / "seed-0" / "model"
    if not model.exists():
        main(["train", "--config", str(cfg), "--data", f"npz:{files / 'data.npz'}", "--out", str(out), "--quiet"])
        capsys.readouterr()
    assert main(["predict", "--model", str(model), "--faces", "whole", str(files / "colour.jpg")]) == 0
    rows = _csv(capsys.readouterr().out)
    from rbdm_core.data.dataset import FERPLUS_CLASSES

    assert rows[1][1] in FERPLUS_CLASSES and 0 < float(rows[1][2]) <= 1


def test_predict_missing_image_and_model(files, tmp_path, capsys):
    assert main(["predict", "--model", "fer2013-pretrained", str(tmp_path / "nope.png")]) == 2
    assert "nope.png does not exist" in capsys.readouterr().err
    assert main(["predict", "--model", str(tmp_path / "nomodel"), str(files / "gray.png")]) == 2
    assert "not a built-in model" in capsys.readouterr().err


@pytest.mark.slow
def test_train_quick_profile_on_synthetic_data(tmp_path, capsys):
    pytest.importorskip("rbdm_core.data.synthetic")
    rc = main(["train", "--profile", "quick", "--data", "synthetic:ferplus_like", "--n", "400", "--epochs", "1",
               "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 0
    assert "no-mask,0," in capsys.readouterr().out


@pytest.mark.slow
def test_train_masked_variant_with_trainer_masks(files, tmp_path, monkeypatch, capsys):
    """Default --masks: the profile's Trainer (trained once into the run folder) makes the masks."""
    from rbdm_core import profiles
    from rbdm_core.pipeline import Pipeline

    tiny = profiles.PROFILES["quick"].with_(source_n=80, trainer_candidates=("small_cnn",), trainer_epochs=1)
    monkeypatch.setitem(profiles.PROFILES, "quick", tiny)
    monkeypatch.setenv("RBDM_RUN_DIR", str(tmp_path / "runs"))
    rc = main(["train", "--data", f"npz:{files / 'data.npz'}", "--variant", "negative", "--epochs", "1",
               "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert "negative masks from the quick profile's Trainer" in capsys.readouterr().out
    with np.load(files / "data.npz") as z:
        train_images = z["images"][z["split"] == "Training"]
    masks = Pipeline("quick").masks("negative", images=train_images)  # cached: the ones the run used
    removed = round(0.1 * 48 * 48)
    assert masks.shape == (64, 48, 48)
    np.testing.assert_array_equal((~masks).reshape(64, -1).sum(1), removed)
    assert (tmp_path / "o" / "negative" / "seed-0" / "result.json").exists()


def test_the_data_default_is_the_profiles_trainee_corpus(tmp_path, monkeypatch):
    """rbdm train --profile FILE without --data trains on the profile's Trainee corpus: its image
    folder, else (a real-corpus profile) FERPlus; the synthetic profiles keep the stand-in."""
    from rbdm_core.commands.train import profile_data
    from rbdm_core.profiles import PROFILES, load_profile

    monkeypatch.delenv("RBDM_FERPLUS_ROOT", raising=False)
    real = tmp_path / "real.yml"
    real.write_text("base: paper\nroots: {ferplus: /d/fer, affectnet: /d/an, ckplus: /d/ck}\n")
    own = tmp_path / "own.yml"
    own.write_text("base: paper\nroots: {folder: /d/faces, affectnet: /d/an, ckplus: /d/ck}\n")
    assert profile_data(load_profile(real)) == "ferplus:/d/fer"
    assert profile_data(load_profile(own)) == "folder:/d/faces"
    assert profile_data(PROFILES["quick"]) == "synthetic:ferplus_like"
    assert profile_data(PROFILES["paper"]) == "synthetic:ferplus_like"  # no root known
    monkeypatch.setenv("RBDM_FERPLUS_ROOT", "/env/fer")
    assert profile_data(PROFILES["paper"]) == "ferplus:/env/fer"
