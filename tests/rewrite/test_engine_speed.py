"""The engine's shortcuts give exactly what the slow paths they replace give.

- ``_add_imports`` runs libcst's ``AddImportsVisitor`` on the module's head only;
- ``_remove_imports`` runs ``RemoveImportsVisitor`` on the import lines only when no name it may
  remove is spelled elsewhere;
- the modules the expansions write (wrapper classes, dense helpers, default-session runs) are
  recorded for ``walks`` like the file's own;
- ``_ApplyEdits`` skips subtrees that hold no edit;
- ``_unparsable`` asks CPython's parser first;
- ``node_positions`` resolves positions without the metadata wrapper's extra walk;
- ``Program`` reads ranks only when a rule asks for one.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from bn_migrate.rewrite import engine
from bn_migrate.rewrite.analysis import walks
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.analysis.syntax import node_positions
from bn_migrate.rewrite.engine import RewriteOptions, rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rule_examples import SEED_BEFORE, program

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = sorted(
    [
        *(REPO / "tests" / "fixtures" / "tf1").glob("*.py"),
        *(REPO / "examples" / "seed_question").glob("*.py"),
    ]
)

HEADS = {
    "docstring_then_imports": '"""Doc."""\nimport numpy as np\nimport os\n\nx = 1\n',
    "future_import": '"""Doc."""\nfrom __future__ import annotations\n\nimport os\nx = 1\n',
    "no_blank_after_imports": "import os\nx = 1\ny = 2\n",
    "comment_after_imports": "import os\n# a comment\nx = 1\n",
    "blank_and_comment": "import os\n\n# a comment\ndef f():\n    return 1\n",
    "no_imports": "x = 1\n\n\ndef f():\n    return x\n",
    "code_first_then_imports": "x = 1\nimport os\ny = 2\n",
    "only_imports": "import os\nimport sys\n",
    "single_statement": "import os\n",
    "single_non_import": "x = 1\n",
    "already_imported": "import re\nimport tensorflow as tf\nx = tf.constant(1)\n",
    "tf_without_alias": "import tensorflow\nx = 1\n",
    "from_import_of_same_module": "from re import match\nimport os\n\nx = 1\n",
    "two_imports_one_line": "import os; import re\nx = 1\n",
    "strict_flag": "__strict__ = True\nimport os\nx = 1\n",
    "nested_imports_only": "def f():\n    import re\n    return re\n",
    "big_statement_after": "import os\n\n\nclass A:\n    def f(self):\n        return [i for i in range(3)]\n",
}


def _context(names: tuple[str, ...]) -> CodemodContext:
    context = CodemodContext()
    for name in names:
        AddImportsVisitor.add_needed_import(
            context, name, asname="tf" if name == "tensorflow" else None
        )
    return context


@pytest.mark.parametrize("names", [("tensorflow",), ("re",), ("re", "tensorflow")])
@pytest.mark.parametrize("name", sorted(HEADS))
def test_add_imports_on_the_head_equals_the_whole_module(name: str, names: tuple[str, ...]) -> None:
    module = cst.parse_module(HEADS[name])
    expected = AddImportsVisitor(_context(names)).transform_module(module).code
    assert engine._add_imports(module, _context(names)).code == expected


# (source, names scheduled for removal, whether the import lines alone decide it)
REMOVALS = {
    "unread": ("import tensorflow.contrib.slim as slim\nimport os\nx = os.sep\n", ("slim",), True),
    "in_docstring_and_comment": (
        '"""Uses slim."""\nimport tensorflow.contrib.slim as slim\n# slim was here\nx = 1\n',
        ("slim",),
        True,
    ),
    "attribute_of_the_same_spelling": (
        "import tensorflow as tf\nfrom tensorflow.contrib import layers\nx = tf.keras.layers.Dense\n",
        ("layers",),
        True,
    ),
    "one_of_several_names": (
        "from tensorflow.contrib import slim, layers as L  # keep\nx = L.x\n",
        ("slim",),
        True,
    ),
    "first_of_several_in_parentheses": (
        "from a import (\n    slim,  # gone\n    other,\n)\nx = other\n",
        ("slim",),
        True,
    ),
    "whole_line_among_others": (
        "import os\nimport tensorflow.contrib.slim as slim\n\nimport re\nx = (os, re)\n",
        ("slim",),
        True,
    ),
    "dotted_without_alias": ("import tensorflow.contrib.slim\nx = 1\n", ("tensorflow",), True),
    "two_on_one_line": ("import os, tensorflow.contrib.slim as slim\nx = os\n", ("slim",), True),
    "still_read": ("import tensorflow.contrib.slim as slim\nx = slim.conv2d\n", ("slim",), False),
    "read_in_a_function": (
        "import tensorflow.contrib.slim as slim\ndef f():\n    return slim\n",
        ("slim",),
        False,
    ),
    "a_local_of_the_same_name": (
        "import tensorflow.contrib.slim as slim\ndef f(slim):\n    return slim\n",
        ("slim",),
        False,
    ),
    "exported": ('import tensorflow.contrib.slim as slim\n__all__ = ["slim"]\n', ("slim",), False),
    "string_annotation": (
        'import tensorflow.contrib.slim as slim\ndef f(x: "slim.X"):\n    pass\n',
        ("slim",),
        False,
    ),
    "below_the_top_level": (
        "try:\n    import tensorflow.contrib.slim as slim\nexcept ImportError:\n    pass\n",
        ("slim",),
        False,
    ),
    "on_a_line_with_code": ("import tensorflow.contrib.slim as slim; x = 1\n", ("slim",), False),
    "future": ("from __future__ import division\nimport os\nx = 1\n", ("division",), True),
}


def _schedule(source: str, names: tuple[str, ...]) -> tuple[CodemodContext, set[str]]:
    """What ``_apply`` schedules for ``names`` (each local name of the module's imports)."""
    context = CodemodContext()
    imports: list[cst.Import | cst.ImportFrom] = []

    class Imports(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            imports.append(node)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            imports.append(node)

    cst.parse_module(source).visit(Imports())
    for small in imports:
        if not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                local = alias.evaluated_alias or alias.evaluated_name
                if local.split(".")[0] not in names:
                    continue
                if isinstance(small, cst.ImportFrom):
                    module = small.module
                    assert module is not None
                    RemoveImportsVisitor.remove_unused_import(
                        context,
                        cst.Module(body=[]).code_for_node(module),
                        obj=alias.evaluated_name,
                        asname=alias.evaluated_alias,
                    )
                else:
                    RemoveImportsVisitor.remove_unused_import(
                        context, alias.evaluated_name, asname=alias.evaluated_alias
                    )
    return context, set(names)


@pytest.mark.parametrize("name", sorted(REMOVALS))
def test_remove_imports_on_the_import_lines_equals_the_whole_module(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, names, on_lines = REMOVALS[name]
    module = cst.parse_module(source)
    context, locals_ = _schedule(source, names)
    expected = RemoveImportsVisitor(context).transform_module(module).code
    whole: list[int] = []
    original = RemoveImportsVisitor.transform_module
    monkeypatch.setattr(
        RemoveImportsVisitor,
        "transform_module",
        lambda self, tree: whole.append(1) or original(self, tree),
    )
    context, locals_ = _schedule(source, names)
    assert engine._remove_imports(module, context, locals_).code == expected
    assert (not whole) == on_lines  # the import lines alone decided it, or the whole module did
    if name in ("unread", "whole_line_among_others", "two_on_one_line"):
        assert expected != source  # the cases do remove something


def test_modules_written_by_the_expansions_are_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A program whose batch-norm wrapper class is expanded (DCGAN's) is read from a record of the
    expanded module: no analysis walks a statement of it with libcst."""
    source = (REPO / "tests" / "fixtures" / "tf1" / "dcgan_wrapper.py").read_text(encoding="utf-8")
    expected = rewrite_source(source)
    assert expected.status is Status.CHANGED
    walked: list[type] = []
    original = walks.walk

    def counting(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
        if not any(index.holds(node) for index in walks._ACTIVE) and isinstance(
            node, cst.SimpleStatementLine
        ):
            walked.append(type(node))
        original(node, visitor)

    monkeypatch.setattr(walks, "walk", counting)
    for module_name, module in list(__import__("sys").modules.items()):
        if (
            module_name.startswith("bn_migrate.rewrite")
            and getattr(module, "walk", None) is original
        ):
            monkeypatch.setattr(module, "walk", counting)
    assert rewrite_source(source) == expected
    assert len(walked) < 20, len(walked)


def test_pruned_edit_application_equals_the_full_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration with edits at many depths (the seed program, with comments before removed lines)
    comes out the same when ``_ApplyEdits`` descends everywhere."""
    source = program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)")
    pruned = rewrite_source(source)
    assert pruned.code != source
    monkeypatch.setattr(engine._EditedRanges, "below", lambda self, node: True)
    assert rewrite_source(source) == pruned


def test_unparsable_accepts_what_libcst_accepts_and_names_invalid_code() -> None:
    assert engine._unparsable("x = 1\n") is None
    site = engine._unparsable("x = = 1\n")
    assert site is not None and site.rule == engine.ENGINE_RULE
    assert site.message.startswith("internal: the rewrite does not parse (")


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_pruned_edit_application_equals_the_full_walk_on_every_program(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = path.read_text(encoding="utf-8")
    options = RewriteOptions(plain_keras_bn=True, fix_missing_updates=True)
    pruned = [rewrite_source(source, options=o) for o in (RewriteOptions(), options)]
    monkeypatch.setattr(engine._EditedRanges, "below", lambda self, node: True)
    assert [rewrite_source(source, options=o) for o in (RewriteOptions(), options)] == pruned


def test_the_programs_exercise_the_edit_walk() -> None:
    changed = [
        p
        for p in PROGRAMS
        if rewrite_source(p.read_text(encoding="utf-8")).status is Status.CHANGED
    ]
    assert len(changed) >= 10


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_node_positions_are_the_metadata_wrappers(path: Path) -> None:
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert node_positions(module) == dict(expected)


def test_ranks_are_read_when_first_asked_and_equal_an_eager_read() -> None:
    """A BN input's rank fixed by a literal: asking ``rank_of`` reads them then (and once),
    giving what reading them with the rest of the program gave."""
    source = (
        "import tensorflow as tf\n"
        "x = tf.keras.layers.Input(shape=(3,))\n"
        "h = tf.layers.dense(x, 4)\n"
        "h = tf.layers.batch_normalization(h, training=True)\n"
    )
    module = cst.parse_module(source)
    program = Program.read(module, AliasTable.build(module))
    assert not program.rank_at
    bn_inputs = [
        call.args[0].value
        for call in program.calls
        if program.aliases.qualify(call.func) == "tensorflow.layers.batch_normalization"
    ]
    ranks = [program.rank_of(node) for node in bn_inputs]
    assert ranks and all(rank == 2 for rank in ranks)
    recorded = dict(program.rank_at)
    assert recorded
    program.rank_of(bn_inputs[0])
    assert program.rank_at == recorded


def test_a_library_module_is_analysed_on_a_recorded_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--library`` migrates the module with its driver appended, a tree of its own: the analysis of
    that tree replays its recorded walk as any module's does (it once walked libcst's tree at every
    question: facenet's ``src/models`` took 30 s on one core, 5.5 s since)."""
    from bn_migrate.rewrite.analysis import walks

    models = REPO / "tests" / "fixtures" / "models"
    options = RewriteOptions(library=(str(models),))
    recorded: list[bool] = []
    migrate = engine._rewrite_module

    def spy(module: cst.Module, *args: object, **kwargs: object) -> object:
        recorded.append(any(index.module is module for index in walks._ACTIVE))
        return migrate(module, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_rewrite_module", spy)
    source = (models / "library_facenet.py").read_text()
    result = rewrite_source(source, path=str(models / "library_facenet.py"), options=options)
    assert result.status is Status.CHANGED, result.left
    assert recorded == [True]


def test_subtree_facts_are_computed_once_per_recorded_node() -> None:
    from bn_migrate.rewrite.analysis import walks
    from bn_migrate.rewrite.analysis.names import bound_names
    from bn_migrate.rewrite.analysis.syntax import name_references

    module = cst.parse_module("def f(a):\n    b = a + c\n    return b\n")
    function = module.body[0]
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    expected_bound = bound_names(function)  # no record: computed by a walk of libcst's tree
    expected_references = [n.value for n in name_references(function)]
    with walks.indexed(module):
        assert walks.subtree_fact("test", function, count) == 1
        assert walks.subtree_fact("test", function, count) == 1  # recorded: once
        assert walks.subtree_fact("other", function, count) == 2  # another fact of it
        outside = cst.parse_module("x = 1\n")
        assert walks.subtree_fact("test", outside, count) == 3  # not recorded: each time
        assert walks.subtree_fact("test", outside, count) == 4
        names = bound_names(function)
        assert names == expected_bound and "b" in names
        names.add("changed")  # a caller's copy: the fact stays what it was
        assert bound_names(function) == expected_bound
        references = name_references(function)
        assert [n.value for n in references] == expected_references
        references.clear()
        assert [n.value for n in name_references(function)] == expected_references
    assert walks.subtree_fact("test", function, count) == 5  # the record is gone
