"""rbdm_core.agreement: annotator pairs, leave-one-out predictors and chapter 4's score tables,
checked by hand or against the metric functions called directly."""

import numpy as np
import pytest

from rbdm_core import agreement, metrics


def test_leave_one_out_by_hand():
    m = np.arange(3 * 2 * 2 * 2, dtype=float).reshape(3, 2, 2, 2)
    got = agreement.leave_one_out(m)
    np.testing.assert_allclose(got[0], m[1] + m[2])
    np.testing.assert_allclose(got[2], m[0] + m[1])
    with pytest.raises(ValueError, match="A >= 2"):
        agreement.leave_one_out(m[:1])


def test_pairwise_annotators_matches_metrics_directly():
    rng = np.random.default_rng(0)
    hm = rng.random((3, 4, 6, 6))
    valid = np.ones((3, 4), bool)
    valid[2, 1] = False
    df = agreement.pairwise_annotators(hm, ["a", "b", "c"], valid=valid)
    assert sorted(df.annotator.unique()) == ["a vs b", "a vs c", "b vs c"]
    # a vs c skips image 1 (c has no data), a vs b keeps it
    assert 1 not in set(df[df.annotator == "a vs c"].image_index)
    assert 1 in set(df[df.annotator == "a vs b"].image_index)
    v = df[(df.annotator == "b vs c") & (df.image_index == 3) & (df.metric == "spearman")].value.item()
    assert v == pytest.approx(metrics.spearman(hm[1, 3], hm[2, 3]))
    with pytest.raises(ValueError, match="at least 2"):
        agreement.pairwise_annotators(hm[:1])


# --- chapter 4's tables ------------------------------------------------------------------------


def _direct(metric, pred, ref):
    return metrics.METRICS[metric](pred, ref)


def _same(a, b):
    return (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15)


def test_table1_scores_by_hand_and_against_direct_metric_calls():
    rng = np.random.default_rng(5)
    model = rng.random((2, 2, 2))
    chance = rng.random((2, 2, 2))
    human = rng.random((2, 2, 2, 2))
    # hand-worked image 0, model vs annotator "p": S = [1, 0, 0, 0], R = [1, 1, 0, 0]
    # overlap |{0}| / |{0, 1}| = 1/2; cosine distance 1 - 1 / (1 * sqrt 2);
    # Spearman: ranks [4, 2, 2, 2] and [3.5, 3.5, 1.5, 1.5], centred [1.5, -.5, -.5, -.5] and
    # [1, 1, -1, -1]: 2 / sqrt(3 * 4) = 1 / sqrt 3
    model[0] = [[1, 0], [0, 0]]
    human[0, 0] = [[1, 1], [0, 0]]
    valid = np.array([[True, True], [True, False]])  # annotator "q" has no heatmap of image 1
    df = agreement.table1_scores(model, chance, human, ["p", "q"], valid=valid)

    assert list(df.columns) == ["annotator", "image_index", "metric", "value", "comparison"]
    blocks = [("model vs annotator p", "p", [0, 1]), ("model vs annotator q", "q", [0]),
              ("random pixels vs annotator p", "p", [0, 1]), ("random pixels vs annotator q", "q", [0]),
              ("annotator p vs q", "p vs q", [0])]
    expected = [(c, a, i, m) for c, a, imgs in blocks for i in imgs for m in metrics.TABLE1_METRICS]
    assert list(zip(df.comparison, df.annotator, df.image_index, df.metric)) == expected

    hand = df[df.comparison == "model vs annotator p"].set_index(["image_index", "metric"]).value
    assert hand[(0, "overlap")] == pytest.approx(0.5)
    assert hand[(0, "cosine_distance")] == pytest.approx(1 - 1 / np.sqrt(2))
    assert hand[(0, "spearman")] == pytest.approx(1 / np.sqrt(3))

    preds = {"model": model, "random pixels": chance}
    for row in df.itertuples():
        if row.comparison.startswith("annotator"):
            pred, ref = human[0, row.image_index], human[1, row.image_index]
        else:
            a = ["p", "q"].index(row.annotator)
            pred, ref = preds[row.comparison.split(" vs ")[0]][row.image_index], human[a, row.image_index]
        assert _same(row.value, _direct(row.metric, pred, ref)), row


