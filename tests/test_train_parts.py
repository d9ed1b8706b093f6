"""rbdm_core.training's parts alone, without TensorFlow: resuming a run's progress from a
checkpoint and one evaluation's curve rows, with a stand-in for the loop and values by hand."""

import numpy as np
import pytest

from rbdm_core.data.dataset import Dataset
from rbdm_core.train_loop import save_checkpoint
from rbdm_core.training import Recipe, Variant, _evaluate, _Progress, _resume, _Setup


class _Model:
    def __init__(self, weights):
        self.weights = [np.array(w) for w in weights]

    def get_weights(self):
        return [w.copy() for w in self.weights]


class _FakeLoop:
    """A loop whose state is two weights and one optimizer variable, and whose evaluation
    returns the given (loss, predictions) per data set, in call order."""

    def __init__(self, weights, opt, answers=()):
        self.model = _Model(weights)
        self.opt = np.array(opt)
        self.answers = list(answers)
        self.seen = []

    def get_state(self):
        out = {f"w{i:04d}": w for i, w in enumerate(self.model.weights)}
        out["o0000"] = self.opt
        return out

    def set_state(self, z):
        self.model.weights = [np.array(z[f"w{i:04d}"]) for i in range(len(self.model.weights))]
        self.opt = np.array(z["o0000"])

    def evaluate(self, ds, batch_size):
        self.seen.append((ds, batch_size))
        return self.answers.pop(0)


def test_resume_restores_step_rows_loss_sums_and_best(tmp_path):
    ck = tmp_path / "checkpoint.npz"
    saved = _FakeLoop([[1.0, 2.0], [[3.0]]], [0.5])
    rows = [["v", 0, 0, 0.0, "validation", "f1", 0.25], ["v", 0, 4, 0.5, "train", "loss", 1.5]]
    best = [np.array([7.0, 8.0]), np.array([[9.0]])]
    meta = {"fingerprint": "abc", "step": 5, "rows": rows, "loss_sum": 2.25, "loss_n": 1,
            "best_f1": 0.75, "best_step": 4, "total_steps": 12}
    save_checkpoint(ck, saved, meta, best)

    fresh = _FakeLoop([[0.0, 0.0], [[0.0]]], [0.0])
    p = _resume(ck, fresh, "abc")
    assert (p.step, p.rows, p.loss_sum, p.loss_n, p.best_f1, p.best_step) == (5, rows, 2.25, 1, 0.75, 4)
    assert [w.tolist() for w in p.best_weights] == [[7.0, 8.0], [[9.0]]]
    # the loop's model and optimizer hold the saved state
    assert [w.tolist() for w in fresh.model.weights] == [[1.0, 2.0], [[3.0]]] and fresh.opt.tolist() == [0.5]
    # the record written is the progress's own
    assert _Progress(5, rows, 2.25, 1, 0.75, 4).meta("abc", 12) == meta


def test_resume_without_best_another_run_and_no_checkpoint(tmp_path):
    ck = tmp_path / "checkpoint.npz"
    assert _resume(ck, _FakeLoop([[0.0]], [0.0]), "abc") == _Progress()  # none there: from the start
    save_checkpoint(ck, _FakeLoop([[1.0]], [2.0]), _Progress(step=0, rows=[["r"]]).meta("abc", 3), None)
    p = _resume(ck, _FakeLoop([[0.0]], [0.0]), "abc")
    assert p.best_step == -1 and p.best_weights is None and p.rows == [["r"]]
    with pytest.raises(ValueError, match="checkpoint of a different run"):
        _resume(ck, _FakeLoop([[0.0]], [0.0]), "other")


def test_resume_moves_a_damaged_checkpoint_aside(tmp_path):
    ck = tmp_path / "checkpoint.npz"
    save_checkpoint(ck, _FakeLoop([[1.0]], [2.0]), _Progress(step=2).meta("abc", 3), None)
    ck.write_bytes(b"not a zip file")
    fresh = _FakeLoop([[0.0]], [0.0])
    with pytest.warns(RuntimeWarning, match="moved aside"):
        assert _resume(ck, fresh, "abc") == _Progress()
    assert fresh.model.weights[0].tolist() == [0.0] and (tmp_path / "checkpoint.npz.damaged").exists()


def _setup_for(loop, val_masked=None):
    val = Dataset(np.zeros((4, 2, 2, 1), np.uint8), np.array([0, 1, 2, 3]), class_names=("a", "b", "c", "d"))
    return _Setup(bundle=None, loop=loop, recipe=Recipe(eval_batch_size=3), variant=Variant("v", "given", None),
                  seed=7, train=val, val=val, val_masked=val_masked, filled=None, num_classes=4,
                  steps_per_epoch=8, total=16, fingerprint="abc", out=None), val


def test_evaluate_records_the_curve_rows_and_keeps_the_best():
    # predictions (0, 1, 2, 2) of labels (0, 1, 2, 3): per-class F1 1, 1, 2/3, 0 -> macro 2/3;
    # (0, 0, 0, 0): F1 2/5, 0, 0, 0 -> macro 1/10
    loop = _FakeLoop([[1.0]], [0.0], answers=[(0.5, np.array([0, 1, 2, 2])), (0.25, np.array([0, 0, 0, 0])),
                                              (0.75, np.array([0, 0, 0, 0]))])
    masked = object()
    run, val = _setup_for(loop, val_masked=masked)
    p = _Progress(step=4, loss_sum=3.0, loss_n=2)
    shown = _evaluate(run, p)
    assert shown == {"val_loss": 0.5, "val_f1": pytest.approx(2 / 3)}
    assert p.rows == [["v", 7, 4, 0.5, "train", "loss", 1.5],
                      ["v", 7, 4, 0.5, "validation", "loss", 0.5],
                      ["v", 7, 4, 0.5, "validation", "f1", pytest.approx(2 / 3)],
                      ["v", 7, 4, 0.5, "validation-masked", "loss", 0.25],
                      ["v", 7, 4, 0.5, "validation-masked", "f1", pytest.approx(1 / 10)]]
    assert loop.seen == [(val, 3), (masked, 3)]
    assert (p.loss_sum, p.loss_n) == (0.0, 0)
    assert (p.best_f1, p.best_step) == (pytest.approx(2 / 3), 4) and p.best_weights[0].tolist() == [1.0]

    # a worse evaluation, with no training step since the last: no train row, the best stays
    run, _ = _setup_for(loop)
    loop.model.weights = [np.array([5.0])]
    p.step = 6
    _evaluate(run, p)
    assert p.rows[5:] == [["v", 7, 6, 0.75, "validation", "loss", 0.75],
                          ["v", 7, 6, 0.75, "validation", "f1", pytest.approx(1 / 10)]]
    assert (p.best_step, p.best_weights[0].tolist()) == (4, [1.0])
