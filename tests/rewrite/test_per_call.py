"""BN019: batch-norm layers made at every call of code that runs at every step, reported as warnings.

``CONV_NET`` has the shape of a real 2019 Keras model (a TF1-era ``tf.keras.Model`` whose ``call`` makes
``tf.keras.layers.BatchNormalization(axis=...)(x)`` for two branches, with ``tf.set_random_seed`` at
module level), written here from scratch. The cases below pin which constructions are reported (and why)
and which are not; the runner tests check the warnings reach every output without changing a decision;
the slow test measures, on TensorFlow, the consequence the message states.
"""

from __future__ import annotations

import ast
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bn_migrate.rewrite.analysis import per_call
from bn_migrate.rewrite.analysis.per_call import EXAMPLES, PER_CALL_RULE, per_call_layers
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.formats import OutputFormat
from bn_migrate.rewrite.report import EXIT_CHANGES, EXIT_OK
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.runner import Mode, RunConfig, engine_transform, rewrite_command
from bn_migrate.rewrite.selection import RuleSelection
from tests.rewrite.test_notebooks import notebook

CONV_NET = '''\
"""A 3-D convolutional network (the shape of a 2019 L2HMC model)."""
import numpy as np
import tensorflow as tf

tf.set_random_seed(1234)


class ConvNet3D(tf.keras.Model):
    def __init__(self, model_name, use_bn=True):
        super(ConvNet3D, self).__init__(name=model_name)
        self.use_bn = use_bn
        self.bn_axis = -1
        self.conv_x1 = tf.keras.layers.Conv3D(2, 3, padding="same")
        self.conv_v1 = tf.keras.layers.Conv3D(2, 3, padding="same")
        self.flatten = tf.keras.layers.Flatten()
        self.x_layer = tf.keras.layers.Dense(8)
        self.v_layer = tf.keras.layers.Dense(8)

    def reshape_5D(self, tensor):
        return tf.expand_dims(tensor, -1)

    def call(self, inputs):
        v, x = inputs
        with tf.name_scope("reshape"):
            v = self.reshape_5D(v)
            x = self.reshape_5D(x)
        with tf.name_scope("x"):
            x = self.conv_x1(x)
            if self.use_bn:
                x = tf.keras.layers.BatchNormalization(axis=self.bn_axis)(x)
            x = tf.nn.relu(self.x_layer(self.flatten(x)))
        with tf.name_scope("v"):
            v = self.conv_v1(v)
            if self.use_bn:
                v = tf.keras.layers.BatchNormalization(axis=self.bn_axis)(v)
            v = tf.nn.relu(self.v_layer(self.flatten(v)))
        return x + v
'''
CONV_NET_SITES = [(30, 21), (35, 21)]


def sites(source: str) -> list[tuple[int, int]]:
    source = textwrap.dedent(source)
    return [(layer.line, layer.col) for layer in per_call_layers(ast.parse(source), source)]


def messages(source: str) -> list[str]:
    source = textwrap.dedent(source)
    return [layer.message for layer in per_call_layers(ast.parse(source), source)]


# --- the documented examples and the real shape -----------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"lines{list(e.lines)}")
def test_documented_examples(example: per_call.Example) -> None:
    assert [line for line, _ in sites(example.source)] == list(example.lines)


def test_conv_net_call_reports_both_branches() -> None:
    assert sites(CONV_NET) == CONV_NET_SITES
    first = messages(CONV_NET)[0]
    assert first.startswith(
        "`tf.keras.layers.BatchNormalization` is made at every call of `ConvNet3D.call`, which runs "
        "at every call of the Keras layer `ConvNet3D`: run eagerly, every call makes a new layer "
        "whose moving mean and variance start at 0 and 1 and never accumulate"
    )
    assert "under tf.function (model.fit, @tf.function) the first call raises ValueError" in first
    assert first.endswith(
        "make it once in `ConvNet3D.__init__` (self.bn = tf.keras.layers.BatchNormalization(...)) "
        "and call that layer here"
    )


