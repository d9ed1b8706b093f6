"""The built book: offline assets, and every page opened in headless Chromium.

The book is built with `--no-execute` from the committed, executed notebooks (notebooks/NN_*.ipynb)
into a temporary copy of book/. The browser check serves the HTML from 127.0.0.1 and fails on a
JavaScript error, on a request to any other host, and on a chapter page that renders fewer plotly
figures than its notebook declares. With $RBDM_SCREENSHOTS set, screenshots of every page, figure and
table go there, for a person to look at; none otherwise: they check nothing, and took 31 s of the
102 s of the three tests that make them (one run, 2026-12-07).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import numpy as np
import pytest

from rbdm_core.book_build import BOOK_DIR, run_book
from rbdm_core.chapters import REPO_ROOT, list_chapters
from rbdm_core.references import MAX_NOTEBOOK_BYTES
from rbdm_core import viz
from rbdm_core.viz.explorers import SLIDER_LABELS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EXTERNAL_ASSET_RE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+\.(?:js|css)(?:[?#][^"']*)?["']""", re.I)
FIG_ID_RE = re.compile(r'<div id="(rbdm-fig-[A-Za-z0-9_-]+)"')


def copy_book(dest: Path) -> Path:
    """book/ without build outputs, with its vendored JavaScript linked in."""
    src = BOOK_DIR
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("_build", "_chapters", "_vendor", "node_modules"))
    if (src / "_vendor").exists():
        (dest / "_vendor").symlink_to(src / "_vendor", target_is_directory=True)
    return dest


def declared_figures(nb_path: Path) -> list[str]:
    """Ids of the figures a notebook's outputs declare (viz.show's `rbdm-fig-<name>` divs)."""
    nb = nbformat.read(nb_path, as_version=4)
    ids = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            ids += FIG_ID_RE.findall(str(out.get("data", {}).get("text/html", "")))
    return ids


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    chapters = list_chapters()
    missing = [c.with_suffix(".ipynb").name for c in chapters if not c.with_suffix(".ipynb").exists()]
    if not chapters or missing:
        pytest.fail(f"no committed executed chapters to build from (missing: {missing or 'all'}); "
                    "run `rbdm book --update-references`")
    book = copy_book(tmp_path_factory.mktemp("book") / "book")
    html, _ = run_book(execute=False, book_dir=book, progress=False, log=lambda m: None)
    return html, chapters


def test_book_builds_every_chapter_and_no_page_loads_remote_assets(built_book):
    html, chapters = built_book
    pages = sorted(html.rglob("*.html"))
    for ch in chapters:
        page = html / "_chapters" / f"{ch.stem}.html"
        assert page.exists(), f"chapter page {page.name} missing from the build"
    offenders = {}
    for page in pages:
        hits = EXTERNAL_ASSET_RE.findall(page.read_text(errors="replace"))
        if hits:
            offenders[str(page.relative_to(html))] = hits[:3]
    assert not offenders, f"pages load remote scripts/styles: {offenders}"
    # the vendored files the pages point at exist in the build
    # the cartesian partial bundle (not the full 4.8 MB one), and the figures' fitting script
    assert 1_000_000 < (html / "_static" / "vendor" / "plotly-cartesian.min.js").stat().st_size < 2_000_000
    assert not (html / "_static" / "vendor" / "plotly.min.js").exists()
    assert (html / "_static" / "rbdm-figures.js").exists()
    # the speech rule engine's locale that MathJax's accessibility explorer loads
    assert (html / "_static" / "vendor" / "mathjax" / "sre" / "mathmaps" / "en.json").exists()
    assert (html / "_static" / "vendor" / "mathjax" / "tex-mml-chtml.js").exists()
    # every declared figure id is in its page, exactly once
    for ch in chapters:
        text = (html / "_chapters" / f"{ch.stem}.html").read_text()
        for fid in declared_figures(ch.with_suffix(".ipynb")):
            assert text.count(f'<div id="{fid}"') == 1, f"{ch.stem}: figure {fid} not exactly once in the page"


def test_committed_notebooks_are_small_sanitised_pairs():
    import jupytext

    for ch in list_chapters():
        ipynb = ch.with_suffix(".ipynb")
        assert ipynb.exists(), f"{ipynb.name} missing (rbdm book --update-references)"
        assert ipynb.stat().st_size < MAX_NOTEBOOK_BYTES, f"{ipynb.name} is {ipynb.stat().st_size} bytes"
        text = ipynb.read_text()
        assert "plotly.js v" not in text and "cdn.plot.ly" not in text, f"{ipynb.name} inlines plotly.js"
        assert "papermill" not in json.loads(text)["metadata"]
        assert "injected-parameters" not in text
        assert str(REPO_ROOT) not in text, f"{ipynb.name} holds an absolute repository path"
        # the .ipynb is the jupytext pair of the .py: same cells, same sources
        src = jupytext.read(ch, fmt="py:percent")
        ref = nbformat.read(ipynb, as_version=4)
        assert [(c.cell_type, c.source) for c in src.cells] == [(c.cell_type, c.source) for c in ref.cells]


# --------------------------------------------------------------------------- browser
def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        msg = f"{CHROMIUM} not installed (RBDM_WITH_BROWSER=1 bash scripts/setup.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " and CI=true: the browser check is required in CI")
        pytest.skip(msg)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    """A static file server on 127.0.0.1 serving a directory set via `server.root`."""

    class State:
        root = Path(".")

    state = State()

    class Handler(_QuietHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(state.root), **kw)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _screenshots(*sub: str) -> Path | None:
    """$RBDM_SCREENSHOTS (joined with `sub`, created), or None when it is not set."""
    if not os.environ.get("RBDM_SCREENSHOTS"):
        return None
    shots = Path(os.environ["RBDM_SCREENSHOTS"], *sub)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


DESKTOP, PHONE = (1280, 900), (390, 844)


