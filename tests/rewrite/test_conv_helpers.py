"""Convolution helpers (DCGAN's ``conv2d`` / ``deconv2d``): each call is written as the
``tf.layers.conv2d`` / ``tf.layers.conv2d_transpose`` call making the same scope, kernel, bias and
output, and migrated as such (Keras ``Conv2D`` / ``Conv2DTranspose``); a helper that is not exactly
that shape, or a call that does not fix its layer, leaves the file with the condition that failed at its
line (``analysis.dense_helpers``, ``planning.dense_helpers``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis import dense_helpers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO
from tests.rewrite.test_flat_dcgan import golden_planted_is_caught

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

HELPERS = """
import numpy as np
import tensorflow as tf


def conv2d(input_, output_dim,
           k_h=5, k_w=5, d_h=2, d_w=2, stddev=0.02,
           name="conv2d"):
    with tf.variable_scope(name):
        w = tf.get_variable('w', [k_h, k_w, input_.get_shape()[-1], output_dim],
                            initializer=tf.truncated_normal_initializer(stddev=stddev))
        conv = tf.nn.conv2d(input_, w, strides=[1, d_h, d_w, 1], padding='SAME')

        biases = tf.get_variable('biases', [output_dim], initializer=tf.constant_initializer(0.0))
        conv = tf.reshape(tf.nn.bias_add(conv, biases), conv.get_shape())

        return conv


def deconv2d(input_, output_shape,
             k_h=5, k_w=5, d_h=2, d_w=2, stddev=0.02,
             name="deconv2d", with_w=False):
    with tf.variable_scope(name):
        # filter : [height, width, output_channels, in_channels]
        w = tf.get_variable('w', [k_h, k_w, output_shape[-1], input_.get_shape()[-1]],
                            initializer=tf.random_normal_initializer(stddev=stddev))

        try:
            deconv = tf.nn.conv2d_transpose(input_, w, output_shape=output_shape,
                                            strides=[1, d_h, d_w, 1])

        # Support for verisons of TensorFlow before 0.7.0
        except AttributeError:
            deconv = tf.nn.deconv2d(input_, w, output_shape=output_shape,
                                    strides=[1, d_h, d_w, 1])

        biases = tf.get_variable('biases', [output_shape[-1]], initializer=tf.constant_initializer(0.0))
        deconv = tf.reshape(tf.nn.bias_add(deconv, biases), deconv.get_shape())

        if with_w:
            return deconv, w, biases
        else:
            return deconv

"""

PROGRAM = (
    HELPERS
    + """
data = np.ones((4, 8, 8, 1), np.float32)
x = tf.placeholder(tf.float32, [4, 8, 8, 1])
is_training = tf.placeholder(tf.bool)
h = tf.layers.batch_normalization(conv2d(x, 2, k_h=3, k_w=3, name="c1"), training=is_training)
y = deconv2d(tf.nn.relu(h), [4, 8, 8, 1], k_h=3, k_w=3, stddev=0.1, name="d1")
loss = tf.reduce_mean(tf.square(y - x))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        _, value = sess.run([train_op, loss], {x: data, is_training: True})
        print(value)
