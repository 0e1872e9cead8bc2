"""BN015: TF1 ops TF2 moved or whose keywords it renamed (``api_tables.OP_RENAMES``).

Before/after cases on whole placeholder programs (the file must migrate as a whole), no-op cases (TF2
spellings, same-named functions of other modules, a shadowed ``tf``), cases left for a human, the table
checked against TF 2.21 itself, and one program run on both sides: TF1 (``bn-migrate run-tf1``) and its
rewrite on TF2 print the same values.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    SEED_BEFORE,
    placeholder_program,
    program,
)
from tests.rewrite.helpers import assert_rewrite

RULES = {"BN001", "BN003", "BN004", "BN005", "BN006", "BN007", "BN015"}
BN_LINE = 'h = tf.layers.batch_normalization(h, training=is_training, name="bn")\n'
BN_AFTER = "    h = bn(h, training=is_training)\n"


def before(loss: str) -> str:
    return placeholder_program(PLACEHOLDER_BEFORE, loss=loss)


def after(loss: str) -> str:
    return placeholder_program(PLACEHOLDER_AFTER, loss=loss, optimizer=ADAM_KERAS)


def loss_line(loss: str) -> int:
    """Line of ``loss = ...`` in the TF1 program (for sites left there)."""
    return before(loss).splitlines().index(f"loss = {loss}") + 1


MIGRATED = {
    "moved-math": (
        "tf.reduce_mean(tf.log(1.0 + tf.squared_difference(h, 0.5)))",
        "tf.reduce_mean(tf.math.log(1.0 + tf.math.squared_difference(h, 0.5)))",
    ),
    "reduce-keywords": (
        "tf.reduce_mean(tf.reduce_sum(h, reduction_indices=[1], keep_dims=True))",
        "tf.reduce_mean(tf.reduce_sum(h, axis=[1], keepdims=True))",
    ),
    "cast-of-arg-max": (
        "tf.reduce_mean(h) + tf.reduce_mean(tf.to_float(tf.arg_max(h, 1)))",
        "tf.reduce_mean(h) + tf.reduce_mean(tf.cast(tf.argmax(h, 1), tf.float32))",
    ),
    "cast-with-positional-name": (
        'tf.reduce_mean(tf.to_double(h, "h64"))',
        'tf.reduce_mean(tf.cast(h, tf.float64, "h64"))',
    ),
    "argmax-name-moved": (
        'tf.reduce_mean(h) + tf.to_float(tf.reduce_max(tf.argmax(h, 1, "am")))',
        'tf.reduce_mean(h) + tf.cast(tf.reduce_max(tf.argmax(h, 1, name="am")), tf.float32)',
    ),
    "argmax-dimension": (
        "tf.reduce_mean(h) + tf.to_float(tf.reduce_max(tf.argmin(h, dimension=1)))",
        "tf.reduce_mean(h) + tf.cast(tf.reduce_max(tf.argmin(h, axis=1)), tf.float32)",
    ),
    "count-nonzero": (
        "tf.reduce_mean(h) + tf.to_float(tf.count_nonzero(h, reduction_indices=1, keep_dims=True))",
        "tf.reduce_mean(h) + tf.cast(tf.math.count_nonzero(h, axis=1, keepdims=True), tf.float32)",
    ),
    "multinomial-seed-moved": (
        "tf.reduce_mean(h) + tf.to_float(tf.reduce_sum(tf.multinomial(h, 2, 7)))",
        "tf.reduce_mean(h) + tf.cast(tf.reduce_sum(tf.random.categorical(h, 2, seed=7)), tf.float32)",
    ),
    "moments-name-and-keepdims-moved": (
        'tf.reduce_mean(tf.nn.moments(h, [0], None, "m", True)[1])',
        'tf.reduce_mean(tf.nn.moments(h, [0], None, name="m", keepdims=True)[1])',
    ),
    "softmax-dim": (
        "tf.reduce_mean(tf.nn.log_softmax(h, dim=-1) * tf.nn.softmax(h, dim=-1))",
        "tf.reduce_mean(tf.nn.log_softmax(h, axis=-1) * tf.nn.softmax(h, axis=-1))",
    ),
    "expand-and-squeeze": (
        "tf.reduce_mean(tf.squeeze(tf.expand_dims(h, dim=0), squeeze_dims=[0]))",
        "tf.reduce_mean(tf.squeeze(tf.expand_dims(h, axis=0), axis=[0]))",
    ),
    "dropout-positional-keep-prob": (
        "tf.reduce_mean(tf.nn.dropout(h, 0.8))",
        "tf.reduce_mean(tf.nn.dropout(h, rate=1.0 - 0.8))",
    ),
    "dropout-keep-prob-expression": (
        "tf.reduce_mean(tf.nn.dropout(h, keep_prob=0.5 + 0.25, seed=1))",
        "tf.reduce_mean(tf.nn.dropout(h, rate=1.0 - (0.5 + 0.25), seed=1))",
    ),
    "random-in-the-graph": (
        "tf.reduce_mean(h * tf.random_normal([8, 4], stddev=0.1) + tf.truncated_normal([4]))",
        "tf.reduce_mean(h * tf.random.normal([8, 4], stddev=0.1) + tf.random.truncated_normal([4]))",
    ),
    "random-uniform-defaults": (
        "tf.reduce_mean(h * tf.random_uniform(tf.shape(h)))",
        "tf.reduce_mean(h * tf.random.uniform(tf.shape(h)))",
    ),
    "div-by-float-literal": (
        "tf.reduce_mean(tf.div(h, 2.0) + tf.div(-1.5, h))",
        "tf.reduce_mean(tf.math.divide(h, 2.0) + tf.math.divide(-1.5, h))",
    ),
    "softmax-cross-entropy-v2": (
        "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=h, logits=h, dim=-1))",
        "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=h, logits=h, axis=-1))",
    ),
    "uncalled-same-function": (
        "tf.reduce_mean(tf.map_fn(tf.log_sigmoid, h))",
        "tf.reduce_mean(tf.map_fn(tf.math.log_sigmoid, h))",
    ),
    "compat-v1-chain": (
        "tf.reduce_mean(tf.compat.v1.log(tf.abs(h) + 1.0))",
        "tf.reduce_mean(tf.math.log(tf.abs(h) + 1.0))",
    ),
    "in-top-k-by-position": (  # TF2 swapped predictions and targets: by keyword on both sides
        "tf.reduce_mean(tf.cast(tf.nn.in_top_k(h, tf.argmax(h, 1), 1), tf.float32))",
        "tf.reduce_mean(tf.cast(tf.nn.in_top_k(predictions=h, targets=tf.argmax(h, 1), k=1), "
        "tf.float32))",
    ),
}


@pytest.mark.parametrize("case", list(MIGRATED))
def test_tf1_ops_become_their_tf2_spelling(case: str) -> None:
    tf1, tf2 = MIGRATED[case]
    assert_rewrite(before(tf1), after(tf2), applied_rules=RULES)


def test_ops_in_layer_arguments_survive_hoisting() -> None:
    """A layer hoisted to module level copies its arguments with BN015's edits applied."""
    source = before("tf.reduce_mean(h)").replace(
        BN_LINE, BN_LINE + 'h = tf.layers.dense(h, 2, activation=tf.log_sigmoid, name="out")\n'
    )
    expected = (
        after("tf.reduce_mean(h)")
        .replace(
            'name="bn")\n',
            'name="bn")\nout = tf.keras.layers.Dense(2, activation=tf.math.log_sigmoid, name="out")\n',
        )
        .replace(BN_AFTER, BN_AFTER + "    h = out(h)\n")
        .replace("(hidden, bn)", "(hidden, bn, out)")
    )
    assert_rewrite(source, expected, applied_rules=RULES)


