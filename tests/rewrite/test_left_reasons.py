"""A left TF1 construct says which condition of the program's shape failed (BN000), so a user knows what
blocked the file, instead of a generic "not migrated in this program shape"; and the run groups the
reasons by count."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from bn_migrate.rewrite import reason_texts as texts
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.report import Mode, left_reason_lines, outcome_lines
from bn_migrate.rewrite.result import FileOutcome, RunResult, Site, Status
from bn_migrate.rewrite.runner import RunConfig, rewrite_command

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "tf1" / "layers_mlp_placeholder.py"
).read_text(encoding="utf-8")


def engine_reasons(source: str) -> list[tuple[int, str]]:
    result = rewrite_source(textwrap.dedent(source))
    assert result.status is Status.SKIPPED, result
    return [(site.line, site.message) for site in result.left if site.rule == "BN000"]


def test_graph_code_in_a_function_that_is_not_a_builder_called_once() -> None:
    """Called twice without a shared scope, a function naming the layer it makes is left: TF1 made
    `t/kernel` at the first call and raised at the second (one instance per call would not)."""
    result = rewrite_source(
        FIXTURE.replace(
            'h = tf.layers.dense(x, 16, name="dense1")',
            'def tower(t):\n    return tf.layers.dense(t, 6, name="t")\n\n\n'
            "h = tf.layers.dense(tower(x) + tower(x), 16)",
        )
    )
    assert result.status is Status.SKIPPED
    reasons = [(site.rule, site.line, site.message) for site in result.left]
    assert (
        "BN003",
        15,
        "layer made in a function or class that is not a builder (called once from the module-level "
        "graph, several times sharing one variable scope, or several times, or in a static for "
        "loop, naming none of the variables it makes): cannot tell how many layers TF1 made, or "
        "under which names; not migrated",
    ) in reasons, reasons


def test_why_a_function_with_graph_code_is_not_a_builder() -> None:
    """The reason names the condition that failed: never called (a model library), called from
    another function, called in a loop."""

    def reasons_with(graph: str) -> list[str]:
        source = FIXTURE.replace(
            'h = tf.layers.dense(x, 16, name="dense1")',
            "def tower(t):\n    return tf.Print(t, [t])\n\n\n" + graph,
        )
        return [message for _, message in engine_reasons(source)]

    library = reasons_with('h = tf.layers.dense(x, 16, name="dense1")')
    assert any("`tower` is never called in its program" in m for m in library), library
    nested = reasons_with(  # `outer` names its layer: called twice, not a builder
        'def outer(t):\n    return tower(tf.layers.dense(t, 6, name="o"))\n\n\n'
        "h = tf.layers.dense(outer(x) + outer(x), 16)"
    )
    assert any("`tower` is called from the function `outer` (line" in m for m in nested), nested
    looped = reasons_with(  # not a static loop: how many times it ran is not known here
        "h = x\nfor _ in list(range(2)):\n    h = tower(h)\nh = tf.layers.dense(h, 16)"
    )
    assert any("`tower` is called in a loop" in m for m in looped), looped


def test_graph_code_in_a_builder_called_once() -> None:
    reasons = engine_reasons(
        FIXTURE.replace(
            'h = tf.layers.dense(x, 16, name="dense1")',
            "def tower(t):\n    return tf.Print(t, [t])\n\n\nh = tf.layers.dense(tower(x), 16)",
        )
    )
    assert any("a builder: this construct is not migrated" in m for _, m in reasons)


def test_graph_code_in_a_class() -> None:
    reasons = engine_reasons(
        FIXTURE + "\n\nclass Model:\n    def build(self, t):\n        return tf.Print(t, [t])\n"
    )
    assert any(
        "inside `class Model`" in m
        and texts.model_class(
            [], "class `Model` has no build method called as the last statement of `__init__`"
        )
        in m
        for _, m in reasons
    ), reasons
    # a class deriving from another class is no model class (a test case, a Keras model)
    derived = engine_reasons(
        FIXTURE
        + "\n\nclass Model(Base):\n    def build(self, t):\n        return tf.Print(t, [t])\n"
    )
    assert any(
        "class `Model` builds graph code in its methods (build): such a class is not migrated" in m
        for _, m in derived
    ), derived


def test_a_module_without_a_session() -> None:
    source = FIXTURE[: FIXTURE.index("with tf.Session() as sess:")]
    reasons = engine_reasons(source)
    assert reasons and all("this module runs no session" in m for _, m in reasons), reasons


def test_a_module_with_two_sessions() -> None:
    second = FIXTURE[FIXTURE.index("with tf.Session() as sess:") :]
    reasons = engine_reasons(FIXTURE + "\n" + second)
    assert any("the module makes 2 sessions" in m for _, m in reasons), reasons


SITES = [
    Site("BN000", line, 1, f"`tf.layers.conv2d` inside `def net` (line {line}): why")
    for line in range(1, 8)
]


def test_a_file_shows_at_most_three_sites_of_one_reason() -> None:
    outcome = FileOutcome("a.py", Status.SKIPPED, left=[*SITES, Site("BN001", 9, 1, "other")])
    lines = outcome_lines(outcome, Mode.DIFF)
    assert lines[:3] == [site.format("a.py") for site in SITES[:3]]
    assert lines[3] == "a.py: ... and 4 more BN000 sites like the above (every site is in --report)"
    assert lines[4] == "a.py:9:1 BN001 other"


def test_the_run_ends_with_reasons_grouped_by_count() -> None:
    result = RunResult(
        outcomes=[
            FileOutcome("a.py", Status.SKIPPED, left=SITES[:5]),
            FileOutcome(
                "b.py",
                Status.SKIPPED,
                left=[*SITES[5:], Site("BN016", 1, 1, "imported by x.py:3, ...")],
            ),
            FileOutcome(
                "c.py", Status.SKIPPED, left=[Site("BN016", 1, 1, "imported by y/z.py:4, ...")]
            ),
        ]
    )
    lines = left_reason_lines(result)
    assert lines[0] == "left for a human, by reason (sites, files):"
    assert lines[1] == "  7 sites, 2 files  BN000 `…` inside `…` (line …): why"
    # the files named are masked too: one reason, whichever file imports the module
    assert lines[2] == "  2 sites, 2 files  BN016 imported by …:…, ..."


def test_the_command_prints_the_grouped_reasons(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text(FIXTURE[: FIXTURE.index("with tf.Session")], encoding="utf-8")
    err = io.StringIO()
    rewrite_command(
        RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1), stdout=io.StringIO(), stderr=err
    )
    text = err.getvalue()
    assert "left for a human, by reason (sites, files):" in text
    assert "BN000 `…`: this module runs no session" in text


def test_a_site_a_rule_leaves_gets_no_second_reason_from_the_engine() -> None:
    source = (
        "import tensorflow as tf\n\n\n"
        "def batch_norm_relu(inputs, training):\n"
        "    return tf.layers.batch_normalization(inputs, momentum=0.997, training=training)\n"
    )
    result = rewrite_source(source)
    assert [(s.rule, s.line) for s in result.left] == [("BN001", 5)], result.left


def test_a_module_with_an_interactive_session_says_so() -> None:
    """``sess = tf.InteractiveSession()`` is read as ``sess = tf.Session()``: that form's reason."""
    source = FIXTURE[: FIXTURE.index("with tf.Session() as sess:")] + (
        "sess = tf.InteractiveSession()\nsess.run(tf.global_variables_initializer())\n"
    )
    result = rewrite_source(source)
    assert [(s.rule, s.message) for s in result.left] == [
        (
            "BN007",
            "the session never runs a train op the migration reads (`train_op`): no run of the "
            "session fetches one",
        )
    ]


