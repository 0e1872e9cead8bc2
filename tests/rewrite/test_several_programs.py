"""Modules that run several programs one after the other (the shape of TF1 lesson notebooks: each
program defines its functions, resets the default graph and trains in its own session):
``analysis.several_programs`` finds them, ``planning.several_programs`` migrates them program by
program, and ``check`` compares them program by program (``check.several``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.check.several import programs_of
from bn_migrate.rewrite.analysis import several_programs as segments
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.planning.several_programs import boundary, written_out
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite, left_reasons
from tests.rewrite.test_notebooks import notebook, run

PRELUDE = """\
import numpy as np
import tensorflow as tf

rng = np.random.RandomState(0)
DATA_X = rng.rand(64, 4).astype(np.float32)
DATA_Y = (DATA_X[:, :2].sum(axis=1, keepdims=True) - 1.0).astype(np.float32)
"""

PROGRAM = """

def hidden(x, units, is_training):
    h = tf.layers.dense(x, units, use_bias=False)
    h = tf.layers.batch_normalization(h, momentum={momentum}, training=is_training)
    return tf.nn.relu(h)


def train(steps, learning_rate):
    x = tf.placeholder(tf.float32, [None, 4])
    y = tf.placeholder(tf.float32, [None, 1])
    is_training = tf.placeholder(tf.bool)
{layers}    prediction = tf.layers.dense(h, 1)
    loss = tf.reduce_mean(tf.square(prediction - y))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.{optimizer}(learning_rate).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(steps):
            start = (step * 16) % 64
            feed = {{x: DATA_X[start:start + 16], y: DATA_Y[start:start + 16], is_training: True}}
            _, loss_value = sess.run([train_op, loss], feed)
            print("step %d loss %.6f" % (step, loss_value))
        print("eval loss %.6f" % sess.run(loss, {{x: DATA_X, y: DATA_Y, is_training: False}}))


steps = {steps}
tf.reset_default_graph()
with tf.Graph().as_default():
    train(steps, {rate})
