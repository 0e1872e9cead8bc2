"""``tf.estimator`` for the legacy runtime: the real tensorflow-estimator 2.15 on TensorFlow 2.21.

tensorflow-estimator's last release (2.15.0, a pure-Python wheel) reaches into ``tensorflow.python``
internals that TensorFlow 2.16+ removed. Three named patches make it import and run; everything else is
the released code, loaded only when a program first uses ``tf.estimator`` (or imports
``tensorflow_estimator``):

1. ``tf_export.ESTIMATOR_API_NAME`` and its ``API_ATTRS`` entries, which ``estimator_export`` registers
   its symbols under (removed from ``tensorflow.python.util.tf_export``);
2. ``tensorflow.python.distribute.estimator_training`` (the distribute coordinator, removed): an
   Estimator whose ``RunConfig`` asks for it fails when it does; ``train_and_evaluate`` asks
   ``should_run_distribute_coordinator``, which answers False (no coordinator can be configured);
3. ``tensorflow.python.tpu.{session_support,tpu_embedding,tpu_embedding_gradient}`` (TPUEstimator's
   embedding and worker-shutdown support, removed): imported by ``tf.estimator.tpu``; using one of
   their symbols fails.

What fails is reported as an unavailable API (``run-tf1`` exit 2, one line), as is ``tf.estimator`` itself
when tensorflow-estimator is not installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

from bn_migrate.runtime.unavailable import UnavailableCallError, UnavailableImportError

PACKAGE = "tensorflow_estimator"
# The TF1 API as ``tf.estimator`` / ``tf.compat.v1.estimator`` gave it.
V1_API = "tensorflow_estimator.python.estimator.api._v1.estimator"
INSTALL_HINT = "tensorflow-estimator 2.15 is not installed (install bn-migrate[tf])"

# Modules TensorFlow 2.16+ removed -> the tf.estimator feature that needed them (named when it is used).
REMOVED_MODULES: dict[str, str] = {
    "tensorflow.python.distribute.estimator_training": (
        "the Estimator's distribute coordinator (RunConfig train_distribute, eval_distribute or "
        "experimental_distribute)"
    ),
    "tensorflow.python.tpu.session_support": "TPUEstimator's worker watchdog and shutdown hooks",
    "tensorflow.python.tpu.tpu_embedding": "TPUEstimator's embeddings",
    "tensorflow.python.tpu.tpu_embedding_gradient": "TPUEstimator's embeddings",
}

_patched = False


def installed() -> bool:
    """Whether the tensorflow-estimator package can be imported (without importing it)."""
    return PACKAGE in sys.modules or importlib.machinery.PathFinder.find_spec(PACKAGE) is not None


def _removed_module(name: str, feature: str) -> types.ModuleType:
    """A stand-in for a removed module: every symbol exists (imports and ``isinstance`` tuples work) and
    raises :class:`UnavailableCallError` naming *feature* when called or instantiated."""
    module = types.ModuleType(name)

    def symbol(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise UnavailableCallError(
                feature, f"TensorFlow 2.16 removed {name} (its {attr}), which it needs"
            )

        return type(attr, (), {"__new__": fail, "__module__": name})

    module.__dict__["__getattr__"] = symbol
    if name.endswith(".estimator_training"):
        # Asked by train_and_evaluate on every call; RunConfig cannot have configured a coordinator
        # (its init_run_config is the failing symbol above).
        module.__dict__["should_run_distribute_coordinator"] = lambda config: False
    return module


def apply_patches() -> None:
    """The three patches above (idempotent; imports nothing from tensorflow-estimator)."""
    global _patched
    if _patched:
        return
    from tensorflow.python.util import tf_export

    if not hasattr(tf_export, "ESTIMATOR_API_NAME"):
        tf_export.ESTIMATOR_API_NAME = "estimator"
        tf_export.API_ATTRS["estimator"] = tf_export._Attributes(
            "_estimator_api_names", "_estimator_api_constants"
        )
        tf_export.API_ATTRS_V1["estimator"] = tf_export._Attributes(
            "_estimator_api_names_v1", "_estimator_api_constants_v1"
        )
    for name, reason in REMOVED_MODULES.items():
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = _removed_module(name, reason)
    _patched = True


def load_v1_api(submodule: str = "") -> types.ModuleType:
    """The TF1 ``tf.estimator`` module (or its *submodule*, e.g. ``"inputs"``), patched and imported;
    :class:`UnavailableImportError` when tensorflow-estimator is not installed."""
    if not installed():
        raise UnavailableImportError("tf.estimator", INSTALL_HINT)
    apply_patches()
    return importlib.import_module(f"{V1_API}.{submodule}" if submodule else V1_API)


class _AliasLoader(importlib.abc.Loader):
    """Imports ``tensorflow.estimator[.x]`` as the real module of the v1 API: ``exec_module`` puts the
    real module in ``sys.modules``, which the import system then returns (the placeholder it made is
    dropped; the real module's own ``__spec__`` is left as it is)."""

    def __init__(self, submodule: str) -> None:
        self.submodule = submodule

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        sys.modules[module.__name__] = load_v1_api(self.submodule)


ALIAS = "tensorflow.estimator"


def alias_spec(fullname: str) -> importlib.machinery.ModuleSpec | None:
    """The spec importing *fullname* (``tensorflow.estimator`` or a submodule) as the v1 API module."""
    if fullname == ALIAS:
        submodule = ""
    elif fullname.startswith(f"{ALIAS}."):
        submodule = fullname[len(ALIAS) + 1 :]
    else:
        return None
    return importlib.util.spec_from_loader(fullname, _AliasLoader(submodule))


__all__ = [
    "INSTALL_HINT",
    "alias_spec",
    "apply_patches",
    "installed",
    "load_v1_api",
]
