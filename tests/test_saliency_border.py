"""rbdm_core.saliency.border: corner statistics of maps, and a network with its image border moved
outside the image (the experiment behind chapter 3's section on the image border)."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core.models import ModelBundle, Preprocess  # noqa: E402
from rbdm_core.saliency import relevance, to_image_size  # noqa: E402
from rbdm_core.saliency.border import (border_free, corner_statistics, extend_images,  # noqa: E402
                                       without_border)
from saliency_models import images  # noqa: E402


# --------------------------------------------------------------------------- corner_statistics

def test_corner_statistics_against_hand_counts():
    maps = np.zeros((4, 6, 6))
    maps[0, 1, 1] = 5.0  # the largest pixel in the top-left 2x2 block
    maps[0, 3, 3] = 1.0
    maps[1, 5, 4] = 2.0  # in the bottom-right block
    maps[1, 0, 5] = 1.0  # second largest: in the top-right block
    maps[2] = 7.0  # constant: left out
    maps[3, 2, 2] = 3.0  # both top pixels inside
    maps[3, 2, 3] = 2.0
    s = corner_statistics(maps, corner=2, top=2)
    assert (s.n, s.n_constant, s.corner, s.top) == (3, 1, 2, 2)
    want_counts = np.zeros((6, 6), np.int64)
    want_counts[1, 1] = want_counts[5, 4] = want_counts[2, 2] = 1
    np.testing.assert_array_equal(s.argmax_counts, want_counts)
    kept = maps[[0, 1, 3]]
    np.testing.assert_allclose(s.mean_ratio, kept.mean(0) / kept.mean())
    assert s.top_in_corner == pytest.approx({"top-left": 1 / 3, "top-right": 1 / 3, "bottom-left": 0.0,
                                             "bottom-right": 1 / 3})
    # chance: one minus the probability that neither of 2 random pixels of 36 falls in a 4-pixel block
    assert s.chance == pytest.approx(1 - (32 / 36) * (31 / 35))
    tab = s.table()
    assert list(tab["corner"]) == ["top-left", "top-right", "bottom-left", "bottom-right"]
    assert tab["mean ratio, 2x2 pixels"][0] == pytest.approx(s.mean_ratio[:2, :2].mean())
    assert tab["maps with their largest pixel in the 2x2 block"].tolist() == [1, 0, 0, 1]


def test_corner_statistics_chance_matches_random_maps():
    maps = np.random.default_rng(0).normal(size=(20000, 12, 12))
    s = corner_statistics(maps, corner=3, top=4)
    for name in s.top_in_corner:
        assert s.top_in_corner[name] == pytest.approx(s.chance, abs=0.015)


def test_corner_statistics_bad_input():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        corner_statistics(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="all 2 maps are constant"):
        corner_statistics(np.ones((2, 4, 4)), corner=2, top=2)
    with pytest.raises(ValueError, match="corner must be"):
        corner_statistics(np.random.rand(2, 4, 4), corner=5)
    with pytest.raises(ValueError, match="top must be"):
        corner_statistics(np.random.rand(2, 4, 4), corner=2, top=13)


def test_to_image_size_keeps_maps_of_the_same_size():
    """The chapter's maps are at the model's input size: resampling must leave them as they are."""
    maps = np.random.default_rng(1).normal(size=(3, 48, 48)).astype(np.float32)
    np.testing.assert_array_equal(to_image_size(maps, (48, 48)), maps)


# --------------------------------------------------------------------------- the border moved away

def test_extend_images():
    x = images(2, (5, 6, 1))
    np.testing.assert_array_equal(extend_images(x, 2), np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))
    z = extend_images(x, 3, mode="constant")
    assert z.shape == (2, 11, 12, 1) and z[:, :3].max() == 0 and (z[:, 3:8, 3:9] == x).all()
    with pytest.raises(ValueError, match="smaller than the image side"):
        extend_images(x, 5)
    with pytest.raises(ValueError, match="margin"):
        extend_images(x, -1)
    with pytest.raises(ValueError, match="mode"):
        extend_images(x, 1, mode="edge")


def _residual_net(seed=0, flatten=True, second=3):
    """A bias-free 'same' 3x3 convolution with ReLU, a max pool, a residual block around a
    `second` x `second` convolution, a max pool, then Flatten (or GAP) and Dense."""
    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((8, 8, 2))
    a = L.Conv2D(4, 3, padding="same", activation="relu", use_bias=False)(inp)
    a = L.MaxPooling2D(2)(a)
    b = L.Conv2D(4, second, padding="same", activation="relu", use_bias=False)(a)
    c = L.MaxPooling2D(2)(L.Add()([a, b]))
    head = L.Flatten()(c) if flatten else L.GlobalAveragePooling2D()(c)
    return keras.Model(inp, L.Activation("softmax")(L.Dense(3, use_bias=False)(head)))


@pytest.mark.parametrize("flatten", [True, False])
def test_without_border_on_a_zero_extended_image_is_the_model(flatten):
    """Bias-free layers, one 3x3 convolution at the input and 1x1 ones after it: the zeros of a
    zero-extended image play the first layer's padding, what the margin adds after it stays in the
    cells the crop removes, so the network without border computes exactly what the model does (an
    independent check that the layers, weights, topology and crop are right)."""
    m = _residual_net(seed=3, flatten=flatten, second=1)
    x = np.random.default_rng(2).random((5, 8, 8, 2)).astype(np.float32)
    for margin in (4, 8):  # multiples of the downsampling, 4
        wide = without_border(m, margin)
        assert wide.input_shape == (None, 8 + 2 * margin, 8 + 2 * margin, 2)
        np.testing.assert_allclose(wide.predict(extend_images(x, margin, mode="constant"), verbose=0),
                                   m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # the new model has its own layers
    assert not set(map(id, wide.layers)) & set(map(id, m.layers))
    # a 3x3 convolution after the first: the margin's responses reach the kept cells (as a
    # continued image's would), so the outputs differ
    m3 = _residual_net(seed=3, flatten=flatten, second=3)
    assert not np.allclose(without_border(m3, 4).predict(extend_images(x, 4, mode="constant"), verbose=0),
                           m3.predict(x, verbose=0), atol=1e-3)


def test_without_border_bad_input():
    m = _residual_net()
    with pytest.raises(ValueError, match="multiple of its downsampling"):
        without_border(m, 2)
    with pytest.raises(ValueError, match="positive int"):
        without_border(m, 0)
    fully_conv = keras.Sequential([L.Input((8, 8, 1)), L.Conv2D(2, 3, padding="same")])
    with pytest.raises(ValueError, match="nothing to crop"):
        without_border(fully_conv, 2)


def _edge_net():
    """One 'same' convolution whose kernel sums to 1 with -1 around the centre: on a uniform image
    every unit gives the grey value, except at the border, where the missing (zero-padded) -1
    taps leave more: 4x at an edge, 6x at a corner. ReLU, max pool, Flatten, a Dense of ones."""
    k = -np.ones((3, 3, 1, 1), np.float32)
    k[1, 1] = 8.0 + 1.0
    inp = L.Input((8, 8, 1))
    conv = L.Conv2D(1, 3, padding="same", use_bias=False, activation="relu")
    x = L.MaxPooling2D(2)(conv(inp))
    dense = L.Dense(1, use_bias=False)
    m = keras.Model(inp, dense(L.Flatten()(x)))
    conv.set_weights([k])
    dense.set_weights([np.ones((16, 1), np.float32)])
    return m


@pytest.mark.slow
def test_border_free_removes_what_the_zero_padding_puts_at_the_border():
    """Deep Taylor of a uniform image: the edge network puts its relevance at the border, most at
    the corners; moved away from the border, the same network and rules give the corner pixels what
    they give pixels inside the image (the max pools' ties go to the first unit of each 2x2 window,
    so both maps repeat with period 2 rather than being flat)."""
    bundle = ModelBundle(_edge_net(), Preprocess(size=(8, 8), channels=1), ("x",), name="edge")
    x = np.full((2, 8, 8, 1), 128, np.uint8)
    x[1] = 200
    as_trained = relevance(bundle, x).maps
    s = corner_statistics(as_trained, corner=1, top=4)
    for name in s.top_in_corner:  # the four corner pixels are the four most relevant
        assert s.top_in_corner[name] == 1.0
    assert s.mean_ratio[0, 0] > 2 and s.mean_ratio[3:5, 3:5].max() < 1
    free = border_free(bundle, x, margin=2)
    assert free.maps.shape == (2, 8, 8) and free.margin == 2 and free.same_prediction.all()
    np.testing.assert_allclose(free.maps[:, :2, :2], free.maps[:, 2:4, 2:4], rtol=1e-5)
    assert not np.allclose(as_trained[:, :2, :2], as_trained[:, 2:4, 2:4], rtol=0.1)
    # the sums: the logit of the network without border (every unit at the grey value), of which the
    # image holds its share; the rest went to the inner ring of the margin, which the convolutions see
    grey = x[:, 0, 0, 0] / 255.0
    np.testing.assert_allclose(free.maps.sum((1, 2)) / free.inside, 16 * grey, rtol=1e-5)
    assert (free.inside > 0.5).all() and (free.inside < 1).all()


def test_border_free_needs_the_model_size():
    bundle = ModelBundle(_edge_net(), Preprocess(size=(8, 8), channels=1), ("x",), name="edge")
    with pytest.raises(ValueError, match="sizes must agree"):
        border_free(bundle, images(1, (10, 10, 1)))


# --------------------------------------------------------------------------- chapter 3's readings

def test_corner_statistics_describe_counts_pixel_1_1():
    maps = np.zeros((3, 6, 6))
    maps[0, 1, 1] = maps[1, 1, 1] = 5.0
    maps[2, 4, 4] = 5.0
    s = corner_statistics(maps, corner=2, top=1)
    first, second = s.describe().split("\n")
    assert first.startswith("pixel (1, 1) is the most relevant pixel of 2 of the 3 maps (0.1 for a pixel by chance; "
                            "rank 1 of 36 pixels)")
    assert "the largest anywhere: 24.00 at (1, 1)" in first  # 10/3 over a map mean of 5/36
    assert "in 66.7 % of the maps" in first
    assert second.startswith("corners by their mean ratio: top-left 6.00, bottom-right 3.00")


def test_border_table_and_border_free_describe():
    from rbdm_core.saliency.border import BorderFree, border_table

    maps = np.random.default_rng(0).normal(size=(5, 6, 6))
    a, b = corner_statistics(maps, corner=4, top=8), corner_statistics(maps[:3], corner=4, top=8)
    tab = border_table({"x": a, "y": b})
    assert list(tab.network) == ["x", "y"]
    assert tab["mean ratio, top-left 2x2 pixels"][1] == pytest.approx(b.mean_ratio[:2, :2].mean())
    assert tab["by chance"][0] == a.chance
    free = BorderFree(maps=np.zeros((4, 2, 2)), inside=np.array([0.5, 0.7, 0.9, 1.0]), targets=np.zeros(4, int),
                      same_prediction=np.array([True, True, True, False]), margin=2)
    assert "for 75.0 % of the 4 images; 80.0 % of a map's relevance (median)" in free.describe()


def test_describe_padding_names_the_strided_layers():
    from types import SimpleNamespace

    from rbdm_core.saliency.border import describe_padding

    model = keras.Sequential([L.Input((8, 8, 1)), L.Conv2D(2, 3, padding="same"), L.MaxPooling2D(2, name="pool")])
    bundle = SimpleNamespace(preprocess=SimpleNamespace(size=(8, 8)), model=model)
    first, second = describe_padding(bundle, (8, 8)).split("\n")
    assert first == "model input 8x8, images 8x8: to_image_size leaves the maps as they are"
    assert second.startswith("layers with a stride above 1: pool (MaxPooling2D, valid); no convolution has one")
    assert describe_padding(bundle, (16, 16)).split("\n")[0].endswith("to_image_size resamples the maps")


@pytest.mark.slow
def test_uniform_images_on_the_edge_network():
    """The edge network on uniform images: the convolution gives g inside, 4g at an edge and 6g at
    a corner (grey g); the max pool keeps the corner's 6g, and the Dense of ones hands each pooled
    unit its own value, so the conv layer's top-left unit holds 6g of a logit of
    4 * 6g + 8 * 4g + 4 * g = 60g: 6.4 times the mean over its 64 units. Grey 0 explains nothing."""
    from rbdm_core.saliency.border import uniform_images

    bundle = ModelBundle(_edge_net(), Preprocess(size=(8, 8), channels=1), ("x",), name="edge")
    u = uniform_images(bundle, (8, 8, 1), n_levels=3)
    np.testing.assert_array_equal(u.levels, [0, 128, 255])
    assert u.argmax(0) is None and u.argmax(1) is not None
    assert u.at_corner() == sum(rc[0] < 2 and rc[1] < 2 for rc in (u.argmax(1), u.argmax(2)))
    lines = u.report(["x"]).split("\n")
    assert len(lines) == 4 and lines[0] == "uniform grey   0: logit 0, an all-zero map"
    assert lines[-1] == f"the most relevant pixel lies in the top-left 2x2 pixels for {u.at_corner()} of the 3 uniform images"
    tab = u.corner_units().set_index("layer")
    conv = [r for r in tab.index if not r.startswith(("input", "max"))][0]
    assert tab.loc[conv, "grey 128"] == pytest.approx(6.4, rel=1e-4)
    assert np.isnan(tab.loc[conv, "grey 0"])
    px = u.layers.arrays[0][2]
    np.testing.assert_allclose(u.relative_map(2), px / px.mean())
    assert u.relative_map(0) is None
