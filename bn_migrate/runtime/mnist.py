"""TF1's MNIST tutorial reader under ``run-tf1``: ``tensorflow.examples.tutorials.mnist.input_data`` and
``tensorflow.contrib.learn.python.learn.datasets.mnist``, which TensorFlow 2 lacks.

Both modules hold the same objects, made by executing :data:`bn_migrate.mnist_reader.SOURCES` (the code
the codemod emits into migrated programs) with ``tf`` bound to the emulated TF1 module:

* ``read_data_sets`` (TF1's, reading the four IDX files, downloading those missing);
* ``DataSet``: a subclass of the exec'd ``TF1MnistDataSet`` whose ``numpy_seed`` is TF1's:
  ``random_seed.get_seed(seed)`` gave NumPy ``seed2`` when ``seed=`` was given and ``seed1`` (the
  graph-level seed, or None: the entropy pool) when it was not (:func:`numpy_seed`). The namespace's
  ``TF1MnistDataSet`` is rebound to it, so ``read_data_sets`` makes ``DataSet`` instances;
* ``load_mnist`` and ``DEFAULT_SOURCE_URL``.

Any other name of these modules, and any other module under ``tensorflow.examples`` or the contrib path,
is reported as not emulated (``run-tf1``: one line, exit 2). ``tf.contrib.learn`` itself stays
unavailable: only the full module path of the reader is provided.

The ``tensorflow.examples`` modules are imported through :func:`find_spec` (the legacy runtime's import
finder), so importing them sets their parents' attributes as a real import does; the contrib modules are
put in ``sys.modules`` by :func:`install`, as the runtime's other contrib module paths are (their parent
``tensorflow.contrib.learn`` cannot be imported). NumPy is imported when the reader first runs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bn_migrate import mnist_reader
from bn_migrate.runtime.unavailable import UnavailableAttributeError, UnavailableImportError

INPUT_DATA = "tensorflow.examples.tutorials.mnist.input_data"
CONTRIB_MNIST = "tensorflow.contrib.learn.python.learn.datasets.mnist"
EXAMPLES = "tensorflow.examples"
CONTRIB_ROOT = "tensorflow.contrib.learn.python"
DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
REASON = (
    "only TF1's MNIST tutorial reader (read_data_sets, DataSet, load_mnist and DEFAULT_SOURCE_URL of "
    f"{INPUT_DATA} and {CONTRIB_MNIST}) is emulated"
)

# tensorflow/python/framework/random_seed.py (TF 1.15 and 2.21 alike).
_MAXINT32 = mnist_reader.MAXINT32
CHECK_SEEDED = "_bn_migrate_check_seeded"
"""Set (True) on a graph whose seed ``bn-migrate check`` gave it, cleared when the program sets one: the
checker seeds the original's graphs to make its runs repeatable, which TF1 never did for the program."""
_DEFAULT_GRAPH_SEED = 87654321

# The tensorflow.examples modules of the reader, by name (made by install, imported through find_spec).
_modules: dict[str, types.ModuleType] = {}


def numpy_seed(tf: Any, seed: int | None) -> int | None:
    """The value TF1's ``DataSet.__init__`` passed to ``numpy.random.seed``: ``seed1`` of
    ``random_seed.get_seed(seed)`` when *seed* is None, ``seed2`` otherwise, computed from the default
    graph's seed (the eager global seed when executing eagerly) without calling ``get_seed``, which
    advances the graph's op-seed counter on TensorFlow 2."""
    if tf.executing_eagerly():
        from tensorflow.python.eager import context

        global_seed = context.global_seed()
    else:
        graph = tf.get_default_graph()
        global_seed = graph.seed
        if seed is not None and getattr(graph, CHECK_SEEDED, False):
            # the checker's graph seed, not the program's: TF1 ran this program without one (with
            # ``seed=None`` the checker's seed stands in for the entropy pool on both sides, as here)
            global_seed = None
    if global_seed is None:
        seeds = (None, None) if seed is None else (_DEFAULT_GRAPH_SEED, seed % _MAXINT32)
    elif seed is None:
        # op_seed would be the graph's next op id: seed1, the only one used here, does not depend on it.
        seeds = (global_seed % _MAXINT32, None)
    else:
        seeds = (global_seed % _MAXINT32, seed % _MAXINT32)
    if seeds == (0, 0):  # get_seed's rule: (0, 0) would mean "nondeterministic" to the C++ ops
        seeds = (0, _MAXINT32)
    return seeds[0] if seed is None else seeds[1]


