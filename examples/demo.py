"""What `make demo` runs: the seed question, end to end, on the bundled example.

Each step runs the real `bn-migrate` command in a subprocess, as a user would, and prints what it says.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
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


def show_runs() -> int:
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
    return failed


# Which verdict each variant must get against a correct TF2 migration, and why.
EXPECTED_VERDICTS = {
    "tf_layers.py": (0, "the tf.layers program updates its statistics exactly as Keras 3 does"),
    "keras_updates_list.py": (0, "adding bn.updates as one nested list works"),
    "keras_updates_each.py": (0, "adding updates[0] and updates[1] one by one works the same"),
    "keras_no_updates.py": (1, "the plain Keras program never updated its statistics"),
}


def verdict_lines(stdout: str) -> list[str]:
    """The verdict line and the diagnoses of a check report."""
    lines = stdout.splitlines()
    diagnoses: list[str] = []
    if "Diagnoses:" in lines:
        for line in lines[lines.index("Diagnoses:") + 1 :]:
            if not line.startswith("  "):
                break
            diagnoses.append(line)
    return lines[:1] + diagnoses[:2]


def check(old: Path, new: Path, expected: int, why: str) -> int:
    result = bn_migrate("check", str(old), str(new))
    ok = result.returncode == expected
    print(f"   {old.name} vs {new.relative_to(HERE.parent) if new.is_relative_to(HERE.parent) else new.name}")
    for line in verdict_lines(result.stdout):
        print(f"      {line.strip()}")
    print(f"      expected exit {expected}: {why} -> {'as expected' if ok else 'UNEXPECTED'}")
    if not ok:
        print(result.stdout[-3000:] + result.stderr[-3000:])
    return 0 if ok else 1


def answer_the_question() -> int:
    print(
        "\n== 2. The question: which fix is right? bn-migrate check, each TF1 variant against a hand-written\n"
        "      TF2 program (examples/seed_question/tf2.py), same initial weights and data, step by step"
    )
    return sum(
        check(SEED / name, SEED / "tf2.py", expected, why)
        for name, (expected, why) in EXPECTED_VERDICTS.items()
    )


def migrate_and_prove() -> int:
    print("\n== 3. The codemod: bn-migrate rewrite --diff examples/seed_question/tf_layers.py")
    diff = bn_migrate("rewrite", "--diff", str(SEED / "tf_layers.py"))
    print(diff.stdout, end="")
    print(diff.stderr, end="")
    if diff.returncode != 0:
        return 1
    with tempfile.TemporaryDirectory() as out:
        written = bn_migrate("rewrite", "--output-dir", out, str(SEED / "tf_layers.py"))
        if written.returncode != 0:
            print(written.stderr)
            return 1
        migrated = next(Path(out).rglob("tf_layers.py"))
        print("\n== 4. Proof: bn-migrate check, the original against the codemod's output")
        return check(SEED / "tf_layers.py", migrated, 0, "the migration keeps the moving statistics")


def main() -> int:
    failed = show_runs() + answer_the_question() + migrate_and_prove()
    print("\ndemo:", "all as expected" if not failed else f"{failed} step(s) did not go as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
