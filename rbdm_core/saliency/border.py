"""Relevance at the image border: corner statistics of maps, and the trained network with its image
border moved outside the image (docs/saliency.md, "The image border"; chapter 3).

    stats = corner_statistics(maps)                   # maps (N, H, W) -> CornerStatistics
    stats.table()                                     # one row per corner
    free = border_free(bundle, images, margin=8)      # the same weights, the border 8 px outside
    free.maps                                         # (N, H, W) relevance at the image's own pixels

A convolution with 'same' padding pads its input with zeros, so at the image border every filter
sees a step from 0 (black, for inputs in [0, 1]) to the image. `without_border` keeps every layer
and weight of a model but applies it to an input enlarged by `margin` pixels on each side (the
image continued by reflection, `extend_images`) and crops the feature map back to its trained
size before the first layer that needs it (Flatten, global pooling). The zero padding then lies
outside the image: what changes in the relevance at the image's pixels is what the border did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rbdm_core.models import ModelBundle
from rbdm_core.saliency.api import relevance

#: the corners in `CornerStatistics.table` order: name -> (row slice, column slice) of a k x k block
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _corner_block(name: str, k: int) -> tuple[slice, slice]:
    rows = slice(0, k) if name.startswith("top") else slice(-k, None)
    cols = slice(0, k) if name.endswith("left") else slice(-k, None)
    return rows, cols


@dataclass
class CornerStatistics:
    """Where the largest values of N relevance maps lie, against the map mean.

    n:             maps counted (constant maps left out: they have no largest pixel)
    n_constant:    constant maps left out (deep Taylor of a negative logit is all zero)
    mean_ratio:    (H, W) float64, the mean over the maps at each pixel / the mean over all pixels
                   (1 everywhere for relevance spread evenly)
    argmax_counts: (H, W) int64, how many maps have their single largest value at each pixel
    top_in_corner: {corner: share of maps with one of their `top` largest pixels in that corner's
                   `corner` x `corner` block}
    chance:        that share for a ranking drawn uniformly at random (the same for every corner)
    corner, top:   the block side and the number of top pixels
    """

    n: int
    n_constant: int
    mean_ratio: np.ndarray
    argmax_counts: np.ndarray
    top_in_corner: dict
    chance: float
    corner: int
    top: int

    def table(self):
        """pandas DataFrame, one row per corner: the mean ratio over the corner's 2 x 2 pixels and
        its largest pixel, maps whose largest pixel lies in the k x k block, share of maps with a
        top pixel there, and that share by chance."""
        rows = []
        for name in CORNERS:
            r2, c2 = _corner_block(name, 2)
            rk, ck = _corner_block(name, self.corner)
            rows.append({"corner": name, "mean ratio, 2x2 pixels": float(self.mean_ratio[r2, c2].mean()),
                         "largest mean ratio, 2x2": float(self.mean_ratio[r2, c2].max()),
                         f"maps with their largest pixel in the {self.corner}x{self.corner} block":
                             int(self.argmax_counts[rk, ck].sum()),
                         f"share with a top-{self.top} pixel in it": self.top_in_corner[name],
                         "that share by chance": self.chance})
        return pd.DataFrame(rows)


def corner_statistics(maps: np.ndarray, corner: int = 4, top: int = 8) -> CornerStatistics:
    """Statistics of (N, H, W) maps at their four corners (see `CornerStatistics`).

    corner: side of the corner block in pixels; top: how many of each map's largest pixels count.
    Constant maps are left out (every pixel ties); raises ValueError if no map is left.
    """
    maps = np.asarray(maps, np.float64)
    if maps.ndim != 3:
        raise ValueError(f"corner_statistics: maps must be (N, H, W), got shape {maps.shape}")
    n_all, H, W = maps.shape
    if not (isinstance(corner, (int, np.integer)) and 1 <= corner <= min(H, W)):
        raise ValueError(f"corner_statistics: corner must be an int in 1..{min(H, W)}, got {corner!r}")
    if not (isinstance(top, (int, np.integer)) and 1 <= top <= H * W - corner * corner):
        raise ValueError(f"corner_statistics: top must be an int in 1..{H * W - corner * corner}, got {top!r}")
    flat = maps.reshape(n_all, -1)
    varying = flat.max(1) > flat.min(1)
    if not varying.any():
        raise ValueError(f"corner_statistics: all {n_all} maps are constant; nothing to rank")
    flat, maps = flat[varying], maps[varying]
    n = len(flat)
    mean_ratio = maps.mean(0) / maps.mean()
    argmax_counts = np.bincount(flat.argmax(1), minlength=H * W).reshape(H, W).astype(np.int64)
    top_idx = np.argpartition(-flat, top - 1, axis=1)[:, :top]
    rr, cc = np.divmod(top_idx, W)
    in_corner = {}
    for name in CORNERS:
        block = np.zeros((H, W), bool)
        block[_corner_block(name, corner)] = True
        in_corner[name] = float(block[rr, cc].any(1).mean())
    # P(no top pixel among the k*k of the block) for a uniformly random ranking of H*W pixels
    k2, total = corner * corner, H * W
    none = np.prod([(total - k2 - i) / (total - i) for i in range(top)])
    return CornerStatistics(n=n, n_constant=int(n_all - n), mean_ratio=mean_ratio, argmax_counts=argmax_counts,
                            top_in_corner=in_corner, chance=float(1.0 - none), corner=int(corner), top=int(top))


# --------------------------------------------------------------------------- the border moved away

def extend_images(images: np.ndarray, margin: int, mode: str = "reflect") -> np.ndarray:
    """(N, H, W, C) -> (N, H + 2 margin, W + 2 margin, C): the image continued by reflection about
    its edge pixels (`mode="reflect"`, numpy's; margin < H, W) or surrounded by zeros ("constant")."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"extend_images: images must be (N, H, W, C), got shape {images.shape}")
    if not isinstance(margin, (int, np.integer)) or margin < 0:
        raise ValueError(f"extend_images: margin must be an int >= 0, got {margin!r}")
    if mode not in ("reflect", "constant"):
        raise ValueError(f"extend_images: mode must be 'reflect' or 'constant', got {mode!r}")
    if mode == "reflect" and margin >= min(images.shape[1:3]):
        raise ValueError(f"extend_images: a reflected margin must be smaller than the image side "
                         f"({min(images.shape[1:3])}), got {margin}")
    pad = ((0, 0), (margin, margin), (margin, margin), (0, 0))
    return np.pad(images, pad, mode=mode)


def without_border(model, margin: int):
    """`model` (a functional or Sequential keras.Model on (H, W, C) images) with the same layers
    and weights, taking (H + 2 margin, W + 2 margin, C) inputs: every layer up to the first one
    that turns an image-shaped tensor into a vector (Flatten, global pooling) runs on the enlarged
    image, and the feature map is cropped back to its trained size before that layer.

    The crop removes `margin / s` cells on each side, s the feature map's downsampling (H / its
    side), so `margin` must be a multiple of s for the kept cells to cover the image exactly.
    Nested models and layers with several outputs raise ValueError. The result has new layers;
    `model` is unchanged.
    """
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    keras = tf.keras
    if isinstance(model, keras.Sequential):
        model = keras.Model(model.inputs, model.outputs)
    if len(model.inputs) != 1 or len(model.outputs) != 1 or len(model.inputs[0].shape) != 4:
        raise ValueError("without_border: expected a model with one image input (N, H, W, C) and one output")
    if not isinstance(margin, (int, np.integer)) or margin < 1:
        raise ValueError(f"without_border: margin must be a positive int, got {margin!r}")
    H, W, C = (int(d) for d in model.inputs[0].shape[1:])
    inp = keras.Input((H + 2 * margin, W + 2 * margin, C), dtype=model.inputs[0].dtype, name="wide_image")
    new = {id(model.inputs[0]): inp}
    cropped = False
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.layer
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if isinstance(layer, keras.Model):
                raise ValueError(f"without_border: layer {layer.name!r} is a nested model; not supported")
            outs = node.outputs if isinstance(node.outputs, (list, tuple)) else [node.outputs]
            if len(outs) != 1:
                raise ValueError(f"without_border: layer {layer.name!r} has {len(outs)} outputs; not supported")
            ins = [new[id(t)] for t in node.keras_inputs]
            old_ins = list(node.keras_inputs)
            if not cropped and len(old_ins) == 1 and len(old_ins[0].shape) == 4 and len(outs[0].shape) != 4:
                (h, w), (hw, ww) = old_ins[0].shape[1:3], ins[0].shape[1:3]
                s = H // int(h)
                if H % int(h) or W // int(w) != s or margin % s:
                    raise ValueError(f"without_border: the feature map before {layer.name!r} is {h}x{w} "
                                     f"for a {H}x{W} input; margin {margin} must be a multiple of its "
                                     f"downsampling ({H}/{h})")
                ch, cw = (int(hw) - int(h)) // 2, (int(ww) - int(w)) // 2
                ins = [keras.layers.Cropping2D(((ch, ch), (cw, cw)), name="rbdm_border_crop")(ins[0])]
                cropped = True
            clone = type(layer).from_config(layer.get_config())
            args = node.call_args
            list_input = bool(args) and isinstance(args[0], (list, tuple))
            y = clone(ins if list_input else ins[0])
            clone.set_weights(layer.get_weights())
            new[id(outs[0])] = y
    if not cropped:
        raise ValueError("without_border: no layer turns the image-shaped tensor into a vector (Flatten, "
                         "global pooling); nothing to crop")
    return keras.Model(inp, new[id(model.outputs[0])], name=f"{model.name}_without_border")


@dataclass
class BorderFree:
    """Relevance of the network with its image border moved outside (`border_free`).

    maps:            (N, H, W) float32, relevance at the image's pixels (the margin cut off)
    inside:          (N,) float32, share of each map's sum inside the image (the rest lies on the margin)
    targets:         (N,) int64, the explained class: the original network's prediction
    same_prediction: (N,) bool, the network without border predicts the same class
    margin:          pixels added on each side
    """

    maps: np.ndarray
    inside: np.ndarray
    targets: np.ndarray
    same_prediction: np.ndarray
    margin: int


def border_free(bundle, images: np.ndarray, margin: int = 8, method: str = "deep_taylor") -> BorderFree:
    """Relevance of `images` (N, H, W, C) uint8 under `bundle`'s network without its image border
    (`without_border`, images continued by reflection), explaining the class the original network
    predicts. The bundle's preprocessing must keep the image size (H, W)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"border_free: images must be (N, H, W, C), got shape {images.shape}")
    pre = bundle.preprocess
    H, W = images.shape[1:3]
    if tuple(pre.size) != (H, W):
        raise ValueError(f"border_free: the model's input is {pre.size[0]}x{pre.size[1]} and the images are "
                         f"{H}x{W}; the margin is added to the images, so their sizes must agree")
    wide = ModelBundle(without_border(bundle.model, margin), replace(pre, size=(H + 2 * margin, W + 2 * margin)),
                       bundle.class_names, name=f"{bundle.name} without border")
    extended = extend_images(images, margin)
    targets = bundle.predict(images)
    rel = relevance(wide, extended, method=method, target=targets)
    maps = rel.maps[:, margin:margin + H, margin:margin + W]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(rel.sums != 0, maps.sum((1, 2), dtype=np.float64) / rel.sums, np.nan).astype(np.float32)
    return BorderFree(maps=np.ascontiguousarray(maps), inside=inside, targets=targets,
                      same_prediction=wide.predict(extended) == targets, margin=int(margin))