def test_conv_net_is_migrated_and_warned() -> None:
    """The TF1 line is migrated; the Keras layers are TF2 code the rewrite keeps, with a warning."""
    result = rewrite_source(CONV_NET)
    assert result.status is Status.CHANGED
    assert "tf.random.set_seed(1234)" in result.code
    assert result.code.count("tf.keras.layers.BatchNormalization(axis=self.bn_axis)(") == 2
    assert [(s.rule, s.line, s.col) for s in result.warnings if s.rule == PER_CALL_RULE] == [
        (PER_CALL_RULE, line, col) for line, col in CONV_NET_SITES
    ]
    # and tf.set_random_seed's own warning (``tests/rewrite/test_warnings_kept.py``)
    assert [s.rule for s in result.warnings if s.rule != PER_CALL_RULE] == ["BN015"]
    assert not result.left


def test_conv_net_with_layers_made_once_is_not_reported() -> None:
    fixed = CONV_NET.replace(
        "        self.flatten = tf.keras.layers.Flatten()\n",
        "        self.flatten = tf.keras.layers.Flatten()\n"
        "        self.bn_x = tf.keras.layers.BatchNormalization(axis=self.bn_axis)\n"
        "        self.bn_v = tf.keras.layers.BatchNormalization(axis=self.bn_axis)\n",
    )
    fixed = fixed.replace(
        "tf.keras.layers.BatchNormalization(axis=self.bn_axis)(x)", "self.bn_x(x)"
    )
    fixed = fixed.replace(
        "tf.keras.layers.BatchNormalization(axis=self.bn_axis)(v)", "self.bn_v(v)"
    )
    assert "BatchNormalization" in fixed
    assert sites(fixed) == []
    assert [w for w in rewrite_source(fixed).warnings if w.rule == PER_CALL_RULE] == []


# --- what runs at every step ------------------------------------------------------------------------


def test_tf_function_says_the_first_call_raises() -> None:
    source = """\
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def step(x):
            return tf.keras.layers.BatchNormalization()(x, training=True)
        """
    assert sites(source) == [(5, 12)]
    (message,) = messages(source)
    assert "`step`, which is a tf.function: under tf.function the first call raises ValueError" in (
        message
    )
    assert "run eagerly" not in message
    assert message.endswith("make it once outside `step` and pass it in or keep it on a layer")


def test_tf_function_wrapper_and_what_it_calls() -> None:
    source = """\
        import tensorflow as tf

        def normalize(x):
            bn = tf.keras.layers.BatchNormalization()
            return bn(x, training=True)

        def step(x):
            return normalize(x) * 2

        step = tf.function(step)
        """
    assert sites(source) == [(4, 10)]
    (message,) = messages(source)
    assert "`normalize`, which is called from `step` (line 8), which is a tf.function" in message


def test_train_step_with_a_tape_and_the_helpers_it_calls() -> None:
    source = """\
        import tensorflow as tf

        class Trainer:
            def _norm(self, x):
                return tf.keras.layers.BatchNormalization()(x, training=True)

            def step(self, model, x):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(model(self._norm(x)))
                return tape.gradient(loss, model.trainable_variables)
        """
    assert sites(source) == [(5, 16)]
    (message,) = messages(source)
    assert "is called from `Trainer.step` (line 9), which is a train step" in message
    assert "make it once in `Trainer.__init__`" in message


def test_function_called_in_a_training_loop() -> None:
    source = """\
        import tensorflow as tf

        def forward(model, x):
            return tf.keras.layers.BatchNormalization()(model(x), training=True)

        for step in range(10):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(forward(model, x))
            grads = tape.gradient(loss, model.trainable_variables)
        """
    assert sites(source) == [(4, 12)]
    assert "is called in a training loop (line 6)" in messages(source)[0]


def test_loop_calling_a_train_step_calls_the_other_functions_every_step_too() -> None:
    source = """\
        import tensorflow as tf

        @tf.function
        def train_step(x):
            return x

        def augment(x):
            return tf.keras.layers.BatchNormalization()(x, training=True)

        for batch in data:
            train_step(augment(batch))
        """
    assert sites(source) == [(8, 12)]


def test_layer_made_in_a_training_loop_body() -> None:
    source = """\
        import tensorflow as tf

        def train(model, data):
            for x in data:
                with tf.GradientTape() as tape:
                    h = tf.keras.layers.BatchNormalization()(model(x), training=True)
        """
    assert sites(source) == [(6, 17)]
    assert messages(source)[0].endswith("make it once before the loop and call that layer here")


