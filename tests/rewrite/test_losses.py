"""BN011 before/after cases: ``tf.losses`` weights, label smoothing and reductions (TF1 semantics kept).

Every case is the same placeholder program with one ``loss = ...`` line; the expected TF2 loss line is
written out by hand from TF1's ``losses_impl.py`` (see ``api_tables.LOSSES`` / ``LOSS_REDUCTIONS``).
``test_losses_numeric.py`` runs both sides and compares the numbers.
"""

from __future__ import annotations

import pytest

from tests.rewrite.helpers import assert_rewrite

BEFORE = """\
import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)
labels = np.arange(8) % 4
onehot = np.eye(4, dtype=np.float32)[labels]
weights = np.array([1, 0, 2, 1, 0, 1, 1, 3], np.float32)
x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.int64, [None])
y_onehot = tf.placeholder(tf.float32, [None, 4])
w = tf.placeholder(tf.float32, [None])
w_col = tf.placeholder(tf.float32, [None, 1])
is_training = tf.placeholder(tf.bool)
h = tf.layers.dense(x, 4, name="hidden")
logits = tf.layers.batch_normalization(h, training=is_training, name="bn")
loss = LOSS
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(2):
        _, value = sess.run([train_op, loss], {x: data, y: labels, y_onehot: onehot, w: weights, w_col: weights[:, None], is_training: True})
        print(value)
"""  # noqa: E501 (a TF1 program as written, one feed dict per line)
LOSS_LINE = 16  # line of ``loss = ...`` in BEFORE

AFTER = """\
import numpy as np
import tensorflow as tf

data = np.ones((8, 3), np.float32)
labels = np.arange(8) % 4
onehot = np.eye(4, dtype=np.float32)[labels]
weights = np.array([1, 0, 2, 1, 0, 1, 1, 3], np.float32)

hidden = tf.keras.layers.Dense(4, name="hidden")
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=0.001, name="bn")


def graph(x, y, y_onehot, w, w_col, is_training):
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.int64)
    y_onehot = tf.cast(y_onehot, tf.float32)
    w = tf.cast(w, tf.float32)
    w_col = tf.cast(w_col, tf.float32)
    h = hidden(x)
    logits = bn(h, training=is_training)
    loss = LOSS
    return loss


optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)


@tf.function
def train_step(x, y, y_onehot, w, w_col, is_training):
    with tf.GradientTape() as tape:
        loss = graph(x, y, y_onehot, w, w_col, is_training)
    variables = [v for layer in (hidden, bn) for v in layer.trainable_variables]
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for step in range(2):
    value = train_step(x=data, y=labels, y_onehot=onehot, w=weights, w_col=weights[:, None], is_training=True).numpy()
    print(value)
"""

SPARSE = "tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)"
SIGMOID = "tf.nn.sigmoid_cross_entropy_with_logits(labels=y_onehot, logits=logits)"
MSE = "tf.math.squared_difference(logits, y_onehot)"
BY_NONZERO = (
    "tf.math.divide_no_nan(tf.reduce_sum({losses} * {w}), "
    "tf.math.count_nonzero(tf.broadcast_to({w}, {shape}), dtype=tf.float32))"
)
SPARSE_WEIGHTED = BY_NONZERO.format(losses=SPARSE, w="w", shape="tf.shape(logits)[:-1]")


def check(tf1: str, tf2: str | None, *, left: bool = False) -> None:
    """``loss = tf1`` must become ``loss = tf2`` (None: the file is left, with one BN011 site: the
    rule's reason, and no second one from the engine for the same call)."""
    before = BEFORE.replace("LOSS", tf1)
    if tf2 is None:
        assert_rewrite(before, None, left=[("BN011", LOSS_LINE)] if left else [])
    else:
        assert_rewrite(before, AFTER.replace("LOSS", tf2), applied_rules=None)