"""
)


def _line(source: str, text: str) -> int:
    source = textwrap.dedent(source).removeprefix("\n")
    return source[: source.index(text)].count("\n") + 1


def test_each_call_becomes_a_keras_convolution_with_the_helpers_variables() -> None:
    """``conv2d``: a Conv2D with the call's kernel size, DCGAN's default strides (2, 2), "same"
    padding and the helper's initializers; ``deconv2d``: a Conv2DTranspose whose filters are the
    output shape's channels. The helpers go; a second rewrite changes nothing."""
    source = textwrap.dedent(PROGRAM).removeprefix("\n")
    result = rewrite_source(source)
    assert result.status is Status.CHANGED and not result.left, result.left
    code = result.code
    assert "def conv2d" not in code and "def deconv2d" not in code and "get_variable" not in code
    assert (
        'c1 = tf.keras.layers.Conv2D(2, kernel_size=(3, 3), strides=(2, 2), padding="same", '
        "kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.02), "
        'bias_initializer=tf.keras.initializers.Constant(value=0.0), name="c1")'
    ) in code, code
    assert (
        'd1 = tf.keras.layers.Conv2DTranspose(1, kernel_size=(3, 3), strides=(2, 2), padding="same", '
        "kernel_initializer=tf.keras.initializers.RandomNormal(stddev=0.1), "
        'bias_initializer=tf.keras.initializers.Constant(value=0.0), name="d1")'
    ) in code, code
    assert "y = d1(tf.nn.relu(h))" in code, code
    helpers = sorted((s.line, s.message) for s in result.applied if s.rule == "BN014")
    assert [line for line, _ in helpers] == [
        _line(PROGRAM, "def conv2d("),
        _line(PROGRAM, "def deconv2d("),
    ]
    assert "convolution helper `deconv2d` removed" in helpers[1][1]
    assert "tf.layers.conv2d_transpose call" in helpers[1][1]
    assert "`<scope>/w` is the Keras `<scope>/kernel`" in helpers[1][1]
    assert "`<scope>/biases` is the Keras `<scope>/bias`" in helpers[1][1]
    assert rewrite_source(code).status is Status.UNCHANGED
    cst.parse_module(code)


def test_the_analysis_reads_the_sizes_of_each_call() -> None:
    module = cst.parse_module(textwrap.dedent(PROGRAM))
    found = dense_helpers.read(module, AliasTable.build(module))
    assert not found.refusals
    conv, deconv = found.found
    assert (conv.layer, deconv.layer) == ("layers.conv2d", "layers.conv2d_transpose")
    assert (conv.weight_name, conv.bias_name) == ("w", "biases")
    options = {
        keyword: module.code_for_node(value)
        for helper in found.found
        for call in helper.calls
        for keyword, value in call.options
        if helper is deconv
    }
    assert options == {"kernel_size": "(3, 3)", "strides": "(2, 2)", "padding": '"same"'}
    assert module.code_for_node(deconv.calls[0].units) == "1"


