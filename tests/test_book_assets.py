"""Page weight: each built page keeps only the scripts its content uses (rbdm_core.book_assets)."""

from __future__ import annotations

import re
from pathlib import Path

import playwright.sync_api
import plotly
import pytest

from rbdm_core import book_assets as ba

HEAD = """<html><head>
    <script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>
    <script src="../_static/vendor/plotly.min.js"></script>
    <script src="../_static/doctools.js?v=9a2dae69"></script>
    <script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>
    <script defer="defer" src="../_static/vendor/mathjax/tex-mml-chtml.js"></script>
</head><body>BODY</body></html>"""
FIGURE = '<div id="rbdm-fig-a" class="rbdm-figure" style="width:100%;height:450px;"></div>'
MATH = '<span class="math notranslate nohighlight">\\(x\\)</span>'


def test_a_text_only_page_loads_neither_plotly_nor_mathjax_nor_fontawesome():
    page, assets = ba.rewrite_page(HEAD.replace("BODY", "<p>text</p>"))
    assert "plotly" not in page and "mathjax" not in page.lower() and "fontawesome" not in page
    assert "doctools.js" in page  # everything else is left alone
    assert assets == ba.PageAssets(plotly=False, mathjax=False, widgets=False)


def test_a_page_with_a_figure_defers_plotly_and_one_with_math_keeps_mathjax():
    page, assets = ba.rewrite_page(HEAD.replace("BODY", FIGURE + MATH))
    assert '<script defer src="../_static/vendor/plotly.min.js"></script>' in page
    assert "tex-mml-chtml.js" in page and "window.MathJax" in page
    assert assets.plotly and assets.mathjax and not assets.widgets
    assert ba.rewrite_page(page)[0] == page  # idempotent


def test_plotly_stays_blocking_where_require_js_defines_an_amd_loader():
    head = HEAD.replace("</head>", '<script src="../_static/vendor/require.js"></script></head>')
    page, assets = ba.rewrite_page(head.replace("BODY", FIGURE))
    assert '<script src="../_static/vendor/plotly.min.js"></script>' in page and assets.widgets


def test_prune_build_removes_what_no_page_loads(tmp_path):
    html = tmp_path / "html"
    (html / "_static" / "scripts").mkdir(parents=True)
    (html / "_static" / "vendor" / "mathjax").mkdir(parents=True)
    (html / "_static" / "vendor" / "html-manager").mkdir(parents=True)
    (html / "_static" / "locales" / "de").mkdir(parents=True)
    files = {
        "_static/scripts/fontawesome.js": "x" * 100,
        "_static/scripts/bootstrap.js": "code();\n//# sourceMappingURL=bootstrap.js.map",
        "_static/scripts/bootstrap.js.map": "{}",
        "_static/styles.css": "a{}\n/*# sourceMappingURL=styles.css.map*/",
        "_static/vendor/plotly.min.js": "p" * 10,
        "_static/vendor/require.js": "r",
        "_static/vendor/html-manager/embed-amd.js": "e",
        "_static/vendor/mathjax/tex-mml-chtml.js": "m",
        "_static/locales/de/x.mo": "l",
        "a.html": HEAD.replace("BODY", FIGURE),
        "b.html": HEAD.replace("BODY", "<p>text</p>"),
    }
    for rel, text in files.items():
        (html / rel).write_text(text)
    report = ba.prune_build(html)
    assert report.pages["a.html"].plotly and not report.pages["b.html"].plotly
    for gone in ("_static/scripts/fontawesome.js", "_static/scripts/bootstrap.js.map", "_static/vendor/mathjax",
                 "_static/vendor/html-manager", "_static/vendor/require.js", "_static/locales"):
        assert not (html / gone).exists(), gone
    assert (html / "_static/vendor/plotly.min.js").exists()  # page a uses it
    assert (html / "_static/scripts/bootstrap.js").read_text() == "code();"
    assert (html / "_static/styles.css").read_text() == "a{}"
    assert report.bytes_removed == 100 + 2 + 1 + 1 + 1 + 1  # fontawesome, map, mathjax, manager, require, locales
    again = ba.prune_build(html)
    assert again.removed == [] and (html / "a.html").read_text() == ba.rewrite_page(files["a.html"])[0]


