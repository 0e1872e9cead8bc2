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


def test_bn_layers_are_placed_by_their_inputs_not_by_the_mapping() -> None:
    """Two BN layers swapped whole by a mapping: each layer's weights are consistent (no layer mixes two
    TF1 layers), yet the first one placed by its input gives another output, and is named."""
    from bn_migrate.checkpoints.layers import compare_bn_layers

    rng = np.random.RandomState(0)
    x1, y1, y2 = rng.randn(4, 3), rng.randn(4, 3), rng.randn(4, 3)
    x2 = np.maximum(y1, 0)
    old = {"in:bn1": x1, "out:bn1": y1, "in:bn2": x2, "out:bn2": y2}
    stats = ("gamma", "beta", "moving_mean", "moving_variance")
    variables = [Variable(f"{layer}/{s}", (3,)) for layer in ("bn1", "bn2") for s in stats]
    new_variables = [Variable(f"m/{v.name}", (3,)) for v in variables]
    swap = {f"bn{a}/{s}": (f"m/bn{b}/{s}", "--map") for a, b in ((1, 2), (2, 1)) for s in stats}
    plan = make_plan(variables, new_variables, swap)

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))

    new = {"in:m/bn1": x1, "out:m/bn1": y2, "in:m/bn2": np.maximum(y2, 0), "out:m/bn2": y1}
    rows, diagnoses = compare_bn_layers(plan, ["m/bn1", "m/bn2"], ["bn1", "bn2"], new, old, close)
    assert [(r.new, r.in_place_of, r.verdict) for r in rows] == [
        ("m/bn1", "bn1", "different"),
        ("m/bn2", None, "upstream"),
    ]
    assert diagnoses == [
        f"BN layer m/bn1 takes the input of TF1 layer bn1 but gives another output (up to "
        f"{np.max(np.abs(y2 - y1)):.3g}): its weights are bn2's, not bn1's"
    ]
    right = {"in:m/bn1": x1, "out:m/bn1": y1 + 1e-7, "in:m/bn2": x2, "out:m/bn2": y2}
    rows, diagnoses = compare_bn_layers(
        make_plan(variables, new_variables), ["m/bn1", "m/bn2"], ["bn1", "bn2"], right, old, close
    )
    assert [r.verdict for r in rows] == ["agrees", "agrees"] and diagnoses == []
    upstream = {**right, "in:m/bn1": x1 + 1}
    rows, diagnoses = compare_bn_layers(
        make_plan(variables, new_variables),
        ["m/bn1", "m/bn2"],
        ["bn1", "bn2"],
        upstream,
        old,
        close,
    )
    assert diagnoses == [
        "the input of BN layer m/bn1 matches no TF1 BN layer's input: the difference starts before it "
        "(a kernel, bias or activation)"
    ]
