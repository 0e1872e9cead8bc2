"""The ``WholeAveragePooling2D`` class BN003 emits pools like TF1's ``slim.avg_pool2d(net,
net.get_shape()[1:3], padding="VALID")``, bit for bit.

TF1 ran its ``AvgPool`` kernel with a window of the input's spatial size. Keras's
``GlobalAveragePooling2D`` takes a mean instead, which rounds differently (up to 2.4e-7 on these inputs,
measured on TF 2.21): enough for Adam to turn a near-zero gradient of the next layer into a whole step.
The emitted class, executed from its own source as a migrated file holds it, must give TF1's outputs and
gradients exactly, kernel for kernel: the comparison runs in a process with oneDNN's kernels off
(``TF_ENABLE_ONEDNN_OPTS=0``). With them on, which kernel runs depends on the CPU: on an AMD EPYC with
AVX-512 BF16 the TF1 graph's and the eager gradient differed in the last bit (7.5e-9) on these inputs,
a rounding difference ``bn-migrate check`` names as such (its rounding variant reruns with them off).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from bn_migrate.rewrite.rules.bn003_layers import _WHOLE_POOL_SOURCE
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SHAPES = [(8, 4, 4, 64), (8, 5, 5, 10), (3, 13, 13, 7), (2, 7, 9, 3)]


def _tf1_graph(x: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Outputs and input gradients of contrib's avg_pool2d over the whole input, in a TF1 graph."""
    import tensorflow as tf
    import tf_slim as slim

    with tf.Graph().as_default():
        inputs = tf.constant(x)
        y = slim.avg_pool2d(inputs, inputs.get_shape()[1:3], padding="VALID")
        [grad] = tf.gradients(tf.reduce_sum(y * weights), [inputs])
        with tf.compat.v1.Session() as session:
            return session.run([y, grad])


def test_outputs_and_gradients_are_tf1s() -> None:
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0", PYTHONPATH=str(REPO))
    ran = subprocess.run(
        [sys.executable, "-c", f"import {__name__} as t; t.compare()"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[-1] == "same outputs and gradients; the Keras mean differs"


def compare() -> None:
    """Run in a process of its own (see the module docstring); prints the verdict, raises on a
    difference."""
    import keras
    import tensorflow as tf

    namespace = {"tf": tf}
    exec(_WHOLE_POOL_SOURCE, namespace)
    layer = namespace["WholeAveragePooling2D"](name="pool")
    rng = np.random.default_rng(0)
    mean_differs = False
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        weights = rng.standard_normal((shape[0], 1, 1, shape[3])).astype(np.float32)
        want_y, want_grad = _tf1_graph(x, weights)
        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = layer(inputs)
            loss = tf.reduce_sum(y * weights)
        assert y.shape == want_y.shape == (shape[0], 1, 1, shape[3])
        np.testing.assert_array_equal(y.numpy(), want_y)
        np.testing.assert_array_equal(tape.gradient(loss, inputs).numpy(), want_grad)
        mean = keras.layers.GlobalAveragePooling2D(keepdims=True)(inputs).numpy()
        mean_differs |= not np.array_equal(mean, want_y)
    # why the class exists: the Keras global pool is not TF1's kernel on these inputs
    assert mean_differs
    print("same outputs and gradients; the Keras mean differs")
