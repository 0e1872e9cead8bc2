"""Monitored sessions (BN007): ``with tf.train.MonitoredTrainingSession(hooks=[StopAtStepHook(...)]) as
sess: while not sess.should_stop(): sess.run(train_op, feed)`` -> ``for _ in range(N):`` around the train
step (``analysis.monitored_sessions``, ``planning.monitored_session``). Anything else is left with the
construct and what a human must decide."""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status
from tests.rewrite.helpers import assert_rewrite

GRAPH = """\
import numpy as np
import tensorflow as tf

x_data = np.random.rand(64, 4).astype(np.float32)
y_data = x_data[:, :1]

x = tf.placeholder(tf.float32, [None, 4], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
is_training = tf.placeholder(tf.bool, name="is_training")

h = tf.layers.dense(x, 16, name="dense1")
h = tf.layers.batch_normalization(h, training=is_training, name="bn1")
prediction = tf.layers.dense(tf.nn.relu(h), 1, name="out")
loss = tf.reduce_mean(tf.square(prediction - y))

global_step = tf.train.get_or_create_global_step()
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=global_step)

"""
MONITORED = (
    GRAPH
    + """\
hooks = [tf.train.StopAtStepHook(last_step=4)]
with tf.train.MonitoredTrainingSession(hooks=hooks) as sess:
    while not sess.should_stop():
        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})
"""
)
MIGRATED = """\
import numpy as np
import tensorflow as tf

x_data = np.random.rand(64, 4).astype(np.float32)
y_data = x_data[:, :1]

dense1 = tf.keras.layers.Dense(16, name="dense1")
bn1 = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn1")
out = tf.keras.layers.Dense(1, name="out")


def graph(x, y, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    h = dense1(x)
    h = bn1(h, training=is_training)
    prediction = out(tf.nn.relu(h))
    loss = tf.reduce_mean(tf.square(prediction - y))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, y, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, y, is_training)
    variables = [v for layer in (dense1, bn1, out) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


for _ in range(4):
    train_step(x=x_data, y=y_data, is_training=True)
"""


def _rewrite(source: str) -> RewriteResult:
    return rewrite_source(source, path="case.py")


def _reasons(result: RewriteResult) -> list[str]:
    return [f"{site.line}:{site.col} {site.rule} {site.message}" for site in result.left]


def test_stop_at_last_step() -> None:
    """Output as written, parses, and rewriting it again changes nothing (``assert_rewrite``)."""
    result = assert_rewrite(MONITORED, MIGRATED, applied_rules=None)
    assert any(
        "for _ in range(4)" in site.message and site.rule == "BN007" for site in result.applied
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("StopAtStepHook(last_step=4)", "StopAtStepHook(num_steps=4)"),  # from global step 0
        ("StopAtStepHook(last_step=4)", "StopAtStepHook(4)"),  # num_steps, positionally
        ("StopAtStepHook(last_step=4)", "StopAtStepHook(num_steps=None, last_step=4)"),
        ("tf.train.MonitoredTrainingSession", "tf.train.SingularMonitoredSession"),
        ("tf.train.MonitoredTrainingSession", "tf.compat.v1.train.MonitoredTrainingSession"),
        (  # keywords without effect when there is no checkpoint_dir / summary_dir
            "(hooks=hooks)",
            "(hooks=hooks, checkpoint_dir=None, save_checkpoint_secs=60, log_step_count_steps=10)",
        ),
    ],
)
def test_same_loop_in_other_spellings(old: str, new: str) -> None:
    source = MONITORED.replace(old, new)
    assert source != MONITORED
    assert_rewrite(source, MIGRATED, applied_rules=None)


def test_hooks_in_place_and_imported_names() -> None:
    source = (
        MONITORED.replace("hooks = [tf.train.StopAtStepHook(last_step=4)]\n", "")
        .replace("(hooks=hooks)", "(hooks=[StopAtStepHook(last_step=4)])")
        .replace("tf.train.MonitoredTrainingSession", "MonitoredTrainingSession")
        .replace(
            "import tensorflow as tf\n",
            "import tensorflow as tf\nfrom tensorflow.train import MonitoredTrainingSession, "
            "StopAtStepHook\n",
        )
    )
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert result.code.endswith(MIGRATED.split("\n\n\n")[-1])
    assert "MonitoredTrainingSession" not in result.code and "StopAtStepHook" not in result.code


def test_last_step_zero_still_runs_once() -> None:
    """Measured: the hook asks for the stop only after a run, so last_step=0 runs one step."""
    result = _rewrite(MONITORED.replace("last_step=4", "last_step=0"))
    assert result.status is Status.CHANGED, _reasons(result)
    assert "for _ in range(1):\n" in result.code


