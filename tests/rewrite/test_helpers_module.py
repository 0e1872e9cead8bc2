"""The emitted definitions once per folder (``planning.helpers_module``), through ``bn-migrate rewrite``
in every mode: one module, each file importing what it used to define; a file alone keeps them."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bn_migrate.cli import main
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.planning import helpers_module
from bn_migrate.rewrite.planning.helpers_module import MODULE_NAME, Migrated
from tests.conftest import REPO

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

FUSED = (
    REPO / "tests" / "fixtures" / "tf1" / "conv_fused.py"
)  # needs BN008's BatchNormalization subclass
MODULE = MODULE_NAME + ".py"
IMPORT = f"from {MODULE_NAME} import BatchNormalization\n"


def _tree(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FUSED, root / name)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def inline() -> str:
    """The fixture migrated alone: the class inline."""
    return rewrite_source(FUSED.read_text(), path=str(FUSED)).code


def _class_source(text: str) -> str:
    """The text of the top-level ``class BatchNormalization`` in ``text``."""
    lines = text.splitlines(keepends=True)
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == "BatchNormalization":
            assert node.end_lineno is not None
            return "".join(lines[node.lineno - 1 : node.end_lineno])
    raise AssertionError("no class BatchNormalization")


def test_two_scripts_share_one_module(tmp_path: Path, inline: str) -> None:
    root = _tree(tmp_path, "a.py", "b.py")
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert sorted(p.name for p in root.iterdir()) == ["a.py", "b.py", MODULE]
    module = (root / MODULE).read_text()
    assert module.count("class BatchNormalization(") == 1
    assert _class_source(module) == _class_source(inline)  # the same text as inline
    assert "import tensorflow as tf\n" in module
    expected = inline.replace(_class_source(inline), "")
    for name in ("a.py", "b.py"):
        text = (root / name).read_text()
        ast.parse(text)
        assert text.count(IMPORT) == 1
        assert "class BatchNormalization" not in text
        # the import joins the imports; nothing else of the file changes
        assert text.replace(IMPORT, "") == expected.replace("\n\n\n\n\n", "\n\n\n")


def test_a_file_alone_keeps_its_definitions(tmp_path: Path, inline: str) -> None:
    root = _tree(tmp_path, "a.py")
    (root / "notes.py").write_text("x = 1\n")
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert (root / "a.py").read_text() == inline
    assert not (root / MODULE).exists()


def test_a_file_of_the_user_with_the_name_is_kept(tmp_path: Path) -> None:
    root = _tree(tmp_path, "a.py", "b.py")
    (root / MODULE).write_text("USER = 1\n")
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert (root / MODULE).read_text() == "USER = 1\n"
    assert "class BatchNormalization(" in (root / f"{MODULE_NAME}_2.py").read_text()
    assert f"from {MODULE_NAME}_2 import BatchNormalization\n" in (root / "a.py").read_text()


def test_rewriting_the_output_again_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path, "a.py", "b.py")
    assert main(["rewrite", "-j1", str(root)]) == 0
    after = _snapshot(root)
    capsys.readouterr()
    assert main(["rewrite", "--check", "-j1", str(root)]) == 0
    assert "0 files would change" in capsys.readouterr().err
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert _snapshot(root) == after  # no second module


def test_diff_and_check_show_the_new_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "src", "a.py", "b.py")
    before = _snapshot(root)
    report = tmp_path / "report.json"
    assert main(["rewrite", "--diff", "-j1", "--report", str(report), str(root)]) == 0
    out, err = capsys.readouterr()
    assert _snapshot(root) == before
    assert f"--- /dev/null\n+++ {root / MODULE}\n@@ -0,0 +1," in out
    assert out.count("+" + IMPORT) == 2
    assert f"would create {root / MODULE}" in err
    assert "3 files would change" in err
    files = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert files[MODULE]["created"] is True and files[MODULE]["status"] == "changed"
    assert [site["message"] for site in files[MODULE]["applied"]] == [
        "`BatchNormalization` defined once here, imported by a.py, b.py"
    ]
    assert files["a.py"]["created"] is False
    assert main(["rewrite", "--check", "-j1", str(root)]) == 1  # counted as a change


def test_output_dir_gets_the_module(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src", "a.py", "b.py")
    before = _snapshot(root)
    out = tmp_path / "out"
    assert main(["rewrite", "-j2", "--output-dir", str(out), str(root)]) == 0
    assert _snapshot(root) == before
    assert sorted(p.name for p in out.iterdir()) == ["a.py", "b.py", MODULE]
    assert IMPORT in (out / "a.py").read_text()


_FAKE_TF = """\
import sys, types
tf = types.ModuleType("tensorflow")
tf.keras = types.SimpleNamespace(layers=types.SimpleNamespace(BatchNormalization=object))
sys.modules["tensorflow"] = tf
"""
"""A stand-in for TensorFlow, enough to import the helper module (the import is what is tested)."""


def _imports_of(path: Path) -> str:
    """The script's top-level import lines."""
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    found = [
        "".join(lines[node.lineno - 1 : node.end_lineno or node.lineno])
        for node in ast.parse(text).body
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    return "".join(found)


def _run_as_script(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python script`` run from ``cwd`` (its folder first on ``sys.path``), with its imports only."""
    probe = script.with_name("probe_" + script.name)
    body = _imports_of(script) + "print(BatchNormalization.__module__)\n"
    probe.write_text(_FAKE_TF + body)
    try:
        return subprocess.run(
            [sys.executable, str(probe)], capture_output=True, text=True, cwd=cwd, check=False
        )
    finally:
        probe.unlink()


def test_scripts_in_two_folders_each_import_their_folder_module(
    tmp_path: Path, inline: str
) -> None:
    root = _tree(tmp_path, "one/a.py", "one/b.py", "two/c.py", "two/d.py", "pkg/e.py", "pkg/f.py")
    (root / "pkg" / "__init__.py").write_text("")
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert (root / "one" / MODULE).is_file() and (root / "two" / MODULE).is_file()
    assert not (root / MODULE).exists()
    for script in ("one/a.py", "one/b.py", "two/c.py", "two/d.py"):
        assert IMPORT in (root / script).read_text()
        ran = _run_as_script(root / script, cwd=tmp_path)  # not the script's folder
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == f"{MODULE_NAME}\n"
    # in a package, ``python pkg/e.py`` and ``python -m pkg.e`` differ: the files keep their copy
    assert not (root / "pkg" / MODULE).exists()
    assert (root / "pkg" / "e.py").read_text() == inline


_PART = """\
import tensorflow as tf


def block_{x}(inputs, is_training):
    h = tf.layers.conv2d(inputs, {units}, 3, padding="same", name="conv_{x}")
    h = tf.layers.batch_normalization(h, training=is_training, momentum=0.9)
    return tf.nn.relu(h)
"""
_TRAIN = """\
import numpy as np
import tensorflow as tf

from part_a import block_a
from part_b import block_b

x_data = np.random.rand(8, 4, 4, 3).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 4, 4, 3])
is_training = tf.placeholder(tf.bool, [])
loss = tf.reduce_mean(tf.square(block_b(block_a(x, is_training), is_training)))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        sess.run(train_op, {x: x_data, is_training: True})
"""
"""A program whose two imported modules each need the class (neither imports the other): each part
got its own copy (``planning.inlined_modules``); now they share the module."""


def test_two_modules_of_one_program_share_the_module(tmp_path: Path) -> None:
    (tmp_path / "part_a.py").write_text(_PART.format(x="a", units=8))
    (tmp_path / "part_b.py").write_text(_PART.format(x="b", units=4))
    (tmp_path / "train.py").write_text(_TRAIN)
    assert main(["rewrite", "-j1", str(tmp_path)]) == 0
    assert (tmp_path / MODULE).is_file()
    for part in ("part_a.py", "part_b.py"):
        text = (tmp_path / part).read_text()
        assert IMPORT in text and "class BatchNormalization" not in text
        ran = _run_as_script(tmp_path / part, cwd=tmp_path.parent)
        assert ran.returncode == 0, ran.stderr
    assert MODULE_NAME not in (tmp_path / "train.py").read_text()


@pytest.mark.slow
def test_two_programs_sharing_the_module_are_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """A tree holding the layered program (its BN class in ``ops.py``) and a script needing the class:
    both import it from the module, run on TF 2.21 and are equivalent to their TF1 originals."""
    from bn_migrate.check import CheckOptions, check_programs

    layered = REPO / "tests" / "fixtures" / "programs" / "layered"
    root = _tree(tmp_path, "conv_fused.py")
    for source in layered.glob("*.py"):
        shutil.copy(source, root / source.name)
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert IMPORT in (root / "ops.py").read_text()
    assert IMPORT in (root / "conv_fused.py").read_text()
    assert (root / MODULE).is_file()
    options = CheckOptions(timeout=240)
    for original, new in ((layered / "train.py", "train.py"), (FUSED, "conv_fused.py")):
        result = check_programs(original, root / new, options, old_cache=old_cache)
        assert result.verdict == "equivalent", result.render_text()


def test_each_file_imports_exactly_the_names_it_used(tmp_path: Path, inline: str) -> None:
    root = _tree(tmp_path, "a.py")
    rmsprop = FUSED.read_text().replace(
        "tf.train.MomentumOptimizer(learning_rate=0.05, momentum=0.9)",
        "tf.train.RMSPropOptimizer(learning_rate=0.01)",
    )
    (root / "rms.py").write_text(rmsprop)
    alone = rewrite_source(rmsprop, path="rms.py").code
    assert main(["rewrite", "-j1", str(root)]) == 0
    assert IMPORT in (root / "a.py").read_text()
    text = (root / "rms.py").read_text()
    assert f"from {MODULE_NAME} import BatchNormalization, TF1RMSprop\n" in text
    module = (root / MODULE).read_text()
    assert module.index("class BatchNormalization(") < module.index("class TF1RMSprop(")
    for definition in ast.parse(alone).body:  # the module holds the text the file held
        if isinstance(definition, ast.ClassDef) and definition.name == "TF1RMSprop":
            assert ast.get_source_segment(alone, definition) in module
            break
    else:
        raise AssertionError("no TF1RMSprop emitted")


def _migrated(path: Path, body: str) -> Migrated:
    return Migrated(path, f"import tensorflow as tf\n\n\n{body}\n\n\nx = helper(tf)\n", ("helper",))


def _nothing_there(folder: Path, name: str) -> str | None:
    return None


def test_plan_keeps_copies_that_differ_or_read_another_tf(tmp_path: Path) -> None:
    one = _migrated(tmp_path / "a.py", "def helper(t):\n    return t")
    other = _migrated(tmp_path / "b.py", "def helper(t):\n    return None")
    assert helpers_module.plan([one, other], _nothing_there).modules == []
    rebinding = Migrated(tmp_path / "b.py", one.text + "tf = None\n", one.helpers)
    assert helpers_module.plan([one, rebinding], _nothing_there).modules == []
    placed = helpers_module.plan(
        [one, _migrated(tmp_path / "b.py", "def helper(t):\n    return t")], _nothing_there
    )
    assert [module.name for module in placed.modules] == [MODULE_NAME]
    assert (
        placed.texts[0]
        == f"import tensorflow as tf\nfrom {MODULE_NAME} import helper\n\n\nx = helper(tf)\n"
    )
    assert "import tensorflow" not in placed.modules[0].text  # the helper does not read tf


def test_a_module_and_its_importers_are_written_all_or_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path, "a.py", "b.py")
    (root / "b.py").chmod(0o444)
    before = _snapshot(root)
    assert main(["rewrite", "-j1", str(root)]) == 2
    assert _snapshot(root) == before  # a.py would import a module that is not there
    err = capsys.readouterr().err
    assert f"{root / 'a.py'}: error: not written: {root / 'b.py'}: the file is read-only" in err


def test_github_annotations_name_the_importers_not_the_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path, "a.py", "b.py")
    assert main(["rewrite", "--check", "--format", "github", "-j1", str(root)]) == 1
    out = capsys.readouterr().out
    assert "a.py" in out and "b.py" in out and MODULE not in out
