"""BN021: TF1's MNIST tutorial reader becomes TF 1.15's reader, emitted into the migrated program.

The shapes are the tutorials' (the Udacity course's batch-normalization lesson, and nicol4sb's copy of it
as a script): ``mnist = input_data.read_data_sets(DIR, one_hot=True)`` before the graph, and
``mnist.train.next_batch(n)`` feeding each training step. The data are synthetic files in MNIST's format
(``tests/mnist_files.py``): the reader reads them offline, as it reads files already downloaded."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate import mnist_reader
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.mnist_files import write_mnist
from tests.rewrite.helpers import (
    assert_migration_checked_equivalent,
    assert_planted_mistake_caught,
    left_reasons,
)

READER = "from tensorflow.examples.tutorials.mnist import input_data\n"
CALL = 'mnist = input_data.read_data_sets("MNIST_data", one_hot=True)\n'
USE = "images, labels = mnist.train.next_batch(100)\n"


def _definitions(code: str) -> list[str]:
    return [
        node.name
        for node in ast.parse(code).body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef))
    ]


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        (READER, CALL),
        (
            "import tensorflow.examples.tutorials.mnist.input_data as input_data\n",
            CALL,
        ),
        (
            "from tensorflow.examples.tutorials.mnist.input_data import read_data_sets\n",
            'mnist = read_data_sets("MNIST_data", one_hot=True)\n',
        ),
        (
            "from tensorflow.contrib.learn.python.learn.datasets.mnist import read_data_sets\n",
            'mnist = read_data_sets("MNIST_data", one_hot=True)\n',
        ),
        (
            "from tensorflow.contrib.learn.python.learn.datasets import mnist as reader\n",
            'mnist = reader.read_data_sets("MNIST_data", one_hot=True)\n',
        ),
    ],
)
def test_every_spelling_of_the_reader_becomes_the_emitted_reader(imports: str, call: str) -> None:
    result = rewrite_source(imports + "\n" + call + USE)
    assert result.status is Status.CHANGED, left_reasons(result)
    code = result.code
    assert 'mnist = tf1_mnist_read_data_sets("MNIST_data", one_hot=True)\n' in code
    assert "examples" not in code.replace(mnist_reader.SOURCES[mnist_reader.DATA_SET], "")
    assert "contrib" not in code
    assert _definitions(code) == [mnist_reader.DATA_SET, mnist_reader.READ_DATA_SETS]
    assert code.startswith("import tensorflow as tf\n")
    assert [site.rule for site in result.applied] == ["BN021"]
    assert rewrite_source(code).code == code  # idempotent


def test_every_argument_is_kept_as_written() -> None:
    call = (
        'mnist = input_data.read_data_sets("data", False, True, dtype=tf.uint8, reshape=False,\n'
        "                                  validation_size=100, seed=7)\n"
    )
    source = "import tensorflow as tf\n" + READER + "\n" + call + USE
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert (
        'mnist = tf1_mnist_read_data_sets("data", False, True, dtype=tf.uint8, reshape=False,\n'
        "                                  validation_size=100, seed=7)\n"
    ) in result.code


def test_two_calls_share_one_copy_of_the_definitions() -> None:
    source = READER + "\n" + CALL + 'other = input_data.read_data_sets("elsewhere")\n'
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert _definitions(result.code) == [mnist_reader.DATA_SET, mnist_reader.READ_DATA_SETS]
    assert result.code.count("tf1_mnist_read_data_sets(") == 3  # the definition and two calls


def test_a_graph_level_seed_set_before_the_reader_becomes_its_seed() -> None:
    """TF1's reader seeded NumPy with the graph seed when ``seed=`` was not given (MorvanZhou's
    tutorials: ``tf.set_random_seed(1)`` first)."""
    source = "import tensorflow as tf\n" + READER + "\n" + "tf.set_random_seed(3)\n" + CALL + USE
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "tf.random.set_seed(3)\n" in result.code
    assert 'mnist = tf1_mnist_read_data_sets("MNIST_data", one_hot=True, seed=3)\n' in result.code
    assert any("`seed=3`" in site.message for site in result.applied)
    assert rewrite_source(result.code).code == result.code


@pytest.mark.parametrize(
    ("program", "call"),
    [
        # set after the reader's line: TF1's reader saw no graph seed (NumPy from the entropy pool)
        (
            CALL + "tf.set_random_seed(3)\n",
            'tf1_mnist_read_data_sets("MNIST_data", one_hot=True)\n',
        ),
        # the last seed set before it is the one in force
        (
            "tf.set_random_seed(3)\ntf.set_random_seed(4)\n" + CALL,
            'tf1_mnist_read_data_sets("MNIST_data", one_hot=True, seed=4)\n',
        ),
        # a nonzero seed= of its own: TF1 seeded NumPy with it, whatever the graph seed
        (
            "tf.set_random_seed(3)\n" + CALL.replace("one_hot=True", "one_hot=True, seed=5"),
            'tf1_mnist_read_data_sets("MNIST_data", one_hot=True, seed=5)\n',
        ),
    ],
)
def test_the_graph_seed_in_force_at_the_reader_is_read(program: str, call: str) -> None:
    source = "import tensorflow as tf\n" + READER + "\n" + program + USE
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    assert "mnist = " + call in result.code


@pytest.mark.parametrize(
    ("program", "why"),
    [
        (
            "\n\ndef setup():\n    tf.set_random_seed(3)\n\n\n" + CALL,
            "is not on a line of the module",
        ),
        ("SEED = 3\ntf.set_random_seed(SEED)\n" + CALL, "its seed is not an integer literal"),
        (
            "tf.set_random_seed(0)\n" + CALL.replace("one_hot=True", "one_hot=True, seed=0"),
            "`seed=` is not a nonzero integer literal",
        ),
        (
            "S = 5\ntf.set_random_seed(3)\n" + CALL.replace("one_hot=True", "one_hot=True, seed=S"),
            "`seed=` is not a nonzero integer literal",
        ),
        ("tf.set_random_seed(3)\n" + CALL + "tf.reset_default_graph()\n", "makes other graphs"),
    ],
)
def test_other_graph_level_seeds_leave_the_reader(program: str, why: str) -> None:
    source = "import tensorflow as tf\n" + READER + "\n" + program + USE
    result = rewrite_source(source)
    assert result.code == source
    assert any(
        rule == "BN021"
        and "the graph-level seed TF1's reader gave NumPy here is not known" in message
        and why in message
        for rule, _, message in left_reasons(result)
    ), left_reasons(result)


@pytest.mark.parametrize(
    "use",
    [
        "data = input_data.DataSet(images, labels)\n",
        "load = input_data.read_data_sets\n",
    ],
)
def test_other_uses_of_the_reader_module_are_left(use: str) -> None:
    source = (
        READER + "\n" + "import numpy as np\nimages = labels = np.zeros((2, 28, 28, 1))\n" + use
    )
    result = rewrite_source(source)
    assert result.code == source
    assert any(
        "only calls of `read_data_sets`" in message for _, _, message in left_reasons(result)
    ), left_reasons(result)


def test_a_module_binding_an_emitted_name_is_left() -> None:
    source = READER + "\n" + "def tf1_mnist_read_data_sets():\n    pass\n\n\n" + CALL + USE
    result = rewrite_source(source)
    assert result.code == source
    assert any(
        rule == "BN021" and "already binds `tf1_mnist_read_data_sets`" in message
        for rule, _, message in left_reasons(result)
    ), left_reasons(result)


def test_the_emitted_source_is_valid_python_defining_two_names() -> None:
    for name, source in mnist_reader.SOURCES.items():
        tree = ast.parse(source)
        assert [node.name for node in tree.body] == [name]  # type: ignore[attr-defined]


PROGRAM = """\
import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets({folder!r}, one_hot=True, validation_size=100)


