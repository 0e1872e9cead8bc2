"""The UPDATE_OPS collection in every spelling around ``minimize``: written in place (``with
tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):``, the commonest form in real code),
``control_inputs=``, ``key=``, the string ``"update_ops"``, ``tf.compat.v1``.

Each form was migrated with ``momentum=1.0`` ("the original never ran this layer's update ops"): the
program facts read only a name bound to the collection as the update ops, and BN006 consumed any
``tf.control_dependencies`` block around ``minimize``. A real program (OFRIN/Tensorflow_Group_Norm_vs_Batch_Norm
once its other blockers are taken out) was called DIFFERENT by ``check`` for it. Now each form keeps TF1's
momentum, and control dependencies of anything else (a scoped collection written in place) leave the file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.check import check_programs
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py"
NAMED = (
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "with tf.control_dependencies(update_ops):\n"
)
SOURCE = FIXTURE.read_text(encoding="utf-8")


def _inline(dependency: str) -> str:
    assert NAMED in SOURCE
    return SOURCE.replace(NAMED, f"with tf.control_dependencies({dependency}):\n")


@pytest.mark.parametrize(
    "dependency",
    [
        "tf.get_collection(tf.GraphKeys.UPDATE_OPS)",
        "control_inputs=tf.get_collection(tf.GraphKeys.UPDATE_OPS)",
        "tf.get_collection(key=tf.GraphKeys.UPDATE_OPS)",
        'tf.get_collection("update_ops")',
        "tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)",
    ],
)
def test_the_collection_in_place_keeps_the_momentum(dependency: str) -> None:
    expected = rewrite_source(SOURCE)
    result = rewrite_source(_inline(dependency))
    assert result.status is Status.CHANGED, [(s.line, s.message) for s in result.left]
    ast.parse(result.code)
    assert "momentum=1.0" not in result.code
    assert result.code.count("momentum=0.99") == 2
    assert result.code.split("\ndense1 = ", 1)[1] == expected.code.split("\ndense1 = ", 1)[1]


@pytest.mark.parametrize(
    "group",
    [
        "tf.group(opt_op, *tf.get_collection(tf.GraphKeys.UPDATE_OPS))",
        "tf.group(opt_op, tf.get_collection(tf.GraphKeys.UPDATE_OPS))",
        "tf.group(*tf.get_collection(tf.GraphKeys.UPDATE_OPS), opt_op)",
    ],
)
def test_the_collection_in_place_grouped_with_the_train_op(group: str) -> None:
    # `tf.group(train_step, *tf.get_collection(...))` was left ("`tf.group` ... no rule migrates it")
    minimize = "    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n"
    assert NAMED + minimize in SOURCE
    source = SOURCE.replace(
        NAMED + minimize,
        f"opt_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\ntrain_op = {group}\n",
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, [(s.line, s.message) for s in result.left]
    assert result.code.count("momentum=0.99") == 2 and "tf.group" not in result.code


def _grouped_list(listed: str, after: str = "") -> str:
    """The fixture with its train op grouped, as hwalsuklee's, from a list of it and the updates."""
    minimize = "    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n"
    assert NAMED + minimize in SOURCE
    return SOURCE.replace(
        NAMED + minimize,
        "opt_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n"
        f"update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\ntrain_ops = {listed}\n{after}"
        "train_op = tf.group(*train_ops)\n",
    )


@pytest.mark.parametrize(
    "listed", ["[opt_op] + update_ops", "update_ops + [opt_op]", "[opt_op, *update_ops]"]
)
def test_a_list_of_the_train_op_and_the_updates_grouped(listed: str) -> None:
    """hwalsuklee's ``train_ops = [train_step] + update_ops; train_op_final = tf.group(*train_ops)``
    is the grouped form: it migrates as ``tf.group(opt_op, *update_ops)`` does (the list line goes
    with it)."""
    grouped = SOURCE.replace(
        NAMED + "    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n",
        "opt_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n"
        "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "train_op = tf.group(opt_op, *update_ops)\n",
    )
    expected = rewrite_source(grouped)
    assert expected.status is Status.CHANGED, [(s.line, s.message) for s in expected.left]
    result = rewrite_source(_grouped_list(listed))
    assert result.status is Status.CHANGED, [(s.line, s.message) for s in result.left]
    assert result.code == expected.code
    assert "momentum=1.0" not in result.code and "train_ops" not in result.code


@pytest.mark.parametrize(
    ("listed", "after"),
    [
        ("[opt_op]", ""),  # no update op in the list: the statistics never moved
        ("[opt_op] + update_ops", "train_ops.append(loss)\n"),  # changed before the group
        ("[opt_op] + update_ops + [loss]", ""),
        ("[loss] + update_ops", ""),  # not a train op
    ],
)
def test_other_grouped_lists_are_left(listed: str, after: str) -> None:
    source = _grouped_list(listed, after)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source


def test_a_named_collection_with_the_key_keyword_keeps_the_momentum() -> None:
    source = SOURCE.replace(
        "tf.get_collection(tf.GraphKeys.UPDATE_OPS)",
        "tf.get_collection(key=tf.GraphKeys.UPDATE_OPS)",
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED and "momentum=1.0" not in result.code


@pytest.mark.parametrize(
    "dependency",
    [
        "tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope='bn1')",  # only bn1's update ops run
        "[loss]",
        "tf.get_collection(tf.GraphKeys.UPDATE_OPS) + extra_ops",
    ],
)
def test_other_control_dependencies_around_minimize_leave_the_file(dependency: str) -> None:
    source = _inline(dependency).replace(
        "\nwith tf.control_dependencies(", "\nextra_ops = []\nwith tf.control_dependencies(", 1
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(
        s.rule == "BN006" and "of something other than the UPDATE_OPS collection" in s.message
        for s in result.left
    ), [(s.rule, s.line, s.message) for s in result.left]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["in place", "grouped list"])
def test_the_collection_in_place_is_checked_equivalent(tmp_path: Path, form: str) -> None:
    original = tmp_path / "inline.py"
    source = (
        _inline("tf.get_collection(tf.GraphKeys.UPDATE_OPS)")
        if form == "in place"
        else _grouped_list("[opt_op] + update_ops")
    )
    original.write_text(source, encoding="utf-8")
    migrated = tmp_path / "inline_tf2.py"
    migrated.write_text(rewrite_source(original.read_text(encoding="utf-8")).code, encoding="utf-8")
    result = check_programs(original, migrated, keep_dir=tmp_path / "runs")
    assert result.verdict == "equivalent", result.render_text()


@pytest.mark.parametrize(
    "dependency",
    [
        "tf.get_collection(tf.GraphKeys.UPDATE_OPS)",
        "control_inputs=tf.get_collection(tf.GraphKeys.UPDATE_OPS)",
    ],
)
def test_the_collection_in_place_around_a_gradient_chain(dependency: str) -> None:
    # the gradient chain reads its control dependency as minimize() does (Program.is_update_ops)
    chain = (REPO / "tests" / "fixtures" / "tf1" / "clipped_gradients.py").read_text(
        encoding="utf-8"
    )
    assert NAMED in chain
    source = chain.replace(NAMED, f"with tf.control_dependencies({dependency}):\n")
    expected = rewrite_source(chain)
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, [(s.line, s.message) for s in result.left]
    assert result.code.count("momentum=0.99") == 2
    assert result.code.split("\ndense1 = ", 1)[1] == expected.code.split("\ndense1 = ", 1)[1]
