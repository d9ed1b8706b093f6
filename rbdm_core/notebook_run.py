"""Executing the book's chapters (papermill), sanitising executed notebooks, building the book.

A chapter is `notebooks/NN_name.py` (jupytext py:percent, the source of truth) whose first code
cell is tagged `parameters`. `execute_chapter` runs it through papermill with the `rbdm` kernel and
a per-cell timeout into `<run_dir>/<profile>/notebooks/NN_name.ipynb`; the kernel sees
`RBDM_RUN_DIR=<run_dir>` (chapters keep their artifacts in `<run_dir>/<profile>/<kind>/<key>/`
through `rbdm_core.pipeline.Pipeline`, shared by all chapters of a run) and
`RBDM_FIGURE_MIME=html` (see `rbdm_core.viz`). `sanitize_notebook` turns an executed notebook into
the committed reference (nbval) or the copy the book renders. `build_book` renders executed
notebooks with Jupyter Book 1.x (execution off).
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from rbdm_core import kernel_settings
from rbdm_core.artifacts import atomic_write_text, default_run_dir
from rbdm_core import timing
from rbdm_core.faults import child_environment, fault_point
from rbdm_core.profiles import PROFILES

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
BOOK_DIR = REPO_ROOT / "book"
KERNEL_NAME = "rbdm"
KERNELSPEC = {"display_name": "rbdm (Python 3)", "language": "python", "name": KERNEL_NAME}
CELL_TIMEOUT_S = 900
#: committed notebooks must stay well under this (bytes)
MAX_NOTEBOOK_BYTES = 1_000_000
_CHAPTER_RE = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.py$")


# --------------------------------------------------------------------------- chapters
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
    import jupytext
    import nbformat

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
    import yaml

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
    import papermill as pm

    from rbdm_core.profiles import get_profile, is_profile_file

    prof = get_profile(profile)  # a built-in name or a profile file; errors name what is wrong
    if (prof.roots or {}).get("gaze"):  # a gaze recording's file, sidecar, columns and values, before a kernel starts
        from rbdm_core.gaze.recordings import check_recording

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
    from rbdm_core.locks import folder_lock

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


# --------------------------------------------------------------------------- sanitising
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: one line of a progress bar: tqdm (`42%|###  | 5/12 [..]`), Keras (`5/12 [==>...] - ETA`)
_PROGRESS_LINE_RE = re.compile(r"\d+%\||\|\s*\d+/\d+\s*\[|\d+/\d+ \[[=>.]*\]|it/s\]|s/it\]|\?it/s")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
_CELL_META_DROP = ("papermill", "execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")
_NB_META_DROP = ("papermill", "widgets", "varInspector", "toc")


def strip_progress(text: str) -> str:
    """Stream text without progress bars: ANSI codes removed, each line reduced to what a terminal
    shows after its last carriage return, progress-bar lines (tqdm, Keras) dropped."""
    text = _ANSI_RE.sub("", text)
    lines = text.split("\n")
    kept = []
    for i, line in enumerate(lines):
        shown = line.rsplit("\r", 1)[-1]
        if _PROGRESS_LINE_RE.search(shown) or (not shown.strip() and "\r" in line):
            continue
        kept.append(shown)
    return "\n".join(kept)


def _replace_paths(text: str, paths: Mapping[str, str]) -> str:
    for real, placeholder in paths.items():
        if real:
            text = text.replace(real, placeholder)
    return text


def _walk_strings(obj: Any, fn) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, list):
        return [_walk_strings(v, fn) for v in obj]
    if isinstance(obj, dict):
        return {k: _walk_strings(v, fn) for k, v in obj.items()}
    return obj


def sanitize_notebook(nb, *, paths: Mapping[str, str] | None = None, drop_injected: bool = True):
    """A cleaned copy of an executed notebook (the input is not modified).

    Drops: papermill's injected-parameters cell (so the notebook pairs with its `.py` again),
    per-cell execution/papermill metadata, notebook-level papermill metadata and widget state,
    progress-bar streams (stdout or stderr with carriage returns, ANSI codes or tqdm counters),
    ipywidgets outputs (their state is not saved), output metadata timing. Replaces: each `paths`
    key (an absolute folder) by its placeholder, random uuids (e.g. plotly's own div ids) by stable
    `rbdm-id-<k>` in order of appearance. Renumbers execution counts 1, 2, ... Sets the `rbdm`
    kernelspec.
    """
    import nbformat

    nb = copy.deepcopy(nb)
    default_paths = {str(REPO_ROOT): "<repo>", str(Path.home()): "<home>"}
    all_paths = dict(sorted({**default_paths, **(paths or {})}.items(), key=lambda kv: -len(kv[0])))
    ids: dict[str, str] = {}

    def stable_ids(s: str) -> str:
        return _UUID_RE.sub(lambda m: ids.setdefault(m.group(0), f"rbdm-id-{len(ids)}"), s)

    def clean(s: str) -> str:
        return stable_ids(_replace_paths(s, all_paths))

    cells = []
    count = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if drop_injected and "injected-parameters" in tags:
            continue
        for k in _CELL_META_DROP:
            cell.metadata.pop(k, None)
        if not cell.metadata.get("tags", True):  # papermill adds `tags: []` everywhere
            cell.metadata.pop("tags")
        if cell.cell_type == "code":
            # merge consecutive stream outputs of one name first (a progress bar arrives in pieces)
            merged: list = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream":
                    o["text"] = "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                    if (merged and merged[-1].get("output_type") == "stream"
                            and merged[-1].get("name") == o.get("name")):
                        merged[-1]["text"] += o["text"]
                        continue
                merged.append(o)
            outs = []
            for o in merged:
                data = o.get("data", {})
                if WIDGET_VIEW_MIME in data or WIDGET_STATE_MIME in data:
                    continue
                if "metadata" in o:
                    o["metadata"] = {k: v for k, v in o["metadata"].items() if k not in ("execution", "papermill")}
                if o.get("output_type") == "stream":
                    text = strip_progress(o["text"])
                    if not text.strip():
                        continue
                    o["text"] = clean(text)
                elif o.get("output_type") == "error":
                    o["traceback"] = [clean(t) for t in o.get("traceback", [])]
                    o["evalue"] = clean(o.get("evalue", ""))
                if "data" in o:
                    o["data"] = _walk_strings(dict(o["data"]), clean)
                outs.append(o)
            merged = outs
            cell["outputs"] = merged
            if cell.get("execution_count") is not None or merged:
                count += 1
                cell["execution_count"] = count
                for o in merged:
                    if o.get("output_type") == "execute_result":
                        o["execution_count"] = count
        cells.append(cell)
    for k, cell in enumerate(cells):  # stable ids (jupytext makes random ones on every read)
        cell["id"] = f"cell-{k:03d}"
    nb.cells = cells
    for k in _NB_META_DROP:
        nb.metadata.pop(k, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    li = nb.metadata.get("language_info")
    if isinstance(li, dict):
        nb.metadata["language_info"] = {k: li[k] for k in ("name",) if k in li}
    nbformat.validate(nb)
    return nb


def notebook_size_report(nb) -> tuple[int, list[tuple[int, int]]]:
    """(total bytes of the notebook JSON, [(cell index, output bytes)] largest first)."""
    import nbformat

    total = len(nbformat.writes(nb).encode())
    sizes = [(i, len(json.dumps(c.get("outputs", [])).encode())) for i, c in enumerate(nb.cells)]
    return total, sorted(sizes, key=lambda t: -t[1])


def write_reference(executed: str | os.PathLike, notebooks_dir: str | os.PathLike | None = None,
                    run_dir: str | os.PathLike | None = None) -> Path:
    """Sanitise an executed chapter and write it as the committed `notebooks/NN_name.ipynb`
    (nbval's reference, the jupytext pair of NN_name.py). Raises ValueError when it is larger
    than MAX_NOTEBOOK_BYTES, naming the largest cells."""
    import nbformat

    executed = Path(executed)
    nb = nbformat.read(executed, as_version=4)
    paths = {str(Path(run_dir).resolve()): "<run_dir>"} if run_dir else {}
    clean = sanitize_notebook(nb, paths=paths)
    total, sizes = notebook_size_report(clean)
    if total > MAX_NOTEBOOK_BYTES:
        top = ", ".join(f"cell {i}: {b // 1000} kB" for i, b in sizes[:3])
        raise ValueError(f"{executed.name}: sanitised notebook is {total // 1000} kB, over the "
                         f"{MAX_NOTEBOOK_BYTES // 1000} kB limit ({top})")
    d = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    dest = d / executed.name
    atomic_write_text(dest, nbformat.writes(clean) + "\n")
    os.chmod(dest, 0o644)  # mkstemp's 0600 is too private for a committed file
    return dest


# --------------------------------------------------------------------------- the book
def build_book(
    notebooks: Sequence[str | os.PathLike],
    *,
    book_dir: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    quiet: bool = True,
) -> Path:
    """Render executed notebooks with Jupyter Book 1.x (execution off) into `<book>/_build/html`.

    The notebooks are sanitised (progress bars, widget outputs, paths) and copied into the
    gitignored `<book>/_chapters/` folder that `_toc.yml` globs; stale copies are removed first.
    Returns the html folder. Raises RuntimeError with the build log's tail on failure."""
    import nbformat

    book = Path(book_dir) if book_dir is not None else BOOK_DIR
    if not (book / "_config.yml").exists():
        raise FileNotFoundError(f"{book}: no _config.yml (not a Jupyter Book folder)")
    chapters = book / "_chapters"
    if chapters.exists():
        shutil.rmtree(chapters)
    chapters.mkdir(parents=True)
    paths = {str(Path(run_dir).resolve()): "<run_dir>"} if run_dir else {}
    for src in notebooks:
        src = Path(src)
        if not src.exists():
            raise FileNotFoundError(f"build_book: executed notebook {src} not found")
        nb = sanitize_notebook(nbformat.read(src, as_version=4), paths=paths)
        nbformat.write(nb, chapters / src.name)
    if (book / "_build").exists():  # a clean build: no stale pages of removed chapters
        shutil.rmtree(book / "_build")
    cmd = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
           "build", str(book), "--builder", "html"]
    if quiet:
        cmd.append("--quiet")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(book))
    log = proc.stdout + proc.stderr
    html = book / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        raise RuntimeError(f"jupyter-book build failed (exit {proc.returncode}):\n{log[-4000:]}")
    warnings = [ln for ln in log.splitlines() if "WARNING" in ln]
    if warnings:
        print(f"book: {len(warnings)} Sphinx warning(s):", *warnings[:20], sep="\n  ", file=sys.stderr)
    return html


