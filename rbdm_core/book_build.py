"""Building the book: every chapter executed in one run folder (`run_book`), rendered with
Jupyter Book 1.x, execution off (`build_book`), and printed to one PDF (`write_pdf`)."""

from __future__ import annotations

import html as html_lib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import nbformat

from rbdm_core.artifacts import atomic_write_text, default_run_dir
from rbdm_core.book_assets import CHROMIUM, CHROMIUM_ARGS, FIGURE_CACHE, chromium_problem, serve_folder
from rbdm_core.chapters import (
    CELL_TIMEOUT_S, NOTEBOOKS_DIR, REPO_ROOT, chapter_parameters, check_cell_timeout, execute_chapter,
    list_chapters, read_notebook, resolve_chapter,
)
from rbdm_core.faults import fault_point
from rbdm_core.profiles import get_profile
from rbdm_core.references import sanitize_notebook, write_reference

BOOK_DIR = REPO_ROOT / "book"
#: the sidebar's links to the book's pages, in the table of contents' order
NAV_RE = re.compile(r'<nav class="bd-links bd-docs-nav".*?</nav>', re.S)
NAV_LINK_RE = re.compile(r'<a class="reference internal" href="([^"#]+)[^"]*"')
#: the page `rbdm book --pdf` waits for before printing it: every image loaded, MathJax done
PRINT_READY_JS = """async () => {
  const imgs = [...document.images];
  imgs.forEach((i) => { i.loading = 'eager'; });
  await Promise.all(imgs.map((i) => i.complete ? null : new Promise((r) => { i.onload = i.onerror = r; })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
}"""


def toc_pages(html_dir: str | os.PathLike) -> list[str]:
    """The book's pages (paths relative to the HTML folder) in the order of its table of contents:
    the root page, then the sidebar's links."""
    root = Path(html_dir)
    index = (root / "index.html").read_text(encoding="utf-8")
    m = re.search(r'url=([^"\']+\.html)', index)  # index.html redirects to the root page
    first = m.group(1) if m else "index.html"
    nav = NAV_RE.search((root / first).read_text(encoding="utf-8"))
    links = NAV_LINK_RE.findall(nav.group(0)) if nav else []
    base = Path(first).parent
    pages = [first] + [os.path.normpath(base / html_lib.unescape(h)).replace(os.sep, "/") for h in links]
    return [p for p in dict.fromkeys(pages) if (root / p).exists()]


def write_pdf(html_dir: str | os.PathLike, out: str | os.PathLike, *, pages: Sequence[str] | None = None,
              log=print, browser=None) -> Path:
    """Print every page of the built book (`html_dir`; or only `pages`, paths relative to it), in the
    table of contents' order, with
    headless Chromium's print to PDF (the book's print stylesheet: static figures, no side bars,
    tables and code unclipped) and join them into one PDF at `out` (pypdf), one bookmark per page.
    Offline: the pages are served from 127.0.0.1 and any other request is refused.
    browser: a running playwright Chromium to print with (default: one launched here).
    Raises RuntimeError when Chromium cannot be driven."""
    problem = chromium_problem()
    if problem:
        raise RuntimeError(f"rbdm book --pdf needs Chromium: {problem}")
    from playwright.sync_api import sync_playwright  # deferred: playwright, only for `rbdm book --pdf`
    from pypdf import PdfReader, PdfWriter  # deferred: pypdf, only for `rbdm book --pdf`

    root = Path(html_dir)
    order = toc_pages(root)
    if pages is not None:
        unknown = sorted(set(pages) - set(order))
        if unknown:
            raise ValueError(f"write_pdf: not pages of the book: {', '.join(unknown)} (pages: {', '.join(order)})")
        order = [p for p in order if p in set(pages)]
    httpd, url = serve_folder(root)
    writer = PdfWriter()

    def print_with(b) -> None:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "data:")) else r.abort())
            for rel in order:
                page.goto(f"{url}/{rel}", wait_until="load")
                page.wait_for_load_state("networkidle")
                page.emulate_media(media="print")
                page.evaluate(PRINT_READY_JS)
                title = page.title().split(" — ")[0].strip() or rel
                pdf = page.pdf(format="A4", print_background=True, outline=False,
                               margin={"top": "15mm", "bottom": "15mm", "left": "14mm", "right": "14mm"})
                start = len(writer.pages)
                for pg in PdfReader(io.BytesIO(pdf)).pages:
                    writer.add_page(pg)
                writer.add_outline_item(title, start)
                page.emulate_media(media="screen")
                log(f"book: printed {rel} ({len(writer.pages) - start} page(s))")
        finally:
            page.close()

    try:
        if browser is not None:
            print_with(browser)
        else:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    print_with(b)
                finally:
                    b.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with open(tmp, "wb") as f:
        writer.write(f)
    tmp.replace(out)
    return out


def clear_build(build_dir: str | os.PathLike) -> None:
    """Empty a book's `_build` folder but for its figure cache (FIGURE_CACHE: static images keyed
    by what they depend on, so none can be stale)."""
    build = Path(build_dir)
    if not build.exists():
        return
    for child in build.iterdir():
        if child.name == FIGURE_CACHE and child.is_dir():
            continue
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


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
    clear_build(book / "_build")  # a clean build: no stale pages of removed chapters
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
    # long: the signature and docstring are 27 of its lines; the body is the book's steps in order, a few lines each
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
