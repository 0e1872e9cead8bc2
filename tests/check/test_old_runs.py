"""Reusing OLD runs between checks (``bn_migrate.check.old_runs``): what misses, what hits, and that a
hit gives the same report as a fresh run.

The fast tests build cache entries from hand-made traces; the slow one runs real checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bn_migrate.check import CheckOptions, check_programs
from bn_migrate.check.api import REUSED
from bn_migrate.check.old_runs import READS_JSON, OldRunCache, ReadRecorder, run_key
from bn_migrate.check.runner import worker_env
from bn_migrate.check.trace import RunStatus, Step, Trace, VariableInfo

PROGRAM = "import numpy as np\nprint(np.load('data.npy').sum())\n"


def program_in(folder: Path, source: str = PROGRAM, name: str = "old.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def key_of(program: Path, args: tuple[str, ...] = (), seed: int = 0) -> dict:
    return run_key(program, args, seed, worker_env())


def fake_run(folder: Path, reads: list[Path], seconds: float = 1.0, value: float = 1.0) -> Path:
    """A worker folder as an ``ok`` OLD run leaves it: trace, output, the files it read."""
    folder.mkdir(parents=True)
    trace = Trace("old", RunStatus("ok", seconds=seconds))
    name = "bn/moving_mean"
    trace.variables[name] = VariableInfo(name, (2,), "moving_mean", 0, False)
    trace.initial["bn/moving_mean"] = np.zeros(2, np.float32)
    trace.steps.append(
        Step({"bn/moving_mean": np.zeros(2, np.float32)}, {"bn/moving_mean": np.full(2, value)})
    )
    trace.save(folder)
    (folder / "stdout.txt").write_text(f"step 0 {value}\n", encoding="utf-8")
    data = {"files": [str(p.resolve()) for p in reads], "folders": []}
    (folder / READS_JSON).write_text(json.dumps(data), encoding="utf-8")
    return folder


# -- the key ------------------------------------------------------------------------------------------
def test_key_changes_with_program_bytes_arguments_seed_and_sibling_modules(tmp_path: Path) -> None:
    program = program_in(tmp_path / "a")
    key = key_of(program)
    assert key_of(program) == key
    assert key_of(program, args=("--steps", "3")) != key
    assert key_of(program, seed=1) != key
    program.write_text(PROGRAM + "# one more line\n", encoding="utf-8")
    assert key_of(program) != key
    program.write_text(PROGRAM, encoding="utf-8")
    assert key_of(program) == key
    # A new sibling module could shadow what the program imports.
    (tmp_path / "a" / "helpers.py").write_text("X = 1\n", encoding="utf-8")
    assert key_of(program) != key
    (tmp_path / "a" / "helpers.py").unlink()
    (tmp_path / "a" / "report.json").write_text("{}", encoding="utf-8")  # not importable
    assert key_of(program) == key


def test_key_is_the_same_for_the_same_program_in_another_folder(tmp_path: Path) -> None:
    assert key_of(program_in(tmp_path / "a")) == key_of(program_in(tmp_path / "b"))
    assert key_of(program_in(tmp_path / "c", name="other.py")) != key_of(program_in(tmp_path / "a"))


def test_key_covers_the_environment_without_writing_it_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = program_in(tmp_path)
    key = key_of(program)
    monkeypatch.setenv("BN_MIGRATE_TEST_SECRET", "s3cr3t-value")
    changed = key_of(program)
    assert changed != key and "s3cr3t-value" not in json.dumps(changed)
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "another test")
    assert key_of(program) == changed
    # The workers of one `pytest -n` run share the suite's cache (tests/conftest.py): their ids differ.
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    assert key_of(program) == changed
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert key_of(program) == changed


# -- what a run read ----------------------------------------------------------------------------------
RECORD = """\
import json, os, sys
from bn_migrate.check.old_runs import ReadRecorder
recorder = ReadRecorder(skip=[sys.argv[2]])
recorder.install()
os.chdir(sys.argv[1])
open("input.txt").read()
open("output.txt", "w").write("written, not read")
os.listdir("inputs")
import sibling
import numpy
open(os.path.join(sys.argv[2], "own.txt"), "w").close()
open(os.path.join(sys.argv[2], "own.txt")).read()
recorder.save(__import__("pathlib").Path(sys.argv[2]))
"""


def test_read_recorder_lists_inputs_not_outputs_nor_the_installation(tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    (work / "inputs").mkdir(parents=True)
    out.mkdir()
    (work / "input.txt").write_text("x", encoding="utf-8")
    (work / "sibling.py").write_text("Y = 2\n", encoding="utf-8")
    script = program_in(tmp_path, RECORD, "record.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(work), *sys.path])}
    subprocess.run([sys.executable, str(script), str(work), str(out)], check=True, env=env)
    reads = json.loads((out / READS_JSON).read_text(encoding="utf-8"))
    assert str((work / "input.txt").resolve()) in reads["files"]
    assert str((work / "sibling.py").resolve()) in reads["files"]
    assert reads["folders"] == [str((work / "inputs").resolve())]
    assert not any(f.endswith(("output.txt", "own.txt")) for f in reads["files"])
    assert not any(f.startswith(os.path.realpath(sys.prefix)) for f in reads["files"])
    assert not any("bn_migrate" in f for f in reads["files"])


def test_read_recorder_ignores_write_only_opens() -> None:
    recorder = ReadRecorder()
    recorder._hook("open", ("/srv/data/in.npy", "rb", 0))
    recorder._hook("open", ("/srv/data/out.npy", "wb", 0))
    recorder._hook("open", ("/srv/data/raw.bin", None, os.O_WRONLY | os.O_CREAT))
    recorder._hook("open", ("/srv/data/both.bin", None, os.O_RDWR))
    assert recorder.files == {"/srv/data/in.npy", "/srv/data/both.bin"}


# -- entries ------------------------------------------------------------------------------------------
def test_entry_is_reused_only_while_the_files_it_read_are_unchanged(tmp_path: Path) -> None:
    program = program_in(tmp_path / "prog")
    data = tmp_path / "prog" / "data.npy"
    np.save(data, np.arange(3.0))
    cache = OldRunCache(tmp_path / "cache")
    key = key_of(program)
    assert cache.lookup(key, program, 300) is None
    runs = [fake_run(tmp_path / f"run{i}", [data, program]) for i in range(2)]
    cache.store(key, program, runs)
    hit = cache.lookup(key, program, 300)
    assert hit is not None and len(hit.folders) == 2
    assert (hit.folders[0] / "stdout.txt").read_text(encoding="utf-8") == "step 0 1.0\n"
    np.save(data, np.arange(3.0) + 1)
    assert cache.lookup(key, program, 300) is None
    np.save(data, np.arange(3.0))
    assert cache.lookup(key, program, 300) is not None
    data.unlink()
    assert cache.lookup(key, program, 300) is None


def test_files_inside_the_program_folder_are_checked_where_the_program_is(tmp_path: Path) -> None:
    first, second = program_in(tmp_path / "a"), program_in(tmp_path / "b")
    np.save(tmp_path / "a" / "data.npy", np.arange(3.0))
    np.save(tmp_path / "b" / "data.npy", np.arange(3.0) * 2)
    cache = OldRunCache(tmp_path / "cache")
    key = key_of(first)
    assert key_of(second) == key
    cache.store(key, first, [fake_run(tmp_path / "run", [tmp_path / "a" / "data.npy"])])
    assert cache.lookup(key, first, 300) is not None
    assert cache.lookup(key, second, 300) is None  # same program, other data beside it
    np.save(tmp_path / "b" / "data.npy", np.arange(3.0))
    assert cache.lookup(key, second, 300) is not None


def test_a_run_slower_than_the_timeout_is_not_reused(tmp_path: Path) -> None:
    program = program_in(tmp_path / "prog")
    cache = OldRunCache(tmp_path / "cache")
    key = key_of(program)
    cache.store(key, program, [fake_run(tmp_path / "run", [program], seconds=50.0)])
    assert cache.lookup(key, program, 300) is not None
    assert cache.lookup(key, program, 40) is None


def test_an_entry_grows_but_never_shrinks(tmp_path: Path) -> None:
    program = program_in(tmp_path / "prog")
    cache = OldRunCache(tmp_path / "cache")
    key = key_of(program)
    one = [fake_run(tmp_path / "one", [program], value=1.0)]
    two = [fake_run(tmp_path / f"two{i}", [program], value=2.0) for i in range(2)]
    cache.store(key, program, one)
    cache.store(key, program, two)
    hit = cache.lookup(key, program, 300)
    assert hit is not None and len(hit.folders) == 2
    cache.store(key, program, one)
    hit = cache.lookup(key, program, 300)
    assert hit is not None and len(hit.folders) == 2
    assert float(hit.first.steps[0].after["bn/moving_mean"][0]) == 2.0
    assert [p.name for p in cache.folder.iterdir()] == [OldRunCache.digest(key)]


def test_runs_that_read_a_vanished_file_are_not_stored(tmp_path: Path) -> None:
    program = program_in(tmp_path / "prog")
    scratch = tmp_path / "scratch.txt"
    scratch.write_text("temporary", encoding="utf-8")
    run = fake_run(tmp_path / "run", [program, scratch])
    scratch.unlink()
    cache = OldRunCache(tmp_path / "cache")
    cache.store(key_of(program), program, [run])
    assert cache.lookup(key_of(program), program, 300) is None


# -- real checks --------------------------------------------------------------------------------------
TINY_OLD = """\
import os
import numpy as np
import tensorflow as tf

