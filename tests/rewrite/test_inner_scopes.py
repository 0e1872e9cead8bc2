"""Variable scopes inside a builder's body (``analysis.inner_scopes``, BN017, BN018).

``with tf.variable_scope("Branch_0"):`` blocks nested in a builder (facenet's inception blocks) go; the
layers made under them are named after the path joined by ``_`` (a Keras name cannot hold ``/``), and
the report maps each TF1 variable ``block/Branch_0/fc/kernel`` to its Keras path
``block/Branch_0_fc/kernel``. What cannot be proven stays, with its reason. The fixture
``tf1/inner_scopes.py`` (catalog) runs the migration on TensorFlow and checks it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.inner_scopes import keras_name, tf1_name
from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status
from tests.conftest import REPO
from tests.rewrite.helpers import assert_rewrite
from tests.rewrite.test_builders import PLAIN, program
from tests.rewrite.test_library import HEAD as LIBRARY_HEAD
from tests.rewrite.test_library import LIBRARY, left_in_library

TWO_LEVELS = """def block(inputs, training):
    with tf.variable_scope("block"):
        with tf.variable_scope("Branch_0"):
            a = tf.layers.dense(inputs, 4, name="fc")
            a = tf.layers.batch_normalization(a, training=training, name="bn")
        with tf.variable_scope("Branch_1"):
            with tf.variable_scope("inner"):
                b = tf.layers.dense(inputs, 4, name="fc")
        b = tf.layers.dense(b, 4, name="fc")
        return a + b


