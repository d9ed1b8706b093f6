"""Page weight and readability of the built book: each page loads only the scripts its content uses,
and every figure and formula can also be read without JavaScript and on paper.

Run on the HTML folder after a Jupyter Book build (`book/_ext/rbdm_offline.py`, build-finished):

- plotly.js (the cartesian partial bundle, vendor/plotly-cartesian.min.js, 1.5 MB) and
  `_static/rbdm-figures.js` only on pages that hold a figure (`rbdm_core.viz` divs, class
  `rbdm-figure`), and `defer`red there (the figures' scripts draw on `load`); kept blocking on a page
  that also loads require.js, where plotly must define `window.Plotly` before an AMD loader exists;
- each figure's script draws through `window.rbdmPlot` (rbdm-figures.js: the figure fits its column,
  no drag-to-zoom on a touch screen, the toolbar above the plot) and falls back to `Plotly.newPlot`;
- each figure gets a static SVG (`render_figure_images`, plotly.js's own `toImage` in headless
  Chromium at build time) as an `<img class="rbdm-static">` after its div: shown without JavaScript
  and in print (book/_static/rbdm.css), hidden (and, lazy, never fetched) when JavaScript draws the
  figure. Without Chromium the build says so and each figure keeps a titled note instead;
- each formula gets its SVG rendering by MathJax in node (`prerender_math`, one file per formula in
  `_static/math/`) as an `<img>` in a `<noscript>` beside the TeX that MathJax typesets in the
  browser (inert, so never fetched, when JavaScript is on);
- MathJax (and its config) only on pages that hold math (`class="math ..."` elements);
- fontawesome.js (1.5 MB) nowhere: the theme's CSS already draws the same icons from the
  Font Awesome web font, the script only swaps them for SVGs;
- files no page loads are removed: source maps (and their `sourceMappingURL` comments),
  fontawesome.js, the theme's translation catalogues (`_static/locales`, read at build time), and a
  vendored tree (plotly, MathJax, the ipywidgets manager with require.js) that no page references.

`page_weights` measures what each page loads in Chromium (`python -m rbdm_core.book_assets weights
book/_build/html` prints the table the README quotes).

Every rewrite is idempotent (a second pass changes nothing), so incremental builds are safe.
"""

from __future__ import annotations

import functools
import hashlib
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from rbdm_core.artifacts import atomic_write_text

