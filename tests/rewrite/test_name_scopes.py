"""Train ops made in a ``with tf.name_scope(...):`` block (the Géron book's and many tutorials' shape:
``with tf.name_scope("train"): optimizer = ...; training_op = optimizer.minimize(loss)``). A name scope
names ops only, so the block is read through: its train op migrates as if written outside it, and the
block goes when everything in it does. Found by the sweep of public repositories (hwalsuklee,
chauhanjatin10/phoenix): such programs were left, "minimize() inside a block other than
tf.control_dependencies" or "no rule of this version migrates it"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.check import check_programs
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py"
SOURCE = FIXTURE.read_text(encoding="utf-8")
NAMED = (
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "with tf.control_dependencies(update_ops):\n"
    "    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)\n"
)
CHAIN = (
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "optimizer = tf.train.AdamOptimizer(learning_rate=0.01)\n"
    "pairs = optimizer.compute_gradients(loss)\n"
    "clipped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in pairs]\n"
    "with tf.control_dependencies(update_ops):\n"
    "    train_op = optimizer.apply_gradients(clipped)\n"
)


def _scoped(lines: str, head: str = 'with tf.name_scope("train"):\n', after: str = "") -> str:
    """The fixture with ``lines`` (its train op) indented under ``head``."""
    assert NAMED in SOURCE
    body = "".join(f"    {line}\n" if line else "\n" for line in lines.splitlines())
    return SOURCE.replace(NAMED, head + body + after)


def _reasons(result: RewriteResult) -> list[tuple[str, int, str]]:
    return [(s.rule, s.line, s.message) for s in result.left]


@pytest.mark.parametrize("train", [NAMED, CHAIN], ids=["minimize", "gradient chain"])
@pytest.mark.parametrize(
    "head",
    [
        'with tf.name_scope("train"):\n',
        'with tf.name_scope("train"):\n    with tf.name_scope("adam"):\n',
    ],
    ids=["one scope", "nested scopes"],
)
def test_a_train_op_in_a_name_scope_migrates_as_outside_it(train: str, head: str) -> None:
    plain = SOURCE.replace(NAMED, train)
    expected = rewrite_source(plain)
    assert expected.status is Status.CHANGED, _reasons(expected)
    if head.count("with") == 2:  # the inner scope's lines indented once more
        body = "".join(f"        {line}\n" for line in train.splitlines())
        source = SOURCE.replace(NAMED, head + body)
    else:
        source = _scoped(train, head)
    assert source != plain
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert result.code == expected.code  # the block goes with the train op it held
    assert "name_scope" not in result.code and "momentum=1.0" not in result.code


@pytest.mark.parametrize(
    ("head", "after", "condition"),
    [
        # another statement in the block: the block cannot go, and the train op cannot stay
        (
            'with tf.name_scope("train"):\n',
            "    accuracy = tf.reduce_mean(logits)\n",
            "minimize() inside a block other than tf.control_dependencies (or a tf.name_scope "
            "holding only the train op's lines): not migrated",
        ),
        # the scope's name bound with `as`: read as any other block
        (
            'with tf.name_scope("train") as scope:\n',
            "",
            "minimize() inside a block other than tf.control_dependencies (or a tf.name_scope "
            "holding only the train op's lines): not migrated",
        ),
    ],
)
def test_other_name_scope_blocks_around_a_train_op_are_left(
    head: str, after: str, condition: str
) -> None:
    source = _scoped(NAMED, head, after)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(r == "BN006" and m == condition for r, _, m in _reasons(result)), _reasons(result)


@pytest.mark.slow
@pytest.mark.parametrize("train", [NAMED, CHAIN], ids=["minimize", "gradient chain"])
def test_a_train_op_in_a_name_scope_is_checked_equivalent(tmp_path: Path, train: str) -> None:
    original = tmp_path / "scoped.py"
    original.write_text(_scoped(train), encoding="utf-8")
    migrated = tmp_path / "scoped_tf2.py"
    result = rewrite_source(original.read_text(encoding="utf-8"))
    assert result.status is Status.CHANGED, _reasons(result)
    migrated.write_text(result.code, encoding="utf-8")
    checked = check_programs(original, migrated, keep_dir=tmp_path / "runs")
    assert checked.verdict == "equivalent", checked.render_text()
