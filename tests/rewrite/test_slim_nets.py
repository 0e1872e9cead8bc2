"""Programs using a net in tf-slim's shape (``tests/fixtures/programs/slim_net/``, ``inception_v1.py``'s):
each construct of the shape before/after, and what stays left (the golden tree and the check of the
whole program are in ``test_programs.py``)."""

from __future__ import annotations

import ast

import pytest

from bn_migrate.rewrite.engine import rewrite_program, rewrite_source
from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile
from bn_migrate.rewrite.result import RewriteResult, Status
from tests.conftest import EXAMPLES, REPO

FOLDER = REPO / "tests" / "fixtures" / "programs" / "slim_net"
MODEL = (FOLDER / "slim_net.py").read_text(encoding="utf-8")
TRAIN = (FOLDER / "train.py").read_text(encoding="utf-8")
GOLDEN = EXAMPLES / "migrated" / "programs" / "slim_net"


def _program(model: str = MODEL, train: str = TRAIN) -> tuple[RewriteResult, RewriteResult]:
    line = train.splitlines().index("import slim_net") + 1
    files = [ProgramFile("train.py", train), ProgramFile("slim_net.py", model)]
    script, module = rewrite_program(files, [ProgramEdge(0, line, 1)])
    return script, module


def _left(model: str = MODEL, train: str = TRAIN) -> list[str]:
    script, module = _program(model, train)
    assert script.status is Status.SKIPPED and module.status is Status.SKIPPED
    assert script.code == train and module.code == model
    return [s.message for s in (*script.left, *module.left)]


def test_the_fixture_migrates_as_its_golden_tree() -> None:
    script, module = _program()
    assert module.code == (GOLDEN / "slim_net.py").read_text(encoding="utf-8")
    assert script.code == (GOLDEN / "train.py").read_text(encoding="utf-8")
    # the net named like its module: its object takes another name, the module stays readable
    assert 'slim_net_model = slim_net.SlimNet(name="SlimNet")' in script.code
    assert "slim_net_model(\n        images, training=is_training)" in script.code
    # the factory's `if use_batch_norm:` chose batch norm; its collection of its own is dropped
    assert "BatchNormalization(momentum=0.9, epsilon=0.001" in module.code
    assert any("'moving_vars'" in s.message for s in module.warnings)
    # contrib's variance_scaling_initializer(): the same truncated normal
    assert (
        'scale=2.0 * 1.3 * 0.87962566103423978 ** 2, distribution="truncated_normal"' in module.code
    )
    # prediction_fn: its default TF2's softmax, called with TF2's keyword
    assert "prediction_fn=tf.nn.softmax," in module.code
    assert 'prediction_fn(logits, name="Predictions")' in module.code
    for code in (script.code, module.code):
        ast.parse(code)


def test_without_batch_norm_the_factory_gives_none() -> None:
    train = TRAIN.replace(
        "slim_net.slim_net_arg_scope()", "slim_net.slim_net_arg_scope(use_batch_norm=False)"
    )
    _, module = _program(train=train)
    assert module.status is Status.CHANGED, module.left
    assert "BatchNormalization(" not in module.code.split("class SlimNetBase", 1)[1]


def test_a_switch_on_a_value_not_known_when_read_is_left() -> None:
    train = TRAIN.replace(
        "slim_net.slim_net_arg_scope()", "slim_net.slim_net_arg_scope(use_batch_norm=len([1]) > 0)"
    )
    assert any(
        "which branch of its `if use_batch_norm:` runs is not known" in m
        for m in _left(train=train)
    )


@pytest.mark.parametrize(
    "read",
    [
        'print(tf.get_collection("moving_vars"))',
        'print(tf.get_default_graph().get_collection("moving_vars"))',  # a graph's method
        'print(slim.get_variables("SlimNet", None, "moving_vars"))',  # positional
        'print(slim.get_variables(collection="moving_vars"))',
    ],
)
def test_a_program_reading_the_collection_is_left(read: str) -> None:
    train = TRAIN.replace("loss = tf.losses", f"{read}\nloss = tf.losses", 1)
    assert any("`variables_collections=" in m for m in _left(train=train))


def test_a_program_reading_a_collection_named_at_run_time_is_left() -> None:
    train = TRAIN.replace(
        "loss = tf.losses", "print(tf.get_collection(str(1)))\nloss = tf.losses", 1
    )
    assert _left(train=train)  # the key may be "moving_vars"


def test_a_caller_giving_its_own_prediction_function_is_left() -> None:
    train = TRAIN.replace(
        "dropout_keep_prob=1.0", "dropout_keep_prob=1.0, prediction_fn=tf.nn.softmax"
    )
    assert any("`slim.softmax`" in m for m in _left(train=train))


