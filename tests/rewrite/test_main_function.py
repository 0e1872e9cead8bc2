"""Programs whose training code is a function (``def main():``, ``def train(args, lr=0.01)``) called once
as the module's last statement: migrated inside the function, or left naming the condition that fails."""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status
from tests.conftest import REPO

FIXTURE = (REPO / "tests" / "fixtures" / "tf1" / "main_function.py").read_text()
TRAIN = (REPO / "tests" / "fixtures" / "tf1" / "train_function.py").read_text()
PLAIN = RewriteOptions(plain_keras_bn=True)

BODY = (
    "    x = tf.placeholder(tf.float32, [None, 3])\n"
    "    is_training = tf.placeholder(tf.bool, [])\n"
    '    h = tf.layers.dense(x, 4, name="fc")\n'
    "    h = tf.layers.batch_normalization(h, momentum=momentum, training=is_training)\n"
    "    loss = tf.reduce_mean(tf.square(h))\n"
    "    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "    with tf.control_dependencies(update_ops):\n"
    "        train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss)\n"
    "    with tf.Session() as sess:\n"
    "        sess.run(tf.global_variables_initializer())\n"
    "        for _ in range(steps):\n"
    "            sess.run(train_op, {x: np.ones((8, 3)), is_training: True})\n"
)


def program(
    header: str = "def train(lr, momentum=0.9, steps=2):",
    call: str = "train(0.1)\n",
    top: str = "",
    first: str = "",
) -> str:
    """A TF1 script whose training code is the function ``header``, called by ``call`` (the end)."""
    return (
        f"import numpy as np\nimport tensorflow as tf\n{top}\n\n{header}\n{first}{BODY}\n\n{call}"
    )


def _changed(source: str, options: RewriteOptions | None = None) -> RewriteResult:
    """Migrated; the output parses and a second rewrite changes nothing."""
    result = rewrite_source(source, options=options)
    assert result.status is Status.CHANGED, result.left
    cst.parse_module(result.code)
    again = rewrite_source(result.code, options=options)
    assert again.status is Status.UNCHANGED and again.code == result.code
    assert "tf.placeholder" not in result.code and "Session" not in result.code
    return result


def _refused(source: str, words: str) -> None:
    """Left whole, each TF1 site in the function giving the condition that failed."""
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    reasons = [s.message for s in result.left if "holds the training code" in s.message]
    assert reasons and all(words in reason for reason in reasons), result.left


# --- migrated ---------------------------------------------------------------------------------------


def test_main_body_is_migrated_inside_main_and_the_guard_is_kept() -> None:
    result = _changed(FIXTURE, PLAIN)
    code = result.code
    assert (
        "\n\ndef main():\n    x_data, y_data = make_data(0)\n\n    fc1 = tf.keras.layers.Dense("
        in code
    )
    assert "\n    @tf.function\n    def train_step(x, y, is_training):\n" in code
    assert code.endswith('\n\nif __name__ == "__main__":\n    main()\n')
    assert not any(line != line.rstrip() for line in code.splitlines())  # no indented blank lines
    lines = FIXTURE.splitlines()  # places are the original file's (inside main)
    bn = next(s for s in result.applied if s.rule == "BN001")
    assert lines[bn.line - 1][bn.col - 1 :].startswith("tf.layers.batch_normalization(")


def test_train_function_fixture_argparse_guard_graph_block_and_global() -> None:
    result = _changed(TRAIN)
    code = result.code
    assert '\ndef train(args, learning_rate=0.05, momentum=0.9):\n    """Build' in code
    assert (
        '"""\n    global STEPS_RUN\n    data = DataSets(args.seed)\n' in code
    )  # global kept first
    assert "momentum=momentum" in code and "SGD(learning_rate=learning_rate, momentum=0.9)" in code
    assert "learning_rate = 0.02" not in code and "args = args" not in code  # bindings dropped
    assert code.endswith(
        "    args = parser.parse_args()\n    train(args, learning_rate=0.02)\n"
    )  # the guard kept with its statements; the graph block around the call dissolved
    assert "as_default" not in code.split('"""', 2)[2]  # after the docstring
    assert "data.train.next_batch(args.batch_size)" in code
    lines = TRAIN.splitlines()
    dissolved = next(s for s in result.applied if "as_default():` dissolved" in s.message)
    assert lines[dissolved.line - 1][dissolved.col - 1 :].startswith("with tf.Graph().as_default()")
    bn = next(s for s in result.applied if s.rule == "BN001")
    assert lines[bn.line - 1][bn.col - 1 :].startswith("tf.layers.batch_normalization(")


