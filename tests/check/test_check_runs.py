"""End to end on real TensorFlow: the seed example's verdicts, failure modes, the CLI, JSON and plot."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from bn_migrate.check import Cause, CheckOptions, check_programs
from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.errors import BnMigrateError
from tests.check.fixture_checks import EXPLANATORY
from tests.conftest import EXAMPLES, REPO, run_cli

SEED = EXAMPLES / "seed_question"
FAST = CheckOptions(timeout=120, old_repeats=1, lockstep=False)


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_seed_tf_layers_against_tf2_is_equivalent_with_json_and_plot(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    report, plot = tmp_path / "report.json", tmp_path / "plot.png"
    proc = run_cli(
        "check",
        str(SEED / "tf_layers.py"),
        str(SEED / "tf2.py"),
        "--json",
        str(report),
        "--plot",
        str(plot),
        "--old-cache",
        str(old_cache.folder),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("bn-migrate check: EQUIVALENT (exit 0)")
    assert "batch_normalization_1" in proc.stdout
    data = json.loads(report.read_text())
    assert data["verdict"] == "equivalent" and data["steps"] == {"old": 10, "new": 10}
    assert [row["verdict"] for row in data["layers"]] == ["equivalent", "equivalent"]
    assert all(row["lock_abs"] < 1e-6 for row in data["layers"])
    assert set(data["causes"]) <= {c.value for c in EXPLANATORY}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_seed_plain_keras_never_updated(tmp_path: Path, old_cache: OldRunCache) -> None:
    report = tmp_path / "report.json"
    proc = run_cli(
        "check",
        str(SEED / "keras_no_updates.py"),
        str(SEED / "tf2.py"),
        "--json",
        str(report),
        "--old-cache",
        str(old_cache.folder),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("bn-migrate check: DIFFERENT (exit 1)")
    data = json.loads(report.read_text())
    assert data["causes"] == [Cause.UPDATES_NEVER_RAN.value]
    assert data["steps"] == {"old": 0, "new": 10}
    assert [d["layer"] for d in data["diagnoses"]] == [
        "batch_normalization <-> sequential/batch_normalization",
        "batch_normalization_1 <-> sequential/batch_normalization_1",
    ]


@pytest.mark.slow
def test_seed_updates_added_one_by_one_is_equivalent(old_cache: OldRunCache) -> None:
    result = check_programs(
        SEED / "keras_updates_each.py",
        SEED / "tf2.py",
        CheckOptions(timeout=120),
        old_cache=old_cache,
    )
    assert result.verdict == "equivalent", result.render_text()
    assert len(result.layers) == 2 and result.causes <= EXPLANATORY, result.render_text()


@pytest.mark.slow
def test_new_side_crash_is_undecided_with_traceback_tail(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    new = write(
        tmp_path,
        "new.py",
        """\
        import tensorflow as tf

        def build():
            raise ValueError("the migration is broken")

        build()
        """,
    )
    result = check_programs(SEED / "tf_layers.py", new, FAST, old_cache=old_cache)
    assert result.verdict == "undecided" and result.exit_code == 2
    assert result.reason.startswith("NEW (TF2, free-running) failed: ")
    assert "new.py:4: ValueError: the migration is broken" in result.reason
    assert "ValueError: the migration is broken" in result.traceback_tail
    assert "\n" not in result.reason


@pytest.mark.slow
def test_old_side_unsupported_api_is_undecided(tmp_path: Path) -> None:
    old = write(
        tmp_path,
        "old.py",
        """\
        import tensorflow as tf
        learn = tf.contrib.learn.Estimator
        """,
    )
    proc = run_cli("check", str(old), str(SEED / "tf2.py"), "--old-repeats", "1", "--no-lockstep")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    reason = proc.stderr.strip().splitlines()[-1]
    assert reason.startswith("bn-migrate check: undecided: OLD (TF1) cannot run unmodified: ")
    assert "old.py:2: tf.contrib.learn is not available" in reason
    assert "Traceback tail of the failing program:" in proc.stdout


@pytest.mark.slow
def test_timeout_is_undecided_and_leaves_nothing_running(tmp_path: Path) -> None:
    marker = f"bn-migrate-test-sleeper-{os.getpid()}-{time.monotonic_ns()}"
    old = write(
        tmp_path,
        "old.py",
        f"""\
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{marker}"])
        time.sleep(300)
        """,
    )
    started = time.monotonic()
    result = check_programs(old, SEED / "tf2.py", CheckOptions(timeout=6, old_repeats=2))
    assert time.monotonic() - started < 60
    assert result.verdict == "undecided"
    assert result.reason == "OLD (TF1) timed out: did not finish within 6 s"
    assert processes_with(marker) == []


@pytest.mark.slow
def test_no_training_step_is_undecided(tmp_path: Path) -> None:
    old = write(
        tmp_path,
        "old.py",
        """\
        import tensorflow as tf
        x = tf.placeholder(tf.float32, [None, 3])
        y = tf.layers.batch_normalization(tf.layers.dense(x, 4), training=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
        """,
    )
    new = write(
        tmp_path,
        "new.py",
        """\
        import numpy as np
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Input((3,)), tf.keras.layers.Dense(4),
                                     tf.keras.layers.BatchNormalization()])
        model(np.ones((2, 3), np.float32), training=False)
        """,
    )
    result = check_programs(old, new, FAST)
    assert result.verdict == "undecided"
    assert (
        result.reason
        == "no training step: neither program changed a model variable after initialization"
    )


def test_missing_program_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(BnMigrateError, match="no such file"):
        check_programs(tmp_path / "nope.py", SEED / "tf2.py")
    proc = run_cli("check", str(tmp_path / "nope.py"), str(SEED / "tf2.py"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("bn-migrate: error: OLD program")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_check_help_documents_tolerances_and_exit_codes() -> None:
    proc = run_cli("check", "--help")
    assert proc.returncode == 0
    for text in (
        "--ulps",
        "--atol",
        "--step-rtol",
        "--json",
        "--plot",
        "--timeout",
        "--old-arg",
        "--new-arg",
        "undecided",
        "lockstep",
    ):
        assert text in proc.stdout


@pytest.mark.slow
def test_notebook_runs_its_code_cells(tmp_path: Path) -> None:
    source = (SEED / "tf_layers.py").read_text(encoding="utf-8")
    head, tail = source.split("data = np.random.rand(100, 3)\n")
    cells = [
        ["%matplotlib inline\n", *head.splitlines(keepends=True)],
        ["data = np.random.rand(100, 3)\n", *tail.splitlines(keepends=True)],
    ]
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    old = tmp_path / "seed.ipynb"
    old.write_text(json.dumps(notebook), encoding="utf-8")
    result = check_programs(old, SEED / "tf2.py", FAST)
    assert result.verdict == "equivalent", result.render_text()
    assert result.steps_old == 10


@pytest.mark.slow
def test_notebooks_on_both_sides(tmp_path: Path, old_cache: OldRunCache) -> None:
    # OLD: the TF1 fixture in three cells with magics (one inside the training loop); NEW: its
    # committed migration split into three cells, with a magic too
    fixtures = REPO / "tests" / "fixtures"
    new_source = (fixtures / "tf2" / "layers_mlp_placeholder.py").read_text(encoding="utf-8")
    head, rest = new_source.split("model = Net()\n")
    middle, tail = rest.split("for step in range(8):\n")
    cells = [
        head,
        "%load_ext autoreload\nmodel = Net()\n" + middle,
        "for step in range(8):\n" + tail,
    ]
    new = tmp_path / "new.ipynb"
    new.write_text(
        json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "metadata": {}, "outputs": [], "source": c} for c in cells
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ),
        encoding="utf-8",
    )
    old = fixtures / "notebooks" / "layers_mlp.ipynb"
    # lockstep: Adam turns the dense biases' zero gradients into steps that differ between runtimes
    options = CheckOptions(timeout=240, old_repeats=1)
    result = check_programs(old, new, options, old_cache=old_cache)
    assert result.verdict == "equivalent", result.render_text()
    assert result.steps_old == 8


TINY_TF1 = """\
import numpy as np
import tensorflow as tf