def _compile(name: str, source: str) -> types.CodeType:
    """*source* compiled with the file and line numbers it has in ``mnist_reader.py``, so that tracebacks
    through the reader show its lines (a placeholder file name if the text is not found there)."""
    path = Path(mnist_reader.__file__)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    at = text.find(source)
    if at < 0:
        return compile(source, f"<{name} from bn_migrate.mnist_reader>", "exec", dont_inherit=True)
    return compile("\n" * text.count("\n", 0, at) + source, str(path), "exec", dont_inherit=True)


def _reader(tf: Any) -> dict[str, Any]:
    """The exported objects: the exec'd reader with ``tf`` bound to *tf* and ``DataSet`` seeding as TF1."""
    namespace: dict[str, Any] = {"__name__": CONTRIB_MNIST, "tf": tf}
    for name, source in mnist_reader.SOURCES.items():
        exec(_compile(name, source), namespace)
    base = namespace[mnist_reader.DATA_SET]

    class DataSet(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__

        @staticmethod
        def numpy_seed(seed: int | None) -> int | None:
            return numpy_seed(tf, seed)

    namespace[mnist_reader.DATA_SET] = DataSet
    read_data_sets = namespace[mnist_reader.READ_DATA_SETS]

    def load_mnist(train_dir: str = "MNIST-data") -> Any:
        return read_data_sets(train_dir)

    for name, value in (("DataSet", DataSet), ("load_mnist", load_mnist)):
        value.__module__, value.__qualname__ = CONTRIB_MNIST, name
    return {
        "read_data_sets": read_data_sets,
        "DataSet": DataSet,
        "load_mnist": load_mnist,
        "DEFAULT_SOURCE_URL": DEFAULT_SOURCE_URL,
    }


def _not_emulated(module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) reporting every missing name of *module* as not emulated."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnavailableAttributeError(f"{module}.{name}", REASON)

    return __getattr__


def _module(name: str, contents: dict[str, Any], package: bool) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(contents)
    if package:
        module.__dict__["__path__"] = []
    module.__dict__["__getattr__"] = _not_emulated(name)
    return module


def install(tf: Any) -> dict[str, types.ModuleType]:
    """Make the reader's modules with ``tf`` = *tf* (the emulated TF1 module); returns the contrib ones,
    for ``sys.modules`` (each package holding its child); the ``tensorflow.examples`` ones are imported
    through :func:`find_spec`."""
    exported = _reader(tf)
    examples = (
        "tensorflow.examples",
        "tensorflow.examples.tutorials",
        "tensorflow.examples.tutorials.mnist",
    )
    modules = {name: _module(name, {}, package=True) for name in examples}
    modules[INPUT_DATA] = _module(INPUT_DATA, exported, package=False)
    contrib = {
        name: _module(name, {}, package=True)
        for name in (CONTRIB_ROOT, f"{CONTRIB_ROOT}.learn", f"{CONTRIB_ROOT}.learn.datasets")
    }
    contrib[CONTRIB_MNIST] = _module(CONTRIB_MNIST, exported, package=False)
    for name, module in contrib.items():
        parent, _, child = name.rpartition(".")
        if parent in contrib:
            contrib[parent].__dict__[child] = module
    _modules.clear()
    _modules.update(modules)
    return contrib


class _Loader(importlib.abc.Loader):
    """Gives the import system the module :func:`install` made for the name."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _modules[spec.name]

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def find_spec(fullname: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of a ``tensorflow.examples`` module of the reader; :class:`UnavailableImportError` for any
    other module under ``tensorflow.examples`` or the reader's contrib path; None for other names."""
    under = [root for root in (EXAMPLES, CONTRIB_ROOT) if fullname.startswith(f"{root}.")]
    if fullname != EXAMPLES and not under:
        return None
    if fullname in _modules:
        package = "__path__" in _modules[fullname].__dict__
        return importlib.machinery.ModuleSpec(
            fullname, _Loader(), origin=__name__, is_package=package
        )
    raise UnavailableImportError(fullname, REASON)


__all__ = ["CHECK_SEEDED", "DEFAULT_SOURCE_URL", "REASON", "find_spec", "install", "numpy_seed"]
