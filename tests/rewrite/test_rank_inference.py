"""Rank inference for the fused-kernel decision (program.RankReader): what it sees through, and where it
must stay "unknown" (and so keep the exact fused-kernel ``BatchNormalization`` subclass)."""

from __future__ import annotations

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status
from bn_migrate.rewrite.rule_examples import GAN_BEFORE as GAN
from bn_migrate.rewrite.rule_examples import SEED_BEFORE, program
from tests.rewrite.helpers import assert_rewrite

# The seed question's shape: the BN input is 2-D, but only through a list comprehension of inputs, a
# Lambda concatenating them, and a loop rebinding `out`. TF1 ran BN non-fused on it (measured).
SEED_LIKE = """\
import numpy as np
import tensorflow as tf

input_shapes = [(3,)]
inputs = [tf.keras.layers.Input(shape=shape) for shape in input_shapes]
out = tf.keras.layers.Lambda(lambda x: tf.concat(x, axis=-1))(inputs)
for units in [4, 4]:
    hidden = tf.keras.layers.Dense(units)(out)
    batch_normed = tf.layers.batch_normalization(hidden, training=True)
    out = tf.keras.layers.Activation("relu")(batch_normed)
data = np.ones((8, 3))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    for step in range(2):
        sess.run(update_ops, {inputs[0]: data})
        sess.run(out, {inputs[0]: data})
"""

SEED_LIKE_AFTER = """\
import numpy as np
import tensorflow as tf

input_shapes = [(3,)]
inputs = [tf.keras.layers.Input(shape=shape) for shape in input_shapes]
out = tf.keras.layers.Lambda(lambda x: tf.concat(x, axis=-1))(inputs)
for units in [4, 4]:
    hidden = tf.keras.layers.Dense(units)(out)
    batch_normed = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001)(hidden, training=True)
    out = tf.keras.layers.Activation("relu")(batch_normed)
data = np.ones((8, 3))
model = tf.keras.Model(inputs, out)
for step in range(2):
    model([data])
"""

SUBCLASS = "class BatchNormalization(tf.keras.layers.BatchNormalization):"


def _keeps_subclass(before: str) -> RewriteResult:
    """The rank is not provable: the exact subclass stays (and the output is still a fixpoint)."""
    result = rewrite_source(before)
    assert result.status is Status.CHANGED, result.left
    assert SUBCLASS in result.code
    assert "BN008" in {site.rule for site in result.applied}
    assert_rewrite(before, result.code)
    return result


def test_seed_shape_is_seen_through_to_plain_keras_bn() -> None:
    result = assert_rewrite(SEED_LIKE, SEED_LIKE_AFTER)
    assert "BN008" not in {site.rule for site in result.applied}


def test_seed_question_programs_emit_no_fused_subclass() -> None:
    from tests.conftest import EXAMPLES

    for path in sorted((EXAMPLES / "seed_question").glob("*.py")):
        result = rewrite_source(path.read_text(encoding="utf-8"))
        assert SUBCLASS not in result.code, path.name


def test_shapes_bound_inline_and_by_name() -> None:
    inline = SEED_LIKE.replace(
        "inputs = [tf.keras.layers.Input(shape=shape) for shape in input_shapes]",
        "inputs = [tf.keras.layers.Input(shape=shape) for shape in [(3,)]]",
    )
    assert_rewrite(inline, SEED_LIKE_AFTER.replace("in input_shapes]", "in [(3,)]]"))
    tupled = SEED_LIKE.replace("input_shapes = [(3,)]", "input_shapes = ((3,),)")
    assert_rewrite(
        tupled, SEED_LIKE_AFTER.replace("input_shapes = [(3,)]", "input_shapes = ((3,),)")
    )


