"""Estimator programs (``planning.estimator``): ``tf.estimator.Estimator(model_fn=...)`` trained with
``numpy_input_fn`` batches is read as the session script it runs, which the rules migrate; every other
shape is left, with the construct and the reason at its line. The fixture ``estimator_model_fn`` (golden,
checked EQUIVALENT) is the whole program; these are the variations."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.planning import estimator
from bn_migrate.rewrite.result import Status
from tests.rewrite.helpers import assert_rewrite

HEAD = """\
import numpy as np
import tensorflow as tf

x_data = np.random.rand(60, 4).astype(np.float32)
y_data = (x_data.sum(axis=1) > 2.0).astype(np.int64)


def model_fn(features, labels, mode):
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    h = tf.layers.dense(features["x"], 8, name="dense1")
    h = tf.layers.batch_normalization(h, training=is_training, momentum=0.9, name="bn1")
    logits = tf.layers.dense(h, 2, name="logits")
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode != tf.estimator.ModeKeys.TRAIN:
        return tf.estimator.EstimatorSpec(mode, loss=loss)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


"""
TRAIN_INPUT = (
    'train_input_fn = tf.estimator.inputs.numpy_input_fn({"x": x_data}, y_data, batch_size=16, '
    "num_epochs=None, shuffle=False)\n"
)
EVAL_INPUT = (
    'eval_input_fn = tf.estimator.inputs.numpy_input_fn({"x": x_data}, y_data, batch_size=25, '
    "num_epochs=1, shuffle=False)\n"
)
RUN = (
    "estimator = tf.estimator.Estimator(model_fn=model_fn)\n"
    "estimator.train(train_input_fn, steps=4)\n"
    "metrics = estimator.evaluate(eval_input_fn)\n"
    'print("eval loss %.6f" % metrics["loss"])\n'
)
PROGRAM = HEAD + TRAIN_INPUT + EVAL_INPUT + RUN


def _left(source: str) -> list[tuple[str, int, str]]:
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.SKIPPED, result.code
    return [(site.rule, site.line, site.message) for site in result.left]


def _line(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_program_is_read_as_its_session_script() -> None:
    module = cst.parse_module(PROGRAM)
    found = estimator.find(module, AliasTable.build(module), PROGRAM)
    assert isinstance(found, estimator.EstimatorProgram)
    virtual = found.virtual()
    assert "tf.estimator" not in virtual.code and "def model_fn" not in virtual.code
    for line in (
        "global_step = tf.train.get_or_create_global_step()",
        'features_x = tf.placeholder(tf.float32, (None,) + x_data.shape[1:], name="features_x")',
        'labels = tf.placeholder(tf.int64, (None,) + y_data.shape[1:], name="labels")',
        'is_training = tf.placeholder(tf.bool, [], name="is_training")',
        'h = tf.layers.dense(features_x, 8, name="dense1")',
        "train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step)",
        "    for step in range(4):",
        "        rows = np.arange(step * 16, step * 16 + 16) % len(y_data)",
        "    for eval_first in range(0, len(y_data), 25):",
        '    metrics = {"loss": eval_total / np.float32(eval_batches)}',
    ):
        assert line.strip() in {text.strip() for text in virtual.code.splitlines()}, line
    # places in the script are the lines they come from
    dense = _line(virtual.code, "h = tf.layers.dense(")
    assert virtual.line(dense) == _line(PROGRAM, "h = tf.layers.dense(")


def test_the_program_migrates_without_tf_estimator() -> None:
    result = rewrite_source(PROGRAM, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    code = result.code
    assert "estimator" not in code.replace("eval", "")
    assert 'bn1 = BatchNormalization(momentum=0.9, epsilon=0.001, name="bn1")' in code
    assert "train_step(features_x=x_data[rows], labels=y_data[rows], is_training=True)" in code
    assert "is_training=False).numpy()" in code
    # the rewrite of the migration changes nothing, and it parses
    again = rewrite_source(code, path="case.py")
    assert again.status is Status.UNCHANGED and again.code == code


def test_one_feature_array_and_no_evaluation() -> None:
    source = (
        HEAD.replace('features["x"]', "features")
        + "estimator = tf.estimator.Estimator(model_fn)\n"
        + "estimator.train(tf.estimator.inputs.numpy_input_fn(x_data, y_data, batch_size=8, "
        + "num_epochs=None, shuffle=False), steps=3)\n"
    )
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "def graph(features, labels, is_training):" in result.code
    assert "for step in range(3):" in result.code
    assert "train_step(features=x_data[rows], labels=y_data[rows], is_training=True)" in result.code


def test_the_predict_branch_is_never_taken() -> None:
    source = PROGRAM.replace(
        "    loss = tf.losses",
        "    if mode == tf.estimator.ModeKeys.PREDICT:\n"
        "        return tf.estimator.EstimatorSpec(mode, predictions=tf.argmax(logits, 1))\n"
        "    loss = tf.losses",
    )
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "argmax" not in result.code


def test_training_mode_written_inline() -> None:
    source = PROGRAM.replace("    is_training = mode == tf.estimator.ModeKeys.TRAIN\n", "").replace(
        "training=is_training", "training=(mode == tf.estimator.ModeKeys.TRAIN)"
    )
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "bn1(h, training=(is_training))" in result.code or "bn1(h, training=is_training)" in (
        result.code
    )


LEFT_CASES = {
    "model_dir": (
        PROGRAM.replace(
            "Estimator(model_fn=model_fn)", 'Estimator(model_fn=model_fn, model_dir="m")'
        ),
        "estimator = tf.estimator.Estimator(",
        "Estimator(model_dir=...): the Estimator restores the latest checkpoint",
    ),
    "hooks": (
        PROGRAM.replace("steps=4)", "steps=4, hooks=[])"),
        "estimator.train(",
        "train(hooks=...): hooks are not migrated",
    ),
    "max_steps": (
        PROGRAM.replace("steps=4)", "max_steps=4)"),
        "estimator.train(",
        "train(max_steps=...)",
    ),
    "no steps": (
        PROGRAM.replace(", steps=4)", ")"),
        "estimator.train(",
        "train() without steps=",
    ),
    "shuffled": (
        PROGRAM.replace("num_epochs=None, shuffle=False", "num_epochs=None, shuffle=True"),
        "train_input_fn =",
        "numpy_input_fn without shuffle=False",
    ),
    "train epochs": (
        PROGRAM.replace("num_epochs=None, shuffle=False", "num_epochs=2, shuffle=False"),
        "train_input_fn =",
        "numpy_input_fn with num_epochs=2 for train()",
    ),
    "threads": (
        PROGRAM.replace(
            "num_epochs=None, shuffle=False", "num_epochs=None, shuffle=False, num_threads=2"
        ),
        "train_input_fn =",
        "numpy_input_fn with several threads",
    ),
    "dtype not written": (
        PROGRAM.replace("np.random.rand(60, 4).astype(np.float32)", "np.random.rand(60, 4)"),
        "x_data = np.random.rand",
        "the dtype of `x_data` is not written where it is assigned",
    ),
    "input function": (
        PROGRAM.replace(TRAIN_INPUT, "def train_input_fn():\n    return None\n\n\n"),
        "estimator.train(",
        "an input function other than tf.estimator.inputs.numpy_input_fn",
    ),
    "metrics read otherwise": (
        PROGRAM + "print(metrics)\n",
        "print(metrics)",
        '`metrics` read otherwise than `metrics["loss"]`',
    ),
    "predict": (
        PROGRAM + "predictions = estimator.predict(eval_input_fn)\n",
        "estimator.predict(",
        "`estimator` used otherwise than `train()` then `evaluate()`",
    ),
    "two trains": (
        PROGRAM + "estimator.train(train_input_fn, steps=4)\n",
        "exactly one `train()` call",
    ),
    "mode read otherwise": (
        PROGRAM.replace("    update_ops =", "    print(mode)\n    update_ops ="),
        "print(mode)",
        "model_fn reads `mode` otherwise",
    ),
    "spec hooks": (
        PROGRAM.replace("train_op=train_op)", "train_op=train_op, training_hooks=[])"),
        "training_hooks=[]",
        "EstimatorSpec's `training_hooks`: only mode, and loss and train_op as names",
    ),
    "seed": (
        PROGRAM.replace("x_data = np.random", "tf.set_random_seed(1)\nx_data = np.random"),
        "tf.set_random_seed(1)",
        "the module seeds the default graph",
    ),
    "shared name": (
        PROGRAM.replace("x_data = np.random", "h = 3\nx_data = np.random"),
        "def model_fn",
        "model_fn binds `h`, which the module binds too",
    ),
    "nested function": (
        PROGRAM.replace("    update_ops =", "    def helper():\n        pass\n    update_ops ="),
        "def helper",
        "a function defined in model_fn",
    ),
}


@pytest.mark.parametrize("case", sorted(LEFT_CASES))
def test_other_shapes_are_left_with_the_reason_at_their_line(case: str) -> None:
    source, *where, reason = LEFT_CASES[case]
    left = _left(source)
    line = _line(source, where[0]) if where else len(source.splitlines())  # else: the last line
    assert any(
        rule == "BN007" and at == line and reason in message for rule, at, message in left
    ), (
        line,
        left,
    )


def test_a_module_without_an_estimator_is_not_an_estimator_program() -> None:
    source = "import tensorflow as tf\nx = tf.placeholder(tf.float32)\n"
    module = cst.parse_module(source)
    assert estimator.find(module, AliasTable.build(module), source) is None


def test_minimize_takes_the_global_step_second() -> None:
    """TF1's ``minimize(loss, global_step=None, var_list=None, ...)``: the second positional argument is
    the global step, migrated as the keyword is (BN006)."""
    before = """
        import numpy as np
        import tensorflow as tf

        x = tf.placeholder(tf.float32, [None, 4])
        is_training = tf.placeholder(tf.bool, [])
        h = tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
        loss = tf.reduce_mean(tf.square(h))
        global_step = tf.train.get_or_create_global_step()
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(3):
                sess.run(train_op, feed_dict={x: np.ones((2, 4)), is_training: True})
    """
    keyword = before.replace(
        "minimize(loss, global_step)", "minimize(loss, global_step=global_step)"
    )
    by_keyword = rewrite_source(textwrap.dedent(keyword).removeprefix("\n"))
    assert by_keyword.status is Status.CHANGED
    assert_rewrite(before, by_keyword.code)


def test_compat_v1_spelling() -> None:
    """``import tensorflow.compat.v1 as tf``: the script's placeholders are written with that name."""
    source = PROGRAM.replace("import tensorflow as tf", "import tensorflow.compat.v1 as tf")
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "tf.compat.v1" not in result.code and "estimator" not in result.code.replace("eval", "")


