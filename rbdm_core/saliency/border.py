"""Relevance at the image border: corner statistics of maps, and the trained network with its image
border moved outside the image (docs/saliency.md, "The image border"; chapter 3).

    stats = corner_statistics(maps)                   # maps (N, H, W) -> CornerStatistics
    stats.table()                                     # one row per corner
    free = border_free(bundle, images, margin=8)      # the same weights, the border 8 px outside
    free.maps                                         # (N, H, W) relevance at the image's own pixels
    uniform = uniform_images(bundle, (H, W, C))       # grey images: where does their relevance go?
    describe_padding(bundle, (H, W))                  # resampling and strided layers, in words

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
from rbdm_core.saliency.api import layer_relevance, relevance

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

    def describe(self) -> str:
        """Two lines: pixel (1, 1) as the maps' most relevant pixel (its count and rank among the
        pixels), the mean ratio at the top-left 2x2 pixels and the largest anywhere, the top-left
        block's share of maps with a top pixel; then the corners ordered by their mean ratio."""
        counts, ratio = self.argmax_counts, self.mean_ratio
        rank_11 = int((counts > counts[1, 1]).sum()) + 1
        peak = np.unravel_index(ratio.argmax(), ratio.shape)
        first = (f"pixel (1, 1) is the most relevant pixel of {counts[1, 1]} of the {self.n} maps "
                 f"({self.n / counts.size:.1f} for a pixel by chance; rank {rank_11} of {counts.size} pixels); the mean "
                 f"relevance at (0, 0), (0, 1), (1, 0), (1, 1) is "
                 f"{', '.join(f'{ratio[i, j]:.2f}' for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))} times the map mean "
                 f"(the largest anywhere: {ratio.max():.2f} at {tuple(int(v) for v in peak)}); one of a map's top "
                 f"{self.top} pixels lies in the top-left {self.corner}x{self.corner} block in "
                 f"{100 * self.top_in_corner['top-left']:.1f} % of the maps ({100 * self.chance:.1f} % by chance)")
        by_ratio = self.table().sort_values("mean ratio, 2x2 pixels", ascending=False)
        return first + "\ncorners by their mean ratio: " + ", ".join(
            f"{c} {v:.2f}" for c, v in zip(by_ratio["corner"], by_ratio["mean ratio, 2x2 pixels"]))


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

    def describe(self) -> str:
        """The share of images whose prediction is kept and the median share of relevance inside."""
        return (f"with the border moved outside, the Trainer predicts the class it predicts on the original image for "
                f"{100 * self.same_prediction.mean():.1f} % of the {len(self.maps)} images; "
                f"{100 * np.median(self.inside):.1f} % of a map's relevance (median) stays inside the image, the rest "
                f"lies on the added margin")


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


def border_table(stats: dict) -> "pd.DataFrame":
    """One row per network (name -> `CornerStatistics` of its maps): the mean ratio at the top-left
    2x2 pixels, the share of maps with a top pixel in the top-left block, and that share by chance."""
    return pd.DataFrame([
        {"network": name, "mean ratio, top-left 2x2 pixels": st.table()["mean ratio, 2x2 pixels"][0],
         "share with a top-8 pixel in the top-left 4x4": st.top_in_corner["top-left"], "by chance": st.chance}
        for name, st in stats.items()])


# --------------------------------------------------------------------------- the network's make-up

def describe_padding(bundle, image_size: tuple[int, int]) -> str:
    """Two lines on what could move relevance to the border besides the network: whether
    `to_image_size` resamples the maps (model input size against `image_size` (H, W)), and the
    layers of `bundle.model` with a stride above 1 (a strided 'same' convolution pads unevenly)."""
    model_size, image_size = tuple(bundle.preprocess.size), tuple(image_size)
    first = (f"model input {model_size[0]}x{model_size[1]}, images {image_size[0]}x{image_size[1]}: "
             + ("to_image_size leaves the maps as they are" if model_size == image_size
                else "to_image_size resamples the maps"))
    strided = [l for l in bundle.model.layers if max(getattr(l, "strides", None) or (1,)) > 1]
    strided_convs = [l.name for l in strided if "Pool" not in type(l).__name__]
    second = ("layers with a stride above 1: "
              + (", ".join(f"{l.name} ({type(l).__name__}, {l.padding})" for l in strided) or "none")
              + ("; no convolution has one, so every 'same' convolution pads as many zeros at the top and left as at "
                 "the bottom and right" if not strided_convs else f"; strided convolutions: {', '.join(strided_convs)}"))
    return first + "\n" + second