def test_figures_get_a_note_for_readers_without_javascript():
    spec = '{"data":[],"layout":{"title":{"text":"Curves<br><sup>3 seeds<\\/sup>"}}}'
    body = (FIGURE + '\n<script type="text/javascript">\n(function () {\n  var id = "rbdm-fig-a", spec = '
            + spec + ';\n  var config = {};\n})();\n</script>')
    page, _ = ba.rewrite_page(HEAD.replace("BODY", body))
    assert page.count('<p class="rbdm-noscript">') == 1
    assert "[Figure “Curves — 3 seeds” (rbdm-fig-a)" in page
    assert ba.NOSCRIPT_STYLE in page.split("</head>")[0]  # the empty box is hidden without JavaScript
    assert ba.rewrite_page(page)[0] == page
    bare, _ = ba.rewrite_page(HEAD.replace("BODY", "<p>text</p>"))
    assert "noscript" not in bare


def test_bibliography_labels_are_author_year():
    import sys

    from pybtex.database import parse_string

    sys.path.insert(0, str(__import__("rbdm_core.book_build").book_build.BOOK_DIR / "_ext"))
    try:
        import rbdm_citations as rc
    finally:
        sys.path.pop(0)
    bib = parse_string(r"""
@article{a, author = {Schiller, Dominik and Huber, Tobias and Andr{\'e}, Elisabeth}, title = {T}, year = {2020}}
@article{b, author = {Andr{\'e}, Elisabeth and Huber, Tobias}, title = {U}, year = {2019}}
@article{c, author = {Blignaut, Pieter}, title = {V}, year = {2010}}
@article{d, author = {Blignaut, Pieter}, title = {W}, year = {2010}}
""", "bibtex")
    entries = list(bib.entries.values())
    assert list(rc.AuthorYearLabelStyle().format_labels(entries)) == [
        "Schiller et al., 2020", "André and Huber, 2019", "Blignaut, 2010a", "Blignaut, 2010b"]


SPEC_SCRIPT = ('\n<script type="text/javascript">\n(function () {\n  var id = "rbdm-fig-a", spec = '
               '{"data":[{"type":"bar","y":[1,2]}],"layout":{"title":{"text":"Bars"}}};\n  var config = {};\n'
               "  function draw() { Plotly.newPlot(id, spec.data, spec.layout || {}, config); }\n})();\n</script>")


def test_a_figure_with_a_static_image_shows_it_without_javascript_and_draws_through_rbdm_plot():
    page, _ = ba.rewrite_page(HEAD.replace("BODY", FIGURE + SPEC_SCRIPT), images={"rbdm-fig-a": "../_static/figures/a.svg"})
    assert page.count('<img class="rbdm-static" src="../_static/figures/a.svg"') == 1
    assert 'loading="lazy" width="680" height="450"' in page  # no layout width: the column's 680 px
    assert 'alt="Figure “Bars” (rbdm-fig-a), a static image' in page
    assert "rbdm-noscript" not in page  # the image stands in for the note
    assert ba.DRAW_NEW in page and ba.DRAW_OLD not in page
    assert page.index(ba.JS_FLAG) < page.index("</head>")  # set before the body: CSS hides the image
    assert ba.rewrite_page(page, images={"rbdm-fig-a": "../_static/figures/a.svg"})[0] == page  # idempotent


def test_page_figures_read_the_spec_and_the_drawn_size():
    figs = ba.page_figures(FIGURE.replace("height:450px", "height:321px") + SPEC_SCRIPT)
    assert [(f.fid, f.width, f.height, f.spec["data"][0]["type"]) for f in figs] == [("rbdm-fig-a", 680, 321, "bar")]
    sized = SPEC_SCRIPT.replace('"layout":{', '"layout":{"width":500,"height":300,')
    assert [(f.width, f.height) for f in ba.page_figures(FIGURE + sized)] == [(500, 300)]


