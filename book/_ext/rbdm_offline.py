"""Sphinx extension: serve every script the book needs from the book's own files.

At the end of an HTML build it copies into `<html>/_static/vendor/`:
  plotly-cartesian.min.js, require.js, html-manager/, mathjax/   from book/_vendor/dist
  (scripts/vendor_assets.sh, npm ci); the plotly.js partial bundle must be the version of the
  installed plotly Python package (the one that made the figures), checked at the build's start
`_config.yml` points `html_js_files`, `mathjax_path` and `nb_ipywidgets_js` at these paths. The
vendored trees are deliberately not in `_static/` of the source: Jupyter Book would add a script
tag for every .js file found there.
Then `rbdm_core.book_assets.prune_build` trims each page to the scripts it uses (plotly only where a
figure is, deferred; MathJax only where math is; no fontawesome.js), gives every figure a static
image (headless Chromium) and every formula an SVG for readers without JavaScript (MathJax in
node), and deletes what no page loads (source maps, unused vendored trees). Without Chromium the
build still succeeds and warns that figures have no static image.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR_DIST = Path(__file__).resolve().parents[1] / "_vendor" / "dist"
MATHJAX_NPM = VENDOR_DIST.parent / "node_modules" / "mathjax"
PLOTLY_BUNDLE = "plotly-cartesian.min.js"
VERSION_RE = re.compile(r"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+)")


def plotly_version(path: Path) -> str:
    """The plotly.js version in a bundle's banner ('' when there is none)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        m = VERSION_RE.search(f.read(400))
    return m.group(1) if m else ""


def check_plotly() -> None:
    """The vendored partial bundle is the plotly.js of the installed plotly Python package."""
    import plotly

    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    bundle = VENDOR_DIST / PLOTLY_BUNDLE
    if not bundle.exists():
        raise ExtensionError(f"rbdm_offline: {bundle} is missing; run `bash scripts/vendor_assets.sh`")
    want, got = plotly_version(full), plotly_version(bundle)
    if want and got != want:
        raise ExtensionError(f"rbdm_offline: {bundle.name} is plotly.js {got or '?'} but the plotly Python package "
                             f"draws with plotly.js {want}: set plotly.js-cartesian-dist-min to {want} in "
                             "book/package.json, `npm install --package-lock-only` in book/, and rerun "
                             "`bash scripts/vendor_assets.sh`")


def check_vendor(app) -> None:
    if app.builder.format != "html":
        return
    check_plotly()
    if not (VENDOR_DIST / "mathjax" / "tex-mml-chtml.js").exists():
        raise ExtensionError(
            f"rbdm_offline: {VENDOR_DIST} is missing; run `bash scripts/vendor_assets.sh` "
            "(installs the pinned require.js, ipywidgets HTML manager and MathJax from npm)"
        )


def copy_vendor(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "vendor"
    dest.mkdir(parents=True, exist_ok=True)
    for item in VENDOR_DIST.iterdir():
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    from rbdm_core.book_assets import FIGURE_CACHE, prune_build

    report = prune_build(app.outdir, mathjax_dir=MATHJAX_NPM, figure_cache=Path(app.outdir).parent / FIGURE_CACHE)
    logger.info(f"rbdm_offline: {len(report.removed)} unused asset(s) removed "
                f"({report.bytes_removed / 1e6:.1f} MB): {', '.join(report.removed)}")
    logger.info(f"rbdm_offline: {report.images} static figure image(s) ({report.images_cached} from "
                f"{FIGURE_CACHE}), {report.formulas} formula(s) pre-rendered for readers without JavaScript")
    if report.images_missing:
        logger.warning("rbdm_offline: figures have no static image (readers without JavaScript and "
                       f"print see a note instead): {report.images_missing}")
    if report.formulas_missing:
        logger.warning(f"rbdm_offline: formulas are not pre-rendered (without JavaScript the TeX "
                       f"shows): {report.formulas_missing}")


def setup(app):
    app.connect("builder-inited", check_vendor)
    app.connect("build-finished", copy_vendor)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
