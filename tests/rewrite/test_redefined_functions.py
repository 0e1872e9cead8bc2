"""A builder defined several times at module level (the lesson notebooks show alternatives of
``conv_layer`` before the call): left with a reason that says which lines and what to do."""

from __future__ import annotations

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import left_reasons

LAYER = """\
def conv_layer(prev_layer, depth, is_training):
    layer = tf.layers.conv2d(prev_layer, depth, 3, 1, 'same', use_bias={bias})
    layer = tf.layers.batch_normalization(layer, training=is_training)
    return tf.nn.relu(layer)


"""

PROGRAM = """\
import numpy as np
import tensorflow as tf


{layers}inputs = tf.placeholder(tf.float32, [None, 8, 8, 1])
labels = tf.placeholder(tf.float32, [None, 1])
is_training = tf.placeholder(tf.bool)
layer = conv_layer(inputs, 4, is_training)
loss = tf.reduce_mean(tf.square(tf.reduce_mean(layer, axis=[1, 2, 3]) - labels[:, 0]))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    data = np.random.RandomState(0).rand(4, 8, 8, 1).astype(np.float32)
    sess.run(train_op, {{inputs: data, labels: data[:, 0, 0], is_training: True}})
"""


def test_a_builder_defined_twice_is_left_naming_its_definitions() -> None:
    source = PROGRAM.format(layers=LAYER.format(bias=True) + LAYER.format(bias=False))
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    reasons = left_reasons(result)
    assert reasons, reasons
    assert [line for _, line, _ in reasons] == [6, 7, 12, 13]  # each layer of both definitions
    assert all(
        "`conv_layer` is defined 2 times at module level (lines 5, 11)" in message
        and "keep one definition" in message
        for _, _, message in reasons
    ), reasons


def test_with_one_definition_kept_it_migrates() -> None:
    result = rewrite_source(PROGRAM.format(layers=LAYER.format(bias=False)))
    assert result.status is Status.CHANGED, left_reasons(result)
