"""``tf.Session(config=...)``: the ConfigProto options TF2 keeps as runtime settings (placement, logging,
threads, GPU memory growth) become process-wide calls right after the imports; the lines that made the
config go. Any other config leaves the session, naming what blocked it (it was left whatever it held:
"Session arguments other than graph= (config, target) are not migrated")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rule_examples import PLACEHOLDER_BEFORE, placeholder_program
from tests.rewrite.helpers import assert_migration_checked_equivalent, left_reasons

SOURCE = placeholder_program(PLACEHOLDER_BEFORE)
SESSION = "with tf.Session() as sess:"
assert SESSION in SOURCE
PLAIN = rewrite_source(SOURCE)


def _configured(made: str, session: str = "with tf.Session(config=config) as sess:") -> str:
    return SOURCE.replace(SESSION, made + session)


SOFT = "tf.config.set_soft_device_placement(True)\n"
GROWTH = (
    'for gpu in tf.config.list_physical_devices("GPU"):\n'
    "    tf.config.experimental.set_memory_growth(gpu, True)\n"
)


@pytest.mark.parametrize(
    ("made", "session", "settings"),
    [
        ("", "with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:", SOFT),
        (
            "",
            "with tf.Session(config=tf.compat.v1.ConfigProto(gpu_options=tf.GPUOptions("
            "allow_growth=True), log_device_placement=False)) as sess:",
            GROWTH + "tf.debugging.set_log_device_placement(False)\n",
        ),
        (  # the commonest boilerplate
            "config = tf.ConfigProto()\nconfig.gpu_options.allow_growth = True\n",
            "with tf.Session(config=config) as sess:",
            GROWTH,
        ),
        (
            "config = tf.ConfigProto(allow_soft_placement=True, inter_op_parallelism_threads=1)\n"
            "config.intra_op_parallelism_threads = 2\n",
            "with tf.Session(config=config) as sess:",
            SOFT
            + "tf.config.threading.set_inter_op_parallelism_threads(1)\n"
            + "tf.config.threading.set_intra_op_parallelism_threads(2)\n",
        ),
    ],
)
def test_a_session_config_becomes_runtime_settings_after_the_imports(
    made: str, session: str, settings: str
) -> None:
    assert PLAIN.status is Status.CHANGED
    source = _configured(made, session)
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, left_reasons(result)
    head = "import numpy as np\nimport tensorflow as tf\n"
    assert PLAIN.code.startswith(head)
    expected = PLAIN.code.replace(head, head + "\n" + settings, 1)
    assert result.code == expected
    assert "ConfigProto" not in result.code and "config" not in result.code.replace("tf.config", "")
    ast.parse(result.code)
    assert rewrite_source(result.code).code == result.code  # a second run changes nothing


@pytest.mark.parametrize(
    ("made", "session", "reason"),
    [
        (  # a fraction of the GPU's memory: TF2 takes a limit in MB per device
            "config = tf.ConfigProto()\nconfig.gpu_options.per_process_gpu_memory_fraction = 0.4\n",
            "with tf.Session(config=config) as sess:",
            "option `gpu_options.per_process_gpu_memory_fraction` (only allow_soft_placement, "
            "gpu_options.allow_growth, inter_op_parallelism_threads, intra_op_parallelism_threads, "
            "log_device_placement are kept as TF2 runtime settings)",
        ),
        (
            "threads = 2\n",
            "with tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=threads)) as sess:",
            "`intra_op_parallelism_threads` is not a number literal",
        ),
        (
            "config = tf.ConfigProto()\nprint(config)\n",
            "with tf.Session(config=config) as sess:",
            "`config` is read at line 14, not only by the session",
        ),
        (
            "config = make_config()\n",
            "with tf.Session(config=config) as sess:",
            "`config` is not bound once, at module level, to tf.ConfigProto(...)",
        ),
    ],
)
def test_other_session_configs_are_left_naming_what_blocked_them(
    made: str, session: str, reason: str
) -> None:
    source = _configured(made, session)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    assert any(
        r == "BN007" and m == f"Session config: {reason}; not migrated"
        for r, _, m in left_reasons(result)
    ), left_reasons(result)


def test_a_session_target_is_still_left() -> None:
    source = SOURCE.replace(SESSION, 'with tf.Session("grpc://host:2222") as sess:')
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(
        "Session arguments other than graph= and config=" in m for _, _, m in left_reasons(result)
    )


@pytest.mark.slow
def test_a_configured_session_is_checked_equivalent(tmp_path: Path) -> None:
    source = _configured(
        "config = tf.ConfigProto(allow_soft_placement=True, intra_op_parallelism_threads=1)\n"
        "config.gpu_options.allow_growth = True\n"
    )
    assert_migration_checked_equivalent(tmp_path, source, "configured")
