"""The legacy runtime: run an unmodified TensorFlow 1 program on the installed TensorFlow 2.x.

``install()`` makes this process behave, for the program it then runs, like TensorFlow 1.15:

* ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow loads, so ``tf.layers.*`` and graph-mode ``tf.keras``
  come from tf-keras (Keras 2, with ``.updates``);
* v2 behaviour is disabled (graph mode, sessions, placeholders, collections);
* ``import tensorflow as tf`` and ``import tensorflow.compat.v1 as tf`` both give the v1 API;
* ``tf.contrib.layers`` and ``tf.contrib.slim`` (and ``tensorflow.contrib.slim`` imports) come from tf-slim,
  patched as ``docs/reference.md`` ("Running TF1 programs on TF 2.21") describes; so do
  ``tf.contrib.framework``'s arg_scope and variable helpers (tf-slim's ``ops.arg_scope`` and
  ``ops.variables``, the same code);
* ``tf.estimator`` (and ``import tensorflow.estimator``/``tensorflow_estimator``) is the real
  tensorflow-estimator 2.15, patched and loaded on first use (:mod:`bn_migrate.runtime.estimator`);
* TF1's MNIST tutorial reader, ``tensorflow.examples.tutorials.mnist.input_data`` (also
  ``tensorflow.contrib.learn.python.learn.datasets.mnist``), is :mod:`bn_migrate.mnist_reader`'s port
  (:mod:`bn_migrate.runtime.mnist`);
* APIs that cannot be emulated (``tf.contrib`` modules other than those above, ``tf.estimator`` without
  tensorflow-estimator installed) raise :class:`LegacyAPIUnavailable` naming the API, which
  :func:`run_tf1` reports with the user's line and exit 2.

The replacement modules live only in this process: run each program in its own process (the CLI does).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import pkgutil
import sys
import types
from collections.abc import Callable
from typing import Any

from bn_migrate.errors import BnMigrateError, MissingDependencyError
from bn_migrate.runtime import estimator, mnist
from bn_migrate.runtime.script import (
    Program,
    execute,
    format_exception,
    format_location,
    load_program,
    user_frames,
)
from bn_migrate.runtime.unavailable import (
    LegacyAPIUnavailable,
    UnavailableAttributeError,
    UnavailableImportError,
)

#: Exit code when a program uses an API that the legacy runtime cannot provide.
EXIT_UNSUPPORTED = 2

# API name -> why it cannot be provided. One table, used for attribute access and for imports.
UNAVAILABLE: dict[str, str] = {
    "contrib": "only tf.contrib.layers, tf.contrib.slim and tf.contrib.framework's arg_scope and "
    "variable helpers are emulated (through tf-slim), and contrib.learn's MNIST reader",
    "contrib.framework": "only its arg_scope and variable helpers are emulated (tf-slim's, the same "
    "code)",
}

SUPPORTED_CONTRIB = ("framework", "layers", "slim")


class _DelegatingModule(types.ModuleType):
    """A module whose missing attributes come from *target*, except those listed as unavailable and
    those *lazy* loads on first access (a load that fails with an unavailable import is reported as
    the unavailable attribute)."""

    def __init__(
        self,
        name: str,
        target: Any,
        unavailable: dict[str, str],
        api_prefix: str,
        lazy: dict[str, Callable[[], Any]] | None = None,
    ) -> None:
        super().__init__(name)
        self.__dict__["_bn_target"] = target
        self.__dict__["_bn_unavailable"] = unavailable
        self.__dict__["_bn_prefix"] = api_prefix
        self.__dict__["_bn_lazy"] = dict(lazy or {})

    def __getattr__(self, name: str) -> Any:
        if name in self._bn_unavailable:
            raise UnavailableAttributeError(f"{self._bn_prefix}.{name}", self._bn_unavailable[name])
        if name in self._bn_lazy:
            try:
                value = self._bn_lazy[name]()
            except UnavailableImportError as exc:
                raise UnavailableAttributeError(f"{self._bn_prefix}.{name}", exc.reason) from None
            self.__dict__[name] = value
            return value
        return getattr(self._bn_target, name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._bn_target)) | set(self.__dict__))


class _LegacyImportFinder(importlib.abc.MetaPathFinder):
    """Turns ``import tensorflow.contrib.<other>`` into a clear :class:`UnavailableImportError`; imports
    ``tensorflow.estimator[.x]`` as tensorflow-estimator's v1 API and patches TensorFlow before
    ``tensorflow_estimator`` itself is imported (:mod:`bn_migrate.runtime.estimator`); imports
    ``tensorflow.examples.tutorials.mnist.input_data`` and its parents, any other ``tensorflow.examples``
    module being unavailable (:mod:`bn_migrate.runtime.mnist`)."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = mnist.find_spec(fullname)
        if spec is not None:
            return spec
        if fullname.startswith("tensorflow.contrib.") and fullname not in sys.modules:
            raise UnavailableImportError(fullname, UNAVAILABLE["contrib"])
        if fullname.split(".", 1)[0] == estimator.PACKAGE:
            if not estimator.installed():
                raise UnavailableImportError(fullname, estimator.INSTALL_HINT)
            estimator.apply_patches()
            return None
        return estimator.alias_spec(fullname)