def test_a_graph_built_after_its_session_says_so() -> None:
    graph = FIXTURE[: FIXTURE.index("with tf.Session() as sess:")]
    imports = "import tensorflow as tf\n"
    head, _, rest = graph.partition(imports)
    source = head + imports + "sess = tf.InteractiveSession()\n" + rest
    source += "sess.run(tf.global_variables_initializer())\n"
    reasons = [s.message for s in rewrite_source(source).left if s.rule == "BN007"]
    assert any("the graph is built after the session" in m for m in reasons), reasons


def test_a_session_in_another_form_says_so() -> None:
    body = FIXTURE[FIXTURE.index("with tf.Session() as sess:") :]
    source = (
        FIXTURE[: FIXTURE.index("with tf.Session() as sess:")]
        + "def main():\n"
        + "".join("    " + line + "\n" for line in body.splitlines())
    )
    reasons = engine_reasons(source)
    assert any("is not made as `with tf.Session() as sess:`" in m for _, m in reasons), reasons


def test_a_session_over_a_graph_fed_by_neither_placeholders_nor_inputs_says_so() -> None:
    """A graph of variables only (or built where the migration does not read) is not a placeholder or
    Keras-input program: the session's reason says that, not that placeholders are unsupported."""
    result = rewrite_source(
        textwrap.dedent(
            """\
            import tensorflow as tf
            w = tf.Variable(tf.ones([3]))
            out = tf.layers.batch_normalization(tf.reshape(w, [1, 3]), training=True)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                print(sess.run(out))
            """
        )
    )
    assert result.status is Status.SKIPPED
    [session] = [site for site in result.left if site.rule == "BN007"]
    assert session.line == 4
    assert "fed by neither module-level placeholders nor Keras Inputs" in session.message
    assert "placeholders are not migrated" not in session.message


