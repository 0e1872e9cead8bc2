"""Evaluations in training mode without update ops (BN007): ``sess.run(loss, {..., is_training: True})``
or ``loss.eval(...)`` with no train op in the run. TF1 normalized with the batch's statistics and moved
no moving statistics; the migration computes the part of the graph the fetch needs with each such BN
layer called through the emitted ``without_state_updates`` helper (Keras 3 ``stateless_call`` in training
mode, new statistics dropped). What cannot be proven so is left, the reason at the run's line.

The fixture ``interactive_session`` is the supported program (golden, TF 2.21 run and check EQUIVALENT in
test_engine_golden); here: the module-level session form, idempotence, what is left, and (slow) the
planted mistake of a plain training-mode call, caught DIFFERENT."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status
from tests.conftest import EXAMPLES, REPO
from tests.rewrite.test_session_forms import GRAPH

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

# The evaluation in training mode (EVAL_LINE) beside a train run and a final evaluation
LOOP = """\
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for step in range(4):
    feed = {x: x_data, y: y_data, is_training: True}
    sess.run(train_op, feed_dict=feed)
    print(sess.run(loss, feed_dict=feed))
print(sess.run(loss, {x: x_data, y: y_data, is_training: False}))
"""
EVAL_LINE = GRAPH.count("\n") + 6

BLOCK = """\
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(4):
        feed = {x: x_data, y: y_data, is_training: True}
        sess.run(train_op, feed_dict=feed)
        print(sess.run(loss, feed_dict=feed))
    print(sess.run(loss, {x: x_data, y: y_data, is_training: False}))
"""

FROZEN_GRAPH = """\
def graph_loss(x, y, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)
    h = dense1(x)
    h = without_state_updates(bn1, h, training=is_training)
    h = tf.nn.relu(h)
    prediction = out(h)
    loss = tf.reduce_mean(tf.square(prediction - y))
    return loss
