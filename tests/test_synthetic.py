"""The embedded synthetic corpora: shapes, determinism, proportions, ground-truth regions,
CK+-like sequences, bad input, and that the task is learnable but not trivial."""

import re

import numpy as np
import pytest

from rbdm_core.data import FERPLUS_CLASSES
from rbdm_core.data import faces as F
from rbdm_core.data.synthetic import (
    AFFECTNET_TRAINING_COUNTS,
    CKPLUS_SEQUENCE_COUNTS,
    FERPLUS_PROPORTIONS,
    FERPLUS_SPLIT_SIZES,
    MIN_PER_CLASS_PER_SPLIT,
    allocate,
    make_domain,
    make_sequences,
)

K = len(FERPLUS_CLASSES)


@pytest.fixture(scope="module")
def fer():
    return make_domain("ferplus_like", n=400, seed=7)


def test_shapes_dtypes_and_provenance(fer):
    aff = make_domain("affectnet_like", n=40, seed=1, size=40)
    ck = make_domain("ckplus_like", n=20, seed=1, size=32)
    for ds, shape in ((fer, (48, 48, 1)), (aff, (40, 40, 3)), (ck, (32, 32, 1))):
        assert ds.images.dtype == np.uint8 and ds.images.shape[1:] == shape
        assert ds.labels.dtype == np.int64 and ds.labels.min() >= 0 and ds.labels.max() < K
        assert ds.regions.dtype == bool and ds.regions.shape == ds.images.shape[:3]
        assert ds.is_synthetic and ds.provenance["synthetic"] is True
        assert len(set(ds.ids)) == len(ds)
    assert fer.provenance["domain"] == "ferplus_like" and fer.provenance["seed"] == 7
    assert set(fer.splits) == {"Training", "PublicTest", "PrivateTest"}
    assert set(aff.splits) == {"training", "validation"}
    assert set(ck.splits) == {"all"}
    assert abs(sum(fer.provenance["class_proportions"].values()) - 1) < 1e-5
    # colour really is colour: channels differ
    assert (aff.images[..., 0] != aff.images[..., 1]).mean() > 0.5


def test_default_sizes():
    # n=None / size=None give the quick-profile defaults (small n here only via size: check ckplus)
    ck = make_domain("ckplus_like", seed=0, size=16)
    assert len(ck) == 654 and ck.provenance["sequences"] == 327 and ck.shape == (16, 16, 1)


def test_same_seed_same_bytes_other_seed_differs():
    a = make_domain("ferplus_like", n=64, seed=3)
    b = make_domain("ferplus_like", n=64, seed=3)
    c = make_domain("ferplus_like", n=64, seed=4)
    assert a.images.tobytes() == b.images.tobytes() and a.regions.tobytes() == b.regions.tobytes()
    assert np.array_equal(a.labels, b.labels) and list(a.ids) == list(b.ids)
    assert a.images.tobytes() != c.images.tobytes()
    # the same seed in another domain is another draw
    d = make_domain("affectnet_like", n=64, seed=3, size=48)
    assert not np.array_equal(a.images[..., 0], d.images.mean(axis=3).round().astype(np.uint8))


def test_image_depends_on_its_own_row_only():
    """Batching is an implementation detail: image i rendered alone equals image i of a batch."""
    labels = np.arange(300) % K
    for channels in (1, 3):
        im, reg, p, au = F.render_faces(labels, seed=11, size=40, channels=channels, return_params=True)
        for i in range(0, 300, 13):
            one, rone = F.draw_faces(F.index_params(p, [i]), au[[i]], labels[[i]], size=40, channels=channels)
            assert np.array_equal(one[0], im[i]) and np.array_equal(rone[0], reg[i]), i


def test_allocate_by_hand():
    assert allocate(10, [0.5, 0.3, 0.2]).tolist() == [5, 3, 2]
    assert allocate(10, [1, 1, 1]).tolist() == [4, 3, 3]  # remainder to the first on ties
    assert allocate(7, [0.5, 0.5]).tolist() == [4, 3]
    assert allocate(100, [0.98, 0.01, 0.01], minimum=3).tolist() == [94, 3, 3]
    assert allocate(4, [0.9, 0.05, 0.05], minimum=3).tolist() == [2, 1, 1]  # minimum capped at 4 // 3
    with pytest.raises(ValueError, match="proportions"):
        allocate(10, [-1, 2])


