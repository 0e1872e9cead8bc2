"""BN011 keeps TF1's numbers: every migrated case of ``test_losses.py`` is rewritten by the engine, the
TF1 call runs on the legacy runtime (``bn-migrate run-tf1``, its own process: TF1 graph mode and TF2
eager cannot share one) and the emitted TF2 expression runs on TF 2.21, with the same random arrays
(per-example and per-column weights with zeros, multi-hot labels, logits). Values and the gradients
with respect to the logits and to ``h`` (labels computed from the model: TF1 stops their gradient in
softmax_cross_entropy) must agree to 1e-6 relative.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.test_losses import BEFORE, MIGRATED

pytestmark = pytest.mark.slow

GRADIENT_OF = ("logits", "h")
BITWISE = ("default", "scalar-float", "scalar-int-positional", "scalar-negative")
"""Cases whose value must equal TF1's to the last bit: ``tf.reduce_mean(losses * w)`` for a number
``w`` is TF1's ``div_no_nan(reduce_sum(losses * w), n)`` exactly (``w * tf.reduce_mean(losses)`` is not)."""
TF1_SCRIPT = """
import json
import sys

import numpy as np
import tensorflow as tf

arrays = np.load(sys.argv[1])
cases = json.load(open(sys.argv[2]))
names = {key: tf.constant(arrays[key]) for key in arrays.files}
out = {}
with tf.Session() as sess:
    for index, expression in enumerate(cases):
        loss = eval(expression, {"tf": tf, **names})
        grads = tf.gradients(loss, [names[key] for key in GRADIENT_OF])
        grads = [tf.zeros_like(names[key]) if g is None else g for key, g in zip(GRADIENT_OF, grads)]
        value, *grad_values = sess.run([loss, *grads])
        out[f"{index}"] = value
        for key, grad in zip(GRADIENT_OF, grad_values):
            out[f"{index}_{key}"] = grad
np.savez(sys.argv[3], **out)
""".replace("GRADIENT_OF", repr(GRADIENT_OF))


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    batch, classes = 16, 4
    w = rng.uniform(0.5, 2.0, batch).astype(np.float32)
    w[[1, 4, 9]] = 0.0
    return {
        "logits": rng.normal(size=(batch, classes)).astype(np.float32) * 3,
        "h": rng.normal(size=(batch, classes)).astype(np.float32),
        "y": rng.integers(0, classes, batch).astype(np.int64),
        "y_onehot": (rng.uniform(size=(batch, classes)) > 0.5).astype(np.float32),
        "w": w,
        "w_col": w[::-1, None].copy(),
    }


def _tf2_expression(tf1: str) -> str:
    """The loss expression the codemod writes for ``loss = tf1`` in the placeholder program."""
    result = rewrite_source(BEFORE.replace("LOSS", tf1))
    assert result.status is Status.CHANGED, result.left
    lines = [line for line in result.code.splitlines() if line.startswith("    loss = ")]
    assert len(lines) == 1, result.code
    return lines[0].removeprefix("    loss = ")


def _start_tf1(tmp_path: Path, arrays: dict[str, np.ndarray], cases: list[str]) -> subprocess.Popen:
    """The TF1 side in its own process, started first so that it overlaps the TF2 side."""
    np.savez(tmp_path / "arrays.npz", **arrays)  # type: ignore[arg-type]  # numpy stubs: allow_pickle
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = tmp_path / "tf1_losses.py"
    script.write_text(TF1_SCRIPT)
    args = [str(tmp_path / name) for name in ("arrays.npz", "cases.json", "tf1.npz")]
    return subprocess.Popen(
        [sys.executable, "-m", "bn_migrate", "run-tf1", str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _tf1_results(tmp_path: Path, process: subprocess.Popen) -> dict[str, np.ndarray]:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    with np.load(tmp_path / "tf1.npz") as loaded:
        return {key: loaded[key] for key in loaded.files}


def _run_tf2(arrays: dict[str, np.ndarray], expression: str) -> list[np.ndarray]:
    import tensorflow as tf

    names = {key: tf.constant(value) for key, value in arrays.items()}
    with tf.GradientTape(persistent=True) as tape:
        for key in GRADIENT_OF:
            tape.watch(names[key])
        loss = eval(expression, {"tf": tf, **names})
    grads = [tape.gradient(loss, names[key]) for key in GRADIENT_OF]
    return [
        loss.numpy(),
        *(
            np.zeros_like(arrays[key]) if g is None else g.numpy()
            for key, g in zip(GRADIENT_OF, grads)
        ),
    ]


def test_emitted_losses_match_tf1(tmp_path: Path) -> None:
    arrays = _arrays()
    ids = list(MIGRATED)
    tf1_forms = [MIGRATED[key][0] for key in ids]
    process = _start_tf1(tmp_path, arrays, tf1_forms)
    tf2_forms = [_tf2_expression(tf1) for tf1 in tf1_forms]
    results: list[list[np.ndarray] | str] = []
    for tf2 in tf2_forms:
        try:
            results.append(_run_tf2(arrays, tf2))
        except Exception as exc:  # noqa: BLE001 - report every case, not the first error only
            results.append(f"{type(exc).__name__}: {str(exc)[:300]}")
    expected = _tf1_results(tmp_path, process)
    failures = []
    for index, (case, tf2, got) in enumerate(zip(ids, tf2_forms, results)):
        if isinstance(got, str):
            failures.append(f"{case}: {tf2}\n{got}")
            continue
        wanted = [expected[f"{index}"], *(expected[f"{index}_{key}"] for key in GRADIENT_OF)]
        for what, a, b in zip(("value", *GRADIENT_OF), got, wanted):
            try:
                assert a.shape == b.shape, f"shape {a.shape} != TF1 {b.shape}"
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
                if case in BITWISE and what == "value":
                    np.testing.assert_array_equal(a, b)
            except AssertionError as exc:
                failures.append(f"{case} ({what}): {tf2}\n{exc}")
    assert not failures, "\n\n".join(failures)


def test_cases_cover_zero_weights_and_every_reduction() -> None:
    """The arrays and cases exercise what the rule claims: zeros among the weights, each reduction."""
    arrays = _arrays()
    assert (arrays["w"] == 0).any() and (arrays["w_col"] == 0).any()
    forms = " ".join(tf1 for tf1, _ in MIGRATED.values())
    for reduction in ("NONE", "SUM", "MEAN", "SUM_OVER_BATCH_SIZE", "SUM_OVER_NONZERO_WEIGHTS"):
        assert f"Reduction.{reduction})" in forms
    assert "label_smoothing=0.1" in forms and "label_smoothing=0.2" in forms
