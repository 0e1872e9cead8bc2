"""``slim.repeat`` of a builder function (``analysis.builder_repeats``, BN018): one instance of the builder's
class per repetition, named after the scope TF1 gave it (``Repeat/block35_1`` -> ``Repeat_block35_1``),
created once in the caller's ``__init__`` and applied in a chain; what cannot be read stays with its reason.

The program fixture ``repeat_blocks`` (golden, TF 2.21 run, check EQUIVALENT, planted mistake) is checked
by tests/rewrite/test_engine_golden.py and the catalog's slow tests; here: the library shape, the report's
names, and the refusals, fast.
"""

from __future__ import annotations

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.options import RewriteOptions
from bn_migrate.rewrite.result import RewriteResult, Status

LIBRARY = RewriteOptions(library=("case.py",))
HEAD = "import tensorflow as tf\nimport tensorflow.contrib.slim as slim\n\n\n"
BLOCK = (
    "def block(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):\n"
    '    with tf.variable_scope(scope, "Block", [net], reuse=reuse):\n'
    '        with tf.variable_scope("Branch_0"):\n'
    '            tower = slim.conv2d(net, 4, 1, scope="Conv2d_1x1")\n'
    '        up = slim.conv2d(tower, 6, 1, normalizer_fn=None, activation_fn=None, scope="Up")\n'
    "        net += scale * up\n"
    "        if activation_fn:\n"
    "            net = activation_fn(net)\n"
    "    return net\n\n\n"
)


def library(*body: str, block: str = BLOCK) -> str:
    """A facenet-shaped library: ``block`` and ``model(inputs, is_training=True)`` whose scope gives
    the convolutions slim batch norm (updates in place) and the batch norm the training flag."""
    lines = "".join(f"            {line}\n" for line in body)
    return (
        HEAD + block + 'def model(inputs, is_training=True, scope="Net"):\n'
        '    with tf.variable_scope(scope, "Net", [inputs]):\n'
        "        with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
        'normalizer_params={"updates_collections": None}):\n'
        "          with slim.arg_scope([slim.batch_norm], is_training=is_training):\n"
        '            net = slim.conv2d(inputs, 6, 3, scope="Conv2d_1a")\n'
        + lines
        + "            return net\n"
    )


def migrated(source: str) -> RewriteResult:
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code
    return result


def left(source: str, fragment: str) -> None:
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.SKIPPED and result.code == source, result.code
    assert any(fragment in site.message for site in result.left), [s.message for s in result.left]


def test_repeats_and_a_direct_call_become_instances_named_after_their_tf1_scopes() -> None:
    result = migrated(
        library(
            "net = slim.repeat(net, 2, block, scale=0.17)",
            "net = slim.repeat(net, 3, block, scale=0.1)",
            "net = block(net, activation_fn=None)",
        )
    )
    code = result.code
    for attribute, scale, name in [
        ("block_1", "0.17", "Repeat_block_1"),
        ("block_2", "0.17", "Repeat_block_2"),
        ("block_3", "0.1", "Repeat_1_block_1"),
        ("block_5", "0.1", "Repeat_1_block_3"),
        ("block_6", "1.0", "Block"),  # the direct call: the default name, once in the scope
    ]:
        assert f'self.{attribute} = Block(scale={scale}, name="{name}")' in code, code
    assert "net = self.block_2(self.block_1(net, training=training), training=training)" in code
    assert "net = self.block_6(net, training=training, activation_fn=None)" in code
    # the block took no flag: it gets its caller's, given to its batch norms by the arg_scope
    assert "    def call(self, net, training=None, activation_fn=tf.nn.relu):" in code
    assert "slim" not in code.split("class Block(")[1]
    messages = [s.message for s in result.applied if s.rule == "BN018"]
    assert any("slim.repeat of `block` -> 3 `Block` instances" in m for m in messages), messages


def test_the_report_maps_each_repetitions_variables() -> None:
    result = migrated(
        library(
            "net = slim.repeat(net, 2, block, scale=0.17)",
            "net = slim.repeat(net, 2, block)",
        )
    )
    variables = dict(result.models[0].variables)
    assert (
        variables["Net/Repeat_1/block_2/Branch_0/Conv2d_1x1/BatchNorm/moving_mean"]
        == "Net/Repeat_1_block_2/Branch_0_Conv2d_1x1_bn/moving_mean"
    )
    assert variables["Net/Repeat/block_1/Up/weights"] == "Net/Repeat_block_1/Up/kernel"
    assert variables["Net/Conv2d_1a/weights"] == "Net/Conv2d_1a/kernel"


