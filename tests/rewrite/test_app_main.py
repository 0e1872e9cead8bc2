"""Train scripts run by ``tf.app.run()``: ``def main(_)``, ``tf.app.flags``, the graph block.

Before/after cases on variants of ``tests/fixtures/tf1/app_run_flags.py`` (the golden migration of the
fixture itself is in ``test_engine_golden.py``), every reason such a script is left with, the flag
table checked against TF 2.21, and one run of both sides with command-line flags.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Site, Status
from bn_migrate.rewrite.rule_examples import APP_MAIN_BEFORE
from tests.conftest import EXAMPLES, REPO

TF1 = REPO / "tests" / "fixtures" / "tf1" / "app_run_flags.py"
SOURCE = TF1.read_text()
GOLDEN = EXAMPLES / "migrated" / "fixtures" / "app_run_flags.py"
APP_RUN = "app.run(main, flags_parser=lambda argv: flags.FLAGS(argv, known_only=True))"


def _changed(source: str) -> RewriteResult:
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left
    again = rewrite_source(result.code)
    assert again.status is Status.UNCHANGED and again.code == result.code
    return result


def _left(source: str, rule: str, words: str, at: str) -> None:
    """The file is left whole, with a site of ``rule`` whose message holds ``words``, at ``at``."""
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source, result.code
    sites = [
        s for s in result.left if s.rule == rule and words in s.message and _is_at(source, s, at)
    ]
    assert sites, result.left


def _is_at(source: str, site: Site, text: str) -> bool:
    line = source.splitlines()[site.line - 1]
    return line[site.col - 1 :].startswith(text)


def _at(source: str, site: Site, text: str) -> None:
    assert _is_at(source, site, text), site


# --- migrated --------------------------------------------------------------------------------------


def test_fixture_flags_run_and_graph_block() -> None:
    result = _changed(SOURCE)
    code = result.code
    assert "from absl import app, flags\n" in code
    program = code.split('"""', 2)[2]  # after the docstring
    assert "tf.app" not in program
    assert 'flags.DEFINE_integer("batch_size", 16, "Examples per training step.")\n' in code
    assert "FLAGS = flags.FLAGS\n" in code
    assert code.endswith(f'\n\nif __name__ == "__main__":\n    {APP_RUN}\n')
    assert "\ndef main(_):\n    x_data, y_data = make_data(1)\n\n    hidden = " in code
    assert "as_default" not in program and "tf.Graph" not in program
    assert "learning_rate=FLAGS.learning_rate, momentum=0.9" in code
    dissolved = next(s for s in result.applied if "dissolved: the program's one graph" in s.message)
    assert dissolved.rule == "BN007"
    _at(SOURCE, dissolved, "with tf.Graph().as_default():")
    run = next(s for s in result.applied if s.message.startswith("tf.app.run -> app.run"))
    _at(SOURCE, run, "tf.app.run()")
    bn = next(s for s in result.applied if s.rule == "BN001")
    _at(SOURCE, bn, "tf.layers.batch_normalization(")


def test_argv_default_compat_spelling_old_keywords_and_main_argument() -> None:
    source = (
        SOURCE.replace("import tensorflow as tf\n", "import tensorflow.compat.v1 as tf\n")
        .replace("def main(_):", "def main(argv=None):")
        .replace("    tf.app.run()", "    tf.app.run(main=main)")
        .replace(
            'tf.app.flags.DEFINE_integer("batch_size", 16, "Examples per training step.")',
            "tf.flags.DEFINE_integer(flag_name='batch_size', default_value=16, docstring='Batch.')",
        )
    )
    code = _changed(source).code
    assert "import tensorflow as tf\n" in code
    assert "flags.DEFINE_integer(name='batch_size', default=16, help='Batch.')" in code
    assert "\ndef main(argv=None):\n" in code and code.endswith(f"    {APP_RUN}\n")


def test_named_graph_and_session_on_it() -> None:
    source = SOURCE.replace(
        "    with tf.Graph().as_default():\n",
        "    graph = tf.Graph()\n    with graph.as_default():\n",
    ).replace("with tf.Session() as sess:", "with tf.Session(graph=graph) as sess:")
    result = _changed(source)
    assert "graph = tf.Graph()" not in result.code and "graph=graph" not in result.code
    dissolved = next(s for s in result.applied if "dissolved" in s.message)
    assert dissolved.message.startswith("`with graph.as_default():` dissolved")
    _at(source, dissolved, "with graph.as_default():")


