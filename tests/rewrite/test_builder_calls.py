"""A builder called several times from the graph, or in a static ``for`` loop of it, with no variable
scope of its own: TF1 made new layers at each call (``conv2d``, ``conv2d_1``...), so each call becomes its
own instance of the builder's class, created in call order (a loop's in a list, by a comprehension over
the loop's own iterable). The shape of the Udacity deep-learning course's batch-normalization lesson
(``for layer_i in range(1, 20): layer = conv_layer(layer, layer_i, is_training)`` inside ``train()``,
its helper's local shadowing the helper's own name), here tiny. What names its variables is left."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import (
    assert_migration_checked_equivalent,
    assert_planted_mistake_caught,
    left_reasons,
)

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

LESSON = """\
import numpy as np
import tensorflow as tf

np.random.seed(0)
images = np.random.rand(16, 8, 8, 1).astype(np.float32)
targets = np.eye(4, dtype=np.float32)[np.random.randint(0, 4, 16)]


def conv_layer(prev_layer, layer_depth, is_training):
    strides = 2 if layer_depth % 3 == 0 else 1
    conv_layer = tf.layers.conv2d(prev_layer, layer_depth * 2, 3, strides, "same", use_bias=False)
    conv_layer = tf.layers.batch_normalization(conv_layer, training=is_training)
    return tf.nn.relu(conv_layer)


def fully_connected(prev_layer, num_units, is_training):
    layer = tf.layers.dense(prev_layer, num_units, use_bias=False)
    layer = tf.layers.batch_normalization(layer, training=is_training, momentum=0.9)
    return tf.nn.relu(layer)


