"""Racing BN updates (a layer applied twice per step in TF1): the outcomes TF1 can produce, the rule that
accepts a lockstep step, and how the analysis uses it. Numbers worked out by hand; no TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bn_migrate.check.analysis import Runs, analyze
from bn_migrate.check.api import old_runs_needed
from bn_migrate.check.compare import Tolerance
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.races import OUTCOMES, fit_momentum, judge, sequential, tf1_outcomes
from bn_migrate.check.trace import RunStatus, Step, Trace, VariableInfo

F = np.float32
TOL = Tolerance()

# decay 0.5 (each update moves half way); before (4, 1), call a's batch moment (2, 3), call b's (0, 1):
#   a then b: (4,1) -> (3,2) -> (1.5,1.5)     b then a: (4,1) -> (2,1) -> (2,2)
#   both read first: (4,1) - (1,-1) - (2,0) = (1,2)
BEFORE, A, B = np.array([4.0, 1.0]), np.array([2.0, 3.0]), np.array([0.0, 1.0])
A_THEN_B, B_THEN_A, BOTH = np.array([1.5, 1.5]), np.array([2.0, 2.0]), np.array([1.0, 2.0])


def test_tf1_outcomes_by_hand() -> None:
    outcomes = tf1_outcomes(BEFORE, A, B, 0.5)
    assert list(outcomes) == list(OUTCOMES)
    np.testing.assert_array_equal(outcomes["a then b"], A_THEN_B)
    np.testing.assert_array_equal(outcomes["b then a"], B_THEN_A)
    np.testing.assert_array_equal(outcomes["both read first"], BOTH)
    np.testing.assert_array_equal(sequential(BEFORE, [A], 0.5), [3.0, 2.0])


@pytest.mark.parametrize(
    ("old_after", "outcome"),
    [(A_THEN_B, "a then b"), (B_THEN_A, "b then a"), (BOTH, "both read first")],
)
def test_any_tf1_outcome_is_accepted_when_new_follows_its_own_order(
    old_after: np.ndarray, outcome: str
) -> None:
    # NEW applied a then b: its value is (1.5, 1.5) whatever OLD did.
    j = judge(BEFORE, old_after, A_THEN_B, [A, B], [A, B], 0.5, TOL)
    assert j.accepted and j.old_outcome == outcome and j.new_order == (0, 1) and j.new_matches


def test_a_value_matching_no_outcome_is_rejected() -> None:
    # (1.5, 2.0): its first element is "a then b"'s, its second "b then a"'s: no whole-vector outcome.
    j = judge(BEFORE, np.array([1.5, 2.0]), A_THEN_B, [A, B], [A, B], 0.5, TOL)
    assert not j.accepted and j.old_outcome is None and j.new_matches
    assert j.old_error == pytest.approx(0.5)
    # one update lost ("last writer wins"): (3, 2) or (2, 1) is none of the outcomes either
    assert not judge(BEFORE, np.array([3.0, 2.0]), A_THEN_B, [A, B], [A, B], 0.5, TOL).accepted


def test_new_value_not_matching_its_own_order_is_rejected() -> None:
    # NEW applied b first (its recorded moments are b, a), so it must end at (2, 2), not (1.5, 1.5),
    # although (1.5, 1.5) is a value TF1 could give.
    j = judge(BEFORE, B_THEN_A, A_THEN_B, [A, B], [B, A], 0.5, TOL)
    assert j.old_outcome == "b then a" and j.new_order == (1, 0)
    assert not j.new_matches and not j.accepted
    assert j.new_error == pytest.approx(0.5)
    assert judge(BEFORE, B_THEN_A, B_THEN_A, [A, B], [B, A], 0.5, TOL).accepted


def test_new_with_another_momentum_is_rejected() -> None:
    # decay 0.99: a then b from 0 towards 1 then 3 gives 0.0099 + 0.03 = 0.0399; with NEW's momentum
    # 0.9 it gives 0.09*1*0.9... = 0.381 (0.1*0.9*1 + 0.1*3), far from every outcome.
    before, a, b = np.zeros(1), np.ones(1), np.full(1, 3.0)
    old = tf1_outcomes(before, a, b, 0.99)["b then a"]
    assert old[0] == pytest.approx(0.03 * 0.99 + 0.01)
    new = sequential(before, [a, b], 0.9)
    assert new[0] == pytest.approx(0.1 * 0.9 + 0.3)
    j = judge(before, old, new, [a, b], [a, b], 0.99, TOL)
    assert j.old_outcome == "b then a" and not j.new_matches and not j.accepted


def test_float32_rounding_is_within_tolerance() -> None:
    rng = np.random.default_rng(3)
    before, a, b = (rng.normal(0, 2, 16).astype(F) for _ in range(3))
    r = F(0.01)
    first = (before - (before - b) * r).astype(F)  # TF1's float32 arithmetic, b then a
    old = (first - (first - a) * r).astype(F)
    first = (before * F(0.99) + a * r).astype(F)  # Keras 3's formula, a then b
    new = (first * F(0.99) + b * r).astype(F)
    j = judge(before, old, new, [a, b], [a, b], 0.99, TOL)
    assert j.accepted and j.old_outcome == "b then a"


def test_momentum_is_fitted_to_two_updates_per_step() -> None:
    rng = np.random.default_rng(5)
    befores = [rng.normal(0, 1, 8) for _ in range(3)]
    moments = [[rng.normal(0, 1, 8), rng.normal(0, 1, 8)] for _ in range(3)]
    afters = [sequential(v, m, 0.9) for v, m in zip(befores, moments)]
    fitted = fit_momentum(befores, moments, afters)
    assert fitted is not None
    assert fitted[0] == pytest.approx(0.9, abs=1e-6) and fitted[1] < 1e-6
    assert fit_momentum([], [], []) is None


# -- the analysis, on synthetic traces of a layer updated twice per step ---------------------------

NAMES = ("bn/moving_mean", "bn/moving_variance")


def _moments(k: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(10 + k)
    return [
        {
            "moving_mean": rng.normal(0.5, 0.5, 4).astype(F),
            "moving_variance": rng.uniform(0.5, 2, 4).astype(F),
        }
        for _ in range(2)
    ]


def _apply(
    state: dict[str, np.ndarray], calls: list[dict[str, np.ndarray]], order: str, decay: float
):
    """TF1's float32 update of both statistics; *order* "ab", "ba", "both" or "a" (one update lost)."""
    r = F(1 - decay)
    out = {}
    for name in NAMES:
        role = name.split("/")[1]
        v, a, b = state[name], calls[0][role], calls[1][role]
        if order == "both":
            out[name] = (v - (v - a) * r - (v - b) * r).astype(F)
            continue
        value = v
        for x in {"ab": (a, b), "ba": (b, a), "a": (a,)}[order]:
            value = (value - (value - x) * r).astype(F)
        out[name] = value
    return out


