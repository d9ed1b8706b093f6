"""FERPlus reader on a 12-row fixture whose outcome under both rules was worked out by hand."""

import numpy as np
import pytest

from fixtures_writers import fer_pixels, snapshot, write_ferplus
from rbdm_core.data import FERPLUS_CLASSES
from rbdm_core.data.ferplus import label_votes, parse_pixels, read_ferplus

# votes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
ROWS = [
    # 0: clear neutral                                   paper: neutral      fm: neutral
    dict(usage="Training", name="fer0000000.png", votes=[10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    # 1: 6 of 10 happiness                               paper: happiness    fm: 6 > 5 -> happiness
    dict(usage="Training", name="fer0000001.png", votes=[0, 6, 4, 0, 0, 0, 0, 0, 0, 0]),
    # 2: neutral/happiness tie at 4                      paper: tie          fm: 4 > 5? no -> dropped
    dict(usage="Training", name="fer0000002.png", votes=[4, 4, 2, 0, 0, 0, 0, 0, 0, 0]),
    # 3: unknown wins with 8                             paper: unknown      fm: unknown
    dict(usage="PublicTest", name="fer0000003.png", votes=[2, 0, 0, 0, 0, 0, 0, 0, 8, 0]),
    # 4: NF wins with 7                                  paper: NF           fm: NF
    dict(usage="PublicTest", name="fer0000004.png", votes=[0, 0, 0, 0, 0, 0, 0, 0, 3, 7]),
    # 5: empty image name (FERPlus dropped it)           dropped by both
    dict(usage="PublicTest", name="", votes=[0, 0, 0, 0, 0, 0, 0, 0, 0, 10]),
    # 6: neutral 3 is the sole top                       paper: neutral
    #    singles dropped -> [3,0,2,2,0,...] sum 7, 3 > 3.5? no                 fm: dropped
    dict(usage="PrivateTest", name="fer0000006.png", votes=[3, 0, 2, 2, 1, 1, 1, 0, 0, 0]),
    # 7: surprise 7 + three singles                      paper: surprise     fm: 7 > 3.5 -> surprise
    dict(usage="PrivateTest", name="fer0000007.png", votes=[0, 0, 7, 0, 0, 0, 0, 1, 1, 1]),
    # 8: sadness/unknown tie at 5                        paper: tie          fm: 5 > 5? no -> dropped
    dict(usage="PrivateTest", name="fer0000008.png", votes=[0, 0, 0, 5, 0, 0, 0, 0, 5, 0]),
    # 9: contempt 6                                      paper: contempt     fm: [0,..,6,0,3] 6 > 4.5 -> contempt
    dict(usage="Training", name="fer0000009.png", votes=[1, 0, 0, 0, 0, 0, 0, 6, 0, 3]),
    # 10: ten single votes                               paper: 10-way tie   fm: all zero -> dropped
    dict(usage="Training", name="fer0000010.png", votes=[1] * 10),
    # 11: neutral 2 + eight singles                      paper: neutral      fm: [2,0,...] 2 > 1 -> neutral
    dict(usage="PublicTest", name="fer0000011.png", votes=[2, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
]
PAPER_KEPT = {0: "neutral", 1: "happiness", 6: "neutral", 7: "surprise", 9: "contempt", 11: "neutral"}
MAJORITY_KEPT = {0: "neutral", 1: "happiness", 7: "surprise", 9: "contempt", 11: "neutral"}


@pytest.fixture
def pair(tmp_path):
    return write_ferplus(tmp_path / "fer", ROWS)


@pytest.mark.parametrize("rule, kept", [("paper", PAPER_KEPT), ("ferplus-majority", MAJORITY_KEPT)])
def test_rules_keep_the_hand_worked_rows(pair, rule, kept):
    ds = read_ferplus(*pair, rule=rule, progress=False)
    assert list(ds.ids) == [ROWS[i]["name"] for i in kept]
    assert [ds.class_names[k] for k in ds.labels] == list(kept.values())
    assert list(ds.split) == [ROWS[i]["usage"] for i in kept]
    assert ds.class_names == FERPLUS_CLASSES
    assert ds.images.shape == (len(kept), 48, 48, 1) and ds.images.dtype == np.uint8
    for j, i in enumerate(kept):  # each kept image is its own row's pixels, row-major
        np.testing.assert_array_equal(ds.images[j, :, :, 0], fer_pixels(i))
    assert ds.provenance["synthetic"] is False and ds.provenance["rule"] == rule


def test_paper_rule_drop_counts(pair):
    prov = read_ferplus(*pair, rule="paper", progress=False).provenance
    # ties: rows 2, 8, 10; unknown: 3; NF: 4; empty name: 5
    assert prov["dropped"] == {"tie": 3, "unknown": 1, "NF": 1, "empty_image_name": 1}
    assert prov["ties"] == 3 and prov["rows"] == 12 and prov["kept"] == 6


def test_majority_rule_drop_counts(pair):
    prov = read_ferplus(*pair, rule="ferplus-majority", progress=False).provenance
    # no majority: rows 2, 6, 8, 10; unknown: 3; NF: 4; empty name: 5
    assert prov["dropped"] == {"no_majority": 4, "unknown": 1, "NF": 1, "empty_image_name": 1}
    assert prov["ties"] == 0 and prov["kept"] == 5


def test_counts_table(pair):
    counts = read_ferplus(*pair, rule="paper", progress=False).counts()
    assert list(counts.columns) == ["split", "label", "count"]
    assert len(counts) == 3 * 8  # every split x every class, zeros included
    got = {(s, l): c for s, l, c in counts.itertuples(index=False) if c}
    assert got == {("Training", "neutral"): 1, ("Training", "happiness"): 1, ("Training", "contempt"): 1,
                   ("PublicTest", "neutral"): 1, ("PrivateTest", "neutral"): 1, ("PrivateTest", "surprise"): 1}


def test_label_votes_matches_a_per_row_reimplementation():
    """Vectorised rules vs a literal loop transcription of both rules on random votes."""
    rng = np.random.default_rng(3)
    votes = rng.multinomial(10, np.full(10, 0.1), size=500)

    def paper(v):
        top = max(v)
        if sum(v) == 0 or list(v).count(top) > 1:
            return -1
        return -1 if list(v).index(top) >= 8 else list(v).index(top)

    def majority(v):  # FERPlus _process_data, mode "majority"
        v = [0 if x <= 1 else x for x in v]
        m = max(v)
        if not m > 0.5 * sum(v):
            return -1
        return -1 if v.index(m) >= 8 else v.index(m)

    for rule, ref in (("paper", paper), ("ferplus-majority", majority)):
        labels, _ = label_votes(votes, rule)
        np.testing.assert_array_equal(labels, [ref(list(v)) for v in votes])


def test_reading_writes_nothing_into_the_data_folder(pair, tmp_path):
    before = snapshot(tmp_path / "fer")
    read_ferplus(*pair, progress=False)
    assert snapshot(tmp_path / "fer") == before


def test_parse_pixels_handles_blocks_and_whitespace():
    a = fer_pixels(1)
    text = " ".join(map(str, a.ravel()))
    out = parse_pixels([text, "  " + text.replace(" ", "  ") + " "])
    np.testing.assert_array_equal(out, np.stack([a, a]))


# --------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path, pair):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_ferplus(tmp_path / "nope.csv", pair[1])
    with pytest.raises(FileNotFoundError, match="fer2013new.csv.*does not exist"):
        read_ferplus(pair[0], tmp_path / "fer2013new.csv")


def test_missing_column(tmp_path):
    header = ["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust",
              "fear", "contempt", "unknown", "notaface"]
    old, new = write_ferplus(tmp_path, ROWS[:2], new_header=header)
    with pytest.raises(ValueError, match=r"fer2013new.csv: missing column\(s\) \['NF'\]"):
        read_ferplus(old, new)
    old, new = write_ferplus(tmp_path / "b", ROWS[:2], old_header=["emotion", "pixel", "Usage"])
    with pytest.raises(ValueError, match=r"fer2013.csv: missing column\(s\) \['pixels'\]"):
        read_ferplus(old, new, progress=False)


def test_pixels_with_wrong_number_of_values(tmp_path):
    short = " ".join(["5"] * 2303)
    old, new = write_ferplus(tmp_path, ROWS, pixels_override={7: short})
    with pytest.raises(ValueError, match=r"fer2013.csv row 7 \(line 9\): pixels field has 2303 values, expected 2304"):
        read_ferplus(old, new, progress=False)


def test_pixels_compensating_errors_are_caught(tmp_path):
    """One row one value short, the next one long: the totals match, the per-row check does not."""
    good = fer_pixels(0).ravel().tolist()
    old, new = write_ferplus(tmp_path, ROWS[:3], pixels_override={
        1: " ".join(map(str, good[:-1])), 2: " ".join(map(str, good + [3]))})
    with pytest.raises(ValueError, match=r"row 1 \(line 3\): pixels field has 2303 values"):
        read_ferplus(old, new, progress=False)


def test_pixel_value_out_of_range(tmp_path):
    vals = ["0"] * 2304
    vals[100] = "256"
    old, new = write_ferplus(tmp_path, ROWS, pixels_override={3: " ".join(vals)})
    with pytest.raises(ValueError, match=r"row 3 \(line 5\): pixel value 256 is outside 0..255"):
        read_ferplus(old, new, progress=False)


def test_emotion_label_out_of_range(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[4]["emotion"] = 7
    old, new = write_ferplus(tmp_path, rows)
    with pytest.raises(ValueError, match=r"fer2013.csv row 4 \(line 6\): emotion '?7'? is out of range, expected an int 0..6"):
        read_ferplus(old, new, progress=False)


def test_usage_mismatch_names_the_row(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[9]["usage_old"] = "PrivateTest"
    old, new = write_ferplus(tmp_path, rows)
    with pytest.raises(ValueError, match=r"Usage differs at row 9 \(line 11\).*'PrivateTest'.*'Training'"):
        read_ferplus(old, new, progress=False)


def test_row_count_mismatch(tmp_path):
    old, _ = write_ferplus(tmp_path / "a", ROWS)
    _, new = write_ferplus(tmp_path / "b", ROWS[:11])
    with pytest.raises(ValueError, match="more rows than"):
        read_ferplus(old, new, progress=False)


def test_bad_vote_and_bad_rule(tmp_path, pair):
    rows = [dict(r) for r in ROWS]
    rows[2] = dict(rows[2], votes=[4, -1, 2, 0, 0, 0, 0, 0, 0, 0])
    old, new = write_ferplus(tmp_path / "v", rows)
    with pytest.raises(ValueError, match=r"row 2 \(line 4\): column 'happiness' holds -1"):
        read_ferplus(old, new)
    with pytest.raises(ValueError, match=r"rule: expected one of \('paper', 'ferplus-majority'\), got 'vote'"):
        read_ferplus(*pair, rule="vote")