def test_flags_alias_under_another_name_and_flags_read_directly() -> None:
    source = (
        SOURCE.replace("flags = tf.app.flags\n", "tf_flags = tf.app.flags\n")
        .replace("\nflags.DEFINE", "\ntf_flags.DEFINE")
        .replace("FLAGS = flags.FLAGS", "FLAGS = tf_flags.FLAGS")
        .replace("range(FLAGS.steps)", "range(tf.app.flags.FLAGS.steps)")
    )
    assert "\ntf_flags.DEFINE_integer(" in source
    code = _changed(source).code
    assert '\ntf_flags = flags\nflags.DEFINE_integer("steps", 6,' in code  # uses are absl's
    assert "\nFLAGS = flags.FLAGS\n" in code and "range(flags.FLAGS.steps)" in code
    assert code.endswith(f"    {APP_RUN}\n")


# --- left, with the reason -------------------------------------------------------------------------


def test_main_reading_argv_is_not_the_program() -> None:
    source = SOURCE.replace("def main(_):\n", "def main(argv):\n    print(argv)\n")
    _left(source, "BN015", "runs a `main` that is not migrated as the program", "tf.app.run()")


def test_flags_read_at_module_level_before_app_run_parses_them() -> None:
    source = SOURCE.replace("FLAGS = flags.FLAGS\n", "FLAGS = flags.FLAGS\nSTEPS = FLAGS.steps\n")
    _left(source, "BN015", "TF1's FLAGS parse sys.argv when first read", "flags.FLAGS")
    calls = SOURCE.replace(
        "def main(_):",
        "def steps():\n    return FLAGS.steps\n\n\nWARMUP = steps()\n\n\ndef main(_):",
    )
    _left(calls, "BN015", "TF1's FLAGS parse sys.argv when first read", "flags.FLAGS")
    through = SOURCE.replace(
        "def main(_):",
        "def steps():\n    return FLAGS.steps\n\n\ndef warmup():\n    return steps() // 2\n\n\n"
        "WARMUP = warmup()\n\n\ndef main(_):",
    )
    _left(through, "BN015", "TF1's FLAGS parse sys.argv when first read", "flags.FLAGS")
    default = SOURCE.replace("def make_data(seed):", "def make_data(seed, rows=FLAGS.batch_size):")
    _left(default, "BN015", "TF1's FLAGS parse sys.argv when first read", "flags.FLAGS")


def test_bare_app_run_without_guard_is_left() -> None:
    source = SOURCE.replace('if __name__ == "__main__":\n    tf.app.run()', "tf.app.run()")
    _left(source, "BN015", "runs a `main` that is not migrated as the program", "tf.app.run()")


def test_flags_name_taken_by_something_else() -> None:
    source = SOURCE.replace("flags = tf.app.flags\n", "flags = tf.app.flags\nflags_seen = 0\n")
    source = source.replace("flags = tf.app.flags\n", "tf_flags = tf.app.flags\n").replace(
        "flags.DEFINE", "tf_flags.DEFINE"
    )
    source = source.replace("FLAGS = flags.FLAGS", "FLAGS = tf_flags.FLAGS\nflags = ['x']")
    _left(source, "BN015", "`flags` is bound to something else here", "tf_flags = tf.app.flags")


def test_graph_object_used_is_kept() -> None:
    source = SOURCE.replace(
        "    with tf.Graph().as_default():\n",
        "    graph = tf.Graph()\n    with graph.as_default():\n",
    ).replace(
        "        with tf.Session() as sess:\n",
        "        graph.finalize()\n        with tf.Session() as sess:\n",
    )
    _left(
        source,
        "BN007",
        "`graph` is read elsewhere than `graph.as_default()`",
        "with graph.as_default():",
    )


def test_tensorflow_outside_the_graph_block_is_kept() -> None:
    source = SOURCE.replace(
        "    x_data, y_data = make_data(1)\n",
        "    x_data, y_data = make_data(1)\n    scale = tf.constant(2.0)\n",
    )
    _left(
        source,
        "BN007",
        "TensorFlow used outside `with tf.Graph().as_default():`",
        "scale = tf.constant(2.0)",
    )
    # a helper called before the block seeds the outer graph, not the one the program runs in
    helper = SOURCE.replace(
        "    rng = np.random.RandomState(seed)\n",
        "    tf.set_random_seed(seed)\n    rng = np.random.RandomState(seed)\n",
    )
    _left(
        helper,
        "BN007",
        "TensorFlow used outside `with tf.Graph().as_default():`",
        "x_data, y_data = make_data(1)",
    )


def test_two_graphs_are_kept() -> None:
    source = SOURCE.replace(
        "    x_data, y_data = make_data(1)\n",
        "    x_data, y_data = make_data(1)\n    spare = tf.Graph()\n",
    )
    _left(source, "BN007", "the program makes several graphs", "with tf.Graph().as_default():")


