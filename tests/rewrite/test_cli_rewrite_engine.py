"""``bn-migrate rewrite`` with the real engine, run as a user runs it, on the seed question's programs.

These tests do not pin what the rules emit (the rule tests do); they check that the command's modes
agree with each other on real output: in place, ``--diff``, ``--output-dir``, ``-j1``/``-j2``, CRLF
files, and a broken file among good ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_cli

SEED = EXAMPLES / "seed_question"
TF1_SEED = sorted(p.name for p in SEED.glob("*.py") if "import tensorflow as tf" in p.read_text())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the seed programs plus a file with a syntax error and one with no TensorFlow."""
    root = tmp_path / "proj"
    root.mkdir()
    for name in TF1_SEED:
        shutil.copy(SEED / name, root / name)
    (root / "broken.py").write_text("import tensorflow as tf\n\ndef f(:\n    pass\n")
    (root / "util.py").write_text("def add(a, b):\n    return a + b\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_check_reports_work_to_do_and_writes_nothing(tree: Path, tmp_path: Path) -> None:
    before = snapshot(tree)
    report = tmp_path / "report.json"
    result = run_cli("rewrite", str(tree), "--check", "--report", str(report))
    assert result.returncode == 2, result.stderr  # broken.py
    assert snapshot(tree) == before
    assert f"{tree / 'broken.py'}:3:7: error: " in result.stderr
    document = json.loads(report.read_text())
    statuses = {Path(f["path"]).name: f["status"] for f in document["files"]}
    assert statuses["broken.py"] == "failed"
    assert statuses["util.py"] == "unchanged"
    assert statuses["tf_layers.py"] == "changed"
    for entry in document["files"]:
        for site in entry["applied"] + entry["left"]:
            assert site["rule"].startswith("BN") and site["line"] >= 1
            line = f"{entry['path']}:{site['line']}:{site['col']} {site['rule']} {site['message']}"
            assert (line in result.stderr) == (site in entry["left"])
    summary = document["summary"]
    assert result.stderr.splitlines()[-1] == (
        f"{summary['changed']} file{'' if summary['changed'] == 1 else 's'} would change, "
        f"{summary['unchanged']} unchanged, {summary['skipped']} skipped, 1 failed"
    )


def test_modes_agree_on_the_real_engine(tree: Path, tmp_path: Path) -> None:
    patched = tmp_path / "patched"
    shutil.copytree(tree, patched)
    diff = run_cli("rewrite", str(tree), "--diff", "-j1")
    assert diff.returncode == 2 and diff.stdout, diff.stderr
    if shutil.which("patch"):
        subprocess.run(
            ["patch", "-p0", "-s"],
            input=diff.stdout.replace(str(tree), str(patched)),
            text=True,
            check=True,
            cwd="/",
        )
    out_dir = tmp_path / "migrated"
    copied = run_cli("rewrite", str(tree), "--output-dir", str(out_dir), "-j2")
    assert copied.returncode == 2, copied.stderr
    in_place = run_cli("rewrite", str(tree), "-j1")
    assert in_place.returncode == 2, in_place.stderr
    assert snapshot(out_dir) == snapshot(tree)  # --output-dir -j2 == in place -j1
    if shutil.which("patch"):
        assert snapshot(patched) == snapshot(tree)  # --diff, applied == in place
    again = run_cli("rewrite", str(tree), "-j1")
    assert again.stderr.splitlines()[-1].startswith("0 files changed"), again.stderr


def test_crlf_program_keeps_crlf(tmp_path: Path) -> None:
    lf = tmp_path / "lf" / "tf_layers.py"
    crlf = tmp_path / "crlf" / "tf_layers.py"
    lf.parent.mkdir()
    crlf.parent.mkdir()
    source = (SEED / "tf_layers.py").read_bytes()
    lf.write_bytes(source)
    crlf.write_bytes(source.replace(b"\n", b"\r\n"))
    for path in (lf, crlf):
        result = run_cli("rewrite", str(path))
        assert result.returncode == 0, result.stderr
    assert lf.read_bytes() != source
    assert crlf.read_bytes() == lf.read_bytes().replace(b"\n", b"\r\n")
