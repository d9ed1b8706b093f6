"""One call that makes a run reproducible: seeds and deterministic TensorFlow ops.

`training.train` calls `seed_everything` before it builds a model, so every training run is
seeded there, whoever starts it; chapter 7 calls it itself to show its settings.
"""

from __future__ import annotations

import os
import random

import numpy as np

#: Environment that the NVIDIA container (and CPU TensorFlow) read for deterministic kernels.
DETERMINISM_ENV = {
    "TF_DETERMINISTIC_OPS": "1",
    "TF_CUDNN_DETERMINISTIC": "1",
    "PYTHONHASHSEED": "0",
}

_threads_pinned = False


def seed_everything(seed: int = 0, *, single_thread: bool = False, op_determinism: bool = True) -> int:
    """Seed Python, numpy and TensorFlow; enable TensorFlow op determinism.

    seed:           int, used for `random`, `numpy.random` and `tf.random`/Keras.
    single_thread:  pin TensorFlow to one intra-op and one inter-op thread (the paper's
                    "one worker thread"); must be called before TensorFlow runs any op,
                    later calls cannot change it and are ignored with the first setting kept.
    op_determinism: call `tf.config.experimental.enable_op_determinism()`.
    Returns the seed.
    """
    global _threads_pinned
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed_everything: seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    for k, v in DETERMINISM_ENV.items():
        os.environ.setdefault(k, v)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

    if single_thread and not _threads_pinned:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
            _threads_pinned = True
        except RuntimeError:  # TensorFlow already initialised: keep its pools
            pass
    tf.keras.utils.set_random_seed(seed)
    if op_determinism:
        tf.config.experimental.enable_op_determinism()
    return seed
