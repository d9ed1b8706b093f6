"""DataFrames as stable HTML tables (`table` -> `Table`) that fit their column: numbers and
intervals right-aligned, text left-aligned and wrapping, whole-number float columns printed as
integers, NaN as an empty cell, chosen columns as badges; a table too wide for its column shows
each row as a stacked card instead (book/_static/rbdm.css, by the `rbdm-fit-<px>` class)."""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd


_NUMBER_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$", re.I)
#: "0.212 [0.201, 0.223]", "+0.061 [+0.024, +0.098]": a value and its interval
_INTERVAL_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%? \[[^\[\]]+, [^\[\]]+\]$", re.I)
#: the column widths (px) at which a table stops fitting: a table whose estimated narrowest layout
#: needs more than one of these is stacked in a column narrower than it (rbdm.css has one rule each)
FIT_WIDTHS = (360, 420, 480, 540, 600, 660, 720, 800, 900, 1000, 1200, 1600)
#: estimated width of one character of a table cell (px: 0.9 x 16 px sans-serif) and a cell's padding
CHAR_PX, CELL_PAD_PX = 7.6, 24
#: the estimate times this is the width a table is given: measured in Chromium on the book's 23
#: tables of chapters 1, 4, 5 and 9, the narrowest layout was 0.84 to 1.125 times the estimate
FIT_MARGIN = 1.15
#: a text column whose longest cell has more characters than this gets a minimum width (rbdm.css: 11em)
LONG_TEXT = 30
LONG_TEXT_PX = 160


def _is_number(v: Any) -> bool:
    """A number, or a string that reads as one ("0.208", "-3", "1e-05", "12%")."""
    if isinstance(v, str):
        return bool(_NUMBER_RE.match(v.strip()))
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _is_interval(v: Any) -> bool:
    return isinstance(v, str) and bool(_INTERVAL_RE.match(v.strip()))


def _slug(text: str) -> str:
    """"not confirmed" -> "not-confirmed"; "cannot be decided with 3 seeds (needs 9)" -> "cannot"."""
    words = re.findall(r"[a-z]+", text.lower())
    if words[:2] == ["not", "confirmed"]:
        return "not-confirmed"
    return words[0] if words else "none"


