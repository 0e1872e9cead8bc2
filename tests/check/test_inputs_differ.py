"""Inputs that differ are named, not taken for a momentum change: from the same weights (lockstep) a BN
layer's recorded batch means differ, so its statistics move towards other batches. Before, the checker read
the ratio of the two sides' steps as a momentum ("momentum 0.99 in OLD, 0.9849 measured in NEW" for data
scaled by 1.5, declared 0.99). Synthetic traces of one layer updated once per step."""

from __future__ import annotations

import numpy as np
import pytest

from bn_migrate.check.analysis import Runs, analyze
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.trace import RunStatus, Step, Trace, VariableInfo

F = np.float32
NAMES = ("bn/moving_mean", "bn/moving_variance")


def _moments(k: int, scale: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20 + k)
    mean = rng.normal(0.5, 0.5, 4)
    variance = rng.uniform(0.5, 2, 4)
    return {
        "moving_mean": (mean * scale).astype(F),
        "moving_variance": (variance * scale**2).astype(F),
    }


def _update(state: dict[str, np.ndarray], moments: dict[str, np.ndarray], decay: float):
    r = F(1 - decay)
    return {n: (state[n] - (state[n] - moments[n.split("/")[1]]) * r).astype(F) for n in NAMES}


def _trace(side: str, steps: list[Step], momentum: float) -> Trace:
    prefix = "bn" if side == "old" else "net/bn"
    t = Trace(side, RunStatus("ok"))
    for i, n in enumerate(NAMES):
        key = n if side == "old" else "net/" + n
        t.variables[key] = VariableInfo(
            key, (4,), n.split("/")[1], i, False, None if side == "old" else n
        )
    init = {"bn/moving_mean": np.zeros(4, F), "bn/moving_variance": np.ones(4, F)}
    t.initial = {(k if side == "old" else "net/" + k): v for k, v in init.items()}
    t.steps = steps
    t.bn_config = {prefix: {"momentum": momentum, "training_calls": 1}}
    return t


def _runs(scale: float, new_decay: float, steps: int = 5, recorded: bool = True) -> Runs:
    """OLD (decay 0.99) moves towards the batch moments of step k; NEW towards the same moments times
    *scale* (its inputs scaled) with *new_decay*."""
    rename = {n: "net/" + n for n in NAMES}

    def new_step(state: dict[str, np.ndarray], k: int) -> Step:
        moments = _moments(k, scale)
        after = _update(state, moments, new_decay)
        return Step(
            {rename[n]: v for n, v in state.items()},
            {rename[n]: v for n, v in after.items()},
            bn_calls={"net/bn": [moments]} if recorded else {},
        )

    state = {"bn/moving_mean": np.zeros(4, F), "bn/moving_variance": np.ones(4, F)}
    old = []
    for k in range(steps):
        after = _update(state, _moments(k, 1.0), 0.99)
        old.append(
            Step(dict(state), after, bn_calls={"bn": [_moments(k, 1.0)]} if recorded else {})
        )
        state = after
    lock = [new_step(s.before, k) for k, s in enumerate(old)]
    free, state = [], {"bn/moving_mean": np.zeros(4, F), "bn/moving_variance": np.ones(4, F)}
    for k in range(steps):
        step = new_step(state, k)
        free.append(step)
        state = {n: step.after["net/" + n] for n in NAMES}
    return Runs(
        [_trace("old", old, 0.99), _trace("old", old, 0.99)],
        _trace("new", free, new_decay),
        _trace("new", lock, new_decay),
    )


def _check(runs: Runs):
    return analyze(runs, CheckOptions(), "old.py", "new.py")


def test_scaled_inputs_are_inputs_differ_not_a_momentum() -> None:
    result = _check(_runs(scale=1.5, new_decay=0.99))
    assert result.verdict == "different", result.render_text()
    assert Cause.INPUTS_DIFFER in result.causes
    assert Cause.MOMENTUM_CHANGED not in result.causes, result.render_text()
    diag = next(d for d in result.diagnoses if d.cause is Cause.INPUTS_DIFFER)
    assert diag.data["first_step"] == 0 and diag.data["steps"] == [0, 1, 2, 3, 4]
    assert "inputs-differ" in result.render_text()


def test_a_momentum_change_beside_inputs_that_differ_is_fitted_to_new_own_batches() -> None:
    result = _check(_runs(scale=1.5, new_decay=0.9))
    assert {Cause.INPUTS_DIFFER, Cause.MOMENTUM_CHANGED} <= result.causes, result.render_text()
    diag = next(d for d in result.diagnoses if d.cause is Cause.MOMENTUM_CHANGED)
    assert diag.data["momentum_new_measured"] == pytest.approx(0.9, abs=1e-4)


def test_same_inputs_keep_the_momentum_from_the_step_ratio() -> None:
    result = _check(_runs(scale=1.0, new_decay=0.9))
    assert Cause.MOMENTUM_CHANGED in result.causes and Cause.INPUTS_DIFFER not in result.causes
    diag = next(d for d in result.diagnoses if d.cause is Cause.MOMENTUM_CHANGED)
    assert diag.data["momentum_new_measured"] == pytest.approx(0.9, abs=1e-3)


def test_same_inputs_and_momentum_are_equivalent() -> None:
    result = _check(_runs(scale=1.0, new_decay=0.99))
    assert result.verdict == "equivalent", result.render_text()
    assert Cause.INPUTS_DIFFER not in result.causes


def test_without_recorded_batch_means_inputs_are_not_claimed() -> None:
    """Layers whose batch moments are not recorded (slim's fused kernel, hand-written batch norm) keep the
    step-ratio reading: nothing is said about inputs without the evidence."""
    result = _check(_runs(scale=1.5, new_decay=0.99, recorded=False))
    assert result.verdict == "different"
    assert Cause.INPUTS_DIFFER not in result.causes
