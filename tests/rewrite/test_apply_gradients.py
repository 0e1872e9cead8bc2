"""compute_gradients -> clipping -> apply_gradients train ops (BN006, ``analysis.gradients``): each form
becomes a tape step applying the same clipping ops in the same order; every chain whose meaning the step
could not keep is left with the line and the condition."""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite

BEFORE = """\
import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)
x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = tf.layers.dense(x, 4, name="hidden")
h = tf.layers.batch_normalization(h, training=is_training, name="bn")
loss = tf.reduce_mean(tf.square(h))
opt = tf.train.MomentumOptimizer(0.1, 0.9)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
{chain}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        _, value = sess.run([{fetched}, loss], {{x: data, is_training: True}})
        print(value)
"""

AFTER = """\
import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = hidden(x)
    h = bn(h, training=is_training)
    loss = tf.reduce_mean(tf.square(h))
    return loss


opt = tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [v for layer in ({layers}) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
{clips}    opt.apply_gradients(zip(gradients, variables))
    return loss


for step in range(2):
    value = train_step(x=data, is_training=True).numpy()
    print(value)
"""


def before(chain: str, fetched: str = "train_op") -> str:
    return BEFORE.format(chain=chain.rstrip("\n"), fetched=fetched)


def after(*clips: str, layers: str = "hidden, bn") -> str:
    return AFTER.format(clips="".join(f"    {line}\n" for line in clips), layers=layers)


def line_of(source: str, text: str) -> int:
    """1-based line of the first line of ``source`` containing ``text``."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


# --- the forms migrated -------------------------------------------------------------------------


PAIRS_BY_VALUE = """\
grads_and_vars = opt.compute_gradients(loss)
capped = [(tf.clip_by_value(grad, -1.0, 1.0), var) for grad, var in grads_and_vars]
with tf.control_dependencies(update_ops):
    train_op = opt.apply_gradients(capped)
"""

GLOBAL_NORM = """\
with tf.control_dependencies(update_ops):
    grads_and_vars = opt.compute_gradients(loss)
gradients, variables = zip(*grads_and_vars)
gradients, _ = tf.clip_by_global_norm(gradients, 5.0)
train_op = opt.apply_gradients(zip(gradients, variables))
"""

NORM_THEN_GLOBAL = """\
with tf.control_dependencies(update_ops):
    grads_and_vars = opt.compute_gradients(loss)
    grads, tvars = zip(*grads_and_vars)
    grads = [tf.clip_by_norm(g, clip_norm=2.0) for g in grads]
    grads, global_norm = tf.clip_by_global_norm(grads, 5.0)
    train_op = opt.apply_gradients(list(zip(grads, tvars)))
