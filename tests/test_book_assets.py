"""Page weight: each built page keeps only the scripts its content uses (rbdm_core.book_assets)."""

from __future__ import annotations

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
