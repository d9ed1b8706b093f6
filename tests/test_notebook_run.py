"""Chapter execution (papermill), the sanitiser, and `rbdm run` argument errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from rbdm_core import cli
from rbdm_core import notebook_run as nr


def write_chapter(folder: Path, name: str, body: str, params: str = 'profile = "quick"\nrun_dir = None\nseed = 0') -> Path:
    """A tiny py:percent chapter: a title, a parameters cell, then `body`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(f'# %% [markdown]\n# # {name}\n\n# %% tags=["parameters"]\n{params}\n\n# %%\n{body}\n')
    return path


def stdout_of(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("name") == "stdout")


# --------------------------------------------------------------------------- resolving, parameters
def test_resolve_chapter_by_number_name_and_path(tmp_path):
    d = tmp_path / "nb"
    a = write_chapter(d, "01_alpha", "pass")
    b = write_chapter(d, "02_beta", "pass")
    (d / "notes.py").write_text("x = 1\n")  # not a chapter
    assert nr.list_chapters(d) == [a, b]
    assert nr.resolve_chapter("01", d) == a
    assert nr.resolve_chapter("2", d) == b
    assert nr.resolve_chapter("02_beta", d) == b
    assert nr.resolve_chapter("02_beta.py", d) == b
    assert nr.resolve_chapter(str(b), d) == b.resolve()


def test_resolve_chapter_errors(tmp_path):
    d = tmp_path / "nb"
    write_chapter(d, "01_alpha", "pass")
    write_chapter(d, "01_other", "pass")
    with pytest.raises(FileNotFoundError, match=r"chapter '07': not found; chapters are: 01_alpha, 01_other"):
        nr.resolve_chapter("07", d)
    with pytest.raises(ValueError, match="ambiguous: 01_alpha, 01_other"):
        nr.resolve_chapter("01", d)
    with pytest.raises(FileNotFoundError, match="no such file"):
        nr.resolve_chapter(str(tmp_path / "missing.py"), d)


def test_parse_parameters_reads_yaml_scalars():
    got = nr.parse_parameters([("fraction", "0.2"), ("n", "400"), ("root", "null"), ("name", "deep_taylor"),
                               ("flag", "true"), ("path", "/data/x")])
    assert got == {"fraction": 0.2, "n": 400, "root": None, "name": "deep_taylor", "flag": True, "path": "/data/x"}
    assert isinstance(got["fraction"], float) and isinstance(got["n"], int)
    with pytest.raises(ValueError, match="'bad-name' is not a Python identifier"):
        nr.parse_parameters([("bad-name", "1")])
    with pytest.raises(ValueError, match="parameter x: cannot parse value"):
        nr.parse_parameters([("x", "[1, 2")])


def test_chapter_parameters_lists_the_parameters_cell(tmp_path):
    p = write_chapter(tmp_path, "01_alpha", "pass", params='profile = "quick"\nn: int = 5\nroot = None\nsize = 2 * 24')
    assert nr.chapter_parameters(p) == {"profile": "quick", "n": 5, "root": None, "size": "2 * 24"}
    q = tmp_path / "02_none.py"
    q.write_text("# %%\nx = 1\n")
    with pytest.raises(ValueError, match="no code cell tagged 'parameters'"):
        nr.chapter_parameters(q)


