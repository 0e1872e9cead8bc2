"""``tf.data`` one-shot iterators feeding a placeholder-shaped graph (``analysis.datasets``, BN005, BN007):
the dataset kept as written, ``iterator = iter(dataset)`` where TF1 made the iterator, the ``get_next()``
targets parameters of the graph function and each train run ``train_step(*next(iterator))``; each form
whose element order the migration cannot keep left at its node with the reason; idempotence. The fixture
``dataset_iterator`` (catalog) runs both sides through ``bn-migrate check`` in the slow tests."""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.rules.bn008_fused_batch_norm import _FUSED_CLASS_SOURCE
from tests.rewrite.helpers import assert_rewrite

DATASET = "dataset = tf.data.Dataset.from_tensor_slices((data, labels)).shuffle(16, seed=3).batch(4).repeat()\n"
ITERATOR = "iterator = dataset.make_one_shot_iterator()\n"
RUN = "        sess.run(train_op)\n"


def _before(
    dataset: str = DATASET, iterator: str = ITERATOR, run: str = RUN, extra: str = ""
) -> str:
    return (
        "import numpy as np\nimport tensorflow as tf\n\n"
        "data = np.ones((16, 4), np.float32)\nlabels = np.zeros((16, 1), np.float32)\n"
        + dataset
        + iterator
        + "x, y = iterator.get_next()\n"
        "h = tf.layers.batch_normalization(x, training=True)\n"
        "loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1) - y))\n"
        "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "with tf.control_dependencies(update_ops):\n"
        "    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n\n"
        "with tf.Session() as sess:\n"
        "    sess.run(tf.global_variables_initializer())\n"
        "    for step in range(4):\n" + run + extra
    )


AFTER_BODY = """
batch_normalization = BatchNormalization(momentum=0.99, epsilon=0.001)
dense = tf.keras.layers.Dense(1)


def graph(x, y):
    h = batch_normalization(x, training=True)
    loss = tf.reduce_mean(tf.square(dense(h) - y))
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = graph(x, y)
    variables = [v for layer in (batch_normalization, dense) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return None


for step in range(4):
    train_step(*next(iterator))
"""


def _after(dataset: str = DATASET) -> str:
    return (
        "import numpy as np\nimport tensorflow as tf\n\n"
        + _FUSED_CLASS_SOURCE
        + "\n\ndata = np.ones((16, 4), np.float32)\nlabels = np.zeros((16, 1), np.float32)\n"
        + dataset
        + "iterator = iter(dataset)\n"
        + AFTER_BODY
    )


def test_a_one_shot_iterator_becomes_iter_and_each_train_run_takes_next() -> None:
    result = assert_rewrite(_before(), _after())
    messages = [site.message for site in result.applied]
    assert "one-shot iterator -> iter(dataset)" in messages
    assert any("next(iterator)" in message for message in messages)


def test_the_compat_v1_function_spelling_is_migrated_alike() -> None:
    iterator = "iterator = tf.compat.v1.data.make_one_shot_iterator(dataset)\n"
    assert_rewrite(_before(iterator=iterator), _after())


def test_a_dataset_built_over_several_lines_is_kept_as_written() -> None:
    dataset = (
        "dataset = tf.data.Dataset.from_tensor_slices((data, labels))\n"
        "dataset = dataset.batch(4).repeat()\n"
    )
    assert_rewrite(_before(dataset=dataset), _after(dataset=dataset))


def test_an_initializable_iterator_is_made_where_the_session_initializes_it() -> None:
    """Re-initialized at each epoch without a shuffle: a new ``iter(dataset)`` at the same place gives
    the elements from the start, as TF1's initializer did (with a shuffle the orders differ: left)."""
    dataset = "dataset = tf.data.Dataset.from_tensor_slices((data, labels)).batch(4)\n"
    before = _before(
        dataset=dataset, iterator="iterator = dataset.make_initializable_iterator()\n"
    ).replace(
        "    for step in range(4):\n" + RUN,
        "    for epoch in range(2):\n        sess.run(iterator.initializer)\n"
        "        for step in range(4):\n            sess.run(train_op)\n",
    )
    after = (
        _after(dataset=dataset)
        .replace("iterator = iter(dataset)\n\n", "\n")
        .replace(
            "for step in range(4):\n    train_step(*next(iterator))\n",
            "for epoch in range(2):\n    iterator = iter(dataset)\n"
            "    for step in range(4):\n        train_step(*next(iterator))\n",
        )
    )
    assert_rewrite(before, after)


def test_the_output_is_left_alone() -> None:
    assert_rewrite(_after(), None)