"""


@pytest.mark.parametrize(
    ("chain", "clips"),
    [
        (PAIRS_BY_VALUE, ("gradients = [tf.clip_by_value(g, -1.0, 1.0) for g in gradients]",)),
        (GLOBAL_NORM, ("gradients, _ = tf.clip_by_global_norm(gradients, 5.0)",)),
        (
            NORM_THEN_GLOBAL,
            (
                "gradients = [tf.clip_by_norm(g, clip_norm=2.0) for g in gradients]",
                "gradients, _ = tf.clip_by_global_norm(gradients, 5.0)",
            ),
        ),
        (  # no clipping: the pairs applied as computed
            "with tf.control_dependencies(update_ops):\n"
            "    train_op = opt.apply_gradients(opt.compute_gradients(loss))\n",
            (),
        ),
    ],
    ids=["pairs-clip-by-value", "global-norm", "norm-then-global-norm", "unclipped"],
)
def test_each_form_becomes_a_tape_step_with_the_same_clips_in_order(
    chain: str, clips: tuple[str, ...]
) -> None:
    result = assert_rewrite(before(chain), after(*clips))
    [message] = [s.message for s in result.applied if "compute_gradients ->" in s.message]
    assert "differentiates the loss on a tape" in message


def test_var_list_and_global_step_are_read_from_compute_and_apply() -> None:
    chain = (
        "global_step = tf.train.get_or_create_global_step()\n"
        'grads_and_vars = opt.compute_gradients(loss, tf.trainable_variables("bn"))\n'
        "with tf.control_dependencies(update_ops):\n"
        "    train_op = opt.apply_gradients(grads_and_vars, global_step)\n"
    )
    source = before(chain) + "    print(sess.run(global_step))\n"
    expected = after(layers="bn,") + "print(opt.iterations.numpy())\n"
    assert_rewrite(source, expected)


@pytest.mark.parametrize(
    "group",
    [
        "train_op = tf.group(apply_op, update_ops)",
        "train_op = tf.group(*update_ops, apply_op)",
        "train_op = tf.group(apply_op, *update_ops)",
    ],
)
def test_the_train_op_grouped_with_the_update_ops(group: str) -> None:
    chain = (
        "grads_and_vars = opt.compute_gradients(loss)\n"
        "apply_op = opt.apply_gradients(grads_and_vars)\n" + group + "\n"
    )
    assert_rewrite(before(chain), after())


def test_a_group_with_anything_else_is_not_a_train_op_with_its_updates() -> None:
    """``tf.group(apply_op, other, *update_ops)`` would run ``other`` too: it is not read as the train
    op grouped with its update ops, so nothing is migrated silently without it."""
    module = cst.parse_module(
        before(
            "grads_and_vars = opt.compute_gradients(loss)\n"
            "apply_op = opt.apply_gradients(grads_and_vars)\n"
            "other = tf.no_op()\n"
            "train_op = tf.group(apply_op, other, *update_ops)\n"
        )
    )
    program = Program.read(module, AliasTable.build(module))
    assert "train_op" not in program.train_ops and "apply_op" in program.train_ops


def test_the_analysis_reads_the_chain_by_binding() -> None:
    module = cst.parse_module(before(NORM_THEN_GLOBAL))
    program = Program.read(module, AliasTable.build(module))
    [op] = program.gradient_ops.values()
    assert op.train_op == "train_op" and op.optimizer == "opt" and op.with_updates
    assert [c.function for c in op.clips] == [
        "tensorflow.clip_by_norm",
        "tensorflow.clip_by_global_norm",
    ]
    assert len(op.lines) == 5 and not program.gradient_refusals
    assert "train_op" in program.train_ops_with_updates


def test_a_chain_outside_the_update_ops_dependencies_does_not_run_them() -> None:
    """Only ``zip`` (which makes no op) under the control dependencies: the train op runs no update."""
    chain = (
        "grads_and_vars = opt.compute_gradients(loss)\n"
        "with tf.control_dependencies(update_ops):\n"
        "    gradients, variables = zip(*grads_and_vars)\n"
        "train_op = opt.apply_gradients(zip(gradients, variables))\n"
    )
    module = cst.parse_module(before(chain))
    program = Program.read(module, AliasTable.build(module))
    assert not program.gradient_ops["train_op"].with_updates


def test_the_migration_is_idempotent_on_its_output() -> None:
    first = rewrite_source(before(GLOBAL_NORM))
    again = rewrite_source(first.code)
    assert first.status is Status.CHANGED and again.code == first.code


# --- the forms left, with the line and the condition -------------------------------------------


@pytest.mark.parametrize(
    ("chain", "where", "expected"),
    [
        (
            "gv = opt.compute_gradients(loss)\n"
            "tgv = [(0.9 * g, v) for g, v in gv]\n"
            "train_op = opt.apply_gradients(tgv)\n",
            "tgv = [",
            "`tgv` changes the gradients other than by tf.clip_by_value / tf.clip_by_norm",
        ),
        (
            "gv = opt.compute_gradients(loss)\n"
            "capped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in gv if g is not None]\n"
            "train_op = opt.apply_gradients(capped)\n",
            "capped = [",
            "keeps only the gradients that are not None (variables the loss does not reach)",
        ),
        (
            "other = tf.train.MomentumOptimizer(0.1, 0.9)\n"
            "gv = other.compute_gradients(loss)\n"
            "train_op = opt.apply_gradients(gv)\n",
            "gv = other",
            "applies gradients computed by `other`, another object",
        ),
        (
            "gv = opt.compute_gradients(loss, aggregation_method=2)\n"
            "train_op = opt.apply_gradients(gv)\n",
            "gv = opt",
            "compute_gradients(..., aggregation_method=) is not migrated",
        ),
        (
            "gv = opt.compute_gradients(loss)\n"
            "gv2 = opt.compute_gradients(loss)\n"
            "train_op = opt.apply_gradients(gv + gv2)\n",
            "train_op = ",
            "apply_gradients() of something other than the pairs compute_gradients() returned",
        ),
        (
            "gv = opt.compute_gradients(loss)\n"
            "g, v = zip(*gv)\n"
            "g = [tf.clip_by_norm(t, 1.0, axes=[0]) for t in g]\n"
            "train_op = opt.apply_gradients(zip(g, v))\n",
            "g = [",
            "argument `axes=[0]` of clip_by_norm() is not migrated",
        ),
        (
            "gv = opt.compute_gradients(loss)\n"
            "capped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in gv]\n"
            "train_op = opt.apply_gradients(capped)\n"
            "print(capped)\n",
            "print(capped)",
            "`capped` (a value of the gradient chain ending in apply_gradients()) is used here too",
        ),
        (
            "bound = tf.placeholder_with_default(1.0, [])\n"
            "gv = opt.compute_gradients(loss)\n"
            "capped = [(tf.clip_by_value(g, -bound, bound), v) for g, v in gv]\n"
            "train_op = opt.apply_gradients(capped)\n",
            "capped = [",
            "clip bound reads `bound`, a tensor of the graph",
        ),
        (
            "gv = opt.compute_gradients(loss)\n"
            "g, v = zip(*gv)\n"
            "g2, norm = tf.clip_by_global_norm(g, 1.0)\n"
            "train_op = opt.apply_gradients(zip(norm, v))\n",
            "g2, norm",
            "`norm` is not the clipped gradients of tf.clip_by_global_norm()",
        ),
        (
            "gv = opt.compute_gradients(loss)\n"
            "g, v = zip(*gv)\n"
            "train_op = opt.apply_gradients(zip(v, v))\n",
            "train_op = ",
            "`v` is not the gradients `g` of zip(*pairs)",
        ),
    ],
    ids=[
        "scaled",
        "none-filtered",
        "other-optimizer",
        "aggregation-method",
        "two-losses",
        "clip-axes",
        "chain-read-elsewhere",
        "clip-bound-from-graph",
        "norm-applied",
        "variables-applied",
    ],
)
def test_chains_the_step_cannot_keep_are_left_with_the_reason(
    chain: str, where: str, expected: str
) -> None:
    source = before(chain)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    reasons = [s for s in result.left if s.rule == "BN006" and expected in s.message]
    assert reasons, result.left
    assert reasons[0].line == line_of(source, where), (reasons[0], result.left)


def test_apply_gradients_of_a_keras_optimizer_is_no_tf1_train_op() -> None:
    """Already TF2 at module level (a Keras optimizer): neither a chain nor a refusal."""
    source = (
        "import tensorflow as tf\n\n"
        "opt = tf.keras.optimizers.SGD(0.1)\n"
        "w = tf.Variable(1.0)\n"
        "opt.apply_gradients([(tf.constant(0.5), w)])\n"
    )
    module = cst.parse_module(source)
    program = Program.read(module, AliasTable.build(module))
    assert not program.gradient_ops and not program.gradient_refusals
    assert_rewrite(source, None)
