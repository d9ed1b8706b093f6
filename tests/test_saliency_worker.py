"""rbdm_core.saliency.worker: the graph-mode process, its job file and its analyzers."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras
L = keras.layers

from rbdm_core.saliency import worker  # noqa: E402
from saliency_models import images, plain_cnn, tape_grad, worker_job  # noqa: E402


@pytest.mark.slow
def test_worker_plain_cnn_conservation_and_gradient_agreement():
    """Bias-free ReLU CNN: deep Taylor sums to max(logit, 0), LRP-epsilon to the logit; the
    iNNvestigate gradient equals tf.GradientTape's."""
    m = plain_cnn()
    x = images(6, (12, 12, 1), seed=4)
    p, job = worker_job(m, x)
    logits = p(job.x).numpy()
    t = np.array([0, 1, 2, 0, 1, 2])
    raw, _ = worker.run(p, job, t, ["deep_taylor", "lrp_epsilon", "gradient"], batch_size=4)
    lt = logits[np.arange(6), t]
    dt = raw["deep_taylor"].reshape(6, -1).sum(1)
    np.testing.assert_allclose(dt, np.maximum(lt, 0), rtol=1e-4, atol=1e-4 * np.abs(lt).max())
    assert (lt < 0).any() and (lt > 0).any()  # both branches of max(logit, 0) exercised
    eps = raw["lrp_epsilon"].reshape(6, -1).sum(1)
    np.testing.assert_allclose(eps, lt, rtol=0.02)
    np.testing.assert_allclose(raw["gradient"], tape_grad(p, job.x, t), rtol=1e-4,
                               atol=1e-6 * np.abs(raw["gradient"]).max())


def test_module_is_this_module():
    """`run` starts `python -m worker.MODULE`: the name must be this module's."""
    assert worker.MODULE == worker.__name__ == "rbdm_core.saliency.worker"


def test_usage_without_a_job_file(capsys):
    assert worker.main([]) == 2
    assert "usage: python -m rbdm_core.saliency.worker JOB.json" in capsys.readouterr().err


@pytest.mark.slow
def test_worker_failure_is_raised_with_its_message():
    """A method the worker has no analyzer for: the worker writes error.txt, `run` raises it."""
    p, job = worker_job(plain_cnn(), images(2, (12, 12, 1)))
    with pytest.raises(RuntimeError, match=r"worker failed for methods \['smoothgrad'\]: ValueError: saliency "
                                           r"worker: unknown method 'smoothgrad'"):
        worker.run(p, job, np.zeros(2, np.int64), ["smoothgrad"], batch_size=2)


def test_in_process_relevance_takes_a_model_bundle_and_equals_the_worker(tmp_path):
    """relevance(bundle, in_process=True) in a process with eager execution off (what iNNvestigate
    needs there) runs the bundle's preprocessing in graph mode and gives the worker's maps."""
    import json
    import os
    import subprocess
    import sys

    from rbdm_core.models import build_model, save_bundle
    from rbdm_core.saliency import relevance

    path = save_bundle(build_model("tiny_cnn", 8, (40, 40, 1), input_size=48), tmp_path / "bundle")
    x = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 1)).astype(np.uint8)  # resized to 48 by the bundle
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, tensorflow as tf\n"
            "tf.compat.v1.disable_eager_execution()\n"
            "from rbdm_core.models import load_bundle\nfrom rbdm_core.saliency import relevance\n"
            "r = relevance(load_bundle(sys.argv[1]), np.load(sys.argv[2]), in_process=True)\n"
            "np.save(sys.argv[3], r.maps)\n")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "x.npy"), str(tmp_path / "maps.npy")],
                   check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True)
    in_process = np.load(tmp_path / "maps.npy")
    worker = relevance(str(path), x)
    assert in_process.shape == (3, 48, 48)
    np.testing.assert_allclose(in_process, worker.maps, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(in_process.sum(axis=(1, 2)), worker.logits, rtol=1e-4)  # deep Taylor conserves
