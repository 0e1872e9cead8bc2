"""Runs that move hand-written batch-norm statistics without an optimizer, or outside the train step.

The StackOverflow 33950177 recipe (tf.nn.moments + ExponentialMovingAverage applied in tf.cond's true
branch) moves its statistics in every run that reaches it in training mode, an evaluation's too: a
forward-only program (no optimizer) is migrated when such runs are its statistics runs
(tests/fixtures/handwritten/moments_forward_stats_tf1.py, golden checked EQUIVALENT by
test_engine_golden.py), and no such run is ever dropped as "computing it changes nothing". Its answer
feeds an input placeholder without a shape through ``tf.nn.conv2d``, whose output is 4-D all the same.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import EXAMPLES, REPO

HANDWRITTEN = REPO / "tests" / "fixtures" / "handwritten"
FORWARD = HANDWRITTEN / "moments_forward_stats_tf1.py"
TRAINING = HANDWRITTEN / "moments_ema_cond_tf1.py"
EVAL = "    eval_loss = sess.run(loss, feed_dict={x: x_data, y: y_data, phase_train: False})\n"


def _rank(source: str, name: str) -> int | None:
    """The rank inferred for the value of the module-level ``name = ...``."""
    module = cst.parse_module(source)
    program = Program.read(module, AliasTable.build(module))
    for statement in module.body:
        line = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if isinstance(line, cst.Assign) and m.matches(line.targets[0].target, m.Name(name)):
            return program.rank_of(line.value)
    raise AssertionError(f"no `{name} = ...` in the source")


@pytest.mark.parametrize(
    ("placeholder", "rank", "pooled"),
    [
        # unknown rank: the Conv2D op's output is 4-D; only conv2d is known to make it so
        ("tf.placeholder(tf.float32)", 4, None),
        ("tf.placeholder(tf.float32, [None, 8, 8, 3])", 4, 4),
        ("tf.placeholder(tf.float32, [2, None, 8, 8, 3])", 5, 5),  # a known rank is kept (TF 2.21)
    ],
)
def test_conv2d_output_is_4d_when_its_input_rank_is_unknown(
    placeholder: str, rank: int, pooled: int | None
) -> None:
    source = (
        "import tensorflow as tf\n"
        f"x = {placeholder}\n"
        "k = tf.Variable(tf.zeros([3, 3, 3, 4]))\n"
        "conv = tf.nn.conv2d(x, k, [1, 1, 1, 1], padding='SAME')\n"
        "pooled = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], 'SAME')\n"
    )
    assert _rank(source, "conv") == rank
    assert _rank(source, "pooled") == pooled


def test_a_forward_only_statistics_program_is_migrated() -> None:
    result = rewrite_source(FORWARD.read_text())
    assert result.status is Status.CHANGED, result.left
    code = result.code
    body = code[code.index("import math") :]  # after the docstring
    assert "tf.train.ExponentialMovingAverage" not in body and "tf.Session" not in body
    # the training-mode runs: one traced call each, the statistics moving in it as in TF1's run
    assert "@tf.function\ndef graph_relu(phase_train, input_image):" in code
    assert "sess_outputs = [graph_relu(input_image=test_image, phase_train=True).numpy()]" in code
    # the inference-mode run calls the same traced function (no copy of it, no whole-graph `graph`)
    assert (
        "inference = graph_relu(input_image=np.random.rand(2, 8, 8, 3), phase_train=False)" in code
    )
    assert "def graph(" not in code and code.count("def graph_relu(") == 1
    [moving] = [
        s for s in result.applied if "hand-written batch norm in training mode" in s.message
    ]
    assert moving.rule == "BN007"
    assert rewrite_source(code).status is Status.UNCHANGED
    golden = EXAMPLES / "migrated" / "handwritten" / "moments_forward_stats_tf1.py"
    assert code == golden.read_text()


def test_a_discarded_training_mode_run_is_kept() -> None:
    """TF1's ``sess.run(loss, {..., phase_train: True})`` moved the statistics although its value was
    thrown away: it becomes a traced call, never a removed line (it once was, and `check` then found
    one step fewer in the migration)."""
    source = TRAINING.read_text().replace(
        EVAL,
        "    sess.run(loss, feed_dict={x: x_data, y: y_data, phase_train: True})\n" + EVAL,
    )
    assert source != TRAINING.read_text()
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left
    assert "\ngraph_loss(x=x_data, y=y_data, phase_train=True).numpy()\n" in result.code
    assert "@tf.function\ndef graph_loss(x, y, phase_train):" in result.code
    # an inference-mode run whose value is thrown away changes nothing, as before
    idle = TRAINING.read_text().replace(
        EVAL,
        "    sess.run(loss, feed_dict={x: x_data, y: y_data, phase_train: False})\n" + EVAL,
    )
    dropped = rewrite_source(idle)
    assert dropped.status is Status.CHANGED, dropped.left
    assert any("computing it changes nothing" in s.message for s in dropped.applied)


def test_a_forward_only_program_that_never_moves_the_statistics_is_left() -> None:
    never = FORWARD.read_text().replace("phase_train.name: True})", "phase_train.name: False})")
    assert never != FORWARD.read_text()
    result = rewrite_source(never)
    assert result.status is Status.SKIPPED
    assert any(s.rule == "BN007" and "neither trains" in s.message for s in result.left), (
        result.left
    )


@pytest.mark.slow
def test_a_planted_momentum_in_the_forward_only_migration_is_caught() -> None:
    from bn_migrate.check import Cause, CheckOptions, check_programs

    planted = HANDWRITTEN / "moments_forward_stats_planted.py"
    assert planted.read_text().count("# PLANTED:") == 1
    result = check_programs(FORWARD, planted, CheckOptions(timeout=240, old_repeats=1))
    assert result.verdict == "different", result.render_text()
    assert Cause.MOMENTUM_CHANGED in result.causes


def test_a_statistics_program_without_a_whole_graph_evaluation_has_no_graph_function() -> None:
    """With no train step, nothing calls ``graph``: not emitted."""
    inference = (
        "    inference = session.run(relu, {input_image.name: np.random.rand(2, 8, 8, 3), "
        "phase_train.name: False})\n"
        '    print("inference mean %.6f" % inference.mean())\n'
    )
    source = FORWARD.read_text()
    assert inference in source
    result = rewrite_source(source.replace(inference, ""))
    assert result.status is Status.CHANGED, result.left
    assert "def graph(" not in result.code and "def graph_relu(" in result.code
    compile(result.code, "migrated.py", "exec")


def test_a_flag_fed_by_an_expression_and_a_tf_layers_bn_beside_it() -> None:
    """A training flag fed by an expression is passed as fed; a ``tf.layers`` batch norm in the same
    forward pass, whose update ops the program never runs, keeps statistics that never move
    (``momentum=1.0``): TF1 moved only the hand-written one (both checked EQUIVALENT by hand,
    2026-12-04)."""
    alternating = FORWARD.read_text().replace(
        "phase_train.name: True}", "phase_train.name: i % 2 == 0}"
    )
    result = rewrite_source(alternating)
    assert result.status is Status.CHANGED, result.left
    assert "[graph_relu(input_image=test_image, phase_train=i % 2 == 0).numpy()]" in result.code
    mixed = FORWARD.read_text().replace(
        "relu = tf.nn.relu(conv_bn)",
        'relu = tf.layers.batch_normalization(tf.nn.relu(conv_bn), training=phase_train, name="bn2")',
    )
    result = rewrite_source(mixed)
    assert result.status is Status.CHANGED, result.left
    assert 'bn2 = BatchNormalization(momentum=1.0, epsilon=0.001, name="bn2")' in result.code
    assert (
        'momentum=0.5, epsilon=1e-3, moving_variance_initializer="zeros", name="bn")' in result.code
    )
