"""The early path (``early_left``): a file it decides gets, before libcst, the very report entry the
engine gives it (same sites, rule, line:col, message, order); every other file goes to the engine as
before. Checked on every fixture and example and on left files built for each condition, with the
early path on and off (``runner.EARLY_LEFT``); and the lists the decision rests on (names the rules
start from) against the code."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite import early_left, report, runner
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.options import RewriteOptions
from bn_migrate.rewrite.result import RewriteResult, Status
from bn_migrate.rewrite.runner import Mode, RunConfig
from tests.rewrite.test_runner import make_tree

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "bn_migrate" / "rewrite"

# Left files early_left decides: TF1 references in classes and in functions nothing names.
DECIDED = {
    "test_class": (
        "import tensorflow as tf\n"
        "\n"
        "\n"
        "class GraphTest(tf.test.TestCase):\n"
        "    def testReset(self):\n"
        "        tf.reset_default_graph()\n"
        "        self.assertTrue(tf.GraphKeys)\n"
        "\n"
        "    def testAssign(self):\n"
        "        tf.assign_add(self.v, 1)\n"
        "\n"
        "    def helper(self):\n"
        "        pass\n"
        "\n"
        "    async def other(self):\n"
        "        pass\n"
        "\n"
        "    def more(self):\n"
        "        pass\n"
        "\n"
        "\n"
        'if __name__ == "__main__":\n'
        "    tf.test.main()\n"
    ),
    "never_called": (
        "import tensorflow.compat.v1 as tf\n"
        "\n"
        "\n"
        "def setUpModule():\n"
        "    tf.disable_eager_execution()\n"
        "\n"
        "\n"
        "@decorated\n"
        "def unused(x=tf.assign):\n"
        '    """Mentions unused and setUpModule in its text only."""\n'
        "    return x\n"
    ),
    "in_blocks": (
        "import tensorflow as tf\n"
        "\n"
        "try:\n"
        "    class Inner(object):\n"
        "        v = tf.assign\n"
        "\n"
        "    def builder(x):\n"
        "        return tf.assign_add(x, 1)\n"
        "except ImportError:\n"
        "    pass\n"
    ),
    "positions": (
        "import tensorflow as tf\n"
        "from tensorflow.contrib import framework as fw\n"
        "\n"
        "\n"
        "@tf.contrib.framework.add_arg_scope\n"
        "class Model(fw.Base, metaclass=type):\n"
        "    def call(self):\n"
        '        s = "é€"; v = (tf).assign_add(s, 1); w = (tf.assign)\n'
        "        return tf.get_default_session, fw.get_model_variables(\n"
        "            scope=tf.GraphKeys)\n"
        "\n"
        "\n"
        "async def later():\n"
        "    await tf.assign(1, 2)\n"
    ),
    "one_line_class": "import tensorflow as tf\n\n\nclass A: v = tf.assign\n",
    "keyword_named_tf": "import tensorflow as tf\n\n\nclass A:\n    v = tf.assign(tf=1)\n",
    # module-level functions with graph code, as the engine reads them when no builder exists (no
    # session): passed as a value, called in a loop, comprehension or lambda, from a function or a
    # class, several times, once at module level; never called but named as an attribute
    "passed": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "def g(h=2, **k):\n    return h\n\n\ng(k=1, h=[f, f])\n"
    ),
    "passed_first_as_a_keyword_or_parameter": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "def g(f=1):\n    return f\n\n\ng(\n    f=2)\n"
    ),
    "passed_as_a_method_name": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "class A:\n    @staticmethod\n    async  def  f(): pass\n"
    ),
    "never_called_an_attribute": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\nx = A().f(a.f)\n"
    ),
    "called_in_loops": (
        "import tensorflow as tf\n\n\ndef f(x=0):\n    tf.assign(1, 2)\n\n\n"
        "def g():\n    tf.assign_add(1, 2)\n\n\n"
        "def h():\n    tf.assign(3, 4)\n\n\n"
        "def w():\n    tf.assign(5, 6)\n\n\n"
        "f()\nfor i in range(2):\n    pass\nelse:\n    f()\n"
        "y = [g() for _ in range(2)]\nz = lambda: h()\nwhile w():\n    break\n"
    ),
    "called_from_definitions": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "def g():\n    tf.assign_add(1, 2)\n\n\n"
        "def k():\n    tf.assign(3, 4)\n\n\n"
        "@decorate(g())\nclass A:\n    x = f()\n\n\n"
        "async def h():\n    return f(), k()\n\n\nf()\nk()\n"
    ),
    "called_several_times": (
        "import tensorflow as tf\n\n\ndef f(x=None):\n    tf.assign(1, 2)\n\n\n"
        "f(f(\n    f()))\nif True:\n    f()\n"
    ),
    "called_once": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.reset_default_graph()\n\n\n"
        "with open('x') as g:\n    (\n        f)()\n"
    ),
    # names every reader of which needs a gate too (``GATED_NAMES``)
    "gated_names": (
        "import os\nimport numpy as np\nimport tensorflow as tf\n\nDTYPES = (np.float32, np.int64)\n\n\n"
        "def build(path):\n    graph = tf.Graph()\n    with graph.as_default():\n"
        "        step = tf.train.get_or_create_global_step()\n"
        "        x = tf.constant(1, dtype=tf.int64) + tf.constant(2, dtype=tf.int32)\n"
        "        tf.assign(step, x)\n"
        "    return graph, os.path.join(path, 'x'), tf.train.create_global_step\n\n\n"
        "build('.')\n"
    ),
    # module level, in a module that names no session maker: "runs no session"
    "module_level": (
        "import tensorflow as tf\n\ntf.reset_default_graph()\nv = [tf.assign(1, 2)]\n"
        "if v:\n    x = tf.contrib.learn.Experiment(v)\n"
    ),
    "known_reason": (
        "import tensorflow as tf\n"
        "\n"
        "\n"
        "def run(x):\n"
        "    return tf.contrib.learn.Experiment(x), tf.contrib.learn.RunConfig(x)\n"
        "\n"
        "\n"
        "run(1)\n"
    ),
}

# Left files the engine decides: early_left does not know every site.
UNDECIDED = {
    # a call in a for loop of a function: analysis.static_loops decides its reason
    "called_in_a_for_loop_of_a_function": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "def g(n):\n    for _ in range(n):\n        f()\n\n\ng(3)\n"
    ),
    # an Estimator's program may be migrated (planning.estimator): the engine decides
    "an_estimator": "import tensorflow as tf\n\n\ndef run(x):\n    return tf.estimator.Estimator(x)\n\n\nrun(1)\n",
    "module_level_with_a_monitored_session": (
        "import tensorflow as tf\n\ntf.reset_default_graph()\n"
        "with tf.train.MonitoredTrainingSession() as s:\n    pass\n"
    ),
    "in_an_fstring": (
        'import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\nprint(f"{f()}")\n'
    ),
    "imported_name": (
        "import tensorflow as tf\nimport os.path as f\n\n\ndef g():\n    tf.assign(1, 2)\n\n\n"
        "def f():\n    tf.assign(1, 2)\n"
    ),
    "global_name": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\ndef g():\n    global f\n"
    ),
    "except_name": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "try:\n    pass\nexcept ValueError as f:\n    pass\n"
    ),
    "name_on_a_continued_line": (
        "import tensorflow as tf\n\n\ndef f():\n    tf.assign(1, 2)\n\n\n"
        "class A:\n    def \\\n    f(self):\n        pass\n"
    ),
    "a_layer": (
        "import tensorflow as tf\n\n\nclass A:\n    def f(self, x):\n"
        "        return tf.layers.dense(x, 3)\n"
    ),
    "a_session": (
        "import tensorflow as tf\n\n\nclass A:\n    def f(self):\n"
        "        with tf.Session() as s:\n            pass\n"
    ),
    "a_keras_layer": (
        "import tensorflow as tf\n\n\nclass A:\n    def f(self, x):\n        tf.assign(1, 2)\n"
        "        return tf.keras.layers.Dense(3)(x)\n"
    ),
    "updates": "import tensorflow as tf\n\n\nclass A:\n    def f(self, b):\n        tf.assign(b.updates)\n",
    "shadowed": "import tensorflow as tf\n\n\nclass A:\n    def f(self, tf):\n        tf.assign(1, 2)\n",
    "rebound": "import tensorflow as tf\n\n\nclass A:\n    tf.assign(1, 2)\n\n\nfor tf in []:\n    pass\n",
    "keyword": (
        "import tensorflow as tf\nfrom tensorflow.contrib import framework as fw\n\n\n"
        "class A:\n    v = tf.assign(fw=1)\n"
    ),
    # a gated name with one of its gates: the engine decides
    "gated_with_a_session": (
        "import os\nimport tensorflow as tf\n\n\nclass A:\n    def f(self):\n"
        "        with tf.Session(graph=tf.Graph()) as s:\n            os.path.join(s, 'x')\n"
    ),
    "gated_with_an_optimizer": (
        "import tensorflow as tf\n\n\ndef f(loss):\n    step = tf.train.create_global_step()\n"
        "    return tf.train.AdamOptimizer(0.1).minimize(loss, global_step=step)\n"
    ),
    "star": "from tensorflow import *\nimport tensorflow as tf\n\n\nclass A:\n    v = tf.assign\n",
    # an import of a TF1-only name nothing reads: the engine reports it at the import
    "unread_tf1_import": (
        "import tensorflow as tf\nfrom tensorflow.contrib.framework import arg_scope\n\n\n"
        "class A:\n    v = tf.assign\n"
    ),
    "twice": "import tensorflow as tf\nimport tensorflow.compat.v1 as tf\n\n\nclass A:\n    v = tf.assign\n",
    "crlf": "import tensorflow as tf\r\n\r\n\r\nclass A:\r\n    v = tf.assign\r\n",
    "graph_block": (
        "import tensorflow as tf\n\ng = tf.Graph()\nwith g.as_default():\n    pass\n\n\n"
        "class A:\n    v = tf.assign\n"
    ),
    "same_name_in_block": (
        "import tensorflow as tf\n\n\ndef f():\n    pass\n\n\nif True:\n\n    def f():\n"
        "        tf.assign(1, 2)\n"
    ),
    "deep": "import tensorflow as tf\n\n\nclass A:\n    v = tf.assign("
    + "[" * 70
    + "]" * 70
    + ")\n",
}


def _entry(path: str, source: str, result: RewriteResult) -> str:
    """The file's entry of the ``--report`` JSON."""
    outcome = runner._outcome_from_result(path, source, result)
    return json.dumps(report.outcome_json(outcome), indent=2, sort_keys=True)