def test_ferplus_like_proportions_and_splits():
    n = 2000
    ds = make_domain("ferplus_like", n=n, seed=2, size=16)
    tot = sum(FERPLUS_SPLIT_SIZES.values())
    p = np.array([FERPLUS_PROPORTIONS[c] for c in FERPLUS_CLASSES])
    p = p / p.sum()
    split_n = {}
    for s, m in FERPLUS_SPLIT_SIZES.items():
        split_n[s] = int((ds.split == s).sum())
        assert abs(split_n[s] - n * m / tot) <= 1, s
    assert sum(split_n.values()) == n
    for s in FERPLUS_SPLIT_SIZES:
        counts = np.bincount(ds.labels[ds.split == s], minlength=K)
        expected = split_n[s] * p
        for k in range(K):
            if expected[k] < MIN_PER_CLASS_PER_SPLIT:
                assert counts[k] == MIN_PER_CLASS_PER_SPLIT, (s, FERPLUS_CLASSES[k])
            else:
                # at most one off from rounding, plus what was moved to raise the rare classes
                assert abs(counts[k] - expected[k]) <= 1 + 2 * MIN_PER_CLASS_PER_SPLIT, (s, FERPLUS_CLASSES[k])
    assert ds.provenance["min_per_class_per_split"] == MIN_PER_CLASS_PER_SPLIT
    # the order is shuffled within a split (not sorted by class)
    assert (np.diff(ds.labels[ds.split == "Training"]) != 0).mean() > 0.5


def test_affectnet_like_imbalance_and_balanced_validation():
    n = 1000
    ds = make_domain("affectnet_like", n=n, seed=0, size=16)
    val = np.bincount(ds.labels[ds.split == "validation"], minlength=K)
    assert val.sum() == 100 and val.max() - val.min() <= 1
    tr = np.bincount(ds.labels[ds.split == "training"], minlength=K)
    p = np.array([AFFECTNET_TRAINING_COUNTS[c] for c in FERPLUS_CLASSES], float)
    expected = tr.sum() * p / p.sum()
    assert np.all(np.abs(tr - expected) <= 1 + 2 * MIN_PER_CLASS_PER_SPLIT)
    assert FERPLUS_CLASSES[int(tr.argmax())] == "happiness"


def test_ckplus_like_pairs_and_counts():
    ds = make_domain("ckplus_like", n=2 * 60, seed=0, size=24)
    ids = list(ds.ids)
    assert all(re.fullmatch(r"S\d{3}/\d{3}/(first|last)", i) for i in ids)
    assert all(a.rsplit("/", 1)[0] == b.rsplit("/", 1)[0] for a, b in zip(ids[0::2], ids[1::2]))
    assert np.all(ds.labels[0::2] == 0) and np.all(ds.labels[1::2] != 0)
    apex = np.bincount(ds.labels[1::2], minlength=K)
    p = np.array([CKPLUS_SEQUENCE_COUNTS[c] for c in FERPLUS_CLASSES], float)
    assert np.all(np.abs(apex - 60 * p / p.sum()) <= 1 + 1)  # rounding, and every class at least 1
    # several sequences per subject, as in CK+ (123 subjects for 327 sequences)
    subjects = {i.split("/")[0] for i in ids}
    assert 15 <= len(subjects) <= 30


def test_regions_nonempty_and_on_the_face():
    labels = np.repeat(np.arange(K), 12)
    _, reg, p, au = F.render_faces(labels, seed=4, size=64, channels=1, return_params=True)
    assert reg.reshape(len(labels), -1).any(axis=1).all()
    # independent check: map every region pixel back to face coordinates with the pose, and test
    # it against the face ellipse (the lower half lengthened by the jaw drop)
    g = F.geometry(p, au)
    c = (np.arange(64) + 0.5) / 64 * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")
    for i in range(len(labels)):
        dx, dy = x - p["tx"][i], y - p["ty"][i]
        cr, sr = np.cos(p["roll"][i]), np.sin(p["roll"][i])
        u = (cr * dx + sr * dy) / p["scale"][i]
        v = (-sr * dx + cr * dy) / p["scale"][i]
        b = np.where(v > p["face_cy"][i], p["face_b"][i] + g["chin_drop"][i], p["face_b"][i])
        inside = (u / p["face_a"][i]) ** 2 + ((v - p["face_cy"][i]) / b) ** 2 <= 1.0 + 1e-4
        assert np.all(inside[reg[i]]), FERPLUS_CLASSES[labels[i]]
        assert reg[i].mean() < 0.35


