"""When the runner starts worker processes: only when some file needs the engine. A tree whose files
the prefilter leaves (plain Python, TF2 Keras code) costs a read and an ``ast.parse`` per file, less
than a round trip to a worker, so it runs in this process; the results are the same either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.rewrite import runner
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.runner import Mode, RunConfig, run_files
from tests.rewrite.test_runner import make_tree

KERAS = "import tensorflow as tf\n\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3)])\n"
PLAIN = "def add(a, b):\n    return a + b\n"
TF1 = "import tensorflow as tf\n\nx = tf.placeholder(tf.float32, [None, 3])\n"


def _pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each parallel run (its number of files) and run it in this process instead."""
    started: list[int] = []

    def in_process(jobs, settings, workers, record) -> None:  # type: ignore[no-untyped-def]
        started.append(len(jobs))
        for job in jobs:
            record(runner.process_file(job, settings))

    monkeypatch.setattr(runner, "_run_parallel", in_process)
    return started


def test_files_the_prefilter_leaves_run_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _pools(monkeypatch)
    tree = make_tree(tmp_path / "src", {"a.py": KERAS, "b.py": PLAIN, "c/d.py": KERAS})
    result = run_files(
        RunConfig(paths=(tree,), mode=Mode.OUTPUT_DIR, output_dir=tmp_path / "out", jobs=4)
    )
    assert started == []
    assert [o.status for o in result.outcomes] == [Status.UNCHANGED] * 3
    assert (tmp_path / "out/c/d.py").read_text() == KERAS


def test_a_file_needing_the_engine_starts_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _pools(monkeypatch)
    tree = make_tree(tmp_path, {"a.py": KERAS, "b.py": PLAIN, "z.py": TF1})
    result = run_files(RunConfig(paths=(tree,), mode=Mode.CHECK, jobs=4))
    assert started == [3]
    assert [o.status for o in result.outcomes][:2] == [Status.UNCHANGED] * 2