def test_positional_argument_and_defaults_bound_direct_call() -> None:
    code = _changed(program()).code
    assert code.endswith("\n\ntrain(0.1)\n")
    assert "\ndef train(lr, momentum=0.9, steps=2):\n    fc = tf.keras" in code  # no blank line
    assert "momentum=momentum" in code and "for _ in range(steps):" in code
    assert "lr = 0.1" not in code and "momentum = 0.9" not in code


def test_keyword_arguments_bound() -> None:
    code = _changed(program(call="train(steps=3, lr=0.5, momentum=0.8)\n")).code
    assert code.endswith("\n\ntrain(steps=3, lr=0.5, momentum=0.8)\n")


def test_main_with_argv_default_called_without_arguments() -> None:
    source = FIXTURE.replace("def main():", "def main(argv=None):")
    code = _changed(source, PLAIN).code
    assert "\ndef main(argv=None):\n    x_data, y_data = make_data(0)\n" in code
    assert code.endswith('\n\nif __name__ == "__main__":\n    main()\n')


def test_args_object_passed_under_its_own_name() -> None:
    """``run_training(FLAGS)`` with ``FLAGS = parser.parse_args()`` in the guard: the parameter is the
    module's name, read through its attributes."""
    body = BODY.replace("range(steps)", "range(FLAGS.steps)").replace(
        "=momentum", "=FLAGS.momentum"
    )
    source = (
        "import argparse\nimport numpy as np\nimport tensorflow as tf\n\n\n"
        "def run_training(FLAGS, lr=0.1):\n" + body + "\n\nif __name__ == '__main__':\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--momentum', type=float, default=0.9)\n"
        "    parser.add_argument('--steps', type=int, default=2)\n"
        "    FLAGS = parser.parse_args()\n    run_training(FLAGS)\n"
    )
    code = _changed(source).code
    assert "momentum=FLAGS.momentum" in code and "for _ in range(FLAGS.steps):" in code
    assert code.endswith("    FLAGS = parser.parse_args()\n    run_training(FLAGS)\n")


def test_main_of_parsed_arguments() -> None:
    """facenet's shape: ``main(parse_arguments(sys.argv[1:]))``; the call evaluated once, as before."""
    body = BODY.replace("range(steps)", "range(args.steps)").replace("=momentum", "=0.9")
    source = (
        "import argparse\nimport sys\nimport numpy as np\nimport tensorflow as tf\n\n\n"
        "def main(args, lr=0.1):\n" + body + "\n\ndef parse_arguments(argv):\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--steps', type=int, default=2)\n"
        "    return parser.parse_args(argv)\n\n\n"
        "if __name__ == '__main__':\n    main(parse_arguments(sys.argv[1:]))\n"
    )
    code = _changed(source).code
    assert code.endswith(
        "\n\nif __name__ == '__main__':\n    main(parse_arguments(sys.argv[1:]))\n"
    )
    assert "args = parse_arguments" not in code


def test_an_argument_using_tensorflow_outside_the_functions_graph_keeps_it() -> None:
    """The body's own ``with tf.Graph().as_default():`` and an argument made before it, in TF1's
    default graph: dissolving the block would put both in one graph. Kept, with the reason."""
    inner = "".join("    " + line + "\n" if line else "\n" for line in BODY.splitlines())
    source = program(
        header="def train(scale, lr=0.1, momentum=0.9, steps=2):",
        first="    with tf.Graph().as_default():\n" + inner,
        call="train(tf.constant(2.0))\n",
    ).replace(BODY, "")
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any("TensorFlow used outside" in s.message for s in result.left), result.left


def test_an_attribute_named_like_the_function_is_not_a_call_of_it() -> None:
    """``mnist.train.next_batch`` names the attribute ``train``, not the function: resolved by binding."""
    top = "\n\ndef batches(mnist):\n    return mnist.train.next_batch(8)\n"
    code = _changed(program(top=top)).code
    assert "return mnist.train.next_batch(8)" in code


def test_global_statements_kept_before_the_body() -> None:
    source = program(top="\nCOUNT = 0", first="    global COUNT\n    COUNT += 1\n")
    code = _changed(source).code
    assert "\ndef train(lr, momentum=0.9, steps=2):\n    global COUNT\n    COUNT += 1\n" in code


