"""The repository workflow end to end: rewrite a tree into a copy with a report, then check every
(TF1 builder, Keras layer class) pair the report lists with one command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "tf1"


def _rewrite(tmp_path: Path) -> dict:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("builder_once.py", "reuse_builder.py", "layers_mlp_placeholder.py"):
        shutil.copy(FIXTURES / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "bn_migrate", "rewrite", "-q", "-j1", "src", "--output-dir", "out",
         "--report", "report.json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / "report.json").read_text())


def test_report_lists_each_builder_made_a_class_with_its_weights(tmp_path: Path) -> None:
    models = {entry["old"]: entry for entry in _rewrite(tmp_path)["models"]}
    assert sorted(models) == ["src/builder_once.py::model", "src/reuse_builder.py::net"]
    net = models["src/reuse_builder.py::net"]
    assert net["new"].endswith("out/reuse_builder.py::Net")
    assert net["input_shape"] == [4]
    assert net["builder_args"] == {"reuse": False}  # the first call's literal; the flag is left out
    assert net["variables"]["net/bn1/moving_variance"] == "net/bn1/moving_variance"
    assert net["variables"]["net/fc1/kernel"] == "net/fc1/kernel"
    model = models["src/builder_once.py::model"]
    assert model["variables"]["bn2/gamma"] == "model/bn2/gamma"  # no scope in TF1: top-level names
    assert model["builder_args"] == {"width": 12}  # its default, as the call left it


def test_report_paths_resolve_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report records the folder the rewrite ran in: its relative ``old`` paths resolve from
    another folder and with the report moved (a check run elsewhere said "src/x.py is not a Python
    file")."""
    from bn_migrate.check.report_pairs import _ref, read_pairs

    report = _rewrite(tmp_path)
    assert Path(report["cwd"]).resolve() == tmp_path.resolve()
    moved = tmp_path / "elsewhere" / "report.json"
    moved.parent.mkdir()
    moved.write_text(json.dumps(report), encoding="utf-8")
    monkeypatch.chdir(moved.parent)
    pair = next(p for p in read_pairs(moved) if p.old == "src/reuse_builder.py::net")
    ref = _ref(pair.old, "old", moved, pair.cwd)
    assert Path(ref.path).resolve() == (tmp_path / "src" / "reuse_builder.py").resolve()


def test_report_lists_nothing_for_files_rewritten_in_place(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "reuse_builder.py", tmp_path / "train.py")
    done = subprocess.run(
        [sys.executable, "-m", "bn_migrate", "rewrite", "-q", "train.py", "--report", "r.json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["models"] == []


@pytest.mark.slow
def test_every_migrated_model_of_a_tree_is_checked_from_the_report(tmp_path: Path) -> None:
    _rewrite(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "bn_migrate", "check", "--from-report", "report.json"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 pair(s): 2 equivalent (exit 0)" in done.stdout


@pytest.mark.slow
def test_a_trained_tf1_checkpoint_goes_into_the_migrated_model_with_the_report_mapping(
    tmp_path: Path,
) -> None:
    """A TF1 program trained and saved with a Saver -> the codemod's copy and report -> the checkpoint
    converted with the report's TF1 -> Keras names, verified against the TF1 builder. (The codemod
    leaves a file that uses ``tf.train.Saver``, so the saving run is a copy of the program with one
    line added.)"""
    source = tmp_path / "src"
    source.mkdir()
    script = (FIXTURES / "reuse_builder.py").read_text()
    (source / "train.py").write_text(script)
    saving = '    tf.train.Saver().save(sess, "ckpt/model")\n'
    (tmp_path / "train_and_save.py").write_text(script.rstrip("\n") + "\n" + saving)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bn_migrate", *argv],
            cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip

    trained = run("run-tf1", "train_and_save.py")
    assert trained.returncode == 0, trained.stderr[-2000:]
    rewritten = run("rewrite", "-q", "-j1", "src", "--output-dir", "out", "--report", "r.json")
    assert rewritten.returncode == 0, rewritten.stderr
    converted = run(
        "convert-checkpoint", "ckpt", "out/train.py::Net", "-o", "net.weights.h5",
        "--input-shape", "4", "--builder", "src/train.py::net", "--builder-arg", "reuse=False",
        "--mapping", "r.json",
    )  # fmt: skip
    assert converted.returncode == 0, converted.stdout + converted.stderr
    assert "VERIFIED" in converted.stdout
    assert "net/bn1/moving_variance  net/bn1/moving_variance  moving_variance  mapping file" in (
        converted.stdout
    )
    assert (tmp_path / "net.weights.h5").is_file()
