"""Programs spread over several modules, migrated as one (``planning.inlined_modules``).

Golden cases: each ``tests/fixtures/programs/<case>/`` tree migrates (``--output-dir``) to the committed
``examples/migrated/programs/<case>/`` tree (``<case>.diff`` beside it shows every file's change),
every output parses, and migrating the output again changes nothing. Slow tests run the checker on the
original and migrated programs, and on a planted mistake in each (``tests/fixtures/programs/planted/``:
the files that differ from the golden tree, each with a ``# PLANTED:`` line).
"""

from __future__ import annotations

import ast
import os
import shutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bn_migrate.rewrite.analysis.modules import PROGRAM_RULE
from bn_migrate.rewrite.engine import rewrite_program
from bn_migrate.rewrite.planning.inlined_modules import ProgramEdge, ProgramFile
from bn_migrate.rewrite.report import Mode, models_json, unified_diff
from bn_migrate.rewrite.result import FileOutcome, RunResult, Status
from bn_migrate.rewrite.runner import RunConfig, run_files
from tests.conftest import EXAMPLES, REPO

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

PROGRAMS = REPO / "tests" / "fixtures" / "programs"
GOLDEN = EXAMPLES / "migrated" / "programs"
CASES = ("two_module", "layered", "dotted", "try_import", "slim_factory", "slim_net")
PLANTED = PROGRAMS / "planted"


def _migrate(folder: Path, out: Path) -> RunResult:
    return run_files(RunConfig(paths=(folder,), mode=Mode.OUTPUT_DIR, output_dir=out, jobs=1))


def _by_name(result: RunResult) -> dict[str, FileOutcome]:
    return {Path(outcome.path).name: outcome for outcome in result.outcomes}


@pytest.mark.parametrize("case", CASES)
def test_program_migrates_to_its_golden_tree(case: str, tmp_path: Path) -> None:
    original = PROGRAMS / case
    result = _migrate(original, tmp_path / "out")
    outcomes = _by_name(result)
    assert all(o.status in (Status.CHANGED, Status.UNCHANGED) for o in outcomes.values()), [
        (name, o.left) for name, o in outcomes.items()
    ]
    golden = GOLDEN / case
    update = os.environ.get("BN_MIGRATE_UPDATE_GOLDEN") == "1"
    diffs = []
    for path in sorted(original.rglob("*.py")):  # packages too (``dotted``'s nets/models/)
        name = path.relative_to(original)
        migrated = (tmp_path / "out" / name).read_text(encoding="utf-8")
        ast.parse(migrated)
        if update:
            (golden / name).parent.mkdir(parents=True, exist_ok=True)
            (golden / name).write_text(migrated, encoding="utf-8")
        assert migrated == (golden / name).read_text(encoding="utf-8"), name
        diffs.append(
            unified_diff(
                path.relative_to(REPO).as_posix(), path.read_text(encoding="utf-8"), migrated
            )
        )
    diff_path = GOLDEN / f"{case}.diff"
    if update:
        diff_path.write_bytes(b"".join(diffs))
    assert diff_path.read_bytes() == b"".join(diffs), f"{diff_path} is stale"
    again = run_files(RunConfig(paths=(tmp_path / "out",), mode=Mode.CHECK, jobs=1))
    assert {o.status for o in again.outcomes} == {Status.UNCHANGED}


def test_places_and_models_belong_to_the_file_they_are_in(tmp_path: Path) -> None:
    result = _migrate(PROGRAMS / "two_module", tmp_path / "out")
    outcomes = _by_name(result)
    model, train = outcomes["model.py"], outcomes["train.py"]
    assert ("BN018", 11) in {(site.rule, site.line) for site in model.applied}  # def net(...)
    assert ("BN005", 12) in {(site.rule, site.line) for site in train.applied}  # x = placeholder
    assert not train.models and [pair.model for pair in model.models] == ["Net"]
    [entry] = models_json(result)
    assert entry["old"].endswith("two_module/model.py::net")
    assert entry["new"] == f"{tmp_path / 'out' / 'model.py'}::Net"
    assert entry["variables"]["net/bn1/moving_mean"] == "net/bn1/moving_mean"