def test_a_class_building_graph_only_in_init_says_so() -> None:
    # LantaoYu/SeqGAN's shape: the reason said "builds graph code in its methods ():"
    source = (
        "import tensorflow as tf\n\n\n"
        "class Model(tf.Module):\n"
        "    def __init__(self):\n"
        "        self.x = tf.placeholder(tf.float32, [None, 4])\n"
    )
    [site] = rewrite_source(source).left
    assert "class `Model` builds graph code in its `__init__` or its body:" in site.message


def test_a_variable_made_inside_a_block_names_the_block() -> None:
    # aymericdamien/TensorFlow-Examples' word2vec.py: the variables under `with tf.device(...)`
    source = FIXTURE.replace(
        "with tf.Session() as sess:",
        'with tf.device("/cpu:0"):\n    extra = [tf.Variable(tf.zeros([3]))]\nwith tf.Session() as sess:',
    )
    line = source.split("\n").index("    extra = [tf.Variable(tf.zeros([3]))]") + 1
    messages = [site.message for site in rewrite_source(source).left if site.rule == "BN014"]
    assert messages == [
        "`tf.Variable` not assigned to a name on its own line of the graph (after the placeholders) "
        f'(it is inside `with tf.device("/cpu:0"):` at line {line - 1}): cannot create it once at '
        "module level"
    ], messages


def test_placeholders_inside_a_block_name_the_block() -> None:
    # MorvanZhou/Tensorflow-Tutorial's 406_GAN.py: the placeholders under module-level
    # `with tf.variable_scope(...)` blocks ("declared on a line with other statements" was false)
    lines = FIXTURE.split("\n")
    first = next(i for i, line in enumerate(lines) if "tf.placeholder" in line)
    last = max(i for i, line in enumerate(lines) if "tf.placeholder" in line)
    block = ['with tf.name_scope("inputs"):'] + ["    " + line for line in lines[first : last + 1]]
    source = "\n".join(lines[:first] + block + lines[last + 1 :])
    messages = {s.message: s.line for s in rewrite_source(source).left if s.rule == "BN005"}
    expected = (
        f'placeholder declared inside `with tf.name_scope("inputs"):` (line {first + 1}): a '
        "placeholder is migrated as a module-level line of its own"
    )
    assert messages == {expected: first + 2}, messages


def test_placeholders_after_an_interactive_session_say_so() -> None:
    # Brandon-HY-Lin/deep_learning_comparision's conv_dropout_google.py: `sess = tf.InteractiveSession()`
    # before the graph; its placeholders were said "declared on a line with other statements" (false)
    source = (
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "\n"
        "sess = tf.InteractiveSession()\n"
        "x = tf.placeholder(tf.float32, [None, 4])\n"
        "is_training = tf.placeholder(tf.bool)\n"
        "h = tf.layers.batch_normalization(tf.layers.dense(x, 8), training=is_training)\n"
        "loss = tf.reduce_mean(h)\n"
        "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "with tf.control_dependencies(update_ops):\n"
        "    train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
        "sess.run(tf.global_variables_initializer())\n"
        "sess.run(train_op, {x: np.ones((2, 4)), is_training: True})\n"
    )
    messages = {s.message: s.line for s in rewrite_source(source).left if s.rule == "BN005"}
    assert messages == {
        "placeholder made after the session (line 4): only a graph built before its session is "
        "migrated (the reason is at the session)": 5
    }, messages