@pytest.mark.parametrize(
    ("source", "at", "reason"),
    [
        pytest.param(
            PROGRAM.replace("[4, 8, 8, 1], k_h=3", "[4, 7, 7, 1], k_h=3"),
            "[4, 7, 7, 1]",
            "the output shape is not `[batch, H, W, C]` with H and W integers the strides divide",
            id="deconv-output-not-a-multiple-of-the-stride",
        ),
        pytest.param(
            PROGRAM.replace("[4, 8, 8, 1], k_h=3", "out_shape, k_h=3").replace(
                "data = ", "out_shape = [4, 8, 8, 1]\ndata = "
            ),
            "out_shape, k_h=3",
            "the output shape is not `[batch, H, W, C]`",
            id="deconv-output-shape-computed",
        ),
        pytest.param(
            PROGRAM.replace("k_h=3, k_w=3, name=", "k_h=size, k_w=3, name=").replace(
                "data = ", "size = 3\ndata = "
            ),
            "conv2d(x, 2",
            "`k_h`, a size of the kernel or stride, is not a literal at this call",
            id="kernel-size-computed",
        ),
        pytest.param(
            PROGRAM.replace('stddev=0.1, name="d1")', 'stddev=0.1, name="d1", with_w=True)[0]'),
            "deconv2d(tf.nn.relu(h)",
            "`with_w` is True at this call and the weight or bias it returns is read",
            id="with-w-true",
        ),
        pytest.param(
            PROGRAM.replace(
                "strides=[1, d_h, d_w, 1])\n\n", "strides=[1, d_h, d_w, 1], padding='VALID')\n\n"
            ),
            "deconv = tf.nn.conv2d_transpose(",
            "expected the input convolved by the kernel above, `strides=[1, d_h, d_w, 1]` and SAME padding",
            id="deconv-valid-padding",
        ),
        pytest.param(
            PROGRAM.replace("padding='SAME')", "padding='SAME', data_format='NHWC')"),
            "conv = tf.nn.conv2d(",
            "an argument of the convolution other than input, filter, strides, padding",
            id="conv-data-format",
        ),
        pytest.param(
            PROGRAM.replace("deconv = tf.nn.deconv2d(", "deconv = tf.nn.conv2d_transpose("),
            "try:",
            "`try:` other than one statement whose handler re-raises what it caught",
            id="fallback-that-tf1-has",
        ),
        pytest.param(
            PROGRAM.replace(
                "        conv = tf.reshape(tf.nn.bias_add(conv, biases), conv.get_shape())\n", ""
            ).replace("        return conv\n", "        return tf.nn.bias_add(conv, biases)\n"),
            "    with tf.variable_scope(name):",
            "expected the kernel, the convolution, the bias, the reshape of their sum",
            id="no-reshape",
        ),
        pytest.param(
            PROGRAM.replace(
                "[k_h, k_w, input_.get_shape()[-1], output_dim]", "[k_h, k_w, 1, output_dim]"
            ),
            "[k_h, k_w, 1, output_dim]",
            "the kernel's shape `[k_h, k_w, 1, output_dim]` is not `[k_h, k_w, input's channels, out]`",
            id="kernel-channels-fixed",
        ),
        pytest.param(
            PROGRAM.replace(
                "update_ops = ",
                'kernels = [v for v in tf.trainable_variables() if "/w:" in v.name]\nupdate_ops = ',
            ),
            "kernels = ",
            "this string may select variables by name (it overlaps `w`)",
            id="selected-by-the-kernels-name",
        ),
    ],
)
def test_a_helper_that_is_not_exactly_a_keras_convolution_is_left_with_the_reason(
    source: str, at: str, reason: str
) -> None:
    source = textwrap.dedent(source).removeprefix("\n")
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    line = _line(source, at) + at.count("\n")
    found = [s for s in result.left if s.rule == "BN014" and s.line == line and reason in s.message]
    assert found, (line, sorted((s.line, s.rule, s.message) for s in result.left))
    assert "is not made a Keras Conv2D" in found[0].message


MATHS = """
import numpy as np

from bn_migrate.runtime.legacy import install

tf = install()
HELPERS


np.random.seed(0)
for shape, out_dim in (((2, 8, 8, 3), 4), ((2, 7, 5, 3), 2)):
    for k, d in ((5, 2), (3, 1), (3, 2)):
        tf.reset_default_graph()
        x = tf.constant(np.random.randn(*shape).astype(np.float32))
        helper = conv2d(x, out_dim, k_h=k, k_w=k, d_h=d, d_w=d, name="helper")
        layer = tf.layers.conv2d(x, out_dim, (k, k), (d, d), padding="same", name="layer")
        out_shape = [shape[0], shape[1] * d, shape[2] * d, out_dim]
        up = deconv2d(x, out_shape, k_h=k, k_w=k, d_h=d, d_w=d, name="up_helper")
        up_layer = tf.layers.conv2d_transpose(x, out_dim, (k, k), (d, d), padding="same", name="up_layer")
        names = sorted(v.name for v in tf.global_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for a, b in (("helper", "layer"), ("up_helper", "up_layer")):
                for old, new in (("w", "kernel"), ("biases", "bias")):
                    source = tf.get_default_graph().get_tensor_by_name(f"{a}/{old}:0")
                    target = tf.get_default_graph().get_tensor_by_name(f"{b}/{new}:0")
                    value = np.random.randn(*source.shape.as_list()).astype(np.float32)
                    sess.run([tf.assign(source, value), tf.assign(target, value)])
            ours, theirs, up_ours, up_theirs = sess.run([helper, layer, up, up_layer])
        print(shape, k, d, ours.shape == theirs.shape, np.array_equal(ours, theirs),
              up_ours.shape == up_theirs.shape, np.array_equal(up_ours, up_theirs), names)
""".replace("HELPERS", HELPERS.split("import tensorflow as tf\n", 1)[1])


