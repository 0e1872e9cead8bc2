"""BN020: the hand-written batch norm recipe (moments + ExponentialMovingAverage in tf.cond) -> Keras BN.

The rule's own examples (docs/rules.md) are run by test_rules_examples.py; the committed migration of
tests/fixtures/handwritten/moments_ema_cond_tf1.py by test_engine_golden.py (and checked EQUIVALENT by its
slow test). Here: the facts read, each call its own layer, what is left and why, and a planted mistake.
"""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.handwritten import read_handwritten
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rules.bn020_handwritten_batch_norm import _RECIPE
from tests.conftest import EXAMPLES, REPO

HANDWRITTEN = REPO / "tests" / "fixtures" / "handwritten"


def _recipe_fact(source: str):  # type: ignore[no-untyped-def]
    module = cst.parse_module(source)
    definition = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    return read_handwritten(AliasTable.build(module), definition)


def test_the_recipe_is_read_with_its_decay_epsilon_axes_and_flag() -> None:
    fact = _recipe_fact(_RECIPE)
    assert fact is not None
    assert (fact.inputs, fact.flag, fact.axes) == ("x", "phase_train", (0,))
    assert (
        cst.Module([]).code_for_node(fact.decay),
        cst.Module([]).code_for_node(fact.epsilon),
    ) == (
        "0.9",
        "1e-3",
    )


@pytest.mark.parametrize(
    "change",
    [
        ("decay=0.9)", "decay=0.9, zero_debias=True)"),  # a debiased average: not Keras BN
        ("decay=0.9)", "decay=0.9, num_updates=step)"),  # a decay that grows: not Keras BN
        ("tf.constant(1.0,", "tf.constant(0.5,"),  # gamma starting elsewhere
        (
            "lambda: (ema.average(batch_mean), ema.average(batch_var))",
            "lambda: (batch_mean, batch_var)",
        ),
        ("return tf.identity(batch_mean), tf.identity(batch_var)", "return batch_mean, batch_var"),
        ("ema.apply([batch_mean, batch_var])", "ema.apply([batch_mean])"),
        ("gamma, 1e-3)", "gamma, epsilon)"),  # an epsilon that is not a literal
    ],
)
def test_anything_but_the_exact_recipe_is_not_this_fact(change: tuple[str, str]) -> None:
    changed = _RECIPE.replace(*change)
    assert changed != _RECIPE
    assert _recipe_fact(changed) is None
    result = rewrite_source(changed)
    assert result.status is Status.SKIPPED  # left, as before this rule


def test_each_call_in_its_own_scope_is_its_own_layer_named_after_it() -> None:
    per_call = _RECIPE.replace(
        "def bn(x, n_out, phase_train):", "def bn(x, n_out, phase_train, scope):"
    )
    per_call = per_call.replace('tf.variable_scope("bn")', "tf.variable_scope(scope)").replace(
        "tf.square(bn(h, 4, phase_train))",
        'tf.square(bn(bn(h, 4, phase_train, "bn1"), 4, phase_train, "bn2"))',
    )
    result = rewrite_source(per_call)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    layer = (
        "tf.keras.layers.BatchNormalization("
        'momentum=0.9, epsilon=1e-3, moving_variance_initializer="zeros", '
    )
    assert f'bn_1 = {layer}name="bn2")' in code  # the outer call comes first in the source
    assert f'bn_2 = {layer}name="bn1")' in code
    assert "bn_1(bn_2(h, training=phase_train), training=phase_train)" in code
    assert rewrite_source(code).status is Status.UNCHANGED


def test_what_cannot_be_proven_is_left_with_the_reason() -> None:
    unknown = _RECIPE.replace(
        'h = tf.layers.dense(x, 4, name="hidden")', "h = tf.reshape(x, [-1, 3])"
    )
    result = rewrite_source(unknown)
    assert result.status is Status.SKIPPED
    [site] = [s for s in result.left if s.rule == "BN020"]
    assert "of an input of rank unknown" in site.message
    same = _RECIPE.replace(
        "def bn(x, n_out, phase_train):", "def bn(x, n_out, phase_train, scope):"
    )
    same = same.replace('tf.variable_scope("bn")', "tf.variable_scope(scope)").replace(
        "tf.square(bn(h, 4, phase_train))",
        'tf.square(bn(bn(h, 4, phase_train, "bn"), 4, phase_train, "bn"))',
    )
    result = rewrite_source(same)
    assert result.status is Status.SKIPPED
    assert any("called twice in one variable scope" in s.message for s in result.left)
    assert all(s.rule == "BN020" for s in result.left)  # one owner of the function's reasons


