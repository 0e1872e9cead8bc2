"""``functools.partial`` of a layer function (the Géron book's ``my_batch_norm_layer =
partial(tf.layers.batch_normalization, training=training, momentum=batch_norm_momentum)``): its calls
are written out before the rules run (``planning.partials``) when they are exactly what TF1 ran; else
the file is left, the reason naming the partial (tests/rewrite/test_left_reasons.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_migration_checked_equivalent, left_reasons
from tests.rewrite.test_name_scopes import GERON

DIRECT = """\
    hidden1 = tf.layers.dense(X, n_hidden1, name="hidden1")
    bn1 = tf.nn.elu(tf.layers.batch_normalization(hidden1, training=training, momentum=batch_norm_momentum))
    hidden2 = tf.layers.dense(bn1, n_hidden2, name="hidden2")
    bn2 = tf.nn.elu(tf.layers.batch_normalization(hidden2, training=training, momentum=batch_norm_momentum))
    logits_before_bn = tf.layers.dense(bn2, n_outputs, name="outputs")
    logits = tf.layers.batch_normalization(logits_before_bn, training=training, momentum=batch_norm_momentum)
"""
THROUGH_PARTIAL = """\
    my_batch_norm_layer = partial(
            tf.layers.batch_normalization,
            training=training,
            momentum=batch_norm_momentum)
    hidden1 = tf.layers.dense(X, n_hidden1, name="hidden1")
    bn1 = tf.nn.elu(my_batch_norm_layer(hidden1))
    hidden2 = tf.layers.dense(bn1, n_hidden2, name="hidden2")
    bn2 = tf.nn.elu(my_batch_norm_layer(hidden2))
    logits_before_bn = tf.layers.dense(bn2, n_outputs, name="outputs")
    logits = my_batch_norm_layer(logits_before_bn)
"""
assert DIRECT in GERON and "from functools import partial" in GERON
BOOK = GERON.replace(DIRECT, THROUGH_PARTIAL)


def test_the_books_partial_migrates_as_the_direct_calls() -> None:
    expected = rewrite_source(GERON)
    result = rewrite_source(BOOK)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert result.code == expected.code
    assert "my_batch_norm_layer" not in result.code
    assert any(
        s.rule == "BN003"
        and "functools.partial `my_batch_norm_layer` written out" in s.message
        and s.line == BOOK.splitlines().index("    my_batch_norm_layer = partial(") + 1
        for s in result.applied
    ), result.applied
    ast.parse(result.code)
    assert rewrite_source(result.code).code == result.code


def test_a_keyword_given_at_the_call_replaces_the_bound_one() -> None:
    source = BOOK.replace(
        "logits = my_batch_norm_layer(logits_before_bn)",
        "logits = my_batch_norm_layer(logits_before_bn, momentum=0.5)",
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert result.code.count("BatchNormalization(momentum=batch_norm_momentum, epsilon=0.001)") == 2
    assert result.code.count("BatchNormalization(momentum=0.5, epsilon=0.001)") == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (  # the bound value is made anew at each call once written out
            ("momentum=batch_norm_momentum)", "momentum=float(batch_norm_momentum))"),
            "a bound value that is a call",
        ),
        (  # the name bound again after the partial: the calls would read the new value
            (
                "    logits_before_bn = tf.layers.dense(",
                "    training = False\n    logits_before_bn = tf.layers.dense(",
            ),
            "a bound name rebound",
        ),
        (
            (
                "    hidden1 = tf.layers.dense(",
                "    layer_functions = [my_batch_norm_layer]\n    hidden1 = tf.layers.dense(",
            ),
            "the partial passed as a value",
        ),
        (
            (
                "logits = my_batch_norm_layer(logits_before_bn)",
                "logits = my_batch_norm_layer(*[logits_before_bn])",
            ),
            "a call unpacking its arguments",
        ),
    ],
)
def test_partials_not_written_out_leave_the_file(change: tuple[str, str], why: str) -> None:
    assert change[0] in BOOK, why
    source = BOOK.replace(*change)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source, why
    assert any("given to functools.partial" in m for _, _, m in left_reasons(result)), left_reasons(
        result
    )


def test_the_books_initializer_bound_in_the_graph_is_left_with_its_reason() -> None:
    """The book's ``my_dense_layer = partial(tf.layers.dense, kernel_initializer=he_init)`` is written
    out; ``he_init`` is made in the graph, so the layers reading it cannot be created once (BN003)."""
    source = BOOK.replace(
        "    my_batch_norm_layer = partial(",
        "    he_init = tf.variance_scaling_initializer()\n"
        "    my_dense_layer = partial(tf.layers.dense, kernel_initializer=he_init)\n"
        "    my_batch_norm_layer = partial(",
    ).replace(
        'tf.layers.dense(X, n_hidden1, name="hidden1")',
        'my_dense_layer(X, n_hidden1, name="hidden1")',
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(
        r == "BN003" and "read `he_init`, which exists only while the graph is built" in m
        for r, _, m in left_reasons(result)
    ), left_reasons(result)


@pytest.mark.slow
def test_the_books_partial_is_checked_equivalent(tmp_path: Path) -> None:
    assert_migration_checked_equivalent(tmp_path, BOOK, "geron_partial")
