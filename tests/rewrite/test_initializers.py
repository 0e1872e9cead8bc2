"""Named variable initializers (``analysis.initializers``, removed by BN007): ``init = <initializer>`` and
its ``sess.run(init)`` statements are removed like an inline ``sess.run(tf.global_variables_initializer())``;
a name that also means something else leaves the file at that use, naming the binding line."""

from __future__ import annotations

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.rule_examples import (
    ADAM_KERAS,
    PLACEHOLDER_AFTER,
    PLACEHOLDER_BEFORE,
    SEED_BEFORE,
    placeholder_program,
    program,
)
from tests.rewrite.helpers import assert_rewrite

BEFORE = placeholder_program(PLACEHOLDER_BEFORE)
AFTER = placeholder_program(PLACEHOLDER_AFTER, optimizer=ADAM_KERAS)
INLINE = "    sess.run(tf.global_variables_initializer())\n"
SESSION = "with tf.Session() as sess:\n"
GROUP = "tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())"


def _named(binding: str, run: str = "    sess.run(init)\n", *, inside: bool = False) -> str:
    """The placeholder program with its initializer bound to a name (before the session, or as the
    session block's first line) and run by ``run``."""
    if inside:
        return BEFORE.replace(INLINE, f"    init = {binding}\n{run}")
    return BEFORE.replace(SESSION, f"init = {binding}\n{SESSION}").replace(INLINE, run)


@pytest.mark.parametrize(
    "binding",
    [
        "tf.global_variables_initializer()",
        "tf.initialize_all_variables()",
        GROUP,
    ],
)
@pytest.mark.parametrize("inside", [False, True], ids=["graph", "session"])
def test_a_named_initializer_is_removed_with_its_runs(binding: str, inside: bool) -> None:
    result = assert_rewrite(_named(binding, inside=inside), AFTER)
    assert any("`init` holds the variable initialization" in s.message for s in result.applied)


def test_an_inline_group_of_initializers_is_removed() -> None:
    assert_rewrite(BEFORE.replace(INLINE, f"    sess.run({GROUP})\n"), AFTER)


def test_a_named_initializer_run_twice_or_never_is_removed() -> None:
    assert_rewrite(_named(GROUP, "    sess.run(init)\n    sess.run(init)\n"), AFTER)
    assert_rewrite(_named(GROUP, ""), AFTER)


def test_a_named_initializer_in_a_keras_input_program_is_removed() -> None:
    inline = program(SEED_BEFORE, bn="tf.layers.batch_normalization(hidden, training=True)")
    named = inline.replace(
        INLINE, "    init_op = tf.global_variables_initializer()\n    sess.run(init_op)\n"
    )
    expected = rewrite_source(inline).code
    assert "global_variables_initializer" not in expected
    assert_rewrite(named, expected)


def test_the_analysis_resolves_the_name_by_its_binding() -> None:
    source = _named(GROUP)
    module = cst.parse_module(source)
    facts = Program.read(module, AliasTable.build(module)).initializers
    assert list(facts.named) == ["init"] and not facts.refused
    (found,) = facts.named.values()
    assert len(found.runs) == 1 and found.binding.body[0].value.func.attr.value == "group"


@pytest.mark.parametrize(
    ("change", "lines", "why"),
    [
        # the fetch list runs it with the train op: not a whole `sess.run(init)` statement
        (("    sess.run(init)\n", "    sess.run([init])\n"), [15], "sess.run([init])"),
        # run with a feed (an initializer reading a placeholder)
        (("    sess.run(init)\n", "    sess.run(init, {x: data})\n"), [15], "feed"),
        # InteractiveSession style
        (("    sess.run(init)\n", "    init.run()\n"), [15], "init.run()"),
        # rebound to something else
        (("    sess.run(init)\n", "    sess.run(init)\n    init = 3\n"), [16], "rebound"),
        # another name for the op: the run of `op` is left for its own reason too (once: not again
        # for the session it runs in)
        (("    sess.run(init)\n", "    op = init\n    sess.run(op)\n"), [15, 16], "alias"),
    ],
)
def test_a_name_also_used_otherwise_is_left_at_that_use(
    change: tuple[str, str], lines: list[int], why: str
) -> None:
    before = _named(GROUP).replace(*change)
    result = assert_rewrite(before, None, left=[("BN007", line) for line in lines])
    site = result.left[0]
    assert (
        site.line == lines[0] and "`init` holds the variable initializer (line 13)" in site.message
    ), why


def test_a_group_named_by_its_name_argument_is_an_initializer() -> None:
    assert_rewrite(_named(GROUP[:-1] + ", name='init')"), AFTER)


def test_an_initializer_of_chosen_variables_is_left_as_the_engine_says() -> None:
    before = _named("tf.variables_initializer(tf.global_variables())")
    result = assert_rewrite(before, None, left=[("BN000", 13), ("BN000", 13)])
    assert "`tf.variables_initializer`: TensorFlow 2 has no such name" in result.left[0].message
    assert "`tf.global_variables` in the graph" in result.left[1].message


def test_a_same_named_function_from_another_module_is_not_an_initializer() -> None:
    before = _named("initializers.global_variables_initializer()").replace(
        "import tensorflow as tf\n", "import tensorflow as tf\nimport initializers\n"
    )
    # a run of an unknown op: the session is left (its fetch is not a graph tensor), once
    result = assert_rewrite(before, None, left=[("BN007", 16)])
    assert "init" in result.left[0].message