MODEL = """\
import tensorflow as tf


def net(inputs, is_training):
    h = tf.layers.dense(inputs, 8, name="fc1")
    h = tf.layers.batch_normalization(h, training=is_training, name="bn1")
    return tf.layers.dense(h, 1, name="out")
"""

TRAIN = """\
import numpy as np
import tensorflow as tf

{import_line}

x = tf.placeholder(tf.float32, [None, 4])
y = tf.placeholder(tf.float32, [None, 1])
is_training = tf.placeholder(tf.bool, [])
loss = tf.reduce_mean(tf.square({call}(x, is_training) - y))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        sess.run(train_op, {{x: np.ones((8, 4)), y: np.ones((8, 1)), is_training: True}})
"""


def _program(import_line: str, call: str, model: str = MODEL, extra: str = "") -> list[ProgramFile]:
    train = TRAIN.format(import_line=import_line, call=call) + extra
    return [ProgramFile("train.py", train), ProgramFile("model.py", model)]


EDGE = [ProgramEdge(0, 4, 1)]


def test_import_of_the_module_object_reads_its_names_through_it() -> None:
    """``import model as m`` ... ``m.net(x)``: merged as ``net(x)``, and every name the script then
    reads from the module (the new class) is written ``m.NAME`` again."""
    train, model = rewrite_program(_program("import model as m", "m.net"), EDGE)
    assert train.status is Status.CHANGED and model.status is Status.CHANGED
    assert "import model as m\n" in train.code and 'net = m.Net(name="net")' in train.code
    assert "class Net(tf.keras.Model):" in model.code
    ast.parse(train.code)


def test_a_left_program_keeps_each_reason_in_its_file_and_line() -> None:
    """A construct no rule migrates in the model module leaves both files: the model with the
    reason at its own line (line numbers it cites are its own), the script naming the program."""
    model = MODEL.replace(
        "    return tf.layers", "    tf.add_to_collection('extra', h)\n    return tf.layers"
    )
    train, left = rewrite_program(_program("from model import net", "net", model), EDGE)
    assert train.status is Status.SKIPPED and left.status is Status.SKIPPED
    assert train.code == _program("from model import net", "net")[0].source
    [reason] = [site for site in left.left if "add_to_collection" in site.message]
    assert reason.line == 7 and "(line 4)" in reason.message  # inside `def net` (line 4)
    [(rule, line)] = [(site.rule, site.line) for site in train.left]
    assert rule == PROGRAM_RULE and line == 1


def test_a_name_bound_to_the_same_module_attribute_in_both_modules_is_merged() -> None:
    """``FLAGS = flags.FLAGS`` in the script and in the model module (cbfinn/maml's three modules do it):
    both bind one object, so merged they do not clash; each file keeps its own line."""
    flags = "from tensorflow.python.platform import flags\n\nFLAGS = flags.FLAGS\n"
    model = MODEL.replace("import tensorflow as tf\n", "import tensorflow as tf\n" + flags)
    files = _program("from model import net", "net", model, flags + "print(FLAGS is None)\n")
    train, migrated = rewrite_program(files, EDGE)
    assert train.status is Status.CHANGED and migrated.status is Status.CHANGED, train.left
    assert train.code.count("FLAGS = flags.FLAGS\n") == 1
    assert migrated.code.count("FLAGS = flags.FLAGS\n") == 1
    ast.parse(train.code)