"""
GRAPH = "h = block(x, is_training)\n"

SLIM_BLOCK = LIBRARY_HEAD + (
    "def block35(net, is_training=True, scale=1.0, scope=None, reuse=None):\n"
    '    with tf.variable_scope(scope, "Block35", [net], reuse=reuse):\n'
    "        with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
    'normalizer_params={"is_training": is_training}):\n'
    '            with tf.variable_scope("Branch_0"):\n'
    '                tower_conv = slim.conv2d(net, 4, 1, scope="Conv2d_1x1")\n'
    '            with tf.variable_scope("Branch_1"):\n'
    '                tower_conv1 = slim.conv2d(net, 4, 1, scope="Conv2d_0a_1x1")\n'
    "            mixed = tf.concat([tower_conv, tower_conv1], 3)\n"
    "            up = slim.conv2d(mixed, 3, 1, normalizer_fn=None, activation_fn=None, "
    'scope="Conv2d_1x1")\n'
    "        net += scale * up\n"
    "    return net\n"
)


def migrated(source: str, options: RewriteOptions = PLAIN) -> RewriteResult:
    """The rewrite of ``source``: changed, parsing, and unchanged by a second rewrite."""
    result = rewrite_source(source, path="case.py", options=options)
    assert result.status is Status.CHANGED, result.left
    ast.parse(result.code)
    cst.parse_module(result.code)
    again = rewrite_source(result.code, path="case.py", options=options)
    assert again.code == result.code
    return result


def left(source: str, rule: str, fragment: str, options: RewriteOptions = PLAIN) -> None:
    result = rewrite_source(source, path="case.py", options=options)
    assert result.status is Status.SKIPPED and result.code == source, result.code
    assert any(s.rule == rule and fragment in s.message for s in result.left), result.left


def test_names_join_the_path() -> None:
    assert keras_name(("Branch_1", "inner"), "fc") == "Branch_1_inner_fc"
    assert tf1_name(("Branch_1", "inner"), "fc") == "Branch_1/inner/fc"
    assert keras_name((), "fc") == "fc"


def test_one_and_two_levels_in_a_program_builder() -> None:
    result = migrated(program(GRAPH, builder=TWO_LEVELS))
    assert (
        "class Block(tf.keras.Model):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        '        self.Branch_0_fc = tf.keras.layers.Dense(4, name="Branch_0_fc")\n'
        "        self.Branch_0_bn = tf.keras.layers.BatchNormalization(momentum=0.99, "
        'epsilon=0.001, name="Branch_0_bn")\n'
        '        self.Branch_1_inner_fc = tf.keras.layers.Dense(4, name="Branch_1_inner_fc")\n'
        '        self.fc = tf.keras.layers.Dense(4, name="fc")\n'
        "\n"
        "    def call(self, inputs, training):\n"
        "        a = self.Branch_0_fc(inputs)\n"
        "        a = self.Branch_0_bn(a, training=training)\n"
        "        b = self.Branch_1_inner_fc(inputs)\n"
        "        b = self.fc(b)\n"
        "        return a + b\n"
    ) in result.code
    assert "variable_scope" not in result.code
    messages = [s.message for s in result.applied if s.rule == "BN017"]
    assert any(
        'variable scope "block/Branch_1/inner" inside `block` dissolved' in m for m in messages
    )


def test_the_report_maps_full_tf1_names_to_keras_paths() -> None:
    result = migrated(program(GRAPH, builder=TWO_LEVELS))
    assert dict(result.models[0].variables) == {
        "block/Branch_0/fc/kernel": "block/Branch_0_fc/kernel",
        "block/Branch_0/fc/bias": "block/Branch_0_fc/bias",
        "block/Branch_0/bn/gamma": "block/Branch_0_bn/gamma",
        "block/Branch_0/bn/beta": "block/Branch_0_bn/beta",
        "block/Branch_0/bn/moving_mean": "block/Branch_0_bn/moving_mean",
        "block/Branch_0/bn/moving_variance": "block/Branch_0_bn/moving_variance",
        "block/Branch_1/inner/fc/kernel": "block/Branch_1_inner_fc/kernel",
        "block/Branch_1/inner/fc/bias": "block/Branch_1_inner_fc/bias",
        "block/fc/kernel": "block/fc/kernel",
        "block/fc/bias": "block/fc/bias",
    }


def test_the_report_names_the_instance_its_paths_start_with() -> None:
    """``check --from-report`` and ``convert-checkpoint --mapping`` build the class with these
    arguments: a class built without its name would be ``Block35`` -> ``block35`` in Keras."""
    result = migrated(SLIM_BLOCK, LIBRARY)
    assert result.models[0].model_args == (("name", "Block35"),)
    assert result.models[0].builder_args == (("scope", None), ("reuse", None))  # not scale=1.0


def test_a_builder_without_a_scope_of_its_own() -> None:
    builder = TWO_LEVELS.replace('    with tf.variable_scope("block"):\n', "    if True:\n")
    result = migrated(program(GRAPH, builder=builder))
    assert (
        '        self.Branch_1_inner_fc = tf.keras.layers.Dense(4, name="Branch_1_inner_fc")\n'
        in (result.code)
    )
    assert dict(result.models[0].variables)["Branch_1/inner/fc/kernel"] == (
        "block/Branch_1_inner_fc/kernel"
    )


def test_library_block_with_a_default_name_scope_and_branches() -> None:
    result = migrated(SLIM_BLOCK, LIBRARY)
    code = result.code
    assert (
        '        self.Branch_0_Conv2d_1x1 = tf.keras.layers.Conv2D(4, 1, padding="same", '
        'use_bias=False, name="Branch_0_Conv2d_1x1")\n'
    ) in code
    assert (
        '        self.Conv2d_1x1 = tf.keras.layers.Conv2D(3, 1, activation=None, padding="same", '
        in (code)
    )
    assert (
        "        tower_conv1 = tf.nn.relu(self.Branch_1_Conv2d_0a_1x1_bn("
        "self.Branch_1_Conv2d_0a_1x1(net), training=training))\n"
    ) in code
    variables = dict(result.models[0].variables)
    assert variables["Block35/Branch_0/Conv2d_1x1/BatchNorm/moving_mean"] == (
        "Block35/Branch_0_Conv2d_1x1_bn/moving_mean"
    )
    assert variables["Block35/Branch_1/Conv2d_0a_1x1/weights"] == (
        "Block35/Branch_1_Conv2d_0a_1x1/kernel"
    )
    assert variables["Block35/Conv2d_1x1/biases"] == "Block35/Conv2d_1x1/bias"
    assert "Block35/Branch_0/Conv2d_1x1/BatchNorm/gamma" not in variables  # slim: scale=False
    assert len(variables) == 10


def test_a_scope_inside_a_library_builder_body_migrates() -> None:
    result = migrated(
        LIBRARY_HEAD + "def net(inputs, is_training=True):\n"
        "    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, "
        'normalizer_params={"is_training": is_training}):\n'
        '        with tf.variable_scope("Branch_0"):\n'
        '            h = slim.conv2d(inputs, 4, 3, scope="c")\n'
        "    return h\n",
        LIBRARY,
    )
    assert 'name="Branch_0_c")' in result.code and 'name="Branch_0_c_bn")' in result.code


WITH_BRANCH = TWO_LEVELS.replace(
    '        with tf.variable_scope("Branch_0"):\n', "        with tf.variable_scope({scope}):\n"
)


@pytest.mark.parametrize(
    ("builder", "rule", "fragment"),
    [
        (
            WITH_BRANCH.format(scope='"Branch_" + str(0)'),
            "BN017",
            "whose name is computed at run time",
        ),
        (WITH_BRANCH.format(scope='"Branch_0", reuse=True'), "BN017", "with `reuse=` inside"),
        (
            WITH_BRANCH.format(scope='"Branch_0", default_name="B"'),
            "BN017",
            'only `with tf.variable_scope("NAME"):` is migrated',
        ),
        (
            WITH_BRANCH.format(scope='"Branch_1"'),
            "BN017",
            'variable scope "Branch_1" is entered twice',
        ),
        (
            TWO_LEVELS.replace(
                '        with tf.variable_scope("Branch_0"):\n',
                '        for _ in range(2):\n          with tf.variable_scope("Branch_0"):\n',
            ),
            "BN017",
            'whose name `"Branch_0"` is "Branch_0" at two iterations',
        ),
        (
            TWO_LEVELS.replace(
                '            a = tf.layers.dense(inputs, 4, name="fc")\n',
                '            w = tf.get_variable("w", [3, 4])\n            a = tf.matmul(inputs, w)\n',
            ),
            "BN017",
            'tf.get_variable / tf.Variable under the inner variable scope "Branch_0"',
        ),
        (
            TWO_LEVELS.replace(
                'name="fc")\n        b = tf.layers.dense(b',
                'name="fc")\n'
                '        b = tf.layers.dense(b, 4, name="Branch_1_inner_fc")\n'
                "        b = tf.layers.dense(b",
            ),
            "BN017",
            'would both be named "Branch_1_inner_fc"',
        ),
        (
            TWO_LEVELS.replace(
                'a = tf.layers.dense(inputs, 4, name="fc")', "a = tf.layers.dense(inputs, 4)"
            ),
            "BN003",
            "layer without a literal name",
        ),
    ],
    ids=["computed", "reuse", "default_name", "twice", "loop", "get_variable", "clash", "unnamed"],
)
def test_what_cannot_be_proven_is_left_with_its_reason(
    builder: str, rule: str, fragment: str
) -> None:
    left(program(GRAPH, builder=builder), rule, fragment)


def test_an_inner_scope_named_elsewhere_is_left() -> None:
    """``tf.trainable_variables("block/Branch_0")`` selects by the path that would disappear."""
    graph = GRAPH + 'branch = tf.trainable_variables("block/Branch_0")\n'
    left(
        program(graph, builder=TWO_LEVELS),
        "BN017",
        'variable scope "block/Branch_0" is named again',
    )


REDUCTION = """def reduction(inputs, training):
    with tf.variable_scope("Branch_0"):
        a = tf.layers.dense(inputs, 4, name="fc")
    with tf.variable_scope("Branch_1"):
        b = tf.layers.dense(inputs, 4, name="fc")
        b = tf.layers.batch_normalization(b, training=training, name="bn")
    return a + b


