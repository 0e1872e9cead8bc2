"""TensorFlow imported other than on a top line of the module: in a ``try:``/``except ImportError``
(``try: import tensorflow.compat.v1 as tf``), an ``if``, or inside a function (a server's
``def get_predictor(): import tensorflow as tf``). Such a file was reported unchanged though its TF1
code cannot run on TensorFlow 2 (the names were read through top-line imports only): every TF1
reference read through such an import is now left for a human, with the reason, and the fast paths
(prefilter, early decision) send the file to the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.rewrite import early_left, prefilter
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.report import Mode
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.runner import RunConfig, run_files

TF1_BODY = """x = tf.placeholder(tf.float32, [None, 3])
y = tf.layers.batch_normalization(x, training=True)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
"""

TRY_IMPORT = (
    "try:\n    import tensorflow.compat.v1 as tf\nexcept ImportError:\n    import tensorflow as tf\n\n"
    + TF1_BODY
)
IF_IMPORT = "import sys\n\nif sys.version_info >= (3,):\n    import tensorflow as tf\n\n" + TF1_BODY
IN_FUNCTION = (
    "import numpy as np\n\n\ndef get_predictor():\n    import tensorflow as tf\n\n"
    + "".join(f"    {line}\n" for line in TF1_BODY.splitlines())
    + "    return np\n"
)


@pytest.mark.parametrize(
    ("source", "first", "where"),
    [(TRY_IMPORT, 6, ""), (IF_IMPORT, 6, ""), (IN_FUNCTION, 7, " inside `def get_predictor`")],
)
def test_tf1_code_read_through_an_import_in_a_block_is_left(
    source: str, first: int, where: str, tmp_path: Path
) -> None:
    result = rewrite_source(source, path="t.py")
    assert result.status is Status.SKIPPED and result.code == source
    assert result.left[0].line == first, result.left
    assert all(site.rule == "BN000" for site in result.left)
    assert f"`tf.placeholder`{where} is read through TensorFlow imported at line" in (
        result.left[0].message
    )
    assert "not on a top line of the module" in result.left[0].message
    tree = ast.parse(source)
    assert not prefilter.leaves_unchanged(source, tree)
    assert early_left.left_sites(source, tree) is None
    (tmp_path / "t.py").write_text(source, encoding="utf-8")
    [outcome] = run_files(RunConfig(paths=(tmp_path / "t.py",), mode=Mode.DIFF, jobs=1)).outcomes
    assert outcome.status is Status.SKIPPED and outcome.left == result.left


def test_tf2_code_in_a_function_importing_tensorflow_is_unchanged() -> None:
    source = "def relu(x):\n    import tensorflow as tf\n\n    return tf.nn.relu(x)\n"
    assert rewrite_source(source).status is Status.UNCHANGED


def test_an_import_in_one_function_binds_nothing_in_another() -> None:
    """``tf`` bound inside ``f`` is not ``g``'s ``tf`` (a parameter, say)."""
    source = (
        "def f():\n    import tensorflow as tf\n\n    return tf.nn.relu\n\n\n"
        "def g(tf):\n    return tf.placeholder\n"
    )
    assert rewrite_source(source).status is Status.UNCHANGED


def test_tf1_names_a_star_import_of_tensorflow_brings_are_left() -> None:
    """``from tensorflow import *`` then ``placeholder(...)``, ``Session()``: was unchanged."""
    source = (
        "from tensorflow import *\n\nx = placeholder(float32, [None, 3])\n"
        "n = len([1])\nwith Session() as sess:\n    print(x, n, None)\n"
    )
    result = rewrite_source(source, path="t.py")
    assert result.status is Status.SKIPPED and result.code == source
    assert [(site.line, site.col) for site in result.left] == [(3, 5), (5, 6)], result.left
    assert result.left[0].message.startswith(
        "`placeholder` is `tensorflow.placeholder`, read through `from tensorflow import *` at line 1"
    )
    assert not prefilter.leaves_unchanged(source, ast.parse(source))


def test_a_name_bound_in_the_module_is_not_read_through_the_star_import() -> None:
    source = "from tensorflow import *\n\n\ndef placeholder(x):\n    return x\n\n\nplaceholder(1)\n"
    assert rewrite_source(source).status is Status.UNCHANGED


def test_private_and_builtin_names_are_not_read_through_a_star_import() -> None:
    """tf-slim's ``losses/__init__.py``: ``from tf_slim.losses.loss_ops import *`` then
    ``remove_undocumented(__name__, ...)``: ``__name__`` is the module's own."""
    source = (
        "from tf_slim.losses.loss_ops import *\n"
        "from tensorflow.python.util.all_util import remove_undocumented\n\n"
        "remove_undocumented(__name__, [len])\n"
    )
    assert rewrite_source(source).status is Status.UNCHANGED