def test_formulas_get_an_image_for_readers_without_javascript():
    src = "\\(x^2\\)"
    body = f'<span class="math notranslate nohighlight">{src}</span>'
    svg = ('<mjx-container class="MathJax" jax="SVG"><svg style="vertical-align: -0.025ex;" '
           'xmlns="http://www.w3.org/2000/svg" width="2.282ex" height="1.912ex" role="img"><g fill="currentColor"></g>'
           '</svg></mjx-container>')
    img = ba.formula_image(svg, "../_static/math/x.svg", ba._tex(src)[0])
    assert img == ('<img src="../_static/math/x.svg" alt="x^2" '
                   'style="vertical-align:-0.025ex;width:2.282ex;height:1.912ex">')
    assert ba.formula_svg(svg).startswith("<svg") and "currentColor" not in ba.formula_svg(svg)
    page, assets = ba.rewrite_page(HEAD.replace("BODY", body), formulas={src: img})
    assert f'{body}<noscript class="rbdm-math">{img}</noscript>' in page and assets.mathjax
    assert ba.MATH_NOSCRIPT_STYLE in page.split("</head>")[0]
    assert ba.rewrite_page(page, formulas={src: img})[0] == page
    assert ba._tex("\\[a\\]") == ("a", True) and ba._tex("\\(a &lt; b\\)") == ("a < b", False)


def test_prerender_math_typesets_tex_with_the_vendored_mathjax():
    import pytest

    from rbdm_core.book_build import BOOK_DIR

    mathjax = BOOK_DIR / "_vendor" / "node_modules" / "mathjax"
    if not (mathjax / "es5" / "node-main.js").exists():
        pytest.skip("book/_vendor not installed (bash scripts/vendor_assets.sh)")
    got = ba.prerender_math(["\\(x^2\\)", "\\[\\frac{a}{b}\\]", "\\(x^2\\)"], mathjax)
    assert sorted(got) == ["\\(x^2\\)", "\\[\\frac{a}{b}\\]"]
    assert 'display="true"' in got["\\[\\frac{a}{b}\\]"] and "<svg" in got["\\(x^2\\)"]
    assert 'data-mml-node="mfrac"' in got["\\[\\frac{a}{b}\\]"]  # typeset as a fraction


def test_without_chromium_figures_keep_a_note_and_the_report_says_why(tmp_path, monkeypatch):
    html = tmp_path / "html"
    (html / "_static" / "vendor").mkdir(parents=True)
    (html / "_static" / "vendor" / "plotly-cartesian.min.js").write_text("p")
    (html / "a.html").write_text(HEAD.replace("BODY", FIGURE + SPEC_SCRIPT))
    monkeypatch.setattr(ba, "CHROMIUM", str(tmp_path / "no-chromium"))
    report = ba.prune_build(html)
    assert report.images == 0 and "not found" in report.images_missing and "RBDM_WITH_BROWSER=1" in report.images_missing
    page = (html / "a.html").read_text()
    assert "[Figure “Bars” (rbdm-fig-a)" in page and "rbdm-static" not in page


def test_weights_table_is_markdown_in_megabytes():
    table = ba.weights_table({"a.html": {"html": 120_000, "plotly": 1_500_041, "all": 2_590_000}})
    assert table.splitlines()[2] == "| a.html | 0.12 MB | 1.50 MB | 2.59 MB |"


# --------------------------------------------------------------------------- static figures: stable and cached
def test_stable_ids_replace_plotlys_random_id_only_where_it_names_an_element():
    uid = "7452ad"
    svg = (f'<svg><defs id="defs-{uid}"><g class="clips"><clipPath id="clip{uid}xyplot"/></g>'
           f'<linearGradient id="g{uid}-cb0"/></defs><g id="topdefs-{uid}"><clipPath id="legend{uid}"/></g>'
           f'<rect clip-path="url(#clip{uid}xyplot)" style="fill: url(\'#g{uid}-cb0\');"/>'
           f'<g clip-path="url(#legend{uid})"/><image href="data:image/png;base64,AAA{uid}BBB"/></svg>')
    want = ('<svg><defs id="defs-static"><g class="clips"><clipPath id="clipstaticxyplot"/></g>'
            '<linearGradient id="gstatic-cb0"/></defs><g id="topdefs-static"><clipPath id="legendstatic"/></g>'
            '<rect clip-path="url(#clipstaticxyplot)" style="fill: url(\'#gstatic-cb0\');"/>'
            f'<g clip-path="url(#legendstatic)"/><image href="data:image/png;base64,AAA{uid}BBB"/></svg>')
    assert ba.stable_ids(svg) == want  # the same characters inside the image data stay
    assert ba.stable_ids(want) == want and ba.stable_ids("<svg/>") == "<svg/>"


