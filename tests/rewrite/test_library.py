"""``rewrite --library``: model libraries (builders, no training program) migrated through a driver.

The fast tests check the library fixture against its golden migration (parse and idempotence included),
the small shapes one at a time (before/after), and that what the library cannot prove stays left with
its reason. The slow test runs the CLI as a user would: ``rewrite --library --output-dir --report``,
then ``check --from-report`` on the report (EQUIVALENT), on the planted migration and on one with
Keras' L2 at TF1's regularizer scale instead of half of it (both caught).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import libcst as cst
import pytest

from bn_migrate.check.api import REUSED
from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.cli import main
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.options import RewriteOptions
from bn_migrate.rewrite.result import Status
from tests.conftest import EXAMPLES, REPO
from tests.rewrite.helpers import assert_program_rewrite
from tests.rewrite.test_engine_golden import _assert_committed_diff

MODELS = REPO / "tests" / "fixtures" / "models"
FIXTURE = MODELS / "library_facenet.py"
GOLDEN = EXAMPLES / "migrated" / "library" / "library_facenet.py"
PLANTED = MODELS / "library_facenet_decay_lost.py"
INFERENCE = MODELS / "library_inference.py"
INFERENCE_GOLDEN = EXAMPLES / "migrated" / "library" / "library_inference.py"
INFERENCE_PLANTED = MODELS / "library_inference_decay_lost.py"
LIBRARY = RewriteOptions(library=(str(MODELS), str(GOLDEN.parent), "case.py"))
HEAD = "import tensorflow as tf\nimport tensorflow.contrib.slim as slim\n\n\n"
SLIM_CONV = (
    "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
    'normalizer_params={"is_training": is_training}):\n'
)


def left_in_library(source: str, rule: str, fragment: str) -> None:
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.SKIPPED and result.code == source, result.code
    assert any(s.rule == rule and fragment in s.message for s in result.left), result.left


def test_library_fixture_migrates_to_its_golden_file() -> None:
    result = assert_program_rewrite(FIXTURE, GOLDEN, options=LIBRARY)
    assert "__bn_migrate" not in result.code  # the driver is cut off
    assert [(m.builder, m.model) for m in result.models] == [("inference", "Inference")]
    # the layer sized by the block's input is made in its build, its weights mapped as the others
    assert ("Net/Repeat/block_1/Up_1x1/weights", "Net/Repeat_block_1/Up_1x1/kernel") in (
        result.models[0].variables
    )
    assert not any(s.line > len(FIXTURE.read_text().splitlines()) for s in result.applied)
    _assert_committed_diff(FIXTURE, GOLDEN)


def test_inference_fixture_migrates_to_its_golden_file() -> None:
    result = assert_program_rewrite(INFERENCE, INFERENCE_GOLDEN, options=LIBRARY)
    [model] = result.models
    assert (model.builder, model.model) == ("inference", "Inference")
    # the parameter without default, only a dropout's keep probability: 1.0 on both sides
    assert ("keep_probability", 1.0) in model.builder_args
    assert model.model_args == (("name", "inference"), ("keep_probability", 1.0))
    assert "def __init__(self, keep_probability, bottleneck_layer_size=4, **kwargs):" in result.code
    # sub-builders without a flag take the caller's `training` and pass it on
    assert "self.tower_1(net, training=training)" in result.code
    assert "WholeAveragePooling2D(name=" in result.code
    assert result.code.count("class WholeAveragePooling2D(tf.keras.layers.Layer):") == 1
    trainable = [s for s in result.warnings if "tf.trainable_variables()" in s.message]
    assert [s.line for s in trainable] == [18, 19, 32]
    # the arg_scope's l2_regularizer(0.1) on every conv and dense layer, with TF1's factor 1/2
    assert result.code.count("kernel_regularizer=tf.keras.regularizers.L2(0.5 * 0.1)") == 4
    regularized = [s.line for s in result.warnings if "REGULARIZATION_LOSSES" in s.message]
    assert regularized == [18, 19, 32, 38]
    _assert_committed_diff(INFERENCE, INFERENCE_GOLDEN)


def test_without_library_the_builders_are_left_as_never_called() -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    result = rewrite_source(source, path=str(FIXTURE))
    assert result.status is Status.SKIPPED
    assert any("is not called in this module" in s.message for s in result.left)


def test_a_library_path_covers_the_files_under_it() -> None:
    assert LIBRARY.is_library(str(FIXTURE))
    assert not LIBRARY.is_library(str(REPO / "tests" / "fixtures" / "tf1" / "conv_fused.py"))
    assert not RewriteOptions().is_library(str(FIXTURE))


def test_builder_layer_parameters_become_init_parameters_with_their_defaults() -> None:
    before = HEAD + (
        "def net(inputs, is_training=True, depth=4):\n"
        + SLIM_CONV
        + '        return slim.conv2d(inputs, depth, 3, scope="c")\n'
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "class Net(tf.keras.Model):\n    def __init__(self, depth=4, **kwargs):" in result.code
    assert (
        'tf.keras.layers.Conv2D(depth, 3, padding="same", use_bias=False, name="c")' in result.code
    )
    assert "    def call(self, inputs, training=True):" in result.code
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_default_name_scope_of_a_builder_called_once_names_its_layers() -> None:
    before = HEAD + (
        "def net(inputs, is_training=True, scope=None, reuse=None):\n"
        "    end_points = {}\n"
        '    with tf.variable_scope(scope, "Net", [inputs], reuse=reuse):\n'
        "    " + SLIM_CONV + '            h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        "    return h, end_points\n"
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert any('variable scope "Net" dissolved' in s.message for s in result.applied)
    assert result.models[0].builder_args == (("scope", None), ("reuse", None))
    assert "    def call(self, inputs, training=True):\n        end_points = {}\n" in result.code


def test_pools_and_flatten_become_keras_layers() -> None:
    before = HEAD + (
        "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        '        h = slim.max_pool2d(h, 2, scope="pool")\n'
        '        h = slim.avg_pool2d(h, 2, stride=1, padding="SAME")\n'
        "        return slim.flatten(h)\n"
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert 'tf.keras.layers.MaxPooling2D(2, strides=2, name="pool")' in result.code
    assert 'tf.keras.layers.AveragePooling2D(2, strides=1, padding="SAME")' in result.code
    assert "tf.keras.layers.Flatten()" in result.code


def test_builder_parameter_without_default_used_as_a_tensor_is_left() -> None:
    left_in_library(
        HEAD
        + "def net(inputs, scale, is_training=True):\n"
        + SLIM_CONV
        + '        return slim.conv2d(inputs * scale, 4, 3, scope="c")\n',
        "BN000",
        "`scale` has no default and is not only a layer's Python value",
    )


def test_keep_probability_without_default_is_a_required_init_parameter() -> None:
    before = HEAD + (
        "def head(net, keep):\n"
        "    return slim.dropout(net, keep_prob=keep)\n\n\n"
        "def model(inputs, keep_probability, unused, is_training=True):\n"
        + SLIM_CONV
        + "        with slim.arg_scope([slim.dropout], is_training=is_training):\n"
        '            h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        "            h = slim.dropout(h, keep_probability)\n"
        "            return head(h, keep_probability)\n"
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "class Model(tf.keras.Model):\n    def __init__(self, keep_probability, **kwargs):" in (
        result.code
    )
    assert "tf.keras.layers.Dropout(1.0 - keep_probability)" in result.code
    assert "self.Dropout_1(h, training=training)" in result.code
    assert "tf.keras.layers.Dropout(rate=1.0 - keep)" in result.code  # in the class of `head`
    [model] = result.models
    # a parameter never read is given None; the keep probability 1.0 (no dropout: a check compares)
    assert model.builder_args[:2] == (("keep_probability", 1.0), ("unused", None))
    assert ("keep_probability", 1.0) in model.model_args
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_contrib_dropout_rate_is_one_minus_keep_prob() -> None:
    before = HEAD + (
        "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        '        h = slim.dropout(h, 0.5 + 0.3, is_training=is_training, scope="d")\n'
        "        return slim.dropout(h)\n"
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert 'tf.keras.layers.Dropout(1.0 - (0.5 + 0.3), name="d")' in result.code
    assert "tf.keras.layers.Dropout(rate=0.5)" in result.code  # keep_prob's default 0.5
    assert "return self.Dropout_1(h, training=True)" in result.code  # contrib's default: training


def test_layer_reuse_false_and_outputs_collections_none_are_dropped() -> None:
    before = HEAD + (
        "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c", reuse=False, outputs_collections=None)\n'
        '        return slim.fully_connected(slim.flatten(h), 2, scope="f", reuse=None)\n'
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "reuse" not in result.code and "outputs_collections" not in result.code


def test_layer_reuse_true_is_left() -> None:
    left_in_library(
        HEAD
        + "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        return slim.conv2d(inputs, 4, 3, scope="c", reuse=True)\n',
        "BN003",
        "`reuse=True` is not migrated for Conv2D",
    )


def test_pool_over_the_whole_input_pools_each_channel_into_one_value() -> None:
    before = HEAD + (
        "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        '        h = slim.avg_pool2d(h, h.get_shape()[1:3], padding="VALID", scope="pool")\n'
        "        h = slim.max_pool2d(h, h.shape[1:3], stride=1)\n"
        "        return tf.squeeze(h, [1, 2])\n"
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    # the average by TF1's AvgPool kernel (an emitted class, once), the max by Keras's global pool
    assert 'self.pool = WholeAveragePooling2D(name="pool")' in result.code
    assert result.code.count("class WholeAveragePooling2D(tf.keras.layers.Layer):") == 1
    assert "tf.keras.layers.GlobalMaxPooling2D(keepdims=True)" in result.code
    assert "tf.keras.layers.GlobalAveragePooling2D(" not in result.code
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_whole_input_average_pool_is_left_when_the_module_binds_its_class_name() -> None:
    left_in_library(
        HEAD
        + "WholeAveragePooling2D = None\n\n\n"
        + "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        + '        return slim.avg_pool2d(h, h.get_shape()[1:3], padding="VALID", scope="pool")\n',
        "BN003",
        "the module already binds `WholeAveragePooling2D`; cannot emit the class",
    )


def test_pool_sized_otherwise_from_a_shape_is_left() -> None:
    left_in_library(
        HEAD
        + "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        + "        return slim.avg_pool2d(h, inputs.get_shape()[1:3])\n",  # the input's: a parameter
        "BN003",
        "the layer's arguments read",
    )


@pytest.mark.parametrize(
    ("pool", "op"),
    [
        (  # windows past the edges: what TF1's op computed, as the op computes it
            'slim.avg_pool2d(h, h.get_shape()[1:3], padding="SAME")',
            'tf.nn.avg_pool2d(h, ksize=h.get_shape()[1:3], strides=2, padding="SAME")',
        ),
        (
            "slim.max_pool2d(h, h.get_shape()[0:2], stride=1)",
            'tf.nn.max_pool2d(h, ksize=h.get_shape()[0:2], strides=1, padding="VALID")',
        ),
    ],
)
def test_pool_sized_otherwise_from_a_graph_tensor_is_the_op_it_ran(pool: str, op: str) -> None:
    """Sized by a tensor the builder makes, not its whole input: the TF2 op TF1's pool ran
    (``api.RunTimePool``; ``tf.nn`` pools take a ``TensorShape`` as slim's did), in ``call()``."""
    source = (
        HEAD
        + "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        + f"        return {pool}\n"
    )
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert f"        return {op}\n" in result.code
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_sub_builders_without_a_flag_take_the_callers_training() -> None:
    before = HEAD + (
        "def unit(net, depth):\n"
        '    return slim.conv2d(net, depth, 1, scope="u")\n\n\n'
        "def pair(net, depth, scope=None):\n"
        '    with tf.variable_scope(scope, "pair", [net]):\n'
        "        return unit(net, depth) + net\n\n\n"
        "def model(inputs, phase_train=True):\n"
        "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm):\n"
        '        with tf.variable_scope("net", [inputs], reuse=None):\n'
        "            with slim.arg_scope([slim.batch_norm], is_training=phase_train):\n"
        '                h = pair(inputs, 3, scope="p1")\n'
        '                return pair(h, 3, scope="p2")\n'
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "class Unit(tf.keras.layers.Layer):\n    def __init__(self, depth, **kwargs):" in (
        result.code
    )
    assert "    def call(self, net, training=None):" in result.code
    assert "self.unit_1(net, training=training) + net" in result.code
    assert 'Pair(depth=3, name="net_p1")' in result.code
    assert 'Pair(depth=3, name="net_p2")' in result.code
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_flag_of_another_builder_at_a_sub_builder_is_left() -> None:
    """``unit`` is called from ``net`` and from ``other``: whose flag its layers get is not one."""
    left_in_library(
        HEAD + "def unit(net):\n"
        '    return slim.conv2d(net, 4, 1, scope="u")\n\n\n'
        "def other(net, is_training=True):\n"
        "    return unit(net)\n\n\n"
        "def model(inputs, phase_train=True):\n"
        "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm):\n"
        "        with slim.arg_scope([slim.batch_norm], is_training=phase_train):\n"
        "            return other(unit(inputs), phase_train)\n",
        "BN003",
        "which means something else where the layer is made (`unit`)",
    )


def test_inner_scope_that_reuses_is_left() -> None:
    left_in_library(
        HEAD
        + "def net(inputs, is_training=True, reuse=True):\n"
        + SLIM_CONV
        + '        with tf.variable_scope("net", [inputs], reuse=reuse):\n'
        '            return slim.conv2d(inputs, 4, 3, scope="c")\n',
        "BN017",
        "variable scope with `reuse=` inside a builder",
    )


REGULARIZED = HEAD + (
    "def net(inputs, is_training=True, weight_decay=0.0):\n"
    "    with slim.arg_scope([slim.conv2d, slim.fully_connected], "
    "weights_regularizer={regularizer}):\n"
    "    " + SLIM_CONV + '            h = slim.conv2d(inputs, 4, 3, scope="c")\n'
    '            return slim.fully_connected(slim.flatten(h), 2, normalizer_fn=None, scope="f")\n'
)


def _regularized(regularizer: str) -> str:
    return REGULARIZED.replace("{regularizer}", regularizer)


def test_l2_regularizer_from_a_parameter_becomes_a_keras_l2_with_half_the_scale() -> None:
    """TF1 ``l2_regularizer(s)`` adds s * sum(w**2) / 2 to REGULARIZATION_LOSSES; Keras ``L2(l)`` adds
    l * sum(w**2) to ``model.losses`` (``api.REGULARIZERS``)."""
    before = _regularized("slim.l2_regularizer(weight_decay)")
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "    def __init__(self, weight_decay=0.0, **kwargs):" in result.code
    keras = "kernel_regularizer=tf.keras.regularizers.L2(0.5 * weight_decay)"
    assert f'tf.keras.layers.Conv2D(4, 3, {keras}, padding="same", use_bias=False, name="c")' in (
        result.code
    )
    assert f'tf.keras.layers.Dense(2, {keras}, activation=tf.nn.relu, name="f")' in result.code
    assert "slim" not in result.code and "l2_regularizer" not in result.code
    notes = [s for s in result.warnings if s.rule == "BN003"]
    assert [s.line for s in notes] == [8, 9]
    assert all("`sum(model.losses)`" in s.message for s in notes)
    assert all("REGULARIZATION_LOSSES" in s.message and "0.0" in s.message for s in notes)
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_l2_regularizer_spellings_and_a_scale_expression() -> None:
    before = _regularized("tf.contrib.layers.l2_regularizer(scale=weight_decay + 0.1, scope='wd')")
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "kernel_regularizer=tf.keras.regularizers.L2(0.5 * (weight_decay + 0.1))" in result.code


def test_l2_regularizers_given_at_the_call_are_migrated_too() -> None:
    before = HEAD + (
        "def model(inputs, is_training=True, weight_decay=0.0):\n"
        + SLIM_CONV
        + "        return slim.conv2d(inputs, 4, 3, "
        "weights_regularizer=slim.l2_regularizer(weight_decay), "
        'biases_regularizer=slim.l2_regularizer(0.0), normalizer_fn=None, scope="c")\n'
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert (
        "kernel_regularizer=tf.keras.regularizers.L2(0.5 * weight_decay), "
        "bias_regularizer=tf.keras.regularizers.L2(0.5 * 0.0)"
    ) in result.code
    assert [s.line for s in result.warnings if "REGULARIZATION_LOSSES" in s.message] == [7]
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_l2_regularizer_outside_a_library_is_left_as_before() -> None:
    source = _regularized("slim.l2_regularizer(weight_decay)")
    result = rewrite_source(source, path="case.py")
    assert result.code == source
    assert not any("tf.keras.regularizers" in s.message for s in result.applied)


@pytest.mark.parametrize(
    ("regularizer", "fragment"),
    [
        ("slim.l1_regularizer(weight_decay)", "`tensorflow.contrib.layers.l1_regularizer`"),
        ("slim.l1_l2_regularizer(weight_decay)", "`tensorflow.contrib.layers.l1_l2_regularizer`"),
        (
            "slim.sum_regularizer([slim.l2_regularizer(weight_decay)])",
            "`tensorflow.contrib.layers.sum_regularizer`",
        ),
        ("tf.nn.l2_loss", "only TF1's `l2_regularizer(scale)` is migrated"),
        ("lambda w: weight_decay * tf.nn.l2_loss(w)", "only TF1's `l2_regularizer(scale)`"),
        ("slim.l2_regularizer(*[weight_decay])", "calls TF1's"),
    ],
)
def test_other_regularizers_are_left(regularizer: str, fragment: str) -> None:
    left_in_library(_regularized(regularizer), "BN003", fragment)


PASSED_DOWN = HEAD + (
    "def unit(net, depth):\n"
    '    return slim.conv2d(net, depth, 1, scope="u")\n\n\n'
    "def block(net, depth):\n"
    '    net = slim.conv2d(net, depth, 3, scope="b")\n'
    "    return unit(net, depth)\n\n\n"
    "{other}"
    "def model(inputs, is_training=True, weight_decay=0.0):\n"
    "{rebinds}"
    "    with slim.arg_scope([slim.conv2d], "
    "weights_regularizer=slim.l2_regularizer(weight_decay)):\n"
    "    " + SLIM_CONV + '            net = slim.conv2d(inputs, 4, 3, scope="c")\n'
    "            net = block(net, 4)\n"
    "            return block(net, 8)\n"
)


def _passed_down(other: str = "", rebinds: str = "") -> str:
    return PASSED_DOWN.replace("{other}", other).replace("{rebinds}", rebinds)


def test_a_regularizer_scale_from_the_owners_parameter_is_passed_down_to_sub_builders() -> None:
    """facenet's squeezenet: the scale is a parameter of the builder holding the arg_scope, the layers
    are made in sub-builders two levels down (``model`` -> ``block`` -> ``unit``): every class on the
    way takes ``weight_decay`` in its ``__init__`` and each caller passes its own."""
    result = rewrite_source(_passed_down(), path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    keras = "kernel_regularizer=tf.keras.regularizers.L2(0.5 * weight_decay)"
    for owner in ("Unit(tf.keras.layers.Layer)", "Block(tf.keras.layers.Layer)"):
        assert f"class {owner}:\n    def __init__(self, depth, weight_decay, **kwargs):" in code
    assert "class Model(tf.keras.Model):\n    def __init__(self, weight_decay=0.0, **kwargs):" in (
        code
    )
    assert (
        f'tf.keras.layers.Conv2D(depth, 1, {keras}, padding="same", use_bias=False, name="u")'
        in (code)
    )
    assert (
        f'tf.keras.layers.Conv2D(depth, 3, {keras}, padding="same", use_bias=False, name="b")'
        in (code)
    )
    assert (
        f'tf.keras.layers.Conv2D(4, 3, {keras}, padding="same", use_bias=False, name="c")' in code
    )
    assert "self.unit_1 = Unit(depth=depth, weight_decay=weight_decay)" in code
    assert "self.block_1 = Block(depth=4, weight_decay=weight_decay)" in code
    assert "self.block_2 = Block(depth=8, weight_decay=weight_decay)" in code
    assert "slim" not in code and "l2_regularizer" not in code
    assert [s.line for s in result.warnings if "REGULARIZATION_LOSSES" in s.message] == [6, 10, 17]
    ast.parse(code)
    assert rewrite_source(code, path="case.py", options=LIBRARY).code == code


@pytest.mark.parametrize(
    ("other", "rebinds", "where"),
    [
        (  # ``block`` also called from a builder with its own ``weight_decay``
            "def other(net, weight_decay):\n    return block(net, 2)\n\n\n",
            "",
            "block",
        ),
        ("", "    weight_decay = weight_decay * 2\n", "block"),  # the owner rebinds it
    ],
)
def test_a_scale_not_passed_down_soundly_is_left(other: str, rebinds: str, where: str) -> None:
    source = _passed_down(other, rebinds)
    if "def other" in other:
        source = source.replace("return block(net, 8)", "return other(block(net, 8), weight_decay)")
    left_in_library(
        source,
        "BN003",
        f"reads `weight_decay`, which means something else where the layer is made (`{where}`)",
    )


def test_a_sub_builders_own_name_is_not_passed_over() -> None:
    """``unit`` reads a global ``weight_decay`` of its own: the caller's cannot be passed to it."""
    source = _passed_down().replace(
        "def unit(net, depth):\n", "def unit(net, depth):\n    print(weight_decay)\n"
    )
    left_in_library(
        source,
        "BN003",
        "reads `weight_decay`, which means something else where the layer is made (`unit`)",
    )


def migrated_in_library(source: str) -> str:
    """The library's migration of ``source``: changed, parsing, and unchanged by a second rewrite."""
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    ast.parse(result.code)
    again = rewrite_source(result.code, path="case.py", options=LIBRARY)
    assert again.code == result.code and again.status is not Status.CHANGED
    return result.code


def _sized(size: str, before: str = "", layer: str = "h = ") -> str:
    """A builder whose layer ``c`` is sized by ``size`` (after the statements ``before``)."""
    return HEAD + (
        "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + "".join(f"        {line}\n" for line in before.splitlines())
        + f'        {layer}slim.conv2d(inputs, {size}, 3, scope="c")\n'
        "    return h\n"
    )


@pytest.mark.parametrize(
    ("size", "axis"),
    [
        ("inputs.get_shape()[3]", "3"),
        ("inputs.get_shape()[-1]", "-1"),
        ("int(inputs.get_shape()[3])", "3"),
        ("inputs.get_shape()[3].value", "3"),
        ("inputs.get_shape().as_list()[3]", "3"),
        ("inputs.shape[3]", "3"),
        ("inputs.shape.as_list()[-1]", "-1"),
    ],
)
def test_a_size_read_from_the_builders_input_shape_is_made_in_build(size: str, axis: str) -> None:
    code = migrated_in_library(_sized(size))
    assert (
        "    def build(self, input_shape):\n"
        f'        self.c = tf.keras.layers.Conv2D(input_shape[{axis}], 3, padding="same", '
        'use_bias=False, name="c")\n\n'
        "    def call(self, inputs, training=True):\n"
    ) in code
    assert "get_shape" not in code and ".shape[" not in code.split("class Net")[1]


def test_an_input_rebound_by_the_layers_own_assignment_is_read_before_it() -> None:
    code = migrated_in_library(
        _sized("inputs.get_shape()[3]", layer="inputs = ").replace("return h", "return inputs")
    )
    assert "self.c = tf.keras.layers.Conv2D(input_shape[3], 3" in code


def test_the_weights_of_a_layer_made_in_build_map_one_to_one() -> None:
    result = rewrite_source(_sized("inputs.get_shape()[3]"), path="case.py", options=LIBRARY)
    [model] = result.models
    assert ("c/weights", "net/c/kernel") in model.variables
    assert ("c/BatchNorm/moving_mean", "net/c_bn/moving_mean") in model.variables
    [site] = [s for s in result.applied if s.rule == "BN003"]
    assert "created in the class's `build(self, input_shape)`" in site.message


def test_a_block_sized_by_its_input_reads_its_init_parameters_on_self() -> None:
    """Facenet's Inception-ResNet blocks: the projection back to the input's depth, the regularizer
    scale passed down from the caller, the input rebound only after the read."""
    code = migrated_in_library(
        HEAD + "def block(net, scale=1.0, scope=None, reuse=None):\n"
        '    with tf.variable_scope(scope, "Block", [net], reuse=reuse):\n'
        '        tower = slim.conv2d(net, 6, 1, scope="Conv2d_0a_1x1")\n'
        "        up = slim.conv2d(tower, net.get_shape()[3], 1, normalizer_fn=None, "
        'activation_fn=None, scope="Conv2d_1x1")\n'
        "        net += scale * up\n"
        "    return net\n\n\n"
        "def inference(images, phase_train=True, weight_decay=0.0):\n"
        "    with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer("
        "weight_decay), normalizer_fn=slim.batch_norm, normalizer_params={'decay': 0.9}):\n"
        "        with slim.arg_scope([slim.batch_norm], is_training=phase_train):\n"
        '            net = slim.conv2d(images, 6, 3, scope="c")\n'
        "            net = slim.repeat(net, 2, block, scale=0.1)\n"
        "    return net\n"
    )
    assert (
        "        self.weight_decay = weight_decay\n"
        "        self.Conv2d_0a_1x1 = tf.keras.layers.Conv2D(6, 1, kernel_regularizer="
        "tf.keras.regularizers.L2(0.5 * weight_decay)"
    ) in code
    assert (
        "    def build(self, input_shape):\n"
        "        self.Conv2d_1x1 = tf.keras.layers.Conv2D(input_shape[3], 1, activation=None, "
        "kernel_regularizer=tf.keras.regularizers.L2(0.5 * self.weight_decay)"
    ) in code
    assert "        up = self.Conv2d_1x1(tower)\n        net += self.scale * up\n" in code


@pytest.mark.parametrize(
    ("size", "before", "fragment"),
    [
        # the name no longer holds the input
        ("inputs.get_shape()[3]", "inputs = tf.nn.relu(inputs)", "rebound or reshaped before the read (line 7)"),
        ("inputs.get_shape()[3]", "inputs.set_shape([None, 8, 8, 3])", "rebound or reshaped before"),
        ("inputs.get_shape()[3]", "with tf.name_scope('a') as inputs:\n    pass", "(line 7)"),
        # the batch axis: None when Keras builds the layer
        ("inputs.get_shape()[0]", "", "axis 0 of `inputs`'s shape, the batch axis"),
        ("inputs.shape[-4]", "", "axis -4 of `inputs`'s shape"),
        # build's own parameter name taken
        ("inputs.get_shape()[3]", "input_shape = 3", "a name `net` already uses"),
    ],
)  # fmt: skip
def test_other_sizes_read_from_a_shape_are_left(size: str, before: str, fragment: str) -> None:
    left_in_library(_sized(size, before), "BN003", fragment)


def test_a_size_read_from_another_tensors_shape_is_made_at_the_first_call() -> None:
    """Known only while the graph is built: the layer is made where TF1 made it, in ``call``."""
    result = rewrite_source(
        _sized("h.get_shape()[3]", "h = tf.nn.relu(inputs)"), path="case.py", options=LIBRARY
    )
    assert result.status is Status.CHANGED, result.left
    assert (
        "        h = tf.nn.relu(inputs)\n"
        "        if self.c is None:\n"
        '            self.c = tf.keras.layers.Conv2D(h.get_shape()[3], 3, padding="same", '
        'use_bias=False, name="c")\n'
        "        if self.c_bn is None:\n"
    ) in result.code
    assert 'fused_ranks=(2, 4), name="c_bn")\n' in result.code
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_a_size_from_a_shape_slice_is_left_as_before() -> None:
    left_in_library(
        _sized("inputs.get_shape()[1:3]"), "BN003", "the layer's arguments read `inputs`"
    )


def _statistics_in(collections: str) -> str:
    return HEAD + (
        "def net(inputs, is_training=True):\n"
        "    params = {\n"
        '        "is_training": is_training,\n'
        f'        "variables_collections": {collections},\n'
        "    }\n"
        "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
        "normalizer_params=params):\n"
        '        return slim.conv2d(inputs, 4, 3, scope="c")\n'
    )


def test_moving_statistics_in_trainable_variables_migrate_with_a_warning() -> None:
    result = rewrite_source(
        _statistics_in("[tf.GraphKeys.TRAINABLE_VARIABLES]"), path="case.py", options=LIBRARY
    )
    assert result.status is Status.CHANGED, result.left
    [warning] = result.warnings
    assert warning.rule == "BN002" and warning.line == 11
    assert "a Saver of `tf.trainable_variables()`" in warning.message


def test_moving_statistics_in_a_collection_of_the_librarys_own_migrate_with_a_warning() -> None:
    """Nothing in the library reads ``"stats"``; its callers are not in view: the warning says where
    one reading it must look."""
    result = rewrite_source(_statistics_in('["stats"]'), path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert any(
        "'stats', which nothing in the library reads" in s.message for s in result.warnings
    ), result.warnings


@pytest.mark.parametrize(
    "collections",
    [
        "[tf.GraphKeys.GLOBAL_VARIABLES]",  # TensorFlow's own (its value "variables")
        '["variables"]',
        "[name]",  # not a literal
        '{"moving_mean": ["stats"], "renorm_mean": ["stats"]}',  # not a batch-norm variable key
    ],
)
def test_moving_statistics_in_other_collections_are_left(collections: str) -> None:
    source = _statistics_in(collections).replace("def net(", 'name = "stats"\n\n\ndef net(')
    left_in_library(source, "BN002", "variables_collections")


def test_moving_statistics_in_a_collection_the_library_reads_are_left() -> None:
    source = (
        _statistics_in('["stats"]') + '\n\ndef stats():\n    return tf.get_collection("stats")\n'
    )
    left_in_library(source, "BN002", "variables_collections")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixture", "golden", "planted", "names", "variables"),
    [
        # built with the report's model_args (name="Net", the builder's scope): TF1's own prefix;
        # slim.repeat's repetitions, each its own instance named after its TF1 scope, mapped by the report
        (
            FIXTURE,
            GOLDEN,
            PLANTED,
            ("Net/Block/Conv2d_3x3_bn", "Net/Repeat_block_2/Conv2d_3x3_bn"),
            {
                "Net/Repeat/block_2/Conv2d_3x3/BatchNorm/moving_mean": (
                    "Net/Repeat_block_2/Conv2d_3x3_bn/moving_mean"
                ),
                # made in the block's build (sized by its input): still one to one
                "Net/Repeat/block_2/Up_1x1/weights": "Net/Repeat_block_2/Up_1x1/kernel",
                "Net/Block/Up_1x1/biases": "Net/Block/Up_1x1/bias",
            },
        ),
        # keep_probability=1.0 from the report's model_args; a sub-builder's layer under its caller's
        (
            INFERENCE,
            INFERENCE_GOLDEN,
            INFERENCE_PLANTED,
            ("inference/InnerNet/Block/tower/Conv2d_3x3_bn",),
            {},
        ),
        # tf-slim's net shape: end points, early returns, a keep probability with a default (1.0)
        (
            MODELS / "library_slim_net.py",
            EXAMPLES / "migrated" / "library" / "library_slim_net.py",
            MODELS / "library_slim_net_decay_lost.py",
            ("SmallNet/SmallNetBase/Mixed_2_Branch_1_Conv2d_0b_3x3_bn",),
            {
                "SmallNet/Mixed_2/Branch_0/Conv2d_0a_1x1/BatchNorm/moving_variance": (
                    "SmallNet/SmallNetBase/Mixed_2_Branch_0_Conv2d_0a_1x1_bn/moving_variance"
                ),
            },
        ),
        # tf-slim's inception_v2 shape: a guard and a sizing lambda, a separable convolution, a pool
        # sized from a tensor's shape
        (
            MODELS / "library_thin_net.py",
            EXAMPLES / "migrated" / "library" / "library_thin_net.py",
            MODELS / "library_thin_net_decay_lost.py",
            (
                "ThinNet/ThinNetBase/Mixed_2_Branch_1_Conv2d_0b_3x3_bn",
                "ThinNet/AuxLogits_Conv2d_2a_2x2_bn",
            ),
            {
                "ThinNet/Conv2d_1a_3x3/depthwise_weights": (
                    "ThinNet/ThinNetBase/Conv2d_1a_3x3/depthwise_kernel"
                ),
                "ThinNet/Conv2d_1a_3x3/pointwise_weights": (
                    "ThinNet/ThinNetBase/Conv2d_1a_3x3/pointwise_kernel"
                ),
                "ThinNet/Conv2d_1a_3x3/biases": "ThinNet/ThinNetBase/Conv2d_1a_3x3/bias",
            },
        ),
    ],
)
def test_rewrite_library_then_check_from_report(
    tmp_path: Path,
    old_cache: OldRunCache,
    fixture: Path,
    golden: Path,
    planted: Path,
    names: tuple[str, ...],
    variables: dict[str, str],
) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    status = main(
        ["rewrite", "-q", "--library", str(MODELS), "--output-dir", str(out), "--report",
         str(report), str(fixture)]
    )  # fmt: skip
    assert status == 0
    migrated = out / fixture.name
    assert migrated.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8")
    # The three checks share the builder's TF1 run (--old-cache): only the migration changes.
    options = ["--input-shape", "8,8,3", "--optimizer", "momentum", "--old-repeats", "1",
               "--old-cache", str(old_cache.folder)]  # fmt: skip
    checked = tmp_path / "checked.json"
    assert main(["check", "--from-report", str(report), *options, "--json", str(checked)]) == 0
    pairs = json.loads(checked.read_text())["pairs"]
    assert [p["verdict"] for p in pairs] == ["equivalent"]
    layers = {layer["new"] for layer in pairs[0]["report"]["layers"]}
    assert set(names) <= layers, sorted(layers)
    document = json.loads(report.read_text())
    assert {k: document["models"][0]["variables"][k] for k in variables} == variables
    model_class = document["models"][0]["new"].rsplit("::", 1)[1]
    document["models"][0]["new"] = f"{planted}::{model_class}"
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps(document), encoding="utf-8")
    caught = tmp_path / "caught.json"
    assert main(["check", "--from-report", str(planted), *options, "--json", str(caught)]) == 1
    report_of_pair = json.loads(caught.read_text())["pairs"][0]["report"]
    assert "momentum-changed" in report_of_pair["causes"]
    assert report_of_pair["runs"][0]["message"] == REUSED  # the same TF1 driver: its run reused
    if "regularizers.L2(0.5 * " not in golden.read_text(encoding="utf-8"):
        return
    # the model check adds the regularization losses on both sides: Keras' L2 at TF1's scale (not
    # half of it) trains other weights
    doubled = tmp_path / golden.name
    code = golden.read_text(encoding="utf-8").replace("regularizers.L2(0.5 * ", "regularizers.L2(")
    doubled.write_text(code, encoding="utf-8")
    document["models"][0]["new"] = f"{doubled}::{model_class}"
    planted.write_text(json.dumps(document), encoding="utf-8")
    assert main(["check", "--from-report", str(planted), *options, "--json", str(caught)]) == 1


def test_a_variable_made_where_the_graph_was_built_is_not_cut_off_silently() -> None:
    """BN014 hoists a builder's ``tf.get_variable`` to where the graph was built: the driver, which is
    cut off; the library is left rather than read a name it no longer binds."""
    left_in_library(
        "import tensorflow as tf\n\n\n"
        "def net(inputs, is_training=True):\n"
        '    with tf.variable_scope("net"):\n'
        '        w = tf.get_variable("w", [3, 4], initializer=tf.zeros_initializer())\n'
        "        h = tf.matmul(inputs, w)\n"
        '        return tf.layers.batch_normalization(h, training=is_training, name="bn")\n',
        "BN000",
        "the migration makes `net_w` where a training program builds its graph",
    )


def test_a_library_without_a_tensorflow_import_is_driven_with_the_drivers_own() -> None:
    """tf-slim's nets import ``tf_slim`` and TensorFlow's modules one by one: the driver imports
    TensorFlow itself, and what the rules put after that import moves after the module's imports."""
    before = (
        "from tf_slim import layers\n"
        "from tf_slim.ops.arg_scope import arg_scope\n\n\n"
        "def net(inputs, is_training=True, depth=4):\n"
        "    with arg_scope([layers.conv2d], normalizer_fn=layers.batch_norm, "
        'normalizer_params={"is_training": is_training}):\n'
        '        return layers.conv2d(inputs, depth, 3, scope="c")\n'
    )
    result = rewrite_source(before, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "__bn_migrate" not in result.code
    head = result.code.split("\n\n\n")[:3]
    assert head[0].endswith("import tensorflow as tf")
    assert head[1].startswith("class BatchNormalization(tf.keras.layers.BatchNormalization):")
    assert result.code.index("class BatchNormalization") < result.code.index("class Net(")
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_passed_down_is_an_analysis_fact_of_the_owner_and_the_call_path() -> None:
    """``Program.passed_down``: ``model`` owns ``weight_decay`` at ``block`` and ``unit`` (a library's
    public builder takes it in ``__init__``; a program's top builder does not), ``depth`` is
    ``block``'s and ``unit``'s own, and ``block`` under two owners has none."""
    graph = (  # a training program calling ``model``, as the library's driver is
        "x = tf.placeholder(tf.float32, [None, 8, 8, 3])\n"
        "loss = tf.reduce_mean(model(x, True, 0.1))\n"
        "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
        "    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
        "with tf.Session() as session:\n"
        "    session.run(train, {x: None})\n"
    )
    module = cst.parse_module(_passed_down() + graph)
    program = Program.read(module, AliasTable.build(module))
    assert program.passed_down("unit", "weight_decay", library=True) == "model"
    assert program.passed_down("block", "weight_decay", library=True) == "model"
    assert program.passed_down("unit", "weight_decay", library=False) is None
    assert program.passed_down("unit", "depth", library=True) is None
    assert program.passed_down("unit", "is_training", library=True) is None
    other = "def other(net, weight_decay):\n    return block(net, 2)\n\n\n"
    two = _passed_down(other).replace(
        "return block(net, 8)", "return other(block(net, 8), weight_decay)"
    )
    module = cst.parse_module(two + graph)
    program = Program.read(module, AliasTable.build(module))
    assert program.passed_down("block", "weight_decay", library=True) is None
    assert program.passed_down("unit", "weight_decay", library=True) is None


SLIM_NET = MODELS / "library_slim_net.py"
SLIM_NET_GOLDEN = EXAMPLES / "migrated" / "library" / "library_slim_net.py"
SLIM_NET_PLANTED = MODELS / "library_slim_net_decay_lost.py"


def test_slim_net_fixture_migrates_to_its_golden_file() -> None:
    result = assert_program_rewrite(SLIM_NET, SLIM_NET_GOLDEN, options=LIBRARY)
    [model] = result.models
    assert (model.builder, model.model) == ("small_net", "SmallNet")
    # a keep probability with a default: 1.0 on both sides of the model check too
    assert ("dropout_keep_prob", 1.0) in model.builder_args
    assert model.model_args == (("name", "SmallNet"), ("dropout_keep_prob", 1.0))
    # end points by label, early returns and the raise after the last one: Python, kept in call()
    assert "end_points[end_point] = net" in result.code
    assert "if self.final_endpoint == end_point:" in result.code
    assert 'raise ValueError("Unknown final endpoint %s" % self.final_endpoint)' in result.code
    # the label set on the function is set on its class
    assert "\n\nSmallNet.default_image_size = 8\n" in result.code
    # the net's own arg scope, entered by the driver as its users do, is consumed, saying so; the
    # model check enters it around the TF1 builder as the driver did
    assert model.old_arg_scope == ("slim.arg_scope", "small_net_arg_scope")
    assert "def small_net_arg_scope" not in result.code
    [note] = [s for s in result.warnings if "small_net_arg_scope()` entered around" in s.message]
    assert (
        note.line
        == SLIM_NET.read_text(encoding="utf-8")
        .splitlines()
        .index("def small_net_arg_scope(batch_norm_decay=0.9, batch_norm_epsilon=0.001):")
        + 1
    )
    # the base re-enters its caller's scope (``as scope`` passed on): TF1 named its layers as the
    # caller's own, the Keras instance is a layer of the model
    assert ("SmallNet/Mixed_2/Branch_1/Conv2d_0b_3x3/BatchNorm/moving_mean",
            "SmallNet/SmallNetBase/Mixed_2_Branch_1_Conv2d_0b_3x3_bn/moving_mean") in model.variables  # fmt: skip
    code = result.code.split('"""', 2)[2]  # after the module docstring
    assert ") as scope:" not in code and "scope=scope" not in code
    _assert_committed_diff(SLIM_NET, SLIM_NET_GOLDEN)


SLIM_BASE = (
    "def base(inputs, scope=None):\n"
    "    points = {}\n"
    '    with tf.variable_scope(scope, "Base", [inputs]):\n'
    '        net = slim.conv2d(inputs, 4, 3, scope="Conv")\n'
    '        points["Conv"] = net\n'
    "    return net, points\n"
    "\n\n"
    "def model(inputs, is_training=True):\n"
    "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
    'normalizer_params={"is_training": is_training}):\n'
    '        net, points = base(inputs, scope="Net")\n'
    '        with tf.variable_scope("Logits"):\n'
    '            net = slim.conv2d(net, 2, 1, scope="Conv")\n'
    '    points["Logits"] = net\n'
    "    USE\n"
    "    return net, points\n"
)


def test_an_end_point_key_named_like_a_scope_is_a_label() -> None:
    result = rewrite_source(
        HEAD + SLIM_BASE.replace("    USE\n", ""), path="case.py", options=LIBRARY
    )
    assert result.status is Status.CHANGED, result.left
    assert 'points["Logits"] = net' in result.code


@pytest.mark.parametrize(
    "use",
    [
        'points = (points, "Logits")',  # the text held otherwise
        'points = {"Logits": points}',  # a key of another dictionary
        "print(list(points))",  # the keys read
    ],
)
def test_a_scope_name_used_otherwise_still_leaves_the_scope(use: str) -> None:
    left_in_library(HEAD + SLIM_BASE.replace("USE", use), "BN017", 'variable scope "Logits"')


@pytest.mark.parametrize(
    ("after", "fragment"),
    [
        ("    raise TypeError('no end point ' + str(end))\n", "variable scope inside a builder"),
        ("    raise Unknown('no end point')\n", "variable scope inside a builder"),
    ],
)
def test_only_a_builtin_exception_of_plain_arguments_may_follow_the_scope(
    after: str, fragment: str
) -> None:
    source = HEAD + (
        "class Unknown(Exception):\n    pass\n\n\n"
        "def base(inputs, end='Conv', scope=None):\n"
        '    with tf.variable_scope(scope, "Base", [inputs]):\n'
        '        net = slim.conv2d(inputs, 4, 3, scope="Conv")\n'
        "        if end == 'Conv':\n"
        "            return net\n"
        f"{after}"
        "\n\n"
        "def model(inputs, is_training=True):\n"
        "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
        'normalizer_params={"is_training": is_training}):\n'
        '        return base(inputs, scope="Net")\n'
    )
    left_in_library(source, "BN017", fragment)
    plain = source.replace(after, "    raise ValueError('no end point %s' % end)\n")
    result = rewrite_source(plain, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert "raise ValueError('no end point %s' % self.end)" in result.code


def test_an_attribute_set_on_a_builder_function_is_set_on_its_class() -> None:
    source = HEAD + SLIM_BASE.replace("    USE\n", "") + "\n\nmodel.default_image_size = 32\n"
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert result.code.endswith("\n\nModel.default_image_size = 32\n")
    # a value that is not a literal (it may read anything): the function is used as a value
    computed = source.replace("= 32\n", "= len([1, 2])\n")
    left_in_library(computed, "BN000", "`model`")


NAMED_BY_A_LOCAL = (
    "def model(inputs, is_training=True):\n"
    '  with tf.variable_scope("Model"):\n'
    "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
    'normalizer_params={"is_training": is_training}):\n'
    '        end_point = "Stem"\n'
    "        net = slim.conv2d(inputs, 4, 3, scope=end_point)\n"
    "        points = {end_point: net}\n"
    '        end_point = "Mixed"\n'
    "BLOCK"
    "  return net, points\n"
)
MIXED = (
    "        with tf.variable_scope(end_point):\n"
    '            net = slim.conv2d(net, 4, 1, scope="Conv")\n'
    "        points[end_point] = net\n"
)


def test_a_local_holding_a_literal_names_layers_and_scopes_as_that_literal() -> None:
    source = HEAD + NAMED_BY_A_LOCAL.replace("BLOCK", MIXED)
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert (
        'tf.keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="Stem")' in result.code
    )
    assert 'name="Mixed_Conv")' in result.code  # the scope's literal, each read its own
    assert ("Model/Mixed/Conv/weights", "Model/Mixed_Conv/kernel") in result.models[0].variables
    # the other reads of the local stay as they were
    assert "points = {end_point: net}" in result.code and "points[end_point] = net" in result.code


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        # bound in a branch: which literal it holds is decided when it runs
        (("        end_point = \"Mixed\"\n", "        if is_training:\n            end_point = \"Mixed\"\n"),
         "name is computed at run time"),
        # bound otherwise than to a literal
        (("        end_point = \"Mixed\"\n", "        end_point = \"Mix\" + \"ed\"\n"),
         "name is computed at run time"),
        # read in a loop
        ((MIXED, "        for _ in range(2):\n" + MIXED.replace("        ", "            ")),
         "variable scope"),
    ],
)  # fmt: skip
def test_a_local_not_known_to_hold_one_literal_is_left(
    change: tuple[str, str], fragment: str
) -> None:
    source = HEAD + NAMED_BY_A_LOCAL.replace("BLOCK", MIXED).replace(*change)
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(fragment in s.message for s in result.left), result.left


THIN_NET = MODELS / "library_thin_net.py"
THIN_NET_GOLDEN = EXAMPLES / "migrated" / "library" / "library_thin_net.py"


def test_thin_net_fixture_migrates_to_its_golden_file() -> None:
    result = assert_program_rewrite(THIN_NET, THIN_NET_GOLDEN, options=LIBRARY)
    code = result.code
    [model] = result.models
    assert (model.builder, model.model) == ("thin_net", "ThinNet")
    init = code[
        code.index("class ThinNetBase(") : code.index(
            "    def call(", code.index("class ThinNetBase(")
        )
    ]
    # the sizing lambda and the multiplier computed inside the scope: in ``__init__``, before the
    # layers that read them, from its parameters; gone from ``call``
    assert (
        "        depth = lambda d: max(int(d * depth_multiplier), min_depth)\n"
        "        depthwise_multiplier = min(int(depth(6) / 3), 8)\n"
        "        self.Conv2d_1a_3x3 = tf.keras.layers.SeparableConv2D(depth(6), [3, 3], strides=2, "
        "depth_multiplier=depthwise_multiplier, depthwise_initializer=trunc_normal(1.0), "
        'padding="SAME", activation=tf.nn.relu, pointwise_initializer=trunc_normal(1.0), '
        'name="Conv2d_1a_3x3")\n'
    ) in init
    assert code.count("\n        depthwise_multiplier = ") == 1
    # the classifier's own lambda: computed in its ``__init__`` for the layers made there, and in
    # ``call`` (from the stored parameters) for the one made at the first call
    assert (
        code.count("\n        depth = lambda d: max(int(d * depth_multiplier), min_depth)\n") == 2
    )
    assert (
        "\n        depth = lambda d: max(int(d * self.depth_multiplier), self.min_depth)\n" in code
    )
    # the auxiliary head's convolution sized and named by a tensor's shape: made at the first call,
    # with its batch norm, named as TF1 named them
    assert (
        "        self.AuxLogits_Conv2d_2a = None\n        self.AuxLogits_Conv2d_2a_bn = None\n"
        in code
    )
    assert (
        "            kernel_size = _reduced_kernel_size_for_small_input(aux_logits, [5, 5])\n"
        "            if self.AuxLogits_Conv2d_2a is None:\n"
        "                self.AuxLogits_Conv2d_2a = tf.keras.layers.Conv2D(depth(6), kernel_size, "
    ) in code
    assert (
        '"AuxLogits_" + "Conv2d_2a_{}x{}".format(*kernel_size) + "_bn")\n'
        "            aux_logits = tf.nn.relu(self.AuxLogits_Conv2d_2a_bn(self.AuxLogits_Conv2d_2a("
        "aux_logits), training=training))\n"
    ) in code
    [note] = [s for s in result.warnings if "the class makes it at its first call" in s.message]
    assert note.rule == "BN003" and "`kernel_size`" in note.message
    # its computed TF1 names are not in the mapping; the others are
    assert not any("Conv2d_2a" in old for old, _ in model.variables)
    assert (
        "ThinNet/AuxLogits/Conv2d_1b_1x1/weights",
        "ThinNet/AuxLogits_Conv2d_1b_1x1/kernel",
    ) in (model.variables)
    # the guard before the scope: checked where the builder checked it, reading the stored parameter
    assert code.count('raise ValueError("depth_multiplier is not greater than zero.")') == 2
    assert "        if self.depth_multiplier <= 0:\n" in code
    # the pool sized by a tensor's shape: the TF2 op it ran, where it ran, TF1's stride 2 written out
    assert (
        "        kernel_size = _reduced_kernel_size_for_small_input(net, [3, 3])\n"
        '        net = tf.nn.avg_pool2d(net, ksize=kernel_size, strides=2, padding="VALID", '
        'name="AvgPool_1a_{}x{}".format(*kernel_size))\n'
    ) in code
    applied = [s.message for s in result.applied if s.rule == "BN003"]
    assert any("avg_pool2d -> tf.nn.avg_pool2d" in m for m in applied), applied
    assert any("separable_conv2d -> tf.keras.layers.SeparableConv2D" in m for m in applied)


def test_a_guard_that_calls_something_is_no_guard() -> None:
    """Only a test that calls nothing, raising a built-in exception, may stand before the scope."""
    source = THIN_NET.read_text(encoding="utf-8")
    guarded = source.replace(
        '    if depth_multiplier <= 0:\n        raise ValueError("depth_multiplier is not greater than zero.")\n'
        "    depth = lambda",
        '    if check(depth_multiplier):\n        raise ValueError("depth_multiplier is not greater than zero.")\n'
        "    depth = lambda",
    )
    assert guarded != source
    left_in_library(guarded, "BN017", "variable scope inside a builder with more than a name")


@pytest.mark.parametrize(
    ("before", "after", "fragment"),
    [
        (  # depthwise only: another layer
            "                depth(6),\n                [3, 3],\n",
            "                None,\n                [3, 3],\n",
            "`num_outputs=None` is not migrated for SeparableConv2D",
        ),
        (  # one TF1 regularizer for two Keras ones: not mapped
            "                weights_initializer=trunc_normal(1.0),\n",
            "                weights_initializer=trunc_normal(1.0),\n"
            "                weights_regularizer=slim.l2_regularizer(0.1),\n",
            "`weights_regularizer=slim.l2_regularizer(0.1)` is not migrated for SeparableConv2D",
        ),
        (  # the lambda with a default: not a plain value
            "    depth = lambda d: max(",
            "    depth = lambda d, m=2: max(",
            "the layer's arguments read `depth`",
        ),
        (  # ``max`` bound by the module: not the built-in
            "trunc_normal = lambda stddev:",
            "max = lambda *values: values[0]\ntrunc_normal = lambda stddev:",
            "the layer's arguments read `depth`",
        ),
    ],
    ids=["depthwise-only", "separable-regularizer", "lambda-default", "max-rebound"],
)
def test_what_the_thin_net_rules_do_not_prove_is_left(
    before: str, after: str, fragment: str
) -> None:
    source = THIN_NET.read_text(encoding="utf-8")
    assert before in source
    left_in_library(source.replace(before, after, 1), "BN003", fragment)


def test_a_pool_sized_by_a_tensor_with_a_padding_not_written_out_is_made_at_the_first_call() -> (
    None
):
    """The op needs TF1's padding as a literal: a pool whose padding is a parameter stays a Keras
    layer, made at the class's first call, where its size is known (as TF1 made it)."""
    source = THIN_NET.read_text(encoding="utf-8")
    changed = source.replace(
        '                    net, kernel_size, padding="VALID", scope=',
        "                    net, kernel_size, padding=pool_padding, scope=",
    ).replace(
        "depth_multiplier=1.0, spatial_squeeze=True,",
        'depth_multiplier=1.0, spatial_squeeze=True, pool_padding="VALID",',
    )
    assert changed.count("pool_padding") == 2
    result = rewrite_source(changed, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    assert (
        "        kernel_size = _reduced_kernel_size_for_small_input(net, [3, 3])\n"
        "        if self.Logits_AvgPool_1a is None:\n"
        "            self.Logits_AvgPool_1a = tf.keras.layers.AveragePooling2D(kernel_size, strides=2, "
        'padding=pool_padding, name="Logits_" + "AvgPool_1a_{}x{}".format(*kernel_size))\n'
        "        net = self.Logits_AvgPool_1a(net)\n"
    ) in result.code
    assert rewrite_source(result.code, path="case.py", options=LIBRARY).code == result.code


def test_a_layer_sized_by_a_tensor_without_a_name_is_left() -> None:
    """TF1 numbered an unnamed layer under its scope: made at the first call, its name is not followed."""
    source = THIN_NET.read_text(encoding="utf-8")
    changed = source.replace(
        '                        padding="VALID",\n'
        '                        scope="Conv2d_2a_{}x{}".format(*kernel_size),\n',
        '                        padding="VALID",\n',
    )
    assert changed != source
    left_in_library(
        changed,
        "BN003",
        "the layer's arguments read `kernel_size`, computed while the graph is built, and it cannot be "
        "made at the class's first call: it has no `name=` / `scope=`",
    )


def test_two_layers_of_one_statement_made_at_the_first_call_are_made_in_call_order() -> None:
    """Both constructors precede the statement, the inner layer's first (TF1 made it first)."""
    source = HEAD + (
        "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + "        h = tf.nn.relu(inputs)\n"
        + "        k = h.get_shape()[3]\n"
        + '        h = slim.conv2d(slim.conv2d(h, k, 3, scope="a"), k, 1, scope="b")\n'
        "    return h\n"
    )
    result = rewrite_source(source, path="case.py", options=LIBRARY)
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert code.index("        if self.a is None:") < code.index("        if self.a_bn is None:")
    assert code.index("        if self.a_bn is None:") < code.index("        if self.b is None:")
    assert code.index("        if self.b_bn is None:") < code.index(
        "        h = tf.nn.relu(self.b_bn("
    )
    ast.parse(code)
    assert rewrite_source(code, path="case.py", options=LIBRARY).code == code
