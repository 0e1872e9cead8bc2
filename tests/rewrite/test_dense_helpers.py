"""Dense helpers (DCGAN's ``linear``): each call is written as the ``tf.layers.dense`` call making the
same scope, variables and product, and migrated as such; a helper that is not exactly that shape, or a
call that does not fix its layer, leaves the file with the condition that failed at its line
(``analysis.dense_helpers``, ``planning.dense_helpers``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis import dense_helpers
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite

HELPER = """
import numpy as np
import tensorflow as tf


def linear(input_, output_size, scope=None, stddev=0.02, bias_start=0.0):
    shape = input_.get_shape().as_list()
    with tf.variable_scope(scope or "Linear"):
        matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                 tf.random_normal_initializer(stddev=stddev))
        bias = tf.get_variable("bias", [output_size], initializer=tf.constant_initializer(bias_start))
        return tf.matmul(input_, matrix) + bias

"""

PROGRAM = (
    HELPER
    + """
data = np.ones((8, 3), np.float32)
x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = tf.layers.batch_normalization(linear(x, 4, "hidden", stddev=0.1), training=is_training)
loss = tf.reduce_mean(tf.square(linear(tf.nn.relu(h), 1, "out", bias_start=0.5)))
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

PROGRAM_AFTER = """
import numpy as np
import tensorflow as tf


data = np.ones((8, 3), np.float32)

batch_normalization = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001)
DENSE_LAYERS


def graph(x, is_training):
    x = tf.cast(x, tf.float32)
    h = batch_normalization(hidden(x), training=is_training)
    loss = tf.reduce_mean(tf.square(out(tf.nn.relu(h))))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, is_training)
    variables = [
        v for layer in (batch_normalization, hidden, out) for v in layer.trainable_variables
    ]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(2):
    value = train_step(x=data, is_training=True).numpy()
    print(value)
""".replace(
    "DENSE_LAYERS\n",
    "hidden = tf.keras.layers.Dense(4, kernel_initializer=tf.keras.initializers.RandomNormal("
    'stddev=0.1), bias_initializer=tf.keras.initializers.Constant(value=0.0), name="hidden")\n'
    "out = tf.keras.layers.Dense(1, kernel_initializer=tf.keras.initializers.RandomNormal("
    'stddev=0.02), bias_initializer=tf.keras.initializers.Constant(value=0.5), name="out")\n',
)

