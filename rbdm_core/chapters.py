"""The book's chapters: listing, resolving, reading, their parameters, executing one (papermill).

A chapter is `notebooks/NN_name.py` (jupytext py:percent, the source of truth) whose first code
cell is tagged `parameters`. `execute_chapter` runs it through papermill with the `rbdm` kernel and
a per-cell timeout into `<run_dir>/<profile>/notebooks/NN_name.ipynb`; the kernel sees
`RBDM_RUN_DIR=<run_dir>` (chapters keep their artifacts in `<run_dir>/<profile>/<kind>/<key>/`
through `rbdm_core.pipeline.Pipeline`, shared by all chapters of a run) and
`RBDM_FIGURE_MIME=html` (see `rbdm_core.viz`). Sanitising executed notebooks is in
`rbdm_core.references`, building the book in `rbdm_core.book_build`.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from rbdm_core import kernel_settings
from rbdm_core.artifacts import default_run_dir
from rbdm_core import timing
from rbdm_core.faults import child_environment
from rbdm_core.locks import folder_lock
from rbdm_core.profiles import PROFILES, get_profile, is_profile_file

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
KERNEL_NAME = "rbdm"
KERNELSPEC = {"display_name": "rbdm (Python 3)", "language": "python", "name": KERNEL_NAME}
#: seconds a chapter's cell may run (papermill's execution_timeout)
CELL_TIMEOUT_S = 900
_CHAPTER_RE = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.py$")


def check_cell_timeout(value: Any, name: str = "cell_timeout") -> int:
    """`value` if it is a positive int of seconds, else a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return value


def list_chapters(notebooks_dir: str | os.PathLike | None = None) -> list[Path]:
    """The chapter sources `NN_name.py` in `notebooks_dir`, in chapter order."""
    d = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _CHAPTER_RE.match(p.name))


def resolve_chapter(spec: str | os.PathLike, notebooks_dir: str | os.PathLike | None = None) -> Path:
    """`01`, `1`, `01_data`, `01_data.py` or a path to a `.py`/`.ipynb` -> the chapter's path."""
    s = str(spec)
    p = Path(s)
    if p.suffix in (".py", ".ipynb") and (p.exists() or os.sep in s or "/" in s):
        if not p.exists():
            raise FileNotFoundError(f"chapter {s!r}: no such file")
        return p.resolve()
    chapters = list_chapters(notebooks_dir)
    names = ", ".join(c.stem for c in chapters) or "none"
    stem = p.stem if p.suffix == ".py" else s
    if re.fullmatch(r"\d{1,2}", stem):
        hits = [c for c in chapters if c.name.startswith(f"{int(stem):02d}_")]
    else:
        hits = [c for c in chapters if c.stem == stem]
    if not hits:
        raise FileNotFoundError(f"chapter {s!r}: not found; chapters are: {names}")
    if len(hits) > 1:
        raise ValueError(f"chapter {s!r} is ambiguous: {', '.join(h.stem for h in hits)}")
    return hits[0]


def read_notebook(path: str | os.PathLike):
    """A chapter as an nbformat notebook (jupytext for `.py`, nbformat for `.ipynb`)."""
    import jupytext  # deferred: jupytext, slow to import; chapters is loaded by `rbdm --help`
    import nbformat  # deferred: nbformat, slow to import; chapters is loaded by `rbdm --help`

    path = Path(path)
    if path.suffix == ".py":
        nb = jupytext.read(path, fmt="py:percent")
    elif path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
    else:
        raise ValueError(f"chapter {path}: expected a .py (py:percent) or .ipynb file")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def chapter_parameters(nb_or_path) -> dict[str, Any]:
    """Names and default values of the chapter's `parameters` cell (literal values; non-literal
    defaults are reported as their source text)."""
    nb = read_notebook(nb_or_path) if isinstance(nb_or_path, (str, os.PathLike)) else nb_or_path
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise ValueError("chapter has no code cell tagged 'parameters'")
    out: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = ast.literal_eval(value)
                except ValueError:
                    out[t.id] = ast.unparse(value)
    return out


