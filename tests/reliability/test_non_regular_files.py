"""FIFOs, sockets and devices where a Python file is expected: skipped with a reason, never opened
(opening a FIFO for reading blocks until a writer comes)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bn_migrate.cli import main
from bn_migrate.errors import BnMigrateError
from bn_migrate.runtime.script import load_program
from tests.reliability.helpers import TF1_PROGRAM, digests, run_cli

SKIPPED = "skipped: not a regular file"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(TF1_PROGRAM)
    (src / "data.csv").write_text("1,2\n")
    os.mkfifo(src / "pipe.py")
    return tmp_path


def test_a_fifo_named_on_the_command_line_is_skipped(tree: Path) -> None:
    before = digests(tree)
    done = run_cli("rewrite", "-j1", "src/pipe.py", cwd=tree)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert f"src/pipe.py: {SKIPPED}" in err.splitlines()
    assert digests(tree) == before


def test_a_py_fifo_in_a_folder_is_skipped_and_the_rest_migrated(tree: Path) -> None:
    done = run_cli("rewrite", "-j1", "src", cwd=tree)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert f"src/pipe.py: {SKIPPED}" in err.splitlines()
    assert "rewrote src/train.py" in err
    assert (tree / "src" / "pipe.py").is_fifo()


def test_check_mode_reports_a_fifo_as_not_checked(tree: Path) -> None:
    (tree / "src" / "train.py").write_text("import tensorflow as tf\n")
    done = run_cli("rewrite", "-j1", "--check", "src", cwd=tree)
    assert done.returncode == 1  # a file the gate could not look at does not pass it
    assert f"src/pipe.py: {SKIPPED}" in done.stderr.decode().splitlines()


def test_special_files_under_output_dir_are_skipped_not_copied(tree: Path) -> None:
    os.mkfifo(tree / "src" / "queue")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tree / "src" / "sock"))
        before = digests(tree / "src")
        done = run_cli("rewrite", "-j1", "src", "--output-dir", "out", cwd=tree)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    for name in ("queue", "sock", "pipe.py"):
        assert f"src/{name}: {SKIPPED}" in err.splitlines()
        assert not os.path.lexists(tree / "out" / name)
    assert (tree / "out" / "data.csv").read_text() == "1,2\n"
    assert "migrated src/train.py -> " in err
    assert digests(tree / "src") == before


def test_a_device_named_on_the_command_line_is_skipped(tmp_path: Path) -> None:
    done = run_cli("rewrite", "-j1", "--diff", "/dev/zero", cwd=tmp_path)  # reading it never ends
    assert done.returncode == 0
    assert f"/dev/zero: {SKIPPED}" in done.stderr.decode().splitlines()


def test_run_tf1_and_check_refuse_a_fifo_without_opening_it(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BnMigrateError, match=r"pipe\.py: not a regular file"):
        load_program(tree / "src" / "pipe.py")
    assert main(["check", str(tree / "src" / "pipe.py"), str(tree / "src" / "train.py")]) == 2
    assert capsys.readouterr().err.endswith("pipe.py: not a regular file\n")
