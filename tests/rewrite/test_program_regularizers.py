"""A program's TF1 weight regularizers (``weights_regularizer=slim.l2_regularizer(scale)``, directly or from
an arg_scope): TF1 put their losses in ``REGULARIZATION_LOSSES``, which changes training only where the
program reads that collection. A program that never does migrates them as Keras regularizers (``L2(0.5 *
scale)``) with a warning: their Keras losses are as unused as TF1's were. A program that reads them is left,
the reason naming the read."""

from __future__ import annotations

import pytest

from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.test_slim_scopes import program

PLAIN = RewriteOptions(plain_keras_bn=True)
DIRECT = '    return slim.fully_connected(inputs, 4, weights_regularizer=slim.l2_regularizer(0.1), scope="a")'
SCOPED = (
    "    with slim.arg_scope([slim.fully_connected], weights_regularizer=slim.l2_regularizer(0.1)):\n"
    '        return slim.fully_connected(inputs, 4, scope="a")'
)
LOSS = "loss = tf.reduce_mean(tf.square(h))"


@pytest.mark.parametrize("body", [DIRECT, SCOPED])
def test_a_regularizer_the_program_never_reads_migrates_with_a_warning(body: str) -> None:
    result = rewrite_source(program(body), options=PLAIN)
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1)" in result.code
    assert "l2_regularizer" not in result.code
    assert any("the program never trained on" in w.message for w in result.warnings)
    again = rewrite_source(result.code, options=PLAIN)
    assert again.code == result.code


def test_tf_slims_own_regularizers_module_is_read_as_l2_regularizer() -> None:
    """tf-slim's nets write ``from tf_slim.layers import regularizers``; ``regularizers.l2_regularizer``
    is the same function."""
    source = program(DIRECT.replace("slim.l2_regularizer", "regularizers.l2_regularizer")).replace(
        "import tensorflow.contrib.slim as slim\n",
        "import tensorflow.contrib.slim as slim\nfrom tensorflow.contrib.layers.python.layers import "
        "regularizers\n",
    )
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.CHANGED, result.left
    assert "kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1)" in result.code


@pytest.mark.parametrize(
    "reader",
    [
        "tf.losses.get_regularization_loss()",
        "tf.add_n(tf.losses.get_regularization_losses())",
        "tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))",
        "tf.add_n(tf.get_collection('regularization_losses'))",
        "tf.add_n(tf.get_collection(KEY))",  # a key that is not a literal: may be that one
        "tf.losses.get_total_loss()",
    ],
)
@pytest.mark.parametrize("body", [DIRECT, SCOPED])
def test_a_regularizer_whose_losses_the_program_reads_is_left(reader: str, body: str) -> None:
    source = program(body).replace(LOSS, f"KEY = 'regularization_losses'\n{LOSS} + {reader}")
    result = rewrite_source(source, options=PLAIN)
    assert result.status is Status.SKIPPED and result.code == source
    if body is SCOPED:
        assert any(
            site.rule == "BN003" and "the program reads the regularization losses" in site.message
            for site in result.left
        ), result.left


def test_other_collections_are_not_read_as_regularization_losses() -> None:
    source = program(DIRECT).replace(
        LOSS, f"{LOSS}\nprint(len(tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)))"
    )
    result = rewrite_source(source, options=PLAIN)
    assert not any("regularization losses" in site.message for site in result.left), result.left
