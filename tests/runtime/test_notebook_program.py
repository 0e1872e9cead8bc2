"""Notebooks as programs for run-tf1 and check: which lines are IPython's, and how they are skipped.

No TensorFlow here: ``load_program`` and the traceback placement are pure Python."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bn_migrate.notebooks import dedent_cell, ipython_lines
from bn_migrate.runtime.script import execute, format_exception, load_program


def notebook(path: Path, *cells: tuple[str, str]) -> Path:
    doc = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source, "outputs": []}
            if kind == "code"
            else {"cell_type": kind, "metadata": {}, "source": source}
            for kind, source in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "ipython"),
    [
        ("%matplotlib inline", True),
        ("    %time f()", True),
        ("!pip install tensorflow==1.15", True),
        ("files = !ls", True),
        ("a, b = %who_ls", True),
        ("tf.layers.batch_normalization?", True),
        ("?tf.layers", True),
        ("x = 1  # really?", False),
        ('s = """Why?', False),
        ("t = 'why?'", False),
        ("x = '%d' % 3", False),
        ("y = x % 2", False),
        ("# %% a cell marker", False),
        ("", False),
    ],
)
def test_ipython_statements(line: str, ipython: bool) -> None:
    assert (ipython_lines([line])[0] is not None) is ipython


def test_lines_inside_strings_and_brackets_are_python() -> None:
    lines = ['text = """', "%not a magic", '"""', "total = (1 +", "  !x)", "!ls"]
    assert ipython_lines(lines) == [None, None, None, None, None, ""]


def test_cell_magics_hide_their_body_unless_it_is_python() -> None:
    assert ipython_lines(["%%bash", "echo hi", "  ls"]) == ["", "", ""]
    assert ipython_lines(["%%time", "x = 1", "%who"]) == ["", None, ""]


@pytest.mark.parametrize(
    ("lines", "prefix", "ran"),
    [
        ([" print(1)"], " ", ["print(1)"]),  # gsnaider/two-face-inpainting's Test_save_model.ipynb
        (
            ["", "  ", "  if x:", "      y = 1", "", "  z"],
            "  ",
            ["", "", "if x:", "    y = 1", "", "z"],
        ),
        (["\tx = 1", 's = """', '\tkept"""'], "\t", ["x = 1", 's = """', 'kept"""']),
        (["x = 1", "  y"], "", ["x = 1", "  y"]),
    ],
)
def test_a_cell_indented_as_a_whole_is_dedented_as_ipython_does(
    lines: list[str], prefix: str, ran: list[str]
) -> None:
    # IPython's cleanup: leading blank lines skipped, the first line's indentation removed from
    # every line that starts with it
    assert dedent_cell(lines) == (prefix, ran)


def test_an_indented_cell_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = notebook(
        tmp_path / "nb.ipynb",
        ("code", "x = 2\n"),
        ("code", ["  if x:\n", "      %time pass\n", "      print('x is', x)\n"]),
    )
    program = load_program(path)
    execute(program, [])
    assert "x is 2" in capsys.readouterr().out
    assert program.describe_line(4) == f"{path}:cell 2:line 2"


def test_magic_in_an_indented_block_keeps_the_block(tmp_path: Path) -> None:
    path = notebook(
        tmp_path / "nb.ipynb",
        ("markdown", "# title"),
        ("code", "total = 0\nfor i in range(3):\n    %time pass\n    total += i\n"),
        ("code", ["if total:\n", "    !echo hi\n", "print('total', total)"]),
    )
    program = load_program(path)
    compile(program.source, str(path), "exec")
    assert "    pass  # IPython line skipped" in program.source.splitlines()
    # cells are numbered over all cells (the markdown cell is 1), lines within the cell
    assert program.describe_line(3) == f"{path}:cell 2:line 3"
    assert program.describe_line(7) == f"{path}:cell 3:line 2"


def test_traceback_shows_the_cell_and_its_own_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = notebook(
        tmp_path / "nb.ipynb",
        ("code", "x = 1\n"),
        ("markdown", "text"),
        ("code", "def fail():\n    raise ValueError('boom')\n\nfail()"),
    )
    program = load_program(path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(ValueError) as caught:
        execute(program, [])
    text = format_exception(caught.value, program)
    assert f'File "{path}", cell 3, line 4, in <module>' in text
    assert "    fail()" in text
    assert f'File "{path}", cell 3, line 2, in fail' in text
    assert "raise ValueError('boom')" in text
    assert '"cell_type"' not in text  # the JSON is never shown as code


def test_unavailable_api_error_names_the_cell_line_and_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bn_migrate.runtime.legacy import EXIT_UNSUPPORTED, report_program_failure

    path = notebook(
        tmp_path / "nb.ipynb",
        ("markdown", "# uses an API run-tf1 cannot give"),
        ("code", "from bn_migrate.runtime.legacy import UnavailableAttributeError as Gone\n"),
        ("code", "%time x = 1\nraise Gone('tf.contrib.rnn', 'removed')"),
    )
    program = load_program(path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(AttributeError) as caught:
        execute(program, [])
    assert report_program_failure(caught.value, program) == EXIT_UNSUPPORTED
    assert capsys.readouterr().err == (
        f"{path}:cell 3:line 2: error: tf.contrib.rnn is not available: removed; this program "
        "cannot run unmodified  (raise Gone('tf.contrib.rnn', 'removed'))\n"
    )


def test_a_shell_line_continued_by_a_backslash_is_one_ipython_statement(tmp_path: Path) -> None:
    # tensorflow/tensor2tensor's notebooks: `!t2t-trainer \` with its flags on the indented lines below
    lines = ["!t2t-trainer \\", "  --model=transformer \\", "  --steps=1", "x = 1", "  # text"]
    assert ipython_lines(lines) == ["", "", "", None, None]
    assert ipython_lines(["for i in range(2):", "    !ls \\", "      -la", "    y = i"]) == [
        None,
        "    ",
        "    ",
        None,
    ]
    path = notebook(tmp_path / "nb.ipynb", ("code", "\n".join(lines[:4]) + "\nprint('x', x)\n"))
    program = load_program(path)
    compile(program.source, str(path), "exec")