@pytest.mark.parametrize(
    ("arguments", "keras"),
    [
        (
            "factor=1.0",
            'mode="fan_in", scale=1.0 * 1.3 * 0.87962566103423978 ** 2, '
            'distribution="truncated_normal"',
        ),
        ("factor=2.0, mode='FAN_AVG', uniform=True", 'mode="fan_avg", scale=2.0, distribution="uniform"'),
        (
            "0.5, 'FAN_OUT', False, seed=3",
            'mode="fan_out", scale=0.5 * 1.3 * 0.87962566103423978 ** 2, '
            'distribution="truncated_normal", seed=3',
        ),
    ],
)  # fmt: skip
def test_contribs_variance_scaling_with_arguments_is_the_same_keras_distribution(
    arguments: str, keras: str
) -> None:
    model = MODEL.replace(
        "slim.initializers.variance_scaling_initializer()",
        f"slim.initializers.variance_scaling_initializer({arguments})",
    )
    _, module = _program(model=model)
    assert module.status is Status.CHANGED, module.left
    assert f"tf.keras.initializers.VarianceScaling({keras})" in module.code


def test_contribs_variance_scaling_and_the_keras_one_draw_alike() -> None:
    """``api.CONTRIB_VARIANCE_SCALING``, measured: tf-slim's initializer and the Keras one it becomes
    have the same standard deviation and bounds (two standard deviations; the uniform's limit)."""
    import numpy as np
    import tensorflow as tf
    from tf_slim.layers import initializers

    shape = [3, 3, 64, 128]
    for factor, mode, uniform in (
        (1.0, "FAN_IN", False),
        (2.0, "FAN_AVG", True),
        (0.5, "FAN_OUT", False),
    ):
        scale = factor if uniform else factor * 1.3 * 0.87962566103423978**2
        distribution = "uniform" if uniform else "truncated_normal"
        old = initializers.variance_scaling_initializer(factor, mode, uniform, seed=1)(shape)
        new = tf.keras.initializers.VarianceScaling(scale, mode.lower(), distribution, seed=1)(
            shape
        )
        old, new = np.asarray(old), np.asarray(new)
        assert abs(old.std() / new.std() - 1.0) < 0.01, (mode, old.std(), new.std())
        assert abs(np.abs(old).max() / np.abs(new).max() - 1.0) < 0.001, mode


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ("mode='fan_in'", "is not migrated (only FAN_AVG, FAN_IN, FAN_OUT)"),  # contrib raises
        ("factor=weight_scale", "is not migrated (only a number literal)"),
    ],
)
def test_what_contribs_variance_scaling_does_not_prove_is_left(arguments: str, reason: str) -> None:
    model = MODEL.replace(
        "slim.initializers.variance_scaling_initializer()",
        f"slim.initializers.variance_scaling_initializer({arguments})",
    )
    assert any("variance_scaling_initializer" in m and reason in m for m in _left(model=model))


def test_a_scope_object_passed_to_a_function_that_does_not_reenter_it_is_left() -> None:
    model = MODEL.replace(
        "net, end_points = slim_net_base(inputs, scope=scope)",
        "net, end_points = slim_net_base(inputs, scope=scope)\n            print(scope)",
    )
    assert _left(model=model)


@pytest.mark.parametrize(
    "spelling",
    [
        "from tensorflow.python.ops import variable_scope\n",
        "import tensorflow.python.ops.variable_scope as variable_scope\n",
    ],
)
def test_tf1s_private_module_spellings_are_tf1_code(spelling: str) -> None:
    source = (
        "import tensorflow as tf\n"
        + spelling
        + "\n\ndef block(x):\n    with variable_scope.variable_scope('b'):\n"
        "        return variable_scope.get_variable('w', [3]) * x\n"
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED, result.code  # was "unchanged": the names went unread
    assert any("variable_scope.variable_scope" in s.message for s in result.left)


def test_a_net_passed_on_as_a_value_keeps_its_prediction_function_left() -> None:
    """``nets = {"slim_net": slim_net}``: a caller elsewhere may give its own ``prediction_fn``."""
    model = MODEL + '\n\nNETS = {"slim_net": slim_net}\n'
    assert any("`slim.softmax`" in m for m in _left(model=model))


def test_an_empty_scope_name_written_out_is_no_scope_object() -> None:
    train = TRAIN  # the base called with scope="" by the net: not the net's own scope re-entered
    model = MODEL.replace("slim_net_base(inputs, scope=scope)", 'slim_net_base(inputs, scope="")')
    _, module = _program(model=model, train=train)
    assert module.status is Status.SKIPPED, module.code
