"""Batch norm written by hand with ``tf.assign`` under ``tf.cond`` inside a layer function (the Udacity
batch-norm lesson's solution): written as the contrib ``batch_norm(..., updates_collections=None,
fused=False)`` call it is before the rules (``analysis.assigned_batch_norm``,
``planning.assigned_batch_norm``), then migrated as such calls are (BN002)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.planning.assigned_batch_norm import expand
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import (
    assert_migration_checked_equivalent,
    assert_planted_mistake_caught,
    assert_rewrite,
    left_reasons,
)

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

RECIPE = """\
    gamma = tf.Variable(tf.ones([{size}]))
    beta = tf.Variable(tf.zeros([{size}]))
    pop_mean = tf.Variable(tf.zeros([{size}]), trainable=False)
    pop_variance = tf.Variable(tf.ones([{size}]), trainable=False)
    epsilon = 1e-3

    def batch_norm_training():
        batch_mean, batch_variance = tf.nn.moments(layer, {axes})
        decay = 0.9
        train_mean = tf.assign(pop_mean, pop_mean * decay + batch_mean * (1 - decay))
        train_variance = tf.assign(pop_variance, pop_variance * decay + batch_variance * (1 - decay))
        with tf.control_dependencies([train_mean, train_variance]):
            return tf.nn.batch_normalization(layer, batch_mean, batch_variance, beta, gamma, epsilon)

    def batch_norm_inference():
        return tf.nn.batch_normalization(layer, pop_mean, pop_variance, beta, gamma, epsilon)

    batch_normalized_output = tf.cond(is_training, batch_norm_training, batch_norm_inference)
    return tf.nn.relu(batch_normalized_output)
"""

DENSE = """\
def fully_connected(prev_layer, num_units, is_training):
    layer = tf.layers.dense(prev_layer, num_units, use_bias=False, activation=None)
""" + RECIPE.format(size="num_units", axes="[0]")

CONV = """\
def conv_layer(prev_layer, layer_depth, is_training):
    strides = 2 if layer_depth % 2 == 0 else 1
    in_channels = prev_layer.get_shape().as_list()[3]
    out_channels = layer_depth * 2
    weights = tf.Variable(tf.truncated_normal([3, 3, in_channels, out_channels], stddev=0.05))
    layer = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')