@pytest.mark.parametrize(
    ("reason", "old", "new"),
    [
        (
            "the loop makes the BN input 4-D on its second pass",
            '    out = tf.keras.layers.Activation("relu")(batch_normed)\n',
            "    out = tf.keras.layers.Reshape((2, 2, 1))(batch_normed)\n",
        ),
        (
            "a Lambda whose body changes the rank",
            "lambda x: tf.concat(x, axis=-1)",
            "lambda x: tf.expand_dims(tf.concat(x, axis=-1), 1)",
        ),
        (
            "a Lambda that is not a lambda expression",
            "tf.keras.layers.Lambda(lambda x: tf.concat(x, axis=-1))",
            "tf.keras.layers.Lambda(join)",
        ),
        (
            "an Activation applying an arbitrary callable",
            'tf.keras.layers.Activation("relu")',
            "tf.keras.layers.Activation(lambda t: tf.reshape(t, [-1, 2, 2, 1]))",
        ),
        (
            "a Dense whose activation is an arbitrary callable",
            "tf.keras.layers.Dense(units)",
            "tf.keras.layers.Dense(units, activation=tf.math.cumsum)",
        ),
        (
            "the shapes list is changed before the inputs are made",
            "input_shapes = [(3,)]\n",
            "input_shapes = [(3,)]\ninput_shapes.append((2, 2, 1))\n",
        ),
        (
            "a shape that is a list (it could change)",
            "input_shapes = [(3,)]\n",
            "input_shapes = [[3]]\n",
        ),
        (
            "the inputs list is changed before the Lambda",
            "out = tf.keras.layers.Lambda",
            "inputs[0] = tf.keras.layers.Input(shape=(2, 2, 1))\nout = tf.keras.layers.Lambda",
        ),
        (
            "`out` rebound in a block that is not followed",
            "data = np.ones((8, 3))\n",
            "data = np.ones((8, 3))\nif data.size:\n    out = tf.keras.layers.Reshape((2, 2, 1))(out)\n",
        ),
    ],
)
def test_rank_not_provable_keeps_the_subclass(reason: str, old: str, new: str) -> None:
    before = SEED_LIKE.replace(old, new)
    assert before != SEED_LIKE, reason
    if "join" in new:
        before = before.replace(
            "input_shapes =", "def join(x):\n    return x[0]\n\n\ninput_shapes ="
        )
    _keeps_subclass(before)


def test_loop_where_every_pass_keeps_the_rank_is_trusted_and_one_that_does_not_is_not() -> None:
    flattened = SEED_LIKE.replace(
        '    out = tf.keras.layers.Activation("relu")(batch_normed)\n',
        "    out = tf.layers.flatten(batch_normed)\n",
    )
    assert SUBCLASS not in rewrite_source(flattened).code
    _keeps_subclass(
        SEED_LIKE.replace(
            "out = tf.keras.layers.Lambda(lambda x: tf.concat(x, axis=-1))(inputs)",
            "out = tf.keras.layers.Lambda(lambda x: tf.concat(x, axis=-1))(inputs)\n"
            "out = tf.keras.layers.Reshape((1, 1, 3))(out)",
        )
    )


STRAIGHT = program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)")


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        (
            "an Activation applying an arbitrary callable",
            "hidden = tf.keras.layers.Activation(lambda t: tf.reshape(t, [-1, 2, 2, 1]))(hidden)",
        ),
        (
            "``hidden, scale = ...`` rebinds ``hidden`` to something unknown",
            "hidden, scale = tf.keras.layers.Reshape((2, 2, 1))(hidden), 1.0",
        ),
        (
            "an assignment expression rebinds ``hidden``",
            "scale = [(hidden := tf.keras.layers.Reshape((2, 2, 1))(hidden)), 1.0]",
        ),
    ],
)
def test_a_known_rank_is_forgotten_when_it_may_no_longer_hold(reason: str, line: str) -> None:
    """Straight-line code (no loop): the rank of ``hidden`` was known before this line."""
    bn_line = "batch_normed = tf.layers.batch_normalization(hidden, training=True)\n"
    assert bn_line in STRAIGHT
    assert SUBCLASS not in rewrite_source(STRAIGHT).code
    _keeps_subclass(STRAIGHT.replace(bn_line, f"{line}\n{bn_line}"))


