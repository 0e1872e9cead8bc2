"""``tf.train.Saver`` -> ``tf.train.Checkpoint`` + ``tf.train.CheckpointManager`` (``analysis.savers``,
``planning.checkpoints``, reported as BN007): before/after on a placeholder program, each refused shape
left at the node that broke its condition, and (slow) the migrated fixture ``saver_summaries`` saving,
restarting in a new process, restoring and continuing exactly as an uninterrupted run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst as cst
import numpy as np
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from tests.conftest import EXAMPLES
from tests.rewrite.helpers import assert_rewrite

SAVE = '        saver.save(sess, os.path.join(CKPT, "model.ckpt"), global_step=step)\n'
RESTORE = "    saver.restore(sess, tf.train.latest_checkpoint(CKPT))\n"
SAVER = "saver = tf.train.Saver(max_to_keep=3)\n"


def _before(saver: str = SAVER, save: str = SAVE, restore: str = RESTORE) -> str:
    program = placeholder_program(PLACEHOLDER_BEFORE)
    return (
        program.replace("import numpy as np\n", "import os\n\nimport numpy as np\n")
        .replace("data = np.ones", 'CKPT = "ckpt"\ndata = np.ones')
        .replace("with tf.Session() as sess:\n", saver + "with tf.Session() as sess:\n")
        .replace(
            "    sess.run(tf.global_variables_initializer())\n",
            "    sess.run(tf.global_variables_initializer())\n" + restore,
        )
        .replace("        print(value)\n", "        print(value)\n" + save)
    )


MANAGER = """checkpoint = tf.train.Checkpoint(optimizer=optimizer, hidden=hidden, bn=bn)
manager = tf.train.CheckpointManager(
    checkpoint,
    CKPT,
    max_to_keep={keep},
    checkpoint_name="model.ckpt",
)


