"""TF1's MNIST tutorial reader: under `run-tf1` (bn_migrate/runtime/mnist.py), as the TF2 source the codemod
emits (bn_migrate/mnist_reader.py), and under `check`, whose workers make `numpy.random.seed(None)` seed
with the check's seed (bn_migrate/check/worker.py).

Every run reads the synthetic files of tests/mnist_files.py (5,200 training images: 5,000 held out for
validation, 200 left for training, so that batches of 64 wrap around an epoch on the fourth call). The
expected arrays are computed here from the raw files with NumPy alone: TF1's reader reseeds NumPy's
global generator when each data set is made, then `next_batch` shuffles `arange(n)` at the start of each
epoch, a batch crossing the end of an epoch being the rest of the old order followed by the start of the
new one.

The TF1 programs run in one process through `run_tf1` (what `bn-migrate run-tf1` calls), the TF2 source in
another, both started at once; each program saves what it read into an `.npz` file.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from bn_migrate import mnist_reader
from bn_migrate.check import CheckOptions, check_programs
from bn_migrate.check.worker import _seed_python
from bn_migrate.mnist_reader import SOURCES
from bn_migrate.runtime import mnist
from tests.conftest import REPO
from tests.mnist_files import write_mnist

TRAIN, TEST, VALIDATION = 5_200, 300, 5_000
BATCH, BATCHES = 64, 5  # 200 training images: the fourth batch wraps around the epoch
NOT_EMULATED = "is not available: only TF1's MNIST tutorial reader"

# -- the TF1 programs (under run-tf1) -----------------------------------------------------------------
# Appended to the programs (indented as they are, for textwrap.dedent).
BATCHES_CODE = f"""
        batches = [mnist.train.next_batch({BATCH}) for _ in range({BATCHES})]
        arrays.update({{f"batch_images_{{i}}": b[0] for i, b in enumerate(batches)}})
        arrays.update({{f"batch_labels_{{i}}": b[1] for i, b in enumerate(batches)}})
