"""Generated prose and tables that fit (issue 28): viz.prose's HTML and text, viz.table's cell
classes, badges, data labels and its estimate of the width it needs."""

import pandas as pd
import pytest

from rbdm_core import viz
from rbdm_core.viz import tables


def test_prose_paragraphs_and_lists_are_escaped_html_and_the_same_words_as_text():
    p = viz.prose("a < b: **yes**, see `rbdm run 06`", ["one & two", "three"], kind="answer")
    html = p._repr_html_()
    assert html.startswith('<div class="rbdm-prose rbdm-answer">')
    assert "<p>a &lt; b: <strong>yes</strong>, see <code>rbdm run 06</code></p>" in html
    assert "<ul><li>one &amp; two</li><li>three</li></ul>" in html
    assert repr(p) == "a < b: yes, see `rbdm run 06`\n- one & two\n- three"
    # markup inside code is shown as typed, and empty blocks are left out
    assert "<code>**x**</code>" in viz.prose("`**x**`", "", [])._repr_html_()


def test_prose_rejects_what_it_cannot_show():
    with pytest.raises(ValueError, match="kind must be one of"):
        viz.prose("x", kind="shout")
    with pytest.raises(ValueError, match="block 0 must be a str"):
        viz.prose(3)
    with pytest.raises(ValueError, match="nothing to show"):
        viz.prose("", [" "])


def test_table_cells_carry_their_column_label_and_kind():
    t = viz.table(pd.DataFrame({"claim": ["mean masking speeds up early learning (F1 at the switch)"],
                                "verdict": ["not confirmed"], "effect": ["-0.225 [-0.516, 0.066]"], "seeds": [3]}),
                  badges=["verdict"])
    html = t._repr_html_()
    assert '<td class="text long" data-label="claim">mean masking' in html
    assert ('<td class="badge" data-label="verdict"><span class="rbdm-badge rbdm-badge-not-confirmed">'
            "not confirmed</span></td>") in html
    assert '<td class="num" data-label="effect">-0.225 [-0.516,&nbsp;0.066]</td>' in html
    assert '<td class="num" data-label="seeds">3</td>' in html
    with pytest.raises(ValueError, match=r"badges \['verdikt'\] are not columns"):
        viz.table(pd.DataFrame({"verdict": ["x"]}), badges=["verdikt"])


def test_table_width_estimate_adds_each_columns_narrowest_width():
    """By hand: one column "ab cdef" (longest word 4 characters) with cells "1.5" (3) and
    "0.2 [0.1, 0.3]" (its longer half "[0.1, 0.3]": 10 characters): 10 characters and padding."""
    one = viz.table(pd.DataFrame({"ab cdef": ["1.5", "0.2 [0.1, 0.3]"]}))
    assert one.min_width_px() == pytest.approx(10 * tables.CHAR_PX + tables.CELL_PAD_PX)
    assert one.fit_width() is None and "rbdm-fit" not in one._repr_html_()
    # a long text column needs at least LONG_TEXT_PX; ten of them need a wide column
    long = "word " * 10
    wide = viz.table(pd.DataFrame({f"c{k}": [long] for k in range(10)}))
    assert wide.min_width_px() == pytest.approx(10 * (tables.LONG_TEXT_PX + tables.CELL_PAD_PX))
    assert wide.fit_width() == 1600 and 'class="rbdm-table rbdm-fit-1600"' in wide._repr_html_()
    mid = viz.table(pd.DataFrame({f"c{k}": [long] for k in range(3)}))  # 3 x 184 = 552 px, x 1.15 = 634.8
    assert mid.fit_width() == 660


def test_prose_lines_turn_indented_lines_into_a_list_under_their_paragraph():
    lines = ["negative masks (chance 0.125):", "    zero fill: 0.366", "    noisy fill: 0.168", "mean masks:",
             "a\n    b"]
    p = viz.prose_lines(lines)
    assert p.blocks == ["negative masks (chance 0.125):", ["zero fill: 0.366", "noisy fill: 0.168"], "mean masks:",
                        "a", ["b"]]
    with pytest.raises(ValueError, match="expected a list of str"):
        viz.prose_lines("one line")
