"""``bn-migrate rewrite``: arguments, modes and exit codes through the real command-line entry point.

The engine is replaced by a stand-in module (the toy transform of test_runner) so these tests pin the
command's wiring; test_cli_rewrite_engine.py runs the real engine end to end.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from bn_migrate.cli import main
from tests.rewrite.test_runner import NEW, OLD, TF1, TF2, make_tree, toy_transform

SEEN_OPTIONS: list[object] = []


@dataclass(frozen=True)
class StandInOptions:
    plain_keras_bn: bool = False
    fix_missing_updates: bool = False
    library: tuple[str, ...] = ()


def recording_transform(source: str, *, path: str = "<string>", options: object = None):
    SEEN_OPTIONS.append(options)
    return toy_transform(source, path=path, options=options)


@pytest.fixture(autouse=True)
def stand_in_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = types.ModuleType("bn_migrate.rewrite.engine")
    engine.rewrite_source = recording_transform  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bn_migrate.rewrite.engine", engine)
    options = types.ModuleType("bn_migrate.rewrite.options")
    options.RewriteOptions = StandInOptions  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bn_migrate.rewrite.options", options)
    SEEN_OPTIONS.clear()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        status = main(["rewrite", *args])
    except SystemExit as exc:  # argparse usage errors
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_help_documents_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = cli(capsys, "--help")
    assert status == 0
    exit_section = out.split("Exit status:")[1]
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n  {code}" in exit_section
    assert "--output-dir" in out and "complete copy" in out


def test_in_place_rewrite_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"a.py": TF1, "b.py": "x = 1\n"})
    status, out, err = cli(capsys, str(tmp_path), "-j1")
    assert (status, out) == (0, "")
    assert (tmp_path / "a.py").read_text() == TF2
    assert err.splitlines()[-1] == "1 file changed, 1 unchanged, 0 skipped, 0 failed"


def test_options_reach_the_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    cli(capsys, str(tmp_path), "--check", "--plain-keras-bn", "-j1")
    cli(capsys, str(tmp_path), "--check", "--fix-missing-updates", "-j1")
    cli(capsys, str(tmp_path), "--check", "--library", "models", "--library", "nets", "-j1")
    assert [
        StandInOptions(plain_keras_bn=True),
        StandInOptions(fix_missing_updates=True),
        StandInOptions(library=("models", "nets")),
    ] == SEEN_OPTIONS


def test_check_and_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    assert cli(capsys, str(tmp_path), "--check")[:2] == (1, "")
    status, out, _ = cli(capsys, str(tmp_path), "--diff")
    assert status == 0 and f"-x = {OLD}(x)\n+x = {NEW}(x)\n" in out
    status, out, _ = cli(capsys, str(tmp_path), "--check", "--diff")
    assert status == 1 and f"+x = {NEW}(x)\n" in out
    assert (tmp_path / "a.py").read_text() == TF1


def test_output_dir_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_tree(tmp_path / "src", {"a.py": TF1, "notes.md": "hi\n"})
    report = tmp_path / "report.json"
    status, _, _ = cli(
        capsys, str(src), "--output-dir", str(tmp_path / "new"), "--report", str(report)
    )
    assert status == 0
    assert (tmp_path / "new/a.py").read_text() == TF2
    assert (tmp_path / "new/notes.md").read_text() == "hi\n"
    document = json.loads(report.read_text())
    assert document["mode"] == "output-dir"
    assert document["options"] == {
        "plain_keras_bn": False,
        "fix_missing_updates": False,
        "library": [],
    }
    assert document["files"][0]["written_to"] == str(tmp_path / "new/a.py")


def test_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"a.py": TF1, "vendor/b.py": TF1})
    cli(capsys, str(tmp_path), "--exclude", "vendor", "--exclude", "nothing*")
    assert (tmp_path / "a.py").read_text() == TF2
    assert (tmp_path / "vendor/b.py").read_text() == TF1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check", "--output-dir", "out"], "--output-dir cannot be combined"),
        (["--diff", "--output-dir", "out"], "--output-dir cannot be combined"),
        (["-j", "0"], "expected a positive number of jobs"),
        (["-j", "many"], "expected a positive number of jobs"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    status, _, err = cli(capsys, str(tmp_path), *args)
    assert status == 2
    assert message in err
    assert (tmp_path / "a.py").read_text() == TF1


def test_missing_path_exits_2_and_processes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path, {"a.py": TF1})
    status, _, err = cli(capsys, str(tmp_path / "a.py"), str(tmp_path / "nope.py"))
    assert status == 2
    assert err == f"bn-migrate: error: no such file or directory: {tmp_path / 'nope.py'}\n"
    assert (tmp_path / "a.py").read_text() == TF1


def test_no_paths_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = cli(capsys)
    assert status == 2 and "PATH" in err


def test_parallel_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers must see the stand-in engine: forked, they inherit it. (After other tests have started
    # threads, e.g. by importing NumPy, the runner would spawn fresh interpreters with the real engine.)
    from multiprocessing import get_context

    from bn_migrate.rewrite import runner

    monkeypatch.setattr(runner, "pool_context", lambda: get_context("fork"))
    make_tree(tmp_path, {f"m{i}.py": TF1 for i in range(5)})
    status, _, err = cli(capsys, str(tmp_path), "-j2")
    assert status == 0
    assert all((tmp_path / f"m{i}.py").read_text() == TF2 for i in range(5))
    assert "5 files changed" in err
