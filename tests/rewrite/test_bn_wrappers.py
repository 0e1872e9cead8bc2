"""Batch-norm wrapper classes (DCGAN's ``ops.batch_norm``): each instance call is written as the
batch-norm call of ``__call__`` and migrated as such; classes that are not such wrappers leave the file
with the condition that failed (``analysis.bn_wrappers``, ``planning.bn_wrappers``)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.analysis import bn_wrappers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite

WRAPPER = """
import numpy as np
import tensorflow as tf


class batch_norm(object):
    def __init__(self, epsilon=1e-5, momentum=0.9, name="batch_norm"):
        with tf.variable_scope(name):
            self.epsilon = epsilon
            self.momentum = momentum
            self.name = name

    def __call__(self, x, train=True):
        return tf.contrib.layers.batch_norm(x, decay=self.momentum, updates_collections=None,
                                            epsilon=self.epsilon, scale=True, fused=False,
                                            is_training=train, scope=self.name)

"""

MODULE_LEVEL = (
    WRAPPER
    + """
data = np.ones((8, 3), np.float32)
bn1 = batch_norm(momentum=0.99, name="bn1")
x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = tf.layers.dense(x, 4, name="hidden")
loss = tf.reduce_mean(bn1(h, train=is_training))
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        _, value = sess.run([train_op, loss], {x: data, is_training: True})
        print(value)
    print(sess.run(loss, {x: data, is_training: False}))
"""
)

MODULE_LEVEL_AFTER = """
import numpy as np
import tensorflow as tf


data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn1 = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-5, scale=True, center=True, name="bn1")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    loss = tf.reduce_mean(bn1(h, training=is_training))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in (hidden, bn1) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(2):
    value = train_step(x=data, is_training=True).numpy()
    print(value)
print(graph(x=data, is_training=False).numpy())
"""

IN_A_BUILDER = (
    WRAPPER
    + """
data = np.ones((8, 3), np.float32)


def net(inputs, is_training):
    bn = batch_norm(name="bn1")
    with tf.variable_scope("net"):
        h = tf.layers.dense(inputs, 4, name="hidden")
        return bn(h, is_training)


x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
loss = tf.reduce_mean(net(x, is_training))
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        _, value = sess.run([train_op, loss], {x: data, is_training: True})
        print(value)
