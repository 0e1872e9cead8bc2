"""``check`` leaves nothing running and nothing on disk: not the program's children that moved to
a session of their own, not after SIGTERM; with workers as fresh processes and forked from warm
servers (``bn_migrate.check.forkserver``), whose servers are the only processes left until shut down.
Runs TensorFlow in the workers: slow."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bn_migrate.check.forkserver import FOLDER_VARIABLE, shut_down
from tests.reliability.helpers import cli_env, kill_all, new_token, processes_with

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("workers", ["fresh", "forked"])]

DAEMON = """
import subprocess
subprocess.Popen(["sleep", "600"], start_new_session=True)  # a child in a session of its own
print("started a daemon")
"""
HANG = DAEMON + "import time\ntime.sleep(600)\n"


def check(folder: Path, token: str, workers: str, new: str, *extra: str) -> subprocess.Popen[bytes]:
    (folder / "old.py").write_text("print('old')\n")
    (folder / "new.py").write_text(new)
    (folder / "tmp").mkdir()
    env = cli_env(token)
    env.pop(FOLDER_VARIABLE, None)
    if workers == "forked":
        env[FOLDER_VARIABLE] = str(folder / "servers")
    env["TMPDIR"] = str(folder / "tmp")
    return subprocess.Popen(
        [sys.executable, "-m", "bn_migrate", "check", "old.py", "new.py", *extra],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def servers(folder: Path) -> set[int]:
    return {int(p.read_text()) for p in (folder / "servers").glob("*.pid")}


def left_running(folder: Path, token: str) -> list[int]:
    """The processes of the check still running: all but the servers, which carry the token too (their
    environment is the command's)."""
    return [pid for pid in processes_with(token) if pid not in servers(folder)]


def stop_servers(folder: Path, token: str) -> None:
    shut_down(folder / "servers")
    deadline = time.monotonic() + 30
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(token) == []


def sleeps(token: str) -> list[int]:
    return [pid for pid in processes_with(token) if _command(pid).startswith(b"sleep\0")]


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended since it was listed
        return b""


def test_children_of_new_in_a_session_of_their_own_do_not_survive_check(
    tmp_path: Path, workers: str
) -> None:
    token = new_token()
    proc = check(tmp_path, token, workers, DAEMON, "--old-repeats", "1", "--timeout", "120")
    try:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, err.decode()  # undecided: no batch-norm layer in OLD
        assert left_running(tmp_path, token) == []
        assert list((tmp_path / "tmp").iterdir()) == []
        assert len(servers(tmp_path)) == (2 if workers == "forked" else 0)  # OLD, NEW
        stop_servers(tmp_path, token)
    finally:
        kill_all(processes_with(token))


def test_sigterm_to_check_ends_the_runs_and_removes_the_temporary_folder(
    tmp_path: Path, workers: str
) -> None:
    token = new_token()
    proc = check(tmp_path, token, workers, HANG, "--old-repeats", "1", "--timeout", "600")
    try:
        deadline = time.monotonic() + 240
        while not sleeps(token):  # NEW is running (after OLD's run): its daemon is up
            assert time.monotonic() < deadline and proc.poll() is None, "NEW never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        lines = err.decode().splitlines()
        assert proc.returncode == 143, lines
        assert lines == ["bn-migrate: terminated (SIGTERM): stopped cleanly"]
        time.sleep(0.2)
        assert left_running(tmp_path, token) == []
        assert list((tmp_path / "tmp").iterdir()) == []
        stop_servers(tmp_path, token)
    finally:
        kill_all(processes_with(token))
