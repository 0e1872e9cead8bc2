"""A plain ``pip install .`` (no extras) in a fresh virtual environment: the codemod works, and the
commands that need TensorFlow say in one line which extra to install.

Slow (a venv and a pip install, about half a minute); pip takes libcst from its cache or index. The
package is installed from a copy of its sources so that the build leaves nothing in the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bn_migrate import __version__
from tests.conftest import REPO

pytestmark = pytest.mark.slow

TF1_FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "get_variable_mlp.py"


@pytest.fixture(scope="module")
def bare_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding bn-migrate without extras."""
    root = tmp_path_factory.mktemp("bare")
    source = root / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(
        REPO / "bn_migrate", source / "bn_migrate", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return venv / "bin"


def _run(bin_dir: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    return subprocess.run(
        [str(bin_dir / "bn-migrate"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def test_the_bare_install_has_no_tensorflow_nor_numpy(bare_install: Path) -> None:
    probe = (
        "import importlib.util as u; print([m for m in ('numpy', 'tensorflow') if u.find_spec(m)])"
    )
    out = subprocess.run(
        [str(bare_install / "python"), "-c", probe], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_version(bare_install: Path) -> None:
    result = _run(bare_install, "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"bn-migrate {__version__}")


def test_rewrite_diff_of_a_tf1_program(bare_install: Path, tmp_path: Path) -> None:
    program = tmp_path / "train.py"
    shutil.copy(TF1_FIXTURE, program)
    result = _run(bare_install, "rewrite", "--diff", str(program), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("--- ")
    assert "+@tf.function" in result.stdout
    assert program.read_bytes() == TF1_FIXTURE.read_bytes()


@pytest.mark.parametrize("command", ["check", "run-tf1"])
def test_commands_needing_tensorflow_say_which_extra(
    bare_install: Path, tmp_path: Path, command: str
) -> None:
    program = tmp_path / "train.py"
    shutil.copy(TF1_FIXTURE, program)
    args = [str(program), str(program)] if command == "check" else [str(program)]
    result = _run(bare_install, command, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install 'bn-migrate[tf]'" in lines[0]
    assert f"'{command}'" in lines[0]


def test_rewrite_of_a_notebook(bare_install: Path, tmp_path: Path) -> None:
    notebooks = REPO / "tests" / "fixtures" / "notebooks"
    notebook = tmp_path / "nb.ipynb"
    shutil.copy(notebooks / "layers_mlp.ipynb", notebook)
    result = _run(bare_install, "rewrite", str(notebook), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert notebook.read_bytes() == (notebooks / "layers_mlp.migrated.ipynb").read_bytes()
