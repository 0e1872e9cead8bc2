"""Tolerances and per-step comparison of one variable, and trace files, on synthetic numbers."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from bn_migrate.check.compare import Tolerance, compare_variable, old_steps_for, spread
from bn_migrate.check.trace import RunStatus, Step, Trace, VariableInfo

F = np.float32


def ulp(x: float) -> float:
    return float(np.spacing(F(x)))


def test_bound_is_the_largest_of_its_terms() -> None:
    tol = Tolerance(ulps=8, rtol=0.0, atol=1e-7, step_rtol=1e-4)
    assert tol.bound(np.array([1.0]))[0] == pytest.approx(8 * ulp(1.0))
    assert tol.bound(np.array([1e-3]))[0] == pytest.approx(1e-7)  # atol dominates small values
    assert tol.bound(np.array([1e-3]), increment=np.array([0.5]))[0] == pytest.approx(5e-5)
    assert tol.bound(np.array([1.0]), floor=1e-3)[0] == pytest.approx(1e-3 + 8 * ulp(1.0))
    assert Tolerance(ulps=0, rtol=1e-2, atol=0, step_rtol=0).bound(np.array([2.0]))[
        0
    ] == pytest.approx(2e-2)


def steps(values: list[float], name: str = "v") -> list[Step]:
    return [
        Step({name: np.array([b], F)}, {name: np.array([a], F)})
        for b, a in itertools.pairwise(values)
    ]


def test_lockstep_within_a_few_ulps_agrees() -> None:
    old = steps([1.0, 0.99, 0.98])
    lock = [Step(dict(s.before), {"v": s.after["v"] + F(2 * ulp(0.99))}) for s in old]
    c = compare_variable("v", "v", "moving_variance", old, lock, lock, Tolerance(), Tolerance())
    assert c.lock_ok and c.free_ok and c.steps == 2
    assert c.old_moved == [True, True] and c.new_moved == [True, True]


def test_first_bad_step_and_element() -> None:
    old = [Step({"v": np.zeros(4, F)}, {"v": np.full(4, 0.01, F)}) for _ in range(3)]
    lock = [Step({"v": np.zeros(4, F)}, {"v": np.full(4, 0.01, F)}) for _ in range(3)]
    lock[1].after["v"] = np.array([0.01, 0.01, 0.02, 0.01], F)
    c = compare_variable("v", "v", "moving_mean", old, lock, None, Tolerance(), Tolerance())
    assert c.lock_bad_steps == [1]
    assert c.first_bad_step == 1 and c.first_bad_index == (2,)
    assert max(c.lock_abs) == pytest.approx(0.01, rel=1e-5)
    assert c.free_abs == []


def test_old_run_without_steps_stands_still() -> None:
    old = Trace("old", RunStatus("ok"), initial={"v": np.ones(2, F)})
    still = old_steps_for(old, 3)
    assert len(still) == 3 and all(not s.moved("v") for s in still)


def test_spread_between_identical_runs_is_zero_and_detects_differences() -> None:
    a = Trace(
        "old",
        RunStatus("ok"),
        {"v": VariableInfo("v", (1,), "moving_mean", 0, False)},
        steps=steps([0.0, 0.1, 0.2]),
    )
    b = Trace("old", RunStatus("ok"), dict(a.variables), steps=steps([0.0, 0.1, 0.2]))
    values, beyond = spread(a, b, Tolerance())
    assert values == {"v": 0.0} and beyond == []
    b.steps[1].after["v"] = np.array([0.2001], F)
    values, beyond = spread(a, b, Tolerance())
    assert values["v"] == pytest.approx(1e-4, rel=1e-2) and beyond == ["v"]


def test_trace_round_trip(tmp_path: Path) -> None:
    t = Trace("new", RunStatus("failed", "x.py:3: ValueError", "tail"))
    t.variables = {
        "a/kernel": VariableInfo("a/kernel", (2, 3), "kernel", 0, True, "k"),
        "a/bias": VariableInfo("a/bias", (3,), "bias", 1, True),
    }
    t.initial = {"a/kernel": np.arange(6, dtype=F).reshape(2, 3)}
    t.steps = [Step({"a/bias": np.zeros(3, F)}, {"a/bias": np.ones(3, F)}, {"bn": [True]})]
    t.bn_config = {"bn": {"momentum": 0.99, "training_modes": [True]}}
    t.save(tmp_path)
    back = Trace.load(tmp_path)
    assert back.status == t.status
    assert back.variables == t.variables
    np.testing.assert_array_equal(back.initial["a/kernel"], t.initial["a/kernel"])
    np.testing.assert_array_equal(back.steps[0].after["a/bias"], np.ones(3, F))
    assert back.steps[0].bn_modes == {"bn": [True]}
    assert back.bn_config == t.bn_config


def test_a_diverging_run_never_passes_as_equal() -> None:
    old = steps([1.0, 0.99, 0.98])
    lock = [Step(dict(s.before), {"v": np.array([np.nan], F)}) for s in old]
    c = compare_variable("v", "v", "moving_variance", old, lock, lock, Tolerance(), Tolerance())
    assert c.lock_bad_steps == [0, 1] and c.free_bad_steps == [0, 1]
    assert c.lock_abs == [np.inf, np.inf]
    both_nan = [Step({"v": np.array([np.nan], F)}, {"v": np.array([np.nan], F)})]
    same = compare_variable(
        "v", "v", "moving_mean", both_nan, both_nan, None, Tolerance(), Tolerance()
    )
    assert same.lock_ok and same.lock_abs == [0.0]


def test_a_before_equal_to_the_previous_value_is_written_once(tmp_path: Path) -> None:
    """A before that is, bit for bit, the previous after (the initial value for step 0) is not written
    again: it comes back as that one array; a before that differs in any bit (-0.0 against 0.0) is
    written and comes back as it was."""
    from bn_migrate.check.trace import TRACE_NPZ

    t = Trace("old", RunStatus("ok"))
    t.variables = {"w": VariableInfo("w", (2,), "kernel", 0, True)}
    t.initial = {"w": np.array([0.0, 1.0], F)}
    first = np.array([0.5, 1.5], F)
    t.steps = [
        Step({"w": np.array([0.0, 1.0], F)}, {"w": first}),  # before == initial
        Step({"w": first.copy()}, {"w": np.array([0.25, 2.0], F)}),  # before == previous after
        Step({"w": np.array([0.25, 2.0], F)}, {"w": np.array([-0.0, 3.0], F)}),  # == again
        Step({"w": np.array([0.0, 3.0], F)}, {"w": np.array([1.0, 3.0], F)}),  # 0.0 is not -0.0
    ]
    t.save(tmp_path)
    with np.load(tmp_path / TRACE_NPZ) as data:
        assert sorted(k for k in data.files if k.startswith("b")) == ["b3/0"]
    back = Trace.load(tmp_path)
    for mine, theirs in zip(t.steps, back.steps):
        for values, loaded in ((mine.before, theirs.before), (mine.after, theirs.after)):
            assert values["w"].tobytes() == loaded["w"].tobytes()
    assert back.steps[0].before["w"] is back.initial["w"]
    assert back.steps[2].before["w"] is back.steps[1].after["w"]
    assert back.steps[3].before["w"] is not back.steps[2].after["w"]
    assert [s.moved("w") for s in back.steps] == [True, True, True, True]