MIGRATED = {
    "default": ("tf.losses.sparse_softmax_cross_entropy(y, logits)", f"tf.reduce_mean({SPARSE})"),
    "weights-one": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=1)",
        f"tf.reduce_mean({SPARSE})",
    ),
    "scalar-float": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=0.5)",
        f"tf.reduce_mean({SPARSE} * 0.5)",
    ),
    "scalar-int-positional": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, 3)",
        f"tf.reduce_mean({SPARSE} * 3.0)",
    ),
    "scalar-negative": (
        "tf.losses.mean_squared_error(y_onehot, logits, weights=-2.0)",
        f"tf.reduce_mean({MSE} * -2.0)",
    ),
    "scalar-zero": (
        "tf.losses.mean_squared_error(y_onehot, logits, weights=0.0)",
        BY_NONZERO.format(losses=MSE, w="0.0", shape="tf.shape(logits)"),
    ),
    "per-example": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w)",
        SPARSE_WEIGHTED,
    ),
    "per-example-column-squeezed": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w_col)",
        BY_NONZERO.format(
            losses=SPARSE, w="tf.squeeze(w_col, [-1])", shape="tf.shape(logits)[:-1]"
        ),
    ),
    "weights-column-mse": (
        "tf.losses.mean_squared_error(labels=y_onehot, predictions=logits, weights=w_col)",
        BY_NONZERO.format(losses=MSE, w="w_col", shape="tf.shape(logits)"),
    ),
    "weights-cast-pure-call": (
        "tf.losses.sigmoid_cross_entropy(y_onehot, logits, weights=tf.cast(w_col, tf.int32))",
        BY_NONZERO.format(
            losses=SIGMOID,
            w="tf.cast(tf.cast(w_col, tf.int32), tf.float32)",
            shape="tf.shape(logits)",
        ),
    ),
    "weights-expression-used-once": (
        (
            "tf.losses.sigmoid_cross_entropy(y_onehot, logits, weights=tf.abs(w_col), "
            "reduction=tf.losses.Reduction.NONE)"
        ),
        f"{SIGMOID} * tf.cast(tf.abs(w_col), tf.float32)",
    ),
    "sigmoid-int-labels-cast": (
        "tf.losses.sigmoid_cross_entropy(tf.cast(y_onehot, tf.int32), logits)",
        (
            "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits("
            "labels=tf.cast(tf.cast(y_onehot, tf.int32), logits.dtype), logits=logits))"
        ),
    ),
    "sigmoid-smoothing": (
        "tf.losses.sigmoid_cross_entropy(y_onehot, logits, label_smoothing=0.1)",
        (
            "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits("
            "labels=y_onehot * (1 - 0.1) + 0.5 * 0.1, logits=logits))"
        ),
    ),
    "sigmoid-smoothing-zero": (
        "tf.losses.sigmoid_cross_entropy(y_onehot, logits, label_smoothing=0)",
        f"tf.reduce_mean({SIGMOID})",
    ),
    "softmax-smoothing": (
        "tf.losses.softmax_cross_entropy(y_onehot, logits, weights=w, label_smoothing=0.2)",
        BY_NONZERO.format(
            losses="tf.nn.softmax_cross_entropy_with_logits(labels=y_onehot * (1 - 0.2) + 0.2 / "
            "tf.cast(tf.shape(logits)[-1], tf.float32), logits=logits)",
            w="w",
            shape="tf.shape(logits)[:-1]",
        ),
    ),
    "softmax-one-hot-labels": (
        "tf.losses.softmax_cross_entropy(tf.one_hot(y, 4), logits)",
        "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 4), logits=logits))",
    ),
    "softmax-model-labels-stop-gradient": (
        "tf.losses.softmax_cross_entropy(tf.nn.softmax(h), logits, label_smoothing=0.1)",
        (
            "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tf.stop_gradient("
            "tf.cast(tf.nn.softmax(h), logits.dtype) * (1 - 0.1) + 0.1 / "
            "tf.cast(tf.shape(logits)[-1], logits.dtype)), logits=logits))"
        ),
    ),
    "reduction-none": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w, reduction=tf.losses.Reduction.NONE)",
        f"{SPARSE} * w",
    ),
    "reduction-none-unweighted": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, reduction=tf.losses.Reduction.NONE)",
        SPARSE,
    ),
    "reduction-sum": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w, reduction=tf.losses.Reduction.SUM)",
        f"tf.reduce_sum({SPARSE} * w)",
    ),
    "reduction-sum-string": (
        'tf.losses.sparse_softmax_cross_entropy(y, logits, reduction="weighted_sum")',
        f"tf.reduce_sum({SPARSE})",
    ),
    "reduction-mean": (
        (
            "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w, "
            "reduction=tf.compat.v1.losses.Reduction.MEAN)"
        ),
        (
            f"tf.math.divide_no_nan(tf.reduce_sum({SPARSE} * w), "
            "tf.reduce_sum(tf.broadcast_to(w, tf.shape(logits)[:-1])))"
        ),
    ),
    "reduction-mean-scalar": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=2, reduction=tf.losses.Reduction.MEAN)",
        (
            f"tf.math.divide_no_nan(tf.reduce_sum({SPARSE} * 2.0), "
            "tf.reduce_sum(tf.broadcast_to(2.0, tf.shape(logits)[:-1])))"
        ),
    ),
    "reduction-sum-over-batch-size": (
        (
            "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w, "
            "reduction=tf.losses.Reduction.SUM_OVER_BATCH_SIZE)"
        ),
        f"tf.reduce_mean({SPARSE} * w)",
    ),
    "reduction-sum-over-nonzero-weights": (
        (
            "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=w, "
            "reduction=tf.losses.Reduction.SUM_OVER_NONZERO_WEIGHTS)"
        ),
        SPARSE_WEIGHTED,
    ),
    "reduction-default-explicit-collection-scope": (
        (
            "tf.losses.sparse_softmax_cross_entropy(y, logits, w, 'xent', tf.GraphKeys.LOSSES, "
            "tf.losses.Reduction.SUM_BY_NONZERO_WEIGHTS)"
        ),
        SPARSE_WEIGHTED,
    ),
    "operands-parenthesized": (
        "tf.losses.absolute_difference(y_onehot - 1.0, logits + 1.0)",
        "tf.reduce_mean(tf.abs((logits + 1.0) - (y_onehot - 1.0)))",
    ),
}


