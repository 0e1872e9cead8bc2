"""The runner's speed paths. Worker processes start only when some file needs the engine: a tree whose
files the prefilter leaves (plain Python, TF2 Keras code) costs a read and an ``ast.parse`` per file,
less than a round trip to a worker, so it runs in this process; the results are the same either way.
``--output-dir`` copies what it does not rewrite in the kernel, keeping bytes, mode and times."""

from __future__ import annotations

import errno
import io
import os
import stat
import tokenize
from pathlib import Path

import pytest

from bn_migrate.errors import BnMigrateError
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


# --- the mirror under --output-dir, as a user sees it ---------------------------------------------------


def _mirror(tmp_path: Path, files: dict[str, str | bytes]) -> tuple[Path, Path]:
    return make_tree(tmp_path / "src", files), tmp_path / "out"


def test_the_mirror_keeps_modes_times_and_links(tmp_path: Path) -> None:
    src, out = _mirror(
        tmp_path,
        {"run.py": PLAIN, "pkg/model.py": KERAS, "pkg/data/w.bin": b"\x00\x01", "notes.txt": "n"},
    )
    (src / "run.py").chmod(0o750)
    (src / "pkg/data/w.bin").chmod(0o600)
    os.utime(src / "pkg/model.py", ns=(1_600_000_000_000_000_000, 1_500_000_000_000_000_001))
    (src / "pkg/latest").symlink_to("data/w.bin")
    (src / "dangling").symlink_to("nowhere")
    result = run_files(RunConfig(paths=(src,), mode=Mode.OUTPUT_DIR, output_dir=out))
    assert [o.status for o in result.outcomes] == [Status.UNCHANGED] * 2
    assert stat.S_IMODE((out / "run.py").stat().st_mode) == 0o750
    assert stat.S_IMODE((out / "pkg/data/w.bin").stat().st_mode) == 0o600
    assert (out / "pkg/model.py").stat().st_mtime_ns == 1_500_000_000_000_000_001
    assert os.readlink(out / "pkg/latest") == "data/w.bin"
    assert os.readlink(out / "dangling") == "nowhere"
    mirrored = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert mirrored == sorted(str(p.relative_to(src)) for p in src.rglob("*"))
    # again into the same mirror: links and files are replaced, nothing else is left there
    (src / "notes.txt").write_text("changed")
    run_files(RunConfig(paths=(src,), mode=Mode.OUTPUT_DIR, output_dir=out))
    assert (out / "notes.txt").read_text() == "changed"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == mirrored


