"""`run_book`: its option errors, parameters, and executing the chapters without the HTML build."""

from __future__ import annotations

import nbformat
import pytest

from chapter_writers import stdout_of, write_chapter
from rbdm_core.book_assets import FIGURE_CACHE
from rbdm_core.book_build import clear_build, run_book


def test_run_book_option_errors(tmp_path):
    with pytest.raises(ValueError, match="--update-references needs --profile quick"):
        run_book(profile="paper", update_references=True)
    with pytest.raises(ValueError, match="needs execution"):
        run_book(execute=False, update_references=True)
    (tmp_path / "nb").mkdir()
    with pytest.raises(FileNotFoundError, match="no chapters"):
        run_book(notebooks_dir=tmp_path / "nb", execute=False)
    write_chapter(tmp_path / "nb", "01_alpha", "pass")
    with pytest.raises(FileNotFoundError, match=r"committed executed notebook\(s\) missing: 01_alpha.ipynb"):
        run_book(notebooks_dir=tmp_path / "nb", execute=False)


def test_book_parameters_must_be_declared_by_some_chapter(tmp_path):
    with pytest.raises(ValueError, match="no chapter declares"):
        run_book(run_dir=tmp_path, parameters={"no_such_parameter": 1})


def test_book_without_the_build_executes_every_chapter_and_builds_nothing(tmp_path, capsys):
    nb = tmp_path / "nb"
    write_chapter(nb, "01_alpha", 'print("alpha ran")')
    write_chapter(nb, "02_beta", 'print("beta ran")')
    book = tmp_path / "book"  # not a Jupyter Book folder: building would fail
    html, timings = run_book(run_dir=tmp_path / "runs", notebooks_dir=nb, book_dir=book, progress=False,
                                log=lambda m: None, build=False)
    assert html is None and [name for name, _ in timings] == ["01_alpha", "02_beta"]
    out = tmp_path / "runs" / "quick" / "notebooks"
    assert "alpha ran" in stdout_of(nbformat.read(out / "01_alpha.ipynb", as_version=4))
    assert "beta ran" in stdout_of(nbformat.read(out / "02_beta.ipynb", as_version=4))
    assert not book.exists()
    with pytest.raises(ValueError, match="--no-build needs execution"):
        run_book(notebooks_dir=nb, execute=False, build=False)


def test_a_clean_build_keeps_only_the_figure_cache(tmp_path):
    build = tmp_path / "_build"
    for f in ("html/index.html", ".doctrees/env.pickle", "jupyter_execute/a.ipynb", f"{FIGURE_CACHE}/k.svg", "x.log"):
        (build / f).parent.mkdir(parents=True, exist_ok=True)
        (build / f).write_text("x")
    clear_build(build)
    assert sorted(p.relative_to(build).as_posix() for p in build.rglob("*")) == [FIGURE_CACHE, f"{FIGURE_CACHE}/k.svg"]
    clear_build(tmp_path / "none")  # no _build yet: nothing to do
