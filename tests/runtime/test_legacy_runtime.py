"""`bn-migrate run-tf1`: an unmodified TF1 program runs as `python SCRIPT ARGS` did under TF 1.15."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import pytest

from examples.demo import moving_mean_norms  # the parser make demo uses
from tests.conftest import EXAMPLES, run_cli

pytestmark = pytest.mark.slow


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def test_script_sees_argv_main_name_and_its_folder_first(tmp_path: Path) -> None:
    write(tmp_path / "helper_mod.py", "VALUE = 41\n")
    script = write(
        tmp_path / "prog.py",
        """
        import sys
        import tensorflow as tf
        from helper_mod import VALUE
        print("argv", sys.argv[1:])
        print("name", __name__)
        print("value", VALUE + 1)
        print("executing_eagerly", tf.executing_eagerly())
        x = tf.placeholder(tf.float32, [None])
        with tf.Session() as sess:
            print("sum", sess.run(tf.reduce_sum(x), {x: [1.0, 2.0]}))
        """,
    )
    result = run_cli("run-tf1", str(script), "--flag", "value")
    assert result.returncode == 0, result.stderr
    assert "argv ['--flag', 'value']" in result.stdout
    assert "name __main__" in result.stdout
    assert "value 42" in result.stdout
    assert "executing_eagerly False" in result.stdout
    assert "sum 3.0" in result.stdout


def test_exit_status_and_exceptions_propagate(tmp_path: Path) -> None:
    exits = write(tmp_path / "exits.py", "import sys\nsys.exit(7)\n")
    assert run_cli("run-tf1", str(exits)).returncode == 7
    raises = write(tmp_path / "raises.py", "raise ValueError('boom from the program')\n")
    result = run_cli("run-tf1", str(raises))
    assert result.returncode == 1
    assert "ValueError: boom from the program" in result.stderr
    assert "Traceback" in result.stderr


@pytest.mark.parametrize(
    ("source", "api", "line"),
    [
        ("import tensorflow as tf\ncell = tf.contrib.rnn.LSTMCell(4)\n", "tf.contrib.rnn", 2),
        ("import numpy\nimport tensorflow.contrib.learn as learn\n", "tensorflow.contrib.learn", 2),
        ("from tensorflow.contrib import rnn\n", "tensorflow.contrib.rnn", 1),
        (  # contrib.framework: its arg_scope and variable helpers only
            "import tensorflow as tf\nflat = tf.contrib.framework.nest.flatten([1])\n",
            "tf.contrib.framework.nest",
            2,
        ),
        (
            "import tensorflow as tf\n"
            "config = tf.estimator.RunConfig(train_distribute=tf.distribute.MirroredStrategy())\n",
            "the Estimator's distribute coordinator (RunConfig train_distribute, eval_distribute or "
            "experimental_distribute)",
            2,
        ),
    ],
)
def test_unavailable_api_is_one_clear_line_and_exit_2(
    tmp_path: Path, source: str, api: str, line: int
) -> None:
    script = write(tmp_path / "old.py", source)
    result = run_cli("run-tf1", str(script))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = [ln for ln in result.stderr.splitlines() if "is not available" in ln]
    assert len(message) == 1, result.stderr
    assert message[0].startswith(f"{script}:{line}: error: {api} is not available")


def test_contrib_and_compat_spellings(tmp_path: Path) -> None:
    script = write(
        tmp_path / "spellings.py",
        """
        import numpy as np
        import tensorflow as tf
        import tensorflow.compat.v1 as tf1
        import tensorflow.contrib.slim as slim
        from tensorflow.contrib import layers
        from tensorflow.contrib.layers import batch_norm
        assert tf1.placeholder is tf.placeholder
        x = tf.placeholder(tf.float32, [None, 4])
        a = slim.batch_norm(x, is_training=True, updates_collections=None, scope="a")
        b = layers.batch_norm(x, is_training=True, scope="b")
        c = batch_norm(x, scale=True, scope="c")
        reg = tf.contrib.layers.l2_regularizer(0.1)
        # contrib's own module paths (cbfinn/maml), also through tf.contrib.layers.python
        from tensorflow.contrib.layers.python import layers as tf_layers
        from tensorflow.contrib.layers.python.layers import layers as contrib_layers
        from tensorflow.contrib.layers.python.layers import initializers
        d = tf_layers.batch_norm(x, scope="d")
        e = contrib_layers.fully_connected(x, 2, weights_initializer=initializers.xavier_initializer())
        assert tf.contrib.layers.python.layers.batch_norm is tf_layers.batch_norm
        print(sorted(v.name for v in tf.global_variables()))
        print(len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)))
        """,
    )
    result = run_cli("run-tf1", str(script))
    assert result.returncode == 0, result.stderr
    assert "'a/moving_mean:0'" in result.stdout
    assert "'c/gamma:0'" in result.stdout
    assert "'b/gamma:0'" not in result.stdout  # contrib's scale=False default
    assert (
        "'d/moving_variance:0'" in result.stdout and "'fully_connected/weights:0'" in result.stdout
    )
    assert result.stdout.strip().endswith("6")  # b, c and d add updates; a updates in place


def test_contrib_framework_arg_scope_and_variables(tmp_path: Path) -> None:
    """``tf.contrib.framework.arg_scope`` (chauhanjatin10/phoenix) and its module paths run: tf-slim's
    ``ops.arg_scope`` and ``ops.variables`` are TF1's contrib.framework code (exit 2 before)."""
    script = write(
        tmp_path / "framework.py",
        """
        import tensorflow as tf
        from tensorflow.contrib.framework import arg_scope, add_arg_scope
        from tensorflow.contrib.framework.python.ops import arg_scope as arg_scope_module
        from tensorflow.contrib.layers import fully_connected
        import tensorflow.contrib.slim as slim
        assert arg_scope is slim.arg_scope is arg_scope_module.arg_scope is tf.contrib.framework.arg_scope
        x = tf.placeholder(tf.float32, [None, 3])
        with tf.contrib.framework.arg_scope([fully_connected], num_outputs=4, scope="fc"):
            with arg_scope([fully_connected], activation_fn=None):
                h = fully_connected(x)
        print(h.shape.as_list(), sorted(v.name for v in tf.contrib.framework.get_variables()))
        print(tf.contrib.framework.get_or_create_global_step().name)
        """,
    )
    result = run_cli("run-tf1", str(script))
    assert result.returncode == 0, result.stderr
    assert "[None, 4] ['fc/biases:0', 'fc/weights:0']" in result.stdout
    assert "global_step:0" in result.stdout