def _open(browser, url: str, problems: list[str], viewport=DESKTOP, touch: bool = False,
          received: dict[str, int] | None = None):
    """A page in a browser context of its own (no cache shared with another page) that records JS
    errors, console errors and requests leaving 127.0.0.1 (aborted) into `problems`, and the bytes of
    every response into `received` when given; `touch`: a touch screen (coarse pointer, mobile)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, has_touch=touch, is_mobile=touch)
    page = ctx.new_page()
    if received is not None:
        def record(r):
            try:
                received[r.url] = len(r.body())
            except Exception:  # redirects and aborted requests have no body
                pass
        page.on("response", record)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith("data:") or host == "127.0.0.1":
            r.continue_()
        else:
            problems.append(f"request outside the book: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page


class Opened:
    """One page of the built book as the module's checks share it: the playwright `page`, the
    `problems` its load (and anything after) recorded, and `received` {url: bytes} of its responses."""

    def __init__(self, page, problems: list[str], received: dict[str, int]):
        self.page, self.problems, self.received = page, problems, received


@pytest.fixture(scope="module")
def opened(built_book, server, browser):
    """opened(rel, viewport=DESKTOP) -> Opened: the built book's page `rel` (a path under its root)
    at that viewport, loaded once for all of this module's checks (loading a chapter and drawing its
    figures is most of a browser check's time, and each check used to load every page again), with
    its declared figures drawn, scrolled back to the top on every call. A viewport narrower than
    992 px is a phone: a touch screen (coarse pointer, mobile). A check that changes a page (a click,
    a navigation) opens a page of its own."""
    html, chapters = built_book
    _chromium_or_skip()
    declared = {f"_chapters/{c.stem}.html": declared_figures(c.with_suffix(".ipynb")) for c in chapters}
    cache: dict[tuple, Opened] = {}

    def get(rel: str, viewport=DESKTOP) -> Opened:
        key = (rel, tuple(viewport))
        if key not in cache:
            server.root = html
            problems: list[str] = []
            received: dict[str, int] = {}
            page = _open(browser, f"{server.url}/{rel}", problems, viewport=viewport, touch=viewport[0] < 992,
                         received=received)
            want = declared.get(rel, [])
            if want:
                page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {len(want)}",
                                       timeout=20_000)
            cache[key] = Opened(page, problems, received)
        o = cache[key]
        o.page.evaluate("window.scrollTo(0, 0)")
        return o

    yield get
    for o in cache.values():
        o.page.context.close()


def _check_pages(opened, pages, check, viewport=DESKTOP) -> dict[str, list[str]]:
    """Each of `pages` (paths under the book's root) as `opened` holds it, given to `check(rel, page)
    -> list of problems`: {page: problems} for the pages with any, the check's and those its load
    recorded (JS and console errors, requests outside the book)."""
    failures: dict[str, list[str]] = {}
    for rel in pages:
        o = opened(rel, viewport)
        problems = list(o.problems) + check(rel, o.page)
        if problems:
            failures[rel] = problems
    return failures


@pytest.mark.browser
def test_every_page_renders_in_chromium_without_errors(built_book, opened):
    html, chapters = built_book
    shots = _screenshots()
    declared = {f"_chapters/{c.stem}.html": declared_figures(c.with_suffix(".ipynb")) for c in chapters}
    pages = [p.relative_to(html).as_posix() for p in sorted(html.rglob("*.html"))
             if not p.relative_to(html).as_posix().startswith(("_static/", "_sources/"))]

    def check(rel, page):
        want = declared.get(rel, [])
        rendered = page.eval_on_selector_all(".js-plotly-plot", "els => els.map(e => e.id)")
        lost = sorted(set(want) - set(rendered))
        if shots:
            page.screenshot(path=str(shots / (rel.replace("/", "__").replace(".html", ".png"))), full_page=True)
        return [f"figures declared but not rendered: {lost}"] if lost else []

    failures = _check_pages(opened, pages, check)
    assert not failures, json.dumps(failures, indent=1)


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [DESKTOP, PHONE])
def test_sidebar_toggles_work_on_desktop_and_phone(built_book, server, browser, width, height):
    """The visible "chapters" button hides/shows the side bar on a wide screen and opens the
    chapter list as a drawer on a phone; the theme's duplicate header (second search box) is gone."""
    html, chapters = built_book
    server.root = html
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{server.url}/_chapters/{chapters[0].stem}.html", wait_until="load")
    page.wait_for_load_state("networkidle")
    assert not page.locator("#pst-header").is_visible()
    assert page.locator(".search-button-field:visible").count() <= 1  # one search box (the side bar's), not two
    toggle = page.locator(".bd-header-article .primary-toggle")
    assert toggle.is_visible()
    if width >= 992:
        hidden = "() => document.querySelector('#pst-primary-sidebar').classList.contains('pst-sidebar-hidden')"
        before = page.evaluate(hidden)
        toggle.click()
        assert page.evaluate(hidden) != before
        toggle.click()
        assert page.evaluate(hidden) == before
    else:
        assert not page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open")
        toggle.click()
        assert page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open")
        links = page.locator("#pst-primary-sidebar-modal a.reference")
        assert links.count() >= len(chapters) and links.first.is_visible()
        page.keyboard.press("Escape")
        assert not page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open")
        outline = page.locator(".bd-header-article .secondary-toggle")
        outline.click()
        assert page.locator("#pst-secondary-sidebar-modal").evaluate("d => d.open")
    page.close()


#: Problems of one plotly figure (its div `gd`) as a reader sees them: text outside the figure (cut
#: off), tick labels over a plot area (a neighbour's labels), axis titles over tick labels, and
#: titles, annotations and menus overlapping one another. Boxes from getBoundingClientRect.
FIGURE_CHECK_JS = """(gd) => {
  const fig = gd.getBoundingClientRect();
  const box = (e) => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0 ? b : null; };
  const inside = (b) => b.left >= fig.left - 1 && b.right <= fig.right + 1 && b.top >= fig.top - 1
                        && b.bottom <= fig.bottom + 1;
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 2
                            && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 2;
  const out = [];
  const areas = [...gd.querySelectorAll('.draglayer .nsewdrag')].map(box).filter(b => b);
  const all = '.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle, .annotation-text, .cbtitle text, .legendtext';
  for (const t of gd.querySelectorAll(all)) {
    const b = box(t); if (b && !inside(b)) out.push(`outside the figure: "${t.textContent}"`);
  }
  const ticks = [...gd.querySelectorAll('.xtick text, .ytick text')].map(e => [e.textContent, box(e)]).filter(x => x[1]);
  for (const [t, b] of ticks) if (areas.some(a => overlap(a, b))) out.push(`tick label over a plot: "${t}"`);
  for (const t of gd.querySelectorAll('.g-xtitle text, .g-ytitle text')) {
    const b = box(t); if (b && ticks.some(k => overlap(k[1], b))) out.push(`axis title over tick labels: "${t.textContent}"`);
  }
  const labels = [...gd.querySelectorAll('.annotation-text, .gtitle, .updatemenu-header-group')]
    .map(e => [e.textContent || 'menu', box(e)]).filter(x => x[1]);
  for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++)
    if (overlap(labels[i][1], labels[j][1])) out.push(`overlap: "${labels[i][0]}" / "${labels[j][0]}"`);
  return out;
}"""

TABLE_CHECK_JS = """(t) => {
  const out = [];
  const td = t.querySelector('tbody td:last-child'), th = t.querySelector('thead th:last-child');
  const cs = getComputedStyle(td);
  if (parseFloat(cs.paddingLeft) < 4 || parseFloat(cs.paddingRight) < 4) out.push(`cell padding ${cs.padding}`);
  if (parseFloat(cs.borderBottomWidth) < 1) out.push('no rule under the rows');
  for (const c of t.querySelectorAll('tbody td')) {
    if (/^[-+]?[0-9.]+(e[-+]?[0-9]+)?$/i.test(c.textContent.trim()) && getComputedStyle(c).textAlign !== 'right') {
      out.push(`number "${c.textContent}" not right-aligned`); break;
    }
  }
  t.scrollLeft = t.scrollWidth;  // a wide table scrolls: its last column can be brought into view
  const tb = t.getBoundingClientRect(), hb = th.getBoundingClientRect();
  if (hb.right > tb.right + 1 || hb.right > window.innerWidth + 1) out.push(`last column "${th.textContent}" out of reach`);
  t.scrollLeft = 0;
  return out;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [DESKTOP, PHONE])
def test_figures_tables_and_equations_read_cleanly(built_book, opened, width, height):
    """Every chapter at desktop and phone width: no page scrolls sideways (wide figures, tables and
    equations scroll inside their own box), every figure's text lies inside the figure without
    overlaps (FIGURE_CHECK_JS), every table has padding, rules, right-aligned numbers and a
    reachable last column, every equation is typeset by the book's own MathJax; nothing is
    requested from outside the book. Screenshots of each figure and table go to
    $RBDM_SCREENSHOTS/<width>/ when it is set."""
    html, chapters = built_book
    shots = _screenshots(str(width))
    seen = {"math": 0, "tables": 0}
    by_page = {f"_chapters/{ch.stem}.html": ch for ch in chapters}

    def check(rel, page):
        ch, problems = by_page[rel], []
        sideways = page.evaluate("document.documentElement.scrollWidth")
        if sideways > width + 1:
            problems.append(f"the page scrolls sideways: {sideways} px wide at a {width} px viewport")
        for el in page.query_selector_all(".js-plotly-plot"):
            fid = el.get_attribute("id")
            problems += [f"{fid}: {p}" for p in el.evaluate(FIGURE_CHECK_JS)]
            el.scroll_into_view_if_needed()
            if shots:
                el.screenshot(path=str(shots / f"{ch.stem}__{fid}.png"))
        for k, t in enumerate(page.query_selector_all("table.rbdm-table")):
            seen["tables"] += 1
            problems += [f"table {k}: {p}" for p in t.evaluate(TABLE_CHECK_JS)]
            if k < 3:
                t.scroll_into_view_if_needed()
                if shots:
                    t.screenshot(path=str(shots / f"{ch.stem}__table{k}.png"))
        n_src = page.evaluate("document.querySelectorAll('.math').length")
        if n_src:
            page.wait_for_function(f"document.querySelectorAll('mjx-container').length >= {n_src}", timeout=20_000)
            sizes = page.eval_on_selector_all("mjx-container", "els => els.map(e => e.getBoundingClientRect().width)")
            if min(sizes) <= 0:
                problems.append(f"{sizes.count(0)} equation(s) typeset with zero width")
            seen["math"] += n_src
        return problems

    failures = _check_pages(opened, list(by_page), check, viewport=(width, height))
    assert not failures, json.dumps(failures, indent=1)
    assert seen["tables"] > 0 and seen["math"] > 0  # the checks above ran on something


#: What a reader cannot read (issue 28): every visible output or code `<pre>`, prose block and
#: table (with its caption) whose content is wider than its own box, i.e. text hidden right of it.
HIDDEN_TEXT_JS = """() => {
  const out = [];
  const shown = (e) => e.checkVisibility() && e.clientWidth > 0;  // not inside a closed toggle
  const sel = 'div.cell_output pre, div.cell_input pre, div.rbdm-prose, table.rbdm-table, table.rbdm-table caption';
  for (const e of document.querySelectorAll(sel)) {
    if (!shown(e)) continue;
    if (e.scrollWidth > e.clientWidth + 1) {
      const what = e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : '');
      out.push(`${what} shows ${e.clientWidth} of ${e.scrollWidth} px: "${e.textContent.trim().slice(0, 60)}"`);
    }
  }
  return out;
}"""

#: chapters that open with the answer (a `.rbdm-answer` box pasted by MyST-NB's glue)
ANSWER_PAGES = ("intro.html", "_chapters/06_trainee.html", "_chapters/09_study.html")
#: chapters whose sentences are prose and whose code is folded (issue 28): all of them
PROSE_CHAPTERS = tuple(f"{k:02d}_" for k in range(1, 11))


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [DESKTOP, PHONE])
def test_no_output_line_or_table_hides_text(built_book, opened, width, height):
    """Every page at desktop and phone width: no output or code line, generated sentence or table
    is cut off by its column (they wrap, or a wide table stacks its rows), and chapters 1-10 show
    their generated sentences as prose, never as print output (no stdout stream in the page)."""
    html, chapters = built_book
    pages = ["intro.html"] + [f"_chapters/{ch.stem}.html" for ch in chapters if ch.stem.startswith(PROSE_CHAPTERS)]

    def check(rel, page):
        problems = page.evaluate(HIDDEN_TEXT_JS)
        if rel.startswith(tuple(f"_chapters/{p}" for p in PROSE_CHAPTERS)):
            n = page.evaluate("document.querySelectorAll('div.cell_output .output.stream').length")
            if n:
                problems.append(f"{n} print (stream) output(s): generated sentences belong in viz.prose")
        return problems

    failures = _check_pages(opened, pages, check, viewport=(width, height))
    assert not failures, json.dumps(failures, indent=1)


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [DESKTOP, PHONE])
def test_the_answer_is_on_the_first_screen(opened, width, height):
    """The introduction and chapters 6 and 9 open with the answer generated from the computed
    verdicts: its first line and the link to the evidence lie within the first screen, it labels
    its results synthetic, and the link leads to an anchor on the chapter's page."""
    def check(rel, page):
        problems = []
        found = page.evaluate("""() => {
          const a = document.querySelector('.rbdm-answer p');
          const link = document.querySelector('a.rbdm-evidence, .rbdm-evidence a');
          return {top: a ? a.getBoundingClientRect().top : null, text: a ? a.textContent : '',
                  line: a ? parseFloat(getComputedStyle(a).lineHeight) || 24 : 0,
                  link: link ? link.getBoundingClientRect().bottom : null, href: link ? link.href : ''};
        }""")
        if found["top"] is None:
            problems.append("no answer (.rbdm-answer) on the page")
        else:
            if found["top"] + found["line"] > height:
                problems.append(f"the answer's first line ends at {found['top'] + found['line']:.0f} px, below the "
                                f"first screen ({height} px)")
            if "synthetic" not in found["text"].lower():
                problems.append(f"the answer does not say its results are synthetic: {found['text'][:120]!r}")
            if not re.search(r"\d", found["text"]):
                problems.append("the answer holds no computed number")
        if found["link"] is None or found["link"] > height:
            problems.append(f"no link to the evidence on the first screen (bottom {found['link']})")
        elif "#" not in found["href"]:
            problems.append(f"the evidence link {found['href']} names no section")
        else:
            target = found["href"].split("#", 1)[1]
            evidence = page.context.new_page()  # the shared page stays where it is
            evidence.goto(found["href"], wait_until="load")
            there = evidence.evaluate(f"!!document.getElementById({json.dumps(target)})")
            evidence.close()
            if not there:
                problems.append(f"the evidence link's anchor #{target} is not on {found['href']}")
        return problems

    failures = _check_pages(opened, ANSWER_PAGES, check, viewport=(width, height))
    assert not failures, json.dumps(failures, indent=1)


@pytest.mark.browser
def test_code_above_figures_is_folded(built_book, opened):
    """On every chapter page, a code cell above a figure shows its source only where the cell is
    tagged `computes` (it computes a result); figure-building and set-up cells are folded
    (`hide-input`: a closed toggle) or removed, parameters cells too."""
    html, chapters = built_book
    pages = [f"_chapters/{c.stem}.html" for c in chapters if c.stem.startswith(PROSE_CHAPTERS)]

    def check(rel, page):
        return page.evaluate("""() => {
          const figs = [...document.querySelectorAll('.rbdm-figure, .js-plotly-plot')];
          const last = figs.length ? figs[figs.length - 1] : null;
          const out = [];
          for (const cell of document.querySelectorAll('div.cell')) {
            const src = cell.querySelector('div.cell_input');
            if (!src || !src.checkVisibility() || src.getBoundingClientRect().height === 0) continue;
            if (last && !(cell.compareDocumentPosition(last) & Node.DOCUMENT_POSITION_FOLLOWING)) continue;
            if (!cell.classList.contains('tag_computes'))
              out.push(`open code cell above a figure: "${src.textContent.trim().slice(0, 70)}"`);
          }
          return out;
        }""")

    failures = _check_pages(opened, pages, check)
    assert not failures, json.dumps(failures, indent=1)


@pytest.mark.browser
def test_text_only_pages_are_light_and_plotly_loads_only_with_figures(built_book, opened):
    """A page without figures loads no plotly.js and weighs under 1 MB in all (page and every asset
    it loads, each page in a browser context of its own, so nothing comes from another page's
    cache); a page with figures loads plotly.js deferred (not render-blocking)."""
    html, chapters = built_book
    declared = {f"_chapters/{c.stem}.html": declared_figures(c.with_suffix(".ipynb")) for c in chapters}
    pages = [p.relative_to(html).as_posix() for p in sorted(html.rglob("*.html"))
             if not p.relative_to(html).as_posix().startswith(("_static/", "_sources/"))]
    text_only = []

    def check(rel, page):
        got, problems = opened(rel).received, []
        # what the page loaded, by the browser's own record (a response body can be gone before it is read)
        loaded = got.keys() | set(page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"))
        plotly_urls = [u for u in loaded if re.search(r"/vendor/plotly[-a-z]*\.min\.js$", u.split("?")[0])]
        if any("/_static/figures/" in u for u in loaded):
            problems.append("a static figure image is fetched although JavaScript draws the figures")
        if declared.get(rel):
            deferred = page.eval_on_selector("script[src*='/vendor/plotly']", "s => s.defer")
            if not plotly_urls or not deferred:
                problems.append(f"plotly.js loaded: {bool(plotly_urls)}, deferred: {deferred}")
        else:
            text_only.append(rel)
            total = sum(got.values())
            if plotly_urls:
                problems.append("a page without figures loads plotly.js")
            if total >= 1_000_000:
                heavy = sorted(got.items(), key=lambda kv: -kv[1])[:3]
                problems.append(f"{total} bytes in all; heaviest: {heavy}")
        return problems

    failures = _check_pages(opened, pages, check)
    assert not failures, json.dumps(failures, indent=1)
    assert len(text_only) >= 3  # intro, rerun, bibliography at least


#: Where one figure (its div `gd`, drawn by rbdm-figures.js) sits: its box, its output's box and the
#: article column's, whether that output scrolls sideways, and the toolbar's box against the title's
#: and the legend's (the toolbar is laid out, if transparent, before a hover shows it).
FIGURE_FIT_JS = """(gd) => {
  const r = (e) => { const b = e.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top, bottom: b.bottom}; };
  const out = gd.closest('div.output') || gd.parentNode.parentNode;
  const col = gd.closest('article') || document.body;
  const over = (a, b) => a && b && Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
                         && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const bar = gd.querySelector('.modebar');
  const hit = [...gd.querySelectorAll('.gtitle, .legend')].filter(e => bar && over(r(bar), r(e))).map(e => e.getAttribute('class'));
  return {fig: r(gd), out: r(out), col: r(col), sideways: out.scrollWidth > out.clientWidth + 1,
          dragmode: gd._fullLayout.dragmode, toolbarOver: hit};
}"""


def _pages_with_figures(chapters):
    return [(c, declared_figures(c.with_suffix(".ipynb"))) for c in chapters if declared_figures(c.with_suffix(".ipynb"))]


@pytest.mark.browser
@pytest.mark.parametrize("width, height, touch", [(*DESKTOP, False), (*PHONE, True)])
def test_every_figure_fits_its_column_and_no_code_scrolls_the_page(built_book, opened, width, height, touch):
    """Every figure of every chapter lies inside its output and the article column with no scroll bar
    under it, its toolbar clear of its title and legend; on a touch screen (390 px, coarse pointer)
    dragging does not zoom (plotly's dragmode false, so the page scrolls under a finger); no `<pre>`
    (code or output) reaches past the window's right edge."""
    html, chapters = built_book
    failures: dict[str, list[str]] = {}
    n_figs = 0
    for ch, want in _pages_with_figures(chapters):
        rel = f"_chapters/{ch.stem}.html"
        o = opened(rel, (width, height))
        page, problems = o.page, list(o.problems)
        assert page.evaluate("matchMedia('(pointer: coarse)').matches") == touch
        for el in page.query_selector_all(".js-plotly-plot"):
            fid, n_figs = el.get_attribute("id"), n_figs + 1
            g = el.evaluate(FIGURE_FIT_JS)
            for box in ("out", "col"):
                if g["fig"]["left"] < g[box]["left"] - 1 or g["fig"]["right"] > g[box]["right"] + 1:
                    problems.append(f"{fid}: {g['fig']['left']:.0f}-{g['fig']['right']:.0f} px outside its "
                                    f"{'output' if box == 'out' else 'column'} {g[box]['left']:.0f}-{g[box]['right']:.0f}")
            if g["sideways"]:
                problems.append(f"{fid}: its output scrolls sideways")
            if g["toolbarOver"]:
                problems.append(f"{fid}: the toolbar covers {g['toolbarOver']}")
            if touch and g["dragmode"] is not False:
                problems.append(f"{fid}: dragmode {g['dragmode']!r} on a touch screen")
        wide = page.evaluate("() => [...document.querySelectorAll('pre')].filter(p => p.offsetParent)"
                             ".filter(p => p.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                             ".map(p => p.textContent.slice(0, 40))")
        problems += [f"<pre> past the window's edge: {t!r}" for t in wide]
        if problems:
            failures[rel] = problems
    assert not failures, json.dumps(failures, indent=1)
    assert n_figs >= 40  # the checks ran on the book's figures


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [DESKTOP, PHONE])
def test_without_javascript_every_figure_and_formula_shows_an_image(built_book, server, browser, width, height):
    """JavaScript off: in place of each figure's empty box its static image (made at build time),
    loaded and inside the column; each formula's TeX gives way to its pre-rendered image. With
    JavaScript on the static images are not fetched at all (test_text_only_pages_... weighs them)."""
    html, chapters = built_book
    server.root = html
    failures: dict[str, list[str]] = {}
    n_math = 0
    for ch in chapters:
        rel = f"_chapters/{ch.stem}.html"
        want = declared_figures(ch.with_suffix(".ipynb"))
        ctx = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": height})
        page = ctx.new_page()
        page.goto(f"{server.url}/{rel}", wait_until="load")
        page.wait_for_load_state("networkidle")
        got = page.evaluate("""() => [...document.querySelectorAll('img.rbdm-static')].map(i => {
            const b = i.getBoundingClientRect(), col = i.closest('article').getBoundingClientRect();
            return {fid: i.previousElementSibling && i.previousElementSibling.id, ok: i.complete && i.naturalWidth > 0,
                    shown: b.width > 0 && b.height > 0, inside: b.left >= col.left - 1 && b.right <= col.right + 1}; })""")
        problems = []
        if [g["fid"] for g in got] != want:
            problems.append(f"static images {[g['fid'] for g in got]} for figures {want}")
        problems += [f"{g['fid']}: {k}" for g in got for k in ("ok", "shown", "inside") if not g[k]]
        if page.locator(".rbdm-figure:visible").count():
            problems.append("an empty figure box is shown")
        math = page.evaluate("""() => [...document.querySelectorAll('.math')].map(m => {
            const img = m.nextElementSibling && m.nextElementSibling.matches('noscript.rbdm-math')
                        ? m.nextElementSibling.querySelector('img') : null;
            return {tex: m.offsetParent !== null, img: !!img && img.complete && img.naturalWidth > 0 && img.offsetParent !== null}; })""")
        n_math += len(math)
        bad = [k for k, m in enumerate(math) if m["tex"] or not m["img"]]
        if bad:
            problems.append(f"{len(bad)} of {len(math)} formulas show raw TeX or no image")
        ctx.close()
        if problems:
            failures[rel] = problems
    assert not failures, json.dumps(failures, indent=1)
    assert n_math > 0


VERDICT_RE = re.compile(r"\b(not confirmed|confirmed|inconclusive|undecidable)\b", re.I)


def verdict_counts(text: str) -> dict[str, int]:
    """How often each verdict word (rbdm_core.verdicts.OUTCOMES) occurs in `text` ("not confirmed"
    is not also counted as "confirmed")."""
    from rbdm_core.verdicts import OUTCOMES

    found = [m.group(1).lower() for m in VERDICT_RE.finditer(re.sub(r"\s+", " ", text))]
    assert set(found) <= set(OUTCOMES), "the test's verdict words are verdicts.OUTCOMES"
    return {w: found.count(w) for w in OUTCOMES}


@pytest.mark.browser
def test_printed_chapter_6_holds_every_verdict_word_and_every_table_column(built_book, opened, browser, tmp_path):
    """`rbdm book --pdf`'s printer (write_pdf: headless Chromium, the print stylesheet) on chapter 6:
    every verdict word the page shows is in the PDF's text as often, and every table's header cells
    too (no column cut off on paper); the figures are printed as their static images."""
    from pypdf import PdfReader

    from rbdm_core.book_build import write_pdf

    html, chapters = built_book
    ch = next(c for c in chapters if c.stem.startswith("06_"))
    rel = f"_chapters/{ch.stem}.html"
    page = opened(rel).page
    shown = verdict_counts(page.inner_text("article"))
    headers = page.eval_on_selector_all("article table thead th", "ths => ths.map(t => t.innerText.trim())")
    assert sum(shown.values()) > 0, "chapter 6 shows no verdict"
    pdf = write_pdf(html, tmp_path / "ch6.pdf", pages=[rel], log=lambda m: None, browser=browser)
    import unicodedata

    # NFKC: the PDF's text has the font's ligatures ("ﬁ" in "conﬁrmed")
    text = unicodedata.normalize("NFKC", " ".join(p.extract_text() or "" for p in PdfReader(pdf).pages))
    printed = verdict_counts(text)
    short = {w: (printed[w], n) for w, n in shown.items() if printed[w] < n}
    assert not short, f"verdict words printed fewer times than shown (printed, shown): {short}"
    flat = re.sub(r"\s+", "", text)
    missing = [h for h in headers if h and re.sub(r"\s+", "", h) not in flat]
    assert not missing, f"table columns missing from the PDF: {missing}"


def _explorer_case():
    """A small explorer with hand-made masks whose state we can predict per control position: the
    negative mask by fraction, the perceptive mask by n (as many steps), the mean mask with none."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 12, 12, 1), dtype=np.uint8)
    states = {}
    values = {"negative": (0.25, 0.5, 0.75), "perceptive": (2, 4, 8), "mean": ("-",)}
    for m_i, (mask, vals) in enumerate(values.items()):
        for t_i, v in enumerate(vals):
            masks = np.zeros((3, 12, 12), bool)
            masks[:, : 3 * (t_i + 1) + m_i, :] = True  # a different band for every state
            masks[:, :, : m_i + 1] = True
            states[("deep_taylor", mask, v)] = masks
    return images, states


def _shown_masks_js(n: int) -> str:
    """JS: the sources of the row-2 mask traces that are visible (explorer's trace layout: n
    originals, n originals under the overlays, then per menu entry n masks and n overlays; the chosen entry's
    at opacity 1, the others' at 0)."""
    return f"""() => {{
        const gd = document.getElementById('rbdm-fig-explorer');
        return gd.data.map((t, i) => [t, i]).filter(([t, i]) => i >= {2 * n} && (i - {2 * n}) % {2 * n} < {n}
                                                     && t.opacity !== 0).map(([t]) => t.source); }}"""


@pytest.mark.browser
def test_explorer_keeps_its_slider_and_size_across_mask_types_in_static_html(tmp_path, server, browser):
    """Real clicks: the slider's position survives a change of mask type (the perceptive mask's n at
    the same step, back to the negative fraction after the mean mask), the slider's label names
    the chosen type's setting, and the figure keeps its size for the mean mask."""
    images, states = _explorer_case()
    fig = viz.explorer(images, states, ("method", "mask", "fraction removed or n"))
    root = tmp_path / "site"
    root.mkdir()
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", root / "plotly.min.js")
    (root / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><script src="plotly.min.js"></script></head><body>'
        + viz.figure_html(fig, "explorer", height=700) + "</body></html>")
    server.root = root
    problems: list[str] = []
    page = _open(browser, f"{server.url}/index.html", problems)
    page.wait_for_selector("#rbdm-fig-explorer.js-plotly-plot")
    n = len(images)

    def shown():
        return page.evaluate(_shown_masks_js(n))

    def expected(key):
        return [viz.png_data_uri(states[key][i]) for i in range(n)]

    def label():
        return page.locator("#rbdm-fig-explorer .slider-group > text.slider-label").first.text_content()

    def choose(k):
        page.locator("#rbdm-fig-explorer .updatemenu-header-group").first.click()
        page.locator("#rbdm-fig-explorer .updatemenu-dropdown-button").nth(k).click()
        page.wait_for_timeout(300)

    def size():
        return page.evaluate("() => { const b = document.querySelector('#rbdm-fig-explorer .main-svg')"
                             ".getBoundingClientRect(); return [b.width, b.height]; }")

    assert shown() == expected(("deep_taylor", "negative", 0.25))
    assert label().startswith(SLIDER_LABELS["negative"])
    rail = page.locator("#rbdm-fig-explorer .slider-rail-touch-rect").first.bounding_box()
    page.mouse.click(rail["x"] + rail["width"] - 2, rail["y"] + rail["height"] / 2)  # the last step
    page.wait_for_timeout(300)
    assert shown() == expected(("deep_taylor", "negative", 0.75))
    before = size()
    choose(1)  # perceptive: the slider stays at its last step, now n = 8
    assert shown() == expected(("deep_taylor", "perceptive", 8))
    assert label() == f"{SLIDER_LABELS['perceptive']}: 8"
    choose(2)  # mean: no setting, the same size
    assert shown() == expected(("deep_taylor", "mean", "-"))
    assert label().startswith(SLIDER_LABELS["mean"]) and size() == before
    choose(0)  # back to negative: still the last step
    assert shown() == expected(("deep_taylor", "negative", 0.75))
    page.mouse.click(rail["x"] + rail["width"] / 2, rail["y"] + rail["height"] / 2)
    page.wait_for_timeout(300)
    assert shown() == expected(("deep_taylor", "negative", 0.5))
    page.context.close()
    assert not problems, problems


# --------------------------------------------------------------------------- viz (no browser)
def test_figure_html_is_deterministic_named_and_script_safe():
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2], name="</script><script>alert(1)</script>"))
    a = viz.figure_html(fig, "bars")
    b = viz.figure_html(go.Figure(fig), "bars")
    assert a == b
    assert a.startswith('<div id="rbdm-fig-bars" class="rbdm-figure" style="width:100%;height:450px;"></div>')
    assert a.count("</script>") == 1  # the payload cannot close the script tag
    spec = json.loads(re.search(r"spec = (\{.*\});\n", a).group(1).replace("<\\/", "</"))
    assert spec["data"][0]["name"] == "</script><script>alert(1)</script>"
    assert spec["layout"]["template"] == viz.TEMPLATE  # slim template, not plotly's 6 kB default
    assert "plotly.js v" not in a and "cdn" not in a and len(a) < 3000  # plotly.js itself not inlined
    with pytest.raises(ValueError, match="figure name 'two words'"):
        viz.figure_html(fig, "two words")


def test_bundle_mime_modes(monkeypatch):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(y=[1, 3]), layout={"title": {"text": "T"}})
    monkeypatch.setenv(viz.FIGURE_MIME_ENV, "html")
    assert sorted(viz.bundle(fig, "s")) == ["text/html", "text/plain"]
    assert viz.bundle(fig, "s")["text/plain"] == "<plotly figure rbdm-fig-s: T>"
    monkeypatch.delenv(viz.FIGURE_MIME_ENV)
    live = viz.bundle(fig, "s")
    assert sorted(live) == [viz.PLOTLY_MIME, "text/html", "text/plain"]
    assert live[viz.PLOTLY_MIME]["data"][0]["type"] == "scatter"
    with pytest.raises(ValueError, match="must be 'html' or 'html\\+json'"):
        viz.bundle(fig, "s", mime="png")


def test_png_data_uri_round_trips_pixels():
    import base64
    import io

    from PIL import Image

    rng = np.random.default_rng(1)
    for img in (rng.integers(0, 256, (5, 7), dtype=np.uint8), rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
                rng.random((5, 7)) > 0.5):
        uri = viz.png_data_uri(img)
        back = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
        want = img.astype(np.uint8) * 255 if img.dtype == bool else img
        np.testing.assert_array_equal(back, want)
    with pytest.raises(ValueError, match="expected uint8 or bool"):
        viz.png_data_uri(np.zeros((3, 3)))


def test_band_table_is_the_student_t_interval_of_the_mean():
    import pandas as pd

    df = pd.DataFrame({"variant": ["a"] * 4 + ["b"], "step": [1, 1, 1, 2, 1], "f1": [1.0, 2.0, 3.0, 5.0, 4.0]})
    t = viz.band_table(df, "step", "f1", "variant")
    a1 = t[(t.variant == "a") & (t.step == 1)].iloc[0]
    half = 4.302652729911275 * 1.0 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n), sd of 1, 2, 3 is 1
    assert a1["n"] == 3 and a1["mean"] == pytest.approx(2.0)
    assert (a1["ci_low"], a1["ci_high"]) == pytest.approx((2.0 - half, 2.0 + half))
    single = t[(t.variant == "a") & (t.step == 2)].iloc[0]
    assert single["mean"] == 5.0 and np.isnan(single["ci_low"]) and np.isnan(single["ci_high"])
    fig = viz.line_band(df, "step", "f1", "variant")
    # one band (group a has a repeated x) + two mean lines
    assert [tr.fill for tr in fig.data] == ["toself", None, None]
    with pytest.raises(ValueError, match="column 'loss' not in the table"):
        viz.band_table(df, "step", "loss")


def test_confusion_rows_are_shares_of_the_true_class():
    m = np.array([[8, 2], [1, 3]])
    fig = viz.confusion(m, ["x", "y"])
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z, [[0.8, 0.2], [0.25, 0.75]])
    assert fig.data[0].text[1][0] == "0.25<br>(1)"
    with pytest.raises(ValueError, match="does not match 3 class names"):
        viz.confusion(m, ["x", "y", "z"])


def test_table_html_is_escaped_and_formatted():
    import pandas as pd

    t = viz.table(pd.DataFrame({"name": ["<b>", "ok"], "v": [0.123456, np.nan]}), caption="C & D")
    html = t._repr_html_()
    assert "<caption>C &amp; D</caption>" in html
    assert '<td class="text" data-label="name">&lt;b&gt;</td><td class="num" data-label="v">0.1235</td>' in html
    assert '<td class="text" data-label="name">ok</td><td class="num" data-label="v"></td>' in html
    assert repr(t).splitlines()[0] == "C & D"
    with pytest.raises(ValueError, match="expected a pandas DataFrame"):
        viz.table([1, 2])


def test_explorer_precomputes_every_state():
    images, states = _explorer_case()
    fig = viz.explorer(images, states, ("method", "mask", "fraction"))
    n = len(images)
    combos = [("deep_taylor", "negative"), ("deep_taylor", "perceptive"), ("deep_taylor", "mean")]
    vals = {c: [k[-1] for k in states if k[:-1] == c] for c in combos}
    # n originals, n originals under the overlays, then per combo n masks and n overlays
    assert len(fig.data) == 2 * n + len(combos) * 2 * n
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == ["deep_taylor / negative", "deep_taylor / perceptive", "deep_taylor / mean"]
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == 3 and [s.label for s in slider.steps] == ["0.25", "0.5", "0.75"]
    state_traces = list(range(2 * n, len(fig.data)))
    for k, step in enumerate(slider.steps):
        sources, traces = step.args
        assert list(traces) == state_traces
        want = []
        for c in combos:  # every combo at step k (the mean mask, with one state, at its only one)
            m = states[c + (vals[c][min(k, len(vals[c]) - 1)],)]
            want += [viz.png_data_uri(m[i]) for i in range(n)] + [viz.png_data_uri(viz.drop_overlay(m[i])) for i in range(n)]
        assert list(sources["source"]) == want
    for j, (b, c) in enumerate(zip(menu.buttons, combos)):
        opacity, relabel = b.args
        shown = [i for i, v in enumerate(opacity["opacity"]) if v == 1]
        assert shown == list(range(2 * n)) + list(range(2 * n + j * 2 * n, 2 * n + (j + 1) * 2 * n))
        assert "sliders[0].active" not in relabel  # the slider keeps its position
        labels = [relabel[f"sliders[0].steps[{k}].label"] for k in range(3)]
        assert labels == (["", "", ""] if c[1] == "mean" else [f"{v:g}" if isinstance(v, float) else str(v) for v in vals[c]])
        assert relabel["sliders[0].currentvalue.prefix"].startswith(SLIDER_LABELS[c[1]])
    # the mean mask keeps the same slider: as many steps, so the figure keeps its layout
    own = viz.explorer(images, states, ("method", "mask", "fraction"), slider_labels={"negative": "removed"})
    assert own.layout.sliders[0].currentvalue.prefix == "removed: "
    ov = viz.drop_overlay(np.array([[True, False]]), fill=7)
    assert ov.tolist() == [[[7, 7, 7, 0], [7, 7, 7, 255]]]
    one = states[("deep_taylor", "negative", 0.5)]
    with pytest.raises(ValueError, match="same length"):
        viz.explorer(images, {("a", 1): one, ("b",): one})
    with pytest.raises(ValueError, match=r"masks for state \('a',\) have shape \(2, 12, 12\)"):
        viz.explorer(images, {("a",): np.zeros((2, 12, 12), bool)})


def test_live_explorer_recomputes_masks_when_a_control_moves():
    import base64

    images, _ = _explorer_case()
    calls = []

    def compute(fraction, mask):
        calls.append((fraction, mask))
        m = np.zeros(images.shape[:3], bool)
        m[:, : int(12 * fraction), :] = True
        return m

    box = viz.live_explorer(images, compute, {"fraction": [0.25, 0.5], "mask": ["negative", "mean"]})
    sliders = box.children[0].children
    mask_images = box.children[2].children
    assert calls == [(0.25, "negative")]
    first = base64.b64encode(mask_images[0].value).decode()
    assert viz.png_data_uri(compute(0.25, "negative")[0]).endswith(first)
    sliders[0].value = 0.5
    assert calls[-1] == (0.5, "negative")  # the widget recomputed with the new slider value
    assert base64.b64encode(mask_images[0].value).decode() == viz.png_data_uri(compute(0.5, "negative")[0]).split(",")[1]
    assert box.children[1].value == "kept 50.0% of pixels"


def test_method_diagram_carries_the_values_it_is_given():
    fig = viz.method_diagram(trainer_candidates=("net_a", "net_b"), mask_types=("negative", "perceptive"),
                             trainee="net_c", switch_epoch=7, relevance_method="lrp_z", target="my corpus")
    text = " ".join(a.text.replace("<br>", " ") for a in fig.layout.annotations)  # boxes wrap their lines
    for want in ("candidates: net_a, net_b", "Trainee: net_c", "until epoch 7", "method: lrp_z", "my corpus",
                 "<b>negative</b>", "<b>perceptive</b>", "chapter 5"):
        assert want in text, want
    assert "<b>mean</b>" not in text  # only the masks given
    assert "n = mean fixations per image" in text  # the gaze study feeds the perceptive mask
    no_perceptive = viz.method_diagram(trainer_candidates=("a",), mask_types=("mean",), trainee="b", switch_epoch=1)
    assert "n = mean fixations" not in " ".join(a.text for a in no_perceptive.layout.annotations)
    with pytest.raises(ValueError, match="mask_types is empty"):
        viz.method_diagram(trainer_candidates=("a",), mask_types=(), trainee="b", switch_epoch=1)
