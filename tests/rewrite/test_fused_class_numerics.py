"""The ``BatchNormalization`` subclass BN008 emits trains like TF1's fused kernel, bit for bit.

TF1 (``tf.layers`` on 4-D input, contrib/slim ``batch_norm`` on 2-D and 4-D input, both with ``fused=None``)
ran ``fused_batch_norm``; contrib reshaped 2-D input to ``[N, 1, 1, C]`` first. The emitted class, executed
from its own source as a migrated file holds it, must give the same outputs and the same gradients as that
graph (Keras 3's own arithmetic differs in the last bits, which Adam turns into whole steps), and move the
moving variance towards the unbiased batch variance.
"""

from __future__ import annotations

import numpy as np
import pytest

from bn_migrate.rewrite.rules.bn008_fused_batch_norm import _FUSED_CLASS_SOURCE

pytestmark = pytest.mark.slow


def _emitted_class():  # type: ignore[no-untyped-def]
    import tensorflow as tf

    namespace = {"tf": tf}
    exec(_FUSED_CLASS_SOURCE, namespace)
    return namespace["BatchNormalization"]


def _tf1_graph(x, gamma, beta, weights, epsilon):  # type: ignore[no-untyped-def]
    """Outputs, gradients (x, gamma, beta) and the batch variance of TF1's fused kernel, in a graph."""
    import tensorflow as tf

    with tf.Graph().as_default():
        inputs = tf.constant(x)
        scale, offset = tf.Variable(gamma), tf.Variable(beta)
        reshaped = tf.reshape(inputs, [-1, 1, 1, x.shape[-1]]) if x.ndim == 2 else inputs
        y, _, variance = tf.compat.v1.nn.fused_batch_norm(
            reshaped, scale, offset, epsilon=epsilon, is_training=True
        )
        y = tf.reshape(y, tf.shape(inputs))
        grads = tf.gradients(tf.reduce_sum(y * weights), [inputs, scale, offset])
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return session.run([y, grads, variance])


@pytest.mark.parametrize("shape", [(16, 5, 5, 8), (32, 8)])
def test_outputs_gradients_and_update_are_tf1s(shape: tuple[int, ...]) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    weights = rng.standard_normal(shape).astype(np.float32)
    channels = shape[-1]
    gamma = (rng.random(channels) + 0.5).astype(np.float32)
    beta = rng.standard_normal(channels).astype(np.float32)
    y_tf1, grads_tf1, variance_tf1 = _tf1_graph(x, gamma, beta, weights, 1e-3)

    layer = _emitted_class()(epsilon=1e-3, momentum=0.0, fused_ranks=(2, 4))
    layer.build(shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = layer(inputs, training=True)
        loss = tf.reduce_sum(y * weights)
    grads = tape.gradient(loss, [inputs, layer.gamma, layer.beta])

    np.testing.assert_array_equal(y.numpy(), y_tf1)
    for got, expected in zip(grads, grads_tf1):
        np.testing.assert_array_equal(np.asarray(got), expected)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), variance_tf1)  # momentum 0
    count = x.size // channels
    biased = x.reshape(-1, channels).var(axis=0)
    np.testing.assert_allclose(variance_tf1, biased * count / (count - 1), rtol=1e-5)

    plain = tf.keras.layers.BatchNormalization(epsilon=1e-3)
    plain.build(shape)
    plain.gamma.assign(gamma)
    plain.beta.assign(beta)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(plain(inputs, training=True) * weights)
    plain_grads = tape.gradient(loss, [plain.gamma, plain.beta])
    assert any(  # the test can tell: Keras's own arithmetic is not TF1's to the bit
        not np.array_equal(np.asarray(got), expected)
        for got, expected in zip(plain_grads, grads_tf1[1:])
    )
