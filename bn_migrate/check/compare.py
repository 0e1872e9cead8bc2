"""Comparing paired variables step by step, in lockstep and free-running, within float32 tolerances.

The tolerance for an element is ``max(atol, rtol * s, ulps * ulp32(s), step_rtol * |d|) + floor`` where

* ``s`` is the largest magnitude among the value before the step and the two values after it (so
  cancellation in the update itself is covered);
* ``d`` is the original's own change of that element in the step: two implementations of the same
  update (TF1's ``ResourceApplyAdam`` vs Keras' Adam) agree to a relative precision of the update,
  not of the value (measured: up to 7e-6 of the update, 300 ulps of a small weight, for correct
  migrations using Adam);
* ``atol`` covers values that are numerical noise on both sides (the bias of a layer feeding a BN
  layer has a zero gradient in exact arithmetic: measured 3e-8 of noise);
* ``floor`` is twice the original's own run-to-run spread for that variable (none for the statistics of
  a BN layer whose two racing updates :mod:`bn_migrate.check.races` judges instead).

Calibrated on the hand-written correct migrations of the fixture programs (worst: 6.8e-8 absolute,
7e-6 of the update) and on planted mistakes in the same programs, the smallest of which differ in
lockstep by 4.3e-6 (fused kernel's n/(n-1) with n=288) and 4.4e-3 (Adam epsilon 1e-7 for 1e-8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bn_migrate.check.defaults import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    DEFAULT_STEP_RTOL,
    DEFAULT_ULPS,
)
from bn_migrate.check.trace import Step, Trace

SPREAD_FACTOR = 2.0


@dataclass(frozen=True)
class Tolerance:
    """How close two float32 values must be to count as equal."""

    ulps: float = DEFAULT_ULPS
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    step_rtol: float = DEFAULT_STEP_RTOL

    def bound(
        self, scale: np.ndarray, increment: np.ndarray | float = 0.0, floor: float = 0.0
    ) -> np.ndarray:
        scale = np.abs(np.asarray(scale, dtype=np.float64))
        ulp = np.spacing(scale.astype(np.float32)).astype(np.float64)
        step = self.step_rtol * np.abs(np.asarray(increment, dtype=np.float64))
        return (
            np.maximum(np.maximum(np.maximum(self.atol, self.rtol * scale), self.ulps * ulp), step)
            + floor
        )

    def describe(self) -> str:
        return (
            f"max({self.ulps:g} float32 ulps of the value, rtol {self.rtol:g}, atol {self.atol:g}, "
            f"{self.step_rtol:g} of the step's own change) + 2x OLD's run-to-run spread"
        )


@dataclass
class VariableComparison:
    """One paired variable over every compared step."""

    old: str
    new: str
    role: str
    steps: int = 0
    lock_abs: list[float] = field(default_factory=list)  # max abs difference per step
    lock_rel: list[float] = field(default_factory=list)
    free_abs: list[float] = field(default_factory=list)
    free_rel: list[float] = field(default_factory=list)
    lock_bad_steps: list[int] = field(default_factory=list)
    lock_excused_steps: list[int] = field(
        default_factory=list
    )  # parted, but a TF1 race explains it
    free_bad_steps: list[int] = field(default_factory=list)
    # parted only where both sides' gradients are numerical noise (:mod:`bn_migrate.check.noise_gradients`)
    lock_noise_steps: list[int] = field(default_factory=list)
    noise_abs: float = 0.0  # the largest difference excused so
    noise_elements: set[tuple[int, ...]] = field(default_factory=set)
    first_bad_index: tuple[int, ...] | None = None  # element where lockstep first parts
    old_moved: list[bool] = field(default_factory=list)
    new_moved: list[bool] = field(default_factory=list)  # lockstep run
    floor: float = 0.0

    @property
    def lock_ok(self) -> bool:
        return not self.lock_bad_steps

    @property
    def free_ok(self) -> bool:
        return not self.free_bad_steps

    @property
    def first_bad_step(self) -> int | None:
        return self.lock_bad_steps[0] if self.lock_bad_steps else None


def _max(values: np.ndarray) -> float:
    return float(values.max()) if values.size else 0.0


def value_diff(new: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute and relative differences; equal non-finite values (both NaN, same infinity) differ by 0,
    any other non-finite pair by infinity, so a run that diverges never passes as equal."""
    a = np.asarray(new, dtype=np.float64)
    b = np.asarray(old, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(a - b)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        d = np.where(same, 0.0, np.where(np.isfinite(d), d, np.inf))
        r = d / np.maximum(np.maximum(np.abs(a), np.abs(b)), np.finfo(np.float32).tiny)
    return d, np.where(np.isnan(r), np.inf, r)


def exceeds(d: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Where *d* is beyond *bound*; a NaN bound (a NaN value on one side) never excuses a difference."""
    with np.errstate(invalid="ignore"):
        return (d > 0) & ~(d <= bound)


def old_steps_for(old: Trace, count: int) -> list[Step]:
    """The old run's steps; an old run with no step at all stands still at its initial values."""
    if old.steps:
        return old.steps
    still = dict(old.initial)
    return [Step(still, still) for _ in range(count)]


def compare_variable(
    old_name: str,
    new_name: str,
    role: str,
    old_steps: list[Step],
    lock_steps: list[Step] | None,
    free_steps: list[Step] | None,
    tolerance: Tolerance,
    free_tolerance: Tolerance,
    floor: float = 0.0,
    accept: Callable[[int], bool] | None = None,
    noise: Callable[[int], np.ndarray | None] | None = None,
) -> VariableComparison:
    """Compare one paired variable over the common steps of the runs given. *accept*: called with a step
    whose lockstep values part; True excuses it (racing updates in OLD, :mod:`bn_migrate.check.races`).
    *noise*: called with such a step; the elements it marks (gradients that are numerical noise on both
    sides, :mod:`bn_migrate.check.noise_gradients`) are excused there, the others still judged."""
    result = VariableComparison(old_name, new_name, role, floor=floor)
    count = min(len(old_steps), *(len(s) for s in (lock_steps, free_steps) if s is not None))
    result.steps = count
    for k in range(count):
        o = old_steps[k]
        if old_name not in o.after:
            continue
        old_after = o.after[old_name]
        old_before = o.before.get(old_name, old_after)
        result.old_moved.append(not np.array_equal(old_before, old_after))
        if lock_steps is not None and new_name in lock_steps[k].after:
            ls = lock_steps[k]
            new_after = ls.after[new_name]
            result.new_moved.append(
                not np.array_equal(ls.before.get(new_name, new_after), new_after)
            )
            d, r = value_diff(new_after, old_after)
            result.lock_abs.append(_max(d))
            result.lock_rel.append(_max(r))
            scale = np.maximum(np.maximum(np.abs(old_before), np.abs(old_after)), np.abs(new_after))
            bad = exceeds(d, tolerance.bound(scale, old_after - old_before, floor))
            if bad.any() and noise is not None:
                bad = _excuse_noise(result, k, d, bad, noise(k))
            if bad.any() and accept is not None and accept(k):
                result.lock_excused_steps.append(k)
            elif bad.any():
                if not result.lock_bad_steps:
                    excess = np.where(bad, d, -1.0)
                    result.first_bad_index = tuple(
                        int(i) for i in np.unravel_index(np.argmax(excess), d.shape)
                    )
                result.lock_bad_steps.append(k)
        if free_steps is not None and new_name in free_steps[k].after:
            new_after = free_steps[k].after[new_name]
            d, r = value_diff(new_after, old_after)
            result.free_abs.append(_max(d))
            result.free_rel.append(_max(r))
            scale = np.maximum(np.abs(old_after), np.abs(new_after))
            if exceeds(d, free_tolerance.bound(scale, old_after - old_before, floor)).any():
                result.free_bad_steps.append(k)
    return result


def _excuse_noise(
    result: VariableComparison, k: int, d: np.ndarray, bad: np.ndarray, mask: np.ndarray | None
) -> np.ndarray:
    """*bad* without the elements *mask* marks as noise (recorded in *result*)."""
    if mask is None or mask.shape != bad.shape:
        return bad
    excused = bad & mask
    if not excused.any():
        return bad
    result.lock_noise_steps.append(k)
    result.noise_abs = max(result.noise_abs, float(d[excused].max()))
    result.noise_elements.update(tuple(int(i) for i in index) for index in np.argwhere(excused))
    return bad & ~mask


def spread(
    a: Trace, b: Trace, tolerance: Tolerance, first_step: bool = False
) -> tuple[dict[str, float], list[str]]:
    """The original's run-to-run spread per variable (max abs over steps), and the variables whose two
    runs differ by more than *tolerance*. Traces with different step counts compare their common steps.
    ``first_step``: only the first step, which both runs start from the same values: one step's
    rounding noise (later steps add the drift of the steps before, which lockstep never has)."""
    result: dict[str, float] = {}
    beyond: list[str] = []
    pairs = list(zip(a.steps, b.steps))
    for name in a.variables:
        worst = 0.0
        over = False
        for sa, sb in pairs[:1] if first_step else pairs:
            if (
                name in sa.after
                and name in sb.after
                and sa.after[name].shape == sb.after[name].shape
            ):
                d, _ = value_diff(sb.after[name], sa.after[name])
                worst = max(worst, _max(d))
                scale = np.maximum(np.abs(sa.after[name]), np.abs(sb.after[name]))
                increment = sa.after[name] - sa.before.get(name, sa.after[name])
                over = over or bool(exceeds(d, tolerance.bound(scale, increment)).any())
        result[name] = worst
        if over:
            beyond.append(name)
    return result, beyond