def test_a_last_return_of_a_name_is_kept_after_the_migrated_body() -> None:
    """``return model_dir`` ending the body: the caller drops the value; put back after the new body."""
    source = program(first="    model_dir = 'runs'\n").replace(
        "is_training: True})\n", "is_training: True})\n    return model_dir\n"
    )
    code = _changed(source).code
    assert code.endswith("\n    return model_dir\n\n\ntrain(0.1)\n")
    bare = program().replace("is_training: True})\n", "is_training: True})\n    return\n")
    assert _changed(bare).code.endswith("\n    return\n\n\ntrain(0.1)\n")


def test_a_last_return_of_a_name_the_migration_removes_is_left() -> None:
    """``return loss``: the graph tensor ``loss`` is gone from the migrated body: left, saying so."""
    source = program().replace("is_training: True})\n", "is_training: True})\n    return loss\n")
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any("ends with `return loss`" in s.message for s in result.left), result.left


def test_left_function_keeps_the_file_and_reports_original_places() -> None:
    source = FIXTURE.replace(
        '        print("eval loss', '        sess.run(loss, options=None)\n        print("eval loss'
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    site = next(s for s in result.left if "options/run_metadata" in s.message)
    line = source.splitlines()[site.line - 1]
    assert line[site.col - 1 :].startswith("sess.run(loss, options=None)")


# --- refused, each naming its condition --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (program(call="train(0.1)\ntrain(0.2)\n"), "is called 2 times (lines 20 besides the last"),
        (
            program(call="train(0.1)\nprint('done')\n"),
            "is called at line 20, not by the module's last",
        ),
        (program(call="print('start')\n"), "is never called in this module"),
        (
            program(call="entry = train\ntrain(0.1)\n"),
            "is named 2 times (lines 20 besides the last",
        ),
        (program(call="train(0.1)\ntrain(0.2)\nprint(1)\n"), "is called 2 times (lines 20, 21)"),
        (program(first="    if lr is None:\n        return\n"), "returns at line 7"),
        (program(call="entry = train\n"), "is named at line 20, not by the module's last"),
        (
            program(first="    lr = lr\n    global COUNT\n"),
            "declares `global` after other statements",
        ),
        (program(header="def train(lr, *rest, momentum=0.9, steps=2):"), "the parameter `*rest`"),
        (program(header="def train(lr, momentum=0.9, steps=2, **kw):"), "the parameter `**kw`"),
        (program(call="train(*[0.1])\n"), "is called with `*` arguments"),
        (program(call="train()\n"), "gets no argument for parameter `lr`"),
        (
            program(top="\nRATE = 2", header="def train(lr, momentum=0.9, steps=RATE):"),
            "not a literal",
        ),
        (program(call="train(0.1, steps=lr)\n", top="\nlr = 2"), "reads `lr`, also a parameter"),
        (
            program(call="train(lr)\n", top="\nlr = 0.1", first="    lr = lr * 2\n"),
            "passed the module's `lr`, is reassigned",
        ),
        (
            program(
                call="train(lr)\n",
                top="\nlr = 0.1",
                first="    with open('f') as lr:\n        pass\n",
            ),
            "passed the module's `lr`, is reassigned",
        ),
        (
            program(
                top="\ndef deco(f):\n    return f",
                header="@deco\ndef train(lr, momentum=0.9, steps=2):",
            ),
            "is decorated",
        ),
        (
            program(call="train(0.1, 0.9, 2, 4)\n"),
            "more positional arguments than it has parameters",
        ),
        (program(call="train(0.1, rate=2)\n"), "the keyword `rate`, which names no parameter"),
    ],
    ids=[
        "called-twice",
        "not-last",
        "never-called",
        "named-as-value",
        "called-twice-not-last",
        "named-once",
        "early-return",
        "late-global",
        "star-param",
        "kwargs-param",
        "star-call",
        "missing-argument",
        "default-not-literal",
        "argument-reads-parameter",
        "same-name-reassigned",
        "same-name-rebound-by-with",
        "decorated",
        "too-many",
        "unknown-keyword",
    ],
)
def test_refusals_name_the_condition(source: str, words: str) -> None:
    _refused(source, words)