def test_keras_classes_through_local_bases_modules_and_nested_helpers() -> None:
    source = """\
        import tensorflow as tf
        import keras

        class Base(keras.layers.Layer):
            pass

        class Block(Base):
            def call(self, x):
                def norm(t):
                    return keras.layers.BatchNormalization()(t)
                return norm(x)

        class Stats(tf.Module):
            def __call__(self, x):
                return tf.keras.layers.BatchNormalization()(x)

        class Net(tf.keras.Model):
            def train_step(self, data):
                return tf.keras.layers.BatchNormalization()(data)
        """
    assert [line for line, _ in sites(source)] == [10, 15, 19]
    found = messages(source)
    assert "`Block.call.norm`, which is called from `Block.call` (line 11)" in found[0]
    assert "runs at every call of the Keras layer `Stats`" in found[1]
    assert "runs at every batch of the Keras model `Net`" in found[2]


@pytest.mark.parametrize(
    ("imports", "made"),
    [
        ("import tensorflow.compat.v1 as tf1", "tf1.keras.layers.BatchNormalization()"),
        ("import tensorflow.compat.v1 as tf1", "tf1.layers.BatchNormalization()"),
        ("from tensorflow.keras import layers as L", "L.BatchNormalization()"),
        (
            "from tensorflow.keras.layers import BatchNormalization as BN",
            "BN()",
        ),
        ("from keras import layers", "layers.BatchNormalization()"),
        ("import tf_keras", "tf_keras.layers.BatchNormalization()"),
    ],
)
def test_names_are_resolved_by_what_they_refer_to(imports: str, made: str) -> None:
    source = f"import tensorflow as tf\n{imports}\n\n\nclass Net(tf.keras.Model):\n"
    source += f"    def call(self, x):\n        return {made}(x)\n"
    assert sites(source) == [(7, 16)]


def test_tape_and_tf_function_aliases() -> None:
    source = """\
        from tensorflow import GradientTape as Tape, function as compiled
        from tensorflow.keras.layers import BatchNormalization

        def a(x):
            with Tape() as tape:
                return BatchNormalization()(x)

        @compiled
        def b(x):
            return BatchNormalization()(x)
        """
    assert [line for line, _ in sites(source)] == [6, 10]
    assert "under tf.function the first call raises" in messages(source)[1]


# --- what does not run at every step ----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        # made once: __init__, build (even when call runs it), module level, a function called once
        """\
        import tensorflow as tf

        class Net(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization()
                self.blocks = [tf.keras.layers.BatchNormalization() for _ in range(3)]

            def build(self, shape):
                self.extra = tf.keras.layers.BatchNormalization()

            def call(self, x):
                if not self.built:
                    self.build(x.shape)
                return self.bn(x)
        """,
        """\
        import tensorflow as tf

        bn = tf.keras.layers.BatchNormalization()

        def make_model():
            inputs = tf.keras.Input((4,))
            return tf.keras.Model(inputs, tf.keras.layers.BatchNormalization()(inputs))

        model = make_model()
        """,
        # a loop that builds a model (no tape, no step in it)
        """\
        import tensorflow as tf

        def block(x):
            return tf.keras.layers.BatchNormalization()(x)

        def build(inputs):
            x = inputs
            for _ in range(4):
                x = block(x)
            return tf.keras.Model(inputs, x)
        """,
        # stored on the object: often made once behind a check
        """\
        import tensorflow as tf

        class Net(tf.keras.layers.Layer):
            def call(self, x):
                if self.bn is None:
                    self.bn = tf.keras.layers.BatchNormalization()
                if "v" not in self.cache:
                    self.cache["v"] = tf.keras.layers.BatchNormalization()
                self.extra.append(tf.keras.layers.BatchNormalization())
                return self.bn(x)
        """,
        # not Keras: a class of its own, a local class named BatchNormalization, a shadowed tf
        """\
        import tensorflow as tf

        class BatchNormalization:
            pass

        class Plain:
            def call(self, x):
                return tf.keras.layers.BatchNormalization()(x)

        class Net(tf.keras.Model):
            def call(self, x):
                return BatchNormalization()
        """,
        """\
        import tensorflow as tf

        class Net(tf.keras.Model):
            def call(self, x, tf=None):
                return tf.keras.layers.BatchNormalization()(x)
        """,
        # a training function called once: its layer is made before its loop
        """\
        import tensorflow as tf

        def train(model, data):
            bn = tf.keras.layers.BatchNormalization()
            for x in data:
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(bn(model(x), training=True))

        train(model, data)
        """,
        # a base class from another module is not followed; a tape outside any loop calls once
        """\
        import tensorflow as tf
        from mylib import Base

        class Net(Base):
            def call(self, x):
                return tf.keras.layers.BatchNormalization()(x)

        def forward(x):
            return tf.keras.layers.BatchNormalization()(x)

        with tf.GradientTape() as tape:
            y = forward(x)
        """,
    ],
    ids=[
        "init-build",
        "module-level-once",
        "build-loop",
        "stored",
        "not-keras",
        "shadowed",
        "train-function",
        "other",
    ],
)
def test_not_reported(source: str) -> None:
    assert sites(source) == []


