"""Reading a `LayerRelevance` (relevance at every layer, `saliency.layer_relevance`; chapter 3).

    layer_shares(lr)      what share of max(logit, 0) the layers hold, on every path and in branches
    rules_table(lr)       which layers got which rule, in words (`methods.describe_rule`)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rbdm_core.saliency.methods import describe_rule


@dataclass
class LayerShares:
    """The relevance held at each layer of one image, as % of the explained max(logit, 0).

    start:  max(logit, 0) of the image (the amount deep Taylor hands down)
    full:   (F,) float64, % held by the F layers on every path from the logits to the input
            (100 for a conserving rule); empty when start is 0
    branch: (B,) float64, % held by the layers inside residual branches (a share of the whole)
    n_layers: all layers, the input included
    """

    start: float
    full: np.ndarray
    branch: np.ndarray
    n_layers: int

    def sentence(self) -> str:
        """The shares in words, with their ranges."""
        if not self.start > 0:
            return "negative logit: nothing to explain, every layer holds 0"
        full, branch = self.full, self.branch
        return (f"max(logit, 0) = {self.start:.4g}; {len(full)} of {self.n_layers} layers lie on every path from the "
                f"logits to the input and hold {full.min():.2f} % to {full.max():.2f} % of it"
                + (f"; the {len(branch)} inside residual branches hold {branch.min():.1f} % to {branch.max():.1f} %"
                   if len(branch) else ""))


def layer_shares(lr, k: int = 0) -> LayerShares:
    """`LayerShares` of image `k` of `lr` (a `LayerRelevance`): 100 * sum at the layer / max(logit, 0)."""
    start = max(float(lr.logits[k]), 0.0)
    if not start > 0:
        return LayerShares(start, np.zeros(0), np.zeros(0), len(lr.layers))
    share = 100 * lr.sums[:, k] / start
    on = np.asarray(lr.on_every_path, bool)
    return LayerShares(start, share[on], share[~on], len(lr.layers))


def rules_table(lr) -> pd.DataFrame:
    """Columns rule, layers: each rule `lr` applied (in words) and the layers that got it, comma
    separated, in the order the rules first occur (the input left out)."""
    by_rule: dict[str, list[str]] = {}
    for name, kind, rule in zip(lr.layers[1:], lr.kinds[1:], lr.rules[1:]):
        by_rule.setdefault(describe_rule(rule, kind), []).append(name)
    return pd.DataFrame({"rule": list(by_rule), "layers": [", ".join(v) for v in by_rule.values()]})
