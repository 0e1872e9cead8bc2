"""Programs made of several modules: a file is migrated alone only when no other module of its program can
change what it means (``bn_migrate.rewrite.analysis.modules``, reported as BN016).

The two unsound migrations a per-file codemod made on public repositories have a regression test each:
a training script whose BN helper lives in a sibling module (moments + EMA under ``tf.cond``), and a model
module without a session whose update ops another module runs (its momentum became 1.0).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bn_migrate.rewrite.analysis.modules import PROGRAM_RULE, ProgramGraph
from bn_migrate.rewrite.report import Mode
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.runner import FileOutcome, RunConfig, run_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf1"
TRAIN = (FIXTURES / "layers_mlp_placeholder.py").read_text(encoding="utf-8")
"""A complete TF1 program the codemod migrates when it stands alone."""

BN_HELPER = """\
import tensorflow as tf


def batch_norm(x, n_out, phase_train):
    beta = tf.Variable(tf.constant(0.0, shape=[n_out]), name="beta")
    gamma = tf.Variable(tf.constant(1.0, shape=[n_out]), name="gamma")
    batch_mean, batch_var = tf.nn.moments(x, [0], name="moments")
    ema = tf.train.ExponentialMovingAverage(decay=0.5)

    def mean_var_with_update():
        ema_apply_op = ema.apply([batch_mean, batch_var])
        with tf.control_dependencies([ema_apply_op]):
            return tf.identity(batch_mean), tf.identity(batch_var)

    mean, var = tf.cond(phase_train, mean_var_with_update,
                        lambda: (ema.average(batch_mean), ema.average(batch_var)))
    return tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)
"""

RESNET_MODEL = """\
import tensorflow as tf


def batch_norm_relu(inputs, training):
    inputs = tf.layers.batch_normalization(
        inputs=inputs, axis=-1, momentum=0.997, epsilon=1e-5, center=True, scale=True,
        training=training, fused=True)
    return tf.nn.relu(inputs)
"""

RUN_LOOP = """\
import numpy as np
import tensorflow as tf

import resnet_model

x = tf.placeholder(tf.float32, [None, 4])
is_training = tf.placeholder(tf.bool)
loss = tf.reduce_mean(resnet_model.batch_norm_relu(tf.layers.dense(x, 8), is_training))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        sess.run(train_op, {x: np.ones((8, 4), np.float32), is_training: True})
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def rewrite(*paths: Path) -> dict[str, FileOutcome]:
    result = run_files(RunConfig(paths=paths, mode=Mode.DIFF, jobs=1))
    return {Path(o.path).name: o for o in result.outcomes}


def program_reasons(outcome: FileOutcome) -> list[tuple[int, str]]:
    """The BN016 reasons naming the modules that share the file's program (not why they could not
    be migrated together: see ``merge_refusals``)."""
    return [
        (site.line, site.message)
        for site in outcome.left
        if site.rule == PROGRAM_RULE and "migrated together" not in site.message
    ]


def merge_refusals(outcome: FileOutcome) -> list[tuple[int, str]]:
    return [
        (site.line, site.message)
        for site in outcome.left
        if site.rule == PROGRAM_RULE and "migrated together" in site.message
    ]


def with_import(line: str) -> str:
    """The migratable program with one more import after ``import tensorflow as tf``."""
    return TRAIN.replace("import tensorflow as tf\n", f"import tensorflow as tf\n{line}\n", 1)


def test_a_program_alone_in_its_folder_still_migrates(tmp_path: Path) -> None:
    write(tmp_path, {"train.py": TRAIN})
    assert rewrite(tmp_path)["train.py"].status is Status.CHANGED


def test_unsound_case_1_script_whose_bn_helper_is_a_sibling_module_is_left(tmp_path: Path) -> None:
    """brando90/tensor_flow_experiments shape: the script was migrated without the helper's variables
    and statistics. Now the two are one program, left together: the helper with its own reasons
    (moments + EMA are not migrated), the script naming it."""
    write(tmp_path, {"train.py": with_import("import bn_helper"), "bn_helper.py": BN_HELPER})
    outcomes = rewrite(tmp_path)
    script, helper = outcomes["train.py"], outcomes["bn_helper.py"]
    assert script.status is Status.SKIPPED and helper.status is Status.SKIPPED
    [(line, message)] = program_reasons(script)
    assert line == 1 and "migrated only together with" in message and "bn_helper.py" in message
    assert any("ExponentialMovingAverage" in site.message for site in helper.left)
    assert all(site.rule != PROGRAM_RULE for site in helper.left)


