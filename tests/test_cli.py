"""The command line itself: version, help, module entry point."""

from __future__ import annotations

from bn_migrate import __version__
from bn_migrate.cli import main
from tests.conftest import run_cli


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