def test_random_initial_value_of_a_variable_is_drawn_once_on_both_sides() -> None:
    variable = "w = tf.Variable(tf.truncated_normal([4], stddev=0.1))\n"
    source = before("tf.reduce_mean(h * w)").replace(BN_LINE, variable + BN_LINE)
    expected = (
        after("tf.reduce_mean(h * w)")
        .replace(
            "bn = tf.keras",
            "w = tf.Variable(tf.random.truncated_normal([4], stddev=0.1))\nbn = tf.keras",
        )
        .replace("variables = [v for", "variables = [w] + [v for")
    )
    assert_rewrite(source, expected, applied_rules=RULES | {"BN014"})


def test_helper_module_without_a_session() -> None:
    """A module of graph-building helpers: its ops are renamed where they are written."""
    assert_rewrite(
        """
        import tensorflow as tf


        def noisy(x, keep):
            return tf.nn.dropout(x + tf.random_normal(tf.shape(x)), keep)
        """,
        """
        import tensorflow as tf


        def noisy(x, keep):
            return tf.nn.dropout(x + tf.random.normal(tf.shape(x)), rate=1.0 - keep)
        """,
        applied_rules={"BN015"},
    )


def test_compat_v1_import_and_module_level_seed() -> None:
    source = (
        before("tf.reduce_mean(tf.log(tf.abs(h) + 1.0), keep_dims=False)")
        .replace("import tensorflow as tf\n", "import tensorflow.compat.v1 as tf\n")
        .replace("data = np.ones", "tf.set_random_seed(0)\ndata = np.ones")
    )
    expected = after("tf.reduce_mean(tf.math.log(tf.abs(h) + 1.0), keepdims=False)").replace(
        "data = np.ones", "tf.random.set_seed(0)\ndata = np.ones"
    )
    assert_rewrite(source, expected, applied_rules=RULES | {"BN010"})