np.random.seed(0)
x_data = np.random.rand(32, 4).astype(np.float32)
y_data = (x_data.sum(axis=1, keepdims=True) > 2.0).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 4])
y = tf.placeholder(tf.float32, [None, 1])
h = tf.layers.dense(x, 8, name="dense1")
h = tf.nn.relu(tf.layers.batch_normalization(h, training=True, name="bn1"))
logits = tf.layers.dense(h, 1, name="logits")
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(4):
        start = (step % 2) * 16
        sess.run(train, {x: x_data[start:start + 16], y: y_data[start:start + 16]})
"""

TINY_TF2_MODEL = """\
import numpy as np
import tensorflow as tf

np.random.seed(0)
x_data = np.random.rand(32, 4).astype(np.float32)
y_data = (x_data.sum(axis=1, keepdims=True) > 2.0).astype(np.float32)
model = tf.keras.Sequential([
    tf.keras.layers.Input((4,)),
    tf.keras.layers.Dense(8, name="dense1"),
    tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="bn1"),
    tf.keras.layers.Activation("relu"),
    tf.keras.layers.Dense(1, name="logits"),
])
optimizer = tf.keras.optimizers.SGD(0.1)
"""

TINY_TF2_LOOPS = {
    "eager_tape": """\
for step in range(4):
    start = (step % 2) * 16
    with tf.GradientTape() as tape:
        logits = model(x_data[start:start + 16], training=True)
        loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=y_data[start:start + 16], logits=logits))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
