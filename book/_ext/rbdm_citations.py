"""Sphinx extension: the bibliography lists its entries under the same author-year labels the text
cites them with (`bibtex_reference_style: author_year` gives "[Schiller et al., 2020]" in the text;
pybtex's default "alpha" labels listed the entry as "[SHDAndre20]").

Registers the pybtex label style and formatting style "authoryear" (unsrt formatting, sorted by
author, year, title); `_config.yml` selects it with `bibtex_default_style: authoryear`.
"""

from __future__ import annotations

import re

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def plain_text(latex: str) -> str:
    """A BibTeX name as plain text: accents decoded ("Andr{\\'e}" -> "André"), braces dropped."""
    import codecs

    import latexcodec  # noqa: F401  (registers the "ulatex" codec; a pybtex dependency)

    return re.sub(r"[{}]", "", codecs.decode(latex, "ulatex"))


def author_year(entry) -> str:
    """"Last, 2020", "Last and Other, 2020" or "Last et al., 2020" (authors, else editors)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [plain_text(" ".join(p.prelast_names + p.last_names)) for p in people]
    who = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
           else f"{last[0]} et al." if last else entry.key)
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year(e) for e in sorted_entries]
        seen: dict[str, int] = {}
        for lab in labels:
            seen[lab] = seen.get(lab, 0) + 1
        count: dict[str, int] = {}
        for lab in labels:  # two works by the same authors in one year: 2020a, 2020b
            if seen[lab] > 1:
                count[lab] = count.get(lab, 0) + 1
                yield lab + "abcdefghijklmnopqrstuvwxyz"[count[lab] - 1]
            else:
                yield lab


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