PARAMS = PROGRAM.replace(
    "def model_fn(features, labels, mode):", "def model_fn(features, labels, mode, params):"
).replace("GradientDescentOptimizer(0.1)", 'GradientDescentOptimizer(params["learning_rate"])')


def test_params_is_bound_first_and_its_number_is_a_constant() -> None:
    source = PARAMS.replace(
        "Estimator(model_fn=model_fn)",
        'Estimator(model_fn=model_fn, params={"learning_rate": 0.1})',
    )
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert 'params = {"learning_rate": 0.1}' in result.code.splitlines()
    assert 'tf.keras.optimizers.SGD(learning_rate=params["learning_rate"])' in result.code


@pytest.mark.parametrize(
    ("params", "text", "reason"),
    [
        (
            'params={"learning_rate": rate}',
            "estimator = tf.estimator.Estimator(",
            "Estimator(params=...) other than a dict literal of literals",
        ),
        ("", "def model_fn", "model_fn's parameters are not (features, labels, mode), with params"),
    ],
)
def test_params_left(params: str, text: str, reason: str) -> None:
    source = PARAMS.replace(
        "Estimator(model_fn=model_fn)",
        f"Estimator(model_fn=model_fn, {params})" if params else "Estimator(model_fn=model_fn)",
    )
    left = _left(source)
    line = _line(source, text)
    assert any(r == "BN007" and at == line and reason in m for r, at, m in left), (line, left)