IN_A_BUILDER = (
    HELPER
    + """
data = np.ones((8, 3), np.float32)


def net(inputs, is_training):
    with tf.variable_scope("net"):
        h = tf.layers.batch_normalization(linear(inputs, 4, "fc1"), training=is_training)
        return linear(tf.nn.relu(linear(h, 4, "fc2")), 1)


x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
loss = tf.reduce_mean(tf.square(net(x, is_training)))
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
    """The line of ``text`` in ``source`` as the tests rewrite it (dedented, first newline dropped)."""
    source = textwrap.dedent(source).removeprefix("\n")
    return source[: source.index(text)].count("\n") + 1


def test_each_call_becomes_a_dense_layer_with_the_helpers_variables() -> None:
    """Named after the call's scope, the weight from the helper's initializer with the call's
    ``stddev`` (or the default), the bias from its ``bias_start``; the helper goes."""
    result = assert_rewrite(PROGRAM, PROGRAM_AFTER)
    helper = [s for s in result.applied if "dense helper `linear` removed" in s.message]
    assert [(s.rule, s.line) for s in helper] == [("BN014", _line(PROGRAM, "def linear("))]
    assert "`hidden`, `out`" in helper[0].message and "`<scope>/Matrix`" in helper[0].message
    source = textwrap.dedent(PROGRAM).removeprefix("\n").splitlines()
    dense = {(s.line, s.col) for s in result.applied if s.rule in ("BN003", "BN013")}
    calls = {
        (
            _line(PROGRAM, f"linear({at}"),
            source[_line(PROGRAM, f"linear({at}") - 1].index("linear(") + 1,
        )
        for at in ("x, 4", "tf.nn.relu(h), 1")
    }
    assert dense == calls, result.applied  # each at its helper call


def test_in_a_builder_the_layers_are_sublayers_and_the_report_maps_matrix_to_kernel() -> None:
    """A call inside another call's input is written out too; a call without a scope makes TF1's
    default scope, ``Linear``. The report pairs ``net/fc1/Matrix`` with ``net/fc1/kernel``."""
    result = rewrite_source(textwrap.dedent(IN_A_BUILDER))
    assert result.status is Status.CHANGED, result.left
    code = result.code
    assert "def linear" not in code and "get_variable" not in code
    for layer in ("fc1", "fc2", "Linear"):
        assert code.count("tf.keras.layers.Dense(") == 3 and f'name="{layer}")' in code, code
    assert "return self.Linear(tf.nn.relu(self.fc2(h)))" in code, code
    (pair,) = result.models
    variables = dict(pair.variables)
    for layer in ("fc1", "fc2", "Linear"):
        assert variables[f"net/{layer}/Matrix"] == f"net/{layer}/kernel"
        assert variables[f"net/{layer}/bias"] == f"net/{layer}/bias"
    assert not [name for name in variables if name.endswith("/kernel")]
    assert rewrite_source(code).status is Status.UNCHANGED


def test_the_analysis_reads_the_helper_and_its_calls() -> None:
    module = cst.parse_module(textwrap.dedent(PROGRAM))
    found = dense_helpers.read(module, AliasTable.build(module))
    assert not found.refusals
    (helper,) = found.found
    assert (helper.weight_name, helper.bias_name) == ("Matrix", "bias")
    assert [call.scope for call in helper.calls] == ["hidden", "out"]
    stddev = [module.code_for_node(call.literals["stddev"]) for call in helper.calls]
    assert stddev == ["0.1", "0.02"]


WITH_TRY = HELPER.replace(
    """        matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                 tf.random_normal_initializer(stddev=stddev))
""",
    """        try:
            matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                     tf.random_normal_initializer(stddev=stddev))
        except ValueError as err:
            err.args = err.args + ("check the image size",)
            raise