@pytest.mark.parametrize(
    "cls, inside, outside",
    [
        ("neutral", ["eye_left", "eye_right", "mouth"], ["forehead", "chin", "nose"]),
        ("happiness", ["mouth", "mouth_corner_left", "mouth_corner_right", "eye_left", "cheek_left"],
         ["brow_left", "brow_right", "forehead"]),
        ("surprise", ["brow_left", "brow_right", "eye_left", "eye_right", "mouth"], ["nose", "cheek_left"]),
        ("sadness", ["brow_left", "brow_right", "mouth_corner_left", "mouth_corner_right"], ["eye_left", "eye_right", "nose"]),
        ("anger", ["brow_left", "brow_right", "eye_left", "mouth"], ["nose", "chin"]),
        ("disgust", ["nose", "mouth"], ["brow_left", "eye_left", "eye_right", "forehead"]),
        ("fear", ["brow_left", "eye_right", "mouth"], ["nose", "chin"]),
        ("contempt", ["mouth_corner_left", "mouth_corner_right"], ["eye_left", "eye_right", "brow_left", "forehead"]),
    ],
)
def test_regions_cover_the_moved_features(cls, inside, outside):
    c = FERPLUS_CLASSES.index(cls)
    labels = np.full(30, c)
    _, reg, p, au = F.render_faces(labels, seed=5 + c, size=96, channels=1, return_params=True)
    lm = F.landmarks(p, au, 96)

    def hit(name):
        pt = np.clip(np.rint(lm[name]).astype(int), 0, 95)
        return reg[np.arange(len(labels)), pt[:, 1], pt[:, 0]]

    for name in inside:
        assert hit(name).all(), (cls, name)
    for name in outside:
        assert not hit(name).any(), (cls, name)


def test_classes_differ_by_action_units():
    """Zero AU intensity draws the same face whatever the label (only regions know the class);
    apex geometry moves the class's features in the FACS direction."""
    labels = np.arange(K).repeat(3)
    rest, _, p, au0 = F.render_faces(labels, seed=9, size=48, intensity=0.0, return_params=True)
    neutral, _ = F.render_faces(np.zeros_like(labels), seed=9, size=48, intensity=0.0)
    assert np.array_equal(rest, neutral) and not au0.any()
    _, _, p, au = F.render_faces(labels, seed=9, size=48, return_params=True)
    g, g0 = F.geometry(p, au), F.geometry(p, np.zeros_like(au))
    is_ = lambda name: labels == FERPLUS_CLASSES.index(name)  # noqa: E731
    # AU12: lip corners up (v decreases); AU15: down; AU1+2: brows up; AU26: jaw drop; AU9: nose wrinkle
    assert np.all(g["mouth_dyl"][is_("happiness")] < g0["mouth_dyl"][is_("happiness")] - 0.03)
    assert np.all(g["mouth_dyr"][is_("sadness")] > g0["mouth_dyr"][is_("sadness")] + 0.03)
    assert np.all(g["brow_out_v"][is_("surprise")] < g0["brow_out_v"][is_("surprise")] - 0.03)
    assert np.all(g["mouth_open"][is_("surprise")] > 0.05)
    assert np.all(g["brow_in_u"][is_("anger")] < g0["brow_in_u"][is_("anger")])
    assert np.all(g["wrinkle_nose"][is_("disgust")] > 0.2)
    # contempt is unilateral: the two corners differ
    cont = is_("contempt")
    assert np.all(np.abs(g["mouth_dyl"][cont] - g["mouth_dyr"][cont]) > 0.03)