@pytest.mark.parametrize(
    ("extra", "constant"),
    [
        ("", True),
        ('params["learning_rate"] = 0.5\n', False),
        ('del params["learning_rate"]\n', False),
        ("params.update(learning_rate=0.5)\n", False),
        ("def change(p):\n    p['learning_rate'] = 1\n\n\nchange(params)\n", False),
        ('params = {"learning_rate": 0.2}\n', False),
    ],
)
def test_a_dict_item_is_a_constant_only_when_nothing_can_change_the_dict(
    extra: str, constant: bool
) -> None:
    from bn_migrate.rewrite.analysis.syntax import plain_dict_constant

    source = (
        'params = {"learning_rate": 0.1, "other": x}\n' + extra + 'rate = params["learning_rate"]\n'
    )
    module = cst.parse_module(source)
    read = module.body[-1].body[0].value  # type: ignore[attr-defined]
    assert plain_dict_constant(module, read) is constant
    other = cst.parse_expression('params["other"]')
    assert not plain_dict_constant(module, other)


def _in_main(source: str, run: str) -> str:
    head, _, rest = source.partition("train_input_fn = ")
    body = "".join(
        f"    {line}" if line.strip() else line
        for line in ("train_input_fn = " + rest).splitlines(True)
    )
    return f'{head}def main({"_" if "app" in run else ""}):\n{body}\n\nif __name__ == "__main__":\n    {run}\n'