def train(num_batches):
    inputs = tf.placeholder(tf.float32, [None, 8, 8, 1])
    labels = tf.placeholder(tf.float32, [None, 4])
    is_training = tf.placeholder(tf.bool)
    layer = inputs
    for layer_i in range(1, 4):
        layer = conv_layer(layer, layer_i, is_training)
    layer = tf.reshape(layer, [-1, 4 * 4 * 6])
    layer = fully_connected(layer, 8, is_training)
    layer = fully_connected(layer, 8, is_training)
    logits = tf.layers.dense(layer, 4)
    model_loss = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(logits=logits, labels=labels)
    )
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_opt = tf.train.AdamOptimizer(0.01).minimize(model_loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for batch_i in range(num_batches):
            start = (batch_i % 2) * 8
            batch = {inputs: images[start:start + 8], labels: targets[start:start + 8], is_training: True}
            sess.run(train_opt, batch)
            print("step %d" % batch_i)
        loss = sess.run(model_loss, {inputs: images, labels: targets, is_training: False})
        print("eval loss %.6f" % loss)


tf.reset_default_graph()
with tf.Graph().as_default():
    train(6)
"""


def _line(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_each_call_and_each_iteration_becomes_its_own_instance() -> None:
    result = rewrite_source(LESSON)
    assert result.status is Status.CHANGED, left_reasons(result)
    code = result.code
    # the loop's instances, made by the loop's own iterable in TF1's order, called by the iteration
    assert "conv_layer_1 = [ConvLayer(layer_depth=layer_i) for layer_i in range(1, 4)]" in code
    assert "        layer = conv_layer_1[layer_i - 1](layer, training=is_training)" in code
    # two calls, two instances, each called where its call was
    assert "fully_connected_1 = FullyConnected(num_units=8)" in code
    assert "fully_connected_2 = FullyConnected(num_units=8)" in code
    assert code.index("fully_connected_1(layer") < code.index("fully_connected_2(layer")
    # the train step differentiates the list's items
    assert "(*conv_layer_1, fully_connected_1, fully_connected_2, dense_1)" in code
    assert "tf.placeholder" not in code and "tf.layers" not in code
    ast.parse(code)
    assert rewrite_source(code).code == code
    applied = [s.message for s in result.applied if s.rule == "BN018"]
    assert any(
        "`conv_layer`, called from builders" not in m
        and "one instance per call" in m
        and "(one per iteration of a static for loop, in a list)" in m
        for m in applied
    ), applied


def test_a_configuration_value_is_computed_in_init() -> None:
    """`strides`, computed from a parameter, is read by a layer only: `__init__` computes it (and
    `call` no longer does); read in `call` too, it stays there, reading the stored parameter."""
    code = rewrite_source(LESSON).code
    start = code.index("class ConvLayer(")
    init = code[start : code.index("    def call(", start)]
    assert (
        "        super().__init__(**kwargs)\n"
        "        strides = 2 if layer_depth % 3 == 0 else 1\n"
        "        self.conv2d = tf.keras.layers.Conv2D(layer_depth * 2, 3, strides, padding="
    ) in init
    assert code.count("strides = 2 if layer_depth % 3 == 0 else 1") == 1
    kept = LESSON.replace(
        "    return tf.nn.relu(conv_layer)", "    return tf.nn.relu(conv_layer) * strides"
    )
    result = rewrite_source(kept)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "        strides = 2 if self.layer_depth % 3 == 0 else 1\n" in result.code
    assert "        self.layer_depth = layer_depth\n" in result.code
    assert rewrite_source(result.code).code == result.code


@pytest.mark.parametrize(
    ("before", "after", "computed"),
    [
        (  # a pure built-in of the parameters
            "    strides = 2 if layer_depth % 3 == 0 else 1\n",
            "    strides = max(1, min(layer_depth - 1, 2))\n",
            "        strides = max(1, min(layer_depth - 1, 2))\n",
        ),
        (  # a lambda of the parameters, called by the layer's arguments and by a later value
            "    strides = 2 if layer_depth % 3 == 0 else 1\n",
            "    twice = lambda d: max(int(d * 2), 1)\n    strides = 2 if twice(layer_depth) % 3 == 0 else 1\n",
            "        twice = lambda d: max(int(d * 2), 1)\n"
            "        strides = 2 if twice(layer_depth) % 3 == 0 else 1\n",
        ),
    ],
    ids=["builtin", "lambda"],
)
def test_a_configuration_value_may_call_pure_builtins_and_earlier_lambdas(
    before: str, after: str, computed: str
) -> None:
    assert before in LESSON
    result = rewrite_source(LESSON.replace(before, after))
    assert result.status is Status.CHANGED, left_reasons(result)
    start = result.code.index("class ConvLayer(")
    init = result.code[start : result.code.index("    def call(", start)]
    assert computed in init
    assert rewrite_source(result.code).code == result.code


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # a parameter rebound before: the value is not the parameter's
            "    strides = 2 if layer_depth % 3 == 0 else 1\n",
            "    layer_depth = layer_depth + 1\n    strides = 2 if layer_depth % 3 == 0 else 1\n",
        ),
        (  # a call of a function that is not a pure built-in: not a plain value
            "    strides = 2 if layer_depth % 3 == 0 else 1\n",
            "    strides = sum([1, layer_depth - 1])\n",
        ),
        (  # bound twice
            "    strides = 2 if layer_depth % 3 == 0 else 1\n",
            "    strides = 2 if layer_depth % 3 == 0 else 1\n    strides = strides + 0\n",
        ),
        (  # ``max`` bound by the module: not the built-in
            "def conv_layer(prev_layer, layer_depth, is_training):\n"
            "    strides = 2 if layer_depth % 3 == 0 else 1\n",
            "max = np.maximum\n\n\ndef conv_layer(prev_layer, layer_depth, is_training):\n"
            "    strides = max(1, layer_depth - 1)\n",
        ),
    ],
    ids=["rebound-parameter", "call", "bound-twice", "max-rebound"],
)
def test_a_value_that_is_not_a_configuration_leaves_the_layer(before: str, after: str) -> None:
    assert before in LESSON
    result = rewrite_source(LESSON.replace(before, after))
    assert result.status is Status.SKIPPED
    assert any(
        "the layer's arguments read `" in message
        and "which is not a literal at every call" in message
        for _, _, message in left_reasons(result)
    ), left_reasons(result)


def test_a_loop_without_a_counter_counts_in_the_graph() -> None:
    source = LESSON.replace(
        "    for layer_i in range(1, 4):\n        layer = conv_layer(layer, layer_i, is_training)",
        "    for depth in (1, 2, 3):\n        layer = conv_layer(layer, depth, is_training)",
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "conv_layer_1 = [ConvLayer(layer_depth=depth) for depth in (1, 2, 3)]" in result.code
    assert "    for index, depth in enumerate((1, 2, 3)):" in result.code
    assert "conv_layer_1[index](layer, training=is_training)" in result.code
    assert rewrite_source(result.code).code == result.code


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        (  # a named layer: TF1 raised at the second call (the variable exists)
            "layer = tf.layers.dense(prev_layer, num_units, use_bias=False)",
            'layer = tf.layers.dense(prev_layer, num_units, use_bias=False, name="fc")',
            "several times, or in a static for loop, naming none of the variables it makes",
        ),
        (  # a variable made by name
            "    layer = tf.layers.dense(prev_layer, num_units, use_bias=False)\n",
            "    layer = tf.layers.dense(prev_layer, num_units, use_bias=False)\n"
            '    layer = layer * tf.get_variable("g", [], initializer=tf.ones_initializer())\n',
            "several times, or in a static for loop, naming none of the variables it makes",
        ),
        (  # how many times the loop runs is not known here
            "for layer_i in range(1, 4):",
            "for layer_i in list(range(1, 4)):",
            "`conv_layer`, called in a for loop (line 28) whose calls cannot each become an instance: "
            "its iterable `list(range(1, 4))` is not a literal",
        ),
    ],
    ids=["named-layer", "get-variable", "dynamic-loop"],
)
def test_what_names_its_variables_or_repeats_unknowably_is_left(
    before: str, after: str, why: str
) -> None:
    assert before in LESSON
    result = rewrite_source(LESSON.replace(before, after))
    assert result.status is Status.SKIPPED
    assert any(why in message for _, _, message in left_reasons(result)), left_reasons(result)


def test_two_builders_in_one_loop_are_left() -> None:
    """TF1 made their layers iteration by iteration, interleaved: instances created builder by
    builder would take each other's auto-numbered names."""
    source = LESSON.replace(
        "        layer = conv_layer(layer, layer_i, is_training)",
        "        layer = conv_layer(layer, layer_i, is_training)\n"
        "        layer = conv_layer_b(layer, layer_i, is_training)",
    ).replace(
        "def fully_connected(",
        "def conv_layer_b(prev_layer, layer_depth, is_training):\n"
        "    out = tf.layers.conv2d(prev_layer, 6, 1, 1, 'same')\n"
        "    return tf.layers.batch_normalization(out, training=is_training)\n\n\n"
        "def fully_connected(",
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(
        rule == "BN018" and "in a for loop of the graph that calls another builder too" in message
        for rule, _, message in left_reasons(result)
    ), left_reasons(result)


def test_a_var_list_beside_instances_made_in_a_loop_is_left() -> None:
    source = LESSON.replace(
        ".minimize(model_loss)", ".minimize(model_loss, var_list=tf.trainable_variables())"
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert (
        "BN006",
        _line(source, "var_list="),
        "var_list beside builder instances made in a for loop of the graph (`conv_layer_1`): which "
        "of their variables it selects is not followed; not migrated",
    ) in [(rule, line, message) for rule, line, message in left_reasons(result)], left_reasons(
        result
    )


@pytest.mark.slow
def test_the_lesson_migration_is_checked_equivalent(tmp_path: Path, old_cache: OldRunCache) -> None:
    assert_migration_checked_equivalent(tmp_path, LESSON, "lesson", old_cache=old_cache)


@pytest.mark.slow
def test_one_instance_for_two_calls_is_caught(tmp_path: Path, old_cache: OldRunCache) -> None:
    """Planted: the second call reuses the first call's instance (one layer where TF1 made two)."""
    assert_planted_mistake_caught(
        tmp_path,
        LESSON,
        "fully_connected_2 = FullyConnected(num_units=8)",
        "fully_connected_2 = fully_connected_1",
        "lesson",
        old_cache=old_cache,
    )


CONFIGURED = """def net(inputs, training, units=4):
    width = units * 2
    if_three = 2 if units % 3 == 0 else 5
    h = tf.layers.dense(inputs, width + if_three, name="hidden")
    return tf.layers.batch_normalization(h, training=training, name="bn")
"""


def test_a_builder_made_once_writes_its_configuration_values_into_its_layers() -> None:
    """Called once, the builder's parameters are the call's literals in its layers: so are the values
    its body computes from them (``units=3``: ``width + if_three`` is ``6 + 2``)."""
    from tests.rewrite.test_builders import program

    result = rewrite_source(program("h = net(x, is_training, units=3)\n", builder=CONFIGURED))
    assert result.status is Status.CHANGED, left_reasons(result)
    assert 'self.hidden = tf.keras.layers.Dense(6 + 2, name="hidden")' in result.code
    assert "width" not in result.code and "if_three" not in result.code
    assert "    h = net(x, training=is_training)\n" in result.code
    assert rewrite_source(result.code).code == result.code
    kept = CONFIGURED.replace("    return tf.", "    h = h * width\n    return tf.")
    result = rewrite_source(program("h = net(x, is_training, units=3)\n", builder=kept))
    assert result.status is Status.CHANGED, left_reasons(result)
    assert 'self.hidden = tf.keras.layers.Dense(6 + 2, name="hidden")' in result.code
    assert (
        "    def call(self, inputs, training, units=4):\n        width = units * 2\n" in result.code
    )
    assert "if_three" not in result.code
    assert "    h = net(x, training=is_training, units=3)\n" in result.code


@pytest.mark.slow
def test_a_builder_made_once_with_configuration_values_is_checked_equivalent(
    tmp_path: Path,
) -> None:
    from tests.rewrite.test_builders import program

    source = program("h = net(x, is_training, units=3)\n", builder=CONFIGURED)
    assert_migration_checked_equivalent(tmp_path, source, "configured")


SIZED = """def net(inputs, training, units=4, scale=1.0):
    if units <= 0:
        raise ValueError("units must be positive")
    size = lambda d: max(int(d * scale), 2)
    width = min(int(size(units) / 2), 8)
    h = tf.layers.dense(inputs, size(units) + width, name="hidden")
    return tf.layers.batch_normalization(h, training=training, name="bn")
"""


def test_a_builder_made_once_computes_its_lambda_values_into_its_layers() -> None:
    """A guard, a sizing lambda and a value calling it (tf-slim's ``depth``): called once, the layer
    gets the number they compute from the call's literals; the guard stays where it was, in ``call``."""
    from tests.rewrite.test_builders import program

    result = rewrite_source(program("h = net(x, is_training, units=3)\n", builder=SIZED))
    assert result.status is Status.CHANGED, left_reasons(result)
    assert 'self.hidden = tf.keras.layers.Dense(4, name="hidden")' in result.code  # 3 + 1
    assert "lambda" not in result.code and "width" not in result.code
    assert (
        "    def call(self, inputs, training, units=4):\n"
        "        if units <= 0:\n"
        '            raise ValueError("units must be positive")\n'
    ) in result.code
    assert rewrite_source(result.code).code == result.code


@pytest.mark.slow
def test_a_builder_made_once_with_lambda_values_is_checked_equivalent(tmp_path: Path) -> None:
    from tests.rewrite.test_builders import program

    source = program("h = net(x, is_training, units=3)\n", builder=SIZED)
    assert_migration_checked_equivalent(tmp_path, source, "sized")


@pytest.mark.slow
def test_a_tower_the_loss_does_not_read_keeps_moving_its_statistics(tmp_path: Path) -> None:
    """TF1 ran every `UPDATE_OPS` op with the train op, the side tower's too: its instance is called
    in the step, in training mode, though the loss never reads it."""
    source = LESSON.replace(
        "    layer = fully_connected(layer, 8, is_training)\n"
        "    layer = fully_connected(layer, 8, is_training)\n",
        "    side = fully_connected(layer, 8, is_training)\n"
        "    layer = fully_connected(layer, 8, is_training)\n",
    )
    assert source != LESSON
    assert "side = fully_connected_1(layer, training=is_training)" in rewrite_source(source).code
    assert_migration_checked_equivalent(tmp_path, source, "side_tower")


@pytest.mark.parametrize(
    ("expression", "builtins", "value"),
    [
        ("(lambda d: max(int(d * 0.5), 16))(64)", frozenset({"max", "int"}), 32),
        (
            "min(int((lambda d: max(int(d * 1.0), 16))(64) / 3), 8)",
            frozenset({"min", "max", "int"}),
            8,
        ),
        ("round(2.5) + abs(-1) + float(2)", frozenset({"round", "abs", "float"}), 5.0),
        # a built-in the caller does not vouch for (the module may bind it), and ``/`` with none
        ("max(1, 2)", frozenset(), None),
        ("6 / 3", frozenset(), None),
        ("(lambda d, e: d)(1)", frozenset({"max"}), None),  # arguments do not match
        ("max(*[1, 2])", frozenset({"max"}), None),
        ("max('a', 'b')", frozenset({"max"}), None),  # numbers only
    ],
)
def test_static_values_compute_vouched_builtins_and_lambdas_written_in_place(
    expression: str, builtins: frozenset[str], value: object
) -> None:
    import libcst as cst

    from bn_migrate.rewrite.analysis.static_loops import static_literal

    literal = static_literal(cst.parse_expression(expression), builtins)
    if value is None:
        assert literal is None
    else:
        assert literal is not None and cst.Module([]).code_for_node(literal) == repr(value)


SEPARABLE = """\
import numpy as np
import tensorflow as tf

np.random.seed(0)
images = np.random.rand(8, 6, 6, 2).astype(np.float32)
inputs = tf.placeholder(tf.float32, [None, 6, 6, 2])
is_training = tf.placeholder(tf.bool)
h = tf.layers.separable_conv2d(inputs, 4, 3, padding="same", depth_multiplier=2, name="sep")
h = tf.layers.batch_normalization(h, training=is_training, name="bn")
loss = tf.reduce_mean(tf.square(h))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        sess.run(train_op, {inputs: images, is_training: True})
    print(sess.run(loss, {inputs: images, is_training: False}))
"""


def test_tf_layers_separable_conv2d_is_the_keras_layer() -> None:
    result = rewrite_source(SEPARABLE)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert (
        'sep = tf.keras.layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, name="sep")'
    ) in result.code
    assert rewrite_source(result.code).code == result.code


@pytest.mark.slow
def test_tf_layers_separable_conv2d_is_checked_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    assert_migration_checked_equivalent(tmp_path, SEPARABLE, "separable", old_cache=old_cache)
    assert_planted_mistake_caught(
        tmp_path,
        SEPARABLE,
        "depth_multiplier=2, name=",
        "depth_multiplier=1, name=",
        "separable",
        old_cache=old_cache,
    )
