"""TF1 scalar summaries + ``FileWriter.add_summary`` -> ``tf.summary.create_file_writer`` and
``tf.summary.scalar(tag, value, step=step)`` under ``writer.as_default()`` (``analysis.summaries``,
``planning.summaries``, reported as BN007): before/after on a placeholder program, each refused shape left
at the node that broke its condition, the TF2 form left alone, and (slow) the summaries the migrated
fixture ``saver_summaries`` writes read back with the same tags, steps and values as the TF1 program's
under ``bn-migrate run-tf1``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.analysis.references import certainly_refers_to_tf1
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from tests.conftest import EXAMPLES, REPO
from tests.rewrite.helpers import assert_rewrite

SCALARS = 'tf.summary.scalar("train_loss", loss)\nmerged = tf.summary.merge_all()\n'
WRITER = '    writer = tf.summary.FileWriter("logs", sess.graph)\n'
RUN = "        _, value = sess.run([train_op, loss], {x: data, is_training: True})\n"
SUMMARY_RUN = (
    "        _, value, summary = sess.run([train_op, loss, merged], {x: data, is_training: True})\n"
)
WRITE = "        writer.add_summary(summary, step)\n"
CLOSE = "    writer.close()\n"


def _before(
    scalars: str = SCALARS,
    writer: str = WRITER,
    run: str = SUMMARY_RUN,
    write: str = WRITE,
    close: str = CLOSE,
) -> str:
    program = placeholder_program(PLACEHOLDER_BEFORE)
    return (
        program.replace(
            "update_ops = tf.get_collection", scalars + "update_ops = tf.get_collection"
        )
        .replace(
            "    sess.run(tf.global_variables_initializer())\n",
            "    sess.run(tf.global_variables_initializer())\n" + writer,
        )
        .replace(RUN, run + write)
        .replace("    print(sess.run(loss,", close + "    print(sess.run(loss,")
    )


AFTER_GRAPH = """    train_loss_summary = tf.cast(loss, tf.float32)
    merged = tf.stack([train_loss_summary])
    return loss, merged