def test_columns_count_characters() -> None:
    source = (
        "import tensorflow as tf\n\n\nclass Net(tf.keras.Model):\n"
        '    def call(self, x):\n        é = "ü"; return tf.keras.layers.BatchNormalization()(x)\n'
    )
    assert sites(source) == [(6, 25)]  # 27 in UTF-8 bytes, as ``ast`` counts
    assert source.splitlines()[5][24:].startswith("tf.keras")


def test_files_without_the_class_name_are_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    def walk(*args: object) -> None:
        raise AssertionError("walked")

    monkeypatch.setattr(per_call._Facts, "collect", walk)
    source = "import tensorflow as tf\n\nclass Net(tf.keras.Model):\n    def call(self, x):\n"
    source += "        return tf.keras.layers.Dense(4)(x)\n"
    assert per_call_layers(ast.parse(source), source) == []
    with pytest.raises(AssertionError, match="walked"):
        per_call_layers(
            ast.parse(source + "# BatchNormalization\n"), source + "# BatchNormalization\n"
        )


# --- through the runner: every output, no decision changed --------------------------------------------


def run(
    *paths: Path,
    mode: Mode = Mode.CHECK,
    output_format: OutputFormat = OutputFormat.TEXT,
    selection: RuleSelection | None = None,
) -> tuple[int, str, str]:
    """``bn-migrate rewrite PATHS`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    config = RunConfig(
        paths=tuple(paths), mode=mode, jobs=1, selection=selection or RuleSelection()
    )
    status = rewrite_command(config, stdout=out, stderr=err, output_format=output_format)
    return status, out.getvalue(), err.getvalue()


KERAS_ONLY = """\
import keras


class Net(keras.Model):
    def call(self, x):
        return keras.layers.BatchNormalization()(x)
