"""Elements whose gradient is numerical noise on both sides (``bn_migrate.check.noise_gradients``): excused,
named in a note, never a real difference. Synthetic traces first (fast), then real programs: a
``renorm=True`` MLP under Adam, its correct migration and three wrong ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bn_migrate.check import Cause, CheckOptions, check_programs
from bn_migrate.check.analysis import Runs, analyze
from bn_migrate.check.noise_gradients import NOISE_RATIO, noise_elements
from bn_migrate.check.old_runs import OldRunCache
from bn_migrate.check.result import CheckResult
from bn_migrate.check.roles import role_of
from bn_migrate.check.trace import RunStatus, Step, Trace, VariableInfo
from tests.conftest import REPO

F = np.float32
NAMES = ["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"]
LR = F(0.01)


def _trace(side: str, steps: list[Step], init: dict[str, np.ndarray]) -> Trace:
    t = Trace(side, RunStatus("ok"))
    for i, n in enumerate(NAMES):
        key = n if side == "old" else "net/" + n
        t.variables[key] = VariableInfo(
            key, (3,), role_of(n), i, True, paired_with=n if side == "new" else None
        )
        t.initial[key] = init[n]
    t.steps = steps
    return t


def _step(
    before: dict[str, np.ndarray],
    beta_delta: np.ndarray,
    gradients: dict[str, np.ndarray],
    new: bool,
) -> Step:
    after = dict(before)
    after["bn/moving_mean"] = (before["bn/moving_mean"] + F(0.01)).astype(F)
    after["bn/gamma"] = (before["bn/gamma"] - LR).astype(F)
    after["bn/beta"] = (before["bn/beta"] + beta_delta).astype(F)
    if new:
        return Step(
            {"net/" + k: v for k, v in before.items()},
            {"net/" + k: v for k, v in after.items()},
            gradients={"net/" + k: v for k, v in gradients.items()},
        )
    return Step(before, after, gradients=gradients)


def _runs(
    old_beta: list[float],
    new_beta: list[float],
    old_grad: list[float] | None,
    new_grad: list[float] | None,
) -> Runs:
    """One step of a BN layer: gamma and the statistics move alike; beta moves by *old_beta* / *new_beta*;
    the gradients recorded for beta are *old_grad* / *new_grad* (None: not recorded), gamma's 0.2."""
    init = {
        "bn/gamma": np.ones(3, F),
        "bn/beta": np.zeros(3, F),
        "bn/moving_mean": np.zeros(3, F),
        "bn/moving_variance": np.ones(3, F),
    }

    def gradients(beta: list[float] | None) -> dict[str, np.ndarray]:
        found = {"bn/gamma": np.full(3, 0.2, F)}
        if beta is not None:
            found["bn/beta"] = np.array(beta, F)
        return found

    old = _step(init, np.array(old_beta, F), gradients(old_grad), new=False)
    new = _step(init, np.array(new_beta, F), gradients(new_grad), new=True)
    return Runs(
        [_trace("old", [old], init)], _trace("new", [new], init), _trace("new", [new], init)
    )


def _check(runs: Runs) -> CheckResult:
    return analyze(runs, CheckOptions(), "old.py", "new.py")


NOISE = 3e-8  # measured: 8.3e-7 of the step's largest gradient at most (here 0.2: 1.5e-7)


def test_noise_gradients_on_both_sides_are_excused_and_named() -> None:
    # element 1: Adam turned +-noise into steps of -lr and +lr; elements 0 and 2 agree
    result = _check(
        _runs([-0.01, -0.01, 0.0], [-0.01, 0.01, 0.0], [0.1, NOISE, 0.0], [0.1, -NOISE, 0.0])
    )
    assert result.verdict == "equivalent", result.render_text()
    [note] = [n for n in result.notes if n.startswith("not judged where the gradient is numerical")]
    assert "net/bn/beta element(s) 1 in 1 step(s) from step 0 (up to 0.02 apart)" in note
    assert "3e-08, 1.5e-07 of the step's largest gradient" in note
    beta = next(v for v in result.variables if v["new"] == "net/bn/beta")
    assert beta["noise_steps"] == [0] and beta["lock_ok"]


def test_a_real_gradient_on_either_side_is_judged() -> None:
    real = 1e-3  # 5e-3 of the step's largest gradient
    for old_grad, new_grad in ((NOISE, real), (real, NOISE), (real, real)):
        result = _check(
            _runs([0.0, -0.01, 0.0], [0.0, 0.01, 0.0], [0.0, old_grad, 0.0], [0.0, new_grad, 0.0])
        )
        assert result.verdict == "different", (old_grad, new_grad, result.render_text())
        assert not any("numerical noise" in n for n in result.notes)


def test_other_elements_of_an_excused_variable_are_still_judged() -> None:
    # element 1 is noise; element 0 trains (gradient 0.1) and differs
    result = _check(
        _runs([-0.01, -0.01, 0.0], [-0.02, 0.01, 0.0], [0.1, NOISE, 0.0], [0.1, NOISE, 0.0])
    )
    assert result.verdict == "different", result.render_text()
    beta = next(v for v in result.variables if v["new"] == "net/bn/beta")
    assert beta["first_bad_index"] == [0]


