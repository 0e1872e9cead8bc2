"""A TensorFlow module used as a value (``tf = tensorflow``, ``v1 = tf``, ``getattr(tf, ...)``) or
imported by a call (``importlib.import_module("tensorflow")``) hides the TF1 names read through what it
is bound to: such a module is left with the reason, never passed as unchanged
(``names.tensorflow_module_values``, ``api.MODULE_VALUE_PACKAGES``)."""

from __future__ import annotations

import ast

import pytest

from bn_migrate.rewrite import early_left, prefilter
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

VALUE = "is used here as a value"

# name -> (source, (line, col) of the site, the name the reason quotes)
HIDDEN = {
    "plain_import_rebound": (
        "import tensorflow\ntf = tensorflow\nx = tf.placeholder(tf.float32, [None, 3])\n"
        "sess = tf.Session()\n",
        (2, 6),
        "tensorflow",
    ),
    "alias_assigned": (
        "import tensorflow as tf\nv1 = tf\nx = v1.placeholder(tf.float32, [None, 3])\n",
        (2, 6),
        "tf",
    ),
    "in_a_block": (
        "import tensorflow\nimport numpy as np\nif np:\n    tf = tensorflow\n"
        "x = tf.placeholder(tf.float32, [None, 3])\n",
        (4, 10),
        "tensorflow",
    ),
    "in_a_function": (
        "import tensorflow as tensorflow_module\n\n\ndef f():\n    tf = tensorflow_module\n"
        "    return tf.placeholder(tf.float32, [None, 3])\n",
        (5, 10),
        "tensorflow_module",
    ),
    "getattr": (
        'import tensorflow as tf\nx = getattr(tf, "placeholder")(tf.float32, [None, 3])\n',
        (2, 13),
        "tf",
    ),
    "argument_of_a_call_read_as_a_base": (
        "import tensorflow as tf\n\n\ndef same(m):\n    return m\n\n\n"
        "x = same(tf).placeholder(tf.float32)\n",
        (8, 10),
        "tf",
    ),
    "from_imported_module": (
        "from tensorflow.compat import v1\nm = v1\nx = m.placeholder(v1.float32)\n",
        (2, 5),
        "v1",
    ),
    "contrib_module": (
        "from tensorflow.contrib import slim\nlayers = slim\n"
        "y = layers.batch_norm(1.0, is_training=True)\n",
        (2, 10),
        "slim",
    ),
}

UNCHANGED = {
    "presence_tests": (
        'import tensorflow as tf\nif hasattr(tf, "TensorSpec"):\n    spec = tf.TensorSpec\n'
        'print("placeholder" in dir(tf))\nx = tf.constant(1)\n'
    ),
    "no_tf1_word": "import tensorflow as tf\nmodules = [tf]\nx = tf.constant(1)\n",
    "a_class_bare": (
        "from tensorflow.keras.layers import Dense\nkinds = [Dense]\n"
        "layer = Dense(3)  # placeholder\n"
    ),
    "keyword_named_like_the_module": (
        "import tensorflow as tf\nprint(tf.constant(1), tf=1)  # placeholder\n"
    ),
    # rail-berkeley/softlearning's convnet.py: a module holding no TF1-only name hides none
    "a_keras_module": (
        "from tensorflow.keras import layers\n\n\ndef f():\n"
        '    return getattr(layers, "AvgPool2D")(pool_size=2)\n'
    ),
}


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_a_module_used_as_a_value_leaves_the_file_at_the_use(name: str) -> None:
    source, place, local = HIDDEN[name]
    assert not prefilter.leaves_unchanged(source)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    values = [s for s in result.left if VALUE in s.message]
    assert [(s.line, s.col) for s in values] == [place]
    assert values[0].message.startswith(f"`{local}` (the module `")
    assert early_left.left_sites(source, ast.parse(source)) is None  # the engine decides


@pytest.mark.parametrize("name", sorted(UNCHANGED))
def test_presence_tests_classes_and_files_without_tf1_words_stay_unchanged(name: str) -> None:
    source = UNCHANGED[name]
    assert rewrite_source(source).status is Status.UNCHANGED


@pytest.mark.parametrize(
    "line",
    [
        'tf = importlib.import_module("tensorflow")',
        'tf = importlib.import_module("tensorflow.compat.v1")',
        'tf = __import__("tensorflow")',
    ],
)
def test_tensorflow_imported_by_a_call_is_left(line: str) -> None:
    source = f"import importlib\n{line}\nx = tf.placeholder(tf.float32, [None, 3])\n"
    assert not prefilter.leaves_unchanged(source)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    (site,) = [s for s in result.left if "imports TensorFlow by a call" in s.message]
    assert (site.line, site.col) == (2, 6)
    assert early_left.left_sites(source, ast.parse(source)) is None


def test_another_module_imported_by_a_call_is_not_tensorflow() -> None:
    source = 'import importlib\nnp = importlib.import_module("numpy")\nprint("placeholder")\n'
    assert rewrite_source(source).status is Status.UNCHANGED


def test_a_migrated_program_with_a_module_value_is_left_whole() -> None:
    program = (REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py").read_text()
    assert rewrite_source(program).status is Status.CHANGED
    source = program + "\nbackend = tf\n"
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    assert any(VALUE in s.message for s in result.left)