def test_a_placeholder_rebound_in_the_graph_is_kept_in_the_graph_function() -> None:
    """``x = tf.reshape(x, ...)`` after the declaration is a graph statement, not a declaration (it was
    dropped before: the line bound a placeholder's name)."""
    before = _before().replace(
        "x, y = iterator.get_next()\n", "x, y = iterator.get_next()\nx = tf.reshape(x, [-1, 4])\n"
    )
    done = rewrite_source(before)
    assert "    x = tf.reshape(x, [-1, 4])\n    h = batch_normalization(x" in done.code
    placeholders = before.replace(DATASET + ITERATOR, "").replace(
        "x, y = iterator.get_next()\n",
        "x = tf.placeholder(tf.float32, [None, 4])\ny = tf.placeholder(tf.float32, [None, 1])\n",
    )
    placeholders = placeholders.replace(RUN, "        sess.run(train_op, {x: data, y: labels})\n")
    assert "    x = tf.reshape(x, [-1, 4])\n" in rewrite_source(placeholders).code


def test_an_evaluation_feeding_the_get_next_tensors_calls_the_graph() -> None:
    """TF1 does not advance the iterator in a run that feeds every get_next() tensor: the evaluation
    calls the graph with what it fed; the train runs pass the other feeds after the element."""
    before = (
        _before(
            run="        sess.run(train_op, {is_training: True})\n",
            extra="    print(sess.run(loss, feed_dict={x: data, y: labels, is_training: False}))\n",
        )
        .replace(
            "x, y = iterator.get_next()\n",
            "x, y = iterator.get_next()\nis_training = tf.placeholder(tf.bool, [])\n",
        )
        .replace("training=True", "training=is_training")
    )
    code = rewrite_source(before).code
    assert "    train_step(*next(iterator), is_training=True)\n" in code, code
    assert "\nprint(graph(x=data, y=labels, is_training=False).numpy())\n" in code, code


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (
            lambda s: s.replace(
                "with tf.control_dependencies(update_ops):\n"
                "    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n",
                "minimize = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
                "train_op = tf.group(minimize, *update_ops)\n",
            ),
            18,
            "whether TF1 advanced the iterator in it is not decided",
        ),
        (
            lambda s: s.replace(".shuffle(16, seed=3)", ".shuffle(16)"),
            6,
            "`shuffle` without `seed=`",
        ),
        (
            lambda s: s.replace(".batch(4)", ".map(lambda a, b: (a, b)).batch(4)"),
            6,
            "dataset method `map`",
        ),
        (
            lambda s: s.replace("make_one_shot_iterator", "make_initializable_iterator").replace(
                "    for step in range(4):\n",
                "    for epoch in range(2):\n        sess.run(iterator.initializer)\n"
                "        for step in range(4):\n    ",
            ),
            18,
            "re-initialized in a loop over a shuffled dataset",
        ),
        (
            lambda s: s.replace("make_one_shot_iterator", "make_initializable_iterator"),
            7,
            "never initialized",
        ),
        (
            lambda s: s.replace(RUN, RUN + "        print(sess.run(loss))\n"),
            19,
            "reads `iterator.get_next()` without the train op",
        ),
        (
            lambda s: s.replace(
                "x, y = iterator.get_next()\n",
                "x, y = iterator.get_next()\nz = iterator.get_next()\n",
            ),
            9,
            "2 `get_next()` calls",
        ),
        (
            lambda s: s.replace(
                "    for step in range(4):\n" + RUN,
                "    while True:\n        try:\n            sess.run(train_op)\n"
                "        except tf.errors.OutOfRangeError:\n            break\n",
            ),
            20,
            "`OutOfRangeError`",
        ),
        (
            lambda s: s.replace(
                ITERATOR,
                "handle = tf.placeholder(tf.string, [])\n"
                "iterator = tf.data.Iterator.from_string_handle(handle, dataset.output_types)\n",
            ),
            8,
            "a feedable iterator",
        ),
    ],
    ids=[
        "grouped-train-op",
        "shuffle-unseeded",
        "map",
        "reinit-shuffled",
        "never-initialized",
        "eval-run",
        "two-get-next",
        "out-of-range",
        "feedable",
    ],
)
def test_iterator_forms_that_are_not_migrated_are_left_with_the_reason(
    change, line: int, reason: str
) -> None:
    before = change(_before())
    done = rewrite_source(before)
    assert done.code == before
    found = [site.line for site in done.left if reason in site.message]
    assert line in found, [f"{site.line} {site.message}" for site in done.left]


def test_the_analysis_reads_the_feed() -> None:
    module = cst.parse_module(_before())
    program = Program.read(module, AliasTable.build(module))
    feed = program.datasets.feed
    assert feed is not None and not program.datasets.refusals
    assert (feed.dataset, feed.iterator, feed.targets, feed.unpacked) == (
        "dataset",
        "iterator",
        ("x", "y"),
        True,
    )
    assert list(program.placeholders) == ["x", "y"] and program.placeholders["x"].iterator
    assert program.shape == "placeholder"
