"""The check starts NEW's model variables from OLD's initial values, so that the steps can be compared;
that alone would hide a migration whose initializer of a BN variable or a bias differs (a dropped
``moving_variance_initializer``, contrib's ``param_initializers``, a bias's ``constant_initializer(0.1)``).
Before aligning a variable that OLD started at one constant, the hooks read where NEW's own initializer started
it (``hooks_new.Recorder.compare_initial``); a difference is ``initial-value-changed``, DIFFERENT. A
random initializer (no run reproduces another's draws) is not judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.fixture_checks import check_sources

OLD = """\
import numpy as np
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = tf.layers.dense(x, 3, bias_initializer=tf.constant_initializer(0.1), name="dense")
h = tf.layers.batch_normalization(
    h, training=is_training, gamma_initializer={gamma},
    moving_variance_initializer=tf.constant_initializer(2.0))
loss = tf.reduce_mean(tf.square(h - 1.0))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
data = np.arange(24, dtype=np.float32).reshape(8, 3)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(3):
        sess.run(train_op, {{x: data, is_training: True}})
"""

NEW = """\
import numpy as np
import tensorflow as tf

dense = tf.keras.layers.Dense(3, {bias}name="dense")
bn = tf.keras.layers.BatchNormalization(
    momentum=0.99, epsilon=0.001, gamma_initializer={gamma}, {variance}name="batch_normalization")
optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(bn(dense(x), training=True) - 1.0))
    variables = dense.trainable_variables + bn.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))


data = np.arange(24, dtype=np.float32).reshape(8, 3)
for _ in range(3):
    train_step(data)
"""

VARIANCE = "moving_variance_initializer=tf.keras.initializers.Constant(2.0), "
BIAS = "bias_initializer=tf.keras.initializers.Constant(0.1), "


@pytest.mark.slow
def test_the_same_initializers_are_equivalent(tmp_path: Path) -> None:
    result = check_sources(
        tmp_path,
        OLD.format(gamma="tf.constant_initializer(0.5)"),
        NEW.format(gamma="tf.keras.initializers.Constant(0.5)", variance=VARIANCE, bias=BIAS),
    )
    assert result.verdict == "equivalent", result.render_text()
    assert "initial-value-changed" not in result.render_text()


@pytest.mark.slow
def test_a_dropped_or_changed_initializer_is_different(tmp_path: Path) -> None:
    result = check_sources(
        tmp_path,
        OLD.format(gamma="tf.constant_initializer(0.5)"),
        NEW.format(gamma="tf.keras.initializers.Constant(0.25)", variance="", bias=""),
    )
    text = result.render_text()
    assert result.verdict == "different", text
    found = {
        (d.data["variable"], round(d.data["old_value"], 6), round(d.data["new_value"], 6))
        for d in result.diagnoses
        if d.cause.value == "initial-value-changed"
    }
    assert found == {
        ("dense/bias", 0.1, 0.0),
        ("batch_normalization/gamma", 0.5, 0.25),
        ("batch_normalization/moving_variance", 2.0, 1.0),
    }, text
    assert "starts at 1 where OLD's batch_normalization/moving_variance starts at 2" in text, text


@pytest.mark.slow
def test_a_random_initializer_is_not_judged(tmp_path: Path) -> None:
    result = check_sources(
        tmp_path,
        OLD.format(gamma="tf.random_normal_initializer(1.0, 0.05)"),
        NEW.format(
            gamma="tf.keras.initializers.RandomNormal(1.0, 0.05)", variance=VARIANCE, bias=BIAS
        ),
    )
    assert result.verdict == "equivalent", result.render_text()
