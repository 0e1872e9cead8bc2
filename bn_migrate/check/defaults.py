"""The checker's default tolerances, apart from :mod:`bn_migrate.check.compare` (which needs numpy) so
that ``bn-migrate --help`` can print them without the ``tf`` extra installed. How they were calibrated:
see :mod:`bn_migrate.check.compare`."""

from __future__ import annotations

DEFAULT_ULPS = 8.0
DEFAULT_RTOL = 0.0
DEFAULT_ATOL = 1e-7
DEFAULT_STEP_RTOL = 1e-4
DEFAULT_FREE_RTOL = 1e-3