def test_unsound_case_1_also_when_only_the_script_is_named(tmp_path: Path) -> None:
    write(tmp_path, {"train.py": with_import("import bn_helper"), "bn_helper.py": BN_HELPER})
    outcomes = rewrite(tmp_path / "train.py")
    assert list(outcomes) == ["train.py"]
    assert outcomes["train.py"].status is Status.SKIPPED and program_reasons(outcomes["train.py"])


def test_unsound_case_2_model_module_whose_update_ops_another_module_runs(tmp_path: Path) -> None:
    """CapProNet_tf shape: resnet_model.py alone got momentum=1.0 ("update ops never ran") although the
    run loop runs UPDATE_OPS. Given alone, its importer is found on disk and it is left; given with it,
    the two migrate as one program and the momentum stays 0.997."""
    write(tmp_path, {"resnet_model.py": RESNET_MODEL, "run_loop.py": RUN_LOOP})
    alone = rewrite(tmp_path / "resnet_model.py")["resnet_model.py"]
    assert alone.status is Status.SKIPPED
    assert any("imported by" in m and "run_loop.py:4" in m for _, m in program_reasons(alone))
    both = rewrite(tmp_path)  # one program: migrated together, with the run loop's update ops
    assert {name: o.status for name, o in both.items()} == {
        "resnet_model.py": Status.CHANGED,
        "run_loop.py": Status.CHANGED,
    }
    model = (both["resnet_model.py"].diff or b"").decode()
    assert "momentum=0.997" in model and "momentum=1.0" not in model
    assert "resnet_model.BatchNormRelu(" in (both["run_loop.py"].diff or b"").decode()


def test_a_model_module_without_session_or_importer_keeps_its_momentum_undecided(
    tmp_path: Path,
) -> None:
    """No module of the tree runs its update ops, but one outside it may: never momentum=1.0."""
    write(tmp_path, {"resnet_model.py": RESNET_MODEL})
    outcome = rewrite(tmp_path)["resnet_model.py"]
    assert outcome.status is Status.SKIPPED, outcome
    assert outcome.diff is None
    assert any(
        site.rule == "BN001" and "without a session" in site.message for site in outcome.left
    ), outcome.left


def test_a_local_module_without_tensorflow_does_not_block(tmp_path: Path) -> None:
    data = "import numpy as np\n\n\ndef batches(n):\n    return np.ones((n, 4))\n"
    write(tmp_path, {"train.py": with_import("import data_utils"), "data_utils.py": data})
    outcomes = rewrite(tmp_path)
    assert outcomes["train.py"].status is Status.CHANGED
    assert outcomes["data_utils.py"].status is Status.UNCHANGED


def test_tensorflow_reached_through_a_module_without_it_blocks(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "train.py": with_import("import utils"),
            "utils.py": "import bn_helper\n",
            "bn_helper.py": BN_HELPER,
        },
    )
    script = rewrite(tmp_path)["train.py"]
    [(_, message)] = program_reasons(script)
    assert "imports `utils`" in message and "through bn_helper.py" in message
    assert merge_refusals(script)


@pytest.mark.parametrize(
    ("files", "script"),
    [
        (
            {"train.py": with_import("from pkg import bn_helper"), "pkg/__init__.py": ""},
            "train.py",
        ),
        (
            {
                "train.py": with_import("from pkg.bn_helper import batch_norm"),
                "pkg/__init__.py": "",
            },
            "train.py",
        ),
        (
            {
                "pkg/train.py": with_import("from .bn_helper import batch_norm"),
                "pkg/__init__.py": "",
            },
            "train.py",
        ),
        (
            {"pkg/train.py": with_import("from . import bn_helper"), "pkg/__init__.py": ""},
            "train.py",
        ),
        (
            {"pkg/sub/train.py": with_import("from .. import bn_helper"), "pkg/__init__.py": ""},
            "train.py",
        ),
    ],
    ids=["from-package-import", "from-submodule-import", "relative", "relative-dot", "relative-up"],
)
def test_package_imports_are_resolved(tmp_path: Path, files: dict[str, str], script: str) -> None:
    write(tmp_path, {**files, "pkg/bn_helper.py": BN_HELPER})
    if "pkg/sub/train.py" in files:
        (tmp_path / "pkg" / "sub" / "__init__.py").write_text("", encoding="utf-8")
    outcome = rewrite(tmp_path)[script]
    assert outcome.status is Status.SKIPPED
    assert any("bn_helper" in message for _, message in program_reasons(outcome))