@pytest.mark.slow
def test_the_helpers_compute_what_the_tf_layers_compute() -> None:
    """On the legacy runtime (TF1 semantics): with the same kernel and bias values, ``conv2d`` and
    ``tf.layers.conv2d(..., padding="same")``, ``deconv2d`` (output shape the input's times the
    strides) and ``tf.layers.conv2d_transpose(..., padding="same")`` give the same outputs bit for bit,
    for odd sizes and strides 1 and 2 too: the kernels' layouts and the reshape to the static shape
    change nothing. Each makes a kernel and a bias in its scope (``w``/``biases``, ``kernel``/``bias``)."""
    ran = subprocess.run(
        [sys.executable, "-c", MATHS], capture_output=True, text=True, timeout=300, check=True
    )
    rows = [line for line in ran.stdout.splitlines() if line.startswith("(")]
    assert len(rows) == 6, ran.stdout + ran.stderr
    for row in rows:
        assert "True True True True" in row, row
        assert (
            "['helper/biases:0', 'helper/w:0', 'layer/bias:0', 'layer/kernel:0', "
            "'up_helper/biases:0', 'up_helper/w:0', 'up_layer/bias:0', 'up_layer/kernel:0']"
        ) in row, row


DCGAN_CONV = REPO / "tests" / "fixtures" / "tf1" / "dcgan_conv.py"