#: the browser that renders the static figures and prints the PDF (Debian's chromium; set-up installs it)
CHROMIUM = os.environ.get("RBDM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: the width (px) a figure is laid out for when its layout has none (rbdm_core.figure_fit.WIDTH)
FIGURE_WIDTH = 680
#: where the static images go, relative to the HTML folder
FIGURE_IMAGES = "_static/figures"
#: the static images of earlier builds, by content (`figure_keys`), beside the HTML folder in
#: <book>/_build; `book_build.build_book` keeps it when it clears the rest of _build
FIGURE_CACHE = "figure-cache"
#: plotly's random per-render id (`_fullLayout._uid`) as it appears in an SVG: after `id="` or `#`,
#: behind the prefixes of its clip paths, defs, legend and colour-bar gradients
PLOTLY_UID_RE = re.compile(r'id="defs-([0-9a-z]+)"')
PLOTLY_UID_USES = r'(id="|#)(clip|defs-|topdefs-|legend|g)'
#: what the random id becomes (each SVG is a document of its own, so its ids need be unique only in it)
STATIC_UID = "static"
#: part of every cached figure's key: raise it when `stable_ids` changes what it writes
FIGURE_CACHE_VERSION = 1

FIGURE_MARK = 'class="rbdm-figure"'
MATH_RE = re.compile(r'class="math[ "]')
PLOTLY_TAG_RE = re.compile(r'<script(?: defer(?:="defer")?)? src="([^"]*_static/(?:vendor/plotly[-a-z]*\.min\.js'
                           r'|rbdm-figures\.js)[^"]*)"></script>')
FONTAWESOME_TAG_RE = re.compile(r'[ \t]*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>\n?')
MATHJAX_TAG_RE = re.compile(r'[ \t]*<script[^>]*src="[^"]*_static/vendor/mathjax/[^"]*"[^>]*></script>\n?')
MATHJAX_CONFIG_RE = re.compile(r'[ \t]*<script>window\.MathJax = .*?</script>\n?', re.S)
REQUIRE_RE = re.compile(r'<script[^>]*src="[^"]*_static/vendor/(?:require\.js|html-manager/)')
FIGURE_DIV_RE = re.compile(r'(<div id="(rbdm-fig-[A-Za-z0-9_-]+)" class="rbdm-figure"[^>]*></div>)(\n<script[^>]*>\n'
                           r'\(function \(\) \{\n  var id = "[^"]+", spec = (\{.*\});\n)?')
FIGURE_HEIGHT_RE = re.compile(r'height:(\d+)px')
NOSCRIPT_STYLE = "<noscript><style>.rbdm-figure{display:none}</style></noscript>"
#: without JavaScript the TeX source gives way to its pre-rendered SVG (the `<noscript>` after it)
MATH_NOSCRIPT_STYLE = ("<noscript><style>.math:has(+ noscript.rbdm-math){display:none}img.rbdm-math-display{display:block;"
                       "margin:1em auto}</style></noscript>")
#: where the formulas' SVG files go, relative to the HTML folder
FORMULA_IMAGES = "_static/math"
#: set before the body is drawn: CSS hides the static images when JavaScript draws the figures
JS_FLAG = '<script>document.documentElement.classList.add("rbdm-js")</script>'
DRAW_OLD = "function draw() { Plotly.newPlot(id, spec.data, spec.layout || {}, config); }"
DRAW_NEW = "function draw() { (window.rbdmPlot || Plotly.newPlot)(id, spec.data, spec.layout || {}, config); }"
STATIC_IMG_RE = re.compile(r'<img class="rbdm-static"')
MATH_SPAN_RE = re.compile(r'<(span|div) class="math notranslate nohighlight">(.*?)</\1>', re.S)
SOURCE_MAP_RE = re.compile(r"\n?//# sourceMappingURL=\S+\.map[ \t]*$|\n?/\*# sourceMappingURL=\S+?\.map ?\*/", re.M)



class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static-file handler for the local servers that open the built book in Chromium (page
    weights, `rbdm book --pdf`): no request log, and no traceback when a page closes mid-download."""

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):  # a page closed before a download ended
            pass



def serve_folder(root) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve folder `root` on 127.0.0.1 (a free port) from a daemon thread: (server, base URL);
    call `server.shutdown()` when done."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@dataclass
class PageAssets:
    """What one built page loads after `rewrite_page`."""

    plotly: bool = False
    mathjax: bool = False
    widgets: bool = False


@dataclass
class PruneReport:
    pages: dict[str, PageAssets] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    bytes_removed: int = 0
    #: static figure images written (of them, taken from the figure cache), and why there are none ('' when there are)
    images: int = 0
    images_cached: int = 0
    images_missing: str = ""
    #: formulas pre-rendered for readers without JavaScript, and why not ('' when they are)
    formulas: int = 0
    formulas_missing: str = ""


@dataclass
class Figure:
    """One figure of a built page: its id, plotly spec (dict), and the size it is drawn at (px)."""

    fid: str
    spec: dict
    width: int
    height: int


def _spec(spec_json: str | None) -> dict | None:
    if not spec_json:
        return None
    try:
        spec, _ = json.JSONDecoder().raw_decode(spec_json.replace("<\\/", "</"))
    except ValueError:
        return None
    return spec if isinstance(spec, dict) else None


def figure_title(spec_json: str | None) -> str:
    """A figure's title as plain text from its plotly JSON ('' when it has none)."""
    spec = _spec(spec_json)
    if spec is None:
        return ""
    title = spec.get("layout", {}).get("title", "")
    text = title.get("text", "") if isinstance(title, dict) else str(title or "")
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (text or "").replace("<br>", " — "))).strip(" —")
    return html.escape(plain, quote=False)