# --- the table against TensorFlow 2.21, and both sides run with flags ------------------------------


def _parameters(function: object) -> tuple[str, ...]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return tuple(n for n, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD)


@pytest.mark.slow
def test_flag_table_matches_tensorflow_2_21_and_absl() -> None:
    """Wrapped DEFINEs take absl's parameters plus TF1's old keywords; the others are absl's very
    functions; TF1's FLAGS forwards to absl's; ``tf.app.run`` is absl's run with TF1's parser."""
    import importlib

    import tensorflow as tf
    from absl import app, flags

    problems = []
    for name, spec in api.FLAG_RENAMES.items():
        short = name.removeprefix("tensorflow.")
        tf1: object = tf.compat.v1
        for part in short.split("."):
            tf1 = getattr(tf1, part)
        assert spec.target is not None and spec.imports
        module = importlib.import_module(spec.imports[0])
        tf2 = getattr(module, spec.target.partition(".")[2])
        if name == api.FLAGS_VALUES:
            if tf1.__dict__["__wrapped"] is not tf2:  # type: ignore[attr-defined]
                problems.append(f"{name}: does not wrap absl's FLAGS")
        elif not spec.positional:
            if tf1 is not tf2:
                problems.append(f"{name}: not absl's own {spec.target}")
        else:
            old = tuple(spec.renames)
            if _parameters(tf1) + old != spec.positional:
                problems.append(f"{name}: TF1 parameters {_parameters(tf1)} + {old}")
            if _parameters(tf2) != spec.target_positional:
                problems.append(f"{name}: absl parameters {_parameters(tf2)}")
    assert not problems, "\n".join(problems)
    assert inspect.getsource(tf.compat.v1.app.run).count("_parse_flags_tolerate_undef") == 1
    assert "known_only=True" in inspect.getsource(
        sys.modules[tf.compat.v1.app.run.__module__]._parse_flags_tolerate_undef
    )
    assert app.run and flags.FLAGS


def _steps(output: str) -> list[str]:
    return re.findall(r"^(step \d+|eval) loss", output, flags=re.M)


@pytest.mark.slow
def test_both_sides_take_the_same_flags_and_pass_unknown_ones() -> None:
    """``run-tf1 FILE --steps 2 --unknown 1`` and the committed migration with the same arguments
    both train 2 steps (``tf.app.run`` and the migrated parser keep unknown flags for ``argv``)."""
    args = ["--steps", "2", "--not_a_flag=1"]
    tf1 = subprocess.run(
        [sys.executable, "-m", "bn_migrate", "run-tf1", str(TF1), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tf2 = subprocess.run(
        [sys.executable, str(GOLDEN), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tf1.returncode == 0, tf1.stderr[-2000:]
    assert tf2.returncode == 0, tf2.stderr[-2000:]
    assert _steps(tf1.stdout) == _steps(tf2.stdout) == ["step 0", "step 1", "eval"]


# --- a script without main: the module-level graph block ------------------------------------------

SCRIPT = APP_MAIN_BEFORE.split("def main(_):\n")[1].split("\n\nif __name__")[0]
SCRIPT = (
    "import numpy as np\nimport tensorflow as tf\n\n"
    + "\n".join(line.removeprefix("    ") for line in SCRIPT.splitlines()).replace(
        "range(FLAGS.steps)", "range(2)"
    )
    + "\n"
)


def test_module_level_graph_block_is_dissolved() -> None:
    assert SCRIPT.startswith("import numpy as np\nimport tensorflow as tf\n\ndata = np.ones(")
    assert "\nwith tf.Graph().as_default():\n    x = tf.placeholder(" in SCRIPT
    result = _changed(SCRIPT)
    assert "as_default" not in result.code and "\n\ndef graph(x, is_training):\n" in result.code
    dissolved = next(s for s in result.applied if "dissolved" in s.message)
    _at(SCRIPT, dissolved, "with tf.Graph().as_default():")
    bn = next(s for s in result.applied if s.rule == "BN001")
    _at(SCRIPT, bn, "tf.layers.batch_normalization(")


def test_module_level_block_left_reasons_are_at_original_places() -> None:
    source = SCRIPT.replace(
        "        print(value)\n", "        print(value)\n    sess.run(loss, options=None)\n"
    )
    _left(source, "BN007", "", "sess.run(loss, options=None)")
    outside = SCRIPT.replace("data = np.ones(", "seed = tf.set_random_seed(1)\ndata = np.ones(")
    _left(
        outside, "BN007", "outside `with tf.Graph().as_default():` in the module", "seed = tf.set"
    )