def test_a_function_whose_locals_shadow_module_names_is_not_read_as_the_module() -> None:
    """``lr = 0.5`` in main beside a module-level ``lr`` that ``scaled`` reads: made module-level code, main's
    ``lr`` would change what ``scaled`` computes. Left, naming the local."""
    source = (
        "import numpy as np\nimport tensorflow as tf\n\nlr = 0.1\n\n\ndef scaled(v):\n    return v * lr\n\n\n"
        "def main():\n    lr = 0.5\n    x = tf.placeholder(tf.float32, [None, 3])\n"
        "    is_training = tf.placeholder(tf.bool, [])\n"
        '    h = tf.layers.batch_normalization(tf.layers.dense(x, 4, name="fc"), training=is_training)\n'
        "    loss = scaled(tf.reduce_mean(tf.square(h)))\n"
        "    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "    with tf.control_dependencies(update_ops):\n"
        "        train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss)\n"
        "    with tf.Session() as sess:\n        sess.run(tf.global_variables_initializer())\n"
        "        sess.run(train_op, {x: np.ones((8, 3)), is_training: True})\n\n\nmain()\n"
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any("`main` binds `lr`" in site.message for site in result.left), result.left
    assert any(  # the BN layer's site names why the training code is not read
        "whose session is in a function not read as the program (`main` binds `lr`, also a "
        "module-level name)" in site.message
        for site in result.left
    ), result.left
    renamed = source.replace("    lr = 0.5\n", "    rate = 0.5\n").replace(
        "GradientDescentOptimizer(lr)", "GradientDescentOptimizer(rate)"
    )
    assert rewrite_source(renamed).status is Status.CHANGED


def test_a_builders_batch_norm_names_the_training_functions_condition() -> None:
    """A BN layer in a builder outside the training function: its momentum depends on the training code,
    and its site says which condition kept that code from being read."""
    top = (
        "\n\ndef block(x, is_training):\n"
        "    return tf.layers.batch_normalization(x, training=is_training)\n"
    )
    source = program(top=top, call="train(0.1)\ntrain(0.2)\n")
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(
        "function not read as the program (`train` is called 2 times (lines 24 besides the last "
        "statement))" in s.message
        for s in result.left
    ), result.left


def test_a_parameter_named_like_a_module_name_is_shadowing() -> None:
    """``def train(lr)`` called ``train(0.1)`` beside a module-level ``lr``: the assignment ``lr = 0.1``
    would replace the module's ``lr``."""
    _refused_shadow = rewrite_source(program(top="\nlr = 2"))
    assert _refused_shadow.status is Status.SKIPPED
    assert any("`train` binds `lr`" in s.message for s in _refused_shadow.left)


def test_tensorflow_in_the_guard_outside_the_graph_block_keeps_it() -> None:
    """Ops made before ``with tf.Graph().as_default():`` went to another graph in TF1."""
    source = program(
        call=(
            "if __name__ == '__main__':\n    seed = tf.constant(1)\n"
            "    with tf.Graph().as_default():\n        train(0.1)\n"
        )
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any("TensorFlow used outside" in s.message for s in result.left), result.left


# --- an entry function that runs the training function ----------------------------------------------

APP_ENTRY = (
    "def main(unused_argv):\n"
    "    logging.info('start')\n"
    "    train(0.1, steps=3)\n"
    "    print('done', 1)\n"
    "\n\n"
    'if __name__ == "__main__":\n'
    "    logging.basicConfig(level=logging.INFO)\n"
    "    tf.app.run()\n"
)


def test_entry_under_app_run_with_plain_statements_is_read_through() -> None:
    """``def main(unused_argv): train(...)`` run by ``tf.app.run()`` (vanhuyz/CycleGAN-TensorFlow):
    ``train`` is migrated in place with the arguments ``main`` passes; ``main``, its logging and the
    guard's ``logging.basicConfig`` stay as they are."""
    source = program(top="import logging", call=APP_ENTRY)
    result = _changed(source)
    code = result.code
    assert "\ndef train(lr, momentum=0.9, steps=2):\n" in code
    assert "momentum=momentum" in code and "for _ in range(steps):" in code
    assert "lr = 0.1" not in code and "steps = 3" not in code
    assert (
        "\n\n\ndef main(unused_argv):\n    logging.info('start')\n    train(0.1, steps=3)\n" in code
    )
    assert code.endswith(
        '\nif __name__ == "__main__":\n    logging.basicConfig(level=logging.INFO)\n'
        "    app.run(main, flags_parser=lambda argv: flags.FLAGS(argv, known_only=True))\n"
    )
    lines = source.splitlines()  # places are the original file's (inside train)
    bn = next(s for s in result.applied if s.rule == "BN001")
    assert lines[bn.line - 1][bn.col - 1 :].startswith("tf.layers.batch_normalization(")


def test_entry_called_last_is_read_through() -> None:
    entry = "def main():\n    train(lr=0.5)\n\n\nmain()\n"
    code = _changed(program(call=entry)).code
    assert "\ndef train(lr, momentum=0.9, steps=2):\n" in code and "lr = 0.5" not in code
    assert code.endswith("\n\ndef main():\n    train(lr=0.5)\n\n\nmain()\n")


def test_entry_fixture_migrates_to_its_golden() -> None:
    source = (REPO / "tests" / "fixtures" / "tf1" / "entry_calls_train.py").read_text()
    golden = REPO / "examples" / "migrated" / "fixtures" / "entry_calls_train.py"
    assert _changed(source).code == golden.read_text()


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            program(top="import logging", call=APP_ENTRY.replace("print('done', 1)", "x = 1")),
            "is run by `main` (line 22), whose line 23 is not a plain statement",
        ),
        (
            program(call="def main():\n    setup()\n    train(0.1)\n\n\nmain()\n"),
            "whose line 21 is not a plain statement",
        ),
        (
            program(
                top="import logging",
                call=APP_ENTRY.replace("print('done', 1)", "print(lambda: tf)"),
            ),
            "whose line 23 is not a plain statement",
        ),
        (
            program(
                top="import sys",
                call="def main():\n    sys.modules[__name__].train(0.2)\n    train(0.1)\n\n\nmain()\n",
            ),
            "whose line 21 is not a plain statement",
        ),
        (
            program(call="def main():\n    train(0.1)\n\n\nmain()\nmain()\n"),
            "is run by `main` (line 21), which is called 2 times",
        ),
        (
            program(call="def main(n):\n    train(0.1)\n\n\nmain(1)\n"),
            "which takes parameters or is called with arguments",
        ),
        (
            program(call="def main():\n    train(0.1)\n\n\nprint(1)\n"),
            "is run by `main` (line 21), which is never called in this module",
        ),
        (
            program(
                top="\ndef deco(f):\n    return f",
                call="@deco\ndef main():\n    train(0.1)\n\n\nmain()\n",
            ),
            "which is decorated",
        ),
    ],
    ids=[
        "binds-a-name",
        "calls-a-module-function",
        "lambda",
        "reaches-the-module",
        "entry-called-twice",
        "entry-parameters",
        "entry-never-called",
        "entry-decorated",
    ],
)
def test_entry_refusals_name_the_condition(source: str, words: str) -> None:
    _refused(source, words)


