"""pytest plugin: nbval compares the chapters' outputs numerically (`rbdm_core.output_compare`).

Loaded by `scripts/test.sh` with `-p rbdm_core.nbval_plugin`. nbval decides byte for byte whether a
re-executed cell's outputs equal the committed ones; this plugin first compares them the way
`output_compare.compare` does (text exactly, numbers, plotly arrays and embedded images within
`output_compare.Tolerance`, after nbval's own sanitising regexes) and accepts the cell when that
finds no difference. Otherwise nbval's own comparison runs and reports the cell, with the numeric
differences listed first. `--nbval-rtol`, `--nbval-atol` change the tolerance (defaults: see
`DEFAULT`, and docs/determinism.md for why).
"""

from __future__ import annotations

from collections import defaultdict

from rbdm_core.locks import WAIT_NOTICE
from rbdm_core.output_compare import Tolerance, compare

#: The tolerance the regression references are checked at (docs/determinism.md: the largest
#: spread measured across oneDNN instruction sets and thread counts, with a margin).
DEFAULT = Tolerance()


def pytest_addoption(parser):
    group = parser.getgroup("nbval")
    group.addoption("--nbval-rtol", type=float, default=DEFAULT.rtol,
                    help=f"relative tolerance on numbers in outputs (default {DEFAULT.rtol})")
    group.addoption("--nbval-atol", type=float, default=DEFAULT.atol,
                    help=f"absolute tolerance on numbers in outputs (default {DEFAULT.atol})")


def _flatten(cell, outputs, skip) -> dict[str, list]:
    """nbval's grouping: output key (data mime types flattened) -> values in order."""
    from nbval.plugin import transform_streams_for_comparison  # deferred: nbval, slow to import (jupyter_client); chapter 7 imports this module for DEFAULT

    out: dict[str, list] = defaultdict(list)
    for o in transform_streams_for_comparison(outputs):
        for key in o.keys():
            if key in skip:
                continue
            if key == "data":
                for mime, v in o[key].items():
                    if mime not in skip:
                        out[mime].append(v)
            else:
                out[key].append(o[key])
    return out


def numeric_differences(cell, test, ref, skip_compare, tol: Tolerance) -> list[str] | None:
    """The differences beyond `tol` between a cell's outputs, or None when their layout differs
    (other output keys or counts: left to nbval's own report)."""
    skip = skip_compare or cell.parent.skip_compare
    t, r = _flatten(cell, test, skip), _flatten(cell, ref, skip)
    if set(t) != set(r) or any(len(t[k]) != len(r[k]) for k in r):
        return None
    diffs: list[str] = []
    for key in r:
        for rv, tv in zip(r[key], t[key]):
            if isinstance(rv, str) and isinstance(tv, str):
                diffs += [f"{key}: {d}" for d in compare(rv, tv, tol, sanitize=cell.sanitize)]
            elif cell.sanitize(rv) != cell.sanitize(tv):
                diffs.append(f"{key}: values differ")
    return diffs


def without_wait_notices(outputs: list) -> list:
    """`outputs` without the lock-wait notices (`locks.WAIT_NOTICE`) in their stderr streams (a
    stream left empty is dropped): `scripts/test.sh` runs chapters in two processes over one run
    folder, and a chapter that waits for an artifact the other is writing says so once."""
    out = []
    for o in outputs:
        if o.get("output_type") == "stream" and o.get("name") == "stderr":
            text = WAIT_NOTICE.sub("", o.get("text", ""))
            if not text:
                continue
            o = type(o)({**o, "text": text})
        out.append(o)
    return out


def pytest_configure(config):
    try:
        from nbval.plugin import IPyNbCell  # deferred: nbval, slow to import (jupyter_client); chapter 7 imports this module for DEFAULT
    except ImportError:  # nbval absent: nothing to patch
        return
    if getattr(IPyNbCell, "_rbdm_numeric", False):
        return
    exact = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        test, ref = without_wait_notices(test), without_wait_notices(ref)
        opt = self.config.option
        tol = Tolerance(rtol=getattr(opt, "nbval_rtol", DEFAULT.rtol), atol=getattr(opt, "nbval_atol", DEFAULT.atol),
                        image_levels=DEFAULT.image_levels, image_share=DEFAULT.image_share)
        diffs = numeric_differences(self, test, ref, skip_compare, tol)
        if diffs == []:
            self.comparison_traceback = []
            return True
        same = exact(self, test, ref, skip_compare)
        if not same and diffs:
            self.comparison_traceback[:0] = [f"numeric comparison at {tol}:"] + [f"  {d}" for d in diffs]
        return same

    IPyNbCell.compare_outputs = compare_outputs
    IPyNbCell._rbdm_numeric = True