"""


def _rewrite(source: str) -> RewriteResult:
    return rewrite_source(source, path="case.py")


def _left(result: RewriteResult) -> list[tuple[int, str]]:
    return [(site.line, site.message) for site in result.left]


@pytest.mark.parametrize("session", [LOOP, BLOCK], ids=["module_level", "with_block"])
def test_a_session_evaluation_in_training_mode_calls_its_bn_layer_without_state_updates(
    session: str,
) -> None:
    source = GRAPH + session
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _left(result)
    assert not result.left
    code = result.code
    assert "def without_state_updates(model, inputs, **kwargs):" in code
    assert "model.stateless_call(" in code
    assert FROZEN_GRAPH in code  # the evaluation's function: the BN layer without state updates
    assert "    h = bn1(h, training=is_training)\n" in code  # the train step's graph: as trained
    assert "print(graph_loss(**feed).numpy())" in code
    assert "print(graph(x=x_data, y=y_data, is_training=False).numpy())" in code
    assert "sess" not in code
    compile(code, "case.py", "exec")
    again = _rewrite(code)
    assert again.code == code and again.status is not Status.CHANGED
    messages = [site.message for site in result.applied if site.line == EVAL_LINE]
    assert any("`bn1` called in training mode without state updates" in m for m in messages)


def test_the_interactive_form_migrates_as_the_session_form() -> None:
    interactive = (
        LOOP.replace("sess = tf.Session()", "sess = tf.InteractiveSession()")
        .replace("sess.run(train_op, feed_dict=feed)", "train_op.run(feed_dict=feed)")
        .replace("print(sess.run(loss, feed_dict=feed))", "print(loss.eval(feed_dict=feed))")
    )
    assert interactive != LOOP
    session = _rewrite(GRAPH + LOOP)
    result = _rewrite(GRAPH + interactive)
    assert result.status is Status.CHANGED, _left(result)
    assert result.code == session.code


def test_an_evaluation_in_inference_mode_calls_the_graph_function_as_before() -> None:
    source = GRAPH + LOOP.replace(
        "print(sess.run(loss, feed_dict=feed))",
        "print(sess.run(loss, {x: x_data, y: y_data, is_training: False}))",
    )
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _left(result)
    assert "without_state_updates" not in result.code and "stateless_call" not in result.code


@pytest.mark.parametrize(
    ("fetch", "migrated"),
    [
        (
            "l, p = sess.run([loss, prediction], feed_dict=feed)",
            "l, p = [value.numpy() for value in graph_loss_prediction(**feed)]",
        ),
        (
            "l, p = sess.run((loss, prediction), feed_dict=feed)",
            "l, p = tuple(value.numpy() for value in graph_loss_prediction(**feed))",
        ),
        (
            "l, p = sess.run({'l': loss, 'p': prediction}, feed_dict=feed).values()",
            "l, p = dict(zip(('l', 'p'), [value.numpy() for value in graph_loss_prediction(**feed)]))"
            ".values()",
        ),
        ("[l] = sess.run([loss], feed_dict=feed)", "[l] = [graph_loss(**feed).numpy()]"),
        ("(l,) = sess.run((loss,), feed_dict=feed)", "(l,) = (graph_loss(**feed).numpy(),)"),
    ],
    ids=["list", "tuple", "dict", "list_of_one", "tuple_of_one"],
)
def test_several_tensors_in_training_mode_come_from_one_function_of_their_part(
    fetch: str, migrated: str
) -> None:
    source = GRAPH + LOOP.replace("print(sess.run(loss, feed_dict=feed))", fetch + "\n    print(l)")
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _left(result)
    assert f"    {migrated}\n" in result.code
    function = "graph_loss_prediction" if "prediction" in fetch else "graph_loss"
    returned = "loss, prediction" if "prediction" in fetch else "loss"
    assert f"def {function}(x, y, is_training):\n" in result.code
    assert "    h = without_state_updates(bn1, h, training=is_training)\n" in result.code
    assert f"    return {returned}\n" in result.code
    assert "    return loss\n" in result.code  # the graph function returns only what it did
    compile(result.code, "case.py", "exec")
    assert _rewrite(result.code).code == result.code


BUILDER = GRAPH.replace(
    'h = tf.layers.dense(x, 16, name="dense1")\n'
    'h = tf.layers.batch_normalization(h, training=is_training, name="bn1")\n',
    "\n\ndef block(inputs, training):\n"
    '    with tf.variable_scope("block"):\n'
    '        h = tf.layers.dense(inputs, 16, name="dense1")\n'
    '        return tf.layers.batch_normalization(h, training=training, name="bn1")\n'
    "\n\nh = block(x, is_training)\n",
)
IN_PLACE = GRAPH.replace(
    "h = tf.nn.relu(h)\n",
    "h = tf.nn.relu(h)\n"
    "h = tf.contrib.layers.batch_norm(h, is_training=is_training, updates_collections=None, "
    'scope="bn2")\n',
)
TRAINING_ON = (
    "evaluation with a BN layer's training=is_training not False: TF1 ran no update ops here, "
    "Keras 3 would update the statistics"
)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (  # the builder stays a function calling the module-level layer: the graph calls `block`
            BUILDER + LOOP,
            f"{TRAINING_ON}; its layer runs inside `block`, not as a module-level layer object the "
            "evaluation calls itself, so it cannot be called without state updates: not migrated",
        ),
        (  # TF1 moved the in-place batch norm wherever a training-mode run reached it
            IN_PLACE + LOOP,
            f"{TRAINING_ON}, and a batch norm of the program updates in place "
            "(updates_collections=None; TF1 moved it in any run reaching it in training mode): "
            "which layers to hold still is not decided; not migrated",
        ),
    ],
    ids=["builder_function", "in_place"],
)
def test_what_cannot_be_held_still_is_left_at_its_line(source: str, reason: str) -> None:
    lines = source.splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if text.startswith("    print(sess.run("))
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert (line, reason) in _left(result), _left(result)


@pytest.mark.slow
def test_a_plain_training_mode_call_in_the_evaluation_is_caught(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """The planted mistake: the evaluation calls the BN layer as trained (``bn1(h, training=True)``),
    moving its statistics where TF1 moved none: DIFFERENT."""
    from bn_migrate.check import Cause, CheckOptions, check_programs

    original = REPO / "tests" / "fixtures" / "tf1" / "interactive_session.py"
    golden = (EXAMPLES / "migrated" / "fixtures" / "interactive_session.py").read_text()
    text = "    h = without_state_updates(bn1, h, training=is_training)\n"
    assert golden.count(text) == 1
    planted = tmp_path / "interactive_session_planted.py"
    planted.write_text(golden.replace(text, "    h = bn1(h, training=True)\n"), encoding="utf-8")
    result = check_programs(
        original, planted, CheckOptions(timeout=240, old_repeats=1), old_cache=old_cache
    )
    assert result.verdict == "different", result.render_text()
    assert Cause.UPDATES_WRONG_STEP in result.causes, result.render_text()


@pytest.mark.slow
def test_the_module_level_session_form_of_the_fixture_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """``interactive_session`` written with ``sess = tf.Session()`` and ``sess.run``: migrated, it runs
    on TF 2.21 and is EQUIVALENT to its original."""
    from bn_migrate.check import CheckOptions, check_programs

    fixture = (REPO / "tests" / "fixtures" / "tf1" / "interactive_session.py").read_text()
    source = fixture
    for old, new in (
        ("sess = tf.InteractiveSession()", "sess = tf.Session()"),
        ("tf.global_variables_initializer().run()", "sess.run(tf.global_variables_initializer())"),
        ("train_op.run(feed_dict=feed)", "sess.run(train_op, feed_dict=feed)"),
        ("loss.eval(feed_dict=feed)", "sess.run(loss, feed_dict=feed)"),
        ("loss.eval(feed_dict={", "sess.run(loss, feed_dict={"),
    ):
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    original = tmp_path / "module_session.py"
    original.write_text(source, encoding="utf-8")
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _left(result)
    assert "h = without_state_updates(bn1, h, training=is_training)" in result.code
    migrated = tmp_path / "module_session_tf2.py"
    migrated.write_text(result.code, encoding="utf-8")
    checked = check_programs(
        original, migrated, CheckOptions(timeout=240, old_repeats=1), old_cache=old_cache
    )
    assert checked.verdict == "equivalent", checked.render_text()


def test_an_evaluation_training_a_graph_mode_keras_layer_is_left() -> None:
    """``keras_graph_updates`` evaluated with is_training True: its Keras layers' updates reach
    UPDATE_OPS by hand (BN009), so TF1 moved them only in the train runs; a plain call would move them
    in the evaluation too (it was migrated so before)."""
    fixture = (REPO / "tests" / "fixtures" / "tf1" / "keras_graph_updates.py").read_text()
    evaluation = (
        "    eval_loss = sess.run(loss, feed_dict={x: x_data, y: y_data, is_training: False})\n"
    )
    assert fixture.count(evaluation) == 1
    source = fixture.replace(evaluation, evaluation.replace("False", "True"))
    line = 1 + source.splitlines().index(evaluation.rstrip("\n").replace("False", "True"))
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    reason = (
        "evaluation calling the graph-mode Keras layer `bn1` with training not False: TF1 ran none "
        "of its update ops here, Keras 3 would update the statistics: not migrated"
    )
    assert (line, reason) in _left(result), _left(result)
    assert _rewrite(fixture).status is Status.CHANGED  # evaluated with is_training False: migrated
