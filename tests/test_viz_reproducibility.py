"""rbdm_core.viz.reproducibility (chapter 7's figure): the traces carry the runs' curves and names."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from rbdm_core.viz.reproducibility import repro_curves_figure


def _run(seed, f1):
    curves = pd.DataFrame({"step": [1, 2, 1, 2], "split": ["validation"] * 2 + ["train"] * 2,
                           "metric": ["f1", "f1", "f1", "f1"], "value": [*f1, 9.0, 9.0]})
    return SimpleNamespace(seed=seed, curves=curves)


def test_repro_curves_figure():
    runs = [_run(0, [0.1, 0.2]), _run(0, [0.1, 0.2])]
    fig = repro_curves_figure(runs, _run(1, [0.3, 0.4]), "f1", "validation macro-F1", title="F1")
    assert [t.name for t in fig.data] == ["run 1 (seed 0)", "run 2 (seed 0)", "other seed (1)"]
    np.testing.assert_array_equal(fig.data[2].x, [1, 2])
    np.testing.assert_allclose(fig.data[2].y, [0.3, 0.4])  # validation rows only
    assert [t.line.dash for t in fig.data] == ["solid", "dash", "solid"]
    assert [t.line.width for t in fig.data] == [4, 2.8, 2]
    assert fig.layout.title.text == "F1" and fig.layout.yaxis.title.text == "validation macro-F1"