def test_names_imported_from_tensorflow_are_spelled_tf_and_their_import_dropped() -> None:
    source = before("tf.reduce_mean(log(tf.abs(h) + 1.0)) + to_float(arg_max(h, 1))[0]").replace(
        "import tensorflow as tf\n",
        "import tensorflow as tf\nfrom tensorflow import arg_max, log, to_float\n",
    )
    expected = after(
        "tf.reduce_mean(tf.math.log(tf.abs(h) + 1.0)) + tf.cast(tf.argmax(h, 1), tf.float32)[0]"
    )
    assert_rewrite(source, expected, applied_rules=RULES)


def test_tf2_spellings_are_left_alone() -> None:
    """Already-migrated code: nothing to do (and the migrated outputs above are idempotent)."""
    assert_rewrite(
        after(
            "tf.reduce_mean(tf.math.log(tf.abs(h) + 1.0), axis=0, keepdims=True)"
            " + tf.reduce_mean(tf.random.normal([4])) + tf.reduce_mean(tf.nn.dropout(h, rate=0.5))"
        ),
        None,
    )


def test_tf1_calls_with_tf2_arguments_are_not_rule_sites() -> None:
    """``tf.reduce_sum(h, axis=1)`` means the same in TF1 and TF2: BN015 leaves it as written."""
    loss = "tf.reduce_mean(tf.reduce_sum(h, 1, keepdims=True) + tf.argmax(h, axis=1, name='a'))"
    assert_rewrite(before(loss), after(loss), applied_rules=RULES - {"BN015"})


def test_same_named_functions_of_other_modules_are_not_renamed() -> None:
    loss = "tf.reduce_mean(h) * log(2.0) + np.log(3.0) + math.log(4.0) + trace(1.0)"
    header = (
        "import math\n\nimport numpy as np\nimport tensorflow as tf\nfrom numpy import log, trace\n"
    )
    source = before(loss).replace("import numpy as np\nimport tensorflow as tf\n", header)
    expected = after(loss).replace("import numpy as np\nimport tensorflow as tf\n", header)
    assert_rewrite(source, expected, applied_rules=RULES - {"BN015"})


