"""seed_everything seeds Python, numpy and TensorFlow and turns on op determinism."""

import random
import subprocess
import sys

import numpy as np
import pytest

from rbdm_core.determinism import seed_everything


def test_same_seed_same_draws():
    import tensorflow as tf

    seed_everything(3)
    a = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    seed_everything(3)
    b = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    seed_everything(4)
    c = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    assert a == b and a != c


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def test_op_determinism_and_single_thread_in_a_fresh_process():
    code = (
        "from rbdm_core.determinism import seed_everything\n"
        "seed_everything(0, single_thread=True)\n"
        "import tensorflow as tf, os\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads(), os.environ['TF_DETERMINISTIC_OPS'])\n"
        "from tensorflow.python.framework import config\n"
        "print(config.is_op_determinism_enabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[:3] == ["1", "1", "1"] and lines[3] == "True"
