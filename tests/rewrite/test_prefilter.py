"""The pre-filters in front of the engine never hide a TF1 reference nor change a result.

``prefilter.may_refer_to_tf1`` lets the engine skip the walk that looks for TF1-only references. It
must only answer False where that walk finds nothing: checked here on every Python file of the
repository (the package, tests, examples, fixtures, benchmarks) and on small cases built to slip past
a text test (aliases, ``from`` imports, compat spellings, tf-slim, graph-mode ``.updates``).
``prefilter.leaves_unchanged`` lets the runner and the engine skip libcst altogether: it must only
answer True where the engine returns the file unchanged, checked on the same files and on shadowing
cases built for its ``ast`` test.
"""

from __future__ import annotations

import ast
import functools
import itertools
from pathlib import Path

import libcst as cst
import pytest

from bn_migrate.rewrite import engine, prefilter
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status

REPO = Path(__file__).resolve().parents[2]
_SKIP_DIRS = {".venv", ".git", "node_modules", "build", "dist"}

TRICKY = {
    "from_import_alias": "from tensorflow import Session as S\nwith S() as s:\n    pass\n",
    "compat_module_alias": "from tensorflow.compat import v1 as T\nx = T.placeholder('float')\n",
    "compat_v2_attribute": "import tensorflow as tf\ny = tf.compat.v2.nn.relu(1.0)\n",
    "tf_slim": "import tf_slim as sl\ny = sl.batch_norm(x)\n",
    "tf_slim_from": "from tf_slim import batch_norm as bn\ny = bn(x)\n",
    "contrib_slim": "import tensorflow.contrib.slim as S\ny = S.batch_norm(x)\n",
    "layers_module": "from tensorflow import layers as L\ny = L.dense(x, 3)\n",
    "keras_updates": "import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization()\nu = bn.updates\n",
    "learning_phase": "from tensorflow.keras import backend as K\nK.set_learning_phase(1)\n",
    "layers_beside_keras_layers": (
        "import tensorflow as tf\nfrom tensorflow.keras import layers\n"
        "y = tf.keras.layers_extra\nz = tf.layers.dense(x, 3)\n"
    ),
    "from_compat_import_layers": (
        "from tensorflow.keras import layers as K\nfrom tensorflow.compat.v1 import layers\n"
        "y = layers.dense(x, 3)\n"
    ),
    "tensorflow_bound_as_keras": "import tensorflow as keras\ny = keras.layers.dense(x, 3)\n",
    "alias_after_continuation": "import tensorflow as \\\n    model\ny = model.trainable_variables()\n",
    "alias_after_comment": (
        "from tensorflow.compat import (v1 as  # the TF1 API\n    K)\ny = K.losses.log_loss(a, b)\n"
    ),
    "compat_v1_chain": "import tensorflow as tf\ny = tf.compat.v1.losses.log_loss(a, b)\n",
    "spaced_attribute": "import tensorflow as tf\ny = tf . losses . log_loss(a, b)\n",
    "parenthesized_owner": "import tensorflow as tf\ny = (tf).losses.log_loss(a, b)\n",
    "plain_tensorflow": "import tensorflow\ny = tensorflow.trainable_variables()\n",
    "from_import_of_member": "from tensorflow import trainable_variables\ny = trainable_variables()\n",
    "tf2_trainer": (
        "import tensorflow as tf\n\n\nclass T:\n    def step(self, model, x):\n"
        "        loss = tf.keras.losses.MeanSquaredError()(x, model(x))\n"
        "        return tf.gradients(loss, model.trainable_variables)\n"
    ),
    "tf2_only": "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3)])\n",
    "keyword_named_like_an_import": "from tensorflow import placeholder\nf(placeholder=1)\n",
    "class_keyword_named_like_an_import": (
        "from tensorflow import placeholder\n\n\nclass A(B, placeholder=1):\n    pass\n"
    ),
    "updates_of_a_call": "import tensorflow as tf\nu = tf.keras.Model().updates\n",
    "reference_in_an_fstring": "import tensorflow as tf\nprint(f'{tf.layers.dense(x, 3)}')\n",
    "reference_in_a_decorator": (
        "import tensorflow as tf\n\n\n@tf.contrib.framework.add_arg_scope\ndef f():\n    pass\n"
    ),
    "tf1_word_in_a_string_only": "import tensorflow as tf\nx = 'tf.layers.dense'\ny = tf.keras.layers\n",
    "tf1_word_as_another_attribute": "import tensorflow as tf\ny = model.layers\nz = tf.nn.relu(y)\n",
}
NO_TF1_REFERENCE = {
    "tf2_only",
    "tf2_trainer",
    "tf1_word_in_a_string_only",
    "tf1_word_as_another_attribute",
}


