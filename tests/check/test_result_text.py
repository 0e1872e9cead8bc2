"""The text report names the non-statistics variables that differ (kernels, gamma, beta...), which the
layer table does not show."""

from __future__ import annotations

from bn_migrate.check.result import CheckResult


def _variable(name: str, role: str, lock_abs: float, ok: bool) -> dict[str, object]:
    return {
        "old": name,
        "new": name,
        "role": role,
        "lock_abs": lock_abs,
        "free_abs": lock_abs,
        "lock_ok": ok,
        "free_ok": ok,
        "first_bad_step": None if ok else 0,
    }


def test_differing_kernels_are_listed_largest_first() -> None:
    variables = [
        _variable("bn/moving_mean", "moving_mean", 1e-3, False),
        _variable("fc1/kernel", "kernel", 2e-4, False),
        _variable("fc2/kernel", "kernel", 5e-3, False),
        _variable("fc2/bias", "bias", 1e-9, True),
        *(_variable(f"c{i}/kernel", "kernel", 1e-6, False) for i in range(6)),
    ]
    text = CheckResult("different", "a.py", "b.py", variables=variables).render_text()
    block = text.split("Other variables that differ (lockstep, largest first):\n")[1]
    lines = block.splitlines()
    assert lines[0] == "  fc2/kernel <-> fc2/kernel (kernel): up to 0.005, first at step 0"
    assert lines[1].startswith("  fc1/kernel")
    assert lines[6] == "  ... and 2 more (every variable is in --json)"
    assert "moving_mean <->" not in block and "fc2/bias" not in block


def test_an_equivalent_report_lists_none() -> None:
    variables = [_variable("fc1/kernel", "kernel", 2e-4, False)]
    assert (
        "Other variables"
        not in CheckResult("equivalent", "a", "b", variables=variables).render_text()
    )
