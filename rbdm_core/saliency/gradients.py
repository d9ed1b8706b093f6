"""The gradient family, computed with TensorFlow in this process (eager or graph mode).

    raw = integrated_gradients(prepared, job, targets, batch_size=32, seed=0)   # (N, h, w, c) float32

Each function: prepared model (`prepare.prepare_model`, pre-softmax logits), `job`
(`inputs.Job`: x (N, h, w, c) float32 preprocessed, bounds, baseline), targets (N,) int64 ->
relevance per input value, (N, h, w, c) float32, in the units of d logit / d input (times the
input difference for integrated gradients). iNNvestigate's IntegratedGradients and SmoothGrad fail
on this stack (TypeError on a resource dtype), so they are replaced, not wrapped.
"""

from __future__ import annotations

import sys

import numpy as np

from rbdm_core.progress import disabled

IG_STEPS = 32  # midpoints of the straight path from the baseline
SMOOTHGRAD_SAMPLES = 16  # noisy copies per image
SMOOTHGRAD_NOISE = 0.15  # noise standard deviation, as a fraction of the input range


class GradFn:
    """d logit[target] / d input for batches, in eager (GradientTape) or graph (tf.gradients) mode."""

    def __init__(self, model):
        import tensorflow as tf  # deferred: TensorFlow, an optional extra and slow to import

        self.model = model
        if tf.executing_eagerly():
            @tf.function(reduce_retracing=True)
            def f(x, t):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = tf.gather(model(x, training=False), t, batch_dims=1)
                return tape.gradient(y, x)

            self._f = lambda x, t: f(tf.constant(x), tf.constant(t)).numpy()
        else:
            import tensorflow.keras.backend as K  # deferred: TensorFlow, an optional extra and slow to import

            t_in = tf.compat.v1.placeholder(tf.int64, (None,))
            y = tf.gather(model.output, t_in, batch_dims=1)
            g = tf.gradients(y, model.input)[0]
            fn = K.function([model.input, t_in], [g])
            self._f = lambda x, t: fn([x, t])[0]

    def __call__(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.asarray(self._f(x.astype(np.float32), t.astype(np.int64)), np.float32)


def _batched(fn, x, t, batch_size, desc):
    """Concatenate fn(x[s:e], t[s:e], s) over batches, with a progress bar."""
    from tqdm import tqdm  # deferred: tqdm (about 0.1 s); saliency is imported by `rbdm --help` (explain's method list)

    out = [fn(x[s:s + batch_size], t[s:s + batch_size], s)
           for s in tqdm(range(0, len(x), batch_size), desc=desc, file=sys.stderr, leave=False,
                         disable=disabled(len(x) <= batch_size))]
    return np.concatenate(out)


def gradient(prepared, job, t, batch_size: int, seed: int = 0) -> np.ndarray:
    """d logit[target] / d x."""
    grad = GradFn(prepared)
    return _batched(lambda xb, tb, _s: grad(xb, tb), job.x, t, batch_size, "relevance gradient")


def integrated_gradients(prepared, job, t, batch_size: int, seed: int = 0) -> np.ndarray:
    """(x - x0) times the mean gradient at `IG_STEPS` midpoints of the straight path from the
    baseline x0 = `job.baseline` (the preprocessed black image)."""
    grad = GradFn(prepared)
    alphas = (np.arange(IG_STEPS) + 0.5) / IG_STEPS
    x0 = job.baseline[None]

    def ig(xb, tb, _s):
        acc = np.zeros_like(xb)
        for a in alphas:
            acc += grad(x0 + a * (xb - x0), tb)
        return (xb - x0) * acc / IG_STEPS

    return _batched(ig, job.x, t, batch_size, "relevance integrated_gradients")


def smoothgrad(prepared, job, t, batch_size: int, seed: int = 0) -> np.ndarray:
    """The mean gradient over `SMOOTHGRAD_SAMPLES` copies of x with Gaussian noise of standard
    deviation `SMOOTHGRAD_NOISE` times the input range; the noise of image i is drawn from
    (seed, i), independent of the batch size."""
    grad = GradFn(prepared)
    sigma = np.float32(SMOOTHGRAD_NOISE * (job.bounds[1] - job.bounds[0]))

    def sg(xb, tb, s):
        noise = np.stack([np.random.default_rng([seed, s + i]).standard_normal(
            (SMOOTHGRAD_SAMPLES,) + xb.shape[1:], dtype=np.float32) for i in range(len(xb))], axis=1)
        acc = np.zeros_like(xb)
        for e in noise:
            acc += grad(xb + sigma * e, tb)
        return acc / SMOOTHGRAD_SAMPLES

    return _batched(sg, job.x, t, batch_size, "relevance smoothgrad")
