"""Model-level check (``bn-migrate check OLD.py::builder NEW.py::Model``): a migrated model against its TF1
builder, trained the same way by generated drivers, without running either program."""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.check import CheckOptions
from bn_migrate.check.api import REUSED
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.models import (
    ModelOptions,
    ModelRef,
    check_models,
    parse_assignments,
    parse_shape,
    write_drivers,
)
from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.cli import main
from bn_migrate.errors import BnMigrateError

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
BUILDER = ModelRef(MODELS / "tf1_builder.py", "mlp")
MODEL = ModelRef(MODELS / "tf2_model.py", "Mlp")


@pytest.mark.slow
def test_a_correct_model_migration_is_equivalent(
    capsys: pytest.CaptureFixture[str], old_cache: OldRunCache
) -> None:
    status = main(
        [
            "check",
            f"{BUILDER.path}::mlp",
            f"{MODEL.path}::Mlp",
            "--input-shape",
            "4",
            "--steps",
            "4",
            "--old-cache",
            str(old_cache.folder),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "EQUIVALENT" in out and "mlp/bn1" in out and "model check: 4 adam steps" in out


# A planted mistake is large next to OLD's run-to-run spread: one TF1 run is enough (as for the planted
# programs of tests/check/test_verdicts.py), and saves a TensorFlow process. The correct migration above
# is checked with the defaults (two TF1 runs); with the same model options, its first TF1 run serves
# the planted check through the session's `old_cache`.
ONE_OLD_RUN = CheckOptions(old_repeats=1)


@pytest.mark.slow
def test_a_planted_momentum_is_different_and_named(old_cache: OldRunCache) -> None:
    result = check_models(
        BUILDER,
        MODEL,
        ModelOptions(input_shape=(4,), steps=4, new_args={"bn_momentum": 0.99}),
        ONE_OLD_RUN,
        old_cache=old_cache,
    )
    assert result.verdict == "different", result.render_text()
    assert Cause.MOMENTUM_CHANGED in result.causes, result.render_text()


@pytest.mark.slow
def test_slim_fused_kernel_against_plain_keras_is_named_and_quantified() -> None:
    """A slim builder under arg_scope (normalizer_params in a variable, tuple output) against plain Keras
    BN: the fused kernel's n/(n-1) is the one, named difference."""
    result = check_models(
        ModelRef(MODELS / "slim_builder.py", "net"),
        ModelRef(MODELS / "slim_keras.py", "Net"),
        ModelOptions(input_shape=(6,), steps=3),
        ONE_OLD_RUN,
    )
    assert result.verdict == "different", result.render_text()
    assert result.causes - {Cause.FREE_RUNNING_DRIFT} == {Cause.BESSEL_CORRECTION}, (
        result.render_text()
    )
    assert "n = 16" in result.render_text()


@pytest.mark.slow
def test_conv_biases_before_batch_norm_are_not_judged_under_adam(old_cache: OldRunCache) -> None:
    """A bias before a 1x1 (or VALID) convolution and BN, and a depthwise convolution's bias: zero
    gradients in exact arithmetic, which Adam turns into steps of about lr that differ between TF1 and
    TF2 (1e-5 to 1e-4 here). Reported, not judged: equivalent, not a false optimizer mismatch."""
    result = check_models(
        ModelRef(MODELS / "conv_bias_builder.py", "conv_net"),
        ModelRef(MODELS / "conv_bias_keras.py", "ConvNet"),
        ModelOptions(input_shape=(6, 6, 2), steps=4, learning_rate=0.001),
        ONE_OLD_RUN,
        old_cache=old_cache,
    )
    assert result.verdict == "equivalent", result.render_text()
    (note,) = [n for n in result.notes if n.startswith("not judged")]
    assert "net/conv1/bias" in note and "net/dw/bias" in note
    assert [row.old for row in result.layers] == ["net/bn1", "net/bn2"]
    # Planted: epsilon 1e-5 where tf.layers used 1e-3. bn2's inputs come through bn1: its statistics
    # differ by ~1e-3 relative in every channel, which is the epsilon, not a Bessel n/(n-1) with n ~ 1000.
    planted = check_models(
        ModelRef(MODELS / "conv_bias_builder.py", "conv_net"),
        ModelRef(MODELS / "conv_bias_keras.py", "ConvNet"),
        ModelOptions(
            input_shape=(6, 6, 2), steps=4, learning_rate=0.001, new_args={"epsilon": 1e-5}
        ),
        ONE_OLD_RUN,
        old_cache=old_cache,
    )
    # the builder's driver is the same program: the planted check reuses the first check's TF1 run
    assert planted.runs[0].message == REUSED, planted.render_text()
    assert planted.verdict == "different", planted.render_text()
    assert planted.causes - {Cause.FREE_RUNNING_DRIFT, Cause.INPUTS_DIFFER} == {
        Cause.EPSILON_CHANGED
    }, planted.render_text()
    # bn2 normalizes what bn1 (its epsilon changed) let through: named, with bn1's diagnosis beside it
    for inputs in [d for d in planted.diagnoses if d.cause is Cause.INPUTS_DIFFER]:
        assert inputs.layer.startswith("net/bn2"), planted.render_text()
        assert "net/bn1 <-> net/bn1 (epsilon-changed)" in inputs.message, inputs.message
    factors = [
        d.data["output_factor_worst"] for d in planted.diagnoses if d.cause is Cause.EPSILON_CHANGED
    ]
    assert len(factors) == 2 and all(1.0001 < f < 1.01 for f in factors), factors


@pytest.mark.slow
def test_a_resnet_shaped_builder_with_its_own_update_collection() -> None:
    """Hand-written BN whose assign_moving_average updates go to the builder's own collection (not
    UPDATE_OPS): the TF1 driver runs them as the real training script would, the statistics are found by
    how they are updated, and a Keras layer keeping the zero-debiasing is equivalent."""
    result = check_models(
        ModelRef(MODELS / "moments_builder.py", "inference"),
        ModelRef(MODELS / "moments_keras.py", "Inference"),
        ModelOptions(input_shape=(6, 6, 2), steps=4, optimizer="momentum"),
        ONE_OLD_RUN,
    )
    assert result.verdict == "equivalent", result.render_text()
    assert [(row.old, row.new, row.moved_old) for row in result.layers] == [
        ("scale1", "resnet/scale1_bn", 4)
    ]
    assert any("zero-debiased: moving_mean, moving_variance" in n for n in result.notes)


def test_drivers_train_both_sides_alike(tmp_path: Path) -> None:
    options = ModelOptions(input_shape=(4,), optimizer="momentum", learning_rate=0.1, batch=8)
    old, new = write_drivers(BUILDER, MODEL, options, tmp_path)
    old_text, new_text = old.read_text(), new.read_text()
    for text in (old_text, new_text):
        compile(text, "driver", "exec")
        assert "SEED, BATCH, STEPS, SHAPE = 0, 8, 5, (4,)" in text
    assert "tf.train.MomentumOptimizer(0.1, 0.9)" in old_text
    assert "tf.keras.optimizers.SGD(0.1, momentum=0.9)" in new_text
    assert "tf.GraphKeys.UPDATE_OPS" in old_text and "training=True" in new_text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x.py::mlp", "y.py::Mlp"], "--input-shape"),
        ([f"{BUILDER.path}::mlp", f"{MODEL.path}::1x", "--input-shape", "4"], "FILE.py::NAME"),
        ([f"{BUILDER.path}::mlp", "missing.py::Mlp", "--input-shape", "4"], "not a Python file"),
        ([f"{BUILDER.path}::mlp", f"{MODEL.path}::Mlp", "--input-shape", "4,a"], "--input-shape"),
        (
            [f"{BUILDER.path}::mlp", f"{MODEL.path}::Mlp", "--input-shape", "4", "--batch", "1"],
            "--batch",
        ),
        (
            [
                f"{BUILDER.path}::mlp",
                f"{MODEL.path}::Mlp",
                "--input-shape",
                "4",
                "--learning-rate",
                "nan",
            ],
            "nan",
        ),
        (
            [
                f"{BUILDER.path}::mlp",
                f"{MODEL.path}::Mlp",
                "--input-shape",
                "4",
                "--model-arg",
                "x=f()",
            ],
            "Python literal",
        ),
    ],
)
def test_usage_errors_name_what_to_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status = main(["check", *argv])
    except SystemExit as exc:
        status = int(exc.code or 0)
    assert status == 2
    assert message in capsys.readouterr().err


def test_assignments_and_shapes() -> None:
    assert parse_assignments(["n=10", "names=('a', 'b')"], "--model-arg") == {
        "n": 10,
        "names": ("a", "b"),
    }
    assert parse_shape("32, 32,3") == (32, 32, 3)
    with pytest.raises(BnMigrateError):
        parse_assignments(["=3"], "--builder-arg")


def test_a_builder_without_a_training_flag_is_noted(tmp_path: Path) -> None:
    from bn_migrate.check.models import training_flag_note

    builder = tmp_path / "b.py"
    builder.write_text("def net(x, keep_prob=1.0):\n    return x\n", encoding="utf-8")
    note = training_flag_note(ModelRef(builder, "net"), ModelOptions(input_shape=(4,)))
    assert note is not None and "without a training flag" in note
    assert training_flag_note(BUILDER, ModelOptions(input_shape=(4,))) is None
    with pytest.raises(BnMigrateError, match="has no such parameter"):
        training_flag_note(
            ModelRef(builder, "net"), ModelOptions(input_shape=(4,), training_param="mode")
        )
