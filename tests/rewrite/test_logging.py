"""BN015, ``tf.logging`` -> ``tf.get_logger()`` (``api_tables.LOGGING_RENAMES``).

Before/after cases on whole placeholder programs (idempotence and parsing checked by the helper), no-op
cases (another module's ``logging``, TF2 spellings), cases left for a human, and the table checked
against TF 2.21's ``tf.compat.v1.logging``: each TF1 function and its TF2 spelling write the same records to
the same logger. The migrated fixture ``named_init_logging`` runs on TF 2.21 in the golden tests.
"""

from __future__ import annotations

import logging

import pytest

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    placeholder_program,
)
from tests.rewrite.helpers import assert_rewrite

BEFORE = placeholder_program(PLACEHOLDER_BEFORE)
AFTER = placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
PRINT = "        print(value)\n"
DATA = "data = np.ones((8, 3), np.float32)\n"


def _with(head: str, loop: str, program: str = BEFORE) -> str:
    """``program`` with ``head`` after the data line and ``loop`` in the train loop."""
    return program.replace(DATA, DATA + head).replace(PRINT, PRINT + loop)


CASES = {
    "verbosity-and-info": (
        (
            "tf.logging.set_verbosity(tf.logging.INFO)\n",
            '        tf.logging.info("step %d", step)\n',
        ),
        ("tf.get_logger().setLevel(logging.INFO)\n", '    tf.get_logger().info("step %d", step)\n'),
    ),
    "warn-is-warning": (
        ("", '        tf.logging.warn("loss %f", value)\n'),
        ("", '    tf.get_logger().warning("loss %f", value)\n'),
    ),
    "error-debug-log": (
        (
            "tf.logging.set_verbosity(tf.logging.DEBUG)\n",
            '        tf.logging.debug("d")\n        tf.logging.error("e")\n'
            '        tf.logging.log(tf.logging.WARN, "w")\n',
        ),
        (
            "tf.get_logger().setLevel(logging.DEBUG)\n",
            '    tf.get_logger().debug("d")\n    tf.get_logger().error("e")\n'
            '    tf.get_logger().log(logging.WARN, "w")\n',
        ),
    ),
    "uncalled": (
        ("log = tf.logging.info\n", '        log("step %d", step)\n'),
        ("log = tf.get_logger().info\n", '    log("step %d", step)\n'),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tf_logging_becomes_the_tensorflow_logger(case: str) -> None:
    (head, loop), (new_head, new_loop) = CASES[case]
    expected = AFTER.replace(DATA, DATA + new_head).replace(
        "    print(value)\n", "    print(value)\n" + new_loop
    )
    if "logging." in new_head + new_loop:
        expected = expected.replace(
            "import tensorflow as tf\n", "import tensorflow as tf\nimport logging\n", 1
        )
    result = assert_rewrite(_with(head, loop), expected)
    assert any(
        site.rule == "BN015" and "tf.get_logger()" in site.message for site in result.applied
    )


def test_another_modules_logging_functions_are_not_renamed() -> None:
    head = "import absl.logging as tf_logging\n"
    loop = '        tf_logging.info("step %d", step)\n'
    result = assert_rewrite(
        _with(head, loop),
        AFTER.replace(DATA, DATA + head).replace(
            "    print(value)\n", "    print(value)\n" + '    tf_logging.info("step %d", step)\n'
        ),
    )
    assert not any("get_logger" in site.message for site in result.applied)


def test_a_logging_name_bound_to_something_else_leaves_the_file() -> None:
    head = "logging = print\ntf.logging.set_verbosity(tf.logging.INFO)\n"
    result = assert_rewrite(_with(head, ""), None, left=[("BN015", 6)])
    assert "`logging` is bound to something else" in result.left[0].message


def test_counting_log_functions_leave_the_file() -> None:
    loop = '        tf.logging.log_every_n(tf.logging.INFO, "step %d", 2, step)\n'
    result = assert_rewrite(_with("", loop), None, left=[("BN000", 18)])
    assert "`tf.logging.log_every_n`: counts the calls" in result.left[0].message


def test_the_table_writes_what_tensorflow_1_wrote(caplog: pytest.LogCaptureFixture) -> None:
    """Each ``tf.compat.v1.logging`` function and its TF2 spelling: the same record (logger, level,
    message) on TF 2.21; the levels are the standard library's."""
    import tensorflow as tf

    namespace = {"tf": tf, "logging": logging}
    logger = tf.get_logger()
    logger.setLevel(logging.DEBUG)
    for name, spec in api.LOGGING_RENAMES.items():
        short = name.removeprefix(api.LOGGING_MODULE + ".")
        tf1 = getattr(tf.compat.v1.logging, short)
        assert spec.target is not None
        tf2 = eval(spec.target, namespace)
        if short.isupper():
            assert tf1 == tf2, name
            continue
        if short in ("set_verbosity", "get_verbosity"):
            continue
        records = []
        for function in (tf1, tf2):
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="tensorflow"):
                args = (logging.INFO, "m %d", 1) if short in ("log", "vlog") else ("m %d", 1)
                function(*args)
            records.append([(r.name, r.levelno, r.getMessage()) for r in caplog.records])
        assert records[0] == records[1] and records[0], name
    tf.compat.v1.logging.set_verbosity(logging.ERROR)
    assert (
        eval(api.LOGGING_RENAMES[api.LOGGING_MODULE + ".get_verbosity"].target + "()", namespace)
        == logging.ERROR
    )
    eval(api.LOGGING_RENAMES[api.LOGGING_MODULE + ".set_verbosity"].target, namespace)(logging.WARN)
    assert tf.compat.v1.logging.get_verbosity() == logging.WARN
