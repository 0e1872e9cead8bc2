"""Building bad inputs and watching what a command leaves behind: file digests and processes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import REPO

TF1_PROGRAM = (REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py").read_text()
"""A placeholder-graph TF1 program the codemod migrates completely."""

TOKEN_VARIABLE = "BN_MIGRATE_TEST_TOKEN"


def digests(root: Path) -> dict[str, str]:
    """sha256 of every regular file under ``root`` (FIFOs and other special files by kind only:
    opening a FIFO blocks), and the target of every link."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in [*files, *dirs]:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[rel] = "link:" + os.readlink(path)
            elif stat.S_ISREG(mode):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif not stat.S_ISDIR(mode):
                found[rel] = f"special:{stat.S_IFMT(mode)}"
    return found


def cli_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env[TOKEN_VARIABLE] = token
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def new_token() -> str:
    return uuid.uuid4().hex


def run_cli(
    *args: str, cwd: Path, timeout: float = 30, token: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``python -m bn_migrate ARGS`` with a token in its environment (see :func:`processes_with`)."""
    return subprocess.run(
        [sys.executable, "-m", "bn_migrate", *args],
        capture_output=True,
        cwd=cwd,
        env=cli_env(token or new_token()),
        timeout=timeout,
        check=False,
    )


def start_script(script: str, cwd: Path, token: str) -> subprocess.Popen[bytes]:
    """Run ``python -c script`` in a session of its own (so a test can signal its process group)."""
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=cli_env(token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def processes_with(token: str) -> list[int]:
    """Live processes (not zombies) whose environment holds the test's token: whatever a command
    started and left behind, in whatever session or process group it moved to."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


def kill_all(pids: list[int]) -> None:
    """Clean up after a failing test (only the processes it started, found by its token)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
