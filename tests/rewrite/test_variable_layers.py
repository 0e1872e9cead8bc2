"""Layers written with free variables in a function (the Udacity batch-norm lesson's ``conv_layer``: a
``tf.Variable`` kernel convolved with the input, a ``tf.Variable`` bias added): written as the
``tf.layers`` call they are before the rules (``analysis.variable_layers``,
``planning.variable_layers``), then migrated as such calls are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.planning.variable_layers import expand
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import (
    assert_migration_checked_equivalent,
    assert_planted_mistake_caught,
    assert_rewrite,
    left_reasons,
)

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

CONV = """\
def conv_layer(prev_layer, layer_depth, is_training):
    strides = 2 if layer_depth % 2 == 0 else 1
    in_channels = prev_layer.get_shape().as_list()[3]
    out_channels = layer_depth * 2
    weights = tf.Variable(tf.truncated_normal([3, 3, in_channels, out_channels], stddev=0.05))
    bias = tf.Variable(tf.zeros(out_channels))
    conv = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')
    conv = tf.nn.bias_add(conv, bias)
    conv = tf.layers.batch_normalization(conv, training=is_training)
    return tf.nn.relu(conv)
"""

DENSE = """\
def fully_connected(prev_layer, num_units):
    weights = tf.Variable(tf.random_normal([prev_layer.get_shape().as_list()[1], num_units], stddev=0.1))
    bias = tf.Variable(tf.constant(0.1, shape=[num_units]))
    layer = tf.matmul(prev_layer, weights) + bias
    return layer
"""

PROGRAM = """\
import numpy as np
import tensorflow as tf

rng = np.random.RandomState(0)
IMAGES = rng.rand(32, 8, 8, 1).astype(np.float32)
LABELS = np.eye(2)[rng.randint(0, 2, 32)].astype(np.float32)


{conv}

{dense}

inputs = tf.placeholder(tf.float32, [None, 8, 8, 1])
labels = tf.placeholder(tf.float32, [None, 2])
is_training = tf.placeholder(tf.bool)
layer = inputs
for layer_i in range(1, 4):
    layer = conv_layer(layer, layer_i, is_training)
shape = layer.get_shape().as_list()
layer = tf.reshape(layer, [-1, shape[1] * shape[2] * shape[3]])
logits = fully_connected(layer, 2)
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(4):
        batch = slice(step * 8, (step + 1) * 8)
        feed = {{inputs: IMAGES[batch], labels: LABELS[batch], is_training: True}}
        _, value = sess.run([train_op, loss], feed)
        print("step %d loss %.6f" % (step, value))
    print("eval loss %.6f" % sess.run(loss, {{inputs: IMAGES, labels: LABELS, is_training: False}}))
