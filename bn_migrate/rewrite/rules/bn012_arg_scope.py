"""BN012: slim/contrib ``arg_scope`` -> the defaults written at each call it covered.

``with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm, normalizer_params={...}):``
gives every listed call inside the block those keyword defaults. BN003 plans each covered call with
them (a call's own keywords win, as in slim), so the block is dissolved and its statements stay where
they were. Only a module-level, non-nested ``arg_scope`` whose first argument is a literal list of
functions is migrated; anything else leaves the file.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite.analysis.syntax import contains, positional
from bn_migrate.rewrite.context import Context, Example, Rule, dissolved_block
from bn_migrate.rewrite.rule_examples import PLACEHOLDER_BEFORE, placeholder_program

_SCOPED = (
    placeholder_program(PLACEHOLDER_BEFORE)
    .replace(
        'h = tf.layers.dense(x, 4, name="hidden")\n'
        'h = tf.layers.batch_normalization(h, training=is_training, name="bn")\n',
        "with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,\n"
        "                    normalizer_params={'is_training': is_training}):\n"
        "    h = slim.fully_connected(x, 4, scope='hidden')\n",
    )
    .replace(
        "import tensorflow as tf\n",
        "import tensorflow as tf\nimport tensorflow.contrib.slim as slim\n",
    )
)

RULE = "BN012"


class ArgScopeRule(Rule):
    """Dissolve ``arg_scope`` blocks; their defaults were applied at each covered call (BN003)."""

    id = RULE
    name = "arg-scope"
    EXAMPLES = (
        Example(  # nested in a block: left
            _SCOPED.replace("with slim.arg_scope", "if True:\n  with slim.arg_scope")
            .replace("    h = slim.fully_connected", "      h = slim.fully_connected")
            .replace(
                "                    normalizer_params", "                      normalizer_params"
            ),
            left=("BN012",),
        ),
    )

    def plan(self, ctx: Context) -> None:
        for scope in ctx.program.arg_scopes:
            call = scope.items[0].item
            assert isinstance(call, cst.Call)
            args = positional(call)
            if scope not in ctx.module.body or any(
                contains(other, scope) for other in ctx.program.arg_scopes if other is not scope
            ):
                ctx.leave(
                    RULE, scope, "arg_scope inside a block or another arg_scope is not migrated"
                )
                continue
            if (
                len(args) != 1
                or not isinstance(args[0].value, (cst.List, cst.Tuple))
                or scope.items[0].asname
            ):
                ctx.leave(
                    RULE, scope, "arg_scope without a literal list of functions is not migrated"
                )
                continue
            ctx.claim_within(call)
            ctx.edit(RULE, scope, dissolved_block)
            ctx.apply(
                RULE, scope, "arg_scope dissolved: its defaults are written at each call it covered"
            )