NESTED_SCOPE_FROM_PARAMETER = """import numpy as np
import tensorflow as tf


def block(x, is_training, scope):
    with tf.variable_scope(scope):
        return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)


def net(x, is_training, name):
    return block(x, is_training, scope=name)


x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
h = net(x, is_training, "n1")
loss = tf.reduce_mean(h)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train_op, {x: np.ones((2, 3)), is_training: True})
"""


def test_a_scoped_function_called_from_a_builder_says_why_it_is_not_one() -> None:
    # OFRIN/Tensorflow_Group_Norm_vs_Batch_Norm's group_normalization(x, ..., scope=scope) called from
    # normalize: "called from the builder `normalize`: ... migrated only when both are builders" (it was)
    left = rewrite_source(NESTED_SCOPE_FROM_PARAMETER).left
    messages = [s.message for s in left if s.line == 6 and s.rule == "BN000"]
    assert messages == [
        "`tf.variable_scope` inside `def block` (line 5): `block` is called from the builder `net` "
        "(line 11) but is not a builder of its own: a function entering a variable scope, called from "
        "builders, is migrated when every call passes its own scope name as a string literal and "
        "none reuses it (each call made its own layers in TF1); not migrated"
    ], [(s.line, s.message) for s in left]


def test_a_reference_no_rule_took_names_its_block_or_its_left_statement() -> None:
    # MorvanZhou/Tensorflow-Tutorial's 406_GAN.py: "`tf.placeholder` in the graph: no rule of this
    # version migrates it" named no blocker
    block = FIXTURE.replace(
        "with tf.Session() as sess:",
        'with tf.variable_scope("extra"):\n    extra = tf.placeholder(tf.float32)\nwith tf.Session() as sess:',
    )
    line = block.split("\n").index('with tf.variable_scope("extra"):') + 1
    [site] = [s for s in rewrite_source(block).left if s.rule == "BN000" and s.line == line + 1]
    assert site.message == (
        f'`tf.placeholder` inside `with tf.variable_scope("extra"):` (line {line}): graph code in a '
        "module-level variable scope is not read as the program's graph (a variable scope is "
        "migrated only in a builder)"
    )
    minimize = "tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)"
    assert minimize in FIXTURE
    var_list = "var_list=tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope='none'))"
    left = FIXTURE.replace(minimize, minimize[:-1] + ",\n        " + var_list)
    reasons = [(s.rule, s.message) for s in rewrite_source(left).left]
    assert ("BN006", "var_list selects no trainable variable (TF1 minimize() raises)") in reasons
    block = "its block (line 24) holds what is left with the reason given there"
    assert ("BN000", f"`tf.train.AdamOptimizer` in the graph: {block}") in reasons, reasons
    # the session's train run is there, left because its train op is
    run = next(n for n, line in enumerate(left.split("\n"), 1) if "sess.run([train_op" in line)
    assert any(m.startswith(f"the session's train runs (line {run}) are left") for _, m in reasons)


