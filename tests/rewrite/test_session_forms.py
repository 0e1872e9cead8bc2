"""Session forms (BN007): ``sess = tf.InteractiveSession()`` scripts, whose ``op.run(feed)`` and
``tensor.eval(feed)`` are read as ``sess.run`` (``planning.interactive_session``), and forward-only
statistics runs (``sess.run(update_ops, {x: batch, is_training: True})``) -> a call of the part of the
graph the BN layers need, with training True. Anything else is left with the reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import RewriteResult, Status

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
h = tf.nn.relu(h)
prediction = tf.layers.dense(h, 1, name="out")
loss = tf.reduce_mean(tf.square(prediction - y))

update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)

"""

INTERACTIVE = (
    GRAPH
    + """\
sess = tf.InteractiveSession()
tf.global_variables_initializer().run()
for step in range(4):
    feed = {x: x_data, y: y_data, is_training: True}
    train_op.run(feed_dict=feed)
    print(loss.eval(feed_dict={x: x_data, y: y_data, is_training: False}))
for step in range(3):
    sess.run(update_ops, feed_dict={x: x_data[step:step + 16], is_training: True})
print(loss.eval({x: x_data, y: y_data, is_training: False}))
sess.close()
"""
)

SESSION = (
    GRAPH
    + """\
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for step in range(4):
    feed = {x: x_data, y: y_data, is_training: True}
    sess.run(train_op, feed_dict=feed)
    print(sess.run(loss, feed_dict={x: x_data, y: y_data, is_training: False}))
for step in range(3):
    sess.run(update_ops, feed_dict={x: x_data[step:step + 16], is_training: True})
print(sess.run(loss, {x: x_data, y: y_data, is_training: False}))
sess.close()
"""
)


def _rewrite(source: str) -> RewriteResult:
    return rewrite_source(source, path="case.py")


def _reasons(result: RewriteResult) -> list[str]:
    return [f"{site.line} {site.rule} {site.message}" for site in result.left]


def test_interactive_session_migrates_as_the_session_form() -> None:
    """Same train step, same evaluation functions, same statistics call as ``sess = tf.Session()``."""
    interactive = _rewrite(INTERACTIVE)
    session = _rewrite(SESSION)
    assert session.status is Status.CHANGED, _reasons(session)
    assert interactive.status is Status.CHANGED, _reasons(interactive)
    assert interactive.code == session.code
    code = interactive.code
    assert "train_step(**feed)" in code
    assert "graph_statistics(x=x_data[step:step + 16], is_training=True)" in code
    assert "@tf.function\ndef graph_statistics(x, is_training):" in code
    assert ".eval(" not in code and ".run(" not in code and "sess" not in code
    compile(code, "case.py", "exec")


@pytest.mark.parametrize("source", [INTERACTIVE, SESSION])
def test_idempotent(source: str) -> None:
    once = _rewrite(source).code
    again = _rewrite(once)
    assert again.code == once
    assert again.status is not Status.CHANGED


def test_forward_only_program_without_optimizer() -> None:
    """No optimizer at all: the session only re-estimates the statistics, then evaluates."""
    source = (
        INTERACTIVE.replace(
            "with tf.control_dependencies(update_ops):\n"
            "    train_op = tf.train.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)\n",
            "",
        )
        .replace("    train_op.run(feed_dict=feed)\n", "")
        .replace("    feed = {x: x_data, y: y_data, is_training: True}\n", "")
    )
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert "train_step" not in result.code and "optimizer" not in result.code
    assert "    graph_statistics(x=x_data[step:step + 16], is_training=True)\n" in result.code
    assert _rewrite(result.code).code == result.code


def test_no_optimizer_without_statistics_run_is_left() -> None:
    source = SESSION.replace(
        "with tf.control_dependencies(update_ops):\n"
        "    train_op = tf.train.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)\n",
        "",
    ).replace("    sess.run(update_ops, feed_dict", "    ops = sess.run(update_ops, feed_dict")
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert any("no minimize()" in r for r in _reasons(result)), _reasons(result)