def test_a_shadowed_tf_is_never_guessed() -> None:
    source = "import tensorflow as tf\n\n\ndef scale(tf):\n    return tf.log(2.0)\n"
    result = assert_rewrite(source, None, left=[("BN000", 4)])
    assert not any(site.rule == "BN015" for site in result.left)


LEFT = {
    "div-of-unknown-dtype": "tf.reduce_mean(tf.div(h, h))",
    "keyword-tf1-does-not-take": "tf.reduce_mean(tf.to_float(h, dtype=tf.float64))",
    "star-arguments": "tf.reduce_mean(tf.squared_difference(*[h, h]))[0] + tf.to_float(*[h])[0]",
    "reworked-op-not-called": "tf.reduce_mean(tf.map_fn(tf.to_float, h))",
}
"""TF1-only names BN015 leaves: the engine names the unmigrated reference too (BN000)."""


@pytest.mark.parametrize("case", list(LEFT))
def test_what_cannot_be_proven_leaves_the_file(case: str) -> None:
    loss = LEFT[case]
    line = loss_line(loss)
    result = assert_rewrite(before(loss), None, left=[("BN015", line)])
    assert result.status is Status.SKIPPED


def test_a_call_by_position_past_a_tf2_reordering_leaves_the_file() -> None:
    """``tf.shape(x, "name")``: TF2's second parameter is ``out_type``, not ``name``."""
    loss = 'tf.reduce_mean(h) * tf.cast(tf.shape(h, "size")[0], tf.float32)'
    result = assert_rewrite(before(loss), None, left=[("BN015", loss_line(loss))])
    [site] = result.left
    assert "takes its arguments in another order in TF2 (from position 2)" in site.message
    by_keyword = 'tf.reduce_mean(h) * tf.cast(tf.shape(h, name="size")[0], tf.float32)'
    assert rewrite_source(before(by_keyword)).status is Status.CHANGED


def test_a_keyword_given_twice_leaves_the_file() -> None:
    loss = "tf.reduce_mean(h, axis=0, reduction_indices=0)"
    assert_rewrite(before(loss), None, left=[("BN015", loss_line(loss))])


def test_random_op_tf2_would_run_once_leaves_the_file() -> None:
    """Before the placeholders a statement stays at module level: TF2 would draw its values once,
    TF1 drew new ones at every ``session.run``. In a variable's initial value both draw once."""
    source = before("tf.reduce_mean(h * noise)").replace(
        "x = tf.placeholder", "noise = tf.random_normal([8, 4])\nx = tf.placeholder"
    )
    assert_rewrite(source, None, left=[("BN015", 5)])


def test_tensor_op_in_a_keras_functional_graph_leaves_the_file() -> None:
    """Keras 3 symbolic tensors take TF ops only inside a Lambda layer (as BN009 says for TF2 ops)."""
    source = program(SEED_BEFORE, bn="tf.keras.layers.BatchNormalization()(tf.log(hidden))")
    line = source.splitlines().index(
        "batch_normed = tf.keras.layers.BatchNormalization()(tf.log(hidden))"
    )
    rule_lines = [(site.rule, site.line) for site in rewrite_source(source).left]
    assert ("BN015", line + 1) in rule_lines
    assert rewrite_source(source).code == source


def test_tf1_only_names_exist_only_in_tf1() -> None:
    """The table and TF1_ONLY agree: every name TF2 lacks is TF1-only, every TF2 name is not."""
    for name, spec in api.OP_RENAMES.items():
        assert (spec.target is None) != api.is_tf1_only(name), name


# --- against TensorFlow 2.21 itself --------------------------------------------------------------