""",
)

WITH_W = HELPER.replace("bias_start=0.0):", "bias_start=0.0, with_w=False):").replace(
    "        return tf.matmul(input_, matrix) + bias\n",
    "        if with_w:\n"
    "            return tf.matmul(input_, matrix) + bias, matrix, bias\n"
    "        return tf.matmul(input_, matrix) + bias\n",
)


HIDDEN = (
    'h = tf.layers.batch_normalization(linear(x, 4, "hidden", stddev=0.1), training=is_training)'
)
UNPACKED = (
    'pre, hidden_w, hidden_b = linear(x, 4, "hidden", stddev=0.1, with_w=True)\n'
    "h = tf.layers.batch_normalization(pre, training=is_training)"
)


def test_with_w_true_whose_variables_are_read_nowhere_binds_the_output_alone() -> None:
    """``pre, hidden_w, hidden_b = linear(..., with_w=True)`` with the two variables read nowhere: the
    statement becomes ``pre = <the layer call>`` (the names bound nowhere else, the same graph)."""
    source = textwrap.dedent(WITH_W + PROGRAM[len(HELPER) :].replace(HIDDEN, UNPACKED))
    result = rewrite_source(source)
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "hidden_w" not in result.code and "pre = hidden(x)" in result.code, result.code
    assert "h = batch_normalization(pre, training=is_training)" in result.code, result.code
    assert rewrite_source(result.code).status is Status.UNCHANGED


DCGAN_LINEAR = WITH_TRY.replace("bias_start=0.0):", "bias_start=0.0, with_w=False):").replace(
    "        return tf.matmul(input_, matrix) + bias\n",
    "        if with_w:\n"
    "            return tf.matmul(input_, matrix) + bias, matrix, bias\n"
    "        else:\n"
    "            return tf.matmul(input_, matrix) + bias\n",
)


@pytest.mark.parametrize(
    "helper", [WITH_TRY, WITH_W, DCGAN_LINEAR], ids=["try", "with-w", "dcgan-linear"]
)
def test_dcgans_try_and_with_w_make_the_same_dense_layers(helper: str) -> None:
    """DCGAN's ``linear`` as written there: the ``try:`` around the weight only adds a hint to the
    ValueError it re-raises (the same weight when it runs), and ``with_w`` False (its default at
    every call) returns the product alone: the same Dense layers as the plain helper."""
    source = helper + PROGRAM[len(HELPER) :]
    result = assert_rewrite(source, PROGRAM_AFTER)
    assert any("dense helper `linear` removed" in s.message for s in result.applied)


@pytest.mark.parametrize(
    ("source", "at", "reason"),
    [
        pytest.param(
            PROGRAM.replace('"hidden", stddev', "names[0], stddev").replace(
                "data = ", 'names = ["hidden"]\ndata = '
            ),
            "linear(x, 4, names[0]",
            "the scope is not a literal string at this call",
            id="scope-computed",
        ),
        pytest.param(
            PROGRAM.replace("stddev=0.1", "stddev=spread").replace(
                "data = ", "spread = 0.1\ndata = "
            ),
            "linear(x, 4",
            "`stddev`, which an initializer reads, is not a literal at this call",
            id="initializer-value-computed",
        ),
        pytest.param(
            WITH_TRY.replace("            raise\n", "            matrix = None\n")
            + PROGRAM[len(HELPER) :],
            "try:",
            "`try:` other than one statement whose handler re-raises what it caught",
            id="try-swallowing-the-error",
        ),
        pytest.param(
            WITH_TRY.replace("except ValueError as err", "except (ValueError, TypeError) as err")
            + PROGRAM[len(HELPER) :],
            "try:",
            "`try:` other than one statement whose handler re-raises what it caught",
            id="try-catching-other-errors",
        ),
        pytest.param(
            WITH_W.replace("+ bias, matrix, bias", "+ bias, bias, matrix") + PROGRAM[len(HELPER) :],
            "with tf.variable_scope(",
            "the variables returned with the output are not the weight and bias",
            id="with-w-returning-other-variables",
        ),
        pytest.param(
            WITH_W.replace("+ bias, matrix, bias", "* 2.0 + bias, matrix, bias")
            + PROGRAM[len(HELPER) :],
            "if with_w:",
            "expected `if with_w: return out, weight, bias` then `return out`",
            id="with-w-returning-another-output",
        ),
        pytest.param(
            WITH_W
            + PROGRAM[len(HELPER) :].replace(
                'linear(tf.nn.relu(h), 1, "out", bias_start=0.5)',
                'linear(tf.nn.relu(h), 1, "out", bias_start=0.5, with_w=True)[0]',
            ),
            "with_w=True",
            "`with_w` is True at this call and the weight or bias it returns is read (or not "
            "bound to a name of its own, read nowhere): they would be the Keras layer's `kernel` "
            "and `bias` attributes",
            id="with-w-true-indexed",
        ),
        pytest.param(
            WITH_W
            + PROGRAM[len(HELPER) :]
            .replace(HIDDEN, UNPACKED)
            .replace("update_ops = ", "penalty = tf.nn.l2_loss(hidden_w)\nupdate_ops = "),
            "pre, hidden_w, hidden_b = ",
            "`with_w` is True at this call and the weight or bias it returns is read",
            id="with-w-true-weight-read",
        ),
        pytest.param(
            PROGRAM.replace(", initializer=tf.constant_initializer(bias_start)", ""),
            'bias = tf.get_variable("bias", [output_size])',
            "the bias has no initializer",
            id="bias-glorot",
        ),
        pytest.param(
            PROGRAM.replace("stddev=stddev))", "stddev=stddev), trainable=False)"),
            'matrix = tf.get_variable("Matrix"',
            "tf.get_variable(`trainable=`...)",
            id="not-trainable",
        ),
        pytest.param(
            PROGRAM.replace(
                "update_ops = ",
                'weights = [v for v in tf.trainable_variables() if "Matrix" in v.name]\nupdate_ops = ',
            ),
            "weights = ",
            "this string may select variables by name (it overlaps `Matrix`)",
            id="selected-by-name",
        ),
        pytest.param(
            PROGRAM.replace(
                "update_ops = ",
                'weights = [v for v in tf.trainable_variables() if "hidden/M" in v.name]\n'
                "update_ops = ",
            ),
            "weights = ",
            "this string may select variables by name (it overlaps `Matrix`)",
            id="selected-by-a-name-across-the-scope",
        ),
        pytest.param(
            PROGRAM.replace(
                "update_ops = ",
                'weights = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, "out/k")\n'
                "update_ops = ",
            ),
            "weights = ",
            "this string may select variables by name (it overlaps `kernel`)",
            id="selected-by-a-scope-prefix",
        ),
        pytest.param(
            PROGRAM.replace(
                "update_ops = ", 'hidden_vars = tf.trainable_variables("hidden")\nupdate_ops = '
            ),
            "hidden_vars = ",
            '"hidden", the name of a layer the helper makes, is written here too',
            id="scope-named-elsewhere",
        ),
        pytest.param(
            PROGRAM.replace('"out", bias_start=0.5', "bias_start=0.5").replace(
                '"hidden", stddev=0.1', "stddev=0.1"
            ),
            "linear(tf.nn.relu(h)",
            'a second call making the scope "Linear" in the same body',
            id="default-scope-twice",
        ),
        pytest.param(
            PROGRAM.replace("data = ", "dense = linear\ndata = "),
            "dense = linear",
            "`linear` is used here other than called",
            id="not-only-called",
        ),
        pytest.param(
            PROGRAM.replace('(scope or "Linear")', "(scope, reuse=tf.AUTO_REUSE)"),
            "with tf.variable_scope(",
            "expected one `with tf.variable_scope(scope):` with the scope alone",
            id="scope-reuse",
        ),
    ],
)
def test_a_helper_that_is_not_exactly_a_dense_layer_is_left_with_the_reason(
    source: str, at: str, reason: str
) -> None:
    source = textwrap.dedent(source).removeprefix("\n")
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    line = _line(source, at)
    found = [s for s in result.left if s.rule == "BN014" and s.line == line and reason in s.message]
    assert found, (line, sorted((s.line, s.rule, s.message) for s in result.left))
    assert (
        "`linear` (tf.get_variable times tf.matmul) is not made a Keras Dense layer"
        in found[0].message
    )


def test_a_builder_multiplying_free_variables_keeps_its_migration() -> None:
    """A function making a tf.get_variable and a tf.matmul without the helper's shape (no variable
    scope: a builder called once) is not a helper; BN014 migrates it as before, with no refusal."""
    source = textwrap.dedent(
        """
        import numpy as np
        import tensorflow as tf


        def net(inputs, is_training):
            w = tf.get_variable("w", [3, 4], initializer=tf.zeros_initializer())
            h = tf.layers.batch_normalization(tf.matmul(inputs, w), training=is_training)
            return tf.reduce_mean(h)


        data = np.ones((8, 3), np.float32)
        x = tf.placeholder(tf.float32, [None, 3])
        is_training = tf.placeholder(tf.bool)
        loss = net(x, is_training)
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
    module = cst.parse_module(source)
    found = dense_helpers.read(module, AliasTable.build(module))
    assert not found.found and not found.refusals  # not a helper, nor one it is about...
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left  # ...and migrated as before
    assert "net_w = tf.Variable(" in result.code, result.code