def run_book(
    *,
    profile: str = "quick",
    run_dir: str | os.PathLike | None = None,
    execute: bool = True,
    update_references: bool = False,
    notebooks_dir: str | os.PathLike | None = None,
    book_dir: str | os.PathLike | None = None,
    cell_timeout: int = CELL_TIMEOUT_S,
    progress: bool = True,
    log=print,
    parameters: Mapping[str, Any] | None = None,
    kernels: str = "portable",
    chapters: Sequence[str] | None = None,
    build: bool = True,
) -> tuple[Path | None, list[tuple[str, float]]]:
    """Execute every chapter in order (one run dir), then build the book.

    execute=False builds from the committed `notebooks/NN_name.ipynb` instead. update_references
    (quick profile only) writes the sanitised executed notebooks back as the committed ones.
    parameters: {name: value} given to every chapter whose parameters cell declares `name` (e.g.
    `ferplus_root`); a name no chapter declares is an error. kernels: see `execute_chapter`.
    chapters: only these chapters (`resolve_chapter` specs such as "01", "09_nuisance"), in book
    order, are executed and built (default: all).
    build=False executes the chapters only (the executed notebooks are in
    `<run>/<profile>/notebooks/`; no HTML, html folder None).
    Returns (html folder, [(chapter, seconds)]), and writes `<run>/<profile>/timings.json`."""
    check_cell_timeout(cell_timeout)
    if update_references and profile != "quick":
        raise ValueError("--update-references needs --profile quick (the references are the quick profile)")
    if update_references and kernels != "portable":
        raise ValueError("--update-references needs --kernels portable (the references must match on any CPU)")
    if update_references and not execute:
        raise ValueError("--update-references needs execution (drop --no-execute)")
    if not build and not execute:
        raise ValueError("--no-build needs execution (drop --no-execute): there would be nothing to do")
    nbdir = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    subset = chapters
    chapters = list_chapters(nbdir)
    if not chapters:
        raise FileNotFoundError(f"{nbdir}: no chapters (NN_name.py)")
    if subset is not None:
        wanted = {resolve_chapter(c, nbdir) for c in subset}
        chapters = [c for c in chapters if c in wanted]
        if not chapters:
            raise ValueError("chapters: expected at least one chapter of the book")
    params = dict(parameters or {})
    declared = {c: set(chapter_parameters(read_notebook(c))) for c in chapters} if params else {}
    unused = sorted(set(params) - set().union(*declared.values())) if params else []
    if unused:
        raise ValueError(f"parameter(s) {', '.join(unused)}: no chapter declares them")
    root = Path(run_dir).resolve() if run_dir is not None else default_run_dir()
    timings: list[tuple[str, float]] = []
    executed: list[Path] = []
    if execute:
        for ch in chapters:
            log(f"book: executing {ch.stem} ({profile})")
            t0 = time.perf_counter()
            mine = {k: v for k, v in params.items() if k in declared.get(ch, ())}
            out = execute_chapter(ch, mine, profile=profile, run_dir=root, cell_timeout=cell_timeout,
                                  progress=progress, quiet_kernel_progress=update_references,
                                  notebooks_dir=nbdir, kernels=kernels)
            dt = time.perf_counter() - t0
            timings.append((ch.stem, dt))
            log(f"book: {ch.stem} done in {dt:.1f} s")
            executed.append(out)
            if update_references:
                log(f"book: reference written: {write_reference(out, nbdir, root)}")
            fault_point("chapter")  # tests only: $RBDM_FAULT_AFTER (rbdm_core.faults)
        from rbdm_core.profiles import get_profile

        atomic_write_text(root / get_profile(profile).name / "timings.json",
                          json.dumps({k: round(v, 2) for k, v in timings}, indent=1))
    else:
        missing = [c.with_suffix(".ipynb").name for c in chapters if not c.with_suffix(".ipynb").exists()]
        if missing:
            raise FileNotFoundError(f"{nbdir}: committed executed notebook(s) missing: {', '.join(missing)} "
                                    "(run `rbdm book --update-references`)")
        executed = [c.with_suffix(".ipynb") for c in chapters]
    if not build:
        return None, timings
    t0 = time.perf_counter()
    html = build_book(executed, book_dir=book_dir, run_dir=root if execute else None)
    timings.append(("(build)", time.perf_counter() - t0))
    return html, timings
