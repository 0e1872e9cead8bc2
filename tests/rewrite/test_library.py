"""``rewrite --library``: model libraries (builders, no training program) migrated through a driver.

The fast tests check the library fixture against its golden migration (parse and idempotence included),
the small shapes one at a time (before/after), and that what the library cannot prove stays left with
its reason. The slow test runs the CLI as a user would: ``rewrite --library --output-dir --report``,
then ``check --from-report`` on the report (EQUIVALENT) and on the planted migration (caught).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bn_migrate.cli import main
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
    assert not any(s.line > len(FIXTURE.read_text().splitlines()) for s in result.applied)
    _assert_committed_diff(FIXTURE, GOLDEN)


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


def test_builder_without_a_default_is_left_with_the_parameter_named() -> None:
    left_in_library(
        HEAD
        + "def net(inputs, keep_probability, is_training=True):\n"
        + SLIM_CONV
        + '        return slim.conv2d(inputs, 4, 3, scope="c")\n',
        "BN000",
        "`keep_probability` has no default",
    )


def test_regularizer_from_a_parameter_is_left() -> None:
    left_in_library(
        HEAD + "def net(inputs, is_training=True, weight_decay=0.0):\n"
        "    with slim.arg_scope([slim.conv2d], "
        "weights_regularizer=slim.l2_regularizer(weight_decay)):\n"
        "    " + SLIM_CONV + '            return slim.conv2d(inputs, 4, 3, scope="c")\n',
        "BN003",
        "calls TF1's `tensorflow.contrib.layers.l2_regularizer`",
    )


def test_sizes_from_get_shape_are_left() -> None:
    left_in_library(
        HEAD
        + "def net(inputs, is_training=True):\n"
        + SLIM_CONV
        + '        return slim.conv2d(inputs, inputs.get_shape()[3], 3, scope="c")\n',
        "BN003",
        "the layer's arguments read `inputs`",
    )


def test_moving_statistics_in_trainable_variables_are_left() -> None:
    left_in_library(
        HEAD + "def net(inputs, is_training=True):\n"
        "    params = {\n"
        '        "is_training": is_training,\n'
        '        "variables_collections": [tf.GraphKeys.TRAINABLE_VARIABLES],\n'
        "    }\n"
        "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
        "normalizer_params=params):\n"
        '        return slim.conv2d(inputs, 4, 3, scope="c")\n',
        "BN002",
        "variables_collections",
    )


@pytest.mark.slow
def test_rewrite_library_then_check_from_report(tmp_path: Path) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    status = main(
        ["rewrite", "-q", "--library", str(MODELS), "--output-dir", str(out), "--report",
         str(report), str(FIXTURE)]
    )  # fmt: skip
    assert status == 0
    migrated = out / FIXTURE.name
    assert migrated.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")
    options = ["--input-shape", "8,8,3", "--optimizer", "momentum", "--old-repeats", "1"]
    checked = tmp_path / "checked.json"
    assert main(["check", "--from-report", str(report), *options, "--json", str(checked)]) == 0
    pairs = json.loads(checked.read_text())["pairs"]
    assert [p["verdict"] for p in pairs] == ["equivalent"]
    layers = {layer["new"] for layer in pairs[0]["report"]["layers"]}
    # built with the report's model_args (name="Net", the builder's scope): the TF1 names' own prefix
    assert "Net/Block/Conv2d_3x3_bn" in layers
    # slim.repeat's repetitions, each its own instance named after its TF1 scope, mapped by the report
    assert "Net/Repeat_block_2/Conv2d_3x3_bn" in layers
    document = json.loads(report.read_text())
    assert (
        document["models"][0]["variables"]["Net/Repeat/block_2/Conv2d_3x3/BatchNorm/moving_mean"]
        == "Net/Repeat_block_2/Conv2d_3x3_bn/moving_mean"
    )
    document["models"][0]["new"] = f"{PLANTED}::Inference"
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps(document), encoding="utf-8")
    caught = tmp_path / "caught.json"
    assert main(["check", "--from-report", str(planted), *options, "--json", str(caught)]) == 1
    report_of_pair = json.loads(caught.read_text())["pairs"][0]["report"]
    assert "momentum-changed" in report_of_pair["causes"]


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
