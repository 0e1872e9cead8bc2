"""Hand-written batch norm (tf.nn.moments averaged by ExponentialMovingAverage or assign_moving_average):
recognised on the TF1 side by how its statistics are updated, its zero-debiased averages diagnosed.

The fast tests use synthetic traces (no TensorFlow) or build a graph without running it; the slow ones check
the fixtures in tests/fixtures/handwritten/ end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.check import CheckOptions, check_programs
from bn_migrate.check.analysis import Runs
from bn_migrate.check.diagnoses import Cause
from bn_migrate.check.old_runs import OldRunCache
from tests.check.test_analysis import OLD_NAMES, F, State, Update, batch, bn_step, check, make_runs

HANDWRITTEN = Path(__file__).resolve().parent.parent / "fixtures" / "handwritten"


def debiased_step(decay: float) -> Update:
    """A zero-debiased average's update, written as the recurrence it is: the (k+1)-th update moves the
    statistics (1-d)/(1-d**(k+1)) of the way to the batch moments; the kernel learns."""

    def update(state: State, k: int) -> State:
        mean, var = batch(k)
        rate = F((1 - decay) / (1 - decay ** (k + 1)))
        out = dict(state)
        out["bn/moving_mean"] = (
            state["bn/moving_mean"] - (state["bn/moving_mean"] - mean) * rate
        ).astype(F)
        out["bn/moving_variance"] = (
            state["bn/moving_variance"] - (state["bn/moving_variance"] - var) * rate
        ).astype(F)
        out["dense/kernel"] = (state["dense/kernel"] - F(0.01) * mean[:, None]).astype(F)
        return out

    return update


DEBIASED_CFG = {
    "bn": {
        "source": "moving_averages.assign_moving_average",
        "momentum": 0.9,
        "zero_debias": {"moving_mean": True, "moving_variance": True},
        "hand_written": True,
    }
}


def runs_against_debiased(new_update: Update, new_config: dict | None = None) -> Runs:
    return make_runs(
        debiased_step(0.9), new_update, steps=5, old_config=DEBIASED_CFG, new_config=new_config
    )


def test_zero_debiased_migration_of_zero_debiased_statistics_is_equivalent() -> None:
    result = check(runs_against_debiased(debiased_step(0.9)))
    assert result.verdict == "equivalent", result.render_text()
    assert any("hand-written batch norm" in n and "zero-debiased" in n for n in result.notes)


def test_plain_average_against_zero_debiased_is_named_and_measured() -> None:
    result = check(runs_against_debiased(bn_step(0.9), {"net/bn": {"momentum": 0.9}}))
    assert result.verdict == "different"
    (found,) = [d for d in result.diagnoses if d.cause is Cause.ZERO_DEBIAS]
    assert found.data["momentum_new_measured"] == pytest.approx(0.9, abs=1e-4)
    # OLD's first update goes all the way (NEW's declared momentum makes this a measurement), then
    # (1-d)/(1-d**t): 1, 0.526, 0.369...
    measured = found.data["old_rate_measured"]
    expected = [0.1 / (1 - 0.9**t) for t in range(1, 6)]
    assert measured == pytest.approx(expected, rel=1e-3)
    assert found.data["updates_over_1pct"] == 44  # 0.9**44 < 0.01 <= 0.9**43
    assert Cause.MOMENTUM_CHANGED not in result.causes


def test_zero_debiased_migration_with_another_decay_is_a_momentum_change() -> None:
    result = check(runs_against_debiased(debiased_step(0.99)))
    assert result.verdict == "different"
    (found,) = [d for d in result.diagnoses if d.cause is Cause.MOMENTUM_CHANGED]
    assert found.data["decay_new_measured"] == pytest.approx(0.99, abs=1e-4)
    assert Cause.ZERO_DEBIAS not in result.causes


def test_plain_statistics_are_not_taken_for_zero_debiased_ones() -> None:
    plain = {"bn": {**DEBIASED_CFG["bn"], "zero_debias": {}}}
    runs = make_runs(bn_step(0.9), bn_step(0.5), steps=5, old_config=plain)
    result = check(runs)
    assert Cause.MOMENTUM_CHANGED in result.causes and Cause.ZERO_DEBIAS not in result.causes
    assert any("not zero-debiased" in n for n in result.notes)


def test_average_never_applied_is_the_reason_when_old_keeps_no_statistics() -> None:
    names = ["dense/kernel"]
    runs = make_runs(bn_step(0.9, moves=False), bn_step(0.9, moves=False), old_names=names)
    runs.old[0].unapplied_averages = [{"site": "model.py:12", "decay": 0.1}]
    result = check(runs)
    assert result.verdict == "undecided"
    assert result.reason is not None and "model.py:12" in result.reason
    assert "never applies it" in result.reason
    assert result.causes == {Cause.AVERAGE_NEVER_APPLIED}


def test_average_never_applied_beside_a_bn_layer_is_named_and_does_not_decide() -> None:
    runs = make_runs(bn_step(0.9), bn_step(0.9), old_names=OLD_NAMES)
    runs.old[0].unapplied_averages = [{"site": "model.py:12", "decay": None}]
    result = check(runs)
    assert result.verdict == "equivalent"
    assert result.causes == {Cause.AVERAGE_NEVER_APPLIED}


def test_batch_moments_are_recognised_in_a_graph() -> None:
    tf = pytest.importorskip("tensorflow")
    from bn_migrate.check.handwritten import batch_moment, layer_scope

    v1 = tf.compat.v1
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3])
        with v1.variable_scope("block"):
            mean, var = tf.nn.moments(x, [0])
        other = tf.reduce_mean(x, [0])
        squared = tf.reduce_mean(tf.square(x), [0])
        mean_kind, mean_op = batch_moment(tf.identity(mean))
        var_kind, var_op = batch_moment(var)
        assert (mean_kind, var_kind) == ("moving_mean", "moving_variance")
        assert mean_op is var_op and layer_scope(mean_op) == "block"
        assert batch_moment(other) is None and batch_moment(squared) is None
        assert batch_moment(x) is None


def test_statistics_layers_and_parameters_from_a_built_graph() -> None:
    """HandwrittenStats fed by hand (no hooks installed): two top-level moments get a layer each, a
    variable average is resolved once the assignment of batch moments exists, beta/gamma come from the
    normalization whatever their names, a library's batch norm is not hand-written."""
    tf = pytest.importorskip("tensorflow")
    from bn_migrate.check.handwritten import HandwrittenStats
    from bn_migrate.check.trace import RunStatus, Trace

    v1 = tf.compat.v1
    trace = Trace("old", RunStatus("ok"))
    stats = HandwrittenStats(trace, tf)
    with tf.Graph().as_default() as graph:
        x = v1.placeholder(tf.float32, [None, 3])

        def variable(name: str) -> object:
            return v1.get_variable(name, [3], use_resource=False, trainable=False)

        first, first_var = tf.nn.moments(x, [0])
        second, _ = tf.nn.moments(x, [0])
        assert stats.on_assign(variable("a/ExponentialMovingAverage"), first, 0.9, False)
        assert stats.on_assign(variable("b/ExponentialMovingAverage"), second, 0.5, True)
        beta, gamma = variable("beta1"), variable("gamma1")
        stats.on_normalize(tf.identity(first), beta, gamma, 1e-5)
        held = variable("held_mean")
        assert not stats.on_assign(variable("held/ExponentialMovingAverage"), held, 0.7, False)
        assert "moments_2" not in trace.bn_config
        held.assign(first_var)  # a variance assigned to the averaged variable
        stats.resolve_averaged_variables(graph)

    names = {name.split(":")[0]: key for (_, name), key in stats.aliases.items()}
    assert names == {
        "a/ExponentialMovingAverage": "moments/moving_mean",
        "b/ExponentialMovingAverage": "moments_1/moving_mean",
        "beta1": "moments/beta",
        "gamma1": "moments/gamma",
        "held/ExponentialMovingAverage": "moments/moving_variance",
    }
    assert trace.bn_config["moments"]["epsilon"] == 1e-5
    assert trace.bn_config["moments"]["momentum"] == 0.9  # the first average's decay
    assert trace.bn_config["moments_1"]["zero_debias"] == {"moving_mean": True}