def test_a_repeat_with_a_literal_scope_is_named_under_it() -> None:
    code = migrated(library('net = slim.repeat(net, 2, block, scope="stage")')).code
    assert 'self.block_2 = Block(scale=1.0, name="stage_block_2")' in code


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            "net = slim.repeat(net, depth, block)",
            "repetition count is not a positive integer literal",
        ),
        ("net = slim.repeat(net, 0, block)", "repetition count is not a positive integer literal"),
        ("net = slim.repeat(net, 2, block, 0.5)", "positional arguments after the function"),
        ("net = slim.repeat(net, 2, block, **options)", "*args/**kwargs"),
        ("net = slim.repeat(net, 2, block, scope=name)", "`scope=` is not a string literal"),
        (
            "net = slim.repeat(net, 2, block) if is_training is not None else net",
            "loop, comprehension, lambda or branch",
        ),
    ],
)
def test_a_repeat_that_cannot_be_read_is_left_with_its_reason(statement: str, reason: str) -> None:
    source = library(statement)
    if "depth" in statement:
        source = source.replace("def model(inputs,", "def model(inputs, depth=2,")
    if "options" in statement:
        source = source.replace("def model(inputs,", "def model(inputs, options=None,")
    if "name)" in statement:
        source = source.replace("def model(inputs,", 'def model(inputs, name="b",')
    left(source, reason)


def test_a_repeat_in_a_loop_is_left() -> None:
    left(
        library("for _ in range(2):", "    net = slim.repeat(net, 2, block)"),
        "loop, comprehension, lambda or branch",
    )


def test_a_function_without_a_scope_parameter_is_left() -> None:
    block = BLOCK.replace("scope=None, reuse=None", "reuse=None").replace(
        "tf.variable_scope(scope,", "tf.variable_scope(None,"
    )
    left(library("net = slim.repeat(net, 2, block)", block=block), "has no `scope` parameter")


def test_a_repeat_at_module_level_is_left() -> None:
    source = (
        HEAD
        + BLOCK
        + ("x = tf.placeholder(tf.float32, [None, 4, 4, 3])\ny = slim.repeat(x, 2, block)\n")
    )
    result = rewrite_source(source, path="case.py")
    assert result.code == source
    assert any("runs at module level" in s.message for s in result.left), result.left


def test_a_flag_from_a_module_level_arg_scope_into_a_builder_is_left() -> None:
    """The builder becomes a class whose ``call`` cannot read the module's placeholder (it lives in the
    graph function): left, where it was written ``training=is_training`` into the class (a NameError)."""
    source = (
        HEAD
        + BLOCK
        + (
            "x = tf.placeholder(tf.float32, [None, 4, 4, 3])\n"
            "is_training = tf.placeholder(tf.bool, [])\n"
            "with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
            'normalizer_params={"updates_collections": None}):\n'
            "    with slim.arg_scope([slim.batch_norm], is_training=is_training):\n"
            "        net = block(x)\n"
            "loss = tf.reduce_mean(net)\n"
            "train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
            "with tf.Session() as sess:\n"
            "    sess.run(tf.global_variables_initializer())\n"
            "    for step in range(2):\n"
            "        _, value = sess.run([train_op, loss], feed_dict={x: 0.0, is_training: True})\n"
        )
    )
    result = rewrite_source(source, path="case.py")
    assert result.code == source
    assert any("reads the graph tensor `is_training`" in s.message for s in result.left), (
        result.left
    )


def test_a_repeated_block_passes_the_flag_on_to_its_own_sub_builder() -> None:
    """The flag is inherited through the repeat and then through the block (``flag_owners``): the
    tower the block calls takes ``training`` too; a parameter without default stays before it."""
    block = BLOCK.replace(
        '            tower = slim.conv2d(net, 4, 1, scope="Conv2d_1x1")\n',
        "            tower = tower_of(net, 4)\n",
    )
    tower = (
        'def tower_of(net, depth):\n    return slim.conv2d(net, depth, 1, scope="Conv2d_1x1")\n\n\n'
    )
    code = migrated(library("net = slim.repeat(net, 2, block)", block=tower + block)).code
    assert "    def call(self, net, training=None):" in code.split("class TowerOf(")[1]
    assert "tower = self.tower_of_1(net, training=training)" in code
    assert "net = self.block_2(self.block_1(net, training=training), training=training)" in code


def test_an_inheriting_builder_takes_training_after_its_parameters_without_default() -> None:
    block = BLOCK.replace(
        "def block(net, scale=1.0,", "def block(net, shortcut, scale=1.0,"
    ).replace("net += scale * up\n", "net += scale * up + shortcut\n")
    code = migrated(library("net = block(net, net)", block=block)).code
    assert "    def call(self, net, shortcut, training=None, activation_fn=tf.nn.relu):" in code
    assert "net = self.block_1(net, training=training, shortcut=net)" in code
