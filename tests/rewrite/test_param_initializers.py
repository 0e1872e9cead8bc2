"""contrib/slim ``batch_norm(param_initializers={...})``: each entry becomes the Keras keyword that takes
the same initializer (``api.CONTRIB_PARAM_INITIALIZERS``), whether the dict is written at the call, in an
``arg_scope`` or in ``normalizer_params``; anything the codemod cannot read as such a dict is left with
its reason."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import (
    assert_migration_checked_equivalent,
    assert_planted_mistake_caught,
    assert_rewrite,
    left_reasons,
)

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

PLAIN = RewriteOptions(plain_keras_bn=True)

PROGRAM = """\
import numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim

x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
{graph}
loss = tf.reduce_mean(tf.square(h))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train_op, {{x: np.ones((4, 3), np.float32), is_training: True}})
"""

MIGRATED = """\
import numpy as np
import tensorflow as tf

{layers}


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
{graph}
    loss = tf.reduce_mean(tf.square(h))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
{variables}
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


train_step(x=np.ones((4, 3), np.float32), is_training=True)
"""


ONE_LAYER = (
    "    variables = [v for layer in (batch_normalization,) for v in layer.trainable_variables]"
)


def test_the_table_names_the_four_variables_tf_slim_reads() -> None:
    spec = api.BATCH_NORM[api.CONTRIB_BATCH_NORM]
    assert spec.spread == {"param_initializers": api.CONTRIB_PARAM_INITIALIZERS}
    assert set(api.CONTRIB_PARAM_INITIALIZERS) == {
        "beta",
        "gamma",
        "moving_mean",
        "moving_variance",
    }
    assert "param_initializers" not in spec.unsupported


def _assert_one_layer(graph: str, constructor: str) -> None:
    """``graph`` (one contrib batch norm on ``x``, bound to ``h``) migrates to the layer ``constructor``."""
    after = MIGRATED.format(
        layers=f"batch_normalization = tf.keras.layers.BatchNormalization({constructor})",
        graph="    h = batch_normalization(x, training=is_training)",
        variables=ONE_LAYER,
    )
    assert_rewrite(PROGRAM.format(graph=graph), after, options=PLAIN)


def test_entries_at_the_call_become_keras_initializer_keywords() -> None:
    _assert_one_layer(
        "h = slim.batch_norm(x, scale=True, is_training=is_training,\n"
        '                    param_initializers={"gamma": tf.constant_initializer(0.5),\n'
        '                                        "moving_variance": tf.ones_initializer()})',
        "scale=True, gamma_initializer=tf.keras.initializers.Constant(value=0.5), "
        "moving_variance_initializer=tf.keras.initializers.Ones(), momentum=0.999, epsilon=0.001, "
        "center=True",
    )


def test_entries_from_an_arg_scope_reach_the_layer() -> None:
    _assert_one_layer(
        "with slim.arg_scope([slim.batch_norm], is_training=is_training,\n"
        '                    param_initializers={"beta": tf.constant_initializer(0.1)}):\n'
        "    h = slim.batch_norm(x)",
        "beta_initializer=tf.keras.initializers.Constant(value=0.1), momentum=0.999, "
        "epsilon=0.001, center=True, scale=False",
    )


def test_entries_in_normalizer_params_reach_the_normalizer() -> None:
    before = PROGRAM.format(
        graph="with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,\n"
        "                    normalizer_params={'is_training': is_training,\n"
        "                                       'param_initializers': {'moving_mean': "
        "tf.constant_initializer(0.25)}}):\n"
        "    h = slim.fully_connected(x, 2, activation_fn=None)"
    )
    after = MIGRATED.format(
        layers="fully_connected = tf.keras.layers.Dense(2, use_bias=False)\n"
        "fully_connected_bn = tf.keras.layers.BatchNormalization("
        "moving_mean_initializer=tf.keras.initializers.Constant(value=0.25), momentum=0.999, "
        'epsilon=0.001, center=True, scale=False, name="fully_connected_bn")',
        graph="    h = fully_connected_bn(fully_connected(x), training=is_training)",
        variables="    variables = [\n"
        "        v for layer in (fully_connected, fully_connected_bn) for v in layer.trainable_variables\n"
        "    ]",
    )
    assert_rewrite(before, after, options=PLAIN)


@pytest.mark.parametrize(
    "graph",
    [
        'bn_init = {"gamma": tf.constant_initializer(0.5)}\n'
        "h = slim.batch_norm(x, scale=True, is_training=is_training, param_initializers=bn_init)",
        'bn_init = {"gamma": tf.constant_initializer(0.5)}\n'
        "with slim.arg_scope([slim.batch_norm], is_training=is_training, param_initializers=bn_init):\n"
        "    h = slim.batch_norm(x, scale=True)",
    ],
)
def test_a_dict_held_in_a_name_is_read_as_its_literal_and_its_line_goes(graph: str) -> None:
    """A name bound once to a dict literal and read only as ``param_initializers=`` (as
    ``normalizer_params`` are read, ``analysis.held_dicts``); BN002 removes the line."""
    _assert_one_layer(
        graph,
        "scale=True, gamma_initializer=tf.keras.initializers.Constant(value=0.5), momentum=0.999, "
        "epsilon=0.001, center=True",
    )


def test_a_dict_held_in_a_builder_goes_with_it() -> None:
    before = PROGRAM.format(
        graph="def net(x, is_training):\n"
        '    init = {"moving_variance": tf.ones_initializer()}\n'
        '    return slim.batch_norm(x, is_training=is_training, param_initializers=init, scope="bn")\n'
        "h = net(x, is_training)"
    )
    result = rewrite_source(before, options=PLAIN)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "init =" not in result.code
    assert (
        "bn = tf.keras.layers.BatchNormalization(moving_variance_initializer="
        "tf.keras.initializers.Ones(), momentum=0.999, epsilon=0.001, center=True, scale=False, "
        'name="bn")' in result.code
    )


def test_none_and_an_empty_dict_give_the_defaults() -> None:
    for value in ("None", "{}"):
        _assert_one_layer(
            f"h = slim.batch_norm(x, is_training=is_training, param_initializers={value})",
            "momentum=0.999, epsilon=0.001, center=True, scale=False",
        )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("dict(gamma=tf.ones_initializer())", "only a dict literal with string keys"),
        ("{**inits}", "only a dict literal with string keys"),
        ("inits", "`inits` is also used otherwise than as param_initializers="),
        (
            '{"gama": tf.ones_initializer()}',
            "names 'gama', which TF1 never read (it reads 'beta', 'gamma', 'moving_mean', "
            "'moving_variance'): a slip a human must look at",
        ),
    ],
)
def test_what_is_not_a_dict_of_the_four_keys_is_left(value: str, reason: str) -> None:
    before = PROGRAM.format(
        graph='inits = {"gamma": tf.ones_initializer()}\n'
        'inits["beta"] = tf.zeros_initializer()\n'
        f"h = slim.batch_norm(x, is_training=is_training, param_initializers={value})"
    )
    result = assert_rewrite(before, None, left=[("BN002", 9)], options=PLAIN)
    assert reason in result.left[0].message


SEEDED = PROGRAM.format(
    graph="h = slim.fully_connected(x, 4, activation_fn=None)\n"
    "h = slim.batch_norm(h, decay=0.9, scale=True, is_training=is_training,\n"
    '                    param_initializers={"beta": tf.constant_initializer(0.1),\n'
    '                                        "gamma": tf.constant_initializer(0.5),\n'
    '                                        "moving_mean": tf.constant_initializer(0.3),\n'
    '                                        "moving_variance": tf.constant_initializer(2.0)})'
).replace("np.ones((4, 3), np.float32)", "np.arange(12, dtype=np.float32).reshape(4, 3)")


@pytest.mark.slow
@pytest.mark.parametrize("held", [False, True])
def test_the_migration_is_checked_equivalent(
    tmp_path: Path, old_cache: OldRunCache, held: bool
) -> None:
    source = SEEDED
    if held:  # the same dict bound to a name first
        start = source.index("{", source.index("param_initializers="))
        end = source.index("})", start) + 1
        source = (
            source[: source.index("h = slim.batch_norm")]
            + f"bn_init = {source[start:end]}\n"
            + source[source.index("h = slim.batch_norm") : start]
            + "bn_init"
            + source[end:]
        )
        assert "param_initializers=bn_init)" in source
    assert_migration_checked_equivalent(tmp_path, source, old_cache=old_cache)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("moving_variance_initializer=tf.keras.initializers.Constant(value=2.0), ", ""),
        ("Constant(value=0.3)", "Constant(value=0.0)"),
        ("gamma_initializer=tf.keras.initializers.Constant(value=0.5), ", ""),
    ],
)  # fmt: skip
def test_a_dropped_or_wrong_initializer_is_caught(
    tmp_path: Path, old_cache: OldRunCache, old: str, new: str
) -> None:
    assert_planted_mistake_caught(tmp_path, SEEDED, old, new, old_cache=old_cache)