"""
SAVE_CODE = "\n        np.savez(sys.argv[1], **arrays)\n"

PROGRAMS: dict[str, str] = {
    # The first import form; seed= given: NumPy is seeded with it.
    "from_package": """
        import sys
        import numpy as np
        import tensorflow as tf
        from tensorflow.examples.tutorials.mnist import input_data
        mnist = input_data.read_data_sets(@DATA@, seed=7)
        assert type(mnist.train) is input_data.DataSet and type(mnist.test) is input_data.DataSet
        arrays = {
            "train_images": mnist.train.images, "train_labels": mnist.train.labels,
            "validation_images": mnist.validation.images, "validation_labels": mnist.validation.labels,
            "test_images": mnist.test.images, "test_labels": mnist.test.labels,
        }
        """
    + BATCHES_CODE
    + SAVE_CODE,
    # The second form; the graph-level seed (no seed=) seeds NumPy, and reading it draws no op seed.
    "import_as": """
        import sys
        import numpy as np
        import tensorflow as tf
        import tensorflow.examples.tutorials.mnist.input_data as input_data
        tf.set_random_seed(5)
        mnist = input_data.read_data_sets(@DATA@, one_hot=True, reshape=False)
        arrays = {
            "train_images": mnist.train.images, "train_labels": mnist.train.labels,
            "op_seeds": np.array(tf.random_uniform([1]).op.get_attr("seed2")),
        }
        """
    + BATCHES_CODE
    + SAVE_CODE,
    # The third form; dtype=tf.uint8 keeps the bytes; then seed=3, the batches the TF2 source must draw.
    "import_function": """
        import sys
        import numpy as np
        import tensorflow as tf
        from tensorflow.examples.tutorials.mnist.input_data import read_data_sets
        raw = read_data_sets(@DATA@, dtype=tf.uint8, validation_size=0)
        arrays = {"uint8_images": raw.train.images, "uint8_validation": np.array(raw.validation.num_examples)}
        mnist = read_data_sets(@DATA@, seed=3)
        """
    + BATCHES_CODE
    + SAVE_CODE,
    # contrib's module path: the same objects; a plain `import` binds the path as TF1's did.
    "contrib": """
        import sys
        import numpy as np
        import tensorflow
        import tensorflow.examples.tutorials.mnist.input_data
        from tensorflow.contrib.learn.python.learn.datasets import mnist as contrib_mnist
        from tensorflow.contrib.learn.python.learn.datasets.mnist import read_data_sets, DataSet
        input_data = tensorflow.examples.tutorials.mnist.input_data
        assert read_data_sets is contrib_mnist.read_data_sets is input_data.read_data_sets
        assert DataSet is input_data.DataSet and contrib_mnist.load_mnist is input_data.load_mnist
        assert input_data.DEFAULT_SOURCE_URL == "https://storage.googleapis.com/cvdf-datasets/mnist/"
        mnist = contrib_mnist.load_mnist(@DATA@)
        arrays = {"train_images": mnist.train.images, "is_data_set": np.array(isinstance(mnist.train, DataSet))}
        """
    + SAVE_CODE,
    # No seed at all, NumPy's seed(None) made deterministic by the check worker's function (set by the
    # driver); the OLD worker also sets the graph seed: both must draw the TF2 source's batches.
    "unseeded": """
        import sys
        import numpy as np
        from tensorflow.examples.tutorials.mnist import input_data
        mnist = input_data.read_data_sets(@DATA@)
        arrays = {}
        """
    + BATCHES_CODE
    + SAVE_CODE,
    "bad_magic": """
        from tensorflow.examples.tutorials.mnist import input_data
        input_data.read_data_sets(@BAD@)
        """,
    "validation_too_large": """
        from tensorflow.examples.tutorials.mnist import input_data
        input_data.read_data_sets(@DATA@, validation_size=5201)
        """,
    "not_emulated_name": """
        from tensorflow.examples.tutorials.mnist import input_data
        images = input_data.extract_images
        """,
    "not_emulated_module": """
        import numpy
        from tensorflow.examples.tutorials.mnist import mnist
        """,
    "not_emulated_contrib": """
        from tensorflow.contrib.learn.python.learn.datasets import base
        """,
    # the rest of tf.contrib.learn stays unavailable, in one line
    "not_emulated_learn": """
        import tensorflow.contrib.learn.python.learn.datasets.mnist
        from tensorflow.contrib.learn import Estimator
        """,
}
# Runs before the program: the check workers' NumPy seeding, and the OLD worker's graph seed.
SETUPS = {
    "unseeded": {"python_seed": 11},
    "unseeded_graph_seed": {"python_seed": 11, "graph_seed": 11},
}

DRIVER = """
import contextlib, io, json, sys
import numpy as np
from bn_migrate.check.worker import _seed_python
from bn_migrate.runtime.legacy import install, run_tf1

