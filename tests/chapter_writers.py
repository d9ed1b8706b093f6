"""Tiny py:percent chapters for the chapter-execution and book-build tests."""

from __future__ import annotations

from pathlib import Path


def write_chapter(folder: Path, name: str, body: str, params: str = 'profile = "quick"\nrun_dir = None\nseed = 0') -> Path:
    """A tiny py:percent chapter: a title, a parameters cell, then `body`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(f'# %% [markdown]\n# # {name}\n\n# %% tags=["parameters"]\n{params}\n\n# %%\n{body}\n')
    return path


def stdout_of(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("name") == "stdout")
