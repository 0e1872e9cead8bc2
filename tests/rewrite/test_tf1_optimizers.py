"""TF1 optimizers whose Keras 3 counterpart needs care (BN006, ``api_tables.OPTIMIZERS``).

``tf.train.MomentumOptimizer`` under a decaying learning rate -> the emitted ``TF1Momentum``: TF1 keeps
the accumulator in gradient units and multiplies it by the current rate; Keras SGD bakes each step's
rate into its buffer, so the two part from the first change of rate. ``TF1Momentum`` runs TF1's own
kernel; at a constant rate the migration stays Keras SGD. ``AdadeltaOptimizer`` -> Keras Adadelta with
TF1's epsilon 1e-8; ``FtrlOptimizer`` -> Keras Ftrl (same defaults and update)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rule_examples import (
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from bn_migrate.rewrite.rules.bn006_optimizer import _TF1_MOMENTUM
from tests.rewrite.helpers import assert_rewrite
from tests.rewrite.test_engine import GLOBAL_STEP, _migrated, _training

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

RATE_HALVED_EACH_STEP = "lr = tf.train.exponential_decay(0.1, global_step, 1, 0.5)\n"
SCHEDULE = (
    "lr = tf.keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.1, "
    "decay_steps=1, decay_rate=0.5)"
)


def _with_class(after: str) -> str:
    """``after`` with the emitted class where the rule puts it: after the imports."""
    head = "import numpy as np\nimport tensorflow as tf\n"
    assert after.startswith(head)
    return f"{head}\n\n{_TF1_MOMENTUM.strip()}\n\n{after[len(head) :]}"


def _momentum_program(optimizer: str) -> str:
    return _training(
        GLOBAL_STEP + RATE_HALVED_EACH_STEP, "global_step=global_step", optimizer=optimizer
    )


@pytest.mark.parametrize(
    ("tf1", "keras"),
    [
        ("tf.train.MomentumOptimizer(lr, 0.9)", "TF1Momentum(learning_rate=lr, momentum=0.9)"),
        (
            "tf.train.MomentumOptimizer(lr, momentum=0.5, use_nesterov=True)",
            "TF1Momentum(learning_rate=lr, momentum=0.5, nesterov=True)",
        ),
    ],
)
def test_decaying_momentum_becomes_tf1_momentum(tf1: str, keras: str) -> None:
    before = _momentum_program(tf1)
    result = assert_rewrite(before, _with_class(_migrated(keras, schedule=SCHEDULE)))
    ast.parse(result.code)
    assert result.helpers == ("TF1Momentum",)
    messages = [site.message for site in result.applied if site.rule == "BN006"]
    assert any(m.startswith("TF1Momentum: tf.train.MomentumOptimizer's update") for m in messages)
    again = rewrite_source(result.code)
    assert again.status is Status.UNCHANGED and again.code == result.code


def test_constant_rate_momentum_stays_keras_sgd() -> None:
    before = _training(
        GLOBAL_STEP, "global_step=global_step", optimizer="tf.train.MomentumOptimizer(0.1, 0.9)"
    )
    result = rewrite_source(before)
    assert result.status is Status.CHANGED
    assert "tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)" in result.code
    assert "TF1Momentum" not in result.code


@pytest.mark.parametrize(
    ("tf1", "keras"),
    [
        ("tf.train.AdadeltaOptimizer()", "tf.keras.optimizers.Adadelta(epsilon=1e-08)"),
        (
            "tf.train.AdadeltaOptimizer(1.0, 0.9)",
            "tf.keras.optimizers.Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-08)",
        ),
        (
            "tf.train.AdadeltaOptimizer(epsilon=1e-6)",
            "tf.keras.optimizers.Adadelta(epsilon=1e-6)",
        ),
        ("tf.train.FtrlOptimizer(0.1)", "tf.keras.optimizers.Ftrl(learning_rate=0.1)"),
        (
            "tf.train.FtrlOptimizer(0.1, -0.5, 0.2, l2_shrinkage_regularization_strength=0.03, beta=0.5)",
            "tf.keras.optimizers.Ftrl(learning_rate=0.1, learning_rate_power=-0.5, "
            "initial_accumulator_value=0.2, l2_shrinkage_regularization_strength=0.03, beta=0.5)",
        ),
    ],
)
def test_adadelta_and_ftrl_become_their_keras_optimizers(tf1: str, keras: str) -> None:
    before = placeholder_program(PLACEHOLDER_BEFORE, optimizer=tf1)
    result = assert_rewrite(before, placeholder_program(PLACEHOLDER_AFTER, optimizer=keras))
    ast.parse(result.code)
    assert rewrite_source(result.code).status is Status.UNCHANGED


def test_ftrl_slot_names_are_left() -> None:
    before = placeholder_program(
        PLACEHOLDER_BEFORE, optimizer='tf.train.FtrlOptimizer(0.1, accum_name="acc")'
    )
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED and result.code == before
    assert any("`accum_name=` is not migrated" in site.message for site in result.left), result.left


def test_a_module_binding_the_name_is_left() -> None:
    before = _momentum_program("tf.train.MomentumOptimizer(lr, 0.9)").replace(
        "data = ", "TF1Momentum = None\ndata = ", 1
    )
    result = rewrite_source(before)
    assert result.status is Status.SKIPPED and result.code == before
    assert any(
        site.rule == "BN006" and "already binds `TF1Momentum`" in site.message
        for site in result.left
    ), result.left


@pytest.mark.slow
def test_tf1_momentum_is_equivalent_and_keras_sgd_is_caught(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3: the migration with ``TF1Momentum`` is EQUIVALENT to the TF1 program (the
    rate halves at every step); the same migration with Keras SGD, the natural mistake, is DIFFERENT
    (its weights part at the second update, which the statistics show from the third step)."""
    from bn_migrate.check import CheckOptions, check_programs

    original = tmp_path / "momentum_decay.py"
    source = _momentum_program("tf.train.MomentumOptimizer(lr, 0.9)")
    assert source.count("range(2)") == 1  # four steps: the rates differ from the second on
    original.write_text(source.replace("range(2)", "range(4)"), encoding="utf-8")
    migrated = tmp_path / "momentum_decay_tf2.py"
    code = rewrite_source(original.read_text(encoding="utf-8")).code
    migrated.write_text(code, encoding="utf-8")
    result = check_programs(original, migrated, CheckOptions(timeout=240), old_cache=old_cache)
    assert result.verdict == "equivalent", result.render_text()

    planted = tmp_path / "momentum_decay_sgd.py"
    sgd = "tf.keras.optimizers.SGD(learning_rate=lr, momentum=0.9)"
    planted.write_text(code.replace("TF1Momentum(learning_rate=lr, momentum=0.9)", sgd))
    assert sgd in planted.read_text()
    wrong = check_programs(original, planted, CheckOptions(timeout=240), old_cache=old_cache)
    assert wrong.verdict == "different", wrong.render_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    "optimizer",
    [
        "tf.train.AdadeltaOptimizer(1.0)",
        "tf.train.FtrlOptimizer(0.5, l1_regularization_strength=0.01, beta=0.5)",
    ],
)
def test_adadelta_and_ftrl_migrations_are_equivalent(
    optimizer: str, tmp_path: Path, old_cache: OldRunCache
) -> None:
    """On TF 2.21 / Keras 3, four steps: the Keras optimizer with TF1's defaults trains as TF1's did."""
    from bn_migrate.check import CheckOptions, check_programs

    source = placeholder_program(PLACEHOLDER_BEFORE, optimizer=optimizer)
    assert source.count("range(2)") == 1
    original = tmp_path / "optimizer.py"
    original.write_text(source.replace("range(2)", "range(4)"), encoding="utf-8")
    migrated = tmp_path / "optimizer_tf2.py"
    result = rewrite_source(original.read_text(encoding="utf-8"))
    assert result.status is Status.CHANGED
    migrated.write_text(result.code, encoding="utf-8")
    checked = check_programs(original, migrated, CheckOptions(timeout=240), old_cache=old_cache)
    assert checked.verdict == "equivalent", checked.render_text()
