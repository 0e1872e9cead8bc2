"""SIGTERM and repeated Ctrl-C: the command stops cleanly (exit 143 / 130, one line, no traceback),
no file is half-written, no temporary file stays, and no process it started is left running."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.reliability.helpers import kill_all, new_token, processes_with, start_script
from tests.rewrite.test_runner import TF1, TF2, temp_files

FILES = 40

REWRITE_SCRIPT = """
import sys
from bn_migrate import cli
from bn_migrate.rewrite import runner
from tests.rewrite.test_runner import slow_transform
runner.resolve_transform = lambda transform: slow_transform
print("started", flush=True)
sys.exit(cli.main(["rewrite", "-j2", {folder!r}]))
"""


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def texts(folder: Path) -> list[str]:
    return [(folder / f"f{i:02}.py").read_text() for i in range(FILES)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(FILES):
        (tmp_path / f"f{i:02}.py").write_text(TF1)
    return tmp_path


def run_rewrite_and_signal(folder: Path, send: Callable[[int], None]) -> tuple[int, str, str]:
    token = new_token()
    proc = start_script(REWRITE_SCRIPT.format(folder=str(folder)), REPO, token)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"started\n"
        wait_for(lambda: TF2 in texts(folder))  # some files are done, others not yet
        send(proc.pid)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err.decode(), token
    finally:
        kill_all(processes_with(token))


def assert_clean_stop(folder: Path, token: str) -> None:
    assert set(texts(folder)) <= {TF1, TF2}  # every file whole: the original or the migration
    assert TF1 in texts(folder)  # stopped before the end
    assert temp_files(folder) == []
    assert processes_with(token) == []


def test_sigterm_to_a_parallel_rewrite(folder: Path) -> None:
    status, err, token = run_rewrite_and_signal(folder, lambda pid: os.kill(pid, signal.SIGTERM))
    assert status == 143, err
    assert "bn-migrate: terminated (SIGTERM)" in err and "Traceback" not in err
    assert_clean_stop(folder, token)


def test_sigterm_to_the_process_group_of_a_parallel_rewrite(folder: Path) -> None:
    status, err, token = run_rewrite_and_signal(folder, lambda pid: os.killpg(pid, signal.SIGTERM))
    assert status == 143, err
    assert "Traceback" not in err
    assert_clean_stop(folder, token)


@pytest.mark.parametrize("gap", [0.0, 0.2])
def test_two_ctrl_c_in_a_row(folder: Path, gap: float) -> None:
    """Passed before too (kept: the clean-up after the first must not be broken by the second)."""

    def twice(pid: int) -> None:
        os.killpg(pid, signal.SIGINT)
        time.sleep(gap)
        os.killpg(pid, signal.SIGINT)

    status, err, token = run_rewrite_and_signal(folder, twice)
    assert status == 130, err
    assert "Traceback" not in err
    assert_clean_stop(folder, token)
