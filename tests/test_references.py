"""The sanitiser that turns executed chapters into committed references, and the reference writer."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from rbdm_core.chapters import REPO_ROOT
from rbdm_core.references import MAX_NOTEBOOK_BYTES, sanitize_notebook, strip_progress, write_reference


# --------------------------------------------------------------------------- sanitiser
def _executed_notebook():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                "language_info": {"name": "python", "version": "3.11.7"},
                                "papermill": {"duration": 1.5, "parameters": {"n": 3}},
                                "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}})
    nb.cells = [
        new_markdown_cell("# title"),
        new_code_cell("n = 1", metadata={"tags": ["parameters"], "papermill": {"duration": 0.1},
                                         "execution": {"iopub.status.busy": "2026-01-01T00:00:00Z"}},
                      execution_count=1),
        new_code_cell("n = 3", metadata={"tags": ["injected-parameters"]}, execution_count=2),
        new_code_cell("work()", metadata={"tags": []}, execution_count=3, outputs=[
            new_output("stream", name="stderr", text="\r  0%|          | 0/3 [00:00<?, ?it/s]"),
            new_output("stream", name="stderr", text="\r100%|##########| 3/3 [00:00<00:00, 4.2it/s]"),
            new_output("stream", name="stderr", text="\nUserWarning: something real\n"),
            new_output("stream", name="stdout", text=f"saved to {REPO_ROOT}/runs/x.npz\n"),
            new_output("stream", name="stdout", text="done\n"),
            new_output("display_data", data={"text/plain": "IntProgress()", "application/vnd.jupyter.widget-view+json":
                                             {"model_id": "abc", "version_major": 2, "version_minor": 0}}),
            new_output("display_data", data={"text/html": '<div id="0b6f4d3e-1c2a-4b5c-8d9e-0123456789ab"></div>'
                                             '<script>Plotly.newPlot("0b6f4d3e-1c2a-4b5c-8d9e-0123456789ab")</script>',
                                             "text/plain": "fig"}),
            new_output("execute_result", data={"text/plain": "42"}, execution_count=3),
        ]),
        new_code_cell("unrun()", execution_count=None),
    ]
    return nb


def test_sanitize_notebook_strips_volatile_parts_and_keeps_results():
    nb = _executed_notebook()
    before = json.dumps(nb, sort_keys=True)
    clean = sanitize_notebook(nb, paths={"/data/runs": "<run_dir>"})
    assert json.dumps(nb, sort_keys=True) == before  # input untouched
    assert [c.source for c in clean.cells] == ["# title", "n = 1", "work()", "unrun()"]  # injected cell gone
    assert clean.metadata["kernelspec"]["name"] == "rbdm"
    assert "papermill" not in clean.metadata and "widgets" not in clean.metadata
    assert clean.metadata["language_info"] == {"name": "python"}
    params = clean.cells[1]
    assert params.metadata == {"tags": ["parameters"]}
    work = clean.cells[2]
    assert work.metadata == {}  # empty tags dropped
    kinds = [(o.output_type, o.get("name")) for o in work.outputs]
    assert kinds == [("stream", "stderr"), ("stream", "stdout"), ("display_data", None), ("execute_result", None)]
    assert work.outputs[0].text == "UserWarning: something real\n"  # progress gone, the warning kept
    assert work.outputs[1].text == "saved to <repo>/runs/x.npz\ndone\n"
    html = work.outputs[2].data["text/html"]
    assert html == '<div id="rbdm-id-0"></div><script>Plotly.newPlot("rbdm-id-0")</script>'
    assert work.outputs[3].data["text/plain"] == "42"
    assert [c.get("execution_count") for c in clean.cells if c.cell_type == "code"] == [1, 2, None]
    assert work.outputs[3].execution_count == 2
    assert [c.id for c in clean.cells] == ["cell-000", "cell-001", "cell-002", "cell-003"]
    nbformat.validate(clean)
    # idempotent
    assert nbformat.writes(sanitize_notebook(clean)) == nbformat.writes(clean)


@pytest.mark.parametrize("text, kept", [
    ("\r  0%|          | 0/3 [00:00<?, ?it/s]\r100%|##########| 3/3 [00:01<00:00, 2.9it/s]\n", ""),
    ("Epoch 1/2\n 5/10 [==>...........] - ETA: 1s - loss: 0.9\r10/10 [==============================] - 1s\n",
     "Epoch 1/2\n"),
    ("\x1b[32mgreen\x1b[0m text\n", "green text\n"),
    ("loss 0.5 at step 3/10\n", "loss 0.5 at step 3/10\n"),  # a plain fraction is not a progress bar
])
def test_strip_progress(text, kept):
    assert strip_progress(text) == kept


def test_write_reference_refuses_a_notebook_over_the_size_limit(tmp_path):
    nb = _executed_notebook()
    nb.cells[3].outputs.append(new_output("display_data", data={"text/html": "x" * (MAX_NOTEBOOK_BYTES + 10)}))
    src = tmp_path / "01_alpha.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(ValueError, match=r"01_alpha.ipynb: sanitised notebook is \d+ kB, over the 1000 kB limit \(cell 2"):
        write_reference(src, notebooks_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "01_alpha.ipynb").exists()