def _figure(fid="rbdm-fig-a", width=300, height=200, y=(1, 3, 2)):
    return ba.Figure(fid, {"data": [{"type": "scatter", "y": list(y)}, {"type": "heatmap", "z": [[1, 2], [3, 4]]}],
                           "layout": {"title": {"text": "T"}}}, width, height)


def test_a_figures_cache_key_follows_what_its_image_depends_on_and_not_its_name(tmp_path):
    bundle = tmp_path / "plotly.min.js"
    bundle.write_text("plotly one")

    def key(fig):
        return ba.figure_keys([fig], bundle)[fig.fid]

    base = key(_figure())
    assert key(_figure(fid="rbdm-fig-b")) == base  # the same figure on another page: the same image
    assert len({base, key(_figure(width=301)), key(_figure(height=201)), key(_figure(y=(1, 3, 3)))}) == 4
    bundle.write_text("plotly two")
    assert key(_figure()) != base


def test_prune_build_takes_cached_figures_without_starting_chromium_and_drops_stale_ones(tmp_path, monkeypatch):
    html = tmp_path / "html"
    (html / "_static" / "vendor").mkdir(parents=True)
    (html / "_static" / "vendor" / "plotly-cartesian.min.js").write_text("p")
    (html / "a.html").write_text(HEAD.replace("BODY", FIGURE + SPEC_SCRIPT))
    cache = tmp_path / ba.FIGURE_CACHE
    cache.mkdir()
    fig = ba.page_figures(FIGURE + SPEC_SCRIPT)[0]
    key = ba.figure_keys([fig], html / "_static" / "vendor" / "plotly-cartesian.min.js")[fig.fid]
    (cache / f"{key}.svg").write_text("<svg>cached</svg>")
    (cache / "stale.svg").write_text("<svg>old</svg>")
    monkeypatch.setattr(ba, "chromium_problem", lambda: "")

    def no_browser():
        raise AssertionError("Chromium started although every figure was in the cache")

    monkeypatch.setattr(playwright.sync_api, "sync_playwright", no_browser)
    report = ba.prune_build(html, figure_cache=cache)
    assert (report.images, report.images_cached, report.images_missing) == (1, 1, "")
    assert (html / "_static" / "figures" / "a" / "rbdm-fig-a.svg").read_text() == "<svg>cached</svg>"
    assert sorted(p.name for p in cache.iterdir()) == [f"{key}.svg"]  # only this build's figures stay


def test_static_images_are_the_same_bytes_on_every_render_and_come_back_from_the_cache(tmp_path, monkeypatch):
    if ba.chromium_problem():
        pytest.skip(ba.chromium_problem())
    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    figs = [_figure(), _figure("rbdm-fig-b", y=(2, 2, 5))]
    first, second = ba.render_figure_images(figs, bundle), ba.render_figure_images(figs, bundle)
    assert first == second  # plotly's random layout and trace ids made stable
    assert 'id="defs-static"' in first["rbdm-fig-a"] and "trace0" in first["rbdm-fig-a"]
    assert not re.search(r'(id="|#)(clip|defs-|legend|g)[0-9a-f]{6}', first["rbdm-fig-a"])
    cache = tmp_path / "cache"
    assert ba.render_figure_images(figs, bundle, cache) == first
    keys = ba.figure_keys(figs, bundle)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{k}.svg" for k in keys.values())

    def no_browser():
        raise AssertionError("Chromium started although every figure was in the cache")

    monkeypatch.setattr(playwright.sync_api, "sync_playwright", no_browser)
    assert ba.render_figure_images(figs[::-1], bundle, cache) == {f.fid: first[f.fid] for f in figs[::-1]}