def _python_files() -> list[Path]:
    files = []
    for path in sorted(REPO.rglob("*.py")):
        if not _SKIP_DIRS.intersection(path.relative_to(REPO).parts):
            files.append(path)
    return files


@functools.cache
def _references(source: str) -> list[object] | None:
    """The engine's walk, once per text: the repository tests below ask it of the same files."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    return engine._tf1_references(module, AliasTable.build(module))


def test_the_repository_checks_are_not_vacuous() -> None:
    """The repository must hold many files with TF1 references for the check below to mean something,
    and the filter must say no to plain TF2 code (``tf2_only``), or it would save nothing."""
    # Smallest files first, and no further than the tenth: a walk of every file is the tests' below.
    sources = (path.read_text(encoding="utf-8", errors="replace") for path in _python_files())
    with_references = (
        source
        for source in sorted(sources, key=len)
        if "tensorflow" in source and _references(source)
    )
    assert len(list(itertools.islice(with_references, 10))) == 10
    assert not prefilter.may_refer_to_tf1(TRICKY["tf2_only"])
    assert not prefilter.may_refer_to_tf1(TRICKY["tf2_trainer"])


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_prefilter_never_hides_a_reference_in_the_repository(path: Path) -> None:
    source = path.read_text(encoding="utf-8", errors="replace")
    if prefilter.may_refer_to_tf1(source):
        return
    assert not _references(source)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_prefilter_on_cases_built_to_slip_past_a_text_test(name: str) -> None:
    source = TRICKY[name]
    references = _references(source)
    assert bool(references) is (name not in NO_TF1_REFERENCE)
    if references:
        assert prefilter.may_refer_to_tf1(source)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_the_ast_walk_sees_every_reference_on_cases_built_to_slip_past_it(name: str) -> None:
    """``may_refer_to_tf1_in`` against the engine's walk: identifiers libcst spells as Names
    (keywords), ``.updates`` of a call, references in f-strings and decorators; and it lets through
    the TF1 words that are not references (a string, another object's attribute)."""
    source = TRICKY[name]
    found = prefilter.may_refer_to_tf1_in(ast.parse(source))
    assert found is bool(_references(source))
    if name in NO_TF1_REFERENCE:
        assert prefilter.leaves_unchanged(source)


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_ast_walk_never_hides_a_reference_in_the_repository(path: Path) -> None:
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    if not prefilter.may_refer_to_tf1_in(tree):
        assert not _references(source)


def test_a_tree_too_deep_for_the_engine_goes_to_it() -> None:
    """libcst's visitors give up on deep nesting where CPython does not: such a file is the
    engine's to decide (it says "too deeply nested"), even without a TF1 reference."""
    source = "import tensorflow as tf\nlayers = 1\ny = " + "[" * 150 + "x" + "]" * 150 + "\n"
    assert not prefilter.leaves_unchanged(source)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert "too deeply nested" in result.left[0].message


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_rewrite_is_the_same_with_and_without_the_prefilter(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = TRICKY[name]
    filtered = rewrite_source(source)
    monkeypatch.setattr(prefilter, "may_refer_to_tf1", lambda _source: True)
    monkeypatch.setattr(prefilter, "leaves_unchanged", lambda _source, _tree=None: False)
    assert rewrite_source(source) == filtered


def test_shadowed_tensorflow_is_still_reported_when_the_filter_says_no() -> None:
    source = "import tensorflow as tf\n\n\ndef f(tf):\n    return tf\n"
    assert not prefilter.may_refer_to_tf1(source)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any("rebound" in site.message for site in result.left)


SHADOWING = {
    "parameter": "import tensorflow as tf\n\n\ndef f(tf):\n    return tf\n",
    "assignment": "import tensorflow as tf\ntf = None\n",
    "tuple_target": "import tensorflow as tf\na, (tf, b) = 1, (2, 3)\n",
    "augmented": "import tensorflow as tf\ntf += 1\n",
    "walrus": "import tensorflow as tf\nif (tf := 1):\n    pass\n",
    "for_target": "import tensorflow as tf\nfor tf in []:\n    pass\n",
    "comprehension": "import tensorflow as tf\nx = [tf for tf in range(3)]\n",
    "with_as": "import tensorflow as tf\nwith open('f') as tf:\n    pass\n",
    "except_as": "import tensorflow as tf\ntry:\n    pass\nexcept ValueError as tf:\n    pass\n",
    "function_name": "import tensorflow as tf\n\n\ndef tf():\n    pass\n",
    "class_name": "import tensorflow as tf\n\n\nclass tf:\n    pass\n",
    "lambda_parameter": "import tensorflow as tf\nf = lambda tf: tf\n",
    "nested_import": "import tensorflow as tf\n\n\ndef f():\n    import numpy as tf\n",
    "two_top_imports": "import numpy as tf\nimport tensorflow as tf\n",
    "from_import": "from tensorflow import keras\nkeras = None\n",
    "plain_import": "import tensorflow\ntensorflow = None\n",
    "star_parameter": "from tensorflow import nn as tnn\n\n\ndef f(*tnn):\n    pass\n",
}
NOT_SHADOWING = {
    "keyword_argument": "import tensorflow as tf\nf(tf=1)\n",
    "attribute_target": "import tensorflow as tf\ntf.x = 1\n",
    "other_name": "import tensorflow as tf\nx = tf.keras.layers.Dense(3)\n",
    "numpy_rebound": "import tensorflow as tf\nimport numpy as np\nnp = None\n",
    "relative_import": "from . import tensorflow\ntensorflow = None\n",
}


@pytest.mark.parametrize("name", sorted(SHADOWING))
def test_the_ast_test_sees_every_shadowing_the_engine_reports(name: str) -> None:
    source = SHADOWING[name]
    assert not prefilter.may_refer_to_tf1(source)
    assert not prefilter.leaves_unchanged(source)
    assert rewrite_source(source).status is Status.SKIPPED


@pytest.mark.parametrize("name", sorted(NOT_SHADOWING))
def test_the_ast_test_lets_unshadowed_files_through(name: str) -> None:
    source = NOT_SHADOWING[name]
    assert prefilter.leaves_unchanged(source)
    assert rewrite_source(source).status is Status.UNCHANGED


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_a_file_the_prefilter_leaves_is_unchanged_by_the_engine(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = path.read_text(encoding="utf-8", errors="replace")
    if not prefilter.leaves_unchanged(source):
        return
    monkeypatch.setattr(prefilter, "leaves_unchanged", lambda _source, _tree=None: False)
    result = rewrite_source(source)
    assert (result.status, result.code) == (Status.UNCHANGED, source)


def test_a_syntax_error_still_goes_to_the_engine() -> None:
    source = "import tensorflow as tf\ndef f(:\n"
    assert not prefilter.leaves_unchanged(source)
    assert rewrite_source(source).status is Status.FAILED


# Texts built to slip past the text test in front of the walk (``bound_only_by_top_imports``): a
# binding written after a dot-looking spelling, a dotted import inside a function, NFKC-normalized
# identifiers, carriage returns. True: the walk finds a binding other than the module's imports.
TEXT_TRAPS = {
    "dotted_import_in_a_function": (
        "import tensorflow\n\n\ndef f():\n    import tensorflow.compat.v1\n    return tensorflow\n",
        True,
    ),
    "fullwidth_name": ("import tensorflow as tf\n\uff54\uff46 = 1\n", True),
    "walrus_in_an_fstring": ("import tensorflow as tf\nprint(f'{(tf := 1)}')\n", True),
    "same_line_after_a_semicolon": ("import tensorflow as tf; tf = 1\n", True),
    "carriage_returns": ("import tensorflow as tf\r\ntf = 1\r\n", True),
    "for_target_beside_a_read": ("import tensorflow as tf\nfor tf in [tf.x]:\n    pass\n", True),
    "del": ("import tensorflow as tf\ndel tf\n", True),
    "global": ("import tensorflow as tf\n\n\ndef f():\n    global tf\n", True),
    "match_capture": ("import tensorflow as tf\nmatch 1:\n    case tf:\n        pass\n", True),
    "spaced_read": ("import tensorflow as tf\ny = tf . keras\n", False),
    "read_across_lines": ("import tensorflow as tf\ny = (tf\n     .keras)\n", False),
    "import_in_a_docstring": (
        '"""Then import it."""\nimport tensorflow as tf\ny = tf.keras\n',
        False,
    ),
    "tf_in_the_docstring_import_in_a_comment": (
        '"""Uses tf, as tf does."""\n'
        "import tensorflow as tf  # pylint: disable=g-direct-tensorflow-import\ny = tf.keras\n",
        False,
    ),
    "import_after_a_hash_in_a_string": (
        "import tensorflow\n\n\ndef f():\n    x = '#'; import tensorflow.compat.v1\n",
        True,
    ),
    "relative_import_without_a_space": (
        "import tensorflow as tf\n\n\ndef f():\n    from .import tf\n",
        True,
    ),
    "one_line_compound_import": ("import tensorflow\nif True:import tensorflow.compat.v1\n", True),
    "fstring_first_is_code": ("f'{(tf := 1)}'\nimport tensorflow as tf\n", True),
    "multi_line_top_import": (
        "from tensorflow import (\n    keras,\n    nn as tnn,\n)\ny = tnn.relu(keras.x)\n",
        False,
    ),
}


@pytest.mark.parametrize(
    "source",
    [*SHADOWING.values(), *NOT_SHADOWING.values(), *(text for text, _ in TEXT_TRAPS.values())],
)
def test_the_text_test_answers_as_the_walk(source: str) -> None:
    """``may_shadow_tensorflow`` given the text (which may answer without a walk) and without it."""
    tree = ast.parse(source)
    assert prefilter.may_shadow_tensorflow(tree, source) is prefilter.may_shadow_tensorflow(tree)


@pytest.mark.parametrize("name", sorted(TEXT_TRAPS))
def test_the_walk_sees_the_bindings_built_to_slip_past_the_text(name: str) -> None:
    source, shadowed = TEXT_TRAPS[name]
    assert prefilter.may_shadow_tensorflow(ast.parse(source), source) is shadowed


def test_the_text_test_answers_for_plain_tf2_code() -> None:
    """Not vacuous: TF2 code that only reads ``tf.`` attributes is answered without a walk."""
    sources = [TRICKY["tf2_only"], TRICKY["tf2_trainer"], TEXT_TRAPS["spaced_read"][0]]
    sources.append(TEXT_TRAPS["tf_in_the_docstring_import_in_a_comment"][0])
    for source in sources:
        assert prefilter.bound_only_by_top_imports(source, {"tf"}, ast.parse(source))