"""


def _after(keep: str = "3", save: str = "    manager.save(checkpoint_number=step)\n") -> str:
    program = placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
    return (
        program.replace("import numpy as np\n", "import os\n\nimport numpy as np\n")
        .replace("data = np.ones", 'CKPT = "ckpt"\ndata = np.ones')
        .replace(
            "for step in range(2):\n",
            MANAGER.format(keep=keep)
            + "checkpoint.restore(tf.train.latest_checkpoint(CKPT))\nfor step in range(2):\n",
        )
        .replace("    print(value)\n", "    print(value)\n" + save)
    )


def test_a_saver_becomes_a_checkpoint_and_its_manager() -> None:
    result = assert_rewrite(_before(), _after())
    (warning,) = result.warnings
    assert warning.rule == "BN007" and warning.line == 19
    assert "bn-migrate convert-checkpoint" in warning.message


def test_the_default_max_to_keep_is_written_out_and_a_literal_path_split() -> None:
    before = _before(
        saver="saver = tf.train.Saver()\n",
        save='        saver.save(sess, "ckpt/model.ckpt", global_step=step)\n',
    )
    after = _after(keep="5").replace("    CKPT,\n    max_to_keep", '    "ckpt",\n    max_to_keep')
    assert_rewrite(before, after)


def test_the_saved_path_is_kept_when_assigned() -> None:
    save = SAVE.replace("saver.save", "path = saver.save")
    after = _after(save="    path = manager.save(checkpoint_number=step)\n")
    assert_rewrite(_before(save=save), after)


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        ((SAVER, "saver = tf.train.Saver(var_list=None)\n"), 16, "only max_to_keep="),
        ((SAVE, SAVE.replace(", global_step=step", "")), 23, "without global_step="),
        (
            (SAVE, SAVE.replace('os.path.join(CKPT, "model.ckpt")', "CKPT")),
            23,
            "cannot be told apart",
        ),
        ((SAVE, SAVE.replace("global_step=step", "global_step=loss")), 23, "graph tensor"),
        ((SAVE, SAVE.replace("CKPT,", "'run' + CKPT,")), 23, "is not a string literal or a name"),
        (
            (SAVE, SAVE.replace("saver.save(sess, ", "saver.save(other, ")),
            23,
            "not given the module's session",
        ),
        ((SAVE, SAVE + "        print(saver)\n"), 24, "used otherwise"),
        (
            (SAVE, SAVE + '        saver.save(sess, "other/model.ckpt", global_step=step)\n'),
            24,
            "several directories",
        ),
    ],
)
def test_a_saver_outside_the_migrated_shape_is_left_with_the_condition(
    change: tuple[str, str], line: int, reason: str
) -> None:
    result = assert_rewrite(_before().replace(*change), None, left=[("BN007", line)])
    assert reason in result.left[0].message


def test_a_saver_written_as_tf2_is_left_alone() -> None:
    after = _after()
    assert_rewrite(after, None)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["saver_summaries", "saver_model_class"])
def test_the_migrated_program_restarts_from_its_checkpoint_as_if_never_stopped(
    fixture: str, tmp_path: Path
) -> None:
    """The golden migration of ``saver_summaries`` (and of the same program as a model class) run 12
    steps in one process, and 6 + 6 steps in two (the second restoring the first's latest checkpoint):
    the same losses at every step, the same evaluation (moving statistics) and the same variables in
    the last checkpoints, optimizer slots included. Both runs start from the same weights (Keras' seed
    set before the program runs)."""
    program = EXAMPLES / "migrated" / "fixtures" / f"{fixture}.py"
    seeded = (
        "import sys, runpy, keras; keras.utils.set_random_seed(1); sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )

    def start(directory: Path, first: int, steps: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", seeded, str(program), str(directory), str(first), str(steps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def output(run: subprocess.Popen[str]) -> list[str]:
        try:
            stdout, stderr = run.communicate(timeout=600)
        finally:
            run.kill()  # nothing to do once it has exited
        assert run.returncode == 0, stderr[-2000:]
        return stdout.splitlines()

    # the whole run and the first half share nothing: they run side by side
    runs = start(tmp_path / "whole", 0, 12), start(tmp_path / "restarted", 0, 6)
    whole, first = (output(run) for run in runs)
    second = output(start(tmp_path / "restarted", 6, 6))
    assert [line for line in first if line.startswith("step")] == whole[:6]
    assert second == whole[6:]
    assert sorted(p.name for p in (tmp_path / "restarted").iterdir()) == [
        "checkpoint",
        "model.ckpt-10.data-00000-of-00001",
        "model.ckpt-10.index",
        "model.ckpt-11.data-00000-of-00001",
        "model.ckpt-11.index",
    ]
    # The checkpoints are read here (reading needs no TF1 semantics; the suite's workers have
    # TensorFlow imported already), not in one more TensorFlow process.
    tf = pytest.importorskip("tensorflow")
    a, b = (
        tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / d)))
        for d in ("whole", "restarted")
    )
    keys = sorted(a.get_variable_to_shape_map())
    assert keys == sorted(b.get_variable_to_shape_map())
    assert any("moving_mean" in k for k in keys) and any("optimizer" in k for k in keys), keys
    for k in keys:
        if k != "_CHECKPOINTABLE_OBJECT_GRAPH":
            assert np.array_equal(a.get_tensor(k), b.get_tensor(k)), k


def test_the_analysis_reads_the_saver_its_saves_and_restores() -> None:
    module = cst.parse_module(_before())
    savers = Program.read(module, AliasTable.build(module)).savers
    assert savers.saver is not None and not savers.refused
    saver = savers.saver
    assert saver.name == "saver" and isinstance(saver.max_to_keep, cst.Integer)
    ((save,), (restore,)) = saver.saves, saver.restores
    assert save.file_name == "model.ckpt" and isinstance(save.directory, cst.Name)
    assert save.directory.value == "CKPT" and isinstance(restore.path, cst.Call)