def test_a_file_that_cannot_be_read_is_failed_by_name_and_its_folder_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = _mirror(tmp_path, {"a.py": PLAIN, "locked/secret.csv": "1,2\n", "b.txt": "b"})
    real_open = os.open

    def refusing(path, flags, *args):  # type: ignore[no-untyped-def]
        if str(path).endswith("secret.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(runner.os, "open", refusing)
    result = run_files(RunConfig(paths=(src,), mode=Mode.OUTPUT_DIR, output_dir=out))
    failed = [o for o in result.outcomes if o.status is Status.FAILED]
    assert [(o.path, o.error) for o in failed] == [
        (
            str(src / "locked/secret.csv"),
            f"cannot copy to {out / 'locked/secret.csv'}: Permission denied",
        )
    ]
    assert (out / "locked").is_dir() and not os.listdir(out / "locked")  # made, as before
    assert (out / "b.txt").read_text() == "b" and (out / "a.py").read_text() == PLAIN


def test_a_mirror_reaching_an_input_through_a_folder_link_is_refused(tmp_path: Path) -> None:
    """A folder of an existing --output-dir that is a link into the input: the copies there would
    overwrite the input. Refused before anything is written."""
    src, out = _mirror(tmp_path, {"pkg/deep/data.csv": "1\n", "pkg/m.py": PLAIN, "top.txt": "t"})
    (out / "pkg").mkdir(parents=True)
    (out / "pkg/deep").symlink_to(src / "pkg/deep")
    with pytest.raises(BnMigrateError, match=r"would overwrite the input .*data\.csv"):
        run_files(RunConfig(paths=(src,), mode=Mode.OUTPUT_DIR, output_dir=out))
    assert sorted(p.name for p in out.rglob("*")) == ["deep", "pkg"]
    (out / "pkg/deep").unlink()
    (out / "pkg/m.py").symlink_to(src / "pkg/m.py")  # the Python file, by a link to it
    with pytest.raises(BnMigrateError, match=r"would overwrite the input .*m\.py"):
        run_files(RunConfig(paths=(src,), mode=Mode.OUTPUT_DIR, output_dir=out))
    assert (src / "pkg/m.py").read_text() == PLAIN


def test_files_decided_before_the_run_have_the_outcomes_of_the_run(tmp_path: Path) -> None:
    """The files mentioning TensorFlow are decided on the read that chooses the process; when a later
    file needs the engine, that work is dropped and the run decides them: the same outcomes, and
    under --output-dir the same copies, either way."""
    files: dict[str, str | bytes] = {
        "a_keras.py": KERAS,
        "b_plain.py": PLAIN,
        "c_broken.py": "import tensorflow as tf\n(\n",
        "d_warned.py": "import tensorflow as tf\n\n\n@tf.function\ndef step(x):\n"
        "    return tf.keras.layers.BatchNormalization()(x, training=True)\n",
    }
    src, out = _mirror(tmp_path, files)
    here = run_files(RunConfig(paths=(src,), mode=Mode.OUTPUT_DIR, output_dir=out, jobs=1))
    copied = {p.name: p.read_bytes() for p in out.iterdir()}
    make_tree(src, {"z_tf1.py": TF1})
    engine = run_files(RunConfig(paths=(src,), mode=Mode.CHECK, jobs=1))
    assert [(o.path, o.status, o.error, o.warnings) for o in here.outcomes] == [
        (o.path, o.status, o.error, o.warnings) for o in engine.outcomes[:-1]
    ]
    assert [o.status for o in here.outcomes] == [
        Status.UNCHANGED,
        Status.UNCHANGED,
        Status.FAILED,
        Status.UNCHANGED,
    ]
    assert here.outcomes[3].warnings  # BN019, from the decision made before the run
    assert copied == {name: (src / name).read_bytes() for name in files}


@pytest.mark.parametrize("top", [".", "src", "./src/", "src/../src"])
def test_walked_paths_read_as_their_paths_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, top: str
) -> None:
    """The walk builds paths as strings; they read as ``Path`` shows them (``a.py``, not ``./a.py``)."""
    make_tree(tmp_path / "src", {"a.py": PLAIN, "d/b.csv": "1\n", "d/e/c.py": PLAIN})
    (tmp_path / "src/d/link").symlink_to("b.csv")
    monkeypatch.chdir(tmp_path if top != "." else tmp_path / "src")
    found = runner.discover([Path(top)])
    root = Path(top)
    assert [str(job.path) for job in found.jobs] == [str(root / "a.py"), str(root / "d/e/c.py")]
    assert [copy.source for copy in found.copies] == [str(root / "d/b.csv"), str(root / "d/link")]
    assert found.not_followed == [root / "d/link"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x = 1\n",
        b"x = 1",
        b"#!/usr/bin/env python\nx = 1\n",
        b"\n\n# coding: latin-1\nx = 1\n",  # a third line: not a declaration
        b"# -*- coding: ascii -*-\nx = 1\n",
        b"#!/usr/bin/python\n# vim: set fileencoding=latin-1 :\nx = 1\n",
        b"x = 1\r\n# coding: latin-1\r\n",
        b"x = 1\r# coding: latin-1\r",
    ],
)
def test_ascii_files_decode_as_tokenize_says(data: bytes) -> None:
    """ASCII text without ``coding`` in its first two lines skips ``tokenize``: same encoding."""
    expected, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    decoded = runner.decode_source(data)
    assert decoded.encoding == expected
    assert decoded.text == data.decode(expected).replace("\r\n", "\n").replace("\r", "\n")