def test_user_object_run_is_not_a_graph_run() -> None:
    """Only names bound to the graph's tensors/ops are read as session runs: a user object's
    ``.run()`` stays as written."""
    source = INTERACTIVE.replace(
        "sess.close()\n", "sess.close()\nrunner = Runner()\nrunner.run(feed_dict=1)\n"
    ).replace("import numpy as np\n", "import numpy as np\nfrom runners import Runner\n")
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert "runner.run(feed_dict=1)" in result.code


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (  # session= is not the feed
            "print(loss.eval({x: x_data, y: y_data, is_training: False}))",
            "print(loss.eval({x: x_data, y: y_data, is_training: False}, session=sess))",
            "`loss` is a graph tensor used outside a session fetch",
        ),
        (  # `loss` rebound in the session's span: its `.eval` may be another object's
            "sess.close()\n",
            "loss = 1.0\nsess.close()\n",
            "`loss` is a graph tensor used outside a session fetch",
        ),
        (  # the statistics run feeds is_training False: no statistics moved in TF1
            "x_data[step:step + 16], is_training: True})",
            "x_data[step:step + 16], is_training: False})",
            "forward-only statistics run not migrated: the run feeds is_training something other "
            "than True",
        ),
        (  # the update ops' value is used
            "    sess.run(update_ops, feed_dict",
            "    ops = sess.run(update_ops, feed_dict",
            "forward-only statistics run not migrated: the update ops' result is used",
        ),
        (  # the train op does not carry the update ops: TF1 trained without moving the statistics
            "with tf.control_dependencies(update_ops):\n    train_op = ",
            "train_op = ",
            "forward-only statistics run not migrated: the train op `train_op` does not run the "
            "update ops",
        ),
        (  # the run does not feed the BN layers' input
            "feed_dict={x: x_data[step:step + 16], is_training: True}",
            "feed_dict={is_training: True}",
            "forward-only statistics run that does not feed x",
        ),
    ],
)
def test_refusals(old: str, new: str, reason: str) -> None:
    source = INTERACTIVE.replace(old, new, 1)
    assert source != INTERACTIVE
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    assert any(reason in r for r in _reasons(result)), _reasons(result)


def test_interactive_session_without_name_is_left() -> None:
    source = INTERACTIVE.replace("sess = tf.InteractiveSession()", "tf.InteractiveSession()")
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    assert any("InteractiveSession" in r for r in _reasons(result)), _reasons(result)


def test_eval_and_run_inside_a_with_session_block() -> None:
    """``with tf.Session() as sess:`` makes it the default session inside the block: ``init.run()``,
    ``train_op.run(feed)`` and ``loss.eval(feed)`` there are its runs."""
    loop = """\
    for step in range(4):
        feed = {x: x_data, y: y_data, is_training: True}
        TRAIN
        print(EVAL)
"""
    runs = loop.replace("TRAIN", "sess.run(train_op, feed_dict=feed)").replace(
        "EVAL", "sess.run(loss, {x: x_data, y: y_data, is_training: False})"
    )
    methods = loop.replace("TRAIN", "train_op.run(feed)").replace(
        "EVAL", "loss.eval(feed_dict={x: x_data, y: y_data, is_training: False})"
    )
    init = "init = tf.global_variables_initializer()\nwith tf.Session() as sess:\n"
    reference = _rewrite(GRAPH + init + "    sess.run(init)\n" + runs)
    assert reference.status is Status.CHANGED, _reasons(reference)
    result = _rewrite(GRAPH + init + "    init.run()\n" + methods)
    assert result.status is Status.CHANGED, _reasons(result)
    assert result.code == reference.code


def test_interactive_session_in_main() -> None:
    """The training function's body is the program (``planning.main_function``): the same reading."""
    body = INTERACTIVE[INTERACTIVE.index("x = tf.placeholder") :]
    head = INTERACTIVE[: INTERACTIVE.index("x = tf.placeholder")]
    indented = "".join("    " + line if line.strip() else line for line in body.splitlines(True))
    source = head + "def main():\n" + indented + '\n\nif __name__ == "__main__":\n    main()\n'
    result = _rewrite(source)
    assert result.status is Status.CHANGED, _reasons(result)
    assert "        graph_statistics(x=x_data[step:step + 16], is_training=True)\n" in result.code
    assert "sess" not in result.code