"""
)


def test_module_level_instance_becomes_the_keras_layer_it_stands_for() -> None:
    """decay -> momentum (the instance's 0.99), epsilon 1e-5, scale=True, center=True as contrib's
    default, ``train=`` -> ``training=``; the class and the instance statement go."""
    result = assert_rewrite(
        MODULE_LEVEL,
        MODULE_LEVEL_AFTER,
        applied_rules={"BN002", "BN003", "BN005", "BN006", "BN007"},
    )
    wrapper_sites = [s for s in result.applied if "wrapper class `batch_norm` removed" in s.message]
    assert [(s.rule, s.line) for s in wrapper_sites] == [("BN002", 5)]
    bn_call = [s for s in result.applied if s.message.startswith("contrib/slim batch norm")]
    assert [s.line for s in bn_call] == [23]  # the line of ``bn1(h, train=...)`` in the file


def test_instance_made_in_a_builder_becomes_a_sublayer_of_its_keras_class() -> None:
    result = rewrite_source(textwrap.dedent(IN_A_BUILDER))
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert "class batch_norm" not in code
    assert "class Net(tf.keras.Model):" in code
    assert (
        "self.bn1 = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, scale=True, "
        'center=True, name="bn1")' in code
    )
    assert "return self.bn1(h, training=training)" in code or "self.bn1(h, training=" in code
    assert rewrite_source(code).code == code  # idempotent
    cst.parse_module(code)


def left_messages(source: str) -> list[str]:
    result = rewrite_source(textwrap.dedent(source))
    assert result.status is Status.SKIPPED, result.code
    return [site.message for site in result.left]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ('bn1 = batch_norm(momentum=0.99, name="bn1")', 'bn1 = batch_norm(name="bn" + "1")'),
            "an instance of `batch_norm` is made with `name=` not a literal",
        ),
        (
            ("print(value)", "print(value, bn1.name)"),
            "instance `bn1` of `batch_norm` is used other than called",
        ),
        (
            (
                "            self.name = name\n",
                "            self.name = name\n            print(name)\n",
            ),
            "`batch_norm.__init__` does more than store its parameters",
        ),
        (
            (
                "is_training=train, scope=self.name)",
                "is_training=train and train, scope=self.name)",
            ),
            "`batch_norm.__call__` reads its parameter `train` 2 times",
        ),
        (
            ("bn1(h, train=is_training)", "bn1(tf.identity(h), train=tf.identity(is_training))"),
            "passes more than one argument that is not a name or literal",
        ),
        (
            ("class batch_norm(object):", "class batch_norm(Base):"),
            "class `batch_norm` derives from a class other than `object`",
        ),
        (
            (
                "    def __call__(self, x, train=True):",
                "    def apply(self):\n        pass\n\n    def __call__(self, x, train=True):",
            ),
            "class `batch_norm` has other methods (apply)",
        ),
    ],
)
def test_a_class_that_is_not_a_wrapper_names_the_condition(
    change: tuple[str, str], reason: str
) -> None:
    old, new = change
    source = textwrap.dedent(MODULE_LEVEL)
    assert old in source
    messages = left_messages(source.replace(old, new))
    assert any(reason in message for message in messages), messages


def test_a_model_class_names_its_graph_building_methods() -> None:
    source = """
        import tensorflow as tf


        class Model(object):
            def __init__(self):
                self.build()

            def build(self):
                self.x = tf.placeholder(tf.float32, [None, 3])
                self.h = tf.layers.dense(self.x, 3)


        model = Model()
        other = Model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
    """
    messages = left_messages(source)
    assert any(
        texts.model_class(
            ["`build` called by `__init__`"],
            "class `Model` has constructs a migration could not prove (each is reported at its "
            "line)",
        )
        in message
        for message in messages
    ), messages


def test_the_analysis_reads_the_instances_and_calls() -> None:
    module = cst.parse_module(textwrap.dedent(MODULE_LEVEL))
    found = bn_wrappers.read(module, AliasTable.build(module))
    assert found.refusals == {}
    (wrapper,) = found.found
    assert wrapper.target == "tensorflow.contrib.layers.batch_norm"
    (instance,) = wrapper.instances
    assert instance.name == "bn1"
    stored = {key: cst.Module([]).code_for_node(value) for key, value in instance.stored.items()}
    assert stored == {"epsilon": "1e-5", "momentum": "0.99", "name": '"bn1"'}
    (call,) = wrapper.calls
    assert set(call.arguments) == {"x", "train"}


def test_a_wrapper_in_an_imported_module_goes_with_its_program() -> None:
    """DCGAN's layout: the wrapper in ``ops.py``, its instances in the training script. The program is
    migrated as one module; ``ops.py`` loses the class and holds the emitted BN class instead."""
    from bn_migrate.rewrite.engine import rewrite_program
    from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile

    source = textwrap.dedent(MODULE_LEVEL).replace("fused=False,", "")
    start, end = source.index("class batch_norm"), source.index("data = ")
    ops = "import tensorflow as tf\n\n\n" + source[start:end].rstrip() + "\n"
    script = source[:start].rstrip() + "\nfrom ops import batch_norm\n\n" + source[end:]
    line = script.splitlines().index("from ops import batch_norm") + 1
    train, library = rewrite_program(
        [ProgramFile("train.py", script), ProgramFile("ops.py", ops)], [ProgramEdge(0, line, 1)]
    )
    assert train.status is Status.CHANGED and library.status is Status.CHANGED, train.left
    assert "from ops import BatchNormalization" in train.code
    assert (
        'bn1 = BatchNormalization(momentum=0.99, epsilon=1e-5, scale=True, center=True, name="bn1"'
        in train.code
    )
    assert "class batch_norm" not in library.code
    assert "class BatchNormalization(tf.keras.layers.BatchNormalization):" in library.code