"""

SOURCE = PROGRAM.format(conv=CONV, dense=DENSE)


def _written(source: str) -> str:
    module = cst.parse_module(source)
    return expand(module, AliasTable.build(module)).module.code


def test_a_convolution_of_free_variables_is_written_as_its_tf_layers_call() -> None:
    written = _written("import tensorflow as tf\n\n\n" + CONV)
    assert written == (
        "import tensorflow as tf\n\n\n"
        "def conv_layer(prev_layer, layer_depth, is_training):\n"
        "    strides = 2 if layer_depth % 2 == 0 else 1\n"
        "    out_channels = layer_depth * 2\n"
        "    conv = tf.layers.conv2d(prev_layer, out_channels, (3, 3), (strides, strides), "
        '"same", kernel_initializer=tf.truncated_normal_initializer(stddev=0.05), '
        "bias_initializer=tf.zeros_initializer())\n"
        "    conv = tf.layers.batch_normalization(conv, training=is_training)\n"
        "    return tf.nn.relu(conv)\n"
    )


def test_a_product_of_free_variables_is_written_as_its_tf_layers_call() -> None:
    written = _written("import tensorflow as tf\n\n\n" + DENSE)
    assert (
        "    layer = tf.layers.dense(prev_layer, num_units, "
        "kernel_initializer=tf.random_normal_initializer(stddev=0.1), "
        "bias_initializer=tf.constant_initializer(0.1))\n"
    ) in written
    assert "tf.Variable" not in written and "matmul" not in written


def test_the_program_migrates_and_sites_are_at_the_file_lines() -> None:
    result = rewrite_source(SOURCE)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "tf.Variable" not in result.code and "tf.nn.conv2d" not in result.code
    assert "conv_layer_1 = [ConvLayer(layer_depth=layer_i) for layer_i in range(1, 4)]" in (
        result.code
    )
    lines = SOURCE.split("\n")
    written = [s for s in result.applied if "written as the `tf.layers" in s.message]
    assert [lines[s.line - 1].strip()[:10] for s in written] == ["weights = "] * 2
    assert_rewrite(SOURCE, result.code)  # parses; rewriting it again changes nothing


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        pytest.param(
            "    conv = tf.nn.bias_add(conv, bias)\n",
            "    conv = tf.nn.bias_add(conv, bias)\n    tf.add_to_collection('l2', tf.nn.l2_loss(weights))\n",
            "bound or read elsewhere in the function",
            id="kernel-read-twice",
        ),
        pytest.param(
            "def conv_layer(",
            "# reuse: not here\ndef conv_layer(",
            "may reuse variables",
            id="reuse-in-module",
        ),
        pytest.param(
            "def conv_layer(",
            "NAMES = 'Variable_1'\n\n\ndef conv_layer(",
            "a string holding `Variable`",
            id="name-selecting-string",
        ),
        pytest.param(
            "loss = tf.reduce_mean(",
            "convs = [v for v in tf.trainable_variables() if 'conv2d' in v.name]\nloss = tf.reduce_mean(",
            "a string holding `conv2d`",
            id="new-name-selected",
        ),
        pytest.param(
            "def conv_layer(",
            "def scoped(x):\n    with tf.name_scope('s'):\n        return x\n\n\ndef conv_layer(",
            "name scopes",
            id="name-scopes",
        ),
        pytest.param(
            "    conv = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')\n"
            "    conv = tf.nn.bias_add(conv, bias)\n",
            "    pre = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')\n"
            "    conv = tf.nn.bias_add(pre, bias)\n    tf.summary.histogram('pre', pre)\n",
            "`pre` in `conv_layer` is bound or read elsewhere",
            id="product-read-later",
        ),
    ],
)
def test_kernels_a_layer_could_not_hold_are_left_with_the_reason(before, after, why) -> None:
    source = SOURCE.replace(before, after, 1)
    assert source != SOURCE
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(why in message for _, _, message in left_reasons(result)), left_reasons(result)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param("tf.zeros(out_channels)", "tf.zeros(in_channels)", id="bias-not-the-filters"),
        pytest.param("stddev=0.05)", "stddev=0.05, seed=3)", id="seeded"),
        pytest.param(
            "strides=[1, strides, strides, 1]",
            "strides=[2, strides, strides, 1]",
            id="batch-stride",
        ),
        pytest.param("tf.truncated_normal(", "tf.random_uniform(", id="other-initial-value"),
        pytest.param(
            "    bias = tf.Variable(tf.zeros(out_channels))\n",
            "    bias = tf.Variable(tf.zeros(out_channels))\n    strides = 3\n",
            id="a-size-bound-again-between",
        ),
    ],
)
def test_other_shapes_are_not_written_out(before: str, after: str) -> None:
    """(Left then as BN014 leaves any ``tf.Variable`` in a function.)"""
    source = "import tensorflow as tf\n\n\n" + CONV.replace(before, after)
    assert _written(source) == source


@pytest.mark.slow
def test_the_migration_is_checked_equivalent(tmp_path: Path, old_cache: OldRunCache) -> None:
    assert_migration_checked_equivalent(tmp_path, SOURCE, "variable_layers", old_cache=old_cache)


@pytest.mark.slow
def test_a_changed_bias_initializer_is_caught(tmp_path: Path, old_cache: OldRunCache) -> None:
    assert_planted_mistake_caught(
        tmp_path,
        SOURCE,
        "Constant(value=0.1)",
        "Constant(value=0.2)",
        "variable_layers",
        old_cache=old_cache,
    )


def test_a_printed_string_holding_a_layer_word_selects_nothing() -> None:
    source = SOURCE.replace(
        'print("step %d loss %.6f"', 'print("bias and kernel step %d loss %.6f"'
    )
    assert rewrite_source(source).status is Status.CHANGED


def test_the_compat_v1_spelling_is_written_with_its_own_name() -> None:
    written = _written("import tensorflow.compat.v1 as tf1\n\n\n" + CONV.replace("tf.", "tf1."))
    assert "    conv = tf1.layers.conv2d(prev_layer, out_channels, (3, 3)," in written


def test_a_convolution_without_bias_is_written_with_use_bias_false() -> None:
    conv = CONV.replace("    bias = tf.Variable(tf.zeros(out_channels))\n", "").replace(
        "    conv = tf.nn.bias_add(conv, bias)\n", ""
    )
    written = _written("import tensorflow as tf\n\n\n" + conv)
    assert (
        '"same", kernel_initializer=tf.truncated_normal_initializer(stddev=0.05), use_bias=False)'
        in written
    ), written