def block(inputs, training):
    with tf.variable_scope("block"):
        h = tf.layers.dense(inputs, 3, name="stem")
        with tf.variable_scope("Mixed_6a"):
            h = reduction(h, training)
        return h


"""


def test_a_builder_called_under_an_inner_scope_is_an_instance_named_after_it() -> None:
    """TF1 named its layers ``block/Mixed_6a/Branch_1/bn``: the instance ``Mixed_6a`` holds
    ``Branch_1_bn``, so the Keras path is ``block/Mixed_6a/Branch_1_bn``."""
    result = migrated(program(GRAPH, builder=REDUCTION))
    assert '        self.reduction_1 = Reduction(name="Mixed_6a")\n' in result.code
    assert "        self.Branch_1_bn = tf.keras.layers.BatchNormalization(" in result.code
    assert "        h = self.reduction_1(h, training=training)\n" in result.code


def test_builders_called_under_an_inner_scope_that_cannot_be_named_are_left() -> None:
    twice = REDUCTION.replace(
        "            h = reduction(h, training)\n",
        "            h = reduction(h, training)\n            h = reduction(h, training)\n",
    )
    left(program(GRAPH, builder=twice), "BN017", "a second call of a builder (`reduction`)")
    not_a_builder = REDUCTION + "ALIAS = reduction\n\n\n"
    left(
        program(GRAPH, builder=not_a_builder),
        "BN017",
        "a call of `reduction`, a function of this module that is not a builder,",
    )
    named = REDUCTION.replace(
        "def reduction(inputs, training):", 'def reduction(inputs, training, name="r"):'
    )
    left(
        program(GRAPH, builder=named),
        "BN018",
        "its instance's Keras name, the scope's, would clash",
    )


def test_a_library_block_only_passed_to_slim_repeat_says_so() -> None:
    left_in_library(
        SLIM_BLOCK.replace("def block35(net, is_training=True,", "def block35(net,")
        + "\n\ndef net(inputs, is_training=True):\n"
        "    return slim.repeat(inputs, 2, block35, scale=0.2)\n",
        "BN000",
        "`block35` is not called but passed as a value (line 19, e.g. to slim.repeat)",
    )


def test_whole_body_scope_reason_is_unchanged_for_module_level_scopes() -> None:
    before = program(
        'with tf.variable_scope("outer"):\n    h = tf.layers.dense(x, 4, name="fc")\n',
        builder="",
    )
    assert_rewrite(before, None, left=[("BN000", 7)], options=PLAIN)


@pytest.mark.slow
def test_the_report_mapping_converts_a_trained_checkpoint_and_pairs_the_model(
    tmp_path: Path,
) -> None:
    """The fixture trained under TF1 and saved -> its migration and report -> the checkpoint converted
    with the report's names alone (every pair from the mapping; the program's dense head, not
    part of the block, dropped), verified against the TF1 block; and
    the report's model pair checked EQUIVALENT. (The codemod leaves a file that uses a Saver, so the
    saving run is a copy of the program with one line added.)"""
    script = (REPO / "tests" / "fixtures" / "tf1" / "inner_scopes.py").read_text(encoding="utf-8")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(script, encoding="utf-8")
    saving = '    tf.train.Saver().save(sess, "ckpt/model")\n'
    (tmp_path / "train_and_save.py").write_text(script + saving, encoding="utf-8")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bn_migrate", *argv],
            cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip

    trained = run("run-tf1", "train_and_save.py")
    assert trained.returncode == 0, trained.stderr[-2000:]
    rewritten = run("rewrite", "-q", "-j1", "src", "--output-dir", "out", "--report", "r.json")
    assert rewritten.returncode == 0, rewritten.stderr
    converted = run(
        "convert-checkpoint", "ckpt", "out/train.py::Block35", "-o", "block.weights.h5",
        "--input-shape", "6,6,3", "--builder", "src/train.py::block35", "--mapping", "r.json",
        "--drop", "logits/*", "--format", "json",
    )  # fmt: skip
    assert converted.returncode == 0, converted.stdout[-3000:] + converted.stderr[-2000:]
    report = json.loads(converted.stdout)
    assert report["status"] == "verified"
    pairs = {p["old"]: (p["new"], p["source"]) for p in report["pairs"]}
    assert len(pairs) == 14 and {source for _, source in pairs.values()} == {"mapping file"}
    assert pairs["Block35/Branch_1/Conv2d_0b_3x3/BatchNorm/moving_variance"][0] == (
        "Block35/Branch_1_Conv2d_0b_3x3_bn/moving_variance"
    )
    # one TF1 run: without a run-to-run spread to hide in (the codemod's goldens are checked the same way)
    checked = run(
        "check", "--from-report", "r.json", "--input-shape", "6,6,3", "--old-repeats", "1"
    )
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert "1 pair(s): 1 equivalent" in checked.stdout