def test_loop_variable_avoids_a_read_underscore() -> None:
    source = MONITORED.replace(
        "import numpy as np\n", "import numpy as np\nfrom gettext import _\n"
    )
    source += 'print(_("done"))\n'
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert "for _unused in range(4):\n" in result.code


def test_facts() -> None:
    module = cst.parse_module(MONITORED)
    program = Program.read(module, AliasTable.build(module))
    monitored = program.monitored
    assert monitored is not None and not monitored.refusals
    assert monitored.steps == "4" and monitored.kind == "MonitoredTrainingSession"
    assert monitored.hooks_line is not None and monitored.removes(monitored.hooks_line)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            "(hooks=hooks)",
            '(hooks=hooks, checkpoint_dir="/tmp/model")',
            "`checkpoint_dir=`: MonitoredTrainingSession restores the directory's latest checkpoint",
        ),
        ("(hooks=hooks)", '(hooks=hooks, summary_dir="logs")', "`summary_dir=`"),
        ("(hooks=hooks)", "(hooks=hooks, is_chief=False)", "distributed training"),
        ("(hooks=hooks)", '(hooks=hooks, master="grpc://w:1")', "remote or distributed"),
        ("(hooks=hooks)", "(hooks=hooks, scaffold=tf.train.Scaffold())", "`scaffold=`"),
        ("(hooks=hooks)", "(hooks=hooks, config=tf.ConfigProto())", "ConfigProto"),
        ("(hooks=hooks)", "()", "no StopAtStepHook ends the loop"),
        (
            "[tf.train.StopAtStepHook(last_step=4)]",
            "[tf.train.StopAtStepHook(last_step=4), tf.train.LoggingTensorHook({'l': loss}, 1)]",
            "hook `tf.train.LoggingTensorHook`: the session runs it around every run",
        ),
        (
            "[tf.train.StopAtStepHook(last_step=4)]",
            "[tf.train.StopAtStepHook(last_step=4), tf.train.NanTensorHook(loss)]",
            "hook `tf.train.NanTensorHook`",
        ),
        (
            "[tf.train.StopAtStepHook(last_step=4)]",
            "[tf.train.StopAtStepHook(last_step=4), MyHook()]",
            "hook `MyHook`",
        ),
        (
            "StopAtStepHook(last_step=4)",
            "StopAtStepHook(last_step=FLAGS.steps)",
            "StopAtStepHook last_step= is neither an integer literal nor an integer flag",
        ),
        (
            ", global_step=global_step)",
            ")",
            "this minimize() does not move a global step",
        ),
        (
            "hooks = [tf.train.StopAtStepHook(last_step=4)]\n",
            "hooks = [tf.train.StopAtStepHook(last_step=4)]\nhooks.append(extra)\n",
            "`hooks` is not one list literal of hooks",
        ),
        (
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n"
            "        sess.run(loss, feed_dict={x: x_data, y: y_data, is_training: False})\n",
            "`sess` used after the train run in the loop: TF1 raises RuntimeError",
        ),
        (
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n"
            "    print(sess.run(global_step))\n",
            "`sess` used outside the `while not sess.should_stop():` loop",
        ),
        (
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "        if np.random.rand() > 0.5:\n"
            "            sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "does not run the train op exactly once per iteration",
        ),
        (
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n"
            "        break\n",
            "break in the loop",
        ),
        (
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "        batch = next(batches)\n"
            "        sess.run(train_op, feed_dict={x: batch, y: y_data, is_training: True})\n",
            "the session ends the loop quietly at StopIteration",
        ),
        (
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "        sess.run(tf.global_variables_initializer())\n"
            "        sess.run(train_op, feed_dict={x: x_data, y: y_data, is_training: True})\n",
            "an initializer run in the loop",
        ),
        ("    while not sess.should_stop():\n", "    for _ in range(4):\n", "is not one `while"),
    ],
)
def test_refusals(old: str, new: str, reason: str) -> None:
    source = MONITORED.replace(old, new, 1)
    assert source != MONITORED
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    reasons = _reasons(result)
    assert any(reason in r and " BN007 " in r for r in reasons), reasons


def test_reason_names_the_line_and_column() -> None:
    source = MONITORED.replace("(hooks=hooks)", '(hooks=hooks, checkpoint_dir="/tmp/model")')
    result = _rewrite(source)
    line = source.splitlines().index(
        'with tf.train.MonitoredTrainingSession(hooks=hooks, checkpoint_dir="/tmp/model") as sess:'
    )
    sites = [s for s in result.left if s.rule == "BN007"]
    assert [(s.line, s.col) for s in sites] == [(line + 1, 53)]