"""

FIRST = PROGRAM.format(
    momentum=0.99,
    layers="    h = hidden(x, 16, is_training)\n",
    optimizer="GradientDescentOptimizer",
    steps=5,
    rate=0.05,
)
SECOND = PROGRAM.format(
    momentum=0.9,
    layers="    h = hidden(x, 8, is_training)\n    h = hidden(h, 8, is_training)\n",
    optimizer="AdamOptimizer",
    steps=4,
    rate=0.01,
)
TWO = PRELUDE + FIRST + SECOND


def _programs(source: str) -> segments.Programs | segments.Refusal | None:
    return segments.find(source, ast.parse(source))


def test_a_module_of_two_programs_is_found_with_its_prelude_and_segments() -> None:
    found = _programs(TWO)
    assert isinstance(found, segments.Programs)
    lines = TWO.split("\n")
    assert found.prelude_end == 6
    assert [lines[line - 1] for line in found.runs] == ["with tf.Graph().as_default():"] * 2
    (start, end), (second, last) = found.segments
    assert (start, end, second) == (6, found.runs[0] + 1, end)
    assert last == len(lines) - 1  # to the end of the module
    assert "".join(code for code, _, _ in written_out(found, TWO)).count(PRELUDE) == 2


def test_each_program_is_migrated_as_a_module_of_its_own_and_put_back_in_order() -> None:
    result = rewrite_source(TWO)
    assert result.status is Status.CHANGED, left_reasons(result)
    found = _programs(TWO)
    assert isinstance(found, segments.Programs)
    mark = boundary(TWO)
    migrated = [rewrite_source(code).code for code, _, _ in written_out(found, TWO)]
    headers = [code.partition(mark)[0] for code in migrated]
    # the second program needs TF1's fused-kernel layer (momentum 0.9 on 2-D input), the first not:
    # one header, the wider, holds both
    assert len(headers[1]) > len(headers[0])
    assert result.code == headers[1] + "".join(code.partition(mark)[2] for code in migrated)
    assert mark not in result.code
    assert "tf.Session" not in result.code and "reset_default_graph" not in result.code
    assert result.code.count("def train_step(") == 2
    assert_rewrite(TWO, result.code)  # parses, and rewriting it again changes nothing


def test_sites_are_reported_at_the_module_lines() -> None:
    result = rewrite_source(TWO)
    lines = TWO.split("\n")
    bn = [site for site in result.applied if "batch_normalization" in lines[site.line - 1]]
    assert len({site.line for site in bn}) == 2
    assert all(
        lines[site.line - 1].strip().startswith("h = tf.layers.batch_normalization") for site in bn
    )


def test_a_program_left_leaves_the_module_with_its_reasons_at_the_module_lines() -> None:
    second = SECOND.replace(
        "    prediction = tf.layers.dense(h, 1)\n",
        "    prediction = tf.layers.dense(h, 1)\n    print(tf.contrib.framework.get_name_scope())\n",
    )
    source = PRELUDE + FIRST + second
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    lines = source.split("\n")
    reasons = left_reasons(result)
    assert any("get_name_scope" in lines[line - 1] for _, line, _ in reasons), reasons
    whole = [r for r in reasons if "programs are migrated together or not at all" in r[2]]
    assert len(whole) == 1 and "program 2 is left" in whole[0][2]
    assert lines[whole[0][1] - 1] == "with tf.Graph().as_default():"
    assert whole[0][1] > len((PRELUDE + FIRST).split("\n"))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param(
            lambda second: second.replace("steps = 4\n", ""),
            "reads `steps`",
            id="reads-a-name-the-first-program-binds",
        ),
        pytest.param(
            lambda second: second.replace(
                "tf.reset_default_graph()\nwith tf.Graph().as_default():\n    train",
                "x0 = tf.constant(1.0)\nwith tf.Session() as s0:\n    s0.run(x0)\ntrain",
            ),
            "may add to the graph the program before it built",
            id="no-new-graph",
        ),
        pytest.param(
            lambda second: second + "print(globals())\n",
            "binds names at run time",
            id="dynamic-names",
        ),
    ],
)
def test_modules_whose_programs_share_state_are_not_split(change, why) -> None:
    source = PRELUDE + FIRST + change(SECOND)
    found = _programs(source)
    assert isinstance(found, segments.Refusal), found
    assert why in found.message
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(why in message for _, _, message in left_reasons(result))


def test_names_local_to_functions_do_not_cross_programs() -> None:
    # `steps` is a parameter of each `train`, `units` one of `hidden`: not read from the module
    second = SECOND.replace("steps = 4\n", "steps = 4\nunits = 3\n")
    assert isinstance(_programs(PRELUDE + FIRST + second), segments.Programs)
    reads = segments.module_reads(
        "def f(a, *b, c=d, **e):\n    g = a\n    return [h for h in g] + k\n"
    )
    assert reads == {"d", "k"}


def test_one_program_is_not_split() -> None:
    assert _programs(PRELUDE + FIRST) is None


def test_a_notebook_of_two_programs_migrates_cell_by_cell(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "lesson.ipynb", PRELUDE, FIRST.lstrip("\n"), SECOND.lstrip("\n"))
    status, _, err = run(nb)
    assert status == 0, err
    cells = [
        "".join(cell["source"])
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
    ]
    assert len(cells) == 3
    assert "tf.Session" not in "".join(cells)
    assert cells[1].count("def train_step(") == 1 and cells[2].count("def train_step(") == 1
    again, _, _ = run(nb)
    assert again == 0


def test_check_pairs_new_programs_only_where_the_migration_puts_them() -> None:
    migrated = rewrite_source(TWO).code
    pairs = programs_of(TWO, migrated)
    assert isinstance(pairs, list) and len(pairs) == 2
    assert [line for _, _, line in pairs] == [7, len((PRELUDE + FIRST).split("\n"))]
    assert all("def train_step(" in new for _, new, _ in pairs)
    assert programs_of(PRELUDE + FIRST, migrated) is None
    shuffled = migrated.replace("steps = 4\n", "")
    assert programs_of(TWO, shuffled) is None  # checked as one program, as before


@pytest.mark.slow
def test_both_programs_are_checked_equivalent_and_a_planted_mistake_is_caught(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    from bn_migrate.check import check_programs

    old = tmp_path / "lesson.py"
    old.write_text(TWO, encoding="utf-8")
    new = tmp_path / "lesson_tf2.py"
    migrated = rewrite_source(TWO).code
    new.write_text(migrated, encoding="utf-8")
    checked = check_programs(old, new, keep_dir=tmp_path / "runs", old_cache=old_cache)
    assert checked.verdict == "equivalent", checked.render_text()
    assert "program 1 (from line 7) EQUIVALENT; program 2" in checked.render_text()
    assert len(checked.layers) == 3
    planted = tmp_path / "lesson_planted.py"
    assert migrated.count("momentum=0.9,") == 1  # in the class `hidden` became
    planted.write_text(migrated.replace("momentum=0.9,", "momentum=0.8,"), encoding="utf-8")
    caught = check_programs(old, planted, keep_dir=tmp_path / "planted", old_cache=old_cache)
    assert caught.verdict == "different", caught.render_text()
    assert "program 2" in (caught.reason or "") or any(
        "program 2" in d.message for d in caught.diagnoses
    )


def test_a_program_whose_function_resets_the_graph_first_is_a_program_of_its_own() -> None:
    """The Udacity lesson's ``train_and_test`` and the handson-ml book's ``reset_graph()``: the call
    runs ``tf.reset_default_graph()`` before anything it adds to the graph."""

    def reset_inside(program: str) -> str:
        return program.replace(
            "def train(steps, learning_rate):\n",
            "def train(steps, learning_rate):\n    order = np.arange(4)\n    tf.reset_default_graph()\n",
        ).replace("tf.reset_default_graph()\nwith tf.Graph().as_default():\n    train(", "train(")

    source = PRELUDE + reset_inside(FIRST) + reset_inside(SECOND)
    assert "with tf.Graph()" not in source
    assert isinstance(_programs(source), segments.Programs)
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    second = reset_inside(SECOND).replace(
        "    order = np.arange(4)\n", "    x0 = tf.constant(1.0)\n"
    )  # adds to the first program's graph before the reset
    late = PRELUDE + reset_inside(FIRST) + second
    found = _programs(late)
    assert isinstance(found, segments.Refusal) and "may add to the graph" in found.message


SCRIPT_PROGRAM = (
    Path(__file__).resolve().parents[1] / "fixtures" / "tf1" / "layers_mlp_placeholder.py"
).read_text(encoding="utf-8")


def _script_programs(count: int, change=lambda k, body: body) -> str:  # type: ignore[no-untyped-def]
    """The fixture script run ``count`` times, each a program of its own after a graph reset, each
    with its module-level ``with tf.Session() as sess:`` (the handson-ml notebooks' shape)."""
    head, body = SCRIPT_PROGRAM.split("np.random.seed(0)\n", 1)
    return head + "".join(
        change(k, "tf.reset_default_graph()\nnp.random.seed(0)\n" + body + "\n")
        for k in range(count)
    )


def test_names_bound_before_their_reads_inside_a_statement_are_the_program_own() -> None:
    """``with tf.Session() as sess:`` binds ``sess`` before its body reads it (it read as the earlier
    program's ``sess``: every module-level session block after the first was refused)."""
    source = _script_programs(2)
    assert isinstance(_programs(source), segments.Programs)
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert result.code.count("def train_step(") == 2
    assert rewrite_source(result.code).status is Status.UNCHANGED  # idempotent


@pytest.mark.parametrize(
    ("second", "read"),
    [
        pytest.param(  # a loop's body reading a name its later statement binds: the earlier value first
            "for k in range(2):\n    print(total)\n    total = k\n",
            "total",
            id="later-in-loop-body",
        ),
        pytest.param(  # the with item runs before its body binds
            "with open(name) as f:\n    name = f.read()\n", "name", id="with-item-before-body"
        ),
        pytest.param(  # a handler may run when the try body bound nothing
            "try:\n    total = 1\nexcept ValueError:\n    print(total)\n", "total", id="handler"
        ),
        pytest.param(  # one branch binding does not bind for the other
            "if True:\n    total = 1\nelse:\n    print(total)\n", "total", id="other-branch"
        ),
    ],
)
def test_reads_before_any_binding_in_the_order_statements_run_are_refused(
    second: str, read: str
) -> None:
    first = "total = 0\nname = 'x'\nflag = True\n"
    module = ast.parse(first + second)
    bound_before = dict.fromkeys(("total", "name", "flag"), 1)
    found = segments._first_earlier_read(module.body[3:], set(), bound_before)
    assert found is not None and found.id == read


@pytest.mark.parametrize(
    "second",
    [
        "with open('f') as f:\n    name = f.read()\n    print(name)\n",
        "for total in range(2):\n    print(total)\n",
        "if True:\n    total = 1\n    print(total)\n",
        "try:\n    total = 1\n    print(total)\nexcept ValueError as name:\n    print(name)\n",
        "total = 1\nwhile total:\n    total = total - 1\n",
    ],
)
def test_reads_after_the_program_own_binding_are_not(second: str) -> None:
    module = ast.parse(second)
    bound_before = dict.fromkeys(("total", "name", "f"), 1)
    assert segments._first_earlier_read(module.body, set(), bound_before) is None


@pytest.mark.slow
def test_script_programs_with_their_own_session_blocks_are_checked_equivalent(
    tmp_path: Path,
) -> None:
    from bn_migrate.check import check_programs

    old = tmp_path / "twice.py"
    old.write_text(_script_programs(2), encoding="utf-8")
    new = tmp_path / "twice_tf2.py"
    new.write_text(rewrite_source(_script_programs(2)).code, encoding="utf-8")
    checked = check_programs(old, new, keep_dir=tmp_path / "runs")
    assert checked.verdict == "equivalent", checked.render_text()
    assert "program 2" in checked.render_text()
