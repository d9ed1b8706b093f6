"""Chapter 8's ROAR figure (rbdm_core.viz.roar): its traces carry the table's numbers."""

import numpy as np
import pandas as pd
import pytest

from rbdm_core.viz import asymmetric_error, roar_figure


def test_asymmetric_error_by_hand():
    e = asymmetric_error([0.5, 0.2], [0.4, 0.1], [0.7, 0.25])
    np.testing.assert_allclose(e["array"], [0.2, 0.05])
    np.testing.assert_allclose(e["arrayminus"], [0.1, 0.1])
    assert e["symmetric"] is False


def _gaps():
    rows = []
    for fill in ("noisy_linear", "zero"):
        for k, r, q in ((0.1, 0.3, 0.35), (0.5, 0.2, 0.3)):
            rows.append({"fill": fill, "fraction": k, "relevance_mean": r, "relevance_ci_low": r - 0.05,
                         "relevance_ci_high": r + 0.05, "random_mean": q, "random_ci_low": q - 0.02,
                         "random_ci_high": q + 0.03, "gap_mean": r - q, "gap_ci_low": r - q - 0.04,
                         "gap_ci_high": r - q + 0.01, "baseline_mean": 0.4, "baseline_ci_low": 0.35,
                         "baseline_ci_high": 0.45})
    return pd.DataFrame(rows)


def test_roar_figure_traces_carry_the_table():
    g = _gaps()
    fig = roar_figure(g, "ROAR test")
    assert fig.layout.title.text == "ROAR test" and len(fig.data) == 6  # ranked, random, gap per fill
    ranked = fig.data[0]
    assert ranked.name == "ranked, noisy_linear fill"
    assert list(ranked.x) == [0.0, 0.1, 0.5] and list(ranked.y) == pytest.approx([0.4, 0.3, 0.2])
    np.testing.assert_allclose(ranked.error_y.array, [0.05, 0.05, 0.05])
    gap = fig.data[2]
    assert list(gap.y) == pytest.approx([-0.05, -0.1]) and gap.xaxis == "x2"
    np.testing.assert_allclose(gap.error_y.arrayminus, [0.04, 0.04])
    assert fig.data[3].line.dash == "dot"  # the second fill's dash
    assert roar_figure(g, "t", fills=["zero", "noisy_linear"]).data[0].line.dash == "dot"
