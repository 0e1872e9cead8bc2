"""Weight averages (issue #9 item 2): ``ema.apply(tf.trainable_variables())`` under the control dependencies
of the train op -> the emitted ``TF1ExponentialMovingAverage``, started before and applied after the train
step's update (golden ``examples/migrated/fixtures/weight_ema.py``, checked EQUIVALENT by
test_engine_golden.py). Every other shape is left at the line that breaks it, with the reason: nothing is
migrated whose averages would run in another order, over other variables, or be read elsewhere.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "weight_ema.py"
SOURCE = FIXTURE.read_text(encoding="utf-8")
MADE = "ema = tf.train.ExponentialMovingAverage(0.3, global_step)\n"
APPLIED = "with tf.control_dependencies([apply_op]):\n    train_op = ema.apply(tf.trainable_variables())\n"
MINIMIZE = "apply_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss, global_step=global_step)"


def _variant(*replacements: tuple[str, str]) -> str:
    source = SOURCE
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new, 1)
    return source


def _migrated(source: str) -> str:
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, [(s.rule, s.line, s.message) for s in result.left]
    ast.parse(result.code)
    again = rewrite_source(result.code)
    assert again.status is Status.UNCHANGED, "the migration is not idempotent"
    return result.code


def _left(source: str) -> list[tuple[str, int, str]]:
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED, result.code
    assert result.code == source
    return [(s.rule, s.line, s.message) for s in result.left]


def test_the_average_starts_before_and_applies_after_the_update() -> None:
    code = _migrated(SOURCE)
    assert "ema = TF1ExponentialMovingAverage(0.3, optimizer.iterations)\n" in code
    step = code[code.index("def train_step") :]
    start, update, apply = (
        step.index("ema.start(variables)"),
        step.index("optimizer.apply_gradients("),
        step.index("ema.apply(variables)"),
    )
    assert start < update < apply
    assert code.count("class TF1ExponentialMovingAverage(tf.Module):") == 1
    assert "ExponentialMovingAverage(0.3" not in code.replace("TF1ExponentialMovingAverage(0.3", "")


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        pytest.param(  # no num_updates: a constant decay
            [(MADE, "ema = tf.train.ExponentialMovingAverage(decay=0.3)\n")],
            "ema = TF1ExponentialMovingAverage(0.3)\n",
            id="decay-keyword-no-num-updates",
        ),
        pytest.param(  # the CIFAR-10 tutorial's module constant
            [
                ("np.random.seed(0)\n", "MOVING_AVERAGE_DECAY = 0.9999\nnp.random.seed(0)\n"),
                (
                    MADE,
                    "ema = tf.train.ExponentialMovingAverage(MOVING_AVERAGE_DECAY, global_step)\n",
                ),
            ],
            "ema = TF1ExponentialMovingAverage(MOVING_AVERAGE_DECAY, optimizer.iterations)\n",
            id="decay-module-constant",
        ),
    ],
)
def test_accepted_forms(replacements: list[tuple[str, str]], expected: str) -> None:
    assert expected in _migrated(_variant(*replacements))


SAVER = (
    ("import numpy as np\n", "import os\n\nimport numpy as np\n"),
    ("np.random.seed(0)\n", 'CKPT = "ckpt"\nnp.random.seed(0)\n'),
    (
        "with tf.Session() as sess:\n",
        "saver = tf.train.Saver(max_to_keep=2)\nwith tf.Session() as sess:\n",
    ),
    (
        '        print("step %d loss %.6f" % (step, loss_value))\n',
        '        print("step %d loss %.6f" % (step, loss_value))\n'
        '        saver.save(sess, os.path.join(CKPT, "model"), global_step=step)\n',
    ),
)


def test_a_saver_s_checkpoint_keeps_the_averages() -> None:
    # TF1's Saver() saved every global variable, the averages too: so does the migrated checkpoint
    code = _migrated(_variant(*SAVER))
    checkpoint = code[code.index("checkpoint = tf.train.Checkpoint(") :]
    assert "    ema=ema,\n" in checkpoint[: checkpoint.index(")")]


@pytest.mark.slow
def test_the_migrated_checkpoint_holds_every_average(tmp_path: Path) -> None:
    code = _migrated(_variant(*SAVER)).replace(
        'CKPT = "ckpt"', f"CKPT = {str(tmp_path / 'ckpt')!r}"
    )
    program = tmp_path / "train.py"
    program.write_text(code, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, str(program)], check=True, capture_output=True, env=env)
    # The checkpoint is read here (reading needs no TF1 semantics), not in one more TensorFlow process.
    import tensorflow as tf

    path = tf.train.latest_checkpoint(str(tmp_path / "ckpt"))
    listing = sorted(n for n, _ in tf.train.list_variables(path) if n.startswith("ema/averages/"))
    # dense1 kernel and bias, bn1 gamma and beta, logits kernel and bias
    assert len(listing) == 6, listing


def test_a_gradient_chain_train_op_gets_its_average() -> None:
    source = _variant(
        (
            "with tf.control_dependencies(update_ops):\n    " + MINIMIZE,
            "optimizer = tf.train.MomentumOptimizer(0.1, 0.9)\n"
            "with tf.control_dependencies(update_ops):\n"
            "    grads_and_vars = optimizer.compute_gradients(loss)\n"
            "apply_op = optimizer.apply_gradients(grads_and_vars, global_step=global_step)",
        )
    )
    code = _migrated(source)
    assert "ema = TF1ExponentialMovingAverage(0.3, optimizer.iterations)" in code
    assert "ema.apply(variables)" in code


@pytest.mark.parametrize(
    ("replacements", "rule", "line", "reason"),
    [
        pytest.param(  # TF1 runs the average and the update in no order: its reads race
            [
                (
                    APPLIED,
                    "ema_op = ema.apply(tf.trainable_variables())\ntrain_op = tf.group(apply_op, ema_op)\n",
                )
            ],
            "BN006",
            28,
            "race with the optimizer's update",
            id="grouped-not-ordered",
        ),
        pytest.param(  # an evaluation restoring the averages is not migrated
            [
                (
                    "    eval_loss = sess.run(",
                    "    restore = ema.variables_to_restore()\n    eval_loss = sess.run(",
                ),
            ],
            "BN006",
            38,
            "`ema` is read here",
            id="variables-to-restore",
        ),
        pytest.param(  # a run of the inner train op alone: a step without the average
            [
                (
                    "    eval_loss = sess.run(",
                    "    sess.run(apply_op, feed_dict=feed)\n    eval_loss = sess.run(",
                )
            ],
            "BN006",
            38,
            "a run of it alone would be a step without the average",
            id="inner-op-run-alone",
        ),
        pytest.param(  # the shadows' names change
            [(MADE, 'ema = tf.train.ExponentialMovingAverage(0.3, global_step, name="avg")\n')],
            "BN006",
            27,
            "`name=` names the averages",
            id="named",
        ),
        pytest.param(
            [(MADE, "ema = tf.train.ExponentialMovingAverage(0.3, tf.train.get_global_step())\n")],
            "BN006",
            27,
            "num_updates is not the train op's global step",
            id="num-updates-elsewhere",
        ),
        pytest.param(
            [(MADE, "ema = tf.train.ExponentialMovingAverage(tf.constant(0.3), global_step)\n")],
            "BN006",
            27,
            "decay is not a number",
            id="decay-a-tensor",
        ),
        pytest.param(  # the averaged variables are not the trained ones
            [
                (
                    "loss, global_step=global_step)",
                    "loss, global_step=global_step, var_list=tf.trainable_variables())",
                )
            ],
            "BN006",
            29,
            "beside a var_list train op",
            id="var-list",
        ),
    ],
)
def test_other_shapes_are_left_with_the_reason(
    replacements: list[tuple[str, str]], rule: str, line: int, reason: str
) -> None:
    left = _left(_variant(*replacements))
    assert any(r == rule and n == line and reason in message for r, n, message in left), left
    # the run of the averaged train op is still read as a train run: no misleading "never runs" reason
    assert not any("never runs a train op" in message for _, _, message in left), left


def test_an_average_of_other_variables_is_not_read_as_weight_averages() -> None:
    # averaging a list of its own (not tf.trainable_variables()) is not this shape: left, never migrated
    left = _left(_variant((APPLIED, APPLIED.replace("tf.trainable_variables()", "[apply_op]"))))
    assert left