@pytest.mark.parametrize(
    ("model_binding", "script_binding"),
    [
        ("import numpy as np\nDTYPE = np.float32\n", "DTYPE = np.float64\n"),  # other objects
        ("import numpy as np\nDTYPE = np.float32\nDTYPE = np.float64\n", "DTYPE = np.float32\n"),
    ],
)
def test_names_bound_to_other_or_unknown_attributes_still_clash(
    model_binding: str, script_binding: str
) -> None:
    files = _program("from model import net", "net", MODEL + model_binding, script_binding)
    results = rewrite_program(files, EDGE)
    assert all(r.status is Status.SKIPPED for r in results)
    reasons = [s.message for r in results for s in r.left if s.rule == PROGRAM_RULE]
    assert any("`DTYPE` is bound both here and in" in m for m in reasons), reasons


@pytest.mark.parametrize(
    ("import_line", "call", "model", "extra", "where", "expected"),
    [
        (
            "from model import net",
            "net",
            MODEL + "\nHIDDEN = 8\n",
            "HIDDEN = 3\n",
            1,
            "`HIDDEN` is bound both here and in train.py",
        ),
        (
            "from model import net",
            "net",
            MODEL + "\nLOGGER = __name__\n",
            "",
            1,
            "reads `__name__`",
        ),
        ("from model import net as build", "build", MODEL, "", 0, "under other names (`as`)"),
        ("import model", "model.net", MODEL, "print(model)\n", 0, "used here other than"),
        (
            "import model",
            "model.net",
            MODEL,
            "net = 1\n",
            0,
            "`model.net` is read here and `net` is also a name of this module",
        ),
        ("from model import net; import os", "net", MODEL, "", 0, "shares its line"),
        (
            "import pkg.model",
            "pkg.model.net",
            MODEL,
            "print(pkg.other)\n",
            0,
            "used here other than to read `pkg.model.NAME`",
        ),
        ("import pkg.model", "pkg.model.net", MODEL, "print(pkg)\n", 0, "used here other than"),
        ("import pkg.model, os", "pkg.model.net", MODEL, "", 0, "together with other modules"),
        (
            "import pkg.model",
            "pkg . model.net",
            MODEL,
            "",
            0,
            "`pkg.model.net` is written across lines or with spaces",
        ),
    ],
)
def test_programs_that_cannot_be_merged_are_left_with_the_reason(
    import_line: str, call: str, model: str, extra: str, where: int, expected: str
) -> None:
    files = _program(import_line, call, model, extra)
    results = rewrite_program(files, EDGE)
    assert all(r.status is Status.SKIPPED for r in results)
    assert all(r.code == f.source for r, f in zip(results, files))
    reasons = [site for site in results[where].left if site.rule == PROGRAM_RULE]
    assert any(expected in site.message for site in reasons), results[where].left


def test_a_dotted_import_is_merged_and_read_through_its_full_name_again() -> None:
    """``import pkg.model`` binds ``pkg``, the module reachable as ``pkg.model``: merged, each
    ``pkg.model.NAME`` read becomes ``NAME``, and what the script then reads from the module (the new
    class) is written ``pkg.model.NAME`` again under the import as written."""
    train, model = rewrite_program(_program("import pkg.model", "pkg.model.net"), EDGE)
    assert train.status is Status.CHANGED and model.status is Status.CHANGED, train.left
    assert "\nimport pkg.model\n" in train.code and 'net = pkg.model.Net(name="net")' in train.code
    assert "class Net(tf.keras.Model):" in model.code
    ast.parse(train.code)


