"""rbdm_core.output_compare: outputs compared by what their numbers mean, at a stated tolerance."""

import base64
import json
import re

import numpy as np
import pytest

from rbdm_core import viz
from rbdm_core.output_compare import Tolerance, compare, decode_bdata, decode_png, parse

TOL = Tolerance(rtol=1e-4, atol=1e-6, image_levels=2, image_share=0.01)


def _figure(y):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=np.arange(len(y)), y=np.asarray(y, dtype=np.float64), name="f1"))
    fig.update_layout(title="curves")
    return viz.figure_html(fig, "t")


def test_parse_reads_numbers_with_their_printed_precision():
    p = parse("F1 0.429, steps 272, lr 1e-03, loss 1.5e2 and colour #1f77b4 on conv2 at 48x48.")
    assert [n.value for n in p.numbers] == [0.429, 272.0, 1e-3, 150.0]
    # one unit in the last printed place: 0.001, integer 0, 1e-03 -> 1e-3, 1.5e2 -> 10
    assert [n.unit for n in p.numbers] == pytest.approx([1e-3, 0.0, 1e-3, 10.0])
    # hex colours, identifiers and sizes stay text
    assert "#1f77b4" in p.template and "conv2" in p.template and "48x48" in p.template


def test_numbers_within_rounding_agree_and_beyond_it_do_not():
    assert compare("best F1 0.429", "best F1 0.430", TOL) == []  # neighbouring printed values
    diffs = compare("best F1 0.429", "best F1 0.439", TOL)
    assert len(diffs) == 1 and "0.429 vs 0.439" in diffs[0]
    # integers are counts: no rounding slack
    assert compare("support 30", "support 31", TOL)
    assert compare("support 30", "support 30", TOL) == []
    # relative tolerance: 1e-4 of 12345.6 is 1.23 (plus 0.1 for the last place)
    assert compare("x 12345.6", "x 12346.9", TOL) == []
    assert compare("x 12345.6", "x 12347.0", TOL)


def test_words_are_compared_exactly():
    diffs = compare("classes: neutral, happiness", "classes: neutral, surprise", TOL)
    assert len(diffs) == 1 and "text differs" in diffs[0]
    assert compare("True", "False", TOL)


def test_sanitize_applies_to_text_not_to_binary_payloads():
    ref = "hash 18d95b793efe43ca, " + _figure([0.1, 0.2])
    test = "hash 0123456789abcdef, " + _figure([0.1, 0.2])
    assert compare(ref, test, TOL)  # hashes differ
    san = lambda s: re.sub(r"\b[0-9a-f]{16}\b", "<hash>", s)
    assert compare(ref, test, TOL, sanitize=san) == []


def test_plotly_binary_arrays_are_decoded_and_compared_numerically():
    y = np.array([0.12345678, 0.5, 1.75, 1e-3])
    html = _figure(y)
    assert '"bdata"' in html  # plotly >= 6 sends numpy arrays as base64
    p = parse(html)
    decoded = [a for a in p.arrays if a.dtype.kind == "f"]
    np.testing.assert_array_equal(decoded[0], y)  # the same numbers, decoded independently of plotly
    near = y * (1 + 3e-6)  # the largest spread measured across kernel settings is of this order
    assert compare(html, _figure(near), TOL) == []
    far = y.copy()
    far[1] *= 1.01
    diffs = compare(html, _figure(far), TOL)
    assert len(diffs) == 1 and "array element 1" in diffs[0]


def test_decode_bdata_shapes_and_dtypes():
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    obj = {"dtype": "i2", "bdata": base64.b64encode(a.tobytes()).decode(), "shape": "2, 3"}
    np.testing.assert_array_equal(decode_bdata(obj), a)
    with pytest.raises(ValueError, match="unknown dtype 'c16'"):
        decode_bdata({"dtype": "c16", "bdata": ""})


def test_integer_arrays_must_be_equal():
    import plotly.graph_objects as go

    def heat(z):
        return viz.figure_html(go.Figure(go.Heatmap(z=np.asarray(z, dtype=np.int64))), "cm")

    assert compare(heat([[5, 1], [0, 7]]), heat([[5, 1], [0, 7]]), TOL) == []
    diffs = compare(heat([[5, 1], [0, 7]]), heat([[4, 2], [0, 7]]), TOL)
    assert diffs and "integer array element 0" in diffs[0]


def test_embedded_images_compared_by_pixels():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    uri = viz.png_data_uri(img)
    np.testing.assert_array_equal(decode_png(uri.split(",", 1)[1]), img)
    # one grey level everywhere: rounding
    assert compare(f'<img src="{uri}">', f'<img src="{viz.png_data_uri(np.clip(img.astype(int) + 1, 0, 255).astype(np.uint8))}">', TOL) == []
    # a few flipped pixels (a mask pixel at its threshold): within the share
    flipped = img.copy()
    flipped.flat[:5] ^= 0xFF
    assert compare(f'<img src="{uri}">', f'<img src="{viz.png_data_uri(flipped)}">', TOL) == []
    # a tenth of the image changed: a different image
    changed = img.copy()
    changed[:4] = 255 - changed[:4]
    diffs = compare(f'<img src="{uri}">', f'<img src="{viz.png_data_uri(changed)}">', TOL)
    assert diffs and "pixel values differ" in diffs[0]
    # PNGs inside plotly JSON have their slashes escaped (\u002f): still decoded
    escaped = json.dumps(uri).replace("/", "\\u002f")
    assert len(parse(escaped).images) == 1


def test_bad_tolerance_is_refused():
    with pytest.raises(ValueError, match="rtol"):
        Tolerance(rtol=-1)
    with pytest.raises(ValueError, match="image_levels"):
        Tolerance(image_levels=300)