@pytest.mark.parametrize("run", ["main()", "tf.app.run()"])
def test_an_estimator_made_and_trained_in_main(run: str) -> None:
    """The Estimator makes ``main`` the training function (``planning.main_function``); its script is
    read inside the function's, and the layers, steps and loops land in ``main``."""
    source = _in_main(PROGRAM, run)
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    code = result.code
    assert "estimator" not in code.replace("eval", "") and "def model_fn" not in code
    main = code[code.index("def main(") :]
    assert '    bn1 = BatchNormalization(momentum=0.9, epsilon=0.001, name="bn1")' in main
    assert "    for step in range(4):" in main
    ending = (
        "main()" if run == "main()" else "app.run(main, flags_parser="
    )  # absl's, as BN015 writes it
    assert f'if __name__ == "__main__":\n    {ending}' in main
    again = rewrite_source(code, path="case.py")
    assert again.status is Status.UNCHANGED


def test_an_estimator_in_main_is_left_with_its_reason() -> None:
    source = _in_main(PROGRAM.replace("steps=4)", "steps=4, hooks=[])"), "main()")
    left = _left(source)
    line = _line(source, "estimator.train(")
    assert any(r == "BN007" and at == line and "train(hooks=...)" in m for r, at, m in left), left


def test_the_loss_bound_again_after_the_evaluation_returns_is_left() -> None:
    source = PROGRAM.replace(
        "    update_ops = tf.get_collection",
        "    loss = loss + 0.01 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
        "    update_ops = tf.get_collection",
    )
    left = _left(source)
    line = _line(source, "if mode != tf.estimator.ModeKeys.TRAIN:")
    assert any(r == "BN007" and at == line and "is bound again after" in m for r, at, m in left), (
        left
    )


def test_a_fresh_labels_name_keeps_the_keyword() -> None:
    """The module binds ``labels`` too: the placeholder gets another name, read where ``model_fn``
    read its parameter, never written into keywords (``labels=``)."""
    source = PROGRAM.replace("y_data = (", "labels_text = 'x'\ny_data = (").replace(
        "labels_text = 'x'", "labels = ['no', 'yes']"
    )
    result = rewrite_source(source, path="case.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "sparse_softmax_cross_entropy_with_logits(labels=labels_1, logits=logits)" in result.code
    assert "labels = ['no', 'yes']" in result.code


DETERMINISTIC = (
    PROGRAM.replace("np.random.rand(60, 4)", "np.linspace(-1.0, 1.0, 240).reshape(60, 4)")
    .replace("y_data = (x_data.sum(axis=1) > 2.0)", "y_data = (np.sin(7 * x_data).sum(axis=1) > 0)")
    .replace(
        'tf.layers.dense(features["x"], 8, name="dense1")',
        'tf.layers.dense(features["x"], 8, '
        'kernel_initializer=tf.constant_initializer(0.3), name="dense1")',
    )
    .replace(
        'tf.layers.dense(h, 2, name="logits")',
        'tf.layers.dense(h, 2, kernel_initializer=tf.constant_initializer(0.2), name="logits")',
    )
)


@pytest.mark.slow
def test_the_migration_trains_on_the_same_batches_and_evaluates_as_the_estimator(tmp_path) -> None:
    """With constant initial weights both programs are deterministic: the migration prints the loss
    the Estimator printed (its train batches wrap around the 60 rows; its evaluation averages the
    losses of batches of 25, 25 and 10 rows, each counted once), to float32 rounding. The checker
    compares the moving statistics step by step, not the evaluation; this compares the evaluation."""
    from tests.conftest import run_cli
    from tests.runtime.test_fixtures_run_tf1 import run_python

    original = tmp_path / "original.py"
    original.write_text(DETERMINISTIC, encoding="utf-8")
    result = rewrite_source(DETERMINISTIC, path="original.py")
    assert result.status is Status.CHANGED and not result.left, result.left
    # the migration, then the mean over all 60 rows at once: another number, so the weighting matters
    rows = (
        'print("rows %.6f" % graph(features_x=x_data, labels=y_data, is_training=False).numpy())\n'
    )
    migrated = tmp_path / "migrated.py"
    migrated.write_text(result.code + rows, encoding="utf-8")
    old = run_cli("run-tf1", str(original))
    new = run_python(migrated)
    assert old.returncode == 0 and new.returncode == 0, (old.stderr[-2000:], new.stderr[-2000:])
    old_loss = float(old.stdout.split()[-1])
    new_loss, row_weighted = (float(line.split()[-1]) for line in new.stdout.splitlines()[-2:])
    assert abs(old_loss - new_loss) < 1e-5, (old_loss, new_loss)
    assert abs(new_loss - row_weighted) > 1e-4, (new_loss, row_weighted)
