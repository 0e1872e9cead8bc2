"""``run-tf1`` and ``check`` read a program as ``python`` does: PEP 263 coding cookie, BOM, else UTF-8."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bn_migrate.errors import BnMigrateError
from bn_migrate.runtime.script import load_program
from tests.reliability.helpers import run_cli

LATIN1_SCRIPT = "# -*- coding: latin-1 -*-\nprint('café'.upper())\n".encode("latin-1")


@pytest.mark.parametrize(
    "data",
    [
        LATIN1_SCRIPT,
        b"\xef\xbb\xbf" + "print('café'.upper())\n".encode(),
        "print('café'.upper())\r\n".encode(),
        "#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nprint('café'.upper())\n".encode(
            "latin-1"
        ),
    ],
)
def test_load_program_decodes_as_python_does(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "script.py"
    path.write_bytes(data)
    program = load_program(path)
    assert "print('café'.upper())" in program.source
    python = subprocess.run([sys.executable, str(path)], capture_output=True, check=True)
    assert python.stdout.decode().strip() == "CAFÉ"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"print('caf\xe9')\n", "not valid utf-8 text"),
        (b"# -*- coding: klingon -*-\nprint(1)\n", "unknown encoding"),
    ],
)
def test_what_python_refuses_is_refused_in_one_line(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "script.py"
    path.write_bytes(data)
    with pytest.raises(BnMigrateError, match=message):
        load_program(path)


@pytest.mark.slow
def test_run_tf1_runs_a_latin1_script_with_a_coding_cookie(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_bytes(LATIN1_SCRIPT)
    done = run_cli("run-tf1", "script.py", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "CAFÉ"
