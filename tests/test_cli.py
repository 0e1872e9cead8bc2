"""The command line itself: version, help, module entry point, and what each command imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bn_migrate import __version__, extras
from bn_migrate.cli import main
from tests.conftest import REPO, run_cli


def test_version_via_module_entry_point() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"bn-migrate {__version__}"


def test_no_subcommand_is_a_usage_error(capsys) -> None:
    try:
        main([])
    except SystemExit as exc:
        assert exc.code == 2
    else:  # pragma: no cover - argparse always exits here
        raise AssertionError("expected a usage error")
    assert "COMMAND" in capsys.readouterr().err


def _modules_loaded_by(code: str) -> list[str]:
    """The heavy modules (numpy, libcst, TensorFlow, the checker) that running ``code`` imports."""
    probe = (
        f"import sys\n{code}\n"
        "heavy = ('numpy', 'libcst', 'tensorflow', 'bn_migrate.rewrite.engine')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy\n"
        "    or (m.startswith('bn_migrate.check.') and m != 'bn_migrate.check.defaults')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_building_the_parser_imports_neither_the_checker_nor_libcst() -> None:
    assert _modules_loaded_by("from bn_migrate.cli import build_parser; build_parser()") == []


def test_rewrite_of_a_file_without_tf1_code_imports_neither(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("def f(x):\n    return x + 1\n")
    mentions = tmp_path / "mentions.py"
    mentions.write_text("import tensorflow as tf\n\nmodel = tf.keras.Sequential()\n")
    for jobs in ("-j1", "-j2"):
        code = f"from bn_migrate.cli import main\nmain(['rewrite', {jobs!r}, {str(tmp_path)!r}])"
        assert _modules_loaded_by(code) == []


@pytest.mark.parametrize("command", ["check", "run-tf1"])
def test_a_missing_tf_extra_is_one_line_and_exit_2(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(extras, "_installed", lambda module: module != "tensorflow")
    args = ["old.py", "new.py"] if command == "check" else ["old.py"]
    assert main([command, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"bn-migrate: error: '{command}' needs the tf extra (missing: TensorFlow): "
        "pip install 'bn-migrate[tf]'\n"
    )