def page_figures(text: str) -> list[Figure]:
    """The figures of a built page (those whose spec can be read), in page order."""
    out = []
    for m in FIGURE_DIV_RE.finditer(text):
        spec = _spec(m.group(4))
        if spec is None:
            continue
        layout = spec.get("layout") or {}
        h = FIGURE_HEIGHT_RE.search(m.group(1))
        height = int(layout.get("height") or (h.group(1) if h else 450))
        out.append(Figure(m.group(2), spec, int(layout.get("width") or FIGURE_WIDTH), height))
    return out


def add_noscript(text: str, images: dict[str, str] | None = None) -> str:
    """After each figure's div its static image (`images`: {figure id: src}, shown without
    JavaScript and in print) or, without one, a titled note; a style that hides the empty box
    without JavaScript. Idempotent."""
    images = images or {}
    if FIGURE_MARK not in text:
        return text

    def note(m: re.Match) -> str:
        after = text[m.end(1):m.end(1) + 40]
        if after.startswith(("<noscript><p class=\"rbdm-noscript\"", '<img class="rbdm-static"')):
            return m.group(0)
        title = figure_title(m.group(4))
        what = f"Figure “{title}”" if title else "A figure"
        if m.group(2) in images:
            fig = page_figures(m.group(0))
            size = f' width="{fig[0].width}" height="{fig[0].height}"' if fig else ""
            alt = html.escape(f"{what} ({m.group(2)}), a static image of the interactive figure", quote=True)
            extra = f'<img class="rbdm-static" src="{images[m.group(2)]}" alt="{alt}" loading="lazy"{size}>'
        else:
            extra = (f'<noscript><p class="rbdm-noscript">[{what} ({m.group(2)}): an interactive plotly '
                     "figure, shown when JavaScript is on.]</p></noscript>")
        return m.group(1) + extra + m.group(0)[len(m.group(1)):]

    text = FIGURE_DIV_RE.sub(note, text)
    if NOSCRIPT_STYLE not in text:
        text = text.replace("</head>", NOSCRIPT_STYLE + "\n</head>", 1)
    if JS_FLAG not in text:
        text = text.replace("<head>", "<head>\n" + JS_FLAG, 1)
    return text


def rewrite_page(text: str, images: dict[str, str] | None = None,
                 formulas: dict[str, str] | None = None) -> tuple[str, PageAssets]:
    """One page's HTML with only the scripts it uses (see the module docstring), and what it loads.
    images: {figure id: src of its static image}; formulas: {formula source as in the page: `<img>` of its SVG}."""
    has_fig = FIGURE_MARK in text
    has_math = MATH_RE.search(text) is not None
    widgets = REQUIRE_RE.search(text) is not None
    text = FONTAWESOME_TAG_RE.sub("", text)
    if has_fig:
        text = add_noscript(text, images)
        text = text.replace(DRAW_OLD, DRAW_NEW)
        defer = "" if widgets else " defer"
        text = PLOTLY_TAG_RE.sub(lambda m: f'<script{defer} src="{m.group(1)}"></script>', text)
    else:
        text = re.sub(r"[ \t]*" + PLOTLY_TAG_RE.pattern + r"\n?", "", text)
    if has_math:
        text = add_math_fallback(text, formulas or {})
    else:
        text = MATHJAX_TAG_RE.sub("", text)
        text = MATHJAX_CONFIG_RE.sub("", text)
    assets = PageAssets(plotly=any("plotly" in m.group(1) for m in PLOTLY_TAG_RE.finditer(text)),
                        mathjax=MATHJAX_TAG_RE.search(text) is not None, widgets=widgets)
    return text, assets


# --------------------------------------------------------------------------- math without JavaScript
def math_sources(text: str) -> list[str]:
    """The TeX of each formula of a page, as written in its `math` span/div (delimiters included,
    HTML-escaped), in page order."""
    return [m.group(2) for m in MATH_SPAN_RE.finditer(text)]