ONE_OLD_RUN = CheckOptions(old_repeats=1)


@pytest.mark.slow
def test_stackoverflow_recipe_and_its_keras_migration(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """moments + ExponentialMovingAverage in tf.cond: found and paired; not zero-debiased (TF 1.15 and
    2.21 debias an average of tensors only with ExponentialMovingAverage(zero_debias=True)), so a Keras
    BatchNormalization with momentum = decay and its moving variance starting at zero reproduces it; one
    starting at Keras's one is ``initial-value-changed``."""
    result = check_programs(
        HANDWRITTEN / "moments_ema_cond_tf1.py",
        HANDWRITTEN / "moments_ema_cond_keras_bn.py",
        ONE_OLD_RUN,
        keep_dir=tmp_path,
        old_cache=old_cache,
    )
    assert result.verdict == "equivalent", result.render_text()
    assert [(row.old, row.new, row.steps) for row in result.layers] == [("bn", "bn", 6)]
    (note,) = [n for n in result.notes if "hand-written" in n]
    assert "ExponentialMovingAverage (decay 0.5, epsilon 0.001, not zero-debiased" in note
    assert "bn/moving_mean is bn/bn/moments/Squeeze/ExponentialMovingAverage" in note
    assert "bn/beta is bn/beta1" in note and "bn/gamma is bn/gamma1" in note
    planted = check_programs(
        HANDWRITTEN / "moments_ema_cond_tf1.py",
        _keras_default_start(tmp_path),
        ONE_OLD_RUN,
        keep_dir=tmp_path / "ones",
        old_cache=old_cache,
    )
    assert planted.verdict == "different", planted.render_text()
    assert {d.cause.value for d in planted.diagnoses} == {"initial-value-changed"}


def _keras_default_start(folder: Path) -> Path:
    """``moments_ema_cond_keras_bn.py`` with Keras's default moving-variance start (one), written to
    ``folder``: wrong for the tf.cond recipe (its shadow of a tensor starts at zero), right for the
    average of variables that start at 0 and 1."""
    source = (HANDWRITTEN / "moments_ema_cond_keras_bn.py").read_text(encoding="utf-8")
    ones = source.replace(' moving_variance_initializer="zeros",', "")
    assert ones != source
    path = folder / "keras_default_start.py"
    path.write_text(ones, encoding="utf-8")
    return path


@pytest.mark.slow
def test_average_of_variables_assigned_batch_moments(tmp_path: Path) -> None:
    """The earlier answer's ConvolutionalBatchNormalizer: an ExponentialMovingAverage of tf.Variables that
    the forward pass assigns the batch moments to (top-level moments, anonymous Variables,
    batch_norm_with_global_normalization): found once the graph holds the assignments; equivalent to a
    Keras BN whose statistics start at the variables' initial values (0 and 1)."""
    result = check_programs(
        HANDWRITTEN / "variable_ema_tf1.py",
        _keras_default_start(tmp_path),
        ONE_OLD_RUN,
    )
    assert result.verdict == "equivalent", result.render_text()
    assert [(row.old, row.new, row.moved_old) for row in result.layers] == [("moments", "bn", 6)]
    (note,) = [n for n in result.notes if "hand-written" in n]
    assert "moments/moving_mean is Variable/ExponentialMovingAverage" in note
    assert "moments/gamma is Variable_3" in note


@pytest.mark.slow
def test_assign_moving_average_migrations(old_cache: OldRunCache) -> None:
    """assign_moving_average into the program's own collection (zero_debias=True by default): the exact
    hand migration is equivalent, plain Keras BN differs by the named zero-debiasing, a wrong decay is
    caught as such."""
    old = HANDWRITTEN / "assign_moving_average_tf1.py"
    exact = check_programs(
        old, HANDWRITTEN / "assign_moving_average_exact.py", ONE_OLD_RUN, old_cache=old_cache
    )
    assert exact.verdict == "equivalent", exact.render_text()
    assert [(row.old, row.new) for row in exact.layers] == [("fc1", "fc1_bn")]
    plain = check_programs(
        old, HANDWRITTEN / "assign_moving_average_keras_bn.py", ONE_OLD_RUN, old_cache=old_cache
    )
    assert plain.verdict == "different" and Cause.ZERO_DEBIAS in plain.causes, plain.render_text()
    (found,) = [d for d in plain.diagnoses if d.cause is Cause.ZERO_DEBIAS]
    assert found.data["old_rate_measured"][0] == pytest.approx(1.0, abs=1e-3)
    assert found.data["momentum_new_measured"] == pytest.approx(0.9, abs=1e-3)
    wrong = check_programs(
        old, HANDWRITTEN / "assign_moving_average_wrong_decay.py", ONE_OLD_RUN, old_cache=old_cache
    )
    assert wrong.verdict == "different" and Cause.MOMENTUM_CHANGED in wrong.causes, (
        wrong.render_text()
    )
    (found,) = [d for d in wrong.diagnoses if d.cause is Cause.MOMENTUM_CHANGED]
    assert found.data["decay_new_measured"] == pytest.approx(0.99, abs=1e-3)


@pytest.mark.slow
def test_average_never_applied_is_reported(tmp_path: Path) -> None:
    old = HANDWRITTEN / "ema_never_applied_tf1.py"
    lines = old.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "ExponentialMovingAverage(" in text)
    result = check_programs(
        old,
        HANDWRITTEN / "ema_never_applied_tf2.py",
        CheckOptions(old_repeats=1, lockstep=False),
        keep_dir=tmp_path,
    )
    assert result.verdict == "undecided"
    assert result.causes == {Cause.AVERAGE_NEVER_APPLIED}
    assert (
        result.reason is not None
        and f"ema_never_applied_tf1.py:{line} (decay 0.1)" in result.reason
    )
