"""The runner's speed paths. Worker processes start only when some file needs the engine: a tree whose
files the prefilter leaves (plain Python, TF2 Keras code) costs a read and an ``ast.parse`` per file,
less than a round trip to a worker, so it runs in this process; the results are the same either way.
``--output-dir`` copies what it does not rewrite in the kernel, keeping bytes, mode and times."""

from __future__ import annotations

import errno
import os
import stat
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


def _graphs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each program graph the runner builds (its number of files)."""
    built: list[int] = []
    real = runner.with_program_blockers

    def counting(jobs, paths, **options):  # type: ignore[no-untyped-def]
        built.append(len(jobs))
        return real(jobs, paths, **options)

    monkeypatch.setattr(runner, "with_program_blockers", counting)
    return built


@pytest.mark.parametrize("jobs", [1, 4])
def test_no_program_graph_when_every_file_is_left_unchanged_by_the_prefilter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    built = _graphs(monkeypatch)
    tree = make_tree(tmp_path / "src", {"a.py": KERAS, "b.py": PLAIN, "c/d.py": KERAS})
    result = run_files(RunConfig(paths=(tree,), mode=Mode.CHECK, jobs=jobs))
    assert built == []
    assert [o.status for o in result.outcomes] == [Status.UNCHANGED] * 3
    make_tree(tmp_path / "src", {"train.py": TF1, "model.py": TF1})
    result = run_files(RunConfig(paths=(tree,), mode=Mode.CHECK, jobs=jobs))
    assert built == [5]
    left = [o for o in result.outcomes if o.status is Status.SKIPPED]
    assert {Path(o.path).name for o in left} == {"train.py", "model.py"}


# --- copies under --output-dir ------------------------------------------------------------------------


def test_a_copy_keeps_bytes_mode_and_times(tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(bytes(range(256)) * 5000)
    source.chmod(0o750)
    os.utime(source, ns=(1_600_000_000_000_000_000, 1_500_000_000_123_456_789))
    target = tmp_path / "out" / "data.bin"
    runner.copy_file(source, target)
    assert target.read_bytes() == source.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert target.stat().st_mtime_ns == 1_500_000_000_123_456_789
    assert [p.name for p in target.parent.iterdir()] == ["data.bin"]  # no temporary file left


@pytest.mark.parametrize("unsupported", [(), ("copy_file_range",), ("copy_file_range", "sendfile")])
def test_a_copy_falls_back_when_the_kernel_cannot_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unsupported: tuple[str, ...]
) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    for name in unsupported:
        monkeypatch.setattr(runner.os, name, refuse, raising=False)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 2**20 + 17))
    monkeypatch.setattr(runner, "_CHUNK", 2**20)
    runner.copy_regular_file(source, tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        runner.copy_regular_file(fifo, tmp_path / "copy")


def test_mirror_folders_are_what_resolve_gives(tmp_path: Path) -> None:
    """``MirrorFolders`` (each folder found from its parent's) against ``Path.resolve`` on folders
    reached through links, a link to a file, a dangling link, and folders that do not exist yet."""
    (tmp_path / "data" / "deep").mkdir(parents=True)
    (tmp_path / "data" / "a.py").write_text("x = 1\n")
    (tmp_path / "via").symlink_to(tmp_path / "data")
    (tmp_path / "data" / "file_link").symlink_to(tmp_path / "data" / "a.py")
    (tmp_path / "data" / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "data" / "up").symlink_to(tmp_path)
    rels = ["", "data", "via", "via/deep", "via/up/via/deep", "data/file_link", "data/dangling"]
    rels += ["missing", "missing/below", "data/up/missing", "data/a.py", "data/a.py/below"]
    folders = runner.MirrorFolders(tmp_path)
    expected = [
        str((tmp_path / rel).resolve()) if (tmp_path / rel).is_dir() else None for rel in rels
    ]
    assert [folders.existing(rel) for rel in rels] == expected
    assert [folders.existing(rel) for rel in reversed(rels)] == expected[::-1]  # from the cache


def test_workers_get_the_largest_files_first(tmp_path: Path) -> None:
    tree = make_tree(
        tmp_path, {"a.py": TF1, "b.py": TF1 * 20, "c.py": TF1 * 5, "d.py": TF1 * 20, "e.py": ""}
    )
    jobs = runner.discover([tree]).jobs
    assert [job.path.name for job in jobs] == ["a.py", "b.py", "c.py", "d.py", "e.py"]
    # largest first; equal sizes keep the walk's order
    assert [jobs[i].path.name for i in runner.largest_first(jobs)] == [
        "b.py",
        "d.py",
        "c.py",
        "a.py",
        "e.py",
    ]
    assert runner.job_size(jobs[1]) == len(TF1 * 20)


def test_a_missing_file_counts_as_empty(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, {"a.py": TF1})
    jobs = runner.discover([tree]).jobs
    (tmp_path / "a.py").unlink()
    assert runner.job_size(jobs[0]) == 0


def test_parallel_outcomes_come_in_path_order_whatever_the_schedule(tmp_path: Path) -> None:
    files = {f"m{k}.py": TF1 * (1 + (7 * k) % 5) for k in range(6)}
    tree = make_tree(tmp_path, files)
    seen: list[str] = []
    result = run_files(
        RunConfig(paths=(tree,), mode=Mode.CHECK, jobs=2),
        on_outcome=lambda outcome: seen.append(Path(outcome.path).name),
    )
    assert seen == sorted(files)
    assert [Path(o.path).name for o in result.outcomes] == sorted(files)
    one = run_files(RunConfig(paths=(tree,), mode=Mode.CHECK, jobs=1))
    assert [(o.path, o.status, o.left) for o in one.outcomes] == [
        (o.path, o.status, o.left) for o in result.outcomes
    ]
