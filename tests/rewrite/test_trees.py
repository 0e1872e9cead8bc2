"""``analysis.trees``: one CPython ``ast`` parse per file, shared by the runner's syntax check, the
prefilter and the engine (the same tree for the same text, never a tree of another text)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.rewrite import prefilter, runner
from bn_migrate.rewrite.analysis import trees
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.test_runner import make_tree

TF1 = "import tensorflow as tf\n\ny = tf.log(x)\n"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts ``ast.parse`` is called on (``compile`` by the syntax check is not counted)."""
    trees.forget()
    seen: list[str] = []
    real = ast.parse

    def counting(source, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting)
    return seen


def test_the_same_text_is_parsed_once(parses: list[str]) -> None:
    source = "import tensorflow as tf\ny = tf.nn.relu(1.0)\n"
    first = trees.parse(source)
    assert first is not None and trees.parse(source) is first
    assert parses == [source]


def test_another_text_is_parsed_again(parses: list[str]) -> None:
    one, other = "a = 1\n", "b = 2\n"
    tree = trees.parse(one)
    assert trees.parse(other) is not tree
    assert trees.parse(one) is not tree  # the kept tree was the other text's
    assert parses == [one, other, one]


def test_equal_texts_that_are_other_objects_are_parsed_again(parses: list[str]) -> None:
    one = "".join(["a = ", "1\n"])
    other = "".join(["a = ", "1\n"])
    assert one == other and one is not other
    trees.parse(one)
    trees.parse(other)
    assert len(parses) == 2


def test_a_text_that_does_not_parse_is_none(parses: list[str]) -> None:
    source = "def f(:\n"
    assert trees.parse(source) is None
    assert trees.parse(source) is None
    assert parses == [source]


def test_the_syntax_check_tree_is_the_one_the_prefilter_reads(parses: list[str]) -> None:
    source = "import tensorflow as tf\nmodel = tf.keras.Sequential()\n"
    checked = trees.parse_checked(source, "a.py")
    assert prefilter.parsed(source) is checked
    assert prefilter.leaves_unchanged(source)
    assert parses == []
    assert ast.dump(checked) == ast.dump(ast.parse(source))


def test_the_syntax_check_raises_as_compile_does() -> None:
    with pytest.raises(SyntaxError) as info:
        trees.parse_checked("x = (\n", "bad.py")
    assert info.value.filename == "bad.py"


def test_forget_drops_the_tree(parses: list[str]) -> None:
    source = "a = 1\n"
    trees.parse(source)
    trees.forget()
    trees.parse(source)
    assert parses == [source, source]


def test_the_engine_parses_a_file_once(parses: list[str]) -> None:
    result = rewrite_source(TF1, path="a.py")
    assert result.status is Status.CHANGED
    assert parses.count(TF1) == 1


def test_a_file_through_the_runner_is_parsed_once_by_its_worker(
    tmp_path: Path, parses: list[str]
) -> None:
    """Its worker parses it once (the syntax check's ``compile``, not counted here, read by the
    prefilter and the engine); deciding whether workers start at all (``_decided_here``) reads the
    same tree of the same text: no ``ast.parse`` of either text (the bytes seen are the program
    graph's)."""
    keras = "import tensorflow as tf\nmodel = tf.keras.Sequential()\n"
    tree = make_tree(tmp_path, {"a.py": keras, "b.py": TF1})
    result = runner.run_files(runner.RunConfig(paths=(tree,), mode=runner.Mode.CHECK, jobs=1))
    assert [o.status for o in result.outcomes] == [Status.UNCHANGED, Status.CHANGED]
    assert parses.count(keras) == 0 and parses.count(TF1) == 0
