"""Which optional dependencies a command needs, checked before anything heavy is imported.

``rewrite`` needs only libcst (``pip install bn-migrate``); ``check`` and ``run-tf1`` run TensorFlow
programs and need the ``tf`` extra. Asking :func:`importlib.util.find_spec` costs no import, so a user
without the extra gets one line saying what to install instead of a traceback.
"""

from __future__ import annotations

import importlib.util

from bn_migrate.errors import MissingDependencyError

TF_EXTRA_INSTALL = "pip install 'bn-migrate[tf]'"
TF_EXTRA_MODULES: tuple[tuple[str, str], ...] = (
    ("numpy", "numpy"),
    ("tensorflow", "TensorFlow"),
    ("tf_keras", "tf-keras"),
    ("tf_slim", "tf-slim"),
)
"""(module, distribution a user knows it by) for every module ``check`` / ``run-tf1`` import."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def require_tf_extra(command: str) -> None:
    """Raise :class:`MissingDependencyError` (exit 2) naming the missing packages and the install line."""
    missing = [label for module, label in TF_EXTRA_MODULES if not _installed(module)]
    if missing:
        raise MissingDependencyError(
            f"'{command}' needs the tf extra (missing: {', '.join(missing)}): {TF_EXTRA_INSTALL}"
        )
