"""Variable helpers (``weight_variable(shape)`` / ``bias_variable(shape)`` of TF1's Deep MNIST tutorial):
each call is written out as the ``tf.Variable`` line it ran, then migrated as such lines written by hand
are (``analysis.variable_helpers``, ``planning.variable_helpers``, BN014)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.planning.variable_helpers import expand
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import (
    assert_migration_checked_equivalent,
    assert_planted_mistake_caught,
    left_reasons,
)

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

PLAIN = RewriteOptions(plain_keras_bn=True)

HELPERS = '''\
def weight_variable(shape):
    """A weight of the given shape."""
    initial = tf.truncated_normal(shape, stddev=0.1)
    return tf.Variable(initial)


def bias_variable(shape, value=0.1):
    return tf.Variable(tf.constant(value, shape=shape))


'''

PROGRAM = """\
import numpy as np
import tensorflow as tf

{helpers}x = tf.placeholder(tf.float32, [None, 8])
y_ = tf.placeholder(tf.float32, [None, 2])
is_training = tf.placeholder(tf.bool)
W_fc1 = {w1}
b_fc1 = {b1}
h = tf.nn.relu(tf.layers.batch_normalization(tf.matmul(x, W_fc1) + b_fc1, training=is_training))
W_fc2 = {w2}
b_fc2 = {b2}
y = tf.matmul(h, W_fc2) + b_fc2
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_step = tf.train.AdamOptimizer(1e-3).minimize(loss)
data = np.random.RandomState(0).rand(32, 8).astype(np.float32)
labels = np.eye(2)[np.arange(32) % 2].astype(np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(4):
        sess.run(train_step, feed_dict={{x: data, y_: labels, is_training: True}})
"""

WITH_HELPERS = PROGRAM.format(
    helpers=HELPERS,
    w1="weight_variable([8, 16])",
    b1="bias_variable([16])",
    w2="weight_variable(shape=[16, 2])",
    b2="bias_variable([2], 0.0)",
)
BY_HAND = PROGRAM.format(
    helpers="\n",  # the blank lines the helpers' definitions left before ``x``
    w1="tf.Variable(tf.truncated_normal([8, 16], stddev=0.1))",
    b1="tf.Variable(tf.constant(0.1, shape=[16]))",
    w2="tf.Variable(tf.truncated_normal([16, 2], stddev=0.1))",
    b2="tf.Variable(tf.constant(0.0, shape=[2]))",
)


def test_each_call_migrates_as_the_variable_line_it_ran() -> None:
    """The program with helpers migrates to what the same program with each call written out by hand
    migrates to (the helpers gone), a fixed point of the rewrite."""
    result = rewrite_source(WITH_HELPERS, options=PLAIN)
    assert result.status is Status.CHANGED, left_reasons(result)
    by_hand = rewrite_source(BY_HAND, options=PLAIN)
    assert by_hand.status is Status.CHANGED, left_reasons(by_hand)
    assert result.code == by_hand.code
    assert "W_fc1 = tf.Variable(tf.random.truncated_normal([8, 16], stddev=0.1))\n" in result.code
    assert "b_fc2 = tf.Variable(tf.constant(0.0, shape=[2]))\n" in result.code
    assert "def weight_variable" not in result.code and "def bias_variable" not in result.code
    helpers = [
        (site.rule, site.line, site.message.split(":")[0])
        for site in result.applied
        if site.message.startswith("variable helper")
    ]
    assert helpers == [  # at the helpers' def lines of the file
        ("BN014", 4, "variable helper `weight_variable` removed"),
        ("BN014", 10, "variable helper `bias_variable` removed"),
    ]
    placeholder = next(s for s in result.applied if s.message.startswith("placeholder `x`"))
    assert placeholder.line == 14  # sites of the written-out module at the file's lines
    again = rewrite_source(result.code, options=PLAIN)
    assert again.code == result.code and again.status is not Status.CHANGED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("W_fc2 = weight_variable(shape=[16, 2])", "W_fc2 = weight_variable(shape=list((16, 2)))"),
         "a call's argument is not a literal, a name, or a list or tuple of those"),
        (("W_fc2 = weight_variable(shape=[16, 2])", "make = weight_variable\nW_fc2 = make([16, 2])"),
         "`weight_variable` is bound again or used other than by calls"),
        (("W_fc2 = weight_variable(shape=[16, 2])", "W_fc2 = (lambda: weight_variable([16, 2]))()"),
         "`weight_variable` is called in a nested function, class, lambda or comprehension"),
        (("    initial = tf.truncated_normal(shape, stddev=0.1)\n",
          "    initial = tf.truncated_normal(shape, stddev=SCALE)\n"),
         "its initial value reads `SCALE`, neither a parameter nor TensorFlow"),
    ],
)  # fmt: skip
def test_what_is_not_exactly_a_variable_helper_is_left(
    change: tuple[str, str], reason: str
) -> None:
    source = WITH_HELPERS.replace(*change)
    assert source != WITH_HELPERS
    if "SCALE" in source:
        source = source.replace("x = tf.placeholder", "SCALE = 0.1\nx = tf.placeholder", 1)
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(reason in message for _, _, message in left_reasons(result)), left_reasons(result)


def test_a_helper_in_a_library_module_is_not_written_out() -> None:
    """Other modules may import a library module's helper: its calls there would keep calling it."""
    module = cst.parse_module(WITH_HELPERS)
    expanded = expand(module, AliasTable.build(module), library=True)
    assert not expanded.rewritten and expanded.module is module
    assert all("a library module's helper" in reason for _, reason in expanded.helpers.refusals)
    assert len(expanded.helpers.refusals) == 2


@pytest.mark.slow
def test_the_migration_is_checked_equivalent(tmp_path: Path, old_cache: OldRunCache) -> None:
    assert_migration_checked_equivalent(tmp_path, WITH_HELPERS, old_cache=old_cache)


@pytest.mark.slow
def test_a_wrong_written_out_value_is_caught(tmp_path: Path, old_cache: OldRunCache) -> None:
    """The bias's constant is compared before the check aligns it (``initial-value-changed``)."""
    assert_planted_mistake_caught(
        tmp_path,
        WITH_HELPERS,
        "b_fc1 = tf.Variable(tf.constant(0.1, shape=[16]))",
        "b_fc1 = tf.Variable(tf.constant(0.2, shape=[16]))",
        old_cache=old_cache,
    )


BUILDER = f"""\
import numpy as np
import tensorflow as tf

{HELPERS}def net(x, is_training):
    w = weight_variable([8, 4])
    return tf.layers.batch_normalization(tf.matmul(x, w), training=is_training)


x = tf.placeholder(tf.float32, [None, 8])
is_training = tf.placeholder(tf.bool)
b = bias_variable([4])
loss = tf.reduce_mean(tf.square(net(x, is_training) + b))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train_op, {{x: np.ones((4, 8), np.float32), is_training: True}})
"""


def test_a_call_in_a_builder_becomes_the_builders_own_module_level_variable() -> None:
    result = rewrite_source(BUILDER, options=PLAIN)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "net_w = tf.Variable(tf.random.truncated_normal([8, 4], stddev=0.1))\n" in result.code
    assert "        h = tf.matmul(x, net_w)\n" not in result.code  # not a line of the builder
    assert "tf.matmul(x, net_w)" in result.code


@pytest.mark.slow
def test_the_builder_migration_is_checked_equivalent(tmp_path: Path) -> None:
    assert_migration_checked_equivalent(tmp_path, BUILDER, "builder")


def test_a_written_out_variable_left_by_bn014_is_named_as_the_file_calls_it() -> None:
    """BN014 leaves a variable made under a name scope; its reason names the helper call the file holds
    at that line, not the ``tf.Variable`` it was written as."""
    source = WITH_HELPERS.replace(
        "b_fc1 = bias_variable([16])\n",
        'with tf.name_scope("fc1"):\n    b_fc1 = bias_variable([16])\n',
    )
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source
    line = source.splitlines().index("    b_fc1 = bias_variable([16])") + 1
    (reason,) = [(at, m) for rule, at, m in left_reasons(result) if rule == "BN014"]
    assert reason[0] == line
    assert reason[1].startswith(
        "`bias_variable(...)` (written out as its `tf.Variable(...)`) not assigned"
    )
