"""One training run's TensorFlow side: its train step and evaluation as `tf.function`s, and its
model and optimizer state as named arrays (what `rbdm_core.training`'s checkpoints hold).

`Loop(bundle, recipe, weights, strategy)`: `train_step(x, y, seed)` (masking happens before, on
the uint8 batch; augmentation, preprocessing, the class-weighted loss and the Adam update inside
one step), `evaluate(ds, batch_size)` -> (mean cross-entropy, predicted labels), `get_state()` /
`set_state(arrays)`. `save_checkpoint` writes that state with the best weights and a JSON record.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import augment as aug
from .artifacts import save_npz
from .data.dataset import Dataset


def _retracing_notice(record) -> bool:
    """Logging filter: drop TensorFlow's "N out of the last M calls ... triggered tf.function
    retracing" notice, which every `train` after the fifth in one process would print (each run
    makes its own tf.functions, on purpose: a run owns its model and optimizer)."""
    return "triggered tf.function retracing" not in record.getMessage()


class Loop:
    """Holds the tf.functions of one run (train step, evaluation); `recipe` is a
    `training.Recipe` (lr, augmentation ranges)."""

    def __init__(self, bundle, recipe, weights: np.ndarray, strategy):
        import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

        logger = tf.get_logger()
        if _retracing_notice not in logger.filters:
            logger.addFilter(_retracing_notice)
        self.model = bundle.model
        self.pre = bundle.preprocess
        self.strategy = strategy
        with strategy.scope():
            self.optimizer = tf.keras.optimizers.Adam(learning_rate=recipe.lr)
            self.optimizer.build(self.model.trainable_variables)
        cfg = recipe.augment_config()
        w = tf.constant(weights, tf.float32)
        model, pre, opt = self.model, self.pre, self.optimizer

        def replica_step(x, y, seed):
            ctx = tf.distribute.get_replica_context()
            n_rep = ctx.num_replicas_in_sync
            r = ctx.replica_id_in_sync_group
            b = tf.shape(x)[0]
            params = aug.random_params(b, seed, cfg)  # draws for the whole global batch
            lo, hi = (r * b) // n_rep, ((r + 1) * b) // n_rep
            xs = tf.cast(x[lo:hi], tf.float32)
            xs = aug.apply_params(xs, aug.slice_params(params, lo, hi), cfg)
            xs = pre.apply_tf(xs)
            ys = y[lo:hi]
            with tf.GradientTape() as tape:
                probs = model(xs, training=True)
                ce = tf.keras.losses.sparse_categorical_crossentropy(ys, probs)
                loss = tf.reduce_sum(ce * tf.gather(w, ys)) / tf.cast(b, tf.float32)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        @tf.function(reduce_retracing=True)  # the last batch of an epoch may be smaller
        def train_step(x, y, seed):
            per = strategy.run(replica_step, args=(x, y, seed))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per, axis=None)

        @tf.function(reduce_retracing=True)  # the last evaluation batch is smaller
        def predict(x):
            return model(pre.apply_tf(x), training=False)

        self.train_step = train_step
        self.predict = predict

    def evaluate(self, ds: Dataset, batch_size: int) -> tuple[float, np.ndarray]:
        """(mean cross-entropy, (N,) predicted labels) on `ds`."""
        probs = np.concatenate([np.asarray(self.predict(ds.images[i:i + batch_size]))
                                for i in range(0, len(ds), batch_size)])
        p = np.clip(probs[np.arange(len(ds)), ds.labels], 1e-7, 1.0)
        return float(-np.log(p).mean()), probs.argmax(axis=1)

    # -- state
    def get_state(self) -> dict[str, np.ndarray]:
        out = {f"w{i:04d}": v for i, v in enumerate(self.model.get_weights())}
        out.update({f"o{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(self.optimizer.variables)})
        return out

    def set_state(self, z) -> None:
        nw = len(self.model.get_weights())
        self.model.set_weights([z[f"w{i:04d}"] for i in range(nw)])
        for i, v in enumerate(self.optimizer.variables):
            v.assign(z[f"o{i:04d}"])


def save_checkpoint(path: Path, loop: Loop, meta: dict, best_weights: list[np.ndarray] | None) -> None:
    """The loop's state (`w....` weights, `o....` optimizer variables), the best weights (`b....`)
    when there are any, and `meta` as JSON, written atomically (`artifacts.save_npz`)."""
    arrays = loop.get_state()
    if best_weights is not None:
        arrays.update({f"b{i:04d}": v for i, v in enumerate(best_weights)})
    arrays["meta"] = np.array(json.dumps(meta))
    save_npz(path, **arrays)
