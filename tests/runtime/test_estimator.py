"""`tf.estimator` under `bn-migrate run-tf1`: the real tensorflow-estimator 2.15, patched on first use
(bn_migrate/runtime/estimator.py). The catalog's `uses_estimator` fixture is run and checked by
tests/check/test_verdicts.py; here the patches themselves, and an Estimator against a hand-written
session loop over the same batches."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bn_migrate.runtime import estimator, legacy
from bn_migrate.runtime.unavailable import (
    LegacyAPIUnavailable,
    UnavailableAttributeError,
    UnavailableCallError,
    UnavailableImportError,
)
from tests.conftest import run_cli


def test_a_lazy_attribute_loads_once_and_reports_a_missing_package_as_unavailable() -> None:
    loads: list[int] = []

    def load() -> object:
        loads.append(1)
        return "the module"

    module = legacy._DelegatingModule("tensorflow", object(), {}, "tf", lazy={"estimator": load})
    assert module.estimator == "the module" and module.estimator == "the module"
    assert loads == [1]

    def missing() -> object:
        raise UnavailableImportError("tf.estimator", estimator.INSTALL_HINT)

    module = legacy._DelegatingModule("tensorflow", object(), {}, "tf", lazy={"estimator": missing})
    with pytest.raises(UnavailableAttributeError) as caught:
        module.estimator  # noqa: B018
    assert caught.value.describe().startswith(
        "tf.estimator is not available: tensorflow-estimator 2.15 is not installed"
    )


@pytest.mark.parametrize(
    ("name", "submodule"),
    [
        ("tensorflow.estimator", ""),
        ("tensorflow.estimator.inputs", "inputs"),
        ("tensorflow.estimator.export", "export"),
        ("tensorflow.estimators", None),
        ("tensorflow_estimator", None),
    ],
)
def test_tensorflow_estimator_imports_alias_the_v1_api(name: str, submodule: str | None) -> None:
    spec = estimator.alias_spec(name)
    if submodule is None:
        assert spec is None
        return
    assert spec is not None and spec.name == name
    assert isinstance(spec.loader, estimator._AliasLoader)
    assert spec.loader.submodule == submodule


def test_removed_modules_import_and_fail_when_used() -> None:
    name = "tensorflow.python.tpu.tpu_embedding"
    module = estimator._removed_module(name, estimator.REMOVED_MODULES[name])
    parameters = module.AdagradParameters  # `from ... import AdagradParameters` works
    assert not isinstance(object(), parameters)
    with pytest.raises(UnavailableCallError) as caught:
        parameters(0.1)
    assert isinstance(caught.value, LegacyAPIUnavailable)
    assert caught.value.describe() == (
        "TPUEstimator's embeddings is not available: TensorFlow 2.16 removed "
        f"{name} (its AdagradParameters), which it needs; this program cannot run unmodified"
    )
    coordinator = estimator._removed_module(
        "tensorflow.python.distribute.estimator_training", "removed"
    )
    assert coordinator.should_run_distribute_coordinator(object()) is False
    with pytest.raises(UnavailableCallError):
        coordinator.init_run_config(object(), {})


ESTIMATOR_VS_SESSION = '''
    """tf.estimator against a hand-written session loop over the same batches."""
    import json
    import sys

    import numpy as np
    import tensorflow as tf
    import tensorflow.compat.v1 as tf1
    from tensorflow.estimator import ModeKeys

    rng = np.random.RandomState(5)
    x_data = rng.rand(48, 3).astype(np.float32)
    y_data = (x_data.sum(axis=1) > 1.5).astype(np.int64)
    W1 = rng.randn(3, 8).astype(np.float32)  # constant initializers: the same start in every graph
    W2 = rng.randn(8, 2).astype(np.float32)
    BATCH = 12


    def build(x, training):
        h = tf.layers.dense(x, 8, kernel_initializer=tf.constant_initializer(W1), name="dense1")
        h = tf.layers.batch_normalization(h, training=training, momentum=0.9, name="bn1")
        kernel = tf.constant_initializer(W2)
        return tf.layers.dense(tf.nn.relu(h), 2, kernel_initializer=kernel, name="logits")


    def train_op_for(loss, global_step):
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            return tf.train.AdamOptimizer(0.05).minimize(loss, global_step)


    def model_fn(features, labels, mode, params):
        assert params == {"unused": 1}
        logits = build(features["x"], mode == ModeKeys.TRAIN)
        if mode == ModeKeys.PREDICT:
            return tf1.estimator.EstimatorSpec(mode, predictions={"logits": logits})
        loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        step = tf1.train.get_global_step()
        train_op = train_op_for(loss, step) if mode == ModeKeys.TRAIN else None
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


    def values(array):
        return np.asarray(array, dtype=np.float32).ravel().tolist()


    model_dir = sys.argv[1]
    config = tf.estimator.RunConfig(save_summary_steps=1)
    estimator = tf.estimator.Estimator(model_fn, model_dir=model_dir, config=config, params={"unused": 1})
    train_input = tf.estimator.inputs.numpy_input_fn(
        {"x": x_data}, y_data, batch_size=BATCH, num_epochs=None, shuffle=False)
    eval_input = tf.estimator.inputs.numpy_input_fn(
        {"x": x_data}, y_data, batch_size=48, num_epochs=1, shuffle=False)
    predict_input = tf.estimator.inputs.numpy_input_fn({"x": x_data[:5]}, batch_size=5, shuffle=False)
    estimator.train(train_input, steps=4)
    estimator.train(train_input, max_steps=7)  # a new graph and input pipeline; restores step 4
    metrics = estimator.evaluate(eval_input)
    again = tf.estimator.Estimator(model_fn, model_dir=model_dir, params={"unused": 1})
    result = {
        "estimator": {
            "variables": {
                name: values(estimator.get_variable_value(name))
                for name in estimator.get_variable_names()
            },
            "eval_loss": float(metrics["loss"]),
            "eval_global_step": int(metrics["global_step"]),
            "eval_loss_new_estimator": float(again.evaluate(eval_input)["loss"]),
            "logits": values([p["logits"] for p in estimator.predict(predict_input)]),
        }
    }

    with tf.Graph().as_default():
        # the static batch shapes the input_fn's queues give
        x, y = tf.placeholder(tf.float32, [BATCH, 3]), tf.placeholder(tf.int64, [BATCH])
        x_all, y_all = tf.placeholder(tf.float32, [48, 3]), tf.placeholder(tf.int64, [48])
        global_step = tf.train.get_or_create_global_step()
        loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=build(x, True))
        train_op = train_op_for(loss, global_step)
        with tf.variable_scope(tf.get_variable_scope(), reuse=True):
            eval_logits = build(x_all, False)
        eval_loss = tf.losses.sparse_softmax_cross_entropy(labels=y_all, logits=eval_logits)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for batch in (0, 1, 2, 3, 0, 1, 2):  # each train() reads its input_fn from the start
                rows = slice(batch * BATCH, (batch + 1) * BATCH)
                sess.run(train_op, {x: x_data[rows], y: y_data[rows]})
            loss_value, logits = sess.run([eval_loss, eval_logits], {x_all: x_data, y_all: y_data})
            result["session"] = {
                "variables": {v.op.name: values(sess.run(v)) for v in tf.global_variables()},
                "eval_loss": float(loss_value),
                "logits": values(logits[:5]),
            }
    print(json.dumps(result))
'''


@pytest.mark.slow
def test_estimator_trains_evaluates_and_predicts_like_a_session_loop(tmp_path: Path) -> None:
    """Bit for bit: every variable after ``train(steps=4)`` then ``train(max_steps=7)`` (each call a new
    graph restoring model_dir's checkpoint, Adam slots included), BN's moving statistics among them,
    equals the hand-written loop's after the same 7 batches; ``evaluate()`` and a new Estimator on the
    same model_dir see the trained statistics (the loss with training=False equals the loop's);
    ``predict()`` gives the loop's logits. The loop's placeholders have the queues' static batch
    shapes: with ``[None, 3]`` TensorFlow picks kernels that differ in the last bit, which Adam turns
    into full-size steps of the bias before BN (its gradient is rounding noise)."""
    program = tmp_path / "estimator_vs_session.py"
    program.write_text(textwrap.dedent(ESTIMATOR_VS_SESSION), encoding="utf-8")
    proc = run_cli("run-tf1", str(program), str(tmp_path / "model_dir"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    trained, loop = result["estimator"], result["session"]
    assert trained["variables"] == loop["variables"]
    assert trained["variables"]["global_step"] == [7.0]
    assert {"bn1/moving_mean", "bn1/moving_variance", "dense1/bias/Adam"} <= set(loop["variables"])
    assert trained["variables"]["bn1/moving_variance"] != [1.0] * 8  # the statistics moved
    assert trained["eval_global_step"] == 7
    assert trained["eval_loss"] == trained["eval_loss_new_estimator"] == loop["eval_loss"]
    assert trained["logits"] == loop["logits"]