"""


def _after() -> str:
    program = placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
    return (
        program.replace("    return loss\n\n\noptimizer", AFTER_GRAPH + "\n\noptimizer")
        .replace(
            "        loss = graph(x, is_training)\n",
            "        loss, merged = graph(x, is_training)\n",
        )
        .replace("    return loss\n\n\nfor step", "    return loss, merged\n\n\nfor step")
        .replace(
            "for step in range(2):\n",
            'writer = tf.summary.create_file_writer("logs")\nfor step in range(2):\n',
        )
        .replace(
            "    value = train_step(x=data, is_training=True).numpy()\n",
            "    value, summary = [value.numpy() for value in train_step(x=data, is_training=True)]\n"
            "    with writer.as_default():\n"
            '        tf.summary.scalar("train_loss", summary[0], step=step)\n',
        )
        .replace(
            "print(graph(x=data, is_training=False).numpy())\n",
            "writer.close()\nprint(graph(x=data, is_training=False)[0].numpy())\n",
        )
    )


def test_scalar_summaries_and_their_writer_become_tf2_summaries() -> None:
    result = assert_rewrite(_before(), _after())
    assert any("create_file_writer" in site.message for site in result.applied)


def test_a_named_summary_merged_by_list_keeps_its_name() -> None:
    scalars = 'loss_summary = tf.summary.scalar("train_loss", loss)\n'
    scalars += "merged = tf.summary.merge([loss_summary])\n"
    after = _after().replace("train_loss_summary", "loss_summary")
    assert_rewrite(_before(scalars=scalars), after)


def test_a_writer_made_before_the_session_is_made_once_at_module_level() -> None:
    before = _before(writer="").replace(
        "with tf.Session() as sess:\n",
        'writer = tf.summary.FileWriter("logs")\nwith tf.Session() as sess:\n',
    )
    done = rewrite_source(before)
    assert done.status.value == "changed", done.left
    assert 'writer = tf.summary.create_file_writer("logs")\n' in done.code
    assert "def graph(x, is_training):" in done.code and "FileWriter" not in done.code


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (
            ("tf.summary.scalar(", "tf.summary.histogram("),
            10,
            "other buckets",
        ),
        (('"train_loss"', '"train loss"'), 10, "characters outside"),
        (('"train_loss"', '"loss_value"'), 10, "spelled elsewhere"),
        (('"train_loss"', '"Mean"'), 10, "a name TF1 gives ops"),
        (('"train_loss"', '"dense"'), 10, "a name TF1 gives ops"),
        ((WRITE, ""), 17, "never written"),
        ((WRITE, WRITE + "        print(summary)\n"), 21, "used otherwise than written"),
        ((WRITE, "        writer.add_summary(summary)\n"), 20, "need the step"),
        ((CLOSE, "    writer.add_graph(sess.graph)\n"), 22, "only add_summary"),
        ((WRITER, WRITER + WRITER.replace("writer =", "other =")), 18, "several"),
        ((WRITE, WRITE.replace("step)", "loss)")), 20, "graph tensors"),
    ],
)
def test_summaries_outside_the_migrated_shape_are_left_with_the_condition(
    change: tuple[str, str], line: int, reason: str
) -> None:
    before = _before().replace(*change)
    if change[1] == '"loss_value"':
        before = before.replace(
            "loss = tf.reduce_mean(tf.square(h))",
            'loss = tf.reduce_mean(tf.square(h), name="loss_value")',
        )
    result = rewrite_source(before)
    assert result.code == before and result.status.value == "skipped"
    found = [site for site in result.left if reason in site.message]
    assert found, [f"{s.line} {s.message}" for s in result.left]
    assert found[0].rule == "BN007" and found[0].line == line, (found[0].line, found[0].message)


def test_a_scalar_in_a_name_scope_is_left() -> None:
    scalars = 'with tf.name_scope("train"):\n    tf.summary.scalar("loss", loss)\n'
    scalars += "merged = tf.summary.merge_all()\n"
    result = rewrite_source(_before(scalars=scalars))
    assert result.status.value == "skipped"
    assert any("name scope" in site.message and site.line == 11 for site in result.left)


def test_tf2_summaries_are_left_alone() -> None:
    assert_rewrite(_after(), None)


def test_the_analysis_reads_the_scalars_the_merge_and_the_writes() -> None:
    module = cst.parse_module(_before())
    summaries = Program.read(module, AliasTable.build(module)).summaries
    assert summaries.migrated(), summaries.refused
    ((scalar,), (merged,)) = summaries.scalars, summaries.merged
    assert scalar.tag == "train_loss" and scalar.name is None and scalar.value.value == "loss"
    assert merged.name == "merged" and merged.scalars == (scalar,)
    writer = summaries.writer
    assert writer is not None and writer.name == "writer" and writer.graph is not None
    (write,) = writer.writes
    assert write.value.value == "summary" and write.merged and write.scalars == (scalar,)


def _read_summaries(logs: Path) -> list[tuple[str, int, float]]:
    """Every (tag, step, value) of a summary directory, sorted. Read here, as the checkpoints of
    ``test_checkpoints`` are (reading needs no TF1 semantics; the suite's workers have TensorFlow
    imported already), not in one more TensorFlow process per side."""
    import numpy as np
    import tensorflow as tf

    rows = []
    for path in sorted(logs.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    number = np.float32(value.simple_value)
                else:
                    number = tf.make_ndarray(value.tensor).astype(np.float32)
                rows.append((value.tag, int(event.step), float(number)))
    return sorted(rows)


@pytest.mark.slow
def test_the_migrated_program_writes_the_summaries_tf1_wrote(tmp_path: Path) -> None:
    """``saver_summaries`` under ``bn-migrate run-tf1`` and its golden migration, each writing its own
    summary directory: read back, the same (tag, step) pairs in both, and each side's ``train_loss`` the
    loss it printed at that step (the two sides start from other random weights, so their values are
    compared through the printed losses, which ``bn-migrate check`` compares from the same weights)."""
    tf1 = REPO / "tests" / "fixtures" / "tf1" / "saver_summaries.py"
    tf2 = EXAMPLES / "migrated" / "fixtures" / "saver_summaries.py"
    runs = {
        "tf1": [sys.executable, "-m", "bn_migrate", "run-tf1", str(tf1)],
        "tf2": [sys.executable, str(tf2)],
    }
    read: dict[str, list[tuple[str, int, float]]] = {}
    printed: dict[str, list[str]] = {}
    # the two sides share nothing: they run side by side
    started = {
        side: subprocess.Popen(
            [*command, str(tmp_path / f"{side}_ckpt"), "0", "4", str(tmp_path / f"{side}_logs")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for side, command in runs.items()
    }
    for side, done in started.items():
        try:
            stdout, stderr = done.communicate(timeout=600)
        finally:
            done.kill()  # nothing to do once it has exited
        assert done.returncode == 0, stderr[-2000:]
        printed[side] = [line for line in stdout.splitlines() if line.startswith("step")]
        read[side] = _read_summaries(tmp_path / f"{side}_logs")
    keys = [(tag, step) for tag, step, _ in read["tf1"]]
    assert keys == [(tag, step) for tag, step, _ in read["tf2"]]
    assert keys == sorted(
        (tag, step) for tag in ("prediction_mean", "train_loss") for step in range(4)
    )
    # each side wrote exactly the loss it printed
    for side in runs:
        losses = {step: value for tag, step, value in read[side] if tag == "train_loss"}
        for line in printed[side]:
            _, step, _, loss = line.split()
            assert abs(losses[int(step)] - float(loss)) < 1e-6, (side, line)


def test_only_tf2_s_scalar_with_step_is_not_counted_as_tf1() -> None:
    assert not certainly_refers_to_tf1(ast.parse(_after()))
    assert certainly_refers_to_tf1(
        ast.parse('import tensorflow as tf\ntf.summary.scalar("a", x)\n')
    )