""" + RECIPE.format(size="out_channels", axes="[0, 1, 2]")

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
layer = fully_connected(layer, 8, is_training)
logits = tf.layers.dense(layer, 2)
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
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


def test_the_recipe_is_written_as_contribs_call() -> None:
    assert _written("import tensorflow as tf\n\n\n" + DENSE) == (
        "import tensorflow as tf\n\n\n"
        "def fully_connected(prev_layer, num_units, is_training):\n"
        "    layer = tf.layers.dense(prev_layer, num_units, use_bias=False, activation=None)\n"
        "\n"
        "    batch_normalized_output = tf.contrib.layers.batch_norm(layer, decay=0.9, "
        "epsilon=1e-3, scale=True, updates_collections=None, is_training=is_training, "
        "fused=False)\n"
        "    return tf.nn.relu(batch_normalized_output)\n"
    )


def test_the_program_migrates_to_keras_batch_norm_layers() -> None:
    result = rewrite_source(SOURCE)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert result.code.count("BatchNormalization(momentum=0.9, epsilon=1e-3") == 2
    assert "tf.assign" not in result.code and "tf.cond" not in result.code
    lines = SOURCE.split("\n")
    written = [s for s in result.applied if s.rule == "BN020"]
    assert [lines[s.line - 1].strip()[:24] for s in written] == ["batch_normalized_output "] * 2
    assert_rewrite(SOURCE, result.code)  # parses; rewriting it again changes nothing


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "pop_variance * decay + batch_variance * (1 - decay)",
            "pop_variance * 0.8 + batch_variance * (1 - 0.8)",
            id="two-decays",
        ),
        pytest.param(
            "tf.Variable(tf.ones([num_units]), trainable=False)",
            "tf.Variable(tf.ones([num_units]))",
            id="moving-variance-trained",
        ),
        pytest.param("tf.nn.moments(layer, [0])", "tf.nn.moments(layer, [1])", id="other-axes"),
        pytest.param(
            "with tf.control_dependencies([train_mean, train_variance]):",
            "with tf.control_dependencies([train_mean]):",
            id="variance-update-not-run",
        ),
        pytest.param(
            "return tf.nn.batch_normalization(layer, pop_mean, pop_variance, beta, gamma, epsilon)",
            "return tf.nn.batch_normalization(layer, pop_mean, pop_variance, beta, gamma, 1e-5)",
            id="other-epsilon-in-inference",
        ),
        pytest.param(
            "    return tf.nn.relu(batch_normalized_output)",
            "    tf.add_to_collection('stats', pop_mean)\n    return tf.nn.relu(batch_normalized_output)",
            id="statistic-read-elsewhere",
        ),
    ],
)
def test_other_recipes_are_not_written_out(before: str, after: str) -> None:
    source = "import tensorflow as tf\n\n\n" + DENSE.replace(before, after)
    assert source != "import tensorflow as tf\n\n\n" + DENSE
    assert _written(source) == source


def test_a_string_that_may_select_the_variables_leaves_the_recipe_with_the_reason() -> None:
    source = SOURCE.replace(
        "train_op = tf.train.AdamOptimizer(0.01).minimize(loss)",
        "scales = [v for v in tf.trainable_variables() if 'gamma' in v.name]\n"
        "train_op = tf.train.AdamOptimizer(0.01).minimize(loss)",
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any("a string holding `gamma`" in m for _, _, m in left_reasons(result))


@pytest.mark.slow
def test_the_migration_is_checked_equivalent(tmp_path: Path, old_cache: OldRunCache) -> None:
    assert_migration_checked_equivalent(
        tmp_path, SOURCE, "assigned_batch_norm", old_cache=old_cache
    )


@pytest.mark.slow
def test_a_changed_momentum_is_caught(tmp_path: Path, old_cache: OldRunCache) -> None:
    assert_planted_mistake_caught(
        tmp_path,
        SOURCE,
        "BatchNormalization(momentum=0.9, epsilon=1e-3",
        "BatchNormalization(momentum=0.99, epsilon=1e-3",
        "assigned_batch_norm",
        old_cache=old_cache,
    )


# A student's shape (one of the lesson's copies): the kernel made first, the batch-norm variables and
# epsilon between it and the convolution, and the moving variance started at zero.
INTERLEAVED = SOURCE.replace(
    "    layer = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')\n"
    "    gamma = tf.Variable(tf.ones([out_channels]))\n"
    "    beta = tf.Variable(tf.zeros([out_channels]))\n"
    "    pop_mean = tf.Variable(tf.zeros([out_channels]), trainable=False)\n"
    "    pop_variance = tf.Variable(tf.ones([out_channels]), trainable=False)\n"
    "    epsilon = 1e-3\n",
    "    gamma = tf.Variable(tf.ones([out_channels]))\n"
    "    beta = tf.Variable(tf.zeros([out_channels]))\n"
    "    pop_mean = tf.Variable(tf.zeros([out_channels]), trainable=False)\n"
    "    pop_variance = tf.Variable(tf.ones([out_channels]), trainable=False)\n"
    "    epsilon = 1e-3\n"
    "    layer = tf.nn.conv2d(prev_layer, weights, strides=[1, strides, strides, 1], padding='SAME')\n",
).replace(
    "pop_variance = tf.Variable(tf.ones([num_units]), trainable=False)",
    "pop_variance = tf.Variable(tf.zeros([num_units]), trainable=False)",
)


def test_interleaved_variables_and_a_zero_start_are_written_out() -> None:
    assert (
        INTERLEAVED.count("tf.nn.conv2d") == 1 and "tf.zeros([num_units]), trainable" in INTERLEAVED
    )
    module = cst.parse_module(INTERLEAVED)
    aliases = AliasTable.build(module)
    from bn_migrate.rewrite.planning.variable_layers import expand as expand_layers

    layers = expand_layers(module, aliases)
    assert layers.rewritten
    written = expand(layers.module, AliasTable.build(layers.module)).module.code
    assert 'param_initializers={"moving_variance": tf.zeros_initializer()}' in written
    result = rewrite_source(INTERLEAVED)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert 'moving_variance_initializer="zeros"' in result.code or (
        "moving_variance_initializer=tf.keras.initializers.Zeros()" in result.code
    ), result.code


@pytest.mark.slow
def test_the_interleaved_shape_is_checked_equivalent(tmp_path: Path) -> None:
    assert_migration_checked_equivalent(tmp_path, INTERLEAVED, "interleaved")
