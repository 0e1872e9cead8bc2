"""Shared test configuration: paths, and a helper that runs the real ``bn-migrate`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bn_migrate ARGS`` in a subprocess, as a user would."""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    return subprocess.run(
        [sys.executable, "-m", "bn_migrate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def old_cache(tmp_path_factory: pytest.TempPathFactory) -> OldRunCache:
    """OLD (TF1) runs shared by every check of the session: checks of one original under the same
    conditions run it once (``bn_migrate.check.old_runs`` says what the key covers). Pass it as
    ``check_programs(..., old_cache=old_cache)`` or ``--old-cache str(old_cache.folder)``."""
    from bn_migrate.check.old_runs import OldRunCache

    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Workers of one `pytest -n` run share the run's base folder (the cache is process-safe), so a
        # fixture's planted and golden checks run its original once whichever worker gets them.
        return OldRunCache(tmp_path_factory.getbasetemp().parent / "old-runs")
    return OldRunCache(tmp_path_factory.mktemp("old-runs"))


@pytest.fixture(scope="session", autouse=True)
def warm_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every check of the session, and every ``bn-migrate`` command a test starts, forks its workers
    from warm servers (``bn_migrate.check.forkserver``): TensorFlow is imported once per kind of worker
    instead of once per run. ``tests/check/test_forkserver.py`` shows that a forked run records what a
    fresh process records; tests of the fresh processes themselves unset the variable."""
    from bn_migrate.check.forkserver import FOLDER_VARIABLE, shut_down

    folder = tmp_path_factory.mktemp("fork-servers")
    saved = os.environ.get(FOLDER_VARIABLE)
    os.environ[FOLDER_VARIABLE] = str(folder)
    try:
        yield folder
    finally:
        if saved is None:
            os.environ.pop(FOLDER_VARIABLE, None)
        else:
            os.environ[FOLDER_VARIABLE] = saved
        shut_down(folder)
