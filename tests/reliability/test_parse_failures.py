"""Valid Python too deep for the codemod's parser, and files CPython rejects: never "unchanged"."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from bn_migrate.cli import main
from tests.reliability.helpers import TF1_PROGRAM, digests

LONG_SUM = "total = " + "+".join(["1"] * 2000) + "\n"
NESTED_CALLS = "total = " + "abs(" * 150 + "1" + ")" * 150 + "\n"
NESTED_BRACKETS = "total = " + "[" * 1000 + "]" * 1000 + "\n"
PYTHON2 = "print 'hello'\n"


def rewrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> tuple[int, str, Path]:
    path = tmp_path / name
    path.write_text(text)
    before = digests(tmp_path)
    status = main(["rewrite", "-j1", str(path)])
    err = capsys.readouterr().err
    if status != 0 or "rewrote" not in err:
        assert digests(tmp_path) == before
    return status, err, path


@pytest.mark.parametrize("deep", [LONG_SUM, NESTED_CALLS])
def test_a_tf1_program_too_deep_for_the_codemod_is_left_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], deep: str
) -> None:
    lines = TF1_PROGRAM.count("\n")
    status, err, path = rewrite(tmp_path, capsys, "train.py", TF1_PROGRAM + deep)
    assert status == 0  # left for a human, like every file the codemod does not take on
    assert f"{path}:{lines + 1}:" in err
    assert "too deeply nested for the codemod's parser" in err
    assert "0 unchanged, 1 skipped" in err


def test_a_file_cpython_rejects_is_a_parse_failure_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = TF1_PROGRAM.count("\n")
    status, err, path = rewrite(tmp_path, capsys, "train.py", TF1_PROGRAM + NESTED_BRACKETS)
    assert status == 2
    assert f"{path}:{lines + 1}:" in err and "error: syntax error: too many nested" in err


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        (PYTHON2, "1:1", "Missing parentheses"),
        ("x = 1\n" + NESTED_BRACKETS, "2:", "too many nested"),
    ],
)
def test_a_file_without_tensorflow_that_python_rejects_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, place: str, message: str
) -> None:
    status, err, path = rewrite(tmp_path, capsys, "old.py", text)
    assert status == 2
    assert f"{path}:{place}" in err and message in err
    assert "0 unchanged" in err and "1 failed" in err


def test_a_file_without_tensorflow_that_parses_stays_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err, _ = rewrite(tmp_path, capsys, "util.py", "x = 1\n" + LONG_SUM)
    assert status == 0
    assert "0 files changed, 1 unchanged, 0 skipped, 0 failed" in err


def test_python_s_warnings_about_a_file_are_not_errors_nor_noise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning shown to the user would fail here
        status, err, _ = rewrite(tmp_path, capsys, "util.py", 'import re\nr = re.compile("\\d")\n')
    assert status == 0
    assert err.splitlines() == ["0 files changed, 1 unchanged, 0 skipped, 0 failed"]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("print 'hello'\n", "1:1"),
        ("exec 'x = 1'\n", "1:1"),
        ("try:\n    pass\nexcept ValueError, error:\n    pass\n", "3:8"),
        ("mode = 0777\n", "1:8"),
    ],
)
def test_python_2_syntax_is_named_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, place: str
) -> None:
    status, err, path = rewrite(tmp_path, capsys, "old.py", text)
    assert status == 2
    [line] = [line for line in err.splitlines() if line.startswith(str(path))]
    assert line.startswith(f"{path}:{place}")
    assert line.endswith(
        "(Python 2 syntax: convert the file to Python 3, e.g. with 2to3, then run the migration "
        "again)"
    )


def test_other_syntax_errors_get_no_python_2_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err, _ = rewrite(tmp_path, capsys, "broken.py", "x = (\n")
    assert status == 2 and "never closed" in err and "Python 2" not in err