def fully_connected(prev_layer, num_units, is_training):
    layer = tf.layers.dense(prev_layer, num_units, use_bias=False)
    layer = tf.layers.batch_normalization(layer, training=is_training)
    return tf.nn.relu(layer)


def train(num_batches, batch_size, learning_rate):
    inputs = tf.placeholder(tf.float32, [None, 784])
    labels = tf.placeholder(tf.float32, [None, 10])
    is_training = tf.placeholder(tf.bool)
    layer = fully_connected(inputs, 16, is_training)
    logits = tf.layers.dense(layer, 10)
    model_loss = tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=labels)
    )
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_opt = tf.train.AdamOptimizer(learning_rate).minimize(model_loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for batch_i in range(num_batches):
            batch_xs, batch_ys = mnist.train.next_batch(batch_size)
            sess.run(train_opt, {{inputs: batch_xs, labels: batch_ys, is_training: True}})
        print(sess.run(model_loss, {{inputs: mnist.validation.images,
                                    labels: mnist.validation.labels, is_training: False}}))


train(6, 64, 0.01)
"""


@pytest.mark.slow
def test_a_tutorial_program_is_checked_equivalent(tmp_path: Path) -> None:
    """The reader's batches (unseeded: NumPy reseeded from the entropy pool in TF1) are the same on
    both sides under ``check``, which gives NumPy's ``seed(None)`` the check's seed."""
    folder = write_mnist(tmp_path / "MNIST_data", train=300, test=50)
    assert_migration_checked_equivalent(tmp_path, PROGRAM.format(folder=str(folder)), "tutorial")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 2147483647, 7])
def test_an_explicit_seed_is_checked_equivalent(tmp_path: Path, seed: int) -> None:
    """``read_data_sets(..., seed=S)`` in a program without a graph-level seed: TF1 gave NumPy ``S``
    (``get_seed``'s ``seed2`` beside its default graph seed), as the migration does. The check runs the
    original with a graph seed of its own (0), which would have made TF1's ``(0, 0)`` rule give NumPy
    2**31 - 1 for ``S`` = 0 (a false DIFFERENT before): the checker's seed is not the program's."""
    folder = write_mnist(tmp_path / "MNIST_data", train=300, test=50)
    source = PROGRAM.format(folder=str(folder)).replace(
        "validation_size=100)", f"validation_size=100, seed={seed})"
    )
    assert f"seed={seed})" in source
    assert_migration_checked_equivalent(tmp_path, source, "tutorial")


@pytest.mark.slow
def test_a_migration_drawing_other_batches_is_caught(tmp_path: Path) -> None:
    """Planted: the migrated loop reads the training set in order (another loader's batches)."""
    folder = write_mnist(tmp_path / "MNIST_data", train=300, test=50)
    assert_planted_mistake_caught(
        tmp_path,
        PROGRAM.format(folder=str(folder)),
        "mnist.train.next_batch(batch_size)",
        "mnist.train.next_batch(batch_size, shuffle=False)",
        "tutorial",
    )


@pytest.mark.slow
def test_scripts_of_one_folder_share_the_reader_and_run_on_tensorflow_2(tmp_path: Path) -> None:
    """Two scripts of one folder (Fcscanf/tensorflow's MNIST lessons): the reader goes once into the
    folder's ``bn_migrate_helpers.py``; each script imports the function it calls (the data set class
    is read by the function, in that module), and runs on TensorFlow 2 as the original ran on TF1."""
    import subprocess
    import sys

    from tests.conftest import run_cli

    source = tmp_path / "src"
    source.mkdir()
    write_mnist(source / "MNIST_data", train=5_010, test=20)
    show = (
        "print(mnist.train.images.shape, mnist.validation.labels.shape, mnist.test.images.dtype)\n"
    )
    (source / "first.py").write_text(READER + "\n" + CALL + show, encoding="utf-8")
    (source / "second.py").write_text(
        READER + "\n" + CALL + "print(mnist.train.next_batch(3)[1].sum())\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    done = run_cli("rewrite", "--output-dir", str(out), str(source))
    assert done.returncode == 0, done.stdout + done.stderr
    helpers = (out / "bn_migrate_helpers.py").read_text(encoding="utf-8")
    assert _definitions(helpers) == [mnist_reader.DATA_SET, mnist_reader.READ_DATA_SETS]
    for name in ("first.py", "second.py"):
        text = (out / name).read_text(encoding="utf-8")
        assert "from bn_migrate_helpers import tf1_mnist_read_data_sets\n" in text
        assert _definitions(text) == []
    (out / "MNIST_data").mkdir(exist_ok=True)
    for file in (source / "MNIST_data").iterdir():
        (out / "MNIST_data" / file.name).write_bytes(file.read_bytes())
    ran = subprocess.run(
        [sys.executable, "first.py"], cwd=out, capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "(10, 784) (5000, 10) float32", ran.stdout


LATE_IMPORT = (
    "from __future__ import print_function\n\n"
    "# Import MNIST data\n"
    + READER
    + 'mnist = input_data.read_data_sets("MNIST_data", fake_data=True)\n'
    "\nimport tensorflow as tf\n\nprint(mnist.train.num_examples, tf.__name__)\n"
)


def test_a_reader_called_before_the_tensorflow_import_gets_its_definitions_first() -> None:
    """TensorFlow-Examples' scripts read MNIST, then ``import tensorflow as tf``: the definitions (which
    read ``tf``) go before the call, after an import of their own where the reader's import stood;
    after the last import line they were read before being defined (a NameError)."""
    result = rewrite_source(LATE_IMPORT)
    assert result.status is Status.CHANGED, result.left
    body = ast.parse(result.code).body
    kinds = [type(node).__name__ for node in body]
    assert kinds == [
        "ImportFrom",
        "Import",
        "ClassDef",
        "FunctionDef",
        "Assign",
        "Import",
        "Expr",
    ], result.code
    assert "\n# Import MNIST data\nimport tensorflow as tf\n" in result.code  # the removed line's
    printed: list[object] = []
    exec(compile(result.code, "migrated.py", "exec"), {"print": lambda *a: printed.extend(a)})
    assert printed == [10000, "tensorflow"]


def test_scripts_reading_before_their_tensorflow_import_share_the_folder_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such scripts say ``import tensorflow as tf`` twice (the definitions' own import, their late
    one): still TensorFlow wherever they read ``tf``, so a folder of them shares one module."""
    import sys

    from tests.conftest import run_cli

    source, out = tmp_path / "src", tmp_path / "out"
    source.mkdir()
    for name in ("first.py", "second.py"):
        (source / name).write_text(LATE_IMPORT, encoding="utf-8")
    done = run_cli("rewrite", "--output-dir", str(out), str(source))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "bn_migrate_helpers.py").is_file()
    text = (out / "first.py").read_text(encoding="utf-8")
    assert _definitions(text) == []
    assert text.index("import tf1_mnist_read_data_sets\n") < text.index("mnist = ")
    monkeypatch.syspath_prepend(str(out))
    monkeypatch.delitem(sys.modules, "bn_migrate_helpers", raising=False)
    printed: list[object] = []
    try:
        exec(compile(text, "first.py", "exec"), {"print": lambda *a: printed.extend(a)})
    finally:
        sys.modules.pop("bn_migrate_helpers", None)  # this folder's: no other test's
    assert printed == [10000, "tensorflow"]