def test_a_helper_imported_from_another_module_is_not_written_out() -> None:
    """``from ops import linear``: what it makes is another module's business (no Dense here)."""
    source = textwrap.dedent(PROGRAM[len(HELPER) :]).replace(
        "\ndata = ", "\nfrom ops import linear\ndata = ", 1
    )
    source = "import numpy as np\nimport tensorflow as tf\n" + source
    result = rewrite_source(source)
    assert "Dense(" not in result.code and "dense helper" not in str(result.applied)


def test_a_helper_in_an_imported_module_goes_with_its_program() -> None:
    """DCGAN's layout: `linear` (and `lrelu`) in ``ops.py``, the calls in the training script. The
    program is migrated as one module: ``ops.py`` loses `linear`, keeps `lrelu`, and the script
    imports only that."""
    from bn_migrate.rewrite.engine import rewrite_program
    from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile

    source = textwrap.dedent(PROGRAM).removeprefix("\n")
    start, end = source.index("def linear"), source.index("data = ")
    lrelu = "def lrelu(x):\n    return tf.maximum(x, 0.2 * x)\n\n\n"
    ops = "import tensorflow as tf\n\n\n" + lrelu + source[start:end].rstrip() + "\n"
    script = source[:start].rstrip() + "\nfrom ops import linear, lrelu\n\n" + source[end:]
    script = script.replace("tf.nn.relu(h)", "lrelu(h)")
    line = script.splitlines().index("from ops import linear, lrelu") + 1
    train, library = rewrite_program(
        [ProgramFile("train.py", script), ProgramFile("ops.py", ops)], [ProgramEdge(0, line, 1)]
    )
    assert train.status is Status.CHANGED and library.status is Status.CHANGED, train.left
    assert "from ops import lrelu\n" in train.code
    assert "out = tf.keras.layers.Dense(1, kernel_initializer=" in train.code
    assert library.code == "import tensorflow as tf\n\n\n" + lrelu.rstrip() + "\n"