def test_table1_scores_needs_two_annotators():
    with pytest.raises(ValueError, match="at least 2"):
        agreement.table1_scores(np.ones((1, 2, 2)), np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)))


def _study():
    """2 annotators, 3 images of 3x3; annotator 1 never fixated image 2 (zero map, not valid)."""
    rng = np.random.default_rng(11)
    model = rng.random((3, 3, 3)) + 0.1
    chance = rng.random((3, 3, 3)) + 0.1
    human = rng.random((2, 3, 3, 3)) + 0.1
    human[1, 2] = 0.0
    fix = np.zeros((2, 3, 3, 3), bool)
    fix[:, :, 0, 1] = True
    fix[0, :, 2, 2] = True
    fix[1, 2] = False
    valid = np.array([[True, True, True], [True, True, False]])
    # hand-worked: model image 0 = 0..8 row-major, annotator 0 fixated (0, 1) and (2, 2), i.e. the
    # values 1 and 8. Mean 4, population sd sqrt(60 / 9): NSS = ((1 - 4) + (8 - 4)) / 2 / sqrt(20 / 3).
    # AUC-Judd: thresholds 8, 1; #{S >= 8} = 1, #{S >= 1} = 8 of 9 pixels, 7 not fixated:
    # TPR 0, 1/2, 1, 1; FPR 0, 0, 6/7, 1 -> area 0 + 6/7 * 3/4 + 1/7 * 1 = 11/14.
    model[0] = np.arange(9.0).reshape(3, 3)
    return model, chance, human, fix, valid


def test_benchmark_scores_by_hand_and_against_direct_metric_calls():
    model, chance, human, fix, valid = _study()
    df = agreement.benchmark_scores(model, chance, human, fix, ["a0", "a1"], valid=valid)

    assert list(df.columns) == ["image_index", "metric", "value", "comparison"]
    # annotator 1: image 2 not valid; "other annotator -> a0": image 2 skipped, a1's map there is 0
    images = {("model", "a0"): [0, 1, 2], ("model", "a1"): [0, 1],
              ("other annotator", "a0"): [0, 1], ("other annotator", "a1"): [0, 1],
              ("random pixels", "a0"): [0, 1, 2], ("random pixels", "a1"): [0, 1]}
    expected = [(f"{p} -> annotator {a}", i, m)
                for p in agreement.BENCHMARK_PREDICTORS for a in ("a0", "a1")
                for group in (("nss", "auc_judd"), ("cc", "sim", "kl_div"))
                for i in images[(p, a)] for m in group]
    assert list(zip(df.comparison, df.image_index, df.metric)) == expected

    hand = df[df.comparison == "model -> annotator a0"].set_index(["image_index", "metric"]).value
    assert hand[(0, "nss")] == pytest.approx(0.5 / np.sqrt(20 / 3), rel=1e-12)
    assert hand[(0, "auc_judd")] == pytest.approx(11 / 14, rel=1e-12)

    for row in df.itertuples():
        p, a = row.comparison.split(" -> annotator ")
        a = ["a0", "a1"].index(a)
        i = row.image_index
        pred = {"model": model[i], "random pixels": chance[i], "other annotator": human[1 - a, i]}[p]
        ref = fix[a, i] if row.metric in ("nss", "auc_judd") else human[a, i]
        assert _same(row.value, _direct(row.metric, pred, ref)), row


