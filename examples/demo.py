"""What `make demo` runs: the seed question, end to end, on the bundled example.

Each step runs the real `bn-migrate` command in a subprocess, as a user would, and prints what it says.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = HERE / "seed_question"
VARIANTS = {
    "tf_layers.py": "tf.layers.batch_normalization",
    "keras_no_updates.py": "Keras BN, no update plumbing (the question's bug)",
    "keras_updates_list.py": "Keras BN, tf.add_to_collection(UPDATE_OPS, bn.updates)",
    "keras_updates_each.py": "Keras BN, updates[0] and updates[1] added one by one",
}


def bn_migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bn_migrate", *args], capture_output=True, text=True, check=False
    )


def moving_mean_norms(stdout: str) -> list[float]:
    """The question's printout is one dict per iteration; pull out its moving-mean norm."""
    norms = []
    for line in stdout.splitlines():
        if line.startswith("{'bn_Q_gamma'"):
            cleaned = line.replace("np.float32(", "").replace(")", "")
            norms.append(float(ast.literal_eval(cleaned)["bn_Q_moving_mean"]))
    return norms


def main() -> int:
    print("== 1. The seed question's TF1 programs, unmodified, on TensorFlow 2 (bn-migrate run-tf1)")
    failed = 0
    for name, what in VARIANTS.items():
        result = bn_migrate("run-tf1", str(SEED / name))
        norms = moving_mean_norms(result.stdout)
        if result.returncode != 0 or not norms:
            failed += 1
            print(f"   {name:24} FAILED (exit {result.returncode})\n{result.stderr[-2000:]}")
            continue
        moved = "moves" if norms[-1] != norms[0] or norms[0] != 0.0 else "never moves"
        print(
            f"   {name:24} {what}\n"
            f"   {'':24} moving-mean norm: {norms[0]:.6g} after step 1, {norms[-1]:.6g} after step "
            f"{len(norms)}: {moved}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
