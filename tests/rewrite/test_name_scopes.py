"""Train ops made in a ``with tf.name_scope(...):`` block (the Géron book's and many tutorials' shape:
``with tf.name_scope("train"): optimizer = ...; training_op = optimizer.minimize(loss)``). A name scope
names ops only, so the block is read through: its train op migrates as if written outside it, and the
block goes when everything in it does. Found by the sweep of public repositories (hwalsuklee,
chauhanjatin10/phoenix): such programs were left, "minimize() inside a block other than
tf.control_dependencies" or "no rule of this version migrates it"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO
from tests.rewrite.helpers import assert_migration_checked_equivalent, left_reasons

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py"
SOURCE = FIXTURE.read_text(encoding="utf-8")
NAMED = (
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "with tf.control_dependencies(update_ops):\n"
    "    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n"
)
CHAIN = (
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "optimizer = tf.train.AdamOptimizer(learning_rate=0.01)\n"
    "pairs = optimizer.compute_gradients(loss)\n"
    "clipped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in pairs]\n"
    "with tf.control_dependencies(update_ops):\n"
    "    train_op = optimizer.apply_gradients(clipped)\n"
)


def _scoped(lines: str, head: str = 'with tf.name_scope("train"):\n', after: str = "") -> str:
    """The fixture with ``lines`` (its train op) indented under ``head``."""
    assert NAMED in SOURCE
    body = "".join(f"    {line}\n" if line else "\n" for line in lines.splitlines())
    return SOURCE.replace(NAMED, head + body + after)


@pytest.mark.parametrize("train", [NAMED, CHAIN], ids=["minimize", "gradient chain"])
@pytest.mark.parametrize(
    "head",
    [
        'with tf.name_scope("train"):\n',
        'with tf.name_scope("train"):\n    with tf.name_scope("adam"):\n',
    ],
    ids=["one scope", "nested scopes"],
)
def test_a_train_op_in_a_name_scope_migrates_as_outside_it(train: str, head: str) -> None:
    plain = SOURCE.replace(NAMED, train)
    expected = rewrite_source(plain)
    assert expected.status is Status.CHANGED, left_reasons(expected)
    if head.count("with") == 2:  # the inner scope's lines indented once more
        body = "".join(f"        {line}\n" for line in train.splitlines())
        source = SOURCE.replace(NAMED, head + body)
    else:
        source = _scoped(train, head)
    assert source != plain
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert result.code == expected.code  # the block goes with the train op it held
    assert "name_scope" not in result.code and "momentum=1.0" not in result.code


@pytest.mark.parametrize(
    ("head", "after", "condition"),
    [
        # another statement in the block: the block cannot go, and the train op cannot stay
        (
            'with tf.name_scope("train"):\n',
            "    accuracy = tf.reduce_mean(logits)\n",
            "minimize() inside a block other than tf.control_dependencies (or a tf.name_scope "
            "holding only the train op's lines): not migrated",
        ),
        # the scope's name bound with `as`: read as any other block
        (
            'with tf.name_scope("train") as scope:\n',
            "",
            "minimize() inside a block other than tf.control_dependencies (or a tf.name_scope "
            "holding only the train op's lines): not migrated",
        ),
    ],
)
def test_other_name_scope_blocks_around_a_train_op_are_left(
    head: str, after: str, condition: str
) -> None:
    source = _scoped(NAMED, head, after)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(r == "BN006" and m == condition for r, _, m in left_reasons(result)), left_reasons(
        result
    )


@pytest.mark.slow
@pytest.mark.parametrize("train", [NAMED, CHAIN], ids=["minimize", "gradient chain"])
def test_a_train_op_in_a_name_scope_is_checked_equivalent(tmp_path: Path, train: str) -> None:
    assert_migration_checked_equivalent(tmp_path, _scoped(train), "scoped")


# The Géron book's chapter 11 batch-norm program, in its shape (name scopes for the model, the loss, the
# train op and the evaluation; a `placeholder_with_default` training flag; the update ops fetched beside the
# train op; `accuracy.eval`), with synthetic data and the layers called directly (the book's
# `functools.partial` form is left, tests/rewrite/test_left_reasons.py).
GERON = """\
from functools import partial

import numpy as np
import tensorflow as tf

rng = np.random.RandomState(42)
X_train = rng.rand(100, 28 * 28).astype(np.float32)
y_train = rng.randint(0, 10, size=100).astype(np.int32)
X_valid = rng.rand(50, 28 * 28).astype(np.float32)
y_valid = rng.randint(0, 10, size=50).astype(np.int32)

n_inputs = 28 * 28
n_hidden1 = 300
n_hidden2 = 100
n_outputs = 10
learning_rate = 0.01
n_epochs = 2
batch_size = 50


def shuffle_batch(X, y, batch_size):
    rnd_idx = rng.permutation(len(X))
    n_batches = len(X) // batch_size
    for batch_idx in np.array_split(rnd_idx, n_batches):
        X_batch, y_batch = X[batch_idx], y[batch_idx]
        yield X_batch, y_batch


batch_norm_momentum = 0.9

X = tf.placeholder(tf.float32, shape=(None, n_inputs), name="X")
y = tf.placeholder(tf.int32, shape=(None), name="y")
training = tf.placeholder_with_default(False, shape=(), name='training')

with tf.name_scope("dnn"):
    hidden1 = tf.layers.dense(X, n_hidden1, name="hidden1")
    bn1 = tf.nn.elu(tf.layers.batch_normalization(hidden1, training=training, momentum=batch_norm_momentum))
    hidden2 = tf.layers.dense(bn1, n_hidden2, name="hidden2")
    bn2 = tf.nn.elu(tf.layers.batch_normalization(hidden2, training=training, momentum=batch_norm_momentum))
    logits_before_bn = tf.layers.dense(bn2, n_outputs, name="outputs")
    logits = tf.layers.batch_normalization(logits_before_bn, training=training, momentum=batch_norm_momentum)

with tf.name_scope("loss"):
    xentropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    loss = tf.reduce_mean(xentropy, name="loss")

with tf.name_scope("train"):
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    training_op = optimizer.minimize(loss)

with tf.name_scope("eval"):
    correct = tf.nn.in_top_k(logits, y, 1)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

init = tf.global_variables_initializer()

extra_update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)

with tf.Session() as sess:
    init.run()
    for epoch in range(n_epochs):
        for X_batch, y_batch in shuffle_batch(X_train, y_train, batch_size):
            sess.run([training_op, extra_update_ops],
                     feed_dict={training: True, X: X_batch, y: y_batch})
        accuracy_val = accuracy.eval(feed_dict={X: X_valid, y: y_valid})
        print(epoch, "Validation accuracy:", accuracy_val)
"""


def test_the_book_shape_migrates() -> None:
    result = rewrite_source(GERON)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert 'name_scope("train")' not in result.code
    assert result.code.count("BatchNormalization(momentum=batch_norm_momentum, epsilon=0.001)") == 3


@pytest.mark.slow
def test_the_book_shape_is_checked_equivalent(tmp_path: Path) -> None:
    assert_migration_checked_equivalent(tmp_path, GERON, "geron")