def test_no_gradient_recorded_is_no_excuse() -> None:
    # a beta the migration does not train (no NEW gradient), or gradients never recorded (OLD)
    for old_grad, new_grad in (([NOISE] * 3, None), (None, [NOISE] * 3)):
        result = _check(_runs([0.0, -0.01, 0.0], [0.0, 0.0, 0.0], old_grad, new_grad))
        assert result.verdict == "different", result.render_text()


def test_the_scale_is_the_originals() -> None:
    # a NEW gradient scale cannot make OLD's real gradient small: only OLD's largest counts
    old = Step({}, {}, gradients={"g": np.array([0.2], F), "b": np.array([1e-3], F)})
    new = Step({}, {}, gradients={"g": np.array([1e6], F), "b": np.array([1e-3], F)})
    assert not noise_elements(old, new, "b", "b").any()
    assert noise_elements(old, old, "g", "g").tolist() == [False]
    tiny = Step({}, {}, gradients={"g": np.array([0.2], F), "b": np.array([0.2 * NOISE_RATIO], F)})
    assert noise_elements(tiny, tiny, "b", "b").tolist() == [True]


# -- real programs: tf.layers MLP with renorm=True on bn1, Adam ------------------------------------------

FIXTURES = REPO / "tests" / "fixtures"
OLD_SOURCE = (FIXTURES / "tf1" / "layers_mlp_placeholder.py").read_text(encoding="utf-8")
NEW_SOURCE = (FIXTURES / "tf2" / "layers_mlp_placeholder.py").read_text(encoding="utf-8")
OLD_BN1 = 'tf.layers.batch_normalization(h, training=is_training, name="bn1")'
NEW_BN1 = 'tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="bn1")'
NEW_LOSS = "loss = loss_fn(y, model(x, training=True))"


def _renorm_pair(tmp_path: Path, new_bn1: str = "renorm=True", loss: str = "") -> tuple[Path, Path]:
    """The fixture with ``renorm=True`` on bn1 (TF1, with its default renorm momentum 0.99) and a
    migration whose bn1 gets *new_bn1* and whose loss gets *loss* added."""
    assert OLD_BN1 in OLD_SOURCE and NEW_BN1 in NEW_SOURCE and NEW_LOSS in NEW_SOURCE
    old = tmp_path / "old.py"
    old.write_text(OLD_SOURCE.replace(OLD_BN1, OLD_BN1[:-1] + ", renorm=True)"), encoding="utf-8")
    new = tmp_path / "new.py"
    source = NEW_SOURCE.replace(NEW_BN1, NEW_BN1.replace("momentum=", new_bn1 + ", momentum="))
    new.write_text(source.replace(NEW_LOSS, NEW_LOSS + loss), encoding="utf-8")
    return old, new


OPTIONS = CheckOptions(timeout=240, old_repeats=1)


@pytest.mark.slow
def test_renorm_under_adam_is_equivalent_with_bn1_beta_named(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    # renorm's first steps are near the identity: one channel of bn1 stays positive through the ReLU for
    # the whole batch, bn2 removes its beta, and Adam turns the noise into steps of 1e-3 (measured: bn1/beta
    # 1.7e-3 apart in lockstep with gradients of 5.6e-8, 5e-7 of the step's largest; `optimizer-mismatch`
    # before the gradients were recorded)
    result = check_programs(*_renorm_pair(tmp_path), OPTIONS, old_cache=old_cache)
    assert result.verdict == "equivalent", result.render_text()
    assert any(
        n.startswith("not judged where the gradient is numerical noise: net/bn1/beta")
        for n in result.notes
    )
    beta = next(v for v in result.variables if v["new"] == "net/bn1/beta")
    assert beta["lock_ok"] and beta["noise_steps"] and beta["lock_abs"] > 1e-4


@pytest.mark.slow
def test_renorm_momentum_changed_is_different(tmp_path: Path, old_cache: OldRunCache) -> None:
    pair = _renorm_pair(tmp_path, new_bn1="renorm=True, renorm_momentum=0.9")
    result = check_programs(*pair, OPTIONS, old_cache=old_cache)
    assert result.verdict == "different", result.render_text()


@pytest.mark.slow
def test_a_beta_that_really_trains_and_differs_is_different(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    # an L2 penalty on bn1's beta the original does not have: beta's gradient is real (2e-4 per 0.01 of
    # beta), in the noise channel too
    loss = " + 0.01 * tf.reduce_sum(tf.square(model.bn1.beta))"
    result = check_programs(*_renorm_pair(tmp_path, loss=loss), OPTIONS, old_cache=old_cache)
    assert result.verdict == "different", result.render_text()
    beta = next(v for v in result.variables if v["new"] == "net/bn1/beta")
    assert not beta["lock_ok"]


@pytest.mark.slow
def test_a_beta_left_untrained_is_different(tmp_path: Path, old_cache: OldRunCache) -> None:
    pair = _renorm_pair(tmp_path, new_bn1="renorm=True")
    new_source = (
        pair[1]
        .read_text(encoding="utf-8")
        .replace(
            "model.trainable_variables",
            "[v for v in model.trainable_variables if v is not model.bn1.beta]",
        )
    )
    pair[1].write_text(new_source, encoding="utf-8")
    result = check_programs(*pair, OPTIONS, old_cache=old_cache)
    assert result.verdict == "different", result.render_text()
    assert Cause.VARIABLES_NOT_TRAINED in result.causes, result.render_text()
