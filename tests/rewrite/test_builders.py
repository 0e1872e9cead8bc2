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

class Net(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = tf.keras.layers.Dense(4, name="hidden")
        self.bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")

    def call(self, inputs, training):
        h = self.hidden(inputs)
        return self.bn(h, training=training)


data = np.ones((8, 3), np.float32)

net = Net(name="net")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = net(x, training=is_training)
    loss = tf.reduce_mean(tf.square(h))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in (net,) for v in layer.trainable_variables]
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
    left_by(twice, "BN001", "not a builder")
    in_loop = program("for _ in range(2):\n    h = net(x, is_training)\n")
    left_by(in_loop, "BN001", "not a builder")
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
    assert (
        "variables = [net_w] + [v for layer in (net,) for v in layer.trainable_variables]" in code
    )
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


# --- builders called several times, sharing one variable scope (train and eval towers) -------------

SHARED = """def net(inputs, training, reuse=False):
    with tf.variable_scope("net", reuse=reuse):
        h = tf.layers.dense(inputs, 4, name="hidden")
        return tf.layers.batch_normalization(h, training=training, name="bn")


"""


def towers(graph: str, *, builder: str = SHARED, evaluation: str | None = None) -> str:
    """A program whose graph is ``graph`` (it binds ``h`` for training, ``e`` for evaluation)."""
    source = program(graph, builder=builder)
    if evaluation is not None:
        source = source.replace(
            "    print(sess.run(loss, {x: data, is_training: False}))\n", evaluation
        )
    return source


TOWERS = "h = net(x, is_training)\ne = net(x, False, reuse=True)\nscore = tf.reduce_mean(e)\n"


def test_shared_builder_makes_its_layers_once_and_loses_its_scope() -> None:
    after = """import numpy as np
import tensorflow as tf

class Net(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = tf.keras.layers.Dense(4, name="hidden")
        self.bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")

    def call(self, inputs, training):
        h = self.hidden(inputs)
        return self.bn(h, training=training)


data = np.ones((8, 3), np.float32)

net = Net(name="net")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = net(x, training=is_training)
    e = net(x, training=False)
    score = tf.reduce_mean(e)
    loss = tf.reduce_mean(tf.square(h))
    return loss


def graph_score(x):
    x = tf.cast(x, tf.float32)
    e = net(x, training=False)
    score = tf.reduce_mean(e)
    return score


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in (net,) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


for step in range(2):
    train_step(x=data, is_training=True)
print(graph_score(x=data).numpy())
"""
    before = towers(TOWERS, evaluation="    print(sess.run(score, {x: data}))\n")
    result = assert_rewrite(before, after, options=PLAIN)
    assert any(
        s.rule == "BN017" and "shared by the 2 calls of `net`; `reuse` removed" in s.message
        for s in result.applied
    ), result.applied


def test_evaluation_reading_the_training_tower_is_left() -> None:
    """The evaluation fetches what the training tower (training fed False) computes: the whole graph
    function would run, which is what the single-tower program does too."""
    source = towers(TOWERS, evaluation="    print(sess.run(score + loss, {x: data}))\n")
    left_by(source, "BN007", "fetch `score + loss` is not a name of the module's graph")
    unfed = towers(TOWERS, evaluation="    print(sess.run(loss, {x: data}))\n")
    left_by(unfed, "BN007", "training=is_training not False")