def _resolve(module: object, dotted: str) -> object | None:
    for part in dotted.split("."):
        module = getattr(module, part, None)
        if module is None:
            return None
    return module


def _parameters(function: object) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)  # type: ignore[arg-type]


@pytest.mark.slow
def test_table_matches_tensorflow_2_21() -> None:
    """Every target exists in TF 2.21; same-function entries are the very TF1 function object;
    the others' parameter lists are TF1's and TF2's own (contrib's: tf-slim's, which TF1's contrib
    re-exported); TF1-only names are absent from TF2's ``tf``."""
    import tensorflow as tf
    import tf_slim

    problems = []
    for name, spec in api.OP_RENAMES.items():
        short = name.removeprefix("tensorflow.")
        contrib = name.removeprefix(api.SLIM_LAYERS_PREFIX)
        # contrib's layers are tf-slim's (TF 2.21's compat.v1 has no contrib)
        tf1 = _resolve(tf_slim, contrib) if contrib != name else _resolve(tf.compat.v1, short)
        tf2 = _resolve(tf, (spec.target or f"tf.{short}").removeprefix("tf."))
        if tf1 is None or tf2 is None:
            problems.append(f"{name}: missing ({tf1!r}, {tf2!r})")
            continue
        if (_resolve(tf, short) is None) != api.is_tf1_only(name):
            problems.append(f"{name}: TF1_ONLY disagrees with TF 2.21")
        if not spec.positional:
            if tf1 is not tf2:
                problems.append(f"{name}: not the same function as {spec.target}")
            continue
        if _parameters(tf1) != spec.positional:
            problems.append(f"{name}: TF1 parameters {_parameters(tf1)} != {spec.positional}")
        if _parameters(tf2) != spec.target_positional:
            problems.append(
                f"{name}: TF2 parameters {_parameters(tf2)} != {spec.target_positional}"
            )
    assert not problems, "\n".join(problems)


# --- one program on both sides ------------------------------------------------------------------

NUMERIC_PROGRAM = """import numpy as np
import tensorflow as tf

tf.set_random_seed(3)
data = np.random.RandomState(0).normal(size=(8, 3)).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 3])
is_training = tf.placeholder(tf.bool)
keep = tf.placeholder_with_default(1.0, [])
h = tf.layers.batch_normalization(x, training=is_training, name="bn")
p = tf.nn.softmax(h, dim=1)
stats = tf.reduce_sum(tf.log(p + 1.0), reduction_indices=[1], keep_dims=True)
top = tf.to_float(tf.arg_max(h, 1))
noise = tf.random_normal([8, 3], stddev=0.1)
kept = tf.nn.dropout(h, keep)
loss = tf.reduce_mean(tf.squared_difference(kept, 0.5)) + tf.reduce_mean(tf.div(stats, 10.0))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        _, value, s, t, n = sess.run([train_op, loss, stats, top, noise], {x: data, is_training: True})
        print("loss", value)
        print("stats", s.ravel().tolist())
        print("top", t.tolist())
        print("noise", n.shape, n.dtype)
    print("eval", sess.run(loss, {x: data, is_training: False}))
"""
_NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")


def _printed(output: str) -> list[tuple[str, list[float]]]:
    """(the line with its numbers blanked, its numbers) for every line the program printed."""
    lines = [line for line in output.splitlines() if line.split(" ")[0] in _PRINTED]
    return [(_NUMBER.sub("#", line), [float(v) for v in _NUMBER.findall(line)]) for line in lines]


_PRINTED = {"loss", "stats", "top", "noise", "eval"}


