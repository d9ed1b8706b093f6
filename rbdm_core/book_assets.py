"""Page weight of the built book: each page loads only the scripts its content uses.

Run on the HTML folder after a Jupyter Book build (`book/_ext/rbdm_offline.py`, build-finished):

- plotly.min.js (4.8 MB) only on pages that hold a figure (`rbdm_core.viz` divs, class
  `rbdm-figure`), and `defer`red there (the figures' scripts draw on `load`); kept blocking on a page
  that also loads require.js, where plotly must define `window.Plotly` before an AMD loader exists;
- MathJax (and its config) only on pages that hold math (`class="math ..."` elements);
- fontawesome.js (1.5 MB) nowhere: the theme's CSS already draws the same icons from the
  Font Awesome web font, the script only swaps them for SVGs;
- files no page loads are removed: source maps (and their `sourceMappingURL` comments),
  fontawesome.js, the theme's translation catalogues (`_static/locales`, read at build time), and a vendored tree (plotly, MathJax, the ipywidgets manager with require.js)
  that no page references.

- readers without JavaScript see, in place of each figure's empty box, a note with the figure's
  title (`<noscript>`). A static image of a plotly figure cannot be made without a browser:
  plotly's image export (Kaleido) is a headless Chromium, which the book build does not need.

Every rewrite is idempotent (a second pass changes nothing), so incremental builds are safe.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rbdm_core.artifacts import atomic_write_text

FIGURE_MARK = 'class="rbdm-figure"'
MATH_RE = re.compile(r'class="math[ "]')
PLOTLY_TAG_RE = re.compile(r'<script(?: defer(?:="defer")?)? src="([^"]*_static/vendor/plotly\.min\.js[^"]*)"></script>')
FONTAWESOME_TAG_RE = re.compile(r'[ \t]*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>\n?')
MATHJAX_TAG_RE = re.compile(r'[ \t]*<script[^>]*src="[^"]*_static/vendor/mathjax/[^"]*"[^>]*></script>\n?')
MATHJAX_CONFIG_RE = re.compile(r'[ \t]*<script>window\.MathJax = .*?</script>\n?', re.S)
REQUIRE_RE = re.compile(r'<script[^>]*src="[^"]*_static/vendor/(?:require\.js|html-manager/)')
FIGURE_DIV_RE = re.compile(r'(<div id="(rbdm-fig-[A-Za-z0-9_-]+)" class="rbdm-figure"[^>]*></div>)(\n<script[^>]*>\n'
                           r'\(function \(\) \{\n  var id = "[^"]+", spec = (\{.*\});\n)?')
NOSCRIPT_STYLE = "<noscript><style>.rbdm-figure{display:none}</style></noscript>"
SOURCE_MAP_RE = re.compile(r"\n?//# sourceMappingURL=\S+\.map[ \t]*$|\n?/\*# sourceMappingURL=\S+?\.map ?\*/", re.M)


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


def figure_title(spec_json: str | None) -> str:
    """A figure's title as plain text from its plotly JSON ('' when it has none)."""
    if not spec_json:
        return ""
    try:
        spec, _ = json.JSONDecoder().raw_decode(spec_json.replace("<\\/", "</"))
        title = spec.get("layout", {}).get("title", "")
    except ValueError:
        return ""
    text = title.get("text", "") if isinstance(title, dict) else str(title or "")
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text.replace("<br>", " — "))).strip(" —")
    return html.escape(plain, quote=False)


def add_noscript(text: str) -> str:
    """A note after each figure for readers without JavaScript, and a style that hides the empty box."""
    if NOSCRIPT_STYLE in text or FIGURE_MARK not in text:
        return text

    def note(m: re.Match) -> str:
        title = figure_title(m.group(4))
        what = f"Figure “{title}”" if title else "A figure"
        return (m.group(1) + f'<noscript><p class="rbdm-noscript">[{what} ({m.group(2)}): an interactive plotly '
                "figure, shown when JavaScript is on.]</p></noscript>" + m.group(0)[len(m.group(1)):])

    text = FIGURE_DIV_RE.sub(note, text)
    return text.replace("</head>", NOSCRIPT_STYLE + "\n</head>", 1)


def rewrite_page(text: str) -> tuple[str, PageAssets]:
    """One page's HTML with only the scripts it uses (see the module docstring), and what it loads."""
    has_fig = FIGURE_MARK in text
    has_math = MATH_RE.search(text) is not None
    widgets = REQUIRE_RE.search(text) is not None
    text = FONTAWESOME_TAG_RE.sub("", text)
    if has_fig:
        text = add_noscript(text)
        defer = "" if widgets else " defer"
        text = PLOTLY_TAG_RE.sub(lambda m: f'<script{defer} src="{m.group(1)}"></script>', text)
    else:
        text = re.sub(r"[ \t]*" + PLOTLY_TAG_RE.pattern + r"\n?", "", text)
    if not has_math:
        text = MATHJAX_TAG_RE.sub("", text)
        text = MATHJAX_CONFIG_RE.sub("", text)
    assets = PageAssets(plotly=PLOTLY_TAG_RE.search(text) is not None,
                        mathjax=MATHJAX_TAG_RE.search(text) is not None, widgets=widgets)
    return text, assets


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def prune_build(html_dir: str | os.PathLike) -> PruneReport:
    """Rewrite every page of the HTML build in `html_dir` and delete the files no page loads."""
    root = Path(html_dir)
    report = PruneReport()
    for page in sorted(root.rglob("*.html")):
        rel = page.relative_to(root).as_posix()
        if rel.startswith(("_static/", "_sources/")):
            continue
        old = page.read_text(encoding="utf-8")
        new, assets = rewrite_page(old)
        if new != old:
            atomic_write_text(page, new)
        report.pages[rel] = assets
    static = root / "_static"
    unused = list(static.rglob("*.map")) + list((static / "scripts").glob("fontawesome.js*")) + [static / "locales"]
    vendor = static / "vendor"
    if not any(a.plotly for a in report.pages.values()):
        unused.append(vendor / "plotly.min.js")
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
