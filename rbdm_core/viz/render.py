"""Figures into the notebook and the book: stable ids, offline HTML, small notebooks.

`show(fig, name)` displays a figure as a `text/html` bundle, a `<div id="rbdm-fig-<name>">` plus a
`<script>` that calls `Plotly.newPlot` with the JSON of `fig.to_json()`. myst-nb (the book) drops
plotly's own mime type, so the HTML is what the book renders; plotly.js itself is NOT inlined: the
book loads it once per page from its own static files (`book/_config.yml`, `html_js_files`). The id
comes from `name`, so re-executing a notebook gives byte-identical output (nbval compares it).

Live notebooks: JupyterLab has no global `Plotly`, so by default the bundle also carries
`application/vnd.plotly.v1+json`, which JupyterLab/VS Code render natively. Book and regression
runs (`rbdm run`, `rbdm book`, `scripts/test.sh`) set `RBDM_FIGURE_MIME=html`, which leaves it
out: the committed notebooks stay small and nbval compares one rendering, not two.

`TEMPLATE` is the slim layout every figure is drawn with (its `colorway` the figures' colours).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ..figure_fit import fit

#: env var: "html" (book, nbval) or "html+json" (default: also plotly's mime type for live use)
FIGURE_MIME_ENV = "RBDM_FIGURE_MIME"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

#: A slim layout template (plotly's default template adds ~6 kB of JSON to every figure).
TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"],
        "xaxis": {"gridcolor": "#e5e5e5", "zerolinecolor": "#cccccc", "linecolor": "#444", "ticks": "outside"},
        "yaxis": {"gridcolor": "#e5e5e5", "zerolinecolor": "#cccccc", "linecolor": "#444", "ticks": "outside"},
        "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
        "hovermode": "closest",
    }
}

_CONFIG = {"responsive": True, "displaylogo": False}


def _go():
    import plotly.graph_objects as go  # deferred: plotly, slow to import

    return go


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"viz: figure name {name!r} must be 1-64 characters from [A-Za-z0-9_-], starting with a "
            "letter or digit (it becomes the stable HTML id rbdm-fig-<name>)"
        )
    return name


def _figure_json(fig) -> str:
    """Deterministic JSON of a figure with the slim template, its text fitted to the book's column
    (`figure_fit.fit`: margins, subplot titles, tick labels, hover formats); `fig` is not modified."""
    go = _go()
    fig = go.Figure(fig)
    fig.layout.template = go.layout.Template(TEMPLATE)  # replaces (update_layout would merge)
    fit(fig)
    return fig.to_json(validate=False, pretty=False)


def figure_html(fig, name: str, height: int | None = None) -> str:
    """The `text/html` rendering of `fig`: a div `rbdm-fig-<name>` and a script drawing it.

    Waits for `window.Plotly` (loaded once per page by the book); the JSON's `</` is escaped so the
    payload cannot close the script tag. `height` in px defaults to the layout's height or 450.
    """
    name = _check_name(name)
    spec = _figure_json(fig)
    if height is None:
        height = fig.layout.height if getattr(fig, "layout", None) is not None and fig.layout.height else 450
    spec = spec.replace("</", "<\\/")
    div_id = f"rbdm-fig-{name}"
    return (
        f'<div id="{div_id}" class="rbdm-figure" style="width:100%;height:{int(height)}px;"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f'  var id = "{div_id}", spec = {spec};\n'
        f"  var config = {json.dumps(_CONFIG, sort_keys=True)};\n"
        "  function draw() { Plotly.newPlot(id, spec.data, spec.layout || {}, config); }\n"
        "  if (window.Plotly) { draw(); }\n"
        "  else { window.addEventListener('load', function () {\n"
        "    if (window.Plotly) { draw(); }\n"
        "    else { document.getElementById(id).textContent = 'plotly.js is not loaded on this page'; }\n"
        "  }); }\n"
        "})();\n"
        "</script>"
    )


def bundle(fig, name: str, height: int | None = None, mime: str | None = None) -> dict[str, Any]:
    """The mime bundle `show` displays: `text/html`, `text/plain`, and unless
    `mime`/`$RBDM_FIGURE_MIME` is "html", plotly's own JSON for live notebooks."""
    mime = mime or os.environ.get(FIGURE_MIME_ENV, "html+json")
    if mime not in ("html", "html+json"):
        raise ValueError(f"viz: {FIGURE_MIME_ENV} must be 'html' or 'html+json', got {mime!r}")
    title = getattr(getattr(getattr(fig, "layout", None), "title", None), "text", None)
    out: dict[str, Any] = {
        "text/html": figure_html(fig, name, height),
        "text/plain": f"<plotly figure rbdm-fig-{name}{': ' + title if title else ''}>",
    }
    if mime == "html+json":
        out[PLOTLY_MIME] = json.loads(_figure_json(fig))
    return out


def show(fig, name: str, height: int | None = None) -> None:
    """Display `fig` in the notebook (and hence the book) under the stable id `rbdm-fig-<name>`.

    Names must be unique within a chapter. Returns None (so a trailing call shows it once)."""
    from IPython.display import display  # deferred: IPython, only when a figure is shown in a kernel

    display(bundle(fig, name, height), raw=True)
