"""No chapter heading holds a number that a parameter sets (issue 25, item 7): a heading is typed
once and stays when the parameter changes, so a value like `reach_fraction` is printed by code."""

import ast
import dataclasses
import re
from pathlib import Path

import jupytext
import pytest

from rbdm_core.profiles import Profile

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))


def _parameters(nb) -> dict[str, float]:
    """Float parameters of the chapter's `parameters` cell and of the profile (a chapter reads both)."""
    values = {f.name: f.default for f in dataclasses.fields(Profile)
              if isinstance(f.default, float) and not isinstance(f.default, bool)}
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                        and isinstance(node.value.value, float):
                    values[node.targets[0].id] = node.value.value
    return values


def _forms(v: float) -> list[str]:
    """How a value would be typed into a heading: as is, and as a percentage for a share."""
    out = [rf"(?<![\d.]){re.escape(f'{v:g}')}(?![\d])"]
    if 0 < v < 1:
        out.append(rf"(?<![\d.]){re.escape(f'{100 * v:g}')}\s*(%|percent)")
    return out


def _headings(nb) -> list[str]:
    return [line for cell in nb.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if re.match(r"#{1,6} ", line)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_heading_holds_a_parameter_value(path):
    nb = jupytext.read(path)
    params = _parameters(nb)
    hits = [(h, name) for h in _headings(nb) for name, v in params.items()
            if any(re.search(f, h) for f in _forms(v))]
    assert not hits, f"{path.name}: headings typed with a parameter's value: {hits}"


def test_the_check_catches_the_old_heading():
    nb = jupytext.reads("# %% tags=['parameters']\nreach_fraction = 0.9\n\n"
                        "# %% [markdown]\n# ## Steps to reach 90% of the plain model's final F1\n", fmt="py:percent")
    params = _parameters(nb)
    assert params["reach_fraction"] == 0.9 and params["negative_fraction"] == 0.1
    assert any(re.search(f, _headings(nb)[0]) for f in _forms(params["reach_fraction"]))
    assert any(re.search(f, "## Removing the top 10 % of pixels") for f in _forms(params["negative_fraction"]))
