"""rbdm_core.viz.masks (chapter 5's figures): the traces carry the given data and titles."""

import numpy as np
import pandas as pd

from rbdm_core.viz.masks import fills_figure, kept_fraction_figure, masks_figure


def _titles(fig):
    return [a.text for a in fig.layout.annotations]


def test_masks_figure_rows_per_type_columns_per_image():
    images = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4, 1) * 2
    keep = np.ones((3, 4, 4), bool)
    masks = {"negative": keep, "mean": keep.copy()}
    masks["mean"][:, 0, :] = False
    fig = masks_figure(images, masks, [2, 0], ("anger", "joy", "fear"), np.array([0, 1, 2]), title="Figure 8")
    assert fig.layout.title.text == "Figure 8"
    assert _titles(fig) == ["negative<br>fear", "negative<br>anger", "mean<br>fear", "mean<br>anger"]
    assert len(fig.data) >= 4  # one image per cell (overlays may add traces)


def test_fills_figure_titles():
    filled = np.zeros((2 * 3, 4, 4, 1), np.uint8)
    fig = fills_figure(filled, ["negative", "mean"], ["zero", "mean", "blur"], title="fills")
    assert _titles(fig) == [f"{t}, {f}" for t in ("negative", "mean") for f in ("zero", "mean", "blur")]
    assert fig.layout.title.text == "fills"


def test_kept_fraction_figure_one_violin_per_type():
    stats = pd.DataFrame({"mask": ["a", "a", "b", "b", "b"], "kept_fraction": [0.1, 0.2, 0.9, 0.8, 0.7]})
    fig = kept_fraction_figure(stats, ["b", "a"], title="kept")
    assert [t.type for t in fig.data] == ["violin", "violin"]
    assert [t.name for t in fig.data] == ["b", "a"]
    np.testing.assert_allclose(fig.data[0].y, [0.9, 0.8, 0.7])
    np.testing.assert_allclose(fig.data[1].y, [0.1, 0.2])
    assert fig.layout.title.text == "kept" and tuple(fig.layout.yaxis.range) == (0, 1)


def test_chapter_8_mask_grids_carry_the_masks():
    from rbdm_core.viz.masks import mask_pairs_figure, masks_by_source_figure

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 6, 6, 1), dtype=np.uint8)
    a, b = rng.uniform(size=(5, 6, 6)) < 0.5, rng.uniform(size=(5, 6, 6)) < 0.3
    fig = masks_by_source_figure(images, {"Trainer A (mean of the maps)": a, "B alone": b}, [0, 3], title="t")
    titles = [x.text for x in fig.layout.annotations]
    assert titles[:2] == ["Trainer A<br>(mean<br>of the maps)", "B<br>alone"] and len(titles) == 4
    pairs = mask_pairs_figure(images, np.array([0, 1, 2, 0, 1]), ["neutral", "happiness", "surprise"],
                              [("annotators", a), ("model", b)], [1, 4], title="p")
    assert [x.text for x in pairs.layout.annotations] == ["happiness<br>annotators", "happiness<br>model"] * 2
