"""The session block's leading graph statements (``analysis.session_graph``): train ops made at the start of
``with tf.Session() as sess:`` (or after ``sess = tf.Session()``), before anything runs, build the graph
the same statements build just before the session, and migrate as those do, in place; a graph statement
after something ran stays, with the reason at its line. The flattened DCGAN makes its train ops so
(tests/fixtures/tf1/dcgan_flat.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite
from tests.rewrite.test_flat_dcgan import TRAIN_OPS_IN_SESSION, _without

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

HEAD = """\
import numpy as np
import tensorflow as tf

x_data = np.random.rand(64, 4).astype(np.float32)
y_data = x_data[:, :1]

"""
GRAPH = (
    HEAD
    + """\
x = tf.placeholder(tf.float32, [None, 4], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")

h = tf.layers.dense(x, 16, name="dense1")
h = tf.layers.batch_normalization(h, training=True, name="bn1")
h = tf.nn.relu(h)
prediction = tf.layers.dense(h, 1, name="out")
loss = tf.reduce_mean(tf.square(prediction - y))
"""
)
TRAIN = """\
optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.1)
train_op = optimizer.minimize(loss)
"""
INIT = "sess.run(tf.global_variables_initializer())\n"
RUNS = """\
for step in range(4):
    sess.run(train_op, feed_dict={x: x_data, y: y_data})
print(sess.run(loss, feed_dict={x: x_data, y: y_data}))
"""
MIGRATED = (
    HEAD
    + """\
dense1 = tf.keras.layers.Dense(16, name="dense1")
bn1 = tf.keras.layers.BatchNormalization(momentum=1.0, epsilon=0.001, name="bn1")
out = tf.keras.layers.Dense(1, name="out")


def graph(x, y):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    h = dense1(x)
    h = bn1(h, training=True)
    h = tf.nn.relu(h)
    prediction = out(h)
    loss = tf.reduce_mean(tf.square(prediction - y))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = graph(x, y)
    variables = [v for layer in (dense1, bn1, out) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


for step in range(4):
    train_step(x=x_data, y=y_data)
print(graph(x=x_data, y=y_data).numpy())
"""
)


def _indented(text: str) -> str:
    return "".join("    " + line if line.strip() else line for line in text.splitlines(True))


def _line(source: str, text: str) -> int:
    return source[: source.index(text)].count("\n") + 1


def test_train_ops_at_the_start_of_the_session_block_migrate_in_place() -> None:
    source = GRAPH + "\nwith tf.Session() as sess:\n" + _indented(TRAIN + INIT + RUNS)
    assert_rewrite(source, MIGRATED)


def test_train_ops_in_the_session_block_migrate_as_made_before_it() -> None:
    before = GRAPH + TRAIN + "\nwith tf.Session() as sess:\n" + _indented(INIT + RUNS)
    inside = GRAPH + "\nwith tf.Session() as sess:\n" + _indented(TRAIN + INIT + RUNS)
    assert rewrite_source(inside).code == rewrite_source(before).code == MIGRATED


def test_train_ops_after_an_explicit_session_migrate_as_made_before_it() -> None:
    """``sess = tf.Session()`` ... ``sess.close()``: the statements after the session line, up to the first
    that runs it, are the graph's."""
    before = GRAPH + TRAIN + "\nsess = tf.Session()\n" + INIT + RUNS + "sess.close()\n"
    after = GRAPH + "\nsess = tf.Session()\n" + TRAIN + INIT + RUNS + "sess.close()\n"
    result = assert_rewrite(after, rewrite_source(before).code)
    assert result.code == MIGRATED


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(INIT, id="initializer-ran"),
        pytest.param("print(sess.run(loss, feed_dict={x: x_data, y: y_data}))\n", id="a-run"),
        pytest.param('writer = tf.summary.FileWriter("logs", sess.graph)\n', id="session-named"),
        pytest.param("saver = tf.train.Saver()\n", id="saver"),
        pytest.param("scale = float(np.sqrt(2.0))\n", id="not-tensorflow"),
    ],
)
def test_a_train_op_made_after_another_statement_of_the_block_is_left_at_its_line(
    first: str,
) -> None:
    """Graph built after the session ran (an optimizer made after the initializer: slots TF1 never
    initialized), or after a statement not read as graph building only: left, the reason naming the
    statement before it."""
    source = GRAPH + "\nwith tf.Session() as sess:\n" + _indented(first + TRAIN + INIT + RUNS)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    stop = _line(source, "    " + first)
    reasons = [
        site.message
        for site in result.left
        if site.line == _line(source, "    optimizer = ") and site.rule == "BN000"
    ]
    assert reasons and f"in the session block after line {stop}," in reasons[0], result.left


def test_a_train_op_made_by_a_function_of_the_module_in_the_block_is_left() -> None:
    """A call of the module's own function is not read as graph building only: it could run anything."""
    train = TRAIN.replace("optimizer.minimize(loss)", "make_train_op(optimizer, loss)")
    source = (
        GRAPH
        + "\n\ndef make_train_op(optimizer, loss):\n    return optimizer.minimize(loss)\n\n\n"
        + "with tf.Session() as sess:\n"
        + _indented(train + INIT + RUNS)
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source and result.left


def test_a_graph_built_only_in_the_session_block_is_still_left() -> None:
    """The session comes before any graph: BN007's reason, as before (no graph is moved)."""
    head, graph = GRAPH.split("x = tf.placeholder", 1)
    source = (
        head
        + "with tf.Session() as sess:\n"
        + _indented("x = tf.placeholder" + graph + TRAIN + INIT + RUNS)
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any("the graph is built after the session" in s.message for s in result.left), (
        result.left
    )


def test_the_flattened_dcgan_with_its_train_ops_in_the_session_migrates() -> None:
    """Only the train ops kept in the session block: the same program as with them made before it."""
    source = _without("train_ops")
    assert TRAIN_OPS_IN_SESSION in source
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.CHANGED, result.left
    assert not result.left
    assert result.code == rewrite_source(_without(), path="dcgan_flat.py").code
    assert rewrite_source(result.code, path="dcgan_flat.py").status is Status.UNCHANGED


def test_the_flattened_dcgan_with_its_train_ops_after_the_initializer_is_left() -> None:
    init = "    tf.global_variables_initializer().run()\n"
    source = _without("train_ops").replace(init, "")
    source = source.replace("with tf.Session() as sess:\n", "with tf.Session() as sess:\n" + init)
    result = rewrite_source(source, path="dcgan_flat.py")
    assert result.status is Status.SKIPPED and result.code == source
    stop = _line(source, init)
    for train_op in ("    d_optim = ", "    g_optim = "):
        found = [
            site
            for site in result.left
            if site.line == _line(source, train_op)
            and f"in the session block after line {stop}," in site.message
        ]
        assert found, (train_op, result.left)


@pytest.mark.slow
def test_the_flattened_dcgan_with_its_train_ops_in_the_session_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3 (about 2 min): the migration of the program making its train ops in the
    session block is EQUIVALENT to it; the same migration with D's optimizer made without the learning
    rate its block gave it (Keras' default 0.01 for 0.05) is found different."""
    from bn_migrate.check import Cause
    from tests.rewrite.test_flat_dcgan import migrate_and_check

    d_optimizer = "d_optim_optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate)"
    plant = (d_optimizer, d_optimizer.replace("learning_rate=learning_rate", ""))
    _, _, caught = migrate_and_check(_without("train_ops"), tmp_path, old_cache, plant)
    assert Cause.OPTIMIZER_MISMATCH in caught.causes, caught.render_text()
