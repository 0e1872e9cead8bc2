"""Installed packages with TensorFlow code are not read: a program using one is left (BN016).

A TF1 program may build part of its graph through an installed library (tflearn, tensorlayer,
sonnet, tensorflow_hub, a colleague's pip-installed package): layers, variables and update ops the
codemod never sees. Before this check such a program was migrated with the library's call kept in
the per-step graph function: its variables made anew at every step, never trained, its BN
statistics never kept. ``analysis.modules.installed_graph_code`` finds, for each imported package
that is neither TensorFlow's nor known to build no graph, the first of its files that imports
TensorFlow; the importing file, and every program it belongs to, is left with the reason.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bn_migrate.rewrite.analysis import modules
from bn_migrate.rewrite.analysis.modules import PROGRAM_RULE, installed_graph_code
from bn_migrate.rewrite.report import Mode
from bn_migrate.rewrite.result import FileOutcome, Status
from bn_migrate.rewrite.runner import RunConfig, run_files
from tests.conftest import REPO

TRAIN = (REPO / "tests" / "fixtures" / "programs" / "two_module" / "train.py").read_text()
MODEL = (REPO / "tests" / "fixtures" / "programs" / "two_module" / "model.py").read_text()

LIBRARY_WITH_TF = textwrap.dedent(
    '''\
    """An installed layer library written for TF1."""
    import tensorflow as tf


    def net(inputs, is_training, reuse=False):
        with tf.variable_scope("net", reuse=reuse):
            h = tf.layers.dense(inputs, 16, name="fc1")
            h = tf.layers.batch_normalization(h, training=is_training, name="bn1")
            return tf.layers.dense(tf.nn.relu(h), 1, name="out")
    '''
)

LIBRARY_WITHOUT_TF = textwrap.dedent(
    '''\
    """An installed helper library with no TensorFlow: plain Python on what it is given."""


    def net(inputs, is_training, reuse=False):
        return inputs * 2.0
    '''
)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of installed packages on ``sys.path`` (as ``pip install`` makes one)."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    installed_graph_code.cache_clear()
    yield folder
    installed_graph_code.cache_clear()


def _install(site: Path, name: str, source: str, *, package: bool = True) -> Path:
    if package:
        (site / name).mkdir()
        (site / name / "__init__.py").write_text('"""Package."""\n')
        path = site / name / "layers.py"
    else:
        path = site / f"{name}.py"
    path.write_text(source)
    return path


def _run(folder: Path) -> dict[str, FileOutcome]:
    result = run_files(RunConfig(paths=(folder,), mode=Mode.DIFF, jobs=1))
    return {Path(outcome.path).name: outcome for outcome in result.outcomes}


def _project(tmp_path: Path, train: str, **modules_: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text(train)
    for name, source in modules_.items():
        (project / f"{name}.py").write_text(source)
    return project


def test_script_using_an_installed_package_with_tensorflow_code_is_left(
    tmp_path: Path, site: Path
) -> None:
    evidence = _install(site, "layerkit", LIBRARY_WITH_TF)
    project = _project(
        tmp_path, TRAIN.replace("from model import net", "from layerkit.layers import net")
    )
    outcome = _run(project)["train.py"]
    assert outcome.status is Status.SKIPPED
    (site_,) = [s for s in outcome.left if s.rule == PROGRAM_RULE]
    line = TRAIN.splitlines().index("from model import net") + 1
    assert (site_.line, site_.col) == (line, 1)
    assert "installed package with TensorFlow code" in site_.message
    assert str(evidence.relative_to(evidence.parents[1])) in site_.message  # layerkit/layers.py
    assert "never train or save them" in site_.message


def test_the_same_program_with_the_builder_in_its_own_module_migrates(tmp_path: Path) -> None:
    """The control: the builder as a module of the program is read and migrated with it."""
    project = _project(tmp_path, TRAIN, model=MODEL)
    outcomes = _run(project)
    assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
    assert outcomes["model.py"].status is Status.CHANGED


def test_installed_package_without_tensorflow_is_a_plain_library(
    tmp_path: Path, site: Path
) -> None:
    _install(site, "plainkit", LIBRARY_WITHOUT_TF)
    assert installed_graph_code("plainkit") is None
    project = _project(
        tmp_path, TRAIN.replace("from model import net", "from plainkit.layers import net")
    )
    outcome = _run(project)["train.py"]
    assert not [s for s in outcome.left if s.rule == PROGRAM_RULE], outcome.left


def test_single_module_library_importing_keras_is_found(tmp_path: Path, site: Path) -> None:
    path = _install(
        site, "kerasbits", "from keras import layers\n\nDense = layers.Dense\n", package=False
    )
    assert installed_graph_code("kerasbits") == path
    project = _project(tmp_path, "import kerasbits\n" + TRAIN)
    outcome = _run(project)["train.py"]
    assert outcome.status is Status.SKIPPED
    assert any("`kerasbits`, an installed package" in s.message for s in outcome.left)


def test_a_module_of_the_program_using_such_a_package_leaves_the_program(
    tmp_path: Path, site: Path
) -> None:
    _install(site, "layerkit", LIBRARY_WITH_TF)
    model = MODEL.replace(
        "import tensorflow as tf\n", "import tensorflow as tf\nimport layerkit.layers\n"
    )
    project = _project(tmp_path, TRAIN, model=model)
    outcomes = _run(project)
    assert outcomes["train.py"].status is Status.SKIPPED
    assert outcomes["model.py"].status is Status.SKIPPED
    assert any(
        "`model.py` imports a library with TensorFlow code" in s.message
        for s in outcomes["train.py"].left
    ), outcomes["train.py"].left
    assert any(
        "`layerkit.layers`, an installed package" in s.message for s in outcomes["model.py"].left
    )


@pytest.mark.parametrize(
    "root", ["tensorflow", "keras", "numpy", "os", "tqdm", "graphlib", "absent_pkg_x"]
)
def test_packages_the_tables_know_or_that_are_absent_are_not_read(root: str) -> None:
    installed_graph_code.cache_clear()
    assert installed_graph_code(root) is None


def test_a_package_is_read_once(
    tmp_path: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(site, "layerkit", LIBRARY_WITH_TF)
    reads: list[Path] = []
    files = modules._python_files

    def counting(folder: Path, recursive: bool):  # type: ignore[no-untyped-def]
        for path in files(folder, recursive):
            reads.append(path)
            yield path

    monkeypatch.setattr(modules, "_python_files", counting)
    assert installed_graph_code("layerkit") == installed_graph_code("layerkit")
    assert len(reads) == len(set(reads))


def test_tensorflow_imported_only_by_a_package_tests_does_not_count(site: Path) -> None:
    _install(site, "einsumish", LIBRARY_WITHOUT_TF)
    (site / "einsumish" / "tests").mkdir()
    (site / "einsumish" / "tests" / "backends.py").write_text("import tensorflow as tf\n")
    (site / "einsumish" / "test_layers.py").write_text("import tensorflow as tf\n")
    (site / "einsumish" / "layers_test.py").write_text("import tensorflow as tf\n")
    assert installed_graph_code("einsumish") is None
    backend = site / "einsumish" / "backends.py"
    backend.write_text("def run(x):\n    import tensorflow as tf\n    return tf.identity(x)\n")
    installed_graph_code.cache_clear()
    assert installed_graph_code("einsumish") == backend  # imported inside a function counts


def test_known_tensorflow_libraries_leave_the_file_installed_or_not(tmp_path: Path) -> None:
    """tflearn is not installed here: it used to read as a missing module of the program ("pass its
    folder too (or install it)"); installing it would not make the program migrate."""
    train = TRAIN.replace(
        "from model import net", "from tflearn.layers.conv import global_avg_pool"
    )
    outcome = _run(_project(tmp_path, train))["train.py"]
    assert outcome.status is Status.SKIPPED
    (site_,) = [s for s in outcome.left if s.rule == PROGRAM_RULE]
    assert site_.message.startswith("imports `tflearn.layers.conv`, a library built on TensorFlow:")
    assert "found neither" not in site_.message


def test_a_local_module_named_like_a_library_is_a_module_of_the_program(tmp_path: Path) -> None:
    project = _project(tmp_path, TRAIN.replace("from model import net", "from tflearn import net"))
    (project / "tflearn.py").write_text(MODEL)
    outcomes = _run(project)
    assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