"""


def test_unchanged_files_carry_warnings_and_check_still_passes(tmp_path: Path) -> None:
    tf2 = tmp_path / "tf2.py"
    tf2.write_text(EXAMPLES[0].source, encoding="utf-8")
    (tmp_path / "keras_only.py").write_text(KERAS_ONLY, encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    status, _, err = run(tmp_path)
    assert status == EXIT_OK, err
    lines = err.splitlines()
    assert any(line.startswith(f"{tmp_path / 'keras_only.py'}:6:16 BN019 ") for line in lines)
    assert any(line.startswith(f"{tf2}:11:13 BN019 `tf.keras.layers.") for line in lines)
    assert lines[-1] == "0 files would change, 2 unchanged, 0 skipped, 0 failed; 2 warnings"
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_warnings_sit_beside_a_migration_and_left_sites(tmp_path: Path) -> None:
    net = tmp_path / "conv_net.py"
    net.write_text(CONV_NET, encoding="utf-8")
    status, _, err = run(net)
    assert status == EXIT_CHANGES  # the TF1 line would change; the warnings add nothing to it
    assert f"would rewrite {net}" in err
    assert [line.split(" BN019 ")[0] for line in err.splitlines() if " BN019 " in line] == [
        f"{net}:30:21",
        f"{net}:35:21",
    ]
    status, _, err = run(net, mode=Mode.WRITE)
    assert status == EXIT_OK and "tf.random.set_seed(1234)" in net.read_text(encoding="utf-8")
    assert err.count(" BN019 ") == 2  # still made at every call after the migration


def test_left_files_keep_their_warnings() -> None:
    source = CONV_NET.replace("tf.set_random_seed(1234)", "tf.set_random_seed(1234)\ntf.Session()")
    result = engine_transform(source, path="net.py")
    assert result.status is Status.SKIPPED and result.left
    assert [s.line for s in result.warnings] == [31, 36]


def test_json_sarif_github_and_ignore(tmp_path: Path) -> None:
    tf2 = tmp_path / "tf2.py"
    tf2.write_text(EXAMPLES[0].source, encoding="utf-8")
    status, out, _ = run(tf2, output_format=OutputFormat.JSON)
    (entry,) = json.loads(out)["files"]
    assert entry["status"] == "unchanged" and entry["left"] == []
    assert [(w["rule"], w["line"], w["col"]) for w in entry["warnings"]] == [("BN019", 11, 13)]
    status, out, _ = run(tf2, output_format=OutputFormat.SARIF)
    (result,) = json.loads(out)["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("BN019", "warning")
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["name"] for r in rules] == ["per-call-layers"]
    status, out, _ = run(tf2, output_format=OutputFormat.GITHUB)
    assert out.startswith(f"::warning file={tf2},line=11,col=13,title=BN019::")
    status, out, err = run(tf2, selection=RuleSelection(ignore=("BN019",)))
    assert status == EXIT_OK and "BN019" not in err and "warning" not in err


def test_notebook_warnings_are_placed_by_cell(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "nb.ipynb", "import tensorflow as tf\n", EXAMPLES[0].source[24:])
    status, _, err = run(nb)
    assert status == EXIT_OK
    assert f"{nb}:cell 3:line 10:col 13 BN019 " in err  # cell 1 is markdown


# --- the consequence the message states, measured ---------------------------------------------------


@pytest.mark.slow
def test_the_stated_consequence_holds_on_tensorflow() -> None:
    """EXAMPLES[0] run eagerly: a new layer at every call, each taking one update (statistics never
    accumulate), inference at 0/1, gamma/beta outside the model; under tf.function: ValueError at the
    first call. EXAMPLES[1] (made once) accumulates three updates and trains gamma/beta."""
    import numpy as np
    import tensorflow as tf

    x = (np.random.default_rng(0).normal(size=(8, 5, 5, 1)) * 3 + 5).astype("float32")
    made: list[tf.keras.layers.BatchNormalization] = []
    original = tf.keras.layers.BatchNormalization.__init__

    def counting(self: tf.keras.layers.BatchNormalization, *args: object, **kwargs: object) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    def run(example: per_call.Example) -> tuple[tf.keras.Model, np.ndarray]:
        made.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tf.keras.layers.BatchNormalization, "__init__", counting)
            net = example_model(example)
            for _ in range(3):
                net(x, training=True)
            return net, net(x, training=False).numpy()

    net, prediction = run(EXAMPLES[0])
    conv = net.conv(x).numpy()
    batch_mean = conv.mean(axis=(0, 1, 2))
    assert len(made) >= 4  # one per call (Keras 3 also runs ``call`` once to build the model)
    ratios = [float((bn.moving_mean.numpy() / batch_mean).max()) for bn in made]
    assert max(ratios) == pytest.approx(0.01, abs=1e-4)  # one update each, momentum 0.99
    assert np.allclose(prediction, np.maximum(conv / np.sqrt(1.001), 0), atol=1e-5)  # mean 0, var 1
    assert not any("gamma" in v.path or "beta" in v.path for v in net.trainable_variables)
    with pytest.raises(ValueError, match=r"singleton tf\.Variables created on the first call"):
        tf.function(example_model(EXAMPLES[0]))(x, training=True)

    net, _ = run(EXAMPLES[1])
    assert len(made) == 1
    ratio = float((made[0].moving_mean.numpy() / net.conv(x).numpy().mean(axis=(0, 1, 2))).max())
    assert ratio == pytest.approx(1 - 0.99**3, abs=1e-4)
    assert any("gamma" in v.path for v in net.trainable_variables)


def example_model(example: per_call.Example) -> Any:
    """The ``ConvBlock`` model an example defines."""
    namespace: dict[str, Any] = {}
    exec(compile(example.source, "example.py", "exec"), namespace)
    return namespace["ConvBlock"]()