_installed: types.ModuleType | None = None


def _patch_tf_slim(tf2: Any, v1: Any) -> Any:
    """Make tf-slim 1.1.0 import and run on TensorFlow 2.21 (the three patches listed in docs/reference.md)."""
    import tf_keras.src.legacy_tf_layers as legacy_layers

    sys.modules.setdefault("tf_keras.legacy_tf_layers", legacy_layers)
    for info in pkgutil.iter_modules(legacy_layers.__path__):
        module = importlib.import_module(f"tf_keras.src.legacy_tf_layers.{info.name}")
        sys.modules.setdefault(f"tf_keras.legacy_tf_layers.{info.name}", module)
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import control_flow_ops

    ops.Tensor = tf2.Tensor
    control_flow_ops.cond = v1.cond
    import tf_slim

    return tf_slim


def _legacy_environment() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def install() -> types.ModuleType:
    """Prepare this process to run TF1 programs; returns the module ``import tensorflow`` now gives."""
    global _installed
    if _installed is not None:
        # Again in a process forked after the install (bn_migrate.check.forkserver), whose environment
        # was replaced by the run's: the program and its children see what a fresh install sets.
        _legacy_environment()
        return _installed
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise BnMigrateError(
            "TensorFlow was imported before the legacy runtime was installed; "
            "TF_USE_LEGACY_KERAS=1 must be set first (run the program through bn-migrate run-tf1)"
        )
    _legacy_environment()
    try:
        import tensorflow as tf2
    except ImportError as exc:
        raise MissingDependencyError(
            f"TensorFlow is not installed ({exc}); install bn-migrate[tf] or run 'make demo'"
        ) from None
    from tensorflow.python.util import deprecation

    v1 = tf2.compat.v1
    with deprecation.silence():  # our own call: the program did not ask for this warning
        v1.disable_v2_behavior()
    try:
        import tf_keras  # noqa: F401  (tf.layers and graph-mode tf.keras need it)

        tf_slim = _patch_tf_slim(tf2, v1)
    except ImportError as exc:
        raise MissingDependencyError(
            f"tf-keras and tf-slim are needed to run TF1 programs ({exc}); install bn-migrate[tf]"
        ) from None

    contrib_layers = _DelegatingModule(
        "tensorflow.contrib.layers", tf_slim.layers, {}, "tf.contrib.layers"
    )
    # contrib.layers also held regularizers, initializers, arg_scope, optimize_loss...: tf-slim's top level.
    contrib_layers.__dict__["_bn_target"] = _Chain(tf_slim.layers, tf_slim)
    contrib = _DelegatingModule("tensorflow.contrib", None, {}, "tf.contrib")
    contrib.__dict__["_bn_target"] = _Unavailable("tf.contrib", UNAVAILABLE["contrib"])
    contrib.__dict__["layers"] = contrib_layers
    contrib.__dict__["slim"] = tf_slim
    contrib.__dict__["__path__"] = []
    contrib_modules = _contrib_layers_modules()
    contrib_layers.__dict__["python"] = contrib_modules["tensorflow.contrib.layers.python"]
    framework_modules = _contrib_framework_modules()
    contrib.__dict__["framework"] = framework_modules["tensorflow.contrib.framework"]
    contrib_modules.update(framework_modules)

    tf1 = _DelegatingModule("tensorflow", v1, {}, "tf", lazy={"estimator": estimator.load_v1_api})
    compat = _DelegatingModule("tensorflow.compat", tf2.compat, {}, "tf.compat")
    compat.__dict__["v1"] = tf1
    compat.__dict__["__path__"] = list(getattr(tf2.compat, "__path__", []))
    tf1.__dict__.update(
        {
            "__path__": list(tf2.__path__),
            "__file__": getattr(tf2, "__file__", None),
            "__version__": tf2.__version__,
            "contrib": contrib,
            "compat": compat,
        }
    )
    sys.modules["tensorflow"] = tf1
    sys.modules["tensorflow.compat"] = compat
    sys.modules["tensorflow.compat.v1"] = tf1
    sys.modules["tensorflow.contrib"] = contrib
    sys.modules["tensorflow.contrib.layers"] = contrib_layers
    sys.modules["tensorflow.contrib.slim"] = tf_slim
    sys.modules.update(contrib_modules)
    sys.modules.update(mnist.install(tf1))
    sys.meta_path.insert(0, _LegacyImportFinder())
    _installed = tf1
    return tf1


CONTRIB_LAYERS_SUBMODULES = (
    "layers",
    "initializers",
    "regularizers",
    "utils",
    "optimizers",
    "summaries",
)
"""Modules of TF1's ``tensorflow/contrib/layers/python/layers/`` that tf-slim keeps under the same names."""