def test_an_early_return_names_its_if_and_the_tensorflow_in_its_branch() -> None:
    """pix2pix's ``if a.mode == "export": ... (a graph and a session) ... return`` before the training
    graph: still left (the code after the return is not module code), naming the branch's TF line."""
    branch = (
        "    if steps == 0:\n"
        "        export = tf.placeholder(tf.string, [1])\n"
        "        print(export)\n"
        "        return\n"
    )
    _refused(
        program(first=branch),
        "returns at line 9 (in the `if` at line 6, whose branch uses TensorFlow from line 7",
    )
    _refused(
        program(first="    if lr is None:\n        return\n"),
        "returns at line 7 (in the `if` at line 6)",
    )


def test_entry_defined_first_with_a_docstring_under_guard_and_graph_block() -> None:
    """``main`` before ``train``, the argument read from the guard's ``args``, the call inside
    ``with tf.Graph().as_default():`` (dissolved)."""
    source = (
        "import argparse\nimport numpy as np\nimport tensorflow as tf\n\n\n"
        'def main():\n    """Entry."""\n    train(args.lr)\n\n\n'
        f"def train(lr, momentum=0.9, steps=2):\n{BODY}\n\n"
        'if __name__ == "__main__":\n    parser = argparse.ArgumentParser()\n'
        "    parser.add_argument('--lr', type=float, default=0.1)\n    args = parser.parse_args()\n"
        "    with tf.Graph().as_default():\n        main()\n"
    )
    code = _changed(source).code
    assert (
        '\n\ndef main():\n    """Entry."""\n    train(args.lr)\n\n\ndef train(lr, momentum=0.9'
        in code
    )
    assert code.endswith("    args = parser.parse_args()\n    main()\n")
    assert "lr = args.lr" not in code