def test_session_made_without_with_is_left_with_its_form() -> None:
    source = MONITORED.replace(
        "with tf.train.MonitoredTrainingSession(hooks=hooks) as sess:\n",
        "sess = tf.train.MonitoredTrainingSession(hooks=hooks)\nif True:\n",
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert any(
        "is not entered as `with tf.train.MonitoredTrainingSession" in r for r in _reasons(result)
    )


def test_inside_main_under_a_graph_block() -> None:
    """The cifar10_train shape: the program in ``def main():`` under ``with tf.Graph().as_default():``."""
    head, _, graph = MONITORED.partition("x_data = np.random")
    lines = ("x_data = np.random" + graph).splitlines()
    body = "\n".join(f"        {line}" if line else "" for line in lines)
    source = (
        head
        + "def main():\n    with tf.Graph().as_default():\n"
        + body
        + '\n\n\nif __name__ == "__main__":\n    main()\n'
    )
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert "    for _ in range(4):\n        train_step(x=x_data, y=y_data, is_training=True)\n" in (
        result.code
    )
    assert _rewrite(result.code).code == result.code
    compile(result.code, "case.py", "exec")


def _flag_program(define: str, *, extra: str = "") -> str:
    """The monitored program in ``main(_)`` run by ``tf.app.run()``, stopping at ``FLAGS.steps``."""
    head, _, graph = MONITORED.replace("last_step=4", "last_step=FLAGS.steps").partition(
        "x_data = np.random"
    )
    lines = ("x_data = np.random" + graph + extra).splitlines()
    body = "\n".join(f"        {line}" if line else "" for line in lines)
    return (
        head
        + f'{define}("steps", 4, "Training steps.")\nFLAGS = tf.app.flags.FLAGS\n\n\n'
        + "def main(_):\n    with tf.Graph().as_default():\n"
        + body
        + '\n\n\nif __name__ == "__main__":\n    tf.app.run()\n'
    )


def test_stop_at_an_integer_flag() -> None:
    """``last_step=FLAGS.steps`` with ``steps`` a DEFINE_integer flag of the module, read after
    ``tf.app.run`` parsed the flags: the loop counts ``max(FLAGS.steps, 1)`` runs."""
    result = _rewrite(_flag_program("tf.app.flags.DEFINE_integer"))
    assert result.status is Status.CHANGED, _reasons(result)
    assert (
        "    for _ in range(max(FLAGS.steps, 1)):\n"
        "        train_step(x=x_data, y=y_data, is_training=True)\n"
    ) in result.code
    assert 'flags.DEFINE_integer("steps", 4, "Training steps.")' in result.code
    assert _rewrite(result.code).code == result.code
    compile(result.code, "case.py", "exec")


@pytest.mark.parametrize(
    ("define", "extra", "why"),
    [
        ("tf.app.flags.DEFINE_float", "", "a float flag: range() would not take it"),
        ("tf.app.flags.DEFINE_string", "", "a string flag"),
        ("tf.app.flags.DEFINE_integer", "FLAGS.steps = 2\n", "assigned in the program"),
    ],
)
def test_a_flag_that_may_not_be_an_integer_is_left(define: str, extra: str, why: str) -> None:
    source = _flag_program(define, extra=extra)
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source, why
    assert any("nor an integer flag" in r for r in _reasons(result)), _reasons(result)


def test_an_undefined_flag_is_left() -> None:
    source = _flag_program("tf.app.flags.DEFINE_integer").replace(
        'tf.app.flags.DEFINE_integer("steps", 4, "Training steps.")\n', ""
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any("nor an integer flag" in r for r in _reasons(result)), _reasons(result)


def test_named_initializer_run_in_the_loop_is_left() -> None:
    """Running ``init`` again inside the monitored session re-draws the variables in TF1: the session
    planner would remove ``sess.run(init)``, so the loop is left."""
    source = MONITORED.replace(
        "hooks = [", "init = tf.global_variables_initializer()\nhooks = ["
    ).replace(
        "    while not sess.should_stop():\n",
        "    while not sess.should_stop():\n        sess.run(init)\n",
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert any("an initializer run in the loop" in r for r in _reasons(result)), _reasons(result)


def test_hooks_name_read_after_the_session_is_left() -> None:
    source = MONITORED + "print(hooks)\n"
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert any("`hooks` is not one list literal" in r for r in _reasons(result)), _reasons(result)