SCOPES = """
from bn_migrate.runtime.legacy import install

tf = install()


def linear(input_, output_size, scope=None):
    shape = input_.get_shape().as_list()
    with tf.variable_scope(scope or "Linear"):
        matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                 tf.random_normal_initializer(stddev=0.02))
        bias = tf.get_variable("bias", [output_size], initializer=tf.constant_initializer(0.0))
        return tf.matmul(input_, matrix) + bias


def dense(inputs, units, scope=None):
    return tf.layers.dense(inputs, units, name=scope or "Linear")


def twice(make, inputs):
    make(inputs, 2, "s")
    make(inputs, 2, "s")


def auto_reuse(make, inputs):
    with tf.variable_scope("outer", reuse=tf.AUTO_REUSE):
        twice(make, inputs)


def reentered(make, inputs):
    for _ in range(2):
        with tf.variable_scope("outer", reuse=tf.AUTO_REUSE):
            make(inputs, 2, "s")


def reused_builder(make, inputs):
    def builder(x, reuse=False):
        with tf.variable_scope("net", reuse=reuse):
            return make(x, 2, "s")

    builder(inputs)
    builder(inputs, True)


def scoped_builder_twice(make, inputs):
    def builder(x):
        with tf.variable_scope("net"):
            return make(x, 2, "s")

    builder(inputs)
    builder(inputs)


def reuse_variables(make, inputs):
    with tf.variable_scope("net") as scope:
        make(inputs, 2, "s")
        scope.reuse_variables()
        make(inputs, 2, "s")


for case in (twice, auto_reuse, reentered, reused_builder, scoped_builder_twice, reuse_variables):
    for make in (linear, dense):
        tf.reset_default_graph()
        inputs = tf.placeholder(tf.float32, [None, 3])
        try:
            case(make, inputs)
            made = sorted(v.name.replace("kernel", "Matrix") for v in tf.global_variables())
        except ValueError:
            made = "ValueError"
        print(case.__name__, make.__name__, made)
"""