""",
    "fit": """\
model.compile(optimizer=optimizer, loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(x_data, y_data, batch_size=16, epochs=2, shuffle=False, verbose=0)
""",
    "fit_too_long": """\
model.compile(optimizer=optimizer, loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(x_data, y_data, batch_size=16, epochs=3, shuffle=False, verbose=0)
""",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loop", "verdict"),
    [("eager_tape", "equivalent"), ("fit", "equivalent"), ("fit_too_long", "undecided")],
)
def test_training_step_forms_of_tf2_programs(
    tmp_path: Path, loop: str, verdict: str, old_cache: OldRunCache
) -> None:
    # An eager GradientTape loop (a step spans the tape and apply_gradients) and Keras fit (one step per
    # batch) are both recognized; six steps against four cannot be aligned. The three share one OLD run.
    old = write(tmp_path, "old.py", TINY_TF1)
    new = write(tmp_path, "new.py", TINY_TF2_MODEL + TINY_TF2_LOOPS[loop])
    result = check_programs(old, new, CheckOptions(timeout=120, old_repeats=1), old_cache=old_cache)
    assert result.verdict == verdict, result.render_text()
    if verdict == "equivalent":
        assert result.steps_new == 4 and result.layers[0].steps == 4
    else:
        assert "OLD 4, NEW 6" in result.reason


@pytest.mark.slow
def test_adam_noise_on_a_bias_feeding_bn_is_reported_not_judged(tmp_path: Path) -> None:
    # dense1's bias feeds bn1: its gradient is zero in exact arithmetic. Adam normalizes the numerical
    # noise into steps of ~lr, and an eager loop's noise differs from the TF1 graph's (measured 9e-4).
    old = write(
        tmp_path,
        "old.py",
        TINY_TF1.replace("tf.train.GradientDescentOptimizer(0.1)", "tf.train.AdamOptimizer(0.01)"),
    )
    new = write(
        tmp_path,
        "new.py",
        TINY_TF2_MODEL.replace(
            "tf.keras.optimizers.SGD(0.1)", "tf.keras.optimizers.Adam(0.01, epsilon=1e-8)"
        )
        + TINY_TF2_LOOPS["eager_tape"],
    )
    result = check_programs(old, new, CheckOptions(timeout=120, old_repeats=1))
    assert result.verdict == "equivalent", result.render_text()
    assert any(note.startswith("not judged: sequential/dense1/bias") for note in result.notes)
    dense1_bias = next(v for v in result.variables if v["new"] == "sequential/dense1/bias")
    assert not dense1_bias["lock_ok"]