@pytest.mark.parametrize(
    ("init", "merged"),
    [
        ("", True),
        ('"""A package."""\nfrom __future__ import print_function\n', True),
        ("from .model import net as model\n", False),  # ``pkg.model`` is then a function
        ("VERSION = 1\n", False),
    ],
)
def test_a_dotted_import_through_a_package_that_runs_code_is_left(
    init: str, merged: bool, tmp_path: Path
) -> None:
    """``import pkg.model`` reaches the module through ``pkg``'s attribute ``model``, which the
    package's ``__init__`` may bind to something else: merged only when the ``__init__`` runs no
    code of its own."""
    train = TRAIN.format(import_line="import pkg.model", call="pkg.model.net")
    write(tmp_path, {"pkg/__init__.py": init, "pkg/model.py": MODEL, "train.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    if merged:
        assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
        assert outcomes["model.py"].status is Status.CHANGED
        return
    assert outcomes["train.py"].status is Status.SKIPPED
    assert any(
        "`pkg/__init__.py` runs code of its own that may bind them" in site.message
        for site in outcomes["train.py"].left
    ), outcomes["train.py"].left


@pytest.mark.parametrize(
    ("import_line", "call", "init", "left"),
    [
        ("from pkg import model", "model.net", "", None),
        ("from pkg import model as m", "m.net", "", None),
        # ``model`` is then the function: the package's own import of it is a reason of its own
        (
            "from pkg import model",
            "model.net",
            "from .model import net as model\n",
            "`pkg/__init__",
        ),
        (
            "from pkg import model",
            "model.net",
            "VERSION = 1\n",
            "`pkg/__init__.py` runs code of its own",
        ),
    ],
)
def test_a_submodule_imported_from_its_package_is_merged_and_read_through_its_name(
    import_line: str, call: str, init: str, left: str | None, tmp_path: Path
) -> None:
    """``from nets import inception_v3`` / ``from official.resnet import resnet_model``: the name is the
    submodule (when the package's ``__init__`` runs no code that may bind it to something else), read
    as ``model.NAME`` like ``import pkg.model as model``; the import comes back as written. It was
    merged as an import of names, and the script's ``model.net`` read nothing."""
    train = TRAIN.format(import_line=import_line, call=call)
    write(tmp_path, {"pkg/__init__.py": init, "pkg/model.py": MODEL, "train.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    if left is not None:
        assert outcomes["train.py"].status is Status.SKIPPED
        assert outcomes["model.py"].status is Status.SKIPPED
        assert any(
            site.rule == PROGRAM_RULE and left in site.message for site in outcomes["train.py"].left
        ), outcomes["train.py"].left
        return
    assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
    assert outcomes["model.py"].status is Status.CHANGED
    local = call.split(".")[0]
    files = [
        ProgramFile("train.py", train),
        ProgramFile(str(tmp_path / "pkg" / "model.py"), MODEL),
    ]
    migrated, _ = rewrite_program(files, EDGE)
    assert f"\n{import_line}\n" in migrated.code
    assert f'net = {local}.Net(name="net")' in migrated.code
    ast.parse(migrated.code)


def test_a_submodule_imported_relatively_is_merged(tmp_path: Path) -> None:
    """``from . import model`` in a package's script (run with ``python -m pkg.train``)."""
    train = TRAIN.format(import_line="from . import model", call="model.net")
    write(tmp_path, {"pkg/__init__.py": "", "pkg/model.py": MODEL, "pkg/train.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
    assert outcomes["model.py"].status is Status.CHANGED


def test_a_function_named_like_its_module_is_read_through_the_module() -> None:
    """tf-slim's ``inception_v3.inception_v3(...)``: the module's name is bound only by its import,
    which goes when the modules are merged, so reading its function of the same name is no clash
    (it was refused as one). Migrated, the builder's instance takes another name in the script
    (``model_model = model.Model(...)``: named ``model`` it would hide the module, as it did, left);
    under another module name it keeps the function's."""
    model = MODEL.replace("def net(", "def model(")
    train, migrated = rewrite_program(_program("import model", "model.model", model), EDGE)
    assert train.status is Status.CHANGED and migrated.status is Status.CHANGED, train.left
    assert 'model_model = model.Model(name="model")' in train.code
    assert "model_model(x, training=is_training)" in train.code
    ast.parse(train.code)
    train, migrated = rewrite_program(_program("import model as m", "m.model", model), EDGE)
    assert train.status is Status.CHANGED and migrated.status is Status.CHANGED, train.left
    assert 'model = m.Model(name="model")' in train.code
    ast.parse(train.code)


GRADS = """\
from tensorflow.python.framework import ops


@ops.RegisterGradient("BnMigrateTestGrad")
def _grad(op, grad):
    return grad
"""

TRY_IMPORT = """\
from model import net
try:
    import grads
except KeyError as e:
    print(e)
"""


@pytest.mark.parametrize(
    ("block", "grads", "extra", "expected"),
    [
        (TRY_IMPORT, GRADS, "", None),
        (TRY_IMPORT.replace("try:\n", "if x_of_run():\n", 1).split("except")[0], GRADS, "", None),
        (
            TRY_IMPORT.replace("    print(e)", "    import grads_v2 as grads"),
            GRADS,
            "",
            "imported inside `try:` (line 5)",
        ),
        (TRY_IMPORT, GRADS, "print(grads._grad)\n", "imported inside `try:` (line 5)"),
        (TRY_IMPORT, GRADS + "CACHE = {}\n", "", "imported inside `try:` (line 5)"),
        (
            TRY_IMPORT,
            "import tensorflow as tf\n"
            + GRADS
            + "\n\ndef helper(x):\n    return tf.layers.dense(x, 1)\n",
            "",
            "imported inside `try:` (line 5)",  # merged: it needs a migration of its own
        ),
    ],
)
def test_a_module_imported_only_to_register_gradients_is_kept_as_written(
    block: str, grads: str, extra: str, expected: str | None
) -> None:
    """cbfinn/maml's ``try: import special_grads`` / ``except KeyError``: a module whose import only
    registers gradient functions, its name never read, stays as written outside the merged program,
    its import where it was (the ``except`` branch runs as before when the registration fails).
    Merged inside the ``try``, names it bound before failing would stay; so any other such import
    (the ``except`` branch binding the name to another module, the name read, the module doing
    more on import, or needing a migration itself) leaves the program, saying why."""
    train = TRAIN.format(import_line=block, call="net") + extra
    files = [
        ProgramFile("train.py", train),
        ProgramFile("model.py", MODEL),
        ProgramFile("grads.py", grads),
    ]
    results = rewrite_program(files, [ProgramEdge(0, 4, 1), ProgramEdge(0, 6, 2)])
    if expected is None:
        assert [r.status for r in results] == [Status.CHANGED, Status.CHANGED, Status.UNCHANGED], [
            r.left for r in results
        ]
        assert block.replace("from model import net\n", "") in results[0].code
        assert results[2].code == grads
        ast.parse(results[0].code)
        return
    assert all(r.status is Status.SKIPPED for r in results[:2]), [r.left for r in results]
    assert all(r.code == f.source for r, f in zip(results, files))
    reasons = [site.message for r in results for site in r.left if site.rule == PROGRAM_RULE]
    assert any(expected in message for message in reasons), reasons


def test_a_model_module_imported_inside_a_function_is_left_saying_so() -> None:
    """The module's code would run when and if ``build`` is called: not merged where it stands."""
    block = "def build(inputs, training):\n    from model import net\n\n    return net(inputs, training)\n"
    files = _program(block, "build")
    results = rewrite_program(files, [ProgramEdge(0, 5, 1)])
    assert all(r.status is Status.SKIPPED for r in results)
    reasons = [site.message for site in results[0].left if site.rule == PROGRAM_RULE]
    assert any("imported inside `def build` (line 4)" in m for m in reasons), reasons


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("    print(HIDDEN)\n", None),
        ("    print(net)\n", "block reads `net`, which the migration changes"),
        ("    with tf.Session() as session:\n        pass\n", "block runs TF1 code"),
    ],
)
def test_a_modules_main_block_stands_aside(block: str, expected: str | None) -> None:
    """``if __name__ == "__main__":`` does not run on import: it is kept as written, provided it
    holds no TF1 code and every name it reads survives the migration."""
    model = MODEL + '\nHIDDEN = 8\n\nif __name__ == "__main__":\n' + block
    files = _program("from model import net", "net", model)
    train, migrated = rewrite_program(files, EDGE)
    if expected is None:
        assert migrated.status is Status.CHANGED and train.status is Status.CHANGED
        assert migrated.code.endswith('\nif __name__ == "__main__":\n' + block)
    else:
        assert migrated.status is Status.SKIPPED and train.status is Status.SKIPPED
        assert any(expected in site.message for site in migrated.left), migrated.left


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_a_module_two_programs_share_migrates_once_when_both_agree(tmp_path: Path) -> None:
    train = TRAIN.format(import_line="from model import net", call="net")
    write(tmp_path, {"model.py": MODEL, "train.py": train, "evaluate.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=2)))
    assert {name: o.status for name, o in outcomes.items()} == dict.fromkeys(
        ("evaluate.py", "model.py", "train.py"), Status.CHANGED
    )
    assert b"+class Net(tf.keras.Model):" in (outcomes["model.py"].diff or b"")


def test_programs_sharing_a_module_read_through_its_name_migrate(tmp_path: Path) -> None:
    """``import ops`` ... ``ops.act(h)`` in model.py, which two programs share: each import is
    merged once (the import edges of programs sharing modules were listed once per program,
    and the ``model.`` prefix was then cut three characters too wide per extra copy, so the merged
    module failed to parse and every file was left without a reason)."""
    train = TRAIN.format(import_line="import model", call="model.net")
    ops = "import tensorflow as tf\n\n\ndef act(x):\n    return tf.nn.relu(x)\n"
    model = MODEL.replace("import tensorflow as tf\n", "import tensorflow as tf\n\nimport ops\n")
    model = model.replace(
        '    return tf.layers.dense(h, 1, name="out")',
        '    return tf.layers.dense(ops.act(h), 1, name="out")',
    )
    write(tmp_path, {"model.py": model, "ops.py": ops, "train.py": train, "evaluate.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    assert {name: o.status for name, o in outcomes.items()} == {
        **dict.fromkeys(("evaluate.py", "model.py", "train.py"), Status.CHANGED),
        "ops.py": Status.UNCHANGED,
    }, {name: o.left for name, o in outcomes.items()}
    assert b"+net = model.Net(" in (outcomes["train.py"].diff or b"")


def test_a_merged_program_that_fails_is_left_with_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever makes the merged module fail (an inlining bug), each file says so: never a program
    whose files all point at each other's reasons and none gives one."""
    from bn_migrate.rewrite import engine
    from bn_migrate.rewrite.result import RewriteResult

    original = engine.rewrite_source

    def failing(code: str, **kwargs: Any) -> RewriteResult:
        if "blockers" in kwargs:  # each file on its own, after the merged module failed
            return original(code, **kwargs)
        return RewriteResult(status=Status.FAILED, code=code, error="3:1 tokenizer error: boom")

    train = TRAIN.format(import_line="from model import net", call="net")
    write(tmp_path, {"model.py": MODEL, "train.py": train})
    monkeypatch.setattr(engine, "rewrite_source", failing)
    files = [
        ProgramFile(str(tmp_path / name), (tmp_path / name).read_text())
        for name in ("train.py", "model.py")
    ]
    line = next(i for i, text in enumerate(train.splitlines(), 1) if text.startswith("from model"))
    results = rewrite_program(files, [ProgramEdge(0, line, 1)])
    messages = [site.message for result in results for site in result.left]
    assert any("the merged program fails: tokenizer error: boom" in m for m in messages), messages


def test_a_module_two_programs_migrate_differently_is_left_with_both(tmp_path: Path) -> None:
    """evaluate.py never runs the update ops (momentum 1.0 for it), train.py does: no single
    migration of model.py serves both, so all three are left, the difference named."""
    train = TRAIN.format(import_line="from model import net", call="net")
    evaluate = train.replace(
        "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "with tf.control_dependencies(update_ops):\n    train_op",
        "train_op",
    )
    assert "UPDATE_OPS" not in evaluate
    write(tmp_path, {"model.py": MODEL, "train.py": train, "evaluate.py": evaluate})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    assert {o.status for o in outcomes.values()} == {Status.SKIPPED}
    [reason] = outcomes["model.py"].left
    assert "migrate it differently" in reason.message and "momentum=1.0" in reason.message
    for script in ("train.py", "evaluate.py"):
        [reason] = outcomes[script].left
        assert "migrated only together with the programs sharing its modules" in reason.message


@pytest.mark.parametrize(
    ("serve", "why"),
    [
        (
            "import importlib\nimport tensorflow as tf\nfrom model import net\n\n"
            "importlib.import_module('x')\n",
            "it has imports that cannot be resolved: see its own reasons",
        ),
        (
            "import importlib\nfrom model import net\n\nimportlib.import_module('x')\n",
            "it is no script of this run: not given, or naming no TensorFlow itself",
        ),
        (
            "import tensorflow as tf\nfrom model import net\nimport cyc_a\n",
            "its own program is left: the program's modules import each other in a cycle",
        ),
    ],
)
def test_a_module_also_imported_outside_any_program_is_left(
    serve: str, why: str, tmp_path: Path
) -> None:
    """A module imported by a file that is no program migrated here: migrating the module would break
    that file. The reason says why that file is no program."""
    train = TRAIN.format(import_line="from model import net", call="net")
    cycle = "import tensorflow as tf\nimport cyc_{}\n\nX = tf.constant(1)\n"
    write(
        tmp_path,
        {
            "model.py": MODEL,
            "train.py": train,
            "serve.py": serve,
            "cyc_a.py": cycle.format("b"),
            "cyc_b.py": cycle.format("a"),
        },
    )
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    assert outcomes["train.py"].status is Status.SKIPPED
    expected = (
        "`model.py` is also imported by serve.py, which is not part of a program migrated here "
        f"({why})"
    )
    assert any(expected in site.message for site in outcomes["train.py"].left), outcomes[
        "train.py"
    ].left


def test_modules_importing_each_other_are_left(tmp_path: Path) -> None:
    model = "from ops import helper\n" + MODEL
    ops = "import tensorflow as tf\nfrom model import net\n\n\ndef helper(x):\n    return x\n"
    train = TRAIN.format(import_line="from model import net", call="net")
    write(tmp_path, {"model.py": model, "ops.py": ops, "train.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    assert outcomes["train.py"].status is Status.SKIPPED
    assert any("in a cycle" in site.message for site in outcomes["train.py"].left)


def test_a_program_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    """A file of the program cannot be written (read-only): no file of it is, each says why."""
    train = TRAIN.format(import_line="from model import net", call="net")
    write(tmp_path, {"model.py": MODEL, "train.py": train})
    (tmp_path / "model.py").chmod(0o444)
    try:
        outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.WRITE, jobs=1)))
    finally:
        (tmp_path / "model.py").chmod(0o644)
    assert outcomes["model.py"].status is Status.FAILED
    assert "read-only" in (outcomes["model.py"].error or "")
    assert outcomes["train.py"].status is Status.FAILED
    assert "model.py, of the same program, could not be" in (outcomes["train.py"].error or "")
    assert (tmp_path / "train.py").read_text(encoding="utf-8") == textwrap.dedent(train)
    assert (tmp_path / "model.py").read_text(encoding="utf-8") == MODEL
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_entry_alone_names_its_modules_to_pass(tmp_path: Path) -> None:
    train = TRAIN.format(import_line="from model import net", call="net")
    write(tmp_path, {"model.py": MODEL, "train.py": train})
    [outcome] = run_files(RunConfig(paths=(tmp_path / "train.py",), mode=Mode.DIFF)).outcomes
    assert outcome.status is Status.SKIPPED
    assert any("not among the files being rewritten" in site.message for site in outcome.left)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_migrated_program_is_equivalent_and_a_planted_mistake_is_caught(
    case: str, tmp_path: Path, old_cache: OldRunCache
) -> None:
    from bn_migrate.check import CheckOptions, check_programs

    original = PROGRAMS / case / "train.py"
    options = CheckOptions(timeout=240)
    good = check_programs(original, GOLDEN / case / "train.py", options, old_cache=old_cache)
    assert good.verdict == "equivalent", good.render_text()
    planted = tmp_path / case
    shutil.copytree(GOLDEN / case, planted)
    for mistake in (PLANTED / case).rglob("*.py"):
        assert "# PLANTED:" in mistake.read_text(encoding="utf-8")
        shutil.copy(mistake, planted / mistake.relative_to(PLANTED / case))
    bad = check_programs(original, planted / "train.py", options, old_cache=old_cache)
    assert bad.verdict == "different", bad.render_text()


STAR_UTILS = "import tensorflow as tf\n\n\ndef square(t):\n    return tf.square(t)\n"


def test_a_script_using_tensorflow_only_through_a_star_import_is_part_of_its_program(
    tmp_path: Path,
) -> None:
    """``from utils import *`` where utils imports tensorflow: the script names no TensorFlow itself,
    yet all its TF1 code is TensorFlow's. Once silently "unchanged"; now migrated with its module, or
    left with the reasons when the program cannot be merged."""
    train = TRAIN.format(import_line="", call="square").replace(
        "import numpy as np\nimport tensorflow as tf\n", "import numpy as np\nfrom utils import *\n"
    )
    assert "tensorflow" not in train
    write(tmp_path, {"utils.py": STAR_UTILS, "train.py": train})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.DIFF, jobs=1)))
    assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
    assert b"+import tensorflow as tf\n" in (outcomes["train.py"].diff or b"")
    dynamic = train + "import importlib\nimportlib.import_module('json')\n"
    write(tmp_path, {"train.py": dynamic})
    outcomes = _by_name(run_files(RunConfig(paths=(tmp_path,), mode=Mode.CHECK, jobs=1)))
    assert outcomes["train.py"].status is Status.SKIPPED
    assert any("chosen at run time" in site.message for site in outcomes["train.py"].left)


@pytest.mark.parametrize(
    ("alias", "merged"),
    [("slim = tf.contrib.slim", True), ("slim = tf.contrib.layers", False)],
)
def test_a_module_bound_by_assignment_and_imported_elsewhere_is_one_name(
    alias: str, merged: bool
) -> None:
    """``slim = tf.contrib.slim`` in the model module, ``import tensorflow.contrib.slim as slim`` in the
    script: both bind one module object, so merged they do not clash, and the program migrates
    (``planning.module_aliases``). Another module under the same name still clashes."""
    folder = PROGRAMS / "slim_factory"
    model = (folder / "model.py").read_text(encoding="utf-8")
    model = model.replace("import tensorflow.contrib.slim as slim", alias)
    train = (folder / "train.py").read_text(encoding="utf-8")
    line = train.splitlines().index("import model") + 1
    files = [ProgramFile("train.py", train), ProgramFile("model.py", model)]
    train_result, model_result = rewrite_program(files, [ProgramEdge(0, line, 1)])
    if not merged:
        assert train_result.status is Status.SKIPPED and model_result.status is Status.SKIPPED
        assert any("`slim` is bound both here and in" in s.message for s in model_result.left)
        return
    assert train_result.status is Status.CHANGED, model_result.left
    assert model_result.status is Status.CHANGED
    golden = (GOLDEN / "slim_factory" / "model.py").read_text(encoding="utf-8")
    assert model_result.code == golden  # as with the import: the alias line goes with it
