"""Paths and numbers that would make a command write what the user did not ask for, or never end:
usage errors (exit 2, one line on stderr, nothing written)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bn_migrate.cli import main
from tests.reliability.helpers import TF1_PROGRAM, digests


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    captured = capsys.readouterr()
    assert status == 2, captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bn-migrate: error: "), captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a TF1 program (train.py) and src/model.py, the current folder of the test."""
    (tmp_path / "train.py").write_text(TF1_PROGRAM)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(TF1_PROGRAM)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["rewrite", ""],  # rewrite "$SRC" with SRC unset: never the current folder
        ["rewrite", "train.py", ""],
        ["rewrite", "--diff", ""],
    ],
)
def test_an_empty_path_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    before = digests(project)
    assert "empty PATH" in usage_error(capsys, *argv)
    assert digests(project) == before


def test_an_empty_output_dir_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digests(project)
    assert "--output-dir is empty" in usage_error(capsys, "rewrite", "src", "--output-dir", "")
    assert digests(project) == before


def test_an_output_dir_whose_copy_lands_on_an_input_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # out/model.py, left from an earlier copy, is a link to the input: writing it would rewrite src/
    (project / "out").mkdir()
    os.symlink(project / "src" / "model.py", project / "out" / "model.py")
    before = digests(project)
    message = usage_error(capsys, "rewrite", "src", "--output-dir", "out")
    assert "would overwrite the input" in message
    assert digests(project) == before


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["rewrite", "train.py", "--diff", "--report", "train.py"], "is the input"),
        (["rewrite", "train.py", "--report", "train.py"], "is the input"),
        (["rewrite", "src", "--check", "--report", "src/model.py"], "is the input file"),
        (["rewrite", "src", "--diff", "--report", "src"], "is the input"),
        (
            ["rewrite", "src", "--output-dir", "out", "--report", "out/r.json"],
            "lies in --output-dir",
        ),
        (["rewrite", "src", "--report", ""], "--report is empty"),
    ],
)
def test_a_report_that_would_overwrite_an_input_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    before = digests(project)
    assert expected in usage_error(capsys, *argv)
    assert digests(project) == before


@pytest.mark.parametrize(
    "option", ["--timeout", "--ulps", "--rtol", "--atol", "--step-rtol", "--free-rtol"]
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_check_refuses_non_finite_numbers(
    project: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    (project / "new.py").write_text("print('new')\n")
    message = usage_error(capsys, "check", "train.py", "new.py", f"{option}={value}")
    assert f"({option}) must be a finite number" in message


def test_check_still_refuses_a_negative_timeout(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "new.py").write_text("print('new')\n")
    assert "must be positive" in usage_error(
        capsys, "check", "train.py", "new.py", "--timeout", "-5"
    )


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--json", "train.py", "is a program being checked"),
        ("--json", "./new.py", "is a program being checked"),
        ("--plot", "train.py", "is a program being checked"),
        ("--json", "", "--json is empty"),
    ],
)
def test_check_refuses_a_report_over_a_program(
    project: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
) -> None:
    (project / "new.py").write_text("print('new')\n")
    before = digests(project)
    assert expected in usage_error(capsys, "check", "train.py", "new.py", f"{option}={value}")
    assert digests(project) == before
