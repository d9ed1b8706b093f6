"""DataFrames as stable HTML tables (`table` -> `Table`): numbers right-aligned, whole-number
float columns printed as integers, NaN as an empty cell."""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd


_NUMBER_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$", re.I)


def _is_number(v: Any) -> bool:
    """A number, or a string that reads as one ("0.208", "-3", "1e-05", "12%")."""
    if isinstance(v, str):
        return bool(_NUMBER_RE.match(v.strip()))
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


class Table:
    """A DataFrame shown as a stable HTML table (`text/html`) and plain text (`text/plain`)."""

    def __init__(self, df: pd.DataFrame, float_format: str = "{:.4g}", caption: str | None = None, index: bool = False):
        self.df = df
        self.float_format = float_format
        self.caption = caption
        self.index = index

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

    def _repr_html_(self) -> str:
        df = self.df
        head = ([html.escape(str(df.index.name or ""))] if self.index else []) + [html.escape(str(c)) for c in df.columns]
        out = ['<table class="rbdm-table">']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
        integral = self._integral()
        for idx, row in zip(df.index, df.itertuples(index=False)):
            vals = ([idx] if self.index else []) + list(row)
            cells = ([self._fmt(idx)] if self.index else []) + [self._fmt(v, i) for v, i in zip(row, integral)]
            # numbers carry class "num" (right-aligned by book/_static/rbdm.css, also in the first column)
            out.append("<tr>" + "".join(f'<td class="num">{html.escape(c)}</td>' if _is_number(v) else
                                        f"<td>{html.escape(c)}</td>" for v, c in zip(vals, cells)) + "</tr>")
        out.append("</tbody></table>")
        return "\n".join(out)

    def __repr__(self) -> str:
        df = self.df.copy()
        for c, integral in zip(df.columns, self._integral()):
            if pd.api.types.is_float_dtype(df[c]):
                df[c] = [self._fmt(v, integral) for v in df[c]]
        return (self.caption + "\n" if self.caption else "") + df.to_string(index=self.index)


def table(df: pd.DataFrame, float_format: str = "{:.4g}", caption: str | None = None, index: bool = False) -> Table:
    """Wrap a DataFrame for display (last expression of a cell, or `display(table(df))`)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"table: expected a pandas DataFrame, got {type(df).__name__}")
    return Table(df, float_format=float_format, caption=caption, index=index)