def test_ckplus_sequences_match_dataset_and_start_au_free():
    seqs = make_sequences(5, seed=3, size=32)
    ds = make_domain("ckplus_like", n=10, seed=3, size=32)
    assert len(seqs) == 5 and list(ds.ids[0::2]) == [f"{i}/first" for i in seqs.ids]
    for s in range(5):
        fr = seqs.frames[s]
        assert fr.shape[1:] == (32, 32, 1) and 10 <= len(fr) <= 30
        assert np.array_equal(fr[0], ds.images[2 * s]) and np.array_equal(fr[-1], ds.images[2 * s + 1])
        assert seqs.intensity[s][0] == 0 and seqs.intensity[s][-1] == 1
        assert np.all(np.diff(seqs.intensity[s]) >= 0)
        assert np.array_equal(seqs.regions[s], ds.regions[2 * s + 1])
    # the first frame is the same person AU-free: identical to drawing the neutral face at rest
    p0 = F.index_params(seqs.params, [0])
    rest, rest_reg = F.draw_faces(p0, np.zeros((1, len(F.AU_CODES), 2), np.float32), [0], size=32, channels=1)
    assert np.array_equal(rest[0], seqs.frames[0][0]) and np.array_equal(rest_reg[0], ds.regions[0])
    # the same subject keeps their identity across sequences
    subj = seqs.subjects
    same = [(a, b) for a in range(5) for b in range(a + 1, 5) if subj[a] == subj[b]]
    for a, b in same:
        for key in F.IDENTITY_KEYS:
            assert np.array_equal(seqs.params[key][a], seqs.params[key][b]), key


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(domain="fer"), "domain"),
        (dict(domain="ferplus_like", n=0), "n must be"),
        (dict(domain="ferplus_like", n=10, seed=-1), "seed"),
        (dict(domain="ferplus_like", n=10, size=8), "size"),
        (dict(domain="ckplus_like", n=7), "even"),
    ],
)
def test_make_domain_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_domain(**kwargs)


def test_renderer_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        F.render_faces([0, 8])
    with pytest.raises(ValueError, match="intensity"):
        F.render_faces([0, 1], intensity=1.5)
    with pytest.raises(ValueError, match="channels"):
        F.render_faces([0], channels=2)
    with pytest.raises(ValueError, match="au must have shape"):
        F.draw_faces(F.sample_faces(2, np.random.default_rng(0)), np.zeros((2, 3, 2)), [0, 1])
    with pytest.raises(ValueError, match="style"):
        F.sample_faces(2, np.random.default_rng(0), style="studio")
    with pytest.raises(ValueError, match="n_sequences"):
        make_sequences(0)


@pytest.mark.slow
def test_learnable_but_not_trivial():
    """A small CNN trained 5 epochs on 2000 balanced 48x48 faces is far above chance (1/8) on
    held-out faces of new people; the same model on shuffled labels stays near chance."""
    import tensorflow as tf

    from rbdm_core.determinism import seed_everything

    ytr, yte = np.arange(2000) % K, np.arange(800) % K
    xtr, _ = F.render_faces(ytr, seed=101, size=48, channels=1)
    xte, _ = F.render_faces(yte, seed=202, size=48, channels=1)
    L = tf.keras.layers

    def standardise(x):
        m, v = tf.nn.moments(x, [1, 2, 3], keepdims=True)
        return (x - m) / tf.sqrt(v + 1.0)

    def fit(labels):
        seed_everything(0)
        block = lambda f: [L.Conv2D(f, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(), L.MaxPool2D()]  # noqa: E731
        model = tf.keras.Sequential([L.Input((48, 48, 1)), L.Lambda(standardise)] + block(16) + block(32) + block(64)
                                    + [L.Flatten(), L.Dropout(0.3), L.Dense(K, activation="softmax")])
        model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", ["accuracy"])
        accs = []
        for _ in range(5):
            model.fit(xtr.astype("float32"), labels, batch_size=16, epochs=1, verbose=0)
            accs.append(model.evaluate(xte.astype("float32"), yte, verbose=0)[1])
        return accs

    real = fit(ytr)
    shuffled = fit(np.random.default_rng(0).permutation(ytr))
    print(f"held-out accuracy per epoch: real labels {real}, shuffled labels {shuffled}")
    assert real[-1] > 0.5, real
    assert real[0] < 0.9, real  # not solved in one epoch
    assert max(shuffled) < 0.22, shuffled