def _trace(side: str, steps: list[Step], calls: int, momentum: float) -> Trace:
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
    t.bn_config = {prefix: {"momentum": momentum, "training_calls": calls}}
    return t


def _runs(
    old_orders: list[str],
    new_decay: float = 0.99,
    new_calls: int = 2,
    second_orders: list[str] | None = None,
) -> Runs:
    """OLD (decay 0.99) takes *old_orders* step by step; its second run *second_orders* (all "ab" by
    default). NEW applies a then b (or, with *new_calls* 1, one update towards the two batches' average)
    with *new_decay*."""

    def old_run(orders: list[str]) -> list[Step]:
        state = {"bn/moving_mean": np.zeros(4, F), "bn/moving_variance": np.ones(4, F)}
        steps = []
        for k, order in enumerate(orders):
            after = _apply(state, _moments(k), order, 0.99)
            steps.append(Step(dict(state), after, bn_calls={"bn": _moments(k)}))
            state = after
        return steps

    def new_step(state: dict[str, np.ndarray], k: int) -> Step:
        calls = _moments(k)
        if new_calls == 1:
            calls = [{r: ((calls[0][r] + calls[1][r]) / 2).astype(F) for r in calls[0]}]
            after = _apply(state, [calls[0], calls[0]], "a", new_decay)
        else:
            after = _apply(state, calls, "ab", new_decay)
        rename = {n: "net/" + n for n in NAMES}
        return Step(
            {rename[n]: v for n, v in state.items()},
            {rename[n]: v for n, v in after.items()},
            bn_calls={"net/bn": calls},
        )

    old = old_run(old_orders)
    lock = [new_step(s.before, k) for k, s in enumerate(old)]
    free, state = [], {"bn/moving_mean": np.zeros(4, F), "bn/moving_variance": np.ones(4, F)}
    for k in range(len(old_orders)):
        step = new_step(state, k)
        free.append(step)
        state = {n: step.after["net/" + n] for n in NAMES}
    return Runs(
        [
            _trace("old", old, 2, 0.99),
            _trace("old", old_run(second_orders or ["ab"] * len(old_orders)), 2, 0.99),
        ],
        _trace("new", free, new_calls, new_decay),
        _trace("new", lock, new_calls, new_decay),
    )