@pytest.mark.slow
def test_renamed_ops_compute_what_tf1_computed(tmp_path: Path) -> None:
    old = tmp_path / "tf1_ops.py"
    old.write_text(NUMERIC_PROGRAM)
    result = rewrite_source(NUMERIC_PROGRAM)
    assert result.status is Status.CHANGED, result.left
    assert {"BN015"} <= {site.rule for site in result.applied}
    new = tmp_path / "tf2_ops.py"
    new.write_text(result.code)
    tf1 = subprocess.Popen(
        [sys.executable, "-m", "bn_migrate", "run-tf1", str(old)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tf2 = subprocess.run(
        [sys.executable, str(new)], capture_output=True, text=True, timeout=300, check=False
    )
    tf1_out, tf1_err = tf1.communicate(timeout=300)
    assert tf1.returncode == 0, tf1_err[-3000:]
    assert tf2.returncode == 0, tf2.stderr[-3000:]
    expected, got = _printed(tf1_out), _printed(tf2.stdout)
    assert len(expected) == 3 * 4 + 1, tf1_out
    assert [line for line, _ in got] == [line for line, _ in expected]  # shapes, dtypes, argmax
    for (line, wanted), (_, values) in zip(expected, got):
        assert values == pytest.approx(wanted, rel=1e-5, abs=1e-6), line


GFILE_BEFORE = """import tensorflow as tf

if not tf.gfile.Exists("out"):
    tf.gfile.MakeDirs(dirname="out")
with tf.gfile.GFile("out/a.txt", "w") as f:
    f.write("x")
tf.gfile.Rename("out/a.txt", "out/b.txt", overwrite=True)
print(tf.gfile.ListDirectory("out"), tf.gfile.Glob(filename="out/*"))
for root, dirs, files in tf.gfile.Walk("out"):
    print(root)
"""


def test_gfile_operations_become_tf_io_gfile() -> None:
    """The same operations under TF2's names, keywords renamed (``dirname=`` -> ``path=``); ``Walk``,
    whose ``in_order`` is not ``topdown``, leaves the file. (Measured: the renamed program prints what
    the TF1 one printed under run-tf1.)"""
    source = GFILE_BEFORE.replace(
        'for root, dirs, files in tf.gfile.Walk("out"):\n    print(root)\n', ""
    )
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left
    assert result.code == (
        source.replace('tf.gfile.Exists("out")', 'tf.io.gfile.exists("out")')
        .replace('tf.gfile.MakeDirs(dirname="out")', 'tf.io.gfile.makedirs(path="out")')
        .replace("tf.gfile.GFile(", "tf.io.gfile.GFile(")
        .replace("tf.gfile.Rename(", "tf.io.gfile.rename(")
        .replace("tf.gfile.ListDirectory(", "tf.io.gfile.listdir(")
        .replace('tf.gfile.Glob(filename="out/*")', 'tf.io.gfile.glob(pattern="out/*")')
    )
    assert rewrite_source(result.code).status is Status.UNCHANGED
    walked = rewrite_source(GFILE_BEFORE)
    assert walked.status is Status.SKIPPED and walked.code == GFILE_BEFORE


@pytest.mark.slow
def test_positional_order_table_is_what_tensorflow_2_21_gives() -> None:
    """``api.POSITIONAL_ORDER_CHANGED`` recomputed: for each function of TF 2.21's ``tf_upgrade_v2``
    reorder table that TF2 still has, the first TF1 position whose parameter (after TF2's keyword
    renames) is not TF2's parameter at that position."""
    import tensorflow as tf
    from tensorflow.tools.compatibility import reorders_v2, tf_upgrade_v2

    renames = tf_upgrade_v2.TFAPIChangeSpec().function_keyword_renames
    expected: dict[str, int] = {}
    for name, order in reorders_v2.reorders.items():
        function = _resolve(tf, name.removeprefix("tf."))
        try:
            signature = inspect.signature(function)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        tf2 = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        own = renames.get(name, {})
        for index, parameter in enumerate(order):
            if parameter is None:
                continue
            if index >= len(tf2) or tf2[index] != own.get(parameter, parameter):
                expected["tensorflow." + name.removeprefix("tf.")] = index
                break
    assert expected == api.POSITIONAL_ORDER_CHANGED