# --------------------------------------------------------------------------- uniform images

@dataclass
class UniformImages:
    """Deep Taylor relevance of uniform grey images, at every layer (`uniform_images`).

    levels: (L,) uint8, the grey value of each image
    layers: the `LayerRelevance` of the L images (arrays[0]: (L, H, W) relevance at the pixels)
    """

    levels: np.ndarray
    layers: object

    def argmax(self, k: int) -> tuple[int, int] | None:
        """(row, col) of image k's most relevant pixel, None for a constant map."""
        px = self.layers.arrays[0][k]
        return tuple(int(v) for v in np.unravel_index(px.argmax(), px.shape)) if px.max() > px.min() else None

    def at_corner(self) -> int:
        """How many images have their most relevant pixel in the top-left 2x2 pixels."""
        return sum(int(rc is not None and rc[0] < 2 and rc[1] < 2) for rc in map(self.argmax, range(len(self.levels))))

    def report(self, class_names) -> str:
        """One line per image (logit, explained class, most relevant pixel, relevance at (1, 1)
        as a multiple of the map mean), then how many have it in the top-left 2x2 pixels."""
        lr, lines = self.layers, []
        for k, v in enumerate(self.levels):
            px, rc = lr.arrays[0][k], self.argmax(k)
            if rc is not None:
                lines.append(f"uniform grey {v:3d}: logit {lr.logits[k]:.3g} ({class_names[lr.targets[k]]}), most "
                             f"relevant pixel ({rc[0]}, {rc[1]}), relevance at (1, 1) {px[1, 1] / px.mean():.2f} times "
                             f"the map mean")
            else:
                lines.append(f"uniform grey {v:3d}: logit {lr.logits[k]:.3g}, an all-zero map")
        lines.append(f"the most relevant pixel lies in the top-left 2x2 pixels for {self.at_corner()} of the "
                     f"{len(self.levels)} uniform images")
        return "\n".join(lines)

    def corner_units(self) -> "pd.DataFrame":
        """Per image-shaped layer on every path (activations left out; name with its h x w), the
        relevance at its top-left unit as a multiple of the layer's mean unit (channels summed),
        one column per grey level (NaN where the mean is 0)."""
        trace = {}
        for name, kind, a, path in zip(self.layers.layers, self.layers.kinds, self.layers.arrays,
                                       self.layers.on_every_path):
            if a.ndim == 3 and path and kind not in ("ReLU", "Activation"):
                mean_unit = a.mean(axis=(1, 2))
                trace[f"{name} ({a.shape[1]}x{a.shape[2]})"] = np.where(
                    mean_unit != 0, a[:, 0, 0] / np.where(mean_unit != 0, mean_unit, 1), np.nan)
        return pd.DataFrame({"layer": list(trace),
                             **{f"grey {v}": [t[k] for t in trace.values()] for k, v in enumerate(self.levels)}})

    def relative_map(self, k: int) -> np.ndarray | None:
        """(H, W) relevance of image k at the pixels / its mean (None when the mean is 0)."""
        m = self.layers.arrays[0][k]
        return m / m.mean() if m.mean() != 0 else None


def uniform_images(bundle, image_shape: tuple[int, int, int], n_levels: int = 5) -> UniformImages:
    """Explain `n_levels` uniform images of `image_shape` (H, W, C), grey values evenly spaced in
    0..255, with `layer_relevance` (deep Taylor) under `bundle`: images that show nothing."""
    levels = np.linspace(0, 255, n_levels).round().astype(np.uint8)
    blank = np.broadcast_to(levels[:, None, None, None], (len(levels),) + tuple(image_shape)).copy()
    return UniformImages(levels=levels, layers=layer_relevance(bundle, blank))
