"""Sanitising executed chapters into the committed nbval references (and the book's copies).

`sanitize_notebook` drops what changes from run to run (papermill metadata, progress bars,
widget outputs, absolute paths, random ids); `write_reference` writes the result as the committed
`notebooks/NN_name.ipynb`, refusing one over `MAX_NOTEBOOK_BYTES`.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

import nbformat

from rbdm_core.artifacts import atomic_write_text
from rbdm_core.chapters import KERNELSPEC, NOTEBOOKS_DIR, REPO_ROOT

#: committed notebooks must stay well under this (bytes)
MAX_NOTEBOOK_BYTES = 1_000_000
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
    # long: one pass over the cells with one short rule per kind of output; split, the list of what is dropped would be scattered
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
    total = len(nbformat.writes(nb).encode())
    sizes = [(i, len(json.dumps(c.get("outputs", [])).encode())) for i, c in enumerate(nb.cells)]
    return total, sorted(sizes, key=lambda t: -t[1])


def write_reference(executed: str | os.PathLike, notebooks_dir: str | os.PathLike | None = None,
                    run_dir: str | os.PathLike | None = None) -> Path:
    """Sanitise an executed chapter and write it as the committed `notebooks/NN_name.ipynb`
    (nbval's reference, the jupytext pair of NN_name.py). Raises ValueError when it is larger
    than MAX_NOTEBOOK_BYTES, naming the largest cells."""
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