def test_a_layer_function_given_to_a_partial_not_read_says_so() -> None:
    """A partial of a layer function whose calls cannot be written out (here the partial is also
    passed as a value; tests/rewrite/test_partials.py has the ones that are): the reason said "no rule
    of this version migrates it"; it names the partial and what to write instead."""
    source = FIXTURE.replace(
        "import tensorflow as tf\n", "from functools import partial\n\nimport tensorflow as tf\n", 1
    )
    call = 'h = tf.layers.batch_normalization(h, training=is_training, name="bn1")'
    assert call in source
    source = source.replace(
        call,
        "bn_layer = partial(tf.layers.batch_normalization, training=is_training, momentum=0.9)\n"
        "layer_functions = [bn_layer]\n"
        'h = bn_layer(h, name="bn1")',
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    line = (
        source.splitlines().index(
            "bn_layer = partial(tf.layers.batch_normalization, training=is_training, momentum=0.9)"
        )
        + 1
    )
    assert (
        "BN000",
        f"`tf.layers.batch_normalization` given to functools.partial (line {line}): calls made "
        "through a partial are not read in this version; call the function itself where the "
        "partial is called",
    ) in [(s.rule, s.message) for s in result.left], [(s.rule, s.message) for s in result.left]


def test_an_entry_function_called_many_times_lists_its_calls_in_source_order() -> None:
    """The calls come from the scope analysis's set of references: the reason lists them sorted, the
    same at every run."""
    program = (
        "import tensorflow as tf\n\n\ndef train(steps):\n"
        + "    x = tf.placeholder(tf.float32, [None, 3])\n"
        + "    h = tf.layers.dense(x, 4)\n"
        + "    with tf.Session() as sess:\n"
        + "        sess.run(tf.global_variables_initializer())\n"
        + "        sess.run(h, {x: [[1.0, 2.0, 3.0]]})\n\n\n"
        + "".join(f"tf.reset_default_graph()\ntrain({i})\n" for i in range(1, 13))
    )
    result = rewrite_source(program)
    calls = [program.splitlines().index(f"train({i})") + 1 for i in range(1, 12)]
    expected = f"is called 12 times (lines {', '.join(map(str, calls))} besides the last statement)"
    assert any(expected in site.message for site in result.left), result.left


def test_the_mnist_tutorial_reader_migrates_and_its_other_names_say_what_to_do() -> None:
    """`input_data.read_data_sets`, the most common name TF2 lacks in TF1 tutorials, migrates (BN021)
    under each of its import paths; any other name of those modules is left, at every reference, with
    a reason saying that only `read_data_sets` is migrated."""
    for imported, reader in (
        ("from tensorflow.examples.tutorials.mnist import input_data", "input_data"),
        ("from tensorflow.contrib.learn.python.learn.datasets import mnist", "mnist"),
    ):
        program = FIXTURE.replace(
            "import tensorflow as tf\n",
            f"import tensorflow as tf\n{imported}\n\ndigits = {reader}.read_data_sets('MNIST_data')\n",
            1,
        )
        result = rewrite_source(program)
        assert result.status is Status.CHANGED, result.left
        assert "BN021" in {site.rule for site in result.applied}
        program = program.replace(".read_data_sets('MNIST_data')", ".DataSet(None, None)")
        result = rewrite_source(program)
        assert result.status is Status.SKIPPED
        line = program.splitlines().index("digits = " + reader + ".DataSet(None, None)") + 1
        reasons = [(s.rule, s.line) for s in result.left if "MNIST tutorial reader" in s.message]
        assert reasons == [("BN000", line)], result.left
        message = next(s.message for s in result.left if s.line == line)
        assert "only calls of `read_data_sets`" in message


def test_a_softmax_loss_called_positionally_says_tf1_refused_it() -> None:
    """`tf.nn.softmax_cross_entropy_with_logits(logits, y)`: TensorFlow 0.x's order, which TF1 (1.0 on)
    refused; the reason says so instead of "without labels="."""
    old = "tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)"
    assert old in FIXTURE
    program = FIXTURE.replace(old, "tf.nn.softmax_cross_entropy_with_logits(logits, y)")
    result = rewrite_source(program)
    assert result.status is Status.SKIPPED
    line = next(i for i, text in enumerate(program.splitlines(), 1) if "softmax_cross" in text)
    assert (
        "BN011",
        line,
        "softmax_cross_entropy_with_logits with positional arguments: TensorFlow 0.x's order "
        "(logits, labels), which TF1 refused ('Only call `softmax_cross_entropy_with_logits` with "
        "named arguments'): the original does not run on TF1 either; write `labels=` and "
        "`logits=`, then run the migration again",
    ) in [(s.rule, s.line, s.message) for s in result.left], result.left
    keyword = FIXTURE.replace(old, "tf.nn.softmax_cross_entropy_with_logits(logits=logits)")
    assert any(
        s.message == "softmax_cross_entropy_with_logits without labels=: not migrated"
        for s in rewrite_source(keyword).left
    )


UNREAD = "from tensorflow.contrib.framework.python.ops import variables as contrib_variables\n"


def test_an_unread_import_of_a_tf1_name_is_not_unchanged() -> None:
    """balancap/SSD-Tensorflow's ``tf_extended/metrics.py`` kept an import nothing read: the file was
    "unchanged", yet the import fails on TensorFlow 2. It is reported at the import."""
    program = "import tensorflow as tf\n" + UNREAD + "\nx = tf.constant(1.0)\n"
    result = rewrite_source(program)
    assert result.status is Status.SKIPPED
    assert [(s.rule, s.line, s.col) for s in result.left] == [("BN000", 2, 53)]
    assert result.left[0].message.startswith(
        "`tensorflow.contrib.framework.python.ops.variables`: TensorFlow 2 has no such name, so "
        "this import fails there, and nothing in this module reads it: remove the import"
    )


@pytest.mark.parametrize(
    "use",
    [
        "y = contrib_variables.model_variable\n",  # read: the use is the reference
        "def f(contrib_variables=None):\n    pass\n",  # spelled (a parameter): not reported here
    ],
)
def test_an_import_spelled_elsewhere_is_not_reported_at_the_import(use: str) -> None:
    program = "import tensorflow as tf\n" + UNREAD + "\n" + use
    result = rewrite_source(program)
    assert all(s.line != 2 for s in result.left), result.left


def test_a_migrated_file_drops_an_unread_tf1_import() -> None:
    """In a file that migrates, BN010 has libcst remove the TensorFlow imports nothing reads."""
    program = FIXTURE.replace("import tensorflow as tf\n", "import tensorflow as tf\n" + UNREAD, 1)
    result = rewrite_source(program)
    assert result.status is Status.CHANGED, result.left
    assert "contrib_variables" not in result.code


@pytest.mark.parametrize(
    "imported",
    [
        "from tf_slim.nets import alexnet\n",  # tf_slim's own __init__: installed, imports on TF2
        "from tensorflow.compat.v1 import placeholder\n",  # TF2 has it under compat.v1
    ],
)
def test_an_unread_import_tensorflow_2_has_is_not_reported(imported: str) -> None:
    result = rewrite_source("import tensorflow as tf\n" + imported + "\nx = tf.constant(1.0)\n")
    assert result.status is Status.UNCHANGED, result.left


def test_an_evaluation_fetching_a_variable_says_it_is_a_variable() -> None:
    """martin-gorner's MNIST tutorial (`sess.run([accuracy, W], ...)`): the fetch is a variable the
    migration hoists, not "not in the graph"."""
    program = textwrap.dedent(
        """\
        import numpy as np
        import tensorflow as tf

        X = tf.placeholder(tf.float32, [None, 4])
        W = tf.Variable(tf.zeros([4, 2]))
        loss = tf.reduce_mean(tf.matmul(X, W))
        train_step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_step, {X: np.ones((2, 4))})
            w = sess.run(W, {X: np.ones((2, 4))})
        """
    )
    result = rewrite_source(program)
    assert result.status is Status.SKIPPED
    assert any(
        "evaluation fetch of `W`, a variable the migration makes once at module level" in s.message
        for s in result.left
    ), result.left


def test_reasons_that_point_at_other_files_come_after_the_ones_that_block() -> None:
    """argman/EAST: nine "imported by" sites only point at the reason of the script that is no
    program; that reason, once, comes first."""
    pointers = [
        Site("BN016", 1, 1, f"imported by s{i}.py:3, which may build ...") for i in range(9)
    ]
    blocking = Site("BN016", 1, 1, "`model.py` is also imported by eval.py, which is not part ...")
    result = RunResult(
        outcomes=[
            FileOutcome("model.py", Status.SKIPPED, left=pointers),
            FileOutcome("train.py", Status.SKIPPED, left=[blocking]),
        ]
    )
    lines = left_reason_lines(result)
    assert lines[1].startswith("  1 site, 1 file  BN016 `…` is also imported by …")
    assert lines[2].startswith("  9 sites, 1 file  BN016 imported by …:…")