@pytest.mark.slow
def test_a_planted_momentum_in_the_migration_is_caught() -> None:
    from bn_migrate.check import Cause, CheckOptions, check_programs

    original = HANDWRITTEN / "moments_ema_cond_tf1.py"
    planted = HANDWRITTEN / "moments_ema_cond_planted.py"
    golden = (EXAMPLES / "migrated" / "handwritten" / "moments_ema_cond_tf1.py").read_text()
    assert planted.read_text().count("# PLANTED:") == 1
    assert "momentum=0.5" in golden
    result = check_programs(original, planted, CheckOptions(timeout=240, old_repeats=1))
    assert result.verdict == "different", result.render_text()
    assert Cause.MOMENTUM_CHANGED in result.causes


def test_the_normalized_output_may_be_returned_after_the_scope_block() -> None:
    """``normed = tf.nn.batch_normalization(...)`` in the scope block, ``return normed`` after it (as
    brando90/tensor_flow_experiments writes it)."""
    after_block = _RECIPE.replace(
        "        return tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)\n",
        "        normed = tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)\n    return normed\n",
    )
    assert after_block != _RECIPE
    fact = _recipe_fact(after_block)
    assert fact is not None and fact.scope is not None
    result = rewrite_source(after_block)
    assert result.status is Status.CHANGED, result.left
    assert 'moving_variance_initializer="zeros", name="bn")' in result.code


NESTED = (
    _RECIPE.replace("def bn(x, n_out, phase_train):", "def bn(x, n_out, phase_train, scope):")
    .replace('tf.variable_scope("bn")', "tf.variable_scope(scope)")
    .replace(
        "data = np.ones",
        "def net(x, phase_train):\n"
        '    h = tf.layers.dense(x, 4, name="hidden")\n'
        '    return bn(h, 4, phase_train, "bn1")\n\n\n'
        "data = np.ones",
    )
    .replace(
        'h = tf.layers.dense(x, 4, name="hidden")\nloss = tf.reduce_mean(tf.square(bn(h, 4, phase_train)))',
        "loss = tf.reduce_mean(tf.square(net(x, phase_train)))",
    )
)


def test_a_call_in_a_builder_is_a_layer_of_the_class_it_becomes() -> None:
    assert "net(x, phase_train)))" in NESTED
    result = rewrite_source(NESTED)
    assert result.status is Status.CHANGED, result.left
    assert (
        "        self.bn_1 = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, "
        'moving_variance_initializer="zeros", name="bn1")\n'
    ) in result.code
    assert "        return self.bn_1(h, training=training)\n" in result.code
    assert rewrite_source(result.code).status is Status.UNCHANGED


def test_a_call_in_a_builder_shared_by_two_calls_is_left() -> None:
    """tf.Variable ignores reuse: each tower made its own hand-written statistics."""
    shared = (
        NESTED.replace(
            "def net(x, phase_train):\n",
            'def net(x, phase_train, reuse=False):\n    with tf.variable_scope("net", reuse=reuse):\n',
        )
        .replace(
            '    h = tf.layers.dense(x, 4, name="hidden")\n    return bn(h, 4, phase_train, "bn1")\n',
            '        h = tf.layers.dense(x, 4, name="hidden")\n        return bn(h, 4, phase_train, "bn1")\n',
        )
        .replace(
            "loss = tf.reduce_mean(tf.square(net(x, phase_train)))",
            "loss = tf.reduce_mean(tf.square(net(x, phase_train)))\n"
            "score = tf.reduce_mean(net(x, False, reuse=True))",
        )
    )
    result = rewrite_source(shared)
    assert result.status is Status.SKIPPED
    assert any(s.rule == "BN020" and "ignore reuse" in s.message for s in result.left), result.left
