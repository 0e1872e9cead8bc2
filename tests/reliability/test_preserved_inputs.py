"""Inputs that were already answered well (kept so they stay so): syntax errors, BOM, CRLF, read-only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bn_migrate.cli import main
from tests.reliability.helpers import TF1_PROGRAM


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mixed_folder_keeps_every_byte_it_should(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "broken.py": (TF1_PROGRAM + "def f(:\n").encode(),
        "bom.py": b"\xef\xbb\xbf" + TF1_PROGRAM.encode(),
        "crlf.py": TF1_PROGRAM.replace("\n", "\r\n").encode(),
        "readonly.py": TF1_PROGRAM.encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "readonly.py").chmod(0o444)
    before = {name: sha(tmp_path / name) for name in files}
    status = main(["rewrite", "-j1", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert f"{tmp_path / 'broken.py'}:{TF1_PROGRAM.count(chr(10)) + 1}:" in err
    assert "readonly.py: error: cannot write" in err
    for name in ("broken.py", "readonly.py"):
        assert sha(tmp_path / name) == before[name], name
    bom = (tmp_path / "bom.py").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and bom != files["bom.py"]
    crlf = (tmp_path / "crlf.py").read_bytes()
    assert crlf != files["crlf.py"] and b"\n" not in crlf.replace(b"\r\n", b"")
    assert bom[3:].replace(b"\n", b"\r\n") == crlf
