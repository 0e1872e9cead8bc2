"""Racing moving-average updates: what TF1 can produce in one step, and when a step is still equivalent.

A TF1 BN layer applied twice per step in training mode (a GAN discriminator on the real and the fake
batch) builds two update ops per statistic, ``v.assign_sub((v - x) * (1 - m))``, and nothing orders them.
Starting from the value ``v`` before the step, with the batch moments ``a`` and ``b`` of the two calls and
``r = 1 - m`` (OLD's decay), one step of TF1 ends in one of three states:

* ``a then b``: ``v1 = v - (v - a) r``, then ``v1 - (v1 - b) r``;
* ``b then a``: the same with ``a`` and ``b`` swapped;
* ``both read first``: both deltas are computed from ``v`` before either subtraction, and both are
  subtracted (``assign_sub`` reads the variable when it writes): ``v - (v - a) r - (v - b) r``.

Measured on ``tests/fixtures/tf1/gan_two_steps.py`` (300 steps, 600 statistics, on a loaded 2-core
machine): every value was exactly one of these three, about 21% / 75% / 4%; "last writer wins" (one
update lost) never occurred.

NEW (TF2) runs its updates in program order, so its value is deterministic. In lockstep (both sides start
each step from OLD's value) a racing step is accepted iff OLD's value is one of TF1's three outcomes and
NEW's value is the outcome of NEW's own call order, computed with OLD's decay and OLD's batch moments
(NEW's calls are matched to OLD's by their moments): a changed momentum, a changed variance estimator or
a different batch all fail the second test. Whole vectors are compared, each statistic separately, within
the checker's normal tolerance. Layers applied three times or more are left to the run-to-run spread.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from bn_migrate.check.compare import Tolerance, exceeds, value_diff

OUTCOMES = ("a then b", "b then a", "both read first")


def sequential(before: np.ndarray, moments: list[np.ndarray], decay: float) -> np.ndarray:
    """The statistic after the updates towards *moments*, applied one after the other."""
    rate = 1.0 - decay
    value = np.asarray(before, dtype=np.float64)
    for moment in moments:
        value = value - (value - np.asarray(moment, dtype=np.float64)) * rate
    return value


def tf1_outcomes(
    before: np.ndarray, a: np.ndarray, b: np.ndarray, decay: float
) -> dict[str, np.ndarray]:
    """TF1's possible values of a statistic after one step with two racing updates (see the module
    docstring), by name."""
    rate = 1.0 - decay
    v = np.asarray(before, dtype=np.float64)
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return {
        OUTCOMES[0]: sequential(v, [a64, b64], decay),
        OUTCOMES[1]: sequential(v, [b64, a64], decay),
        OUTCOMES[2]: v - (v - a64) * rate - (v - b64) * rate,
    }


@dataclass
class RaceJudgement:
    """One statistic of one racing step, judged."""

    accepted: bool
    old_outcome: str | None  # which TF1 outcome OLD's value is (None: none of them)
    new_order: tuple[int, ...]  # OLD's call index of each of NEW's calls, in NEW's order
    new_matches: bool  # NEW's value is the outcome of its own order (OLD's decay and moments)
    old_error: float  # OLD's distance to its nearest outcome
    new_error: float  # NEW's distance to the outcome of its order


def _close(value: np.ndarray, expected: np.ndarray, before: np.ndarray, tol: Tolerance) -> bool:
    d, _ = value_diff(value, expected)
    scale = np.maximum(np.maximum(np.abs(before), np.abs(value)), np.abs(expected))
    return not exceeds(d, tol.bound(scale, np.asarray(expected, np.float64) - before)).any()


def _distance(x: np.ndarray, y: np.ndarray) -> float:
    d, _ = value_diff(x, y)
    return float(d.max()) if d.size else 0.0


def match_order(new_moments: list[np.ndarray], old_moments: list[np.ndarray]) -> tuple[int, ...]:
    """For each of NEW's calls (in NEW's order), the OLD call with the same batch moments: the
    permutation that puts them closest."""
    return min(
        itertools.permutations(range(len(old_moments))),
        key=lambda perm: sum(
            _distance(n, old_moments[j]) for n, j in zip(new_moments, perm, strict=True)
        ),
    )


def judge(
    before: np.ndarray,
    old_after: np.ndarray,
    new_after: np.ndarray,
    old_moments: list[np.ndarray],
    new_moments: list[np.ndarray],
    decay: float,
    tolerance: Tolerance,
) -> RaceJudgement:
    """Judge one statistic of a lockstep step in which OLD's two updates raced (the rule of the module
    docstring). *old_moments*: OLD's two batch moments (any order); *new_moments*: NEW's, in the order
    NEW applied them."""
    v = np.asarray(before, dtype=np.float64)
    if len(old_moments) != 2 or len(new_moments) != 2:
        raise ValueError("the race rule covers exactly two updates per step on each side")
    outcomes = tf1_outcomes(v, old_moments[0], old_moments[1], decay)
    errors = {name: _distance(old_after, value) for name, value in outcomes.items()}
    old_outcome = next(
        (name for name in OUTCOMES if _close(old_after, outcomes[name], v, tolerance)), None
    )
    order = match_order(new_moments, old_moments)
    expected = sequential(v, [old_moments[j] for j in order], decay)
    new_matches = _close(new_after, expected, v, tolerance)
    return RaceJudgement(
        accepted=old_outcome is not None and new_matches,
        old_outcome=old_outcome,
        new_order=order,
        new_matches=new_matches,
        old_error=min(errors.values()),
        new_error=_distance(new_after, expected),
    )


def fit_momentum(
    befores: list[np.ndarray], moments: list[list[np.ndarray]], afters: list[np.ndarray]
) -> tuple[float, float] | None:
    """The momentum that best explains a side's statistics moving from *befores* to *afters* by its
    updates towards *moments* (per step, in the order applied), and the worst remaining error relative
    to the largest change; None without a step to fit. After two updates the value is a quadratic in the
    momentum (``(v - a) m^2 + (a - b) m + b`` for ``a`` then ``b``), so no increment ratio is constant
    across elements: the fit is a search over ``m`` in [0, 1]."""
    if not befores:
        return None
    v = np.concatenate([np.ravel(b).astype(np.float64) for b in befores])
    y = np.concatenate([np.ravel(a).astype(np.float64) for a in afters])
    xs = [
        np.concatenate([np.ravel(step[i]).astype(np.float64) for step in moments])
        for i in range(min(len(step) for step in moments))
    ]
    if not xs:
        return None

    def error(m: np.ndarray) -> np.ndarray:
        value = np.repeat(v[None, :], m.size, axis=0)
        for x in xs:
            value = value * m[:, None] + x[None, :] * (1 - m[:, None])
        return np.max(np.abs(value - y[None, :]), axis=1)

    grid = np.linspace(0.0, 1.0, 2001)
    best = float(grid[np.argmin(error(grid))])
    for width in (1e-3, 1e-5, 1e-7):
        fine = np.clip(np.linspace(best - width, best + width, 201), 0.0, 1.0)
        best = float(fine[np.argmin(error(fine))])
    change = float(np.max(np.abs(y - v))) or 1.0
    return best, float(error(np.array([best]))[0]) / change
