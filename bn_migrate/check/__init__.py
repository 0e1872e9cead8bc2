"""The equivalence checker: runs the original under TF1 semantics and the migration under plain TF2.

``check_programs(old, new, CheckOptions(...)) -> CheckResult`` is the API; ``bn-migrate check`` the command.
Layout: ``worker`` (one run, in its own process) with ``hooks_old`` / ``hooks_new`` (recording and
alignment) and ``pairing``; ``runner`` (processes, timeouts); ``old_runs`` (reusing OLD's runs between
checks); ``compare`` (tolerances, per-step differences); ``analysis`` + ``diagnose`` (verdict and
causes); ``result`` (report); ``plot``.
"""

from bn_migrate.check.api import check_programs
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.result import CheckResult

__all__ = ["Cause", "CheckOptions", "CheckResult", "OldRunCache", "check_programs"]
