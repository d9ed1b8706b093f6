"""Human agreement: how far the model, chance and the annotators themselves agree with each
annotator (paper section 5.3, Table 1, and the saliency-benchmark comparison of chapter 4).

`rbdm_core.metrics` scores one set of maps against references; this module decides who is
compared with whom and labels the rows:

* `pairwise_annotators`: annotator-vs-annotator scores, the human ceiling of Table 1.
* `leave_one_out`: each annotator's inter-observer predictor, the sum of the other annotators' maps.
* `table1_scores`: Table 1's long score table: model, random pixels and annotator pairs.
* `benchmark_scores`: the saliency-benchmark table: model, other annotators and random pixels
  predicting each annotator's fixations and fixation density.
* `AFFECTNET_AGREEMENT`, `label_agreement_table`, `agreement_ordering`: the other kind of human
  agreement, on labels: a classifier's per-class scores beside the agreement of two AffectNet
  annotators per class (chapter 2, the paper's discussion of its Figure 3).

Maps are `(N, H, W)` per image or `(A, N, H, W)` per annotator and image, in image pixels, as
`rbdm_core.gaze` builds them; `valid (A, N)` bool says which images an annotator has data for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core import metrics as _metrics

#: Agreement of two AffectNet annotators on the class of a face, per class, as a share of the images:
#: Mollahosseini, Hasani and Mahoor, "AffectNet: A Database for Facial Expression, Valence, and
#: Arousal Computing in the Wild", IEEE Transactions on Affective Computing 10(1), 2019 (online
#: 2017), measured on 36,000 randomly chosen images; quoted by the paper (Schiller et al. 2020,
#: section 5.1): highest for happy faces, lowest for neutral ones. Only these two values are quoted
#: here. Keys are the book's class names (AffectNet's "Happy" is `happiness`).
AFFECTNET_AGREEMENT: dict[str, float] = {"happiness": 0.796, "neutral": 0.508}
#: The saliency-benchmark metrics of chapter 4, in the order of its table.
BENCHMARK_METRICS = ("nss", "auc_judd", "cc", "sim", "kl_div")
#: The predictors of `benchmark_scores`, in the order of its rows.
BENCHMARK_PREDICTORS = ("model", "other annotator", "random pixels")


def pairwise_annotators(human_maps: Any, annotators: Sequence[Any] | None = None,
                        metrics: Sequence[str] = _metrics.TABLE1_METRICS, *, valid: Any = None) -> pd.DataFrame:
    """Annotator-vs-annotator scores (the human ceiling of Table 1) for every pair a < b of
    `human_maps (A, N, H, W)`, the first annotator's map as `saliency_map`, the second's as
    reference. valid: optional (A, N) bool; an image is scored for a pair when both are valid.
    Columns: annotator (\"a vs b\"), image_index, metric, value (as `metrics.evaluate_annotators`)."""
    hm = np.asarray(human_maps)
    if hm.ndim != 4:
        raise ValueError(f"human_maps: expected (A, N, H, W), got shape {hm.shape}")
    a_n = len(hm)
    ids = list(range(a_n)) if annotators is None else list(annotators)
    if len(ids) != a_n:
        raise ValueError(f"annotators: expected {a_n} ids, got {len(ids)}")
    ok = np.ones(hm.shape[:2], bool) if valid is None else np.asarray(valid, dtype=bool)
    if ok.shape != hm.shape[:2]:
        raise ValueError(f"valid: expected shape {hm.shape[:2]}, got {ok.shape}")
    if a_n < 2:
        raise ValueError(f"human_maps: pairwise agreement needs at least 2 annotators, got {a_n}")
    frames = []
    for a in range(a_n):
        for b in range(a + 1, a_n):
            idx = np.flatnonzero(ok[a] & ok[b])
            frames.append(_metrics.evaluate(hm[a, idx], hm[b, idx], metrics, image_index=idx,
                                            extra={"annotator": f"{ids[a]} vs {ids[b]}"}))
    return pd.concat(frames, ignore_index=True)[["annotator", "image_index", "metric", "value"]]


def leave_one_out(human_maps: Any) -> np.ndarray:
    """`(A, N, H, W)` -> `(A, N, H, W)`: for annotator a, the sum of the OTHER annotators' maps
    (the inter-observer predictor of a's fixations in saliency benchmarks). Needs A >= 2."""
    hm = np.asarray(human_maps, dtype=np.float64)
    if hm.ndim != 4 or len(hm) < 2:
        raise ValueError(f"human_maps: expected (A, N, H, W) with A >= 2 annotators, got shape {hm.shape}")
    return hm.sum(axis=0, keepdims=True) - hm


def table1_scores(model_maps: Any, chance_maps: Any, human_maps: Any, annotators: Sequence[Any] | None = None,
                  metrics: Sequence[str] = _metrics.TABLE1_METRICS, *, valid: Any = None) -> pd.DataFrame:
    """Table 1's per-image scores in long form: the model, random pixels and every other
    annotator, each against each annotator.

    model_maps, chance_maps: (N, H, W) heatmaps of the model (`gaze.model_heatmaps`) and of
                 random pixels (`gaze.random_heatmaps`).
    human_maps:  (A, N, H, W) the annotators' heatmaps (`gaze.AnnotatorHeatmaps.maps`), A >= 2.
    annotators:  (A,) ids (default 0..A-1).
    metrics:     names from `metrics.METRICS` (default: Table 1's overlap, spearman, cosine_distance).
    valid:       optional (A, N) bool, the images each annotator has a heatmap for; a pair of
                 annotators is scored on the images valid for both.

    Returns columns annotator, image_index, metric, value, comparison, in three blocks:
    `metrics.evaluate_annotators(model_maps, ...)` with comparison "model vs annotator <id>",
    the same for `chance_maps` ("random pixels vs annotator <id>"), and `pairwise_annotators`
    ("annotator <a> vs <b>"; its annotator column holds "<a> vs <b>").
    `statistics.summarise(df, by=["comparison", "metric"])` gives Table 1.
    """
    model = _metrics.evaluate_annotators(model_maps, human_maps, annotators, metrics, valid=valid)
    chance = _metrics.evaluate_annotators(chance_maps, human_maps, annotators, metrics, valid=valid)
    pairs = pairwise_annotators(human_maps, annotators, metrics, valid=valid)
    return pd.concat([
        model.assign(comparison="model vs annotator " + model.annotator.astype(str)),
        chance.assign(comparison="random pixels vs annotator " + chance.annotator.astype(str)),
        pairs.assign(comparison="annotator " + pairs.annotator),
    ], ignore_index=True)


def benchmark_scores(model_maps: Any, chance_maps: Any, human_maps: Any, fixation_maps: Any,
                     annotators: Sequence[Any] | None = None, metrics: Sequence[str] = BENCHMARK_METRICS, *,
                     valid: Any = None) -> pd.DataFrame:
    """Saliency-benchmark scores in long form: three predictors of each annotator's gaze, the
    model, the other annotators (`leave_one_out(human_maps)`) and random pixels.

    model_maps, chance_maps: (N, H, W) heatmaps of the model and of random pixels, the same
                   prediction for every annotator (uncut: kl_div needs maps > 0 where people look).
    human_maps:    (A, N, H, W) float, the annotators' heatmaps, A >= 2: the reference of the
                   heatmap metrics (cc, sim, kl_div) and the source of the inter-observer predictor.
    fixation_maps: (A, N, H, W) bool, binary fixation maps (`gaze.study_fixation_maps`): the
                   reference of the fixation metrics (nss, auc_judd).
    annotators:    (A,) ids (default 0..A-1).
    metrics:       names from `metrics.METRICS`; per predictor and annotator the metrics whose
                   reference is a fixation map come first, then the heatmap ones, each group in
                   the given order.
    valid:         optional (A, N) bool, the images to score per annotator (default all). The
                   other-annotator predictor also skips the images where its map is all zero
                   (no other annotator fixated the image).

    Returns columns image_index, metric, value, comparison ("<predictor> -> annotator <id>",
    predictor in `BENCHMARK_PREDICTORS`); rows by predictor, annotator, metric group, image, metric.
    """
    hm = np.asarray(human_maps)
    fm = np.asarray(fixation_maps)
    if hm.ndim != 4:
        raise ValueError(f"human_maps: expected (A, N, H, W), got shape {hm.shape}")
    if fm.shape != hm.shape:
        raise ValueError(f"fixation_maps: expected the human maps' shape {hm.shape}, got {fm.shape}")
    preds = {}
    for name, maps in (("model_maps", model_maps), ("chance_maps", chance_maps)):
        preds[name] = np.asarray(maps)
        if preds[name].shape != hm.shape[1:]:
            raise ValueError(f"{name}: expected (N, H, W) = {hm.shape[1:]} as human_maps, got {preds[name].shape}")
    ids, ok = _metrics.annotator_ids_and_valid(hm, annotators, valid)
    unknown = [m for m in metrics if m not in _metrics.METRICS]
    if unknown or not len(metrics):
        raise ValueError(f"metrics: unknown {unknown}; expected names from {sorted(_metrics.METRICS)}")
    on_fixations = tuple(m for m in metrics if _metrics.METRICS[m].reference == "fixations")
    on_heatmaps = tuple(m for m in metrics if _metrics.METRICS[m].reference != "fixations")
    others = leave_one_out(hm)
    frames = []
    for name in BENCHMARK_PREDICTORS:
        for a, aid in enumerate(ids):
            if name == "other annotator":
                pred = others[a]
                idx = np.flatnonzero(ok[a] & (pred.sum(axis=(1, 2)) > 0))
            else:
                pred = preds["model_maps" if name == "model" else "chance_maps"]
                idx = np.flatnonzero(ok[a])
            for refs, mets in ((fm[a], on_fixations), (hm[a], on_heatmaps)):
                if mets:
                    frames.append(_metrics.evaluate(pred[idx], refs[idx], mets, image_index=idx,
                                                    extra={"comparison": f"{name} -> annotator {aid}"}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- agreement on labels
def _class_scores(scores: pd.DataFrame, agreement: Mapping[str, float], metric: str) -> pd.DataFrame:
    """The per-class rows of `scores` (a `curves.per_class_table`), after checking that `metric`
    is recall or f1 and that every class of `agreement` has a row."""
    missing = sorted({"class", "support", "recall", "f1"} - set(scores.columns))
    if missing:
        raise ValueError(f"scores: missing column(s) {missing}; expected curves.per_class_table(...)")
    if metric not in ("recall", "f1"):
        raise ValueError(f"metric: expected 'recall' or 'f1', got {metric!r}")
    s = scores[scores["class"] != "macro"]
    unknown = sorted(set(agreement) - set(s["class"]))
    if unknown:
        raise ValueError(f"agreement: class(es) {unknown} not in the scores (classes: {list(s['class'])})")
    return s


def label_agreement_table(scores: pd.DataFrame, agreement: Mapping[str, float] = AFFECTNET_AGREEMENT,
                          by: str = "recall") -> pd.DataFrame:
    """A classifier's per-class scores ranked by `by` ("recall" or "f1"; highest first, NaN last),
    beside the quoted agreement of human annotators on the same classes.

    scores: `curves.per_class_table(cm, names)` (its "macro" row is left out). Returns columns
    rank, class, support, recall, f1, `annotator agreement` (NaN for classes `agreement` does not
    quote). A class of `agreement` missing from `scores` is an error."""
    s = _class_scores(scores, agreement, by)
    t = s[["class", "support", "recall", "f1"]].sort_values(by, ascending=False, kind="stable", na_position="last")
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    t["annotator agreement"] = [agreement.get(c, np.nan) for c in t["class"]]
    return t.reset_index(drop=True)


@dataclass(frozen=True)
class Ordering:
    """metric; classes ordered by the annotators' agreement, highest first; the model's `values`
    of them; same: True when the model's values fall strictly in the same order, False when not,
    None when a class has no value (no images of it); the sentence saying so."""

    metric: str
    classes: tuple[str, ...]
    values: tuple[float, ...]
    same: bool | None
    sentence: str


def agreement_ordering(scores: pd.DataFrame, agreement: Mapping[str, float] = AFFECTNET_AGREEMENT,
                       metric: str = "recall", model: str = "the model") -> Ordering:
    """Whether the model's per-class `metric` ("recall" or "f1", from `curves.per_class_table`)
    orders the classes of `agreement` as the annotators' agreement does (strictly: a tie is not the
    same order). `model` names the model in the sentence."""
    if len(agreement) < 2:
        raise ValueError(f"agreement: an ordering needs at least 2 classes, got {dict(agreement)}")
    s = _class_scores(scores, agreement, metric).set_index("class")
    by = "F1" if metric == "f1" else metric
    classes = tuple(sorted(agreement, key=lambda c: -agreement[c]))
    values = tuple(float(s.loc[c, metric]) for c in classes)
    human = ", ".join(f"{c} {agreement[c]:.1%}" for c in classes)
    if not all(np.isfinite(values)):
        same = None
        missing = [c for c, v in zip(classes, values) if not np.isfinite(v)]
        text = (f"The ordering cannot be compared: {model} has no {by} for {', '.join(missing)} "
                "(no images of it in the split).")
    else:
        same = bool(all(a > b for a, b in zip(values, values[1:])))
        mine = ", ".join(f"{c} {v:.3f}" for c, v in zip(classes, values))
        text = (f"By {by}, {model} {'puts' if same else 'does not put'} {' above '.join(classes)} ({mine}): "
                f"{'the same order as' if same else 'unlike'} the annotators' agreement ({human}).")
    return Ordering(metric, classes, values, same, text)


def typical_image(scores: pd.DataFrame, metric: str = "overlap", predictor: str = "model") -> int:
    """The image whose mean `metric` over the comparisons of `predictor` (`table1_scores` rows whose
    comparison starts with it) lies closest to the mean over all images (ties: the first image)."""
    rows = scores[(scores.metric == metric) & scores.comparison.str.startswith(predictor)]
    per_img = rows.groupby("image_index").value.mean()
    return int((per_img - per_img.mean()).abs().idxmin())
