"""The hook of ``.pre-commit-hooks.yaml`` run by a real ``pre-commit run`` in a temporary git repository.

The repository's ``.pre-commit-config.yaml`` points at this checkout with ``rev`` = its HEAD commit, as a
user's points at a tag: pre-commit clones it and installs it (``language: python``) in an environment of
its own, with libcst from pip's cache or the index. Slow: about half a minute to build that environment.
The hook file must be committed for pre-commit to see it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

TF1_LEFT = (
    "import tensorflow as tf\n"
    "x = tf.placeholder(tf.float32, [None, 4])\n"
    "h = tf.layers.batch_normalization(x, training=True)\n"
)
TF2 = (
    "import tensorflow as tf\n"
    "\n"
    "layer = tf.keras.layers.BatchNormalization(momentum=0.99)\n"
    "y = layer(tf.zeros([2, 4]), training=True)\n"
)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


@pytest.fixture
def hooked_repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of bn-migrate")
    committed = subprocess.run(
        ["git", "cat-file", "-e", "HEAD:.pre-commit-hooks.yaml"], cwd=REPO, timeout=60
    )
    if committed.returncode != 0:
        pytest.skip(".pre-commit-hooks.yaml is not committed in this checkout")
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "user.name", "test")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {REPO}\n"
        f"    rev: {git(REPO, 'rev-parse', 'HEAD')}\n"
        "    hooks:\n"
        "      - id: bn-migrate\n"
    )
    (repo / "README.txt").write_text("not Python: the hook never sees it\n")
    git(repo, "add", ".pre-commit-config.yaml", "README.txt")
    return repo


def pre_commit_run(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run"],  # the staged files
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_fails_on_staged_tf1_code_and_passes_on_tf2(hooked_repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    (hooked_repo / "train.py").write_text(TF1_LEFT)
    git(hooked_repo, "add", "train.py")
    failed = pre_commit_run(hooked_repo, home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bn-migrate" in failed.stdout and "Failed" in failed.stdout
    assert "train.py:3:5 BN001" in failed.stdout
    assert (hooked_repo / "train.py").read_text() == TF1_LEFT  # --check writes nothing

    (hooked_repo / "train.py").write_text(TF2)
    git(hooked_repo, "add", "train.py")
    passed = pre_commit_run(hooked_repo, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