def test_auto_reuse_and_a_literal_scope_parameter_share_too() -> None:
    auto = SHARED.replace("reuse=reuse", "reuse=tf.AUTO_REUSE")
    result = rewrite_source(towers(TOWERS, builder=auto), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "def call(self, inputs, training):" in result.code  # nothing reads `reuse` any more
    named = SHARED.replace(
        "def net(inputs, training, reuse=False):",
        'def net(inputs, training, scope="net", reuse=False):',
    ).replace('tf.variable_scope("net",', "tf.variable_scope(scope,")
    result = rewrite_source(towers(TOWERS, builder=named), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "def call(self, inputs, training):" in result.code


def test_builders_whose_calls_do_not_share_their_variables_are_left() -> None:
    not_reusing = TOWERS.replace(", reuse=True", "")
    left_by(towers(not_reusing), "BN001", "not a builder")
    first_reuses = "h = net(x, is_training, reuse=True)\ne = net(x, False)\nscore = e\n"
    left_by(towers(first_reuses), "BN001", "not a builder")
    two_scopes = SHARED.replace(
        "def net(inputs, training, reuse=False):", "def net(inputs, training, scope, reuse=False):"
    ).replace('tf.variable_scope("net",', "tf.variable_scope(scope,")
    different = 'h = net(x, is_training, "a")\ne = net(x, False, "b", reuse=True)\nscore = e\n'
    left_by(towers(different, builder=two_scopes), "BN001", "not a builder")
    computed = SHARED.replace('tf.variable_scope("net",', 'tf.variable_scope("net" + "",')
    left_by(towers(TOWERS, builder=computed), "BN001", "not a builder")


def test_two_training_towers_of_one_shared_layer_are_left() -> None:
    """Both calls make update ops in TF1 (training fed at each): which ran together is a race."""
    both = "h = net(x, is_training)\ne = net(x, is_training, reuse=True)\nscore = e\n"
    left_by(towers(both), "BN001", "made update ops at more than one call")


def test_a_scope_named_elsewhere_is_left() -> None:
    selected = towers(TOWERS).replace(
        ".minimize(loss", '.minimize(loss, var_list=tf.trainable_variables("net")'
    )
    left_by(selected, "BN017", 'variable scope "net" is named again at line')


def test_variables_in_a_shared_builder() -> None:
    """tf.get_variable is shared through the scope (made once); tf.Variable was made at each call."""
    shared = SHARED.replace(
        '        h = tf.layers.dense(inputs, 4, name="hidden")\n',
        '        w = tf.get_variable("w", [3, 4])\n        h = tf.matmul(inputs, w)\n',
    )
    result = rewrite_source(towers(TOWERS, builder=shared), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert (
        'net_w = tf.Variable(tf.keras.initializers.GlorotUniform()(shape=[3, 4]), name="w")'
        in result.code
    )
    per_call = shared.replace('tf.get_variable("w", [3, 4])', "tf.Variable(tf.ones([3, 4]))")
    left_by(towers(TOWERS, builder=per_call), "BN014", "made a new variable at each call")


ALWAYS_TRAINING = TOWERS.replace("net(x, is_training)", "net(x, True)")


def test_evaluation_slice_keeps_every_fed_value_it_cannot_drop() -> None:
    """A slice reads fewer inputs than the run feeds: plain fed values are dropped, a call (it may
    have effects, ``next(batches)``) or a named feed dict leaves the file."""
    plain = towers(
        ALWAYS_TRAINING, evaluation="    print(sess.run(score, {x: data, is_training: False}))\n"
    )
    result = rewrite_source(plain, options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "print(graph_score(x=data).numpy())" in result.code
    called = towers(
        ALWAYS_TRAINING, evaluation="    print(sess.run(score, {x: data, is_training: bool(0)}))\n"
    )
    left_by(called, "BN007", "feeds is_training, which it does not read")
    named = towers(
        ALWAYS_TRAINING,
        evaluation="    feed = {x: data, is_training: False}\n    print(sess.run(score, feed))\n",
    )
    left_by(named, "BN007", "feeds is_training, which it does not read")


def test_reuse_variables_switch_of_dcgan_shares_too() -> None:
    """``with tf.variable_scope(NAME) as scope: if reuse: scope.reuse_variables()`` (DCGAN's form, and
    ``tf.get_variable_scope().reuse_variables()``)."""
    switch = SHARED.replace(
        '    with tf.variable_scope("net", reuse=reuse):\n',
        '    with tf.variable_scope("net") as scope:\n        if reuse:\n            scope.reuse_variables()\n',
    )
    result = rewrite_source(towers(TOWERS, builder=switch), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "def call(self, inputs, training):\n        h = self.hidden(inputs)\n" in result.code
    current = switch.replace(" as scope:", ":").replace(
        "scope.reuse_variables()", "tf.get_variable_scope().reuse_variables()"
    )
    result = rewrite_source(towers(TOWERS, builder=current), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    read_later = switch.replace(
        "        return tf.layers", "        print(scope.name)\n        return tf.layers"
    )
    left_by(towers(TOWERS, builder=read_later), "BN001", "not a builder")


# --- builders calling builders --------------------------------------------------------------------

DENSE_BN = """def dense_bn(inputs, units, training, name):
    h = tf.layers.dense(inputs, units, name=name)
    return tf.layers.batch_normalization(h, training=training, name=name + "_bn")


def net(inputs, training):
    h = dense_bn(inputs, 4, training, "a")
    return dense_bn(h, 2, training, name="b")


"""


def test_a_builder_called_from_a_builder_is_one_instance_per_call() -> None:
    result = rewrite_source(program("h = net(x, is_training)\n", builder=DENSE_BN), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert (
        "class DenseBn(tf.keras.layers.Layer):\n"
        "    def __init__(self, units, name, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.dense = tf.keras.layers.Dense(units, name=name)\n"
        "        self.batch_normalization = tf.keras.layers.BatchNormalization("
        'momentum=0.99, epsilon=0.001, name=name + "_bn")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        h = self.dense(inputs)\n"
        "        return self.batch_normalization(h, training=training)\n"
    ) in code
    assert (
        '        self.dense_bn_1 = DenseBn(units=4, name="a")\n'
        '        self.dense_bn_2 = DenseBn(units=2, name="b")\n'
    ) in code
    assert "        h = self.dense_bn_1(inputs, training=training)\n" in code
    assert "        return self.dense_bn_2(h, training=training)\n" in code
    assert rewrite_source(code).status is Status.UNCHANGED


def test_literal_parameters_read_in_the_body_are_kept_on_the_instance() -> None:
    scaled = DENSE_BN.replace(
        '    return tf.layers.batch_normalization(h, training=training, name=name + "_bn")\n',
        '    h = tf.layers.batch_normalization(h, training=training, name=name + "_bn")\n'
        "    return h * units\n",
    )
    result = rewrite_source(program("h = net(x, is_training)\n", builder=scaled), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "        self.units = units\n" in result.code
    assert "        return h * self.units\n" in result.code


def test_builders_of_builders_that_cannot_be_instances_are_left() -> None:
    computed = DENSE_BN.replace(
        'dense_bn(inputs, 4, training, "a")', 'dense_bn(inputs, 4 * 1, training, "a")'
    )
    left_by(
        program("h = net(x, is_training)\n", builder=computed),
        "BN003",
        "not a literal at every call",
    )
    variable = DENSE_BN.replace(
        "    h = tf.layers.dense(inputs, units, name=name)\n",
        '    w = tf.get_variable("w", [3, 4])\n    h = tf.matmul(inputs, w)\n',
    )
    left_by(program("h = net(x, is_training)\n", builder=variable), "BN014", "called from builders")


PER_CALL = """def block(inputs, units, training, scope):
    with tf.variable_scope(scope):
        h = tf.layers.dense(inputs, units, name="dense")
        return tf.layers.batch_normalization(h, training=training, name="bn")


"""


def test_each_call_with_its_own_scope_is_its_own_instance_named_after_it() -> None:
    """``block(x, 4, is_training, "layer1")`` then ``"layer2"``: each call made its own variables
    under its own scope (layer1/dense/kernel): one module-level instance per call, named so."""
    graph = 'h = block(x, 4, is_training, "layer1")\nh = block(h, 2, is_training, "layer2")\n'
    result = rewrite_source(program(graph, builder=PER_CALL), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert (
        "class Block(tf.keras.layers.Layer):\n"
        "    def __init__(self, units, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        '        self.dense = tf.keras.layers.Dense(units, name="dense")\n'
        "        self.bn = tf.keras.layers.BatchNormalization("
        'momentum=0.99, epsilon=0.001, name="bn")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        h = self.dense(inputs)\n"
        "        return self.bn(h, training=training)\n"
    ) in code
    assert (
        'block_1 = Block(units=4, name="layer1")\nblock_2 = Block(units=2, name="layer2")\n'
    ) in code
    assert (
        "    h = block_1(x, training=is_training)\n    h = block_2(h, training=is_training)\n"
        in (code)
    )
    assert "for layer in (block_1, block_2)" in code
    applied = {site.rule: site.message for site in result.applied}
    assert 'variable scopes "layer1", "layer2" dissolved' in applied["BN017"]
    [pair] = result.models  # the model check builds the first call's instance
    assert (pair.builder, pair.model) == ("block", "Block")
    assert dict(pair.builder_args) == {"units": 4, "scope": "layer1"}
    assert dict(pair.model_args) == {"units": 4, "name": "layer1"}
    assert rewrite_source(code).status is Status.UNCHANGED


def test_a_builder_calling_one_with_its_own_scope_per_call() -> None:
    nested = PER_CALL + (
        "def net(inputs, training):\n"
        '    h = block(inputs, 4, training, "block1")\n'
        '    return block(h, 2, training, "block2")\n\n\n'
    )
    result = rewrite_source(program("h = net(x, is_training)\n", builder=nested), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert (
        '        self.block_1 = Block(units=4, name="block1")\n'
        '        self.block_2 = Block(units=2, name="block2")\n'
    ) in result.code


def test_per_call_scopes_that_cannot_be_proven_are_left() -> None:
    same = 'h = block(x, 4, is_training, "layer1")\nh = block(h, 2, is_training, "layer1")\n'
    left_by(program(same, builder=PER_CALL), "BN001", "not a builder")  # TF1: already exists
    computed = 'h = block(x, 4, is_training, "layer" + "1")\nh = block(h, 2, is_training, "b")\n'
    left_by(program(computed, builder=PER_CALL), "BN001", "not a builder")
    graph = 'h = block(x, 4, is_training, "layer1")\nh = block(h, 2, is_training, "layer2")\n'
    selected = program(graph, builder=PER_CALL).replace(
        ".minimize(loss", '.minimize(loss, var_list=tf.trainable_variables("layer2")'
    )
    left_by(selected, "BN017", 'variable scope "layer2" is named again')
    named = PER_CALL.replace("units, training, scope", "units, training, scope, name=None")
    left_by(program(graph, builder=named), "BN018", "`name` parameter")


def test_parameters_the_class_no_longer_reads_leave_its_call() -> None:
    """``dense(x, size, scope)`` passing both to the layer: they are written into the layer made in
    ``__init__``, so ``call(self, x)`` and ``dense(h)``: Keras (and the model check) call it so."""
    builder = (
        "def dense(x, size, scope):\n"
        "    return tf.layers.dense(x, size, name=scope)\n\n\n"
        "def net(inputs, training):\n"
        '    h = tf.layers.batch_normalization(inputs, training=training, name="bn")\n'
        "    return h\n\n\n"
    )
    graph = 'h = dense(net(x, is_training), 4, "logits")\n'
    result = rewrite_source(program(graph, builder=builder), options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "    def call(self, x):\n" in result.code
    assert "dense(net(x, training=is_training))" in result.code


SIZED = """def net(inputs, training):
    h = tf.layers.dense({inputs}, inputs.get_shape()[-1], name="hidden")
    return tf.layers.batch_normalization(h, training=training, name="bn")


"""


def test_a_layer_sized_by_the_builders_input_is_made_in_its_class_build() -> None:
    result = rewrite_source(
        program("h = net(x, is_training)\n", builder=SIZED.format(inputs="inputs")), options=PLAIN
    )
    assert result.status is Status.CHANGED, result.left
    assert (
        "    def build(self, input_shape):\n"
        '        self.hidden = tf.keras.layers.Dense(input_shape[-1], name="hidden")\n'
    ) in result.code
    assert rewrite_source(result.code, options=PLAIN).code == result.code


def test_a_layer_sized_by_the_input_of_a_builder_with_module_level_layers_is_left() -> None:
    """The builder reads the graph tensor ``x`` as a global: it cannot become a class, its layers
    would be made at module level, before any input is seen."""
    left_by(
        program("h = net(x, is_training)\n", builder=SIZED.format(inputs="inputs + x")),
        "BN003",
        "the builder's layers are module-level objects",
    )


def test_a_size_read_in_a_function_nested_in_the_builder_is_left() -> None:
    """``inputs`` there is the nested function's own parameter (twice as deep), not the builder's; and a
    layer made in a nested function is made at each of its calls: left for that first."""
    nested = (
        "def net(inputs, training):\n"
        "    def inner(inputs):\n"
        '        return tf.layers.dense(inputs, inputs.get_shape()[-1], name="hidden")\n'
        "    h = inner(tf.concat([inputs, inputs], 1))\n"
        '    return tf.layers.batch_normalization(h, training=training, name="bn")\n\n\n'
    )
    left_by(program("h = net(x, is_training)\n", builder=nested), "BN003", "defined inside another")


def test_a_layer_made_in_a_function_nested_in_the_builder_is_left() -> None:
    """TF1 made a new dense and batch norm at each call of ``block`` (two of each here): creating them
    once in the class would share one layer between both calls (found in review: it was migrated so)."""
    nested = (
        "def net(inputs, training):\n"
        "    def block(h):\n"
        "        h = tf.layers.dense(h, 8)\n"
        "        return tf.layers.batch_normalization(h, training=training)\n"
        "    return block(block(inputs))\n\n\n"
    )
    source = program("h = net(x, is_training)\n", builder=nested)
    left_by(source, "BN001", "defined inside another function: TF1 made a new layer at each call")
    left_by(source, "BN003", "defined inside another function: TF1 made a new layer at each call")