def _check(runs: Runs) -> object:
    return analyze(runs, CheckOptions(), "old.py", "new.py")


@pytest.mark.parametrize("second", [None, ["ba", "ab", "both", "ba"]], ids=["spread", "no-spread"])
def test_steps_where_old_took_another_order_are_equivalent(second: list[str] | None) -> None:
    # With OLD's runs all taking the same orders (no spread) the spread method said DIFFERENT: the flip
    # of the under-load test.
    result = _check(_runs(["ba", "ab", "both", "ba"], second_orders=second))
    assert result.verdict == "equivalent", result.render_text()
    assert Cause.NONDETERMINISTIC_ORIGINAL not in result.causes
    assert (
        result.layers[0].lock_abs > 1e-4
    )  # the orders do part: the rule, not a tolerance, accepts
    note = next(n for n in result.notes if "twice per step" in n)
    assert "b then a: 4" in note and "both read first: 2" in note


def test_old_value_matching_no_outcome_stays_different() -> None:
    result = _check(_runs(["ab", "a", "ab"]))
    assert result.verdict == "different"
    assert result.layers[0].first_step == 1
    assert any("none of TF1's three possible outcomes" in n for n in result.notes)


def test_momentum_change_in_a_racing_layer_is_named() -> None:
    result = _check(_runs(["ba", "ab", "both"], new_decay=0.9))
    assert result.verdict == "different"
    diag = next(d for d in result.diagnoses if d.cause is Cause.MOMENTUM_CHANGED)
    assert diag.data["momentum_new_measured"] == pytest.approx(0.9, abs=1e-4)


def test_one_update_instead_of_two_is_update_count_changed() -> None:
    result = _check(_runs(["ab", "ab", "ab"], new_calls=1))
    assert result.verdict == "different"
    diag = next(d for d in result.diagnoses if d.cause is Cause.UPDATE_COUNT_CHANGED)
    assert (diag.data["old_updates"], diag.data["new_updates"]) == (2, 1)
    assert diag.data["steps"] == [0, 1, 2]


def test_old_runs_twice_when_the_rule_can_judge_the_race() -> None:
    first = _runs(["ab", "ab"]).old[0]
    assert old_runs_needed(CheckOptions(), first) == 2
    assert old_runs_needed(CheckOptions(lockstep=False), first) == 4
    first.bn_config["bn"]["training_calls"] = 3
    assert old_runs_needed(CheckOptions(), first) == 4
    first.bn_config["bn"]["training_calls"] = 2
    first.steps[1].bn_calls = {}  # a step whose moments were not recorded
    assert old_runs_needed(CheckOptions(), first) == 4


SLIM_REUSE = """\
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim

x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.float32, [None, 3])
h1 = slim.batch_norm(slim.fully_connected(x, 4, scope="fc", activation_fn=None), is_training=True, scope="bn")
h2 = slim.batch_norm(slim.fully_connected(y, 4, scope="fc", reuse=True, activation_fn=None), is_training=True,
                     scope="bn", reuse=True)
loss = tf.reduce_mean(tf.square(h1)) + tf.reduce_mean(tf.square(h2))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train, {x: np.random.rand(8, 3), y: np.random.rand(8, 3)})
"""


@pytest.mark.slow
def test_slim_call_reusing_a_scope_is_a_training_call(tmp_path: Path) -> None:
    from bn_migrate.check import check_programs

    old = tmp_path / "old.py"
    old.write_text(SLIM_REUSE, encoding="utf-8")
    new = tmp_path / "new.py"
    new.write_text("raise SystemExit('only the original is looked at')\n", encoding="utf-8")
    check_programs(old, new, CheckOptions(old_repeats=1), keep_dir=tmp_path / "keep")
    first = Trace.load(tmp_path / "keep" / "old_1")
    assert first.bn_config["bn"]["training_calls"] == 2
    # slim's own kernel on 2-D input: no tf-keras update recorded its moments, so the spread stays
    assert all("bn" not in step.bn_calls for step in first.steps)
    assert old_runs_needed(CheckOptions(), first) == 4
