"""``check`` leaves nothing running and nothing on disk: not the program's children that moved to
a session of their own, not after SIGTERM. Runs TensorFlow in the workers: slow."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import cli_env, kill_all, new_token, processes_with

pytestmark = pytest.mark.slow

DAEMON = """
import subprocess
subprocess.Popen(["sleep", "600"], start_new_session=True)  # a child in a session of its own
print("started a daemon")
"""
HANG = DAEMON + "import time\ntime.sleep(600)\n"


def check(folder: Path, token: str, new: str, *extra: str) -> subprocess.Popen[bytes]:
    (folder / "old.py").write_text("print('old')\n")
    (folder / "new.py").write_text(new)
    (folder / "tmp").mkdir()
    env = cli_env(token)
    env["TMPDIR"] = str(folder / "tmp")
    return subprocess.Popen(
        [sys.executable, "-m", "bn_migrate", "check", "old.py", "new.py", *extra],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def sleeps(token: str) -> list[int]:
    return [
        pid
        for pid in processes_with(token)
        if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0")
    ]


def test_children_of_new_in_a_session_of_their_own_do_not_survive_check(tmp_path: Path) -> None:
    token = new_token()
    proc = check(tmp_path, token, DAEMON, "--old-repeats", "1", "--timeout", "120")
    try:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, err.decode()  # undecided: no batch-norm layer in OLD
        assert processes_with(token) == []
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        kill_all(processes_with(token))


def test_sigterm_to_check_ends_the_runs_and_removes_the_temporary_folder(tmp_path: Path) -> None:
    token = new_token()
    proc = check(tmp_path, token, HANG, "--old-repeats", "1", "--timeout", "600")
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
        assert processes_with(token) == []
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        kill_all(processes_with(token))
