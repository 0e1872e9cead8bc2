"""``rewrite --diff`` output applies with ``patch -p0`` from the folder the command ran in, whatever
the file's encoding and name; the patched copy equals the in-place rewrite byte for byte."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bn_migrate.rewrite.report import quote_file_name
from tests.reliability.helpers import TF1_PROGRAM, run_cli

pytestmark = pytest.mark.skipif(shutil.which("patch") is None, reason="needs GNU patch")

LATIN1 = (
    "# -*- coding: latin-1 -*-\n"
    + TF1_PROGRAM.replace("x = tf.placeholder", "# données d'entraînement\nx = tf.placeholder")
).encode("latin-1")
FILES: dict[str, bytes] = {
    "a b.py": TF1_PROGRAM.encode(),
    "é.py": TF1_PROGRAM.encode(),
    'quote"back\\slash.py': TF1_PROGRAM.encode(),
    "latin1.py": LATIN1,
    "bom.py": b"\xef\xbb\xbf" + TF1_PROGRAM.encode(),
    "crlf.py": TF1_PROGRAM.replace("\n", "\r\n").encode(),
}


def make(folder: Path) -> Path:
    folder.mkdir()
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    return folder


def test_the_diff_applies_with_patch_p0_and_equals_the_in_place_rewrite(tmp_path: Path) -> None:
    diffed = make(tmp_path / "diffed")
    in_place = make(tmp_path / "in_place")
    diff = run_cli("rewrite", "--diff", "-j1", *FILES, cwd=diffed)
    assert diff.returncode == 0, diff.stderr.decode()
    assert all(path.read_bytes() == FILES[path.name] for path in diffed.iterdir())
    rewrite = run_cli("rewrite", "-j1", *FILES, cwd=in_place)
    assert rewrite.returncode == 0, rewrite.stderr.decode()
    assert b'--- "a b.py"\n' in diff.stdout and b'--- "\\303\\251.py"\n' in diff.stdout
    assert "données".encode("latin-1") in diff.stdout  # the latin-1 file's own bytes
    subprocess.run(
        ["patch", "-p0", "--batch", "--no-backup-if-mismatch"],
        input=diff.stdout,
        cwd=diffed,
        check=True,
        capture_output=True,
    )
    for name in FILES:
        assert (diffed / name).read_bytes() == (in_place / name).read_bytes(), name
        assert (in_place / name).read_bytes() != FILES[name], name


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("train.py", "train.py"),
        ("src/model_v2.py", "src/model_v2.py"),
        ("a b.py", '"a b.py"'),
        ("é.py", '"\\303\\251.py"'),
        ('q"b\\t\tn\n.py', '"q\\"b\\\\t\\tn\\n.py"'),
    ],
)
def test_file_names_are_quoted_as_gnu_diff_quotes_them(name: str, quoted: str) -> None:
    assert quote_file_name(name) == quoted
