"""Sphinx extension: serve every script the book needs from the book's own files.

At the end of an HTML build it copies into `<html>/_static/vendor/`:
  plotly.min.js      from the installed plotly Python package (the version that made the figures)
  require.js, html-manager/, mathjax/   from book/_vendor/dist (scripts/vendor_assets.sh, npm ci)
`_config.yml` points `html_js_files`, `mathjax_path` and `nb_ipywidgets_js` at these paths. The
vendored trees are deliberately not in `_static/` of the source: Jupyter Book would add a script
tag for every .js file found there.
Then `rbdm_core.book_assets.prune_build` trims each page to the scripts it uses (plotly only where a
figure is, deferred; MathJax only where math is; no fontawesome.js) and deletes what no page loads
(source maps, unused vendored trees).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR_DIST = Path(__file__).resolve().parents[1] / "_vendor" / "dist"


def plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise ExtensionError(f"rbdm_offline: {path} not found (is plotly installed?)")
    return path


def check_vendor(app) -> None:
    if app.builder.format != "html":
        return
    plotly_js()
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
    shutil.copy2(plotly_js(), dest / "plotly.min.js")
    for item in VENDOR_DIST.iterdir():
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    from rbdm_core.book_assets import prune_build

    report = prune_build(app.outdir)
    logger.info(f"rbdm_offline: {len(report.removed)} unused asset(s) removed "
                f"({report.bytes_removed / 1e6:.1f} MB): {', '.join(report.removed)}")


def setup(app):
    app.connect("builder-inited", check_vendor)
    app.connect("build-finished", copy_vendor)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
