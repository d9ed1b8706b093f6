"""Chapter cells hold prose, parameters and calls (issue 26): no plotly trace or subplot grid is
built in a chapter, and no chapter defines a function of its own; both live in `rbdm_core`."""

import ast
import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))
TRACES = re.compile(r"\bgo\.(Scatter\w*|Bar\w*|Heatmap\w*|Image|Box|Histogram\w*|Violin|Pie|Surface|Contour\w*|Figure)\(")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_figure_built_in_a_chapter(path):
    text = path.read_text()
    found = [m.group(0) for m in TRACES.finditer(text)] + (["make_subplots"] if "make_subplots(" in text else [])
    assert not found, f"{path.name}: build figures in rbdm_core.viz, not in the chapter: {found}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_function_defined_in_a_chapter(path):
    tree = ast.parse(path.read_text())
    defs = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert not defs, f"{path.name}: move {defs} into rbdm_core"


def test_the_checks_see_a_figure_and_a_function(tmp_path):
    """The two checks fail where they should (a made-up chapter)."""
    text = "import plotly.graph_objects as go\ndef helper():\n    return go.Scatter(x=[1])\n"
    assert TRACES.search(text)
    assert [n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)] == ["helper"]
