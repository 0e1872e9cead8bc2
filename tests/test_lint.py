"""The lint gate: ``make lint``'s three commands (ruff check, ruff format --check, mypy) must pass.

They run here through this interpreter's own ruff and mypy (the pinned ``dev`` extra), so ``make test``
and CI fail on a lint, format or type error as on a failing test. Static checks only: no TensorFlow is
imported, and with warm caches the three take a few seconds. The rule set, exclusions (period-style
fixtures and examples) and mypy options live in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What ruff checks and formats; keep in step with LINT_PATHS in the Makefile (tested below).
LINT_PATHS = ("bn_migrate", "tests", "benchmarks")
TYPED_PACKAGE = "bn_migrate"

COMMANDS = {
    "ruff-check": ("ruff", "check", *LINT_PATHS),
    "ruff-format": ("ruff", "format", "--check", *LINT_PATHS),
    "mypy": ("mypy", TYPED_PACKAGE),
}

pytestmark = pytest.mark.lint


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m TOOL ARGS`` from the repository root, where pyproject.toml configures both tools."""
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed in {sys.prefix}: run `pip install -e '.[dev]'`")
    return subprocess.run(
        [sys.executable, "-m", tool, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_lint_command_passes(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, (
        f"`{' '.join(command)}` failed (exit {result.returncode}); `make lint` shows the same.\n"
        f"{result.stdout}{result.stderr}"
    )


def test_makefile_lints_the_same_paths() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^LINT_PATHS\s*:=\s*(.*)$", makefile, flags=re.MULTILINE)
    assert found is not None, "the Makefile defines no LINT_PATHS"
    assert tuple(found.group(1).split()) == LINT_PATHS