def test_dynamic_imports_leave_the_program(tmp_path: Path) -> None:
    write(tmp_path, {"train.py": with_import("import importlib\nimportlib.import_module('model')")})
    [(line, message)] = program_reasons(rewrite(tmp_path)["train.py"])
    assert line == 6 and "importlib.import_module" in message


def test_a_module_found_nowhere_may_be_part_of_the_program(tmp_path: Path) -> None:
    """brando90 shape: `from my_lib.lib_building_blocks_nn_rbf import *` names a package that is in
    neither the tree nor the environment; it may hold the BN helper, so the script is left."""
    write(tmp_path, {"train.py": with_import("from my_lib.blocks import *")})
    [(line, message)] = program_reasons(rewrite(tmp_path)["train.py"])
    assert (
        line == 5 and "`my_lib.blocks` is found neither beside this file nor installed" in message
    )
    write(tmp_path, {"train.py": with_import("import sys\nsys.path.append('..')\nimport my_lib")})
    [(line, message)] = program_reasons(rewrite(tmp_path)["train.py"])
    assert line == 7 and "sys.path" in message


@pytest.mark.parametrize(
    "module",
    ["numpy", "os.path", "cv2", "cPickle", "scipy.misc", "networkx", "nose.tools", "fs.zipfs"],
)
def test_standard_installed_and_well_known_libraries_are_not_program_modules(
    tmp_path: Path, module: str
) -> None:
    write(tmp_path, {"train.py": with_import(f"import {module}")})
    assert rewrite(tmp_path)["train.py"].status is Status.CHANGED


def test_a_namespace_package_folder_resolves(tmp_path: Path) -> None:
    write(tmp_path, {"train.py": with_import("import data.loaders"), "data/loaders.py": "X = 1\n"})
    assert rewrite(tmp_path)["train.py"].status is Status.CHANGED


def test_a_module_imported_only_by_itself_or_by_a_file_without_tf1_code(tmp_path: Path) -> None:
    """The graph is asked only about files with TF1 code; a TF2 file importing a TF1 module is fine
    for the TF2 file (nothing to migrate); the TF1 module is left for its own reasons."""
    tf2 = "import tensorflow as tf\nimport bn_helper\n\nlayer = tf.keras.layers.Dense(3)\n"
    write(tmp_path, {"bn_helper.py": BN_HELPER, "serve.py": tf2})
    outcomes = rewrite(tmp_path)
    assert outcomes["serve.py"].status is Status.UNCHANGED
    helper = outcomes["bn_helper.py"]  # merged with serve.py, and left for its own reasons
    assert helper.status is Status.SKIPPED
    assert any("ExponentialMovingAverage" in site.message for site in helper.left)


def test_graph_reads_each_file_once_and_finds_importers(tmp_path: Path) -> None:
    write(
        tmp_path, {"a.py": "import b\nimport tensorflow\n", "b.py": "import c\n", "c.py": "x = 1\n"}
    )
    graph = ProgramGraph.build([tmp_path / "c.py"])
    assert set(graph.facts) == {tmp_path / n for n in ("a.py", "b.py", "c.py")}
    assert graph.facts[tmp_path / "a.py"].uses_tensorflow
    assert [e.importer.name for e in graph.importers[tmp_path / "c.py"]] == ["b.py"]
    assert graph.reaches_tensorflow(tmp_path / "a.py") is None


def test_imports_nested_in_any_block_are_found(tmp_path: Path) -> None:
    """Imports are read from every statement, at any depth (functions, classes, try/except, with,
    match...); an import written in a string is not one."""
    nested = """\
        import tensorflow as tf
        '''Usage: import m0'''


        def build():
            try:
                import m1
            except ImportError:
                import m2
            else:
                import m3
            finally:
                import m4
            with open("x"):
                for _ in range(2):
                    while True:
                        import m5
            match tf:
                case _:
                    import m6


        class Model:
            if True:
                import m7
    """
    modules = {f"m{k}.py": "import tensorflow\n" for k in range(8)}
    write(tmp_path, {"main.py": nested, **modules})
    graph = ProgramGraph.build([tmp_path / "main.py"])
    found = sorted(edge.module for edge in graph.facts[tmp_path / "main.py"].imports)
    assert found == [f"m{k}" for k in range(1, 8)]


