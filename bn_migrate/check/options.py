"""Options of a check (the Python API's :class:`CheckOptions`; the CLI flags map onto them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bn_migrate.check.compare import Tolerance
from bn_migrate.check.defaults import (
    DEFAULT_ATOL,
    DEFAULT_FREE_RTOL,
    DEFAULT_RTOL,
    DEFAULT_STEP_RTOL,
    DEFAULT_ULPS,
)
from bn_migrate.errors import BnMigrateError


@dataclass(frozen=True)
class CheckOptions:
    """How to run and judge a check.

    ``timeout``: seconds each run may take (the TF2 runs' clocks start when the first TF1 run is done).
    ``ulps`` / ``rtol`` / ``atol`` / ``step_rtol``: lockstep tolerance per element,
    ``max(atol, rtol*|x|, ulps*ulp32(|x|), step_rtol*|OLD's change in the step|)``
    (:mod:`bn_migrate.check.compare` says how the defaults were calibrated).
    ``lockstep``: also run the TF2 program with every model variable set to the TF1 run's values before each
    step, and judge on that run (free-running drift is then only reported); without it the free-running
    run is judged with ``free_rtol``.
    ``old_repeats``: how many times the TF1 program runs (>= 2 measures its own run-to-run spread; raised
    to 4 when OLD applies a BN layer more than once per step in training mode, whose update ops race).
    """

    timeout: float = 300.0
    old_args: Sequence[str] = ()
    new_args: Sequence[str] = ()
    ulps: float = DEFAULT_ULPS
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    step_rtol: float = DEFAULT_STEP_RTOL
    free_rtol: float = DEFAULT_FREE_RTOL
    lockstep: bool = True
    old_repeats: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("timeout", "ulps", "rtol", "atol", "step_rtol", "free_rtol"):
            value = getattr(self, name)
            if not math.isfinite(value):
                flag = "--" + name.replace("_", "-")
                raise BnMigrateError(f"{name} ({flag}) must be a finite number, got {value}")
        if self.timeout <= 0:
            raise BnMigrateError(f"timeout must be positive, got {self.timeout}")
        if self.old_repeats < 1:
            raise BnMigrateError(f"old_repeats must be at least 1, got {self.old_repeats}")
        if min(self.ulps, self.rtol, self.atol, self.step_rtol, self.free_rtol) < 0:
            raise BnMigrateError("tolerances must not be negative")

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(self.ulps, self.rtol, self.atol, self.step_rtol)

    @property
    def free_tolerance(self) -> Tolerance:
        """Judges free-running runs when lockstep is off."""
        return Tolerance(self.ulps, self.free_rtol, self.atol, self.step_rtol)
