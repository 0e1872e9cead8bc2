"""Warnings reach the report whatever path migrated the module.

A migration may keep a construct whose TF2 form does not do all the TF1 one did; it says so as a
warning (never a reason to leave the file). ``tf.set_random_seed`` -> ``tf.random.set_seed`` is one:
Keras 3 draws its layers' initial weights from its own seed generator, which that call does not seed
(measured below). Programs read through a ``main()`` function, spread over modules, or run one after
the other in a module are migrated through an inner migration whose warnings were dropped (the
Saver-restore and trainable-statistics notes too).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.report import Mode
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.runner import RunConfig, run_files
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"
SCRIPT = (FIXTURES / "tf1" / "layers_mlp_placeholder.py").read_text()
MAIN = (FIXTURES / "tf1" / "main_function.py").read_text()
SEED_LINE = "tf.set_random_seed(1)"
NOTE = "tf.set_random_seed -> tf.random.set_seed: Keras 3 draws its layers' initial weights"


def _warned_lines(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [w.line for w in result.warnings if w.message.startswith(NOTE)]


def _line(source: str, text: str, occurrence: int = 0) -> int:
    lines = [n for n, line in enumerate(source.splitlines(), 1) if line.strip() == text]
    return lines[occurrence]


def test_a_script_warns_at_its_seed() -> None:
    source = SCRIPT.replace("np.random.seed(0)\n", f"np.random.seed(0)\n{SEED_LINE}\n")
    result = rewrite_source(source)
    assert result.status is Status.CHANGED
    assert "tf.random.set_seed(1)" in result.code
    assert _warned_lines(result) == [_line(source, SEED_LINE)]


def test_a_main_function_program_keeps_its_warnings() -> None:
    source = MAIN.replace("def main():\n", f"def main():\n    {SEED_LINE}\n")
    result = rewrite_source(source)
    assert result.status is Status.CHANGED
    assert _warned_lines(result) == [_line(source, SEED_LINE)]


def test_programs_run_one_after_the_other_keep_theirs() -> None:
    head, body = SCRIPT.split("np.random.seed(0)\n", 1)
    program = f"tf.reset_default_graph()\n{SEED_LINE}\nnp.random.seed(0)\n" + body + "\n"
    source = head + program + program
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left[:2]
    assert _warned_lines(result) == [_line(source, SEED_LINE, 0), _line(source, SEED_LINE, 1)]


def test_a_program_of_two_modules_keeps_them_in_the_module_they_belong_to(tmp_path: Path) -> None:
    folder = tmp_path / "two_module"
    folder.mkdir()
    train = (FIXTURES / "programs" / "two_module" / "train.py").read_text()
    train = train.replace("np.random.seed(0)\n", f"np.random.seed(0)\n{SEED_LINE}\n")
    (folder / "train.py").write_text(train)
    (folder / "model.py").write_text(
        (FIXTURES / "programs" / "two_module" / "model.py").read_text()
    )
    outcomes = {
        Path(o.path).name: o
        for o in run_files(RunConfig(paths=(folder,), mode=Mode.DIFF, jobs=1)).outcomes
    }
    assert outcomes["train.py"].status is Status.CHANGED, outcomes["train.py"].left
    assert _warned_lines(outcomes["train.py"]) == [_line(train, SEED_LINE)]
    assert not outcomes["model.py"].warnings


@pytest.mark.slow
def test_the_warning_is_true_keras_initial_weights_ignore_tf_random_set_seed(
    tmp_path: Path,
) -> None:
    """What the warning says, measured: two runs seeded with tf.random.set_seed start from different
    Keras weights; with tf.keras.utils.set_random_seed, from the same. Each run draws both ways, the
    tf.random.set_seed layer first, as a fresh program does (one TensorFlow start per run, not per draw);
    the Keras-seeded draws agree whatever was drawn before them."""
    script = tmp_path / "seeded.py"
    script.write_text(
        textwrap.dedent(
            """\
            import tensorflow as tf
            for seed in (tf.random.set_seed, tf.keras.utils.set_random_seed):
                seed(1)
                layer = tf.keras.layers.Dense(3)
                layer.build((None, 2))
                print(seed.__module__, layer.kernel.numpy().round(6).tolist())
            """
        )
    )

    def kernels() -> list[str]:
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True
        )
        return run.stdout.strip().splitlines()[-2:]

    (tf_first, keras_first), (tf_second, keras_second) = kernels(), kernels()
    assert tf_first.startswith("tensorflow") and keras_first.startswith("keras"), tf_first
    assert tf_first != tf_second
    assert keras_first == keras_second
