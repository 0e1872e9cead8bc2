"""How migrated code reads: throwaway targets that never clobber a name the program reads, PEP 8 blank
lines around what the codemod writes at module level."""

from __future__ import annotations

from tests.rewrite.helpers import assert_rewrite
from tests.rewrite.test_engine import PLACEHOLDER, PLACEHOLDER_EXPECTED, _with_evaluation

# The train run fetches only the op; two evaluations: the graph function returns (loss, h), and the
# last evaluation uses only `loss`, so its unpacking needs a throwaway target for `h`.
_TRAIN = "_, value = sess.run([train_op, loss], {x: data, is_training: True})\n        print(value)"
_EVALUATIONS = PLACEHOLDER.replace(
    _TRAIN,
    "sess.run(train_op, {x: data, is_training: True})\n"
    "        l, h_value = sess.run([loss, h], {x: data, is_training: False})",
)
_EVALUATIONS_AFTER = (
    PLACEHOLDER_EXPECTED.replace(
        "    return loss\n\n\noptimizer", "    return loss, h\n\n\noptimizer"
    )
    .replace("        loss = graph(x, is_training)\n", "        loss, h = graph(x, is_training)\n")
    .replace("    return loss\n\n\nfor", "    return None\n\n\nfor")
    .replace(
        "    value = train_step(x=data, is_training=True).numpy()\n    print(value)\n",
        "    train_step(x=data, is_training=True)\n"
        "    l, h_value = [value.numpy() for value in graph(x=data, is_training=False)]\n",
    )
)
GETTEXT = "from gettext import gettext as _\n\n"


def _last_evaluation(source: str, printout: str) -> str:
    return _with_evaluation(
        source,
        f"    l, = sess.run([loss], {{x: data, is_training: False}})\n    print({printout})\n",
    )


def _unpacked(target: str, printout: str) -> str:
    return _EVALUATIONS_AFTER.replace(
        "print(graph(x=data, is_training=False).numpy())\n",
        f"l, {target} = [value.numpy() for value in graph(x=data, is_training=False)]\n"
        f"print({printout})\n",
    )


def test_unused_output_goes_to_underscore_when_the_module_never_reads_it() -> None:
    before = _last_evaluation(_EVALUATIONS, '"loss", l')
    assert_rewrite(before, _unpacked("_", '"loss", l'))


def test_unused_output_never_clobbers_an_underscore_the_module_reads() -> None:
    """gettext's ``_``: assigning the unused output to ``_`` would break ``_("loss")``."""
    before = GETTEXT + _last_evaluation(_EVALUATIONS, '_("loss"), l')
    assert_rewrite(before, GETTEXT + _unpacked("_unused", '_("loss"), l'))
    taken = before.replace("    l, = sess.run", "    _unused = 0\n    l, = sess.run")
    after = GETTEXT + _unpacked("_unused_1", '_("loss"), l').replace(
        "l, _unused_1 =", "_unused = 0\nl, _unused_1 ="
    )
    assert_rewrite(taken, after)


def test_layer_objects_after_a_module_level_def_get_two_blank_lines() -> None:
    definition = "def scale(t):\n    return t * 2.0\n"
    before = PLACEHOLDER.replace(
        "x = tf.placeholder(tf.float32, [None, 3])\n",
        f"x = tf.placeholder(tf.float32, [None, 3])\n\n\n{definition}\n\n",
    )
    after = PLACEHOLDER_EXPECTED.replace(
        "data = np.ones((8, 3), np.float32)\n\nhidden",
        f"data = np.ones((8, 3), np.float32)\n\n\n{definition}\n\nhidden",
    )
    assert_rewrite(before, after)
    # after a plain statement: one blank line, as before
    assert "data = np.ones((8, 3), np.float32)\n\nhidden" in PLACEHOLDER_EXPECTED