def _contrib_layers_modules() -> dict[str, types.ModuleType]:
    """contrib's own module paths, as real code imports them (``from tensorflow.contrib.layers.python
    import layers``, ``from tensorflow.contrib.layers.python.layers import initializers``): tf-slim's."""
    package = "tensorflow.contrib.layers.python"
    layers = importlib.import_module(
        "tf_slim.layers"
    )  # the package (``tf_slim.layers`` is a module)
    python = types.ModuleType(package)
    python.__dict__["__path__"] = []
    python.__dict__["layers"] = layers
    modules: dict[str, types.ModuleType] = {package: python, f"{package}.layers": layers}
    for name in CONTRIB_LAYERS_SUBMODULES:
        modules[f"{package}.layers.{name}"] = importlib.import_module(f"tf_slim.layers.{name}")
    return modules


CONTRIB_FRAMEWORK_SOURCES = ("arg_scope", "variables")
"""Modules of TF1's ``tensorflow/contrib/framework/python/ops/`` that tf-slim keeps (``tf_slim.ops.X``):
``arg_scope``, ``add_arg_scope``, ``get_variables``, ``model_variable``... are the same code."""


def _contrib_framework_modules() -> dict[str, types.ModuleType]:
    """``tf.contrib.framework`` (its arg_scope and variable helpers; any other name is reported as not
    emulated) and its own module paths (``from tensorflow.contrib.framework.python.ops import
    arg_scope``): tf-slim's."""
    sources = {
        name: importlib.import_module(f"tf_slim.ops.{name}") for name in CONTRIB_FRAMEWORK_SOURCES
    }
    exported = {
        name: value
        for module in sources.values()
        for name, value in vars(module).items()
        if not name.startswith("_")
        and callable(value)
        and getattr(value, "__module__", "").startswith("tf_slim.")
    }
    framework = types.ModuleType("tensorflow.contrib.framework")
    framework.__dict__.update(exported)
    framework.__dict__["__path__"] = []
    framework.__getattr__ = _Unavailable(  # type: ignore[method-assign]
        "tf.contrib.framework", UNAVAILABLE["contrib.framework"]
    ).__getattr__
    python = types.ModuleType("tensorflow.contrib.framework.python")
    python.__dict__["__path__"] = []
    ops = types.ModuleType("tensorflow.contrib.framework.python.ops")
    ops.__dict__["__path__"] = []
    ops.__dict__.update(sources)
    python.__dict__["ops"] = ops
    framework.__dict__["python"] = python
    modules = {
        "tensorflow.contrib.framework": framework,
        "tensorflow.contrib.framework.python": python,
        "tensorflow.contrib.framework.python.ops": ops,
    }
    for name, module in sources.items():
        modules[f"tensorflow.contrib.framework.python.ops.{name}"] = module
    return modules


class _Chain:
    """Attribute lookup through several objects in turn."""

    def __init__(self, *targets: Any) -> None:
        self._targets = targets

    def __getattr__(self, name: str) -> Any:
        for target in self._targets:
            if hasattr(target, name):
                return getattr(target, name)
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return sorted({n for t in self._targets for n in dir(t)})


class _Unavailable:
    """Every attribute is an API the runtime cannot provide."""

    def __init__(self, prefix: str, reason: str) -> None:
        self._prefix, self._reason = prefix, reason

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnavailableAttributeError(f"{self._prefix}.{name}", self._reason)

    def __dir__(self) -> list[str]:
        return list(SUPPORTED_CONTRIB)


def find_unavailable(exc: BaseException | None) -> LegacyAPIUnavailable | None:
    """The :class:`LegacyAPIUnavailable` behind *exc*, following ``raise ... from`` and context chains."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, LegacyAPIUnavailable):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def run_tf1(path: str | os.PathLike[str], argv: list[str] | None = None) -> int:
    """Run the TF1 program at *path* with *argv*; return its exit status as ``python`` would.

    * normal end: 0; ``sys.exit(n)``: n;
    * uncaught exception: the traceback on stderr, 1;
    * an API the runtime cannot provide: one line ``FILE:LINE: error: API is not available...``, 2.
    """
    program = load_program(path)
    install()
    try:
        execute(program, list(argv or []))
    except SystemExit as exc:
        return _exit_status(exc)
    except BaseException as exc:  # noqa: BLE001 - we report every failure of the user's program
        return report_program_failure(exc, program)
    return 0


def report_program_failure(exc: BaseException, program: Program) -> int:
    """Print why *program* failed; return the exit status (2 for unavailable APIs, 1 otherwise)."""
    unavailable = find_unavailable(exc)
    if unavailable is not None:
        frames = user_frames(exc.__traceback__, program)
        where = format_location(frames[-1], program) if frames else str(program.path)
        code_line = f"  ({frames[-1].line.strip()})" if frames and frames[-1].line else ""
        print(f"{where}: error: {unavailable.describe()}{code_line}", file=sys.stderr)
        return EXIT_UNSUPPORTED
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    print(format_exception(exc, program), end="", file=sys.stderr)
    return 1


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


__all__ = [
    "EXIT_UNSUPPORTED",
    "LegacyAPIUnavailable",
    "find_unavailable",
    "install",
    "report_program_failure",
    "run_tf1",
]