def parse_parameters(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """`[("fraction", "0.2"), ...]` -> {"fraction": 0.2}: values are YAML scalars (papermill's `-p`)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if len(pair) != 2:
            raise ValueError(f"parameter {pair!r}: expected NAME VALUE")
        name, text = pair
        if not name.isidentifier():
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
        try:
            out[name] = yaml.safe_load(text) if text != "" else ""
        except yaml.YAMLError as exc:
            raise ValueError(f"parameter {name}: cannot parse value {text!r} ({exc})") from None
    return out


def execute_chapter(
    chapter: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    profile: str = "quick",
    run_dir: str | os.PathLike | None = None,
    cell_timeout: int = CELL_TIMEOUT_S,
    progress: bool = True,
    quiet_kernel_progress: bool = False,
    notebooks_dir: str | os.PathLike | None = None,
    kernels: str = "portable",
) -> Path:
    """Execute one chapter with papermill; return the executed notebook's path.

    chapter:    see `resolve_chapter`; parameters: {name: value} injected by papermill (names must
                exist in the chapter's parameters cell); profile: a built-in profile name or a
                profile file (`profiles.load_profile`; injected as the `profile` parameter when
                the chapter has one).
    run_dir:    root of runs (default `$RBDM_RUN_DIR` or ./runs); the notebook goes to
                `<run_dir>/<profile name>/notebooks/NN_name.ipynb`, written only when execution succeeds
                (a failed run leaves `NN_name.failed.ipynb` beside it and raises).
    cell_timeout: seconds per cell; quiet_kernel_progress sets TQDM_DISABLE=1 in the kernel.
    kernels:    "portable" (the kernel process gets `kernel_settings.PORTABLE_KERNELS`: the same
                bits on any x86-64 CPU with AVX2, as the committed references) or "native" (the
                machine's own choice of CPU kernels and threads; faster on many cores).
    """
    # long: the signature and docstring are 26 of its lines; the body is one sequence (resolve chapter and profile, check the inputs, run papermill under the folder lock, keep a failed notebook)
    import papermill as pm  # deferred: papermill, slow to import (about 1 s)

    prof = get_profile(profile)  # a built-in name or a profile file; errors name what is wrong
    if (prof.roots or {}).get("gaze"):  # a gaze recording's file, sidecar, columns and values, before a kernel starts
        from rbdm_core.gaze.recordings import check_recording  # deferred: the gaze package (about 50 ms); chapters is loaded by `rbdm --help`

        check_recording(prof.roots["gaze"])
    if is_profile_file(profile) and str(profile) not in PROFILES:
        profile = str(Path(profile).resolve())  # the kernel runs in another folder
    kernel_env = kernel_settings.environment(kernels)
    check_cell_timeout(cell_timeout)
    path = resolve_chapter(chapter, notebooks_dir)
    nb = read_notebook(path)
    known = chapter_parameters(nb)
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(
            f"chapter {path.stem}: unknown parameter(s) {', '.join(unknown)}; "
            f"its parameters are: {', '.join(known) or 'none'}"
        )
    if "profile" in known:
        params.setdefault("profile", profile)
    root = Path(run_dir).resolve() if run_dir is not None else default_run_dir()
    store_root = root / prof.name
    out = store_root / "notebooks" / f"{path.stem}.ipynb"
    failed = out.with_name(f"{path.stem}.failed.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {"RBDM_RUN_DIR": str(root), "RBDM_FIGURE_MIME": "html", "PYTHONHASHSEED": "0",
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    env.update(kernel_env)
    env.update(child_environment())  # tests only: a planned fault in the kernel kills the whole run
    if quiet_kernel_progress:
        env["TQDM_DISABLE"] = "1"
    if os.environ.get(timing.ENV):  # the book benchmark: the kernel's activities carry the chapter's name
        env[timing.LABEL_ENV] = path.stem
    tmp = out.with_name(f".{path.stem}.running.ipynb")
    # one execution of a chapter per run folder at a time (a second `rbdm run` of it waits, then
    # runs it again on the artifacts the first left): papermill saves the running notebook cell by
    # cell, and two of them must not write one file
    with folder_lock(out.parent, f"chapter {path.stem}", name=f".{path.stem}.lock", sweep=False):
        try:
            with kernel_settings.temporary_environment(env):
                pm.execute_notebook(
                    nb, str(tmp), parameters=params, kernel_name=KERNEL_NAME, language="python",
                    progress_bar=progress, cwd=str(path.parent), execution_timeout=cell_timeout,
                    request_save_on_cell_execute=True,
                )
        except BaseException:
            if tmp.exists():
                os.replace(tmp, failed)
            raise
        os.replace(tmp, out)
        if failed.exists():
            failed.unlink()
    return out
