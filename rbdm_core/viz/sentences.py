"""Generated sentences shown as prose that wraps (`prose` -> `Prose`), never as `print` output.

A `Prose` is a list of blocks: a string is a paragraph, a list of strings a bulleted list. Its
`text/html` is escaped HTML (`<div class="rbdm-prose">`, paragraphs and lists; inline `` `code` ``
and `**bold**` are the only markup read), its `text/plain` the same words, one paragraph or "- item"
per line. `kind="answer"` marks the short answer a page opens with (`rbdm-answer`, styled by
book/_static/rbdm.css); MyST-NB's glue can paste it into another page.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

_CODE_RE = re.compile(r"`([^`]+)`")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
KINDS = ("prose", "answer")


def inline_html(text: str) -> str:
    """`text` escaped for HTML, with `` `code` `` as <code> and `**bold**` as <strong>."""
    parts = _CODE_RE.split(text)
    out = []
    for k, part in enumerate(parts):
        if k % 2:  # inside backticks: code, no other markup
            out.append(f"<code>{html.escape(part)}</code>")
        else:
            out.append(_BOLD_RE.sub(lambda m: f"<strong>{m.group(1)}</strong>", html.escape(part)))
    return "".join(out)


def _plain(text: str) -> str:
    return _BOLD_RE.sub(lambda m: m.group(1), text)


class Prose:
    """Paragraphs and lists of generated sentences (see the module docstring)."""

    def __init__(self, blocks: Sequence[str | Sequence[str]], kind: str = "prose"):
        self.blocks = [b if isinstance(b, str) else list(b) for b in blocks]
        self.kind = kind

    def _repr_html_(self) -> str:
        cls = "rbdm-prose" + (" rbdm-answer" if self.kind == "answer" else "")
        out = [f'<div class="{cls}">']
        for b in self.blocks:
            if isinstance(b, str):
                out.append(f"<p>{inline_html(b)}</p>")
            else:
                out.append("<ul>" + "".join(f"<li>{inline_html(s)}</li>" for s in b) + "</ul>")
        out.append("</div>")
        return "\n".join(out)

    def __repr__(self) -> str:
        lines = []
        for b in self.blocks:
            lines += [_plain(b)] if isinstance(b, str) else [f"- {_plain(s)}" for s in b]
        return "\n".join(lines)


def prose(*blocks: str | Sequence[str], kind: str = "prose") -> Prose:
    """Sentences for display (last expression of a cell, or `display(prose(...))`): each argument
    a paragraph (str) or a bulleted list (a list of str); empty paragraphs and lists are left out."""
    if kind not in KINDS:
        raise ValueError(f"prose: kind must be one of {KINDS}, got {kind!r}")
    kept = []
    for k, b in enumerate(blocks):
        items = [b] if isinstance(b, str) else b
        if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) for s in items):
            raise ValueError(f"prose: block {k} must be a str (a paragraph) or a list of str (a list), got {b!r}")
        if any(s.strip() for s in items):
            kept.append(b if isinstance(b, str) else [s for s in items if s.strip()])
    if not kept:
        raise ValueError("prose: nothing to show (every block is empty)")
    return Prose(kept, kind=kind)


def prose_lines(lines: Sequence[str], kind: str = "prose") -> Prose:
    """Lines written for a terminal (a library's `*_lines` functions) as prose: each unindented line
    a paragraph, the indented lines after it a bulleted list under it; words unchanged (the
    indentation and line ends become layout)."""
    if isinstance(lines, str) or not all(isinstance(ln, str) for ln in lines):
        raise ValueError(f"prose_lines: expected a list of str, got {lines!r}")
    blocks: list[str | list[str]] = []
    for line in (ln for text in lines for ln in text.splitlines()):
        if line[:1].isspace() and line.strip():
            if blocks and isinstance(blocks[-1], list):
                blocks[-1].append(line.strip())
            else:
                blocks.append([line.strip()])
        elif line.strip():
            blocks.append(line.strip())
    return prose(*blocks, kind=kind)
