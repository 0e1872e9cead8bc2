"""Verdicts and diagnoses on synthetic traces: no TensorFlow, exact control over every number."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bn_migrate.check.analysis import Runs, analyze
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.options import CheckOptions
from bn_migrate.check.roles import role_of
from bn_migrate.check.trace import RunStatus, Step, Trace, VariableInfo

F = np.float32
C = 6  # channels
State = dict[str, np.ndarray]
Update = Callable[[State, int], State]

OLD_NAMES = ["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance", "dense/kernel"]


def new_name(old: str) -> str:
    return "net/" + old


def batch(k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + k)
    return rng.normal(0.5, 0.3, C).astype(F), rng.uniform(0.5, 2.0, C).astype(F)


def bn_step(
    momentum: float,
    bessel_n: int | None = None,
    moves: bool = True,
    kernel_lr: float = 0.01,
    gamma_delta: float = 0.0,
    learns: bool = True,
) -> Update:
    """A training step: BN statistics move towards the batch's (TF1 formula); the kernel and gamma learn
    unless *learns* is false."""

    def update(state: State, k: int) -> State:
        mean, var = batch(k)
        if bessel_n:
            var = (var * F(bessel_n / (bessel_n - 1))).astype(F)
        out = dict(state)
        if moves:
            out["bn/moving_mean"] = (
                state["bn/moving_mean"] - (state["bn/moving_mean"] - mean) * F(1 - momentum)
            ).astype(F)
            out["bn/moving_variance"] = (
                state["bn/moving_variance"] - (state["bn/moving_variance"] - var) * F(1 - momentum)
            ).astype(F)
        if not learns:
            return out
        if "dense/kernel" in state:
            out["dense/kernel"] = (state["dense/kernel"] - F(kernel_lr) * mean[:, None]).astype(F)
        if "bn/gamma" in state:
            out["bn/gamma"] = (state["bn/gamma"] - F(0.01) * var + F(gamma_delta)).astype(F)
        return out

    return update


def initial(names: list[str]) -> State:
    values = {
        "bn/gamma": np.ones(C, F),
        "bn/beta": np.zeros(C, F),
        "bn/moving_mean": np.zeros(C, F),
        "bn/moving_variance": np.ones(C, F),
        "dense/kernel": np.random.default_rng(0).normal(0, 0.3, (C, 3)).astype(F),
    }
    return {n: values[n] for n in names}


def trace(
    side: str,
    names: list[str],
    steps: list[Step],
    init: State,
    rename: bool,
    config: dict | None = None,
    paired: bool = True,
) -> Trace:
    t = Trace(side, RunStatus("ok"))
    for i, n in enumerate(names):
        key = new_name(n) if rename else n
        t.variables[key] = VariableInfo(
            key, init[n].shape, role_of(n), i, True, paired_with=n if (rename and paired) else None
        )
    t.initial = {(new_name(n) if rename else n): v for n, v in init.items()}
    if rename:
        steps = [
            Step(
                {new_name(k): v for k, v in s.before.items()},
                {new_name(k): v for k, v in s.after.items()},
            )
            for s in steps
        ]
    t.steps = steps
    t.bn_config = config or {}
    return t


def run_steps(update: Update, init: State, count: int) -> list[Step]:
    steps, state = [], dict(init)
    for k in range(count):
        after = update(state, k)
        if any(not np.array_equal(state[n], after[n]) for n in state):
            steps.append(Step(dict(state), after))
        state = after
    return steps


def lock_steps(update: Update, old_steps: list[Step], count: int, init: State) -> list[Step]:
    """NEW in lockstep: each step starts from OLD's values (NEW-only variables keep their own); a call
    that changes nothing is no step."""
    out, own = [], dict(init)
    for k, s in zip(range(count), old_steps):
        start = {**own, **s.before}
        after = update(dict(start), k)
        if any(not np.array_equal(start[n], after[n]) for n in after):
            out.append(Step(start, after))
        own = after
    return out


def make_runs(
    old_update: Update,
    new_update: Update,
    steps: int = 4,
    old_names: list[str] = OLD_NAMES,
    new_names: list[str] | None = None,
    old_config: dict | None = None,
    new_config: dict | None = None,
    old_repeat: Update | None = None,
) -> Runs:
    new_names = new_names or old_names
    old_init, new_init = initial(old_names), initial(new_names)
    o = run_steps(old_update, old_init, steps)
    o2 = run_steps(old_repeat or old_update, old_init, steps)
    f = run_steps(new_update, new_init, steps)
    lk = lock_steps(new_update, o, steps, new_init) if o else run_steps(new_update, new_init, steps)
    return Runs(
        [
            trace("old", old_names, o, old_init, False, old_config),
            trace("old", old_names, o2, old_init, False, old_config),
        ],
        trace("new", new_names, f, new_init, True, new_config),
        trace("new", new_names, lk, new_init, True, new_config),
    )


def check(runs: Runs, **options: float) -> object:
    return analyze(runs, CheckOptions(**options), "old.py", "new.py")


OLD_CFG = {"bn": {"momentum": 0.99, "fused": False, "trainable": True, "training": True}}


def test_identical_updates_are_equivalent() -> None:
    result = check(make_runs(bn_step(0.99), bn_step(0.99), old_config=OLD_CFG))
    assert result.verdict == "equivalent" and result.exit_code == 0
    assert result.causes == set()
    row = result.layers[0]
    assert (row.old, row.new, row.steps, row.verdict) == ("bn", "net/bn", 4, "equivalent")


def test_changed_momentum_is_different_and_measured() -> None:
    result = check(
        make_runs(
            bn_step(0.999), bn_step(0.99), old_config={"bn": {"momentum": 0.999, "fused": False}}
        )
    )
    assert result.verdict == "different" and result.exit_code == 1
    assert Cause.MOMENTUM_CHANGED in result.causes
    diag = next(d for d in result.diagnoses if d.cause is Cause.MOMENTUM_CHANGED)
    assert diag.data["increment_ratio"] == pytest.approx(10.0, rel=1e-3)
    assert diag.data["momentum_new_measured"] == pytest.approx(0.99, abs=1e-4)
    assert result.layers[0].first_step == 0


def test_bessel_correction_reports_n() -> None:
    result = check(
        make_runs(
            bn_step(0.99, bessel_n=32),
            bn_step(0.99),
            old_config={"bn": {"momentum": 0.99, "fused": True}},
        )
    )
    assert result.verdict == "different"
    assert Cause.BESSEL_CORRECTION in result.causes
    assert Cause.MOMENTUM_CHANGED not in result.causes
    diag = next(d for d in result.diagnoses if d.cause is Cause.BESSEL_CORRECTION)
    assert diag.data["n"] == 32
    assert result.layers[0].first_stat == "moving_variance"


def scaled_inputs(momentum: float, factor: float) -> Update:
    """The statistics' update when an upstream layer's outputs are *factor* times larger (its epsilon
    changed): the batch mean scales by *factor*, the batch variance by its square, in every channel."""

    def update(state: State, k: int) -> State:
        mean, var = batch(k)
        rate = F(1 - momentum)
        out = dict(state)
        for name, value in (
            ("bn/moving_mean", mean * F(factor)),
            ("bn/moving_variance", var * F(factor**2)),
        ):
            out[name] = (state[name] - (state[name] - value) * rate).astype(F)
        out["dense/kernel"] = (state["dense/kernel"] - F(0.01) * mean[:, None]).astype(F)
        out["bn/gamma"] = (state["bn/gamma"] - F(0.01) * var).astype(F)
        return out

    return update


def test_epsilon_change_is_named_and_quantified() -> None:
    old_config = {"bn": {**OLD_CFG["bn"], "epsilon": 1e-5}}
    new_config = {"net/bn": {"momentum": 0.99, "epsilon": 1e-3}}
    result = check(
        make_runs(
            bn_step(0.99), scaled_inputs(0.99, 1.0005), old_config=old_config, new_config=new_config
        )
    )
    assert result.verdict == "different"
    (diag,) = [d for d in result.diagnoses if d.cause is Cause.EPSILON_CHANGED]
    assert (diag.data["epsilon_old"], diag.data["epsilon_new"]) == (1e-5, 1e-3)
    # The first batch's variances are batch(0)'s, 0.5 to 2: the outputs shrink by up to sqrt((v+1e-5)/(v+1e-3)).
    v = float(np.min(batch(0)[1]))
    assert diag.data["min_variance"] == pytest.approx(v, rel=1e-4)
    assert diag.data["output_factor_worst"] == pytest.approx(
        np.sqrt((v + 1e-5) / (v + 1e-3)), rel=1e-6
    )
    # Inputs scaled by 1.0005 move the variance by 1.001 = n/(n-1) for n = 1000 in every channel: not
    # a variance estimator's n/(n-1) (the means differ too), nor a momentum.
    assert Cause.BESSEL_CORRECTION not in result.causes
    assert Cause.MOMENTUM_CHANGED not in result.causes


def test_same_epsilon_is_not_a_diagnosis() -> None:
    config = {"bn": {**OLD_CFG["bn"], "epsilon": 1e-3}}
    new_config = {"net/bn": {"momentum": 0.99, "epsilon": 1e-3}}
    result = check(
        make_runs(bn_step(0.99), bn_step(0.99), old_config=config, new_config=new_config)
    )
    assert result.verdict == "equivalent" and result.causes == set()


def test_original_that_never_updates_is_different() -> None:
    # The seed question's bug: OLD's statistics never move; here OLD still trains its kernel.
    result = check(make_runs(bn_step(0.99, moves=False), bn_step(0.99), old_config=OLD_CFG))
    assert result.verdict == "different"
    assert Cause.UPDATES_NEVER_RAN in result.causes


def test_original_without_any_step_against_moving_migration() -> None:
    frozen = bn_step(0.99, moves=False, learns=False)
    runs = make_runs(frozen, bn_step(0.99, learns=False), old_names=OLD_NAMES[:4])
    assert runs.old[0].steps == []
    result = check(runs)
    assert result.verdict == "different"
    assert result.causes == {Cause.UPDATES_NEVER_RAN}
    assert result.steps_old == 0 and result.steps_new == 4


def test_migration_in_inference_mode() -> None:
    result = check(
        make_runs(
            bn_step(0.99),
            bn_step(0.99, moves=False),
            old_config=OLD_CFG,
            new_config={"net/bn": {"trainable": False, "training_modes": [False]}},
        )
    )
    assert result.verdict == "different"
    diag = next(d for d in result.diagnoses if d.cause is Cause.INFERENCE_MODE)
    assert "trainable=False" in diag.message


def test_migration_with_momentum_one_is_a_momentum_change_not_inference_mode() -> None:
    # called in training mode, but momentum 1.0 keeps the old averages: the statistics never move
    result = check(
        make_runs(
            bn_step(0.99),
            bn_step(0.99, moves=False),
            old_config=OLD_CFG,
            new_config={"net/bn": {"momentum": 1.0, "training_modes": [True]}},
        )
    )
    assert result.verdict == "different"
    assert result.causes == {Cause.MOMENTUM_CHANGED}
    diag = result.diagnoses[0]
    assert "NEW's momentum is 1.0" in diag.message and diag.data["momentum_new"] == 1.0


def test_statistics_moving_in_the_wrong_step() -> None:
    def every_other(update: Update, moves_on: int) -> Update:
        still = bn_step(0.99, moves=False)
        return lambda s, k: update(s, k) if k % 2 == moves_on else still(s, k)

    result = check(make_runs(every_other(bn_step(0.99), 0), bn_step(0.99), old_config=OLD_CFG))
    assert result.verdict == "different"
    diag = next(d for d in result.diagnoses if d.cause is Cause.UPDATES_WRONG_STEP)
    assert diag.data["new_only"] == [1, 3]


def test_optimizer_mismatch_when_only_weights_differ() -> None:
    result = check(make_runs(bn_step(0.99), bn_step(0.99, kernel_lr=0.0101), old_config=OLD_CFG))
    assert result.verdict == "different"
    assert result.causes == {Cause.OPTIMIZER_MISMATCH}
    assert result.layers[0].verdict == "equivalent"


def test_scale_default_changed_when_gamma_on_one_side_only() -> None:
    no_gamma = [n for n in OLD_NAMES if n != "bn/gamma"]
    runs = make_runs(
        bn_step(0.999),
        bn_step(0.999),
        old_names=no_gamma,
        new_names=OLD_NAMES,
        old_config={"bn": {"source": "slim.batch_norm", "momentum": 0.999}},
    )
    runs.lock.variables["net/bn/gamma"].paired_with = None
    runs.free.variables["net/bn/gamma"].paired_with = None
    result = check(runs)
    assert result.verdict == "different"
    diag = next(d for d in result.diagnoses if d.cause is Cause.SCALE_DEFAULT_CHANGED)
    assert diag.data["present_in"] == "NEW" and diag.data["max_change"] > 0.01
    assert "scale=False in OLD, scale=True in NEW" in diag.message


def test_unpaired_variable_is_undecided() -> None:
    runs = make_runs(bn_step(0.99), bn_step(0.99))
    runs.lock.variables["net/dense/kernel"].paired_with = None
    result = check(runs)
    assert result.verdict == "undecided" and result.exit_code == 2
    assert "dense/kernel" in result.reason


def test_unpaired_bn_layer_is_undecided() -> None:
    runs = make_runs(bn_step(0.99), bn_step(0.99))
    for name in ("net/bn/moving_mean", "net/bn/moving_variance"):
        runs.lock.variables[name].paired_with = None
    result = check(runs)
    assert result.verdict == "undecided"
    assert "without a partner" in result.reason


def test_no_step_on_either_side_is_undecided() -> None:
    frozen = bn_step(0.99, moves=False, learns=False)
    result = check(make_runs(frozen, frozen, old_names=OLD_NAMES[:4]))
    assert result.verdict == "undecided"
    assert "no training step" in result.reason


def test_migration_without_steps_is_undecided_and_says_inference_mode() -> None:
    still = bn_step(0.99, moves=False, learns=False)
    runs = make_runs(bn_step(0.99), still, new_config={"net/bn": {"training_modes": [False]}})
    result = check(runs)
    assert result.verdict == "undecided"
    assert result.reason.startswith("NEW made no training step")
    assert result.reason.endswith(
        "NEW's BN layers ran only in inference mode (no training=True, or trainable=False)"
    )


def test_different_step_counts_are_undecided() -> None:
    runs = make_runs(bn_step(0.99), bn_step(0.99), steps=4)
    runs.lock.steps = runs.lock.steps[:3]
    result = check(runs)
    assert result.verdict == "undecided"
    assert "OLD 4, NEW 3" in result.reason


def _interleaved(first: Update, second: Update) -> Update:
    """Call k of 2n: ``first`` (even k) or ``second`` (odd k), each on batch k // 2."""

    def update(state: State, k: int) -> State:
        return (first if k % 2 == 0 else second)(state, k // 2)

    return update


def _extra_calls_runs(new_update: Update, old_update: Update | None = None) -> Runs:
    """OLD: 4 calls of ``old_update`` (a train step); NEW: 8 calls of ``new_update``, free-running."""
    init = initial(OLD_NAMES)
    old = run_steps(old_update or bn_step(0.99), init, 4)
    new = run_steps(new_update, init, 8)
    return Runs(
        [trace("old", OLD_NAMES, old, init, False, OLD_CFG)] * 2,
        trace("new", OLD_NAMES, new, init, True),
        trace("new", OLD_NAMES, new, init, True),
    )


def test_statistics_moved_in_calls_that_train_nothing_are_different() -> None:
    """The planted mistake of an evaluation in training mode: after each train step, a call moving only
    the statistics, where the original moved them only in its train runs."""
    evaluation = bn_step(0.99, learns=False)
    result = check(_extra_calls_runs(_interleaved(bn_step(0.99), evaluation)))
    assert result.verdict == "different" and result.reason is None
    assert result.causes == {Cause.UPDATES_WRONG_STEP}
    diagnosis = result.diagnoses[0]
    assert diagnosis.layer == "bn <-> net/bn"
    assert diagnosis.data == {"new_only_calls": [2, 4, 6, 8], "matching_steps": 4}


@pytest.mark.parametrize(
    ("new_update", "old_update"),
    [
        (  # statistics and weights moved in separate calls: not the shape, nothing decided
            _interleaved(bn_step(0.99, learns=False), bn_step(0.99, moves=False)),
            None,
        ),
        (  # the original has statistics-only runs of its own
            _interleaved(bn_step(0.99), bn_step(0.99, learns=False)),
            _interleaved(bn_step(0.99), bn_step(0.99, learns=False)),
        ),
    ],
    ids=["split_step", "original_statistics_runs"],
)
def test_other_extra_calls_stay_undecided(new_update: Update, old_update: Update | None) -> None:
    result = check(_extra_calls_runs(new_update, old_update))
    assert result.verdict == "undecided"
    assert "different numbers of training steps" in result.reason


def test_calls_moving_nothing_are_no_steps() -> None:
    """Calls that change no variable are not steps at all: nothing extra to judge."""
    nothing = bn_step(0.99, learns=False, moves=False)
    result = check(_extra_calls_runs(_interleaved(bn_step(0.99), nothing)))
    assert result.verdict == "equivalent", result.reason


def test_failed_side_is_undecided_with_reason_and_tail() -> None:
    runs = make_runs(bn_step(0.99), bn_step(0.99))
    runs.free.status = RunStatus(
        "failed", "new.py:12: ValueError: boom", "Traceback...\nValueError: boom"
    )
    result = check(runs)
    assert result.verdict == "undecided"
    assert result.reason.startswith("NEW (TF2, free-running) failed: new.py:12: ValueError: boom")
    assert "ValueError: boom" in result.traceback_tail


def test_unsupported_api_on_old_side_is_undecided() -> None:
    runs = make_runs(bn_step(0.99), bn_step(0.99))
    runs.old[0].status = RunStatus(
        "unsupported", "old.py:3: tf.contrib.learn is not available: ..."
    )
    result = check(runs)
    assert result.verdict == "undecided"
    assert "cannot run unmodified" in result.reason


def test_statistics_never_moving_on_either_side_with_trainable_false() -> None:
    runs = make_runs(
        bn_step(0.99, moves=False),
        bn_step(0.99, moves=False),
        old_config={"bn": {"trainable": False, "training": True}},
        new_config={"net/bn": {"trainable": True, "training_modes": [True]}},
    )
    result = check(runs)
    assert result.verdict == "equivalent"
    assert Cause.NO_UPDATE_OPS_NON_TRAINABLE in result.causes
    assert result.layers[0].verdict == "equivalent (never moved)"


def test_inference_mode_when_neither_side_moves_but_weights_differ() -> None:
    # trainable=False copied onto the Keras layer: it normalizes with moving statistics, so what it feeds
    # learns differently even though neither side's statistics move.
    runs = make_runs(
        bn_step(0.99, moves=False),
        bn_step(0.99, moves=False, gamma_delta=1e-3),
        old_config={"bn": {"trainable": False, "training": True}},
        new_config={"net/bn": {"trainable": False, "training_modes": [False]}},
    )
    result = check(runs)
    assert result.verdict == "different"
    assert Cause.INFERENCE_MODE in result.causes
    assert Cause.OPTIMIZER_MISMATCH not in result.causes


def test_nondeterministic_original_raises_the_floor() -> None:
    def jitter(update: Update) -> Update:
        def noisy(s: State, k: int) -> State:
            out = update(s, k)
            out["bn/moving_mean"] = (out["bn/moving_mean"] + F(1e-4)).astype(F)
            return out

        return noisy

    # NEW differs from OLD's first run by less than twice OLD's own spread: not held against it. OLD's
    # second run has oneDNN's kernels switched: its spread is rounding noise; a third run made like the
    # first that differs too is nondeterminism.
    runs = make_runs(bn_step(0.99), bn_step(0.99), old_repeat=jitter(bn_step(0.99)))
    for s in runs.lock.steps:
        s.after["net/bn/moving_mean"] = (s.after["net/bn/moving_mean"] + F(5e-5)).astype(F)
    result = check(runs)
    assert Cause.ROUNDING_NOISE in result.causes
    assert Cause.NONDETERMINISTIC_ORIGINAL not in result.causes
    assert result.verdict == "equivalent"
    noted = next(d for d in result.diagnoses if d.cause is Cause.ROUNDING_NOISE)
    assert "oneDNN" in noted.message and "bn/moving_mean" in noted.message

    runs.old.append(runs.old[1])
    result = check(runs)
    assert {Cause.ROUNDING_NOISE, Cause.NONDETERMINISTIC_ORIGINAL} <= set(result.causes)
    assert result.verdict == "equivalent"


def test_rounding_noise_is_measured_at_the_first_step_only() -> None:
    """The oneDNN run's later steps carry free-running drift, which lockstep never has: as a floor it
    would hide real differences, so only the first step (both runs from the same values) counts."""

    def drifts_later(update: Update) -> Update:
        def later(s: State, k: int) -> State:
            out = update(s, k)
            if k >= 1:
                out["bn/moving_mean"] = (out["bn/moving_mean"] + F(1e-3)).astype(F)
            return out

        return later

    runs = make_runs(bn_step(0.99), bn_step(0.99), old_repeat=drifts_later(bn_step(0.99)))
    for s in runs.lock.steps[1:]:
        s.after["net/bn/moving_mean"] = (s.after["net/bn/moving_mean"] + F(5e-4)).astype(F)
    result = check(runs)
    assert Cause.ROUNDING_NOISE not in result.causes
    assert result.verdict == "different", result.render_text()


def test_rounding_variant_runs_switch_onednn(monkeypatch: pytest.MonkeyPatch) -> None:
    from bn_migrate.check.runner import ONEDNN, rounding_variant, worker_env

    assert [rounding_variant(i) for i in range(4)] == [False, True, False, False]
    monkeypatch.delenv(ONEDNN, raising=False)
    assert ONEDNN not in worker_env() and worker_env(rounding=True)[ONEDNN] == "0"
    monkeypatch.setenv(ONEDNN, "0")  # the user turned them off: the variant turns them on
    assert worker_env()[ONEDNN] == "0" and worker_env(rounding=True)[ONEDNN] == "1"


def test_bias_feeding_a_bn_layer_is_reported_not_judged() -> None:
    # OLD's hooks record the bias added right before a BN layer; here the kernel plays that part.
    runs = make_runs(
        bn_step(0.99),
        bn_step(0.99, kernel_lr=0.02),
        old_config={"bn": {**OLD_CFG["bn"], "input_bias": "dense/kernel"}},
    )
    result = check(runs)
    assert result.verdict == "equivalent"
    assert any(note.startswith("not judged: net/dense/kernel") for note in result.notes)
    assert Cause.OPTIMIZER_MISMATCH not in result.causes


def test_tolerance_flags_change_the_verdict() -> None:
    # The kernel's update is 1e-3 larger (relative) in NEW: ~5e-6 absolute, 10x the default step_rtol.
    runs = make_runs(bn_step(0.99), bn_step(0.99, kernel_lr=0.01 * (1 + 1e-3)), old_config=OLD_CFG)
    assert check(runs).verdict == "different"
    assert check(runs, atol=1e-4).verdict == "equivalent"
    assert check(runs, step_rtol=1e-2).verdict == "equivalent"
    assert check(runs, ulps=1e6).verdict == "equivalent"


@pytest.mark.parametrize(
    "old_update,new_update,expected",
    [
        (bn_step(0.99), bn_step(0.99), "equivalent"),
        (bn_step(0.999), bn_step(0.99), "different"),
        (bn_step(0.99, bessel_n=16), bn_step(0.99), "different"),
        (bn_step(0.99, moves=False), bn_step(0.99), "different"),
        (bn_step(0.99), bn_step(0.99, moves=False), "different"),
    ],
)
def test_checker_neither_passes_nor_fails_everything(
    old_update: Update, new_update: Update, expected: str
) -> None:
    assert check(make_runs(old_update, new_update, old_config=OLD_CFG)).verdict == expected


def test_json_shape() -> None:
    result = check(make_runs(bn_step(0.999), bn_step(0.99), old_config={"bn": {"momentum": 0.999}}))
    data = result.to_json()
    assert data["verdict"] == "different" and data["exit_code"] == 1
    assert data["causes"] == ["momentum-changed"]
    assert data["steps"] == {"old": 4, "new": 4}
    layer = data["layers"][0]
    for key in (
        "old",
        "new",
        "steps",
        "free_abs",
        "free_rel",
        "lock_abs",
        "lock_rel",
        "verdict",
        "first_step",
        "first_channel",
        "per_step_lock",
        "per_step_free",
    ):
        assert key in layer
    assert {"cause", "layer", "message", "data"} <= set(data["diagnoses"][0])
    assert len(data["variables"]) == len(OLD_NAMES)
    import json

    json.dumps(data)  # serializable as is


def test_text_report_names_layers_and_diagnoses() -> None:
    text = check(
        make_runs(bn_step(0.999), bn_step(0.99), old_config={"bn": {"momentum": 0.999}})
    ).render_text()
    assert text.startswith("bn-migrate check: DIFFERENT (exit 1)")
    assert "bn  " in text and "net/bn" in text
    assert "momentum-changed [bn <-> net/bn]" in text
    assert "step 0 moving_mean ch " in text