def test_a_neighbours_dynamic_imports_are_not_its_importers_business(tmp_path: Path) -> None:
    """Only the files of the run are asked for their own blockers; a sibling's dynamic import or
    unresolved import does not reach them (the sibling is read for its imports alone)."""
    sibling = "import importlib\nimport nowhere_to_be_found\nimportlib.import_module('x')\n"
    write(tmp_path, {"train.py": TRAIN, "tools.py": sibling})
    assert rewrite(tmp_path / "train.py")["train.py"].status is Status.CHANGED
    graph = ProgramGraph.build([tmp_path / "train.py"])
    assert not graph.facts[tmp_path / "tools.py"].dynamic
    assert not graph.facts[tmp_path / "tools.py"].unresolved


def test_installed_packages_beside_a_package_are_libraries(tmp_path: Path) -> None:
    """A package under ``site-packages``: its own tree is read for importers, the other installed
    packages there are not (they are libraries of their own, not modules of its program)."""
    site = tmp_path / "lib" / "site-packages"
    write(
        site,
        {
            "pkg/__init__.py": "",
            "pkg/model.py": RESNET_MODEL,
            "pkg/train.py": "from . import model\nimport tensorflow\n",
            "other/__init__.py": "",
            "other/user.py": "import pkg.model\nimport tensorflow\n",
        },
    )
    graph = ProgramGraph.build([site / "pkg" / "model.py"])
    assert [e.importer.name for e in graph.importers[site / "pkg" / "model.py"]] == ["train.py"]
    assert site / "other" / "user.py" not in graph.facts
    write(tmp_path / "project", {"pkg/__init__.py": "", "pkg/model.py": RESNET_MODEL})
    write(tmp_path / "project", {"other/__init__.py": "", "other/user.py": "import pkg.model\n"})
    project = ProgramGraph.build([tmp_path / "project" / "pkg" / "model.py"])
    importers = project.importers[tmp_path / "project" / "pkg" / "model.py"]
    assert [e.importer.name for e in importers] == ["user.py"]


def test_a_package_in_a_busy_folder_reads_only_the_files_that_name_it(tmp_path: Path) -> None:
    """A checkout copied into ``/tmp`` makes ``/tmp`` the folder above its package: of that folder's
    tree, only the files that spell the package's name (or stand beside it) can import one of its
    modules; the thousands of others are not parsed. Sibling scripts importing it are still found."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/model.py": RESNET_MODEL,
            "beside.py": "import os\n",
            "tools/__init__.py": "",
            "tools/train.py": "import pkg.model\nimport tensorflow\n",
            "elsewhere/job/run.py": "import numpy\nimport tensorflow\n",
            "elsewhere/job/notes.ipynb": '{"cells": []}',
        },
    )
    graph = ProgramGraph.build([tmp_path / "pkg" / "model.py"])
    importers = graph.importers[tmp_path / "pkg" / "model.py"]
    assert [e.importer.name for e in importers] == ["train.py"]
    assert tmp_path / "beside.py" in graph.facts
    assert tmp_path / "elsewhere" / "job" / "run.py" not in graph.facts
    assert tmp_path / "elsewhere" / "job" / "notes.ipynb" not in graph.facts


def test_a_plain_module_is_not_the_package_of_a_dotted_import(tmp_path: Path) -> None:
    # google-research/bert's modeling.py was said to be imported by tensorpack's
    # `from modeling.generalized_rcnn import ...` (a package of tensorpack's own): `m.sub` cannot be
    # found in a plain module `m.py`, whose import then fails
    write(
        tmp_path, {"m.py": "import tensorflow\n", "x.py": "from m.sub import g\nimport m.other\n"}
    )
    graph = ProgramGraph.build([tmp_path / "m.py"])
    assert graph.importers.get(tmp_path / "m.py", []) == []
    write(tmp_path, {"p/__init__.py": "import tensorflow\n", "y.py": "from p.sub import g\n"})
    graph = ProgramGraph.build([tmp_path / "p" / "__init__.py"])
    assert [e.importer.name for e in graph.importers[tmp_path / "p" / "__init__.py"]] == ["y.py"]


def test_a_package_folder_named_by_no_identifier_is_read_alone(tmp_path: Path) -> None:
    # google-research/bert checked out as `google-research+bert` beside other repositories, with an
    # `__init__.py` at its root: every sibling repository was parsed (13.7 s against 1.5 s alone)
    write(tmp_path / "repos", {"my-bert/__init__.py": "", "my-bert/modeling.py": RESNET_MODEL})
    write(tmp_path / "repos", {"other/train.py": "import modeling\nimport tensorflow\n"})
    model = tmp_path / "repos" / "my-bert" / "modeling.py"
    graph = ProgramGraph.build([model])
    assert tmp_path / "repos" / "other" / "train.py" not in graph.facts
    assert graph.importers.get(model, []) == []