def test_notebook_runs_code_cells_in_order_skipping_magics(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# title"]},
            {"cell_type": "code", "source": ["%matplotlib inline\n", "import tensorflow as tf\n"]},
            {"cell_type": "code", "source": "x = tf.constant(2.0)\n!ls\n"},
            {
                "cell_type": "code",
                "source": ["with tf.Session() as s:\n", "    print('got', s.run(x * 3))\n"],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    result = run_cli("run-tf1", str(path))
    assert result.returncode == 0, result.stderr
    assert "got 6.0" in result.stdout


def test_notebook_magic_in_a_block_runs_and_tracebacks_show_cell_lines(tmp_path: Path) -> None:
    # ageron/handson-ml 11_deep_learning.ipynb: a magic inside a block was an unindented `pass`
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": [
                    "import tensorflow as tf\n",
                    "with tf.Session() as sess:\n",
                    "    %time total = sess.run(tf.constant(2.0) * 3)\n",
                    "    print('got', sess.run(tf.constant(2.0) * 3))\n",
                ],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": ["x = 1\n", "raise ValueError('boom in the notebook')"],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    result = run_cli("run-tf1", str(path))
    assert result.returncode == 1, result.stderr
    assert "got 6.0" in result.stdout
    assert f'File "{path}", cell 3, line 2, in <module>' in result.stderr
    assert "raise ValueError('boom in the notebook')" in result.stderr
    assert '"cell_type"' not in result.stderr


def test_missing_script_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("run-tf1", str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"bn-migrate: error: {tmp_path / 'nope.py'}: no such file"


@pytest.mark.parametrize(
    ("variant", "moves"),
    [
        ("tf_layers.py", True),
        ("keras_no_updates.py", False),
        ("keras_updates_list.py", True),
        ("keras_updates_each.py", True),
    ],
)
def test_seed_question_variants_reproduce_the_question(variant: str, moves: bool) -> None:
    result = run_cli("run-tf1", str(EXAMPLES / "seed_question" / variant))
    assert result.returncode == 0, result.stderr
    norms = moving_mean_norms(result.stdout)
    assert len(norms) == 10
    if moves:
        assert all(b > a > 0 for a, b in itertools.pairwise(norms)), norms
    else:
        assert norms == [0.0] * 10
        assert "'bn_Q_moving_variance': np.float32(4.0)" in result.stdout
