"""`rbdm run CHAPTER [-p NAME VALUE]... [--profile NAME_OR_FILE] [--run-dir DIR]`: execute one
chapter through papermill into `<run_dir>/<profile>/notebooks/NN_name.ipynb`."""

from __future__ import annotations

import argparse
import sys

from rbdm_core.chapters import execute_chapter, parse_parameters
from rbdm_core.commands import add_execution_options, check_cell_timeout, kernels_for


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run",
        help="execute one chapter of the book (papermill) with optional parameters",
        description="Execute one chapter (notebooks/NN_name.py) with papermill. CHAPTER is 01, "
        "01_data or a path. Values of -p are YAML scalars (-p fraction 0.2 gives a float).",
    )
    p.add_argument("chapter", help="chapter number (01), name (01_data) or path to a .py/.ipynb")
    add_execution_options(p, "override a parameter of the chapter's `parameters` cell (repeatable)")
    return p


def run(args) -> int:
    params = parse_parameters(args.parameter)
    check_cell_timeout(args)
    try:
        out = execute_chapter(args.chapter, params, profile=args.profile, run_dir=args.run_dir,
                              cell_timeout=args.cell_timeout, progress=not args.no_progress,
                              kernels=kernels_for(args))
    except Exception as exc:
        if type(exc).__name__ in ("PapermillExecutionError", "CellTimeoutError", "DeadKernelError"):
            print(f"rbdm run: chapter {args.chapter} failed: {exc}", file=sys.stderr)
            print("rbdm run: the partly executed notebook is kept as NN_name.failed.ipynb in the run folder",
                  file=sys.stderr)
            return 1
        raise
    print(out)
    return 0