@pytest.mark.parametrize(("tf1", "tf2"), MIGRATED.values(), ids=list(MIGRATED))
def test_migrated(tf1: str, tf2: str) -> None:
    check(tf1, tf2)


LEFT = {
    "other-collection": 'tf.losses.mean_squared_error(y_onehot, logits, loss_collection="mine")',
    "keras-reduction": "tf.losses.mean_squared_error(y_onehot, logits, reduction=tf.keras.losses.Reduction.SUM)",
    "reduction-variable": "tf.losses.mean_squared_error(y_onehot, logits, reduction=data)",
    "smoothing-variable": "tf.losses.sigmoid_cross_entropy(y_onehot, logits, label_smoothing=data)",
    "sparse-weights-unknown-rank": (
        "tf.losses.sparse_softmax_cross_entropy(y, logits, weights=tf.reduce_sum(y_onehot, 1))"
    ),
    "weights-twice-not-pure": "tf.losses.mean_squared_error(y_onehot, logits, weights=tf.abs(w_col))",
    "logits-twice-layer-call": "tf.losses.sparse_softmax_cross_entropy(y, tf.layers.dense(h, 4), weights=w)",
    "labels-cast-logits-twice": "tf.losses.sigmoid_cross_entropy(tf.cast(y_onehot, tf.int32), tf.layers.dense(h, 4))",
    "not-a-parameter": "tf.losses.sparse_softmax_cross_entropy(y, logits, label_smoothing=0.1)",
}  # fmt: skip


@pytest.mark.parametrize("tf1", LEFT.values(), ids=list(LEFT))
def test_left(tf1: str) -> None:
    check(tf1, None, left=True)


def test_same_name_from_another_module_is_untouched() -> None:
    assert_rewrite(
        """
        import numpy as np
        from mylib import losses

        loss = losses.mean_squared_error(np.zeros(3), np.ones(3), weights=2.0)
        """,
        None,
    )


def test_migrated_code_is_untouched() -> None:
    assert_rewrite(
        """
        import tensorflow as tf

        def loss(y, logits, w):
            return tf.math.divide_no_nan(
                tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits) * w),
                tf.math.count_nonzero(tf.broadcast_to(w, tf.shape(logits)[:-1]), dtype=tf.float32),
            )
        """,
        None,
    )


def test_softmax_labels_computed_by_the_model_keep_tf1s_stopped_gradient() -> None:
    """TF1's tf.nn.softmax_cross_entropy_with_logits passes no gradient to labels; TF2's does."""
    from pathlib import Path

    from bn_migrate.rewrite.engine import rewrite_source
    from bn_migrate.rewrite.result import Status

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "tf1" / "layers_mlp_placeholder.py"
    source = fixture.read_text(encoding="utf-8").replace(
        "loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))",
        'soft = tf.nn.softmax(tf.layers.dense(h, 1, name="teacher"))\n'
        "loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=soft, logits=logits))"
        " + tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left
    assert (
        "softmax_cross_entropy_with_logits(labels=tf.stop_gradient(soft), logits=logits)"
        in result.code
    )
    assert (
        "softmax_cross_entropy_with_logits(labels=y, logits=logits)" in result.code
    )  # data: as is
    assert rewrite_source(result.code).code == result.code
