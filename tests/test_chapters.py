"""Chapters: listing, resolving, parameters, execution (papermill), and `rbdm run` argument errors."""

from __future__ import annotations

import re

import nbformat
import pytest

from chapter_writers import stdout_of, write_chapter
from rbdm_core import cli
from rbdm_core.chapters import chapter_parameters, execute_chapter, list_chapters, parse_parameters, resolve_chapter


# --------------------------------------------------------------------------- resolving, parameters
def test_resolve_chapter_by_number_name_and_path(tmp_path):
    d = tmp_path / "nb"
    a = write_chapter(d, "01_alpha", "pass")
    b = write_chapter(d, "02_beta", "pass")
    (d / "notes.py").write_text("x = 1\n")  # not a chapter
    assert list_chapters(d) == [a, b]
    assert resolve_chapter("01", d) == a
    assert resolve_chapter("2", d) == b
    assert resolve_chapter("02_beta", d) == b
    assert resolve_chapter("02_beta.py", d) == b
    assert resolve_chapter(str(b), d) == b.resolve()


def test_resolve_chapter_errors(tmp_path):
    d = tmp_path / "nb"
    write_chapter(d, "01_alpha", "pass")
    write_chapter(d, "01_other", "pass")
    with pytest.raises(FileNotFoundError, match=r"chapter '07': not found; chapters are: 01_alpha, 01_other"):
        resolve_chapter("07", d)
    with pytest.raises(ValueError, match="ambiguous: 01_alpha, 01_other"):
        resolve_chapter("01", d)
    with pytest.raises(FileNotFoundError, match="no such file"):
        resolve_chapter(str(tmp_path / "missing.py"), d)


def test_parse_parameters_reads_yaml_scalars():
    got = parse_parameters([("fraction", "0.2"), ("n", "400"), ("root", "null"), ("name", "deep_taylor"),
                               ("flag", "true"), ("path", "/data/x")])
    assert got == {"fraction": 0.2, "n": 400, "root": None, "name": "deep_taylor", "flag": True, "path": "/data/x"}
    assert isinstance(got["fraction"], float) and isinstance(got["n"], int)
    with pytest.raises(ValueError, match="'bad-name' is not a Python identifier"):
        parse_parameters([("bad-name", "1")])
    with pytest.raises(ValueError, match="parameter x: cannot parse value"):
        parse_parameters([("x", "[1, 2")])


def test_chapter_parameters_lists_the_parameters_cell(tmp_path):
    p = write_chapter(tmp_path, "01_alpha", "pass", params='profile = "quick"\nn: int = 5\nroot = None\nsize = 2 * 24')
    assert chapter_parameters(p) == {"profile": "quick", "n": 5, "root": None, "size": "2 * 24"}
    q = tmp_path / "02_none.py"
    q.write_text("# %%\nx = 1\n")
    with pytest.raises(ValueError, match="no code cell tagged 'parameters'"):
        chapter_parameters(q)


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
    out = execute_chapter(p, {"seed": 7}, run_dir=tmp_path / "runs", progress=False)
    assert out == (tmp_path / "runs" / "quick" / "notebooks" / "01_alpha.ipynb").resolve()
    text = stdout_of(nbformat.read(out, as_version=4))
    assert "seed 7 int profile quick" in text
    assert f"run {(tmp_path / 'runs').resolve()}\n" in text
    assert "mime html" in text
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; expected one of \['paper', 'quick', 'standard'\] or a profile file"):
        execute_chapter(p, run_dir=tmp_path / "runs", profile="fast")
    # a profile file: the chapter gets its path, the run folder is named after its stem
    prof = tmp_path / "cfg" / "tiny-paper.yml"
    prof.parent.mkdir()
    prof.write_text("base: quick\nseeds: [4]\n")
    out = execute_chapter(p, run_dir=tmp_path / "runs", profile=str(prof), progress=False)
    assert out == (tmp_path / "runs" / "tiny-paper" / "notebooks" / "01_alpha.ipynb").resolve()
    assert f"profile {prof.resolve()}" in stdout_of(nbformat.read(out, as_version=4))


def test_failed_chapter_keeps_a_failed_copy_and_no_result(tmp_path):
    import papermill

    p = write_chapter(tmp_path / "nb", "01_alpha", 'print("before")\nraise RuntimeError("boom in chapter")')
    runs = tmp_path / "runs"
    with pytest.raises(papermill.PapermillExecutionError, match="boom in chapter"):
        execute_chapter(p, run_dir=runs, progress=False)
    folder = runs / "quick" / "notebooks"
    assert not (folder / "01_alpha.ipynb").exists()
    failed = nbformat.read(folder / "01_alpha.failed.ipynb", as_version=4)
    assert "before" in stdout_of(failed)
    assert sorted(f.name for f in folder.iterdir()) == ["01_alpha.failed.ipynb"]


def test_cell_timeout_stops_a_stalled_cell(tmp_path):
    p = write_chapter(tmp_path / "nb", "01_alpha", "import time\ntime.sleep(60)")
    with pytest.raises(Exception) as exc:
        execute_chapter(p, run_dir=tmp_path / "runs", cell_timeout=2, progress=False)
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
    chapter = resolve_chapter("01")
    out = execute_chapter(chapter, {"n_ferplus": 600, "n_ckplus": 40, "seed": 3},
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
