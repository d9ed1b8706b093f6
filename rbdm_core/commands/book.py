"""`rbdm book [--profile NAME_OR_FILE] [--run-dir DIR] [-p NAME VALUE]... [--chapters NN,...] [--no-execute]
[--no-build] [--update-references] [--pdf [PATH]]`: execute every chapter (or those of --chapters) in
order, report the time per chapter, build the HTML book (--no-build: the executed chapters only, in
<run dir>/<profile>/notebooks/); --pdf also prints the built book to one PDF (headless Chromium,
offline; default book/_build/pdf/book.pdf)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rbdm_core.artifacts import default_run_dir
from rbdm_core.chapters import parse_parameters
from rbdm_core.commands import add_execution_options, check_cell_timeout, kernels_for
from rbdm_core.profiles import get_profile


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "book",
        help="execute all chapters and build the HTML book (book/_build/html)",
        description="Execute notebooks/NN_name.py in order through papermill (one run folder, so "
        "later chapters reuse earlier artifacts), then build the book with Jupyter Book 1.x.",
    )
    add_execution_options(p, "a parameter for every chapter that declares it, e.g. -p ferplus_root /data/ferplus "
                          "(repeatable; values are YAML scalars)")
    p.add_argument("--no-execute", action="store_true",
                   help="build from the committed executed notebooks (notebooks/NN_name.ipynb)")
    p.add_argument("--chapters", metavar="NN[,NN...]",
                   help="execute and build only these chapters, e.g. 01,09 (default: every chapter)")
    p.add_argument("--no-build", action="store_true",
                   help="execute the chapters only, into <run dir>/<profile>/notebooks/NN_name.ipynb, and skip "
                   "the HTML build (a check that every chapter runs, e.g. on the real corpora)")
    p.add_argument("--pdf", nargs="?", const="", default=None, metavar="PATH",
                   help="also write the built book as one PDF (every page in the table of contents' order, "
                   "printed by headless Chromium with the book's print stylesheet; default "
                   "<book>/_build/pdf/book.pdf); needs Debian's chromium (RBDM_WITH_BROWSER=1 bash scripts/setup.sh)")
    p.add_argument("--update-references", action="store_true",
                   help="maintainers: write the sanitised executed notebooks back as the committed "
                   "references for nbval (quick profile only)")
    return p


def run(args) -> int:
    from rbdm_core.book_build import run_book  # deferred: keeps `rbdm --help` fast: book_build loads nbformat (about 0.5 s)
    check_cell_timeout(args)
    if args.pdf is not None and args.no_build:
        print("rbdm book: --pdf needs the HTML build (drop --no-build)", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        html, timings = run_book(profile=args.profile, run_dir=args.run_dir, execute=not args.no_execute,
                                 update_references=args.update_references, cell_timeout=args.cell_timeout,
                                 progress=not args.no_progress, log=log,
                                 parameters=parse_parameters(args.parameter), kernels=kernels_for(args),
                                 chapters=args.chapters.split(",") if args.chapters else None,
                                 build=not args.no_build)
    except Exception as exc:
        if type(exc).__name__ in ("PapermillExecutionError", "CellTimeoutError", "DeadKernelError", "RuntimeError"):
            print(f"rbdm book: failed: {exc}", file=sys.stderr)
            return 1
        raise
    total = sum(t for _, t in timings)
    print(f"{'step':<28}{'seconds':>10}")
    for name, t in timings:
        print(f"{name:<28}{t:>10.1f}")
    print(f"{'total':<28}{total:>10.1f}")
    if html is not None:
        print(f"book: {html / 'index.html'}")
        if args.pdf is not None:
            from rbdm_core.book_build import write_pdf  # deferred: as run_book above

            try:
                pdf = write_pdf(html, args.pdf or html.parent / "pdf" / "book.pdf", log=log)
            except RuntimeError as exc:
                print(f"rbdm book: failed: {exc}", file=sys.stderr)
                return 1
            print(f"pdf: {pdf}")
    else:
        root = Path(args.run_dir).resolve() if args.run_dir else default_run_dir()
        print(f"chapters: {root / get_profile(args.profile).name / 'notebooks'} (no HTML built: --no-build)")
    return 0
