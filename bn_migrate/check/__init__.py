"""The equivalence checker: runs the original under TF1 semantics and the migration under plain TF2.

``check_programs(old, new, CheckOptions(...)) -> CheckResult`` is the API; ``bn-migrate check`` the command.
Layout: ``worker`` (one run, in its own process) with ``hooks_old`` / ``hooks_new`` (recording and
alignment) and ``pairing``; ``runner`` (processes, timeouts); ``old_runs`` (reusing OLD's runs between
checks); ``compare`` (tolerances, per-step differences); ``analysis`` + ``diagnose`` (verdict and
causes); ``result`` (report); ``plot``.

The names below are imported on first use (PEP 562): they need numpy, and importing a submodule
such as ``bn_migrate.check.defaults`` (the CLI does, to print the default tolerances) must not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bn_migrate.check.api import check_programs
    from bn_migrate.check.diagnoses import Cause
    from bn_migrate.check.old_runs import OldRunCache
    from bn_migrate.check.options import CheckOptions
    from bn_migrate.check.result import CheckResult

_HOMES = {
    "Cause": "bn_migrate.check.diagnoses",
    "CheckOptions": "bn_migrate.check.options",
    "CheckResult": "bn_migrate.check.result",
    "OldRunCache": "bn_migrate.check.old_runs",
    "check_programs": "bn_migrate.check.api",
}

__all__ = ["Cause", "CheckOptions", "CheckResult", "OldRunCache", "check_programs"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