def add_math_fallback(text: str, formulas: dict[str, str]) -> str:
    """After each formula whose source is in `formulas` ({source: `<img>` of its SVG}) a `<noscript>`
    with that image (inert, so not fetched, when JavaScript is on); the TeX itself is hidden
    without JavaScript (MATH_NOSCRIPT_STYLE). Idempotent."""
    if not formulas:
        return text

    def sub(m: re.Match) -> str:
        img = formulas.get(m.group(2))
        if img is None or text.startswith("<noscript class=\"rbdm-math\">", m.end()):
            return m.group(0)
        return m.group(0) + f'<noscript class="rbdm-math">{img}</noscript>'

    new = MATH_SPAN_RE.sub(sub, text)
    if new != text and MATH_NOSCRIPT_STYLE not in new:
        new = new.replace("</head>", MATH_NOSCRIPT_STYLE + "\n</head>", 1)
    return new


SVG_STYLE_RE = re.compile(r'<svg style="vertical-align: ([-0-9.]+ex);"[^>]*? width="([0-9.]+ex)" height="([0-9.]+ex)"')


def formula_image(svg_html: str, src: str, tex: str) -> str:
    """An `<img>` of a formula's SVG file `src`, sized and aligned as MathJax sized it inline."""
    m = SVG_STYLE_RE.search(svg_html)
    style = f' style="vertical-align:{m.group(1)};width:{m.group(2)};height:{m.group(3)}"' if m else ""
    display = ' class="rbdm-math-display"' if 'display="true"' in svg_html[:200] else ""
    return f'<img{display} src="{src}" alt="{html.escape(tex, quote=True)}"{style}>'


def formula_svg(svg_html: str) -> str:
    """The standalone SVG file of MathJax's `<mjx-container>` rendering (black ink)."""
    start, end = svg_html.index("<svg"), svg_html.rindex("</svg>") + len("</svg>")
    return svg_html[start:end].replace("currentColor", "#000")


PRERENDER_JS = r"""
const mj = process.argv[process.argv.length - 1];
const items = JSON.parse(require('fs').readFileSync(0, 'utf8'));
require(mj + '/es5/node-main.js').init({loader: {load: ['input/tex', 'output/svg', 'adaptors/liteDOM']},
  svg: {fontCache: 'local'}, startup: {typeset: false}}).then((MathJax) => {
  const out = items.map(([tex, display]) => {
    try { return MathJax.startup.adaptor.outerHTML(MathJax.tex2svg(tex, {display})); }
    catch (e) { return null; }
  });
  process.stdout.write(JSON.stringify(out));
}).catch((e) => { console.error(e.message); process.exit(1); });
"""


def _tex(source: str) -> tuple[str, bool]:
    """(TeX, display?) of a formula's page source such as '\\(x\\)' or '\\[x\\]' (HTML-unescaped)."""
    s = html.unescape(source).strip()
    for a, b, d in (("\\(", "\\)", False), ("\\[", "\\]", True), ("$$", "$$", True), ("$", "$", False)):
        if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
            return s[len(a):len(s) - len(b)], d
    return s, True


def prerender_math(sources: list[str], mathjax_dir: str | os.PathLike) -> dict[str, str]:
    """{page source: SVG} of each formula, typeset by MathJax (`mathjax_dir`, the npm package) in node.
    Raises RuntimeError when node or MathJax fails."""
    uniq = list(dict.fromkeys(sources))
    if not uniq:
        return {}
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found (install Node.js >= 18)")
    items = [_tex(s) for s in uniq]
    proc = subprocess.run([node, "-e", PRERENDER_JS, str(Path(mathjax_dir).resolve())], input=json.dumps(items),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"MathJax in node failed: {proc.stderr.strip()[:500]}")
    svgs = json.loads(proc.stdout)
    return {s: svg for s, svg in zip(uniq, svgs) if svg}


# --------------------------------------------------------------------------- static figures
#: a figure as SVG by plotly.js; a trace without a uid gets its index (plotly would draw a random one
#: into the SVG's classes and colour-bar ids)
TO_IMAGE_JS = """([spec, w, h]) => Plotly.toImage(
  {data: (spec.data || []).map((t, i) => Object.assign({uid: String(i)}, t)), layout: spec.layout || {}},
  {format: 'svg', width: w, height: h})"""