def test_elementwise_lambda_and_arithmetic_keep_the_rank() -> None:
    before = SEED_LIKE.replace(
        "lambda x: tf.concat(x, axis=-1)", "lambda x: tf.nn.relu(tf.concat(x, axis=-1)) * 2.0 - 1"
    )
    after = SEED_LIKE_AFTER.replace(
        "lambda x: tf.concat(x, axis=-1)", "lambda x: tf.nn.relu(tf.concat(x, axis=-1)) * 2.0 - 1"
    )
    assert_rewrite(before, after)


BN_LINE = "batch_normed = tf.layers.batch_normalization(hidden, training=True)\n"


def test_nested_and_one_line_loops_are_followed() -> None:
    one_line = "for scale in [1.0]: hidden = tf.keras.layers.Dense(4)(hidden)\n"
    nested = (
        "for scale in [1.0]:\n"
        "    for again in [2.0]:\n"
        "        hidden = tf.keras.layers.Dropout(0.5)(hidden)\n"
    )
    for loop in (one_line, nested):
        result = rewrite_source(STRAIGHT.replace(BN_LINE, loop + BN_LINE))
        assert result.status is Status.CHANGED, result.left
        assert SUBCLASS not in result.code, loop
    reshaped = nested.replace(
        "        hidden = tf.keras.layers.Dropout(0.5)(hidden)\n",
        "        hidden = tf.keras.layers.Flatten()(hidden)\n"
        "        hidden = tf.keras.layers.Reshape((2, 2, 1))(hidden)\n",
    )
    _keeps_subclass(STRAIGHT.replace(BN_LINE, reshaped + BN_LINE))


def test_a_loop_variable_of_unknown_rank_makes_the_product_unknown() -> None:
    """``hidden * scale``: ``scale`` could be a tensor of higher rank (broadcasting)."""
    loop = "for scale in [1.0]: hidden = hidden * scale\n"
    _keeps_subclass(STRAIGHT.replace(BN_LINE, loop + BN_LINE))


def test_a_comprehension_target_is_not_the_module_name_it_shadows() -> None:
    """Inside the comprehension ``hidden`` is each 4-D tensor of ``cubes``, not the 2-D ``hidden``."""
    shadowed = (
        "cubes = [tf.keras.layers.Reshape((2, 2, 1))(hidden)]\n"
        "batch_normed = [tf.layers.batch_normalization(hidden, training=True) for hidden in cubes][0]\n"
    )
    _keeps_subclass(STRAIGHT.replace(BN_LINE, shadowed))


def test_a_builder_call_has_the_rank_its_return_statement_gives() -> None:
    """A GAN's discriminator is called on a placeholder and on the generator's output: both 2-D, so its
    BN is plain Keras BN."""
    result = rewrite_source(GAN)
    assert result.status is Status.CHANGED, result.left
    assert SUBCLASS not in result.code


@pytest.mark.parametrize(
    ("reason", "old", "new"),
    [
        (
            "a builder with another return",
            '        h = tf.layers.dense(z, 4, name="g_fc")\n',
            '        h = tf.layers.dense(z, 4, name="g_fc")\n        if h is None:\n            return z\n',
        ),
        (
            "a builder returning what rank inference cannot follow",
            '        return tf.layers.batch_normalization(h, training=is_training, name="g_bn")\n',
            '        h = tf.layers.batch_normalization(h, training=is_training, name="g_bn")\n'
            "        return tf.reshape(h, [-1, 4])\n",
        ),
    ],
)
def test_a_builder_result_of_unknown_rank_keeps_the_subclass(
    reason: str, old: str, new: str
) -> None:
    assert old in GAN, reason
    _keeps_subclass(GAN.replace(old, new))
