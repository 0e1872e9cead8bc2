"""How a conversion is judged from the two sides' values (no TensorFlow: the workers' files are written
here as they would be): each pair's restored and loaded values, then the outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bn_migrate.check.models import ModelRef
from bn_migrate.checkpoints.convert import ConvertOptions, _judge
from bn_migrate.checkpoints.mapping import Variable, make_plan

MODEL = ModelRef(Path("new.py"), "Net")
OPTIONS = ConvertOptions(input_shape=(3,), builder=ModelRef(Path("old.py"), "net"))
OLD = [Variable("fc/kernel", (3, 2)), Variable("fc/bias", (2,)), Variable("global_step", ())]
NEW = [Variable("net/fc/kernel", (3, 2)), Variable("net/fc/bias", (2,))]
KERNEL = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
BIAS = np.array([0.5, -0.25], np.float32)
OUTPUT = np.array([[1.0, 2.0], [3.0, -4.0]], np.float32)


def sides(tmp_path: Path, new_values: dict, new_output: np.ndarray, old_values: dict | None = None):
    old_values = old_values if old_values is not None else {"fc/kernel": KERNEL, "fc/bias": BIAS}
    for side, prefix, values, output in (
        ("new", "w", new_values, new_output),
        ("old", "v", old_values, OUTPUT),
    ):
        (tmp_path / side).mkdir()
        arrays = {f"{prefix}:{k}": v for k, v in values.items()}
        np.savez(tmp_path / side / "values.npz", output=output, **arrays)
    plan = make_plan(OLD, NEW)
    new = {"state": "ok", "plan": plan.to_json(), "weights": [v.name for v in NEW]}
    return {
        "new": {**new, "checkpoint": "ckpt/model-4", "folder": str(tmp_path / "new")},
        "old": {"state": "ok", "folder": str(tmp_path / "old")},
    }


def judge(results: dict):
    return _judge(results, Path("ckpt"), MODEL, Path("out.weights.h5"), OPTIONS)


def test_equal_values_and_outputs_within_float32_noise_are_verified(tmp_path: Path) -> None:
    noisy = OUTPUT + np.float32(2e-7)
    result = judge(sides(tmp_path, {"net/fc/kernel": KERNEL, "net/fc/bias": BIAS}, noisy))
    assert result.status == "verified" and result.exit_code == 0, result.render_text()
    assert [r.difference for r in result.rows] == [0.0, 0.0]
    assert result.plan.skipped == ["global_step"]
    text = result.render_text()
    rows = [line.split() for line in text.splitlines() if line.startswith("fc/")]
    assert rows == [
        ["fc/kernel", "net/fc/kernel", "kernel", "name", "0"],
        ["fc/bias", "net/fc/bias", "bias", "name", "0"],
    ]
    assert "largest difference 2.38e-07" in text


def test_a_weight_that_did_not_load_its_value_is_named(tmp_path: Path) -> None:
    result = judge(sides(tmp_path, {"net/fc/kernel": KERNEL, "net/fc/bias": BIAS + 1}, OUTPUT))
    assert result.status == "different" and result.exit_code == 1
    assert result.reason == "loaded weights differ from the TF1 values: net/fc/bias (from fc/bias)"
    assert "1  DIFFERENT" in result.render_text()


def test_outputs_beyond_the_tolerance_fail_without_a_suspect_named(tmp_path: Path) -> None:
    result = judge(sides(tmp_path, {"net/fc/kernel": KERNEL, "net/fc/bias": BIAS}, OUTPUT * 1.001))
    assert result.status == "different" and result.diagnoses == []
    assert result.reason is not None and result.reason.startswith("outputs differ by up to 0.004")
    assert "the two models compute differently" in result.reason


def test_a_pair_the_builder_does_not_create_is_named(tmp_path: Path) -> None:
    results = sides(
        tmp_path, {"net/fc/kernel": KERNEL, "net/fc/bias": BIAS}, OUTPUT, {"fc/kernel": KERNEL}
    )
    result = judge(results)
    assert result.status == "different"
    assert result.reason is not None and "the TF1 builder creates no fc/bias" in result.reason


def test_a_failed_side_writes_nothing_and_says_which(tmp_path: Path) -> None:
    results = sides(tmp_path, {"net/fc/kernel": KERNEL, "net/fc/bias": BIAS}, OUTPUT)
    results["old"] = {
        "state": "failed",
        "message": "TypeError: net() missing 1 argument (old.py:3)",
    }
    result = judge(results)
    assert result.status == "failed" and result.exit_code == 2 and not result.written
    assert result.reason == "TF1 builder: TypeError: net() missing 1 argument (old.py:3)"
