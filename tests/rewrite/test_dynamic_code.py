"""A module running code written in a string (``eval``/``exec``) is left: the code the string holds
may build layers, read or bind names the migration changes, and is not read (``api.DYNAMIC_CODE``)."""

from __future__ import annotations

import ast

import pytest

from bn_migrate.rewrite import early_left
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

PROGRAM = (REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py").read_text()
BN2 = 'h = tf.layers.batch_normalization(h, training=is_training, name="bn2")'
MESSAGE = "runs code written in a string"


def _with(line: str) -> str:
    assert BN2 in PROGRAM
    return PROGRAM.replace(BN2, line)


@pytest.mark.parametrize(
    ("line", "builtin", "col"),
    [
        (
            'h = eval("tf.layers.batch_normalization")(h, training=is_training, name="bn2")',
            "eval",
            5,
        ),
        ('exec("h = tf.layers.batch_normalization(h, training=is_training)")', "exec", 1),
    ],
)
def test_eval_and_exec_leave_the_module_at_the_call(line: str, builtin: str, col: int) -> None:
    source = _with(line)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert result.code == source
    (site,) = [s for s in result.left if MESSAGE in s.message]
    assert site.message.startswith(f"`{builtin}` runs code written in a string")
    assert (site.line, site.col) == (source.splitlines().index(line) + 1, col)
    assert early_left.left_sites(source, ast.parse(source)) is None  # the engine decides


def test_the_program_without_them_migrates() -> None:
    assert rewrite_source(PROGRAM).status is Status.CHANGED


def test_a_tensor_eval_method_and_a_function_named_eval_are_not_the_builtins() -> None:
    method = PROGRAM + "\nprint(loss.eval)\n"
    assert not any(MESSAGE in s.message for s in rewrite_source(method).left)
    defined = "def eval(text):\n    return text\n\n\n" + PROGRAM + '\nprint(eval("done"))\n'
    assert not any(MESSAGE in s.message for s in rewrite_source(defined).left)


def test_early_path_still_decides_files_with_eval_methods() -> None:
    source = (
        "import tensorflow as tf\n\n\ndef unused(x):\n"
        "    tf.assign_add(x, 1)\n    return x.eval()\n"
    )
    assert early_left.left_sites(source, ast.parse(source)) is not None