def test_the_dcgan_conv_fixture_is_migrated_whole_with_its_variables_mapped() -> None:
    """tests/fixtures/tf1/dcgan_conv.py (DCGAN's three helpers as written there, module-level builders,
    var_lists by TF1 names): migrated with nothing left (its golden output and the check finding it
    EQUIVALENT: tests/rewrite/test_engine_golden.py); the report pairs each helper's TF1 names with the
    Keras layer's."""
    source = DCGAN_CONV.read_text(encoding="utf-8")
    result = rewrite_source(source, path="dcgan_conv.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    removed = sorted(s.message.split("`")[1] for s in result.applied if "helper `" in s.message)
    assert removed == ["conv2d", "deconv2d", "linear"]
    variables = {old: new for pair in result.models for old, new in pair.variables}
    assert variables["discriminator/d_h0_conv/w"] == "discriminator/d_h0_conv/kernel"
    assert variables["discriminator/d_h1_conv/biases"] == "discriminator/d_h1_conv/bias"
    assert variables["discriminator/d_h2_lin/Matrix"] == "discriminator/d_h2_lin/kernel"
    assert variables["generator/g_h1/w"] == "generator/g_h1/kernel"
    assert variables["generator/g_h1/biases"] == "generator/g_h1/bias"
    assert not [name for name in variables if name.endswith(("/kernel", "/bias:0"))]
    assert rewrite_source(result.code, path="dcgan_conv.py").status is Status.UNCHANGED


@pytest.mark.slow
def test_a_planted_padding_in_the_migrated_fixture_is_caught(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """The codemod's migration of the fixture (the golden, checked EQUIVALENT by test_engine_golden)
    with D's first convolution padding "valid" where the TF1 helper padded SAME (3x3 outputs instead of
    4x4; the second convolution still makes 2x2) is found DIFFERENT."""
    text = (
        'd_h0_conv = tf.keras.layers.Conv2D(4, kernel_size=(3, 3), strides=(2, 2), padding="same"'
    )
    golden_planted_is_caught(
        "dcgan_conv", tmp_path, old_cache, (text, text.replace('"same"', '"valid"'))
    )


TF1_SIDE = """import sys
import numpy as np
from bn_migrate.runtime.legacy import install
tf = install()
rng = np.random.RandomState(0)
out = {}
SIZES = (((2, 8, 8, 3), 5, 2, 4), ((2, 7, 5, 3), 3, 2, 2), ((2, 8, 8, 3), 3, 1, 4))
for i, (shape, k, d, oc) in enumerate(SIZES):
    tf.reset_default_graph()
    x = rng.randn(*shape).astype(np.float32)
    w = rng.randn(k, k, shape[3], oc).astype(np.float32)
    wt = rng.randn(k, k, oc, shape[3]).astype(np.float32)
    b = rng.randn(oc).astype(np.float32)
    xt = tf.constant(x)
    conv = tf.nn.conv2d(xt, w, strides=[1, d, d, 1], padding="SAME")
    conv = tf.reshape(tf.nn.bias_add(conv, b), conv.get_shape())
    os_ = [shape[0], shape[1] * d, shape[2] * d, oc]
    de = tf.nn.conv2d_transpose(xt, wt, output_shape=os_, strides=[1, d, d, 1])
    de = tf.reshape(tf.nn.bias_add(de, b), de.get_shape())
    with tf.Session() as s:
        c, dd = s.run([conv, de])
    out.update({f"x{i}": x, f"w{i}": w, f"wt{i}": wt, f"b{i}": b, f"c{i}": c, f"d{i}": dd})
tf.reset_default_graph()
tn = tf.get_variable("tn", [1000000], initializer=tf.truncated_normal_initializer(stddev=0.3))
rn = tf.get_variable("rn", [1000000], initializer=tf.random_normal_initializer(stddev=0.3))
with tf.Session() as s:
    s.run(tf.global_variables_initializer())
    out["tn"], out["rn"] = s.run([tn, rn])
np.savez(sys.argv[1], **out)
"""

TF2_SIDE = """import sys
import numpy as np
import tensorflow as tf
z = np.load(sys.argv[1])
for i, (k, d, oc) in enumerate(((5, 2, 4), (3, 2, 2), (3, 1, 4))):
    x = z[f"x{i}"]
    conv = tf.keras.layers.Conv2D(oc, (k, k), strides=(d, d), padding="same")
    conv.build(x.shape); conv.kernel.assign(z[f"w{i}"]); conv.bias.assign(z[f"b{i}"])
    de = tf.keras.layers.Conv2DTranspose(oc, (k, k), strides=(d, d), padding="same")
    de.build(x.shape); de.kernel.assign(z[f"wt{i}"]); de.bias.assign(z[f"b{i}"])
    c, dd = conv(x).numpy(), de(x).numpy()
    old_c, old_d = z[f"c{i}"], z[f"d{i}"]
    print(i, "conv", c.shape == old_c.shape, float(np.abs(c - old_c).max()), np.array_equal(c, old_c),
          "deconv", dd.shape == old_d.shape, float(np.abs(dd - old_d).max()), np.array_equal(dd, old_d))
tn = tf.keras.initializers.TruncatedNormal(stddev=0.3)(shape=[1000000]).numpy()
rn = tf.keras.initializers.RandomNormal(stddev=0.3)(shape=[1000000]).numpy()
for name, a, b in (("truncated", z["tn"], tn), ("normal", z["rn"], rn)):
    print(name, "TF1 mean %.5f std %.5f max|x| %.4f  Keras mean %.5f std %.5f max|x| %.4f"
          % (a.mean(), a.std(), np.abs(a).max(), b.mean(), b.std(), np.abs(b).max()))
"""


@pytest.mark.slow
def test_keras_convolutions_compute_what_the_tf1_helpers_computed(tmp_path: Path) -> None:
    """From the same inputs and variables, DCGAN's ``conv2d`` / ``deconv2d`` maths on the legacy runtime
    (TF1 semantics: ``tf.nn.conv2d`` SAME, ``conv2d_transpose`` to the input's size times the strides,
    ``bias_add``, the reshape) and Keras's ``Conv2D`` / ``Conv2DTranspose(padding="same")`` on TF 2.21
    give the same outputs bit for bit (odd sizes, strides 1 and 2), kernel for kernel (oneDNN's off):
    the kernel layouts are the same.
    The initializers draw alike: TF1's ``truncated_normal_initializer(stddev=0.3)`` and Keras's
    ``TruncatedNormal`` cut at two deviations (0.6, deviation 0.264 after the cut), the normal ones 0.3."""
    saved = tmp_path / "tf1.npz"
    # oneDNN's kernels off on both sides: with them on, which kernel runs depends on the CPU (an AMD
    # EPYC with AVX-512 BF16 gave the transposed convolution a 1.9e-6 rounding difference)
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    subprocess.run(
        [sys.executable, "-c", TF1_SIDE, str(saved)],
        capture_output=True,
        timeout=300,
        check=True,
        env=env,
    )
    ran = subprocess.run(
        [sys.executable, "-c", TF2_SIDE, str(saved)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
    )
    rows = ran.stdout.splitlines()
    same = [row for row in rows if row.split()[0] in ("0", "1", "2")]
    assert len(same) == 3, ran.stdout + ran.stderr
    for row in same:
        assert row.split()[1:] == ["conv", "True", "0.0", "True", "deconv", "True", "0.0", "True"]
    drawn = [row for row in rows if row.startswith(("truncated", "normal"))]
    assert [row.split()[0] for row in drawn] == ["truncated", "normal"], ran.stdout
    for row in drawn:
        numbers = [float(word) for word in row.split() if word[0].isdigit() or word[0] == "-"]
        tf1_std, tf1_max, keras_std, keras_max = numbers[1], numbers[2], numbers[4], numbers[5]
        assert abs(tf1_std - keras_std) < 0.002, row
        if row.startswith("truncated"):
            assert abs(tf1_std - 0.2639) < 0.002 and tf1_max <= 0.6 and keras_max <= 0.6, row
        else:
            assert abs(tf1_std - 0.3) < 0.002, row


def test_tf_layers_conv2d_transpose_becomes_a_keras_conv2d_transpose() -> None:
    """BN003 (what a ``deconv2d`` call is written as): ``tf.layers.conv2d_transpose`` with its arguments
    as they are, one Keras ``Conv2DTranspose`` created once and called in the graph function."""
    source = textwrap.dedent(
        """
        import numpy as np
        import tensorflow as tf

        data = np.ones((4, 4, 4, 2), np.float32)
        x = tf.placeholder(tf.float32, [None, 4, 4, 2])
        y = tf.layers.conv2d_transpose(x, 3, (3, 3), (2, 2), padding="same", name="up")
        loss = tf.reduce_mean(tf.square(y))
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(2):
                _, value = sess.run([train_op, loss], {x: data})
                print(value)
        """
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED and not result.left, result.left
    assert (
        'up = tf.keras.layers.Conv2DTranspose(3, (3, 3), (2, 2), padding="same", name="up")'
        in result.code
    ), result.code
    assert "y = up(x)" in result.code, result.code
    assert rewrite_source(result.code).status is Status.UNCHANGED


def test_a_valid_convolution_helper_keeps_its_padding() -> None:
    """``tf.nn.conv2d(..., padding='VALID')`` in the helper: the Conv2D pads "valid" (the same
    arithmetic as TF1's VALID)."""
    source = (
        textwrap.dedent(PROGRAM).removeprefix("\n").replace("padding='SAME')", "padding='VALID')")
    )
    source = source.replace("[4, 8, 8, 1], k_h=3", "[4, 6, 6, 1], k_h=3")  # 3x3 rows -> 6x6
    source = source.replace("tf.square(y - x)", "tf.square(y)")
    result = rewrite_source(source)
    assert result.status is Status.CHANGED and not result.left, result.left
    assert (
        'c1 = tf.keras.layers.Conv2D(2, kernel_size=(3, 3), strides=(2, 2), padding="valid", '
        in result.code
    ), result.code
