"""Graphs built by functions called once, and layers or variables that cannot be created once."""

from __future__ import annotations

from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite
from tests.rewrite.test_variables import HEAD, TAIL, left_by

PLAIN = RewriteOptions(plain_keras_bn=True)

BUILDER = """def net(inputs, training, units=4):
    h = tf.layers.dense(inputs, units, name="hidden")
    return tf.layers.batch_normalization(h, training=training, name="bn")


"""


def program(graph: str, *, builder: str = BUILDER) -> str:
    head = HEAD.replace("data = np.ones", builder + "data = np.ones")
    tail = TAIL.replace(
        'h = tf.layers.batch_normalization(h, training=is_training, name="bn")\n', ""
    )
    return head + graph + tail.format(minimize="")


def test_builder_called_once_keeps_its_function_and_calls_layers_made_once() -> None:
    after = """import numpy as np
import tensorflow as tf

def net(inputs, training, units=4):
    h = hidden(inputs)
    return bn(h, training=training)


data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = net(x, is_training)
    loss = tf.reduce_mean(tf.square(h))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


for step in range(2):
    train_step(x=data, is_training=True)
print(graph(x=data, is_training=False).numpy())
"""
    assert_rewrite(program("h = net(x, is_training)\n"), after, options=PLAIN)


def test_builder_argument_literal_is_carried_into_the_layer_made_once() -> None:
    result = rewrite_source(program("h = net(x, is_training, units=6)\n"), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert 'hidden = tf.keras.layers.Dense(6, name="hidden")' in result.code


def test_training_flag_is_followed_through_the_builder_call() -> None:
    """The evaluation feeds is_training=False: through the builder, BN's training= is that placeholder."""
    result = rewrite_source(program("h = net(x, is_training)\n"), options=PLAIN)
    assert result.status is Status.CHANGED
    swapped = program("h = net(x, True)\n")
    left_by(swapped, "BN007", "training=True not False")


def test_builders_that_cannot_be_made_once_leave_the_file() -> None:
    twice = program("h = net(x, is_training)\nh = h + net(x, is_training)\n")
    left_by(twice, "BN001", "not called exactly once")
    in_loop = program("for _ in range(2):\n    h = net(x, is_training)\n")
    left_by(in_loop, "BN001", "not called exactly once")
    computed = program("h = net(x, is_training, units=x.shape[1])\n")
    left_by(computed, "BN003", "read `units`")
    global_tensor = BUILDER.replace("tf.layers.dense(inputs,", "tf.layers.dense(x,")
    left_by(
        program("h = net(x, is_training)\n", builder=global_tensor),
        "BN005",
        "reads `x` as a global",
    )
    inside = program(
        "def net2(training):\n    return tf.layers.dense(x, 4, name='hidden')\n\n\nh = net2(is_training)\n",
        builder="",
    )
    result = rewrite_source(
        inside, options=PLAIN
    )  # defined in the graph, reading x: stays inside it
    assert result.status is Status.CHANGED, result.left
    assert (
        "    x = tf.cast(x, tf.float32)\n\n    def net2(training):\n        return hidden(x)"
        in result.code
    )


def test_layers_made_in_a_loop_or_graph_arguments_leave_the_file() -> None:
    loop = program("h = x\nfor i in range(2):\n    h = tf.layers.dense(h, 3)\n", builder="")
    left_by(loop, "BN003", "made in a loop")
    unit_from_graph = program("h = tf.layers.dense(x, x.shape[1])\n", builder="")
    left_by(unit_from_graph, "BN003", "read `x`")


def test_keras_layer_called_where_it_is_made_is_created_once() -> None:
    """``tf.keras.layers.Dense(3)(x)`` in the graph: TF1 made the layer once; the graph function must not
    make a new one at each call."""
    result = rewrite_source(program("h = tf.keras.layers.Dense(3, name='proj')(x)\n", builder=""))
    assert result.status is Status.CHANGED, result.left
    assert "proj = tf.keras.layers.Dense(3, name='proj')\n" in result.code
    assert "    h = proj(x)\n" in result.code
    assert "for layer in (proj,)" in result.code
    in_builder = BUILDER.replace(
        'tf.layers.dense(inputs, units, name="hidden")', "tf.keras.layers.Dense(units)(inputs)"
    )
    result = rewrite_source(program("h = net(x, is_training)\n", builder=in_builder))
    assert result.status is Status.CHANGED, result.left
    assert "dense = tf.keras.layers.Dense(4)\n" in result.code
    assert "    h = dense(inputs)\n" in result.code


def test_keras_layers_made_at_every_call_leave_the_file() -> None:
    assigned_in_builder = BUILDER.replace(
        'h = tf.layers.dense(inputs, units, name="hidden")',
        "layer = tf.keras.layers.Dense(units)\n    h = layer(inputs)",
    )
    left_by(
        program("h = net(x, is_training)\n", builder=assigned_in_builder), "BN005", "at every call"
    )
    in_loop = program(
        "h = x\nfor i in range(2):\n    h = tf.keras.layers.Dense(3)(h)\n", builder=""
    )
    left_by(in_loop, "BN005", "made in a loop")
    variable_inline = program("h = x * tf.Variable(2.0)\n", builder="")
    left_by(variable_inline, "BN014", "not assigned to a name")


def test_variables_of_a_builder_are_created_once_under_a_name_of_their_own() -> None:
    builder = """def net(inputs, training, units=4):
    w = tf.get_variable("w", [3, units], initializer=tf.zeros_initializer())  # weights
    h = tf.matmul(inputs, w)
    return tf.layers.batch_normalization(h, training=training, name="bn")


"""
    result = rewrite_source(program("h = net(x, is_training)\n", builder=builder), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert (
        'net_w = tf.Variable(tf.keras.initializers.Zeros()(shape=[3, 4]), name="w")  # weights'
        in code
    )
    assert "    h = tf.matmul(inputs, net_w)\n" in code
    assert "variables = [net_w] + [v for layer in (bn,) for v in layer.trainable_variables]" in code
    assert rewrite_source(code).code == code


def test_builder_variables_that_cannot_be_made_once_leave_the_file() -> None:
    def with_variable(line: str, use: str = "w") -> str:
        builder = f"""def net(inputs, training):
    {line}
    h = tf.matmul(inputs, {use})
    return tf.layers.batch_normalization(h, training=training, name="bn")


"""
        return program("h = net(x, is_training)\n", builder=builder)

    shape_from_input = 'w = tf.get_variable("w", [inputs.shape[-1], 4])'
    left_by(with_variable(shape_from_input), "BN014", "read `inputs`")
    rebound = 'w = tf.get_variable("w", [3, 4])\n    w = w * 2.0'
    left_by(with_variable(rebound), "BN014", "assigned more than once")


def test_rank_of_a_builder_parameter_is_what_its_call_passes() -> None:
    """x is fed 2-D: tf.layers BN in the builder ran non-fused in TF1, so plain Keras BN is exact."""
    result = rewrite_source(program("h = net(x, is_training)\n"))
    assert result.status is Status.CHANGED, result.left
    assert "class BatchNormalization" not in result.code
    assert (
        'bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")'
        in result.code
    )
    unknown = rewrite_source(program("h = net(tf.reshape(x, [-1, 3]), is_training)\n"))
    assert unknown.status is Status.CHANGED, unknown.left
    assert "class BatchNormalization(tf.keras.layers.BatchNormalization):" in unknown.code
