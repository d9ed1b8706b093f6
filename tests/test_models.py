"""rbdm_core.models: input adapter, architectures, weights checks, bundles, the fer2013 loader."""

import json

import numpy as np
import pytest

from rbdm_core.models import (
    ARCHITECTURES, FER2013_AS_FERPLUS, ModelBundle, Preprocess, build_model, fer_model_path, input_size_for,
    load_bundle, save_bundle, weights_sha256,
)


def test_preprocess_bilinear_resize_by_hand():
    # 1x2 image [0, 100] -> 1x4 with half-pixel centres: sample points -0.25, 0.25, 0.75, 1.25
    # (clamped) -> 0, 25, 75, 100
    img = np.array([0, 100], np.uint8).reshape(1, 1, 2, 1)
    out = Preprocess(size=(1, 4), channels=1, scale=1.0, offset=0.0)(img)
    np.testing.assert_allclose(out[0, 0, :, 0], [0, 25, 75, 100], atol=1e-4)


def test_preprocess_channels_and_scaling():
    gray = np.arange(12, dtype=np.uint8).reshape(1, 2, 6, 1)
    rgb = Preprocess(size=(2, 6), channels=3, scale=2 / 255, offset=-1.0)(gray)
    assert rgb.shape == (1, 2, 6, 3) and rgb.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(rgb[..., c], gray[..., 0] * 2 / 255 - 1, rtol=1e-6)
    col = np.zeros((1, 2, 2, 3), np.uint8)
    col[..., 0], col[..., 1], col[..., 2] = 30, 60, 120
    g = Preprocess(size=(2, 2), channels=1, scale=1.0, offset=0.0)(col)
    np.testing.assert_allclose(g, 70.0)  # (30 + 60 + 120) / 3


def test_preprocess_pixels_undo_the_scaling():
    # 1x2 image [0, 100] -> 1x4 as above (0, 25, 75, 100), whatever scale and offset the model uses;
    # RGB (30, 60, 120) -> gray 70
    img = np.array([0, 100], np.uint8).reshape(1, 1, 2, 1)
    out = Preprocess(size=(1, 4), channels=3, scale=2 / 255, offset=-1.0).pixels(img)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 4)
    np.testing.assert_array_equal(out[0, 0], [0, 25, 75, 100])
    col = np.zeros((1, 2, 2, 3), np.uint8)
    col[..., 0], col[..., 1], col[..., 2] = 30, 60, 120
    np.testing.assert_array_equal(Preprocess(size=(2, 2), channels=1).pixels(col), 70)


def test_preprocess_json_round_trip_and_describe():
    p = Preprocess(size=(75, 75), channels=3, scale=2 / 255, offset=-1.0)
    q = Preprocess.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q == p
    text = p.describe((48, 48, 1))
    assert "48x48 -> 75x75" in text and "replicate" in text and "-1..1" in text


def test_preprocess_rejects_bad_input():
    with pytest.raises(ValueError, match="channels"):
        Preprocess(size=(4, 4), channels=2)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        Preprocess(size=(4, 4))(np.zeros((4, 4, 1), np.uint8))


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_build_model_shapes_and_adapter(arch):
    b = build_model(arch, 8, data_shape=(48, 48, 1))
    spec = ARCHITECTURES[arch]
    h, w = b.preprocess.size
    assert h == w >= spec.min_size
    assert b.model.input_shape == (None, h, w, b.preprocess.channels)
    assert b.model.output_shape == (None, 8)
    assert b.model.layers[-1].name == "probs" and b.model.layers[-2].name == "logits"
    x = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 1), dtype=np.uint8)
    p = b.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert b.info["adapter"] == b.preprocess.describe((48, 48, 1))


def test_input_sizes():
    assert input_size_for("inception_v3", 48) == 75
    assert input_size_for("xception", 48) == 71
    assert input_size_for("mobilenet_v2", 48) == 48
    assert input_size_for("mobilenet_v2", 48, "paper") == 224
    assert input_size_for("inception_v3", 48, "paper") == 299
    assert input_size_for("mobilenet_v2_small", 48) == 96


def test_input_size_below_minimum_is_refused():
    with pytest.raises(ValueError, match="input_size=50 for xception.*71"):
        build_model("xception", 8, (48, 48, 1), input_size=50)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="architecture 'resnet' is unknown"):
        build_model("resnet", 8)


def test_same_seed_same_weights_other_seed_differs():
    a, b = build_model("small_cnn", 4, (32, 32, 1), seed=3), build_model("small_cnn", 4, (32, 32, 1), seed=3)
    c = build_model("small_cnn", 4, (32, 32, 1), seed=4)
    assert weights_sha256(a.model) == weights_sha256(b.model) != weights_sha256(c.model)


def test_weights_file_round_trip_and_mismatch(tmp_path):
    a = build_model("small_cnn", 7, (48, 48, 1), seed=1)
    path = tmp_path / "w.h5"
    a.model.save_weights(str(path))
    b = build_model("small_cnn", 7, (48, 48, 1), seed=2, weights=path)
    assert weights_sha256(b.model) == weights_sha256(a.model)
    with pytest.raises(ValueError, match=r"w\.h5 does not fit small_cnn"):
        build_model("small_cnn", 8, (48, 48, 1), weights=path)  # other head
    with pytest.raises(ValueError, match=r"w\.h5 does not fit mobilenet_v2_small"):
        build_model("mobilenet_v2_small", 7, (48, 48, 1), weights=path)  # other architecture
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        build_model("small_cnn", 7, (48, 48, 1), weights=tmp_path / "nope.h5")


def test_save_and_load_bundle(tmp_path):
    a = build_model("small_cnn", 5, (24, 24, 3), seed=0)
    save_bundle(a, tmp_path / "m")
    save_bundle(a, tmp_path / "m")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary left behind
    b = load_bundle(tmp_path / "m")
    assert b.preprocess == a.preprocess and b.class_names == a.class_names and b.name == "small_cnn"
    x = np.random.default_rng(1).integers(0, 256, (3, 30, 20, 1), dtype=np.uint8)  # other size, gray
    np.testing.assert_array_equal(b.predict_proba(x), a.predict_proba(x))


def test_load_bundle_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a built-in model"):
        load_bundle(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="bundle.json"):
        load_bundle(tmp_path / "empty")


def test_fer2013_pretrained_reproduces_the_models_own_predictions():
    import tensorflow as tf

    b = load_bundle("fer2013-pretrained")
    assert isinstance(b, ModelBundle) and b.class_names == FER2013_AS_FERPLUS
    raw = tf.keras.models.load_model(str(fer_model_path()), compile=False)
    rng = np.random.default_rng(0)
    x64 = rng.integers(0, 256, (6, 64, 64, 1), dtype=np.uint8)
    manual = raw.predict((x64.astype(np.float32) / 255.0 - 0.5) * 2.0, verbose=0)  # fer/fer.py's preprocessing
    got = b.predict_proba(x64)
    np.testing.assert_allclose(got, manual, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    # other sizes and colour go through the adapter: resize to 64x64, average RGB
    x = rng.integers(0, 256, (2, 48, 48, 3), dtype=np.uint8)
    gray = tf.image.resize(x.astype(np.float32).mean(axis=-1, keepdims=True), (64, 64)).numpy()
    np.testing.assert_allclose(b.predict_proba(x), raw.predict(gray / 127.5 - 1.0, verbose=0), atol=1e-5)
