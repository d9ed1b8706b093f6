"""nbval with rbdm_core.nbval_plugin: rounding passes, a changed result still fails and is reported.

The outputs are the committed chapter 2's own (the Trainer candidates' table and their learning
curves), replayed by a notebook cell; the references are the same outputs, perturbed."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rbdm_core.chapters import KERNEL_NAME, REPO_ROOT

pytestmark = pytest.mark.slow
SANITIZE = REPO_ROOT / "tests" / "nbval_sanitize.cfg"
CHAPTER = REPO_ROOT / "notebooks" / "02_trainer.ipynb"


def _chapter_output(marker: str) -> dict:
    nb = nbformat.read(CHAPTER, as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if marker in "".join(o.get("data", {}).get("text/html", "")):
                return {k: "".join(v) if isinstance(v, list) else v for k, v in o["data"].items()}
    raise AssertionError(f"{marker!r} not in {CHAPTER.name}")


def _scale_arrays(html: str, factor: float, only_first_element: bool = False) -> str:
    """Multiply the float plotly arrays in `html` by `factor` (all elements, or element 0 of the
    first float array)."""
    done = False

    def sub(m):
        nonlocal done
        obj = json.loads(m.group(0))
        if obj["dtype"] != "f8" or done:
            return m.group(0)
        a = np.frombuffer(base64.b64decode(obj["bdata"].replace("\\u002f", "/")), "<f8").copy()
        if only_first_element:
            a[0] *= factor
            done = True
        else:
            a *= factor
        obj["bdata"] = base64.b64encode(a.tobytes()).decode()
        return json.dumps(obj, separators=(",", ":"))

    out = re.sub(r'\{"dtype":"[^"]*","bdata":"[^"]*"(?:,"shape":"[^"]*")?\}', sub, html)
    assert out != html
    return out


def _run_nbval(tmp_path: Path, shown: list[dict], refs: list[dict], plugin: bool) -> subprocess.CompletedProcess:
    (tmp_path / "shown.json").write_text(json.dumps(shown))
    cells = []
    for k, ref in enumerate(refs):
        cell = nbformat.v4.new_code_cell(
            "import json\nfrom IPython.display import display\n"
            f"display(json.load(open('shown.json'))[{k}], raw=True)")
        cell.outputs = [nbformat.v4.new_output("display_data", data=ref)]
        cell.execution_count = k + 1
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "rbdm", "language": "python"}
    path = tmp_path / "replay.ipynb"
    nbformat.write(nb, path)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", str(path),
           "--nbval-kernel-name", KERNEL_NAME, "--nbval-sanitize-with", str(SANITIZE), "--rootdir", str(tmp_path)]
    if plugin:
        cmd[3:3] = ["-p", "rbdm_core.nbval_plugin"]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_rounding_passes_and_changed_results_fail(tmp_path):
    table = _chapter_output("Trainer candidates on the validation split")
    curves = _chapter_output("rbdm-fig-candidate-curves")
    f1 = re.search(r"\b0\.\d{3}\b", table["text/plain"]).group(0)  # the first printed F1
    assert f1 in table["text/html"]
    neighbour, changed = f"{float(f1) + 0.001:.3f}", f"{float(f1) + 0.010:.3f}"

    # what another CPU's kernels do: every curve value off by 3e-6 relative, a printed F1 rounded
    # to its neighbour
    rounded_curves = dict(curves, **{"text/html": _scale_arrays(curves["text/html"], 1 + 3e-6)})
    rounded_table = {k: v.replace(f1, neighbour, 1) for k, v in table.items()}
    # a real change: one curve value 1 % off, a printed F1 0.010 off
    changed_curves = dict(curves, **{"text/html": _scale_arrays(curves["text/html"], 1.01, only_first_element=True)})
    changed_table = {k: v.replace(f1, changed, 1) for k, v in table.items()}

    shown = [curves, table, curves, table]
    refs = [rounded_curves, rounded_table, changed_curves, changed_table]
    proc = _run_nbval(tmp_path, shown, refs, plugin=True)
    out = proc.stdout + proc.stderr
    assert "2 failed, 2 passed" in out, out[-3000:]
    failed = set(re.findall(r"FAILED .*?::Cell (\d+)", out))
    assert failed == {"2", "3"}, out[-3000:]
    assert "array element 0" in out  # the report names what changed
    assert f"{changed} vs {f1}" in out  # reference vs re-executed

    # plain nbval (byte for byte) fails the rounded cells too: the plugin is what passes them
    plain = _run_nbval(tmp_path, shown, refs, plugin=False)
    assert "4 failed" in plain.stdout + plain.stderr, (plain.stdout + plain.stderr)[-3000:]


def test_lock_wait_notices_are_dropped_from_stderr_only():
    """A chapter that waited for the other nbval stream's artifact printed the lock's notice once on
    stderr: it is dropped (an emptied stream with it); any other stderr text, and the same text on
    stdout, stay and are compared."""
    from nbformat import NotebookNode

    from rbdm_core.nbval_plugin import without_wait_notices

    notice = "rbdm: /tmp/run/trainer/x: training of no-mask seed 0 in use by PID 12 on host h since 2026-12-07 20:00:00 UTC; waiting for it\n"
    stream = lambda name, text: NotebookNode(output_type="stream", name=name, text=text)  # noqa: E731
    shown = NotebookNode(output_type="display_data", data={"text/plain": "1"}, metadata={})
    out = without_wait_notices([stream("stderr", notice), shown, stream("stderr", "a warning\n" + notice + "more\n"),
                                stream("stdout", notice)])
    assert out == [shown, stream("stderr", "a warning\nmore\n"), stream("stdout", notice)]
    assert all(isinstance(o, NotebookNode) for o in out) and out[1].name == "stderr"
