"""Where `rbdm book --no-execute`'s time goes: the HTML build from the committed chapters, in a
temporary copy of book/, with the figure cache empty (cold) and filled by the build before (warm),
and, timed alone on the built pages, the two parts of the asset step that the cache is about: every
figure's static SVG (plotly.js in headless Chromium, no cache) and every formula's SVG (MathJax in
node). Sphinx and the rest is the cold build less those two. Rounds alternate cold and warm, so both
meet the same load; the ratio is the medians'.

    python -m benchmarks book_html [--rounds 3]

Needs Chromium (RBDM_WITH_BROWSER=1 bash scripts/setup.sh) and the vendored MathJax. Nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rbdm_core import book_assets as ba
from rbdm_core.book_build import BOOK_DIR, run_book

#: the static images a built page carries after its figure divs (removed to read the figures again)
STATIC_IMG_RE = re.compile(r'<img class="rbdm-static"[^>]*>')


def copy_book(dest: Path) -> Path:
    """book/ without build outputs, its vendored JavaScript linked in (as tests/test_book.py does)."""
    shutil.copytree(BOOK_DIR, dest, ignore=shutil.ignore_patterns("_build", "_chapters", "_vendor", "node_modules"))
    if (BOOK_DIR / "_vendor").exists():
        (dest / "_vendor").symlink_to(BOOK_DIR / "_vendor", target_is_directory=True)
    return dest


def build_seconds(book: Path) -> float:
    t0 = time.perf_counter()
    run_book(execute=False, book_dir=book, progress=False, log=lambda m: None)
    return time.perf_counter() - t0


def parts_seconds(html: Path) -> dict[str, tuple[float, int]]:
    """{part: (seconds, count)} of the static figures (uncached) and formulas of a built book."""
    texts = {p.relative_to(html).as_posix(): STATIC_IMG_RE.sub("", p.read_text(encoding="utf-8"))
             for p in ba._pages(html)}
    figs = [ba.Figure(rel + "\0" + f.fid, f.spec, f.width, f.height) for rel, t in texts.items()
            for f in ba.page_figures(t)]
    bundle = sorted((html / "_static" / "vendor").glob("plotly*.min.js"))[0]
    t0 = time.perf_counter()
    ba.render_figure_images(figs, bundle)
    t1 = time.perf_counter()
    sources = [s for t in texts.values() for s in ba.math_sources(t)]
    ba.prerender_math(sources, BOOK_DIR / "_vendor" / "node_modules" / "mathjax")
    t2 = time.perf_counter()
    return {"static figures (Chromium)": (t1 - t0, len(figs)), "formulas (MathJax in node)": (t2 - t1, len(set(sources)))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks book_html", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="cold and warm builds, alternating (default 3)")
    args = ap.parse_args(argv)
    problem = ba.chromium_problem()
    if problem:
        raise SystemExit(f"book_html: {problem}")
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="rbdm-bench-book-html-") as tmp:
        book = copy_book(Path(tmp) / "book")
        cache = book / "_build" / ba.FIGURE_CACHE
        for k in range(args.rounds):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(build_seconds(book))
            warm.append(build_seconds(book))
            print(f"round {k + 1}: cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s")
        parts = parts_seconds(book / "_build" / "html")
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"\nrbdm book --no-execute, median of {args.rounds}: cold {c:.1f} s, warm {w:.1f} s "
          f"(warm/cold {w / c:.2f})")
    print("the cold build's parts, timed alone once:")
    for name, (s, n) in parts.items():
        print(f"  {name:28s} {s:5.1f} s  ({n})")
    rest = c - sum(s for s, _ in parts.values())
    print(f"  {'Sphinx and the rest':28s} {rest:5.1f} s  (the cold median less the two above)")


if __name__ == "__main__":
    main()