class Table:
    """A DataFrame shown as an HTML table (`text/html`) and plain text (`text/plain`).
    badges: columns whose cells are shown as a badge (e.g. "verdict")."""

    def __init__(self, df: pd.DataFrame, float_format: str = "{:.4g}", caption: str | None = None, index: bool = False,
                 badges: Sequence[str] = ()):
        self.df = df
        self.float_format = float_format
        self.caption = caption
        self.index = index
        self.badges = tuple(badges)

    def _fmt(self, v: Any, integral: bool = False) -> str:
        if isinstance(v, (float, np.floating)):
            if np.isnan(v):
                return ""
            return str(int(v)) if integral else self.float_format.format(float(v))
        return str(v)

    def _integral(self) -> list[bool]:
        """Per column: a float column whose values are all whole numbers (e.g. epochs, counts that
        went through a mean of one) prints as integers, "4" not "4.000"."""
        out = []
        for c in self.df.columns:
            col = self.df[c]
            vals = col.to_numpy(dtype=np.float64, na_value=np.nan) if pd.api.types.is_float_dtype(col) else None
            fin = vals[np.isfinite(vals)] if vals is not None else None
            out.append(bool(fin is not None and fin.size and np.all(fin == np.round(fin)) and np.all(np.abs(fin) < 1e15)))
        return out

    def _rows(self) -> tuple[list[str], list[list[tuple[Any, str]]]]:
        """Header labels and, per row, (value, formatted text) per column (the index first if shown)."""
        df = self.df
        head = ([str(df.index.name or "")] if self.index else []) + [str(c) for c in df.columns]
        integral = self._integral()
        rows = []
        for idx, row in zip(df.index, df.itertuples(index=False)):
            vals = ([idx] if self.index else []) + list(row)
            cells = ([self._fmt(idx)] if self.index else []) + [self._fmt(v, i) for v, i in zip(row, integral)]
            rows.append(list(zip(vals, cells)))
        return head, rows

    def min_width_px(self) -> float:
        """Estimated width (px) of the table's narrowest layout: per column the longest word of its
        header or of a text cell (at least `LONG_TEXT_PX` for a long text column), or the longer half
        of an interval, or a whole number, plus padding."""
        head, rows = self._rows()
        total = 0.0
        for j, h in enumerate(head):
            chars = max([len(w) for w in h.split()] or [0])
            long_text = False
            for v, text in (r[j] for r in rows):
                if _is_interval(text):
                    value, ci = text.split(" ", 1)
                    chars = max(chars, len(value), len(ci))
                elif _is_number(v):
                    chars = max(chars, len(text))
                else:
                    chars = max(chars, max([len(w) for w in text.split()] or [0]))
                    long_text |= len(text) > LONG_TEXT
            total += max(chars * CHAR_PX, LONG_TEXT_PX if long_text else 0) + CELL_PAD_PX
        return total

    def fit_width(self) -> int | None:
        """The smallest of `FIT_WIDTHS` the table fits in (None: it fits the narrowest): in a column
        narrower than that the table is stacked."""
        need = self.min_width_px() * FIT_MARGIN
        if need <= FIT_WIDTHS[0]:
            return None
        return next((w for w in FIT_WIDTHS if need <= w), FIT_WIDTHS[-1])

    def _cell(self, v: Any, text: str, label: str, column: str | None) -> str:
        attr = f' data-label="{html.escape(label)}"'
        if column is not None and column in self.badges and text:
            return f'<td class="badge"{attr}><span class="rbdm-badge rbdm-badge-{_slug(text)}">{html.escape(text)}</span></td>'
        if _is_interval(text):
            value, ci = text.strip().split(" ", 1)
            # the interval may go under its value, but never breaks inside itself
            return f'<td class="num"{attr}>{html.escape(value)} {html.escape(ci).replace(" ", "&nbsp;")}</td>'
        if _is_number(v):
            return f'<td class="num"{attr}>{html.escape(text)}</td>'
        cls = "text long" if len(text) > LONG_TEXT else "text"
        return f'<td class="{cls}"{attr}>{html.escape(text)}</td>'

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        columns = ([None] if self.index else []) + [str(c) for c in self.df.columns]
        fit = self.fit_width()
        cls = "rbdm-table" + (f" rbdm-fit-{fit}" if fit else "")
        out = ['<div class="rbdm-table-box">', f'<table class="{cls}">']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>")
        for row in rows:
            out.append("<tr>" + "".join(self._cell(v, text, h, c) for (v, text), h, c in zip(row, head, columns))
                       + "</tr>")
        out.append("</tbody></table>")
        out.append("</div>")
        return "\n".join(out)

    def __repr__(self) -> str:
        df = self.df.copy()
        for c, integral in zip(df.columns, self._integral()):
            if pd.api.types.is_float_dtype(df[c]):
                df[c] = [self._fmt(v, integral) for v in df[c]]
        return (self.caption + "\n" if self.caption else "") + df.to_string(index=self.index)


def table(df: pd.DataFrame, float_format: str = "{:.4g}", caption: str | None = None, index: bool = False,
          badges: Sequence[str] = ()) -> Table:
    """Wrap a DataFrame for display (last expression of a cell, or `display(table(df))`); `badges`:
    columns shown as badges (each must be a column of `df`)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"table: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [b for b in badges if b not in df.columns]
    if missing:
        raise ValueError(f"table: badges {missing} are not columns of the DataFrame (columns: {list(df.columns)})")
    return Table(df, float_format=float_format, caption=caption, index=index, badges=badges)