tf = install()
runs = json.loads(open(sys.argv[1]).read())
seed = np.random.seed
for run in runs:
    tf.reset_default_graph()
    if "python_seed" in run:
        _seed_python(run["python_seed"])
    if "graph_seed" in run:
        tf.get_default_graph().seed = run["graph_seed"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        run["status"] = run_tf1(run["path"], [run["out"]])
    run["stderr"] = err.getvalue()
    np.random.seed = seed
print(json.dumps(runs))
"""

TF2_SIDE = f"""
import sys
import numpy as np
from bn_migrate.check.worker import _seed_python
from bn_migrate.mnist_reader import READ_DATA_SETS, SOURCES

data, out = sys.argv[1], sys.argv[2]
namespace = {{}}
exec("import tensorflow as tf", namespace)
for source in SOURCES.values():
    exec(source, namespace)
read_data_sets = namespace[READ_DATA_SETS]
arrays = {{}}
for name, seed in (("seeded", 3), ("unseeded", None)):
    if seed is None:
        _seed_python(11)  # as the NEW worker does; the program then gives no seed
    mnist = read_data_sets(data, seed=seed)
    for i in range({BATCHES}):
        batch = mnist.train.next_batch({BATCH})
        arrays[f"{{name}}_images_{{i}}"], arrays[f"{{name}}_labels_{{i}}"] = batch
np.savez(out, **arrays)
"""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _bad_folder(folder: Path, data: Path) -> Path:
    """The synthetic files, but the training labels' magic number is the image files' (2051)."""
    folder.mkdir()
    for file in data.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write((2051).to_bytes(4, "big") + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    return folder


class Runs:
    """What each TF1 program and the TF2 source read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = write_mnist(folder / "MNIST_data", train=TRAIN, test=TEST)
        bad = _bad_folder(folder / "bad", self.data)
        runs: list[dict[str, Any]] = []
        for name, source in {**PROGRAMS, "unseeded_graph_seed": PROGRAMS["unseeded"]}.items():
            path = folder / f"{name}.py"
            text = textwrap.dedent(source)
            text = text.replace("@DATA@", repr(str(self.data))).replace("@BAD@", repr(str(bad)))
            path.write_text(text, encoding="utf-8")
            runs.append({"name": name, "path": str(path), "out": str(folder / f"{name}.npz")})
            runs[-1].update(SETUPS.get(name, {}))
        spec = folder / "runs.json"
        spec.write_text(json.dumps(runs), encoding="utf-8")
        driver = folder / "driver.py"
        driver.write_text(DRIVER, encoding="utf-8")
        tf2 = folder / "tf2_side.py"
        tf2.write_text(TF2_SIDE, encoding="utf-8")
        pipes = subprocess.PIPE
        options: dict[str, Any] = {"stdout": pipes, "stderr": pipes, "text": True}
        options["env"] = _environment()
        old = subprocess.Popen([sys.executable, str(driver), str(spec)], cwd=folder, **options)
        new_out = folder / "tf2.npz"
        new = subprocess.Popen(
            [sys.executable, str(tf2), str(self.data), str(new_out)], cwd=folder, **options
        )
        old_stdout, old_stderr = old.communicate(timeout=300)
        _, new_stderr = new.communicate(timeout=300)
        assert old.returncode == 0, old_stderr
        assert new.returncode == 0, new_stderr
        self.runs = {run["name"]: run for run in json.loads(old_stdout.splitlines()[-1])}
        self.tf2 = dict(np.load(new_out))

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        run = self.runs[name]
        assert run["status"] == 0, run["stderr"]
        return dict(np.load(run["out"]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    yield Runs(tmp_path_factory.mktemp("mnist"))


def raw(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """The images (n, 28, 28, uint8) and labels of one of the synthetic IDX files, read with NumPy."""
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 28, 28)
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read()[8:], dtype=np.uint8)
    return images, labels


def expected_batches(
    images: np.ndarray, labels: np.ndarray, numpy_seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """TF1's batches: NumPy reseeded, an `arange` shuffled at the start of each epoch, a batch crossing
    the end of an epoch made of the old order's rest and the new order's start."""
    # The same stream as NumPy's global generator after numpy.random.seed(numpy_seed).
    rng = np.random.RandomState(numpy_seed)
    n = len(images)
    order = np.arange(n)
    rng.shuffle(order)
    start, batches = 0, []
    for _ in range(BATCHES):
        if start + BATCH <= n:
            batches.append(
                (images[order[start : start + BATCH]], labels[order[start : start + BATCH]])
            )
            start += BATCH
            continue
        rest = order[start:]
        new = np.arange(n)
        rng.shuffle(new)
        order = order[new]
        start = BATCH - len(rest)
        picked = np.concatenate([rest, order[:start]])
        batches.append((images[picked], labels[picked]))
    return batches


def assert_batches(arrays: dict[str, np.ndarray], prefix: str, expected: list[Any]) -> None:
    for i, (images, labels) in enumerate(expected):
        got_images, got_labels = arrays[f"{prefix}_images_{i}"], arrays[f"{prefix}_labels_{i}"]
        assert got_images.shape == (len(labels), 784) and got_images.dtype == np.float32
        np.testing.assert_allclose(got_images, images.reshape(-1, 784) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(got_labels, labels)


def train_split(runs: Runs) -> tuple[np.ndarray, np.ndarray]:
    images, labels = raw(runs.data, "train")
    return images[VALIDATION:], labels[VALIDATION:]


# -- run-tf1 ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_arrays_are_tf1s_scaled_flattened_and_split(runs: Runs) -> None:
    arrays = runs.arrays("from_package")
    images, labels = raw(runs.data, "train")
    test_images, test_labels = raw(runs.data, "t10k")
    for name, (expected_images, expected_labels) in {
        "train": (images[VALIDATION:], labels[VALIDATION:]),
        "validation": (images[:VALIDATION], labels[:VALIDATION]),
        "test": (test_images, test_labels),
    }.items():
        got = arrays[f"{name}_images"]
        assert got.shape == (len(expected_labels), 784) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected_images.reshape(-1, 784) / 255.0, rtol=1e-6)
        assert got.min() >= 0.0 and got.max() <= 1.0
        assert arrays[f"{name}_labels"].dtype == np.uint8
        np.testing.assert_array_equal(arrays[f"{name}_labels"], expected_labels)
    assert arrays["train_images"].shape == (200, 784)


@pytest.mark.slow
def test_one_hot_reshape_false_and_uint8(runs: Runs) -> None:
    images, labels = train_split(runs)
    arrays = runs.arrays("import_as")
    assert arrays["train_labels"].dtype == np.float64
    np.testing.assert_array_equal(arrays["train_labels"], np.eye(10)[labels])
    assert arrays["train_images"].shape == (200, 28, 28, 1)
    assert arrays["train_images"].dtype == np.float32
    np.testing.assert_allclose(arrays["train_images"][..., 0], images / 255.0, rtol=1e-6)
    uint8 = runs.arrays("import_function")
    all_images, _ = raw(runs.data, "train")
    assert uint8["uint8_images"].dtype == np.uint8 and uint8["uint8_validation"] == 0
    np.testing.assert_array_equal(uint8["uint8_images"], all_images.reshape(-1, 784))


@pytest.mark.slow
def test_batches_follow_seed_or_graph_seed(runs: Runs) -> None:
    images, labels = train_split(runs)
    assert_batches(runs.arrays("from_package"), "batch", expected_batches(images, labels, 7))
    # tf.set_random_seed(5), no seed=: TF1 seeded NumPy with the graph seed (get_seed's seed1).
    graph_seeded = runs.arrays("import_as")
    for i, (expected_images, expected_labels) in enumerate(expected_batches(images, labels, 5)):
        assert graph_seeded[f"batch_images_{i}"].shape == (len(expected_labels), 28, 28, 1)
        np.testing.assert_allclose(
            graph_seeded[f"batch_images_{i}"][..., 0], expected_images / 255.0, rtol=1e-6
        )
        np.testing.assert_array_equal(
            graph_seeded[f"batch_labels_{i}"], np.eye(10)[expected_labels]
        )
    # The graph's first random op still gets op seed 0: reading the graph seed drew none.
    assert graph_seeded["op_seeds"] == 0


@pytest.mark.slow
def test_contrib_path_gives_the_same_reader(runs: Runs) -> None:
    arrays = runs.arrays("contrib")
    assert arrays["is_data_set"] and arrays["train_images"].shape == (200, 784)


@pytest.mark.slow
def test_tf1_errors(runs: Runs) -> None:
    bad = runs.runs["bad_magic"]
    label_file = runs.folder / "bad" / "train-labels-idx1-ubyte.gz"
    assert bad["status"] == 1
    assert (
        f"ValueError: Invalid magic number 2051 in MNIST label file: {label_file}" in bad["stderr"]
    )
    too_large = runs.runs["validation_too_large"]
    assert too_large["status"] == 1
    assert (
        "ValueError: Validation size should be between 0 and 5200. Received: 5201."
        in too_large["stderr"]
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "api", "line"),
    [
        ("not_emulated_name", "tensorflow.examples.tutorials.mnist.input_data.extract_images", 3),
        ("not_emulated_module", "tensorflow.examples.tutorials.mnist.mnist", 3),
        ("not_emulated_contrib", "tensorflow.contrib.learn.python.learn.datasets.base", 2),
    ],
)
def test_names_not_emulated_are_one_line(runs: Runs, name: str, api: str, line: int) -> None:
    run = runs.runs[name]
    assert run["status"] == 2, run["stderr"]
    assert "Traceback" not in run["stderr"]
    lines = [ln for ln in run["stderr"].splitlines() if "is not available" in ln]
    assert len(lines) == 1, run["stderr"]
    assert lines[0].startswith(f"{run['path']}:{line}: error: {api} {NOT_EMULATED}")


@pytest.mark.slow
def test_the_rest_of_contrib_learn_is_unavailable_in_one_line(runs: Runs) -> None:
    run = runs.runs["not_emulated_learn"]
    assert run["status"] == 2, run["stderr"]
    assert "Traceback" not in run["stderr"]
    lines = [ln for ln in run["stderr"].splitlines() if "is not available" in ln]
    assert len(lines) == 1, run["stderr"]
    assert lines[0].startswith(
        f"{run['path']}:3: error: tensorflow.contrib.learn is not available: only tf.contrib.layers"
    )


# -- the TF2 source against run-tf1 ---------------------------------------------------------------------
@pytest.mark.slow
def test_tf2_source_draws_run_tf1s_batches(runs: Runs) -> None:
    images, labels = train_split(runs)
    seeded = runs.arrays("import_function")
    assert_batches(seeded, "batch", expected_batches(images, labels, 3))
    for i in range(BATCHES):
        for kind in ("images", "labels"):
            np.testing.assert_array_equal(
                runs.tf2[f"seeded_{kind}_{i}"], seeded[f"batch_{kind}_{i}"]
            )
    # No seed: the worker's numpy.random.seed(None) seeds with the check's seed, 11, on both sides (and
    # TF1 with the OLD worker's graph seed 11 seeds NumPy with 11 itself).
    assert_batches(runs.tf2, "unseeded", expected_batches(images, labels, 11))
    for name in ("unseeded", "unseeded_graph_seed"):
        arrays = runs.arrays(name)
        for i in range(BATCHES):
            for kind in ("images", "labels"):
                np.testing.assert_array_equal(
                    arrays[f"batch_{kind}_{i}"], runs.tf2[f"unseeded_{kind}_{i}"]
                )


# -- the check worker's NumPy seeding ------------------------------------------------------------------
def test_worker_numpy_seed_none_is_the_check_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np.random, "seed", np.random.seed)  # restored after the test
    original = np.random.seed
    np.random.seed(11)
    expected = np.random.rand(4)
    np.random.seed(4)
    expected_4 = np.random.rand(4)
    _seed_python(11)
    assert np.random.rand(4).tolist() == expected.tolist()  # the worker's own seeding
    for call in (
        lambda: np.random.seed(),
        lambda: np.random.seed(None),
        lambda: np.random.seed(seed=None),
    ):
        np.random.rand(3)
        call()
        assert np.random.rand(4).tolist() == expected.tolist()
    np.random.seed(4)
    assert np.random.rand(4).tolist() == expected_4.tolist()
    np.random.seed(seed=4)
    assert np.random.rand(4).tolist() == expected_4.tolist()
    _seed_python(12)  # a second call wraps NumPy's own function again, not the wrapper
    assert np.random.seed.__wrapped__ is original  # type: ignore[attr-defined]


# -- TF1's get_seed, as numpy_seed computes it ------------------------------------------------------------
class _Graph:
    def __init__(self, seed: int | None) -> None:
        self.seed = seed


class _GraphTF:
    """The two calls numpy_seed makes of the emulated tf, in graph mode."""

    def __init__(self, seed: int | None) -> None:
        self.graph = _Graph(seed)

    def executing_eagerly(self) -> bool:
        return False

    def get_default_graph(self) -> _Graph:
        return self.graph


@pytest.mark.parametrize(
    ("graph_seed", "seed", "expected"),
    [
        (None, None, None),  # (None, None): the entropy pool
        (None, 7, 7),  # (87654321, 7)
        (None, 0, 0),  # (87654321, 0)
        (5, None, 5),  # seed1: the graph seed
        (5, 7, 7),
        (0, None, 0),  # (0, op) or (0, 0) -> (0, 2**31 - 1): seed1 is 0 either way
        (0, 0, 2**31 - 1),  # (0, 0) -> (0, 2**31 - 1)
        (2**31 - 1 + 4, None, 4),  # truncated to 31 bits
        (3, 2**31 - 1 + 9, 9),
        (None, -1, 2**31 - 2),  # Python's modulo, as TF1's _truncate_seed
    ],
)
def test_numpy_seed_is_tf1_get_seed(
    graph_seed: int | None, seed: int | None, expected: int | None
) -> None:
    assert mnist.numpy_seed(_GraphTF(graph_seed), seed) == expected


def test_reader_code_keeps_its_lines_in_mnist_reader_py() -> None:
    """run-tf1 executes the text the codemod emits, compiled so that tracebacks through it (a bad magic
    number...) show the lines of bn_migrate/mnist_reader.py."""
    path = Path(mnist_reader.__file__)
    lines = path.read_text(encoding="utf-8").splitlines()
    namespace: dict[str, Any] = {"tf": SimpleNamespace(float32="float32")}
    for name, source in SOURCES.items():
        code = mnist._compile(name, source)
        assert code.co_filename == str(path)
        exec(code, namespace)
        first = namespace[name].__init__ if name == mnist_reader.DATA_SET else namespace[name]
        assert (
            lines[first.__code__.co_firstlineno - 1].lstrip().startswith(f"def {first.__name__}(")
        )


# -- check, end to end --------------------------------------------------------------------------------
OLD_CHECK = """
import hashlib
import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets({data!r})
x = tf.placeholder(tf.float32, [None, 784])
y = tf.layers.batch_normalization(x, training=True)
updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        images, _ = mnist.train.next_batch(50)
        print("batch", step, hashlib.sha256(images.tobytes()).hexdigest())
        sess.run(updates, {{x: images}})
"""

NEW_CHECK = """
import hashlib
import tensorflow as tf
{sources}
mnist = tf1_mnist_read_data_sets({data!r})
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3)
for step in range(3):
    images, _ = mnist.train.next_batch(50)
    print("batch", step, hashlib.sha256(images.tobytes()).hexdigest())
    bn(images, training=True)
"""


@pytest.mark.slow
def test_check_gives_both_sides_the_same_unseeded_batches(tmp_path: Path) -> None:
    """OLD through the reader under run-tf1, NEW through the emitted source, neither seeded: the OLD
    worker's graph seed and the NEW worker's numpy.random.seed(None) give both the check seed's batches."""
    data = write_mnist(tmp_path / "MNIST_data", train=TRAIN, test=TEST)
    old, new = tmp_path / "old.py", tmp_path / "new.py"
    old.write_text(OLD_CHECK.format(data=str(data)), encoding="utf-8")
    sources = "\n".join(SOURCES.values())
    new.write_text(NEW_CHECK.format(data=str(data), sources=sources), encoding="utf-8")
    options = CheckOptions(timeout=120, old_repeats=1, lockstep=False, seed=11)
    result = check_programs(old, new, options, keep_dir=tmp_path / "check")
    printed = {
        side: [
            line
            for line in (tmp_path / "check" / side / "stdout.txt").read_text().splitlines()
            if line.startswith("batch ")
        ]
        for side in ("old_1", "new_free")
    }
    assert len(printed["old_1"]) == 3 and printed["old_1"] == printed["new_free"], printed
    assert result.verdict == "equivalent", result.render_text()