def test_benchmark_scores_metric_groups_and_bad_input():
    model, chance, human, fix, valid = _study()
    df = agreement.benchmark_scores(model, chance, human, fix, metrics=("cc", "nss"))
    first = df[df.comparison == "model -> annotator 0"]
    assert list(first.metric) == ["nss"] * 3 + ["cc"] * 3  # fixation-reference metrics first
    assert set(df.comparison) == {f"{p} -> annotator {a}" for p in agreement.BENCHMARK_PREDICTORS for a in (0, 1)}
    with pytest.raises(ValueError, match="metrics"):
        agreement.benchmark_scores(model, chance, human, fix, metrics=("nss", "auc"))
    with pytest.raises(ValueError, match="fixation_maps"):
        agreement.benchmark_scores(model, chance, human, fix[:, :2])
    with pytest.raises(ValueError, match="chance_maps"):
        agreement.benchmark_scores(model, chance[:2], human, fix)
    with pytest.raises(ValueError, match="valid"):
        agreement.benchmark_scores(model, chance, human, fix, valid=valid[:, :2])
    with pytest.raises(ValueError, match="annotators"):
        agreement.benchmark_scores(model, chance, human, fix, ["a0"])


# --------------------------------------------------------------------------- agreement on labels
def _scores(cm):
    from rbdm_core.curves import per_class_table

    return per_class_table(np.array(cm), ["neutral", "happiness", "surprise"])


def test_affectnet_agreement_is_the_quoted_pair():
    assert agreement.AFFECTNET_AGREEMENT == {"happiness": 0.796, "neutral": 0.508}


def test_label_agreement_table_ranks_by_recall_and_quotes_agreement():
    # rows true, columns predicted: recall neutral 5/10, happiness 9/10, surprise none (no images)
    t = agreement.label_agreement_table(_scores([[5, 3, 2], [1, 9, 0], [0, 0, 0]]))
    assert list(t["class"]) == ["happiness", "neutral", "surprise"] and list(t["rank"]) == [1, 2, 3]
    assert list(t.recall[:2]) == [0.9, 0.5] and np.isnan(t.recall[2])
    assert t.f1[0] == pytest.approx(2 * 9 / (2 * 9 + 3 + 1))  # 2 TP / (2 TP + FP + FN)
    assert list(t["annotator agreement"][:2]) == [0.796, 0.508] and np.isnan(t["annotator agreement"][2])
    with pytest.raises(ValueError, match=r"class\(es\) \['fear'\] not in the scores"):
        agreement.label_agreement_table(_scores([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), {"fear": 0.5})


def test_agreement_ordering_same_opposite_tie_and_missing():
    same = agreement.agreement_ordering(_scores([[5, 3, 2], [1, 9, 0], [0, 0, 0]]), model="the Trainer")
    assert (same.classes, same.values, same.same) == (("happiness", "neutral"), (0.9, 0.5), True)
    assert same.sentence.startswith(
        "By recall, the Trainer puts happiness above neutral (happiness 0.900, neutral 0.500)")
    assert "79.6%" in same.sentence and "50.8%" in same.sentence
    opposite = agreement.agreement_ordering(_scores([[9, 1, 0], [5, 5, 0], [0, 0, 3]]))
    assert opposite.same is False and "does not put happiness above neutral" in opposite.sentence
    tie = agreement.agreement_ordering(_scores([[5, 5, 0], [5, 5, 0], [0, 0, 3]]))
    assert tie.same is False  # a tie is not the annotators' strict order
    f1 = agreement.agreement_ordering(_scores([[5, 3, 2], [1, 9, 0], [0, 0, 0]]), metric="f1")
    assert f1.values == pytest.approx((18 / 22, 10 / 16)) and f1.sentence.startswith("By F1,")
    missing = agreement.agreement_ordering(_scores([[0, 0, 0], [5, 5, 0], [0, 0, 3]]))
    assert missing.same is None and "no recall for neutral" in missing.sentence


def test_label_agreement_checks_its_input():
    t = _scores([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="metric: expected 'recall' or 'f1', got 'precision'"):
        agreement.label_agreement_table(t, by="precision")
    with pytest.raises(ValueError, match="at least 2 classes"):
        agreement.agreement_ordering(t, {"neutral": 0.5})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['recall'\]"):
        agreement.agreement_ordering(t.drop(columns="recall"))