x_data = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "x.npy"))
y_data = (x_data.sum(axis=1, keepdims=True) > 2.0).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 4])
y = tf.placeholder(tf.float32, [None, 1])
h = tf.nn.relu(tf.layers.batch_normalization(tf.layers.dense(x, 8, name="dense1"), training=True,
                                             name="bn1"))
logits = tf.layers.dense(h, 1, name="logits")
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        _, value = sess.run([train, loss], {x: x_data, y: y_data})
        print("step", step, value)
"""

TINY_NEW = """\
import os
import numpy as np
import tensorflow as tf

x_data = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "x.npy"))
y_data = (x_data.sum(axis=1, keepdims=True) > 2.0).astype(np.float32)
model = tf.keras.Sequential([
    tf.keras.layers.Input((4,)),
    tf.keras.layers.Dense(8, name="dense1"),
    tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="bn1"),
    tf.keras.layers.Activation("relu"),
    tf.keras.layers.Dense(1, name="logits"),
])
optimizer = tf.keras.optimizers.SGD(0.1)
for step in range(3):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=y_data, logits=model(x_data, training=True)))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    print("step", step, float(loss))
"""


def comparable(result_json: dict) -> dict:
    """A report without the runs' wall-clock seconds (NEW runs afresh on every check) and messages
    (a reused run says so)."""
    runs = [
        {k: v for k, v in r.items() if k not in ("seconds", "message")} for r in result_json["runs"]
    ]
    return {**result_json, "runs": runs}


@pytest.mark.slow
def test_reused_old_runs_give_the_fresh_report_until_an_input_changes(tmp_path: Path) -> None:
    folder = tmp_path / "programs"
    old = program_in(folder, textwrap.dedent(TINY_OLD))
    new = program_in(folder, textwrap.dedent(TINY_NEW), "new.py")
    data = np.random.default_rng(0).random((16, 4), dtype=np.float32)
    np.save(folder / "x.npy", data)
    cache = OldRunCache(tmp_path / "cache")
    one = CheckOptions(timeout=120, old_repeats=1)

    fresh = check_programs(old, new, one, keep_dir=tmp_path / "fresh", old_cache=cache)
    assert fresh.verdict == "equivalent", fresh.render_text()
    assert (cache.hits, cache.misses) == (0, 1)

    reused = check_programs(old, new, one, keep_dir=tmp_path / "reused", old_cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    assert reused.render_text() == fresh.render_text()
    assert comparable(reused.to_json()) == comparable(fresh.to_json())
    assert reused.runs[0].seconds == fresh.runs[0].seconds  # the very same OLD run
    assert [r.message for r in reused.runs] == [REUSED, "", ""]
    assert [r.message for r in fresh.runs] == ["", "", ""]
    for name in ("stdout.txt", "trace.json"):
        assert (tmp_path / "reused" / "old_1" / name).read_bytes() == (
            tmp_path / "fresh" / "old_1" / name
        ).read_bytes()

    # Two runs wanted, one kept: the kept one is reused, one more runs, and the entry grows. (Lockstep
    # is not part of the key; without it the check needs one NEW process.)
    two = CheckOptions(timeout=120, old_repeats=2, lockstep=False)
    grown = check_programs(old, new, two, keep_dir=tmp_path / "grown", old_cache=cache)
    assert (cache.hits, cache.misses) == (2, 1)
    assert grown.verdict == "equivalent" and len(grown.runs) == 3, grown.render_text()
    assert grown.runs[0].seconds == fresh.runs[0].seconds
    assert [r.message for r in grown.runs[:2]] == [REUSED, ""]
    key = run_key(old, (), 0, worker_env())
    entry = cache.lookup(key, old, 120)
    assert entry is not None and len(entry.folders) == 2
    recorded = json.loads((entry.folders[0].parent / "entry.json").read_text(encoding="utf-8"))
    assert "./x.npy" in recorded["files"]  # the worker saw the program read it

    # The data file OLD reads changes, or the program does: its runs cannot be reused.
    np.save(folder / "x.npy", np.random.default_rng(1).random((16, 4), dtype=np.float32))
    assert cache.lookup(key, old, 120) is None
    np.save(folder / "x.npy", data)
    assert cache.lookup(key, old, 120) is not None
    old.write_text(textwrap.dedent(TINY_OLD).replace("range(3)", "range(2)"), encoding="utf-8")
    assert cache.lookup(run_key(old, (), 0, worker_env()), old, 120) is None