def _both_paths(source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """``prefilter_result`` with the early path on, then off."""
    monkeypatch.setattr(runner, "EARLY_LEFT", True)
    on = runner.prefilter_result(source)
    monkeypatch.setattr(runner, "EARLY_LEFT", False)
    off = runner.prefilter_result(source)
    monkeypatch.setattr(runner, "EARLY_LEFT", True)
    return on, off


def _same_report(path: str, source: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both paths give ``source`` the same report entry; True when the early path decided it."""
    on, off = _both_paths(source, monkeypatch)
    if on == off:  # the same answer, or both leave the file to the engine
        return False
    assert off is None and isinstance(on, RewriteResult) and on.status is Status.SKIPPED
    assert _entry(path, source, on) == _entry(path, source, rewrite_source(source, path=path))
    return True


def _python_files() -> list[Path]:
    return sorted(
        p
        for folder in (REPO / "tests" / "fixtures", REPO / "examples")
        for p in folder.rglob("*.py")
    )


def test_every_fixture_and_example_gets_the_same_report_on_both_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = _python_files()
    assert len(files) > 50
    for path in files:
        source = runner.decode_source(path.read_bytes()).text
        _same_report(str(path), source, monkeypatch)


def test_every_file_of_the_installed_tf_slim_gets_the_same_report_on_both_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A library tree (test modules, graph code in functions calling each other): the files the
    early path decides get the engine's report; the others go to the engine on both paths."""
    spec = importlib.util.find_spec("tf_slim")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("tf_slim is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(root.rglob("*.py"))
    decided = [
        path
        for path in files
        if _same_report(str(path), runner.decode_source(path.read_bytes()).text, monkeypatch)
    ]
    assert len(files) > 50 and decided


@pytest.mark.parametrize("name", sorted(DECIDED))
def test_left_files_decided_early_get_the_engines_report(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _same_report(f"{name}.py", DECIDED[name], monkeypatch)


@pytest.mark.parametrize("name", sorted(UNDECIDED))
def test_left_files_it_cannot_decide_go_to_the_engine(name: str) -> None:
    source = UNDECIDED[name]
    assert early_left.left_sites(source, ast.parse(source)) is None
    assert runner.prefilter_result(source) is None


def test_columns_count_characters_as_libcst_does() -> None:
    source = DECIDED["positions"]
    sites = early_left.left_sites(source, ast.parse(source))
    assert sites is not None
    line = source.split("\n")[7]
    assert [(s.line, s.col) for s in sites if s.line == 8] == [
        (8, line.index("(tf).assign_add") + 1),
        (8, line.index("tf.assign)") + 1),
    ]


def test_options_blockers_and_the_switch_send_the_file_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = DECIDED["test_class"]
    assert runner.prefilter_result(source, options=RewriteOptions()) is not None
    assert runner.prefilter_result(source, options=RewriteOptions(plain_keras_bn=True)) is None
    assert runner.prefilter_result(source, options=RewriteOptions(library=("x",))) is None
    monkeypatch.setattr(runner, "EARLY_LEFT", False)
    assert runner.prefilter_result(source) is None


def test_a_run_reports_the_same_with_the_early_path_on_and_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run level: a file decided early whose program the graph leaves (an import found nowhere,
    BN016) gets the program's reason, as the engine gives it; the others their early sites."""
    files = {f"{name}.py": source for name, source in DECIDED.items()}
    files["lonely_test.py"] = "import nowhere_to_be_found\n" + DECIDED["test_class"]
    tree = make_tree(tmp_path / "src", files)
    documents = []
    for early in (True, False):
        monkeypatch.setattr(runner, "EARLY_LEFT", early)
        config = RunConfig(paths=(tree,), mode=Mode.CHECK, jobs=1)
        document = report.build_report(runner.run_files(config), Mode.CHECK, None)
        documents.append(json.dumps(document, indent=2, sort_keys=True))
    assert documents[0] == documents[1]
    lonely = next(f for f in json.loads(documents[0])["files"] if "lonely" in f["path"])
    assert {site["rule"] for site in lonely["left"]} == {"BN016"}


def test_the_gates_of_the_gated_names_are_names_the_rules_start_from() -> None:
    """A gated name is not a name the rules start from, but every gate is (else a file naming
    both could be decided here); each is a name of the tables or of ``NAMES_IN_CODE``."""
    tables = early_left._read_names()
    for name, gates in early_left.GATED_NAMES.items():
        assert name not in early_left.RULE_NAMES and gates
        assert gates <= early_left.RULE_NAMES and not gates & early_left.GATED_NAMES.keys()
        assert name == api.canonical_name(name) and name in tables
    assert "tensorflow.Session" in early_left.RULE_NAMES  # a gate: not emptied by the subtraction


def test_every_session_maker_is_a_name_the_rules_start_from() -> None:
    """A reference at module level is said to be in a module that runs no session: the early path
    must not decide a file naming any session maker."""
    makers = api.SESSION_MAKERS | api.SESSION_CLASSES | set(api.MONITORED_SESSIONS)
    assert "tensorflow.InteractiveSession" in makers
    assert makers <= early_left.RULE_NAMES


def test_the_engine_rule_id_is_the_rules_one() -> None:
    from bn_migrate.rewrite.rules import ENGINE_RULE

    assert early_left.ENGINE_RULE == ENGINE_RULE


_QUALIFIED_LITERAL = re.compile(r"(tensorflow|keras|tf_keras|tf_slim|absl)(\.\w+)+\.?")
_OWN_LISTS = {
    "api_tables.py",
    "early_left.py",
    "prefilter.py",
    "tf2_api.py",
    "tf2_renames.py",
}  # tables


def test_every_qualified_name_written_in_the_code_is_a_name_the_rules_start_from() -> None:
    """A name a rule or the analysis compares against outside the tables must be in
    ``NAMES_IN_CODE`` (or the tables), else a file naming it could be decided early wrongly."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in _OWN_LISTS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if _QUALIFIED_LITERAL.fullmatch(text) and not _covered(text.rstrip(".")):
                    missing.append(f"{path.relative_to(REPO)}: {text}")
    assert missing == []


def _covered(name: str) -> bool:
    return (
        name in early_left.RULE_NAMES
        or name in early_left.NAMES_IN_CODE
        or any(name == p or name.startswith(p + ".") for p in early_left.RULE_PREFIXES)
    )


_PREFIX_TEST = re.compile(r"startswith\(\(?api\.(\w+)")


def test_every_prefix_the_code_tests_names_against_is_listed() -> None:
    """``startswith(api.X ...)`` on qualified names: X is one of ``RULE_PREFIXES`` or a table
    ``TABLES_READ_ELSEWHERE`` explains."""
    prefixes = set(early_left.RULE_PREFIXES)
    unlisted = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in _OWN_LISTS:
            continue
        for constant in _PREFIX_TEST.findall(path.read_text()):
            value = getattr(api, constant)
            values = value if isinstance(value, tuple) else (value,)
            listed = all(v.rstrip(".") in prefixes for v in values)
            if not listed and constant not in early_left.TABLES_READ_ELSEWHERE:
                unlisted.append(f"{path.relative_to(REPO)}: api.{constant}")
    assert unlisted == []