# --------------------------------------------------------------------------- rbdm run errors
def test_rbdm_run_unknown_chapter_is_a_clear_error(capsys):
    assert cli.main(["run", "99", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "chapter '99': not found; chapters are:" in err


def test_rbdm_run_unknown_parameter_names_it_and_lists_the_known_ones(tmp_path, capsys):
    p = write_chapter(tmp_path / "nb", "01_alpha", "print(seed)")
    assert cli.main(["run", str(p), "-p", "sede", "1", "--run-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s) sede; its parameters are: profile, run_dir, seed" in err
    assert not (tmp_path / "runs" / "quick" / "notebooks" / "01_alpha.ipynb").exists()


def test_rbdm_run_bad_arguments(tmp_path, capsys):
    p = write_chapter(tmp_path / "nb", "01_alpha", "pass")
    assert cli.main(["run", str(p), "--profile", "fast"]) == 2
    assert "rbdm run: error: profile: unknown profile 'fast'" in capsys.readouterr().err
    assert cli.main(["run", str(p), "--profile", str(tmp_path / "missing.yml")]) == 2
    assert "missing.yml: not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["run", str(p), "-p", "seed"])  # NAME without VALUE
    assert "expected 2 arguments" in capsys.readouterr().err
    assert cli.main(["run", str(p), "-p", "not-an-id", "1"]) == 2
    assert "'not-an-id' is not a Python identifier" in capsys.readouterr().err
    assert cli.main(["run", str(p), "--cell-timeout", "0"]) == 2
    assert "--cell-timeout must be a positive number of seconds" in capsys.readouterr().err
    assert cli.main(["book", "--no-execute", "--cell-timeout", "-5"]) == 2  # checked before any work
    assert "--cell-timeout must be a positive number of seconds, got -5" in capsys.readouterr().err


# --------------------------------------------------------------------------- execution
def test_execute_chapter_injects_parameters_and_writes_the_run_folder(tmp_path):
    p = write_chapter(tmp_path / "nb", "01_alpha",
                      'import os\nprint("seed", seed, type(seed).__name__, "profile", profile)\n'
                      'print("run", os.environ["RBDM_RUN_DIR"])\nprint("mime", os.environ["RBDM_FIGURE_MIME"])')
    out = nr.execute_chapter(p, {"seed": 7}, run_dir=tmp_path / "runs", progress=False)
    assert out == (tmp_path / "runs" / "quick" / "notebooks" / "01_alpha.ipynb").resolve()
    text = stdout_of(nbformat.read(out, as_version=4))
    assert "seed 7 int profile quick" in text
    assert f"run {(tmp_path / 'runs').resolve()}\n" in text
    assert "mime html" in text
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; expected one of \['paper', 'quick', 'standard'\] or a profile file"):
        nr.execute_chapter(p, run_dir=tmp_path / "runs", profile="fast")
    # a profile file: the chapter gets its path, the run folder is named after its stem
    prof = tmp_path / "cfg" / "tiny-paper.yml"
    prof.parent.mkdir()
    prof.write_text("base: quick\nseeds: [4]\n")
    out = nr.execute_chapter(p, run_dir=tmp_path / "runs", profile=str(prof), progress=False)
    assert out == (tmp_path / "runs" / "tiny-paper" / "notebooks" / "01_alpha.ipynb").resolve()
    assert f"profile {prof.resolve()}" in stdout_of(nbformat.read(out, as_version=4))


def test_failed_chapter_keeps_a_failed_copy_and_no_result(tmp_path):
    import papermill

    p = write_chapter(tmp_path / "nb", "01_alpha", 'print("before")\nraise RuntimeError("boom in chapter")')
    runs = tmp_path / "runs"
    with pytest.raises(papermill.PapermillExecutionError, match="boom in chapter"):
        nr.execute_chapter(p, run_dir=runs, progress=False)
    folder = runs / "quick" / "notebooks"
    assert not (folder / "01_alpha.ipynb").exists()
    failed = nbformat.read(folder / "01_alpha.failed.ipynb", as_version=4)
    assert "before" in stdout_of(failed)
    assert sorted(f.name for f in folder.iterdir()) == ["01_alpha.failed.ipynb"]


def test_cell_timeout_stops_a_stalled_cell(tmp_path):
    p = write_chapter(tmp_path / "nb", "01_alpha", "import time\ntime.sleep(60)")
    with pytest.raises(Exception) as exc:
        nr.execute_chapter(p, run_dir=tmp_path / "runs", cell_timeout=2, progress=False)
    assert "timed out" in str(exc.value).lower() or "timeout" in type(exc.value).__name__.lower()


def _row(text: str, caption: str, row: str) -> list[int]:
    """The numbers of row `row` in the plain-text table captioned `caption`."""
    block = text.split(caption, 1)[1]
    line = next(ln for ln in block.splitlines() if ln.strip().startswith(row))
    return [int(v) for v in line.strip()[len(row):].split()]


def _plain_outputs(nb) -> str:
    return "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_chapter1_with_other_parameters_changes_the_counts_as_predicted(tmp_path):
    """Re-execute chapter 1 with smaller corpora and another seed; the counts follow by hand:
    FERPlus-like n=600 splits like FER2013 (28,709 / 3,589 / 3,589 of 35,887): 600 x 0.79998 =
    479.99 -> 480 (largest remainder), 600 x 0.10001 = 60.01 -> 60 and 60. CK+-like n=40 is 20
    sequences: 20 neutral first frames + 20 apex frames."""
    chapter = nr.resolve_chapter("01")
    out = nr.execute_chapter(chapter, {"n_ferplus": 600, "n_ckplus": 40, "seed": 3},
                             run_dir=tmp_path / "runs", progress=False)
    nb = nbformat.read(out, as_version=4)
    text = _plain_outputs(nb)
    assert re.search(r"FERPlus-like\s+SYNTHETIC:\s+600 images of 48x48x1", text)
    assert re.search(r"CK\+-like\s+SYNTHETIC:\s+40 images", text)
    fer = _row(text, "FERPlus-like (synthetic): images per class and split", "all classes")
    assert fer == [480, 60, 60, 600]
    ck_neutral = _row(text, "CK+-like (synthetic): images per class and split", "neutral")
    assert ck_neutral == [20, 20]
    assert _row(text, "CK+-like (synthetic): images per class and split", "all classes") == [40, 40]
    assert "every number in this chapter is SYNTHETIC" in text
    # the committed reference (default parameters) has the profile's sizes instead: 2400 -> 1920/240/240
    ref = _plain_outputs(nbformat.read(chapter.with_suffix(".ipynb"), as_version=4))
    assert _row(ref, "FERPlus-like (synthetic): images per class and split", "all classes") == [1920, 240, 240, 2400]
    # the paper's numbers are quoted unchanged whatever the parameters
    for t in (text, ref):
        assert "269,118" in t and "35,488" in t and "654 images" in t


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
            new_output("stream", name="stdout", text=f"saved to {nr.REPO_ROOT}/runs/x.npz\n"),
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
    clean = nr.sanitize_notebook(nb, paths={"/data/runs": "<run_dir>"})
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
    assert nbformat.writes(nr.sanitize_notebook(clean)) == nbformat.writes(clean)


@pytest.mark.parametrize("text, kept", [
    ("\r  0%|          | 0/3 [00:00<?, ?it/s]\r100%|##########| 3/3 [00:01<00:00, 2.9it/s]\n", ""),
    ("Epoch 1/2\n 5/10 [==>...........] - ETA: 1s - loss: 0.9\r10/10 [==============================] - 1s\n",
     "Epoch 1/2\n"),
    ("\x1b[32mgreen\x1b[0m text\n", "green text\n"),
    ("loss 0.5 at step 3/10\n", "loss 0.5 at step 3/10\n"),  # a plain fraction is not a progress bar
])
def test_strip_progress(text, kept):
    assert nr.strip_progress(text) == kept


def test_write_reference_refuses_a_notebook_over_the_size_limit(tmp_path):
    nb = _executed_notebook()
    nb.cells[3].outputs.append(new_output("display_data", data={"text/html": "x" * (nr.MAX_NOTEBOOK_BYTES + 10)}))
    src = tmp_path / "01_alpha.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(ValueError, match=r"01_alpha.ipynb: sanitised notebook is \d+ kB, over the 1000 kB limit \(cell 2"):
        nr.write_reference(src, notebooks_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "01_alpha.ipynb").exists()


def test_run_book_option_errors(tmp_path):
    with pytest.raises(ValueError, match="--update-references needs --profile quick"):
        nr.run_book(profile="paper", update_references=True)
    with pytest.raises(ValueError, match="needs execution"):
        nr.run_book(execute=False, update_references=True)
    (tmp_path / "nb").mkdir()
    with pytest.raises(FileNotFoundError, match="no chapters"):
        nr.run_book(notebooks_dir=tmp_path / "nb", execute=False)
    write_chapter(tmp_path / "nb", "01_alpha", "pass")
    with pytest.raises(FileNotFoundError, match=r"committed executed notebook\(s\) missing: 01_alpha.ipynb"):
        nr.run_book(notebooks_dir=tmp_path / "nb", execute=False)


def test_book_parameters_must_be_declared_by_some_chapter(tmp_path):
    from rbdm_core.notebook_run import run_book

    with pytest.raises(ValueError, match="no chapter declares"):
        run_book(run_dir=tmp_path, parameters={"no_such_parameter": 1})


def test_book_without_the_build_executes_every_chapter_and_builds_nothing(tmp_path, capsys):
    nb = tmp_path / "nb"
    write_chapter(nb, "01_alpha", 'print("alpha ran")')
    write_chapter(nb, "02_beta", 'print("beta ran")')
    book = tmp_path / "book"  # not a Jupyter Book folder: building would fail
    html, timings = nr.run_book(run_dir=tmp_path / "runs", notebooks_dir=nb, book_dir=book, progress=False,
                                log=lambda m: None, build=False)
    assert html is None and [name for name, _ in timings] == ["01_alpha", "02_beta"]
    out = tmp_path / "runs" / "quick" / "notebooks"
    assert "alpha ran" in stdout_of(nbformat.read(out / "01_alpha.ipynb", as_version=4))
    assert "beta ran" in stdout_of(nbformat.read(out / "02_beta.ipynb", as_version=4))
    assert not book.exists()
    with pytest.raises(ValueError, match="--no-build needs execution"):
        nr.run_book(notebooks_dir=nb, execute=False, build=False)