def test_statistics_through_control_dependencies_is_left() -> None:
    """A fetch made under ``tf.control_dependencies(update_ops)`` (no optimizer): left, the reason
    naming the form that is migrated."""
    source = (
        SESSION.replace(
            "with tf.control_dependencies(update_ops):\n"
            "    train_op = tf.train.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)\n",
            "with tf.control_dependencies(update_ops):\n    stats = tf.identity(h)\n",
        )
        .replace("    sess.run(train_op, feed_dict=feed)\n", "")
        .replace("sess.run(update_ops, feed_dict", "sess.run(stats, feed_dict")
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    reasons = _reasons(result)
    assert any("sess.run(update_ops, feed_dict={..., is_training: True})" in r for r in reasons)
    assert any("nor re-estimates BN statistics" in r for r in reasons), reasons


def test_feeds_keyed_by_the_placeholders_tensor_names() -> None:
    """``sess.run`` takes a feed keyed by a tensor's name (``x.name``, ``"x:0"``) as by the tensor: the
    migration is the one of the feed keyed by the placeholders, inline and in a named feed dict."""
    by_name = SESSION.replace(
        "feed = {x: x_data, y: y_data, is_training: True}",
        "feed = {x.name: x_data, y.name: y_data, is_training.name: True}",
    ).replace(
        "feed_dict={x: x_data, y: y_data, is_training: False}",
        "feed_dict={x.name: x_data, y: y_data, is_training.name: False}",
    )
    assert by_name != SESSION
    expected = _rewrite(SESSION)
    result = _rewrite(by_name)
    assert expected.status is Status.CHANGED
    assert result.status is Status.CHANGED and result.code == expected.code, _reasons(result)


def test_a_placeholder_fed_twice_by_tensor_and_by_name_is_left() -> None:
    source = SESSION.replace(
        "feed_dict={x: x_data, y: y_data, is_training: False}",
        "feed_dict={x: x_data, x.name: x_data, y: y_data, is_training: False}",
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED
    assert any("feed is not a dict literal keyed by placeholders" in r for r in _reasons(result))


def test_fetches_given_by_keyword_in_any_order() -> None:
    """``sess.run(fetches=..., feed_dict=...)`` (either order) is ``sess.run(fetches, feed)``: the same
    migration, and the program facts read its fetches, not its feed (a train run's update ops)."""
    keywords = (
        SESSION.replace(
            "sess.run(train_op, feed_dict=feed)", "sess.run(feed_dict=feed, fetches=train_op)"
        )
        .replace(
            "print(sess.run(loss, feed_dict={x: x_data, y: y_data, is_training: False}))",
            "print(sess.run(fetches=loss, feed_dict={x: x_data, y: y_data, is_training: False}))",
        )
        .replace(
            "sess.run(update_ops, feed_dict={x: x_data[step:step + 16], is_training: True})",
            "sess.run(fetches=update_ops, feed_dict={x: x_data[step:step + 16], is_training: True})",
        )
        .replace(
            "print(sess.run(loss, {x: x_data, y: y_data, is_training: False}))",
            "print(sess.run(fetches=loss, feed_dict={x: x_data, y: y_data, is_training: False}))",
        )
    )
    assert keywords.count("fetches=") == 4
    expected = _rewrite(SESSION)
    result = _rewrite(keywords)
    assert expected.status is Status.CHANGED
    assert result.status is Status.CHANGED and result.code == expected.code, _reasons(result)
    assert "momentum=0.99" in result.code  # the update ops were seen to run with the train op


@pytest.mark.parametrize(
    ("run", "named"),
    [
        ("sess.run(train_op, feed_dict=feed, options=opts)", "`options`"),
        ("sess.run(train_op, feed, None, meta)", "a third positional argument"),
        ("sess.run(train_op, **kwargs)", "`**kwargs`"),
    ],
)
def test_run_options_are_left_naming_the_argument(run: str, named: str) -> None:
    source = SESSION.replace("sess.run(train_op, feed_dict=feed)", run)
    assert source != SESSION
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(
        s.rule == "BN007" and f"sess.run with {named} (options/run_metadata)" in s.message
        for s in result.left
    ), _reasons(result)


CONTAINERS = [
    ('{"train": train_op, "loss": loss}', "dict", "out = "),
    ("[train_op, loss]", "list", "_, out = "),
    ("(train_op, loss)", "tuple", "_, out = "),
]


@pytest.mark.parametrize(("literal", "kind", "target"), CONTAINERS)
def test_a_run_of_a_named_container_of_fetches_is_the_run_of_its_literal(
    literal: str, kind: str, target: str
) -> None:
    """``fetches = {...}`` directly in the session block, read only as the fetches of later runs:
    TF1 runs what the literal holds, the train op too, so the runs migrate as runs of the literal
    (the same code) and the binding goes (its tensors live in the graph function now)."""
    inline = SESSION.replace(
        "    sess.run(train_op, feed_dict=feed)", f"    {target}sess.run({literal}, feed_dict=feed)"
    )
    named = SESSION.replace(
        "    sess.run(train_op, feed_dict=feed)", f"    {target}sess.run(fetches, feed_dict=feed)"
    ).replace(
        "sess.run(tf.global_variables_initializer())\n",
        f"sess.run(tf.global_variables_initializer())\nfetches = {literal}\n",
    )
    assert named.count("fetches") == 2 and inline != SESSION
    expected = _rewrite(inline)
    result = _rewrite(named)
    assert expected.status is Status.CHANGED, _reasons(expected)
    assert result.status is Status.CHANGED and result.code == expected.code, _reasons(result)
    assert any(
        s.rule == "BN007"
        and "their binding removed" in s.message
        and s.line == named.splitlines().index(f"fetches = {literal}") + 1
        for s in result.applied
    ), result.applied
    assert "fetches" not in result.code


@pytest.mark.parametrize(("literal", "kind", "target"), CONTAINERS)
@pytest.mark.parametrize(
    ("change", "condition"),
    [
        # bound before the session (a graph statement), as this test's earlier form
        (
            lambda s, b: s.replace("sess = tf.Session()\n", f"{b}\nsess = tf.Session()\n"),
            "when it is bound once, by a line directly in the session block",
        ),
        # pix2pix: bound inside the loop, before each run
        (
            lambda s, b: s.replace("    feed = {x", f"    {b}\n    feed = {{x"),
            "when it is bound once, by a line directly in the session block",
        ),
        # bound twice
        (
            lambda s, b: s.replace(
                "sess.run(tf.global_variables_initializer())\n",
                f"sess.run(tf.global_variables_initializer())\n{b}\n{b}\n",
            ),
            "when it is bound once, by a line directly in the session block",
        ),
        # changed after its binding (pix2pix adds keys at some steps)
        (
            lambda s, b: s.replace(
                "sess.run(tf.global_variables_initializer())\n",
                f"sess.run(tf.global_variables_initializer())\n{b}\nprint(fetches)\n",
            ),
            "when the name is read nowhere else (`fetches` at line {print(fetches)})",
        ),
        (
            lambda s, b: s.replace(
                "sess.run(tf.global_variables_initializer())\n",
                f"sess.run(tf.global_variables_initializer())\n{b}\nfetches2 = fetches\n",
            ),
            "when the name is read nowhere else (`fetches` at line {fetches2 = fetches})",
        ),
    ],
)
def test_a_run_of_a_named_container_of_fetches_is_left_unless_proven(
    literal: str, kind: str, target: str, change: Callable[[str, str], str], condition: str
) -> None:
    """pix2pix's ``fetches = {"train": ...}; sess.run(fetches)``: TF1 runs every op the container
    holds when the run happens. Read as the literal only when nothing else can change what it holds;
    else left (it was once migrated as an evaluation of one tensor named ``fetches``)."""
    source = change(
        SESSION.replace(
            "    sess.run(train_op, feed_dict=feed)",
            f"    {target}sess.run(fetches, feed_dict=feed)",
        ),
        f"fetches = {literal}",
    )
    assert source.count(f"fetches = {literal}") >= 1
    lines = source.splitlines()
    for line in ("print(fetches)", "fetches2 = fetches"):  # the use a reason names, by its line
        condition = condition.replace(
            f"{{{line}}}", str(lines.index(line) + 1 if line in lines else 0)
        )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(
        s.rule == "BN007"
        and f"fetch `fetches` names a {kind} (line" in s.message
        and condition in s.message
        for s in result.left
    ), _reasons(result)


def test_a_train_op_bound_under_a_condition_is_named_in_the_reason() -> None:
    """hwalsuklee's ``if update_ops: train_op_final = tf.group(...) else: ...``: the session runs a
    train op the migration does not read. The reasons said "no rule of this version migrates it" and
    "never runs the train op"; they name the condition, the fetch and its binding, and what to
    change (which then migrates)."""
    source = (
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "\n"
        "\n"
        "def main():\n"
        "    data = np.ones((8, 3), np.float32)\n"
        "    x = tf.placeholder(tf.float32, [None, 3])\n"
        "    is_training = tf.placeholder(tf.bool)\n"
        '    h = tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training, name="bn")\n'
        "    loss = tf.reduce_mean(tf.square(h))\n"
        "    train_step = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
        "    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "    if update_ops:\n"
        "        train_ops = [train_step] + update_ops\n"
        "        train_op = tf.group(*train_ops)\n"
        "    else:\n"
        "        train_op = train_step\n"
        "    sess = tf.InteractiveSession()\n"
        "    sess.run(tf.global_variables_initializer())\n"
        "    for step in range(2):\n"
        "        sess.run([train_op, loss], {x: data, is_training: True})\n"
        "\n"
        "\n"
        'if __name__ == "__main__":\n'
        "    main()\n"
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    graph = (
        "`tf.group` under the `if` at line 13: graph code built under a Python condition is not "
        "read as the program's graph (which branch TF1 built is decided when it runs); write the "
        "graph without the condition"
    )
    assert [(s.rule, s.line, s.message) for s in result.left] == [("BN000", 15, graph)]
    # a minimize in a block BN006 leaves (a device block): the train run is never read as an
    # evaluation, and the session's reason points at it
    scoped = (
        source.replace(
            "    train_step = tf.train.AdamOptimizer(0.1).minimize(loss)\n",
            '    with tf.device("/cpu:0"):\n'
            "        train_step = tf.train.AdamOptimizer(0.1).minimize(loss)\n",
        )
        .replace(
            "    if update_ops:\n"
            "        train_ops = [train_step] + update_ops\n"
            "        train_op = tf.group(*train_ops)\n"
            "    else:\n"
            "        train_op = train_step\n",
            "",
        )
        .replace("[train_op, loss]", "[train_step, loss]")
    )
    result = _rewrite(scoped)
    assert result.status is Status.SKIPPED and result.code == scoped
    reasons = [(s.rule, s.line, s.message) for s in result.left]
    assert (
        "BN007",
        17,
        "fetch `train_step` is a train op the migration does not read (bound at line 12 in the "
        "`with` block at line 11): not migrated",
    ) in reasons, reasons
    assert (
        "BN007",
        14,
        "the session's train runs (line 17) are left, each for the reason given at it: no train "
        "step is called",
    ) in reasons, reasons
    unconditional = source.replace(
        "    if update_ops:\n"
        "        train_ops = [train_step] + update_ops\n"
        "        train_op = tf.group(*train_ops)\n"
        "    else:\n"
        "        train_op = train_step\n",
        "    train_ops = [train_step] + update_ops\n    train_op = tf.group(*train_ops)\n",
    )
    assert unconditional != source
    migrated = _rewrite(unconditional)  # the advice given works
    assert migrated.status is Status.CHANGED, _reasons(migrated)
    assert "momentum=0.99" in migrated.code and "tf.group" not in migrated.code


def test_a_session_running_no_train_op_names_what_it_runs_instead() -> None:
    """The run fetches a name bound under a condition that is no train op the migration reads
    (``tf.group(train_step, loss)``): the session's reason names it and where it is bound."""
    source = (
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "\n"
        "data = np.ones((8, 3), np.float32)\n"
        "x = tf.placeholder(tf.float32, [None, 3])\n"
        "is_training = tf.placeholder(tf.bool)\n"
        'h = tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training, name="bn")\n'
        "loss = tf.reduce_mean(tf.square(h))\n"
        "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "with tf.control_dependencies(update_ops):\n"
        "    train_step = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
        "if update_ops:\n"
        "    train_op = tf.group(train_step, loss)\n"
        "else:\n"
        "    train_op = train_step\n"
        "with tf.Session() as sess:\n"
        "    sess.run(tf.global_variables_initializer())\n"
        "    for step in range(2):\n"
        "        sess.run(train_op, {x: data, is_training: True})\n"
    )
    result = _rewrite(source)
    assert result.status is Status.SKIPPED and result.code == source
    expected = (
        "the session never runs a train op the migration reads (`train_step`): its run at line 19 "
        "fetches `train_op`, bound at line 13 under the `if` at line 12: a train op chosen by a "
        "Python condition is not read (bind it unconditionally)"
    )
    assert ("BN007", 16, expected) in [(s.rule, s.line, s.message) for s in result.left], _reasons(
        result
    )