RENDER_PAGE = ('<!doctype html><html><head><meta charset="utf-8"></head><body>'
               '<div id="gd"></div></body></html>')


def chromium_problem() -> str:
    """Why the book cannot drive Chromium here ('' when it can)."""
    if not Path(CHROMIUM).exists():
        return (f"{CHROMIUM} not found: install it with `RBDM_WITH_BROWSER=1 bash scripts/setup.sh` "
                "(Debian's chromium), or point $RBDM_CHROMIUM at a Chromium")
    try:
        import playwright.sync_api  # noqa: F401  # deferred: playwright, only where the book drives Chromium
    except ImportError:
        return "the playwright package is not installed (bash scripts/setup.sh)"
    return ""


def stable_ids(svg: str) -> str:
    """plotly's SVG with its random per-render id (PLOTLY_UID_RE) replaced by STATIC_UID wherever
    it names an element (PLOTLY_UID_USES), so one figure gives the same bytes on every build; the
    same characters elsewhere (inside an embedded image's base64, say) are left alone."""
    m = PLOTLY_UID_RE.search(svg)
    if m is None:
        return svg
    return re.sub(PLOTLY_UID_USES + re.escape(m.group(1)), lambda u: u.group(1) + u.group(2) + STATIC_UID, svg)


def chromium_version() -> str:
    """`chromium --version` ('' when it cannot be run): part of each cached figure's key."""
    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def figure_keys(figures: list[Figure], plotly_js: str | os.PathLike) -> dict[str, str]:
    """{fid: what its static image depends on, hashed (sha256 hex)}: the figure's spec, width and
    height, the plotly bundle's bytes, the Chromium version, TO_IMAGE_JS and FIGURE_CACHE_VERSION
    (not the system's fonts: delete <book>/_build/figure-cache after changing them)."""
    bundle = hashlib.sha256(Path(plotly_js).read_bytes()).hexdigest()
    version = chromium_version()

    def key(f: Figure) -> str:
        what = [f.spec, f.width, f.height, bundle, version, TO_IMAGE_JS, FIGURE_CACHE_VERSION]
        return hashlib.sha256(json.dumps(what, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {f.fid: key(f) for f in figures}


def render_figure_images(figures: list[Figure], plotly_js: str | os.PathLike,
                         cache_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """{figure key: SVG text} of each figure drawn by plotly.js (`plotly_js`, the bundle the pages
    load) with `Plotly.toImage` in headless Chromium at the figure's width and height (TO_IMAGE_JS),
    the same bytes for the same figure on every run (`stable_ids`). Figure keys: `fid`. cache_dir: where `<figure_keys>.svg` files of
    earlier calls are read, and those drawn now written (None: no cache); Chromium is started only
    for the figures not there. Raises RuntimeError when Chromium cannot be driven."""
    problem = chromium_problem()
    if problem:
        raise RuntimeError(problem)
    from playwright.sync_api import sync_playwright  # deferred: playwright, only at book build time

    out: dict[str, str] = {}
    cache = Path(cache_dir) if cache_dir is not None else None
    keys = figure_keys(figures, plotly_js) if cache is not None else {}
    for f in figures:
        if cache is not None and (cache / f"{keys[f.fid]}.svg").exists():
            out[f.fid] = (cache / f"{keys[f.fid]}.svg").read_text(encoding="utf-8")
    todo = [f for f in figures if f.fid not in out]
    if not todo:
        return out
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.route("**/*", lambda r: r.abort() if not r.request.url.startswith(("data:", "about:"))
                       else r.continue_())
            page.set_content(RENDER_PAGE)
            page.add_script_tag(path=str(plotly_js))
            for fig in todo:
                url = page.evaluate(TO_IMAGE_JS, [fig.spec, fig.width, fig.height])
                prefix = "data:image/svg+xml,"
                if not url.startswith(prefix):
                    raise RuntimeError(f"{fig.fid}: plotly.js returned {url[:40]!r}, not an SVG")
                out[fig.fid] = stable_ids(unquote(url[len(prefix):]))
                if cache is not None:
                    atomic_write_text(cache / f"{keys[fig.fid]}.svg", out[fig.fid])
        finally:
            browser.close()
    return {f.fid: out[f.fid] for f in figures}


def _image_name(page_rel: str, fid: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", page_rel.rsplit(".", 1)[0])
    return f"{FIGURE_IMAGES}/{stem}/{fid}.svg"


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _pages(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*.html"))
            if not p.relative_to(root).as_posix().startswith(("_static/", "_sources/"))]


def _static_figures(root: Path, texts: dict[str, str], report: PruneReport,
                    cache_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """Writes the static image of every figure of the pages; {page: {figure id: src}}. cache_dir:
    `render_figure_images`' cache, left holding this build's figures only."""
    figs = {rel: page_figures(t) for rel, t in texts.items()}
    figs = {rel: f for rel, f in figs.items() if f}
    if not figs:
        return {}
    plotly_js = next(iter(sorted((root / "_static" / "vendor").glob("plotly*.min.js"))), None)
    if plotly_js is None:
        report.images_missing = "no plotly bundle in _static/vendor"
        return {}
    keyed = []
    for rel, fs in figs.items():
        for f in fs:
            keyed.append(Figure(rel + "\0" + f.fid, f.spec, f.width, f.height))
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        before = {p.stem for p in cache_dir.glob("*.svg")}
    try:
        svgs = render_figure_images(keyed, plotly_js, cache_dir)
    except Exception as exc:  # the build goes on: each figure keeps its titled note
        report.images_missing = f"{type(exc).__name__}: {exc}"
        return {}
    if cache_dir is not None:
        used = set(figure_keys(keyed, plotly_js).values())
        report.images_cached = len(used & before)
        for stale in cache_dir.glob("*.svg"):
            if stale.stem not in used:
                stale.unlink()
    out: dict[str, dict[str, str]] = {}
    for key, svg in svgs.items():
        rel, fid = key.split("\0")
        name = _image_name(rel, fid)
        dest = root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(svg, encoding="utf-8")
        report.images += 1
        out.setdefault(rel, {})[fid] = os.path.relpath(dest, (root / rel).parent).replace(os.sep, "/")
    return out


def _formulas(root: Path, texts: dict[str, str], mathjax_dir: Path | None,
              report: PruneReport) -> dict[str, dict[str, str]]:
    """Writes one SVG file per distinct formula; {page: {formula source: its `<img>`}}."""
    sources = [s for t in texts.values() for s in math_sources(t)]
    if not sources:
        return {}
    if mathjax_dir is None or not (mathjax_dir / "es5" / "node-main.js").exists():
        report.formulas_missing = f"MathJax's npm package not found at {mathjax_dir} (bash scripts/vendor_assets.sh)"
        return {}
    try:
        got = prerender_math(sources, mathjax_dir)
    except Exception as exc:  # the build goes on: without JavaScript the TeX shows
        report.formulas_missing = f"{type(exc).__name__}: {exc}"
        return {}
    files: dict[str, Path] = {}
    for source, svg_html in got.items():
        svg = formula_svg(svg_html)
        dest = root / FORMULA_IMAGES / (hashlib.sha1(svg.encode()).hexdigest()[:16] + ".svg")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(svg, encoding="utf-8")
        files[source] = dest
    out: dict[str, dict[str, str]] = {}
    for rel, t in texts.items():
        for source in math_sources(t):
            if source in files:
                src = os.path.relpath(files[source], (root / rel).parent).replace(os.sep, "/")
                out.setdefault(rel, {})[source] = formula_image(got[source], src, _tex(source)[0])
                report.formulas += 1
    return out


def prune_build(html_dir: str | os.PathLike, mathjax_dir: str | os.PathLike | None = None,
                figures: bool = True, figure_cache: str | os.PathLike | None = None) -> PruneReport:
    """Rewrite every page of the HTML build in `html_dir` and delete the files no page loads.
    mathjax_dir: MathJax's npm package, for formulas readable without JavaScript (None: not done);
    figures: make each figure's static image (needs Chromium; without it the report says why);
    figure_cache: the folder of earlier builds' static images (FIGURE_CACHE; None: none)."""
    # long: one pass over the pages in the order the rewrites need (read, render, rewrite, prune)
    root = Path(html_dir)
    report = PruneReport()
    texts = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in _pages(root)}
    images = _static_figures(root, texts, report, Path(figure_cache) if figure_cache else None) if figures else {}
    formulas = _formulas(root, texts, Path(mathjax_dir), report) if mathjax_dir else {}
    for rel, old in texts.items():
        new, assets = rewrite_page(old, images.get(rel), formulas.get(rel))
        if new != old:
            atomic_write_text(root / rel, new)
        report.pages[rel] = assets
    static = root / "_static"
    unused = list(static.rglob("*.map")) + list((static / "scripts").glob("fontawesome.js*")) + [static / "locales"]
    vendor = static / "vendor"
    if not any(a.plotly for a in report.pages.values()):
        unused += list(vendor.glob("plotly*.min.js")) + list(vendor.glob("LICENSE.plotly*")) + [static / "rbdm-figures.js"]
    if not any(a.mathjax for a in report.pages.values()):
        unused += [vendor / "mathjax", vendor / "LICENSE.mathjax"]
    if not any(a.widgets for a in report.pages.values()):
        unused += [vendor / "html-manager", vendor / "require.js"]
    for path in unused:
        if not path.exists():
            continue
        report.bytes_removed += _size(path)
        report.removed.append(path.relative_to(root).as_posix())
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for js in list(static.rglob("*.js")) + list(static.rglob("*.css")):
        text = js.read_text(encoding="utf-8", errors="surrogateescape")
        if "sourceMappingURL=" in text:
            stripped = SOURCE_MAP_RE.sub("", text)
            if stripped != text:
                js.write_text(stripped, encoding="utf-8", errors="surrogateescape")
    return report


# --------------------------------------------------------------------------- page weight
def page_weights(html_dir: str | os.PathLike, viewport: tuple[int, int] = (1280, 900)) -> dict[str, dict[str, int]]:
    """What each page of the built book makes Chromium fetch with JavaScript on, in bytes:
    {page: {"html": the page, "plotly": the plotly bundle, "all": everything it loads}} (fonts,
    scripts MathJax loads on demand and images included; the static figure images are not fetched).
    Raises RuntimeError when Chromium cannot be driven."""
    problem = chromium_problem()
    if problem:
        raise RuntimeError(problem)
    from playwright.sync_api import sync_playwright  # deferred: playwright, only for this measurement

    root = Path(html_dir)

    httpd, url = serve_folder(root)
    out: dict[str, dict[str, int]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for page_path in _pages(root):
                    rel = page_path.relative_to(root).as_posix()
                    got: dict[str, int] = {}
                    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})

                    def on_response(r, got=got):
                        try:
                            got[r.url] = len(r.body())
                        except Exception:  # redirects and aborted requests have no body
                            pass

                    page.on("response", on_response)
                    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "data:"))
                               else r.abort())
                    page.goto(f"{url}/{rel}", wait_until="load")
                    page.wait_for_load_state("networkidle")
                    page.close()
                    out[rel] = {"html": page_path.stat().st_size,
                                "plotly": sum(v for u, v in got.items() if "/vendor/plotly" in u),
                                "all": sum(got.values())}
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return out


def weights_table(weights: dict[str, dict[str, int]]) -> str:
    """The README's table of page weights (MB) from `page_weights`."""
    rows = ["| page | page HTML | plotly.js | everything it loads |", "| --- | --- | --- | --- |"]
    for rel, w in weights.items():
        rows.append(f"| {rel} | {w['html'] / 1e6:.2f} MB | {w['plotly'] / 1e6:.2f} MB | {w['all'] / 1e6:.2f} MB |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """`python -m rbdm_core.book_assets weights HTML_DIR`: the page weights as a Markdown table."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "weights":
        print("usage: python -m rbdm_core.book_assets weights HTML_DIR", file=sys.stderr)
        return 2
    if not (Path(args[1]) / "index.html").exists():
        print(f"book_assets: {args[1]} is not a built book (no index.html)", file=sys.stderr)
        return 2
    print(weights_table(page_weights(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
