"""A TF1 program that builds its model again in a new graph (an entry function called twice, each call after
``tf.reset_default_graph()``) makes layers of the same names in two graphs: each is applied once per step,
not one layer twice (which the checker judges against TF1's racing update orders). ``training_calls`` is
counted per graph (bn_migrate/check/hooks_old.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.fixture_checks import check_sources

OLD = """\
import numpy as np
import tensorflow as tf

np.random.seed(0)
x_data = np.random.rand(16, 5).astype(np.float32)
y_data = np.random.rand(16, 1).astype(np.float32)


def train(steps):
    x = tf.placeholder(tf.float32, [None, 5])
    y = tf.placeholder(tf.float32, [None, 1])
    is_training = tf.placeholder(tf.bool, [])
    h = tf.layers.dense(x, 4)
    h = tf.layers.batch_normalization(h, training=is_training)
    out = tf.layers.dense(tf.nn.relu(h), 1)
    loss = tf.reduce_mean(tf.square(out - y))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train_op, {x: x_data, y: y_data, is_training: True})


tf.reset_default_graph()
train(4)
tf.reset_default_graph()
train(3)
"""

NEW = """\
import numpy as np
import tensorflow as tf

np.random.seed(0)
x_data = np.random.rand(16, 5).astype(np.float32)
y_data = np.random.rand(16, 1).astype(np.float32)


def train(steps):
    dense = tf.keras.layers.Dense(4)
    batch_normalization = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001)
    dense_1 = tf.keras.layers.Dense(1)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            h = batch_normalization(dense(x), training=True)
            loss = tf.reduce_mean(tf.square(dense_1(tf.nn.relu(h)) - y))
        layers = (dense, batch_normalization, dense_1)
        variables = [v for layer in layers for v in layer.trainable_variables]
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    for _ in range(steps):
        train_step(x_data, y_data)


tf.keras.backend.clear_session()
train(4)
tf.keras.backend.clear_session()
train(3)
"""


@pytest.mark.slow
def test_a_model_built_again_in_a_new_graph_is_not_a_layer_applied_twice(tmp_path: Path) -> None:
    result = check_sources(tmp_path, OLD, NEW)
    text = result.render_text()
    assert result.verdict == "equivalent", text
    assert "twice per step" not in text, text


@pytest.mark.slow
def test_a_wrong_momentum_in_the_rebuilt_model_is_caught(tmp_path: Path) -> None:
    planted = NEW.replace("momentum=0.99,", "momentum=0.9801,")
    assert planted != NEW
    result = check_sources(tmp_path, OLD, planted)
    assert result.verdict == "different", result.render_text()