@pytest.mark.slow
def test_the_helper_and_tf_layers_dense_make_the_same_scopes() -> None:
    """On the legacy runtime (TF1 semantics, about 20 s): under each arrangement of scopes, `linear`'s
    ``variable_scope(scope)`` and ``tf.layers.dense(name=scope)`` make the same variables (the weight's
    name aside) or both fail, so writing one as the other keeps what TF1 ran."""
    ran = subprocess.run(
        [sys.executable, "-c", SCOPES], capture_output=True, text=True, timeout=300, check=True
    )
    rows = [line.split(" ", 2) for line in ran.stdout.splitlines() if line.strip()]
    by_case: dict[str, dict[str, str]] = {}
    for case, make, made in rows:
        by_case.setdefault(case, {})[make] = made
    assert len(by_case) == 6, ran.stdout
    for case, made in by_case.items():
        assert made["linear"] == made["dense"], (case, made)
    assert by_case["twice"]["linear"] == "ValueError"
    assert by_case["reused_builder"]["linear"] == "['net/s/Matrix:0', 'net/s/bias:0']"


@pytest.mark.parametrize(
    ("text", "overlaps"),
    [("hidden/M", True), ("trix", True), ("rix:0", True), ("Matrix", True), ("hid", False),
     ("d_", False), ("ix_", False), ("/b", False), ("", False), ("Matrix/Adam", True),
     ("/Matrix:", True), ("xMatrix", False), ("Matrixx", False), ("hidden/Mat", True),
     ("hidden_M", False), ("ix:", True), ("d_.*", True), ("Mat(rix)?", True)],
)  # fmt: skip
def test_which_strings_would_select_other_variables(text: str, overlaps: bool) -> None:
    """A substring of a variable's name selects the same variables among TF1's and Keras's names
    unless it covers part of the weight's own name, which a ``/`` precedes and ``:`` or ``/``
    follows: ``"ix_"`` was said to overlap ``Matrix`` (any end of the name then anything); no
    variable's name has ``Matrix_``. A regular expression may match anything."""
    assert dense_helpers.overlaps(text, "Matrix") is overlaps


def test_a_filter_by_a_substring_away_from_the_weights_name_keeps_the_helper() -> None:
    source = textwrap.dedent(PROGRAM).replace(
        "update_ops = ",
        'weights = [v for v in tf.trainable_variables() if "hid" in v.name]\nupdate_ops = ',
    )
    module = cst.parse_module(source)
    found = dense_helpers.read(module, AliasTable.build(module))
    assert not found.refusals and len(found.found) == 1


BRANCHES = (
    HELPER
    + """
def net(x, labels=None):
    with tf.variable_scope("net"):
        if labels is None:
            h = linear(x, 4, "hidden")
        elif labels is False:
            h = linear(x, 4, "hidden") * 2.0
        else:
            h = linear(tf.concat([x, labels], 1), 4, "hidden")
        AFTER
        return h
"""
)


@pytest.mark.parametrize(
    ("after", "refused"),
    [("h = tf.nn.relu(h)", False), ('h = linear(h, 4, "hidden")', True)],
    ids=["branches-only", "again-after-the-if"],
)
def test_calls_in_exclusive_branches_make_their_scope_once(after: str, refused: bool) -> None:
    """DCGAN's discriminator makes ``d_h0_conv`` in both branches of ``if not self.y_dim: / else:``:
    one run takes one branch, so the scope is made once; a call after the ``if`` makes it again."""
    module = cst.parse_module(textwrap.dedent(BRANCHES.replace("AFTER", after)))
    found = dense_helpers.read(module, AliasTable.build(module))
    reasons = [reason for _, reason in found.refusals]
    assert bool(reasons) is refused, reasons
    if refused:
        assert 'a second call making the scope "hidden" in the same body' in reasons[0]
